/*
 * Types shared by the signer, the verifier and their callers. The request
 * view is neutral to HTTP: the store, the edge's origin signer, the router
 * and the CLI each fill one from their own request representation.
 * Everything a view points at is borrowed for the duration of one call.
 */
#ifndef MERIDIAN_AUTH_AUTH_T_H
#define MERIDIAN_AUTH_AUTH_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/iov.h"

/* Caps on what a signed request may carry (network-fed, so bounded). */
#define AUTH_MAX_HEADERS       128
#define AUTH_MAX_QUERY_PARAMS  256
#define AUTH_MAX_PATH_SEGMENTS 256 /* generic-mode normalisation only */
#define AUTH_MAX_CANONICAL     (64 * 1024)
#define AUTH_MAX_SIGNATURE_HEX 144 /* DER ECDSA, with or without '*' padding */
#define AUTH_MAX_PRESIGN       604800
#define AUTH_DEFAULT_SKEW      900

#define AUTH_ALG_SIGV4  "AWS4-HMAC-SHA256"
#define AUTH_ALG_SIGV4A "AWS4-ECDSA-P256-SHA256"

#define AUTH_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum auth_alg {
	AUTH_SIGV4 = 1,
	AUTH_SIGV4A = 2,
};

enum auth_form {
	AUTH_FORM_HEADER = 1, /* Authorization header */
	AUTH_FORM_QUERY = 2,  /* presigned URL */
};

/*
 * What the payload hash string in the canonical request says about the body.
 * The X-macro gives the enum and the literal each mode is sent as.
 */
#define AUTH_PAYLOAD_MAP(X)                                                            \
	X(HASH, NULL)                                                                  \
	X(UNSIGNED, "UNSIGNED-PAYLOAD")                                                \
	X(STREAMING_HMAC, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")                        \
	X(STREAMING_HMAC_TRAILER, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")        \
	X(STREAMING_ECDSA, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")                 \
	X(STREAMING_ECDSA_TRAILER, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER") \
	X(STREAMING_UNSIGNED_TRAILER, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")

enum auth_payload {
#define AUTH_PAYLOAD_ENUM(name, literal) AUTH_PAYLOAD_##name,
	AUTH_PAYLOAD_MAP(AUTH_PAYLOAD_ENUM)
#undef AUTH_PAYLOAD_ENUM
};

struct auth_header {
	struct iov name;
	struct iov value;
};

/* A request as it arrived (verify) or as it will be sent (sign). */
struct auth_request {
	struct iov method;
	struct iov path;  /* raw request-target path, percent-encoded, no query */
	struct iov query; /* raw query without '?'; empty when there is none */
	const struct auth_header *headers;
	size_t nheaders;
	/*
	 * Optional: hex SHA-256 of a body the caller already holds. Used only in
	 * generic (non-S3) mode when no x-amz-content-sha256 header is signed.
	 */
	struct iov payload_hash;
};

/* Canonical URI rules, as flags: S3 signs the wire path as it is. */
enum auth_uri_rules {
	AUTH_URI_S3 = 0,            /* no normalisation, no double encoding */
	AUTH_URI_NORMALIZE = 1,     /* drop empty and "." segments, apply ".." */
	AUTH_URI_DOUBLE_ENCODE = 2, /* percent-encode the wire path once more */
	AUTH_URI_GENERIC = 3,       /* every other AWS service: both */
};

#endif
