/* router/health: UP / SUSPECT / DOWN with hysteresis. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "router/health.h"

static struct router_health_cfg cfg;

static int setup(void **state)
{
	(void)state;
	router_health_cfg_default(&cfg);
	return 0;
}

/* Apply ev n times; return how many calls reported a change. */
static int feed(struct router_health *h, enum router_health_event ev, int n, uint64_t *now)
{
	int changes = 0;
	for (int i = 0; i < n; i++) {
		*now += 500;
		changes += router_health_note(h, &cfg, ev, *now, NULL);
	}
	return changes;
}

static void test_cfg_check(void **state)
{
	(void)state;
	assert_int_equal(router_health_cfg_check(&cfg), 0);
	struct router_health_cfg c = cfg;
	c.down_after = c.suspect_after;
	assert_int_equal(router_health_cfg_check(&c), ERR_INVALID);
	c = cfg;
	c.suspect_after = 0;
	assert_int_equal(router_health_cfg_check(&c), ERR_INVALID);
	c = cfg;
	c.up_after = c.revive_after;
	assert_int_equal(router_health_cfg_check(&c), ERR_INVALID);
	c = cfg;
	c.revive_after = 0;
	assert_int_equal(router_health_cfg_check(&c), ERR_INVALID);
}

static void test_failures_go_down_in_steps(void **state)
{
	(void)state;
	struct router_health h;
	uint64_t now = 0;
	router_health_init(&h, now);
	assert_int_equal(h.state, ROUTER_HEALTH_UP);

	struct router_health_change ch;
	memset(&ch, 0, sizeof(ch));
	for (uint32_t i = 1; i < cfg.suspect_after; i++)
		assert_false(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_TIMEOUT, ++now, &ch));
	assert_true(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_CONNECT_ERROR, ++now, &ch));
	assert_int_equal(ch.from, ROUTER_HEALTH_UP);
	assert_int_equal(ch.to, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(h.since_ns, now);

	for (uint32_t i = cfg.suspect_after + 1; i < cfg.down_after; i++)
		assert_false(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_HTTP_5XX, ++now, &ch));
	assert_int_equal(h.state, ROUTER_HEALTH_SUSPECT);
	assert_true(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_PROBE_FAIL, ++now, &ch));
	assert_int_equal(ch.from, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(ch.to, ROUTER_HEALTH_DOWN);

	/* More failures: stays DOWN, no further reports. */
	assert_int_equal(feed(&h, ROUTER_HEALTH_EV_PROBE_FAIL, 50, &now), 0);
	assert_int_equal(h.state, ROUTER_HEALTH_DOWN);
}

static void test_failures_must_be_consecutive(void **state)
{
	(void)state;
	struct router_health h;
	uint64_t now = 0;
	router_health_init(&h, now);
	/* suspect_after - 1 failures, then a success, over and over: stays UP. */
	for (int round = 0; round < 20; round++) {
		assert_int_equal(
		    feed(&h, ROUTER_HEALTH_EV_HTTP_5XX, (int)cfg.suspect_after - 1, &now), 0);
		assert_int_equal(feed(&h, ROUTER_HEALTH_EV_REQUEST_OK, 1, &now), 0);
	}
	assert_int_equal(h.state, ROUTER_HEALTH_UP);
}

