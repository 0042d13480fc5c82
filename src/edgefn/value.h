/*
 * Neutral values that cross the edge function boundary: nil, boolean,
 * integer, float, string and table, built in a caller's arena. The edge
 * builds the Lambda@Edge event as a tree of these and reads the function's
 * result back the same way, so no module outside edgefn/ includes <lua.h>.
 *
 * A table is an ordered list of (key, value) entries; keys are strings or
 * integers. A table whose keys are the integers 1..n in order is a sequence
 * (a JSON array); edgefn_table_push builds one. Values coming out of Lua
 * list integer keys first (ascending), then string keys (bytewise), so
 * results are deterministic. Strings are slices: the builders borrow them
 * (the bytes must outlive the use of the tree); trees coming out of Lua or
 * JSON own copies in the arena they were built in.
 *
 * Single owner, like the arena; any thread.
 */
#ifndef MERIDIAN_EDGEFN_VALUE_H
#define MERIDIAN_EDGEFN_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/iov.h"

enum edgefn_kind {
	EDGEFN_NIL,
	EDGEFN_BOOL,
	EDGEFN_INT,
	EDGEFN_NUM,
	EDGEFN_STR,
	EDGEFN_TABLE,
};

struct edgefn_entry;

struct edgefn_value {
	enum edgefn_kind kind;
	union {
		bool b;
		int64_t i;
		double n;
		struct iov s;
		struct {
			struct edgefn_entry *items;
			size_t len, cap;
		} t;
	} u;
};

struct edgefn_entry {
	struct edgefn_value key; /* EDGEFN_STR or EDGEFN_INT */
	struct edgefn_value val;
};

static inline struct edgefn_value edgefn_nil(void)
{
	return (struct edgefn_value){ .kind = EDGEFN_NIL };
}

static inline struct edgefn_value edgefn_bool(bool b)
{
	return (struct edgefn_value){ .kind = EDGEFN_BOOL, .u.b = b };
}

static inline struct edgefn_value edgefn_int(int64_t i)
{
	return (struct edgefn_value){ .kind = EDGEFN_INT, .u.i = i };
}

static inline struct edgefn_value edgefn_num(double n)
{
	return (struct edgefn_value){ .kind = EDGEFN_NUM, .u.n = n };
}

/* Borrows s. */
static inline struct edgefn_value edgefn_str(struct iov s)
{
	return (struct edgefn_value){ .kind = EDGEFN_STR, .u.s = s };
}

/* An empty table; entries are added with the functions below. */
static inline struct edgefn_value edgefn_table(void)
{
	return (struct edgefn_value){ .kind = EDGEFN_TABLE };
}

/* Append (key, val) to table t (keys are not checked for duplicates: the
 * last one wins in Lua). Returns the stored value, valid until the next
 * append to t, or NULL when the arena is full or key is not a string or
 * integer. Borrows string keys and values. */
struct edgefn_value *edgefn_table_set(struct arena *a, struct edgefn_value *t,
                                      struct edgefn_value key, struct edgefn_value val);
/* Append an entry to table t and return it for the caller to fill (its key
 * must become a string or integer), or NULL when the arena is full or t is
 * not a table. Valid until the next append to t. What the builders below
 * use; a caller filling many entries saves passing values by copy. */
struct edgefn_entry *edgefn_table_slot(struct arena *a, struct edgefn_value *t);
/* edgefn_table_set with a string key. */
struct edgefn_value *edgefn_table_set_str(struct arena *a, struct edgefn_value *t, const char *key,
                                          struct edgefn_value val);
/* Make room for n entries in all (a table about to receive a known number
 * of entries takes one allocation). 0 or ERR_NOMEM. */
int edgefn_table_reserve(struct arena *a, struct edgefn_value *t, size_t n);
/* Append val with key #t + 1 (a sequence). */
struct edgefn_value *edgefn_table_push(struct arena *a, struct edgefn_value *t,
                                       struct edgefn_value val);

/* The value of the first entry of t with string key `key`, or NULL (also
 * when t is not a table). */
const struct edgefn_value *edgefn_table_get(const struct edgefn_value *t, struct iov key);
/* The value of the first entry of t with integer key `key`, or NULL. */
const struct edgefn_value *edgefn_table_geti(const struct edgefn_value *t, int64_t key);
/* Whether t is a table whose keys are 1..n in order (an empty table is not). */
bool edgefn_table_is_seq(const struct edgefn_value *t);

/* Deep equality (same kinds, same entries in the same order). */
bool edgefn_value_eq(const struct edgefn_value *a, const struct edgefn_value *b);

#endif
