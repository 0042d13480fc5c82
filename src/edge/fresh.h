/*
 * The edge's freshness rules: how long a response from the origin stays in
 * the edge cache, and whether an entry may still be served. It reproduces
 * CloudFront (min/default/max TTL against Cache-Control and Expires, error
 * caching, stale-while-revalidate and stale-if-error) as written down in
 * docs/internals/edge-fresh.md, which names the AWS page behind every rule.
 *
 * Three layers, each usable alone:
 *   edge_cc_*            a strict parser of response Cache-Control (RFC 9111
 *                        §5.2 with the RFC 5861 extensions);
 *   edge_fresh_decide*   origin response + behavior TTLs -> store or not, TTL,
 *                        stale windows, the reason for the log;
 *   edge_fresh_state     a stored entry + now -> FRESH / STALE_REVALIDATE /
 *                        STALE_IF_ERROR_ONLY / EXPIRED and its Age.
 * Header values are borrowed slices; nothing is kept and nothing allocated.
 * Pure; any thread. All times are Unix seconds, all durations seconds.
 *
 * Not decided here: the request method (CloudFront caches GET and HEAD, and
 * OPTIONS when configured: the caller asks only for those), the cache key,
 * request collapsing, and what to do with a 304 (the caller merges the 304's
 * headers into the stored ones, RFC 9111 §4.3.4, and decides again with the
 * stored status).
 */
#ifndef MERIDIAN_EDGE_FRESH_H
#define MERIDIAN_EDGE_FRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "http/parser.h"

/* ---- Cache-Control (response) ---------------------------------------- */

/* RFC 9111 §1.2.2: a delta-seconds too large to represent is 2^31. */
#define EDGE_CC_DELTA_MAX INT64_C(2147483648)
/* Caps on what one response may send: bytes over all Cache-Control field
 * lines together, and list elements (known or not, empty ones excluded). */
#define EDGE_CC_MAX_BYTES 4096
#define EDGE_CC_MAX_ELEMS 64

/* Directives seen. A valued directive (max-age, s-maxage,
 * stale-while-revalidate, stale-if-error) is present only with a valid
 * delta-seconds; a malformed max-age or s-maxage sets its _INVALID bit
 * instead, and the response then counts as stale (RFC 9111 §4.2.1:
 * "invalid freshness information ... stale"). */
enum edge_cc_flag {
	EDGE_CC_MAX_AGE = 1u << 0,
	EDGE_CC_S_MAXAGE = 1u << 1,
	EDGE_CC_NO_CACHE = 1u << 2, /* with or without a field list */
	EDGE_CC_NO_STORE = 1u << 3,
	EDGE_CC_PRIVATE = 1u << 4, /* with or without a field list */
	EDGE_CC_PUBLIC = 1u << 5,
	EDGE_CC_MUST_REVALIDATE = 1u << 6,
	EDGE_CC_PROXY_REVALIDATE = 1u << 7,
	EDGE_CC_SWR = 1u << 8, /* stale-while-revalidate=N */
	EDGE_CC_SIE = 1u << 9, /* stale-if-error=N */
	EDGE_CC_NO_TRANSFORM = 1u << 10,
	EDGE_CC_IMMUTABLE = 1u << 11,
	EDGE_CC_NO_CACHE_FIELDS = 1u << 12, /* no-cache="f1, f2" (treated as plain no-cache) */
	EDGE_CC_PRIVATE_FIELDS = 1u << 13,  /* private="f1" (treated as plain private) */
	EDGE_CC_MAX_AGE_INVALID = 1u << 14,
	EDGE_CC_S_MAXAGE_INVALID = 1u << 15,
};

