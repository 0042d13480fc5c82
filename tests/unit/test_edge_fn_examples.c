/*
 * examples/functions/: the four example edge functions, loaded from their
 * real files into one edgefn program (with the signing bindings bound to
 * test credentials), called with events edge_fn_event_build makes, and read
 * back under CloudFront's rules with edge_fn_result_parse, as the edge does.
 *
 * The SigV4A signer's output is checked with the store's verifier
 * (auth_verify under S3 rules) on the request the origin would receive: the
 * signed header set plus the X-Amz-Cf-Id the edge adds after the function,
 * with no query string. The failover origin's request must come back
 * unsigned and unchanged. The other three are checked by the uri and the
 * headers they produce. Any edit that breaks an example fails here.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/verify.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "edge/fn_event.h"
#include "edge/fn_sign.h"
#include "edgefn/edgefn.h"
#include "edgefn/value.h"

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

#define AKID   "AKIDFNEXAMPLES0001"
#define SECRET "fn-examples-secret-key-0123456789abcdef"
#define REQ_ID "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="

enum example { SIGNER, INDEX_REWRITE, CACHE_CONTROL, SECURITY_HEADERS, NEXAMPLES };

static const char *const example_file[NEXAMPLES] = {
	[SIGNER] = "sigv4a-origin-signer.lua",
	[INDEX_REWRITE] = "index-rewrite.lua",
	[CACHE_CONTROL] = "cache-control.lua",
	[SECURITY_HEADERS] = "security-headers.lua",
};

static int lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (!iov_eq(ak, IOV_LIT(AKID)))
		return ERR_AUTH_UNKNOWN_KEY;
	*out = (struct auth_secret){ IOV_LIT(SECRET), IOV_LIT("") };
	return 0;
}

static const struct auth_creds_ops creds_ops = { "fn-examples-test", lookup };

static const struct edge_fn_sign_creds creds = {
	.creds = { IOV_LIT(AKID), IOV_LIT(SECRET), IOV_LIT("") },
};

struct fx {
	struct arena *a;
	struct edgefn_program *p;
	struct edgefn_state *st;
	int id[NEXAMPLES];
	char err[EDGEFN_ERR_MAX];
};

/* examples/functions/<file>, found from this source file's path. The caller
 * frees the text. */
static char *read_example(const char *file, size_t *len)
{
	const char *self = __FILE__;
	const char *cut = strstr(self, "tests/unit/");
	assert_non_null(cut);
	char path[4096];
	snprintf(path, sizeof(path), "%.*sexamples/functions/%s", (int)(cut - self), self, file);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	size_t cap = 1u << 16;
	char *text = malloc(cap);
	assert_non_null(text);
	*len = fread(text, 1, cap, f);
	assert_true(*len > 0 && *len < cap);
	fclose(f);
	return text;
}

/* One program holding all four files, as an edge config naming them would
 * build it, and one worker's state. */
