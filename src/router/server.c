/*
 * router/server: the forwarding data plane. See server.h and
 * docs/internals/router.md.
 *
 * One request, one struct fwd, through one or more attempts:
 *
 *   pick a region (pinned by the upload id, else router_select_pick)
 *   -> send the head upstream, stream the viewer's body into it
 *   -> upstream head: 5xx or 404-to-retry with another candidate left: read
 *      and drop that answer, then try the next region; else forward it
 *   -> upstream body streamed to the viewer, paced both ways
 *   -> upstream done: end the response, or (error before anything was
 *      forwarded, request bodiless and idempotent) try the next region
 *
 * A struct fwd is shared by the viewer's request and whatever upstream
 * callbacks and queued pieces still point at it; each holds a reference and
 * the last one frees it. fwd->r goes NULL when the viewer's request ends.
 */
#include "router/server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/hlc.h"
#include "http/admin.h"
#include "http/client.h"
#include "http/server.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/tls.h"
#include "router/select.h"

#define ROUTER_MAGIC      0x524f5554u /* "ROUT" */
#define FWD_HIGH_WATER    (256 * 1024)
#define ROUTER_LOOPS_MAX  256
#define ROUTER_MAX_ORIGIN 512 /* pooled connections per store and loop */
/* An answer to a request that may fail over, of a known length up to this,
 * is kept whole before its first byte goes to the viewer, so a region that
 * dies mid-answer is retried elsewhere instead of cutting the answer short. */
#define ROUTER_KEEP_MAX (64 * 1024)
/* The last TLS failure logged per region and loop ("the peer's TLS
 * certificate was not accepted: certificate has expired"). */
#define TLS_WHY_MAX 256

/* Request latency histogram bounds, seconds (Prometheus "le"). */
static const double hist_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	                          0.25,  0.5,    1,     2.5,  5,     10 };
#define HIST_N (sizeof(hist_le) / sizeof(hist_le[0]))

/* Why a request went where it went (the access log's reason=). */
#define FWD_REASONS(X)                                               \
	X(LATENCY)  /* lowest score among active UP regions */       \
	X(SUSPECT)  /* no active region UP: an active SUSPECT one */ \
	X(PASSIVE)  /* no active region usable: passive fallback */  \
	X(FAILOVER) /* the previous region failed */                 \
	X(LAG)      /* the previous region answered 404 */           \
	X(UPLOAD)   /* the region that created the multipart upload */

enum fwd_reason {
#define FWD_REASON_ENUM(name) FWD_##name,
	FWD_REASONS(FWD_REASON_ENUM)
#undef FWD_REASON_ENUM
};

static const char *const fwd_reason_names[] = {
#define FWD_REASON_NAME(name) #name,
	FWD_REASONS(FWD_REASON_NAME)
#undef FWD_REASON_NAME
};

/* Counters of one region on one loop: written by that loop only (relaxed
 * atomics so the metrics reader sees whole values). */
struct region_stats {
	_Atomic uint64_t requests[4]; /* by class: 2xx 3xx 4xx 5xx (1xx counts as 2xx) */
	_Atomic uint64_t upstream_errors;
	_Atomic uint64_t failovers;
	_Atomic uint64_t hist[HIST_N + 1]; /* last: +Inf */
	_Atomic uint64_t sum_us;
	/* What this loop believes, for router_server_region_view. */
	_Atomic int health;
	_Atomic uint64_t latency_ns; /* 0: not measured */
	_Atomic uint64_t updated_ns;
};

struct probe {
	struct router_loop *rl;
	uint32_t region;
	bool inflight;
	int status;
	uint64_t sent_ns;
};

struct router_loop {
	struct router_server *srv;
	unsigned index;
	struct net_loop *loop;
	struct http_client *client;       /* forwarded requests */
	struct http_client *probe_client; /* health probes, on their own connections */
	struct net_timer *probe_timer;
	struct router_select sel;
	uint64_t routes_version;
	struct probe probe[ROUTER_REGIONS_MAX];
	struct region_stats stats[ROUTER_REGIONS_MAX];
	/* What was last logged of a TLS failure toward each region ("" none
	 * since its last success), so a reason is logged once, not per request. */
	char tls_why[ROUTER_REGIONS_MAX][TLS_WHY_MAX];
	/* The region this loop would pick for a new request (index + 1; 0:
	 * none usable) and when it was worked out, for the metrics reader:
	 * refreshed on each health event and each probe tick. */
	_Atomic uint32_t chosen;
	_Atomic uint64_t chosen_ns;
};

struct router_server {
	uint32_t magic;
	const struct router_config *cfg;
	bool access_log;
	struct net_tls_client *upstream; /* borrowed */
	struct http_server *http;
	unsigned nloops;
	struct router_loop *loops;
	struct router_select_cfg sel_cfg;
	pthread_mutex_t routes_mu;
	struct router_routes routes; /* under routes_mu */
	_Atomic uint64_t routes_version;
};

