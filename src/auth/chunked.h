/*
 * Incremental decoder and verifier of aws-chunked request bodies, all of the
 * S3 streaming modes: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER],
 * STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD[-TRAILER] (chunk signatures
 * chained from the request's seed signature) and
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER. A streaming server feeds it body bytes
 * as they arrive, in any split; it hands back the decoded payload as slices of
 * the input. Data is handed out before its chunk's signature has been checked,
 * so the caller commits nothing until auth_chunked_finish() returns 0.
 * A declared x-amz-checksum-<alg> trailer (crc32, crc32c, crc64nvme, sha1,
 * sha256) is computed over the data and must match (BadDigest otherwise).
 * One decoder per request; one thread at a time.
 */
#ifndef MERIDIAN_AUTH_CHUNKED_H
#define MERIDIAN_AUTH_CHUNKED_H

#include "auth/verify.h"

#define AUTH_CHUNK_MIN         8192        /* every chunk but the last (S3 rule) */
#define AUTH_CHUNK_MAX         (16u << 20) /* larger chunk sizes are refused */
#define AUTH_CHUNK_LINE_MAX    256         /* a chunk header line */
#define AUTH_TRAILER_MAX       4096        /* all trailer lines together */
#define AUTH_TRAILER_MAX_COUNT 16

struct auth_chunked;

/* Receives decoded payload bytes (borrowed for the call). Non-zero aborts. */
typedef int (*auth_chunked_data_fn)(void *arg, const char *p, size_t n);

/*
 * A decoder for the body of a request `v` verified (copies what it needs;
 * `v` may be freed afterwards). ERR_INVALID if v's payload is not aws-chunked,
 * ERR_CHUNK_TRAILER if x-amz-trailer is malformed, declares more than one
 * checksum or an unknown one, ERR_NOMEM.
 */
int auth_chunked_new(const struct auth_verified *v, struct auth_chunked **out);
void auth_chunked_free(struct auth_chunked *c);

/*
 * Consume `n` body bytes. 0 when all were consumed (more may follow), or the
 * first error: ERR_CHUNK_MALFORMED, ERR_CHUNK_SIGNATURE, ERR_CHUNK_SIZE,
 * ERR_CHUNK_TRAILER, ERR_CHUNK_CHECKSUM, ERR_TOO_BIG, or what on_data
 * returned. After an error
 * the decoder refuses further input.
 */
int auth_chunked_feed(struct auth_chunked *c, const char *p, size_t n, auth_chunked_data_fn on_data,
                      void *arg);

/* The body has ended: 0 if it was complete and every signature verified,
 * ERR_CHUNK_INCOMPLETE if it stopped early, or the error feed returned. */
int auth_chunked_finish(struct auth_chunked *c);

/* Decoded bytes so far. */
uint64_t auth_chunked_decoded(const struct auth_chunked *c);

/* The trailing headers received (valid after finish returned 0; borrowed
 * from the decoder). The trailer signature line is not among them. */
size_t auth_chunked_trailers(const struct auth_chunked *c, const struct auth_header **out);

/* A short description of the last error, for logs and error bodies. */
const char *auth_chunked_error(const struct auth_chunked *c);

#endif
