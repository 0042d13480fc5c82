/*
 * HTTP/1.1 message parsing: llhttp 8.1 finds the syntax, this file adds the
 * rules llhttp 8.1 still lets through and the caps llhttp does not have
 * (docs/internals/http-parser.md). llhttp hands us the start line and each
 * field in pieces that may break anywhere; we copy them into one capped head
 * buffer, check them, and report the head once llhttp has seen its end. Body
 * bytes go to the caller as slices of the input. One thread at a time per
 * parser.
 */
#include "http/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"

#define PARSER_MAGIC 0x48505253u /* "HPRS" */
#define HEAD_SLACK   64          /* head buffer bytes beyond request_line + header_bytes */
#define VERSION_MAX  8           /* bytes of "1.1" kept to tell 505 from 400 */
#define OBS_FOLD     "obs-fold (a field value continued on a new line)"

/* Where a parser is in the message: one list gives the enum. */
#define PARSER_STATES(X)                                     \
	X(IDLE)    /* between messages */                    \
	X(HEAD)    /* start line and header fields */        \
	X(BODY)    /* after the head: body bytes */          \
	X(TRAILER) /* trailer fields after a chunked body */ \
	X(FAILED)  /* an error; every call returns it again */

enum parser_state {
#define PARSER_ENUM(s) PARSER_##s,
	PARSER_STATES(PARSER_ENUM)
#undef PARSER_ENUM
};

/* One field of the head: offsets into the head buffer (which may move). */
struct field_at {
	size_t name, name_len;
	size_t value, value_len;
};

/*
 * The bytes llhttp consumed between the end of one span piece (method,
 * target, version, reason, field name or value) and the start of the next, in
 * the start line and the field sections. llhttp reports no pointer for them,
 * so we scan them ourselves, across inputs: an LF before a value piece is an
 * obs-fold, and some gaps must hold exactly `expect` (" " after the method,
 * " HTTP/" after the target, "\r\n" after the request line or a status line
 * with a reason), set by the *_complete callback that learns the span ended.
 */
#define GAP_KEEP 8 /* first bytes kept: longer than any `expect` */

struct gap {
	bool running;
	const char *from; /* where it goes on in the current input; NULL: its start */
	size_t len;
	char first[GAP_KEEP];
	size_t lfs;         /* LFs among them */
	const char *expect; /* NULL: anything llhttp accepts */
};

struct http_parser {
	unsigned magic;
	enum parser_state state;
	enum http_parser_type type;
	llhttp_t ll;
	struct http_limits lim;
	const struct http_parser_ops *ops;
	void *arg;

	const char *in_start; /* of the llhttp_execute() in progress */
	struct gap gap;

	/* The message being read. */
	struct buf head; /* method + target (or reason), then names and values */
	size_t method_len, target_len, reason_len;
	char version[VERSION_MAX];
	size_t version_len;
	bool reason_seen;
	struct field_at *fields; /* lim.header_count of them */
	struct http_header *headers;
	size_t nfields;     /* head fields completed */
	size_t field_count; /* fields begun, head and trailer */
	size_t field_bytes; /* their names and values, head and trailer */
	size_t name_len;    /* of the field being read */
	bool in_name, in_value;
	size_t cl_count, host_count, host_index;
	bool te_seen, te_last_chunked, te_other, te_bad;
	uint64_t content_length;
	bool expect_continue;
	struct http_head out;

	/* Across messages. */
	bool skip_message; /* an informational response: read, not reported */
	bool interim;      /* a 1xx was read and its final response is pending */
	bool head_next;    /* the next final response answers a HEAD request */
	bool closed;       /* the last message was the connection's last */
	bool halted;       /* llhttp stopped at that message's end */
	bool finished;     /* http_parser_finish() was called */

	int error;
	const char *why;
	char why_buf[128];
};

/*
 * Byte classes, one lookup per byte (these run for every byte of every name
 * and value): C_TCHAR RFC 9110 tchar; C_CTL a control character but HTAB
 * (not allowed in values or reason phrases); C_HOST a uri-host [":" port]
 * character (RFC 3986 reg-name, IPv4 or IP-literal). Bytes >= 0x80 are none.
 */
