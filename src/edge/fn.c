/*
 * edge/fn: the edge's functions at run time. See fn.h and
 * docs/internals/edge-fn.md.
 *
 * A set holds the distinct files of the configuration (ids in first-use
 * order, so a reload, which reads the same list, keeps every id), the
 * (behavior, trigger) -> id table, and the edgefn publication point. A
 * worker holds its Lua state, refreshed before each call: a reload is
 * picked up between calls, and the state a request started with is never
 * freed under it (a call finishes before the next refresh).
 */
#include "edge/fn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/file.h"
#include "edgefn/edgefn.h"
#include "http/admin.h"

#define FN_SET_MAGIC 0x45464e53u /* "EFNS" */

struct fn_file {
	const char *path; /* resolved (config's) */
	const char *name; /* as written (config's): shown in messages */
	const char *at;   /* file:line:col of its first use */
};

struct edge_fn_set {
	unsigned magic;
	const struct edge_config *cfg;
	const struct edge_fn_sign_creds *creds;
	struct fn_file files[EDGEFN_FUNCS_MAX];
	int nfiles;
	int *ids; /* nbehaviors x EDGE_CONFIG_FN_EVENTS, -1: none */
	struct edgefn_current *cur;
	uint64_t origin_time_ns;
	pthread_mutex_t mu;             /* guards workers and retired */
	struct edge_fn_worker *workers; /* live ones, for edge_fn_set_counts */
	struct edge_fn_counts retired;  /* what freed workers counted */
};

/* One worker's counters: written by its thread only (a relaxed load and
 * store, no locked add), read by /metrics. */
struct fn_stats {
	_Atomic uint64_t calls[EDGE_CONFIG_FN_EVENTS];
	_Atomic uint64_t failed[EDGE_CONFIG_FN_EVENTS][4];
	_Atomic uint64_t duration[EDGE_CONFIG_FN_EVENTS][EDGE_FN_DURATION_BUCKETS + 1];
	_Atomic uint64_t duration_ns[EDGE_CONFIG_FN_EVENTS];
};

struct edge_fn_worker {
	struct edge_fn_set *set;
	struct edgefn_state *st;
	const char *request_id; /* of the running call */
	struct edge_fn_worker *next, *prev;
	struct fn_stats stats;
};

static void bump(_Atomic uint64_t *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
	                      memory_order_relaxed);
}

/* into += the worker's counters. Under set->mu. */
static void stats_add(struct edge_fn_counts *into, const struct fn_stats *st)
{
	for (int ev = 0; ev < EDGE_CONFIG_FN_EVENTS; ev++) {
		into->calls[ev] += atomic_load_explicit(&st->calls[ev], memory_order_relaxed);
		for (int k = 0; k < 4; k++)
			into->failed[ev][k] +=
			    atomic_load_explicit(&st->failed[ev][k], memory_order_relaxed);
		for (int b = 0; b <= EDGE_FN_DURATION_BUCKETS; b++)
			into->duration[ev][b] +=
			    atomic_load_explicit(&st->duration[ev][b], memory_order_relaxed);
		into->duration_ns[ev] +=
		    atomic_load_explicit(&st->duration_ns[ev], memory_order_relaxed);
	}
}

static const char *const failure_names[] = {
	[EDGE_FN_OK] = "-",
	[EDGE_FN_VALIDATION] = "LambdaValidationError",
	[EDGE_FN_EXECUTION] = "LambdaExecutionError",
	[EDGE_FN_LIMIT] = "LambdaLimitExceeded",
};

/* The file that an error message names first ("name:line: ..."), else
 * the set's first one. */
static const struct fn_file *file_named(const struct edge_fn_set *set, const char *msg)
{
	for (int i = 0; i < set->nfiles; i++) {
		size_t n = strlen(set->files[i].name);
		if (strncmp(msg, set->files[i].name, n) == 0 && msg[n] == ':')
			return &set->files[i];
	}
	return &set->files[0];
}

