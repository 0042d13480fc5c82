/* SigV4 / SigV4A verifier. Any thread. */
#include "auth/verify.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "auth/canon.h"
#include "auth/parse.h"
#include "base/err.h"

void auth_verified_init(struct auth_verified *v)
{
	memset(v, 0, offsetof(struct auth_verified, store_scope));
	buf_init_with(&v->scope, v->store_scope, sizeof(v->store_scope), 512);
	buf_init_with(&v->canonical_request, v->store_creq, sizeof(v->store_creq),
	              AUTH_MAX_CANONICAL);
	buf_init_with(&v->string_to_sign, v->store_sts, sizeof(v->store_sts), AUTH_MAX_CANONICAL);
	v->decoded_length = UINT64_MAX;
}

void auth_verified_free(struct auth_verified *v)
{
	buf_free(&v->scope);
	buf_free(&v->canonical_request);
	buf_free(&v->string_to_sign);
	p256_key_free(v->key.ec);
	v->key.ec = NULL;
}

static int fail(struct auth_verified *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct auth_verified *out, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	return code;
}

/* The only value of a header that must appear at most once. */
static int single_header(const struct auth_request *r, struct iov name, struct iov *value,
                         bool *found)
{
	*found = false;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (!iov_eq_nocase(r->headers[i].name, name))
			continue;
		if (*found)
			return ERR_AUTH_MALFORMED;
		*value = iov_trim(r->headers[i].value);
		*found = true;
	}
	return 0;
}

/* Every x-amz-* header present must be signed (S3 rule; other AWS
 * services let a signer leave, say, a session token out). */
static int check_unsigned(const struct auth_request *r, struct iov signed_list,
                          struct auth_verified *out)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		struct iov name = r->headers[i].name, rest = signed_list, s;
		if (name.len < 6 || !iov_eq_nocase(iov_sub(name, 0, 6), IOV_LIT("x-amz-")))
			continue;
		bool found = false;
		while (!found && rest.base) {
			rest = iov_split(rest, ';', &s);
			found = iov_eq_nocase(s, name);
		}
		if (!found)
			return fail(out, ERR_AUTH_UNSIGNED_HEADER,
			            "There were headers present in the request which were not "
			            "signed: " IOV_FMT,
			            IOV_ARG(name));
	}
	return 0;
}

/* Time, scope and freshness rules. */
static int check_time(const struct auth_verifier *v, const struct auth_parsed *p,
                      struct iov amz_date, int64_t now, struct auth_verified *out)
{
	int64_t skew = v->max_skew > 0 ? v->max_skew : AUTH_DEFAULT_SKEW;
	if (clock_parse_amz(amz_date, &out->time))
		return fail(
		    out, p->form == AUTH_FORM_QUERY ? ERR_AUTH_QUERY_MALFORMED : ERR_AUTH_MALFORMED,
		    "X-Amz-Date must be in the ISO8601 Long Format "
		    "\"yyyyMMdd'T'HHmmss'Z'\"");
	memcpy(out->date, amz_date.base, CLOCK_AMZ_DATE_LEN);
	out->date[CLOCK_AMZ_DATE_LEN] = '\0';
	if (!iov_eq(p->date8, iov_make(amz_date.base, 8)))
		return fail(
		    out, p->form == AUTH_FORM_QUERY ? ERR_AUTH_QUERY_MALFORMED : ERR_AUTH_MALFORMED,
		    "the credential date " IOV_FMT " does not match X-Amz-Date " IOV_FMT,
		    IOV_ARG(p->date8), IOV_ARG(amz_date));

	if (p->form == AUTH_FORM_HEADER) {
		if (out->time > now + skew || out->time < now - skew)
			return fail(out, ERR_AUTH_SKEW,
			            "The difference between the request time and the current time "
			            "is too large.");
		return 0;
	}
	unsigned long long expires;
	if (iov_to_u64(p->expires, AUTH_MAX_PRESIGN, &expires) || expires < 1)
		return fail(out, ERR_AUTH_QUERY_MALFORMED,
		            "X-Amz-Expires must be less than a week (in seconds); that is, the "
		            "given X-Amz-Expires must be less than 604800 seconds");
	if (out->time > now + skew)
		return fail(out, ERR_AUTH_NOT_YET_VALID, "Request is not yet valid");
	if (now > out->time + (int64_t)expires)
		return fail(out, ERR_AUTH_EXPIRED, "Request has expired");
	return 0;
}

