/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging: "<level>earlyroot: …" to /dev/kmsg; prompts and reports to /dev/console. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>

#include "earlyroot.h"
#include "io.h"

void log_open(struct ctx *c)
{
	c->kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	c->console_fd = open("/dev/console", O_RDWR | O_CLOEXEC | O_NOCTTY);
}

#define DEVKMSG_SYSCTL "/proc/sys/kernel/printk_devkmsg"

/* The kernel takes the word only with one newline after it */
static void write_sysctl(const char *value)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%s\n", value);
	_cleanup_close_ int fd = open(DEVKMSG_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, line, (size_t)n) < 0) {
		/* locked by printk.devkmsg= on the command line: left as the user set it */
	}
}

/* By default ("ratelimit") the kernel drops lines written to /dev/kmsg beyond 10 in 5 s, so a report or a command
 * line full of bad options would lose lines in the kernel log and the journal. systemd's PID 1 turns the limit off
 * as well; /init puts back what it found before the real init runs. */
void log_unlimit(struct ctx *c)
{
	if (read_text(DEVKMSG_SYSCTL, c->devkmsg, sizeof(c->devkmsg)) < 0 || strcmp(c->devkmsg, "ratelimit") != 0) {
		c->devkmsg[0] = 0;
		return;
	}
	write_sysctl("on");
}

void log_restore(const struct ctx *c)
{
	if (c->devkmsg[0])
		write_sysctl(c->devkmsg);
}

/* err is the errno value %m stands for */
static void log_va(const struct ctx *c, int level, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int saved = errno;
	if (level > c->cfg.loglevel)
		return;
	int n = snprintf(line, sizeof(line), "<%d>earlyroot: ", level);
	errno = err;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = strlen(line);
	if (len < sizeof(line) - 1)
		line[len++] = '\n';
	int fd = c->kmsg_fd >= 0 ? c->kmsg_fd : 2;
	if (write(fd, c->kmsg_fd >= 0 ? line : line + 3, c->kmsg_fd >= 0 ? len : len - 3) < 0) {
		/* nowhere left to report it */
	}
	errno = saved;
}

void log_at(const struct ctx *c, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_va(c, level, errno, fmt, ap);
	va_end(ap);
}

int log_errno(const struct ctx *c, int level, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_va(c, level, r < 0 ? -r : r, fmt, ap);
	va_end(ap);
	return r;
}

void console_printf(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdprintf(c->console_fd >= 0 ? c->console_fd : 2, fmt, ap);
	va_end(ap);
}

/* Reads one line from the console without echo. Returns its length or -errno (-EMSGSIZE: longer than
 * size - 1; the line was read to its end and dropped; -ENODATA: end of file). */
ssize_t ask_secret(const struct ctx *c, const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	ssize_t n = 0;
	bool tty = tcgetattr(c->console_fd, &old) == 0;
	/* echo off before the prompt shows, and keep what was typed ahead: never echo a secret */
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(c->console_fd, TCSANOW, &quiet);
	}
	console_printf(c, "%s", prompt);
	for (char ch;;) {
		ssize_t r = read_once(c->console_fd, &ch, 1);
		if (r <= 0) {
			n = r < 0 ? r : -ENODATA; /* end of file: asking again would read it again */
			break;
		}
		if (ch == '\n' || ch == '\r')
			break;
		/* too long: the whole line goes, so no tail is left for the next try */
		if (n >= 0 && (size_t)n + 1 >= size)
			n = -EMSGSIZE;
		if (n >= 0)
			buf[n++] = ch;
	}
	if (n >= 0)
		buf[n] = 0;
	else
		explicit_bzero(buf, size);
	if (tty)
		tcsetattr(c->console_fd, TCSADRAIN, &old);
	console_printf(c, "\n");
	return n;
}
