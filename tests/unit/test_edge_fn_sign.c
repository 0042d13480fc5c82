/*
 * edge/fn_sign: the meridian.sigv4a.sign and meridian.sigv4.sign bindings.
 * Every signature is checked with the store's verifier (auth_verify under S3
 * rules), as test_edge_sign.c does for the built-in signer, and compared with
 * the built-in signer's output for the same request and time. Bad argument
 * tables must be clean errors. Last, the blog's origin-request function,
 * ported to Lua, runs through edgefn and its request is verified.
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
#include "edge/fn_sign.h"
#include "edge/sign.h"
#include "edgefn/edgefn.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define AKID    "AKIDFNSIGNTEST"
#define SECRET  "fn-sign-test-secret-key-0123456789abcdef"
#define AKID_T  "ASIAFNSIGNTOKEN"
#define SECRET2 "fn-sign-temporary-secret-0123456789"
#define TOKEN   "FQoGZXIvYXdzEBYaDtoken+/=="
#define T0      1795000000 /* 2026-11-18 */
#define HOST    "mfzwi23gnjvgw.mrap.accesspoint.example.test"
#define PATH    "/img/logo%20big.png"

static int lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (iov_eq(ak, IOV_LIT(AKID))) {
		*out = (struct auth_secret){ IOV_LIT(SECRET), IOV_LIT("") };
		return 0;
	}
	if (iov_eq(ak, IOV_LIT(AKID_T))) {
		*out = (struct auth_secret){ IOV_LIT(SECRET2), IOV_LIT(TOKEN) };
		return 0;
	}
	return ERR_AUTH_UNKNOWN_KEY;
}

static const struct auth_creds_ops creds_ops = { "fn-sign-test", lookup };

static const struct edge_fn_sign_creds creds = {
	.creds = { IOV_LIT(AKID), IOV_LIT(SECRET), IOV_LIT("") },
};
static const struct edge_fn_sign_creds creds_token = {
	.creds = { IOV_LIT(AKID_T), IOV_LIT(SECRET2), IOV_LIT(TOKEN) },
};

/* ---- building argument tables ---- */

static struct edgefn_value s(const char *str)
{
	return edgefn_str(iov_cstr(str));
}

/* headers[lower] = {{key = key, value = value}} (Lambda@Edge form). */
static void lae(struct arena *a, struct edgefn_value *headers, const char *lower, const char *key,
                const char *value)
{
	struct edgefn_value item = edgefn_table(), list = edgefn_table();
	assert_non_null(edgefn_table_set_str(a, &item, "key", s(key)));
	assert_non_null(edgefn_table_set_str(a, &item, "value", s(value)));
	assert_non_null(edgefn_table_push(a, &list, item));
	assert_non_null(edgefn_table_set_str(a, headers, lower, list));
}

/* The test request's headers, as the built-in signer gets them (Host first). */
static const struct http_header base_headers[] = {
	{ IOV_LIT("Host"), IOV_LIT(HOST) },
	{ IOV_LIT("Accept-Encoding"), IOV_LIT("gzip, br") },
	{ IOV_LIT("If-None-Match"), IOV_LIT("\"abc\"") },
	{ IOV_LIT("Via"), IOV_LIT("1.1 meridian (edge fra)") },
	{ IOV_LIT("X-Amz-Cf-Id"), IOV_LIT("edge-req-0001") },
	{ IOV_LIT("User-Agent"), IOV_LIT("viewer/1.0") },
};

/* The same headers but Host, in Lambda@Edge form. */
static struct edgefn_value lae_headers(struct arena *a)
{
	struct edgefn_value h = edgefn_table();
	for (size_t i = 1; i < N_ELEMS(base_headers); i++) {
		char lower[64];
		iov_copy_lower(lower, base_headers[i].name);
		lower[base_headers[i].name.len] = '\0';
		struct iov l = arena_dup(a, iov_make(lower, strlen(lower)));
		struct edgefn_value item = edgefn_table(), list = edgefn_table();
		edgefn_table_set_str(a, &item, "key", edgefn_str(base_headers[i].name));
		edgefn_table_set_str(a, &item, "value", edgefn_str(base_headers[i].value));
		edgefn_table_push(a, &list, item);
		assert_non_null(edgefn_table_set(a, &h, edgefn_str(l), list));
	}
	return h;
}

/* A field to leave out of, or add to, the base argument table. */
struct field {
	const char *name;
	struct edgefn_value val;
};

/* The base table (method GET, url https://HOST PATH, the Lambda@Edge headers,
 * time T0) minus the field named `skip`, plus `extra` (n of them). A field in
 * extra replaces the base one of the same name. */
static struct edgefn_value args_with(struct arena *a, const char *skip, const struct field *extra,
                                     size_t n)
{
	struct field base[] = {
		{ "method", s("GET") },
		{ "url", s("https://" HOST PATH) },
		{ "headers", lae_headers(a) },
		{ "time", edgefn_int(T0) },
	};
	struct edgefn_value t = edgefn_table();
	for (size_t i = 0; i < N_ELEMS(base); i++) {
		bool drop = skip && strcmp(skip, base[i].name) == 0;
		for (size_t j = 0; j < n; j++)
			drop |= strcmp(extra[j].name, base[i].name) == 0;
		if (!drop)
			assert_non_null(edgefn_table_set_str(a, &t, base[i].name, base[i].val));
	}
	for (size_t j = 0; j < n; j++)
		assert_non_null(edgefn_table_set_str(a, &t, extra[j].name, extra[j].val));
	return t;
}

static struct edgefn_value args_base(struct arena *a)
{
	return args_with(a, NULL, NULL, 0);
}

/* ---- reading results ---- */

