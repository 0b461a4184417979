/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the modules-list/ profile reader (a distribution writes its own profiles). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	struct profile_entry *entries = NULL;
	int bad = 0, n = profile_parse(text, &entries, &bad);
	if (n >= 0)
		profile_free(entries, n);
	else if (n == -EINVAL && bad < 1)
		abort(); /* a refused profile names its line */
	free(text);
	return 0;
}
