/*
 * edge/fn_event: the Lambda@Edge event for each trigger, checked field by
 * field; an event's request or response handed back unchanged applies as
 * no change (also through a real Lua function); every CloudFront rule as a
 * table of results with the message each must give; allowed changes
 * (Title-Case keys, origin swaps, base64 bodies, size limits); and the
 * blog's signer, written in Lua, whose output must apply as the signed
 * header set with no query string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "edge/fn_event.h"
#include "edgefn/edgefn.h"
#include "edgefn/json.h"
#include "edgefn/value.h"

#define N_ELEMS(x) (sizeof(x) / sizeof((x)[0]))

static struct arena *A;

static int setup(void **state)
{
	(void)state;
	A = arena_new(16u << 20);
	return A ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	arena_free(A);
	return 0;
}

/* ---- fixtures: one input per trigger ---- */

static const struct http_header req_h[] = {
	{ IOV_LIT("Host"), IOV_LIT("d111.example.test") },
	{ IOV_LIT("User-Agent"), IOV_LIT("curl/8.0") },
	{ IOV_LIT("Accept"), IOV_LIT("text/html") },
	{ IOV_LIT("Connection"), IOV_LIT("keep-alive") }, /* disallowed: hidden */
	{ IOV_LIT("accept"), IOV_LIT("*/*") },
	{ IOV_LIT("Via"), IOV_LIT("1.1 viewer") },
	{ IOV_LIT("X-Amz-Cf-Id"), IOV_LIT("hidden") }, /* disallowed prefix */
	{ IOV_LIT("Accept-Encoding"), IOV_LIT("gzip, br") },
};

static const struct http_header resp_h[] = {
	{ IOV_LIT("Content-Type"), IOV_LIT("text/plain") },
	{ IOV_LIT("Via"), IOV_LIT("1.1 origin") },
	{ IOV_LIT("Warning"), IOV_LIT("110 - \"stale\"") },
	{ IOV_LIT("X-Cache"), IOV_LIT("Miss from meridian") }, /* disallowed */
};

static const struct http_header origin_ch[] = {
	{ IOV_LIT("originTypeFailover"), IOV_LIT("true") },
};

static const struct edge_fn_origin custom_origin = {
	.kind = EDGE_FN_ORIGIN_CUSTOM,
	.domain_name = IOV_LIT("mrap.accesspoint.example.test"),
	.path = IOV_LIT("/base"),
	.custom_headers = origin_ch,
	.ncustom_headers = 1,
	.port = 443,
	.https = true,
	.read_timeout = 30,
	.keepalive_timeout = 5,
	.ssl_protocols = EDGE_FN_SSL_TLSV12 | EDGE_FN_SSL_TLSV11,
};

static const struct edge_fn_origin s3_origin = {
	.kind = EDGE_FN_ORIGIN_S3,
	.domain_name = IOV_LIT("bucket.s3.example.test"),
	.path = IOV_LIT(""),
	.region = IOV_LIT("eu-west-1"),
	.auth_oai = true,
};

static struct edge_fn_input input(enum edge_fn_trigger t)
{
	struct edge_fn_input in = {
		.trigger = t,
		.distribution_domain = IOV_LIT("d111.example.test"),
		.distribution_id = IOV_LIT("EDFDVBD6EXAMPLE"),
		.request_id = IOV_LIT("req-0001"),
		.client_ip = IOV_LIT("203.0.113.178"),
		.method = IOV_LIT("GET"),
		.uri = IOV_LIT("/picture.jpg"),
		.query = IOV_LIT(""),
		.headers = req_h,
		.nheaders = N_ELEMS(req_h),
	};
	if (t == EDGE_FN_ORIGIN_REQUEST || t == EDGE_FN_ORIGIN_RESPONSE)
		in.origin = &custom_origin;
	if (t == EDGE_FN_ORIGIN_RESPONSE || t == EDGE_FN_VIEWER_RESPONSE) {
		in.status = 200;
		in.status_description = IOV_LIT("OK");
		in.resp_headers = resp_h;
		in.nresp_headers = N_ELEMS(resp_h);
	}
	return in;
}

/* ---- tree helpers ---- */

/* Walk "a.b.1.c": numeric segments index sequences. */
static const struct edgefn_value *at(const struct edgefn_value *v, const char *path)
{
	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		char seg[64];
		assert_true(n < sizeof(seg));
		memcpy(seg, path, n);
		seg[n] = '\0';
		char *end;
		long idx = strtol(seg, &end, 10);
		v = (*end == '\0' && n) ? edgefn_table_geti(v, idx)
		                        : edgefn_table_get(v, iov_cstr(seg));
		path += n + (dot ? 1 : 0);
	}
	return v;
}

static void assert_str_at(const struct edgefn_value *v, const char *path, const char *want)
{
	const struct edgefn_value *s = at(v, path);
	if (!s || s->kind != EDGEFN_STR || !iov_eq(s->u.s, iov_cstr(want)))
		fail_msg("%s: want \"%s\"", path, want);
}

static void assert_int_at(const struct edgefn_value *v, const char *path, int64_t want)
{
	const struct edgefn_value *s = at(v, path);
	if (!s || s->kind != EDGEFN_INT || s->u.i != want)
		fail_msg("%s: want %lld", path, (long long)want);
}

static size_t nkeys(const struct edgefn_value *v)
{
	assert_non_null(v);
	assert_int_equal(v->kind, EDGEFN_TABLE);
	return v->u.t.len;
}

static struct edgefn_value event_of(const struct edge_fn_input *in)
{
	struct edgefn_value ev;
	assert_int_equal(edge_fn_event_build(in, A, &ev), 0);
	return ev;
}

static struct edgefn_value json(const char *text)
{
	struct edgefn_value v;
	char err[EDGEFN_ERR_MAX];
	int rc = edgefn_json_decode(iov_cstr(text), A, 32, &v, err, sizeof(err));
	if (rc)
		fail_msg("bad test JSON (%s): %s", err, text);
	return v;
}

