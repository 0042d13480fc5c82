/*
 * Control API XML (contract in admin_xml.h): a submit-request reader on
 * expat driven by a small schema table, and the writers of the Get result
 * and of error bodies. Any thread; all state is on the caller's stack.
 */
#include "router/admin_xml.h"

#include <expat.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "router/routes.h"

#define NS_SEP    ' ' /* expat: "uri local" (a URI holds no space) */
#define MAX_DEPTH 4   /* Request/RouteUpdates/Route/leaf */
#define TEXT_MAX  ROUTER_ADMIN_BUCKET_MAX
#define PCT_MAX   32 /* "100" with room for whitespace around it */

enum elem {
	E_NONE,
	E_REQUEST,
	E_UPDATES,
	E_ROUTE,
	E_BUCKET,
	E_REGION,
	E_PERCENT,
};

enum {
	F_LEAF = 1, /* holds text, no children */
	F_ONCE = 2, /* at most once under one parent */
};

struct rule {
	enum elem parent;
	const char *name;
	enum elem id;
	unsigned flags;
	size_t max; /* leaves: text cap in bytes */
};

static const struct rule rules[] = {
	{ E_NONE, "SubmitMultiRegionAccessPointRoutesRequest", E_REQUEST, F_ONCE, 0 },
	{ E_REQUEST, "RouteUpdates", E_UPDATES, F_ONCE, 0 },
	{ E_UPDATES, "Route", E_ROUTE, 0, 0 },
	{ E_ROUTE, "Bucket", E_BUCKET, F_LEAF | F_ONCE, ROUTER_ADMIN_BUCKET_MAX },
	{ E_ROUTE, "Region", E_REGION, F_LEAF | F_ONCE, ROUTER_ADMIN_REGION_MAX },
	{ E_ROUTE, "TrafficDialPercentage", E_PERCENT, F_LEAF | F_ONCE, PCT_MAX },
};

#define BIT(e) (1u << (e))

struct frame {
	const struct rule *rule;
	unsigned seen; /* children met so far, BIT(enum elem) */
};

struct reader {
	XML_Parser parser;
	struct arena *arena;
	struct router_admin_update *out;
	uint32_t max, n; /* routes allowed, routes so far */
	int err;         /* first failure; the parse stops there */
	char *detail;
	size_t dcap;
	size_t depth;
	struct frame stack[MAX_DEPTH];
	size_t tlen;
	bool overflow; /* the current leaf's text went over its cap */
	char text[TEXT_MAX];
};

/* ---- errors ----------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void fail(struct reader *r, int err, const char *fmt,
                                                       ...)
{
	if (r->err)
		return;
	r->err = err;
	if (r->dcap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->detail, r->dcap, fmt, ap);
		va_end(ap);
	}
	if (r->parser)
		XML_StopParser(r->parser, XML_FALSE);
}

/* ---- leaves ----------------------------------------------------------------------------- */

static inline bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static struct iov collapse(struct iov v)
{
	while (v.len && xml_space(v.base[0]))
		v = iov_sub(v, 1, v.len - 1);
	while (v.len && xml_space(v.base[v.len - 1]))
		v.len--;
	return v;
}

static void leaf_string(struct reader *r, const struct rule *rule, struct iov v, size_t min,
                        struct iov *dst)
{
	if (r->overflow || v.len < min) {
		fail(r, ERR_INVALID, "%s must be %zu to %zu bytes", rule->name, min, rule->max);
		return;
	}
	*dst = arena_dup(r->arena, v);
	if (!dst->base)
		fail(r, ERR_NOMEM, "out of memory");
}

static void leaf(struct reader *r, const struct rule *rule, struct iov v)
{
	struct router_admin_update *u = &r->out[r->n - 1];
	unsigned long long pct;
	switch (rule->id) {
	case E_BUCKET:
		leaf_string(r, rule, v, ROUTER_ADMIN_BUCKET_MIN, &u->bucket);
		break;
	case E_REGION:
		leaf_string(r, rule, v, ROUTER_ADMIN_REGION_MIN, &u->region);
		break;
	case E_PERCENT:
		if (r->overflow || iov_to_u64(collapse(v), 100, &pct) != 0) {
			fail(r, ERR_INVALID,
			     "TrafficDialPercentage must be an integer from 0 to 100");
			return;
		}
		u->percent = (int64_t)pct;
		break;
	default:
		CHECK(!"a leaf without a setter");
	}
}

/* ---- containers ------------------------------------------------------------------------- */

static void container_open(struct reader *r, enum elem id)
{
	if (id != E_ROUTE)
		return;
	if (r->n == r->max) {
		fail(r, ERR_INVALID, "more than %u routes", (unsigned)r->max);
		return;
	}
	r->out[r->n++] = (struct router_admin_update){ IOV_NULL, IOV_NULL, 0 };
}

