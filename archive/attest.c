/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * measure --attest: checks one machine against the prediction (docs/measurements.md).
 *
 *  1. The logs are true: replaying the firmware's event log and then the userspace CEL log gives, in
 *     every bank the PCR file lists, exactly the PCR values the TPM reported.
 *  2. The boot path is the predicted one: PCR 4's EFI applications (not the firmware's own actions),
 *     every PCR 9 event and every PCR 11 event up to leave-initrd are, in order, the predicted
 *     events. After those, PCR 11 may only hold the real root's own phase words (CEL "phase" events,
 *     such as systemd's sysinit and ready).
 * The first event that differs is named: its PCR, its place, what was expected and what was found.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "eventlog.h"
#include "image.h"
#include "macro.h"
#include "measure.h"

#define PCRS	     24
#define CEL_MAX	     256
#define OBSERVED_MAX 256

static const uint16_t tcg_alg[NBANKS] = {TCG_ALG_SHA1, TCG_ALG_SHA256, TCG_ALG_SHA384, TCG_ALG_SHA512};

/* The PCR values a machine reported, per bank of banks[]. */
struct pcr_values {
	bool have[NBANKS][PCRS];
	uint8_t v[NBANKS][PCRS][DIGEST_MAX];
};

/* One CEL record: its PCR, its digests per bank of banks[], its event type and text. */
struct cel_record {
	int pcr;
	bool have[NBANKS];
	uint8_t digest[NBANKS][DIGEST_MAX];
	char type[32], text[128];
};

/* An event of the machine's, from either log, as attest compares them. */
struct observed {
	int pcr;
	const char *from; /* "event log" or "CEL log" */
	size_t index;	  /* its place in that log, from 1 */
	uint32_t type;	  /* the event log's type; 0 for a CEL record */
	const uint8_t *digest[NBANKS];
	const struct cel_record *cel;
};

static int bank_of_name(const char *name)
{
	for (int b = 0; b < NBANKS; b++)
		if (strcmp(banks[b]->name, name) == 0)
			return b;
	return -1;
}

static int unhex(const char *s, size_t n, uint8_t *out)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* tpm2_pcrread's output: a "  sha256:" line per bank, then "    4 : 0x…" lines. */
static int read_pcrs(const char *path, struct pcr_values *pv)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];
	int bank = -1, n = 0;
	if (!f) {
		fprintf(stderr, "attest: cannot read %s: %m\n", path);
		return -1;
	}
	for (unsigned ln = 1; fgets(line, sizeof(line), f); ln++) {
		char name[16], value[160];
		unsigned idx;
		if (sscanf(line, " %15[a-z0-9] :%1s", name, value) == 1 && strchr(line, ':') &&
		    strspn(strchr(line, ':') + 1, " \t\r\n") == strlen(strchr(line, ':') + 1)) {
			bank = bank_of_name(name);
			continue;
		}
		if (sscanf(line, " %u : 0x%159s", &idx, value) == 2) {
			if (bank < 0)
				continue; /* a bank this does not know */
			if (idx >= PCRS || unhex(value, banks[bank]->digest_size, pv->v[bank][idx]) < 0) {
				fprintf(stderr, "attest: %s:%u: not a %s PCR value: %s", path, ln, banks[bank]->name,
					line);
				return -1;
			}
			pv->have[bank][idx] = true;
			n++;
			continue;
		}
		if (strspn(line, " \t\r\n") != strlen(line)) {
			fprintf(stderr, "attest: %s:%u: not tpm2_pcrread's output: %s", path, ln, line);
			return -1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "attest: %s has no PCR values (tpm2_pcrread's output)\n", path);
		return -1;
	}
	return 0;
}

