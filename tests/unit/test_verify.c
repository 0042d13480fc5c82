/*
 * The verifier under S3 rules (region us-east-1, service s3, no double
 * encoding), driven by the signer: each case signs a request with
 * auth_sign, changes one thing, and expects one exact error code, for
 * SigV4 and SigV4A in header and presigned form. Every verification runs
 * without a key cache and twice with one (cold, then warm); all three must
 * agree on the code, the canonical request and the string-to-sign.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sign.h"
#include "auth/verify.h"
#include "base/err.h"
#include "base/hex.h"

#define T0 INT64_C(1440938160) /* 20150830T123600Z */

#define BODY "The quick brown fox jumps over the lazy dog"

/* The credentials the verifier knows: one plain key, one that needs a token. */
struct key_row {
	const char *akid;
	const char *secret;
	const char *token; /* NULL: the key takes none */
};

static const struct key_row keys[] = {
	{ "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL },
	{ "ASIAQEXAMPLETEMP", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
	  "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars" },
};

static const struct key_row unknown_key = { "AKIDUNKNOWN", "not-in-the-table", NULL };

static int table_lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!iov_eq(ak, iov_cstr(keys[i].akid)))
			continue;
		out->secret = iov_cstr(keys[i].secret);
		out->session_token = iov_cstr(keys[i].token);
		return 0;
	}
	return ERR_AUTH_UNKNOWN_KEY;
}

static const struct auth_creds_ops table_ops = { "test-table", table_lookup };

static struct auth_keycache *cache;

/* A request under test: editable copies of everything the view points at. */
#define TREQ_MAX_HEADERS 16

struct thdr {
	char name[64];
	char value[512];
};

struct treq {
	char method[16];
	char path[256];
	char query[2048];
	struct thdr h[TREQ_MAX_HEADERS];
	size_t nh;
	/* What the signer produced, for comparison. */
	char canonical[4096];
	char sts[512];
};

static void copy_str(char *dst, size_t cap, struct iov src)
{
	assert_true(src.len < cap);
	memcpy(dst, src.base, src.len);
	dst[src.len] = '\0';
}

static void treq_addv(struct treq *t, struct iov name, struct iov value)
{
	assert_true(t->nh < TREQ_MAX_HEADERS);
	copy_str(t->h[t->nh].name, sizeof(t->h[0].name), name);
	copy_str(t->h[t->nh].value, sizeof(t->h[0].value), value);
	t->nh++;
}

static void treq_add(struct treq *t, const char *name, const char *value)
{
	treq_addv(t, iov_cstr(name), iov_cstr(value));
}

/* The first header of that name (any case); fails the test if absent. */
static struct thdr *treq_find(struct treq *t, const char *name)
{
	for (size_t i = 0; i < t->nh; i++)
		if (iov_eq_nocase(iov_cstr(t->h[i].name), iov_cstr(name)))
			return &t->h[i];
	fail_msg("no header %s", name);
	return NULL;
}

static void treq_del(struct treq *t, const char *name)
{
	struct thdr *h = treq_find(t, name);
	size_t i = (size_t)(h - t->h);
	memmove(&t->h[i], &t->h[i + 1], (t->nh - i - 1) * sizeof(t->h[0]));
	t->nh--;
}

static struct auth_request treq_view(const struct treq *t, struct auth_header *hs)
{
	for (size_t i = 0; i < t->nh; i++)
		hs[i] = (struct auth_header){ iov_cstr(t->h[i].name), iov_cstr(t->h[i].value) };
	return (struct auth_request){
		.method = iov_cstr(t->method),
		.path = iov_cstr(t->path),
		.query = iov_cstr(t->query),
		.headers = hs,
		.nheaders = t->nh,
	};
}

/* Replace the first `from` in s (a cap-byte string) by `to`; it must be there. */
static void replace(char *s, size_t cap, const char *from, const char *to)
{
	char *p = strstr(s, from);
	size_t flen = strlen(from), tlen = strlen(to), rest;
	if (!p)
		fail_msg("'%s' not found in '%s'", from, s);
	rest = strlen(p + flen) + 1;
	assert_true(strlen(s) - flen + tlen < cap);
	memmove(p + tlen, p + flen, rest);
	memcpy(p, to, tlen);
}

/* Change the last hex digit of a signature that ends the string. */
static void flip_last(char *s)
{
	size_t n = strlen(s);
	assert_true(n > 0);
	s[n - 1] = s[n - 1] == '0' ? '1' : '0';
}

