/*
 * libFuzzer: edge/fn_event's result parser on arbitrary function results.
 * The input is decoded as JSON (edgefn_json_decode) into a value tree, which
 * is parsed as the result of each of the four triggers against a fixed
 * event. A parse must return 0, ERR_EDGE_FN_VIOLATION (with a message that
 * names the trigger) or ERR_NOMEM, never crash; and whatever it accepts must
 * obey the rules: uri and query bytes and length, header names and values,
 * no disallowed header, read-only headers unchanged, origin ranges, status
 * range, viewer-response status unchanged, generated response size limits,
 * no 204 with a body. Dictionary: tests/fuzz/edge_fn_event.dict.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/err.h"
#include "edge/fn_event.h"
#include "edgefn/json.h"
#include "edgefn/value.h"

static const struct http_header req_h[] = {
	{ { "Host", 4 }, { "d.example.test", 14 } },
	{ { "Via", 3 }, { "1.1 v", 5 } },
	{ { "Accept-Encoding", 15 }, { "gzip", 4 } },
	{ { "Connection", 10 }, { "close", 5 } },
	{ { "X-A", 3 }, { "1", 1 } },
};
static const struct http_header resp_h[] = {
	{ { "Via", 3 }, { "1.1 o", 5 } },
	{ { "Warning", 7 }, { "110", 3 } },
	{ { "Content-Type", 12 }, { "text/plain", 10 } },
};
static const struct edge_fn_origin origin = {
	.kind = EDGE_FN_ORIGIN_CUSTOM,
	.domain_name = { "127.0.0.1", 9 },
	.path = { "", 0 },
	.port = 9000,
	.read_timeout = 30,
	.keepalive_timeout = 5,
	.ssl_protocols = EDGE_FN_SSL_TLSV12,
};

static bool url_ok(struct iov s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return false;
	}
	return true;
}

static void check_headers(const struct edge_fn_input *in, const struct http_header *h, size_t n,
                          const struct http_header *orig, size_t norig, bool ro)
{
	CHECK(n <= EDGE_FN_HEADERS_MAX);
	for (size_t i = 0; i < n; i++) {
		CHECK(h[i].name.len > 0 && h[i].name.len <= EDGE_FN_HEADER_NAME_MAX);
		CHECK(!edge_fn_header_disallowed(h[i].name));
		CHECK(h[i].value.len <= EDGE_FN_HEADER_VALUE_MAX);
		for (size_t k = 0; k < h[i].value.len; k++) {
			unsigned char c = (unsigned char)h[i].value.base[k];
			CHECK(c >= 0x20 || c == '\t');
			CHECK(c != 0x7f);
		}
		for (size_t k = 0; k < h[i].name.len; k++)
			CHECK((unsigned char)h[i].name.base[k] > 0x20 && h[i].name.base[k] != ':');
	}
	if (!ro)
		return;
	/* every read-only header keeps its values in order */
	for (size_t i = 0; i < n + norig; i++) {
		struct iov name = i < n ? h[i].name : orig[i - n].name;
		if (!edge_fn_header_read_only(in->trigger, name))
			continue;
		size_t a = 0, b = 0;
		for (size_t k = 0; k < n; k++)
			a += iov_eq_nocase(h[k].name, name);
		for (size_t k = 0; k < norig; k++)
			b += iov_eq_nocase(orig[k].name, name);
		CHECK(a == b);
		for (size_t x = 0, y = 0; x < n; x++) {
			if (!iov_eq_nocase(h[x].name, name))
				continue;
			while (!iov_eq_nocase(orig[y].name, name))
				y++;
			CHECK(iov_eq(h[x].value, orig[y].value));
			y++;
		}
	}
}

