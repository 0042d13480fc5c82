/*
 * edge/hit: answers from the cache tiers and the table of in-flight
 * fetches, for edge/server.c (see edge-int.h and
 * docs/internals/edge-server.md). Loop threads only, but the flight table
 * (flights_mu) and the disk jobs' work functions (the pool).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "edge/edge-int.h"
#include "edge/fetch.h"
#include "edge/serve.h"
#include "net/work.h"

/* ---- hits ---- */

/* The viewer to answer: NULL once it left, or once it was answered stale
 * while the fetch goes on for the cache. */
struct http_request *edge__viewer(const struct ereq *q)
{
	return q->bg ? NULL : q->r;
}

/* X-Cache for an answer: CloudFront labels every 4xx / 5xx "Error", cached
 * or not (REFERENCE.md §3). */
const char *edge__xcache(int status, enum result res)
{
	if (status >= 400)
		return "Error from meridian";
	return res == RES_HIT       ? "Hit from meridian"
	       : res == RES_REFRESH ? "RefreshHit from meridian"
	                            : "Miss from meridian";
}

static void hit_written(void *arg, int status)
{
	(void)status;
	struct hit_write *w = arg;
	if (w->dh.entry)
		edge_disk_hit_release(&w->dh);
	else
		edge_cache_entry_release(w->e);
	edge__q_drop(w->q);
	free(w);
}

/* Whether a header of a stored 200 goes out with a 304 / 412 / 416 (no
 * body: no Content-* but the range). */
bool edge__bodiless_keeps(struct iov name)
{
	return !(name.len >= 8 && iov_eq_nocase(iov_make(name.base, 8), IOV_LIT("content-")));
}

/*
 * Answer from a cached entry: the viewer's conditionals and Range apply
 * (edge/serve.h). The body is e's, or for a disk hit (dh non-NULL, which
 * this then owns) sent with sendfile from its file. e's reference stays the
 * caller's.
 */
void edge__serve_entry(struct ereq *q, struct edge_cache_entry *e, struct edge_disk_hit *dh,
                       enum result res, const char *detail)
{
	struct edge_server *s = q->el->srv;
	struct http_header hs[EDGE_FETCH_NHEADERS_MAX + 2];
	size_t n = 0;
	char age[IOV_U64_DIGITS];
	if (edge_fetch_headers_unpack(e->headers, hs, EDGE_FETCH_NHEADERS_MAX, &n)) {
		if (dh)
			edge_disk_hit_release(dh);
		edge__respond_error(q, 500, "InternalError", "A cached response is damaged.");
		return;
	}
	struct edge_serve_viewer v;
	struct edge_serve_plan plan;
	uint64_t size = dh ? dh->body_len : e->body.len;
	int64_t now = clock_now();
	edge_serve_viewer_parse(q->vh, q->nvh, &v);
	edge_serve_plan(&v, &e->meta, size, now, &plan);
	int64_t length = (int64_t)plan.len;
	if (plan.status == 304 || plan.status == 412 || plan.status == 416) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (edge__bodiless_keeps(hs[i].name))
				hs[k++] = hs[i];
		n = k;
		length = plan.status == 304 ? -1 : 0;
	}
	if (plan.content_range)
		hs[n++] =
		    (struct http_header){ IOV_LIT("Content-Range"), iov_cstr(plan.range_value) };
	int64_t a = now - e->meta.stored;
	hs[n++] = (struct http_header){ IOV_LIT("Age"),
		                        iov_make(age, iov_fmt_u64(a < 0 ? 0 : (uint64_t)a, age)) };
	q->result = plan.status >= 400 ? RES_ERROR : res;
	q->detail = detail ? detail : edge__result_names[res];
	edge__count(&s->n_hits);
	const struct http_header *vout = hs;
	if (edge__viewer_response(q, plan.status, &vout, &n)) {
		if (dh)
			edge_disk_hit_release(dh);
		return;
	}
	if (edge__start_response(q, plan.status, vout, n, length, edge__xcache(plan.status, res))) {
		if (dh)
			edge_disk_hit_release(dh);
		http_response_end(q->r);
		return;
	}
	struct hit_write *w = plan.len && !q->is_head ? malloc(sizeof(*w)) : NULL;
	int rc = ERR_NOMEM;
	if (w) {
		*w = (struct hit_write){ .q = q, .e = dh ? NULL : edge_cache_entry_ref(e) };
		if (dh)
			w->dh = *dh;
		q->refs++;
		rc = dh ? http_response_sendfile(q->r, dh->fd, dh->body_off + plan.off, plan.len,
		                                 hit_written, w)
		        : http_response_write(q->r, e->body.base + plan.off, plan.len, hit_written,
		                              w);
		if (rc == 0) {
			q->bytes_out += plan.len;
		} else {
			q->refs--;
			if (!dh)
				edge_cache_entry_release(w->e);
			free(w);
		}
	}
	if (rc && dh)
		edge_disk_hit_release(dh);
	http_response_end(q->r);
}

