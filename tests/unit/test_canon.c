/*
 * The canonical request pieces (../shared/docs/SIGV4.md §1) as tables: URI
 * encoding and decoding, the canonical path under each rule set, the
 * canonical query, the canonical header block for signing and verifying,
 * plus region-set matching and payload-hash classification from sigv4.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/canon.h"
#include "auth/sigv4.h"
#include "base/err.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Fail with both strings when a buffer does not hold exactly `want`. */
static void expect_buf(const char *what, const struct buf *b, const char *want)
{
	if (!iov_eq(buf_iov(b), iov_cstr(want)))
		fail_msg("%s:\n  got  '%.*s'\n  want '%s'", what, IOV_ARG(buf_iov(b)), want);
}

/* ---- auth_uri_encode / auth_uri_decode ------------------------------------------------ */

static void uri_encode_cases(void **state)
{
	static const struct {
		const char *in;
		bool keep_slash;
		const char *out;
	} cases[] = {
		{ "", false, "" },
		{ "a b", false, "a%20b" },
		{ "a b", true, "a%20b" },
		{ "/a/b/", true, "/a/b/" },
		{ "/a/b/", false, "%2Fa%2Fb%2F" },
		{ "AZaz09-_.~", false, "AZaz09-_.~" },
		{ "+", false, "%2B" },
		{ "+", true, "%2B" },
		{ "%20", true, "%2520" },
		{ "*,=&;:@!$'()?#[]", false, "%2A%2C%3D%26%3B%3A%40%21%24%27%28%29%3F%23%5B%5D" },
		{ "\xc3\xa9", false, "%C3%A9" },       /* é: uppercase hex */
		{ "\xe2\x82\xac", true, "%E2%82%AC" }, /* € */
		{ "\xff\x80\x7f", false, "%FF%80%7F" },
		{ "k\x1f\t\n", false, "k%1F%09%0A" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(auth_uri_encode(&b, iov_cstr(cases[i].in), cases[i].keep_slash),
		                 0);
		expect_buf(cases[i].in, &b, cases[i].out);
		buf_free(&b);
	}
}

/* Every byte value: kept exactly when unreserved (or '/' with keep_slash),
 * otherwise %XY with uppercase hex digits. */
static void uri_encode_every_byte(void **state)
{
	static const char keep[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
	(void)state;
	for (int slash = 0; slash < 2; slash++) {
		for (unsigned c = 0; c < 256; c++) {
			char in = (char)c, want[4];
			struct buf b;
			bool kept = (c != 0 && strchr(keep, (int)c) != NULL) || (slash && c == '/');
			if (kept)
				snprintf(want, sizeof(want), "%c", (int)c);
			else
				snprintf(want, sizeof(want), "%%%02X", c);
			buf_init(&b, 16);
			assert_int_equal(auth_uri_encode(&b, iov_make(&in, 1), slash), 0);
			if (!iov_eq(buf_iov(&b), iov_cstr(want)))
				fail_msg("byte 0x%02x (slash %d): got '%.*s' want '%s'", c, slash,
				         IOV_ARG(buf_iov(&b)), want);
			buf_free(&b);
		}
	}
}

static void uri_encode_appends_and_caps(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(buf_add_str(&b, "x:"), 0);
	assert_int_equal(auth_uri_encode(&b, IOV_LIT("a b"), false), 0);
	expect_buf("appended", &b, "x:a%20b");
	assert_int_equal(auth_uri_encode(&b, IOV_LIT(" "), false), ERR_TOO_BIG);
	buf_free(&b);
}

static void uri_decode_cases(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a+b", "a+b" }, /* '+' is not a space */
		{ "%2f", "/" },
		{ "%2F", "/" },
		{ "%41%42c", "ABc" },
		{ "%20", " " },
		{ "%2B", "+" },
		{ "%25", "%" },
		{ "%2541", "%41" }, /* decoded once only */
		{ "%e2%82%AC", "\xe2\x82\xac" },
		{ "x%7e", "x~" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(auth_uri_decode(&b, iov_cstr(cases[i].in)), 0);
		expect_buf(cases[i].in, &b, cases[i].out);
		buf_free(&b);
	}
	/* A NUL byte decodes like any other. */
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(auth_uri_decode(&b, IOV_LIT("a%00b")), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	buf_free(&b);
}

static void uri_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"%", "%4", "%zz", "%g0", "%0g", "a%", "a%4", "abc%2", "%%41", "%-1", "% 1", "%4 ",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct buf b;
		buf_init(&b, 1024);
		int rc = auth_uri_decode(&b, iov_cstr(bad[i]));
		if (rc != ERR_INVALID)
			fail_msg("'%s' decoded (rc %s)", bad[i], err_name(rc));
		buf_free(&b);
	}
	/* An escape cut off by the slice end is bad even if the bytes follow. */
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(auth_uri_decode(&b, iov_make("a%41", 3)), ERR_INVALID);
	buf_free(&b);
}

/* ---- auth_canon_path ------------------------------------------------------------------ */

static void canon_path_cases(void **state)
{
	static const struct {
		const char *path;
		enum auth_uri_rules rules;
		const char *out;
	} cases[] = {
		/* S3: the wire path byte for byte. */
		{ "//a/./b", AUTH_URI_S3, "//a/./b" },
		{ "", AUTH_URI_S3, "/" },
		{ "/", AUTH_URI_S3, "/" },
		{ "/a%20b/c+d/./x", AUTH_URI_S3, "/a%20b/c+d/./x" },
		{ "/a/../b/", AUTH_URI_S3, "/a/../b/" },
		{ "/key with space", AUTH_URI_S3, "/key with space" },
		/* Generic: normalise, then encode once more (SIGV4.md §1.2). */
		{ "//example//", AUTH_URI_GENERIC, "/example/" },
		{ "/example1/example2/../..", AUTH_URI_GENERIC, "/" },
		{ "/./", AUTH_URI_GENERIC, "/" },
		{ "/a%20b/c+d/./x", AUTH_URI_GENERIC, "/a%2520b/c%2Bd/x" },
		{ "", AUTH_URI_GENERIC, "/" },
		{ "/", AUTH_URI_GENERIC, "/" },
		{ "//", AUTH_URI_GENERIC, "/" },
		{ "/..", AUTH_URI_GENERIC, "/" },
		{ "/../../a", AUTH_URI_GENERIC, "/a" },
		{ "/a/b/..", AUTH_URI_GENERIC, "/a" },
		{ "/a/b/../", AUTH_URI_GENERIC, "/a/" },
		{ "/a/./b/.", AUTH_URI_GENERIC, "/a/b" },
		{ "/a/.../b", AUTH_URI_GENERIC, "/a/.../b" },
		{ "/a/%2E/b", AUTH_URI_GENERIC, "/a/%252E/b" }, /* %2E is not a dot */
		{ "/a/..b/", AUTH_URI_GENERIC, "/a/..b/" },
		{ "/-_.~", AUTH_URI_GENERIC, "/-_.~" },
		/* Double encoding alone: no normalisation. */
		{ "/a%20b/c+d/./x", AUTH_URI_DOUBLE_ENCODE, "/a%2520b/c%2Bd/./x" },
		{ "//a/../b", AUTH_URI_DOUBLE_ENCODE, "//a/../b" },
		{ "", AUTH_URI_DOUBLE_ENCODE, "/" },
		/* Normalisation alone: no encoding. */
		{ "/a%20b/c+d/./x", AUTH_URI_NORMALIZE, "/a%20b/c+d/x" },
		{ "//example//", AUTH_URI_NORMALIZE, "/example/" },
		{ "/example1/example2/../..", AUTH_URI_NORMALIZE, "/" },
		{ "/a b/../c d", AUTH_URI_NORMALIZE, "/c d" },
		{ "", AUTH_URI_NORMALIZE, "/" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct buf b;
		char what[128];
		buf_init(&b, 4096);
		snprintf(what, sizeof(what), "'%s' rules %d", cases[i].path, (int)cases[i].rules);
		int rc = auth_canon_path(&b, iov_cstr(cases[i].path), cases[i].rules);
		if (rc)
			fail_msg("%s: %s", what, err_name(rc));
		expect_buf(what, &b, cases[i].out);
		buf_free(&b);
	}
}

/* Normalisation keeps at most AUTH_MAX_PATH_SEGMENTS segments. */
static void canon_path_segment_cap(void **state)
{
	(void)state;
	char path[2 * (AUTH_MAX_PATH_SEGMENTS + 1) + 1];
	struct buf b;
	for (size_t i = 0; i <= AUTH_MAX_PATH_SEGMENTS; i++)
		memcpy(path + 2 * i, "/a", 2);
	buf_init(&b, 4096);
	assert_int_equal(
	    auth_canon_path(&b, iov_make(path, 2 * AUTH_MAX_PATH_SEGMENTS), AUTH_URI_GENERIC), 0);
	assert_int_equal(b.len, 2 * AUTH_MAX_PATH_SEGMENTS);
	buf_reset(&b);
	assert_int_equal(
	    auth_canon_path(&b, iov_make(path, 2 * (AUTH_MAX_PATH_SEGMENTS + 1)), AUTH_URI_GENERIC),
	    ERR_TOO_BIG);
	/* S3 mode does not split, so it has no segment cap. */
	buf_reset(&b);
	assert_int_equal(
	    auth_canon_path(&b, iov_make(path, 2 * (AUTH_MAX_PATH_SEGMENTS + 1)), AUTH_URI_S3), 0);
	buf_free(&b);
}

/* ---- auth_canon_query ----------------------------------------------------------------- */

struct query_case {
	const char *query;
	bool drop_sig, drop_token;
	const char *out;
};

static const struct query_case query_cases[] = {
	/* SIGV4.md §1.3. */
	{ "q=a+b&r=%2f&empty&z=", false, false, "empty=&q=a%2Bb&r=%2F&z=" },
	{ "", false, false, "" },
	{ "&&", false, false, "" },
	{ "&&a=1&&", false, false, "a=1" },
	{ "=", false, false, "=" },
	{ "=v", false, false, "=v" },
	/* Sort by key, then value; duplicates kept. */
	{ "b=2&a=1&a=0&A=z", false, false, "A=z&a=0&a=1&b=2" },
	{ "a=1&a=1", false, false, "a=1&a=1" },
	{ "k=2&k=10&k=1", false, false, "k=1&k=10&k=2" },
	{ "ab=1&a=2", false, false, "a=2&ab=1" },
	{ "a~b&a_b=3&a.b=4&a-b=1&a=2", false, false, "a=2&a-b=1&a.b=4&a_b=3&a~b=" },
	/* Sorting is on the encoded form: "%2F" (0x25) sorts before "." (0x2E). */
	{ "k=.&k=%2F", false, false, "k=%2F&k=." },
	{ "%2F=1&.=2", false, false, "%2F=1&.=2" },
	/* Decode then re-encode with the param encoder. */
	{ "k=a=b", false, false, "k=a%3Db" },
	{ "k=%7e%41", false, false, "k=~A" },
	{ "k=*,/ ", false, false, "k=%2A%2C%2F%20" },
	{ "k=%2a", false, false, "k=%2A" },
	{ "k=%c3%a9", false, false, "k=%C3%A9" },
	{ "k%3D1=v", false, false, "k%3D1=v" },
	{ "prefix&prefix=", false, false, "prefix=&prefix=" },
	/* The auth parameters that may be dropped. */
	{ "X-Amz-Signature=abc&a=1", false, false, "X-Amz-Signature=abc&a=1" },
	{ "X-Amz-Signature=abc&a=1", true, false, "a=1" },
	{ "X-Amz-Signatur%65=abc&a=1", true, false, "a=1" },
	{ "X-Amz-Signature=abc&X-Amz-Security-Token=t%2Bk&a=1", true, false,
	  "X-Amz-Security-Token=t%2Bk&a=1" },
	{ "X-Amz-Signature=abc&X-Amz-Security-Token=t%2Bk&a=1", false, true,
	  "X-Amz-Signature=abc&a=1" },
	{ "X-Amz-Signature=abc&X-Amz-Security-Token=t%2Bk&a=1", true, true, "a=1" },
	{ "X-Amz-Signature=1&X-Amz-Signature=2", true, false, "" },
	{ "X-Amz-Signatures=1&X-Amz-Signature", true, false, "X-Amz-Signatures=1" },
	/* SIGV4.md §5: the presigned v4a example, as a verifier sees it. */
	{ "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%"
	  "2Fservice%"
	  "2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
	  "X-"
	  "Amz-Region-Set=us-east-1&X-Amz-Signature=3045022100abcdef",
	  true, false,
	  "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%"
	  "2Fservice%"
	  "2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-Region-Set=us-east-"
	  "1&"
	  "X-Amz-SignedHeaders=host" },
};

static void canon_query_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		struct buf b;
		buf_init(&b, AUTH_MAX_CANONICAL);
		int rc =
		    auth_canon_query(&b, iov_cstr(c->query), NULL, 0, c->drop_sig, c->drop_token);
		if (rc)
			fail_msg("'%s': %s", c->query, err_name(rc));
		expect_buf(c->query, &b, c->out);
		buf_free(&b);
	}
}

