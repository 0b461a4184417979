/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure parsers: systemd-tpm2 token JSON (systemd 252…257), the signed-policy key (PEM) and the
 * signature JSON of systemd-measure. No TPM, no I/O: the unit tests and fuzzers call them directly. */
#include <stdlib.h>
#include <strings.h>

#include <json-c/json.h>
#include <nettle/asn1.h>
#include <nettle/base64.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

#include "macro.h"
#include "token.h"

/* json-c's default; systemd's tokens are two levels deep */
#define JSON_DEPTH 16

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))

static struct json_object *json_parse(const char *s, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return NULL;
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	/* a complete value, and nothing but whitespace after it */
	bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = ok ? json_tokener_get_parse_end(tok) : len; ok && i < len; i++)
		ok = s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r';
	json_tokener_free(tok);
	if (!ok && o) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Older fields are spelled with hyphens (tpm2-blob), newer ones with underscores (tpm2_srk); take either. */
static struct json_object *field(struct json_object *o, const char *name)
{
	struct json_object *v;
	char alt[64];
	if (json_object_object_get_ex(o, name, &v))
		return v;
	size_t n = strlen(name);
	if (n >= sizeof(alt))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		alt[i] = name[i] == '-' ? '_' : name[i] == '_' ? '-' : name[i];
	return json_object_object_get_ex(o, alt, &v) ? v : NULL;
}

static int base64_decode(const char *s, size_t len, uint8_t *out, size_t size)
{
	struct base64_decode_ctx b;
	size_t n = size;
	if (BASE64_DECODE_LENGTH(len) > size)
		return -E2BIG;
	base64_decode_init(&b);
	if (!base64_decode_update(&b, &n, out, len, s) || !base64_decode_final(&b))
		return -EINVAL;
	return (int)n;
}

static int hex_decode(const char *s, uint8_t *out, size_t size)
{
	size_t len = strlen(s);
	if (len != 2 * size)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		int v = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						 : -1;
		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int string_of(struct json_object *v, const char **s, size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return strlen(*s) == *len ? 0 : -EINVAL; /* no NUL inside */
}

/* An array of PCR indexes (JSON integers 0–23) as a mask. */
static int pcr_mask(struct json_object *v, uint32_t *mask)
{
	*mask = 0;
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_int))
			return -EINVAL;
		int64_t pcr = json_object_get_int64(e);
		if (pcr < 0 || pcr >= TPM2_PCRS)
			return -EINVAL;
		*mask |= 1u << pcr;
	}
	return 0;
}

static int boolean(struct json_object *v, bool *b)
{
	*b = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*b = json_object_get_boolean(v);
	return 0;
}

/* systemd 257 writes tpm2-blob and tpm2-policy-hash as a string or as an array of shards */
static int shards(struct json_object *v, struct json_object **out, unsigned *n)
{
	if (json_object_is_type(v, json_type_string)) {
		out[0] = v;
		*n = 1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	size_t len = json_object_array_length(v);
	if (len == 0)
		return -EINVAL;
	if (len > TPM2_SHARDS_MAX)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < len; i++)
		out[i] = json_object_array_get_idx(v, i);
	*n = (unsigned)len;
	return 0;
}

static int keyslot(struct json_object *v, int *slot)
{
	struct json_object *e;
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) < 1)
		return -EINVAL;
	e = json_object_array_get_idx(v, 0);
	long n;
	if (json_object_is_type(e, json_type_string)) {
		const char *s = json_object_get_string(e);
		char *end;
		if (s[0] < '0' || s[0] > '9')
			return -EINVAL;
		errno = 0;
		n = strtol(s, &end, 10);
		if (*end || errno)
			return -EINVAL;
	} else if (json_object_is_type(e, json_type_int))
		n = (long)json_object_get_int64(e);
	else
		return -EINVAL;
	if (n < 0 || n >= TPM2_KEYSLOT_MAX)
		return -EINVAL;
	*slot = (int)n;
	return 0;
}

/* Each parser fills its part of the token from one field, or says why it cannot (*why) and returns -EINVAL
 * (malformed) or -EOPNOTSUPP (well-formed, but beyond what earlyroot does). v is NULL when the field is absent. */
typedef int (*field_parser)(struct json_object *v, struct tpm2_token *t, const char **why);

static int fail(int r, const char **why, const char *msg)
{
	*why = msg;
	return r;
}

/* base64 text into out; -E2BIG beyond size */
static int base64_field(struct json_object *v, uint8_t *out, size_t size)
{
	const char *s;
	size_t len;
	if (string_of(v, &s, &len) < 0)
		return -EINVAL;
	return base64_decode(s, len, out, size);
}

