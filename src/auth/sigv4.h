/*
 * The parts SigV4 and SigV4A share between signing and verifying: the
 * credential scope, the canonical request, the string-to-sign and the
 * signature primitive of each algorithm, and region-set matching
 * (../shared/docs/SIGV4.md §1-§3, §6). Pure; any thread.
 */
#ifndef MERIDIAN_AUTH_SIGV4_H
#define MERIDIAN_AUTH_SIGV4_H

#include "auth/auth-t.h"
#include "crypto/p256.h"
#include "crypto/sha256.h"

/* The literal a payload mode is sent as (NULL for HASH). */
const char *auth_payload_literal(enum auth_payload mode);
/* Classify a payload hash string: a literal, or 64 hex digits (HASH, with
 * the digest in `digest` if non-NULL). ERR_AUTH_CONTENT_SHA256 otherwise. */
int auth_payload_parse(struct iov value, enum auth_payload *mode, uint8_t digest[SHA256_LEN]);
/* Whether the mode's body is aws-chunked. */
bool auth_payload_is_chunked(enum auth_payload mode);

const char *auth_alg_name(enum auth_alg alg);

/* Append the credential scope: date8/region/service/aws4_request (SigV4) or
 * date8/service/aws4_request (SigV4A). */
int auth_scope(struct buf *out, enum auth_alg alg, struct iov date8, struct iov region,
               struct iov service);

/* Append Method \n URI \n Query \n Headers \n SignedHeaders \n PayloadHash. */
int auth_canonical_request(struct buf *out, struct iov method, struct iov uri, struct iov query,
                           struct iov headers, struct iov signed_list, struct iov payload);

/* Append ALG \n DATE \n SCOPE \n hex(SHA256(canonical_request)). */
int auth_string_to_sign(struct buf *out, enum auth_alg alg, struct iov date, struct iov scope,
                        struct iov canonical_request);

/* Signing key material for one request: the SigV4 day key or the SigV4A key
 * pair (a reference). */
struct auth_key {
	enum auth_alg alg;
	uint8_t ksigning[SHA256_LEN];
	struct p256_key *ec;
};

/* Hex signature of `sts` into out (AUTH_MAX_SIGNATURE_HEX + 1 bytes). */
int auth_key_sign(const struct auth_key *k, struct iov sts, char *out, size_t *outlen);
/*
 * Check a hex signature over `sts` (constant-time for SigV4; for SigV4A any
 * '*' padding is ignored). 0 or ERR_AUTH_MISMATCH.
 */
int auth_key_verify(const struct auth_key *k, struct iov sts, struct iov signature);

/*
 * Whether `region` is in a SigV4A region set: comma-separated entries, each
 * trimmed, matched as globs where '*' stands for any run of characters
 * ("*", "us-*", "us-east-1"). Case-sensitive, like region names.
 */
bool auth_region_set_match(struct iov set, struct iov region);

#endif
