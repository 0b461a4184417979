/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unlocks a LUKS2 volume with its systemd-tpm2 tokens: each token's secret from the TPM (tpm2/unseal.h),
 * a PIN asked on the console where the token needs one, the keyslot opened with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <libcryptsetup.h>

#include "earlyroot.h"
#include "tpm2/unseal.h"

/* LUKS2 holds at most 32 tokens */
#define TOKENS_MAX    32
/* each wrong PIN counts against the TPM's dictionary-attack counter; systemd-cryptsetup asks 3 times too */
#define PIN_TRIES     3
#define PIN_MAX	      256
/* a UKI's .pcrsig holds a few signatures per bank: a few KiB */
#define SIGNATURE_MAX (1024 * 1024)

/* Everything derived from the PIN and the unsealed secret, wiped on every path out. */
struct secrets {
	char pin[PIN_MAX];
	uint8_t auth[TPM2_SHA256_SIZE];
	size_t auth_len;
	uint8_t secret[TPM2_SECRET_MAX];
	size_t secret_len;
	char passphrase[(TPM2_SECRET_MAX + 2) / 3 * 4 + 1];
};

static void secrets_wipe(struct secrets *s)
{
	explicit_bzero(s, sizeof(*s));
}

static int read_signature(const char *path, char **buf, size_t *len)
{
	*buf = NULL, *len = 0;
	char *p = malloc(SIGNATURE_MAX);
	if (!p)
		return -ENOMEM;
	ssize_t n = read_file(path, p, SIGNATURE_MAX);
	if (n < 0) {
		free(p);
		return (int)n;
	}
	*buf = p, *len = (size_t)n;
	return 0;
}

static int activate(struct ctx *c, struct tpm2 *t, struct crypt_device *cd, const char *name, const struct luks_opts *o,
		    const char *dev, int id, const struct tpm2_token *tok, struct secrets *s)
{
	if (!luks_keyslot_fits(c, cd, tok->keyslot, dev))
		return -ENOKEY;
	/* systemd enrolls base64 of the secret as the keyslot's passphrase ("for compat with homed") */
	size_t n = tpm2_base64(s->passphrase, s->secret, s->secret_len);
	/* a token bound to the PCR the volume key goes to must not leave it as it was: fail closed */
	bool bound = o->measure_pcr >= 0 && ((tok->pcr_mask | tok->pubkey_pcr_mask) & (1u << o->measure_pcr));
	int r = luks_activate(c, cd, name, tok->keyslot, s->passphrase, n, o, t, bound);
	if (r >= 0) {
		log_info(c, "%s: unlocked with TPM2 token %d (keyslot %d)", dev, id, tok->keyslot);
		return 0;
	}
	if (r == -EPERM || r == -ENOENT)
		return log_warn_errno(c, -ENOKEY, "%s: TPM2 token %d unsealed a secret that does not open keyslot %d",
				      dev, id, tok->keyslot);
	return log_error_errno(c, r, "%s: cannot activate with TPM2 token %d: %m", dev, id);
}

/* A TPM in dictionary-attack lockout refuses every PIN, and does not count it: say so, and when the lockout
 * lifts, instead of asking for a PIN. */
static bool in_lockout(struct ctx *c, struct tpm2 *t, const char *dev, int id)
{
	uint32_t v[TPM2_PT_LOCKOUT_INTERVAL - TPM2_PT_PERMANENT + 1] = {0};
	if (tpm2_get_properties(t, TPM2_PT_PERMANENT, v, ELEMENTSOF(v)) != 0 || !(v[0] & TPM2_PERMANENT_IN_LOCKOUT))
		return false;
	log_warn(c,
		 "%s: skipping TPM2 token %d, which needs a PIN: the TPM is in dictionary-attack lockout (%u failed "
		 "authorizations, %u allowed) and refuses every PIN; it forgives one failure per %u s it is powered "
		 "on, so a PIN works again within %u s, or at once after the owner resets the lockout "
		 "(tpm2_dictionarylockout --clear-lockout)",
		 dev, id, v[TPM2_PT_LOCKOUT_COUNTER - TPM2_PT_PERMANENT], v[TPM2_PT_MAX_AUTH_FAIL - TPM2_PT_PERMANENT],
		 v[TPM2_PT_LOCKOUT_INTERVAL - TPM2_PT_PERMANENT], v[TPM2_PT_LOCKOUT_INTERVAL - TPM2_PT_PERMANENT]);
	return true;
}

/* 0 when unlocked, -ENOKEY when this token did not work, other -errno when activation itself failed or the
 * console cannot be read. */