static void canon_query_extra(void **state)
{
	(void)state;
	const struct auth_param extra[] = {
		{ IOV_LIT("X-Amz-Region-Set"), IOV_LIT("us-east-1,us-west-*") },
		{ IOV_LIT("X-Amz-Credential"), IOV_LIT("AKID/20150830/s3/aws4_request") },
		{ IOV_LIT("b"), IOV_LIT("%41 +") }, /* extras are decoded already */
		{ IOV_LIT("a"), IOV_LIT("") },
	};
	struct buf b;
	buf_init(&b, AUTH_MAX_CANONICAL);
	assert_int_equal(
	    auth_canon_query(&b, IOV_LIT("b=1&zz=%2a"), extra, N_ELEMS(extra), false, false), 0);
	expect_buf("merged", &b,
	           "X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4_request&"
	           "X-Amz-Region-Set=us-east-1%2Cus-west-%2A&a=&b=%2541%20%2B&b=1&zz=%2A");
	buf_reset(&b);
	assert_int_equal(auth_canon_query(&b, IOV_NULL, extra, 1, false, false), 0);
	expect_buf("extras only", &b, "X-Amz-Region-Set=us-east-1%2Cus-west-%2A");
	buf_free(&b);
}

/* "p0=&p1=&..." with n parameters. */
static void many_params(struct buf *q, size_t n)
{
	buf_reset(q);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(q, "%sp%zu=%zu", i ? "&" : "", i, i), 0);
}

