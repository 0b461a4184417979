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

/* The option that sets v's type, for messages */
static const char *fstype_option(const struct volume *v)
{
	return strcmp(v->name, "root") == 0 ? "rootfstype=" : "mount.usrfstype=";
}

/* What mount(2)'s errno means for dev as type (probed: what libblkid found there), and what to do. */
static void mount_failure(const struct volume *v, const char *dev, const char *type, const char *probed, int err,
			  char *why, size_t size)
{
	const char *opt = fstype_option(v);
	errno = err;
	if (err == ENODEV)
		snprintf(why, size,
			 "cannot mount %s on %s: the kernel has no %s driver (not built in, and no module for it in "
			 "this initramfs); use an archive with its module (the virt profile has ext4, xfs, btrfs, "
			 "vfat, erofs)",
			 dev, v->mountpoint, type);
	else if (v->fstype[0] && probed[0] && strcmp(probed, type) != 0)
		snprintf(why, size, "cannot mount %s as %s (%s%s): %m; libblkid finds %s there: drop %s or set %s%s",
			 dev, type, opt, v->fstype, probed, opt, opt, probed);
	else if (err == EUCLEAN || err == EBADMSG)
		snprintf(why, size,
			 "the %s file system on %s is damaged (%m): check it with its fsck from a rescue system "
			 "(the kernel's lines above say what it found)",
			 type, dev);
	else if (err == EINVAL)
		snprintf(why, size,
			 "the kernel cannot mount %s as %s (%m): its superblock is damaged, or %s is wrong, or the "
			 "mount options are (%s); the kernel's lines above say which; fsck from a rescue system "
			 "repairs a damaged file system",
			 dev, type, probed[0] ? "the type libblkid reported" : opt,
			 v->options[0] ? v->options : "none given");
	else
		snprintf(why, size, "cannot mount %s (%s) on %s: %m", dev, type, v->mountpoint);
}

/* dev holds nothing libblkid recognizes, and no type was given */
static void no_file_system(const struct volume *v, const char *dev, char *why, size_t size)
{
	snprintf(why, size,
		 "%s (%s) holds no file system or LUKS header that libblkid recognizes: it is blank, its superblock "
		 "or LUKS header is damaged, or its type is one libblkid does not know; repair a damaged file system "
		 "from a rescue system (e2fsck -b 32768 tries an ext4 backup superblock), restore a LUKS header "
		 "backup (cryptsetup luksHeaderRestore), or name the type with %s",
		 dev, v->name, fstype_option(v));
}

/* Mounts v; on failure, why says what was found and what to do, for the report. */
static int mount_one(struct ctx *c, const struct volume *v, char *why, size_t size)
{
	struct fsinfo fi;
	char data[SPEC_MAX], alias[80];
	const char *dev = volume_node(v), *type = v->fstype;
	unsigned long flags = v->read_only ? MS_RDONLY : 0;

	/* discovery probed the device it found (an opened LUKS mapping is new), and with a type given the probe
	 * waits for a failure to explain: each probe is tens of milliseconds under emulation */
	snprintf(fi.type, sizeof(fi.type), "%s", strcmp(dev, v->device) == 0 ? v->probed : "");
	if (!type[0] && !fi.type[0])
		probe_fs(dev, &fi);
	if (!type[0] && !fi.type[0]) {
		no_file_system(v, dev, why, size);
		return -EINVAL;
	}
	if (!type[0] && strcmp(fi.type, "crypto_LUKS") == 0) {
		snprintf(why, size, "%s is a LUKS volume and rd.luks=0 leaves it locked; drop rd.luks=0 to unlock it",
			 dev);
		return -EINVAL;
	}
	type = type[0] ? type : fi.type;
	/* file systems that are modules on distribution kernels (xfs, btrfs, …): the kernel's own
	 * request_module() has no modprobe to call in here */
	snprintf(alias, sizeof(alias), "fs-%.64s", type);
	modules_load(c, alias);
	if (!mount_options(v->options, &flags, data, sizeof(data))) {
		snprintf(why, size, "the mount options for %s are too long", v->mountpoint);
		return -EINVAL;
	}
	if (v->read_only)
		flags |= MS_RDONLY; /* a read-only flag or "ro" wins over "rw" in the options */
	mkdir(v->mountpoint, 0755);
	int r = mount(dev, v->mountpoint, type, flags, data[0] ? data : NULL) == 0 ? 0 : -errno;
	if ((r == -EACCES || r == -EROFS) && !(flags & MS_RDONLY)) {
		log_warn(c, "%s is write-protected, mounting it read-only", dev);
		flags |= MS_RDONLY;
		r = mount(dev, v->mountpoint, type, flags, data[0] ? data : NULL) == 0 ? 0 : -errno;
	}
	if (r < 0) {
		if (!fi.type[0])
			probe_fs(dev, &fi);
		mount_failure(v, dev, type, fi.type, -r, why, size);
		return r;
	}
	log_info(c, "mounted %s (%s) on %s %s", dev, type, v->mountpoint,
		 flags & MS_RDONLY ? "read-only" : "read-write");
	return 0;
}

int stage_mount(struct ctx *c)
{
	char why[768];
	int r = 0;
	for (int i = 0; i < VOLUME_MAX && r >= 0; i++) {
		const struct volume *v = &c->vol[i];
		if (v->device[0])
			r = mount_one(c, v, why, sizeof(why));
	}
	if (r < 0)
		emergency_report(
			c, why,
			"rootfstype=, rootflags= (mount.usrfstype=, mount.usrflags=) override what was probed; "
			"a damaged file system needs fsck from a rescue system");
	return r;
}
