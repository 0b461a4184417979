/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM2 client for systemd-tpm2 LUKS2 tokens: wire format, token parser, crypto, commands, unseal.
 * Shared by init/tpm2*.c, the unit tests, the fuzzers and the swtpm host test. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* TPM 2.0 Library, part 2 */
enum {
	TPM2_ST_NO_SESSIONS = 0x8001,
	TPM2_ST_SESSIONS = 0x8002,
	TPM2_ST_VERIFIED = 0x8022,
};
enum {
	TPM2_ALG_RSA = 0x0001,
	TPM2_ALG_SHA1 = 0x0004,
	TPM2_ALG_AES = 0x0006,
	TPM2_ALG_KEYEDHASH = 0x0008,
	TPM2_ALG_SHA256 = 0x000B,
	TPM2_ALG_SHA384 = 0x000C,
	TPM2_ALG_SHA512 = 0x000D,
	TPM2_ALG_NULL = 0x0010,
	TPM2_ALG_RSASSA = 0x0014,
	TPM2_ALG_ECC = 0x0023,
	TPM2_ALG_CFB = 0x0043,
	TPM2_ECC_NIST_P256 = 0x0003,
};
enum {
	TPM2_RH_OWNER = 0x40000001,
	TPM2_RH_NULL = 0x40000007,
	TPM2_RS_PW = 0x40000009,
	TPM2_SRK_HANDLE = 0x81000001, /* systemd ≥ 254 persists its SRK here */
};
enum {
	TPM2_CC_CREATE_PRIMARY = 0x131,
	TPM2_CC_IMPORT = 0x156,
	TPM2_CC_LOAD = 0x157,
	TPM2_CC_UNSEAL = 0x15E,
	TPM2_CC_FLUSH_CONTEXT = 0x165,
	TPM2_CC_LOAD_EXTERNAL = 0x167,
	TPM2_CC_POLICY_AUTHORIZE = 0x16A,
	TPM2_CC_POLICY_AUTH_VALUE = 0x16B,
	TPM2_CC_READ_PUBLIC = 0x173,
	TPM2_CC_START_AUTH_SESSION = 0x176,
	TPM2_CC_VERIFY_SIGNATURE = 0x177,
	TPM2_CC_GET_CAPABILITY = 0x17A,
	TPM2_CC_PCR_READ = 0x17E,
	TPM2_CC_POLICY_PCR = 0x17F,
	TPM2_CC_POLICY_RESTART = 0x180,
	TPM2_CC_PCR_EXTEND = 0x182,
	TPM2_CC_POLICY_GET_DIGEST = 0x189,
};
enum {
	TPM2_RC_SUCCESS = 0,
	TPM2_RC_PCR_CHANGED = 0x128,
	TPM2_RC_LOCKOUT = 0x921,
	TPM2_RC_YIELDED = 0x908,
	TPM2_RC_TESTING = 0x90A,
	TPM2_RC_RETRY = 0x922,
	TPM2_RC_FMT1 = 0x080, /* format-one codes: the low 6 bits and 0x80 name the error */
	TPM2_RC_AUTH_FAIL = 0x08E,
	TPM2_RC_POLICY_FAIL = 0x09D,
	TPM2_RC_BAD_AUTH = 0x0A2,
	TPM2_RC_HANDLE = 0x08B,
};
enum {
	TPM2_SA_CONTINUE = 0x01,
	TPM2_SA_DECRYPT = 0x20,
	TPM2_SA_ENCRYPT = 0x40,
};
enum { TPM2_SE_HMAC = 0x00, TPM2_SE_POLICY = 0x01 };
enum { TPM2_CAP_PCRS = 5 };

/* Every TPM2 accepts commands and responses of this size (the PC Client minimum for MAX_COMMAND_SIZE). */
#define TPM2_MAX_BUF	  4096
#define TPM2_SHA256_SIZE  32
#define TPM2_DIGEST_MAX	  64
#define TPM2_NAME_MAX	  (2 + TPM2_DIGEST_MAX)
#define TPM2_PCRS	  24
/* TPMT_PUBLIC of an RSA-4096 key with a policy is under 600 bytes */
#define TPM2_PUBLIC_MAX	  1024
/* TPM2_Unseal returns at most MAX_SYM_DATA (128) bytes; systemd seals 32 (64 with two shards) */
#define TPM2_SECRET_MAX	  256
#define TPM2_MAX_SESSIONS 3
#define TPM2_MAX_BANKS	  8

