/*
 * The HTTP/1.1 client (see client.h and docs/internals/http-client.md): a
 * pool of connections per origin address, one exchange at a time on each
 * (no pipelining), requests and responses streamed. Loop thread only.
 *
 * Who calls on_done: an exchange that never reached a connection finishes
 * from the reaper timer; one bound to a connection being opened finishes in
 * the connect callback; one on an open connection finishes either right
 * after its response completed (the connection is then pooled or closed) or
 * in the connection's close callback, after every write callback of that
 * connection has run, so on_done is always last.
 */
#include "http/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/timer.h"
#include "net/tls.h"

#define CLIENT_MAGIC    0x48434c54u /* "HCLT" */
#define CCONN_MAGIC     0x48434343u /* "HCCC" */
#define EXCHANGE_MAGIC  0x48584348u /* "HXCH" */
#define PENDING_MAX     (64 * 1024) /* one read (net's read buffer) */
#define ORIGIN_ADDR_MAX 128         /* "[v6]:port" fits */
#define ORIGIN_NAME_MAX 256         /* a TLS server name: a DNS name (253) */
#define HEAD_STACK      1024        /* request heads built on the stack up to this */

#define DEFAULT_CONNECT_MS    10000
#define DEFAULT_FIRST_BYTE_MS 30000
#define DEFAULT_READ_MS       30000
#define DEFAULT_IDLE_MS       5000
#define DEFAULT_PER_ORIGIN    64

/* Connection states: one list gives the enum and the names. */
#define CCONN_STATES(X)                                                     \
	X(CONNECTING) /* net_connect in progress, bound to one exchange */  \
	X(IDLE)       /* pooled, reading only to notice the peer closing */ \
	X(BUSY)       /* carrying one exchange */                           \
	X(CLOSING)    /* closed or cancelled; freed in its callback */

enum cconn_state {
#define CCONN_ENUM(s) CCONN_##s,
	CCONN_STATES(CCONN_ENUM)
#undef CCONN_ENUM
};

/* Exchange states. */
#define EXCHANGE_STATES(X)                                                 \
	X(QUEUED)     /* waiting in its origin's queue for a connection */ \
	X(CONNECTING) /* bound to a connection being opened */             \
	X(ACTIVE)     /* on a connection: request out, response in */      \
	X(DONE)       /* finished: on_done pending or running */

enum exchange_state {
#define EXCHANGE_ENUM(s) EXCHANGE_##s,
	EXCHANGE_STATES(EXCHANGE_ENUM)
#undef EXCHANGE_ENUM
};

struct origin;
struct cconn;

/*
 * A request body piece (borrowed bytes and the caller's done), queued on the
 * exchange until its connection takes it; then the write's context. The
 * head goes out with the first piece (an empty one if none is queued).
 */
struct piece {
	struct piece *next;
	struct cconn *conn; /* once handed to the connection */
	const char *data;
	size_t len;
	void (*done)(void *arg, int status);
	void *arg;
	const char *head; /* the exchange's head, first write only (borrowed) */
	size_t head_len;
	char size[24]; /* chunked: "<hex>\r\n" */
	size_t size_len;
	bool last; /* chunked: the last chunk "0\r\n\r\n" */
};

struct http_exchange {
	unsigned magic;
	enum exchange_state state;
	struct http_client *client;
	struct origin *origin;
	struct cconn *conn;
	struct http_exchange *prev, *next; /* origin queue, or reaper list (next) */
	const struct http_exchange_ops *ops;
	void *arg;

	char *head; /* the request head, built once, stored after the struct */
	size_t head_len;
	int64_t body_length;
	uint64_t body_given;
	struct piece *pieces, *pieces_tail; /* given, not yet handed to the connection */
	size_t pieces_bytes;
	int error; /* reaper: the code on_done gets */

	uint32_t first_byte_ms, read_ms, idle_ms; /* its timeouts, resolved */
	bool retryable, retried, is_head, chunked;
	bool wrote;     /* http_exchange_write was called */
	bool ended;     /* the body is complete (CL reached, end called, or none) */
	bool head_sent; /* on the current connection */
	bool last_sent; /* chunked: the last chunk handed over */
	bool send_failed;
	int send_error;        /* the first failed write's status */
	bool reused;           /* the current connection carried an exchange before */
	bool response_started; /* a response byte arrived (1xx included) */
	bool head_seen;        /* the final response head arrived */
	bool keep_alive;
	bool complete; /* the response is complete */
	bool paused, resume_now, cancelled, finished;
};

struct cconn {
	unsigned magic;
	enum cconn_state state;
	struct http_client *client;
	struct origin *origin;
	struct net_conn *nc;
	struct net_connect *pc;
	struct net_tls_connect *tpc; /* the TLS handshake after the connect */
	struct http_parser *parser;
	struct net_timer *timer;
	struct http_exchange *x;
	struct cconn *prev, *next;           /* all of the origin's connections */
	struct cconn *idle_prev, *idle_next; /* the origin's idle stack */
	unsigned uses;
	uint32_t idle_ms; /* the pool wait the last exchange asked for */
	unsigned writes;  /* handed to net, done not yet called */
	int error;        /* why it is closing (0: the exchange ended normally) */
	bool reading, feeding, eof, junk;
	char *pending; /* PENDING_MAX, allocated on the first pause */
	size_t pending_len;
	/* The head's piece when no body piece is queued to carry it: free
	 * again whenever an exchange is bound (the last one's writes are done). */
	struct piece head_piece;
};