/* The single value of result[lower], checking the Lambda@Edge shape. */
static struct iov got(const struct edgefn_value *r, const char *lower)
{
	const struct edgefn_value *list = edgefn_table_get(r, iov_cstr(lower));
	if (!list)
		return IOV_NULL;
	assert_int_equal(list->kind, EDGEFN_TABLE);
	assert_true(edgefn_table_is_seq(list));
	assert_int_equal(list->u.t.len, 1);
	const struct edgefn_value *item = edgefn_table_geti(list, 1);
	const struct edgefn_value *k = edgefn_table_get(item, IOV_LIT("key"));
	const struct edgefn_value *v = edgefn_table_get(item, IOV_LIT("value"));
	assert_non_null(k);
	assert_non_null(v);
	assert_int_equal(k->kind, EDGEFN_STR);
	assert_int_equal(v->kind, EDGEFN_STR);
	assert_true(iov_eq_nocase(k->u.s, iov_cstr(lower)));
	return v->u.s;
}

/* The result's keys must be exactly `want` (lowercase). */
static void assert_keys(const struct edgefn_value *r, const char *const *want, size_t n)
{
	assert_int_equal(r->kind, EDGEFN_TABLE);
	assert_int_equal(r->u.t.len, n);
	for (size_t i = 0; i < n; i++)
		assert_non_null(got(r, want[i]).base);
}

static bool signed_header(const struct edgefn_value *r, const char *lower)
{
	struct iov a = got(r, "authorization");
	const char *p = memmem(a.base, a.len, "SignedHeaders=", 14);
	assert_non_null(p);
	struct iov list = iov_make(p + 14, a.len - (size_t)(p + 14 - a.base)), item;
	iov_split(list, ',', &item);
	struct iov rest = item;
	while (rest.base) {
		struct iov name;
		rest = iov_split(rest, ';', &name);
		if (iov_eq(name, iov_cstr(lower)))
			return true;
	}
	return false;
}

#define MAXH 64

/* The request the origin receives: `hs` (the sent headers, Host excluded,
 * in the http_header form) plus every header of the result. */
static int verify_at(const struct edgefn_value *r, const char *method, const char *path,
                     const char *query, const struct http_header *hs, size_t n, const char *region,
                     int64_t now, struct auth_verified *v)
{
	struct auth_header all[MAXH];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!iov_eq_nocase(hs[i].name, IOV_LIT("Host")))
			all[m++] = (struct auth_header){ hs[i].name, hs[i].value };
	for (size_t i = 0; i < r->u.t.len; i++) {
		const struct edgefn_value *item = edgefn_table_geti(&r->u.t.items[i].val, 1);
		all[m++] = (struct auth_header){ edgefn_table_get(item, IOV_LIT("key"))->u.s,
			                         edgefn_table_get(item, IOV_LIT("value"))->u.s };
	}
	struct auth_request req = { iov_cstr(method), iov_cstr(path), iov_cstr(query), all, m,
		                    IOV_LIT("") };
	struct auth_verifier ver = {
		.creds = &creds_ops,
		.region = iov_cstr(region),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
	auth_verified_init(v);
	int rc = auth_verify(&ver, &req, now, v);
	if (rc)
		print_message("verify %s: %s (%s)\n", region, err_name(rc), v->detail);
	return rc;
}

static int verify_base(const struct edgefn_value *r, const char *region)
{
	struct auth_verified v;
	int rc =
	    verify_at(r, "GET", PATH, "", base_headers, N_ELEMS(base_headers), region, T0 + 5, &v);
	auth_verified_free(&v);
	return rc;
}

struct fx {
	struct arena *a;
	char err[EDGEFN_ERR_MAX];
};

static int setup(void **state)
{
	static struct fx f;
	f.a = arena_new(4u << 20);
	*state = &f;
	return f.a ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	arena_free(f->a);
	return 0;
}

static int call(struct fx *f, edgefn_cfunc fn, const struct edge_fn_sign_creds *c,
                const struct edgefn_value *args, size_t nargs, struct edgefn_value *out)
{
	f->err[0] = '\0';
	*out = edgefn_nil();
	return fn((void *)c, args, nargs, f->a, out, f->err, sizeof(f->err));
}

/* ---- results and signatures ---- */

static void sigv4a_result_shape_and_verification(void **state)
{
	struct fx *f = *state;
	struct edgefn_value args = args_base(f->a), r;
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	static const char *const keys[] = { "host", "x-amz-date", "x-amz-region-set",
		                            "x-amz-content-sha256", "authorization" };
	assert_keys(&r, keys, N_ELEMS(keys));
	assert_true(iov_eq(got(&r, "host"), IOV_LIT(HOST)));
	assert_true(iov_eq(got(&r, "x-amz-date"), IOV_LIT("20261118T110640Z")));
	assert_true(iov_eq(got(&r, "x-amz-region-set"), IOV_LIT("*")));
	assert_true(iov_eq(got(&r, "x-amz-content-sha256"), IOV_LIT(AUTH_EMPTY_SHA256)));
	assert_true(iov_starts(got(&r, "authorization"),
	                       IOV_LIT(AUTH_ALG_SIGV4A " Credential=" AKID "/20261118/s3/")));
	/* Every header given is signed (the read-only ones and the request id
	 * included), the never-sign list excepted. */
	static const char *const must[] = {
		"host",        "accept-encoding", "if-none-match",    "via",
		"x-amz-cf-id", "x-amz-date",      "x-amz-region-set", "x-amz-content-sha256"
	};
	for (size_t i = 0; i < N_ELEMS(must); i++)
		assert_true(signed_header(&r, must[i]));
	assert_false(signed_header(&r, "user-agent"));
	/* Accepted by a store of any region. */
	static const char *const regions[] = { "eu-west-1", "us-east-1", "ap-southeast-2" };
	for (size_t i = 0; i < N_ELEMS(regions); i++)
		assert_int_equal(verify_base(&r, regions[i]), 0);
	/* A changed read-only header or request id is refused. */
	struct http_header hs[N_ELEMS(base_headers)];
	memcpy(hs, base_headers, sizeof(hs));
	hs[4].value = IOV_LIT("edge-req-0002");
	struct auth_verified v;
	assert_int_equal(verify_at(&r, "GET", PATH, "", hs, N_ELEMS(hs), "eu-west-1", T0, &v),
	                 ERR_AUTH_MISMATCH);
	auth_verified_free(&v);
	/* No secret anywhere in the result. */
	for (size_t i = 0; i < r.u.t.len; i++) {
		const struct edgefn_value *item = edgefn_table_geti(&r.u.t.items[i].val, 1);
		struct iov val = edgefn_table_get(item, IOV_LIT("value"))->u.s;
		assert_null(memmem(val.base, val.len, SECRET, strlen(SECRET)));
	}
}

