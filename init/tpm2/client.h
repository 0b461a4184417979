/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM2 transport and commands: one command at a time over a file descriptor, HMAC sessions, response
 * verification and decryption. */
#pragma once

#include "crypto.h"

struct tpm2 {
	int fd;
	uint32_t last_cc; /* the command that failed, for log lines */
	uint8_t cmd[TPM2_MAX_BUF], rsp[TPM2_MAX_BUF];
};
struct tpm2_object {
	uint32_t handle;
	uint8_t name[TPM2_NAME_MAX];
	size_t name_len;
};
struct tpm2_key {
	struct tpm2_object obj;
	uint8_t pub[TPM2_PUBLIC_MAX]; /* TPMT_PUBLIC */
	size_t pub_len;
};
struct tpm2_session {
	uint32_t handle;
	uint8_t key[TPM2_SHA256_SIZE];
	size_t key_len;
	uint8_t nonce_tpm[TPM2_SHA256_SIZE], nonce_caller[TPM2_SHA256_SIZE];
	uint8_t auth[TPM2_SHA256_SIZE]; /* the entity's authValue, once PolicyAuthValue asked for it */
	size_t auth_len;
	bool auth_needed;
	uint8_t attrs;
};

void tpm2_init_fd(struct tpm2 *t, int fd);
int tpm2_open(struct tpm2 *t, const char *path);
void tpm2_close(struct tpm2 *t); /* also wipes the buffers, which held the unsealed secret */
const char *tpm2_cc_name(uint32_t cc);
void tpm2_session_wipe(struct tpm2_session *s);

/* Commands return 0, the TPM's response code (> 0), or -errno (transport, malformed, HMAC mismatch). */
int tpm2_flush(struct tpm2 *t, uint32_t handle);
int tpm2_create_primary(struct tpm2 *t, uint16_t alg, struct tpm2_key *k);
int tpm2_read_public(struct tpm2 *t, uint32_t handle, struct tpm2_key *k);
int tpm2_load(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *priv, size_t priv_len,
	      const uint8_t *pub, size_t pub_len, struct tpm2_object *out);
int tpm2_import(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *pub, size_t pub_len,
		const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len, uint8_t *priv,
		size_t *priv_len);
/* An unbound session salted to salt_key (its TPMT_PUBLIC in salt_key->pub): by ECDH for an ECC P-256 key, by
 * RSA-OAEP for an RSA key; -EOPNOTSUPP for any other. */
int tpm2_start_session(struct tpm2 *t, uint8_t type, const struct tpm2_key *salt_key, struct tpm2_session *s);
int tpm2_policy_pcr(struct tpm2 *t, struct tpm2_session *s, uint16_t bank, uint32_t mask);
int tpm2_policy_auth_value(struct tpm2 *t, struct tpm2_session *s);
int tpm2_policy_restart(struct tpm2 *t, struct tpm2_session *s);
int tpm2_policy_get_digest(struct tpm2 *t, struct tpm2_session *s, uint8_t digest[TPM2_SHA256_SIZE]);
int tpm2_load_external(struct tpm2 *t, const uint8_t *pub, size_t pub_len, struct tpm2_object *out);
int tpm2_verify_signature(struct tpm2 *t, const struct tpm2_object *key, const uint8_t digest[TPM2_SHA256_SIZE],
			  const uint8_t *sig, size_t sig_len, uint8_t *ticket, size_t *ticket_len);
int tpm2_policy_authorize(struct tpm2 *t, struct tpm2_session *s, const uint8_t approved[TPM2_SHA256_SIZE],
			  const uint8_t *key_name, size_t key_name_len, const uint8_t *ticket, size_t ticket_len);
/* Unseal with the policy session and an encrypt-only session: the secret crosses the bus encrypted. */
int tpm2_unseal(struct tpm2 *t, const struct tpm2_object *item, struct tpm2_session *policy, struct tpm2_session *enc,
		uint8_t *out, size_t *out_len);
int tpm2_get_banks(struct tpm2 *t, struct tpm2_banks *banks);
/* n TPM properties from first on (TPM2_PT_…) into values; those the TPM does not report stay as they are */
int tpm2_get_properties(struct tpm2 *t, uint32_t first, uint32_t *values, size_t n);
/* n bytes (at most 32: every TPM2 gives a SHA-256 digest's worth) from the TPM's generator */
int tpm2_get_random(struct tpm2 *t, uint8_t *out, size_t n);
int tpm2_pcr_read(struct tpm2 *t, uint16_t alg, uint32_t mask, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX]);
/* PCR pcr in each of the n banks algs[], in one command: digests[k] for algs[k], bit k of *got set for those the
 * TPM returned (it may return fewer: read those one bank at a time) */
int tpm2_pcr_read_banks(struct tpm2 *t, unsigned pcr, const uint16_t *algs, unsigned n,
			uint8_t (*digests)[TPM2_DIGEST_MAX], uint32_t *got);
int tpm2_pcr_extend(struct tpm2 *t, unsigned pcr, const uint16_t *algs, const uint8_t (*digests)[TPM2_DIGEST_MAX],
		    unsigned n);

/* The TPMT_PUBLIC template of systemd's legacy primary (ECC or RSA). */
size_t tpm2_primary_template(uint16_t alg, uint8_t *buf, size_t size);

static inline void tpm2_session_wipep(struct tpm2_session *s)
{
	tpm2_session_wipe(s);
}
#define _cleanup_tpm2_session_ __attribute__((cleanup(tpm2_session_wipep)))
