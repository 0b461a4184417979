/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DPS selection on GPT images made by sfdisk in plain files (libblkid probes files directly). */
#include <stdlib.h>
#include <sys/wait.h>

#include "earlyroot.h"
#include "test.h"

#define ROOT	   "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
#define USR	   "8484680C-9521-48C6-9C11-B0720656F69E"
#define ROOT_ARM64 "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
#define ESP	   "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define LINUX	   "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

static char tmpdir[] = "/tmp/test-dps-XXXXXX";

/* Writes a 64 MiB image and partitions it with sfdisk; script lines are sfdisk's own syntax. */
static void make_disk(struct disk *d, const char *name, const char *script)
{
	char path[256], cmd[2048];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snprintf(cmd, sizeof(cmd),
		 "truncate -s 64M '%s' && printf 'label: gpt\\n%s' | sfdisk --quiet --no-reread --no-tell-kernel '%s'",
		 path, script, path);
	int st = system(cmd);
	if (st != 0) {
		fprintf(stderr, "sfdisk failed (%d) for:\n%s\n", st, script);
		exit(2); /* a missing tool is a failure, never a skip */
	}
	CHECK(probe_disk(path, d) == 0);
}

static void test_one_root(struct disk *d)
{
	make_disk(&d[0], "one",
		  "size=4M, type=" ESP "\n"
		  "size=8M, type=" ROOT ", name=\"root\", uuid=11111111-2222-3333-4444-555555555555\n");
	CHECK(d[0].nparts == 2);
	CHECK_STR(d[0].pttype, "gpt");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(r.root && r.root->partno == 2);
	CHECK(r.root && strcmp(r.root->uuid, "11111111-2222-3333-4444-555555555555") == 0);
	CHECK(r.root && strcmp(r.root->label, "root") == 0);
	CHECK(r.root && r.root->flags == 0);
	CHECK(!r.usr);
	CHECK(!r.error[0]);
}

static void test_no_auto(struct disk *d)
{
	make_disk(&d[0], "noauto", "size=8M, type=" ROOT ", attrs=\"GUID:63\"\n");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(!r.root);
	CHECK(strstr(r.error, "no usable root"));
	CHECK(d[0].parts[0].rejected && strstr(d[0].parts[0].rejected, "no-auto"));

	/* a no-auto root is skipped for the next one */
	make_disk(&d[0], "noauto2", "size=8M, type=" ROOT ", attrs=\"GUID:63\"\nsize=8M, type=" ROOT "\n");
	r = dps_select(d, 1, "");
	CHECK(r.root && r.root->partno == 2);
	CHECK(d[0].parts[0].rejected);
}

static void test_read_only(struct disk *d)
{
	make_disk(&d[0], "ro", "size=8M, type=" ROOT ", attrs=\"GUID:60\"\n");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(r.root && (r.root->flags & GPT_FLAG_READ_ONLY));
	CHECK(r.root && !(r.root->flags & GPT_FLAG_NO_AUTO));
}

static void test_two_roots_one_disk(struct disk *d)
{
	/* equal labels: the first on the disk */
	make_disk(&d[0], "two", "size=8M, type=" ROOT ", name=\"a\"\nsize=8M, type=" ROOT ", name=\"a\"\n");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(r.root && r.root->partno == 1);
	CHECK(d[0].parts[1].rejected && strstr(d[0].parts[1].rejected, "same type"));

	/* A/B: the newest version in the label wins, wherever it is on the disk */
	make_disk(&d[0], "ab",
		  "size=8M, type=" ROOT ", name=\"rootfs_9\"\nsize=8M, type=" ROOT ", name=\"rootfs_10\"\n"
		  "size=8M, type=" ROOT ", name=\"rootfs_2\"\n");
	r = dps_select(d, 1, "");
	CHECK(r.root && strcmp(r.root->label, "rootfs_10") == 0);
	CHECK(d[0].parts[0].rejected && d[0].parts[2].rejected);

	/* an unused slot is never booted, even as the only other candidate */
	make_disk(&d[0], "empty-slot",
		  "size=8M, type=" ROOT ", name=\"_empty\"\nsize=8M, type=" ROOT ", name=\"r1\"\n");
	r = dps_select(d, 1, "");
	CHECK(r.root && r.root->partno == 2);
	CHECK(d[0].parts[0].rejected && strstr(d[0].parts[0].rejected, "_empty"));
	make_disk(&d[0], "only-empty", "size=8M, type=" ROOT ", name=\"_empty\"\n");
	r = dps_select(d, 1, "");
	CHECK(!r.root && r.error[0]);
}

