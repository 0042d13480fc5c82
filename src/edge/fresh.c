/*
 * The edge's freshness rules (CloudFront's, see fresh.h and
 * docs/internals/edge-fresh.md). Pure; any thread.
 */
#include "edge/fresh.h"

#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/date.h"

/* ---- Cache-Control ------------------------------------------------------ */

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 §5.6.4 qdtext and the second byte of a quoted-pair. */
static bool is_qdtext(unsigned char c)
{
	return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
	       (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

static bool is_qpair(unsigned char c)
{
	return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

/* The directives this parser knows: a row per directive. */
enum cc_arg { ARG_NONE, ARG_DELTA, ARG_FIELDS };

struct cc_directive {
	struct iov name;
	uint32_t flag;
	enum cc_arg arg;
	uint32_t invalid_flag; /* ARG_DELTA: set when the value is malformed */
	uint32_t fields_flag;  /* ARG_FIELDS: set when an argument is given */
};

static const struct cc_directive directives[] = {
	{ IOV_LIT("max-age"), EDGE_CC_MAX_AGE, ARG_DELTA, EDGE_CC_MAX_AGE_INVALID, 0 },
	{ IOV_LIT("s-maxage"), EDGE_CC_S_MAXAGE, ARG_DELTA, EDGE_CC_S_MAXAGE_INVALID, 0 },
	{ IOV_LIT("stale-while-revalidate"), EDGE_CC_SWR, ARG_DELTA, 0, 0 },
	{ IOV_LIT("stale-if-error"), EDGE_CC_SIE, ARG_DELTA, 0, 0 },
	{ IOV_LIT("no-cache"), EDGE_CC_NO_CACHE, ARG_FIELDS, 0, EDGE_CC_NO_CACHE_FIELDS },
	{ IOV_LIT("private"), EDGE_CC_PRIVATE, ARG_FIELDS, 0, EDGE_CC_PRIVATE_FIELDS },
	{ IOV_LIT("no-store"), EDGE_CC_NO_STORE, ARG_NONE, 0, 0 },
	{ IOV_LIT("public"), EDGE_CC_PUBLIC, ARG_NONE, 0, 0 },
	{ IOV_LIT("must-revalidate"), EDGE_CC_MUST_REVALIDATE, ARG_NONE, 0, 0 },
	{ IOV_LIT("proxy-revalidate"), EDGE_CC_PROXY_REVALIDATE, ARG_NONE, 0, 0 },
	{ IOV_LIT("no-transform"), EDGE_CC_NO_TRANSFORM, ARG_NONE, 0, 0 },
	{ IOV_LIT("immutable"), EDGE_CC_IMMUTABLE, ARG_NONE, 0, 0 },
};

void edge_cc_init(struct edge_cc *cc)
{
	memset(cc, 0, sizeof(*cc));
}

/* delta-seconds = 1*DIGIT (RFC 9111 §1.2.2), saturating at 2^31. */
static bool parse_delta(struct iov v, int64_t *out)
{
	if (v.len == 0)
		return false;
	int64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.base[i];
		if (c < '0' || c > '9')
			return false;
		if (n < EDGE_CC_DELTA_MAX)
			n = n * 10 + (c - '0');
	}
	*out = n < EDGE_CC_DELTA_MAX ? n : EDGE_CC_DELTA_MAX;
	return true;
}

/* Past a quoted-string starting at s[i] == '"'. Returns the index after the
 * closing quote, or 0 if it is not closed or holds a byte it may not. */
static size_t skip_quoted(struct iov s, size_t i, bool *escaped)
{
	*escaped = false;
	for (i++; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			if (i + 1 >= s.len || !is_qpair((unsigned char)s.base[i + 1]))
				return 0;
			*escaped = true;
			i++;
			continue;
		}
		if (!is_qdtext(c))
			return 0;
	}
	return 0;
}

/* After a malformed element: the index of the next comma outside quotes. */
static size_t skip_element(struct iov s, size_t i)
{
	bool quoted = false;
	for (; i < s.len; i++) {
		char c = s.base[i];
		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == ',') {
			return i;
		}
	}
	return s.len;
}

static const struct cc_directive *find_directive(struct iov name)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (iov_eq_nocase(name, directives[i].name))
			return &directives[i];
	return NULL;
}

static int64_t *delta_slot(struct edge_cc *cc, uint32_t flag)
{
	switch (flag) {
	case EDGE_CC_MAX_AGE:
		return &cc->max_age;
	case EDGE_CC_S_MAXAGE:
		return &cc->s_maxage;
	case EDGE_CC_SWR:
		return &cc->swr;
	default:
		CHECK(flag == EDGE_CC_SIE);
		return &cc->sie;
	}
}

