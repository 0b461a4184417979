/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mkcpio -t <timestamp> <list> <output>
 *
 * Writes the newc cpio archive described by a gen_init_cpio list file: for every list the kernel's
 * usr/gen_init_cpio (Linux 6.1) accepts without a warning, the same bytes that
 * `gen_init_cpio -t <timestamp> <list>` writes, so the standalone archive and the one the kernel
 * build links into vmlinux compare equal (tests/archive checks this against the real tool).
 *
 * The rules of that writer, as read from Debian's linux-source-6.1:
 *  - magic 070701, 110-byte header of 13 eight-digit upper-case hex fields;
 *  - inode numbers from 721 in list order, hard links of a file sharing one;
 *  - mtime = <timestamp> for dir, nod, slink, pipe and sock, but a regular file keeps the mtime of
 *    its source file (clipped to 32 bits): the build stamps files with the timestamp first;
 *  - nlink 2 for dir, pipe and sock (one code path), 1 for nod and slink, the number of names for
 *    a file; devmajor 3, devminor 1 everywhere; rdev only on nod; check 0;
 *  - names lose one leading '/'; a symlink's data is its target with the terminating NUL;
 *  - name and data padded to 4 bytes; a file's data goes with its last hard link;
 *  - "TRAILER!!!" (all fields 0 but nlink 1), then zeros up to a multiple of 512 bytes.
 *
 * Where the kernel's tool warns and goes on (unknown type, indented line, extra fields, values it
 * would print as more than 8 hex digits), mkcpio refuses the list: a dropped line in a boot
 * archive is a bug to report, not to reproduce.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

#define CPIO_MAGIC   "070701"
#define CPIO_HDR_LEN 110
#define CPIO_TRAILER "TRAILER!!!"
/* The kernel's tool numbers entries from 721; the archives must match it byte for byte. */
#define FIRST_INO    721
/* The kernel's tool reads lines with fgets() into 2*PATH_MAX+50 bytes and splits longer ones. */
#define LINE_SIZE    (2 * PATH_MAX + 50)
/* Every token takes at least one character and one separator. */
#define MAX_TOKENS   (LINE_SIZE / 2 + 1)
/* newc header fields are 8 hex digits. */
#define FIELD_MAX    UINT32_C(0xffffffff)
#define COPY_BUF     65536

enum kind { KIND_FILE, KIND_DIR, KIND_NOD, KIND_SLINK, KIND_PIPE, KIND_SOCK };

static const struct entry_type {
	const char *keyword;
	enum kind kind;
	mode_t ifmt;	     /* S_IFCHR for nod until the line says 'b' */
	uint32_t nlink;	     /* 0: the number of names (file with hard links) */
	bool has_location;   /* second field is a host path (file) or a link target (slink) */
	unsigned dev_fields; /* nod: <dev_type> <maj> <min> */
	bool extra_names;    /* file: more names after <gid> are hard links */
} entry_types[] = {
	{"file", KIND_FILE, S_IFREG, 0, true, 0, true},	   /* file <name> <location> <mode> <uid> <gid> [<link>...] */
	{"dir", KIND_DIR, S_IFDIR, 2, false, 0, false},	   /* dir <name> <mode> <uid> <gid> */
	{"nod", KIND_NOD, S_IFCHR, 1, false, 3, false},	   /* nod <name> <mode> <uid> <gid> <b|c> <maj> <min> */
	{"slink", KIND_SLINK, S_IFLNK, 1, true, 0, false}, /* slink <name> <target> <mode> <uid> <gid> */
	{"pipe", KIND_PIPE, S_IFIFO, 2, false, 0, false},  /* pipe <name> <mode> <uid> <gid> */
	{"sock", KIND_SOCK, S_IFSOCK, 2, false, 0, false}, /* sock <name> <mode> <uid> <gid> */
};

struct entry {
	const struct entry_type *type;
	char **names; /* the entry's name, then a file's hard links */
	size_t n_names;
	const char *location;
	uint32_t mode; /* with the S_IF* bits */
	uint32_t uid, gid;
	uint32_t rdev_major, rdev_minor;
};

struct writer {
	FILE *out;
	uint64_t offset;
	uint32_t ino;
	uint32_t mtime;
};

struct header {
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize;
};

/* Parses a decimal or octal number token in full, up to max. */
static int parse_number(const char *s, int base, uint64_t max, uint32_t *ret)
{
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* Splits line in place at spaces and tabs; returns the number of tokens or -E2BIG. */
static int tokenize(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return (int)n;
		if (n == max)
			return -E2BIG;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
	}
}

