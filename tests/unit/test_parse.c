/*
 * The Authorization header and presigned-query parsers: the slices they
 * extract, and the error each malformed shape maps to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/parse.h"
#include "auth/sigv4.h"
#include "base/err.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SIG4  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
#define SIG4A "3045022100e6e3f4cf3e1b3d2f1ba2e3e7a0f1c3d3ab4f21a6dbd0e0f8b2ff3d5c37e3d1e0022075"
#define CRED4 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
#define CREDA "Credential=AKIDEXAMPLE/20150830/s3/aws4_request"
#define SH    "SignedHeaders=host;x-amz-date"
#define SIG   "Signature=" SIG4
#define V4    AUTH_ALG_SIGV4 " "
#define V4A   AUTH_ALG_SIGV4A " "

/* A 145-character signature: one over AUTH_MAX_SIGNATURE_HEX. */
#define HEX16  "0123456789abcdef"
#define HEX144 HEX16 HEX16 HEX16 HEX16 HEX16 HEX16 HEX16 HEX16 HEX16

/* What a successful parse must have found (NULL region: none). */
struct want {
	enum auth_alg alg;
	const char *access_key, *date8, *region, *service, *scope, *signed_headers, *signature;
};

static const struct want want_v4 = { AUTH_SIGV4,        "AKIDEXAMPLE",
	                             "20150830",        "us-east-1",
	                             "service",         "20150830/us-east-1/service/aws4_request",
	                             "host;x-amz-date", SIG4 };

static const struct want want_v4a = {
	AUTH_SIGV4A,       "AKIDEXAMPLE", "20150830", NULL, "s3", "20150830/s3/aws4_request",
	"host;x-amz-date", SIG4A
};

static void check_slice(const char *ctx, const char *what, struct iov got, const char *want)
{
	if (want == NULL) {
		if (got.len != 0)
			fail_msg("%s: %s should be empty, got '%.*s'", ctx, what, IOV_ARG(got));
		return;
	}
	if (!iov_eq(got, iov_cstr(want)))
		fail_msg("%s: %s is '%.*s', want '%s'", ctx, what, IOV_ARG(got), want);
}

static void check_parsed(const char *ctx, const struct auth_parsed *p, const struct want *w)
{
	assert_int_equal(p->alg, w->alg);
	check_slice(ctx, "access_key", p->access_key, w->access_key);
	check_slice(ctx, "date8", p->date8, w->date8);
	check_slice(ctx, "region", p->region, w->region);
	check_slice(ctx, "service", p->service, w->service);
	check_slice(ctx, "scope", p->scope, w->scope);
	check_slice(ctx, "signed_headers", p->signed_headers, w->signed_headers);
	check_slice(ctx, "signature", p->signature, w->signature);
	check_slice(ctx, "algorithm", p->algorithm, auth_alg_name(w->alg));
	if (p->why != NULL)
		fail_msg("%s: why set on success: %s", ctx, p->why);
}

/* ---- auth_parse_header ---------------------------------------------------------------- */

static void parse_header_good(void **state)
{
	static const struct {
		const char *value;
		const struct want *want;
	} cases[] = {
		{ V4 CRED4 ", " SH ", " SIG, &want_v4 },
		{ V4 CRED4 "," SH "," SIG, &want_v4 },
		{ V4 SIG ", " CRED4 ", " SH, &want_v4 },
		{ V4 SH "," SIG ", " CRED4, &want_v4 },
		{ V4 " " CRED4 " ,  " SH ",\t" SIG, &want_v4 },
		{ "  " V4 CRED4 ", " SH ", " SIG "  ", &want_v4 },
		{ V4A CREDA ", " SH ", Signature=" SIG4A, &want_v4a },
		{ V4A "Signature=" SIG4A "," CREDA "," SH, &want_v4a },
		{ V4A SH ", " CREDA ", Signature=" SIG4A, &want_v4a },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct auth_parsed p;
		int rc = auth_parse_header(iov_cstr(cases[i].value), &p);
		if (rc)
			fail_msg("'%s': %s (%s)", cases[i].value, err_name(rc), p.why);
		assert_int_equal(p.form, AUTH_FORM_HEADER);
		check_parsed(cases[i].value, &p, cases[i].want);
	}
}

