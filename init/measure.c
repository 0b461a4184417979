/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Measurements into the TPM, in the banks systemd chooses: the boot phase words into PCR 11, and the
 * volume keys of the LUKS volumes opened (or, when none was, a fixed word) into PCR 15. docs/tpm2.md
 * gives every event and its digest. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "earlyroot.h"
#include "io.h"
#include "tpm2/client.h"

/* systemd's userspace measurement log: one CEL-JSON record per extend, in JSON-SEQ (RS, the JSON, a
 * newline), the shape systemd-pcrextend and systemd-cryptsetup write, so that the real root's tools
 * (systemd-pcrlock, attestation agents) see the initrd's events. /run moves into the real root. */
#define MEASURE_LOG_DIR "/run/log/systemd"
#define MEASURE_LOG	MEASURE_LOG_DIR "/tpm2-measure.log"

/* what PCR 15 gets before switch_root when no volume key was measured into it */
#define NO_VOLUME_KEY_EVENT "earlyroot:no-volume-key"

/* snprintf at buf + *len that stops, leaving *len >= size, once buf is full */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	if (*len >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	*len = r < 0 ? size : *len + (size_t)r;
}

/* Appends one record to the measurement log; a record that cannot be written marks the log
 * incomplete with the sticky bit, as systemd does, and is reported. */