static void sigv4_is_bound_to_its_region_and_query(void **state)
{
	struct fx *f = *state;
	struct field extra[] = {
		{ "url", s("https://" HOST PATH "?versionId=06h1lst1hk001lr3&x-id=GetObject") },
		{ "region", s("us-east-1") },
	};
	struct edgefn_value args = args_with(f->a, NULL, extra, N_ELEMS(extra)), r;
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args, 1, &r), 0);
	static const char *const keys[] = { "host", "x-amz-date", "x-amz-content-sha256",
		                            "authorization" };
	assert_keys(&r, keys, N_ELEMS(keys));
	assert_true(iov_starts(got(&r, "authorization"),
	                       IOV_LIT(AUTH_ALG_SIGV4 " Credential=" AKID "/20261118/us-east-1/"
	                                              "s3/aws4_request")));
	struct auth_verified v;
	const char *q = "versionId=06h1lst1hk001lr3&x-id=GetObject";
	assert_int_equal(
	    verify_at(&r, "GET", PATH, q, base_headers, N_ELEMS(base_headers), "us-east-1", T0, &v),
	    0);
	auth_verified_free(&v);
	assert_int_not_equal(
	    verify_at(&r, "GET", PATH, q, base_headers, N_ELEMS(base_headers), "eu-west-1", T0, &v),
	    0);
	auth_verified_free(&v);
	assert_int_equal(verify_at(&r, "GET", PATH, "versionId=other&x-id=GetObject", base_headers,
	                           N_ELEMS(base_headers), "us-east-1", T0, &v),
	                 ERR_AUTH_MISMATCH);
	auth_verified_free(&v);
	/* SigV4 needs its region: there is no default. */
	struct edgefn_value bare = args_base(f->a);
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &bare, 1, &r), ERR_INVALID);
	assert_non_null(strstr(f->err, "region"));
}

/* The built-in signer's added headers for the base request (plus extra). */
static void builtin(enum edge_sign_mode mode, const char *region, bool body,
                    struct auth_signature *sig)
{
	struct http_header hs[N_ELEMS(base_headers) + 1];
	memcpy(hs, base_headers, sizeof(base_headers));
	size_t n = N_ELEMS(base_headers);
	if (body)
		hs[n++] = (struct http_header){ IOV_LIT("Content-Length"), IOV_LIT("5") };
	struct edge_signer sg = {
		.mode = mode,
		.region = iov_cstr(region),
		.creds = creds.creds,
	};
	struct edge_sign_request req = {
		iov_cstr(body ? "PUT" : "GET"), IOV_LIT(PATH), IOV_LIT(""), hs, n, body
	};
	bool did = false;
	auth_signature_init(sig);
	assert_int_equal(edge_sign(&sg, &req, T0, sig, &did), 0);
	assert_true(did);
}

static struct iov before_signature(struct iov auth)
{
	const char *p = memmem(auth.base, auth.len, "Signature=", 10);
	assert_non_null(p);
	return iov_make(auth.base, (size_t)(p - auth.base));
}

static void same_output_as_the_builtin_signer(void **state)
{
	struct fx *f = *state;
	for (int body = 0; body <= 1; body++) {
		/* Lambda@Edge headers plus, with a body, content-length. */
		struct edgefn_value h = lae_headers(f->a);
		if (body)
			lae(f->a, &h, "content-length", "Content-Length", "5");
		struct field extra[] = { { "headers", h }, { "method", s(body ? "PUT" : "GET") } };
		struct edgefn_value args = args_with(f->a, NULL, extra, N_ELEMS(extra));
		struct field v4extra[] = { { "headers", h },
			                   { "method", s(body ? "PUT" : "GET") },
			                   { "region", s("eu-central-1") } };
		struct edgefn_value args4 = args_with(f->a, NULL, v4extra, N_ELEMS(v4extra));

		/* SigV4 is deterministic: every header is byte for byte the built-in's. */
		struct auth_signature sig;
		struct edgefn_value r;
		builtin(EDGE_SIGN_SIGV4, "eu-central-1", body, &sig);
		assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args4, 1, &r), 0);
		assert_int_equal(r.u.t.len, sig.nadded + 1);
		for (size_t i = 0; i < sig.nadded; i++) {
			char lower[64];
			iov_copy_lower(lower, sig.added[i].name);
			lower[sig.added[i].name.len] = '\0';
			assert_true(iov_eq(got(&r, lower), sig.added[i].value));
		}
		assert_true(
		    iov_eq(got(&r, "x-amz-content-sha256"),
		           body ? IOV_LIT("UNSIGNED-PAYLOAD") : IOV_LIT(AUTH_EMPTY_SHA256)));
		auth_signature_free(&sig);

		/* SigV4A signatures are randomised (ECDSA): all but the signature
		 * bytes are equal, and both verify. */
		builtin(EDGE_SIGN_SIGV4A, "", body, &sig);
		assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
		assert_int_equal(r.u.t.len, sig.nadded + 1);
		for (size_t i = 0; i < sig.nadded; i++) {
			char lower[64];
			iov_copy_lower(lower, sig.added[i].name);
			lower[sig.added[i].name.len] = '\0';
			if (strcmp(lower, "authorization") == 0)
				assert_true(iov_eq(before_signature(got(&r, lower)),
				                   before_signature(sig.added[i].value)));
			else
				assert_true(iov_eq(got(&r, lower), sig.added[i].value));
		}
		auth_signature_free(&sig);
		struct http_header hs[N_ELEMS(base_headers) + 1];
		memcpy(hs, base_headers, sizeof(base_headers));
		size_t n = N_ELEMS(base_headers);
		if (body)
			hs[n++] = (struct http_header){ IOV_LIT("Content-Length"), IOV_LIT("5") };
		struct auth_verified v;
		assert_int_equal(
		    verify_at(&r, body ? "PUT" : "GET", PATH, "", hs, n, "sa-east-1", T0, &v), 0);
		assert_int_equal(v.payload, body ? AUTH_PAYLOAD_UNSIGNED : AUTH_PAYLOAD_HASH);
		auth_verified_free(&v);
	}
}