static bool has_header(const struct http_header *h, size_t n, const char *name, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (iov_eq(h[i].name, iov_cstr(name)) && iov_eq(h[i].value, iov_cstr(value)))
			return true;
	return false;
}

/* ---- the event, field by field ---- */

static void check_config(const struct edgefn_value *cf, const char *type)
{
	assert_int_equal(nkeys(at(cf, "config")), 4);
	assert_str_at(cf, "config.distributionDomainName", "d111.example.test");
	assert_str_at(cf, "config.distributionId", "EDFDVBD6EXAMPLE");
	assert_str_at(cf, "config.eventType", type);
	assert_str_at(cf, "config.requestId", "req-0001");
}

static void check_request(const struct edgefn_value *cf, bool origin)
{
	assert_int_equal(nkeys(at(cf, "request")), origin ? 6 : 5);
	assert_str_at(cf, "request.clientIp", "203.0.113.178");
	assert_str_at(cf, "request.method", "GET");
	assert_str_at(cf, "request.uri", "/picture.jpg");
	assert_str_at(cf, "request.querystring", "");
	const struct edgefn_value *h = at(cf, "request.headers");
	/* host, user-agent, accept (2 values, both spellings), via, accept-encoding */
	assert_int_equal(nkeys(h), 5);
	assert_true(iov_eq(h->u.t.items[0].key.u.s, IOV_LIT("host"))); /* first seen first */
	assert_str_at(h, "host.1.key", "Host");
	assert_str_at(h, "host.1.value", "d111.example.test");
	assert_int_equal(nkeys(at(h, "accept")), 2);
	assert_str_at(h, "accept.1.key", "Accept");
	assert_str_at(h, "accept.1.value", "text/html");
	assert_str_at(h, "accept.2.key", "accept");
	assert_str_at(h, "accept.2.value", "*/*");
	assert_str_at(h, "accept-encoding.1.key", "Accept-Encoding");
	assert_null(at(h, "connection"));
	assert_null(at(h, "x-amz-cf-id"));
	assert_int_equal(nkeys(at(h, "via.1")), 2);
	if (!origin) {
		assert_null(at(cf, "request.origin"));
		return;
	}
	const struct edgefn_value *o = at(cf, "request.origin");
	assert_int_equal(nkeys(o), 1);
	assert_int_equal(nkeys(at(o, "custom")), 8);
	assert_str_at(o, "custom.domainName", "mrap.accesspoint.example.test");
	assert_int_at(o, "custom.port", 443);
	assert_str_at(o, "custom.protocol", "https");
	assert_str_at(o, "custom.path", "/base");
	assert_int_at(o, "custom.readTimeout", 30);
	assert_int_at(o, "custom.keepaliveTimeout", 5);
	assert_int_equal(nkeys(at(o, "custom.sslProtocols")), 2);
	assert_str_at(o, "custom.sslProtocols.1", "TLSv1.2");
	assert_str_at(o, "custom.sslProtocols.2", "TLSv1.1");
	assert_str_at(o, "custom.customHeaders.origintypefailover.1.key", "originTypeFailover");
	assert_str_at(o, "custom.customHeaders.origintypefailover.1.value", "true");
}

static const struct edgefn_value *cf_of(const struct edgefn_value *ev)
{
	assert_int_equal(nkeys(ev), 1);
	assert_int_equal(nkeys(at(ev, "Records")), 1);
	assert_true(edgefn_table_is_seq(at(ev, "Records")));
	const struct edgefn_value *cf = at(ev, "Records.1.cf");
	assert_non_null(cf);
	return cf;
}

static void event_viewer_request(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_VIEWER_REQUEST);
	in.origin = &custom_origin; /* never shown in a viewer event */
	struct edgefn_value ev = event_of(&in);
	const struct edgefn_value *cf = cf_of(&ev);
	assert_int_equal(nkeys(cf), 2);
	check_config(cf, "viewer-request");
	check_request(cf, false);
	assert_null(at(cf, "response"));
}

static void event_origin_request(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_ORIGIN_REQUEST);
	in.query = IOV_LIT("size=large&v=2");
	struct edgefn_value ev = event_of(&in);
	const struct edgefn_value *cf = cf_of(&ev);
	assert_int_equal(nkeys(cf), 2);
	check_config(cf, "origin-request");
	assert_str_at(cf, "request.querystring", "size=large&v=2");
	in.query = IOV_LIT("");
	ev = event_of(&in);
	check_request(cf_of(&ev), true);
}

static void event_origin_request_s3(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_ORIGIN_REQUEST);
	in.origin = &s3_origin;
	struct edgefn_value ev = event_of(&in);
	const struct edgefn_value *o = at(cf_of(&ev), "request.origin");
	assert_int_equal(nkeys(o), 1);
	assert_int_equal(nkeys(at(o, "s3")), 5);
	assert_str_at(o, "s3.authMethod", "origin-access-identity");
	assert_str_at(o, "s3.domainName", "bucket.s3.example.test");
	assert_str_at(o, "s3.path", "");
	assert_str_at(o, "s3.region", "eu-west-1");
	assert_int_equal(nkeys(at(o, "s3.customHeaders")), 0);
}

static void check_response(const struct edgefn_value *cf)
{
	assert_int_equal(nkeys(at(cf, "response")), 3);
	assert_str_at(cf, "response.status", "200");
	assert_str_at(cf, "response.statusDescription", "OK");
	const struct edgefn_value *h = at(cf, "response.headers");
	assert_int_equal(nkeys(h), 3);
	assert_str_at(h, "content-type.1.key", "Content-Type");
	assert_str_at(h, "via.1.value", "1.1 origin");
	assert_str_at(h, "warning.1.value", "110 - \"stale\"");
	assert_null(at(h, "x-cache"));
}

