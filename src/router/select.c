/*
 * Region selection (rules in select.h). Owning loop thread only.
 */
#include "router/select.h"

#include <string.h>

#include "base/check.h"
#include "base/err.h"

static const char *const reason_names[] = {
#define ROUTER_SELECT_REASON_NAME(name) #name,
	ROUTER_SELECT_REASONS(ROUTER_SELECT_REASON_NAME)
#undef ROUTER_SELECT_REASON_NAME
};

#define TIER_NONE 4 /* not eligible */

_Static_assert(ROUTER_REGIONS_MAX <= 32, "the tried set is a 32-bit mask");

void router_select_cfg_default(struct router_select_cfg *cfg)
{
	router_score_cfg_default(&cfg->score);
	router_health_cfg_default(&cfg->health);
	cfg->passive_fallback = true;
}

int router_select_init(struct router_select *sel, const struct router_select_cfg *cfg,
                       const struct router_routes *routes, uint64_t now_ns)
{
	if (cfg->score.tau_ns == 0 || router_health_cfg_check(&cfg->health) != 0)
		return ERR_INVALID;
	if (routes->n == 0 || routes->n > ROUTER_REGIONS_MAX)
		return ERR_INVALID;
	memset(sel, 0, sizeof(*sel));
	sel->magic = ROUTER_SELECT_MAGIC;
	sel->cfg = *cfg;
	sel->routes = *routes;
	for (uint32_t i = 0; i < routes->n; i++) {
		router_score_init(&sel->region[i].score);
		router_health_init(&sel->region[i].health, now_ns);
	}
	return 0;
}

int router_select_set_routes(struct router_select *sel, const struct router_routes *routes)
{
	CHECK_MAGIC(sel, ROUTER_SELECT_MAGIC);
	if (routes->n != sel->routes.n)
		return ERR_INVALID;
	if (routes->version > sel->routes.version)
		sel->routes = *routes;
	return 0;
}

static struct router_region_state *region(struct router_select *sel, uint32_t i)
{
	CHECK_MAGIC(sel, ROUTER_SELECT_MAGIC);
	CHECK(i < sel->routes.n);
	return &sel->region[i];
}

void router_select_sample(struct router_select *sel, uint32_t i, uint64_t now_ns, uint64_t rtt_ns)
{
	router_score_sample(&region(sel, i)->score, &sel->cfg.score, now_ns, rtt_ns);
}

void router_select_begin(struct router_select *sel, uint32_t i)
{
	router_score_begin(&region(sel, i)->score);
}

void router_select_end(struct router_select *sel, uint32_t i)
{
	router_score_end(&region(sel, i)->score);
}

bool router_select_note(struct router_select *sel, uint32_t i, enum router_health_event ev,
                        uint64_t now_ns, struct router_health_change *change)
{
	return router_health_note(&region(sel, i)->health, &sel->cfg.health, ev, now_ns, change);
}

double router_select_score(const struct router_select *sel, uint32_t i)
{
	CHECK_MAGIC(sel, ROUTER_SELECT_MAGIC);
	CHECK(i < sel->routes.n);
	return router_score_value(&sel->region[i].score, &sel->cfg.score);
}

/* 0..3 as in select.h's tier list, TIER_NONE when not eligible. */
static unsigned tier(const struct router_select *sel, uint32_t i)
{
	enum router_health_state h = sel->region[i].health.state;
	if (h == ROUTER_HEALTH_DOWN)
		return TIER_NONE;
	unsigned t = h == ROUTER_HEALTH_UP ? 0 : 1;
	if (sel->routes.dial[i] == ROUTER_DIAL_ACTIVE)
		return t;
	return sel->cfg.passive_fallback ? 2 + t : TIER_NONE;
}

int router_select_pick(const struct router_select *sel, uint32_t tried, struct router_choice *out)
{
	CHECK_MAGIC(sel, ROUTER_SELECT_MAGIC);
	unsigned best_tier = TIER_NONE;
	double best_score = 0;
	uint32_t best = 0;
	for (uint32_t i = 0; i < sel->routes.n; i++) {
		if (tried & (1u << i))
			continue;
		unsigned t = tier(sel, i);
		if (t == TIER_NONE || t > best_tier)
			continue;
		double s = router_score_value(&sel->region[i].score, &sel->cfg.score);
		/* Strictly better only: on equal scores the lower index, seen first, stays. */
		if (t < best_tier || s < best_score) {
			best_tier = t;
			best_score = s;
			best = i;
		}
	}
	if (best_tier == TIER_NONE)
		return ERR_ROUTER_NO_REGION;
	static const enum router_select_reason reason_of_tier[] = { ROUTER_SELECT_LATENCY,
		                                                    ROUTER_SELECT_SUSPECT,
		                                                    ROUTER_SELECT_PASSIVE,
		                                                    ROUTER_SELECT_PASSIVE };
	out->region = best;
	out->reason = reason_of_tier[best_tier];
	out->score = best_score;
	return 0;
}

const char *router_select_reason_name(enum router_select_reason r)
{
	return (unsigned)r < ROUTER_SELECT__COUNT ? reason_names[r] : "?";
}
