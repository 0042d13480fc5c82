/* edge/invalidation_xml: CloudFront's CreateInvalidation body (the documented
 * shape, every refusal with CloudFront's code), the 201 answer echoing the
 * batch (read back by expat), and the error body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "edge/invalidation_xml.h"

#define NS              "http://cloudfront.amazonaws.com/doc/2020-05-31/"
#define BATCH(body)     "<InvalidationBatch xmlns=\"" NS "\">" body "</InvalidationBatch>"
#define REF             "<CallerReference>ref-1</CallerReference>"
#define PATHS(q, items) "<Paths><Quantity>" q "</Quantity>" items "</Paths>"

static const char aws_example[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" BATCH(
    "\n  <CallerReference>20120301090000</CallerReference>\n"
    "  <Paths>\n    <Items>\n      <Path>/images/*</Path>\n"
    "      <Path>/a&amp;b.html</Path>\n    </Items>\n    <Quantity> 2 </Quantity>\n"
    "  </Paths>\n");

/* Parse `body` in pieces of `piece` bytes (0: whole); the reader is returned
 * (to be freed) when `keep`. */
static int parse(const char *body, size_t len, size_t piece, struct edge_invalidation_reader **keep)
{
	struct edge_invalidation_reader *r;
	assert_int_equal(edge_invalidation_reader_new(&r), 0);
	edge_invalidation_reader__direct(r);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < len;) {
		size_t n = piece == 0 || piece > len - off ? len - off : piece;
		rc = edge_invalidation_reader_feed(r, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = edge_invalidation_reader_finish(r);
	if (keep)
		*keep = r;
	else
		edge_invalidation_reader_free(r);
	return rc;
}

static void assert_iov(struct iov v, const char *want)
{
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.base, want, v.len);
}

static void test_aws_example(void **state)
{
	(void)state;
	size_t len = strlen(aws_example);
	for (size_t piece = 0; piece <= len; piece = piece ? piece * 2 : 1) {
		struct edge_invalidation_reader *r;
		assert_int_equal(parse(aws_example, len, piece, &r), 0);
		const struct edge_invalidation_batch *b = edge_invalidation_reader_batch(r);
		assert_iov(b->caller_reference, "20120301090000");
		assert_int_equal(b->npaths, 2);
		assert_iov(b->paths[0], "/images/*");
		assert_iov(b->paths[1], "/a&b.html");
		edge_invalidation_reader_free(r);
	}
	/* no namespace is accepted too */
	const char *bare = "<InvalidationBatch>" PATHS("1", "<Items><Path>/</Path></Items>") REF
	    "</InvalidationBatch>";
	assert_int_equal(parse(bare, strlen(bare), 0, NULL), 0);
	edge_invalidation_reader_free(NULL);
}