/* Record one well-formed element. `has_arg` with `arg` the argument (quotes
 * stripped; `escaped` if it held a quoted-pair). */
static void apply(struct edge_cc *cc, const struct cc_directive *d, bool has_arg, struct iov arg,
                  bool escaped)
{
	if (d->arg == ARG_DELTA) {
		if (cc->flags & (d->flag | d->invalid_flag))
			return; /* the first occurrence counts */
		int64_t n = 0;
		if (has_arg && !escaped && parse_delta(arg, &n)) {
			cc->flags |= d->flag;
			*delta_slot(cc, d->flag) = n;
		} else {
			cc->flags |= d->invalid_flag;
		}
		return;
	}
	cc->flags |= d->flag;
	if (d->arg == ARG_FIELDS && has_arg)
		cc->flags |= d->fields_flag;
}

/* A malformed element whose name is known: a valued directive becomes
 * invalid (max-age, s-maxage) or stays absent (the stale windows). */
static void apply_malformed(struct edge_cc *cc, const struct cc_directive *d)
{
	if (d == NULL || d->arg != ARG_DELTA)
		return;
	if (!(cc->flags & (d->flag | d->invalid_flag)))
		cc->flags |= d->invalid_flag;
}

int edge_cc_parse(struct edge_cc *cc, struct iov s)
{
	if (s.len > EDGE_CC_MAX_BYTES || cc->bytes + s.len > EDGE_CC_MAX_BYTES)
		return ERR_TOO_BIG;
	cc->bytes += s.len;
	size_t i = 0;
	for (;;) {
		while (i < s.len && (is_ows((unsigned char)s.base[i]) || s.base[i] == ','))
			i++;
		if (i >= s.len)
			return 0;
		if (++cc->elems > EDGE_CC_MAX_ELEMS)
			return ERR_TOO_BIG;

		size_t n0 = i;
		while (i < s.len && is_tchar((unsigned char)s.base[i]))
			i++;
		const struct cc_directive *d =
		    i > n0 ? find_directive(iov_sub(s, n0, i - n0)) : NULL;
		bool ok = i > n0, has_arg = false, escaped = false;
		struct iov arg = IOV_NULL;
		if (ok && i < s.len && s.base[i] == '=') {
			has_arg = true;
			i++;
			if (i < s.len && s.base[i] == '"') {
				size_t end = skip_quoted(s, i, &escaped);
				ok = end != 0;
				if (ok) {
					arg = iov_sub(s, i + 1, end - i - 2);
					i = end;
				}
			} else {
				size_t a0 = i;
				while (i < s.len && is_tchar((unsigned char)s.base[i]))
					i++;
				ok = i > a0;
				arg = iov_sub(s, a0, i - a0);
			}
		}
		if (ok) {
			while (i < s.len && is_ows((unsigned char)s.base[i]))
				i++;
			ok = i >= s.len || s.base[i] == ',';
		}
		if (!ok) {
			apply_malformed(cc, d);
			i = skip_element(s, i);
			continue;
		}
		if (d != NULL)
			apply(cc, d, has_arg, arg, escaped);
	}
}

/* ---- Policy ---------------------------------------------------------------- */

void edge_fresh_policy_default(struct edge_fresh_policy *p)
{
	p->min_ttl = 0;
	p->default_ttl = EDGE_FRESH_DEFAULT_TTL;
	p->max_ttl = EDGE_FRESH_DEFAULT_MAX_TTL;
	p->error_min_ttl = EDGE_FRESH_ERROR_MIN_TTL;
	p->error_404_ttl = EDGE_FRESH_ERROR_404_TTL;
}

static bool in_limit(int64_t v)
{
	return v >= 0 && v <= EDGE_FRESH_TTL_LIMIT;
}

int edge_fresh_policy_check(const struct edge_fresh_policy *p)
{
	if (p == NULL || !in_limit(p->min_ttl) || !in_limit(p->default_ttl) ||
	    !in_limit(p->max_ttl) || !in_limit(p->error_min_ttl))
		return ERR_INVALID;
	if (p->min_ttl > p->default_ttl || p->default_ttl > p->max_ttl)
		return ERR_INVALID;
	if (p->error_404_ttl != EDGE_FRESH_404_AS_CLOUDFRONT && !in_limit(p->error_404_ttl))
		return ERR_INVALID;
	return 0;
}

