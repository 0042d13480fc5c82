/*
 * edge/server: the edge's data plane. See server.h and
 * docs/internals/edge-server.md; hit.c has the answers from the cache tiers
 * and the flight table, edge-int.h the structs both share.
 *
 * One viewer request, one struct ereq:
 *
 *   normalise the path, match a behavior, check the method (403 if not
 *   allowed), default root object for "/"
 *   -> cached method: build the key; a fresh entry in memory -> answer it
 *      (Hit); no entry -> look in the disk tier on the pool
 *   -> an entry not fresh: within stale-while-revalidate answer it and
 *      refresh in the background; within stale-if-error with the origin
 *      known down answer it; else revalidate with its validators
 *   -> GET miss: join the key's flight if one is running (wait for its
 *      entry), else start one and lead it
 *   -> fetch: the behavior's origin, or the group's members in order
 *      (skipping ones that failed recently), signed; the answer streams to
 *      the viewer while a copy fills a buffer (or the disk tier)
 *   -> 304: refresh the entry (RefreshHit); 5xx / unreachable with a stale
 *      entry in its window: answer it; complete and cacheable: cache it;
 *      hand the entry to the waiters
 *
 * An ereq is shared by the viewer's request, the exchange, the pieces
 * queued either way and pool jobs; each holds a reference (loop-thread
 * counts: everything touching one ereq runs on its loop, pool jobs touch
 * only what nothing changes meanwhile). q->r goes NULL when the viewer's
 * request ends. The only cross-thread state is the flight table (one
 * mutex), the cache tiers (their own locks) and the atomic counters and
 * down marks.
 */
#include "edge/server.h"

#include "edge/edge-int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/keycache.h"
#include "auth/sign.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "edge/behavior.h"
#include "edge/cache.h"
#include "edge/dfill.h"
#include "edge/disk.h"
#include "edge/fetch.h"
#include "edge/fresh.h"
#include "edge/serve.h"
#include "edge/sign.h"
#include "http/admin.h"
#include "http/client.h"
#include "http/date.h"
#include "http/server.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/work.h"

const char *const edge__result_names[] = { "-", "Hit", "Miss", "Error", "RefreshHit", "Redirect" };

static _Thread_local struct edge_loop *tl_loop;

void edge__q_drop(struct ereq *q)
{
	if (--q->refs)
		return;
	CHECK_MAGIC(q, REQ_MAGIC);
	if (q->key_owned)
		free(q->key);
	edge_cache_entry_release(q->stale);
	edge_cache_entry_release(q->refreshed);
	if (q->df)
		edge_dfill_end(q->df, false);
	free(q->body);
	buf_free(&q->hdrs);
	arena_free(q->arena);
	q->magic = 0;
	free(q);
}

void edge__count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t mono_ms(void)
{
	return clock_mono_ns() / 1000000u;
}

/* ---- answers of the edge's own ---- */

int edge__start_response(struct ereq *q, int status, const struct http_header *hs, size_t n,
                         int64_t length, const char *xcache)
{
	struct arena *a = http_request_arena(q->r);
	struct http_header *out = arena_alloc(a, (n + 3) * sizeof(*out));
	if (!out)
		return ERR_NOMEM;
	if (n)
		memcpy(out, hs, n * sizeof(*out));
	out[n++] = (struct http_header){ IOV_LIT("X-Cache"), iov_cstr(xcache) };
	out[n++] = (struct http_header){ IOV_LIT("Via"), iov_cstr(q->el->srv->via) };
	q->status = status;
	q->started = true;
	return http_response_start(q->r, status, out, n, length);
}

static void respond_error_x(struct ereq *q, int status, const char *code, const char *message,
                            const char *xcache)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
	                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
	                 "<Message>%s</Message><RequestId>%s</RequestId></Error>",
	                 code, message, http_request_id(q->r));
	const struct http_header ct = { IOV_LIT("Content-Type"), IOV_LIT("application/xml") };
	q->result = RES_ERROR;
	q->fn_no_vresp = true;
	http_response_early(q->r);
	if (edge__start_response(q, status, &ct, 1, n, xcache) == 0) {
		struct iov copy = arena_dup(http_request_arena(q->r), iov_make(body, (size_t)n));
		if (copy.base && http_response_write(q->r, copy.base, copy.len, NULL, NULL) == 0)
			q->bytes_out += copy.len;
	}
	http_response_end(q->r);
}

void edge__respond_error(struct ereq *q, int status, const char *code, const char *message)
{
	respond_error_x(q, status, code, message, "Error from meridian");
}

void edge__respond_fn_error(struct ereq *q, const struct edge_fn_error *e)
{
	char xcache[64];
	snprintf(xcache, sizeof(xcache), "%s from meridian", e->name);
	edge__count(&q->el->srv->n_errors);
	respond_error_x(q, e->status, e->name,
	                e->kind == EDGE_FN_VALIDATION
	                    ? "The edge function returned an invalid response or request."
	                : e->kind == EDGE_FN_LIMIT ? "The edge function exceeded a limit."
	                                           : "The edge function failed.",
	                xcache);
	q->detail = e->name;
}

/* ---- the origin exchange ---- */

static void down_written(void *arg, int status)
{
	struct piece *pc = arg;
	struct ereq *q = pc->q;
	free(pc);
	if (status == 0 && q->r && q->x && q->upstream_paused &&
	    http_response_queued(q->r) < FWD_HIGH_WATER / 2) {
		q->upstream_paused = false;
		http_exchange_resume(q->x);
	}
	edge__q_drop(q);
}

static const struct edge_config_origin *cur_origin(const struct ereq *q)
{
	return &q->el->srv->cfg->origin[q->members[q->member]];
}

/* The next member at or after `from` to try: one not marked down, else
 * `from` itself (every one left is down: try anyway). -1 past the end. */
static int pick_member(const struct ereq *q, uint32_t from)
{
	struct edge_server *s = q->el->srv;
	uint64_t now = mono_ms();
	for (uint32_t i = from; i < q->nmembers; i++)
		if (atomic_load_explicit(&s->down_until[q->members[i]], memory_order_relaxed) <=
		    now)
			return (int)i;
	return from < q->nmembers ? (int)from : -1;
}

static void mark_down(struct ereq *q)
{
	struct edge_server *s = q->el->srv;
	atomic_store_explicit(&s->down_until[q->members[q->member]], mono_ms() + EDGE_DOWN_MS,
	                      memory_order_relaxed);
}

/* Errors of an attempt that never reached the origin's HTTP: a group
 * fails over on them (a certificate refused is one, as CloudFront drops
 * such a connection). */
static bool connect_error(int e)
{
	return e == ERR_NET_REFUSED || e == ERR_NET_TIMEOUT || e == ERR_NET_RESET ||
	       e == ERR_NET_CLOSED || e == ERR_TLS_VERIFY || e == ERR_TLS_HANDSHAKE;
}

/* Those that mark the origin down for EDGE_DOWN_MS. */
static bool down_error(int e)
{
	return e == ERR_NET_REFUSED || e == ERR_NET_TIMEOUT || e == ERR_TLS_VERIFY ||
	       e == ERR_TLS_HANDSHAKE;
}

static bool other_member(const struct ereq *q)
{
	return q->group && q->may_fail_over && pick_member(q, q->member + 1) >= 0;
}

/* Every member is marked down (the answer would only be a wait). */
static bool all_down(const struct ereq *q)
{
	struct edge_server *s = q->el->srv;
	uint64_t now = mono_ms();
	for (uint32_t i = 0; i < q->nmembers; i++)
		if (atomic_load_explicit(&s->down_until[q->members[i]], memory_order_relaxed) <=
		    now)
			return false;
	return true;
}

/* Whether the stale entry may answer when the origin fails. */
static bool stale_usable(const struct ereq *q)
{
	return q->stale && (q->stale_state == EDGE_FRESH_STALE_REVALIDATE ||
	                    q->stale_state == EDGE_FRESH_STALE_IF_ERROR_ONLY);
}

static void buffer_stop(struct ereq *q)
{
	q->buffering = false;
	free(q->body);
	q->body = NULL;
	q->body_len = q->body_cap = 0;
}

void edge__policy(const struct ereq *q, struct edge_fresh_policy *p)
{
	const struct edge_server *s = q->el->srv;
	const struct edge_config_behavior *cb = &s->cfg->behavior[q->bi];
	*p = (struct edge_fresh_policy){
		.min_ttl = (int64_t)cb->min_ttl_s,
		.default_ttl = (int64_t)cb->default_ttl_s,
		.max_ttl = (int64_t)cb->max_ttl_s,
		.error_min_ttl = s->cfg->cache.error_ttl_ms / 1000,
		.error_404_ttl = s->cfg->cache.not_found_ttl_ms / 1000,
	};
}

