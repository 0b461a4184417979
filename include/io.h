/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* read(2) and write(2) that carry on after signals and short transfers. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/* One read, again when a signal interrupted it: the count, 0 at the end, or -errno. */
static inline ssize_t read_once(int fd, void *buf, size_t size)
{
	for (;;) {
		ssize_t n = read(fd, buf, size);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

/* Reads until size bytes or the end: the count or -errno. */
static inline ssize_t read_full(int fd, void *buf, size_t size)
{
	size_t got = 0;
	while (got < size) {
		ssize_t n = read_once(fd, (uint8_t *)buf + got, size - got);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Writes all n bytes: 0 or -errno (-EIO when nothing more can be written). */
static inline int write_full(int fd, const void *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, (const uint8_t *)buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
	}
	return 0;
}