static const struct refusal {
	const char *body;
	int rc;
	const char *why; /* a substring of the reason */
} refusals[] = {
	{ "", ERR_EDGE_INV_MISSING_BODY, "empty" },
	{ "<InvalidationBatch>", ERR_EDGE_INV_MALFORMED_XML, "malformed XML" },
	{ "<!DOCTYPE InvalidationBatch>" BATCH(PATHS("0", "") REF), ERR_EDGE_INV_MALFORMED_XML,
	  "DOCTYPE" },
	{ "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2019-03-26/\"/>",
	  ERR_EDGE_INV_MALFORMED_XML, "namespace" },
	{ "<DistributionConfig/>", ERR_EDGE_INV_MALFORMED_XML, "root must be <InvalidationBatch>" },
	{ BATCH(PATHS("1", "<Items><Path>/a</Path></Items><Extra/>") REF),
	  ERR_EDGE_INV_MALFORMED_XML, "unexpected element <Extra>" },
	{ BATCH(PATHS("1", "<Path>/a</Path>") REF), ERR_EDGE_INV_MALFORMED_XML,
	  "unexpected element <Path>" },
	{ BATCH(PATHS("1", "<Items><Path>/a</Path></Items>") REF REF), ERR_EDGE_INV_MALFORMED_XML,
	  "<CallerReference> repeated" },
	{ BATCH(PATHS("1", "<Quantity>1</Quantity><Items><Path>/a</Path></Items>") REF),
	  ERR_EDGE_INV_MALFORMED_XML, "<Quantity> repeated" },
	{ BATCH("x" PATHS("0", "") REF), ERR_EDGE_INV_MALFORMED_XML, "text where" },
	{ BATCH(PATHS("one", "<Items><Path>/a</Path></Items>") REF), ERR_EDGE_INV_MALFORMED_XML,
	  "Quantity must be an integer" },
	{ BATCH("<Paths><Items><Path>/a</Path></Items></Paths>" REF), ERR_EDGE_INV_MALFORMED_XML,
	  "Paths has no Quantity" },
	{ BATCH(REF), ERR_EDGE_INV_MALFORMED_XML, "has no Paths" },
	{ BATCH(PATHS("1", "<Items><Path>/a</Path></Items>")), ERR_EDGE_INV_MALFORMED_XML,
	  "has no CallerReference" },
	{ BATCH(PATHS("2", "<Items><Path>/a</Path></Items>") REF),
	  ERR_EDGE_INV_INCONSISTENT_QUANTITIES, "Quantity is 2 but Items holds 1" },
	{ BATCH(PATHS("1", "") REF), ERR_EDGE_INV_INCONSISTENT_QUANTITIES, "holds 0" },
	{ BATCH(PATHS("-1", "<Items/>") REF), ERR_EDGE_INV_INCONSISTENT_QUANTITIES, "is -1" },
	{ BATCH(PATHS("0", "<Items/>") REF), ERR_EDGE_INV_INVALID_ARGUMENT, "at least one path" },
	{ BATCH(PATHS("1", "<Items><Path></Path></Items>") REF), ERR_EDGE_INV_INVALID_ARGUMENT,
	  "path 1 must be 1 to 4096 bytes" },
	{ BATCH(PATHS("2", "<Items><Path>/a</Path><Path>a</Path></Items>") REF),
	  ERR_EDGE_INV_INVALID_ARGUMENT, "path 2 must start with /" },
	{ BATCH(PATHS("1", "<Items><Path>/a*/b</Path></Items>") REF), ERR_EDGE_INV_INVALID_ARGUMENT,
	  "path 1 has *" },
	{ BATCH(PATHS("1", "<Items><Path>/**</Path></Items>") REF), ERR_EDGE_INV_INVALID_ARGUMENT,
	  "path 1 has *" },
	{ BATCH(PATHS("1", "<Items><Path>/a</Path></Items>") "<CallerReference/>"),
	  ERR_EDGE_INV_INVALID_ARGUMENT, "CallerReference must be 1 to 128 bytes" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct edge_invalidation_reader *r;
		int rc = parse(refusals[i].body, strlen(refusals[i].body), 0, &r);
		const char *why = edge_invalidation_reader_why(r);
		if (rc != refusals[i].rc || !strstr(why, refusals[i].why))
			fail_msg("refusal %zu: rc %s why \"%s\", want %s \"%s\"", i, err_name(rc),
			         why, err_name(refusals[i].rc), refusals[i].why);
		/* sticky */
		assert_int_equal(edge_invalidation_reader_feed(r, "x", 1), rc);
		edge_invalidation_reader_free(r);
	}
}

/* A batch of `n` paths of `plen` bytes each, and a CallerReference of `rlen`. */
static char *batch_of(uint32_t n, size_t plen, size_t rlen, size_t *len)
{
	size_t cap = 256 + (size_t)n * (plen + 16) + rlen;
	char *p = malloc(cap);
	assert_non_null(p);
	size_t k = (size_t)snprintf(
	    p, cap, "<InvalidationBatch><Paths><Quantity>%u</Quantity><Items>", (unsigned)n);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(p + k, "<Path>/", 7);
		memset(p + k + 7, 'p', plen - 1);
		memcpy(p + k + 6 + plen, "</Path>", 7);
		k += 13 + plen;
	}
	k += (size_t)snprintf(p + k, cap - k, "</Items></Paths><CallerReference>");
	memset(p + k, 'r', rlen);
	k += rlen;
	k += (size_t)snprintf(p + k, cap - k, "</CallerReference></InvalidationBatch>");
	*len = k;
	return p;
}