/* The request before signing: an S3 PUT in header form, a GET presigned. */
static void base_request(struct treq *t, enum auth_form form)
{
	memset(t, 0, sizeof(*t));
	copy_str(t->method, sizeof(t->method),
	         form == AUTH_FORM_HEADER ? IOV_LIT("PUT") : IOV_LIT("GET"));
	copy_str(t->path, sizeof(t->path),
	         IOV_LIT("/examplebucket/photos/caf%C3%A9%20%281%29.jpg"));
	copy_str(t->query, sizeof(t->query), IOV_LIT("partNumber=1&uploadId=VXBsb2Fk%2Bx%2Fy"));
	treq_add(t, "Host", "s3.us-east-1.amazonaws.com");
	treq_add(t, "Content-Type", "image/jpeg");
	treq_add(t, "x-amz-meta-color", "deep blue");
	treq_add(t, "User-Agent", "meridian-test/1.0"); /* never signed, never required */
}

/* How a case signs. */
struct sp {
	enum auth_alg alg;
	enum auth_form form;
	const struct key_row *key;
	const char *token; /* sent with the request; NULL: none */
	const char *region;
	const char *service;
	int64_t time;
	const char *payload; /* NULL: the signer's default */
	bool content_header;
	bool omit_token;
	uint32_t expires;
};

static char body_sha[SHA256_HEX_LEN + 1];

static struct sp sp_default(enum auth_alg alg, enum auth_form form)
{
	return (struct sp){
		.alg = alg,
		.form = form,
		.key = &keys[0],
		.region = "us-east-1",
		.service = "s3",
		.time = T0,
		.payload = form == AUTH_FORM_HEADER ? body_sha : NULL,
		.content_header = form == AUTH_FORM_HEADER,
		.expires = 3600,
	};
}

/* Sign t in place: add the signer's headers, or replace the query. */
static void sign_treq(struct treq *t, const struct sp *p)
{
	struct auth_header hs[TREQ_MAX_HEADERS];
	struct auth_request r = treq_view(t, hs);
	struct auth_sign_opts o = {
		.alg = p->alg,
		.form = p->form,
		.creds = { iov_cstr(p->key->akid), iov_cstr(p->key->secret), iov_cstr(p->token) },
		.region = iov_cstr(p->region),
		.service = iov_cstr(p->service),
		.time = p->time,
		.payload_hash = iov_cstr(p->payload),
		.rules = AUTH_URI_S3,
		.content_sha256_header = p->content_header,
		.omit_session_token = p->omit_token,
		.expires = p->expires,
	};
	struct auth_signature s;
	auth_signature_init(&s);
	int rc = auth_sign(&o, &r, &s);
	if (rc)
		fail_msg("auth_sign: %s", err_name(rc));
	if (p->form == AUTH_FORM_HEADER)
		for (size_t i = 0; i < s.nadded; i++)
			treq_addv(t, s.added[i].name, s.added[i].value);
	else
		copy_str(t->query, sizeof(t->query), buf_iov(&s.query));
	copy_str(t->canonical, sizeof(t->canonical), buf_iov(&s.canonical_request));
	copy_str(t->sts, sizeof(t->sts), buf_iov(&s.string_to_sign));
	auth_signature_free(&s);
}

static void signed_request(struct treq *t, const struct sp *p)
{
	base_request(t, p->form);
	sign_treq(t, p);
}

