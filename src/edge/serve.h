/*
 * Pure helpers for answering from a cached entry (edge/server.c): the
 * validators (ETag, Last-Modified) kept with an entry, the header block of an
 * entry refreshed by a 304 (RFC 9111 §4.3.4), and what a viewer's conditional
 * and Range headers make of a hit (304, 412, 206, 416 or the whole 200). No
 * I/O, no allocation beyond the caller's buf; any thread.
 */
#ifndef MERIDIAN_EDGE_SERVE_H
#define MERIDIAN_EDGE_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/iov.h"
#include "edge/cache-t.h"
#include "http/parser.h"
#include "http/range.h"

/* The ETag (first line, as sent; IOV_NULL if none or over
 * EDGE_CACHE_ETAG_MAX) and Last-Modified (Unix seconds, -1 if none or not a
 * valid HTTP-date) of a response's headers. */
void edge_serve_validators(const struct http_header *h, size_t n, struct iov *etag,
                           int64_t *last_modified);

/*
 * The header block of a stored response refreshed by a 304 (RFC 9111
 * §4.3.4, §3.2): every stored line whose name the 304 does not carry, then
 * the 304's kept lines (edge_fetch_keep_header, so never Content-Length or
 * framing). `stored` is a block from edge_fetch_headers_pack. Appends to
 * out. 0, ERR_INVALID (stored does not parse), ERR_TOO_BIG past
 * EDGE_FETCH_HEADERS_MAX, ERR_NOMEM.
 */
int edge_serve_merge_304(struct iov stored, const struct http_header *h, size_t n, struct buf *out);

/* What to send for a hit. */
struct edge_serve_plan {
	int status;         /* 200 (or the stored status), 206, 304, 412, 416 */
	uint64_t off, len;  /* the body bytes to send (0, 0 for 304/412/416) */
	bool content_range; /* send Content-Range (206, 416) */
	char range_value[HTTP_CONTENT_RANGE_MAX];
};

/* The viewer's headers that edge_serve_plan looks at (IOV_NULL: absent). */
struct edge_serve_viewer {
	struct iov if_match, if_none_match, if_modified_since, if_unmodified_since;
	struct iov range, if_range;
};

/* Fill v from a request's headers (first line of each, names matched with
 * case ignored). */
void edge_serve_viewer_parse(const struct http_header *h, size_t n, struct edge_serve_viewer *v);

/*
 * The answer to a viewer from an entry with meta m and a body of `size`
 * bytes, at `now`. Only a stored 200 is subject to conditionals and Range
 * (anything else is replayed whole). Conditionals as S3 reads them
 * (http_cond_read: 412, then 304); the date conditions count only when the
 * entry has a Last-Modified. Then a single Range (http_range_parse: one
 * range only; several, or one it cannot use, give the whole 200) -> 206 or
 * 416. If-Range that names another ETag, or another date than the
 * Last-Modified, drops the Range (the whole 200).
 */
void edge_serve_plan(const struct edge_serve_viewer *v, const struct edge_cache_meta *m,
                     uint64_t size, int64_t now, struct edge_serve_plan *out);

#endif
