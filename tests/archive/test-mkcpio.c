/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests archive/mkcpio with a newc reader of its own (it shares no code with mkcpio):
 *
 *   test-mkcpio make-fixtures <dir>
 *       writes the files all-types.list names (also used by compare-gen-init-cpio.sh);
 *   test-mkcpio format <mkcpio> <all-types.list>
 *       every entry type, field by field, for several timestamps;
 *   test-mkcpio rejects <mkcpio>
 *       lists and arguments mkcpio must refuse, leaving no output behind;
 *   test-mkcpio initramfs <initramfs.cpio> <init> <timestamp> <host path>...
 *       the generic initramfs: its entries, /init's bytes, sorted parents-first, no host path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

#define HDR_LEN	    110
#define MAX_ENTRIES 1024
/* big.bin crosses mkcpio's 64 KiB copy buffer several times and is not a multiple of 4. */
#define BIG_SIZE    200003
/* Past 2106: the writers clip a regular file's mtime to 0xffffffff. */
#define BIG_MTIME   INT64_C(5000000000)
#define HELLO_MTIME 1234567890
#define EMPTY_MTIME 86400
#define MTIME_CLIP  UINT32_C(0xffffffff)
#define MTIME_T	    UINT64_C(0x100000000) /* expected mtime: the -t value */

extern char **environ;

struct rec {
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check;
	const char *name;
	const unsigned char *data;
};

struct archive {
	unsigned char *buf;
	size_t len;
	struct rec recs[MAX_ENTRIES]; /* without the trailer */
	size_t n;
};

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failures++;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t size = 0, n = 0;
	for (;;) {
		if (n == size) {
			size = size ? size * 2 : 65536;
			unsigned char *p = realloc(buf, size);
			if (!p)
				break;
			buf = p;
		}
		size_t r = fread(buf + n, 1, size - n, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f) || !buf;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	bool ok = fwrite(data, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -EIO;
}

/* One 8-digit upper-case hex field, as the kernel's tool prints it. */
static bool hex_field(const unsigned char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		*v = *v << 4 | (uint32_t)d;
	}
	return true;
}

