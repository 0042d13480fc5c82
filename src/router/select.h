/*
 * Region selection for one access point: which region a request goes to,
 * and which one a failed idempotent request (or a GET answered 404 while
 * replication may lag) is retried on.
 *
 * Tiers, best first; DOWN regions and regions already tried are never
 * chosen:
 *   1. active and UP                          reason LATENCY
 *   2. active and SUSPECT                     reason SUSPECT
 *   3. passive and UP, 4. passive and SUSPECT reason PASSIVE
 *      (only with cfg.passive_fallback; AWS would fail instead)
 * Within the best non-empty tier the lowest score (router/score.h) wins and
 * equal scores go to the lowest region index, so a decision depends only on
 * the state and is reproducible. A retry applies the same tiers to the
 * regions not yet tried, so a passive region is a retry target once every
 * untried active region is unusable. Nothing usable: ERR_ROUTER_NO_REGION,
 * which the caller answers 503.
 *
 * Pure code: no sockets, no clock reads (times are monotonic nanoseconds
 * passed in). Thread: one loop thread owns a struct router_select and is
 * the only one to call these functions on it; each loop of the router
 * command has its own, fed by its own requests and probes.
 */
#ifndef MERIDIAN_ROUTER_SELECT_H
#define MERIDIAN_ROUTER_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "router/health.h"
#include "router/routes.h"
#include "router/score.h"

#define ROUTER_SELECT_MAGIC 0x52534c43u /* "RSLC" */

#define ROUTER_SELECT_REASONS(X)                              \
	X(LATENCY) /* lowest score among active UP regions */ \
	X(SUSPECT) /* no untried active region is UP */       \
	X(PASSIVE) /* no untried active region usable: passive fallback */

enum router_select_reason {
#define ROUTER_SELECT_REASON_ENUM(name) ROUTER_SELECT_##name,
	ROUTER_SELECT_REASONS(ROUTER_SELECT_REASON_ENUM)
#undef ROUTER_SELECT_REASON_ENUM
	    ROUTER_SELECT__COUNT
};

struct router_select_cfg {
	struct router_score_cfg score;
	struct router_health_cfg health;
	bool passive_fallback; /* default true */
};

struct router_region_state {
	struct router_score score;
	struct router_health health;
};

struct router_select {
	uint32_t magic;
	struct router_select_cfg cfg;
	struct router_routes routes;                           /* this loop's copy */
	struct router_region_state region[ROUTER_REGIONS_MAX]; /* routes.n used */
};

struct router_choice {
	uint32_t region;
	enum router_select_reason reason;
	double score; /* the winner's score, for the log */
};

/* Score and health defaults, passive fallback on. */
void router_select_cfg_default(struct router_select_cfg *cfg);

/* Every region UP and unmeasured. Copies cfg and routes (borrowed). Returns 0
 * or ERR_INVALID (health thresholds out of order, tau of 0, routes with no
 * regions). */
int router_select_init(struct router_select *sel, const struct router_select_cfg *cfg,
                       const struct router_routes *routes, uint64_t now_ns);

/* Take a new copy of the routes table (borrowed). A table with another
 * region count is ERR_INVALID; one not newer than the held copy is ignored
 * (returns 0), so copies may be delivered twice. */
int router_select_set_routes(struct router_select *sel, const struct router_routes *routes);

/* Feed a round trip (probe or real request) of region i. */
void router_select_sample(struct router_select *sel, uint32_t i, uint64_t now_ns, uint64_t rtt_ns);
/* A request to region i starts / finishes. */
void router_select_begin(struct router_select *sel, uint32_t i);
void router_select_end(struct router_select *sel, uint32_t i);
/* An outcome for region i's health; true with *change (may be NULL) filled
 * when its state changed, for the caller to log. */
bool router_select_note(struct router_select *sel, uint32_t i, enum router_health_event ev,
                        uint64_t now_ns, struct router_health_change *change);

/* Choose a region, excluding those whose bit (1u << index) is set in
 * `tried` (0 for a first attempt). Returns 0 with *out filled, or
 * ERR_ROUTER_NO_REGION. */
int router_select_pick(const struct router_select *sel, uint32_t tried, struct router_choice *out);

/* Region i's current score (router_score_value). */
double router_select_score(const struct router_select *sel, uint32_t i);

/* "LATENCY", "SUSPECT", "PASSIVE"; "?" if out of range. */
const char *router_select_reason_name(enum router_select_reason r);

#endif
