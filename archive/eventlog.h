/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading a TPM 2.0 firmware event log, the "crypto agile" format of the TCG PC Client Platform
 * Firmware Profile that the kernel exposes as /sys/kernel/security/tpm0/binary_bios_measurements
 * (docs/measurements.md): a first event in the old SHA-1 layout whose data is the Spec ID event
 * ("Spec ID Event03", with the digest sizes of the algorithms the log carries), then events of
 * the form
 *
 *   u32 PCR index, u32 event type, u32 digest count, count x (u16 algorithm, digest), u32 size, data
 *
 * all little-endian. Every length is checked against the buffer: a log is untrusted input. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define TCG_ALG_SHA1   0x0004
#define TCG_ALG_SHA256 0x000b
#define TCG_ALG_SHA384 0x000c
#define TCG_ALG_SHA512 0x000d

#define EV_NO_ACTION			 0x00000003
#define EV_SEPARATOR			 0x00000004
#define EV_EVENT_TAG			 0x00000006
#define EV_IPL				 0x0000000d
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003
#define EV_EFI_ACTION			 0x80000007

#define TCG_ALGS_MAX 8

/* The algorithms and digest sizes the Spec ID event declares. */
struct tcg_algs {
	size_t n;
	uint16_t id[TCG_ALGS_MAX];
	uint16_t size[TCG_ALGS_MAX];
};

struct tcg_event {
	uint32_t pcr, type;
	size_t n; /* digests, one per algorithm of the log */
	uint16_t alg[TCG_ALGS_MAX];
	const uint8_t *digest[TCG_ALGS_MAX];
	struct span data;
};

/* Reads the Spec ID event at the start of log: 0 and *off past it, or -1 with why in err. */
int tcg_log_start(struct span log, struct tcg_algs *algs, size_t *off, char *err, size_t errlen);

/* The event at *off: 1 and *off past it, 0 at the end of the log, -1 with why in err. */
int tcg_log_next(struct span log, const struct tcg_algs *algs, size_t *off, struct tcg_event *e, char *err,
		 size_t errlen);

/* The event's digest in algorithm alg, or NULL. */
const uint8_t *tcg_event_digest(const struct tcg_event *e, uint16_t alg);
