/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel command line: systemd-compatible option names, parsed into struct config. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libcryptsetup.h> /* rd.luks.options= flags */

#include "earlyroot.h"

/* systemd-cryptsetup's default number of passphrase tries */
#define DEFAULT_TRIES 3

/* systemd's DefaultDeviceTimeoutSec default. */
#define DEFAULT_TIMEOUT_SEC 90
/* A day: anything longer is a typo, not a slow disk. */
#define MAX_TIMEOUT_SEC	    86400

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->gpt_auto = true;
	cfg->emergency = EMERGENCY_HALT;
	cfg->loglevel = LOG_INFO_;
	cfg->timeout_sec = DEFAULT_TIMEOUT_SEC;
	cfg->luks = true;
	cfg->tpm2_seed = true;
	cfg->verity = true;
}

/* Each setter returns NULL when the value was taken, or a reason for rejecting it. */
struct option;
typedef const char *(*setter_fn)(struct config *cfg, const struct option *o, const char *value);
struct option {
	const char *name;
	setter_fn set;
	size_t off;
};

static const char *set_string(char *dst, size_t size, const char *value)
{
	if (!value || !*value)
		return "empty value";
	if (strlen(value) >= size)
		return "value too long";
	strcpy(dst, value);
	return NULL;
}

static const char *set_text(struct config *cfg, const struct option *o, const char *value)
{
	return set_string((char *)cfg + o->off, SPEC_MAX, value);
}

static bool spec_valid(const char *v)
{
	static const char *const prefixes[] = {"/dev/", "UUID=", "PARTUUID=", "LABEL=", "PARTLABEL="};
	if (strcmp(v, "gpt-auto") == 0)
		return true;
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(v, prefixes[i], n) == 0 && v[n])
			return true;
	}
	return false;
}

static const char *set_device(struct config *cfg, const struct option *o, const char *value)
{
	if (value && !spec_valid(value))
		return "expected /dev/…, UUID=, PARTUUID=, LABEL=, PARTLABEL= or gpt-auto";
	return set_text(cfg, o, value);
}

static const char *set_path(struct config *cfg, const struct option *o, const char *value)
{
	if (!value || value[0] != '/')
		return "expected an absolute path";
	return set_text(cfg, o, value);
}

/* ro, rw, quiet, gpt: no value */
static const char *set_flag(struct config *cfg, const struct option *o, const char *value)
{
	if (value)
		return "takes no value";
	if (strcmp(o->name, "quiet") == 0)
		cfg->quiet = true;
	else if (strcmp(o->name, "gpt") == 0)
		cfg->force_gpt = true;
	else
		cfg->ro = strcmp(o->name, "ro") == 0 ? RO_FORCE : RW_FORCE;
	return NULL;
}

/* systemd's boolean words; no value (a bare option name) means true. Returns 1, 0 or -EINVAL. */
int parse_boolean(const char *value)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
	static const char *const no[] = {"0", "no", "n", "false", "f", "off"};
	if (!value)
		return 1;
	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return 1;
		if (strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}

static const char *set_bool(struct config *cfg, const struct option *o, const char *value)
{
	int b = parse_boolean(value);
	if (b < 0)
		return "expected a boolean (1/0, yes/no, true/false, on/off)";
	*(bool *)((char *)cfg + o->off) = b;
	return NULL;
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	if (!v || !isdigit((unsigned char)*v))
		return false;
	unsigned long n = strtoul(v, &end, 10);
	if (*end || n > max)
		return false;
	*out = n;
	return true;
}

static const char *set_loglevel(struct config *cfg, const struct option *o, const char *value)
{
	static const char *const names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
	unsigned long n;
	(void)o;
	if (parse_uint(value, 7, &n)) {
		cfg->loglevel = (int)n;
		return NULL;
	}
	for (size_t i = 0; value && i < ELEMENTSOF(names); i++)
		if (strcmp(value, names[i]) == 0) {
			cfg->loglevel = (int)i;
			return NULL;
		}
	return "expected 0-7 or a level name (emerg … debug)";
}

static const char *set_timeout(struct config *cfg, const struct option *o, const char *value)
{
	unsigned long n;
	(void)o;
	if (value && strcmp(value, "infinity") == 0) {
		cfg->timeout_sec = 0;
		return NULL;
	}
	if (!parse_uint(value, MAX_TIMEOUT_SEC, &n) || n == 0)
		return "expected seconds (1-86400) or infinity";
	cfg->timeout_sec = (unsigned)n;
	return NULL;
}