struct fwd {
	struct router_loop *rl;
	struct http_request *r; /* NULL once the viewer's request is over */
	struct http_exchange *x;
	unsigned refs;
	uint32_t tried; /* bit per region */
	uint32_t region;
	enum fwd_reason reason;
	unsigned tries;
	int status; /* of the forwarded answer */
	uint64_t start_ns, attempt_ns;
	bool may_fail_over;      /* bodiless and idempotent */
	bool may_lag;            /* GET or HEAD */
	bool head_request;       /* HEAD: the answer has a length but no body */
	bool pinned;             /* uploadId names the region */
	bool started;            /* the response head went to the viewer */
	struct down_piece *keep; /* the answer, kept until whole (ROUTER_KEEP_MAX) */
	size_t keep_len, keep_cap;
	bool drop;  /* this attempt's answer is read and dropped */
	bool retry; /* ... and the next region is tried when it ends */
	bool saw_404;
	bool upstream_paused, viewer_paused;
	bool body_end; /* the viewer's body is complete */
	/* Request body pieces kept while no byte has reached an upstream, so a
	 * refused connection can be retried elsewhere with the same body. */
	bool holding;
	bool wrote; /* some request bytes were written to an upstream */
	struct up_piece *held, **held_tail;
};

struct up_piece {
	struct fwd *f;
	struct up_piece *next;
	size_t len;
	bool listed; /* on f->held */
	bool done;   /* its write finished (either way) */
	char data[];
};

struct down_piece {
	struct fwd *f;
	char data[];
};

static _Thread_local struct router_loop *tl_loop;

/* ---- small helpers ---- */

static void fwd_drop(struct fwd *f)
{
	if (--f->refs == 0) {
		free(f->keep);
		free(f);
	}
}

static void piece_free(struct up_piece *pc)
{
	struct fwd *f = pc->f;
	free(pc);
	fwd_drop(f);
}

/* Stop holding the request body: free the pieces whose writes are over;
 * those still in flight are freed when they finish. */
static void held_release(struct fwd *f)
{
	struct up_piece *pc = f->held;
	f->holding = false;
	f->held = NULL;
	f->held_tail = &f->held;
	while (pc) {
		struct up_piece *next = pc->next;
		pc->listed = false;
		pc->next = NULL;
		if (pc->done)
			piece_free(pc);
		pc = next;
	}
}

static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* The region whose id the upload id carries, or -1. */
static int upload_region(const struct router_server *s, struct iov query)
{
	struct iov rest = query, kv;
	while (rest.base) {
		rest = iov_split(rest, '&', &kv);
		if (kv.len > 9 && memcmp(kv.base, "uploadId=", 9) == 0) {
			uint64_t ts;
			uint16_t id;
			/* The store's upload ids: a version id (clock and region)
			 * then 16 hex digits of randomness. */
			struct iov v = iov_sub(kv, 9, kv.len - 9);
			if (v.len != HLC_VERSION_ID_LEN + 16 ||
			    hlc_version_parse(iov_sub(v, 0, HLC_VERSION_ID_LEN), &ts, &id))
				return -1;
			for (uint32_t i = 0; i < s->cfg->nregions; i++)
				if (s->cfg->region[i].id == id)
					return (int)i;
			return -1;
		}
	}
	return -1;
}

/* Publish loop rl's view of region i for the control API. */
static void publish(struct router_loop *rl, uint32_t i, uint64_t now)
{
	const struct router_region_state *st = &rl->sel.region[i];
	struct region_stats *s = &rl->stats[i];
	atomic_store_explicit(&s->health, (int)st->health.state, memory_order_relaxed);
	uint64_t lat = st->score.sampled ? (uint64_t)st->score.ewma_ns : 0;
	if (st->score.sampled && lat == 0)
		lat = 1; /* 0 means never measured */
	atomic_store_explicit(&s->latency_ns, lat, memory_order_relaxed);
	atomic_store_explicit(&s->updated_ns, now, memory_order_relaxed);
}

/* Publish the region router_select_pick would give a new request now. */
static void publish_choice(struct router_loop *rl, uint64_t now)
{
	struct router_choice c;
	uint32_t v = router_select_pick(&rl->sel, 0, &c) == 0 ? c.region + 1 : 0;
	atomic_store_explicit(&rl->chosen, v, memory_order_relaxed);
	atomic_store_explicit(&rl->chosen_ns, now ? now : 1, memory_order_relaxed);
}

static void note(struct router_loop *rl, uint32_t i, enum router_health_event ev, uint64_t now)
{
	struct router_health_change ch;
	if (router_select_note(&rl->sel, i, ev, now, &ch))
		fprintf(stderr, "router: region %s %s -> %s (%s, loop %u)\n",
		        rl->srv->cfg->region[i].name, router_health_state_name(ch.from),
		        router_health_state_name(ch.to), router_health_event_name(ev), rl->index);
	publish(rl, i, now);
	publish_choice(rl, now);
}

static void sync_routes(struct router_loop *rl)
{
	struct router_server *s = rl->srv;
	uint64_t v = atomic_load_explicit(&s->routes_version, memory_order_acquire);
	if (v == rl->routes_version)
		return;
	pthread_mutex_lock(&s->routes_mu);
	router_select_set_routes(&rl->sel, &s->routes);
	rl->routes_version = s->routes.version;
	pthread_mutex_unlock(&s->routes_mu);
}

static enum router_health_event error_event(int error)
{
	return error == ERR_NET_TIMEOUT ? ROUTER_HEALTH_EV_TIMEOUT : ROUTER_HEALTH_EV_CONNECT_ERROR;
}

