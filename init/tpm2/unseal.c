/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One systemd-tpm2 token's secret: parent key, Load (Import first for offline-sealed blobs), two salted
 * sessions, the policy replayed (PolicyAuthorize → PolicyPCR → PolicyAuthValue) and checked, then Unseal.
 * The sequence follows systemd 252 and 257 (tpm2_unseal in src/shared/tpm2-util.c). */
#include <stdarg.h>
#include <stdio.h>

#include "macro.h"
#include "unseal.h"

/* systemd's RETRY_UNSEAL_MAX: PCRs may change between PolicyPCR and Unseal */
#define PCR_CHANGED_RETRIES 30
#define RSA_EXPONENT	    65537

/* Transient handles and sessions, flushed in reverse order whatever the path out. */
struct handles {
	struct tpm2 *t;
	unsigned n;
	uint32_t h[8];
};

static void track(struct handles *hs, uint32_t h)
{
	if (hs->n < ELEMENTSOF(hs->h))
		hs->h[hs->n++] = h;
}

static void release(struct handles *hs, uint32_t h)
{
	for (unsigned i = 0; i < hs->n; i++)
		if (hs->h[i] == h) {
			tpm2_flush(hs->t, h);
			hs->h[i] = hs->h[--hs->n];
			return;
		}
}

static void flush_all(struct handles *hs)
{
	while (hs->n)
		tpm2_flush(hs->t, hs->h[--hs->n]);
}

static int fail(int r, char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int r, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return r;
}

/* A TPM error as a negative errno, with the message for the log. */
static int tpm_error(struct tpm2 *t, int r, char *why, size_t size)
{
	char rc[96];
	if (r < 0)
		return fail(r, why, size, "TPM2_%s failed: %s", tpm2_cc_name(t->last_cc),
			    r == -EBADMSG ? "the TPM's answer is malformed or its HMAC does not verify" : strerror(-r));
	if ((uint32_t)r == TPM2_RC_LOCKOUT)
		return fail(-EBUSY, why, size,
			    "the TPM is in dictionary-attack lockout (TPM2_%s refused): it accepts no PIN and no "
			    "DA-protected key until the lockout time passes or the owner clears it",
			    tpm2_cc_name(t->last_cc));
	return fail(-EIO, why, size, "TPM2_%s failed: %s", tpm2_cc_name(t->last_cc),
		    tpm2_rc_text((uint32_t)r, rc, sizeof(rc)));
}

static bool pcrs_good(const uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX], uint32_t mask, size_t size)
{
	for (unsigned i = 0; i < TPM2_PCRS; i++)
		if (mask & (1u << i) && tpm2_pcr_extended(digests[i], size))
			return true;
	return false;
}

/* A token without tpm2-pcr-bank (before systemd 250): SHA-256 if its PCRs are set there, else SHA-1 if set
 * there, else whichever of the two banks is fully allocated (systemd's tpm2_get_best_pcr_bank). */
static int choose_bank(struct tpm2 *t, uint32_t mask, uint16_t *bank)
{
	static const uint16_t order[] = {TPM2_ALG_SHA256, TPM2_ALG_SHA1};
	uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX];
	struct tpm2_banks banks;
	bool have[2] = {false, false};
	int r = tpm2_get_banks(t, &banks);
	if (r != 0)
		return r;
	for (unsigned i = 0; i < banks.n; i++)
		for (unsigned j = 0; j < 2; j++)
			if (banks.b[i].alg == order[j] && tpm2_bank_complete(banks.b[i].mask))
				have[j] = true;
	for (unsigned j = 0; j < 2; j++) {
		if (!have[j])
			continue;
		r = tpm2_pcr_read(t, order[j], mask, digests);
		if (r != 0)
			return r;
		if (pcrs_good(digests, mask, tpm2_hash_size(order[j]))) {
			*bank = order[j];
			return 0;
		}
	}
	for (unsigned j = 0; j < 2; j++)
		if (have[j]) {
			*bank = order[j];
			return 0;
		}
	return -EOPNOTSUPP;
}