static void canon_query_param_cap(void **state)
{
	(void)state;
	struct buf q, b;
	const struct auth_param extra = { IOV_LIT("x"), IOV_LIT("y") };
	buf_init(&q, 1 << 16);
	buf_init(&b, AUTH_MAX_CANONICAL);

	many_params(&q, AUTH_MAX_QUERY_PARAMS);
	assert_int_equal(auth_canon_query(&b, buf_iov(&q), NULL, 0, false, false), 0);
	assert_int_equal(b.len, q.len);
	buf_reset(&b);
	assert_int_equal(auth_canon_query(&b, buf_iov(&q), &extra, 1, false, false), ERR_TOO_BIG);
	buf_reset(&b);
	many_params(&q, AUTH_MAX_QUERY_PARAMS + 1);
	assert_int_equal(auth_canon_query(&b, buf_iov(&q), NULL, 0, false, false), ERR_TOO_BIG);
	buf_reset(&b);
	many_params(&q, AUTH_MAX_QUERY_PARAMS - 1);
	assert_int_equal(auth_canon_query(&b, buf_iov(&q), &extra, 1, false, false), 0);
	buf_free(&q);
	buf_free(&b);
}

static void canon_query_rejects(void **state)
{
	static const char *const bad[] = {
		"a=%zz", "a=%4", "a=%", "a%=1", "%g0=1", "ok=1&b=%2", "a=%%41",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct buf b;
		buf_init(&b, AUTH_MAX_CANONICAL);
		int rc = auth_canon_query(&b, iov_cstr(bad[i]), NULL, 0, true, true);
		if (rc != ERR_INVALID)
			fail_msg("'%s': rc %s", bad[i], err_name(rc));
		buf_free(&b);
	}
	/* An output buffer that cannot hold the result. */
	struct buf small;
	buf_init(&small, 5);
	assert_int_equal(auth_canon_query(&small, IOV_LIT("abc=def"), NULL, 0, false, false),
	                 ERR_TOO_BIG);
	buf_free(&small);
}

