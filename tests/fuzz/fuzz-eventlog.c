/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the TPM 2.0 firmware event log reader of measure --attest (archive/eventlog.c). A
 * verifier is handed the log of a machine it does not trust: every event it yields must lie within the
 * buffer, and every step must move forward. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span log = {data, size};
	struct tcg_algs algs;
	struct tcg_event e;
	char err[160];
	size_t off;
	if (tcg_log_start(log, &algs, &off, err, sizeof(err)) < 0)
		return 0;
	assert(off <= size && algs.n > 0 && algs.n <= TCG_ALGS_MAX);
	for (;;) {
		size_t before = off;
		int r = tcg_log_next(log, &algs, &off, &e, err, sizeof(err));
		if (r <= 0)
			break;
		assert(off > before && off <= size);
		assert(e.n <= algs.n);
		for (size_t i = 0; i < e.n; i++) {
			assert(e.digest[i] >= data && e.digest[i] < data + size);
			assert(tcg_event_digest(&e, e.alg[i]) != NULL);
		}
		assert(e.data.p >= data && e.data.len <= size - (size_t)(e.data.p - data));
	}
	return 0;
}
