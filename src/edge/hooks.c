/*
 * edge/hooks: the four edge function triggers in the edge's data plane
 * (issue 9; docs/internals/edge-fn.md). Each builds the edge's view of the
 * request (and response) for edge/fn_event, runs the behavior's function
 * through edge/fn, and applies the result, with CloudFront's exceptions:
 *
 *   viewer-request   every request, after the behavior match, before the
 *                    cache; a generated response goes out as it is (not
 *                    cached, no viewer-response)
 *   origin-request   before each origin attempt (again for the next group
 *                    member); a generated response is cached like an
 *                    origin's answer
 *   origin-response  on the origin's head, before caching; a new body
 *                    replaces the origin's
 *   viewer-response  before an answer below 400 starts, hit or miss; not
 *                    for the edge's own errors or generated viewer answers
 *
 * A function's header list is all it was shown; headers it may never see
 * (CloudFront's disallowed list) are kept from the edge's own list. Loop
 * thread of the request, like server.c.
 */
#include "edge/edge-int.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "edge/behavior.h"
#include "edge/fetch.h"
#include "edge/fn.h"
#include "edge/fn_event.h"
#include "http/server.h"

static void input_base(const struct ereq *q, enum edge_fn_trigger t, struct edge_fn_input *in)
{
	const struct edge_config *cfg = q->el->srv->cfg;
	*in = (struct edge_fn_input){
		.trigger = t,
		.distribution_domain = iov_cstr(cfg->domain),
		.distribution_id = iov_cstr(cfg->id),
	};
}

