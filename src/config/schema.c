/* Typed, sticky-error reads from a yaml_tree. One owner per struct. */
#include "config/schema.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"

/* Known words longer than this are never suggested (bounds the work). */
#define SUGGEST_WORD_MAX 64
/* Values quoted in messages are cut to this many bytes. */

void config_schema_init(struct config_schema *s, const struct yaml_tree *t, char *err,
                        size_t errlen)
{
	s->tree = t;
	s->err = err;
	s->errlen = errlen;
	s->rc = 0;
	if (errlen)
		err[0] = '\0';
}

static int vfail(struct config_schema *s, struct yaml_tree_mark m, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vfail(struct config_schema *s, struct yaml_tree_mark m, const char *fmt, va_list ap)
{
	if (s->rc)
		return s->rc;
	s->rc = ERR_CONFIG_SCHEMA;
	if (s->errlen == 0)
		return s->rc;
	int k = snprintf(s->err, s->errlen, "%s:%u:%u: ", yaml_tree_name(s->tree), m.line, m.col);
	if (k >= 0 && (size_t)k < s->errlen)
		vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
	return s->rc;
}

int config_schema_fail(struct config_schema *s, const struct yaml_tree_node *at, const char *fmt,
                       ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(s, yaml_tree_mark(at), fmt, ap);
	va_end(ap);
	return rc;
}

const char *config_schema_kind_name(const struct yaml_tree_node *n)
{
	return yaml_tree_kind(n) == YAML_TREE_MAP   ? "a map"
	       : yaml_tree_kind(n) == YAML_TREE_SEQ ? "a sequence"
	                                            : "a scalar";
}

int config_schema_map(struct config_schema *s, const struct yaml_tree_node *n, const char *what)
{
	if (s->rc)
		return s->rc;
	if (yaml_tree_kind(n) != YAML_TREE_MAP)
		return config_schema_fail(s, n, "%s: expected a map, got %s", what,
		                          config_schema_kind_name(n));
	return 0;
}

/*
 * The untagged scalar under `key`, with the key node for marks. Returns 0
 * with *v NULL when an optional key is absent.
 */
static int lookup(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                  enum config_schema_flags flags, const char *want, const struct yaml_tree_node **k,
                  struct iov *v)
{
	*v = IOV_NULL;
	if (s->rc)
		return s->rc;
	if (yaml_tree_kind(map) != YAML_TREE_MAP)
		return config_schema_fail(s, map, "expected a map with \"%s\", got %s", key,
		                          config_schema_kind_name(map));
	size_t i;
	const struct yaml_tree_node *val = yaml_tree_get(map, iov_cstr(key), &i);
	if (!val) {
		if (flags & CONFIG_REQUIRED)
			return config_schema_fail(s, map, "missing required key \"%s\"", key);
		return 0;
	}
	*k = yaml_tree_key(map, i);
	if (yaml_tree_kind(val) != YAML_TREE_SCALAR)
		return config_schema_fail(s, *k, "%s: expected %s, got %s", key, want,
		                          config_schema_kind_name(val));
	if (yaml_tree_tag(val) != YAML_TREE_TAG_NONE) {
		struct iov tag = yaml_tree_tag_text(val);
		return config_schema_fail(s, *k, "%s: expected %s, not a " IOV_FMT " value", key,
		                          want, IOV_ARG(tag));
	}
	*v = yaml_tree_scalar(val);
	return 0;
}

int config_schema_quote_len(struct iov v)
{
	return (int)(v.len > CONFIG_SCHEMA_QUOTE_MAX ? CONFIG_SCHEMA_QUOTE_MAX : v.len);
}

int config_schema_str(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                      enum config_schema_flags flags, struct iov *out)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	int rc = lookup(s, map, key, flags, "a string", &k, &v);
	if (rc || !v.base)
		return rc;
	if ((flags & CONFIG_REQUIRED) && v.len == 0)
		return config_schema_fail(s, k, "%s: must not be empty", key);
	*out = v;
	return 0;
}