/* systemd's tpm2-measure.log: JSON-SEQ records (RS, a JSON object, a newline). */
static int read_cel(const char *path, struct cel_record *rec, size_t *n)
{
	_cleanup_buf_ struct buf b = {0};
	int r = read_path(path, &b);
	if (r < 0) {
		fprintf(stderr, "attest: cannot read %s: %s\n", path, strerror(-r));
		return -1;
	}
	*n = 0;
	for (size_t at = 0; at < b.len;) {
		if (b.data[at] != 0x1e) {
			fprintf(stderr, "attest: %s: byte %zu: a record does not start with RS (0x1e)\n", path, at);
			return -1;
		}
		size_t end = at + 1;
		while (end < b.len && b.data[end] != 0x1e)
			end++;
		if (*n == CEL_MAX) {
			fprintf(stderr, "attest: %s: more than %d records\n", path, CEL_MAX);
			return -1;
		}
		struct cel_record *c = &rec[*n];
		*c = (struct cel_record){0};
		json_tokener *tok = json_tokener_new();
		json_object *o =
			tok ? json_tokener_parse_ex(tok, (const char *)b.data + at + 1, (int)(end - at - 1)) : NULL;
		json_tokener_free(tok);
		json_object *pcr, *digests, *content, *v;
		int ok = o && json_object_object_get_ex(o, "pcr", &pcr) && json_object_is_type(pcr, json_type_int) &&
			 json_object_object_get_ex(o, "digests", &digests) &&
			 json_object_is_type(digests, json_type_array);
		if (ok) {
			c->pcr = json_object_get_int(pcr);
			ok = c->pcr >= 0 && c->pcr < PCRS;
		}
		for (size_t i = 0; ok && i < json_object_array_length(digests); i++) {
			json_object *d = json_object_array_get_idx(digests, i), *alg, *hexd;
			ok = json_object_object_get_ex(d, "hashAlg", &alg) &&
			     json_object_object_get_ex(d, "digest", &hexd) &&
			     json_object_is_type(alg, json_type_string) && json_object_is_type(hexd, json_type_string);
			int bk = ok ? bank_of_name(json_object_get_string(alg)) : -1;
			if (bk >= 0) {
				ok = unhex(json_object_get_string(hexd), banks[bk]->digest_size, c->digest[bk]) == 0;
				c->have[bk] = true;
			}
		}
		if (ok && json_object_object_get_ex(o, "content", &content)) {
			if (json_object_object_get_ex(content, "eventType", &v) &&
			    json_object_is_type(v, json_type_string))
				snprintf(c->type, sizeof(c->type), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(content, "string", &v) &&
			    json_object_is_type(v, json_type_string))
				snprintf(c->text, sizeof(c->text), "%s", json_object_get_string(v));
		}
		json_object_put(o);
		if (!ok) {
			fprintf(stderr, "attest: %s: record %zu is no CEL-JSON record systemd writes\n", path, *n + 1);
			return -1;
		}
		(*n)++;
		at = end;
	}
	return 0;
}

static void describe(const struct observed *o, char *out, size_t size)
{
	if (o->cel)
		snprintf(out, size, "%s record %zu (%s \"%s\")", o->from, o->index, o->cel->type, o->cel->text);
	else
		snprintf(out, size, "%s event %zu (type 0x%x)", o->from, o->index, o->type);
}

