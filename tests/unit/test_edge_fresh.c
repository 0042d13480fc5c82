/*
 * edge/fresh: the CloudFront freshness rules as tables. Every row of the
 * decision table quotes (shortened) the sentence it checks. Sources:
 *   EXP-T   AWS "Manage how long content stays in the cache (expiration)",
 *           table "Specify the amount of time that CloudFront caches objects"
 *   EXP-W   the same page, the Warning under that table
 *   EXP-H   the same page, "Use headers to control cache duration"
 *   EXP-S   the same page, "Serve stale (expired) content"
 *   KC      AWS knowledge center "cloudfront-cache-files-time" examples
 *   CPC     CloudFront API CachePolicyConfig (DefaultTTL, MaxTTL)
 *   ERR-E   AWS "Control how long CloudFront caches errors"
 *   ERR-S   AWS "HTTP 4xx and 5xx status codes that CloudFront caches"
 *   3XX     AWS "How CloudFront processes HTTP 3xx status codes"
 *   RFC     RFC 9111 (section given)
 *   OURS    a Meridian decision, docs/internals/edge-fresh.md
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "edge/fresh.h"
#include "http/date.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define T0  INT64_C(1000000000) /* response time: Sun, 09 Sep 2001 01:46:40 GMT */
#define DAY 86400
#define YR  31536000
#define CF  EDGE_FRESH_404_AS_CLOUDFRONT

#define MAXH 8

/*
 * Header lines separated by '\n'. A value "@N" (N signed) is replaced by
 * the HTTP-date of T0 + N, so Expires and Date rows read as offsets.
 */
struct hdrs {
	struct http_header h[MAXH];
	size_t n;
	char store[MAXH][256];
};

static void build_headers(const char *spec, struct hdrs *out)
{
	out->n = 0;
	if (spec == NULL)
		return;
	const char *p = spec;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		assert_non_null(colon);
		assert_true(out->n < MAXH);
		struct http_header *h = &out->h[out->n];
		h->name = iov_make(p, (size_t)(colon - p));
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		size_t vlen = len - (size_t)(v - p);
		if (vlen > 1 && v[0] == '@') {
			char num[32];
			assert_true(vlen < sizeof(num));
			memcpy(num, v + 1, vlen - 1);
			num[vlen - 1] = '\0';
			long long off = strtoll(num, NULL, 10);
			assert_int_equal(http_date_format(T0 + off, out->store[out->n]), 0);
			h->value = iov_cstr(out->store[out->n]);
		} else {
			h->value = iov_make(v, vlen);
		}
		out->n++;
		p = nl ? nl + 1 : p + len;
	}
}

#define NS   false /* not stored */
#define ST   true  /* stored */
#define R(x) EDGE_FRESH_R_##x

struct row {
	const char *doc; /* the sentence the row checks */
	int64_t min, def, max, err404;
	int status;
	const char *headers;
	int64_t delay; /* response_time - request_time; 0: request time unknown */
	bool store;
	int64_t ttl, swr, sie;
	enum edge_fresh_reason reason;
};

