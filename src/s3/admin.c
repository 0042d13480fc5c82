/*
 * The store's admin listener (server.h: s3_admin_start) on the shared signed
 * listener (http/admin.h): Prometheus /metrics with the replication gauges
 * and counters, GET /repl/status (JSON) and POST /repl/resync?bucket=&peer=.
 * Its callbacks run on the listener's own thread, which also owns the read
 * connection the outbox gauges are counted on.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "http/admin.h"
#include "meta/repl.h"
#include "repl/agent.h"
#include "s3/s3-int.h"

#define ADMIN_BODY_MAX 4096
#define ADMIN_PREFIX   "/repl/"

struct s3_admin {
	struct s3_server *srv;
	struct meta_db *rdb; /* the listener thread's, opened on first use */
};

enum admin_op { OP_STATUS, OP_RESYNC };

static void respond_error(struct http_request *r, int status, const char *code, const char *message)
{
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b, "{\"error\": \"%s\", \"message\": \"%s\"}\n", code, message ? message : "");
	http_response_early(r);
	http_respond(r, status, "application/json", buf_iov(&b));
	buf_free(&b);
}

static const struct http_admin_ops admin_ops;

static int db(struct s3_admin *a, struct meta_db **out)
{
	if (!a->rdb) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/meta.db", a->srv->cfg.data_dir);
		struct meta_db_opts ro = { .query_only = true };
		int rc = meta_db_open(path, &ro, &a->rdb);
		if (rc)
			return rc;
	}
	*out = a->rdb;
	return 0;
}

static void label(struct buf *out, struct iov v)
{
	for (size_t i = 0; i < v.len; i++) {
		char c = v.base[i];
		if (c == '"' || c == '\\')
			buf_add_char(out, '\\');
		if (c == '\n')
			buf_add_str(out, "\\n");
		else
			buf_add_char(out, c);
	}
}

/* S3's replication metrics per (bucket, rule, peer), from the outbox. */
static int outbox_metrics(struct s3_admin *a, struct buf *out)
{
	struct meta_db *d;
	int rc = db(a, &d);
	if (rc)
		return rc;
	struct arena *ar = arena_new(16u << 20);
	if (!ar)
		return ERR_NOMEM;
	struct meta_outbox_stat *st;
	size_t n;
	rc = meta_outbox_stats(d, ar, &st, &n);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	static const char *const names[] = { "operations_pending", "bytes_pending",
		                             "latency_seconds" };
	for (size_t m = 0; rc == 0 && m < 3; m++) {
		buf_printf(out, "# TYPE meridian_replication_%s gauge\n", names[m]);
		for (size_t i = 0; i < n; i++) {
			buf_printf(out, "meridian_replication_%s{bucket=\"", names[m]);
			label(out, st[i].bucket);
			buf_add_str(out, "\",rule=\"");
			label(out, st[i].rule_id);
			buf_add_str(out, "\",peer=\"");
			label(out, st[i].peer);
			if (m == 0)
				rc = buf_printf(out, "\"} %" PRIu64 "\n", st[i].ops);
			else if (m == 1)
				rc = buf_printf(out, "\"} %" PRIu64 "\n", st[i].bytes);
			else
				rc = buf_printf(out, "\"} %.3f\n",
				                now > st[i].oldest_ms
				                    ? (double)(now - st[i].oldest_ms) / 1000.0
				                    : 0.0);
		}
	}
	arena_free(ar);
	return rc;
}

static int metrics(void *ctx, struct buf *out)
{
	struct s3_admin *a = ctx;
	int rc = outbox_metrics(a, out);
	if (rc == 0 && a->srv->agent)
		rc = repl_agent_metrics(a->srv->agent, out);
	return rc;
}

static int route(void *ctx, struct http_request *r, struct iov path)
{
	(void)ctx;
	const struct http_head *h = http_request_head(r);
	if (iov_eq(path, IOV_LIT(ADMIN_PREFIX "status"))) {
		if (iov_eq(h->method, IOV_LIT("GET")))
			return OP_STATUS;
	} else if (iov_eq(path, IOV_LIT(ADMIN_PREFIX "resync"))) {
		if (iov_eq(h->method, IOV_LIT("POST")))
			return OP_RESYNC;
	} else {
		respond_error(r, 404, "NoSuchResource", "The resource does not exist.");
		return -1;
	}
	respond_error(r, 405, "MethodNotAllowed", "GET /repl/status, POST /repl/resync");
	return -1;
}

static void respond_json(struct http_request *r, int status, struct buf *b)
{
	buf_add_char(b, '\n');
	http_respond(r, status, "application/json", buf_iov(b));
}

static void status(struct s3_admin *a, struct http_request *r)
{
	struct buf b;
	buf_init(&b, 1u << 20);
	int rc = 0;
	if (!a->srv->agent)
		rc = buf_add_str(&b, "{\"peers\": [], \"resync\": null}");
	else
		rc = repl_agent_status(a->srv->agent, &b);
	if (rc)
		http_admin_error_code(&admin_ops, r, rc, NULL);
	else
		respond_json(r, 200, &b);
	buf_free(&b);
}

static void resync(struct s3_admin *a, struct http_request *r)
{
	struct iov path, query = iov_split(http_request_head(r)->target, '?', &path);
	struct arena *ar = http_request_arena(r);
	struct iov bucket = IOV_NULL, peer = IOV_NULL;
	if (query.base) {
		s3_query_get(query, "bucket", ar, &bucket);
		s3_query_get(query, "peer", ar, &peer);
	}
	if (!peer.len) {
		respond_error(r, 400, "InvalidRequest", "resync needs ?peer=NAME (and ?bucket=)");
		return;
	}
	if (!a->srv->agent) {
		respond_error(r, 404, "NoSuchPeer", "this store has no replication peers");
		return;
	}
	int rc = repl_agent_resync(a->srv->agent, bucket, peer);
	if (rc == ERR_NOT_FOUND) {
		respond_error(r, 404, "NoSuchPeer", "no replication peer has that name");
		return;
	}
	if (rc) {
		http_admin_error_code(&admin_ops, r, rc, NULL);
		return;
	}
	struct buf b;
	buf_init(&b, 4096);
	buf_printf(&b, "{\"resync\": \"queued\", \"bucket\": \"");
	label(&b, bucket.len ? bucket : IOV_LIT("*"));
	buf_add_str(&b, "\", \"peer\": \"");
	label(&b, peer);
	buf_add_str(&b, "\"}");
	respond_json(r, 202, &b);
	buf_free(&b);
}

static void serve(void *ctx, struct http_request *r, int op, struct iov body)
{
	(void)body;
	if (op == OP_STATUS)
		status(ctx, r);
	else
		resync(ctx, r);
}

static void admin_free(void *ctx)
{
	struct s3_admin *a = ctx;
	meta_db_close(a->rdb);
	free(a);
}

static const struct http_admin_ops admin_ops = {
	.name = "store-admin",
	.service = "s3",
	.body_max = ADMIN_BODY_MAX,
	.route = route,
	.serve = serve,
	.error = respond_error,
	.metrics = metrics,
	.ctx_free = admin_free,
};

int s3_admin_start(struct s3_server *srv, const char *listen, const char *credentials,
                   struct http_admin **out, char *err, size_t errcap)
{
	struct s3_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->srv = srv;
	return http_admin_start(listen, credentials, &admin_ops, a, out, err, errcap);
}
