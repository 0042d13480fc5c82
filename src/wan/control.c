/*
 * The relay's control endpoint (wan/control.h). Handlers run on the HTTP
 * server's worker thread and touch the relay only through its thread-safe
 * delay functions.
 */
#include "wan/control.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/iov.h"
#include "http/server.h"
#include "wan/relay.h"

#define CONTROL_BODY_MAX 4096 /* requests carry no body; a small one is ignored */
#define JSON_MAX         160

struct wan_control {
	struct http_server *srv;
	struct wan_relay *relay;
};

static void respond_json(struct http_request *r, int status, const char *json, int len)
{
	if (len < 0 || len >= JSON_MAX)
		len = 0;
	http_respond(r, status, "application/json", iov_make(json, (size_t)len));
}

static void respond_settings(struct wan_control *c, struct http_request *r)
{
	char json[JSON_MAX];
	uint32_t ms, jitter;
	wan_relay_get_delay(c->relay, &ms, &jitter);
	int len =
	    snprintf(json, sizeof(json), "{\"delay_ms\":%u,\"jitter_ms\":%u,\"connections\":%u}\n",
	             ms, jitter, wan_relay_connections(c->relay));
	respond_json(r, 200, json, len);
}

static void respond_error(struct http_request *r, int status, const char *msg)
{
	char json[JSON_MAX];
	int len = snprintf(json, sizeof(json), "{\"error\":\"%s\"}\n", msg);
	respond_json(r, status, json, len);
}

/* PUT /delay?ms=N&jitter=J: either or both; anything else in the query is
 * an error, so a typo never reads as "unchanged". */
static void put_delay(struct wan_control *c, struct http_request *r, struct iov query)
{
	uint32_t ms, jitter;
	bool any = false;
	wan_relay_get_delay(c->relay, &ms, &jitter);
	while (query.base && query.len) {
		struct iov param, name;
		query = iov_split(query, '&', &param);
		struct iov value = iov_split(param, '=', &name);
		unsigned long long v;
		if (!value.base || iov_to_u64(value, WAN_DELAY_MAX_MS, &v)) {
			respond_error(r, 400, "ms and jitter want 0 to 600000");
			return;
		}
		if (iov_eq(name, IOV_LIT("ms")))
			ms = (uint32_t)v;
		else if (iov_eq(name, IOV_LIT("jitter")))
			jitter = (uint32_t)v;
		else {
			respond_error(r, 400, "unknown parameter: use ms and jitter");
			return;
		}
		any = true;
	}
	if (!any) {
		respond_error(r, 400, "give ms=N and/or jitter=J");
		return;
	}
	if (wan_relay_set_delay(c->relay, ms, jitter)) {
		respond_error(r, 400, "ms and jitter want 0 to 600000");
		return;
	}
	respond_settings(c, r);
}

static void on_request(void *ctx, struct http_request *r)
{
	(void)ctx;
	http_request_limit_body(r, CONTROL_BODY_MAX);
}

/* Answer once the (ignored) body is in, so the connection stays usable. */
static void on_body_end(void *ctx, struct http_request *r)
{
	struct wan_control *c = ctx;
	const struct http_head *h = http_request_head(r);
	struct iov path;
	struct iov query = iov_split(h->target, '?', &path);
	if (!iov_eq(path, IOV_LIT("/delay"))) {
		respond_error(r, 404, "not found: the endpoint is /delay");
		return;
	}
	if (iov_eq(h->method, IOV_LIT("GET")) || iov_eq(h->method, IOV_LIT("HEAD")))
		respond_settings(c, r);
	else if (iov_eq(h->method, IOV_LIT("PUT")))
		put_delay(c, r, query);
	else
		respond_error(r, 405, "use GET or PUT");
}

static const struct http_handler control_handler = {
	.name = "wan-control",
	.on_request = on_request,
	.on_body_end = on_body_end,
};

int wan_control_start(struct wan_relay *relay, const char *listen, struct wan_control **out)
{
	struct wan_control *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->relay = relay;
	struct http_server_config cfg = {
		.listen = listen,
		.workers = 1,
		.handler = &control_handler,
		.handler_ctx = c,
	};
	int rc = http_server_start(&cfg, &c->srv);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int wan_control_port(const struct wan_control *c)
{
	return http_server_port(c->srv);
}

void wan_control_stop(struct wan_control *c)
{
	if (!c)
		return;
	http_server_stop(c->srv);
	free(c);
}