static const struct row rows[] = {
	/* ---- TTLs & Cache-Control/Expires ---- */
	{ "EXP-T min=0, no max-age: 'caches the object for the value of the default TTL'", 0, DAY,
	  YR, 2, 200, NULL, 0, ST, DAY, 0, YR, R(DEFAULT_TTL) },
	{ "EXP-T a Cache-Control without max-age/s-maxage 'does not add a max-age': default TTL", 0,
	  300, 300, 2, 200, "Cache-Control: public", 0, ST, 300, 0, 300, R(DEFAULT_TTL) },
	{ "EXP-T min>0, no max-age: 'the greater of ... minimum TTL or default TTL'", 100, 300,
	  3600, 2, 200, NULL, 0, ST, 300, 0, 3600, R(DEFAULT_TTL) },
	{ "EXP-T min>0, no max-age: greater of min and default (min == default)", 600, 600, 3600, 2,
	  200, "Cache-Control: must-revalidate", 0, ST, 600, 0, 3600, R(DEFAULT_TTL) },
	{ "EXP-T min=0: 'the lesser of ... max-age ... or ... maximum TTL' (max-age lesser)", 0,
	  DAY, YR, 2, 200, "Cache-Control: max-age=60", 0, ST, 60, 0, YR, R(MAX_AGE) },
	{ "EXP-T min=0: lesser of max-age and max TTL (KC: max TTL 300, max-age 3600 -> 5 min)", 0,
	  60, 300, 2, 200, "Cache-Control: max-age=3600", 0, ST, 300, 0, 300, R(MAX_AGE) },
	{ "EXP-T min=0: max-age=0 is cached for 0 s (revalidated every time)", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=0", 0, ST, 0, 0, YR, R(MAX_AGE) },
	{ "EXP-T min>0: 'If max-age < minimum TTL ... the minimum TTL'", 60, 300, 3600, 2, 200,
	  "Cache-Control: max-age=30", 0, ST, 60, 0, 3600, R(MAX_AGE) },
	{ "EXP-T min>0: 'If minimum TTL < max-age < maximum TTL ... max-age'", 60, 300, 3600, 2,
	  200, "Cache-Control: max-age=600", 0, ST, 600, 0, 3600, R(MAX_AGE) },
	{ "EXP-T min>0: 'If max-age > maximum TTL ... the maximum TTL'", 60, 300, 3600, 2, 200,
	  "Cache-Control: max-age=7200", 0, ST, 3600, 0, 3600, R(MAX_AGE) },
	{ "EXP-T min=0, max-age and s-maxage: 'the lesser of ... s-maxage ... or maximum TTL'", 0,
	  DAY, YR, 2, 200, "Cache-Control: max-age=60, s-maxage=600", 0, ST, 600, 0, YR,
	  R(S_MAXAGE) },
	{ "EXP-T s-maxage beats max-age, also when it is the smaller", 0, DAY, YR, 2, 200,
	  "Cache-Control: s-maxage=60\nCache-Control: max-age=600", 0, ST, 60, 0, YR, R(S_MAXAGE) },
	{ "EXP-T min=0: s-maxage above max TTL -> max TTL", 0, 60, 300, 2, 200,
	  "Cache-Control: s-maxage=3600", 0, ST, 300, 0, 300, R(S_MAXAGE) },
	{ "EXP-T min>0: 'If s-maxage < minimum TTL ... the minimum TTL'", 60, 300, 3600, 2, 200,
	  "Cache-Control: s-maxage=10, max-age=3000", 0, ST, 60, 0, 3600, R(S_MAXAGE) },
	{ "EXP-T min>0: 'If s-maxage > maximum TTL ... the maximum TTL'", 60, 300, 3600, 2, 200,
	  "Cache-Control: s-maxage=9000", 0, ST, 3600, 0, 3600, R(S_MAXAGE) },
	{ "EXP-H 'If you specify values both for max-age and for Expires, CloudFront uses only "
	  "max-age' (KC: max-age 3 h, Expires 1 month -> 3 h)",
	  0, DAY, YR, 2, 200, "Expires: @2592000\nCache-Control: max-age=10800", 0, ST, 10800, 0,
	  YR, R(MAX_AGE) },
	{ "EXP-H max-age wins over Expires even when Expires is sooner", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=600\nExpires: @60", 0, ST, 600, 0, YR, R(MAX_AGE) },
	{ "EXP-T min=0: 'until the date in the Expires header or ... maximum TTL, whichever is "
	  "sooner' (Expires sooner)",
	  0, DAY, YR, 2, 200, "Expires: @3600", 0, ST, 3600, 0, YR, R(EXPIRES) },
	{ "EXP-T min=0: Expires later than max TTL -> max TTL", 0, 60, 300, 2, 200,
	  "Expires: @3600", 0, ST, 300, 0, 300, R(EXPIRES) },
	{ "EXP-T min>0: 'If Expires < minimum TTL ... the minimum TTL'", 600, 600, 3600, 2, 200,
	  "Expires: @60", 0, ST, 600, 0, 3600, R(EXPIRES) },
	{ "EXP-T min>0: 'If minimum TTL < Expires < maximum TTL ... until the date'", 60, 300, 3600,
	  2, 200, "Expires: @1800", 0, ST, 1800, 0, 3600, R(EXPIRES) },
	{ "EXP-T min>0: 'If Expires > maximum TTL ... the maximum TTL'", 60, 300, 3600, 2, 200,
	  "Expires: @86400", 0, ST, 3600, 0, 3600, R(EXPIRES) },
	{ "EXP-T Expires in the past, min=0: already expired (stored, 0 s)", 0, DAY, YR, 2, 200,
	  "Expires: @-3600", 0, ST, 0, 0, YR, R(EXPIRES) },
	{ "EXP-T Expires in the past, min>0: the minimum TTL", 60, 300, 3600, 2, 200,
	  "Expires: @-3600", 0, ST, 60, 0, 3600, R(EXPIRES) },
	{ "RFC §5.3 'invalid date formats, especially the value \"0\"' are in the past", 0, DAY, YR,
	  2, 200, "Expires: 0", 0, ST, 0, 0, YR, R(EXPIRES) },
	{ "RFC §4.2.1 Expires lifetime is Expires - Date (origin clock 100 s behind)", 0, DAY, YR,
	  2, 200, "Date: @-100\nExpires: @3500", 0, ST, 3600, 0, YR, R(EXPIRES) },
	{ "EXP-T min=0, no-cache: 'CloudFront and browsers respect the headers' (not stored)", 0,
	  DAY, YR, 2, 200, "Cache-Control: no-cache", 0, NS, 0, 0, 0, R(NO_CACHE) },
	{ "EXP-T min=0, no-store respected, even with max-age", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=3600, no-store", 0, NS, 0, 0, 0, R(NO_STORE) },
	{ "EXP-T min=0, private respected", 0, DAY, YR, 2, 200,
	  "Cache-Control: private, max-age=3600", 0, NS, 0, 0, 0, R(PRIVATE) },
	{ "EXP-T min=0, no-cache with a field list counts as no-cache (RFC §5.2.2.4 note)", 0, DAY,
	  YR, 2, 200, "Cache-Control: no-cache=\"Set-Cookie\", max-age=60", 0, NS, 0, 0, 0,
	  R(NO_CACHE) },
	{ "EXP-T min>0, no-cache: 'caches the object for the value of the minimum TTL'", 60, 300,
	  3600, 2, 200, "Cache-Control: no-cache", 0, ST, 60, 0, 3600, R(MIN_TTL_OVERRIDE) },
	{ "EXP-W 'uses the cache policy's minimum TTL, even if ... no-store ... present'", 60, 300,
	  3600, 2, 200, "Cache-Control: no-store, max-age=3000", 0, ST, 60, 0, 3600,
	  R(MIN_TTL_OVERRIDE) },
	{ "EXP-W min TTL over private", 120, 300, 3600, 2, 200, "Cache-Control: private", 0, ST,
	  120, 0, 3600, R(MIN_TTL_OVERRIDE) },
	{ "RFC §4.2.1 'invalid freshness information (max-age ... non-integer)' is stale", 0, DAY,
	  YR, 2, 200, "Cache-Control: max-age=1.5", 0, ST, 0, 0, YR, R(MAX_AGE) },
	{ "RFC §4.2.1 an invalid max-age still makes Expires ignored", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=\nExpires: @3600", 0, ST, 0, 0, YR, R(MAX_AGE) },
	{ "RFC §5.2 quoted-string form accepted for max-age", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=\"120\"", 0, ST, 120, 0, YR, R(MAX_AGE) },
	{ "RFC §4.2.1 'the first occurrence should be used'", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=60\nCache-Control: max-age=600", 0, ST, 60, 0, YR, R(MAX_AGE) },
	{ "RFC §1.2.2 delta-seconds over 2^31 is 2^31 (then max TTL)", 0, DAY, EDGE_FRESH_TTL_LIMIT,
	  2, 200, "Cache-Control: max-age=99999999999999999999", 0, ST, INT64_C(2147483648), 0,
	  EDGE_FRESH_TTL_LIMIT, R(MAX_AGE) },
	{ "RFC §5.2 unknown directives are ignored", 0, DAY, YR, 2, 200,
	  "Cache-Control: foo=\"a,b\", max-age=90, bar", 0, ST, 90, 0, YR, R(MAX_AGE) },
	/* ---- Age ---- */
	{ "RFC §4.2.3 Age counts against max-age", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=600\nAge: 100", 0, ST, 500, 0, YR, R(MAX_AGE) },
	{ "RFC §4.2.3 corrected_age_value = Age + response_delay", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=600\nAge: 100", 5, ST, 495, 0, YR, R(MAX_AGE) },
	{ "RFC §4.2.3 Age past max-age: stale on arrival", 0, DAY, YR, 2, 200,
	  "Cache-Control: s-maxage=60\nAge: 100", 0, ST, 0, 0, YR, R(S_MAXAGE) },
	{ "EXP-T min>0 clamps what Age leaves", 30, 300, 3600, 2, 200,
	  "Cache-Control: max-age=60\nAge: 100", 0, ST, 30, 0, 3600, R(MAX_AGE) },
	{ "RFC §5.1 list Age: the first member; OURS Age does not shorten the default TTL", 0, DAY,
	  YR, 2, 200, "Age: 50, 70", 0, ST, DAY, 0, YR, R(DEFAULT_TTL) },
	{ "RFC §5.1 an invalid Age is ignored", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=600\nAge: -5", 0, ST, 600, 0, YR, R(MAX_AGE) },
	/* ---- stale-while-revalidate / stale-if-error ---- */
	{ "EXP-S 'max-age=3600, stale-while-revalidate=600' -> 1 h, then stale 10 min", 0, DAY, YR,
	  2, 200, "Cache-Control: max-age=3600, stale-while-revalidate=600", 0, ST, 3600, 600, YR,
	  R(MAX_AGE) },
	{ "EXP-S 'max-age=3600, stale-if-error=86400' -> stale on error up to 24 h", 0, DAY, YR, 2,
	  200, "Cache-Control: max-age=3600, stale-if-error=86400", 0, ST, 3600, 0, 86400,
	  R(MAX_AGE) },
	{ "EXP-S 'up to ... stale-while-revalidate ... or maximum TTL, whichever is less'", 0, 60,
	  300, 2, 200, "Cache-Control: max-age=60, stale-while-revalidate=600, stale-if-error=900",
	  0, ST, 60, 300, 300, R(MAX_AGE) },
	{ "EXP-W 'include the Cache-Control: stale-if-error=0 directive' to stop stale on error",
	  60, 300, 3600, 2, 200, "Cache-Control: max-age=600, stale-if-error=0", 0, ST, 600, 0, 0,
	  R(MAX_AGE) },
	{ "EXP-W 'origin is unreachable and the minimum ... TTL > 0, CloudFront will serve the "
	  "object' (even under no-cache)",
	  60, 300, 3600, 2, 200, "Cache-Control: no-cache", 0, ST, 60, 0, 3600,
	  R(MIN_TTL_OVERRIDE) },
	{ "RFC 5861 malformed stale-while-revalidate is absent", 0, DAY, YR, 2, 200,
	  "Cache-Control: max-age=60, stale-while-revalidate=soon", 0, ST, 60, 0, YR, R(MAX_AGE) },
	/* ---- status codes ---- */
	{ "3XX 'caches 3xx responses according to the settings ... and the headers' (301)", 0, DAY,
	  YR, 2, 301, NULL, 0, ST, DAY, 0, YR, R(DEFAULT_TTL) },
	{ "3XX 'caches 307 and 308 responses only when you include the Cache-Control header'", 0,
	  DAY, YR, 2, 307, "Expires: @3600", 0, NS, 0, 0, 0, R(STATUS_NEEDS_CACHE_CONTROL) },
	{ "3XX 308 with a Cache-Control header follows the TTL rules", 0, DAY, YR, 2, 308,
	  "Cache-Control: public", 0, ST, DAY, 0, YR, R(DEFAULT_TTL) },
	{ "304 refreshes a stored entry; it is never stored itself", 0, DAY, YR, 2, 304,
	  "Cache-Control: max-age=60", 0, NS, 0, 0, 0, R(STATUS_NOT_CACHED) },
	{ "206 follows the TTL rules (range responses are cached)", 0, DAY, YR, 2, 206,
	  "Cache-Control: max-age=60", 0, ST, 60, 0, YR, R(MAX_AGE) },
	/* ---- custom error responses / error caching ---- */
	{ "ERR-E 'caches error responses for a default duration of 10 seconds' (500)", 0, DAY, YR,
	  2, 500, NULL, 0, ST, 10, 0, 0, R(ERROR_MIN_TTL) },
	{ "ERR-S 404 always cached; ERR-E 10 s (CloudFront mode)", 0, DAY, YR, CF, 404, NULL, 0, ST,
	  10, 0, 0, R(ERROR_MIN_TTL) },
	{ "OURS a 404 lives the edge's 404 TTL (replication lag must not stick)", 0, DAY, YR, 2,
	  404, NULL, 0, ST, 2, 0, 0, R(ERROR_404_TTL) },
	{ "OURS the 404 TTL wins over the origin's max-age", 0, DAY, YR, 3, 404,
	  "Cache-Control: max-age=3600", 0, ST, 3, 0, 0, R(ERROR_404_TTL) },
	{ "OURS 404 TTL 0: 404s are not cached", 0, DAY, YR, 0, 404, NULL, 0, NS, 0, 0, 0,
	  R(ERROR_TTL_ZERO) },
	{ "ERR-E 'greater of the value in the header or ... Error Caching Minimum TTL' (header)", 0,
	  DAY, YR, CF, 404, "Cache-Control: max-age=60", 0, ST, 60, 0, 0, R(ERROR_HEADER) },
	{ "ERR-E greater of header and error minimum (minimum)", 0, DAY, YR, 2, 503,
	  "Cache-Control: max-age=5", 0, ST, 10, 0, 0, R(ERROR_MIN_TTL) },
	{ "ERR-E 'max-age ... cannot be greater than the Maximum TTL'", 0, 60, 3600, 2, 502,
	  "Cache-Control: s-maxage=7200", 0, ST, 3600, 0, 0, R(ERROR_HEADER) },
	{ "ERR-E Expires sets an error's duration too", 0, DAY, YR, 2, 504, "Expires: @120", 0, ST,
	  120, 0, 0, R(ERROR_HEADER) },
	{ "ERR-E 'no-store ... for error codes 404, 410, 414, or 501, CloudFront does not cache'",
	  0, DAY, YR, CF, 404, "Cache-Control: no-store", 0, NS, 0, 0, 0, R(ERROR_NO_STORE) },
	{ "ERR-E no-cache on a 414 is obeyed", 0, DAY, YR, 2, 414, "Cache-Control: no-cache", 0, NS,
	  0, 0, 0, R(ERROR_NO_STORE) },
	{ "ERR-E private on a 501 is obeyed", 0, DAY, YR, 2, 501, "Cache-Control: private", 0, NS,
	  0, 0, 0, R(ERROR_NO_STORE) },
	{ "ERR-E 'For all other error codes, CloudFront ignores no-store ...' (500)", 0, DAY, YR, 2,
	  500, "Cache-Control: no-store", 0, ST, 10, 0, 0, R(ERROR_MIN_TTL) },
	{ "ERR-E ignores private on a 503, keeps the header lifetime", 60, 300, 3600, 2, 503,
	  "Cache-Control: private, max-age=30", 0, ST, 30, 0, 0, R(ERROR_HEADER) },
	{ "ERR-S 403 'only ... if your origin returns a Cache-Control max-age or s-maxage'", 0, DAY,
	  YR, 2, 403, NULL, 0, NS, 0, 0, 0, R(ERROR_NEEDS_MAX_AGE) },
	{ "ERR-S 403 with max-age is cached", 0, DAY, YR, 2, 403, "Cache-Control: max-age=60", 0,
	  ST, 60, 0, 0, R(ERROR_HEADER) },
	{ "ERR-S 400 with Expires only is not cached", 0, DAY, YR, 2, 400, "Expires: @600", 0, NS,
	  0, 0, 0, R(ERROR_NEEDS_MAX_AGE) },
	{ "ERR-S 405 with s-maxage below the minimum: the error minimum", 0, DAY, YR, 2, 405,
	  "Cache-Control: s-maxage=1", 0, ST, 10, 0, 0, R(ERROR_MIN_TTL) },
	{ "ERR-E 'CloudFront doesn't cache status code 416 responses'", 0, DAY, YR, 2, 416,
	  "Cache-Control: max-age=60", 0, NS, 0, 0, 0, R(STATUS_NOT_CACHED) },
	{ "ERR-S 410 is in neither list", 0, DAY, YR, 2, 410, "Cache-Control: max-age=60", 0, NS, 0,
	  0, 0, R(STATUS_NOT_CACHED) },
	{ "ERR-E errors have no stale windows", 0, DAY, YR, 2, 500,
	  "Cache-Control: max-age=60, stale-while-revalidate=60, stale-if-error=60", 0, ST, 60, 0,
	  0, R(ERROR_HEADER) },
	{ "ERR-S 'If you're using the CachingDisabled ... won't cache these status codes'", 0, 0, 0,
	  2, 503, "Cache-Control: max-age=60", 0, NS, 0, 0, 0, R(CACHING_DISABLED) },
	{ "CachingDisabled (all TTLs 0) stores nothing", 0, 0, 0, 2, 200,
	  "Cache-Control: max-age=60", 0, NS, 0, 0, 0, R(CACHING_DISABLED) },
};

static void decide_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		const struct row *c = &rows[i];
		struct edge_fresh_policy p;
		edge_fresh_policy_default(&p);
		p.min_ttl = c->min;
		p.default_ttl = c->def;
		p.max_ttl = c->max;
		p.error_404_ttl = c->err404;
		struct hdrs h;
		build_headers(c->headers, &h);
		struct edge_fresh_decision d;
		int64_t req = c->delay ? T0 - c->delay : 0;
		int rc = edge_fresh_decide(&p, c->status, h.h, h.n, req, T0, &d);
		if (rc != 0 || d.store != c->store || d.ttl != c->ttl || d.swr != c->swr ||
		    d.sie != c->sie || d.reason != c->reason)
			fail_msg(
			    "row %zu (%s): got rc %d store %d ttl %lld swr %lld sie %lld %s; want "
			    "store %d ttl %lld swr %lld sie %lld %s",
			    i, c->doc, rc, d.store, (long long)d.ttl, (long long)d.swr,
			    (long long)d.sie, edge_fresh_reason_name(d.reason), c->store,
			    (long long)c->ttl, (long long)c->swr, (long long)c->sie,
			    edge_fresh_reason_name(c->reason));
		bool want_error = c->status >= 400;
		if (d.error != want_error)
			fail_msg("row %zu (%s): error flag %d", i, c->doc, d.error);
	}
}

/* The clamp and the initial age are reported alongside the TTL. */
static void decide_details(void **state)
{
	(void)state;
	struct edge_fresh_policy p;
	edge_fresh_policy_default(&p);
	p.min_ttl = 60;
	p.default_ttl = 300;
	p.max_ttl = 3600;
	struct hdrs h;
	struct edge_fresh_decision d;

	build_headers("Cache-Control: max-age=30", &h);
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), 0);
	assert_int_equal(d.clamp, EDGE_FRESH_CLAMP_MIN);
	build_headers("Cache-Control: max-age=9999", &h);
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), 0);
	assert_int_equal(d.clamp, EDGE_FRESH_CLAMP_MAX);
	build_headers("Cache-Control: max-age=600", &h);
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), 0);
	assert_int_equal(d.clamp, EDGE_FRESH_CLAMP_NONE);

	build_headers("Cache-Control: max-age=600\nAge: 40", &h);
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, T0 - 2, T0, &d), 0);
	assert_int_equal(d.initial_age, 42);
	assert_int_equal(d.ttl, 558);

	/* a bad policy is refused and nothing is stored */
	p.min_ttl = 400; /* > default */
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), ERR_INVALID);
	assert_false(d.store);
}

