/*
 * HTTP/1.1 server connections. See server.h; everything below runs on the
 * worker thread that owns the connection, except start/drain/stop.
 */
#include "http/server.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/timer.h"
#include "net/tls.h"
#include "net/workers.h"

#define CONN_MAGIC    0x48434f4eu
#define REQ_MAGIC     0x48524551u
#define PENDING_MAX   (64 * 1024 + 16)
#define HEAD_OUT_MAX  (64 * 1024)
#define MAX_BODY_IOVS 4 /* head, chunk size, data, CRLF */

/* Connection states: one list gives the enum and the names. */
#define CONN_STATES(X)                                                               \
	X(HEAD)    /* waiting for or reading a request head */                       \
	X(BODY)    /* the handler has the request; its body may still be arriving */ \
	X(CLOSING) /* closing; nothing more is read or started */

enum conn_state {
#define CONN_ENUM(s) CONN_##s,
	CONN_STATES(CONN_ENUM)
#undef CONN_ENUM
};

struct worker;

struct http_conn {
	unsigned magic;
	enum conn_state state;
	struct worker *w;
	struct net_conn *nc;
	struct http_parser *parser;
	struct http_request *req;
	struct net_timer *read_timer, *write_timer;
	char pending[PENDING_MAX]; /* bytes read but not yet parsed (parser paused) */
	size_t pending_len;
	bool reading, head_started, close_after, eof;
	int write_failed;           /* a write refused at once: close from the loop */
	bool held;                  /* the parser is paused: new bytes wait in `pending` */
	int error;                  /* why the connection is closing */
	struct http_request *spare; /* a finished request kept for reuse, arena reset */
	unsigned writes;            /* writes queued and not completed */
	char peer[64];
	struct http_conn *prev, *next;
};

struct http_request {
	unsigned magic;
	struct http_conn *conn;
	struct arena *arena;
	struct http_head head; /* a copy in the arena */
	char id[40];
	void *user;
	const char *tls_version; /* for the access log: "TLSv1.3", or NULL over plain HTTP */
	struct file_body *file;  /* the last file body, in the arena */
	uint64_t body_limit, body_in, body_out;
	uint64_t t0_us;
	int status;
	bool started, ended, chunked, is_head, body_done, body_paused;
	bool whole;          /* http_respond: the response ends as soon as it starts */
	struct iov head_out; /* the response head, until it goes out with the first write */
	int64_t length;
};

struct worker {
	struct http_server *srv;
	struct net_loop *loop;
	struct net_listener *listener, *tls_listener;
	struct http_conn *conns;
	unsigned nconns;
	uint64_t next_id;
	struct net_timer *drain_timer;
	bool draining;
	time_t date_at;
	char date[40];
	struct write_ctx *free_wc; /* recycled write contexts */
	unsigned nfree_wc;
};

struct http_server {
	struct http_server_config cfg;
	struct net_workers *workers;
	struct worker *w;
	unsigned nworkers;
	atomic_int port, tls_port;
	atomic_uint open_conns;
	char boot[9];
};

static void conn_close(struct http_conn *c, int error);
static void conn_feed(struct http_conn *c, const char *p, size_t n);
static void conn_next(struct http_conn *c);

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT", refreshed once a second. */
static const char *worker_date(struct worker *w)
{
	time_t t = time(NULL);
	if (t != w->date_at) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_at = t;
	}
	return w->date;
}

const char *http_reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* ---- timers ---- */

static void on_read_timeout(void *arg)
{
	struct http_conn *c = arg;
	conn_close(c, ERR_NET_TIMEOUT);
}

static void on_write_timeout(void *arg)
{
	struct http_conn *c = arg;
	if (c->write_failed)
		conn_close(c, c->write_failed);
	else if (c->writes)
		conn_close(c, ERR_NET_TIMEOUT);
}

static void arm_read_timer(struct http_conn *c, uint32_t ms)
{
	net_timer_deadline(c->read_timer, ms);
}

/* ---- writing ---- */

struct write_ctx {
	struct http_conn *conn;
	void (*done)(void *arg, int status);
	void *arg;
	struct write_ctx *next; /* on the worker's free list */
};

#define WRITE_CTX_CACHE 256 /* per worker */

static struct write_ctx *write_ctx_get(struct worker *w)
{
	struct write_ctx *wc = w->free_wc;
	if (wc) {
		w->free_wc = wc->next;
		w->nfree_wc--;
		return wc;
	}
	return malloc(sizeof(*wc));
}

static void write_ctx_put(struct worker *w, struct write_ctx *wc)
{
	if (w->nfree_wc >= WRITE_CTX_CACHE) {
		free(wc);
		return;
	}
	wc->next = w->free_wc;
	w->free_wc = wc;
	w->nfree_wc++;
}

static void request_free(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	arena_free(r->arena);
	r->magic = 0;
	free(r);
}

/* Keep one finished request per connection for the next one (keep-alive
 * connections then allocate nothing per request). */
static void request_recycle(struct http_conn *c, struct http_request *r)
{
	if (c->spare || c->state == CONN_CLOSING || !r->arena) {
		request_free(r);
		return;
	}
	struct arena *a = r->arena;
	arena_reset(a);
	memset(r, 0, sizeof(*r));
	r->arena = a;
	c->spare = r;
}