/* Where an entry stands at now; an invalidated one is revalidated first
 * (and still answers if the origin fails within its stale-if-error
 * window). */
enum edge_fresh_state edge__entry_state(const struct edge_cache_entry *e, bool invalidated,
                                        int64_t now)
{
	struct edge_fresh_entry fe = {
		.stored_at = e->meta.stored,
		.ttl = e->meta.ttl,
		.swr = e->meta.swr,
		.sie = e->meta.sie,
	};
	enum edge_fresh_state st = edge_fresh_state(&fe, now, NULL);
	if (invalidated && st < EDGE_FRESH_STALE_IF_ERROR_ONLY)
		st = EDGE_FRESH_STALE_IF_ERROR_ONLY;
	return st;
}

/* The memory tier's entry for the key (any state), or NULL. */
struct edge_cache_entry *edge__lookup(struct ereq *q, enum edge_fresh_state *st)
{
	struct edge_cache_entry *e;
	if (edge_cache_get(q->el->srv->cache, q->key, q->keylen, &e))
		return NULL;
	*st = edge__entry_state(e, edge_cache_entry_stale(e), clock_now());
	return e;
}

/* ---- collapsing ---- */

static uint64_t key_hash(const char *k, size_t n)
{
	return edge_cache_key_hash64(k, n);
}

static struct flight **flight_slot(struct edge_server *s, const char *k, size_t n, uint64_t h)
{
	struct flight **p = &s->flights[h % FLIGHT_BUCKETS];
	while (*p && !((*p)->hash == h && (*p)->keylen == n && memcmp((*p)->key, k, n) == 0))
		p = &(*p)->next;
	return p;
}

void edge__waiter_unlink(struct ereq *q)
{
	struct flight *f = q->waiting;
	if (q->wprev)
		q->wprev->wnext = q->wnext;
	else
		f->waiters = q->wnext;
	if (q->wnext)
		q->wnext->wprev = q->wprev;
	q->wnext = q->wprev = NULL;
	q->waiting = NULL;
	f->nwaiters--;
}

void edge__waiter_timer_free(struct ereq *q)
{
	if (q->wtimer) {
		net_timer_free(q->wtimer);
		q->wtimer = NULL;
	}
}

/* On the waiter's loop: the flight it waited on is over. */
static void waiter_wake(void *arg)
{
	struct ereq *q = arg;
	struct edge_cache_entry *e = q->wentry;
	q->wentry = NULL;
	edge__waiter_timer_free(q);
	if (q->r) {
		if (e) {
			edge__count(&q->el->srv->n_collapsed);
			edge__serve_entry(q, e, NULL, RES_HIT, "Collapsed");
		} else {
			int rc =
			    edge__fetch_start(q); /* on its own: the first one was not cacheable */
			if (rc)
				edge__fetch_failed(q, rc);
		}
	}
	edge_cache_entry_release(e);
	edge__q_drop(q); /* the wait's reference */
}

