/*
 * Latency score of one region: a peak-EWMA estimate of its round-trip time
 * (after Finagle's and Linkerd's peak EWMA load balancers) times a load
 * factor from the requests in flight to it.
 *
 *   sample s at time t, estimate e updated last at t0, dt = t - t0:
 *     no estimate yet:  e = s
 *     s > e:            e = s                          (peak: jump up at once)
 *     otherwise:        w = exp(-dt / tau)
 *                       e = e * w + s * (1 - w)        (decay toward s)
 *   score = e * (1 + inflight / ROUTER_SCORE_LOAD_SHARE); with no sample
 *   yet e is cfg.initial_ns.
 *
 * The load factor is gentler than Finagle's (inflight + 1): regions here
 * differ mostly by network distance, which requests in flight do not
 * lengthen, so a near region must hold ROUTER_SCORE_LOAD_SHARE * (ratio - 1)
 * requests before a region `ratio` times farther wins (150 for 10 ms against
 * 120 ms). Real queueing shows up sooner anyway: the peak estimate believes
 * a slower answer at once.
 *
 * A slower region is believed at once, a faster one only as its samples keep
 * coming: the estimate halves its distance to a steady lower latency every
 * tau * ln 2. The decay weight depends on the time since the last update, not
 * on the number of samples, so a burst of real requests moves the estimate no
 * faster than the probes alone would.
 *
 * Samples come from active probes (round trip of a health request) and from
 * real requests (time to the response head). Failed attempts are not
 * samples: a refused connection is fast and must not make a region look near;
 * they go to the health state machine (router/health.h) instead.
 *
 * Pure code: no clock reads; times are monotonic nanoseconds passed in.
 * Thread: the loop thread that owns the router state holding the score.
 */
#ifndef MERIDIAN_ROUTER_SCORE_H
#define MERIDIAN_ROUTER_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#define ROUTER_SCORE_TAU_MS     1000 /* decay time constant (half-life 693 ms) */
#define ROUTER_SCORE_INITIAL_MS 1000 /* estimate of a region never measured */
#define ROUTER_SCORE_LOAD_SHARE 16   /* each request in flight adds 1/16 of e */

struct router_score_cfg {
	uint64_t tau_ns;     /* > 0 */
	uint64_t initial_ns; /* estimate before the first sample */
};

struct router_score {
	double ewma_ns;    /* estimate; meaningful once sampled */
	uint64_t last_ns;  /* time of the last sample */
	uint32_t inflight; /* requests sent and not yet finished */
	bool sampled;
};

/* The defaults above. */
void router_score_cfg_default(struct router_score_cfg *cfg);

/* A region with no sample and nothing in flight. */
void router_score_init(struct router_score *s);

/* Feed one round trip of `rtt_ns` measured at `now_ns`. A `now_ns` earlier
 * than the last sample's counts as no time passed. */
void router_score_sample(struct router_score *s, const struct router_score_cfg *cfg,
                         uint64_t now_ns, uint64_t rtt_ns);

/* A request to the region starts / finishes (every begin gets one end). */
void router_score_begin(struct router_score *s);
void router_score_end(struct router_score *s);

/* The latency estimate in nanoseconds (cfg->initial_ns before any sample). */
double router_score_ewma(const struct router_score *s, const struct router_score_cfg *cfg);

/* The score: estimate * (1 + inflight / ROUTER_SCORE_LOAD_SHARE). Lower is better. */
double router_score_value(const struct router_score *s, const struct router_score_cfg *cfg);

#endif