/* Viewer-side headers are not the edge's business, but a response header
 * name matches in any case (RFC 9110 §5.1). */
static void header_names_case_insensitive(void **state)
{
	(void)state;
	struct edge_fresh_policy p;
	edge_fresh_policy_default(&p);
	struct hdrs h;
	struct edge_fresh_decision d;
	build_headers("cache-CONTROL: S-MaxAge=77\nAGE: 7", &h);
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), 0);
	assert_int_equal(d.reason, EDGE_FRESH_R_S_MAXAGE);
	assert_int_equal(d.ttl, 70);
}

static void cc_over_cap_not_stored(void **state)
{
	(void)state;
	struct edge_fresh_policy p;
	edge_fresh_policy_default(&p);
	static char big[EDGE_CC_MAX_BYTES + 1];
	memset(big, 'a', sizeof(big));
	struct http_header h = { IOV_LIT("Cache-Control"), iov_make(big, sizeof(big)) };
	struct edge_fresh_decision d;
	assert_int_equal(edge_fresh_decide(&p, 200, &h, 1, 0, T0, &d), 0);
	assert_false(d.store);
	assert_int_equal(d.reason, EDGE_FRESH_R_CC_TOO_LONG);

	/* exactly at the byte cap is fine */
	h.value = iov_make(big, EDGE_CC_MAX_BYTES);
	assert_int_equal(edge_fresh_decide(&p, 200, &h, 1, 0, T0, &d), 0);
	assert_true(d.store);

	/* the cap counts all lines together */
	struct http_header two[2] = { { IOV_LIT("Cache-Control"), iov_make(big, 3000) },
		                      { IOV_LIT("Cache-Control"), iov_make(big, 3000) } };
	assert_int_equal(edge_fresh_decide(&p, 200, two, 2, 0, T0, &d), 0);
	assert_int_equal(d.reason, EDGE_FRESH_R_CC_TOO_LONG);
}