static int parse_type(struct json_object *v, struct tpm2_token *t, const char **why)
{
	const char *s;
	size_t len;
	(void)t;
	if (!v || string_of(v, &s, &len) < 0 || strcmp(s, "systemd-tpm2") != 0)
		return fail(-EINVAL, why, "the token's type is not systemd-tpm2");
	return 0;
}

static int parse_keyslots(struct json_object *v, struct tpm2_token *t, const char **why)
{
	return v && keyslot(v, &t->keyslot) == 0 ? 0 : fail(-EINVAL, why, "\"keyslots\" does not name a keyslot");
}

static int parse_blob(struct json_object *v, struct tpm2_token *t, const char **why)
{
	struct json_object *blobs[TPM2_SHARDS_MAX];
	struct tpm2_blob b;
	int r;
	if (!v || (r = shards(v, blobs, &t->nshards)) == -EINVAL)
		return fail(-EINVAL, why, "\"tpm2-blob\" is missing or not base64 text");
	if (r < 0)
		return fail(-EOPNOTSUPP, why, "\"tpm2-blob\" has more shards than systemd creates");
	for (unsigned i = 0; i < t->nshards; i++) {
		r = base64_field(blobs[i], t->blob[i], sizeof(t->blob[i]));
		if (r == -E2BIG)
			return fail(-EOPNOTSUPP, why, "\"tpm2-blob\" is larger than earlyroot accepts");
		if (r <= 0)
			return fail(-EINVAL, why, "\"tpm2-blob\" is not base64 text");
		t->blob_len[i] = (size_t)r;
		if (tpm2_parse_blob(t->blob[i], t->blob_len[i], &b) < 0)
			return fail(-EINVAL, why, "\"tpm2-blob\" does not hold a TPM2B_PRIVATE and a TPM2B_PUBLIC");
	}
	return 0;
}

static int parse_policy_hash(struct json_object *v, struct tpm2_token *t, const char **why)
{
	struct json_object *hashes[TPM2_SHARDS_MAX];
	const char *s;
	size_t len;
	unsigned n;
	if (!v || shards(v, hashes, &n) < 0 || n != t->nshards)
		return fail(-EINVAL, why, "\"tpm2-policy-hash\" is missing or does not match \"tpm2-blob\"");
	for (unsigned i = 0; i < n; i++)
		if (string_of(hashes[i], &s, &len) < 0 || hex_decode(s, t->policy_hash[i], TPM2_SHA256_SIZE) < 0)
			return fail(-EINVAL, why, "\"tpm2-policy-hash\" is not a SHA-256 digest in hex");
	return 0;
}

static int parse_pcrs(struct json_object *v, struct tpm2_token *t, const char **why)
{
	return v && pcr_mask(v, &t->pcr_mask) == 0
		       ? 0
		       : fail(-EINVAL, why, "\"tpm2-pcrs\" is missing or not a list of PCR numbers 0-23");
}

static int parse_pcr_bank(struct json_object *v, struct tpm2_token *t, const char **why)
{
	const char *s;
	size_t len;
	if (!v)
		return 0; /* chosen from the TPM's banks at unseal */
	if (string_of(v, &s, &len) < 0)
		return fail(-EINVAL, why, "\"tpm2-pcr-bank\" is not a string");
	t->pcr_bank = tpm2_hash_from_name(s);
	if (!t->pcr_bank)
		return fail(-EOPNOTSUPP, why, "\"tpm2-pcr-bank\" names a PCR bank earlyroot does not know");
	return 0;
}

static int parse_primary_alg(struct json_object *v, struct tpm2_token *t, const char **why)
{
	const char *s;
	size_t len;
	t->primary_alg = TPM2_ALG_ECC;
	if (!v)
		return 0;
	if (string_of(v, &s, &len) < 0)
		return fail(-EINVAL, why, "\"tpm2-primary-alg\" is not a string");
	if (strcasecmp(s, "rsa") == 0)
		t->primary_alg = TPM2_ALG_RSA;
	else if (strcasecmp(s, "ecc") != 0)
		return fail(-EOPNOTSUPP, why, "\"tpm2-primary-alg\" is neither ecc nor rsa");
	return 0;
}

static int parse_pin(struct json_object *v, struct tpm2_token *t, const char **why)
{
	return boolean(v, &t->pin) < 0 ? fail(-EINVAL, why, "\"tpm2-pin\" is not a boolean") : 0;
}

