/*
 * The hybrid logical clock: monotonic under a stuck or backward wall clock,
 * observe() merges remote time and refuses absurd drift, the logical counter
 * carries into the milliseconds, and many threads never get the same tick.
 * Version ids: fixed length, URL-safe, byte order = (ts, region) order, and
 * parse inverts format.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hlc.h"

static void hlc_follows_wall_clock(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	assert_int_equal(hlc_last(&h), 0);
	uint64_t a = hlc_tick(&h, 1000);
	assert_int_equal(hlc_ms(a), 1000);
	assert_int_equal(hlc_logical(a), 0);
	uint64_t b = hlc_tick(&h, 1005);
	assert_int_equal(b, hlc_make(1005, 0));
	assert_int_equal(hlc_last(&h), b);
}

static void hlc_monotonic_when_wall_stalls_or_steps_back(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	uint64_t prev = hlc_tick(&h, 5000);
	for (int i = 0; i < 100; i++) {
		uint64_t t = hlc_tick(&h, i % 2 ? 5000 : 4000); /* stuck, then behind */
		assert_true(t > prev);
		assert_int_equal(hlc_ms(t), 5000);
		assert_int_equal(hlc_logical(t), (uint16_t)(i + 1));
		prev = t;
	}
	/* The wall clock overtakes: logical resets. */
	uint64_t t = hlc_tick(&h, 6000);
	assert_int_equal(t, hlc_make(6000, 0));
}

static void hlc_logical_overflow_carries(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	assert_int_equal(hlc_observe_at(&h, hlc_make(7000, 0xffff), 7000), 0);
	uint64_t t = hlc_tick(&h, 7000);
	assert_int_equal(t, hlc_make(7001, 0));
}

static void hlc_observe_merges_remote(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	hlc_tick(&h, 1000);
	/* A remote clock 3 s ahead: our next tick orders after it. */
	uint64_t remote = hlc_make(4000, 7);
	assert_int_equal(hlc_observe_at(&h, remote, 1000), 0);
	uint64_t t = hlc_tick(&h, 1001);
	assert_true(t > remote);
	assert_int_equal(t, remote + 1);
	/* An older remote changes nothing. */
	assert_int_equal(hlc_observe_at(&h, hlc_make(10, 0), 1001), 0);
	assert_int_equal(hlc_last(&h), t);
}

static void hlc_observe_refuses_drift(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	uint64_t t = hlc_tick(&h, 1000);
	assert_int_equal(hlc_observe_at(&h, hlc_make(1000 + HLC_MAX_DRIFT_MS + 1, 0), 1000),
	                 ERR_INVALID);
	assert_int_equal(hlc_last(&h), t);
	assert_int_equal(hlc_observe_at(&h, hlc_make(1000 + HLC_MAX_DRIFT_MS, 0), 1000), 0);
	assert_int_equal(hlc_observe_at(&h, HLC_TS_MAX + 1, UINT64_MAX >> 16), ERR_INVALID);
}

static void hlc_now_uses_real_time(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	uint64_t a = hlc_now(&h), b = hlc_now(&h);
	assert_true(b > a);
	assert_true(hlc_ms(a) > 1600000000000ull); /* after 2020 */
	assert_int_equal(hlc_observe(&h, b + 5), 0);
	assert_true(hlc_now(&h) > b + 5);
}

#define THREADS 4
#define TICKS   20000

struct tick_arg {
	struct hlc *h;
	uint64_t *out;
};