static int setup(void **state)
{
	static struct fx f;
	f.a = arena_new(4u << 20);
	f.p = edgefn_program_new(NULL);
	if (!f.a || !f.p)
		return -1;
	if (edge_fn_sign_bind(f.p, &creds))
		return -1;
	for (int i = 0; i < NEXAMPLES; i++) {
		size_t len;
		char *src = read_example(example_file[i], &len);
		char name[128];
		snprintf(name, sizeof(name), "examples/functions/%s", example_file[i]);
		int rc = edgefn_program_add(f.p, iov_cstr(name), iov_make(src, len), &f.id[i]);
		free(src);
		if (rc)
			return -1;
	}
	if (edgefn_program_check(f.p, f.err, sizeof(f.err)) ||
	    edgefn_state_new(f.p, &f.st, f.err, sizeof(f.err))) {
		print_error("%s\n", f.err);
		return -1;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	edgefn_state_free(f->st);
	edgefn_program_unref(f->p);
	arena_free(f->a);
	return 0;
}

/* Run example `ex` on the event of `in` and read its result back, as the
 * edge does. Fails the test on any error: the examples must be valid. */
static void run(struct fx *f, enum example ex, const struct edge_fn_input *in,
                struct edge_fn_result *out)
{
	arena_reset(f->a);
	struct edgefn_value ev, ctx = edgefn_table(), res;
	assert_int_equal(edge_fn_event_build(in, f->a, &ev), 0);
	assert_non_null(edgefn_table_set_str(f->a, &ctx, "functionName",
	                                     edgefn_str(iov_cstr(example_file[ex]))));
	assert_non_null(
	    edgefn_table_set_str(f->a, &ctx, "awsRequestId", edgefn_str(in->request_id)));
	struct edgefn_value args[2] = { ev, ctx };
	int rc = edgefn_call(f->st, f->id[ex], args, 2, 0, f->a, &res, f->err, sizeof(f->err));
	if (rc)
		fail_msg("%s: %s: %s", example_file[ex], err_name(rc), f->err);
	rc = edge_fn_result_parse(in, &ev, &res, f->a, out, f->err, sizeof(f->err));
	if (rc)
		fail_msg("%s: result refused: %s: %s", example_file[ex], err_name(rc), f->err);
}

/* The value of the only header `name` (any case) in hs, or IOV_NULL when
 * there is none; two are a failure. */
static struct iov header(const struct http_header *hs, size_t n, const char *name)
{
	struct iov found = IOV_NULL;
	for (size_t i = 0; i < n; i++) {
		if (!iov_eq_nocase(hs[i].name, iov_cstr(name)))
			continue;
		if (found.base)
			fail_msg("header %s appears twice", name);
		found = hs[i].value;
	}
	return found;
}

static void assert_header(const struct http_header *hs, size_t n, const char *name,
                          const char *want)
{
	struct iov v = header(hs, n, name);
	if (!v.base)
		fail_msg("header %s: missing, want \"%s\"", name, want);
	if (!iov_eq(v, iov_cstr(want)))
		fail_msg("header %s: \"%.*s\", want \"%s\"", name, (int)v.len, v.base, want);
}

/* ---- the SigV4A origin signer ---- */

/* What the edge shows an origin-request function: its Host, the viewer's
 * forwarded headers (one of which is a viewer's own Authorization the
 * signer must not pass on), Via and X-Forwarded-For, and the validators of
 * a revalidation. */
static const struct http_header origin_req_h[] = {
	{ IOV_LIT("Host"), IOV_LIT("origin.example.test") },
	{ IOV_LIT("Accept-Encoding"), IOV_LIT("gzip") },
	{ IOV_LIT("User-Agent"), IOV_LIT("curl/8.5.0") },
	{ IOV_LIT("Authorization"), IOV_LIT("Basic dmlld2VyOnNlY3JldA==") },
	{ IOV_LIT("X-Viewer"), IOV_LIT("dropped") },
	{ IOV_LIT("Via"), IOV_LIT("1.1 TST1 (meridian)") },
	{ IOV_LIT("X-Forwarded-For"), IOV_LIT("203.0.113.178") },
	{ IOV_LIT("If-None-Match"), IOV_LIT("\"5d41402abc4b2a76b9719d911017c592\"") },
	{ IOV_LIT("If-Modified-Since"), IOV_LIT("Wed, 18 Nov 2026 10:00:00 GMT") },
};

/* The read-only headers of origin_req_h: sent as they are, so signed. */
static const char *const read_only_sent[] = { "accept-encoding", "via", "if-none-match",
	                                      "if-modified-since" };

static const struct http_header failover_ch[] = {
	{ IOV_LIT("originTypeFailover"), IOV_LIT("true") },
	{ IOV_LIT("X-Backup-Token"), IOV_LIT("b1") },
};

static const struct http_header other_ch[] = {
	{ IOV_LIT("X-Origin-Token"), IOV_LIT("t1") },
};

static struct edge_fn_input origin_request(const struct edge_fn_origin *o)
{
	return (struct edge_fn_input){
		.trigger = EDGE_FN_ORIGIN_REQUEST,
		.distribution_domain = IOV_LIT("d111.edge.example.test"),
		.distribution_id = IOV_LIT("EDFDVBD6EXAMPLE"),
		.request_id = IOV_LIT(REQ_ID),
		.client_ip = IOV_LIT("203.0.113.178"),
		.method = IOV_LIT("GET"),
		.uri = IOV_LIT("/img/logo%20big.png"),
		.query = IOV_LIT("versionId=3HL4kqtJlcpXroDTDmJ&response-content-type=x"),
		.headers = origin_req_h,
		.nheaders = N_ELEMS(origin_req_h),
		.origin = o,
	};
}

/* Verify the request the origin receives: method, path, query, the
 * function's headers plus the X-Amz-Cf-Id the edge adds (`cf_id`, NULL for
 * none). */
static int verify(const struct edge_fn_request *r, const char *path, const char *query,
                  const char *cf_id)
{
	struct auth_header hs[64];
	size_t n = 0;
	assert_true(r->nheaders < N_ELEMS(hs));
	for (size_t i = 0; i < r->nheaders; i++)
		hs[n++] = (struct auth_header){ r->headers[i].name, r->headers[i].value };
	if (cf_id)
		hs[n++] = (struct auth_header){ IOV_LIT("X-Amz-Cf-Id"), iov_cstr(cf_id) };
	struct auth_request req = { IOV_LIT("GET"), iov_cstr(path), iov_cstr(query), hs, n,
		                    IOV_LIT("") };
	struct auth_verifier ver = {
		.creds = &creds_ops,
		.region = IOV_LIT("eu-west-1"),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
	struct auth_verified v;
	auth_verified_init(&v);
	int rc = auth_verify(&ver, &req, clock_now(), &v);
	if (rc == 0) {
		assert_int_equal(v.alg, AUTH_SIGV4A);
		assert_string_equal(v.access_key, AKID);
	}
	auth_verified_free(&v);
	return rc;
}

static void signer_signs_for_the_origin(void **state)
{
	struct fx *f = *state;
	const struct {
		struct edge_fn_origin o;
		const char *host; /* the Host that must be signed and sent */
		const char *path; /* what the origin is asked for: origin path + uri */
	} cases[] = {
		{ { .kind = EDGE_FN_ORIGIN_CUSTOM,
		    .domain_name = IOV_LIT("mfzwi23gnjvgw.mrap.accesspoint.example.test"),
		    .path = IOV_LIT(""),
		    .custom_headers = other_ch,
		    .ncustom_headers = N_ELEMS(other_ch),
		    .port = 443,
		    .https = true,
		    .read_timeout = 30,
		    .keepalive_timeout = 5,
		    .ssl_protocols = EDGE_FN_SSL_TLSV12 },
		  "mfzwi23gnjvgw.mrap.accesspoint.example.test",
		  "/img/logo%20big.png" },
		{ { .kind = EDGE_FN_ORIGIN_CUSTOM,
		    .domain_name = IOV_LIT("127.0.0.1"),
		    .path = IOV_LIT("/mfzwi23gnjvgw.mrap"),
		    .port = 80,
		    .read_timeout = 30,
		    .keepalive_timeout = 5,
		    .ssl_protocols = EDGE_FN_SSL_TLSV12 },
		  "127.0.0.1",
		  "/mfzwi23gnjvgw.mrap/img/logo%20big.png" },
		{ { .kind = EDGE_FN_ORIGIN_CUSTOM,
		    .domain_name = IOV_LIT("router.example.test"),
		    .path = IOV_LIT("/base"),
		    .port = 9100,
		    .read_timeout = 30,
		    .keepalive_timeout = 5,
		    .ssl_protocols = EDGE_FN_SSL_TLSV12 },
		  "router.example.test:9100",
		  "/base/img/logo%20big.png" },
		{ { .kind = EDGE_FN_ORIGIN_S3,
		    .domain_name = IOV_LIT("assets.s3.eu-west-1.example.test"),
		    .path = IOV_LIT(""),
		    .region = IOV_LIT("eu-west-1") },
		  "assets.s3.eu-west-1.example.test",
		  "/img/logo%20big.png" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		print_message("origin %s%s\n", cases[i].host, cases[i].path);
		struct edge_fn_input in = origin_request(&cases[i].o);
		struct edge_fn_result r;
		run(f, SIGNER, &in, &r);
		assert_int_equal(r.action, EDGE_FN_CONTINUE);
		const struct edge_fn_request *q = &r.request;
		assert_false(q->origin_changed);
		assert_false(q->uri_changed);
		/* The query string is dropped: it was not signed. */
		assert_true(q->query_changed);
		assert_int_equal(q->query.len, 0);
		/* The headers are exactly the signed set: the read-only ones as
		 * they came, the signer's, nothing of the viewer's. */
		assert_true(q->headers_changed);
		for (size_t k = 0; k < N_ELEMS(read_only_sent); k++)
			assert_true(iov_eq(header(q->headers, q->nheaders, read_only_sent[k]),
			                   header(in.headers, in.nheaders, read_only_sent[k])));
		assert_header(q->headers, q->nheaders, "host", cases[i].host);
		assert_header(q->headers, q->nheaders, "x-amz-region-set", "*");
		assert_header(q->headers, q->nheaders, "x-amz-content-sha256",
		              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		assert_non_null(header(q->headers, q->nheaders, "x-amz-date").base);
		struct iov auth = header(q->headers, q->nheaders, "authorization");
		assert_true(
		    iov_starts(auth, IOV_LIT("AWS4-ECDSA-P256-SHA256 Credential=" AKID "/")));
		assert_non_null(memmem(auth.base, auth.len, "x-amz-cf-id", 11));
		assert_int_equal(q->nheaders, N_ELEMS(read_only_sent) + 5);
		assert_null(header(q->headers, q->nheaders, "x-amz-cf-id").base);
		assert_null(header(q->headers, q->nheaders, "x-forwarded-for").base);

		/* The store accepts it once the edge has added the request id; not
		 * with another id, without it, or with the query put back. */
		assert_int_equal(verify(q, cases[i].path, "", REQ_ID), 0);
		assert_int_equal(verify(q, cases[i].path, "", "another-request-id"),
		                 ERR_AUTH_MISMATCH);
		assert_int_not_equal(verify(q, cases[i].path, "", NULL), 0);
		assert_int_equal(verify(q, cases[i].path, in.query.base, REQ_ID),
		                 ERR_AUTH_MISMATCH);
		assert_int_equal(verify(q, "/img/other.png", "", REQ_ID), ERR_AUTH_MISMATCH);
	}
}

/* The secondary of an origin group carries originTypeFailover: its request
 * goes on exactly as it came, unsigned, query included. The header is found
 * whatever case the config wrote it in (event names are lowercase). */
static void signer_skips_the_failover_origin(void **state)
{
	struct fx *f = *state;
	static const struct http_header upper_ch[] = {
		{ IOV_LIT("ORIGINTYPEFAILOVER"), IOV_LIT("1") },
	};
	struct edge_fn_origin o = {
		.kind = EDGE_FN_ORIGIN_CUSTOM,
		.domain_name = IOV_LIT("backup.example.test"),
		.path = IOV_LIT(""),
		.custom_headers = failover_ch,
		.ncustom_headers = N_ELEMS(failover_ch),
		.port = 443,
		.https = true,
		.read_timeout = 30,
		.keepalive_timeout = 5,
		.ssl_protocols = EDGE_FN_SSL_TLSV12,
	};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			o.custom_headers = upper_ch;
			o.ncustom_headers = N_ELEMS(upper_ch);
		}
		struct edge_fn_input in = origin_request(&o);
		struct edge_fn_result r;
		run(f, SIGNER, &in, &r);
		assert_int_equal(r.action, EDGE_FN_CONTINUE);
		const struct edge_fn_request *q = &r.request;
		assert_false(q->headers_changed);
		assert_false(q->query_changed);
		assert_false(q->uri_changed);
		assert_false(q->origin_changed);
		assert_true(iov_eq(q->query, in.query));
		assert_int_equal(q->nheaders, in.nheaders);
		assert_header(q->headers, q->nheaders, "host", "origin.example.test");
		assert_header(q->headers, q->nheaders, "authorization",
		              "Basic dmlld2VyOnNlY3JldA==");
		assert_null(header(q->headers, q->nheaders, "x-amz-date").base);
	}
}

/* ---- index-rewrite ---- */

static void index_rewrite_appends_index_html(void **state)
{
	struct fx *f = *state;
	static const struct http_header hs[] = {
		{ IOV_LIT("Host"), IOV_LIT("d111.edge.example.test") },
		{ IOV_LIT("Accept"), IOV_LIT("text/html") },
	};
	const struct {
		const char *uri, *want; /* want NULL: unchanged */
	} cases[] = {
		{ "/", "/index.html" },
		{ "/docs/", "/docs/index.html" },
		{ "/docs", "/docs/index.html" },
		{ "/docs/guide", "/docs/guide/index.html" },
		{ "/v1.2/guide", "/v1.2/guide/index.html" }, /* a dot in an earlier segment */
		{ "/v1.2/", "/v1.2/index.html" },
		{ "/docs/style.css", NULL },
		{ "/index.html", NULL },
		{ "/a/b/.well-known", NULL },
		{ "/archive.tar.gz", NULL },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct edge_fn_input in = {
			.trigger = EDGE_FN_VIEWER_REQUEST,
			.distribution_domain = IOV_LIT("d111.edge.example.test"),
			.distribution_id = IOV_LIT("EDFDVBD6EXAMPLE"),
			.request_id = IOV_LIT(REQ_ID),
			.client_ip = IOV_LIT("203.0.113.178"),
			.method = IOV_LIT("GET"),
			.uri = iov_cstr(cases[i].uri),
			.query = IOV_LIT("lang=en"),
			.headers = hs,
			.nheaders = N_ELEMS(hs),
		};
		struct edge_fn_result r;
		run(f, INDEX_REWRITE, &in, &r);
		assert_int_equal(r.action, EDGE_FN_CONTINUE);
		const char *want = cases[i].want ? cases[i].want : cases[i].uri;
		if (!iov_eq(r.request.uri, iov_cstr(want)))
			fail_msg("%s -> %.*s, want %s", cases[i].uri, (int)r.request.uri.len,
			         r.request.uri.base, want);
		assert_int_equal(r.request.uri_changed, cases[i].want != NULL);
		assert_false(r.request.query_changed);
		assert_true(iov_eq(r.request.query, IOV_LIT("lang=en")));
		assert_false(r.request.headers_changed);
	}
}

/* ---- response triggers ---- */

static const struct http_header resp_req_h[] = {
	{ IOV_LIT("Host"), IOV_LIT("d111.edge.example.test") },
};

static const struct edge_fn_origin plain_origin = {
	.kind = EDGE_FN_ORIGIN_CUSTOM,
	.domain_name = IOV_LIT("origin.example.test"),
	.path = IOV_LIT(""),
	.port = 80,
	.read_timeout = 30,
	.keepalive_timeout = 5,
	.ssl_protocols = EDGE_FN_SSL_TLSV12,
};

static struct edge_fn_input response_input(enum edge_fn_trigger t, int status,
                                           const struct http_header *hs, size_t n)
{
	return (struct edge_fn_input){
		.trigger = t,
		.distribution_domain = IOV_LIT("d111.edge.example.test"),
		.distribution_id = IOV_LIT("EDFDVBD6EXAMPLE"),
		.request_id = IOV_LIT(REQ_ID),
		.client_ip = IOV_LIT("203.0.113.178"),
		.method = IOV_LIT("GET"),
		.uri = IOV_LIT("/site/page.html"),
		.query = IOV_LIT(""),
		.headers = resp_req_h,
		.nheaders = N_ELEMS(resp_req_h),
		.origin = t == EDGE_FN_ORIGIN_RESPONSE ? &plain_origin : NULL,
		.status = status,
		.status_description = IOV_LIT("Whatever"),
		.resp_headers = hs,
		.nresp_headers = n,
	};
}

static void cache_control_by_status(void **state)
{
	struct fx *f = *state;
	static const struct http_header bare[] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/html") },
		{ IOV_LIT("Content-Length"), IOV_LIT("12") },
		{ IOV_LIT("ETag"), IOV_LIT("\"e1\"") },
	};
	static const struct http_header with_cc[] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/html") },
		{ IOV_LIT("Cache-Control"), IOV_LIT("private, max-age=5") },
	};
	const struct {
		int status;
		const struct http_header *hs;
		size_t n;
		const char *want; /* the Cache-Control after; NULL: headers unchanged */
	} cases[] = {
		{ 200, bare, N_ELEMS(bare), "public, max-age=3600" },
		{ 200, with_cc, N_ELEMS(with_cc), NULL },
		{ 206, bare, N_ELEMS(bare), NULL },
		{ 304, bare, N_ELEMS(bare), NULL },
		{ 404, bare, N_ELEMS(bare), NULL },
		{ 500, bare, N_ELEMS(bare), "no-store" },
		{ 503, with_cc, N_ELEMS(with_cc), "no-store" },
		{ 599, bare, N_ELEMS(bare), "no-store" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		print_message("status %d\n", cases[i].status);
		struct edge_fn_input in = response_input(EDGE_FN_ORIGIN_RESPONSE, cases[i].status,
		                                         cases[i].hs, cases[i].n);
		struct edge_fn_result r;
		run(f, CACHE_CONTROL, &in, &r);
		const struct edge_fn_response *p = &r.response;
		assert_int_equal(r.action, EDGE_FN_RESPOND);
		assert_false(p->generated);
		assert_int_equal(p->status, cases[i].status);
		assert_false(p->has_body);
		if (!cases[i].want) {
			assert_false(p->headers_changed);
			assert_int_equal(p->nheaders, cases[i].n);
			continue;
		}
		assert_true(p->headers_changed);
		assert_header(p->headers, p->nheaders, "cache-control", cases[i].want);
		/* The origin's other headers are kept. */
		assert_header(p->headers, p->nheaders, "content-type", "text/html");
		size_t had_cc = header(cases[i].hs, cases[i].n, "cache-control").base ? 1 : 0;
		assert_int_equal(p->nheaders, cases[i].n + 1 - had_cc);
	}
}

static void security_headers_added(void **state)
{
	struct fx *f = *state;
	static const struct http_header hs[] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/html") },
		{ IOV_LIT("X-Frame-Options"), IOV_LIT("SAMEORIGIN") }, /* replaced */
		{ IOV_LIT("ETag"), IOV_LIT("\"e1\"") },
	};
	static const char *const want[][2] = {
		{ "strict-transport-security", "max-age=63072000; includeSubDomains" },
		{ "x-content-type-options", "nosniff" },
		{ "x-frame-options", "DENY" },
		{ "referrer-policy", "strict-origin-when-cross-origin" },
		{ "content-security-policy", "default-src 'self'" },
	};
	static const int statuses[] = { 200, 206, 304 };
	for (size_t s = 0; s < N_ELEMS(statuses); s++) {
		struct edge_fn_input in =
		    response_input(EDGE_FN_VIEWER_RESPONSE, statuses[s], hs, N_ELEMS(hs));
		struct edge_fn_result r;
		run(f, SECURITY_HEADERS, &in, &r);
		const struct edge_fn_response *p = &r.response;
		assert_int_equal(r.action, EDGE_FN_RESPOND);
		assert_int_equal(p->status, statuses[s]);
		assert_true(p->headers_changed);
		assert_false(p->has_body);
		for (size_t i = 0; i < N_ELEMS(want); i++)
			assert_header(p->headers, p->nheaders, want[i][0], want[i][1]);
		assert_header(p->headers, p->nheaders, "content-type", "text/html");
		assert_header(p->headers, p->nheaders, "etag", "\"e1\"");
		assert_int_equal(p->nheaders, N_ELEMS(want) + 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signer_signs_for_the_origin),
		cmocka_unit_test(signer_skips_the_failover_origin),
		cmocka_unit_test(index_rewrite_appends_index_html),
		cmocka_unit_test(cache_control_by_status),
		cmocka_unit_test(security_headers_added),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