static bool tls_error(int error)
{
	return error == ERR_TLS_VERIFY || error == ERR_TLS_HANDSHAKE;
}

/* An exchange toward region i ended with `error` (0: it got an answer):
 * log a TLS failure's reason when it differs from the last one logged for
 * the region on this loop, forget it on success. Call from on_done, where
 * net_tls_last_verify_error still names this connection's failure. */
static void tls_outcome(struct router_loop *rl, uint32_t i, int error)
{
	char *last = rl->tls_why[i];
	if (!tls_error(error)) {
		if (error == 0)
			last[0] = '\0';
		return;
	}
	char why[TLS_WHY_MAX];
	const char *detail = net_tls_last_verify_error();
	snprintf(why, sizeof(why), "%s%s%s", err_text(error), detail[0] ? ": " : "", detail);
	if (strcmp(why, last) == 0)
		return;
	memcpy(last, why, sizeof(why));
	const struct router_config_region *r = &rl->srv->cfg->region[i];
	fprintf(stderr, "router: region %s: TLS to %s as %s failed: %s (loop %u)\n", r->name,
	        r->endpoint, r->tls_name, why, rl->index);
}

/* ---- answers of the router's own ---- */

static void respond_error(struct fwd *f, int status, const char *code, const char *message)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
	                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
	                 "<Message>%s</Message><RequestId>%s</RequestId></Error>",
	                 code, message, http_request_id(f->r));
	f->status = status;
	http_response_early(f->r);
	if (http_respond(f->r, status, "application/xml", iov_make(body, (size_t)n)))
		http_response_end(f->r);
}

/* The request is answered: count it for the serving region's metrics and
 * write its access-log line, with one reading of the clock. */
static void finished(struct fwd *f, int error)
{
	struct router_loop *rl = f->rl;
	uint64_t us = (clock_mono_ns() - f->start_ns) / 1000;
	if (f->tries) {
		struct region_stats *s = &rl->stats[f->region];
		int cls = f->status / 100 - 2;
		stat_add(&s->requests[cls < 0 ? 0 : cls > 3 ? 3 : cls], 1);
		stat_add(&s->hist[http_admin_bucket(hist_le, HIST_N, (double)us / 1e6)], 1);
		stat_add(&s->sum_us, us);
	}
	if (!rl->srv->access_log || !f->r)
		return;
	const struct http_head *h = http_request_head(f->r);
	const char *region = f->tries ? rl->srv->cfg->region[f->region].name : "-";
	fprintf(stderr,
	        "router %s " IOV_FMT " " IOV_FMT " %d region=%s reason=%s tries=%u %lluus%s%s\n",
	        http_request_id(f->r), IOV_ARG(h->method), IOV_ARG(h->target), f->status, region,
	        f->tries ? fwd_reason_names[f->reason] : "-", f->tries, (unsigned long long)us,
	        error ? " err=" : "", error ? err_name(error) : "");
}

/* ---- upstream: the response ---- */

static void down_written(void *arg, int status)
{
	struct down_piece *pc = arg;
	struct fwd *f = pc->f;
	free(pc);
	if (status == 0 && f->r && f->x && f->upstream_paused &&
	    http_response_queued(f->r) < FWD_HIGH_WATER / 2) {
		f->upstream_paused = false;
		http_exchange_resume(f->x);
	}
	fwd_drop(f);
}

static bool other_candidate(const struct fwd *f)
{
	struct router_choice c;
	return router_select_pick(&f->rl->sel, f->tried, &c) == 0;
}

