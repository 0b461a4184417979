/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: mkcpio's reader of gen_init_cpio lists (a kernel-linked build reads the list the
 * project ships, and distributions hand it their own): every line parsed, file locations expanded, the
 * other entries written (to /dev/null). Reading the files a list names is left out: those are the build's
 * own inputs. */
#define main mkcpio_main
#include "../../archive/mkcpio.c"
#include "fuzz.h"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *tok[MAX_TOKENS];
		struct entry e;
		const char *why = NULL;
		int r = parse_line(line, tok, &e, &why);
		if (r < 0 && !why)
			abort(); /* every refusal says why */
		if (r == 0 && e.type->kind == KIND_FILE) {
			char path[PATH_MAX + 1];
			expand_env(e.location, path, sizeof(path));
		} else if (r == 0) {
			static struct writer w = {.ino = FIRST_INO};
			if (!w.out && !(w.out = fopen("/dev/null", "we")))
				abort();
			write_entry(&w, &e);
		}
	}
	free(text);
	return 0;
}