/* ---- the parser alone ---- */

#define F(x) EDGE_CC_##x

struct cc_row {
	const char *value;
	int rc;
	uint32_t flags;
	int64_t max_age, s_maxage, swr, sie; /* compared when the flag is set */
};

static const struct cc_row cc_rows[] = {
	{ "", 0, 0, 0, 0, 0, 0 },
	{ " , ,, ", 0, 0, 0, 0, 0, 0 },
	{ "max-age=60", 0, F(MAX_AGE), 60, 0, 0, 0 },
	{ "MAX-AGE=60", 0, F(MAX_AGE), 60, 0, 0, 0 },
	{ "max-age=\"60\"", 0, F(MAX_AGE), 60, 0, 0, 0 },
	{ "max-age=007", 0, F(MAX_AGE), 7, 0, 0, 0 },
	{ "max-age=2147483648", 0, F(MAX_AGE), INT64_C(2147483648), 0, 0, 0 },
	{ "max-age=2147483649", 0, F(MAX_AGE), INT64_C(2147483648), 0, 0, 0 },
	{ "max-age", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=-1", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=6 0", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age = 60", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=\"6\\0\"", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=\"60", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "max-age=60, max-age=5", 0, F(MAX_AGE), 60, 0, 0, 0 },
	{ "max-age=x, max-age=5", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "s-maxage=5,max-age=6", 0, F(S_MAXAGE) | F(MAX_AGE), 6, 5, 0, 0 },
	{ "no-cache", 0, F(NO_CACHE), 0, 0, 0, 0 },
	{ "no-cache=\"Set-Cookie, X-Foo\"", 0, F(NO_CACHE) | F(NO_CACHE_FIELDS), 0, 0, 0, 0 },
	{ "private=Set-Cookie", 0, F(PRIVATE) | F(PRIVATE_FIELDS), 0, 0, 0, 0 },
	{ "no-store=1, public", 0, F(NO_STORE) | F(PUBLIC), 0, 0, 0, 0 },
	{ "must-revalidate, proxy-revalidate, no-transform, immutable", 0,
	  F(MUST_REVALIDATE) | F(PROXY_REVALIDATE) | F(NO_TRANSFORM) | F(IMMUTABLE), 0, 0, 0, 0 },
	{ "stale-while-revalidate=30, stale-if-error=\"600\"", 0, F(SWR) | F(SIE), 0, 0, 30, 600 },
	{ "stale-while-revalidate, stale-if-error=x", 0, 0, 0, 0, 0, 0 },
	{ "stale-if-error=0", 0, F(SIE), 0, 0, 0, 0 },
	/* a quoted comma does not end the element */
	{ "ext=\"a, max-age=1\", max-age=9", 0, F(MAX_AGE), 9, 0, 0, 0 },
	/* a malformed element is skipped up to the next comma outside quotes */
	{ "@@, max-age=9", 0, F(MAX_AGE), 9, 0, 0, 0 },
	{ "ext=\"a\"b, no-store", 0, F(NO_STORE), 0, 0, 0, 0 },
	{ "junk=\"x, y\" z, public", 0, F(PUBLIC), 0, 0, 0, 0 },
	{ "max-age=10;public", 0, F(MAX_AGE_INVALID), 0, 0, 0, 0 },
	{ "\tpublic\t,\tmax-age=3\t", 0, F(PUBLIC) | F(MAX_AGE), 3, 0, 0, 0 },
	/* bytes that are not tchar or qdtext */
	{ "pub\x01lic, max-age=3", 0, F(MAX_AGE), 3, 0, 0, 0 },
	{ "ext=\"\x7f\", no-cache", 0, F(NO_CACHE), 0, 0, 0, 0 },
};

