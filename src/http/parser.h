/*
 * HTTP/1.1 message parsing: llhttp 8.1 (Debian's node-llhttp sources, strict
 * mode, never lenient) plus our own checks for what llhttp still lets through
 * (ARCHITECTURE.md "llhttp notes") and our own caps. One parser per
 * connection, fed bytes as they arrive in any split; it reports the head
 * once complete (all of it in one capped buffer, so headers are contiguous
 * slices), then body bytes as slices of the input, then the end of the
 * message. Requests (server) and responses (client). One thread at a time.
 */
#ifndef MERIDIAN_HTTP_PARSER_H
#define MERIDIAN_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

/* Default caps; each is a field of struct http_limits. */
#define HTTP_DEFAULT_REQUEST_LINE 8192  /* 414 beyond (responses: 502) */
#define HTTP_DEFAULT_HEADER_BYTES 16384 /* all field lines; 431 beyond */
#define HTTP_DEFAULT_HEADER_COUNT 100   /* 431 beyond */

struct http_limits {
	size_t request_line; /* bytes of method + target (request) or reason phrase */
	size_t header_bytes; /* bytes of all names and values together */
	size_t header_count;
};

enum http_parser_type {
	HTTP_PARSE_REQUEST = 1,
	HTTP_PARSE_RESPONSE = 2,
};

/* How the body of a message is framed. */
enum http_framing {
	HTTP_BODY_NONE = 0,    /* no body (or a response to HEAD, 1xx, 204, 304) */
	HTTP_BODY_LENGTH = 1,  /* Content-Length */
	HTTP_BODY_CHUNKED = 2, /* Transfer-Encoding: chunked */
	HTTP_BODY_EOF = 3,     /* responses only: until the connection closes */
};

struct http_header {
	struct iov name;  /* as sent */
	struct iov value; /* leading and trailing whitespace removed */
};

/* A parsed head. Slices point into the parser's head buffer and stay valid
 * until the message's on_complete has returned (or the parser is reset). */
struct http_head {
	struct iov method; /* requests */
	struct iov target; /* requests: the request-target as sent */
	int status;        /* responses */
	struct iov reason; /* responses */
	int version_minor; /* HTTP/1.<minor>: 0 or 1 */
	const struct http_header *headers;
	size_t nheaders;
	enum http_framing framing;
	uint64_t content_length; /* HTTP_BODY_LENGTH; also the Content-Length a
	                          * bodiless response (HEAD, 204, 304) announces */
	bool keep_alive;         /* the connection may carry another message after this one */
	bool expect_continue;    /* HTTP/1.1 requests: Expect: 100-continue */
	struct iov host;         /* requests: the one Host value */
};

/*
 * Callbacks. Each returns 0 to go on, ERR_AGAIN to pause (http_parser_feed
 * returns ERR_AGAIN with *consumed counting the bytes used up to and
 * including the callback's data; feed the rest again after deciding to
 * resume), or another negative code to fail the message. A NULL callback
 * is the same as one that returns 0.
 *
 * Responses: informational (1xx) responses are read and dropped, never
 * reported; the final response that follows gets on_head. A client must not
 * wait for "100 Continue" before sending a body. 101 is an error (we never
 * ask to switch protocols).
 */
struct http_parser_ops {
	int (*on_head)(void *arg, const struct http_head *head);
	int (*on_body)(void *arg, const char *p, size_t n);
	int (*on_complete)(void *arg);
};

struct http_parser;

/* A parser; limits and ops are copied/borrowed (ops must outlive it). NULL limits
 * means the defaults. 0 or ERR_NOMEM. */
int http_parser_new(enum http_parser_type type, const struct http_limits *limits,
                    const struct http_parser_ops *ops, void *arg, struct http_parser **out);
void http_parser_free(struct http_parser *p);

/* Responses: the next response answers a HEAD request (no body whatever it says). */
void http_parser_next_is_head(struct http_parser *p);

/*
 * Feed `len` bytes. Returns 0 when all were consumed, ERR_AGAIN when a
 * callback paused (see above), or an ERR_HTTP_* code: the message is bad and
 * the connection must close after answering http_parser_status(). After an
 * error every call returns the same error. To resume a pause that consumed
 * everything fed, feed 0 bytes (data may then be NULL): that runs what the
 * pause held back, such as the on_complete after a paused last on_body.
 */
int http_parser_feed(struct http_parser *p, const char *data, size_t len, size_t *consumed);

/* The peer closed its side: completes an HTTP_BODY_EOF response; an
 * unfinished message is ERR_HTTP_INCOMPLETE. A parser between messages
 * returns 0. */
int http_parser_finish(struct http_parser *p);

/* Between messages (nothing of the next one read yet). */
bool http_parser_idle(const struct http_parser *p);

/* For a failed request: the status to answer (400, 413, 414, 431, 501, 505)
 * and a short reason for logs. */
int http_parser_status(const struct http_parser *p);

/* Whether a proxy must not pass header `name` on (case-insensitive): the
 * hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Upgrade,
 * Proxy-Connection, Transfer-Encoding) and the ones it writes itself for
 * the next hop (Host, Content-Length). Pure; any thread. */
bool http_header_hop_by_hop(struct iov name);
const char *http_parser_reason(const struct http_parser *p);

#endif
