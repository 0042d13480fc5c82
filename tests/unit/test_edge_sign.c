/*
 * edge/sign: the origin-request signer. Each signed request is checked with
 * the store's own verifier (auth_verify under S3 rules), so "signed" means
 * "a store accepts it"; a changed read-only header must then be refused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/verify.h"
#include "base/err.h"
#include "edge/sign.h"

#define AKID   "AKIDEDGETEST"
#define SECRET "edge-test-secret-key-0123456789abcdef"
#define T0     1795000000 /* 2026-11-18 */

static int lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (!iov_eq(ak, IOV_LIT(AKID)))
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = IOV_LIT(SECRET);
	out->session_token = IOV_LIT("");
	return 0;
}

static const struct auth_creds_ops creds_ops = { "edge-test", lookup };

#define MAXH 16

struct req {
	struct http_header h[MAXH];
	size_t n;
	struct iov method, path, query;
	bool body;
};

static void base_req(struct req *q)
{
	memset(q, 0, sizeof(*q));
	q->method = IOV_LIT("GET");
	q->path = IOV_LIT("/mfzwi23gnjvgw.mrap/img/logo%20big.png");
	q->query = IOV_LIT("");
	const struct http_header hs[] = {
		{ IOV_LIT("Host"), IOV_LIT("mfzwi23gnjvgw.mrap.accesspoint.example.test") },
		{ IOV_LIT("Accept-Encoding"), IOV_LIT("gzip, br") },
		{ IOV_LIT("If-None-Match"), IOV_LIT("\"abc\"") },
		{ IOV_LIT("Via"), IOV_LIT("1.1 meridian (edge fra)") },
		{ IOV_LIT("X-Amz-Cf-Id"), IOV_LIT("edge-req-0001") },
		{ IOV_LIT("User-Agent"), IOV_LIT("viewer/1.0") },
	};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		q->h[q->n++] = hs[i];
}

static int sign(const struct req *q, enum edge_sign_mode mode, bool failover, const char *region,
                struct auth_signature *sig, bool *did)
{
	struct edge_signer s = {
		.mode = mode,
		.region = iov_cstr(region),
		.creds = { IOV_LIT(AKID), IOV_LIT(SECRET), IOV_LIT("") },
		.failover_origin = failover,
	};
	struct edge_sign_request r = { q->method, q->path, q->query, q->h, q->n, q->body };
	auth_signature_init(sig);
	return edge_sign(&s, &r, T0, sig, did);
}

