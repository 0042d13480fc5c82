/*
 * libyaml events -> the node tree of yaml_tree.h. One pass over the events
 * with an explicit stack (no recursion), so depth costs no C stack. Pure;
 * any thread (yaml_tree_load reads a file).
 */
#include "config/yaml_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/err.h"
#include "base/file.h"

#define YAML_TREE_MAGIC 0x79616d6cu /* "yaml" */

/* Nodes, child arrays and strings all fit well under this for any input
 * within the caps; it only backstops the arithmetic. */
#define YAML_TREE_ARENA_MAX (96u << 20)

struct yaml_tree_node {
	uint8_t kind, tag;
	bool plain;
	struct yaml_tree_mark mark;
	struct iov tag_text;
	struct iov value;                   /* scalar */
	const struct yaml_tree_node **kids; /* seq: items; map: key, value, key, ... */
	size_t len;                         /* items or pairs */
};

struct yaml_tree {
	unsigned magic;
	struct arena *arena;
	const struct yaml_tree_node *root;
	const char *name;
	size_t count;
};

static const struct {
	const char *text;
	enum yaml_tree_tag tag;
} known_tags[] = {
	{ "!Ref", YAML_TREE_TAG_REF },       { "!Sub", YAML_TREE_TAG_SUB },
	{ "!GetAtt", YAML_TREE_TAG_GETATT }, { "!Join", YAML_TREE_TAG_JOIN },
	{ "!Select", YAML_TREE_TAG_SELECT },
};

/* An open map or sequence: its node and where its children start on the
 * pending stack. */
struct open {
	struct yaml_tree_node *node;
	size_t base;
};

/* Keys seen so far, for the duplicate check: open addressing over
 * (map, key text). Grows by doubling; never more entries than nodes. */
struct key_slot {
	const struct yaml_tree_node *map, *key;
};

struct builder {
	struct yaml_tree *t;
	char *err;
	size_t errlen;
	const char *input;
	size_t input_len;
	struct yaml_tree_node **pending; /* children of the open collections */
	size_t npending, cap_pending;
	struct open open[YAML_TREE_MAX_DEPTH];
	size_t depth;
	struct key_slot *keys;
	size_t nkeys, cap_keys; /* cap_keys is 0 or a power of two */
	int docs;
};