static void query_next_pieces(void **state)
{
	(void)state;
	struct iov rest = IOV_LIT("a=1&&b&=c&d=e=f&"), k, v;
	static const char *const want[][2] = {
		{ "a", "1" },
		{ "b", "" },
		{ "", "c" },
		{ "d", "e=f" },
	};
	for (size_t i = 0; i < N_ELEMS(want); i++) {
		assert_true(auth_query_next(&rest, &k, &v));
		assert_true(iov_eq(k, iov_cstr(want[i][0])));
		assert_true(iov_eq(v, iov_cstr(want[i][1])));
	}
	assert_false(auth_query_next(&rest, &k, &v));
}

/* ---- auth_canon_headers_sign ---------------------------------------------------------- */

#define MAX_CASE_HEADERS 12

struct hsign_case {
	const char *name;
	struct auth_header h[MAX_CASE_HEADERS];
	size_t n;
	const char *canon;
	const char *signed_list;
};

#define H(n, v)                        \
	{                              \
		IOV_LIT(n), IOV_LIT(v) \
	}

static const struct hsign_case hsign_cases[] = {
	{ "duplicates joined in order",
	  { H("Host", "example.amazonaws.com"), H("My-Header1", "value2"),
	    H("X-Amz-Date", "20150830T123600Z"), H("my-header1", "value2"),
	    H("MY-HEADER1", "value1") },
	  5,
	  "host:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
	  "x-amz-date:20150830T123600Z\n",
	  "host;my-header1;x-amz-date" },
	{ "trim and collapse",
	  { H("a", "  x   y \t z  "), H("b", "\"a   b   c\""),
	    H("c", "value1\n  value2\n     value3"), H("d", "p\r\n\v\fq"), H("e", "\v\f r \f\v"),
	    H("f", "one"), H("f", "  two  three  ") },
	  7,
	  "a:x y z\nb:\"a b c\"\nc:value1 value2 value3\nd:p q\ne:r\nf:one,two three\n",
	  "a;b;c;d;e;f" },
	{ "empty values",
	  { H("x-empty", ""), H("x-space", "   "), H("x-dup", "1"), H("x-dup", "") },
	  4,
	  "x-dup:1,\nx-empty:\nx-space:\n",
	  "x-dup;x-empty;x-space" },
	{ "skip list",
	  { H("User-Agent", "aws-cli"), H("Host", "h"), H("Expect", "100-continue"),
	    H("Transfer-Encoding", "chunked"), H("CONNECTION", "keep-alive"), H("upgrade", "h2c"),
	    H("X-Amzn-Trace-Id", "Root=1"), H("Sec-WebSocket-Key", "k"),
	    H("sec-websocket-protocol", "p"), H("sec-websocket-version", "13"),
	    H("user-agent-x", "kept"), H("x-expect", "kept") },
	  12,
	  "host:h\nuser-agent-x:kept\nx-expect:kept\n",
	  "host;user-agent-x;x-expect" },
	{ "only skipped", { H("User-Agent", "aws-cli"), H("Expect", "100-continue") }, 2, "", "" },
	{ "none", { H("", "") }, 0, "", "" },
	/* Lowercase order: "a_" (0x5F) before "aa"; uppercase order would differ. */
	{ "sort on lowercased names",
	  { H("B", "2"), H("a", "1"), H("AA", "3"), H("A_", "4"), H("a-b", "5"), H("a-", "6"),
	    H("ab", "7") },
	  7,
	  "a:1\na-:6\na-b:5\na_:4\naa:3\nab:7\nb:2\n",
	  "a;a-;a-b;a_;aa;ab;b" },
};