/* ---- tpm2-wire.c: marshalling and pure unmarshallers ---- */

struct tpm2_wr {
	uint8_t *p;
	size_t cap, len;
	bool overflow;
};
static inline struct tpm2_wr tpm2_wr(void *p, size_t cap)
{
	return (struct tpm2_wr){.p = p, .cap = cap};
}
void tpm2_put_u8(struct tpm2_wr *w, uint8_t v);
void tpm2_put_u16(struct tpm2_wr *w, uint16_t v);
void tpm2_put_u32(struct tpm2_wr *w, uint32_t v);
void tpm2_put_bytes(struct tpm2_wr *w, const void *p, size_t n);
void tpm2_put_tpm2b(struct tpm2_wr *w, const void *p, size_t n);

struct tpm2_rd {
	const uint8_t *p;
	size_t len, off;
	bool err; /* sticky: set by any read past the end */
};
static inline struct tpm2_rd tpm2_rd(const void *p, size_t len)
{
	return (struct tpm2_rd){.p = p, .len = len};
}
uint8_t tpm2_get_u8(struct tpm2_rd *r);
uint16_t tpm2_get_u16(struct tpm2_rd *r);
uint32_t tpm2_get_u32(struct tpm2_rd *r);
const uint8_t *tpm2_get_bytes(struct tpm2_rd *r, size_t n);
/* a TPM2B: returns its data (NULL on error) and sets *n */
const uint8_t *tpm2_get_tpm2b(struct tpm2_rd *r, size_t *n);
static inline bool tpm2_rd_done(const struct tpm2_rd *r)
{
	return !r->err && r->off == r->len;
}

struct tpm2_rsp_session {
	const uint8_t *nonce, *hmac;
	size_t nonce_len, hmac_len;
	uint8_t attrs;
};
struct tpm2_response {
	uint16_t tag;
	uint32_t rc;
	uint32_t handle; /* the response handle, for commands that return one */
	uint8_t *params; /* points into the response buffer (decrypted in place) */
	size_t params_len;
	unsigned nsessions;
	struct tpm2_rsp_session s[TPM2_MAX_SESSIONS];
};
/* Splits a response. rc != 0 responses are just the header. -EBADMSG when malformed. */
int tpm2_parse_response(uint8_t *buf, size_t len, unsigned nhandles, unsigned nsessions, struct tpm2_response *r);

struct tpm2_public {
	uint16_t type, name_alg;
	uint32_t attrs;
	const uint8_t *policy;
	size_t policy_len;
	uint16_t sym_alg, sym_bits, sym_mode, scheme;
	uint16_t rsa_bits;
	uint32_t rsa_exponent;
	uint16_t curve;
	const uint8_t *unique; /* RSA modulus, KEYEDHASH unique; for ECC x */
	size_t unique_len;
	const uint8_t *ecc_y;
	size_t ecc_y_len;
};
/* Parses a TPMT_PUBLIC (the bytes inside a TPM2B_PUBLIC) that must fill exactly len bytes. */
int tpm2_parse_public(const uint8_t *p, size_t len, struct tpm2_public *pub);

struct tpm2_banks {
	unsigned n;
	struct {
		uint16_t alg;
		uint32_t mask;
	} b[TPM2_MAX_BANKS];
};
/* A TPML_PCR_SELECTION; banks beyond TPM2_MAX_BANKS are an error. */
int tpm2_parse_pcr_selection(struct tpm2_rd *r, struct tpm2_banks *banks);
/* The parameters of PCR_Read: digests[i] is PCR i of the one bank read; *got = the PCRs returned. */
int tpm2_parse_pcr_read(const uint8_t *p, size_t len, uint16_t alg, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX],
			uint32_t *got);

