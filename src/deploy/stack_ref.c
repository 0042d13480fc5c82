/*
 * deploy/stack's intrinsics: the walk that checks every !Ref, !GetAtt and
 * !Sub name (short and long forms) and records dependencies, the cycle
 * search, and evaluation into strings, deferred ("${Id.Attr}") when an
 * attribute is only known at run time. Startup thread only.
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

/* A string being built, capped at DEPLOY_STACK_VALUE_MAX. */
struct sb {
	char b[DEPLOY_STACK_VALUE_MAX + 1];
	size_t n;
	bool over;
};

static void sb_add(struct sb *s, const char *p, size_t n)
{
	if (s->n + n > DEPLOY_STACK_VALUE_MAX) {
		s->over = true;
		return;
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
	s->b[s->n] = '\0';
}

/* ---- pass 2: the reference walk ---- */

void deploy__dangling(struct deploy__parse *ps, const struct yaml_tree_node *at, struct iov name)
{
	const char *hint = config_schema_suggest(name, ps->names, ps->nnames);
	if (hint)
		deploy__errf(ps, at, "unknown reference \"%.*s\"; did you mean \"%s\"?",
		             DEPLOY__Q(name), hint);
	else
		deploy__errf(ps, at, "unknown reference \"%.*s\"", DEPLOY__Q(name));
}

static void bad_attr(struct deploy__parse *ps, const struct yaml_tree_node *at, int r,
                     struct iov attr)
{
	const struct deploy__type_row *t = &deploy__types[ps->res[r].type];
	char list[128] = "none";
	size_t n = 0;
	for (size_t i = 0; i < DEPLOY__N_ELEMS(t->attrs) && t->attrs[i].name; i++) {
		int k =
		    snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", t->attrs[i].name);
		if (k > 0 && (size_t)k < sizeof(list) - n)
			n += (size_t)k;
	}
	deploy__errf(ps, at, "!GetAtt %.*s.%.*s: a %s has no attribute \"%.*s\" (it has %s)",
	             DEPLOY__Q(ps->res[r].id), DEPLOY__Q(attr), t->name, DEPLOY__Q(attr), list);
}

void deploy__depend(struct deploy__parse *ps, uint32_t from, int to, bool weak)
{
	if (to >= 0 && !weak)
		ps->res[from].dep[to / 8] |= (uint8_t)(1u << (to % 8));
}

/* Check a name used by !Ref (attr NULL base) or !GetAtt / !Sub (attr). */
static void check_name(struct deploy__parse *ps, uint32_t from, const struct yaml_tree_node *at,
                       struct iov name, struct iov attr, bool has_attr,
                       const struct deploy__sub_var *vars, size_t nvars, bool weak)
{
	if (!has_attr)
		for (size_t i = 0; i < nvars; i++)
			if (iov_eq(vars[i].name, name))
				return;
	int r = deploy__find_res(ps, name);
	if (r < 0 && deploy__find_param(ps, name) >= 0) {
		if (has_attr)
			deploy__errf(ps, at,
			             "\"%.*s\" is a parameter; only resources have attributes",
			             DEPLOY__Q(name));
		return;
	}
	if (r < 0) {
		deploy__dangling(ps, at, name);
		return;
	}
	if (has_attr && ps->res[r].type >= 0 && deploy__find_attr(ps->res[r].type, attr) < 0)
		bad_attr(ps, at, r, attr);
	deploy__depend(ps, from, r, weak);
}

bool deploy__sub_next(struct iov *rest, struct deploy__sub_piece *p)
{
	memset(p, 0, sizeof(*p));
	const char *s = rest->base;
	size_t n = rest->len;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		if (i > 0) {
			p->text = iov_make(s, i);
			*rest = iov_make(s + i, n - i);
			return true;
		}
		const char *close = memchr(s + 2, '}', n - 2);
		if (!close)
			return false;
		struct iov in = iov_make(s + 2, (size_t)(close - s - 2));
		*rest = iov_make(close + 1, n - (size_t)(close + 1 - s));
		if (in.len && in.base[0] == '!') {
			p->escaped = true;
			p->text = iov_make(in.base + 1, in.len - 1);
			return true;
		}
		p->ref = true;
		const char *dot = memchr(in.base, '.', in.len);
		p->name = dot ? iov_make(in.base, (size_t)(dot - in.base)) : in;
		if (dot) {
			p->has_attr = true;
			p->attr = iov_make(dot + 1, in.len - (size_t)(dot + 1 - in.base));
		}
		return true;
	}
	p->text = *rest;
	*rest = iov_make(s + n, 0);
	return true;
}

