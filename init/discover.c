/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Find the root (and /usr) device: root= when given, else DPS on the boot disk; wait on uevents. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "earlyroot.h"

/* the kernel's limit on block device names */
#define DISK_NAME_LEN 32

/* Discovery takes a root only once the newest disk is this old and no uevent came for this long while it
 * watched: a disk that is still being probed (another root, a clone of the boot disk) must not lose the race
 * to the first one seen. Disks that appeared before /init looked cost no wait. */
#define SETTLE_MS 100
/* the longest one look at the devices waits for announced events to be taken in */
#define DRAIN_MS  1000
/* how often to look when the uevent socket fails */
#define RETRY_MS  100

#define EFIVARS		    "/sys/firmware/efi/efivars"
#define LOADER_PARTUUID_VAR EFIVARS "/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* The variable is a 4-byte attribute word, then the partition UUID as UTF-16LE text. */
static void read_boot_partuuid(struct ctx *c)
{
	unsigned char buf[4 + 2 * (GUID_LEN + 1)];
	struct stat st;
	if (stat("/sys/firmware/efi", &st) < 0)
		return; /* not an EFI boot: search every disk */
	modules_load(c, "fs-efivarfs");
	if (mount("efivarfs", EFIVARS, "efivarfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY) {
		log_warn(c, "cannot mount efivarfs (%m): searching every disk for root");
		return;
	}
	if (read_file(LOADER_PARTUUID_VAR, buf, sizeof(buf)) < 4 + 2 * GUID_LEN)
		return;
	for (int i = 0; i < GUID_LEN; i++)
		c->boot_partuuid[i] = (char)tolower(buf[4 + 2 * i]);
	c->boot_partuuid[GUID_LEN] = 0;
}

/* Disks that never hold a root file system, and whose probing only costs time. */
static bool skip_disk(const char *name)
{
	static const char *const prefixes[] = {"loop", "ram", "zram", "fd", "dm-", "md", "sr", "nbd"};
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Partitions are the subdirectories of the disk's sysfs directory with a "partition" file. */
static void name_partitions(const char *disk, struct disk *d)
{
	char path[PATH_MAX], buf[32];
	snprintf(path, sizeof(path), "/sys/class/block/%s", disk);
	DIR *dir = opendir(path);
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir));) {
		if (strncmp(e->d_name, disk, strlen(disk)) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/%s/partition", disk, e->d_name);
		if (read_text(path, buf, sizeof(buf)) < 0)
			continue;
		int partno = atoi(buf);
		for (int i = 0; i < d->nparts; i++)
			if (d->parts[i].partno == partno)
				snprintf(d->parts[i].node, sizeof(d->parts[i].node), "/dev/%.*s", DISK_NAME_LEN,
					 e->d_name);
	}
	closedir(dir);
}

