/*
 * Every case of the aws-c-auth signing suite (../shared/testvectors):
 * SigV4 canonical request, string-to-sign, signature and signed request equal
 * byte for byte; SigV4A canonical request and string-to-sign equal, the
 * derived public key equals public-key.json, the published signatures and
 * our own verify; the verifier accepts every signed request and rejects it
 * after a change to a signed part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sign.h"
#include "auth/verify.h"
#include "base/err.h"
#include "base/hex.h"
#include "cli/rawreq.h"
#include "crypto/sigv4a_kdf.h"
#include "vectors.h"

/* A file's text without the trailing newline the suite sometimes has. */
static char *vec_text(const char *kind, const char *name, const char *file)
{
	size_t len;
	char *p = vec_read(kind, name, file, &len);
	if (p)
		while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
			p[--len] = '\0';
	return p;
}

/* The value of header `name` in a signed request file, or NULL. */
static char *header_line(const char *req, const char *name, char *out, size_t cap)
{
	const char *p = req;
	size_t n = strlen(name);
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			size_t m = strcspn(p + n + 1, "\n");
			if (m >= cap)
				return NULL;
			memcpy(out, p + n + 1, m);
			out[m] = '\0';
			return out;
		}
	}
	return NULL;
}

struct fixture {
	struct vec_ctx ctx;
	struct rawreq req;
	char *request_txt;
	char payload[SHA256_HEX_LEN + 1];
};

static bool load(const char *kind, const char *name, struct fixture *f)
{
	size_t len;
	if (!vec_context(kind, name, &f->ctx))
		return false;
	f->request_txt = vec_read(kind, name, "request.txt", &len);
	if (!f->request_txt)
		return false;
	if (rawreq_parse(iov_make(f->request_txt, len), RAWREQ_VECTOR, &f->req))
		return false;
	if (f->ctx.sign_body)
		sha256_hex(f->req.body.base, f->req.body.len, f->payload);
	else
		snprintf(f->payload, sizeof(f->payload), "%s", AUTH_EMPTY_SHA256);
	return true;
}

static struct auth_sign_opts opts_for(const struct fixture *f, enum auth_alg alg,
                                      enum auth_form form)
{
	return (struct auth_sign_opts){
		.alg = alg,
		.form = form,
		.creds = { iov_cstr(f->ctx.akid), iov_cstr(f->ctx.secret),
		           iov_cstr(f->ctx.has_token ? f->ctx.token : NULL) },
		.region = iov_cstr(f->ctx.region),
		.service = iov_cstr(f->ctx.service),
		.time = f->ctx.time,
		.payload_hash = iov_cstr(f->payload),
		.rules = (f->ctx.normalize ? AUTH_URI_NORMALIZE : 0) | AUTH_URI_DOUBLE_ENCODE,
		.content_sha256_header = f->ctx.sign_body && form == AUTH_FORM_HEADER,
		.omit_session_token = f->ctx.omit_token,
		.expires = f->ctx.expires,
	};
}

static int expect_eq(const char *what, const char *name, struct iov got, const char *want)
{
	if (want && iov_eq(got, iov_cstr(want)))
		return 0;
	print_error("%s: %s differs\n--- got\n%.*s\n--- want\n%s\n", name, what, IOV_ARG(got),
	            want ? want : "(missing file)");
	return 1;
}

/* The public key of the case from public-key.json. */
static struct p256_key *vector_public_key(const char *name)
{
	/* The two incomplete cases share every other case's credentials. */
	char *json = vec_read("sigv4a", name, "public-key.json", NULL);
	if (!json)
		json = vec_read("sigv4a", "get-vanilla", "public-key.json", NULL);
	uint8_t x[32], y[32];
	struct p256_key *k = NULL;
	if (!json)
		return NULL;
	const char *px = strstr(json, "\"X\""), *py = strstr(json, "\"Y\"");
	if (px && py) {
		px = strchr(px + 3, '"');
		py = strchr(py + 3, '"');
		if (px && py && hex_decode(iov_make(px + 1, 64), x, 32) == 0 &&
		    hex_decode(iov_make(py + 1, 64), y, 32) == 0)
			p256_key_from_public(x, y, &k);
	}
	free(json);
	return k;
}

static int verify_with(struct p256_key *pub, const char *sts, const char *sig_hex)
{
	struct auth_key k = { .alg = AUTH_SIGV4A, .ec = pub };
	return auth_key_verify(&k, iov_cstr(sts), iov_cstr(sig_hex));
}

