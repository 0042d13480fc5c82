/*
 * deploy/stack's insides, shared by its files (docs/internals/deploy-stack.md):
 * the parse state, the resource type table, and the helpers each pass
 * uses. Not for other modules. Startup thread only.
 */
#ifndef MERIDIAN_DEPLOY_STACK_INT_H
#define MERIDIAN_DEPLOY_STACK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "deploy/stack.h"

#define DEPLOY__N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* A value quoted in a message: "%.*s" arguments, capped. */
#define DEPLOY__Q(v)       config_schema_quote_len(v), (v).base
#define DEPLOY__RES(ps, r) (&(ps)->res[r])

struct deploy__parse;
typedef void (*deploy__read_fn)(struct deploy__parse *ps, uint32_t r);

struct deploy__attr_row {
	const char *name;
	bool runtime; /* known only once the processes run */
};

struct deploy__type_row {
	const char *name;
	const char *const *keys;
	size_t nkeys;
	struct deploy__attr_row attrs[5];
	deploy__read_fn read;
};

extern const struct deploy__type_row deploy__types[DEPLOY_STACK_NTYPES];

struct deploy__res {
	struct iov id;
	const struct yaml_tree_node *key;   /* the logical id, for marks */
	const struct yaml_tree_node *map;   /* the resource's own map, or NULL */
	const struct yaml_tree_node *props; /* the Properties map, or NULL */
	int type;                           /* -1: unknown */
	uint32_t index;
	uint8_t color; /* cycle search: 0 white, 1 on the path, 2 done */
	bool bad;      /* refused or in a cycle: references to it are not evaluated */
	bool read;
	uint8_t dep[DEPLOY_STACK_RES_MAX / 8];
};

struct deploy__sub_var {
	struct iov name;
	const struct yaml_tree_node *value;
};

struct deploy__parse {
	const struct yaml_tree *t;
	const char *path;
	struct deploy_stack *st;
	struct deploy_stack_diag *diag;
	bool nomem;
	uint32_t nres;
	struct deploy__res res[DEPLOY_STACK_RES_MAX];
	const struct yaml_tree_node *param_key[DEPLOY_STACK_PARAMS_MAX];
	const char *names[DEPLOY_STACK_PARAMS_MAX + DEPLOY_STACK_RES_MAX]; /* for suggestions */
	size_t nnames;
	uint32_t count[DEPLOY_STACK_NTYPES];
	uint32_t path_stack[DEPLOY_STACK_RES_MAX];
	uint32_t depth;
};

/* A value: a malloc'd string, deferred when it holds "${Id.Attr}". */
struct deploy__val {
	char *s;
	size_t len;
	bool deferred;
};

enum deploy__intrinsic {
	DEPLOY__I_NONE,
	DEPLOY__I_REF,
	DEPLOY__I_GETATT,
	DEPLOY__I_SUB,
	DEPLOY__I_BAD
};

/* One piece of a !Sub template (deploy__sub_next). */
struct deploy__sub_piece {
	bool ref;     /* ${Name} or ${Name.Attr} */
	bool escaped; /* ${!text}: the literal "${text}" */
	struct iov text, name, attr;
	bool has_attr;
};

/* ---- errors, node helpers and typed property getters (stack_get.c) ---- */

/* An error at `at`'s mark (printf format), kept in ps->diag. Returns
 * ERR_CONFIG_SCHEMA. */