enum { C_TCHAR = 1, C_CTL = 2, C_HOST = 4 };
static const unsigned char cclass[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2, /* 0x00 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x10 */
	0, 5, 0, 1, 5, 5, 5, 5, 4, 4, 5, 5, 4, 5, 5, 0, /* 0x20 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 0, 4, 0, 0, /* 0x30 */
	0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 0x40 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 0, 4, 1, 5, /* 0x50 */
	1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 0x60 */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 1, 0, 5, 2, /* 0x70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

static bool is_tchar(unsigned char c)
{
	return cclass[c] & C_TCHAR;
}

static bool is_ctl(unsigned char c)
{
	return cclass[c] & C_CTL;
}

static bool is_host_char(unsigned char c)
{
	return cclass[c] & C_HOST;
}

static struct iov trim_ows(struct iov v)
{
	while (v.len && (v.base[0] == ' ' || v.base[0] == '\t')) {
		v.base++;
		v.len--;
	}
	while (v.len && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
		v.len--;
	return v;
}

static int fail(struct http_parser *p, int code, const char *why)
{
	if (p->state == PARSER_FAILED)
		return p->error;
	p->state = PARSER_FAILED;
	p->error = code;
	p->why = why;
	return code;
}

/* A protocol error: the request's status, or a bad response. Returns -1 for llhttp. */
static int reject(struct http_parser *p, int code, const char *why)
{
	if (p->type == HTTP_PARSE_RESPONSE && code != ERR_NOMEM)
		code = ERR_HTTP_BAD_RESPONSE;
	fail(p, code, why);
	return -1;
}

/* What a caller's callback returned, as llhttp wants it. */
static int from_user(struct http_parser *p, int rc)
{
	if (rc == 0)
		return 0;
	if (rc == ERR_AGAIN)
		return HPE_PAUSED;
	fail(p, rc < 0 ? rc : ERR_INTERNAL, "the handler refused the message");
	return -1;
}

static void head_reset(struct http_parser *p)
{
	buf_reset(&p->head);
	p->method_len = p->target_len = p->reason_len = p->version_len = 0;
	p->reason_seen = false;
	p->nfields = p->field_count = p->field_bytes = p->name_len = 0;
	p->in_name = p->in_value = false;
	p->cl_count = p->host_count = 0;
	p->host_index = SIZE_MAX;
	p->te_seen = p->te_last_chunked = p->te_other = p->te_bad = false;
	p->content_length = 0;
	p->expect_continue = false;
	p->gap.running = false;
	p->out = (struct http_head){ 0 };
}

/* ---- gaps between spans ---- */

/* A span piece ended at `at`. */
static void gap_start(struct http_parser *p, const char *at)
{
	p->gap = (struct gap){ .running = true, .from = at };
}

/* Account for the gap's bytes up to `to` in the current input. */
static void gap_scan(struct http_parser *p, const char *to)
{
	const char *from = p->gap.from ? p->gap.from : p->in_start;
	if (!p->gap.running || !from || !to || to <= from)
		return;
	size_t n = (size_t)(to - from);
	if (n <= 16) { /* the usual ": " or CRLF: no call */
		for (const char *q = from; q < to; q++)
			p->gap.lfs += *q == '\n';
	} else {
		for (const char *q = from; (q = memchr(q, '\n', (size_t)(to - q))) != NULL; q++)
			p->gap.lfs++;
	}
	if (p->gap.len < GAP_KEEP) {
		size_t k = n < GAP_KEEP - p->gap.len ? n : GAP_KEEP - p->gap.len;
		memcpy(p->gap.first + p->gap.len, from, k);
	}
	p->gap.len += n;
	p->gap.from = to;
}

/* A span piece starts at `at`: end the gap before it. False if the gap broke
 * its `expect`; *lfs counts its LFs. */
static bool gap_end(struct http_parser *p, const char *at, size_t *lfs)
{
	*lfs = 0;
	if (!p->gap.running)
		return true;
	gap_scan(p, at);
	p->gap.running = false;
	*lfs = p->gap.lfs;
	if (!p->gap.expect)
		return true;
	size_t want = strlen(p->gap.expect);
	return p->gap.len == want && memcmp(p->gap.first, p->gap.expect, want) == 0;
}

/* The span before the running gap has ended: what the gap must hold. */
static void gap_expect(struct http_parser *p, const char *expect)
{
	if (p->gap.running)
		p->gap.expect = expect;
}

/* ---- the start line ---- */

static int on_message_begin(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	head_reset(p);
	p->state = PARSER_HEAD;
	return 0;
}

/* Method and target share the request_line cap and sit at the buffer's start. */
static int take_start(struct http_parser *p, const char *at, size_t n, size_t *len)
{
	const char *why =
	    p->type == HTTP_PARSE_REQUEST ? "request line too long" : "status line too long";
	size_t used = p->method_len + p->target_len + p->reason_len;
	if (n > p->lim.request_line - used)
		return reject(p, ERR_HTTP_URI_TOO_LONG, why);
	int rc = buf_add(&p->head, at, n);
	if (rc)
		return reject(p, rc == ERR_NOMEM ? rc : ERR_HTTP_URI_TOO_LONG, why);
	*len += n;
	gap_start(p, at + n);
	return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	size_t lfs;
	gap_end(p, at, &lfs);
	return take_start(p, at, n, &p->method_len);
}

static int on_method_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	if (ll->method == HTTP_CONNECT)
		return reject(p, ERR_HTTP_NOT_IMPLEMENTED, "CONNECT is not supported");
	gap_expect(p, " ");
	return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	size_t lfs;
	if (!gap_end(p, at, &lfs))
		return reject(p, ERR_HTTP_BAD_REQUEST, "more than one space before the target");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[i];
		if (c <= ' ' || c >= 0x7f)
			return reject(p, ERR_HTTP_BAD_REQUEST, "invalid character in the target");
	}
	return take_start(p, at, n, &p->target_len);
}

