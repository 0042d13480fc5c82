/*
 * The base modules as tables: ISO-8601 basic dates against known epoch
 * seconds, capped buffers, strict hex, slices and the error table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/iov.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- clock ---------------------------------------------------------------------------- */

struct date_case {
	const char *text;
	int64_t epoch;
};

static const struct date_case good_dates[] = {
	{ "20150830T123600Z", 1440938160 },   { "19700101T000000Z", 0 },
	{ "19691231T235959Z", -1 },           { "19991231T235959Z", 946684799 },
	{ "20000229T000000Z", 951782400 },    { "20240229T000000Z", 1709164800 },
	{ "21000101T000000Z", 4102444800 },   { "21000228T235959Z", 4107542399 },
	{ "21000301T000000Z", 4107542400 },   { "21001231T235959Z", 4133980799 },
	{ "99991231T235959Z", 253402300799 },
};

static void clock_parse_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good_dates); i++) {
		int64_t t = 12345;
		int rc = clock_parse_amz(iov_cstr(good_dates[i].text), &t);
		if (rc != 0 || t != good_dates[i].epoch)
			fail_msg("%s: rc %s, got %lld want %lld", good_dates[i].text, err_name(rc),
			         (long long)t, (long long)good_dates[i].epoch);
	}
}

static void clock_format_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good_dates); i++) {
		char out[CLOCK_AMZ_DATE_LEN + 1];
		memset(out, 'x', sizeof(out));
		clock_format_amz(good_dates[i].epoch, out);
		assert_string_equal(out, good_dates[i].text);
	}
}

/* Every 7919 s over several years, including leap days: parse(format(t)) == t. */
static void clock_round_trip(void **state)
{
	(void)state;
	for (int64_t t = 946684800 - 86400 * 3; t < 1767225600; t += 7919) {
		char out[CLOCK_AMZ_DATE_LEN + 1];
		int64_t back = -1;
		clock_format_amz(t, out);
		assert_int_equal(clock_parse_amz(iov_cstr(out), &back), 0);
		if (back != t)
			fail_msg("%lld -> %s -> %lld", (long long)t, out, (long long)back);
	}
}

static void clock_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"20230229T000000Z",  /* not a leap year */
		"21000229T000000Z",  /* century, not a leap year */
		"20231301T000000Z",  /* month 13 */
		"20230001T000000Z",  /* month 0 */
		"20230100T000000Z",  /* day 0 */
		"20230132T000000Z",  /* day 32 */
		"20230431T000000Z",  /* April has 30 days */
		"20230101T240000Z",  /* hour 24 */
		"20230101T006000Z",  /* minute 60 */
		"20230101T000061Z",  /* second 61 */
		"20230101 000000Z",  /* no 'T' */
		"20230101T000000 ",  /* no 'Z' */
		"20230101t000000Z",  /* lowercase t */
		"20230101T000000z",  /* lowercase z */
		"20230101T00000Z",   /* too short */
		"20230101T0000000Z", /* too long */
		"2023-01-01T00:00:00Z", "2023010AT000000Z", "20230101T0-0000Z",
		"20230101T00 000Z",     "+0230101T000000Z", "",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int64_t t = 777;
		int rc = clock_parse_amz(iov_cstr(bad[i]), &t);
		if (rc != ERR_INVALID || t != 777)
			fail_msg("'%s' accepted or changed out (rc %s)", bad[i], err_name(rc));
	}
}

/* The parser reads only the slice: bytes after it do not matter. */
static void clock_parse_slice(void **state)
{
	(void)state;
	const char text[] = "20150830T123600Zjunk";
	int64_t t = 0;
	assert_int_equal(clock_parse_amz(iov_make(text, CLOCK_AMZ_DATE_LEN), &t), 0);
	assert_int_equal(t, 1440938160);
	assert_int_equal(clock_parse_amz(iov_make(text, CLOCK_AMZ_DATE_LEN - 1), &t), ERR_INVALID);
}

