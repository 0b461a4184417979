/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM2 wire format: big-endian marshalling and pure unmarshallers for the responses earlyroot reads. */
#include <stdio.h>
#include <strings.h>

#include "macro.h"
#include "wire.h"

void tpm2_put_bytes(struct tpm2_wr *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void tpm2_put_u8(struct tpm2_wr *w, uint8_t v)
{
	tpm2_put_bytes(w, &v, 1);
}

void tpm2_put_u16(struct tpm2_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	tpm2_put_bytes(w, b, 2);
}

void tpm2_put_u32(struct tpm2_wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	tpm2_put_bytes(w, b, 4);
}

void tpm2_put_tpm2b(struct tpm2_wr *w, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		w->overflow = true;
		return;
	}
	tpm2_put_u16(w, (uint16_t)n);
	tpm2_put_bytes(w, p, n);
}

void tpm2_put_public_head(struct tpm2_wr *w, uint16_t type, uint32_t attrs)
{
	tpm2_put_u16(w, type);
	tpm2_put_u16(w, TPM2_ALG_SHA256);
	tpm2_put_u32(w, attrs);
	tpm2_put_tpm2b(w, NULL, 0);
}

const uint8_t *tpm2_get_bytes(struct tpm2_rd *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t tpm2_get_u8(struct tpm2_rd *r)
{
	const uint8_t *p = tpm2_get_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t tpm2_get_u16(struct tpm2_rd *r)
{
	const uint8_t *p = tpm2_get_bytes(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t tpm2_get_u32(struct tpm2_rd *r)
{
	const uint8_t *p = tpm2_get_bytes(r, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

const uint8_t *tpm2_get_tpm2b(struct tpm2_rd *r, size_t *n)
{
	*n = tpm2_get_u16(r);
	const uint8_t *p = tpm2_get_bytes(r, *n);
	if (!p)
		*n = 0;
	return p;
}

int tpm2_copy_tpm2b(struct tpm2_rd *r, uint8_t *dst, size_t cap, size_t *n)
{
	size_t len;
	const uint8_t *p = tpm2_get_tpm2b(r, &len);
	if (!p || len > cap)
		return -EBADMSG;
	memcpy(dst, p, len);
	*n = len;
	return 0;
}

int tpm2_parse_response(uint8_t *buf, size_t len, unsigned nhandles, unsigned nsessions, struct tpm2_response *r)
{
	struct tpm2_rd rd = tpm2_rd(buf, len);
	memset(r, 0, sizeof(*r));
	if (nhandles > 1 || nsessions > TPM2_MAX_SESSIONS)
		return -EINVAL;
	r->tag = tpm2_get_u16(&rd);
	uint32_t size = tpm2_get_u32(&rd);
	r->rc = tpm2_get_u32(&rd);
	if (rd.err || size != len || (r->tag != TPM2_ST_NO_SESSIONS && r->tag != TPM2_ST_SESSIONS))
		return -EBADMSG;
	if (r->rc != TPM2_RC_SUCCESS)
		return len == 10 ? 0 : -EBADMSG; /* the tag should say no sessions; the rc matters more */
	if ((r->tag == TPM2_ST_SESSIONS) != (nsessions > 0))
		return -EBADMSG;
	if (nhandles)
		r->handle = tpm2_get_u32(&rd);
	if (r->tag == TPM2_ST_SESSIONS) {
		r->params_len = tpm2_get_u32(&rd);
		r->params = buf + rd.off;
		if (!tpm2_get_bytes(&rd, r->params_len))
			return -EBADMSG;
		for (unsigned i = 0; i < nsessions; i++) {
			struct tpm2_rsp_session *s = &r->s[i];
			s->nonce = tpm2_get_tpm2b(&rd, &s->nonce_len);
			s->attrs = tpm2_get_u8(&rd);
			s->hmac = tpm2_get_tpm2b(&rd, &s->hmac_len);
		}
		r->nsessions = nsessions;
	} else {
		r->params = buf + rd.off;
		r->params_len = len - rd.off;
		rd.off = len;
	}
	return tpm2_rd_done(&rd) ? 0 : -EBADMSG;
}

/* TPMT_SYM_DEF_OBJECT: algorithm, and unless NULL the key bits and mode */
static void get_symmetric(struct tpm2_rd *r, struct tpm2_public *pub)
{
	pub->sym_alg = tpm2_get_u16(r);
	if (pub->sym_alg != TPM2_ALG_NULL) {
		pub->sym_bits = tpm2_get_u16(r);
		pub->sym_mode = tpm2_get_u16(r);
	}
}

/* a scheme: algorithm, and unless NULL its hash (XOR: hash and KDF) */
static uint16_t get_scheme(struct tpm2_rd *r)
{
	uint16_t alg = tpm2_get_u16(r);
	if (alg != TPM2_ALG_NULL) {
		tpm2_get_u16(r);
		if (alg == 0x000A) /* TPM_ALG_XOR */
			tpm2_get_u16(r);
	}
	return alg;
}

int tpm2_parse_public(const uint8_t *p, size_t len, struct tpm2_public *pub)
{
	struct tpm2_rd r = tpm2_rd(p, len);
	memset(pub, 0, sizeof(*pub));
	pub->type = tpm2_get_u16(&r);
	pub->name_alg = tpm2_get_u16(&r);
	pub->attrs = tpm2_get_u32(&r);
	pub->policy = tpm2_get_tpm2b(&r, &pub->policy_len);
	switch (pub->type) {
	case TPM2_ALG_RSA:
		get_symmetric(&r, pub);
		pub->scheme = get_scheme(&r);
		pub->rsa_bits = tpm2_get_u16(&r);
		pub->rsa_exponent = tpm2_get_u32(&r);
		pub->unique = tpm2_get_tpm2b(&r, &pub->unique_len);
		break;
	case TPM2_ALG_ECC:
		get_symmetric(&r, pub);
		pub->scheme = get_scheme(&r);
		pub->curve = tpm2_get_u16(&r);
		get_scheme(&r); /* kdf */
		pub->unique = tpm2_get_tpm2b(&r, &pub->unique_len);
		pub->ecc_y = tpm2_get_tpm2b(&r, &pub->ecc_y_len);
		break;
	case TPM2_ALG_KEYEDHASH:
		pub->scheme = get_scheme(&r);
		pub->unique = tpm2_get_tpm2b(&r, &pub->unique_len);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return tpm2_rd_done(&r) ? 0 : -EBADMSG;
}

int tpm2_parse_pcr_selection(struct tpm2_rd *r, struct tpm2_banks *banks)
{
	uint32_t count = tpm2_get_u32(r);
	memset(banks, 0, sizeof(*banks));
	if (r->err || count > TPM2_MAX_BANKS)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg = tpm2_get_u16(r);
		uint8_t n = tpm2_get_u8(r);
		const uint8_t *bits = tpm2_get_bytes(r, n);
		if (!bits)
			return -EBADMSG;
		uint32_t mask = 0;
		for (unsigned j = 0; j < n && j < TPM2_PCRS / 8; j++)
			mask |= (uint32_t)bits[j] << (8 * j);
		banks->b[i].alg = alg;
		banks->b[i].mask = mask;
	}
	banks->n = count;
	return 0;
}

int tpm2_parse_pcr_read(const uint8_t *p, size_t len, uint16_t alg, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX],
			uint32_t *got)
{
	struct tpm2_rd r = tpm2_rd(p, len);
	struct tpm2_banks sel;
	size_t dsize = tpm2_hash_size(alg);
	*got = 0;
	tpm2_get_u32(&r); /* pcrUpdateCounter */
	if (dsize == 0 || tpm2_parse_pcr_selection(&r, &sel) < 0 || sel.n > 1)
		return -EBADMSG;
	uint32_t mask = sel.n ? sel.b[0].mask : 0;
	if (sel.n && sel.b[0].alg != alg)
		return -EBADMSG;
	uint32_t count = tpm2_get_u32(&r);
	if ((unsigned)__builtin_popcount(mask) != count)
		return -EBADMSG;
	for (unsigned pcr = 0; pcr < TPM2_PCRS; pcr++) {
		if (!(mask & (1u << pcr)))
			continue;
		size_t n;
		const uint8_t *d = tpm2_get_tpm2b(&r, &n);
		if (!d || n != dsize)
			return -EBADMSG;
		memcpy(digests[pcr], d, n);
	}
	if (!tpm2_rd_done(&r))
		return -EBADMSG;
	*got = mask;
	return 0;
}

int tpm2_parse_pcr_read_banks(const uint8_t *p, size_t len, unsigned pcr, const uint16_t *algs, unsigned n,
			      uint8_t (*digests)[TPM2_DIGEST_MAX], uint32_t *got)
{
	struct tpm2_rd r = tpm2_rd(p, len);
	struct tpm2_banks sel;
	uint32_t have = 0, count, seen = 0;
	*got = 0;
	tpm2_get_u32(&r); /* pcrUpdateCounter */
	if (pcr >= TPM2_PCRS || n > TPM2_MAX_BANKS || tpm2_parse_pcr_selection(&r, &sel) < 0)
		return -EBADMSG;
	count = tpm2_get_u32(&r);
	/* the digests follow the selections' order; a bank the TPM left out has an empty selection */
	for (unsigned i = 0; i < sel.n; i++) {
		if (!sel.b[i].mask)
			continue;
		unsigned k = 0;
		while (k < n && algs[k] != sel.b[i].alg)
			k++;
		size_t dn;
		const uint8_t *d = tpm2_get_tpm2b(&r, &dn);
		if (k == n || sel.b[i].mask != 1u << pcr || (have & (1u << k)) || !d || dn != tpm2_hash_size(algs[k]) ||
		    dn == 0)
			return -EBADMSG;
		memcpy(digests[k], d, dn);
		have |= 1u << k;
		seen++;
	}
	if (seen != count || !tpm2_rd_done(&r))
		return -EBADMSG;
	*got = have;
	return 0;
}

int tpm2_parse_blob(const uint8_t *p, size_t len, struct tpm2_blob *b)
{
	struct tpm2_rd r = tpm2_rd(p, len);
	size_t n;
	memset(b, 0, sizeof(*b));
	b->priv = p;
	tpm2_get_tpm2b(&r, &n);
	b->priv_len = r.off;
	b->pub = p + r.off;
	size_t start = r.off;
	const uint8_t *pub = tpm2_get_tpm2b(&r, &n);
	b->pub_len = r.off - start;
	if (r.err || n == 0 || b->priv_len <= 2 || !pub)
		return -EBADMSG;
	/* 252 ignores trailing bytes; 257 reads them as the import seed. */
	if (r.off < r.len) {
		start = r.off;
		b->seed = p + r.off;
		tpm2_get_tpm2b(&r, &n);
		b->seed_len = n ? r.off - start : 0;
		if (r.err)
			return -EBADMSG;
	}
	return 0;
}

int tpm2_parse_serialized(const uint8_t *p, size_t len, struct tpm2_serialized *s)
{
	struct tpm2_rd r = tpm2_rd(p, len);
	memset(s, 0, sizeof(*s));
	s->handle = tpm2_get_u32(&r);
	s->name = tpm2_get_tpm2b(&r, &s->name_len);
	uint32_t type = tpm2_get_u32(&r);
	size_t outer;
	const uint8_t *pub = tpm2_get_tpm2b(&r, &outer);
	if (!tpm2_rd_done(&r) || !pub || s->name_len == 0)
		return -EBADMSG;
	if (type != 1) /* IESYSC_KEY_RSRC; 2 would be an NV index */
		return -EOPNOTSUPP;
	s->pub = pub;
	s->pub_len = outer;
	return 0;
}

static const struct {
	uint16_t alg;
	const char *name;
	size_t size;
} hashes[] = {
	{TPM2_ALG_SHA1, "sha1", 20},
	{TPM2_ALG_SHA256, "sha256", 32},
	{TPM2_ALG_SHA384, "sha384", 48},
	{TPM2_ALG_SHA512, "sha512", 64},
};

bool tpm2_pcr_extended(const uint8_t *digest, size_t size)
{
	static const uint8_t zero[TPM2_DIGEST_MAX], ones[TPM2_DIGEST_MAX] = {[0 ... TPM2_DIGEST_MAX - 1] = 0xff};
	return memcmp(digest, zero, size) != 0 && memcmp(digest, ones, size) != 0;
}

size_t tpm2_hash_size(uint16_t alg)
{
	for (size_t i = 0; i < ELEMENTSOF(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].size;
	return 0;
}

const char *tpm2_hash_name(uint16_t alg)
{
	for (size_t i = 0; i < ELEMENTSOF(hashes); i++)
		if (hashes[i].alg == alg)
			return hashes[i].name;
	return "unknown";
}

uint16_t tpm2_hash_from_name(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(hashes); i++)
		if (strcasecmp(hashes[i].name, name) == 0)
			return hashes[i].alg;
	return 0;
}

uint32_t tpm2_rc_base(uint32_t rc)
{
	return rc & TPM2_RC_FMT1 ? rc & 0xBF : rc;
}

static const struct {
	uint32_t rc;
	const char *name;
} rc_names[] = {
	{TPM2_RC_AUTH_FAIL, "TPM_RC_AUTH_FAIL"},
	{TPM2_RC_BAD_AUTH, "TPM_RC_BAD_AUTH"},
	{TPM2_RC_POLICY_FAIL, "TPM_RC_POLICY_FAIL"},
	{TPM2_RC_HANDLE, "TPM_RC_HANDLE"},
	{0x084, "TPM_RC_VALUE"},
	{0x095, "TPM_RC_SIZE"},
	{0x09F, "TPM_RC_INTEGRITY"},
	{0x082, "TPM_RC_ATTRIBUTES"},
	{0x09B, "TPM_RC_SIGNATURE"},
	{TPM2_RC_PCR_CHANGED, "TPM_RC_PCR_CHANGED"},
	{TPM2_RC_LOCKOUT, "TPM_RC_LOCKOUT"},
	{0x902, "TPM_RC_OBJECT_MEMORY"},
	{0x903, "TPM_RC_SESSION_MEMORY"},
	{0x908, "TPM_RC_YIELDED"},
	{0x922, "TPM_RC_RETRY"},
	{0x100, "TPM_RC_INITIALIZE"},
	{0x101, "TPM_RC_FAILURE"},
	{0x143, "TPM_RC_COMMAND_CODE"},
};

const char *tpm2_rc_text(uint32_t rc, char *buf, size_t size)
{
	uint32_t base = tpm2_rc_base(rc);
	const char *name = "unknown";
	for (size_t i = 0; i < ELEMENTSOF(rc_names); i++)
		if (rc_names[i].rc == base)
			name = rc_names[i].name;
	if (rc & TPM2_RC_FMT1 && rc & 0x40)
		snprintf(buf, size, "0x%x (%s on parameter %u)", rc, name, (rc >> 8) & 0xF);
	else if (rc & TPM2_RC_FMT1 && rc & 0x800)
		snprintf(buf, size, "0x%x (%s on session %u)", rc, name, (rc >> 8) & 7);
	else if (rc & TPM2_RC_FMT1 && rc & 0xF00)
		snprintf(buf, size, "0x%x (%s on handle %u)", rc, name, (rc >> 8) & 7);
	else
		snprintf(buf, size, "0x%x (%s)", rc, name);
	return buf;
}

const char *tpm2_mask_text(uint32_t mask, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < TPM2_PCRS && n < size; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s%u", n ? "+" : "", i);
	if (!mask)
		snprintf(buf, size, "none");
	return buf;
}

int tpm2_parse_properties(const uint8_t *p, size_t len, uint32_t first, uint32_t *values, size_t n)
{
	struct tpm2_rd rd = tpm2_rd(p, len);
	tpm2_get_u8(&rd); /* moreData: the caller asks for no more than it needs */
	if (tpm2_get_u32(&rd) != TPM2_CAP_TPM_PROPERTIES)
		return -EBADMSG;
	uint32_t count = tpm2_get_u32(&rd);
	for (uint32_t i = 0; i < count && !rd.err; i++) {
		uint32_t prop = tpm2_get_u32(&rd), value = tpm2_get_u32(&rd);
		if (!rd.err && prop >= first && prop - first < n)
			values[prop - first] = value;
	}
	return tpm2_rd_done(&rd) ? 0 : -EBADMSG;
}
