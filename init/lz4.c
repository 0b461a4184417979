/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LZ4 in its legacy frame, the form the module files have in the archive (docs/archive.md): a pure decoder
 * over buffers, and the unpacking of one NAME.ko.lz4 into NAME.ko. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "earlyroot.h"

#define LZ4_LEGACY_MAGIC 0x184C2102u
/* the length of the shortest match; a sequence's low nibble counts from it */
#define LZ4_MIN_MATCH	 4

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A length nibble of 15 goes on in the following bytes, each added, until one is not 255. */
static int long_length(const uint8_t *src, size_t n, size_t *i, size_t *len)
{
	for (;;) {
		if (*i >= n)
			return -EINVAL;
		uint8_t b = src[(*i)++];
		*len += b;
		if (*len > (size_t)LZ4_LEGACY_BLOCK_MAX)
			return -EINVAL;
		if (b != 255)
			return 0;
	}
}

ssize_t lz4_block_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < n) {
		uint8_t token = src[i++];
		size_t lit = token >> 4, match = token & 15;
		if (lit == 15 && long_length(src, n, &i, &lit) < 0)
			return -EINVAL;
		if (lit > n - i || lit > cap - o)
			return -EINVAL;
		memcpy(dst + o, src + i, lit);
		i += lit, o += lit;
		if (i == n) /* the last sequence has literals only */
			return (ssize_t)o;
		if (n - i < 2)
			return -EINVAL;
		size_t offset = (size_t)src[i] | (size_t)src[i + 1] << 8;
		i += 2;
		if (match == 15 && long_length(src, n, &i, &match) < 0)
			return -EINVAL;
		match += LZ4_MIN_MATCH;
		if (offset == 0 || offset > o || match > cap - o)
			return -EINVAL;
		if (offset >= match)
			memcpy(dst + o, dst + o - offset, match);
		else /* the match overlaps what it writes: a repeating pattern */
			for (size_t k = 0; k < match; k++)
				dst[o + k] = dst[o + k - offset];
		o += match;
	}
	return (ssize_t)o;
}

int lz4_legacy_decode(const uint8_t *src, size_t n, uint8_t *block, lz4_write_fn out, void *userdata)
{
	if (n < 4 || le32(src) != LZ4_LEGACY_MAGIC)
		return -EINVAL;
	for (size_t i = 4; i < n;) {
		if (n - i < 4)
			return -EINVAL;
		size_t len = le32(src + i);
		i += 4;
		if (len > n - i)
			return -EINVAL;
		ssize_t got = lz4_block_decode(src + i, len, block, LZ4_LEGACY_BLOCK_MAX);
		if (got < 0)
			return (int)got;
		int r = out(userdata, block, (size_t)got);
		if (r < 0)
			return r;
		i += len;
	}
	return 0;
}

static int write_all_cb(void *userdata, const uint8_t *buf, size_t len)
{
	int fd = *(int *)userdata;
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w, len -= (size_t)w;
	}
	return 0;
}

int lz4_unpack_file(const char *path)
{
	char packed[PATH_MAX];
	struct stat st;
	if (access(path, F_OK) == 0)
		return 0;
	snprintf(packed, sizeof(packed), "%s.lz4", path);
	_cleanup_close_ int in = open(packed, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return -errno;
	_cleanup_free_ uint8_t *src = malloc((size_t)st.st_size + 1), *block = malloc(LZ4_LEGACY_BLOCK_MAX);
	if (!src || !block)
		return -ENOMEM;
	ssize_t n = read_file(packed, src, (size_t)st.st_size + 1);
	if (n < 0)
		return (int)n;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = lz4_legacy_decode(src, (size_t)n, block, write_all_cb, &fd);
	if (r < 0) {
		unlink(path);
		return r;
	}
	unlink(packed); /* the initramfs is memory: keep one copy */
	return 0;
}
