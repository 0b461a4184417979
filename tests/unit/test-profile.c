/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "earlyroot.h"
#include "profile.h"
#include "test.h"

int main(void)
{
	struct profile_entry *e;
	int bad = 0;

	int n = profile_parse("# a comment line\n"
			      "\n"
			      "virtio_blk\n"
			      "   dm-crypt   # trailing comment\n"
			      "?ahci\n"
			      "kernel/drivers/virtio/\n"
			      "?kernel/fs/nls/\n"
			      "\t\n"
			      "last_without_newline",
			      &e, &bad);
	CHECK(n == 6);
	if (n == 6) {
		CHECK_STR(e[0].name, "virtio_blk");
		CHECK(!e[0].optional && !e[0].directory && e[0].line == 3);
		CHECK_STR(e[1].name, "dm-crypt");
		CHECK(e[1].line == 4);
		CHECK_STR(e[2].name, "ahci");
		CHECK(e[2].optional && !e[2].directory);
		CHECK_STR(e[3].name, "kernel/drivers/virtio/");
		CHECK(e[3].directory && !e[3].optional);
		CHECK(e[4].directory && e[4].optional);
		CHECK_STR(e[5].name, "last_without_newline");
		profile_free(e, n);
	}

	CHECK(profile_parse("", &e, &bad) == 0);
	profile_free(e, 0);
	CHECK(profile_parse("# only comments\n\n", &e, &bad) == 0);
	profile_free(e, 0);

	/* names with spaces, absolute or escaping directories, a lone '?' are rejected with the line */
	static const struct {
		const char *text;
		int line;
	} bad_cases[] = {
		{"ok\ntwo words\n", 2}, {"/lib/modules/x/\n", 1}, {"kernel/../../etc/\n", 1},
		{"ok\n\n?\n", 3},	{"virtio.ko\n", 1},	  {"a/b\n", 1},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++) {
		bad = 0;
		CHECK(profile_parse(bad_cases[i].text, &e, &bad) == -EINVAL);
		CHECK(bad == bad_cases[i].line);
	}
	TEST_DONE();
}
