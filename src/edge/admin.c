/*
 * edge/admin: CloudFront's invalidation API and /metrics on the shared
 * signed listener (http/admin.h). See admin.h. Runs on the listener's one
 * thread, so the remembered invalidations need no lock.
 */
#include "edge/admin.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "edge/invalidation_xml.h"
#include "http/admin.h"

#define INV_ID_LEN 14 /* "I" and 13 of [A-Z0-9], CloudFront's shape */

/* One invalidation, kept for GetInvalidation and CallerReference reuse. */
struct inv {
	char id[INV_ID_LEN + 1];
	char created[32];
	struct edge_invalidation_batch batch; /* paths and caller reference point into mem */
	struct iov *paths;
	char *mem;
};

struct edge_admin {
	const struct edge_config *cfg;
	struct edge_server *srv;
	struct inv kept[EDGE_ADMIN_KEEP];
	unsigned next; /* ring position of the next one */
};

enum admin_op { OP_CREATE, OP_GET };

static void respond_error(struct http_request *r, int status, const char *code, const char *message)
{
	struct buf b;
	buf_init(&b, 4096);
	http_response_early(r);
	int rc = edge_invalidation_xml_error_code(&b, status, code, message,
	                                          iov_cstr(http_request_id(r)));
	http_respond(r, status, "text/xml", rc ? IOV_LIT("") : buf_iov(&b));
	buf_free(&b);
}

static int metrics(void *ctx, struct buf *out)
{
	struct edge_admin *a = ctx;
	return edge_server_metrics(a->srv, out);
}

static int route(void *ctx, struct http_request *r, struct iov path);
static void serve(void *ctx, struct http_request *r, int op, struct iov body);
static void admin_free(void *ctx);

static const struct http_admin_ops admin_ops = {
	.name = "edge-admin",
	.service = "cloudfront",
	.body_max = EDGE_INVALIDATION_XML_MAX,
	.route = route,
	.serve = serve,
	.error = respond_error,
	.metrics = metrics,
	.ctx_free = admin_free,
};

/* ---- paths ---- */

/* Split "<id>/invalidation[/<inv>]" after the prefix. 0, or -1 when the
 * path is not one of ours. */
static int split(struct iov path, struct iov *dist, struct iov *inv)
{
	struct iov prefix = IOV_LIT(EDGE_ADMIN_API_PREFIX), rest, tail;
	if (!iov_starts(path, prefix))
		return -1;
	rest = iov_sub(path, prefix.len, path.len - prefix.len);
	tail = iov_split(rest, '/', dist);
	if (!tail.base || dist->len == 0)
		return -1;
	struct iov word;
	*inv = iov_split(tail, '/', &word);
	if (!iov_eq(word, IOV_LIT("invalidation")))
		return -1;
	if (inv->base && (inv->len == 0 || memchr(inv->base, '/', inv->len)))
		return -1;
	return 0;
}

static int route(void *ctx, struct http_request *r, struct iov path)
{
	struct edge_admin *a = ctx;
	struct iov dist, inv;
	if (split(path, &dist, &inv)) {
		respond_error(r, 404, "NoSuchResource", "The resource does not exist.");
		return -1;
	}
	const struct iov method = http_request_head(r)->method;
	int op = !inv.base && iov_eq(method, IOV_LIT("POST")) ? OP_CREATE
	         : inv.base && iov_eq(method, IOV_LIT("GET")) ? OP_GET
	                                                      : -1;
	if (op < 0) {
		respond_error(r, 405, "MethodNotAllowed",
		              inv.base ? "Use GET on an invalidation."
		                       : "Use POST to create an invalidation.");
		return -1;
	}
	if (!iov_eq(dist, iov_cstr(a->cfg->id))) {
		respond_error(r, 404, "NoSuchDistribution",
		              "The specified distribution does not exist.");
		return -1;
	}
	return op;
}

/* ---- remembered invalidations ---- */

static void inv_clear(struct inv *v)
{
	free(v->paths);
	free(v->mem);
	memset(v, 0, sizeof(*v));
}

/* Copy a batch into v (owning its strings). 0 or ERR_NOMEM. */
static int inv_copy(struct inv *v, const struct edge_invalidation_batch *b)
{
	size_t total = b->caller_reference.len;
	for (uint32_t i = 0; i < b->npaths; i++)
		total += b->paths[i].len;
	v->mem = malloc(total ? total : 1);
	v->paths = calloc(b->npaths, sizeof(*v->paths));
	if (!v->mem || !v->paths) {
		inv_clear(v);
		return ERR_NOMEM;
	}
	char *p = v->mem;
	memcpy(p, b->caller_reference.base, b->caller_reference.len);
	v->batch.caller_reference = iov_make(p, b->caller_reference.len);
	p += b->caller_reference.len;
	for (uint32_t i = 0; i < b->npaths; i++) {
		memcpy(p, b->paths[i].base, b->paths[i].len);
		v->paths[i] = iov_make(p, b->paths[i].len);
		p += b->paths[i].len;
	}
	v->batch.paths = v->paths;
	v->batch.npaths = b->npaths;
	return 0;
}

static bool same_batch(const struct edge_invalidation_batch *x,
                       const struct edge_invalidation_batch *y)
{
	if (x->npaths != y->npaths)
		return false;
	for (uint32_t i = 0; i < x->npaths; i++)
		if (!iov_eq(x->paths[i], y->paths[i]))
			return false;
	return true;
}