static void canon_headers_sign_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(hsign_cases); i++) {
		const struct hsign_case *c = &hsign_cases[i];
		struct buf canon, list;
		buf_init(&canon, AUTH_MAX_CANONICAL);
		buf_init(&list, AUTH_MAX_CANONICAL);
		int rc = auth_canon_headers_sign(&canon, &list, c->h, c->n);
		if (rc)
			fail_msg("%s: %s", c->name, err_name(rc));
		expect_buf(c->name, &canon, c->canon);
		expect_buf(c->name, &list, c->signed_list);
		buf_free(&canon);
		buf_free(&list);
	}
}

/* Many headers with one name, interleaved with others: values stay in
 * arrival order (qsort alone is not stable). */
static void canon_headers_sign_stable(void **state)
{
	(void)state;
	struct auth_header h[AUTH_MAX_HEADERS];
	char vals[AUTH_MAX_HEADERS][8];
	static const char *const names[] = { "X-Dup", "x-dup", "X-DUP", "x-other", "a" };
	struct buf canon, list, want;
	size_t n = 100;
	for (size_t i = 0; i < n; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%zu", i);
		h[i].name = iov_cstr(names[(i * 7) % N_ELEMS(names)]);
		h[i].value = iov_cstr(vals[i]);
	}
	buf_init(&canon, AUTH_MAX_CANONICAL);
	buf_init(&list, AUTH_MAX_CANONICAL);
	buf_init(&want, AUTH_MAX_CANONICAL);
	assert_int_equal(auth_canon_headers_sign(&canon, &list, h, n), 0);
	/* Expected: a, x-dup, x-other; each with its values in index order. */
	static const char *const groups[] = { "a", "x-dup", "x-other" };
	for (size_t g = 0; g < N_ELEMS(groups); g++) {
		bool first = true;
		assert_int_equal(buf_printf(&want, "%s:", groups[g]), 0);
		for (size_t i = 0; i < n; i++) {
			if (!iov_eq_nocase(h[i].name, iov_cstr(groups[g])))
				continue;
			assert_int_equal(buf_printf(&want, "%s%s", first ? "" : ",", vals[i]), 0);
			first = false;
		}
		assert_int_equal(buf_add_char(&want, '\n'), 0);
	}
	expect_buf("stable", &canon, buf_cstr(&want));
	expect_buf("stable list", &list, "a;x-dup;x-other");
	buf_free(&canon);
	buf_free(&list);
	buf_free(&want);
}

