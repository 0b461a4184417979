/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /sbin/init of the boot tests' root file systems: reports what earlyroot handed over, powers off. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* /proc/cmdline is at most COMMAND_LINE_SIZE (2048 on x86) plus a newline. */
#define CMDLINE_MAX 4096

/* 0, or -errno */
static int read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static const char *mode(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return "unknown";
	return sv.f_flag & ST_RDONLY ? "ro" : "rw";
}

/* A mount point has another st_dev than "/": true for every API file system earlyroot moves. */
static bool mounted(const char *path, dev_t root_dev)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_dev != root_dev;
}

/* The descriptors the real init inherited, "0,1,2" when earlyroot closed all of its own. */
static void list_fds(char *buf, size_t size)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;
	buf[0] = 0;
	if (!d) {
		snprintf(buf, size, "?");
		return;
	}
	for (struct dirent *e; n < size && (e = readdir(d));) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", e->d_name);
	}
	closedir(d);
}

static void join_args(int argc, char **argv, char *buf, size_t size)
{
	size_t n = 0;
	snprintf(buf, size, "-");
	for (int i = 1; i < argc && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", argv[i]);
}

int main(int argc, char **argv)
{
	static const char *const api[] = {"/dev", "/proc", "/sys", "/run"};
	char cmdline[CMDLINE_MAX] = "?", uptime[64] = "?", usr[16] = "absent", missing[64] = "", fds[256], args[512];
	struct stat root;

	list_fds(fds, sizeof(fds)); /* first: before this program opens anything */
	join_args(argc, argv, args, sizeof(args));

	if (stat("/", &root) < 0)
		root.st_dev = 0;
	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		if (!mounted(api[i], root.st_dev))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
				 missing[0] ? "," : "", api[i]);
	if (mounted("/usr", root.st_dev))
		snprintf(usr, sizeof(usr), "mounted,%s", mode("/usr"));
	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	if (read_line("/proc/uptime", uptime, sizeof(uptime)) == 0)
		uptime[strcspn(uptime, " ")] = 0;

	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = STDOUT_FILENO;
	dprintf(fd, "\nEARLYROOT-MARKER pid=%d argv0=%s root=%s usr=%s api=%s%s fds=%s args=%s uptime=%s cmdline=%s\n",
		(int)getpid(), argv[0] ? argv[0] : "?", mode("/"), usr, missing[0] ? "missing:" : "ok", missing, fds,
		args, uptime, cmdline);
	/* the hardware RNG the initramfs left running ("none" when its core is there without one) */
	char rng[64];
	if (read_line("/sys/class/misc/hw_random/rng_current", rng, sizeof(rng)) < 0)
		snprintf(rng, sizeof(rng), "absent");
	dprintf(fd, "EARLYROOT-HWRNG current=%s\n", rng);
	/* a separate /usr: can its test file be read (dm-verity fails a read of damaged data with EIO) */
	if (strcmp(usr, "absent") != 0) {
		char text[128];
		int r = read_line("/usr/lib/earlyroot-test", text, sizeof(text));
		dprintf(fd, "EARLYROOT-USR-READ /usr/lib/earlyroot-test: %s\n", r == 0 ? "ok" : strerror(-r));
	}
	/* what the real root's systemd-remount-fs would do next: the device under a read-only mount
	 * must still be writable unless the partition is flagged read-only */
	if (strcmp(mode("/"), "ro") == 0)
		dprintf(fd, "EARLYROOT-REMOUNT rw=%s\n",
			mount(NULL, "/", NULL, MS_REMOUNT, NULL) == 0 ? "ok" : strerror(errno));
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* PID 1 must not exit: that would be a kernel panic, not a result */
}
