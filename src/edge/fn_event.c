/*
 * The Lambda@Edge event in, the function's result out, under CloudFront's
 * rules (see fn_event.h and docs/internals/edge-fn-event.md). The rules are
 * the tables below and REFERENCE.md §4a. Pure; any thread.
 */
#include "edge/fn_event.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/err.h"

/* ---- the rule tables ---- */

static const char *const trigger_names[] = {
	[EDGE_FN_VIEWER_REQUEST] = "viewer-request",
	[EDGE_FN_ORIGIN_REQUEST] = "origin-request",
	[EDGE_FN_ORIGIN_RESPONSE] = "origin-response",
	[EDGE_FN_VIEWER_RESPONSE] = "viewer-response",
};

/* Disallowed headers (REFERENCE.md §4a), lowercase. */
static const struct iov disallowed[] = {
	IOV_LIT("connection"),
	IOV_LIT("expect"),
	IOV_LIT("keep-alive"),
	IOV_LIT("proxy-authenticate"),
	IOV_LIT("proxy-authorization"),
	IOV_LIT("proxy-connection"),
	IOV_LIT("trailer"),
	IOV_LIT("upgrade"),
	IOV_LIT("x-accel-buffering"),
	IOV_LIT("x-accel-charset"),
	IOV_LIT("x-accel-limit-rate"),
	IOV_LIT("x-accel-redirect"),
	IOV_LIT("x-amzn-auth"),
	IOV_LIT("x-amzn-cf-billing"),
	IOV_LIT("x-amzn-cf-id"),
	IOV_LIT("x-amzn-cf-xff"),
	IOV_LIT("x-amzn-errortype"),
	IOV_LIT("x-amzn-fle-profile"),
	IOV_LIT("x-amzn-header-count"),
	IOV_LIT("x-amzn-header-order"),
	IOV_LIT("x-amzn-lambda-integration-tag"),
	IOV_LIT("x-amzn-requestid"),
	IOV_LIT("x-cache"),
	IOV_LIT("x-forwarded-proto"),
	IOV_LIT("x-real-ip"),
};
static const struct iov disallowed_prefix[] = { IOV_LIT("x-amz-cf-"), IOV_LIT("x-edge-") };

/* Read-only headers per trigger (REFERENCE.md §4a), lowercase. */
struct ro_row {
	enum edge_fn_trigger trigger;
	struct iov name;
};
static const struct ro_row read_only[] = {
	{ EDGE_FN_VIEWER_REQUEST, IOV_LIT("content-length") },
	{ EDGE_FN_VIEWER_REQUEST, IOV_LIT("host") },
	{ EDGE_FN_VIEWER_REQUEST, IOV_LIT("transfer-encoding") },
	{ EDGE_FN_VIEWER_REQUEST, IOV_LIT("via") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("accept-encoding") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("content-length") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("if-modified-since") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("if-none-match") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("if-range") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("if-unmodified-since") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("transfer-encoding") },
	{ EDGE_FN_ORIGIN_REQUEST, IOV_LIT("via") },
	{ EDGE_FN_ORIGIN_RESPONSE, IOV_LIT("transfer-encoding") },
	{ EDGE_FN_ORIGIN_RESPONSE, IOV_LIT("via") },
	{ EDGE_FN_VIEWER_RESPONSE, IOV_LIT("warning") },
	{ EDGE_FN_VIEWER_RESPONSE, IOV_LIT("via") },
};

#define ARRAY_LEN(x) (sizeof(x) / sizeof((x)[0]))

const char *edge_fn_trigger_name(enum edge_fn_trigger t)
{
	if ((unsigned)t >= ARRAY_LEN(trigger_names))
		return "unknown";
	return trigger_names[t];
}

static bool prefix_nocase(struct iov a, struct iov p)
{
	return a.len >= p.len && iov_eq_nocase(iov_make(a.base, p.len), p);
}

bool edge_fn_header_disallowed(struct iov name)
{
	/* Called for every header of every event: most names are shorter
	 * than any disallowed one ("expect", 6) or start with a letter none
	 * starts with. */
	if (name.len < 6)
		return false;
	char c0 = (char)(name.base[0] | 0x20);
	if (!memchr("cekptux", c0, 7))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(disallowed); i++)
		if (disallowed[i].len == name.len && disallowed[i].base[0] == c0 &&
		    iov_eq_nocase(name, disallowed[i]))
			return true;
	for (size_t i = 0; i < ARRAY_LEN(disallowed_prefix); i++)
		if (prefix_nocase(name, disallowed_prefix[i]))
			return true;
	return false;
}

bool edge_fn_header_read_only(enum edge_fn_trigger t, struct iov name)
{
	for (size_t i = 0; i < ARRAY_LEN(read_only); i++)
		if (read_only[i].trigger == t && iov_eq_nocase(name, read_only[i].name))
			return true;
	return false;
}

/* ---- building the event ---- */

/* Both write the entry's fields in place: building a value and copying it
 * in costs the event build about 300 instructions more (store forwarding). */
static int put_iov(struct arena *a, struct edgefn_value *t, struct iov key,
                   const struct edgefn_value *v)
{
	struct edgefn_entry *e = edgefn_table_slot(a, t);
	if (!e)
		return ERR_NOMEM;
	e->key.kind = EDGEFN_STR;
	e->key.u.s = key;
	e->val = *v;
	return 0;
}

static int put_str_iov(struct arena *a, struct edgefn_value *t, struct iov key, struct iov s)
{
	struct edgefn_entry *e = edgefn_table_slot(a, t);
	if (!e)
		return ERR_NOMEM;
	e->key.kind = EDGEFN_STR;
	e->key.u.s = key;
	e->val.kind = EDGEFN_STR;
	e->val.u.s = s.base ? s : IOV_LIT("");
	return 0;
}

