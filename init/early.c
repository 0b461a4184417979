/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Early mounts: the kernel starts us with nothing but the initramfs and /dev/console. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

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
	}
	log_unlimit(c);
	return r;
}
