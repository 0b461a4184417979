/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LUKS: open the root (and /usr) volume with libcryptsetup: TPM2 tokens first, then the console. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libcryptsetup.h>

#include "earlyroot.h"

/* systemd-cryptsetup's default number of passphrase tries */
#define DEFAULT_TRIES	 3
/* LUKS2 passphrases may be longer, but nobody types more at a console */
#define PASSPHRASE_MAX	 512
/* LUKS2 volume keys are 64 bytes for AES-XTS-256; 512 leaves room for any cipher */
#define VOLUME_KEY_MAX	 512
/* LUKS2 has at most 32 keyslots and 32 tokens */
#define KEYSLOTS_MAX	 32
#define LUKS2_TOKENS_MAX 32
/* what a key derivation leaves free for the rest of the boot: dm-crypt, the mount, PID 1 itself */
#define KDF_HEADROOM_KB	 (32 * 1024)

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

const char *luks_tpm2_device(const struct luks_opts *o)
{
	return o->tpm2_device[0] && strcmp(o->tpm2_device, "auto") != 0 ? o->tpm2_device : TPM2_DEVICE;
}

/* systemd-cryptsetup's event: "cryptsetup:" NAME ":" UUID, the name escaped so the fields cannot run into
 * each other */
static void volume_key_event(struct crypt_device *cd, const char *name, char *buf, size_t size)
{
	char escaped[64 * 4 + 1];
	const char *uuid = crypt_get_uuid(cd);
	snprintf(buf, size, "cryptsetup:%s:%s", escape_text(name, ":", escaped, sizeof(escaped)), uuid ? uuid : "");
}

static int measure_volume_key(struct ctx *c, struct crypt_device *cd, const char *name, const uint8_t *vk,
			      size_t vk_len, const struct luks_opts *o, struct tpm2 *t)
{
	char event[SPEC_MAX + 128];
	volume_key_event(cd, name, event, sizeof(event));
	int r = t ? tpm2_extend_with(c, t, (unsigned)o->measure_pcr, event, vk, vk_len)
		  : tpm2_extend(c, luks_tpm2_device(o), (unsigned)o->measure_pcr, event, vk, vk_len);
	if (r == 0 && o->measure_pcr == PCR_VOLUME_KEY)
		c->volume_key_measured = true;
	return r;
}

/* libcryptsetup says "Operation not supported" when the kernel lacks the cipher (or dm-crypt): say which */
static int no_cipher(const struct ctx *c, struct crypt_device *cd, int r)
{
	if (r == -EOPNOTSUPP)
		log_error(c,
			  "the kernel cannot run the cipher %s-%s of %s: dm-crypt or the cipher is neither built in "
			  "nor a module in this initramfs (the module-free archive carries none: use the 'virt' "
			  "one with a distribution kernel)",
			  crypt_get_cipher(cd), crypt_get_cipher_mode(cd), crypt_get_device_name(cd));
	return r;
}

int luks_activate(struct ctx *c, struct crypt_device *cd, const char *name, int keyslot, const char *pass, size_t len,
		  const struct luks_opts *o, struct tpm2 *t, bool required)
{
	uint8_t vk[VOLUME_KEY_MAX];
	size_t vk_len = sizeof(vk);
	if (!name || o->measure_pcr < 0)
		return no_cipher(c, cd, crypt_activate_by_passphrase(cd, name, keyslot, pass, len, o->flags));
	int slot = no_cipher(c, cd, crypt_volume_key_get(cd, keyslot, (char *)vk, &vk_len, pass, len));
	int r = slot < 0 ? slot : crypt_activate_by_volume_key(cd, name, (const char *)vk, vk_len, o->flags);
	if (r >= 0) {
		r = measure_volume_key(c, cd, name, vk, vk_len, o, t);
		if (r == -ENODEV && !required)
			log_info(c, "no TPM2: the volume key of %s is not measured", name);
		else if (r < 0 && required)
			log_error(c,
				  "the TPM2 token of %s binds PCR %d, which could not be measured: not booting with "
				  "it open",
				  name, o->measure_pcr);
		if (r < 0 && required)
			crypt_deactivate(cd, name);
		r = r < 0 && required ? -EIO : slot;
	}
	explicit_bzero(vk, sizeof(vk));
	return r;
}