static const char *set_emergency(struct config *cfg, const struct option *o, const char *value)
{
	static const char *const names[] = {
		[EMERGENCY_HALT] = "halt", [EMERGENCY_REBOOT] = "reboot", [EMERGENCY_POWEROFF] = "poweroff"};
	(void)o;
	for (size_t i = 0; value && i < ELEMENTSOF(names); i++)
		if (strcmp(value, names[i]) == 0) {
			cfg->emergency = (enum emergency_action)i;
			return NULL;
		}
	return "expected halt, reboot or poweroff";
}

/* A security setting: a value that cannot be taken stops the boot later (stage_policy), it never falls
 * back to the default. */
static const char *set_policy(struct config *cfg, const struct option *o, const char *value)
{
	struct policy_option *p = strncmp(o->name, "rd.", 3) == 0 ? &cfg->rd_image_policy : &cfg->image_policy;
	struct image_policy parsed;
	const char *why = set_string(p->text, sizeof(p->text), value && *value ? value : "-");
	if (!why)
		image_policy_parse(p->text, &parsed, &why);
	p->given = true;
	cfg->image_policy_bad |= why != NULL;
	return why;
}

/* roothash=, usrhash=: a security setting like the policy, so never dropped; discovery checks that it is hex
 * and stops the boot when it is not */
static const char *set_hash(struct config *cfg, const struct option *o, const char *value)
{
	const char *why = set_string((char *)cfg + o->off, VERITY_HEX_MAX + 1, value);
	cfg->verity_bad |= why != NULL;
	return why;
}

/* rd.luks.name=UUID=NAME */
static const char *set_luks_name(struct config *cfg, const struct option *o, const char *value)
{
	const char *eq = value ? strchr(value, '=') : NULL;
	if (!eq || eq == value || !eq[1] || strchr(eq + 1, '/'))
		return "expected UUID=NAME";
	return set_text(cfg, o, value);
}

#define F(field) offsetof(struct config, field)
/* one line for each option, with its systemd aliases */
/* clang-format off */
static const struct option options[] = {
	{"root", set_device, F(root)},
	{"rootfstype", set_text, F(rootfstype)},
	{"rootflags", set_text, F(rootflags)},
	{"ro", set_flag, 0},
	{"rw", set_flag, 0},
	{"init", set_path, F(init)},
	{"mount.usr", set_device, F(usr)},
	{"mount.usrfstype", set_text, F(usrfstype)},
	{"mount.usrflags", set_text, F(usrflags)},
	{"systemd.gpt_auto", set_bool, F(gpt_auto)}, {"rd.systemd.gpt_auto", set_bool, F(gpt_auto)},
	{"rd.emergency", set_emergency, 0},
	{"quiet", set_flag, 0},
	{"gpt", set_flag, 0},
	{"loglevel", set_loglevel, 0}, {"systemd.log_level", set_loglevel, 0}, {"rd.systemd.log_level", set_loglevel, 0},
	{"systemd.default_device_timeout_sec", set_timeout, 0}, {"rd.systemd.default_device_timeout_sec", set_timeout, 0},
	{"rd.luks", set_bool, F(luks)},
	{"rd.luks.options", set_text, F(luks_options)},
	{"rd.luks.name", set_luks_name, F(luks_name)},
	{"rd.luks.uuid", set_text, F(luks_uuid)},
	{"rd.earlyroot.tpm2_seed", set_bool, F(tpm2_seed)},
	{"systemd.verity", set_bool, F(verity)}, {"rd.systemd.verity", set_bool, F(verity)},
};
/* clang-format on */
#undef F
/* security settings: one that cannot be taken stops the boot, never falls back to the default */
static const struct option policy_options[] = {{"systemd.image_policy", set_policy, 0},
					       {"rd.systemd.image_policy", set_policy, 0},
					       {"roothash", set_hash, offsetof(struct config, roothash)},
					       {"usrhash", set_hash, offsetof(struct config, usrhash)}};

static const struct option *find_option(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(options); i++)
		if (strcmp(name, options[i].name) == 0)
			return &options[i];
	for (size_t i = 0; i < ELEMENTSOF(policy_options); i++)
		if (strcmp(name, policy_options[i].name) == 0)
			return &policy_options[i];
	return NULL;
}

/* Kernel rules: words split on white space; double quotes group, and are removed. */
static const char *next_word(const char *p, char *word, size_t size, bool *truncated)
{
	size_t n = 0;
	bool quoted = false;
	*truncated = false;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (!*p)
		return NULL;
	for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			word[n++] = *p;
		else
			*truncated = true;
	}
	word[n] = 0;
	return p;
}