/* The parsed directives of every Cache-Control line of one response. */
struct edge_cc {
	uint32_t flags;   /* enum edge_cc_flag */
	int64_t max_age;  /* valid when EDGE_CC_MAX_AGE; 0..EDGE_CC_DELTA_MAX */
	int64_t s_maxage; /* valid when EDGE_CC_S_MAXAGE */
	int64_t swr;      /* valid when EDGE_CC_SWR */
	int64_t sie;      /* valid when EDGE_CC_SIE */
	size_t bytes;     /* field bytes fed so far (cap EDGE_CC_MAX_BYTES) */
	unsigned elems;   /* list elements seen so far (cap EDGE_CC_MAX_ELEMS) */
};

void edge_cc_init(struct edge_cc *cc);

/*
 * Add one Cache-Control field line (several lines are one comma list, RFC
 * 9110 §5.3). Directive names are case-insensitive; arguments are a token or
 * a quoted-string (both accepted for every directive, RFC 9111 §5.2); no
 * spaces around "=". An element that does not parse is skipped up to the
 * next comma outside quotes; unknown directives are ignored; for a repeated
 * directive the first occurrence counts (RFC 9111 §4.2.1). An argument on a
 * directive that takes none (no-store=x) is ignored and the directive kept,
 * the restrictive reading (RFC 9111 §4.2.1). Returns 0, or ERR_TOO_BIG when
 * the caps above are passed (cc then holds what came before; the caller
 * must not cache the response).
 */
int edge_cc_parse(struct edge_cc *cc, struct iov value);

/* ---- Deciding on an origin response ------------------------------------ */

/* Defaults of a cache behavior without a cache policy (AWS Expiration page:
 * "the default TTL ... is 24 hours"; CachePolicyConfig: MaxTTL default one
 * year) and CloudFront's error caching minimum TTL (10 s). */
#define EDGE_FRESH_DEFAULT_TTL       86400
#define EDGE_FRESH_DEFAULT_MAX_TTL   31536000
#define EDGE_FRESH_ERROR_MIN_TTL     10
#define EDGE_FRESH_ERROR_404_TTL     2 /* ours: a replication-lag 404 must not stick */
#define EDGE_FRESH_404_AS_CLOUDFRONT (-1)
/* Largest TTL a policy may name: CloudFront's max-age limit, 100 years. */
#define EDGE_FRESH_TTL_LIMIT INT64_C(3153600000)

/* One cache behavior's freshness settings. */
struct edge_fresh_policy {
	int64_t min_ttl;
	int64_t default_ttl;
	int64_t max_ttl;
	int64_t error_min_ttl; /* CloudFront's Error Caching Minimum TTL */
	/* A 404 is negatively cached exactly this long, whatever its headers
	 * say (0: not at all); EDGE_FRESH_404_AS_CLOUDFRONT treats it like
	 * the other cached errors. */
	int64_t error_404_ttl;
};

/* min 0, default 24 h, max 1 year, error 10 s, 404 2 s. */
void edge_fresh_policy_default(struct edge_fresh_policy *p);

/* 0, or ERR_INVALID unless 0 <= min <= default <= max <= EDGE_FRESH_TTL_LIMIT
 * (the CloudFront API's own check), 0 <= error_min_ttl <= limit and
 * error_404_ttl is EDGE_FRESH_404_AS_CLOUDFRONT or in 0..limit. */
int edge_fresh_policy_check(const struct edge_fresh_policy *p);

