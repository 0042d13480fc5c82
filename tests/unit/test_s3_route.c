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
		struct s3_route_in in = { iov_cstr(c->method), iov_cstr(c->target),
			                  iov_cstr(c->host), domains, 1 };
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
		                  IOV_LIT("h"), domains, 1 };
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
	struct s3_route_in in = { IOV_LIT("GET"), iov_cstr(target), IOV_LIT("h"), domains, 1 };
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
	struct s3_route_in in = { IOV_LIT("GET"), iov_cstr(target), IOV_LIT("h"), domains, 1 };
	struct s3_route r;
	/* A sub-resource past the first 64 names is still seen. */
	assert_int_equal(s3_route(&in, a, &r), ERR_S3_NOT_IMPLEMENTED);
	memcpy(target + n, "uploads", 8);
	in = (struct s3_route_in){ IOV_LIT("POST"), iov_cstr(target), IOV_LIT("h"), domains, 1 };
	assert_int_equal(s3_route(&in, a, &r), 0);
	assert_int_equal(r.op, S3_OP_CREATE_MULTIPART_UPLOAD);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_table),
		cmocka_unit_test(test_parameters_are_decoded),
		cmocka_unit_test(test_key_length_cap),
		cmocka_unit_test(test_many_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
