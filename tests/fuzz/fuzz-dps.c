/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: DPS selection over partition tables made from the input (a disk's GPT is written by
 * whoever had the disk), with the rules that must hold whatever the tables say. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "earlyroot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DISKS 4

/* a few types and UUIDs, so that inputs often share them (clones, several roots) */
static const char *const types[] = {
	"4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "8484680c-9521-48c6-9c11-b0720656f69e",
	"44479540-f297-41b2-9af7-d131d5f0458a", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
	"0fc63daf-8483-4772-8e79-3d69d8477de4", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
};
static const char *const labels[] = {"", "_empty", "root", "root-1.2", "root-1.10", "root-1.10~rc1", "usr-2"};

struct input {
	const uint8_t *p;
	size_t n;
};
static uint8_t byte(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static void make_part(struct input *in, struct disk *d, int i)
{
	struct part *p = &d->parts[i];
	memset(p, 0, sizeof(*p));
	snprintf(p->node, sizeof(p->node), "%sp%d", d->node, i + 1);
	p->partno = i + 1;
	snprintf(p->type, sizeof(p->type), "%s", types[byte(in) % ELEMENTSOF(types)]);
	snprintf(p->uuid, sizeof(p->uuid), "00000000-0000-4000-8000-0000000000%02x", byte(in) % 8);
	uint8_t l = byte(in);
	if (l < 0xf0)
		snprintf(p->label, sizeof(p->label), "%s", labels[l % ELEMENTSOF(labels)]);
	else /* raw label bytes */
		for (size_t k = 0; k < 8 && in->n; k++)
			p->label[k] = (char)(byte(in) | 1);
	uint8_t f = byte(in);
	p->flags = (uint64_t)(f & 0xf) << 60 | (f & 0x10 ? 1 : 0);
	p->start = 2048 * (uint64_t)(i + 1);
	p->size = 2048;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct disk disks[FUZZ_DISKS];
	struct input in = {data, size};
	int ndisks = 1 + byte(&in) % FUZZ_DISKS;
	for (int k = 0; k < ndisks; k++) {
		struct disk *d = &disks[k];
		memset(d, 0, sizeof(*d));
		snprintf(d->node, sizeof(d->node), "/dev/vd%c", 'a' + k);
		snprintf(d->pttype, sizeof(d->pttype), "gpt");
		uint8_t b = byte(&in);
		d->removable = b & 1;
		d->nparts = (b >> 1) % 9;
		for (int i = 0; i < d->nparts; i++)
			make_part(&in, d, i);
	}
	char hint[GUID_LEN + 1] = "";
	uint8_t h = byte(&in);
	if (h & 1)
		snprintf(hint, sizeof(hint), "00000000-0000-4000-8000-0000000000%02x", (h >> 1) % 8);

	struct dps_result r = dps_select(disks, ndisks, hint);
	if (!r.root) {
		assert(r.error[0] && !r.usr);
		return 0;
	}
	/* a root is a native root partition, not flagged no-auto, on a fixed disk or the boot disk, and only
	 * one disk holds one; /usr comes from the same disk */
	assert(!r.error[0] && r.root_disk && !r.root->rejected);
	assert(strcmp(r.root->type, DPS_ROOT_NATIVE) == 0 && !(r.root->flags & GPT_FLAG_NO_AUTO));
	assert(r.root >= r.root_disk->parts && r.root < r.root_disk->parts + r.root_disk->nparts);
	assert(hint[0] || !r.root_disk->removable);
	for (int k = 0; k < ndisks; k++)
		for (int i = 0; i < disks[k].nparts; i++) {
			const struct part *p = &disks[k].parts[i];
			if (p != r.root && strcmp(p->type, DPS_ROOT_NATIVE) == 0 && !(p->flags & GPT_FLAG_NO_AUTO) &&
			    strcmp(p->label, "_empty") != 0 && &disks[k] != r.root_disk &&
			    (hint[0] || !disks[k].removable))
				assert(p->rejected); /* a second candidate never goes unnoticed */
		}
	if (r.usr) {
		assert(r.usr >= r.root_disk->parts && r.usr < r.root_disk->parts + r.root_disk->nparts);
		assert(strcmp(r.usr->type, DPS_USR_NATIVE) == 0 && !(r.usr->flags & GPT_FLAG_NO_AUTO));
	}
	return 0;
}