static bool zeros(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static size_t pad4(size_t off)
{
	return (off + 3) & ~(size_t)3;
}

/* Reads a whole newc archive, checking the framing rules; false (after reporting) if broken. */
static bool parse_archive(struct archive *a, const char *what)
{
	size_t off = 0;

	a->n = 0;
	for (;;) {
		struct rec r;
		uint32_t *fields[] = {&r.ino,	    &r.mode,	 &r.uid,      &r.gid,	   &r.nlink,
				      &r.mtime,	    &r.filesize, &r.devmajor, &r.devminor, &r.rdevmajor,
				      &r.rdevminor, &r.namesize, &r.check};

		if (a->len - off < HDR_LEN) {
			fail("%s: truncated header at offset %zu", what, off);
			return false;
		}
		if (memcmp(a->buf + off, "070701", 6) != 0) {
			fail("%s: bad magic at offset %zu", what, off);
			return false;
		}
		for (size_t i = 0; i < ELEMENTSOF(fields); i++)
			if (!hex_field(a->buf + off + 6 + 8 * i, fields[i])) {
				fail("%s: header field %zu at offset %zu is not 8 upper-case hex digits", what, i, off);
				return false;
			}
		size_t name_off = off + HDR_LEN;
		if (r.namesize == 0 || a->len - name_off < r.namesize ||
		    memchr(a->buf + name_off, 0, r.namesize) != a->buf + name_off + r.namesize - 1) {
			fail("%s: bad name at offset %zu", what, off);
			return false;
		}
		r.name = (const char *)a->buf + name_off;
		size_t data_off = pad4(name_off + r.namesize);
		if (data_off > a->len || !zeros(a->buf + name_off + r.namesize, data_off - name_off - r.namesize)) {
			fail("%s: %s: name padding not zero", what, r.name);
			return false;
		}
		if (a->len - data_off < r.filesize) {
			fail("%s: %s: truncated data", what, r.name);
			return false;
		}
		r.data = a->buf + data_off;
		size_t end = pad4(data_off + r.filesize);
		if (end > a->len || !zeros(a->buf + data_off + r.filesize, end - data_off - r.filesize)) {
			fail("%s: %s: data padding not zero", what, r.name);
			return false;
		}
		if (r.check != 0)
			fail("%s: %s: check field %u, want 0", what, r.name, r.check);
		off = end;

		if (strcmp(r.name, "TRAILER!!!") == 0) {
			if (r.ino || r.mode || r.uid || r.gid || r.nlink != 1 || r.mtime || r.filesize || r.devmajor ||
			    r.devminor || r.rdevmajor || r.rdevminor)
				fail("%s: trailer fields are not all 0 (nlink 1)", what);
			if (a->len % 512 != 0 || a->len - off >= 512 || !zeros(a->buf + off, a->len - off))
				fail("%s: archive does not end with zeros up to a multiple of 512 bytes after the "
				     "trailer (%zu bytes, trailer ends at %zu)",
				     what, a->len, off);
			return true;
		}
		if (r.devmajor != 3 || r.devminor != 1)
			fail("%s: %s: dev %u:%u, want 3:1", what, r.name, r.devmajor, r.devminor);
		if (a->n == MAX_ENTRIES) {
			fail("%s: more than %d entries", what, MAX_ENTRIES);
			return false;
		}
		a->recs[a->n++] = r;
	}
}

/* Inode numbers from 721 in archive order; hard links of a file share one and follow each other. */
static void check_inodes(const struct archive *a, const char *what)
{
	uint32_t want = 721;
	for (size_t i = 0; i < a->n; i++) {
		if (i > 0 && a->recs[i].ino == a->recs[i - 1].ino && S_ISREG(a->recs[i].mode) && a->recs[i].nlink > 1)
			continue;
		if (a->recs[i].ino != want)
			fail("%s: %s: inode %u, want %u", what, a->recs[i].name, a->recs[i].ino, want);
		want = a->recs[i].ino + 1;
	}
}

struct expect {
	const char *name;
	uint32_t ino, mode, uid, gid, nlink;
	uint64_t mtime; /* MTIME_T: the -t value */
	uint32_t rdevmajor, rdevminor;
	const void *data; /* NULL: no data */
	size_t size;
};

static void check_entry(const struct rec *r, const struct expect *e, uint32_t ts, const char *what)
{
	uint32_t mtime = e->mtime == MTIME_T ? ts : (uint32_t)e->mtime;

	if (strcmp(r->name, e->name) != 0) {
		fail("%s: entry '%s', want '%s'", what, r->name, e->name);
		return;
	}
#define CHECK(field, want)      \
	if (r->field != (want)) \
	fail("%s: %s: " #field " %#x, want %#x", what, e->name, (unsigned)r->field, (unsigned)(want))
	CHECK(ino, e->ino);
	CHECK(mode, e->mode);
	CHECK(uid, e->uid);
	CHECK(gid, e->gid);
	CHECK(nlink, e->nlink);
	CHECK(mtime, mtime);
	CHECK(rdevmajor, e->rdevmajor);
	CHECK(rdevminor, e->rdevminor);
	CHECK(filesize, e->size);
#undef CHECK
	if (r->filesize == e->size && e->size && memcmp(r->data, e->data, e->size) != 0)
		fail("%s: %s: data differs from the source", what, e->name);
}

/* Runs argv, returns its exit status (-1 if it did not exit normally). */
static int run(char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void big_pattern(unsigned char *buf, size_t len)
{
	uint32_t x = 2463534242u; /* xorshift32: incompressible, yet the same on every run */
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static const char hello[] = "hello, initramfs\n";

static int make_fixture(const char *dir, const char *name, const void *data, size_t len, int64_t mtime)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int r = write_file(path, data, len);
	if (r < 0)
		return r;
	struct timespec ts[2] = {{.tv_sec = (time_t)mtime}, {.tv_sec = (time_t)mtime}};
	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		return -errno;
	return 0;
}

static int make_fixtures(const char *dir)
{
	static unsigned char big[BIG_SIZE];
	int r;

	big_pattern(big, sizeof(big));
	if ((r = make_fixture(dir, "hello.txt", hello, strlen(hello), HELLO_MTIME)) < 0 ||
	    (r = make_fixture(dir, "empty", "", 0, EMPTY_MTIME)) < 0 ||
	    (r = make_fixture(dir, "big.bin", big, sizeof(big), BIG_MTIME)) < 0) {
		fprintf(stderr, "make-fixtures %s: %s\n", dir, strerror(-r));
		return -1;
	}
	return 0;
}

static int test_format(const char *mkcpio, const char *list)
{
	static unsigned char big[BIG_SIZE];
	char dir[] = "/tmp/test-mkcpio.XXXXXX";
	char out[PATH_MAX];

	big_pattern(big, sizeof(big));
	if (!mkdtemp(dir) || make_fixtures(dir) < 0)
		return 1;
	setenv("ARCHIVE_FIXTURES", dir, 1);
	snprintf(out, sizeof(out), "%s/out.cpio", dir);

	/* In the order of all-types.list. */
	const struct expect want[] = {
		{"", 721, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"bin", 722, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"bin/big", 723, 0100755, 0, 0, 3, MTIME_CLIP, 0, 0, NULL, 0},
		{"bin/big-link", 723, 0100755, 0, 0, 3, MTIME_CLIP, 0, 0, NULL, 0},
		{"bin/big-link2", 723, 0100755, 0, 0, 3, MTIME_CLIP, 0, 0, big, sizeof(big)},
		{"dev", 724, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"dev/console", 725, 020600, 0, 0, 1, MTIME_T, 5, 1, NULL, 0},
		{"dev/vda", 726, 060660, 0, 6, 1, MTIME_T, 254, 0, NULL, 0},
		{"etc", 727, 040750, 0, 4, 2, MTIME_T, 0, 0, NULL, 0},
		{"etc/empty", 728, 0100400, 1000, 100, 1, EMPTY_MTIME, 0, 0, NULL, 0},
		{"etc/hello", 729, 0100644, 0, 0, 1, HELLO_MTIME, 0, 0, hello, strlen(hello)},
		{"etc/hello-link", 730, 0120777, 0, 0, 1, MTIME_T, 0, 0, "hello", 6},
		{"etc/os-release", 731, 0120777, 0, 0, 1, MTIME_T, 0, 0, "../usr/lib/os-release", 22},
		{"run", 732, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		/* The kernel's tool gives pipes and sockets nlink 2, like directories. */
		{"run/initctl", 733, 010600, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"run/sock", 734, 0140666, 65534, 65534, 2, MTIME_T, 0, 0, NULL, 0},
	};
	const char *stamps[] = {"0", "1700000000", "4294967295"};

	for (size_t s = 0; s < ELEMENTSOF(stamps); s++) {
		char what[64];
		snprintf(what, sizeof(what), "all-types -t %s", stamps[s]);
		char *argv[] = {(char *)mkcpio, "-t", (char *)stamps[s], (char *)list, out, NULL};
		int st = run(argv);
		if (st != 0) {
			fail("%s: mkcpio exited with %d", what, st);
			continue;
		}
		static struct archive a;
		a.buf = read_file(out, &a.len);
		if (!a.buf) {
			fail("%s: cannot read %s", what, out);
			continue;
		}
		if (parse_archive(&a, what)) {
			check_inodes(&a, what);
			if (a.n != ELEMENTSOF(want))
				fail("%s: %zu entries, want %zu", what, a.n, ELEMENTSOF(want));
			for (size_t i = 0; i < a.n && i < ELEMENTSOF(want); i++)
				check_entry(&a.recs[i], &want[i], (uint32_t)strtoul(stamps[s], NULL, 10), what);
		}
		free(a.buf);
		printf("%s: %zu bytes, %zu entries checked\n", what, a.len, a.n);
	}

	unlink(out);
	char path[PATH_MAX];
	const char *names[] = {"hello.txt", "empty", "big.bin"};
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return failures ? 1 : 0;
}

static int test_rejects(const char *mkcpio)
{
	static const struct {
		const char *why, *list;
	} bad_lists[] = {
		{"unknown type", "dir /a 0755 0 0\nfiel /b /etc/hostname 0644 0 0\n"},
		{"indented line", "  dir /a 0755 0 0\n"},
		{"missing fields", "dir /a 0755 0\n"},
		{"type alone", "dir\n"},
		{"extra field", "dir /a 0755 0 0 0\n"},
		{"mode not octal", "dir /a 0855 0 0\n"},
		{"mode with type bits", "dir /a 040755 0 0\n"},
		{"negative uid", "dir /a 0755 -1 0\n"},
		{"uid with junk", "dir /a 0755 0x 0\n"},
		{"bad device type", "nod /dev/null 0666 0 0 x 1 3\n"},
		{"device major too big", "nod /dev/null 0666 0 0 c 4294967296 3\n"},
		{"missing source file", "file /a /nonexistent/earlyroot-test 0644 0 0\n"},
		{"source not a regular file", "file /a /tmp 0644 0 0\n"},
		{"CRLF line", "dir /a 0755 0 0\r\n"},
	};
	static const char *const bad_stamps[] = {"-1", "4294967296", "12abc", ""};
	char dir[] = "/tmp/test-mkcpio.XXXXXX";
	char list[PATH_MAX], out[PATH_MAX];

	if (!mkdtemp(dir))
		return 1;
	snprintf(list, sizeof(list), "%s/bad.list", dir);
	snprintf(out, sizeof(out), "%s/out.cpio", dir);

	for (size_t i = 0; i < ELEMENTSOF(bad_lists); i++) {
		write_file(list, bad_lists[i].list, strlen(bad_lists[i].list));
		char *argv[] = {(char *)mkcpio, "-t", "0", list, out, NULL};
		int st = run(argv);
		if (st != 1)
			fail("%s: mkcpio exited with %d, want 1", bad_lists[i].why, st);
		if (access(out, F_OK) == 0) {
			fail("%s: mkcpio left %s behind", bad_lists[i].why, out);
			unlink(out);
		}
	}

	write_file(list, "dir /a 0755 0 0\n", 16);
	for (size_t i = 0; i < ELEMENTSOF(bad_stamps); i++) {
		char *argv[] = {(char *)mkcpio, "-t", (char *)bad_stamps[i], list, out, NULL};
		if (run(argv) != 2)
			fail("timestamp '%s' accepted", bad_stamps[i]);
	}
	char *no_t[] = {(char *)mkcpio, list, out, NULL};
	if (run(no_t) != 2)
		fail("missing -t accepted");
	char *ok[] = {(char *)mkcpio, "-t", "0", list, out, NULL};
	if (run(ok) != 0)
		fail("a valid one-line list was refused");

	unlink(out);
	unlink(list);
	rmdir(dir);
	printf("%zu bad lists, %zu bad timestamps checked\n", ELEMENTSOF(bad_lists), ELEMENTSOF(bad_stamps));
	return failures ? 1 : 0;
}

/* Names strictly sorted (LC_ALL=C), every parent an earlier directory entry. */
static void check_sorted(const struct archive *a, const char *what)
{
	for (size_t i = 0; i < a->n; i++) {
		const char *name = a->recs[i].name;
		if (i > 0 && strcmp(a->recs[i - 1].name, name) >= 0)
			fail("%s: '%s' after '%s': not sorted", what, name, a->recs[i - 1].name);
		const char *slash = strrchr(name, '/');
		if (!slash)
			continue;
		bool found = false;
		for (size_t j = 0; j < i && !found; j++)
			found = S_ISDIR(a->recs[j].mode) && strlen(a->recs[j].name) == (size_t)(slash - name) &&
				strncmp(a->recs[j].name, name, (size_t)(slash - name)) == 0;
		if (!found)
			fail("%s: '%s' comes before its parent directory", what, name);
	}
}

static int test_initramfs(const char *cpio, const char *init, const char *stamp, char **host_paths, int n_paths)
{
	static struct archive a;
	size_t init_len;
	unsigned char *init_data = read_file(init, &init_len);
	uint32_t ts = (uint32_t)strtoul(stamp, NULL, 10);

	a.buf = read_file(cpio, &a.len);
	if (!a.buf || !init_data) {
		fail("cannot read %s or %s", cpio, init);
		return 1;
	}
	const struct expect want[] = {
		{"dev", 0, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"dev/console", 0, 020600, 0, 0, 1, MTIME_T, 5, 1, NULL, 0},
		/* The build stamps /init with the archive timestamp: the kernel's tool keeps its mtime. */
		{"init", 0, 0100755, 0, 0, 1, MTIME_T, 0, 0, init_data, init_len},
		{"proc", 0, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"run", 0, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"sys", 0, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
		{"sysroot", 0, 040755, 0, 0, 2, MTIME_T, 0, 0, NULL, 0},
	};

	if (parse_archive(&a, cpio)) {
		check_inodes(&a, cpio);
		check_sorted(&a, cpio);
		for (size_t i = 0; i < ELEMENTSOF(want); i++) {
			const struct rec *r = NULL;
			for (size_t j = 0; j < a.n && !r; j++)
				if (strcmp(a.recs[j].name, want[i].name) == 0)
					r = &a.recs[j];
			if (!r) {
				fail("%s: no entry %s", cpio, want[i].name);
				continue;
			}
			struct expect e = want[i];
			e.ino = r->ino; /* checked by check_inodes() */
			check_entry(r, &e, ts, cpio);
		}
		for (size_t i = 0; i < a.n; i++)
			if (a.recs[i].uid || a.recs[i].gid)
				fail("%s: %s not owned by root", cpio, a.recs[i].name);
	}
	for (int i = 0; i < n_paths; i++)
		if (memmem(a.buf, a.len, host_paths[i], strlen(host_paths[i])))
			fail("%s: contains the host path %s", cpio, host_paths[i]);
	printf("%s: %zu bytes, %zu entries, /init %zu bytes, timestamp %s\n", cpio, a.len, a.n, init_len, stamp);
	free(a.buf);
	free(init_data);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "make-fixtures") == 0)
		return make_fixtures(argv[2]) < 0 ? 1 : 0;
	if (argc == 4 && strcmp(argv[1], "format") == 0)
		return test_format(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "rejects") == 0)
		return test_rejects(argv[2]);
	if (argc >= 5 && strcmp(argv[1], "initramfs") == 0)
		return test_initramfs(argv[2], argv[3], argv[4], argv + 5, argc - 5);
	fprintf(stderr, "usage: test-mkcpio make-fixtures DIR | format MKCPIO LIST | rejects MKCPIO |\n"
			"       initramfs CPIO INIT TIMESTAMP [HOST-PATH...]\n");
	return 2;
}
