/* router/select and router/routes: region choice on a fake clock, retries,
 * passive fallback, and versioned route updates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "router/select.h"

#define MS       1000000ull
#define PROBE_MS 500

static const enum router_dial all_active[ROUTER_REGIONS_MAX] = {
	ROUTER_DIAL_ACTIVE, ROUTER_DIAL_ACTIVE, ROUTER_DIAL_ACTIVE, ROUTER_DIAL_ACTIVE
};

static void make(struct router_select *sel, const enum router_dial *dial, uint32_t n, bool fallback)
{
	struct router_select_cfg cfg;
	router_select_cfg_default(&cfg);
	cfg.passive_fallback = fallback;
	struct router_routes r;
	assert_int_equal(router_routes_init(&r, dial, n), 0);
	assert_int_equal(router_select_init(sel, &cfg, &r, 0), 0);
}

static uint32_t pick(const struct router_select *sel, uint32_t tried)
{
	struct router_choice c;
	assert_int_equal(router_select_pick(sel, tried, &c), 0);
	return c.region;
}

/* One probe round at `now`: region i answers in rtt_ms[i]. */
static void probe(struct router_select *sel, const uint64_t *rtt_ms, uint64_t now)
{
	for (uint32_t i = 0; i < sel->routes.n; i++) {
		router_select_sample(sel, i, now, rtt_ms[i] * MS);
		router_select_note(sel, i, ROUTER_HEALTH_EV_PROBE_OK, now, NULL);
	}
}

/* Real requests between probes: each goes where the router says and its
 * latency is that region's round trip. Returns how many went to region 0. */
static int requests(struct router_select *sel, const uint64_t *rtt_ms, uint64_t from, int n)
{
	int to0 = 0;
	for (int k = 0; k < n; k++) {
		uint32_t r = pick(sel, 0);
		uint64_t now = from + (uint64_t)k * (PROBE_MS * MS / (uint64_t)n);
		router_select_begin(sel, r);
		router_select_sample(sel, r, now, rtt_ms[r] * MS);
		router_select_end(sel, r);
		to0 += r == 0;
	}
	return to0;
}

static void test_near_region_wins_and_swap_follows(void **state)
{
	(void)state;
	struct router_select sel;
	make(&sel, all_active, 2, true);
	/* Behind wan relays of 5 ms and 60 ms: round trips of 10 and 120 ms. */
	uint64_t rtt[2] = { 10, 120 };
	uint64_t t = 0;
	int to0 = 0, total = 0;
	for (int round = 0; round < 20; round++, t += PROBE_MS * MS) {
		probe(&sel, rtt, t);
		to0 += requests(&sel, rtt, t, 50);
		total += 50;
	}
	assert_true(to0 * 100 >= total * 99);

	/* Swap the delays: traffic must follow within 2 s. */
	rtt[0] = 120;
	rtt[1] = 10;
	uint64_t swapped = t, moved = 0;
	for (; t < swapped + 4000 * MS; t += PROBE_MS * MS) {
		probe(&sel, rtt, t);
		requests(&sel, rtt, t, 50);
		if (moved == 0 && pick(&sel, 0) == 1)
			moved = t;
	}
	assert_true(moved != 0);
	assert_true(moved - swapped <= 2000 * MS);
	assert_int_equal(pick(&sel, 0), 1);
	/* The far region's estimate converged toward its new 10 ms. */
	assert_true(router_select_score(&sel, 1) < 20.0 * MS);
}

static void test_inflight_spills_to_far_region(void **state)
{
	(void)state;
	struct router_select sel;
	make(&sel, all_active, 2, true);
	uint64_t rtt[2] = { 10, 120 };
	probe(&sel, rtt, 0);
	/* 10 ms * (1 + inflight / 16) reaches 120 ms at 176 in flight (a tie
	 * goes to the lower index); one more and the far region wins. */
	for (int i = 0; i < 11 * ROUTER_SCORE_LOAD_SHARE; i++)
		router_select_begin(&sel, 0);
	assert_int_equal(pick(&sel, 0), 0);
	router_select_begin(&sel, 0);
	assert_int_equal(pick(&sel, 0), 1);
	router_select_end(&sel, 0);
	assert_int_equal(pick(&sel, 0), 0);
}

