/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dm-verity: root and /usr opened read-only through their hash partitions, with the root hash from roothash=
 * or usrhash= (a signed command line), or from a signature partition whose signature the kernel checks
 * against its trusted keys. docs/verity.md has the layout, the partition UUIDs and the signature format. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <nettle/base64.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "earlyroot.h"

/* the DPS pads the signature JSON to 4 KiB multiples; a signature with a certificate chain fits in 64 KiB */
#define SIG_PART_MAX   (64 * 1024)
/* the JSON object is one level deep */
#define SIG_JSON_DEPTH 4
/* cryptsetup's superblock: 512 bytes at the start of the hash partition, then the tree's levels, top first */
#define SB_SIZE	       512
/* veritysetup takes hash blocks of 512 bytes up to the page size; systemd-repart writes 4096 */
#define HASH_BLOCK_MAX 4096

static int hex_digit(char ch)
{
	return ch >= '0' && ch <= '9'	? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
					: -1;
}

/* a root hash: hex digits, whole bytes, 256 to 512 bits */
static bool root_hash_valid(const char *hex)
{
	size_t n = strlen(hex);
	if (n < 64 || n > VERITY_HEX_MAX || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hex_digit(hex[i]) < 0)
			return false;
	return true;
}

/* 32 hex digits as a UUID's text (8-4-4-4-12), lower case: the bytes in order, as systemd-repart sets them */
static void uuid_from_hex(const char *hex, char out[GUID_LEN + 1])
{
	static const int groups[] = {8, 4, 4, 4, 12};
	char *o = out;
	for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
		if (g)
			*o++ = '-';
		for (int i = 0; i < groups[g]; i++)
			*o++ = (char)tolower((unsigned char)*hex++);
	}
	*o = 0;
}