/* Scope region/service against this server. */
static int check_scope(const struct auth_verifier *v, const struct auth_parsed *p,
                       struct auth_verified *out)
{
	int malformed = p->form == AUTH_FORM_QUERY ? ERR_AUTH_QUERY_MALFORMED : ERR_AUTH_MALFORMED;
	if (!iov_eq(p->service, v->service))
		return fail(out, malformed,
		            "incorrect service \"" IOV_FMT "\"; expecting \"" IOV_FMT "\"",
		            IOV_ARG(p->service), IOV_ARG(v->service));
	if (p->alg == AUTH_SIGV4 && v->region.len && !iov_eq(p->region, v->region))
		return fail(out, malformed,
		            "the region '" IOV_FMT "' is wrong; expecting '" IOV_FMT "'",
		            IOV_ARG(p->region), IOV_ARG(v->region));
	return 0;
}

/* Required signed headers, and the SigV4A region set. */
static int check_signed_headers(const struct auth_verifier *v, const struct auth_request *r,
                                const struct auth_parsed *p, struct auth_verified *out)
{
	struct iov sh = p->signed_headers;
	if (!auth_signed_list_has(sh, IOV_LIT("host")))
		return fail(
		    out, p->form == AUTH_FORM_QUERY ? ERR_AUTH_QUERY_MALFORMED : ERR_AUTH_MALFORMED,
		    "SignedHeaders must include host");
	if (p->form == AUTH_FORM_HEADER && !auth_signed_list_has(sh, IOV_LIT("x-amz-date")))
		return fail(out, ERR_AUTH_MALFORMED, "SignedHeaders must include x-amz-date");

	int rc = v->s3 ? check_unsigned(r, sh, out) : 0;
	if (rc || p->alg != AUTH_SIGV4A)
		return rc;

	struct iov set = p->region_set;
	if (p->form == AUTH_FORM_HEADER) {
		bool found;
		if (!auth_signed_list_has(sh, IOV_LIT("x-amz-region-set")))
			return fail(out, ERR_AUTH_MALFORMED,
			            "SigV4A requires a signed x-amz-region-set header");
		if (single_header(r, IOV_LIT("x-amz-region-set"), &set, &found) || !found)
			return fail(out, ERR_AUTH_MALFORMED,
			            "exactly one x-amz-region-set header is required");
	} else if (!set.base) {
		return fail(out, ERR_AUTH_QUERY_MALFORMED, "SigV4A requires X-Amz-Region-Set");
	}
	if (v->region.len && !auth_region_set_match(set, v->region))
		return fail(out, ERR_AUTH_REGION,
		            "the region set '" IOV_FMT "' does not include '" IOV_FMT "'",
		            IOV_ARG(set), IOV_ARG(v->region));
	return 0;
}

/* The payload hash line, and what it says about the body. */
static int payload_line(const struct auth_verifier *v, const struct auth_request *r,
                        const struct auth_parsed *p, struct iov *payload, struct auth_verified *out)
{
	struct iov value;
	bool found;
	if (single_header(r, IOV_LIT("x-amz-content-sha256"), &value, &found))
		return fail(out, ERR_AUTH_CONTENT_SHA256, "x-amz-content-sha256 appears twice");

	if (p->form == AUTH_FORM_QUERY) {
		/* S3 presigned bodies are unsigned unless the hash header is signed. */
		if (found &&
		    auth_signed_list_has(p->signed_headers, IOV_LIT("x-amz-content-sha256")))
			*payload = value;
		else
			*payload = v->s3                 ? IOV_LIT("UNSIGNED-PAYLOAD")
			           : r->payload_hash.len ? r->payload_hash
			                                 : IOV_LIT(AUTH_EMPTY_SHA256);
	} else if (found) {
		*payload = value;
	} else if (v->s3 && v->s3_allow_no_content_sha256) {
		*payload = IOV_LIT(AUTH_EMPTY_SHA256);
		out->content_sha256_absent = true;
	} else if (v->s3) {
		return fail(out, ERR_AUTH_CONTENT_SHA256,
		            "Missing required header for this request: x-amz-content-sha256");
	} else {
		*payload = r->payload_hash.len ? r->payload_hash : IOV_LIT(AUTH_EMPTY_SHA256);
	}
	if (auth_payload_parse(*payload, &out->payload, out->payload_sha256))
		return fail(out, ERR_AUTH_CONTENT_SHA256,
		            "The value of x-amz-content-sha256 header is invalid.");
	if (p->form == AUTH_FORM_QUERY && auth_payload_is_chunked(out->payload))
		return fail(out, ERR_AUTH_CONTENT_SHA256,
		            "a presigned request cannot carry an aws-chunked body");
	bool hmac_chunks = out->payload == AUTH_PAYLOAD_STREAMING_HMAC ||
	                   out->payload == AUTH_PAYLOAD_STREAMING_HMAC_TRAILER;
	bool ecdsa_chunks = out->payload == AUTH_PAYLOAD_STREAMING_ECDSA ||
	                    out->payload == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER;
	if ((hmac_chunks && p->alg != AUTH_SIGV4) || (ecdsa_chunks && p->alg != AUTH_SIGV4A))
		return fail(out, ERR_AUTH_CONTENT_SHA256,
		            "the streaming payload's algorithm differs from the request's");
	return 0;
}

