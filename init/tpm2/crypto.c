/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TPM2 protocol's own functions (KDFa, KDFe, ECDH and RSA-OAEP salting, names, PIN authValue) on nettle's
 * primitives. TPM 2.0 Library part 1, §11.4.10 (KDFa, KDFe), §B.10.3 (RSA-OAEP) and §C.6.1 (ECDH). */
#include <stdlib.h>
#include <sys/random.h>

#include <nettle/aes.h>
#include <nettle/base64.h>
#include <nettle/bignum.h>
#include <nettle/cfb.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "macro.h"
#include "crypto.h"

/* systemd's PBKDF2_HMAC_SHA256_ITERATIONS for salted PINs (v253+) */
#define PIN_PBKDF2_ITERATIONS 10000
/* PC Client TPMs have 2048-bit RSA keys; a smaller salt key would be the weak link of the session */
#define RSA_MIN_BYTES	      (2048 / 8)

int tpm2_random(void *buf, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = getrandom((uint8_t *)buf + done, n - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

void tpm2_kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes)
{
	struct hmac_sha256_ctx h;
	uint8_t counter[4], bits[4], block[SHA256_DIGEST_SIZE];
	tpm2_be32(bits, (uint32_t)(bytes * 8));
	for (uint32_t i = 1; bytes > 0; i++) {
		size_t n = bytes < sizeof(block) ? bytes : sizeof(block);
		tpm2_be32(counter, i);
		hmac_sha256_set_key(&h, key_len, key);
		hmac_sha256_update(&h, 4, counter);
		hmac_sha256_update(&h, strlen(label) + 1, (const uint8_t *)label); /* with its NUL */
		hmac_sha256_update(&h, u_len, u);
		hmac_sha256_update(&h, v_len, v);
		hmac_sha256_update(&h, 4, bits);
		hmac_sha256_digest(&h, sizeof(block), block);
		memcpy(out, block, n);
		out += n, bytes -= n;
	}
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(block, sizeof(block));
}

void tpm2_kdfe(const uint8_t *z, size_t z_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes)
{
	struct sha256_ctx h;
	uint8_t counter[4], block[SHA256_DIGEST_SIZE];
	for (uint32_t i = 1; bytes > 0; i++) {
		size_t n = bytes < sizeof(block) ? bytes : sizeof(block);
		tpm2_be32(counter, i);
		sha256_init(&h);
		sha256_update(&h, 4, counter);
		sha256_update(&h, z_len, z);
		sha256_update(&h, strlen(label) + 1, (const uint8_t *)label);
		sha256_update(&h, u_len, u);
		sha256_update(&h, v_len, v);
		sha256_digest(&h, sizeof(block), block);
		memcpy(out, block, n);
		out += n, bytes -= n;
	}
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(block, sizeof(block));
}

struct rnd {
	int err;
};

static void random_cb(void *ctx, size_t n, uint8_t *dst)
{
	struct rnd *r = ctx;
	int e = tpm2_random(dst, n);
	if (e < 0)
		r->err = e;
}

static void mpz_wipe(mpz_t z)
{
	size_t n = mpz_size(z);
	if (n)
		explicit_bzero(mpz_limbs_modify(z, (mp_size_t)n), n * sizeof(mp_limb_t));
	mpz_clear(z);
}

int tpm2_ecdh_salt(const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len, uint8_t salt[32],
		   uint8_t point[TPM2_ECC_POINT_SIZE])
{
	const struct ecc_curve *curve = nettle_get_secp_256r1();
	struct ecc_point tpm, q, shared;
	struct ecc_scalar d;
	struct rnd rnd = {0};
	uint8_t z[32], qx[32], qy[32];
	mpz_t ax, ay;
	int r = 0;

	if (x_len == 0 || x_len > 32 || y_len == 0 || y_len > 32)
		return -EINVAL;
	mpz_init(ax), mpz_init(ay);
	nettle_mpz_set_str_256_u(ax, x_len, x);
	nettle_mpz_set_str_256_u(ay, y_len, y);
	ecc_point_init(&tpm, curve), ecc_point_init(&q, curve), ecc_point_init(&shared, curve);
	ecc_scalar_init(&d, curve);
	if (!ecc_point_set(&tpm, ax, ay)) {
		r = -EINVAL; /* not on P-256 */
		goto out;
	}
	ecc_scalar_random(&d, &rnd, random_cb);
	if (rnd.err) {
		r = rnd.err;
		goto out;
	}
	ecc_point_mul_g(&q, &d);
	ecc_point_mul(&shared, &d, &tpm);
	ecc_point_get(&q, ax, ay);
	nettle_mpz_get_str_256(32, qx, ax);
	nettle_mpz_get_str_256(32, qy, ay);
	ecc_point_get(&shared, ax, ay);
	nettle_mpz_get_str_256(32, z, ax);
	/* salt = KDFe(SHA256, Z, "SECRET", our x, the TPM key's x, 256) */
	tpm2_kdfe(z, sizeof(z), "SECRET", qx, sizeof(qx), x, x_len, salt, 32);
	struct tpm2_wr w = tpm2_wr(point, TPM2_ECC_POINT_SIZE);
	tpm2_put_tpm2b(&w, qx, sizeof(qx));
	tpm2_put_tpm2b(&w, qy, sizeof(qy));
out:
	explicit_bzero(z, sizeof(z));
	explicit_bzero(d.p, (size_t)ecc_size(curve) * sizeof(mp_limb_t));
	explicit_bzero(shared.p, 2 * (size_t)ecc_size(curve) * sizeof(mp_limb_t));
	ecc_scalar_clear(&d);
	ecc_point_clear(&tpm), ecc_point_clear(&q), ecc_point_clear(&shared);
	mpz_wipe(ax), mpz_wipe(ay);
	return r;
}

/* out ^= MGF1-SHA256(seed) (PKCS #1 v2.2 §B.2.1) */
static void mgf1_xor(uint8_t *out, size_t out_len, const uint8_t *seed, size_t seed_len)
{
	struct sha256_ctx h;
	uint8_t counter[4], block[SHA256_DIGEST_SIZE];
	for (uint32_t i = 0; out_len > 0; i++) {
		size_t n = out_len < sizeof(block) ? out_len : sizeof(block);
		sha256_init(&h);
		sha256_update(&h, seed_len, seed);
		sha256_update(&h, 4, tpm2_be32(counter, i));
		sha256_digest(&h, sizeof(block), block);
		for (size_t j = 0; j < n; j++)
			out[j] ^= block[j];
		out += n, out_len -= n;
	}
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(block, sizeof(block));
}

int tpm2_oaep_encode(const uint8_t *msg, size_t len, const char *label, const uint8_t seed[TPM2_SHA256_SIZE],
		     uint8_t *em, size_t k)
{
	const size_t h = TPM2_SHA256_SIZE;
	if (k < 2 * h + 2 || len > k - 2 * h - 2)
		return -EINVAL;
	/* EM = 0x00 ‖ maskedSeed ‖ maskedDB, DB = lHash ‖ 0x00… ‖ 0x01 ‖ M; no branch depends on M or seed */
	uint8_t *s = em + 1, *db = em + 1 + h;
	size_t db_len = k - 1 - h;
	em[0] = 0;
	memcpy(s, seed, h);
	tpm2_hash(TPM2_ALG_SHA256, label, strlen(label) + 1, db); /* TPM labels count their NUL */
	memset(db + h, 0, db_len - h - len - 1);
	db[db_len - len - 1] = 0x01;
	memcpy(db + db_len - len, msg, len);
	mgf1_xor(db, db_len, s, h);
	mgf1_xor(s, h, db, db_len);
	return 0;
}

/* Big-endian bytes to and from GMP limbs (least significant first), in buffers this file wipes. */
#define RSA_LIMBS (TPM2_RSA_MAX / sizeof(mp_limb_t))
static void to_limbs(mp_limb_t *l, const uint8_t *b, size_t k)
{
	memset(l, 0, RSA_LIMBS * sizeof(*l));
	for (size_t i = 0; i < k; i++)
		l[i / sizeof(*l)] |= (mp_limb_t)b[k - 1 - i] << (8 * (i % sizeof(*l)));
}

static void from_limbs(uint8_t *b, const mp_limb_t *l, size_t k)
{
	for (size_t i = 0; i < k; i++)
		b[k - 1 - i] = (uint8_t)(l[i / sizeof(*l)] >> (8 * (i % sizeof(*l))));
}

/* out = em^e mod n, k bytes each, with GMP's mpn_sec_powm: its time and memory accesses do not depend on em, and
 * its scratch space, which holds powers of em, is ours to wipe. */
static int rsa_public(const uint8_t *em, const uint8_t *n, size_t k, uint32_t e, uint8_t *out)
{
	mp_limb_t m[RSA_LIMBS], mod[RSA_LIMBS], c[RSA_LIMBS], exp = e;
	mp_size_t nl = (mp_size_t)((k + sizeof(mp_limb_t) - 1) / sizeof(mp_limb_t));
	size_t scratch = (size_t)mpn_sec_powm_itch(nl, 32, nl) * sizeof(mp_limb_t);
	mp_limb_t *tp = malloc(scratch);
	if (!tp)
		return -ENOMEM;
	to_limbs(m, em, k);
	to_limbs(mod, n, k);
	mpn_sec_powm(c, m, nl, &exp, 32, mod, nl, tp);
	from_limbs(out, c, k);
	explicit_bzero(tp, scratch);
	free(tp);
	explicit_bzero(m, sizeof(m));
	explicit_bzero(c, sizeof(c));
	return 0;
}

int tpm2_rsa_salt(const uint8_t *n, size_t n_len, uint32_t e, uint8_t salt[TPM2_SHA256_SIZE], uint8_t *secret,
		  size_t *secret_len)
{
	uint8_t seed[TPM2_SHA256_SIZE], em[TPM2_RSA_MAX];
	if (e == 0)
		e = 65537; /* the TPM's shorthand for the default exponent */
	/* n[0] != 0: the modulus fills its k bytes, so EM (0x00 first) is below it */
	if (n_len < RSA_MIN_BYTES || n_len > sizeof(em) || n_len > *secret_len || n[0] == 0 || !(n[n_len - 1] & 1) ||
	    e < 3 || !(e & 1))
		return -EOPNOTSUPP;
	int r = tpm2_random(salt, TPM2_SHA256_SIZE);
	if (r == 0)
		r = tpm2_random(seed, sizeof(seed));
	if (r == 0)
		r = tpm2_oaep_encode(salt, TPM2_SHA256_SIZE, "SECRET", seed, em, n_len);
	if (r == 0)
		r = rsa_public(em, n, n_len, e, secret);
	if (r == 0)
		*secret_len = n_len;
	explicit_bzero(seed, sizeof(seed));
	explicit_bzero(em, sizeof(em));
	return r;
}

static const struct {
	uint16_t alg;
	const struct nettle_hash *hash;
} hashes[] = {
	{TPM2_ALG_SHA1, &nettle_sha1},
	{TPM2_ALG_SHA256, &nettle_sha256},
	{TPM2_ALG_SHA384, &nettle_sha384},
	{TPM2_ALG_SHA512, &nettle_sha512},
};

/* room for any of the hashes' contexts */
union hash_ctx {
	struct sha1_ctx sha1;
	struct sha512_ctx sha512; /* also SHA-256's and SHA-384's size */
};

static const struct nettle_hash *hash_of(uint16_t alg)
{
	for (size_t i = 0; i < ELEMENTSOF(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].hash;
	return NULL;
}

void tpm2_hash(uint16_t alg, const void *p, size_t n, uint8_t *out)
{
	const struct nettle_hash *h = hash_of(alg);
	union hash_ctx ctx;
	if (!h)
		return;
	h->init(&ctx);
	h->update(&ctx, n, p);
	h->digest(&ctx, h->digest_size, out);
	explicit_bzero(&ctx, sizeof(ctx));
}

void tpm2_hmac(uint16_t alg, const uint8_t *key, size_t key_len, const void *p, size_t n, uint8_t *out)
{
	const struct nettle_hash *h = hash_of(alg);
	union hash_ctx outer, inner, state;
	if (!h)
		return;
	hmac_set_key(&outer, &inner, &state, h, key_len, key);
	hmac_update(&state, h, n, p);
	hmac_digest(&outer, &inner, &state, h, h->digest_size, out);
	explicit_bzero(&outer, sizeof(outer));
	explicit_bzero(&inner, sizeof(inner));
	explicit_bzero(&state, sizeof(state));
}

int tpm2_name(const uint8_t *pub, size_t pub_len, uint8_t name[TPM2_NAME_MAX])
{
	if (pub_len < 4 || (pub[2] << 8 | pub[3]) != TPM2_ALG_SHA256)
		return -EOPNOTSUPP;
	name[0] = 0x00, name[1] = 0x0B;
	tpm2_hash(TPM2_ALG_SHA256, pub, pub_len, name + 2);
	return 2 + TPM2_SHA256_SIZE;
}

size_t tpm2_trim(const uint8_t *auth, size_t len)
{
	while (len > 0 && auth[len - 1] == 0)
		len--;
	return len;
}

size_t tpm2_base64(char *dst, const uint8_t *src, size_t n)
{
	base64_encode_raw(dst, n, src);
	dst[BASE64_ENCODE_RAW_LENGTH(n)] = 0;
	return BASE64_ENCODE_RAW_LENGTH(n);
}

/* RFC 8018 §5.2 with HMAC-SHA256. nettle's pbkdf2_hmac_sha256 leaves its password-keyed HMAC state on the stack;
 * this one wipes it. The keyed state is set once: hmac_sha256_digest returns to it after each digest. */
void tpm2_pbkdf2_sha256(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len, unsigned iterations,
			uint8_t *dk, size_t dk_len)
{
	struct hmac_sha256_ctx h;
	uint8_t counter[4], u[SHA256_DIGEST_SIZE], t[SHA256_DIGEST_SIZE];
	hmac_sha256_set_key(&h, pw_len, pw);
	for (uint32_t block = 1; dk_len > 0; block++) {
		size_t n = dk_len < sizeof(t) ? dk_len : sizeof(t);
		hmac_sha256_update(&h, salt_len, salt);
		hmac_sha256_update(&h, 4, tpm2_be32(counter, block));
		hmac_sha256_digest(&h, sizeof(u), u);
		memcpy(t, u, sizeof(t));
		for (unsigned i = 1; i < iterations; i++) {
			hmac_sha256_update(&h, sizeof(u), u);
			hmac_sha256_digest(&h, sizeof(u), u);
			for (size_t j = 0; j < sizeof(t); j++)
				t[j] ^= u[j];
		}
		memcpy(dk, t, n);
		dk += n, dk_len -= n;
	}
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(u, sizeof(u));
	explicit_bzero(t, sizeof(t));
}

size_t tpm2_pin_auth(const char *pin, size_t pin_len, const uint8_t *salt, size_t salt_len, uint8_t auth[32])
{
	uint8_t dk[32];
	char salted[BASE64_ENCODE_RAW_LENGTH(sizeof(dk)) + 1];
	if (salt_len) {
		tpm2_pbkdf2_sha256((const uint8_t *)pin, pin_len, salt, salt_len, PIN_PBKDF2_ITERATIONS, dk,
				   sizeof(dk));
		size_t n = tpm2_base64(salted, dk, sizeof(dk));
		tpm2_hash(TPM2_ALG_SHA256, salted, n, auth);
		explicit_bzero(dk, sizeof(dk));
		explicit_bzero(salted, sizeof(salted));
	} else
		tpm2_hash(TPM2_ALG_SHA256, pin, pin_len, auth);
	/* the TPM drops trailing zeros from every authValue; systemd 257 does too, 252 relies on the TPM */
	return tpm2_trim(auth, 32);
}

void tpm2_cfb(const uint8_t key[16], const uint8_t iv[16], uint8_t *data, size_t n, bool encrypt)
{
	struct aes128_ctx aes;
	uint8_t v[AES_BLOCK_SIZE];
	memcpy(v, iv, sizeof(v));
	aes128_set_encrypt_key(&aes, key);
	if (encrypt)
		cfb_encrypt(&aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, v, n, data, data);
	else
		cfb_decrypt(&aes, (nettle_cipher_func *)aes128_encrypt, AES_BLOCK_SIZE, v, n, data, data);
	explicit_bzero(&aes, sizeof(aes));
	explicit_bzero(v, sizeof(v));
}
