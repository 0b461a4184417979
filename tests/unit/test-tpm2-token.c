/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure parts of the TPM2 client: token JSON (real systemd 252 and 257 tokens), blobs, SRK
 * serialisations, the signed-policy key and signature file, TPM responses, and the protocol's cryptography: KDFs,
 * PBKDF2, ECDH and RSA-OAEP salting. */
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/knuth-lfib.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

#include "earlyroot.h"
#include "test.h"
#include "tpm2/unseal.h"

/* Written by systemd-cryptenroll 252 (Debian 12) on swtpm: --tpm2-pcrs=7, then --tpm2-pcrs= --tpm2-with-pin=yes,
 * then --tpm2-public-key=… --tpm2-public-key-pcrs=11 --tpm2-pcrs= */
static const char tok252_pcr7[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":"
	"\"AJ4AIDXrLqZDCgvB33253a5s9YNQKpf+yE+bBtxB8T/h2WCXABC1livgdfM4ge7ESGF/pZ7Yu1SFB1unfVtl1BbVPhezOQjB3P/"
	"SlUdj329QcHPJzYmW0Wp+c2lZFYj/"
	"SOygqwVXR9sVa0uBq5gUInOhGq8dteEAz8qBY7mLAePRjaB17uYKc1yxHAlA8yyHGb9u3m4meo8xKqgPsA2U"
	"fgBOAAgACwAAABIAIItWgtgbKUNdCNeSeBUGEdx+WSOy/"
	"vzOaEoJV3tAEwqLABAAIPOMoczA8K5sYGyChMqDHQufHVJ9BrGUkSnpATBaUjQG\","
	"\"tpm2-pcrs\":[7],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b\",\"tpm2-pin\":false}";
static const char tok252_pin[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"2\"],\"tpm2-blob\":"
	"\"AJ4AINFqb+COKEwTWEfjY/"
	"YfDVZHMaWaKHfeE1R4G7vWQUukABDypwXROXYgmVaDFVW0buuhNXK9qeYUrBWGmgBHVnBq3pyuoWtfLKDylMvtOM6"
	"cZrxI+FBWVY0Gsw/la+onHVPTx4Bl4NZ5TAPkucmgfPQbTzyS1vacgl9nbIGAZ4UW3/tTSqUGis/qyX/"
	"nYGWjFLQbbocxNSLolBkqtABOAAgACwAA"
	"ABIAII/NIWmrkmlODGM/GrdyhCuCQbvCAoiYH8esHt3B/dsOABAAII94lQ33J1iFl3RnbNLv7ro7iGPisNpbGNrPyCyT+OCn\","
	"\"tpm2-pcrs\":[],\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e\",\"tpm2-pin\":true}";
static const char tok252_signed[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":"
	"\"AJ4AIIJr3DYZa6lXV07Z+syKK2t2+RfT+DzykcoGYDzgC8ZvABCjbkIKGGt9hk9vcOze/JdWZqtjSPdLf0XAUIJf939d5OQV/"
	"cDEswiF+"
	"JS4fsov5Oz4xQVAyfm6XudS0YhVXDa6zlQHUHBxXm54j01TJUNssS1gYCwhI9r0AXtAeRFBMXYZpqTwz3JfRLNAs9futTh77GrkOeyZJ2Z"
	"WtwBOAAgACwAAABIAIEnxls5+A58V/bFJe3/N3WRMqn0ZvgZLHb6AwT4gQJTpABAAIDgwy9yR0vitWb3xz8jy70/"
	"YAWCaGg501NmYn3MTnUXe\","
	"\"tpm2-pcrs\":[],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"49f196ce7e039f15fdb1497b7fcddd644caa7d19be064b1dbe80c13e204094e9\",\"tpm2-pin\":false,\"tpm2_pubkey_pcrs\":["
	"11],"
	"\"tpm2_pubkey\":"
	"\"LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVGQUFPQ0FROEFNSUlCQ2dLQ0FRRUE3"
	"bWppTXBIVndueTZHOEZDdWx1MgpFRXp3dnVyTUNhN1dLdnJwNitSWmw3WmdQa3FhSStVZCtwMlJzd0RhaHlpTGkvblRzVS9BL25zRFJqa2o5Yj"
	"dKCk1"
	"uMzNXNHVwZkdodGFGbDZuaU5SOWJBbTlocVVLdEs5TWJWSFZOS3JIaWo4ZzBNTTRZKytUUkc3N2MwS0x1eWMKYjliRmpDK3Q2NlQwS1Nlb1VMR"
	"S8vT2"
	"RiNTNHVXBmcTVNZmpqYWtXWXhwbGltSnlmM1Ztd3RkQUZPTVIwRC8vZAp0TndUbjI2ZFZsaDZSUzRCRWxLeVhyMDZhenhieGpwc1FoaEhEV0p6"
	"bGdKM"
	"SszbmlwQnpnQ2Q1ZUIrRXE4dEdpCk9ER0xxMGc5aUU0SnNiVDE0TktxalJGTlhoeTBGNGlNZDJpUS9WVzJlblUzT2tWNzV3NjMxTHhUN1g1dTh"
	"YbjcK"
	"NFFJREFRQUIKLS0tLS1FTkQgUFVCTElDIEtFWS0tLS0tCg==\"}";

/* Written by systemd-cryptenroll 257 (Debian 13): --tpm2-pcrs=7, then --tpm2-with-pin=yes, then offline with
 * --tpm2-device-key= (the blob carries an import seed) */
#define SRK257                                                                                               \
	"\"tpm2_srk\":"                                                                                      \
	"\"gQAAAQAiAAtWH4Cazk8QfMxHDQ6TAnyGl914WelkZ3iaGtIWeq5YeQAAAAEAWgAjAAsAAwRyAAAABgCAAEMAEAADABAAICtt" \
	"x63NE29+HkM6vaC1IpSRkZGIGsxwfrDZ3h/lOCODACDi2Fm6Nbdn3av4MBEH2O5rh1tSNfMIxNdUAUEHUxmGjg==\""
static const char tok257_pcr7[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"1\"],\"tpm2-blob\":"
	"\"AJ4AIEQbKDK22uddYl/f5zX2ItjJkUlWux430l/rHyA61aNyABC/"
	"iU0I+wuIAScImcPeagOqTC6q+y1rM7VZEqElSrgerIyJJrLCJTjk0TX5qv"
	"Y6vDoxFKi55q+UgzF6n/ANnhLpSKLkKSMQTJuqlipoBowE/"
	"fQYZJLZagXM2Vh8yZ9cAbKSmIDHFN1UzGFLoGZ0S6Cvh+JxwrMKmgJyCgBOAAgACwAA"
	"BBIAIItWgtgbKUNdCNeSeBUGEdx+WSOy/vzOaEoJV3tAEwqLABAAIM5M3rRtrAjDUVd6/+Ju/FE66GDH3bl9QjvvVm7v9M4/\","
	"\"tpm2-pcrs\":[7],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b\"," SRK257 "}";
static const char tok257_pin[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"2\"],\"tpm2-blob\":"
	"\"AJ4AIJDLdVoJiTv3Pur0qlN6Xbk8Ob/7OaUr2g//"
	"h6ShZHfRABBKGipH1ELqjjNfi8kaZfAdNWwHukQDq3YRfygrXOfS32vjzws6bbBcoU2Ckma/"
	"KxyIRjFyPv+LMmP5MkQ+tcaNMmxcrWae5co1dGfWzLWyCunllFaZlES+mwXRgpBdhRus48w+"
	"u5Z9LtE4PZKJ74OXs3j0spnM3kGpPgBOAAgACwAAAB"
	"IAILjbkvrnweDFiOc1LS/BDyfHs4TjL3BqUgyxC/f/7olwABAAIJjw2dznSJlLp4Q41GkV65ymJM+TthX0ix0i8BxW+Mks\","
	"\"tpm2-pcrs\":[7],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"b8db92fae7c1e0c588e7352d2fc10f27c7b384e32f706a520cb10bf7ffee8970\",\"tpm2-pin\":true,\"tpm2_salt\":"
	"\"0O27VYWKjPXgDBJzHv6+U27OItPCL7PkR9x2M8+Ue1E=\"," SRK257 "}";
static const char tok257_offline[] =
	"{\"type\":\"systemd-tpm2\",\"keyslots\":[\"3\"],\"tpm2-blob\":"
	"\"AGwAIFjOtLRobpzb5eiTEN+v/1qBUqQnJ8E2+9IrPC3gqFAR2grSuCB/"
	"9e+uEV5r4J8ZA2D4IfCJU3caNbN1a3X0fWfYA2Q8U+VpRvB1Xt+vmNN5Q"
	"MOULvonNLv0n3K4UfqPBgBGSMVuY3OVEgYATgAIAAsAAAAAACCLVoLYGylDXQjXkngVBhHcflkjsv78zmhKCVd7QBMKiwAQACDLstjXeojyuFG"
	"rWHt"
	"dvO3W970qcz2mo0X5Bpo0lu/FigBEACCijQ6SGeYuPOPpT/"
	"TYyb8yiXdJeYKwN+btXpImBgEulgAgLG55QkNnj+aC9MhcMeBvp+DnE9dyWhWhbRz3H0"
	"qvAEE=\",\"tpm2-pcrs\":[7],\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\",\"tpm2-policy-hash\":"
	"\"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b\"," SRK257 "}";

/* the public key of tok252_signed, and systemd-measure 252's signature for PCR 11 after .linux, .osrel and
 * enter-initrd */
static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
			  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7mjiMpHVwny6G8FCulu2\n"
			  "EEzwvurMCa7WKvrp6+RZl7ZgPkqaI+Ud+p2RswDahyiLi/nTsU/A/nsDRjkj9b7J\n"
			  "Mn33W4upfGhtaFl6niNR9bAm9hqUKtK9MbVHVNKrHij8g0MM4Y++TRG77c0KLuyc\n"
			  "b9bFjC+t66T0KSeoULE//Odb53GUpfq5MfjjakWYxplimJyf3VmwtdAFOMR0D//d\n"
			  "tNwTn26dVlh6RS4BElKyXr06azxbxjpsQhhHDWJzlgJ1+3nipBzgCd5eB+Eq8tGi\n"
			  "ODGLq0g9iE4JsbT14NKqjRFNXhy0F4iMd2iQ/VW2enU3OkV75w631LxT7X5u8Xn7\n"
			  "4QIDAQAB\n"
			  "-----END PUBLIC KEY-----\n";
static const char sigjson[] =
	"{\"sha256\":[{\"pcrs\":[11],\"pkfp\":\"529f35b719f1adda6c70beab35500ac84dd4f5fac01de45cf135683b842c0b25\","
	"\"pol\":"
	"\"ee9b9632c51dcbd0d81889d0709ac830f3e407f3162997719f37d01b112eeaae\",\"sig\":\"KO+iXFTUkHpTatSx/"
	"FVMVC0Cfp7q8DySO1WudmVVMKn9vts/9vmXgN3w4sFepy849zZEsGPfWYURJZlIl3TiPRxZ/"
	"yKkjyUM51dlLOm76PtzIk8FiKUj4jj1eMay3YuxgN"
	"qcDOKhFKDekJvaP7P9pRMM9wBxVj2rF1MkkoT1mHXLscf4KxFVa0GPUmoU0FU28xQgL3klzSLxC6HKJPPAyCsLXyuUSrW47WkMeaCNxloQbtOA"
	"2/"
	"tEMb93793wRHxDDc+jUP1fDqj5Guev2b8JOi4GSEm7XZwgXJAayel/elvYEVcrZzybhHnSHvjmRfhI1ljhUV/"
	"O5MqRTZ4AERLKaA==\"}]}";

static void unhex(const char *s, uint8_t *out)
{
	for (size_t i = 0; s[2 * i]; i++)
		sscanf(s + 2 * i, "%2hhx", &out[i]);
}

static bool eq_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[512];
	if (strlen(hex) != 2 * n || n > sizeof(want))
		return false;
	unhex(hex, want);
	return memcmp(p, want, n) == 0;
}

static struct tpm2_token tok;
static const char *why;

static int parse(const char *json)
{
	return tpm2_token_parse(json, strlen(json), &tok, &why);
}

static void test_real_tokens(void)
{
	struct tpm2_blob b;
	struct tpm2_public pub;

	CHECK(parse(tok252_pcr7) == 0);
	CHECK(tok.keyslot == 1 && tok.nshards == 1 && tok.pcr_mask == 1u << 7 && tok.pcr_bank == TPM2_ALG_SHA256);
	CHECK(tok.primary_alg == TPM2_ALG_ECC && !tok.pin && !tok.pubkey_pcr_mask && !tok.srk_len && !tok.salt_len);
	CHECK(eq_hex(tok.policy_hash[0], 32, "8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b"));
	/* the blob: TPM2B_PRIVATE ‖ TPM2B_PUBLIC of a KEYEDHASH object, fixedTPM|fixedParent, authPolicy = policy */
	CHECK(tpm2_parse_blob(tok.blob[0], tok.blob_len[0], &b) == 0);
	CHECK(b.priv_len == 2 + 0x9e && b.pub_len == 2 + 0x4e && b.seed_len == 0);
	CHECK(tpm2_parse_public(b.pub + 2, b.pub_len - 2, &pub) == 0);
	CHECK(pub.type == TPM2_ALG_KEYEDHASH && pub.name_alg == TPM2_ALG_SHA256 && pub.attrs == 0x12);
	CHECK(pub.policy_len == 32 && memcmp(pub.policy, tok.policy_hash[0], 32) == 0);

	CHECK(parse(tok252_pin) == 0);
	CHECK(tok.keyslot == 2 && tok.pin && tok.pcr_mask == 0 && tok.pcr_bank == 0); /* no bank: chosen at unseal */

	CHECK(parse(tok252_signed) == 0);
	CHECK(tok.pubkey_pcr_mask == 1u << 11 && tok.pcr_mask == 0);
	CHECK(strncmp(tok.pubkey_pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0 && strcmp(tok.pubkey_pem, pem) == 0);

	CHECK(parse(tok257_pcr7) == 0);
	CHECK(tok.srk_len == 4 + 36 + 4 + 2 + 0x5a && !tok.pin);
	CHECK(tpm2_parse_blob(tok.blob[0], tok.blob_len[0], &b) == 0 && b.seed_len == 0);
	CHECK(tpm2_parse_public(b.pub + 2, b.pub_len - 2, &pub) == 0 && pub.attrs == 0x412); /* + noDA */

	CHECK(parse(tok257_pin) == 0);
	CHECK(tok.pin && tok.salt_len == 32 && tok.srk_len > 0);

	CHECK(parse(tok257_offline) == 0);
	CHECK(tpm2_parse_blob(tok.blob[0], tok.blob_len[0], &b) == 0);
	CHECK(b.seed_len == 2 + 0x44); /* TPM2B_ENCRYPTED_SECRET: an ECC point for the SRK */
	CHECK(tpm2_parse_public(b.pub + 2, b.pub_len - 2, &pub) == 0 && pub.attrs == 0);
}

static void test_srk(void)
{
	struct tpm2_serialized s;
	struct tpm2_public pub;
	uint8_t name[TPM2_NAME_MAX];
	CHECK(parse(tok257_pcr7) == 0);
	CHECK(tpm2_parse_serialized(tok.srk, tok.srk_len, &s) == 0);
	CHECK(s.handle == TPM2_SRK_HANDLE && s.name_len == 34);
	CHECK(tpm2_name(s.pub, s.pub_len, name) == 34 && memcmp(name, s.name, 34) == 0);
	CHECK(tpm2_parse_public(s.pub, s.pub_len, &pub) == 0);
	CHECK(pub.type == TPM2_ALG_ECC && pub.attrs == 0x30472 && pub.curve == TPM2_ECC_NIST_P256);
	CHECK(pub.sym_alg == TPM2_ALG_AES && pub.sym_bits == 128 && pub.sym_mode == TPM2_ALG_CFB);
	CHECK(pub.unique_len == 32 && pub.ecc_y_len == 32);
	/* an NV index serialisation (type 2) is not a key; truncations are errors */
	uint8_t nv[TPM2_SRK_MAX];
	memcpy(nv, tok.srk, tok.srk_len);
	nv[4 + 36 + 3] = 2;
	CHECK(tpm2_parse_serialized(nv, tok.srk_len, &s) == -EOPNOTSUPP);
	for (size_t n = 0; n < tok.srk_len; n++)
		CHECK(tpm2_parse_serialized(tok.srk, n, &s) < 0);
}

/* Edits one real token: replaces the first occurrence of from with to. */
static int parse_edited(const char *json, const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(json, from);
	if (!at)
		return fprintf(stderr, "%s not in the token\n", from), -999;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
	return parse(buf);
}

static void test_forms(void)
{
	/* underscore spellings, unknown fields, shards as arrays of one, upper-case names */
	CHECK(parse_edited(tok252_pcr7, "\"tpm2-blob\"", "\"tpm2_blob\"") == 0);
	CHECK(parse_edited(tok252_pcr7, "\"tpm2-pcrs\"", "\"future\":{\"a\":[1,2]},\"tpm2_pcrs\"") == 0);
	CHECK(parse_edited(
		      tok252_pcr7,
		      "\"tpm2-policy-hash\":\"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b\"",
		      "\"tpm2-policy-hash\":[\"8B5682D81B29435D08D79278150611DC7E5923B2FEFCCE684A09577B40130A8B\"]") ==
	      0); /* one shard either way; hex in any case */
	CHECK(parse_edited(tok252_pcr7, "\"sha256\"", "\"SHA1\"") == 0 && tok.pcr_bank == TPM2_ALG_SHA1);
	CHECK(parse_edited(tok252_pcr7, "\"ecc\"", "\"RSA\"") == 0 && tok.primary_alg == TPM2_ALG_RSA);
	/* absent bank: automatic; absent primary alg: ECC; absent tpm2-pin: no PIN */
	CHECK(parse_edited(tok252_pcr7, "\"tpm2-pcr-bank\":\"sha256\",", "") == 0 && tok.pcr_bank == 0);
	CHECK(parse_edited(tok252_pcr7, "\"tpm2-primary-alg\":\"ecc\",", "") == 0 && tok.primary_alg == TPM2_ALG_ECC);
	CHECK(parse_edited(tok252_pin, ",\"tpm2-pin\":true", "") == 0 && !tok.pin);
	/* keyslots as an integer, leading/trailing whitespace */
	CHECK(parse_edited(tok252_pcr7, "[\"1\"]", "[1]") == 0 && tok.keyslot == 1);
	CHECK(parse_edited(tok252_pcr7, "{", " \n{") == 0);

	/* unsupported: one clear reason each */
	CHECK(parse_edited(tok252_pcr7, "\"tpm2-pin\":false", "\"tpm2-pin\":false,\"tpm2_pcrlock\":true") ==
	      -EOPNOTSUPP);
	CHECK(why && strstr(why, "pcrlock"));
	CHECK(parse_edited(tok252_pcr7, "\"sha256\"", "\"sm3_256\"") == -EOPNOTSUPP);
	CHECK(parse_edited(tok252_pcr7, "\"ecc\"", "\"ed25519\"") == -EOPNOTSUPP);
}

/* Malformed tokens are refused with a reason, every truncation too. */
static void test_malformed(void)
{
	static const char *const bad[][2] = {
		{"\"systemd-tpm2\"", "\"systemd-fido2\""},
		{"[\"1\"]", "[]"},
		{"[\"1\"]", "[\"x\"]"},
		{"[\"1\"]", "[\"-1\"]"},
		{"[\"1\"]", "[\"32\"]"},
		{"[\"1\"]", "[\"1x\"]"},
		{"\"tpm2-blob\":\"AJ4A", "\"tpm2-blob\":\"!J4A"},
		{"\"tpm2-blob\":\"AJ4A", "\"tpm2-blob\":\"AP8A"}, /* private part longer than the blob */
		{"\"tpm2-blob\"", "\"tpm2-blub\""},
		{"\"tpm2-pcrs\":[7]", "\"tpm2-pcrs\":[24]"},
		{"\"tpm2-pcrs\":[7]", "\"tpm2-pcrs\":[\"7\"]"},
		{"\"tpm2-pcrs\":[7]", "\"tpm2-pcrs\":7"},
		{"\"tpm2-pcrs\":[7],", ""},
		{"\"8b5682d8", "\"8b5682"},
		{"\"8b5682d8", "\"zz5682d8"},
		{"\"tpm2-pin\":false", "\"tpm2-pin\":\"no\""},
		{"\"tpm2-pcr-bank\":\"sha256\"", "\"tpm2-pcr-bank\":256"},
		{"\"tpm2-pin\":false", "\"tpm2-pin\":false,\"tpm2_pubkey_pcrs\":[11]"},
		{"\"tpm2-pin\":false", "\"tpm2-pin\":false,\"tpm2_salt\":\"\""},
		{"\"tpm2-pin\":false", "\"tpm2-pin\":false,\"tpm2_srk\":\"AAAA\""},
		{"\"tpm2-pin\":false}", "\"tpm2-pin\":false}}"},
		{"\"tpm2-pin\":false}", "\"tpm2-pin\":false"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = parse_edited(tok252_pcr7, bad[i][0], bad[i][1]);
		if (r != -EINVAL)
			fprintf(stderr, "bad[%zu] gave %d\n", i, r);
		CHECK(r == -EINVAL && why && *why);
	}
	static const char *const junk[] = {"", "null", "[]", "\"systemd-tpm2\"", "{", "{}", "{\"type\":1}"};
	for (size_t i = 0; i < ELEMENTSOF(junk); i++)
		CHECK(parse(junk[i]) == -EINVAL);
	/* a NUL inside the text ends nothing: the length counts */
	CHECK(tpm2_token_parse(tok252_pcr7, sizeof(tok252_pcr7), &tok, &why) == -EINVAL);
	/* every truncation fails cleanly */
	for (size_t n = 0; n + 1 < sizeof(tok257_pin); n++)
		CHECK(tpm2_token_parse(tok257_pin, n, &tok, &why) == -EINVAL);
}

/* 257's arrays of shards: two only come with pcrlock */
static void test_shards(void)
{
	char two[8192];
	snprintf(two, sizeof(two),
		 "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"0\"],\"tpm2-blob\":[\"AAEAAAEA\",\"AAEAAAEA\"],\"tpm2-"
		 "pcrs\":[],"
		 "\"tpm2-policy-hash\":[\"%064d\",\"%064d\"],\"tpm2_pcrlock\":true}",
		 0, 0);
	CHECK(parse(two) == -EOPNOTSUPP && tok.nshards == 2);
	snprintf(two, sizeof(two),
		 "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"0\"],\"tpm2-blob\":[\"AAEAAAEA\"],\"tpm2-pcrs\":[],"
		 "\"tpm2-policy-hash\":[\"%064d\"]}",
		 0);
	CHECK(parse(two) == 0 && tok.nshards == 1 && tok.blob_len[0] == 6);
}

static void test_pem_and_signature(void)
{
	struct tpm2_rsa_key k;
	uint8_t pol[32], pkfp[32], sig[TPM2_RSA_MAX];
	CHECK(tpm2_pem_rsa_parse(pem, strlen(pem), &k) == 0);
	CHECK(k.n_len == 256 && k.e == 65537 && k.n[0] == 0xee && k.n[255] == 0xe1);
	/* systemd-measure's pkfp for this key */
	CHECK(eq_hex(k.fingerprint, 32, "529f35b719f1adda6c70beab35500ac84dd4f5fac01de45cf135683b842c0b25"));
	CHECK(tpm2_pem_rsa_parse(pem, 40, &k) == -EINVAL);
	CHECK(tpm2_pem_rsa_parse("-----BEGIN EC PRIVATE KEY-----", 30, &k) == -EOPNOTSUPP);
	CHECK(tpm2_pem_rsa_parse("garbage", 7, &k) == -EINVAL);
	/* an EC key (P-256 SubjectPublicKeyInfo) is not supported */
	static const char ec[] = "-----BEGIN PUBLIC KEY-----\n"
				 "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbNq8GBaEqcoqB7DwpD3JbW8rbjfx\n"
				 "CkflZ9E8Ck62wGx6NVM5HX5tdBvbgJfZKXprcaNsM4Qtnw7DEgLS7Rqz1w==\n"
				 "-----END PUBLIC KEY-----\n";
	CHECK(tpm2_pem_rsa_parse(ec, strlen(ec), &k) == -EOPNOTSUPP);

	unhex("ee9b9632c51dcbd0d81889d0709ac830f3e407f3162997719f37d01b112eeaae", pol);
	unhex("529f35b719f1adda6c70beab35500ac84dd4f5fac01de45cf135683b842c0b25", pkfp);
	int n = tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA256, 1u << 11, pkfp, pol, sig, sizeof(sig));
	CHECK(n == 256 && sig[0] == 0x28 && sig[1] == 0xef);
	/* another phase (policy), another bank, other PCRs, another key: none */
	pol[0] ^= 1;
	CHECK(tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA256, 1u << 11, pkfp, pol, sig, sizeof(sig)) ==
	      -ENOENT);
	pol[0] ^= 1;
	CHECK(tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA1, 1u << 11, pkfp, pol, sig, sizeof(sig)) ==
	      -ENOENT);
	CHECK(tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA256, 1u << 7 | 1u << 11, pkfp, pol, sig,
				  sizeof(sig)) == -ENOENT);
	pkfp[31] ^= 1;
	CHECK(tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA256, 1u << 11, pkfp, pol, sig, sizeof(sig)) ==
	      -ENOENT);
	CHECK(tpm2_signature_find("{\"sha256\":{}}", 13, TPM2_ALG_SHA256, 1, pkfp, pol, sig, sizeof(sig)) == -EINVAL);
	CHECK(tpm2_signature_find("[]", 2, TPM2_ALG_SHA256, 1, pkfp, pol, sig, sizeof(sig)) == -EINVAL);
	CHECK(tpm2_signature_find(sigjson, strlen(sigjson), TPM2_ALG_SHA256, 1u << 11, pkfp, pol, sig, 16) < 0);
}

static void test_responses(void)
{
	struct tpm2_response r;
	/* Load: handle, parameters (name), one password session */
	uint8_t load[64] = {0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 1, 0, 0, 0, 36, 0, 34, 0, 0x0b};
	size_t n = 18 + 36;
	load[n++] = 0, load[n++] = 0, load[n++] = 1, load[n++] = 0, load[n++] = 0; /* nonce, attrs, hmac */
	load[5] = (uint8_t)n;
	CHECK(tpm2_parse_response(load, n, 1, 1, &r) == 0);
	CHECK(r.rc == 0 && r.handle == 0x80000001 && r.params_len == 36 && r.params == load + 18 && r.nsessions == 1);
	CHECK(r.s[0].nonce_len == 0 && r.s[0].attrs == 1 && r.s[0].hmac_len == 0);
	CHECK(tpm2_parse_response(load, n - 1, 1, 1, &r) == -EBADMSG); /* size field disagrees */
	CHECK(tpm2_parse_response(load, n, 1, 2, &r) == -EBADMSG);     /* a session missing */
	CHECK(tpm2_parse_response(load, n, 1, 0, &r) == -EBADMSG);     /* sessions where none were sent */
	load[17] = 200;						       /* parameterSize past the end */
	CHECK(tpm2_parse_response(load, n, 1, 1, &r) == -EBADMSG);
	load[17] = 30; /* leaves bytes that are not a session */
	CHECK(tpm2_parse_response(load, n, 1, 1, &r) == -EBADMSG);

	uint8_t err[] = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x09, 0x8e};
	CHECK(tpm2_parse_response(err, sizeof(err), 1, 2, &r) == 0 && r.rc == 0x98e);
	CHECK(tpm2_rc_base(r.rc) == TPM2_RC_AUTH_FAIL && tpm2_rc_base(TPM2_RC_LOCKOUT) == TPM2_RC_LOCKOUT);
	char text[96];
	CHECK_STR(tpm2_rc_text(0x98e, text, sizeof(text)), "0x98e (TPM_RC_AUTH_FAIL on session 1)");
	CHECK_STR(tpm2_rc_text(0x921, text, sizeof(text)), "0x921 (TPM_RC_LOCKOUT)");
	CHECK_STR(tpm2_rc_text(0x1c4, text, sizeof(text)), "0x1c4 (TPM_RC_VALUE on parameter 1)");
	CHECK_STR(tpm2_rc_text(0x18b, text, sizeof(text)), "0x18b (TPM_RC_HANDLE on handle 1)");
	uint8_t err_long[] = {0x80, 0x02, 0, 0, 0, 11, 0, 0, 0x09, 0x8e, 0};
	CHECK(tpm2_parse_response(err_long, sizeof(err_long), 0, 1, &r) == -EBADMSG);
	uint8_t short_[] = {0x80, 0x01, 0, 0, 0, 6};
	CHECK(tpm2_parse_response(short_, sizeof(short_), 0, 0, &r) == -EBADMSG);
	uint8_t tag[] = {0x00, 0xc4, 0, 0, 0, 10, 0, 0, 0, 0};
	CHECK(tpm2_parse_response(tag, sizeof(tag), 0, 0, &r) == -EBADMSG);

	/* PCR_Read: counter, selection (sha256, PCR 7 and 11), two digests */
	uint8_t pr[128] = {0, 0, 0, 9, 0, 0, 0, 1, 0, 0x0b, 3, 0x80, 0x08, 0, 0, 0, 0, 2, 0, 32};
	n = 20;
	memset(pr + n, 0x77, 32), n += 32;
	pr[n++] = 0, pr[n++] = 32;
	memset(pr + n, 0x11, 32), n += 32;
	uint8_t digests[TPM2_PCRS][TPM2_DIGEST_MAX];
	uint32_t got;
	CHECK(tpm2_parse_pcr_read(pr, n, TPM2_ALG_SHA256, digests, &got) == 0);
	CHECK(got == (1u << 7 | 1u << 11) && digests[7][0] == 0x77 && digests[11][31] == 0x11);
	CHECK(tpm2_parse_pcr_read(pr, n, TPM2_ALG_SHA1, digests, &got) == -EBADMSG);
	CHECK(tpm2_parse_pcr_read(pr, n - 1, TPM2_ALG_SHA256, digests, &got) == -EBADMSG);
	pr[17] = 3; /* more digests than selected PCRs */
	CHECK(tpm2_parse_pcr_read(pr, n, TPM2_ALG_SHA256, digests, &got) == -EBADMSG);

	/* PCR_Read of PCR 11 in sha1, sha256 and sha384: the TPM answers sha256 and sha1 (in its order), not
	 * sha384 (an empty selection) */
	static const uint16_t three[] = {TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384};
	uint8_t pb[160] = {0, 0, 0,    9, 0, 0,	   0, 3, 0, 0x0b, 3, 0, 0x08, 0, 0, 0x04,
			   3, 0, 0x08, 0, 0, 0x0c, 3, 0, 0, 0,	  0, 0, 0,    2, 0, 32};
	uint8_t banks_now[TPM2_MAX_BANKS][TPM2_DIGEST_MAX];
	n = 32;
	memset(pb + n, 0x25, 32), n += 32;
	pb[n++] = 0, pb[n++] = 20;
	memset(pb + n, 0x01, 20), n += 20;
	CHECK(tpm2_parse_pcr_read_banks(pb, n, 11, three, 3, banks_now, &got) == 0);
	CHECK(got == 3 && banks_now[0][19] == 0x01 && banks_now[1][31] == 0x25);
	CHECK(tpm2_parse_pcr_read_banks(pb, n, 7, three, 3, banks_now, &got) == -EBADMSG && got == 0);
	CHECK(tpm2_parse_pcr_read_banks(pb, n, 11, three + 1, 2, banks_now, &got) == -EBADMSG); /* sha1 unasked */
	CHECK(tpm2_parse_pcr_read_banks(pb, n - 1, 11, three, 3, banks_now, &got) == -EBADMSG);
	pb[29] = 3; /* more digests than selections */
	CHECK(tpm2_parse_pcr_read_banks(pb, n, 11, three, 3, banks_now, &got) == -EBADMSG);
	pb[29] = 2, pb[31] = 20; /* a sha256 digest of SHA-1's size */
	CHECK(tpm2_parse_pcr_read_banks(pb, n, 11, three, 3, banks_now, &got) == -EBADMSG);

	/* GetCapability(PCRS)'s selection list */
	uint8_t caps[] = {0, 0, 0, 2, 0, 0x04, 3, 0xff, 0xff, 0xff, 0, 0x0b, 4, 0xff, 0xff, 0x7f, 0xaa};
	struct tpm2_rd rd = tpm2_rd(caps, sizeof(caps));
	struct tpm2_banks banks;
	CHECK(tpm2_parse_pcr_selection(&rd, &banks) == 0 && tpm2_rd_done(&rd));
	CHECK(banks.n == 2 && banks.b[0].alg == TPM2_ALG_SHA1 && banks.b[0].mask == 0xFFFFFF);
	CHECK(banks.b[1].alg == TPM2_ALG_SHA256 && banks.b[1].mask == 0x7FFFFF);
	caps[3] = 9;
	rd = tpm2_rd(caps, sizeof(caps));
	CHECK(tpm2_parse_pcr_selection(&rd, &banks) == -EBADMSG);

	/* GetCapability(TPM_PROPERTIES) from TPM_PT_PERMANENT: inLockout, and the lockout counter and interval */
	uint8_t props[] = {0, 0, 0,    0,    6, 0, 0, 0, 3, 0, 0,    0x02, 0x00, 0, 0,	  0x02, 0x00,
			   0, 0, 0x02, 0x0e, 0, 0, 0, 3, 0, 0, 0x02, 0x10, 0,	 0, 0x03, 0xe8};
	uint32_t v[TPM2_PT_LOCKOUT_INTERVAL - TPM2_PT_PERMANENT + 1] = {0};
	CHECK(tpm2_parse_properties(props, sizeof(props), TPM2_PT_PERMANENT, v, ELEMENTSOF(v)) == 0);
	CHECK((v[0] & TPM2_PERMANENT_IN_LOCKOUT) && v[TPM2_PT_LOCKOUT_COUNTER - TPM2_PT_PERMANENT] == 3);
	CHECK(v[TPM2_PT_LOCKOUT_INTERVAL - TPM2_PT_PERMANENT] == 1000 && v[1] == 0);
	CHECK(tpm2_parse_properties(props, sizeof(props) - 1, TPM2_PT_PERMANENT, v, ELEMENTSOF(v)) == -EBADMSG);
	props[4] = 5; /* another capability */
	CHECK(tpm2_parse_properties(props, sizeof(props), TPM2_PT_PERMANENT, v, ELEMENTSOF(v)) == -EBADMSG);
}