static int on_url_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	if (p->target_len == 0)
		return reject(p, ERR_HTTP_BAD_REQUEST, "empty target");
	gap_expect(p, " HTTP/");
	return 0;
}

static int on_version(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	size_t lfs;
	if (!gap_end(p, at, &lfs))
		return reject(p, ERR_HTTP_BAD_REQUEST, "not an HTTP request line");
	for (size_t i = 0; i < n && p->version_len < VERSION_MAX; i++)
		p->version[p->version_len++] = at[i];
	gap_start(p, at + n);
	return 0;
}

static bool version_is(const struct http_parser *p, const char *v)
{
	return iov_eq(iov_make(p->version, p->version_len), iov_cstr(v));
}

/* "D.D": a well-formed version (HTTP/1.10 reaches us as "1.1", then llhttp's error). */
static bool version_well_formed(const struct http_parser *p)
{
	const char *v = p->version;
	return p->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' && v[2] >= '0' &&
	       v[2] <= '9';
}

/* llhttp takes "GET /\r\n" (no version) for HTTP/0.9 and reads fields after it. */
static bool version_missing(const struct http_parser *p)
{
	return p->type == HTTP_PARSE_REQUEST && p->version_len == 0;
}

static int on_version_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	if (!version_is(p, "1.1") && !version_is(p, "1.0"))
		return reject(p, ERR_HTTP_VERSION, "only HTTP/1.0 and HTTP/1.1 are supported");
	if (p->type == HTTP_PARSE_REQUEST)
		gap_expect(p, "\r\n");
	return 0;
}

static int on_status(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	size_t lfs;
	gap_end(p, at, &lfs);
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)at[i]))
			return reject(p, ERR_HTTP_BAD_RESPONSE,
			              "control character in the reason phrase");
	p->reason_seen = true;
	return take_start(p, at, n, &p->reason_len);
}

static int on_status_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	if (ll->status_code < 100 || ll->status_code > 599)
		return reject(p, ERR_HTTP_BAD_RESPONSE, "status code out of range");
	if (p->reason_seen)
		gap_expect(p, "\r\n");
	return 0;
}

/* ---- header and trailer fields ---- */

static bool in_head(const struct http_parser *p)
{
	return p->state == PARSER_HEAD;
}