static struct auth_verifier s3_verifier(struct auth_keycache *kc)
{
	return (struct auth_verifier){
		.creds = &table_ops,
		.keys = kc,
		.region = IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
}

static int verify_with(const struct auth_verifier *v, const struct treq *t, int64_t now,
                       struct auth_verified *res)
{
	struct auth_header hs[TREQ_MAX_HEADERS];
	struct auth_request r = treq_view(t, hs);
	auth_verified_init(res);
	return auth_verify(v, &r, now, res);
}

/*
 * Verify without a key cache (the result in *res; the caller frees it), and
 * with the shared cache twice; every run must give the same answer.
 */
static int verify_at(const struct treq *t, int64_t now, struct auth_verified *res)
{
	struct auth_verifier plain = s3_verifier(NULL), cached = s3_verifier(cache);
	int rc = verify_with(&plain, t, now, res);
	for (int round = 0; round < 2; round++) {
		struct auth_verified other;
		int rc2 = verify_with(&cached, t, now, &other);
		if (rc2 != rc)
			print_error("keycache: %s without, %s with (round %d)\n", err_name(rc),
			            err_name(rc2), round);
		assert_int_equal(rc2, rc);
		assert_true(
		    iov_eq(buf_iov(&other.canonical_request), buf_iov(&res->canonical_request)));
		assert_true(iov_eq(buf_iov(&other.string_to_sign), buf_iov(&res->string_to_sign)));
		auth_verified_free(&other);
	}
	return rc;
}

static const char *combo_name(enum auth_alg alg, enum auth_form form)
{
	if (alg == AUTH_SIGV4)
		return form == AUTH_FORM_HEADER ? "SigV4/header" : "SigV4/query";
	return form == AUTH_FORM_HEADER ? "SigV4A/header" : "SigV4A/query";
}

/* Verify at `now` and require exactly `want`. */
static void expect_at(const char *what, const struct treq *t, int64_t now, int want)
{
	struct auth_verified res;
	int rc = verify_at(t, now, &res);
	if (rc != want)
		print_error("%s: want %s, got %s (%s)\n", what, err_name(want), err_name(rc),
		            res.detail);
	auth_verified_free(&res);
	assert_int_equal(rc, want);
}

/* Sign with p, apply `edit` (may be NULL), verify at the signing time. */
static void expect_signed(const char *what, const struct sp *p, void (*edit)(struct treq *),
                          int want)
{
	struct treq t;
	signed_request(&t, p);
	if (edit)
		edit(&t);
	expect_at(what, &t, p->time, want);
}

static const struct {
	enum auth_alg alg;
	enum auth_form form;
} combos[] = {
	{ AUTH_SIGV4, AUTH_FORM_HEADER },
	{ AUTH_SIGV4, AUTH_FORM_QUERY },
	{ AUTH_SIGV4A, AUTH_FORM_HEADER },
	{ AUTH_SIGV4A, AUTH_FORM_QUERY },
};

#define NCOMBOS (sizeof(combos) / sizeof(combos[0]))

static const enum auth_alg algs[] = { AUTH_SIGV4, AUTH_SIGV4A };

static int setup(void **state)
{
	(void)state;
	sha256_hex(BODY, strlen(BODY), body_sha);
	cache = auth_keycache_new(16);
	return cache ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	auth_keycache_free(cache);
	return 0;
}

/* ---- cases ---- */

static void good_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		const char *what = combo_name(p.alg, p.form);
		struct treq t;
		struct auth_verified res;
		signed_request(&t, &p);
		int rc = verify_at(&t, T0, &res);
		if (rc)
			print_error("%s: %s (%s)\n", what, err_name(rc), res.detail);
		assert_int_equal(rc, 0);
		assert_int_equal(res.alg, p.alg);
		assert_int_equal(res.form, p.form);
		assert_string_equal(res.access_key, "AKIDEXAMPLE");
		assert_string_equal(res.date, "20150830T123600Z");
		assert_int_equal(res.time, T0);
		assert_true(
		    iov_eq(buf_iov(&res.scope), p.alg == AUTH_SIGV4
		                                    ? IOV_LIT("20150830/us-east-1/s3/aws4_request")
		                                    : IOV_LIT("20150830/s3/aws4_request")));
		/* On success the debugging copies are what the signer signed. */
		assert_true(iov_eq(buf_iov(&res.canonical_request), iov_cstr(t.canonical)));
		assert_true(iov_eq(buf_iov(&res.string_to_sign), iov_cstr(t.sts)));

		uint8_t right[SHA256_LEN], wrong[SHA256_LEN];
		sha256(BODY, strlen(BODY), right);
		sha256("tampered", 8, wrong);
		if (p.form == AUTH_FORM_HEADER) {
			assert_int_equal(res.payload, AUTH_PAYLOAD_HASH);
			assert_memory_equal(res.payload_sha256, right, SHA256_LEN);
			assert_int_equal(auth_verified_check_body(&res, right), 0);
			assert_int_equal(auth_verified_check_body(&res, wrong),
			                 ERR_AUTH_PAYLOAD_MISMATCH);
		} else {
			/* S3 presigned bodies are never signed. */
			assert_int_equal(res.payload, AUTH_PAYLOAD_UNSIGNED);
			assert_int_equal(auth_verified_check_body(&res, wrong), 0);
		}
		auth_verified_free(&res);
	}
}

static void unsigned_payload(void **state)
{
	(void)state;
	for (size_t a = 0; a < 2; a++) {
		struct sp p = sp_default(algs[a], AUTH_FORM_HEADER);
		struct treq t;
		struct auth_verified res;
		p.payload = "UNSIGNED-PAYLOAD";
		signed_request(&t, &p);
		assert_int_equal(verify_at(&t, T0, &res), 0);
		assert_int_equal(res.payload, AUTH_PAYLOAD_UNSIGNED);
		auth_verified_free(&res);
	}
}