static void waiter_timeout(void *arg)
{
	struct ereq *q = arg;
	struct edge_server *s = q->el->srv;
	pthread_mutex_lock(&s->flights_mu);
	bool mine = q->waiting != NULL;
	if (mine)
		edge__waiter_unlink(q);
	pthread_mutex_unlock(&s->flights_mu);
	if (!mine)
		return; /* the wake is on its way */
	edge__waiter_timer_free(q);
	if (q->r) {
		q->detail = "WaitTimeout";
		int rc = edge__fetch_start(q);
		if (rc)
			edge__fetch_failed(q, rc);
	}
	edge__q_drop(q);
}

/*
 * Join the key's flight, or start one. Returns true when q now waits (it
 * holds a reference for that), or, with join false, when a flight is
 * already running (q neither waits nor fetches: a background revalidation
 * that another request already does); false when q must fetch (as the
 * flight's leader if q->leading is set).
 */
bool edge__collapse(struct ereq *q, bool join)
{
	struct edge_server *s = q->el->srv;
	uint64_t h = key_hash(q->key, q->keylen);
	struct flight *nf = NULL;
	pthread_mutex_lock(&s->flights_mu);
	struct flight **slot = flight_slot(s, q->key, q->keylen, h);
	struct flight *f = *slot;
	if (f && !join) {
		pthread_mutex_unlock(&s->flights_mu);
		return true;
	}
	if (f && f->nwaiters < EDGE_WAITERS_MAX &&
	    net_timer_new(q->el->loop, waiter_timeout, q, &q->wtimer) == 0) {
		q->waiting = f;
		q->wprev = NULL;
		q->wnext = f->waiters;
		if (f->waiters)
			f->waiters->wprev = q;
		f->waiters = q;
		f->nwaiters++;
		q->refs++;
		pthread_mutex_unlock(&s->flights_mu);
		net_timer_start(q->wtimer, s->wait_timeout_ms, 0);
		return true;
	}
	if (!f) {
		nf = calloc(1, sizeof(*nf));
		char *k = nf ? malloc(q->keylen) : NULL;
		if (k) {
			memcpy(k, q->key, q->keylen);
			*nf = (struct flight){ .hash = h, .key = k, .keylen = q->keylen };
			*slot = nf;
			q->leading = nf;
		} else {
			free(nf);
		}
	}
	pthread_mutex_unlock(&s->flights_mu);
	return false;
}

/* The leader is done: hand e (NULL: nothing cached) to every waiter. */
void edge__flight_complete(struct ereq *q, struct edge_cache_entry *e)
{
	struct edge_server *s = q->el->srv;
	struct flight *f = q->leading;
	if (!f)
		return;
	q->leading = NULL;
	pthread_mutex_lock(&s->flights_mu);
	struct flight **slot = flight_slot(s, f->key, f->keylen, f->hash);
	CHECK(*slot == f);
	*slot = f->next;
	while (f->waiters) {
		struct ereq *w = f->waiters;
		edge__waiter_unlink(w);
		w->wentry = e ? edge_cache_entry_ref(e) : NULL;
		w->wposted = true;
		if (net_loop_post(w->el->loop, waiter_wake, w))
			fprintf(stderr, "edge: cannot wake a waiting request (out of memory)\n");
	}
	pthread_mutex_unlock(&s->flights_mu);
	free(f->key);
	free(f);
}

/* ---- the disk tier (pool jobs) ---- */

struct disk_put {
	struct edge_disk *disk;
	struct edge_cache_entry *e;
	size_t keylen;
	char key[];
};

static void disk_put_work(void *arg)
{
	struct disk_put *p = arg;
	(void)edge_disk_put(p->disk, p->key, p->keylen, p->e); /* a cache: best effort */
}

static void disk_put_done(void *arg, int status)
{
	(void)status;
	struct disk_put *p = arg;
	edge_cache_entry_release(p->e);
	free(p);
}