/* ---- buf ------------------------------------------------------------------------------ */

static void buf_cap_add(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "0123456789", 10), 0);
	assert_int_equal(buf_add(&b, "x", 1), ERR_TOO_BIG);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	assert_int_equal(buf_add_char(&b, 'x'), ERR_TOO_BIG);
	assert_int_equal(buf_add_str(&b, "yz"), ERR_TOO_BIG);
	assert_int_equal(buf_add_iov(&b, IOV_LIT("w")), ERR_TOO_BIG);
	assert_int_equal(buf_reserve(&b, 1), ERR_TOO_BIG);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

/* A partial fit is refused whole: the buffer is unchanged, never truncated. */
static void buf_cap_all_or_nothing(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_add_str(&b, "abcde"), 0);
	assert_int_equal(buf_add_str(&b, "fghi"), ERR_TOO_BIG);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "abcde", 5);
	assert_int_equal(buf_add_str(&b, "fgh"), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdefgh", 8);
	buf_free(&b);
}

/* Byte-at-a-time growth obeys a small cap too (no slack past max). */
static void buf_cap_char_by_char(void **state)
{
	(void)state;
	static const size_t caps[] = { 1, 3, 10, 63, 64, 65, 100, 1000 };
	for (size_t c = 0; c < N_ELEMS(caps); c++) {
		struct buf b;
		size_t ok = 0;
		buf_init(&b, caps[c]);
		for (size_t i = 0; i < caps[c] + 5; i++)
			if (buf_add_char(&b, (char)('a' + i % 26)) == 0)
				ok++;
		if (ok != caps[c] || b.len != caps[c])
			fail_msg("max %zu: %zu chars accepted, len %zu", caps[c], ok, b.len);
		assert_true(b.cap <= b.max);
		for (size_t i = 0; i < b.len; i++)
			assert_int_equal(b.data[i], 'a' + i % 26);
		buf_free(&b);
	}
}

static void buf_zero_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_add_char(&b, 'a'), ERR_TOO_BIG);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void buf_stack_to_heap(void **state)
{
	(void)state;
	char store[8];
	char want[300];
	struct buf b;
	buf_init_with(&b, store, sizeof(store), 1024);
	assert_int_equal(buf_add_str(&b, "abcdefg"), 0);
	assert_ptr_equal(b.data, store);
	assert_false(b.heap);
	for (size_t i = 0; i < sizeof(want); i++) {
		want[i] = (char)('A' + i % 23);
		if (i >= 7)
			assert_int_equal(buf_add_char(&b, want[i]), 0);
		else
			want[i] = "abcdefg"[i];
	}
	assert_true(b.heap);
	assert_ptr_not_equal(b.data, store);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	/* The caller's storage still holds what was written before the move. */
	assert_memory_equal(store, "abcdefg", 7);
	assert_non_null(buf_cstr(&b));
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.len, sizeof(want));
	buf_free(&b);
	assert_false(b.heap);
	assert_int_equal(b.len, 0);
}

/* Storage larger than max is only used up to max. */
static void buf_stack_larger_than_max(void **state)
{
	(void)state;
	char store[64];
	struct buf b;
	buf_init_with(&b, store, sizeof(store), 4);
	assert_int_equal(buf_add_str(&b, "abcd"), 0);
	assert_int_equal(buf_add_char(&b, 'e'), ERR_TOO_BIG);
	assert_int_equal(b.len, 4);
	assert_ptr_equal(b.data, store);
	buf_free(&b);
}

static void buf_printf_appends(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(buf_add_str(&b, "x="), 0);
	assert_int_equal(buf_printf(&b, "%d,%s,%05.1f,%c", -42, "str", 3.14159, 'q'), 0);
	assert_string_equal(buf_cstr(&b), "x=-42,str,003.1,q");
	assert_int_equal(b.len, strlen("x=-42,str,003.1,q"));
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, strlen("x=-42,str,003.1,q"));
	/* Too long for the cap: refused and unchanged. */
	assert_int_equal(buf_printf(&b, "%060d", 1), ERR_TOO_BIG);
	assert_string_equal(buf_cstr(&b), "x=-42,str,003.1,q");
	buf_free(&b);
}