static int up_head(void *arg, const struct http_head *h)
{
	struct fwd *f = arg;
	struct router_loop *rl = f->rl;
	uint64_t now = clock_mono_ns();
	if (!f->r)
		return ERR_NET_CLOSED;
	uint32_t i = f->region;
	if (h->status >= 500) {
		stat_add(&rl->stats[i].upstream_errors, 1);
		note(rl, i, ROUTER_HEALTH_EV_HTTP_5XX, now);
	} else {
		tls_outcome(rl, i, 0);
		note(rl, i, ROUTER_HEALTH_EV_REQUEST_OK, now);
		if (f->may_fail_over) /* bodiless: time to the head is a round trip */
			router_select_sample(&rl->sel, i, now, now - f->attempt_ns);
	}
	bool retry_5xx = h->status >= 500 && f->may_fail_over && !f->pinned;
	bool retry_404 = h->status == 404 && f->may_lag && !f->pinned && rl->srv->cfg->retry_404;
	if ((retry_5xx || retry_404) && other_candidate(f)) {
		f->drop = f->retry = true;
		f->saw_404 |= h->status == 404;
		if (retry_5xx)
			stat_add(&rl->stats[i].failovers, 1);
		return 0;
	}
	struct http_header *out =
	    arena_alloc(http_request_arena(f->r), (h->nheaders + 1) * sizeof(*out));
	if (!out)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t k = 0; k < h->nheaders; k++) {
		struct iov name = h->headers[k].name;
		if (!http_header_hop_by_hop(name) && !iov_eq_nocase(name, IOV_LIT("date")) &&
		    !iov_eq_nocase(name, IOV_LIT("server")) &&
		    !iov_eq_nocase(name, IOV_LIT("x-request-id")))
			out[n++] = h->headers[k];
	}
	out[n++] = (struct http_header){ IOV_LIT(ROUTER_REGION_HEADER),
		                         iov_cstr(rl->srv->cfg->region[i].name) };
	int64_t length = h->framing == HTTP_BODY_LENGTH ? (int64_t)h->content_length
	                 : h->framing == HTTP_BODY_NONE ? 0
	                                                : -1;
	if (h->framing == HTTP_BODY_NONE && (f->head_request || h->status == 304)) {
		/* No body, but the length of the one a GET would get: pass it on
		 * (none given: none sent). */
		length = -1;
		for (size_t k = 0; k < h->nheaders; k++) {
			unsigned long long v;
			if (iov_eq_nocase(h->headers[k].name, IOV_LIT("content-length")) &&
			    iov_to_u64(h->headers[k].value, INT64_MAX, &v) == 0)
				length = (int64_t)v;
		}
	}
	f->status = h->status;
	int rc = http_response_start(f->r, h->status, out, n, length);
	if (rc)
		return rc;
	/* Nothing goes out yet (http_response_start only renders the head). A
	 * short answer that could still go elsewhere is kept until whole. */
	bool none = f->head_request || h->framing == HTTP_BODY_NONE;
	bool small = h->framing == HTTP_BODY_LENGTH && h->content_length <= ROUTER_KEEP_MAX;
	if (f->may_fail_over && !f->pinned && (none || small)) {
		size_t cap = none ? 0 : (size_t)h->content_length;
		f->keep = malloc(sizeof(*f->keep) + cap);
		if (!f->keep)
			return ERR_NOMEM;
		f->keep->f = f;
		f->keep_len = 0;
		f->keep_cap = cap;
		return 0;
	}
	f->started = true;
	return 0;
}