/* Slices point into the input; nothing is copied or written. */
static void parse_header_slices_in_input(void **state)
{
	(void)state;
	char value[] = V4 CRED4 ", " SH ", " SIG;
	char copy[sizeof(value)];
	struct auth_parsed p;
	memcpy(copy, value, sizeof(value));
	assert_int_equal(auth_parse_header(iov_make(value, sizeof(value) - 1), &p), 0);
	assert_memory_equal(value, copy, sizeof(value));
	assert_ptr_equal(p.access_key.base, strstr(value, "AKIDEXAMPLE"));
	assert_ptr_equal(p.signature.base, strstr(value, SIG4));
	assert_ptr_equal(p.signed_headers.base, strstr(value, "host;"));
}

/* The longest signature allowed is accepted; one more byte is not. */
static void parse_header_signature_length(void **state)
{
	(void)state;
	struct auth_parsed p;
	assert_int_equal(strlen(HEX144), AUTH_MAX_SIGNATURE_HEX);
	assert_int_equal(auth_parse_header(IOV_LIT(V4A CREDA ", " SH ", Signature=" HEX144), &p),
	                 0);
	assert_int_equal(p.signature.len, AUTH_MAX_SIGNATURE_HEX);
	assert_int_equal(
	    auth_parse_header(IOV_LIT(V4A CREDA ", " SH ", Signature=" HEX144 "0"), &p),
	    ERR_AUTH_MALFORMED);
	assert_non_null(p.why);
}