static void test_caps(void **state)
{
	(void)state;
	size_t len;
	struct edge_invalidation_reader *r;
	/* the most paths, each at the longest, and the longest reference: accepted */
	char *p = batch_of(EDGE_INVALIDATION_PATHS_MAX, EDGE_INVALIDATION_PATH_MAX,
	                   EDGE_INVALIDATION_CALLER_REF_MAX, &len);
	assert_int_equal(parse(p, len, 65536, &r), 0);
	const struct edge_invalidation_batch *b = edge_invalidation_reader_batch(r);
	assert_int_equal(b->npaths, EDGE_INVALIDATION_PATHS_MAX);
	assert_int_equal(b->paths[EDGE_INVALIDATION_PATHS_MAX - 1].len, EDGE_INVALIDATION_PATH_MAX);
	assert_int_equal(b->caller_reference.len, EDGE_INVALIDATION_CALLER_REF_MAX);
	edge_invalidation_reader_free(r);
	free(p);

	p = batch_of(EDGE_INVALIDATION_PATHS_MAX + 1, 2, 1, &len);
	assert_int_equal(parse(p, len, 0, &r), ERR_EDGE_INV_BATCH_TOO_LARGE);
	assert_non_null(strstr(edge_invalidation_reader_why(r), "more than 3000 paths"));
	edge_invalidation_reader_free(r);
	free(p);

	p = batch_of(1, EDGE_INVALIDATION_PATH_MAX + 1, 1, &len);
	assert_int_equal(parse(p, len, 0, NULL), ERR_EDGE_INV_INVALID_ARGUMENT);
	free(p);
	p = batch_of(1, 2, EDGE_INVALIDATION_CALLER_REF_MAX + 1, &len);
	assert_int_equal(parse(p, len, 0, NULL), ERR_EDGE_INV_INVALID_ARGUMENT);
	free(p);

	/* a body over the cap, inside a comment */
	size_t n = EDGE_INVALIDATION_XML_MAX + 1;
	p = malloc(n);
	assert_non_null(p);
	memset(p, 'x', n);
	memcpy(p, "<InvalidationBatch><!--", 23);
	assert_int_equal(parse(p, n, 1u << 20, NULL), ERR_EDGE_INV_BATCH_TOO_LARGE);
	free(p);
}

/* Expat reads the answer back: every leaf's text, in order, "|"-joined. */
struct leaves {
	char text[1024];
	size_t len;
	bool leaf;
};

static void on_start(void *ud, const char *name, const char **atts)
{
	struct leaves *l = ud;
	(void)atts;
	const char *local = strrchr(name, ' ');
	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len,
	                           "%s%s=", l->len ? "|" : "", local ? local + 1 : name);
}

static void on_text(void *ud, const char *s, int len)
{
	struct leaves *l = ud;
	l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%.*s", len, s);
}

static void read_back(struct buf *b, struct leaves *l)
{
	memset(l, 0, sizeof(*l));
	XML_Parser p = XML_ParserCreateNS(NULL, ' ');
	XML_SetUserData(p, l);
	XML_SetStartElementHandler(p, on_start);
	XML_SetCharacterDataHandler(p, on_text);
	assert_int_equal(XML_Parse(p, b->data, (int)b->len, 1), XML_STATUS_OK);
	XML_ParserFree(p);
}

