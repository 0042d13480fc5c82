/*
 * Wall-clock time and the ISO-8601 basic format SigV4 uses
 * (YYYYMMDD'T'HHMMSS'Z', always UTC). Pure conversions; any thread.
 */
#ifndef MERIDIAN_BASE_CLOCK_H
#define MERIDIAN_BASE_CLOCK_H

#include <stdint.h>

#include "base/iov.h"

#define CLOCK_AMZ_DATE_LEN 16 /* "20150830T123600Z" */

/* Seconds since the Unix epoch, UTC. */
int64_t clock_now(void);
/* Monotonic nanoseconds, for measuring intervals. */
uint64_t clock_mono_ns(void);
/* Format `t` as YYYYMMDDTHHMMSSZ plus NUL into out (17 bytes). */
void clock_format_amz(int64_t t, char out[CLOCK_AMZ_DATE_LEN + 1]);
/* Parse exactly YYYYMMDDTHHMMSSZ (a real calendar date, UTC).
 * Returns 0 or ERR_INVALID. */
int clock_parse_amz(struct iov s, int64_t *out);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil), and its inverse. */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d);
void clock_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