/* The token's bank must be allocated, with every PCR: when the firmware changed the TPM's banks since enrollment,
 * the policy cannot be computed, and the mismatch would look like changed PCR values. */
static int bank_allocated(struct tpm2 *t, uint16_t bank, char *why, size_t size)
{
	struct tpm2_banks banks;
	char have[64] = "";
	int r = tpm2_get_banks(t, &banks);
	if (r != 0)
		return tpm_error(t, r, why, size);
	for (unsigned i = 0; i < banks.n; i++) {
		if (!tpm2_bank_complete(banks.b[i].mask))
			continue;
		if (banks.b[i].alg == bank)
			return 0;
		size_t len = strlen(have);
		snprintf(have + len, sizeof(have) - len, "%s%s", len ? ", " : "", tpm2_hash_name(banks.b[i].alg));
	}
	return fail(-EOPNOTSUPP, why, size,
		    "it uses the %s PCR bank, which this TPM has not allocated (allocated: %s): the firmware's PCR "
		    "bank setting changed since enrollment; allocate %s again in the firmware setup, or re-enroll",
		    tpm2_hash_name(bank), have[0] ? have : "none", tpm2_hash_name(bank));
}

/* The parent: the persistent SRK named in tpm2_srk (systemd ≥ 254), or systemd's legacy primary. */
static int parent_key(struct tpm2 *t, struct handles *hs, const struct tpm2_token *tok, struct tpm2_key *parent,
		      char *why, size_t size)
{
	struct tpm2_serialized srk;
	uint8_t name[TPM2_NAME_MAX];
	char rc[96];
	int r;

	if (!tok->srk_len) {
		r = tpm2_create_primary(t, tok->primary_alg, parent);
		if (r != 0)
			return tpm_error(t, r, why, size);
		track(hs, parent->obj.handle);
		return 0;
	}
	if (tpm2_parse_serialized(tok->srk, tok->srk_len, &srk) < 0)
		return fail(-EINVAL, why, size, "\"tpm2_srk\" is malformed");
	if (srk.handle >> 24 != 0x81)
		return fail(-EOPNOTSUPP, why, size, "\"tpm2_srk\" names handle 0x%x, not a persistent key", srk.handle);
	r = tpm2_name(srk.pub, srk.pub_len, name);
	if (r < 0 || (size_t)r != srk.name_len || memcmp(name, srk.name, srk.name_len) != 0)
		return fail(-EINVAL, why, size, "\"tpm2_srk\" holds a name that is not its public key's");
	r = tpm2_read_public(t, srk.handle, parent);
	if (r > 0 && tpm2_rc_base((uint32_t)r) == TPM2_RC_HANDLE)
		return fail(-ENOENT, why, size,
			    "the TPM has no key at 0x%x, the SRK this token was sealed under (was the TPM cleared?)",
			    srk.handle);
	if (r != 0)
		return fail(r < 0 ? r : -EIO, why, size, "cannot read the SRK at 0x%x: %s", srk.handle,
			    r < 0 ? strerror(-r) : tpm2_rc_text((uint32_t)r, rc, sizeof(rc)));
	if (parent->obj.name_len != srk.name_len || memcmp(parent->obj.name, srk.name, srk.name_len) != 0)
		return fail(
			-ESTALE, why, size,
			"the key at 0x%x is not the SRK this token was sealed under (the TPM was cleared or its SRK "
			"replaced since enrollment)",
			srk.handle);
	return 0;
}