struct origin {
	struct http_client *client;
	struct origin *next;
	char addr[ORIGIN_ADDR_MAX];
	char tls_name[ORIGIN_NAME_MAX]; /* "" plain HTTP, else the name TLS verifies */
	struct cconn *conns;
	struct cconn *idle; /* top of the LIFO */
	unsigned nconns;    /* connecting + idle + busy */
	struct http_exchange *wait_head, *wait_tail;
	unsigned refs; /* connection structs and unfinished exchanges */
	bool kicking;
};

/* The last TLS failure logged for an address and name: kept by the client,
 * since an origin's struct goes when its last connection does. */
#define TLS_LOG_SLOTS 16
struct tls_log {
	char addr[ORIGIN_ADDR_MAX];
	char name[ORIGIN_NAME_MAX];
	char why[160]; /* "" since a success */
};

struct http_client {
	unsigned magic;
	struct tls_log tls_log[TLS_LOG_SLOTS];
	unsigned tls_log_next;
	struct net_loop *loop;
	struct http_client_config cfg;
	struct origin *origins;
	unsigned norigins;
	struct net_timer *reaper;
	struct http_exchange *reap_head, *reap_tail;
	bool freeing, in_free;
};

static void conn_fail(struct cconn *cn, int error, bool may_retry);
static void conn_feed(struct cconn *cn, const char *p, size_t n);
static void exchange_complete(struct cconn *cn);
static void exchange_flush(struct cconn *cn);
static void origin_kick(struct origin *o);
static void connect_new(struct http_exchange *x);

/* ---- lifetimes ---- */

static void client_maybe_free(struct http_client *c)
{
	if (!c->freeing || c->in_free || c->norigins)
		return;
	c->magic = 0;
	free(c);
}

static void origin_unref(struct origin *o)
{
	CHECK(o->refs > 0);
	if (--o->refs)
		return;
	struct http_client *c = o->client;
	struct origin **pp = &c->origins;
	while (*pp != o)
		pp = &(*pp)->next;
	*pp = o->next;
	c->norigins--;
	free(o);
	client_maybe_free(c);
}

/* The pool of an address, plain or over TLS for a server name. */
static struct origin *origin_find(const struct http_client *c, const char *addr,
                                  const char *tls_name)
{
	for (struct origin *o = c->origins; o; o = o->next)
		if (strcmp(o->addr, addr) == 0 &&
		    strcmp(o->tls_name, tls_name ? tls_name : "") == 0)
			return o;
	return NULL;
}

static struct origin *origin_get(struct http_client *c, const char *addr, const char *tls_name)
{
	struct origin *o = origin_find(c, addr, tls_name);
	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->client = c;
	memcpy(o->addr, addr, strlen(addr) + 1);
	if (tls_name)
		memcpy(o->tls_name, tls_name, strlen(tls_name) + 1);
	o->next = c->origins;
	c->origins = o;
	c->norigins++;
	return o;
}

static void pieces_fail(struct http_exchange *x, int status)
{
	while (x->pieces) {
		struct piece *pc = x->pieces;
		x->pieces = pc->next;
		x->pieces_bytes -= pc->len;
		if (!x->pieces)
			x->pieces_tail = NULL;
		if (pc->done)
			pc->done(pc->arg, status);
		free(pc);
	}
}

/* The end: queued pieces fail, on_done runs, the exchange is freed. */
static void exchange_finish(struct http_exchange *x, int error)
{
	CHECK(!x->finished);
	x->finished = true;
	x->state = EXCHANGE_DONE;
	x->conn = NULL;
	if (x->cancelled)
		error = ERR_NET_CLOSED;
	pieces_fail(x, ERR_NET_CLOSED);
	x->ops->on_done(x->arg, error);
	struct origin *o = x->origin;
	x->magic = 0;
	free(x); /* and the head stored with it */
	origin_unref(o);
}

static void on_reap(void *arg)
{
	struct http_client *c = arg;
	struct http_exchange *list = c->reap_head;
	c->reap_head = c->reap_tail = NULL;
	/* on_done may free the client: nothing below touches it. */
	while (list) {
		struct http_exchange *x = list;
		list = x->next;
		exchange_finish(x, x->error);
	}
}

/* Finish an exchange that holds no connection from the loop, soon. */
static void reap(struct http_exchange *x, int error)
{
	struct http_client *c = x->client;
	CHECK(c->reaper != NULL); /* never after http_client_free */
	x->state = EXCHANGE_DONE;
	x->error = error;
	x->next = NULL;
	if (c->reap_tail)
		c->reap_tail->next = x;
	else
		c->reap_head = x;
	c->reap_tail = x;
	net_timer_start(c->reaper, 0, 0);
}

/* ---- the origin's queue and idle stack ---- */

static void queue_push(struct origin *o, struct http_exchange *x)
{
	x->state = EXCHANGE_QUEUED;
	x->next = NULL;
	x->prev = o->wait_tail;
	if (o->wait_tail)
		o->wait_tail->next = x;
	else
		o->wait_head = x;
	o->wait_tail = x;
}

static void queue_remove(struct origin *o, struct http_exchange *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		o->wait_head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		o->wait_tail = x->prev;
	x->prev = x->next = NULL;
}

static void idle_push(struct origin *o, struct cconn *cn)
{
	cn->idle_prev = NULL;
	cn->idle_next = o->idle;
	if (o->idle)
		o->idle->idle_prev = cn;
	o->idle = cn;
}