/* Growth through printf from caller storage keeps the earlier bytes. */
static void buf_printf_grows(void **state)
{
	(void)state;
	char store[4];
	struct buf b;
	buf_init_with(&b, store, sizeof(store), 4096);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&b, "%d;", i), 0);
	char want[400];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%d;", i);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	buf_free(&b);
}

static void buf_cstr_terminates(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, "ab", 2), 0);
	const char *s = buf_cstr(&b);
	assert_non_null(s);
	assert_string_equal(s, "ab");
	assert_int_equal(b.len, 2);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
}

/* ---- hex ------------------------------------------------------------------------------ */

static void hex_encode_known(void **state)
{
	(void)state;
	static const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof(in) + 1];
	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

static void hex_round_trip(void **state)
{
	(void)state;
	uint8_t all[256], back[256];
	char text[2 * 256 + 1];
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	hex_encode(all, sizeof(all), text);
	assert_int_equal(strlen(text), 512);
	memset(back, 0, sizeof(back));
	assert_int_equal(hex_decode(iov_make(text, 512), back, sizeof(back)), 0);
	assert_memory_equal(all, back, sizeof(all));
}

static void hex_decode_rejects(void **state)
{
	static const struct {
		const char *text;
		size_t out_len;
	} bad[] = {
		{ "AB", 1 }, { "aB", 1 }, { "Ab", 1 },   { "0F", 1 },    { "abc", 1 }, { "abc", 2 },
		{ "a", 1 },  { "", 1 },   { "abcd", 1 }, { "ab", 2 },    { "0g", 1 },  { "g0", 1 },
		{ "0x", 1 }, { " 0", 1 }, { "0 ", 1 },   { "-1", 1 },    { "0:", 1 },  { "0/", 1 },
		{ "0@", 1 }, { "0`", 1 }, { "00zz", 2 }, { "0\x80", 1 },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		uint8_t out[4] = { 0 };
		if (hex_decode(iov_cstr(bad[i].text), out, bad[i].out_len) != ERR_INVALID)
			fail_msg("hex '%s' (%zu bytes) accepted", bad[i].text, bad[i].out_len);
	}
	uint8_t out[2];
	assert_int_equal(hex_decode(IOV_LIT("09af"), out, 2), 0);
	assert_int_equal(out[0], 0x09);
	assert_int_equal(out[1], 0xaf);
}

static void hex_digit_values(void **state)
{
	(void)state;
	assert_int_equal(hex_digit('0'), 0);
	assert_int_equal(hex_digit('9'), 9);
	assert_int_equal(hex_digit('a'), 10);
	assert_int_equal(hex_digit('f'), 15);
	assert_int_equal(hex_digit('A'), 10);
	assert_int_equal(hex_digit('F'), 15);
	assert_int_equal(hex_digit('g'), -1);
	assert_int_equal(hex_digit('G'), -1);
	assert_int_equal(hex_digit('/'), -1);
	assert_int_equal(hex_digit(':'), -1);
	assert_int_equal(hex_digit('@'), -1);
	assert_int_equal(hex_digit('`'), -1);
	assert_int_equal(hex_digit('\0'), -1);
}

/* ---- iov ------------------------------------------------------------------------------ */

