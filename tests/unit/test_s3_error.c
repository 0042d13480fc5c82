/*
 * The S3 error table and <Error> documents: byte-exact documents in the shape
 * S3 sends (the API reference's sample, and a NoSuchKey answer as S3 writes
 * it: declaration, newline, no namespace, extra fields before RequestId and
 * HostId), messages borrowed by other modules' codes, the table's integrity,
 * escaping and caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "s3/error.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void expect_doc(const struct buf *b, const char *want)
{
	if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
		fail_msg("got  '%.*s'\nwant '%s'", (int)b->len, b->data, want);
}

/* The sample of the REST error responses page: Code, Message, Resource,
 * RequestId. */
static void error_reference_sample(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(s3_error_xml(&b, ERR_S3_NO_SUCH_KEY,
	                              "The resource you requested does not exist",
	                              IOV_LIT("/mybucket/myfoto.jpg"), IOV_LIT("4442587FB7D0A2F9"),
	                              IOV_NULL, NULL, 0),
	                 0);
	expect_doc(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<Error><Code>NoSuchKey</Code>"
	               "<Message>The resource you requested does not exist</Message>"
	               "<Resource>/mybucket/myfoto.jpg</Resource>"
	               "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
	buf_free(&b);
}

/* NoSuchKey as S3 answers a GET: the default message, <Key>, ids. */
static void error_no_such_key_as_sent(void **state)
{
	(void)state;
	struct buf b;
	const struct s3_error_field key = { "Key", IOV_LIT("not-there") };
	buf_init(&b, 4096);
	assert_int_equal(s3_error_xml(&b, ERR_S3_NO_SUCH_KEY, NULL, IOV_NULL,
	                              IOV_LIT("1TVAXX4VF5DYHJJH"),
	                              IOV_LIT("VrvGCPhExKbjuONSuX/LGw0m="), &key, 1),
	                 0);
	expect_doc(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<Error><Code>NoSuchKey</Code>"
	               "<Message>The specified key does not exist.</Message>"
	               "<Key>not-there</Key><RequestId>1TVAXX4VF5DYHJJH</RequestId>"
	               "<HostId>VrvGCPhExKbjuONSuX/LGw0m=</HostId></Error>");
	buf_free(&b);
}

static void error_extra_fields_in_order(void **state)
{
	(void)state;
	struct buf b;
	const struct s3_error_field f[] = {
		{ "Condition", IOV_LIT("If-Match") },
		{ "BucketName", IOV_LIT("b") },
	};
	buf_init(&b, 4096);
	buf_add_str(&b, "HTTP head before: ");
	assert_int_equal(s3_error_xml(&b, ERR_S3_PRECONDITION_FAILED, NULL, IOV_LIT("/b/k"),
	                              IOV_LIT("R"), IOV_LIT("H"), f, 2),
	                 0);
	expect_doc(&b, "HTTP head before: <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<Error><Code>PreconditionFailed</Code>"
	               "<Message>At least one of the pre-conditions you specified did not hold"
	               "</Message><Condition>If-Match</Condition><BucketName>b</BucketName>"
	               "<Resource>/b/k</Resource><RequestId>R</RequestId><HostId>H</HostId>"
	               "</Error>");
	buf_free(&b);
}

/* Keys and messages are escaped; control characters as S3 writes them. */
static void error_escapes(void **state)
{
	(void)state;
	struct buf b;
	const struct s3_error_field key = { "Key", IOV_LIT("a<b>&\"c'\x01") };
	buf_init(&b, 4096);
	assert_int_equal(s3_error_xml(&b, ERR_S3_NO_SUCH_KEY, "x & y", IOV_NULL, IOV_LIT("r"),
	                              IOV_NULL, &key, 1),
	                 0);
	expect_doc(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<Error><Code>NoSuchKey</Code><Message>x &amp; y</Message>"
	               "<Key>a&lt;b&gt;&amp;&quot;c&apos;&#x1;</Key><RequestId>r</RequestId>"
	               "</Error>");
	buf_reset(&b);
	const struct s3_error_field bad = { "Key", IOV_LIT("\xc3") };
	buf_add_str(&b, "kept");
	assert_int_equal(
	    s3_error_xml(&b, ERR_S3_NO_SUCH_KEY, NULL, IOV_NULL, IOV_NULL, IOV_NULL, &bad, 1),
	    ERR_INVALID);
	expect_doc(&b, "kept");
	buf_free(&b);
}

/* Over the output cap nothing is left behind, at every cap. */
static void error_cap(void **state)
{
	(void)state;
	struct buf full;
	buf_init(&full, 4096);
	assert_int_equal(s3_error_xml(&full, ERR_S3_NO_SUCH_BUCKET, NULL, IOV_LIT("/b"),
	                              IOV_LIT("rid"), IOV_LIT("hid"), NULL, 0),
	                 0);
	for (size_t cap = 0; cap <= full.len; cap++) {
		struct buf b;
		buf_init(&b, cap);
		int rc = s3_error_xml(&b, ERR_S3_NO_SUCH_BUCKET, NULL, IOV_LIT("/b"),
		                      IOV_LIT("rid"), IOV_LIT("hid"), NULL, 0);
		if (cap < full.len) {
			assert_int_equal(rc, ERR_TOO_BIG);
			assert_int_equal(b.len, 0);
		} else {
			assert_int_equal(rc, 0);
			assert_memory_equal(b.data, full.data, full.len);
		}
		buf_free(&b);
	}
	buf_free(&full);
}

struct map_case {
	int err;
	const char *code;
	int status;
	const char *message;
};

static const struct map_case map_cases[] = {
	{ ERR_S3_NO_SUCH_BUCKET, "NoSuchBucket", 404, "The specified bucket does not exist" },
	{ ERR_S3_NO_SUCH_UPLOAD, "NoSuchUpload", 404,
	  "The specified upload does not exist. The upload ID may be invalid, or the upload may "
	  "have been aborted or completed." },
	{ ERR_S3_BUCKET_ALREADY_OWNED_BY_YOU, "BucketAlreadyOwnedByYou", 409,
	  "Your previous request to create the named bucket succeeded and you already own it." },
	{ ERR_S3_BUCKET_NOT_EMPTY, "BucketNotEmpty", 409,
	  "The bucket you tried to delete is not empty" },
	{ ERR_S3_INVALID_RANGE, "InvalidRange", 416, "The requested range is not satisfiable" },
	{ ERR_S3_KEY_TOO_LONG, "KeyTooLongError", 400, "Your key is too long" },
	{ ERR_S3_METHOD_NOT_ALLOWED, "MethodNotAllowed", 405,
	  "The specified method is not allowed against this resource." },
	{ ERR_S3_NOT_IMPLEMENTED, "NotImplemented", 501,
	  "A header you provided implies functionality that is not implemented" },
	{ ERR_S3_MISSING_CONTENT_LENGTH, "MissingContentLength", 411,
	  "You must provide the Content-Length HTTP header." },
	{ ERR_S3_ILLEGAL_LOCATION_CONSTRAINT, "IllegalLocationConstraintException", 400, NULL },
	{ ERR_S3_INVALID_PART_ORDER, "InvalidPartOrder", 400,
	  "The list of parts was not in ascending order. Parts must be ordered by part number." },
	{ ERR_S3_SLOW_DOWN, "SlowDown", 503, "Please reduce your request rate." },
	/* other modules' codes borrow the S3 row's message */
	{ ERR_AUTH_MISMATCH, "SignatureDoesNotMatch", 403,
	  "The request signature we calculated does not match the signature you provided. Check "
	  "your key and signing method." },
	{ ERR_AUTH_UNKNOWN_KEY, "InvalidAccessKeyId", 403,
	  "The AWS Access Key Id you provided does not exist in our records." },
	{ ERR_AUTH_SKEW, "RequestTimeTooSkewed", 403,
	  "The difference between the request time and the current time is too large." },
	{ ERR_AUTH_TOKEN, "InvalidToken", 400,
	  "The provided token is malformed or otherwise invalid." },
	{ ERR_AUTH_PAYLOAD_MISMATCH, "XAmzContentSHA256Mismatch", 400,
	  "The provided 'x-amz-content-sha256' header does not match what was computed." },
	{ ERR_CHUNK_CHECKSUM, "BadDigest", 400,
	  "The Content-MD5 you specified did not match what we received." },
	{ ERR_HTTP_BODY_TOO_LARGE, "EntityTooLarge", 413,
	  "Your proposed upload exceeds the maximum allowed object size." },
	{ ERR_NOMEM, "InternalError", 500, "We encountered an internal error. Please try again." },
	/* no S3 row with that code: the module's own text */
	{ ERR_CHUNK_SIZE, "InvalidChunkSizeError", 403,
	  "only the last chunk may be smaller than 8192 bytes" },
	{ ERR_USAGE, "InternalError", 500, "We encountered an internal error. Please try again." },
};

static void error_mapping(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(map_cases); i++) {
		const struct map_case *c = &map_cases[i];
		assert_string_equal(s3_error_code(c->err), c->code);
		assert_int_equal(s3_error_status(c->err), c->status);
		if (c->message)
			assert_string_equal(s3_error_message(c->err), c->message);
	}
}

