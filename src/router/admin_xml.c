/*
 * Control API XML (contract in admin_xml.h): the submit request's schema for
 * the shared strict reader (http/xml), and the writers of the Get result and
 * of error bodies. Any thread; no shared state.
 */
#include "router/admin_xml.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"
#include "router/routes.h"

#define PCT_MAX 32 /* "100" with room for whitespace around it */

enum elem { E_REQUEST, E_UPDATES, E_ROUTE, E_BUCKET, E_REGION, E_PERCENT, E__COUNT };

#define LEAF(name, cap)                                                \
	{                                                              \
		name, E_ROUTE, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 1, cap \
	}

static const struct http_xml_rule rules[] = {
	[E_REQUEST] = { "SubmitMultiRegionAccessPointRoutesRequest", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_UPDATES] = { "RouteUpdates", E_REQUEST, 0, 1, 0 },
	[E_ROUTE] = { "Route", E_UPDATES, 0, 0, 0 }, /* the caller's cap: on_open */
	[E_BUCKET] = LEAF("Bucket", ROUTER_ADMIN_BUCKET_MAX),
	[E_REGION] = LEAF("Region", ROUTER_ADMIN_REGION_MAX),
	[E_PERCENT] = LEAF("TrafficDialPercentage", PCT_MAX),
};

struct reader {
	struct arena *arena;
	struct router_admin_update *out;
	uint32_t max, n; /* routes allowed, routes so far */
};

static int leaf_string(struct http_xml_reader *x, struct reader *r, int id, struct iov v, bool cut,
                       size_t min, struct iov *dst)
{
	if (cut || v.len < min)
		return http_xml_reader_fail(x, ERR_INVALID, "%s must be %zu to %zu bytes",
		                            rules[id].name, min, rules[id].text_max);
	*dst = arena_dup(r->arena, v);
	return dst->base ? 0 : ERR_NOMEM;
}

static int on_leaf(struct http_xml_reader *x, void *ctx, int id, struct iov v, bool cut)
{
	struct reader *r = ctx;
	struct router_admin_update *u = &r->out[r->n - 1];
	unsigned long long pct;
	switch (id) {
	case E_BUCKET:
		return leaf_string(x, r, id, v, cut, ROUTER_ADMIN_BUCKET_MIN, &u->bucket);
	case E_REGION:
		return leaf_string(x, r, id, v, cut, ROUTER_ADMIN_REGION_MIN, &u->region);
	case E_PERCENT:
		if (cut || iov_to_u64(http_xml_collapse(v), 100, &pct) != 0)
			return http_xml_reader_fail(
			    x, ERR_INVALID,
			    "TrafficDialPercentage must be an integer from 0 to 100");
		u->percent = (int64_t)pct;
		return 0;
	default:
		CHECK(!"a leaf without a setter");
		return ERR_INVALID;
	}
}

static int on_open(struct http_xml_reader *x, void *ctx, int id)
{
	struct reader *r = ctx;
	if (id != E_ROUTE)
		return 0;
	if (r->n == r->max)
		return http_xml_reader_fail(x, ERR_INVALID, "more than %u routes",
		                            (unsigned)r->max);
	r->out[r->n++] = (struct router_admin_update){ IOV_NULL, IOV_NULL, 0 };
	return 0;
}

static int on_close(struct http_xml_reader *x, void *ctx, int id, uint64_t seen)
{
	struct reader *r = ctx;
	if (id == E_REQUEST && !(seen & HTTP_XML_BIT(E_UPDATES)))
		return http_xml_reader_fail(x, ERR_INVALID, "RouteUpdates is missing");
	if (id != E_ROUTE)
		return 0;
	if (!(seen & (HTTP_XML_BIT(E_BUCKET) | HTTP_XML_BIT(E_REGION))))
		return http_xml_reader_fail(
		    x, ERR_INVALID, "route %u has neither Bucket nor Region", (unsigned)r->n);
	if (!(seen & HTTP_XML_BIT(E_PERCENT)))
		return http_xml_reader_fail(x, ERR_INVALID, "route %u has no TrafficDialPercentage",
		                            (unsigned)r->n);
	return 0;
}

static const struct http_xml_schema schema = {
	.rules = rules,
	.nrules = E__COUNT,
	.root = E_REQUEST,
	.ns = ROUTER_ADMIN_XML_NS,
	.cap = ROUTER_ADMIN_XML_MAX,
	.err_malformed = ERR_INVALID,
	.err_too_big = ERR_INVALID,
	.err_empty = ERR_INVALID,
	.open = on_open,
	.leaf = on_leaf,
	.close = on_close,
};

int router_admin_xml_parse_submit(struct arena *a, const char *p, size_t n,
                                  struct router_admin_update *out, uint32_t cap, uint32_t *nout,
                                  char *detail, size_t dcap)
{
	CHECK(a && nout && (out || cap == 0) && (detail || dcap == 0));
	struct reader r = {
		.arena = a,
		.out = out,
		.max = cap < ROUTER_REGIONS_MAX ? cap : ROUTER_REGIONS_MAX,
	};
	struct http_xml_reader *x;
	*nout = 0;
	int rc = http_xml_reader_new(&schema, &r, &x);
	if (rc) {
		if (dcap)
			snprintf(detail, dcap, "out of memory");
		return rc;
	}
	/* an over-long body is refused whole, before any of it is parsed */
	rc = n > ROUTER_ADMIN_XML_MAX
	         ? http_xml_reader_fail(x, ERR_INVALID, "the request body is over %u bytes",
	                                ROUTER_ADMIN_XML_MAX)
	         : http_xml_reader_feed(x, p, n);
	if (rc == 0)
		rc = http_xml_reader_finish(x);
	if (dcap)
		snprintf(detail, dcap, "%s", http_xml_reader_why(x));
	http_xml_reader_free(x);
	if (rc == 0)
		*nout = r.n;
	return rc;
}

/* ---- writing ---------------------------------------------------------------------------- */

int router_admin_xml_escape(struct buf *out, struct iov text)
{
	return http_xml_escape(out, text, HTTP_XML_C0_REFUSE);
}

/* <name>escaped text</name>; a NULL text writes nothing. */
static int leaf_text(struct buf *b, const char *name, const char *text)
{
	return text ? http_xml_leaf(b, name, iov_cstr(text)) : 0;
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
