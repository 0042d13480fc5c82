/*
 * meridian-clientd: drives http/client.h from the command line for the
 * scenario tests (tests/integration/test_http_client.py). Not a user command.
 *
 *   meridian-clientd [options] get|put ORIGIN HOST TARGET
 *
 *   --count N              exchanges in all (1)
 *   --concurrency C        exchanges in flight at once (1)
 *   --delay-ms MS          wait this long before starting the next exchange (0)
 *   --method M             (GET for get, PUT for put)
 *   --retryable, --no-retryable   (default: retryable for GET and HEAD only)
 *   --bytes N              request body bytes (put; a repeating pattern)
 *   --chunked              send the body chunked instead of with Content-Length
 *   --piece BYTES          bytes per http_exchange_write (65536)
 *   --window N             writes in flight at once (8)
 *   --header "Name: value" an extra request header (repeatable)
 *   --pause-every N, --pause-ms MS   pause the response after every Nth body
 *                          piece for MS milliseconds (exercises resume)
 *   --cancel-after BYTES   cancel once this many response body bytes arrived
 *   --print-body           print the response body (first 256 bytes, escaped)
 *   --connect-timeout MS, --first-byte-timeout MS, --read-timeout MS,
 *   --idle-timeout MS, --max-per-origin N   client configuration
 *   --deadline-ms MS       cancel everything and exit 3 after this long (60000)
 *   --free-after-ms MS     call http_client_free after this long, exchanges in
 *                          flight or queued (each must still end exactly once)
 *
 * One line per exchange, in completion order:
 *   "<i> status=<code> bytes=<n> sha256=<hex> [sent=<n> sent_sha256=<hex>] [body=<text>]"
 *   "<i> error=<ERR name> status=<code or 0> bytes=<n>"
 * then "done ok=<n> failed=<n> vmhwm_kib=<n> elapsed_ms=<n>". Exit 0 when every
 * exchange succeeded, 1 when some failed, 2 on usage errors, 3 at the deadline,
 * 4 after --free-after-ms once every exchange started has ended.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "crypto/sha256.h"
#include "http/client.h"
#include "net/loop.h"
#include "net/timer.h"

#define BLOCK_BYTES (64 * 1024)
#define MAX_HEADERS 16
#define BODY_SHOW   256

struct app;

struct job {
	struct app *app;
	unsigned index;
	struct http_exchange *x;
	struct sha256_ctx *sha, *sent_sha;
	uint64_t bytes, given;
	unsigned inflight, pieces_seen;
	int status;
	bool ended, cancelled;
	struct net_timer *pause;
	char body[BODY_SHOW];
	size_t body_len;
	struct job *prev, *next;
};

struct app {
	struct net_loop *loop;
	struct http_client *client;
	struct http_client_config cfg;
	struct http_exchange_request req;
	struct http_header headers[MAX_HEADERS];
	unsigned count, concurrency, started, finished, active, ok, failed;
	unsigned delay_ms, window, pause_every, pause_ms;
	uint64_t bytes, piece, cancel_after;
	bool print_body, deadline_hit, freed;
	struct net_timer *delay, *deadline, *free_timer;
	struct job *jobs;
	uint64_t t0_ns;
};

static char block[BLOCK_BYTES];

static void start_more(struct app *a);

static void hex32(const uint8_t d[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void produce(struct job *j);

static void piece_done(void *arg, int status)
{
	struct job *j = arg;
	j->inflight--;
	if (status == 0)
		produce(j);
}

/* Write pieces of the pattern while fewer than `window` are in flight. */
static void produce(struct job *j)
{
	struct app *a = j->app;
	while (!j->ended && j->inflight < a->window && j->given < a->bytes) {
		uint64_t off = j->given % BLOCK_BYTES;
		uint64_t n = a->piece;
		if (n > BLOCK_BYTES - off)
			n = BLOCK_BYTES - off;
		if (n > a->bytes - j->given)
			n = a->bytes - j->given;
		if (http_exchange_write(j->x, block + off, (size_t)n, piece_done, j))
			return;
		sha256_update(j->sent_sha, block + off, (size_t)n);
		j->given += n;
		j->inflight++;
	}
	if (!j->ended && j->given == a->bytes) {
		j->ended = true;
		http_exchange_end(j->x);
	}
}

