/*
 * http/date: the three HTTP-date forms of RFC 9110 §5.6.7 against epoch
 * seconds computed independently (Python calendar.timegm), the strictness
 * rules, the rfc850 two-digit year window, IMF-fixdate output and the S3
 * ISO-8601 form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/date.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define NOW_2025 INT64_C(1748736000) /* 2025-06-01T00:00:00Z */
#define NOW_1999 INT64_C(928195200)  /* 1999-06-01T00:00:00Z */

struct date_case {
	const char *text;
	int64_t now;
	int64_t epoch;
};

static const struct date_case good[] = {
	/* RFC 9110 §5.6.7's own example in its three forms */
	{ "Sun, 06 Nov 1994 08:49:37 GMT", NOW_2025, 784111777 },
	{ "Sunday, 06-Nov-94 08:49:37 GMT", NOW_2025, 784111777 },
	{ "Sun Nov  6 08:49:37 1994", NOW_2025, 784111777 },
	/* asctime: date3 = month SP ( 2DIGIT / ( SP DIGIT ) ), so "06" is fine too */
	{ "Sun Nov 06 08:49:37 1994", NOW_2025, 784111777 },
	{ "Mon Oct 12 17:50:30 2009", NOW_2025, 1255369830 },
	{ "Thu, 01 Jan 1970 00:00:00 GMT", NOW_2025, 0 },
	{ "Wed, 31 Dec 1969 23:59:59 GMT", NOW_2025, -1 },
	{ "Tue, 29 Feb 2000 12:00:00 GMT", NOW_2025, 951825600 },
	{ "Thu, 29 Feb 2024 23:59:59 GMT", NOW_2025, 1709251199 },
	{ "Thu, 01 Mar 1900 00:00:00 GMT", NOW_2025, -2203891200 },
	{ "Fri, 31 Dec 9999 23:59:59 GMT", NOW_2025, 253402300799 },
	{ "Sat, 01 Jan 0000 00:00:00 GMT", NOW_2025, -62167219200 },
	/* a leap second is the next second */
	{ "Sat, 31 Dec 2016 23:59:60 GMT", NOW_2025, 1483228800 },
	/* the day name is spelled right but not checked against the date */
	{ "Mon, 06 Nov 1994 08:49:37 GMT", NOW_2025, 784111777 },
	/* rfc850 years: the window is (now - 50, now + 50] */
	{ "Wednesday, 01-Jan-70 00:00:00 GMT", NOW_2025, 3155760000 }, /* 2070 */
	{ "Tuesday, 01-Jan-75 00:00:00 GMT", NOW_2025, 3313526400 },   /* 2075: exactly +50 */
	{ "Thursday, 01-Jan-76 00:00:00 GMT", NOW_2025, 189302400 },   /* 1976 */
	{ "Friday, 01-Jan-49 00:00:00 GMT", NOW_1999, 2493072000 },    /* 2049 from 1999 */
	{ "Thursday, 01-Jan-70 00:00:00 GMT", NOW_1999, 0 },           /* 1970 from 1999 */
};

static void parse_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		int64_t t = 12345;
		int rc = http_date_parse_at(iov_cstr(good[i].text), good[i].now, &t);
		if (rc != 0 || t != good[i].epoch)
			fail_msg("'%s': rc %s, got %lld want %lld", good[i].text, err_name(rc),
			         (long long)t, (long long)good[i].epoch);
	}
}

