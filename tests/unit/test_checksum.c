/*
 * The S3 additional checksums against their published check values (the
 * digest of "123456789" in each CRC catalogue entry and the FIPS SHA
 * vectors), in one piece and split at every offset, as base64 like S3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/checksum.h"

static const struct {
	enum checksum_alg alg;
	const char *input;
	const char *hex;
} kats[] = {
	{ CHECKSUM_CRC32, "123456789", "cbf43926" },
	{ CHECKSUM_CRC32C, "123456789", "e3069283" },
	{ CHECKSUM_CRC64NVME, "123456789", "ae8b14860a799888" },
	{ CHECKSUM_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ CHECKSUM_SHA256, "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ CHECKSUM_CRC32, "", "00000000" },
	{ CHECKSUM_CRC32C, "", "00000000" },
	{ CHECKSUM_CRC64NVME, "", "0000000000000000" },
};

static void digest(enum checksum_alg alg, const char *in, size_t split, char *hex)
{
	struct checksum *c;
	uint8_t d[CHECKSUM_MAX_LEN];
	size_t n = strlen(in);
	assert_int_equal(checksum_new(alg, &c), 0);
	checksum_update(c, in, split);
	checksum_update(c, in + split, n - split);
	size_t len = checksum_final(c, d);
	checksum_free(c);
	hex_encode(d, len, hex);
}

static void known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		for (size_t split = 0; split <= strlen(kats[i].input); split++) {
			char hex[2 * CHECKSUM_MAX_LEN + 1];
			digest(kats[i].alg, kats[i].input, split, hex);
			if (strcmp(hex, kats[i].hex) != 0)
				fail_msg("%s(\"%s\") split %zu: %s, want %s",
				         checksum_alg_name(kats[i].alg), kats[i].input, split, hex,
				         kats[i].hex);
		}
	}
}

/* Long inputs take the 8-bytes-at-a-time paths; compare them with bytewise feeding. */
static void long_input_any_split(void **state)
{
	(void)state;
	static uint8_t data[100003];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + (i >> 7));
	for (int a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
		struct checksum *whole, *bytes;
		uint8_t d1[CHECKSUM_MAX_LEN], d2[CHECKSUM_MAX_LEN];
		assert_int_equal(checksum_new((enum checksum_alg)a, &whole), 0);
		assert_int_equal(checksum_new((enum checksum_alg)a, &bytes), 0);
		checksum_update(whole, data, sizeof(data));
		for (size_t i = 0; i < sizeof(data); i += 7)
			checksum_update(bytes, data + i,
			                sizeof(data) - i < 7 ? sizeof(data) - i : 7);
		size_t n = checksum_final(whole, d1);
		assert_int_equal(checksum_final(bytes, d2), n);
		assert_memory_equal(d1, d2, n);
		checksum_free(whole);
		checksum_free(bytes);
	}
}

/* The table path CPUs without SSE4.2 take agrees with the check value and the
 * hardware path. */
static void crc32c_table_path(void **state)
{
	(void)state;
	assert_int_equal(~checksum__crc32c_sw(0xffffffffu, "123456789", 9), 0xe3069283u);
	static uint8_t data[4099];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 3));
	struct checksum *c;
	uint8_t d[CHECKSUM_MAX_LEN];
	assert_int_equal(checksum_new(CHECKSUM_CRC32C, &c), 0);
	checksum_update(c, data, sizeof(data));
	checksum_final(c, d);
	checksum_free(c);
	uint32_t sw = ~checksum__crc32c_sw(0xffffffffu, data, sizeof(data));
	uint32_t hw = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	assert_int_equal(sw, hw);
}

static void base64_like_s3(void **state)
{
	(void)state;
	struct checksum *c;
	char b64[CHECKSUM_MAX_BASE64 + 1];
	/* crc32("abc") = 352441c2, which S3 shows as NSRBwg== */
	assert_int_equal(checksum_new(CHECKSUM_CRC32, &c), 0);
	checksum_update(c, "abc", 3);
	checksum_final_base64(c, b64);
	checksum_free(c);
	assert_string_equal(b64, "NSRBwg==");
	/* sha256("Hello world") from the aws-sdk-go-v2 aws-chunked example */
	assert_int_equal(checksum_new(CHECKSUM_SHA256, &c), 0);
	checksum_update(c, "Hello world", 11);
	checksum_final_base64(c, b64);
	checksum_free(c);
	assert_string_equal(b64, "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=");
}

static void header_names(void **state)
{
	(void)state;
	enum checksum_alg a;
	assert_int_equal(checksum_alg_from_header(IOV_LIT("x-amz-checksum-crc32c"), &a), 0);
	assert_int_equal(a, CHECKSUM_CRC32C);
	assert_int_equal(checksum_alg_from_header(IOV_LIT("X-Amz-Checksum-CRC64NVME"), &a), 0);
	assert_int_equal(a, CHECKSUM_CRC64NVME);
	assert_int_equal(checksum_alg_from_header(IOV_LIT("x-amz-checksum-md5"), &a), ERR_INVALID);
	assert_int_equal(checksum_alg_from_header(IOV_LIT("x-amz-checksum-"), &a), ERR_INVALID);
	assert_int_equal(checksum_alg_from_header(IOV_LIT("x-amz-meta-crc32"), &a), ERR_INVALID);
	assert_int_equal(checksum_alg_from_header(IOV_LIT("x-amz-checksum-crc32x"), &a),
	                 ERR_INVALID);
	/* Bare names, as x-amz-checksum-algorithm and the stored form carry them. */
	assert_int_equal(checksum_alg_from_name(IOV_LIT("SHA256"), &a), 0);
	assert_int_equal(a, CHECKSUM_SHA256);
	assert_int_equal(checksum_alg_from_name(IOV_LIT("crc32"), &a), 0);
	assert_int_equal(a, CHECKSUM_CRC32);
	assert_int_equal(checksum_alg_from_name(IOV_LIT("crc"), &a), ERR_INVALID);
	assert_int_equal(checksum_alg_from_name(IOV_LIT(""), &a), ERR_INVALID);
	assert_int_equal(checksum_alg_len(CHECKSUM_CRC64NVME), 8);
	assert_int_equal(checksum_alg_len(CHECKSUM_SHA1), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_answers),     cmocka_unit_test(long_input_any_split),
		cmocka_unit_test(crc32c_table_path), cmocka_unit_test(base64_like_s3),
		cmocka_unit_test(header_names),
	};
	return cmocka_run_group_tests_name("test_checksum", tests, NULL, NULL);
}
