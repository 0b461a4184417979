/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libcryptsetup.h>

#include "earlyroot.h"
#include "test.h"

static int reports;
static void count(void *ud, const char *msg)
{
	(void)ud, (void)msg;
	reports++;
}

int main(void)
{
	struct luks_opts o;
	const char *uuid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

	CHECK(luks_options_parse("", uuid, &o, count, NULL) == 0);
	CHECK(o.flags == 0 && !o.headless && o.tries == 3 && !o.tpm2_device[0]);

	luks_options_parse("discard,no-read-workqueue,no-write-workqueue,headless,tpm2-device=auto,tries=5", uuid, &o,
			   count, NULL);
	CHECK(o.flags ==
	      (CRYPT_ACTIVATE_ALLOW_DISCARDS | CRYPT_ACTIVATE_NO_READ_WORKQUEUE | CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE));
	CHECK(o.headless);
	CHECK(o.tries == 5);
	CHECK_STR(o.tpm2_device, "auto");
	CHECK(reports == 0);

	luks_options_parse("headless=no,tries=0,tpm2-device=/dev/tpmrm0", uuid, &o, count, NULL);
	CHECK(!o.headless && o.tries == 100 && strcmp(o.tpm2_device, "/dev/tpmrm0") == 0);

	/* per-volume form: applies only to the volume with that UUID (any case) */
	luks_options_parse("0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0=discard", uuid, &o, count, NULL);
	CHECK(o.flags == CRYPT_ACTIVATE_ALLOW_DISCARDS);
	luks_options_parse("11111111-2222-3333-4444-555555555555=discard", uuid, &o, count, NULL);
	CHECK(o.flags == 0);

	/* unknown or malformed entries are reported, the rest still applies */
	reports = 0;
	luks_options_parse("bogus,tries=x,tries=1000,headless=maybe,tpm2-device=rel,discard", uuid, &o, count, NULL);
	CHECK(reports == 5);
	CHECK(o.flags == CRYPT_ACTIVATE_ALLOW_DISCARDS && o.tries == 3 && !o.headless && !o.tpm2_device[0]);

	/* the command line side */
	struct config cfg;
	config_defaults(&cfg);
	CHECK(cfg.luks);
	reports = 0;
	cmdline_parse(&cfg, "rd.luks=0 rd.luks.name=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0=cryptroot rd.luks.name=bad",
		      count, NULL);
	CHECK(!cfg.luks);
	CHECK_STR(cfg.luks_name, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0=cryptroot");
	CHECK(reports == 1);

	/* tpm2-measure-pcr= as in crypttab: on by default (PCR 15), a boolean or a PCR number */
	luks_options_parse("", uuid, &o, count, NULL);
	CHECK(o.measure_pcr == 15);
	luks_options_parse("tpm2-measure-pcr=no", uuid, &o, count, NULL);
	CHECK(o.measure_pcr == -1);
	luks_options_parse("tpm2-measure-pcr=9", uuid, &o, count, NULL);
	CHECK(o.measure_pcr == 9);
	reports = 0;
	luks_options_parse("tpm2-measure-pcr=24", uuid, &o, count, NULL);
	CHECK(o.measure_pcr == 15 && reports == 1);

	/* text from the disk or the command line, escaped as systemd's xescape does */
	char buf[128];
	CHECK_STR(escape_text("a:b\x1b[2J\\\xc3\xa9", ":", buf, sizeof(buf)), "a\\x3ab\\x1b[2J\\x5c\\xc3\\xa9");
	CHECK_STR(escape_text("root", ":", buf, sizeof(buf)), "root");
	CHECK_STR(escape_text("\x1b\x1b\x1b", "", buf, 9), "\\x1b");
	TEST_DONE();
}
