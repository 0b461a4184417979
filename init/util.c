/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "earlyroot.h"
#include "io.h"

ssize_t read_file(const char *path, void *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_full(fd, buf, size);
}

int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n = read_file(path, buf, size - 1);
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *escape_text(const char *s, const char *also, char *buf, size_t size)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n + 5 < size; p++)
		n += (size_t)(*p < ' ' || *p >= 0x7f || *p == '\\' || strchr(also, *p)
				      ? snprintf(buf + n, size - n, "\\x%02x", *p)
				      : snprintf(buf + n, size - n, "%c", *p));
	buf[n] = 0;
	return buf;
}
