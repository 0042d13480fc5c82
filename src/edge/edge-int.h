/*
 * Internal to the edge's data plane (server.c and hit.c): the server, loop,
 * flight and request structs, and the helpers the two files share. server.c
 * has the viewer's request and the origin exchange; hit.c answers from the
 * cache tiers (memory, and disk through pool jobs) and keeps the table of
 * in-flight fetches that collapses misses. See docs/internals/edge-server.md.
 *
 * Threads: an ereq belongs to its loop (plain reference counts); the flight
 * table is under flights_mu; counters and down marks are atomics.
 */
#ifndef MERIDIAN_EDGE_EDGE_INT_H
#define MERIDIAN_EDGE_EDGE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/keycache.h"
#include "auth/sign.h"
#include "base/arena.h"
#include "base/buf.h"
#include "edge/behavior.h"
#include "edge/cache.h"
#include "edge/config.h"
#include "edge/dfill.h"
#include "edge/disk.h"
#include "edge/fn.h"
#include "edge/fresh.h"
#include "edge/server.h"
#include "http/client.h"
#include "http/server.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/tls.h"

#define EDGE_MAGIC      0x45444745u /* "EDGE" */
#define REQ_MAGIC       0x45524551u /* "EREQ" */
#define FWD_HIGH_WATER  (256 * 1024)
#define EDGE_LOOPS_MAX  256
#define EDGE_MAX_ORIGIN 512 /* pooled connections per origin and loop */
#define FLIGHT_BUCKETS  1024
#define REQ_ARENA_MAX   (4 * 1024 * 1024) /* blocks are taken as needed; functions' results fit */
#define CREDS_LINE_MAX  1024
#define EDGE_SHARDS     16

enum result {
	RES_NONE = 0,
	RES_HIT,
	RES_MISS,
	RES_ERROR,
	RES_REFRESH,
	RES_REDIRECT, /* the viewer protocol policy's 301 */
};

extern const char *const edge__result_names[];

struct edge_loop {
	struct edge_server *srv;
	unsigned index;
	struct net_loop *loop;
	struct http_client **client; /* one per origin */
	struct edge_fn_worker *fn;   /* this loop's function state (NULL: no functions) */
	/* Where a cache key is built before its exact length is copied into
	 * the request arena (a whole EDGE_KEY_MAX there would cost every
	 * request a second arena block). Loop thread only. */
	char keybuf[EDGE_KEY_MAX];
};

struct flight;

/* Origin latency histogram bounds, seconds. */
#define EDGE_ORIGIN_LE      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
#define EDGE_ORIGIN_BUCKETS 13

struct edge_server {
	uint32_t magic;
	const struct edge_config *cfg;
	struct edge_behavior_table *table;
	struct edge_cache *cache;
	size_t object_cap;      /* bytes of body (and headers) buffered for the cache */
	struct edge_disk *disk; /* NULL: no disk tier */
	uint64_t disk_cap;      /* largest body streamed into the disk tier */
	struct auth_keycache *keys;
	char access_key[CREDS_LINE_MAX], secret_key[CREDS_LINE_MAX], token[CREDS_LINE_MAX];
	struct auth_creds creds;
	struct edge_fn_sign_creds fn_creds; /* the same, for functions' signing bindings */
	struct edge_fn_set *fns;            /* NULL: no functions */
	char location[EDGE_LOCATION_MAX + 1];
	char via[EDGE_LOCATION_MAX + 32];
	char **origin_addr;                /* HTTP connect address per origin */
	char **origin_tls_addr;            /* HTTPS connect address per origin */
	struct net_tls_client *tls_client; /* https origins' verifier (borrowed); NULL: none */
	_Atomic uint64_t *down_until;      /* per origin, monotonic ms */
	bool access_log;
	uint32_t wait_timeout_ms;
	struct http_server *http;
	unsigned nloops;
	struct edge_loop *loops;
	pthread_mutex_t flights_mu;
	struct flight *flights[FLIGHT_BUCKETS]; /* under flights_mu */
	_Atomic uint64_t n_requests, n_hits, n_misses, n_errors, n_fetches, n_collapsed,
	    n_failovers;
	/* Origin latency: request sent to response head, a Prometheus
	 * histogram (EDGE_ORIGIN_LE bounds, then +Inf) and its sum. */
	_Atomic uint64_t origin_hist[EDGE_ORIGIN_BUCKETS + 1], origin_sum_us;
};

/* A fetch that other requests for the same key wait on. */
struct flight {
	struct flight *next; /* bucket chain */
	uint64_t hash;
	char *key;
	size_t keylen;
	struct ereq *waiters; /* doubly linked through wnext / wprev */
	unsigned nwaiters;
};