static void on_drain(void *arg)
{
	produce(arg);
}

static int on_head(void *arg, const struct http_head *h)
{
	struct job *j = arg;
	j->status = h->status;
	return 0;
}

static void on_pause_timer(void *arg)
{
	struct job *j = arg;
	http_exchange_resume(j->x);
}

static int on_body(void *arg, const char *p, size_t n)
{
	struct job *j = arg;
	struct app *a = j->app;
	sha256_update(j->sha, p, n);
	j->bytes += n;
	size_t room = sizeof(j->body) - j->body_len;
	size_t k = n < room ? n : room;
	memcpy(j->body + j->body_len, p, k);
	j->body_len += k;
	if (a->cancel_after && j->bytes >= a->cancel_after && !j->cancelled) {
		j->cancelled = true;
		http_exchange_cancel(j->x);
		return 0;
	}
	if (a->pause_every && ++j->pieces_seen % a->pause_every == 0) {
		if (!j->pause && net_timer_new(a->loop, on_pause_timer, j, &j->pause))
			return 0;
		net_timer_start(j->pause, a->pause_ms, 0);
		return ERR_AGAIN;
	}
	return 0;
}

static void print_body(const struct job *j)
{
	fputs(" body=", stdout);
	for (size_t i = 0; i < j->body_len; i++) {
		unsigned char ch = (unsigned char)j->body[i];
		if (ch >= 0x21 && ch < 0x7f && ch != '\\')
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
}

static void on_done(void *arg, int error)
{
	struct job *j = arg;
	struct app *a = j->app;
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256_final(j->sha, d);
	hex32(d, hex);
	if (error) {
		printf("%u error=%s status=%d bytes=%llu\n", j->index, err_name(error), j->status,
		       (unsigned long long)j->bytes);
		a->failed++;
	} else {
		printf("%u status=%d bytes=%llu sha256=%s", j->index, j->status,
		       (unsigned long long)j->bytes, hex);
		if (a->bytes) {
			sha256_final(j->sent_sha, d);
			hex32(d, hex);
			printf(" sent=%llu sent_sha256=%s", (unsigned long long)j->given, hex);
		}
		if (a->print_body)
			print_body(j);
		putchar('\n');
		a->ok++;
	}
	fflush(stdout);
	if (j->prev)
		j->prev->next = j->next;
	else
		a->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	sha256_free(j->sha);
	sha256_free(j->sent_sha);
	net_timer_free(j->pause);
	free(j);
	a->active--;
	a->finished++;
	if (a->finished == a->count || a->deadline_hit || a->freed) {
		if (a->active == 0)
			net_loop_stop(a->loop);
		return;
	}
	if (a->delay_ms)
		net_timer_start(a->delay, a->delay_ms, 0);
	else
		start_more(a);
}

static const struct http_exchange_ops ops = {
	.on_head = on_head,
	.on_body = on_body,
	.on_done = on_done,
	.on_drain = on_drain,
};

static void start_one(struct app *a)
{
	struct job *j = calloc(1, sizeof(*j));
	unsigned index = a->started++;
	if (!j) {
		printf("%u error=NOMEM status=0 bytes=0\n", index);
		a->failed++;
		a->finished++;
		return;
	}
	j->app = a;
	j->index = index;
	j->sha = sha256_new();
	j->sent_sha = sha256_new();
	int rc = http_client_send(a->client, &a->req, &ops, j, &j->x);
	if (rc) {
		printf("%u error=%s status=0 bytes=0\n", index, err_name(rc));
		sha256_free(j->sha);
		sha256_free(j->sent_sha);
		free(j);
		a->failed++;
		a->finished++;
		return;
	}
	j->next = a->jobs;
	if (a->jobs)
		a->jobs->prev = j;
	a->jobs = j;
	a->active++;
	produce(j);
}

static void start_more(struct app *a)
{
	while (!a->deadline_hit && !a->freed && a->active < a->concurrency && a->started < a->count)
		start_one(a);
	if (a->finished == a->count && a->active == 0)
		net_loop_stop(a->loop);
}

static void on_delay(void *arg)
{
	start_more(arg);
}

static void on_deadline(void *arg)
{
	struct app *a = arg;
	a->deadline_hit = true;
	fprintf(stderr, "clientd: deadline; cancelling %u exchanges\n", a->active);
	for (struct job *j = a->jobs; j; j = j->next)
		http_exchange_cancel(j->x);
	if (a->active == 0)
		net_loop_stop(a->loop);
}

static void on_free_timer(void *arg)
{
	struct app *a = arg;
	fprintf(stderr, "clientd: freeing the client with %u exchanges\n", a->active);
	a->freed = true;
	http_client_free(a->client);
	a->client = NULL;
	if (a->active == 0)
		net_loop_stop(a->loop);
}

static unsigned long vmhwm_kib(void)
{
	char line[256];
	unsigned long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtoul(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static int usage(void)
{
	fprintf(stderr, "usage: meridian-clientd [options] get|put ORIGIN HOST TARGET\n");
	return 2;
}

static int add_header(struct app *a, const char *text)
{
	const char *colon = strchr(text, ':');
	if (!colon || a->req.nheaders == MAX_HEADERS)
		return -1;
	struct iov value = iov_trim(iov_cstr(colon + 1));
	a->headers[a->req.nheaders++] =
	    (struct http_header){ iov_make(text, (size_t)(colon - text)), value };
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_COUNT = 1,
		O_CONC,
		O_DELAY,
		O_METHOD,
		O_RETRY,
		O_NORETRY,
		O_BYTES,
		O_CHUNKED,
		O_PIECE,
		O_WINDOW,
		O_HEADER,
		O_PAUSE_EVERY,
		O_PAUSE_MS,
		O_CANCEL,
		O_PRINT,
		O_CONNECT,
		O_FIRST,
		O_READ,
		O_IDLE,
		O_MAXCONN,
		O_DEADLINE,
		O_FREE,
	};
	static const struct option opts[] = {
		{ "count", required_argument, NULL, O_COUNT },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "delay-ms", required_argument, NULL, O_DELAY },
		{ "method", required_argument, NULL, O_METHOD },
		{ "retryable", no_argument, NULL, O_RETRY },
		{ "no-retryable", no_argument, NULL, O_NORETRY },
		{ "bytes", required_argument, NULL, O_BYTES },
		{ "chunked", no_argument, NULL, O_CHUNKED },
		{ "piece", required_argument, NULL, O_PIECE },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "header", required_argument, NULL, O_HEADER },
		{ "pause-every", required_argument, NULL, O_PAUSE_EVERY },
		{ "pause-ms", required_argument, NULL, O_PAUSE_MS },
		{ "cancel-after", required_argument, NULL, O_CANCEL },
		{ "print-body", no_argument, NULL, O_PRINT },
		{ "connect-timeout", required_argument, NULL, O_CONNECT },
		{ "first-byte-timeout", required_argument, NULL, O_FIRST },
		{ "read-timeout", required_argument, NULL, O_READ },
		{ "idle-timeout", required_argument, NULL, O_IDLE },
		{ "max-per-origin", required_argument, NULL, O_MAXCONN },
		{ "deadline-ms", required_argument, NULL, O_DEADLINE },
		{ "free-after-ms", required_argument, NULL, O_FREE },
		{ NULL, 0, NULL, 0 },
	};
	static struct app a;
	const char *method = NULL;
	int retry = -1;
	bool chunked = false;
	unsigned long deadline_ms = 60000, free_ms = 0;
	a.count = a.concurrency = 1;
	a.window = 8;
	a.piece = BLOCK_BYTES;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 10) : 0;
		switch (c) {
		case O_COUNT:
			a.count = (unsigned)v;
			break;
		case O_CONC:
			a.concurrency = v ? (unsigned)v : 1;
			break;
		case O_DELAY:
			a.delay_ms = (unsigned)v;
			break;
		case O_METHOD:
			method = optarg;
			break;
		case O_RETRY:
		case O_NORETRY:
			retry = c == O_RETRY;
			break;
		case O_BYTES:
			a.bytes = v;
			break;
		case O_CHUNKED:
			chunked = true;
			break;
		case O_PIECE:
			a.piece = v ? v : 1;
			break;
		case O_WINDOW:
			a.window = v ? (unsigned)v : 1;
			break;
		case O_HEADER:
			if (add_header(&a, optarg))
				return usage();
			break;
		case O_PAUSE_EVERY:
			a.pause_every = (unsigned)v;
			break;
		case O_PAUSE_MS:
			a.pause_ms = (unsigned)v;
			break;
		case O_CANCEL:
			a.cancel_after = v;
			break;
		case O_PRINT:
			a.print_body = true;
			break;
		case O_CONNECT:
			a.cfg.connect_timeout_ms = (uint32_t)v;
			break;
		case O_FIRST:
			a.cfg.first_byte_timeout_ms = (uint32_t)v;
			break;
		case O_READ:
			a.cfg.read_timeout_ms = (uint32_t)v;
			break;
		case O_IDLE:
			a.cfg.idle_timeout_ms = (uint32_t)v;
			break;
		case O_MAXCONN:
			a.cfg.max_per_origin = (unsigned)v;
			break;
		case O_DEADLINE:
			deadline_ms = (unsigned long)v;
			break;
		case O_FREE:
			free_ms = (unsigned long)v;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 4)
		return usage();
	const char *mode = argv[optind];
	if (strcmp(mode, "get") != 0 && strcmp(mode, "put") != 0)
		return usage();
	if (!method)
		method = strcmp(mode, "get") == 0 ? "GET" : "PUT";
	if (retry < 0)
		retry = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (a.count == 0)
		return usage();

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 131 + (i >> 8) + 7);
	a.req = (struct http_exchange_request){
		.origin = argv[optind + 1],
		.method = iov_cstr(method),
		.host = iov_cstr(argv[optind + 2]),
		.target = iov_cstr(argv[optind + 3]),
		.headers = a.headers,
		.nheaders = a.req.nheaders,
		.body_length = chunked ? -1 : (int64_t)a.bytes,
		.retryable = retry != 0,
	};
	signal(SIGPIPE, SIG_IGN);
	a.t0_ns = clock_mono_ns();
	if (net_loop_new(&a.loop) || http_client_new(a.loop, &a.cfg, &a.client) ||
	    net_timer_new(a.loop, on_delay, &a, &a.delay) ||
	    net_timer_new(a.loop, on_deadline, &a, &a.deadline) ||
	    net_timer_new(a.loop, on_free_timer, &a, &a.free_timer)) {
		fprintf(stderr, "clientd: setup failed\n");
		return 1;
	}
	net_timer_start(a.deadline, deadline_ms, 0);
	if (free_ms)
		net_timer_start(a.free_timer, free_ms, 0);
	start_more(&a);
	if (a.finished < a.count || a.active)
		net_loop_run(a.loop);
	http_client_free(a.client);
	net_timer_free(a.delay);
	net_timer_free(a.deadline);
	net_timer_free(a.free_timer);
	net_loop_free(a.loop);
	printf("done ok=%u failed=%u vmhwm_kib=%lu elapsed_ms=%llu\n", a.ok, a.failed, vmhwm_kib(),
	       (unsigned long long)((clock_mono_ns() - a.t0_ns) / 1000000));
	if (a.deadline_hit)
		return 3;
	if (a.freed)
		return a.finished == a.started ? 4 : 1;
	return a.failed ? 1 : 0;
}
