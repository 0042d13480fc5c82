/*
 * router/admin: the control API and /metrics on the shared signed admin
 * listener (http/admin.h). See admin.h.
 */
#include "router/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/admin.h"
#include "router/admin_xml.h"

struct router_admin {
	const struct router_config *cfg;
	struct router_server *srv;
};

enum admin_op { ADMIN_GET_ROUTES, ADMIN_SUBMIT_ROUTES };

/* An answer with an S3-style XML error body. */
static void respond_error(struct http_request *r, int status, const char *code, const char *message)
{
	struct buf b;
	buf_init(&b, 4096);
	http_response_early(r);
	/* http_respond copies the body. */
	http_respond(r, status, "application/xml",
	             router_admin_xml_error(&b, code, message) ? IOV_LIT("") : buf_iov(&b));
	buf_free(&b);
}

static int metrics(void *ctx, struct buf *out)
{
	struct router_admin *a = ctx;
	return router_server_metrics(a->srv, out);
}

static int route(void *ctx, struct http_request *r, struct iov path);
static void serve(void *ctx, struct http_request *r, int op, struct iov body);

static const struct http_admin_ops admin_ops = {
	.name = "router-admin",
	.service = "s3",
	.body_max = ROUTER_ADMIN_XML_MAX,
	.route = route,
	.serve = serve,
	.error = respond_error,
	.metrics = metrics,
	.ctx_free = free,
};

static void respond_err(struct http_request *r, int rc, const char *detail)
{
	http_admin_error_code(&admin_ops, r, rc, detail);
}

static void respond_xml(struct http_request *r, struct buf *b, uint64_t version)
{
	char v[24];
	snprintf(v, sizeof(v), "%llu", (unsigned long long)version);
	struct http_header hs[2] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("application/xml") },
		{ IOV_LIT(ROUTER_ADMIN_VERSION_HEADER), iov_cstr(v) },
	};
	struct iov body = arena_dup(http_request_arena(r), buf_iov(b));
	if (http_response_start(r, 200, hs, 2, (int64_t)body.len) == 0 &&
	    http_response_write(r, body.base, body.len, NULL, NULL) == 0)
		http_response_end(r);
}

/* ---- the routes calls ---- */

static void get_routes(struct router_admin *a, struct http_request *r)
{
	const struct router_config *cfg = a->cfg;
	struct router_routes routes;
	struct router_admin_route out[ROUTER_REGIONS_MAX];
	router_server_routes(a->srv, &routes);
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		enum router_health_state st;
		double lat;
		router_server_region_view(a->srv, i, &st, &lat);
		out[i] = (struct router_admin_route){
			.bucket = cfg->region[i].bucket,
			.region = cfg->region[i].name,
			.percent = routes.dial[i] == ROUTER_DIAL_ACTIVE ? 100 : 0,
			.health = router_health_state_name(st),
			.latency_ms = lat < 0 ? -1 : lat / 1e6,
		};
	}
	struct buf b;
	buf_init(&b, 1 << 20);
	if (router_admin_xml_routes(&b, cfg->name, out, cfg->nregions))
		respond_err(r, ERR_NOMEM, NULL);
	else
		respond_xml(r, &b, routes.version);
	buf_free(&b);
}

/* The region a Route names (by Region, else by Bucket), or -1. */
static int route_region(const struct router_config *cfg, const struct router_admin_update *u)
{
	for (uint32_t i = 0; i < cfg->nregions; i++) {
		bool region = u->region.base && iov_eq(u->region, iov_cstr(cfg->region[i].name));
		bool bucket = u->bucket.base && iov_eq(u->bucket, iov_cstr(cfg->region[i].bucket));
		if ((u->region.base && !region) || (u->bucket.base && !bucket))
			continue;
		return (int)i;
	}
	return -1;
}

