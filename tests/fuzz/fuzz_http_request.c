/*
 * libFuzzer: the HTTP/1.1 parser glue, requests (fuzz_http_response.c
 * includes this file for responses). data[0] picks the split size and the
 * limits, data[1] pauses and HEAD answers; the rest is the connection's bytes.
 * Each input runs twice, whole without pauses and split with pauses, and both
 * runs must report the same heads, bodies and ends (a hash of them) and agree
 * on success. Every head is checked against the caps and the rules the glue
 * promises, and Content-Length bodies never overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/parser.h"

#ifndef FUZZ_HTTP_TYPE
#define FUZZ_HTTP_TYPE HTTP_PARSE_REQUEST
#endif

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

enum {
	CTL_PAUSE_HEAD = 1,     /* data[1]: on_head and on_complete pause */
	CTL_PAUSE_BODY = 2,     /* data[1]: every on_body pauses */
	CTL_HEAD_FIRST = 4,     /* data[1]: the first response answers HEAD */
	CTL_HEAD_ALL = 8,       /* data[1]: every response answers HEAD */
	CTL_SMALL_LIMITS = 0x80 /* data[0] */
};

static const struct http_limits small_limits = { 40, 128, 6 };

struct fz {
	struct http_parser *p;
	const struct http_limits *lim;
	unsigned ctl;
	bool pauses;
	const struct http_head *head;
	uint64_t body;
	uint64_t hash;
};

static void mix(struct fz *f, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		f->hash = (f->hash ^ b[i]) * FNV_PRIME;
}

static void mix_u64(struct fz *f, uint64_t v)
{
	mix(f, &v, sizeof(v));
}

static void mix_iov(struct fz *f, struct iov v)
{
	mix_u64(f, v.len);
	mix(f, v.base, v.len);
}

static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A slice is readable and lies in [*lo, *hi), widened to hold it. */
static void span(struct iov v, const char **lo, const char **hi)
{
	if (v.len == 0)
		return;
	CHECK(v.base != NULL);
	if (!*lo || v.base < *lo)
		*lo = v.base;
	if (!*hi || v.base + v.len > *hi)
		*hi = v.base + v.len;
}

static void check_head(const struct fz *f, const struct http_head *h)
{
	const struct http_limits *lim = f->lim;
	const char *lo = NULL, *hi = NULL;
	size_t field_bytes = 0;
	bool request = FUZZ_HTTP_TYPE == HTTP_PARSE_REQUEST;

	CHECK(h->version_minor == 0 || h->version_minor == 1);
	CHECK(h->nheaders <= lim->header_count);
	CHECK(h->nheaders == 0 || h->headers != NULL);
	if (request) {
		CHECK(h->method.len > 0 && h->target.len > 0);
		CHECK(h->method.len + h->target.len <= lim->request_line);
		for (size_t i = 0; i < h->target.len; i++)
			CHECK((unsigned char)h->target.base[i] > ' ' &&
			      (unsigned char)h->target.base[i] < 0x7f);
		CHECK(h->framing != HTTP_BODY_EOF);
		CHECK(h->version_minor == 0 || h->host.base != NULL);
		span(h->method, &lo, &hi);
		span(h->target, &lo, &hi);
	} else {
		CHECK(h->status >= 200 && h->status <= 599);
		CHECK(h->reason.len <= lim->request_line);
		span(h->reason, &lo, &hi);
	}
	bool host_found = h->host.base == NULL;
	for (size_t i = 0; i < h->nheaders; i++) {
		struct iov n = h->headers[i].name, v = h->headers[i].value;
		CHECK(n.len > 0);
		for (size_t k = 0; k < n.len; k++)
			CHECK(is_tchar((unsigned char)n.base[k]));
		for (size_t k = 0; k < v.len; k++) {
			unsigned char c = (unsigned char)v.base[k];
			CHECK(c >= 0x20 || c == '\t');
			CHECK(c != 0x7f);
		}
		if (v.len)
			CHECK(v.base[0] != ' ' && v.base[0] != '\t' && v.base[v.len - 1] != ' ' &&
			      v.base[v.len - 1] != '\t');
		if (h->host.base && v.base == h->host.base && v.len == h->host.len &&
		    iov_eq_nocase(n, IOV_LIT("host")))
			host_found = true;
		field_bytes += n.len + v.len;
		span(n, &lo, &hi);
		span(v, &lo, &hi);
	}
	CHECK(host_found);
	CHECK(field_bytes <= lim->header_bytes);
	/* All of it in one buffer no bigger than the caps (plus the glue's slack). */
	CHECK(!lo || (size_t)(hi - lo) <= lim->request_line + lim->header_bytes + 64);
	if (h->framing == HTTP_BODY_NONE || h->framing == HTTP_BODY_CHUNKED)
		CHECK(h->framing == HTTP_BODY_NONE || h->content_length == 0);
	if (h->framing == HTTP_BODY_EOF)
		CHECK(!h->keep_alive);
}

