/*
 * The delaying TCP relay (wan/relay.h). Loop thread, except the delay
 * settings, which are atomics any thread may read and set.
 *
 * A relayed connection is a pair of sides: 0 the client accepted, 1 the
 * connection made to the upstream. side[i].q holds the bytes read from side
 * i on their way to side 1 - i. One timer per pair, armed for the earliest
 * time either queue can make progress; libuv keeps timers in a heap, which
 * is the priority queue across connections.
 */
#include "wan/relay.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/iov.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/timer.h"
#include "wan/queue.h"

#define WAN_RELAY_MAGIC 0x57414e52u /* "WANR" */
#define WAN_PAIR_MAGIC  0x57414e50u /* "WANP" */
#define WRITE_BATCH     16          /* chunks per writev (net's limit) */
#define ADDR_MAX        64

struct wan_relay {
	unsigned magic;
	struct net_loop *loop;
	struct net_listener *listener;
	char to[ADDR_MAX];
	size_t queue_max;
	_Atomic uint32_t delay_ms, jitter_ms;
	_Atomic unsigned npairs;
	uint64_t rng; /* xorshift64 state for jitter */
	struct pair *pairs;
	bool stopped;
};

struct pair;

struct side {
	struct pair *pair;
	struct net_conn *c;
	int idx;
	struct wan_queue q; /* bytes read from this side */
	size_t inflight;    /* of those, handed to the other side's write */
	bool paused;        /* reading stopped: q + inflight over the cap */
	bool end_passed;    /* this side's end of stream was passed on */
};

struct pair {
	unsigned magic;
	struct wan_relay *relay;
	struct pair *prev, *next;
	struct side side[2];
	struct net_connect *pc;
	struct net_timer *timer;
	unsigned refs; /* open connections + pending connect + writes in flight */
	bool closing;
};

struct wreq {
	struct pair *pair;
	int from;
	size_t n, bytes;
	struct wan_chunk *chunks[WRITE_BATCH];
};

static void pump(struct pair *p);

/* ---- settings ---- */

int wan_relay_set_delay(struct wan_relay *r, uint32_t delay_ms, uint32_t jitter_ms)
{
	CHECK_MAGIC(r, WAN_RELAY_MAGIC);
	if (delay_ms > WAN_DELAY_MAX_MS || jitter_ms > WAN_DELAY_MAX_MS)
		return ERR_INVALID;
	atomic_store(&r->delay_ms, delay_ms);
	atomic_store(&r->jitter_ms, jitter_ms);
	return 0;
}

void wan_relay_get_delay(const struct wan_relay *r, uint32_t *delay_ms, uint32_t *jitter_ms)
{
	CHECK_MAGIC(r, WAN_RELAY_MAGIC);
	*delay_ms = atomic_load(&r->delay_ms);
	*jitter_ms = atomic_load(&r->jitter_ms);
}

unsigned wan_relay_connections(const struct wan_relay *r)
{
	return atomic_load(&r->npairs);
}

/* The delay for a chunk read now: the setting plus uniform 0..jitter. */
static uint64_t chunk_delay(struct wan_relay *r)
{
	uint64_t d = atomic_load(&r->delay_ms);
	uint32_t j = atomic_load(&r->jitter_ms);
	if (j == 0)
		return d;
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return d + r->rng % ((uint64_t)j + 1);
}

/*
 * The time a chunk read now is stamped with: the monotonic clock rounded up
 * to the millisecond. The loop's cached clock (same time base, read at the
 * start of the iteration, truncated) would stamp up to a millisecond early;
 * this way a chunk released when the loop clock reaches its due time has
 * waited at least the delay.
 */
static uint64_t stamp_now(void)
{
	return (clock_mono_ns() + 999999) / 1000000;
}

/* ---- pair lifecycle ---- */

static void pair_unref(struct pair *p)
{
	CHECK(p->refs > 0);
	if (--p->refs > 0)
		return;
	CHECK(p->closing);
	struct wan_relay *r = p->relay;
	atomic_fetch_sub(&r->npairs, 1);
	p->magic = 0;
	free(p);
}

/* Close both sides (idempotent); the pair frees itself once every
 * callback it waits for has run. */