/* A disk with an ESP and a root partition, of these PARTUUIDs. */
static void make_esp_root(struct disk *d, const char *name, const char *esp, const char *root)
{
	char script[512];
	snprintf(script, sizeof(script), "size=4M, type=" ESP ", uuid=%s\nsize=8M, type=" ROOT ", uuid=%s\n", esp,
		 root);
	make_disk(d, name, script);
}

static void test_two_disks(struct disk *d)
{
	make_esp_root(&d[0], "disk1", "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002");
	make_esp_root(&d[1], "disk2", "bbbbbbbb-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002");
	/* no hint: two candidates is an error listing both */
	struct dps_result r = dps_select(d, 2, "");
	CHECK(!r.root);
	CHECK(strstr(r.error, "several disks"));
	CHECK(d[0].parts[1].rejected && d[1].parts[1].rejected);

	/* the boot disk hint picks the second disk; upper case as firmware writes it */
	CHECK(probe_disk(d[0].node, &d[0]) == 0 && probe_disk(d[1].node, &d[1]) == 0);
	r = dps_select(d, 2, "BBBBBBBB-0000-0000-0000-000000000001");
	CHECK(r.root_disk == &d[1]);
	CHECK(r.root && strcmp(r.root->uuid, "bbbbbbbb-0000-0000-0000-000000000002") == 0);
	CHECK(d[0].parts[1].rejected && strstr(d[0].parts[1].rejected, "boot disk"));

	/* a hint naming no disk present is an error, not a guess */
	CHECK(probe_disk(d[0].node, &d[0]) == 0 && probe_disk(d[1].node, &d[1]) == 0);
	r = dps_select(d, 2, "cccccccc-0000-0000-0000-000000000001");
	CHECK(!r.root && strstr(r.error, "boot disk"));

	/* only one disk has a root: taken without a hint */
	make_disk(&d[0], "disk1b", "size=8M, type=" LINUX "\n");
	CHECK(probe_disk(d[1].node, &d[1]) == 0);
	r = dps_select(d, 2, "");
	CHECK(r.root_disk == &d[1]);
}

/* The attacker's disks: a stick with a root beside the real disk, a clone of the boot disk's PARTUUID. */
static void test_untrusted_disks(struct disk *d)
{
	make_esp_root(&d[0], "fixed", "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002");
	/* the stick clones the fixed disk's ESP PARTUUID */
	make_esp_root(&d[1], "stick", "aaaaaaaa-0000-0000-0000-000000000001", "cccccccc-0000-0000-0000-000000000002");
	d[1].removable = true;
	/* no hint: the removable disk is no candidate, the fixed one boots */
	struct dps_result r = dps_select(d, 2, "");
	CHECK(r.root_disk == &d[0] && !r.error[0]);
	/* the stick alone: no root, and the message names the stick it ignored */
	r = dps_select(d + 1, 1, "");
	CHECK(!r.root && !r.final && strstr(r.error, "stick") && strstr(r.error, "removable"));
	CHECK(d[1].parts[1].rejected && strstr(d[1].parts[1].rejected, "removable"));
	/* with the hint: a PARTUUID on two disks names both and cannot be mended by waiting */
	CHECK(probe_disk(d[0].node, &d[0]) == 0 && probe_disk(d[1].node, &d[1]) == 0);
	r = dps_select(d, 2, "aaaaaaaa-0000-0000-0000-000000000001");
	CHECK(!r.root && r.final && strstr(r.error, "fixed") && strstr(r.error, "stick"));
	/* a boot disk behind USB is fine when the firmware says it booted from it */
	d[1].removable = true;
	r = dps_select(d + 1, 1, "aaaaaaaa-0000-0000-0000-000000000001");
	CHECK(r.root && r.root_disk == &d[1]);
}

static void test_wrong_arch(struct disk *d)
{
	make_disk(&d[0], "arm", "size=8M, type=" ROOT_ARM64 "\nsize=8M, type=" LINUX "\n");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(!r.root);
	CHECK(d[0].parts[0].rejected && strstr(d[0].parts[0].rejected, "architecture"));
	CHECK_STR(dps_type_name(d[0].parts[0].type), "root-arm64");
	CHECK(!d[0].parts[1].rejected);
}

