/*
 * libFuzzer: edge/serve. Input: fields separated by '\n': a stored header
 * block (with "\r\n" spelled as '|'), the stored ETag, then header lines
 * "name:value" (up to 8) used both as a 304's headers and as a viewer's
 * request headers. The first byte picks the stored status and body size.
 * Checks:
 *   - the validators found are slices of the input (or absent);
 *   - the 304 merge returns only its documented codes and, on success,
 *     gives a block that unpacks, within EDGE_FETCH_HEADERS_MAX;
 *   - a plan's status is one of 200 / stored, 206, 304, 412, 416, and its
 *     body slice lies inside the object (never empty for 206);
 *   - the Content-Range value is NUL-terminated within its buffer.
 * Each field is copied into a buffer of exactly its length, so a read past
 * a slice is an ASan report.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "edge/fetch.h"
#include "edge/serve.h"

#define MAX_HEADERS 8
#define MAX_FIELDS  (2 + MAX_HEADERS)

static bool inside(struct iov s, const char *base, size_t len)
{
	return s.base == NULL || (s.base >= base && s.base + s.len <= base + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const int statuses[] = { 200, 200, 200, 404, 301, 206 };
	int status = statuses[data[0] % 6];
	uint64_t body = data[0] < 16 ? 0 : (uint64_t)data[0] * 37;
	data++;
	size--;
	/* split into fields, each copied into its own exact allocation */
	char *field[MAX_FIELDS] = { 0 };
	size_t flen[MAX_FIELDS] = { 0 }, nf = 0, start = 0;
	for (size_t i = 0; i <= size && nf < MAX_FIELDS; i++) {
		if (i == size || data[i] == '\n') {
			flen[nf] = i - start;
			field[nf] = malloc(flen[nf] ? flen[nf] : 1);
			if (flen[nf])
				memcpy(field[nf], data + start, flen[nf]);
			nf++;
			start = i + 1;
		}
	}
	/* the stored block: '|' stands for "\r\n" */
	char *block = malloc(flen[0] * 2 + 1);
	size_t blen = 0;
	for (size_t i = 0; i < flen[0]; i++) {
		if (field[0][i] == '|') {
			block[blen++] = '\r';
			block[blen++] = '\n';
		} else {
			block[blen++] = field[0][i];
		}
	}
	struct http_header hs[MAX_HEADERS];
	size_t nh = 0;
	for (size_t f = 2; f < nf; f++) {
		const char *colon = memchr(field[f], ':', flen[f]);
		if (!colon)
			continue;
		size_t at = (size_t)(colon - field[f]);
		hs[nh++] = (struct http_header){ iov_make(field[f], at),
			                         iov_make(colon + 1, flen[f] - at - 1) };
	}

	struct iov etag;
	int64_t lm;
	edge_serve_validators(hs, nh, &etag, &lm);
	for (size_t i = 0; i < nh; i++)
		if (etag.base && etag.base >= hs[i].value.base &&
		    etag.base < hs[i].value.base + hs[i].value.len)
			CHECK(inside(etag, hs[i].value.base, hs[i].value.len));
	CHECK(etag.len <= EDGE_CACHE_ETAG_MAX);

	struct buf out;
	buf_init(&out, EDGE_FETCH_HEADERS_MAX);
	int rc = edge_serve_merge_304(iov_make(block, blen), hs, nh, &out);
	CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG || rc == ERR_NOMEM);
	if (rc == 0) {
		struct http_header back[EDGE_FETCH_NHEADERS_MAX];
		size_t nb;
		CHECK(out.len <= EDGE_FETCH_HEADERS_MAX);
		/* more lines than the cap may come out of a long 304: that is
		 * the only reason a merged block may not unpack */
		int urc =
		    edge_fetch_headers_unpack(buf_iov(&out), back, EDGE_FETCH_NHEADERS_MAX, &nb);
		CHECK(urc == 0 || urc == ERR_INVALID);
	}
	buf_free(&out);

	struct edge_serve_viewer v;
	edge_serve_viewer_parse(hs, nh, &v);
	struct edge_cache_meta m = {
		.status = status,
		.etag = iov_make(field[1], flen[1] > EDGE_CACHE_ETAG_MAX ? 0 : flen[1]),
		.last_modified = lm,
	};
	struct edge_serve_plan p;
	edge_serve_plan(&v, &m, body, 1800000000, &p);
	switch (status == 200 ? p.status : 0) {
	case 206:
		CHECK(p.len > 0 && p.off < body && p.len <= body - p.off && p.content_range);
		CHECK(memchr(p.range_value, 0, sizeof(p.range_value)) != NULL);
		break;
	case 416:
		CHECK(p.len == 0 && p.content_range);
		break;
	case 304:
	case 412:
		CHECK(p.len == 0 && !p.content_range);
		break;
	default:
		CHECK(p.status == status && p.off == 0 && p.len == body && !p.content_range);
	}

	free(block);
	for (size_t f = 0; f < nf; f++)
		free(field[f]);
	return 0;
}