/* fn's headers followed by the ones of orig a function is never shown. */
static int with_hidden(struct arena *a, const struct http_header *orig, size_t norig,
                       const struct http_header *fn, size_t nfn, size_t extra,
                       struct http_header **out, size_t *nout, size_t *cap)
{
	size_t hidden = 0;
	for (size_t i = 0; i < norig; i++)
		hidden += edge_fn_header_disallowed(orig[i].name);
	*cap = nfn + hidden + extra;
	struct http_header *hs = arena_alloc(a, (*cap ? *cap : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	if (nfn)
		memcpy(hs, fn, nfn * sizeof(*hs));
	size_t n = nfn;
	for (size_t i = 0; i < norig; i++)
		if (edge_fn_header_disallowed(orig[i].name))
			hs[n++] = orig[i];
	*out = hs;
	*nout = n;
	return 0;
}

/* The origin as the event shows a configured one, reached over HTTPS or
 * not (the attempt's protocol: match-viewer shows the one it follows). */
static void event_origin(const struct edge_config_origin *o, bool https,
                         const struct http_header *custom, size_t ncustom,
                         struct edge_fn_origin *eo)
{
	unsigned rt = o->read_timeout_ms / 1000, kt = o->keepalive_timeout_ms / 1000;
	unsigned port = https ? o->https_port : o->http_port;
	if (port != 80 && port != 443 && port < 1024) /* the event's range: ours is wider */
		port = https ? 443 : 80;
	*eo = (struct edge_fn_origin){
		.kind = EDGE_FN_ORIGIN_CUSTOM,
		.domain_name = iov_cstr(o->domain_name),
		.path = o->origin_path ? iov_cstr(o->origin_path) : IOV_LIT(""),
		.custom_headers = custom,
		.ncustom_headers = ncustom,
		.port = port,
		.https = https,
		.read_timeout = rt < 4    ? 4
		                : rt > 60 ? 60
		                          : rt,
		.keepalive_timeout = kt < 1    ? 1
		                     : kt > 60 ? 60
		                               : kt,
		.ssl_protocols = EDGE_FN_SSL_TLSV12 | EDGE_FN_SSL_TLSV11,
	};
}

struct http_header *edge__origin_custom(struct arena *a, const struct edge_config_origin *o)
{
	struct http_header *hs = arena_alloc(a, (o->nheaders + 1) * sizeof(*hs));
	for (uint32_t i = 0; hs && i < o->nheaders; i++)
		hs[i] = (struct http_header){ iov_cstr(o->header[i].name),
			                      iov_cstr(o->header[i].value) };
	return hs;
}

static const struct edge_config_origin *cur_origin(const struct ereq *q)
{
	return &q->el->srv->cfg->origin[q->members[q->member]];
}

static void keep_error(struct ereq *q, const struct edge_fn_error *e)
{
	q->fn_failed = true;
	q->fn_err = arena_alloc(q->arena, sizeof(*q->fn_err));
	if (q->fn_err) {
		*q->fn_err = *e;
		return;
	}
	static const struct edge_fn_error nomem = { .kind = EDGE_FN_LIMIT,
		                                    .status = 503,
		                                    .name = "LambdaLimitExceeded" };
	q->fn_err = (struct edge_fn_error *)&nomem;
}

/* ---- viewer-request ---- */

/* A response made by a viewer-request function: sent as it is. */
static void send_generated(struct ereq *q, const struct edge_fn_response *g)
{
	q->fn_no_vresp = true;
	q->result = g->status >= 400 ? RES_ERROR : RES_MISS;
	q->detail = "LambdaGeneratedResponse";
	http_response_early(q->r);
	if (edge__start_response(q, g->status, g->headers, g->nheaders, (int64_t)g->body.len,
	                         "LambdaGeneratedResponse from meridian") == 0 &&
	    g->body.len && http_response_write(q->r, g->body.base, g->body.len, NULL, NULL) == 0)
		q->bytes_out += g->body.len;
	http_response_end(q->r);
}

int edge__fn_viewer_request(struct ereq *q, int id, struct iov *path, struct iov *query)
{
	struct http_request *r = q->r;
	struct arena *a = http_request_arena(r);
	const struct http_head *h = http_request_head(r);
	struct edge_fn_input in;
	struct edge_fn_result res;
	struct edge_fn_error e;
	input_base(q, EDGE_FN_VIEWER_REQUEST, &in);
	in.request_id = iov_cstr(http_request_id(r));
	in.client_ip = net_peer_ip(iov_cstr(http_request_peer(r)));
	in.method = h->method;
	in.uri = *path;
	in.query = *query;
	in.headers = h->headers;
	in.nheaders = h->nheaders;
	if (edge_fn_run(q->el->fn, id, &in, http_request_id(r), a, &res, &e)) {
		edge__respond_fn_error(q, &e);
		return 1;
	}
	if (res.action == EDGE_FN_RESPOND) {
		send_generated(q, &res.response);
		return 1;
	}
	const struct edge_fn_request *fr = &res.request;
	if (fr->uri_changed) {
		size_t cap = fr->uri.len * 3 + 1, len;
		char *np = arena_alloc(a, cap);
		if (!np || fr->uri.len > EDGE_PATH_MAX ||
		    edge_path_normalize(fr->uri, np, cap, &len)) {
			edge__respond_error(q, 414, "InvalidURI", "The URI is too long.");
			return 1;
		}
		*path = iov_make(np, len);
	}
	if (fr->query_changed)
		*query = fr->query;
	if (fr->headers_changed) {
		struct http_header *hs;
		size_t n, cap;
		if (with_hidden(a, h->headers, h->nheaders, fr->headers, fr->nheaders, 0, &hs, &n,
		                &cap)) {
			edge__respond_error(q, 503, "ServiceUnavailable", "Out of memory.");
			return 1;
		}
		q->vh = hs;
		q->nvh = n;
	}
	return 0;
}

/* ---- viewer-response ---- */

int edge__viewer_response(struct ereq *q, int status, const struct http_header **hs, size_t *n)
{
	struct edge_server *s = q->el->srv;
	int id = edge_fn_set_id(s->fns, q->bi, EDGE_FN_VIEWER_RESPONSE);
	if (id < 0 || status >= 400 || q->fn_no_vresp || !q->r)
		return 0;
	struct http_request *r = q->r;
	struct arena *a = http_request_arena(r);
	struct edge_fn_input in;
	struct edge_fn_result res;
	struct edge_fn_error e;
	input_base(q, EDGE_FN_VIEWER_RESPONSE, &in);
	in.request_id = iov_cstr(http_request_id(r));
	in.client_ip = net_peer_ip(iov_cstr(http_request_peer(r)));
	in.method = http_request_head(r)->method;
	in.uri = q->vpath;
	in.query = q->vquery;
	in.headers = q->vh;
	in.nheaders = q->nvh;
	in.status = status;
	in.status_description = iov_cstr(http_reason_phrase(status));
	in.resp_headers = *hs;
	in.nresp_headers = *n;
	if (edge_fn_run(q->el->fn, id, &in, http_request_id(r), a, &res, &e)) {
		edge__respond_fn_error(q, &e);
		return 1;
	}
	if (res.response.headers_changed) {
		struct http_header *out;
		size_t nout, cap;
		if (with_hidden(a, *hs, *n, res.response.headers, res.response.nheaders, 0, &out,
		                &nout, &cap) == 0) {
			*hs = out;
			*n = nout;
		}
	}
	return 0;
}

/* ---- origin-request ---- */

/* A configured origin with this domain name (and port for the protocol,
 * when it has no address of its own), else -1. */
static int origin_by_domain(const struct edge_config *cfg, struct iov domain, unsigned port,
                            bool https)
{
	for (uint32_t i = 0; i < cfg->norigins; i++) {
		const struct edge_config_origin *o = &cfg->origin[i];
		if (iov_eq_nocase(iov_cstr(o->domain_name), domain) &&
		    (o->address || (https ? o->https_port : o->http_port) == port))
			return (int)i;
	}
	return -1;
}

/* Where an origin the function named goes: a configured origin's own
 * connect address for that protocol when the port is the one its event
 * showed, else its address's ip (or the domain) at the function's port. */
static int changed_origin_addr(struct edge_server *s, struct arena *a,
                               const struct edge_fn_origin *no, struct edge_origin_req *o)
{
	int oi = origin_by_domain(s->cfg, no->domain_name, no->port, no->https);
	if (oi < 0) {
		struct iov addr =
		    arena_printf(a, IOV_FMT ":%u", IOV_ARG(no->domain_name), no->port);
		if (!addr.base)
			return ERR_NOMEM;
		o->addr = addr.base;
		return 0;
	}
	const struct edge_config_origin *co = &s->cfg->origin[oi];
	o->oi = (uint32_t)oi;
	if (no->port == (no->https ? co->https_port : co->http_port)) {
		o->addr = no->https ? s->origin_tls_addr[oi] : s->origin_addr[oi];
		return 0;
	}
	struct iov addr = arena_printf(a, "%s:%u", co->connect_host, no->port);
	if (!addr.base)
		return ERR_NOMEM;
	o->addr = addr.base;
	return 0;
}

int edge__fn_origin_request(struct ereq *q, int id, struct edge_origin_req *o)
{
	struct edge_server *s = q->el->srv;
	struct arena *a = q->arena;
	struct edge_fn_origin eo;
	struct edge_fn_input in;
	struct edge_fn_result res;
	struct edge_fn_error e;
	event_origin(cur_origin(q), o->https, o->custom, o->ncustom, &eo);
	input_base(q, EDGE_FN_ORIGIN_REQUEST, &in);
	in.request_id = iov_cstr(q->req_id);
	in.client_ip = iov_cstr(q->client_ip);
	in.method = q->method;
	in.uri = o->path;
	in.query = o->query;
	in.headers = o->hs;
	in.nheaders = o->n;
	in.origin = &eo;
	if (edge_fn_run(q->el->fn, id, &in, q->req_id, a, &res, &e)) {
		keep_error(q, &e);
		return ERR_EDGEFN_RUNTIME;
	}
	if (res.action == EDGE_FN_RESPOND) {
		edge__fn_origin_generated(q, &res.response);
		return 1;
	}
	const struct edge_fn_request *fr = &res.request;
	const struct edge_fn_origin *no = fr->origin_changed ? &fr->origin : &eo;
	size_t extra = no->ncustom_headers + 8 + AUTH_SIGN_MAX_ADDED;
	struct http_header *hs;
	size_t n, cap;
	/* The function's list and what it was not shown, or the edge's own
	 * list as it was; with room for what attempt() adds. */
	bool changed = fr->headers_changed;
	if (with_hidden(a, changed ? o->hs : NULL, changed ? o->n : 0,
	                changed ? fr->headers : o->hs, changed ? fr->nheaders : o->n, extra, &hs,
	                &n, &cap))
		return ERR_NOMEM;
	if (fr->origin_changed) {
		struct iov domain = no->domain_name;
		/* A Host that named the old origin names the new one. */
		for (size_t i = 0; i < n; i++)
			if (iov_eq_nocase(hs[i].name, IOV_LIT("host")) &&
			    iov_eq_nocase(hs[i].value, o->domain))
				hs[i].value = domain;
		if (changed_origin_addr(s, a, no, o))
			return ERR_NOMEM;
		/* The protocol the function chose: HTTPS verifies the
		 * certificate for the domain name it gave. */
		o->https = no->https;
		o->tls_name = NULL;
		if (no->https) {
			struct iov name = arena_printf(a, IOV_FMT, IOV_ARG(domain));
			if (!name.base)
				return ERR_NOMEM;
			o->tls_name = name.base;
		}
		o->domain = domain;
		o->opath = no->path;
		o->custom = no->custom_headers;
		o->ncustom = no->ncustom_headers;
		if (no->kind == EDGE_FN_ORIGIN_CUSTOM) {
			o->read_timeout_ms = no->read_timeout * 1000u;
			o->keepalive_timeout_ms = no->keepalive_timeout * 1000u;
		}
	}
	o->path = fr->uri;
	o->query = fr->query;
	o->hs = hs;
	o->n = n;
	o->cap = cap;
	q->ev_origin = *no;
	return 0;
}

/* ---- origin-response ---- */

int edge__fn_origin_response(struct ereq *q, int id, const struct http_head *h,
                             struct http_head *out)
{
	struct arena *a = q->arena;
	struct edge_fn_origin eo = q->ev_origin;
	struct edge_fn_input in;
	struct edge_fn_result res;
	struct edge_fn_error e;
	if (eo.kind == EDGE_FN_ORIGIN_NONE) {
		const struct edge_config_origin *o = cur_origin(q);
		struct http_header *custom = edge__origin_custom(a, o);
		if (!custom)
			return ERR_NOMEM;
		event_origin(o, q->up_https, custom, o->nheaders, &eo);
	}
	input_base(q, EDGE_FN_ORIGIN_RESPONSE, &in);
	in.request_id = iov_cstr(q->req_id);
	in.client_ip = iov_cstr(q->client_ip);
	in.method = q->method;
	in.uri = q->path;
	in.query = q->query;
	in.headers = q->sent;
	in.nheaders = q->nsent;
	in.origin = &eo;
	in.status = h->status;
	in.status_description = h->reason.len ? h->reason : iov_cstr(http_reason_phrase(h->status));
	in.resp_headers = h->headers;
	in.nresp_headers = h->nheaders;
	if (edge_fn_run(q->el->fn, id, &in, q->req_id, a, &res, &e)) {
		keep_error(q, &e);
		return ERR_EDGEFN_RUNTIME;
	}
	const struct edge_fn_response *fr = &res.response;
	if (fr->has_body) {
		q->gen = *fr;
		q->fn_gen = true;
		return 1;
	}
	*out = *h;
	out->status = fr->status;
	out->reason = fr->status_description;
	if (fr->headers_changed) {
		struct http_header *hs;
		size_t n, cap;
		if (with_hidden(a, h->headers, h->nheaders, fr->headers, fr->nheaders, 0, &hs, &n,
		                &cap))
			return ERR_NOMEM;
		out->headers = hs;
		out->nheaders = n;
	}
	return 0;
}

/* ---- responses made at the origin side ---- */

void edge__fn_origin_generated(struct ereq *q, const struct edge_fn_response *g)
{
	struct edge_fresh_policy p;
	struct edge_fresh_decision d;
	struct edge_cache_meta m;
	struct edge_cache_entry *e = NULL;
	struct buf packed;
	int64_t now = clock_now();
	buf_init(&packed, EDGE_FETCH_HEADERS_MAX);
	edge__policy(q, &p);
	int rc = edge_fetch_headers_pack(g->headers, g->nheaders, &packed);
	if (rc == 0)
		rc =
		    edge_fresh_decide(&p, g->status, g->headers, g->nheaders, q->req_time, now, &d);
	if (rc == 0) {
		edge__meta_for(&d, g->status, buf_iov(&packed), now, &m);
		bool keep = q->cached && q->is_get && d.store && d.ttl > 0;
		if (!keep)
			m.ttl = 0;
		rc = edge_cache_entry_new(&m, buf_iov(&packed), g->body, &e);
		if (rc == 0 && keep)
			edge__cache_put(q, e);
	}
	buf_free(&packed);
	if (rc) {
		edge__fetch_failed(q, rc);
		return;
	}
	edge__flight_complete(q, e);
	if (edge__viewer(q))
		edge__serve_entry(q, e, NULL, RES_MISS, "LambdaGeneratedResponse");
	edge_cache_entry_release(e);
}
