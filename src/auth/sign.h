/*
 * Signing a request with SigV4 or SigV4A, in header form (headers to add)
 * or query form (a presigned URL's query). Used by the CLI, the edge's
 * origin signer and the replication sender. Any thread.
 */
#ifndef MERIDIAN_AUTH_SIGN_H
#define MERIDIAN_AUTH_SIGN_H

#include "auth/auth-t.h"
#include "auth/keycache.h"

struct auth_creds {
	struct iov access_key;
	struct iov secret_key;
	struct iov session_token; /* empty: none */
};

struct auth_sign_opts {
	enum auth_alg alg;
	enum auth_form form;
	struct auth_creds creds;
	struct iov region; /* SigV4: the region; SigV4A: the region set ("*") */
	struct iov service;
	int64_t time; /* seconds since the epoch, UTC */
	/*
	 * The payload hash line: 64 hex digits or a literal such as
	 * UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD. Empty means
	 * UNSIGNED-PAYLOAD in query form and the empty body's hash otherwise.
	 */
	struct iov payload_hash;
	enum auth_uri_rules rules;
	bool content_sha256_header; /* header form: add and sign x-amz-content-sha256 */
	bool omit_session_token;    /* send the token but leave it out of the signature */
	uint32_t expires;           /* query form: X-Amz-Expires, 1..604800 */
	struct auth_keycache *keys; /* optional; derived keys are reused from here */
};

#define AUTH_SIGN_MAX_ADDED 5

/*
 * The signer's output. Initialise with auth_signature_init, free with
 * auth_signature_free. It keeps small outputs in its own storage, so it must
 * not be copied or moved while in use.
 */
struct auth_signature {
	char date[CLOCK_AMZ_DATE_LEN + 1];
	char signature[AUTH_MAX_SIGNATURE_HEX + 1];
	struct buf canonical_request;
	struct buf string_to_sign;
	struct buf scope;
	/* Header form: headers to add, in this order (values point into `values`). */
	struct auth_header added[AUTH_SIGN_MAX_ADDED];
	size_t nadded;
	struct buf values;
	/* Query form: the whole query to send, the original parameters first. */
	struct buf query;
	char store_creq[1024], store_sts[256], store_scope[128], store_values[1024];
};

void auth_signature_init(struct auth_signature *s);
void auth_signature_free(struct auth_signature *s);

/*
 * Sign `req` (borrowed). The request must not already carry the headers or
 * query parameters the signer adds (ERR_INVALID). In header form, `req`'s
 * headers plus the added ones are the signed set, minus the never-sign list.
 * 0, ERR_INVALID, ERR_TOO_BIG, ERR_CRYPTO or ERR_NOMEM.
 */
int auth_sign(const struct auth_sign_opts *o, const struct auth_request *req,
              struct auth_signature *out);

#endif
