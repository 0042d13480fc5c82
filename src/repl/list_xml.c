/*
 * ListVersionsResult reader (list_xml.h), on expat. The element path is
 * tracked by depth: the root at depth 1, Version / DeleteMarker and the
 * top-level fields at 2, their fields at 3.
 */
#include "repl/list_xml.h"

#include <expat.h>
#include <string.h>

#include "base/err.h"

enum field { F_NONE, F_KEY, F_VID, F_TRUNCATED, F_NEXT_KEY, F_NEXT_VID };

struct parse {
	XML_Parser x;
	struct arena *a;
	struct repl_list *out;
	size_t cap;
	int depth;
	bool in_entry;
	bool entry_marker;
	struct repl_list_entry cur;
	enum field field;
	char text[REPL_LIST_TEXT_MAX];
	size_t len;
	int rc;
};

/* The local name of a possibly namespaced element ("ns<sep>name"). */
static const char *local(const char *name)
{
	const char *s = strrchr(name, '|');
	return s ? s + 1 : name;
}

static void fail(struct parse *p, int rc)
{
	if (!p->rc)
		p->rc = rc;
	XML_StopParser(p->x, XML_FALSE);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	(void)attrs;
	struct parse *p = ud;
	const char *n = local(name);
	p->depth++;
	p->field = F_NONE;
	p->len = 0;
	if (p->depth == 1) {
		if (strcmp(n, "ListVersionsResult") != 0)
			fail(p, ERR_INVALID);
		return;
	}
	if (p->depth == 2) {
		if (strcmp(n, "Version") == 0 || strcmp(n, "DeleteMarker") == 0) {
			p->in_entry = true;
			p->entry_marker = n[0] == 'D';
			memset(&p->cur, 0, sizeof(p->cur));
		} else if (strcmp(n, "IsTruncated") == 0) {
			p->field = F_TRUNCATED;
		} else if (strcmp(n, "NextKeyMarker") == 0) {
			p->field = F_NEXT_KEY;
		} else if (strcmp(n, "NextVersionIdMarker") == 0) {
			p->field = F_NEXT_VID;
		}
		return;
	}
	if (p->depth == 3 && p->in_entry) {
		if (strcmp(n, "Key") == 0)
			p->field = F_KEY;
		else if (strcmp(n, "VersionId") == 0)
			p->field = F_VID;
	}
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct parse *p = ud;
	if (p->field == F_NONE || p->rc)
		return;
	if ((size_t)len > sizeof(p->text) - p->len) {
		fail(p, ERR_TOO_BIG);
		return;
	}
	memcpy(p->text + p->len, s, (size_t)len);
	p->len += (size_t)len;
}

static int keep(struct parse *p, struct iov *out)
{
	*out = p->len ? arena_dup(p->a, iov_make(p->text, p->len)) : iov_make("", 0);
	return out->base ? 0 : ERR_NOMEM;
}

static void on_end(void *ud, const XML_Char *name)
{
	(void)name;
	struct parse *p = ud;
	int rc = 0;
	switch (p->field) {
	case F_KEY:
		rc = keep(p, &p->cur.key);
		break;
	case F_VID:
		rc = keep(p, &p->cur.version_id);
		break;
	case F_TRUNCATED:
		p->out->truncated = p->len == 4 && memcmp(p->text, "true", 4) == 0;
		break;
	case F_NEXT_KEY:
		rc = keep(p, &p->out->next_key);
		break;
	case F_NEXT_VID:
		rc = keep(p, &p->out->next_vid);
		break;
	case F_NONE:
		break;
	}
	p->field = F_NONE;
	if (p->depth == 2 && p->in_entry) {
		p->in_entry = false;
		if (!p->cur.key.len || !p->cur.version_id.len) {
			rc = ERR_INVALID;
		} else if (p->out->n == REPL_LIST_MAX) {
			rc = ERR_TOO_BIG;
		} else {
			if (p->out->n == p->cap) {
				size_t cap = p->cap ? 2 * p->cap : 64;
				struct repl_list_entry *e = arena_alloc(p->a, cap * sizeof(*e));
				if (!e) {
					rc = ERR_NOMEM;
				} else {
					if (p->out->n)
						memcpy(e, p->out->entries, p->out->n * sizeof(*e));
					p->out->entries = e;
					p->cap = cap;
				}
			}
			if (!rc) {
				p->cur.marker = p->entry_marker;
				p->out->entries[p->out->n++] = p->cur;
			}
		}
	}
	p->depth--;
	if (rc)
		fail(p, rc);
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int internal)
{
	(void)name, (void)sysid, (void)pubid, (void)internal;
	fail(ud, ERR_INVALID);
}

static void on_entity(void *ud, const XML_Char *name, int param, const XML_Char *value, int len,
                      const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                      const XML_Char *notation)
{
	(void)name, (void)param, (void)value, (void)len, (void)base, (void)sysid, (void)pubid,
	    (void)notation;
	fail(ud, ERR_INVALID);
}

int repl_list_parse(struct iov body, struct arena *a, struct repl_list *out)
{
	memset(out, 0, sizeof(*out));
	if (body.len > REPL_LIST_BODY_MAX)
		return ERR_TOO_BIG;
	struct parse p = { .a = a, .out = out };
	p.x = XML_ParserCreateNS(NULL, '|');
	if (!p.x)
		return ERR_NOMEM;
	XML_SetUserData(p.x, &p);
	XML_SetElementHandler(p.x, on_start, on_end);
	XML_SetCharacterDataHandler(p.x, on_text);
	XML_SetStartDoctypeDeclHandler(p.x, on_doctype);
	XML_SetEntityDeclHandler(p.x, on_entity);
	enum XML_Status st = XML_Parse(p.x, body.base ? body.base : "", (int)body.len, XML_TRUE);
	int rc = p.rc ? p.rc : st == XML_STATUS_OK ? 0 : ERR_INVALID;
	XML_ParserFree(p.x);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
