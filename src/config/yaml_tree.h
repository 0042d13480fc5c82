/*
 * YAML text -> an immutable tree of maps, sequences and scalars, each node
 * with its tag and its 1-based line and column (docs/internals/config.md).
 * Built on libyaml's event API; every config file (router, edge, stack)
 * goes through here before its schema.
 *
 * Every scalar is a string: no YAML 1.1 guessing of booleans, numbers or
 * nulls; the schema types values (config/schema.h). Refused, each with a
 * `name:line:col: message` error: input over YAML_TREE_MAX_INPUT, nesting
 * over YAML_TREE_MAX_DEPTH, more than YAML_TREE_MAX_NODES nodes, a tag over
 * YAML_TREE_MAX_TAG bytes, anchors and aliases (no alias expansion bombs),
 * duplicate keys in a map, a key that is not a scalar, more than one
 * document, an empty stream, and anything libyaml itself rejects (with its
 * position). Input must be UTF-8.
 *
 * Threads: parsing is pure (yaml_tree_load also reads a file: call it at
 * startup, never on a loop thread). A finished tree is never written
 * again, so any number of threads may read it at once until
 * yaml_tree_free(). All nodes and strings live in the tree's one arena.
 */
#ifndef MERIDIAN_CONFIG_YAML_TREE_H
#define MERIDIAN_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/iov.h"

#define YAML_TREE_MAX_INPUT (1u << 20) /* bytes of YAML text */
#define YAML_TREE_MAX_DEPTH 32         /* nested maps and sequences; the root is 1 */
#define YAML_TREE_MAX_NODES 100000     /* scalars, maps and sequences (keys included) */
#define YAML_TREE_MAX_TAG   128        /* bytes of one resolved tag */
#define YAML_TREE_ERR_LEN   256        /* an error buffer this size holds any message */

enum yaml_tree_kind {
	YAML_TREE_SCALAR = 1,
	YAML_TREE_SEQ,
	YAML_TREE_MAP,
};

/* The CloudFormation-style intrinsics, recognised by their exact text. */
enum yaml_tree_tag {
	YAML_TREE_TAG_NONE = 0,
	YAML_TREE_TAG_REF,    /* !Ref */
	YAML_TREE_TAG_SUB,    /* !Sub */
	YAML_TREE_TAG_GETATT, /* !GetAtt */
	YAML_TREE_TAG_JOIN,   /* !Join */
	YAML_TREE_TAG_SELECT, /* !Select */
	YAML_TREE_TAG_OTHER,  /* any other tag: yaml_tree_tag_text() has it */
};

struct yaml_tree_mark {
	unsigned line, col; /* 1-based; col counts characters */
};

struct yaml_tree;
struct yaml_tree_node;

/*
 * Parse `n` bytes at `p` (borrowed for the call only; not NUL-terminated;
 * never written). `name` (copied) prefixes error messages and is kept for
 * the schema's messages. On success *out is a new tree the caller owns.
 * On failure *out is NULL and, if errlen > 0, `err` holds
 * "name:line:col: message" (NUL-terminated, truncated to errlen).
 * Returns 0, ERR_TOO_BIG (a cap), ERR_CONFIG_YAML (syntax or a refused
 * construct) or ERR_NOMEM.
 */
int yaml_tree_parse(const char *name, const char *p, size_t n, struct yaml_tree **out, char *err,
                    size_t errlen);

/* Read the file at `path` (at most YAML_TREE_MAX_INPUT bytes) and parse it,
 * with `path` as the name. Also ERR_IO ("path: cannot read: reason"). */
int yaml_tree_load(const char *path, struct yaml_tree **out, char *err, size_t errlen);

/* Free the tree and every node and string in it. NULL is a no-op. */
void yaml_tree_free(struct yaml_tree *t);

/* The document's top node; never NULL for a parsed tree. */
const struct yaml_tree_node *yaml_tree_root(const struct yaml_tree *t);
/* The name given to parse (NUL-terminated), for messages. */
const char *yaml_tree_name(const struct yaml_tree *t);
/* How many nodes the tree holds (keys included). */
size_t yaml_tree_count(const struct yaml_tree *t);

/* Node accessors. Nodes and slices are valid until yaml_tree_free(). */
enum yaml_tree_kind yaml_tree_kind(const struct yaml_tree_node *n);
enum yaml_tree_tag yaml_tree_tag(const struct yaml_tree_node *n);
/* The resolved tag ("!Ref", "tag:yaml.org,2002:str"), IOV_NULL when none. */
struct iov yaml_tree_tag_text(const struct yaml_tree_node *n);
/* Where the node starts (its tag, if it has one). */
struct yaml_tree_mark yaml_tree_mark(const struct yaml_tree_node *n);

/* A scalar's decoded value (quotes and escapes resolved; may contain NUL
 * bytes; a NUL follows the last byte). IOV_NULL for a map or sequence. */
struct iov yaml_tree_scalar(const struct yaml_tree_node *n);
/* True for a plain (unquoted, not block) scalar: `x:` with no value is a
 * plain empty scalar, `x: ""` a quoted one. */
bool yaml_tree_plain(const struct yaml_tree_node *n);

/* Items of a sequence, pairs of a map, 0 for a scalar. */
size_t yaml_tree_len(const struct yaml_tree_node *n);
/* Item i of a sequence (i < len; NULL otherwise or for another kind). */
const struct yaml_tree_node *yaml_tree_item(const struct yaml_tree_node *seq, size_t i);
/* Key (always a scalar) and value of pair i of a map, in document order. */
const struct yaml_tree_node *yaml_tree_key(const struct yaml_tree_node *map, size_t i);
const struct yaml_tree_node *yaml_tree_value(const struct yaml_tree_node *map, size_t i);
/* The value for `key` in a map and, if `index` is not NULL, its pair index.
 * NULL when absent or when `map` is not a map. Linear in the map's size. */
const struct yaml_tree_node *yaml_tree_get(const struct yaml_tree_node *map, struct iov key,
                                           size_t *index);

#endif
