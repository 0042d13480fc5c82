/* Time helpers. Pure conversions without libc time zones; any thread. */
#include "base/clock.h"

#include <time.h>

#include "base/err.h"

int64_t clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void clock_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_digits(char *p, unsigned v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void clock_format_amz(int64_t t, char out[CLOCK_AMZ_DATE_LEN + 1])
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int64_t y;
	unsigned m, d;
	clock_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999;
	put_digits(out, (unsigned)y, 4);
	put_digits(out + 4, m, 2);
	put_digits(out + 6, d, 2);
	out[8] = 'T';
	put_digits(out + 9, (unsigned)(secs / 3600), 2);
	put_digits(out + 11, (unsigned)(secs / 60 % 60), 2);
	put_digits(out + 13, (unsigned)(secs % 60), 2);
	out[15] = 'Z';
	out[16] = '\0';
}

static int digits(const char *p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		unsigned c = (unsigned)(p[i] - '0');
		if (c > 9)
			return ERR_INVALID;
		v = v * 10 + c;
	}
	*out = v;
	return 0;
}

int clock_parse_amz(struct iov s, int64_t *out)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, m, d, hh, mm, ss;
	if (s.len != CLOCK_AMZ_DATE_LEN || s.base[8] != 'T' || s.base[15] != 'Z')
		return ERR_INVALID;
	if (digits(s.base, 4, &y) || digits(s.base + 4, 2, &m) || digits(s.base + 6, 2, &d) ||
	    digits(s.base + 9, 2, &hh) || digits(s.base + 11, 2, &mm) ||
	    digits(s.base + 13, 2, &ss))
		return ERR_INVALID;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || hh > 23 || mm > 59 || ss > 60)
		return ERR_INVALID;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return ERR_INVALID;
	*out = clock_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}
