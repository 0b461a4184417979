/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "earlyroot.h"
#include "test.h"

#define HASH "e9a2df1e197f91e4fa0d635b86f75612c89fc101c4afe8d63ae63963eabd26f0"

/* the partition's bytes: the JSON, then NUL padding to 4 KiB as systemd-repart writes it */
static int parse(const char *json, struct verity_sig *s, const char **why)
{
	static char buf[4096];
	memset(buf, 0, sizeof(buf));
	snprintf(buf, sizeof(buf), "%s", json);
	return verity_sig_parse(buf, sizeof(buf), s, why);
}

static void test_partuuids(void)
{
	char data[GUID_LEN + 1], hash[GUID_LEN + 1];
	CHECK(verity_partuuids(HASH, data, hash) == 0);
	/* what systemd-repart 257 set for this hash */
	CHECK_STR(data, "e9a2df1e-197f-91e4-fa0d-635b86f75612");
	CHECK_STR(hash, "c89fc101-c4af-e8d6-3ae6-3963eabd26f0");
	CHECK(verity_partuuids("E9A2DF1E197F91E4FA0D635B86F75612C89FC101C4AFE8D63AE63963EABD26F0", data, hash) == 0);
	CHECK_STR(data, "e9a2df1e-197f-91e4-fa0d-635b86f75612");
	/* SHA-512: the last 128 bits of all 512 */
	CHECK(verity_partuuids(HASH HASH, data, hash) == 0);
	CHECK_STR(hash, "c89fc101-c4af-e8d6-3ae6-3963eabd26f0");
	CHECK(verity_partuuids("e9a2df1e", data, hash) == -EINVAL);	/* too short */
	CHECK(verity_partuuids(HASH "a", data, hash) == -EINVAL);	/* half a byte */
	CHECK(verity_partuuids(HASH HASH HASH, data, hash) == -EINVAL); /* too long */
	CHECK(verity_partuuids("x9a2df1e197f91e4fa0d635b86f75612c89fc101c4afe8d63ae63963eabd26f0", data, hash) ==
	      -EINVAL); /* not hex */
	CHECK(verity_partuuids("", data, hash) == -EINVAL);
}

static void test_sig(void)
{
	struct verity_sig s;
	const char *why;
	CHECK(parse("{\"rootHash\":\"" HASH "\",\"certificateFingerprint\":"
		    "\"20CBC8C3F32473FDA468A5A52B67E0322DA5F0B4FC5B72A7B32421BB1B3C1A03\",\"signature\":\"MIIE\"}",
		    &s, &why) == 0);
	CHECK(why == NULL);
	CHECK_STR(s.root_hash, HASH);
	CHECK_STR(s.fingerprint, "20cbc8c3f32473fda468a5a52b67e0322da5f0b4fc5b72a7b32421bb1b3c1a03");
	CHECK(s.signature_len == 3 && s.signature[0] == 0x30 && s.signature[1] == 0x82 && s.signature[2] == 0x04);
	/* the fingerprint is optional; white space around the object is JSON */
	CHECK(parse(" {\"signature\":\"AAEC\",\"rootHash\":\"" HASH "\"}\n", &s, &why) == 0);
	CHECK(s.fingerprint[0] == 0 && s.signature_len == 3);

	static const char *const bad[] = {
		"",
		"[]",
		"{\"rootHash\":\"" HASH "\"}",				/* no signature */
		"{\"signature\":\"AAEC\"}",				/* no hash */
		"{\"rootHash\":\"" HASH "\",\"signature\":\"\"}",	/* empty signature */
		"{\"rootHash\":\"" HASH "\",\"signature\":\"!!!\"}",	/* not base64 */
		"{\"rootHash\":\"abcd\",\"signature\":\"AAEC\"}",	/* hash too short */
		"{\"rootHash\":1,\"signature\":\"AAEC\"}",		/* not a string */
		"{\"rootHash\":\"" HASH "\",\"signature\":\"AAEC\"} x", /* text after it */
		"{\"rootHash\":\"" HASH "\",\"signature\":\"AAEC\",\"certificateFingerprint\":\"12\"}",
		"{\"rootHash\":\"" HASH "\",\"signature\":\"AAEC\"", /* cut short */
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = parse(bad[i], &s, &why);
		if (r != -EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(r == -EINVAL && why && *why);
	}
	/* bytes after the NUL padding began */
	char buf[64] = "{\"rootHash\":\"ab\"}";
	buf[40] = 'x';
	CHECK(verity_sig_parse(buf, sizeof(buf), &s, &why) == -EINVAL);
	/* a NUL inside a string ends the text there */
	char cut[] = "{\"rootHash\":\"" HASH "\0\",\"signature\":\"AAEC\"}";
	CHECK(verity_sig_parse(cut, sizeof(cut), &s, &why) == -EINVAL);
}

int main(void)
{
	test_partuuids();
	test_sig();
	TEST_DONE();
}