/* The S3 block: contiguous, every row S3-shaped, one row per S3 code. */
static void error_table_integrity(void **state)
{
	(void)state;
	int rows = 0;
	for (int e = ERR__FIRST + 1; e < ERR__END; e++) {
		int in_block = s3_error_is_s3(e);
		assert_int_equal(in_block, strncmp(err_name(e), "S3_", 3) == 0);
		if (!in_block)
			continue;
		rows++;
		const char *code = s3_error_code(e);
		assert_true(code[0] >= 'A' && code[0] <= 'Z');
		assert_null(strchr(code, ' '));
		int st = s3_error_status(e);
		assert_true(st >= 400 && st <= 599);
		assert_true(strlen(s3_error_message(e)) > 0);
		for (int f = e + 1; f <= S3_ERR_LAST; f++)
			assert_string_not_equal(code, s3_error_code(f));
	}
	assert_int_equal(rows, S3_ERR_LAST - S3_ERR_FIRST + 1);
	assert_true(rows >= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_reference_sample),
		cmocka_unit_test(error_no_such_key_as_sent),
		cmocka_unit_test(error_extra_fields_in_order),
		cmocka_unit_test(error_escapes),
		cmocka_unit_test(error_cap),
		cmocka_unit_test(error_mapping),
		cmocka_unit_test(error_table_integrity),
	};
	return cmocka_run_group_tests_name("test_s3_error", tests, NULL, NULL);
}