struct ereq {
	unsigned magic;
	struct edge_loop *el;
	struct http_request *r; /* NULL once the viewer's request is over */
	unsigned refs;
	uint64_t start_ns;
	uint64_t sent_ns; /* this origin attempt went out */
	enum result result;
	const char *detail; /* x-edge-detailed-result-type */
	int status;
	uint64_t bytes_out;
	/* what the request is */
	size_t bi; /* behavior index (table and config order) */
	const struct edge_behavior *b;
	unsigned method_bit;
	bool cached, is_get, is_head, may_fail_over;
	bool viewer_tls; /* the viewer came over HTTPS (kept: match-viewer after it left) */
	bool up_https;   /* this origin attempt is over HTTPS */
	char *key;       /* the request arena's on a hit, else owned */
	size_t keylen;
	bool key_owned;
	struct iov vpath, vquery;     /* normalised path, query (request arena) */
	const struct http_header *vh; /* the viewer's headers, as a viewer-request */
	size_t nvh;                   /* function left them (request arena) */
	/* edge functions */
	bool fn_no_vresp;                /* an answer viewer-response does not see */
	bool fn_failed;                  /* a function failed: answer fn_err */
	bool fn_gen;                     /* origin-response replaced the body: answer gen */
	struct edge_fn_error *fn_err;    /* (q->arena) */
	struct edge_fn_response gen;     /* (q->arena) */
	const char *req_id, *client_ip;  /* (q->arena) for origin triggers */
	struct edge_fn_origin ev_origin; /* the origin as the last attempt's event showed it */
	const struct http_header *sent;  /* that attempt's headers (q->arena) */
	size_t nsent;
	/* the origin request's parts, owned (the viewer may leave first) */
	struct arena *arena;
	struct iov method, path, query;
	struct http_header *fwd;
	size_t nfwd;
	struct iov xff, via;
	int64_t body_length;
	/* the target */
	uint32_t members[EDGE_CONFIG_MEMBERS_MAX];
	uint32_t nmembers, member; /* member: index into members of this attempt */
	const struct edge_config_group *group;
	struct http_exchange *x;
	unsigned attempts;
	bool started, drop, retry, upstream_paused, viewer_paused, body_end;
	/* the copy for the cache */
	bool buffering;
	char *body;
	size_t body_len, body_cap;
	struct buf hdrs;
	int up_status;
	struct edge_fresh_decision dec;
	int64_t req_time;
	bool headed; /* the origin's head arrived */
	/* the viewer's window of the body on a miss (Range) */
	bool window;
	uint64_t win_off, win_len, up_off;
	/* revalidation and stale answers */
	struct edge_cache_entry *stale; /* the expired entry (a reference), or NULL */
	enum edge_fresh_state stale_state;
	bool revalidating; /* the origin request carries its validators */
	bool bg;           /* the viewer was answered (stale); the fetch is the cache's */
	bool use_stale;    /* the origin failed: answer the stale entry */
	bool not_modified; /* the origin said 304 to the validators */
	struct edge_cache_entry *refreshed; /* the entry the 304 refreshed */
	struct edge_dfill *df;              /* filling the disk tier as it streams */
	/* collapsing */
	struct flight *leading; /* the flight this request fetches for */
	struct flight *waiting; /* the flight it waits on (under flights_mu) */
	struct ereq *wnext, *wprev;
	bool wposted; /* the wake is posted (under flights_mu) */
	struct edge_cache_entry *wentry;
	struct net_timer *wtimer;
};

struct piece {
	struct ereq *q;
	char data[];
};

struct hit_write {
	struct ereq *q;
	struct edge_cache_entry *e;
	struct edge_disk_hit dh; /* a disk hit: its descriptor (fd 0 otherwise) */
};

/* ---- server.c ---- */

/* Drop one reference; the last frees q. */
void edge__q_drop(struct ereq *q);
void edge__count(_Atomic uint64_t *c);
/* The viewer's head with X-Cache and Via added; length -1: chunked. */
int edge__start_response(struct ereq *q, int status, const struct http_header *hs, size_t n,
                         int64_t length, const char *xcache);
/* A whole XML error answer of the edge's own. */
void edge__respond_error(struct ereq *q, int status, const char *code, const char *message);
/* The answer to a failed function (502 / 503, X-Cache "<name> from meridian"). */
void edge__respond_fn_error(struct ereq *q, const struct edge_fn_error *e);
/* Run the behavior's viewer-response function, if any, on the answer about
 * to start: *hs / *n may be replaced (request arena). 0 to go on; nonzero
 * when the function failed and the viewer got the error answer instead. */
