/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The way back at power-off. systemd's last step (systemd-shutdown) cannot unmount the root it runs from
 * nor close the dm-crypt mapping under it; when /run/initramfs/shutdown exists, it makes /run/initramfs
 * the root, puts the old root at /oldroot and executes /shutdown as PID 1 with the verb (poweroff, reboot,
 * halt, kexec) as argv[1]. /init leaves itself there when it opened a LUKS volume, and as /shutdown it
 * unmounts what is left of the old root, closes the dm-crypt mappings and ends the machine. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "earlyroot.h"
#include "io.h"

#define SHUTDOWN_ROOT "/run/initramfs"
#define OLDROOT	      "/oldroot"
/* passes over the mount table: an unmount can free the one it sat on */
#define UMOUNT_PASSES 4
#define MAX_MOUNTS    256

/* Copies /init, and the directories systemd binds the API file systems and the old root onto. */
int shutdown_prepare(struct ctx *c)
{
	static const char *const dirs[] = {SHUTDOWN_ROOT,	 SHUTDOWN_ROOT "/dev", SHUTDOWN_ROOT "/proc",
					   SHUTDOWN_ROOT "/sys", SHUTDOWN_ROOT "/run", SHUTDOWN_ROOT OLDROOT};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
			return log_warn_errno(c, -errno, "cannot make %s for the shutdown: %m", dirs[i]);
	_cleanup_close_ int in = open("/init", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = open(SHUTDOWN_ROOT "/shutdown.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return log_warn_errno(c, -errno, "cannot copy /init to " SHUTDOWN_ROOT "/shutdown: %m");
	/* copied by the kernel: through a buffer here, the 2 MiB took half as long again under emulation */
	ssize_t n;
	while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
		;
	if (n < 0) {
		int r = -errno;
		unlink(SHUTDOWN_ROOT "/shutdown.tmp");
		return log_warn_errno(c, r, "cannot copy /init to " SHUTDOWN_ROOT "/shutdown: %m");
	}
	if (rename(SHUTDOWN_ROOT "/shutdown.tmp", SHUTDOWN_ROOT "/shutdown") < 0)
		return log_warn_errno(c, -errno, "cannot put the shutdown helper in place: %m");
	log_info(c, "left " SHUTDOWN_ROOT "/shutdown to close the encrypted volumes at power-off");
	return 0;
}

/* The mount points under OLDROOT (mountinfo's field 5, octal escapes kept: those fail and stay). */
static int oldroot_mounts(char (*paths)[256], int max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], point[256];
	int n = 0;
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %255s", point) == 1 &&
		    strncmp(point, OLDROOT, strlen(OLDROOT)) == 0 &&
		    (point[strlen(OLDROOT)] == '\0' || point[strlen(OLDROOT)] == '/'))
			snprintf(paths[n++], sizeof(paths[0]), "%s", point);
	fclose(f);
	return n;
}

/* Unmounts the old root's mounts, the deepest first (the later in mountinfo, the deeper); whatever stays
 * busy is made read-only, so its file system is clean when the power goes. Returns how many are left. */
static int unmount_oldroot(const struct ctx *c)
{
	static char paths[MAX_MOUNTS][256];
	int n = 0;
	for (int pass = 0; pass < UMOUNT_PASSES; pass++) {
		n = oldroot_mounts(paths, MAX_MOUNTS);
		int done = 0;
		for (int i = n - 1; i >= 0; i--)
			if (umount2(paths[i], 0) == 0)
				done++;
		if (done == 0)
			break;
	}
	n = oldroot_mounts(paths, MAX_MOUNTS);
	for (int i = n - 1; i >= 0; i--) {
		log_warn(c, "shutdown: %s is still busy; making it read-only and detaching it", paths[i]);
		mount(NULL, paths[i], NULL, MS_REMOUNT | MS_RDONLY, NULL);
		umount2(paths[i], MNT_DETACH);
	}
	return n;
}

/* Closes every dm-crypt mapping (device-mapper UUIDs "CRYPT-…"). */
static void close_crypt(const struct ctx *c)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		char path[300], name[128], uuid[160];
		if (strncmp(e->d_name, "dm-", 3) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/uuid", e->d_name);
		if (read_text(path, uuid, sizeof(uuid)) < 0 || strncmp(uuid, "CRYPT-", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/name", e->d_name);
		if (read_text(path, name, sizeof(name)) < 0)
			continue;
		int r = crypt_deactivate(NULL, name);
		if (r < 0)
			log_error_errno(c, r, "shutdown: cannot close the encrypted volume %s: %m", name);
		else
			log_info(c, "shutdown: closed the encrypted volume %s", name);
	}
	closedir(d);
}

/* PID 1 as /shutdown: never returns. */
void shutdown_main(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int cmd;
	} verbs[] = {
		{"poweroff", RB_POWER_OFF}, {"reboot", RB_AUTOBOOT}, {"halt", RB_HALT_SYSTEM}, {"kexec", RB_KEXEC}};
	struct ctx c = {.kmsg_fd = -1, .console_fd = -1, .uevent_fd = -1};
	config_defaults(&c.cfg);
	log_open(&c);
	int cmd = RB_POWER_OFF;
	for (size_t i = 0; argc > 1 && i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			cmd = verbs[i].cmd;
	log_info(&c, "shutdown: back in the initramfs for %s", argc > 1 ? argv[1] : "poweroff");
	sync();
	int left = unmount_oldroot(&c);
	close_crypt(&c);
	sync();
	if (left == 0)
		log_info(&c, "shutdown: every file system of the old root is unmounted");
	reboot(cmd);
	if (cmd == RB_KEXEC)
		reboot(RB_AUTOBOOT); /* no kernel was loaded for kexec */
	log_error_errno(&c, -errno, "shutdown: the kernel refused to end the machine: %m");
	for (;;)
		pause(); /* PID 1 must not exit */
}