/* A file body on its way out in pieces (http_response_sendfile). */
struct file_body {
	struct http_request *r;
	int fd;
	uint64_t off, left;
	void (*done)(void *arg, int status);
	void *arg;
	uint64_t len, piece, acked; /* for the access log: what went out whole */
};

static void access_log(struct http_conn *c, struct http_request *r, int error)
{
	const struct http_server_config *cfg = &c->w->srv->cfg;
	if (!cfg->access_log)
		return;
	struct http_access a = {
		.request_id = r->id,
		.peer = c->peer,
		.method = r->head.method,
		.target = r->head.target,
		.status = r->status,
		.body_in = r->body_in,
		/* A file body cut short: only the pieces that went out whole. */
		.body_out = r->body_out - (r->file ? r->file->len - r->file->acked : 0),
		.duration_us = now_us() - r->t0_us,
		.error = error,
		.user = r->user,
		.tls_version = r->tls_version,
	};
	cfg->access_log(cfg->access_log_ctx, &a);
}

/* The exchange is over: tell the handler and the log, free the request. */
static void request_finish(struct http_conn *c, int error)
{
	struct http_request *r = c->req;
	const struct http_server_config *cfg = &c->w->srv->cfg;
	c->req = NULL;
	access_log(c, r, error); /* before on_finish, which may take the arena */
	if (cfg->handler->on_finish)
		cfg->handler->on_finish(cfg->handler_ctx, r, error);
	request_recycle(c, r);
}

/* The response is complete and flushed: on to the next request, or close. */
static void request_done(struct http_conn *c)
{
	request_finish(c, 0);
	bool keep = !c->close_after && !c->w->draining && !c->eof;
	if (!keep || c->state == CONN_CLOSING) {
		conn_close(c, 0);
		return;
	}
	conn_next(c);
}

static void on_written(void *arg, int status)
{
	struct write_ctx *wc = arg;
	struct http_conn *c = wc->conn;
	if (wc->done)
		wc->done(wc->arg, status);
	write_ctx_put(c->w, wc);
	c->writes--;
	if (status || c->write_failed) {
		conn_close(c, status ? status : c->write_failed);
	} else if (c->writes == 0) {
		net_timer_clear(c->write_timer);
		if (c->req && c->req->ended && c->state != CONN_CLOSING)
			request_done(c);
	} else {
		net_timer_deadline(c->write_timer, c->w->srv->cfg.write_timeout_ms);
	}
	if (c->state == CONN_CLOSING && c->writes == 0 && c->nc)
		net_conn_close(c->nc);
}

/* What goes to the connection: bytes, or a file range after a prefix. */
struct out {
	const struct iov *v;
	size_t n;
	int fd; /* -1 for bytes only */
	uint64_t off, len;
};

/* Queue `o`; on_written reports to done(arg, status) and keeps the count
 * and the write timer. */
static int conn_out(struct http_conn *c, const struct out *o, void (*done)(void *arg, int status),
                    void *arg)
{
	if (c->state == CONN_CLOSING || !c->nc)
		return ERR_NET_CLOSED;
	struct write_ctx *wc = write_ctx_get(c->w);
	if (!wc)
		return ERR_NOMEM;
	*wc = (struct write_ctx){ c, done, arg, NULL };
	int rc = o->fd < 0
	             ? net_conn_write(c->nc, o->v, o->n, on_written, wc)
	             : net_conn_sendfile(c->nc, o->v, o->n, o->fd, o->off, o->len, on_written, wc);
	if (rc) {
		/* The connection cannot carry this response any more (a reset the
		 * loop has not read yet shows here first): it closes, so the
		 * request ends instead of waiting for the drain deadline; from the
		 * loop, not here, where the caller is mid-call and closing would
		 * run write callbacks under it. */
		write_ctx_put(c->w, wc);
		if (!c->write_failed)
			c->write_failed = rc;
		net_timer_deadline(c->write_timer, 0);
		return rc;
	}
	if (c->writes++ == 0)
		net_timer_deadline(c->write_timer, c->w->srv->cfg.write_timeout_ms);
	return 0;
}

static int conn_write(struct http_conn *c, const struct iov *v, size_t n,
                      void (*done)(void *arg, int status), void *arg)
{
	struct out o = { v, n, -1, 0, 0 };
	return conn_out(c, &o, done, arg);
}

static void free_buffer(void *p, int status)
{
	(void)status;
	free(p);
}