/* Removable media (the kernel's flag), or a disk whose device path runs through a USB port. */
static bool removable(const char *disk)
{
	char path[PATH_MAX], flag[8], real[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/class/block/%s/removable", disk);
	if (read_text(path, flag, sizeof(flag)) == 0 && strcmp(flag, "1") == 0)
		return true;
	snprintf(path, sizeof(path), "/sys/class/block/%s", disk);
	return realpath(path, real) && strstr(real, "/usb");
}

static int disk_order(const void *a, const void *b)
{
	const struct disk *x = a, *y = b;
	return strlen(x->node) != strlen(y->node) ? (int)strlen(x->node) - (int)strlen(y->node)
						  : strcmp(x->node, y->node);
}

/* When the device node was made (devtmpfs makes it as the kernel adds the disk), as a now_ms() time; now
 * when that cannot be told. */
static uint64_t appeared_ms(const char *node)
{
	struct stat st;
	struct timespec real;
	uint64_t now = now_ms();
	if (stat(node, &st) < 0 || clock_gettime(CLOCK_REALTIME, &real) < 0)
		return now;
	int64_t age = ((int64_t)real.tv_sec - (int64_t)st.st_ctim.tv_sec) * 1000 +
		      ((int64_t)real.tv_nsec - (int64_t)st.st_ctim.tv_nsec) / 1000000;
	return age <= 0 ? now : (uint64_t)age >= now ? 0 : now - (uint64_t)age;
}

static void scan_disks(struct ctx *c)
{
	char path[PATH_MAX], buf[32];
	c->ndisks = 0;
	c->newest_disk_ms = 0;
	DIR *dir = opendir("/sys/class/block");
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir)) && c->ndisks < MAX_DISKS;) {
		if (e->d_name[0] == '.' || skip_disk(e->d_name))
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/partition", e->d_name);
		if (access(path, F_OK) == 0)
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/size", e->d_name);
		if (read_text(path, buf, sizeof(buf)) < 0 || strcmp(buf, "0") == 0)
			continue;
		struct disk *d = &c->disks[c->ndisks];
		snprintf(path, sizeof(path), "/dev/%.*s", DISK_NAME_LEN, e->d_name);
		if (probe_disk(path, d) < 0)
			continue;
		name_partitions(e->d_name, d);
		d->removable = removable(e->d_name);
		c->ndisks++;
		uint64_t t = appeared_ms(path);
		if (t > c->newest_disk_ms)
			c->newest_disk_ms = t;
	}
	closedir(dir);
	/* in name order, so that reports list disks alike on every boot */
	qsort(c->disks, (size_t)c->ndisks, sizeof(*c->disks), disk_order);
}

/* udev's /dev/disk/by-* links do not exist here: read them as the tag they stand for. */
static void spec_from_link(const char *spec, char *out, size_t size)
{
	static const struct {
		const char *dir, *tag;
	} links[] = {
		{"/dev/disk/by-uuid/", "UUID="},
		{"/dev/disk/by-partuuid/", "PARTUUID="},
		{"/dev/disk/by-label/", "LABEL="},
		{"/dev/disk/by-partlabel/", "PARTLABEL="},
	};
	for (size_t i = 0; i < ELEMENTSOF(links); i++) {
		size_t n = strlen(links[i].dir);
		if (strncmp(spec, links[i].dir, n) == 0) {
			snprintf(out, size, "%s%s", links[i].tag, spec + n);
			return;
		}
	}
	snprintf(out, size, "%s", spec);
}

/* Resolves a root=-style spec against the scanned disks; fills node and the GPT entry if any. */
static bool resolve_spec(struct ctx *c, const char *spec_in, char *node, size_t size, const struct part **gpt)
{
	char spec[SPEC_MAX];
	struct stat st;
	struct fsinfo fi;
	spec_from_link(spec_in, spec, sizeof(spec));
	*gpt = NULL;

	const char *v;
	bool by_partuuid = strncmp(spec, "PARTUUID=", 9) == 0;
	bool by_partlabel = strncmp(spec, "PARTLABEL=", 10) == 0;
	bool by_uuid = strncmp(spec, "UUID=", 5) == 0;
	bool by_label = strncmp(spec, "LABEL=", 6) == 0;
	v = strchr(spec, '=') ? strchr(spec, '=') + 1 : spec;

	for (int k = 0; k < c->ndisks; k++)
		for (int i = 0; i < c->disks[k].nparts; i++) {
			const struct part *p = &c->disks[k].parts[i];
			bool match = false;
			if (!p->node[0])
				continue;
			if (by_partuuid)
				match = strcasecmp(p->uuid, v) == 0;
			else if (by_partlabel)
				match = strcmp(p->label, v) == 0;
			else if (!by_uuid && !by_label)
				match = strcmp(p->node, spec) == 0;
			if (match) {
				snprintf(node, size, "%s", p->node);
				*gpt = p;
				return true;
			}
		}
	if (by_partuuid || by_partlabel)
		return false;
	if (!by_uuid && !by_label) {
		snprintf(node, size, "%s", spec);
		return stat(spec, &st) == 0 && S_ISBLK(st.st_mode);
	}
	/* file system UUID or label: probe every partition, then every whole disk */
	for (int k = 0; k < c->ndisks; k++)
		for (int i = -1; i < c->disks[k].nparts; i++) {
			const char *n = i < 0 ? c->disks[k].node : c->disks[k].parts[i].node;
			if (!n[0] || probe_fs(n, &fi) < 0)
				continue;
			if (by_uuid ? strcasecmp(fi.uuid, v) == 0 : strcmp(fi.label, v) == 0) {
				snprintf(node, size, "%s", n);
				*gpt = i < 0 ? NULL : &c->disks[k].parts[i];
				return true;
			}
		}
	return false;
}

