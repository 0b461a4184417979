/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Early mounts: the kernel starts us with nothing but the initramfs and /dev/console. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "earlyroot.h"

static const struct early_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
} early_mounts[] = {
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
	{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
};

#define DEVKMSG_SYSCTL "/proc/sys/kernel/printk_devkmsg"

/* The kernel lets a process write only 10 lines to /dev/kmsg in 5 s ("ratelimit", its default) and drops
 * the rest: a failing boot's report would lose the lines that say what was found. /init lifts the limit
 * for itself and puts it back before the real init runs (devkmsg_restore). printk.devkmsg= on the
 * command line locks the setting: then the writes fail, and the limit stays as asked. */
void devkmsg_unlimit(struct ctx *c)
{
	char mode[16];
	if (read_text(DEVKMSG_SYSCTL, mode, sizeof(mode)) < 0 || strcmp(mode, "ratelimit") != 0)
		return;
	_cleanup_close_ int fd = open(DEVKMSG_SYSCTL, O_WRONLY | O_CLOEXEC);
	/* the kernel takes the word only with its newline */
	c->devkmsg_lifted = fd >= 0 && write(fd, "on\n", 3) == 3;
}

void devkmsg_restore(struct ctx *c)
{
	if (!c->devkmsg_lifted)
		return;
	_cleanup_close_ int fd = open(DEVKMSG_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "ratelimit\n", 10) != 10)
		log_warn(c, "cannot restore the kernel's limit on /dev/kmsg writes: %m");
	c->devkmsg_lifted = false;
}

int stage_early(struct ctx *c)
{
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(early_mounts); i++) {
		const struct early_mount *m = &early_mounts[i];
		mkdir(m->target, 0755);
		if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
			r = -errno;
			log_error(c, "cannot mount %s on %s: %m", m->type, m->target);
		}
		if (i == 0)
			log_open(c);
		if (i == 1)
			devkmsg_unlimit(c);
	}
	return r;
}