static void iov_split_cases(void **state)
{
	static const struct {
		const char *in;
		const char *head;
		const char *rest; /* NULL: no separator */
	} cases[] = {
		{ "a=b", "a", "b" }, { "=b", "", "b" },       { "a=", "a", "" }, { "a", "a", NULL },
		{ "", "", NULL },    { "a=b=c", "a", "b=c" }, { "==", "", "=" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct iov head;
		struct iov rest = iov_split(iov_cstr(cases[i].in), '=', &head);
		assert_true(iov_eq(head, iov_cstr(cases[i].head)));
		if (cases[i].rest == NULL) {
			assert_null(rest.base);
			assert_int_equal(rest.len, 0);
		} else {
			assert_non_null(rest.base);
			assert_true(iov_eq(rest, iov_cstr(cases[i].rest)));
		}
	}
	/* The separator is looked for only inside the slice. */
	struct iov head;
	struct iov rest = iov_split(iov_make("ab=c", 2), '=', &head);
	assert_null(rest.base);
	assert_int_equal(head.len, 2);
	/* A NULL slice splits into a NULL head. */
	rest = iov_split(IOV_NULL, '=', &head);
	assert_null(rest.base);
	assert_int_equal(head.len, 0);
}

static void iov_trim_cases(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "  a  ", "a" },       { "\t\r\n\v\fa b\f\v\n\r\t", "a b" },
		{ "\va", "a" },         { "a\f", "a" },
		{ "   ", "" },          { "", "" },
		{ "a \v b", "a \v b" }, { "\x01z", "\x01z" },
		{ "a\xa0", "a\xa0" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct iov t = iov_trim(iov_cstr(cases[i].in));
		if (!iov_eq(t, iov_cstr(cases[i].out)))
			fail_msg("trim case %zu: got '%.*s'", i, IOV_ARG(t));
	}
}

static void iov_to_u64_cases(void **state)
{
	static const struct {
		const char *in;
		unsigned long long max;
		int rc;
		unsigned long long want;
	} cases[] = {
		{ "0", ULLONG_MAX, 0, 0 },
		{ "42", ULLONG_MAX, 0, 42 },
		{ "007", ULLONG_MAX, 0, 7 },
		{ "18446744073709551615", ULLONG_MAX, 0, ULLONG_MAX },
		{ "18446744073709551616", ULLONG_MAX, ERR_INVALID, 0 }, /* 2^64 */
		{ "18446744073709551620", ULLONG_MAX, ERR_INVALID, 0 },
		{ "99999999999999999999", ULLONG_MAX, ERR_INVALID, 0 },
		{ "184467440737095516150", ULLONG_MAX, ERR_INVALID, 0 },
		{ "604800", 604800, 0, 604800 },
		{ "604801", 604800, ERR_INVALID, 0 },
		{ "6048000", 604800, ERR_INVALID, 0 },
		{ "5", 5, 0, 5 },
		{ "6", 5, ERR_INVALID, 0 },
		{ "7", 5, ERR_INVALID, 0 },
		{ "9", 0, ERR_INVALID, 0 },
		{ "0", 0, 0, 0 },
		{ "10", 9, ERR_INVALID, 0 },
		{ "19", 15, ERR_INVALID, 0 },
		{ "", ULLONG_MAX, ERR_INVALID, 0 },
		{ "-1", ULLONG_MAX, ERR_INVALID, 0 },
		{ "+1", ULLONG_MAX, ERR_INVALID, 0 },
		{ " 1", ULLONG_MAX, ERR_INVALID, 0 },
		{ "1 ", ULLONG_MAX, ERR_INVALID, 0 },
		{ "1a", ULLONG_MAX, ERR_INVALID, 0 },
		{ "0x10", ULLONG_MAX, ERR_INVALID, 0 },
		{ "1.0", ULLONG_MAX, ERR_INVALID, 0 },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		unsigned long long v = 12345;
		int rc = iov_to_u64(iov_cstr(cases[i].in), cases[i].max, &v);
		if (rc != cases[i].rc)
			fail_msg("'%s' max %llu: rc %s want %s", cases[i].in, cases[i].max,
			         err_name(rc), err_name(cases[i].rc));
		if (rc == 0 && v != cases[i].want)
			fail_msg("'%s': got %llu want %llu", cases[i].in, v, cases[i].want);
		if (rc != 0 && v != 12345)
			fail_msg("'%s': out written on error", cases[i].in);
	}
}

static int sign_of(int c)
{
	return c < 0 ? -1 : c > 0;
}

