/*
 * The router's data plane (docs/internals/router.md): an HTTP server whose
 * workers forward each request unchanged to the store of the region
 * router/select.h picks, streaming bodies both ways over pooled keep-alive
 * connections (http/client.h), and fail over, retry a 404 on the other
 * regions, or pin a multipart upload to the region that created it.
 *
 * Regions with protocol: https are reached over TLS, their certificates
 * checked for the region's tls_name (router/config.h); a certificate refused
 * or a failed handshake is a connect error like a refused connection: the
 * request goes to another region and the region's health counts a failure
 * (probes too), with the reason logged once per change.
 *
 * Each worker loop keeps its own selection state, fed by its own probes of
 * every region's health endpoint and by its own requests; the routes table
 * (active / passive dials) is shared, versioned, and copied into a loop on
 * its next request after a change. Counters for /metrics are per loop.
 *
 * Threads: start/drain/stop and the routes and metrics readers on any one
 * controlling thread; everything else on the worker loops.
 */
#ifndef MERIDIAN_ROUTER_SERVER_H
#define MERIDIAN_ROUTER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "router/config.h"
#include "router/health.h"
#include "router/routes.h"

#define ROUTER_HEALTH_PATH   "/-/health"
#define ROUTER_REGION_HEADER "X-Meridian-Region"

struct router_server;

struct net_tls_server;
struct net_tls_client;

struct router_server_opts {
	const char *listen;              /* ip:port or [ipv6]:port */
	const char *tls_listen;          /* NULL, or an HTTPS listener beside it (needs tls) */
	struct net_tls_server *tls;      /* its certificates (borrowed; outlives the server) */
	struct net_tls_client *upstream; /* for the https regions (borrowed; outlives the
	                                  * server); NULL when no region is https */
	unsigned workers;                /* 0: one per online CPU */
	const struct router_config *cfg; /* borrowed for the server's life */
	bool access_log;                 /* one line per request on stderr */
};

/* 0, or an error with `err` saying why (bad listen address, ERR_IO;
 * ERR_INVALID when a region is https and o->upstream is NULL). */
int router_server_start(const struct router_server_opts *o, struct router_server **out, char *err,
                        size_t errcap);
struct http_server;
/* Its HTTP server: port, TLS port, drain and drained are http/server.h's. */
struct http_server *router_server_http(const struct router_server *s);
/* Close everything, join the workers, free. NULL is a no-op. */
void router_server_stop(struct router_server *s);

/* ---- for the control API (router/admin.h); any one thread ---- */

/* A copy of the routes table. */
void router_server_routes(struct router_server *s, struct router_routes *out);
/* router_routes_submit on the shared table; loops take it on their next request. */
int router_server_submit(struct router_server *s, uint64_t expect_version,
                         const struct router_route_update *u, uint32_t n, uint64_t *new_version);

/* What the loops last saw of region i: the state and estimate of the loop
 * that updated it most recently (latency_ns < 0: never measured). */
void router_server_region_view(struct router_server *s, uint32_t i, enum router_health_state *state,
                               double *latency_ns);

/* The Prometheus text exposition of every counter, summed over the loops. */
int router_server_metrics(struct router_server *s, struct buf *out);

#endif
