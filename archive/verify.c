/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verify KERNEL-OR-UKI ARCHIVE
 *
 * Proves that a kernel or a Unified Kernel Image carries exactly ARCHIVE (a newc .cpio, or a
 * compressed one such as .cpio.zst):
 *  - a bzImage (the kernel-linked mode): the archive linked into it with CONFIG_INITRAMFS_SOURCE
 *    and CONFIG_INITRAMFS_COMPRESSION_NONE is byte for byte ARCHIVE's cpio;
 *  - a UKI: its .initrd section is byte for byte ARCHIVE as given; and if its .linux is a
 *    kernel-linked bzImage, the archive linked into that is ARCHIVE's cpio too (a distribution
 *    kernel's built-in default, /dev, /dev/console and /root only, is reported and left alone).
 * Prints PASS or FAIL with offsets, sizes and SHA-256 sums; on FAIL, the first entry that differs.
 * Exit status: 0 PASS, 1 FAIL, 2 could not check (unreadable input, unknown format, missing tool).
 *
 * Written from the documented formats, not from kernel code:
 *  - x86 boot protocol (Documentation/x86/boot.rst): setup_sects at 0x1f1 (0 means 4), boot_flag
 *    0xAA55 at 0x1fe, "HdrS" at 0x202, version at 0x206; from 2.08, payload_offset (0x248) and
 *    payload_length (0x24c) locate the compressed kernel relative to the protected-mode code,
 *    which starts after the (setup_sects + 1) * 512 bytes of real-mode setup. The payload's magic
 *    names its compression; uncompressed it is an ELF vmlinux. x86 builds append the uncompressed
 *    size as 4 little-endian bytes (gzip's own trailer ends with it too), which the external
 *    decompressors may reject as trailing garbage: then they get the payload without them.
 *  - PE/COFF: the PE header offset at 0x3c, "PE\0\0", the COFF header, the section table after
 *    the optional header; a section's content is VirtualSize bytes at PointerToRawData (the size
 *    systemd-stub uses; SizeOfRawData is that rounded up to the file alignment).
 *  - newc cpio (the kernel's Documentation/driver-api/early-userspace/buffer-format.rst):
 *    "070701", 13 fields of 8 hex digits, the NUL-terminated name, data, each padded to 4 bytes,
 *    ending with "TRAILER!!!"; gen_init_cpio then pads with zeros to a multiple of 512 bytes.
 *
 * The embedded archive is found by trying every "070701" in the vmlinux as the start of a stream
 * that parses completely up to its trailer; strings that merely contain the magic do not parse.
 * Decompression is left to the standard tools (gzip, xz, zstd, lz4, bzip2, lzop), run as filters.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "image.h"
#include "macro.h"

/* Exit status and the verdict of each check. */
enum { PASS = 0, FAIL = 1, ERROR = 2 };

#define NEWC_MAGIC	"070701"
#define NEWC_HDR_LEN	110
#define NEWC_FIELDS	13
#define NEWC_TRAILER	"TRAILER!!!"
/* gen_init_cpio rejects names longer than PATH_MAX; anything longer is not a stream start. */
#define NEWC_NAME_MAX	4096
/* gen_init_cpio pads the archive after the trailer to this multiple. */
#define NEWC_BLOCK	512
/* More embedded streams than this is no kernel this tool understands. */
#define MAX_STREAMS	8
#define SETUP_HDR_MIN	0x250
#define BOOT_PROTO_MIN	0x0208
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

enum newc_field {
	F_INO,
	F_MODE,
	F_UID,
	F_GID,
	F_NLINK,
	F_MTIME,
	F_FILESIZE,
	F_DEVMAJOR,
	F_DEVMINOR,
	F_RDEVMAJOR,
	F_RDEVMINOR,
	F_NAMESIZE,
	F_CHECK
};
static const char *const field_names[NEWC_FIELDS] = {
	"inode",    "mode",	"uid",	     "gid",	  "nlink",    "mtime", "size",
	"devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
};

struct codec {
	const char *name;
	uint8_t magic[6];
	size_t magic_len;
	const char *const argv[4];
};
/* By magic, as the boot protocol lists them; lz4 as the kernel build writes it (legacy frames). */
static const struct codec codecs[] = {
	{"gzip", {0x1f, 0x8b}, 2, {"gzip", "-dc", NULL}},
	{"xz", {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6, {"xz", "-dc", NULL}},
	{"zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4, {"zstd", "-dc", NULL}},
	{"lz4", {0x02, 0x21, 0x4c, 0x18}, 4, {"lz4", "-dc", NULL}},
	{"lz4", {0x04, 0x22, 0x4d, 0x18}, 4, {"lz4", "-dc", NULL}},
	{"bzip2", {'B', 'Z', 'h'}, 3, {"bzip2", "-dc", NULL}},
	{"lzma", {0x5d, 0x00, 0x00}, 3, {"xz", "--format=lzma", "-dc", NULL}},
	{"lzo", {0x89, 'L', 'Z', 'O'}, 4, {"lzop", "-dc", NULL}},
};

static const struct codec *codec_of(struct span s)
{
	for (size_t i = 0; i < ELEMENTSOF(codecs); i++)
		if (s.len >= codecs[i].magic_len && memcmp(s.p, codecs[i].magic, codecs[i].magic_len) == 0)
			return &codecs[i];
	return NULL;
}

static void sha256_hex(struct span s, char out[SHA256_HEX_SIZE])
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, s.len, s.p);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/*
 * Runs argv as a filter: input on stdin (from a memfd, so no deadlock on large outputs), stdout
 * into out, stderr into err. Returns the exit status, or -errno if it could not run at all.
 */
static int run_filter(const char *const argv[], struct span input, struct buf *out, struct buf *err)
{
	_cleanup_close_ int in = memfd_create("verify-in", MFD_CLOEXEC);
	_cleanup_close_ int errfd = memfd_create("verify-err", MFD_CLOEXEC);
	int pipefd[2];
	int r;

	if (in < 0 || errfd < 0)
		return -errno;
	r = write_all(in, input);
	if (r < 0)
		return r;
	if (lseek(in, 0, SEEK_SET) < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	r = read_fd(pipefd[0], out);
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (r < 0)
		return r;
	if (lseek(errfd, 0, SEEK_SET) < 0 || read_fd(errfd, err) < 0)
		err->len = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Decompresses s with codec c. Kernel payloads end with the uncompressed size, which some tools
 * take for garbage: on failure, try again without those 4 bytes. Returns 0, or -1 after saying why.
 */
static int decompress(const char *what, const struct codec *c, struct span s, struct buf *out)
{
	_cleanup_buf_ struct buf err1 = {0};
	_cleanup_buf_ struct buf err2 = {0};
	int r = run_filter(c->argv, s, out, &err1);

	if (r > 0 && r != 127 && s.len > 4) {
		buf_free(out);
		r = run_filter(c->argv, (struct span){s.p, s.len - 4}, out, &err2);
	}
	if (r == 0)
		return 0;
	buf_free(out);
	const struct buf *err = err2.len > 0 ? &err2 : &err1;
	if (r < 0)
		fprintf(stderr, "verify: %s: cannot run %s: %s\n", what, c->argv[0], strerror(-r));
	else if (r == 127)
		fprintf(stderr, "verify: %s: cannot run %s (not installed? tools/setup-host installs it): %.*s\n", what,
			c->argv[0], (int)err->len, (const char *)err->data);
	else
		fprintf(stderr, "verify: %s: %s -dc failed (status %d): %.*s\n", what, c->argv[0], r, (int)err->len,
			(const char *)err->data);
	return -1;
}

/* ---- newc ------------------------------------------------------------------------------------ */

struct newc_entry {
	uint32_t f[NEWC_FIELDS];
	const char *name; /* NUL-terminated inside the stream */
	size_t hdr_off;	  /* from the start of the stream */
	size_t data_off;
	size_t next; /* the next header */
};

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static bool hex8(const uint8_t *p, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		x = x << 4 | d;
	}
	*v = x;
	return true;
}

/* Parses the entry at off of the stream s (which starts at s.p). */
static bool newc_entry(struct span s, size_t off, struct newc_entry *e)
{
	if (off > s.len || s.len - off < NEWC_HDR_LEN || memcmp(s.p + off, NEWC_MAGIC, 6) != 0)
		return false;
	for (int i = 0; i < NEWC_FIELDS; i++)
		if (!hex8(s.p + off + 6 + 8 * i, &e->f[i]))
			return false;
	uint32_t namesize = e->f[F_NAMESIZE];
	size_t name_off = off + NEWC_HDR_LEN;
	if (namesize < 1 || namesize > NEWC_NAME_MAX || s.len - name_off < namesize)
		return false;
	const char *name = (const char *)s.p + name_off;
	if (name[namesize - 1] != '\0' || strlen(name) != namesize - 1)
		return false;
	e->name = name;
	e->hdr_off = off;
	e->data_off = align4(name_off + namesize);
	if (e->data_off > s.len || s.len - e->data_off < e->f[F_FILESIZE])
		return false;
	e->next = align4(e->data_off + e->f[F_FILESIZE]);
	return e->next <= s.len;
}

static bool is_trailer(const struct newc_entry *e)
{
	return strcmp(e->name, NEWC_TRAILER) == 0;
}

/*
 * Whether a complete stream starts at s.p: entries up to the trailer. Its length includes the
 * zeros after the trailer up to the next NEWC_BLOCK, where present.
 */
static bool newc_stream(struct span s, size_t *len, size_t *entries)
{
	struct newc_entry e;
	size_t off = 0, n = 0;

	for (;;) {
		if (!newc_entry(s, off, &e))
			return false;
		off = e.next;
		if (is_trailer(&e))
			break;
		n++;
	}
	size_t padded = (off + NEWC_BLOCK - 1) / NEWC_BLOCK * NEWC_BLOCK;
	if (padded <= s.len) {
		size_t z = off;
		while (z < padded && s.p[z] == 0)
			z++;
		if (z == padded)
			off = padded;
	}
	*len = off;
	*entries = n;
	return true;
}

/* The archive a kernel links in when CONFIG_INITRAMFS_SOURCE is empty (usr/default_cpio_list). */
static bool is_kernel_default(struct span s)
{
	static const struct {
		const char *name;
		uint32_t ifmt;
	} expected[] = {{"dev", S_IFDIR}, {"dev/console", S_IFCHR}, {"root", S_IFDIR}};
	struct newc_entry e;
	size_t off = 0;

	for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
		if (!newc_entry(s, off, &e) || strcmp(e.name, expected[i].name) != 0 ||
		    (e.f[F_MODE] & S_IFMT) != expected[i].ifmt)
			return false;
		off = e.next;
	}
	return newc_entry(s, off, &e) && is_trailer(&e);
}

/* Says where two valid streams first differ: an entry's name, header field, data, or the padding. */
static void newc_diff(struct span a, const char *a_name, struct span b, const char *b_name)
{
	struct newc_entry ea, eb;
	size_t oa = 0, ob = 0;

	for (size_t i = 1;; i++) {
		bool ha = newc_entry(a, oa, &ea), hb = newc_entry(b, ob, &eb);
		if (!ha || !hb) {
			printf("  the streams stop parsing at entry %zu\n", i);
			return;
		}
		if (strcmp(ea.name, eb.name) != 0) {
			printf("  first differing entry: #%zu is \"%s\" in %s, \"%s\" in %s\n", i, ea.name, a_name,
			       eb.name, b_name);
			return;
		}
		for (int f = 0; f < NEWC_FIELDS; f++)
			if (ea.f[f] != eb.f[f]) {
				printf("  first differing entry: \"%s\" (#%zu): %s is 0x%" PRIx32 " in %s, 0x%" PRIx32
				       " in %s\n",
				       ea.name, i, field_names[f], ea.f[f], a_name, eb.f[f], b_name);
				return;
			}
		size_t size = ea.f[F_FILESIZE];
		for (size_t k = 0; k < size; k++)
			if (a.p[ea.data_off + k] != b.p[eb.data_off + k]) {
				printf("  first differing entry: \"%s\" (#%zu): data differ from byte %zu of %zu\n",
				       ea.name, i, k, size);
				return;
			}
		if (memcmp(a.p + ea.hdr_off, b.p + eb.hdr_off, eb.next - eb.hdr_off) != 0) {
			printf("  first differing entry: \"%s\" (#%zu): the magic or padding differ\n", ea.name, i);
			return;
		}
		oa = ea.next;
		ob = eb.next;
		if (is_trailer(&ea))
			break;
	}
	printf("  every entry is the same; the padding after the trailer differs (%zu bytes in %s, %zu in %s)\n",
	       a.len - oa, a_name, b.len - ob, b_name);
}

/* ---- the archive under test ------------------------------------------------------------------ */

struct archive {
	const char *path;
	struct buf raw;	 /* the file as given */
	struct buf cpio; /* decompressed, when raw is compressed */
	struct span stream;
	size_t entries;
};

static int archive_load(const char *path, struct archive *a)
{
	int r = read_path(path, &a->raw);
	char sum[SHA256_HEX_SIZE];

	a->path = path;
	if (r < 0) {
		fprintf(stderr, "verify: cannot read %s: %s\n", path, strerror(-r));
		return -1;
	}
	const struct codec *c = codec_of(span_of(&a->raw));
	a->stream = span_of(&a->raw);
	if (c) {
		if (decompress(path, c, span_of(&a->raw), &a->cpio) < 0)
			return -1;
		a->stream = span_of(&a->cpio);
	}
	size_t len;
	if (!newc_stream(a->stream, &len, &a->entries) || len != a->stream.len) {
		fprintf(stderr, "verify: %s is not one newc cpio archive%s\n", path,
			c ? " once decompressed" : " (nor a compressed one)");
		return -1;
	}
	sha256_hex(span_of(&a->raw), sum);
	printf("ARCHIVE %s: %zu bytes, sha256 %s\n", path, a->raw.len, sum);
	if (c) {
		sha256_hex(a->stream, sum);
		printf("  %s; the cpio inside: %zu bytes, sha256 %s\n", c->name, a->stream.len, sum);
	}
	printf("  %zu entries\n", a->entries);
	return 0;
}

/* ---- bzImage --------------------------------------------------------------------------------- */

enum linked { LINKED_ARCHIVE, LINKED_DEFAULT, LINKED_NONE, LINKED_OTHER };

/*
 * Locates the compressed kernel in the bzImage bz by its setup header and says what it found.
 * Returns 0, or -1 after saying why not.
 */
static int bzimage_payload(const char *what, struct span bz, struct span *payload, const struct codec **c)
{
	uint16_t boot_flag, version = 0;
	uint32_t magic, payload_offset = 0, payload_length = 0;

	if (!le16(bz, 0x1fe, &boot_flag) || !le32(bz, 0x202, &magic) || boot_flag != 0xaa55 ||
	    magic != 0x53726448 /* "HdrS" */) {
		fprintf(stderr, "verify: %s is not a bzImage (no boot sector flag and \"HdrS\" setup header)\n", what);
		return -1;
	}
	if (!le16(bz, 0x206, &version) || version < BOOT_PROTO_MIN || bz.len < SETUP_HDR_MIN) {
		fprintf(stderr, "verify: %s: boot protocol %u.%02u; payload fields need 2.08 or later\n", what,
			version >> 8, version & 0xff);
		return -1;
	}
	size_t setup_sects = bz.p[0x1f1] ? bz.p[0x1f1] : 4;
	size_t pm_start = (setup_sects + 1) * 512;
	le32(bz, 0x248, &payload_offset);
	le32(bz, 0x24c, &payload_length);
	size_t start = pm_start + payload_offset;
	if (start > bz.len || bz.len - start < payload_length || payload_length < 4) {
		fprintf(stderr,
			"verify: %s: payload (offset 0x%zx, %" PRIu32 " bytes) is outside the file (%zu bytes)\n", what,
			start, payload_length, bz.len);
		return -1;
	}
	*payload = (struct span){bz.p + start, payload_length};
	*c = codec_of(*payload);
	if (!*c) {
		fprintf(stderr, "verify: %s: unknown payload compression (magic %02x %02x %02x %02x)\n", what,
			payload->p[0], payload->p[1], payload->p[2], payload->p[3]);
		return -1;
	}
	printf("%s: bzImage, boot protocol %u.%02u, payload at file offset 0x%zx, %" PRIu32 " bytes, %s\n", what,
	       version >> 8, version & 0xff, start, payload_length, (*c)->name);
	return 0;
}

/* Decompresses the payload, which must be an ELF vmlinux. Returns 0, or -1 after saying why not. */
static int bzimage_vmlinux(const char *what, struct span payload, const struct codec *c, struct buf *vmlinux)
{
	uint32_t appended = 0;

	if (decompress(what, c, payload, vmlinux) < 0)
		return -1;
	le32(payload, payload.len - 4, &appended);
	if (vmlinux->len < 4 || memcmp(vmlinux->data, "\177ELF", 4) != 0) {
		fprintf(stderr, "verify: %s: the decompressed payload is not an ELF vmlinux\n", what);
		return -1;
	}
	printf("  vmlinux: %zu bytes (ELF%s)\n", vmlinux->len,
	       appended == (uint32_t)vmlinux->len ? ", the size the build appended" : "; not the size appended");
	return 0;
}

/* Lists every complete newc stream in v into found. Returns 0, or -1 after saying there are too many. */
static int vmlinux_streams(const char *what, struct span v, struct span found[MAX_STREAMS], size_t *n)
{
	char sum[SHA256_HEX_SIZE];
	size_t k = 0;

	for (size_t off = 0; off < v.len;) {
		const uint8_t *hit = memmem(v.p + off, v.len - off, NEWC_MAGIC, 6);
		if (!hit)
			break;
		size_t at = (size_t)(hit - v.p), len, count;
		if (!newc_stream((struct span){hit, v.len - at}, &len, &count)) {
			off = at + 1;
			continue;
		}
		if (k == MAX_STREAMS) {
			fprintf(stderr, "verify: %s: more than %d newc archives in vmlinux\n", what, MAX_STREAMS);
			return -1;
		}
		found[k++] = (struct span){hit, len};
		sha256_hex(found[k - 1], sum);
		printf("  newc archive at vmlinux offset 0x%zx: %zu bytes, %zu entries, sha256 %s\n", at, len, count,
		       sum);
		off = at + len;
	}
	*n = k;
	return 0;
}

/* Which archive the kernel links in, judged from the streams found in its vmlinux. */
static int linked_kind(const struct span *found, size_t n, const struct archive *a)
{
	if (n == 0) {
		printf("  no uncompressed newc archive linked in (none, or compressed: this mode wants "
		       "CONFIG_INITRAMFS_COMPRESSION_NONE)\n");
		return LINKED_NONE;
	}
	if (n > 1) {
		printf("  %zu archives: cannot tell which one the kernel unpacks\n", n);
		return LINKED_OTHER;
	}
	if (found[0].len == a->stream.len && memcmp(found[0].p, a->stream.p, a->stream.len) == 0)
		return LINKED_ARCHIVE;
	if (is_kernel_default(found[0])) {
		printf("  it is the kernel's default (/dev, /dev/console, /root): built without "
		       "CONFIG_INITRAMFS_SOURCE\n");
		return LINKED_DEFAULT;
	}
	printf("  it differs from %s:\n", a->path);
	newc_diff(found[0], "the kernel", a->stream, "ARCHIVE");
	return LINKED_OTHER;
}

/*
 * Finds the archive linked into the bzImage bz and compares it with a->stream.
 * Returns the kind found, or -1 after saying why it could not look.
 */
static int bzimage_linked(const char *what, struct span bz, const struct archive *a)
{
	_cleanup_buf_ struct buf vmlinux = {0};
	struct span payload, found[MAX_STREAMS];
	const struct codec *c;
	size_t n;

	if (bzimage_payload(what, bz, &payload, &c) < 0 || bzimage_vmlinux(what, payload, c, &vmlinux) < 0 ||
	    vmlinux_streams(what, span_of(&vmlinux), found, &n) < 0)
		return -1;
	return linked_kind(found, n, a);
}

static int verify_bzimage(const char *path, struct span bz, const struct archive *a)
{
	int k = bzimage_linked(path, bz, a);

	if (k < 0)
		return ERROR;
	if (k == LINKED_ARCHIVE) {
		printf("PASS: %s links in exactly %s (%zu bytes)\n", path, a->path, a->stream.len);
		return PASS;
	}
	printf("FAIL: %s does not link in %s\n", path, a->path);
	return FAIL;
}

/* ---- UKI ------------------------------------------------------------------------------------- */

/* Compares the .initrd section with ARCHIVE's bytes as given. */
static int verify_initrd(struct span uki, const struct pe_section *sec, const struct archive *a)
{
	struct span initrd = {uki.p + sec->offset, sec->size};
	char sum[SHA256_HEX_SIZE];

	sha256_hex(initrd, sum);
	printf(".initrd: file offset 0x%zx, %zu bytes, sha256 %s\n", sec->offset, sec->size, sum);
	if (initrd.len == a->raw.len && memcmp(initrd.p, a->raw.data, a->raw.len) == 0)
		return PASS;
	printf("  it differs from %s\n", a->path);
	/* Say how: the same cpio compressed differently, or which entry differs. */
	_cleanup_buf_ struct buf inner = {0};
	struct span cpio = initrd;
	const struct codec *c = codec_of(initrd);
	if (c) {
		if (decompress(".initrd", c, initrd, &inner) < 0)
			return FAIL;
		cpio = span_of(&inner);
	}
	size_t len, entries;
	if (!newc_stream(cpio, &len, &entries))
		printf("  .initrd is not a newc archive%s\n", c ? " once decompressed" : "");
	else if (cpio.len == a->stream.len && memcmp(cpio.p, a->stream.p, cpio.len) == 0)
		printf("  the same cpio, compressed differently (.initrd: %s; ARCHIVE: %s)\n", c ? c->name : "none",
		       codec_of(span_of(&a->raw)) ? codec_of(span_of(&a->raw))->name : "none");
	else
		newc_diff(cpio, ".initrd", a->stream, "ARCHIVE");
	return FAIL;
}

/* Lists the sections; ERROR if one does not lie within the file. */
static int uki_sections(const char *path, const struct pe_section *secs, int n)
{
	printf("%s: UKI, sections:", path);
	for (int i = 0; i < n; i++)
		printf(" %s", secs[i].name);
	printf("\n");
	for (int i = 0; i < n; i++)
		if (secs[i].size == SIZE_MAX) {
			fprintf(stderr, "verify: %s: section %s extends beyond the file\n", path, secs[i].name);
			return ERROR;
		}
	return PASS;
}

/* What one part of a UKI holds: ARCHIVE, no archive to compare, or an archive the kernel would unpack too. */
enum part { PART_ARCHIVE, PART_NONE, PART_OTHER };

static enum part uki_initrd(struct span uki, const struct pe_section *sec, const struct archive *a)
{
	if (!sec) {
		printf(".initrd: none\n");
		return PART_NONE;
	}
	if (verify_initrd(uki, sec, a) != PASS)
		return PART_OTHER;
	printf("  .initrd is exactly %s\n", a->path);
	return PART_ARCHIVE;
}

/* Returns the part, or -1 after saying why the kernel could not be read. */
static int uki_linux(struct span uki, const struct pe_section *sec, const struct archive *a)
{
	printf(".linux: file offset 0x%zx, %zu bytes\n", sec->offset, sec->size);
	switch (bzimage_linked(".linux", (struct span){uki.p + sec->offset, sec->size}, a)) {
	case LINKED_ARCHIVE:
		printf("  .linux links in exactly %s\n", a->path);
		return PART_ARCHIVE;
	case LINKED_DEFAULT:
	case LINKED_NONE:
		printf("  .linux is not a kernel-linked kernel; its built-in archive is not compared\n");
		return PART_NONE;
	case LINKED_OTHER:
		printf("  .linux links in another archive, which the kernel unpacks before .initrd\n");
		return PART_OTHER;
	default:
		return -1;
	}
}

static int verify_uki(const char *path, struct span uki, const struct pe_section *secs, int n, const struct archive *a)
{
	if (uki_sections(path, secs, n) != PASS)
		return ERROR;
	enum part initrd = uki_initrd(uki, pe_find(secs, n, ".initrd"), a);
	int kernel = uki_linux(uki, pe_find(secs, n, ".linux"), a);
	if (kernel < 0)
		return ERROR;

	if (initrd == PART_OTHER || kernel == PART_OTHER) {
		printf("FAIL: %s does not carry exactly %s\n", path, a->path);
		return FAIL;
	}
	if (initrd == PART_NONE && kernel == PART_NONE) {
		printf("FAIL: %s carries no copy of %s\n", path, a->path);
		return FAIL;
	}
	printf("PASS: %s carries exactly %s\n", path, a->path);
	return PASS;
}

int main(int argc, char **argv)
{
	_cleanup_buf_ struct buf kernel = {0};
	struct archive a = {0};
	struct pe_section secs[PE_SECTIONS_MAX];
	char sum[SHA256_HEX_SIZE];
	int r;

	/* messages on stderr stay in order with the report */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: %s KERNEL-OR-UKI ARCHIVE\n", argv[0]);
		return ERROR;
	}
	r = read_path(argv[1], &kernel);
	if (r < 0) {
		fprintf(stderr, "verify: cannot read %s: %s\n", argv[1], strerror(-r));
		return ERROR;
	}
	if (archive_load(argv[2], &a) < 0) {
		buf_free(&a.raw);
		buf_free(&a.cpio);
		return ERROR;
	}
	sha256_hex(span_of(&kernel), sum);
	printf("KERNEL %s: %zu bytes, sha256 %s\n", argv[1], kernel.len, sum);

	int n = pe_sections(span_of(&kernel), secs, PE_SECTIONS_MAX);
	if (n > 0 && pe_find(secs, n, ".linux"))
		r = verify_uki(argv[1], span_of(&kernel), secs, n, &a);
	else
		r = verify_bzimage(argv[1], span_of(&kernel), &a);
	buf_free(&a.raw);
	buf_free(&a.cpio);
	return r;
}
