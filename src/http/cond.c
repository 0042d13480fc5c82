/* Precondition evaluation for reads, copies and writes. Pure; any thread. */
#include "http/cond.h"

#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/date.h"

/* An entity-tag split into its weakness and its opaque part (no quotes). */
struct etag {
	bool weak;
	struct iov opaque;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3) */
static bool is_etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7F);
}

static struct iov trim_ows(struct iov s)
{
	while (s.len && is_ows(s.base[0])) {
		s.base++;
		s.len--;
	}
	while (s.len && is_ows(s.base[s.len - 1]))
		s.len--;
	return s;
}

static bool present(struct iov s)
{
	return s.base && trim_ows(s).len > 0;
}

/* The stored etag: quoted or not, W/ allowed. Never fails: whatever is not
 * a quoted tag is taken as a bare one. */
static struct etag object_etag(struct iov s)
{
	struct etag e = { false, s };
	if (s.len >= 2 && s.base[0] == 'W' && s.base[1] == '/') {
		e.weak = true;
		e.opaque = iov_sub(s, 2, s.len - 2);
	}
	if (e.opaque.len >= 2 && e.opaque.base[0] == '"' && e.opaque.base[e.opaque.len - 1] == '"')
		e.opaque = iov_sub(e.opaque, 1, e.opaque.len - 2);
	return e;
}

/*
 * One list element at s[*pos] (OWS already skipped, not a comma): "*",
 * [W/]"opaque" or a bare token of etagc without commas. Advances *pos past
 * it. Returns 0, or ERR_INVALID.
 */
static int take_element(struct iov s, size_t *pos, struct etag *e, bool *star)
{
	size_t i = *pos;

	*e = (struct etag){ 0 };
	*star = false;
	if (s.len - i >= 2 && s.base[i] == 'W' && s.base[i + 1] == '/') {
		e->weak = true;
		i += 2;
		if (i == s.len || s.base[i] != '"')
			return ERR_INVALID;
	}
	if (i < s.len && s.base[i] == '"') {
		size_t start = ++i;
		while (i < s.len && s.base[i] != '"') {
			if (!is_etagc((unsigned char)s.base[i]))
				return ERR_INVALID;
			i++;
		}
		if (i == s.len)
			return ERR_INVALID;
		e->opaque = iov_sub(s, start, i - start);
		*pos = i + 1;
		return 0;
	}
	size_t start = i;
	while (i < s.len && s.base[i] != ',' && is_etagc((unsigned char)s.base[i]))
		i++;
	if (i == start)
		return ERR_INVALID;
	e->opaque = iov_sub(s, start, i - start);
	*star = e->opaque.len == 1 && e->opaque.base[0] == '*';
	*pos = i;
	return 0;
}

static bool etag_eq(struct etag a, struct etag b, enum http_etag_cmp cmp)
{
	if (cmp == HTTP_ETAG_STRONG && (a.weak || b.weak))
		return false;
	return iov_eq(a.opaque, b.opaque);
}

int http_etag_list_match(struct iov list, struct iov etag, enum http_etag_cmp cmp, bool *match)
{
	struct etag want = object_etag(etag), e;
	size_t pos = 0, count = 0;
	bool star, any_star = false, found = false;

	*match = false;
	if (!list.base)
		return ERR_INVALID;
	for (;;) {
		while (pos < list.len && (is_ows(list.base[pos]) || list.base[pos] == ','))
			pos++;
		if (pos == list.len)
			break;
		if (take_element(list, &pos, &e, &star))
			return ERR_INVALID;
		while (pos < list.len && is_ows(list.base[pos]))
			pos++;
		if (pos < list.len && list.base[pos] != ',')
			return ERR_INVALID;
		count++;
		any_star |= star;
		found |= star || etag_eq(e, want, cmp);
	}
	if (any_star && count > 1)
		return ERR_INVALID;
	*match = found;
	return 0;
}

/* A list that does not parse names no etag. */
static bool names_etag(struct iov list, struct iov etag, enum http_etag_cmp cmp)
{
	bool match;
	return http_etag_list_match(list, etag, cmp, &match) == 0 && match;
}

/* A date header that is present and a valid HTTP-date. */
static bool date_header(struct iov v, int64_t now, int64_t *t)
{
	return present(v) && http_date_parse_at(trim_ows(v), now, t) == 0;
}

enum http_cond http_cond_read(const struct http_cond_headers *h, const struct http_cond_object *obj,
                              int64_t now)
{
	int64_t t;

	if (present(h->if_match)) {
		if (!names_etag(h->if_match, obj->etag, HTTP_ETAG_STRONG))
			return HTTP_COND_FAILED;
	} else if (date_header(h->if_unmodified_since, now, &t) && obj->last_modified > t) {
		return HTTP_COND_FAILED;
	}
	if (present(h->if_none_match)) {
		if (names_etag(h->if_none_match, obj->etag, HTTP_ETAG_WEAK))
			return HTTP_COND_NOT_MODIFIED;
	} else if (date_header(h->if_modified_since, now, &t) && t <= now &&
	           obj->last_modified <= t) {
		/* A date after `now` is ignored (RFC 7232 §3.3; S3 copies with one). */
		return HTTP_COND_NOT_MODIFIED;
	}
	return HTTP_COND_PROCEED;
}

int http_cond_copy_source(const struct http_cond_headers *h, const struct http_cond_object *obj,
                          int64_t now)
{
	return http_cond_read(h, obj, now) == HTTP_COND_PROCEED ? 0 : ERR_COND_FAILED;
}

int http_cond_write(struct iov if_match, struct iov if_none_match, bool exists,
                    const struct http_cond_object *obj)
{
	CHECK(!exists || obj != NULL);
	if (present(if_none_match)) {
		if (present(if_match) || !iov_eq(trim_ows(if_none_match), IOV_LIT("*")))
			return ERR_COND_NOT_IMPLEMENTED;
		return exists ? ERR_COND_FAILED : 0;
	}
	if (!present(if_match))
		return 0;
	if (!exists)
		return ERR_NOT_FOUND;
	return names_etag(if_match, obj->etag, HTTP_ETAG_STRONG) ? 0 : ERR_COND_FAILED;
}