int attest(const struct state *st, const char *eventlog, const char *cel, const char *pcrs)
{
	static struct pcr_values pv;
	static struct cel_record rec[CEL_MAX];
	static struct observed obs[OBSERVED_MAX];
	_cleanup_buf_ struct buf log = {0};
	struct tcg_algs algs;
	char err[160];
	size_t off, nrec = 0, nobs = 0;
	int r = read_path(eventlog, &log);
	if (r < 0) {
		fprintf(stderr, "attest: cannot read %s: %s\n", eventlog, strerror(-r));
		return 2;
	}
	if (tcg_log_start(span_of(&log), &algs, &off, err, sizeof(err)) < 0) {
		fprintf(stderr, "attest: %s: %s\n", eventlog, err);
		return 2;
	}
	if (read_pcrs(pcrs, &pv) < 0 || read_cel(cel, rec, &nrec) < 0)
		return 2;

	/* every event of both logs, in the order they were extended (the firmware's before the OS's) */
	uint8_t locality = 0;
	struct tcg_event e;
	size_t n = 0;
	for (; (r = tcg_log_next(span_of(&log), &algs, &off, &e, err, sizeof(err))) == 1; n++) {
		static const char startup[] = "StartupLocality";
		if (e.type == EV_NO_ACTION) {
			if (e.pcr == 0 && e.data.len == sizeof(startup) + 1 &&
			    memcmp(e.data.p, startup, sizeof(startup)) == 0)
				locality = e.data.p[sizeof(startup)];
			continue;
		}
		if (e.pcr >= PCRS || nobs == OBSERVED_MAX) {
			fprintf(stderr, "attest: %s: event %zu: PCR %u, or more than %d events\n", eventlog, n + 1,
				e.pcr, OBSERVED_MAX);
			return 2;
		}
		struct observed *o = &obs[nobs++];
		*o = (struct observed){.pcr = (int)e.pcr, .from = "event log", .index = n + 1, .type = e.type};
		for (int b = 0; b < NBANKS; b++)
			o->digest[b] = tcg_event_digest(&e, tcg_alg[b]);
	}
	if (r < 0) {
		fprintf(stderr, "attest: %s: %s\n", eventlog, err);
		return 2;
	}
	for (size_t i = 0; i < nrec && nobs < OBSERVED_MAX; i++) {
		struct observed *o = &obs[nobs++];
		*o = (struct observed){.pcr = rec[i].pcr, .from = "CEL log", .index = i + 1, .cel = &rec[i]};
		for (int b = 0; b < NBANKS; b++)
			o->digest[b] = rec[i].have[b] ? rec[i].digest[b] : NULL;
	}
	printf("event log %s: %zu events; CEL log %s: %zu records; PCR values from %s\n", eventlog, n, cel, nrec, pcrs);

	/* 1. the logs replay to the TPM's values */
	size_t checked = 0;
	for (int b = 0; b < NBANKS; b++)
		for (int p = 0; p < PCRS; p++) {
			if (!pv.have[b][p])
				continue;
			size_t dl = banks[b]->digest_size;
			uint8_t v[DIGEST_MAX] = {0};
			if (p == 0)
				v[dl - 1] = locality;
			for (size_t i = 0; i < nobs; i++) {
				if (obs[i].pcr != p)
					continue;
				if (!obs[i].digest[b]) {
					char what[200];
					describe(&obs[i], what, sizeof(what));
					printf("FAIL: PCR %d: %s has no %s digest, so the %s bank cannot be replayed\n",
					       p, what, banks[b]->name, banks[b]->name);
					return 1;
				}
				pcr_extend(banks[b], v, obs[i].digest[b]);
			}
			if (memcmp(v, pv.v[b][p], dl) != 0) {
				char want[2 * DIGEST_MAX + 1], got[2 * DIGEST_MAX + 1];
				hex_string(v, dl, want);
				hex_string(pv.v[b][p], dl, got);
				printf("FAIL: PCR %d (%s): the logs replay to %s, the TPM holds %s: a log is "
				       "incomplete or not "
				       "this machine's\n",
				       p, banks[b]->name, want, got);
				return 1;
			}
			checked++;
		}
	printf("replay: the logs give all %zu PCR values listed\n", checked);

	/* 2. the boot path's events are the predicted ones; each PCR's first difference is named */
	static const int pcrs_checked[NPCRS] = {4, 9, 11, 15};
	bool failed = false;
	for (int k = 0; k < NPCRS; k++) {
		int p = pcrs_checked[k];
		if (st->unknown[k]) {
			printf("PCR %d: not compared with a prediction (%s); its log replays\n", p, st->unknown[k]);
			continue;
		}
		size_t oi = 0, matched = 0;
		for (size_t pi = 0; pi < st->nev; pi++) {
			const struct predicted *want = &st->ev[pi];
			if (want->p != k || (k == PCR4 && !want->image))
				continue;
			while (oi < nobs &&
			       (obs[oi].pcr != p || (k == PCR4 && obs[oi].type != EV_EFI_BOOT_SERVICES_APPLICATION)))
				oi++;
			if (oi == nobs) {
				printf("FAIL: PCR %d, event %zu of the boot path: expected %s, the logs end before "
				       "it\n",
				       p, matched + 1, want->what);
				failed = true;
				goto next;
			}
			for (size_t b = 0; b < st->nb; b++) {
				int bank = 0;
				while (banks[bank] != st->h[b])
					bank++;
				const uint8_t *found = obs[oi].digest[bank];
				if (!found || memcmp(found, want->digest[b], st->h[b]->digest_size) == 0)
					continue;
				char w[2 * DIGEST_MAX + 1], f[2 * DIGEST_MAX + 1], what[200];
				hex_string(want->digest[b], st->h[b]->digest_size, w);
				hex_string(found, st->h[b]->digest_size, f);
				describe(&obs[oi], what, sizeof(what));
				printf("FAIL: PCR %d, event %zu of the boot path (%s): expected %s %s (%s), found %s\n",
				       p, matched + 1, what, st->h[b]->name, w, want->what, f);
				failed = true;
				goto next;
			}
			matched++;
			oi++;
		}
		/* what follows the prediction */
		size_t later = 0;
		for (; oi < nobs; oi++) {
			if (obs[oi].pcr != p || (k == PCR4 && obs[oi].type != EV_EFI_BOOT_SERVICES_APPLICATION))
				continue;
			if (k == PCR11 && obs[oi].cel && strcmp(obs[oi].cel->type, "phase") == 0) {
				printf("PCR 11: later, the real root's phase \"%s\"\n", obs[oi].cel->text);
				later++;
				continue;
			}
			char what[200];
			describe(&obs[oi], what, sizeof(what));
			printf("FAIL: PCR %d: %s follows the %zu predicted events: it was not predicted\n", p, what,
			       matched);
			failed = true;
			goto next;
		}
		printf("PCR %d: the %zu events of the boot path are the predicted ones%s\n", p, matched,
		       later ? ", then the real root's own phases" : "");
	next:;
	}
	if (failed) {
		printf("FAIL: the boot path is not the predicted one (the first FAIL above names the earliest "
		       "event)\n");
		return 1;
	}
	printf("PASS: the logs are the TPM's, and the boot path is the predicted one\n");
	return 0;
}
