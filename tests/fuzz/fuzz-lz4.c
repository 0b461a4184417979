/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: an LZ4 legacy frame (a module file in the archive, NAME.ko.lz4) as /init decodes it, and
 * each input as a lone block into a small buffer too, so the output bound is reached. modules.dep lookups of
 * the input as text run with it. */
#include <stdlib.h>
#include <string.h>

#include "earlyroot.h"
#include "fuzz.h"

static int count(void *userdata, const uint8_t *buf, size_t len)
{
	(void)buf;
	*(size_t *)userdata += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *block;
	uint8_t small[256];
	size_t total = 0, len;
	if (!block && !(block = malloc(LZ4_LEGACY_BLOCK_MAX)))
		abort();
	lz4_legacy_decode(data, size, block, count, &total);
	ssize_t n = lz4_block_decode(data, size, small, sizeof(small));
	if (n > (ssize_t)sizeof(small))
		abort();
	char *text = fuzz_text(data, size);
	if (text) {
		const char *line = moddep_find(text, "dm_crypt", &len);
		if (line && (line < text || line + len > text + size))
			abort();
		free(text);
	}
	return 0;
}
