/*
 * deploy/stack's errors (collected, never sticky), node helpers and the
 * typed property getters every reader uses: each reports its own error at
 * the key and returns, so a reader goes on to the next property. Startup
 * thread only.
 */
#include "deploy/stack.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "deploy/stack-int.h"

/* ---- errors ---- */

static int add_diag(struct deploy__parse *ps, unsigned line, unsigned col, const char *fmt,
                    va_list ap) __attribute__((format(printf, 4, 0)));

static int add_diag(struct deploy__parse *ps, unsigned line, unsigned col, const char *fmt,
                    va_list ap)
{
	struct deploy_stack_diag *d = ps->diag;
	if (d->n == DEPLOY_STACK_DIAG_MAX) {
		d->dropped++;
		return ERR_CONFIG_SCHEMA;
	}
	char *t = d->msg[d->n].text;
	int k = line ? snprintf(t, DEPLOY_STACK_DIAG_LEN, "%s:%u:%u: ", ps->path, line, col)
	             : snprintf(t, DEPLOY_STACK_DIAG_LEN, "%s: ", ps->path);
	if (k >= 0 && k < DEPLOY_STACK_DIAG_LEN)
		vsnprintf(t + k, DEPLOY_STACK_DIAG_LEN - (size_t)k, fmt, ap);
	d->msg[d->n].line = line;
	d->msg[d->n].col = col;
	d->n++;
	return ERR_CONFIG_SCHEMA;
}

int deploy__errf(struct deploy__parse *ps, const struct yaml_tree_node *at, const char *fmt, ...)
{
	struct yaml_tree_mark m = yaml_tree_mark(at);
	va_list ap;
	va_start(ap, fmt);
	add_diag(ps, m.line, m.col, fmt, ap);
	va_end(ap);
	return ERR_CONFIG_SCHEMA;
}

/* A message formatted already ("file:line:col: ..."), at mark `m`. */
void deploy__add_text(struct deploy__parse *ps, struct yaml_tree_mark m, const char *text)
{
	struct deploy_stack_diag *d = ps->diag;
	if (d->n == DEPLOY_STACK_DIAG_MAX) {
		d->dropped++;
		return;
	}
	snprintf(d->msg[d->n].text, DEPLOY_STACK_DIAG_LEN, "%s", text);
	d->msg[d->n].line = m.line;
	d->msg[d->n].col = m.col;
	d->n++;
}

int deploy__nomem(struct deploy__parse *ps)
{
	ps->nomem = true;
	return ERR_NOMEM;
}

char *deploy__dup_iov(struct deploy__parse *ps, struct iov v)
{
	char *c = malloc(v.len + 1);
	if (!c) {
		deploy__nomem(ps);
		return NULL;
	}
	if (v.len)
		memcpy(c, v.base, v.len);
	c[v.len] = '\0';
	return c;
}

void *deploy__alloc_array(struct deploy__parse *ps, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		deploy__nomem(ps);
	return p;
}

/* ---- small node helpers ---- */

bool deploy__is_scalar(const struct yaml_tree_node *n)
{
	return yaml_tree_kind(n) == YAML_TREE_SCALAR;
}

/* A one-pair map whose key is `name` (the long form of an intrinsic). */
const struct yaml_tree_node *deploy__long_form(const struct yaml_tree_node *n, const char *name)
{
	if (yaml_tree_kind(n) != YAML_TREE_MAP || yaml_tree_len(n) != 1 ||
	    yaml_tree_tag(n) != YAML_TREE_TAG_NONE)
		return NULL;
	if (!iov_eq(yaml_tree_scalar(yaml_tree_key(n, 0)), iov_cstr(name)))
		return NULL;
	return yaml_tree_value(n, 0);
}

/* Every unknown key of `map`, each an error (config_schema's message). */
void deploy__check_keys(struct deploy__parse *ps, const struct yaml_tree_node *map,
                        const char *const *known, size_t n)
{
	for (size_t i = 0; i < yaml_tree_len(map); i++) {
		char err[DEPLOY_STACK_DIAG_LEN];
		struct config_schema s;
		config_schema_init(&s, ps->t, err, sizeof(err));
		const struct yaml_tree_node *k = yaml_tree_key(map, i);
		if (config_schema_check_key(&s, k, known, n))
			deploy__add_text(ps, yaml_tree_mark(k), err);
	}
}

int deploy__find_param(const struct deploy__parse *ps, struct iov name)
{
	for (uint32_t i = 0; i < ps->st->nparams; i++)
		if (iov_eq(name, iov_cstr(ps->st->param[i].name)))
			return (int)i;
	return -1;
}

