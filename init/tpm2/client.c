/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small TPM2 client: one command at a time over a file descriptor (/dev/tpm0, or a swtpm socket in the
 * host tests), HMAC sessions with response verification and AES-CFB response encryption. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "io.h"
#include "macro.h"
#include "client.h"

/* TPM_RC_RETRY and friends: up to 100 × 20 ms, more than any self-test or NV write takes */
#define BUSY_RETRIES 100
#define BUSY_WAIT_NS (20 * 1000 * 1000)

static const struct command {
	uint32_t cc;
	const char *name;
	uint8_t rsp_handles; /* handles returned before the parameters */
	uint8_t auth;	     /* leading handles that need an authorization session */
} commands[] = {
	{TPM2_CC_CREATE_PRIMARY, "CreatePrimary", 1, 1},
	{TPM2_CC_IMPORT, "Import", 0, 1},
	{TPM2_CC_LOAD, "Load", 1, 1},
	{TPM2_CC_UNSEAL, "Unseal", 0, 1},
	{TPM2_CC_FLUSH_CONTEXT, "FlushContext", 0, 0},
	{TPM2_CC_LOAD_EXTERNAL, "LoadExternal", 1, 0},
	{TPM2_CC_POLICY_AUTHORIZE, "PolicyAuthorize", 0, 0},
	{TPM2_CC_POLICY_AUTH_VALUE, "PolicyAuthValue", 0, 0},
	{TPM2_CC_READ_PUBLIC, "ReadPublic", 0, 0},
	{TPM2_CC_START_AUTH_SESSION, "StartAuthSession", 1, 0},
	{TPM2_CC_VERIFY_SIGNATURE, "VerifySignature", 0, 0},
	{TPM2_CC_GET_CAPABILITY, "GetCapability", 0, 0},
	{TPM2_CC_GET_RANDOM, "GetRandom", 0, 0},
	{TPM2_CC_PCR_READ, "PCR_Read", 0, 0},
	{TPM2_CC_POLICY_PCR, "PolicyPCR", 0, 0},
	{TPM2_CC_POLICY_RESTART, "PolicyRestart", 0, 0},
	{TPM2_CC_PCR_EXTEND, "PCR_Extend", 0, 1},
	{TPM2_CC_POLICY_GET_DIGEST, "PolicyGetDigest", 0, 0},
};

static const struct command *command(uint32_t cc)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (commands[i].cc == cc)
			return &commands[i];
	return NULL;
}

const char *tpm2_cc_name(uint32_t cc)
{
	const struct command *c = command(cc);
	return c ? c->name : "unknown command";
}

void tpm2_init_fd(struct tpm2 *t, int fd)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
}

/* /dev/tpmN reaches the TPM directly, one user at a time; /dev/tpmrmN goes through the kernel's resource
 * manager, which saves every loaded object and session after each command and loads them back before the
 * next, three to four times the commands (docs/tpm2.md). A direct device someone else holds (EBUSY) is
 * shared through the manager instead. */
