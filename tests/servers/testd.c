/*
 * meridian-testd: the HTTP engine with test handlers, for the scenario tests
 * and bench/http. Not a user command.
 *
 *   meridian-testd [--listen ADDR] [--workers N] [--head-timeout MS]
 *                  [--idle-timeout MS] [--body-timeout MS] [--drain-timeout MS]
 *                  [--body-limit BYTES] [--proxy ORIGIN]
 *
 * Routes (by path):
 *   /hello          200 "ok"
 *   /echo           streams the request body back, chunked
 *   /sink           reads the body, answers "<bytes> <sha256>"
 *   /slow?ms=N      answers "slow" after N ms
 *   /pause?ms=N     reads the body pausing N ms after each piece, answers the byte count
 *   /status?code=N  answers status N
 *   /gen?mb=N       streams N MiB of a fixed pattern, paced by the client
 *   /proxy/PATH     with --proxy ORIGIN: a pass-through proxy of PATH to the
 *                   origin (method, headers, streamed bodies both ways)
 *   anything else   404
 * Prints "listening on PORT" once ready; SIGTERM/SIGINT drain, a second
 * signal exits at once.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "crypto/sha256.h"
#include "http/client.h"
#include "http/server.h"
#include "net/loop.h"
#include "net/signal.h"
#include "net/timer.h"

struct req_state {
	int route;
	uint64_t bytes;
	struct sha256_ctx *sha;
	unsigned pause_ms;
	struct net_timer *timer;
	struct http_request *r;
	bool ended, waiting;
	unsigned inflight;
	uint64_t gen_left;       /* R_GEN: bytes still to send */
	struct http_exchange *x; /* R_PROXY: the upstream exchange */
	struct proxy_link *link; /* R_PROXY: what upstream callbacks hold */
	bool upstream_paused;    /* R_PROXY: upstream reading paused for the viewer */
	bool viewer_paused;      /* R_PROXY: viewer body reading paused for upstream */
};

enum { R_HELLO, R_ECHO, R_SINK, R_SLOW, R_PAUSE, R_STATUS, R_PROXY, R_GEN, R_FILE, R_NOTFOUND };

#define GEN_PIECE (256 * 1024)
static char gen_block[GEN_PIECE]; /* the pattern, filled once */

static const char *proxy_origin;
static int files_dir = -1; /* --files: served by /file/NAME with sendfile */
static _Thread_local struct http_client *tl_client; /* one per worker loop */

static uint64_t body_limit = UINT64_MAX;

/* The value of `key` in the query string; false when absent or not a number. */
static bool query_u64(struct iov target, const char *key, uint64_t *out)
{
	const char *q = memchr(target.base, '?', target.len);
	size_t klen = strlen(key);
	if (!q)
		return false;
	struct iov rest = iov_make(q + 1, target.len - (size_t)(q + 1 - target.base)), kv;
	while (rest.base) {
		rest = iov_split(rest, '&', &kv);
		if (kv.len > klen && memcmp(kv.base, key, klen) == 0 && kv.base[klen] == '=') {
			unsigned long long v = 0;
			if (iov_to_u64(iov_sub(kv, klen + 1, kv.len - klen - 1), UINT64_MAX, &v))
				return false;
			*out = v;
			return true;
		}
	}
	return false;
}

static unsigned query_num(struct iov target, const char *key)
{
	uint64_t v = 0;
	return query_u64(target, key, &v) && v <= 1000000000 ? (unsigned)v : 0;
}

static void state_free(struct req_state *st)
{
	if (!st)
		return;
	sha256_free(st->sha);
	net_timer_free(st->timer);
	free(st);
}

static void finish_sink(struct req_state *st)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256_final(st->sha, d);
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	struct iov body = arena_printf(http_request_arena(st->r), "%llu %s\n",
	                               (unsigned long long)st->bytes, hex);
	http_respond(st->r, 200, "text/plain", body);
}

static void on_timer(void *arg)
{
	struct req_state *st = arg;
	if (st->route == R_SLOW) {
		http_respond(st->r, 200, "text/plain", IOV_LIT("slow\n"));
		return;
	}
	/* R_PAUSE: resume reading */
	st->waiting = false;
	http_request_resume(st->r);
}

/* ---- R_GEN: a large response produced as fast as the client takes it ---- */