void deploy__walk(struct deploy__parse *ps, uint32_t from, const struct yaml_tree_node *n,
                  bool weak);

enum deploy__intrinsic deploy__intrinsic_of(const struct yaml_tree_node *n,
                                            const struct yaml_tree_node **arg);

/* The template and variables of a !Sub value (scalar, or [template, map]).
 * False after an error about the shape. */
static bool sub_parts(struct deploy__parse *ps, const struct yaml_tree_node *v,
                      const struct yaml_tree_node **tmpl, const struct yaml_tree_node **vars,
                      bool report)
{
	*vars = NULL;
	if (deploy__is_scalar(v) && yaml_tree_tag(v) != YAML_TREE_TAG_SUB &&
	    yaml_tree_tag(v) != YAML_TREE_TAG_NONE)
		goto shape;
	if (deploy__is_scalar(v)) {
		*tmpl = v;
		return true;
	}
	if (yaml_tree_kind(v) == YAML_TREE_SEQ && yaml_tree_len(v) == 2 &&
	    deploy__is_scalar(yaml_tree_item(v, 0)) &&
	    yaml_tree_kind(yaml_tree_item(v, 1)) == YAML_TREE_MAP) {
		*tmpl = yaml_tree_item(v, 0);
		*vars = yaml_tree_item(v, 1);
		return true;
	}
shape:
	if (report)
		deploy__errf(ps, v, "!Sub: expected a string or [string, {name: value}], got %s",
		             config_schema_kind_name(v));
	return false;
}

static void walk_sub(struct deploy__parse *ps, uint32_t from, const struct yaml_tree_node *v,
                     bool weak)
{
	const struct yaml_tree_node *tmpl, *vm;
	if (!sub_parts(ps, v, &tmpl, &vm, true))
		return;
	struct deploy__sub_var vars[DEPLOY_STACK_ITEMS_MAX];
	size_t nvars = 0;
	for (size_t i = 0; vm && i < yaml_tree_len(vm) && nvars < DEPLOY__N_ELEMS(vars); i++) {
		const struct yaml_tree_node *x = yaml_tree_value(vm, i), *a;
		vars[nvars].name = yaml_tree_scalar(yaml_tree_key(vm, i));
		vars[nvars++].value = x;
		if (deploy__intrinsic_of(x, &a) == DEPLOY__I_NONE && !deploy__is_scalar(x))
			deploy__errf(ps, x, "!Sub: %.*s: expected a string, got %s",
			             DEPLOY__Q(yaml_tree_scalar(yaml_tree_key(vm, i))),
			             config_schema_kind_name(x));
		else
			deploy__walk(ps, from, x, weak);
	}
	struct iov rest = yaml_tree_scalar(tmpl);
	while (rest.len) {
		struct deploy__sub_piece p;
		if (!deploy__sub_next(&rest, &p)) {
			deploy__errf(ps, tmpl, "!Sub: \"${\" without a closing \"}\"");
			return;
		}
		if (p.ref)
			check_name(ps, from, tmpl, p.name, p.attr, p.has_attr, vars, nvars, weak);
	}
}

/* !GetAtt's value: "Name.Attr" or [Name, Attr]. */
static bool getatt_parts(const struct yaml_tree_node *v, struct iov *name, struct iov *attr)
{
	if (deploy__is_scalar(v) && yaml_tree_tag(v) != YAML_TREE_TAG_OTHER) {
		struct iov s = yaml_tree_scalar(v);
		const char *dot = memchr(s.base, '.', s.len);
		if (!dot || dot == s.base || dot == s.base + s.len - 1)
			return false;
		*name = iov_make(s.base, (size_t)(dot - s.base));
		*attr = iov_make(dot + 1, s.len - (size_t)(dot + 1 - s.base));
		return true;
	}
	if (yaml_tree_kind(v) == YAML_TREE_SEQ && yaml_tree_len(v) == 2 &&
	    deploy__is_scalar(yaml_tree_item(v, 0)) && deploy__is_scalar(yaml_tree_item(v, 1))) {
		*name = yaml_tree_scalar(yaml_tree_item(v, 0));
		*attr = yaml_tree_scalar(yaml_tree_item(v, 1));
		return name->len && attr->len;
	}
	return false;
}