int deploy__errf(struct deploy__parse *ps, const struct yaml_tree_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A message formatted already ("file:line:col: ..."), at mark `m`. */
void deploy__add_text(struct deploy__parse *ps, struct yaml_tree_mark m, const char *text);
/* Out of memory: remembered, the parse ends with ERR_NOMEM. */
int deploy__nomem(struct deploy__parse *ps);
/* malloc'd NUL-terminated copies (NULL after deploy__nomem). */
char *deploy__dup_iov(struct deploy__parse *ps, struct iov v);
void *deploy__alloc_array(struct deploy__parse *ps, size_t n, size_t size);
/* Node helpers. A long form is a one-pair untagged map {name: arg}: its arg. */
bool deploy__is_scalar(const struct yaml_tree_node *n);
const struct yaml_tree_node *deploy__long_form(const struct yaml_tree_node *n, const char *name);
/* Every key of `map` not in known[0..n) is an error (with "did you mean"). */
void deploy__check_keys(struct deploy__parse *ps, const struct yaml_tree_node *map,
                        const char *const *known, size_t n);
/* Index of a parameter, a resource, an attribute of a type; -1 if none. */
int deploy__find_param(const struct deploy__parse *ps, struct iov name);
int deploy__find_res(const struct deploy__parse *ps, struct iov name);
int deploy__find_attr(int type, struct iov attr);
/*
 * Typed getters: the value of `key` in `map` (`owner` marks a missing key
 * when `map` is NULL). Each reports its own error (at the key; at the map
 * for a missing required key) and returns ERR_CONFIG_SCHEMA, or
 * ERR_NOMEM; 0 with the output untouched when an optional key is absent.
 * Strings are evaluated (intrinsics), must be known before start (not
 * deferred), non-empty and free of NUL; *out is malloc'd.
 */
const struct yaml_tree_node *deploy__prop(struct deploy__parse *ps,
                                          const struct yaml_tree_node *map,
                                          const struct yaml_tree_node *owner, const char *key,
                                          bool required, const struct yaml_tree_node **k);
int deploy__get_str(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required, char **out);
int deploy__get_u64(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required,
                    uint64_t min, uint64_t max, uint64_t *out);
int deploy__get_enum(struct deploy__parse *ps, const struct yaml_tree_node *map,
                     const struct yaml_tree_node *owner, const char *key, const char *const *names,
                     size_t n, bool required, int *out);
int deploy__get_bool(struct deploy__parse *ps, const struct yaml_tree_node *map,
                     const struct yaml_tree_node *owner, const char *key, bool *out);
/* `v` must be !Ref (either form) to a resource of `type`: *out its slot. */
int deploy__ref_node(struct deploy__parse *ps, const struct yaml_tree_node *v,
                     const struct yaml_tree_node *at, const char *key, int type, uint32_t *out);
int deploy__get_ref(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required, int type,
                    uint32_t *out);
/* An untagged sequence of at most `max` items; NULL when absent or wrong. */
const struct yaml_tree_node *deploy__get_seq(struct deploy__parse *ps,
                                             const struct yaml_tree_node *map,
                                             const struct yaml_tree_node *owner, const char *key,
                                             bool required, size_t max);
/* Item i of `seq` as a map, its keys checked; NULL (reported) otherwise. */
const struct yaml_tree_node *deploy__item_map(struct deploy__parse *ps,
                                              const struct yaml_tree_node *seq, size_t i,
                                              const char *key, const char *const *known, size_t n);
/* `name` (got by `get` from a slot) must be unique among read resources
 * of r's type: "duplicate WHAT" at r, which is then refused. */
void deploy__check_unique(struct deploy__parse *ps, uint32_t r, const char *what, const char *name,
                          const char *(*get)(const struct deploy_stack *, uint32_t));

/* ---- intrinsics: the reference walk, cycles, evaluation (stack_ref.c) ---- */

/* "unknown reference" with a hint over parameters and logical ids. */
void deploy__dangling(struct deploy__parse *ps, const struct yaml_tree_node *at, struct iov name);
/* Record that `from` depends on resource `to` (-1 or weak: nothing). */
void deploy__depend(struct deploy__parse *ps, uint32_t from, int to, bool weak);
/* Cut the next piece of a !Sub template off *rest; false on an unclosed "${". */
bool deploy__sub_next(struct iov *rest, struct deploy__sub_piece *p);
/* Which intrinsic `n` is (short or long form) and *arg, its argument. */
enum deploy__intrinsic deploy__intrinsic_of(const struct yaml_tree_node *n,
                                            const struct yaml_tree_node **arg);
/* Pass 2: check every name under `n`, recording `from`'s dependencies. */
void deploy__walk(struct deploy__parse *ps, uint32_t from, const struct yaml_tree_node *n,
                  bool weak);
/* Pass 3: depth-first from r; reports cycles; appends r to order after
 * its dependencies. */
void deploy__visit(struct deploy__parse *ps, uint32_t r, uint32_t *order, uint32_t *norder);
const char *deploy__res_type_name(const struct deploy__parse *ps, int r);
/* Pass 4: a scalar-valued node into *out (free out->s). 0, or
 * ERR_CONFIG_SCHEMA (reported, here or by the walk) / ERR_NOMEM. */
int deploy__eval(struct deploy__parse *ps, const struct yaml_tree_node *n, struct deploy__val *out);

/* ---- distributions (stack_distribution.c) ---- */

/* Free v[0..n) and v. */
void deploy__free_strs(char **v, uint32_t n);
/* The Meridian::Distribution reader (a row of deploy__types). */
void deploy__read_distribution(struct deploy__parse *ps, uint32_t r);
/* After every reader: each NearestBucket origin's bucket per location. */
void deploy__nearest_buckets(struct deploy__parse *ps);
/* Cross-bucket checks of replication rules, once every bucket is read. */
void deploy__check_replication(struct deploy__parse *ps);

#endif