/* Names and values count against header_bytes, head and trailer together. */
static int take_field_bytes(struct http_parser *p, const char *at, size_t n)
{
	if (n > p->lim.header_bytes - p->field_bytes)
		return reject(p, ERR_HTTP_HEADERS_TOO_LARGE, "header section too large");
	p->field_bytes += n;
	gap_start(p, at + n);
	int rc = in_head(p) ? buf_add(&p->head, at, n) : 0;
	if (rc)
		return reject(p, rc == ERR_NOMEM ? rc : ERR_HTTP_HEADERS_TOO_LARGE,
		              "header section too large");
	return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	if (p->state == PARSER_BODY)
		p->state = PARSER_TRAILER;
	if (in_head(p) && version_missing(p))
		return reject(p, ERR_HTTP_VERSION, "HTTP/0.9 is not supported");
	size_t lfs;
	if (!gap_end(p, at, &lfs))
		return reject(p, ERR_HTTP_BAD_REQUEST, "a line does not end in CRLF");
	if (!p->in_name) {
		if (p->field_count == p->lim.header_count)
			return reject(p, ERR_HTTP_HEADERS_TOO_LARGE, "too many header fields");
		p->field_count++;
		p->in_name = true;
		p->name_len = 0;
		if (in_head(p))
			p->fields[p->nfields] = (struct field_at){ .name = p->head.len };
	}
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char)at[i]))
			return reject(p, ERR_HTTP_BAD_REQUEST,
			              at[i] == ' ' || at[i] == '\t'
			                  ? "whitespace before the colon of a field"
			                  : "invalid character in a field name");
	int rc = take_field_bytes(p, at, n);
	if (rc)
		return rc;
	p->name_len += n;
	if (in_head(p))
		p->fields[p->nfields].name_len += n;
	return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	if (!p->in_name || p->name_len == 0)
		return reject(p, ERR_HTTP_BAD_REQUEST, "empty field name");
	p->in_name = false;
	p->in_value = false;
	return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	/*
	 * An obs-fold reaches us as a value piece after an LF: after the name's
	 * colon when the first line is empty, else after the first line's piece.
	 * llhttp also reports empty pieces (at a CR when input ends mid-value;
	 * after the line's LF for an empty value): they carry nothing, so they
	 * leave the gap running, and only a second LF before one is a fold.
	 */
	size_t lfs;
	if (n == 0) {
		gap_scan(p, at);
		if (p->gap.running && p->gap.lfs > 1)
			return reject(p, ERR_HTTP_BAD_REQUEST, OBS_FOLD);
		return 0;
	}
	if (!gap_end(p, at, &lfs) || lfs)
		return reject(p, ERR_HTTP_BAD_REQUEST, OBS_FOLD);
	if (!p->in_value) {
		p->in_value = true;
		if (in_head(p)) {
			p->fields[p->nfields].value = p->head.len;
			p->fields[p->nfields].value_len = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)at[i]))
			return reject(p, ERR_HTTP_BAD_REQUEST,
			              "control character in a field value");
	int rc = take_field_bytes(p, at, n);
	if (rc)
		return rc;
	if (in_head(p))
		p->fields[p->nfields].value_len += n;
	return 0;
}

/* Transfer-Encoding: a list of codings, possibly over several lines. */
static void take_te(struct http_parser *p, struct iov value)
{
	struct iov rest = value, elem;
	p->te_seen = true;
	do {
		rest = iov_split(rest, ',', &elem);
		elem = trim_ows(elem);
		if (elem.len == 0 || p->te_last_chunked)
			p->te_bad = true; /* an empty element, or something after chunked */
		if (iov_eq_nocase(elem, IOV_LIT("chunked"))) {
			p->te_last_chunked = true;
		} else {
			p->te_other = true;
			p->te_last_chunked = false;
		}
	} while (rest.base);
}

static int take_host(struct http_parser *p, struct iov value)
{
	if (++p->host_count > 1)
		return reject(p, ERR_HTTP_BAD_REQUEST, "more than one Host");
	for (size_t i = 0; i < value.len; i++)
		if (!is_host_char((unsigned char)value.base[i]))
			return reject(p, ERR_HTTP_BAD_REQUEST, "invalid Host");
	p->host_index = p->nfields;
	return 0;
}

/* The fields whose meaning is framing or routing; the head's own fields. */
static int take_known(struct http_parser *p, struct iov name, struct iov value)
{
	if (iov_eq_nocase(name, IOV_LIT("content-length"))) {
		unsigned long long v;
		if (++p->cl_count > 1)
			return reject(p, ERR_HTTP_BAD_REQUEST, "more than one Content-Length");
		if (iov_to_u64(value, UINT64_MAX, &v))
			return reject(p, ERR_HTTP_BAD_REQUEST, "invalid Content-Length");
		p->content_length = v;
	} else if (iov_eq_nocase(name, IOV_LIT("transfer-encoding"))) {
		take_te(p, value);
	} else if (p->type == HTTP_PARSE_REQUEST && iov_eq_nocase(name, IOV_LIT("host"))) {
		return take_host(p, value);
	} else if (p->type == HTTP_PARSE_REQUEST && iov_eq_nocase(name, IOV_LIT("expect"))) {
		if (iov_eq_nocase(value, IOV_LIT("100-continue")))
			p->expect_continue = true;
	}
	return 0;
}