/* 1 for a comment or blank line, 0 for an entry; an indented entry is one gen_init_cpio would drop. */
static int skip_line(const char *line, const char **why)
{
	if (line[0] == '#')
		return 1;
	if (line[0] != ' ' && line[0] != '\t')
		return 0;
	if (line[strspn(line, " \t")] == 0)
		return 1;
	*why = "indented line (gen_init_cpio would ignore it)";
	return -EINVAL;
}

static const struct entry_type *entry_type_of(const char *keyword)
{
	for (size_t i = 0; i < ELEMENTSOF(entry_types); i++)
		if (strcmp(keyword, entry_types[i].keyword) == 0)
			return &entry_types[i];
	return NULL;
}

/* A number field of a line: where it goes in struct entry, how to read it, what to say if it is wrong. */
struct number_field {
	size_t offset;
	int base;
	uint64_t max;
	const char *why;
};
/* The kernel's tool reads uid and gid with %d. */
static const struct number_field owner_fields[] = {
	{offsetof(struct entry, mode), 8, 07777, "mode is not an octal number up to 07777"},
	{offsetof(struct entry, uid), 10, INT_MAX, "uid or gid is not a decimal number"},
	{offsetof(struct entry, gid), 10, INT_MAX, "uid or gid is not a decimal number"},
};
static const struct number_field device_fields[] = {
	{offsetof(struct entry, rdev_major), 10, FIELD_MAX, "device major or minor is not a decimal number"},
	{offsetof(struct entry, rdev_minor), 10, FIELD_MAX, "device major or minor is not a decimal number"},
};

static int parse_numbers(char **tok, const struct number_field *fields, size_t n, struct entry *e, const char **why)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t *v = (uint32_t *)((char *)e + fields[i].offset);
		if (parse_number(tok[i], fields[i].base, fields[i].max, v) < 0) {
			*why = fields[i].why;
			return -EINVAL;
		}
	}
	return 0;
}

/* nod's <b|c> <maj> <min>; the type table says S_IFCHR until the line says 'b'. */
static int parse_device(char **tok, struct entry *e, const char **why)
{
	if (strcmp(tok[0], "b") == 0)
		e->mode = (e->mode & ~(uint32_t)S_IFMT) | S_IFBLK;
	else if (strcmp(tok[0], "c") != 0) {
		*why = "device type is neither b nor c";
		return -EINVAL;
	}
	return parse_numbers(tok + 1, device_fields, ELEMENTSOF(device_fields), e, why);
}

static int check_lengths(const struct entry *e, const char **why)
{
	for (size_t j = 0; j < e->n_names; j++)
		if (strlen(e->names[j]) > PATH_MAX) {
			*why = "name longer than PATH_MAX";
			return -EINVAL;
		}
	if (e->location && strlen(e->location) > PATH_MAX) {
		*why = "location longer than PATH_MAX";
		return -EINVAL;
	}
	return 0;
}

/*
 * Parses one list line (without its newline) into e, pointing into line and tok. Returns 1 for a
 * comment or blank line, 0 for an entry, -EINVAL with *why set for anything else.
 */
static int parse_line(char *line, char **tok, struct entry *e, const char **why)
{
	int r = skip_line(line, why);
	if (r != 0)
		return r;
	int n = tokenize(line, tok, MAX_TOKENS);
	if (n < 0) {
		*why = "too many fields";
		return -EINVAL;
	}
	if (n == 0)
		return 1;
	const struct entry_type *t = entry_type_of(tok[0]);
	if (!t) {
		*why = "unknown entry type (gen_init_cpio would ignore the line)";
		return -EINVAL;
	}
	int location = t->has_location ? 1 : 0, owner = 2 + location;
	int want = owner + (int)ELEMENTSOF(owner_fields) + (int)t->dev_fields;
	if (n < want || (n > want && !t->extra_names)) {
		*why = n < want ? "missing fields" : "extra fields";
		return -EINVAL;
	}

	*e = (struct entry){.type = t, .names = &tok[1], .location = location ? tok[2] : NULL};
	r = parse_numbers(&tok[owner], owner_fields, ELEMENTSOF(owner_fields), e, why);
	if (r < 0)
		return r;
	e->mode |= (uint32_t)t->ifmt;
	if (t->dev_fields) {
		r = parse_device(&tok[owner + ELEMENTSOF(owner_fields)], e, why);
		if (r < 0)
			return r;
	}
	/* A file's hard links follow <gid>: move them next to the name so names[] is contiguous. */
	for (int j = want; j < n; j++)
		tok[2 + (j - want)] = tok[j];
	e->n_names = 1 + (size_t)(n - want);
	return check_lengths(e, why);
}