int edge__viewer_response(struct ereq *q, int status, const struct http_header **hs, size_t *n);
/* The behavior's TTL policy for q. */
void edge__policy(const struct ereq *q, struct edge_fresh_policy *p);
/* The meta of an entry made from decision d at now, with the validators of
 * the packed header block. */
void edge__meta_for(const struct edge_fresh_decision *d, int status, struct iov block, int64_t now,
                    struct edge_cache_meta *m);
/* Begin fetching for q; an error means nothing was sent (fetch_failed). */
int edge__fetch_start(struct ereq *q);
/* The viewer gets a 502 / 504 of the edge's own; waiters are released. */
void edge__fetch_failed(struct ereq *q, int error);
/* Past the cache lookup with a not fresh entry e (or NULL): see server.c. */
void edge__proceed(struct ereq *q, struct edge_cache_entry *e, enum edge_fresh_state st);

/* ---- hooks.c: the four function triggers ---- */

/* One origin attempt as the origin-request function sees and may change
 * it (server.c's attempt builds it; arrays in q->arena). */
struct edge_origin_req {
	uint32_t oi;          /* the configured origin whose client is used */
	const char *addr;     /* connect address */
	bool https;           /* over TLS */
	const char *tls_name; /* the name verified (NUL-terminated; NULL: plain HTTP) */
	struct iov domain, opath, path, query;
	struct http_header *hs; /* what the edge sends: Host first */
	size_t n, cap;
	const struct http_header *custom; /* the origin's custom headers */
	size_t ncustom;
	/* timeouts a function set on the origin (0: the configured ones):
	 * readTimeout for the first byte and between bytes, keepaliveTimeout
	 * for the connection's wait in the pool afterwards */
	uint32_t read_timeout_ms, keepalive_timeout_ms;
};

/* The origin's custom headers as a list (a), or NULL when a is full. */
struct http_header *edge__origin_custom(struct arena *a, const struct edge_config_origin *o);
/* viewer-request: 0 to go on (*path, *query and q->vh may be changed), 1
 * when the viewer was answered (generated response or failure). */
int edge__fn_viewer_request(struct ereq *q, int id, struct iov *path, struct iov *query);
/* origin-request on *o: 0 to send it, 1 when it was answered (a generated
 * response, cached like an origin's), or an error (q->fn_failed set when
 * the function failed). */
int edge__fn_origin_request(struct ereq *q, int id, struct edge_origin_req *o);
/* origin-response on the head h: 0 with *out the head to go on with (h
 * itself or a changed copy); nonzero when the function failed (q->fn_failed)
 * or replaced the body (q->fn_gen): the origin's body is then dropped. */
int edge__fn_origin_response(struct ereq *q, int id, const struct http_head *h,
                             struct http_head *out);
/* Answer a response a function made at the origin side (origin-request or
 * origin-response): cached as an origin's answer would be, waiters woken. */
void edge__fn_origin_generated(struct ereq *q, const struct edge_fn_response *g);

/* ---- hit.c ---- */

/* The viewer to answer: NULL once it left, or once it was answered stale
 * while the fetch goes on for the cache. */
struct http_request *edge__viewer(const struct ereq *q);
/* The X-Cache value of an answer (status >= 400: Error). */
const char *edge__xcache(int status, enum result res);
/* Whether a stored header goes out with a bodiless 304 / 412 / 416. */
bool edge__bodiless_keeps(struct iov name);
/* Answer from e (or a disk hit dh, then owned): conditionals, Range, Age. */
void edge__serve_entry(struct ereq *q, struct edge_cache_entry *e, struct edge_disk_hit *dh,
                       enum result res, const char *detail);
enum edge_fresh_state edge__entry_state(const struct edge_cache_entry *e, bool invalidated,
                                        int64_t now);
/* The memory tier's entry for q's key (any state, *st says which), or NULL. */
struct edge_cache_entry *edge__lookup(struct ereq *q, enum edge_fresh_state *st);
/* Put e in the memory tier, and the disk tier on the pool. */
int edge__cache_put(struct ereq *q, struct edge_cache_entry *e);
/* Look q's (owned) key up in the disk tier on the pool, then serve or
 * proceed. 0 (q holds a reference for it) or ERR_NOMEM. */
int edge__disk_lookup(struct ereq *q);
/* Collapsing: wait on the key's flight, or lead one (see hit.c). */
bool edge__collapse(struct ereq *q, bool join);
void edge__flight_complete(struct ereq *q, struct edge_cache_entry *e);
void edge__waiter_unlink(struct ereq *q);
void edge__waiter_timer_free(struct ereq *q);

#endif