static void idle_remove(struct origin *o, struct cconn *cn)
{
	if (cn->idle_prev)
		cn->idle_prev->idle_next = cn->idle_next;
	else
		o->idle = cn->idle_next;
	if (cn->idle_next)
		cn->idle_next->idle_prev = cn->idle_prev;
	cn->idle_prev = cn->idle_next = NULL;
}

/* ---- connections ---- */

static void conn_free(struct cconn *cn)
{
	struct origin *o = cn->origin;
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		o->conns = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	http_parser_free(cn->parser);
	net_timer_free(cn->timer);
	free(cn->pending);
	cn->magic = 0;
	free(cn);
	origin_unref(o);
}

/* Leave the pool for good: the socket closes now, the struct in its callback. */
static void conn_close(struct cconn *cn, int error)
{
	if (cn->state == CCONN_CLOSING)
		return;
	if (cn->state == CCONN_IDLE)
		idle_remove(cn->origin, cn);
	cn->state = CCONN_CLOSING;
	cn->error = error;
	cn->origin->nconns--;
	cn->reading = false;
	net_timer_clear(cn->timer);
	if (cn->pc)
		net_connect_cancel(cn->pc); /* on_connected follows */
	else if (cn->tpc)
		net_tls_connect_cancel(cn->tpc); /* on_tls_connected follows */
	else if (cn->nc)
		net_conn_close(cn->nc); /* write callbacks, then on_close */
}

static void conn_deadline(struct cconn *cn, uint32_t ms)
{
	net_timer_deadline(cn->timer, ms);
}

static void conn_read_start(struct cconn *cn)
{
	if (!cn->reading && !cn->eof && cn->nc)
		cn->reading = net_conn_read_start(cn->nc) == 0;
}

/* The write of a piece finished (or failed, or the connection closed). */
static void on_piece_written(void *arg, int status)
{
	struct piece *pc = arg;
	struct cconn *cn = pc->conn;
	void (*done)(void *arg, int status) = pc->done;
	void *darg = pc->arg;
	if (pc != &cn->head_piece)
		free(pc);
	/* The count drops after the callback: while it runs, the exchange
	 * cannot complete and hand the connection on. */
	if (done)
		done(darg, status && cn->state == CCONN_CLOSING ? ERR_NET_CLOSED : status);
	cn->writes--;
	if (cn->state != CCONN_BUSY)
		return; /* closing, or the callback cancelled the exchange */
	struct http_exchange *x = cn->x;
	if (status) {
		if (x->complete) {
			conn_close(cn, 0); /* the response is whole: on_done(0) */
			return;
		}
		/* Stop sending; the read side decides: an answer the server sent
		 * before closing may be waiting in the socket, else its EOF or
		 * reset follows (or the first-byte timer fires). */
		x->send_failed = true;
		if (!x->send_error)
			x->send_error = status;
		return;
	}
	if (!x->head_seen)
		conn_deadline(cn, x->first_byte_ms);
	if (cn->writes || x->pieces)
		return;
	if (x->complete) {
		exchange_complete(cn);
		return;
	}
	if (!x->ended && x->ops->on_drain)
		x->ops->on_drain(x->arg);
}

static int conn_write_piece(struct cconn *cn, struct piece *pc)
{
	struct iov v[5];
	size_t nv = 0;
	if (pc->head)
		v[nv++] = iov_make(pc->head, pc->head_len);
	if (pc->last) {
		v[nv++] = IOV_LIT("0\r\n\r\n");
	} else if (pc->size_len) {
		v[nv++] = iov_make(pc->size, pc->size_len);
		v[nv++] = iov_make(pc->data, pc->len);
		v[nv++] = IOV_LIT("\r\n");
	} else if (pc->len || nv == 0) {
		v[nv++] = iov_make(pc->data ? pc->data : "", pc->len);
	}
	pc->conn = cn;
	int rc = net_conn_write(cn->nc, v, nv, on_piece_written, pc);
	if (rc == 0)
		cn->writes++;
	return rc;
}

static void pieces_push_front(struct http_exchange *x, struct piece *pc)
{
	pc->next = x->pieces;
	x->pieces = pc;
	if (!x->pieces_tail)
		x->pieces_tail = pc;
	x->pieces_bytes += pc->len;
}

static struct piece *pieces_pop(struct http_exchange *x)
{
	struct piece *pc = x->pieces;
	if (!pc)
		return NULL;
	x->pieces = pc->next;
	if (!x->pieces)
		x->pieces_tail = NULL;
	x->pieces_bytes -= pc->len;
	pc->next = NULL;
	return pc;
}

/* Hand what the caller gave to the connection. */
static void exchange_flush(struct cconn *cn)
{
	struct http_exchange *x = cn->x;
	while (x->pieces && !x->send_failed && cn->state == CCONN_BUSY) {
		struct piece *pc = pieces_pop(x);
		int rc = conn_write_piece(cn, pc);
		if (rc) {
			pieces_push_front(x, pc);
			conn_fail(cn, rc, true);
			return;
		}
	}
	if (cn->state != CCONN_BUSY || !x->chunked || !x->ended || x->last_sent || x->pieces ||
	    x->send_failed)
		return;
	struct piece *pc = calloc(1, sizeof(*pc));
	if (pc)
		pc->last = true;
	int rc = pc ? conn_write_piece(cn, pc) : ERR_NOMEM;
	if (rc) {
		free(pc);
		conn_fail(cn, rc, true);
		return;
	}
	x->last_sent = true;
}