static void session_token_is_sent_and_signed(void **state)
{
	struct fx *f = *state;
	struct edgefn_value args = args_base(f->a), r;
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds_token, &args, 1, &r), 0);
	assert_true(iov_eq(got(&r, "x-amz-security-token"), IOV_LIT(TOKEN)));
	assert_true(signed_header(&r, "x-amz-security-token"));
	assert_int_equal(verify_base(&r, "us-west-2"), 0);
	assert_null(memmem(got(&r, "authorization").base, got(&r, "authorization").len, SECRET2,
	                   strlen(SECRET2)));
}

static void options_change_what_is_signed(void **state)
{
	struct fx *f = *state;
	struct edgefn_value r, r2;

	/* A region set: accepted in its regions only. */
	struct field set[] = { { "region", s("eu-west-1,us-east-1") } };
	struct edgefn_value args = args_with(f->a, NULL, set, 1);
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	assert_true(iov_eq(got(&r, "x-amz-region-set"), IOV_LIT("eu-west-1,us-east-1")));
	assert_int_equal(verify_base(&r, "us-east-1"), 0);
	assert_int_equal(verify_base(&r, "ap-south-1"), ERR_AUTH_REGION);

	/* signed_headers: only those (and host) are signed. */
	struct edgefn_value only = edgefn_table();
	edgefn_table_push(f->a, &only, s("Accept-Encoding"));
	edgefn_table_push(f->a, &only, s("x-amz-cf-id"));
	edgefn_table_push(f->a, &only, s("if-range")); /* absent: ignored */
	struct field sel[] = { { "signed_headers", only } };
	args = args_with(f->a, NULL, sel, 1);
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	assert_true(signed_header(&r, "host"));
	assert_true(signed_header(&r, "accept-encoding"));
	assert_true(signed_header(&r, "x-amz-cf-id"));
	assert_false(signed_header(&r, "via"));
	assert_false(signed_header(&r, "if-none-match"));
	assert_int_equal(verify_base(&r, "eu-west-1"), 0);
	/* An empty list signs host and the signer's own headers only. */
	struct field none[] = { { "signed_headers", edgefn_table() } };
	args = args_with(f->a, NULL, none, 1);
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	assert_false(signed_header(&r, "accept-encoding"));
	assert_false(signed_header(&r, "x-amz-cf-id"));
	/* The store refuses any x-amz-* header left unsigned, so a request
	 * sent with the request id is refused, one without it accepted. */
	struct auth_verified v;
	assert_int_equal(verify_base(&r, "eu-west-1"), ERR_AUTH_UNSIGNED_HEADER);
	struct http_header no_id[N_ELEMS(base_headers)];
	size_t nid = 0;
	for (size_t i = 0; i < N_ELEMS(base_headers); i++)
		if (!iov_eq(base_headers[i].name, IOV_LIT("X-Amz-Cf-Id")))
			no_id[nid++] = base_headers[i];
	assert_int_equal(verify_at(&r, "GET", PATH, "", no_id, nid, "eu-west-1", T0, &v), 0);
	auth_verified_free(&v);

	/* An explicit payload hash and time. */
	struct field ph[] = { { "payload_hash", s("UNSIGNED-PAYLOAD") },
		              { "time", edgefn_int(T0 + 3600) } };
	args = args_with(f->a, NULL, ph, N_ELEMS(ph));
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	assert_true(iov_eq(got(&r, "x-amz-content-sha256"), IOV_LIT("UNSIGNED-PAYLOAD")));
	assert_true(iov_eq(got(&r, "x-amz-date"), IOV_LIT("20261118T120640Z")));
	assert_int_equal(verify_at(&r, "GET", PATH, "", base_headers, N_ELEMS(base_headers),
	                           "eu-west-1", T0 + 3600, &v),
	                 0);
	auth_verified_free(&v);

	/* Without time: now. */
	args = args_with(f->a, "time", NULL, 0);
	int64_t before = clock_now();
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r), 0);
	int64_t at;
	assert_int_equal(clock_parse_amz(got(&r, "x-amz-date"), &at), 0);
	assert_true(at >= before && at <= clock_now());

	/* Another service: in the scope. */
	struct field svc[] = { { "service", s("execute-api") }, { "region", s("us-east-1") } };
	args = args_with(f->a, NULL, svc, N_ELEMS(svc));
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args, 1, &r), 0);
	assert_non_null(memmem(got(&r, "authorization").base, got(&r, "authorization").len,
	                       "/us-east-1/execute-api/aws4_request", 35));

	/* host + path + query is the same request as url (SigV4: same bytes). */
	struct field url[] = { { "url", s("https://" HOST PATH "?a=1&b=2") },
		               { "region", s("us-east-1") } };
	args = args_with(f->a, NULL, url, N_ELEMS(url));
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args, 1, &r), 0);
	struct field parts[] = { { "host", s(HOST) },
		                 { "path", s(PATH) },
		                 { "query", s("a=1&b=2") },
		                 { "region", s("us-east-1") } };
	struct edgefn_value args2 = args_with(f->a, "url", parts, N_ELEMS(parts));
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args2, 1, &r2), 0);
	assert_true(iov_eq(got(&r, "authorization"), got(&r2, "authorization")));

	/* The host may come from the headers instead, and a given host
	 * replaces a host header (the viewer's). */
	struct edgefn_value h = lae_headers(f->a);
	lae(f->a, &h, "host", "Host", HOST);
	struct field hh[] = { { "path", s(PATH) },
		              { "query", s("a=1&b=2") },
		              { "headers", h },
		              { "region", s("us-east-1") } };
	args2 = args_with(f->a, "url", hh, N_ELEMS(hh));
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args2, 1, &r2), 0);
	assert_true(iov_eq(got(&r, "authorization"), got(&r2, "authorization")));
	h = lae_headers(f->a);
	lae(f->a, &h, "host", "Host", "d111111abcdef8.cloudfront.example");
	struct field hv[] = { { "headers", h }, url[0], url[1] };
	args2 = args_with(f->a, NULL, hv, N_ELEMS(hv));
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &args2, 1, &r2), 0);
	assert_true(iov_eq(got(&r2, "host"), IOV_LIT(HOST)));
	assert_true(iov_eq(got(&r, "authorization"), got(&r2, "authorization")));
}