/* A new program of every file, checked. */
static int build(struct edge_fn_set *set, struct edgefn_program **out, char *err, size_t errlen)
{
	const struct edge_config_function_limits *l = &set->cfg->fn_limits;
	struct edgefn_limits lim = {
		.mem_max = (size_t)l->memory_bytes,
		.instr_max = l->instructions,
		.time_ns = (uint64_t)l->viewer_timeout_ms * 1000000u,
	};
	*out = NULL;
	struct edgefn_program *p = edgefn_program_new(&lim);
	if (!p)
		return ERR_NOMEM;
	int rc = edge_fn_sign_bind(p, set->creds);
	for (int i = 0; rc == 0 && i < set->nfiles; i++) {
		const struct fn_file *f = &set->files[i];
		char *src = NULL, why[EDGEFN_ERR_MAX] = "";
		size_t len = 0;
		int id;
		rc = file_read(f->path, EDGE_FN_SOURCE_MAX, &src, &len, why, sizeof(why));
		if (rc == 0 && len > EDGE_FN_SOURCE_MAX) {
			snprintf(why, sizeof(why), "%s is over %u bytes", f->name,
			         EDGE_FN_SOURCE_MAX);
			rc = ERR_TOO_BIG;
		}
		if (rc == 0)
			rc = edgefn_program_add(p, iov_cstr(f->name), iov_make(src, len), &id);
		free(src);
		if (rc)
			snprintf(err, errlen, "%s: functions: %s", f->at,
			         why[0] ? why : err_text(rc));
		else
			CHECK(id == i);
	}
	if (rc == 0) {
		char why[EDGEFN_ERR_MAX] = "";
		rc = edgefn_program_check(p, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "%s: functions: %s", file_named(set, why)->at,
			         why[0] ? why : err_text(rc));
	}
	if (rc) {
		edgefn_program_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* The id of path in the set's file list, added when new. */
static int file_id(struct edge_fn_set *set, const struct edge_config_behavior *b, int ev, int *id)
{
	for (int i = 0; i < set->nfiles; i++)
		if (strcmp(set->files[i].path, b->function[ev]) == 0) {
			*id = i;
			return 0;
		}
	if (set->nfiles == EDGEFN_FUNCS_MAX)
		return ERR_TOO_BIG;
	set->files[set->nfiles] =
	    (struct fn_file){ b->function[ev], b->function_name[ev], b->function_at[ev] };
	*id = set->nfiles++;
	return 0;
}

void edge_fn_set_free(struct edge_fn_set *set)
{
	if (!set)
		return;
	CHECK_MAGIC(set, FN_SET_MAGIC);
	edgefn_current_free(set->cur);
	free(set->ids);
	pthread_mutex_destroy(&set->mu);
	set->magic = 0;
	free(set);
}

int edge_fn_set_new(const struct edge_config *cfg, const struct edge_fn_sign_creds *creds,
                    struct edge_fn_set **out, char *err, size_t errlen)
{
	*out = NULL;
	struct edge_fn_set *set = calloc(1, sizeof(*set));
	size_t nids = (size_t)cfg->nbehaviors * EDGE_CONFIG_FN_EVENTS;
	if (set)
		set->ids = malloc((nids ? nids : 1) * sizeof(set->ids[0]));
	if (!set || !set->ids) {
		free(set);
		return ERR_NOMEM;
	}
	set->magic = FN_SET_MAGIC;
	pthread_mutex_init(&set->mu, NULL);
	set->cfg = cfg;
	set->creds = creds;
	set->origin_time_ns = (uint64_t)cfg->fn_limits.origin_timeout_ms * 1000000u;
	int rc = 0;
	for (uint32_t bi = 0; bi < cfg->nbehaviors && rc == 0; bi++) {
		const struct edge_config_behavior *b = &cfg->behavior[bi];
		for (int ev = 0; ev < EDGE_CONFIG_FN_EVENTS && rc == 0; ev++) {
			int *slot = &set->ids[bi * EDGE_CONFIG_FN_EVENTS + (uint32_t)ev];
			*slot = -1;
			if (b->function[ev] && (rc = file_id(set, b, ev, slot)))
				snprintf(err, errlen, "%s: functions: more than %d function files",
				         b->function_at[ev], EDGEFN_FUNCS_MAX);
		}
	}
	struct edgefn_program *p = NULL;
	if (rc == 0 && set->nfiles)
		rc = build(set, &p, err, errlen);
	if (rc == 0 && p) {
		set->cur = edgefn_current_new(p);
		edgefn_program_unref(p);
		if (!set->cur)
			rc = ERR_NOMEM;
	}
	if (rc) {
		edge_fn_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

bool edge_fn_set_any(const struct edge_fn_set *set)
{
	return set && set->nfiles > 0;
}

int edge_fn_set_id(const struct edge_fn_set *set, size_t bi, enum edge_fn_trigger t)
{
	if (!set || set->nfiles == 0)
		return -1;
	return set->ids[bi * EDGE_CONFIG_FN_EVENTS + (size_t)t];
}

int edge_fn_set_reload(struct edge_fn_set *set, char *err, size_t errlen)
{
	CHECK_MAGIC(set, FN_SET_MAGIC);
	if (set->nfiles == 0)
		return 0;
	struct edgefn_program *p;
	int rc = build(set, &p, err, errlen);
	if (rc)
		return rc;
	edgefn_current_publish(set->cur, p);
	edgefn_program_unref(p);
	return 0;
}

void edge_fn_set_counts(struct edge_fn_set *set, struct edge_fn_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!set)
		return;
	pthread_mutex_lock(&set->mu);
	*out = set->retired;
	for (const struct edge_fn_worker *w = set->workers; w; w = w->next)
		stats_add(out, &w->stats);
	pthread_mutex_unlock(&set->mu);
}

/* ---- workers ---- */

int edge_fn_worker_new(struct edge_fn_set *set, struct edge_fn_worker **out)
{
	struct edge_fn_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	w->set = set;
	pthread_mutex_lock(&set->mu);
	w->next = set->workers;
	if (w->next)
		w->next->prev = w;
	set->workers = w;
	pthread_mutex_unlock(&set->mu);
	*out = w;
	return 0;
}

void edge_fn_worker_free(struct edge_fn_worker *w)
{
	if (!w)
		return;
	struct edge_fn_set *set = w->set;
	pthread_mutex_lock(&set->mu);
	stats_add(&set->retired, &w->stats);
	if (w->prev)
		w->prev->next = w->next;
	else
		set->workers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&set->mu);
	edgefn_state_free(w->st);
	free(w);
}

/* meridian.log lines: one stderr line each, tabs and newlines kept out. */
static void log_line(void *ud, int fn, struct iov line)
{
	const struct edge_fn_worker *w = ud;
	const char *name = fn >= 0 && fn < w->set->nfiles ? w->set->files[fn].name : "-";
	char clean[EDGEFN_DEFAULT_LOG_LINE];
	size_t n = line.len < sizeof(clean) ? line.len : sizeof(clean);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)line.base[i];
		clean[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	fprintf(stderr, "edge-fn-log\t%s\t%s\t%.*s\n", name, w->request_id ? w->request_id : "-",
	        (int)n, clean);
}

static int fail(struct edge_fn_worker *w, int id, const struct edge_fn_input *in,
                enum edge_fn_failure kind, const char *msg, struct edge_fn_error *e)
{
	struct edge_fn_set *set = w->set;
	e->kind = kind;
	e->status = kind == EDGE_FN_LIMIT ? 503 : 502;
	e->name = failure_names[kind];
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	for (char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	bump(&w->stats.failed[in->trigger][kind], 1);
	fprintf(stderr, "edge-fn\t%s\t%s\t%s\t%s\t%s\n", edge_fn_trigger_name(in->trigger),
	        id >= 0 && id < set->nfiles ? set->files[id].name : "-",
	        w->request_id ? w->request_id : "-", e->name, e->msg);
	return ERR_EDGEFN_RUNTIME;
}

static enum edge_fn_failure classify(int rc)
{
	switch (rc) {
	case ERR_EDGEFN_BUDGET:
	case ERR_EDGEFN_TIMEOUT:
	case ERR_EDGEFN_MEMORY:
	case ERR_NOMEM:
		return EDGE_FN_LIMIT;
	case ERR_EDGEFN_VALUE:
	case ERR_EDGE_FN_VIOLATION:
		return EDGE_FN_VALIDATION;
	default:
		return EDGE_FN_EXECUTION;
	}
}

const double edge_fn_duration_le[] = { EDGE_FN_DURATION_LE };
_Static_assert(sizeof(edge_fn_duration_le) / sizeof(edge_fn_duration_le[0]) ==
                   EDGE_FN_DURATION_BUCKETS,
               "EDGE_FN_DURATION_BUCKETS and EDGE_FN_DURATION_LE disagree");

static int run_call(struct edge_fn_worker *w, int id, const struct edge_fn_input *in,
                    const char *request_id, struct arena *a, struct edge_fn_result *out,
                    struct edge_fn_error *e);

int edge_fn_run(struct edge_fn_worker *w, int id, const struct edge_fn_input *in,
                const char *request_id, struct arena *a, struct edge_fn_result *out,
                struct edge_fn_error *e)
{
	uint64_t t0 = clock_mono_ns();
	int rc = run_call(w, id, in, request_id, a, out, e);
	uint64_t ns = clock_mono_ns() - t0;
	struct fn_stats *st = &w->stats;
	size_t b =
	    http_admin_bucket(edge_fn_duration_le, EDGE_FN_DURATION_BUCKETS, (double)ns / 1e9);
	bump(&st->calls[in->trigger], 1);
	bump(&st->duration[in->trigger][b], 1);
	bump(&st->duration_ns[in->trigger], ns);
	return rc;
}

static int run_call(struct edge_fn_worker *w, int id, const struct edge_fn_input *in,
                    const char *request_id, struct arena *a, struct edge_fn_result *out,
                    struct edge_fn_error *e)
{
	struct edge_fn_set *set = w->set;
	char msg[EDGEFN_ERR_MAX] = "";
	w->request_id = request_id;
	struct edgefn_state *before = w->st;
	if (edgefn_state_refresh(&w->st, set->cur, msg, sizeof(msg)))
		fprintf(stderr, "edge: functions: a worker keeps its previous functions: %s\n",
		        msg);
	if (!w->st)
		return fail(w, id, in, EDGE_FN_LIMIT, "no function state (out of memory)", e);
	if (w->st != before)
		edgefn_state_set_log(w->st, log_line, w);
	struct edgefn_value args[2] = { edgefn_table(), edgefn_table() };
	int rc = edge_fn_event_build(in, a, &args[0]);
	if (rc == 0 &&
	    (!edgefn_table_set_str(a, &args[1], "functionName",
	                           edgefn_str(iov_cstr(set->files[id].name))) ||
	     !edgefn_table_set_str(a, &args[1], "awsRequestId", edgefn_str(iov_cstr(request_id)))))
		rc = ERR_NOMEM;
	if (rc)
		return fail(w, id, in, EDGE_FN_LIMIT, "the event does not fit the request's memory",
		            e);
	bool origin =
	    in->trigger == EDGE_FN_ORIGIN_REQUEST || in->trigger == EDGE_FN_ORIGIN_RESPONSE;
	struct edgefn_value result;
	rc = edgefn_call(w->st, id, args, 2, origin ? set->origin_time_ns : 0, a, &result, msg,
	                 sizeof(msg));
	if (rc == 0)
		rc = edge_fn_result_parse(in, &args[0], &result, a, out, msg, sizeof(msg));
	if (rc)
		return fail(w, id, in, classify(rc), msg[0] ? msg : err_text(rc), e);
	w->request_id = NULL;
	return 0;
}

/* The config's event order is the trigger enum's. */
_Static_assert(EDGE_FN_VIEWER_REQUEST == 0 && EDGE_FN_ORIGIN_REQUEST == 1 &&
                   EDGE_FN_ORIGIN_RESPONSE == 2 && EDGE_FN_VIEWER_RESPONSE == 3 &&
                   EDGE_CONFIG_FN_EVENTS == 4,
               "edge_config_fn_events and enum edge_fn_trigger disagree");