/* Put x on the connection and send its head (with the first piece). */
static void conn_bind(struct cconn *cn, struct http_exchange *x)
{
	cn->state = CCONN_BUSY;
	cn->x = x;
	cn->idle_ms = x->idle_ms;
	cn->junk = false;
	x->conn = cn;
	x->state = EXCHANGE_ACTIVE;
	x->reused = cn->uses++ > 0;
	x->head_sent = x->last_sent = x->send_failed = false;
	x->send_error = 0;
	x->response_started = x->head_seen = x->complete = x->paused = false;
	if (x->is_head)
		http_parser_next_is_head(cn->parser);
	struct piece *pc = pieces_pop(x);
	bool mine = pc == NULL;
	if (mine) {
		CHECK(cn->writes == 0);
		pc = &cn->head_piece;
		*pc = (struct piece){ 0 };
	}
	/* Borrowed, not copied: x outlives every write of its connection (it
	 * finishes after their callbacks), and a connection being closed stops
	 * writing at once, so a retry's new connection never races the old. */
	pc->head = x->head;
	pc->head_len = x->head_len;
	int rc = conn_write_piece(cn, pc);
	if (rc) {
		pc->head = NULL;
		if (!mine)
			pieces_push_front(x, pc);
		conn_fail(cn, rc, true);
		return;
	}
	x->head_sent = true;
	conn_deadline(cn, x->first_byte_ms);
	exchange_flush(cn);
}

/* A connection is free: the next waiter takes it, or it joins the idle stack. */
static void conn_release(struct cconn *cn)
{
	struct origin *o = cn->origin;
	cn->x = NULL;
	if (o->wait_head && !cn->client->freeing) {
		struct http_exchange *x = o->wait_head;
		queue_remove(o, x);
		conn_bind(cn, x);
		return;
	}
	cn->state = CCONN_IDLE;
	idle_push(o, cn);
	conn_deadline(cn, cn->idle_ms ? cn->idle_ms : cn->client->cfg.idle_timeout_ms);
	conn_read_start(cn);
}

/* A retry is allowed once, on a fresh connection, for a retryable exchange
 * whose reused connection failed before any response byte, and only while
 * nothing of the body has been given (or there is none). */
static bool exchange_may_retry(const struct http_exchange *x)
{
	return x->retryable && !x->retried && x->reused && !x->response_started && !x->cancelled &&
	       (x->body_length == 0 || !x->wrote) && !x->client->freeing;
}

/* The exchange on cn failed (or cn failed under it). */
static void conn_fail(struct cconn *cn, int error, bool may_retry)
{
	struct http_exchange *x = cn->x;
	struct origin *o = cn->origin;
	if (cn->state == CCONN_CLOSING)
		return;
	if (x && cn->state == CCONN_BUSY && may_retry && exchange_may_retry(x)) {
		cn->x = NULL;
		x->conn = NULL;
		x->retried = true;
		conn_close(cn, error);
		connect_new(x); /* takes the slot cn just left */
		return;
	}
	conn_close(cn, error);
	origin_kick(o);
}

static void on_timer(void *arg)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	switch (cn->state) {
	case CCONN_CONNECTING:
	case CCONN_IDLE:
		conn_close(cn, cn->state == CCONN_IDLE ? 0 : ERR_NET_TIMEOUT);
		origin_kick(cn->origin);
		break;
	case CCONN_BUSY:
		if (cn->x->complete)
			conn_close(cn, 0); /* its writes never drained; the response is whole */
		else
			conn_fail(cn, ERR_NET_TIMEOUT, false);
		break;
	case CCONN_CLOSING:
		break;
	}
}

/* ---- reading ---- */

static int parser_on_head(void *arg, const struct http_head *h)
{
	struct cconn *cn = arg;
	struct http_exchange *x = cn->x;
	if (cn->state != CCONN_BUSY)
		return ERR_NET_CLOSED;
	x->head_seen = true;
	x->keep_alive = h->keep_alive;
	x->resume_now = false;
	int rc = x->ops->on_head ? x->ops->on_head(x->arg, h) : 0;
	if (cn->state != CCONN_BUSY || cn->x != x)
		return ERR_NET_CLOSED;
	return rc;
}

static int parser_on_body(void *arg, const char *p, size_t n)
{
	struct cconn *cn = arg;
	struct http_exchange *x = cn->x;
	if (cn->state != CCONN_BUSY)
		return ERR_NET_CLOSED;
	x->resume_now = false;
	int rc = x->ops->on_body ? x->ops->on_body(x->arg, p, n) : 0;
	if (cn->state != CCONN_BUSY || cn->x != x)
		return ERR_NET_CLOSED;
	return rc;
}

/* Stop right after the message: the rest of the read decides reuse. */
static int parser_on_complete(void *arg)
{
	struct cconn *cn = arg;
	if (cn->state != CCONN_BUSY)
		return ERR_NET_CLOSED;
	cn->x->complete = true;
	return ERR_AGAIN;
}

static const struct http_parser_ops parser_ops = {
	parser_on_head,
	parser_on_body,
	parser_on_complete,
};

