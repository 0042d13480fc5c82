/*
 * http/range: the Range header and x-amz-copy-source-range as tables. Each
 * row names where its answer comes from:
 *   AWS-V   an AWS-validated test: localstack tests/aws/services/s3 test_s3.py
 *           test_get_object_range / test_upload_part_copy_range (snapshots
 *           recorded against S3) and moto test_s3.py test_ranged_get, which
 *           asserts the same answers
 *   S3T     ceph/s3-tests test_ranged_request_invalid_range / _empty_object
 *   AWS-I   an issue quoting real S3 answers: aws-c-s3#257 and riak_cs#304
 *           (several ranges -> 200 whole object), localstack#9076 (bytes=15-1
 *           -> whole object), minio#6557 (bytes=0- on an empty object ->
 *           416), arrow-rs-object-store#846 (suffix on an empty object -> 200)
 *   RFC     RFC 9110 §14.1-14.2 where S3's answer is not recorded anywhere
 *   OURS    our decision, stated in docs/internals/http-cond.md
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/range.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define NONE  HTTP_RANGE_NONE
#define OK    HTTP_RANGE_OK
#define UNSAT HTTP_RANGE_UNSATISFIABLE

#define BIG20 "99999999999999999999" /* more than UINT64_MAX */

struct range_case {
	const char *value;
	uint64_t size;
	enum http_range_kind kind;
	uint64_t start, len;
};

static const struct range_case cases[] = {
	/* AWS-V: localstack test_get_object_range, "0123456789" */
	{ "bytes=0-8", 10, OK, 0, 9 },
	{ "bytes=1-1", 10, OK, 1, 1 },
	{ "bytes=1-0", 10, NONE, 0, 0 }, /* last < first: ignored, 200 */
	{ "bytes=1-", 10, OK, 1, 9 },
	{ "bytes=-1-", 10, NONE, 0, 0 },
	{ "bytes=-2", 10, OK, 8, 2 },
	{ "bytes=-9", 10, OK, 1, 9 },
	{ "bytes=-15", 10, OK, 0, 10 },   /* suffix longer than the object: all of it */
	{ "bytes=0-100", 10, OK, 0, 10 }, /* last clamped */
	{ "bytes=0-0", 10, OK, 0, 1 },
	{ "bytes=0--1", 10, NONE, 0, 0 },
	{ "bytes=0-1,3-4,7-9", 10, NONE, 0, 0 }, /* several ranges: whole object */
	{ "0-1", 10, NONE, 0, 0 },               /* no unit */
	{ "bytes=-", 10, NONE, 0, 0 },
	{ "bytes=-0", 10, UNSAT, 0, 0 },
	{ "bytes=100-200", 10, UNSAT, 0, 0 },
	/* AWS-V: moto test_ranged_get, 100 bytes */
	{ "bytes=99-99", 100, OK, 99, 1 },
	{ "bytes=99-700", 100, OK, 99, 1 },
	{ "bytes=-100", 100, OK, 0, 100 },
	{ "bytes=-101", 100, OK, 0, 100 },
	{ "bytes=101-200", 100, UNSAT, 0, 0 },
	{ "bytes=-0", 100, UNSAT, 0, 0 },
	/* S3T: a first byte at or past the end */
	{ "bytes=40-50", 11, UNSAT, 0, 0 },
	{ "bytes=11-", 11, UNSAT, 0, 0 },
	{ "bytes=10-", 11, OK, 10, 1 },
	/* S3T, AWS-I: an empty object has no first byte */
	{ "bytes=40-50", 0, UNSAT, 0, 0 },
	{ "bytes=0-", 0, UNSAT, 0, 0 },
	{ "bytes=0-0", 0, UNSAT, 0, 0 },
	{ "bytes=-0", 0, UNSAT, 0, 0 },
	/* AWS-I (arrow-rs-object-store#846): a suffix on an empty object is 200, no body */
	{ "bytes=-1", 0, NONE, 0, 0 },
	{ "bytes=-512", 0, NONE, 0, 0 },
	/* RFC: size 1 */
	{ "bytes=0-0", 1, OK, 0, 1 },
	{ "bytes=0-", 1, OK, 0, 1 },
	{ "bytes=0-5", 1, OK, 0, 1 },
	{ "bytes=-1", 1, OK, 0, 1 },
	{ "bytes=-5", 1, OK, 0, 1 },
	{ "bytes=1-", 1, UNSAT, 0, 0 },
	{ "bytes=1-1", 1, UNSAT, 0, 0 },
	/* AWS-I (localstack#9076): last < first is ignored even when first is past the end */
	{ "bytes=15-1", 12, NONE, 0, 0 },
	{ "bytes=5-2", 10, NONE, 0, 0 },
	/* AWS-I (aws-c-s3#257, riak_cs#304): several ranges, 200 whole object */
	{ "bytes=0-499,500-502", 1000, NONE, 0, 0 },
	{ "bytes=4-8,1-3", 11, NONE, 0, 0 },
	{ "bytes=0-1,", 10, NONE, 0, 0 }, /* OURS: any comma is a list */
	{ "bytes=,0-1", 10, NONE, 0, 0 },
	/* RFC: numbers past 64 bits are still numbers, beyond any object */
	{ "bytes=" BIG20 "-", 10, UNSAT, 0, 0 },
	{ "bytes=" BIG20 "-" BIG20, 10, UNSAT, 0, 0 },
	{ "bytes=0-" BIG20, 10, OK, 0, 10 },
	{ "bytes=-" BIG20, 10, OK, 0, 10 },
	{ "bytes=18446744073709551615-", 10, UNSAT, 0, 0 },
	{ "bytes=18446744073709551616-", 10, UNSAT, 0, 0 }, /* 2^64 must not wrap to 0 */
	{ "bytes=-18446744073709551616", 10, OK, 0, 10 },
	{ "bytes=0-18446744073709551616", 10, OK, 0, 10 },
	{ "bytes=18446744073709551614-", UINT64_MAX, OK, UINT64_MAX - 1, 1 },
	{ "bytes=-18446744073709551615", UINT64_MAX, OK, 0, UINT64_MAX },
	{ "bytes=0-", UINT64_MAX, OK, 0, UINT64_MAX },
	{ "bytes=0000000000000000000000000003-04", 10, OK, 3, 2 }, /* leading zeros */
	/* RFC: no whitespace inside the ranges-specifier; OWS around the field value is trimmed */
	{ " bytes=0-1\t", 10, OK, 0, 2 },
	{ "bytes = 0-1", 10, NONE, 0, 0 },
	{ "bytes =0-1", 10, NONE, 0, 0 },
	{ "bytes= 0-1", 10, NONE, 0, 0 },
	{ "bytes=0 -1", 10, NONE, 0, 0 },
	{ "bytes=0- 1", 10, NONE, 0, 0 },
	{ "bytes=0-1 ,2-3", 10, NONE, 0, 0 },
	/* RFC §14.1: range unit names are case-insensitive */
	{ "Bytes=0-1", 10, OK, 0, 2 },
	{ "BYTES=-3", 10, OK, 7, 3 },
	/* RFC: not the bytes unit, or not the grammar: ignored */
	{ "items=0-1", 10, NONE, 0, 0 },
	{ "bytesx=0-1", 10, NONE, 0, 0 },
	{ "bytes", 10, NONE, 0, 0 },
	{ "bytes=", 10, NONE, 0, 0 },
	{ "=0-1", 10, NONE, 0, 0 },
	{ "", 10, NONE, 0, 0 },
	{ "bytes==0-1", 10, NONE, 0, 0 },
	{ "bytes=+1-2", 10, NONE, 0, 0 },
	{ "bytes=1-+2", 10, NONE, 0, 0 },
	{ "bytes=1-2-3", 10, NONE, 0, 0 },
	{ "bytes=0x1-2", 10, NONE, 0, 0 },
	{ "bytes=1", 10, NONE, 0, 0 },
	{ "bytes=a-b", 10, NONE, 0, 0 },
	{ "bytes=--1", 10, NONE, 0, 0 },
};