/* The meta of an entry made from decision d at now, with the validators of
 * the header block (ETag slice into it). */
void edge__meta_for(const struct edge_fresh_decision *d, int status, struct iov block, int64_t now,
                    struct edge_cache_meta *m)
{
	struct http_header hs[EDGE_FETCH_NHEADERS_MAX];
	size_t n = 0;
	/* Age counts from when the answer was made, so stored and ttl both
	 * include the age it arrived with. */
	*m = (struct edge_cache_meta){
		.stored = now - d->initial_age,
		.ttl = d->ttl + d->initial_age,
		.swr = d->swr,
		.sie = d->sie,
		.last_modified = -1,
		.status = status,
	};
	if (edge_fetch_headers_unpack(block, hs, EDGE_FETCH_NHEADERS_MAX, &n) == 0)
		edge_serve_validators(hs, n, &m->etag, &m->last_modified);
}

/* ---- the origin's answer ---- */

/* The entry a 304 refreshes (RFC 9111 §4.3.4): the stored body and status,
 * the stored headers updated with the 304's, freshness decided again on
 * them. NULL when that fails (the stale entry is then served as it is). */
static struct edge_cache_entry *refresh(struct ereq *q, const struct http_head *h, bool *keep)
{
	struct edge_cache_entry *old = q->stale, *e = NULL;
	struct buf merged;
	struct http_header hs[EDGE_FETCH_NHEADERS_MAX + 2];
	size_t n = 0;
	*keep = false;
	buf_init(&merged, EDGE_FETCH_HEADERS_MAX);
	int rc = edge_serve_merge_304(old->headers, h->headers, h->nheaders, &merged);
	if (rc == 0)
		rc = edge_fetch_headers_unpack(buf_iov(&merged), hs, EDGE_FETCH_NHEADERS_MAX, &n);
	/* Date and Age are not stored, but the new lifetime counts from them. */
	for (size_t i = 0; rc == 0 && i < h->nheaders && n < EDGE_FETCH_NHEADERS_MAX + 2; i++)
		if (iov_eq_nocase(h->headers[i].name, IOV_LIT("date")) ||
		    iov_eq_nocase(h->headers[i].name, IOV_LIT("age")))
			hs[n++] = h->headers[i];
	struct edge_fresh_policy p;
	struct edge_fresh_decision d;
	int64_t now = clock_now();
	edge__policy(q, &p);
	if (rc == 0)
		rc = edge_fresh_decide(&p, old->meta.status, hs, n, q->req_time, now, &d);
	if (rc == 0) {
		struct edge_cache_meta m;
		edge__meta_for(&d, old->meta.status, buf_iov(&merged), now, &m);
		if (!d.store)
			m.ttl = 0; /* served this once; the next request revalidates */
		*keep = d.store && d.ttl > 0;
		if (edge_cache_entry_new(&m, buf_iov(&merged), old->body, &e))
			e = NULL;
	}
	buf_free(&merged);
	return e;
}

/* The viewer's part of a 200 of known length (Range, conditionals, as a
 * hit would get them), decided on the origin's head. Returns the status
 * and sets the window; 0 for the whole answer. */
static int miss_plan(struct ereq *q, const struct http_head *h, struct http_header *out, size_t *n,
                     int64_t *length)
{
	struct http_request *r = edge__viewer(q);
	if (!q->cached || !q->is_get || h->status != 200 || h->framing != HTTP_BODY_LENGTH)
		return 0;
	struct edge_serve_viewer v;
	struct edge_cache_meta m = { .status = 200, .last_modified = -1 };
	struct edge_serve_plan plan;
	edge_serve_viewer_parse(q->vh, q->nvh, &v);
	if (!v.range.base && !v.if_match.base && !v.if_none_match.base &&
	    !v.if_modified_since.base && !v.if_unmodified_since.base)
		return 0;
	edge_serve_validators(h->headers, h->nheaders, &m.etag, &m.last_modified);
	edge_serve_plan(&v, &m, h->content_length, clock_now(), &plan);
	if (plan.status == 200)
		return 0;
	q->window = true;
	q->win_off = plan.off;
	q->win_len = plan.len;
	*length = plan.status == 304 ? -1 : (int64_t)plan.len;
	if (plan.status != 206) {
		size_t k = 0;
		for (size_t i = 0; i < *n; i++)
			if (edge__bodiless_keeps(out[i].name))
				out[k++] = out[i];
		*n = k;
	}
	if (plan.content_range) {
		struct iov cr = arena_dup(http_request_arena(r), iov_cstr(plan.range_value));
		if (cr.base)
			out[(*n)++] = (struct http_header){ IOV_LIT("Content-Range"), cr };
	}
	return plan.status;
}

/* Start the copy for the cache: a buffer for the memory tier, or a disk
 * fill for an object over the memory cap but within the disk tier's. */
static void fill_start(struct ereq *q, const struct http_head *h)
{
	struct edge_server *s = q->el->srv;
	struct edge_fresh_policy p;
	edge__policy(q, &p);
	int64_t now = clock_now();
	if (edge_fresh_decide(&p, h->status, h->headers, h->nheaders, q->req_time, now, &q->dec) ||
	    !q->dec.store || q->dec.ttl <= 0)
		return;
	buf_reset(&q->hdrs);
	if (edge_fetch_headers_pack(h->headers, h->nheaders, &q->hdrs))
		return;
	bool known = h->framing == HTTP_BODY_LENGTH;
	if (!known || h->content_length + q->hdrs.len + q->keylen <= s->object_cap) {
		q->buffering = true;
		q->body_len = 0;
		q->body_cap = known ? (size_t)h->content_length : 64 * 1024;
		q->body = malloc(q->body_cap ? q->body_cap : 1);
		if (!q->body)
			buffer_stop(q);
	} else if (s->disk && h->content_length <= s->disk_cap) {
		struct edge_cache_meta m;
		edge__meta_for(&q->dec, h->status, buf_iov(&q->hdrs), now, &m);
		if (edge_dfill_new(q->el->loop, s->disk, q->key, q->keylen, &m, buf_iov(&q->hdrs),
		                   &q->df))
			q->df = NULL;
	}
}

static const double origin_le[] = { EDGE_ORIGIN_LE };

static int up_head(void *arg, const struct http_head *h)
{
	struct ereq *q = arg;
	struct edge_server *s = q->el->srv;
	uint64_t us = (clock_mono_ns() - q->sent_ns) / 1000;
	size_t b = http_admin_bucket(origin_le, EDGE_ORIGIN_BUCKETS, (double)us / 1e6);
	atomic_fetch_add_explicit(&s->origin_hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->origin_sum_us, us, memory_order_relaxed);
	if (q->group && q->may_fail_over &&
	    edge_config_group_fails_over(q->group, (unsigned)h->status) && other_member(q)) {
		q->drop = q->retry = true;
		return 0;
	}
	q->headed = true;
	q->up_status = h->status;
	if (q->revalidating && h->status == 304) {
		bool keep;
		q->refreshed = refresh(q, h, &keep);
		if (q->refreshed && keep)
			edge__cache_put(q, q->refreshed);
		q->not_modified = q->drop = true;
		return 0;
	}
	if (stale_usable(q) && edge_fresh_error_allows_stale(h->status)) {
		q->use_stale = q->drop = true;
		return 0;
	}
	/* origin-response: its head (headers, status) is what is cached and
	 * sent; a failure or a new body drops the origin's body. */
	struct http_head fh;
	int rid = edge_fn_set_id(s->fns, q->bi, EDGE_FN_ORIGIN_RESPONSE);
	if (rid >= 0) {
		if (edge__fn_origin_response(q, rid, h, &fh)) {
			q->drop = true;
			return 0;
		}
		h = &fh;
		q->up_status = h->status;
	}
	/* What the cache would do with it (GET answers only: they carry the
	 * body an entry needs). */
	q->buffering = false;
	if (q->cached && q->is_get && h->framing != HTTP_BODY_NONE)
		fill_start(q, h);
	struct http_request *r = edge__viewer(q);
	if (!r)
		return q->buffering || q->df ? 0 : ERR_NET_CLOSED;
	struct http_header *out =
	    arena_alloc(http_request_arena(r), (h->nheaders + 2) * sizeof(*out));
	if (!out)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t k = 0; k < h->nheaders; k++)
		if (edge_fetch_keep_header(h->headers[k].name))
			out[n++] = h->headers[k];
	int64_t length = h->framing == HTTP_BODY_LENGTH ? (int64_t)h->content_length
	                 : h->framing == HTTP_BODY_NONE ? 0
	                                                : -1;
	if (q->is_head) {
		length = -1;
		for (size_t k = 0; k < h->nheaders; k++) {
			unsigned long long v;
			if (iov_eq_nocase(h->headers[k].name, IOV_LIT("content-length")) &&
			    iov_to_u64(h->headers[k].value, INT64_MAX, &v) == 0)
				length = (int64_t)v;
		}
	}
	int status = miss_plan(q, h, out, &n, &length);
	if (status == 0)
		status = h->status;
	const struct http_header *vout = out;
	if (edge__viewer_response(q, status, &vout, &n)) {
		q->fn_failed = q->drop = true; /* the viewer got the function's error */
		buffer_stop(q);
		return 0;
	}
	q->result = status >= 400 ? RES_ERROR : RES_MISS;
	q->detail = "Miss";
	return edge__start_response(q, status, vout, n, length, edge__xcache(status, RES_MISS));
}