/* systemd's tpm2-blob: TPM2B_PRIVATE ‖ TPM2B_PUBLIC [‖ TPM2B_ENCRYPTED_SECRET import seed (257)].
 * The slices include their u16 size; seed_len is 0 when there is no (or an empty) seed. */
struct tpm2_blob {
	const uint8_t *priv, *pub, *seed;
	size_t priv_len, pub_len, seed_len;
};
int tpm2_parse_blob(const uint8_t *p, size_t len, struct tpm2_blob *b);

/* An ESYS_TR serialisation (tpm2_srk): handle ‖ TPM2B_NAME ‖ u32 type (1 = key) ‖ TPM2B_PUBLIC. */
struct tpm2_serialized {
	uint32_t handle;
	const uint8_t *name, *pub; /* pub: the TPMT_PUBLIC bytes */
	size_t name_len, pub_len;
};
int tpm2_parse_serialized(const uint8_t *p, size_t len, struct tpm2_serialized *s);

size_t tpm2_hash_size(uint16_t alg); /* 0 for unknown algorithms */
const char *tpm2_hash_name(uint16_t alg);
uint16_t tpm2_hash_from_name(const char *name); /* case-insensitive; 0 if unknown */
/* "0x98e (TPM_RC_AUTH_FAIL on session 1)"-style text for log lines */
const char *tpm2_rc_text(uint32_t rc, char *buf, size_t size);
/* the format-one base code (e.g. TPM2_RC_AUTH_FAIL) or the whole rc for format-zero codes */
uint32_t tpm2_rc_base(uint32_t rc);
/* "7+11" */
const char *tpm2_mask_text(uint32_t mask, char *buf, size_t size);

/* ---- tpm2-token.c: pure parsers over JSON and PEM text ---- */

/* Limits: systemd's blobs are ~240 bytes (ECC) to ~600 (RSA SRK with import seed). */
#define TPM2_BLOB_MAX	 2048
#define TPM2_SHARDS_MAX	 2
#define TPM2_PEM_MAX	 8192
#define TPM2_SALT_MAX	 64
#define TPM2_SRK_MAX	 1024
#define TPM2_RSA_MAX	 512 /* RSA-4096 */
#define TPM2_KEYSLOT_MAX 32  /* LUKS2 keyslots */

struct tpm2_token {
	int keyslot;
	unsigned nshards;
	uint8_t blob[TPM2_SHARDS_MAX][TPM2_BLOB_MAX];
	size_t blob_len[TPM2_SHARDS_MAX];
	uint8_t policy_hash[TPM2_SHARDS_MAX][TPM2_SHA256_SIZE];
	uint32_t pcr_mask;
	uint16_t pcr_bank; /* 0: absent, chosen from the TPM's banks at unseal */
	uint16_t primary_alg;
	bool pin;
	uint32_t pubkey_pcr_mask;
	char pubkey_pem[TPM2_PEM_MAX]; /* NUL-terminated; "" when absent */
	bool pcrlock;
	uint8_t salt[TPM2_SALT_MAX];
	size_t salt_len;
	uint8_t srk[TPM2_SRK_MAX];
	size_t srk_len;
};
/* Parses a systemd-tpm2 token (systemd 252…257 forms). Returns 0, -EINVAL (malformed) or -EOPNOTSUPP
 * (well-formed but needs something earlyroot lacks); *why then says what, for one log line. */
int tpm2_token_parse(const char *json, size_t len, struct tpm2_token *t, const char **why);

struct tpm2_rsa_key {
	uint8_t n[TPM2_RSA_MAX];
	size_t n_len;
	uint32_t e;
	uint8_t fingerprint[TPM2_SHA256_SIZE]; /* "pkfp": SHA-256 of the PKCS#1 RSAPublicKey DER */
};
/* Parses a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) holding an RSA key. -EOPNOTSUPP for other key types. */
int tpm2_pem_rsa_parse(const char *pem, size_t len, struct tpm2_rsa_key *k);

/* Finds in systemd-measure's signature JSON the signature for bank, the PCRs in mask, key fingerprint pkfp
 * and policy digest pol. Returns its length, -ENOENT when none matches, -EINVAL when malformed. */
