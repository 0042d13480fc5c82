/*
 * HTTP dates (RFC 9110 §5.6.7) and the ISO-8601 form S3 puts in its XML
 * (2009-10-12T17:50:30.000Z). All arithmetic is done here on the proleptic
 * Gregorian calendar in UTC: no locale, no TZ, no timegm. Pure; any thread.
 */
#ifndef MERIDIAN_HTTP_DATE_H
#define MERIDIAN_HTTP_DATE_H

#include <stdint.h>

#include "base/iov.h"

#define HTTP_DATE_LEN    29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_ISO8601_LEN 24 /* "2009-10-12T17:50:30.000Z" */

/* Earliest and latest instants a four-digit year can show:
 * 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define HTTP_DATE_MIN INT64_C(-62167219200)
#define HTTP_DATE_MAX INT64_C(253402300799)

/*
 * Format `unix_s` as an IMF-fixdate plus NUL into out (30 bytes).
 * Returns 0, or ERR_INVALID when the year is outside 0000..9999 (out is
 * then the empty string).
 */
int http_date_format(int64_t unix_s, char out[HTTP_DATE_LEN + 1]);

/*
 * Parse an HTTP-date in any of the three forms a recipient must accept:
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *   rfc850-date  "Sunday, 06-Nov-94 08:49:37 GMT"
 *   asctime-date "Sun Nov  6 08:49:37 1994"
 * Strict: exact spacing, case-sensitive names (RFC 9110 says HTTP-date is
 * case-sensitive), a real calendar date, hour <= 23, minute <= 59, second
 * <= 60 (a leap second counts as the next second). The day name must be
 * spelled right but is not checked against the date. A two-digit rfc850
 * year is placed in the century that keeps it at most 50 years after
 * `now`'s year (RFC 9110 §5.6.7). No surrounding whitespace is allowed.
 * Returns 0 with *out in Unix seconds, or ERR_INVALID.
 */
int http_date_parse_at(struct iov s, int64_t now, int64_t *out);

/* http_date_parse_at with now = the wall clock. */
int http_date_parse(struct iov s, int64_t *out);

/*
 * Format `unix_ms` (milliseconds since the epoch) as
 * YYYY-MM-DDTHH:MM:SS.mmmZ plus NUL into out (25 bytes), the form of
 * <LastModified> in S3 XML. Returns 0, or ERR_INVALID outside years
 * 0000..9999 (out is then the empty string).
 */
int http_date_iso8601(int64_t unix_ms, char out[HTTP_ISO8601_LEN + 1]);

#endif