/* Keys are literals: their lengths are known at compile time. */
#define put(a, t, key, v)     put_iov((a), (t), IOV_LIT(key), &(v))
#define put_str(a, t, key, s) put_str_iov((a), (t), IOV_LIT(key), (s))

static int put_int(struct arena *a, struct edgefn_value *t, const char *key, int64_t i)
{
	return put_iov(a, t, iov_cstr(key), &(struct edgefn_value){ .kind = EDGEFN_INT, .u.i = i });
}

/* headers as { lower = {{key = Orig, value = v}, ...} } in first-seen order.
 * Runs for every event, so each header's entries come from one block. */
static int build_headers(struct arena *a, const struct http_header *h, size_t n,
                         struct edgefn_value *out)
{
	*out = edgefn_table();
	if (!n)
		return 0;
	size_t names = 0;
	for (size_t i = 0; i < n; i++)
		names += h[i].name.len;
	if (n > SIZE_MAX / (4 * sizeof(struct edgefn_entry)) || names > SIZE_MAX / 2)
		return ERR_NOMEM;
	/* per header: the {key, value} pair, its list's first slot, its
	 * entry in `out` */
	struct edgefn_entry *pool = arena_alloc(a, 4 * n * sizeof(*pool));
	char *low = arena_alloc(a, names + 1);
	if (!pool || !low)
		return ERR_NOMEM;
	out->u.t.items = pool + 3 * n;
	out->u.t.cap = n;
	for (size_t i = 0; i < n; i++) {
		struct iov name = h[i].name;
		if (edge_fn_header_disallowed(name))
			continue;
		struct edgefn_value *list = NULL;
		for (size_t j = 0; j < out->u.t.len && !list; j++)
			if (out->u.t.items[j].key.u.s.len == name.len &&
			    iov_eq_nocase(out->u.t.items[j].key.u.s, name))
				list = &out->u.t.items[j].val;
		if (!list) {
			iov_copy_lower(low, name);
			struct edgefn_entry *e = &out->u.t.items[out->u.t.len++];
			e->key = edgefn_str(iov_make(low, name.len));
			low += name.len;
			list = &e->val;
			*list = edgefn_table();
			list->u.t.items = pool + 2 * n + i;
			list->u.t.cap = 1;
		}
		struct edgefn_entry *kv = pool + 2 * i, *item = edgefn_table_slot(a, list);
		if (!item)
			return ERR_NOMEM;
		kv[0].key = edgefn_str(IOV_LIT("key"));
		kv[0].val = edgefn_str(name);
		kv[1].key = edgefn_str(IOV_LIT("value"));
		kv[1].val = edgefn_str(h[i].value.base ? h[i].value : IOV_LIT(""));
		item->key = edgefn_int((int64_t)list->u.t.len);
		item->val = edgefn_table();
		item->val.u.t.items = kv;
		item->val.u.t.len = item->val.u.t.cap = 2;
	}
	return 0;
}

static const char *const ssl_names[] = { "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3" };
static const unsigned ssl_bits[] = { EDGE_FN_SSL_TLSV12, EDGE_FN_SSL_TLSV11, EDGE_FN_SSL_TLSV1,
	                             EDGE_FN_SSL_SSLV3 };

static int build_origin(struct arena *a, const struct edge_fn_origin *o, struct edgefn_value *out)
{
	struct edgefn_value body = edgefn_table(), ch;
	int rc = build_headers(a, o->custom_headers, o->ncustom_headers, &ch);
	if (rc)
		return rc;
	if (o->kind == EDGE_FN_ORIGIN_CUSTOM) {
		struct edgefn_value ssl = edgefn_table();
		for (size_t i = 0; i < ARRAY_LEN(ssl_names); i++)
			if ((o->ssl_protocols & ssl_bits[i]) &&
			    !edgefn_table_push(a, &ssl, edgefn_str(iov_cstr(ssl_names[i]))))
				return ERR_NOMEM;
		if (put(a, &body, "customHeaders", ch) ||
		    put_str(a, &body, "domainName", o->domain_name) ||
		    put_int(a, &body, "keepaliveTimeout", o->keepalive_timeout) ||
		    put_str(a, &body, "path", o->path) || put_int(a, &body, "port", o->port) ||
		    put_str(a, &body, "protocol", o->https ? IOV_LIT("https") : IOV_LIT("http")) ||
		    put_int(a, &body, "readTimeout", o->read_timeout) ||
		    put(a, &body, "sslProtocols", ssl))
			return ERR_NOMEM;
	} else {
		struct iov auth = o->auth_oai ? IOV_LIT("origin-access-identity") : IOV_LIT("none");
		if (put_str(a, &body, "authMethod", auth) || put(a, &body, "customHeaders", ch) ||
		    put_str(a, &body, "domainName", o->domain_name) ||
		    put_str(a, &body, "path", o->path) || put_str(a, &body, "region", o->region))
			return ERR_NOMEM;
	}
	*out = edgefn_table();
	return put_iov(a, out, o->kind == EDGE_FN_ORIGIN_CUSTOM ? IOV_LIT("custom") : IOV_LIT("s3"),
	               &body);
}

static bool is_response_trigger(enum edge_fn_trigger t)
{
	return t == EDGE_FN_ORIGIN_RESPONSE || t == EDGE_FN_VIEWER_RESPONSE;
}

static bool is_origin_trigger(enum edge_fn_trigger t)
{
	return t == EDGE_FN_ORIGIN_REQUEST || t == EDGE_FN_ORIGIN_RESPONSE;
}