/* root=/dev/mapper/NAME: the LUKS volume rd.luks.name=UUID=NAME (or NAME=luks-UUID) names. */
static void root_spec(const struct config *cfg, struct volume *v)
{
	const char *name = cfg->root + strlen("/dev/mapper/");
	const char *eq = strchr(cfg->luks_name, '=');
	snprintf(v->spec, sizeof(v->spec), "%s", strcmp(cfg->root, "gpt-auto") == 0 ? "" : cfg->root);
	if (strncmp(cfg->root, "/dev/mapper/", strlen("/dev/mapper/")) != 0)
		return;
	if (eq && strcmp(eq + 1, name) == 0)
		snprintf(v->spec, sizeof(v->spec), "UUID=%.*s", (int)(eq - cfg->luks_name), cfg->luks_name);
	else if (strncmp(name, "luks-", 5) == 0)
		snprintf(v->spec, sizeof(v->spec), "UUID=%s", name + 5);
	else
		return;
	snprintf(v->luks_name, sizeof(v->luks_name), "%.63s", name);
}

/* roothash=, usrhash=: the data partition (unless root= or mount.usr= names another) and the hash partition are
 * those whose PARTUUIDs the hash gives (the DPS: its first and last 128 bits), on whichever disk. */
static void verity_from_cmdline(const struct config *cfg, struct volume *v, const char *hash)
{
	char data[GUID_LEN + 1], mapper[32];
	if (!cfg->verity || !hash[0] || verity_partuuids(hash, data, v->verity_hash_partuuid) < 0)
		return; /* a malformed hash stops the boot in stage_discover */
	v->verity = VERITY_CMDLINE;
	for (size_t i = 0; i <= strlen(hash); i++)
		v->roothash[i] = (char)tolower((unsigned char)hash[i]);
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", v->name);
	if (!v->spec[0] || strcmp(v->spec, mapper) == 0)
		snprintf(v->spec, sizeof(v->spec), "PARTUUID=%s", data);
}

static void volumes_init(struct ctx *c)
{
	struct volume *root = &c->vol[VOLUME_ROOT], *usr = &c->vol[VOLUME_USR];
	*root = (struct volume){.name = "root",
				.mountpoint = "/sysroot",
				.fstype = c->cfg.rootfstype,
				.options = c->cfg.rootflags,
				.luks_name = "root"};
	*usr = (struct volume){.name = "usr",
			       .mountpoint = "/sysroot/usr",
			       .fstype = c->cfg.usrfstype,
			       .options = c->cfg.usrflags,
			       .luks_name = "usr"};
	root_spec(&c->cfg, root);
	snprintf(usr->spec, sizeof(usr->spec), "%s", c->cfg.usr);
	verity_from_cmdline(&c->cfg, root, c->cfg.roothash);
	verity_from_cmdline(&c->cfg, usr, c->cfg.usrhash);
}

/* What discovery learns of a volume's device: its GPT entry (p, if any), its file system type, read-only. */
static void volume_found(struct ctx *c, struct volume *v, const char *node, const struct part *p)
{
	struct fsinfo fi;
	snprintf(v->device, sizeof(v->device), "%s", node);
	v->gpt = p != NULL;
	snprintf(v->partuuid, sizeof(v->partuuid), "%s", p ? p->uuid : "");
	v->gpt_flags = p ? p->flags : 0;
	snprintf(v->probed, sizeof(v->probed), "%s", probe_fs(node, &fi) == 0 ? fi.type : "");
	v->read_only = c->cfg.ro != RW_FORCE || (v->gpt_flags & GPT_FLAG_READ_ONLY);
	if (c->cfg.ro == RW_FORCE && (v->gpt_flags & GPT_FLAG_READ_ONLY))
		log_info(c, "%s is flagged read-only (GPT attribute 60): mounting it read-only despite rw", node);
}