static void test_templates(void)
{
	/* systemd's legacy primary, byte for byte (tpm2_make_primary in 252) */
	static const char ecc[] = "0023000b000300720000000600800043001000030010"
				  "00000000";
	static const char rsa[] = "0001000b0003007200000006008000430010080000000000"
				  "0000";
	uint8_t buf[64];
	struct tpm2_public pub;
	size_t n = tpm2_primary_template(TPM2_ALG_ECC, buf, sizeof(buf));
	CHECK(n == 26 && eq_hex(buf, n, ecc));
	CHECK(tpm2_parse_public(buf, n, &pub) == 0 && pub.type == TPM2_ALG_ECC && pub.unique_len == 0);
	n = tpm2_primary_template(TPM2_ALG_RSA, buf, sizeof(buf));
	CHECK(n == 26 && eq_hex(buf, n, rsa));
	CHECK(tpm2_parse_public(buf, n, &pub) == 0 && pub.rsa_bits == 2048 && pub.rsa_exponent == 0);
	CHECK(tpm2_primary_template(TPM2_ALG_ECC, buf, 10) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(tpm2_parse_public(buf, i, &pub) < 0);

	struct tpm2_rsa_key k;
	uint8_t area[TPM2_PUBLIC_MAX];
	CHECK(tpm2_pem_rsa_parse(pem, strlen(pem), &k) == 0);
	n = tpm2_rsa_public(&k, 65537, area, sizeof(area));
	CHECK(n == 2 + 2 + 4 + 2 + 2 + 2 + 2 + 4 + 2 + 256);
	CHECK(tpm2_parse_public(area, n, &pub) == 0 && pub.attrs == 0x60040 && pub.rsa_exponent == 65537);
	CHECK(pub.unique_len == 256 && pub.sym_alg == TPM2_ALG_NULL && pub.scheme == TPM2_ALG_NULL);
}

static void test_crypto(void)
{
	uint8_t out[40], u[32], v[32], auth[32];
	for (int i = 0; i < 32; i++)
		u[i] = (uint8_t)i, v[i] = (uint8_t)(32 + i);
	/* reference values from an independent implementation (Python's hmac/hashlib) */
	tpm2_kdfa((const uint8_t *)"earlyroot key", 13, "ATH", u, 32, v, 32, out, 32);
	CHECK(eq_hex(out, 32, "92715968aa9805c81be2a538cf16d88cfd33e5042714de691da6c987a17d3195"));
	memset(u, 1, 32), memset(v, 2, 32);
	tpm2_kdfa((const uint8_t *)"k", 1, "CFB", u, 32, v, 32, out, 40);
	CHECK(eq_hex(out, 40, "d210a5c610884e05ad044e3a82857ca36c4332512c397096722fd62e6ea0ac50cbd4253040c62de4"));
	uint8_t z[32];
	memset(z, 5, 32), memset(u, 6, 32), memset(v, 7, 32);
	tpm2_kdfe(z, 32, "SECRET", u, 32, v, 32, out, 32);
	CHECK(eq_hex(out, 32, "4e39d50c118cef341d33c737aa61fa1decae416bd1c996fa3d204b73702b4848"));

	/* PIN → authValue: 252 plain SHA-256; 257 salted (the salt of tok257_pin, PIN 13579) */
	CHECK(tpm2_pin_auth("1234", 4, NULL, 0, auth) == 32);
	CHECK(eq_hex(auth, 32, "03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4"));
	CHECK(parse(tok257_pin) == 0);
	CHECK(tpm2_pin_auth("13579", 5, tok.salt, tok.salt_len, auth) == 32);
	CHECK(eq_hex(auth, 32, "63ab8575b30baff4a1f0f4ab4760e2a41461a6edd846818bc1323f0989c345fd"));
	/* PBKDF2-HMAC-SHA256: RFC 7914 §11 (two blocks), and values from Python's hashlib.pbkdf2_hmac */
	uint8_t dk[64];
	tpm2_pbkdf2_sha256((const uint8_t *)"passwd", 6, (const uint8_t *)"salt", 4, 1, dk, 64);
	CHECK(eq_hex(dk, 64,
		     "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"));
	tpm2_pbkdf2_sha256((const uint8_t *)"password", 8, (const uint8_t *)"salt", 4, 4096, dk, 32);
	CHECK(eq_hex(dk, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"));
	tpm2_pbkdf2_sha256((const uint8_t *)"13579", 5, (const uint8_t *)"x", 1, 10000, dk, 40);
	CHECK(eq_hex(dk, 40, "bb35a4598a0bb243d09ebd8c01f130d9f4211cbf91b549cd3f42616a173e30bae96256ed61cb5a81"));
	static const uint8_t trailing[4] = {1, 0, 2, 0};
	CHECK(tpm2_trim(trailing, 4) == 3 && tpm2_trim(trailing + 3, 1) == 0);

	/* AES-128-CFB: NIST SP 800-38A F.3.13 */
	uint8_t key[16], iv[16], data[16];
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
	unhex("000102030405060708090a0b0c0d0e0f", iv);
	unhex("6bc1bee22e409f96e93d7e117393172a", data);
	tpm2_cfb(key, iv, data, 16, true);
	CHECK(eq_hex(data, 16, "3b3fd92eb72dad20333449f8e83cfb4a"));
	tpm2_cfb(key, iv, data, 16, false);
	CHECK(eq_hex(data, 16, "6bc1bee22e409f96e93d7e117393172a"));

	char b64[64];
	CHECK(tpm2_base64(b64, (const uint8_t *)"\xff\xfe\x00", 3) == 4);
	CHECK_STR(b64, "//4A");
	CHECK(tpm2_base64(b64, (const uint8_t *)"ab", 2) == 4);
	CHECK_STR(b64, "YWI=");
}

/* ECDH salting as the TPM sees it: it recomputes Z from its private key and our point, then the same KDFe. */
static void test_ecdh(void)
{
	const struct ecc_curve *p256 = nettle_get_secp_256r1();
	struct ecc_scalar d;
	struct ecc_point tpm, ours, shared;
	mpz_t x, y, k;
	uint8_t tx[32], ty[32], salt[32], point[TPM2_ECC_POINT_SIZE], z[32], want[32];

	mpz_init(x), mpz_init(y), mpz_init_set_ui(k, 0x12345678);
	ecc_scalar_init(&d, p256), ecc_point_init(&tpm, p256), ecc_point_init(&ours, p256);
	ecc_point_init(&shared, p256);
	CHECK(ecc_scalar_set(&d, k));
	ecc_point_mul_g(&tpm, &d);
	ecc_point_get(&tpm, x, y);
	nettle_mpz_get_str_256(32, tx, x), nettle_mpz_get_str_256(32, ty, y);

	CHECK(tpm2_ecdh_salt(tx, 32, ty, 32, salt, point) == 0);
	CHECK(point[0] == 0 && point[1] == 32 && point[34] == 0 && point[35] == 32);
	nettle_mpz_set_str_256_u(x, 32, point + 2);
	nettle_mpz_set_str_256_u(y, 32, point + 36);
	CHECK(ecc_point_set(&ours, x, y));
	ecc_point_mul(&shared, &d, &ours);
	ecc_point_get(&shared, x, y);
	nettle_mpz_get_str_256(32, z, x);
	tpm2_kdfe(z, 32, "SECRET", point + 2, 32, tx, 32, want, 32);
	CHECK(memcmp(salt, want, 32) == 0);

	ty[31] ^= 1; /* not on the curve */
	CHECK(tpm2_ecdh_salt(tx, 32, ty, 32, salt, point) == -EINVAL);
	CHECK(tpm2_ecdh_salt(tx, 0, ty, 32, salt, point) == -EINVAL);

	ecc_scalar_clear(&d), ecc_point_clear(&tpm), ecc_point_clear(&ours), ecc_point_clear(&shared);
	mpz_clear(x), mpz_clear(y), mpz_clear(k);
}

/* out ^= MGF1-SHA256(seed), written again here so that the test decodes with code of its own */
static void test_mgf1(uint8_t *out, size_t n, const uint8_t *seed, size_t seed_len)
{
	uint8_t c[4], block[32];
	for (uint32_t i = 0; i * 32 < n; i++) {
		struct sha256_ctx h;
		sha256_init(&h);
		sha256_update(&h, seed_len, seed);
		sha256_update(&h, 4, tpm2_be32(c, i));
		sha256_digest(&h, 32, block);
		for (size_t j = 0; j < 32 && i * 32 + j < n; j++)
			out[i * 32 + j] ^= block[j];
	}
}

/* RFC 8017 §7.1.2 step 3: the message of a valid EME-OAEP block with label "SECRET\0", or -1 */
static int oaep_decode(uint8_t *em, size_t k, uint8_t *msg)
{
	uint8_t lhash[32];
	uint8_t *seed = em + 1, *db = em + 33;
	size_t db_len = k - 33, i = 32;
	test_mgf1(seed, 32, db, db_len);
	test_mgf1(db, db_len, seed, 32);
	tpm2_hash(TPM2_ALG_SHA256, "SECRET", 7, lhash);
	if (em[0] != 0 || memcmp(db, lhash, 32) != 0)
		return -1;
	while (i < db_len && db[i] == 0)
		i++;
	if (i == db_len || db[i] != 1)
		return -1;
	memcpy(msg, db + i + 1, db_len - i - 1);
	return (int)(db_len - i - 1);
}

/* RSA-OAEP salting as the TPM sees it: it decrypts with its private key and decodes the salt back. */
static void test_rsa_oaep(void)
{
	struct rsa_public_key pub;
	struct rsa_private_key key;
	struct knuth_lfib_ctx lfib;
	uint8_t n[256], seed[32], msg[32], em[256], secret[TPM2_RSA_MAX], salt[32], got[256];
	size_t len = sizeof(secret);
	mpz_t m;

	/* EME-OAEP with a fixed seed; SHA-256 of the block from an independent implementation (Python's hashlib) */
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i, msg[i] = (uint8_t)(0x40 + i);
	CHECK(tpm2_oaep_encode(msg, 32, "SECRET", seed, em, 256) == 0);
	uint8_t digest[32];
	tpm2_hash(TPM2_ALG_SHA256, em, 256, digest);
	CHECK(eq_hex(digest, 32, "bd591784030aa8f5506bd39344e66db160753f9cd3daac014653f87a53bf679e"));
	CHECK(oaep_decode(em, 256, got) == 32 && memcmp(got, msg, 32) == 0);
	CHECK(tpm2_oaep_encode(msg, 32, "SECRET", seed, em, 2 * 32 + 33) == -EINVAL);

	rsa_public_key_init(&pub), rsa_private_key_init(&key), mpz_init(m);
	knuth_lfib_init(&lfib, 4711);
	mpz_set_ui(pub.e, 65537);
	CHECK(rsa_generate_keypair(&pub, &key, &lfib, (nettle_random_func *)knuth_lfib_random, NULL, NULL, 2048, 0));
	nettle_mpz_get_str_256(sizeof(n), n, pub.n);
	CHECK(tpm2_rsa_salt(n, sizeof(n), 0, salt, secret, &len) == 0 && len == 256);
	nettle_mpz_set_str_256_u(m, len, secret);
	mpz_powm(m, m, key.d, pub.n);
	nettle_mpz_get_str_256(sizeof(em), em, m);
	CHECK(oaep_decode(em, sizeof(em), got) == 32 && memcmp(got, salt, 32) == 0);

	len = sizeof(secret);
	CHECK(tpm2_rsa_salt(n, sizeof(n), 65537, salt, secret, &len) == 0);
	CHECK(tpm2_rsa_salt(n, sizeof(n), 4, salt, secret, &len) == -EOPNOTSUPP); /* even exponent */
	CHECK(tpm2_rsa_salt(n, sizeof(n), 1, salt, secret, &len) == -EOPNOTSUPP); /* identity */
	CHECK(tpm2_rsa_salt(n + 128, 128, 0, salt, secret, &len) == -EOPNOTSUPP); /* 1024 bits */
	len = 100;
	CHECK(tpm2_rsa_salt(n, sizeof(n), 0, salt, secret, &len) == -EOPNOTSUPP); /* no room */

	rsa_public_key_clear(&pub), rsa_private_key_clear(&key), mpz_clear(m);
}

int main(void)
{
	test_real_tokens();
	test_srk();
	test_forms();
	test_malformed();
	test_shards();
	test_pem_and_signature();
	test_responses();
	test_templates();
	test_crypto();
	test_ecdh();
	test_rsa_oaep();
	TEST_DONE();
}
