/*
 * A strict XML document reader on expat, and an XML text escaper, shared by
 * every request body Meridian reads as XML (docs/internals/http-xml.md): S3
 * request bodies (s3/xml_reader), the router's control API (router/admin_xml)
 * and the edge's invalidation batch (edge/invalidation_xml).
 *
 * A document is described by data, a struct http_xml_schema: a table of
 * element rules (name, parent rule, leaf or container, how many times under
 * one parent, leaf text cap), the root rule, an accepted namespace, a byte
 * cap, the error codes to answer with, and callbacks through which the user
 * fills its own result. The reader refuses, with the schema's error code and
 * a one-line reason (http_xml_reader_why):
 * - any DOCTYPE or entity declaration (no DTD processing at all, so no entity
 *   expansion attacks) and anything not well-formed: err_malformed;
 * - a root other than the schema's, an element unknown under its parent, an
 *   element over its count under one parent, text other than XML whitespace
 *   where only elements belong, an element in a namespace other than `ns`
 *   (no namespace is always accepted): err_malformed;
 * - leaf text over its rule's text_max, unless the rule has HTTP_XML_CUT_OK
 *   (then the leaf callback is told and judges): err_malformed;
 * - a body over `cap` bytes: err_too_big (bytes up to the cap are parsed
 *   first, so a body malformed before the cap is err_malformed);
 * - an empty body: err_empty (0 there means an empty body is accepted:
 *   finish returns 0 and no callback runs).
 * A callback fails the document by returning a negative code (with a reason
 * from http_xml_reader_fail, or a default one).
 *
 * One reader per document, used by one thread at a time: feed the body in
 * pieces as they arrive, in any split, then finish. Errors are sticky: after
 * one, feed and finish keep returning it.
 */
#ifndef MERIDIAN_HTTP_XML_H
#define MERIDIAN_HTTP_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/iov.h"

#define HTTP_XML_DECL      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define HTTP_XML_MAX_RULES 64 /* rule ids index a uint64_t mask of seen children */
#define HTTP_XML_MAX_DEPTH 8
#define HTTP_XML_NO_PARENT (-1) /* the parent of the root rule */
#define HTTP_XML_WHY_MAX   160  /* a reason, NUL included */

enum {
	HTTP_XML_LEAF = 1,   /* holds text, no children */
	HTTP_XML_CUT_OK = 2, /* leaf text over text_max is cut and given to the leaf callback */
};

/* One element. Its id is its index in the schema's table. */
struct http_xml_rule {
	const char *name; /* local name */
	int parent;       /* index of the parent rule, or HTTP_XML_NO_PARENT */
	unsigned flags;
	uint32_t max;    /* times under one parent: 1 once, 0 unbounded */
	size_t text_max; /* leaves: text cap in bytes */
};

struct http_xml_reader;

/*
 * A document. Callbacks may be NULL; each returns 0, or a negative code that
 * ends the parse (sticky; a reason given with http_xml_reader_fail is kept).
 * `ctx` is the pointer given to http_xml_reader_new.
 * - open: an element passed the structure checks (any element).
 * - leaf: a leaf closed; `text` is its content, character references
 *   resolved, not trimmed, valid until the callback returns; `cut` when the
 *   text went over text_max (only with HTTP_XML_CUT_OK; `text` is then empty).
 * - close: a container closed; `seen` has bit i set for each child rule i met.
 */
struct http_xml_schema {
	const struct http_xml_rule *rules;
	size_t nrules;  /* 1..HTTP_XML_MAX_RULES, the chain of parents at most HTTP_XML_MAX_DEPTH */
	int root;       /* index of the root rule */
	const char *ns; /* accepted namespace besides none; NULL: none only */
	size_t cap;     /* body bytes */
	int err_malformed, err_too_big, err_empty;
	int (*open)(struct http_xml_reader *r, void *ctx, int id);
	int (*leaf)(struct http_xml_reader *r, void *ctx, int id, struct iov text, bool cut);
	int (*close)(struct http_xml_reader *r, void *ctx, int id, uint64_t seen);
};

#define HTTP_XML_BIT(id) (UINT64_C(1) << (id))

/* A reader for one document (schema and ctx borrowed, must outlive it).
 * 0 or ERR_NOMEM. */
int http_xml_reader_new(const struct http_xml_schema *s, void *ctx, struct http_xml_reader **out);
/* NULL is a no-op. */
void http_xml_reader_free(struct http_xml_reader *r);

/* Parse the next `n` bytes (borrowed for the call). 0 or the sticky error
 * (which both return, any number of times, once there is one). */
int http_xml_reader_feed(struct http_xml_reader *r, const char *p, size_t n);
/* The body is complete. 0 (every callback ran) or the sticky error. Once if
 * it succeeds; a user's check after it may still fail the document with
 * http_xml_reader_fail. */
int http_xml_reader_finish(struct http_xml_reader *r);
/* From a callback or after finish: a copy of `v` in storage the reader owns,
 * valid until http_xml_reader_free (the result's strings). 0 or ERR_NOMEM. */
int http_xml_reader_keep(struct http_xml_reader *r, struct iov v, struct iov *out);
/* Bytes fed so far (up to the cap). */
size_t http_xml_reader_fed(const struct http_xml_reader *r);
/* The one-line reason for the sticky error; "" when there is none. */
const char *http_xml_reader_why(const struct http_xml_reader *r);

/* From a callback: record `err` with a printf-style reason (kept only if no
 * error is recorded yet) and return `err`, for `return http_xml_reader_fail(...)`. */
int http_xml_reader_fail(struct http_xml_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Module-internal, for tests and fuzzers: hand every piece to expat as it
 * comes (no deferral), so splits reach the callbacks. Before any feed. */
void http_xml_reader__direct(struct http_xml_reader *r);

/* `v` without XML whitespace (SP TAB LF CR) around it, as xs:int and
 * xs:boolean collapse it (strings do not). */
struct iov http_xml_collapse(struct iov v);

/* An xs:int: XML whitespace around, an optional sign, decimal digits, within
 * 32 bits. 0 or ERR_INVALID. */
int http_xml_int(struct iov v, int64_t *out);

/* What the escaper does with C0 controls other than TAB LF CR. */
enum http_xml_c0 {
	HTTP_XML_C0_REFUSE, /* XML 1.0: refused, and so are U+FFFE and U+FFFF */
	HTTP_XML_C0_HEX,    /* as S3 writes them: &#xN; (lowercase hex, XML 1.1 style) */
};

/* Append `text` escaped for element content: & < > " ' as the five named
 * entities, TAB LF CR as &#9; &#10; &#13; (so they survive end-of-line
 * normalisation), other C0 controls as `c0` says, the rest copied. 0;
 * ERR_INVALID (not UTF-8, or a character refused by `c0`); ERR_TOO_BIG or
 * ERR_NOMEM. On error `out` is unchanged. Any thread. */
int http_xml_escape(struct buf *out, struct iov text, enum http_xml_c0 c0);

/* Append <name>escaped text</name> (HTTP_XML_C0_REFUSE); name is ours, as is.
 * Returns as http_xml_escape; on error `out` may hold part of the element. */
int http_xml_leaf(struct buf *out, const char *name, struct iov text);

#endif