static void clock_skew(void **state)
{
	(void)state;
	for (size_t a = 0; a < 2; a++) {
		struct sp p = sp_default(algs[a], AUTH_FORM_HEADER);
		struct treq t;
		signed_request(&t, &p);
		/* now - date: the request is old (+) or from the future (-). */
		expect_at("skew +899", &t, T0 + 899, 0);
		expect_at("skew -899", &t, T0 - 899, 0);
		expect_at("skew +900", &t, T0 + 900, 0);
		expect_at("skew -900", &t, T0 - 900, 0);
		expect_at("skew +901", &t, T0 + 901, ERR_AUTH_SKEW);
		expect_at("skew -901", &t, T0 - 901, ERR_AUTH_SKEW);
	}
}

static void edit_expires_too_long(struct treq *t)
{
	replace(t->query, sizeof(t->query), "X-Amz-Expires=3600", "X-Amz-Expires=604801");
}

static void edit_expires_zero(struct treq *t)
{
	replace(t->query, sizeof(t->query), "X-Amz-Expires=3600", "X-Amz-Expires=0");
}

static void edit_expires_negative(struct treq *t)
{
	replace(t->query, sizeof(t->query), "X-Amz-Expires=3600", "X-Amz-Expires=-5");
}

static void presign_freshness(void **state)
{
	(void)state;
	for (size_t a = 0; a < 2; a++) {
		struct sp p = sp_default(algs[a], AUTH_FORM_QUERY);
		struct treq t;
		signed_request(&t, &p);
		expect_at("presign at date", &t, T0, 0);
		expect_at("presign last second", &t, T0 + 3600, 0);
		expect_at("presign expired", &t, T0 + 3601, ERR_AUTH_EXPIRED);
		expect_at("presign within skew", &t, T0 - 60, 0);
		expect_at("presign not yet valid", &t, T0 - 901, ERR_AUTH_NOT_YET_VALID);

		expect_signed("X-Amz-Expires=604801", &p, edit_expires_too_long,
		              ERR_AUTH_QUERY_MALFORMED);
		expect_signed("X-Amz-Expires=0", &p, edit_expires_zero, ERR_AUTH_QUERY_MALFORMED);
		expect_signed("X-Amz-Expires=-5", &p, edit_expires_negative,
		              ERR_AUTH_QUERY_MALFORMED);
		p.expires = AUTH_MAX_PRESIGN;
		signed_request(&t, &p);
		expect_at("a week", &t, T0 + AUTH_MAX_PRESIGN, 0);
		expect_at("a week and a second", &t, T0 + AUTH_MAX_PRESIGN + 1, ERR_AUTH_EXPIRED);
	}
}

static void scope_region_and_service(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		int malformed =
		    p.form == AUTH_FORM_HEADER ? ERR_AUTH_MALFORMED : ERR_AUTH_QUERY_MALFORMED;
		struct treq t;
		struct auth_verified res;
		if (p.alg == AUTH_SIGV4) {
			p.region = "eu-west-1";
			signed_request(&t, &p);
			assert_int_equal(verify_at(&t, T0, &res), malformed);
			if (!strstr(res.detail, "us-east-1"))
				fail_msg("detail does not name the expected region: %s",
				         res.detail);
			assert_non_null(strstr(res.detail, "eu-west-1"));
			auth_verified_free(&res);
			p.region = "us-east-1";
		}
		p.service = "iam";
		expect_signed("wrong service", &p, NULL, malformed);
	}
}

/* A verifier with no region (a control endpoint) takes any region in the
 * scope and any region set, and still refuses a wrong service. */