static void plain_and_lambda_edge_header_forms_agree(void **state)
{
	struct fx *f = *state;
	struct edgefn_value plain = edgefn_table();
	for (size_t i = 1; i < N_ELEMS(base_headers); i++)
		edgefn_table_set(f->a, &plain, edgefn_str(base_headers[i].name),
		                 edgefn_str(base_headers[i].value));
	struct field p[] = { { "headers", plain }, { "region", s("us-east-1") } };
	struct field l[] = { { "region", s("us-east-1") } };
	struct edgefn_value a1 = args_with(f->a, NULL, p, N_ELEMS(p));
	struct edgefn_value a2 = args_with(f->a, NULL, l, N_ELEMS(l));
	struct edgefn_value r1, r2;
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &a1, 1, &r1), 0);
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &a2, 1, &r2), 0);
	assert_true(iov_eq(got(&r1, "authorization"), got(&r2, "authorization")));

	/* Two values of one name are signed joined with ',' in order. */
	struct edgefn_value h = lae_headers(f->a), list = edgefn_table();
	const char *vals[] = { "a", "b" };
	for (size_t i = 0; i < 2; i++) {
		struct edgefn_value item = edgefn_table();
		edgefn_table_set_str(f->a, &item, "key", s("X-Meta"));
		edgefn_table_set_str(f->a, &item, "value", s(vals[i]));
		edgefn_table_push(f->a, &list, item);
	}
	edgefn_table_set_str(f->a, &h, "x-meta", list);
	struct field m[] = { { "headers", h } };
	struct edgefn_value a3 = args_with(f->a, NULL, m, 1);
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, &a3, 1, &r1), 0);
	struct http_header hs[N_ELEMS(base_headers) + 2];
	memcpy(hs, base_headers, sizeof(base_headers));
	hs[N_ELEMS(base_headers)] = (struct http_header){ IOV_LIT("X-Meta"), IOV_LIT("a") };
	hs[N_ELEMS(base_headers) + 1] = (struct http_header){ IOV_LIT("X-Meta"), IOV_LIT("b") };
	struct auth_verified v;
	assert_int_equal(verify_at(&r1, "GET", PATH, "", hs, N_ELEMS(hs), "eu-west-1", T0, &v), 0);
	auth_verified_free(&v);
	hs[N_ELEMS(base_headers) + 1].value = IOV_LIT("c");
	assert_int_equal(verify_at(&r1, "GET", PATH, "", hs, N_ELEMS(hs), "eu-west-1", T0, &v),
	                 ERR_AUTH_MISMATCH);
	auth_verified_free(&v);
}

/* ---- errors ---- */

struct bad {
	const char *what;
	const char *skip; /* base field left out */
	const char *name; /* field added (NULL: none) */
	struct edgefn_value val;
	int rc;
	const char *msg; /* in the message */
};

static struct edgefn_value header_table(struct arena *a, const char *lower, const char *key,
                                        const char *value)
{
	struct edgefn_value h = lae_headers(a);
	lae(a, &h, lower, key, value);
	return h;
}

static struct edgefn_value big_string(struct arena *a, size_t n, const char *prefix)
{
	char *p = arena_alloc(a, n);
	assert_non_null(p);
	memset(p, 'a', n);
	memcpy(p, prefix, strlen(prefix));
	return edgefn_str(iov_make(p, n));
}

