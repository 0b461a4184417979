/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /sbin/init of the benchmark's root: prints the guest's uptime at its start, then powers off. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/statvfs.h>
#include <unistd.h>

int main(void)
{
	char uptime[64] = "?";
	struct statvfs sv;

	/* without an initrd the kernel mounts only root and /dev: /proc is ours to mount */
	int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, uptime, sizeof(uptime) - 1);
		uptime[n > 0 ? n : 0] = 0;
		uptime[strcspn(uptime, " \n")] = 0;
		close(fd);
	}

	const char *root = statvfs("/", &sv) < 0 ? "unknown" : (sv.f_flag & ST_RDONLY) ? "ro" : "rw";
	int out = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	dprintf(out >= 0 ? out : STDOUT_FILENO, "\nEARLYROOT-MARKER bench uptime=%s root=%s\n", uptime, root);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* PID 1 must not exit: that would be a kernel panic */
}
