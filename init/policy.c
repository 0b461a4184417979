/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image policy: which partitions may be used, and with what protection, in systemd.image_policy=
 * syntax and meaning ("root=encrypted+verity:usr=verity+absent", "*", "-", "~"), checked for root and /usr
 * before anything is unlocked or mounted. docs/architecture.md has the rules and the default. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "earlyroot.h"

/* in the order of enum policy_designator */
static const char *const designators[] = {"root",
					  "usr",
					  "home",
					  "srv",
					  "esp",
					  "xbootldr",
					  "swap",
					  "root-verity",
					  "root-verity-sig",
					  "usr-verity",
					  "usr-verity-sig",
					  "tmp",
					  "var"};

struct flag_name {
	const char *name;
	unsigned flags;
};
static const struct flag_name flag_names[] = {
	{"unprotected", PF_UNPROTECTED},
	{"verity", PF_VERITY},
	{"signed", PF_SIGNED},
	{"encrypted", PF_ENCRYPTED},
	{"unused", PF_UNUSED},
	{"absent", PF_ABSENT},
	{"open", PF_USE_MASK},
	{"ignore", PF_UNUSED | PF_ABSENT},
	{"read-only-on", PF_READ_ONLY_ON},
	{"read-only-off", PF_READ_ONLY_OFF},
	{"growfs-on", PF_GROWFS_ON},
	{"growfs-off", PF_GROWFS_OFF},
};

/* "flag+flag+…" ("" and "-": none) */
static int parse_flags(const char *s, size_t len, unsigned *flags)
{
	*flags = 0;
	if (len == 1 && s[0] == '-')
		return 0;
	if (len && s[len - 1] == '+')
		return -EINVAL; /* an empty last flag */
	for (const char *end = s + len; s < end;) {
		size_t n = strcspn(s, "+");
		n = n < (size_t)(end - s) ? n : (size_t)(end - s);
		size_t i = 0;
		while (i < ELEMENTSOF(flag_names) &&
		       (strlen(flag_names[i].name) != n || strncmp(s, flag_names[i].name, n)))
			i++;
		if (i == ELEMENTSOF(flag_names))
			return -EINVAL;
		*flags |= flag_names[i].flags;
		s += n + (s + n < end);
	}
	return 0;
}

static int designator(const char *s, size_t len)
{
	for (int i = 0; i < POLICY_DESIGNATORS; i++)
		if (strlen(designators[i]) == len && strncmp(s, designators[i], len) == 0)
			return i;
	return -1;
}

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return -EINVAL;
}

/* One "designator=flags" rule (an empty designator sets the default). */
static int parse_rule(const char *s, size_t len, struct image_policy *p, unsigned *seen, const char **why)
{
	const char *eq = memchr(s, '=', len);
	unsigned flags;
	if (!eq)
		return bad(why, "expected designator=flags");
	int d = eq == s ? POLICY_DESIGNATORS : designator(s, (size_t)(eq - s));
	if (d < 0)
		return bad(why, "unknown partition designator (root, usr, home, srv, esp, xbootldr, swap, tmp, var, "
				"root-verity, usr-verity, root-verity-sig, usr-verity-sig)");
	if (*seen & (1u << d))
		return bad(why, "a partition designator (or the default) is given twice");
	*seen |= 1u << d;
	if (parse_flags(eq + 1, len - (size_t)(eq + 1 - s), &flags) < 0)
		return bad(why, "unknown flag (unprotected, verity, signed, encrypted, unused, absent, open, ignore, "
				"read-only-on/off, growfs-on/off)");
	if (d == POLICY_DESIGNATORS) {
		p->dflt = flags;
	} else {
		p->flags[d] = flags;
		p->set |= 1u << d;
	}
	return 0;
}

int image_policy_parse(const char *s, struct image_policy *p, const char **why)
{
	static const struct {
		const char *name;
		unsigned dflt;
	} symbolic[] = {
		{"", PF_UNUSED | PF_ABSENT}, {"-", PF_UNUSED | PF_ABSENT}, {"*", PF_USE_MASK}, {"~", PF_ABSENT}};
	unsigned seen = 0;
	*p = (struct image_policy){.given = true, .dflt = PF_UNUSED | PF_ABSENT};
	*why = NULL;
	for (size_t i = 0; i < ELEMENTSOF(symbolic); i++)
		if (strcmp(s, symbolic[i].name) == 0) {
			p->dflt = symbolic[i].dflt;
			return 0;
		}
	for (const char *end = s + strlen(s); s < end;) {
		size_t n = strcspn(s, ":");
		int r = parse_rule(s, n, p, &seen, why);
		if (r < 0)
			return r;
		s += n + (s[n] == ':');
	}
	return 0;
}

/* systemd's normalisation: a part of the flags left out allows everything in that part */
static unsigned extend(unsigned f)
{
	if (!(f & PF_USE_MASK))
		f |= PF_USE_MASK;
	if (!(f & (PF_READ_ONLY_ON | PF_READ_ONLY_OFF)))
		f |= PF_READ_ONLY_ON | PF_READ_ONLY_OFF;
	if (!(f & (PF_GROWFS_ON | PF_GROWFS_OFF)))
		f |= PF_GROWFS_ON | PF_GROWFS_OFF;
	return f;
}