/* Sign one case in one form and compare with the files. Returns failures. */
static int check_sign(const char *kind, const char *name, enum auth_form form)
{
	enum auth_alg alg = strcmp(kind, "sigv4a") == 0 ? AUTH_SIGV4A : AUTH_SIGV4;
	const char *pre = form == AUTH_FORM_HEADER ? "header" : "query";
	char file[64];
	struct fixture f;
	int bad = 0;

	if (!load(kind, name, &f)) {
		print_error("%s/%s: cannot load\n", kind, name);
		return 1;
	}
	struct auth_sign_opts o = opts_for(&f, alg, form);
	struct auth_request r = rawreq_view(&f.req);
	struct auth_signature s;
	auth_signature_init(&s);
	int rc = auth_sign(&o, &r, &s);
	if (rc) {
		print_error("%s/%s: sign failed %s\n", kind, name, err_name(rc));
		free(f.request_txt);
		auth_signature_free(&s);
		return 1;
	}
	snprintf(file, sizeof(file), "%s-canonical-request.txt", pre);
	char *creq = vec_text(kind, name, file);
	snprintf(file, sizeof(file), "%s-string-to-sign.txt", pre);
	char *sts = vec_text(kind, name, file);
	snprintf(file, sizeof(file), "%s-signature.txt", pre);
	char *sig = vec_text(kind, name, file);
	snprintf(file, sizeof(file), "%s-signed-request.txt", pre);
	char *signed_req = vec_text(kind, name, file);
	bool complete = creq && sts && sig && signed_req;

	if (!complete && alg == AUTH_SIGV4) {
		print_error("%s/%s: incomplete case\n", kind, name);
		bad++;
	}
	if (complete) {
		bad += expect_eq("canonical request", name, buf_iov(&s.canonical_request), creq);
		bad += expect_eq("string to sign", name, buf_iov(&s.string_to_sign), sts);
	}
	if (complete && alg == AUTH_SIGV4) {
		bad += expect_eq("signature", name, iov_cstr(s.signature), sig);
		if (form == AUTH_FORM_HEADER) {
			char line[4096];
			for (size_t i = 0; i < s.nadded; i++) {
				char hname[64];
				snprintf(hname, sizeof(hname), IOV_FMT, IOV_ARG(s.added[i].name));
				bad +=
				    expect_eq(hname, name, s.added[i].value,
				              header_line(signed_req, hname, line, sizeof(line)));
			}
		} else {
			/* The request line's query is ours exactly. */
			const char *q = strchr(signed_req, '?');
			const char *end = q ? strstr(q, " HTTP/1.1") : NULL;
			if (!end ||
			    !iov_eq(buf_iov(&s.query), iov_make(q + 1, (size_t)(end - q - 1)))) {
				print_error("%s/%s: presigned query differs: %.*s\n", kind, name,
				            IOV_ARG(buf_iov(&s.query)));
				bad++;
			}
		}
	}
	if (alg == AUTH_SIGV4A) {
		/* The derived key equals public-key.json, and signatures verify with it. */
		struct p256_key *pub = vector_public_key(name), *mine = NULL;
		uint8_t x1[32], y1[32], x2[32], y2[32];
		if (!pub || sigv4a_derive_key(o.creds.access_key, o.creds.secret_key, &mine) ||
		    p256_key_public(pub, x1, y1) || p256_key_public(mine, x2, y2) ||
		    memcmp(x1, x2, 32) || memcmp(y1, y2, 32)) {
			print_error("%s/%s: derived public key differs\n", kind, name);
			bad++;
		}
		const char *want_sts = complete ? sts : s.string_to_sign.data;
		if (pub && verify_with(pub, buf_cstr(&s.string_to_sign), s.signature)) {
			print_error("%s/%s: our signature does not verify\n", kind, name);
			bad++;
		}
		if (pub && complete && verify_with(pub, want_sts, sig)) {
			print_error("%s/%s: %s-signature.txt does not verify\n", kind, name, pre);
			bad++;
		}
		if (pub && complete) {
			/* The signature inside the signed request. */
			const char *p =
			    strstr(signed_req,
			           form == AUTH_FORM_HEADER ? "Signature=" : "X-Amz-Signature=");
			char inner[200] = "";
			if (p) {
				p = strchr(p, '=') + 1;
				size_t m = strcspn(p, " &\n");
				snprintf(inner, sizeof(inner), "%.*s", (int)m, p);
			}
			if (verify_with(pub, want_sts, inner)) {
				print_error("%s/%s: signed request's signature does not verify\n",
				            kind, name);
				bad++;
			}
			/* A one-bit change to the string-to-sign must not verify. */
			char *tampered = strdup(want_sts);
			tampered[strlen(tampered) - 1] ^= 1;
			if (verify_with(pub, tampered, sig) != ERR_AUTH_MISMATCH) {
				print_error("%s/%s: tampered string-to-sign verified\n", kind,
				            name);
				bad++;
			}
			free(tampered);
		}
		p256_key_free(pub);
		p256_key_free(mine);
	}
	free(creq);
	free(sts);
	free(sig);
	free(signed_req);
	free(f.request_txt);
	auth_signature_free(&s);
	return bad;
}

