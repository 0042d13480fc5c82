/*
 * http/admin: a signed control listener. See admin.h. Requests are small:
 * a call's body is buffered (capped) and its signature checked once whole.
 */
#include "http/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/users.h"
#include "auth/verify.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/hex.h"
#include "config/schema.h"
#include "crypto/sha256.h"
#include "http/endpoint.h"

struct http_admin {
	const struct http_admin_ops *ops;
	void *ctx;
	struct auth_users *users;
	struct http_server *http;
	struct http_handler handler;
};

struct admin_call {
	int op;
	struct buf body;
	bool too_big;
};

void http_admin_error_code(const struct http_admin_ops *ops, struct http_request *r, int rc,
                           const char *detail)
{
	const char *code = err_s3_code(rc);
	ops->error(r, err_http_status(rc) ? err_http_status(rc) : 500,
	           code ? code : "InternalError", detail && detail[0] ? detail : err_text(rc));
}

/* SigV4 over the request and its whole body (hashed here, and required to
 * be the hash that was signed). */
static int authenticate(struct http_admin *a, struct http_request *r, struct iov body, char *detail,
                        size_t dcap)
{
	const struct http_head *h = http_request_head(r);
	struct arena *ar = http_request_arena(r);
	struct auth_header *hs = arena_alloc(ar, (h->nheaders ? h->nheaders : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	for (size_t i = 0; i < h->nheaders; i++)
		hs[i] = (struct auth_header){ h->headers[i].name, h->headers[i].value };
	uint8_t digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256(body.base ? body.base : "", body.len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	struct iov path, query = iov_split(h->target, '?', &path);
	struct auth_request areq = {
		.method = h->method,
		.path = path,
		.query = query.base ? query : IOV_LIT(""),
		.headers = hs,
		.nheaders = h->nheaders,
		.payload_hash = iov_make(hex, SHA256_HEX_LEN),
	};
	struct auth_userdb *db = auth_users_acquire(a->users);
	struct auth_verifier v = {
		.creds = &auth_userdb_creds,
		.creds_ctx = db,
		.region = IOV_LIT(""), /* a control endpoint: any region */
		.service = iov_cstr(a->ops->service),
		.rules = AUTH_URI_S3,
	};
	struct auth_verified out;
	auth_verified_init(&out);
	int rc = auth_verify(&v, &areq, clock_now(), &out);
	/* The body must be what was signed: a hash, never UNSIGNED-PAYLOAD. */
	if (rc == 0 && out.payload != AUTH_PAYLOAD_HASH)
		rc = ERR_AUTH_CONTENT_SHA256;
	if (rc == 0 && auth_verified_check_body(&out, digest))
		rc = ERR_AUTH_PAYLOAD_MISMATCH;
	if (rc && detail)
		snprintf(detail, dcap, "%s", out.detail[0] ? out.detail : err_text(rc));
	auth_verified_free(&out);
	auth_userdb_release(db);
	return rc;
}

static void serve_metrics(struct http_admin *a, struct http_request *r)
{
	if (!iov_eq(http_request_head(r)->method, IOV_LIT("GET"))) {
		a->ops->error(r, 405, "MethodNotAllowed", "Only GET is allowed on /metrics.");
		return;
	}
	struct buf b;
	buf_init(&b, HTTP_ADMIN_METRICS_MAX);
	if (a->ops->metrics(a->ctx, &b) == 0)
		http_respond(r, 200, "text/plain; version=0.0.4", buf_iov(&b));
	else
		http_admin_error_code(a->ops, r, ERR_NOMEM, NULL);
	buf_free(&b);
}

static void on_request(void *ctx, struct http_request *r)
{
	struct http_admin *a = ctx;
	struct iov path;
	iov_split(http_request_head(r)->target, '?', &path);
	if (a->ops->metrics && iov_eq(path, IOV_LIT(HTTP_ADMIN_METRICS_PATH))) {
		serve_metrics(a, r);
		return;
	}
	int op = a->ops->route(a->ctx, r, path);
	if (op < 0)
		return;
	struct admin_call *q = calloc(1, sizeof(*q));
	if (!q) {
		http_admin_error_code(a->ops, r, ERR_NOMEM, NULL);
		return;
	}
	q->op = op;
	buf_init(&q->body, a->ops->body_max);
	http_request_set_user(r, q);
	http_request_limit_body(r, a->ops->body_max);
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct admin_call *q = http_request_user(r);
	if (q && buf_add(&q->body, p, n))
		q->too_big = true;
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	struct http_admin *a = ctx;
	struct admin_call *q = http_request_user(r);
	if (!q)
		return;
	if (q->too_big) {
		a->ops->error(r, 400, "MaxMessageLengthExceeded", "The request body is too large.");
		return;
	}
	char detail[256] = "";
	struct iov body = buf_iov(&q->body);
	int rc = authenticate(a, r, body, detail, sizeof(detail));
	if (rc) {
		http_admin_error_code(a->ops, r, rc, detail);
		return;
	}
	a->ops->serve(a->ctx, r, q->op, body);
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct admin_call *q = http_request_user(r);
	if (q) {
		buf_free(&q->body);
		free(q);
		http_request_set_user(r, NULL);
	}
}

int http_admin_start(const char *listen, const char *credentials, const struct http_admin_ops *ops,
                     void *ctx, struct http_admin **out, char *err, size_t errcap)
{
	struct http_admin *a = calloc(1, sizeof(*a));
	if (!a) {
		if (ops->ctx_free)
			ops->ctx_free(ctx);
		return ERR_NOMEM;
	}
	a->ops = ops;
	a->ctx = ctx;
	a->handler = (struct http_handler){
		.name = ops->name,
		.on_request = on_request,
		.on_body = on_body,
		.on_body_end = on_body_end,
		.on_finish = on_finish,
	};
	int rc = auth_users_open(credentials, &a->users, err, errcap);
	if (rc) {
		http_admin_stop(a);
		return rc;
	}
	struct http_server_config hc = {
		.listen = listen,
		.workers = 1,
		.handler = &a->handler,
		.handler_ctx = a,
	};
	rc = http_server_start(&hc, &a->http);
	if (rc) {
		snprintf(err, errcap, "admin: cannot listen on %s: %s", listen, err_text(rc));
		http_admin_stop(a);
		return rc;
	}
	*out = a;
	return 0;
}

int http_admin_port(const struct http_admin *a)
{
	return http_server_port(a->http);
}

int http_admin_reload(struct http_admin *a, char *err, size_t errcap)
{
	return auth_users_reload(a->users, err, errcap);
}

void http_admin_stop(struct http_admin *a)
{
	if (!a)
		return;
	http_server_stop(a->http);
	auth_users_free(a->users);
	if (a->ops->ctx_free)
		a->ops->ctx_free(a->ctx);
	free(a);
}

int http_admin_config_read(struct config_schema *s, const struct yaml_tree_node *root,
                           const char *what, char **listen_out, char **cred_out)
{
	static const char *const keys[] = { "listen", "credentials" };
	const struct yaml_tree_node *m =
	    config_schema_section(s, root, "admin", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(s, m, keys, sizeof(keys) / sizeof(keys[0])))
		return s->rc;
	const struct yaml_tree_node *kl = NULL, *kc = NULL;
	struct iov listen, cred;
	config_schema_cstr(s, m, "listen", CONFIG_OPTIONAL, &listen, &kl);
	if (config_schema_cstr(s, m, "credentials", CONFIG_OPTIONAL, &cred, &kc))
		return s->rc;
	if (listen.base && http_endpoint_addr(listen, true, NULL, NULL) != 0)
		return config_schema_fail(s, kl,
		                          "listen: \"%.*s\" is not ip:port or [ipv6]:port "
		                          "(numeric, port 0-65535)",
		                          config_schema_quote_len(listen), listen.base);
	if (listen.base && !cred.base)
		return config_schema_fail(s, kl,
		                          "admin.listen needs admin.credentials: %s without "
		                          "authentication",
		                          what);
	if (listen.base && config_schema_dup2(s, IOV_NULL, listen, listen_out))
		return s->rc;
	if (cred.base && config_schema_path(s, kc, "credentials", cred, cred_out))
		return s->rc;
	return 0;
}

/* ---- Prometheus histograms ---- */

size_t http_admin_bucket(const double *le, size_t n, double v)
{
	size_t b = 0;
	while (b < n && v > le[b])
		b++;
	return b;
}

int http_admin_histogram(struct buf *out, const char *name, const char *label, const double *le,
                         size_t n, const uint64_t *counts, double sum)
{
	const char *sep = label[0] ? "," : "";
	uint64_t cum = 0;
	int rc = 0;
	for (size_t b = 0; rc == 0 && b < n; b++) {
		cum += counts[b];
		rc = buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, le[b],
		                (unsigned long long)cum);
	}
	cum += counts[n];
	const char *open = label[0] ? "{" : "", *close = label[0] ? "}" : "";
	if (rc == 0)
		rc = buf_printf(out,
		                "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum%s%s%s %.9f\n"
		                "%s_count%s%s%s %llu\n",
		                name, label, sep, (unsigned long long)cum, name, open, label, close,
		                sum, name, open, label, close, (unsigned long long)cum);
	return rc;
}