static const char *const reason_names[] = {
#define EDGE_FRESH_REASON_NAME(name, text) #name,
	EDGE_FRESH_REASONS(EDGE_FRESH_REASON_NAME)
#undef EDGE_FRESH_REASON_NAME
};

static const char *const reason_texts[] = {
#define EDGE_FRESH_REASON_TEXT(name, text) text,
	EDGE_FRESH_REASONS(EDGE_FRESH_REASON_TEXT)
#undef EDGE_FRESH_REASON_TEXT
};

const char *edge_fresh_reason_name(enum edge_fresh_reason r)
{
	return (unsigned)r < EDGE_FRESH_R__COUNT ? reason_names[r] : "?";
}

const char *edge_fresh_reason_text(enum edge_fresh_reason r)
{
	return (unsigned)r < EDGE_FRESH_R__COUNT ? reason_texts[r] : "?";
}

/* ---- Response headers ----------------------------------------------------- */

/* Age: the first list member, a delta-seconds, else ignored (RFC 9111 §5.1). */
static bool parse_age(struct iov v, int64_t *out)
{
	struct iov first;
	iov_split(v, ',', &first);
	return parse_delta(iov_trim(first), out);
}

int edge_fresh_resp_parse(struct edge_fresh_resp *r, int status, const struct http_header *headers,
                          size_t nheaders, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	edge_cc_init(&r->cc);
	bool seen_date = false, seen_age = false;
	for (size_t i = 0; i < nheaders; i++) {
		struct iov name = headers[i].name, value = headers[i].value;
		if (iov_eq_nocase(name, IOV_LIT("cache-control"))) {
			r->has_cc = true;
			if (!r->cc_too_long && edge_cc_parse(&r->cc, value) != 0)
				r->cc_too_long = true;
		} else if (iov_eq_nocase(name, IOV_LIT("expires"))) {
			if (r->has_expires)
				continue;
			r->has_expires = true;
			r->expires_valid = http_date_parse_at(value, now, &r->expires) == 0;
		} else if (iov_eq_nocase(name, IOV_LIT("date"))) {
			if (seen_date)
				continue;
			seen_date = true;
			r->has_date = http_date_parse_at(value, now, &r->date) == 0;
		} else if (iov_eq_nocase(name, IOV_LIT("age"))) {
			if (seen_age)
				continue;
			seen_age = true;
			r->has_age = parse_age(value, &r->age);
		}
	}
	return r->cc_too_long ? ERR_TOO_BIG : 0;
}

/* ---- Deciding -------------------------------------------------------------- */

enum status_kind {
	KIND_NONE,         /* not stored */
	KIND_NORMAL,       /* the TTL rules */
	KIND_NORMAL_IF_CC, /* the TTL rules, only with a Cache-Control header */
	KIND_ERROR,        /* a cached error */
	KIND_ERROR_IF_TTL, /* a cached error only with max-age or s-maxage */
};

/* AWS "How CloudFront processes HTTP 3xx status codes" and "HTTP 4xx and
 * 5xx status codes that CloudFront caches". */
static const struct {
	int status;
	enum status_kind kind;
} status_table[] = {
	{ 200, KIND_NORMAL },       { 203, KIND_NORMAL },       { 204, KIND_NORMAL },
	{ 206, KIND_NORMAL },       { 300, KIND_NORMAL },       { 301, KIND_NORMAL },
	{ 302, KIND_NORMAL },       { 303, KIND_NORMAL },       { 307, KIND_NORMAL_IF_CC },
	{ 308, KIND_NORMAL_IF_CC }, { 400, KIND_ERROR_IF_TTL }, { 403, KIND_ERROR_IF_TTL },
	{ 404, KIND_ERROR },        { 405, KIND_ERROR_IF_TTL }, { 412, KIND_ERROR_IF_TTL },
	{ 414, KIND_ERROR },        { 415, KIND_ERROR_IF_TTL }, { 500, KIND_ERROR },
	{ 501, KIND_ERROR },        { 502, KIND_ERROR },        { 503, KIND_ERROR },
	{ 504, KIND_ERROR },
};

static enum status_kind status_kind(int status)
{
	for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status_table[i].status == status)
			return status_table[i].kind;
	return KIND_NONE;
}

/* no-store/no-cache/private keep these errors out of the cache (AWS "Control
 * how long CloudFront caches errors"). */
