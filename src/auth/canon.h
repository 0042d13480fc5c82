/*
 * The canonical request of SigV4 and SigV4A (../shared/docs/SIGV4.md §1):
 * URI encoding, path normalisation, the canonical query string and the
 * canonical header block. Pure functions writing into capped buffers; any
 * thread.
 */
#ifndef MERIDIAN_AUTH_CANON_H
#define MERIDIAN_AUTH_CANON_H

#include "auth/auth-t.h"

/* A query parameter, already decoded (signer-added parameters). */
struct auth_param {
	struct iov key;
	struct iov value;
};

/* Append `in` percent-encoded: unreserved bytes (A-Z a-z 0-9 - _ . ~) stay,
 * and '/' stays too when keep_slash; everything else becomes %XY (uppercase). */
int auth_uri_encode(struct buf *out, struct iov in, bool keep_slash);
/* Append `in` percent-decoded. '+' stays '+'. ERR_INVALID on a bad escape. */
int auth_uri_decode(struct buf *out, struct iov in);

/* The canonical URI of a raw wire path under the given rules. */
int auth_canon_path(struct buf *out, struct iov path, enum auth_uri_rules rules);

/*
 * The canonical query string of a raw query plus `extra` decoded parameters.
 * With drop_signature, X-Amz-Signature is left out (a presigned URL being
 * verified); with drop_token, X-Amz-Security-Token is left out too.
 * ERR_INVALID (bad escape) or ERR_TOO_BIG (over AUTH_MAX_QUERY_PARAMS).
 */
int auth_canon_query(struct buf *out, struct iov query, const struct auth_param *extra,
                     size_t nextra, bool drop_signature, bool drop_token);

/* Next raw key/value pair of a query; false at the end. Empty pieces
 * (a&&b) are skipped, and a piece without '=' has an empty value. */
bool auth_query_next(struct iov *rest, struct iov *key, struct iov *value);

/* Whether a header is on the signer's never-sign list (user-agent, ...). */
bool auth_header_unsignable(struct iov name);

/*
 * Canonical headers for signing: every header except the never-sign list,
 * names lowercased and sorted, repeated names joined with ',' in order,
 * values trimmed with inner whitespace runs collapsed. Writes the block to
 * `canon` and the ';'-joined names to `signed_list`.
 */
int auth_canon_headers_sign(struct buf *canon, struct buf *signed_list, const struct auth_header *h,
                            size_t n);

/*
 * Canonical headers for verifying: exactly the names of `signed_list`, in
 * its order, from the request's headers. ERR_AUTH_MALFORMED if the list is
 * not lowercase names joined by ';', or names a header the request lacks.
 */
int auth_canon_headers_verify(struct buf *canon, struct iov signed_list,
                              const struct auth_header *h, size_t n);

/* Whether `name` (lowercase) is one of the ';'-joined names. */
bool auth_signed_list_has(struct iov signed_list, struct iov name);

#endif
