/* Range and x-amz-copy-source-range resolution, Content-Range. Pure; any thread. */
#include "http/range.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"

/* One parsed byte-range-spec; a missing side has have_* false. */
struct spec {
	bool have_first, have_last;
	uint64_t first, last;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1*DIGIT, saturating at UINT64_MAX: a longer number still means "beyond
 * any object", which is how the rules below must treat it. */
static bool take_number(struct iov *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < s->len && is_digit(s->base[i])) {
		unsigned d = (unsigned)(s->base[i] - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		i++;
	}
	if (i == 0)
		return false;
	*out = v;
	s->base += i;
	s->len -= i;
	return true;
}

/* byte-range-spec = [first] "-" [last], at least one side, nothing else. */
static bool parse_spec(struct iov s, struct spec *sp)
{
	*sp = (struct spec){ 0 };
	sp->have_first = take_number(&s, &sp->first);
	if (s.len == 0 || s.base[0] != '-')
		return false;
	s.base++;
	s.len--;
	sp->have_last = take_number(&s, &sp->last);
	return s.len == 0 && (sp->have_first || sp->have_last);
}

static struct iov trim_ows(struct iov s)
{
	while (s.len && (s.base[0] == ' ' || s.base[0] == '\t')) {
		s.base++;
		s.len--;
	}
	while (s.len && (s.base[s.len - 1] == ' ' || s.base[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static enum http_range_kind set(struct http_range *out, enum http_range_kind kind, uint64_t start,
                                uint64_t len)
{
	*out = (struct http_range){ kind, start, len };
	return kind;
}

enum http_range_kind http_range_parse(struct iov value, uint64_t size, struct http_range *out)
{
	struct iov unit, set_text;
	struct spec sp;

	set(out, HTTP_RANGE_NONE, 0, 0);
	if (!value.base)
		return HTTP_RANGE_NONE;
	set_text = iov_split(trim_ows(value), '=', &unit);
	if (!set_text.base || !iov_eq_nocase(unit, IOV_LIT("bytes")))
		return HTTP_RANGE_NONE;
	/* Several ranges: S3 does not do multipart/byteranges and answers 200. */
	if (memchr(set_text.base, ',', set_text.len))
		return HTTP_RANGE_NONE;
	if (!parse_spec(set_text, &sp))
		return HTTP_RANGE_NONE;
	if (!sp.have_first) {
		if (sp.last == 0)
			return set(out, HTTP_RANGE_UNSATISFIABLE, 0, 0);
		if (size == 0)
			return HTTP_RANGE_NONE;
		uint64_t len = sp.last < size ? sp.last : size;
		return set(out, HTTP_RANGE_OK, size - len, len);
	}
	if (sp.have_last && sp.last < sp.first)
		return HTTP_RANGE_NONE;
	if (sp.first >= size)
		return set(out, HTTP_RANGE_UNSATISFIABLE, 0, 0);
	uint64_t last = sp.have_last && sp.last < size - 1 ? sp.last : size - 1;
	return set(out, HTTP_RANGE_OK, sp.first, last - sp.first + 1);
}

int http_range_copy_source(struct iov value, uint64_t size, struct http_range *out)
{
	struct spec sp;
	struct iov prefix = IOV_LIT("bytes=");

	set(out, HTTP_RANGE_NONE, 0, 0);
	if (!value.base || !iov_starts(value, prefix))
		return ERR_RANGE_COPY_MALFORMED;
	if (!parse_spec(iov_sub(value, prefix.len, value.len - prefix.len), &sp) ||
	    !sp.have_first || !sp.have_last || sp.last < sp.first)
		return ERR_RANGE_COPY_MALFORMED;
	if (sp.first >= size)
		return ERR_RANGE_COPY_START;
	if (sp.last >= size)
		return ERR_RANGE_COPY_END;
	set(out, HTTP_RANGE_OK, sp.first, sp.last - sp.first + 1);
	return 0;
}

size_t http_range_content_range(const struct http_range *r, uint64_t size,
                                char out[HTTP_CONTENT_RANGE_MAX])
{
	int n;
	CHECK(r->kind == HTTP_RANGE_OK || r->kind == HTTP_RANGE_UNSATISFIABLE);
	if (r->kind == HTTP_RANGE_OK) {
		CHECK(r->len > 0 && r->len <= size && r->start <= size - r->len);
		n = snprintf(out, HTTP_CONTENT_RANGE_MAX, "bytes %llu-%llu/%llu",
		             (unsigned long long)r->start,
		             (unsigned long long)(r->start + r->len - 1), (unsigned long long)size);
	} else {
		n = snprintf(out, HTTP_CONTENT_RANGE_MAX, "bytes */%llu", (unsigned long long)size);
	}
	CHECK(n > 0 && n < HTTP_CONTENT_RANGE_MAX);
	return (size_t)n;
}
