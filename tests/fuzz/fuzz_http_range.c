/*
 * libFuzzer: the HTTP-date, Range, x-amz-copy-source-range and entity-tag
 * list parsers and the precondition evaluators built on them. Input: 8 bytes
 * of object size, 8 bytes of "now", then fields separated by '\n':
 *   date, Range, copy-source-range, If-Match, If-None-Match, object etag
 * (the date field also serves as If-Modified-Since and If-Unmodified-Since).
 * Each field is copied into a buffer of exactly its length, so a read past
 * a slice is an ASan report. Dictionary: tests/fuzz/http_range.dict.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/cond.h"
#include "http/date.h"
#include "http/range.h"

enum { F_DATE, F_RANGE, F_COPY, F_IF_MATCH, F_IF_NONE_MATCH, F_ETAG, F_COUNT };

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void check_date(struct iov s, int64_t now)
{
	int64_t t = 0;
	int rc = http_date_parse_at(s, now, &t);
	CHECK(rc == 0 || rc == ERR_INVALID);
	if (rc != 0)
		return;
	/* 23:59:60 on the last day of 9999 is one past the maximum */
	CHECK(t >= HTTP_DATE_MIN && t <= HTTP_DATE_MAX + 1);
	char imf[HTTP_DATE_LEN + 1], iso[HTTP_ISO8601_LEN + 1];
	if (http_date_format(t, imf) == 0) {
		int64_t back = 0;
		CHECK(strlen(imf) == HTTP_DATE_LEN);
		CHECK(http_date_parse_at(iov_make(imf, HTTP_DATE_LEN), now, &back) == 0);
		CHECK(back == t);
		CHECK(http_date_iso8601(t * 1000, iso) == 0 && strlen(iso) == HTTP_ISO8601_LEN);
	} else {
		CHECK(t == HTTP_DATE_MAX + 1);
	}
}

static void check_range(struct iov s, uint64_t size)
{
	struct http_range r;
	char cr[HTTP_CONTENT_RANGE_MAX];
	enum http_range_kind k = http_range_parse(s, size, &r);
	CHECK(k == r.kind);
	CHECK(k == HTTP_RANGE_NONE || k == HTTP_RANGE_OK || k == HTTP_RANGE_UNSATISFIABLE);
	if (k == HTTP_RANGE_OK)
		CHECK(r.len > 0 && r.len <= size && r.start <= size - r.len);
	if (k != HTTP_RANGE_NONE)
		CHECK(http_range_content_range(&r, size, cr) == strlen(cr));

	int rc = http_range_copy_source(s, size, &r);
	CHECK(rc == 0 || rc == ERR_RANGE_COPY_MALFORMED || rc == ERR_RANGE_COPY_START ||
	      rc == ERR_RANGE_COPY_END);
	if (rc == 0) {
		CHECK(r.kind == HTTP_RANGE_OK && r.len > 0 && r.len <= size &&
		      r.start <= size - r.len);
		/* a valid copy range is a valid Range with the same bytes */
		struct http_range g;
		CHECK(http_range_parse(s, size, &g) == HTTP_RANGE_OK);
		CHECK(g.start == r.start && g.len == r.len);
	}
}

static void check_etag_list(struct iov list, struct iov etag)
{
	bool strong = false, weak = false;
	int rs = http_etag_list_match(list, etag, HTTP_ETAG_STRONG, &strong);
	int rw = http_etag_list_match(list, etag, HTTP_ETAG_WEAK, &weak);
	CHECK(rs == rw && (rs == 0 || rs == ERR_INVALID));
	CHECK(!strong || weak); /* a strong match is also a weak one */
	if (rs != 0)
		CHECK(!strong && !weak);
}

static void check_cond(const struct iov *f, int64_t now)
{
	struct http_cond_headers h = {
		.if_match = f[F_IF_MATCH],
		.if_none_match = f[F_IF_NONE_MATCH],
		.if_modified_since = f[F_DATE],
		.if_unmodified_since = f[F_DATE],
	};
	struct http_cond_object obj = { f[F_ETAG], 0 };
	int64_t t;
	if (http_date_parse_at(f[F_DATE], now, &t) == 0)
		obj.last_modified = t + (int64_t)(now & 1) - (int64_t)(now >> 1 & 1);
	enum http_cond c = http_cond_read(&h, &obj, now);
	CHECK(c == HTTP_COND_PROCEED || c == HTTP_COND_NOT_MODIFIED || c == HTTP_COND_FAILED);
	int rc = http_cond_copy_source(&h, &obj, now);
	CHECK(rc == (c == HTTP_COND_PROCEED ? 0 : ERR_COND_FAILED));
	for (int exists = 0; exists < 2; exists++) {
		rc = http_cond_write(h.if_match, h.if_none_match, exists, &obj);
		CHECK(rc == 0 || rc == ERR_COND_FAILED || rc == ERR_NOT_FOUND ||
		      rc == ERR_COND_NOT_IMPLEMENTED);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov f[F_COUNT];
	char *copy[F_COUNT] = { 0 };

	if (size < 16)
		return 0;
	uint64_t obj_size = load64(data);
	int64_t now = (int64_t)load64(data + 8);
	const char *p = (const char *)data + 16, *end = (const char *)data + size;
	for (int i = 0; i < F_COUNT; i++) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t n = (size_t)((nl ? nl : end) - p);
		copy[i] = malloc(n ? n : 1);
		CHECK(copy[i] != NULL);
		memcpy(copy[i], p, n);
		/* a missing field is an absent header */
		f[i] = p < end || i == 0 ? iov_make(copy[i], n) : IOV_NULL;
		p = nl ? nl + 1 : end;
	}

	check_date(f[F_DATE], now);
	check_range(f[F_RANGE], obj_size);
	check_range(f[F_COPY], obj_size);
	check_etag_list(f[F_IF_MATCH], f[F_ETAG]);
	check_etag_list(f[F_IF_NONE_MATCH], f[F_ETAG]);
	check_cond(f, now);

	for (int i = 0; i < F_COUNT; i++)
		free(copy[i]);
	return 0;
}