static int unlock_token(struct ctx *c, struct tpm2 *t, struct crypt_device *cd, const char *name,
			const struct luks_opts *o, const char *dev, int id, const struct tpm2_token *tok,
			const struct tpm2_signature *sig)
{
	__attribute__((cleanup(secrets_wipe))) struct secrets s;
	char why[512], prompt[SPEC_MAX + 64];
	int r;

	if (!tok->pin) {
		s.secret_len = sizeof(s.secret);
		r = tpm2_token_unseal(t, tok, NULL, 0, sig, s.secret, &s.secret_len, why, sizeof(why));
		if (r < 0)
			return log_warn_errno(c, -ENOKEY, "%s: TPM2 token %d: %s", dev, id, why);
		return activate(c, t, cd, name, o, dev, id, tok, &s);
	}

	if (in_lockout(c, t, dev, id))
		return -ENOKEY;
	snprintf(prompt, sizeof(prompt), "Please enter the TPM2 PIN for %s: ", dev);
	for (unsigned i = 1; i <= PIN_TRIES; i++) {
		ssize_t n = ask_secret(c, prompt, s.pin, sizeof(s.pin));
		if (n == -EMSGSIZE) { /* not sent to the TPM: no try spent */
			console_printf(c, "earlyroot: too long for a PIN (at most %d characters)\n", PIN_MAX - 1);
			i--;
			continue;
		}
		if (n < 0) /* no PIN and no passphrase can be typed now */
			return console_gone(c, (int)n, "TPM2 PIN", dev);
		s.auth_len = tpm2_pin_auth(s.pin, (size_t)n, tok->salt, tok->salt_len, s.auth);
		explicit_bzero(s.pin, sizeof(s.pin));
		s.secret_len = sizeof(s.secret);
		r = tpm2_token_unseal(t, tok, s.auth, s.auth_len, sig, s.secret, &s.secret_len, why, sizeof(why));
		explicit_bzero(s.auth, sizeof(s.auth));
		if (r == 0)
			return activate(c, t, cd, name, o, dev, id, tok, &s);
		if (r == -EBUSY)
			console_printf(c, "earlyroot: %s\n", why);
		if (r != -EACCES)
			return log_warn_errno(c, -ENOKEY, "%s: TPM2 token %d: %s", dev, id, why);
		console_printf(c, "earlyroot: wrong TPM2 PIN (try %u of %u)\n", i, PIN_TRIES);
		log_warn(c, "%s: TPM2 token %d: wrong PIN (try %u of %u)", dev, id, i, PIN_TRIES);
	}
	console_printf(c, "earlyroot: no more TPM2 PIN tries: wrong PINs count towards the TPM's lockout\n");
	log_error(c,
		  "%s: TPM2 token %d: giving up after %u wrong PINs: each one counts against the TPM's "
		  "dictionary-attack protection, and more would lock the TPM out for every PIN",
		  dev, id, PIN_TRIES);
	return -ENOKEY;
}

int tpm2_unlock_with(struct ctx *c, struct tpm2 *t, struct crypt_device *cd, const char *name,
		     const struct luks_opts *o, const char *sig_path)
{
	_cleanup_free_ struct tpm2_token *tok = malloc(sizeof(*tok));
	_cleanup_free_ char *sig_json = NULL;
	struct tpm2_signature sig = {.path = sig_path};
	const char *dev = crypt_get_device_name(cd), *type, *json, *why;
	bool sig_read = false;
	unsigned tried = 0;
	int r;

	if (!tok)
		return -ENOMEM;
	for (int id = 0; id < TOKENS_MAX; id++) {
		crypt_token_info st = crypt_token_status(cd, id, &type);
		if (st == CRYPT_TOKEN_INACTIVE || st == CRYPT_TOKEN_INVALID || !type ||
		    strcmp(type, "systemd-tpm2") != 0)
			continue;
		if (crypt_token_json_get(cd, id, &json) < 0)
			continue;
		r = tpm2_token_parse(json, strlen(json), tok, &why);
		if (r < 0) {
			log_warn(c, "%s: skipping TPM2 token %d: %s%s", dev, id, r == -EINVAL ? "malformed: " : "",
				 why);
			continue;
		}
		if (tok->pin && o->headless) {
			log_warn(c, "%s: skipping TPM2 token %d: it needs a PIN, and headless forbids asking for one",
				 dev, id);
			continue;
		}
		if (tok->pubkey_pcr_mask && !sig_read) {
			sig_read = true;
			r = read_signature(sig_path, &sig_json, &sig.len);
			sig.json = sig_json;
			if (r < 0 && r != -ENOENT)
				log_warn_errno(c, r, "cannot read %s: %m", sig_path);
		}
		tried++;
		r = unlock_token(c, t, cd, name, o, dev, id, tok, &sig);
		if (r != -ENOKEY)
			return r;
	}
	return tried ? -ENOKEY : -EOPNOTSUPP;
}

static bool has_tpm2_token(struct crypt_device *cd)
{
	const char *type;
	for (int id = 0; id < TOKENS_MAX; id++) {
		crypt_token_info st = crypt_token_status(cd, id, &type);
		if (st != CRYPT_TOKEN_INACTIVE && type && strcmp(type, "systemd-tpm2") == 0)
			return true;
	}
	return false;
}

int tpm2_unlock(struct ctx *c, struct crypt_device *cd, const char *name, const struct luks_opts *o)
{
	const char *path = luks_tpm2_device(o);
	struct tpm2 t;
	if (!has_tpm2_token(cd))
		return -EOPNOTSUPP;
	int r = tpm2_open(&t, path);
	if (r < 0) {
		log_info_errno(c, r, "no TPM2 (%s: %m): asking for the passphrase", path);
		return -ENODEV;
	}
	r = tpm2_unlock_with(c, &t, cd, name, o, TPM2_SIGNATURE_PATH);
	tpm2_close(&t);
	return r;
}