static int on_header_value_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	bool empty = !p->in_value;
	p->in_value = false;
	if (!in_head(p))
		return 0; /* a trailer: checked and counted, not kept */
	struct field_at *f = &p->fields[p->nfields];
	if (empty) {
		f->value = p->head.len;
		f->value_len = 0;
	}
	struct iov raw = iov_make(p->head.data + f->value, f->value_len);
	struct iov value = trim_ows(raw);
	f->value += (size_t)(value.base - raw.base);
	f->value_len = value.len;
	struct iov name = iov_make(p->head.data + f->name, f->name_len);
	int rc = take_known(p, name, value);
	p->nfields++;
	return rc;
}

/* ---- the end of the head ---- */

/* Framing and the checks that need the whole head. 0 or -1 (rejected). */
static int decide_framing(struct http_parser *p, bool bodiless)
{
	bool request = p->type == HTTP_PARSE_REQUEST;
	if (request && p->ll.http_minor == 1 && p->host_count == 0)
		return reject(p, ERR_HTTP_BAD_REQUEST, "HTTP/1.1 request without Host");
	if (p->cl_count && p->te_seen)
		return reject(p, ERR_HTTP_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
	if (p->te_seen && (p->te_bad || !p->te_last_chunked))
		return reject(p, ERR_HTTP_BAD_REQUEST, "chunked is not the final transfer coding");
	if (p->te_seen && p->te_other)
		return reject(p, ERR_HTTP_NOT_IMPLEMENTED,
		              "transfer codings other than chunked are not supported");
	p->out.content_length = p->content_length;
	if (bodiless)
		p->out.framing = HTTP_BODY_NONE;
	else if (p->te_seen)
		p->out.framing = HTTP_BODY_CHUNKED;
	else if (p->cl_count)
		p->out.framing = HTTP_BODY_LENGTH;
	else
		p->out.framing = request ? HTTP_BODY_NONE : HTTP_BODY_EOF;
	if (p->out.framing != HTTP_BODY_LENGTH && !(bodiless && p->cl_count))
		p->out.content_length = 0;
	return 0;
}

static void build_head(struct http_parser *p)
{
	struct http_head *h = &p->out;
	const char *b = p->head.data;
	unsigned flags = p->ll.flags;

	h->version_minor = p->ll.http_minor;
	if (p->type == HTTP_PARSE_REQUEST) {
		h->method = iov_make(b, p->method_len);
		h->target = iov_make(b ? b + p->method_len : b, p->target_len);
	} else {
		h->status = p->ll.status_code;
		h->reason = iov_make(b, p->reason_len);
	}
	for (size_t i = 0; i < p->nfields; i++) {
		const struct field_at *f = &p->fields[i];
		p->headers[i] = (struct http_header){ iov_make(b + f->name, f->name_len),
			                              iov_make(b + f->value, f->value_len) };
	}
	h->headers = p->headers;
	h->nheaders = p->nfields;
	if (p->host_index != SIZE_MAX)
		h->host = p->headers[p->host_index].value;
	/* RFC 9110 10.1.1: an HTTP/1.0 request's 100-continue is ignored. */
	h->expect_continue = p->expect_continue && h->version_minor == 1;
	bool close = flags & F_CONNECTION_CLOSE;
	h->keep_alive =
	    h->version_minor == 1 ? !close : (flags & F_CONNECTION_KEEP_ALIVE) && !close;
	if (h->framing == HTTP_BODY_EOF)
		h->keep_alive = false;
}

static int on_headers_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	bool bodiless = false;

	p->gap.running = false;
	if (version_missing(p))
		return reject(p, ERR_HTTP_VERSION, "HTTP/0.9 is not supported");
	/* We never switch protocols: an Upgrade request is answered in HTTP/1.1. */
	ll->upgrade = 0;
	if (p->type == HTTP_PARSE_RESPONSE) {
		int status = ll->status_code;
		if (status == 101)
			return reject(p, ERR_HTTP_BAD_RESPONSE, "unrequested protocol switch");
		if (status < 200) {
			/* Informational: read and dropped; its final response follows. */
			p->skip_message = true;
			ll->flags |= F_SKIPBODY;
			p->state = PARSER_BODY;
			return 0;
		}
		bodiless = p->head_next || status == 204 || status == 304;
		p->head_next = false;
	}
	if (decide_framing(p, bodiless))
		return -1;
	if (bodiless)
		ll->flags |= F_SKIPBODY; /* what returning 1 does, but we may pause too */
	p->interim = false;
	build_head(p);
	p->state = PARSER_BODY;
	return from_user(p, p->ops->on_head ? p->ops->on_head(p->arg, &p->out) : 0);
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = ll->data;
	if (n == 0 || !p->ops->on_body)
		return 0;
	return from_user(p, p->ops->on_body(p->arg, at, n));
}