static void canon_headers_sign_cap(void **state)
{
	(void)state;
	struct auth_header h[AUTH_MAX_HEADERS + 2];
	char names[AUTH_MAX_HEADERS + 2][16];
	struct buf canon, list;
	for (size_t i = 0; i < AUTH_MAX_HEADERS + 1; i++) {
		snprintf(names[i], sizeof(names[i]), "x-h%03zu", i);
		h[i] = (struct auth_header){ iov_cstr(names[i]), IOV_LIT("v") };
	}
	buf_init(&canon, AUTH_MAX_CANONICAL);
	buf_init(&list, AUTH_MAX_CANONICAL);
	assert_int_equal(auth_canon_headers_sign(&canon, &list, h, AUTH_MAX_HEADERS), 0);
	/* Skipped headers do not count towards the cap. */
	h[AUTH_MAX_HEADERS] = (struct auth_header){ IOV_LIT("User-Agent"), IOV_LIT("u") };
	buf_reset(&canon);
	buf_reset(&list);
	assert_int_equal(auth_canon_headers_sign(&canon, &list, h, AUTH_MAX_HEADERS + 1), 0);
	h[AUTH_MAX_HEADERS] = (struct auth_header){ IOV_LIT("x-one-more"), IOV_LIT("u") };
	buf_reset(&canon);
	buf_reset(&list);
	assert_int_equal(auth_canon_headers_sign(&canon, &list, h, AUTH_MAX_HEADERS + 1),
	                 ERR_TOO_BIG);
	buf_free(&canon);
	buf_free(&list);
}

static void header_unsignable_cases(void **state)
{
	(void)state;
	assert_true(auth_header_unsignable(IOV_LIT("User-Agent")));
	assert_true(auth_header_unsignable(IOV_LIT("EXPECT")));
	assert_true(auth_header_unsignable(IOV_LIT("transfer-encoding")));
	assert_false(auth_header_unsignable(IOV_LIT("host")));
	assert_false(auth_header_unsignable(IOV_LIT("user-agen")));
	assert_false(auth_header_unsignable(IOV_LIT("x-amz-date")));
	assert_false(auth_header_unsignable(IOV_LIT("")));
}

/* ---- auth_canon_headers_verify -------------------------------------------------------- */

static const struct auth_header verify_headers[] = {
	H("HOST", "example.amazonaws.com"), H("X-Amz-Date", "20150830T123600Z"),
	H("My-Header1", "  value2   a "),   H("User-Agent", "aws-cli"),
	H("my-header1", "value1"),          H("x-empty", ""),
};

static void canon_headers_verify_cases(void **state)
{
	static const struct {
		const char *list;
		const char *canon;
	} cases[] = {
		{ "host;x-amz-date", "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n" },
		{ "x-amz-date;host", "x-amz-date:20150830T123600Z\nhost:example.amazonaws.com\n" },
		{ "my-header1", "my-header1:value2 a,value1\n" },
		{ "user-agent", "user-agent:aws-cli\n" },
		{ "x-empty;host", "x-empty:\nhost:example.amazonaws.com\n" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct buf b;
		buf_init(&b, AUTH_MAX_CANONICAL);
		int rc = auth_canon_headers_verify(&b, iov_cstr(cases[i].list), verify_headers,
		                                   N_ELEMS(verify_headers));
		if (rc)
			fail_msg("'%s': %s", cases[i].list, err_name(rc));
		expect_buf(cases[i].list, &b, cases[i].canon);
		buf_free(&b);
	}
}

static void canon_headers_verify_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"Host",
		"host;X-Amz-Date",
		"a;;b",
		"host;;x-amz-date",
		"host;",
		";host",
		";",
		"host;x-missing",
		"x-missing",
		"ho st",
		"host,x-amz-date",
		"host:x",
		"host; x-amz-date",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct buf b;
		buf_init(&b, AUTH_MAX_CANONICAL);
		int rc = auth_canon_headers_verify(&b, iov_cstr(bad[i]), verify_headers,
		                                   N_ELEMS(verify_headers));
		if (rc != ERR_AUTH_MALFORMED)
			fail_msg("'%s': rc %s", bad[i], err_name(rc));
		buf_free(&b);
	}
}

