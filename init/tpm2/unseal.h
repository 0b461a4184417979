/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One systemd-tpm2 token's secret: parent key, sealed object, sessions, policy replay, Unseal. */
#pragma once

#include "client.h"
#include "token.h"

/* systemd-measure's signature file (a UKI's .pcrsig), for tokens with a signed PCR policy */
struct tpm2_signature {
	const char *json; /* NULL when there is none */
	size_t len;
	const char *path; /* for messages */
};

/* Returns 0 with the secret; -EACCES wrong PIN; -EBUSY dictionary-attack lockout; -EPERM policy does not
 * match the PCRs; other -errno: the token cannot work here. why gets one line for the log in every case. */
int tpm2_token_unseal(struct tpm2 *t, const struct tpm2_token *tok, const uint8_t *auth, size_t auth_len,
		      const struct tpm2_signature *signature, uint8_t *secret, size_t *secret_len, char *why,
		      size_t why_size);

/* The TPMT_PUBLIC of an RSA key to verify PCR signatures with (LoadExternal). */
size_t tpm2_rsa_public(const struct tpm2_rsa_key *k, uint32_t exponent, uint8_t *buf, size_t size);