/* A whole error response, then close (the request, if any, is aborted). */
static void send_error(struct http_conn *c, int status, const char *why)
{
	char buf[512];
	const char *reason = http_reason_phrase(status);
	int n = snprintf(buf, sizeof(buf),
	                 "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	                 status, reason, worker_date(c->w), strlen(why) + 1, why);
	c->close_after = true;
	net_conn_read_stop(c->nc);
	c->reading = false;
	/* Copy: the write outlives this frame. */
	char *copy = malloc((size_t)n);
	if (!copy) {
		conn_close(c, ERR_NOMEM);
		return;
	}
	memcpy(copy, buf, (size_t)n);
	struct iov v = iov_make(copy, (size_t)n);
	if (conn_write(c, &v, 1, free_buffer, copy)) {
		free(copy);
		conn_close(c, ERR_NET_CLOSED);
		return;
	}
	c->state = CONN_CLOSING;
}

/* ---- the request API ---- */

const struct http_head *http_request_head(const struct http_request *r)
{
	return &r->head;
}

const char *http_request_id(const struct http_request *r)
{
	return r->id;
}

const char *http_request_peer(const struct http_request *r)
{
	return r->conn ? r->conn->peer : "?";
}

bool http_request_tls(const struct http_request *r)
{
	return r->conn && r->conn->nc && net_tls_is(r->conn->nc);
}

struct arena *http_request_take_arena(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct arena *a = r->arena;
	r->arena = NULL;
	return a;
}

struct arena *http_request_arena(struct http_request *r)
{
	return r->arena;
}

struct net_loop *http_request_loop(const struct http_request *r)
{
	return r->conn->w->loop;
}

void http_request_set_user(struct http_request *r, void *user)
{
	r->user = user;
}

void *http_request_user(const struct http_request *r)
{
	return r->user;
}

struct iov http_request_header(const struct http_request *r, struct iov name)
{
	for (size_t i = 0; i < r->head.nheaders; i++)
		if (iov_eq_nocase(r->head.headers[i].name, name))
			return r->head.headers[i].value;
	return IOV_NULL;
}

void http_request_limit_body(struct http_request *r, uint64_t max)
{
	r->body_limit = max;
}

void http_request_resume(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	if (!r->body_paused || !c || c->state == CONN_CLOSING)
		return;
	r->body_paused = false;
	c->held = false;
	arm_read_timer(c, c->w->srv->cfg.body_timeout_ms);
	/* Feed what was held back; that may pause again. */
	size_t n = c->pending_len;
	char *copy = n ? malloc(n) : NULL;
	if (n && !copy) {
		conn_close(c, ERR_NOMEM);
		return;
	}
	if (n)
		memcpy(copy, c->pending, n);
	c->pending_len = 0;
	conn_feed(c, copy, n);
	free(copy);
	if (c->state != CONN_CLOSING && !c->held && !c->reading && !c->eof)
		c->reading = net_conn_read_start(c->nc) == 0;
}

/* ---- the response API ---- */

/* What a response head is made of, gathered once for head_emit. */
enum head_framing { HEAD_NONE, HEAD_LENGTH, HEAD_CHUNKED };

struct head_parts {
	char status[IOV_U64_DIGITS];
	size_t status_len;
	struct iov reason, date, server, rid_name, rid;
	const struct http_header *headers;
	size_t n;
	enum head_framing framing;
	char length[IOV_U64_DIGITS];
	size_t length_len;
	struct iov connection; /* the whole line, or empty */
};

/* Appends to dst, or only counts when dst is NULL. */
struct head_put {
	char *dst;
	size_t len;
};

static void head_put(struct head_put *h, struct iov v)
{
	if (h->dst && v.len)
		memcpy(h->dst + h->len, v.base, v.len);
	h->len += v.len;
}

/* The head's bytes, in order; the same calls measure and write it. */
static void head_emit(struct head_put *h, const struct head_parts *hp)
{
	head_put(h, IOV_LIT("HTTP/1.1 "));
	head_put(h, iov_make(hp->status, hp->status_len));
	head_put(h, IOV_LIT(" "));
	head_put(h, hp->reason);
	head_put(h, IOV_LIT("\r\nDate: "));
	head_put(h, hp->date);
	head_put(h, IOV_LIT("\r\n"));
	if (hp->server.len) {
		head_put(h, IOV_LIT("Server: "));
		head_put(h, hp->server);
		head_put(h, IOV_LIT("\r\n"));
	}
	if (hp->rid_name.len) {
		head_put(h, hp->rid_name);
		head_put(h, IOV_LIT(": "));
		head_put(h, hp->rid);
		head_put(h, IOV_LIT("\r\n"));
	}
	for (size_t i = 0; i < hp->n; i++) {
		head_put(h, hp->headers[i].name);
		head_put(h, IOV_LIT(": "));
		head_put(h, hp->headers[i].value);
		head_put(h, IOV_LIT("\r\n"));
	}
	if (hp->framing == HEAD_CHUNKED) {
		head_put(h, IOV_LIT("Transfer-Encoding: chunked\r\n"));
	} else if (hp->framing == HEAD_LENGTH) {
		head_put(h, IOV_LIT("Content-Length: "));
		head_put(h, iov_make(hp->length, hp->length_len));
		head_put(h, IOV_LIT("\r\n"));
	}
	head_put(h, hp->connection);
	head_put(h, IOV_LIT("\r\n"));
}

int http_response_start(struct http_request *r, int status, const struct http_header *headers,
                        size_t n, int64_t length)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	const struct http_server_config *cfg = &c->w->srv->cfg;
	if (r->started || !c)
		return ERR_INVALID;
	r->started = true;
	r->status = status;
	r->length = length;
	bool bodiless = r->is_head || status == 204 || status == 304 || status < 200;
	r->chunked = length < 0 && !bodiless;
	/* A whole answer before the body arrived: the body will not be read. */
	if (r->whole && !r->body_done)
		c->close_after = true;
	if (!r->head.keep_alive || c->w->draining)
		c->close_after = true;

	if (status < 100 || status > 999)
		return ERR_INVALID;
	/* Measured, then written straight into the arena: one pass of
	 * appends, no staging buffer and no second copy. */
	struct head_parts hp = {
		.reason = iov_cstr(http_reason_phrase(status)),
		.date = iov_cstr(worker_date(c->w)),
		.server = iov_cstr(cfg->server_header),
		.rid_name = iov_cstr(cfg->request_id_header),
		.rid = iov_cstr(r->id),
		.headers = headers,
		.n = n,
		.framing = r->chunked                                      ? HEAD_CHUNKED
		           : length >= 0 && status >= 200 && status != 204 ? HEAD_LENGTH
		                                                           : HEAD_NONE,
		.connection = c->close_after               ? IOV_LIT("Connection: close\r\n")
		              : r->head.version_minor == 0 ? IOV_LIT("Connection: keep-alive\r\n")
		                                           : IOV_NULL,
	};
	hp.status_len = iov_fmt_u64((unsigned)status, hp.status);
	if (hp.framing == HEAD_LENGTH)
		hp.length_len = iov_fmt_u64((unsigned long long)length, hp.length);
	struct head_put m = { NULL, 0 };
	head_emit(&m, &hp);
	if (m.len > HEAD_OUT_MAX)
		return ERR_TOO_BIG;
	/* The head lives in the arena until the request is done; it goes out
	 * with the first body bytes or the end, in one writev. */
	struct head_put w = { arena_alloc(r->arena, m.len), 0 };
	if (!w.dst)
		return ERR_NOMEM;
	head_emit(&w, &hp);
	r->head_out = iov_make(w.dst, w.len);
	return 0;
}

