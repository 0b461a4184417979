/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount root on /sysroot and /usr on /sysroot/usr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "earlyroot.h"

/* Generic options become mount flags; the rest go to the file system as data. */
static const struct {
	const char *name;
	unsigned long set, clear;
} mount_opts[] = {
	{"ro", MS_RDONLY, 0},	      {"rw", 0, MS_RDONLY},
	{"nosuid", MS_NOSUID, 0},     {"suid", 0, MS_NOSUID},
	{"nodev", MS_NODEV, 0},	      {"dev", 0, MS_NODEV},
	{"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},
	{"sync", MS_SYNCHRONOUS, 0},  {"async", 0, MS_SYNCHRONOUS},
	{"dirsync", MS_DIRSYNC, 0},   {"noatime", MS_NOATIME, 0},
	{"atime", 0, MS_NOATIME},     {"nodiratime", MS_NODIRATIME, 0},
	{"relatime", MS_RELATIME, 0}, {"strictatime", MS_STRICTATIME, 0},
	{"lazytime", MS_LAZYTIME, 0}, {"defaults", 0, 0},
};

/* Splits "a,b,c" into flags and a data string; returns false if data does not fit. */
bool mount_options(const char *opts, unsigned long *flags, char *data, size_t size)
{
	char buf[SPEC_MAX], *save = NULL;
	size_t n = 0;
	data[0] = 0;
	snprintf(buf, sizeof(buf), "%s", opts ? opts : "");
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < ELEMENTSOF(mount_opts); i++)
			if (strcmp(o, mount_opts[i].name) == 0) {
				*flags = (*flags & ~mount_opts[i].clear) | mount_opts[i].set;
				break;
			}
		if (i < ELEMENTSOF(mount_opts))
			continue;
		int w = snprintf(data + n, size - n, "%s%s", n ? "," : "", o);
		if (w < 0 || (size_t)w >= size - n)
			return false;
		n += (size_t)w;
	}
	return true;
}

static int mount_one(struct ctx *c, const char *dev, const char *target, const char *fstype_opt, const char *opts,
		     bool ro)
{
	struct fsinfo fi;
	char data[SPEC_MAX];
	unsigned long flags = ro ? MS_RDONLY : 0;
	const char *type = fstype_opt;

	if (!type[0]) {
		probe_fs(dev, &fi);
		if (!fi.type[0])
			return log_error_errno(c, -EINVAL,
					       "%s holds no file system libblkid knows; pass rootfstype= if it is one",
					       dev);
		if (strcmp(fi.type, "crypto_LUKS") == 0)
			return log_error_errno(
				c, -EINVAL,
				"%s is a LUKS volume and rd.luks=0 leaves it locked; drop rd.luks=0 to unlock it", dev);
		type = fi.type;
	}
	/* file systems that are modules on distribution kernels (xfs, btrfs, …): the kernel's own
	 * request_module() has no modprobe to call in here */
	char alias[80];
	snprintf(alias, sizeof(alias), "fs-%.64s", type);
	modules_load(c, alias);
	if (!mount_options(opts, &flags, data, sizeof(data)))
		return log_error_errno(c, -EINVAL, "mount options for %s are too long", target);
	if (ro)
		flags |= MS_RDONLY; /* a read-only flag or "ro" wins over "rw" in the options */
	mkdir(target, 0755);
	if (mount(dev, target, type, flags, data[0] ? data : NULL) == 0)
		goto done;
	if ((errno == EACCES || errno == EROFS) && !(flags & MS_RDONLY)) {
		log_warn(c, "%s is write-protected, mounting it read-only", dev);
		flags |= MS_RDONLY;
		if (mount(dev, target, type, flags, data[0] ? data : NULL) == 0)
			goto done;
	}
	return log_error_errno(c, -errno, "cannot mount %s (%s) on %s: %m", dev, type, target);
done:
	log_info(c, "mounted %s (%s) on %s %s", dev, type, target, flags & MS_RDONLY ? "read-only" : "read-write");
	return 0;
}

int stage_mount(struct ctx *c)
{
	int r = 0;
	for (int i = 0; i < VOLUME_MAX && r >= 0; i++) {
		const struct volume *v = &c->vol[i];
		if (v->device[0])
			r = mount_one(c, volume_node(v), v->mountpoint, v->fstype, v->options, v->read_only);
	}
	if (r < 0)
		emergency_report(
			c, "the root (or /usr) file system cannot be mounted",
			"check the messages above; rootfstype=, rootflags= (mount.usrfstype=, mount.usrflags=) "
			"override what was probed, and a damaged file system needs fsck from a rescue system");
	return r;
}
