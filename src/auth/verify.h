/*
 * Verifying a SigV4 or SigV4A signed request, header or presigned form
 * (../shared/docs/SIGV4.md §6). Credentials come from the caller through a
 * lookup interface, so the store supplies its key table and tests a fixed
 * one. Any thread, as long as the lookup is thread-safe.
 */
#ifndef MERIDIAN_AUTH_VERIFY_H
#define MERIDIAN_AUTH_VERIFY_H

#include "auth/auth-t.h"
#include "auth/keycache.h"
#include "auth/sigv4.h"

struct auth_secret {
	struct iov secret;
	struct iov session_token; /* empty: the key takes no token */
};

/* Where access keys are looked up (the store's key table, a test table). */
struct auth_creds_ops {
	const char *name;
	/* Fill *out for the access key; the slices stay valid until the verify
	 * call returns. 0 or ERR_AUTH_UNKNOWN_KEY. */
	int (*lookup)(void *ctx, struct iov access_key, struct auth_secret *out);
};

struct auth_verifier {
	const struct auth_creds_ops *creds;
	void *creds_ctx;
	struct auth_keycache *keys; /* optional, and strongly advised for SigV4A */
	struct iov region;          /* this server's region; empty: any region (an
	                               endpoint not tied to one, like a control API) */
	struct iov service;         /* "s3" */
	enum auth_uri_rules rules;
	int64_t max_skew; /* seconds; 0 means AUTH_DEFAULT_SKEW (15 minutes) */
	/* S3 rules: x-amz-content-sha256 is required in header form, and the
	 * body of a presigned request is UNSIGNED-PAYLOAD. */
	bool s3;
	/* With s3: accept a header-form request without x-amz-content-sha256
	 * (curl before 8 signs that way), reading its payload line as the hash
	 * of an empty body; out->content_sha256_absent then tells the caller a
	 * body the request carries is not covered by the signature. */
	bool s3_allow_no_content_sha256;
};

/* What a verification established, and on failure why. It keeps small
 * outputs in its own storage, so it must not be copied or moved while in use. */
struct auth_verified {
	enum auth_alg alg;
	enum auth_form form;
	char access_key[256];
	enum auth_payload payload;
	uint8_t payload_sha256[SHA256_LEN]; /* AUTH_PAYLOAD_HASH: what the body must hash to */
	int64_t time;
	char date[CLOCK_AMZ_DATE_LEN + 1];
	struct buf scope;
	char signature[AUTH_MAX_SIGNATURE_HEX + 1]; /* the seed for aws-chunked bodies */
	struct auth_key key;                        /* for chunk signatures */
	uint64_t decoded_length;    /* x-amz-decoded-content-length, or UINT64_MAX */
	bool content_sha256_absent; /* see s3_allow_no_content_sha256 */
	struct iov trailer;         /* x-amz-trailer value (borrowed from request) */
	/* For SignatureDoesNotMatch responses and debugging. */
	struct buf canonical_request;
	struct buf string_to_sign;
	/* Human-readable reason for the error code. */
	char detail[256];
	char store_scope[128], store_creq[1024], store_sts[256];
};

void auth_verified_init(struct auth_verified *v);
void auth_verified_free(struct auth_verified *v);

/*
 * Verify `req` at time `now`. On 0 the signature is good and `out` says how
 * the body must be checked: HASH (compare payload_sha256 with the body),
 * UNSIGNED, or an aws-chunked mode (feed the body to auth_chunked).
 * Errors: ERR_AUTH_MISSING, ERR_AUTH_MALFORMED, ERR_AUTH_QUERY_MALFORMED,
 * ERR_AUTH_ALGORITHM, ERR_AUTH_MULTIPLE, ERR_AUTH_UNKNOWN_KEY,
 * ERR_AUTH_MISMATCH, ERR_AUTH_SKEW, ERR_AUTH_EXPIRED, ERR_AUTH_NOT_YET_VALID,
 * ERR_AUTH_REGION, ERR_AUTH_UNSIGNED_HEADER, ERR_AUTH_TOKEN,
 * ERR_AUTH_CONTENT_SHA256, ERR_TOO_BIG, ERR_NOMEM, ERR_CRYPTO; out->detail
 * says more.
 */
int auth_verify(const struct auth_verifier *v, const struct auth_request *req, int64_t now,
                struct auth_verified *out);

/* After a HASH-mode verify: 0 if the body's digest is the signed one,
 * ERR_AUTH_PAYLOAD_MISMATCH otherwise. */
int auth_verified_check_body(const struct auth_verified *v, const uint8_t digest[SHA256_LEN]);

#endif