void http_response_early(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	r->whole = true;
}

int http_response_flush(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	if (!r->head_out.base)
		return 0;
	struct iov head = r->head_out;
	r->head_out = IOV_NULL;
	return conn_write(r->conn, &head, 1, NULL, NULL);
}

int http_response_write(struct http_request *r, const void *p, size_t n,
                        void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	if (!r->started || r->ended || !c)
		return ERR_INVALID;
	struct iov v[MAX_BODY_IOVS];
	size_t nv = 0;
	if (r->head_out.base) {
		v[nv++] = r->head_out;
		r->head_out = IOV_NULL;
	}
	if (n == 0 || r->is_head || r->status == 204 || r->status == 304) {
		/* No body bytes go on the wire; completion is still reported
		 * asynchronously, through an empty write if need be. */
		static const char nothing[1];
		if (nv == 0)
			v[nv++] = iov_make(nothing, 0);
		return done || v[0].len ? conn_write(c, v, nv, done, arg) : 0;
	}
	if (r->chunked) {
		struct iov size = arena_printf(r->arena, "%zx\r\n", n);
		if (!size.base)
			return ERR_NOMEM;
		v[nv++] = size;
	}
	v[nv++] = iov_make(p, n);
	if (r->chunked)
		v[nv++] = IOV_LIT("\r\n");
	r->body_out += n;
	return conn_write(c, v, nv, done, arg);
}

/* A file body goes out in pieces, so the write timeout measures stalls,
 * not the whole transfer. */
#define SENDFILE_PIECE (1u << 20)

static int file_body_next(struct file_body *f, const struct iov *prefix, size_t np);

static void on_file_piece(void *arg, int status)
{
	struct file_body *f = arg;
	if (status == 0)
		f->acked += f->piece;
	if (status == 0 && f->left) {
		status = file_body_next(f, NULL, 0);
		if (status == 0)
			return; /* that piece reports next */
	}
	if (f->done)
		f->done(f->arg, status);
}

/* The next piece; the last completion reports to the caller. */
static int file_body_next(struct file_body *f, const struct iov *prefix, size_t np)
{
	uint64_t n = f->left < SENDFILE_PIECE ? f->left : SENDFILE_PIECE;
	struct out o = { prefix, np, f->fd, f->off, n };
	int rc = conn_out(f->r->conn, &o, on_file_piece, f);
	if (rc == 0) {
		f->off += n;
		f->left -= n;
		f->piece = n;
	}
	return rc;
}

int http_response_sendfile(struct http_request *r, int fd, uint64_t off, uint64_t len,
                           void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	if (!r->started || r->ended || !c || r->chunked)
		return ERR_INVALID;
	if (len == 0 || r->is_head || r->status == 204 || r->status == 304)
		return http_response_write(r, NULL, 0, done, arg);
	struct file_body *f = arena_alloc(r->arena, sizeof(*f));
	if (!f)
		return ERR_NOMEM;
	*f = (struct file_body){ r, fd, off, len, done, arg, .len = len };
	r->file = f;
	struct iov head = r->head_out;
	r->head_out = IOV_NULL;
	r->body_out += len;
	return file_body_next(f, &head, head.base ? 1 : 0);
}

size_t http_response_queued(const struct http_request *r)
{
	return r->conn && r->conn->nc ? net_conn_write_queue(r->conn->nc) : 0;
}