/* Why a response was (not) stored, for the log: X(name, text). */
#define EDGE_FRESH_REASONS(X)                                                       \
	X(S_MAXAGE, "s-maxage")                                                     \
	X(MAX_AGE, "max-age")                                                       \
	X(EXPIRES, "Expires")                                                       \
	X(DEFAULT_TTL, "no Cache-Control max-age/s-maxage or Expires: default TTL") \
	X(MIN_TTL_OVERRIDE, "no-cache/no-store/private overridden by min TTL > 0")  \
	X(NO_STORE, "no-store with min TTL 0")                                      \
	X(NO_CACHE, "no-cache with min TTL 0")                                      \
	X(PRIVATE, "private with min TTL 0")                                        \
	X(CACHING_DISABLED, "min, default and max TTL are all 0")                   \
	X(STATUS_NOT_CACHED, "status code CloudFront does not cache")               \
	X(STATUS_NEEDS_CACHE_CONTROL, "307/308 without a Cache-Control header")     \
	X(ERROR_NEEDS_MAX_AGE, "400/403/405/412/415 without max-age or s-maxage")   \
	X(ERROR_NO_STORE, "404/410/414/501 with no-cache/no-store/private")         \
	X(ERROR_MIN_TTL, "error cached for the error caching minimum TTL")          \
	X(ERROR_HEADER, "error cached for its max-age/s-maxage/Expires")            \
	X(ERROR_404_TTL, "404 cached for the edge's 404 TTL")                       \
	X(ERROR_TTL_ZERO, "error caching TTL is 0")                                 \
	X(CC_TOO_LONG, "Cache-Control over its caps")

enum edge_fresh_reason {
#define EDGE_FRESH_REASON_ENUM(name, text) EDGE_FRESH_R_##name,
	EDGE_FRESH_REASONS(EDGE_FRESH_REASON_ENUM)
#undef EDGE_FRESH_REASON_ENUM
	    EDGE_FRESH_R__COUNT
};

/* "MAX_AGE", ... for logs; "?" out of range. */
const char *edge_fresh_reason_name(enum edge_fresh_reason r);
const char *edge_fresh_reason_text(enum edge_fresh_reason r);

/* Which bound of the policy changed the origin's lifetime. */
enum edge_fresh_clamp {
	EDGE_FRESH_CLAMP_NONE = 0,
	EDGE_FRESH_CLAMP_MIN, /* raised to min TTL (or the error caching minimum) */
	EDGE_FRESH_CLAMP_MAX, /* lowered to max TTL */
};

/* The freshness-relevant parts of an origin response, parsed once. */
struct edge_fresh_resp {
	int status;
	bool has_cc;        /* at least one Cache-Control line */
	bool cc_too_long;   /* edge_cc_parse said ERR_TOO_BIG */
	struct edge_cc cc;  /* every Cache-Control line */
	bool has_expires;   /* an Expires line (the first one counts) */
	bool expires_valid; /* false: RFC 9111 §5.3 "invalid ... in the past" */
	int64_t expires;
	bool has_date; /* a valid Date (the first line) */
	int64_t date;
	bool has_age; /* a valid Age: its first list member (RFC 9111 §5.1) */
	int64_t age;  /* 0..EDGE_CC_DELTA_MAX */
};

/*
 * Fill r from a response's headers (names matched case-insensitively).
 * `now` places two-digit rfc850 years (http_date_parse_at). Returns 0, or
 * ERR_TOO_BIG when Cache-Control passed its caps (r->cc_too_long is then set
 * and the rest of r is still filled: deciding on it says "not stored").
 */
int edge_fresh_resp_parse(struct edge_fresh_resp *r, int status, const struct http_header *headers,
                          size_t nheaders, int64_t now);

/* What to do with one origin response. */
struct edge_fresh_decision {
	bool store;          /* keep it in the cache */
	bool error;          /* a negatively cached 4xx/5xx */
	int64_t ttl;         /* seconds fresh, counted from the response time */
	int64_t swr;         /* then this long served stale while refreshing */
	int64_t sie;         /* and up to this long (from expiry) on origin error */
	int64_t initial_age; /* the Age the response arrived with, for Age */
	enum edge_fresh_reason reason;
	enum edge_fresh_clamp clamp;
};

