/* s3/route: operation, bucket and key from method, Host and target. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "s3/route.h"

struct route_case {
	const char *method, *host, *target;
	int rc;
	enum s3_op op;
	const char *bucket, *key;
	bool vhost;
};

#define OK(m, h, t, op, b, k, v)                \
	{                                       \
		m, h, t, 0, S3_OP_##op, b, k, v \
	}
#define BAD(m, h, t, err)                          \
	{                                          \
		m, h, t, err, 0, NULL, NULL, false \
	}

static const struct route_case cases[] = {
	/* Path style: the host is not one of the served domains. */
	OK("GET", "127.0.0.1:9000", "/", LIST_BUCKETS, "", "", false),
	OK("PUT", "127.0.0.1:9000", "/bkt", CREATE_BUCKET, "bkt", "", false),
	OK("PUT", "127.0.0.1:9000", "/bkt/", CREATE_BUCKET, "bkt", "", false),
	OK("HEAD", "localhost", "/bkt", HEAD_BUCKET, "bkt", "", false),
	OK("DELETE", "localhost", "/bkt", DELETE_BUCKET, "bkt", "", false),
	OK("GET", "localhost", "/bkt?list-type=2&prefix=a", LIST_OBJECTS, "bkt", "", false),
	OK("GET", "localhost", "/bkt?location", GET_BUCKET_LOCATION, "bkt", "", false),
	OK("GET", "localhost", "/bkt?versioning", GET_BUCKET_VERSIONING, "bkt", "", false),
	OK("PUT", "localhost", "/bkt?versioning", PUT_BUCKET_VERSIONING, "bkt", "", false),
	OK("GET", "localhost", "/bkt?versions&prefix=x", LIST_OBJECT_VERSIONS, "bkt", "", false),
	OK("GET", "localhost", "/bkt?uploads", LIST_MULTIPART_UPLOADS, "bkt", "", false),
	OK("POST", "localhost", "/bkt?delete", DELETE_OBJECTS, "bkt", "", false),
	OK("POST", "localhost", "/bkt?delete=", DELETE_OBJECTS, "bkt", "", false),
	OK("GET", "localhost", "/bkt/a/b/c.txt", GET_OBJECT, "bkt", "a/b/c.txt", false),
	OK("HEAD", "localhost", "/bkt/k", HEAD_OBJECT, "bkt", "k", false),
	OK("PUT", "localhost", "/bkt/k", PUT_OBJECT, "bkt", "k", false),
	OK("DELETE", "localhost", "/bkt/k?versionId=v1", DELETE_OBJECT, "bkt", "k", false),
	OK("POST", "localhost", "/bkt/k?uploads", CREATE_MULTIPART_UPLOAD, "bkt", "k", false),
	OK("PUT", "localhost", "/bkt/k?partNumber=3&uploadId=u", UPLOAD_PART, "bkt", "k", false),
	OK("POST", "localhost", "/bkt/k?uploadId=u", COMPLETE_MULTIPART_UPLOAD, "bkt", "k", false),
	OK("DELETE", "localhost", "/bkt/k?uploadId=u", ABORT_MULTIPART_UPLOAD, "bkt", "k", false),
	OK("GET", "localhost", "/bkt/k?uploadId=u&max-parts=2", LIST_PARTS, "bkt", "k", false),
	/* Keys: decoded, '+' literal in a path, empty segments kept. */
	OK("GET", "localhost", "/bkt/a%20b+c%2Fd", GET_OBJECT, "bkt", "a b+c/d", false),
	OK("GET", "localhost", "/bkt//x//", GET_OBJECT, "bkt", "/x//", false),
	OK("GET", "localhost", "/bkt/%E2%82%AC", GET_OBJECT, "bkt", "\xe2\x82\xac", false),
	/* Virtual-hosted style: bucket.<domain>, any case, with a port. */
	OK("GET", "bkt.s3.example", "/k", GET_OBJECT, "bkt", "k", true),
	OK("GET", "my.dotted.bkt.S3.Example:8080", "/a/b", GET_OBJECT, "my.dotted.bkt", "a/b",
	   true),
	OK("GET", "bkt.s3.example", "/", LIST_OBJECTS, "bkt", "", true),
	OK("GET", "bkt.s3.example", "/?uploads", LIST_MULTIPART_UPLOADS, "bkt", "", true),
	OK("GET", "s3.example", "/", LIST_BUCKETS, "", "", false),
	OK("GET", "s3.example", "/bkt/k", GET_OBJECT, "bkt", "k", false),
	OK("GET", "xs3.example", "/bkt/k", GET_OBJECT, "bkt", "k", false), /* not a subdomain */
	/* Presign and SDK extras are parameters, not sub-resources. */
	OK("GET", "localhost", "/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-id=GetObject", GET_OBJECT,
	   "bkt", "k", false),
	OK("GET", "localhost", "/bkt/k?response-content-type=text%2Fplain", GET_OBJECT, "bkt", "k",
	   false),
	/* Errors. */
	BAD("GET", "localhost", "/bkt/k?acl", ERR_S3_NOT_IMPLEMENTED),
	BAD("PUT", "localhost", "/bkt?tagging", ERR_S3_NOT_IMPLEMENTED),
	BAD("GET", "localhost", "/bkt?policy", ERR_S3_NOT_IMPLEMENTED),
	BAD("GET", "localhost", "/bkt/%zz", ERR_S3_INVALID_URI),
	BAD("GET", "localhost", "/bkt/abc%4", ERR_S3_INVALID_URI),
	BAD("GET", "localhost", "*", ERR_S3_INVALID_URI),
	BAD("GET", "localhost", "http://x/bkt", ERR_S3_INVALID_URI),
	BAD("PATCH", "localhost", "/bkt/k", ERR_S3_METHOD_NOT_ALLOWED),
	BAD("POST", "localhost", "/bkt/k", ERR_S3_METHOD_NOT_ALLOWED),
	BAD("PUT", "localhost", "/", ERR_S3_METHOD_NOT_ALLOWED),
	BAD("PUT", "localhost", "/bkt/k?uploadId=u", ERR_S3_INVALID_ARGUMENT),
	BAD("PUT", "localhost", "/bkt/k?uploadId=u&partNumber=0", ERR_S3_INVALID_ARGUMENT),
	BAD("PUT", "localhost", "/bkt/k?uploadId=u&partNumber=10001", ERR_S3_INVALID_ARGUMENT),
	BAD("PUT", "localhost", "/bkt/k?uploadId=u&partNumber=x", ERR_S3_INVALID_ARGUMENT),
};

