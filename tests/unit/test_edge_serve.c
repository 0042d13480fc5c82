/*
 * edge/serve: answering from a cached entry. The validators kept with an
 * entry, the 304 header merge (RFC 9111 §4.3.4), and a table of what a
 * viewer's conditionals and Range make of a hit.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "edge/fetch.h"
#include "edge/serve.h"

#define LM_TEXT "Wed, 21 Oct 2026 07:28:00 GMT"
#define LM_UNIX INT64_C(1792567680)

static void validators(void **state)
{
	(void)state;
	const struct http_header h[] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/plain") },
		{ IOV_LIT("etag"), IOV_LIT(" \"abc\" ") },
		{ IOV_LIT("Last-Modified"), IOV_LIT(LM_TEXT) },
	};
	struct iov etag;
	int64_t lm;
	edge_serve_validators(h, 3, &etag, &lm);
	assert_true(iov_eq(etag, IOV_LIT("\"abc\"")));
	assert_int_equal(lm, LM_UNIX);
	/* none, or a bad date */
	const struct http_header bad[] = { { IOV_LIT("Last-Modified"), IOV_LIT("yesterday") } };
	edge_serve_validators(bad, 1, &etag, &lm);
	assert_null(etag.base);
	assert_int_equal(lm, -1);
	/* an ETag over the cap is not kept */
	static char big[EDGE_CACHE_ETAG_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	const struct http_header huge[] = { { IOV_LIT("ETag"), iov_cstr(big) } };
	edge_serve_validators(huge, 1, &etag, &lm);
	assert_null(etag.base);
}

static void merge_304(void **state)
{
	(void)state;
	const char *stored = "Content-Type: text/plain\r\nCache-Control: max-age=1\r\n"
	                     "ETag: \"v1\"\r\nX-Keep: yes\r\n";
	const struct http_header h304[] = {
		{ IOV_LIT("cache-control"), IOV_LIT("max-age=60") },
		{ IOV_LIT("Date"), IOV_LIT(LM_TEXT) },       /* never stored */
		{ IOV_LIT("Content-Length"), IOV_LIT("0") }, /* never updated */
		{ IOV_LIT("X-New"), IOV_LIT("2") },
	};
	struct buf out;
	buf_init(&out, EDGE_FETCH_HEADERS_MAX);
	assert_int_equal(edge_serve_merge_304(iov_cstr(stored), h304, 4, &out), 0);
	struct http_header m[16];
	size_t n = 0;
	assert_int_equal(edge_fetch_headers_unpack(buf_iov(&out), m, 16, &n), 0);
	assert_int_equal(n, 5);
	assert_true(iov_eq(m[0].name, IOV_LIT("Content-Type")));
	assert_true(iov_eq(m[1].name, IOV_LIT("ETag")));
	assert_true(iov_eq(m[2].name, IOV_LIT("X-Keep")));
	assert_true(iov_eq(m[3].value, IOV_LIT("max-age=60")));
	assert_true(iov_eq(m[4].name, IOV_LIT("X-New")));
	buf_free(&out);
	/* a damaged stored block */
	buf_init(&out, EDGE_FETCH_HEADERS_MAX);
	assert_int_equal(edge_serve_merge_304(IOV_LIT("no colon\r\n"), h304, 4, &out), ERR_INVALID);
	buf_free(&out);
}

struct plan_case {
	const char *name, *value; /* one viewer header (NULL: none) */
	const char *name2, *value2;
	int stored_status;
	int status;
	uint64_t off, len;
	const char *content_range;
};