int tpm2_open(struct tpm2 *t, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == EBUSY && strncmp(path, "/dev/tpm", 8) == 0 && path[8] >= '0' && path[8] <= '9') {
		char rm[32];
		snprintf(rm, sizeof(rm), "/dev/tpmrm%.8s", path + 8);
		fd = open(rm, O_RDWR | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return -errno;
	tpm2_init_fd(t, fd);
	return 0;
}

void tpm2_close(struct tpm2 *t)
{
	if (t->fd >= 0)
		close(t->fd);
	explicit_bzero(t, sizeof(*t));
	t->fd = -1;
}

void tpm2_session_wipe(struct tpm2_session *s)
{
	explicit_bzero(s, sizeof(*s));
}

static int transmit(struct tpm2 *t, size_t len, size_t *rlen)
{
	int r = write_full(t->fd, t->cmd, len);
	if (r < 0)
		return r;
	/* the device answers in one read; a socket may split the response */
	size_t got = 0, want = 10;
	while (got < want) {
		ssize_t n = read_once(t->fd, t->rsp + got, sizeof(t->rsp) - got);
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		got += (size_t)n;
		if (got >= 6) {
			want = (size_t)t->rsp[2] << 24 | (size_t)t->rsp[3] << 16 | (size_t)t->rsp[4] << 8 | t->rsp[5];
			if (want < 10 || want > sizeof(t->rsp) || got > want)
				return -EBADMSG;
		}
	}
	*rlen = got;
	return 0;
}

struct call {
	uint32_t cc;
	unsigned nhandles, nsessions;
	const struct tpm2_object *handle[2];
	struct tpm2_session *session[TPM2_MAX_SESSIONS]; /* NULL: password session, empty password */
	const uint8_t *params;
	size_t params_len;
};

/* sessionKey ‖ authValue, the latter only where the session authorises an entity whose authValue counts */
static size_t hmac_key(const struct tpm2_session *s, bool authorizes, uint8_t key[2 * TPM2_SHA256_SIZE])
{
	memcpy(key, s->key, s->key_len);
	if (!authorizes || !s->auth_needed)
		return s->key_len;
	memcpy(key + s->key_len, s->auth, s->auth_len);
	return s->key_len + s->auth_len;
}

static void hmac_session(const uint8_t *key, size_t key_len, const uint8_t hash[32], const uint8_t *nonce1,
			 const uint8_t *nonce2, const uint8_t *extra, uint8_t attrs, uint8_t out[32])
{
	struct hmac_sha256_ctx h;
	hmac_sha256_set_key(&h, key_len, key);
	hmac_sha256_update(&h, 32, hash);
	hmac_sha256_update(&h, TPM2_SHA256_SIZE, nonce1);
	hmac_sha256_update(&h, TPM2_SHA256_SIZE, nonce2);
	if (extra)
		hmac_sha256_update(&h, TPM2_SHA256_SIZE, extra);
	hmac_sha256_update(&h, 1, &attrs);
	hmac_sha256_digest(&h, 32, out);
	explicit_bzero(&h, sizeof(h));
}

static int check_sessions(const struct call *c, const struct command *cmd, struct tpm2_response *rsp)
{
	uint8_t rp_hash[32], key[2 * TPM2_SHA256_SIZE], mac[32], cfb[32], head[8];
	struct tpm2_wr w = tpm2_wr(head, sizeof(head));
	tpm2_put_u32(&w, TPM2_RC_SUCCESS);
	tpm2_put_u32(&w, c->cc);
	struct sha256_ctx h;
	sha256_init(&h);
	sha256_update(&h, w.len, w.p);
	sha256_update(&h, rsp->params_len, rsp->params);
	sha256_digest(&h, sizeof(rp_hash), rp_hash);

	int r = 0;
	for (unsigned i = 0; i < c->nsessions && r == 0; i++) {
		struct tpm2_session *s = c->session[i];
		const struct tpm2_rsp_session *rs = &rsp->s[i];
		if (!s)
			continue;
		if (rs->nonce_len != TPM2_SHA256_SIZE) {
			r = -EBADMSG;
			break;
		}
		size_t n = hmac_key(s, i < cmd->auth, key);
		if (n == 0)
			r = rs->hmac_len == 0 ? 0 : -EBADMSG;
		else {
			hmac_session(key, n, rp_hash, rs->nonce, s->nonce_caller, NULL, rs->attrs, mac);
			r = rs->hmac_len == sizeof(mac) && memeql_sec(mac, rs->hmac, sizeof(mac)) ? 0 : -EBADMSG;
		}
		memcpy(s->nonce_tpm, rs->nonce, TPM2_SHA256_SIZE);
		if (r == 0 && s->attrs & TPM2_SA_ENCRYPT) {
			/* only a session that authorises nothing may encrypt here: its key is the session key */
			if (i < cmd->auth || rsp->params_len < 2 ||
			    (size_t)(rsp->params[0] << 8 | rsp->params[1]) > rsp->params_len - 2) {
				r = -EBADMSG;
				break;
			}
			tpm2_kdfa(s->key, s->key_len, "CFB", s->nonce_tpm, TPM2_SHA256_SIZE, s->nonce_caller,
				  TPM2_SHA256_SIZE, cfb, sizeof(cfb));
			tpm2_cfb(cfb, cfb + 16, rsp->params + 2, (size_t)(rsp->params[0] << 8 | rsp->params[1]), false);
		}
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(cfb, sizeof(cfb));
	return r;
}

/* cpHash = H(CC ‖ names of the handles ‖ parameters); a handle without a name is named by itself */
static void cp_hash(const struct call *c, uint8_t out[32])
{
	uint8_t b[4];
	struct sha256_ctx h;
	sha256_init(&h);
	sha256_update(&h, 4, tpm2_be32(b, c->cc));
	for (unsigned i = 0; i < c->nhandles; i++) {
		const struct tpm2_object *o = c->handle[i];
		if (o->name_len)
			sha256_update(&h, o->name_len, o->name);
		else
			sha256_update(&h, 4, tpm2_be32(b, o->handle));
	}
	sha256_update(&h, c->params_len, c->params);
	sha256_digest(&h, 32, out);
}

/* One session's entry of the authorization area: a fresh caller nonce and the command HMAC. */
static int put_session(struct tpm2_wr *w, const struct call *c, unsigned i, bool authorizes, int enc,
		       const uint8_t cp[32])
{
	uint8_t key[2 * TPM2_SHA256_SIZE], mac[32];
	struct tpm2_session *s = c->session[i];
	if (!s) { /* password session, empty password */
		tpm2_put_u32(w, TPM2_RS_PW);
		tpm2_put_tpm2b(w, NULL, 0);
		tpm2_put_u8(w, 0);
		tpm2_put_tpm2b(w, NULL, 0);
		return 0;
	}
	int r = tpm2_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (r < 0)
		return r;
	/* session 0 also covers the nonce of a separate encrypt session */
	const uint8_t *extra = i == 0 && authorizes && enc > 0 ? c->session[enc]->nonce_tpm : NULL;
	size_t n = hmac_key(s, authorizes, key);
	if (n)
		hmac_session(key, n, cp, s->nonce_caller, s->nonce_tpm, extra, s->attrs, mac);
	explicit_bzero(key, sizeof(key));
	tpm2_put_u32(w, s->handle);
	tpm2_put_tpm2b(w, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_u8(w, s->attrs);
	tpm2_put_tpm2b(w, mac, n ? sizeof(mac) : 0);
	return 0;
}

static int put_auth_area(struct tpm2_wr *w, const struct call *c, const struct command *cmd)
{
	uint8_t cp[32];
	int enc = -1;
	cp_hash(c, cp);
	for (unsigned i = 0; i < c->nsessions; i++)
		if (c->session[i] && c->session[i]->attrs & TPM2_SA_ENCRYPT)
			enc = (int)i;
	size_t size_at = w->len;
	tpm2_put_u32(w, 0); /* authorizationSize, set below */
	for (unsigned i = 0; i < c->nsessions; i++) {
		int r = put_session(w, c, i, i < cmd->auth, enc, cp);
		if (r < 0)
			return r;
	}
	if (!w->overflow)
		tpm2_put_u32(&(struct tpm2_wr){.p = w->p + size_at, .cap = 4}, (uint32_t)(w->len - size_at - 4));
	return 0;
}

/* Sends the marshalled command and parses the answer, again while the TPM did not start it (busy,
 * self-test, NV write pending). */
static int send_command(struct tpm2 *t, size_t len, const struct call *c, const struct command *cmd,
			struct tpm2_response *rsp)
{
	for (unsigned i = 0;; i++) {
		size_t rlen = 0;
		int r = transmit(t, len, &rlen);
		if (r == 0)
			r = tpm2_parse_response(t->rsp, rlen, cmd->rsp_handles, c->nsessions, rsp);
		if (r < 0)
			return r;
		if ((rsp->rc != TPM2_RC_RETRY && rsp->rc != TPM2_RC_YIELDED && rsp->rc != TPM2_RC_TESTING) ||
		    i == BUSY_RETRIES)
			return 0;
		nanosleep(&(struct timespec){.tv_nsec = BUSY_WAIT_NS}, NULL);
	}
}

static int call(struct tpm2 *t, const struct call *c, struct tpm2_response *rsp)
{
	const struct command *cmd = command(c->cc);
	struct tpm2_wr w = tpm2_wr(t->cmd, sizeof(t->cmd));
	int r;

	if (!cmd || c->nhandles > 2 || c->nsessions > TPM2_MAX_SESSIONS || c->nsessions < cmd->auth)
		return -EINVAL;
	t->last_cc = c->cc;
	tpm2_put_u16(&w, c->nsessions ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS);
	tpm2_put_u32(&w, 0); /* size, set below */
	tpm2_put_u32(&w, c->cc);
	for (unsigned i = 0; i < c->nhandles; i++)
		tpm2_put_u32(&w, c->handle[i]->handle);
	if (c->nsessions && (r = put_auth_area(&w, c, cmd)) < 0)
		return r;
	tpm2_put_bytes(&w, c->params, c->params_len);
	if (w.overflow)
		return -E2BIG;
	tpm2_put_u32(&(struct tpm2_wr){.p = t->cmd + 2, .cap = 4}, (uint32_t)w.len);
	r = send_command(t, w.len, c, cmd, rsp);
	if (r < 0)
		return r;
	if (rsp->rc != TPM2_RC_SUCCESS)
		return (int)rsp->rc;
	return c->nsessions ? check_sessions(c, cmd, rsp) : 0;
}

/* call() with the parameters marshalled in w: -E2BIG when they did not fit. */
static int call_with(struct tpm2 *t, struct call c, const struct tpm2_wr *w, struct tpm2_response *rsp)
{
	if (w->overflow)
		return -E2BIG;
	c.params = w->p, c.params_len = w->len;
	return call(t, &c, rsp);
}

static const struct tpm2_object *handle_of(uint32_t h, struct tpm2_object *o)
{
	memset(o, 0, sizeof(*o));
	o->handle = h;
	return o;
}

int tpm2_flush(struct tpm2 *t, uint32_t handle)
{
	uint8_t p[4];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	tpm2_put_u32(&w, handle);
	return call_with(t, (struct call){.cc = TPM2_CC_FLUSH_CONTEXT}, &w, &rsp);
}

size_t tpm2_primary_template(uint16_t alg, uint8_t *buf, size_t size)
{
	/* systemd's legacy primary (252 tpm2_make_primary, 257 tpm2_get_legacy_template): restricted|decrypt|
	 * fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth, AES-128-CFB, empty unique, no noDA */
	struct tpm2_wr w = tpm2_wr(buf, size);
	tpm2_put_public_head(&w, alg, 0x00030072);
	tpm2_put_u16(&w, TPM2_ALG_AES);
	tpm2_put_u16(&w, 128);
	tpm2_put_u16(&w, TPM2_ALG_CFB);
	tpm2_put_u16(&w, TPM2_ALG_NULL); /* scheme */
	if (alg == TPM2_ALG_ECC) {
		tpm2_put_u16(&w, TPM2_ECC_NIST_P256);
		tpm2_put_u16(&w, TPM2_ALG_NULL); /* kdf */
		tpm2_put_tpm2b(&w, NULL, 0);
		tpm2_put_tpm2b(&w, NULL, 0);
	} else {
		tpm2_put_u16(&w, 2048);
		tpm2_put_u32(&w, 0); /* the default exponent */
		tpm2_put_tpm2b(&w, NULL, 0);
	}
	return w.overflow ? 0 : w.len;
}

/* Copies a returned TPM2B_PUBLIC and the name, and checks that the name is the public area's. */
static int take_public(struct tpm2_rd *r, struct tpm2_key *k)
{
	uint8_t name[TPM2_NAME_MAX];
	if (tpm2_copy_tpm2b(r, k->pub, sizeof(k->pub), &k->pub_len) < 0)
		return -EBADMSG;
	int len = tpm2_name(k->pub, k->pub_len, name);
	if (len < 0)
		return len;
	if (len != (int)k->obj.name_len || memcmp(name, k->obj.name, (size_t)len) != 0)
		return -EBADMSG;
	return 0;
}

static int take_name(struct tpm2_rd *r, struct tpm2_object *o)
{
	return tpm2_copy_tpm2b(r, o->name, sizeof(o->name), &o->name_len);
}

/* handle and name out of a Load or LoadExternal response */
static int loaded(const struct tpm2_response *rsp, void *object)
{
	struct tpm2_object *out = object;
	struct tpm2_rd rd = tpm2_rd(rsp->params, rsp->params_len);
	memset(out, 0, sizeof(*out));
	out->handle = rsp->handle;
	return take_name(&rd, out) == 0 && tpm2_rd_done(&rd) ? 0 : -EBADMSG;
}

/* A command that makes an object: take() reads it from the answer, and a malformed answer flushes it again. */
static int call_object(struct tpm2 *t, struct call c, const struct tpm2_wr *w,
		       int (*take)(const struct tpm2_response *rsp, void *out), void *out)
{
	struct tpm2_response rsp;
	int r = call_with(t, c, w, &rsp);
	if (r != 0)
		return r;
	r = take(&rsp, out);
	if (r < 0)
		tpm2_flush(t, rsp.handle);
	return r;
}

/* After a response's last field: the name was taken (r), nothing is left over, then the public area,
 * which comes first in both CreatePrimary's and ReadPublic's answers. */
static int take_key_end(struct tpm2_rd *rd, int r, struct tpm2_key *k)
{
	if (r == 0 && !tpm2_rd_done(rd))
		r = -EBADMSG;
	if (r == 0) {
		rd->off = 0;
		r = take_public(rd, k);
	}
	return r;
}

/* outPublic, creationData, creationHash, creationTicket, name: the name comes last */
static int take_primary(const struct tpm2_response *rsp, void *key)
{
	struct tpm2_key *k = key;
	struct tpm2_rd rd = tpm2_rd(rsp->params, rsp->params_len);
	size_t len;
	memset(k, 0, sizeof(*k));
	k->obj.handle = rsp->handle;
	tpm2_get_tpm2b(&rd, &len);
	tpm2_get_tpm2b(&rd, &len);
	tpm2_get_tpm2b(&rd, &len);
	tpm2_get_u16(&rd);
	tpm2_get_u32(&rd);
	tpm2_get_tpm2b(&rd, &len);
	return take_key_end(&rd, take_name(&rd, &k->obj), k);
}

int tpm2_create_primary(struct tpm2 *t, uint16_t alg, struct tpm2_key *k)
{
	uint8_t p[128], tmpl[64];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_object owner;
	size_t n = tpm2_primary_template(alg, tmpl, sizeof(tmpl));

	tpm2_put_u16(&w, 4); /* TPM2B_SENSITIVE_CREATE: empty userAuth and data */
	tpm2_put_u16(&w, 0);
	tpm2_put_u16(&w, 0);
	tpm2_put_tpm2b(&w, tmpl, n);
	tpm2_put_tpm2b(&w, NULL, 0); /* outsideInfo */
	tpm2_put_u32(&w, 0);	     /* creationPCR */
	return call_object(t,
			   (struct call){.cc = TPM2_CC_CREATE_PRIMARY,
					 .nhandles = 1,
					 .handle = {handle_of(TPM2_RH_OWNER, &owner)},
					 .nsessions = 1},
			   &w, take_primary, k);
}

int tpm2_read_public(struct tpm2 *t, uint32_t handle, struct tpm2_key *k)
{
	struct tpm2_object o;
	struct tpm2_response rsp;
	size_t len;
	int r = call(t, &(struct call){.cc = TPM2_CC_READ_PUBLIC, .nhandles = 1, .handle = {handle_of(handle, &o)}},
		     &rsp);
	if (r != 0)
		return r;
	memset(k, 0, sizeof(*k));
	k->obj.handle = handle;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	tpm2_get_tpm2b(&rd, &len);
	r = take_name(&rd, &k->obj);
	tpm2_get_tpm2b(&rd, &len); /* qualifiedName */
	return take_key_end(&rd, r, k);
}

int tpm2_load(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *priv, size_t priv_len,
	      const uint8_t *pub, size_t pub_len, struct tpm2_object *out)
{
	uint8_t p[TPM2_MAX_BUF / 2];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	tpm2_put_bytes(&w, priv, priv_len); /* both already TPM2Bs */
	tpm2_put_bytes(&w, pub, pub_len);
	return call_object(t, (struct call){.cc = TPM2_CC_LOAD, .nhandles = 1, .handle = {parent}, .nsessions = 1}, &w,
			   loaded, out);
}

int tpm2_import(struct tpm2 *t, const struct tpm2_object *parent, const uint8_t *pub, size_t pub_len,
		const uint8_t *dup, size_t dup_len, const uint8_t *seed, size_t seed_len, uint8_t *priv,
		size_t *priv_len)
{
	uint8_t p[TPM2_MAX_BUF / 2];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	size_t n;
	tpm2_put_tpm2b(&w, NULL, 0); /* encryptionKey: no inner wrapper */
	tpm2_put_bytes(&w, pub, pub_len);
	tpm2_put_bytes(&w, dup, dup_len);
	tpm2_put_bytes(&w, seed, seed_len);
	tpm2_put_u16(&w, TPM2_ALG_NULL);
	int r = call_with(t, (struct call){.cc = TPM2_CC_IMPORT, .nhandles = 1, .handle = {parent}, .nsessions = 1}, &w,
			  &rsp);
	if (r != 0)
		return r;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	const uint8_t *out = tpm2_get_tpm2b(&rd, &n);
	if (!out || !tpm2_rd_done(&rd) || n + 2 > *priv_len)
		return -EBADMSG;
	memcpy(priv, rsp.params, n + 2);
	*priv_len = n + 2;
	return 0;
}

/* encryptedSalt for StartAuthSession: the TPMS_ECC_POINT of an ephemeral ECDH key for an ECC P-256 salt key,
 * RSA-OAEP of a random salt for an RSA one. The salt is 32 bytes: the size of SHA-256, the key's nameAlg. */
static int encrypt_salt(const struct tpm2_key *k, uint8_t salt[TPM2_SHA256_SIZE], uint8_t *secret, size_t *secret_len)
{
	struct tpm2_public pub;
	if (tpm2_parse_public(k->pub, k->pub_len, &pub) < 0 || pub.name_alg != TPM2_ALG_SHA256)
		return -EOPNOTSUPP;
	if (pub.type == TPM2_ALG_RSA)
		return tpm2_rsa_salt(pub.unique, pub.unique_len, pub.rsa_exponent, salt, secret, secret_len);
	if (pub.type != TPM2_ALG_ECC || pub.curve != TPM2_ECC_NIST_P256 || *secret_len < TPM2_ECC_POINT_SIZE)
		return -EOPNOTSUPP;
	*secret_len = TPM2_ECC_POINT_SIZE;
	return tpm2_ecdh_salt(pub.unique, pub.unique_len, pub.ecc_y, pub.ecc_y_len, salt, secret);
}

int tpm2_start_session(struct tpm2 *t, uint8_t type, const struct tpm2_key *salt_key, struct tpm2_session *s)
{
	uint8_t p[TPM2_RSA_MAX + 64], secret[TPM2_RSA_MAX], salt[TPM2_SHA256_SIZE];
	size_t secret_len = sizeof(secret), n;
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_object null;
	struct tpm2_response rsp;

	memset(s, 0, sizeof(*s));
	int r = encrypt_salt(salt_key, salt, secret, &secret_len);
	if (r == 0)
		r = tpm2_random(s->nonce_caller, sizeof(s->nonce_caller));
	if (r < 0)
		goto out;
	tpm2_put_tpm2b(&w, s->nonce_caller, sizeof(s->nonce_caller));
	tpm2_put_tpm2b(&w, secret, secret_len);
	tpm2_put_u8(&w, type);
	tpm2_put_u16(&w, TPM2_ALG_AES);
	tpm2_put_u16(&w, 128);
	tpm2_put_u16(&w, TPM2_ALG_CFB);
	tpm2_put_u16(&w, TPM2_ALG_SHA256);
	r = call_with(t,
		      (struct call){.cc = TPM2_CC_START_AUTH_SESSION,
				    .nhandles = 2,
				    .handle = {&salt_key->obj, handle_of(TPM2_RH_NULL, &null)}},
		      &w, &rsp);
	if (r != 0)
		goto out;
	s->handle = rsp.handle;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	const uint8_t *nonce = tpm2_get_tpm2b(&rd, &n);
	if (!nonce || n != TPM2_SHA256_SIZE || !tpm2_rd_done(&rd)) {
		tpm2_flush(t, rsp.handle);
		r = -EBADMSG;
		goto out;
	}
	memcpy(s->nonce_tpm, nonce, n);
	/* sessionKey = KDFa(SHA256, salt (unbound: no authValue), "ATH", nonceTPM, nonceCaller, 256) */
	tpm2_kdfa(salt, sizeof(salt), "ATH", s->nonce_tpm, n, s->nonce_caller, sizeof(s->nonce_caller), s->key,
		  sizeof(s->key));
	s->key_len = sizeof(s->key);
out:
	explicit_bzero(salt, sizeof(salt));
	return r;
}

/* A policy command on session s; w holds its parameters (NULL: none). */
static int policy_call(struct tpm2 *t, uint32_t cc, struct tpm2_session *s, const struct tpm2_wr *w,
		       struct tpm2_response *rsp)
{
	struct tpm2_object o;
	struct tpm2_wr none = tpm2_wr(NULL, 0);
	return call_with(t, (struct call){.cc = cc, .nhandles = 1, .handle = {handle_of(s->handle, &o)}}, w ? w : &none,
			 rsp);
}

/* One TPMS_PCR_SELECTION: the bank, then PCRs 0-23 as three bytes of bits */
static void put_bank(struct tpm2_wr *w, uint16_t bank, uint32_t mask)
{
	tpm2_put_u16(w, bank);
	tpm2_put_u8(w, 3);
	tpm2_put_u8(w, (uint8_t)mask);
	tpm2_put_u8(w, (uint8_t)(mask >> 8));
	tpm2_put_u8(w, (uint8_t)(mask >> 16));
}

static void put_selection(struct tpm2_wr *w, uint16_t bank, uint32_t mask)
{
	tpm2_put_u32(w, 1);
	put_bank(w, bank, mask);
}

int tpm2_policy_pcr(struct tpm2 *t, struct tpm2_session *s, uint16_t bank, uint32_t mask)
{
	uint8_t p[16];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	tpm2_put_tpm2b(&w, NULL, 0); /* pcrDigest: the TPM's current values */
	put_selection(&w, bank, mask);
	return policy_call(t, TPM2_CC_POLICY_PCR, s, &w, &rsp);
}

/* A policy command without parameters after which the object's authValue counts in the HMAC, or not. */
static int policy_auth(struct tpm2 *t, struct tpm2_session *s, uint32_t cc, bool auth_needed)
{
	struct tpm2_response rsp;
	int r = policy_call(t, cc, s, NULL, &rsp);
	if (r == 0)
		s->auth_needed = auth_needed;
	return r;
}

int tpm2_policy_auth_value(struct tpm2 *t, struct tpm2_session *s)
{
	return policy_auth(t, s, TPM2_CC_POLICY_AUTH_VALUE, true);
}

int tpm2_policy_restart(struct tpm2 *t, struct tpm2_session *s)
{
	return policy_auth(t, s, TPM2_CC_POLICY_RESTART, false);
}

int tpm2_policy_get_digest(struct tpm2 *t, struct tpm2_session *s, uint8_t digest[TPM2_SHA256_SIZE])
{
	struct tpm2_response rsp;
	size_t n;
	int r = policy_call(t, TPM2_CC_POLICY_GET_DIGEST, s, NULL, &rsp);
	if (r != 0)
		return r;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	const uint8_t *d = tpm2_get_tpm2b(&rd, &n);
	if (!d || n != TPM2_SHA256_SIZE || !tpm2_rd_done(&rd))
		return -EBADMSG;
	memcpy(digest, d, n);
	return 0;
}

int tpm2_load_external(struct tpm2 *t, const uint8_t *pub, size_t pub_len, struct tpm2_object *out)
{
	uint8_t p[TPM2_PUBLIC_MAX + 16];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	tpm2_put_tpm2b(&w, NULL, 0); /* no private part */
	tpm2_put_tpm2b(&w, pub, pub_len);
	/* the owner hierarchy: a key in the NULL hierarchy would give a NULL ticket, which PolicyAuthorize refuses */
	tpm2_put_u32(&w, TPM2_RH_OWNER);
	return call_object(t, (struct call){.cc = TPM2_CC_LOAD_EXTERNAL}, &w, loaded, out);
}

int tpm2_verify_signature(struct tpm2 *t, const struct tpm2_object *key, const uint8_t digest[TPM2_SHA256_SIZE],
			  const uint8_t *sig, size_t sig_len, uint8_t *ticket, size_t *ticket_len)
{
	uint8_t p[TPM2_RSA_MAX + 64];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	size_t n;
	tpm2_put_tpm2b(&w, digest, TPM2_SHA256_SIZE);
	tpm2_put_u16(&w, TPM2_ALG_RSASSA);
	tpm2_put_u16(&w, TPM2_ALG_SHA256);
	tpm2_put_tpm2b(&w, sig, sig_len);
	int r = call_with(t, (struct call){.cc = TPM2_CC_VERIFY_SIGNATURE, .nhandles = 1, .handle = {key}}, &w, &rsp);
	if (r != 0)
		return r;
	/* TPMT_TK_VERIFIED: tag, hierarchy, digest; PolicyAuthorize takes it back as it is */
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	uint16_t tag = tpm2_get_u16(&rd);
	tpm2_get_u32(&rd);
	tpm2_get_tpm2b(&rd, &n);
	if (!tpm2_rd_done(&rd) || tag != TPM2_ST_VERIFIED || rsp.params_len > *ticket_len)
		return -EBADMSG;
	memcpy(ticket, rsp.params, rsp.params_len);
	*ticket_len = rsp.params_len;
	return 0;
}

int tpm2_policy_authorize(struct tpm2 *t, struct tpm2_session *s, const uint8_t approved[TPM2_SHA256_SIZE],
			  const uint8_t *key_name, size_t key_name_len, const uint8_t *ticket, size_t ticket_len)
{
	uint8_t p[256];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	tpm2_put_tpm2b(&w, approved, TPM2_SHA256_SIZE);
	tpm2_put_tpm2b(&w, NULL, 0); /* policyRef: systemd signs none */
	tpm2_put_tpm2b(&w, key_name, key_name_len);
	tpm2_put_bytes(&w, ticket, ticket_len);
	return policy_call(t, TPM2_CC_POLICY_AUTHORIZE, s, &w, &rsp);
}

int tpm2_unseal(struct tpm2 *t, const struct tpm2_object *item, struct tpm2_session *policy, struct tpm2_session *enc,
		uint8_t *out, size_t *out_len)
{
	struct tpm2_response rsp;
	size_t n;
	policy->attrs = TPM2_SA_CONTINUE;
	/* decrypt stays clear: Unseal has no command parameter, and the TPM refuses the attribute */
	enc->attrs = TPM2_SA_ENCRYPT | TPM2_SA_CONTINUE;
	int r = call(t,
		     &(struct call){.cc = TPM2_CC_UNSEAL,
				    .nhandles = 1,
				    .handle = {item},
				    .nsessions = 2,
				    .session = {policy, enc}},
		     &rsp);
	if (r == 0) {
		struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
		const uint8_t *data = tpm2_get_tpm2b(&rd, &n);
		if (!data || !tpm2_rd_done(&rd) || n > *out_len)
			r = -EBADMSG;
		else {
			memcpy(out, data, n);
			*out_len = n;
		}
	}
	explicit_bzero(t->rsp, sizeof(t->rsp));
	return r;
}

int tpm2_get_banks(struct tpm2 *t, struct tpm2_banks *banks)
{
	uint8_t p[12];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	tpm2_put_u32(&w, TPM2_CAP_PCRS);
	tpm2_put_u32(&w, 0);
	tpm2_put_u32(&w, 1);
	int r = call_with(t, (struct call){.cc = TPM2_CC_GET_CAPABILITY}, &w, &rsp);
	if (r != 0)
		return r;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	tpm2_get_u8(&rd); /* moreData: all banks fit in one answer */
	if (tpm2_get_u32(&rd) != TPM2_CAP_PCRS || tpm2_parse_pcr_selection(&rd, banks) < 0 || !tpm2_rd_done(&rd))
		return -EBADMSG;
	return 0;
}

int tpm2_get_properties(struct tpm2 *t, uint32_t first, uint32_t *values, size_t n)
{
	uint8_t p[12];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	tpm2_put_u32(&w, TPM2_CAP_TPM_PROPERTIES);
	tpm2_put_u32(&w, first);
	tpm2_put_u32(&w, (uint32_t)n);
	int r = call_with(t, (struct call){.cc = TPM2_CC_GET_CAPABILITY}, &w, &rsp);
	return r != 0 ? r : tpm2_parse_properties(rsp.params, rsp.params_len, first, values, n);
}

int tpm2_pcr_read(struct tpm2 *t, uint16_t alg, uint32_t mask, uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX])
{
	/* a TPM returns at most 8 digests per PCR_Read: ask again for the rest */
	while (mask) {
		uint8_t p[16];
		struct tpm2_wr w = tpm2_wr(p, sizeof(p));
		struct tpm2_response rsp;
		uint32_t got;
		put_selection(&w, alg, mask);
		int r = call_with(t, (struct call){.cc = TPM2_CC_PCR_READ}, &w, &rsp);
		if (r != 0)
			return r;
		r = tpm2_parse_pcr_read(rsp.params, rsp.params_len, alg, digests, &got);
		if (r < 0)
			return r;
		if (got == 0 || (got & ~mask))
			return -ENXIO; /* the bank lacks these PCRs */
		mask &= ~got;
	}
	return 0;
}

int tpm2_pcr_read_banks(struct tpm2 *t, unsigned pcr, const uint16_t *algs, unsigned n,
			uint8_t (*digests)[TPM2_DIGEST_MAX], uint32_t *got)
{
	uint8_t p[4 + TPM2_MAX_BANKS * 6];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	*got = 0;
	if (pcr >= TPM2_PCRS || n > TPM2_MAX_BANKS)
		return -EINVAL;
	tpm2_put_u32(&w, n);
	for (unsigned k = 0; k < n; k++)
		put_bank(&w, algs[k], 1u << pcr);
	int r = call_with(t, (struct call){.cc = TPM2_CC_PCR_READ}, &w, &rsp);
	return r != 0 ? r : tpm2_parse_pcr_read_banks(rsp.params, rsp.params_len, pcr, algs, n, digests, got);
}

int tpm2_pcr_extend(struct tpm2 *t, unsigned pcr, const uint16_t *algs, const uint8_t (*digests)[TPM2_DIGEST_MAX],
		    unsigned n)
{
	uint8_t p[4 + TPM2_MAX_BANKS * (2 + TPM2_DIGEST_MAX)];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_object o;
	struct tpm2_response rsp;
	tpm2_put_u32(&w, n);
	for (unsigned i = 0; i < n; i++) {
		tpm2_put_u16(&w, algs[i]);
		tpm2_put_bytes(&w, digests[i], tpm2_hash_size(algs[i])); /* TPMU_HA: no size prefix */
	}
	if (w.overflow || pcr >= TPM2_PCRS)
		return -EINVAL;
	return call_with(
		t,
		(struct call){.cc = TPM2_CC_PCR_EXTEND, .nhandles = 1, .handle = {handle_of(pcr, &o)}, .nsessions = 1},
		&w, &rsp);
}

int tpm2_get_random(struct tpm2 *t, uint8_t *out, size_t n)
{
	uint8_t p[2];
	struct tpm2_wr w = tpm2_wr(p, sizeof(p));
	struct tpm2_response rsp;
	size_t got;
	tpm2_put_u16(&w, (uint16_t)n);
	int r = call_with(t, (struct call){.cc = TPM2_CC_GET_RANDOM}, &w, &rsp);
	if (r != 0)
		return r;
	struct tpm2_rd rd = tpm2_rd(rsp.params, rsp.params_len);
	r = tpm2_copy_tpm2b(&rd, out, n, &got);
	if (r == 0 && (!tpm2_rd_done(&rd) || got != n))
		r = -EBADMSG; /* a TPM gives at most one digest's worth: ask for no more */
	explicit_bzero(t->rsp, sizeof(t->rsp));
	return r;
}
