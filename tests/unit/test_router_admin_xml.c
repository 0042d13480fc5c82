/* router/admin_xml: the SubmitMultiRegionAccessPointRoutes request reader
 * (AWS's documented shape, every refusal) and the Get result and error
 * writers (exact text, escaping that an XML parser reads back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "router/admin_xml.h"
#include "router/routes.h"

#define NS "http://awss3control.amazonaws.com/doc/2018-08-20/"

struct parsed {
	struct arena *a;
	struct router_admin_update u[ROUTER_REGIONS_MAX + 2];
	uint32_t n;
	char detail[256];
};

static int setup(void **state)
{
	struct parsed *p = calloc(1, sizeof(*p));
	p->a = arena_new(1u << 20);
	*state = p;
	return p->a ? 0 : -1;
}

static int teardown(void **state)
{
	struct parsed *p = *state;
	arena_free(p->a);
	free(p);
	return 0;
}

static int parse_cap(struct parsed *p, const char *body, size_t len, uint32_t cap)
{
	p->n = 12345;
	return router_admin_xml_parse_submit(p->a, body, len, p->u, cap, &p->n, p->detail,
	                                     sizeof(p->detail));
}

static int parse(struct parsed *p, const char *body)
{
	return parse_cap(p, body, strlen(body), ROUTER_REGIONS_MAX + 2);
}

static void assert_iov(struct iov v, const char *want)
{
	if (!want) {
		assert_null(v.base);
		return;
	}
	assert_non_null(v.base);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.base, want, v.len);
}

/* The Request Syntax of AWS's API reference for SubmitMultiRegionAccessPointRoutes,
 * indented as there, with values filled in. */