static void parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"Sun",
		"Sun, 06 Nov 1994 08:49:37 GMT ",   /* trailing space */
		" Sun, 06 Nov 1994 08:49:37 GMT",   /* leading space */
		"Sun,  06 Nov 1994 08:49:37 GMT",   /* two spaces */
		"Sun,06 Nov 1994 08:49:37 GMT",     /* no space */
		"sun, 06 Nov 1994 08:49:37 GMT",    /* HTTP-date is case-sensitive */
		"SUN, 06 Nov 1994 08:49:37 GMT",    /* */
		"Sun, 06 nov 1994 08:49:37 GMT",    /* */
		"Sun, 06 Nov 1994 08:49:37 gmt",    /* */
		"Sun, 06 Nov 1994 08:49:37 UTC",    /* only GMT */
		"Sun, 06 Nov 1994 08:49:37 +0000",  /* */
		"Sun, 06 Nov 1994 08:49:37",        /* no zone */
		"Sux, 06 Nov 1994 08:49:37 GMT",    /* not a day name */
		"Sun, 06 Nox 1994 08:49:37 GMT",    /* not a month */
		"Sun, 6 Nov 1994 08:49:37 GMT",     /* day is 2DIGIT */
		"Sun, 06 Nov 94 08:49:37 GMT",      /* year is 4DIGIT */
		"Sun, 06 Nov 01994 08:49:37 GMT",   /* */
		"Sun, 06 Nov 1994 8:49:37 GMT",     /* hour is 2DIGIT */
		"Sun, 06 Nov 1994 08:49 GMT",       /* no seconds */
		"Sun, 06 Nov 1994 08.49.37 GMT",    /* */
		"Sun, 00 Nov 1994 08:49:37 GMT",    /* day 0 */
		"Sun, 31 Nov 1994 08:49:37 GMT",    /* November has 30 days */
		"Thu, 29 Feb 1900 00:00:00 GMT",    /* 1900 is not a leap year */
		"Sun, 29 Feb 2023 00:00:00 GMT",    /* */
		"Sun, 06 Nov 1994 24:00:00 GMT",    /* hour 24 */
		"Sun, 06 Nov 1994 08:60:00 GMT",    /* minute 60 */
		"Sun, 06 Nov 1994 08:49:61 GMT",    /* second 61 */
		"Sun, 06 Nov -994 08:49:37 GMT",    /* sign */
		"Sun, +6 Nov 1994 08:49:37 GMT",    /* */
		"Sunday, 06-Nov-1994 08:49:37 GMT", /* rfc850 year is 2DIGIT */
		"Sun, 06-Nov-94 08:49:37 GMT",      /* rfc850 needs the long day name */
		"Sunday, 06 Nov 1994 08:49:37 GMT", /* long name, IMF body */
		"Sunday, 6-Nov-94 08:49:37 GMT",    /* */
		"sunday, 06-Nov-94 08:49:37 GMT",   /* */
		"Sunday, 06-Nov-94 08:49:37 UTC",   /* */
		"Sun Nov 6 08:49:37 1994",          /* asctime single digit needs SP DIGIT */
		"Sun Nov  6 08:49:37 1994 GMT",     /* asctime has no zone */
		"Sun Nov  6 08:49:37 94",           /* */
		"Sun Nov   6 08:49:37 1994",        /* */
		"Sun Nov 6  08:49:37 1994",         /* */
		"Sun Nov  0 08:49:37 1994",         /* day 0 */
		"2009-10-12T17:50:30.000Z",         /* ISO-8601 is not an HTTP-date */
		"784111777",
		"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", /* two values */
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		int64_t t = 777;
		int rc = http_date_parse_at(iov_cstr(bad[i]), NOW_2025, &t);
		if (rc != ERR_INVALID || t != 777)
			fail_msg("'%s' accepted or changed out (rc %s)", bad[i], err_name(rc));
	}
}

/* Only the slice is read: a NUL or junk after it does not matter, and a NUL
 * inside it is a bad byte. */
static void parse_slice(void **state)
{
	static const char text[] = "Sun, 06 Nov 1994 08:49:37 GMTjunk";
	static const char nul[] = "Sun, 06 Nov 1994 08:49:37 GMT\0";
	static const char mid[] = "Sun, 06 Nov 1994 08:49\0:37 GMT";
	int64_t t = 0;
	(void)state;
	assert_int_equal(http_date_parse_at(iov_make(text, HTTP_DATE_LEN), NOW_2025, &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_date_parse_at(iov_make(text, HTTP_DATE_LEN - 1), NOW_2025, &t),
	                 ERR_INVALID);
	assert_int_equal(http_date_parse_at(iov_make(text, sizeof(text) - 1), NOW_2025, &t),
	                 ERR_INVALID);
	assert_int_equal(http_date_parse_at(iov_make(nul, sizeof(nul) - 1), NOW_2025, &t),
	                 ERR_INVALID);
	assert_int_equal(http_date_parse_at(iov_make(mid, sizeof(mid) - 1), NOW_2025, &t),
	                 ERR_INVALID);
	assert_int_equal(http_date_parse_at(IOV_NULL, NOW_2025, &t), ERR_INVALID);
}

/* The wall-clock variant reads IMF-fixdate like the explicit one. */
static void parse_wall_clock(void **state)
{
	int64_t t = 0;
	(void)state;
	assert_int_equal(http_date_parse(IOV_LIT("Sun, 06 Nov 1994 08:49:37 GMT"), &t), 0);
	assert_int_equal(t, 784111777);
}

static void format_known(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		const char *text = good[i].text;
		/* only the IMF-fixdate rows with a matching day name and no leap second */
		if (text[3] != ',' || strcmp(text, "Mon, 06 Nov 1994 08:49:37 GMT") == 0 ||
		    strstr(text, ":60 "))
			continue;
		char out[HTTP_DATE_LEN + 1];
		memset(out, 'x', sizeof(out));
		assert_int_equal(http_date_format(good[i].epoch, out), 0);
		assert_string_equal(out, text);
	}
}