void cmdline_parse(struct config *cfg, const char *line, cmdline_report_fn report, void *userdata)
{
	char word[1024], msg[1200];
	bool truncated;

	for (const char *p = line; (p = next_word(p, word, sizeof(word), &truncated));) {
		if (strcmp(word, "--") == 0)
			break; /* the rest are the real init's arguments */
		char *eq = strchr(word, '=');
		const char *value = NULL;
		if (eq) {
			*eq = 0;
			value = eq + 1;
		}
		const struct option *o = find_option(word);
		if (!o)
			continue;
		const char *why = truncated ? "value too long" : o->set(cfg, o, value);
		bool policy = o->set == set_policy || o->set == set_hash;
		cfg->image_policy_bad |= why && o->set == set_policy;
		if (why && report) {
			snprintf(msg, sizeof(msg), "%s %s%s%s: %s%s", policy ? "cannot take" : "ignoring", word,
				 value ? "=" : "", value ? value : "", why, policy ? "" : "; keeping the default");
			report(userdata, msg);
		}
	}
}

void report_bad_option(void *userdata, const char *msg)
{
	const struct ctx *c = userdata;
	log_warn(c, "%s", msg);
	console_printf(c, "earlyroot: %s\n", msg);
}

/* Parses rd.luks.options= ("opt,opt=value,…", or "UUID=opt,…" for one volume) for volume uuid (NULL: whatever
 * volume it names, to check it). */
int luks_options_parse(const char *s, const char *uuid, struct luks_opts *o, cmdline_report_fn report, void *ud)
{
	char buf[SPEC_MAX], msg[SPEC_MAX + 64], *save = NULL;
	memset(o, 0, sizeof(*o));
	o->tries = DEFAULT_TRIES;
	o->measure_pcr = PCR_VOLUME_KEY;
	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	char *opts = buf, *eq = strchr(buf, '=');
	/* a leading UUID names the one volume these options are for */
	if (eq && eq - buf == GUID_LEN && strspn(buf, "0123456789abcdefABCDEF-") == GUID_LEN) {
		*eq = 0;
		if (uuid && strcasecmp(buf, uuid) != 0)
			return 0;
		opts = eq + 1;
	}
	for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *v = strchr(t, '=');
		if (v)
			*v++ = 0;
		unsigned long n;
		char *end;
		if (strcmp(t, "discard") == 0)
			o->flags |= CRYPT_ACTIVATE_ALLOW_DISCARDS;
		else if (strcmp(t, "no-read-workqueue") == 0)
			o->flags |= CRYPT_ACTIVATE_NO_READ_WORKQUEUE;
		else if (strcmp(t, "no-write-workqueue") == 0)
			o->flags |= CRYPT_ACTIVATE_NO_WRITE_WORKQUEUE;
		else if (strcmp(t, "read-only") == 0 || strcmp(t, "readonly") == 0)
			o->flags |= CRYPT_ACTIVATE_READONLY;
		else if (strcmp(t, "headless") == 0 && parse_boolean(v) >= 0)
			o->headless = parse_boolean(v);
		else if (strcmp(t, "tpm2-device") == 0 && v && (strcmp(v, "auto") == 0 || v[0] == '/'))
			snprintf(o->tpm2_device, sizeof(o->tpm2_device), "%s", v);
		else if (strcmp(t, "tpm2-measure-pcr") == 0 && parse_boolean(v) >= 0)
			o->measure_pcr = parse_boolean(v) ? PCR_VOLUME_KEY : -1;
		else if (strcmp(t, "tpm2-measure-pcr") == 0 && v && (n = strtoul(v, &end, 10), !*end && *v && n < 24))
			o->measure_pcr = (int)n;
		else if (strcmp(t, "tries") == 0 && v && (n = strtoul(v, &end, 10), !*end && *v && n <= 100))
			o->tries = n ? (unsigned)n : 100; /* systemd: 0 means "try forever"; we bound it */
		else if (report) {
			snprintf(msg, sizeof(msg), "ignoring rd.luks.options entry \"%s%s%s\"", t, v ? "=" : "",
				 v ? v : "");
			report(ud, msg);
		}
	}
	return 0;
}

void stage_cmdline(struct ctx *c)
{
	/* COMMAND_LINE_SIZE is 2048 on x86 and 4096 on most others; a longer line than this buffer holds is cut
	 * at its last whole word, and said, rather than parsed with half a word at its end */
	char line[8192];
	struct luks_opts o;
	int r = read_text("/proc/cmdline", line, sizeof(line));
	if (r < 0) {
		log_error_errno(c, r, "cannot read /proc/cmdline: %m; using the defaults");
		return;
	}
	if (strlen(line) == sizeof(line) - 1) {
		char *cut = strrchr(line, ' ');
		log_warn(c, "the kernel command line is longer than %zu bytes: ignoring its end from \"%.32s…\"",
			 sizeof(line) - 1, cut ? cut + 1 : line);
		*(cut ? cut : line) = 0;
	}
	cmdline_parse(&c->cfg, line, report_bad_option, c);
	/* said now, even when no LUKS volume is found later */
	luks_options_parse(c->cfg.luks_options, NULL, &o, report_bad_option, c);
}
