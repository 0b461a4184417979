/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Discoverable Partitions Specification: partition probing (libblkid) and root/usr selection. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <blkid/blkid.h>

#include "earlyroot.h"

enum role { ROLE_OTHER, ROLE_ROOT, ROLE_USR, ROLE_VERITY };

static const struct dps_type {
	const char *guid;
	const char *name;
	enum role role;
	bool native;
} dps_types[] = {
	{"4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "root-x86-64", ROLE_ROOT, true},
	{"8484680c-9521-48c6-9c11-b0720656f69e", "usr-x86-64", ROLE_USR, true},
	{"44479540-f297-41b2-9af7-d131d5f0458a", "root-x86", ROLE_ROOT, false},
	{"75250d76-8cc6-458e-bd66-bd47cc81a812", "usr-x86", ROLE_USR, false},
	{"b921b045-1df0-41c3-af44-4c6f280d3fae", "root-arm64", ROLE_ROOT, false},
	{"b0e01050-ee5f-4390-949a-9101b17104e9", "usr-arm64", ROLE_USR, false},
	{"69dad710-2ce4-4e3c-b16c-21a1d49abed3", "root-arm", ROLE_ROOT, false},
	{"72ec70a6-cf74-40e6-bd49-4bda08e8f224", "root-riscv64", ROLE_ROOT, false},
	{"2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "root-x86-64-verity", ROLE_VERITY, true},
	{"77ff5f63-e7b6-4633-acf4-1565b864c0e6", "usr-x86-64-verity", ROLE_VERITY, true},
	{"41092b05-9fc8-4523-994f-2def0408b176", "root-x86-64-verity-sig", ROLE_VERITY, true},
	{"e7bb33fb-06cf-4e81-8273-e543b413e2e2", "usr-x86-64-verity-sig", ROLE_VERITY, true},
	{"d13c5d3b-b5d1-422a-b29f-9454fdc89d76", "root-x86-verity", ROLE_VERITY, false},
	{"8f461b0d-14ee-4e81-9aa9-049b6fb97abd", "usr-x86-verity", ROLE_VERITY, false},
	{"df3300ce-d69f-4c92-978c-9bfb0f38d820", "root-arm64-verity", ROLE_VERITY, false},
	{"6e11a4e7-fbca-4ded-b9e9-e1a512bb664e", "usr-arm64-verity", ROLE_VERITY, false},
	{"5996fc05-109c-48de-808b-23fa0830b676", "root-x86-verity-sig", ROLE_VERITY, false},
	{"974a71c0-de41-43c3-be5d-5c5ccd1ad2c0", "usr-x86-verity-sig", ROLE_VERITY, false},
	{"6db69de6-29f4-4758-a7a5-962190f00ce3", "root-arm64-verity-sig", ROLE_VERITY, false},
	{"c23ce4ff-44bd-4b00-b2d4-b41b3419e02a", "usr-arm64-verity-sig", ROLE_VERITY, false},
	{"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "esp", ROLE_OTHER, false},
	{"bc13c2ff-59e6-4262-a352-b275fd6f7172", "xbootldr", ROLE_OTHER, false},
	{"0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "swap", ROLE_OTHER, false},
	{"933ac7e1-2eb4-4f13-b844-0e14e2aef915", "home", ROLE_OTHER, false},
	{"3b8f8425-20e0-4f3b-907f-1a25a76f98e8", "srv", ROLE_OTHER, false},
	{"4d21b016-b534-45c2-a9fb-5c16e091fd2d", "var", ROLE_OTHER, false},
	{"7ec6f557-3bc5-4aca-b293-16ef5df639d1", "tmp", ROLE_OTHER, false},
	{"0fc63daf-8483-4772-8e79-3d69d8477de4", "linux-generic", ROLE_OTHER, false},
};

const char DPS_ROOT_NATIVE[] = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
const char DPS_USR_NATIVE[] = "8484680c-9521-48c6-9c11-b0720656f69e";
const char *const DPS_VERITY_NATIVE[] = {
	[VOLUME_ROOT] = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", [VOLUME_USR] = "77ff5f63-e7b6-4633-acf4-1565b864c0e6"};
const char *const DPS_VERITY_SIG_NATIVE[] = {
	[VOLUME_ROOT] = "41092b05-9fc8-4523-994f-2def0408b176", [VOLUME_USR] = "e7bb33fb-06cf-4e81-8273-e543b413e2e2"};

static const struct dps_type *dps_lookup(const char *guid)
{
	for (size_t i = 0; i < ELEMENTSOF(dps_types); i++)
		if (strcasecmp(guid, dps_types[i].guid) == 0)
			return &dps_types[i];
	return NULL;
}

const char *dps_type_name(const char *guid)
{
	const struct dps_type *t = dps_lookup(guid);
	return t ? t->name : "unknown";
}

static void copy_lower(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = 0;
}

/* CRC-32 as the GPT uses it (IEEE 802.3, reflected) */
static uint32_t crc32_gpt(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffff;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320 & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint64_t le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Whether the GPT header at lba is intact: signature, its own LBA, header CRC (UEFI 2.10, 5.3.2). */
static bool gpt_header_valid(int fd, uint64_t lba, unsigned ss)
{
	uint8_t h[4096];
	if (ss < 512 || ss > sizeof(h) || pread(fd, h, ss, (off_t)(lba * ss)) != (ssize_t)ss)
		return false;
	uint32_t size = (uint32_t)le(h + 12, 4), crc = (uint32_t)le(h + 16, 4);
	if (memcmp(h, "EFI PART", 8) != 0 || size < 92 || size > ss || le(h + 24, 8) != lba)
		return false;
	memset(h + 16, 0, 4);
	return crc32_gpt(h, size) == crc;
}

/* An MBR whose entry of type 0xee says "this disk has a GPT" */
static bool protective_mbr(int fd)
{
	uint8_t mbr[512];
	if (pread(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr) || mbr[510] != 0x55 || mbr[511] != 0xaa)
		return false;
	for (int i = 0; i < 4; i++)
		if (mbr[446 + 16 * i + 4] == 0xee)
			return true;
	return false;
}

/* What the report says about a disk whose table is not an intact GPT, so that "no root" has a cause. */
static void table_note(int fd, unsigned ss, struct disk *d)
{
	if (strcmp(d->pttype, "gpt") == 0) {
		d->gpt_backup = !gpt_header_valid(fd, 1, ss);
		if (d->gpt_backup)
			snprintf(d->note, sizeof(d->note),
				 "the primary GPT header is damaged; the partitions come from the backup header at "
				 "the end of the disk: rewrite the table (gdisk DISK, then w) before the backup is "
				 "lost too");
	} else if (strcmp(d->pttype, "PMBR") == 0 || (!d->pttype[0] && protective_mbr(fd)))
		snprintf(d->note, sizeof(d->note),
			 "a protective MBR, but neither GPT header (primary or backup) is valid: the partition "
			 "table is damaged; restore it from a backup (sgdisk --load-backup=FILE) or rebuild it "
			 "(testdisk)");
	else if (strcmp(d->pttype, "dos") == 0)
		snprintf(d->note, sizeof(d->note),
			 "an MBR (dos) partition table: DPS partition types exist only in a GPT; convert it "
			 "(sgdisk --mbrtogpt) and give root the root-x86-64 type, or pass root=");
	/* a disk without a table gets its note from disk_contents_note(), for the report only: a file-system
	 * probe on every scan pass would cost the boot of every machine with such a data disk */
}

void disk_contents_note(struct disk *d, const char *path)
{
	struct fsinfo fi;
	if (d->pttype[0] || d->note[0])
		return;
	if (probe_fs(path, &fi) == 0 && fi.type[0])
		snprintf(d->note, sizeof(d->note),
			 "no partition table: the whole disk holds %.32s; root= naming the disk mounts it", fi.type);
	else
		snprintf(d->note, sizeof(d->note),
			 "no partition table and no file system libblkid knows: blank, or damaged beyond "
			 "recognition");
}

/* The table's own entries into d (a nested table, "dos" inside a partition, is not DPS). */
static void read_partitions(blkid_partlist ls, blkid_parttable tab, struct disk *d)
{
	int n = blkid_partlist_numof_partitions(ls);
	for (int i = 0; i < n && d->nparts < MAX_PARTS; i++) {
		blkid_partition par = blkid_partlist_get_partition(ls, i);
		if (blkid_partition_get_table(par) != tab)
			continue;
		struct part *p = &d->parts[d->nparts++];
		p->partno = blkid_partition_get_partno(par);
		const char *type = blkid_partition_get_type_string(par);
		if (type)
			copy_lower(p->type, sizeof(p->type), type);
		else /* MBR: a type byte */
			snprintf(p->type, sizeof(p->type), "0x%02x", blkid_partition_get_type(par) & 0xff);
		copy_lower(p->uuid, sizeof(p->uuid), blkid_partition_get_uuid(par));
		snprintf(p->label, sizeof(p->label), "%s", blkid_partition_get_name(par) ?: "");
		p->flags = blkid_partition_get_flags(par);
		p->start = (uint64_t)blkid_partition_get_start(par);
		p->size = (uint64_t)blkid_partition_get_size(par);
	}
}

/* Fills d from the partition table of the disk (or image file) at path; node names stay empty. */
int probe_disk(const char *path, struct disk *d)
{
	int r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	blkid_probe pr = blkid_new_probe();
	if (!pr) {
		close(fd);
		return -ENOMEM;
	}
	char node[sizeof(d->node)];
	snprintf(node, sizeof(node), "%s", path); /* path may be d->node itself */
	memset(d, 0, sizeof(*d));
	memcpy(d->node, node, sizeof(node));
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		r = -EIO;
		goto out;
	}
	d->size = (uint64_t)blkid_probe_get_size(pr);
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	/* no partition table is not an error: a disk without partitions */
	blkid_partlist ls = blkid_do_safeprobe(pr) == 0 ? blkid_probe_get_partitions(pr) : NULL;
	blkid_parttable tab = ls ? blkid_partlist_get_table(ls) : NULL;
	if (tab) {
		snprintf(d->pttype, sizeof(d->pttype), "%s", blkid_parttable_get_type(tab));
		read_partitions(ls, tab, d);
	}
	table_note(fd, blkid_probe_get_sectorsize(pr), d);
out:
	blkid_free_probe(pr);
	close(fd);
	return r;
}

static bool disk_has_partuuid(const struct disk *d, const char *uuid)
{
	for (int i = 0; i < d->nparts; i++)
		if (strcasecmp(d->parts[i].uuid, uuid) == 0)
			return true;
	return false;
}

/*
 * The partition of the native type on disk d that DPS boots: not flagged no-auto, not an unused A/B
 * slot (label "_empty"), and of the rest the one whose label holds the newest version (the A/B scheme
 * of systemd-sysupdate, as systemd picks it), the first on the disk among equals. Marks the others.
 */
struct part *dps_pick(struct disk *d, const char *type)
{
	static const char later[] = "another partition of the same type has a newer label, or the same and comes first";
	struct part *chosen = NULL;
	for (int i = 0; i < d->nparts; i++) {
		struct part *p = &d->parts[i];
		if (strcmp(p->type, type) != 0)
			continue;
		if (p->flags & GPT_FLAG_NO_AUTO)
			p->rejected = "flagged no-auto (GPT attribute 63)";
		else if (strcmp(p->label, "_empty") == 0)
			p->rejected = "labelled _empty (an unused A/B slot)";
		else if (chosen && strverscmp(p->label, chosen->label) <= 0)
			p->rejected = later;
		else {
			if (chosen)
				chosen->rejected = later;
			chosen = p;
		}
	}
	return chosen;
}

static void mark_others(struct disk *disks, int ndisks, const struct disk *boot)
{
	for (int k = 0; k < ndisks; k++)
		for (int i = 0; i < disks[k].nparts; i++) {
			struct part *p = &disks[k].parts[i];
			const struct dps_type *t = dps_lookup(p->type);
			if (p->rejected || !t || t->role == ROLE_OTHER)
				continue;
			if (!t->native)
				p->rejected = "type of another architecture";
			else if (boot && &disks[k] != boot)
				p->rejected = "not on the boot disk (LoaderDevicePartUUID)";
		}
}

/* With the boot disk hint: the one disk that carries the boot partition's PARTUUID. A second disk with it
 * is a clone (a stick someone plugged in), and which one the firmware read is unknowable: an error. */
static int find_boot_disk(struct disk *disks, int ndisks, const char *partuuid, struct dps_result *res,
			  struct disk **boot)
{
	*boot = NULL;
	for (int k = 0; k < ndisks; k++) {
		if (!disk_has_partuuid(&disks[k], partuuid))
			continue;
		if (*boot) {
			snprintf(res->error, sizeof(res->error),
				 "the boot partition's PARTUUID %s (LoaderDevicePartUUID) is on two disks, %s and %s: "
				 "one "
				 "is a copy; remove the disk that is not this machine's",
				 partuuid, (*boot)->node, disks[k].node);
			res->final = true;
			return -ENOTUNIQ;
		}
		*boot = &disks[k];
	}
	if (!*boot) {
		snprintf(res->error, sizeof(res->error), "the boot disk (LoaderDevicePartUUID) was not found");
		return -ENOENT;
	}
	return 0;
}

/* Without the hint, a root on removable media or behind USB is never taken: report the first. */
static void ignored_root(struct disk *disks, int ndisks, struct dps_result *res)
{
	for (int k = 0; k < ndisks; k++) {
		struct part *root = disks[k].removable ? dps_pick(&disks[k], DPS_ROOT_NATIVE) : NULL;
		if (!root)
			continue;
		root->rejected = "on a removable or USB disk, which never provides root without LoaderDevicePartUUID";
		snprintf(res->error, sizeof(res->error),
			 "no usable root-x86-64 partition on any fixed disk; the one on %s is ignored: it is removable "
			 "or behind USB (pass root= to boot from it)",
			 disks[k].node);
		return;
	}
}

struct dps_result dps_select(struct disk *disks, int ndisks, const char *boot_partuuid)
{
	struct dps_result res = {0};
	struct disk *boot = NULL;
	if (boot_partuuid && *boot_partuuid && find_boot_disk(disks, ndisks, boot_partuuid, &res, &boot) < 0)
		return res;
	mark_others(disks, ndisks, boot);

	int found = 0;
	for (int k = 0; k < ndisks; k++) {
		if ((boot && &disks[k] != boot) || (!boot && disks[k].removable))
			continue;
		struct part *root = dps_pick(&disks[k], DPS_ROOT_NATIVE);
		if (!root)
			continue;
		if (found++ == 0) {
			res.root = root;
			res.root_disk = &disks[k];
		} else {
			root->rejected = "several disks hold a root partition";
		}
	}
	if (found == 0) {
		snprintf(res.error, sizeof(res.error), "no usable root-x86-64 partition on %s",
			 boot ? "the boot disk" : "any disk");
		if (!boot)
			ignored_root(disks, ndisks, &res);
		return res;
	}
	if (found > 1) {
		res.root->rejected = "several disks hold a root partition";
		res.root = NULL;
		res.root_disk = NULL;
		snprintf(res.error, sizeof(res.error),
			 "root partitions on several disks and no boot-disk hint (LoaderDevicePartUUID); pass root= "
			 "or keep one root partition");
		res.final = true;
		return res;
	}
	res.usr = dps_pick(res.root_disk, DPS_USR_NATIVE);
	return res;
}

struct part *dps_find_partuuid(struct disk *disks, int ndisks, const char *uuid, struct disk **disk)
{
	for (int k = 0; k < ndisks; k++)
		for (int i = 0; i < disks[k].nparts; i++)
			if (strcasecmp(disks[k].parts[i].uuid, uuid) == 0) {
				*disk = &disks[k];
				return &disks[k].parts[i];
			}
	return NULL;
}

/* File system (or LUKS) signature on a partition: type, UUID and label, "" when absent. */
int probe_fs(const char *node, struct fsinfo *fi)
{
	const char *v;
	memset(fi, 0, sizeof(*fi));
	blkid_probe pr = blkid_new_probe_from_filename(node);
	if (!pr)
		return -errno ?: -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL);
	blkid_probe_enable_partitions(pr, 0);
	int r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
			snprintf(fi->type, sizeof(fi->type), "%s", v);
		if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
			snprintf(fi->uuid, sizeof(fi->uuid), "%s", v);
		if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
			snprintf(fi->label, sizeof(fi->label), "%s", v);
	}
	blkid_free_probe(pr);
	return r < 0 ? -EIO : 0;
}