static void plan_table(void **state)
{
	(void)state;
	static const struct plan_case cases[] = {
		{ NULL, NULL, NULL, NULL, 200, 200, 0, 100, NULL },
		{ "If-None-Match", "\"e\"", NULL, NULL, 200, 304, 0, 0, NULL },
		{ "If-None-Match", "W/\"e\"", NULL, NULL, 200, 304, 0, 0, NULL },
		{ "If-None-Match", "\"x\", \"e\"", NULL, NULL, 200, 304, 0, 0, NULL },
		{ "If-None-Match", "*", NULL, NULL, 200, 304, 0, 0, NULL },
		{ "If-None-Match", "\"x\"", NULL, NULL, 200, 200, 0, 100, NULL },
		{ "If-Modified-Since", LM_TEXT, NULL, NULL, 200, 304, 0, 0, NULL },
		{ "If-Modified-Since", "Tue, 20 Oct 2026 07:28:00 GMT", NULL, NULL, 200, 200, 0,
		  100, NULL },
		/* If-None-Match decides; If-Modified-Since is then not looked at */
		{ "If-None-Match", "\"x\"", "If-Modified-Since", LM_TEXT, 200, 200, 0, 100, NULL },
		{ "If-Match", "\"x\"", NULL, NULL, 200, 412, 0, 0, NULL },
		{ "If-Match", "\"e\"", NULL, NULL, 200, 200, 0, 100, NULL },
		{ "If-Unmodified-Since", "Tue, 20 Oct 2026 07:28:00 GMT", NULL, NULL, 200, 412, 0,
		  0, NULL },
		{ "Range", "bytes=10-19", NULL, NULL, 200, 206, 10, 10, "bytes 10-19/100" },
		{ "Range", "bytes=90-", NULL, NULL, 200, 206, 90, 10, "bytes 90-99/100" },
		{ "Range", "bytes=-5", NULL, NULL, 200, 206, 95, 5, "bytes 95-99/100" },
		{ "Range", "bytes=0-1000", NULL, NULL, 200, 206, 0, 100, "bytes 0-99/100" },
		{ "Range", "bytes=100-", NULL, NULL, 200, 416, 0, 0, "bytes */100" },
		{ "Range", "bytes=0-1,5-6", NULL, NULL, 200, 200, 0, 100, NULL }, /* several */
		{ "Range", "items=0-1", NULL, NULL, 200, 200, 0, 100, NULL },
		{ "Range", "bytes=0-1", "If-Range", "\"e\"", 200, 206, 0, 2, "bytes 0-1/100" },
		{ "Range", "bytes=0-1", "If-Range", "\"old\"", 200, 200, 0, 100, NULL },
		{ "Range", "bytes=0-1", "If-Range", LM_TEXT, 200, 206, 0, 2, "bytes 0-1/100" },
		{ "Range", "bytes=0-1", "If-Range", "Tue, 20 Oct 2026 07:28:00 GMT", 200, 200, 0,
		  100, NULL },
		/* a conditional that fails beats the Range */
		{ "Range", "bytes=0-1", "If-None-Match", "\"e\"", 200, 304, 0, 0, NULL },
		/* only a stored 200 is subject to them */
		{ "Range", "bytes=0-1", NULL, NULL, 404, 404, 0, 100, NULL },
		{ "If-None-Match", "\"e\"", NULL, NULL, 301, 301, 0, 100, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plan_case *c = &cases[i];
		struct http_header h[2];
		size_t n = 0;
		if (c->name)
			h[n++] = (struct http_header){ iov_cstr(c->name), iov_cstr(c->value) };
		if (c->name2)
			h[n++] = (struct http_header){ iov_cstr(c->name2), iov_cstr(c->value2) };
		struct edge_serve_viewer v;
		edge_serve_viewer_parse(h, n, &v);
		struct edge_cache_meta m = { .status = c->stored_status,
			                     .etag = IOV_LIT("\"e\""),
			                     .last_modified = LM_UNIX };
		struct edge_serve_plan p;
		edge_serve_plan(&v, &m, 100, LM_UNIX + 3600, &p);
		if (p.status != c->status || p.off != c->off || p.len != c->len ||
		    p.content_range != (c->content_range != NULL) ||
		    (c->content_range && strcmp(p.range_value, c->content_range) != 0))
			fail_msg("case %zu (%s: %s): status %d off %llu len %llu range %s", i,
			         c->name ? c->name : "-", c->value ? c->value : "-", p.status,
			         (unsigned long long)p.off, (unsigned long long)p.len,
			         p.content_range ? p.range_value : "-");
	}
}

static void plan_without_validators(void **state)
{
	(void)state;
	/* No Last-Modified: the date conditions are not applied. */
	const struct http_header h[] = { { IOV_LIT("If-Modified-Since"), IOV_LIT(LM_TEXT) } };
	struct edge_serve_viewer v;
	edge_serve_viewer_parse(h, 1, &v);
	struct edge_cache_meta m = { .status = 200, .last_modified = -1 };
	struct edge_serve_plan p;
	edge_serve_plan(&v, &m, 10, LM_UNIX, &p);
	assert_int_equal(p.status, 200);
	/* No ETag: If-Match fails, If-None-Match with a tag does not match. */
	const struct http_header h2[] = { { IOV_LIT("If-Match"), IOV_LIT("\"a\"") } };
	edge_serve_viewer_parse(h2, 1, &v);
	edge_serve_plan(&v, &m, 10, LM_UNIX, &p);
	assert_int_equal(p.status, 412);
	const struct http_header h3[] = { { IOV_LIT("If-None-Match"), IOV_LIT("\"a\"") } };
	edge_serve_viewer_parse(h3, 1, &v);
	edge_serve_plan(&v, &m, 10, LM_UNIX, &p);
	assert_int_equal(p.status, 200);
	/* An empty object: any range is unsatisfiable. */
	const struct http_header h4[] = { { IOV_LIT("Range"), IOV_LIT("bytes=0-") } };
	edge_serve_viewer_parse(h4, 1, &v);
	edge_serve_plan(&v, &m, 0, LM_UNIX, &p);
	assert_int_equal(p.status, 416);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(validators),
		cmocka_unit_test(merge_304),
		cmocka_unit_test(plan_table),
		cmocka_unit_test(plan_without_validators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
