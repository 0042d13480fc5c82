/*
 * The edge's data plane (docs/internals/edge-server.md): an HTTP server whose
 * workers answer viewers from the shared cache tiers (edge/cache.h in memory,
 * edge/disk.h on disk when configured; revalidation, conditionals, Range,
 * stale-while-revalidate and stale-if-error) or fetch
 * from the origin or origin group of the matching cache behavior
 * (edge/behavior.h), signing origin requests (edge/sign.h), streaming the
 * answer to the viewer while filling the cache, collapsing concurrent misses
 * of one key into one origin fetch across all workers, and failing over
 * between the members of an origin group.
 *
 * One cache and one collapsing table per process; each worker loop has its
 * own pooled http_client per origin (so each origin's timeouts apply).
 *
 * Threads: start/drain/drained/stop/stats on one controlling thread;
 * everything else runs on the worker loops.
 */
#ifndef MERIDIAN_EDGE_SERVER_H
#define MERIDIAN_EDGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "edge/config.h"

struct net_tls_server;
struct net_tls_client;

/* Response header carrying the request id, also sent to the origin (as
 * CloudFront's X-Amz-Cf-Id). */
#define EDGE_REQUEST_ID_HEADER "X-Amz-Cf-Id"
/* A member of an origin group that refused or timed out is skipped for
 * this long (unless no other member is left). */
#define EDGE_DOWN_MS 5000
/* Collapsing: waiters per key, and how long one waits for the first fetch
 * before fetching on its own. */
#define EDGE_WAITERS_MAX  1024
#define EDGE_WAIT_TIMEOUT 30000 /* ms */
#define EDGE_LOCATION_MAX 64

struct edge_server;

struct edge_server_opts {
	const char *listen;            /* ip:port or [ipv6]:port */
	unsigned workers;              /* 0: one per online CPU */
	const struct edge_config *cfg; /* borrowed for the server's life */
	const char *location;          /* x-edge-location and Via; NULL: the host name */
	bool access_log;               /* one line per request on stderr */
	uint32_t wait_timeout_ms;      /* collapsing waiter timeout; 0: EDGE_WAIT_TIMEOUT */
	/* TLS (issue 10): the HTTPS listener beside listen and its certificates,
	 * and the verifier for https origins (both borrowed, outliving the
	 * server; http/tls_config.h's http_tls_contexts makes them). Without
	 * tls_client no origin attempt may be https (start refuses an origin
	 * whose policy is not http-only). */
	const char *tls_listen;
	struct net_tls_server *tls_server;
	struct net_tls_client *tls_client;
};

/* Counters, summed over the process. */
struct edge_server_stats {
	uint64_t requests, hits, misses, errors;
	uint64_t origin_fetches; /* origin requests sent (attempts) */
	uint64_t collapsed;      /* requests answered from another request's fetch */
	uint64_t failovers;      /* origin group moves to the next member */
};

/* 0, or an error with `err` saying why (credentials file, cache budget,
 * listen address); ERR_CONFIG_SCHEMA when an edge function's file does not
 * load ("file:line:col: functions: ..."). */
int edge_server_start(const struct edge_server_opts *o, struct edge_server **out, char *err,
                      size_t errcap);
struct http_server;
/* Its HTTP server: port, drain and drained are http/server.h's. */
struct http_server *edge_server_http(const struct edge_server *s);
/* Close everything, join the workers, free. NULL is a no-op. */
void edge_server_stop(struct edge_server *s);
void edge_server_stats(struct edge_server *s, struct edge_server_stats *out);

struct buf;
/* Mark stale every cached entry, in both tiers, whose path matches one of
 * `paths` (as CloudFront invalidation paths: exact, or a prefix when ending
 * in '*'; every query string and header variant of a path matches).
 * *marked (may be NULL) counts entries turned stale (an object in both
 * tiers counts twice). Blocks on the disk tier: not on a worker loop.
 * 0 or ERR_NOMEM. */
int edge_server_invalidate(struct edge_server *s, const struct iov *paths, size_t n,
                           size_t *marked);
/* Append the Prometheus text of the counters. Any thread. 0 or buf's error. */
int edge_server_metrics(struct edge_server *s, struct buf *out);
/* SIGHUP: read the edge functions' files again and publish them (workers
 * switch between requests). 1 when reloaded, 0 when there are none, or a
 * negative error with err saying why (the old functions stay). Signal /
 * main thread. */
int edge_server_reload_functions(struct edge_server *s, char *err, size_t errcap);

#endif