int tpm2_signature_find(const char *json, size_t len, uint16_t bank, uint32_t mask,
			const uint8_t pkfp[TPM2_SHA256_SIZE], const uint8_t pol[TPM2_SHA256_SIZE], uint8_t *sig,
			size_t size);

/* ---- tpm2-crypto.c: protocol functions on nettle ---- */

int tpm2_random(void *buf, size_t n);
void tpm2_kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes);
void tpm2_kdfe(const uint8_t *z, size_t z_len, const char *label, const uint8_t *u, size_t u_len, const uint8_t *v,
	       size_t v_len, uint8_t *out, size_t bytes);
/* Ephemeral ECDH against a P-256 key: salt (32 bytes) and the TPMS_ECC_POINT to send (68 bytes). */
#define TPM2_ECC_POINT_SIZE 68
int tpm2_ecdh_salt(const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len, uint8_t salt[32],
		   uint8_t point[TPM2_ECC_POINT_SIZE]);
/* name = nameAlg ‖ H(TPMT_PUBLIC); only SHA-256 names. Returns the length or -EOPNOTSUPP. */
int tpm2_name(const uint8_t *pub, size_t pub_len, uint8_t name[TPM2_NAME_MAX]);
void tpm2_hash(uint16_t alg, const void *p, size_t n, uint8_t *out);
size_t tpm2_trim(const uint8_t *auth, size_t len); /* length without trailing zero bytes */
/* The PIN's authValue: trim0(SHA256(PIN)), or with systemd ≥ 253's salt
 * trim0(SHA256(base64(PBKDF2-HMAC-SHA256(PIN, salt, 10000)))). Returns the trimmed length. */
size_t tpm2_pin_auth(const char *pin, size_t pin_len, const uint8_t *salt, size_t salt_len, uint8_t auth[32]);
void tpm2_cfb(const uint8_t key[16], const uint8_t iv[16], uint8_t *data, size_t n, bool encrypt);
/* Standard base64 (+/ and padding) of src into dst (size ≥ 4*ceil(n/3)+1), NUL-terminated. */
size_t tpm2_base64(char *dst, const uint8_t *src, size_t n);

/* ---- tpm2-client.c: transport and commands ---- */

struct tpm2 {
	int fd;
	uint32_t last_cc; /* the command that failed, for log lines */
	uint8_t cmd[TPM2_MAX_BUF], rsp[TPM2_MAX_BUF];
};
struct tpm2_object {
	uint32_t handle;
	uint8_t name[TPM2_NAME_MAX];
	size_t name_len;
};
struct tpm2_key {
	struct tpm2_object obj;
	uint8_t pub[TPM2_PUBLIC_MAX]; /* TPMT_PUBLIC */
	size_t pub_len;
};
struct tpm2_session {
	uint32_t handle;
	uint8_t key[TPM2_SHA256_SIZE];
	size_t key_len;
	uint8_t nonce_tpm[TPM2_SHA256_SIZE], nonce_caller[TPM2_SHA256_SIZE];
	uint8_t auth[TPM2_SHA256_SIZE]; /* the entity's authValue, once PolicyAuthValue asked for it */
	size_t auth_len;
	bool auth_needed;
	uint8_t attrs;
};

void tpm2_init_fd(struct tpm2 *t, int fd);
int tpm2_open(struct tpm2 *t, const char *path);
void tpm2_close(struct tpm2 *t); /* also wipes the buffers, which held the unsealed secret */
const char *tpm2_cc_name(uint32_t cc);
void tpm2_session_wipe(struct tpm2_session *s);

/* Commands return 0, the TPM's response code (> 0), or -errno (transport, malformed, HMAC mismatch). */
int tpm2_flush(struct tpm2 *t, uint32_t handle);
int tpm2_create_primary(struct tpm2 *t, uint16_t alg, struct tpm2_key *k);
int tpm2_read_public(struct tpm2 *t, uint32_t handle, struct tpm2_key *k);
int tpm2_load(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *priv, size_t priv_len,
	      const uint8_t *pub, size_t pub_len, struct tpm2_object *out);
