/*
 * S3 names: bucket-name rules for general purpose buckets, object-key rules,
 * and the URL encoding S3 applies for encoding-type=url plus the matching
 * query-string decoder (docs/internals/s3-xml.md). Pure; any thread.
 */
#ifndef MERIDIAN_S3_NAMES_H
#define MERIDIAN_S3_NAMES_H

#include <stddef.h>

#include "base/buf.h"

#define S3_BUCKET_NAME_MIN 3
#define S3_BUCKET_NAME_MAX 63
#define S3_KEY_MAX         1024 /* bytes of UTF-8 */

/*
 * A general purpose bucket name as S3 accepts it today: 3..63 bytes of
 * a-z 0-9 . -, first and last a letter or digit, no "..", not four dotted
 * decimal groups (an IP address), none of the reserved prefixes (xn--,
 * sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap, --x-s3,
 * --table-s3). 0 or ERR_S3_INVALID_BUCKET_NAME.
 */
int s3_names_bucket_valid(struct iov name);

/*
 * An object key (already percent-decoded): 1..S3_KEY_MAX bytes of
 * well-formed UTF-8 without U+0000. 0, ERR_S3_KEY_TOO_LONG,
 * ERR_S3_INVALID_URI (not UTF-8, or a NUL) or ERR_S3_INVALID_ARGUMENT
 * (empty: callers route "/bucket/" to bucket operations before asking).
 */
int s3_names_key_valid(struct iov key);

/*
 * Append `in` as S3 writes a key, prefix, delimiter or marker under
 * encoding-type=url: RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) and
 * '/' are kept, every other byte becomes %XX with uppercase hex (a space is
 * %20, '+' is %2B). 0, ERR_TOO_BIG or ERR_NOMEM.
 */
int s3_names_url_encode(struct buf *out, struct iov in);

/*
 * Append a query-string value or name percent-decoded, '+' read as a space
 * (form encoding, as S3 reads its query parameters). The result may hold
 * any byte; validate it for its use. 0, ERR_INVALID (a '%' not followed by
 * two hex digits), ERR_TOO_BIG or ERR_NOMEM; on error `out` is unchanged.
 */
int s3_names_query_decode(struct buf *out, struct iov in);

#endif