static int on_message_complete(llhttp_t *ll)
{
	struct http_parser *p = ll->data;
	p->gap.running = false;
	if (p->skip_message) {
		p->skip_message = false;
		p->interim = true;
		head_reset(p);
		p->state = PARSER_IDLE;
		return 0;
	}
	p->closed = !p->out.keep_alive;
	p->state = PARSER_IDLE;
	int rc = from_user(p, p->ops->on_complete ? p->ops->on_complete(p->arg) : 0);
	if (p->state != PARSER_FAILED)
		head_reset(p);
	if (rc == 0 && p->closed) {
		/* Stop llhttp (which skips what follows unless built strict) to check the rest. */
		p->halted = true;
		return HPE_PAUSED;
	}
	return rc;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_method = on_method,
	.on_method_complete = on_method_complete,
	.on_url = on_url,
	.on_url_complete = on_url_complete,
	.on_version = on_version,
	.on_version_complete = on_version_complete,
	.on_status = on_status,
	.on_status_complete = on_status_complete,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- the API ---- */

int http_parser_new(enum http_parser_type type, const struct http_limits *limits,
                    const struct http_parser_ops *ops, void *arg, struct http_parser **out)
{
	static const struct http_limits defaults = {
		.request_line = HTTP_DEFAULT_REQUEST_LINE,
		.header_bytes = HTTP_DEFAULT_HEADER_BYTES,
		.header_count = HTTP_DEFAULT_HEADER_COUNT,
	};
	const struct http_limits *lim = limits ? limits : &defaults;
	CHECK(type == HTTP_PARSE_REQUEST || type == HTTP_PARSE_RESPONSE);
	CHECK(ops != NULL && out != NULL);
	if (lim->request_line == 0 || lim->header_count == 0 || lim->request_line > SIZE_MAX / 4 ||
	    lim->header_bytes > SIZE_MAX / 4 ||
	    lim->header_count > SIZE_MAX / 2 / sizeof(struct field_at))
		return ERR_INVALID;

	struct http_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	p->magic = PARSER_MAGIC;
	p->type = type;
	p->lim = *lim;
	p->ops = ops;
	p->arg = arg;
	p->fields = calloc(lim->header_count, sizeof(*p->fields));
	p->headers = calloc(lim->header_count, sizeof(*p->headers));
	if (!p->fields || !p->headers) {
		http_parser_free(p);
		return ERR_NOMEM;
	}
	buf_init(&p->head, lim->request_line + lim->header_bytes + HEAD_SLACK);
	llhttp_init(&p->ll, type == HTTP_PARSE_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
	p->ll.data = p;
	head_reset(p);
	p->state = PARSER_IDLE;
	*out = p;
	return 0;
}

void http_parser_free(struct http_parser *p)
{
	if (!p)
		return;
	CHECK_MAGIC(p, PARSER_MAGIC);
	buf_free(&p->head);
	free(p->fields);
	free(p->headers);
	p->magic = 0;
	free(p);
}

void http_parser_next_is_head(struct http_parser *p)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	CHECK(p->type == HTTP_PARSE_RESPONSE);
	p->head_next = true;
}

/* An error llhttp found: our code for it and llhttp's words. */
static int llhttp_failed(struct http_parser *p, llhttp_errno_t e)
{
	int code = ERR_HTTP_BAD_REQUEST;
	/* llhttp refuses "HTTP/1.2" and "HTTP/3.0" itself; malformed versions stay 400. */
	if (e == HPE_INVALID_VERSION && version_well_formed(p) && !version_is(p, "1.1") &&
	    !version_is(p, "1.0"))
		code = ERR_HTTP_VERSION;
	const char *reason = llhttp_get_error_reason(&p->ll);
	snprintf(p->why_buf, sizeof(p->why_buf), "llhttp %s: %s", llhttp_errno_name(e),
	         reason ? reason : "?");
	reject(p, code, p->why_buf);
	return p->error;
}

/* Bytes after the connection's last message: empty lines at most. */
static int after_last(struct http_parser *p, const char *data, size_t len, size_t *consumed)
{
	for (*consumed = 0; *consumed < len; ++*consumed)
		if (data[*consumed] != '\r' && data[*consumed] != '\n') {
			reject(p, ERR_HTTP_BAD_REQUEST, "data after the connection's last message");
			return p->error;
		}
	return 0;
}

int http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *consumed)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	*consumed = 0;
	if (p->state == PARSER_FAILED)
		return p->error;
	bool paused = llhttp_get_errno(&p->ll) == HPE_PAUSED;
	if (len == 0 && !paused)
		return 0;
	if (len == 0)
		data = ""; /* resume: run what the pause held back (say, on_complete) */
	CHECK(data != NULL);
	if (p->finished && len) {
		reject(p, ERR_HTTP_BAD_REQUEST, "data after the end of input");
		return p->error;
	}
	if (p->closed)
		return after_last(p, data, len, consumed);
	if (paused)
		llhttp_resume(&p->ll);

	p->in_start = data;
	llhttp_errno_t e = llhttp_execute(&p->ll, data, len);
	const char *stop = e == HPE_OK ? data + len : llhttp_get_error_pos(&p->ll);
	if (stop && stop >= data && stop <= data + len)
		*consumed = (size_t)(stop - data);
	if (p->state == PARSER_FAILED)
		return p->error;
	if (e != HPE_OK && e != HPE_PAUSED)
		return llhttp_failed(p, e);
	if (p->halted) {
		size_t more;
		p->halted = false;
		int rc = after_last(p, stop, (size_t)(data + len - stop), &more);
		*consumed += more;
		return rc;
	}
	if (p->gap.running) {
		/* The gap goes on in the next input. */
		gap_scan(p, stop);
		p->gap.from = NULL;
	}
	p->in_start = NULL;
	return e == HPE_PAUSED ? ERR_AGAIN : 0;
}

