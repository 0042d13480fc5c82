/*
 * The edge's admin listener (docs/edge.md "Invalidation"): CloudFront's
 * invalidation API for this edge's one distribution, and Prometheus
 * metrics, on the shared signed listener (http/admin.h).
 *
 *   POST /2020-05-31/distribution/<id>/invalidation        CreateInvalidation
 *   GET  /2020-05-31/distribution/<id>/invalidation/<inv>  GetInvalidation
 *   GET  /metrics                                          (no signature)
 *
 * Calls are SigV4-signed for service "cloudfront" (any region, as
 * `aws cloudfront create-invalidation --endpoint-url` signs them) by a key
 * of the admin credentials file (re-read on SIGHUP). An invalidation marks
 * the matching entries stale in every cache tier at once (never deletes:
 * a purge causes revalidations, not a stampede of full fetches) and is
 * Completed when the answer goes out. The last EDGE_ADMIN_KEEP
 * invalidations are kept for GetInvalidation.
 *
 * Threads: start/stop/reload on the controlling thread; the listener runs
 * one worker thread of its own.
 */
#ifndef MERIDIAN_EDGE_ADMIN_H
#define MERIDIAN_EDGE_ADMIN_H

#include <stddef.h>

#include "edge/config.h"
#include "edge/server.h"

#define EDGE_ADMIN_API_PREFIX "/2020-05-31/distribution/"
#define EDGE_ADMIN_KEEP       100 /* invalidations remembered for GetInvalidation */

struct http_admin;

/* Listen on cfg->admin_listen for `srv` (both borrowed for the admin's
 * life). 0, or an error with `err` saying why. The rest is http/admin.h's:
 * port, reload (SIGHUP), stop. */
int edge_admin_start(const struct edge_config *cfg, struct edge_server *srv,
                     struct http_admin **out, char *err, size_t errcap);

#endif