/* Replaces each ${VAR} in a file location with its value (empty when unset), as gen_init_cpio does. */
static int expand_env(const char *in, char *out, size_t size)
{
	size_t len = 0;

	while (*in) {
		const char *start = strstr(in, "${");
		const char *end = start ? strchr(start + 2, '}') : NULL;
		size_t lit = end ? (size_t)(start - in) : strlen(in);
		const char *val = "";
		char var[PATH_MAX + 1];

		if (end) {
			size_t vlen = (size_t)(end - start - 2);
			if (vlen > PATH_MAX)
				return -ENAMETOOLONG;
			memcpy(var, start + 2, vlen);
			var[vlen] = 0;
			val = getenv(var) ?: "";
		}
		if (len + lit + strlen(val) >= size)
			return -ENAMETOOLONG;
		memcpy(out + len, in, lit);
		len += lit;
		memcpy(out + len, val, strlen(val));
		len += strlen(val);
		in += lit + (end ? (size_t)(end - start) + 1 : 0);
	}
	out[len] = 0;
	return 0;
}

static int put(struct writer *w, const void *buf, size_t len)
{
	if (len && fwrite(buf, len, 1, w->out) != 1)
		return -EIO;
	w->offset += len;
	return 0;
}

static int pad(struct writer *w, unsigned align)
{
	static const char zeros[512];
	size_t n = (align - w->offset % align) % align;
	return put(w, zeros, n);
}

/* Names and data end on a 4-byte boundary. */
static int put_padded(struct writer *w, const void *buf, size_t len)
{
	int r = put(w, buf, len);
	if (r < 0)
		return r;
	return pad(w, 4);
}

static int put_header(struct writer *w, const struct header *h, const char *name)
{
	char s[CPIO_HDR_LEN + 1];
	int r;

	snprintf(s, sizeof(s),
		 "%s%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32
		 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08" PRIX32 "%08X",
		 CPIO_MAGIC, h->ino, h->mode, h->uid, h->gid, h->nlink, h->mtime, h->filesize, h->devmajor, h->devminor,
		 h->rdevmajor, h->rdevminor, h->namesize, 0u);
	r = put(w, s, CPIO_HDR_LEN);
	if (r < 0)
		return r;
	return put_padded(w, name, h->namesize);
}

static struct header entry_header(const struct writer *w, const struct entry *e, const char *name)
{
	return (struct header){
		.ino = w->ino,
		.mode = e->mode,
		.uid = e->uid,
		.gid = e->gid,
		.nlink = e->type->nlink ? e->type->nlink : (uint32_t)e->n_names,
		.mtime = w->mtime,
		.devmajor = 3,
		.devminor = 1,
		.rdevmajor = e->rdev_major,
		.rdevminor = e->rdev_minor,
		.namesize = (uint32_t)strlen(name) + 1,
	};
}

static const char *archive_name(const char *name)
{
	return name[0] == '/' ? name + 1 : name;
}

/* Copies exactly size bytes of fd, failing if the file is shorter than fstat() said, then pads. */
static int copy_data(struct writer *w, int fd, uint64_t size)
{
	char buf[COPY_BUF];

	while (size) {
		ssize_t n = read(fd, buf, size < sizeof(buf) ? (size_t)size : sizeof(buf));
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		int r = put(w, buf, (size_t)n);
		if (r < 0)
			return r;
		size -= (uint64_t)n;
	}
	return pad(w, 4);
}