static void test_dead_region_avoided_then_readmitted(void **state)
{
	(void)state;
	struct router_select sel;
	make(&sel, all_active, 2, true);
	const struct router_health_cfg *hc = &sel.cfg.health;
	uint64_t rtt[2] = { 10, 120 };
	uint64_t t = 0;
	probe(&sel, rtt, t);
	assert_int_equal(pick(&sel, 0), 0);

	/* The near store dies: connect errors, then failed probes. */
	struct router_health_change ch;
	uint32_t fails = 0;
	while (sel.region[0].health.state != ROUTER_HEALTH_DOWN) {
		t += MS;
		bool changed = router_select_note(&sel, 0, ROUTER_HEALTH_EV_CONNECT_ERROR, t, &ch);
		fails++;
		if (fails < hc->suspect_after)
			assert_int_equal(pick(&sel, 0), 0);
		else
			assert_int_equal(pick(&sel, 0), 1); /* SUSPECT already loses to UP */
		if (changed)
			assert_int_equal(ch.to, sel.region[0].health.state);
	}
	assert_int_equal(fails, hc->down_after);
	for (int i = 0; i < 10; i++) {
		t += PROBE_MS * MS;
		router_select_note(&sel, 0, ROUTER_HEALTH_EV_PROBE_FAIL, t, NULL);
		assert_int_equal(pick(&sel, 0), 1);
	}

	/* It comes back: only after up_after successful probes in a row. */
	for (uint32_t i = 1; i < hc->up_after; i++) {
		t += PROBE_MS * MS;
		router_select_sample(&sel, 0, t, rtt[0] * MS);
		router_select_note(&sel, 0, ROUTER_HEALTH_EV_PROBE_OK, t, NULL);
		assert_int_equal(pick(&sel, 0), 1);
	}
	t += PROBE_MS * MS;
	router_select_sample(&sel, 0, t, rtt[0] * MS);
	assert_true(router_select_note(&sel, 0, ROUTER_HEALTH_EV_PROBE_OK, t, &ch));
	assert_int_equal(ch.to, ROUTER_HEALTH_UP);
	assert_int_equal(pick(&sel, 0), 0);
}

