/*
 * CloudFront invalidation XML (contract in invalidation_xml.h): the
 * InvalidationBatch schema for the shared strict reader (http/xml), whose
 * callbacks fill the batch, and the writers of the 201 answer and of error
 * bodies. One reader per body, one thread at a time; writers: any thread.
 */
#include "edge/invalidation_xml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"

#define READER_MAGIC 0x45494e56u /* "EINV" */
#define QUANTITY_MAX 32          /* an xs:int with room for whitespace around it */

enum elem { E_BATCH, E_PATHS, E_QUANTITY, E_ITEMS, E_PATH, E_CALLER_REF, E__COUNT };

static const struct http_xml_rule rules[] = {
	[E_BATCH] = { "InvalidationBatch", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_PATHS] = { "Paths", E_BATCH, 0, 1, 0 },
	[E_QUANTITY] = { "Quantity", E_PATHS, HTTP_XML_LEAF, 1, QUANTITY_MAX },
	[E_ITEMS] = { "Items", E_PATHS, 0, 1, 0 },
	/* the count is checked in on_open: too many is BatchTooLarge, not MalformedXML */
	[E_PATH] = { "Path", E_ITEMS, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 0,
	             EDGE_INVALIDATION_PATH_MAX },
	[E_CALLER_REF] = { "CallerReference", E_BATCH, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 1,
	                   EDGE_INVALIDATION_CALLER_REF_MAX },
};

struct edge_invalidation_reader {
	uint32_t magic;
	struct http_xml_reader *x;
	bool finished; /* finish returned 0 */
	int64_t quantity;
	struct iov *paths;
	uint32_t npaths, paths_cap;
	struct edge_invalidation_batch batch;
};

/* ---- reading ---------------------------------------------------------------------------- */

static int leaf_path(struct http_xml_reader *x, struct edge_invalidation_reader *r, struct iov v,
                     bool cut)
{
	const int bad = ERR_EDGE_INV_INVALID_ARGUMENT;
	uint32_t i = r->npaths;
	if (cut || v.len == 0)
		return http_xml_reader_fail(x, bad, "path %u must be 1 to %u bytes", (unsigned)i,
		                            EDGE_INVALIDATION_PATH_MAX);
	if (v.base[0] != '/')
		return http_xml_reader_fail(x, bad, "path %u must start with /", (unsigned)i);
	const char *star = memchr(v.base, '*', v.len);
	if (star && star != v.base + v.len - 1)
		return http_xml_reader_fail(
		    x, bad, "path %u has * other than as its last character", (unsigned)i);
	return http_xml_reader_keep(x, v, &r->paths[i - 1]);
}

static int on_leaf(struct http_xml_reader *x, void *ctx, int id, struct iov v, bool cut)
{
	struct edge_invalidation_reader *r = ctx;
	switch (id) {
	case E_QUANTITY:
		if (http_xml_int(v, &r->quantity) != 0)
			return http_xml_reader_fail(x, ERR_EDGE_INV_MALFORMED_XML,
			                            "Quantity must be an integer");
		return 0;
	case E_PATH:
		return leaf_path(x, r, v, cut);
	case E_CALLER_REF:
		if (cut || v.len == 0)
			return http_xml_reader_fail(x, ERR_EDGE_INV_INVALID_ARGUMENT,
			                            "CallerReference must be 1 to %u bytes",
			                            EDGE_INVALIDATION_CALLER_REF_MAX);
		return http_xml_reader_keep(x, v, &r->batch.caller_reference);
	default:
		CHECK(!"a leaf without a setter");
		return ERR_EDGE_INV_MALFORMED_XML;
	}
}

static int on_open(struct http_xml_reader *x, void *ctx, int id)
{
	struct edge_invalidation_reader *r = ctx;
	if (id != E_PATH)
		return 0;
	if (r->npaths == EDGE_INVALIDATION_PATHS_MAX)
		return http_xml_reader_fail(x, ERR_EDGE_INV_BATCH_TOO_LARGE, "more than %u paths",
		                            EDGE_INVALIDATION_PATHS_MAX);
	if (r->npaths == r->paths_cap) {
		uint32_t c = r->paths_cap ? r->paths_cap * 2 : 16;
		c = c < EDGE_INVALIDATION_PATHS_MAX ? c : EDGE_INVALIDATION_PATHS_MAX;
		struct iov *p = realloc(r->paths, c * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		r->paths = p;
		r->paths_cap = c;
	}
	r->paths[r->npaths++] = IOV_NULL;
	return 0;
}

static int on_close(struct http_xml_reader *x, void *ctx, int id, uint64_t seen)
{
	(void)ctx;
	const int bad = ERR_EDGE_INV_MALFORMED_XML;
	if (id == E_PATHS && !(seen & HTTP_XML_BIT(E_QUANTITY)))
		return http_xml_reader_fail(x, bad, "Paths has no Quantity");
	if (id == E_BATCH && !(seen & HTTP_XML_BIT(E_PATHS)))
		return http_xml_reader_fail(x, bad, "InvalidationBatch has no Paths");
	if (id == E_BATCH && !(seen & HTTP_XML_BIT(E_CALLER_REF)))
		return http_xml_reader_fail(x, bad, "InvalidationBatch has no CallerReference");
	return 0;
}

static const struct http_xml_schema schema = {
	.rules = rules,
	.nrules = E__COUNT,
	.root = E_BATCH,
	.ns = EDGE_INVALIDATION_XML_NS,
	.cap = EDGE_INVALIDATION_XML_MAX,
	.err_malformed = ERR_EDGE_INV_MALFORMED_XML,
	.err_too_big = ERR_EDGE_INV_BATCH_TOO_LARGE,
	.err_empty = ERR_EDGE_INV_MISSING_BODY,
	.open = on_open,
	.leaf = on_leaf,
	.close = on_close,
};

int edge_invalidation_reader_new(struct edge_invalidation_reader **out)
{
	struct edge_invalidation_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->magic = READER_MAGIC;
	if (http_xml_reader_new(&schema, r, &r->x) != 0) {
		edge_invalidation_reader_free(r);
		return ERR_NOMEM;
	}
	*out = r;
	return 0;
}

void edge_invalidation_reader_free(struct edge_invalidation_reader *r)
{
	if (!r)
		return;
	CHECK_MAGIC(r, READER_MAGIC);
	http_xml_reader_free(r->x);
	free(r->paths);
	r->magic = 0;
	free(r);
}

int edge_invalidation_reader_feed(struct edge_invalidation_reader *r, const char *p, size_t n)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return http_xml_reader_feed(r->x, p, n);
}