static void cc_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cc_rows); i++) {
		const struct cc_row *c = &cc_rows[i];
		struct edge_cc cc;
		edge_cc_init(&cc);
		int rc = edge_cc_parse(&cc, iov_cstr(c->value));
		bool bad = rc != c->rc || cc.flags != c->flags;
		bad |= (c->flags & F(MAX_AGE)) && cc.max_age != c->max_age;
		bad |= (c->flags & F(S_MAXAGE)) && cc.s_maxage != c->s_maxage;
		bad |= (c->flags & F(SWR)) && cc.swr != c->swr;
		bad |= (c->flags & F(SIE)) && cc.sie != c->sie;
		if (bad)
			fail_msg(
			    "cc row %zu '%s': rc %d flags %#x max-age %lld s-maxage %lld swr %lld "
			    "sie %lld; want rc %d flags %#x",
			    i, c->value, rc, cc.flags, (long long)cc.max_age,
			    (long long)cc.s_maxage, (long long)cc.swr, (long long)cc.sie, c->rc,
			    c->flags);
	}
}

static void cc_caps(void **state)
{
	(void)state;
	/* EDGE_CC_MAX_ELEMS elements pass, one more is an error */
	char buf[EDGE_CC_MAX_ELEMS * 3 + 8];
	size_t n = 0;
	for (int i = 0; i < EDGE_CC_MAX_ELEMS; i++) {
		buf[n++] = 'x';
		buf[n++] = ',';
	}
	struct edge_cc cc;
	edge_cc_init(&cc);
	assert_int_equal(edge_cc_parse(&cc, iov_make(buf, n)), 0);
	assert_int_equal(cc.elems, EDGE_CC_MAX_ELEMS);
	edge_cc_init(&cc);
	buf[n++] = 'y';
	assert_int_equal(edge_cc_parse(&cc, iov_make(buf, n)), ERR_TOO_BIG);

	/* the parser never reads past the slice: "max-age=60" cut to "max-age=6" */
	edge_cc_init(&cc);
	assert_int_equal(edge_cc_parse(&cc, iov_make("max-age=60", 9)), 0);
	assert_int_equal(cc.max_age, 6);
	/* an embedded NUL is just a byte that is not tchar */
	edge_cc_init(&cc);
	assert_int_equal(edge_cc_parse(&cc, iov_make("no-store\0x, public", 18)), 0);
	assert_int_equal(cc.flags, F(PUBLIC));
}

