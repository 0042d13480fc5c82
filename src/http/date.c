/* HTTP-date and ISO-8601 formatting and parsing. Pure; any thread. */
#include "http/date.h"

#include <stdbool.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"

#define SECS_PER_DAY 86400

static const char day_short[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const day_long[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
	                                 "Thursday", "Friday", "Saturday" };
static const char month_name[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void put_digits(char *p, unsigned v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The civil fields of an instant already known to lie in years 0..9999. */
struct civil {
	unsigned year, month, day, hour, min, sec, wday; /* wday: 0 = Sunday */
};

static void civil_from_unix(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, SECS_PER_DAY);
	int64_t secs = t - days * SECS_PER_DAY;
	int64_t y;
	clock_civil_from_days(days, &y, &c->month, &c->day);
	c->year = (unsigned)y;
	c->hour = (unsigned)(secs / 3600);
	c->min = (unsigned)(secs / 60 % 60);
	c->sec = (unsigned)(secs % 60);
	c->wday = (unsigned)(days + 4 - floor_div(days + 4, 7) * 7); /* 1970-01-01: Thu */
}

int http_date_format(int64_t unix_s, char out[HTTP_DATE_LEN + 1])
{
	struct civil c;

	out[0] = '\0';
	if (unix_s < HTTP_DATE_MIN || unix_s > HTTP_DATE_MAX)
		return ERR_INVALID;
	civil_from_unix(unix_s, &c);
	memcpy(out, day_short[c.wday], 3);
	memcpy(out + 3, ", ", 2);
	put_digits(out + 5, c.day, 2);
	out[7] = ' ';
	memcpy(out + 8, month_name[c.month - 1], 3);
	out[11] = ' ';
	put_digits(out + 12, c.year, 4);
	out[16] = ' ';
	put_digits(out + 17, c.hour, 2);
	out[19] = ':';
	put_digits(out + 20, c.min, 2);
	out[22] = ':';
	put_digits(out + 23, c.sec, 2);
	memcpy(out + 25, " GMT", 4);
	out[HTTP_DATE_LEN] = '\0';
	return 0;
}

int http_date_iso8601(int64_t unix_ms, char out[HTTP_ISO8601_LEN + 1])
{
	struct civil c;
	int64_t secs = floor_div(unix_ms, 1000);
	unsigned ms = (unsigned)(unix_ms - secs * 1000);

	out[0] = '\0';
	if (secs < HTTP_DATE_MIN || secs > HTTP_DATE_MAX)
		return ERR_INVALID;
	civil_from_unix(secs, &c);
	put_digits(out, c.year, 4);
	out[4] = '-';
	put_digits(out + 5, c.month, 2);
	out[7] = '-';
	put_digits(out + 8, c.day, 2);
	out[10] = 'T';
	put_digits(out + 11, c.hour, 2);
	out[13] = ':';
	put_digits(out + 14, c.min, 2);
	out[16] = ':';
	put_digits(out + 17, c.sec, 2);
	out[19] = '.';
	put_digits(out + 20, ms, 3);
	out[23] = 'Z';
	out[HTTP_ISO8601_LEN] = '\0';
	return 0;
}

/* ---- parsing -------------------------------------------------------------------------- */

/* A read position in the input; every reader checks the remaining length. */
struct cur {
	const char *p;
	size_t left;
};

static bool take_lit(struct cur *c, const char *lit, size_t n)
{
	if (c->left < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_digits(struct cur *c, size_t n, unsigned *out)
{
	unsigned v = 0;
	if (c->left < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(c->p[i] - '0');
		if (d > 9)
			return false;
		v = v * 10 + d;
	}
	c->p += n;
	c->left -= n;
	*out = v;
	return true;
}

static bool take_month(struct cur *c, unsigned *month)
{
	for (unsigned i = 0; i < 12; i++) {
		if (take_lit(c, month_name[i], 3)) {
			*month = i + 1;
			return true;
		}
	}
	return false;
}

static bool take_day_short(struct cur *c)
{
	for (unsigned i = 0; i < 7; i++)
		if (take_lit(c, day_short[i], 3))
			return true;
	return false;
}

static bool take_day_long(struct cur *c)
{
	for (unsigned i = 0; i < 7; i++)
		if (take_lit(c, day_long[i], strlen(day_long[i])))
			return true;
	return false;
}

/* time-of-day = hour ":" minute ":" second */
static bool take_time(struct cur *c, struct civil *t)
{
	return take_digits(c, 2, &t->hour) && take_lit(c, ":", 1) && take_digits(c, 2, &t->min) &&
	       take_lit(c, ":", 1) && take_digits(c, 2, &t->sec);
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int civil_to_unix(const struct civil *t, int64_t *out)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > mdays[t->month - 1] ||
	    (t->month == 2 && t->day == 29 && !is_leap(t->year)) || t->hour > 23 || t->min > 59 ||
	    t->sec > 60)
		return ERR_INVALID;
	*out = clock_days_from_civil(t->year, t->month, t->day) * SECS_PER_DAY +
	       (int64_t)(t->hour * 3600 + t->min * 60 + t->sec);
	return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf(struct cur c, struct civil *t)
{
	return take_day_short(&c) && take_lit(&c, ", ", 2) && take_digits(&c, 2, &t->day) &&
	       take_lit(&c, " ", 1) && take_month(&c, &t->month) && take_lit(&c, " ", 1) &&
	       take_digits(&c, 4, &t->year) && take_lit(&c, " ", 1) && take_time(&c, t) &&
	       take_lit(&c, " GMT", 4) && c.left == 0;
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"; the year is two digits. */
static bool parse_rfc850(struct cur c, struct civil *t)
{
	return take_day_long(&c) && take_lit(&c, ", ", 2) && take_digits(&c, 2, &t->day) &&
	       take_lit(&c, "-", 1) && take_month(&c, &t->month) && take_lit(&c, "-", 1) &&
	       take_digits(&c, 2, &t->year) && take_lit(&c, " ", 1) && take_time(&c, t) &&
	       take_lit(&c, " GMT", 4) && c.left == 0;
}

/* asctime-date: "Sun Nov  6 08:49:37 1994"; the day is 2DIGIT or SP DIGIT. */
static bool parse_asctime(struct cur c, struct civil *t)
{
	if (!take_day_short(&c) || !take_lit(&c, " ", 1) || !take_month(&c, &t->month) ||
	    !take_lit(&c, " ", 1))
		return false;
	if (!(take_lit(&c, " ", 1) ? take_digits(&c, 1, &t->day) : take_digits(&c, 2, &t->day)))
		return false;
	return take_lit(&c, " ", 1) && take_time(&c, t) && take_lit(&c, " ", 1) &&
	       take_digits(&c, 4, &t->year) && c.left == 0;
}

/* RFC 9110 §5.6.7: a two-digit year that would be more than 50 years after
 * `now` is the most recent past year with those digits; the window is
 * (now - 50, now + 50] in years. */
static bool rfc850_century(unsigned yy, int64_t now, unsigned *year)
{
	int64_t cy;
	unsigned m, d;
	clock_civil_from_days(floor_div(now, SECS_PER_DAY), &cy, &m, &d);
	int64_t y = cy - (cy % 100 + 100) % 100 + yy;
	if (y > cy + 50)
		y -= 100;
	else if (y <= cy - 50)
		y += 100;
	if (y < 0 || y > 9999)
		return false;
	*year = (unsigned)y;
	return true;
}

int http_date_parse_at(struct iov s, int64_t now, int64_t *out)
{
	struct cur c = { s.base, s.len };
	struct civil t = { 0 };

	if (s.len < 4)
		return ERR_INVALID;
	if (s.base[3] == ',') {
		if (!parse_imf(c, &t))
			return ERR_INVALID;
	} else if (s.base[3] == ' ') {
		if (!parse_asctime(c, &t))
			return ERR_INVALID;
	} else {
		if (!parse_rfc850(c, &t) || !rfc850_century(t.year, now, &t.year))
			return ERR_INVALID;
	}
	return civil_to_unix(&t, out);
}

int http_date_parse(struct iov s, int64_t *out)
{
	return http_date_parse_at(s, clock_now(), out);
}