static bool error_obeys_no_store(int status)
{
	return status == 404 || status == 410 || status == 414 || status == 501;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The origin's lifetime: s-maxage, else max-age, else Expires - Date
 * (Date absent: the response time). *has is false without any of them. A
 * malformed max-age/s-maxage and an invalid Expires give 0. */
static int64_t origin_lifetime(const struct edge_fresh_resp *r, int64_t response_time,
                               enum edge_fresh_reason *why, bool *has)
{
	uint32_t f = r->cc.flags;
	*has = true;
	if (f & (EDGE_CC_S_MAXAGE | EDGE_CC_S_MAXAGE_INVALID)) {
		*why = EDGE_FRESH_R_S_MAXAGE;
		return (f & EDGE_CC_S_MAXAGE) ? r->cc.s_maxage : 0;
	}
	if (f & (EDGE_CC_MAX_AGE | EDGE_CC_MAX_AGE_INVALID)) {
		*why = EDGE_FRESH_R_MAX_AGE;
		return (f & EDGE_CC_MAX_AGE) ? r->cc.max_age : 0;
	}
	if (r->has_expires) {
		*why = EDGE_FRESH_R_EXPIRES;
		if (!r->expires_valid)
			return 0;
		int64_t base = r->has_date ? r->date : response_time;
		return max64(0, r->expires - base);
	}
	*has = false;
	return 0;
}

static void not_stored(struct edge_fresh_decision *out, enum edge_fresh_reason why)
{
	out->store = false;
	out->ttl = out->swr = out->sie = 0;
	out->reason = why;
}

static void decide_error(const struct edge_fresh_policy *p, const struct edge_fresh_resp *r,
                         enum status_kind kind, int64_t lifetime, bool has_lifetime,
                         struct edge_fresh_decision *out)
{
	uint32_t f = r->cc.flags;
	if (kind == KIND_ERROR_IF_TTL && !(f & (EDGE_CC_MAX_AGE | EDGE_CC_S_MAXAGE))) {
		not_stored(out, EDGE_FRESH_R_ERROR_NEEDS_MAX_AGE);
		return;
	}
	if (error_obeys_no_store(r->status) &&
	    (f & (EDGE_CC_NO_STORE | EDGE_CC_NO_CACHE | EDGE_CC_PRIVATE))) {
		not_stored(out, EDGE_FRESH_R_ERROR_NO_STORE);
		return;
	}
	if (r->status == 404 && p->error_404_ttl != EDGE_FRESH_404_AS_CLOUDFRONT) {
		if (p->error_404_ttl == 0) {
			not_stored(out, EDGE_FRESH_R_ERROR_TTL_ZERO);
			return;
		}
		out->store = true;
		out->ttl = p->error_404_ttl;
		out->reason = EDGE_FRESH_R_ERROR_404_TTL;
		return;
	}
	int64_t ttl = p->error_min_ttl;
	out->reason = EDGE_FRESH_R_ERROR_MIN_TTL;
	if (has_lifetime) {
		int64_t header = min64(lifetime, p->max_ttl);
		if (header > ttl) {
			ttl = header;
			out->reason = EDGE_FRESH_R_ERROR_HEADER;
			out->clamp =
			    header < lifetime ? EDGE_FRESH_CLAMP_MAX : EDGE_FRESH_CLAMP_NONE;
		} else if (header < ttl) {
			out->clamp = EDGE_FRESH_CLAMP_MIN;
		}
	}
	if (ttl == 0) {
		not_stored(out, EDGE_FRESH_R_ERROR_TTL_ZERO);
		return;
	}
	out->store = true;
	out->ttl = ttl;
}

void edge_fresh_decide_parsed(const struct edge_fresh_policy *p, const struct edge_fresh_resp *r,
                              int64_t request_time, int64_t response_time,
                              struct edge_fresh_decision *out)
{
	CHECK(edge_fresh_policy_check(p) == 0);
	memset(out, 0, sizeof(*out));
	out->error = r->status >= 400 && r->status <= 599;
	int64_t delay = request_time > 0 ? max64(0, response_time - request_time) : 0;
	out->initial_age = r->has_age
	                       ? min64(r->age + min64(delay, EDGE_CC_DELTA_MAX), EDGE_CC_DELTA_MAX)
	                       : min64(delay, EDGE_CC_DELTA_MAX);

	if (r->cc_too_long) {
		not_stored(out, EDGE_FRESH_R_CC_TOO_LONG);
		return;
	}
	if (p->min_ttl == 0 && p->default_ttl == 0 && p->max_ttl == 0) {
		not_stored(out, EDGE_FRESH_R_CACHING_DISABLED);
		return;
	}
	enum status_kind kind = status_kind(r->status);
	if (kind == KIND_NONE) {
		not_stored(out, EDGE_FRESH_R_STATUS_NOT_CACHED);
		return;
	}
	if (kind == KIND_NORMAL_IF_CC && !r->has_cc) {
		not_stored(out, EDGE_FRESH_R_STATUS_NEEDS_CACHE_CONTROL);
		return;
	}

	enum edge_fresh_reason why = EDGE_FRESH_R_DEFAULT_TTL;
	bool has_lifetime = false;
	int64_t lifetime = origin_lifetime(r, response_time, &why, &has_lifetime);
	lifetime = max64(0, lifetime - out->initial_age);
	if (kind == KIND_ERROR || kind == KIND_ERROR_IF_TTL)
		return decide_error(p, r, kind, lifetime, has_lifetime, out);

	uint32_t f = r->cc.flags;
	if (f & (EDGE_CC_NO_STORE | EDGE_CC_NO_CACHE | EDGE_CC_PRIVATE)) {
		if (p->min_ttl == 0) {
			not_stored(out, (f & EDGE_CC_NO_STORE)  ? EDGE_FRESH_R_NO_STORE
			                : (f & EDGE_CC_PRIVATE) ? EDGE_FRESH_R_PRIVATE
			                                        : EDGE_FRESH_R_NO_CACHE);
			return;
		}
		out->ttl = p->min_ttl;
		out->reason = EDGE_FRESH_R_MIN_TTL_OVERRIDE;
	} else if (!has_lifetime) {
		out->ttl = max64(p->min_ttl, p->default_ttl);
		out->reason = EDGE_FRESH_R_DEFAULT_TTL;
	} else {
		out->reason = why;
		out->ttl = lifetime;
		if (lifetime < p->min_ttl) {
			out->ttl = p->min_ttl;
			out->clamp = EDGE_FRESH_CLAMP_MIN;
		} else if (lifetime > p->max_ttl) {
			out->ttl = p->max_ttl;
			out->clamp = EDGE_FRESH_CLAMP_MAX;
		}
	}
	out->store = true;
	out->swr = (f & EDGE_CC_SWR) ? min64(r->cc.swr, p->max_ttl) : 0;
	out->sie = (f & EDGE_CC_SIE) ? min64(r->cc.sie, p->max_ttl) : p->max_ttl;
}

int edge_fresh_decide(const struct edge_fresh_policy *p, int status,
                      const struct http_header *headers, size_t nheaders, int64_t request_time,
                      int64_t response_time, struct edge_fresh_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->reason = EDGE_FRESH_R_STATUS_NOT_CACHED;
	if (edge_fresh_policy_check(p) != 0 || (headers == NULL && nheaders != 0))
		return ERR_INVALID;
	struct edge_fresh_resp r;
	(void)edge_fresh_resp_parse(&r, status, headers, nheaders, response_time);
	edge_fresh_decide_parsed(p, &r, request_time, response_time, out);
	return 0;
}

bool edge_fresh_error_allows_stale(int status)
{
	return status >= 500 && status <= 599;
}

/* ---- Stored entries ------------------------------------------------------ */

void edge_fresh_entry_set(struct edge_fresh_entry *e, const struct edge_fresh_decision *d,
                          int64_t response_time)
{
	e->stored_at = response_time;
	e->initial_age = d->initial_age;
	e->ttl = d->ttl;
	e->swr = d->swr;
	e->sie = d->sie;
}

enum edge_fresh_state edge_fresh_state(const struct edge_fresh_entry *e, int64_t now, int64_t *age)
{
	int64_t resident = now > e->stored_at ? now - e->stored_at : 0;
	if (age != NULL) {
		int64_t init = e->initial_age > 0 ? e->initial_age : 0;
		*age = resident >= EDGE_CC_DELTA_MAX - min64(init, EDGE_CC_DELTA_MAX)
		           ? EDGE_CC_DELTA_MAX
		           : init + resident;
	}
	if (resident < e->ttl)
		return EDGE_FRESH_FRESH;
	int64_t stale = resident - e->ttl;
	if (stale < e->swr)
		return EDGE_FRESH_STALE_REVALIDATE;
	if (stale < e->sie)
		return EDGE_FRESH_STALE_IF_ERROR_ONLY;
	return EDGE_FRESH_EXPIRED;
}

const char *edge_fresh_state_name(enum edge_fresh_state s)
{
	switch (s) {
	case EDGE_FRESH_FRESH:
		return "FRESH";
	case EDGE_FRESH_STALE_REVALIDATE:
		return "STALE_REVALIDATE";
	case EDGE_FRESH_STALE_IF_ERROR_ONLY:
		return "STALE_IF_ERROR_ONLY";
	case EDGE_FRESH_EXPIRED:
		return "EXPIRED";
	}
	return "?";
}
