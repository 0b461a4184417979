/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "earlyroot.h"
#include "test.h"

static struct image_policy parse(const char *s, int expect)
{
	struct image_policy p;
	const char *why;
	int r = image_policy_parse(s, &p, &why);
	if (r != expect)
		fprintf(stderr, "policy \"%s\": %d, expected %d (%s)\n", s, r, expect, why ? why : "");
	CHECK(r == expect);
	CHECK(r == 0 ? why == NULL : why && *why);
	return p;
}

static struct volume volume(const char *device, const char *type, uint64_t gpt_flags)
{
	struct volume v = {.name = "usr"};
	snprintf(v.device, sizeof(v.device), "%s", device);
	snprintf(v.probed, sizeof(v.probed), "%s", type);
	v.gpt = true;
	v.gpt_flags = gpt_flags;
	return v;
}

static void test_syntax(void)
{
	struct image_policy p = parse("root=encrypted+verity:usr=verity+absent", 0);
	CHECK(p.set == ((1u << POLICY_ROOT) | (1u << POLICY_USR)));
	CHECK(p.flags[POLICY_ROOT] == (PF_ENCRYPTED | PF_VERITY));
	CHECK(p.dflt == (PF_UNUSED | PF_ABSENT)); /* unlisted partitions: ignored, as systemd */
	p = parse("=unprotected:home=open", 0);
	CHECK(p.dflt == PF_UNPROTECTED && p.flags[POLICY_HOME] == PF_USE_MASK);
	CHECK(parse("*", 0).dflt == PF_USE_MASK);
	CHECK(parse("~", 0).dflt == PF_ABSENT);
	CHECK(parse("-", 0).dflt == (PF_UNUSED | PF_ABSENT));
	CHECK(parse("root=-", 0).flags[POLICY_ROOT] == 0);
	CHECK(parse("root-verity-sig=ignore:esp=read-only-on+growfs-off", 0).flags[POLICY_ESP] ==
	      (PF_READ_ONLY_ON | PF_GROWFS_OFF));
	parse("root", -EINVAL);
	parse("rot=encrypted", -EINVAL);
	parse("root=encrypted+bogus", -EINVAL);
	parse("root=encrypted:root=verity", -EINVAL);
	parse("=open:=ignore", -EINVAL);
	parse("root=encrypted::usr=verity", -EINVAL);
	parse("root=encrypted+", -EINVAL);
}

static void test_defaults(void)
{
	struct image_policy none = {0};
	/* no policy: everything but "unused"; /usr beside an encrypted root must be protected */
	unsigned f = image_policy_get(&none, POLICY_USR, false);
	CHECK((f & PF_USE_MASK) == (PF_UNPROTECTED | PF_VERITY | PF_SIGNED | PF_ENCRYPTED | PF_ABSENT));
	f = image_policy_get(&none, POLICY_USR, true);
	CHECK(!(f & PF_UNPROTECTED) && (f & PF_ENCRYPTED) && (f & PF_ABSENT));
	CHECK(image_policy_get(&none, POLICY_ROOT, true) & PF_UNPROTECTED);
	/* a given policy: unlisted use flags mean all, unlisted read-only flags both */
	struct image_policy p = parse("root=read-only-on", 0);
	f = image_policy_get(&p, POLICY_ROOT, false);
	CHECK((f & PF_USE_MASK) == PF_USE_MASK && (f & PF_READ_ONLY_ON) && !(f & PF_READ_ONLY_OFF));
}