static void format_out_of_range(void **state)
{
	char out[HTTP_DATE_LEN + 1];
	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(http_date_format(HTTP_DATE_MAX + 1, out), ERR_INVALID);
	assert_string_equal(out, "");
	memset(out, 'x', sizeof(out));
	assert_int_equal(http_date_format(HTTP_DATE_MIN - 1, out), ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(http_date_format(INT64_MIN, out), ERR_INVALID);
	assert_int_equal(http_date_format(INT64_MAX, out), ERR_INVALID);
}

/* Every 7919 s from 1899 to 2101 (leap days, the 1900 and 2100 non-leap
 * centuries, negative times): each form parses back to the same second. */
static void round_trip_all_forms(void **state)
{
	static const char *const day_long[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
		                                 "Thursday", "Friday", "Saturday" };
	(void)state;
	for (int64_t t = INT64_C(-2240524800); t < INT64_C(4133980800); t += 7919 * 13) {
		char imf[HTTP_DATE_LEN + 1], form[64];
		int64_t back = -1;
		assert_int_equal(http_date_format(t, imf), 0);
		assert_int_equal(http_date_parse_at(iov_cstr(imf), t, &back), 0);
		if (back != t)
			fail_msg("%lld -> %s -> %lld", (long long)t, imf, (long long)back);

		/* imf: "Www, DD Mmm YYYY HH:MM:SS GMT" */
		int wd = 0;
		while (strncmp(day_long[wd], imf, 3) != 0)
			wd++;
		snprintf(form, sizeof(form), "%s, %.2s-%.3s-%.2s %.8s GMT", day_long[wd], imf + 5,
		         imf + 8, imf + 14, imf + 17);
		back = -1;
		assert_int_equal(http_date_parse_at(iov_cstr(form), t, &back), 0);
		if (back != t)
			fail_msg("%lld -> %s -> %lld", (long long)t, form, (long long)back);

		char day[3] = { imf[5] == '0' ? ' ' : imf[5], imf[6], 0 };
		snprintf(form, sizeof(form), "%.3s %.3s %s %.8s %.4s", imf, imf + 8, day, imf + 17,
		         imf + 12);
		back = -1;
		assert_int_equal(http_date_parse_at(iov_cstr(form), t, &back), 0);
		if (back != t)
			fail_msg("%lld -> %s -> %lld", (long long)t, form, (long long)back);
	}
}

struct iso_case {
	int64_t ms;
	const char *text;
};

static void iso8601_known(void **state)
{
	static const struct iso_case cases[] = {
		{ INT64_C(1255369830000), "2009-10-12T17:50:30.000Z" }, /* S3 docs' example */
		{ INT64_C(1255369830123), "2009-10-12T17:50:30.123Z" },
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ -1000, "1969-12-31T23:59:59.000Z" },
		{ INT64_C(951825600001), "2000-02-29T12:00:00.001Z" },
		{ INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
		{ INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z" },
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char out[HTTP_ISO8601_LEN + 1];
		memset(out, 'x', sizeof(out));
		assert_int_equal(http_date_iso8601(cases[i].ms, out), 0);
		assert_string_equal(out, cases[i].text);
	}
}

static void iso8601_out_of_range(void **state)
{
	char out[HTTP_ISO8601_LEN + 1];
	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(http_date_iso8601(INT64_C(253402300800000), out), ERR_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(http_date_iso8601(INT64_C(-62167219200001), out), ERR_INVALID);
	assert_int_equal(http_date_iso8601(INT64_MIN, out), ERR_INVALID);
	assert_int_equal(http_date_iso8601(INT64_MAX, out), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_known),          cmocka_unit_test(parse_rejects),
		cmocka_unit_test(parse_slice),          cmocka_unit_test(parse_wall_clock),
		cmocka_unit_test(format_known),         cmocka_unit_test(format_out_of_range),
		cmocka_unit_test(round_trip_all_forms), cmocka_unit_test(iso8601_known),
		cmocka_unit_test(iso8601_out_of_range),
	};
	return cmocka_run_group_tests_name("test_http_date", tests, NULL, NULL);
}
