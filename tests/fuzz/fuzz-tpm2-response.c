/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the TPM response unmarshaller and the structure parsers behind it. The first byte picks
 * the shape the caller expects (response handles, sessions); the rest is what the TPM (or the bus) sent. */
#include "tpm2/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[TPM2_MAX_BUF];
	static uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX];
	static const uint16_t all_banks[] = {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512};
	struct tpm2_response r;
	struct tpm2_public pub;
	struct tpm2_banks banks;
	struct tpm2_blob blob;
	struct tpm2_serialized ser;
	uint32_t got;

	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	uint8_t shape = data[0];
	size--, data++;
	memcpy(buf, data, size);
	if (tpm2_parse_response(buf, size, shape & 1, (shape >> 1) & 3, &r) == 0 && r.rc == 0) {
		switch ((shape >> 3) & 3) {
		case 0:
			tpm2_parse_public(r.params, r.params_len, &pub);
			break;
		case 1:
			if (shape & 0x40)
				tpm2_parse_pcr_read_banks(r.params, r.params_len, shape & 0x20 ? 11 : 7, all_banks, 4,
							  digests, &got);
			else
				tpm2_parse_pcr_read(r.params, r.params_len,
						    shape & 0x20 ? TPM2_ALG_SHA1 : TPM2_ALG_SHA256, digests, &got);
			break;
		case 2: {
			struct tpm2_rd rd = tpm2_rd(r.params, r.params_len);
			uint32_t props[17];
			if (shape & 0x20)
				tpm2_parse_properties(r.params, r.params_len, 0x200, props, 17);
			else
				tpm2_parse_pcr_selection(&rd, &banks);
			break;
		}
		case 3:
			for (unsigned i = 0; i < r.nsessions; i++)
				if (r.s[i].nonce_len > TPM2_SHA256_SIZE || r.s[i].hmac_len > TPM2_SHA256_SIZE)
					break;
			break;
		}
	}
	/* the same bytes as the other structures that come from outside: blobs and serialisations in tokens */
	if (tpm2_parse_blob(data, size, &blob) == 0 && blob.pub_len > 2)
		tpm2_parse_public(blob.pub + 2, blob.pub_len - 2, &pub);
	if (tpm2_parse_serialized(data, size, &ser) == 0)
		tpm2_parse_public(ser.pub, ser.pub_len, &pub);
	tpm2_parse_public(data, size, &pub);
	return 0;
}