/* What intrinsic `n` is, and its argument node (the node itself for the
 * short forms). */
enum deploy__intrinsic deploy__intrinsic_of(const struct yaml_tree_node *n,
                                            const struct yaml_tree_node **arg)
{
	*arg = n;
	switch (yaml_tree_tag(n)) {
	case YAML_TREE_TAG_REF:
		return DEPLOY__I_REF;
	case YAML_TREE_TAG_GETATT:
		return DEPLOY__I_GETATT;
	case YAML_TREE_TAG_SUB:
		return DEPLOY__I_SUB;
	case YAML_TREE_TAG_NONE:
		break;
	default:
		return DEPLOY__I_BAD;
	}
	if ((*arg = deploy__long_form(n, "Ref")) != NULL)
		return DEPLOY__I_REF;
	if ((*arg = deploy__long_form(n, "Fn::GetAtt")) != NULL)
		return DEPLOY__I_GETATT;
	if ((*arg = deploy__long_form(n, "Fn::Sub")) != NULL)
		return DEPLOY__I_SUB;
	*arg = n;
	if (yaml_tree_kind(n) == YAML_TREE_MAP && yaml_tree_len(n) == 1 &&
	    iov_starts(yaml_tree_scalar(yaml_tree_key(n, 0)), IOV_LIT("Fn::")))
		return DEPLOY__I_BAD;
	return DEPLOY__I_NONE;
}

void deploy__walk(struct deploy__parse *ps, uint32_t from, const struct yaml_tree_node *n,
                  bool weak)
{
	const struct yaml_tree_node *a;
	switch (deploy__intrinsic_of(n, &a)) {
	case DEPLOY__I_REF:
		if (!deploy__is_scalar(a) || yaml_tree_tag(a) == YAML_TREE_TAG_OTHER ||
		    yaml_tree_scalar(a).len == 0) {
			deploy__errf(ps, n, "!Ref: expected a name, got %s",
			             config_schema_kind_name(a));
			return;
		}
		check_name(ps, from, a, yaml_tree_scalar(a), IOV_NULL, false, NULL, 0, weak);
		return;
	case DEPLOY__I_GETATT: {
		struct iov name, attr;
		if (!getatt_parts(a, &name, &attr)) {
			deploy__errf(ps, n,
			             "!GetAtt: expected Name.Attribute or [Name, Attribute]");
			return;
		}
		check_name(ps, from, a, name, attr, true, NULL, 0, weak);
		return;
	}
	case DEPLOY__I_SUB:
		walk_sub(ps, from, a, weak);
		return;
	case DEPLOY__I_BAD: {
		struct iov tag = yaml_tree_tag(n) != YAML_TREE_TAG_NONE
		                     ? yaml_tree_tag_text(n)
		                     : yaml_tree_scalar(yaml_tree_key(n, 0));
		deploy__errf(ps, n, IOV_FMT " is not supported (use !Ref, !GetAtt or !Sub)",
		             IOV_ARG(tag));
		return;
	}
	case DEPLOY__I_NONE:
		break;
	}
	if (yaml_tree_kind(n) == YAML_TREE_SEQ)
		for (size_t i = 0; i < yaml_tree_len(n); i++)
			deploy__walk(ps, from, yaml_tree_item(n, i), weak);
	if (yaml_tree_kind(n) == YAML_TREE_MAP)
		for (size_t i = 0; i < yaml_tree_len(n); i++)
			deploy__walk(ps, from, yaml_tree_value(n, i),
			             weak || iov_eq(yaml_tree_scalar(yaml_tree_key(n, i)),
			                            IOV_LIT("Destination")));
}

