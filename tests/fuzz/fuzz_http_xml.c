/*
 * libFuzzer: the shared strict XML reader (http/xml) on a made-up schema, and
 * the escaper. The first byte picks the piece size (bits 0-4, 0: whole),
 * direct feeding (bit 5), a schema without namespace (bit 6) and an accepted
 * empty body (bit 7); the rest is the body. The answer must be one of the
 * schema's codes with a one-line reason exactly when it fails, and must not
 * depend on the pieces: fed whole, the same code and the same callbacks. A
 * success satisfies the schema (counts, caps). Finally the body goes through
 * the escaper: accepted in XML 1.0 mode, expat reads back the same bytes.
 */
#include <expat.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"

enum { E_ROOT, E_LIST, E_ITEM, E_NAME, E_FLAG, E_COUNT };

static const struct http_xml_rule rules[] = {
	[E_ROOT] = { "Root", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_LIST] = { "List", E_ROOT, 0, 3, 0 },
	[E_ITEM] = { "Item", E_LIST, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 5, 12 },
	[E_NAME] = { "Name", E_ROOT, HTTP_XML_LEAF, 1, 8 },
	[E_FLAG] = { "Flag", E_LIST, HTTP_XML_LEAF, 1, 4 },
};

#define MALFORMED ERR_INVALID
#define TOO_BIG   ERR_TOO_BIG
#define EMPTY     ERR_NOT_FOUND
#define REFUSED   ERR_INTERNAL
#define BODY_CAP  4096

struct trace {
	struct buf log;
	unsigned lists, items; /* open now */
};

static int on_open(struct http_xml_reader *r, void *ctx, int id)
{
	struct trace *t = ctx;
	(void)r;
	if (id == E_LIST)
		t->items = 0, t->lists++;
	if (id == E_ITEM)
		t->items++;
	CHECK(t->lists <= 3 && t->items <= 5);
	CHECK(buf_printf(&t->log, "+%d", id) == 0);
	return 0;
}

static int on_leaf(struct http_xml_reader *r, void *ctx, int id, struct iov v, bool cut)
{
	struct trace *t = ctx;
	CHECK(v.len <= rules[id].text_max && (!cut || (v.len == 0 && id == E_ITEM)));
	if (iov_eq(v, IOV_LIT("no")))
		return http_xml_reader_fail(r, REFUSED, "refused");
	CHECK(buf_printf(&t->log, "=%d%s", id, cut ? "~" : "") == 0);
	CHECK(buf_add_iov(&t->log, v) == 0);
	return 0;
}

static int on_close(struct http_xml_reader *r, void *ctx, int id, uint64_t seen)
{
	struct trace *t = ctx;
	(void)r;
	for (int i = 0; i < E_COUNT; i++)
		CHECK(!(seen & HTTP_XML_BIT(i)) || rules[i].parent == id);
	CHECK(buf_printf(&t->log, "-%d/%llu", id, (unsigned long long)seen) == 0);
	return 0;
}

static int parse(const struct http_xml_schema *s, const char *p, size_t n, size_t piece,
                 bool direct, struct trace *t)
{
	struct http_xml_reader *r;
	CHECK(http_xml_reader_new(s, t, &r) == 0);
	if (direct)
		http_xml_reader__direct(r);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < n; off += piece)
		rc = http_xml_reader_feed(r, p + off, n - off < piece ? n - off : piece);
	if (rc == 0)
		rc = http_xml_reader_finish(r);
	else
		CHECK(http_xml_reader_finish(r) == rc);
	const char *why = http_xml_reader_why(r);
	CHECK(rc == 0 || rc == MALFORMED || rc == TOO_BIG || rc == REFUSED || rc == ERR_NOMEM ||
	      (rc == EMPTY && n == 0));
	CHECK((rc == 0) == (why[0] == '\0') && !strchr(why, '\n'));
	CHECK(strlen(why) < HTTP_XML_WHY_MAX);
	http_xml_reader_free(r);
	return rc;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	CHECK(buf_add(ud, s, (size_t)len) == 0);
}

static void check_escape(const char *p, size_t n)
{
	struct buf b;
	buf_init(&b, 8 * n + 64);
	CHECK(buf_add_str(&b, "<a>") == 0);
	int rc = http_xml_escape(&b, iov_make(p, n), HTTP_XML_C0_REFUSE);
	CHECK(rc == 0 || (rc == ERR_INVALID && b.len == 3));
	b.len = 3;
	int hex = http_xml_escape(&b, iov_make(p, n), HTTP_XML_C0_HEX);
	CHECK(rc != 0 || hex == 0); /* HEX refuses less */
	if (rc == 0) {
		b.len = 3;
		CHECK(http_xml_escape(&b, iov_make(p, n), HTTP_XML_C0_REFUSE) == 0);
		CHECK(buf_add_str(&b, "</a>") == 0);
		struct buf text;
		buf_init(&text, n + 1);
		XML_Parser x = XML_ParserCreate(NULL);
		CHECK(x != NULL);
		XML_SetUserData(x, &text);
		XML_SetCharacterDataHandler(x, on_text);
		CHECK(XML_Parse(x, b.data, (int)b.len, XML_TRUE) == XML_STATUS_OK);
		CHECK(iov_eq(buf_iov(&text), iov_make(p, n)));
		XML_ParserFree(x);
		buf_free(&text);
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	struct http_xml_schema s = {
		.rules = rules,
		.nrules = E_COUNT,
		.root = E_ROOT,
		.ns = (ctl & 0x40) ? NULL : "urn:fuzz",
		.cap = BODY_CAP,
		.err_malformed = MALFORMED,
		.err_too_big = TOO_BIG,
		.err_empty = (ctl & 0x80) ? 0 : EMPTY,
		.open = on_open,
		.leaf = on_leaf,
		.close = on_close,
	};
	size_t piece = (ctl & 0x1f) ? (ctl & 0x1f) : (n ? n : 1);
	struct trace split = { .lists = 0 }, whole = { .lists = 0 };
	buf_init(&split.log, 1u << 20);
	buf_init(&whole.log, 1u << 20);
	int rc = parse(&s, p, n, piece, ctl & 0x20, &split);
	int rc_whole = parse(&s, p, n, n ? n : 1, true, &whole);
	CHECK(rc == rc_whole && iov_eq(buf_iov(&split.log), buf_iov(&whole.log)));
	buf_free(&split.log);
	buf_free(&whole.log);
	check_escape(p, n);
	return 0;
}