int http_response_end(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	if (!r->started || r->ended || !c)
		return ERR_INVALID;
	r->ended = true;
	/* A body still arriving is not read further: the connection ends. */
	if (!r->body_done)
		c->close_after = true;
	/* Fewer (or more) bytes than the head announced: the message cannot be
	 * framed, so the connection ends, and the client sees it cut short
	 * instead of waiting for bytes that never come. */
	bool bodiless = r->is_head || r->status == 204 || r->status == 304 || r->status < 200;
	if (!bodiless && r->length >= 0 && r->body_out != (uint64_t)r->length)
		c->close_after = true;
	struct iov v[2];
	size_t nv = 0;
	if (r->head_out.base) {
		v[nv++] = r->head_out;
		r->head_out = IOV_NULL;
	}
	if (r->chunked)
		v[nv++] = IOV_LIT("0\r\n\r\n");
	if (nv) {
		int rc = conn_write(c, v, nv, NULL, NULL);
		if (rc)
			return rc;
	}
	if (c->writes == 0 && c->state != CONN_CLOSING)
		request_done(c);
	return 0;
}

int http_response_reset(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	if (!r->started || r->ended || !r->head_out.base || r->body_out)
		return ERR_INVALID;
	r->started = r->chunked = false;
	r->head_out = IOV_NULL;
	r->length = 0;
	r->status = 0;
	return 0;
}

int http_response_abort(struct http_request *r)
{
	CHECK_MAGIC(r, REQ_MAGIC);
	struct http_conn *c = r->conn;
	if (!r->started || r->ended || !c)
		return ERR_INVALID;
	r->ended = true;
	c->close_after = true;
	/* No last chunk, and a head not yet out stays unsent: the client must
	 * not take what it got for the whole message. */
	r->head_out = IOV_NULL;
	if (c->writes == 0 && c->state != CONN_CLOSING)
		request_done(c);
	return 0;
}

int http_respond(struct http_request *r, int status, const char *content_type, struct iov body)
{
	struct http_header h = { IOV_LIT("Content-Type"), iov_cstr(content_type) };
	struct iov copy = arena_dup(r->arena, body);
	if (!copy.base)
		return ERR_NOMEM;
	r->whole = true;
	int rc = http_response_start(r, status, &h, content_type ? 1 : 0, (int64_t)body.len);
	if (rc == 0 && body.len)
		rc = http_response_write(r, copy.base, copy.len, NULL, NULL);
	if (rc == 0)
		rc = http_response_end(r);
	return rc;
}

/* ---- parser callbacks ---- */

/* boot nonce (8 hex) + worker (2 hex) + per-worker counter (10 hex): unique
 * per process start, sortable within a worker. */
static void request_id(char out[40], struct worker *w)
{
	static const char digits[] = "0123456789abcdef";
	unsigned long long seq = ++w->next_id;
	unsigned wid = net_loop_id(w->loop) & 0xff;
	memcpy(out, w->srv->boot, 8);
	out[8] = digits[wid >> 4];
	out[9] = digits[wid & 15];
	for (int i = 19; i >= 10; i--, seq >>= 4)
		out[i] = digits[seq & 15];
	out[20] = '\0';
}

/* Copy the head into the request arena: the handler may answer long after
 * the parser has moved on. */