static void measure_log(const struct ctx *c, unsigned pcr, const uint16_t *algs,
			const uint8_t (*digests)[TPM2_DIGEST_MAX], unsigned n, const char *type, const char *string)
{
	/* an event is at most a volume key's "cryptsetup:NAME:UUID" (luks.c), each byte escaped at worst */
	char rec[4096], esc[6 * (SPEC_MAX + 128) + 1], id[40], boot_id[33] = "";
	struct timespec ts;
	size_t len = 0;
	append(rec, sizeof(rec), &len, "\x1e{\"pcr\":%u,\"digests\":[", pcr);
	for (unsigned i = 0; i < n; i++) {
		append(rec, sizeof(rec), &len, "%s{\"hashAlg\":\"%s\",\"digest\":\"", i ? "," : "",
		       tpm2_hash_name(algs[i]));
		for (size_t b = 0; b < tpm2_hash_size(algs[i]); b++)
			append(rec, sizeof(rec), &len, "%02x", digests[i][b]);
		append(rec, sizeof(rec), &len, "\"}");
	}
	/* the boot ID as systemd writes it: 32 hex digits, no dashes */
	if (read_text("/proc/sys/kernel/random/boot_id", id, sizeof(id)) == 0)
		for (size_t i = 0, o = 0; id[i] && o + 1 < sizeof(boot_id); i++)
			if (id[i] != '-')
				boot_id[o++] = id[i], boot_id[o] = 0;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	json_text(string, esc, sizeof(esc));
	append(rec, sizeof(rec), &len,
	       "],\"content_type\":\"systemd\",\"content\":{\"string\":\"%s\",\"bootId\":\"%s\","
	       "\"timestamp\":%llu,\"eventType\":\"%s\"}}\n",
	       esc, boot_id, (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000, type);
	if (mkdir("/run/log", 0755) < 0 && errno != EEXIST)
		goto fail;
	if (mkdir(MEASURE_LOG_DIR, 0755) < 0 && errno != EEXIST)
		goto fail;
	int fd = open(MEASURE_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		goto fail;
	int r = flock(fd, LOCK_EX);
	if (r == 0 && (len >= sizeof(rec) || strlen(string) > SPEC_MAX + 128)) {
		errno = ENAMETOOLONG;
		r = -1;
	}
	if (r == 0)
		r = write_full(fd, rec, len);
	if (r < 0) {
		int e = errno;
		(void)fchmod(fd, 01600);
		close(fd);
		errno = e;
		goto fail;
	}
	close(fd);
	return;
fail:
	log_warn(c, "cannot record the measurement into PCR %u in " MEASURE_LOG ": %m", pcr);
}

/* systemd's tpm2_get_good_pcr_banks: the complete banks in which pcr is already extended, else all
 * complete banks. Returns how many are in use[], or a TPM error (> 0) or -errno. */
static int pick_banks(struct tpm2 *t, unsigned pcr, uint16_t use[TPM2_MAX_BANKS], unsigned *n)
{
	uint8_t pcrs[TPM2_PCRS][TPM2_DIGEST_MAX], now[TPM2_MAX_BANKS][TPM2_DIGEST_MAX];
	uint16_t all[TPM2_MAX_BANKS];
	unsigned nall = 0;
	uint32_t got = 0;
	struct tpm2_banks banks;
	int r = tpm2_get_banks(t, &banks);
	*n = 0;
	for (unsigned i = 0; r == 0 && i < banks.n; i++)
		if (tpm2_hash_size(banks.b[i].alg) && tpm2_bank_complete(banks.b[i].mask))
			all[nall++] = banks.b[i].alg;
	/* every bank in one PCR_Read; one at a time those a TPM left out of its answer, or all of them when it
	 * refused the question */
	if (r == 0 && nall && tpm2_pcr_read_banks(t, pcr, all, nall, now, &got) != 0)
		got = 0;
	for (unsigned k = 0; r == 0 && k < nall; k++) {
		if (!(got & (1u << k)) && (r = tpm2_pcr_read(t, all[k], 1u << pcr, pcrs)) == 0)
			memcpy(now[k], pcrs[pcr], sizeof(now[k]));
		if (r == 0 && tpm2_pcr_extended(now[k], tpm2_hash_size(all[k])))
			use[(*n)++] = all[k];
	}
	if (r == 0 && *n == 0) {
		memcpy(use, all, sizeof(all));
		*n = nall;
	}
	return r;
}

int tpm2_extend_with(const struct ctx *c, struct tpm2 *t, unsigned pcr, const char *data, const uint8_t *key,
		     size_t key_len)
{
	uint8_t digests[TPM2_MAX_BANKS][TPM2_DIGEST_MAX];
	uint16_t use[TPM2_MAX_BANKS];
	char rc[96], names[64] = "";
	unsigned n;
	int r = pick_banks(t, pcr, use, &n);
	if (r == 0 && n == 0)
		return log_error_errno(c, -EOPNOTSUPP,
				       "cannot measure into PCR %u: the TPM has no complete PCR bank "
				       "earlyroot knows",
				       pcr);
	for (unsigned i = 0; r == 0 && i < n; i++) {
		/* a secret is never hashed alone onto the bus: systemd sends its HMAC over the event */
		if (key_len)
			tpm2_hmac(use[i], key, key_len, data, strlen(data), digests[i]);
		else
			tpm2_hash(use[i], data, strlen(data), digests[i]);
		size_t len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", tpm2_hash_name(use[i]));
	}
	if (r == 0)
		r = tpm2_pcr_extend(t, pcr, use, (const uint8_t(*)[TPM2_DIGEST_MAX])digests, n);
	/* what the TPM was given is public (an HMAC, not the key, for a volume key) */
	if (r == 0)
		measure_log(c, pcr, use, (const uint8_t(*)[TPM2_DIGEST_MAX])digests, n,
			    key_len ? "volume-key" : "phase", data);
	explicit_bzero(digests, sizeof(digests));
	if (r < 0)
		return log_error_errno(c, r, "cannot measure \"%s\" into PCR %u: TPM2_%s failed: %m", data, pcr,
				       tpm2_cc_name(t->last_cc));
	if (r > 0)
		return log_error_errno(c, -EIO, "cannot measure \"%s\" into PCR %u: TPM2_%s failed: %s", data, pcr,
				       tpm2_cc_name(t->last_cc), tpm2_rc_text((uint32_t)r, rc, sizeof(rc)));
	log_info(c, "measured \"%s\"%s into PCR %u (%s)", data, key_len ? " with the volume key" : "", pcr, names);
	return 0;
}

/* -ENODEV when there is no TPM at device; other errors are logged */
static int open_tpm(const struct ctx *c, const char *device, struct tpm2 *t)
{
	int r = tpm2_open(t, device);
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		return -ENODEV;
	return r < 0 ? log_error_errno(c, r, "cannot measure into the TPM: cannot open %s: %m", device) : 0;
}

int tpm2_extend(const struct ctx *c, const char *device, unsigned pcr, const char *data, const uint8_t *key,
		size_t key_len)
{
	struct tpm2 t;
	int r = open_tpm(c, device, &t);
	if (r < 0)
		return r;
	r = tpm2_extend_with(c, &t, pcr, data, key, key_len);
	tpm2_close(&t);
	return r;
}

int tpm2_measure_with(struct ctx *c, struct tpm2 *t, const char *word)
{
	return tpm2_extend_with(c, t, PCR_PHASE, word, NULL, 0);
}

void stage_enter_initrd(struct ctx *c)
{
	/* before any unlock, as systemd-pcrphase does, so signed policies for this phase match. Unlike
	 * systemd, which measures the phases only when booted from a measured UKI, earlyroot measures
	 * whenever a TPM2 is present: a secret sealed to the initrd phase must be out of reach after
	 * switch_root on every boot, UKI or not. */
	tpm2_extend(c, TPM2_DEVICE, PCR_PHASE, "enter-initrd", NULL, 0);
}

/* The TPM that unsealed a volume, if one did (rd.luks.options=tpm2-device=), else the default. */
static const char *unsealing_tpm(const struct ctx *c, bool *unsealed)
{
	*unsealed = false;
	for (int i = 0; i < VOLUME_MAX; i++)
		if (c->vol[i].unlocked == UNLOCK_TPM2) {
			*unsealed = true;
			return c->vol[i].tpm2_device;
		}
	return TPM2_DEVICE;
}

int stage_leave_initrd(struct ctx *c)
{
	bool unsealed;
	const char *device = unsealing_tpm(c, &unsealed);
	struct tpm2 t;
	int r11 = open_tpm(c, device, &t);
	/* a TPM that is there but fails: PCR 15 cannot be left behind either */
	int r15 = r11;
	if (r11 == 0) {
		/* PCR 15 never stays at its reset value into the real root when there is a TPM: a secret bound
		 * to "PCR 15 still zero" is then out of reach after the switch, whatever root was found */
		r15 = c->volume_key_measured ? 0
					     : tpm2_extend_with(c, &t, PCR_VOLUME_KEY, NO_VOLUME_KEY_EVENT, NULL, 0);
		/* from here on, secrets sealed to the initrd phase cannot be unsealed again */
		r11 = tpm2_extend_with(c, &t, PCR_PHASE, "leave-initrd", NULL, 0);
		tpm2_close(&t);
	}
	/* without a TPM there is nothing to protect; a root the TPM unlocked does not start while its key
	 * could still be unsealed */
	if ((r15 == 0 || r15 == -ENODEV) && (r11 == 0 || !unsealed))
		return 0;
	emergency_report(
		c,
		r11 == -ENODEV ? "the TPM that unsealed the root is gone: the end of the initrd phase cannot "
				 "be measured"
			       : "the end of the initrd phase could not be measured into the TPM (PCRs 11 and 15)",
		"the TPM failed (see above), and the real root could still unseal secrets sealed to the initrd "
		"phase; reboot, and if this persists, check the TPM in the firmware setup");
	return -EIO;
}