static void pair_close(struct pair *p)
{
	if (p->closing)
		return;
	p->closing = true;
	struct wan_relay *r = p->relay;
	if (p->prev)
		p->prev->next = p->next;
	else
		r->pairs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	if (p->pc)
		net_connect_cancel(p->pc);
	for (int i = 0; i < 2; i++) {
		wan_queue_clear(&p->side[i].q);
		if (p->side[i].c)
			net_conn_close(p->side[i].c);
	}
	net_timer_free(p->timer);
	p->timer = NULL;
}

/* ---- moving bytes ---- */

static void on_written(void *arg, int status)
{
	struct wreq *w = arg;
	struct pair *p = w->pair;
	struct side *s = &p->side[w->from];
	for (size_t i = 0; i < w->n; i++)
		wan_chunk_free(w->chunks[i]);
	s->inflight -= w->bytes;
	free(w);
	if (status)
		pair_close(p);
	else if (!p->closing)
		pump(p);
	pair_unref(p);
}

/* Write what is due from side `from` to the other side, up to the cap. */
static int send_due(struct pair *p, int from, uint64_t now)
{
	struct side *s = &p->side[from];
	struct net_conn *dst = p->side[1 - from].c;
	size_t cap = p->relay->queue_max;
	while (s->inflight < cap && wan_queue_has_chunks(&s->q)) {
		struct wreq *w = calloc(1, sizeof(*w));
		if (!w)
			return ERR_NOMEM;
		struct iov bufs[WRITE_BATCH];
		while (w->n < WRITE_BATCH && wan_queue_pop(&s->q, now, &w->chunks[w->n]) == 0) {
			bufs[w->n] = iov_make(w->chunks[w->n]->data, w->chunks[w->n]->len);
			w->bytes += w->chunks[w->n]->len;
			w->n++;
		}
		if (w->n == 0) {
			free(w);
			return 0;
		}
		w->pair = p;
		w->from = from;
		int rc = net_conn_write(dst, bufs, w->n, on_written, w);
		if (rc) {
			for (size_t i = 0; i < w->n; i++)
				wan_chunk_free(w->chunks[i]);
			free(w);
			return rc;
		}
		s->inflight += w->bytes;
		p->refs++;
	}
	return 0;
}

/* Whether side `from`'s queue can move when its head is due (else a write
 * completion will call pump). */
static bool can_progress(const struct side *s, size_t cap)
{
	if (wan_queue_has_chunks(&s->q))
		return s->inflight < cap;
	return s->q.eof && !s->end_passed && s->inflight == 0;
}

static void arm(struct pair *p, uint64_t now)
{
	uint64_t best = UINT64_MAX, due;
	for (int i = 0; i < 2; i++) {
		const struct side *s = &p->side[i];
		if (can_progress(s, p->relay->queue_max) && wan_queue_next_due(&s->q, &due) == 0 &&
		    due < best)
			best = due;
	}
	if (best == UINT64_MAX)
		net_timer_stop(p->timer);
	else
		net_timer_start(p->timer, best > now ? best - now : 0, 0);
}

/* Move whatever is due, pass on ends, resume paused readers, re-arm. */
static void pump(struct pair *p)
{
	CHECK_MAGIC(p, WAN_PAIR_MAGIC);
	if (p->closing || !p->side[1].c)
		return;
	uint64_t now = net_loop_now(p->relay->loop);
	size_t cap = p->relay->queue_max;
	for (int i = 0; i < 2; i++) {
		struct side *s = &p->side[i];
		if (send_due(p, i, now)) {
			pair_close(p);
			return;
		}
		if (!s->end_passed && s->inflight == 0 && wan_queue_at_end(&s->q, now)) {
			net_conn_shutdown(p->side[1 - i].c);
			s->end_passed = true;
		}
		if (s->paused && wan_queue_bytes(&s->q) + s->inflight < cap / 2) {
			s->paused = false;
			if (net_conn_read_start(s->c)) {
				pair_close(p);
				return;
			}
		}
	}
	if (p->side[0].end_passed && p->side[1].end_passed) {
		pair_close(p); /* both ends passed on, every byte written */
		return;
	}
	arm(p, now);
}

static void on_timer(void *arg)
{
	pump(arg);
}

/* ---- connection events ---- */

static void on_read(void *arg, const char *buf, size_t n)
{
	struct side *s = arg;
	struct pair *p = s->pair;
	if (p->closing)
		return;
	struct wan_relay *r = p->relay;
	if (wan_queue_push(&s->q, stamp_now(), chunk_delay(r), buf, n)) {
		pair_close(p);
		return;
	}
	if (wan_queue_bytes(&s->q) + s->inflight >= r->queue_max) {
		net_conn_read_stop(s->c);
		s->paused = true;
	}
	pump(p);
}