/* Streaming uploads: the decoded length and declared trailers. */
static int chunked_headers(const struct auth_request *r, struct auth_verified *out)
{
	struct iov value;
	bool found;
	if (!auth_payload_is_chunked(out->payload))
		return 0;
	if (single_header(r, IOV_LIT("x-amz-decoded-content-length"), &value, &found) || !found ||
	    iov_to_u64(value, UINT64_MAX - 1, (unsigned long long *)&out->decoded_length))
		return fail(out, ERR_AUTH_DECODED_LENGTH,
		            "an aws-chunked upload needs one valid x-amz-decoded-content-length");
	if (single_header(r, IOV_LIT("x-amz-trailer"), &value, &found))
		return fail(out, ERR_CHUNK_TRAILER, "x-amz-trailer appears twice");
	out->trailer = found ? value : IOV_NULL;
	return 0;
}

/* Build canonical request and string-to-sign into out, then check the signature. */
static int check_signature(const struct auth_verifier *v, const struct auth_request *r,
                           const struct auth_parsed *p, struct iov payload, bool drop_token,
                           struct auth_verified *out)
{
	char pstore[1024], qstore[2048], hstore[2048];
	struct buf path, query, headers;
	buf_init_with(&path, pstore, sizeof(pstore), AUTH_MAX_CANONICAL);
	buf_init_with(&query, qstore, sizeof(qstore), AUTH_MAX_CANONICAL);
	buf_init_with(&headers, hstore, sizeof(hstore), AUTH_MAX_CANONICAL);
	buf_reset(&out->canonical_request);
	buf_reset(&out->string_to_sign);

	int rc = auth_canon_path(&path, r->path, v->rules);
	if (rc == 0) {
		rc = auth_canon_query(&query, r->query, NULL, 0, p->form == AUTH_FORM_QUERY,
		                      drop_token);
		if (rc == ERR_INVALID)
			rc = fail(out, ERR_AUTH_MISMATCH, "the query has a bad percent-escape");
	}
	if (rc == 0) {
		rc =
		    auth_canon_headers_verify(&headers, p->signed_headers, r->headers, r->nheaders);
		if (rc == ERR_AUTH_MALFORMED)
			fail(out, p->form == AUTH_FORM_QUERY ? ERR_AUTH_QUERY_MALFORMED : rc,
			     "SignedHeaders is malformed or names a header that is not present");
		if (rc == ERR_AUTH_MALFORMED && p->form == AUTH_FORM_QUERY)
			rc = ERR_AUTH_QUERY_MALFORMED;
	}
	if (rc == 0)
		rc = auth_canonical_request(&out->canonical_request, r->method, buf_iov(&path),
		                            buf_iov(&query), buf_iov(&headers), p->signed_headers,
		                            payload);
	if (rc == 0)
		rc = auth_string_to_sign(&out->string_to_sign, p->alg, iov_cstr(out->date),
		                         buf_iov(&out->scope), buf_iov(&out->canonical_request));
	if (rc == 0) {
		rc = auth_key_verify(&out->key, buf_iov(&out->string_to_sign), p->signature);
		if (rc == ERR_AUTH_MISMATCH)
			fail(out, rc,
			     "The request signature we calculated does not match the signature you "
			     "provided. Check your key and signing method.");
	}
	buf_free(&path);
	buf_free(&query);
	buf_free(&headers);
	return rc;
}

static int parse_any(const struct auth_request *r, struct auth_parsed *p, struct iov *amz_date,
                     struct auth_verified *out)
{
	struct iov authz;
	bool found;
	int rc;
	bool presigned = auth_query_is_presigned(r->query);

