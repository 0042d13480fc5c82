/*
 * MD5 against the RFC 1321 test suite, one-shot and streamed split at every
 * offset, and a context reused after md5_init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hex.h"
#include "crypto/md5.h"

static const struct {
	const char *input, *hex;
} rfc1321[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890123456789012345678901234567890123456"
	  "7890",
	  "57edf4a22be3c955ac49da2e2107b67a" },
};

#define N_VECTORS (sizeof(rfc1321) / sizeof(rfc1321[0]))

static void one_shot(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_VECTORS; i++) {
		char hex[MD5_HEX_LEN + 1];
		md5_hex(rfc1321[i].input, strlen(rfc1321[i].input), hex);
		assert_string_equal(hex, rfc1321[i].hex);
	}
}

static void streamed_any_split(void **state)
{
	(void)state;
	struct md5_ctx *c;
	assert_int_equal(md5_new(&c), 0);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const char *in = rfc1321[i].input;
		size_t n = strlen(in);
		for (size_t split = 0; split <= n; split++) {
			uint8_t d[MD5_LEN];
			char hex[MD5_HEX_LEN + 1];
			md5_init(c);
			md5_update(c, in, split);
			md5_update(c, in + split, n - split);
			md5_final(c, d);
			hex_encode(d, MD5_LEN, hex);
			if (strcmp(hex, rfc1321[i].hex) != 0)
				fail_msg("\"%s\" split %zu: %s", in, split, hex);
		}
	}
	md5_free(c);
	md5_free(NULL);
}

static void fresh_context_is_initialised(void **state)
{
	(void)state;
	struct md5_ctx *c;
	uint8_t d[MD5_LEN], want[MD5_LEN];
	assert_int_equal(md5_new(&c), 0);
	md5_update(c, "abc", 3);
	md5_final(c, d);
	md5("abc", 3, want);
	assert_memory_equal(d, want, MD5_LEN);
	md5_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_shot),
		cmocka_unit_test(streamed_any_split),
		cmocka_unit_test(fresh_context_is_initialised),
	};
	return cmocka_run_group_tests_name("test_md5", tests, NULL, NULL);
}