static void on_end(void *arg, int status)
{
	struct side *s = arg;
	struct pair *p = s->pair;
	if (p->closing)
		return;
	if (status) {
		pair_close(p); /* a reset or error ends both directions */
		return;
	}
	struct wan_relay *r = p->relay;
	if (wan_queue_push_eof(&s->q, stamp_now(), chunk_delay(r))) {
		pair_close(p);
		return;
	}
	pump(p);
}

static void on_close(void *arg)
{
	struct side *s = arg;
	struct pair *p = s->pair;
	s->c = NULL;
	pair_close(p); /* one side gone: the other goes too */
	pair_unref(p);
}

static const struct net_conn_events side_events = { on_read, on_end, on_close };

static void on_connected(void *arg, struct net_conn *c, int status)
{
	struct pair *p = arg;
	p->pc = NULL;
	if (status || p->closing) {
		if (c)
			net_conn_close(c); /* not ours yet: no events set */
		pair_close(p);             /* refused upstream: close the client */
		pair_unref(p);
		return;
	}
	/* The connect's reference becomes the upstream connection's. */
	p->side[1].c = c;
	net_conn_set_events(c, &side_events, &p->side[1]);
	if (net_conn_read_start(p->side[0].c) || net_conn_read_start(c)) {
		pair_close(p);
		return;
	}
}

static void on_accept(void *arg, struct net_conn *c)
{
	struct wan_relay *r = arg;
	struct pair *p = calloc(1, sizeof(*p));
	if (!p || net_timer_new(r->loop, on_timer, p, &p->timer)) {
		free(p);
		net_conn_close(c);
		return;
	}
	p->magic = WAN_PAIR_MAGIC;
	p->relay = r;
	for (int i = 0; i < 2; i++) {
		p->side[i].pair = p;
		p->side[i].idx = i;
		wan_queue_init(&p->side[i].q);
	}
	p->side[0].c = c;
	p->refs = 1;
	net_conn_set_events(c, &side_events, &p->side[0]);
	p->next = r->pairs;
	if (r->pairs)
		r->pairs->prev = p;
	r->pairs = p;
	atomic_fetch_add(&r->npairs, 1);
	if (net_connect(r->loop, r->to, on_connected, p, &p->pc)) {
		p->pc = NULL;
		pair_close(p);
		return;
	}
	p->refs++;
}

/* ---- the relay ---- */

int wan_relay_start(struct net_loop *l, const struct wan_relay_config *cfg, struct wan_relay **out)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	if (!cfg->listen || !cfg->to || strlen(cfg->to) >= ADDR_MAX ||
	    net_parse_addr(cfg->to, &ss, &sslen) || cfg->delay_ms > WAN_DELAY_MAX_MS ||
	    cfg->jitter_ms > WAN_DELAY_MAX_MS ||
	    (cfg->queue_max && cfg->queue_max < WAN_QUEUE_MIN_BYTES))
		return ERR_INVALID;
	struct wan_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->magic = WAN_RELAY_MAGIC;
	r->loop = l;
	memcpy(r->to, cfg->to, strlen(cfg->to) + 1);
	r->queue_max = cfg->queue_max ? cfg->queue_max : WAN_QUEUE_MAX_BYTES;
	atomic_init(&r->delay_ms, cfg->delay_ms);
	atomic_init(&r->jitter_ms, cfg->jitter_ms);
	atomic_init(&r->npairs, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	if (r->rng == 0)
		r->rng = 0x9e3779b97f4a7c15ull;
	int rc = net_listen(l, cfg->listen, false, on_accept, r, &r->listener);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int wan_relay_port(const struct wan_relay *r)
{
	CHECK_MAGIC(r, WAN_RELAY_MAGIC);
	return net_listener_port(r->listener);
}

void wan_relay_stop(struct wan_relay *r)
{
	CHECK_MAGIC(r, WAN_RELAY_MAGIC);
	if (r->stopped)
		return;
	r->stopped = true;
	net_listener_close(r->listener);
	r->listener = NULL;
	while (r->pairs)
		pair_close(r->pairs);
}

void wan_relay_free(struct wan_relay *r)
{
	if (!r)
		return;
	CHECK_MAGIC(r, WAN_RELAY_MAGIC);
	CHECK(r->stopped && atomic_load(&r->npairs) == 0);
	r->magic = 0;
	free(r);
}