static void event_origin_response(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_ORIGIN_RESPONSE);
	struct edgefn_value ev = event_of(&in);
	const struct edgefn_value *cf = cf_of(&ev);
	assert_int_equal(nkeys(cf), 3);
	check_config(cf, "origin-response");
	check_request(cf, true);
	check_response(cf);
}

static void event_viewer_response(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_VIEWER_RESPONSE);
	struct edgefn_value ev = event_of(&in);
	const struct edgefn_value *cf = cf_of(&ev);
	assert_int_equal(nkeys(cf), 3);
	check_config(cf, "viewer-response");
	check_request(cf, false);
	check_response(cf);
}

/* ---- round trips: what the event holds applies as no change ---- */

static void assert_visible_request_headers(const struct http_header *h, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < N_ELEMS(req_h); i++) {
		if (edge_fn_header_disallowed(req_h[i].name))
			continue;
		assert_true(k < n);
		assert_true(iov_eq(h[k].name, req_h[i].name) && iov_eq(h[k].value, req_h[i].value));
		k++;
	}
	assert_int_equal(k, n);
}

static void check_round_trip(const struct edge_fn_input *in, const struct edgefn_value *ev,
                             const struct edgefn_value *ret)
{
	struct edge_fn_result r;
	char err[EDGEFN_ERR_MAX];
	int rc = edge_fn_result_parse(in, ev, ret, A, &r, err, sizeof(err));
	if (rc)
		fail_msg("%s: %s", edge_fn_trigger_name(in->trigger), err);
	if (in->trigger == EDGE_FN_VIEWER_REQUEST || in->trigger == EDGE_FN_ORIGIN_REQUEST) {
		assert_int_equal(r.action, EDGE_FN_CONTINUE);
		assert_false(r.request.uri_changed || r.request.query_changed ||
		             r.request.headers_changed || r.request.origin_changed);
		assert_true(iov_eq(r.request.uri, in->uri));
		assert_visible_request_headers(r.request.headers, r.request.nheaders);
		if (in->origin)
			assert_int_equal(r.request.origin.port, in->origin->port);
		return;
	}
	assert_int_equal(r.action, EDGE_FN_RESPOND);
	assert_false(r.response.generated || r.response.headers_changed || r.response.has_body);
	assert_int_equal(r.response.status, 200);
	assert_true(iov_eq(r.response.status_description, IOV_LIT("OK")));
	assert_int_equal(r.response.nheaders, 3); /* X-Cache was never shown */
	assert_true(has_header(r.response.headers, 3, "Via", "1.1 origin"));
}

static void round_trip_each_trigger(void **state)
{
	(void)state;
	for (int t = EDGE_FN_VIEWER_REQUEST; t <= EDGE_FN_VIEWER_RESPONSE; t++) {
		struct edge_fn_input in = input((enum edge_fn_trigger)t);
		in.query = IOV_LIT("a=1&b=2");
		struct edgefn_value ev = event_of(&in);
		bool resp = t == EDGE_FN_ORIGIN_RESPONSE || t == EDGE_FN_VIEWER_RESPONSE;
		const struct edgefn_value *ret =
		    at(&ev, resp ? "Records.1.cf.response" : "Records.1.cf.request");
		check_round_trip(&in, &ev, ret);  /* recognised by address */
		check_round_trip(&in, NULL, ret); /* checked field by field */
	}
	/* An S3 origin handed back unchanged. */
	struct edge_fn_input in = input(EDGE_FN_ORIGIN_REQUEST);
	in.origin = &s3_origin;
	struct edgefn_value ev = event_of(&in);
	struct edge_fn_result r;
	char err[EDGEFN_ERR_MAX];
	assert_int_equal(edge_fn_result_parse(&in, NULL, at(&ev, "Records.1.cf.request"), A, &r,
	                                      err, sizeof(err)),
	                 0);
	assert_false(r.request.origin_changed);
	assert_true(r.request.origin.auth_oai);
}