/* ---- entries over time ---- */

#define FR  EDGE_FRESH_FRESH
#define SWR EDGE_FRESH_STALE_REVALIDATE
#define SIE EDGE_FRESH_STALE_IF_ERROR_ONLY
#define EXP EDGE_FRESH_EXPIRED

struct state_row {
	const char *doc;
	int64_t ttl, swr, sie, initial_age;
	int64_t at; /* seconds after the response time */
	enum edge_fresh_state want;
	int64_t age;
};

static const struct state_row state_rows[] = {
	{ "EXP-S 'cache a response for one hour'", 3600, 600, 86400, 0, 0, FR, 0 },
	{ "fresh up to the last second", 3600, 600, 86400, 0, 3599, FR, 3599 },
	{ "EXP-S 'after this duration, CloudFront serves the stale content' while revalidating",
	  3600, 600, 86400, 0, 3600, SWR, 3600 },
	{ "EXP-S '... serves the stale content up to 10 minutes'", 3600, 600, 86400, 0, 4199, SWR,
	  4199 },
	{ "EXP-S 'origin server returns an error ... continue to serve ... up to 24 hours'", 3600,
	  600, 86400, 0, 4200, SIE, 4200 },
	{ "stale-if-error counts from expiry, like stale-while-revalidate (RFC 5861 §4)", 3600, 600,
	  86400, 0, 3600 + 86399, SIE, 3600 + 86399 },
	{ "past both windows: expired", 3600, 600, 86400, 0, 3600 + 86400, EXP, 3600 + 86400 },
	{ "stale-if-error=0 and no swr: expired at once", 60, 0, 0, 0, 60, EXP, 60 },
	{ "swr longer than sie: revalidate window still applies", 60, 300, 100, 0, 250, SWR, 250 },
	{ "ttl 0 (max-age=0): stale at once", 0, 0, 0, 0, 0, EXP, 0 },
	{ "RFC §4.2.3 current_age = initial age + resident time", 500, 0, 0, 100, 200, FR, 300 },
	{ "clock went back: resident 0", 60, 0, 0, 5, -30, FR, 5 },
	{ "Age saturates at 2^31", 60, 0, 0, INT64_C(2147483600), 1000, EXP, INT64_C(2147483648) },
};