int config_schema_u64(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                      enum config_schema_flags flags, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	int rc = lookup(s, map, key, flags, "an integer", &k, &v);
	if (rc || !v.base)
		return rc;
	unsigned long long x;
	if (iov_to_u64(v, max, &x) != 0 || x < min)
		return config_schema_fail(s, k, "%s: \"%.*s\" is not an integer in %llu..%llu", key,
		                          config_schema_quote_len(v), v.base,
		                          (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

int config_schema_bool(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                       enum config_schema_flags flags, bool *out)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	int rc = lookup(s, map, key, flags, "true or false", &k, &v);
	if (rc || !v.base)
		return rc;
	if (iov_eq(v, IOV_LIT("true")))
		*out = true;
	else if (iov_eq(v, IOV_LIT("false")))
		*out = false;
	else
		return config_schema_fail(s, k, "%s: \"%.*s\" is not true or false", key,
		                          config_schema_quote_len(v), v.base);
	return 0;
}

/* A multiplier per unit suffix. */
struct unit {
	const char *unit;
	uint64_t mult;
};

/* "<digits><unit>" with a unit of `units` (exact text), times its
 * multiplier, without overflow. 0 or ERR_INVALID. */
static int parse_scaled(struct iov v, const struct unit *units, size_t n, uint64_t *out)
{
	size_t digits = 0;
	while (digits < v.len && v.base[digits] >= '0' && v.base[digits] <= '9')
		digits++;
	if (digits == 0)
		return ERR_INVALID;
	struct iov unit = iov_sub(v, digits, v.len - digits);
	for (size_t i = 0; i < n; i++) {
		if (!iov_eq(unit, iov_cstr(units[i].unit)))
			continue;
		unsigned long long x;
		if (iov_to_u64(iov_sub(v, 0, digits), UINT64_MAX / units[i].mult, &x) != 0)
			return ERR_INVALID;
		*out = x * units[i].mult;
		return 0;
	}
	return ERR_INVALID;
}

int config_schema_parse_duration(struct iov v, uint64_t *out_ms)
{
	static const struct unit units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }
	};
	return parse_scaled(v, units, sizeof(units) / sizeof(units[0]), out_ms);
}

int config_schema_duration(struct config_schema *s, const struct yaml_tree_node *map,
                           const char *key, enum config_schema_flags flags, uint64_t min_ms,
                           uint64_t max_ms, uint64_t *out_ms)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	int rc = lookup(s, map, key, flags, "a duration", &k, &v);
	if (rc || !v.base)
		return rc;
	uint64_t ms;
	if (config_schema_parse_duration(v, &ms) != 0)
		return config_schema_fail(s, k,
		                          "%s: \"%.*s\" is not a duration (like 500ms, 2s, 5m, 1h)",
		                          key, config_schema_quote_len(v), v.base);
	if (ms < min_ms || ms > max_ms)
		return config_schema_fail(s, k, "%s: %.*s is outside %llums..%llums", key,
		                          config_schema_quote_len(v), v.base,
		                          (unsigned long long)min_ms, (unsigned long long)max_ms);
	*out_ms = ms;
	return 0;
}

static char fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Levenshtein distance of a and b (ASCII case folded); b.len is at most
 * SUGGEST_WORD_MAX. Two rows of the classic table. */