int tpm2_import(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *pub, size_t pub_len,
		const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len, uint8_t *priv,
		size_t *priv_len);
/* A session salted with ECC key salt_key (its TPMT_PUBLIC in salt_key->pub), unbound. */
int tpm2_start_session(struct tpm2 *t, uint8_t type, const struct tpm2_key *salt_key, struct tpm2_session *s);
int tpm2_policy_pcr(struct tpm2 *t, struct tpm2_session *s, uint16_t bank, uint32_t mask);
int tpm2_policy_auth_value(struct tpm2 *t, struct tpm2_session *s);
int tpm2_policy_restart(struct tpm2 *t, struct tpm2_session *s);
int tpm2_policy_get_digest(struct tpm2 *t, struct tpm2_session *s, uint8_t digest[TPM2_SHA256_SIZE]);
int tpm2_load_external(struct tpm2 *t, const uint8_t *pub, size_t pub_len, struct tpm2_object *out);
int tpm2_verify_signature(struct tpm2 *t, const struct tpm2_object *key, const uint8_t digest[TPM2_SHA256_SIZE],
			  const uint8_t *sig, size_t sig_len, uint8_t *ticket, size_t *ticket_len);
int tpm2_policy_authorize(struct tpm2 *t, struct tpm2_session *s, const uint8_t approved[TPM2_SHA256_SIZE],
			  const uint8_t *key_name, size_t key_name_len, const uint8_t *ticket, size_t ticket_len);
/* Unseal with the policy session and an encrypt-only session: the secret crosses the bus encrypted. */
int tpm2_unseal(struct tpm2 *t, const struct tpm2_object *item, struct tpm2_session *policy, struct tpm2_session *enc,
		uint8_t *out, size_t *out_len);
int tpm2_get_banks(struct tpm2 *t, struct tpm2_banks *banks);
int tpm2_pcr_read(struct tpm2 *t, uint16_t alg, uint32_t mask, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX]);
int tpm2_pcr_extend(struct tpm2 *t, unsigned pcr, const uint16_t *algs, const uint8_t (*digests)[TPM2_DIGEST_MAX],
		    unsigned n);

/* The TPMT_PUBLIC templates: systemd's legacy primary (ECC or RSA) and a LoadExternal RSA key. */
size_t tpm2_primary_template(uint16_t alg, uint8_t *buf, size_t size);
size_t tpm2_rsa_public(const struct tpm2_rsa_key *k, uint32_t exponent, uint8_t *buf, size_t size);

/* ---- tpm2-unseal.c: one token's secret ---- */

/* Returns 0 with the secret; -EACCES wrong PIN; -EBUSY dictionary-attack lockout; -EPERM policy does not
 * match the PCRs; other -errno: the token cannot work here. why gets one line for the log in every case. */
int tpm2_token_unseal(struct tpm2 *t, const struct tpm2_token *tok, const uint8_t *auth, size_t auth_len,
		      const char *signature, size_t signature_len, const char *signature_path, uint8_t *secret,
		      size_t *secret_len, char *why, size_t why_size);

/* ---- tpm2.c ---- */

#define TPM2_DEVICE	    "/dev/tpmrm0"
/* systemd-stub puts the UKI's .pcrsig here */
#define TPM2_SIGNATURE_PATH "/.extra/tpm2-pcr-signature.json"

struct ctx;
struct crypt_device;
struct luks_opts;
/* tpm2_unlock() and tpm2_measure_phase() on an open TPM (the host tests pass a swtpm socket). */
int tpm2_unlock_with(struct ctx *c, struct tpm2 *t, struct crypt_device *cd, const char *name,
		     const struct luks_opts *o, const char *signature_path);
int tpm2_measure_with(struct ctx *c, struct tpm2 *t, const char *word);

static inline void tpm2_closep(struct tpm2 **t)
{
	if (*t)
		tpm2_close(*t);
}
static inline void tpm2_session_wipep(struct tpm2_session *s)
{
	tpm2_session_wipe(s);
}
#define _cleanup_tpm2_session_ __attribute__((cleanup(tpm2_session_wipep)))