/* Write an entry just put in memory to the disk tier too, on the pool. */
static void disk_put(struct ereq *q, struct edge_cache_entry *e)
{
	struct edge_server *s = q->el->srv;
	if (!s->disk)
		return;
	struct disk_put *p = malloc(sizeof(*p) + q->keylen);
	if (!p)
		return;
	*p =
	    (struct disk_put){ .disk = s->disk, .e = edge_cache_entry_ref(e), .keylen = q->keylen };
	memcpy(p->key, q->key, q->keylen);
	if (net_work_submit(q->el->loop, disk_put_work, disk_put_done, p)) {
		edge_cache_entry_release(p->e);
		free(p);
	}
}

/* Put e in the memory tier (and the disk tier). 0 or the cache's error. */
int edge__cache_put(struct ereq *q, struct edge_cache_entry *e)
{
	int rc = edge_cache_put(q->el->srv->cache, q->key, q->keylen, e);
	if (rc == 0)
		disk_put(q, e);
	return rc;
}

/* A memory miss looks in the disk tier, on the pool. */
struct disk_look {
	struct ereq *q;
	struct edge_disk *disk;
	size_t object_cap;
	int rc;
	struct edge_disk_hit hit;
	struct edge_cache_entry *full; /* the hit read into memory (small enough) */
};

static void disk_look_work(void *arg)
{
	struct disk_look *l = arg;
	struct ereq *q = l->q; /* only its owned key, which nothing changes now */
	l->rc = edge_disk_get(l->disk, q->key, q->keylen, &l->hit);
	if (l->rc || l->hit.body_len + l->hit.entry->headers.len + q->keylen > l->object_cap)
		return;
	size_t len = (size_t)l->hit.body_len;
	char *body = malloc(len ? len : 1);
	size_t got = 0;
	while (body && got < len) {
		ssize_t r = pread(l->hit.fd, body + got, len - got, (off_t)(l->hit.body_off + got));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (body && got == len &&
	    edge_cache_entry_new(&l->hit.entry->meta, l->hit.entry->headers, iov_make(body, len),
	                         &l->full))
		l->full = NULL;
	free(body);
}

static void disk_look_done(void *arg, int status)
{
	struct disk_look look = *(struct disk_look *)arg, *l = &look;
	struct ereq *q = l->q;
	struct edge_server *s = q->el->srv;
	bool found = status == 0 && l->rc == 0;
	free(arg);
	if (!q->r) {
		if (found)
			edge_disk_hit_release(&l->hit);
		edge_cache_entry_release(l->full);
		edge__q_drop(q);
		return;
	}
	struct edge_cache_entry *e = NULL;
	enum edge_fresh_state st = EDGE_FRESH_EXPIRED;
	if (found && l->full) { /* promoted into memory */
		e = l->full;
		if (edge_cache_put(s->cache, q->key, q->keylen, e) == 0 && l->hit.stale)
			edge_cache_mark_stale(s->cache, q->key, q->keylen);
		st = edge__entry_state(e, l->hit.stale, clock_now());
		edge_disk_hit_release(&l->hit);
	} else if (found) {
		st = edge__entry_state(l->hit.entry, l->hit.stale, clock_now());
		if (st == EDGE_FRESH_FRESH) {
			struct edge_disk_hit h = l->hit;
			edge__serve_entry(q, h.entry, &h, RES_HIT, "Hit");
			edge__q_drop(q);
			return;
		}
		edge_disk_hit_release(&l->hit); /* too big to revalidate: fetched again */
		st = EDGE_FRESH_EXPIRED;
	}
	if (e && st == EDGE_FRESH_FRESH)
		edge__serve_entry(q, e, NULL, RES_HIT, "Hit");
	else
		edge__proceed(q, e, st);
	edge_cache_entry_release(e);
	edge__q_drop(q);
}

/* 0: the lookup runs (q holds a reference for it); else look no further. */
int edge__disk_lookup(struct ereq *q)
{
	struct edge_server *s = q->el->srv;
	struct disk_look *l = malloc(sizeof(*l));
	if (!l)
		return ERR_NOMEM;
	*l = (struct disk_look){ .q = q, .disk = s->disk, .object_cap = s->object_cap };
	if (net_work_submit(q->el->loop, disk_look_work, disk_look_done, l)) {
		free(l);
		return ERR_NOMEM;
	}
	q->refs++;
	return 0;
}
