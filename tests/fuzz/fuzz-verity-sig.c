/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the verity signature partition's JSON (whoever had the disk wrote it), and the root hash
 * it names turned into partition UUIDs. */
#include <assert.h>

#include "earlyroot.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct verity_sig s;
	char uuid_data[GUID_LEN + 1], uuid_hash[GUID_LEN + 1];
	const char *why;
	if (verity_sig_parse((const char *)data, size, &s, &why) == 0) {
		assert(!why && s.signature_len > 0 && s.signature_len <= sizeof(s.signature));
		assert(verity_partuuids(s.root_hash, uuid_data, uuid_hash) == 0);
		assert(strlen(uuid_data) == GUID_LEN && strlen(uuid_hash) == GUID_LEN);
	} else {
		assert(why && *why);
	}
	char *text = fuzz_text(data, size);
	if (text) {
		verity_partuuids(text, uuid_data, uuid_hash);
		free(text);
	}
	return 0;
}
