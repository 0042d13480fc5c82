/*
 * Pure helpers of the edge's data path (edge/server.c): which viewer headers
 * go to the origin, which origin response headers are stored and replayed,
 * the stored header block's format, and the X-Forwarded-For / client-ip
 * values. No I/O, no allocation beyond the caller's buf; any thread.
 */
#ifndef MERIDIAN_EDGE_FETCH_H
#define MERIDIAN_EDGE_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/iov.h"
#include "edge/behavior-t.h"
#include "http/parser.h"

/* Cap on a stored header block (what edge_fetch_headers_pack writes). */
#define EDGE_FETCH_HEADERS_MAX (64 * 1024)
/* Cap on headers replayed from one stored block. */
#define EDGE_FETCH_NHEADERS_MAX 128
/* Cap on the X-Forwarded-For value sent to an origin. */
#define EDGE_FETCH_XFF_MAX 2048

/*
 * Whether a viewer request header is forwarded to the origin. Never: hop-by-
 * hop headers, Host (the origin's domain is sent), Expect, the viewer's own
 * SigV4 headers (Authorization, X-Amz-Date, X-Amz-Content-Sha256,
 * X-Amz-Security-Token: the edge signs itself), Via and X-Forwarded-For
 * (rebuilt), and the request id header. For a cached method only
 * `keyed` headers pass (those of the behavior's cache key, so an origin
 * answer can never vary on a header the key lacks: no Range, no
 * conditionals, no Cookie); for the other methods everything else passes.
 */
bool edge_fetch_forward_header(struct iov name, bool cached, bool keyed);

/* Whether an origin response header is sent on to the viewer and stored:
 * not hop-by-hop, not Date / Server / Age / Content-Length /
 * Transfer-Encoding (the edge's server writes its own), not X-Cache / Via /
 * X-Amz-Cf-Id / X-Request-Id (the edge adds its own). */
bool edge_fetch_keep_header(struct iov name);

/* Append the kept headers (edge_fetch_keep_header) of h[0..n) to out as
 * "name: value\r\n" lines. 0, ERR_TOO_BIG past EDGE_FETCH_HEADERS_MAX or
 * out's max, ERR_NOMEM. */
int edge_fetch_headers_pack(const struct http_header *h, size_t n, struct buf *out);

/* Split a block from edge_fetch_headers_pack back into out[0..cap): the
 * slices point into blob. 0 or ERR_INVALID (a line without ": " or CRLF,
 * more than cap headers). */
int edge_fetch_headers_unpack(struct iov blob, struct http_header *out, size_t cap, size_t *n);

/* The X-Forwarded-For value: `prior` (the viewer's, may be IOV_NULL or
 * empty), ", ", then ip. Writes into out. 0, ERR_TOO_BIG past
 * EDGE_FETCH_XFF_MAX (out then holds just ip), ERR_NOMEM. */
int edge_fetch_xff(struct iov prior, struct iov ip, struct buf *out);

/*
 * The query string a cached request sends to the origin: what the cache key
 * holds, so an origin answer can never vary on a parameter the key lacks.
 * NONE: nothing; ALL: every parameter; LISTED: only the listed names;
 * ALL_EXCEPT: all but them. Parameters are normalised as the key's are
 * (edge_path_normalize) and kept in the viewer's order; names compare
 * case-sensitively. Appends to out (without '?'). 0, ERR_EDGE_KEY_TOO_LONG
 * (query over EDGE_QUERY_MAX) or out's errors.
 */
int edge_fetch_query(const struct edge_behavior *b, struct iov query, struct buf *out);

#endif
