/*
 * The strict XML document reader and the escaper (contract in xml.h): one set
 * of expat callbacks checks every element against the schema's rule table;
 * each leaf's text is collected in a capped buffer and handed to the leaf
 * callback when the element closes. One reader per document; one thread at a
 * time. The escaper is pure.
 */
#include "http/xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"

#define READER_MAGIC 0x48584d4cu /* "HXML" */
#define NS_SEP       ' '         /* expat: "uri local" (a URI holds no space) */
#define NAME_ECHO    64          /* longer element names are not echoed in a reason */
/*
 * expat 2.5 rescans a token left incomplete at the end of one XML_Parse call
 * from its start on the next call, so a big comment or tag fed in small
 * pieces costs O(n^2). Input is therefore handed over in pieces of at least
 * FEED_MIN bytes and at least half of what was parsed so far: O(log n) calls
 * for one huge token, at most a few dozen for any body (expat 2.6 does the
 * same inside as "reparse deferral").
 */
#define FEED_MIN (64u << 10)

struct frame {
	int id;
	uint64_t seen; /* children met so far, HTTP_XML_BIT(id) */
};

struct http_xml_reader {
	uint32_t magic;
	const struct http_xml_schema *s;
	void *ctx;
	XML_Parser parser;
	size_t fed;         /* bytes taken, up to the cap */
	size_t parsed;      /* bytes handed to expat */
	bool direct;        /* tests: no deferral, every piece goes to expat */
	bool finished;      /* finish was called */
	struct buf pending; /* fed, not yet handed to expat */
	int err;            /* sticky */
	char why[HTTP_XML_WHY_MAX];
	size_t depth;
	struct frame stack[HTTP_XML_MAX_DEPTH];
	uint32_t count[HTTP_XML_MAX_RULES]; /* of each rule under its current parent */
	bool cut;                           /* the current leaf's text went over its cap */
	struct buf text;                    /* the current leaf's text */
	struct arena *kept;                 /* http_xml_reader_keep; made on first use */
};

/* ---- errors ----------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 0))) static int vfail(struct http_xml_reader *r, int err,
                                                       const char *fmt, va_list ap)
{
	if (r->err)
		return err;
	r->err = err;
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	if (r->parser)
		XML_StopParser(r->parser, XML_FALSE);
	return err;
}

int http_xml_reader_fail(struct http_xml_reader *r, int err, const char *fmt, ...)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(err < 0);
	va_list ap;
	va_start(ap, fmt);
	vfail(r, err, fmt, ap);
	va_end(ap);
	return err;
}

#define FAIL(r, err, ...) ((void)http_xml_reader_fail((r), (err), __VA_ARGS__))

/* A callback's result: a failure without a reason gets a default one. */
static void callback_result(struct http_xml_reader *r, int rc, const char *name)
{
	if (rc == ERR_NOMEM)
		FAIL(r, rc, "out of memory");
	else if (rc)
		FAIL(r, rc, "element <%s> refused: %s", name, err_text(rc));
}

/* ---- expat callbacks -------------------------------------------------------------------- */

static inline bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The local name of "uri local" or "local"; NULL for a foreign namespace. */
static const char *local_name(const struct http_xml_schema *s, const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	if (!sep)
		return name;
	size_t ulen = (size_t)(sep - name);
	if (!s->ns || ulen != strlen(s->ns) || memcmp(name, s->ns, ulen) != 0)
		return NULL;
	return sep + 1;
}