static void check_result(const struct edge_fn_input *in, const struct edge_fn_result *r)
{
	if (r->action == EDGE_FN_CONTINUE) {
		const struct edge_fn_request *q = &r->request;
		CHECK(in->trigger == EDGE_FN_VIEWER_REQUEST ||
		      in->trigger == EDGE_FN_ORIGIN_REQUEST);
		CHECK(q->uri.len >= 1 && q->uri.base[0] == '/' && url_ok(q->uri) &&
		      url_ok(q->query));
		CHECK(q->uri.len + (q->query.len ? q->query.len + 1 : 0) < EDGE_FN_URL_MAX);
		check_headers(in, q->headers, q->nheaders, in->headers, in->nheaders, true);
		if (q->origin_changed) {
			const struct edge_fn_origin *o = &q->origin;
			CHECK(in->trigger == EDGE_FN_ORIGIN_REQUEST);
			CHECK(o->kind == EDGE_FN_ORIGIN_CUSTOM || o->kind == EDGE_FN_ORIGIN_S3);
			CHECK(o->domain_name.len > 0 && o->domain_name.len <= EDGE_FN_DOMAIN_MAX);
			CHECK(!memchr(o->domain_name.base, ':', o->domain_name.len));
			CHECK(o->path.len <= EDGE_FN_ORIGIN_PATH_MAX);
			CHECK(o->path.len == 0 ||
			      (o->path.base[0] == '/' && o->path.base[o->path.len - 1] != '/'));
			check_headers(in, o->custom_headers, o->ncustom_headers, NULL, 0, false);
			if (o->kind == EDGE_FN_ORIGIN_CUSTOM) {
				CHECK(o->port == 80 || o->port == 443 ||
				      (o->port >= 1024 && o->port <= 65535));
				CHECK(o->read_timeout >= 4 && o->read_timeout <= 60);
				CHECK(o->keepalive_timeout >= 1 && o->keepalive_timeout <= 60);
				CHECK(o->ssl_protocols != 0);
			}
		}
		return;
	}
	const struct edge_fn_response *p = &r->response;
	bool response_trigger =
	    in->trigger == EDGE_FN_ORIGIN_RESPONSE || in->trigger == EDGE_FN_VIEWER_RESPONSE;
	CHECK(p->generated == !response_trigger);
	CHECK(p->status >= 200 && p->status <= 599);
	if (in->trigger == EDGE_FN_VIEWER_RESPONSE)
		CHECK(p->status == in->status && !p->has_body);
	CHECK(!(p->status == 204 && p->body.len));
	CHECK(p->status_description.len <= EDGE_FN_STATUS_DESC_MAX);
	check_headers(in, p->headers, p->nheaders, in->resp_headers, in->nresp_headers,
	              response_trigger);
	if (p->generated || p->has_body) {
		size_t size = p->body.len + p->status_description.len;
		for (size_t i = 0; i < p->nheaders; i++)
			size += p->headers[i].name.len + p->headers[i].value.len;
		bool origin_t =
		    in->trigger == EDGE_FN_ORIGIN_REQUEST || in->trigger == EDGE_FN_ORIGIN_RESPONSE;
		CHECK(size <= (origin_t ? EDGE_FN_ORIGIN_RESP_MAX : EDGE_FN_VIEWER_RESP_MAX));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	if (!a)
		CHECK((a = arena_new(8u << 20)) != NULL);
	char *copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);

	struct edgefn_value v;
	char err[256];
	if (edgefn_json_decode(iov_make(copy, size), a, 32, &v, err, sizeof(err)) == 0) {
		for (int t = EDGE_FN_VIEWER_REQUEST; t <= EDGE_FN_VIEWER_RESPONSE; t++) {
			struct edge_fn_input in = {
				.trigger = (enum edge_fn_trigger)t,
				.client_ip = { "192.0.2.1", 9 },
				.method = { "GET", 3 },
				.uri = { "/a", 2 },
				.query = { "", 0 },
				.headers = req_h,
				.nheaders = sizeof(req_h) / sizeof(req_h[0]),
			};
			if (t == EDGE_FN_ORIGIN_REQUEST || t == EDGE_FN_ORIGIN_RESPONSE)
				in.origin = &origin;
			if (t == EDGE_FN_ORIGIN_RESPONSE || t == EDGE_FN_VIEWER_RESPONSE) {
				in.status = 200;
				in.status_description = (struct iov){ "OK", 2 };
				in.resp_headers = resp_h;
				in.nresp_headers = sizeof(resp_h) / sizeof(resp_h[0]);
			}
			struct edge_fn_result r;
			int rc = edge_fn_result_parse(&in, NULL, &v, a, &r, err, sizeof(err));
			if (rc == 0) {
				check_result(&in, &r);
			} else {
				CHECK(rc == ERR_EDGE_FN_VIOLATION || rc == ERR_NOMEM);
				const char *tn = edge_fn_trigger_name(in.trigger);
				CHECK(memchr(err, '\0', sizeof(err)) != NULL);
				CHECK(rc == ERR_NOMEM || strncmp(err, tn, strlen(tn)) == 0);
			}
		}
	}
	arena_reset(a);
	free(copy);
	return 0;
}