static int load_sealed(struct tpm2 *t, struct handles *hs, const struct tpm2_token *tok,
		       const struct tpm2_object *parent, struct tpm2_object *item, char *why, size_t size)
{
	struct tpm2_blob b;
	uint8_t priv[TPM2_BLOB_MAX];
	size_t priv_len = sizeof(priv);
	int r;

	if (tpm2_parse_blob(tok->blob[0], tok->blob_len[0], &b) < 0)
		return fail(-EINVAL, why, size, "\"tpm2-blob\" is malformed");
	if (b.seed_len) {
		/* sealed offline (systemd ≥ 255 --tpm2-device-key=): a duplication blob for the SRK */
		r = tpm2_import(t, parent, b.pub, b.pub_len, b.priv, b.priv_len, b.seed, b.seed_len, priv, &priv_len);
		if (r != 0)
			return tpm_error(t, r, why, size);
		r = tpm2_load(t, parent, priv, priv_len, b.pub, b.pub_len, item);
	} else
		r = tpm2_load(t, parent, b.priv, b.priv_len, b.pub, b.pub_len, item);
	if (r != 0)
		return tpm_error(t, r, why, size);
	track(hs, item->handle);
	return 0;
}

size_t tpm2_rsa_public(const struct tpm2_rsa_key *k, uint32_t exponent, uint8_t *buf, size_t size)
{
	/* an RSA key to verify with: decrypt|sign|userWithAuth, no symmetric, no scheme (systemd's
	 * tpm2_tpm2b_public_from_openssl_pkey) */
	struct tpm2_wr w = tpm2_wr(buf, size);
	tpm2_put_public_head(&w, TPM2_ALG_RSA, 0x00060040);
	tpm2_put_u16(&w, TPM2_ALG_NULL);
	tpm2_put_u16(&w, TPM2_ALG_NULL);
	tpm2_put_u16(&w, (uint16_t)(k->n_len * 8));
	tpm2_put_u32(&w, exponent);
	tpm2_put_tpm2b(&w, k->n, k->n_len);
	return w.overflow ? 0 : w.len;
}

/* PolicyAuthorize with the token's key and the UKI's signature for the current PCR values. */
static int authorize(struct tpm2 *t, struct tpm2_session *policy, const struct tpm2_token *tok, uint16_t bank,
		     const struct tpm2_rsa_key *key, uint32_t exponent, const struct tpm2_signature *signature,
		     char *why, size_t size)
{
	uint8_t pub[TPM2_PUBLIC_MAX], approved[TPM2_SHA256_SIZE], digest[TPM2_SHA256_SIZE], sig[TPM2_RSA_MAX],
		ticket[128];
	size_t ticket_len = sizeof(ticket);
	struct tpm2_object ext;
	char pcrs[64];
	int r;

	tpm2_mask_text(tok->pubkey_pcr_mask, pcrs, sizeof(pcrs));
	if (!signature->json)
		return fail(-ENOENT, why, size,
			    "it has a signed PCR policy, but there is no signature file %s (from the UKI's .pcrsig "
			    "section)",
			    signature->path);
	size_t pub_len = tpm2_rsa_public(key, exponent, pub, sizeof(pub));
	r = tpm2_load_external(t, pub, pub_len, &ext);
	if (r != 0)
		return tpm_error(t, r, why, size);
	r = tpm2_policy_pcr(t, policy, bank, tok->pubkey_pcr_mask);
	if (r == 0)
		r = tpm2_policy_get_digest(t, policy, approved);
	if (r != 0) {
		tpm_error(t, r, why, size);
		goto out;
	}
	int n = tpm2_signature_find(signature->json, signature->len, bank, tok->pubkey_pcr_mask, key->fingerprint,
				    approved, sig, sizeof(sig));
	if (n == -ENOENT) {
		r = fail(-EPERM, why, size,
			 "%s has no signature by this token's key for the current values of PCRs %s (%s): the UKI "
			 "does not allow this boot phase or these PCR values",
			 signature->path, pcrs, tpm2_hash_name(bank));
		goto out;
	}
	if (n < 0) {
		r = fail(-EINVAL, why, size, "%s is not a valid PCR signature file", signature->path);
		goto out;
	}
	/* systemd-measure signs SHA256(approvedPolicy); the TPM checks the RSA part */
	tpm2_hash(TPM2_ALG_SHA256, approved, sizeof(approved), digest);
	r = tpm2_verify_signature(t, &ext, digest, sig, (size_t)n, ticket, &ticket_len);
	if (r > 0 && tpm2_rc_base((uint32_t)r) == 0x09B) {
		r = fail(-EPERM, why, size, "the signature in %s for PCRs %s does not verify with the token's key",
			 signature->path, pcrs);
		goto out;
	}
	if (r == 0)
		r = tpm2_policy_authorize(t, policy, approved, ext.name, ext.name_len, ticket, ticket_len);
	if (r != 0)
		tpm_error(t, r, why, size);
out:
	tpm2_flush(t, ext.handle);
	return r > 0 ? -EIO : r;
}