static void bad_arguments_are_clean_errors(void **state)
{
	struct fx *f = *state;
	struct arena *a = f->a;
	struct edgefn_value seq = edgefn_table();
	edgefn_table_push(a, &seq, s("x"));
	struct edgefn_value ints = edgefn_table();
	edgefn_table_push(a, &ints, edgefn_int(1));
	struct edgefn_value noval = lae_headers(a), item = edgefn_table(), list = edgefn_table();
	edgefn_table_set_str(a, &item, "key", s("X-A"));
	edgefn_table_push(a, &list, item);
	edgefn_table_set_str(a, &noval, "x-a", list);
	struct edgefn_value twohosts = header_table(a, "host", "Host", HOST);
	lae(a, &twohosts, "host", "Host", HOST); /* two entries "host" */
	struct edgefn_value many = edgefn_table();
	for (int i = 0; i < 200; i++)
		edgefn_table_set(a, &many, edgefn_str(arena_printf(a, "x-h%d", i)), s("v"));
	struct edgefn_value bigval = edgefn_table();
	edgefn_table_set_str(a, &bigval, "x-big", big_string(a, 40000, ""));

	const struct bad cases[] = {
		{ "no method", "method", NULL, { 0 }, ERR_INVALID, "'method'" },
		{ "method type", NULL, "method", edgefn_int(1), ERR_INVALID, "'method'" },
		{ "method token", NULL, "method", s("GE T"), ERR_INVALID, "'method'" },
		{ "unknown field", NULL, "regoin", s("x"), ERR_INVALID, "regoin" },
		{ "no url nor path", "url", NULL, { 0 }, ERR_INVALID, "'path'" },
		{ "scheme", NULL, "url", s("ftp://" HOST "/"), ERR_INVALID, "'url'" },
		{ "url space", NULL, "url", s("https://" HOST "/a b"), ERR_INVALID, "'url'" },
		{ "url fragment", NULL, "url", s("https://" HOST "/a#b"), ERR_INVALID, "'url'" },
		{ "url userinfo", NULL, "url", s("https://u@" HOST "/a"), ERR_INVALID, "'url'" },
		{ "url no host", NULL, "url", s("https:///a"), ERR_INVALID, "'url'" },
		{ "url and host", NULL, "host", s(HOST), ERR_INVALID, "either" },
		{ "url newline", NULL, "url", s("https://" HOST "/a\r\nX: y"), ERR_INVALID,
		  "'url'" },
		/* fuzz_edge_fn_sign: strchr() matches the NUL, so a NUL passed the host check */
		{ "url host nul", NULL, "url", edgefn_str(iov_make("https://a\0b/x", 13)),
		  ERR_INVALID, "'url'" },
		{ "url too long", NULL, "url", big_string(a, 9000, "https://h/"), ERR_TOO_BIG,
		  "'url'" },
		{ "headers type", NULL, "headers", s("host: x"), ERR_INVALID, "'headers'" },
		{ "headers list", NULL, "headers", seq, ERR_INVALID, "'headers'" },
		{ "header no value", NULL, "headers", noval, ERR_INVALID, "'value'" },
		{ "header crlf", NULL, "headers", header_table(a, "x-a", "X-A", "v\r\nX-B: 1"),
		  ERR_INVALID, "control" },
		{ "header key case", NULL, "headers", header_table(a, "x-a", "X-B", "v"),
		  ERR_INVALID, "'key'" },
		{ "header name", NULL, "headers", header_table(a, "x a", "x a", "v"), ERR_INVALID,
		  "names" },
		{ "owned date", NULL, "headers", header_table(a, "x-amz-date", "X-Amz-Date", "x"),
		  ERR_INVALID, "x-amz-date" },
		{ "owned authorization", NULL, "headers",
		  header_table(a, "authorization", "Authorization", "AWS4-HMAC-SHA256 x"),
		  ERR_INVALID, "authorization" },
		{ "owned token", NULL, "headers",
		  header_table(a, "x-amz-security-token", "X-Amz-Security-Token", "t"), ERR_INVALID,
		  "x-amz-security-token" },
		{ "too many headers", NULL, "headers", many, ERR_TOO_BIG, "'headers'" },
		{ "header too big", NULL, "headers", bigval, ERR_TOO_BIG, "'headers'" },
		{ "region type", NULL, "region", edgefn_int(1), ERR_INVALID, "'region'" },
		{ "region chars", NULL, "region", s("EU WEST"), ERR_INVALID, "'region'" },
		{ "region empty", NULL, "region", s(""), ERR_INVALID, "'region'" },
		{ "service chars", NULL, "service", s("s3/x"), ERR_INVALID, "'service'" },
		{ "payload", NULL, "payload_hash", s("abc"), ERR_INVALID, "'payload_hash'" },
		{ "payload upper", NULL, "payload_hash",
		  s("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
		  ERR_INVALID, "'payload_hash'" },
		{ "time type", NULL, "time", s("now"), ERR_INVALID, "'time'" },
		{ "time float", NULL, "time", edgefn_num(1.5), ERR_INVALID, "'time'" },
		{ "time negative", NULL, "time", edgefn_int(-1), ERR_INVALID, "'time'" },
		{ "time huge", NULL, "time", edgefn_int(INT64_MAX), ERR_INVALID, "'time'" },
		{ "signed_headers type", NULL, "signed_headers", s("host"), ERR_INVALID,
		  "'signed_headers'" },
		{ "signed_headers ints", NULL, "signed_headers", ints, ERR_INVALID,
		  "'signed_headers'" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const struct bad *c = &cases[i];
		struct field extra = { c->name, c->val };
		struct edgefn_value args = args_with(a, c->skip, &extra, c->name ? 1 : 0), r;
		int rc = call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r);
		if (rc != c->rc || !strstr(f->err, c->msg))
			print_error("case '%s': %s: %s\n", c->what, err_name(rc), f->err);
		assert_int_equal(rc, c->rc);
		assert_non_null(strstr(f->err, c->msg));
		assert_null(strstr(f->err, SECRET));
		assert_int_equal(r.kind, EDGEFN_NIL);
	}

	/* Path form: a path must start with '/', a query has no '?'. */
	struct field p1[] = { { "host", s(HOST) }, { "path", s("img.png") } };
	struct field p2[] = { { "host", s(HOST) }, { "path", s("/a") }, { "query", s("?a=1") } };
	struct field p3[] = { { "host", s("a b") }, { "path", s("/a") } };
	struct field p4[] = { { "path", s("/a?b") } };
	struct field p5[] = { { "path", s("/a") } }; /* no host anywhere */
	struct field p7[] = { { "host", edgefn_str(iov_make("a\0b", 3)) }, { "path", s("/a") } };
	struct field p6[] = { { "path", s("/a") }, { "headers", twohosts } };
	const struct {
		const struct field *f;
		size_t n;
		const char *msg;
	} pcases[] = {
		{ p1, N_ELEMS(p1), "'path'" },  { p2, N_ELEMS(p2), "'query'" },
		{ p3, N_ELEMS(p3), "'host'" },  { p4, N_ELEMS(p4), "'path'" },
		{ p5, N_ELEMS(p5), "no host" }, { p6, N_ELEMS(p6), "more than one" },
		{ p7, N_ELEMS(p7), "'host'" },
	};
	for (size_t i = 0; i < N_ELEMS(pcases); i++) {
		struct edgefn_value args = args_with(a, "url", pcases[i].f, pcases[i].n), r;
		int rc = call(f, edge_fn_sign_sigv4a, &creds, &args, 1, &r);
		if (rc != ERR_INVALID || !strstr(f->err, pcases[i].msg))
			print_error("path case %zu: %s: %s\n", i, err_name(rc), f->err);
		assert_int_equal(rc, ERR_INVALID);
		assert_non_null(strstr(f->err, pcases[i].msg));
	}

	/* Argument count and type, and an edge without credentials. */
	struct edgefn_value args = args_base(a), r, two[2] = { args, args };
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, NULL, 0, &r), ERR_INVALID);
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &creds, two, 2, &r), ERR_INVALID);
	struct edgefn_value str = s("GET");
	assert_int_equal(call(f, edge_fn_sign_sigv4, &creds, &str, 1, &r), ERR_INVALID);
	assert_non_null(strstr(f->err, "table"));
	const struct edge_fn_sign_creds empty = { 0 };
	assert_int_equal(call(f, edge_fn_sign_sigv4a, &empty, &args, 1, &r), ERR_INVALID);
	assert_non_null(strstr(f->err, "credentials"));
	assert_int_equal(call(f, edge_fn_sign_sigv4a, NULL, &args, 1, &r), ERR_INVALID);

	/* A full scratch arena is ERR_NOMEM, not a crash. */
	for (size_t cap = 64; cap <= 8192; cap *= 2) {
		struct arena *small = arena_new(cap);
		assert_non_null(small);
		int rc = edge_fn_sign_sigv4a((void *)&creds, &args, 1, small, &r, f->err,
		                             sizeof(f->err));
		assert_true(rc == 0 || rc == ERR_NOMEM);
		arena_free(small);
	}
}

