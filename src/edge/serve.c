/* edge/serve: answering from a cached entry, pure parts. See serve.h. */
#include "edge/serve.h"

#include "base/err.h"
#include "edge/fetch.h"
#include "http/cond.h"
#include "http/date.h"

static struct iov first_header(const struct http_header *h, size_t n, struct iov name)
{
	for (size_t i = 0; i < n; i++)
		if (iov_eq_nocase(h[i].name, name))
			return h[i].value;
	return IOV_NULL;
}

void edge_serve_validators(const struct http_header *h, size_t n, struct iov *etag,
                           int64_t *last_modified)
{
	struct iov e = iov_trim(first_header(h, n, IOV_LIT("etag")));
	*etag = e.base && e.len && e.len <= EDGE_CACHE_ETAG_MAX ? e : IOV_NULL;
	struct iov lm = first_header(h, n, IOV_LIT("last-modified"));
	int64_t t;
	*last_modified = lm.base && http_date_parse(iov_trim(lm), &t) == 0 ? t : -1;
}

int edge_serve_merge_304(struct iov stored, const struct http_header *h, size_t n, struct buf *out)
{
	struct http_header old[EDGE_FETCH_NHEADERS_MAX];
	size_t nold = 0;
	if (edge_fetch_headers_unpack(stored, old, EDGE_FETCH_NHEADERS_MAX, &nold))
		return ERR_INVALID;
	size_t start = out->len;
	for (size_t i = 0; i < nold; i++) {
		bool replaced = false;
		for (size_t k = 0; k < n && !replaced; k++)
			replaced = edge_fetch_keep_header(h[k].name) &&
			           iov_eq_nocase(h[k].name, old[i].name);
		if (replaced)
			continue;
		if (out->len - start + old[i].name.len + old[i].value.len + 4 >
		    EDGE_FETCH_HEADERS_MAX)
			return ERR_TOO_BIG;
		const struct iov line[] = { old[i].name, IOV_LIT(": "), old[i].value,
			                    IOV_LIT("\r\n") };
		int rc = buf_add_iovs(out, line, 4);
		if (rc)
			return rc;
	}
	/* The 304's own lines, with the same cap counting the kept ones. */
	size_t used = out->len - start;
	struct buf tail;
	buf_init(&tail, EDGE_FETCH_HEADERS_MAX);
	int rc = edge_fetch_headers_pack(h, n, &tail);
	if (rc == 0 && used + tail.len > EDGE_FETCH_HEADERS_MAX)
		rc = ERR_TOO_BIG;
	if (rc == 0)
		rc = buf_add_iov(out, buf_iov(&tail));
	buf_free(&tail);
	return rc;
}

void edge_serve_viewer_parse(const struct http_header *h, size_t n, struct edge_serve_viewer *v)
{
	*v = (struct edge_serve_viewer){
		.if_match = first_header(h, n, IOV_LIT("if-match")),
		.if_none_match = first_header(h, n, IOV_LIT("if-none-match")),
		.if_modified_since = first_header(h, n, IOV_LIT("if-modified-since")),
		.if_unmodified_since = first_header(h, n, IOV_LIT("if-unmodified-since")),
		.range = first_header(h, n, IOV_LIT("range")),
		.if_range = first_header(h, n, IOV_LIT("if-range")),
	};
}

/* Whether If-Range lets the Range apply (RFC 9110 §13.1.5: a strong ETag
 * match, or a date equal to Last-Modified). */
static bool if_range_holds(struct iov value, const struct edge_cache_meta *m)
{
	struct iov v = iov_trim(value);
	if (!v.base || v.len == 0)
		return true;
	if (v.base[0] == '"' || iov_starts(v, IOV_LIT("W/")))
		return m->etag.len && !iov_starts(v, IOV_LIT("W/")) &&
		       !iov_starts(m->etag, IOV_LIT("W/")) && iov_eq(v, m->etag);
	int64_t t;
	return m->last_modified >= 0 && http_date_parse(v, &t) == 0 && t == m->last_modified;
}

void edge_serve_plan(const struct edge_serve_viewer *v, const struct edge_cache_meta *m,
                     uint64_t size, int64_t now, struct edge_serve_plan *out)
{
	*out = (struct edge_serve_plan){ .status = m->status, .off = 0, .len = size };
	if (m->status != 200)
		return;
	bool dated = m->last_modified >= 0;
	struct http_cond_headers ch = {
		.if_match = v->if_match,
		.if_none_match = v->if_none_match,
		.if_modified_since = dated ? v->if_modified_since : IOV_NULL,
		.if_unmodified_since = dated ? v->if_unmodified_since : IOV_NULL,
	};
	struct http_cond_object obj = { m->etag, dated ? m->last_modified : 0 };
	enum http_cond c = http_cond_read(&ch, &obj, now);
	if (c != HTTP_COND_PROCEED) {
		*out = (struct edge_serve_plan){ .status = (int)c };
		return;
	}
	if (!v->range.base || !if_range_holds(v->if_range, m))
		return;
	struct http_range r;
	switch (http_range_parse(v->range, size, &r)) {
	case HTTP_RANGE_OK:
		*out = (struct edge_serve_plan){
			.status = 206, .off = r.start, .len = r.len, .content_range = true
		};
		http_range_content_range(&r, size, out->range_value);
		break;
	case HTTP_RANGE_UNSATISFIABLE:
		*out = (struct edge_serve_plan){ .status = 416, .content_range = true };
		http_range_content_range(&r, size, out->range_value);
		break;
	case HTTP_RANGE_NONE:
		break;
	}
}