static void container_close(struct reader *r, const struct frame *f)
{
	if (f->rule->id == E_REQUEST && !(f->seen & BIT(E_UPDATES)))
		fail(r, ERR_INVALID, "RouteUpdates is missing");
	if (f->rule->id != E_ROUTE)
		return;
	if (!(f->seen & (BIT(E_BUCKET) | BIT(E_REGION))))
		fail(r, ERR_INVALID, "route %u has neither Bucket nor Region", (unsigned)r->n);
	else if (!(f->seen & BIT(E_PERCENT)))
		fail(r, ERR_INVALID, "route %u has no TrafficDialPercentage", (unsigned)r->n);
}

/* ---- expat callbacks -------------------------------------------------------------------- */

static const struct rule *find_rule(enum elem parent, const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

/* The local name of "uri local" or "local"; NULL for a foreign namespace. */
static const char *local_name(const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	if (!sep)
		return name;
	size_t ulen = (size_t)(sep - name);
	if (ulen != sizeof(ROUTER_ADMIN_XML_NS) - 1 || memcmp(name, ROUTER_ADMIN_XML_NS, ulen) != 0)
		return NULL;
	return sep + 1;
}

static void on_start(void *ud, const XML_Char *qname, const XML_Char **atts)
{
	struct reader *r = ud;
	(void)atts; /* no attribute carries anything; xmlns is handled by expat */
	if (r->err)
		return;
	const char *name = local_name(qname);
	if (!name) {
		fail(r, ERR_INVALID, "element in a namespace other than S3 Control's");
		return;
	}
	struct frame *parent = r->depth ? &r->stack[r->depth - 1] : NULL;
	enum elem pid = parent ? parent->rule->id : E_NONE;
	const struct rule *rule = find_rule(pid, name);
	if (!rule) {
		/* a long name is not echoed: cutting it could split a UTF-8 sequence */
		bool echo = strlen(name) <= 64;
		fail(r, ERR_INVALID, "unexpected element%s%s%s%s", echo ? " <" : "",
		     echo ? name : "", echo ? ">" : "",
		     pid == E_NONE ? ": the root must be SubmitMultiRegionAccessPointRoutesRequest"
		                   : "");
		return;
	}
	if (parent) {
		if ((rule->flags & F_ONCE) && (parent->seen & BIT(rule->id))) {
			fail(r, ERR_INVALID, "element <%s> repeated", rule->name);
			return;
		}
		parent->seen |= BIT(rule->id);
	}
	CHECK(r->depth < MAX_DEPTH); /* the schema is four deep */
	r->stack[r->depth++] = (struct frame){ .rule = rule };
	if (rule->flags & F_LEAF) {
		r->tlen = 0;
		r->overflow = false;
	} else {
		container_open(r, rule->id);
	}
}

static void on_end(void *ud, const XML_Char *qname)
{
	struct reader *r = ud;
	(void)qname; /* expat has matched it against the start tag */
	if (r->err)
		return;
	CHECK(r->depth > 0);
	const struct frame *f = &r->stack[--r->depth];
	if (f->rule->flags & F_LEAF)
		leaf(r, f->rule, iov_make(r->text, r->tlen));
	else
		container_close(r, f);
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct reader *r = ud;
	if (r->err || len <= 0)
		return;
	const struct frame *f = r->depth ? &r->stack[r->depth - 1] : NULL;
	if (!f || !(f->rule->flags & F_LEAF)) {
		for (int i = 0; i < len; i++)
			if (!xml_space(s[i])) {
				fail(r, ERR_INVALID, "text where only elements belong");
				return;
			}
		return;
	}
	if (r->overflow || (size_t)len > f->rule->max - r->tlen) {
		r->overflow = true;
		return;
	}
	memcpy(r->text + r->tlen, s, (size_t)len);
	r->tlen += (size_t)len;
}

/* No DTD at all: its mere start ends the parse, before any entity exists. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, ERR_INVALID, "a DOCTYPE is not allowed");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, ERR_INVALID, "entity declarations are not allowed");
}

int router_admin_xml_parse_submit(struct arena *a, const char *p, size_t n,
                                  struct router_admin_update *out, uint32_t cap, uint32_t *nout,
                                  char *detail, size_t dcap)
{
	CHECK(a && nout && (out || cap == 0) && (detail || dcap == 0));
	struct reader r = {
		.arena = a,
		.out = out,
		.max = cap < ROUTER_REGIONS_MAX ? cap : ROUTER_REGIONS_MAX,
		.detail = detail,
		.dcap = dcap,
	};
	*nout = 0;
	if (dcap)
		detail[0] = '\0';
	if (n == 0) {
		fail(&r, ERR_INVALID, "the request body is empty");
		return r.err;
	}
	if (n > ROUTER_ADMIN_XML_MAX) {
		fail(&r, ERR_INVALID, "the request body is over %u bytes", ROUTER_ADMIN_XML_MAX);
		return r.err;
	}
	r.parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (!r.parser) {
		fail(&r, ERR_NOMEM, "out of memory");
		return r.err;
	}
	XML_SetUserData(r.parser, &r);
	XML_SetElementHandler(r.parser, on_start, on_end);
	XML_SetCharacterDataHandler(r.parser, on_text);
	XML_SetStartDoctypeDeclHandler(r.parser, on_doctype);
	XML_SetEntityDeclHandler(r.parser, on_entity);
	XML_SetParamEntityParsing(r.parser, XML_PARAM_ENTITY_PARSING_NEVER);

	if (XML_Parse(r.parser, p, (int)n, XML_TRUE) != XML_STATUS_OK && r.err == 0) {
		enum XML_Error e = XML_GetErrorCode(r.parser);
		if (e == XML_ERROR_NO_MEMORY)
			fail(&r, ERR_NOMEM, "out of memory");
		else
			fail(&r, ERR_INVALID, "malformed XML at line %lu column %lu: %s",
			     (unsigned long)XML_GetCurrentLineNumber(r.parser),
			     (unsigned long)XML_GetCurrentColumnNumber(r.parser) + 1,
			     XML_ErrorString(e));
	}
	XML_ParserFree(r.parser);
	if (r.err == 0)
		*nout = r.n;
	return r.err;
}

/* ---- writing ---------------------------------------------------------------------------- */

/* The length of the UTF-8 sequence at p (1..4) if it is well-formed and an
 * XML 1.0 Char other than ASCII; 0 otherwise. p[0] >= 0x80. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp, min;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, cp = p[0] & 0x1fu, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, cp = p[0] & 0x0fu, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, cp = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return len;
}

/* The escape of one ASCII byte, "" to copy it, or NULL if XML cannot carry it. */
static const char *ascii_escape(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	case '\t':
		return "&#9;";
	case '\n':
		return "&#10;";
	case '\r':
		return "&#13;";
	default:
		return c >= 0x20 ? "" : NULL;
	}
}

