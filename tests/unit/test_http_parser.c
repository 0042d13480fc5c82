/*
 * The HTTP/1.1 parser glue as tables: good requests and responses with the
 * exact heads, bodies and ends they report, and one bad message per rule with
 * the exact error code and status. Every case is fed whole, split in two at
 * every byte and byte by byte, and must report the same thing each time.
 * Then pausing (exact consumed counts), the caps at and one past their limits,
 * trailers, EOF handling and sticky errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <llhttp.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/parser.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define LOG_MAX    (1u << 20)

enum pause_on {
	PAUSE_NONE = 0,
	PAUSE_HEAD = 1,
	PAUSE_BODY = 2,
	PAUSE_COMPLETE = 4,
};

/* What the callbacks saw, as text that does not depend on how input was split. */
struct rec {
	struct buf log;
	struct buf body;
	unsigned pause;
	const struct http_head *head; /* the current message's, until on_complete */
	struct buf head_text;         /* how it rendered at on_head */
	int fail_head;                /* on_head returns this */
	size_t heads, bodies, completes;
	uint64_t body_len;
};

static void add_escaped(struct buf *b, struct iov v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.base[i];
		if (c < 0x20 || c >= 0x7f)
			assert_int_equal(buf_printf(b, "\\x%02x", c), 0);
		else
			assert_int_equal(buf_add_char(b, (char)c), 0);
	}
}

static const char *framing_name(enum http_framing f)
{
	switch (f) {
	case HTTP_BODY_NONE:
		return "none";
	case HTTP_BODY_LENGTH:
		return "len";
	case HTTP_BODY_CHUNKED:
		return "chunked";
	case HTTP_BODY_EOF:
		return "eof";
	}
	return "?";
}

static void render_head(struct buf *b, const struct http_head *h)
{
	if (h->method.len) {
		assert_int_equal(buf_add_str(b, "REQ "), 0);
		add_escaped(b, h->method);
		assert_int_equal(buf_add_char(b, ' '), 0);
		add_escaped(b, h->target);
	} else {
		assert_int_equal(buf_printf(b, "RES %d ", h->status), 0);
		add_escaped(b, h->reason);
	}
	assert_int_equal(buf_printf(b, " 1.%d %s", h->version_minor, framing_name(h->framing)), 0);
	if (h->framing == HTTP_BODY_LENGTH || h->content_length)
		assert_int_equal(buf_printf(b, ":%llu", (unsigned long long)h->content_length), 0);
	assert_int_equal(buf_printf(b, " ka=%d", h->keep_alive), 0);
	if (h->expect_continue)
		assert_int_equal(buf_add_str(b, " ec"), 0);
	if (h->host.base) {
		assert_int_equal(buf_add_str(b, " host="), 0);
		add_escaped(b, h->host);
	}
	assert_int_equal(buf_add_char(b, '\n'), 0);
	for (size_t i = 0; i < h->nheaders; i++) {
		assert_int_equal(buf_add_str(b, "H "), 0);
		add_escaped(b, h->headers[i].name);
		assert_int_equal(buf_add_str(b, ": "), 0);
		add_escaped(b, h->headers[i].value);
		assert_int_equal(buf_add_char(b, '\n'), 0);
	}
}

static int rec_head(void *arg, const struct http_head *h)
{
	struct rec *r = arg;
	assert_null(r->head); /* one head per message */
	r->heads++;
	r->head = h;
	buf_reset(&r->head_text);
	render_head(&r->head_text, h);
	assert_int_equal(buf_add_iov(&r->log, buf_iov(&r->head_text)), 0);
	if (r->fail_head)
		return r->fail_head;
	return (r->pause & PAUSE_HEAD) ? ERR_AGAIN : 0;
}

static int rec_body(void *arg, const char *p, size_t n)
{
	struct rec *r = arg;
	assert_non_null(r->head);
	assert_true(n > 0);
	r->bodies++;
	if (r->head->framing == HTTP_BODY_LENGTH)
		assert_true(r->body_len + n <= r->head->content_length);
	assert_true(r->head->framing != HTTP_BODY_NONE);
	r->body_len += n;
	assert_int_equal(buf_add(&r->body, p, n), 0);
	return (r->pause & PAUSE_BODY) ? ERR_AGAIN : 0;
}

static int rec_complete(void *arg)
{
	struct rec *r = arg;
	assert_non_null(r->head);
	r->completes++;
	/* The head's slices are still valid and unchanged. */
	struct buf again;
	buf_init(&again, LOG_MAX);
	render_head(&again, r->head);
	assert_true(iov_eq(buf_iov(&again), buf_iov(&r->head_text)));
	buf_free(&again);
	if (r->head->framing == HTTP_BODY_LENGTH)
		assert_int_equal(r->body_len, r->head->content_length);
	if (r->body.len) {
		assert_int_equal(buf_printf(&r->log, "BODY %zu ", r->body.len), 0);
		add_escaped(&r->log, buf_iov(&r->body));
		assert_int_equal(buf_add_char(&r->log, '\n'), 0);
	}
	assert_int_equal(buf_add_str(&r->log, "END\n"), 0);
	buf_reset(&r->body);
	r->head = NULL;
	r->body_len = 0;
	return (r->pause & PAUSE_COMPLETE) ? ERR_AGAIN : 0;
}

static const struct http_parser_ops rec_ops = { rec_head, rec_body, rec_complete };

static void rec_init(struct rec *r)
{
	*r = (struct rec){ 0 };
	buf_init(&r->log, LOG_MAX);
	buf_init(&r->body, LOG_MAX);
	buf_init(&r->head_text, LOG_MAX);
}

static void rec_free(struct rec *r)
{
	buf_free(&r->log);
	buf_free(&r->body);
	buf_free(&r->head_text);
}

/* ---- driving a parser ---- */

struct run {
	int rc;
	int status;
	const char *reason;
	size_t pauses;
};

/*
 * Feed `in` in pieces ending at each of cuts[] (then the rest), each piece in
 * its own allocation so ASan sees any read past it. A pause is logged with
 * its absolute offset (when logging pauses) and the rest is fed again.
 */