/* What one attempt holds in the TPM, flushed and wiped whatever the path out. */
struct attempt {
	struct handles hs;
	struct tpm2_session hmac, policy;
	struct tpm2_key parent;
	struct tpm2_object item;
	struct tpm2_rsa_key key; /* the signed policy's key, when the token has one */
	uint32_t exponent;
	uint16_t bank;
};

static void attempt_done(struct attempt *a)
{
	flush_all(&a->hs);
	tpm2_session_wipe(&a->hmac);
	tpm2_session_wipe(&a->policy);
}

/* A session salted to the parent itself, the key whose name was checked against tpm2_srk or the legacy primary
 * made from systemd's template: no other key enters the path. */
static int start_session(struct tpm2 *t, struct handles *hs, uint8_t type, const struct tpm2_key *parent,
			 struct tpm2_session *s, char *why, size_t size)
{
	int r = tpm2_start_session(t, type, parent, s);
	if (r == -EOPNOTSUPP)
		return fail(r, why, size,
			    "its parent key is neither ECC P-256 nor RSA of at least 2048 bits with SHA-256 names, the "
			    "keys earlyroot salts sessions to");
	if (r != 0)
		return tpm_error(t, r, why, size);
	track(hs, s->handle);
	return 0;
}

/* The token's policy key, the parent, the sealed object and the two sessions, then the PCR bank. */
static int prepare(struct tpm2 *t, const struct tpm2_token *tok, struct attempt *a, char *why, size_t size)
{
	int r;
	if (tok->pcr_bank && (tok->pcr_mask | tok->pubkey_pcr_mask) &&
	    (r = bank_allocated(t, tok->pcr_bank, why, size)) < 0)
		return r;
	if (tok->pubkey_pcr_mask) {
		r = tpm2_pem_rsa_parse(tok->pubkey_pem, strlen(tok->pubkey_pem), &a->key);
		if (r < 0)
			return fail(r, why, size, "its signed PCR policy key (tpm2_pubkey) is %s",
				    r == -EOPNOTSUPP ? "not an RSA key, the only kind earlyroot supports"
						     : "malformed");
		a->exponent = a->key.e;
	}
	if ((r = parent_key(t, &a->hs, tok, &a->parent, why, size)) < 0 ||
	    (r = load_sealed(t, &a->hs, tok, &a->parent.obj, &a->item, why, size)) < 0 ||
	    (r = start_session(t, &a->hs, TPM2_SE_HMAC, &a->parent, &a->hmac, why, size)) < 0 ||
	    (r = start_session(t, &a->hs, TPM2_SE_POLICY, &a->parent, &a->policy, why, size)) < 0)
		return r;
	/* a transient parent is no longer needed: free its slot for LoadExternal */
	if (a->parent.obj.handle >> 24 == 0x80)
		release(&a->hs, a->parent.obj.handle);

	a->bank = tok->pcr_bank;
	uint32_t all = tok->pcr_mask | tok->pubkey_pcr_mask;
	if (a->bank || !all)
		return 0;
	r = choose_bank(t, all, &a->bank);
	if (r == -EOPNOTSUPP)
		return fail(r, why, size, "the TPM has neither a complete SHA-256 nor a SHA-1 PCR bank");
	return r != 0 ? tpm_error(t, r, why, size) : 0;
}