/* Keep n more body bytes for the cache; past the object cap (or out of
 * memory) the copy is dropped and the answer only streams through. */
static void buffer_add(struct ereq *q, const char *p, size_t n)
{
	if (q->body_len + n + q->hdrs.len + q->keylen > q->el->srv->object_cap) {
		buffer_stop(q);
		return;
	}
	if (q->body_len + n > q->body_cap) {
		size_t cap = q->body_cap ? q->body_cap * 2 : 64 * 1024;
		while (cap < q->body_len + n)
			cap *= 2;
		char *nb = realloc(q->body, cap);
		if (!nb) {
			buffer_stop(q);
			return;
		}
		q->body = nb;
		q->body_cap = cap;
	}
	memcpy(q->body + q->body_len, p, n);
	q->body_len += n;
}

static int up_body(void *arg, const char *p, size_t n)
{
	struct ereq *q = arg;
	if (q->drop)
		return 0;
	if (q->buffering)
		buffer_add(q, p, n);
	if (q->df && !edge_dfill_add(q->df, p, n)) {
		edge_dfill_end(q->df, false);
		q->df = NULL;
	}
	struct http_request *r = edge__viewer(q);
	if (!r)
		return q->buffering || q->df ? 0 : ERR_NET_CLOSED;
	if (q->window) { /* only the viewer's range of the body */
		uint64_t from = q->up_off, to = q->up_off + n;
		q->up_off = to;
		uint64_t lo = from > q->win_off ? from : q->win_off;
		uint64_t hi = to < q->win_off + q->win_len ? to : q->win_off + q->win_len;
		if (lo >= hi)
			return 0;
		p += lo - from;
		n = (size_t)(hi - lo);
	}
	struct piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	pc->q = q;
	memcpy(pc->data, p, n);
	int rc = http_response_write(r, pc->data, n, down_written, pc);
	if (rc) {
		free(pc);
		return rc;
	}
	q->refs++;
	q->bytes_out += n;
	if (http_response_queued(r) > FWD_HIGH_WATER) {
		q->upstream_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static int attempt(struct ereq *q);

/* Put the buffered answer in the cache; the new entry (a reference the
 * caller releases) or NULL. */
static struct edge_cache_entry *store(struct ereq *q)
{
	if (!q->buffering)
		return NULL;
	int64_t now = clock_now();
	struct edge_cache_meta m;
	edge__meta_for(&q->dec, q->up_status, buf_iov(&q->hdrs), now, &m);
	struct edge_cache_entry *e;
	if (edge_cache_entry_new(&m, buf_iov(&q->hdrs), iov_make(q->body, q->body_len), &e))
		return NULL;
	if (edge__cache_put(q, e)) {
		edge_cache_entry_release(e);
		return NULL;
	}
	return e;
}

/* The viewer gets an error of the edge's own (nothing was sent yet). */
void edge__fetch_failed(struct ereq *q, int error)
{
	struct edge_server *s = q->el->srv;
	edge__flight_complete(q, NULL);
	if (!edge__viewer(q))
		return;
	if (q->fn_failed) {
		if (!q->started)
			edge__respond_fn_error(q, q->fn_err);
		return;
	}
	edge__count(&s->n_errors);
	if (error == ERR_NET_TIMEOUT)
		edge__respond_error(q, 504, "GatewayTimeout", "The origin did not answer in time.");
	else if (error == ERR_TLS_VERIFY || error == ERR_TLS_HANDSHAKE)
		edge__respond_error(
		    q, 502, "BadGateway",
		    "The edge could not make a trusted TLS connection to the origin.");
	else
		edge__respond_error(q, 502, "BadGateway", "The origin could not be reached.");
}

/* The origin failed (or is known down): answer the stale entry. */
static void serve_stale(struct ereq *q, const char *detail)
{
	edge__flight_complete(q, q->stale);
	if (edge__viewer(q))
		edge__serve_entry(q, q->stale, NULL, RES_HIT, detail);
}

/* The fetch is over without a retry: answer, cache, wake the waiters. */
static void up_finish(struct ereq *q, int error)
{
	if (q->fn_gen) {
		edge__fn_origin_generated(q, &q->gen);
	} else if (q->fn_failed) {
		edge__fetch_failed(q, error);
	} else if (q->not_modified) {
		struct edge_cache_entry *e = q->refreshed ? q->refreshed : q->stale;
		edge__flight_complete(q, e);
		if (edge__viewer(q))
			edge__serve_entry(q, e, NULL, RES_REFRESH, "RefreshHit");
	} else if (q->use_stale || (error && !q->started && stale_usable(q))) {
		if (down_error(error))
			mark_down(q);
		serve_stale(q, "StaleIfError");
	} else if (error == 0) {
		struct edge_cache_entry *e = store(q);
		edge__flight_complete(q, e);
		edge_cache_entry_release(e);
		if (q->df) {
			edge_dfill_end(q->df, true);
			q->df = NULL;
		}
		if (edge__viewer(q))
			http_response_end(q->r);
	} else if (!q->started) {
		if (down_error(error))
			mark_down(q);
		edge__fetch_failed(q, error);
	} else {
		edge__flight_complete(q, NULL);
		if (edge__viewer(q))
			http_response_abort(q->r); /* cut short: the viewer must see it so */
	}
	if (q->df) { /* not completed: nothing goes to disk */
		edge_dfill_end(q->df, false);
		q->df = NULL;
	}
}

static void up_done(void *arg, int error)
{
	struct ereq *q = arg;
	struct edge_server *s = q->el->srv;
	q->x = NULL;
	bool retry = q->retry;
	if (!retry && error && !q->started && !q->not_modified && q->group && q->may_fail_over &&
	    connect_error(error) && other_member(q)) {
		if (down_error(error))
			mark_down(q);
		if (error == ERR_TLS_VERIFY || error == ERR_TLS_HANDSHAKE)
			fprintf(stderr, "edge: origin %s (%s): %s; failing over\n",
			        cur_origin(q)->id, cur_origin(q)->domain_name, err_text(error));
		retry = true;
	}
	q->drop = q->retry = false;
	if (retry && (q->r || q->leading)) {
		int next = pick_member(q, q->member + 1);
		CHECK(next >= 0);
		q->member = (uint32_t)next;
		edge__count(&s->n_failovers);
		int rc = attempt(q);
		if (rc == 0) {
			edge__q_drop(q);
			return;
		}
		error = rc;
	}
	up_finish(q, error);
	buffer_stop(q);
	edge__q_drop(q);
}

static const struct http_exchange_ops up_ops = {
	.on_head = up_head,
	.on_body = up_body,
	.on_done = up_done,
};

/* Send the request to members[member]. 0 (the exchange holds a reference,
 * or an origin-request function answered) or an error. */
static int attempt(struct ereq *q)
{
	struct edge_server *s = q->el->srv;
	struct edge_loop *el = q->el;
	const struct edge_config_origin *o = cur_origin(q);
	const struct edge_config_behavior *cb = &s->cfg->behavior[q->bi];
	struct arena *a = q->arena;
	/* The origin protocol policy; match-viewer follows the viewer's
	 * (remembered: the viewer may have left). */
	bool https = o->protocol_policy == EDGE_CONFIG_PROTO_HTTPS_ONLY ||
	             (o->protocol_policy == EDGE_CONFIG_PROTO_MATCH_VIEWER && q->viewer_tls);
	struct edge_origin_req oreq = {
		.oi = q->members[q->member],
		.addr = https ? s->origin_tls_addr[q->members[q->member]]
		              : s->origin_addr[q->members[q->member]],
		.https = https,
		.tls_name = https ? o->domain_name : NULL,
		.domain = iov_cstr(o->domain_name),
		.opath = iov_cstr(o->origin_path),
		.path = q->path,
		.query = q->query,
		.ncustom = o->nheaders,
	};
	/* What the edge sends, as an origin-request function sees it: Host,
	 * the forwarded viewer headers, Via, X-Forwarded-For, the stored
	 * validators, Content-Length. Custom headers (the event's
	 * origin.customHeaders) and X-Amz-Cf-Id (set after the function, as
	 * CloudFront does) come after. */
	oreq.cap = 1 + q->nfwd + o->nheaders + 6 + AUTH_SIGN_MAX_ADDED + EDGE_FN_HEADERS_MAX;
	oreq.hs = arena_alloc(a, oreq.cap * sizeof(*oreq.hs));
	oreq.custom = edge__origin_custom(a, o);
	if (!oreq.hs || !oreq.custom)
		return ERR_NOMEM;
	size_t n = 0;
	struct http_header *hs = oreq.hs;
	hs[n++] = (struct http_header){ IOV_LIT("Host"), oreq.domain };
	for (size_t i = 0; i < q->nfwd; i++)
		hs[n++] = q->fwd[i];
	hs[n++] = (struct http_header){ IOV_LIT("Via"), q->via };
	hs[n++] = (struct http_header){ IOV_LIT("X-Forwarded-For"), q->xff };
	/* Revalidation: the stored validators (signed like the rest). */
	if (q->revalidating && q->stale->meta.etag.len)
		hs[n++] = (struct http_header){ IOV_LIT("If-None-Match"), q->stale->meta.etag };
	char ims[HTTP_DATE_LEN + 1];
	if (q->revalidating && q->stale->meta.last_modified >= 0 &&
	    http_date_format(q->stale->meta.last_modified, ims) == 0)
		hs[n++] = (struct http_header){ IOV_LIT("If-Modified-Since"),
			                        arena_dup(a, iov_cstr(ims)) };
	if (q->body_length > 0)
		hs[n++] =
		    (struct http_header){ IOV_LIT("Content-Length"),
			                  arena_printf(a, "%lld", (long long)q->body_length) };
	oreq.n = n;
	q->ev_origin.kind = EDGE_FN_ORIGIN_NONE;
	int fid = edge_fn_set_id(s->fns, q->bi, EDGE_FN_ORIGIN_REQUEST);
	if (fid >= 0) {
		int rc = edge__fn_origin_request(q, fid, &oreq);
		if (rc == 1)
			return 0;
		if (rc)
			return rc;
		hs = oreq.hs;
		n = oreq.n;
	}
	if (edge_fn_set_id(s->fns, q->bi, EDGE_FN_ORIGIN_RESPONSE) >= 0) {
		/* what origin-response will show as the request */
		struct http_header *c = arena_alloc(a, (n ? n : 1) * sizeof(*c));
		if (!c)
			return ERR_NOMEM;
		memcpy(c, hs, n * sizeof(*c));
		q->sent = c;
		q->nsent = n;
	}
	/* Content-Length is signed but framed by the client, so it moves to
	 * the end of the signed part, where it is left off the sent list. */
	struct http_header clen = { IOV_NULL, IOV_NULL };
	for (size_t i = 0; i < n; i++)
		if (iov_eq_nocase(hs[i].name, IOV_LIT("content-length"))) {
			clen = hs[i];
			memmove(&hs[i], &hs[i + 1], (n - i - 1) * sizeof(*hs));
			n--;
			break;
		}
	for (size_t i = 0; i < oreq.ncustom && n < oreq.cap; i++)
		hs[n++] = oreq.custom[i];
	if (n + 2 + AUTH_SIGN_MAX_ADDED > oreq.cap)
		return ERR_TOO_BIG;
	hs[n++] = (struct http_header){ IOV_LIT(EDGE_REQUEST_ID_HEADER), iov_cstr(q->req_id) };
	size_t nsign = n;
	if (clen.name.base)
		hs[nsign++] = clen;
	struct iov path = arena_printf(a, IOV_FMT IOV_FMT, IOV_ARG(oreq.opath), IOV_ARG(oreq.path));
	struct iov target = oreq.query.len ? arena_printf(a, IOV_FMT "?" IOV_FMT, IOV_ARG(path),
	                                                  IOV_ARG(oreq.query))
	                                   : path;
	if (!path.base || !target.base)
		return ERR_NOMEM;
	struct edge_signer signer = {
		.mode = q->b->sign,
		.region = iov_cstr(cb->signing_region),
		.creds = s->creds,
		.keys = s->keys,
		.failover_origin = o->failover,
	};
	struct edge_sign_request sr = {
		.method = q->method,
		.path = path,
		.query = oreq.query,
		.headers = hs,
		.nheaders = nsign,
		.has_body = q->body_length != 0,
	};
	struct auth_signature sig;
	bool did = false;
	auth_signature_init(&sig);
	int rc = edge_sign(&signer, &sr, clock_now(), &sig, &did);
	if (rc == 0 && did) {
		for (size_t i = 0; i < sig.nadded && rc == 0; i++) {
			struct iov name = arena_dup(a, sig.added[i].name);
			struct iov value = arena_dup(a, sig.added[i].value);
			if (!name.base || !value.base)
				rc = ERR_NOMEM;
			hs[n++] = (struct http_header){ name, value };
		}
	}
	auth_signature_free(&sig);
	if (rc)
		return rc;
	/* The Host the function left (it may have changed the origin). */
	struct iov host = oreq.domain;
	for (size_t i = 0; i < n; i++)
		if (iov_eq_nocase(hs[i].name, IOV_LIT("host"))) {
			host = hs[i].value;
			memmove(&hs[i], &hs[i + 1], (n - i - 1) * sizeof(*hs));
			n--;
			break;
		}
	struct http_exchange_request req = {
		.origin = oreq.addr,
		.method = q->method,
		.target = target,
		.host = host,
		.headers = hs,
		.nheaders = n,
		.body_length = q->body_length,
		.retryable = q->may_fail_over,
		.first_byte_timeout_ms = oreq.read_timeout_ms,
		.read_timeout_ms = oreq.read_timeout_ms,
		.idle_timeout_ms = oreq.keepalive_timeout_ms,
		.tls_name = oreq.tls_name,
	};
	q->up_https = oreq.https;
	q->started = false;
	q->sent_ns = clock_mono_ns();
	rc = http_client_send(el->client[oreq.oi], &req, &up_ops, q, &q->x);
	if (rc)
		return rc;
	q->attempts++;
	q->refs++;
	edge__count(&s->n_fetches);
	return 0;
}

/* Begin fetching for q (the leader, a lone request, or a waiter on its own). */
int edge__fetch_start(struct ereq *q)
{
	if (!q->bg) { /* a background refresh keeps the viewer's Hit */
		q->result = RES_MISS;
		edge__count(&q->el->srv->n_misses);
	}
	q->req_time = clock_now();
	int m = pick_member(q, 0);
	if (m < 0)
		return ERR_INVALID;
	q->member = (uint32_t)m;
	if (q->member > 0)
		edge__count(&q->el->srv->n_failovers);
	return attempt(q);
}

/* ---- the viewer's request ---- */

/* Copy what the origin requests need out of the viewer's request. */
static int prepare(struct ereq *q, const struct http_head *h, struct iov path, struct iov query)
{
	struct edge_server *s = q->el->srv;
	const struct edge_config_behavior *cb = &s->cfg->behavior[q->bi];
	q->arena = arena_new(REQ_ARENA_MAX);
	if (!q->arena)
		return ERR_NOMEM;
	struct arena *a = q->arena;
	q->method = arena_dup(a, h->method);
	q->path = arena_dup(a, path);
	q->query = IOV_NULL;
	if (!q->cached && query.len) {
		q->query = arena_dup(a, query);
	} else if (q->cached && query.len) {
		struct buf qb;
		buf_init(&qb, EDGE_QUERY_MAX * 3);
		int rc = edge_fetch_query(q->b, query, &qb);
		if (rc == 0 && qb.len)
			q->query = arena_dup(a, buf_iov(&qb));
		buf_free(&qb);
		if (rc)
			return rc;
	}
	q->fwd = arena_alloc(a, (q->nvh ? q->nvh : 1) * sizeof(*q->fwd));
	struct iov ip = net_peer_ip(iov_cstr(http_request_peer(q->r)));
	struct iov rid = arena_printf(a, "%s", http_request_id(q->r));
	struct iov cip = arena_printf(a, IOV_FMT, IOV_ARG(ip));
	if (!q->method.base || !q->path.base || !q->fwd || !rid.base || !cip.base)
		return ERR_NOMEM;
	q->req_id = rid.base;
	q->client_ip = cip.base;
	struct iov prior_xff = IOV_NULL;
	struct iov prior_via = IOV_NULL;
	for (size_t i = 0; i < q->nvh; i++) {
		struct iov name = q->vh[i].name;
		if (iov_eq_nocase(name, IOV_LIT("x-forwarded-for")))
			prior_xff = q->vh[i].value;
		if (iov_eq_nocase(name, IOV_LIT("via")))
			prior_via = q->vh[i].value;
		bool keyed = false;
		for (size_t k = 0; k < cb->nkey_headers && !keyed; k++)
			keyed = iov_eq_nocase(name, iov_cstr(cb->key_header[k]));
		/* X-Forwarded-Proto is on CloudFront's disallowed list: a
		 * viewer's is never passed on. */
		if (!edge_fetch_forward_header(name, q->cached, keyed) ||
		    iov_eq_nocase(name, IOV_LIT("x-forwarded-proto")))
			continue;
		struct http_header c = { arena_dup(a, name), arena_dup(a, q->vh[i].value) };
		if (!c.name.base || !c.value.base)
			return ERR_NOMEM;
		q->fwd[q->nfwd++] = c;
	}
	if (prior_via.len)
		q->via = arena_printf(a, IOV_FMT ", %s", IOV_ARG(iov_trim(prior_via)), s->via);
	else
		q->via = iov_cstr(s->via);
	if (!q->via.base)
		return ERR_NOMEM;
	struct buf xb;
	buf_init(&xb, EDGE_FETCH_XFF_MAX + 64);
	int rc = edge_fetch_xff(prior_xff, ip, &xb);
	if (rc && rc != ERR_TOO_BIG) {
		buf_free(&xb);
		return rc;
	}
	q->xff = arena_dup(a, buf_iov(&xb));
	buf_free(&xb);
	if (!q->xff.base)
		return ERR_NOMEM;
	q->body_length = h->framing == HTTP_BODY_LENGTH    ? (int64_t)h->content_length
	                 : h->framing == HTTP_BODY_CHUNKED ? -1
	                                                   : 0;
	/* the target's members */
	if (cb->target_kind == EDGE_CONFIG_TARGET_GROUP) {
		q->group = &s->cfg->group[cb->target];
		q->nmembers = q->group->nmembers;
		memcpy(q->members, q->group->member, q->nmembers * sizeof(q->members[0]));
	} else {
		q->nmembers = 1;
		q->members[0] = cb->target;
	}
	return 0;
}

/*
 * Past the cache lookup: e is the key's entry that is not fresh (a
 * reference the caller keeps), or NULL. Stale within stale-while-
 * revalidate: answered at once, refreshed in the background (one fetch per
 * key). Otherwise a fetch (collapsed for a GET), conditional when e has
 * validators; within stale-if-error e answers if the origin fails, at once
 * when every member is known to be down.
 */
void edge__proceed(struct ereq *q, struct edge_cache_entry *e, enum edge_fresh_state st)
{
	const struct http_head *h = http_request_head(q->r);
	int rc = prepare(q, h, q->vpath, q->vquery);
	if (rc) {
		if (rc == ERR_NOMEM)
			edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
		else
			edge__respond_error(q, 414, "InvalidURI", "The URI is too long.");
		return;
	}
	bool bodiless = q->body_length == 0;
	bool collapsible = q->cached && q->is_get && bodiless;
	if (e && collapsible) {
		q->stale = edge_cache_entry_ref(e);
		q->stale_state = st;
		q->revalidating =
		    e->meta.status == 200 && (e->meta.etag.len || e->meta.last_modified >= 0);
		if (st == EDGE_FRESH_STALE_REVALIDATE) {
			edge__serve_entry(q, e, NULL, RES_HIT, "StaleWhileRevalidate");
			q->bg = true;
			if (edge__collapse(q, false))
				return; /* another request refreshes it */
			rc = edge__fetch_start(q);
			if (rc)
				edge__fetch_failed(q, rc);
			return;
		}
		if (stale_usable(q) && all_down(q)) {
			edge__serve_entry(q, e, NULL, RES_HIT, "StaleIfError");
			return;
		}
	}
	if (collapsible && edge__collapse(q, true))
		return;
	rc = edge__fetch_start(q);
	if (rc)
		edge__fetch_failed(q, rc);
}

static size_t behavior_index(const struct edge_server *s, const struct edge_behavior *b)
{
	size_t n = edge_behavior_table_count(s->table);
	for (size_t i = 0; i < n; i++)
		if (edge_behavior_table_get(s->table, i) == b)
			return i;
	return n - 1;
}

/* The Host a redirect names: the viewer's without its port (the
 * distribution's domain when it sent none or one that cannot go into a
 * URL), then the HTTPS listener's port unless it is 443. */
static struct iov redirect_host(struct ereq *q, const struct http_head *h)
{
	struct edge_server *s = q->el->srv;
	struct iov host = IOV_NULL;
	for (size_t i = 0; i < h->nheaders; i++)
		if (iov_eq_nocase(h->headers[i].name, IOV_LIT("host")))
			host = iov_trim(h->headers[i].value);
	if (host.len && host.base[0] == '[') {
		const char *end = memchr(host.base, ']', host.len);
		host = end ? iov_sub(host, 0, (size_t)(end - host.base) + 1) : IOV_NULL;
	} else if (host.len) {
		const char *colon = memchr(host.base, ':', host.len);
		if (colon)
			host.len = (size_t)(colon - host.base);
	}
	for (size_t i = 0; i < host.len; i++) {
		char c = host.base[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '[' || c == ']' ||
		          c == ':' || c == '_';
		if (!ok)
			host = IOV_NULL;
	}
	if (!host.len)
		host = iov_cstr(s->cfg->domain);
	int port = http_server_tls_port(s->http);
	if (port > 0 && port != 443)
		return arena_printf(http_request_arena(q->r), IOV_FMT ":%d", IOV_ARG(host), port);
	return host;
}

/* The behavior's viewer protocol policy for a viewer on plain HTTP:
 * https-only answers 403, redirect-to-https 301 to the same URL over
 * HTTPS (CloudFront's answers). 1 when the viewer was answered. */
static int viewer_policy(struct ereq *q, const struct http_head *h)
{
	struct edge_server *s = q->el->srv;
	enum edge_config_viewer_policy p = s->cfg->behavior[q->bi].viewer_policy;
	if (p == EDGE_CONFIG_VIEWER_HTTPS_ONLY) {
		edge__respond_error(q, 403, "Forbidden",
		                    "This distribution only accepts HTTPS requests.");
		return 1;
	}
	if (p != EDGE_CONFIG_VIEWER_REDIRECT_TO_HTTPS)
		return 0;
	struct arena *a = http_request_arena(q->r);
	struct iov host = redirect_host(q, h);
	struct iov loc = host.base ? arena_printf(a, "https://" IOV_FMT IOV_FMT, IOV_ARG(host),
	                                          IOV_ARG(h->target))
	                           : IOV_NULL;
	if (!loc.base) {
		edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
		return 1;
	}
	const struct http_header hs[] = { { IOV_LIT("Location"), loc } };
	q->result = RES_REDIRECT;
	q->detail = "Redirect";
	q->fn_no_vresp = true;
	http_response_early(q->r);
	if (edge__start_response(q, 301, hs, 1, 0, "Redirect from meridian") == 0)
		http_response_end(q->r);
	else
		http_response_abort(q->r);
	return 1;
}

static void on_request(void *ctx, struct http_request *r)
{
	struct edge_server *s = ctx;
	struct edge_loop *el = tl_loop;
	const struct http_head *h = http_request_head(r);
	struct ereq *q = calloc(1, sizeof(*q));
	if (!q) {
		http_respond(r, 503, "text/plain", IOV_LIT("out of memory\n"));
		return;
	}
	*q = (struct ereq){
		.magic = REQ_MAGIC, .el = el, .r = r, .refs = 1, .start_ns = clock_mono_ns()
	};
	buf_init(&q->hdrs, EDGE_FETCH_HEADERS_MAX);
	http_request_set_user(r, q);
	edge__count(&s->n_requests);
	struct iov raw, query = iov_split(h->target, '?', &raw);
	if (raw.len == 0 || raw.base[0] != '/' || raw.len > EDGE_PATH_MAX) {
		edge__respond_error(q, raw.len > EDGE_PATH_MAX ? 414 : 400, "InvalidURI",
		                    "Couldn't parse the specified URI.");
		return;
	}
	struct arena *a = http_request_arena(r);
	size_t cap = raw.len * 3 + EDGE_ROOT_OBJECT_MAX + 2, plen;
	char *np = arena_alloc(a, cap);
	if (!np || edge_path_normalize(raw, np, cap, &plen)) {
		edge__respond_error(q, 414, "InvalidURI", "The URI is too long.");
		return;
	}
	struct iov path = iov_make(np, plen);
	q->b = edge_behavior_match(s->table, path);
	q->bi = behavior_index(s, q->b);
	q->viewer_tls = http_request_tls(r);
	if (!q->viewer_tls && viewer_policy(q, h))
		return;
	q->method_bit = edge_behavior_method(h->method);
	if (!q->method_bit || !(q->b->allowed_methods & q->method_bit)) {
		edge__respond_error(q, 403, "MethodNotAllowed",
		                    "This distribution is not configured to allow the HTTP request "
		                    "method that was used for this request.");
		return;
	}
	q->vh = h->headers;
	q->nvh = h->nheaders;
	int vid = edge_fn_set_id(s->fns, q->bi, EDGE_FN_VIEWER_REQUEST);
	if (vid >= 0 && edge__fn_viewer_request(q, vid, &path, &query))
		return;
	/* The default root object, for "/" (after viewer-request, which may
	 * have made "/" of something else, or something else of "/"). */
	if (path.len == 1 && q->b->root_object[0]) {
		struct iov rp = arena_printf(a, "/%s", q->b->root_object);
		if (!rp.base) {
			edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
			return;
		}
		path = rp;
	}
	q->is_get = q->method_bit == EDGE_METHOD_GET;
	q->is_head = q->method_bit == EDGE_METHOD_HEAD;
	q->may_fail_over = q->method_bit & EDGE_METHODS_GHO;
	q->cached = (q->b->cached_methods & q->method_bit) != 0;
	q->vpath = path;
	q->vquery = query;
	if (q->cached) {
		/* Built in the loop's buffer, kept in the request arena: a hit
		 * needs no copy that outlives the request. */
		char *key = q->el->keybuf;
		size_t klen = 0;
		struct edge_key_input in = {
			.host = iov_cstr(s->cfg->domain),
			.method = h->method,
			.path = path,
			.query = query,
			.headers = q->vh,
			.nheaders = q->nvh,
		};
		int rc = edge_cache_key(q->b, &in, key, EDGE_KEY_MAX, &klen);
		if (rc == 0) {
			key = arena_alloc(a, klen);
			if (key)
				memcpy(key, q->el->keybuf, klen);
			else
				rc = ERR_NOMEM;
		}
		if (rc) {
			if (rc == ERR_EDGE_KEY_HEADERS_TOO_LARGE)
				edge__respond_error(q, 431, "RequestHeaderFieldsTooLarge",
				                    "A header in the cache key is too large.");
			else if (rc == ERR_NOMEM)
				edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
			else
				edge__respond_error(q, 414, "InvalidURI", "The URI is too long.");
			return;
		}
		q->key = key;
		q->keylen = klen;
		enum edge_fresh_state st = EDGE_FRESH_EXPIRED;
		struct edge_cache_entry *e = edge__lookup(q, &st);
		if (e && st == EDGE_FRESH_FRESH) {
			edge__serve_entry(q, e, NULL, RES_HIT, "Hit");
			edge_cache_entry_release(e);
			return;
		}
		/* Not fresh: the fetch may outlive the viewer's request (and
		 * arena), and so may a disk lookup. */
		q->key = malloc(klen);
		if (!q->key) {
			edge_cache_entry_release(e);
			edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
			return;
		}
		memcpy(q->key, key, klen);
		q->key_owned = true;
		if (!e && s->disk && edge__disk_lookup(q) == 0)
			return;
		edge__proceed(q, e, st);
		edge_cache_entry_release(e);
		return;
	}
	edge__proceed(q, NULL, EDGE_FRESH_EXPIRED);
}

static void up_written(void *arg, int status)
{
	struct piece *pc = arg;
	struct ereq *q = pc->q;
	free(pc);
	if (status == 0 && q->r && q->x && q->viewer_paused &&
	    http_exchange_queued(q->x) < FWD_HIGH_WATER / 2) {
		q->viewer_paused = false;
		http_request_resume(q->r);
	}
	edge__q_drop(q);
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct ereq *q = http_request_user(r);
	if (!q || !q->x || q->body_length == 0)
		return 0;
	struct piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	pc->q = q;
	memcpy(pc->data, p, n);
	int rc = http_exchange_write(q->x, pc->data, n, up_written, pc);
	if (rc) {
		free(pc);
		return rc == ERR_NET_CLOSED ? 0 : rc;
	}
	q->refs++;
	if (http_exchange_queued(q->x) > FWD_HIGH_WATER) {
		q->viewer_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	(void)ctx;
	struct ereq *q = http_request_user(r);
	if (!q)
		return;
	q->body_end = true;
	if (q->x && q->body_length < 0)
		http_exchange_end(q->x);
}

static void log_line(struct ereq *q, int error)
{
	struct edge_server *s = q->el->srv;
	if (!s->access_log || !q->r)
		return;
	const struct http_head *h = http_request_head(q->r);
	struct iov stem, query = iov_split(h->target, '?', &stem);
	uint64_t us = (clock_mono_ns() - q->start_ns) / 1000;
	time_t t = time(NULL);
	struct tm tm;
	char when[32];
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d\t%H:%M:%S", &tm);
	const char *origin = q->attempts ? s->cfg->origin[q->members[q->member]].id : "-";
	fprintf(stderr,
	        "edge\t%s\tx-edge-location=%s\tc-ip=" IOV_FMT "\tcs-method=" IOV_FMT
	        "\tcs-uri-stem=" IOV_FMT "\tcs-uri-query=" IOV_FMT "\tsc-status=%d\tsc-bytes=%llu"
	        "\tx-edge-result-type=%s\tx-edge-detailed-result-type=%s\tx-edge-request-id=%s"
	        "\ttime-taken=%.6f\tx-origin=%s\tx-origin-attempts=%u%s%s\n",
	        when, s->location, IOV_ARG(net_peer_ip(iov_cstr(http_request_peer(q->r)))),
	        IOV_ARG(h->method), IOV_ARG(stem), IOV_ARG(query.len ? query : IOV_LIT("-")),
	        q->status, (unsigned long long)q->bytes_out, edge__result_names[q->result],
	        q->detail ? q->detail : edge__result_names[q->result], http_request_id(q->r),
	        (double)us / 1e6, origin, q->attempts, error ? "\terror=" : "",
	        error ? err_name(error) : "");
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	struct edge_server *s = ctx;
	struct ereq *q = http_request_user(r);
	if (!q)
		return;
	log_line(q, error);
	http_request_set_user(r, NULL);
	q->r = NULL;
	if (q->wtimer) { /* it waits, or its wake is posted */
		pthread_mutex_lock(&s->flights_mu);
		bool linked = q->waiting != NULL;
		if (linked)
			edge__waiter_unlink(q);
		pthread_mutex_unlock(&s->flights_mu);
		if (linked) {
			edge__waiter_timer_free(q);
			edge__q_drop(q); /* the wait's reference; no wake will come */
		}
	}
	/* The fetch goes on without the viewer while it fills a cache tier,
	 * or, before the origin answered, when others wait on it or it
	 * refreshes a stale entry. */
	bool keep = q->buffering || q->df || (!q->headed && (q->leading || q->bg));
	if (q->x && !keep) {
		struct http_exchange *x = q->x;
		q->x = NULL;
		http_exchange_cancel(x); /* its on_done drops its reference */
	} else if (q->x && q->upstream_paused) {
		/* Filling the cache for the waiters: no viewer to pace it now. */
		q->upstream_paused = false;
		http_exchange_resume(q->x);
	}
	edge__q_drop(q);
}

static const struct http_handler edge_handler = {
	.name = "edge",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

/* ---- workers ---- */

static int worker_start(void *ctx, struct net_loop *l, unsigned index)
{
	struct edge_server *s = ctx;
	if (index >= s->nloops)
		return ERR_INVALID;
	struct edge_loop *el = &s->loops[index];
	el->srv = s;
	el->index = index;
	el->loop = l;
	el->client = calloc(s->cfg->norigins, sizeof(el->client[0]));
	if (!el->client)
		return ERR_NOMEM;
	for (uint32_t i = 0; i < s->cfg->norigins; i++) {
		const struct edge_config_origin *o = &s->cfg->origin[i];
		struct http_client_config cc = {
			.connect_timeout_ms = o->connect_timeout_ms,
			.first_byte_timeout_ms = o->read_timeout_ms,
			.read_timeout_ms = o->read_timeout_ms,
			.idle_timeout_ms = o->keepalive_timeout_ms,
			.max_per_origin = EDGE_MAX_ORIGIN,
			.tls = s->tls_client,
		};
		int rc = http_client_new(l, &cc, &el->client[i]);
		if (rc)
			return rc;
	}
	if (edge_fn_set_any(s->fns)) {
		int rc = edge_fn_worker_new(s->fns, &el->fn);
		if (rc)
			return rc;
	}
	tl_loop = el;
	return 0;
}

static void worker_stop(void *ctx, struct net_loop *l, unsigned index)
{
	struct edge_server *s = ctx;
	(void)l;
	struct edge_loop *el = &s->loops[index];
	for (uint32_t i = 0; el->client && i < s->cfg->norigins; i++) {
		struct http_client *c = el->client[i];
		el->client[i] = NULL;
		http_client_free(c);
	}
	/* The Lua state is this thread's: closed here. */
	edge_fn_worker_free(el->fn);
	el->fn = NULL;
	tl_loop = NULL;
}

/* ---- start, stop ---- */

/* The next blank-separated word of *p (advanced past it), or an empty slice. */
static struct iov next_word(const char **p)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	const char *w = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
		s++;
	*p = s;
	return iov_make(w, (size_t)(s - w));
}

/* Read "KEY SECRET [TOKEN]" from the first line that is not blank or a
 * comment. */
static int read_creds(struct edge_server *s, const char *path, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errcap, "cannot read credentials file %s", path);
		return ERR_IO;
	}
	char line[CREDS_LINE_MAX];
	int rc = ERR_INVALID;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		struct iov k = next_word(&p);
		if (k.len == 0 || k.base[0] == '#')
			continue;
		struct iov sec = next_word(&p);
		struct iov tok = next_word(&p);
		if (sec.len == 0)
			break;
		memcpy(s->access_key, k.base, k.len);
		memcpy(s->secret_key, sec.base, sec.len);
		memcpy(s->token, tok.base, tok.len);
		rc = 0;
		break;
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (rc)
		snprintf(err, errcap, "%s: want one line \"ACCESS_KEY_ID SECRET\"", path);
	return rc;
}

static void server_free(struct edge_server *s)
{
	for (uint32_t i = 0; i < s->cfg->norigins; i++) {
		if (s->origin_addr)
			free(s->origin_addr[i]);
		if (s->origin_tls_addr)
			free(s->origin_tls_addr[i]);
	}
	free(s->origin_addr);
	free(s->origin_tls_addr);
	free((void *)s->down_until);
	if (s->loops)
		for (unsigned i = 0; i < s->nloops; i++)
			free(s->loops[i].client);
	free(s->loops);
	edge_cache_free(s->cache);
	edge_disk_close(s->disk);
	edge_behavior_table_free(s->table);
	edge_fn_set_free(s->fns);
	auth_keycache_free(s->keys);
	explicit_bzero(s->secret_key, sizeof(s->secret_key));
	s->magic = 0;
	free(s);
}

int edge_server_start(const struct edge_server_opts *o, struct edge_server **out, char *err,
                      size_t errcap)
{
	const struct edge_config *cfg = o->cfg;
	struct edge_server *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->magic = EDGE_MAGIC;
	s->cfg = cfg;
	s->access_log = o->access_log;
	s->wait_timeout_ms = o->wait_timeout_ms ? o->wait_timeout_ms : EDGE_WAIT_TIMEOUT;
	if (o->location && o->location[0])
		snprintf(s->location, sizeof(s->location), "%s", o->location);
	else if (gethostname(s->location, sizeof(s->location) - 1))
		memcpy(s->location, "meridian", 9);
	snprintf(s->via, sizeof(s->via), "1.1 %s (meridian)", s->location);
	int rc = 0;
	if (cfg->signing.source == EDGE_CONFIG_CREDS_FILE) {
		rc = read_creds(s, cfg->signing.credentials_path, err, errcap);
	} else if (cfg->signing.source == EDGE_CONFIG_CREDS_ENV) {
		snprintf(s->access_key, sizeof(s->access_key), "%s", cfg->signing.access_key);
		snprintf(s->secret_key, sizeof(s->secret_key), "%s", cfg->signing.secret_key);
		snprintf(s->token, sizeof(s->token), "%s",
		         cfg->signing.session_token ? cfg->signing.session_token : "");
	}
	s->creds = (struct auth_creds){ iov_cstr(s->access_key), iov_cstr(s->secret_key),
		                        iov_cstr(s->token) };
	if (rc) {
		server_free(s);
		return rc;
	}
	unsigned n = o->workers;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (n > EDGE_LOOPS_MAX)
		n = EDGE_LOOPS_MAX;
	s->nloops = n;
	s->loops = calloc(n, sizeof(s->loops[0]));
	s->origin_addr = calloc(cfg->norigins, sizeof(s->origin_addr[0]));
	s->origin_tls_addr = calloc(cfg->norigins, sizeof(s->origin_tls_addr[0]));
	s->down_until = calloc(cfg->norigins, sizeof(s->down_until[0]));
	s->keys = auth_keycache_new(16);
	s->tls_client = o->tls_client;
	if (!s->loops || !s->origin_addr || !s->origin_tls_addr || !s->down_until || !s->keys)
		rc = ERR_NOMEM;
	/* HTTP goes to the address (ip:port), or its ip / the domain name at
	 * http_port; HTTPS to the ip / domain name at https_port. */
	for (uint32_t i = 0; rc == 0 && i < cfg->norigins; i++) {
		const struct edge_config_origin *og = &cfg->origin[i];
		char addr[300], tls_addr[300];
		if (og->address_port)
			snprintf(addr, sizeof(addr), "%s", og->address);
		else
			snprintf(addr, sizeof(addr), "%s:%u", og->connect_host, og->http_port);
		snprintf(tls_addr, sizeof(tls_addr), "%s:%u", og->connect_host, og->https_port);
		s->origin_addr[i] = strdup(addr);
		s->origin_tls_addr[i] = strdup(tls_addr);
		if (!s->origin_addr[i] || !s->origin_tls_addr[i])
			rc = ERR_NOMEM;
		if (rc == 0 && og->protocol_policy != EDGE_CONFIG_PROTO_HTTP_ONLY &&
		    !s->tls_client) {
			snprintf(err, errcap, "origin %s: protocol_policy %s without a TLS client",
			         og->id,
			         og->protocol_policy == EDGE_CONFIG_PROTO_HTTPS_ONLY
			             ? "https-only"
			             : "match-viewer");
			rc = ERR_INVALID;
		}
	}
	if (rc == 0)
		rc = edge_config_behavior_table(cfg, &s->table);
	s->fn_creds = (struct edge_fn_sign_creds){ s->creds, s->keys };
	if (rc == 0 && (rc = edge_fn_set_new(cfg, &s->fn_creds, &s->fns, err, errcap)) != 0 &&
	    rc != ERR_NOMEM) {
		server_free(s);
		return ERR_CONFIG_SCHEMA;
	}
	/* The object cap is a shard's budget / 8, as the cache's default. */
	size_t budget = (size_t)cfg->cache.memory_bytes;
	unsigned shards = EDGE_SHARDS;
	while (shards > 1 && budget / shards < EDGE_CACHE_SHARD_MIN)
		shards /= 2;
	s->object_cap = budget / shards / EDGE_CACHE_OBJECT_DIV;
	struct edge_cache_config cc = {
		.budget_bytes = budget,
		.shards = shards,
		.max_object_bytes = s->object_cap,
	};
	/* Headers and bookkeeping count too: buffer a little below the cap. */
	if (rc == 0)
		rc = edge_cache_new(&cc, &s->cache);
	if (rc == 0 && cfg->cache.disk_path) {
		struct edge_disk_config dc = {
			.dir = cfg->cache.disk_path,
			.budget_bytes = cfg->cache.disk_bytes,
		};
		s->disk_cap = cfg->cache.disk_bytes / EDGE_DISK_OBJECT_DIV;
		rc = edge_disk_open(&dc, &s->disk);
		if (rc)
			snprintf(err, errcap, "cannot open the disk cache %s: %s", dc.dir,
			         err_text(rc));
	}
	if (rc) {
		if (!err[0])
			snprintf(err, errcap, "cannot set up: %s", err_text(rc));
		server_free(s);
		return rc;
	}
	s->object_cap -= s->object_cap / 16;
	pthread_mutex_init(&s->flights_mu, NULL);
	struct http_server_config hc = {
		.listen = o->listen,
		.tls_listen = o->tls_listen,
		.tls = o->tls_server,
		.workers = n,
		.handler = &edge_handler,
		.handler_ctx = s,
		.request_id_header = EDGE_REQUEST_ID_HEADER,
		.worker_start = worker_start,
		.worker_stop = worker_stop,
	};
	rc = http_server_start(&hc, &s->http);
	if (rc) {
		snprintf(err, errcap, "cannot listen on %s%s%s: %s", o->listen ? o->listen : "",
		         o->listen && o->tls_listen ? " and " : "",
		         o->tls_listen ? o->tls_listen : "", err_text(rc));
		pthread_mutex_destroy(&s->flights_mu);
		server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void edge_server_stop(struct edge_server *s)
{
	if (!s)
		return;
	CHECK_MAGIC(s, EDGE_MAGIC);
	http_server_stop(s->http);
	/* Loops freed: no request is left, so no flight either. */
	for (size_t i = 0; i < FLIGHT_BUCKETS; i++)
		CHECK(s->flights[i] == NULL);
	pthread_mutex_destroy(&s->flights_mu);
	server_free(s);
}

static uint64_t load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void edge_server_stats(struct edge_server *s, struct edge_server_stats *out)
{
	*out = (struct edge_server_stats){
		.requests = load(&s->n_requests),
		.hits = load(&s->n_hits),
		.misses = load(&s->n_misses),
		.errors = load(&s->n_errors),
		.origin_fetches = load(&s->n_fetches),
		.collapsed = load(&s->n_collapsed),
		.failovers = load(&s->n_failovers),
	};
}

/* ---- invalidation and metrics (edge/admin.c) ---- */

/* One invalidation path, normalised as cache keys are: exact, or a prefix
 * when it ended with '*'. */
struct inv_pattern {
	struct iov path;
	bool prefix;
};

struct inv_match {
	struct inv_pattern *p;
	size_t n;
};

static bool inv_matches(void *arg, const char *key, size_t keylen)
{
	const struct inv_match *m = arg;
	struct iov path;
	if (edge_cache_key_path(key, keylen, &path))
		return false;
	for (size_t i = 0; i < m->n; i++) {
		const struct inv_pattern *p = &m->p[i];
		if (p->prefix ? iov_starts(path, p->path) : iov_eq(path, p->path))
			return true;
	}
	return false;
}

int edge_server_invalidate(struct edge_server *s, const struct iov *paths, size_t n, size_t *marked)
{
	CHECK_MAGIC(s, EDGE_MAGIC);
	struct inv_match m = { calloc(n ? n : 1, sizeof(*m.p)), 0 };
	char *mem = NULL;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += paths[i].len * 3 + 1; /* edge_path_normalize's bound */
	mem = malloc(total ? total : 1);
	if (!m.p || !mem) {
		free(m.p);
		free(mem);
		return ERR_NOMEM;
	}
	char *at = mem;
	for (size_t i = 0; i < n; i++) {
		struct iov raw = paths[i];
		bool prefix = raw.len && raw.base[raw.len - 1] == '*';
		if (prefix)
			raw.len--;
		size_t len;
		if (edge_path_normalize(raw, at, paths[i].len * 3 + 1, &len))
			continue; /* cannot be in any key */
		m.p[m.n++] = (struct inv_pattern){ iov_make(at, len), prefix };
		at += len;
	}
	size_t count = 0, on_disk = 0;
	int rc = edge_cache_mark_stale_if(s->cache, inv_matches, &m, &count);
	/* The disk tier too (its marks are written into its files, so a purge
	 * outlives a restart); this blocks, on the admin's thread. */
	if (rc == 0 && s->disk)
		rc = edge_disk_mark_stale_if(s->disk, inv_matches, &m, &on_disk);
	count += on_disk;
	free(m.p);
	free(mem);
	if (marked)
		*marked = count;
	return rc;
}

int edge_server_metrics(struct edge_server *s, struct buf *out)
{
	CHECK_MAGIC(s, EDGE_MAGIC);
	struct edge_server_stats st;
	struct edge_cache_stats cs;
	edge_server_stats(s, &st);
	edge_cache_stats(s->cache, &cs);
	uint64_t looked = st.hits + st.misses;
	int rc = buf_printf(
	    out,
	    "# HELP meridian_edge_requests_total Viewer requests by result.\n"
	    "# TYPE meridian_edge_requests_total counter\n"
	    "meridian_edge_requests_total{result=\"hit\"} %llu\n"
	    "meridian_edge_requests_total{result=\"miss\"} %llu\n"
	    "meridian_edge_requests_total{result=\"error\"} %llu\n"
	    "# HELP meridian_edge_cache_hit_ratio Hits over hits and misses since start.\n"
	    "# TYPE meridian_edge_cache_hit_ratio gauge\n"
	    "meridian_edge_cache_hit_ratio %.6f\n"
	    "# HELP meridian_edge_origin_fetches_total Requests sent to origins.\n"
	    "# TYPE meridian_edge_origin_fetches_total counter\n"
	    "meridian_edge_origin_fetches_total %llu\n"
	    "# HELP meridian_edge_collapsed_total Requests answered by another request's fetch.\n"
	    "# TYPE meridian_edge_collapsed_total counter\n"
	    "meridian_edge_collapsed_total %llu\n"
	    "# HELP meridian_edge_failovers_total Origin group moves to the next member.\n"
	    "# TYPE meridian_edge_failovers_total counter\n"
	    "meridian_edge_failovers_total %llu\n"
	    "# HELP meridian_edge_cache_bytes Bytes charged to a cache tier, and its budget.\n"
	    "# TYPE meridian_edge_cache_bytes gauge\n"
	    "meridian_edge_cache_bytes{tier=\"memory\"} %zu\n"
	    "meridian_edge_cache_budget_bytes{tier=\"memory\"} %zu\n"
	    "# HELP meridian_edge_cache_entries Entries held by a cache tier.\n"
	    "# TYPE meridian_edge_cache_entries gauge\n"
	    "meridian_edge_cache_entries{tier=\"memory\"} %zu\n"
	    "# HELP meridian_edge_cache_evictions_total Entries evicted from a cache tier.\n"
	    "# TYPE meridian_edge_cache_evictions_total counter\n"
	    "meridian_edge_cache_evictions_total{tier=\"memory\"} %llu\n",
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.errors, looked ? (double)st.hits / (double)looked : 0.0,
	    (unsigned long long)st.origin_fetches, (unsigned long long)st.collapsed,
	    (unsigned long long)st.failovers, cs.used_bytes, cs.budget_bytes, cs.entries,
	    (unsigned long long)cs.evictions);
	if (rc == 0)
		rc = buf_printf(
		    out, "# HELP meridian_edge_origin_seconds Origin request sent to response "
		         "head.\n# TYPE meridian_edge_origin_seconds histogram\n");
	uint64_t origin[EDGE_ORIGIN_BUCKETS + 1];
	for (size_t b = 0; b <= EDGE_ORIGIN_BUCKETS; b++)
		origin[b] = load(&s->origin_hist[b]);
	if (rc == 0)
		rc = http_admin_histogram(out, "meridian_edge_origin_seconds", "", origin_le,
		                          EDGE_ORIGIN_BUCKETS, origin,
		                          (double)load(&s->origin_sum_us) / 1e6);
	if (rc || !edge_fn_set_any(s->fns))
		return rc;
	static const char *const kinds[] = { NULL, "validation", "execution", "limit" };
	struct edge_fn_counts fc;
	edge_fn_set_counts(s->fns, &fc);
	rc = buf_printf(out, "# HELP meridian_edge_function_calls_total Edge function calls.\n"
	                     "# TYPE meridian_edge_function_calls_total counter\n");
	for (int ev = 0; rc == 0 && ev < EDGE_CONFIG_FN_EVENTS; ev++)
		rc = buf_printf(out, "meridian_edge_function_calls_total{event=\"%s\"} %llu\n",
		                edge_config_fn_events[ev], (unsigned long long)fc.calls[ev]);
	if (rc == 0)
		rc = buf_printf(out,
		                "# HELP meridian_edge_function_errors_total Edge function calls "
		                "that failed, by kind.\n"
		                "# TYPE meridian_edge_function_errors_total counter\n");
	for (int ev = 0; rc == 0 && ev < EDGE_CONFIG_FN_EVENTS; ev++)
		for (int k = 1; rc == 0 && k < 4; k++)
			rc = buf_printf(
			    out,
			    "meridian_edge_function_errors_total{event=\"%s\",kind=\"%s\"} %llu\n",
			    edge_config_fn_events[ev], kinds[k],
			    (unsigned long long)fc.failed[ev][k]);
	if (rc == 0)
		rc = buf_printf(out, "# HELP meridian_edge_function_duration_seconds Edge function "
		                     "calls: event built, function run, result checked.\n"
		                     "# TYPE meridian_edge_function_duration_seconds histogram\n");
	for (int ev = 0; rc == 0 && ev < EDGE_CONFIG_FN_EVENTS; ev++) {
		char label[64];
		snprintf(label, sizeof(label), "event=\"%s\"", edge_config_fn_events[ev]);
		rc = http_admin_histogram(out, "meridian_edge_function_duration_seconds", label,
		                          edge_fn_duration_le, EDGE_FN_DURATION_BUCKETS,
		                          fc.duration[ev], (double)fc.duration_ns[ev] / 1e9);
	}
	return rc;
}

int edge_server_reload_functions(struct edge_server *s, char *err, size_t errcap)
{
	CHECK_MAGIC(s, EDGE_MAGIC);
	if (!edge_fn_set_any(s->fns))
		return 0;
	int rc = edge_fn_set_reload(s->fns, err, errcap);
	return rc ? rc : 1;
}

struct http_server *edge_server_http(const struct edge_server *s)
{
	return s->http;
}