/* The same through Lua: touched (copied) tables must also apply as no change. */
static struct edgefn_state *lua_state(const char *src, int *id)
{
	struct edgefn_program *p = edgefn_program_new(NULL);
	struct edgefn_state *st;
	char err[EDGEFN_ERR_MAX];
	assert_non_null(p);
	assert_int_equal(edgefn_program_add(p, IOV_LIT("f.lua"), iov_cstr(src), id), 0);
	int rc = edgefn_state_new(p, &st, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	edgefn_program_unref(p);
	return st;
}

static void call(struct edgefn_state *st, int id, const struct edgefn_value *ev,
                 struct edgefn_value *ret)
{
	char err[EDGEFN_ERR_MAX];
	int rc = edgefn_call(st, id, ev, 1, 0, A, ret, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
}

static void round_trip_through_lua(void **state)
{
	(void)state;
	int id;
	struct edgefn_state *st = lua_state("function handler(event)\n"
	                                    "  local cf = event.Records[1].cf\n"
	                                    "  local h = (cf.response or cf.request).headers\n"
	                                    "  for name, list in pairs(h) do for _, kv in "
	                                    "ipairs(list) do local _ = kv.value end end\n"
	                                    "  if cf.response then return cf.response end\n"
	                                    "  return cf.request\n"
	                                    "end\n",
	                                    &id);
	for (int t = EDGE_FN_VIEWER_REQUEST; t <= EDGE_FN_VIEWER_RESPONSE; t++) {
		struct edge_fn_input in = input((enum edge_fn_trigger)t);
		struct edgefn_value ev = event_of(&in), ret;
		call(st, id, &ev, &ret);
		check_round_trip(&in, &ev, &ret);
	}
	edgefn_state_free(st);
}

/* ---- the rules: each result must be refused with its message ---- */

/* $H is replaced by the headers the trigger's event showed, $O by its origin. */
#define H_REQ                                                               \
	"\"host\":[{\"key\":\"Host\",\"value\":\"d111.example.test\"}],"    \
	"\"user-agent\":[{\"key\":\"User-Agent\",\"value\":\"curl/8.0\"}]," \
	"\"accept\":[{\"key\":\"Accept\",\"value\":\"text/"                 \
	"html\"},{\"key\":\"accept\",\"value\":\"*/*\"}],"                  \
	"\"via\":[{\"key\":\"Via\",\"value\":\"1.1 viewer\"}],"             \
	"\"accept-encoding\":[{\"key\":\"Accept-Encoding\",\"value\":\"gzip, br\"}]"
#define H_RESP                                                                    \
	"\"content-type\":[{\"key\":\"Content-Type\",\"value\":\"text/plain\"}]," \
	"\"via\":[{\"key\":\"Via\",\"value\":\"1.1 origin\"}],"                   \
	"\"warning\":[{\"key\":\"Warning\",\"value\":\"110 - \\\"stale\\\"\"}]"
#define CUSTOM(extra)                                                                   \
	"{\"custom\":{\"domainName\":\"other.example.test\",\"port\":443,\"protocol\":" \
	"\"https\"" extra "}}"

enum {
	VR = EDGE_FN_VIEWER_REQUEST,
	OQ = EDGE_FN_ORIGIN_REQUEST,
	OS = EDGE_FN_ORIGIN_RESPONSE,
	VS = EDGE_FN_VIEWER_RESPONSE
};

struct bad {
	int trigger;
	const char *json;
	const char *msg; /* a substring of the message */
};

static const struct bad bad_rows[] = {
	/* the result itself */
	{ VR, "null", "returned nothing" },
	{ VR, "\"/index.html\"", "must return a table" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"extra\":1}", "request.extra: unknown field" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"uri\":\"/b\"}", "request.uri: appears twice" },
	/* read-only fields */
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"method\":\"POST\"}",
	  "request.method: read-only" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"clientIp\":\"10.0.0.1\"}",
	  "request.clientIp: read-only" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"config\":{}}", "request.config: unknown field" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"body\":{\"data\":\"x\"}}", "request.body" },
	/* uri and querystring */
	{ VR, "{\"headers\":{$H}}", "request.uri: missing" },
	{ VR, "{\"uri\":\"a\",\"headers\":{$H}}", "request.uri: must start with '/'" },
	{ VR, "{\"uri\":\"/a b\",\"headers\":{$H}}", "request.uri: has a space" },
	{ VR, "{\"uri\":\"/a#b\",\"headers\":{$H}}", "request.uri: has a space, control, '#'" },
	{ VR, "{\"uri\":\"/a\\u0001\",\"headers\":{$H}}", "request.uri: has a space" },
	{ VR, "{\"uri\":\"/\\u00e9\",\"headers\":{$H}}", "non-ASCII" },
	{ VR, "{\"uri\":\"/a\",\"querystring\":\"a=1#x\",\"headers\":{$H}}",
	  "request.querystring" },
	{ VR, "{\"uri\":\"/a\",\"querystring\":7,\"headers\":{$H}}",
	  "request.querystring: must be a string" },
	{ VR, "{\"uri\":\"/a\"}", "request.headers: missing" },
	/* header map shape */
	{ VR, "{\"uri\":\"/a\",\"headers\":\"host: x\"}", "request.headers: must be a table" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"X-Up\":[{\"value\":\"1\"}]}}",
	  "['X-Up']: the name must be lowercase" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x y\":[{\"value\":\"1\"}]}}",
	  "header name 'x y' has a character" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":{\"value\":\"1\"}}}",
	  "['x-a']: must be a list of {key, value}" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"key\":\"X-A\"}]}}",
	  "['x-a'][1].value: missing" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"key\":\"X-B\",\"value\":\"1\"}]}}",
	  "['x-a'][1].key: must be the name in any case" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"value\":\"1\\r\\nX-Evil: 1\"}]}}",
	  "['x-a'][1].value: has CR, LF, NUL" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"value\":\"1\\n\"}]}}",
	  "['x-a'][1].value: has CR, LF" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"value\":\"1\\u0000\"}]}}",
	  "['x-a'][1].value: has CR, LF, NUL" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-a\":[{\"value\":\"1\"}],\"x-a\":[]}}",
	  "['x-a']: appears twice" },
	/* disallowed headers (adding any gives 502) */
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"connection\":[{\"value\":\"close\"}]}}",
	  "request.headers['connection']: CloudFront does not allow this header" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"x-amz-cf-id\":[{\"value\":\"forged\"}]}}",
	  "['x-amz-cf-id']: CloudFront does not allow" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"x-edge-location\":[{\"value\":\"x\"}]}}",
	  "['x-edge-location']: CloudFront does not allow" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"x-forwarded-proto\":[{\"value\":\"https\"}]}}",
	  "['x-forwarded-proto']: CloudFront" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"proxy-authorization\":[{\"value\":\"x\"}]}}",
	  "['proxy-authorization']: CloudFront" },
	{ OS, "{\"status\":\"200\",\"headers\":{$H,\"x-cache\":[{\"value\":\"Hit\"}]}}",
	  "response.headers['x-cache']: CloudFront does not allow" },
	{ VS, "{\"status\":\"200\",\"headers\":{$H,\"x-amzn-requestid\":[{\"value\":\"1\"}]}}",
	  "['x-amzn-requestid']: CloudFront" },
	/* read-only headers per trigger: changed, added, removed */
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"content-length\":[{\"value\":\"5\"}]}}",
	  "request.headers['content-length']: read-only in this trigger, but it was added" },
	{ VR,
	  "{\"uri\":\"/a\",\"headers\":{\"host\":[{\"value\":\"evil.test\"}],"
	  "\"via\":[{\"value\":\"1.1 viewer\"}]}}",
	  "request.headers['host']: read-only in this trigger, but it was changed" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{\"host\":[{\"value\":\"d111.example.test\"}]}}",
	  "request.headers['via']: read-only in this trigger, but it was removed" },
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H,\"transfer-encoding\":[{\"value\":\"chunked\"}]}}",
	  "['transfer-encoding']: read-only in this trigger, but it was added" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{\"host\":[{\"value\":\"x.test\"}],"
	  "\"via\":[{\"value\":\"1.1 viewer\"}]}}",
	  "request.headers['accept-encoding']: read-only in this trigger, but it was removed" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"if-none-match\":[{\"value\":\"\\\"e\\\"\"}]}}",
	  "['if-none-match']: read-only in this trigger, but it was added" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"if-range\":[{\"value\":\"x\"}]}}",
	  "['if-range']: read-only" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"if-modified-since\":[{\"value\":\"x\"}]}}",
	  "['if-modified-since']: read-only" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"if-unmodified-since\":[{\"value\":\"x\"}]}}",
	  "['if-unmodified-since']: read-only" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H,\"content-length\":[{\"value\":\"0\"}]}}",
	  "['content-length']: read-only" },
	{ OS,
	  "{\"status\":\"200\",\"headers\":{\"content-type\":[{\"value\":\"a\"}],"
	  "\"warning\":[{\"value\":\"1\"}],\"via\":[{\"value\":\"1.1 changed\"}]}}",
	  "response.headers['via']: read-only in this trigger, but it was changed" },
	{ OS, "{\"status\":\"200\",\"headers\":{$H,\"transfer-encoding\":[{\"value\":\"gzip\"}]}}",
	  "response.headers['transfer-encoding']: read-only" },
	{ VS, "{\"status\":\"200\",\"headers\":{\"via\":[{\"value\":\"1.1 origin\"}]}}",
	  "response.headers['warning']: read-only in this trigger, but it was removed" },
	/* origin */
	{ VR, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM("") "}",
	  "request.origin: can only be set in origin-request" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{}}",
	  "request.origin: must hold exactly one of custom or s3" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"a.test\","
	  "\"protocol\":\"https\"},\"s3\":{\"domainName\":\"b.test\"}}}",
	  "exactly one of custom or s3" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"port\":8080") "}",
	  "request.origin.custom.port: appears twice" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"a.test:81\","
	  "\"protocol\":\"http\"}}}",
	  "request.origin.custom.domainName: must be a host name" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"192.0.2.1\","
	  "\"protocol\":\"http\"}}}",
	  "no IP address" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"a.test\","
	  "\"protocol\":\"http\",\"port\":81}}}",
	  "request.origin.custom.port: 81 is not 80, 443 or 1024-65535" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"a.test\","
	  "\"protocol\":\"http\",\"port\":70000}}}",
	  "request.origin.custom.port: 70000 is out of range" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"custom\":{\"domainName\":\"a.test\","
	  "\"protocol\":\"ftp\"}}}",
	  "request.origin.custom.protocol: must be \"http\" or \"https\"" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"readTimeout\":3") "}",
	  "request.origin.custom.readTimeout: 3 is out of range 4-60" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"readTimeout\":61") "}",
	  "readTimeout: 61 is out of range 4-60" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"keepaliveTimeout\":0") "}",
	  "request.origin.custom.keepaliveTimeout: 0 is out of range 1-60" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"keepaliveTimeout\":1.5") "}",
	  "keepaliveTimeout: must be an integer" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"path\":\"/p/\"") "}",
	  "request.origin.custom.path: must start with '/' and not end with '/'" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"path\":\"p\"") "}",
	  "custom.path: must start with '/'" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(
	      ",\"sslProtocols\":[\"TLSv1.3\"]") "}",
	  "request.origin.custom.sslProtocols[1]: must be TLSv1.2" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"sslProtocols\":{}") "}",
	  "sslProtocols: must be a non-empty list" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(",\"timeout\":1") "}",
	  "request.origin.custom.timeout: unknown field" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":" CUSTOM(
	      ",\"customHeaders\":{\"x-real-ip\":[{\"value\":\"1\"}]}") "}",
	  "request.origin.custom.customHeaders['x-real-ip']: CloudFront does not allow" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"s3\":{\"domainName\":\"b.test\","
	  "\"authMethod\":\"iam\"}}}",
	  "request.origin.s3.authMethod: must be" },
	{ OQ,
	  "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"s3\":{\"domainName\":\"b.test\","
	  "\"region\":\"EU WEST\"}}}",
	  "request.origin.s3.region" },
	{ OQ, "{\"uri\":\"/a\",\"headers\":{$H},\"origin\":{\"s3\":{\"region\":\"eu-west-1\"}}}",
	  "request.origin.s3.domainName: missing" },
	/* generated responses */
	{ VR, "{\"status\":\"\"}", "response.status: must be a status code" },
	{ VR, "{\"status\":\"20x\"}", "response.status: must be a status code" },
	{ VR, "{\"status\":\"99\"}", "response.status: must be a status code" },
	{ VR, "{\"status\":true}", "response.status: must be a string" },
	{ OQ, "{\"status\":\"204\",\"body\":\"x\"}", "a 204 response may not have a body" },
	{ VR, "{\"status\":\"200\",\"body\":\"x\",\"bodyEncoding\":\"hex\"}",
	  "response.bodyEncoding: must be \"text\" or \"base64\"" },
	{ VR, "{\"status\":\"200\",\"body\":\"@@@@\",\"bodyEncoding\":\"base64\"}",
	  "response.body: not valid base64" },
	{ VR, "{\"status\":\"200\",\"statusDescription\":\"OK\\r\\nX: y\"}",
	  "response.statusDescription" },
	{ VR, "{\"status\":\"200\",\"headers\":{\"content-length\":[{\"value\":\"1\"}]}}",
	  "response.headers['content-length']: the edge sets framing" },
	{ VR, "{\"status\":\"200\",\"cookies\":{}}", "response.cookies: unknown field" },
	/* response triggers */
	{ VS, "{\"status\":\"404\",\"headers\":{$H}}",
	  "response.status: viewer-response may not change the status" },
	{ VS, "{\"status\":\"200\",\"headers\":{$H},\"body\":\"x\"}",
	  "response.body: viewer-response may not set a body" },
	{ OS, "{\"headers\":{$H}}", "response.status: missing" },
	{ OS, "{\"status\":\"200\"}", "response.headers: missing" },
	{ OS, "{\"status\":\"204\",\"headers\":{$H},\"body\":\"no\"}", "204" },
	{ OS, "{\"uri\":\"/a\",\"headers\":{$H}}", "response.uri: unknown field" },
};