static int parse_pcrlock(struct json_object *v, struct tpm2_token *t, const char **why)
{
	return boolean(v, &t->pcrlock) < 0 ? fail(-EINVAL, why, "\"tpm2_pcrlock\" is not a boolean") : 0;
}

static int parse_pubkey_pcrs(struct json_object *v, struct tpm2_token *t, const char **why)
{
	return !v || pcr_mask(v, &t->pubkey_pcr_mask) == 0
		       ? 0
		       : fail(-EINVAL, why, "\"tpm2_pubkey_pcrs\" is not a list of PCR numbers 0-23");
}

static int parse_pubkey(struct json_object *v, struct tpm2_token *t, const char **why)
{
	if (v) {
		int r = base64_field(v, (uint8_t *)t->pubkey_pem, sizeof(t->pubkey_pem) - 1);
		if (r == -E2BIG)
			return fail(-EOPNOTSUPP, why, "\"tpm2_pubkey\" is larger than earlyroot accepts");
		if (r < 0 || memchr(t->pubkey_pem, 0, (size_t)r))
			return fail(-EINVAL, why, "\"tpm2_pubkey\" is not base64 of a PEM key");
		t->pubkey_pem[r] = 0;
	}
	if (t->pubkey_pcr_mask && !t->pubkey_pem[0])
		return fail(-EINVAL, why, "\"tpm2_pubkey_pcrs\" is set but \"tpm2_pubkey\" is missing");
	return 0;
}

static int parse_salt(struct json_object *v, struct tpm2_token *t, const char **why)
{
	int r = v ? base64_field(v, t->salt, sizeof(t->salt)) : 0;
	if (v && r <= 0)
		return fail(-EINVAL, why, "\"tpm2_salt\" is not base64 of a salt up to 64 bytes");
	t->salt_len = (size_t)r;
	return 0;
}

static int parse_srk(struct json_object *v, struct tpm2_token *t, const char **why)
{
	struct tpm2_serialized srk;
	if (!v)
		return 0;
	int r = base64_field(v, t->srk, sizeof(t->srk));
	if (r <= 0)
		return fail(-EINVAL, why, "\"tpm2_srk\" is not base64 text");
	t->srk_len = (size_t)r;
	r = tpm2_parse_serialized(t->srk, t->srk_len, &srk);
	if (r == -EOPNOTSUPP)
		return fail(-EOPNOTSUPP, why, "\"tpm2_srk\" serialises an NV index, not a key");
	if (r < 0)
		return fail(-EINVAL, why, "\"tpm2_srk\" is not an ESYS_TR serialisation of a key");
	return 0;
}

/* In this order: tpm2-policy-hash needs the blob's shard count, tpm2_pubkey the tpm2_pubkey_pcrs. */
static const struct {
	const char *name;
	field_parser parse;
} fields[] = {
	{"type", parse_type},
	{"keyslots", parse_keyslots},
	{"tpm2-blob", parse_blob},
	{"tpm2-policy-hash", parse_policy_hash},
	{"tpm2-pcrs", parse_pcrs},
	{"tpm2-pcr-bank", parse_pcr_bank},
	{"tpm2-primary-alg", parse_primary_alg},
	{"tpm2-pin", parse_pin},
	{"tpm2_pcrlock", parse_pcrlock},
	{"tpm2_pubkey_pcrs", parse_pubkey_pcrs},
	{"tpm2_pubkey", parse_pubkey},
	{"tpm2_salt", parse_salt},
	{"tpm2_srk", parse_srk},
};

int tpm2_token_parse(const char *json, size_t len, struct tpm2_token *t, const char **why)
{
	_cleanup_json_ struct json_object *o = json_parse(json, len);
	memset(t, 0, sizeof(*t));
	*why = NULL;
	if (!o || !json_object_is_type(o, json_type_object))
		return fail(-EINVAL, why, "the token is not a JSON object");
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		int r = fields[i].parse(field(o, fields[i].name), t, why);
		if (r < 0)
			return r;
	}
	/* well-formed; now what earlyroot cannot do */
	if (t->pcrlock)
		return fail(-EOPNOTSUPP, why,
			    "it uses a systemd-pcrlock policy (tpm2_pcrlock), which earlyroot does not support");
	if (t->nshards > 1)
		return fail(-EOPNOTSUPP, why, "it is split into shards, which systemd does only for pcrlock policies");
	return 0;
}

