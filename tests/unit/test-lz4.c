/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* init/lz4.c against hand-made blocks and against the lz4 tool's legacy frames (the build's own compressor),
 * and modules.c's modules.dep lookup that says which files to decompress. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "earlyroot.h"
#include "test.h"

static ssize_t decode(const char *block, size_t n, uint8_t *out, size_t cap)
{
	return lz4_block_decode((const uint8_t *)block, n, out, cap);
}

/* 10 MiB that compress: more than one legacy block (8 MiB each), matches near and far */
static void fill(uint8_t *buf, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (x >> 24) % 4 == 0 ? (uint8_t)(x >> 16) : i > 300 ? buf[i - 1 - (x >> 20) % 300] : (uint8_t)i;
	}
}

static void round_trip(const char *dir)
{
	const size_t n = 10u << 20;
	char path[128], cmd[1024];
	uint8_t *data = malloc(n), *back = malloc(n + 1);
	CHECK(data && back);
	if (!data || !back)
		return;
	fill(data, n);
	snprintf(path, sizeof(path), "%s/m.ko", dir);
	FILE *f = fopen(path, "w");
	CHECK(f && fwrite(data, 1, n, f) == n);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "lz4 -l -9 -q -f '%s' '%s.lz4' && rm '%s'", path, path, path);
	CHECK(system(cmd) == 0);
	CHECK(lz4_unpack_file(path) == 0);
	CHECK(read_file(path, back, n + 1) == (ssize_t)n && memcmp(data, back, n) == 0);
	snprintf(cmd, sizeof(cmd), "%s.lz4", path);
	CHECK(access(cmd, F_OK) < 0);	   /* one copy in memory */
	CHECK(lz4_unpack_file(path) == 0); /* already there */

	/* a damaged frame leaves no half-written module behind */
	snprintf(cmd, sizeof(cmd), "lz4 -l -q -f '%s' '%s.lz4' && rm '%s' && truncate -s -100 '%s.lz4'", path, path,
		 path, path);
	CHECK(system(cmd) == 0);
	CHECK(lz4_unpack_file(path) == -EINVAL);
	CHECK(access(path, F_OK) < 0);
	CHECK(lz4_unpack_file("/nonexistent/x.ko") == -ENOENT);
	free(data);
	free(back);
}

int main(void)
{
	uint8_t out[64];

	/* literals only */
	CHECK(decode("\x50hello", 6, out, sizeof(out)) == 5 && memcmp(out, "hello", 5) == 0);
	/* "ab" then a 6-byte match at offset 2 (overlapping: a repeating pattern), then literal "c" */
	CHECK(decode("\x22"
		     "ab\x02\x00\x10"
		     "c",
		     7, out, sizeof(out)) == 9 &&
	      memcmp(out,
		     "abababab"
		     "c",
		     9) == 0);
	/* 16 literals: a literal length of 15 goes on in the next byte */
	CHECK(decode("\xf0\x01"
		     "0123456789abcdef",
		     18, out, sizeof(out)) == 16 &&
	      memcmp(out, "0123456789abcdef", 16) == 0);
	/* a match length of 15 + 4 + 3 = 22, run-length of one byte */
	CHECK(decode("\x1f"
		     "x\x01\x00\x03\x10"
		     "y",
		     7, out, sizeof(out)) == 24 &&
	      out[22] == 'x' && out[23] == 'y');
	CHECK(decode("", 0, out, sizeof(out)) == 0);

	/* malformed: offset 0, offset beyond the output, truncated literals and offsets, output too small */
	CHECK(decode("\x11"
		     "a\x00\x00",
		     4, out, sizeof(out)) == -EINVAL);
	CHECK(decode("\x11"
		     "a\x05\x00",
		     4, out, sizeof(out)) == -EINVAL);
	CHECK(decode("\x50hel", 4, out, sizeof(out)) == -EINVAL);
	CHECK(decode("\x11"
		     "a\x01",
		     3, out, sizeof(out)) == -EINVAL);
	CHECK(decode("\xf0", 1, out, sizeof(out)) == -EINVAL);
	CHECK(decode("\x50hello", 6, out, 4) == -EINVAL);
	CHECK(decode("\x1f"
		     "x\x01\x00\x03\x10"
		     "y",
		     7, out, 20) == -EINVAL);
	/* a length that runs on past any block */
	char longrun[1 + 40000];
	memset(longrun, 0xff, sizeof(longrun));
	CHECK(decode(longrun, sizeof(longrun), out, sizeof(out)) == -EINVAL);

	/* frames: the magic, then blocks; wrong magic and a cut size are refused */
	uint8_t *block = malloc(LZ4_LEGACY_BLOCK_MAX);
	CHECK(block != NULL);
	static const uint8_t bad_magic[] = {0x02, 0x21, 0x4c, 0x19, 0, 0, 0, 0};
	static const uint8_t cut_size[] = {0x02, 0x21, 0x4c, 0x18, 6, 0};
	static const uint8_t too_long[] = {0x02, 0x21, 0x4c, 0x18, 60, 0, 0, 0, 0x50, 'h'};
	CHECK(lz4_legacy_decode(bad_magic, sizeof(bad_magic), block, NULL, NULL) == -EINVAL);
	CHECK(lz4_legacy_decode(cut_size, sizeof(cut_size), block, NULL, NULL) == -EINVAL);
	CHECK(lz4_legacy_decode(too_long, sizeof(too_long), block, NULL, NULL) == -EINVAL);
	free(block);

	char dir[] = "/tmp/earlyroot-test-lz4.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	round_trip(dir);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);

	/* modules.dep: a module's line by its name, '-' and '_' alike, never a longer name's or a path's part */
	const char *dep = "kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko\n"
			  "kernel/drivers/md/dm-mod.ko:\n"
			  "kernel/crypto/af_alg.ko:\n"
			  "kernel/crypto/algif_skcipher.ko: kernel/crypto/af_alg.ko";
	size_t len = 0;
	const char *line = moddep_find(dep, "dm_crypt", &len);
	CHECK(line == dep && len == strlen("kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko"));
	line = moddep_find(dep, "dm-mod", &len);
	CHECK(line && strncmp(line, "kernel/drivers/md/dm-mod.ko:", len) == 0);
	line = moddep_find(dep, "algif_skcipher", &len);
	CHECK(line && len == strlen(line)); /* the last line has no newline */
	CHECK(moddep_find(dep, "alg", &len) == NULL);
	CHECK(moddep_find(dep, "dm", &len) == NULL);
	CHECK(moddep_find(dep, "md", &len) == NULL);
	CHECK(moddep_find("", "dm_mod", &len) == NULL);
	TEST_DONE();
}
