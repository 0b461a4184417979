/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the images the build side's tools are handed (tools/verify, the measurement tool): whole
 * files into memory, little-endian fields checked against the length, and a PE image's section
 * table (PE/COFF: the PE header offset at 0x3c, "PE\0\0", the COFF header, the section table after
 * the optional header). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* A view into a buffer someone else owns. */
struct span {
	const uint8_t *p;
	size_t len;
};

/* An owned buffer. */
struct buf {
	uint8_t *data;
	size_t len;
};
static inline void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
#define _cleanup_buf_ __attribute__((cleanup(buf_free)))

static inline struct span span_of(const struct buf *b)
{
	return (struct span){b->data, b->len};
}

/* false when the field does not lie within s */
bool le16(struct span s, size_t off, uint16_t *v);
bool le32(struct span s, size_t off, uint32_t *v);

/* the whole of fd or path into out; 0 or -errno */
int read_fd(int fd, struct buf *out);
int read_path(const char *path, struct buf *out);
int write_all(int fd, struct span s);

/* More sections than a UKI has (systemd documents about a dozen). */
#define PE_SECTIONS_MAX 96

/* A section of a PE image: its content is size bytes at offset in the file (VirtualSize, the size
 * systemd-stub uses; SizeOfRawData is that rounded up to the file alignment); size is SIZE_MAX when
 * the section does not lie in the file. */
struct pe_section {
	char name[9];
	size_t offset, size;
};

/* The section table of a PE image; returns the number of sections, or -1 if s is no PE image. */
int pe_sections(struct span s, struct pe_section *out, int max);
const struct pe_section *pe_find(const struct pe_section *secs, int n, const char *name);
