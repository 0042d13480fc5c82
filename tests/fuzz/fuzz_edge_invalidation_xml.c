/*
 * libFuzzer: the edge's CreateInvalidation body (edge/invalidation_xml). The
 * first byte picks the piece size (bits 0-6, 0: whole) and direct feeding
 * (bit 7); the rest is the body. The answer is 0 or one of CloudFront's
 * codes with a reason, the same code whatever the pieces; a success satisfies the
 * batch's contract, renders as a 201 answer and an error body, and written
 * back as a request parses to the same batch.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "edge/invalidation_xml.h"
#include "http/xml.h"

static struct edge_invalidation_reader *parse(const char *p, size_t n, size_t piece, bool direct,
                                              int *rc)
{
	struct edge_invalidation_reader *r;
	CHECK(edge_invalidation_reader_new(&r) == 0);
	if (direct)
		edge_invalidation_reader__direct(r);
	*rc = 0;
	for (size_t off = 0; *rc == 0 && off < n; off += piece)
		*rc = edge_invalidation_reader_feed(r, p + off, n - off < piece ? n - off : piece);
	if (*rc == 0)
		*rc = edge_invalidation_reader_finish(r);
	CHECK(*rc == 0 || *rc == ERR_EDGE_INV_MALFORMED_XML ||
	      *rc == ERR_EDGE_INV_INVALID_ARGUMENT || *rc == ERR_EDGE_INV_INCONSISTENT_QUANTITIES ||
	      *rc == ERR_EDGE_INV_BATCH_TOO_LARGE || *rc == ERR_NOMEM ||
	      (*rc == ERR_EDGE_INV_MISSING_BODY && n == 0));
	CHECK((*rc == 0) == (edge_invalidation_reader_why(r)[0] == '\0'));
	return r;
}

static void check_batch(const struct edge_invalidation_batch *b)
{
	CHECK(b->npaths >= 1 && b->npaths <= EDGE_INVALIDATION_PATHS_MAX);
	CHECK(b->caller_reference.len >= 1 &&
	      b->caller_reference.len <= EDGE_INVALIDATION_CALLER_REF_MAX);
	for (uint32_t i = 0; i < b->npaths; i++) {
		struct iov v = b->paths[i];
		CHECK(v.len >= 1 && v.len <= EDGE_INVALIDATION_PATH_MAX && v.base[0] == '/');
		const char *star = memchr(v.base, '*', v.len);
		CHECK(!star || star == v.base + v.len - 1);
	}
}

/* Written back as a request, the batch parses to itself. */
static void check_round_trip(const struct edge_invalidation_batch *b)
{
	struct buf req;
	buf_init(&req, EDGE_INVALIDATION_XML_MAX);
	CHECK(buf_printf(&req,
	                 "<InvalidationBatch xmlns=\"%s\"><Paths><Quantity>%u</Quantity><Items>",
	                 EDGE_INVALIDATION_XML_NS, (unsigned)b->npaths) == 0);
	for (uint32_t i = 0; i < b->npaths; i++)
		CHECK(http_xml_leaf(&req, "Path", b->paths[i]) == 0);
	CHECK(buf_add_str(&req, "</Items></Paths>") == 0);
	CHECK(http_xml_leaf(&req, "CallerReference", b->caller_reference) == 0);
	CHECK(buf_add_str(&req, "</InvalidationBatch>") == 0);
	int rc;
	struct edge_invalidation_reader *r = parse(req.data, req.len, req.len, false, &rc);
	CHECK(rc == 0);
	const struct edge_invalidation_batch *again = edge_invalidation_reader_batch(r);
	CHECK(again->npaths == b->npaths && iov_eq(again->caller_reference, b->caller_reference));
	for (uint32_t i = 0; i < b->npaths; i++)
		CHECK(iov_eq(again->paths[i], b->paths[i]));
	edge_invalidation_reader_free(r);
	buf_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	size_t piece = (data[0] & 0x7f) ? (data[0] & 0x7f) : (n ? n : 1);
	int rc, rc_whole;
	struct edge_invalidation_reader *r = parse(p, n, piece, data[0] & 0x80, &rc);
	struct edge_invalidation_reader *w = parse(p, n, n ? n : 1, true, &rc_whole);
	CHECK(rc == rc_whole); /* expat's wording of an XML error may depend on the pieces */
	struct buf out;
	buf_init(&out, 2 * EDGE_INVALIDATION_XML_MAX);
	if (rc == 0) {
		const struct edge_invalidation_batch *b = edge_invalidation_reader_batch(r);
		check_batch(b);
		CHECK(edge_invalidation_xml_created(&out, IOV_LIT("ID"), IOV_LIT("T"), b) == 0);
		check_round_trip(b);
	} else {
		/* the reason always fits in <Message> (names echoed are short, expat's UTF-8) */
		CHECK(edge_invalidation_xml_error(&out, rc, edge_invalidation_reader_why(r),
		                                  IOV_LIT("req")) == 0);
	}
	buf_free(&out);
	edge_invalidation_reader_free(r);
	edge_invalidation_reader_free(w);
	return 0;
}