/* The request as the origin receives it: q's headers plus the added ones. */
static int verify(const struct req *q, const struct auth_signature *sig, const char *region,
                  struct auth_verified *v)
{
	struct auth_header hs[MAXH + AUTH_SIGN_MAX_ADDED];
	size_t n = 0;
	for (size_t i = 0; i < q->n; i++)
		hs[n++] = (struct auth_header){ q->h[i].name, q->h[i].value };
	for (size_t i = 0; i < sig->nadded; i++)
		hs[n++] = sig->added[i];
	struct auth_request r = { q->method, q->path, q->query, hs, n, IOV_LIT("") };
	struct auth_verifier ver = {
		.creds = &creds_ops,
		.region = iov_cstr(region),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
	auth_verified_init(v);
	return auth_verify(&ver, &r, T0 + 5, v);
}

static struct iov added(const struct auth_signature *sig, const char *name)
{
	for (size_t i = 0; i < sig->nadded; i++)
		if (iov_eq_nocase(sig->added[i].name, iov_cstr(name)))
			return sig->added[i].value;
	return IOV_NULL;
}

static bool signed_header(const struct auth_signature *sig, const char *lower)
{
	struct iov a = added(sig, "Authorization");
	const char *p = memmem(a.base, a.len, "SignedHeaders=", 14);
	assert_non_null(p);
	struct iov list = iov_make(p + 14, a.len - (size_t)(p + 14 - a.base)), item;
	list = iov_split(list, ',', &item); /* up to ", Signature=" */
	struct iov rest = item;
	while (rest.base) {
		struct iov name;
		rest = iov_split(rest, ';', &name);
		if (iov_eq(name, iov_cstr(lower)))
			return true;
	}
	return false;
}

static void sigv4a_is_accepted_by_a_store_of_any_region(void **state)
{
	(void)state;
	struct req q;
	base_req(&q);
	struct auth_signature sig;
	bool did;
	assert_int_equal(sign(&q, EDGE_SIGN_SIGV4A, false, "", &sig, &did), 0);
	assert_true(did);
	assert_true(iov_eq(added(&sig, "X-Amz-Region-Set"), IOV_LIT("*")));
	assert_true(iov_eq(added(&sig, "x-amz-content-sha256"), IOV_LIT(AUTH_EMPTY_SHA256)));
	/* The read-only headers present and the request id are signed; User-Agent is not. */
	const char *must[] = {
		"host",        "accept-encoding", "if-none-match",    "via",
		"x-amz-cf-id", "x-amz-date",      "x-amz-region-set", "x-amz-content-sha256"
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		assert_true(signed_header(&sig, must[i]));
	assert_false(signed_header(&sig, "user-agent"));
	const char *regions[] = { "eu-west-1", "us-east-1", "ap-southeast-2" };
	for (size_t i = 0; i < 3; i++) {
		struct auth_verified v;
		int rc = verify(&q, &sig, regions[i], &v);
		if (rc)
			print_error("%s: %s (%s)\n", regions[i], err_name(rc), v.detail);
		auth_verified_free(&v);
		assert_int_equal(rc, 0);
	}
	auth_signature_free(&sig);
}

static void a_changed_read_only_header_is_refused(void **state)
{
	(void)state;
	static const char *const names[] = { "Accept-Encoding", "If-None-Match", "Via",
		                             "X-Amz-Cf-Id", "Host" };
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct req q;
		base_req(&q);
		struct auth_signature sig;
		bool did;
		assert_int_equal(sign(&q, EDGE_SIGN_SIGV4A, false, "", &sig, &did), 0);
		for (size_t i = 0; i < q.n; i++)
			if (iov_eq_nocase(q.h[i].name, iov_cstr(names[k])))
				q.h[i].value = IOV_LIT("changed");
		struct auth_verified v;
		assert_int_equal(verify(&q, &sig, "eu-west-1", &v), ERR_AUTH_MISMATCH);
		auth_verified_free(&v);
		auth_signature_free(&sig);
	}
}

static void failover_origin_is_not_signed_with_sigv4a(void **state)
{
	(void)state;
	struct req q;
	base_req(&q);
	struct auth_signature sig;
	bool did = true;
	assert_int_equal(sign(&q, EDGE_SIGN_SIGV4A, true, "", &sig, &did), 0);
	assert_false(did);
	assert_int_equal(sig.nadded, 0);
	auth_signature_free(&sig);
	/* None signs nothing either; SigV4 toward a failover origin still signs. */
	assert_int_equal(sign(&q, EDGE_SIGN_NONE, false, "", &sig, &did), 0);
	assert_false(did);
	auth_signature_free(&sig);
	assert_int_equal(sign(&q, EDGE_SIGN_SIGV4, true, "eu-west-1", &sig, &did), 0);
	assert_true(did);
	struct auth_verified v;
	assert_int_equal(verify(&q, &sig, "eu-west-1", &v), 0);
	auth_verified_free(&v);
	auth_signature_free(&sig);
}

static void sigv4_is_bound_to_its_region(void **state)
{
	(void)state;
	struct req q;
	base_req(&q);
	q.query = IOV_LIT("versionId=06h1lst1hk001lr3&x-id=GetObject");
	struct auth_signature sig;
	bool did;
	assert_int_equal(sign(&q, EDGE_SIGN_SIGV4, false, "us-east-1", &sig, &did), 0);
	assert_null(added(&sig, "X-Amz-Region-Set").base);
	struct auth_verified v;
	assert_int_equal(verify(&q, &sig, "us-east-1", &v), 0);
	auth_verified_free(&v);
	assert_int_not_equal(verify(&q, &sig, "eu-west-1", &v), 0);
	auth_verified_free(&v);
	/* The query is signed: another one is refused. */
	q.query = IOV_LIT("versionId=other&x-id=GetObject");
	assert_int_equal(verify(&q, &sig, "us-east-1", &v), ERR_AUTH_MISMATCH);
	auth_verified_free(&v);
	auth_signature_free(&sig);
}

static void a_body_is_signed_unsigned_payload(void **state)
{
	(void)state;
	struct req q;
	base_req(&q);
	q.method = IOV_LIT("PUT");
	q.body = true;
	q.h[q.n++] = (struct http_header){ IOV_LIT("Content-Length"), IOV_LIT("5") };
	struct auth_signature sig;
	bool did;
	assert_int_equal(sign(&q, EDGE_SIGN_SIGV4A, false, "", &sig, &did), 0);
	assert_true(iov_eq(added(&sig, "x-amz-content-sha256"), IOV_LIT("UNSIGNED-PAYLOAD")));
	assert_true(signed_header(&sig, "content-length"));
	struct auth_verified v;
	assert_int_equal(verify(&q, &sig, "eu-west-1", &v), 0);
	assert_int_equal(v.payload, AUTH_PAYLOAD_UNSIGNED);
	auth_verified_free(&v);
	auth_signature_free(&sig);
	/* A request that already carries a signature is not signed again. */
	base_req(&q);
	q.h[q.n++] =
	    (struct http_header){ IOV_LIT("Authorization"), IOV_LIT("AWS4-HMAC-SHA256 x") };
	assert_int_not_equal(sign(&q, EDGE_SIGN_SIGV4A, false, "", &sig, &did), 0);
	assert_false(did);
	auth_signature_free(&sig);
}

static void read_only_header_list(void **state)
{
	(void)state;
	static const char *const yes[] = { "Accept-Encoding",   "content-length",
		                           "IF-MODIFIED-SINCE", "If-None-Match",
		                           "If-Range",          "If-Unmodified-Since",
		                           "Transfer-Encoding", "Via" };
	static const char *const no[] = { "Host", "Range", "If-Match", "Vi", "Viaa", "" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(edge_sign_read_only_header(iov_cstr(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(edge_sign_read_only_header(iov_cstr(no[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigv4a_is_accepted_by_a_store_of_any_region),
		cmocka_unit_test(a_changed_read_only_header_is_refused),
		cmocka_unit_test(failover_origin_is_not_signed_with_sigv4a),
		cmocka_unit_test(sigv4_is_bound_to_its_region),
		cmocka_unit_test(a_body_is_signed_unsigned_payload),
		cmocka_unit_test(read_only_header_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
