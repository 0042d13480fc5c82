/*
 * libFuzzer: arbitrary bytes into a server connection (the real server code
 * over the in-memory transport), split at points the first bytes choose,
 * with a handler that streams, pauses and resumes, answers early, and
 * echoes; then EOF. Invariants: no crash, no leak, every request the handler
 * saw is finished exactly once, and the connection always ends.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/server.h"
#include "net/mem.h"
#include "net/timer.h"

static struct net_loop *loop;
static unsigned started, finished;

struct st {
	struct http_request *r;
	struct net_timer *t;
	unsigned pieces;
};

static void resume(void *arg)
{
	struct st *s = arg;
	http_request_resume(s->r);
}

static void on_request(void *ctx, struct http_request *r)
{
	(void)ctx;
	struct st *s = calloc(1, sizeof(*s));
	CHECK(s != NULL);
	s->r = r;
	started++;
	http_request_set_user(r, s);
	const struct http_head *h = http_request_head(r);
	http_request_limit_body(r, 1 << 16);
	if (h->target.len > 1 && h->target.base[1] == 'e') {
		struct http_header ct = { IOV_LIT("Content-Type"), IOV_LIT("text/plain") };
		http_response_start(r, 200, &ct, 1, -1);
	} else if (h->target.len > 1 && h->target.base[1] == 'q') {
		http_respond(r, 404, "text/plain", IOV_LIT("quick\n"));
	}
	net_timer_new(loop, resume, s, &s->t);
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct st *s = http_request_user(r);
	const struct http_head *h = http_request_head(r);
	if (h->target.len > 1 && h->target.base[1] == 'e')
		http_response_write(r, p, n, NULL,
		                    NULL); /* p is borrowed: only for the fuzzer's
		                              loop, which settles before feeding more */
	if (++s->pieces % 2 == 0) {
		net_timer_start(s->t, 0, 0);
		return ERR_AGAIN;
	}
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	(void)ctx;
	const struct http_head *h = http_request_head(r);
	if (h->target.len > 1 && h->target.base[1] == 'e')
		http_response_end(r);
	else
		http_respond(r, 200, "text/plain", IOV_LIT("ok\n"));
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct st *s = http_request_user(r);
	finished++;
	net_timer_free(s->t);
	free(s);
}

static const struct http_handler handler = {
	.name = "fuzz",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!loop)
		CHECK(net_loop_new(&loop) == 0);
	if (size < 2)
		return 0;
	struct http_server_config cfg = {
		.listen = "mem",
		.handler = &handler,
		.limits = { .request_line = 256, .header_bytes = 1024, .header_count = 16 },
	};
	struct http_server *srv;
	CHECK(http__server_embed(&cfg, loop, &srv) == 0);
	struct net_conn *c = net_mem_new(loop);
	CHECK(c != NULL);
	http__server_adopt(srv, c);
	started = finished = 0;

	size_t split = (size_t)data[0] % 64 + 1, off = 2;
	bool eof = data[1] & 1;
	net_mem_settle(loop);
	while (off < size) {
		size_t n = size - off < split ? size - off : split;
		net_mem_feed(c, (const char *)data + off, n);
		net_mem_settle(loop);
		off += n;
	}
	if (eof)
		net_mem_eof(c);
	net_mem_settle(loop);
	http__server_close_all(srv);
	net_mem_settle(loop);
	CHECK(net_mem_closed(c));
	net_mem_release(c);
	net_mem_settle(loop);
	CHECK(started == finished);
	http__server_embed_free(srv);
	return 0;
}
