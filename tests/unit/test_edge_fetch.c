/*
 * edge/fetch: the data path's pure helpers. Which viewer headers reach the
 * origin (a cached request only its keyed ones; never the viewer's own
 * signature), which origin headers are stored, the stored header block
 * round-tripping, and the client-ip / X-Forwarded-For values.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "edge/behavior.h"
#include "edge/fetch.h"
#include "net/conn.h"

static void forwarded_headers(void **state)
{
	(void)state;
	/* Never, whatever the method. */
	static const char *const never[] = { "Host",
		                             "authorization",
		                             "X-Amz-Date",
		                             "x-amz-content-sha256",
		                             "X-Amz-Security-Token",
		                             "Via",
		                             "X-Forwarded-For",
		                             "Connection",
		                             "Transfer-Encoding",
		                             "Expect",
		                             "X-Amz-Cf-Id",
		                             "Content-Length" };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_false(edge_fetch_forward_header(iov_cstr(never[i]), false, false));
		assert_false(edge_fetch_forward_header(iov_cstr(never[i]), true, true));
	}
	/* A cached request: only what the key holds (no Range, conditionals). */
	assert_false(edge_fetch_forward_header(IOV_LIT("Range"), true, false));
	assert_false(edge_fetch_forward_header(IOV_LIT("If-None-Match"), true, false));
	assert_true(edge_fetch_forward_header(IOV_LIT("X-Device"), true, true));
	/* Other methods: the rest passes. */
	assert_true(edge_fetch_forward_header(IOV_LIT("Content-Type"), false, false));
	assert_true(edge_fetch_forward_header(IOV_LIT("x-amz-meta-color"), false, false));
}

static void kept_headers(void **state)
{
	(void)state;
	static const char *const drop[] = {
		"Date",      "server", "Age",         "Content-Length", "Transfer-Encoding",
		"X-Cache",   "Via",    "x-amz-cf-id", "X-Request-Id",   "Connection",
		"Keep-Alive"
	};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		assert_false(edge_fetch_keep_header(iov_cstr(drop[i])));
	assert_true(edge_fetch_keep_header(IOV_LIT("ETag")));
	assert_true(edge_fetch_keep_header(IOV_LIT("Cache-Control")));
	assert_true(edge_fetch_keep_header(IOV_LIT("X-Meridian-Region")));
}

static void pack_unpack_round_trip(void **state)
{
	(void)state;
	const struct http_header in[] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/plain") },
		{ IOV_LIT("Date"), IOV_LIT("Thu, 01 Jan 2026 00:00:00 GMT") },
		{ IOV_LIT("ETag"), IOV_LIT("\"abc\"") },
		{ IOV_LIT("X-Empty"), IOV_LIT("") },
		{ IOV_LIT("X-Colon"), IOV_LIT("a: b") },
	};
	struct buf b;
	buf_init(&b, EDGE_FETCH_HEADERS_MAX);
	assert_int_equal(edge_fetch_headers_pack(in, 5, &b), 0);
	struct http_header out[8];
	size_t n = 0;
	assert_int_equal(edge_fetch_headers_unpack(buf_iov(&b), out, 8, &n), 0);
	assert_int_equal(n, 4); /* Date dropped */
	assert_true(iov_eq(out[0].name, IOV_LIT("Content-Type")));
	assert_true(iov_eq(out[0].value, IOV_LIT("text/plain")));
	assert_true(iov_eq(out[1].value, IOV_LIT("\"abc\"")));
	assert_true(iov_eq(out[2].name, IOV_LIT("X-Empty")));
	assert_int_equal(out[2].value.len, 0);
	assert_true(iov_eq(out[3].value, IOV_LIT("a: b")));
	/* Too many for the caller's array; damaged blocks. */
	assert_int_equal(edge_fetch_headers_unpack(buf_iov(&b), out, 3, &n), ERR_INVALID);
	assert_int_equal(edge_fetch_headers_unpack(IOV_LIT("A: b\r"), out, 8, &n), ERR_INVALID);
	assert_int_equal(edge_fetch_headers_unpack(IOV_LIT("Ab\r\n"), out, 8, &n), ERR_INVALID);
	assert_int_equal(edge_fetch_headers_unpack(IOV_LIT(": b\r\n"), out, 8, &n), ERR_INVALID);
	assert_int_equal(edge_fetch_headers_unpack(IOV_LIT(""), out, 8, &n), 0);
	assert_int_equal(n, 0);
	buf_free(&b);
}

