/* http/admin's Prometheus histogram helpers: the bucket a value falls in
 * (bounds inclusive, above all of them the last), and the exact text of a
 * series with and without a label (cumulative buckets, +Inf, sum, count). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "http/admin.h"

static const double le[] = { 0.001, 0.01, 1 };

static void buckets(void **state)
{
	(void)state;
	assert_int_equal(http_admin_bucket(le, 3, 0), 0);
	assert_int_equal(http_admin_bucket(le, 3, 0.001), 0); /* le: less than or equal */
	assert_int_equal(http_admin_bucket(le, 3, 0.0011), 1);
	assert_int_equal(http_admin_bucket(le, 3, 1), 2);
	assert_int_equal(http_admin_bucket(le, 3, 1.5), 3);
	assert_int_equal(http_admin_bucket(le, 0, 5), 0);
}

static void series_text(void **state)
{
	(void)state;
	const uint64_t counts[] = { 2, 0, 3, 1 };
	struct buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(http_admin_histogram(&b, "m_seconds", "", le, 3, counts, 1.25), 0);
	assert_int_equal(http_admin_histogram(&b, "m_seconds", "region=\"eu\"", le, 3, counts, 0.5),
	                 0);
	const char *want = "m_seconds_bucket{le=\"0.001\"} 2\n"
	                   "m_seconds_bucket{le=\"0.01\"} 2\n"
	                   "m_seconds_bucket{le=\"1\"} 5\n"
	                   "m_seconds_bucket{le=\"+Inf\"} 6\n"
	                   "m_seconds_sum 1.250000000\n"
	                   "m_seconds_count 6\n"
	                   "m_seconds_bucket{region=\"eu\",le=\"0.001\"} 2\n"
	                   "m_seconds_bucket{region=\"eu\",le=\"0.01\"} 2\n"
	                   "m_seconds_bucket{region=\"eu\",le=\"1\"} 5\n"
	                   "m_seconds_bucket{region=\"eu\",le=\"+Inf\"} 6\n"
	                   "m_seconds_sum{region=\"eu\"} 0.500000000\n"
	                   "m_seconds_count{region=\"eu\"} 6\n";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets),
		cmocka_unit_test(series_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