/* Sign and verify agree on a list the signer produced. */
static void canon_headers_sign_verify_agree(void **state)
{
	(void)state;
	const struct hsign_case *c = &hsign_cases[0];
	struct buf canon, list, again;
	buf_init(&canon, AUTH_MAX_CANONICAL);
	buf_init(&list, AUTH_MAX_CANONICAL);
	buf_init(&again, AUTH_MAX_CANONICAL);
	assert_int_equal(auth_canon_headers_sign(&canon, &list, c->h, c->n), 0);
	assert_int_equal(auth_canon_headers_verify(&again, buf_iov(&list), c->h, c->n), 0);
	assert_true(iov_eq(buf_iov(&canon), buf_iov(&again)));
	buf_free(&canon);
	buf_free(&list);
	buf_free(&again);
}

static void signed_list_has_cases(void **state)
{
	(void)state;
	const struct iov list = IOV_LIT("host;x-amz-date;x-amz-region-set");
	assert_true(auth_signed_list_has(list, IOV_LIT("host")));
	assert_true(auth_signed_list_has(list, IOV_LIT("x-amz-date")));
	assert_true(auth_signed_list_has(list, IOV_LIT("x-amz-region-set")));
	assert_false(auth_signed_list_has(list, IOV_LIT("x-amz")));
	assert_false(auth_signed_list_has(list, IOV_LIT("hos")));
	assert_false(auth_signed_list_has(list, IOV_LIT("x-amz-region-set-2")));
	assert_false(auth_signed_list_has(list, IOV_LIT("x-amz-content-sha256")));
	assert_true(auth_signed_list_has(IOV_LIT("host"), IOV_LIT("host")));
	assert_false(auth_signed_list_has(IOV_LIT("hostx"), IOV_LIT("host")));
}

/* ---- auth_region_set_match ------------------------------------------------------------ */

static void region_set_cases(void **state)
{
	static const struct {
		const char *set, *region;
		bool match;
	} cases[] = {
		{ "*", "us-east-1", true },
		{ "us-*", "us-east-1", true },
		{ "us-*", "eu-west-1", false },
		{ "us-east-1,eu-west-1", "eu-west-1", true },
		{ "us-east-1,eu-west-1", "us-east-1", true },
		{ "us-east-1,eu-west-1", "ap-south-1", false },
		{ "us-east-1, eu-west-1 ", "eu-west-1", true },
		{ " eu-west-1 ", "eu-west-1", true },
		{ "\teu-west-1", "eu-west-1", true },
		{ "*-1", "us-east-1", true },
		{ "*-1", "us-east-2", false },
		{ "us-east-1", "us-east-2", false },
		{ "us-east-1", "us-east-1a", false },
		{ "us-east-1", "us-east-", false },
		{ "", "us-east-1", false },
		{ ",", "us-east-1", false },
		{ " , ", "us-east-1", false },
		{ "us-east-1*", "us-east-1", true },
		{ "us-east-1*", "us-east-10", true },
		{ "us-east-1*", "us-east-2", false },
		{ "US-EAST-1", "us-east-1", false },
		{ "u*-*-1", "us-east-1", true },
		{ "*east*", "us-east-1", true },
		{ "*west*", "us-east-1", false },
		{ "eu-west-1,*", "ap-south-1", true },
		{ "**", "us-east-1", true },
		{ "us-east-?", "us-east-1", false },
		{ "*a*b", "aaab", true },
		{ "*ab", "aab", true },
		{ "a*b*c", "abxbc", true },
		{ "a*b", "a", false },
		{ "a*b", "abba", false },
		{ "us-east-1 eu-west-1", "us-east-1", false },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		bool m = auth_region_set_match(iov_cstr(cases[i].set), iov_cstr(cases[i].region));
		if (m != cases[i].match)
			fail_msg("set '%s' region '%s': got %d", cases[i].set, cases[i].region, m);
	}
	assert_false(auth_region_set_match(IOV_NULL, IOV_LIT("us-east-1")));
}