static const struct iov domains[] = { IOV_LIT("s3.example") };

static void test_route_table(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct route_case *c = &cases[i];
		struct s3_route_in in = { iov_cstr(c->method),
			                  iov_cstr(c->target),
			                  iov_cstr(c->host),
			                  domains,
			                  1,
			                  NULL,
			                  0,
			                  NULL,
			                  0 };
		struct s3_route r;
		int rc = s3_route(&in, a, &r);
		if (rc != c->rc)
			fail_msg("%s %s (host %s): got %s, want %s", c->method, c->target, c->host,
			         err_name(rc), c->rc ? err_name(c->rc) : "OK");
		if (rc)
			continue;
		if (r.op != c->op)
			fail_msg("%s %s: op %s, want %s", c->method, c->target, s3_op_name(r.op),
			         s3_op_name(c->op));
		assert_true(iov_eq(r.bucket, iov_cstr(c->bucket)));
		if (!iov_eq(r.key, iov_cstr(c->key)))
			fail_msg("%s: key '%.*s', want '%s'", c->target, (int)r.key.len, r.key.base,
			         c->key);
		assert_int_equal(r.virtual_host, c->vhost);
	}
	arena_free(a);
}

static void test_parameters_are_decoded(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	struct s3_route_in in = { IOV_LIT("PUT"),
		                  IOV_LIT("/b/k?partNumber=17&uploadId=a%2Bb+c&versionId="),
		                  IOV_LIT("h"),
		                  domains,
		                  1,
		                  NULL,
		                  0,
		                  NULL,
		                  0 };
	struct s3_route r;
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_int_equal(r.part_number, 17);
	assert_true(iov_eq(r.upload_id, IOV_LIT("a+b c")));
	assert_true(r.has_version_id);
	assert_int_equal(r.version_id.len, 0);

	struct iov v;
	assert_int_equal(s3_query_get(IOV_LIT("prefix=a%2F&delimiter=%2F&x"), "delimiter", a, &v),
	                 1);
	assert_true(iov_eq(v, IOV_LIT("/")));
	assert_int_equal(s3_query_get(IOV_LIT("prefix=a"), "delimiter", a, &v), 0);
	assert_int_equal(s3_query_get(IOV_LIT("x&uploads"), "uploads", a, &v), 1);
	assert_int_equal(v.len, 0);
	assert_int_equal(s3_query_get(IOV_LIT("prefix=%G0"), "prefix", a, &v), ERR_S3_INVALID_URI);
	/* A name is matched whole, not as a prefix of another. */
	assert_int_equal(s3_query_get(IOV_LIT("prefixes=a"), "prefix", a, &v), 0);
	arena_free(a);
}