static struct run drive(struct http_parser *p, struct rec *r, const char *in, size_t len,
                        const size_t *cuts, size_t ncuts, bool finish, bool log_pauses)
{
	struct run res = { 0 };
	size_t start = 0;
	for (size_t k = 0; k <= ncuts && res.rc == 0; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		size_t n = end - start;
		char *piece = malloc(n ? n : 1);
		assert_non_null(piece);
		memcpy(piece, in + start, n);
		size_t off = 0;
		for (;;) {
			size_t used = 12345;
			int rc = http_parser_feed(p, piece + off, n - off, &used);
			if (rc == ERR_AGAIN) {
				assert_true(used <= n - off);
				off += used;
				res.pauses++;
				if (log_pauses)
					assert_int_equal(
					    buf_printf(&r->log, "PAUSE @%zu\n", start + off), 0);
				continue;
			}
			if (rc == 0)
				assert_int_equal(used, n - off);
			res.rc = rc;
			break;
		}
		free(piece);
		start = end;
	}
	if (res.rc == 0 && finish)
		res.rc = http_parser_finish(p);
	res.status = http_parser_status(p);
	res.reason = http_parser_reason(p);
	return res;
}

/* ---- the case table ---- */

struct pcase {
	const char *name;
	enum http_parser_type type;
	const char *in;
	int rc;          /* of feeding everything (and finish, when set) */
	int status;      /* http_parser_status afterwards; 0 when it went well */
	const char *log; /* what the callbacks saw */
	bool finish;
	bool head_next;                /* responses: the first answers HEAD */
	const struct http_limits *lim; /* NULL: the defaults */
};

#define CASE(n, t, i, r, s, l, ...)                                                        \
	{                                                                                  \
		.name = (n), .type = (t), .in = (i), .rc = (r), .status = (s), .log = (l), \
		__VA_ARGS__                                                                \
	}
#define REQ HTTP_PARSE_REQUEST
#define RES HTTP_PARSE_RESPONSE

/* ------------------------------------------------------------------------------------- */
/* Requests that must parse. */
static const struct pcase good_requests[] = {
	CASE("GET", REQ, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n", 0,
	     0,
	     "REQ GET /a?b=c 1.1 none ka=1 host=example.com\n"
	     "H Host: example.com\nH User-Agent: t/1\nEND\n"),
	CASE("HEAD", REQ, "HEAD /k HTTP/1.1\r\nHost: b.s3:9000\r\n\r\n", 0, 0,
	     "REQ HEAD /k 1.1 none ka=1 host=b.s3:9000\nH Host: b.s3:9000\nEND\n"),
	CASE("POST with Content-Length", REQ,
	     "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", 0, 0,
	     "REQ POST /up 1.1 len:11 ka=1 host=x\nH Host: x\nH Content-Length: 11\n"
	     "BODY 11 hello world\nEND\n"),
	CASE("PUT with Content-Length 0", REQ,
	     "PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0, 0,
	     "REQ PUT /e 1.1 len:0 ka=1 host=x\nH Host: x\nH Content-Length: 0\nEND\n"),
	CASE("chunked with extensions and trailers", REQ,
	     "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5;ext=1\r\nhello\r\n6;name=\"quoted value\"\r\n world\r\n0;last\r\n"
	     "X-Trailer: t\r\nX-Checksum: abc\r\n\r\n",
	     0, 0,
	     "REQ POST /c 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"
	     "BODY 11 hello world\nEND\n"),
	CASE("chunked, upper case, hex sizes", REQ,
	     "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
	     "A\r\n0123456789\r\n0\r\n\r\n",
	     0, 0,
	     "REQ PUT /c 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: CHUNKED\n"
	     "BODY 10 0123456789\nEND\n"),
	CASE("HTTP/1.0 closes by default, Host optional", REQ, "GET / HTTP/1.0\r\n\r\n", 0, 0,
	     "REQ GET / 1.0 none ka=0\nEND\n"),
	CASE("HTTP/1.0 keep-alive", REQ,
	     "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", 0, 0,
	     "REQ GET / 1.0 none ka=1\nH Connection: keep-alive\nEND\n"
	     "REQ GET /2 1.0 none ka=0\nEND\n"),
	CASE("HTTP/1.0 keep-alive and close: close wins", REQ,
	     "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, 0,
	     "REQ GET / 1.0 none ka=0\nH Connection: keep-alive, close\nEND\n"),
	CASE("Connection: close", REQ, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0,
	     0, "REQ GET / 1.1 none ka=0 host=x\nH Host: x\nH Connection: close\nEND\n"),
	CASE("Expect: 100-continue", REQ,
	     "PUT /o HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok", 0,
	     0,
	     "REQ PUT /o 1.1 len:2 ka=1 ec host=x\nH Host: x\nH Expect: 100-Continue\n"
	     "H Content-Length: 2\nBODY 2 ok\nEND\n"),
	CASE("Expect in HTTP/1.0 is ignored", REQ,
	     "PUT /o HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", 0, 0,
	     "REQ PUT /o 1.0 len:0 ka=0\nH Expect: 100-continue\nH Content-Length: 0\nEND\n"),
	CASE("other Expect values are not 100-continue", REQ,
	     "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue-ish\r\n\r\n", 0, 0,
	     "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nH Expect: 100-continue-ish\nEND\n"),
	/* Absolute-form is passed through as sent; Host is still the Host field. */
	CASE("absolute-form target", REQ,
	     "GET http://a.example/k?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", 0, 0,
	     "REQ GET http://a.example/k?x=1 1.1 none ka=1 host=other\nH Host: other\nEND\n"),
	CASE("asterisk-form", REQ, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0,
	     "REQ OPTIONS * 1.1 none ka=1 host=x\nH Host: x\nEND\n"),
	CASE("three pipelined requests", REQ,
	     "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
	     "PUT /2 HTTP/1.1\r\nHost: y\r\nContent-Length: 3\r\n\r\nabc"
	     "DELETE /3 HTTP/1.1\r\nHost: z\r\nConnection: close\r\n\r\n",
	     0, 0,
	     "REQ GET /1 1.1 none ka=1 host=x\nH Host: x\nEND\n"
	     "REQ PUT /2 1.1 len:3 ka=1 host=y\nH Host: y\nH Content-Length: 3\nBODY 3 abc\nEND\n"
	     "REQ DELETE /3 1.1 none ka=0 host=z\nH Host: z\nH Connection: close\nEND\n"),
	CASE("values trimmed, inner space kept, empty values", REQ,
	     "GET / HTTP/1.1\r\nHost:x\r\nX-A: \t a  b \t \r\nX-E:\r\nX-F:   \r\n\r\n", 0, 0,
	     "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nH X-A: a  b\nH X-E: \nH X-F: \nEND\n"),
	CASE("obs-text in a value", REQ, "GET / HTTP/1.1\r\nHost: x\r\nX-U: caf\xc3\xa9\r\n\r\n", 0,
	     0, "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nH X-U: caf\\xc3\\xa9\nEND\n"),
	CASE("repeated fields are kept in order", REQ,
	     "GET / HTTP/1.1\r\nHost: x\r\nX-R: 1\r\nx-r: 2\r\n\r\n", 0, 0,
	     "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nH X-R: 1\nH x-r: 2\nEND\n"),
	CASE("empty Host, IPv6 Host", REQ,
	     "GET / HTTP/1.1\r\nHost:\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0, 0,
	     "REQ GET / 1.1 none ka=1 host=\nH Host: \nEND\n"
	     "REQ GET / 1.1 none ka=1 host=[::1]:80\nH Host: [::1]:80\nEND\n"),
	/* We never switch protocols: the next request is plain HTTP/1.1. */
	CASE("Upgrade is ignored", REQ,
	     "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
	     "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
	     0, 0,
	     "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nH Connection: Upgrade\nH Upgrade: "
	     "h2c\nEND\n"
	     "REQ GET /2 1.1 none ka=1 host=x\nH Host: x\nEND\n"),
	CASE("an empty line before a request is skipped", REQ,
	     "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0,
	     "REQ GET /1 1.1 none ka=1 host=x\nH Host: x\nEND\n"
	     "REQ GET /2 1.1 none ka=1 host=x\nH Host: x\nEND\n"),
	CASE("S3 PUT with aws-chunked inside Content-Length", REQ,
	     "PUT /b/k HTTP/1.1\r\nHost: b.s3.example\r\nContent-Encoding: aws-chunked\r\n"
	     "x-amz-decoded-content-length: 3\r\nContent-Length: 10\r\n\r\n3;s=x\r\nabc\r\n",
	     0, 0,
	     "REQ PUT /b/k 1.1 len:10 ka=1 host=b.s3.example\nH Host: b.s3.example\n"
	     "H Content-Encoding: aws-chunked\nH x-amz-decoded-content-length: 3\n"
	     "H Content-Length: 10\nBODY 10 3;s=x\\x0d\\x0aabc\nEND\n"),
	CASE("finish between messages", REQ, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0,
	     "REQ GET / 1.1 none ka=1 host=x\nH Host: x\nEND\n", .finish = true),
};

