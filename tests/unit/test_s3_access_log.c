/*
 * The store's access log lines: S3's server access log layout field by
 * field (a whole line byte for byte, and one with nothing known), the
 * operation names, the key URL-encoded, escaping of bytes that would break
 * a field or the line, and the cap on a field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "s3/access_log.h"

static void expect_line(const struct s3_access_entry *e, const char *want)
{
	struct buf b;
	buf_init(&b, S3_ACCESS_LOG_LINE_MAX);
	assert_int_equal(s3_access_log_line(e, &b), 0);
	if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
		fail_msg("got  '%.*s'\nwant '%s'", (int)b.len, b.data, want);
	buf_free(&b);
}

/* A signed PUT that stored 4406583 bytes, in the shape of the example
 * lines of S3's LogFormat page. */
static void full_line(void **state)
{
	(void)state;
	struct s3_access_entry e = {
		.bucket_owner = IOV_LIT("79a59df900b949e5"),
		.bucket = IOV_LIT("mybucket"),
		.time = 1549411238, /* 2019-02-06T00:00:38Z */
		.remote_ip = IOV_LIT("192.0.2.3"),
		.requester = IOV_LIT("79a59df900b949e5"),
		.request_id = "3E57427F3EXAMPLE",
		.operation = "REST.PUT.OBJECT",
		.key = IOV_LIT("docs/s3 dg.pdf"),
		.method = IOV_LIT("PUT"),
		.target = IOV_LIT("/mybucket/docs/s3%20dg.pdf"),
		.version_minor = 1,
		.status = 200,
		.object_size = 4406583,
		.total_ms = 41754,
		.user_agent = IOV_LIT("aws-cli/2.15 Python/3.11"),
		.version_id = IOV_LIT("0123abcd"),
		.host_id = IOV_LIT("9f86d081884c"),
		.signature_version = "SigV4",
		.auth_type = "AuthHeader",
		.host = IOV_LIT("mybucket.s3.test"),
		.tls_version = "TLSv1.3",
	};
	expect_line(&e, "79a59df900b949e5 mybucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 "
	                "79a59df900b949e5 3E57427F3EXAMPLE REST.PUT.OBJECT docs/s3%20dg.pdf "
	                "\"PUT /mybucket/docs/s3%20dg.pdf HTTP/1.1\" 200 - - 4406583 41754 - \"-\" "
	                "\"aws-cli/2.15 Python/3.11\" 0123abcd 9f86d081884c SigV4 - AuthHeader "
	                "mybucket.s3.test TLSv1.3 - -\n");
}

/* Nothing known but the time, status and bytes: every other field "-",
 * 26 fields all the same. */
static void empty_fields_are_dashes(void **state)
{
	(void)state;
	struct s3_access_entry e = { .time = 0,
		                     .status = 404,
		                     .error_code = "NoSuchKey",
		                     .bytes_sent = 297,
		                     .object_size = -1 };
	expect_line(&e, "- - [01/Jan/1970:00:00:00 +0000] - - - - - \"-\" 404 NoSuchKey 297 - 0 - "
	                "\"-\" \"-\" - - - - - - - - -\n");
}