static void pack_is_capped(void **state)
{
	(void)state;
	static char big[EDGE_FETCH_HEADERS_MAX];
	memset(big, 'x', sizeof(big));
	const struct http_header in[] = { { IOV_LIT("X-Big"), iov_make(big, sizeof(big) - 8) } };
	struct buf b;
	buf_init(&b, 4 * EDGE_FETCH_HEADERS_MAX);
	assert_int_equal(edge_fetch_headers_pack(in, 1, &b), ERR_TOO_BIG);
	buf_free(&b);
}

static void client_ip_and_xff(void **state)
{
	(void)state;
	assert_true(iov_eq(net_peer_ip(IOV_LIT("10.1.2.3:5555")), IOV_LIT("10.1.2.3")));
	assert_true(iov_eq(net_peer_ip(IOV_LIT("[::1]:80")), IOV_LIT("::1")));
	assert_true(iov_eq(net_peer_ip(IOV_LIT("::1")), IOV_LIT("::1")));
	assert_true(iov_eq(net_peer_ip(IOV_LIT("host")), IOV_LIT("host")));
	struct buf b;
	buf_init(&b, 4 * EDGE_FETCH_XFF_MAX);
	assert_int_equal(edge_fetch_xff(IOV_NULL, IOV_LIT("1.2.3.4"), &b), 0);
	assert_true(iov_eq(buf_iov(&b), IOV_LIT("1.2.3.4")));
	buf_reset(&b);
	assert_int_equal(edge_fetch_xff(IOV_LIT(" 9.9.9.9, 8.8.8.8 "), IOV_LIT("1.2.3.4"), &b), 0);
	assert_true(iov_eq(buf_iov(&b), IOV_LIT("9.9.9.9, 8.8.8.8, 1.2.3.4")));
	buf_reset(&b);
	static char longv[EDGE_FETCH_XFF_MAX];
	memset(longv, '1', sizeof(longv));
	assert_int_equal(edge_fetch_xff(iov_make(longv, sizeof(longv)), IOV_LIT("1.2.3.4"), &b),
	                 ERR_TOO_BIG);
	assert_true(iov_eq(buf_iov(&b), IOV_LIT("1.2.3.4")));
	buf_free(&b);
}

static void query_to_origin(const struct edge_behavior *b, const char *in, const char *want)
{
	struct buf out;
	buf_init(&out, 1 << 16);
	assert_int_equal(edge_fetch_query(b, iov_cstr(in), &out), 0);
	assert_true(iov_eq(buf_iov(&out), iov_cstr(want)));
	buf_free(&out);
}

static void origin_query_is_the_keys(void **state)
{
	(void)state;
	struct edge_behavior b;
	edge_behavior_init(&b);
	query_to_origin(&b, "a=1&b=2", ""); /* none */
	b.qs_mode = EDGE_QS_ALL;
	query_to_origin(&b, "b=2&a=%7e1&&c", "b=2&a=~1&c"); /* order kept, normalised */
	b.qs_mode = EDGE_QS_LISTED;
	b.qs_count = 2;
	memcpy(b.qs_names[0], "v", 2);
	memcpy(b.qs_names[1], "size", 5);
	query_to_origin(&b, "x=1&size=10&v=3&V=4&%73ize=11", "size=10&v=3&size=11");
	b.qs_mode = EDGE_QS_ALL_EXCEPT;
	query_to_origin(&b, "x=1&size=10&v=3&V=4", "x=1&V=4");
	static char longq[EDGE_QUERY_MAX + 2];
	memset(longq, 'a', sizeof(longq) - 1);
	struct buf out;
	buf_init(&out, 1 << 16);
	assert_int_equal(edge_fetch_query(&b, iov_cstr(longq), &out), ERR_EDGE_KEY_TOO_LONG);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forwarded_headers),
		cmocka_unit_test(kept_headers),
		cmocka_unit_test(pack_unpack_round_trip),
		cmocka_unit_test(pack_is_capped),
		cmocka_unit_test(client_ip_and_xff),
		cmocka_unit_test(origin_query_is_the_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