static void test_key_length_cap(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	char target[3 * 1100 + 8] = "/b/";
	size_t n = 3;
	for (int i = 0; i < 1024; i++)
		target[n++] = 'k';
	target[n] = '\0';
	struct s3_route_in in = {
		IOV_LIT("GET"), iov_cstr(target), IOV_LIT("h"), domains, 1, NULL, 0, NULL, 0
	};
	struct s3_route r;
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_int_equal(r.key.len, 1024);
	/* 1025 bytes once decoded: %41 is one byte. */
	memcpy(target + n, "%41", 4);
	in.target = iov_cstr(target);
	assert_int_equal(s3_route(&in, a, &r), ERR_S3_KEY_TOO_LONG);
	arena_free(a);
}

static void test_many_parameters(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	char target[2048] = "/b/k?";
	size_t n = strlen(target);
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(target + n, sizeof(target) - n, "p%d=x&", i);
	memcpy(target + n, "acl", 4);
	struct s3_route_in in = {
		IOV_LIT("GET"), iov_cstr(target), IOV_LIT("h"), domains, 1, NULL, 0, NULL, 0
	};
	struct s3_route r;
	/* A sub-resource past the first 64 names is still seen. */
	assert_int_equal(s3_route(&in, a, &r), ERR_S3_NOT_IMPLEMENTED);
	memcpy(target + n, "uploads", 8);
	in = (struct s3_route_in){
		IOV_LIT("POST"), iov_cstr(target), IOV_LIT("h"), domains, 1, NULL, 0, NULL, 0
	};
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_int_equal(r.op, S3_OP_CREATE_MULTIPART_UPLOAD);
	arena_free(a);
}

/* ---- access points ---- */

static const struct s3_access_point aps[] = {
	{ IOV_LIT("mfzwi23gnjvgw.mrap"), IOV_LIT("bkt-a") },
	{ IOV_LIT("shop"), IOV_LIT("bkt-b") },
};
static const struct iov mrap_domains[] = { IOV_LIT("accesspoint.example") };

struct alias_case {
	const char *method, *host, *target;
	int rc;
	enum s3_op op;
	const char *bucket, *key, *alias; /* alias NULL: none */
};

static const struct alias_case alias_cases[] = {
	/* Virtual-hosted: <alias>.<mrap domain>, any case, any port, whole path is key. */
	{ "GET", "mfzwi23gnjvgw.mrap.accesspoint.example", "/k/x", 0, S3_OP_GET_OBJECT, "bkt-a",
	  "k/x", "mfzwi23gnjvgw.mrap" },
	{ "HEAD", "MFZWI23GNJVGW.MRAP.AccessPoint.Example:8443", "/shop/k", 0, S3_OP_HEAD_OBJECT,
	  "bkt-a", "shop/k", "mfzwi23gnjvgw.mrap" },
	{ "GET", "shop.accesspoint.example", "/?list-type=2", 0, S3_OP_LIST_OBJECTS, "bkt-b", "",
	  "shop" },
	{ "PUT", "shop.accesspoint.example", "/", 0, S3_OP_CREATE_BUCKET, "bkt-b", "", "shop" },
	/* Path style: the first segment equal to an alias, exactly. */
	{ "GET", "127.0.0.1:9000", "/mfzwi23gnjvgw.mrap/k", 0, S3_OP_GET_OBJECT, "bkt-a", "k",
	  "mfzwi23gnjvgw.mrap" },
	{ "PUT", "localhost", "/shop/a%20b", 0, S3_OP_PUT_OBJECT, "bkt-b", "a b", "shop" },
	{ "GET", "accesspoint.example", "/shop?uploads", 0, S3_OP_LIST_MULTIPART_UPLOADS, "bkt-b",
	  "", "shop" },
	{ "GET", "localhost", "/SHOP/k", 0, S3_OP_GET_OBJECT, "SHOP", "k", NULL },
	{ "GET", "localhost", "/shopx/k", 0, S3_OP_GET_OBJECT, "shopx", "k", NULL },
	{ "GET", "localhost", "/sho/k", 0, S3_OP_GET_OBJECT, "sho", "k", NULL },
	{ "GET", "localhost", "/bkt-a/k", 0, S3_OP_GET_OBJECT, "bkt-a", "k", NULL },
	/* A bucket domain still means a bucket, and its path is a key. */
	{ "GET", "shop.s3.example", "/shop/k", 0, S3_OP_GET_OBJECT, "shop", "shop/k", NULL },
	/* Not under the mrap domain: path style. */
	{ "GET", "shop.accesspoint.example.evil", "/k/x", 0, S3_OP_GET_OBJECT, "k", "x", NULL },
	{ "GET", "shopaccesspoint.example", "/k/x", 0, S3_OP_GET_OBJECT, "k", "x", NULL },
	/* Under it, but no such alias. */
	{ "GET", "nope.accesspoint.example", "/k", ERR_S3AP_NO_SUCH_ACCESS_POINT, 0, NULL, NULL,
	  NULL },
	{ "GET", "xshop.accesspoint.example", "/shop/k", ERR_S3AP_NO_SUCH_ACCESS_POINT, 0, NULL,
	  NULL, NULL },
	{ "GET", "a.shop.accesspoint.example", "/k", ERR_S3AP_NO_SUCH_ACCESS_POINT, 0, NULL, NULL,
	  NULL },
};