static char *expand(const char *fmt, const char *h)
{
	size_t n = strlen(fmt) + 8 * strlen(h) + 1;
	char *out = arena_alloc(A, n), *w = out;
	assert_non_null(out);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '$' && p[1] == 'H') {
			memcpy(w, h, strlen(h));
			w += strlen(h);
			p++;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return out;
}

static void violations_are_refused_with_their_message(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad_rows); i++) {
		const struct bad *b = &bad_rows[i];
		struct edge_fn_input in = input((enum edge_fn_trigger)b->trigger);
		bool resp = b->trigger == OS || b->trigger == VS;
		struct edgefn_value v = json(expand(b->json, resp ? H_RESP : H_REQ));
		struct edge_fn_result r;
		char err[EDGEFN_ERR_MAX];
		int rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
		if (rc != ERR_EDGE_FN_VIOLATION)
			fail_msg("row %zu (%s): rc %d, want a violation", i, b->json, rc);
		if (!strstr(err, b->msg))
			fail_msg("row %zu: message \"%s\" lacks \"%s\"", i, err, b->msg);
		const char *tn = edge_fn_trigger_name(in.trigger);
		if (strncmp(err, tn, strlen(tn)) != 0)
			fail_msg("row %zu: message \"%s\" does not name the trigger", i, err);
	}
}