static void log_from_cryptsetup(int level, const char *msg, void *userdata)
{
	const struct ctx *c = userdata;
	char line[512];
	/* errors, and warnings such as "keyslot operation could fail as it requires more than available
	 * memory", which precede an out-of-memory panic of PID 1 */
	if (level != CRYPT_LOG_ERROR && level != CRYPT_LOG_NORMAL)
		return;
	snprintf(line, sizeof(line), "%s", msg);
	line[strcspn(line, "\n")] = 0;
	log_warn(c, "libcryptsetup: %s", line);
}

/* The kernel asks modprobe for ciphers it lacks, and there is none here: load them up front. libcryptsetup
 * hashes with nettle and reaches the kernel's ciphers through AF_ALG's skcipher (keyslot areas), so no
 * hash module is loaded: each load costs tens of milliseconds under emulation. */
static void load_crypto_modules(struct ctx *c, struct crypt_device *cd)
{
	static const char *const always[] = {"dm-crypt", "algif_skcipher"};
	char alias[96], mode[64];
	for (size_t i = 0; i < ELEMENTSOF(always); i++)
		modules_load(c, always[i]);
	const char *cipher = crypt_get_cipher(cd), *m = crypt_get_cipher_mode(cd);
	if (cipher) {
		snprintf(alias, sizeof(alias), "crypto-%.64s", cipher);
		modules_load(c, alias);
	}
	if (m) {
		snprintf(mode, sizeof(mode), "%s", m);
		mode[strcspn(mode, "-")] = 0; /* "xts-plain64" → "xts" */
		snprintf(alias, sizeof(alias), "crypto-%.64s", mode);
		modules_load(c, alias);
	}
}

int console_gone(const struct ctx *c, int r, const char *what, const char *dev)
{
	if (r == -ENODATA)
		return log_error_errno(c, r,
				       "the console's input ended (end of file) at the %s prompt for %s: nothing more "
				       "can be typed there",
				       what, dev);
	return log_error_errno(c, r, "cannot read a %s for %s from the console: %m", what, dev);
}