static void submit_routes(struct router_admin *a, struct http_request *r, struct iov body)
{
	char detail[256] = "";
	struct router_admin_update up[ROUTER_REGIONS_MAX];
	struct router_route_update ru[ROUTER_REGIONS_MAX];
	uint32_t n = 0;
	int rc = router_admin_xml_parse_submit(http_request_arena(r), body.base ? body.base : "",
	                                       body.len, up, ROUTER_REGIONS_MAX, &n, detail,
	                                       sizeof(detail));
	if (rc) {
		respond_error(r, 400, "MalformedXML", detail);
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		int i = route_region(a->cfg, &up[k]);
		if (i < 0) {
			snprintf(detail, sizeof(detail),
			         "Route %u names no region of this access point", k + 1);
			respond_error(r, 400, "InvalidRequest", detail);
			return;
		}
		ru[k].region = (uint32_t)i;
		if (router_routes_dial_from_percent(up[k].percent, &ru[k].dial)) {
			respond_error(r, 400, "InvalidRequest",
			              "TrafficDialPercentage must be 0 (passive) or 100 (active).");
			return;
		}
	}
	uint64_t expect = ROUTER_ROUTES_ANY;
	struct iov hv = http_request_header(r, IOV_LIT(ROUTER_ADMIN_VERSION_HEADER));
	if (hv.base) {
		unsigned long long v;
		if (iov_to_u64(hv, UINT64_MAX - 1, &v)) {
			respond_error(r, 400, "InvalidRequest",
			              ROUTER_ADMIN_VERSION_HEADER " is not a version number.");
			return;
		}
		expect = v;
	}
	uint64_t version;
	rc = router_server_submit(a->srv, expect, ru, n, &version);
	if (rc == ERR_INVALID) {
		respond_error(r, 400, "InvalidRequest", "A region is named twice.");
		return;
	}
	if (rc) {
		respond_err(r, rc, NULL);
		return;
	}
	get_routes(a, r);
}

/* ---- the listener's callbacks ---- */

static int route(void *ctx, struct http_request *r, struct iov path)
{
	struct router_admin *a = ctx;
	const struct http_head *h = http_request_head(r);
	struct iov prefix = IOV_LIT(ROUTER_ADMIN_API_PREFIX), suffix = IOV_LIT("/routes");
	if (!iov_starts(path, prefix) || path.len < prefix.len + suffix.len ||
	    !iov_eq(iov_sub(path, path.len - suffix.len, suffix.len), suffix)) {
		respond_error(r, 404, "NoSuchResource", "The resource does not exist.");
		return -1;
	}
	struct iov name = iov_sub(path, prefix.len, path.len - prefix.len - suffix.len);
	int op;
	if (iov_eq(h->method, IOV_LIT("GET")))
		op = ADMIN_GET_ROUTES;
	else if (iov_eq(h->method, IOV_LIT("PATCH")))
		op = ADMIN_SUBMIT_ROUTES;
	else {
		respond_error(r, 405, "MethodNotAllowed", "Use GET or PATCH on routes.");
		return -1;
	}
	if (!iov_eq(name, iov_cstr(a->cfg->name)) && !iov_eq(name, iov_cstr(a->cfg->alias))) {
		respond_error(r, 404, "NoSuchMultiRegionAccessPoint",
		              "The specified Multi-Region Access Point does not exist.");
		return -1;
	}
	return op;
}

static void serve(void *ctx, struct http_request *r, int op, struct iov body)
{
	struct router_admin *a = ctx;
	if (op == ADMIN_GET_ROUTES)
		get_routes(a, r);
	else
		submit_routes(a, r, body);
}

int router_admin_start(const struct router_config *cfg, struct router_server *srv,
                       struct http_admin **out, char *err, size_t errcap)
{
	struct router_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->cfg = cfg;
	a->srv = srv;
	return http_admin_start(cfg->admin_listen, cfg->admin_credentials, &admin_ops, a, out, err,
	                        errcap);
}
