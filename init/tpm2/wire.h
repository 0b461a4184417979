/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM 2.0 wire format: the constants earlyroot uses, marshalling, and pure unmarshallers of responses and
 * structures. The bottom layer of the TPM2 client: it includes no other. */
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
	TPM2_CC_GET_RANDOM = 0x17B,
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
enum { TPM2_CAP_PCRS = 5, TPM2_CAP_TPM_PROPERTIES = 6 };
/* TPM properties (part 2, 6.13): TPMA_PERMANENT and the dictionary-attack state */
enum {
	TPM2_PT_PERMANENT = 0x200,
	TPM2_PT_LOCKOUT_COUNTER = 0x20E,
	TPM2_PT_MAX_AUTH_FAIL = 0x20F,
	TPM2_PT_LOCKOUT_INTERVAL = 0x210,
	TPM2_PERMANENT_IN_LOCKOUT = 1u << 9,
};

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
#define TPM2_RSA_MAX	  512 /* bytes of an RSA-4096 modulus or signature */

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
/* The start of a TPMT_PUBLIC: type, nameAlg SHA-256, objectAttributes, an empty authPolicy. */
void tpm2_put_public_head(struct tpm2_wr *w, uint16_t type, uint32_t attrs);

/* v big-endian into b, which it returns */
static inline uint8_t *tpm2_be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
	return b;
}

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
/* a TPM2B's data copied into dst, at most cap bytes: 0, or -EBADMSG */
int tpm2_copy_tpm2b(struct tpm2_rd *r, uint8_t *dst, size_t cap, size_t *n);
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
/* A bank with all 24 PCRs allocated. */
static inline bool tpm2_bank_complete(uint32_t mask)
{
	return (mask & 0xFFFFFF) == 0xFFFFFF;
}
/* A PCR extended since reset: neither all zeros nor all ones (the two values a PCR is reset to). */
bool tpm2_pcr_extended(const uint8_t *digest, size_t size);
/* A TPML_PCR_SELECTION; banks beyond TPM2_MAX_BANKS are an error. */
int tpm2_parse_pcr_selection(struct tpm2_rd *r, struct tpm2_banks *banks);
/* GetCapability(TPM_PROPERTIES)'s parameters: values[i] gets property first + i, for those the TPM returned
 * (the others stay as they are). 0, or -EBADMSG. */
int tpm2_parse_properties(const uint8_t *p, size_t len, uint32_t first, uint32_t *values, size_t n);
/* The parameters of PCR_Read: digests[i] is PCR i of the one bank read; *got = the PCRs returned. */
int tpm2_parse_pcr_read(const uint8_t *p, size_t len, uint16_t alg, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX],
			uint32_t *got);
/* The parameters of PCR_Read for PCR pcr in the n banks algs[]: digests[k] is that PCR in bank algs[k], and bit
 * k of *got says the TPM returned it (a TPM may return fewer banks than asked). 0, or -EBADMSG. */
int tpm2_parse_pcr_read_banks(const uint8_t *p, size_t len, unsigned pcr, const uint16_t *algs, unsigned n,
			      uint8_t (*digests)[TPM2_DIGEST_MAX], uint32_t *got);

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