/* ---- end to end through edgefn ---- */

/* The blog's origin-request function (lambda/lambda_function.py), ported. */
static const char blog_signer[] =
    "local READ_ONLY = { 'accept-encoding', 'content-length', 'if-modified-since',\n"
    "  'if-none-match', 'if-range', 'if-unmodified-since', 'transfer-encoding', 'via' }\n"
    "local FAILOVER = 'originTypeFailover'\n"
    "function handler(event, context)\n"
    "  local cf = event.Records[1].cf\n"
    "  local request = cf.request\n"
    "  local _, origin = next(request.origin)\n"
    "  for name in pairs(origin.customHeaders or {}) do\n"
    "    if name:lower() == FAILOVER:lower() then return request end\n"
    "  end\n"
    "  local headers = {}\n"
    "  for _, name in ipairs(READ_ONLY) do headers[name] = request.headers[name] end\n"
    "  headers['x-amz-cf-id'] = {{ key = 'X-Amz-Cf-Id', value = cf.config.requestId }}\n"
    "  local signed = meridian.sigv4a.sign{\n"
    "    method = request.method,\n"
    "    url = 'https://' .. origin.domainName .. request.uri,\n"
    "    headers = headers,\n"
    "  }\n"
    "  for k, v in pairs(signed) do headers[k] = v end\n"
    "  headers['x-amz-cf-id'] = nil\n"
    "  request.headers = headers\n"
    "  request.querystring = ''\n"
    "  return request\n"
    "end\n";

#define REQ_ID "7pyLgC7Hq4K0d3f9iK4E6Ihv2ZoJ7m1uDXNfGJ3Xf4l0aI3d9bPZsg=="

static struct edgefn_value event(struct arena *a, bool failover)
{
	struct edgefn_value config = edgefn_table(), request = edgefn_table(),
	                    headers = edgefn_table(), custom = edgefn_table(),
	                    origin = edgefn_table(), ch = edgefn_table(), cf = edgefn_table(),
	                    rec = edgefn_table(), recs = edgefn_table(), ev = edgefn_table();
	edgefn_table_set_str(a, &config, "distributionDomainName", s("d111111abcdef8.example"));
	edgefn_table_set_str(a, &config, "distributionId", s("EDFDVBD6EXAMPLE"));
	edgefn_table_set_str(a, &config, "eventType", s("origin-request"));
	edgefn_table_set_str(a, &config, "requestId", s(REQ_ID));
	lae(a, &headers, "host", "Host", "d111111abcdef8.example");
	lae(a, &headers, "accept-encoding", "Accept-Encoding", "gzip");
	lae(a, &headers, "if-none-match", "If-None-Match", "\"abc\"");
	lae(a, &headers, "user-agent", "User-Agent", "curl/8.5.0");
	lae(a, &headers, "x-viewer", "X-Viewer", "dropped");
	if (failover)
		lae(a, &ch, "origintypefailover", "originTypeFailover", "true");
	edgefn_table_set_str(a, &custom, "customHeaders", ch);
	edgefn_table_set_str(a, &custom, "domainName", s(HOST));
	edgefn_table_set_str(a, &custom, "path", s(""));
	edgefn_table_set_str(a, &custom, "port", edgefn_int(443));
	edgefn_table_set_str(a, &custom, "protocol", s("https"));
	edgefn_table_set_str(a, &origin, "custom", custom);
	edgefn_table_set_str(a, &request, "clientIp", s("203.0.113.178"));
	edgefn_table_set_str(a, &request, "headers", headers);
	edgefn_table_set_str(a, &request, "method", s("GET"));
	edgefn_table_set_str(a, &request, "origin", origin);
	edgefn_table_set_str(a, &request, "querystring", s("response-content-type=x"));
	edgefn_table_set_str(a, &request, "uri", s(PATH));
	edgefn_table_set_str(a, &cf, "config", config);
	edgefn_table_set_str(a, &cf, "request", request);
	edgefn_table_set_str(a, &rec, "cf", cf);
	edgefn_table_push(a, &recs, rec);
	edgefn_table_set_str(a, &ev, "Records", recs);
	return ev;
}

struct lua_fx {
	struct edgefn_program *p;
	struct edgefn_state *st;
	int id;
};