int router_admin_xml_escape(struct buf *out, struct iov text)
{
	const unsigned char *p = (const unsigned char *)text.base;
	size_t start = out->len, run = 0, i = 0;
	int rc = 0;
	while (rc == 0 && i < text.len) {
		if (p[i] >= 0x80) {
			size_t k = utf8_char(p + i, text.len - i);
			if (k == 0)
				rc = ERR_INVALID;
			i += k;
			continue;
		}
		const char *esc = ascii_escape(p[i]);
		if (!esc) {
			rc = ERR_INVALID;
		} else if (esc[0]) {
			rc = buf_add(out, text.base + run, i - run);
			if (rc == 0)
				rc = buf_add_str(out, esc);
			run = i + 1;
		}
		i++;
	}
	if (rc == 0)
		rc = buf_add(out, text.base + run, text.len - run);
	if (rc)
		out->len = start;
	return rc;
}

/* <name>escaped text</name>; a NULL text writes nothing. */
static int leaf_text(struct buf *b, const char *name, const char *text)
{
	if (!text)
		return 0;
	int rc = buf_printf(b, "<%s>", name);
	if (rc == 0)
		rc = router_admin_xml_escape(b, iov_cstr(text));
	if (rc == 0)
		rc = buf_printf(b, "</%s>", name);
	return rc;
}

static int route(struct buf *b, const struct router_admin_route *r)
{
	CHECK(r->percent >= 0 && r->percent <= 100 && r->health);
	int rc = buf_add_str(b, "<Route>");
	if (rc == 0)
		rc = leaf_text(b, "Bucket", r->bucket);
	if (rc == 0)
		rc = leaf_text(b, "Region", r->region);
	if (rc == 0)
		rc = buf_printf(b, "<TrafficDialPercentage>%d</TrafficDialPercentage>", r->percent);
	if (rc == 0)
		rc = leaf_text(b, "Health", r->health);
	if (rc == 0 && isfinite(r->latency_ms) && r->latency_ms >= 0)
		rc = buf_printf(b, "<LatencyMs>%.3f</LatencyMs>", r->latency_ms);
	if (rc == 0)
		rc = buf_add_str(b, "</Route>");
	return rc;
}

int router_admin_xml_routes(struct buf *out, const char *mrap, const struct router_admin_route *r,
                            uint32_t n)
{
	CHECK(out && mrap && (r || n == 0));
	size_t start = out->len;
	int rc = buf_add_str(out, ROUTER_ADMIN_XML_DECL "<GetMultiRegionAccessPointRoutesResult "
	                                                "xmlns=\"" ROUTER_ADMIN_XML_NS "\">");
	if (rc == 0)
		rc = leaf_text(out, "Mrap", mrap);
	if (rc == 0)
		rc = buf_add_str(out, "<Routes>");
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		rc = route(out, &r[i]);
	if (rc == 0)
		rc = buf_add_str(out, "</Routes></GetMultiRegionAccessPointRoutesResult>");
	if (rc)
		out->len = start;
	return rc;
}

int router_admin_xml_error(struct buf *out, const char *code, const char *message)
{
	CHECK(out && code && message);
	size_t start = out->len;
	int rc = buf_add_str(out, ROUTER_ADMIN_XML_DECL "<Error>");
	if (rc == 0)
		rc = leaf_text(out, "Code", code);
	if (rc == 0)
		rc = leaf_text(out, "Message", message);
	if (rc == 0)
		rc = buf_add_str(out, "</Error>");
	if (rc)
		out->len = start;
	return rc;
}