int tpm2_pem_rsa_parse(const char *pem, size_t len, struct tpm2_rsa_key *k)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----", end[] = "-----END PUBLIC KEY-----";
	static const uint8_t rsa_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
					  0x0d, 0x01, 0x01, 0x01}; /* 1.2.840.113549.1.1.1 */
	uint8_t der[TPM2_PEM_MAX];
	struct asn1_der_iterator i, alg;
	struct rsa_public_key pub;
	int r;

	memset(k, 0, sizeof(*k));
	const char *b = memmem(pem, len, begin, sizeof(begin) - 1);
	if (!b)
		return memmem(pem, len, "-----BEGIN", 10) ? -EOPNOTSUPP : -EINVAL;
	b += sizeof(begin) - 1;
	const char *e = memmem(b, len - (size_t)(b - pem), end, sizeof(end) - 1);
	if (!e)
		return -EINVAL;
	int der_len = base64_decode(b, (size_t)(e - b), der, sizeof(der));
	if (der_len <= 0)
		return -EINVAL;

	/* SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { OID, params }, BIT STRING { RSAPublicKey } } */
	if (asn1_der_iterator_first(&i, (size_t)der_len, der) != ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE ||
	    asn1_der_decode_constructed_last(&i) != ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE ||
	    asn1_der_decode_constructed(&i, &alg) != ASN1_ITERATOR_PRIMITIVE || alg.type != ASN1_IDENTIFIER)
		return -EINVAL;
	if (alg.length != sizeof(rsa_oid) || memcmp(alg.data, rsa_oid, sizeof(rsa_oid)) != 0)
		return -EOPNOTSUPP;
	if (asn1_der_iterator_next(&i) != ASN1_ITERATOR_PRIMITIVE || i.type != ASN1_BITSTRING || i.length < 2 ||
	    i.data[0] != 0)
		return -EINVAL;
	/* systemd's "pkfp" is SHA-256 of OpenSSL's i2d_PublicKey(): for RSA the PKCS#1 RSAPublicKey DER, which is
	 * what the BIT STRING holds (after its unused-bits byte) */
	struct sha256_ctx h;
	sha256_init(&h);
	sha256_update(&h, i.length - 1, i.data + 1);
	sha256_digest(&h, sizeof(k->fingerprint), k->fingerprint);
	if (asn1_der_decode_bitstring_last(&i) != ASN1_ITERATOR_CONSTRUCTED)
		return -EINVAL;
	rsa_public_key_init(&pub);
	r = -EINVAL;
	if (rsa_public_key_from_der_iterator(&pub, TPM2_RSA_MAX * 8, &i) && mpz_sizeinbase(pub.e, 2) <= 32) {
		k->n_len = nettle_mpz_sizeinbase_256_u(pub.n);
		nettle_mpz_get_str_256(k->n_len, k->n, pub.n);
		k->e = (uint32_t)mpz_get_ui(pub.e);
		r = 0;
	}
	rsa_public_key_clear(&pub);
	return r;
}

static bool hex_equal(struct json_object *v, const uint8_t *want, size_t size)
{
	uint8_t got[TPM2_SHA256_SIZE];
	const char *s;
	size_t len;
	return size <= sizeof(got) && string_of(v, &s, &len) == 0 && hex_decode(s, got, size) == 0 &&
	       memcmp(got, want, size) == 0;
}

int tpm2_signature_find(const char *json, size_t len, uint16_t bank, uint32_t mask,
			const uint8_t pkfp[TPM2_SHA256_SIZE], const uint8_t pol[TPM2_SHA256_SIZE], uint8_t *sig,
			size_t size)
{
	_cleanup_json_ struct json_object *o = json_parse(json, len);
	if (!o || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	json_object_object_foreach(o, key, list)
	{
		if (tpm2_hash_from_name(key) != bank)
			continue;
		if (!json_object_is_type(list, json_type_array))
			return -EINVAL;
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *e = json_object_array_get_idx(list, i), *v;
			uint32_t m;
			const char *s;
			size_t slen;
			if (!json_object_is_type(e, json_type_object))
				return -EINVAL;
			if (!(v = field(e, "pcrs")) || pcr_mask(v, &m) < 0 || m != mask)
				continue;
			if ((v = field(e, "pkfp")) && !hex_equal(v, pkfp, TPM2_SHA256_SIZE))
				continue;
			if (!(v = field(e, "pol")) || !hex_equal(v, pol, TPM2_SHA256_SIZE))
				continue;
			if (!(v = field(e, "sig")) || string_of(v, &s, &slen) < 0)
				return -EINVAL;
			int r = base64_decode(s, slen, sig, size);
			return r <= 0 ? -EINVAL : r;
		}
	}
	return -ENOENT;
}
