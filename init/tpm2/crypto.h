/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM2 protocol's cryptography on nettle: KDFa and KDFe, ECDH and RSA-OAEP salting, object names, PIN
 * authValues, parameter encryption. */
#pragma once

#include "wire.h"

int tpm2_random(void *buf, size_t n);
void tpm2_kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes);
void tpm2_kdfe(const uint8_t *z, size_t z_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes);
/* Ephemeral ECDH against a P-256 key: salt (32 bytes) and the TPMS_ECC_POINT to send (68 bytes). */
#define TPM2_ECC_POINT_SIZE 68
int tpm2_ecdh_salt(const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len, uint8_t salt[32],
		   uint8_t point[TPM2_ECC_POINT_SIZE]);
/* EME-OAEP (PKCS #1 v2.2 §7.1.1) with SHA-256 and MGF1-SHA256 of msg into em (k bytes); the label is hashed with
 * its terminating NUL, as TPM labels are. -EINVAL when msg does not fit. */
int tpm2_oaep_encode(const uint8_t *msg, size_t len, const char *label, const uint8_t seed[TPM2_SHA256_SIZE],
		     uint8_t *em, size_t k);
/* Salting to an RSA key (modulus n, exponent e, 0 meaning 65537): a random salt (32 bytes, the size of SHA-256,
 * the key's nameAlg) and its RSAES-OAEP encryption with label "SECRET" into secret (n_len bytes; *secret_len is
 * the room there, then the length). -EOPNOTSUPP for keys under 2048 bits or implausible ones. */
int tpm2_rsa_salt(const uint8_t *n, size_t n_len, uint32_t e, uint8_t salt[TPM2_SHA256_SIZE], uint8_t *secret,
		  size_t *secret_len);
/* name = nameAlg ‖ H(TPMT_PUBLIC); only SHA-256 names. Returns the length or -EOPNOTSUPP. */
int tpm2_name(const uint8_t *pub, size_t pub_len, uint8_t name[TPM2_NAME_MAX]);
void tpm2_hash(uint16_t alg, const void *p, size_t n, uint8_t *out);
/* HMAC with the bank's hash; out gets tpm2_hash_size(alg) bytes */
void tpm2_hmac(uint16_t alg, const uint8_t *key, size_t key_len, const void *p, size_t n, uint8_t *out);
size_t tpm2_trim(const uint8_t *auth, size_t len); /* length without trailing zero bytes */
/* PBKDF2-HMAC-SHA256 (RFC 8018), its password-keyed state wiped after use. */
void tpm2_pbkdf2_sha256(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len, unsigned iterations,
			uint8_t *dk, size_t dk_len);
/* The PIN's authValue: trim0(SHA256(PIN)), or with systemd ≥ 253's salt
 * trim0(SHA256(base64(PBKDF2-HMAC-SHA256(PIN, salt, 10000)))). Returns the trimmed length. */
size_t tpm2_pin_auth(const char *pin, size_t pin_len, const uint8_t *salt, size_t salt_len, uint8_t auth[32]);
void tpm2_cfb(const uint8_t key[16], const uint8_t iv[16], uint8_t *data, size_t n, bool encrypt);
/* Standard base64 (+/ and padding) of src into dst (size ≥ 4*ceil(n/3)+1), NUL-terminated. */
size_t tpm2_base64(char *dst, const uint8_t *src, size_t n);
