/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the token JSON parser, and the signature-file and PEM parsers that read the same kind of
 * attacker-controlled text (a LUKS2 header, a UKI section). */
#include "tpm2/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tpm2_token tok;
	static const uint8_t pkfp[32], pol[32];
	struct tpm2_rsa_key key;
	uint8_t sig[TPM2_RSA_MAX];
	const char *why;
	const char *text = (const char *)data;

	if (tpm2_token_parse(text, size, &tok, &why) == 0 && tok.pubkey_pem[0])
		tpm2_pem_rsa_parse(tok.pubkey_pem, strlen(tok.pubkey_pem), &key);
	tpm2_signature_find(text, size, TPM2_ALG_SHA256, 1u << 11, pkfp, pol, sig, sizeof(sig));
	tpm2_pem_rsa_parse(text, size, &key);
	return 0;
}
