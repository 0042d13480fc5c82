/* router/score: peak-EWMA latency estimate and load factor, on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "router/score.h"

#define MS 1000000ull

static struct router_score_cfg cfg_tau(uint64_t tau_ms)
{
	struct router_score_cfg c;
	router_score_cfg_default(&c);
	c.tau_ns = tau_ms * MS;
	return c;
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-6 * want) {
		print_error("got %.6f want %.6f\n", got, want);
		fail();
	}
}

static void test_unsampled_and_first_sample(void **state)
{
	(void)state;
	struct router_score_cfg c = cfg_tau(1000);
	c.initial_ns = 700 * MS;
	struct router_score s;
	router_score_init(&s);
	assert_near(router_score_ewma(&s, &c), 700.0 * MS);
	assert_near(router_score_value(&s, &c), 700.0 * MS);
	/* The first sample is the estimate, even far below the initial one. */
	router_score_sample(&s, &c, 5000 * MS, 10 * MS);
	assert_near(router_score_ewma(&s, &c), 10.0 * MS);
}

static void test_peak_jumps_at_once(void **state)
{
	(void)state;
	struct router_score_cfg c = cfg_tau(1000);
	struct router_score s;
	router_score_init(&s);
	router_score_sample(&s, &c, 0, 10 * MS);
	router_score_sample(&s, &c, 1 * MS, 80 * MS); /* 1 ms later: no smoothing up */
	assert_near(router_score_ewma(&s, &c), 80.0 * MS);
	/* A lower sample with no time passed moves nothing. */
	router_score_sample(&s, &c, 1 * MS, 10 * MS);
	assert_near(router_score_ewma(&s, &c), 80.0 * MS);
}

static void test_decay_half_life(void **state)
{
	(void)state;
	const uint64_t tau_ms = 1500;
	struct router_score_cfg c = cfg_tau(tau_ms);
	uint64_t half = (uint64_t)llround((double)tau_ms * log(2.0) * 1e6); /* ns */
	struct router_score s;

	/* 100 ms estimate, 10 ms sample one half-life later: halfway, 55 ms. */
	router_score_init(&s);
	router_score_sample(&s, &c, 1000 * MS, 100 * MS);
	router_score_sample(&s, &c, 1000 * MS + half, 10 * MS);
	assert_near(router_score_ewma(&s, &c), 55.0 * MS);

	/* One tau later: 10 + 90 / e. */
	router_score_init(&s);
	router_score_sample(&s, &c, 0, 100 * MS);
	router_score_sample(&s, &c, tau_ms * MS, 10 * MS);
	assert_near(router_score_ewma(&s, &c), (10.0 + 90.0 / exp(1.0)) * MS);

	/* The weight follows elapsed time, not the number of samples: ten
	 * samples spread over one half-life land where one sample would. */
	router_score_init(&s);
	router_score_sample(&s, &c, 0, 100 * MS);
	for (int i = 1; i <= 10; i++)
		router_score_sample(&s, &c, half * (uint64_t)i / 10, 10 * MS);
	assert_near(router_score_ewma(&s, &c), 55.0 * MS);
}

static void test_clock_backwards_counts_as_no_time(void **state)
{
	(void)state;
	struct router_score_cfg c = cfg_tau(1000);
	struct router_score s;
	router_score_init(&s);
	router_score_sample(&s, &c, 5000 * MS, 100 * MS);
	router_score_sample(&s, &c, 4000 * MS, 10 * MS);
	assert_near(router_score_ewma(&s, &c), 100.0 * MS);
	/* ... and the later sample still decays from the newest time seen. */
	router_score_sample(&s, &c, 5000 * MS + 1000 * MS, 10 * MS);
	assert_near(router_score_ewma(&s, &c), (10.0 + 90.0 / exp(1.0)) * MS);
}

static void test_inflight_load_factor(void **state)
{
	(void)state;
	struct router_score_cfg c = cfg_tau(1000);
	struct router_score s;
	router_score_init(&s);
	router_score_sample(&s, &c, 0, 10 * MS);
	router_score_begin(&s);
	router_score_begin(&s);
	router_score_begin(&s);
	assert_near(router_score_value(&s, &c), 10.0 * (1 + 3.0 / ROUTER_SCORE_LOAD_SHARE) * MS);
	assert_near(router_score_ewma(&s, &c), 10.0 * MS);
	router_score_end(&s);
	assert_near(router_score_value(&s, &c), 10.0 * (1 + 2.0 / ROUTER_SCORE_LOAD_SHARE) * MS);
	router_score_end(&s);
	router_score_end(&s);
	assert_near(router_score_value(&s, &c), 10.0 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsampled_and_first_sample),
		cmocka_unit_test(test_peak_jumps_at_once),
		cmocka_unit_test(test_decay_half_life),
		cmocka_unit_test(test_clock_backwards_counts_as_no_time),
		cmocka_unit_test(test_inflight_load_factor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