static void gen_next(void *arg, int status)
{
	struct req_state *st = arg;
	if (status)
		return;
	if (st->gen_left == 0) {
		http_response_end(st->r);
		return;
	}
	size_t n = st->gen_left < GEN_PIECE ? (size_t)st->gen_left : GEN_PIECE;
	st->gen_left -= n;
	/* One piece in flight at a time: the next goes when this one is sent. */
	if (http_response_write(st->r, gen_block, n, gen_next, st))
		http_response_end(st->r);
}

/* ---- R_PROXY: a pass-through proxy on the HTTP client ---- */

#define PROXY_HIGH_WATER (256 * 1024)

struct piece {
	struct req_state *st;
	char data[];
};

/*
 * Upstream callbacks may outlive the viewer's request (a cancelled exchange
 * finishes later), so they hold this link, not the request state: st goes
 * NULL when the request ends, and the last holder frees the link.
 */
struct proxy_link {
	struct req_state *st;
	unsigned refs;
};

static void link_drop(struct proxy_link *l)
{
	if (--l->refs == 0)
		free(l);
}

struct up_piece {
	struct proxy_link *link;
	char data[];
};

/* A response piece reached the viewer's kernel: maybe resume the upstream. */
static void proxy_down_written(void *arg, int status)
{
	struct piece *pc = arg;
	struct req_state *st = pc->st;
	free(pc);
	if (status || !st || !st->x)
		return;
	if (st->upstream_paused && http_response_queued(st->r) < PROXY_HIGH_WATER / 2) {
		st->upstream_paused = false;
		http_exchange_resume(st->x);
	}
}

static int proxy_on_head(void *arg, const struct http_head *h)
{
	struct req_state *st = ((struct proxy_link *)arg)->st;
	if (!st)
		return ERR_NET_CLOSED;
	struct http_header out[HTTP_DEFAULT_HEADER_COUNT];
	size_t n = 0;
	for (size_t i = 0; i < h->nheaders && n < HTTP_DEFAULT_HEADER_COUNT; i++)
		if (!http_header_hop_by_hop(h->headers[i].name) &&
		    !iov_eq_nocase(h->headers[i].name, IOV_LIT("date")) &&
		    !iov_eq_nocase(h->headers[i].name, IOV_LIT("server")) &&
		    !iov_eq_nocase(h->headers[i].name, IOV_LIT("x-request-id")))
			out[n++] = h->headers[i];
	int64_t length = h->framing == HTTP_BODY_LENGTH ? (int64_t)h->content_length
	                 : h->framing == HTTP_BODY_NONE ? 0
	                                                : -1;
	return http_response_start(st->r, h->status, out, n, length);
}