int deploy__find_res(const struct deploy__parse *ps, struct iov name)
{
	for (uint32_t i = 0; i < ps->nres; i++)
		if (iov_eq(name, ps->res[i].id))
			return (int)i;
	return -1;
}

int deploy__find_attr(int type, struct iov attr)
{
	if (type < 0)
		return -1;
	for (int i = 0; i < (int)DEPLOY__N_ELEMS(deploy__types[type].attrs) &&
	                deploy__types[type].attrs[i].name;
	     i++)
		if (iov_eq(attr, iov_cstr(deploy__types[type].attrs[i].name)))
			return i;
	return -1;
}

/* ---- typed property getters (errors at the key) ---- */

/* The value node of `key`, NULL when absent (an error when required). */
const struct yaml_tree_node *deploy__prop(struct deploy__parse *ps,
                                          const struct yaml_tree_node *map,
                                          const struct yaml_tree_node *owner, const char *key,
                                          bool required, const struct yaml_tree_node **k)
{
	size_t i = 0;
	const struct yaml_tree_node *v = map && yaml_tree_kind(map) == YAML_TREE_MAP
	                                     ? yaml_tree_get(map, iov_cstr(key), &i)
	                                     : NULL;
	if (!v) {
		if (required)
			deploy__errf(ps, map && yaml_tree_kind(map) == YAML_TREE_MAP ? map : owner,
			             "missing required key \"%s\"", key);
		return NULL;
	}
	*k = yaml_tree_key(map, i);
	return v;
}

/* A string known before start (not deferred), non-empty, no NUL. */
int deploy__get_str(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required, char **out)
{
	const struct yaml_tree_node *k = NULL, *v = deploy__prop(ps, map, owner, key, required, &k);
	*out = NULL;
	if (!v)
		return required ? ERR_CONFIG_SCHEMA : 0;
	const struct yaml_tree_node *a;
	if (deploy__intrinsic_of(v, &a) == DEPLOY__I_NONE && !deploy__is_scalar(v))
		return deploy__errf(ps, k, "%s: expected a string, got %s", key,
		                    config_schema_kind_name(v));
	struct deploy__val x;
	int rc = deploy__eval(ps, v, &x);
	if (rc)
		return rc;
	if (x.deferred) {
		deploy__errf(ps, k,
		             "%s: \"%s\" is only known once the stack runs; use it in Outputs", key,
		             x.s);
		free(x.s);
		return ERR_CONFIG_SCHEMA;
	}
	if (x.len == 0 || memchr(x.s, '\0', x.len)) {
		free(x.s);
		return deploy__errf(ps, k, "%s: must not be empty or hold a NUL byte", key);
	}
	*out = x.s;
	return 0;
}

int deploy__get_u64(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required,
                    uint64_t min, uint64_t max, uint64_t *out)
{
	char *s;
	int rc = deploy__get_str(ps, map, owner, key, required, &s);
	if (rc || !s)
		return rc;
	unsigned long long x = 0;
	if (iov_to_u64(iov_cstr(s), max, &x) != 0 || x < min) {
		const struct yaml_tree_node *k = config_schema_key(map, key);
		deploy__errf(ps, k, "%s: \"%.*s\" is not an integer in %llu..%llu", key,
		             config_schema_quote_len(iov_cstr(s)), s, (unsigned long long)min,
		             (unsigned long long)max);
		free(s);
		return ERR_CONFIG_SCHEMA;
	}
	free(s);
	*out = x;
	return 0;
}

/* One of names[0..n) (case as written); *out its index. */
int deploy__get_enum(struct deploy__parse *ps, const struct yaml_tree_node *map,
                     const struct yaml_tree_node *owner, const char *key, const char *const *names,
                     size_t n, bool required, int *out)
{
	char *s;
	int rc = deploy__get_str(ps, map, owner, key, required, &s);
	if (rc || !s)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			free(s);
			*out = (int)i;
			return 0;
		}
	char list[160] = "";
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
		if (k > 0 && (size_t)k < sizeof(list) - len)
			len += (size_t)k;
	}
	deploy__errf(ps, config_schema_key(map, key), "%s: \"%.*s\" is not one of %s", key,
	             config_schema_quote_len(iov_cstr(s)), s, list);
	free(s);
	return ERR_CONFIG_SCHEMA;
}

int deploy__get_bool(struct deploy__parse *ps, const struct yaml_tree_node *map,
                     const struct yaml_tree_node *owner, const char *key, bool *out)
{
	static const char *const tf[] = { "false", "true" };
	int i = -1;
	int rc = deploy__get_enum(ps, map, owner, key, tf, 2, false, &i);
	if (rc == 0 && i >= 0)
		*out = i == 1;
	return rc;
}

