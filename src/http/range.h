/*
 * Byte ranges with S3's semantics: the Range header of GetObject/HeadObject
 * (RFC 9110 §14.1-14.2 as AWS applies it: one range only, anything it cannot
 * use is ignored) and x-amz-copy-source-range of UploadPartCopy (strict:
 * bytes=first-last inside the object, or an error). The Content-Range value
 * of the answer is formatted here too. See docs/internals/http-cond.md for
 * the table of cases and where each answer comes from. Pure; any thread.
 */
#ifndef MERIDIAN_HTTP_RANGE_H
#define MERIDIAN_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

/* "bytes " + first + "-" + last + "/" + size, each at most 20 digits, + NUL. */
#define HTTP_CONTENT_RANGE_MAX 72

enum http_range_kind {
	HTTP_RANGE_NONE = 0,          /* no usable range: answer 200 with the whole object */
	HTTP_RANGE_OK = 1,            /* answer 206 with bytes [start, start + len) */
	HTTP_RANGE_UNSATISFIABLE = 2, /* answer 416 ERR_RANGE_NOT_SATISFIABLE */
};

struct http_range {
	enum http_range_kind kind;
	uint64_t start; /* HTTP_RANGE_OK only */
	uint64_t len;   /* HTTP_RANGE_OK only; never 0 */
};

/*
 * Resolve a Range header value against an object of `size` bytes. A value
 * with base NULL means the header is absent. Rules (sources in the docs):
 *   - only "bytes" (case-insensitive) with one range: first-last, first-,
 *     or -suffix; a list of several ranges, another unit, or anything not in
 *     that grammar (spaces inside, signs, "bytes=-", last < first) is
 *     ignored: NONE;
 *   - first >= size is UNSATISFIABLE (for every first when size is 0);
 *   - last beyond the object is clamped to size - 1;
 *   - -0 is UNSATISFIABLE; -N on an empty object is NONE; -N larger than
 *     the object selects all of it;
 *   - numbers too large for 64 bits count as "larger than any object".
 * Fills *out and returns out->kind.
 */
enum http_range_kind http_range_parse(struct iov value, uint64_t size, struct http_range *out);

/*
 * Resolve x-amz-copy-source-range (exactly "bytes=first-last", digits only)
 * against a source object of `size` bytes. Returns 0 with out->kind
 * HTTP_RANGE_OK, or:
 *   ERR_RANGE_COPY_MALFORMED  any other form, or last < first (400 InvalidArgument)
 *   ERR_RANGE_COPY_START      first >= size (400 InvalidRequest)
 *   ERR_RANGE_COPY_END        last >= size (400 InvalidArgument)
 */
int http_range_copy_source(struct iov value, uint64_t size, struct http_range *out);

/*
 * The Content-Range value, NUL-terminated in out: "bytes 0-9/100" for a 206,
 * or for a 416 the unsatisfied form with "*" in place of first-last
 * (RFC 9110 §14.4). Returns its length. `r` must be HTTP_RANGE_OK or
 * HTTP_RANGE_UNSATISFIABLE.
 */
size_t http_range_content_range(const struct http_range *r, uint64_t size,
                                char out[HTTP_CONTENT_RANGE_MAX]);

#endif