static void iov_cmp_order(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "", "", 0 },         { "", "a", -1 },        { "a", "", 1 },
		{ "a", "a", 0 },       { "a", "ab", -1 },      { "ab", "a", 1 },
		{ "ab", "b", -1 },     { "b", "ab", 1 },       { "abc", "abd", -1 },
		{ "A", "a", -1 },      { "a\xff", "a", 1 },    { "\x80", "\x7f", 1 },
		{ "key", "key=", -1 }, { "key-", "key=", -1 },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		int c = iov_cmp(iov_cstr(cases[i].a), iov_cstr(cases[i].b));
		if (sign_of(c) != cases[i].want)
			fail_msg("cmp('%s','%s') = %d, want sign %d", cases[i].a, cases[i].b, c,
			         cases[i].want);
	}
	assert_int_equal(iov_cmp(IOV_NULL, IOV_NULL), 0);
	assert_true(iov_cmp(IOV_NULL, IOV_LIT("a")) < 0);
}

static void iov_eq_nocase_cases(void **state)
{
	(void)state;
	assert_true(iov_eq_nocase(IOV_LIT("Content-Type"), IOV_LIT("content-type")));
	assert_true(iov_eq_nocase(IOV_LIT("X-AMZ-DATE"), IOV_LIT("x-amz-date")));
	assert_false(iov_eq_nocase(IOV_LIT("host"), IOV_LIT("hosts")));
	assert_false(iov_eq_nocase(IOV_LIT("a["), IOV_LIT("a{")));
	assert_false(iov_eq_nocase(IOV_LIT("@"), IOV_LIT("`")));
	assert_true(iov_eq(IOV_LIT("x"), IOV_LIT("x")));
	assert_false(iov_eq(IOV_LIT("x"), IOV_LIT("X")));
	assert_true(iov_starts(IOV_LIT("x-amz-date"), IOV_LIT("x-amz-")));
	assert_false(iov_starts(IOV_LIT("x-am"), IOV_LIT("x-amz-")));
}

/* ---- err ------------------------------------------------------------------------------ */

static void err_mapping(void **state)
{
	static const struct {
		int code;
		const char *name;
		const char *s3;
		int status;
	} cases[] = {
		{ ERR_AUTH_MISMATCH, "AUTH_MISMATCH", "SignatureDoesNotMatch", 403 },
		{ ERR_AUTH_SKEW, "AUTH_SKEW", "RequestTimeTooSkewed", 403 },
		{ ERR_AUTH_MALFORMED, "AUTH_MALFORMED", "AuthorizationHeaderMalformed", 400 },
		{ ERR_AUTH_QUERY_MALFORMED, "AUTH_QUERY_MALFORMED",
		  "AuthorizationQueryParametersError", 400 },
		{ ERR_AUTH_UNKNOWN_KEY, "AUTH_UNKNOWN_KEY", "InvalidAccessKeyId", 403 },
		{ ERR_AUTH_PAYLOAD_MISMATCH, "AUTH_PAYLOAD_MISMATCH", "XAmzContentSHA256Mismatch",
		  400 },
		{ ERR_AUTH_DECODED_LENGTH, "AUTH_DECODED_LENGTH", "MissingContentLength", 411 },
		{ ERR_NOT_FOUND, "NOT_FOUND", "NoSuchKey", 404 },
		{ ERR_NOMEM, "NOMEM", "InternalError", 500 },
		{ ERR_CHUNK_TRAILER, "CHUNK_TRAILER", "MalformedTrailerError", 400 },
		/* Rows without an S3 mapping. */
		{ ERR_AGAIN, "AGAIN", "InternalError", 500 },
		{ ERR_USAGE, "USAGE", "InternalError", 500 },
		/* Not in the list at all. */
		{ -1, "UNKNOWN", "InternalError", 500 },
		{ -22, "UNKNOWN", "InternalError", 500 },
		{ 7, "UNKNOWN", "InternalError", 500 },
		{ ERR__FIRST, "UNKNOWN", "InternalError", 500 },
		{ ERR__END, "UNKNOWN", "InternalError", 500 },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		assert_string_equal(err_name(cases[i].code), cases[i].name);
		assert_string_equal(err_s3_code(cases[i].code), cases[i].s3);
		assert_int_equal(err_http_status(cases[i].code), cases[i].status);
	}
	assert_string_equal(err_name(0), "OK");
	assert_string_equal(err_text(0), "ok");
	assert_string_equal(err_text(ERR_AUTH_SKEW),
	                    "request time is too far from the server time");
	assert_string_equal(err_text(-1), "unknown error");
	assert_string_equal(err_text(ERR__END), "unknown error");
}