enum { PENDING, FOUND, FAILED };

/* The root partition libblkid found has no device node: the kernel did not take that partition table. */
static int no_node(const struct ctx *c, const struct disk *d, const struct part *p, char *why, size_t size)
{
	if (d->gpt_backup && !c->cfg.force_gpt) {
		snprintf(why, size,
			 "the root partition #%d of %s is in its backup GPT (the primary header is damaged), and the "
			 "kernel reads a backup GPT only with the kernel option gpt: add gpt to the command line to "
			 "boot, then repair the table",
			 p->partno, d->node);
		return FAILED;
	}
	snprintf(why, size, "the kernel has no device node for partition #%d of %s", p->partno, d->node);
	return PENDING;
}

/* root= (PARTUUID=, PARTLABEL=) names a partition that libblkid found only in a backup GPT, which the kernel made
 * no node for: waiting cannot help. */
static bool spec_in_backup_gpt(const struct ctx *c, const char *spec_in, char *why, size_t size)
{
	char spec[SPEC_MAX];
	spec_from_link(spec_in, spec, sizeof(spec));
	bool by_partuuid = strncmp(spec, "PARTUUID=", 9) == 0, by_partlabel = strncmp(spec, "PARTLABEL=", 10) == 0;
	const char *v = strchr(spec, '=') ? strchr(spec, '=') + 1 : "";
	for (int k = 0; k < c->ndisks && (by_partuuid || by_partlabel); k++) {
		const struct disk *d = &c->disks[k];
		for (int i = 0; d->gpt_backup && i < d->nparts; i++) {
			const struct part *p = &d->parts[i];
			if (!p->node[0] && (by_partuuid ? strcasecmp(p->uuid, v) == 0 : strcmp(p->label, v) == 0))
				return no_node(c, d, p, why, size) == FAILED;
		}
	}
	return false;
}

/* The root hash given does not find its partitions: when a verity partition of v's type is on a disk and its
 * tree ends in another hash, the hash given is wrong (waiting cannot help), and why says both. */
static bool verity_mismatch(struct ctx *c, struct volume *v, char *why, size_t size)
{
	char found[VERITY_HEX_MAX + 1];
	const char *type = DPS_VERITY_NATIVE[v - c->vol];
	for (int k = 0; k < c->ndisks; k++) {
		const struct part *p = dps_pick(&c->disks[k], type);
		if (!p || !p->node[0] || verity_root_hash(p->node, found) < 0 || strcmp(found, v->roothash) == 0)
			continue;
		snprintf(why, size,
			 "the root hash of %s does not match the disk: expected %s (%s), found %s in the %s verity "
			 "partition %s (PARTUUID %s); boot with the hash the image was built with (systemd-repart "
			 "--json shows roothash), or rebuild the image",
			 v->name, v->roothash, verity_hash_origin(v), found, v->name, p->node, p->uuid);
		return true;
	}
	return false;
}

/* A verity signature partition of v's type on d gives v's root hash, and through it the data partition (*p,
 * in place of the one DPS picked: the signature names the version) and the hash partition. */
