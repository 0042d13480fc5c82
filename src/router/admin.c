/*
 * router/admin: the control API and /metrics on their own listener. See
 * admin.h. Requests are small: a body is buffered (capped at
 * ROUTER_ADMIN_XML_MAX) and the signature checked once it is whole.
 */
#include "router/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/users.h"
#include "auth/verify.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "http/server.h"
#include "router/admin_xml.h"

struct router_admin {
	const struct router_config *cfg;
	struct router_server *srv;
	struct auth_users *users;
	struct http_server *http;
};

enum admin_op { ADMIN_GET_ROUTES, ADMIN_SUBMIT_ROUTES };

struct admin_req {
	enum admin_op op;
	struct buf body;
	bool too_big;
};

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

static void respond_err(struct http_request *r, int rc, const char *detail)
{
	const char *code = err_s3_code(rc);
	respond_error(r, err_http_status(rc) ? err_http_status(rc) : 500,
	              code ? code : "InternalError", detail && detail[0] ? detail : err_text(rc));
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

/* ---- signature ---- */

static int authenticate(struct router_admin *a, struct http_request *r, struct iov body,
                        char *detail, size_t dcap)
{
	const struct http_head *h = http_request_head(r);
	struct arena *ar = http_request_arena(r);
	struct auth_header *hs = arena_alloc(ar, (h->nheaders ? h->nheaders : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	for (size_t i = 0; i < h->nheaders; i++)
		hs[i] = (struct auth_header){ h->headers[i].name, h->headers[i].value };
	uint8_t digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256(body.base ? body.base : "", body.len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	struct iov path, query = iov_split(h->target, '?', &path);
	struct auth_request areq = {
		.method = h->method,
		.path = path,
		.query = query.base ? query : IOV_LIT(""),
		.headers = hs,
		.nheaders = h->nheaders,
		.payload_hash = iov_make(hex, SHA256_HEX_LEN),
	};
	struct auth_userdb *db = auth_users_acquire(a->users);
	struct auth_verifier v = {
		.creds = &auth_userdb_creds,
		.creds_ctx = db,
		.region = IOV_LIT(""), /* a control endpoint: any region */
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
	};
	struct auth_verified out;
	auth_verified_init(&out);
	int rc = auth_verify(&v, &areq, clock_now(), &out);
	/* The body must be what was signed: a hash, never UNSIGNED-PAYLOAD. */
	if (rc == 0 && out.payload != AUTH_PAYLOAD_HASH)
		rc = ERR_AUTH_CONTENT_SHA256;
	if (rc == 0 && auth_verified_check_body(&out, digest))
		rc = ERR_AUTH_PAYLOAD_MISMATCH;
	if (rc && detail)
		snprintf(detail, dcap, "%s", out.detail[0] ? out.detail : err_text(rc));
	auth_verified_free(&out);
	auth_userdb_release(db);
	return rc;
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

/* ---- the handler ---- */

static void on_request(void *ctx, struct http_request *r)
{
	struct router_admin *a = ctx;
	const struct http_head *h = http_request_head(r);
	struct iov path;
	iov_split(h->target, '?', &path);
	if (iov_eq(path, IOV_LIT("/metrics"))) {
		if (!iov_eq(h->method, IOV_LIT("GET"))) {
			respond_error(r, 405, "MethodNotAllowed",
			              "Only GET is allowed on /metrics.");
			return;
		}
		struct buf b;
		buf_init(&b, 16 << 20);
		if (router_server_metrics(a->srv, &b) == 0)
			http_respond(r, 200, "text/plain; version=0.0.4", buf_iov(&b));
		else
			respond_err(r, ERR_NOMEM, NULL);
		buf_free(&b);
		return;
	}
	struct iov prefix = IOV_LIT(ROUTER_ADMIN_API_PREFIX), suffix = IOV_LIT("/routes");
	if (!iov_starts(path, prefix) || path.len < prefix.len + suffix.len ||
	    !iov_eq(iov_sub(path, path.len - suffix.len, suffix.len), suffix)) {
		respond_error(r, 404, "NoSuchResource", "The resource does not exist.");
		return;
	}
	struct iov name = iov_sub(path, prefix.len, path.len - prefix.len - suffix.len);
	enum admin_op op;
	if (iov_eq(h->method, IOV_LIT("GET")))
		op = ADMIN_GET_ROUTES;
	else if (iov_eq(h->method, IOV_LIT("PATCH")))
		op = ADMIN_SUBMIT_ROUTES;
	else {
		respond_error(r, 405, "MethodNotAllowed", "Use GET or PATCH on routes.");
		return;
	}
	if (!iov_eq(name, iov_cstr(a->cfg->name)) && !iov_eq(name, iov_cstr(a->cfg->alias))) {
		respond_error(r, 404, "NoSuchMultiRegionAccessPoint",
		              "The specified Multi-Region Access Point does not exist.");
		return;
	}
	struct admin_req *q = calloc(1, sizeof(*q));
	if (!q) {
		respond_err(r, ERR_NOMEM, NULL);
		return;
	}
	q->op = op;
	buf_init(&q->body, ROUTER_ADMIN_XML_MAX);
	http_request_set_user(r, q);
	http_request_limit_body(r, ROUTER_ADMIN_XML_MAX);
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct admin_req *q = http_request_user(r);
	if (q && buf_add(&q->body, p, n))
		q->too_big = true;
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	struct router_admin *a = ctx;
	struct admin_req *q = http_request_user(r);
	if (!q)
		return;
	if (q->too_big) {
		respond_error(r, 400, "MaxMessageLengthExceeded", "The request body is too large.");
		return;
	}
	char detail[256] = "";
	struct iov body = buf_iov(&q->body);
	int rc = authenticate(a, r, body, detail, sizeof(detail));
	if (rc) {
		respond_err(r, rc, detail);
		return;
	}
	if (q->op == ADMIN_GET_ROUTES)
		get_routes(a, r);
	else
		submit_routes(a, r, body);
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct admin_req *q = http_request_user(r);
	if (q) {
		buf_free(&q->body);
		free(q);
		http_request_set_user(r, NULL);
	}
}

static const struct http_handler admin_handler = {
	.name = "router-admin",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

int router_admin_start(const struct router_config *cfg, struct router_server *srv,
                       struct router_admin **out, char *err, size_t errcap)
{
	struct router_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->cfg = cfg;
	a->srv = srv;
	int rc = auth_users_open(cfg->admin_credentials, &a->users, err, errcap);
	if (rc) {
		free(a);
		return rc;
	}
	struct http_server_config hc = {
		.listen = cfg->admin_listen,
		.workers = 1,
		.handler = &admin_handler,
		.handler_ctx = a,
	};
	rc = http_server_start(&hc, &a->http);
	if (rc) {
		snprintf(err, errcap, "admin: cannot listen on %s: %s", cfg->admin_listen,
		         err_text(rc));
		auth_users_free(a->users);
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int router_admin_port(const struct router_admin *a)
{
	return http_server_port(a->http);
}

int router_admin_reload(struct router_admin *a, char *err, size_t errcap)
{
	return auth_users_reload(a->users, err, errcap);
}

void router_admin_stop(struct router_admin *a)
{
	if (!a)
		return;
	http_server_stop(a->http);
	auth_users_free(a->users);
	free(a);
}