static void test_alias_routes(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	for (size_t i = 0; i < sizeof(alias_cases) / sizeof(alias_cases[0]); i++) {
		const struct alias_case *c = &alias_cases[i];
		struct s3_route_in in = { iov_cstr(c->method),
			                  iov_cstr(c->target),
			                  iov_cstr(c->host),
			                  domains,
			                  1,
			                  aps,
			                  2,
			                  mrap_domains,
			                  1 };
		struct s3_route r;
		int rc = s3_route(&in, a, &r);
		if (rc != c->rc)
			fail_msg("%s %s (host %s): got %s, want %s", c->method, c->target, c->host,
			         err_name(rc), c->rc ? err_name(c->rc) : "OK");
		if (rc)
			continue;
		if (r.op != c->op || !iov_eq(r.bucket, iov_cstr(c->bucket)) ||
		    !iov_eq(r.key, iov_cstr(c->key)))
			fail_msg("%s %s (host %s): op %s bucket '%.*s' key '%.*s'", c->method,
			         c->target, c->host, s3_op_name(r.op), (int)r.bucket.len,
			         r.bucket.base, (int)r.key.len, r.key.base);
		if (c->alias)
			assert_true(iov_eq(r.alias, iov_cstr(c->alias)));
		else
			assert_null(r.alias.base);
	}
	arena_free(a);
}

static void test_no_access_points_no_alias(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 16);
	/* The same requests on a store without access points: plain buckets. */
	struct s3_route_in in = { IOV_LIT("GET"),
		                  IOV_LIT("/shop/k"),
		                  IOV_LIT("localhost"),
		                  domains,
		                  1,
		                  NULL,
		                  0,
		                  NULL,
		                  0 };
	struct s3_route r;
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_true(iov_eq(r.bucket, IOV_LIT("shop")));
	assert_null(r.alias.base);
	in.host = IOV_LIT("shop.accesspoint.example");
	in.target = IOV_LIT("/b/k");
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_true(iov_eq(r.bucket, IOV_LIT("b")));
	assert_null(r.alias.base);
	arena_free(a);
}

static int allowed(const char *method, const char *target, bool copy_source)
{
	struct arena *a = arena_new(1 << 16);
	struct s3_route_in in = { iov_cstr(method),
		                  iov_cstr(target),
		                  IOV_LIT("localhost"),
		                  domains,
		                  1,
		                  aps,
		                  2,
		                  mrap_domains,
		                  1 };
	struct s3_route r;
	int rc = s3_route(&in, a, &r);
	if (rc == 0)
		rc = s3_route_alias_allowed(&r, copy_source);
	arena_free(a);
	return rc;
}