static void test_suspect_used_only_without_up(void **state)
{
	(void)state;
	struct router_select sel;
	make(&sel, all_active, 2, true);
	uint64_t rtt[2] = { 10, 120 };
	probe(&sel, rtt, 0);
	for (uint32_t i = 0; i < sel.cfg.health.suspect_after; i++)
		router_select_note(&sel, 0, ROUTER_HEALTH_EV_HTTP_5XX, 1, NULL);
	assert_int_equal(sel.region[0].health.state, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(pick(&sel, 0), 1);
	for (uint32_t i = 0; i < sel.cfg.health.down_after; i++)
		router_select_note(&sel, 1, ROUTER_HEALTH_EV_TIMEOUT, 2, NULL);
	struct router_choice c;
	assert_int_equal(router_select_pick(&sel, 0, &c), 0);
	assert_int_equal(c.region, 0);
	assert_int_equal(c.reason, ROUTER_SELECT_SUSPECT);
	assert_string_equal(router_select_reason_name(c.reason), "SUSPECT");
}

static void test_passive_fallback(void **state)
{
	(void)state;
	static const enum router_dial dial[2] = { ROUTER_DIAL_ACTIVE, ROUTER_DIAL_PASSIVE };
	uint64_t rtt[2] = { 120, 10 };
	for (int on = 0; on <= 1; on++) {
		struct router_select sel;
		make(&sel, dial, 2, on);
		probe(&sel, rtt, 0);
		/* The passive region is nearer but gets nothing while A serves. */
		struct router_choice c;
		assert_int_equal(router_select_pick(&sel, 0, &c), 0);
		assert_int_equal(c.region, 0);
		assert_int_equal(c.reason, ROUTER_SELECT_LATENCY);
		for (uint32_t i = 0; i < sel.cfg.health.down_after; i++)
			router_select_note(&sel, 0, ROUTER_HEALTH_EV_CONNECT_ERROR, 1, NULL);
		int rc = router_select_pick(&sel, 0, &c);
		if (on) {
			assert_int_equal(rc, 0);
			assert_int_equal(c.region, 1);
			assert_int_equal(c.reason, ROUTER_SELECT_PASSIVE);
		} else {
			assert_int_equal(rc, ERR_ROUTER_NO_REGION);
			assert_int_equal(err_http_status(rc), 503);
		}
	}
}

static void test_retry_order_and_tie_break(void **state)
{
	(void)state;
	static const enum router_dial dial[4] = { ROUTER_DIAL_ACTIVE, ROUTER_DIAL_ACTIVE,
		                                  ROUTER_DIAL_PASSIVE, ROUTER_DIAL_ACTIVE };
	struct router_select sel;
	make(&sel, dial, 4, true);
	/* Nothing measured: all equal, the lowest index first. */
	assert_int_equal(pick(&sel, 0), 0);
	assert_int_equal(pick(&sel, 1u << 0), 1);

	uint64_t rtt[4] = { 30, 20, 5, 20 };
	probe(&sel, rtt, 0);
	/* 1 and 3 tie at 20 ms: 1 first; then 0; the passive one last. */
	uint32_t tried = 0, order[4];
	for (int k = 0; k < 4; k++) {
		order[k] = pick(&sel, tried);
		tried |= 1u << order[k];
	}
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 0);
	assert_int_equal(order[3], 2);
	struct router_choice c;
	assert_int_equal(router_select_pick(&sel, tried, &c), ERR_ROUTER_NO_REGION);

	/* A DOWN region is skipped by retries too. */
	for (uint32_t i = 0; i < sel.cfg.health.down_after; i++)
		router_select_note(&sel, 3, ROUTER_HEALTH_EV_TIMEOUT, 1, NULL);
	assert_int_equal(pick(&sel, 1u << 1), 0);
}