/* Every row has a name and a text, and the codes are distinct and negative. */
static void err_every_row(void **state)
{
	(void)state;
	for (int c = ERR__FIRST + 1; c < ERR__END; c++) {
		assert_true(c < 0);
		assert_string_not_equal(err_name(c), "UNKNOWN");
		assert_string_not_equal(err_text(c), "unknown error");
		int st = err_http_status(c);
		assert_true(st >= 400 && st <= 599);
		assert_non_null(err_s3_code(c));
	}
}

static void base64_round_trip_and_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *enc;
	} v[] = { { "", "" },
		  { "f", "Zg==" },
		  { "fo", "Zm8=" },
		  { "foo", "Zm9v" },
		  { "foob", "Zm9vYg==" },
		  { "fooba", "Zm9vYmE=" },
		  { "foobar", "Zm9vYmFy" } }; /* RFC 4648 §10 */
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char out[16];
		uint8_t back[16];
		size_t n;
		assert_int_equal(base64_encode((const uint8_t *)v[i].raw, strlen(v[i].raw), out),
		                 strlen(v[i].enc));
		assert_string_equal(out, v[i].enc);
		assert_int_equal(base64_decode(iov_cstr(v[i].enc), back, sizeof(back), &n), 0);
		assert_int_equal(n, strlen(v[i].raw));
		assert_memory_equal(back, v[i].raw, n);
	}
	static const char *const bad[] = { "Zg=",  "Zg",   "Z===", "Zh==",    "Zm9=",
		                           "Zm 9", "Zm9-", "=Zm9", "Zg==Zg==" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t back[16];
		size_t n;
		if (base64_decode(iov_cstr(bad[i]), back, sizeof(back), &n) != ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
	}
	uint8_t small[2];
	size_t n;
	assert_int_equal(base64_decode(IOV_LIT("Zm9v"), small, sizeof(small), &n), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clock_parse_known),
		cmocka_unit_test(clock_format_known),
		cmocka_unit_test(clock_round_trip),
		cmocka_unit_test(clock_parse_rejects),
		cmocka_unit_test(clock_parse_slice),
		cmocka_unit_test(buf_cap_add),
		cmocka_unit_test(buf_cap_all_or_nothing),
		cmocka_unit_test(buf_cap_char_by_char),
		cmocka_unit_test(buf_zero_cap),
		cmocka_unit_test(buf_stack_to_heap),
		cmocka_unit_test(buf_stack_larger_than_max),
		cmocka_unit_test(buf_printf_appends),
		cmocka_unit_test(buf_printf_grows),
		cmocka_unit_test(buf_cstr_terminates),
		cmocka_unit_test(hex_encode_known),
		cmocka_unit_test(hex_round_trip),
		cmocka_unit_test(hex_decode_rejects),
		cmocka_unit_test(hex_digit_values),
		cmocka_unit_test(iov_split_cases),
		cmocka_unit_test(iov_trim_cases),
		cmocka_unit_test(iov_to_u64_cases),
		cmocka_unit_test(iov_cmp_order),
		cmocka_unit_test(iov_eq_nocase_cases),
		cmocka_unit_test(err_mapping),
		cmocka_unit_test(err_every_row),
		cmocka_unit_test(base64_round_trip_and_rejects),
	};
	return cmocka_run_group_tests_name("test_base", tests, NULL, NULL);
}