/* The caller paused: keep the rest of this read and stop reading. */
static void conn_hold(struct cconn *cn, const char *p, size_t n)
{
	if (!cn->pending)
		cn->pending = malloc(PENDING_MAX);
	if (!cn->pending) {
		conn_fail(cn, ERR_NOMEM, false);
		return;
	}
	CHECK(n <= PENDING_MAX);
	memmove(cn->pending, p, n);
	cn->pending_len = n;
	cn->x->paused = true;
	if (cn->reading)
		net_conn_read_stop(cn->nc);
	cn->reading = false;
	net_timer_clear(cn->timer);
}

static void conn_feed(struct cconn *cn, const char *p, size_t n)
{
	struct http_exchange *x = cn->x;
	cn->feeding = true;
	for (;;) {
		size_t used = 0;
		int rc = http_parser_feed(cn->parser, p, n, &used);
		p += used;
		n -= used;
		if (cn->state != CCONN_BUSY || cn->x != x)
			break; /* cancelled from a callback */
		if (rc == 0)
			break;
		if (rc != ERR_AGAIN) {
			conn_fail(cn, rc, false);
			break;
		}
		if (x->complete) {
			cn->junk = n > 0; /* bytes after the response: never reuse */
			cn->feeding = false;
			exchange_complete(cn);
			return;
		}
		if (x->resume_now) {
			x->resume_now = false;
			continue;
		}
		conn_hold(cn, p, n);
		break;
	}
	cn->feeding = false;
}

static void on_read(void *arg, const char *p, size_t n)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	if (cn->state == CCONN_IDLE) {
		/* Nothing was asked: a confused peer. */
		conn_close(cn, ERR_HTTP_BAD_RESPONSE);
		origin_kick(cn->origin);
		return;
	}
	if (cn->state != CCONN_BUSY)
		return;
	struct http_exchange *x = cn->x;
	if (x->paused) {
		/* Only after a pause inside this same read burst. */
		CHECK(n <= PENDING_MAX - cn->pending_len);
		memcpy(cn->pending + cn->pending_len, p, n);
		cn->pending_len += n;
		net_conn_read_stop(cn->nc);
		cn->reading = false;
		return;
	}
	x->response_started = true;
	conn_deadline(cn, x->read_ms);
	conn_feed(cn, p, n);
}

static void on_end(void *arg, int status)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	cn->reading = false;
	cn->eof = true;
	if (cn->state == CCONN_IDLE) {
		conn_close(cn, 0); /* the server closed a pooled connection */
		origin_kick(cn->origin);
		return;
	}
	if (cn->state != CCONN_BUSY)
		return;
	struct http_exchange *x = cn->x;
	if (x->complete) {
		if (cn->writes == 0)
			exchange_complete(cn);
		return; /* the writes' callbacks finish it */
	}
	if (!x->response_started) {
		conn_fail(cn,
		          status          ? status
		          : x->send_error ? x->send_error
		                          : ERR_NET_CLOSED,
		          true);
		return;
	}
	int rc = status;
	if (rc == 0) {
		rc = http_parser_finish(cn->parser); /* completes an EOF-framed body */
		if (cn->state != CCONN_BUSY || cn->x != x)
			return;
		if (x->complete) {
			exchange_complete(cn);
			return;
		}
		if (rc == 0 || rc == ERR_HTTP_INCOMPLETE)
			rc = ERR_NET_CLOSED;
	}
	conn_fail(cn, rc, false);
}

static void on_close(void *arg)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	struct http_exchange *x = cn->x;
	cn->nc = NULL;
	cn->x = NULL;
	if (x) {
		int error = cn->error;
		if (error == 0 && !x->complete)
			error = ERR_NET_CLOSED;
		exchange_finish(x, error);
	}
	conn_free(cn);
}

static const struct net_conn_events conn_events = { on_read, on_end, on_close };

/* The response is complete: pool or close the connection, then on_done(0). */
static void exchange_complete(struct cconn *cn)
{
	struct http_exchange *x = cn->x;
	struct origin *o = cn->origin;
	bool handed = x->ended && !x->pieces && (!x->chunked || x->last_sent) && !x->send_failed;
	x->complete = true;
	if (!handed || cn->writes) {
		if (handed) {
			/* The body is out but its callbacks have not all run. */
			conn_deadline(cn, x->read_ms);
			return;
		}
		conn_close(cn, 0); /* the body was cut short: the connection cannot go on */
		origin_kick(o);
		return;
	}
	bool keep = x->keep_alive && !cn->junk && !cn->eof && !cn->client->freeing;
	x->conn = NULL;
	if (keep) {
		conn_release(cn);
	} else {
		cn->x = NULL;
		conn_close(cn, 0);
		origin_kick(o);
	}
	exchange_finish(x, 0);
}

/* ---- connecting ---- */

static void on_tls_connected(void *arg, struct net_conn *nc, int status);

static void on_connected(void *arg, struct net_conn *nc, int status)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	struct http_exchange *x = cn->x;
	struct origin *o = cn->origin;
	cn->pc = NULL;
	if (cn->state != CCONN_CLOSING && status == 0 && o->tls_name[0] && !net_tls_is(nc)) {
		/* TLS before anything: a certificate refused is a connect error,
		 * within the same connect deadline. */
		int rc = net_tls_connect(cn->client->cfg.tls, nc, o->tls_name, on_tls_connected, cn,
		                         &cn->tpc);
		if (rc == 0)
			return;
		cn->tpc = NULL;
		nc = NULL; /* closed by net_tls_connect */
		status = rc;
	}
	if (cn->state == CCONN_CLOSING || status) {
		if (nc)
			net_conn_close(nc);
		int error = cn->state == CCONN_CLOSING ? cn->error : status;
		conn_close(cn, error);
		cn->x = NULL;
		if (x)
			exchange_finish(x, error);
		origin_kick(o);
		conn_free(cn);
		return;
	}
	cn->nc = nc;
	net_conn_set_events(nc, &conn_events, cn);
	conn_read_start(cn);
	conn_bind(cn, x);
}

