/* http/xml: the shared strict reader on a small made-up document (every
 * split, every refusal with its code and reason, caps, sticky errors, the
 * callbacks' view) and the escaper in both of its C0 modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/xml.h"

#define NS "urn:meridian:test:library"

/* <Library><Shelf max 2><Label once, 8/><Book max 3, 16, cut ok/></Shelf>
 * <Note once, 4/></Library>. Distinct codes show which the reader picked. */
enum { E_LIBRARY, E_SHELF, E_LABEL, E_BOOK, E_NOTE, E_COUNT };

static const struct http_xml_rule rules[] = {
	[E_LIBRARY] = { "Library", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_SHELF] = { "Shelf", E_LIBRARY, 0, 2, 0 },
	[E_LABEL] = { "Label", E_SHELF, HTTP_XML_LEAF, 1, 8 },
	[E_BOOK] = { "Book", E_SHELF, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 3, 16 },
	[E_NOTE] = { "Note", E_LIBRARY, HTTP_XML_LEAF, 1, 4 },
};

#define MALFORMED ERR_INVALID
#define TOO_BIG   ERR_TOO_BIG
#define EMPTY     ERR_NOT_FOUND
#define REFUSED   ERR_INTERNAL /* what the leaf callback answers to a "bad" Book */

/* The callbacks' trace: "+Shelf", "Label=A", "Book~" (cut), "-Shelf/6" (seen mask). */
struct trace {
	char text[4096];
	size_t len;
};

static void add(struct trace *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->text) - t->len);
	t->len += (size_t)n;
}

static int on_open(struct http_xml_reader *r, void *ctx, int id)
{
	(void)r;
	add(ctx, "+%s|", rules[id].name);
	return 0;
}

static int on_leaf(struct http_xml_reader *r, void *ctx, int id, struct iov v, bool cut)
{
	if (iov_eq(v, IOV_LIT("bad")))
		return http_xml_reader_fail(r, REFUSED, "book %s refused", "bad");
	if (iov_eq(v, IOV_LIT("worse")))
		return REFUSED; /* no reason given: the reader writes one */
	add(ctx, "%s%s%.*s|", rules[id].name, cut ? "~" : "=", (int)v.len, v.base);
	return 0;
}

static int on_close(struct http_xml_reader *r, void *ctx, int id, uint64_t seen)
{
	(void)r;
	add(ctx, "-%s/%llu|", rules[id].name, (unsigned long long)seen);
	return 0;
}

#define BODY_CAP 512

static const struct http_xml_schema schema = {
	.rules = rules,
	.nrules = E_COUNT,
	.root = E_LIBRARY,
	.ns = NS,
	.cap = BODY_CAP,
	.err_malformed = MALFORMED,
	.err_too_big = TOO_BIG,
	.err_empty = EMPTY,
	.open = on_open,
	.leaf = on_leaf,
	.close = on_close,
};

struct result {
	int rc;
	struct trace t;
	char why[HTTP_XML_WHY_MAX];
};

