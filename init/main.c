/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* earlyroot: PID 1 of a generic initramfs. The boot, top to bottom. */
#include <stdio.h>
#include <string.h>

#include "earlyroot.h"

int main(int argc, char **argv)
{
	(void)argc;
	struct ctx c = {.argv = argv, .kmsg_fd = -1, .console_fd = -1, .uevent_fd = -1};
	config_defaults(&c.cfg);

	/* subscribe before anything is probed, so no device appears unseen */
	c.uevent_fd = uevent_open();
	if (stage_early(&c) < 0)
		emergency(&c);
	stage_cmdline(&c);
	c.disks = calloc(MAX_DISKS, sizeof(*c.disks));
	if (!c.disks) {
		log_error(&c, "out of memory");
		emergency(&c);
	}
	modules_init(&c);
	stage_modules(&c);
	/* before any unlock, as systemd-pcrphase does, so signed policies for this phase match */
	tpm2_measure_phase(&c, "enter-initrd");
	if (stage_discover(&c) < 0 || stage_unlock(&c) < 0 || stage_mount(&c) < 0)
		emergency(&c);
	/* from here on, secrets sealed to the initrd phase cannot be unsealed again; a root unlocked by
	 * the TPM does not start while they still could be */
	if (tpm2_measure_phase(&c, "leave-initrd") < 0 && c.tpm2_unsealed) {
		emergency_report(&c, "the end of the initrd phase could not be measured into the TPM",
				 "the TPM failed (see above), and the real root could still unseal the volume key; "
				 "reboot, and if this persists, check the TPM in the firmware setup");
		emergency(&c);
	}
	stage_switch(&c);
	emergency(&c); /* stage_switch returns only on failure */
}
