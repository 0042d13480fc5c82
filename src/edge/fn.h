/*
 * The edge's edge functions at run time (issue 9, docs/internals/edge-fn.md):
 * the files the configuration names, loaded into one edgefn program and
 * reloaded on SIGHUP; one Lua state per worker; and one call at a trigger
 * point, from the edge's view of the request to what the edge applies,
 * with every failure classified the way CloudFront answers it.
 *
 * server.c builds a struct edge_fn_input at each trigger point of a
 * behavior that has a function there and calls edge_fn_run; everything
 * about Lua stays in edgefn/, and the event shape and CloudFront's rules in
 * edge/fn_event.c.
 *
 * Threads: a set is built and reloaded on the startup / signal thread and
 * read by every worker (its program is published atomically); a worker
 * (its state) belongs to one loop thread.
 */
#ifndef MERIDIAN_EDGE_FN_H
#define MERIDIAN_EDGE_FN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "edge/config.h"
#include "edge/fn_event.h"
#include "edge/fn_sign.h"

#define EDGE_FN_SOURCE_MAX (1u << 20) /* bytes of one function file (CloudFront: 1 MB viewer) */
#define EDGE_FN_MSG_MAX    512

/* How a call failed, as CloudFront classifies it. */
enum edge_fn_failure {
	EDGE_FN_OK = 0,
	EDGE_FN_VALIDATION, /* the result broke a rule: 502 LambdaValidationError */
	EDGE_FN_EXECUTION,  /* the function raised: 502 LambdaExecutionError */
	EDGE_FN_LIMIT,      /* budget, deadline or memory: 503 LambdaLimitExceeded */
};

struct edge_fn_set;

/* What a failed call reports: the answer's status and X-Cache /
 * x-edge-detailed-result-type name, and the message for the log. */
struct edge_fn_error {
	enum edge_fn_failure kind;
	int status;
	const char *name; /* "LambdaValidationError" ... */
	char msg[EDGE_FN_MSG_MAX];
};

/*
 * Load every function file cfg names (each distinct path once, named in
 * messages as written), bind the signers to `creds` (borrowed: it must
 * outlive the set), compile and run each file's top level once. A set with
 * no function is valid (edge_fn_set_any says false). 0, or an error with
 * "file:line:col: functions: <event>: why" in err[errlen]. cfg is borrowed
 * for the set's life.
 */
int edge_fn_set_new(const struct edge_config *cfg, const struct edge_fn_sign_creds *creds,
                    struct edge_fn_set **out, char *err, size_t errlen);
void edge_fn_set_free(struct edge_fn_set *set);
/* Whether any behavior has a function (none: the edge skips all of this). */
bool edge_fn_set_any(const struct edge_fn_set *set);
/* The function of behavior bi at trigger t, or -1. */
int edge_fn_set_id(const struct edge_fn_set *set, size_t bi, enum edge_fn_trigger t);
/* Read every file again, check, publish: workers switch at their next call.
 * On any error nothing changes and err says why. Startup / signal thread. */
int edge_fn_set_reload(struct edge_fn_set *set, char *err, size_t errlen);

/* Upper bounds of the function duration histogram, seconds. */
#define EDGE_FN_DURATION_LE \
	0.000001, 0.000002, 0.000005, 0.00001, 0.00005, 0.0001, 0.001, 0.01, 0.1, 1, 10
#define EDGE_FN_DURATION_BUCKETS 11
extern const double edge_fn_duration_le[EDGE_FN_DURATION_BUCKETS];

/* Calls, failures and durations by event type (for /metrics), summed over
 * the workers (each counts its own, so calls share no cache line). A call's
 * duration is edge_fn_run's wall time: the event built, the function run,
 * its result checked. Any thread. */
struct edge_fn_counts {
	uint64_t calls[EDGE_CONFIG_FN_EVENTS];
	uint64_t failed[EDGE_CONFIG_FN_EVENTS][4]; /* by enum edge_fn_failure */
	uint64_t duration[EDGE_CONFIG_FN_EVENTS][EDGE_FN_DURATION_BUCKETS + 1]; /* last: +Inf */
	uint64_t duration_ns[EDGE_CONFIG_FN_EVENTS];                            /* their sum */
};
void edge_fn_set_counts(struct edge_fn_set *set, struct edge_fn_counts *out);

/* ---- one worker ---- */

struct edge_fn_worker;
/* A worker's state holder (the Lua state is built at its first call). */
int edge_fn_worker_new(struct edge_fn_set *set, struct edge_fn_worker **out);
void edge_fn_worker_free(struct edge_fn_worker *w);

/*
 * Run function `id` for `in` (see edge_fn_event_build), its event and
 * result in `a` (the request's arena: everything *out points at lives
 * there or in `in`). request_id names the request in log lines. 0 with
 * *out to apply, or nonzero with *e filled (and one stderr line logged).
 */
int edge_fn_run(struct edge_fn_worker *w, int id, const struct edge_fn_input *in,
                const char *request_id, struct arena *a, struct edge_fn_result *out,
                struct edge_fn_error *e);

#endif
