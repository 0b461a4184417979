/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image.h's readers. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "macro.h"

#define PE_SECTION_LEN 40

bool le16(struct span s, size_t off, uint16_t *v)
{
	if (off > s.len || s.len - off < 2)
		return false;
	*v = (uint16_t)(s.p[off] | s.p[off + 1] << 8);
	return true;
}

bool le32(struct span s, size_t off, uint32_t *v)
{
	if (off > s.len || s.len - off < 4)
		return false;
	*v = (uint32_t)s.p[off] | (uint32_t)s.p[off + 1] << 8 | (uint32_t)s.p[off + 2] << 16 |
	     (uint32_t)s.p[off + 3] << 24;
	return true;
}

int read_fd(int fd, struct buf *out)
{
	size_t cap = 1 << 20;
	uint8_t *data = malloc(cap);
	size_t len = 0;

	if (!data)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			uint8_t *bigger = realloc(data, cap * 2);
			if (!bigger) {
				free(data);
				return -ENOMEM;
			}
			data = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			free(data);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	out->data = data;
	out->len = len;
	return 0;
}

int read_path(const char *path, struct buf *out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd(fd, out);
}

int write_all(int fd, struct span s)
{
	while (s.len > 0) {
		ssize_t n = write(fd, s.p, s.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s.p += n;
		s.len -= (size_t)n;
	}
	return 0;
}

int pe_sections(struct span s, struct pe_section *out, int max)
{
	uint32_t pe, vsize = 0, raw_size = 0, raw_off = 0;
	uint16_t nsec, optsize;

	if (s.len < 0x40 || memcmp(s.p, "MZ", 2) != 0 || !le32(s, 0x3c, &pe) || pe > s.len || s.len - pe < 24 ||
	    memcmp(s.p + pe, "PE\0\0", 4) != 0 || !le16(s, pe + 6, &nsec) || !le16(s, pe + 20, &optsize))
		return -1;
	size_t table = (size_t)pe + 24 + optsize;
	if (nsec > max || table > s.len || (s.len - table) / PE_SECTION_LEN < nsec)
		return -1;
	for (int i = 0; i < nsec; i++) {
		size_t at = table + (size_t)i * PE_SECTION_LEN;
		memcpy(out[i].name, s.p + at, 8);
		out[i].name[8] = '\0';
		le32(s, at + 8, &vsize);
		le32(s, at + 16, &raw_size);
		le32(s, at + 20, &raw_off);
		/* VirtualSize 0: some linkers leave it unset; the raw size is all there is */
		out[i].size = vsize && vsize <= raw_size ? vsize : raw_size;
		out[i].offset = raw_off;
		if (vsize > raw_size || raw_off > s.len || s.len - raw_off < raw_size)
			out[i].size = SIZE_MAX; /* not all in the file */
	}
	return nsec;
}

const struct pe_section *pe_find(const struct pe_section *secs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(secs[i].name, name) == 0)
			return &secs[i];
	return NULL;
}
