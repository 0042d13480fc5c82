/* Neutral values in an arena (see value.h). */
#include "edgefn/value.h"

#include <string.h>

#include "base/err.h"

#define TABLE_FIRST_CAP 4

struct edgefn_entry *edgefn_table_slot(struct arena *a, struct edgefn_value *t)
{
	if (t->kind != EDGEFN_TABLE)
		return NULL;
	if (t->u.t.len == t->u.t.cap) {
		size_t cap = t->u.t.cap ? t->u.t.cap * 2 : TABLE_FIRST_CAP;
		if (cap > SIZE_MAX / sizeof(struct edgefn_entry))
			return NULL;
		struct edgefn_entry *items = arena_alloc(a, cap * sizeof(*items));
		if (!items)
			return NULL;
		if (t->u.t.len)
			memcpy(items, t->u.t.items, t->u.t.len * sizeof(*items));
		t->u.t.items = items;
		t->u.t.cap = cap;
	}
	return &t->u.t.items[t->u.t.len++];
}

struct edgefn_value *edgefn_table_set(struct arena *a, struct edgefn_value *t,
                                      struct edgefn_value key, struct edgefn_value val)
{
	if (key.kind != EDGEFN_STR && key.kind != EDGEFN_INT)
		return NULL;
	struct edgefn_entry *e = edgefn_table_slot(a, t);
	if (!e)
		return NULL;
	e->key = key;
	e->val = val;
	return &e->val;
}

int edgefn_table_reserve(struct arena *a, struct edgefn_value *t, size_t n)
{
	if (t->kind != EDGEFN_TABLE || n > SIZE_MAX / sizeof(struct edgefn_entry))
		return ERR_INVALID;
	if (n <= t->u.t.cap)
		return 0;
	struct edgefn_entry *items = arena_alloc(a, n * sizeof(*items));
	if (!items)
		return ERR_NOMEM;
	if (t->u.t.len)
		memcpy(items, t->u.t.items, t->u.t.len * sizeof(*items));
	t->u.t.items = items;
	t->u.t.cap = n;
	return 0;
}

struct edgefn_value *edgefn_table_set_str(struct arena *a, struct edgefn_value *t, const char *key,
                                          struct edgefn_value val)
{
	return edgefn_table_set(a, t, edgefn_str(iov_cstr(key)), val);
}

struct edgefn_value *edgefn_table_push(struct arena *a, struct edgefn_value *t,
                                       struct edgefn_value val)
{
	if (t->kind != EDGEFN_TABLE)
		return NULL;
	return edgefn_table_set(a, t, edgefn_int((int64_t)t->u.t.len + 1), val);
}

const struct edgefn_value *edgefn_table_get(const struct edgefn_value *t, struct iov key)
{
	if (t->kind != EDGEFN_TABLE)
		return NULL;
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct edgefn_entry *e = &t->u.t.items[i];
		if (e->key.kind == EDGEFN_STR && iov_eq(e->key.u.s, key))
			return &e->val;
	}
	return NULL;
}

const struct edgefn_value *edgefn_table_geti(const struct edgefn_value *t, int64_t key)
{
	if (t->kind != EDGEFN_TABLE)
		return NULL;
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct edgefn_entry *e = &t->u.t.items[i];
		if (e->key.kind == EDGEFN_INT && e->key.u.i == key)
			return &e->val;
	}
	return NULL;
}

bool edgefn_table_is_seq(const struct edgefn_value *t)
{
	if (t->kind != EDGEFN_TABLE || t->u.t.len == 0)
		return false;
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct edgefn_value *k = &t->u.t.items[i].key;
		if (k->kind != EDGEFN_INT || k->u.i != (int64_t)i + 1)
			return false;
	}
	return true;
}

bool edgefn_value_eq(const struct edgefn_value *a, const struct edgefn_value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case EDGEFN_NIL:
		return true;
	case EDGEFN_BOOL:
		return a->u.b == b->u.b;
	case EDGEFN_INT:
		return a->u.i == b->u.i;
	case EDGEFN_NUM:
		return memcmp(&a->u.n, &b->u.n, sizeof(double)) == 0;
	case EDGEFN_STR:
		return iov_eq(a->u.s, b->u.s);
	case EDGEFN_TABLE:
		if (a->u.t.len != b->u.t.len)
			return false;
		for (size_t i = 0; i < a->u.t.len; i++) {
			const struct edgefn_entry *x = &a->u.t.items[i], *y = &b->u.t.items[i];
			if (!edgefn_value_eq(&x->key, &y->key) ||
			    !edgefn_value_eq(&x->val, &y->val))
				return false;
		}
		return true;
	}
	return false;
}
