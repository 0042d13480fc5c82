/*
 * Typed reads from a yaml_tree (docs/internals/config.md): the small set of
 * helpers every config schema (router, edge, stack file) is written with.
 * Values arrive as strings; these give them types, strictly: integers are
 * plain decimal, booleans are exactly "true" or "false", durations are an
 * integer and a unit ("500ms", "2s", "5m", "1h"). A value with a tag
 * (!Ref, ...) is not a plain value and is refused here; schemas that accept
 * intrinsics look at the node themselves.
 *
 * Errors are "file:line:col: message" in the caller's buffer, at the mark
 * of the key whose value is wrong (of the map, for a missing key), and are
 * sticky: after the first, every call returns it and leaves the message
 * alone, so a schema can read all its fields and check once at the end.
 *
 * One struct config_schema per parse, on one thread; the tree is borrowed.
 */
#ifndef MERIDIAN_CONFIG_SCHEMA_H
#define MERIDIAN_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "config/yaml_tree.h"

#define CONFIG_SCHEMA_SUGGEST_MAX 2 /* Levenshtein distance for "did you mean" */

enum config_schema_flags {
	CONFIG_OPTIONAL = 0, /* absent: return 0 and leave *out as the caller set it */
	CONFIG_REQUIRED = 1, /* absent: error; a required string must not be empty */
};

struct config_schema {
	const struct yaml_tree *tree; /* borrowed: names the file in messages */
	char *err;                    /* caller's buffer, errlen bytes */
	size_t errlen;
	int rc; /* first error, 0 while none */
};

/* Start reading `t`; messages go to err[errlen] (YAML_TREE_ERR_LEN fits). */
void config_schema_init(struct config_schema *s, const struct yaml_tree *t, char *err,
                        size_t errlen);

/* Report a schema error of the caller's own at `at`'s mark (format is
 * printf's). Returns ERR_CONFIG_SCHEMA, or the earlier error if one is set. */
int config_schema_fail(struct config_schema *s, const struct yaml_tree_node *at, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* `n` must be a map; `what` names it in the message ("Resources"). */
int config_schema_map(struct config_schema *s, const struct yaml_tree_node *n, const char *what);

/*
 * Getters: `map` must be a map (else an error at its mark); `key` is looked
 * up by exact text. On an absent optional key *out is untouched. Return 0,
 * ERR_CONFIG_SCHEMA or an earlier error (then *out is untouched too).
 */
/* An untagged scalar; the slice lives in the tree. */
int config_schema_str(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                      enum config_schema_flags flags, struct iov *out);
/* Plain decimal in min..max (no sign, spaces or fraction). */
int config_schema_u64(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                      enum config_schema_flags flags, uint64_t min, uint64_t max, uint64_t *out);
/* Exactly "true" or "false" (not yes/no/on/off, not True). */
int config_schema_bool(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                       enum config_schema_flags flags, bool *out);
/* A duration in milliseconds, min_ms..max_ms (see config_schema_parse_duration). */
int config_schema_duration(struct config_schema *s, const struct yaml_tree_node *map,
                           const char *key, enum config_schema_flags flags, uint64_t min_ms,
                           uint64_t max_ms, uint64_t *out_ms);

/* Every key of `map` must be one of known[0..n): the first that is not is
 * an error at its mark, with "did you mean" when one is close enough. */
int config_schema_keys(struct config_schema *s, const struct yaml_tree_node *map,
                       const char *const *known, size_t n);

/* The same check for one key node `k` (a map's key): 0 when its text is
 * one of known[0..n), else the "unknown key" error at its mark. For
 * schemas that report every unknown key, not just the first. */
int config_schema_check_key(struct config_schema *s, const struct yaml_tree_node *k,
                            const char *const *known, size_t n);

/* The known word closest to `word` by Levenshtein distance, ASCII case
 * ignored, if at most CONFIG_SCHEMA_SUGGEST_MAX and not identical; the first
 * such on ties. NULL when none. Pure; any thread. */
const char *config_schema_suggest(struct iov word, const char *const *known, size_t n);

/* "<digits><unit>", unit one of ms s m h, no spaces or fraction; into
 * milliseconds. 0 or ERR_INVALID (also on overflow). Pure; any thread. */
int config_schema_parse_duration(struct iov v, uint64_t *out_ms);

/* A byte size: "<digits>" (bytes) or "<digits><unit>", unit one of B,
 * KiB MiB GiB TiB (powers of 1024) or kB MB GB TB (powers of 1000), case
 * as written; no spaces, sign or fraction. 0 or ERR_INVALID (also on
 * overflow). Pure; any thread. */
int config_schema_parse_bytes(struct iov v, uint64_t *out);

/* A byte size (see config_schema_parse_bytes) in min..max bytes. */
int config_schema_bytes(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                        enum config_schema_flags flags, uint64_t min, uint64_t max, uint64_t *out);

/* ---- for schemas that copy values out (router, edge) ---- */

#define CONFIG_SCHEMA_QUOTE_MAX 64 /* bytes of a value quoted in a message */

/* A value's length capped at CONFIG_SCHEMA_QUOTE_MAX, for "%.*s". */
int config_schema_quote_len(struct iov v);
/* "a map", "a sequence" or "a scalar", for messages. */
const char *config_schema_kind_name(const struct yaml_tree_node *n);
/* The key node of `key` in `map`, which must hold it (for error marks). */
const struct yaml_tree_node *config_schema_key(const struct yaml_tree_node *map, const char *key);
/* config_schema_str, and a present value must be non-empty and hold no NUL
 * byte (it becomes a C string). *v is IOV_NULL when an optional key is
 * absent; *k (may be NULL) gets the key node when present. */
int config_schema_cstr(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                       enum config_schema_flags flags, struct iov *v,
                       const struct yaml_tree_node **k);
/* The value of `key` when it is an untagged map or sequence (`kind`); NULL
 * when absent (an error if required) or on any error. */
const struct yaml_tree_node *config_schema_section(struct config_schema *s,
                                                   const struct yaml_tree_node *map,
                                                   const char *key, enum config_schema_flags flags,
                                                   enum yaml_tree_kind kind);
/* Out of memory: ERR_NOMEM with "file: out of memory" (no position), unless
 * an error is already set (then that one). */
int config_schema_nomem(struct config_schema *s);
/* *out = a malloc'd NUL-terminated copy of `a` followed by `b`. 0 or
 * config_schema_nomem's code. */
int config_schema_dup2(struct config_schema *s, struct iov a, struct iov b, char **out);
/* A path value `v` (of `key`, at key node `k`): a relative one is anchored
 * at the config file's directory (the tree's name up to its last '/');
 * refused when it would reach PATH_MAX bytes. A malloc'd copy in *out. */
int config_schema_path(struct config_schema *s, const struct yaml_tree_node *k, const char *key,
                       struct iov v, char **out);

#endif