static const char aws_request[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<SubmitMultiRegionAccessPointRoutesRequest xmlns=\"" NS "\">\n"
                                  "   <RouteUpdates>\n"
                                  "      <Route>\n"
                                  "         <Bucket>amzn-s3-demo-bucket1</Bucket>\n"
                                  "         <Region>us-east-1</Region>\n"
                                  "         <TrafficDialPercentage>0</TrafficDialPercentage>\n"
                                  "      </Route>\n"
                                  "      <Route>\n"
                                  "         <Bucket>amzn-s3-demo-bucket2</Bucket>\n"
                                  "         <Region>us-west-2</Region>\n"
                                  "         <TrafficDialPercentage>100</TrafficDialPercentage>\n"
                                  "      </Route>\n"
                                  "   </RouteUpdates>\n"
                                  "</SubmitMultiRegionAccessPointRoutesRequest>\n";

static void test_aws_request_parses(void **state)
{
	struct parsed *p = *state;
	assert_int_equal(parse(p, aws_request), 0);
	assert_int_equal(p->n, 2);
	assert_iov(p->u[0].bucket, "amzn-s3-demo-bucket1");
	assert_iov(p->u[0].region, "us-east-1");
	assert_int_equal(p->u[0].percent, 0);
	assert_iov(p->u[1].bucket, "amzn-s3-demo-bucket2");
	assert_iov(p->u[1].region, "us-west-2");
	assert_int_equal(p->u[1].percent, 100);
	assert_string_equal(p->detail, "");
	/* values are copies, not slices of the body */
	assert_true(p->u[0].bucket.base < aws_request ||
	            p->u[0].bucket.base >= aws_request + sizeof(aws_request));
}

static void test_no_namespace_region_only_bucket_only(void **state)
{
	struct parsed *p = *state;
	assert_int_equal(parse(p, "<SubmitMultiRegionAccessPointRoutesRequest><RouteUpdates>"
	                          "<Route><Region>eu-west-1</Region>"
	                          "<TrafficDialPercentage>100</TrafficDialPercentage></Route>"
	                          "<Route><TrafficDialPercentage>0</TrafficDialPercentage>"
	                          "<Bucket>only-bucket</Bucket></Route>"
	                          "</RouteUpdates></SubmitMultiRegionAccessPointRoutesRequest>"),
	                 0);
	assert_int_equal(p->n, 2);
	assert_iov(p->u[0].bucket, NULL);
	assert_iov(p->u[0].region, "eu-west-1");
	assert_int_equal(p->u[0].percent, 100);
	assert_iov(p->u[1].bucket, "only-bucket");
	assert_iov(p->u[1].region, NULL);
	assert_int_equal(p->u[1].percent, 0);
}

static void test_values(void **state)
{
	struct parsed *p = *state;
	/* percent: XML whitespace around it, leading zeros; 50 is the caller's to refuse.
	 * strings: character references resolved, CDATA, no trimming. */
	assert_int_equal(parse(p, "<SubmitMultiRegionAccessPointRoutesRequest xmlns=\"" NS "\">"
	                          "<RouteUpdates><Route><Bucket>a&amp;b&#x41;&lt;</Bucket>"
	                          "<Region><![CDATA[ r<1 ]]></Region>"
	                          "<TrafficDialPercentage>\n 050\t</TrafficDialPercentage>"
	                          "</Route></RouteUpdates>"
	                          "</SubmitMultiRegionAccessPointRoutesRequest>"),
	                 0);
	assert_int_equal(p->n, 1);
	assert_iov(p->u[0].bucket, "a&bA<");
	assert_iov(p->u[0].region, " r<1 ");
	assert_int_equal(p->u[0].percent, 50);
	enum router_dial d;
	assert_int_equal(router_routes_dial_from_percent(p->u[0].percent, &d), ERR_INVALID);

	/* an empty update list is valid */
	assert_int_equal(parse(p, "<SubmitMultiRegionAccessPointRoutesRequest>"
	                          "<RouteUpdates/></SubmitMultiRegionAccessPointRoutesRequest>"),
	                 0);
	assert_int_equal(p->n, 0);

	/* exactly ROUTER_REGIONS_MAX routes fit; a NULL detail is allowed */
	char body[4096];
	int len = snprintf(body, sizeof(body),
	                   "<SubmitMultiRegionAccessPointRoutesRequest><RouteUpdates>");
	for (int i = 0; i < ROUTER_REGIONS_MAX; i++)
		len += snprintf(body + len, sizeof(body) - (size_t)len,
		                "<Route><Region>r%d</Region><TrafficDialPercentage>%d"
		                "</TrafficDialPercentage></Route>",
		                i, i % 2 ? 100 : 0);
	len += snprintf(body + len, sizeof(body) - (size_t)len,
	                "</RouteUpdates></SubmitMultiRegionAccessPointRoutesRequest>");
	uint32_t n;
	assert_int_equal(router_admin_xml_parse_submit(p->a, body, (size_t)len, p->u,
	                                               ROUTER_REGIONS_MAX, &n, NULL, 0),
	                 0);
	assert_int_equal(n, ROUTER_REGIONS_MAX);
	assert_iov(p->u[16].region, "r16");
	assert_int_equal(p->u[16].percent, 0);
	assert_int_equal(p->u[15].percent, 100);
}

#define ROOT_OPEN    "<SubmitMultiRegionAccessPointRoutesRequest>"
#define ROOT_CLOSE   "</SubmitMultiRegionAccessPointRoutesRequest>"
#define WRAP(routes) ROOT_OPEN "<RouteUpdates>" routes "</RouteUpdates>" ROOT_CLOSE
#define ROUTE(inner) "<Route>" inner "</Route>"
#define PCT(v)       "<TrafficDialPercentage>" v "</TrafficDialPercentage>"
#define REG          "<Region>us-east-1</Region>"

static const struct refusal {
	const char *body;
	const char *why; /* a substring of the detail */
} refusals[] = {
	{ "<SubmitMultiRegionAccessPointRoutesRequest><RouteUpdates>", "malformed XML" },
	{ "<SubmitMultiRegionAccessPointRoutesRequest></Other>", "malformed XML" },
	{ "not xml", "malformed XML" },
	{ "<?xml version=\"1.0\"?><!DOCTYPE SubmitMultiRegionAccessPointRoutesRequest>" WRAP(""),
	  "DOCTYPE" },
	{ "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>" WRAP(
	      ROUTE("<Bucket>&b;</Bucket>" PCT("0"))),
	  "DOCTYPE" },
	{ WRAP(ROUTE("<Bucket>&ext;</Bucket>" PCT("0"))), "malformed XML" },
	{ "<CreateMultiRegionAccessPointRequest xmlns=\"" NS "\"/>", "root must be" },
	{ "<SubmitMultiRegionAccessPointRoutesRequest xmlns=\"http://s3.amazonaws.com/doc/"
	  "2006-03-01/\"><RouteUpdates/></SubmitMultiRegionAccessPointRoutesRequest>",
	  "namespace" },
	{ WRAP("<Route xmlns=\"urn:other\">" REG PCT("0") "</Route>"), "namespace" },
	{ WRAP("<x:Route xmlns:x=\"urn:other\">" REG PCT("0") "</x:Route>"), "namespace" },
	{ WRAP(ROUTE(REG PCT("0") "<Weight>1</Weight>")), "unexpected element <Weight>" },
	{ ROOT_OPEN "<Route>" REG PCT("0") "</Route>" ROOT_CLOSE, "unexpected element <Route>" },
	{ WRAP(ROUTE(REG REG PCT("0"))), "<Region> repeated" },
	{ WRAP(ROUTE(REG PCT("0") PCT("100"))), "<TrafficDialPercentage> repeated" },
	{ ROOT_OPEN "<RouteUpdates/><RouteUpdates/>" ROOT_CLOSE, "<RouteUpdates> repeated" },
	{ WRAP(ROUTE("<Region>r<x/></Region>" PCT("0"))), "unexpected element <x>" },
	{ WRAP("oops" ROUTE(REG PCT("0"))), "text where only elements belong" },
	{ ROOT_OPEN ROOT_CLOSE, "RouteUpdates is missing" },
	{ WRAP(ROUTE(PCT("100"))), "neither Bucket nor Region" },
	{ WRAP(ROUTE(REG)), "no TrafficDialPercentage" },
	{ WRAP(ROUTE(REG PCT("101"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("-1"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("+5"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("1.5"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("1e2"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("1 0"))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT(""))), "TrafficDialPercentage must be" },
	{ WRAP(ROUTE(REG PCT("0000000000000000000000000000000000000"))),
	  "TrafficDialPercentage must be" },
	{ WRAP(ROUTE("<Bucket>ab</Bucket>" PCT("0"))), "Bucket must be 3 to 255 bytes" },
	{ WRAP(ROUTE("<Region></Region>" PCT("0"))), "Region must be 1 to 64 bytes" },
	{ WRAP(ROUTE(
	      "<Region>"
	      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</Region>" PCT(
	          "0"))),
	  "Region must be 1 to 64 bytes" },
};

static void test_refusals(void **state)
{
	struct parsed *p = *state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		int rc = parse(p, refusals[i].body);
		if (rc != ERR_INVALID || p->n != 0 || !strstr(p->detail, refusals[i].why))
			fail_msg("refusal %zu: rc %d n %u detail \"%s\", want \"%s\"", i, rc,
			         (unsigned)p->n, p->detail, refusals[i].why);
	}
}

/* A valid request of exactly n bytes: an empty update list and a comment. */
static char *padded(size_t n)
{
	const char *head = ROOT_OPEN "<RouteUpdates/><!--";
	const char *tail = "-->" ROOT_CLOSE;
	char *p = malloc(n);
	assert_non_null(p);
	memset(p, 'x', n);
	memcpy(p, head, strlen(head));
	memcpy(p + n - strlen(tail), tail, strlen(tail));
	return p;
}

static void test_refusals_sizes(void **state)
{
	struct parsed *p = *state;
	/* empty */
	assert_int_equal(parse_cap(p, "", 0, 4), ERR_INVALID);
	assert_non_null(strstr(p->detail, "empty"));
	assert_int_equal(p->n, 0);

	/* a Bucket one over its cap; exactly at it is fine */
	char big[1024];
	char name[ROUTER_ADMIN_BUCKET_MAX + 2];
	memset(name, 'b', sizeof(name) - 1);
	name[ROUTER_ADMIN_BUCKET_MAX] = '\0';
	snprintf(big, sizeof(big), WRAP(ROUTE("<Bucket>%s</Bucket>" PCT("0"))), name);
	assert_int_equal(parse(p, big), 0);
	assert_int_equal(p->u[0].bucket.len, ROUTER_ADMIN_BUCKET_MAX);
	name[ROUTER_ADMIN_BUCKET_MAX] = 'b';
	name[ROUTER_ADMIN_BUCKET_MAX + 1] = '\0';
	snprintf(big, sizeof(big), WRAP(ROUTE("<Bucket>%s</Bucket>" PCT("0"))), name);
	assert_int_equal(parse(p, big), ERR_INVALID);
	assert_non_null(strstr(p->detail, "Bucket must be 3 to 255 bytes"));

	/* too many routes: over the caller's cap, and over ROUTER_REGIONS_MAX */
	const char *three = WRAP(ROUTE(REG PCT("0")) ROUTE(REG PCT("0")) ROUTE(REG PCT("0")));
	assert_int_equal(parse_cap(p, three, strlen(three), 3), 0);
	assert_int_equal(p->n, 3);
	assert_int_equal(parse_cap(p, three, strlen(three), 2), ERR_INVALID);
	assert_int_equal(p->n, 0);
	assert_non_null(strstr(p->detail, "more than 2 routes"));

	char body[4096];
	int len = snprintf(body, sizeof(body), ROOT_OPEN "<RouteUpdates>");
	for (int i = 0; i <= ROUTER_REGIONS_MAX; i++)
		len += snprintf(body + len, sizeof(body) - (size_t)len, ROUTE(REG PCT("0")));
	len += snprintf(body + len, sizeof(body) - (size_t)len, "</RouteUpdates>" ROOT_CLOSE);
	assert_int_equal(parse_cap(p, body, (size_t)len, ROUTER_REGIONS_MAX + 2), ERR_INVALID);
	assert_non_null(strstr(p->detail, "more than 17 routes"));

	/* over the body cap, though well-formed; at the cap exactly is parsed */
	size_t n = ROUTER_ADMIN_XML_MAX + 1;
	char *huge = padded(n);
	assert_int_equal(parse_cap(p, huge, n, 4), ERR_INVALID);
	assert_non_null(strstr(p->detail, "over 65536 bytes"));
	free(huge);
	huge = padded(n - 1);
	assert_int_equal(parse_cap(p, huge, n - 1, 4), 0);
	free(huge);

	/* the detail is cut to its buffer and still terminated */
	char small[8];
	uint32_t nn;
	assert_int_equal(
	    router_admin_xml_parse_submit(p->a, "<x/>", 4, p->u, 4, &nn, small, sizeof(small)),
	    ERR_INVALID);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* ---- writing ---------------------------------------------------------------------------- */

static const char two_routes[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<GetMultiRegionAccessPointRoutesResult xmlns=\"" NS "\">"
    "<Mrap>demo-mrap</Mrap><Routes>"
    "<Route><Bucket>bucket-a</Bucket><Region>region-a</Region>"
    "<TrafficDialPercentage>100</TrafficDialPercentage><Health>UP</Health>"
    "<LatencyMs>12.500</LatencyMs></Route>"
    "<Route><Bucket>bucket-b</Bucket><Region>region-b</Region>"
    "<TrafficDialPercentage>0</TrafficDialPercentage><Health>DOWN</Health></Route>"
    "</Routes></GetMultiRegionAccessPointRoutesResult>";

static void test_routes_exact(void **state)
{
	(void)state;
	const struct router_admin_route r[2] = {
		{ "bucket-a", "region-a", 100, "UP", 12.5 },
		{ "bucket-b", "region-b", 0, "DOWN", -1 },
	};
	struct buf b;
	buf_init(&b, 1u << 16);
	assert_int_equal(buf_add_str(&b, "kept:"), 0);
	assert_int_equal(router_admin_xml_routes(&b, "demo-mrap", r, 2), 0);
	assert_int_equal(b.len, 5 + strlen(two_routes));
	assert_memory_equal(b.data, "kept:", 5);
	assert_memory_equal(b.data + 5, two_routes, strlen(two_routes));

	/* no routes; a region without a bucket; a latency that is NaN */
	const struct router_admin_route r1 = { NULL, "r", 0, "SUSPECT", NAN };
	buf_reset(&b);
	assert_int_equal(router_admin_xml_routes(&b, "m", &r1, 1), 0);
	assert_string_equal(buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                                  "<GetMultiRegionAccessPointRoutesResult xmlns=\"" NS "\">"
	                                  "<Mrap>m</Mrap><Routes><Route><Region>r</Region>"
	                                  "<TrafficDialPercentage>0</TrafficDialPercentage>"
	                                  "<Health>SUSPECT</Health></Route></Routes>"
	                                  "</GetMultiRegionAccessPointRoutesResult>");
	buf_reset(&b);
	assert_int_equal(router_admin_xml_routes(&b, "m", NULL, 0), 0);
	assert_non_null(strstr(buf_cstr(&b), "<Mrap>m</Mrap><Routes></Routes></Get"));
	buf_free(&b);
}

static void test_error_exact(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(
	    router_admin_xml_error(&b, "InvalidRequest", "at least one <active> & 'up'"), 0);
	assert_string_equal(buf_cstr(&b),
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                    "<Error><Code>InvalidRequest</Code>"
	                    "<Message>at least one &lt;active&gt; &amp; &apos;up&apos;"
	                    "</Message></Error>");
	buf_free(&b);
}

/* Leaves of a document as read back by expat: "Name=text" joined by '|'. */
struct leaves {
	char text[4096];
	size_t len;
	char cur[512];
	size_t clen;
	bool bad;
};

static void lv_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct leaves *l = ud;
	(void)atts;
	const char *local = strrchr(name, ' ');
	local = local ? local + 1 : name;
	l->clen = 0;
	size_t n = strlen(local);
	if (l->len + n + 2 >= sizeof(l->text)) {
		l->bad = true;
		return;
	}
	if (l->len)
		l->text[l->len++] = '|';
	memcpy(l->text + l->len, local, n);
	l->len += n;
	l->text[l->len++] = '=';
}

static void lv_text(void *ud, const XML_Char *s, int len)
{
	struct leaves *l = ud;
	if (l->len + (size_t)len >= sizeof(l->text)) {
		l->bad = true;
		return;
	}
	memcpy(l->text + l->len, s, (size_t)len);
	l->len += (size_t)len;
}

static void read_back(const struct buf *b, struct leaves *l)
{
	memset(l, 0, sizeof(*l));
	XML_Parser x = XML_ParserCreateNS(NULL, ' ');
	XML_SetUserData(x, l);
	XML_SetElementHandler(x, lv_start, NULL);
	XML_SetCharacterDataHandler(x, lv_text);
	assert_int_equal(XML_Parse(x, b->data, (int)b->len, XML_TRUE), XML_STATUS_OK);
	XML_ParserFree(x);
	assert_false(l->bad);
	l->text[l->len] = '\0';
}

static void test_routes_escape_round_trip(void **state)
{
	(void)state;
	const char *nasty = "a<b>&\"c'\td\ne\rf \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	const struct router_admin_route r = { nasty, "]]>", 100, "UP", 0.0004 };
	struct buf b;
	buf_init(&b, 1u << 16);
	assert_int_equal(router_admin_xml_routes(&b, "m&m", &r, 1), 0);
	const char *doc = buf_cstr(&b);
	assert_non_null(strstr(doc, "<Bucket>a&lt;b&gt;&amp;&quot;c&apos;&#9;d&#10;e&#13;f "
	                            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</Bucket>"));
	assert_non_null(strstr(doc, "<Region>]]&gt;</Region>"));
	assert_non_null(strstr(doc, "<LatencyMs>0.000</LatencyMs>"));

	struct leaves l;
	read_back(&b, &l);
	char want[1024];
	snprintf(want, sizeof(want),
	         "GetMultiRegionAccessPointRoutesResult=|Mrap=m&m|Routes=|Route=|Bucket=%s|"
	         "Region=]]>|TrafficDialPercentage=100|Health=UP|LatencyMs=0.000",
	         nasty);
	assert_string_equal(l.text, want);

	buf_reset(&b);
	assert_int_equal(router_admin_xml_error(&b, "C", nasty), 0);
	read_back(&b, &l);
	snprintf(want, sizeof(want), "Error=|Code=C|Message=%s", nasty);
	assert_string_equal(l.text, want);
	buf_free(&b);
}

static void test_write_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\x01",             /* C0 control XML 1.0 cannot carry */
		"a\x1f",            /* same */
		"\xff",             /* not UTF-8 */
		"\xc0\xaf",         /* overlong */
		"\xed\xa0\x80",     /* surrogate */
		"\xef\xbf\xbe",     /* U+FFFE: not an XML Char */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xe2\x82",         /* cut short */
	};
	struct buf b;
	buf_init(&b, 1u << 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct router_admin_route r = { "bucket", bad[i], 0, "UP", 1 };
		assert_int_equal(buf_add_str(&b, "x"), 0);
		assert_int_equal(router_admin_xml_routes(&b, "m", &r, 1), ERR_INVALID);
		assert_int_equal(router_admin_xml_error(&b, "C", bad[i]), ERR_INVALID);
		assert_int_equal(b.len, 1); /* untouched */
		buf_reset(&b);
	}
	buf_free(&b);

	/* the buffer's cap: ERR_TOO_BIG, nothing left behind */
	const struct router_admin_route r[2] = {
		{ "bucket-a", "region-a", 100, "UP", 12.5 },
		{ "bucket-b", "region-b", 0, "DOWN", -1 },
	};
	buf_init(&b, strlen(two_routes) - 1);
	assert_int_equal(router_admin_xml_routes(&b, "demo-mrap", r, 2), ERR_TOO_BIG);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_init(&b, strlen(two_routes));
	assert_int_equal(router_admin_xml_routes(&b, "demo-mrap", r, 2), 0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aws_request_parses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_namespace_region_only_bucket_only, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_sizes, setup, teardown),
		cmocka_unit_test(test_routes_exact),
		cmocka_unit_test(test_error_exact),
		cmocka_unit_test(test_routes_escape_round_trip),
		cmocka_unit_test(test_write_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
