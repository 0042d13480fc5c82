/* edge/fetch: pure helpers of the edge's data path. See fetch.h. */
#include "edge/fetch.h"

#include "base/err.h"
#include "edge/behavior.h"

static bool name_in(struct iov name, const struct iov *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (iov_eq_nocase(name, list[i]))
			return true;
	return false;
}

bool edge_fetch_forward_header(struct iov name, bool cached, bool keyed)
{
	static const struct iov never[] = {
		IOV_LIT("host"),
		IOV_LIT("expect"),
		IOV_LIT("authorization"),
		IOV_LIT("x-amz-date"),
		IOV_LIT("x-amz-content-sha256"),
		IOV_LIT("x-amz-security-token"),
		IOV_LIT("via"),
		IOV_LIT("x-forwarded-for"),
		IOV_LIT("x-amz-cf-id"),
		IOV_LIT("content-length"),
		IOV_LIT("transfer-encoding"),
	};
	if (http_header_hop_by_hop(name) || name_in(name, never, sizeof(never) / sizeof(never[0])))
		return false;
	return cached ? keyed : true;
}

bool edge_fetch_keep_header(struct iov name)
{
	static const struct iov drop[] = {
		IOV_LIT("date"),
		IOV_LIT("server"),
		IOV_LIT("age"),
		IOV_LIT("content-length"),
		IOV_LIT("transfer-encoding"),
		IOV_LIT("x-cache"),
		IOV_LIT("via"),
		IOV_LIT("x-amz-cf-id"),
		IOV_LIT("x-request-id"),
	};
	return !http_header_hop_by_hop(name) &&
	       !name_in(name, drop, sizeof(drop) / sizeof(drop[0]));
}

int edge_fetch_headers_pack(const struct http_header *h, size_t n, struct buf *out)
{
	size_t start = out->len;
	for (size_t i = 0; i < n; i++) {
		if (!edge_fetch_keep_header(h[i].name))
			continue;
		if (out->len - start + h[i].name.len + h[i].value.len + 4 > EDGE_FETCH_HEADERS_MAX)
			return ERR_TOO_BIG;
		int rc = buf_add_iov(out, h[i].name);
		if (rc == 0)
			rc = buf_add(out, ": ", 2);
		if (rc == 0)
			rc = buf_add_iov(out, h[i].value);
		if (rc == 0)
			rc = buf_add(out, "\r\n", 2);
		if (rc)
			return rc;
	}
	return 0;
}

int edge_fetch_headers_unpack(struct iov blob, struct http_header *out, size_t cap, size_t *n)
{
	*n = 0;
	size_t i = 0;
	while (i < blob.len) {
		const char *line = blob.base + i;
		const char *end = memchr(line, '\r', blob.len - i);
		if (!end || (size_t)(end - blob.base) + 1 >= blob.len || end[1] != '\n')
			return ERR_INVALID;
		size_t len = (size_t)(end - line);
		const char *colon = memchr(line, ':', len);
		if (!colon || colon == line || (size_t)(colon - line) + 1 >= len ||
		    colon[1] != ' ' || *n >= cap)
			return ERR_INVALID;
		size_t nlen = (size_t)(colon - line);
		out[*n].name = iov_make(line, nlen);
		out[*n].value = iov_make(colon + 2, len - nlen - 2);
		(*n)++;
		i += len + 2;
	}
	return 0;
}

int edge_fetch_xff(struct iov prior, struct iov ip, struct buf *out)
{
	struct iov p = iov_trim(prior);
	if (p.base && p.len && p.len + 2 + ip.len <= EDGE_FETCH_XFF_MAX) {
		int rc = buf_add_iov(out, p);
		if (rc == 0)
			rc = buf_add(out, ", ", 2);
		if (rc)
			return rc;
	} else if (p.base && p.len) {
		int rc = buf_add_iov(out, ip);
		return rc ? rc : ERR_TOO_BIG;
	}
	return buf_add_iov(out, ip);
}

static bool qs_listed(const struct edge_behavior *b, struct iov name)
{
	for (size_t i = 0; i < b->qs_count; i++)
		if (iov_eq(name, iov_cstr(b->qs_names[i])))
			return true;
	return false;
}

int edge_fetch_query(const struct edge_behavior *b, struct iov query, struct buf *out)
{
	char norm[EDGE_QUERY_MAX * 3];
	size_t nlen;
	if (b->qs_mode == EDGE_QS_NONE || query.len == 0)
		return 0;
	if (query.len > EDGE_QUERY_MAX)
		return ERR_EDGE_KEY_TOO_LONG;
	int rc = edge_path_normalize(query, norm, sizeof(norm), &nlen);
	if (rc)
		return rc;
	struct iov rest = iov_make(norm, nlen);
	bool first = true;
	while (rest.base != NULL) {
		struct iov item, name;
		rest = iov_split(rest, '&', &item);
		if (item.len == 0)
			continue;
		iov_split(item, '=', &name);
		bool listed = qs_listed(b, name);
		if ((b->qs_mode == EDGE_QS_LISTED && !listed) ||
		    (b->qs_mode == EDGE_QS_ALL_EXCEPT && listed))
			continue;
		if (!first && (rc = buf_add(out, "&", 1)))
			return rc;
		if ((rc = buf_add_iov(out, item)))
			return rc;
		first = false;
	}
	return 0;
}