static int write_file(struct writer *w, const struct entry *e)
{
	char location[PATH_MAX + 1];
	struct stat st;
	int r;

	r = expand_env(e->location, location, sizeof(location));
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(location, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if ((uint64_t)st.st_size > FIELD_MAX || st.st_mtime < 0)
		return -EFBIG;

	for (size_t i = 0; i < e->n_names; i++) {
		const char *name = archive_name(e->names[i]);
		bool last = i + 1 == e->n_names;
		struct header h = entry_header(w, e, name);
		/* A regular file keeps its own mtime in gen_init_cpio 6.1, whatever -t says. */
		h.mtime = (uint64_t)st.st_mtime > FIELD_MAX ? FIELD_MAX : (uint32_t)st.st_mtime;
		h.filesize = last ? (uint32_t)st.st_size : 0;
		r = put_header(w, &h, name);
		if (r >= 0 && last)
			r = copy_data(w, fd, (uint64_t)st.st_size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every type but file: one name, and data only for a symlink (its target). */
static int write_other(struct writer *w, const struct entry *e)
{
	const char *name = archive_name(e->names[0]);
	struct header h = entry_header(w, e, name);
	bool slink = e->type->kind == KIND_SLINK;

	if (slink)
		h.filesize = (uint32_t)strlen(e->location) + 1;
	int r = put_header(w, &h, name);
	if (r >= 0 && slink)
		r = put_padded(w, e->location, h.filesize);
	return r;
}

static int write_entry(struct writer *w, const struct entry *e)
{
	int r = e->type->kind == KIND_FILE ? write_file(w, e) : write_other(w, e);

	if (r < 0)
		return r;
	w->ino++;
	return 0;
}

static int write_trailer(struct writer *w)
{
	struct header h = {.nlink = 1, .namesize = sizeof(CPIO_TRAILER)};
	int r = put_header(w, &h, CPIO_TRAILER);
	if (r < 0)
		return r;
	return pad(w, 512);
}

struct list_error {
	unsigned line;	  /* 0: not about one line */
	const char *what; /* what is wrong, or the path the errno is about */
	bool errno_about_what;
};

/* Writes the whole archive; on error, err says where and why. */
static int write_archive(FILE *list, struct writer *w, struct list_error *err)
{
	char line[LINE_SIZE + 1];
	char *tok[MAX_TOKENS];
	int r;

	*err = (struct list_error){0};
	while (fgets(line, sizeof(line), list)) {
		struct entry e;
		size_t len = strlen(line);
		bool newline = len > 0 && line[len - 1] == '\n';

		err->line++;
		if (newline)
			line[--len] = 0;
		if ((!newline && !feof(list)) || len > LINE_SIZE - 2) {
			err->what = "line too long for gen_init_cpio";
			return -EINVAL;
		}
		if (memchr(line, 0, len)) {
			err->what = "NUL byte in line";
			return -EINVAL;
		}
		r = parse_line(line, tok, &e, &err->what);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		r = write_entry(w, &e);
		if (r < 0) {
			err->what = e.location ? e.location : e.names[0];
			err->errno_about_what = true;
			return r;
		}
	}
	if (ferror(list)) {
		*err = (struct list_error){.what = "reading the list", .errno_about_what = true};
		return -EIO;
	}
	r = write_trailer(w);
	if (r < 0)
		*err = (struct list_error){.what = "writing the trailer", .errno_about_what = true};
	return r;
}

/* Reads -t into *mtime; false when the command line is not one mkcpio can run. */
static bool parse_options(int argc, char **argv, uint32_t *mtime)
{
	bool have_ts = false;
	int opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return false;
		if (parse_number(optarg, 10, FIELD_MAX, mtime) < 0) {
			fprintf(stderr, "mkcpio: invalid timestamp '%s' (seconds since the Epoch, 32 bits)\n", optarg);
			return false;
		}
		have_ts = true;
	}
	return have_ts && argc - optind == 2;
}

static void print_error(const char *list_path, const struct list_error *err, int r)
{
	if (err->line)
		fprintf(stderr, "mkcpio: %s:%u: ", list_path, err->line);
	else
		fprintf(stderr, "mkcpio: ");
	if (err->errno_about_what)
		fprintf(stderr, "%s: %s\n", err->what, strerror(-r));
	else
		fprintf(stderr, "%s\n", err->what);
}

int main(int argc, char **argv)
{
	struct writer w = {.ino = FIRST_INO};

	if (!parse_options(argc, argv, &w.mtime)) {
		fprintf(stderr, "usage: mkcpio -t <timestamp> <list> <output>\n");
		return 2;
	}
	const char *list_path = argv[optind], *out_path = argv[optind + 1];
	FILE *list = fopen(list_path, "re");
	if (!list) {
		fprintf(stderr, "mkcpio: %s: %s\n", list_path, strerror(errno));
		return 1;
	}
	w.out = fopen(out_path, "we");
	if (!w.out) {
		fprintf(stderr, "mkcpio: %s: %s\n", out_path, strerror(errno));
		fclose(list);
		return 1;
	}

	struct list_error err;
	int r = write_archive(list, &w, &err);
	fclose(list);
	if (fclose(w.out) != 0 && r >= 0) {
		r = -errno;
		err = (struct list_error){.what = out_path, .errno_about_what = true};
	}
	if (r < 0) {
		print_error(list_path, &err, r);
		unlink(out_path);
		return 1;
	}
	return 0;
}