static void test_routes_submit(void **state)
{
	(void)state;
	struct router_routes r;
	static const enum router_dial none[2] = { ROUTER_DIAL_PASSIVE, ROUTER_DIAL_PASSIVE };
	assert_int_equal(router_routes_init(&r, none, 2), ERR_ROUTER_NO_ACTIVE);
	assert_int_equal(router_routes_init(&r, all_active, 0), ERR_INVALID);
	assert_int_equal(router_routes_init(&r, all_active, ROUTER_REGIONS_MAX + 1), ERR_INVALID);
	assert_int_equal(router_routes_init(&r, all_active, 2), 0);
	assert_int_equal(r.version, 1);

	/* Set region 0 passive, based on version 1. */
	struct router_route_update u = { 0, ROUTER_DIAL_PASSIVE };
	uint64_t v = 0;
	assert_int_equal(router_routes_submit(&r, 1, &u, 1, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(r.dial[0], ROUTER_DIAL_PASSIVE);
	assert_int_equal(r.dial[1], ROUTER_DIAL_ACTIVE);

	/* A second writer still holding version 1 is refused with 409. */
	struct router_route_update u2 = { 0, ROUTER_DIAL_ACTIVE };
	int rc = router_routes_submit(&r, 1, &u2, 1, &v);
	assert_int_equal(rc, ERR_ROUTER_STALE_ROUTES);
	assert_int_equal(err_http_status(rc), 409);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.dial[0], ROUTER_DIAL_PASSIVE);

	/* The last active region cannot go passive; nothing changes. */
	struct router_route_update last = { 1, ROUTER_DIAL_PASSIVE };
	rc = router_routes_submit(&r, 2, &last, 1, &v);
	assert_int_equal(rc, ERR_ROUTER_NO_ACTIVE);
	assert_int_equal(err_http_status(rc), 400);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.dial[1], ROUTER_DIAL_ACTIVE);

	/* Swapping both at once (the console's failover) is one atomic update. */
	struct router_route_update swap[2] = { { 0, ROUTER_DIAL_ACTIVE },
		                               { 1, ROUTER_DIAL_PASSIVE } };
	assert_int_equal(router_routes_submit(&r, 2, swap, 2, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(r.dial[0], ROUTER_DIAL_ACTIVE);
	assert_int_equal(r.dial[1], ROUTER_DIAL_PASSIVE);

	/* Bad updates: unknown region, a region named twice. */
	struct router_route_update bad = { 2, ROUTER_DIAL_ACTIVE };
	assert_int_equal(router_routes_submit(&r, 3, &bad, 1, &v), ERR_INVALID);
	struct router_route_update twice[2] = { { 1, ROUTER_DIAL_ACTIVE },
		                                { 1, ROUTER_DIAL_PASSIVE } };
	assert_int_equal(router_routes_submit(&r, 3, twice, 2, &v), ERR_INVALID);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.dial[1], ROUTER_DIAL_PASSIVE);

	/* Unconditional update. */
	assert_int_equal(router_routes_submit(&r, ROUTER_ROUTES_ANY, &u2, 1, NULL), 0);
	assert_int_equal(r.version, 4);

	enum router_dial d;
	assert_int_equal(router_routes_dial_from_percent(0, &d), 0);
	assert_int_equal(d, ROUTER_DIAL_PASSIVE);
	assert_int_equal(router_routes_dial_from_percent(100, &d), 0);
	assert_int_equal(d, ROUTER_DIAL_ACTIVE);
	assert_int_equal(router_routes_dial_from_percent(50, &d), ERR_INVALID);
	assert_int_equal(router_routes_dial_from_percent(-1, &d), ERR_INVALID);
}

static void test_passive_dial_moves_traffic_at_once(void **state)
{
	(void)state;
	struct router_routes r;
	assert_int_equal(router_routes_init(&r, all_active, 2), 0);
	struct router_select_cfg cfg;
	router_select_cfg_default(&cfg);
	struct router_select sel;
	assert_int_equal(router_select_init(&sel, &cfg, &r, 0), 0);
	uint64_t rtt[2] = { 10, 120 };
	probe(&sel, rtt, 0);
	assert_int_equal(pick(&sel, 0), 0);

	struct router_routes old = r;
	struct router_route_update u = { 0, ROUTER_DIAL_PASSIVE };
	assert_int_equal(router_routes_submit(&r, 1, &u, 1, NULL), 0);
	assert_int_equal(router_select_set_routes(&sel, &r), 0);
	assert_int_equal(pick(&sel, 0), 1);
	/* A late copy of the older table is ignored. */
	assert_int_equal(router_select_set_routes(&sel, &old), 0);
	assert_int_equal(sel.routes.version, 2);
	assert_int_equal(pick(&sel, 0), 1);

	struct router_routes three;
	assert_int_equal(router_routes_init(&three, all_active, 3), 0);
	three.version = 9;
	assert_int_equal(router_select_set_routes(&sel, &three), ERR_INVALID);
}

static void test_init_rejects_bad_cfg(void **state)
{
	(void)state;
	struct router_routes r;
	assert_int_equal(router_routes_init(&r, all_active, 2), 0);
	struct router_select_cfg cfg;
	router_select_cfg_default(&cfg);
	cfg.score.tau_ns = 0;
	struct router_select sel;
	assert_int_equal(router_select_init(&sel, &cfg, &r, 0), ERR_INVALID);
	router_select_cfg_default(&cfg);
	cfg.health.down_after = 1;
	assert_int_equal(router_select_init(&sel, &cfg, &r, 0), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_near_region_wins_and_swap_follows),
		cmocka_unit_test(test_inflight_spills_to_far_region),
		cmocka_unit_test(test_dead_region_avoided_then_readmitted),
		cmocka_unit_test(test_suspect_used_only_without_up),
		cmocka_unit_test(test_passive_fallback),
		cmocka_unit_test(test_retry_order_and_tie_break),
		cmocka_unit_test(test_routes_submit),
		cmocka_unit_test(test_passive_dial_moves_traffic_at_once),
		cmocka_unit_test(test_init_rejects_bad_cfg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