static void lua_fx_new(struct fx *f, struct lua_fx *l, const char *src)
{
	l->p = edgefn_program_new(NULL);
	assert_non_null(l->p);
	assert_int_equal(edge_fn_sign_bind(l->p, &creds), 0);
	assert_int_equal(edge_fn_sign_bind(l->p, &creds), ERR_INVALID); /* bound once */
	assert_int_equal(edgefn_state_new(l->p, &l->st, f->err, sizeof(f->err)), 0);
	int rc =
	    edgefn_load(l->st, IOV_LIT("sign.lua"), iov_cstr(src), &l->id, f->err, sizeof(f->err));
	if (rc)
		print_error("%s\n", f->err);
	assert_int_equal(rc, 0);
}

static void lua_fx_free(struct lua_fx *l)
{
	edgefn_state_free(l->st);
	edgefn_program_unref(l->p);
}

static void blog_function_through_edgefn(void **state)
{
	struct fx *f = *state;
	struct lua_fx l;
	lua_fx_new(f, &l, blog_signer);
	for (int failover = 0; failover <= 1; failover++) {
		struct edgefn_value ev = event(f->a, failover), ctx = edgefn_table(), res;
		struct edgefn_value args[2] = { ev, ctx };
		int rc = edgefn_call(l.st, l.id, args, 2, 0, f->a, &res, f->err, sizeof(f->err));
		if (rc)
			print_error("%s: %s\n", err_name(rc), f->err);
		assert_int_equal(rc, 0);
		assert_int_equal(res.kind, EDGEFN_TABLE);
		const struct edgefn_value *h = edgefn_table_get(&res, IOV_LIT("headers"));
		const struct edgefn_value *qs = edgefn_table_get(&res, IOV_LIT("querystring"));
		assert_non_null(h);
		if (failover) {
			/* Returned as it came: the viewer's host and headers, unsigned. */
			assert_null(edgefn_table_get(h, IOV_LIT("authorization")));
			assert_true(iov_eq(got(h, "host"), IOV_LIT("d111111abcdef8.example")));
			assert_true(iov_eq(qs->u.s, IOV_LIT("response-content-type=x")));
			continue;
		}
		/* The signed set and the read-only headers present; nothing else. */
		static const char *const keys[] = {
			"accept-encoding",  "if-none-match",        "host",         "x-amz-date",
			"x-amz-region-set", "x-amz-content-sha256", "authorization"
		};
		assert_keys(h, keys, N_ELEMS(keys));
		assert_true(iov_eq(got(h, "host"), IOV_LIT(HOST)));
		assert_true(iov_eq(qs->u.s, IOV_LIT("")));
		assert_true(signed_header(h, "x-amz-cf-id"));
		/* The origin receives these plus the request id the edge adds. */
		struct http_header cfid = { IOV_LIT("X-Amz-Cf-Id"), IOV_LIT(REQ_ID) };
		struct auth_verified v;
		assert_int_equal(
		    verify_at(h, "GET", PATH, "", &cfid, 1, "eu-west-1", clock_now(), &v), 0);
		auth_verified_free(&v);
		cfid.value = IOV_LIT("another-request");
		assert_int_equal(
		    verify_at(h, "GET", PATH, "", &cfid, 1, "eu-west-1", clock_now(), &v),
		    ERR_AUTH_MISMATCH);
		auth_verified_free(&v);
	}
	lua_fx_free(&l);
}

static void lua_sees_no_key_and_gets_clean_errors(void **state)
{
	struct fx *f = *state;
	struct lua_fx l;
	lua_fx_new(f, &l,
	           "function handler()\n"
	           "  local names = {}\n"
	           "  for _, t in ipairs({ meridian.sigv4, meridian.sigv4a }) do\n"
	           "    for k, v in pairs(t) do names[#names + 1] = k .. ':' .. type(v) end\n"
	           "  end\n"
	           "  local ok, e1 = pcall(meridian.sigv4a.sign, { method = 'GET' })\n"
	           "  local ok2, e2 = pcall(meridian.sigv4.sign, 'x')\n"
	           "  local ok3, e3 = pcall(meridian.sigv4a.sign, { method = 'GET', path = '/',\n"
	           "    host = 'h', headers = { ['x-a'] = {{ value = {} }} } })\n"
	           "  return table.concat(names, ',') .. '|' .. tostring(ok) .. '|' .. e1 ..\n"
	           "    '|' .. tostring(ok2) .. '|' .. e2 .. '|' .. tostring(ok3) .. '|' .. e3\n"
	           "end\n");
	struct edgefn_value res;
	assert_int_equal(edgefn_call(l.st, l.id, NULL, 0, 0, f->a, &res, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(res.kind, EDGEFN_STR);
	char out[1024];
	snprintf(out, sizeof(out), "%.*s", (int)res.u.s.len, res.u.s.base);
	print_message("%s\n", out);
	assert_non_null(strstr(out, "sign:function,sign:function|false|"));
	assert_non_null(strstr(out, "sigv4a.sign: missing field 'path' (or 'url')"));
	assert_non_null(strstr(out, "sigv4.sign: want one table argument"));
	assert_non_null(strstr(out, "|false|sigv4a.sign: field 'headers': each item needs"));
	assert_null(strstr(out, SECRET));
	assert_null(strstr(out, AKID));
	lua_fx_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigv4a_result_shape_and_verification),
		cmocka_unit_test(sigv4_is_bound_to_its_region_and_query),
		cmocka_unit_test(same_output_as_the_builtin_signer),
		cmocka_unit_test(session_token_is_sent_and_signed),
		cmocka_unit_test(options_change_what_is_signed),
		cmocka_unit_test(plain_and_lambda_edge_header_forms_agree),
		cmocka_unit_test(bad_arguments_are_clean_errors),
		cmocka_unit_test(blog_function_through_edgefn),
		cmocka_unit_test(lua_sees_no_key_and_gets_clean_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