/* A node that must be !Ref (either form) to a resource of `type`. */
int deploy__ref_node(struct deploy__parse *ps, const struct yaml_tree_node *v,
                     const struct yaml_tree_node *at, const char *key, int type, uint32_t *out)
{
	const struct yaml_tree_node *a;
	if (deploy__intrinsic_of(v, &a) != DEPLOY__I_REF)
		return deploy__errf(ps, at, "%s: expected !Ref to a %s", key,
		                    deploy__types[type].name);
	if (!deploy__is_scalar(a))
		return ERR_CONFIG_SCHEMA;
	struct iov name = yaml_tree_scalar(a);
	int r = deploy__find_res(ps, name);
	if (r < 0) {
		if (deploy__find_param(ps, name) >= 0)
			return deploy__errf(ps, at, "%s: \"%.*s\" is a parameter, not a %s", key,
			                    DEPLOY__Q(name), deploy__types[type].name);
		return ERR_CONFIG_SCHEMA; /* dangling: reported by the walk */
	}
	if (ps->res[r].type != type) {
		if (ps->res[r].type < 0)
			return ERR_CONFIG_SCHEMA;
		return deploy__errf(ps, at, "%s: \"%.*s\" is a %s, not a %s", key, DEPLOY__Q(name),
		                    deploy__res_type_name(ps, r), deploy__types[type].name);
	}
	*out = ps->res[r].index;
	return 0;
}

int deploy__get_ref(struct deploy__parse *ps, const struct yaml_tree_node *map,
                    const struct yaml_tree_node *owner, const char *key, bool required, int type,
                    uint32_t *out)
{
	const struct yaml_tree_node *k = NULL, *v = deploy__prop(ps, map, owner, key, required, &k);
	if (!v)
		return required ? ERR_CONFIG_SCHEMA : 0;
	return deploy__ref_node(ps, v, k, key, type, out);
}

/* A sequence value (untagged) with 1..max items; NULL when absent. */
const struct yaml_tree_node *deploy__get_seq(struct deploy__parse *ps,
                                             const struct yaml_tree_node *map,
                                             const struct yaml_tree_node *owner, const char *key,
                                             bool required, size_t max)
{
	const struct yaml_tree_node *k = NULL, *v = deploy__prop(ps, map, owner, key, required, &k);
	if (!v)
		return NULL;
	if (yaml_tree_kind(v) != YAML_TREE_SEQ || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
		deploy__errf(ps, k, "%s: expected a sequence, got %s", key,
		             config_schema_kind_name(v));
		return NULL;
	}
	if (yaml_tree_len(v) > max) {
		deploy__errf(ps, k, "%s: %zu items; at most %zu", key, yaml_tree_len(v), max);
		return NULL;
	}
	return v;
}

/* Item `i` of a sequence that must be a map, keys checked. */
const struct yaml_tree_node *deploy__item_map(struct deploy__parse *ps,
                                              const struct yaml_tree_node *seq, size_t i,
                                              const char *key, const char *const *known, size_t n)
{
	const struct yaml_tree_node *it = yaml_tree_item(seq, i);
	if (yaml_tree_kind(it) != YAML_TREE_MAP || yaml_tree_tag(it) != YAML_TREE_TAG_NONE) {
		deploy__errf(ps, it, "%s[%zu]: expected a map, got %s", key, i,
		             config_schema_kind_name(it));
		return NULL;
	}
	deploy__check_keys(ps, it, known, n);
	return it;
}

/* Another resource of the same type already uses `name` for `what`. */
void deploy__check_unique(struct deploy__parse *ps, uint32_t r, const char *what, const char *name,
                          const char *(*get)(const struct deploy_stack *, uint32_t))
{
	int type = ps->res[r].type;
	for (uint32_t j = 0; j < ps->nres; j++) {
		if (j == r || ps->res[j].type != type || !ps->res[j].read || ps->res[j].bad)
			continue;
		const char *other = get(ps->st, ps->res[j].index);
		if (other && strcmp(other, name) == 0) {
			struct yaml_tree_mark m = yaml_tree_mark(ps->res[j].key);
			deploy__errf(ps, ps->res[r].key, "duplicate %s \"%s\" (also %.*s at %u:%u)",
			             what, name, DEPLOY__Q(ps->res[j].id), m.line, m.col);
			ps->res[r].bad = true;
			return;
		}
	}
}