/* ---- pass 3: cycles ---- */

static void cycle_report(struct deploy__parse *ps, uint32_t to)
{
	char text[DEPLOY_STACK_DIAG_LEN - 64];
	size_t n = 0, start = 0;
	while (ps->path_stack[start] != to)
		start++;
	for (size_t i = start; i <= ps->depth; i++) {
		uint32_t r = i < ps->depth ? ps->path_stack[i] : to;
		int k = snprintf(text + n, sizeof(text) - n, "%s%.*s", i > start ? " -> " : "",
		                 DEPLOY__Q(ps->res[r].id));
		if (k < 0 || (size_t)k >= sizeof(text) - n)
			break;
		n += (size_t)k;
	}
	for (size_t i = start; i < ps->depth; i++)
		ps->res[ps->path_stack[i]].bad = true;
	deploy__errf(ps, ps->res[to].key, "reference cycle: %s", text);
}

/* Depth-first: report each back edge as a cycle; `order` gets resources
 * dependencies first. */
void deploy__visit(struct deploy__parse *ps, uint32_t r, uint32_t *order, uint32_t *norder)
{
	ps->res[r].color = 1;
	ps->path_stack[ps->depth++] = r;
	for (uint32_t d = 0; d < ps->nres; d++) {
		if (!(ps->res[r].dep[d / 8] & (1u << (d % 8))))
			continue;
		if (ps->res[d].color == 1)
			cycle_report(ps, d);
		else if (ps->res[d].color == 0)
			deploy__visit(ps, d, order, norder);
	}
	ps->depth--;
	ps->res[r].color = 2;
	order[(*norder)++] = r;
}

/* ---- pass 4: evaluation ---- */

int deploy__eval(struct deploy__parse *ps, const struct yaml_tree_node *n, struct deploy__val *out);

const char *deploy__res_type_name(const struct deploy__parse *ps, int r)
{
	return ps->res[r].type >= 0 ? deploy__types[ps->res[r].type].name : "resource";
}

/* The static text of !Ref to a resource. */
static const char *ref_text(const struct deploy__parse *ps, uint32_t r)
{
	const struct deploy_stack *st = ps->st;
	uint32_t i = ps->res[r].index;
	switch (ps->res[r].type) {
	case DEPLOY_STACK_LOCATION:
		return st->location[i].name;
	case DEPLOY_STACK_BUCKET:
		return st->bucket[i].name;
	case DEPLOY_STACK_ACCESS_POINT:
		return st->access_point[i].name;
	case DEPLOY_STACK_DISTRIBUTION:
		return st->distribution[i].id;
	default:
		return st->resource[r].logical_id;
	}
}

/* The static value of attribute `a` of resource `r`; NULL when it is a
 * runtime attribute (or unknown). *owned: free it. */
static const char *attr_text(struct deploy__parse *ps, uint32_t r, struct iov a, char *tmp,
                             size_t cap)
{
	const struct deploy_stack *st = ps->st;
	uint32_t i = ps->res[r].index;
	int t = ps->res[r].type;
	if (t == DEPLOY_STACK_LOCATION && iov_eq(a, IOV_LIT("Name")))
		return st->location[i].name;
	if (t == DEPLOY_STACK_LOCATION && iov_eq(a, IOV_LIT("Region")))
		return st->location[i].region ? st->location[i].region : "";
	if (t == DEPLOY_STACK_STORE && iov_eq(a, IOV_LIT("Region")))
		return st->store[i].region;
	if (t == DEPLOY_STACK_BUCKET && iov_eq(a, IOV_LIT("Name")))
		return st->bucket[i].name;
	if (t == DEPLOY_STACK_BUCKET && iov_eq(a, IOV_LIT("Arn"))) {
		snprintf(tmp, cap, "arn:aws:s3:::%s", st->bucket[i].name);
		return tmp;
	}
	if (t == DEPLOY_STACK_BUCKET && iov_eq(a, IOV_LIT("DomainName"))) {
		snprintf(tmp, cap, "%s.s3.%s.meridian.test", st->bucket[i].name,
		         st->store[st->bucket[i].store].region);
		return tmp;
	}
	if (t == DEPLOY_STACK_CREDENTIALS && iov_eq(a, IOV_LIT("AccessKeyId")))
		return st->credentials[i].access_key; /* NULL when generated */
	if (t == DEPLOY_STACK_ACCESS_POINT && iov_eq(a, IOV_LIT("Name")))
		return st->access_point[i].name;
	if (t == DEPLOY_STACK_ACCESS_POINT && iov_eq(a, IOV_LIT("Alias")))
		return st->access_point[i].alias;
	if (t == DEPLOY_STACK_ACCESS_POINT && iov_eq(a, IOV_LIT("Host")))
		return st->access_point[i].host;
	if (t == DEPLOY_STACK_ACCESS_POINT && iov_eq(a, IOV_LIT("Arn"))) {
		snprintf(tmp, cap, "arn:aws:s3::000000000000:accesspoint/%s",
		         st->access_point[i].alias);
		return tmp;
	}
	if (t == DEPLOY_STACK_DISTRIBUTION && iov_eq(a, IOV_LIT("Id")))
		return st->distribution[i].id;
	if (t == DEPLOY_STACK_DISTRIBUTION && iov_eq(a, IOV_LIT("DomainName")))
		return st->distribution[i].domain;
	return NULL;
}