/* MemAvailable from /proc/meminfo, in KiB; 0 when it cannot be told */
static uint64_t mem_available_kb(void)
{
	char buf[4096];
	ssize_t n = read_file("/proc/meminfo", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strstr(buf, "MemAvailable:");
	return p ? strtoull(p + strlen("MemAvailable:"), NULL, 10) : 0;
}

bool luks_keyslot_fits(struct ctx *c, struct crypt_device *cd, int slot, const char *dev)
{
	struct crypt_pbkdf_type pbkdf;
	uint64_t avail = mem_available_kb();
	if (crypt_keyslot_get_pbkdf(cd, slot, &pbkdf) < 0 || !pbkdf.max_memory_kb || !avail ||
	    pbkdf.max_memory_kb + KDF_HEADROOM_KB <= avail)
		return true;
	log_warn(c,
		 "%s: skipping keyslot %d: its %s key derivation needs %u KiB of memory, and %llu KiB are available "
		 "(%d KiB stay for the rest of the boot); trying it would exhaust the memory",
		 dev, slot, pbkdf.type ? pbkdf.type : "?", pbkdf.max_memory_kb, (unsigned long long)avail,
		 KDF_HEADROOM_KB);
	return false;
}

/* The keyslots a passphrase may open, in libcryptsetup's order (preferred ones first, "ignore" ones never),
 * less those whose key derivation does not fit into memory. Returns how many are in slots[]. */
static int passphrase_keyslots(struct ctx *c, struct crypt_device *cd, const char *dev, int slots[KEYSLOTS_MAX])
{
	int n = 0, max = crypt_keyslot_max(CRYPT_LUKS2);
	for (int pass = 0; pass < 2; pass++)
		for (int s = 0; s < max && s < KEYSLOTS_MAX; s++) {
			crypt_keyslot_info st = crypt_keyslot_status(cd, s);
			crypt_keyslot_priority prio = crypt_keyslot_get_priority(cd, s);
			if ((st != CRYPT_SLOT_ACTIVE && st != CRYPT_SLOT_ACTIVE_LAST) ||
			    prio == CRYPT_SLOT_PRIORITY_IGNORE || (prio == CRYPT_SLOT_PRIORITY_PREFER) != (pass == 0))
				continue;
			if (luks_keyslot_fits(c, cd, s, dev))
				slots[n++] = s;
		}
	return n;
}

/* One passphrase against each keyslot in turn: the keyslot it opened, -EPERM when none, or -errno. */
static int try_passphrase(struct ctx *c, struct crypt_device *cd, const char *name, const int *slots, int nslots,
			  const char *pass, size_t len, const struct luks_opts *o)
{
	int r = -EPERM;
	for (int i = 0; i < nslots && (r == -EPERM || r == -ENOENT); i++)
		r = luks_activate(c, cd, name, slots[i], pass, len, o, NULL, false);
	return r == -ENOENT ? -EPERM : r;
}

static int ask_passphrase(struct ctx *c, struct crypt_device *cd, const char *name, const char *dev,
			  const struct luks_opts *o)
{
	char pass[PASSPHRASE_MAX], prompt[SPEC_MAX + 128];
	int slots[KEYSLOTS_MAX];
	if (o->headless)
		return log_error_errno(c, -ENOKEY,
				       "no token could unlock %s, and headless forbids asking for a passphrase", dev);
	int nslots = passphrase_keyslots(c, cd, dev, slots);
	if (nslots == 0)
		return log_error_errno(c, -ENOMEM,
				       "no keyslot of %s can be tried here: boot with more memory, or add a keyslot "
				       "with a smaller --pbkdf-memory on a machine that has it",
				       dev);
	snprintf(prompt, sizeof(prompt), "Please enter the passphrase or recovery key for %s (%s): ", dev, name);
	for (unsigned i = 1; i <= o->tries; i++) {
		ssize_t n = ask_secret(c, prompt, pass, sizeof(pass));
		if (n == -EMSGSIZE) {
			console_printf(c, "earlyroot: too long (at most %d characters)\n", PASSPHRASE_MAX - 1);
			i--;
			continue;
		}
		if (n < 0) {
			explicit_bzero(pass, sizeof(pass));
			return console_gone(c, (int)n, "passphrase", dev);
		}
		int r = try_passphrase(c, cd, name, slots, nslots, pass, (size_t)n, o);
		explicit_bzero(pass, sizeof(pass));
		if (r >= 0)
			return r;
		if (r != -EPERM)
			return log_error_errno(c, r, "cannot activate %s: %m", dev);
		console_printf(c, "earlyroot: wrong passphrase (try %u of %u)\n", i, o->tries);
		log_warn(c, "wrong passphrase for %s (try %u of %u)", dev, i, o->tries);
	}
	log_error(c, "no valid passphrase for %s after %u tries", dev, o->tries);
	return -EPERM;
}

/* The primary LUKS header's magic, "LUKS\xba\xbe", is at the start of the device */
static bool primary_header_present(const char *dev)
{
	char magic[6];
	return read_file(dev, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	       memcmp(magic, "LUKS\xba\xbe", sizeof(magic)) == 0;
}

/* Says once for each token earlyroot cannot use that it is skipped: it would not show otherwise. */
static void log_other_tokens(struct ctx *c, struct crypt_device *cd, const char *dev)
{
	char text[64 * 4 + 1];
	const char *type;
	for (int id = 0; id < LUKS2_TOKENS_MAX; id++) {
		crypt_token_info st = crypt_token_status(cd, id, &type);
		if (st == CRYPT_TOKEN_INACTIVE || st == CRYPT_TOKEN_INVALID || !type ||
		    strcmp(type, "systemd-tpm2") == 0 || strcmp(type, "systemd-recovery") == 0)
			continue;
		log_warn(c, "%s: skipping token %d of type \"%s\": earlyroot opens systemd-tpm2 tokens only", dev, id,
			 escape_text(type, "\"", text, sizeof(text)));
	}
}

/* Opens the LUKS volume v as /dev/mapper/NAME: TPM2 tokens first, then the console. */
static int unlock_volume(struct ctx *c, struct volume *v)
{
	struct crypt_device *cd = NULL;
	struct luks_opts o;
	int r = crypt_init(&cd, v->device);
	if (r < 0)
		return log_error_errno(c, r, "cannot open %s for LUKS: %m", v->device);
	crypt_set_log_callback(cd, log_from_cryptsetup, c);
	bool primary = primary_header_present(v->device);
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	if (r < 0) {
		crypt_free(cd);
		return log_error_errno(c, r,
				       "%s has a LUKS signature but no valid header (%m): restore a header backup "
				       "(cryptsetup luksHeaderRestore) from a rescue system",
				       v->device);
	}
	if (!primary)
		log_warn(c,
			 "%s: the primary LUKS header is damaged; the secondary copy was used%s: keep a header backup "
			 "(cryptsetup luksHeaderBackup)",
			 v->device,
			 primary_header_present(v->device) ? ", and libcryptsetup rewrote the primary from it"
							   : " (cryptsetup repair rewrites the primary)");
	log_other_tokens(c, cd, v->device);
	/* stage_cmdline reported its bad entries */
	luks_options_parse(c->cfg.luks_options, crypt_get_uuid(cd), &o, NULL, NULL);
	/* a read-only mount (the default) must not make the mapping read-only: the real root's systemd
	 * remounts it writable; only the partition's flag makes the device read-only */
	if (v->gpt_flags & GPT_FLAG_READ_ONLY)
		o.flags |= CRYPT_ACTIVATE_READONLY;
	load_crypto_modules(c, cd);

	snprintf(v->tpm2_device, sizeof(v->tpm2_device), "%s", luks_tpm2_device(&o));
	r = tpm2_unlock(c, cd, v->luks_name, &o);
	if (r == 0)
		v->unlocked = UNLOCK_TPM2;
	else if (r == -ENOKEY || r == -EOPNOTSUPP || r == -ENODEV) {
		r = ask_passphrase(c, cd, v->luks_name, v->device, &o);
		if (r >= 0)
			v->unlocked = UNLOCK_PASSPHRASE;
	}
	crypt_free(cd);
	if (r < 0)
		return r;
	snprintf(v->mapped, sizeof(v->mapped), "/dev/mapper/%s", v->luks_name);
	log_info(c, "unlocked %s as %s", v->device, v->mapped);
	return 0;
}

static const char unlock_advice[] =
	"type the passphrase or a recovery key (rd.luks.options=tries=N allows more tries), or re-enroll the "
	"TPM2 token with systemd-cryptenroll if the firmware or boot chain changed";

static const char console_advice[] =
	"type at a console whose input works (console= names it), or enroll a TPM2 token that needs no PIN; "
	"Ctrl-D at a prompt ends the console's input";

int stage_unlock(struct ctx *c)
{
	if (!c->cfg.luks)
		return 0;
	for (int i = 0; i < VOLUME_MAX; i++) {
		struct volume *v = &c->vol[i];
		int r = v->device[0] && volume_encrypted(v) ? unlock_volume(c, v) : 0;
		if (r == -ENODATA) {
			emergency_report(c,
					 "the encrypted root (or /usr) stays locked: the console's input ended, so "
					 "nothing can be typed",
					 console_advice);
			return r;
		}
		if (r < 0) {
			emergency_report(c, "the encrypted root (or /usr) stays locked", unlock_advice);
			return r;
		}
	}
	return 0;
}
