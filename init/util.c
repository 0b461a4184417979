/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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

/* escape_text() and json_text(): each escaped byte is fmt, at most width characters */
static const char *escape_with(const char *s, const char *also, const char *fmt, size_t width, char *buf, size_t size)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n + width + 1 < size; p++)
		n += (size_t)(*p < ' ' || *p >= 0x7f || *p == '\\' || strchr(also, *p)
				      ? snprintf(buf + n, size - n, fmt, *p)
				      : snprintf(buf + n, size - n, "%c", *p));
	buf[n] = 0;
	return buf;
}

const char *escape_text(const char *s, const char *also, char *buf, size_t size)
{
	return escape_with(s, also, "\\x%02x", 4, buf, size);
}

const char *json_text(const char *s, char *buf, size_t size)
{
	return escape_with(s, "\"", "\\u%04x", 6, buf, size);
}

uint64_t cpu_ms(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

void timeline_mark(struct ctx *c, enum timeline t)
{
	c->marks[t] = now_ms();
	if (t == TIMELINE_START)
		c->cpu_at_start = cpu_ms();
}

void timeline_log(const struct ctx *c)
{
	static const char *const names[] = {"early", "modules", "discover", "unlock", "mount"};
	char line[256];
	uint64_t now = now_ms(), prev = c->marks[TIMELINE_START];
	size_t n = (size_t)snprintf(line, sizeof(line), "timeline:");
	for (int t = TIMELINE_EARLY; t < TIMELINE_MAX; t++) {
		uint64_t end = c->marks[t] ? c->marks[t] : prev;
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu ms,", names[t - 1],
				      (unsigned long long)(end - prev));
		prev = end;
	}
	uint64_t cpu = cpu_ms() - c->cpu_at_start;
	log_info(c, "%s switch %llu ms; %llu ms in all, /init's CPU time %llu ms", line,
		 (unsigned long long)(now - prev), (unsigned long long)(now - c->marks[TIMELINE_START]),
		 (unsigned long long)cpu);
}