static void *ticker(void *p)
{
	struct tick_arg *a = p;
	for (int i = 0; i < TICKS; i++)
		a->out[i] = hlc_now(a->h);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void hlc_threads_get_unique_increasing_ticks(void **state)
{
	(void)state;
	struct hlc h;
	hlc_init(&h);
	uint64_t *all = calloc(THREADS * TICKS, sizeof(uint64_t));
	assert_non_null(all);
	pthread_t t[THREADS];
	struct tick_arg args[THREADS];
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct tick_arg){ &h, all + i * TICKS };
		assert_int_equal(pthread_create(&t[i], NULL, ticker, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		for (int j = 1; j < TICKS; j++)
			assert_true(all[i * TICKS + j] > all[i * TICKS + j - 1]);
	qsort(all, THREADS * TICKS, sizeof(uint64_t), cmp_u64);
	for (int i = 1; i < THREADS * TICKS; i++)
		assert_true(all[i] != all[i - 1]);
	free(all);
}

static void version_id_round_trip(void **state)
{
	(void)state;
	static const struct {
		uint64_t ts;
		uint16_t region;
	} cases[] = {
		{ 0, 0 },
		{ 1, 0 },
		{ 0, 1 },
		{ HLC_TS_MAX, 0xffff },
		{ 0x0123456789abcdefull, 0xbeef },
		{ 1700000000000ull << 16 | 42, 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[HLC_VERSION_ID_LEN + 1];
		memset(id, '#', sizeof(id));
		hlc_version_id(cases[i].ts, cases[i].region, id);
		assert_int_equal(strlen(id), HLC_VERSION_ID_LEN);
		for (size_t k = 0; k < HLC_VERSION_ID_LEN; k++)
			assert_non_null(strchr("0123456789abcdefghijklmnopqrstuv", id[k]));
		uint64_t ts = 1;
		uint16_t region = 1;
		assert_int_equal(hlc_version_parse(iov_cstr(id), &ts, &region), 0);
		assert_int_equal(ts, cases[i].ts);
		assert_int_equal(region, cases[i].region);
	}
	char id[HLC_VERSION_ID_LEN + 1];
	hlc_version_id(0, 0, id);
	assert_string_equal(id, "0000000000000000");
	hlc_version_id(0, 1, id);
	assert_string_equal(id, "0000000000000001");
	hlc_version_id(1, 0, id);
	assert_string_equal(id, "0000000000002000"); /* 1 << 16 = 2 * 32^3 */
}

/* Byte-wise order of ids equals (ts, region) order, over pseudo-random pairs. */
static void version_id_sorts_like_time(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		uint64_t v[2];
		uint16_t r[2];
		for (int k = 0; k < 2; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v[k] = (x >> 1) >> (x % 40); /* spread over magnitudes, <= 2^63 - 1 */
			r[k] = (uint16_t)(x >> 3);
		}
		if (i % 5 == 0)
			v[1] = v[0]; /* ties on ts: region decides */
		char a[HLC_VERSION_ID_LEN + 1], b[HLC_VERSION_ID_LEN + 1];
		hlc_version_id(v[0], r[0], a);
		hlc_version_id(v[1], r[1], b);
		int want = v[0] != v[1] ? (v[0] < v[1] ? -1 : 1) : (r[0] > r[1]) - (r[0] < r[1]);
		int got = memcmp(a, b, HLC_VERSION_ID_LEN);
		got = (got > 0) - (got < 0);
		if (got != want)
			fail_msg("%s vs %s: got %d want %d", a, b, got, want);
	}
}

static void version_id_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"null",
		"",
		"000000000000000",   /* 15 */
		"00000000000000000", /* 17 */
		"000000000000000w",  /* out of alphabet */
		"000000000000000A",  /* uppercase */
		"00000000-0000000",
		"g000000000000000", /* ts >= 2^63 */
		"v000000000000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ts;
		uint16_t r;
		if (hlc_version_parse(iov_cstr(bad[i]), &ts, &r) != ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
	}
	uint64_t ts;
	uint16_t r;
	assert_int_equal(hlc_version_parse(IOV_LIT("fvvvvvvvvvvvvvvv"), &ts, &r), 0);
	assert_int_equal(ts, HLC_TS_MAX);
	assert_int_equal(r, 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hlc_follows_wall_clock),
		cmocka_unit_test(hlc_monotonic_when_wall_stalls_or_steps_back),
		cmocka_unit_test(hlc_logical_overflow_carries),
		cmocka_unit_test(hlc_observe_merges_remote),
		cmocka_unit_test(hlc_observe_refuses_drift),
		cmocka_unit_test(hlc_now_uses_real_time),
		cmocka_unit_test(hlc_threads_get_unique_increasing_ticks),
		cmocka_unit_test(version_id_round_trip),
		cmocka_unit_test(version_id_sorts_like_time),
		cmocka_unit_test(version_id_parse_rejects),
	};
	return cmocka_run_group_tests_name("test_hlc", tests, NULL, NULL);
}