static int find_rule(const struct http_xml_schema *s, int parent, const char *name)
{
	if (parent == HTTP_XML_NO_PARENT)
		return strcmp(s->rules[s->root].name, name) == 0 ? s->root : -1;
	for (size_t i = 0; i < s->nrules; i++)
		if (s->rules[i].parent == parent && strcmp(s->rules[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void unexpected(struct http_xml_reader *r, int parent, const char *name)
{
	const struct http_xml_schema *s = r->s;
	/* a long name is not echoed: cutting it could split a UTF-8 sequence */
	bool echo = strlen(name) <= NAME_ECHO;
	FAIL(r, s->err_malformed, "unexpected element%s%s%s%s%s%s", echo ? " <" : "",
	     echo ? name : "", echo ? ">" : "",
	     parent == HTTP_XML_NO_PARENT ? ": the root must be <" : "",
	     parent == HTTP_XML_NO_PARENT ? s->rules[s->root].name : "",
	     parent == HTTP_XML_NO_PARENT ? ">" : "");
}

static void on_start(void *ud, const XML_Char *qname, const XML_Char **atts)
{
	struct http_xml_reader *r = ud;
	const struct http_xml_schema *s = r->s;
	(void)atts; /* attributes carry nothing; xmlns is handled by expat */
	if (r->err)
		return;
	const char *name = local_name(s, qname);
	if (!name) {
		FAIL(r, s->err_malformed, "element in a namespace other than %s",
		     s->ns ? s->ns : "none");
		return;
	}
	struct frame *parent = r->depth ? &r->stack[r->depth - 1] : NULL;
	int pid = parent ? parent->id : HTTP_XML_NO_PARENT;
	if (parent && (s->rules[pid].flags & HTTP_XML_LEAF)) {
		unexpected(r, pid, name);
		return;
	}
	int id = find_rule(s, pid, name);
	if (id < 0) {
		unexpected(r, pid, name);
		return;
	}
	const struct http_xml_rule *rule = &s->rules[id];
	if (rule->max && r->count[id] == rule->max) {
		if (rule->max == 1)
			FAIL(r, s->err_malformed, "element <%s> repeated", rule->name);
		else
			FAIL(r, s->err_malformed, "more than %u <%s> elements", (unsigned)rule->max,
			     rule->name);
		return;
	}
	r->count[id]++;
	if (parent)
		parent->seen |= HTTP_XML_BIT(id);
	CHECK(r->depth < HTTP_XML_MAX_DEPTH); /* checked on the schema at new */
	r->stack[r->depth++] = (struct frame){ .id = id };
	if (rule->flags & HTTP_XML_LEAF) {
		buf_reset(&r->text);
		r->cut = false;
	} else {
		for (size_t i = 0; i < s->nrules; i++)
			if (s->rules[i].parent == id)
				r->count[i] = 0;
	}
	if (s->open)
		callback_result(r, s->open(r, r->ctx, id), rule->name);
}

static void on_end(void *ud, const XML_Char *qname)
{
	struct http_xml_reader *r = ud;
	const struct http_xml_schema *s = r->s;
	(void)qname; /* expat has matched it against the start tag */
	if (r->err)
		return;
	CHECK(r->depth > 0);
	const struct frame *f = &r->stack[--r->depth];
	const struct http_xml_rule *rule = &s->rules[f->id];
	int rc = 0;
	if (!(rule->flags & HTTP_XML_LEAF)) {
		if (s->close)
			rc = s->close(r, r->ctx, f->id, f->seen);
	} else if (r->cut && !(rule->flags & HTTP_XML_CUT_OK)) {
		FAIL(r, s->err_malformed, "<%s> is over %zu bytes", rule->name, rule->text_max);
	} else if (s->leaf) {
		struct iov text = r->cut ? IOV_LIT("") : buf_iov(&r->text);
		rc = s->leaf(r, r->ctx, f->id, text, r->cut);
	}
	callback_result(r, rc, rule->name);
}

static void on_text(void *ud, const XML_Char *p, int len)
{
	struct http_xml_reader *r = ud;
	if (r->err || len <= 0)
		return;
	const struct frame *f = r->depth ? &r->stack[r->depth - 1] : NULL;
	const struct http_xml_rule *rule = f ? &r->s->rules[f->id] : NULL;
	if (!rule || !(rule->flags & HTTP_XML_LEAF)) {
		for (int i = 0; i < len; i++)
			if (!xml_space(p[i])) {
				FAIL(r, r->s->err_malformed, "text where only elements belong");
				return;
			}
		return;
	}
	if (r->cut || (size_t)len > rule->text_max - r->text.len) {
		r->cut = true;
		return;
	}
	int rc = buf_add(&r->text, p, (size_t)len);
	CHECK(rc == 0); /* the text buffer holds the largest leaf cap */
}

/* No DTD at all: its mere start ends the parse, before any entity exists. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
	struct http_xml_reader *r = ud;
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	FAIL(r, r->s->err_malformed, "a DOCTYPE is not allowed");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
	struct http_xml_reader *r = ud;
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	FAIL(r, r->s->err_malformed, "entity declarations are not allowed");
}

/* ---- reader ----------------------------------------------------------------------------- */

/* The schema's invariants; returns the largest leaf text cap. */
static size_t check_schema(const struct http_xml_schema *s)
{
	CHECK(s && s->rules && s->nrules > 0 && s->nrules <= HTTP_XML_MAX_RULES);
	CHECK(s->root >= 0 && (size_t)s->root < s->nrules && s->cap > 0);
	CHECK(s->err_malformed < 0 && s->err_too_big < 0 && s->err_empty <= 0);
	size_t text = 0;
	for (size_t i = 0; i < s->nrules; i++) {
		const struct http_xml_rule *rule = &s->rules[i];
		CHECK(rule->name && rule->parent >= HTTP_XML_NO_PARENT &&
		      rule->parent < (int)s->nrules);
		size_t depth = 1;
		for (int p = rule->parent; p != HTTP_XML_NO_PARENT; p = s->rules[p].parent)
			CHECK(++depth <= HTTP_XML_MAX_DEPTH);
		if ((rule->flags & HTTP_XML_LEAF) && rule->text_max > text)
			text = rule->text_max;
	}
	return text;
}

int http_xml_reader_new(const struct http_xml_schema *s, void *ctx, struct http_xml_reader **out)
{
	size_t text = check_schema(s);
	struct http_xml_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->magic = READER_MAGIC;
	r->s = s;
	r->ctx = ctx;
	buf_init(&r->text, text);
	buf_init(&r->pending, s->cap);
	r->parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (!r->parser || (text && buf_reserve(&r->text, text) != 0)) {
		http_xml_reader_free(r);
		return ERR_NOMEM;
	}
	XML_SetUserData(r->parser, r);
	XML_SetElementHandler(r->parser, on_start, on_end);
	XML_SetCharacterDataHandler(r->parser, on_text);
	XML_SetStartDoctypeDeclHandler(r->parser, on_doctype);
	XML_SetEntityDeclHandler(r->parser, on_entity);
	XML_SetParamEntityParsing(r->parser, XML_PARAM_ENTITY_PARSING_NEVER);
	*out = r;
	return 0;
}

void http_xml_reader_free(struct http_xml_reader *r)
{
	if (!r)
		return;
	CHECK_MAGIC(r, READER_MAGIC);
	if (r->parser)
		XML_ParserFree(r->parser);
	buf_free(&r->text);
	buf_free(&r->pending);
	arena_free(r->kept);
	r->magic = 0;
	free(r);
}

static void parse(struct http_xml_reader *r, const char *p, size_t n, bool final)
{
	r->parsed += n;
	if (XML_Parse(r->parser, p, (int)n, final) == XML_STATUS_OK || r->err)
		return; /* aborted: a callback has recorded the error */
	enum XML_Error e = XML_GetErrorCode(r->parser);
	if (e == XML_ERROR_NO_MEMORY)
		FAIL(r, ERR_NOMEM, "out of memory");
	else
		FAIL(r, r->s->err_malformed, "malformed XML at line %lu column %lu: %s",
		     (unsigned long)XML_GetCurrentLineNumber(r->parser),
		     (unsigned long)XML_GetCurrentColumnNumber(r->parser) + 1, XML_ErrorString(e));
}

static void flush(struct http_xml_reader *r)
{
	if (r->pending.len && r->err == 0)
		parse(r, r->pending.data, r->pending.len, false);
	buf_reset(&r->pending);
}

int http_xml_reader_feed(struct http_xml_reader *r, const char *p, size_t n)
{
	CHECK_MAGIC(r, READER_MAGIC);
	if (r->err)
		return r->err;
	CHECK(!r->finished && (p || n == 0));
	size_t cap = r->s->cap;
	size_t take = n < cap - r->fed ? n : cap - r->fed;
	size_t due = r->direct ? 0 : r->parsed / 2 > FEED_MIN ? r->parsed / 2 : FEED_MIN;
	r->fed += take;
	if (r->pending.len == 0 && take && take >= due) {
		parse(r, p, take, false);
	} else if (take) {
		int rc = buf_add(&r->pending, p, take);
		if (rc)
			FAIL(r, rc, "out of memory");
		else if (r->pending.len >= due)
			flush(r);
	}
	if (r->err == 0 && take < n) {
		flush(r); /* a body malformed before the cap is malformed */
		FAIL(r, r->s->err_too_big, "the request body is over %zu bytes", cap);
	}
	return r->err;
}

int http_xml_reader_finish(struct http_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	if (r->err)
		return r->err;
	CHECK(!r->finished);
	r->finished = true;
	if (r->fed == 0) {
		if (r->s->err_empty)
			FAIL(r, r->s->err_empty, "the request body is empty");
		return r->err;
	}
	flush(r);
	if (r->err == 0)
		parse(r, NULL, 0, true);
	return r->err;
}

int http_xml_reader_keep(struct http_xml_reader *r, struct iov v, struct iov *out)
{
	CHECK_MAGIC(r, READER_MAGIC);
	/* Every kept value is at most its bytes in the body; each costs up to 16
	 * more of alignment, and the smallest element pair is 7 bytes. */
	if (!r->kept && !(r->kept = arena_new(r->s->cap * 4)))
		return ERR_NOMEM;
	*out = arena_dup(r->kept, v);
	return out->base ? 0 : ERR_NOMEM;
}

size_t http_xml_reader_fed(const struct http_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return r->fed;
}

const char *http_xml_reader_why(const struct http_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return r->why;
}

void http_xml_reader__direct(struct http_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(r->fed == 0);
	r->direct = true;
}

struct iov http_xml_collapse(struct iov v)
{
	while (v.len && xml_space(v.base[0]))
		v = iov_sub(v, 1, v.len - 1);
	while (v.len && xml_space(v.base[v.len - 1]))
		v.len--;
	return v;
}

int http_xml_int(struct iov v, int64_t *out)
{
	bool neg = false;
	unsigned long long u;
	v = http_xml_collapse(v);
	if (v.len && (v.base[0] == '+' || v.base[0] == '-')) {
		neg = v.base[0] == '-';
		v = iov_sub(v, 1, v.len - 1);
	}
	if (iov_to_u64(v, neg ? 2147483648ull : 2147483647ull, &u))
		return ERR_INVALID;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

/* ---- escaping --------------------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at p (1..4, n > 0 bytes
 * available, p[0] >= 0x80) and its code point; 0 if it is not one (overlong
 * forms, surrogates and values above U+10FFFF are not). */
static size_t utf8_char(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t min;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, *cp = p[0] & 0x1fu, min = 0x80;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, *cp = p[0] & 0x0fu, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, *cp = p[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3fu);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* The escape of one ASCII byte, "" to copy it, or NULL if it is refused. */
static const char *ascii_escape(unsigned char c, enum http_xml_c0 c0, char tmp[8])
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	case '\t':
		return "&#9;";
	case '\n':
		return "&#10;";
	case '\r':
		return "&#13;";
	default:
		break;
	}
	if (c >= 0x20)
		return "";
	if (c0 == HTTP_XML_C0_REFUSE)
		return NULL;
	snprintf(tmp, 8, "&#x%x;", c);
	return tmp;
}

int http_xml_escape(struct buf *out, struct iov text, enum http_xml_c0 c0)
{
	const unsigned char *p = (const unsigned char *)text.base;
	size_t start = out->len, run = 0, i = 0;
	int rc = 0;
	char tmp[8];
	while (rc == 0 && i < text.len) {
		if (p[i] >= 0x80) {
			uint32_t cp;
			size_t k = utf8_char(p + i, text.len - i, &cp);
			if (k == 0 || (c0 == HTTP_XML_C0_REFUSE && (cp == 0xfffe || cp == 0xffff)))
				rc = ERR_INVALID;
			i += k;
			continue;
		}
		const char *esc = ascii_escape(p[i], c0, tmp);
		if (!esc) {
			rc = ERR_INVALID;
		} else if (esc[0]) {
			rc = buf_add(out, text.base + run, i - run);
			if (rc == 0)
				rc = buf_add_str(out, esc);
			run = i + 1;
		}
		i++;
	}
	if (rc == 0)
		rc = buf_add(out, text.base + run, text.len - run);
	if (rc)
		out->len = start;
	return rc;
}

int http_xml_leaf(struct buf *out, const char *name, struct iov text)
{
	int rc = buf_printf(out, "<%s>", name);
	if (rc == 0)
		rc = http_xml_escape(out, text, HTTP_XML_C0_REFUSE);
	if (rc == 0)
		rc = buf_printf(out, "</%s>", name);
	return rc;
}