/* Append the value of Name or Name.Attr to `b`. 0, or an error that the
 * walk has reported already (or NOMEM). */
/* Append literal text; in a deferred template each "${" becomes "${!" so
 * that deploy_stack_expand gives it back unchanged. */
static void sb_lit(struct sb *b, const char *s, size_t n, bool escape)
{
	for (size_t i = 0; i < n; i++) {
		sb_add(b, s + i, 1);
		if (escape && s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
			sb_add(b, "{!", 2);
			i++;
		}
	}
}

/* Append the value of Name or Name.Attr to `b` (literal text escaped when
 * `escape`). 0, 1 when the value is deferred, or an error that is
 * reported already (or NOMEM). */
static int eval_name(struct deploy__parse *ps, struct iov name, struct iov attr, bool has_attr,
                     const struct deploy__sub_var *vars, size_t nvars, bool escape, struct sb *b)
{
	if (!has_attr)
		for (size_t i = 0; i < nvars; i++)
			if (iov_eq(vars[i].name, name)) {
				struct deploy__val v;
				int rc = deploy__eval(ps, vars[i].value, &v);
				if (rc)
					return rc;
				if (v.deferred)
					sb_add(b, v.s, v.len);
				else
					sb_lit(b, v.s, v.len, escape);
				free(v.s);
				return v.deferred ? 1 : 0;
			}
	int p = deploy__find_param(ps, name);
	if (p >= 0 && !has_attr) {
		const char *s = ps->st->param[p].value;
		if (!s)
			return ERR_CONFIG_SCHEMA;
		sb_lit(b, s, strlen(s), escape);
		return 0;
	}
	int r = deploy__find_res(ps, name);
	if (r < 0 || ps->res[r].bad || !ps->res[r].read)
		return ERR_CONFIG_SCHEMA;
	if (!has_attr) {
		const char *s = ref_text(ps, (uint32_t)r);
		sb_lit(b, s, strlen(s), escape);
		return 0;
	}
	char tmp[512];
	const char *s = attr_text(ps, (uint32_t)r, attr, tmp, sizeof(tmp));
	if (s) {
		sb_lit(b, s, strlen(s), escape);
		return 0;
	}
	if (deploy__find_attr(ps->res[r].type, attr) < 0)
		return ERR_CONFIG_SCHEMA;
	sb_add(b, "${", 2);
	sb_add(b, name.base, name.len);
	sb_add(b, ".", 1);
	sb_add(b, attr.base, attr.len);
	sb_add(b, "}", 1);
	return 1; /* deferred */
}

static int finish(struct deploy__parse *ps, const struct yaml_tree_node *at, struct sb *b,
                  bool deferred, struct deploy__val *out)
{
	if (b->over)
		return deploy__errf(ps, at, "the value is over %d bytes", DEPLOY_STACK_VALUE_MAX);
	out->s = deploy__dup_iov(ps, iov_make(b->b, b->n));
	out->len = b->n;
	out->deferred = deferred;
	return out->s ? 0 : ERR_NOMEM;
}