static int verity_signed(struct ctx *c, struct volume *v, struct disk *d, struct part **p, char *why, size_t size)
{
	_cleanup_free_ struct verity_sig *s = NULL;
	char data[GUID_LEN + 1];
	const char *bad;
	struct disk *dd;
	struct part *sp =
		c->cfg.verity && v->verity == VERITY_NONE ? dps_pick(d, DPS_VERITY_SIG_NATIVE[v - c->vol]) : NULL;
	if (!sp)
		return FOUND;
	if (!sp->node[0]) {
		snprintf(why, size, "the kernel has no device node for the signature partition #%d of %s", sp->partno,
			 d->node);
		return PENDING;
	}
	if (!(s = malloc(sizeof(*s))))
		return FAILED;
	int r = verity_sig_read(sp->node, s, &bad);
	if (r < 0) {
		snprintf(why, size, "the %s verity signature partition %s (PARTUUID %s) is unusable: %s", v->name,
			 sp->node, sp->uuid, bad ? bad : strerror(-r));
		return FAILED;
	}
	verity_partuuids(s->root_hash, data, v->verity_hash_partuuid);
	struct part *dp = dps_find_partuuid(d, 1, data, &dd);
	if (!dp) {
		snprintf(why, size,
			 "the %s verity signature partition %s names root hash %s, but no partition on %s has the "
			 "PARTUUID %s that this hash gives the %s data partition",
			 v->name, sp->node, s->root_hash, d->node, data, v->name);
		return FAILED;
	}
	*p = dp;
	v->verity = VERITY_SIGNATURE;
	snprintf(v->roothash, sizeof(v->roothash), "%s", s->root_hash);
	snprintf(v->verity_sig_dev, sizeof(v->verity_sig_dev), "%s", sp->node);
	return FOUND;
}

/* v's spec names no device: say so, and whether that is because its root hash is not this disk's. */
static bool verity_missing(struct ctx *c, struct volume *v, char *why, size_t size)
{
	if (v->verity != VERITY_CMDLINE) {
		snprintf(why, size, "no device matches %s", strcmp(v->name, "root") == 0 ? "root=" : "mount.usr=");
		return false;
	}
	snprintf(why, size, "no partition has the PARTUUID %s that %s gives the %s data partition (%s)",
		 v->spec + strlen("PARTUUID="), strcmp(v->name, "root") == 0 ? "roothash=" : "usrhash=", v->name,
		 v->spec);
	return verity_mismatch(c, v, why, size);
}

/* The verity hash partition of v, by the PARTUUID its root hash gives. */
static int verity_hash_partition(struct ctx *c, struct volume *v, char *why, size_t size)
{
	struct disk *d;
	if (v->verity == VERITY_NONE || !v->device[0])
		return FOUND;
	const struct part *hp = dps_find_partuuid(c->disks, c->ndisks, v->verity_hash_partuuid, &d);
	if (hp && hp->node[0]) {
		snprintf(v->verity_hash_dev, sizeof(v->verity_hash_dev), "%s", hp->node);
		return FOUND;
	}
	snprintf(why, size, "no partition has the PARTUUID %s that the root hash %s gives the %s verity hash partition",
		 v->verity_hash_partuuid, v->roothash, v->name);
	return verity_mismatch(c, v, why, size) ? FAILED : PENDING;
}