/* Parse `body` fed in pieces of `piece` bytes (0: whole), direct mode. */
static void run_with(const struct http_xml_schema *s, const char *body, size_t len, size_t piece,
                     struct result *out)
{
	struct http_xml_reader *r;
	memset(out, 0, sizeof(*out));
	assert_int_equal(http_xml_reader_new(s, &out->t, &r), 0);
	http_xml_reader__direct(r);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < len;) {
		size_t n = piece == 0 || piece > len - off ? len - off : piece;
		rc = http_xml_reader_feed(r, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = http_xml_reader_finish(r);
	out->rc = rc;
	snprintf(out->why, sizeof(out->why), "%s", http_xml_reader_why(r));
	assert_true(rc != 0 || out->why[0] == '\0');
	http_xml_reader_free(r);
}

static void run(const char *body, struct result *out)
{
	run_with(&schema, body, strlen(body), 0, out);
}

static const char good[] =
    "<?xml version=\"1.0\"?>\n<Library xmlns=\"" NS "\">\n"
    "  <Shelf><Label>A&amp;B</Label><Book>one</Book><Book>two &#x263A;</Book></Shelf>\n"
    "  <!-- a comment --><Shelf><Book></Book></Shelf><Note>n</Note>\n"
    "</Library>\n";
static const char good_trace[] = "+Library|+Shelf|+Label|Label=A&B|+Book|Book=one|+Book|Book=two "
                                 "\xe2\x98\xba|-Shelf/12|+Shelf|+Book|Book=|-Shelf/8|+Note|"
                                 "Note=n|-Library/18|";

static void test_good_document(void **state)
{
	(void)state;
	struct result res;
	run(good, &res);
	assert_int_equal(res.rc, 0);
	assert_string_equal(res.t.text, good_trace);
}

/* Every split in two, and byte by byte: the same callbacks, the same result. */
static void test_every_split(void **state)
{
	(void)state;
	size_t len = strlen(good);
	struct result res;
	run_with(&schema, good, len, 1, &res);
	assert_int_equal(res.rc, 0);
	assert_string_equal(res.t.text, good_trace);
	for (size_t cut = 1; cut < len; cut++) {
		struct http_xml_reader *r;
		struct trace t = { .len = 0 };
		t.text[0] = '\0';
		assert_int_equal(http_xml_reader_new(&schema, &t, &r), 0);
		http_xml_reader__direct(r);
		assert_int_equal(http_xml_reader_feed(r, good, cut), 0);
		assert_int_equal(http_xml_reader_feed(r, good + cut, len - cut), 0);
		assert_int_equal(http_xml_reader_finish(r), 0);
		assert_string_equal(t.text, good_trace);
		http_xml_reader_free(r);
	}
}

static const struct refusal {
	const char *body;
	int rc;
	const char *why; /* a substring of the reason */
} refusals[] = {
	{ "<!DOCTYPE Library><Library/>", MALFORMED, "DOCTYPE" },
	{ "<!DOCTYPE Library [<!ENTITY a \"aaaa\">]><Library><Note>&a;</Note></Library>", MALFORMED,
	  "DOCTYPE" },
	{ "<Library><Note>&a;</Note></Library>", MALFORMED, "malformed XML at line 1" },
	{ "<Library><Shelf></Library>", MALFORMED, "malformed XML" },
	{ "<Library/><Library/>", MALFORMED, "malformed XML" },
	{ "<Library xmlns=\"urn:other\"/>", MALFORMED, "namespace other than " NS },
	{ "<Library><x:Note xmlns:x=\"urn:other\">n</x:Note></Library>", MALFORMED, "namespace" },
	{ "<Shelf/>", MALFORMED, "unexpected element <Shelf>: the root must be <Library>" },
	{ "<Library><Book>b</Book></Library>", MALFORMED, "unexpected element <Book>" },
	{ "<Library><Shelf><Note>n</Note></Shelf></Library>", MALFORMED,
	  "unexpected element <Note>" },
	{ "<Library><Note>n<Label/></Note></Library>", MALFORMED, "unexpected element <Label>" },
	{ "<Library><Note>a</Note><Note>b</Note></Library>", MALFORMED, "element <Note> repeated" },
	{ "<Library><Shelf><Label>a</Label><Label>b</Label></Shelf></Library>", MALFORMED,
	  "element <Label> repeated" },
	{ "<Library><Shelf/><Shelf/><Shelf/></Library>", MALFORMED,
	  "more than 2 <Shelf> elements" },
	{ "<Library><Shelf><Book/><Book/><Book/><Book/></Shelf></Library>", MALFORMED,
	  "more than 3 <Book> elements" },
	{ "<Library>text<Shelf/></Library>", MALFORMED, "text where only elements belong" },
	{ "<Library><Shelf/>x</Library>", MALFORMED, "text where only elements belong" },
	{ "<Library><Note>12345</Note></Library>", MALFORMED, "<Note> is over 4 bytes" },
	{ "<Library><Note>&#x263A;&#x263A;</Note></Library>", MALFORMED, "<Note> is over 4 bytes" },
	{ "<Library><Shelf><Book>bad</Book></Shelf></Library>", REFUSED, "book bad refused" },
	{ "<Library><Shelf><Book>worse</Book></Shelf></Library>", REFUSED, "<Book> refused" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct result res;
		run(refusals[i].body, &res);
		if (res.rc != refusals[i].rc || !strstr(res.why, refusals[i].why) ||
		    strchr(res.why, '\n'))
			fail_msg("refusal %zu: rc %d why \"%s\", want %d \"%s\"", i, res.rc,
			         res.why, refusals[i].rc, refusals[i].why);
	}
}

static void test_namespaces(void **state)
{
	(void)state;
	struct result res;
	/* none is accepted besides the schema's, also mixed */
	run("<Library><Note xmlns=\"" NS "\">n</Note></Library>", &res);
	assert_int_equal(res.rc, 0);
	assert_string_equal(res.t.text, "+Library|+Note|Note=n|-Library/16|");
	/* a schema with no namespace refuses every one */
	struct http_xml_schema bare = schema;
	bare.ns = NULL;
	run_with(&bare, "<Library/>", 10, 0, &res);
	assert_int_equal(res.rc, 0);
	const char *with = "<Library xmlns=\"" NS "\"/>";
	run_with(&bare, with, strlen(with), 0, &res);
	assert_int_equal(res.rc, MALFORMED);
	assert_non_null(strstr(res.why, "namespace other than none"));
}

static void test_text_caps(void **state)
{
	(void)state;
	struct result res;
	/* at the cap exactly (a 3-byte character counts 3); one over, cut and told */
	run("<Library><Note>&#x263A;x</Note><Shelf><Book>0123456789abcdef</Book>"
	    "<Book>0123456789abcdefg</Book></Shelf></Library>",
	    &res);
	assert_int_equal(res.rc, 0);
	assert_non_null(strstr(res.t.text, "Note=\xe2\x98\xbax|"));
	assert_non_null(strstr(res.t.text, "Book=0123456789abcdef|+Book|Book~|"));
}

static void test_body_cap_and_empty(void **state)
{
	(void)state;
	char body[BODY_CAP + 2];
	const char *head = "<Library><!--", *tail = "--></Library>";
	memset(body, 'x', sizeof(body));
	memcpy(body, head, strlen(head));
	memcpy(body + BODY_CAP - strlen(tail), tail, strlen(tail));
	struct result res;
	run_with(&schema, body, BODY_CAP, 7, &res); /* exactly at the cap */
	assert_int_equal(res.rc, 0);
	memset(body + strlen(head), 'x', sizeof(body) - strlen(head));
	memcpy(body + BODY_CAP + 1 - strlen(tail), tail, strlen(tail));
	run_with(&schema, body, BODY_CAP + 1, 7, &res);
	assert_int_equal(res.rc, TOO_BIG);
	assert_non_null(strstr(res.why, "over 512 bytes"));
	/* malformed before the cap: malformed, not too big */
	body[0] = '>';
	run_with(&schema, body, BODY_CAP + 1, 0, &res);
	assert_int_equal(res.rc, MALFORMED);

	run_with(&schema, "", 0, 0, &res);
	assert_int_equal(res.rc, EMPTY);
	assert_non_null(strstr(res.why, "empty"));
	struct http_xml_schema empty_ok = schema;
	empty_ok.err_empty = 0;
	run_with(&empty_ok, "", 0, 0, &res);
	assert_int_equal(res.rc, 0);
	assert_string_equal(res.t.text, "");
}

static void test_sticky(void **state)
{
	(void)state;
	struct trace t = { .len = 0 };
	struct http_xml_reader *r;
	assert_int_equal(http_xml_reader_new(&schema, &t, &r), 0);
	http_xml_reader__direct(r);
	assert_int_equal(http_xml_reader_feed(r, "<Library><Note>a</Note>", 23), 0);
	assert_int_equal(http_xml_reader_feed(r, "<Note>b</Note>", 14), MALFORMED);
	char why[HTTP_XML_WHY_MAX];
	snprintf(why, sizeof(why), "%s", http_xml_reader_why(r));
	assert_non_null(strstr(why, "repeated"));
	size_t traced = t.len;
	/* later input, even good, changes nothing; nor does a later failure */
	assert_int_equal(http_xml_reader_feed(r, "<Shelf/></Library>", 18), MALFORMED);
	assert_int_equal(http_xml_reader_fail(r, REFUSED, "later"), REFUSED);
	assert_int_equal(http_xml_reader_finish(r), MALFORMED);
	assert_string_equal(http_xml_reader_why(r), why);
	assert_int_equal(t.len, traced);
	http_xml_reader_free(r);
	http_xml_reader_free(NULL);
}

/* Deferred feeding (not direct): the result does not depend on the pieces. */
static void test_deferred_feed(void **state)
{
	(void)state;
	struct trace t = { .len = 0 };
	struct http_xml_reader *r;
	assert_int_equal(http_xml_reader_new(&schema, &t, &r), 0);
	for (size_t i = 0; good[i]; i++)
		assert_int_equal(http_xml_reader_feed(r, good + i, 1), 0);
	assert_int_equal(http_xml_reader_fed(r), strlen(good));
	assert_int_equal(http_xml_reader_finish(r), 0);
	assert_string_equal(t.text, good_trace);
	http_xml_reader_free(r);
}

static int keep_leaf(struct http_xml_reader *r, void *ctx, int id, struct iov v, bool cut)
{
	struct iov *kept = ctx;
	(void)cut;
	return id == E_NOTE ? http_xml_reader_keep(r, v, kept) : 0;
}

/* Kept values outlive the parse, in the reader's storage, until it is freed. */
static void test_keep(void **state)
{
	(void)state;
	struct http_xml_schema s = schema;
	s.open = NULL, s.close = NULL, s.leaf = keep_leaf;
	struct iov kept = IOV_NULL;
	struct http_xml_reader *r;
	assert_int_equal(http_xml_reader_new(&s, &kept, &r), 0);
	char body[] = "<Library><Note>ab&lt;</Note></Library>";
	assert_int_equal(http_xml_reader_feed(r, body, strlen(body)), 0);
	assert_int_equal(http_xml_reader_finish(r), 0);
	memset(body, 0, sizeof(body));
	assert_true(iov_eq(kept, IOV_LIT("ab<")));
	http_xml_reader_free(r);
}

static void test_int(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(http_xml_int(IOV_LIT(" \n+42\t"), &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(http_xml_int(IOV_LIT("-2147483648"), &v), 0);
	assert_int_equal(v, -2147483648LL);
	assert_int_equal(http_xml_int(IOV_LIT("2147483647"), &v), 0);
	assert_int_equal(v, 2147483647);
	const char *bad[] = {
		"", " ", "2147483648", "-2147483649", "1 2", "1.0", "0x1", "--1", "+"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_xml_int(iov_cstr(bad[i]), &v), ERR_INVALID);
	assert_true(iov_eq(http_xml_collapse(IOV_LIT("\r\n a b \t")), IOV_LIT("a b")));
}

static void test_escape(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 256);
	const char in[] = "a<b>&\"c'\td\ne\rf \xc3\xa9\xef\xbf\xbe";
	assert_int_equal(http_xml_escape(&b, iov_make(in, sizeof(in) - 1), HTTP_XML_C0_HEX), 0);
	assert_string_equal(buf_cstr(&b), "a&lt;b&gt;&amp;&quot;c&apos;&#9;d&#10;e&#13;f "
	                                  "\xc3\xa9\xef\xbf\xbe");
	buf_reset(&b);
	assert_int_equal(http_xml_escape(&b, iov_make("x\x01y\x1f", 4), HTTP_XML_C0_HEX), 0);
	assert_string_equal(buf_cstr(&b), "x&#x1;y&#x1f;");

	/* refused in one mode or both; `out` is left as it was */
	buf_reset(&b);
	assert_int_equal(buf_add_str(&b, "keep"), 0);
	static const struct {
		const char *s;
		bool hex_ok;
	} cases[] = {
		{ "x\x01", true },
		{ "\xef\xbf\xbe", true },
		{ "\xef\xbf\xbf", true },
		{ "\xc3", false },
		{ "\xc0\xaf", false },
		{ "\xed\xa0\x80", false },
		{ "\xf4\x90\x80\x80", false },
		{ "a\xff", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iov v = iov_cstr(cases[i].s);
		assert_int_equal(http_xml_escape(&b, v, HTTP_XML_C0_REFUSE), ERR_INVALID);
		assert_string_equal(buf_cstr(&b), "keep");
		int rc = http_xml_escape(&b, v, HTTP_XML_C0_HEX);
		assert_int_equal(rc, cases[i].hex_ok ? 0 : ERR_INVALID);
		b.len = 4;
	}
	buf_free(&b);

	/* over the cap: ERR_TOO_BIG, nothing written */
	buf_init(&b, 8);
	assert_int_equal(http_xml_escape(&b, IOV_LIT("<<"), HTTP_XML_C0_REFUSE), 0);
	assert_int_equal(http_xml_escape(&b, IOV_LIT("&"), HTTP_XML_C0_REFUSE), ERR_TOO_BIG);
	assert_int_equal(b.len, 8);
	buf_free(&b);

	buf_init(&b, 64);
	assert_int_equal(http_xml_leaf(&b, "K", IOV_LIT("a&b")), 0);
	assert_string_equal(buf_cstr(&b), "<K>a&amp;b</K>");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_document), cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_refusals),      cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_text_caps),     cmocka_unit_test(test_body_cap_and_empty),
		cmocka_unit_test(test_sticky),        cmocka_unit_test(test_deferred_feed),
		cmocka_unit_test(test_keep),          cmocka_unit_test(test_int),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
