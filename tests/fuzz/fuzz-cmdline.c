/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the kernel command line (anyone who can edit the boot entry writes it) with the
 * option values parsed later: rd.luks.options= and systemd.image_policy=. */
#include <stdlib.h>
#include <string.h>

#include "earlyroot.h"
#include "fuzz.h"

static void count(void *userdata, const char *msg)
{
	(void)msg;
	(*(int *)userdata)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_text(data, size);
	if (!line)
		return 0;

	struct config cfg;
	int reports = 0;
	config_defaults(&cfg);
	cmdline_parse(&cfg, line, count, &reports);

	struct luks_opts o;
	luks_options_parse(line, "00000000-0000-0000-0000-000000000000", &o, count, &reports);

	struct image_policy p;
	const char *why;
	if (image_policy_parse(line, &p, &why) == 0) {
		char text[256];
		for (int d = 0; d < POLICY_DESIGNATORS; d++)
			image_policy_text(image_policy_get(&p, (enum policy_designator)d, d & 1), text, sizeof(text));
	}
	free(line);
	return 0;
}