static int proxy_on_body(void *arg, const char *p, size_t n)
{
	struct req_state *st = ((struct proxy_link *)arg)->st;
	if (!st)
		return ERR_NET_CLOSED;
	struct piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	pc->st = st;
	memcpy(pc->data, p, n);
	int rc = http_response_write(st->r, pc->data, n, proxy_down_written, pc);
	if (rc) {
		free(pc);
		return rc;
	}
	if (http_response_queued(st->r) > PROXY_HIGH_WATER) {
		st->upstream_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static void proxy_on_done(void *arg, int error)
{
	struct proxy_link *link = arg;
	struct req_state *st = link->st;
	/* The exchange is over: nothing upstream needs the request any more. */
	link->st = NULL;
	if (st)
		st->link = NULL;
	link_drop(link);
	if (!st)
		return;
	st->x = NULL;
	if (error == 0) {
		http_response_end(st->r);
		return;
	}
	struct iov why = iov_cstr(err_name(error));
	if (http_respond(st->r, err_http_status(error), "text/plain", why))
		http_response_abort(st->r); /* already streaming: cut short */
}

/* The upstream took a request-body piece: maybe resume reading the viewer. */
static void proxy_up_written(void *arg, int status)
{
	struct up_piece *pc = arg;
	struct req_state *st = pc->link->st;
	link_drop(pc->link);
	free(pc);
	if (status || !st || !st->x)
		return;
	if (st->viewer_paused && http_exchange_queued(st->x) < PROXY_HIGH_WATER / 2) {
		st->viewer_paused = false;
		http_request_resume(st->r);
	}
}

static const struct http_exchange_ops proxy_ops = {
	.on_head = proxy_on_head,
	.on_body = proxy_on_body,
	.on_done = proxy_on_done,
};

static void proxy_start(struct req_state *st, struct http_request *r, struct iov path)
{
	const struct http_head *h = http_request_head(r);
	if (!tl_client && http_client_new(http_request_loop(r), NULL, &tl_client)) {
		http_respond(r, 500, "text/plain", IOV_LIT("no client\n"));
		return;
	}
	struct http_header hs[HTTP_DEFAULT_HEADER_COUNT];
	size_t n = 0;
	for (size_t i = 0; i < h->nheaders && n < HTTP_DEFAULT_HEADER_COUNT; i++)
		if (!http_header_hop_by_hop(h->headers[i].name) &&
		    !iov_eq_nocase(h->headers[i].name, IOV_LIT("expect")))
			hs[n++] = h->headers[i];
	struct iov target =
	    iov_make(path.base + 6, h->target.len - (size_t)(path.base + 6 - h->target.base));
	struct http_exchange_request req = {
		.origin = proxy_origin,
		.method = h->method,
		.target = target.len ? target : IOV_LIT("/"),
		.host = h->host,
		.headers = hs,
		.nheaders = n,
		.body_length = h->framing == HTTP_BODY_LENGTH    ? (int64_t)h->content_length
		               : h->framing == HTTP_BODY_CHUNKED ? -1
		                                                 : 0,
		.retryable =
		    iov_eq(h->method, IOV_LIT("GET")) || iov_eq(h->method, IOV_LIT("HEAD")),
	};
	struct proxy_link *link = malloc(sizeof(*link));
	if (!link) {
		http_respond(r, 500, "text/plain", IOV_LIT("oom\n"));
		return;
	}
	*link = (struct proxy_link){ st, 1 };
	if (http_client_send(tl_client, &req, &proxy_ops, link, &st->x)) {
		free(link);
		http_respond(r, 502, "text/plain", IOV_LIT("upstream refused the request\n"));
		return;
	}
	st->link = link;
}

static int proxy_body(struct req_state *st, const char *p, size_t n)
{
	if (!st->x)
		return 0; /* the exchange already failed; the answer is on its way */
	struct up_piece *pc = malloc(sizeof(*pc) + n);
	if (!pc)
		return ERR_NOMEM;
	pc->link = st->link;
	st->link->refs++;
	memcpy(pc->data, p, n);
	int rc = http_exchange_write(st->x, pc->data, n, proxy_up_written, pc);
	if (rc) {
		link_drop(st->link);
		free(pc);
		return rc;
	}
	if (http_exchange_queued(st->x) > PROXY_HIGH_WATER) {
		st->viewer_paused = true;
		return ERR_AGAIN;
	}
	return 0;
}

static void file_sent(void *arg, int status)
{
	(void)status;
	close((int)(intptr_t)arg);
}

/* /file/NAME[?off=N&len=M]: a file from --files, sent with sendfile. NAME is
 * letters, digits, '.', '_' and '-', not starting with '.'. */
static void file_start(struct http_request *r, struct iov name)
{
	bool ok = name.len > 0 && name.len < 256 && name.base[0] != '.';
	for (size_t i = 0; ok && i < name.len; i++) {
		char ch = name.base[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
	}
	char path[256];
	int fd = -1;
	struct stat sb;
	if (ok) {
		memcpy(path, name.base, name.len);
		path[name.len] = '\0';
		fd = openat(files_dir, path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			close(fd);
		http_respond(r, 404, "text/plain", IOV_LIT("no such file\n"));
		return;
	}
	const struct iov target = http_request_head(r)->target;
	uint64_t size = (uint64_t)sb.st_size;
	uint64_t off = 0, len;
	query_u64(target, "off", &off);
	if (!query_u64(target, "len", &len))
		len = off < size ? size - off : 0;
	struct http_header ct = { IOV_LIT("Content-Type"), IOV_LIT("application/octet-stream") };
	int rc = http_response_start(r, 200, &ct, 1, (int64_t)len);
	if (rc == 0)
		rc = http_response_sendfile(r, fd, off, len, file_sent, (void *)(intptr_t)fd);
	else
		close(fd);
	if (rc == 0)
		http_response_end(r);
}

static void on_request(void *ctx, struct http_request *r)
{
	(void)ctx;
	const struct http_head *h = http_request_head(r);
	struct iov path, q = iov_split(h->target, '?', &path);
	(void)q;
	struct req_state *st = calloc(1, sizeof(*st));
	if (!st) {
		http_respond(r, 500, "text/plain", IOV_LIT("oom\n"));
		return;
	}
	st->r = r;
	http_request_set_user(r, st);
	http_request_limit_body(r, body_limit);
	if (iov_eq(path, IOV_LIT("/hello"))) {
		st->route = R_HELLO;
		http_respond(r, 200, "text/plain", IOV_LIT("ok"));
	} else if (iov_eq(path, IOV_LIT("/echo"))) {
		st->route = R_ECHO;
		struct http_header ct = { IOV_LIT("Content-Type"),
			                  IOV_LIT("application/octet-stream") };
		http_response_start(r, 200, &ct, 1, -1);
	} else if (iov_eq(path, IOV_LIT("/sink")) || iov_eq(path, IOV_LIT("/pause"))) {
		st->route = iov_eq(path, IOV_LIT("/sink")) ? R_SINK : R_PAUSE;
		st->sha = sha256_new();
		st->pause_ms = query_num(h->target, "ms");
		if (st->route == R_PAUSE)
			net_timer_new(http_request_loop(r), on_timer, st, &st->timer);
	} else if (iov_eq(path, IOV_LIT("/slow"))) {
		st->route = R_SLOW;
		net_timer_new(http_request_loop(r), on_timer, st, &st->timer);
		net_timer_start(st->timer, query_num(h->target, "ms"), 0);
	} else if (iov_eq(path, IOV_LIT("/gen"))) {
		st->route = R_GEN;
		st->gen_left = (uint64_t)query_num(h->target, "mb") << 20;
		http_response_start(r, 200, NULL, 0, (int64_t)st->gen_left);
		gen_next(st, 0);
	} else if (proxy_origin && path.len >= 6 && memcmp(path.base, "/proxy", 6) == 0) {
		st->route = R_PROXY;
		proxy_start(st, r, path);
	} else if (files_dir >= 0 && path.len > 6 && memcmp(path.base, "/file/", 6) == 0) {
		st->route = R_FILE;
		file_start(r, iov_make(path.base + 6, path.len - 6));
	} else if (iov_eq(path, IOV_LIT("/status"))) {
		st->route = R_STATUS;
		http_respond(r, (int)query_num(h->target, "code"), "text/plain",
		             IOV_LIT("status\n"));
	} else {
		st->route = R_NOTFOUND;
		http_respond(r, 404, "text/plain", IOV_LIT("not found\n"));
	}
}

#define ECHO_HIGH_WATER (256 * 1024)

struct echo_piece {
	struct req_state *st; /* NULL once the request is gone */
	char data[];
};

/* A piece went out: resume reading when the client has caught up. */
static void echo_written(void *arg, int status)
{
	struct echo_piece *piece = arg;
	struct req_state *st = piece->st;
	free(piece);
	if (status || !st)
		return;
	st->inflight--;
	if (st->waiting && http_response_queued(st->r) < ECHO_HIGH_WATER / 2) {
		st->waiting = false;
		http_request_resume(st->r);
	}
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct req_state *st = http_request_user(r);
	st->bytes += n;
	switch (st->route) {
	case R_ECHO: {
		struct echo_piece *piece = malloc(sizeof(*piece) + n);
		if (!piece)
			return ERR_NOMEM;
		piece->st = st;
		memcpy(piece->data, p, n);
		int rc = http_response_write(r, piece->data, n, echo_written, piece);
		if (rc) {
			free(piece);
			return rc;
		}
		st->inflight++;
		/* Backpressure: stop reading while the client is not taking our output. */
		if (http_response_queued(r) > ECHO_HIGH_WATER) {
			st->waiting = true;
			return ERR_AGAIN;
		}
		return 0;
	}
	case R_SINK:
		sha256_update(st->sha, p, n);
		return 0;
	case R_PROXY:
		return proxy_body(st, p, n);
	case R_PAUSE:
		sha256_update(st->sha, p, n);
		if (st->pause_ms) {
			st->waiting = true;
			net_timer_start(st->timer, st->pause_ms, 0);
			return ERR_AGAIN;
		}
		return 0;
	default:
		return 0;
	}
}

static void on_body_end(void *ctx, struct http_request *r)
{
	(void)ctx;
	struct req_state *st = http_request_user(r);
	if (st->route == R_PROXY) {
		if (st->x)
			http_exchange_end(st->x);
	} else if (st->route == R_ECHO)
		http_response_end(r);
	else if (st->route == R_SINK || st->route == R_PAUSE)
		finish_sink(st);
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct req_state *st = http_request_user(r);
	if (st && st->link)
		st->link->st = NULL;
	if (st && st->x) {
		/* The viewer went away mid-exchange: drop the upstream too. */
		struct http_exchange *x = st->x;
		st->x = NULL;
		http_exchange_cancel(x);
	}
	state_free(st);
	http_request_set_user(r, NULL);
}

static void access_log(void *ctx, const struct http_access *a)
{
	(void)ctx;
	fprintf(stderr, "%s %s " IOV_FMT " " IOV_FMT " %d in=%llu out=%llu %lluus err=%s\n",
	        a->request_id, a->peer, IOV_ARG(a->method), IOV_ARG(a->target), a->status,
	        (unsigned long long)a->body_in, (unsigned long long)a->body_out,
	        (unsigned long long)a->duration_us, a->error ? err_name(a->error) : "-");
}

static const struct http_handler handler = {
	.name = "testd",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

struct main_state {
	struct net_loop *loop;
	struct http_server *srv;
	int signals;
	struct net_timer *poll;
};

static void poll_drained(void *arg)
{
	struct main_state *m = arg;
	if (http_server_drained(m->srv))
		net_loop_stop(m->loop);
}

static void on_signal(void *arg, int signum)
{
	struct main_state *m = arg;
	(void)signum;
	if (m->signals++) {
		fprintf(stderr, "testd: second signal, exiting now\n");
		_exit(1);
	}
	fprintf(stderr, "testd: draining\n");
	http_server_drain(m->srv);
	net_timer_start(m->poll, 20, 20);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "head-timeout", required_argument, NULL, 'H' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "body-timeout", required_argument, NULL, 'B' },
		{ "drain-timeout", required_argument, NULL, 'D' },
		{ "body-limit", required_argument, NULL, 'L' },
		{ "proxy", required_argument, NULL, 'P' },
		{ "files", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_server_config cfg = {
		.listen = "127.0.0.1:0",
		.workers = 1,
		.handler = &handler,
		/* TESTD_LOG=1: one line per request on stderr (tests read peers from it). */
		.access_log = getenv("TESTD_LOG") ? access_log : NULL
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = optarg ? strtoul(optarg, NULL, 10) : 0;
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'w':
			cfg.workers = (unsigned)v;
			break;
		case 'H':
			cfg.head_timeout_ms = (uint32_t)v;
			break;
		case 'I':
			cfg.idle_timeout_ms = (uint32_t)v;
			break;
		case 'B':
			cfg.body_timeout_ms = (uint32_t)v;
			break;
		case 'D':
			cfg.drain_timeout_ms = (uint32_t)v;
			break;
		case 'L':
			body_limit = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			proxy_origin = optarg;
			break;
		case 'F':
			files_dir = open(optarg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (files_dir < 0) {
				fprintf(stderr, "testd: cannot open %s\n", optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < GEN_PIECE; i++)
		gen_block[i] = (char)('a' + i % 26);
	struct main_state m = { 0 };
	struct net_signal *s1, *s2;
	if (net_loop_new(&m.loop) || http_server_start(&cfg, &m.srv)) {
		fprintf(stderr, "testd: cannot listen on %s\n", cfg.listen);
		return 1;
	}
	net_timer_new(m.loop, poll_drained, &m, &m.poll);
	net_signal_watch(m.loop, SIGTERM, on_signal, &m, &s1);
	net_signal_watch(m.loop, SIGINT, on_signal, &m, &s2);
	printf("listening on %d\n", http_server_port(m.srv));
	fflush(stdout);
	net_loop_run(m.loop);
	http_server_stop(m.srv);
	net_timer_free(m.poll);
	net_signal_close(s1);
	net_signal_close(s2);
	net_loop_free(m.loop);
	fprintf(stderr, "testd: stopped\n");
	return 0;
}