/* The URL limit: under 8192 with the '?' counted, over refused. */
static void url_limit(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_VIEWER_REQUEST);
	char *uri = arena_alloc(A, EDGE_FN_URL_MAX);
	assert_non_null(uri);
	for (size_t len = EDGE_FN_URL_MAX - 3; len <= EDGE_FN_URL_MAX - 1; len++) {
		struct edgefn_value v =
		    json("{\"uri\":\"/\",\"querystring\":\"q\",\"headers\":{" H_REQ "}}");
		memset(uri, 'a', len);
		uri[0] = '/';
		struct edgefn_value *u = (struct edgefn_value *)at(&v, "uri");
		*u = edgefn_str(iov_make(uri, len));
		struct edge_fn_result r;
		char err[EDGEFN_ERR_MAX];
		int rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
		/* uri + '?' + "q" */
		if (len + 2 < EDGE_FN_URL_MAX) {
			assert_int_equal(rc, 0);
			assert_true(r.request.uri_changed && r.request.query_changed);
		} else {
			assert_int_equal(rc, ERR_EDGE_FN_VIOLATION);
			assert_non_null(strstr(err, "under 8192"));
		}
	}
}

/* ---- allowed changes ---- */

static void request_changes_apply(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_VIEWER_REQUEST);
	struct edgefn_value v =
	    json("{\"uri\":\"/index.html\",\"querystring\":\"x=1\",\"headers\":{" H_REQ
	         ",\"x-amz-meta-custom-thing\":[{\"value\":\"1\"},{\"key\":"
	         "\"x-AMZ-meta-custom-thing\",\"value\":\"2\"}]},"
	         "\"method\":\"GET\",\"clientIp\":\"203.0.113.178\"}");
	struct edge_fn_result r;
	char err[EDGEFN_ERR_MAX];
	int rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(r.action, EDGE_FN_CONTINUE);
	assert_true(r.request.uri_changed && r.request.query_changed && r.request.headers_changed);
	assert_true(iov_eq(r.request.uri, IOV_LIT("/index.html")));
	assert_true(iov_eq(r.request.query, IOV_LIT("x=1")));
	assert_int_equal(r.request.nheaders, 8);
	assert_true(has_header(r.request.headers, 8, "X-Amz-Meta-Custom-Thing", "1"));
	assert_true(has_header(r.request.headers, 8, "x-AMZ-meta-custom-thing", "2"));
	assert_true(has_header(r.request.headers, 8, "accept", "*/*"));
	assert_true(has_header(r.request.headers, 8, "Host", "d111.example.test"));

	/* origin-request may change Host (it is read-only only for viewers) and
	 * swap the custom origin for an S3 one. */
	in = input(EDGE_FN_ORIGIN_REQUEST);
	v = json(
	    "{\"uri\":\"/picture.jpg\",\"headers\":{"
	    "\"host\":[{\"value\":\"bucket.s3.example.test\"}],"
	    "\"via\":[{\"value\":\"1.1 viewer\"}],"
	    "\"accept-encoding\":[{\"value\":\"gzip, br\"}]},"
	    "\"origin\":{\"s3\":{\"domainName\":\"bucket.s3.example.test\",\"region\":\"eu-west-"
	    "1\","
	    "\"authMethod\":\"none\",\"path\":\"/p\",\"customHeaders\":{\"x-origin\":[{\"value\":"
	    "\"o\"}]}}}}");
	rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_true(r.request.origin_changed);
	assert_int_equal(r.request.origin.kind, EDGE_FN_ORIGIN_S3);
	assert_true(iov_eq(r.request.origin.region, IOV_LIT("eu-west-1")));
	assert_true(iov_eq(r.request.origin.path, IOV_LIT("/p")));
	assert_false(r.request.origin.auth_oai);
	assert_int_equal(r.request.origin.ncustom_headers, 1);
	assert_true(has_header(r.request.origin.custom_headers, 1, "X-Origin", "o"));
	assert_true(
	    has_header(r.request.headers, r.request.nheaders, "Host", "bucket.s3.example.test"));

	/* ... and back to a custom origin, with defaults for what it leaves out. */
	in.origin = &s3_origin;
	v = json("{\"uri\":\"/picture.jpg\",\"headers\":{" H_REQ "},\"origin\":{\"custom\":{"
	         "\"domainName\":\"cdn.example.test\",\"protocol\":\"http\",\"port\":8080,"
	         "\"sslProtocols\":[\"TLSv1\",\"SSLv3\"]}}}");
	rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_true(r.request.origin_changed && !r.request.headers_changed);
	assert_int_equal(r.request.origin.kind, EDGE_FN_ORIGIN_CUSTOM);
	assert_int_equal(r.request.origin.port, 8080);
	assert_false(r.request.origin.https);
	assert_int_equal(r.request.origin.read_timeout, 30);
	assert_int_equal(r.request.origin.keepalive_timeout, 5);
	assert_int_equal(r.request.origin.ssl_protocols, EDGE_FN_SSL_TLSV1 | EDGE_FN_SSL_SSLV3);
	assert_int_equal(r.request.origin.ncustom_headers, 0);
}

