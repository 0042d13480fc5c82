/*
 * S3 names as tables: bucket names against every general purpose naming
 * rule (good names at the edges, one bad name per rule), keys (length in
 * bytes, UTF-8 well-formedness), the encoding-type=url encoding S3 uses
 * (ceph s3-tests' expectations measured against S3), and the query decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "s3/names.h"
#include "s3/utf8.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const good_buckets[] = {
	"abc",
	"a-b",
	"a.b",
	"docexamplebucket1",
	"log-delivery-march-2020",
	"my-hosted-content",
	"docexamplewebsite.com",
	"www.docexamplewebsite.com",
	"my.example.s3.bucket",
	"123",
	"0-9",
	"a--b",
	"a-.b",
	"xn-a",
	"sthree",
	"amzn-s3-demo",
	"b-s3alias-x",
	"bucket.mrapx",
	"1.2.3",
	"1.2.3.4.5",
	"1.2.3.a",
	"1234.2.3.4",
	"bucket--x-s3a",
	"123456789012345678901234567890123456789012345678901234567890123", /* 63 */
};

static const char *const bad_buckets[] = {
	"",
	"ab",                                                               /* too short */
	"1234567890123456789012345678901234567890123456789012345678901234", /* 64 */
	"doc_example_bucket",                                               /* underscore */
	"DocExampleBucket",                                                 /* uppercase */
	"doc-example-bucket-",                                              /* ends with - */
	"-abc",                                                             /* starts with - */
	".abc",
	"abc.",
	"a..b",        /* adjacent periods */
	"192.168.5.4", /* IP address */
	"0.0.0.0",
	"999.999.999.999",
	"xn--abc", /* reserved prefixes */
	"sthree-abc",
	"sthree-configurator",
	"amzn-s3-demo-bucket",
	"bucket-s3alias", /* reserved suffixes */
	"bucket--ol-s3",
	"bucket.mrap",
	"bucket--usw2-az1--x-s3",
	"bucket--table-s3",
	"a b",
	"a/b",
	"caf\xc3\xa9",
	"abc\n",
};

static void bucket_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good_buckets); i++)
		if (s3_names_bucket_valid(iov_cstr(good_buckets[i])) != 0)
			fail_msg("'%s' refused", good_buckets[i]);
	for (size_t i = 0; i < N_ELEMS(bad_buckets); i++)
		if (s3_names_bucket_valid(iov_cstr(bad_buckets[i])) != ERR_S3_INVALID_BUCKET_NAME)
			fail_msg("'%s' accepted", bad_buckets[i]);
	/* a slice is read to its length, never to a NUL */
	assert_int_equal(s3_names_bucket_valid(iov_make("abc-", 3)), 0);
	assert_int_equal(s3_names_bucket_valid(iov_make("ab\0c", 4)), ERR_S3_INVALID_BUCKET_NAME);
}

static void keys(void **state)
{
	(void)state;
	char k[S3_KEY_MAX + 1];
	memset(k, 'k', sizeof(k));
	assert_int_equal(s3_names_key_valid(iov_make(k, S3_KEY_MAX)), 0);
	assert_int_equal(s3_names_key_valid(iov_make(k, S3_KEY_MAX + 1)), ERR_S3_KEY_TOO_LONG);
	assert_int_equal(s3_names_key_valid(iov_make(k, 1)), 0);
	assert_int_equal(s3_names_key_valid(IOV_LIT("")), ERR_S3_INVALID_ARGUMENT);
	/* 256 four-byte characters are 1024 bytes; one more byte is too long */
	for (size_t i = 0; i + 4 <= S3_KEY_MAX; i += 4)
		memcpy(k + i, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(s3_names_key_valid(iov_make(k, S3_KEY_MAX)), 0);
	k[S3_KEY_MAX] = 'x';
	assert_int_equal(s3_names_key_valid(iov_make(k, S3_KEY_MAX + 1)), ERR_S3_KEY_TOO_LONG);
	/* any UTF-8 S3 takes, control characters included */
	assert_int_equal(s3_names_key_valid(IOV_LIT("a\x01\r\n\x7f/\xc2\x80 ../..")), 0);
	assert_int_equal(s3_names_key_valid(IOV_LIT("a\0b")), ERR_S3_INVALID_URI);
	assert_int_equal(s3_names_key_valid(IOV_LIT("a\xff")), ERR_S3_INVALID_URI);
	assert_int_equal(s3_names_key_valid(IOV_LIT("\xed\xa0\x80")), ERR_S3_INVALID_URI);
}

struct utf8_case {
	const char *s;
	size_t len;
	int valid;
};

#define U(s, v)                     \
	{                           \
		s, sizeof(s) - 1, v \
	}

static const struct utf8_case utf8_cases[] = {
	U("", 1),
	U("ascii", 1),
	U("\x00", 1),
	U("\xc2\x80", 1),         /* U+0080 */
	U("\xdf\xbf", 1),         /* U+07FF */
	U("\xe0\xa0\x80", 1),     /* U+0800 */
	U("\xed\x9f\xbf", 1),     /* U+D7FF */
	U("\xee\x80\x80", 1),     /* U+E000 */
	U("\xef\xbf\xbf", 1),     /* U+FFFF */
	U("\xf0\x90\x80\x80", 1), /* U+10000 */
	U("\xf4\x8f\xbf\xbf", 1), /* U+10FFFF */
	U("\x80", 0),
	U("\xbf", 0),
	U("\xc0\x80", 0), /* overlong NUL */
	U("\xc1\xbf", 0),
	U("\xe0\x9f\xbf", 0),     /* overlong */
	U("\xed\xa0\x80", 0),     /* U+D800 */
	U("\xed\xbf\xbf", 0),     /* U+DFFF */
	U("\xf0\x8f\xbf\xbf", 0), /* overlong */
	U("\xf4\x90\x80\x80", 0), /* U+110000 */
	U("\xf5\x80\x80\x80", 0),
	U("\xf8\x88\x80\x80\x80", 0),
	U("\xfe", 0),
	U("\xff", 0),
	U("\xc2", 0), /* truncated */
	U("\xe2\x82", 0),
	U("\xf0\x9f\x98", 0),
	U("\xc2\x41", 0), /* bad continuation */
	U("\xe2\x41\x82", 0),
	U("a\xe2\x82\xac"
	  "b",
	  1),
};

static void utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(utf8_cases); i++)
		if (s3_utf8_valid(iov_make(utf8_cases[i].s, utf8_cases[i].len)) !=
		    (bool)utf8_cases[i].valid)
			fail_msg("utf8 case %zu", i);
}

