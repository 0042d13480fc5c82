/*
 * The routes table of an access point: the routing dial of each region
 * (active: gets traffic; passive: gets none), with a version number so the
 * control API can update it by compare-and-set, as AWS's
 * SubmitMultiRegionAccessPointRoutes does: an update based on a stale
 * version is refused (409), and at least one region must stay active.
 *
 * Dials are AWS's TrafficDialPercentage restricted to its two defined
 * values, 0 (passive) and 100 (active); weighted splits are not done.
 *
 * Pure code. Thread: whoever owns the table; the router command keeps one
 * authoritative table and hands copies to each loop's selection state
 * (router/select.h), so a version names one table everywhere.
 */
#ifndef MERIDIAN_ROUTER_ROUTES_H
#define MERIDIAN_ROUTER_ROUTES_H

#include <stdint.h>

#define ROUTER_REGIONS_MAX 17         /* AWS's limit per access point */
#define ROUTER_ROUTES_ANY  UINT64_MAX /* submit without a version check */

enum router_dial {
	ROUTER_DIAL_PASSIVE,
	ROUTER_DIAL_ACTIVE,
};

struct router_routes {
	uint64_t version; /* 1 for the configured table, +1 per update */
	uint32_t n;       /* regions, indexed 0..n-1 as configured */
	enum router_dial dial[ROUTER_REGIONS_MAX];
};

/* One change in an update: region index and its new dial. */
struct router_route_update {
	uint32_t region;
	enum router_dial dial;
};

/* The table as configured, at version 1. Returns 0; ERR_INVALID for n of 0
 * or above ROUTER_REGIONS_MAX or a dial out of range; ERR_ROUTER_NO_ACTIVE
 * when no region is active. On error *r is untouched. */
int router_routes_init(struct router_routes *r, const enum router_dial *dial, uint32_t n);

/* Apply `n` updates atomically if the table is still at `expect_version`
 * (or expect_version is ROUTER_ROUTES_ANY); regions not named keep their
 * dial. Returns 0 with *new_version set (may be NULL); on error nothing
 * changes: ERR_ROUTER_STALE_ROUTES (checked first) when the version moved
 * on, ERR_INVALID for a region index out of range, a region named twice or
 * a dial out of range, ERR_ROUTER_NO_ACTIVE when no region would be active.
 * An empty update is valid and still makes a new version. */
int router_routes_submit(struct router_routes *r, uint64_t expect_version,
                         const struct router_route_update *u, uint32_t n, uint64_t *new_version);

/* Dial from AWS's TrafficDialPercentage: 0 passive, 100 active; anything else
 * ERR_INVALID (weights 1-99 are not implemented). */
int router_routes_dial_from_percent(int64_t pct, enum router_dial *out);

#endif