int http_parser_finish(struct http_parser *p)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	if (p->state == PARSER_FAILED)
		return p->error;
	if (p->finished)
		return 0;
	/* Run whatever a pause held back; at EOF further pauses mean nothing. */
	size_t used;
	int rc;
	while ((rc = http_parser_feed(p, NULL, 0, &used)) == ERR_AGAIN)
		;
	if (rc)
		return rc;
	p->finished = true;
	if (p->interim)
		return fail(p, ERR_HTTP_INCOMPLETE, "closed after an informational response");
	llhttp_errno_t e = llhttp_finish(&p->ll);
	p->halted = false; /* an EOF-framed response ends the connection here */
	if (p->state == PARSER_FAILED)
		return p->error;
	if (e == HPE_OK || e == HPE_PAUSED)
		return 0;
	if (e == HPE_INVALID_EOF_STATE)
		return fail(p, ERR_HTTP_INCOMPLETE, "the peer closed in the middle of a message");
	return llhttp_failed(p, e);
}

bool http_parser_idle(const struct http_parser *p)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	return p->state == PARSER_IDLE && !p->interim;
}

int http_parser_status(const struct http_parser *p)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	if (p->state != PARSER_FAILED)
		return 0;
	if (p->type == HTTP_PARSE_RESPONSE && p->error == ERR_HTTP_INCOMPLETE)
		return err_http_status(ERR_HTTP_BAD_RESPONSE);
	return err_http_status(p->error);
}

const char *http_parser_reason(const struct http_parser *p)
{
	CHECK_MAGIC(p, PARSER_MAGIC);
	if (p->state != PARSER_FAILED)
		return "";
	return p->why ? p->why : err_text(p->error);
}

bool http_header_hop_by_hop(struct iov name)
{
	static const struct iov hop[] = {
		IOV_LIT("connection"),        IOV_LIT("keep-alive"), IOV_LIT("te"),
		IOV_LIT("trailer"),           IOV_LIT("upgrade"),    IOV_LIT("proxy-connection"),
		IOV_LIT("transfer-encoding"), IOV_LIT("host"),       IOV_LIT("content-length"),
	};
	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (name.len == hop[i].len && iov_eq_nocase(name, hop[i]))
			return true;
	return false;
}
