/*
 * Region health state machine (rules in health.h). Loop thread of the owning
 * router state only.
 */
#include "router/health.h"

#include <stddef.h>

#include "base/check.h"
#include "base/err.h"

static const char *const state_names[] = {
#define ROUTER_HEALTH_NAME(name) #name,
	ROUTER_HEALTH_STATES(ROUTER_HEALTH_NAME)
#undef ROUTER_HEALTH_NAME
};

static const struct {
	const char *name;
	bool ok;
} events[] = {
#define ROUTER_HEALTH_EV_ROW(name, ok) { #name, ok },
	ROUTER_HEALTH_EVENTS(ROUTER_HEALTH_EV_ROW)
#undef ROUTER_HEALTH_EV_ROW
};

void router_health_cfg_default(struct router_health_cfg *cfg)
{
	cfg->suspect_after = ROUTER_HEALTH_SUSPECT_AFTER;
	cfg->down_after = ROUTER_HEALTH_DOWN_AFTER;
	cfg->revive_after = ROUTER_HEALTH_REVIVE_AFTER;
	cfg->up_after = ROUTER_HEALTH_UP_AFTER;
}

int router_health_cfg_check(const struct router_health_cfg *cfg)
{
	if (cfg->suspect_after < 1 || cfg->down_after <= cfg->suspect_after)
		return ERR_INVALID;
	if (cfg->revive_after < 1 || cfg->up_after <= cfg->revive_after)
		return ERR_INVALID;
	return 0;
}

void router_health_init(struct router_health *h, uint64_t now_ns)
{
	h->state = ROUTER_HEALTH_UP;
	h->fails = 0;
	h->oks = 0;
	h->since_ns = now_ns;
}

bool router_health_event_ok(enum router_health_event ev)
{
	CHECK((unsigned)ev < ROUTER_HEALTH_EV__COUNT);
	return events[ev].ok;
}

/* The state the counters call for, given the current one. */
static enum router_health_state next_state(const struct router_health *h,
                                           const struct router_health_cfg *cfg)
{
	if (h->fails >= cfg->down_after)
		return ROUTER_HEALTH_DOWN;
	if (h->fails >= cfg->suspect_after && h->state == ROUTER_HEALTH_UP)
		return ROUTER_HEALTH_SUSPECT;
	if (h->oks >= cfg->up_after)
		return ROUTER_HEALTH_UP;
	if (h->oks >= cfg->revive_after && h->state == ROUTER_HEALTH_DOWN)
		return ROUTER_HEALTH_SUSPECT;
	return h->state;
}

bool router_health_note(struct router_health *h, const struct router_health_cfg *cfg,
                        enum router_health_event ev, uint64_t now_ns,
                        struct router_health_change *change)
{
	CHECK((unsigned)h->state < ROUTER_HEALTH__COUNT);
	if (router_health_event_ok(ev)) {
		h->fails = 0;
		if (h->oks < UINT32_MAX)
			h->oks++;
	} else {
		h->oks = 0;
		if (h->fails < UINT32_MAX)
			h->fails++;
	}
	enum router_health_state to = next_state(h, cfg);
	if (to == h->state)
		return false;
	if (change != NULL) {
		change->from = h->state;
		change->to = to;
	}
	h->state = to;
	h->since_ns = now_ns;
	return true;
}

const char *router_health_state_name(enum router_health_state s)
{
	return (unsigned)s < ROUTER_HEALTH__COUNT ? state_names[s] : "?";
}

const char *router_health_event_name(enum router_health_event ev)
{
	return (unsigned)ev < ROUTER_HEALTH_EV__COUNT ? events[ev].name : "?";
}
