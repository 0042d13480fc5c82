/*
 * The HTTP/1.1 server every role uses: N worker threads, each with its own
 * loop and SO_REUSEPORT listener; keep-alive and pipelining (one request at
 * a time per connection, responses in order); request bodies streamed to the
 * handler with backpressure; responses with Content-Length or chunked, head
 * and body in one writev; strict parsing (http/parser.h); timeouts for the
 * head, idle keep-alive, body stalls and write stalls; graceful drain.
 *
 * Threads: http_server_start/stop/drain on the controlling thread; every
 * handler callback and every http_request_* / http_response_* call on the
 * worker thread that owns the request.
 */
#ifndef MERIDIAN_HTTP_SERVER_H
#define MERIDIAN_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "http/parser.h"

struct http_request;
struct http_server;
struct net_conn;
struct net_loop;

/* What the access-log hook sees when a response has been sent (or failed). */
struct http_access {
	const char *request_id;
	const char *peer;
	struct iov method, target;
	int status;
	uint64_t body_in, body_out;
	uint64_t duration_us;
	int error;               /* 0, or why the exchange failed */
	void *user;              /* the handler's http_request_user (its on_finish runs after) */
	const char *tls_version; /* "TLSv1.3" over HTTPS, else NULL */
};

struct http_handler {
	const char *name;
	/* A request head arrived. Respond now or later with http_response_*. */
	void (*on_request)(void *ctx, struct http_request *r);
	/* Body bytes (borrowed for the call). 0, or ERR_AGAIN to stop reading
	 * until http_request_resume(r), or an error to fail the request. */
	int (*on_body)(void *ctx, struct http_request *r, const char *p, size_t n);
	/* The request body is complete (also called for requests without one). */
	void (*on_body_end)(void *ctx, struct http_request *r);
	/* The exchange is over: error 0 when the response was sent whole, else
	 * why it ended early (client gone, timeout, drain deadline). Called once
	 * per request; r is freed when this returns. */
	void (*on_finish)(void *ctx, struct http_request *r, int error);
};

/* Defaults in parentheses; 0 means the default. */
struct net_tls_server;

struct http_server_config {
	const char *listen;            /* "ip:port" or "[ipv6]:port"; NULL: HTTPS only */
	const char *tls_listen;        /* optional HTTPS listener beside it (needs tls) */
	struct net_tls_server *tls;    /* its certificates (borrowed; outlives the server) */
	unsigned workers;              /* (number of online CPUs) */
	struct http_limits limits;     /* (HTTP_DEFAULT_*) */
	uint32_t head_timeout_ms;      /* (10000) whole head must arrive within this */
	uint32_t idle_timeout_ms;      /* (60000) keep-alive between requests */
	uint32_t body_timeout_ms;      /* (30000) longest gap between body bytes */
	uint32_t write_timeout_ms;     /* (30000) longest time without write progress */
	uint32_t drain_timeout_ms;     /* (10000) graceful shutdown deadline */
	size_t arena_max;              /* (1 MiB) per-request arena cap */
	const char *request_id_header; /* ("X-Request-Id") */
	const char *server_header;     /* ("meridian"); "" omits it */
	const struct http_handler *handler;
	void *handler_ctx;
	void (*access_log)(void *ctx, const struct http_access *a);
	void *access_log_ctx;
	/* Optional, with handler_ctx: run on each worker's thread before its
	 * loop serves (an error stops the start) and after it stopped serving
	 * (connections closed; their close callbacks and those of handles the
	 * hook frees still run later, when the loop is freed). For per-loop
	 * state such as timers and client pools. */
	int (*worker_start)(void *ctx, struct net_loop *l, unsigned index);
	void (*worker_stop)(void *ctx, struct net_loop *l, unsigned index);
};

/* Start the workers and listeners. 0, ERR_INVALID (bad address), ERR_IO. */
int http_server_start(const struct http_server_config *cfg, struct http_server **out);
/* The bound port (useful with port 0); the HTTPS listener's (0: none). */
int http_server_port(const struct http_server *s);
int http_server_tls_port(const struct http_server *s);
/* Stop accepting; let in-flight requests finish up to the drain deadline,
 * closing idle keep-alive connections at once. Returns immediately. */
void http_server_drain(struct http_server *s);
/* Whether every connection has closed after a drain. */
bool http_server_drained(const struct http_server *s);
/* Stop now (closing every connection), join the workers, free. */
void http_server_stop(struct http_server *s);

/* ---- the request, for handlers ---- */

