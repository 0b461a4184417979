/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* eventlog.h's reader. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eventlog.h"

/* the first event: u32 PCR, u32 type, a 20-byte SHA-1 digest, u32 size, then the Spec ID event */
#define FIRST_HEADER   32
#define SPEC_SIGNATURE "Spec ID Event03"
#define SPEC_ALGS_AT   28

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int tcg_log_start(struct span log, struct tcg_algs *algs, size_t *off, char *err, size_t errlen)
{
	uint32_t pcr, type, size, n;
	if (!le32(log, 0, &pcr) || !le32(log, 4, &type) || !le32(log, 28, &size))
		return fail(err, errlen, "shorter than its first event (%zu bytes)", log.len);
	if (type != EV_NO_ACTION || size > log.len - FIRST_HEADER || size < SPEC_ALGS_AT + 1)
		return fail(err, errlen, "the first event is no Spec ID event (type 0x%x, %u bytes)", type, size);
	struct span spec = {log.p + FIRST_HEADER, size};
	if (memcmp(spec.p, SPEC_SIGNATURE, sizeof(SPEC_SIGNATURE)) != 0)
		return fail(err, errlen, "not a crypto agile log (no \"%s\" signature): a SHA-1 only log",
			    SPEC_SIGNATURE);
	if (!le32(spec, 24, &n) || n == 0 || n > TCG_ALGS_MAX || (spec.len - SPEC_ALGS_AT) / 4 < n)
		return fail(err, errlen, "the Spec ID event declares %u algorithms", n);
	algs->n = n;
	for (size_t i = 0; i < n; i++) {
		le16(spec, SPEC_ALGS_AT + 4 * i, &algs->id[i]);
		le16(spec, SPEC_ALGS_AT + 4 * i + 2, &algs->size[i]);
		if (algs->size[i] == 0 || algs->size[i] > 64)
			return fail(err, errlen, "algorithm 0x%04x with a %u-byte digest", algs->id[i], algs->size[i]);
	}
	*off = FIRST_HEADER + size;
	return 0;
}

int tcg_log_next(struct span log, const struct tcg_algs *algs, size_t *off, struct tcg_event *e, char *err,
		 size_t errlen)
{
	size_t at = *off;
	uint32_t count, size;
	if (at >= log.len)
		return 0;
	if (!le32(log, at, &e->pcr) || !le32(log, at + 4, &e->type) || !le32(log, at + 8, &count))
		return fail(err, errlen, "event at offset %zu: cut short", at);
	if (count > algs->n)
		return fail(err, errlen, "event at offset %zu: %u digests, the log has %zu algorithms", at, count,
			    algs->n);
	at += 12;
	e->n = count;
	for (size_t i = 0; i < count; i++) {
		uint16_t alg;
		size_t k = 0;
		if (!le16(log, at, &alg))
			return fail(err, errlen, "event at offset %zu: cut short in its digests", *off);
		while (k < algs->n && algs->id[k] != alg)
			k++;
		if (k == algs->n)
			return fail(err, errlen, "event at offset %zu: algorithm 0x%04x, which the Spec ID event lacks",
				    *off, alg);
		at += 2;
		if (log.len - at < algs->size[k])
			return fail(err, errlen, "event at offset %zu: cut short in its digests", *off);
		e->alg[i] = alg;
		e->digest[i] = log.p + at;
		at += algs->size[k];
	}
	if (!le32(log, at, &size) || size > log.len - at - 4)
		return fail(err, errlen, "event at offset %zu: its data runs past the log's end", *off);
	e->data = (struct span){log.p + at + 4, size};
	*off = at + 4 + size;
	return 1;
}

const uint8_t *tcg_event_digest(const struct tcg_event *e, uint16_t alg)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->alg[i] == alg)
			return e->digest[i];
	return NULL;
}