/* A TLS failure is logged once per change of an address's reason (a dead
 * origin's retries and probes do not repeat it); a success clears it. */
static void tls_log(struct http_client *c, const struct origin *o, int status)
{
	struct tls_log *slot = NULL;
	for (unsigned i = 0; i < TLS_LOG_SLOTS && !slot; i++)
		if (strcmp(c->tls_log[i].addr, o->addr) == 0 &&
		    strcmp(c->tls_log[i].name, o->tls_name) == 0)
			slot = &c->tls_log[i];
	if (status == 0) {
		if (slot)
			slot->why[0] = '\0';
		return;
	}
	if (status != ERR_TLS_VERIFY && status != ERR_TLS_HANDSHAKE)
		return;
	char why[sizeof(slot->why)];
	snprintf(why, sizeof(why), "%s%s%s", err_text(status), status == ERR_TLS_VERIFY ? ": " : "",
	         status == ERR_TLS_VERIFY ? net_tls_last_verify_error() : "");
	if (slot && strcmp(slot->why, why) == 0)
		return;
	if (!slot) {
		slot = &c->tls_log[c->tls_log_next++ % TLS_LOG_SLOTS];
		snprintf(slot->addr, sizeof(slot->addr), "%s", o->addr);
		snprintf(slot->name, sizeof(slot->name), "%s", o->tls_name);
	}
	memcpy(slot->why, why, sizeof(why));
	fprintf(stderr, "http client: TLS to %s (%s) failed: %s\n", o->addr, o->tls_name, why);
}

static void on_tls_connected(void *arg, struct net_conn *nc, int status)
{
	struct cconn *cn = arg;
	CHECK_MAGIC(cn, CCONN_MAGIC);
	cn->tpc = NULL;
	tls_log(cn->client, cn->origin, status);
	on_connected(cn, nc, status);
}

static int conn_new(struct origin *o, struct cconn **out)
{
	struct http_client *c = o->client;
	struct cconn *cn = calloc(1, sizeof(*cn));
	if (!cn)
		return ERR_NOMEM;
	cn->magic = CCONN_MAGIC;
	cn->client = c;
	cn->origin = o;
	int rc = http_parser_new(HTTP_PARSE_RESPONSE, &c->cfg.limits, &parser_ops, cn, &cn->parser);
	if (rc == 0)
		rc = net_timer_new(c->loop, on_timer, cn, &cn->timer);
	if (rc) {
		http_parser_free(cn->parser);
		free(cn);
		return rc;
	}
	cn->next = o->conns;
	if (o->conns)
		o->conns->prev = cn;
	o->conns = cn;
	o->refs++;
	o->nconns++;
	*out = cn;
	return 0;
}

/* Open a new connection for x. */
static void connect_new(struct http_exchange *x)
{
	struct origin *o = x->origin;
	struct cconn *cn;
	int rc = conn_new(o, &cn);
	if (rc) {
		reap(x, rc);
		return;
	}
	cn->state = CCONN_CONNECTING;
	cn->x = x;
	x->conn = cn;
	x->state = EXCHANGE_CONNECTING;
	rc = net_connect(o->client->loop, o->addr, on_connected, cn, &cn->pc);
	if (rc) {
		cn->pc = NULL;
		cn->x = NULL;
		x->conn = NULL;
		conn_close(cn, rc);
		conn_free(cn);
		reap(x, rc);
		return;
	}
	conn_deadline(cn, o->client->cfg.connect_timeout_ms);
}

/* Serve the queue from idle connections and free slots, in order. */
static void origin_kick(struct origin *o)
{
	struct http_client *c = o->client;
	if (c->freeing || o->kicking)
		return;
	o->kicking = true;
	o->refs++;
	while (o->wait_head) {
		struct http_exchange *x = o->wait_head;
		if (o->idle) {
			struct cconn *cn = o->idle;
			idle_remove(o, cn);
			queue_remove(o, x);
			conn_bind(cn, x);
		} else if (o->nconns < c->cfg.max_per_origin) {
			queue_remove(o, x);
			connect_new(x);
		} else {
			break;
		}
	}
	o->kicking = false;
	origin_unref(o);
}

/* ---- the API ---- */