/*
 * The CloudFront rules, in order (AWS Expiration page, "Specify the amount
 * of time that CloudFront caches objects" table and its warning):
 *  1. all three TTLs 0 (CachingDisabled): nothing is stored, errors neither.
 *  2. status: 200 203 204 206 300 301 302 303 follow the TTL rules; 307 and
 *     308 only with a Cache-Control header; 404 414 500 501 502 503 504 are
 *     cached errors; 400 403 405 412 415 are cached errors only with
 *     max-age or s-maxage; anything else (416, 410, 304, 1xx...) is not
 *     stored.
 *  3. no-store / no-cache / private: with min TTL 0 not stored; with min
 *     TTL > 0 stored for min TTL.
 *  4. lifetime from s-maxage, else max-age, else Expires - Date (Expires is
 *     ignored when either is present); minus the initial age; clamped to
 *     [min TTL, max TTL]. Without any of the three: max(min TTL, default TTL).
 *  5. stale-while-revalidate=N: N, at most max TTL. stale-if-error=N: N, at
 *     most max TTL; absent, CloudFront still serves the stored copy when
 *     the origin fails, so sie = max TTL; stale-if-error=0 turns that off.
 * Errors: TTL = max(header lifetime capped at max TTL, error caching
 * minimum TTL) (or error_404_ttl for a 404), no stale windows; no-store /
 * no-cache / private prevent caching only for 404, 410, 414 and 501.
 * initial_age = Age + (response_time - request_time) (RFC 9111 §4.2.3
 * corrected_age_value; the Date-based apparent_age is not used, origin
 * clocks drift). request_time 0 means unknown (no delay). p must pass
 * edge_fresh_policy_check (CHECKed).
 */
void edge_fresh_decide_parsed(const struct edge_fresh_policy *p, const struct edge_fresh_resp *r,
                              int64_t request_time, int64_t response_time,
                              struct edge_fresh_decision *out);

/* edge_fresh_resp_parse + edge_fresh_decide_parsed. Returns 0 (an over-cap
 * Cache-Control gives store = false, reason CC_TOO_LONG), or ERR_INVALID for
 * a policy that fails edge_fresh_policy_check (out is then "not stored"). */
int edge_fresh_decide(const struct edge_fresh_policy *p, int status,
                      const struct http_header *headers, size_t nheaders, int64_t request_time,
                      int64_t response_time, struct edge_fresh_decision *out);

/* true for an origin status after which a stored copy may be served stale
 * (within sie): 500-599 (AWS: "an error code that is between 500 and
 * 600"). Timeouts and refused connections count too; the caller knows. */
bool edge_fresh_error_allows_stale(int status);

/* ---- A stored entry over time ------------------------------------------ */

struct edge_fresh_entry {
	int64_t stored_at;   /* response time */
	int64_t initial_age; /* decision.initial_age */
	int64_t ttl, swr, sie;
};

enum edge_fresh_state {
	EDGE_FRESH_FRESH = 0,
	EDGE_FRESH_STALE_REVALIDATE,    /* serve it, refresh in the background */
	EDGE_FRESH_STALE_IF_ERROR_ONLY, /* go to the origin; serve it if that fails */
	EDGE_FRESH_EXPIRED,             /* revalidate or fetch; never serve as is */
};

/* Entry from a decision made at response_time. */
void edge_fresh_entry_set(struct edge_fresh_entry *e, const struct edge_fresh_decision *d,
                          int64_t response_time);

/*
 * Where the entry stands at `now`. resident = now - stored_at (0 if the
 * clock went back); FRESH while resident < ttl, then STALE_REVALIDATE for
 * swr seconds, then STALE_IF_ERROR_ONLY until sie seconds after expiry
 * (the two windows both start at expiry, RFC 5861), then EXPIRED.
 * *age (may be NULL) gets the Age to send: initial_age + resident,
 * saturating at EDGE_CC_DELTA_MAX (RFC 9111 §4.2.3 current_age).
 */
enum edge_fresh_state edge_fresh_state(const struct edge_fresh_entry *e, int64_t now, int64_t *age);

const char *edge_fresh_state_name(enum edge_fresh_state s);

#endif
