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

#include "tpm2.h"

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

/* Fields were spelled with hyphens before systemd 250 and with underscores after; take either. */
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

static int boolean(struct json_object *o, const char *name, bool *b)
{
	struct json_object *v = field(o, name);
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

static int keyslot(struct json_object *o, int *slot)
{
	struct json_object *v = field(o, "keyslots"), *e;
	if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) < 1)
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

#define FAIL(r_, msg)         \
	do {                  \
		*why = (msg); \
		return (r_);  \
	} while (0)

int tpm2_token_parse(const char *json, size_t len, struct tpm2_token *t, const char **why)
{
	_cleanup_json_ struct json_object *o = json_parse(json, len);
	struct json_object *v, *blobs[TPM2_SHARDS_MAX], *hashes[TPM2_SHARDS_MAX];
	const char *s;
	size_t slen;
	unsigned nhashes;
	int r;

	memset(t, 0, sizeof(*t));
	*why = NULL;
	if (!o || !json_object_is_type(o, json_type_object))
		FAIL(-EINVAL, "the token is not a JSON object");
	v = field(o, "type");
	if (!v || string_of(v, &s, &slen) < 0 || strcmp(s, "systemd-tpm2") != 0)
		FAIL(-EINVAL, "the token's type is not systemd-tpm2");
	if (keyslot(o, &t->keyslot) < 0)
		FAIL(-EINVAL, "\"keyslots\" does not name a keyslot");

	v = field(o, "tpm2-blob");
	if (!v || (r = shards(v, blobs, &t->nshards)) == -EINVAL)
		FAIL(-EINVAL, "\"tpm2-blob\" is missing or not base64 text");
	if (r < 0)
		FAIL(-EOPNOTSUPP, "\"tpm2-blob\" has more shards than systemd creates");
	for (unsigned i = 0; i < t->nshards; i++) {
		if (string_of(blobs[i], &s, &slen) < 0)
			FAIL(-EINVAL, "\"tpm2-blob\" is not base64 text");
		r = base64_decode(s, slen, t->blob[i], sizeof(t->blob[i]));
		if (r == -E2BIG)
			FAIL(-EOPNOTSUPP, "\"tpm2-blob\" is larger than earlyroot accepts");
		if (r <= 0)
			FAIL(-EINVAL, "\"tpm2-blob\" is not base64 text");
		t->blob_len[i] = (size_t)r;
		struct tpm2_blob b;
		if (tpm2_parse_blob(t->blob[i], t->blob_len[i], &b) < 0)
			FAIL(-EINVAL, "\"tpm2-blob\" does not hold a TPM2B_PRIVATE and a TPM2B_PUBLIC");
	}

	v = field(o, "tpm2-policy-hash");
	if (!v || shards(v, hashes, &nhashes) < 0 || nhashes != t->nshards)
		FAIL(-EINVAL, "\"tpm2-policy-hash\" is missing or does not match \"tpm2-blob\"");
	for (unsigned i = 0; i < nhashes; i++)
		if (string_of(hashes[i], &s, &slen) < 0 || hex_decode(s, t->policy_hash[i], TPM2_SHA256_SIZE) < 0)
			FAIL(-EINVAL, "\"tpm2-policy-hash\" is not a SHA-256 digest in hex");

	v = field(o, "tpm2-pcrs");
	if (!v || pcr_mask(v, &t->pcr_mask) < 0)
		FAIL(-EINVAL, "\"tpm2-pcrs\" is missing or not a list of PCR numbers 0-23");

	v = field(o, "tpm2-pcr-bank");
	if (v) {
		if (string_of(v, &s, &slen) < 0)
			FAIL(-EINVAL, "\"tpm2-pcr-bank\" is not a string");
		t->pcr_bank = tpm2_hash_from_name(s);
		if (!t->pcr_bank)
			FAIL(-EOPNOTSUPP, "\"tpm2-pcr-bank\" names a PCR bank earlyroot does not know");
	}

	t->primary_alg = TPM2_ALG_ECC;
	v = field(o, "tpm2-primary-alg");
	if (v) {
		if (string_of(v, &s, &slen) < 0)
			FAIL(-EINVAL, "\"tpm2-primary-alg\" is not a string");
		if (strcasecmp(s, "ecc") == 0)
			t->primary_alg = TPM2_ALG_ECC;
		else if (strcasecmp(s, "rsa") == 0)
			t->primary_alg = TPM2_ALG_RSA;
		else
			FAIL(-EOPNOTSUPP, "\"tpm2-primary-alg\" is neither ecc nor rsa");
	}

	if (boolean(o, "tpm2-pin", &t->pin) < 0)
		FAIL(-EINVAL, "\"tpm2-pin\" is not a boolean");
	if (boolean(o, "tpm2_pcrlock", &t->pcrlock) < 0)
		FAIL(-EINVAL, "\"tpm2_pcrlock\" is not a boolean");

	v = field(o, "tpm2_pubkey_pcrs");
	if (v && pcr_mask(v, &t->pubkey_pcr_mask) < 0)
		FAIL(-EINVAL, "\"tpm2_pubkey_pcrs\" is not a list of PCR numbers 0-23");
	v = field(o, "tpm2_pubkey");
	if (v) {
		if (string_of(v, &s, &slen) < 0)
			FAIL(-EINVAL, "\"tpm2_pubkey\" is not base64 text");
		r = base64_decode(s, slen, (uint8_t *)t->pubkey_pem, sizeof(t->pubkey_pem) - 1);
		if (r == -E2BIG)
			FAIL(-EOPNOTSUPP, "\"tpm2_pubkey\" is larger than earlyroot accepts");
		if (r < 0 || memchr(t->pubkey_pem, 0, (size_t)r))
			FAIL(-EINVAL, "\"tpm2_pubkey\" is not base64 of a PEM key");
		t->pubkey_pem[r] = 0;
	}
	if (t->pubkey_pcr_mask && !t->pubkey_pem[0])
		FAIL(-EINVAL, "\"tpm2_pubkey_pcrs\" is set but \"tpm2_pubkey\" is missing");

	v = field(o, "tpm2_salt");
	if (v) {
		if (string_of(v, &s, &slen) < 0 || (r = base64_decode(s, slen, t->salt, sizeof(t->salt))) <= 0)
			FAIL(-EINVAL, "\"tpm2_salt\" is not base64 of a salt up to 64 bytes");
		t->salt_len = (size_t)r;
	}

	v = field(o, "tpm2_srk");
	if (v) {
		struct tpm2_serialized srk;
		if (string_of(v, &s, &slen) < 0 || (r = base64_decode(s, slen, t->srk, sizeof(t->srk))) <= 0)
			FAIL(-EINVAL, "\"tpm2_srk\" is not base64 text");
		t->srk_len = (size_t)r;
		r = tpm2_parse_serialized(t->srk, t->srk_len, &srk);
		if (r == -EOPNOTSUPP)
			FAIL(-EOPNOTSUPP, "\"tpm2_srk\" serialises an NV index, not a key");
		if (r < 0)
			FAIL(-EINVAL, "\"tpm2_srk\" is not an ESYS_TR serialisation of a key");
	}

	/* well-formed; now what earlyroot cannot do */
	if (t->pcrlock)
		FAIL(-EOPNOTSUPP, "it uses a systemd-pcrlock policy (tpm2_pcrlock), which earlyroot does not support");
	if (t->nshards > 1)
		FAIL(-EOPNOTSUPP, "it is split into shards, which systemd does only for pcrlock policies");
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
