/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Measurements into the TPM: the boot phase words into PCR 11, in the banks systemd chooses. */
#include <stdio.h>
#include <string.h>

#include "earlyroot.h"
#include "tpm2/client.h"

#define PHASE_PCR 11

int tpm2_measure_with(struct ctx *c, struct tpm2 *t, const char *word)
{
	uint8_t pcrs[TPM2_PCRS][TPM2_DIGEST_MAX], digests[TPM2_MAX_BANKS][TPM2_DIGEST_MAX];
	uint16_t all[TPM2_MAX_BANKS], good[TPM2_MAX_BANKS];
	unsigned nall = 0, ngood = 0;
	struct tpm2_banks banks;
	char rc[96], names[64] = "";
	int r = tpm2_get_banks(t, &banks);

	/* systemd's tpm2_get_good_pcr_banks: complete banks whose PCR 11 is set, else all complete banks */
	for (unsigned i = 0; r == 0 && i < banks.n; i++) {
		uint16_t alg = banks.b[i].alg;
		size_t size = tpm2_hash_size(alg);
		if (!size || !tpm2_bank_complete(banks.b[i].mask))
			continue;
		all[nall++] = alg;
		r = tpm2_pcr_read(t, alg, 1u << PHASE_PCR, pcrs);
		if (r == 0 && tpm2_pcr_extended(pcrs[PHASE_PCR], size))
			good[ngood++] = alg;
	}
	const uint16_t *use = ngood ? good : all;
	unsigned n = ngood ? ngood : nall;
	for (unsigned i = 0; r == 0 && i < n; i++) {
		tpm2_hash(use[i], word, strlen(word), digests[i]);
		size_t len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", tpm2_hash_name(use[i]));
	}
	if (r == 0 && n == 0)
		return log_error(c, "cannot measure \"%s\": the TPM has no complete PCR bank earlyroot knows", word),
		       -EOPNOTSUPP;
	if (r == 0)
		r = tpm2_pcr_extend(t, PHASE_PCR, use, (const uint8_t(*)[TPM2_DIGEST_MAX])digests, n);
	if (r != 0)
		return log_error(c, "cannot measure \"%s\" into PCR %d: TPM2_%s failed: %s", word, PHASE_PCR,
				 tpm2_cc_name(t->last_cc),
				 r < 0 ? strerror(-r) : tpm2_rc_text((uint32_t)r, rc, sizeof(rc))),
		       r < 0 ? r : -EIO;
	log_info(c, "measured \"%s\" into PCR %d (%s)", word, PHASE_PCR, names);
	return 0;
}

int tpm2_measure_phase(struct ctx *c, const char *word)
{
	/* Deviation from systemd, which extends PCR 11 only when booted from a measured UKI
	 * (StubPcrKernelImage=11): earlyroot extends whenever a TPM2 is present. Its promise is that a secret
	 * sealed to the initrd phase (PCR 11 after "enter-initrd") cannot be unsealed after switch_root, and
	 * that holds only if "leave-initrd" is extended on every boot, UKI or not. */
	struct tpm2 t;
	int r = tpm2_open(&t, TPM2_DEVICE);
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		return 0; /* no TPM: nothing to measure into */
	if (r < 0)
		return log_error(c, "cannot measure \"%s\": cannot open %s: %s", word, TPM2_DEVICE, strerror(-r)), r;
	r = tpm2_measure_with(c, &t, word);
	tpm2_close(&t);
	return r;
}

void stage_enter_initrd(struct ctx *c)
{
	/* before any unlock, as systemd-pcrphase does, so signed policies for this phase match */
	tpm2_measure_phase(c, "enter-initrd");
}

int stage_leave_initrd(struct ctx *c)
{
	/* from here on, secrets sealed to the initrd phase cannot be unsealed again; a root unlocked by
	 * the TPM does not start while they still could be */
	bool unsealed = false;
	for (int i = 0; i < VOLUME_MAX; i++)
		unsealed |= c->vol[i].unlocked == UNLOCK_TPM2;
	if (tpm2_measure_phase(c, "leave-initrd") == 0 || !unsealed)
		return 0;
	emergency_report(c, "the end of the initrd phase could not be measured into the TPM",
			 "the TPM failed (see above), and the real root could still unseal the volume key; "
			 "reboot, and if this persists, check the TPM in the firmware setup");
	return -EIO;
}