static const char *kind_name(enum http_range_kind k)
{
	return k == NONE ? "NONE" : k == OK ? "OK" : k == UNSAT ? "UNSAT" : "?";
}

static void range_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		const struct range_case *c = &cases[i];
		struct http_range r = { .kind = 77, .start = 77, .len = 77 };
		enum http_range_kind k = http_range_parse(iov_cstr(c->value), c->size, &r);
		if (k != c->kind || r.kind != c->kind || r.start != c->start || r.len != c->len)
			fail_msg("'%s' size %llu: got %s %llu+%llu, want %s %llu+%llu", c->value,
			         (unsigned long long)c->size, kind_name(r.kind),
			         (unsigned long long)r.start, (unsigned long long)r.len,
			         kind_name(c->kind), (unsigned long long)c->start,
			         (unsigned long long)c->len);
	}
}

/* No header at all, and a value read only through its slice. */
static void range_slice(void **state)
{
	static const char text[] = "bytes=0-15";
	struct http_range r;
	(void)state;
	assert_int_equal(http_range_parse(IOV_NULL, 10, &r), NONE);
	assert_int_equal(http_range_parse(iov_make(text, 9), 10, &r), OK); /* "bytes=0-1" */
	assert_int_equal(r.start, 0);
	assert_int_equal(r.len, 2);
	assert_int_equal(http_range_parse(iov_make("bytes=0-1\0", 10), 10, &r), NONE);
}

struct copy_case {
	const char *value;
	uint64_t size;
	int rc;
	uint64_t start, len;
};