/* One look at the devices present now. */
static int try_resolve(struct ctx *c, bool dps, char *why, size_t size)
{
	struct volume *root = &c->vol[VOLUME_ROOT], *usr = &c->vol[VOLUME_USR];
	const struct part *rp = NULL, *up = NULL;
	char rnode[SPEC_MAX], unode[SPEC_MAX] = "";
	int st;
	scan_disks(c);
	for (int i = 0; i < VOLUME_MAX; i++)
		if (c->vol[i].verity == VERITY_SIGNATURE) /* read anew from this look's partitions */
			c->vol[i].verity = VERITY_NONE;
	if (dps) {
		struct dps_result res = dps_select(c->disks, c->ndisks, c->boot_partuuid);
		snprintf(why, size, "%s", res.error);
		if (!res.root)
			return res.final ? FAILED : PENDING;
		if ((st = verity_signed(c, root, res.root_disk, &res.root, why, size)) != FOUND)
			return st;
		if (!usr->spec[0] && (st = verity_signed(c, usr, res.root_disk, &res.usr, why, size)) != FOUND)
			return st;
		rp = res.root;
		if (!rp->node[0])
			return no_node(c, res.root_disk, rp, why, size);
		snprintf(rnode, sizeof(rnode), "%s", rp->node);
		if (res.usr && !usr->spec[0]) {
			up = res.usr;
			snprintf(unode, sizeof(unode), "%s", up->node);
		}
	} else if (!resolve_spec(c, root->spec, rnode, sizeof(rnode), &rp)) {
		return verity_missing(c, root, why, size)	      ? FAILED
		       : spec_in_backup_gpt(c, root->spec, why, size) ? FAILED
								      : PENDING;
	}
	if (usr->spec[0] && !resolve_spec(c, usr->spec, unode, sizeof(unode), &up))
		return verity_missing(c, usr, why, size) ? FAILED : PENDING;
	volume_found(c, root, rnode, rp);
	if (unode[0])
		volume_found(c, usr, unode, up);
	for (int i = 0; i < VOLUME_MAX; i++)
		if ((st = verity_hash_partition(c, &c->vol[i], why, size)) != FOUND)
			return st;
	return FOUND;
}
/* Says once which disks DPS passed over for being removable or behind USB. */
static void log_ignored(const struct ctx *c)
{
	char names[256] = "";
	for (int k = 0, n = 0; k < c->ndisks; k++)
		if (c->disks[k].removable)
			n += snprintf(names + n, sizeof(names) - (size_t)n, "%s%s", n ? ", " : "", c->disks[k].node);
	if (names[0])
		log_info(c,
			 "DPS ignored %s: removable or behind USB, and there is no LoaderDevicePartUUID (root= "
			 "boots from such a disk)",
			 names);
}

/* Waits for devices until the root is found and settled (SETTLE_MS), or the timeout. */
static int wait_for_root(struct ctx *c, bool dps, char *why, size_t size)
{
	uint64_t deadline = c->cfg.timeout_sec ? now_ms() + 1000ULL * c->cfg.timeout_sec : UINT64_MAX;
	uint64_t last_event = 0;
	for (bool backlog = true;; backlog = false) {
		/* take in everything already announced so one pass sees all disks present, for a while at most:
		 * a storm of events must not keep the deadline from coming. The events from before discovery
		 * began count only when they made a disk driver load (it may still be finding disks). */
		uint64_t drain_until = now_ms() + DRAIN_MS;
		for (int u; c->uevent_fd >= 0 && now_ms() < drain_until;) {
			unsigned loaded = c->storage_loads;
			if ((u = uevent_wait(c->uevent_fd, 0, modules_uevent, c)) <= 0)
				break;
			if (!backlog || c->storage_loads != loaded)
				last_event = now_ms();
			if (u == UEVENT_LOST)
				modules_coldplug(c); /* events were dropped: coldplug again */
		}
		int st = try_resolve(c, dps, why, size);
		uint64_t now = now_ms();
		if (c->newest_disk_ms > last_event)
			last_event = c->newest_disk_ms;
		bool settled = now >= last_event + SETTLE_MS || c->uevent_fd < 0;
		if (st == FAILED || (st == FOUND && settled))
			return st == FOUND ? 0 : -ENODEV;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (c->uevent_fd < 0)
			return -EIO;
		uint64_t until = st == FOUND ? last_event + SETTLE_MS : deadline;
		int timeout = until == UINT64_MAX ? -1 : (int)(until - now);
		int u = uevent_wait(c->uevent_fd, timeout, modules_uevent, c);
		if (u > 0)
			last_event = now_ms();
		if (u == UEVENT_LOST)
			modules_coldplug(c);
		else if (u < 0) /* a broken socket: look again now and then rather than spin */
			poll(NULL, 0, timeout < 0 || timeout > RETRY_MS ? RETRY_MS : timeout);
	}
}