static int eval_sub(struct deploy__parse *ps, const struct yaml_tree_node *a,
                    struct deploy__val *out)
{
	const struct yaml_tree_node *tmpl, *vm;
	if (!sub_parts(ps, a, &tmpl, &vm, false))
		return ERR_CONFIG_SCHEMA;
	struct deploy__sub_var vars[DEPLOY_STACK_ITEMS_MAX];
	size_t nvars = 0;
	for (size_t i = 0; vm && i < yaml_tree_len(vm) && nvars < DEPLOY__N_ELEMS(vars); i++) {
		vars[nvars].name = yaml_tree_scalar(yaml_tree_key(vm, i));
		vars[nvars++].value = yaml_tree_value(vm, i);
	}
	struct sb *b = malloc(sizeof(*b));
	if (!b)
		return deploy__nomem(ps);
	b->n = 0;
	b->over = false;
	b->b[0] = '\0';
	bool deferred = false;
	int rc = 0;
	/* Two passes: first learn whether any piece is deferred (then escapes
	 * stay escaped for deploy_stack_expand), then build. */
	for (int pass = 0; pass < 2 && rc >= 0; pass++) {
		b->n = 0;
		struct iov rest = yaml_tree_scalar(tmpl);
		while (rest.len && rc >= 0) {
			struct deploy__sub_piece p;
			if (!deploy__sub_next(&rest, &p)) {
				rc = ERR_CONFIG_SCHEMA;
				break;
			}
			if (p.escaped) {
				sb_add(b, deferred ? "${!" : "${", deferred ? 3 : 2);
				sb_add(b, p.text.base, p.text.len);
				sb_add(b, "}", 1);
			} else if (!p.ref) {
				sb_add(b, p.text.base, p.text.len);
			} else {
				rc = eval_name(ps, p.name, p.attr, p.has_attr, vars, nvars,
				               deferred, b);
				if (rc == 1)
					deferred = true;
			}
		}
	}
	if (rc >= 0)
		rc = finish(ps, tmpl, b, deferred, out);
	free(b);
	return rc;
}

/*
 * A scalar-valued node: plain text, !Ref, !GetAtt or !Sub in either form.
 * 0 with *out set (free out->s); ERR_CONFIG_SCHEMA when it cannot be
 * evaluated (reported here for shapes, by the walk for names).
 */
int deploy__eval(struct deploy__parse *ps, const struct yaml_tree_node *n, struct deploy__val *out)
{
	memset(out, 0, sizeof(*out));
	const struct yaml_tree_node *a;
	struct sb *b;
	int rc;
	switch (deploy__intrinsic_of(n, &a)) {
	case DEPLOY__I_NONE:
		if (!deploy__is_scalar(n))
			return ERR_CONFIG_SCHEMA;
		out->s = deploy__dup_iov(ps, yaml_tree_scalar(n));
		out->len = yaml_tree_scalar(n).len;
		return out->s ? 0 : ERR_NOMEM;
	case DEPLOY__I_BAD:
		return ERR_CONFIG_SCHEMA;
	case DEPLOY__I_SUB:
		return eval_sub(ps, a, out);
	case DEPLOY__I_REF:
	case DEPLOY__I_GETATT:
		break;
	}
	struct iov name = yaml_tree_scalar(a), attr = IOV_NULL;
	bool has_attr =
	    a != n ? !deploy__long_form(n, "Ref") : yaml_tree_tag(n) == YAML_TREE_TAG_GETATT;
	if (has_attr && !getatt_parts(a, &name, &attr))
		return ERR_CONFIG_SCHEMA;
	if (!has_attr && !deploy__is_scalar(a))
		return ERR_CONFIG_SCHEMA;
	b = malloc(sizeof(*b));
	if (!b)
		return deploy__nomem(ps);
	b->n = 0;
	b->over = false;
	rc = eval_name(ps, name, attr, has_attr, NULL, 0, false, b);
	if (rc >= 0)
		rc = finish(ps, n, b, rc == 1, out);
	free(b);
	return rc;
}
