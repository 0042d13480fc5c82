/*
 * A signed control listener, shared by the router's control API and the
 * edge's invalidation API (docs/internals/http-admin.md): one HTTP server
 * with a worker thread of its own, an admin credentials file (auth/users.h
 * format, re-read on demand), bodies buffered up to a cap, every API call
 * SigV4-verified (any region, the given service, the body's hash signed:
 * never UNSIGNED-PAYLOAD), and an unsigned GET /metrics.
 *
 * The user supplies what differs: which paths are calls (route), what a
 * verified call does (serve), how an error body looks (error), and the
 * metrics text. route and serve run on the listener's thread, one request
 * at a time per connection.
 *
 * Threads: start/stop/reload on the controlling thread.
 */
#ifndef MERIDIAN_HTTP_ADMIN_H
#define MERIDIAN_HTTP_ADMIN_H

#include <stddef.h>

#include "base/buf.h"
#include "base/iov.h"
#include "http/server.h"

#define HTTP_ADMIN_METRICS_PATH "/metrics"
#define HTTP_ADMIN_METRICS_MAX  (16u << 20)

struct http_admin;

struct http_admin_ops {
	const char *name;    /* the handler's name in logs */
	const char *service; /* the SigV4 service calls are signed for ("s3") */
	size_t body_max;     /* a call's body cap (bigger: 400 MaxMessageLengthExceeded) */
	/* Decide what a request is: an operation number >= 0 (its body is read,
	 * the signature checked, then serve runs), or -1 after answering it here
	 * (404, 405, ...). path is the target without its query. */
	int (*route)(void *ctx, struct http_request *r, struct iov path);
	/* Answer a verified call; body (whole, borrowed for the call) may be empty. */
	void (*serve)(void *ctx, struct http_request *r, int op, struct iov body);
	/* Answer with an error body in the API's own shape. */
	void (*error)(struct http_request *r, int status, const char *code, const char *message);
	/* Append the Prometheus text to out; NULL: no /metrics. */
	int (*metrics)(void *ctx, struct buf *out);
	/* Free ctx when the admin stops (or fails to start); NULL: it is not ours. */
	void (*ctx_free)(void *ctx);
};

/* ---- Prometheus histograms, for the roles' metrics callbacks ---- */

/* The bucket of v among the upper bounds le[0..n) (n: above them all). */
size_t http_admin_bucket(const double *le, size_t n, double v);
/* Append one histogram series: name_bucket{label,le="..."} per bound,
 * cumulative, then le="+Inf", name_sum and name_count. label is "" or
 * `key="value"` (escaped by the caller); counts[0..n] are per bucket (the
 * last: above every bound); sum in seconds. 0 or the buf_printf error. */
int http_admin_histogram(struct buf *out, const char *name, const char *label, const double *le,
                         size_t n, const uint64_t *counts, double sum);

/* Listen on `listen` with the keys of `credentials` (both borrowed for the
 * call); ops is borrowed for the admin's life, ctx too (or owned, with
 * ops->ctx_free: freed by stop, or here on failure). 0, or an error with err
 * saying why (an unreadable credentials file with file:line, a listen
 * failure). */
int http_admin_start(const char *listen, const char *credentials, const struct http_admin_ops *ops,
                     void *ctx, struct http_admin **out, char *err, size_t errcap);
int http_admin_port(const struct http_admin *a);
/* Re-read the credentials file; on error the old keys stay and err says why. */
int http_admin_reload(struct http_admin *a, char *err, size_t errcap);
/* Close the listener and every connection, join its thread, free (ctx
 * with ops->ctx_free). NULL: no-op. */
void http_admin_stop(struct http_admin *a);

/*
 * Read a config file's optional `admin:` section, the same in every role's
 * file: `listen` (numeric ip:port, port 0 for any) and `credentials` (a path
 * resolved against the file's directory), listen needing credentials (`what`
 * ends the message: "the control API never runs"). *listen and *credentials are
 * malloc'd, or left NULL when absent. Errors go through the schema (sticky,
 * file:line:col). Returns s->rc.
 */
struct config_schema;
struct yaml_tree_node;
int http_admin_config_read(struct config_schema *s, const struct yaml_tree_node *root,
                           const char *what, char **listen, char **credentials);

/* An error answer from an ERR_* code: its HTTP status and S3 code (500
 * InternalError when it has none), detail or the code's text as message. */
void http_admin_error_code(const struct http_admin_ops *ops, struct http_request *r, int rc,
                           const char *detail);

#endif
