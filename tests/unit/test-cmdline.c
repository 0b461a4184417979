/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "earlyroot.h"
#include "test.h"

struct reports {
	int n;
	char last[1200];
};

static void collect(void *userdata, const char *msg)
{
	struct reports *r = userdata;
	r->n++;
	snprintf(r->last, sizeof(r->last), "%s", msg);
}

static struct config parse(const char *line, struct reports *r)
{
	struct config cfg;
	config_defaults(&cfg);
	memset(r, 0, sizeof(*r));
	cmdline_parse(&cfg, line, collect, r);
	return cfg;
}

static void test_defaults(void)
{
	struct reports r;
	struct config c = parse("", &r);
	CHECK(r.n == 0);
	CHECK_STR(c.root, "");
	CHECK(c.gpt_auto);
	CHECK(c.ro == RO_DEFAULT);
	CHECK(c.emergency == EMERGENCY_HALT);
	CHECK(c.timeout_sec == 90);
	CHECK(c.loglevel == LOG_INFO_);
	CHECK(!c.quiet);
}

static void test_root_specs(void)
{
	static const char *const good[] = {
		"/dev/vda2",  "UUID=0a1b-2c3d",	       "PARTUUID=4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
		"LABEL=root", "PARTLABEL=root-x86-64", "gpt-auto"};
	static const char *const bad[] = {"vda2", "UUID=", "LABEL", "foo=bar", "dev/sda1"};
	char line[512];
	struct reports r;
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		snprintf(line, sizeof(line), "quiet root=%s splash", good[i]);
		struct config c = parse(line, &r);
		CHECK_STR(c.root, good[i]);
		CHECK(r.n == 0);
		CHECK(c.quiet);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(line, sizeof(line), "root=%s", bad[i]);
		struct config c = parse(line, &r);
		CHECK_STR(c.root, ""); /* default kept */
		CHECK(r.n == 1);
		CHECK(strstr(r.last, "root=") && strstr(r.last, "keeping the default"));
	}
	/* the last valid value wins; a bad one in between is reported and ignored */
	struct config c = parse("root=LABEL=a root=bogus mount.usr=PARTLABEL=usr", &r);
	CHECK_STR(c.root, "LABEL=a");
	CHECK_STR(c.usr, "PARTLABEL=usr");
	CHECK(r.n == 1);
}

static void test_flags_and_values(void)
{
	struct reports r;
	struct config c = parse("ro rootfstype=ext4 rootflags=noatime,discard init=/lib/systemd/systemd "
				"mount.usrfstype=erofs mount.usrflags=ro",
				&r);
	CHECK(r.n == 0);
	CHECK(c.ro == RO_FORCE);
	CHECK_STR(c.rootfstype, "ext4");
	CHECK_STR(c.rootflags, "noatime,discard");
	CHECK_STR(c.init, "/lib/systemd/systemd");
	CHECK_STR(c.usrfstype, "erofs");
	CHECK_STR(c.usrflags, "ro");

	c = parse("ro rw", &r);
	CHECK(c.ro == RW_FORCE);
	c = parse("ro=1", &r);
	CHECK(r.n == 1 && c.ro == RO_DEFAULT);
	c = parse("init=sbin/init", &r);
	CHECK(r.n == 1 && c.init[0] == 0);
	c = parse("rootfstype=", &r);
	CHECK(r.n == 1 && c.rootfstype[0] == 0);
	c = parse("gpt", &r);
	CHECK(r.n == 0 && c.force_gpt);
	c = parse("gpt=1", &r);
	CHECK(r.n == 1 && !c.force_gpt);
}

static void test_gpt_auto(void)
{
	struct reports r;
	static const struct {
		const char *line;
		bool want;
		int reports;
	} cases[] = {
		{"systemd.gpt_auto=0", false, 0},
		{"systemd.gpt_auto=no", false, 0},
		{"rd.systemd.gpt_auto=off", false, 0},
		{"systemd.gpt_auto=0 rd.systemd.gpt_auto", true, 0},
		{"systemd.gpt_auto=FALSE", false, 0},
		{"systemd.gpt_auto=maybe", true, 1},
		{"rd.systemd.gpt_auto=0 systemd.gpt_auto=yes", true, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct config c = parse(cases[i].line, &r);
		CHECK(c.gpt_auto == cases[i].want);
		CHECK(r.n == cases[i].reports);
	}
}

static void test_emergency_loglevel_timeout(void)
{
	struct reports r;
	struct config c = parse("rd.emergency=poweroff loglevel=3 rd.systemd.default_device_timeout_sec=5", &r);
	CHECK(r.n == 0);
	CHECK(c.emergency == EMERGENCY_POWEROFF);
	CHECK(c.loglevel == 3);
	CHECK(c.timeout_sec == 5);

	c = parse("rd.emergency=reboot systemd.log_level=debug systemd.default_device_timeout_sec=infinity", &r);
	CHECK(c.emergency == EMERGENCY_REBOOT);
	CHECK(c.loglevel == 7);
	CHECK(c.timeout_sec == 0);

	c = parse("rd.emergency=explode loglevel=9 systemd.log_level=chatty "
		  "rd.systemd.default_device_timeout_sec=-1 rd.systemd.default_device_timeout_sec=10s "
		  "rd.systemd.default_device_timeout_sec=0 rd.systemd.default_device_timeout_sec=99999999999",
		  &r);
	CHECK(r.n == 7);
	CHECK(c.emergency == EMERGENCY_HALT);
	CHECK(c.loglevel == LOG_INFO_);
	CHECK(c.timeout_sec == 90);
}

static void test_quoting_and_end(void)
{
	struct reports r;
	struct config c = parse("  root=\"LABEL=my root\"\tquiet -- rw init=/bin/sh", &r);
	CHECK_STR(c.root, "LABEL=my root");
	CHECK(c.quiet);
	CHECK(c.ro == RO_DEFAULT); /* after "--": the real init's arguments */
	CHECK_STR(c.init, "");

	/* unknown options belong to the kernel or the real init */
	c = parse("console=ttyS0 systemd.unit=rescue.target rootwait foo", &r);
	CHECK(r.n == 0);

	/* overlong words are reported, never overflow */
	char line[3000] = "root=LABEL=";
	memset(line + strlen(line), 'x', 2500);
	line[2511] = 0;
	c = parse(line, &r);
	CHECK(r.n == 1);
	CHECK_STR(c.root, "");
	c = parse("rootflags=\"unterminated", &r);
	CHECK_STR(c.rootflags, "unterminated");
}

int main(void)
{
	test_defaults();
	test_root_specs();
	test_flags_and_values();
	test_gpt_auto();
	test_emergency_loglevel_timeout();
	test_quoting_and_end();
	TEST_DONE();
}