	if (single_header(r, IOV_LIT("authorization"), &authz, &found))
		return fail(out, ERR_AUTH_MALFORMED, "more than one Authorization header");
	if (found && presigned)
		return fail(out, ERR_AUTH_MULTIPLE,
		            "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
		            "parameter, Signature query string parameter or the Authorization "
		            "header should be specified");
	if (!found && !presigned)
		return fail(out, ERR_AUTH_MISSING, "the request is not signed");

	rc = found ? auth_parse_header(authz, p) : auth_parse_query(r->query, p);
	if (rc)
		return fail(out, rc, "%s", p->why ? p->why : err_text(rc));
	if (!found) {
		*amz_date = p->amz_date;
		return 0;
	}
	if (single_header(r, IOV_LIT("x-amz-date"), amz_date, &found) || !found)
		return fail(out, ERR_AUTH_MALFORMED,
		            "exactly one X-Amz-Date header is required for SigV4");
	return 0;
}

/* The session token rules: the key's token must be presented, and only it. */
static int check_token(const struct auth_request *r, const struct auth_parsed *p,
                       const struct auth_secret *secret, struct auth_verified *out)
{
	struct iov token = p->token;
	bool found = p->has_token;
	if (p->form == AUTH_FORM_HEADER &&
	    single_header(r, IOV_LIT("x-amz-security-token"), &token, &found))
		return fail(out, ERR_AUTH_TOKEN, "more than one X-Amz-Security-Token");
	if (!found && secret->session_token.len == 0)
		return 0;
	if (found != (secret->session_token.len > 0) || token.len != secret->session_token.len ||
	    !crypto_equal(token.base, secret->session_token.base, token.len))
		return fail(out, ERR_AUTH_TOKEN,
		            "The provided token is malformed or otherwise invalid.");
	return 0;
}

int auth_verify(const struct auth_verifier *v, const struct auth_request *r, int64_t now,
                struct auth_verified *out)
{
	struct auth_parsed p;
	struct auth_secret secret = { 0 };
	struct iov amz_date = IOV_NULL, payload;
	int rc;

	out->detail[0] = '\0';
	if (r->nheaders > AUTH_MAX_HEADERS)
		return fail(out, ERR_TOO_BIG, "too many headers");
	rc = parse_any(r, &p, &amz_date, out);
	if (rc)
		return rc;
	out->alg = p.alg;
	out->form = p.form;
	if (p.access_key.len >= sizeof(out->access_key))
		return fail(out, ERR_AUTH_UNKNOWN_KEY, "access key id too long");
	memcpy(out->access_key, p.access_key.base, p.access_key.len);
	out->access_key[p.access_key.len] = '\0';
	memcpy(out->signature, p.signature.base, p.signature.len);
	out->signature[p.signature.len] = '\0';

	if ((rc = check_scope(v, &p, out)) || (rc = check_time(v, &p, amz_date, now, out)) ||
	    (rc = check_signed_headers(v, r, &p, out)) ||
	    (rc = payload_line(v, r, &p, &payload, out)) || (rc = chunked_headers(r, out)))
		return rc;

	rc = v->creds->lookup(v->creds_ctx, p.access_key, &secret);
	if (rc)
		return fail(out, ERR_AUTH_UNKNOWN_KEY,
		            "The AWS Access Key Id you provided does not exist in our records.");
	if ((rc = check_token(r, &p, &secret, out)))
		return rc;

	buf_reset(&out->scope);
	rc = auth_scope(&out->scope, p.alg, p.date8, p.region, p.service);
	if (rc)
		return rc;
	p256_key_free(out->key.ec);
	out->key = (struct auth_key){ .alg = p.alg };
	rc = p.alg == AUTH_SIGV4A
	         ? auth_keycache_v4a(v->keys, p.access_key, secret.secret, &out->key.ec)
	         : auth_keycache_v4(v->keys, p.access_key, secret.secret, p.date8, p.region,
	                            p.service, out->key.ksigning);
	if (rc)
		return rc;

	rc = check_signature(v, r, &p, payload, false, out);
	/* A presigned URL does not say whether its token was signed: S3 tries
	 * "signed" first, then "omitted" (SIGV4.md §5). */
	if (rc == ERR_AUTH_MISMATCH && p.form == AUTH_FORM_QUERY && p.has_token)
		rc = check_signature(v, r, &p, payload, true, out);
	return rc;
}

int auth_verified_check_body(const struct auth_verified *v, const uint8_t digest[SHA256_LEN])
{
	if (v->payload != AUTH_PAYLOAD_HASH)
		return 0;
	return crypto_equal(v->payload_sha256, digest, SHA256_LEN) ? 0 : ERR_AUTH_PAYLOAD_MISMATCH;
}