static void test_usr(struct disk *d)
{
	make_disk(&d[0], "usr",
		  "size=8M, type=" USR ", name=\"usr\", attrs=\"GUID:60\"\n"
		  "size=8M, type=" ROOT ", name=\"root\"\n");
	struct dps_result r = dps_select(d, 1, "");
	CHECK(r.root && r.root->partno == 2);
	CHECK(r.usr && r.usr->partno == 1);
	CHECK(r.usr && (r.usr->flags & GPT_FLAG_READ_ONLY));

	/* /usr on another disk than root is not taken */
	make_disk(&d[0], "usr-only", "size=8M, type=" USR "\n");
	make_disk(&d[1], "root-only", "size=8M, type=" ROOT "\n");
	r = dps_select(d, 2, "");
	CHECK(r.root_disk == &d[1] && !r.usr);
}

static void test_not_gpt(struct disk *d)
{
	char path[256], cmd[1024];
	snprintf(path, sizeof(path), "%s/dos", tmpdir);
	snprintf(cmd, sizeof(cmd), "truncate -s 16M %s && echo 'type=83' | sfdisk --quiet %s", path, path);
	CHECK(system(cmd) == 0);
	CHECK(probe_disk(path, &d[0]) == 0);
	CHECK_STR(d[0].pttype, "dos");
	CHECK(d[0].nparts == 1 && strcmp(d[0].parts[0].type, "0x83") == 0);
	CHECK(strstr(d[0].note, "an MBR (dos) partition table"));
	struct dps_result r = dps_select(d, 1, "");
	CHECK(!r.root);
	CHECK(probe_disk("/nonexistent", &d[0]) < 0);

	/* no table: a file system on the whole disk, or nothing at all */
	snprintf(cmd, sizeof(cmd), "truncate -s 16M %s/whole && mkfs.ext4 -q %s/whole", tmpdir, tmpdir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/whole", tmpdir);
	CHECK(probe_disk(path, &d[0]) == 0 && !d[0].pttype[0] && d[0].nparts == 0 && !d[0].note[0]);
	disk_contents_note(&d[0], path);
	CHECK(strstr(d[0].note, "the whole disk holds ext4"));
	snprintf(cmd, sizeof(cmd), "truncate -s 16M %s/blank", tmpdir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/blank", tmpdir);
	CHECK(probe_disk(path, &d[0]) == 0);
	disk_contents_note(&d[0], path);
	CHECK(strstr(d[0].note, "no partition table and no file system"));
}

/* Zeros one 512-byte sector of an image */
static void zero_sector(const char *name, const char *seek)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of='%s/%s' bs=512 count=1 seek=%s conv=notrunc status=none", tmpdir,
		 name, seek);
	CHECK(system(cmd) == 0);
}

static void test_damaged_gpt(struct disk *d)
{
	char path[256];
	make_disk(&d[0], "damaged", "size=8M, type=" ROOT "\n");
	CHECK(!d[0].gpt_backup && !d[0].note[0]);
	/* the primary header gone: libblkid takes the backup, and the disk says so */
	zero_sector("damaged", "1");
	snprintf(path, sizeof(path), "%s/damaged", tmpdir);
	CHECK(probe_disk(path, &d[0]) == 0);
	CHECK_STR(d[0].pttype, "gpt");
	CHECK(d[0].nparts == 1 && d[0].gpt_backup && strstr(d[0].note, "the primary GPT header is damaged"));
	struct dps_result r = dps_select(d, 1, "");
	CHECK(r.root);
	/* the backup too (the last sector of 64 MiB): only the protective MBR is left */
	zero_sector("damaged", "131071");
	CHECK(probe_disk(path, &d[0]) == 0 && d[0].nparts == 0 && !d[0].gpt_backup);
	CHECK(strstr(d[0].note, "a protective MBR, but neither GPT header"));
}

int main(void)
{
	struct disk *d = calloc(2, sizeof(*d));
	if (!mkdtemp(tmpdir) || !d)
		return 2;
	test_one_root(d);
	test_no_auto(d);
	test_read_only(d);
	test_two_roots_one_disk(d);
	test_two_disks(d);
	test_untrusted_disks(d);
	test_wrong_arch(d);
	test_usr(d);
	test_not_gpt(d);
	test_damaged_gpt(d);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(d);
	TEST_DONE();
}