static void test_recovery_needs_the_success_thresholds(void **state)
{
	(void)state;
	struct router_health h;
	uint64_t now = 0;
	router_health_init(&h, now);
	feed(&h, ROUTER_HEALTH_EV_PROBE_FAIL, (int)cfg.down_after, &now);
	assert_int_equal(h.state, ROUTER_HEALTH_DOWN);

	struct router_health_change ch;
	for (uint32_t i = 1; i < cfg.revive_after; i++)
		assert_false(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_PROBE_OK, ++now, &ch));
	assert_true(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_PROBE_OK, ++now, &ch));
	assert_int_equal(ch.from, ROUTER_HEALTH_DOWN);
	assert_int_equal(ch.to, ROUTER_HEALTH_SUSPECT);
	for (uint32_t i = cfg.revive_after + 1; i < cfg.up_after; i++)
		assert_false(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_PROBE_OK, ++now, &ch));
	assert_int_equal(h.state, ROUTER_HEALTH_SUSPECT);
	assert_true(router_health_note(&h, &cfg, ROUTER_HEALTH_EV_REQUEST_OK, ++now, &ch));
	assert_int_equal(ch.from, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(ch.to, ROUTER_HEALTH_UP);

	/* From SUSPECT reached by failures, the count starts after the last
	 * failure: up_after successes in a row. */
	feed(&h, ROUTER_HEALTH_EV_TIMEOUT, (int)cfg.suspect_after, &now);
	assert_int_equal(h.state, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(feed(&h, ROUTER_HEALTH_EV_PROBE_OK, (int)cfg.up_after - 1, &now), 0);
	feed(&h, ROUTER_HEALTH_EV_TIMEOUT, 1, &now); /* one failure restarts the count */
	assert_int_equal(feed(&h, ROUTER_HEALTH_EV_PROBE_OK, (int)cfg.up_after - 1, &now), 0);
	assert_int_equal(h.state, ROUTER_HEALTH_SUSPECT);
	assert_int_equal(feed(&h, ROUTER_HEALTH_EV_PROBE_OK, 1, &now), 1);
	assert_int_equal(h.state, ROUTER_HEALTH_UP);
}

static void test_flapping_region_stays_out(void **state)
{
	(void)state;
	struct router_health h;
	uint64_t now = 0;
	router_health_init(&h, now);
	feed(&h, ROUTER_HEALTH_EV_PROBE_FAIL, (int)cfg.down_after, &now);
	/* Alternating success and failure: never back to UP, never SUSPECT
	 * (revive_after is 2 by default, so a single success is not enough). */
	int changes = 0;
	for (int i = 0; i < 100; i++) {
		changes += feed(&h, ROUTER_HEALTH_EV_PROBE_OK, 1, &now);
		changes += feed(&h, ROUTER_HEALTH_EV_PROBE_FAIL, 1, &now);
	}
	assert_int_equal(changes, 0);
	assert_int_equal(h.state, ROUTER_HEALTH_DOWN);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(router_health_state_name(ROUTER_HEALTH_UP), "UP");
	assert_string_equal(router_health_state_name(ROUTER_HEALTH_SUSPECT), "SUSPECT");
	assert_string_equal(router_health_state_name(ROUTER_HEALTH_DOWN), "DOWN");
	assert_string_equal(router_health_state_name(ROUTER_HEALTH__COUNT), "?");
	assert_string_equal(router_health_event_name(ROUTER_HEALTH_EV_HTTP_5XX), "HTTP_5XX");
	assert_true(router_health_event_ok(ROUTER_HEALTH_EV_PROBE_OK));
	assert_true(router_health_event_ok(ROUTER_HEALTH_EV_REQUEST_OK));
	assert_false(router_health_event_ok(ROUTER_HEALTH_EV_PROBE_FAIL));
	assert_false(router_health_event_ok(ROUTER_HEALTH_EV_CONNECT_ERROR));
	assert_false(router_health_event_ok(ROUTER_HEALTH_EV_TIMEOUT));
	assert_false(router_health_event_ok(ROUTER_HEALTH_EV_HTTP_5XX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cfg_check, setup),
		cmocka_unit_test_setup(test_failures_go_down_in_steps, setup),
		cmocka_unit_test_setup(test_failures_must_be_consecutive, setup),
		cmocka_unit_test_setup(test_recovery_needs_the_success_thresholds, setup),
		cmocka_unit_test_setup(test_flapping_region_stays_out, setup),
		cmocka_unit_test_setup(test_names, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