static int fail(struct builder *b, int rc, struct yaml_tree_mark m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, int rc, struct yaml_tree_mark m, const char *fmt, ...)
{
	if (b->errlen == 0)
		return rc;
	int k = snprintf(b->err, b->errlen, "%s:%u:%u: ", b->t->name, m.line, m.col);
	if (k >= 0 && (size_t)k < b->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(b->err + k, b->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static struct yaml_tree_mark mark_of(yaml_mark_t m)
{
	return (struct yaml_tree_mark){ (unsigned)m.line + 1, (unsigned)m.column + 1 };
}

/* Line and column of a byte offset, for reader errors (which carry only
 * the offset). Columns count bytes here: the text is not valid UTF-8. */
static struct yaml_tree_mark mark_at_offset(const struct builder *b, size_t off)
{
	struct yaml_tree_mark m = { 1, 1 };
	if (off > b->input_len)
		off = b->input_len;
	for (size_t i = 0; i < off; i++) {
		if (b->input[i] == '\n') {
			m.line++;
			m.col = 1;
		} else {
			m.col++;
		}
	}
	return m;
}

static int libyaml_error(struct builder *b, const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR)
		return fail(b, ERR_NOMEM, (struct yaml_tree_mark){ 1, 1 }, "out of memory");
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_READER_ERROR)
		return fail(b, ERR_CONFIG_YAML, mark_at_offset(b, p->problem_offset), "%s",
		            problem);
	struct yaml_tree_mark m = mark_of(p->problem_mark);
	if (p->context) {
		struct yaml_tree_mark c = mark_of(p->context_mark);
		return fail(b, ERR_CONFIG_YAML, m, "%s (%s at %u:%u)", problem, p->context, c.line,
		            c.col);
	}
	return fail(b, ERR_CONFIG_YAML, m, "%s", problem);
}

static uint64_t key_hash(const struct yaml_tree_node *map, struct iov key)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)map;
	for (size_t i = 0; i < key.len; i++) {
		h ^= (unsigned char)key.base[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static struct key_slot *key_find(struct key_slot *slots, size_t cap,
                                 const struct yaml_tree_node *map, struct iov key)
{
	size_t i = (size_t)key_hash(map, key) & (cap - 1);
	while (slots[i].map && !(slots[i].map == map && iov_eq(slots[i].key->value, key)))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int keys_grow(struct builder *b)
{
	size_t cap = b->cap_keys ? 2 * b->cap_keys : 64;
	struct key_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return ERR_NOMEM;
	for (size_t i = 0; i < b->cap_keys; i++) {
		if (b->keys[i].map)
			*key_find(slots, cap, b->keys[i].map, b->keys[i].key->value) = b->keys[i];
	}
	free(b->keys);
	b->keys = slots;
	b->cap_keys = cap;
	return 0;
}

/* Record `key` in `map`; a second key with the same text is refused. */
static int key_add(struct builder *b, const struct yaml_tree_node *map,
                   const struct yaml_tree_node *key)
{
	if (2 * (b->nkeys + 1) > b->cap_keys && keys_grow(b) != 0)
		return fail(b, ERR_NOMEM, key->mark, "out of memory");
	struct key_slot *s = key_find(b->keys, b->cap_keys, map, key->value);
	if (s->map) {
		return fail(b, ERR_CONFIG_YAML, key->mark,
		            "duplicate key \"%.*s\" (first at %u:%u)",
		            (int)(key->value.len > 64 ? 64 : key->value.len), key->value.base,
		            s->key->mark.line, s->key->mark.col);
	}
	s->map = map;
	s->key = key;
	b->nkeys++;
	return 0;
}

static int pending_push(struct builder *b, struct yaml_tree_node *n)
{
	if (b->npending == b->cap_pending) {
		size_t cap = b->cap_pending ? 2 * b->cap_pending : 64;
		struct yaml_tree_node **p = realloc(b->pending, cap * sizeof(*p));
		if (!p)
			return fail(b, ERR_NOMEM, n->mark, "out of memory");
		b->pending = p;
		b->cap_pending = cap;
	}
	b->pending[b->npending++] = n;
	return 0;
}

static int set_tag(struct builder *b, struct yaml_tree_node *n, const yaml_char_t *tag)
{
	if (!tag)
		return 0;
	struct iov text = iov_cstr((const char *)tag);
	for (size_t i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++) {
		if (iov_eq(text, iov_cstr(known_tags[i].text))) {
			n->tag = (uint8_t)known_tags[i].tag;
			n->tag_text = iov_cstr(known_tags[i].text);
			return 0;
		}
	}
	if (text.len > YAML_TREE_MAX_TAG)
		return fail(b, ERR_TOO_BIG, n->mark, "tag longer than %u bytes", YAML_TREE_MAX_TAG);
	n->tag = YAML_TREE_TAG_OTHER;
	n->tag_text = arena_dup(b->t->arena, text);
	if (!n->tag_text.base)
		return fail(b, ERR_NOMEM, n->mark, "out of memory");
	return 0;
}

/* A new node from a scalar or collection-start event: the caps, the
 * refusals, then its place in the parent (or as the root). */
static int node_begin(struct builder *b, const yaml_event_t *ev, enum yaml_tree_kind kind,
                      const yaml_char_t *anchor, const yaml_char_t *tag,
                      struct yaml_tree_node **out)
{
	struct yaml_tree_mark m = mark_of(ev->start_mark);
	if (anchor)
		return fail(b, ERR_CONFIG_YAML, m, "anchors (&%s) are not allowed", anchor);
	if (b->t->count == YAML_TREE_MAX_NODES)
		return fail(b, ERR_TOO_BIG, m, "more than %u nodes", YAML_TREE_MAX_NODES);
	if (kind != YAML_TREE_SCALAR && b->depth == YAML_TREE_MAX_DEPTH)
		return fail(b, ERR_TOO_BIG, m, "nested deeper than %u levels", YAML_TREE_MAX_DEPTH);

	struct yaml_tree_node *n = arena_alloc(b->t->arena, sizeof(*n));
	if (!n)
		return fail(b, ERR_NOMEM, m, "out of memory");
	memset(n, 0, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->mark = m;
	b->t->count++;
	int rc = set_tag(b, n, tag);
	if (rc)
		return rc;
	if (kind == YAML_TREE_SCALAR) {
		struct iov v =
		    iov_make((const char *)ev->data.scalar.value, ev->data.scalar.length);
		char *copy = arena_alloc(b->t->arena, v.len + 1);
		if (!copy)
			return fail(b, ERR_NOMEM, m, "out of memory");
		if (v.len)
			memcpy(copy, v.base, v.len);
		copy[v.len] = '\0';
		n->value = iov_make(copy, v.len);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	}

	if (b->depth == 0) {
		CHECK(b->t->root == NULL);
		b->t->root = n;
	} else {
		const struct open *o = &b->open[b->depth - 1];
		bool is_key = o->node->kind == YAML_TREE_MAP && (b->npending - o->base) % 2 == 0;
		if (is_key && kind != YAML_TREE_SCALAR)
			return fail(b, ERR_CONFIG_YAML, m, "a map key must be a scalar");
		if (is_key && (rc = key_add(b, o->node, n)) != 0)
			return rc;
		if ((rc = pending_push(b, n)) != 0)
			return rc;
	}
	*out = n;
	return 0;
}

static int collection_end(struct builder *b, const yaml_event_t *ev)
{
	CHECK(b->depth > 0);
	struct open *o = &b->open[--b->depth];
	size_t k = b->npending - o->base;
	if (k) {
		const struct yaml_tree_node **kids = arena_alloc(b->t->arena, k * sizeof(*kids));
		if (!kids)
			return fail(b, ERR_NOMEM, mark_of(ev->start_mark), "out of memory");
		memcpy(kids, b->pending + o->base, k * sizeof(*kids));
		o->node->kids = kids;
	}
	CHECK(o->node->kind == YAML_TREE_SEQ || k % 2 == 0);
	o->node->len = o->node->kind == YAML_TREE_MAP ? k / 2 : k;
	b->npending = o->base;
	return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, bool *done)
{
	struct yaml_tree_node *n;
	int rc;
	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = true;
		if (b->docs == 0)
			return fail(b, ERR_CONFIG_YAML, mark_of(ev->start_mark), "no document");
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->docs++ > 0)
			return fail(b, ERR_CONFIG_YAML, mark_of(ev->start_mark),
			            "more than one document");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(b, ERR_CONFIG_YAML, mark_of(ev->start_mark),
		            "aliases (*%s) are not allowed", ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return node_begin(b, ev, YAML_TREE_SCALAR, ev->data.scalar.anchor,
		                  ev->data.scalar.tag, &n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
		rc = seq ? node_begin(b, ev, YAML_TREE_SEQ, ev->data.sequence_start.anchor,
		                      ev->data.sequence_start.tag, &n)
		         : node_begin(b, ev, YAML_TREE_MAP, ev->data.mapping_start.anchor,
		                      ev->data.mapping_start.tag, &n);
		if (rc)
			return rc;
		b->open[b->depth++] = (struct open){ n, b->npending };
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return collection_end(b, ev);
	}
	return fail(b, ERR_CONFIG_YAML, mark_of(ev->start_mark), "unexpected YAML event");
}

static int build(struct builder *b)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return fail(b, ERR_NOMEM, (struct yaml_tree_mark){ 1, 1 }, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)b->input, b->input_len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	int rc = 0;
	bool done = false;
	while (rc == 0 && !done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = libyaml_error(b, &p);
			break;
		}
		rc = on_event(b, &ev, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

int yaml_tree_parse(const char *name, const char *p, size_t n, struct yaml_tree **out, char *err,
                    size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	struct yaml_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	t->magic = YAML_TREE_MAGIC;
	t->arena = arena_new(YAML_TREE_ARENA_MAX);
	struct iov nm = t->arena ? arena_printf(t->arena, "%s", name) : IOV_NULL;
	if (!nm.base) {
		yaml_tree_free(t);
		return ERR_NOMEM;
	}
	t->name = nm.base;

	struct builder b = { .t = t, .err = err, .errlen = errlen, .input = p, .input_len = n };
	int rc;
	if (n > YAML_TREE_MAX_INPUT)
		rc = fail(&b, ERR_TOO_BIG, (struct yaml_tree_mark){ 1, 1 }, "larger than %u bytes",
		          YAML_TREE_MAX_INPUT);
	else
		rc = build(&b);
	free(b.pending);
	free(b.keys);
	if (rc) {
		yaml_tree_free(t);
		return rc;
	}
	CHECK(t->root != NULL && b.depth == 0);
	*out = t;
	return 0;
}

int yaml_tree_load(const char *path, struct yaml_tree **out, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = '\0';
	char *data;
	size_t n;
	int rc = file_read(path, YAML_TREE_MAX_INPUT, &data, &n, err, errlen);
	if (rc)
		return rc;
	/* n == cap + 1 means the file is over the cap: parse reports it. */
	rc = yaml_tree_parse(path, data, n, out, err, errlen);
	free(data);
	return rc;
}

void yaml_tree_free(struct yaml_tree *t)
{
	if (!t)
		return;
	CHECK_MAGIC(t, YAML_TREE_MAGIC);
	t->magic = 0;
	arena_free(t->arena);
	free(t);
}

const struct yaml_tree_node *yaml_tree_root(const struct yaml_tree *t)
{
	CHECK_MAGIC(t, YAML_TREE_MAGIC);
	return t->root;
}

const char *yaml_tree_name(const struct yaml_tree *t)
{
	CHECK_MAGIC(t, YAML_TREE_MAGIC);
	return t->name;
}

size_t yaml_tree_count(const struct yaml_tree *t)
{
	CHECK_MAGIC(t, YAML_TREE_MAGIC);
	return t->count;
}

enum yaml_tree_kind yaml_tree_kind(const struct yaml_tree_node *n)
{
	return (enum yaml_tree_kind)n->kind;
}

enum yaml_tree_tag yaml_tree_tag(const struct yaml_tree_node *n)
{
	return (enum yaml_tree_tag)n->tag;
}

struct iov yaml_tree_tag_text(const struct yaml_tree_node *n)
{
	return n->tag_text;
}

struct yaml_tree_mark yaml_tree_mark(const struct yaml_tree_node *n)
{
	return n->mark;
}

struct iov yaml_tree_scalar(const struct yaml_tree_node *n)
{
	return n->kind == YAML_TREE_SCALAR ? n->value : IOV_NULL;
}

bool yaml_tree_plain(const struct yaml_tree_node *n)
{
	return n->kind == YAML_TREE_SCALAR && n->plain;
}

size_t yaml_tree_len(const struct yaml_tree_node *n)
{
	return n->len;
}

const struct yaml_tree_node *yaml_tree_item(const struct yaml_tree_node *seq, size_t i)
{
	return seq->kind == YAML_TREE_SEQ && i < seq->len ? seq->kids[i] : NULL;
}

const struct yaml_tree_node *yaml_tree_key(const struct yaml_tree_node *map, size_t i)
{
	return map->kind == YAML_TREE_MAP && i < map->len ? map->kids[2 * i] : NULL;
}

const struct yaml_tree_node *yaml_tree_value(const struct yaml_tree_node *map, size_t i)
{
	return map->kind == YAML_TREE_MAP && i < map->len ? map->kids[2 * i + 1] : NULL;
}

const struct yaml_tree_node *yaml_tree_get(const struct yaml_tree_node *map, struct iov key,
                                           size_t *index)
{
	if (map->kind != YAML_TREE_MAP)
		return NULL;
	for (size_t i = 0; i < map->len; i++) {
		if (iov_eq(map->kids[2 * i]->value, key)) {
			if (index)
				*index = i;
			return map->kids[2 * i + 1];
		}
	}
	return NULL;
}