int http_client_new(struct net_loop *l, const struct http_client_config *cfg,
                    struct http_client **out)
{
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	if (cfg)
		c->cfg = *cfg;
	struct http_client_config *k = &c->cfg;
	if (!k->connect_timeout_ms)
		k->connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (!k->first_byte_timeout_ms)
		k->first_byte_timeout_ms = DEFAULT_FIRST_BYTE_MS;
	if (!k->read_timeout_ms)
		k->read_timeout_ms = DEFAULT_READ_MS;
	if (!k->idle_timeout_ms)
		k->idle_timeout_ms = DEFAULT_IDLE_MS;
	if (!k->max_per_origin)
		k->max_per_origin = DEFAULT_PER_ORIGIN;
	if (!k->limits.request_line)
		k->limits.request_line = HTTP_DEFAULT_REQUEST_LINE;
	if (!k->limits.header_bytes)
		k->limits.header_bytes = HTTP_DEFAULT_HEADER_BYTES;
	if (!k->limits.header_count)
		k->limits.header_count = HTTP_DEFAULT_HEADER_COUNT;
	int rc = net_timer_new(l, on_reap, c, &c->reaper);
	if (rc) {
		free(c);
		return rc;
	}
	c->magic = CLIENT_MAGIC;
	c->loop = l;
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	CHECK_MAGIC(c, CLIENT_MAGIC);
	CHECK(!c->freeing);
	c->freeing = true;
	c->in_free = true;
	on_reap(c);
	for (struct origin *o = c->origins, *next; o; o = next) {
		o->refs++;
		while (o->wait_head) {
			struct http_exchange *x = o->wait_head;
			queue_remove(o, x);
			exchange_finish(x, ERR_NET_CLOSED);
		}
		/* Exchanges on connections finish from their close callbacks. */
		for (struct cconn *cn = o->conns; cn; cn = cn->next)
			conn_close(cn, ERR_NET_CLOSED);
		next = o->next;
		origin_unref(o);
	}
	while (c->reap_head)
		on_reap(c); /* cancelled from the callbacks above */
	net_timer_free(c->reaper);
	c->reaper = NULL;
	c->in_free = false;
	client_maybe_free(c);
}

/* RFC 9110 tchar (a switch, not strchr: this runs for every name byte). */
static bool is_tchar(unsigned char ch)
{
	switch (ch) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return true;
	default:
		return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		       (ch >= 'A' && ch <= 'Z');
	}
}

static bool all_tchar(struct iov v)
{
	for (size_t i = 0; i < v.len; i++)
		if (!is_tchar((unsigned char)v.base[i]))
			return false;
	return v.len > 0;
}

/* Field values and the Host: no CR, LF or NUL (which would split the head). */
static bool value_ok(struct iov v)
{
	for (size_t i = 0; i < v.len; i++)
		if (v.base[i] == '\r' || v.base[i] == '\n' || v.base[i] == '\0')
			return false;
	return true;
}

static bool target_ok(struct iov v)
{
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.base[i] <= ' ' || (unsigned char)v.base[i] == 0x7f)
			return false;
	return v.len > 0;
}

static bool header_reserved(struct iov name)
{
	return iov_eq_nocase(name, IOV_LIT("host")) ||
	       iov_eq_nocase(name, IOV_LIT("content-length")) ||
	       iov_eq_nocase(name, IOV_LIT("transfer-encoding")) ||
	       iov_eq_nocase(name, IOV_LIT("connection"));
}

/* Methods whose empty body still gets "Content-Length: 0" (RFC 9110 8.6). */
static bool method_has_body(struct iov m)
{
	return iov_eq(m, IOV_LIT("POST")) || iov_eq(m, IOV_LIT("PUT")) ||
	       iov_eq(m, IOV_LIT("PATCH"));
}

static int build_head(const struct http_exchange_request *req, struct buf *b)
{
	const struct iov line[] = { req->method, IOV_LIT(" "),
		                    req->target, IOV_LIT(" HTTP/1.1\r\nHost: "),
		                    req->host,   IOV_LIT("\r\n") };
	int rc = buf_add_iovs(b, line, sizeof(line) / sizeof(line[0]));
	for (size_t i = 0; rc == 0 && i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		const struct iov v[] = { h->name, IOV_LIT(": "), h->value, IOV_LIT("\r\n") };
		rc = buf_add_iovs(b, v, 4);
	}
	if (rc == 0 && req->body_length < 0) {
		rc = buf_add_str(b, "Transfer-Encoding: chunked\r\n");
	} else if (rc == 0 && (req->body_length > 0 || method_has_body(req->method))) {
		rc = buf_add_str(b, "Content-Length: ");
		if (rc == 0)
			rc = buf_add_u64(b, (unsigned long long)req->body_length);
		if (rc == 0)
			rc = buf_add_str(b, "\r\n");
	}
	if (rc == 0)
		rc = buf_add_str(b, "\r\n");
	return rc;
}

static int request_check(const struct http_client *c, const struct http_exchange_request *req)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	if (!req->origin || strlen(req->origin) >= ORIGIN_ADDR_MAX)
		return ERR_INVALID;
	/* An origin in the list passed this check when it was added. */
	if (req->tls_name &&
	    (!c->cfg.tls || !req->tls_name[0] || strlen(req->tls_name) >= ORIGIN_NAME_MAX))
		return ERR_INVALID;
	if (!origin_find(c, req->origin, req->tls_name) && net_parse_addr(req->origin, &ss, &sslen))
		return ERR_INVALID;
	if (!all_tchar(req->method) || !target_ok(req->target) || !value_ok(req->host) ||
	    req->body_length < -1 || (req->nheaders && !req->headers))
		return ERR_INVALID;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (!all_tchar(h->name) || !value_ok(h->value) || header_reserved(h->name))
			return ERR_INVALID;
	}
	return 0;
}

