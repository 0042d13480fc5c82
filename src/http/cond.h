/*
 * Conditional requests as S3 evaluates them: If-Match, If-None-Match,
 * If-Modified-Since and If-Unmodified-Since on GetObject/HeadObject (the
 * order of RFC 9110 §13.2.2, which S3's documented pairs follow), the same
 * four x-amz-copy-source-if-* headers on CopyObject/UploadPartCopy (every
 * failure is 412 there, never 304), and the conditional writes If-None-Match:
 * * and If-Match on PutObject/CompleteMultipartUpload. The table and its
 * sources are in docs/internals/http-cond.md. Header values are borrowed
 * slices; nothing is kept. Pure; any thread.
 */
#ifndef MERIDIAN_HTTP_COND_H
#define MERIDIAN_HTTP_COND_H

#include <stdbool.h>
#include <stdint.h>

#include "base/iov.h"

/* What a read does; the values are the HTTP status to answer. */
enum http_cond {
	HTTP_COND_PROCEED = 0,        /* serve the object (then apply Range) */
	HTTP_COND_NOT_MODIFIED = 304, /* no body; keep ETag and Last-Modified */
	HTTP_COND_FAILED = 412,       /* answer ERR_COND_FAILED (PreconditionFailed) */
};

/*
 * The four precondition headers of one request. A slice with base NULL, or
 * one that is empty after trimming spaces, is an absent header. For
 * If-Match and If-None-Match pass the whole field value; several header
 * lines are joined with ", " by the caller as RFC 9110 §5.3 allows. A date
 * that is not a valid HTTP-date is ignored (RFC 9110 §13.1.3, §13.1.4).
 */
struct http_cond_headers {
	struct iov if_match;
	struct iov if_none_match;
	struct iov if_modified_since;
	struct iov if_unmodified_since;
};

/* The stored object the preconditions are checked against. */
struct http_cond_object {
	struct iov etag;       /* as served, with quotes ("\"9b2c...\""); unquoted is accepted */
	int64_t last_modified; /* Unix seconds (HTTP dates have no finer resolution) */
};

/*
 * GetObject / HeadObject, in RFC 9110 §13.2.2 order:
 *   1. If-Match present: no strong match -> FAILED (If-Unmodified-Since is
 *      then not looked at: S3 "If-Match true, If-Unmodified-Since false ->
 *      200").
 *   2. else If-Unmodified-Since: modified after it -> FAILED.
 *   3. If-None-Match present: a weak match (or "*") -> NOT_MODIFIED
 *      (If-Modified-Since is then not looked at: S3 "If-None-Match false,
 *      If-Modified-Since true -> 304").
 *   4. else If-Modified-Since not after `now`: not modified since -> NOT_MODIFIED.
 * `now` is the server's Unix time.
 */
enum http_cond http_cond_read(const struct http_cond_headers *h, const struct http_cond_object *obj,
                              int64_t now);

/*
 * CopyObject / UploadPartCopy with the x-amz-copy-source-if-* headers in h,
 * against the source object: the same steps, but where a read would answer
 * 304 the copy fails too. Returns 0 or ERR_COND_FAILED.
 */
int http_cond_copy_source(const struct http_cond_headers *h, const struct http_cond_object *obj,
                          int64_t now);

/*
 * PutObject / CompleteMultipartUpload conditional writes. `exists` says
 * whether the key has a current object (a delete marker is no object) and
 * obj describes it when it does (obj may be NULL otherwise). Returns:
 *   0                         write
 *   ERR_COND_FAILED           If-None-Match: * and the key exists, or If-Match does not match
 *   ERR_NOT_FOUND             If-Match and the key does not exist (S3 answers NoSuchKey)
 *   ERR_COND_NOT_IMPLEMENTED  If-None-Match other than "*", or both headers
 * A write that loses a race after passing here is the caller's 409
 * ConditionalRequestConflict, not decided here.
 */
int http_cond_write(struct iov if_match, struct iov if_none_match, bool exists,
                    const struct http_cond_object *obj);

enum http_etag_cmp {
	HTTP_ETAG_STRONG = 0, /* If-Match: neither tag may be weak */
	HTTP_ETAG_WEAK = 1,   /* If-None-Match: W/ is ignored on both sides */
};

/*
 * Whether the field value `list` ("*", or a comma-separated list of
 * "x", W/"x" or, leniently like S3, bare x) names `etag`. "*" matches any
 * etag and must stand alone. Empty list elements are skipped. Returns 0
 * with *match set, or ERR_INVALID for a list that does not parse (an
 * unterminated quote, a bad byte, W/ without a quoted tag, "*" among tags).
 */
int http_etag_list_match(struct iov list, struct iov etag, enum http_etag_cmp cmp, bool *match);

#endif
