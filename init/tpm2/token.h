/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure parsers of systemd-tpm2 LUKS2 tokens (JSON), PEM public keys and systemd-measure signature files. */
#pragma once

#include "wire.h"

/* Limits: systemd's blobs are ~240 bytes (ECC) to ~600 (RSA SRK with import seed). */
#define TPM2_BLOB_MAX	 2048
#define TPM2_SHARDS_MAX	 2
#define TPM2_PEM_MAX	 8192
#define TPM2_SALT_MAX	 64
#define TPM2_SRK_MAX	 1024
#define TPM2_KEYSLOT_MAX 32 /* LUKS2 keyslots */

struct tpm2_token {
	int keyslot;
	unsigned nshards;
	uint8_t blob[TPM2_SHARDS_MAX][TPM2_BLOB_MAX];
	size_t blob_len[TPM2_SHARDS_MAX];
	uint8_t policy_hash[TPM2_SHARDS_MAX][TPM2_SHA256_SIZE];
	uint32_t pcr_mask;
	uint16_t pcr_bank; /* 0: absent, chosen from the TPM's banks at unseal */
	uint16_t primary_alg;
	bool pin;
	uint32_t pubkey_pcr_mask;
	char pubkey_pem[TPM2_PEM_MAX]; /* NUL-terminated; "" when absent */
	bool pcrlock;
	uint8_t salt[TPM2_SALT_MAX];
	size_t salt_len;
	uint8_t srk[TPM2_SRK_MAX];
	size_t srk_len;
};
/* Parses a systemd-tpm2 token (systemd 252…257 forms). Returns 0, -EINVAL (malformed) or -EOPNOTSUPP
 * (well-formed but needs something earlyroot lacks); *why then says what, for one log line. */
int tpm2_token_parse(const char *json, size_t len, struct tpm2_token *t, const char **why);

struct tpm2_rsa_key {
	uint8_t n[TPM2_RSA_MAX];
	size_t n_len;
	uint32_t e;
	uint8_t fingerprint[TPM2_SHA256_SIZE]; /* "pkfp": SHA-256 of the PKCS#1 RSAPublicKey DER */
};
/* Parses a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) holding an RSA key. -EOPNOTSUPP for other key types. */
int tpm2_pem_rsa_parse(const char *pem, size_t len, struct tpm2_rsa_key *k);

/* Finds in systemd-measure's signature JSON the signature for bank, the PCRs in mask, key fingerprint pkfp
 * and policy digest pol. Returns its length, -ENOENT when none matches, -EINVAL when malformed. */
int tpm2_signature_find(const char *json, size_t len, uint16_t bank, uint32_t mask,
			const uint8_t pkfp[TPM2_SHA256_SIZE], const uint8_t pol[TPM2_SHA256_SIZE], uint8_t *sig,
			size_t size);