static void generated_responses(void **state)
{
	(void)state;
	struct edge_fn_input in = input(EDGE_FN_VIEWER_REQUEST);
	struct edgefn_value v =
	    json("{\"status\":\"302\",\"statusDescription\":\"Found\",\"headers\":{\"location\":[{"
	         "\"value\":\"https://example.test/\"}]}}");
	struct edge_fn_result r;
	char err[EDGEFN_ERR_MAX];
	assert_int_equal(edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err)), 0);
	assert_int_equal(r.action, EDGE_FN_RESPOND);
	assert_true(r.response.generated && !r.response.has_body);
	assert_int_equal(r.response.status, 302);
	assert_true(iov_eq(r.response.status_description, IOV_LIT("Found")));
	assert_true(has_header(r.response.headers, r.response.nheaders, "Location",
	                       "https://example.test/"));

	/* base64 is decoded; an integer status is taken too */
	v = json("{\"status\":200,\"body\":\"aGVsbG8Ad29ybGQ=\",\"bodyEncoding\":\"base64\"}");
	assert_int_equal(edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err)), 0);
	assert_true(r.response.has_body);
	assert_int_equal(r.response.body.len, 11);
	assert_memory_equal(r.response.body.base, "hello\0world", 11);
	assert_int_equal(r.response.nheaders, 0);

	/* 204 with an empty body is fine */
	v = json("{\"status\":\"204\",\"body\":\"\"}");
	assert_int_equal(edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err)), 0);

	/* origin-response may change the status and replace the body */
	in = input(EDGE_FN_ORIGIN_RESPONSE);
	v = json("{\"status\":\"503\",\"statusDescription\":\"Busy\",\"headers\":{" H_RESP
	         "},\"body\":\"try later\"}");
	assert_int_equal(edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err)), 0);
	assert_false(r.response.generated || r.response.headers_changed);
	assert_int_equal(r.response.status, 503);
	assert_true(iov_eq(r.response.body, IOV_LIT("try later")));

	/* viewer-response: the same status, headers changed */
	in = input(EDGE_FN_VIEWER_RESPONSE);
	v = json("{\"status\":\"200\",\"headers\":{" H_RESP
	         ",\"strict-transport-security\":[{\"value\":\"max-age=63072000\"}]}}");
	assert_int_equal(edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err)), 0);
	assert_true(r.response.headers_changed);
	assert_true(iov_eq(r.response.status_description, IOV_LIT("OK")));
	assert_true(has_header(r.response.headers, r.response.nheaders, "Strict-Transport-Security",
	                       "max-age=63072000"));
}

/* 40 KB for viewer triggers, 1 MB for origin triggers (body + headers). */
static void generated_response_limits(void **state)
{
	(void)state;
	static const struct {
		enum edge_fn_trigger t;
		size_t body;
		bool ok;
	} rows[] = {
		{ EDGE_FN_VIEWER_REQUEST, EDGE_FN_VIEWER_RESP_MAX - 64, true },
		{ EDGE_FN_VIEWER_REQUEST, EDGE_FN_VIEWER_RESP_MAX + 1, false },
		{ EDGE_FN_ORIGIN_REQUEST, EDGE_FN_VIEWER_RESP_MAX + 1, true },
		{ EDGE_FN_ORIGIN_REQUEST, EDGE_FN_ORIGIN_RESP_MAX - 64, true },
		{ EDGE_FN_ORIGIN_REQUEST, EDGE_FN_ORIGIN_RESP_MAX + 1, false },
		{ EDGE_FN_ORIGIN_RESPONSE, EDGE_FN_ORIGIN_RESP_MAX + 1, false },
	};
	char *body = arena_alloc(A, EDGE_FN_ORIGIN_RESP_MAX + 1);
	assert_non_null(body);
	memset(body, 'x', EDGE_FN_ORIGIN_RESP_MAX + 1);
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		struct edge_fn_input in = input(rows[i].t);
		struct edgefn_value v =
		    json(rows[i].t == EDGE_FN_ORIGIN_RESPONSE
		             ? "{\"status\":\"200\",\"headers\":{" H_RESP "},\"body\":\"\"}"
		             : "{\"status\":\"200\",\"headers\":{\"content-type\":[{"
		               "\"value\":\"text/plain\"}]},\"body\":\"\"}");
		*(struct edgefn_value *)at(&v, "body") = edgefn_str(iov_make(body, rows[i].body));
		struct edge_fn_result r;
		char err[EDGEFN_ERR_MAX];
		int rc = edge_fn_result_parse(&in, NULL, &v, A, &r, err, sizeof(err));
		if (rows[i].ok) {
			if (rc)
				fail_msg("row %zu: %s", i, err);
			assert_int_equal(r.response.body.len, rows[i].body);
		} else {
			assert_int_equal(rc, ERR_EDGE_FN_VIOLATION);
			assert_non_null(strstr(err, "-byte limit"));
		}
	}
}

/* ---- the blog's signer, in Lua ---- */