static void parse_header_bad(void **state)
{
	static const struct {
		const char *value;
		int rc;
	} cases[] = {
		/* Algorithm. */
		{ "", ERR_AUTH_ALGORITHM },
		{ "   ", ERR_AUTH_ALGORITHM },
		{ "AWS4-HMAC-SHA1 " CRED4 ", " SH ", " SIG, ERR_AUTH_ALGORITHM },
		{ "aws4-hmac-sha256 " CRED4 ", " SH ", " SIG, ERR_AUTH_ALGORITHM },
		{ "AWS AKIDEXAMPLE:c2lnbmF0dXJl", ERR_AUTH_ALGORITHM },
		{ "AWS4-HMAC-SHA256," CRED4 ", " SH ", " SIG, ERR_AUTH_ALGORITHM },
		{ "AWS4-ECDSA-P256-SHA256X " CREDA ", " SH ", " SIG, ERR_AUTH_ALGORITHM },
		/* Nothing after the algorithm. */
		{ AUTH_ALG_SIGV4, ERR_AUTH_MALFORMED },
		{ AUTH_ALG_SIGV4 "   ", ERR_AUTH_MALFORMED },
		/* Missing, duplicate, unknown and shapeless components. */
		{ V4 SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SIG, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", " SIG ", " CRED4, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", " SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", " SIG ", " SIG, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", " SIG ", Foo=bar", ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", signature=" SIG4, ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", " SIG ",", ERR_AUTH_MALFORMED },
		{ V4 CRED4 ", " SH ", Signature", ERR_AUTH_MALFORMED },
		{ V4 CRED4 " " SH " " SIG, ERR_AUTH_MALFORMED },
		/* Empty values. */
		{ V4 CRED4 ", " SH ", Signature=", ERR_AUTH_MALFORMED },
		{ V4 "Credential=, " SH ", " SIG, ERR_AUTH_MALFORMED },
		/* Credential with the wrong number of parts for the algorithm. */
		{ V4 CREDA ", " SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID/20150830/us-east-1/s3/x/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID, " SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4A CRED4 ", " SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830/aws4_request, " SH ", " SIG, ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830/s3/aws4_request/, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		/* Empty parts. */
		{ V4 "Credential=/20150830/us-east-1/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID/20150830//s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID/20150830/us-east-1//aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830//aws4_request, " SH ", " SIG, ERR_AUTH_MALFORMED },
		/* Date. */
		{ V4 "Credential=AKID/2015083a/us-east-1/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/2015-830/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID/2015083/us-east-1/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4 "Credential=AKID/201508300/us-east-1/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830T123600Z/s3/aws4_request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		/* Terminator. */
		{ V4 "Credential=AKID/20150830/us-east-1/s3/aws4_requests, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830/s3/aws4-request, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830/s3/AWS4_REQUEST, " SH ", " SIG,
		  ERR_AUTH_MALFORMED },
		{ V4A "Credential=AKID/20150830/s3/, " SH ", " SIG, ERR_AUTH_MALFORMED },
		/* Signature too long. */
		{ V4 CRED4 ", " SH ", Signature=" HEX144 "0", ERR_AUTH_MALFORMED },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct auth_parsed p;
		int rc = auth_parse_header(iov_cstr(cases[i].value), &p);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %s, want %s", cases[i].value, err_name(rc),
			         err_name(cases[i].rc));
		if (p.why == NULL)
			fail_msg("'%s': no reason given", cases[i].value);
	}
}

/* ---- auth_parse_query ----------------------------------------------------------------- */

#define QALG   "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"
#define QCRED  "X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4_request"
#define QDATE  "X-Amz-Date=20150830T123600Z"
#define QEXP   "X-Amz-Expires=3600"
#define QSH    "X-Amz-SignedHeaders=host%3Bx-amz-date"
#define QSIG   "X-Amz-Signature=" SIG4A
#define QREG   "X-Amz-Region-Set=%2A"
#define QTOKEN "X-Amz-Security-Token=tok%2Ben%2F%3D"

static void check_presigned_v4a(const char *ctx, const struct auth_parsed *p)
{
	assert_int_equal(p->form, AUTH_FORM_QUERY);
	assert_int_equal(p->alg, AUTH_SIGV4A);
	check_slice(ctx, "algorithm", p->algorithm, AUTH_ALG_SIGV4A);
	check_slice(ctx, "access_key", p->access_key, "AKID");
	check_slice(ctx, "date8", p->date8, "20150830");
	check_slice(ctx, "region", p->region, NULL);
	check_slice(ctx, "service", p->service, "s3");
	check_slice(ctx, "scope", p->scope, "20150830/s3/aws4_request");
	check_slice(ctx, "amz_date", p->amz_date, "20150830T123600Z");
	check_slice(ctx, "expires", p->expires, "3600");
	check_slice(ctx, "signed_headers", p->signed_headers, "host;x-amz-date");
	check_slice(ctx, "signature", p->signature, SIG4A);
	check_slice(ctx, "region_set", p->region_set, "*");
	assert_null(p->why);
}

static void parse_query_v4a(void **state)
{
	static const char *const queries[] = {
		QALG "&" QCRED "&" QDATE "&" QEXP "&" QSH "&" QREG "&" QSIG,
		QSIG "&" QREG "&" QSH "&" QEXP "&" QDATE "&" QCRED "&" QALG,
		"prefix=1&" QALG "&&" QCRED "&" QDATE "&list-type=2&" QEXP "&" QSH "&" QREG "&" QSIG
		"&x-id=GetObject",
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(queries); i++) {
		struct auth_parsed p;
		int rc = auth_parse_query(iov_cstr(queries[i]), &p);
		if (rc)
			fail_msg("'%s': %s (%s)", queries[i], err_name(rc), p.why);
		check_presigned_v4a(queries[i], &p);
		assert_false(p.has_token);
		check_slice(queries[i], "token", p.token, NULL);
	}
}

static void parse_query_v4_with_token(void **state)
{
	(void)state;
	struct auth_parsed p;
	const char *q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%"
	                "2Fus-east-1%2Fservice%2Faws4_request&" QDATE "&X-Amz-Expires=604800&" QSH
	                "&" QTOKEN "&X-Amz-Signature=" SIG4;
	assert_int_equal(auth_parse_query(iov_cstr(q), &p), 0);
	assert_int_equal(p.form, AUTH_FORM_QUERY);
	check_parsed(q, &p, &want_v4);
	check_slice(q, "expires", p.expires, "604800");
	assert_true(p.has_token);
	check_slice(q, "token", p.token, "tok+en/=");
	check_slice(q, "region_set", p.region_set, NULL);

	/* An empty token is still a token. */
	const char *q2 =
	    QALG "&" QCRED "&" QDATE "&" QEXP "&" QSH "&" QSIG "&X-Amz-Security-Token=";
	assert_int_equal(auth_parse_query(iov_cstr(q2), &p), 0);
	assert_true(p.has_token);
	assert_int_equal(p.token.len, 0);
}

static void parse_query_region_set_decoded(void **state)
{
	(void)state;
	struct auth_parsed p;
	const char *q = QALG "&" QCRED "&" QDATE "&" QEXP "&" QSH "&" QSIG
	                     "&X-Amz-Region-Set=us-east-1%2Cus-west-%2A";
	assert_int_equal(auth_parse_query(iov_cstr(q), &p), 0);
	check_slice(q, "region_set", p.region_set, "us-east-1,us-west-*");
}

/* Leave out the i-th of the six parameters every presigned URL needs. */
static void parse_query_each_missing(void **state)
{
	static const char *const parts[] = { QALG, QCRED, QDATE, QEXP, QSH, QSIG };
	(void)state;
	for (size_t skip = 0; skip < N_ELEMS(parts); skip++) {
		char q[1024] = "";
		size_t n = 0;
		for (size_t i = 0; i < N_ELEMS(parts); i++)
			if (i != skip)
				n += (size_t)snprintf(q + n, sizeof(q) - n, "%s&", parts[i]);
		n += (size_t)snprintf(q + n, sizeof(q) - n, "%s", QREG);
		assert_true(n < sizeof(q));
		struct auth_parsed p;
		int rc = auth_parse_query(iov_cstr(q), &p);
		int want = skip == 0 ? ERR_AUTH_MISSING : ERR_AUTH_QUERY_MALFORMED;
		if (rc != want)
			fail_msg("without %s: rc %s, want %s", parts[skip], err_name(rc),
			         err_name(want));
		assert_non_null(p.why);
	}
}

static void parse_query_bad(void **state)
{
#define REST "&" QCRED "&" QDATE "&" QEXP "&" QSH "&" QSIG
	static const struct {
		const char *query;
		int rc;
	} cases[] = {
		{ "", ERR_AUTH_MISSING },
		{ "a=1&b=2", ERR_AUTH_MISSING },
		{ "x-amz-algorithm=AWS4-ECDSA-P256-SHA256" REST, ERR_AUTH_MISSING },
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA1" REST, ERR_AUTH_ALGORITHM },
		{ "X-Amz-Algorithm=" REST, ERR_AUTH_ALGORITHM },
		{ "X-Amz-Algorithm" REST, ERR_AUTH_ALGORITHM },
		/* Duplicates, of any parameter of ours. */
		{ QALG "&" QALG REST, ERR_AUTH_QUERY_MALFORMED },
		{ QALG REST "&" QCRED, ERR_AUTH_QUERY_MALFORMED },
		{ QALG REST "&" QSIG, ERR_AUTH_QUERY_MALFORMED },
		{ QALG REST "&" QREG "&" QREG, ERR_AUTH_QUERY_MALFORMED },
		{ QALG REST "&" QTOKEN "&" QTOKEN, ERR_AUTH_QUERY_MALFORMED },
		/* Malformed credential (wrong part count for v4a, bad date, terminator). */
		{ QALG "&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&" QDATE
		       "&" QEXP "&" QSH "&" QSIG,
		  ERR_AUTH_QUERY_MALFORMED },
		{ QALG "&X-Amz-Credential=AKID/2015083x/s3/aws4_request&" QDATE "&" QEXP "&" QSH
		       "&" QSIG,
		  ERR_AUTH_QUERY_MALFORMED },
		{ QALG "&X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4&" QDATE "&" QEXP "&" QSH
		       "&" QSIG,
		  ERR_AUTH_QUERY_MALFORMED },
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA256" REST, ERR_AUTH_QUERY_MALFORMED },
		/* Signature empty or too long. */
		{ QALG "&" QCRED "&" QDATE "&" QEXP "&" QSH "&X-Amz-Signature=",
		  ERR_AUTH_QUERY_MALFORMED },
		{ QALG "&" QCRED "&" QDATE "&" QEXP "&" QSH "&X-Amz-Signature=" HEX144 "0",
		  ERR_AUTH_QUERY_MALFORMED },
		/* A bad escape in one of our values. */
		{ QALG "&X-Amz-Credential=AKID%2G20150830%2Fs3%2Faws4_request&" QDATE "&" QEXP
		       "&" QSH "&" QSIG,
		  ERR_AUTH_QUERY_MALFORMED },
		{ QALG REST "&X-Amz-Region-Set=%", ERR_AUTH_QUERY_MALFORMED },
	};
#undef REST
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct auth_parsed p;
		int rc = auth_parse_query(iov_cstr(cases[i].query), &p);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %s, want %s", cases[i].query, err_name(rc),
			         err_name(cases[i].rc));
		if (p.why == NULL)
			fail_msg("'%s': no reason given", cases[i].query);
	}
}