static void test_alias_operations(void **state)
{
	(void)state;
	/* What a multi-region access point takes. */
	assert_int_equal(allowed("GET", "/shop/k", false), 0);
	assert_int_equal(allowed("HEAD", "/shop/k", false), 0);
	assert_int_equal(allowed("PUT", "/shop/k", false), 0);
	assert_int_equal(allowed("DELETE", "/shop/k", false), 0);
	assert_int_equal(allowed("POST", "/shop/k?uploads", false), 0);
	assert_int_equal(allowed("PUT", "/shop/k?partNumber=1&uploadId=u", false), 0);
	assert_int_equal(allowed("POST", "/shop/k?uploadId=u", false), 0);
	assert_int_equal(allowed("DELETE", "/shop/k?uploadId=u", false), 0);
	assert_int_equal(allowed("GET", "/shop/k?uploadId=u", false), 0);
	assert_int_equal(allowed("GET", "/shop?list-type=2&prefix=a", false), 0);
	assert_int_equal(allowed("GET", "/shop?uploads", false), 0);
	/* What it does not. */
	assert_int_equal(allowed("PUT", "/shop/k", true), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("PUT", "/shop/k?partNumber=1&uploadId=u", true),
	                 ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop?list-type=1", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop?list-type", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("PUT", "/shop", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("DELETE", "/shop", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("HEAD", "/shop", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop?location", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop?versioning", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("PUT", "/shop?versioning", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("GET", "/shop?versions", false), ERR_S3AP_NOT_SUPPORTED);
	assert_int_equal(allowed("POST", "/shop?delete", false), ERR_S3AP_NOT_SUPPORTED);
	/* A bucket by its name keeps every operation, copies included. */
	assert_int_equal(allowed("PUT", "/bkt-b/k", true), 0);
	assert_int_equal(allowed("PUT", "/bkt-b", false), 0);
	assert_int_equal(allowed("GET", "/bkt-b", false), 0);
}

static void test_alias_and_domain_names(void **state)
{
	(void)state;
	assert_int_equal(s3_alias_valid(IOV_LIT("mfzwi23gnjvgw.mrap")), 0);
	assert_int_equal(s3_alias_valid(IOV_LIT("abc")), 0);
	assert_int_equal(s3_alias_valid(IOV_LIT("a-b.c-d.9")), 0);
	char max[S3_ALIAS_MAX + 2];
	memset(max, 'a', sizeof(max));
	max[31] = '.';
	assert_int_equal(s3_alias_valid(iov_make(max, S3_ALIAS_MAX)), 0);
	assert_int_equal(s3_alias_valid(iov_make(max, S3_ALIAS_MAX + 1)), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("ab")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("Abc")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("a_bc")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("a..bc")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT(".abc")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("abc.")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("ab/c")), ERR_INVALID);
	assert_int_equal(s3_alias_valid(IOV_LIT("ab c")), ERR_INVALID);

	assert_int_equal(s3_domain_valid(IOV_LIT("accesspoint.s3-global.example")), 0);
	assert_int_equal(s3_domain_valid(IOV_LIT("Mrap.Local")), 0);
	assert_int_equal(s3_domain_valid(IOV_LIT("localhost")), 0);
	assert_int_equal(s3_domain_valid(IOV_LIT("")), ERR_INVALID);
	assert_int_equal(s3_domain_valid(IOV_LIT("a..b")), ERR_INVALID);
	assert_int_equal(s3_domain_valid(IOV_LIT("-a.b")), ERR_INVALID);
	assert_int_equal(s3_domain_valid(IOV_LIT("a.b:80")), ERR_INVALID);
	assert_int_equal(s3_domain_valid(IOV_LIT("a.b/")), ERR_INVALID);

	struct s3_access_point ap;
	const char *why = NULL;
	assert_int_equal(s3_access_point_parse(IOV_LIT("mfzwi23gnjvgw.mrap=my-bucket"), &ap, &why),
	                 0);
	assert_true(iov_eq(ap.alias, IOV_LIT("mfzwi23gnjvgw.mrap")));
	assert_true(iov_eq(ap.bucket, IOV_LIT("my-bucket")));
	const char *bad[] = {
		"mfzwi23gnjvgw.mrap", "=bucket", "ab=bucket",   "Shop=bucket", "shop=",
		"shop=B_ad",          "shop=ab", "shop=x.mrap", "shop=a=b"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (s3_access_point_parse(iov_cstr(bad[i]), &ap, &why) != ERR_INVALID)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_table),
		cmocka_unit_test(test_parameters_are_decoded),
		cmocka_unit_test(test_key_length_cap),
		cmocka_unit_test(test_many_parameters),
		cmocka_unit_test(test_alias_routes),
		cmocka_unit_test(test_no_access_points_no_alias),
		cmocka_unit_test(test_alias_operations),
		cmocka_unit_test(test_alias_and_domain_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