static void any_region_verifier(void **state)
{
	(void)state;
	static const char *const regions[] = { "eu-west-1", "ap-south-2", "us-east-1" };
	for (size_t i = 0; i < NCOMBOS; i++)
		for (size_t k = 0; k < sizeof(regions) / sizeof(regions[0]); k++) {
			struct sp p = sp_default(combos[i].alg, combos[i].form);
			p.region = regions[k];
			struct treq t;
			signed_request(&t, &p);
			struct auth_verifier v = s3_verifier(NULL);
			struct auth_verified res;
			v.region = IOV_LIT("");
			int rc = verify_with(&v, &t, T0, &res);
			if (rc)
				print_error("%s in %s: %s (%s)\n", combo_name(p.alg, p.form),
				            regions[k], err_name(rc), res.detail);
			auth_verified_free(&res);
			assert_int_equal(rc, 0);
			/* The same request against a region-bound verifier: SigV4
			 * from another region is refused there. */
			v.region = IOV_LIT("us-east-1");
			rc = verify_with(&v, &t, T0, &res);
			auth_verified_free(&res);
			if (p.alg == AUTH_SIGV4)
				assert_int_equal(rc == 0, strcmp(regions[k], "us-east-1") == 0);
			p.service = "iam";
			signed_request(&t, &p);
			v.region = IOV_LIT("");
			assert_int_not_equal(verify_with(&v, &t, T0, &res), 0);
			auth_verified_free(&res);
		}
}

static void sigv4a_region_set(void **state)
{
	(void)state;
	static const struct {
		const char *set;
		int want;
	} rows[] = {
		{ "eu-*", ERR_AUTH_REGION },
		{ "us-east-2", ERR_AUTH_REGION },
		{ "eu-west-1,ap-south-1", ERR_AUTH_REGION },
		{ "us-*", 0 },
		{ "*", 0 },
		{ "us-east-1", 0 },
		{ "eu-west-1,us-east-1", 0 },
	};
	for (size_t f = 0; f < 2; f++) {
		enum auth_form form = f ? AUTH_FORM_QUERY : AUTH_FORM_HEADER;
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			struct sp p = sp_default(AUTH_SIGV4A, form);
			char what[96];
			p.region = rows[i].set;
			snprintf(what, sizeof(what), "%s region set %s", combo_name(p.alg, form),
			         rows[i].set);
			expect_signed(what, &p, NULL, rows[i].want);
		}
	}
}

static void edit_unsign_region_set(struct treq *t)
{
	replace(treq_find(t, "Authorization")->value, sizeof(t->h[0].value), ";x-amz-region-set",
	        "");
}

static void edit_drop_region_set_param(struct treq *t)
{
	replace(t->query, sizeof(t->query), "&X-Amz-Region-Set=us-east-1", "");
}

static void edit_add_region_set(struct treq *t)
{
	treq_add(t, "X-Amz-Region-Set", "*");
}

static void region_set_must_be_signed(void **state)
{
	(void)state;
	struct sp p = sp_default(AUTH_SIGV4A, AUTH_FORM_HEADER);
	/* Present but left out of SignedHeaders: S3 rules see an unsigned x-amz-*. */
	expect_signed("unsigned x-amz-region-set", &p, edit_unsign_region_set,
	              ERR_AUTH_UNSIGNED_HEADER);

	/* Without S3 rules the region-set rule itself rejects it. */
	struct treq t;
	struct auth_verified res;
	struct auth_verifier generic = s3_verifier(NULL);
	generic.s3 = false;
	signed_request(&t, &p);
	edit_unsign_region_set(&t);
	assert_int_equal(verify_with(&generic, &t, T0, &res), ERR_AUTH_MALFORMED);
	auth_verified_free(&res);

	/* A presigned SigV4A URL without X-Amz-Region-Set. */
	p = sp_default(AUTH_SIGV4A, AUTH_FORM_QUERY);
	expect_signed("no X-Amz-Region-Set", &p, edit_drop_region_set_param,
	              ERR_AUTH_QUERY_MALFORMED);

	/* A SigV4 request carrying an unsigned region set. */
	p = sp_default(AUTH_SIGV4, AUTH_FORM_HEADER);
	expect_signed("SigV4 + unsigned x-amz-region-set", &p, edit_add_region_set,
	              ERR_AUTH_UNSIGNED_HEADER);
}

static void unknown_access_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		p.key = &unknown_key;
		expect_signed(combo_name(p.alg, p.form), &p, NULL, ERR_AUTH_UNKNOWN_KEY);
	}
}

static void session_tokens(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		const char *what = combo_name(p.alg, p.form);
		p.key = &keys[1];

		p.token = keys[1].token;
		expect_signed(what, &p, NULL, 0);
		p.token = NULL;
		expect_signed(what, &p, NULL, ERR_AUTH_TOKEN);
		p.token = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=chaRs";
		expect_signed(what, &p, NULL, ERR_AUTH_TOKEN);

		/* A token presented for a key that takes none. */
		p.key = &keys[0];
		p.token = keys[1].token;
		expect_signed(what, &p, NULL, ERR_AUTH_TOKEN);

		/* A presigned URL need not sign its token; the verifier retries. */
		if (p.form == AUTH_FORM_QUERY) {
			p.key = &keys[1];
			p.omit_token = true;
			expect_signed(what, &p, NULL, 0);
		}
	}
}