int edge_invalidation_reader_finish(struct edge_invalidation_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	int rc = http_xml_reader_finish(r->x);
	if (rc == 0 && r->quantity != (int64_t)r->npaths)
		rc = http_xml_reader_fail(r->x, ERR_EDGE_INV_INCONSISTENT_QUANTITIES,
		                          "Quantity is %lld but Items holds %u paths",
		                          (long long)r->quantity, (unsigned)r->npaths);
	else if (rc == 0 && r->npaths == 0)
		rc = http_xml_reader_fail(r->x, ERR_EDGE_INV_INVALID_ARGUMENT,
		                          "an invalidation batch needs at least one path");
	r->batch.paths = r->paths;
	r->batch.npaths = r->npaths;
	r->finished = rc == 0;
	return rc;
}

const char *edge_invalidation_reader_why(const struct edge_invalidation_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return http_xml_reader_why(r->x);
}

const struct edge_invalidation_batch *
edge_invalidation_reader_batch(const struct edge_invalidation_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(r->finished);
	return &r->batch;
}

void edge_invalidation_reader__direct(struct edge_invalidation_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	http_xml_reader__direct(r->x);
}

/* ---- writing ---------------------------------------------------------------------------- */

static int batch(struct buf *out, const struct edge_invalidation_batch *b)
{
	int rc = buf_printf(out, "<InvalidationBatch><Paths><Quantity>%u</Quantity>",
	                    (unsigned)b->npaths);
	if (rc == 0 && b->npaths)
		rc = buf_add_str(out, "<Items>");
	for (uint32_t i = 0; rc == 0 && i < b->npaths; i++)
		rc = http_xml_leaf(out, "Path", b->paths[i]);
	if (rc == 0 && b->npaths)
		rc = buf_add_str(out, "</Items>");
	if (rc == 0)
		rc = buf_add_str(out, "</Paths>");
	if (rc == 0)
		rc = http_xml_leaf(out, "CallerReference", b->caller_reference);
	if (rc == 0)
		rc = buf_add_str(out, "</InvalidationBatch>");
	return rc;
}

int edge_invalidation_xml_created(struct buf *out, struct iov id, struct iov create_time,
                                  const struct edge_invalidation_batch *b)
{
	CHECK(out && b && (b->paths || b->npaths == 0));
	size_t start = out->len;
	int rc =
	    buf_add_str(out, HTTP_XML_DECL "<Invalidation xmlns=\"" EDGE_INVALIDATION_XML_NS "\">");
	if (rc == 0)
		rc = http_xml_leaf(out, "Id", id);
	if (rc == 0)
		rc = buf_add_str(out, "<Status>Completed</Status>");
	if (rc == 0)
		rc = http_xml_leaf(out, "CreateTime", create_time);
	if (rc == 0)
		rc = batch(out, b);
	if (rc == 0)
		rc = buf_add_str(out, "</Invalidation>");
	if (rc)
		out->len = start;
	return rc;
}

int edge_invalidation_xml_error_code(struct buf *out, int status, const char *code,
                                     const char *message, struct iov request_id)
{
	CHECK(out && code && message);
	size_t start = out->len;
	int rc = buf_printf(out,
	                    HTTP_XML_DECL "<ErrorResponse xmlns=\"" EDGE_INVALIDATION_XML_NS
	                                  "\"><Error><Type>%s</Type>",
	                    status >= 500 ? "Receiver" : "Sender");
	if (rc == 0)
		rc = http_xml_leaf(out, "Code", iov_cstr(code));
	if (rc == 0)
		rc = http_xml_leaf(out, "Message", iov_cstr(message));
	if (rc == 0)
		rc = buf_add_str(out, "</Error>");
	if (rc == 0)
		rc = http_xml_leaf(out, "RequestId", request_id);
	if (rc == 0)
		rc = buf_add_str(out, "</ErrorResponse>");
	if (rc)
		out->len = start;
	return rc;
}

int edge_invalidation_xml_error(struct buf *out, int err, const char *message,
                                struct iov request_id)
{
	CHECK(out && err < 0);
	const char *code = err_s3_code(err);
	return edge_invalidation_xml_error_code(
	    out, err_http_status(err), code ? code : "InternalError",
	    message && message[0] ? message : err_text(err), request_id);
}