/* A verity partition beside a volume that has no trusted root hash protects nothing: say so once. */
static void log_unverified(struct ctx *c)
{
	for (int i = 0; i < VOLUME_MAX; i++) {
		const struct volume *v = &c->vol[i];
		struct part *p = NULL;
		for (int k = 0; k < c->ndisks && !p && v->device[0] && v->verity == VERITY_NONE; k++)
			p = dps_pick(&c->disks[k], DPS_VERITY_NATIVE[i]);
		if (p && !c->cfg.verity)
			log_info(c, "%s: the %s verity partition %s is not used: systemd.verity=0", v->device, v->name,
				 p->node);
		else if (p)
			log_info(c,
				 "%s: the %s verity partition %s is not used: no %s on the command line and no "
				 "signature partition give a root hash",
				 v->device, v->name, p->node, i == VOLUME_ROOT ? "roothash=" : "usrhash=");
	}
}

/* roothash= or usrhash= was given but is no root hash: why says which (a value too long to keep was reported
 * by stage_cmdline). */
static bool bad_root_hash(const struct ctx *c, char *why, size_t size)
{
	char text[VERITY_HEX_MAX * 4 + 1];
	if (c->cfg.verity_bad) {
		snprintf(why, size, "roothash= or usrhash= on the kernel command line could not be taken (see above)");
		return true;
	}
	for (int i = 0; i < VOLUME_MAX && c->cfg.verity; i++) {
		const char *given = i == VOLUME_ROOT ? c->cfg.roothash : c->cfg.usrhash;
		if (given[0] && !c->vol[i].roothash[0]) {
			snprintf(why, size,
				 "%s=%s on the kernel command line is not a root hash (64 to 128 hex digits)",
				 i == VOLUME_ROOT ? "roothash" : "usrhash", escape_text(given, "", text, sizeof(text)));
			return true;
		}
	}
	return false;
}

int stage_discover(struct ctx *c)
{
	char why[1024] = "root not found", msg[1200];
	volumes_init(c);
	bool dps = !c->vol[VOLUME_ROOT].spec[0];
	if (dps && !c->cfg.gpt_auto) {
		emergency_report(c, "no root= given and gpt-auto is disabled (systemd.gpt_auto=0)", NULL);
		return -ENODEV;
	}
	c->disks = calloc(MAX_DISKS, sizeof(*c->disks));
	if (!c->disks) {
		emergency_report(c, "out of memory for the disk table", NULL);
		return -ENOMEM;
	}
	if (bad_root_hash(c, msg, sizeof(msg))) {
		emergency_report(c, msg,
				 "give the hash as hex digits (64 for SHA-256), as systemd-repart --json prints it as "
				 "roothash; earlyroot does not boot unverified when a hash was asked for");
		return -EINVAL;
	}
	read_boot_partuuid(c);
	if (dps)
		log_info(c, "looking for the root partition by type (DPS) on %s",
			 c->boot_partuuid[0] ? "the boot disk" : "all fixed disks (no LoaderDevicePartUUID)");
	int r = wait_for_root(c, dps, why, sizeof(why));
	if (dps && !c->boot_partuuid[0])
		log_ignored(c);
	if (r == -ETIMEDOUT)
		snprintf(msg, sizeof(msg), "%s (waited %u s; rd.systemd.default_device_timeout_sec= sets the time)",
			 why, c->cfg.timeout_sec);
	else
		snprintf(msg, sizeof(msg), "%s", r == -EIO ? "cannot wait for devices: no uevent socket" : why);
	if (r < 0) {
		emergency_report(c, msg, NULL);
		return r;
	}
	for (int k = 0; k < c->ndisks; k++)
		if (c->disks[k].gpt_backup)
			log_warn(c, "%s: %s", c->disks[k].node, c->disks[k].note);
	const struct volume *root = &c->vol[VOLUME_ROOT], *usr = &c->vol[VOLUME_USR];
	log_unverified(c);
	log_info(c, "root is %s%s%s%s%s%s", root->device, root->verity ? " (verity)" : "",
		 usr->device[0] ? ", /usr is " : "", usr->device, usr->verity ? " (verity)" : "",
		 root->read_only ? " (read-only)" : "");
	return 0;
}