int edge_fn_event_build(const struct edge_fn_input *in, struct arena *a, struct edgefn_value *event)
{
	struct edgefn_value config = edgefn_table(), req = edgefn_table(), hv;
	int rc;
	if (edgefn_table_reserve(a, &config, 4) || edgefn_table_reserve(a, &req, 6) ||
	    put_str(a, &config, "distributionDomainName", in->distribution_domain) ||
	    put_str(a, &config, "distributionId", in->distribution_id) ||
	    put_str(a, &config, "eventType", iov_cstr(edge_fn_trigger_name(in->trigger))) ||
	    put_str(a, &config, "requestId", in->request_id))
		return ERR_NOMEM;
	if ((rc = build_headers(a, in->headers, in->nheaders, &hv)))
		return rc;
	if (put_str(a, &req, "clientIp", in->client_ip) || put(a, &req, "headers", hv) ||
	    put_str(a, &req, "method", in->method))
		return ERR_NOMEM;
	if (is_origin_trigger(in->trigger) && in->origin &&
	    in->origin->kind != EDGE_FN_ORIGIN_NONE) {
		struct edgefn_value o;
		if ((rc = build_origin(a, in->origin, &o)) || put(a, &req, "origin", o))
			return rc ? rc : ERR_NOMEM;
	}
	if (put_str(a, &req, "querystring", in->query) || put_str(a, &req, "uri", in->uri))
		return ERR_NOMEM;

	struct edgefn_value cf = edgefn_table();
	if (edgefn_table_reserve(a, &cf, 3) || put(a, &cf, "config", config) ||
	    put(a, &cf, "request", req))
		return ERR_NOMEM;
	if (is_response_trigger(in->trigger)) {
		struct edgefn_value resp = edgefn_table(), rh;
		char digits[IOV_U64_DIGITS];
		size_t nd =
		    iov_fmt_u64((unsigned long long)(in->status > 0 ? in->status : 0), digits);
		struct iov st = arena_dup(a, iov_make(digits, nd));
		if (!st.base)
			return ERR_NOMEM;
		if ((rc = build_headers(a, in->resp_headers, in->nresp_headers, &rh)))
			return rc;
		if (put(a, &resp, "headers", rh) || put_str(a, &resp, "status", st) ||
		    put_str(a, &resp, "statusDescription", in->status_description) ||
		    put(a, &cf, "response", resp))
			return ERR_NOMEM;
	}
	struct edgefn_value rec = edgefn_table(), records = edgefn_table();
	*event = edgefn_table();
	if (edgefn_table_reserve(a, &rec, 1) || edgefn_table_reserve(a, &records, 1) ||
	    edgefn_table_reserve(a, event, 1) || put(a, &rec, "cf", cf) ||
	    !edgefn_table_push(a, &records, rec) || put(a, event, "Records", records))
		return ERR_NOMEM;
	return 0;
}

/* ---- reading the result ---- */

struct pctx {
	const struct edge_fn_input *in;
	struct arena *a;
	char *err;
	size_t errlen;
	/* subtrees of the event as built, for recognising untouched ones */
	const struct edgefn_value *shown_req, *shown_resp, *shown_req_h, *shown_resp_h;
};

