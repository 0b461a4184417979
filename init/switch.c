/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hand over to the real init: move the API mounts, free the initramfs, make /sysroot the root, exec. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "earlyroot.h"

#define SYSROOT "/sysroot"

/* Deletes the initramfs contents below dirfd, staying on device dev (never crossing a mount). */
static void remove_tree(int dirfd, dev_t dev)
{
	DIR *dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return;
	}
	for (struct dirent *e; (e = readdir(dir));) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				remove_tree(fd, dev);
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, e->d_name, 0);
		}
	}
	closedir(dir);
}

/* Resolves path inside /sysroot as the real root will see it (absolute symlinks included). */
static bool executable_in_sysroot(const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	_cleanup_close_ int root = open(SYSROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	struct stat st;
	if (fd < 0)
		return errno == ENOSYS; /* an old kernel: let execv decide */
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static const char *const inits[] = {"/sbin/init", "/etc/init", "/bin/init"};

/* Says why and returns false when neither init= nor a default init is an executable file on the root. */
static bool init_present(struct ctx *c)
{
	if (c->cfg.init[0] && executable_in_sysroot(c->cfg.init))
		return true;
	for (size_t i = 0; !c->cfg.init[0] && i < ELEMENTSOF(inits); i++)
		if (executable_in_sysroot(inits[i]))
			return true;
	emergency_report(
		c,
		c->cfg.init[0] ? "the init= program is not an executable file on the root file system"
			       : "no /sbin/init, /etc/init or /bin/init on the root file system",
		"install an init on the root file system, or name it with init=; is this the right partition?");
	return false;
}

static void move_api_mounts(struct ctx *c)
{
	static const char *const moves[] = {"/dev", "/proc", "/sys", "/run"};
	char target[64];
	struct stat st;
	for (size_t i = 0; i < ELEMENTSOF(moves); i++) {
		snprintf(target, sizeof(target), SYSROOT "%s", moves[i]);
		if (stat(target, &st) < 0 || mount(moves[i], target, NULL, MS_MOVE, NULL) < 0) {
			log_warn(c, "cannot move %s to the root file system (%m); detaching it", moves[i]);
			umount2(moves[i], MNT_DETACH);
		}
	}
}

/* Frees the initramfs and makes SYSROOT the root directory. */
static int enter_sysroot(struct ctx *c)
{
	struct stat st;
	struct statfs sfs;
	if (chdir(SYSROOT) < 0)
		return log_error_errno(c, -errno, "cannot enter " SYSROOT ": %m");
	/* only ever delete from the initramfs itself */
	if (statfs("/", &sfs) == 0 && (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC) && stat("/", &st) == 0) {
		int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			remove_tree(fd, st.st_dev);
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		char why[128];
		snprintf(why, sizeof(why), "cannot make " SYSROOT " the root directory: %m");
		emergency_report(c, why, "this is a kernel or initramfs problem; please report it with these lines");
		return -errno;
	}
	return 0;
}

/* Why execv gave ENOENT for a program that is there: its #! interpreter, or an ELF program's loader, is
 * missing. Leaves why as it is when neither. */
static void explain_missing(const char *path, char *why, size_t size)
{
	char head[160], text[sizeof(head) * 4];
	ssize_t n = read_file(path, head, sizeof(head) - 1);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		head[n] = 0;
		char *interp = head + 2 + strspn(head + 2, " \t");
		interp[strcspn(interp, " \t\r\n")] = 0;
		snprintf(why, size,
			 "cannot execute %s: its interpreter \"%s\" (the #! line) is not on the root file system", path,
			 escape_text(interp, "\"", text, sizeof(text)));
	} else if (n >= 4 && memcmp(head,
				    "\x7f"
				    "ELF",
				    4) == 0)
		snprintf(why, size,
			 "cannot execute %s: its program loader (the dynamic linker it names) is not on the root file "
			 "system, or it is for another architecture",
			 path);
}

/* Our own fds are O_CLOEXEC; 0, 1 and 2 stay the console for the real init, and the kernel's arguments for
 * init (e.g. "single") go on to it. Without init=, an init that exists but does not run (a missing
 * interpreter, another architecture) makes way for the next. Returns only when none ran. */
static int exec_init(struct ctx *c)
{
	const char *const *candidates = c->cfg.init[0] ? (const char *const[]){c->cfg.init} : inits;
	size_t n = c->cfg.init[0] ? 1 : ELEMENTSOF(inits);
	char why[SPEC_MAX + 800] = "no init could be executed";
	timeline_log(c);
	for (size_t i = 0; i < n; i++) {
		if (access(candidates[i], X_OK) < 0)
			continue;
		log_info(c, "starting %s", candidates[i]);
		c->argv[0] = (char *)candidates[i];
		log_restore(c);
		execv(candidates[i], c->argv);
		int err = errno;
		log_unlimit(c); /* still ours to report on */
		snprintf(why, sizeof(why), "cannot execute %s: %m", candidates[i]);
		if (err == ENOENT)
			explain_missing(candidates[i], why, sizeof(why));
		log_error(c, "%s", why);
	}
	emergency_report(c, why,
			 c->cfg.init[0]
				 ? "install what the init= program needs on the root file system, or name another "
				   "with init= (or drop init= for /sbin/init); as the kernel does, earlyroot "
				   "does not fall back to the default inits when init= is given"
				 : "check that the root file system is not mounted noexec (rootflags=), that the "
				   "init's interpreter and libraries are on it and match this machine, or name "
				   "another with init=");
	return -ENOEXEC;
}

int stage_switch(struct ctx *c)
{
	if (!init_present(c))
		return -ENOENT;
	for (int v = 0; v < VOLUME_MAX; v++)
		if (c->vol[v].mapped[0]) {
			shutdown_prepare(c); /* a failure costs a clean close at power-off, not the boot */
			break;
		}
	move_api_mounts(c);
	int r = enter_sysroot(c);
	return r < 0 ? r : exec_init(c);
}