const struct http_head *http_request_head(const struct http_request *r);
const char *http_request_id(const struct http_request *r);
/* The viewer's address, "ip:port" or "[ipv6]:port" (for logs, X-Forwarded-For). */
const char *http_request_peer(const struct http_request *r);
/* Whether the request came over TLS (the HTTPS listener). */
bool http_request_tls(const struct http_request *r);
struct arena *http_request_arena(struct http_request *r);
/* From on_finish only: take the request's arena (the head's copy lives in
 * it), which then outlives the request until the caller arena_free()s it,
 * for work still running that reads the head. */
struct arena *http_request_take_arena(struct http_request *r);
struct net_loop *http_request_loop(const struct http_request *r);
/* Handler state carried with the request. */
void http_request_set_user(struct http_request *r, void *user);
void *http_request_user(const struct http_request *r);
/* The value of a header (first one; case-insensitive name) or IOV_NULL. */
struct iov http_request_header(const struct http_request *r, struct iov name);
/* Refuse bodies over `max` bytes with 413 (checked against Content-Length
 * at once, and while reading a chunked body). Call from on_request. */
void http_request_limit_body(struct http_request *r, uint64_t max);
/* Resume reading a body paused with ERR_AGAIN. */
void http_request_resume(struct http_request *r);

/* ---- the response ---- */

/*
 * Send the status line and headers. length is the body size, or -1 for a
 * chunked body. The server adds Date, Server, the request id header,
 * Content-Length or Transfer-Encoding, and Connection: close when closing.
 * 0 or ERR_INVALID (already started).
 */
int http_response_start(struct http_request *r, int status, const struct http_header *headers,
                        size_t n, int64_t length);
/* Queue body bytes (borrowed until done(arg, status) runs; done may be NULL
 * if p outlives the request). 0 or an error. */
int http_response_write(struct http_request *r, const void *p, size_t n,
                        void (*done)(void *arg, int status), void *arg);
/*
 * Queue `len` body bytes from file `fd` at `off`, sent with sendfile(2) (the
 * head, if not yet out, goes first in the same burst). Not for chunked
 * responses (ERR_INVALID): give the length to http_response_start. fd is
 * borrowed until done(arg, status) runs (the caller closes it then); a file
 * that ends before `len` fails with ERR_IO and the connection closes. The
 * response is not over until http_response_end. Returns 0, or an error and
 * then done is not called.
 */
int http_response_sendfile(struct http_request *r, int fd, uint64_t off, uint64_t len,
                           void (*done)(void *arg, int status), void *arg);
/* The body is complete. If fewer or more body bytes went out than the
 * length given to http_response_start, the connection closes after them
 * (the message could not be framed otherwise). */
int http_response_end(struct http_request *r);
/* Take back a started response of which nothing has gone out (no write
 * yet): another one may start instead. 0 or ERR_INVALID (not started,
 * ended, or bytes already queued). */
int http_response_reset(struct http_request *r);
/* The body cannot be completed (its producer failed after the response
 * started): what is queued goes out, then the connection closes without the
 * last chunk (a head not yet sent is dropped), so the client sees the
 * message cut short rather than a short one passing for whole. 0 or
 * ERR_INVALID (not started, or already ended). */
int http_response_abort(struct http_request *r);
/* Before http_response_start: this answer does not wait for the request
 * body (an error, say). If the body has not all arrived, the head says
 * Connection: close and the connection closes after the response. */
void http_response_early(struct http_request *r);

/* The standard reason phrase of a status ("OK", "Not Found"), or "Unknown". */
const char *http_reason_phrase(int status);
/* Send the head now (it otherwise waits to go out with the first body bytes,
 * in one writev): for handlers that start a response and produce later. */
int http_response_flush(struct http_request *r);
/* A whole response with a small body copied into the request arena. */
int http_respond(struct http_request *r, int status, const char *content_type, struct iov body);
/* Bytes written but not yet sent to the kernel (for pacing a producer). */
size_t http_response_queued(const struct http_request *r);

/*
 * Module-internal, for fuzzers and tests: a server on the caller's loop, with
 * no threads and no listener, that adopts connections handed to it (such as
 * net/mem.h ones). Close all, let the loop settle, then free.
 */
int http__server_embed(const struct http_server_config *cfg, struct net_loop *l,
                       struct http_server **out);
void http__server_adopt(struct http_server *s, struct net_conn *c);
void http__server_close_all(struct http_server *s);
void http__server_embed_free(struct http_server *s);

#endif