/* ------------------------------------------------------------------------------------- */
/* Requests that must fail, each for one reason, with the exact code. */
#define BAD(name, in, code, status, log) CASE(name, REQ, in, code, status, log)
#define H11                              "GET / HTTP/1.1\r\nHost: x\r\n"

static const struct pcase bad_requests[] = {
	/* What llhttp 8.1 accepts and we do not. */
	BAD("space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, ""),
	BAD("tab before the colon", H11 "X-A\t: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("obs-fold, space", H11 "X-A: a\r\n b\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("obs-fold, tab", H11 "X-A: a\r\n\tb\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("obs-fold after an empty value", H11 "X-A:\r\n b\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("obs-fold after trailing whitespace", H11 "X-A: a \r\n  b\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("obs-fold of Transfer-Encoding",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("empty field name", H11 ": x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("tab in the target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("raw UTF-8 in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("two spaces before the target", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("two spaces after the target", "GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("RTSP is not HTTP", "GET / RTSP/1.0\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("ICE is not HTTP", "SOURCE / ICE/1.0\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("HTTP/0.9 (no version)", "GET /\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("HTTP/0.9 (no version) with fields", "GET /a\r\nHost: x\r\n\r\n", ERR_HTTP_VERSION, 505,
	    ""),
	BAD("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("bare LF after the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("bare LF after a field line", H11 "X-A: 1\nX-B: 2\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("two Hosts", H11 "Host: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("two Hosts, HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("duplicate Content-Length, same value",
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("conflicting Content-Length",
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Content-Length with a sign",
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("Content-Length overflow",
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Content-Length then Transfer-Encoding",
	    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Transfer-Encoding then Content-Length",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	    "0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Transfer-Encoding: gzip, chunked",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	    ERR_HTTP_NOT_IMPLEMENTED, 501, ""),
	BAD("Transfer-Encoding gzip then chunked on two lines",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n0\r\n\r\n",
	    ERR_HTTP_NOT_IMPLEMENTED, 501, ""),
	BAD("Transfer-Encoding: chunked, gzip",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Transfer-Encoding: identity",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Transfer-Encoding: gzip",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, ""),
	BAD("Transfer-Encoding: chunked twice",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("Transfer-Encoding: chunked with an empty element",
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("control character in a value", H11 "X-A: a\x01z\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("DEL in a value", H11 "X-A: a\x7fz\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("bare CR in a value", H11 "X-A: a\rz\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("control character in a name", H11 "X\x01A: z\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("non-token character in a name", H11 "X(A): z\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, ""),
	BAD("control character in the target", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("DEL in the target", "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, ""),
	BAD("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", ERR_HTTP_VERSION, 505, ""),
	BAD("HTTP/1.10 is malformed, not another version", "GET / HTTP/1.10\r\nHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("HTTP/1", "GET / HTTP/1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", ERR_HTTP_NOT_IMPLEMENTED,
	    501, ""),
	BAD("unknown method", "FROB / HTTP/1.1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    ""),
	BAD("space before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("bare CR after the request line", "GET / HTTP/1.1\rHost: x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("response sent to a request parser", "HTTP/1.1 200 OK\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, ""),
	BAD("bad chunk size", H11 "Transfer-Encoding: chunked\r\n\r\nzz\r\n", ERR_HTTP_BAD_REQUEST,
	    400, "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	BAD("chunk size overflow", H11 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
	    ERR_HTTP_BAD_REQUEST, 400,
	    "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	/* llhttp 8.1 takes one extension per chunk; a second is an error. */
	BAD("two chunk extensions", H11 "Transfer-Encoding: chunked\r\n\r\n5;a=b;c=d\r\nhello\r\n",
	    ERR_HTTP_BAD_REQUEST, 400,
	    "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	BAD("obs-fold in a trailer",
	    H11 "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: a\r\n b\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400,
	    "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	BAD("space before the colon of a trailer",
	    H11 "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T : a\r\n\r\n", ERR_HTTP_BAD_REQUEST, 400,
	    "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	BAD("control character in a trailer",
	    H11 "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\x02\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, "REQ GET / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"),
	BAD("data after Connection: close",
	    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: "
	    "x\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400,
	    "REQ GET / 1.1 none ka=0 host=x\nH Host: x\nH Connection: close\nEND\n"),
	BAD("data after an HTTP/1.0 request", "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, "REQ GET / 1.0 none ka=0\nEND\n"),
	CASE("EOF in the head", REQ, "GET / HTTP/1.1\r\nHost: x\r\n", ERR_HTTP_INCOMPLETE, 400, "",
	     .finish = true),
	CASE("EOF in the body", REQ, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabc",
	     ERR_HTTP_INCOMPLETE, 400,
	     "REQ PUT / 1.1 len:5 ka=1 host=x\nH Host: x\nH Content-Length: 5\n", .finish = true),
};

/* ------------------------------------------------------------------------------------- */
/* Responses: good and bad together (the client side). */
static const struct pcase responses[] = {
	CASE("200 with Content-Length", RES, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 0,
	     0, "RES 200 OK 1.1 len:3 ka=1\nH Content-Length: 3\nBODY 3 abc\nEND\n"),
	CASE("chunked", RES,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n"
	     "Trailer-A: 1\r\n\r\n",
	     0, 0,
	     "RES 200 OK 1.1 chunked ka=1\nH Transfer-Encoding: chunked\nBODY 5 abcde\nEND\n"),
	CASE("EOF-framed, completed by finish", RES, "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nall of it",
	     0, 0, "RES 200 OK 1.1 eof ka=0\nH X-A: 1\nBODY 9 all of it\nEND\n", .finish = true),
	CASE("EOF-framed, empty", RES, "HTTP/1.0 200 OK\r\n\r\n", 0, 0,
	     "RES 200 OK 1.0 eof ka=0\nEND\n", .finish = true),
	CASE("EOF-framed, not finished yet", RES, "HTTP/1.1 200 OK\r\n\r\nabc", 0, 0,
	     "RES 200 OK 1.1 eof ka=0\n"),
	CASE("HEAD response with Content-Length, then the next", RES,
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 404 Not Found\r\n"
	     "Content-Length: 1\r\n\r\nx",
	     0, 0,
	     "RES 200 OK 1.1 none:5 ka=1\nH Content-Length: 5\nEND\n"
	     "RES 404 Not Found 1.1 len:1 ka=1\nH Content-Length: 1\nBODY 1 x\nEND\n",
	     .head_next = true),
	CASE("HEAD response, chunked", RES,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	     0, 0,
	     "RES 200 OK 1.1 none ka=1\nH Transfer-Encoding: chunked\nEND\n"
	     "RES 204 No Content 1.1 none ka=1\nEND\n",
	     .head_next = true),
	CASE("204 with a Content-Length has no body", RES,
	     "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n"
	     "Content-Length: 1\r\n\r\nx",
	     0, 0,
	     "RES 204 No Content 1.1 none:5 ka=1\nH Content-Length: 5\nEND\n"
	     "RES 200 OK 1.1 len:1 ka=1\nH Content-Length: 1\nBODY 1 x\nEND\n"),
	CASE("304", RES,
	     "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\nContent-Length: 10\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	     0, 0,
	     "RES 304 Not Modified 1.1 none:10 ka=1\nH ETag: \"e\"\nH Content-Length: 10\nEND\n"
	     "RES 200 OK 1.1 len:0 ka=1\nH Content-Length: 0\nEND\n"),
	CASE("100 Continue then 200: only the final one is reported", RES,
	     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0,
	     "RES 200 OK 1.1 len:2 ka=1\nH Content-Length: 2\nBODY 2 ok\nEND\n"),
	CASE("103 with fields, 100, then 200 to a HEAD", RES,
	     "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
	     0, 0, "RES 200 OK 1.1 none:7 ka=1\nH Content-Length: 7\nEND\n", .head_next = true),
	CASE("HTTP/1.0 keep-alive response", RES,
	     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na", 0, 0,
	     "RES 200 OK 1.0 len:1 ka=1\nH Connection: keep-alive\nH Content-Length: 1\n"
	     "BODY 1 a\nEND\n"),
	CASE("no reason phrase", RES, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 0, 0,
	     "RES 200  1.1 len:0 ka=1\nH Content-Length: 0\nEND\n"),
	CASE("100 then EOF", RES, "HTTP/1.1 100 Continue\r\n\r\n", ERR_HTTP_INCOMPLETE, 502, "",
	     .finish = true),
	CASE("EOF in a Content-Length body", RES, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
	     ERR_HTTP_INCOMPLETE, 502, "RES 200 OK 1.1 len:5 ka=1\nH Content-Length: 5\n",
	     .finish = true),
	CASE("EOF in a chunked body", RES,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab", ERR_HTTP_INCOMPLETE,
	     502, "RES 200 OK 1.1 chunked ka=1\nH Transfer-Encoding: chunked\n", .finish = true),
	CASE("101", RES,
	     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("status 099", RES, "HTTP/1.1 099 Odd\r\n\r\n", ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("status 600", RES, "HTTP/1.1 600 Odd\r\n\r\n", ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("control character in the reason", RES, "HTTP/1.1 200 O\x01K\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("bare LF after the status line", RES, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("HTTP/2.0 response", RES, "HTTP/2.0 200 OK\r\n\r\n", ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("HTTP/1.2 response", RES, "HTTP/1.2 200 OK\r\n\r\n", ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("space before the colon", RES,
	     "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n", ERR_HTTP_BAD_RESPONSE, 502,
	     ""),
	CASE("obs-fold", RES, "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("Content-Length and chunked", RES,
	     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("duplicate Content-Length", RES,
	     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE("Transfer-Encoding: gzip", RES,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", ERR_HTTP_BAD_RESPONSE, 502,
	     ""),
	CASE("Transfer-Encoding: gzip, chunked", RES,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
	CASE(
	    "data after Connection: close", RES,
	    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 "
	    "OK\r\n\r\n",
	    ERR_HTTP_BAD_RESPONSE, 502,
	    "RES 200 OK 1.1 len:1 ka=0\nH Connection: close\nH Content-Length: 1\nBODY 1 x\nEND\n"),
	CASE("a request sent to a response parser", RES, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	     ERR_HTTP_BAD_RESPONSE, 502, ""),
};

/* Run one case whole, split in two at every byte, and byte by byte. */
static void check_case(const struct pcase *c)
{
	size_t len = strlen(c->in);
	size_t *cuts = calloc(len + 1, sizeof(*cuts));
	assert_non_null(cuts);
	char *first_log = NULL;

	/* mode 0: whole; 1..len-1: one cut; len: every byte. */
	for (size_t mode = 0; mode <= len; mode++) {
		size_t ncuts = 0;
		if (mode == len) {
			for (size_t i = 1; i < len; i++)
				cuts[ncuts++] = i;
		} else if (mode > 0) {
			cuts[ncuts++] = mode;
		}
		struct rec r;
		rec_init(&r);
		struct http_parser *p;
		assert_int_equal(http_parser_new(c->type, c->lim, &rec_ops, &r, &p), 0);
		if (c->head_next)
			http_parser_next_is_head(p);
		struct run res = drive(p, &r, c->in, len, cuts, ncuts, c->finish, false);
		const char *log = buf_cstr(&r.log);
		if (res.rc != c->rc || res.status != c->status || (c->log && strcmp(log, c->log)))
			fail_msg("%s (split %zu of %zu): rc %s status %d (%s), want %s %d\n"
			         "got log:\n%s\nwant:\n%s",
			         c->name, mode, len, err_name(res.rc), res.status, res.reason,
			         err_name(c->rc), c->status, log, c->log ? c->log : "(any)");
		if (res.rc) {
			/* Errors are sticky and name a reason. */
			size_t used;
			assert_int_equal(http_parser_feed(p, "GET", 3, &used), res.rc);
			assert_int_equal(http_parser_finish(p), res.rc);
			assert_true(strlen(http_parser_reason(p)) > 0);
			assert_false(http_parser_idle(p));
		}
		if (!first_log)
			first_log = strdup(log);
		else
			assert_string_equal(log, first_log);
		http_parser_free(p);
		rec_free(&r);
	}
	free(first_log);
	free(cuts);
}

static void run_table(const struct pcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

static void request_good(void **state)
{
	(void)state;
	run_table(good_requests, N_ELEMS(good_requests));
}

static void request_bad(void **state)
{
	(void)state;
	run_table(bad_requests, N_ELEMS(bad_requests));
}

static void response_table(void **state)
{
	(void)state;
	run_table(responses, N_ELEMS(responses));
}

/* ------------------------------------------------------------------------------------- */
/* Pausing. */

/* Feed all of `in` at once and return what the first call said. */
static int feed_once(struct http_parser *p, const char *in, size_t *used)
{
	return http_parser_feed(p, in, strlen(in), used);
}

static void pause_on_head(void **state)
{
	(void)state;
	static const char head[] = "PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
	static const char in[] = "PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	struct rec r;
	rec_init(&r);
	r.pause = PAUSE_HEAD;
	struct http_parser *p;
	size_t used;
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(feed_once(p, in, &used), ERR_AGAIN);
	assert_int_equal(used, sizeof(head) - 1); /* the whole head, not a byte of body */
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.bodies, 0);
	assert_false(http_parser_idle(p));
	/* Resuming delivers the body and the end; the head is still valid. */
	assert_int_equal(http_parser_feed(p, in + used, strlen(in) - used, &used), 0);
	assert_int_equal(used, 5);
	assert_int_equal(r.completes, 1);
	assert_true(http_parser_idle(p));
	assert_string_equal(buf_cstr(&r.log), "REQ PUT /k 1.1 len:5 ka=1 host=x\nH Host: x\n"
	                                      "H Content-Length: 5\nBODY 5 hello\nEND\n");
	http_parser_free(p);
	rec_free(&r);
}

/* A bodiless message paused at its head completes when fed nothing. */
static void pause_on_head_no_body(void **state)
{
	(void)state;
	static const char in[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct rec r;
	rec_init(&r);
	r.pause = PAUSE_HEAD;
	struct http_parser *p;
	size_t used;
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(feed_once(p, in, &used), ERR_AGAIN);
	assert_int_equal(used, strlen(in));
	assert_int_equal(r.completes, 0);
	assert_int_equal(http_parser_feed(p, NULL, 0, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(r.completes, 1);
	assert_true(http_parser_idle(p));
	http_parser_free(p);
	rec_free(&r);
}

static void pause_on_body(void **state)
{
	(void)state;
	static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
	struct rec r;
	rec_init(&r);
	r.pause = PAUSE_BODY;
	struct http_parser *p;
	size_t used;
	char in[128];
	snprintf(in, sizeof(in), "%shelloGET / HTTP/1.1\r\nHost: y\r\n\r\n", head);
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	/* The paused piece is consumed; the next request is not. */
	assert_int_equal(feed_once(p, in, &used), ERR_AGAIN);
	assert_int_equal(used, sizeof(head) - 1 + 5);
	assert_int_equal(r.bodies, 1);
	assert_int_equal(r.completes, 0);
	size_t off = used;
	assert_int_equal(http_parser_feed(p, in + off, strlen(in) - off, &used), 0);
	assert_int_equal(used, strlen(in) - off);
	assert_int_equal(r.completes, 2);

	/* Split inside the body: each piece pauses after itself. */
	http_parser_free(p);
	rec_free(&r);
	rec_init(&r);
	r.pause = PAUSE_BODY;
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(http_parser_feed(p, in, sizeof(head) - 1 + 2, &used), ERR_AGAIN);
	assert_int_equal(used, sizeof(head) - 1 + 2);
	assert_int_equal(http_parser_feed(p, in + used, 3, &used), ERR_AGAIN);
	assert_int_equal(used, 3);
	assert_int_equal(r.completes, 0);
	/* Nothing left to feed: feeding nothing runs the held-back end. */
	assert_int_equal(http_parser_feed(p, NULL, 0, &used), 0);
	assert_int_equal(r.completes, 1);
	assert_string_equal(buf_cstr(&r.log), "REQ POST / 1.1 len:5 ka=1 host=x\nH Host: x\n"
	                                      "H Content-Length: 5\nBODY 5 hello\nEND\n");
	http_parser_free(p);
	rec_free(&r);
}

static void pause_on_chunks(void **state)
{
	(void)state;
	static const char head[] =
	    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	char in[256];
	snprintf(in, sizeof(in), "%s3;e=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n", head);
	struct rec r;
	rec_init(&r);
	r.pause = PAUSE_BODY | PAUSE_COMPLETE;
	struct http_parser *p;
	size_t used, off = 0, len = strlen(in);
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(http_parser_feed(p, in, len, &used), ERR_AGAIN);
	off += used;
	assert_int_equal(off, sizeof(head) - 1 + strlen("3;e=1\r\nabc"));
	assert_int_equal(http_parser_feed(p, in + off, len - off, &used), ERR_AGAIN);
	off += used;
	assert_int_equal(off, sizeof(head) - 1 + strlen("3;e=1\r\nabc\r\n2\r\nde"));
	assert_int_equal(r.completes, 0);
	/* on_complete pauses after the trailer's empty line: everything is consumed. */
	assert_int_equal(http_parser_feed(p, in + off, len - off, &used), ERR_AGAIN);
	off += used;
	assert_int_equal(off, len);
	assert_int_equal(r.completes, 1);
	assert_true(http_parser_idle(p));
	assert_int_equal(http_parser_feed(p, NULL, 0, &used), 0);
	assert_int_equal(http_parser_finish(p), 0);
	http_parser_free(p);
	rec_free(&r);
}

static void pause_on_complete_pipelined(void **state)
{
	(void)state;
	static const char first[] = "PUT /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na";
	char in[256];
	snprintf(in, sizeof(in), "%sGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", first);
	struct rec r;
	rec_init(&r);
	r.pause = PAUSE_COMPLETE;
	struct http_parser *p;
	size_t used;
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(feed_once(p, in, &used), ERR_AGAIN);
	assert_int_equal(used, sizeof(first) - 1);
	assert_int_equal(r.completes, 1);
	assert_int_equal(r.heads, 1);
	assert_true(http_parser_idle(p));
	assert_int_equal(http_parser_feed(p, in + used, strlen(in) - used, &used), ERR_AGAIN);
	assert_int_equal(used, strlen(in) - (sizeof(first) - 1));
	assert_int_equal(r.completes, 2);
	http_parser_free(p);
	rec_free(&r);
}

/* Pauses at heads and ends land on the same offsets however the input is split,
 * and pausing on every body piece changes nothing but the pauses. */
static void pause_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good_requests); i++) {
		const struct pcase *c = &good_requests[i];
		size_t len = strlen(c->in);
		size_t *cuts = calloc(len + 1, sizeof(*cuts));
		char *first = NULL;
		assert_non_null(cuts);
		for (size_t mode = 0; mode <= len; mode++) {
			size_t ncuts = 0;
			if (mode == len)
				for (size_t k = 1; k < len; k++)
					cuts[ncuts++] = k;
			else if (mode > 0)
				cuts[ncuts++] = mode;
			for (unsigned how = 0; how < 2; how++) {
				struct rec r;
				rec_init(&r);
				r.pause = how == 0 ? PAUSE_HEAD | PAUSE_COMPLETE : PAUSE_BODY;
				struct http_parser *p;
				assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
				struct run res =
				    drive(p, &r, c->in, len, cuts, ncuts, c->finish, how == 0);
				if (res.rc == 0) {
					size_t used;
					assert_int_equal(http_parser_feed(p, NULL, 0, &used), 0);
				}
				assert_int_equal(res.rc, 0);
				const char *log = buf_cstr(&r.log);
				if (how == 0) {
					assert_int_equal(res.pauses, 2 * r.heads);
					if (!first)
						first = strdup(log);
					else if (strcmp(first, log))
						fail_msg("%s split %zu:\n%s\nvs\n%s", c->name, mode,
						         log, first);
				} else {
					assert_int_equal(res.pauses, r.bodies);
					assert_string_equal(log, c->log);
				}
				http_parser_free(p);
				rec_free(&r);
			}
		}
		free(first);
		free(cuts);
	}
}

/* ------------------------------------------------------------------------------------- */
/* Caps: exactly at the limit passes, one byte or field more fails. */

static const struct http_limits small = { .request_line = 32,
	                                  .header_bytes = 64,
	                                  .header_count = 4 };

/* "GET " + target of `n` bytes: the request line counts method + target. */
static void make_request_line(char *out, size_t size, size_t target_len)
{
	char target[64];
	memset(target, 'a', sizeof(target));
	target[0] = '/';
	snprintf(out, size, "GET %.*s HTTP/1.1\r\nHost: x\r\n\r\n", (int)target_len, target);
}

/* Fields whose names and values total `bytes` (Host: x counts 5), `count` of them. */
static void make_fields(char *out, size_t size, size_t count, size_t bytes, const char *trailers)
{
	struct buf b;
	buf_init_with(&b, out, size, size);
	assert_int_equal(buf_add_str(&b, trailers ? "POST / HTTP/1.1\r\nHost: x\r\n"
	                                            "Transfer-Encoding: chunked\r\n"
	                                          : "GET / HTTP/1.1\r\nHost: x\r\n"),
	                 0);
	size_t used = trailers ? 5 + 17 + 7 : 5;
	for (size_t i = trailers ? 2 : 1; i < count; i++) {
		size_t left = bytes - used, fields_left = count - i;
		size_t n = fields_left == 1 ? left : left / fields_left;
		assert_true(n >= 2);
		/* name "X<digits>" of 2 bytes, value the rest */
		assert_int_equal(buf_printf(&b, "%s%c: ", "X", (char)('a' + i)), 0);
		for (size_t k = 0; k < n - 2; k++)
			assert_int_equal(buf_add_char(&b, 'v'), 0);
		assert_int_equal(buf_add_str(&b, "\r\n"), 0);
		used += n;
		if (trailers && i + 1 == 2)
			break;
	}
	assert_int_equal(buf_add_str(&b, "\r\n"), 0);
	if (trailers)
		assert_int_equal(buf_add_str(&b, trailers), 0);
	assert_non_null(buf_cstr(&b));
}

static void caps(void **state)
{
	(void)state;
	char ok_line[128], long_line[128], at_bytes[256], over_bytes[256], at_count[256],
	    over_count[256];
	make_request_line(ok_line, sizeof(ok_line), 32 - 3);
	make_request_line(long_line, sizeof(long_line), 32 - 3 + 1);
	make_fields(at_bytes, sizeof(at_bytes), 4, 64, NULL);
	make_fields(over_bytes, sizeof(over_bytes), 4, 65, NULL);
	make_fields(at_count, sizeof(at_count), 4, 40, NULL);
	make_fields(over_count, sizeof(over_count), 5, 40, NULL);

	const struct pcase cases[] = {
		CASE("request line at the cap", REQ, ok_line, 0, 0, NULL, .lim = &small),
		CASE("request line one over", REQ, long_line, ERR_HTTP_URI_TOO_LONG, 414, "",
		     .lim = &small),
		CASE("header bytes at the cap", REQ, at_bytes, 0, 0, NULL, .lim = &small),
		CASE("header bytes one over", REQ, over_bytes, ERR_HTTP_HEADERS_TOO_LARGE, 431, "",
		     .lim = &small),
		CASE("header count at the cap", REQ, at_count, 0, 0, NULL, .lim = &small),
		CASE("header count one over", REQ, over_count, ERR_HTTP_HEADERS_TOO_LARGE, 431, "",
		     .lim = &small),
		/* Trailers share the head's budget: 3 head fields + 1 trailer = 4. */
		CASE("trailers at the count cap", REQ,
		     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n"
		     "0\r\nT: 1\r\n\r\n",
		     0, 0, NULL, .lim = &small),
		CASE("trailers one over the count cap", REQ,
		     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n"
		     "0\r\nT: 1\r\nU: 2\r\n\r\n",
		     ERR_HTTP_HEADERS_TOO_LARGE, 431,
		     "REQ POST / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n"
		     "H X: 1\n",
		     .lim = &small),
		/* 5 + 24 head bytes; a trailer of 35 fits, 36 does not. */
		CASE("trailer bytes at the cap", REQ,
		     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "0\r\nT: 0123456789012345678901234567890123\r\n\r\n",
		     0, 0, NULL, .lim = &small),
		CASE(
		    "trailer bytes one over", REQ,
		    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\nT: 01234567890123456789012345678901234\r\n\r\n",
		    ERR_HTTP_HEADERS_TOO_LARGE, 431,
		    "REQ POST / 1.1 chunked ka=1 host=x\nH Host: x\nH Transfer-Encoding: chunked\n",
		    .lim = &small),
		CASE("reason at the cap", RES,
		     "HTTP/1.1 200 0123456789012345678901234567890A\r\n\r\n", 0, 0,
		     "RES 200 0123456789012345678901234567890A 1.1 eof ka=0\n", .lim = &small),
		CASE("reason one over", RES,
		     "HTTP/1.1 200 0123456789012345678901234567890AB\r\n\r\n",
		     ERR_HTTP_BAD_RESPONSE, 502, "", .lim = &small),
	};
	run_table(cases, N_ELEMS(cases));

	/* The defaults: a 100-field head passes, 101 fields do not. */
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_add_str(&b, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
	for (int i = 1; i < HTTP_DEFAULT_HEADER_COUNT; i++)
		assert_int_equal(buf_printf(&b, "X-%d: %d\r\n", i, i), 0);
	assert_int_equal(buf_add_str(&b, "\r\n"), 0);
	struct rec r;
	rec_init(&r);
	struct http_parser *p;
	size_t used;
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(http_parser_feed(p, b.data, b.len, &used), 0);
	assert_int_equal(r.completes, 1);
	http_parser_free(p);
	b.len -= 2;
	assert_int_equal(buf_add_str(&b, "X-Last: 1\r\n\r\n"), 0);
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(http_parser_feed(p, b.data, b.len, &used), ERR_HTTP_HEADERS_TOO_LARGE);
	assert_int_equal(http_parser_status(p), 431);
	http_parser_free(p);
	rec_free(&r);
	buf_free(&b);

	/* A huge request line fails long before it ends, without buffering it. */
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_add_str(&b, "GET /"), 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_add_char(&b, 'a'), 0);
	rec_init(&r);
	assert_int_equal(http_parser_new(REQ, NULL, &rec_ops, &r, &p), 0);
	assert_int_equal(http_parser_feed(p, b.data, b.len, &used), ERR_HTTP_URI_TOO_LONG);
	assert_int_equal(http_parser_status(p), 414);
	http_parser_free(p);
	rec_free(&r);
	buf_free(&b);
}

/* ------------------------------------------------------------------------------------- */
/*
 * What only llhttp's strict build rejects: a bare CR ending the head, a bare CR
 * after a chunk size, chunk data not followed by CRLF. The glue cannot see
 * these bytes, so llhttp.c must be compiled with LLHTTP_STRICT_MODE=1.
 */
static const struct pcase strict_only[] = {
	BAD("bare CR ending the head", "GET / HTTP/1.1\r\nHost: x\r\n\rXGET / HTTP/1.1\r\n\r\n",
	    ERR_HTTP_BAD_REQUEST, 400, ""),
	BAD("bare CR after a chunk size",
	    H11 "Transfer-Encoding: chunked\r\n\r\n5\rXhello\r\n0\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, NULL),
	BAD("chunk data without CRLF",
	    H11 "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n", ERR_HTTP_BAD_REQUEST,
	    400, NULL),
};

static void llhttp_strict_mode(void **state)
{
	(void)state;
	llhttp_settings_t s;
	llhttp_t ll;
	static const char probe[] = "GET / HTTP/1.1\r\nHost: x\r\n\rX";
	llhttp_settings_init(&s);
	llhttp_init(&ll, HTTP_REQUEST, &s);
	if (llhttp_execute(&ll, probe, sizeof(probe) - 1) == HPE_OK)
		fail_msg("llhttp.c was compiled without LLHTTP_STRICT_MODE=1: it accepts a bare CR "
		         "ending the head, a bare CR after a chunk size and chunk data without "
		         "CRLF. CMakeLists.txt needs: target_compile_definitions(llhttp PRIVATE "
		         "LLHTTP_STRICT_MODE=1)");
	run_table(strict_only, N_ELEMS(strict_only));
}

/* ------------------------------------------------------------------------------------- */
/* The rest of the API. */

static int refuse_head(void *arg, const struct http_head *h)
{
	(void)arg;
	(void)h;
	return ERR_HTTP_BODY_TOO_LARGE;
}

static void api(void **state)
{
	(void)state;
	static const struct http_parser_ops refuse = { refuse_head, NULL, NULL };
	static const struct http_parser_ops none = { NULL, NULL, NULL };
	struct http_parser *p = NULL;
	struct http_limits zero = { 0 };
	size_t used;

	assert_int_equal(http_parser_new(REQ, &zero, &none, NULL, &p), ERR_INVALID);
	assert_null(p);
	http_parser_free(NULL);

	/* Idle, not failed, and status 0 until something goes wrong. */
	assert_int_equal(http_parser_new(REQ, NULL, &none, NULL, &p), 0);
	assert_true(http_parser_idle(p));
	assert_int_equal(http_parser_status(p), 0);
	assert_string_equal(http_parser_reason(p), "");
	assert_int_equal(http_parser_feed(p, "GET / HT", 8, &used), 0);
	assert_false(http_parser_idle(p));
	assert_int_equal(feed_once(p, "TP/1.1\r\nHost: x\r\n\r\n", &used), 0);
	assert_true(http_parser_idle(p));
	assert_int_equal(http_parser_finish(p), 0);
	assert_int_equal(http_parser_finish(p), 0);
	assert_int_equal(http_parser_feed(p, "GET", 3, &used), ERR_HTTP_BAD_REQUEST);
	http_parser_free(p);

	/* A handler's own code is kept, and its status answered. */
	assert_int_equal(http_parser_new(REQ, NULL, &refuse, NULL, &p), 0);
	assert_int_equal(
	    feed_once(p, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n", &used),
	    ERR_HTTP_BODY_TOO_LARGE);
	assert_int_equal(http_parser_status(p), 413);
	assert_int_equal(http_parser_feed(p, "x", 1, &used), ERR_HTTP_BODY_TOO_LARGE);
	http_parser_free(p);
	assert_int_equal(http_parser_new(RES, NULL, &refuse, NULL, &p), 0);
	assert_int_equal(feed_once(p, "HTTP/1.1 200 OK\r\n\r\n", &used), ERR_HTTP_BODY_TOO_LARGE);
	http_parser_free(p);

	/* llhttp's own findings carry its words. */
	assert_int_equal(http_parser_new(REQ, NULL, &none, NULL, &p), 0);
	assert_int_equal(feed_once(p, "FROB / HTTP/1.1\r\n", &used), ERR_HTTP_BAD_REQUEST);
	assert_non_null(strstr(http_parser_reason(p), "llhttp HPE_INVALID_METHOD"));
	http_parser_free(p);

	/* After an informational response the parser waits for the final one. */
	assert_int_equal(http_parser_new(RES, NULL, &none, NULL, &p), 0);
	assert_int_equal(feed_once(p, "HTTP/1.1 100 Continue\r\n\r\n", &used), 0);
	assert_false(http_parser_idle(p));
	assert_int_equal(feed_once(p, "HTTP/1.1 204 No Content\r\n\r\n", &used), 0);
	assert_true(http_parser_idle(p));
	http_parser_free(p);

	/* A fresh parser at EOF is fine; so is one between messages. */
	assert_int_equal(http_parser_new(RES, NULL, &none, NULL, &p), 0);
	assert_int_equal(http_parser_finish(p), 0);
	http_parser_free(p);
}

/* The headers a proxy drops, in any case; end-to-end ones pass. */
static void hop_by_hop_headers(void **state)
{
	(void)state;
	static const char *const hop[] = { "Connection",        "keep-alive", "TE",
		                           "Trailer",           "UPGRADE",    "Proxy-Connection",
		                           "Transfer-Encoding", "host",       "Content-Length" };
	static const char *const e2e[] = {
		"Content-Type",    "ETag", "x-amz-date", "Authorization", "t", "tee", "hosts",
		"Content-Length2", ""
	};
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		assert_true(http_header_hop_by_hop(iov_cstr(hop[i])));
	for (size_t i = 0; i < sizeof(e2e) / sizeof(e2e[0]); i++)
		assert_false(http_header_hop_by_hop(iov_cstr(e2e[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_good),
		cmocka_unit_test(request_bad),
		cmocka_unit_test(response_table),
		cmocka_unit_test(pause_on_head),
		cmocka_unit_test(pause_on_head_no_body),
		cmocka_unit_test(pause_on_body),
		cmocka_unit_test(pause_on_chunks),
		cmocka_unit_test(pause_on_complete_pipelined),
		cmocka_unit_test(pause_every_split),
		cmocka_unit_test(caps),
		cmocka_unit_test(api),
		cmocka_unit_test(llhttp_strict_mode),
		cmocka_unit_test(hop_by_hop_headers),
	};
	return cmocka_run_group_tests_name("test_http_parser", tests, NULL, NULL);
}