static const char signer_src[] =
    "local failover_header = 'originTypeFailover'\n"
    "local ro = { 'accept-encoding', 'content-length', 'if-modified-since', 'if-none-match',\n"
    "             'if-range', 'if-unmodified-since', 'transfer-encoding', 'via' }\n"
    "function handler(event, context)\n"
    "  local cf = event.Records[1].cf\n"
    "  local request = cf.request\n"
    "  local origin_key = next(request.origin)\n"
    "  local custom = request.origin[origin_key].customHeaders\n"
    "  if custom[failover_header:lower()] then return request end\n"
    "  local signed = {\n"
    "    host = {{ key = 'Host', value = request.origin.custom.domainName }},\n"
    "    ['x-amz-date'] = {{ key = 'X-Amz-Date', value = '20261127T090000Z' }},\n"
    "    ['x-amz-region-set'] = {{ key = 'X-Amz-Region-Set', value = '*' }},\n"
    "    ['x-amz-content-sha256'] = {{ key = 'X-Amz-Content-SHA256', value = 'UNSIGNED' }},\n"
    "    authorization = {{ key = 'Authorization',\n"
    "      value = 'AWS4-ECDSA-P256-SHA256 Credential=AKID/20261127/s3/aws4_request, '\n"
    "        .. 'SignedHeaders=host;x-amz-cf-id, Signature=' .. "
    "meridian.sha256_hex(cf.config.requestId) }},\n"
    "  }\n"
    "  for _, name in ipairs(ro) do\n"
    "    local h = request.headers[name]\n"
    "    if h then signed[name] = {{ key = h[1].key, value = h[1].value }} end\n"
    "  end\n"
    "  request.headers = signed\n"
    "  request.querystring = nil\n"
    "  return request\n"
    "end\n";

static void blog_signer_output_applies(void **state)
{
	(void)state;
	int id;
	struct edgefn_state *st = lua_state(signer_src, &id);
	struct edge_fn_input in = input(EDGE_FN_ORIGIN_REQUEST);
	static const struct edge_fn_origin plain = {
		.kind = EDGE_FN_ORIGIN_CUSTOM,
		.domain_name = IOV_LIT("mrap.accesspoint.example.test"),
		.port = 443,
		.https = true,
		.read_timeout = 30,
		.keepalive_timeout = 5,
		.ssl_protocols = EDGE_FN_SSL_TLSV12,
	};
	in.origin = &plain;
	in.query = IOV_LIT("versionId=3");
	struct edgefn_value ev = event_of(&in), ret;
	call(st, id, &ev, &ret);

	struct edge_fn_result r;
	char err[EDGEFN_ERR_MAX];
	int rc = edge_fn_result_parse(&in, NULL, &ret, A, &r, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(r.action, EDGE_FN_CONTINUE);
	assert_true(r.request.headers_changed && r.request.query_changed);
	assert_false(r.request.uri_changed || r.request.origin_changed);
	assert_int_equal(r.request.query.len, 0);
	/* 5 signed headers + the two read-only ones the viewer sent */
	assert_int_equal(r.request.nheaders, 7);
	const struct http_header *h = r.request.headers;
	assert_true(has_header(h, 7, "Host", "mrap.accesspoint.example.test"));
	assert_true(has_header(h, 7, "X-Amz-Region-Set", "*"));
	assert_true(has_header(h, 7, "X-Amz-Date", "20261127T090000Z"));
	assert_true(has_header(h, 7, "X-Amz-Content-SHA256", "UNSIGNED"));
	assert_true(has_header(h, 7, "Accept-Encoding", "gzip, br"));
	assert_true(has_header(h, 7, "Via", "1.1 viewer"));
	assert_false(has_header(h, 7, "User-Agent", "curl/8.0"));

	/* The failover origin (carrying the header) goes through untouched. */
	in.origin = &custom_origin;
	ev = event_of(&in);
	call(st, id, &ev, &ret);
	assert_int_equal(edge_fn_result_parse(&in, NULL, &ret, A, &r, err, sizeof(err)), 0);
	assert_false(r.request.headers_changed || r.request.query_changed ||
	             r.request.origin_changed);
	edgefn_state_free(st);
}

static void header_tables(void **state)
{
	(void)state;
	assert_true(edge_fn_header_disallowed(IOV_LIT("X-AMZ-CF-POP")));
	assert_true(edge_fn_header_disallowed(IOV_LIT("x-edge-anything")));
	assert_true(edge_fn_header_disallowed(IOV_LIT("Keep-Alive")));
	assert_false(edge_fn_header_disallowed(IOV_LIT("X-Amz-Date")));
	assert_false(edge_fn_header_disallowed(IOV_LIT("X-Amzn-Trace-Id")));
	assert_false(edge_fn_header_disallowed(IOV_LIT("Proxy")));
	assert_true(edge_fn_header_read_only(EDGE_FN_VIEWER_REQUEST, IOV_LIT("HOST")));
	assert_false(edge_fn_header_read_only(EDGE_FN_ORIGIN_REQUEST, IOV_LIT("Host")));
	assert_true(edge_fn_header_read_only(EDGE_FN_VIEWER_RESPONSE, IOV_LIT("warning")));
	assert_false(edge_fn_header_read_only(EDGE_FN_ORIGIN_RESPONSE, IOV_LIT("warning")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_viewer_request),
		cmocka_unit_test(event_origin_request),
		cmocka_unit_test(event_origin_request_s3),
		cmocka_unit_test(event_origin_response),
		cmocka_unit_test(event_viewer_response),
		cmocka_unit_test(round_trip_each_trigger),
		cmocka_unit_test(round_trip_through_lua),
		cmocka_unit_test(violations_are_refused_with_their_message),
		cmocka_unit_test(url_limit),
		cmocka_unit_test(request_changes_apply),
		cmocka_unit_test(generated_responses),
		cmocka_unit_test(generated_response_limits),
		cmocka_unit_test(blog_signer_output_applies),
		cmocka_unit_test(header_tables),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