static size_t distance(struct iov a, struct iov b)
{
	size_t prev[SUGGEST_WORD_MAX + 1], cur[SUGGEST_WORD_MAX + 1];
	for (size_t j = 0; j <= b.len; j++)
		prev[j] = j;
	for (size_t i = 1; i <= a.len; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= b.len; j++) {
			size_t sub = prev[j - 1] + (fold(a.base[i - 1]) != fold(b.base[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t best = sub < del ? sub : del;
			cur[j] = best < ins ? best : ins;
		}
		memcpy(prev, cur, (b.len + 1) * sizeof(prev[0]));
	}
	return prev[b.len];
}

const char *config_schema_suggest(struct iov word, const char *const *known, size_t n)
{
	const char *best = NULL;
	size_t best_d = CONFIG_SCHEMA_SUGGEST_MAX + 1;
	for (size_t i = 0; i < n; i++) {
		struct iov k = iov_cstr(known[i]);
		size_t gap = word.len > k.len ? word.len - k.len : k.len - word.len;
		if (k.len > SUGGEST_WORD_MAX || gap > CONFIG_SCHEMA_SUGGEST_MAX || iov_eq(k, word))
			continue;
		size_t d = distance(word, k);
		if (d < best_d) {
			best = known[i];
			best_d = d;
		}
	}
	return best;
}

int config_schema_check_key(struct config_schema *s, const struct yaml_tree_node *k,
                            const char *const *known, size_t n)
{
	if (s->rc)
		return s->rc;
	struct iov name = yaml_tree_scalar(k);
	for (size_t j = 0; j < n; j++)
		if (iov_eq(name, iov_cstr(known[j])))
			return 0;
	const char *hint = config_schema_suggest(name, known, n);
	if (hint)
		return config_schema_fail(s, k, "unknown key \"%.*s\"; did you mean \"%s\"?",
		                          config_schema_quote_len(name), name.base, hint);
	return config_schema_fail(s, k, "unknown key \"%.*s\"", config_schema_quote_len(name),
	                          name.base);
}

int config_schema_keys(struct config_schema *s, const struct yaml_tree_node *map,
                       const char *const *known, size_t n)
{
	if (s->rc)
		return s->rc;
	if (yaml_tree_kind(map) != YAML_TREE_MAP)
		return config_schema_fail(s, map, "expected a map, got %s",
		                          config_schema_kind_name(map));
	for (size_t i = 0; i < yaml_tree_len(map); i++)
		if (config_schema_check_key(s, yaml_tree_key(map, i), known, n))
			return s->rc;
	return 0;
}

int config_schema_parse_bytes(struct iov v, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KiB", 1ull << 10 },
		{ "MiB", 1ull << 20 },
		{ "GiB", 1ull << 30 },
		{ "TiB", 1ull << 40 },
		{ "kB", 1000ull },
		{ "MB", 1000000ull },
		{ "GB", 1000000000ull },
		{ "TB", 1000000000000ull },
	};
	return parse_scaled(v, units, sizeof(units) / sizeof(units[0]), out);
}

int config_schema_bytes(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                        enum config_schema_flags flags, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	int rc = lookup(s, map, key, flags, "a byte size", &k, &v);
	if (rc || !v.base)
		return rc;
	uint64_t n;
	if (config_schema_parse_bytes(v, &n) != 0)
		return config_schema_fail(s, k,
		                          "%s: \"%.*s\" is not a byte size (like 4096, 512KiB, "
		                          "256MiB, 2GiB or 1GB)",
		                          key, config_schema_quote_len(v), v.base);
	if (n < min || n > max)
		return config_schema_fail(s, k, "%s: %.*s is outside %llu..%llu bytes", key,
		                          config_schema_quote_len(v), v.base,
		                          (unsigned long long)min, (unsigned long long)max);
	*out = n;
	return 0;
}

/* ---- helpers for schemas that copy values out ---- */

const struct yaml_tree_node *config_schema_key(const struct yaml_tree_node *map, const char *key)
{
	size_t i = 0;
	CHECK(yaml_tree_get(map, iov_cstr(key), &i) != NULL);
	return yaml_tree_key(map, i);
}

int config_schema_cstr(struct config_schema *s, const struct yaml_tree_node *map, const char *key,
                       enum config_schema_flags flags, struct iov *v,
                       const struct yaml_tree_node **k)
{
	*v = IOV_NULL;
	int rc = config_schema_str(s, map, key, flags, v);
	if (rc || !v->base)
		return rc;
	const struct yaml_tree_node *kn = config_schema_key(map, key);
	if (k)
		*k = kn;
	if (v->len == 0)
		return config_schema_fail(s, kn, "%s: must not be empty", key);
	if (memchr(v->base, '\0', v->len))
		return config_schema_fail(s, kn, "%s: must not contain a NUL byte", key);
	return 0;
}

const struct yaml_tree_node *config_schema_section(struct config_schema *s,
                                                   const struct yaml_tree_node *map,
                                                   const char *key, enum config_schema_flags flags,
                                                   enum yaml_tree_kind kind)
{
	if (s->rc)
		return NULL;
	size_t i = 0;
	const struct yaml_tree_node *v = yaml_tree_get(map, iov_cstr(key), &i);
	if (!v) {
		if (flags & CONFIG_REQUIRED)
			config_schema_fail(s, map, "missing required key \"%s\"", key);
		return NULL;
	}
	const char *want = kind == YAML_TREE_MAP ? "a map" : "a sequence";
	const struct yaml_tree_node *k = yaml_tree_key(map, i);
	if (yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
		struct iov tag = yaml_tree_tag_text(v);
		config_schema_fail(s, k, "%s: expected %s, not a " IOV_FMT " value", key, want,
		                   IOV_ARG(tag));
		return NULL;
	}
	if (yaml_tree_kind(v) != kind) {
		config_schema_fail(s, k, "%s: expected %s, got %s", key, want,
		                   config_schema_kind_name(v));
		return NULL;
	}
	return v;
}

int config_schema_nomem(struct config_schema *s)
{
	if (s->rc)
		return s->rc;
	if (s->errlen)
		snprintf(s->err, s->errlen, "%s: out of memory", yaml_tree_name(s->tree));
	s->rc = ERR_NOMEM;
	return ERR_NOMEM;
}

int config_schema_dup2(struct config_schema *s, struct iov a, struct iov b, char **out)
{
	char *c = malloc(a.len + b.len + 1);
	if (!c)
		return config_schema_nomem(s);
	if (a.len)
		memcpy(c, a.base, a.len);
	if (b.len)
		memcpy(c + a.len, b.base, b.len);
	c[a.len + b.len] = '\0';
	*out = c;
	return 0;
}

int config_schema_path(struct config_schema *s, const struct yaml_tree_node *k, const char *key,
                       struct iov v, char **out)
{
	const char *name = yaml_tree_name(s->tree);
	struct iov dir = IOV_NULL;
	const char *slash = strrchr(name, '/');
	if (v.len && v.base[0] != '/' && slash)
		dir = iov_make(name, (size_t)(slash - name) + 1);
	if (dir.len + v.len >= PATH_MAX)
		return config_schema_fail(s, k, "%s: the path would be %zu bytes, more than %d",
		                          key, dir.len + v.len, PATH_MAX - 1);
	return config_schema_dup2(s, dir, v, out);
}