unsigned image_policy_get(const struct image_policy *p, enum policy_designator d, bool root_protected)
{
	/* no policy given: systemd's host policy (root and /usr: anything but "unused"), and earlyroot's
	 * rule that a /usr beside an encrypted or verity root must be protected too (encrypted or verity) */
	if (!p->given) {
		unsigned f = PF_VERITY | PF_SIGNED | PF_ENCRYPTED | PF_UNPROTECTED | PF_ABSENT;
		if (d == POLICY_USR && root_protected)
			f &= ~(unsigned)PF_UNPROTECTED;
		return extend(f);
	}
	return extend(p->set & (1u << d) ? p->flags[d] : p->dflt);
}

int image_policy_text(unsigned flags, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(flag_names); i++) {
		unsigned f = flag_names[i].flags;
		/* the single flags only, and the read-only pair only when it restricts */
		if ((f & (f - 1)) || ((f & (PF_READ_ONLY_ON | PF_READ_ONLY_OFF | PF_GROWFS_ON | PF_GROWFS_OFF))))
			continue;
		if (flags & f)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "+" : "",
					      flag_names[i].name);
	}
	static const struct {
		unsigned on, off;
		const char *on_name, *off_name;
	} pairs[] = {{PF_READ_ONLY_ON, PF_READ_ONLY_OFF, "+read-only-on", "+read-only-off"},
		     {PF_GROWFS_ON, PF_GROWFS_OFF, "+growfs-on", "+growfs-off"}};
	for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
		if ((flags & (pairs[i].on | pairs[i].off)) != (pairs[i].on | pairs[i].off))
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s",
					      flags & pairs[i].on ? pairs[i].on_name : pairs[i].off_name);
	return n < size ? 0 : -ENOBUFS;
}

enum policy_verdict image_policy_check(unsigned flags, const struct volume *v)
{
	if (!v->device[0])
		return flags & PF_ABSENT ? POLICY_OK : POLICY_REFUSED;
	/* a signed root hash is verity too: "verity" takes it, "signed" takes nothing else */
	unsigned have = volume_encrypted(v)		? PF_ENCRYPTED
			: v->verity == VERITY_SIGNATURE ? PF_SIGNED | PF_VERITY
			: v->verity == VERITY_CMDLINE	? PF_VERITY
							: PF_UNPROTECTED;
	if (!(flags & have))
		return flags & PF_UNUSED ? POLICY_UNUSED : POLICY_REFUSED;
	bool ro = v->gpt_flags & GPT_FLAG_READ_ONLY, grow = v->gpt_flags & GPT_FLAG_GROW_FS;
	return (flags & (ro ? PF_READ_ONLY_ON : PF_READ_ONLY_OFF)) && (flags & (grow ? PF_GROWFS_ON : PF_GROWFS_OFF))
		       ? POLICY_OK
		       : POLICY_REFUSED;
}

static const char *protection(const struct volume *v)
{
	if (!v->device[0])
		return "absent";
	if (volume_encrypted(v))
		return "encrypted (LUKS)";
	if (v->verity == VERITY_SIGNATURE)
		return "signed verity (its root hash from a signature partition)";
	if (v->verity == VERITY_CMDLINE)
		return "verity with an unsigned root hash (roothash=/usrhash=), not signed";
	return "unprotected (neither encrypted nor verity)";
}

static void refuse(struct ctx *c, const struct volume *v, unsigned flags, const struct policy_option *given)
{
	char allowed[160], why[SPEC_MAX + 512];
	image_policy_text(flags, allowed, sizeof(allowed));
	if (v->device[0])
		snprintf(why, sizeof(why),
			 "the image policy refuses the %s partition %s%s%s: it is %s%s%s, and the policy "
			 "allows %s=%s",
			 v->name, v->device, v->gpt ? " PARTUUID " : "", v->partuuid, protection(v),
			 (v->gpt_flags & GPT_FLAG_READ_ONLY) ? ", flagged read-only" : "",
			 (v->gpt_flags & GPT_FLAG_GROW_FS) ? ", flagged growfs" : "", v->name, allowed);
	else
		snprintf(why, sizeof(why), "the image policy requires a %s partition (%s=%s), and none was found",
			 v->name, v->name, allowed);
	emergency_report(c, why,
			 given->given
				 ? "the image policy comes from (rd.)systemd.image_policy= on the kernel command line"
				 : "no image policy was given; by default a /usr beside an encrypted or verity root "
				   "must be protected too (encrypted or verity), so that a disk someone added cannot "
				   "run with the protected root; rd.systemd.image_policy=root=encrypted:usr=open "
				   "allows it");
}

int stage_policy(struct ctx *c)
{
	const struct policy_option *given =
		c->cfg.rd_image_policy.given ? &c->cfg.rd_image_policy : &c->cfg.image_policy;
	struct image_policy p = {0};
	const char *why;
	if (c->cfg.image_policy_bad || (given->given && image_policy_parse(given->text, &p, &why) < 0)) {
		emergency_report(c, "the image policy on the kernel command line is malformed (see above)",
				 "correct or drop (rd.)systemd.image_policy=: earlyroot does not boot without a policy "
				 "it was given");
		return -EINVAL;
	}
	bool root_protected = volume_protected(&c->vol[VOLUME_ROOT]);
	for (int i = 0; i < VOLUME_MAX; i++) {
		struct volume *v = &c->vol[i];
		unsigned flags = image_policy_get(&p, i == VOLUME_ROOT ? POLICY_ROOT : POLICY_USR, root_protected);
		enum policy_verdict verdict = image_policy_check(flags, v);
		if (verdict == POLICY_UNUSED && i != VOLUME_ROOT) {
			log_info(c, "the image policy leaves the %s partition %s unused", v->name, v->device);
			v->device[0] = 0;
		} else if (verdict != POLICY_OK) {
			refuse(c, v, flags, given);
			return -EPERM;
		}
	}
	return 0;
}
