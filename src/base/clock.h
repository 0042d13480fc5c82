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

#endif