static void test_created(void **state)
{
	(void)state;
	struct edge_invalidation_reader *r;
	assert_int_equal(parse(aws_example, strlen(aws_example), 0, &r), 0);
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(edge_invalidation_xml_created(&b, IOV_LIT("I2J0I21PCUYOIK"),
	                                               IOV_LIT("2026-11-27T05:00:00.000Z"),
	                                               edge_invalidation_reader_batch(r)),
	                 0);
	assert_string_equal(
	    buf_cstr(&b),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invalidation xmlns=\"" NS "\">"
	    "<Id>I2J0I21PCUYOIK</Id><Status>Completed</Status>"
	    "<CreateTime>2026-11-27T05:00:00.000Z</CreateTime><InvalidationBatch><Paths>"
	    "<Quantity>2</Quantity><Items><Path>/images/*</Path><Path>/a&amp;b.html</Path>"
	    "</Items></Paths><CallerReference>20120301090000</CallerReference>"
	    "</InvalidationBatch></Invalidation>");
	struct leaves l;
	read_back(&b, &l);
	assert_string_equal(l.text, "Invalidation=|Id=I2J0I21PCUYOIK|Status=Completed|"
	                            "CreateTime=2026-11-27T05:00:00.000Z|InvalidationBatch=|Paths=|"
	                            "Quantity=2|Items=|Path=/images/*|Path=/a&b.html|"
	                            "CallerReference=20120301090000");
	/* a cap too small: nothing written */
	struct buf small;
	buf_init(&small, b.len - 1);
	assert_int_equal(edge_invalidation_xml_created(&small, IOV_LIT("I"), IOV_LIT("T"),
	                                               edge_invalidation_reader_batch(r)),
	                 0);
	size_t before = small.len;
	assert_int_equal(edge_invalidation_xml_created(&small, IOV_LIT("I2J0I21PCUYOIK"),
	                                               IOV_LIT("2026-11-27T05:00:00.000Z"),
	                                               edge_invalidation_reader_batch(r)),
	                 ERR_TOO_BIG);
	assert_int_equal(small.len, before);
	buf_free(&small);
	buf_free(&b);
	edge_invalidation_reader_free(r);
}

static void test_error_body(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(edge_invalidation_xml_error(&b, ERR_EDGE_INV_INCONSISTENT_QUANTITIES,
	                                             "Quantity <2> & 1 path", IOV_LIT("req-1")),
	                 0);
	assert_string_equal(buf_cstr(&b),
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"" NS
	                    "\"><Error><Type>Sender</Type><Code>InconsistentQuantities</Code>"
	                    "<Message>Quantity &lt;2&gt; &amp; 1 path</Message></Error>"
	                    "<RequestId>req-1</RequestId></ErrorResponse>");
	static const struct {
		int err;
		const char *want;
	} codes[] = {
		{ ERR_EDGE_INV_MALFORMED_XML, "Type=Sender|Code=MalformedXML|" },
		{ ERR_EDGE_INV_INVALID_ARGUMENT, "Type=Sender|Code=InvalidArgument|" },
		{ ERR_EDGE_INV_BATCH_TOO_LARGE, "Type=Sender|Code=BatchTooLarge|" },
		{ ERR_EDGE_INV_MISSING_BODY, "Type=Sender|Code=MissingBody|" },
		{ ERR_NOMEM, "Type=Receiver|Code=InternalError|" },
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		buf_reset(&b);
		assert_int_equal(edge_invalidation_xml_error(&b, codes[i].err, NULL, IOV_LIT("r")),
		                 0);
		struct leaves l;
		read_back(&b, &l);
		assert_non_null(strstr(l.text, codes[i].want));
		char msg[256];
		snprintf(msg, sizeof(msg), "Message=%s|", err_text(codes[i].err));
		assert_non_null(strstr(l.text, msg));
	}
	/* a message XML cannot carry is refused, nothing written */
	buf_reset(&b);
	assert_int_equal(
	    edge_invalidation_xml_error(&b, ERR_EDGE_INV_MALFORMED_XML, "a\x01", IOV_LIT("r")),
	    ERR_INVALID);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_example), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_caps),        cmocka_unit_test(test_created),
		cmocka_unit_test(test_error_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