static int copy_head(struct http_request *r, const struct http_head *h)
{
	struct http_header *hs = arena_alloc(r->arena, (h->nheaders + 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	r->head = *h;
	r->head.method = arena_dup(r->arena, h->method);
	r->head.target = arena_dup(r->arena, h->target);
	r->head.host = h->host.base ? arena_dup(r->arena, h->host) : IOV_NULL;
	for (size_t i = 0; i < h->nheaders; i++) {
		hs[i].name = arena_dup(r->arena, h->headers[i].name);
		hs[i].value = arena_dup(r->arena, h->headers[i].value);
		if (!hs[i].name.base || !hs[i].value.base)
			return ERR_NOMEM;
	}
	r->head.headers = hs;
	return r->head.method.base && r->head.target.base ? 0 : ERR_NOMEM;
}

static int on_head(void *arg, const struct http_head *h)
{
	struct http_conn *c = arg;
	struct worker *w = c->w;
	const struct http_server_config *cfg = &w->srv->cfg;
	struct http_request *r = c->spare;
	c->spare = NULL;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return ERR_NOMEM;
		r->arena = arena_new(cfg->arena_max);
	}
	r->magic = REQ_MAGIC;
	r->conn = c;
	r->body_limit = UINT64_MAX;
	if (cfg->access_log) {
		r->t0_us = now_us(); /* only the log reads durations */
		/* Now, while the connection is there: a request may end with it. */
		r->tls_version = net_tls_is(c->nc) ? net_tls_version(c->nc) : NULL;
	}
	if (!r->arena || copy_head(r, h)) {
		request_free(r);
		return ERR_NOMEM;
	}
	r->is_head = iov_eq(h->method, IOV_LIT("HEAD"));
	request_id(r->id, w);
	r->body_done = h->framing == HTTP_BODY_NONE ||
	               (h->framing == HTTP_BODY_LENGTH && h->content_length == 0);
	c->req = r;
	c->state = CONN_BODY;
	c->head_started = false;
	net_timer_clear(c->read_timer);

	/*
	 * An empty body needs no 100 Continue (RFC 9110 15.2.1), but botocore
	 * asks for one on every S3 PUT, empty or not, and when the final answer
	 * comes where it waits for the 100 it reads the next response on that
	 * connection against the stale status (boto/botocore#3755): the next
	 * PUT looks acknowledged before the server has answered it. So say
	 * 100 Continue first, as S3 does, before the handler can answer.
	 */
	if (r->body_done && h->expect_continue && h->framing == HTTP_BODY_LENGTH) {
		struct iov cont = IOV_LIT("HTTP/1.1 100 Continue\r\n\r\n");
		conn_write(c, &cont, 1, NULL, NULL);
	}
	cfg->handler->on_request(cfg->handler_ctx, r);
	if (c->state == CONN_CLOSING)
		return ERR_NET_CLOSED;
	if (h->framing == HTTP_BODY_LENGTH && h->content_length > r->body_limit) {
		send_error(c, 413, "request body too large");
		return ERR_HTTP_BODY_TOO_LARGE;
	}
	if (!r->body_done) {
		if (r->ended) {
			/* Answered early: the rest of the body is not wanted. */
			c->close_after = true;
		} else if (!r->started && h->expect_continue && h->version_minor == 1) {
			struct iov cont = IOV_LIT("HTTP/1.1 100 Continue\r\n\r\n");
			conn_write(c, &cont, 1, NULL, NULL);
		}
		arm_read_timer(c, cfg->body_timeout_ms);
	}
	return 0;
}

static int on_body(void *arg, const char *p, size_t n)
{
	struct http_conn *c = arg;
	struct http_request *r = c->req;
	const struct http_server_config *cfg = &c->w->srv->cfg;
	r->body_in += n;
	if (r->body_in > r->body_limit) {
		send_error(c, 413, "request body too large");
		return ERR_HTTP_BODY_TOO_LARGE;
	}
	if (r->ended)
		return 0; /* answered already: discard */
	arm_read_timer(c, cfg->body_timeout_ms);
	int rc = cfg->handler->on_body ? cfg->handler->on_body(cfg->handler_ctx, r, p, n) : 0;
	if (rc == ERR_AGAIN) {
		r->body_paused = true;
		net_timer_clear(c->read_timer);
	}
	return rc;
}

static int on_complete(void *arg)
{
	struct http_conn *c = arg;
	struct http_request *r = c->req;
	const struct http_server_config *cfg = &c->w->srv->cfg;
	net_timer_clear(c->read_timer);
	r->body_done = true;
	if (!r->ended && cfg->handler->on_body_end)
		cfg->handler->on_body_end(cfg->handler_ctx, r);
	if (c->state == CONN_CLOSING)
		return ERR_NET_CLOSED;
	/* Hold the next pipelined request until this response is out. */
	return ERR_AGAIN;
}

static const struct http_parser_ops parser_ops = { on_head, on_body, on_complete };

/* ---- reading ---- */

/* Feed bytes to the parser; with n == 0, resume a paused parser that had
 * consumed everything (a pause on the last body piece). */
static void conn_feed(struct http_conn *c, const char *p, size_t n)
{
	bool once = n == 0;
	while ((n > 0 || once) && c->state != CONN_CLOSING) {
		once = false;
		size_t used = 0;
		int rc = http_parser_feed(c->parser, p, n, &used);
		if (used) {
			p += used;
			n -= used;
		}
		if (rc == 0)
			return;
		if (rc == ERR_AGAIN) {
			/* Keep the rest until the handler resumes or the response ends.
			 * Reading goes on while nothing is held back (no epoll churn for
			 * one request at a time); once bytes wait, it stops, so at most
			 * one read is ever held. */
			c->held = true;
			CHECK(n <= sizeof(c->pending) - c->pending_len);
			if (n) {
				memmove(c->pending + c->pending_len, p, n);
				c->pending_len += n;
			}
			if (c->pending_len && c->reading) {
				net_conn_read_stop(c->nc);
				c->reading = false;
			}
			return;
		}
		if (c->state != CONN_CLOSING) {
			c->error = rc;
			send_error(c, http_parser_status(c->parser), http_parser_reason(c->parser));
		}
		return;
	}
}

static void on_read(void *arg, const char *p, size_t n)
{
	struct http_conn *c = arg;
	if (c->held) {
		/* Only reachable with an empty pending buffer (see conn_feed). */
		CHECK(n <= sizeof(c->pending) - c->pending_len);
		memcpy(c->pending + c->pending_len, p, n);
		c->pending_len += n;
		net_conn_read_stop(c->nc);
		c->reading = false;
		return;
	}
	if (c->state == CONN_HEAD && !c->head_started) {
		c->head_started = true;
		arm_read_timer(c, c->w->srv->cfg.head_timeout_ms);
	}
	conn_feed(c, p, n);
}

static void on_end(void *arg, int status)
{
	struct http_conn *c = arg;
	c->reading = false;
	c->eof = true;
	if (status || c->state == CONN_HEAD || (c->req && !c->req->body_done)) {
		int rc = http_parser_finish(c->parser);
		if (c->state == CONN_HEAD && rc == 0 && !c->head_started) {
			conn_close(c, 0);
			return;
		}
		conn_close(c, status ? status : ERR_HTTP_INCOMPLETE);
		return;
	}
	/* The client half-closed after its request: answer, then close. */
	c->close_after = true;
}

static void on_close(void *arg)
{
	struct http_conn *c = arg;
	struct worker *w = c->w;
	c->nc = NULL;
	if (c->req)
		request_finish(c, c->req->ended && c->writes == 0 ? 0
		                  : c->error                      ? c->error
		                                                  : ERR_NET_CLOSED);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->srv->open_conns, 1);
	net_timer_free(c->read_timer);
	net_timer_free(c->write_timer);
	http_parser_free(c->parser);
	if (c->spare) {
		arena_free(c->spare->arena);
		free(c->spare);
	}
	c->magic = 0;
	free(c);
}

