/*
 * The router's admin listener (docs/router.md): the control API, shaped
 * like AWS S3 Control's GetMultiRegionAccessPointRoutes and
 * SubmitMultiRegionAccessPointRoutes, and the Prometheus /metrics page.
 *
 *   GET   /v20180820/mrap/instances/<name>/routes   routes, health, latency
 *   PATCH /v20180820/mrap/instances/<name>/routes   submit dial changes
 *   GET   /metrics                                  counters (no signature)
 *
 * The routes calls must be SigV4-signed (any region, service s3) by a key
 * of the admin credentials file (auth/users.h format; re-read on SIGHUP);
 * the body of a PATCH must be covered by the signature. Every answer
 * carries x-meridian-routes-version; a PATCH that sends it is applied only
 * if the routes are still at that version (else 409 ConflictException), and
 * one that would leave no region active is refused (400 InvalidRequest).
 * Changes take effect on each loop's next request.
 *
 * Threads: start/stop/reload on the controlling thread; the listener runs
 * one worker thread of its own.
 */
#ifndef MERIDIAN_ROUTER_ADMIN_H
#define MERIDIAN_ROUTER_ADMIN_H

#include <stddef.h>

#include "router/server.h"

#define ROUTER_ADMIN_VERSION_HEADER "x-meridian-routes-version"
#define ROUTER_ADMIN_API_PREFIX     "/v20180820/mrap/instances/"

struct http_admin;

/* Listen on cfg->admin_listen for `srv` (both borrowed for the admin's
 * life). 0, or an error with `err` saying why (unreadable credentials with
 * file:line, a listen failure). The rest is http/admin.h's: port, reload
 * (SIGHUP), stop. */
int router_admin_start(const struct router_config *cfg, struct router_server *srv,
                       struct http_admin **out, char *err, size_t errcap);

#endif
