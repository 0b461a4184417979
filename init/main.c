/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* earlyroot: PID 1 of a generic initramfs. The boot, top to bottom. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "earlyroot.h"

/* Stages that return an int stop the boot on failure (after saying why); the others do what they can. */
int main(int argc, char **argv)
{
	if (getpid() == 1 && argv[0] && strcmp(argv[0], "/shutdown") == 0)
		shutdown_main(argc, argv); /* systemd handed the machine back at power-off */
	if (getpid() != 1) {		   /* started by hand on a running system, it would mount over /proc and /run */
		fprintf(stderr, "earlyroot: /init runs as PID 1 of an initramfs only (the kernel starts it at boot)\n");
		return 1;
	}
	struct ctx c = {.argv = argv, .kmsg_fd = -1, .console_fd = -1, .uevent_fd = -1};
	timeline_mark(&c, TIMELINE_START);
	config_defaults(&c.cfg);

	/* subscribe before anything is probed, so no device appears unseen */
	c.uevent_fd = uevent_open();
	if (stage_early(&c) < 0)
		emergency(&c);
	stage_cmdline(&c);
	timeline_mark(&c, TIMELINE_EARLY);
	stage_modules(&c);
	stage_entropy(&c);
	timeline_mark(&c, TIMELINE_MODULES);
	stage_enter_initrd(&c);
	if (stage_discover(&c) < 0 || stage_policy(&c) < 0)
		emergency(&c);
	timeline_mark(&c, TIMELINE_DISCOVER);
	if (stage_unlock(&c) < 0 || stage_verity(&c) < 0)
		emergency(&c);
	timeline_mark(&c, TIMELINE_UNLOCK);
	if (stage_mount(&c) < 0 || stage_leave_initrd(&c) < 0)
		emergency(&c);
	timeline_mark(&c, TIMELINE_MOUNT);
	stage_switch(&c);
	emergency(&c); /* stage_switch returns only on failure */
}