static void operation_names(void **state)
{
	(void)state;
	char out[32];
	static const struct {
		enum s3_op op;
		const char *method;
		bool copy;
		const char *want;
	} cases[] = {
		{ S3_OP_GET_OBJECT, "GET", false, "REST.GET.OBJECT" },
		{ S3_OP_HEAD_OBJECT, "HEAD", false, "REST.HEAD.OBJECT" },
		{ S3_OP_PUT_OBJECT, "PUT", true, "REST.COPY.OBJECT" },
		{ S3_OP_UPLOAD_PART, "PUT", false, "REST.PUT.PART" },
		{ S3_OP_UPLOAD_PART, "PUT", true, "REST.COPY.PART" },
		{ S3_OP_LIST_OBJECTS, "GET", false, "REST.GET.BUCKET" },
		{ S3_OP_LIST_BUCKETS, "GET", false, "REST.GET.SERVICE" },
		{ S3_OP_DELETE_OBJECTS, "POST", false, "REST.POST.MULTI_OBJECT_DELETE" },
		{ S3_OP_CREATE_MULTIPART_UPLOAD, "POST", false, "REST.POST.UPLOADS" },
		{ S3_OP_COMPLETE_MULTIPART_UPLOAD, "POST", false, "REST.POST.UPLOAD" },
		{ S3_OP_LIST_OBJECT_VERSIONS, "GET", false, "REST.GET.BUCKETVERSIONS" },
		{ S3_OP_GET_BUCKET_VERSIONING, "GET", false, "REST.GET.VERSIONING" },
		/* a copy source on anything else changes nothing */
		{ S3_OP_GET_OBJECT, "GET", true, "REST.GET.OBJECT" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(s3_access_log_operation(true, cases[i].op, cases[i].copy,
		                                            iov_cstr(cases[i].method), out),
		                    cases[i].want);
	/* no operation took it: the method, kept to one word */
	assert_string_equal(
	    s3_access_log_operation(false, S3_OP_GET_OBJECT, false, IOV_LIT("PATCH"), out),
	    "REST.PATCH.UNKNOWN");
	assert_string_equal(s3_access_log_operation(false, 0, false, IOV_LIT("A B\"C"), out),
	                    "REST.A_B_C.UNKNOWN");
	assert_string_equal(
	    s3_access_log_operation(false, 0, false, IOV_LIT("VERYLONGMETHOD"), out),
	    "REST.VERYLONG.UNKNOWN");
}

/* A quote, a backslash, a control byte or (outside quotes) a space would
 * end a field early: \xHH instead. Keys go URL-encoded as S3 writes them. */
static void escaping_and_key_encoding(void **state)
{
	(void)state;
	struct s3_access_entry e = {
		.time = 1549411238,
		.key = IOV_LIT("a b/\xc3\xbc+\"x"),
		.method = IOV_LIT("GET"),
		.target = IOV_LIT("/b/\"q\\"),
		.version_minor = 0,
		.status = 200,
		.object_size = -1,
		.referer = IOV_LIT("http://x/ \"y\""),
		.user_agent = IOV_LIT("ua\x01\x7f\xff"),
		.host = IOV_LIT("h o"),
	};
	expect_line(&e,
	            "- - [06/Feb/2019:00:00:38 +0000] - - - - a%20b/%C3%BC%2B%22x "
	            "\"GET /b/\\x22q\\x5c HTTP/1.0\" 200 - - - 0 - "
	            "\"http://x/ \\x22y\\x22\" \"ua\\x01\\x7f\\xff\" - - - - - h\\x20o - - -\n");
}

static void long_fields_are_capped(void **state)
{
	(void)state;
	static char ua[S3_ACCESS_LOG_FIELD_MAX + 100];
	memset(ua, 'u', sizeof(ua));
	struct s3_access_entry e = { .status = 200,
		                     .object_size = -1,
		                     .user_agent = iov_make(ua, sizeof(ua)) };
	struct buf b;
	buf_init(&b, S3_ACCESS_LOG_LINE_MAX);
	assert_int_equal(s3_access_log_line(&e, &b), 0);
	const char *q = memchr(b.data, 'u', b.len);
	assert_non_null(q);
	size_t run = 0;
	while (q[run] == 'u')
		run++;
	assert_int_equal(run, S3_ACCESS_LOG_FIELD_MAX);
	assert_memory_equal(q + run, "...\"", 4);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_null(memchr(b.data, '\n', b.len - 1));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_line),
		cmocka_unit_test(empty_fields_are_dashes),
		cmocka_unit_test(operation_names),
		cmocka_unit_test(escaping_and_key_encoding),
		cmocka_unit_test(long_fields_are_capped),
	};
	return cmocka_run_group_tests_name("test_s3_access_log", tests, NULL, NULL);
}