/* ---- auth_payload_parse --------------------------------------------------------------- */

static void payload_parse_literals(void **state)
{
	static const struct {
		const char *text;
		enum auth_payload mode;
		bool chunked;
	} cases[] = {
		{ "UNSIGNED-PAYLOAD", AUTH_PAYLOAD_UNSIGNED, false },
		{ "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", AUTH_PAYLOAD_STREAMING_HMAC, true },
		{ "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", AUTH_PAYLOAD_STREAMING_HMAC_TRAILER,
		  true },
		{ "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", AUTH_PAYLOAD_STREAMING_ECDSA, true },
		{ "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
		  AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER, true },
		{ "STREAMING-UNSIGNED-PAYLOAD-TRAILER", AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
		  true },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		enum auth_payload mode = AUTH_PAYLOAD_HASH;
		assert_int_equal(auth_payload_parse(iov_cstr(cases[i].text), &mode, NULL), 0);
		assert_int_equal(mode, cases[i].mode);
		assert_string_equal(auth_payload_literal(mode), cases[i].text);
		assert_int_equal(auth_payload_is_chunked(mode), cases[i].chunked);
	}
	assert_null(auth_payload_literal(AUTH_PAYLOAD_HASH));
	assert_false(auth_payload_is_chunked(AUTH_PAYLOAD_HASH));
}

static void payload_parse_hash(void **state)
{
	(void)state;
	enum auth_payload mode = AUTH_PAYLOAD_UNSIGNED;
	uint8_t d[SHA256_LEN];
	static const uint8_t want[SHA256_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	assert_int_equal(auth_payload_parse(IOV_LIT(AUTH_EMPTY_SHA256), &mode, d), 0);
	assert_int_equal(mode, AUTH_PAYLOAD_HASH);
	assert_memory_equal(d, want, SHA256_LEN);
	mode = AUTH_PAYLOAD_UNSIGNED;
	assert_int_equal(auth_payload_parse(IOV_LIT(AUTH_EMPTY_SHA256), &mode, NULL), 0);
	assert_int_equal(mode, AUTH_PAYLOAD_HASH);
}

static void payload_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85E",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",   /* 63 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", /* 65 */
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
		" e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
		"",
		"unsigned-payload",
		"UNSIGNED-PAYLOAD ",
		"UNSIGNED",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		enum auth_payload mode = AUTH_PAYLOAD_UNSIGNED;
		int rc = auth_payload_parse(iov_cstr(bad[i]), &mode, NULL);
		if (rc != ERR_AUTH_CONTENT_SHA256)
			fail_msg("'%s': rc %s", bad[i], err_name(rc));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uri_encode_cases),
		cmocka_unit_test(uri_encode_every_byte),
		cmocka_unit_test(uri_encode_appends_and_caps),
		cmocka_unit_test(uri_decode_cases),
		cmocka_unit_test(uri_decode_rejects),
		cmocka_unit_test(canon_path_cases),
		cmocka_unit_test(canon_path_segment_cap),
		cmocka_unit_test(canon_query_cases),
		cmocka_unit_test(canon_query_extra),
		cmocka_unit_test(canon_query_param_cap),
		cmocka_unit_test(canon_query_rejects),
		cmocka_unit_test(query_next_pieces),
		cmocka_unit_test(canon_headers_sign_cases),
		cmocka_unit_test(canon_headers_sign_stable),
		cmocka_unit_test(canon_headers_sign_cap),
		cmocka_unit_test(header_unsignable_cases),
		cmocka_unit_test(canon_headers_verify_cases),
		cmocka_unit_test(canon_headers_verify_rejects),
		cmocka_unit_test(canon_headers_sign_verify_agree),
		cmocka_unit_test(signed_list_has_cases),
		cmocka_unit_test(region_set_cases),
		cmocka_unit_test(payload_parse_literals),
		cmocka_unit_test(payload_parse_hash),
		cmocka_unit_test(payload_parse_rejects),
	};
	return cmocka_run_group_tests_name("test_canon", tests, NULL, NULL);
}