static int fz_head(void *arg, const struct http_head *h)
{
	struct fz *f = arg;
	CHECK(f->head == NULL);
	check_head(f, h);
	f->head = h;
	f->body = 0;
	mix(f, "H", 1);
	mix_iov(f, h->method);
	mix_iov(f, h->target);
	mix_u64(f, (uint64_t)h->status);
	mix_iov(f, h->reason);
	mix_u64(f, (uint64_t)h->version_minor);
	mix_u64(f, h->framing);
	mix_u64(f, h->content_length);
	mix_u64(f, h->keep_alive * 2u + h->expect_continue);
	mix_iov(f, h->host);
	for (size_t i = 0; i < h->nheaders; i++) {
		mix_iov(f, h->headers[i].name);
		mix_iov(f, h->headers[i].value);
	}
	return f->pauses && (f->ctl & CTL_PAUSE_HEAD) ? ERR_AGAIN : 0;
}

static int fz_body(void *arg, const char *p, size_t n)
{
	struct fz *f = arg;
	CHECK(f->head != NULL && n > 0);
	CHECK(f->head->framing != HTTP_BODY_NONE);
	if (f->head->framing == HTTP_BODY_LENGTH)
		CHECK(n <= f->head->content_length - f->body);
	f->body += n;
	mix(f, p, n); /* byte-wise: the same however the body was cut */
	return f->pauses && (f->ctl & CTL_PAUSE_BODY) ? ERR_AGAIN : 0;
}

static int fz_complete(void *arg)
{
	struct fz *f = arg;
	CHECK(f->head != NULL);
	if (f->head->framing == HTTP_BODY_LENGTH)
		CHECK(f->body == f->head->content_length);
	f->head = NULL;
	mix(f, "E", 1);
	if (FUZZ_HTTP_TYPE == HTTP_PARSE_RESPONSE && (f->ctl & CTL_HEAD_ALL))
		http_parser_next_is_head(f->p);
	return f->pauses && (f->ctl & CTL_PAUSE_HEAD) ? ERR_AGAIN : 0;
}

static const struct http_parser_ops fz_ops = { fz_head, fz_body, fz_complete };

/* Feed in pieces of `split` bytes (0: all at once); returns the final code. */
static int run(struct fz *f, const char *in, size_t len, size_t split)
{
	CHECK(http_parser_new(FUZZ_HTTP_TYPE, f->lim, &fz_ops, f, &f->p) == 0);
	if (FUZZ_HTTP_TYPE == HTTP_PARSE_RESPONSE && (f->ctl & (CTL_HEAD_FIRST | CTL_HEAD_ALL)))
		http_parser_next_is_head(f->p);
	f->hash = FNV_OFFSET;
	int rc = 0;
	unsigned idle_pauses = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		size_t n = split && len - off > split ? split : len - off;
		size_t used = 0;
		rc = http_parser_feed(f->p, in + off, n, &used);
		CHECK(used <= n);
		if (rc == ERR_AGAIN) {
			/* A pause may consume nothing (on_complete right after a paused
			 * last on_body), but never many times in a row. */
			CHECK(f->pauses);
			idle_pauses = used ? 0 : idle_pauses + 1;
			CHECK(idle_pauses < 4);
			rc = 0;
			off += used;
			continue;
		}
		if (rc == 0)
			CHECK(used == n);
		off += n;
	}
	if (rc == 0)
		rc = http_parser_finish(f->p);
	if (rc) {
		/* Sticky, with a status and a reason. */
		size_t used;
		CHECK(http_parser_feed(f->p, "x", 1, &used) == rc);
		CHECK(http_parser_finish(f->p) == rc);
		CHECK(http_parser_status(f->p) >= 400);
		CHECK(http_parser_reason(f->p)[0] != '\0');
	}
	http_parser_free(f->p);
	f->p = NULL;
	f->head = NULL;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	struct fz whole = { .lim = (data[0] & CTL_SMALL_LIMITS) ? &small_limits : NULL,
		            .ctl = data[1] };
	static const struct http_limits defaults = { HTTP_DEFAULT_REQUEST_LINE,
		                                     HTTP_DEFAULT_HEADER_BYTES,
		                                     HTTP_DEFAULT_HEADER_COUNT };
	if (!whole.lim)
		whole.lim = &defaults;
	struct fz cut = whole;
	cut.pauses = true;

	int rc_whole = run(&whole, in, len, 0);
	int rc_cut = run(&cut, in, len, (size_t)(data[0] & 0x3f) + 1);
	CHECK(whole.hash == cut.hash);
	CHECK((rc_whole == 0) == (rc_cut == 0));
	return 0;
}