static void edit_drop_content_sha256(struct treq *t)
{
	/* Remove it from the request and from SignedHeaders alike. */
	treq_del(t, "x-amz-content-sha256");
	replace(treq_find(t, "Authorization")->value, sizeof(t->h[0].value),
	        ";x-amz-content-sha256", "");
}

static void edit_dup_content_sha256(struct treq *t)
{
	treq_add(t, "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
}

static void content_sha256(void **state)
{
	(void)state;
	char upper[SHA256_HEX_LEN + 1];
	for (size_t i = 0; i <= SHA256_HEX_LEN; i++)
		upper[i] = body_sha[i] >= 'a' && body_sha[i] <= 'f' ? (char)(body_sha[i] - 32)
		                                                    : body_sha[i];
	for (size_t a = 0; a < 2; a++) {
		struct sp p = sp_default(algs[a], AUTH_FORM_HEADER);
		p.content_header = false;
		expect_signed("no x-amz-content-sha256", &p, NULL, ERR_AUTH_CONTENT_SHA256);

		p = sp_default(algs[a], AUTH_FORM_HEADER);
		expect_signed("x-amz-content-sha256 removed", &p, edit_drop_content_sha256,
		              ERR_AUTH_CONTENT_SHA256);
		expect_signed("x-amz-content-sha256 twice", &p, edit_dup_content_sha256,
		              ERR_AUTH_CONTENT_SHA256);
		p.payload = "not-a-sha256";
		expect_signed("bad x-amz-content-sha256", &p, NULL, ERR_AUTH_CONTENT_SHA256);
		p.payload = upper;
		expect_signed("uppercase x-amz-content-sha256", &p, NULL, ERR_AUTH_CONTENT_SHA256);
		p.payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILERX";
		expect_signed("unknown literal", &p, NULL, ERR_AUTH_CONTENT_SHA256);
		/* Chunks must be signed with the request's own algorithm. */
		p.payload = algs[a] == AUTH_SIGV4 ? "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
		                                  : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
		expect_signed("streaming mode of the other algorithm", &p, NULL,
		              ERR_AUTH_CONTENT_SHA256);
	}
}

/* curl before 8 signs S3 requests without x-amz-content-sha256 (over the
 * empty body's hash): refused by default, accepted with the store's option,
 * and then flagged so the caller treats the body as unsigned. */
static void no_content_sha256_allowed(void **state)
{
	(void)state;
	for (size_t a = 0; a < 2; a++) {
		struct sp p = sp_default(algs[a], AUTH_FORM_HEADER);
		p.content_header = false;
		p.payload = AUTH_EMPTY_SHA256;
		struct treq t;
		signed_request(&t, &p);
		struct auth_verifier v = s3_verifier(NULL);
		struct auth_verified res;
		assert_int_equal(verify_with(&v, &t, T0, &res), ERR_AUTH_CONTENT_SHA256);
		auth_verified_free(&res);
		v.s3_allow_no_content_sha256 = true;
		assert_int_equal(verify_with(&v, &t, T0, &res), 0);
		assert_true(res.content_sha256_absent);
		auth_verified_free(&res);
		/* Signed over another payload hash: still a mismatch. */
		p.payload = body_sha;
		signed_request(&t, &p);
		assert_int_equal(verify_with(&v, &t, T0, &res), ERR_AUTH_MISMATCH);
		auth_verified_free(&res);
		/* With the header present the flag stays off. */
		p = sp_default(algs[a], AUTH_FORM_HEADER);
		signed_request(&t, &p);
		assert_int_equal(verify_with(&v, &t, T0, &res), 0);
		assert_false(res.content_sha256_absent);
		auth_verified_free(&res);
	}
}

static void edit_add_meta(struct treq *t)
{
	treq_add(t, "x-amz-meta-foo", "bar");
}

static void edit_add_other(struct treq *t)
{
	treq_add(t, "X-Custom-Trace", "abc");
}

static void unsigned_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		const char *what = combo_name(p.alg, p.form);
		expect_signed(what, &p, edit_add_meta, ERR_AUTH_UNSIGNED_HEADER);
		/* Only x-amz-* headers must be signed; others are left out. */
		expect_signed(what, &p, edit_add_other, 0);
	}
}