int http_client_send(struct http_client *c, const struct http_exchange_request *req,
                     const struct http_exchange_ops *ops, void *arg, struct http_exchange **out)
{
	CHECK_MAGIC(c, CLIENT_MAGIC);
	CHECK(req && ops && ops->on_done && out);
	if (c->freeing || request_check(c, req))
		return ERR_INVALID;
	/* The head is built on the stack (most fit) and stored after the
	 * exchange, in one allocation. */
	char store[HEAD_STACK];
	struct buf b;
	buf_init_with(&b, store, sizeof(store), HTTP_CLIENT_HEAD_MAX);
	int rc = build_head(req, &b);
	if (rc) {
		buf_free(&b);
		return rc == ERR_NOMEM ? rc : ERR_INVALID;
	}
	struct http_exchange *x = malloc(sizeof(*x) + b.len);
	struct origin *o = x ? origin_get(c, req->origin, req->tls_name) : NULL;
	if (!o) {
		buf_free(&b);
		free(x);
		return ERR_NOMEM;
	}
	*x = (struct http_exchange){ 0 };
	x->head = (char *)(x + 1);
	x->head_len = b.len;
	memcpy(x->head, b.data, b.len);
	buf_free(&b);
	x->magic = EXCHANGE_MAGIC;
	x->client = c;
	x->origin = o;
	o->refs++;
	x->ops = ops;
	x->arg = arg;
	x->body_length = req->body_length;
	x->chunked = req->body_length < 0;
	x->ended = req->body_length == 0;
	x->retryable = req->retryable;
	x->is_head = iov_eq(req->method, IOV_LIT("HEAD"));
	x->first_byte_ms =
	    req->first_byte_timeout_ms ? req->first_byte_timeout_ms : c->cfg.first_byte_timeout_ms;
	x->read_ms = req->read_timeout_ms ? req->read_timeout_ms : c->cfg.read_timeout_ms;
	x->idle_ms = req->idle_timeout_ms;
	*out = x;
	/* First in, first served: join the queue behind anyone waiting. */
	queue_push(o, x);
	origin_kick(o);
	return 0;
}

int http_exchange_write(struct http_exchange *x, const void *p, size_t n,
                        void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(x, EXCHANGE_MAGIC);
	struct cconn *cn = x->conn;
	if (x->state == EXCHANGE_DONE || x->send_failed || x->complete ||
	    (cn && cn->state == CCONN_CLOSING))
		return ERR_NET_CLOSED;
	if (x->ended || x->body_length == 0 ||
	    (x->body_length > 0 && n > (uint64_t)x->body_length - x->body_given))
		return ERR_INVALID;
	struct piece *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return ERR_NOMEM;
	pc->data = p;
	pc->len = n;
	pc->done = done;
	pc->arg = arg;
	if (x->chunked && n) {
		int len = snprintf(pc->size, sizeof(pc->size), "%zx\r\n", n);
		pc->size_len = (size_t)len;
	}
	x->wrote = true;
	x->body_given += n;
	if (x->body_length > 0 && x->body_given == (uint64_t)x->body_length)
		x->ended = true;
	if (x->pieces_tail)
		x->pieces_tail->next = pc;
	else
		x->pieces = pc;
	x->pieces_tail = pc;
	x->pieces_bytes += n;
	if (x->state == EXCHANGE_ACTIVE && x->head_sent)
		exchange_flush(cn);
	return 0;
}

int http_exchange_end(struct http_exchange *x)
{
	CHECK_MAGIC(x, EXCHANGE_MAGIC);
	struct cconn *cn = x->conn;
	if (x->state == EXCHANGE_DONE || x->send_failed || (cn && cn->state == CCONN_CLOSING))
		return ERR_NET_CLOSED;
	if (!x->chunked)
		return x->ended ? 0 : ERR_INVALID;
	if (x->ended)
		return ERR_INVALID;
	x->ended = true;
	if (x->state == EXCHANGE_ACTIVE && x->head_sent)
		exchange_flush(cn);
	return 0;
}

size_t http_exchange_queued(const struct http_exchange *x)
{
	CHECK_MAGIC(x, EXCHANGE_MAGIC);
	size_t n = x->pieces_bytes;
	if (x->conn && x->conn->nc && x->conn->state == CCONN_BUSY)
		n += net_conn_write_queue(x->conn->nc);
	return n;
}

void http_exchange_resume(struct http_exchange *x)
{
	CHECK_MAGIC(x, EXCHANGE_MAGIC);
	struct cconn *cn = x->conn;
	if (x->state != EXCHANGE_ACTIVE || !cn || cn->state != CCONN_BUSY)
		return;
	if (!x->paused) {
		if (cn->feeding)
			x->resume_now = true; /* from inside the callback that pauses */
		return;
	}
	x->paused = false;
	conn_deadline(cn, x->read_ms);
	size_t n = cn->pending_len;
	cn->pending_len = 0;
	conn_feed(cn, cn->pending, n);
	/* x may be gone (its response completed): look at the connection only. */
	if (cn->state == CCONN_BUSY && !cn->x->paused)
		conn_read_start(cn);
}

void http_exchange_cancel(struct http_exchange *x)
{
	CHECK_MAGIC(x, EXCHANGE_MAGIC);
	if (x->state == EXCHANGE_DONE || x->cancelled)
		return;
	x->cancelled = true;
	struct origin *o = x->origin;
	struct cconn *cn = x->conn;
	switch (x->state) {
	case EXCHANGE_QUEUED:
		queue_remove(o, x);
		reap(x, ERR_NET_CLOSED);
		break;
	case EXCHANGE_CONNECTING:
	case EXCHANGE_ACTIVE:
		conn_fail(cn, ERR_NET_CLOSED, false);
		break;
	case EXCHANGE_DONE:
		break;
	}
}