/* Replays the token's policy in the policy session until the TPM's digest is the token's. */
static int replay_policy(struct tpm2 *t, const struct tpm2_token *tok, struct attempt *a, const uint8_t *auth,
			 size_t auth_len, const struct tpm2_signature *sig, char *why, size_t size)
{
	uint8_t digest[TPM2_SHA256_SIZE];
	char pcrs[64];
	int r;
	for (;;) {
		if (tok->pubkey_pcr_mask &&
		    (r = authorize(t, &a->policy, tok, a->bank, &a->key, a->exponent, sig, why, size)) < 0)
			return r;
		if (tok->pcr_mask && (r = tpm2_policy_pcr(t, &a->policy, a->bank, tok->pcr_mask)) != 0)
			return tpm_error(t, r, why, size);
		if (tok->pin) {
			r = tpm2_policy_auth_value(t, &a->policy);
			if (r != 0)
				return tpm_error(t, r, why, size);
			if (auth_len)
				memcpy(a->policy.auth, auth, auth_len);
			a->policy.auth_len = auth_len;
		}
		r = tpm2_policy_get_digest(t, &a->policy, digest);
		if (r != 0)
			return tpm_error(t, r, why, size);
		if (memcmp(digest, tok->policy_hash[0], sizeof(digest)) == 0)
			return 0;
		/* keys enrolled by some systemd versions between 252 and 257 hashed the exponent as 0 */
		if (!tok->pubkey_pcr_mask || a->exponent != RSA_EXPONENT)
			break;
		a->exponent = 0;
		r = tpm2_policy_restart(t, &a->policy);
		if (r != 0)
			return tpm_error(t, r, why, size);
	}
	if (!tok->pcr_mask)
		return fail(-EPERM, why, size,
			    "the policy the TPM computes differs from the token's tpm2-policy-hash, without any PCR "
			    "in it: the token does not describe its sealed object");
	return fail(-EPERM, why, size,
		    "the PCR policy does not match the current PCR values (PCRs %s in %s): the firmware or boot chain "
		    "changed since enrollment",
		    tpm2_mask_text(tok->pcr_mask, pcrs, sizeof(pcrs)), tpm2_hash_name(a->bank));
}

static int unseal_once(struct tpm2 *t, const struct tpm2_token *tok, const uint8_t *auth, size_t auth_len,
		       const struct tpm2_signature *sig, uint8_t *secret, size_t *secret_len, char *why, size_t size)
{
	__attribute__((cleanup(attempt_done))) struct attempt a = {.hs = {.t = t}};
	int r = prepare(t, tok, &a, why, size);
	if (r == 0)
		r = replay_policy(t, tok, &a, auth, auth_len, sig, why, size);
	if (r < 0)
		return r;
	r = tpm2_unseal(t, &a.item, &a.policy, &a.hmac, secret, secret_len);
	if (r == 0)
		return 0;
	if (r == TPM2_RC_PCR_CHANGED)
		return -EAGAIN;
	if (r > 0 && (tpm2_rc_base((uint32_t)r) == TPM2_RC_AUTH_FAIL || tpm2_rc_base((uint32_t)r) == TPM2_RC_BAD_AUTH))
		return fail(-EACCES, why, size, "wrong PIN");
	if (r == -EBADMSG)
		return fail(-EBADMSG, why, size,
			    "the TPM's answer to Unseal does not verify (wrong response HMAC): the TPM or its bus is "
			    "not to be trusted");
	return tpm_error(t, r, why, size);
}

int tpm2_token_unseal(struct tpm2 *t, const struct tpm2_token *tok, const uint8_t *auth, size_t auth_len,
		      const struct tpm2_signature *signature, uint8_t *secret, size_t *secret_len, char *why,
		      size_t why_size)
{
	size_t cap = *secret_len;
	int r = -EAGAIN;
	if (auth_len > TPM2_SHA256_SIZE)
		return fail(-EINVAL, why, why_size, "authValue too long");
	for (unsigned i = 0; i < PCR_CHANGED_RETRIES && r == -EAGAIN; i++) {
		*secret_len = cap;
		r = unseal_once(t, tok, auth, auth_len, signature, secret, secret_len, why, why_size);
	}
	if (r == -EAGAIN)
		return fail(-EAGAIN, why, why_size, "the PCRs kept changing while unsealing");
	return r;
}