static const struct copy_case copy_cases[] = {
	/* AWS-V: localstack test_upload_part_copy_range, source "0123456789" */
	{ "bytes=0-8", 10, 0, 0, 9 },
	{ "bytes=1-1", 10, 0, 1, 1 },
	{ "bytes=0-0", 10, 0, 0, 1 },
	{ "0-8", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=1-0", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=-1-", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=0--1", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=0-1,3-4,7-9", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=-", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=-0", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=0-100", 10, ERR_RANGE_COPY_END, 0, 0 },
	{ "bytes=100-200", 10, ERR_RANGE_COPY_START, 0, 0 },
	{ "bytes=1-", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=-2", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=-15", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	/* the edges of the same rules */
	{ "bytes=9-9", 10, 0, 9, 1 },
	{ "bytes=0-9", 10, 0, 0, 10 },
	{ "bytes=9-10", 10, ERR_RANGE_COPY_END, 0, 0 },
	{ "bytes=10-10", 10, ERR_RANGE_COPY_START, 0, 0 },
	{ "bytes=10-9", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=0-0", 0, ERR_RANGE_COPY_START, 0, 0 }, /* an empty source has no byte */
	{ "bytes=0-" BIG20, 10, ERR_RANGE_COPY_END, 0, 0 },
	{ "bytes=" BIG20 "-" BIG20, 10, ERR_RANGE_COPY_START, 0, 0 },
	/* OURS: exactly the documented form, nothing around it */
	{ "Bytes=0-1", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes= 0-1", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=0-1 ", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ " bytes=0-1", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=+0-1", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "bytes=", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
	{ "", 10, ERR_RANGE_COPY_MALFORMED, 0, 0 },
};

static void copy_source_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(copy_cases); i++) {
		const struct copy_case *c = &copy_cases[i];
		struct http_range r = { .kind = 77, .start = 77, .len = 77 };
		int rc = http_range_copy_source(iov_cstr(c->value), c->size, &r);
		enum http_range_kind want = c->rc == 0 ? OK : NONE;
		if (rc != c->rc || r.kind != want || r.start != c->start || r.len != c->len)
			fail_msg("'%s' size %llu: got %s %s %llu+%llu, want %s %llu+%llu", c->value,
			         (unsigned long long)c->size, err_name(rc), kind_name(r.kind),
			         (unsigned long long)r.start, (unsigned long long)r.len,
			         err_name(c->rc), (unsigned long long)c->start,
			         (unsigned long long)c->len);
	}
	struct http_range r;
	assert_int_equal(http_range_copy_source(IOV_NULL, 10, &r), ERR_RANGE_COPY_MALFORMED);
}

/* The three copy errors carry S3's codes and statuses (localstack snapshot). */
static void copy_source_errors_map(void **state)
{
	(void)state;
	assert_int_equal(err_http_status(ERR_RANGE_COPY_MALFORMED), 400);
	assert_string_equal(err_s3_code(ERR_RANGE_COPY_MALFORMED), "InvalidArgument");
	assert_int_equal(err_http_status(ERR_RANGE_COPY_START), 400);
	assert_string_equal(err_s3_code(ERR_RANGE_COPY_START), "InvalidRequest");
	assert_int_equal(err_http_status(ERR_RANGE_COPY_END), 400);
	assert_string_equal(err_s3_code(ERR_RANGE_COPY_END), "InvalidArgument");
	assert_int_equal(err_http_status(ERR_RANGE_NOT_SATISFIABLE), 416);
	assert_string_equal(err_s3_code(ERR_RANGE_NOT_SATISFIABLE), "InvalidRange");
}

static void content_range_values(void **state)
{
	char out[HTTP_CONTENT_RANGE_MAX];
	struct http_range r;
	(void)state;

	assert_int_equal(http_range_parse(IOV_LIT("bytes=0-"), 10, &r), OK);
	assert_int_equal(http_range_content_range(&r, 10, out), 12);
	assert_string_equal(out, "bytes 0-9/10");

	assert_int_equal(http_range_parse(IOV_LIT("bytes=-7"), 11, &r), OK);
	http_range_content_range(&r, 11, out);
	assert_string_equal(
	    out, "bytes 4-10/11"); /* s3-tests test_ranged_request_return_trailing_bytes */

	assert_int_equal(http_range_parse(IOV_LIT("bytes=40-50"), 11, &r), UNSAT);
	assert_int_equal(http_range_content_range(&r, 11, out), 10);
	assert_string_equal(out, "bytes */11");

	assert_int_equal(http_range_parse(IOV_LIT("bytes=0-"), 0, &r), UNSAT);
	http_range_content_range(&r, 0, out);
	assert_string_equal(out, "bytes */0");

	/* the widest value fits */
	assert_int_equal(http_range_parse(IOV_LIT("bytes=0-"), UINT64_MAX, &r), OK);
	size_t n = http_range_content_range(&r, UINT64_MAX, out);
	assert_string_equal(out, "bytes 0-18446744073709551614/18446744073709551615");
	assert_int_equal(n, strlen(out));
	assert_true(n < HTTP_CONTENT_RANGE_MAX);
	r = (struct http_range){ OK, UINT64_MAX - 1, 1 };
	http_range_content_range(&r, UINT64_MAX, out);
	assert_string_equal(out,
	                    "bytes 18446744073709551614-18446744073709551614/18446744073709551615");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(range_table),          cmocka_unit_test(range_slice),
		cmocka_unit_test(copy_source_table),    cmocka_unit_test(copy_source_errors_map),
		cmocka_unit_test(content_range_values),
	};
	return cmocka_run_group_tests_name("test_http_range", tests, NULL, NULL);
}
