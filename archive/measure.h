/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What measure.c predicts, for attest.c to check a machine's logs against. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/nettle-meta.h>

#define DIGEST_MAX 64
#define NBANKS	   4
#define EVENTS_MAX 64

/* The PCRs predicted: 4, 9, 11 and 15. */
enum { PCR4, PCR9, PCR11, PCR15, NPCRS };

/* sha1, sha256, sha384, sha512 */
extern const struct nettle_hash *const banks[NBANKS];

/* One predicted event: its PCR, what it is, its digest in each bank asked for. */
struct predicted {
	int p;
	bool image; /* an EFI application the firmware starts (PCR 4), not its own action or separator */
	char what[128];
	uint8_t digest[NBANKS][DIGEST_MAX];
};

/* The banks asked for and, for each PCR, its value in each; and every event, in order. */
struct state {
	const struct nettle_hash *h[NBANKS];
	size_t nb;
	bool json, show[NPCRS];
	const char *unknown[NPCRS]; /* why a PCR's value cannot be predicted, or NULL */
	uint8_t value[NPCRS][NBANKS][DIGEST_MAX];
	struct predicted ev[EVENTS_MAX];
	size_t nev;
};

/* d as n bytes in lowercase hex (2 * n + 1 bytes with the NUL) */
void hex_string(const uint8_t *d, size_t n, char *out);
/* value = H(value || d), one TPM extend in bank h */
void pcr_extend(const struct nettle_hash *h, uint8_t value[DIGEST_MAX], const uint8_t *d);

/*
 * Checks a machine against the prediction in st (its events up to leave-initrd): the firmware's
 * event log and the userspace CEL log (systemd's tpm2-measure.log) must replay to the PCR values
 * (tpm2_pcrread's output), and their boot-path events must be the predicted ones. Prints PASS or
 * FAIL and the first event that differs; returns 0 (PASS), 1 (FAIL) or 2 (could not check).
 */
int attest(const struct state *st, const char *eventlog, const char *cel, const char *pcrs);