static void state_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(state_rows); i++) {
		const struct state_row *c = &state_rows[i];
		struct edge_fresh_entry e = { T0, c->initial_age, c->ttl, c->swr, c->sie };
		int64_t age = -1;
		enum edge_fresh_state s = edge_fresh_state(&e, T0 + c->at, &age);
		if (s != c->want || age != c->age)
			fail_msg("state row %zu (%s): %s age %lld, want %s age %lld", i, c->doc,
			         edge_fresh_state_name(s), (long long)age,
			         edge_fresh_state_name(c->want), (long long)c->age);
	}
}

/* decide -> entry -> state, end to end, with the AWS both-directives example. */
static void decision_to_entry(void **state)
{
	(void)state;
	struct edge_fresh_policy p;
	edge_fresh_policy_default(&p);
	struct hdrs h;
	build_headers("Cache-Control: max-age=3600, stale-while-revalidate=600, "
	              "stale-if-error=86400\nAge: 600",
	              &h);
	struct edge_fresh_decision d;
	assert_int_equal(edge_fresh_decide(&p, 200, h.h, h.n, 0, T0, &d), 0);
	struct edge_fresh_entry e;
	edge_fresh_entry_set(&e, &d, T0);
	int64_t age = 0;
	assert_int_equal(edge_fresh_state(&e, T0 + 2999, &age), EDGE_FRESH_FRESH);
	assert_int_equal(age, 3599);
	assert_int_equal(edge_fresh_state(&e, T0 + 3000, NULL), EDGE_FRESH_STALE_REVALIDATE);
	assert_int_equal(edge_fresh_state(&e, T0 + 3600, NULL), EDGE_FRESH_STALE_IF_ERROR_ONLY);
	assert_int_equal(edge_fresh_state(&e, T0 + 3000 + 86400, NULL), EDGE_FRESH_EXPIRED);
}

