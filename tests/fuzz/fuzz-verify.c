/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: tools/verify's readers of the files a verifier is handed (a bzImage's setup header, a
 * PE/UKI section table, newc streams inside a vmlinux). The decompressors are external programs and stay
 * out: what is fuzzed is the code that reads the untrusted bytes itself. */
#define main verify_main
#include <assert.h>

#include "../../archive/verify.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* the readers report on stdout and stderr; libFuzzer's own reports use stderr's file descriptor */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span s = {data, size};
	struct span payload, found[MAX_STREAMS];
	const struct codec *c;
	struct pe_section secs[PE_SECTIONS_MAX];
	size_t n = 0, len, entries;

	bzimage_payload("fuzz", s, &payload, &c);
	int nsec = pe_sections(s, secs, PE_SECTIONS_MAX);
	for (int i = 0; i < nsec; i++)
		if (secs[i].size != SIZE_MAX)
			assert(secs[i].offset <= size && secs[i].size <= size - secs[i].offset);
	if (nsec > 0)
		pe_find(secs, nsec, ".initrd");
	if (vmlinux_streams("fuzz", s, found, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			assert(found[i].p >= data && found[i].len <= size - (size_t)(found[i].p - data));
			is_kernel_default(found[i]);
		}
	if (newc_stream(s, &len, &entries))
		assert(len <= size);
	return 0;
}