static void test_check(void)
{
	char text[160];
	struct image_policy none = {0};
	struct volume plain = volume("/dev/vda2", "ext4", 0), luks = volume("/dev/vda2", "crypto_LUKS", 0);
	struct volume absent = volume("", "", 0), ro = volume("/dev/vda2", "ext4", GPT_FLAG_READ_ONLY);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &plain) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &luks) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &absent) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, false), &plain) == POLICY_OK);

	struct image_policy p = parse("root=encrypted", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &plain) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, true), &luks) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &absent) == POLICY_REFUSED);
	/* /usr unlisted: the default "=unused+absent" leaves a present /usr unused */
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, true), &plain) == POLICY_UNUSED);
	p = parse("root=unprotected+encrypted", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &plain) == POLICY_OK);
	p = parse("usr=unprotected+read-only-on", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &plain) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &ro) == POLICY_OK);
	p = parse("usr=encrypted", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &absent) == POLICY_REFUSED);
	/* GPT attribute 59 (grow the file system) against growfs-on/growfs-off; unlisted means both */
	struct volume grow = volume("/dev/vda2", "ext4", GPT_FLAG_GROW_FS);
	p = parse("root=unprotected+growfs-off", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &grow) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &plain) == POLICY_OK);
	p = parse("root=unprotected+growfs-on", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &grow) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_ROOT, false), &plain) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_ROOT, false), &grow) == POLICY_OK);
	CHECK(image_policy_text(image_policy_get(&p, POLICY_ROOT, false), text, sizeof(text)) == 0);
	CHECK_STR(text, "unprotected+growfs-on");

	CHECK(image_policy_text(image_policy_get(&none, POLICY_USR, true), text, sizeof(text)) == 0);
	CHECK_STR(text, "verity+signed+encrypted+absent");
	CHECK(image_policy_text(image_policy_get(&p, POLICY_USR, false), text, 4) == -ENOBUFS);
}

static void test_verity(void)
{
	struct image_policy none = {0};
	struct volume hash = volume("/dev/vda2", "ext4", GPT_FLAG_READ_ONLY), sig = hash,
		      plain = volume("/dev/vda2", "ext4", 0);
	hash.verity = VERITY_CMDLINE;
	sig.verity = VERITY_SIGNATURE;
	CHECK(volume_protected(&hash) && volume_protected(&sig) && !volume_protected(&plain));
	/* no policy: a verity (or signed) /usr counts as protected beside an encrypted or verity root */
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &hash) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &sig) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&none, POLICY_USR, true), &plain) == POLICY_REFUSED);
	/* signed takes only a signed root hash; verity takes both */
	struct image_policy p = parse("usr=signed", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &hash) == POLICY_REFUSED);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &sig) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &plain) == POLICY_REFUSED);
	p = parse("usr=verity", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &hash) == POLICY_OK);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &sig) == POLICY_OK);
	p = parse("usr=encrypted+unprotected", 0);
	CHECK(image_policy_check(image_policy_get(&p, POLICY_USR, false), &hash) == POLICY_REFUSED);
}

static void test_cmdline(void)
{
	struct config cfg;
	config_defaults(&cfg);
	cmdline_parse(&cfg, "rd.systemd.image_policy=usr=open systemd.image_policy=root=encrypted", NULL, NULL);
	CHECK(cfg.rd_image_policy.given && cfg.image_policy.given && !cfg.image_policy_bad);
	CHECK_STR(cfg.rd_image_policy.text, "usr=open");
	/* a policy that cannot be taken is never dropped for the default */
	config_defaults(&cfg);
	cmdline_parse(&cfg, "systemd.image_policy=root=encryptd", NULL, NULL);
	CHECK(cfg.image_policy_bad);
	/* roothash=, usrhash=, (rd.)systemd.verity= */
	config_defaults(&cfg);
	CHECK(cfg.verity);
	cmdline_parse(&cfg, "roothash=abcd usrhash=ef01 systemd.verity=0 rd.systemd.verity=1", NULL, NULL);
	CHECK_STR(cfg.roothash, "abcd");
	CHECK_STR(cfg.usrhash, "ef01");
	CHECK(cfg.verity && !cfg.verity_bad && !cfg.image_policy_bad);
	cmdline_parse(&cfg, "rd.systemd.verity=no", NULL, NULL);
	CHECK(!cfg.verity);
	/* a hash that cannot be taken is never dropped: the boot stops instead of running unverified */
	config_defaults(&cfg);
	cmdline_parse(&cfg, "usrhash=", NULL, NULL);
	CHECK(cfg.verity_bad);
}

int main(void)
{
	test_syntax();
	test_defaults();
	test_check();
	test_verity();
	test_cmdline();
	TEST_DONE();
}
