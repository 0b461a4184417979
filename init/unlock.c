/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LUKS: open the root (and /usr) volume with libcryptsetup: TPM2 tokens first, then the console. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <linux/if_alg.h>

#include <libcryptsetup.h>

#include "earlyroot.h"

/* LUKS2 passphrases may be longer, but nobody types more at a console */
#define PASSPHRASE_MAX	 512
/* LUKS2 has at most 32 keyslots and 32 tokens */
#define KEYSLOTS_MAX	 32
#define LUKS2_TOKENS_MAX 32

void cryptsetup_log(int level, const char *msg, void *userdata)
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

/* Whether the kernel has the skcipher name ("xts(aes)") already, asked through AF_ALG */
static bool kernel_has_skcipher(const char *name)
{
	struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "skcipher"};
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%.63s", name);
	_cleanup_close_ int fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	return fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* The kernel asks modprobe for ciphers it lacks, and there is none here: load them up front. libcryptsetup
 * hashes with nettle and reaches the kernel's ciphers through AF_ALG's skcipher (keyslot areas), so no
 * hash module is loaded: each load costs tens of milliseconds under emulation. The mode's template is
 * loaded only when the cipher's module did not bring the pair (aesni_intel has its own xts(aes)). */
static void load_crypto_modules(struct ctx *c, struct crypt_device *cd)
{
	static const char *const always[] = {"dm-crypt", "algif_skcipher"};
	char alias[96], mode[64], pair[160];
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
		snprintf(pair, sizeof(pair), "%s(%s)", mode, cipher ? cipher : "");
		snprintf(alias, sizeof(alias), "crypto-%.64s", mode);
		if (!cipher || !kernel_has_skcipher(pair))
			modules_load(c, alias);
	}
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
	crypt_set_log_callback(cd, cryptsetup_log, c);
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