static void policy_checks(void **state)
{
	(void)state;
	struct edge_fresh_policy p;
	edge_fresh_policy_default(&p);
	assert_int_equal(edge_fresh_policy_check(&p), 0);
	assert_int_equal(p.default_ttl, 86400); /* EXP: 'the default TTL ... is 24 hours' */
	assert_int_equal(p.error_min_ttl, 10);  /* ERR-E: 'default duration of 10 seconds' */
	struct edge_fresh_policy q = p;
	q.min_ttl = -1;
	assert_int_equal(edge_fresh_policy_check(&q), ERR_INVALID);
	q = p;
	q.default_ttl = q.max_ttl + 1;
	assert_int_equal(edge_fresh_policy_check(&q), ERR_INVALID);
	q = p;
	q.max_ttl = EDGE_FRESH_TTL_LIMIT + 1;
	assert_int_equal(edge_fresh_policy_check(&q), ERR_INVALID);
	q = p;
	q.error_404_ttl = -2;
	assert_int_equal(edge_fresh_policy_check(&q), ERR_INVALID);
	q.error_404_ttl = EDGE_FRESH_404_AS_CLOUDFRONT;
	assert_int_equal(edge_fresh_policy_check(&q), 0);
	assert_int_equal(edge_fresh_policy_check(NULL), ERR_INVALID);
}

static void stale_on_error_statuses(void **state)
{
	(void)state;
	/* EXP-S 'returns an error code that is between 500 and 600' */
	assert_true(edge_fresh_error_allows_stale(500));
	assert_true(edge_fresh_error_allows_stale(504));
	assert_true(edge_fresh_error_allows_stale(599));
	assert_false(edge_fresh_error_allows_stale(404));
	assert_false(edge_fresh_error_allows_stale(600));
	assert_false(edge_fresh_error_allows_stale(200));
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(edge_fresh_reason_name(EDGE_FRESH_R_MAX_AGE), "MAX_AGE");
	assert_string_equal(edge_fresh_reason_name(EDGE_FRESH_R__COUNT), "?");
	assert_string_equal(edge_fresh_reason_text(EDGE_FRESH_R_EXPIRES), "Expires");
	assert_string_equal(edge_fresh_state_name(EDGE_FRESH_STALE_IF_ERROR_ONLY),
	                    "STALE_IF_ERROR_ONLY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decide_table),
		cmocka_unit_test(decide_details),
		cmocka_unit_test(header_names_case_insensitive),
		cmocka_unit_test(cc_over_cap_not_stored),
		cmocka_unit_test(cc_table),
		cmocka_unit_test(cc_caps),
		cmocka_unit_test(state_table),
		cmocka_unit_test(decision_to_entry),
		cmocka_unit_test(policy_checks),
		cmocka_unit_test(stale_on_error_statuses),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests_name("test_edge_fresh", tests, NULL, NULL);
}
