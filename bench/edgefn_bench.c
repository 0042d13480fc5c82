/*
 * Cost of one edge function call as the edge will make it on a cache hit:
 * build a small viewer-request event (Lambda@Edge shape, four headers) in
 * a request arena, call the function, read the result back. Three
 * functions: one that returns nothing, the usual pass-through that returns
 * the request, and one that adds a header. Prints "name ns/call" measured
 * in this thread's CPU time (issue 9's goal: an empty function under 2 us).
 * usage: bench_edgefn_bench [seconds-per-case [only-this-case]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/check.h"
#include "edge/fn_event.h"
#include "edgefn/edgefn.h"
#include "edgefn/value.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct {
	const char *name, *src;
} cases[] = {
	{ "empty", "function handler(event, context) end\n" },
	{ "pass-through",
	  "function handler(event, context) return event.Records[1].cf.request end\n" },
	{ "add-header", "function handler(event, context)\n"
	                "  local r = event.Records[1].cf.request\n"
	                "  r.headers['x-edge'] = {{key = 'X-Edge', value = 'lua'}}\n"
	                "  return r\n"
	                "end\n" },
};

static void kv(struct arena *a, struct edgefn_value *hdrs, const char *lower, const char *key,
               const char *val)
{
	struct edgefn_value list = edgefn_table(), e = edgefn_table();
	CHECK(edgefn_table_set_str(a, &e, "key", edgefn_str(iov_cstr(key))));
	CHECK(edgefn_table_set_str(a, &e, "value", edgefn_str(iov_cstr(val))));
	CHECK(edgefn_table_push(a, &list, e));
	CHECK(edgefn_table_set_str(a, hdrs, lower, list));
}

/* The event as the edge would build it per request. */
static struct edgefn_value event(struct arena *a)
{
	struct edgefn_value ev = edgefn_table(), recs = edgefn_table(), rec = edgefn_table();
	struct edgefn_value cf = edgefn_table(), cfg = edgefn_table(), req = edgefn_table();
	struct edgefn_value hdrs = edgefn_table();
	CHECK(edgefn_table_set_str(a, &cfg, "distributionDomainName",
	                           edgefn_str(IOV_LIT("d111111abcdef8.cloudfront.net"))));
	CHECK(edgefn_table_set_str(a, &cfg, "distributionId",
	                           edgefn_str(IOV_LIT("EDFDVBD6EXAMPLE"))));
	CHECK(edgefn_table_set_str(a, &cfg, "eventType", edgefn_str(IOV_LIT("viewer-request"))));
	CHECK(edgefn_table_set_str(
	    a, &cfg, "requestId",
	    edgefn_str(IOV_LIT("4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="))));
	kv(a, &hdrs, "host", "Host", "d111111abcdef8.cloudfront.net");
	kv(a, &hdrs, "user-agent", "User-Agent", "curl/8.0.1");
	kv(a, &hdrs, "accept", "Accept", "*/*");
	kv(a, &hdrs, "accept-encoding", "Accept-Encoding", "gzip, br");
	CHECK(edgefn_table_set_str(a, &req, "clientIp", edgefn_str(IOV_LIT("203.0.113.178"))));
	CHECK(edgefn_table_set_str(a, &req, "headers", hdrs));
	CHECK(edgefn_table_set_str(a, &req, "method", edgefn_str(IOV_LIT("GET"))));
	CHECK(edgefn_table_set_str(a, &req, "querystring", edgefn_str(IOV_LIT(""))));
	CHECK(edgefn_table_set_str(a, &req, "uri", edgefn_str(IOV_LIT("/index.html"))));
	CHECK(edgefn_table_set_str(a, &cf, "config", cfg));
	CHECK(edgefn_table_set_str(a, &cf, "request", req));
	CHECK(edgefn_table_set_str(a, &rec, "cf", cf));
	CHECK(edgefn_table_push(a, &recs, rec));
	CHECK(edgefn_table_set_str(a, &ev, "Records", recs));
	return ev;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	struct edgefn_program *p = edgefn_program_new(NULL);
	int ids[3];
	for (int i = 0; i < 3; i++)
		CHECK(edgefn_program_add(p, iov_cstr(cases[i].name), iov_cstr(cases[i].src),
		                         &ids[i]) == 0);
	struct edgefn_state *st;
	char err[EDGEFN_ERR_MAX];
	CHECK(edgefn_state_new(p, &st, err, sizeof(err)) == 0);
	struct arena *a = arena_new(1 << 20);
	CHECK(a != NULL);
	const char *only = argc > 2 ? argv[2] : NULL;
	for (int i = 0; i < 3; i++) {
		if (only && strcmp(only, cases[i].name) != 0)
			continue;
		long n = 0;
		double t0 = cpu_now(), t;
		do {
			for (int k = 0; k < 1000; k++, n++) {
				struct edgefn_value ev = event(a), ctx = edgefn_table(), out;
				struct edgefn_value args[2] = { ev, ctx };
				CHECK(edgefn_call(st, ids[i], args, 2, 0, a, &out, err,
				                  sizeof(err)) == 0);
				arena_reset(a);
			}
			t = cpu_now() - t0;
		} while (t < secs);
		printf("%s %.0f ns/call\n", cases[i].name, t / (double)n * 1e9);
	}
	/* the event alone, to separate building it from calling */
	long n = 0;
	if (only)
		secs = 0;
	double t0 = cpu_now(), t;
	do {
		for (int k = 0; k < 1000; k++, n++) {
			struct edgefn_value ev = event(a);
			CHECK(ev.kind == EDGEFN_TABLE);
			arena_reset(a);
		}
		t = cpu_now() - t0;
	} while (t < secs);
	printf("build-event-only %.0f ns/call\n", t / (double)n * 1e9);
	/* What the edge does per viewer-request call on a hit: edge/fn_event's
	 * event from the request, the pass-through function, the result read
	 * back under CloudFront's rules. */
	static const struct http_header vh[] = {
		{ IOV_LIT("Host"), IOV_LIT("127.0.0.1:8080") },
		{ IOV_LIT("User-Agent"), IOV_LIT("wrk") },
		{ IOV_LIT("Accept"), IOV_LIT("*/*") },
	};
	struct edge_fn_input in = {
		.trigger = EDGE_FN_VIEWER_REQUEST,
		.distribution_domain = IOV_LIT("d111111abcdef8.cloudfront.net"),
		.distribution_id = IOV_LIT("EDFDVBD6EXAMPLE"),
		.request_id = IOV_LIT("c9e26a56020000000001"),
		.client_ip = IOV_LIT("127.0.0.1"),
		.method = IOV_LIT("GET"),
		.uri = IOV_LIT("/obj/1k"),
		.headers = vh,
		.nheaders = 3,
	};
	for (int phase = 0; phase < 3 && (!only || strcmp(only, "edge") == 0); phase++) {
		static const char *const names[] = { "edge-build", "edge-build+call",
			                             "edge-build+call+parse" };
		n = 0;
		t0 = cpu_now();
		do {
			for (int k = 0; k < 1000; k++, n++) {
				struct edgefn_value args[2] = { edgefn_table(), edgefn_table() };
				struct edgefn_value out;
				struct edge_fn_result res;
				CHECK(edge_fn_event_build(&in, a, &args[0]) == 0);
				if (phase >= 1)
					CHECK(edgefn_call(st, ids[1], args, 2, 0, a, &out, err,
					                  sizeof(err)) == 0);
				if (phase >= 2)
					CHECK(edge_fn_result_parse(&in, &args[0], &out, a, &res,
					                           err, sizeof(err)) == 0);
				arena_reset(a);
			}
			t = cpu_now() - t0;
		} while (t < (only ? 2.0 : secs));
		printf("%s %.0f ns/call\n", names[phase], t / (double)n * 1e9);
	}
	printf("state-memory %zu bytes\n", edgefn_state_mem(st));
	edgefn_state_free(st);
	edgefn_program_unref(p);
	arena_free(a);
	return 0;
}