static int up_body(void *arg, const char *p, size_t n)
{
	struct fwd *f = arg;
	if (f->drop)
		return 0;
	if (!f->r)
		return ERR_NET_CLOSED;
	if (f->keep) {
		if (n > f->keep_cap - f->keep_len)
			return ERR_HTTP_BAD_RESPONSE; /* the parser holds it to the length */
		memcpy(f->keep->data + f->keep_len, p, n);
		f->keep_len += n;
		return 0;
	}
	struct down_piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	pc->f = f;
	memcpy(pc->data, p, n);
	int rc = http_response_write(f->r, pc->data, n, down_written, pc);
	if (rc) {
		free(pc);
		return rc;
	}
	f->refs++;
	if (http_response_queued(f->r) > FWD_HIGH_WATER) {
		f->upstream_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static int attempt(struct fwd *f);
static void up_written(void *arg, int status);

/* The kept answer is whole: it goes to the viewer in one write. */
static int keep_flush(struct fwd *f)
{
	struct down_piece *pc = f->keep;
	f->keep = NULL;
	f->started = true;
	if (f->keep_len == 0) {
		free(pc);
		return 0;
	}
	int rc = http_response_write(f->r, pc->data, f->keep_len, down_written, pc);
	if (rc) {
		free(pc);
		return rc;
	}
	f->refs++;
	return 0;
}

static void up_done(void *arg, int error)
{
	struct fwd *f = arg;
	struct router_loop *rl = f->rl;
	uint32_t i = f->region;
	f->x = NULL;
	router_select_end(&rl->sel, i);
	if (!f->r) { /* the viewer left; we cancelled */
		fwd_drop(f);
		return;
	}
	if (error && !f->retry) {
		tls_outcome(rl, i, error);
		stat_add(&rl->stats[i].upstream_errors, 1);
		note(rl, i, error_event(error), clock_mono_ns());
	}
	if (error && f->keep) {
		/* Cut short while kept: not a byte went out, so take it back. */
		free(f->keep);
		f->keep = NULL;
		CHECK(http_response_reset(f->r) == 0);
	}
	/* Refused (the connection, or the store's certificate, or the TLS
	 * handshake): not a byte left, so any request may go elsewhere, its body
	 * (held until now) replayed. Otherwise only bodiless idempotent ones. */
	bool refused = (error == ERR_NET_REFUSED || tls_error(error)) && !f->wrote;
	bool retry =
	    f->retry || (error && !f->started && !f->pinned && (f->may_fail_over || refused));
	if (retry && !f->retry)
		stat_add(&rl->stats[i].failovers, 1);
	f->drop = f->retry = false;
	if (retry) {
		f->reason = f->saw_404 ? FWD_LAG : FWD_FAILOVER;
		if (attempt(f) == 0) {
			fwd_drop(f);
			return;
		}
		held_release(f);
		/* Nothing left to try: answer with what we know. */
		if (f->saw_404)
			respond_error(f, 404, "NoSuchKey", "The specified key does not exist.");
		else
			respond_error(f, 503, "ServiceUnavailable",
			              "No region could serve the request.");
	} else if (error == 0) {
		held_release(f);
		if (f->keep && keep_flush(f))
			http_response_abort(f->r);
		else
			http_response_end(f->r);
	} else if (!f->started) {
		held_release(f);
		respond_error(f, 503, "ServiceUnavailable",
		              error == ERR_NET_TIMEOUT ? "The region did not answer in time."
		                                       : "The region could not be reached.");
	} else {
		held_release(f);
		http_response_abort(f->r); /* cut short: the viewer must see it so */
	}
	finished(f, error);
	fwd_drop(f);
}

static const struct http_exchange_ops up_ops = {
	.on_head = up_head,
	.on_body = up_body,
	.on_done = up_done,
};

/*
 * Send the request to the next region: the pinned one on the first try, else
 * the best untried one. 0 (an exchange holds a reference), or an error when
 * no region is left or the send failed.
 */
static int attempt(struct fwd *f)
{
	struct router_loop *rl = f->rl;
	struct router_server *s = rl->srv;
	const struct http_head *h = http_request_head(f->r);
	if (f->pinned) {
		if (f->tries)
			return ERR_ROUTER_NO_REGION;
	} else {
		struct router_choice c;
		sync_routes(rl);
		int rc = router_select_pick(&rl->sel, f->tried, &c);
		if (rc)
			return rc;
		if (f->tries == 0)
			f->reason = c.reason == ROUTER_SELECT_SUSPECT   ? FWD_SUSPECT
			            : c.reason == ROUTER_SELECT_PASSIVE ? FWD_PASSIVE
			                                                : FWD_LATENCY;
		f->region = c.region;
	}
	f->tried |= 1u << f->region;
	struct http_header *hs =
	    arena_alloc(http_request_arena(f->r), (h->nheaders ? h->nheaders : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t k = 0; k < h->nheaders; k++)
		if (!http_header_hop_by_hop(h->headers[k].name) &&
		    !iov_eq_nocase(h->headers[k].name, IOV_LIT("expect")))
			hs[n++] = h->headers[k];
	struct http_exchange_request req = {
		.origin = s->cfg->region[f->region].endpoint,
		.method = h->method,
		.target = h->target,
		.host = h->host,
		.headers = hs,
		.nheaders = n,
		.body_length = h->framing == HTTP_BODY_LENGTH    ? (int64_t)h->content_length
		               : h->framing == HTTP_BODY_CHUNKED ? -1
		                                                 : 0,
		.retryable = f->may_fail_over,
		.tls_name = s->cfg->region[f->region].tls_name,
	};
	f->attempt_ns = clock_mono_ns();
	int rc = http_client_send(rl->client, &req, &up_ops, f, &f->x);
	if (rc)
		return rc;
	f->tries++;
	f->refs++;
	router_select_begin(&rl->sel, f->region);
	/* A retry after a refused connection: the body so far, again. */
	for (struct up_piece *pc = f->held; pc && f->x; pc = pc->next) {
		pc->done = false;
		if (http_exchange_write(f->x, pc->data, pc->len, up_written, pc))
			pc->done = true; /* the exchange is failing; its on_done decides */
	}
	if (f->x && f->tries > 1 && f->body_end && h->framing == HTTP_BODY_CHUNKED)
		http_exchange_end(f->x);
	return 0;
}

/* ---- the viewer's request ---- */

static bool is_method(struct iov m, const char *name)
{
	return iov_eq(m, iov_cstr(name));
}

static void on_request(void *ctx, struct http_request *r)
{
	struct router_server *s = ctx;
	struct router_loop *rl = tl_loop;
	const struct http_head *h = http_request_head(r);
	struct iov path, query = iov_split(h->target, '?', &path);
	if (iov_eq(h->target, IOV_LIT(ROUTER_HEALTH_PATH)) && is_method(h->method, "GET")) {
		http_respond(r, 200, "text/plain", IOV_LIT("ok\n"));
		return;
	}
	struct fwd *f = calloc(1, sizeof(*f));
	if (!f) {
		http_respond(r, 503, "text/plain", IOV_LIT("out of memory\n"));
		return;
	}
	*f = (struct fwd){ .rl = rl, .r = r, .refs = 1, .start_ns = clock_mono_ns() };
	f->held_tail = &f->held;
	http_request_set_user(r, f);
	bool bodiless = h->framing == HTTP_BODY_NONE ||
	                (h->framing == HTTP_BODY_LENGTH && h->content_length == 0);
	bool idempotent = is_method(h->method, "GET") || is_method(h->method, "HEAD") ||
	                  is_method(h->method, "DELETE") || is_method(h->method, "OPTIONS");
	f->may_fail_over = bodiless && idempotent;
	f->head_request = is_method(h->method, "HEAD");
	f->may_lag = bodiless && (is_method(h->method, "GET") || f->head_request);
	int pin = query.base ? upload_region(s, query) : -1;
	f->holding = !bodiless && pin < 0;
	if (pin >= 0) {
		f->pinned = true;
		f->region = (uint32_t)pin;
		f->reason = FWD_UPLOAD;
	}
	int rc = attempt(f);
	if (rc) {
		respond_error(f, 503, "ServiceUnavailable",
		              rc == ERR_ROUTER_NO_REGION ? "No region can serve the request."
		                                         : "The request could not be forwarded.");
		finished(f, rc);
	}
}

static void up_written(void *arg, int status)
{
	struct up_piece *pc = arg;
	struct fwd *f = pc->f;
	pc->done = true;
	if (status == 0)
		f->wrote = true;
	if (status == 0 && f->r && f->x && f->viewer_paused &&
	    http_exchange_queued(f->x) < FWD_HIGH_WATER / 2) {
		f->viewer_paused = false;
		http_request_resume(f->r);
	}
	if (f->holding && status == 0)
		held_release(f); /* bytes left: no replay from now on */
	else if (!pc->listed)
		piece_free(pc);
	/* else kept for a replay on the next region */
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct fwd *f = http_request_user(r);
	if (!f || !f->x)
		return 0; /* the attempt failed; the answer is on its way */
	struct up_piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	*pc = (struct up_piece){ .f = f, .len = n };
	memcpy(pc->data, p, n);
	int rc = http_exchange_write(f->x, pc->data, n, up_written, pc);
	if (rc) {
		free(pc);
		return rc == ERR_NET_CLOSED ? 0 : rc;
	}
	f->refs++;
	if (f->holding) {
		pc->listed = true;
		*f->held_tail = pc;
		f->held_tail = &pc->next;
	}
	if (http_exchange_queued(f->x) > FWD_HIGH_WATER) {
		f->viewer_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	(void)ctx;
	struct fwd *f = http_request_user(r);
	if (!f)
		return;
	f->body_end = true;
	if (f->x && http_request_head(r)->framing == HTTP_BODY_CHUNKED)
		http_exchange_end(f->x);
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct fwd *f = http_request_user(r);
	if (!f)
		return;
	http_request_set_user(r, NULL);
	f->r = NULL;
	held_release(f);
	if (f->x) {
		struct http_exchange *x = f->x;
		f->x = NULL;
		http_exchange_cancel(x); /* its on_done drops its reference */
	}
	fwd_drop(f);
}

static const struct http_handler router_handler = {
	.name = "router",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

/* ---- probes ---- */

static int probe_head(void *arg, const struct http_head *h)
{
	struct probe *p = arg;
	p->status = h->status;
	if (h->status >= 200 && h->status < 300) {
		uint64_t now = clock_mono_ns();
		router_select_sample(&p->rl->sel, p->region, now, now - p->sent_ns);
	}
	return 0;
}

static int probe_body(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return 0;
}

static void probe_done(void *arg, int error)
{
	struct probe *p = arg;
	p->inflight = false;
	if (!p->rl->client)
		return; /* stopping */
	bool ok = error == 0 && p->status >= 200 && p->status < 300;
	/* A refused certificate is a failed probe like a refused connection. */
	tls_outcome(p->rl, p->region, ok ? 0 : error);
	note(p->rl, p->region, ok ? ROUTER_HEALTH_EV_PROBE_OK : ROUTER_HEALTH_EV_PROBE_FAIL,
	     clock_mono_ns());
}

static const struct http_exchange_ops probe_ops = {
	.on_head = probe_head,
	.on_body = probe_body,
	.on_done = probe_done,
};

static void probe_tick(void *arg)
{
	struct router_loop *rl = arg;
	const struct router_config *cfg = rl->srv->cfg;
	/* A dial changed through the control API shows in the metrics
	 * within a probe interval even when no request comes. */
	sync_routes(rl);
	publish_choice(rl, clock_mono_ns());
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		struct probe *p = &rl->probe[i];
		if (p->inflight)
			continue;
		struct http_exchange_request req = {
			.origin = cfg->region[i].endpoint,
			.method = IOV_LIT("GET"),
			.target = IOV_LIT(ROUTER_HEALTH_PATH),
			.host = iov_cstr(cfg->region[i].endpoint),
			.tls_name = cfg->region[i].tls_name,
		};
		struct http_exchange *x;
		p->status = 0;
		p->sent_ns = clock_mono_ns();
		if (http_client_send(rl->probe_client, &req, &probe_ops, p, &x) == 0)
			p->inflight = true;
		else
			note(rl, i, ROUTER_HEALTH_EV_PROBE_FAIL, p->sent_ns);
	}
}

/* ---- workers ---- */

static int worker_start(void *ctx, struct net_loop *l, unsigned index)
{
	struct router_server *s = ctx;
	if (index >= s->nloops)
		return ERR_INVALID;
	struct router_loop *rl = &s->loops[index];
	const struct router_config *cfg = s->cfg;
	rl->srv = s;
	rl->index = index;
	rl->loop = l;
	pthread_mutex_lock(&s->routes_mu);
	int rc = router_select_init(&rl->sel, &s->sel_cfg, &s->routes, clock_mono_ns());
	rl->routes_version = s->routes.version;
	pthread_mutex_unlock(&s->routes_mu);
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		rl->probe[i] = (struct probe){ .rl = rl, .region = i };
		publish(rl, i, 0);
	}
	struct http_client_config cc = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.first_byte_timeout_ms = cfg->first_byte_timeout_ms,
		.read_timeout_ms = cfg->first_byte_timeout_ms,
		.max_per_origin = ROUTER_MAX_ORIGIN,
		.tls = s->upstream,
	};
	struct http_client_config pc = {
		.connect_timeout_ms = cfg->probe_timeout_ms,
		.first_byte_timeout_ms = cfg->probe_timeout_ms,
		.read_timeout_ms = cfg->probe_timeout_ms,
		.idle_timeout_ms = cfg->probe_interval_ms * 4 + 1000,
		.max_per_origin = 1,
		.tls = s->upstream,
	};
	if (rc == 0)
		rc = http_client_new(l, &cc, &rl->client);
	if (rc == 0)
		rc = http_client_new(l, &pc, &rl->probe_client);
	if (rc == 0)
		rc = net_timer_new(l, probe_tick, rl, &rl->probe_timer);
	if (rc)
		return rc;
	tl_loop = rl;
	net_timer_start(rl->probe_timer, 0, cfg->probe_interval_ms);
	return 0;
}

static void worker_stop(void *ctx, struct net_loop *l, unsigned index)
{
	struct router_server *s = ctx;
	(void)l;
	struct router_loop *rl = &s->loops[index];
	net_timer_free(rl->probe_timer);
	rl->probe_timer = NULL;
	struct http_client *c = rl->client, *pc = rl->probe_client;
	rl->client = NULL;
	rl->probe_client = NULL;
	http_client_free(c);
	http_client_free(pc);
	tl_loop = NULL;
}

/* ---- start, stop ---- */

int router_server_start(const struct router_server_opts *o, struct router_server **out, char *err,
                        size_t errcap)
{
	const struct router_config *cfg = o->cfg;
	if (cfg->any_https && !o->upstream) {
		snprintf(err, errcap, "a region is https but there is no TLS client context");
		return ERR_INVALID;
	}
	struct router_server *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->magic = ROUTER_MAGIC;
	s->cfg = cfg;
	s->access_log = o->access_log;
	s->upstream = o->upstream;
	unsigned n = o->workers;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (n > ROUTER_LOOPS_MAX)
		n = ROUTER_LOOPS_MAX;
	s->nloops = n;
	s->loops = calloc(n, sizeof(s->loops[0]));
	enum router_dial dial[ROUTER_REGIONS_MAX];
	for (uint32_t i = 0; i < cfg->nregions; i++)
		dial[i] = cfg->region[i].dial;
	router_select_cfg_default(&s->sel_cfg);
	s->sel_cfg.passive_fallback = cfg->passive_fallback;
	int rc = s->loops ? router_routes_init(&s->routes, dial, cfg->nregions) : ERR_NOMEM;
	if (rc) {
		snprintf(err, errcap, "routes: %s", err_text(rc));
		free(s->loops);
		free(s);
		return rc;
	}
	atomic_store(&s->routes_version, s->routes.version);
	pthread_mutex_init(&s->routes_mu, NULL);
	struct http_server_config hc = {
		.listen = o->listen,
		.tls_listen = o->tls_listen,
		.tls = o->tls,
		.workers = n,
		.handler = &router_handler,
		.handler_ctx = s,
		.worker_start = worker_start,
		.worker_stop = worker_stop,
	};
	rc = http_server_start(&hc, &s->http);
	if (rc) {
		snprintf(err, errcap, "cannot listen on %s%s%s: %s", o->listen ? o->listen : "",
		         o->listen && o->tls_listen ? " and " : "",
		         o->tls_listen ? o->tls_listen : "", err_text(rc));
		pthread_mutex_destroy(&s->routes_mu);
		free(s->loops);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void router_server_stop(struct router_server *s)
{
	if (!s)
		return;
	CHECK_MAGIC(s, ROUTER_MAGIC);
	/* Loops freed: every callback that could reach a loop's state has run. */
	http_server_stop(s->http);
	pthread_mutex_destroy(&s->routes_mu);
	free(s->loops);
	s->magic = 0;
	free(s);
}

/* ---- control API and metrics ---- */

void router_server_routes(struct router_server *s, struct router_routes *out)
{
	pthread_mutex_lock(&s->routes_mu);
	*out = s->routes;
	pthread_mutex_unlock(&s->routes_mu);
}

int router_server_submit(struct router_server *s, uint64_t expect_version,
                         const struct router_route_update *u, uint32_t n, uint64_t *new_version)
{
	pthread_mutex_lock(&s->routes_mu);
	int rc = router_routes_submit(&s->routes, expect_version, u, n, new_version);
	if (rc == 0)
		atomic_store_explicit(&s->routes_version, s->routes.version, memory_order_release);
	pthread_mutex_unlock(&s->routes_mu);
	if (rc == 0) {
		fprintf(stderr,
		        "router: routes version %llu:", (unsigned long long)s->routes.version);
		for (uint32_t i = 0; i < s->cfg->nregions; i++)
			fprintf(stderr, " %s=%s", s->cfg->region[i].name,
			        s->routes.dial[i] == ROUTER_DIAL_ACTIVE ? "active" : "passive");
		fputc('\n', stderr);
	}
	return rc;
}

void router_server_region_view(struct router_server *s, uint32_t i, enum router_health_state *state,
                               double *latency_ns)
{
	uint64_t best = 0;
	*state = ROUTER_HEALTH_UP;
	*latency_ns = -1;
	for (unsigned k = 0; k < s->nloops; k++) {
		struct region_stats *st = &s->loops[k].stats[i];
		uint64_t at = atomic_load_explicit(&st->updated_ns, memory_order_relaxed);
		if (k > 0 && at <= best)
			continue;
		best = at;
		*state = (enum router_health_state)atomic_load_explicit(&st->health,
		                                                        memory_order_relaxed);
		uint64_t lat = atomic_load_explicit(&st->latency_ns, memory_order_relaxed);
		*latency_ns = lat ? (double)lat : -1;
	}
}

/* The region a new request would go to (index + 1; 0: none usable), as
 * the loop that worked it out last saw it. */
static uint32_t chosen_region(struct router_server *s)
{
	uint64_t best = 0;
	uint32_t v = 0;
	for (unsigned k = 0; k < s->nloops; k++) {
		uint64_t at = atomic_load_explicit(&s->loops[k].chosen_ns, memory_order_relaxed);
		if (at > best) {
			best = at;
			v = atomic_load_explicit(&s->loops[k].chosen, memory_order_relaxed);
		}
	}
	return v;
}

/* Region i's counters summed over the loops. */
struct region_totals {
	uint64_t requests[4], upstream_errors, failovers, hist[HIST_N + 1], sum_us;
};

static uint64_t load(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void region_totals(struct router_server *s, uint32_t i, struct region_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned k = 0; k < s->nloops; k++) {
		struct region_stats *st = &s->loops[k].stats[i];
		for (int c = 0; c < 4; c++)
			t->requests[c] += load(&st->requests[c]);
		t->upstream_errors += load(&st->upstream_errors);
		t->failovers += load(&st->failovers);
		for (size_t b = 0; b <= HIST_N; b++)
			t->hist[b] += load(&st->hist[b]);
		t->sum_us += load(&st->sum_us);
	}
}

static int metric_head(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int router_server_metrics(struct router_server *s, struct buf *out)
{
	static const char *const cls[] = { "2xx", "3xx", "4xx", "5xx" };
	const struct router_config *cfg = s->cfg;
	uint32_t n = cfg->nregions;
	struct region_totals *t = calloc(n, sizeof(*t));
	enum router_health_state state[ROUTER_REGIONS_MAX];
	double lat[ROUTER_REGIONS_MAX];
	if (!t)
		return ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		region_totals(s, i, &t[i]);
		router_server_region_view(s, i, &state[i], &lat[i]);
	}
	int rc = metric_head(out, "meridian_router_requests_total", "counter",
	                     "Requests answered, by serving region and status class.");
	for (uint32_t i = 0; i < n; i++)
		for (int c = 0; c < 4; c++)
			rc |= buf_printf(
			    out,
			    "meridian_router_requests_total{region=\"%s\",class=\"%s\"} %llu\n",
			    cfg->region[i].name, cls[c], (unsigned long long)t[i].requests[c]);
	rc |= metric_head(out, "meridian_router_upstream_errors_total", "counter",
	                  "Attempts that failed: connect error, timeout or 5xx.");
	for (uint32_t i = 0; i < n; i++)
		rc |= buf_printf(out, "meridian_router_upstream_errors_total{region=\"%s\"} %llu\n",
		                 cfg->region[i].name, (unsigned long long)t[i].upstream_errors);
	rc |= metric_head(out, "meridian_router_failovers_total", "counter",
	                  "Requests moved off the region to another one.");
	for (uint32_t i = 0; i < n; i++)
		rc |= buf_printf(out, "meridian_router_failovers_total{region=\"%s\"} %llu\n",
		                 cfg->region[i].name, (unsigned long long)t[i].failovers);
	rc |=
	    metric_head(out, "meridian_router_request_duration_seconds", "histogram",
	                "Time from the request head to the end of the answer, by serving region.");
	for (uint32_t i = 0; i < n; i++) {
		char label[64]; /* region names are 1-32 characters */
		snprintf(label, sizeof(label), "region=\"%s\"", cfg->region[i].name);
		rc |= http_admin_histogram(out, "meridian_router_request_duration_seconds", label,
		                           hist_le, HIST_N, t[i].hist, (double)t[i].sum_us / 1e6);
	}
	rc |=
	    metric_head(out, "meridian_router_region_up", "gauge", "1 unless the region is DOWN.");
	for (uint32_t i = 0; i < n; i++)
		rc |= buf_printf(out, "meridian_router_region_up{region=\"%s\"} %d\n",
		                 cfg->region[i].name, state[i] != ROUTER_HEALTH_DOWN);
	rc |= metric_head(out, "meridian_router_region_latency_seconds", "gauge",
	                  "Peak-EWMA round-trip estimate of the region.");
	for (uint32_t i = 0; i < n; i++)
		if (lat[i] >= 0)
			rc |= buf_printf(
			    out, "meridian_router_region_latency_seconds{region=\"%s\"} %.6f\n",
			    cfg->region[i].name, lat[i] / 1e9);
	uint32_t chosen = chosen_region(s);
	rc |= metric_head(out, "meridian_router_region_selected", "gauge",
	                  "1 for the region a new request would go to now (refreshed each "
	                  "probe interval), else 0.");
	for (uint32_t i = 0; i < n; i++)
		rc |= buf_printf(out, "meridian_router_region_selected{region=\"%s\"} %d\n",
		                 cfg->region[i].name, chosen == i + 1);
	free(t);
	return rc ? ERR_NOMEM : 0;
}

struct http_server *router_server_http(const struct router_server *s)
{
	return s->http;
}