__attribute__((format(printf, 2, 3))) static int viol(struct pctx *c, const char *fmt, ...)
{
	if (c->errlen) {
		int n = snprintf(c->err, c->errlen, "%s: ", edge_fn_trigger_name(c->in->trigger));
		if (n > 0 && (size_t)n < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return ERR_EDGE_FN_VIOLATION;
}

/* A printable excerpt of a name for messages (never more than 64 bytes). */
#define SHOW(v) (int)((v).len > 64 ? 64 : (v).len), (v).base

/* Every key of t is a string, appears once and is one of `known`. */
static int check_fields(struct pctx *c, const char *where, const struct edgefn_value *t,
                        const struct iov *known, size_t nknown)
{
	if (t->kind != EDGEFN_TABLE)
		return viol(c, "%s: must be a table", where);
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct edgefn_value *k = &t->u.t.items[i].key;
		if (k->kind != EDGEFN_STR)
			return viol(c, "%s: has an array entry; only named fields are allowed",
			            where);
		bool ok = false;
		for (size_t j = 0; j < nknown && !ok; j++)
			ok = iov_eq(k->u.s, known[j]);
		if (!ok)
			return viol(c, "%s.%.*s: unknown field", where, SHOW(k->u.s));
		for (size_t j = 0; j < i; j++)
			if (iov_eq(t->u.t.items[j].key.u.s, k->u.s))
				return viol(c, "%s.%.*s: appears twice", where, SHOW(k->u.s));
	}
	return 0;
}

/* 0 and *out, 1 when absent (and not required), or a violation. */
static int get_str(struct pctx *c, const char *where, const struct edgefn_value *t, const char *key,
                   bool required, struct iov *out)
{
	const struct edgefn_value *v = edgefn_table_get(t, iov_cstr(key));
	if (!v || v->kind == EDGEFN_NIL) {
		if (required)
			return viol(c, "%s.%s: missing", where, key);
		*out = IOV_NULL;
		return 1;
	}
	if (v->kind != EDGEFN_STR)
		return viol(c, "%s.%s: must be a string", where, key);
	*out = v->u.s;
	return 0;
}

/* An integer field in [lo, hi], or def when absent. */
static int get_uint(struct pctx *c, const char *where, const struct edgefn_value *t,
                    const char *key, unsigned lo, unsigned hi, unsigned def, unsigned *out)
{
	const struct edgefn_value *v = edgefn_table_get(t, iov_cstr(key));
	int64_t i;
	if (!v || v->kind == EDGEFN_NIL) {
		*out = def;
		return 0;
	}
	if (v->kind == EDGEFN_INT)
		i = v->u.i;
	else if (v->kind == EDGEFN_NUM && v->u.n >= -1e18 && v->u.n <= 1e18 &&
	         v->u.n == (double)(int64_t)v->u.n)
		i = (int64_t)v->u.n;
	else
		return viol(c, "%s.%s: must be an integer", where, key);
	if (i < lo || i > hi)
		return viol(c, "%s.%s: %lld is out of range %u-%u", where, key, (long long)i, lo,
		            hi);
	*out = (unsigned)i;
	return 0;
}

static bool tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Field-value bytes: visible ASCII, SP, HTAB and obs-text; no CR, LF, NUL
 * or other controls (they would split or smuggle a message). */
static bool value_ok(struct iov v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.base[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

static struct iov title_case(struct arena *a, struct iov low)
{
	char *s = arena_alloc(a, low.len ? low.len : 1);
	if (!s)
		return IOV_NULL;
	for (size_t i = 0; i < low.len; i++) {
		char ch = low.base[i];
		if ((i == 0 || low.base[i - 1] == '-') && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		s[i] = ch;
	}
	return iov_make(s, low.len);
}

/* The value of the j-th header of h[0..n) named `name` (any case), or NULL. */
static const struct http_header *nth_named(const struct http_header *h, size_t n, struct iov name,
                                           size_t j)
{
	for (size_t i = 0; i < n; i++)
		if (iov_eq_nocase(h[i].name, name) && j-- == 0)
			return &h[i];
	return NULL;
}

static size_t count_named(const struct http_header *h, size_t n, struct iov name)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += iov_eq_nocase(h[i].name, name);
	return k;
}

struct hdr_opts {
	const char *where;
	const struct edgefn_value *shown; /* the event's own map, or NULL */
	const struct http_header *orig;   /* what the event showed (disallowed included) */
	size_t norig;
	bool read_only;  /* enforce the trigger's read-only headers against orig */
	bool no_framing; /* refuse Content-Length and Transfer-Encoding */
};

/* The headers of h[0..n) a function sees (borrowed when that is all of them). */
static int visible(struct pctx *c, const struct http_header *h, size_t n,
                   const struct http_header **out, size_t *nout)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += !edge_fn_header_disallowed(h[i].name);
	*nout = k;
	if (k == n) {
		*out = h;
		return 0;
	}
	struct http_header *hs = arena_alloc(c->a, (k ? k : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (!edge_fn_header_disallowed(h[i].name))
			hs[k++] = h[i];
	*out = hs;
	return 0;
}

/* Whether v is the event's own subtree `shown` handed back untouched:
 * edgefn returns such a table as a copy of the caller's value, so the same
 * entries array (not the same struct) identifies it. */
static bool same_tree(const struct edgefn_value *v, const struct edgefn_value *shown)
{
	return shown && v && v->kind == EDGEFN_TABLE && shown->kind == EDGEFN_TABLE &&
	       v->u.t.items == shown->u.t.items && v->u.t.len == shown->u.t.len;
}

/* Validate one { lower = {{key, value}, ...} } map and flatten it. */
static int parse_headers(struct pctx *c, const struct hdr_opts *o, const struct edgefn_value *map,
                         const struct http_header **out, size_t *nout, bool *changed)
{
	if (same_tree(map, o->shown)) { /* handed back untouched */
		*changed = false;
		return visible(c, o->orig, o->norig, out, nout);
	}
	if (map->kind != EDGEFN_TABLE)
		return viol(c, "%s: must be a table of name = {{key, value}, ...}", o->where);
	size_t total = 0, bytes = 0;
	for (size_t i = 0; i < map->u.t.len; i++) {
		const struct edgefn_entry *e = &map->u.t.items[i];
		if (e->key.kind != EDGEFN_STR)
			return viol(c, "%s: header names must be strings", o->where);
		struct iov name = e->key.u.s;
		if (name.len == 0 || name.len > EDGE_FN_HEADER_NAME_MAX)
			return viol(c, "%s: a header name is empty or longer than %u bytes",
			            o->where, EDGE_FN_HEADER_NAME_MAX);
		for (size_t k = 0; k < name.len; k++) {
			unsigned char ch = (unsigned char)name.base[k];
			if (!tchar(ch))
				return viol(
				    c,
				    "%s: header name '%.*s' has a character not allowed in names",
				    o->where, SHOW(name));
			if (ch >= 'A' && ch <= 'Z')
				return viol(c, "%s['%.*s']: the name must be lowercase", o->where,
				            SHOW(name));
		}
		for (size_t j = 0; j < i; j++)
			if (iov_eq(map->u.t.items[j].key.u.s, name))
				return viol(c, "%s['%.*s']: appears twice", o->where, SHOW(name));
		if (edge_fn_header_disallowed(name))
			return viol(c, "%s['%.*s']: CloudFront does not allow this header",
			            o->where, SHOW(name));
		if (o->no_framing && (iov_eq(name, IOV_LIT("content-length")) ||
		                      iov_eq(name, IOV_LIT("transfer-encoding"))))
			return viol(c, "%s['%.*s']: the edge sets framing from the body", o->where,
			            SHOW(name));
		const struct edgefn_value *list = &e->val;
		if (list->kind != EDGEFN_TABLE || (list->u.t.len && !edgefn_table_is_seq(list)))
			return viol(c, "%s['%.*s']: must be a list of {key, value}", o->where,
			            SHOW(name));
		for (size_t k = 0; k < list->u.t.len; k++) {
			const struct edgefn_value *kv = &list->u.t.items[k].val;
			const struct edgefn_value *key = edgefn_table_get(kv, IOV_LIT("key"));
			const struct edgefn_value *val = edgefn_table_get(kv, IOV_LIT("value"));
			if (kv->kind != EDGEFN_TABLE || !val || val->kind != EDGEFN_STR)
				return viol(c, "%s['%.*s'][%zu].value: missing or not a string",
				            o->where, SHOW(name), k + 1);
			if (key && key->kind != EDGEFN_NIL &&
			    (key->kind != EDGEFN_STR || !iov_eq_nocase(key->u.s, name)))
				return viol(c, "%s['%.*s'][%zu].key: must be the name in any case",
				            o->where, SHOW(name), k + 1);
			if (val->u.s.len > EDGE_FN_HEADER_VALUE_MAX)
				return viol(c, "%s['%.*s'][%zu].value: longer than %u bytes",
				            o->where, SHOW(name), k + 1, EDGE_FN_HEADER_VALUE_MAX);
			if (!value_ok(val->u.s))
				return viol(
				    c,
				    "%s['%.*s'][%zu].value: has CR, LF, NUL or another control "
				    "character",
				    o->where, SHOW(name), k + 1);
			bytes += name.len + val->u.s.len;
		}
		total += list->u.t.len;
		if (total > EDGE_FN_HEADERS_MAX)
			return viol(c, "%s: more than %u header lines", o->where,
			            EDGE_FN_HEADERS_MAX);
		if (bytes > EDGE_FN_HEADERS_BYTES_MAX)
			return viol(c, "%s: more than %u bytes of headers", o->where,
			            EDGE_FN_HEADERS_BYTES_MAX);
	}

	/* Read-only headers: the same values, in the same order, as shown. */
	if (o->read_only) {
		for (size_t i = 0; i < ARRAY_LEN(read_only); i++) {
			if (read_only[i].trigger != c->in->trigger)
				continue;
			struct iov name = read_only[i].name;
			const struct edgefn_value *list = edgefn_table_get(map, name);
			size_t nnew = list ? list->u.t.len : 0,
			       nold = count_named(o->orig, o->norig, name);
			bool same = nnew == nold;
			for (size_t k = 0; same && k < nnew; k++) {
				const struct edgefn_value *v =
				    edgefn_table_get(&list->u.t.items[k].val, IOV_LIT("value"));
				same = iov_eq(v->u.s, nth_named(o->orig, o->norig, name, k)->value);
			}
			if (!same)
				return viol(c,
				            "%s['%.*s']: read-only in this trigger, but it was %s",
				            o->where, SHOW(name),
				            nold == 0   ? "added"
				            : nnew == 0 ? "removed"
				                        : "changed");
		}
	}

	/* Unchanged (same names, same keys and values): keep the original order. */
	size_t nvisible = 0;
	for (size_t i = 0; i < o->norig; i++)
		nvisible += !edge_fn_header_disallowed(o->orig[i].name);
	bool same = nvisible == total;
	for (size_t i = 0; same && i < map->u.t.len; i++) {
		const struct edgefn_entry *e = &map->u.t.items[i];
		for (size_t k = 0; same && k < e->val.u.t.len; k++) {
			const struct edgefn_value *kv = &e->val.u.t.items[k].val;
			const struct edgefn_value *key = edgefn_table_get(kv, IOV_LIT("key"));
			const struct http_header *h = nth_named(o->orig, o->norig, e->key.u.s, k);
			same = h && key && key->kind == EDGEFN_STR && iov_eq(key->u.s, h->name) &&
			       iov_eq(edgefn_table_get(kv, IOV_LIT("value"))->u.s, h->value);
		}
	}
	*changed = !same;
	if (same)
		return visible(c, o->orig, o->norig, out, nout);
	struct http_header *hs = arena_alloc(c->a, (total ? total : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < map->u.t.len; i++) {
		const struct edgefn_entry *e = &map->u.t.items[i];
		struct iov title = IOV_NULL;
		for (size_t k = 0; k < e->val.u.t.len; k++) {
			const struct edgefn_value *kv = &e->val.u.t.items[k].val;
			const struct edgefn_value *key = edgefn_table_get(kv, IOV_LIT("key"));
			if (key && key->kind == EDGEFN_STR) {
				hs[n].name = key->u.s;
			} else {
				if (!title.base && !(title = title_case(c->a, e->key.u.s)).base)
					return ERR_NOMEM;
				hs[n].name = title;
			}
			hs[n++].value = edgefn_table_get(kv, IOV_LIT("value"))->u.s;
		}
	}
	*out = hs;
	*nout = n;
	return 0;
}

/* uri / querystring / origin path bytes: visible ASCII except '#'. */
static bool url_bytes_ok(struct iov s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char ch = (unsigned char)s.base[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '#')
			return false;
	}
	return true;
}

static bool domain_ok(struct iov d)
{
	bool all_digits_dots = true;
	if (d.len == 0 || d.len > EDGE_FN_DOMAIN_MAX || d.base[0] == '.' || d.base[0] == '-')
		return false;
	for (size_t i = 0; i < d.len; i++) {
		unsigned char ch = (unsigned char)d.base[i];
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
		bool digit = ch >= '0' && ch <= '9';
		if (!alpha && !digit && ch != '.' && ch != '-' && ch != '_')
			return false; /* ':' (a port or IPv6) included */
		all_digits_dots &= !alpha && ch != '-' && ch != '_';
	}
	return !all_digits_dots; /* an IPv4 address */
}

static int parse_origin_path(struct pctx *c, const char *where, const struct edgefn_value *t,
                             struct iov *path)
{
	int rc = get_str(c, where, t, "path", false, path);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		*path = IOV_LIT("");
		return 0;
	}
	if (path->len > EDGE_FN_ORIGIN_PATH_MAX)
		return viol(c, "%s.path: longer than %u bytes", where, EDGE_FN_ORIGIN_PATH_MAX);
	if (path->len && (path->base[0] != '/' || path->base[path->len - 1] == '/'))
		return viol(c, "%s.path: must start with '/' and not end with '/'", where);
	if (!url_bytes_ok(*path))
		return viol(c, "%s.path: has a space, control, '#' or non-ASCII byte", where);
	return 0;
}

static int parse_domain(struct pctx *c, const char *where, const struct edgefn_value *t,
                        struct iov *d)
{
	int rc = get_str(c, where, t, "domainName", true, d);
	if (rc)
		return rc;
	/* The edge's own origin is taken as it is (it may be a loopback address). */
	if (c->in->origin && iov_eq(*d, c->in->origin->domain_name))
		return 0;
	if (!domain_ok(*d))
		return viol(c,
		            "%s.domainName: must be a host name of at most %u characters "
		            "(no port, no IP address)",
		            where, EDGE_FN_DOMAIN_MAX);
	return 0;
}

static int parse_custom(struct pctx *c, const struct edgefn_value *t, struct edge_fn_origin *o)
{
	static const struct iov known[] = {
		IOV_LIT("customHeaders"), IOV_LIT("domainName"),  IOV_LIT("keepaliveTimeout"),
		IOV_LIT("path"),          IOV_LIT("port"),        IOV_LIT("protocol"),
		IOV_LIT("readTimeout"),   IOV_LIT("sslProtocols")
	};
	const char *where = "request.origin.custom";
	struct iov proto;
	int rc;
	o->kind = EDGE_FN_ORIGIN_CUSTOM;
	if ((rc = check_fields(c, where, t, known, ARRAY_LEN(known))) ||
	    (rc = parse_domain(c, where, t, &o->domain_name)) ||
	    (rc = parse_origin_path(c, where, t, &o->path)))
		return rc;
	if ((rc = get_str(c, where, t, "protocol", true, &proto)))
		return rc;
	if (iov_eq(proto, IOV_LIT("https")))
		o->https = true;
	else if (!iov_eq(proto, IOV_LIT("http")))
		return viol(c, "%s.protocol: must be \"http\" or \"https\"", where);
	if ((rc = get_uint(c, where, t, "port", 1, 65535, o->https ? 443 : 80, &o->port)))
		return rc;
	if (o->port != 80 && o->port != 443 && o->port < 1024)
		return viol(c, "%s.port: %u is not 80, 443 or 1024-65535", where, o->port);
	if ((rc = get_uint(c, where, t, "readTimeout", 4, 60, 30, &o->read_timeout)) ||
	    (rc = get_uint(c, where, t, "keepaliveTimeout", 1, 60, 5, &o->keepalive_timeout)))
		return rc;
	const struct edgefn_value *ssl = edgefn_table_get(t, IOV_LIT("sslProtocols"));
	o->ssl_protocols = EDGE_FN_SSL_TLSV12;
	if (ssl && ssl->kind != EDGEFN_NIL) {
		if (!edgefn_table_is_seq(ssl))
			return viol(c, "%s.sslProtocols: must be a non-empty list", where);
		o->ssl_protocols = 0;
		for (size_t i = 0; i < ssl->u.t.len; i++) {
			const struct edgefn_value *v = &ssl->u.t.items[i].val;
			size_t j = 0;
			while (j < ARRAY_LEN(ssl_names) &&
			       !(v->kind == EDGEFN_STR && iov_eq(v->u.s, iov_cstr(ssl_names[j]))))
				j++;
			if (j == ARRAY_LEN(ssl_names))
				return viol(
				    c,
				    "%s.sslProtocols[%zu]: must be TLSv1.2, TLSv1.1, TLSv1 or "
				    "SSLv3",
				    where, i + 1);
			o->ssl_protocols |= ssl_bits[j];
		}
	}
	return 0;
}

static int parse_s3(struct pctx *c, const struct edgefn_value *t, struct edge_fn_origin *o)
{
	static const struct iov known[] = { IOV_LIT("authMethod"), IOV_LIT("customHeaders"),
		                            IOV_LIT("domainName"), IOV_LIT("path"),
		                            IOV_LIT("region") };
	const char *where = "request.origin.s3";
	struct iov auth;
	int rc;
	o->kind = EDGE_FN_ORIGIN_S3;
	if ((rc = check_fields(c, where, t, known, ARRAY_LEN(known))) ||
	    (rc = parse_domain(c, where, t, &o->domain_name)) ||
	    (rc = parse_origin_path(c, where, t, &o->path)))
		return rc;
	if ((rc = get_str(c, where, t, "authMethod", false, &auth)) < 0)
		return rc;
	if (rc == 0 && iov_eq(auth, IOV_LIT("origin-access-identity")))
		o->auth_oai = true;
	else if (rc == 0 && !iov_eq(auth, IOV_LIT("none")))
		return viol(c, "%s.authMethod: must be \"origin-access-identity\" or \"none\"",
		            where);
	if ((rc = get_str(c, where, t, "region", false, &o->region)) < 0)
		return rc;
	if (rc > 0)
		o->region = IOV_LIT("");
	for (size_t i = 0; i < o->region.len; i++) {
		char ch = o->region.base[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') ||
		    o->region.len > 64)
			return viol(c, "%s.region: must be a region name such as us-east-1", where);
	}
	return 0;
}

static bool origin_eq(const struct edge_fn_origin *a, const struct edge_fn_origin *b)
{
	if (a->kind != b->kind || !iov_eq(a->domain_name, b->domain_name) ||
	    !iov_eq(a->path, b->path) || a->ncustom_headers != b->ncustom_headers)
		return false;
	for (size_t i = 0; i < a->ncustom_headers; i++)
		if (!iov_eq(a->custom_headers[i].name, b->custom_headers[i].name) ||
		    !iov_eq(a->custom_headers[i].value, b->custom_headers[i].value))
			return false;
	if (a->kind == EDGE_FN_ORIGIN_CUSTOM)
		return a->port == b->port && a->https == b->https &&
		       a->read_timeout == b->read_timeout &&
		       a->keepalive_timeout == b->keepalive_timeout &&
		       a->ssl_protocols == b->ssl_protocols;
	return iov_eq(a->region, b->region) && a->auth_oai == b->auth_oai;
}

static int parse_origin(struct pctx *c, const struct edgefn_value *v, struct edge_fn_request *r)
{
	static const struct iov known[] = { IOV_LIT("custom"), IOV_LIT("s3") };
	int rc = check_fields(c, "request.origin", v, known, ARRAY_LEN(known));
	if (rc)
		return rc;
	if (v->u.t.len != 1)
		return viol(c, "request.origin: must hold exactly one of custom or s3");
	const struct edgefn_value *body = &v->u.t.items[0].val;
	bool custom = iov_eq(v->u.t.items[0].key.u.s, IOV_LIT("custom"));
	struct edge_fn_origin *o = &r->origin;
	memset(o, 0, sizeof(*o));
	if ((rc = custom ? parse_custom(c, body, o) : parse_s3(c, body, o)))
		return rc;
	const struct edgefn_value *ch = edgefn_table_get(body, IOV_LIT("customHeaders"));
	if (ch && ch->kind != EDGEFN_NIL) {
		const struct edge_fn_origin *old = c->in->origin;
		struct hdr_opts ho = {
			.where = custom ? "request.origin.custom.customHeaders"
			                : "request.origin.s3.customHeaders",
			.orig = old ? old->custom_headers : NULL,
			.norig = old ? old->ncustom_headers : 0,
		};
		bool changed;
		if ((rc = parse_headers(c, &ho, ch, &o->custom_headers, &o->ncustom_headers,
		                        &changed)))
			return rc;
	}
	r->origin_changed = !c->in->origin || !origin_eq(o, c->in->origin);
	return 0;
}

static int parse_request(struct pctx *c, const struct edgefn_value *v, struct edge_fn_request *r)
{
	static const struct iov known[] = { IOV_LIT("body"),    IOV_LIT("clientIp"),
		                            IOV_LIT("headers"), IOV_LIT("method"),
		                            IOV_LIT("origin"),  IOV_LIT("querystring"),
		                            IOV_LIT("uri") };
	const struct edge_fn_input *in = c->in;
	struct iov s;
	int rc;
	if ((rc = check_fields(c, "request", v, known, ARRAY_LEN(known))))
		return rc;
	if ((rc = get_str(c, "request", v, "clientIp", false, &s)) < 0)
		return rc;
	if (rc == 0 && !iov_eq(s, in->client_ip))
		return viol(c, "request.clientIp: read-only, but it was changed");
	if ((rc = get_str(c, "request", v, "method", false, &s)) < 0)
		return rc;
	if (rc == 0 && !iov_eq(s, in->method))
		return viol(c, "request.method: read-only, but it was changed");
	if (edgefn_table_get(v, IOV_LIT("body")))
		return viol(c, "request.body: not supported (the edge does not pass bodies to "
		               "functions)");

	/* What the edge itself showed is taken as is; a new value is checked. */
	if ((rc = get_str(c, "request", v, "uri", true, &r->uri)))
		return rc;
	r->uri_changed = !iov_eq(r->uri, in->uri);
	if (r->uri_changed && (r->uri.len == 0 || r->uri.base[0] != '/'))
		return viol(c, "request.uri: must start with '/'");
	if (r->uri_changed && !url_bytes_ok(r->uri))
		return viol(c, "request.uri: has a space, control, '#' or non-ASCII byte");
	if ((rc = get_str(c, "request", v, "querystring", false, &r->query)) < 0)
		return rc;
	if (rc > 0)
		r->query = IOV_LIT("");
	r->query_changed = !iov_eq(r->query, in->query);
	if (r->query_changed && !url_bytes_ok(r->query))
		return viol(c, "request.querystring: has a space, control, '#' or non-ASCII byte");
	if ((r->uri_changed || r->query_changed) &&
	    r->uri.len + (r->query.len ? 1 + r->query.len : 0) >= EDGE_FN_URL_MAX)
		return viol(c, "request: uri and querystring must be under %u characters",
		            EDGE_FN_URL_MAX);

	const struct edgefn_value *h = edgefn_table_get(v, IOV_LIT("headers"));
	if (!h || h->kind == EDGEFN_NIL)
		return viol(c, "request.headers: missing");
	struct hdr_opts ho = {
		.where = "request.headers",
		.shown = c->shown_req_h,
		.orig = in->headers,
		.norig = in->nheaders,
		.read_only = true,
	};
	if ((rc = parse_headers(c, &ho, h, &r->headers, &r->nheaders, &r->headers_changed)))
		return rc;

	const struct edgefn_value *o = edgefn_table_get(v, IOV_LIT("origin"));
	if (o && o->kind != EDGEFN_NIL) {
		if (in->trigger != EDGE_FN_ORIGIN_REQUEST)
			return viol(c, "request.origin: can only be set in origin-request");
		return parse_origin(c, o, r);
	}
	if (in->origin)
		r->origin = *in->origin;
	return 0;
}

static int parse_status(struct pctx *c, const struct edgefn_value *v, int *status)
{
	const struct edgefn_value *s = edgefn_table_get(v, IOV_LIT("status"));
	long long n = -1;
	if (!s || s->kind == EDGEFN_NIL)
		return viol(c, "response.status: missing");
	if (s->kind == EDGEFN_STR) {
		unsigned long long u;
		if (s->u.s.len == 3 && iov_to_u64(s->u.s, 999, &u) == 0)
			n = (long long)u;
	} else if (s->kind == EDGEFN_INT) {
		n = s->u.i;
	} else {
		return viol(c, "response.status: must be a string such as \"200\"");
	}
	if (n < 200 || n > 599)
		return viol(c, "response.status: must be a status code from 200 to 599");
	*status = (int)n;
	return 0;
}

static int parse_response(struct pctx *c, const struct edgefn_value *v, bool generated,
                          struct edge_fn_response *r)
{
	static const struct iov known[] = { IOV_LIT("body"), IOV_LIT("bodyEncoding"),
		                            IOV_LIT("headers"), IOV_LIT("status"),
		                            IOV_LIT("statusDescription") };
	const struct edge_fn_input *in = c->in;
	enum edge_fn_trigger t = in->trigger;
	int rc;
	r->generated = generated;
	if ((rc = check_fields(c, "response", v, known, ARRAY_LEN(known))) ||
	    (rc = parse_status(c, v, &r->status)))
		return rc;
	if (t == EDGE_FN_VIEWER_RESPONSE && r->status != in->status)
		return viol(c, "response.status: viewer-response may not change the status (%d)",
		            in->status);
	if ((rc = get_str(c, "response", v, "statusDescription", false, &r->status_description)) <
	    0)
		return rc;
	if (rc > 0)
		r->status_description = generated ? IOV_LIT("") : in->status_description;
	if (r->status_description.len > EDGE_FN_STATUS_DESC_MAX || !value_ok(r->status_description))
		return viol(c,
		            "response.statusDescription: longer than %u bytes or has a control "
		            "character",
		            EDGE_FN_STATUS_DESC_MAX);

	const struct edgefn_value *h = edgefn_table_get(v, IOV_LIT("headers"));
	if (h && h->kind != EDGEFN_NIL) {
		struct hdr_opts ho = {
			.where = "response.headers",
			.shown = generated ? NULL : c->shown_resp_h,
			.orig = generated ? NULL : in->resp_headers,
			.norig = generated ? 0 : in->nresp_headers,
			.read_only = !generated,
			.no_framing = generated,
		};
		if ((rc = parse_headers(c, &ho, h, &r->headers, &r->nheaders, &r->headers_changed)))
			return rc;
	} else if (!generated) {
		return viol(c, "response.headers: missing");
	}

	struct iov body, enc;
	if ((rc = get_str(c, "response", v, "bodyEncoding", false, &enc)) < 0)
		return rc;
	bool b64 = rc == 0 && iov_eq(enc, IOV_LIT("base64"));
	if (rc == 0 && !b64 && !iov_eq(enc, IOV_LIT("text")))
		return viol(c, "response.bodyEncoding: must be \"text\" or \"base64\"");
	if ((rc = get_str(c, "response", v, "body", false, &body)) < 0)
		return rc;
	r->has_body = rc == 0;
	if (r->has_body && t == EDGE_FN_VIEWER_RESPONSE)
		return viol(c, "response.body: viewer-response may not set a body");
	size_t limit = is_origin_trigger(t) ? EDGE_FN_ORIGIN_RESP_MAX : EDGE_FN_VIEWER_RESP_MAX;
	if (r->has_body && b64) {
		size_t cap = body.len / 4 * 3, n;
		uint8_t *dec = arena_alloc(c->a, cap ? cap : 1);
		if (!dec)
			return ERR_NOMEM;
		if (base64_decode(body, dec, cap, &n))
			return viol(c,
			            "response.body: not valid base64 (bodyEncoding is \"base64\")");
		body = iov_make((const char *)dec, n);
	}
	r->body = r->has_body ? body : IOV_NULL;
	if (r->has_body && body.len && r->status == 204)
		return viol(c, "response.body: a 204 response may not have a body");
	if (r->has_body || generated) {
		size_t size = r->body.len + r->status_description.len;
		for (size_t i = 0; i < r->nheaders; i++)
			size += r->headers[i].name.len + r->headers[i].value.len;
		if (size > limit)
			return viol(c,
			            "response: %zu bytes is over the %zu-byte limit for a response "
			            "made by a %s function",
			            size, limit, is_origin_trigger(t) ? "origin" : "viewer");
	}
	return 0;
}

/* Find the event's own subtrees (NULL where absent). */
static void find_shown(struct pctx *c, const struct edgefn_value *event)
{
	const struct edgefn_value *recs =
	    event ? edgefn_table_get(event, IOV_LIT("Records")) : NULL;
	const struct edgefn_value *rec = recs ? edgefn_table_geti(recs, 1) : NULL;
	const struct edgefn_value *cf = rec ? edgefn_table_get(rec, IOV_LIT("cf")) : NULL;
	if (!cf)
		return;
	c->shown_req = edgefn_table_get(cf, IOV_LIT("request"));
	c->shown_resp = edgefn_table_get(cf, IOV_LIT("response"));
	if (c->shown_req)
		c->shown_req_h = edgefn_table_get(c->shown_req, IOV_LIT("headers"));
	if (c->shown_resp)
		c->shown_resp_h = edgefn_table_get(c->shown_resp, IOV_LIT("headers"));
}

static int unchanged_request(struct pctx *c, struct edge_fn_request *r)
{
	const struct edge_fn_input *in = c->in;
	r->uri = in->uri;
	r->query = in->query.base ? in->query : IOV_LIT("");
	if (in->origin)
		r->origin = *in->origin;
	return visible(c, in->headers, in->nheaders, &r->headers, &r->nheaders);
}

static int unchanged_response(struct pctx *c, struct edge_fn_response *r)
{
	const struct edge_fn_input *in = c->in;
	r->status = in->status;
	r->status_description = in->status_description;
	return visible(c, in->resp_headers, in->nresp_headers, &r->headers, &r->nheaders);
}

int edge_fn_result_parse(const struct edge_fn_input *in, const struct edgefn_value *event,
                         const struct edgefn_value *result, struct arena *a,
                         struct edge_fn_result *out, char *err, size_t errlen)
{
	struct pctx c = { .in = in, .a = a, .err = err, .errlen = errlen };
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	find_shown(&c, event);
	if (!result || result->kind == EDGEFN_NIL)
		return viol(&c, "the function returned nothing (return the request or a response)");
	if (result->kind != EDGEFN_TABLE)
		return viol(&c, "the function must return a table (the request or a response)");
	if (is_response_trigger(in->trigger)) {
		out->action = EDGE_FN_RESPOND;
		if (same_tree(result, c.shown_resp))
			return unchanged_response(&c, &out->response);
		return parse_response(&c, result, false, &out->response);
	}
	if (same_tree(result, c.shown_req)) {
		out->action = EDGE_FN_CONTINUE;
		return unchanged_request(&c, &out->request);
	}
	if (edgefn_table_get(result, IOV_LIT("status"))) {
		out->action = EDGE_FN_RESPOND;
		return parse_response(&c, result, true, &out->response);
	}
	out->action = EDGE_FN_CONTINUE;
	return parse_request(&c, result, &out->request);
}
