/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel modules without udev: coldplug every device's modalias against the embedded module set,
 * then load for devices announced later by uevents, and by name for what later stages need.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "earlyroot.h"

static void kmod_log(void *data, int priority, const char *file, int line, const char *fn, const char *format,
		     va_list args)
{
	const struct ctx *c = data;
	char msg[512];
	(void)file, (void)line, (void)fn;
	if (priority > LOG_WARN_)
		return;
	vsnprintf(msg, sizeof(msg), format, args);
	msg[strcspn(msg, "\n")] = 0;
	log_at(c, priority, "libkmod: %s", msg);
}

/* No modules directory for the running kernel means a kernel with its drivers built in: fine. */
static int modules_init(struct ctx *c)
{
	struct utsname u;
	char dir[300], path[400];
	if (uname(&u) < 0)
		return log_error_errno(c, -errno, "cannot learn the kernel version: %m");
	snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
	snprintf(path, sizeof(path), "%s/modules.dep.bin", dir);
	if (access(path, F_OK) < 0) {
		log_info(c, "no modules for kernel %s in this initramfs; relying on built-in drivers", u.release);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/earlyroot-profile", dir);
	if (read_text(path, c->profile, sizeof(c->profile)) < 0)
		snprintf(c->profile, sizeof(c->profile), "(unknown)");
	c->kmod = kmod_new(dir, NULL);
	if (!c->kmod)
		return log_error_errno(c, -ENOMEM, "cannot use the modules in %s: %m", dir);
	kmod_set_log_fn(c->kmod, kmod_log, c);
	if (kmod_load_resources(c->kmod) < 0)
		log_warn(c, "cannot map the module indexes in %s; lookups will be slower", dir);
	return 0;
}

/* Whether m drives disks (block, SCSI, NVMe, ATA, MMC, USB storage): loading one means disks may still be
 * coming, which discovery waits for. */
static bool storage_driver(struct kmod_module *m)
{
	static const char *const dirs[] = {"/drivers/block/", "/drivers/scsi/",	       "/drivers/nvme/",
					   "/drivers/ata/",   "/drivers/usb/storage/", "/drivers/mmc/"};
	const char *path = kmod_module_get_path(m);
	for (size_t i = 0; path && i < ELEMENTSOF(dirs); i++)
		if (strstr(path, dirs[i]))
			return true;
	return false;
}

/* Loads what an alias (a modalias, "fs-xfs", or a module name) resolves to. Returns how many matched. */
int modules_load(struct ctx *c, const char *alias)
{
	struct kmod_list *list = NULL, *l;
	int n = 0;
	if (!c->kmod || kmod_module_new_from_lookup(c->kmod, alias, &list) < 0)
		return 0;
	kmod_list_foreach(l, list)
	{
		struct kmod_module *m = kmod_module_get_module(l);
		int r = kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, NULL, NULL, NULL,
							NULL);
		/* one broken module must not stop the boot: say which, and go on */
		if (r < 0)
			log_warn_errno(c, r, "cannot load module %s (for %s): %m", kmod_module_get_name(m), alias);
		else
			n++, c->storage_loads += storage_driver(m);
		kmod_module_unref(m);
	}
	kmod_module_unref_list(list);
	return n;
}

/* A uevent is "ACTION@DEVPATH" then NUL-separated KEY=VALUE pairs. */
void modules_uevent(void *userdata, const char *msg, size_t len)
{
	struct ctx *c = userdata;
	if (!c->kmod || len < 4 || strncmp(msg, "add@", 4) != 0)
		return;
	for (size_t i = 0; i < len; i += strlen(msg + i) + 1)
		if (strncmp(msg + i, "MODALIAS=", 9) == 0)
			modules_load(c, msg + i + 9);
}

/* Calls fn for every device of bus that has a modalias. */
static void each_device(const char *bus,
			void (*fn)(void *userdata, const char *bus, const char *dev, const char *alias), void *userdata)
{
	char path[600], alias[512];
	snprintf(path, sizeof(path), "/sys/bus/%.64s/devices", bus);
	DIR *devs = opendir(path);
	if (!devs)
		return;
	for (struct dirent *d; (d = readdir(devs));) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/%.64s/devices/%.256s/modalias", bus, d->d_name);
		if (read_text(path, alias, sizeof(alias)) == 0 && alias[0])
			fn(userdata, bus, d->d_name, alias);
	}
	closedir(devs);
}

static void coldplug_one(void *userdata, const char *bus, const char *dev, const char *alias)
{
	(void)bus, (void)dev;
	modules_load(userdata, alias);
}

/* Every bus's devices, in sysfs order; a device appearing meanwhile comes again as a uevent. */
void modules_coldplug(struct ctx *c)
{
	if (!c->kmod)
		return;
	DIR *buses = opendir("/sys/bus");
	if (!buses) {
		log_error(c, "cannot read /sys/bus: %m");
		return;
	}
	for (struct dirent *b; (b = readdir(buses));)
		if (b->d_name[0] != '.')
			each_device(b->d_name, coldplug_one, c);
	closedir(buses);
}

void stage_modules(struct ctx *c)
{
	if (modules_init(c) == 0)
		modules_coldplug(c);
}

struct unclaimed {
	const struct ctx *c;
	int n;
};

static void report_unclaimed(void *userdata, const char *bus, const char *dev, const char *alias)
{
	struct unclaimed *u = userdata;
	char path[600];
	snprintf(path, sizeof(path), "/sys/bus/%.64s/devices/%.256s/driver", bus, dev);
	/* PCI: only mass storage controllers (class 01); bridges and the like never bind */
	if (access(path, F_OK) == 0 || (strcmp(bus, "pci") == 0 && !strstr(alias, "bc01")))
		return;
	if (u->n++ == 0)
		console_printf(u->c, "earlyroot: devices no driver claimed (%s):\n",
			       u->c->kmod ? "no module of this initramfs matches"
					  : "this initramfs carries no modules");
	console_printf(u->c, "  %s device %s, modalias %s\n", bus, dev, alias);
}

/* For the emergency report: storage-like devices no driver took. */
void modules_report_unclaimed(struct ctx *c)
{
	static const char *const buses[] = {"pci", "virtio", "scsi", "usb", "mmc", "nvme"};
	struct unclaimed u = {.c = c};
	for (size_t i = 0; i < ELEMENTSOF(buses); i++)
		each_device(buses[i], report_unclaimed, &u);
	if (u.n && c->kmod)
		console_printf(c, "earlyroot: add their drivers to the modules-list/ profile '%s' and rebuild\n",
			       c->profile);
}