/* Decoded values that do not fit the result's store are an error, not a
 * truncation or an overflow. */
static void parse_query_store_cap(void **state)
{
	(void)state;
	static char q[2 * AUTH_PARSE_STORE];
	struct auth_parsed p;
	int n = snprintf(q, sizeof(q), "%s&%s&%s&%s&%s&%s&%s&X-Amz-Security-Token=", QALG, QCRED,
	                 QDATE, QEXP, QSH, QSIG, QREG);
	size_t used = (size_t)n;
	while (used < (size_t)n + AUTH_PARSE_STORE + 1)
		q[used++] = 't';
	q[used] = '\0';
	assert_int_equal(auth_parse_query(iov_make(q, used), &p), ERR_AUTH_QUERY_MALFORMED);
	assert_non_null(p.why);
	/* A long token that fits is kept whole. */
	used = (size_t)n + 2000;
	q[used] = '\0';
	assert_int_equal(auth_parse_query(iov_make(q, used), &p), 0);
	assert_int_equal(p.token.len, 2000);
	check_presigned_v4a("long token", &p);
}

static void query_is_presigned_cases(void **state)
{
	static const struct {
		const char *query;
		bool presigned;
	} cases[] = {
		{ "X-Amz-Algorithm=AWS4-HMAC-SHA256", true },
		{ "a=1&X-Amz-Algorithm", true },
		{ "a=1&&X-Amz-Algorithm=&b", true },
		{ "X-Amz-Algorithm=junk", true },
		{ "", false },
		{ "a=X-Amz-Algorithm", false },
		{ "x-amz-algorithm=AWS4-HMAC-SHA256", false },
		{ "X-Amz-Algorithms=1", false },
		{ "aX-Amz-Algorithm=1", false },
		{ "X-Amz-Credential=a&X-Amz-Signature=b", false },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		if (auth_query_is_presigned(iov_cstr(cases[i].query)) != cases[i].presigned)
			fail_msg("'%s': want %d", cases[i].query, cases[i].presigned);
	assert_false(auth_query_is_presigned(IOV_NULL));
	/* Only the slice counts. */
	assert_false(auth_query_is_presigned(iov_make("a=1&X-Amz-Algorithm=x", 3)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_header_good),
		cmocka_unit_test(parse_header_slices_in_input),
		cmocka_unit_test(parse_header_signature_length),
		cmocka_unit_test(parse_header_bad),
		cmocka_unit_test(parse_query_v4a),
		cmocka_unit_test(parse_query_v4_with_token),
		cmocka_unit_test(parse_query_region_set_decoded),
		cmocka_unit_test(parse_query_each_missing),
		cmocka_unit_test(parse_query_bad),
		cmocka_unit_test(parse_query_store_cap),
		cmocka_unit_test(query_is_presigned_cases),
	};
	return cmocka_run_group_tests_name("test_parse", tests, NULL, NULL);
}