/* The credentials of the case, for the verifier. */
static int ctx_lookup(void *arg, struct iov ak, struct auth_secret *out)
{
	const struct vec_ctx *c = arg;
	if (!iov_eq(ak, iov_cstr(c->akid)))
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = iov_cstr(c->secret);
	out->session_token = iov_cstr(c->has_token ? c->token : NULL);
	return 0;
}

static const struct auth_creds_ops ctx_ops = { "vector", ctx_lookup };

static int verify_text(const struct vec_ctx *c, char *text, size_t len, struct auth_verified *res)
{
	struct rawreq r;
	if (rawreq_parse(iov_make(text, len), RAWREQ_VECTOR, &r))
		return ERR_INVALID;
	/* The region a SigV4A server would sit in: the first entry of the set. */
	char region[64];
	snprintf(region, sizeof(region), "%.*s", (int)strcspn(c->region, ","), c->region);
	struct auth_verifier v = {
		.creds = &ctx_ops,
		.creds_ctx = (void *)c,
		.region = iov_cstr(region),
		.service = iov_cstr(c->service),
		.rules = (c->normalize ? AUTH_URI_NORMALIZE : 0) | AUTH_URI_DOUBLE_ENCODE,
	};
	struct auth_request req = rawreq_view(&r);
	char body_hash[SHA256_HEX_LEN + 1];
	sha256_hex(r.body.base, r.body.len, body_hash);
	req.payload_hash = iov_cstr(body_hash);
	auth_verified_init(res);
	int rc = auth_verify(&v, &req, c->time + 1, res);
	return rc;
}

/* The verifier accepts the published signed request and rejects changes. */
static int check_verify(const char *kind, const char *name, const char *file)
{
	struct vec_ctx c;
	size_t len;
	int bad = 0;
	char *text = vec_read(kind, name, file, &len);
	if (!text)
		return strcmp(kind, "sigv4a") == 0 ? 0 : 1; /* two v4a cases have no outputs */
	if (!vec_context(kind, name, &c)) {
		free(text);
		return 1;
	}
	struct auth_verified res;
	int rc = verify_text(&c, text, len, &res);
	if (rc) {
		print_error("%s/%s/%s: rejected: %s (%s)\n--- canonical\n%.*s\n", kind, name, file,
		            err_name(rc), res.detail, IOV_ARG(buf_iov(&res.canonical_request)));
		bad++;
	}
	auth_verified_free(&res);

	/* Tamper: the method, the signature's last digit, the date's seconds. */
	const char *targets[] = { "GET ", "POST ", "Signature=", "X-Amz-Signature=", "T123600Z" };
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		char *copy = malloc(len + 1);
		memcpy(copy, text, len + 1);
		char *p = strstr(copy, targets[t]);
		if (!p) {
			free(copy);
			continue;
		}
		if (t < 2)
			p[0] = p[0] == 'G' ? 'P' : 'G'; /* GET <-> PET, POST <-> GOST */
		else if (t < 4)
			p += strlen(targets[t]) + 10, *p = *p == '0' ? '1' : '0';
		else
			p[5] = p[5] == '0' ? '1' : '0';
		rc = verify_text(&c, copy, len, &res);
		if (rc == 0) {
			print_error("%s/%s/%s: accepted after changing '%s'\n", kind, name, file,
			            targets[t]);
			bad++;
		}
		auth_verified_free(&res);
		free(copy);
	}
	free(text);
	return bad;
}

static void run_kind(const char *kind, size_t want_cases)
{
	size_t n;
	char **cases = vec_cases(kind, &n);
	int bad = 0;
	assert_int_equal(n, want_cases);
	for (size_t i = 0; i < n; i++) {
		bad += check_sign(kind, cases[i], AUTH_FORM_HEADER);
		bad += check_sign(kind, cases[i], AUTH_FORM_QUERY);
		bad += check_verify(kind, cases[i], "header-signed-request.txt");
		bad += check_verify(kind, cases[i], "query-signed-request.txt");
	}
	vec_free_cases(cases, n);
	assert_int_equal(bad, 0);
}

static void sigv4_suite(void **state)
{
	(void)state;
	run_kind("sigv4", 38);
}

static void sigv4a_suite(void **state)
{
	(void)state;
	run_kind("sigv4a", 40);
}

/* SIGV4.md §2 known answer: kSigning for get-vanilla. */
static void sigv4_signing_key_kat(void **state)
{
	(void)state;
	uint8_t k[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	auth_sigv4_signing_key(IOV_LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
	                       IOV_LIT("20150830"), IOV_LIT("us-east-1"), IOV_LIT("service"), k);
	hex_encode(k, SHA256_LEN, hex);
	assert_string_equal(hex,
	                    "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigv4_signing_key_kat),
		cmocka_unit_test(sigv4_suite),
		cmocka_unit_test(sigv4a_suite),
	};
	return cmocka_run_group_tests_name("test_auth_vectors", tests, NULL, NULL);
}