int verity_partuuids(const char *hex, char data[GUID_LEN + 1], char hash[GUID_LEN + 1])
{
	if (!root_hash_valid(hex))
		return -EINVAL;
	uuid_from_hex(hex, data);
	uuid_from_hex(hex + strlen(hex) - 32, hash);
	return 0;
}

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return -EINVAL;
}

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* the string member name of o, or NULL */
static const char *member(struct json_object *o, const char *name, size_t *len)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* JSON text, then NUL bytes to the end: the object, or NULL */
static struct json_object *sig_json(const char *buf, size_t len)
{
	size_t n = strnlen(buf, len);
	for (size_t i = n; i < len; i++)
		if (buf[i])
			return NULL;
	struct json_tokener *tok = json_tokener_new_ex(SIG_JSON_DEPTH);
	if (!tok || n > INT32_MAX) {
		if (tok)
			json_tokener_free(tok);
		return NULL;
	}
	struct json_object *o = json_tokener_parse_ex(tok, buf, (int)n);
	bool ok = o && json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(o, json_type_object);
	for (size_t i = ok ? json_tokener_get_parse_end(tok) : n; ok && i < n; i++)
		ok = isspace((unsigned char)buf[i]);
	json_tokener_free(tok);
	if (!ok && o) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int verity_sig_parse(const char *buf, size_t len, struct verity_sig *s, const char **why)
{
	__attribute__((cleanup(json_putp))) struct json_object *o = sig_json(buf, len);
	struct base64_decode_ctx b64;
	size_t n, fp_len, sig_len;
	memset(s, 0, sizeof(*s));
	*why = NULL;
	if (!o)
		return bad(why, "not one JSON object followed by NUL padding");
	const char *hash = member(o, "rootHash", &n);
	if (!hash || n != strlen(hash) || !root_hash_valid(hash))
		return bad(why, "no rootHash of 64 to 128 hex digits");
	for (size_t i = 0; i <= n; i++)
		s->root_hash[i] = (char)tolower((unsigned char)hash[i]);
	const char *sig = member(o, "signature", &sig_len);
	if (!sig || !sig_len)
		return bad(why, "no signature (base64 PKCS#7)");
	if (BASE64_DECODE_LENGTH(sig_len) > sizeof(s->signature))
		return bad(why, "the signature is larger than earlyroot takes (8 KiB)");
	s->signature_len = sizeof(s->signature);
	base64_decode_init(&b64);
	if (!base64_decode_update(&b64, &s->signature_len, s->signature, sig_len, sig) || !base64_decode_final(&b64) ||
	    !s->signature_len)
		return bad(why, "the signature is not base64");
	const char *fp = member(o, "certificateFingerprint", &fp_len);
	if (fp) {
		if (fp_len != 64 || strlen(fp) != 64)
			return bad(why, "certificateFingerprint is not 64 hex digits (SHA-256)");
		for (size_t i = 0; i < 64; i++) {
			if (hex_digit(fp[i]) < 0)
				return bad(why, "certificateFingerprint is not 64 hex digits (SHA-256)");
			s->fingerprint[i] = (char)tolower((unsigned char)fp[i]);
		}
	}
	return 0;
}

int verity_sig_read(const char *dev, struct verity_sig *s, const char **why)
{
	_cleanup_free_ char *buf = malloc(SIG_PART_MAX);
	*why = NULL;
	if (!buf)
		return -ENOMEM;
	ssize_t n = read_file(dev, buf, SIG_PART_MAX);
	if (n < 0) {
		*why = "cannot be read";
		return (int)n;
	}
	return verity_sig_parse(buf, (size_t)n, s, why);
}

static uint64_t le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* the hash algorithms of dm-verity that earlyroot computes (systemd-repart uses sha256) */
static const struct nettle_hash *hash_alg(const char *name)
{
	static const struct {
		const char *name;
		const struct nettle_hash *h;
	} algs[] = {{"sha256", &nettle_sha256}, {"sha512", &nettle_sha512}, {"sha1", &nettle_sha1}};
	for (size_t i = 0; i < ELEMENTSOF(algs); i++)
		if (strcmp(name, algs[i].name) == 0)
			return algs[i].h;
	return NULL;
}

int verity_root_hash(const char *dev, char hex[VERITY_HEX_MAX + 1])
{
	uint8_t sb[SB_SIZE], block[HASH_BLOCK_MAX], digest[SHA512_DIGEST_SIZE];
	char alg[33];
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, sb, sizeof(sb), 0) != (ssize_t)sizeof(sb) || memcmp(sb, "verity\0\0", 8) != 0 ||
	    le(sb + 8, 4) != 1)
		return -EINVAL; /* no verity superblock of version 1 */
	uint32_t hash_type = (uint32_t)le(sb + 12, 4), hbs = (uint32_t)le(sb + 68, 4);
	uint64_t data_blocks = le(sb + 72, 8);
	size_t salt_size = (size_t)le(sb + 80, 2);
	snprintf(alg, sizeof(alg), "%.32s", (const char *)sb + 32);
	const struct nettle_hash *h = hash_alg(alg);
	if (!h || hash_type > 1 || hbs < 512 || hbs > HASH_BLOCK_MAX || (hbs & (hbs - 1)) || salt_size > 256 ||
	    h->digest_size > hbs || data_blocks < 2)
		return -EOPNOTSUPP;
	unsigned bits = 0, levels = 0;
	while ((2u << bits) <= hbs / h->digest_size)
		bits++;
	while (bits * levels < 64 && (data_blocks - 1) >> (bits * levels))
		levels++;
	/* the top level, one block, comes first, in the hash block after the superblock */
	off_t top = (off_t)((SB_SIZE + hbs - 1) / hbs * hbs);
	if (pread(fd, block, hbs, top) != (ssize_t)hbs)
		return -EIO;
	union {
		struct sha1_ctx sha1;
		struct sha256_ctx sha256;
		struct sha512_ctx sha512;
	} ctx;
	/* format 1 hashes the salt first, format 0 (Chrome OS) last */
	h->init(&ctx);
	if (hash_type == 1)
		h->update(&ctx, salt_size, sb + 88);
	h->update(&ctx, hbs, block);
	if (hash_type == 0)
		h->update(&ctx, salt_size, sb + 88);
	h->digest(&ctx, h->digest_size, digest);
	for (unsigned i = 0; i < h->digest_size; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

const char *verity_hash_origin(const struct volume *v)
{
	if (v->verity == VERITY_SIGNATURE)
		return "from the signature partition";
	return strcmp(v->name, "root") == 0 ? "roothash=" : "usrhash=";
}

static void hex_to_bytes(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++)
		out[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
}

/* The hash partition's tree must end in the root hash the volume is opened with: else say which partition
 * holds what, and which hash was expected. */
static int check_root_hash(const struct volume *v, char *why, size_t size)
{
	char found[VERITY_HEX_MAX + 1];
	int r = verity_root_hash(v->verity_hash_dev, found);
	if (r == -EOPNOTSUPP)
		return 0; /* an algorithm or layout not computed here: the kernel checks it on every read */
	if (r < 0) {
		errno = -r;
		snprintf(why, size,
			 "%s (PARTUUID %s), the verity hash partition of %s, holds no verity superblock earlyroot "
			 "can read (%m): the hash partition is damaged or of another format",
			 v->verity_hash_dev, v->verity_hash_partuuid, v->name);
		return r;
	}
	if (strcasecmp(found, v->roothash) == 0)
		return 0;
	snprintf(why, size,
		 "the root hash of %s (data %s, verity hash partition %s PARTUUID %s) does not match: expected %s "
		 "(%s), found %s in the hash partition",
		 v->name, v->device, v->verity_hash_dev, v->verity_hash_partuuid, v->roothash, verity_hash_origin(v),
		 found);
	return -EBADMSG;
}

/* The kernel's verdict on a signed root hash, in words */
static void signature_refused(const struct volume *v, const struct verity_sig *s, char *why, size_t size)
{
	snprintf(why, size,
		 "the kernel refused the signed root hash %s of %s (signature partition %s, certificate SHA-256 %s): "
		 "the signing certificate is not among the kernel's trusted keys (built in, or in the secondary "
		 "keyring), or the kernel lacks CONFIG_DM_VERITY_VERIFY_ROOTHASH_SIG; the kernel's lines above say "
		 "which",
		 s->root_hash, v->name, v->verity_sig_dev, s->fingerprint[0] ? s->fingerprint : "not given");
}

static const char hash_advice[] = "boot with the root hash the image was built with (systemd-repart --json shows it "
				  "as roothash), or rebuild the image's data and hash partitions";
static const char sig_advice[] =
	"build the kernel with the signing certificate among its trusted keys (EARLYROOT_TRUSTED_KEYS= for "
	"tools/build-kernel, docs/verity.md), or boot with usrhash=/roothash= on a signed command line";

static int activate(struct ctx *c, struct volume *v, char *why, size_t size, const char **advice)
{
	struct crypt_device *cd = NULL;
	struct crypt_params_verity params = {0};
	uint8_t key[VERITY_HASH_MAX];
	_cleanup_free_ struct verity_sig *sig = NULL;
	const char *sig_why = NULL;
	*advice = hash_advice;
	int r = check_root_hash(v, why, size);
	if (r < 0)
		return r;
	modules_load(c, "dm-verity");
	hex_to_bytes(v->roothash, key);
	size_t key_len = strlen(v->roothash) / 2;
	r = crypt_init_data_device(&cd, v->verity_hash_dev, v->device);
	if (r >= 0) {
		crypt_set_log_callback(cd, cryptsetup_log, c);
		r = crypt_load(cd, CRYPT_VERITY, &params);
	}
	if (r < 0) {
		errno = -r;
		snprintf(why, size, "cannot read the verity superblock of %s (the hash partition of %s): %m",
			 v->verity_hash_dev, v->name);
		crypt_free(cd);
		return r;
	}
	if (v->verity == VERITY_SIGNATURE) {
		sig = malloc(sizeof(*sig));
		r = !sig ? -ENOMEM : verity_sig_read(v->verity_sig_dev, sig, &sig_why);
		if (r >= 0 && strcmp(sig->root_hash, v->roothash) != 0) {
			r = -ESTALE;
			sig_why = "its rootHash changed after discovery read it";
		}
		if (r < 0)
			snprintf(why, size, "the signature partition %s of %s cannot be used now: %s",
				 v->verity_sig_dev, v->name, sig_why ? sig_why : strerror(-r));
		else if ((r = crypt_activate_by_signed_key(cd, v->name, (const char *)key, key_len,
							   (const char *)sig->signature, sig->signature_len,
							   CRYPT_ACTIVATE_READONLY)) < 0) {
			signature_refused(v, sig, why, size);
			*advice = sig_advice;
		}
	} else {
		r = crypt_activate_by_volume_key(cd, v->name, (const char *)key, key_len, CRYPT_ACTIVATE_READONLY);
		if (r < 0) {
			errno = -r;
			snprintf(why, size,
				 "cannot set up dm-verity for %s (%s with hash partition %s): %m; the kernel needs "
				 "dm-verity (the virt archive carries the module)",
				 v->name, v->device, v->verity_hash_dev);
		}
	}
	crypt_free(cd);
	if (r < 0)
		return r;
	snprintf(v->mapped, sizeof(v->mapped), "/dev/mapper/%s", v->name);
	v->read_only = true;
	log_info(c, "%s: dm-verity over %s with hash partition %s, root hash %s%s, as %s", v->name, v->device,
		 v->verity_hash_dev, v->roothash,
		 v->verity == VERITY_SIGNATURE ? " (signature checked by the kernel)" : "", v->mapped);
	return 0;
}

int stage_verity(struct ctx *c)
{
	char why[1024];
	const char *advice;
	for (int i = 0; i < VOLUME_MAX; i++) {
		struct volume *v = &c->vol[i];
		if (!v->device[0] || v->verity == VERITY_NONE)
			continue;
		int r = activate(c, v, why, sizeof(why), &advice);
		if (r < 0) {
			emergency_report(c, why, advice);
			return r;
		}
	}
	return 0;
}