static void auth_mechanisms(void **state)
{
	(void)state;
	struct treq t, h;
	struct sp p;

	/* No signature at all. */
	base_request(&t, AUTH_FORM_HEADER);
	expect_at("unsigned", &t, T0, ERR_AUTH_MISSING);

	for (size_t a = 0; a < 2; a++) {
		/* Both a presigned query and an Authorization header. */
		p = sp_default(algs[a], AUTH_FORM_QUERY);
		signed_request(&t, &p);
		p = sp_default(algs[a], AUTH_FORM_HEADER);
		signed_request(&h, &p);
		treq_add(&t, "Authorization", treq_find(&h, "Authorization")->value);
		expect_at("header and query", &t, T0, ERR_AUTH_MULTIPLE);

		/* Two Authorization headers. */
		treq_add(&h, "Authorization", treq_find(&h, "Authorization")->value);
		expect_at("two Authorization headers", &h, T0, ERR_AUTH_MALFORMED);
	}

	/* An algorithm outside the SigV4 family, in either form. */
	p = sp_default(AUTH_SIGV4, AUTH_FORM_HEADER);
	signed_request(&t, &p);
	replace(treq_find(&t, "Authorization")->value, sizeof(t.h[0].value), "AWS4-HMAC-SHA256",
	        "AWS4-HMAC-SHA1");
	expect_at("AWS4-HMAC-SHA1 header", &t, T0, ERR_AUTH_ALGORITHM);
	p = sp_default(AUTH_SIGV4, AUTH_FORM_QUERY);
	signed_request(&t, &p);
	replace(t.query, sizeof(t.query), "X-Amz-Algorithm=AWS4-HMAC-SHA256",
	        "X-Amz-Algorithm=AWS4-HMAC-SHA1");
	expect_at("AWS4-HMAC-SHA1 query", &t, T0, ERR_AUTH_ALGORITHM);
}

/* One change to a signed part; each must be a signature mismatch. */
static void edit_method(struct treq *t)
{
	copy_str(t->method, sizeof(t->method),
	         t->method[0] == 'P' ? IOV_LIT("POST") : IOV_LIT("HEAD"));
}

static void edit_path(struct treq *t)
{
	replace(t->path, sizeof(t->path), "photos", "phntos");
}

static void edit_query_value(struct treq *t)
{
	replace(t->query, sizeof(t->query), "partNumber=1", "partNumber=2");
}

static void edit_header_value(struct treq *t)
{
	copy_str(treq_find(t, "x-amz-meta-color")->value, sizeof(t->h[0].value),
	         IOV_LIT("deep red"));
}

static void edit_date(struct treq *t)
{
	if (strstr(t->query, "X-Amz-Date="))
		replace(t->query, sizeof(t->query), "T123600Z", "T123601Z");
	else
		replace(treq_find(t, "x-amz-date")->value, sizeof(t->h[0].value), "T123600Z",
		        "T123601Z");
}

static void edit_signature(struct treq *t)
{
	if (strstr(t->query, "X-Amz-Signature="))
		flip_last(t->query);
	else
		flip_last(treq_find(t, "Authorization")->value);
}

static void signature_mismatch(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		void (*edit)(struct treq *);
	} edits[] = {
		{ "method", edit_method },           { "path byte", edit_path },
		{ "query value", edit_query_value }, { "signed header value", edit_header_value },
		{ "x-amz-date", edit_date },         { "signature", edit_signature },
	};
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		const char *alg = p.alg == AUTH_SIGV4 ? AUTH_ALG_SIGV4 : AUTH_ALG_SIGV4A;
		for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
			struct treq t;
			struct auth_verified res;
			signed_request(&t, &p);
			edits[e].edit(&t);
			int rc = verify_at(&t, T0 + 10, &res);
			if (rc != ERR_AUTH_MISMATCH)
				print_error("%s, %s changed: %s (%s)\n", combo_name(p.alg, p.form),
				            edits[e].what, err_name(rc), res.detail);
			assert_int_equal(rc, ERR_AUTH_MISMATCH);
			/* What S3 puts in SignatureDoesNotMatch is there. */
			assert_true(res.canonical_request.len > 0);
			assert_true(iov_starts(buf_iov(&res.string_to_sign), iov_cstr(alg)));
			assert_non_null(strstr(buf_cstr(&res.canonical_request), t.method));
			if (edits[e].edit == edit_signature) {
				assert_true(
				    iov_eq(buf_iov(&res.canonical_request), iov_cstr(t.canonical)));
				assert_true(iov_eq(buf_iov(&res.string_to_sign), iov_cstr(t.sts)));
			} else {
				assert_false(
				    iov_eq(buf_iov(&res.canonical_request), iov_cstr(t.canonical)));
			}
			auth_verified_free(&res);
		}
	}
}