static struct inv *find_caller(struct edge_admin *a, struct iov ref)
{
	for (unsigned i = 0; i < EDGE_ADMIN_KEEP; i++)
		if (a->kept[i].mem && iov_eq(a->kept[i].batch.caller_reference, ref))
			return &a->kept[i];
	return NULL;
}

static struct inv *find_id(struct edge_admin *a, struct iov id)
{
	for (unsigned i = 0; i < EDGE_ADMIN_KEEP; i++)
		if (a->kept[i].mem && iov_eq(iov_cstr(a->kept[i].id), id))
			return &a->kept[i];
	return NULL;
}

static int new_id(char out[INV_ID_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[INV_ID_LEN];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return ERR_CRYPTO;
	out[0] = 'I';
	for (size_t i = 1; i < INV_ID_LEN; i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[INV_ID_LEN] = '\0';
	return 0;
}

/* ---- the calls ---- */

static void answer_inv(struct edge_admin *a, struct http_request *r, const struct inv *v,
                       int status)
{
	struct buf b;
	buf_init(&b, EDGE_INVALIDATION_XML_MAX + 4096);
	int rc =
	    edge_invalidation_xml_created(&b, iov_cstr(v->id), iov_cstr(v->created), &v->batch);
	if (rc) {
		buf_free(&b);
		http_admin_error_code(&admin_ops, r, rc, NULL);
		return;
	}
	char loc[256];
	snprintf(loc, sizeof(loc), EDGE_ADMIN_API_PREFIX "%s/invalidation/%s", a->cfg->id, v->id);
	struct http_header hs[2] = {
		{ IOV_LIT("Content-Type"), IOV_LIT("text/xml") },
		{ IOV_LIT("Location"), iov_cstr(loc) },
	};
	struct iov body = arena_dup(http_request_arena(r), buf_iov(&b));
	buf_free(&b);
	if (!body.base) {
		http_admin_error_code(&admin_ops, r, ERR_NOMEM, NULL);
		return;
	}
	if (http_response_start(r, status, hs, status == 201 ? 2 : 1, (int64_t)body.len) == 0 &&
	    http_response_write(r, body.base, body.len, NULL, NULL) == 0)
		http_response_end(r);
}

static void create(struct edge_admin *a, struct http_request *r, struct iov body)
{
	struct edge_invalidation_reader *rd;
	int rc = edge_invalidation_reader_new(&rd);
	if (rc) {
		http_admin_error_code(&admin_ops, r, rc, NULL);
		return;
	}
	rc = edge_invalidation_reader_feed(rd, body.base ? body.base : "", body.len);
	if (rc == 0)
		rc = edge_invalidation_reader_finish(rd);
	if (rc) {
		struct buf b;
		buf_init(&b, 4096);
		http_response_early(r);
		int status = err_http_status(rc) ? err_http_status(rc) : 500;
		int wr = edge_invalidation_xml_error(&b, rc, edge_invalidation_reader_why(rd),
		                                     iov_cstr(http_request_id(r)));
		http_respond(r, status, "text/xml", wr ? IOV_LIT("") : buf_iov(&b));
		buf_free(&b);
		edge_invalidation_reader_free(rd);
		return;
	}
	const struct edge_invalidation_batch *batch = edge_invalidation_reader_batch(rd);
	/* CloudFront: a CallerReference names one batch; sent again with the
	 * same paths it is the same invalidation, with others a conflict. */
	struct inv *seen = find_caller(a, batch->caller_reference);
	if (seen) {
		if (same_batch(&seen->batch, batch))
			answer_inv(a, r, seen, 201);
		else
			respond_error(r, 409, "InvalidationBatchAlreadyExists",
			              "The CallerReference was used for a different batch.");
		edge_invalidation_reader_free(rd);
		return;
	}
	size_t marked = 0;
	rc = edge_server_invalidate(a->srv, batch->paths, batch->npaths, &marked);
	struct inv *v = &a->kept[a->next];
	inv_clear(v);
	if (rc == 0)
		rc = new_id(v->id);
	if (rc == 0)
		rc = inv_copy(v, batch);
	edge_invalidation_reader_free(rd);
	if (rc) {
		http_admin_error_code(&admin_ops, r, rc, NULL);
		return;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(v->created, sizeof(v->created), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	a->next = (a->next + 1) % EDGE_ADMIN_KEEP;
	fprintf(stderr, "edge admin: invalidation %s: %u path(s), %zu entries marked stale\n",
	        v->id, v->batch.npaths, marked);
	answer_inv(a, r, v, 201);
}

static void serve(void *ctx, struct http_request *r, int op, struct iov body)
{
	struct edge_admin *a = ctx;
	if (op == OP_CREATE) {
		create(a, r, body);
		return;
	}
	struct iov path, dist, id;
	iov_split(http_request_head(r)->target, '?', &path);
	CHECK(split(path, &dist, &id) == 0 && id.base);
	const struct inv *v = find_id(a, id);
	if (!v) {
		respond_error(r, 404, "NoSuchInvalidation",
		              "The specified invalidation does not exist.");
		return;
	}
	answer_inv(a, r, v, 200);
}

/* ---- the listener ---- */

static void admin_free(void *ctx)
{
	struct edge_admin *a = ctx;
	for (unsigned i = 0; i < EDGE_ADMIN_KEEP; i++)
		inv_clear(&a->kept[i]);
	free(a);
}

int edge_admin_start(const struct edge_config *cfg, struct edge_server *srv,
                     struct http_admin **out, char *err, size_t errcap)
{
	struct edge_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->cfg = cfg;
	a->srv = srv;
	return http_admin_start(cfg->admin_listen, cfg->admin_credentials, &admin_ops, a, out, err,
	                        errcap);
}
