/*
 * The HTTP/1.1 client the router, the edge and replication use to reach
 * origins: a connection pool per origin address with keep-alive reuse and a
 * per-origin limit; a Host header independent of the connect address;
 * connect, first-byte and read timeouts; request and response bodies
 * streamed with backpressure; a retry on a fresh connection only where the
 * caller marks the request retryable. One client per loop; loop thread only.
 */
#ifndef MERIDIAN_HTTP_CLIENT_H
#define MERIDIAN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "http/parser.h"
#include "net/loop.h"

struct http_client;
struct http_exchange;
struct net_tls_client;

/* Cap on a request head (request line, Host, headers, framing). */
#define HTTP_CLIENT_HEAD_MAX (64 * 1024)

/* Defaults in parentheses; 0 means the default. */
struct http_client_config {
	uint32_t connect_timeout_ms;    /* (10000) */
	uint32_t first_byte_timeout_ms; /* (30000) request sent -> response head starts;
	                                   counted from the head's write and again from
	                                   each request body write that completes */
	uint32_t read_timeout_ms;       /* (30000) longest gap between response bytes
	                                   (not counted while the caller has paused) */
	uint32_t idle_timeout_ms;       /* (5000) a pooled connection unused this long closes */
	unsigned max_per_origin;        /* (64) connections per origin, busy + idle; more wait */
	struct http_limits limits;      /* response head caps (HTTP_DEFAULT_*) */
	struct net_tls_client *tls;     /* for exchanges with a tls_name (borrowed) */
};

struct http_exchange_request {
	const char *origin; /* connect address "ip:port" / "[ipv6]:port" (copied) */
	struct iov method;
	struct iov target;                 /* origin-form: "/path?query" */
	struct iov host;                   /* Host header value, independent of origin */
	const struct http_header *headers; /* extra headers (no Host, Content-Length,
	                                      Transfer-Encoding, Connection) */
	size_t nheaders;
	int64_t body_length; /* 0: none; >0: Content-Length; -1: chunked */
	bool retryable;      /* may be sent again on a fresh connection if a reused one
	                        fails before any response byte (idempotent requests) */
	/* This exchange's timeouts (0: the client's): first byte and read as
	 * in http_client_config; idle, how long its connection may then wait
	 * in the pool (an edge function's origin readTimeout and
	 * keepaliveTimeout). */
	uint32_t first_byte_timeout_ms, read_timeout_ms, idle_timeout_ms;
	const char *tls_name; /* NULL: plain HTTP; else HTTPS, the certificate checked
	                         for this name (and SNI): needs the config's tls. A
	                         refused certificate ends the exchange with
	                         ERR_TLS_VERIFY, a failed handshake ERR_TLS_HANDSHAKE,
	                         both before anything was sent, like a refused connect */
};

/*
 * Events of one exchange. on_head and on_body may pause the response by
 * returning ERR_AGAIN (resume with http_exchange_resume); any other negative
 * code aborts the exchange (the connection closes, on_done gets that code).
 * 1xx responses are skipped; on_head sees the final one. on_done runs exactly
 * once, last (after every write's done): 0 when the response is complete,
 * else ERR_NET_REFUSED, ERR_NET_TIMEOUT, ERR_NET_RESET, ERR_NET_CLOSED (also:
 * the server closed before or in the middle of the response), ERR_HTTP_BAD_RESPONSE
 * or ERR_NOMEM; the exchange is freed after it returns. on_done never runs
 * inside http_client_send, http_exchange_write/end or cancel.
 */
struct http_exchange_ops {
	int (*on_head)(void *arg, const struct http_head *head);
	int (*on_body)(void *arg, const char *p, size_t n);
	void (*on_done)(void *arg, int error);
	/* Optional: the request body may take more (after http_exchange_write
	 * pieces were flushed); for pacing a producer. Runs whenever every piece
	 * given so far (and the head) has been written and the body is not
	 * complete. */
	void (*on_drain)(void *arg);
};

/* cfg is copied (NULL: all defaults). 0 or ERR_NOMEM. */
int http_client_new(struct net_loop *l, const struct http_client_config *cfg,
                    struct http_client **out);
/*
 * Close every connection; exchanges in flight end with ERR_NET_CLOSED:
 * queued ones inside this call, those on connections from the loop
 * afterwards (keep it running, or net_loop_free it). May be called from
 * on_done, not from the other callbacks. NULL is a no-op.
 */
void http_client_free(struct http_client *c);

/*
 * Start an exchange: queue for a pooled or new connection, send the head, then
 * the body through http_exchange_write/end. req and its slices are copied.
 * 0 (and *out, valid until on_done returns) or ERR_INVALID/ERR_NOMEM.
 * ERR_INVALID: an origin net_parse_addr refuses, a method that is not a token,
 * a target with spaces or controls, CR/LF/NUL in the host or a value, a
 * reserved header name, a head over HTTP_CLIENT_HEAD_MAX, or a client being
 * freed. Exchanges to one origin are served in the order sent.
 */
int http_client_send(struct http_client *c, const struct http_exchange_request *req,
                     const struct http_exchange_ops *ops, void *arg, struct http_exchange **out);
/*
 * Request body bytes, borrowed until done(arg, status) runs (done may be
 * NULL; it never runs inside this call). Pieces given before the exchange
 * has a connection wait for it. 0; ERR_INVALID past body_length, after the
 * end or for a bodiless request; ERR_NET_CLOSED once the exchange is failing
 * or its response is complete (done is then not called); ERR_NOMEM.
 */
int http_exchange_write(struct http_exchange *x, const void *p, size_t n,
                        void (*done)(void *arg, int status), void *arg);
/*
 * The request body is complete (for chunked bodies this sends the last
 * chunk). A Content-Length body is complete once body_length bytes were
 * written: end is then optional (0), and ERR_INVALID before. 0, ERR_INVALID
 * (a second end) or ERR_NET_CLOSED.
 */
int http_exchange_end(struct http_exchange *x);
/* Bytes of request body queued but not yet sent. */
size_t http_exchange_queued(const struct http_exchange *x);
/* Undo an ERR_AGAIN pause: the held bytes are fed at once, so on_head, on_body
 * and (if the response completes) on_done may run inside this call. */
void http_exchange_resume(struct http_exchange *x);
/* Abandon: the connection is closed (never reused); on_done(ERR_NET_CLOSED) follows. */
void http_exchange_cancel(struct http_exchange *x);

#endif