static const struct net_conn_events conn_events = { on_read, on_end, on_close };

static void conn_close(struct http_conn *c, int error)
{
	if (!c->nc)
		return;
	if (!c->error)
		c->error = error;
	c->state = CONN_CLOSING;
	net_timer_clear(c->read_timer);
	net_timer_clear(c->write_timer);
	net_conn_close(c->nc);
}

/* Ready for the next request on a kept-alive connection. */
static void conn_next(struct http_conn *c)
{
	struct worker *w = c->w;
	c->state = CONN_HEAD;
	c->held = false;
	c->head_started = c->pending_len > 0;
	arm_read_timer(c,
	               c->head_started ? w->srv->cfg.head_timeout_ms : w->srv->cfg.idle_timeout_ms);
	size_t n = c->pending_len;
	if (n) {
		char *copy = malloc(n);
		if (!copy) {
			conn_close(c, ERR_NOMEM);
			return;
		}
		memcpy(copy, c->pending, n);
		c->pending_len = 0;
		conn_feed(c, copy, n);
		free(copy);
	}
	if (c->state != CONN_CLOSING && !c->held && !c->reading && !c->eof)
		c->reading = net_conn_read_start(c->nc) == 0;
	if (c->state == CONN_HEAD && c->eof && c->pending_len == 0)
		conn_close(c, 0);
}

static void on_accept(void *arg, struct net_conn *nc)
{
	struct worker *w = arg;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c || w->draining) {
		free(c);
		net_conn_close(nc);
		return;
	}
	c->magic = CONN_MAGIC;
	c->w = w;
	c->nc = nc;
	c->state = CONN_HEAD;
	net_conn_peer(nc, c->peer, sizeof(c->peer));
	if (http_parser_new(HTTP_PARSE_REQUEST, &w->srv->cfg.limits, &parser_ops, c, &c->parser) ||
	    net_timer_new(w->loop, on_read_timeout, c, &c->read_timer) ||
	    net_timer_new(w->loop, on_write_timeout, c, &c->write_timer)) {
		http_parser_free(c->parser);
		net_timer_free(c->read_timer);
		free(c);
		net_conn_close(nc);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add(&w->srv->open_conns, 1);
	net_conn_set_events(nc, &conn_events, c);
	arm_read_timer(c, w->srv->cfg.head_timeout_ms);
	c->reading = net_conn_read_start(nc) == 0;
}

/* An HTTPS connection: TLS first, then the same as plain HTTP. */
static void on_tls_accept(void *arg, struct net_conn *nc)
{
	struct worker *w = arg;
	struct net_conn *tc;
	if (w->draining) {
		net_conn_close(nc);
		return;
	}
	if (net_tls_accept(w->srv->cfg.tls, nc, &tc) == 0)
		on_accept(w, tc);
}

/* ---- workers, drain, stop ---- */

/* Listen on `listen`; later workers join the port the first one bound
 * (the port 0 case). */
static int worker_listen(struct worker *w, unsigned index, const char *listen, atomic_int *port,
                         void (*accept)(void *arg, struct net_conn *c), struct net_listener **out)
{
	char addr[300];
	int bound = atomic_load(port);
	if (index > 0 && bound > 0) {
		const char *colon = strrchr(listen, ':');
		snprintf(addr, sizeof(addr), "%.*s:%d", (int)(colon - listen), listen, bound);
		listen = addr;
	}
	int rc = net_listen(w->loop, listen, true, accept, w, out);
	if (rc == 0 && index == 0)
		atomic_store(port, net_listener_port(*out));
	return rc;
}

static int worker_setup(void *arg, struct net_loop *l, unsigned index)
{
	struct http_server *s = arg;
	struct worker *w = &s->w[index];
	w->srv = s;
	w->loop = l;
	int rc = 0;
	if (s->cfg.listen)
		rc = worker_listen(w, index, s->cfg.listen, &s->port, on_accept, &w->listener);
	if (rc == 0 && s->cfg.tls_listen)
		rc = worker_listen(w, index, s->cfg.tls_listen, &s->tls_port, on_tls_accept,
		                   &w->tls_listener);
	if (rc == 0)
		rc = net_timer_new(l, NULL, NULL, &w->drain_timer);
	if (rc == 0 && s->cfg.worker_start)
		rc = s->cfg.worker_start(s->cfg.handler_ctx, l, index);
	return rc;
}

static void close_all(struct worker *w)
{
	for (struct http_conn *c = w->conns; c; c = c->next)
		conn_close(c, ERR_NET_TIMEOUT);
}

static void on_drain_deadline(void *arg)
{
	close_all(arg);
}