static void uppercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 32);
}

static void sigv4_uppercase_signature(void **state)
{
	(void)state;
	struct sp p = sp_default(AUTH_SIGV4, AUTH_FORM_HEADER);
	struct treq t;
	signed_request(&t, &p);
	char *sig = strstr(treq_find(&t, "Authorization")->value, "Signature=");
	assert_non_null(sig);
	uppercase(sig + strlen("Signature="));
	assert_non_null(strpbrk(sig + strlen("Signature="), "ABCDEF"));
	expect_at("uppercase header signature", &t, T0, ERR_AUTH_MISMATCH);

	p = sp_default(AUTH_SIGV4, AUTH_FORM_QUERY);
	signed_request(&t, &p);
	sig = strstr(t.query, "X-Amz-Signature=");
	assert_non_null(sig);
	uppercase(sig + strlen("X-Amz-Signature="));
	expect_at("uppercase query signature", &t, T0, ERR_AUTH_MISMATCH);
}

/* Changes that canonicalisation undoes. */
static void edit_neutral_headers(struct treq *t)
{
	struct treq copy = *t;
	/* Reverse the header order and change the case of every name. */
	for (size_t i = 0; i < t->nh; i++) {
		t->h[i] = copy.h[t->nh - 1 - i];
		for (char *c = t->h[i].name; *c; c++)
			*c = *c >= 'a' && *c <= 'z'   ? (char)(*c - 32)
			     : *c >= 'A' && *c <= 'Z' ? (char)(*c + 32)
			                              : *c;
	}
	copy_str(treq_find(t, "content-type")->value, sizeof(t->h[0].value),
	         IOV_LIT("  image/jpeg \t "));
	copy_str(treq_find(t, "x-amz-meta-color")->value, sizeof(t->h[0].value),
	         IOV_LIT("\tdeep  \t  blue "));
}

static void edit_neutral_query_order(struct treq *t)
{
	/* The original parameters come first; move partNumber=1 to the end. */
	replace(t->query, sizeof(t->query), "partNumber=1&", "");
	size_t n = strlen(t->query);
	assert_true(n + 14 < sizeof(t->query));
	memcpy(t->query + n, "&partNumber=1", 14);
}

static void canonicalisation_neutral(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCOMBOS; i++) {
		struct sp p = sp_default(combos[i].alg, combos[i].form);
		const char *what = combo_name(p.alg, p.form);
		expect_signed(what, &p, edit_neutral_headers, 0);
		expect_signed(what, &p, edit_neutral_query_order, 0);
	}
}

/* The cache must not change answers when keys are reused across algorithms,
 * tokens and days, or when one access key signs with another secret. */
static void keycache_agrees(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < NCOMBOS; i++) {
			struct sp p = sp_default(combos[i].alg, combos[i].form);
			const char *what = combo_name(p.alg, p.form);
			struct key_row forged = keys[0];
			p.time = T0 + round * 86400; /* a new SigV4 day key each round */
			expect_signed(what, &p, NULL, 0);
			expect_signed(what, &p, edit_signature, ERR_AUTH_MISMATCH);
			forged.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
			p.key = &forged;
			expect_signed(what, &p, NULL, ERR_AUTH_MISMATCH);
			p.key = &keys[1];
			p.token = keys[1].token;
			expect_signed(what, &p, NULL, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_requests),
		cmocka_unit_test(unsigned_payload),
		cmocka_unit_test(clock_skew),
		cmocka_unit_test(presign_freshness),
		cmocka_unit_test(scope_region_and_service),
		cmocka_unit_test(sigv4a_region_set),
		cmocka_unit_test(region_set_must_be_signed),
		cmocka_unit_test(unknown_access_key),
		cmocka_unit_test(session_tokens),
		cmocka_unit_test(content_sha256),
		cmocka_unit_test(no_content_sha256_allowed),
		cmocka_unit_test(unsigned_headers),
		cmocka_unit_test(auth_mechanisms),
		cmocka_unit_test(signature_mismatch),
		cmocka_unit_test(sigv4_uppercase_signature),
		cmocka_unit_test(canonicalisation_neutral),
		cmocka_unit_test(keycache_agrees),
		cmocka_unit_test(any_region_verifier),
	};
	return cmocka_run_group_tests_name("test_verify", tests, setup, teardown);
}
