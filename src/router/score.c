/*
 * Peak-EWMA latency score (formula in score.h). Loop thread of the owning
 * router state only.
 */
#include "router/score.h"

#include <math.h>

#include "base/check.h"

void router_score_cfg_default(struct router_score_cfg *cfg)
{
	cfg->tau_ns = (uint64_t)ROUTER_SCORE_TAU_MS * 1000000u;
	cfg->initial_ns = (uint64_t)ROUTER_SCORE_INITIAL_MS * 1000000u;
}

void router_score_init(struct router_score *s)
{
	s->ewma_ns = 0;
	s->last_ns = 0;
	s->inflight = 0;
	s->sampled = false;
}

void router_score_sample(struct router_score *s, const struct router_score_cfg *cfg,
                         uint64_t now_ns, uint64_t rtt_ns)
{
	CHECK(cfg->tau_ns > 0);
	double x = (double)rtt_ns;
	if (!s->sampled || x > s->ewma_ns) {
		s->ewma_ns = x;
	} else {
		uint64_t dt = now_ns > s->last_ns ? now_ns - s->last_ns : 0;
		double w = exp(-(double)dt / (double)cfg->tau_ns);
		s->ewma_ns = s->ewma_ns * w + x * (1.0 - w);
	}
	s->sampled = true;
	if (now_ns > s->last_ns)
		s->last_ns = now_ns;
}

void router_score_begin(struct router_score *s)
{
	CHECK(s->inflight < UINT32_MAX);
	s->inflight++;
}

void router_score_end(struct router_score *s)
{
	CHECK(s->inflight > 0);
	s->inflight--;
}

double router_score_ewma(const struct router_score *s, const struct router_score_cfg *cfg)
{
	return s->sampled ? s->ewma_ns : (double)cfg->initial_ns;
}

double router_score_value(const struct router_score *s, const struct router_score_cfg *cfg)
{
	return router_score_ewma(s, cfg) * (1.0 + (double)s->inflight / ROUTER_SCORE_LOAD_SHARE);
}
