/*
 * Health of one region: a state machine UP -> SUSPECT -> DOWN with
 * hysteresis, fed by outcomes of probes and of real requests.
 *
 * Two counters, each of consecutive outcomes (a success clears the failure
 * count and a failure the success count):
 *   UP       failures >= suspect_after -> SUSPECT (>= down_after: DOWN)
 *   SUSPECT  failures >= down_after    -> DOWN
 *            successes >= up_after     -> UP
 *   DOWN     successes >= revive_after -> SUSPECT (>= up_after: UP)
 * with suspect_after < down_after and revive_after < up_after. So a region
 * that failed needs up_after successes in a row to get traffic again, and
 * one that alternates success and failure never climbs back from SUSPECT or
 * DOWN: a flapping region does not bounce traffic.
 *
 * The state never stops probing: the prober probes every region in every
 * state, and a DOWN region comes back only through those probes.
 *
 * Pure code; times are monotonic nanoseconds passed in. Thread: the loop
 * thread that owns the router state holding the health.
 */
#ifndef MERIDIAN_ROUTER_HEALTH_H
#define MERIDIAN_ROUTER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#define ROUTER_HEALTH_STATES(X)                                                \
	X(UP)      /* takes traffic */                                         \
	X(SUSPECT) /* failing lately: takes traffic only if no active is UP */ \
	X(DOWN)    /* takes no traffic; still probed */

enum router_health_state {
#define ROUTER_HEALTH_ENUM(name) ROUTER_HEALTH_##name,
	ROUTER_HEALTH_STATES(ROUTER_HEALTH_ENUM)
#undef ROUTER_HEALTH_ENUM
	    ROUTER_HEALTH__COUNT
};

/* What happened; each row says whether it counts as a success. */
#define ROUTER_HEALTH_EVENTS(X)                                                     \
	X(PROBE_OK, true)       /* the health request answered 2xx */               \
	X(REQUEST_OK, true)     /* a real request got a non-5xx answer */           \
	X(PROBE_FAIL, false)    /* the health request failed or answered non-2xx */ \
	X(CONNECT_ERROR, false) /* a real request could not connect */              \
	X(TIMEOUT, false)       /* a real request timed out */                      \
	X(HTTP_5XX, false)      /* a real request was answered 5xx */

enum router_health_event {
#define ROUTER_HEALTH_EV_ENUM(name, ok) ROUTER_HEALTH_EV_##name,
	ROUTER_HEALTH_EVENTS(ROUTER_HEALTH_EV_ENUM)
#undef ROUTER_HEALTH_EV_ENUM
	    ROUTER_HEALTH_EV__COUNT
};

#define ROUTER_HEALTH_SUSPECT_AFTER 2 /* consecutive failures: UP -> SUSPECT */
#define ROUTER_HEALTH_DOWN_AFTER    4 /* consecutive failures: -> DOWN */
#define ROUTER_HEALTH_REVIVE_AFTER  2 /* consecutive successes: DOWN -> SUSPECT */
#define ROUTER_HEALTH_UP_AFTER      3 /* consecutive successes: -> UP */

struct router_health_cfg {
	uint32_t suspect_after;
	uint32_t down_after;
	uint32_t revive_after;
	uint32_t up_after;
};

struct router_health {
	enum router_health_state state;
	uint32_t fails;    /* consecutive failures, saturating */
	uint32_t oks;      /* consecutive successes, saturating */
	uint64_t since_ns; /* time of the last transition (or of init) */
};

/* A transition, for the caller's log. */
struct router_health_change {
	enum router_health_state from, to;
};

/* The defaults above. */
void router_health_cfg_default(struct router_health_cfg *cfg);
/* 0, or ERR_INVALID unless 1 <= suspect_after < down_after and
 * 1 <= revive_after < up_after. */
int router_health_cfg_check(const struct router_health_cfg *cfg);

/* A region starts UP (before its first probe it is given the benefit of the
 * doubt; its unmeasured score keeps it behind measured regions). */
void router_health_init(struct router_health *h, uint64_t now_ns);

/* Apply one event at `now_ns`. Returns true when the state changed, with
 * the transition in *change (may be NULL). `cfg` must pass
 * router_health_cfg_check. */
bool router_health_note(struct router_health *h, const struct router_health_cfg *cfg,
                        enum router_health_event ev, uint64_t now_ns,
                        struct router_health_change *change);

/* Whether the event counts as a success. */
bool router_health_event_ok(enum router_health_event ev);

/* "UP", "SUSPECT", "DOWN" (and "PROBE_OK", ... for events); "?" if out of range. */
const char *router_health_state_name(enum router_health_state s);
const char *router_health_event_name(enum router_health_event ev);

#endif