static void worker_drain(void *arg, struct net_loop *l, unsigned index)
{
	struct http_server *s = arg;
	struct worker *w = &s->w[index];
	(void)l;
	if (w->draining)
		return;
	w->draining = true;
	net_listener_close(w->listener);
	net_listener_close(w->tls_listener);
	w->listener = w->tls_listener = NULL;
	for (struct http_conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == CONN_HEAD && !c->head_started && c->pending_len == 0)
			conn_close(c, 0); /* idle keep-alive */
		else
			c->close_after = true;
	}
	net_timer_free(w->drain_timer);
	w->drain_timer = NULL;
	struct net_timer *t;
	if (net_timer_new(w->loop, on_drain_deadline, w, &t) == 0) {
		w->drain_timer = t;
		net_timer_start(t, s->cfg.drain_timeout_ms, 0);
	}
}

static void free_write_cache(struct worker *w)
{
	while (w->free_wc) {
		struct write_ctx *next = w->free_wc->next;
		free(w->free_wc);
		w->free_wc = next;
	}
	w->nfree_wc = 0;
}

static void worker_teardown(void *arg, struct net_loop *l, unsigned index)
{
	struct http_server *s = arg;
	struct worker *w = &s->w[index];
	close_all(w);
	net_listener_close(w->listener);
	net_listener_close(w->tls_listener);
	net_timer_free(w->drain_timer);
	if (s->cfg.worker_stop)
		s->cfg.worker_stop(s->cfg.handler_ctx, l, index);
	/* net_loop_free runs the close callbacks. */
}

static void defaults(struct http_server_config *c)
{
	if (!c->limits.request_line)
		c->limits.request_line = HTTP_DEFAULT_REQUEST_LINE;
	if (!c->limits.header_bytes)
		c->limits.header_bytes = HTTP_DEFAULT_HEADER_BYTES;
	if (!c->limits.header_count)
		c->limits.header_count = HTTP_DEFAULT_HEADER_COUNT;
	if (!c->head_timeout_ms)
		c->head_timeout_ms = 10000;
	if (!c->idle_timeout_ms)
		c->idle_timeout_ms = 60000;
	if (!c->body_timeout_ms)
		c->body_timeout_ms = 30000;
	if (!c->write_timeout_ms)
		c->write_timeout_ms = 30000;
	if (!c->drain_timeout_ms)
		c->drain_timeout_ms = 10000;
	if (!c->arena_max)
		c->arena_max = 1 << 20;
	if (!c->request_id_header)
		c->request_id_header = "X-Request-Id";
	if (!c->server_header)
		c->server_header = "meridian";
}

int http_server_start(const struct http_server_config *cfg, struct http_server **out)
{
	struct net_workers *pool;
	struct http_server *s = calloc(1, sizeof(*s));
	unsigned n = cfg->workers;
	if (!s)
		return ERR_NOMEM;
	s->cfg = *cfg;
	defaults(&s->cfg);
	CHECK(s->cfg.handler && s->cfg.handler->on_request && (s->cfg.listen || s->cfg.tls_listen));
	CHECK(!s->cfg.tls_listen || s->cfg.tls);
	uint32_t nonce = 0;
	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		nonce = (uint32_t)now_us();
	snprintf(s->boot, sizeof(s->boot), "%08x", nonce);
	if (n == 0)
		n = 64; /* upper bound for the array; net_workers picks the CPU count */
	s->w = calloc(n, sizeof(s->w[0]));
	if (!s->w) {
		free(s);
		return ERR_NOMEM;
	}
	int rc = net_workers_start(cfg->workers, worker_setup, worker_teardown, s, &pool);
	if (rc) {
		free(s->w);
		free(s);
		return rc;
	}
	s->workers = pool;
	s->nworkers = net_workers_count(pool);
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	return atomic_load(&s->port);
}

int http_server_tls_port(const struct http_server *s)
{
	return atomic_load(&s->tls_port);
}

void http_server_drain(struct http_server *s)
{
	net_workers_post_all(s->workers, worker_drain, s);
}

bool http_server_drained(const struct http_server *s)
{
	return atomic_load(&s->open_conns) == 0;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	net_workers_stop(s->workers);
	/* The loops are gone: every write context is back in its cache. */
	for (unsigned i = 0; i < s->nworkers; i++)
		free_write_cache(&s->w[i]);
	free(s->w);
	free(s);
}

/* ---- embedding, for fuzzers and tests ---- */

int http__server_embed(const struct http_server_config *cfg, struct net_loop *l,
                       struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s || !(s->w = calloc(1, sizeof(s->w[0])))) {
		free(s);
		return ERR_NOMEM;
	}
	s->cfg = *cfg;
	defaults(&s->cfg);
	memcpy(s->boot, "00000000", 9);
	s->nworkers = 1;
	s->w[0].srv = s;
	s->w[0].loop = l;
	*out = s;
	return 0;
}

void http__server_adopt(struct http_server *s, struct net_conn *c)
{
	on_accept(&s->w[0], c);
}

void http__server_close_all(struct http_server *s)
{
	close_all(&s->w[0]);
}

void http__server_embed_free(struct http_server *s)
{
	CHECK(s->w[0].nconns == 0);
	free_write_cache(&s->w[0]);
	free(s->w);
	free(s);
}
