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
#include <strings.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "earlyroot.h"

/* softdeps may name each other: how far to follow them */
#define MODULE_DEPTH_MAX 8

static void kmod_log(void *data, int priority, const char *file, int line, const char *fn, const char *format,
		     va_list args)
{
	const struct ctx *c = data;
	char msg[512];
	(void)file, (void)line;
	/* a dependency's file is missing while it is still compressed; unpack_module makes it before the load,
	 * and the load says so if it is missing for good */
	if (priority > LOG_WARN_ || (fn && strcmp(fn, "kmod_module_parse_depline") == 0))
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
	snprintf(c->moddir, sizeof(c->moddir), "%s", dir);
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	struct stat st;
	if (stat(path, &st) == 0 && (c->moddep = calloc(1, (size_t)st.st_size + 1)) &&
	    read_file(path, c->moddep, (size_t)st.st_size) < 0) {
		free(c->moddep);
		c->moddep = NULL;
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

/* Whether m's file is under one of dirs */
static bool module_under(struct kmod_module *m, const char *const *dirs, size_t n)
{
	const char *path = kmod_module_get_path(m);
	for (size_t i = 0; path && i < n; i++)
		if (strstr(path, dirs[i]))
			return true;
	return false;
}

/* Whether m drives disks (block, SCSI, NVMe, ATA, MMC, USB storage): loading one means disks may still be
 * coming, which discovery waits for. */
static bool storage_driver(struct kmod_module *m)
{
	static const char *const dirs[] = {"/drivers/block/", "/drivers/scsi/",	       "/drivers/nvme/",
					   "/drivers/ata/",   "/drivers/usb/storage/", "/drivers/mmc/"};
	return module_under(m, dirs, ELEMENTSOF(dirs));
}

/* Whether alias and m only feed the kernel's random pool: a hardware RNG's driver, or the PCI transport
 * for virtio's entropy device (transitional 1005, modern 1044), which drives nothing else. /init needs
 * them while the pool is not ready; once it is (RDRAND, a boot loader's seed), the real root loads them
 * and the initramfs saves their loading (tens of milliseconds each under emulation). */
static bool entropy_only(const char *alias, struct kmod_module *m)
{
	static const char *const rng_dirs[] = {"/drivers/char/hw_random/"};
	static const char *const pci[] = {"pci:v00001AF4d00001005", "pci:v00001AF4d00001044"};
	for (size_t i = 0; i < ELEMENTSOF(pci); i++)
		if (strncasecmp(alias, pci[i], strlen(pci[i])) == 0)
			return true;
	return module_under(m, rng_dirs, ELEMENTSOF(rng_dirs));
}

const char *moddep_find(const char *dep, const char *name, size_t *len)
{
	size_t want = strlen(name);
	for (const char *line = dep; *line;) {
		size_t n = strcspn(line, "\n"), path = strcspn(line, ":\n");
		/* the module's name is its file's, less ".ko", with '-' read as '_' */
		const char *base = line + path;
		while (base > line && base[-1] != '/')
			base--;
		size_t blen = (size_t)(line + path - base);
		bool same = blen == want + 3 && memcmp(base + want, ".ko", 3) == 0;
		for (size_t i = 0; same && i < want; i++)
			same = (base[i] == '-' ? '_' : base[i]) == (name[i] == '-' ? '_' : name[i]);
		if (same && line[path] == ':') {
			*len = n;
			return line;
		}
		line += n + (line[n] == '\n');
	}
	return NULL;
}

static void unpack_module(struct ctx *c, const char *name, int depth);

/* The softdeps of module name (a file's name less ".ko"), each with what it needs. */
static void unpack_softdeps(struct ctx *c, const char *name, int depth)
{
	struct kmod_module *m = NULL;
	struct kmod_list *pre = NULL, *post = NULL, *l;
	if (depth >= MODULE_DEPTH_MAX || kmod_module_new_from_name(c->kmod, name, &m) < 0)
		return;
	if (kmod_module_get_softdeps(m, &pre, &post) == 0)
		for (int k = 0; k < 2; k++) {
			kmod_list_foreach(l, k ? post : pre)
			{
				struct kmod_module *d = kmod_module_get_module(l);
				unpack_module(c, kmod_module_get_name(d), depth + 1);
				kmod_module_unref(d);
			}
			kmod_module_unref_list(k ? post : pre);
		}
	kmod_module_unref(m);
}

/* The archive holds each module file LZ4-compressed (NAME.ko.lz4, docs/archive.md): the kernel copies a third
 * of the bytes at every boot, and only what a boot loads is decompressed, here, once. A module's modules.dep
 * line names its file and every file it needs, however indirectly (libkmod reads them only once they exist);
 * each of those may have softdeps, which are looked up by name and bring their own, as libkmod loads them. */
static void unpack_module(struct ctx *c, const char *name, int depth)
{
	char path[PATH_MAX], dep[NAME_MAX + 1];
	size_t len;
	const char *line = c->moddep ? moddep_find(c->moddep, name, &len) : NULL;
	for (size_t i = 0; line && i < len;) {
		size_t n = strcspn(line + i, ": \t\n");
		if (n > 0 && snprintf(path, sizeof(path), "%s/%.*s", c->moddir, (int)n, line + i) < (int)sizeof(path)) {
			int r = lz4_unpack_file(path);
			if (r < 0)
				log_warn_errno(c, r, "cannot unpack the module file %s.lz4: %m", path);
			const char *base = strrchr(path, '/') + 1;
			size_t blen = strlen(base);
			if (blen > 3 && strcmp(base + blen - 3, ".ko") == 0) {
				snprintf(dep, sizeof(dep), "%.*s", (int)(blen - 3), base);
				unpack_softdeps(c, dep, depth);
			}
		}
		i += n + (i + n < len);
	}
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
		bool entropy = entropy_only(alias, m);
		if (entropy && random_pool_ready()) {
			log_info(c, "the kernel's random pool is ready: module %s (for %s) is left to the real root",
				 kmod_module_get_name(m), alias);
			kmod_module_unref(m);
			continue;
		}
		unpack_module(c, kmod_module_get_name(m), 0);
		int r = kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, NULL, NULL, NULL,
							NULL);
		/* one broken module must not stop the boot: say which, and go on; ENODEV is a module finding
		 * nothing of its own to drive (aesni_intel on a CPU without AES-NI) */
		if (r == -ENODEV)
			log_info(c, "module %s (for %s) found nothing to drive here", kmod_module_get_name(m), alias);
		else if (r < 0)
			log_warn_errno(c, r, "cannot load module %s (for %s): %m", kmod_module_get_name(m), alias);
		else
			n++, c->storage_loads += storage_driver(m), c->entropy_loads += entropy;
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