struct enc_case {
	const char *in;
	const char *out;
};

static const struct enc_case url_cases[] = {
	/* ceph s3-tests test_bucket_list(v2)_encoding_basic */
	{ "foo+1/", "foo%2B1/" },
	{ "foo/", "foo/" },
	{ "quux ab/", "quux%20ab/" },
	{ "asdf+b", "asdf%2Bb" },
	{ "test_file(3).png", "test_file%283%29.png" },
	{ "100%.csv", "100%25.csv" },
	{ "\xed\x95\x9c\xea\xb8\x80/x.txt", "%ED%95%9C%EA%B8%80/x.txt" },
	{ "AZaz09-._~", "AZaz09-._~" },
	{ "!*'();:@&=$,?#[]", "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D" },
	{ "\x01\n\r\x7f", "%01%0A%0D%7F" },
	{ "", "" },
};

static void url_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(url_cases); i++) {
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(s3_names_url_encode(&b, iov_cstr(url_cases[i].in)), 0);
		assert_string_equal(buf_cstr(&b), url_cases[i].out);
		/* and back */
		struct buf d;
		buf_init(&d, 1024);
		assert_int_equal(s3_names_query_decode(&d, buf_iov(&b)), 0);
		assert_int_equal(d.len, strlen(url_cases[i].in));
		assert_memory_equal(d.data, url_cases[i].in, d.len);
		buf_free(&b);
		buf_free(&d);
	}
	/* over the cap: nothing appended */
	struct buf b;
	buf_init(&b, 8);
	buf_add_str(&b, "ab");
	assert_int_equal(s3_names_url_encode(&b, IOV_LIT("a b")), 0);
	assert_int_equal(s3_names_url_encode(&b, IOV_LIT(" ")), ERR_TOO_BIG);
	assert_string_equal(buf_cstr(&b), "aba%20b");
	buf_free(&b);
}

static const struct enc_case decode_cases[] = {
	{ "a+b", "a b" }, { "a%2Bb", "a+b" },   { "a%2bb", "a+b" },
	{ "++", "  " },   { "+a+", " a " },     { "%E2%82%AC", "\xe2\x82\xac" },
	{ "%2F", "/" },   { "plain", "plain" }, { "", "" },
};

static const char *const bad_decodes[] = { "%", "%4", "a%zz", "%G0", "x+%2", "%%41" };

static void query_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(decode_cases); i++) {
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(s3_names_query_decode(&b, iov_cstr(decode_cases[i].in)), 0);
		assert_string_equal(buf_cstr(&b), decode_cases[i].out);
		buf_free(&b);
	}
	for (size_t i = 0; i < N_ELEMS(bad_decodes); i++) {
		struct buf b;
		buf_init(&b, 1024);
		buf_add_str(&b, "kept");
		assert_int_equal(s3_names_query_decode(&b, iov_cstr(bad_decodes[i])), ERR_INVALID);
		assert_string_equal(buf_cstr(&b), "kept");
		buf_free(&b);
	}
	/* %00 decodes to a NUL byte: the caller validates for its use */
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(s3_names_query_decode(&b, IOV_LIT("a%00b")), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(s3_names_key_valid(buf_iov(&b)), ERR_S3_INVALID_URI);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_names), cmocka_unit_test(keys),
		cmocka_unit_test(utf8),         cmocka_unit_test(url_encode),
		cmocka_unit_test(query_decode),
	};
	return cmocka_run_group_tests_name("test_s3_names", tests, NULL, NULL);
}
