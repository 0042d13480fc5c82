/*
 * The stack file (rules in stack.h): a yaml_tree read in four passes.
 * 1. Parameters and the list of resources (types, logical ids).
 * 2. A walk over every resource's Properties that checks each !Ref,
 *    !GetAtt and !Sub name and records which resources depend on which.
 * 3. Cycles in that graph, each named once.
 * 4. Each resource read by its type's reader in dependency order, with
 *    intrinsics evaluated, into the plan; then Outputs.
 * Errors are collected, never sticky, so one run reports them all.
 * Startup thread only.
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

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef const struct yaml_tree_node node_t;

/* ---- resource types: a row each ---- */

struct parse;
typedef void (*read_fn)(struct parse *ps, uint32_t r);

struct attr_row {
	const char *name;
	bool runtime; /* known only once the processes run */
};

struct type_row {
	const char *name;
	const char *const *keys;
	size_t nkeys;
	struct attr_row attrs[5];
	read_fn read;
};

static void read_location(struct parse *ps, uint32_t r);
static void read_store(struct parse *ps, uint32_t r);
static void read_bucket(struct parse *ps, uint32_t r);
static void read_credentials(struct parse *ps, uint32_t r);
static void read_access_point(struct parse *ps, uint32_t r);
static void read_distribution(struct parse *ps, uint32_t r);
static void read_latency(struct parse *ps, uint32_t r);

static const char *const location_keys[] = { "Name", "Region" };
static const char *const store_keys[] = { "Location", "Port", "Credentials" };
static const char *const bucket_keys[] = {
	"Store", "BucketName", "Versioning", "ReplicationRules", "Objects", "AnonymousRead",
};
static const char *const credentials_keys[] = { "AccessKeyId", "SecretAccessKey" };
static const char *const access_point_keys[] = { "Name", "Alias", "Regions" };
static const char *const distribution_keys[] = {
	"Locations",   "DefaultRootObject", "SigningCredentials", "FailoverHeader",
	"MemoryBytes", "Origins",           "OriginGroups",       "Behaviors",
};
static const char *const latency_keys[] = { "Links" };

static const struct type_row types[DEPLOY_STACK_NTYPES] = {
	[DEPLOY_STACK_LOCATION] = { "Meridian::Location",
	                            location_keys,
	                            N_ELEMS(location_keys),
	                            { { "Name", false },
	                              { "Region", false },
	                              { "EdgeUrl", true },
	                              { "RouterUrl", true } },
	                            read_location },
	[DEPLOY_STACK_STORE] = { "Meridian::Store",
	                         store_keys,
	                         N_ELEMS(store_keys),
	                         { { "Region", false }, { "Endpoint", true }, { "Port", true } },
	                         read_store },
	[DEPLOY_STACK_BUCKET] = { "Meridian::Bucket",
	                          bucket_keys,
	                          N_ELEMS(bucket_keys),
	                          { { "Name", false }, { "Arn", false }, { "DomainName", false } },
	                          read_bucket },
	[DEPLOY_STACK_CREDENTIALS] = { "Meridian::Credentials",
	                               credentials_keys,
	                               N_ELEMS(credentials_keys),
	                               { { "AccessKeyId", true }, { "File", true } },
	                               read_credentials },
	[DEPLOY_STACK_ACCESS_POINT] = { "Meridian::AccessPoint",
	                                access_point_keys,
	                                N_ELEMS(access_point_keys),
	                                { { "Name", false },
	                                  { "Alias", false },
	                                  { "Host", false },
	                                  { "Arn", false } },
	                                read_access_point },
	[DEPLOY_STACK_DISTRIBUTION] = { "Meridian::Distribution",
	                                distribution_keys,
	                                N_ELEMS(distribution_keys),
	                                { { "Id", false }, { "DomainName", false } },
	                                read_distribution },
	[DEPLOY_STACK_LATENCY] = { "Meridian::LatencyMatrix",
	                           latency_keys,
	                           N_ELEMS(latency_keys),
	                           { { NULL, false } },
	                           read_latency },
};

static const char *const top_keys[] = {
	"AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs",
};
static const char *const resource_keys[] = { "Type", "Properties", "DependsOn" };
static const char *const param_keys[] = { "Type", "Default", "Description", "AllowedValues" };
static const char *const output_keys[] = { "Value", "Description" };

/* ---- parse state ---- */

struct res {
	struct iov id;
	node_t *key;   /* the logical id, for marks */
	node_t *map;   /* the resource's own map, or NULL */
	node_t *props; /* the Properties map, or NULL */
	int type;      /* -1: unknown */
	uint32_t index;
	uint8_t color; /* cycle search: 0 white, 1 on the path, 2 done */
	bool bad;      /* refused or in a cycle: references to it are not evaluated */
	bool read;
	uint8_t dep[DEPLOY_STACK_RES_MAX / 8];
};

struct sub_var {
	struct iov name;
	node_t *value;
};

struct parse {
	const struct yaml_tree *t;
	const char *path;
	struct deploy_stack *st;
	struct deploy_stack_diag *diag;
	bool nomem;
	uint32_t nres;
	struct res res[DEPLOY_STACK_RES_MAX];
	node_t *param_key[DEPLOY_STACK_PARAMS_MAX];
	const char *names[DEPLOY_STACK_PARAMS_MAX + DEPLOY_STACK_RES_MAX]; /* for suggestions */
	size_t nnames;
	uint32_t count[DEPLOY_STACK_NTYPES];
	uint32_t path_stack[DEPLOY_STACK_RES_MAX];
	uint32_t depth;
};

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

/* A value: a malloc'd string, deferred when it holds "${Id.Attr}". */
struct val {
	char *s;
	size_t len;
	bool deferred;
};

/* ---- errors ---- */

static int add_diag(struct parse *ps, unsigned line, unsigned col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int add_diag(struct parse *ps, unsigned line, unsigned col, const char *fmt, va_list ap)
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

static int errf(struct parse *ps, node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int errf(struct parse *ps, node_t *at, const char *fmt, ...)
{
	struct yaml_tree_mark m = yaml_tree_mark(at);
	va_list ap;
	va_start(ap, fmt);
	add_diag(ps, m.line, m.col, fmt, ap);
	va_end(ap);
	return ERR_CONFIG_SCHEMA;
}

/* A message formatted already ("file:line:col: ..."), at mark `m`. */
static void add_text(struct parse *ps, struct yaml_tree_mark m, const char *text)
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

static int nomem(struct parse *ps)
{
	ps->nomem = true;
	return ERR_NOMEM;
}

static char *dup_iov(struct parse *ps, struct iov v)
{
	char *c = malloc(v.len + 1);
	if (!c) {
		nomem(ps);
		return NULL;
	}
	if (v.len)
		memcpy(c, v.base, v.len);
	c[v.len] = '\0';
	return c;
}

static void *alloc_array(struct parse *ps, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		nomem(ps);
	return p;
}

#define Q(v) config_schema_quote_len(v), (v).base

/* ---- small node helpers ---- */

static bool is_scalar(node_t *n)
{
	return yaml_tree_kind(n) == YAML_TREE_SCALAR;
}

/* A one-pair map whose key is `name` (the long form of an intrinsic). */
static node_t *long_form(node_t *n, const char *name)
{
	if (yaml_tree_kind(n) != YAML_TREE_MAP || yaml_tree_len(n) != 1 ||
	    yaml_tree_tag(n) != YAML_TREE_TAG_NONE)
		return NULL;
	if (!iov_eq(yaml_tree_scalar(yaml_tree_key(n, 0)), iov_cstr(name)))
		return NULL;
	return yaml_tree_value(n, 0);
}

/* Every unknown key of `map`, each an error (config_schema's message). */
static void check_keys(struct parse *ps, node_t *map, const char *const *known, size_t n)
{
	for (size_t i = 0; i < yaml_tree_len(map); i++) {
		char err[DEPLOY_STACK_DIAG_LEN];
		struct config_schema s;
		config_schema_init(&s, ps->t, err, sizeof(err));
		node_t *k = yaml_tree_key(map, i);
		if (config_schema_check_key(&s, k, known, n))
			add_text(ps, yaml_tree_mark(k), err);
	}
}

static int find_param(const struct parse *ps, struct iov name)
{
	for (uint32_t i = 0; i < ps->st->nparams; i++)
		if (iov_eq(name, iov_cstr(ps->st->param[i].name)))
			return (int)i;
	return -1;
}

static int find_res(const struct parse *ps, struct iov name)
{
	for (uint32_t i = 0; i < ps->nres; i++)
		if (iov_eq(name, ps->res[i].id))
			return (int)i;
	return -1;
}

static int find_attr(int type, struct iov attr)
{
	if (type < 0)
		return -1;
	for (int i = 0; i < (int)N_ELEMS(types[type].attrs) && types[type].attrs[i].name; i++)
		if (iov_eq(attr, iov_cstr(types[type].attrs[i].name)))
			return i;
	return -1;
}

/* ---- pass 2: the reference walk ---- */

static void dangling(struct parse *ps, node_t *at, struct iov name)
{
	const char *hint = config_schema_suggest(name, ps->names, ps->nnames);
	if (hint)
		errf(ps, at, "unknown reference \"%.*s\"; did you mean \"%s\"?", Q(name), hint);
	else
		errf(ps, at, "unknown reference \"%.*s\"", Q(name));
}

static void bad_attr(struct parse *ps, node_t *at, int r, struct iov attr)
{
	const struct type_row *t = &types[ps->res[r].type];
	char list[128] = "none";
	size_t n = 0;
	for (size_t i = 0; i < N_ELEMS(t->attrs) && t->attrs[i].name; i++) {
		int k =
		    snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", t->attrs[i].name);
		if (k > 0 && (size_t)k < sizeof(list) - n)
			n += (size_t)k;
	}
	errf(ps, at, "!GetAtt %.*s.%.*s: a %s has no attribute \"%.*s\" (it has %s)",
	     Q(ps->res[r].id), Q(attr), t->name, Q(attr), list);
}

static void depend(struct parse *ps, uint32_t from, int to, bool weak)
{
	if (to >= 0 && !weak)
		ps->res[from].dep[to / 8] |= (uint8_t)(1u << (to % 8));
}

/* Check a name used by !Ref (attr NULL base) or !GetAtt / !Sub (attr). */
static void check_name(struct parse *ps, uint32_t from, node_t *at, struct iov name,
                       struct iov attr, bool has_attr, const struct sub_var *vars, size_t nvars,
                       bool weak)
{
	if (!has_attr)
		for (size_t i = 0; i < nvars; i++)
			if (iov_eq(vars[i].name, name))
				return;
	int r = find_res(ps, name);
	if (r < 0 && find_param(ps, name) >= 0) {
		if (has_attr)
			errf(ps, at, "\"%.*s\" is a parameter; only resources have attributes",
			     Q(name));
		return;
	}
	if (r < 0) {
		dangling(ps, at, name);
		return;
	}
	if (has_attr && ps->res[r].type >= 0 && find_attr(ps->res[r].type, attr) < 0)
		bad_attr(ps, at, r, attr);
	depend(ps, from, r, weak);
}

/* The pieces of a !Sub template: calls `fn` for each literal and each
 * ${...}; returns false (after an error, if ps) on an unclosed "${". */
struct sub_piece {
	bool ref;     /* ${Name} or ${Name.Attr} */
	bool escaped; /* ${!text}: the literal "${text}" */
	struct iov text, name, attr;
	bool has_attr;
};

static bool sub_next(struct iov *rest, struct sub_piece *p)
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

static void walk(struct parse *ps, uint32_t from, node_t *n, bool weak);

enum intrinsic { I_NONE, I_REF, I_GETATT, I_SUB, I_BAD };
static enum intrinsic intrinsic_of(node_t *n, node_t **arg);

/* The template and variables of a !Sub value (scalar, or [template, map]).
 * False after an error about the shape. */
static bool sub_parts(struct parse *ps, node_t *v, node_t **tmpl, node_t **vars, bool report)
{
	*vars = NULL;
	if (is_scalar(v) && yaml_tree_tag(v) != YAML_TREE_TAG_SUB &&
	    yaml_tree_tag(v) != YAML_TREE_TAG_NONE)
		goto shape;
	if (is_scalar(v)) {
		*tmpl = v;
		return true;
	}
	if (yaml_tree_kind(v) == YAML_TREE_SEQ && yaml_tree_len(v) == 2 &&
	    is_scalar(yaml_tree_item(v, 0)) &&
	    yaml_tree_kind(yaml_tree_item(v, 1)) == YAML_TREE_MAP) {
		*tmpl = yaml_tree_item(v, 0);
		*vars = yaml_tree_item(v, 1);
		return true;
	}
shape:
	if (report)
		errf(ps, v, "!Sub: expected a string or [string, {name: value}], got %s",
		     config_schema_kind_name(v));
	return false;
}

static void walk_sub(struct parse *ps, uint32_t from, node_t *v, bool weak)
{
	node_t *tmpl, *vm;
	if (!sub_parts(ps, v, &tmpl, &vm, true))
		return;
	struct sub_var vars[DEPLOY_STACK_ITEMS_MAX];
	size_t nvars = 0;
	for (size_t i = 0; vm && i < yaml_tree_len(vm) && nvars < N_ELEMS(vars); i++) {
		node_t *x = yaml_tree_value(vm, i), *a;
		vars[nvars].name = yaml_tree_scalar(yaml_tree_key(vm, i));
		vars[nvars++].value = x;
		if (intrinsic_of(x, &a) == I_NONE && !is_scalar(x))
			errf(ps, x, "!Sub: %.*s: expected a string, got %s",
			     Q(yaml_tree_scalar(yaml_tree_key(vm, i))), config_schema_kind_name(x));
		else
			walk(ps, from, x, weak);
	}
	struct iov rest = yaml_tree_scalar(tmpl);
	while (rest.len) {
		struct sub_piece p;
		if (!sub_next(&rest, &p)) {
			errf(ps, tmpl, "!Sub: \"${\" without a closing \"}\"");
			return;
		}
		if (p.ref)
			check_name(ps, from, tmpl, p.name, p.attr, p.has_attr, vars, nvars, weak);
	}
}

/* !GetAtt's value: "Name.Attr" or [Name, Attr]. */
static bool getatt_parts(node_t *v, struct iov *name, struct iov *attr)
{
	if (is_scalar(v) && yaml_tree_tag(v) != YAML_TREE_TAG_OTHER) {
		struct iov s = yaml_tree_scalar(v);
		const char *dot = memchr(s.base, '.', s.len);
		if (!dot || dot == s.base || dot == s.base + s.len - 1)
			return false;
		*name = iov_make(s.base, (size_t)(dot - s.base));
		*attr = iov_make(dot + 1, s.len - (size_t)(dot + 1 - s.base));
		return true;
	}
	if (yaml_tree_kind(v) == YAML_TREE_SEQ && yaml_tree_len(v) == 2 &&
	    is_scalar(yaml_tree_item(v, 0)) && is_scalar(yaml_tree_item(v, 1))) {
		*name = yaml_tree_scalar(yaml_tree_item(v, 0));
		*attr = yaml_tree_scalar(yaml_tree_item(v, 1));
		return name->len && attr->len;
	}
	return false;
}

/* What intrinsic `n` is, and its argument node (the node itself for the
 * short forms). */
static enum intrinsic intrinsic_of(node_t *n, node_t **arg)
{
	*arg = n;
	switch (yaml_tree_tag(n)) {
	case YAML_TREE_TAG_REF:
		return I_REF;
	case YAML_TREE_TAG_GETATT:
		return I_GETATT;
	case YAML_TREE_TAG_SUB:
		return I_SUB;
	case YAML_TREE_TAG_NONE:
		break;
	default:
		return I_BAD;
	}
	if ((*arg = long_form(n, "Ref")) != NULL)
		return I_REF;
	if ((*arg = long_form(n, "Fn::GetAtt")) != NULL)
		return I_GETATT;
	if ((*arg = long_form(n, "Fn::Sub")) != NULL)
		return I_SUB;
	*arg = n;
	if (yaml_tree_kind(n) == YAML_TREE_MAP && yaml_tree_len(n) == 1 &&
	    iov_starts(yaml_tree_scalar(yaml_tree_key(n, 0)), IOV_LIT("Fn::")))
		return I_BAD;
	return I_NONE;
}

static void walk(struct parse *ps, uint32_t from, node_t *n, bool weak)
{
	node_t *a;
	switch (intrinsic_of(n, &a)) {
	case I_REF:
		if (!is_scalar(a) || yaml_tree_tag(a) == YAML_TREE_TAG_OTHER ||
		    yaml_tree_scalar(a).len == 0) {
			errf(ps, n, "!Ref: expected a name, got %s", config_schema_kind_name(a));
			return;
		}
		check_name(ps, from, a, yaml_tree_scalar(a), IOV_NULL, false, NULL, 0, weak);
		return;
	case I_GETATT: {
		struct iov name, attr;
		if (!getatt_parts(a, &name, &attr)) {
			errf(ps, n, "!GetAtt: expected Name.Attribute or [Name, Attribute]");
			return;
		}
		check_name(ps, from, a, name, attr, true, NULL, 0, weak);
		return;
	}
	case I_SUB:
		walk_sub(ps, from, a, weak);
		return;
	case I_BAD: {
		struct iov tag = yaml_tree_tag(n) != YAML_TREE_TAG_NONE
		                     ? yaml_tree_tag_text(n)
		                     : yaml_tree_scalar(yaml_tree_key(n, 0));
		errf(ps, n, IOV_FMT " is not supported (use !Ref, !GetAtt or !Sub)", IOV_ARG(tag));
		return;
	}
	case I_NONE:
		break;
	}
	if (yaml_tree_kind(n) == YAML_TREE_SEQ)
		for (size_t i = 0; i < yaml_tree_len(n); i++)
			walk(ps, from, yaml_tree_item(n, i), weak);
	if (yaml_tree_kind(n) == YAML_TREE_MAP)
		for (size_t i = 0; i < yaml_tree_len(n); i++)
			walk(ps, from, yaml_tree_value(n, i),
			     weak || iov_eq(yaml_tree_scalar(yaml_tree_key(n, i)),
			                    IOV_LIT("Destination")));
}

/* ---- pass 3: cycles ---- */

static void cycle_report(struct parse *ps, uint32_t to)
{
	char text[DEPLOY_STACK_DIAG_LEN - 64];
	size_t n = 0, start = 0;
	while (ps->path_stack[start] != to)
		start++;
	for (size_t i = start; i <= ps->depth; i++) {
		uint32_t r = i < ps->depth ? ps->path_stack[i] : to;
		int k = snprintf(text + n, sizeof(text) - n, "%s%.*s", i > start ? " -> " : "",
		                 Q(ps->res[r].id));
		if (k < 0 || (size_t)k >= sizeof(text) - n)
			break;
		n += (size_t)k;
	}
	for (size_t i = start; i < ps->depth; i++)
		ps->res[ps->path_stack[i]].bad = true;
	errf(ps, ps->res[to].key, "reference cycle: %s", text);
}

/* Depth-first: report each back edge as a cycle; `order` gets resources
 * dependencies first. */
static void visit(struct parse *ps, uint32_t r, uint32_t *order, uint32_t *norder)
{
	ps->res[r].color = 1;
	ps->path_stack[ps->depth++] = r;
	for (uint32_t d = 0; d < ps->nres; d++) {
		if (!(ps->res[r].dep[d / 8] & (1u << (d % 8))))
			continue;
		if (ps->res[d].color == 1)
			cycle_report(ps, d);
		else if (ps->res[d].color == 0)
			visit(ps, d, order, norder);
	}
	ps->depth--;
	ps->res[r].color = 2;
	order[(*norder)++] = r;
}

/* ---- pass 4: evaluation ---- */

static int eval(struct parse *ps, node_t *n, struct val *out);

static const char *res_type_name(const struct parse *ps, int r)
{
	return ps->res[r].type >= 0 ? types[ps->res[r].type].name : "resource";
}

/* The static text of !Ref to a resource. */
static const char *ref_text(const struct parse *ps, uint32_t r)
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
static const char *attr_text(struct parse *ps, uint32_t r, struct iov a, char *tmp, size_t cap)
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
static int eval_name(struct parse *ps, struct iov name, struct iov attr, bool has_attr,
                     const struct sub_var *vars, size_t nvars, bool escape, struct sb *b)
{
	if (!has_attr)
		for (size_t i = 0; i < nvars; i++)
			if (iov_eq(vars[i].name, name)) {
				struct val v;
				int rc = eval(ps, vars[i].value, &v);
				if (rc)
					return rc;
				if (v.deferred)
					sb_add(b, v.s, v.len);
				else
					sb_lit(b, v.s, v.len, escape);
				free(v.s);
				return v.deferred ? 1 : 0;
			}
	int p = find_param(ps, name);
	if (p >= 0 && !has_attr) {
		const char *s = ps->st->param[p].value;
		if (!s)
			return ERR_CONFIG_SCHEMA;
		sb_lit(b, s, strlen(s), escape);
		return 0;
	}
	int r = find_res(ps, name);
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
	if (find_attr(ps->res[r].type, attr) < 0)
		return ERR_CONFIG_SCHEMA;
	sb_add(b, "${", 2);
	sb_add(b, name.base, name.len);
	sb_add(b, ".", 1);
	sb_add(b, attr.base, attr.len);
	sb_add(b, "}", 1);
	return 1; /* deferred */
}

static int finish(struct parse *ps, node_t *at, struct sb *b, bool deferred, struct val *out)
{
	if (b->over)
		return errf(ps, at, "the value is over %d bytes", DEPLOY_STACK_VALUE_MAX);
	out->s = dup_iov(ps, iov_make(b->b, b->n));
	out->len = b->n;
	out->deferred = deferred;
	return out->s ? 0 : ERR_NOMEM;
}

static int eval_sub(struct parse *ps, node_t *a, struct val *out)
{
	node_t *tmpl, *vm;
	if (!sub_parts(ps, a, &tmpl, &vm, false))
		return ERR_CONFIG_SCHEMA;
	struct sub_var vars[DEPLOY_STACK_ITEMS_MAX];
	size_t nvars = 0;
	for (size_t i = 0; vm && i < yaml_tree_len(vm) && nvars < N_ELEMS(vars); i++) {
		vars[nvars].name = yaml_tree_scalar(yaml_tree_key(vm, i));
		vars[nvars++].value = yaml_tree_value(vm, i);
	}
	struct sb *b = malloc(sizeof(*b));
	if (!b)
		return nomem(ps);
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
			struct sub_piece p;
			if (!sub_next(&rest, &p)) {
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
static int eval(struct parse *ps, node_t *n, struct val *out)
{
	memset(out, 0, sizeof(*out));
	node_t *a;
	struct sb *b;
	int rc;
	switch (intrinsic_of(n, &a)) {
	case I_NONE:
		if (!is_scalar(n))
			return ERR_CONFIG_SCHEMA;
		out->s = dup_iov(ps, yaml_tree_scalar(n));
		out->len = yaml_tree_scalar(n).len;
		return out->s ? 0 : ERR_NOMEM;
	case I_BAD:
		return ERR_CONFIG_SCHEMA;
	case I_SUB:
		return eval_sub(ps, a, out);
	case I_REF:
	case I_GETATT:
		break;
	}
	struct iov name = yaml_tree_scalar(a), attr = IOV_NULL;
	bool has_attr = a != n ? !long_form(n, "Ref") : yaml_tree_tag(n) == YAML_TREE_TAG_GETATT;
	if (has_attr && !getatt_parts(a, &name, &attr))
		return ERR_CONFIG_SCHEMA;
	if (!has_attr && !is_scalar(a))
		return ERR_CONFIG_SCHEMA;
	b = malloc(sizeof(*b));
	if (!b)
		return nomem(ps);
	b->n = 0;
	b->over = false;
	rc = eval_name(ps, name, attr, has_attr, NULL, 0, false, b);
	if (rc >= 0)
		rc = finish(ps, n, b, rc == 1, out);
	free(b);
	return rc;
}

/* ---- typed property getters (errors at the key) ---- */

/* The value node of `key`, NULL when absent (an error when required). */
static node_t *prop(struct parse *ps, node_t *map, node_t *owner, const char *key, bool required,
                    node_t **k)
{
	size_t i = 0;
	node_t *v = map && yaml_tree_kind(map) == YAML_TREE_MAP
	                ? yaml_tree_get(map, iov_cstr(key), &i)
	                : NULL;
	if (!v) {
		if (required)
			errf(ps, map && yaml_tree_kind(map) == YAML_TREE_MAP ? map : owner,
			     "missing required key \"%s\"", key);
		return NULL;
	}
	*k = yaml_tree_key(map, i);
	return v;
}

/* A string known before start (not deferred), non-empty, no NUL. */
static int get_str(struct parse *ps, node_t *map, node_t *owner, const char *key, bool required,
                   char **out)
{
	node_t *k = NULL, *v = prop(ps, map, owner, key, required, &k);
	*out = NULL;
	if (!v)
		return required ? ERR_CONFIG_SCHEMA : 0;
	node_t *a;
	if (intrinsic_of(v, &a) == I_NONE && !is_scalar(v))
		return errf(ps, k, "%s: expected a string, got %s", key,
		            config_schema_kind_name(v));
	struct val x;
	int rc = eval(ps, v, &x);
	if (rc)
		return rc;
	if (x.deferred) {
		errf(ps, k, "%s: \"%s\" is only known once the stack runs; use it in Outputs", key,
		     x.s);
		free(x.s);
		return ERR_CONFIG_SCHEMA;
	}
	if (x.len == 0 || memchr(x.s, '\0', x.len)) {
		free(x.s);
		return errf(ps, k, "%s: must not be empty or hold a NUL byte", key);
	}
	*out = x.s;
	return 0;
}

static int get_u64(struct parse *ps, node_t *map, node_t *owner, const char *key, bool required,
                   uint64_t min, uint64_t max, uint64_t *out)
{
	char *s;
	int rc = get_str(ps, map, owner, key, required, &s);
	if (rc || !s)
		return rc;
	unsigned long long x = 0;
	if (iov_to_u64(iov_cstr(s), max, &x) != 0 || x < min) {
		node_t *k = config_schema_key(map, key);
		errf(ps, k, "%s: \"%.*s\" is not an integer in %llu..%llu", key,
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
static int get_enum(struct parse *ps, node_t *map, node_t *owner, const char *key,
                    const char *const *names, size_t n, bool required, int *out)
{
	char *s;
	int rc = get_str(ps, map, owner, key, required, &s);
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
	errf(ps, config_schema_key(map, key), "%s: \"%.*s\" is not one of %s", key,
	     config_schema_quote_len(iov_cstr(s)), s, list);
	free(s);
	return ERR_CONFIG_SCHEMA;
}

static int get_bool(struct parse *ps, node_t *map, node_t *owner, const char *key, bool *out)
{
	static const char *const tf[] = { "false", "true" };
	int i = -1;
	int rc = get_enum(ps, map, owner, key, tf, 2, false, &i);
	if (rc == 0 && i >= 0)
		*out = i == 1;
	return rc;
}

/* A node that must be !Ref (either form) to a resource of `type`. */
static int ref_node(struct parse *ps, node_t *v, node_t *at, const char *key, int type,
                    uint32_t *out)
{
	node_t *a;
	if (intrinsic_of(v, &a) != I_REF)
		return errf(ps, at, "%s: expected !Ref to a %s", key, types[type].name);
	if (!is_scalar(a))
		return ERR_CONFIG_SCHEMA;
	struct iov name = yaml_tree_scalar(a);
	int r = find_res(ps, name);
	if (r < 0) {
		if (find_param(ps, name) >= 0)
			return errf(ps, at, "%s: \"%.*s\" is a parameter, not a %s", key, Q(name),
			            types[type].name);
		return ERR_CONFIG_SCHEMA; /* dangling: reported by the walk */
	}
	if (ps->res[r].type != type) {
		if (ps->res[r].type < 0)
			return ERR_CONFIG_SCHEMA;
		return errf(ps, at, "%s: \"%.*s\" is a %s, not a %s", key, Q(name),
		            res_type_name(ps, r), types[type].name);
	}
	*out = ps->res[r].index;
	return 0;
}

static int get_ref(struct parse *ps, node_t *map, node_t *owner, const char *key, bool required,
                   int type, uint32_t *out)
{
	node_t *k = NULL, *v = prop(ps, map, owner, key, required, &k);
	if (!v)
		return required ? ERR_CONFIG_SCHEMA : 0;
	return ref_node(ps, v, k, key, type, out);
}

/* A sequence value (untagged) with 1..max items; NULL when absent. */
static node_t *get_seq(struct parse *ps, node_t *map, node_t *owner, const char *key, bool required,
                       size_t max)
{
	node_t *k = NULL, *v = prop(ps, map, owner, key, required, &k);
	if (!v)
		return NULL;
	if (yaml_tree_kind(v) != YAML_TREE_SEQ || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
		errf(ps, k, "%s: expected a sequence, got %s", key, config_schema_kind_name(v));
		return NULL;
	}
	if (yaml_tree_len(v) > max) {
		errf(ps, k, "%s: %zu items; at most %zu", key, yaml_tree_len(v), max);
		return NULL;
	}
	return v;
}

/* Item `i` of a sequence that must be a map, keys checked. */
static node_t *item_map(struct parse *ps, node_t *seq, size_t i, const char *key,
                        const char *const *known, size_t n)
{
	node_t *it = yaml_tree_item(seq, i);
	if (yaml_tree_kind(it) != YAML_TREE_MAP || yaml_tree_tag(it) != YAML_TREE_TAG_NONE) {
		errf(ps, it, "%s[%zu]: expected a map, got %s", key, i,
		     config_schema_kind_name(it));
		return NULL;
	}
	check_keys(ps, it, known, n);
	return it;
}

/* Another resource of the same type already uses `name` for `what`. */
static void check_unique(struct parse *ps, uint32_t r, const char *what, const char *name,
                         const char *(*get)(const struct deploy_stack *, uint32_t))
{
	int type = ps->res[r].type;
	for (uint32_t j = 0; j < ps->nres; j++) {
		if (j == r || ps->res[j].type != type || !ps->res[j].read || ps->res[j].bad)
			continue;
		const char *other = get(ps->st, ps->res[j].index);
		if (other && strcmp(other, name) == 0) {
			struct yaml_tree_mark m = yaml_tree_mark(ps->res[j].key);
			errf(ps, ps->res[r].key, "duplicate %s \"%s\" (also %.*s at %u:%u)", what,
			     name, Q(ps->res[j].id), m.line, m.col);
			ps->res[r].bad = true;
			return;
		}
	}
}

/* ---- type readers ---- */

#define RES(ps, r) (&(ps)->res[r])

static const char *location_name(const struct deploy_stack *st, uint32_t i)
{
	return st->location[i].name;
}

static void read_location(struct parse *ps, uint32_t r)
{
	struct deploy_stack_location *l = &ps->st->location[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	if (get_str(ps, m, o, "Name", true, &l->name) |
	    get_str(ps, m, o, "Region", false, &l->region)) {
		RES(ps, r)->bad = true;
		return;
	}
	RES(ps, r)->read = true;
	check_unique(ps, r, "location name", l->name, location_name);
}

static void read_store(struct parse *ps, uint32_t r)
{
	struct deploy_stack_store *s = &ps->st->store[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	uint64_t port = 0;
	s->credentials = DEPLOY_STACK_NONE;
	s->location = DEPLOY_STACK_NONE;
	int rc = get_ref(ps, m, o, "Location", true, DEPLOY_STACK_LOCATION, &s->location);
	rc |= get_u64(ps, m, o, "Port", false, 1, 65535, &port);
	rc |= get_ref(ps, m, o, "Credentials", false, DEPLOY_STACK_CREDENTIALS, &s->credentials);
	if (rc == 0 && !ps->st->location[s->location].region)
		rc = errf(ps, config_schema_key(m, "Location"),
		          "Location: %s has no Region; a store needs one",
		          ps->st->location[s->location].name);
	if (rc == 0) {
		s->region = dup_iov(ps, iov_cstr(ps->st->location[s->location].region));
		rc = s->region ? 0 : ERR_NOMEM;
	}
	s->port = (uint16_t)port;
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
}

static const char *bucket_name(const struct deploy_stack *st, uint32_t i)
{
	return st->bucket[i].name;
}

static bool valid_bucket_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return s[0] != '-' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.' && !strstr(s, "..");
}

static const char *const rule_keys[] = { "Destination", "Prefix", "Status" };
static const char *const object_keys[] = { "Key", "Body", "File" };

static int read_rules(struct parse *ps, uint32_t r, struct deploy_stack_bucket *b)
{
	node_t *m = RES(ps, r)->props;
	node_t *seq =
	    get_seq(ps, m, RES(ps, r)->key, "ReplicationRules", false, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return 0;
	b->rule = alloc_array(ps, yaml_tree_len(seq), sizeof(b->rule[0]));
	if (!b->rule)
		return ERR_NOMEM;
	static const char *const status[] = { "Disabled", "Enabled" };
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		node_t *it =
		    item_map(ps, seq, i, "ReplicationRules", rule_keys, N_ELEMS(rule_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_rule *u = &b->rule[b->nrules++];
		int st = 1;
		rc |=
		    get_ref(ps, it, it, "Destination", true, DEPLOY_STACK_BUCKET, &u->destination);
		rc |= get_str(ps, it, it, "Prefix", false, &u->prefix);
		rc |= get_enum(ps, it, it, "Status", status, 2, false, &st);
		u->enabled = st == 1;
		if (!u->prefix && !(u->prefix = dup_iov(ps, IOV_LIT(""))))
			return ERR_NOMEM;
		if (rc == 0 && u->destination == RES(ps, r)->index)
			rc = errf(ps, config_schema_key(it, "Destination"),
			          "Destination: a bucket cannot replicate to itself");
	}
	if (rc == 0 && b->nrules && b->versioning != DEPLOY_STACK_VERSIONING_ENABLED)
		rc = errf(ps, config_schema_key(m, "ReplicationRules"),
		          "ReplicationRules: needs Versioning: Enabled");
	return rc;
}

static int read_objects(struct parse *ps, uint32_t r, struct deploy_stack_bucket *b)
{
	node_t *seq = get_seq(ps, RES(ps, r)->props, RES(ps, r)->key, "Objects", false,
	                      DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return 0;
	b->object = alloc_array(ps, yaml_tree_len(seq), sizeof(b->object[0]));
	if (!b->object)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		node_t *it = item_map(ps, seq, i, "Objects", object_keys, N_ELEMS(object_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_object *o = &b->object[b->nobjects++];
		char *file = NULL;
		node_t *k = NULL, *body = prop(ps, it, it, "Body", false, &k);
		rc |= get_str(ps, it, it, "Key", true, &o->key);
		rc |= get_str(ps, it, it, "File", false, &file);
		if (body && file) {
			rc = errf(ps, it, "an object has either Body or File, not both");
		} else if (!body && !file) {
			rc = errf(ps, it, "an object needs Body or File");
		} else if (body) {
			struct val v;
			if (intrinsic_of(body, &(node_t *){ NULL }) == I_NONE && !is_scalar(body)) {
				rc = errf(ps, k, "Body: expected a string, got %s",
				          config_schema_kind_name(body));
			} else if (eval(ps, body, &v) == 0) {
				o->body = v.s;
				o->body_len = v.len;
				o->deferred = v.deferred;
			} else {
				rc = ERR_CONFIG_SCHEMA;
			}
		} else {
			struct config_schema s;
			char err[YAML_TREE_ERR_LEN];
			config_schema_init(&s, ps->t, err, sizeof(err));
			if (config_schema_path(&s, config_schema_key(it, "File"), "File",
			                       iov_cstr(file), &o->file))
				rc = errf(ps, config_schema_key(it, "File"), "File: path too long");
		}
		free(file);
	}
	return rc;
}

static void read_bucket(struct parse *ps, uint32_t r)
{
	struct deploy_stack_bucket *b = &ps->st->bucket[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	static const char *const versioning[] = { "Off", "Enabled", "Suspended" };
	int v = 0;
	int rc = get_ref(ps, m, o, "Store", true, DEPLOY_STACK_STORE, &b->store);
	rc |= get_str(ps, m, o, "BucketName", true, &b->name);
	rc |= get_enum(ps, m, o, "Versioning", versioning, 3, false, &v);
	b->versioning = (enum deploy_stack_versioning)v;
	rc |= get_bool(ps, m, o, "AnonymousRead", &b->anonymous_read);
	if (b->name && !valid_bucket_name(b->name))
		rc = errf(ps, config_schema_key(m, "BucketName"),
		          "BucketName: \"%s\" is not a bucket name (3-63 of a-z 0-9 '.' '-', "
		          "a letter or digit at both ends, no \"..\")",
		          b->name);
	rc |= read_rules(ps, r, b);
	rc |= read_objects(ps, r, b);
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
	if (rc == 0)
		check_unique(ps, r, "bucket name", b->name, bucket_name);
}

static void read_credentials(struct parse *ps, uint32_t r)
{
	struct deploy_stack_credentials *c = &ps->st->credentials[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	int rc = get_str(ps, m, o, "AccessKeyId", false, &c->access_key);
	rc |= get_str(ps, m, o, "SecretAccessKey", false, &c->secret_key);
	if (rc == 0 && !c->access_key != !c->secret_key)
		rc = errf(ps, m,
		          "give both AccessKeyId and SecretAccessKey, or neither (then "
		          "they are generated)");
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
}

static const char *ap_name(const struct deploy_stack *st, uint32_t i)
{
	return st->access_point[i].name;
}

static const char *const ap_region_keys[] = { "Bucket", "Dial" };

static void read_access_point(struct parse *ps, uint32_t r)
{
	struct deploy_stack_access_point *a = &ps->st->access_point[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	int rc = get_str(ps, m, o, "Name", true, &a->name);
	rc |= get_str(ps, m, o, "Alias", false, &a->alias);
	node_t *seq = get_seq(ps, m, o, "Regions", true, DEPLOY_STACK_ITEMS_MAX);
	if (!seq || yaml_tree_len(seq) == 0) {
		if (seq)
			errf(ps, config_schema_key(m, "Regions"), "Regions: must list a bucket");
		RES(ps, r)->bad = true;
		return;
	}
	a->region = alloc_array(ps, yaml_tree_len(seq), sizeof(a->region[0]));
	if (!a->region)
		return;
	static const char *const dials[] = { "passive", "active" };
	bool any_active = false;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		node_t *it =
		    item_map(ps, seq, i, "Regions", ap_region_keys, N_ELEMS(ap_region_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_ap_region *g = &a->region[a->nregions++];
		int dial = 1;
		rc |= get_ref(ps, it, it, "Bucket", true, DEPLOY_STACK_BUCKET, &g->bucket);
		rc |= get_enum(ps, it, it, "Dial", dials, 2, false, &dial);
		g->active = dial == 1;
		any_active |= g->active;
	}
	if (rc == 0 && !any_active)
		rc = errf(ps, config_schema_key(m, "Regions"),
		          "Regions: at least one must have Dial: active");
	if (rc == 0 && !a->alias) {
		char alias[128];
		snprintf(alias, sizeof(alias), "%s.mrap", a->name);
		rc = (a->alias = dup_iov(ps, iov_cstr(alias))) ? 0 : ERR_NOMEM;
	}
	if (rc == 0) {
		char host[300];
		snprintf(host, sizeof(host), "%s.%s", a->alias, DEPLOY_STACK_MRAP_DOMAIN);
		rc = (a->host = dup_iov(ps, iov_cstr(host))) ? 0 : ERR_NOMEM;
	}
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
	if (rc == 0)
		check_unique(ps, r, "access point name", a->name, ap_name);
}

static void read_latency(struct parse *ps, uint32_t r)
{
	static const char *const link_keys[] = { "Between", "DelayMs", "JitterMs" };
	node_t *seq =
	    get_seq(ps, RES(ps, r)->props, RES(ps, r)->key, "Links", true, DEPLOY_STACK_ITEMS_MAX);
	int rc = seq ? 0 : ERR_CONFIG_SCHEMA;
	struct deploy_stack *st = ps->st;
	for (size_t i = 0; seq && i < yaml_tree_len(seq); i++) {
		node_t *it = item_map(ps, seq, i, "Links", link_keys, N_ELEMS(link_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		node_t *between = get_seq(ps, it, it, "Between", true, 2);
		uint64_t delay = 0, jitter = 0;
		int lrc = get_u64(ps, it, it, "DelayMs", true, 0, 60000, &delay);
		lrc |= get_u64(ps, it, it, "JitterMs", false, 0, 60000, &jitter);
		if (!between || yaml_tree_len(between) != 2) {
			if (between)
				errf(ps, config_schema_key(it, "Between"),
				     "Between: expected two locations");
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		uint32_t a = 0, b = 0;
		lrc |= ref_node(ps, yaml_tree_item(between, 0), yaml_tree_item(between, 0),
		                "Between", DEPLOY_STACK_LOCATION, &a);
		lrc |= ref_node(ps, yaml_tree_item(between, 1), yaml_tree_item(between, 1),
		                "Between", DEPLOY_STACK_LOCATION, &b);
		if (lrc == 0 && a == b)
			lrc = errf(ps, between, "Between: a link joins two different locations");
		for (uint32_t j = 0; lrc == 0 && j < st->nlinks; j++)
			if ((st->link[j].a == a && st->link[j].b == b) ||
			    (st->link[j].a == b && st->link[j].b == a))
				lrc = errf(ps, between, "Between: duplicate link %s - %s",
				           st->location[a].name, st->location[b].name);
		if (lrc == 0 && jitter > delay)
			lrc = errf(ps, config_schema_key(it, "JitterMs"),
			           "JitterMs: %llu is more than DelayMs %llu",
			           (unsigned long long)jitter, (unsigned long long)delay);
		rc |= lrc;
		if (lrc)
			continue;
		struct deploy_stack_link *nl = realloc(st->link, (st->nlinks + 1) * sizeof(*nl));
		if (!nl) {
			nomem(ps);
			return;
		}
		st->link = nl;
		st->link[st->nlinks++] =
		    (struct deploy_stack_link){ a, b, (uint32_t)delay, (uint32_t)jitter };
	}
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
}

/* ---- distributions ---- */

static void free_strs(char **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const char *const origin_keys[] = {
	"Id",         "AccessPoint",   "Bucket",         "NearestBucket", "DomainName",
	"OriginPath", "CustomHeaders", "ConnectTimeout", "ReadTimeout",   "ConnectionAttempts",
};
static const char *const group_keys[] = { "Id", "Members", "FailoverStatuses" };
static const char *const behavior_keys[] = {
	"PathPattern",     "TargetOriginId", "AllowedMethods", "CachedMethods",
	"MinTTL",          "DefaultTTL",     "MaxTTL",         "QueryStrings",
	"CacheKeyHeaders", "Signing",        "SigningRegion",  "Compress",
};

static int get_duration(struct parse *ps, node_t *map, const char *key, uint64_t lo, uint64_t hi,
                        uint64_t *out)
{
	char *s;
	int rc = get_str(ps, map, map, key, false, &s);
	if (rc || !s)
		return rc;
	uint64_t ms = 0;
	if (config_schema_parse_duration(iov_cstr(s), &ms) != 0 || ms < lo || ms > hi)
		rc = errf(ps, config_schema_key(map, key),
		          "%s: \"%.*s\" is not a duration in %llums..%llums (like 500ms, 10s)", key,
		          config_schema_quote_len(iov_cstr(s)), s, (unsigned long long)lo,
		          (unsigned long long)hi);
	else
		*out = ms;
	free(s);
	return rc;
}

/* A sequence of plain strings, copied into *out[*n]. */
static int get_strs(struct parse *ps, node_t *map, const char *key, char ***out, uint32_t *n)
{
	node_t *seq = get_seq(ps, map, map, key, false, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return yaml_tree_get(map, iov_cstr(key), NULL) ? ERR_CONFIG_SCHEMA : 0;
	*out = alloc_array(ps, yaml_tree_len(seq), sizeof(char *));
	if (!*out)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		struct val v;
		node_t *it = yaml_tree_item(seq, i);
		if (!is_scalar(it) && intrinsic_of(it, &(node_t *){ NULL }) == I_NONE) {
			rc = errf(ps, it, "%s[%zu]: expected a string, got %s", key, i,
			          config_schema_kind_name(it));
			continue;
		}
		if (eval(ps, it, &v) != 0) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		if (v.deferred || v.len == 0) {
			rc = errf(ps, it, "%s[%zu]: must be a non-empty value known before start",
			          key, i);
			free(v.s);
			continue;
		}
		(*out)[(*n)++] = v.s;
	}
	return rc;
}

static int read_headers(struct parse *ps, node_t *it, struct deploy_stack_origin *o)
{
	node_t *k = NULL, *m = prop(ps, it, it, "CustomHeaders", false, &k);
	if (!m)
		return 0;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)
		return errf(ps, k, "CustomHeaders: expected a map, got %s",
		            config_schema_kind_name(m));
	o->header = alloc_array(ps, yaml_tree_len(m), sizeof(o->header[0]));
	if (!o->header)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(m); i++) {
		struct val v;
		node_t *hv = yaml_tree_value(m, i);
		if (eval(ps, hv, &v) != 0 || v.deferred) {
			if (v.s)
				free(v.s);
			rc = errf(ps, yaml_tree_key(m, i),
			          "CustomHeaders: %.*s: expected a string known before start",
			          Q(yaml_tree_scalar(yaml_tree_key(m, i))));
			continue;
		}
		struct edge_config_header *h = &o->header[o->nheaders++];
		h->value = v.s;
		h->name = dup_iov(ps, yaml_tree_scalar(yaml_tree_key(m, i)));
		if (!h->name)
			return ERR_NOMEM;
	}
	return rc;
}

static int read_origin(struct parse *ps, node_t *it, struct deploy_stack_origin *o)
{
	int rc = get_str(ps, it, it, "Id", true, &o->id);
	node_t *k = NULL;
	int kinds = 0;
	if (prop(ps, it, it, "AccessPoint", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_ACCESS_POINT;
		rc |=
		    get_ref(ps, it, it, "AccessPoint", true, DEPLOY_STACK_ACCESS_POINT, &o->target);
	}
	if (prop(ps, it, it, "Bucket", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_BUCKET;
		rc |= get_ref(ps, it, it, "Bucket", true, DEPLOY_STACK_BUCKET, &o->target);
	}
	node_t *near = NULL;
	if (prop(ps, it, it, "NearestBucket", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_NEAREST;
		near = get_seq(ps, it, it, "NearestBucket", true, DEPLOY_STACK_ITEMS_MAX);
		rc |= near ? 0 : ERR_CONFIG_SCHEMA;
	}
	if (kinds != 1)
		rc = errf(ps, it,
		          "an origin needs exactly one of AccessPoint, Bucket and "
		          "NearestBucket");
	if (near && kinds == 1) {
		o->candidate = alloc_array(ps, yaml_tree_len(near), sizeof(uint32_t));
		if (!o->candidate)
			return ERR_NOMEM;
		for (size_t i = 0; i < yaml_tree_len(near); i++) {
			node_t *b = yaml_tree_item(near, i);
			rc |= ref_node(ps, b, b, "NearestBucket", DEPLOY_STACK_BUCKET,
			               &o->candidate[o->ncandidates]);
			o->ncandidates++;
		}
		if (o->ncandidates == 0)
			rc = errf(ps, k, "NearestBucket: must list a bucket");
	}
	rc |= get_str(ps, it, it, "DomainName", false, &o->domain_name);
	rc |= get_str(ps, it, it, "OriginPath", false, &o->origin_path);
	o->connect_timeout_ms = EDGE_CONFIG_CONNECT_TIMEOUT_MS;
	o->read_timeout_ms = EDGE_CONFIG_READ_TIMEOUT_MS;
	uint64_t attempts = EDGE_CONFIG_ATTEMPTS;
	rc |= get_duration(ps, it, "ConnectTimeout", EDGE_CONFIG_CONNECT_TIMEOUT_MIN,
	                   EDGE_CONFIG_CONNECT_TIMEOUT_MAX, &o->connect_timeout_ms);
	rc |= get_duration(ps, it, "ReadTimeout", EDGE_CONFIG_READ_TIMEOUT_MIN,
	                   EDGE_CONFIG_READ_TIMEOUT_MAX, &o->read_timeout_ms);
	rc |= get_u64(ps, it, it, "ConnectionAttempts", false, 1, EDGE_CONFIG_ATTEMPTS_MAX,
	              &attempts);
	o->connection_attempts = (uint32_t)attempts;
	rc |= read_headers(ps, it, o);
	if (rc == 0 && !o->domain_name && o->kind == DEPLOY_STACK_ORIGIN_ACCESS_POINT)
		o->domain_name = dup_iov(ps, iov_cstr(ps->st->access_point[o->target].host));
	return rc;
}

/* Origin or group ids of distribution `d`, for lookups and hints. */
static int find_target(const struct deploy_stack_distribution *d, const char *id, bool *group,
                       uint32_t *out)
{
	for (uint32_t i = 0; i < d->norigins; i++)
		if (d->origin[i].id && strcmp(d->origin[i].id, id) == 0) {
			*group = false;
			*out = i;
			return 0;
		}
	for (uint32_t i = 0; i < d->ngroups; i++)
		if (d->group[i].id && strcmp(d->group[i].id, id) == 0) {
			*group = true;
			*out = i;
			return 0;
		}
	return ERR_NOT_FOUND;
}

static void unknown_target(struct parse *ps, const struct deploy_stack_distribution *d, node_t *at,
                           const char *key, const char *id, bool groups)
{
	const char *known[2 * DEPLOY_STACK_ITEMS_MAX];
	size_t n = 0;
	for (uint32_t i = 0; i < d->norigins; i++)
		if (d->origin[i].id)
			known[n++] = d->origin[i].id;
	for (uint32_t i = 0; groups && i < d->ngroups; i++)
		if (d->group[i].id)
			known[n++] = d->group[i].id;
	const char *hint = config_schema_suggest(iov_cstr(id), known, n);
	if (hint)
		errf(ps, at, "%s: no origin%s has the id \"%s\"; did you mean \"%s\"?", key,
		     groups ? " or group" : "", id, hint);
	else
		errf(ps, at, "%s: no origin%s has the id \"%s\"", key, groups ? " or group" : "",
		     id);
}

static int read_group(struct parse *ps, struct deploy_stack_distribution *d, node_t *it,
                      struct deploy_stack_group *g)
{
	int rc = get_str(ps, it, it, "Id", true, &g->id);
	char **members = NULL;
	uint32_t nm = 0;
	node_t *k = NULL;
	if (!prop(ps, it, it, "Members", true, &k))
		return ERR_CONFIG_SCHEMA;
	rc |= get_strs(ps, it, "Members", &members, &nm);
	g->member = alloc_array(ps, nm, sizeof(uint32_t));
	for (uint32_t i = 0; g->member && i < nm; i++) {
		bool group = false;
		uint32_t x = 0;
		if (find_target(d, members[i], &group, &x) != 0 || group) {
			unknown_target(ps, d, k, "Members", members[i], false);
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		g->member[g->nmembers++] = x;
	}
	free_strs(members, nm);
	if (rc == 0 && (g->nmembers < 2 || g->nmembers > EDGE_CONFIG_MEMBERS_MAX))
		rc = errf(ps, k, "Members: %u members; expected 2 to %d", g->nmembers,
		          EDGE_CONFIG_MEMBERS_MAX);
	char **st = NULL;
	uint32_t ns = 0;
	rc |= get_strs(ps, it, "FailoverStatuses", &st, &ns);
	g->status = alloc_array(ps, ns ? ns : 4, sizeof(uint16_t));
	for (uint32_t i = 0; g->status && i < ns; i++) {
		unsigned long long x = 0;
		if (iov_to_u64(iov_cstr(st[i]), 599, &x) != 0 || x < 400) {
			rc = errf(ps, config_schema_key(it, "FailoverStatuses"),
			          "FailoverStatuses: \"%s\" is not an HTTP error status", st[i]);
			continue;
		}
		g->status[g->nstatuses++] = (uint16_t)x;
	}
	if (g->status && !st) {
		static const uint16_t def[] = { 500, 502, 503, 504 };
		memcpy(g->status, def, sizeof(def));
		g->nstatuses = 4;
	}
	free_strs(st, ns);
	return rc;
}

static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE" };

static int get_methods(struct parse *ps, node_t *it, const char *key, uint32_t *out)
{
	char **v = NULL;
	uint32_t n = 0;
	int rc = get_strs(ps, it, key, &v, &n);
	if (rc == 0 && v) {
		*out = 0;
		for (uint32_t i = 0; i < n; i++) {
			size_t j = 0;
			while (j < N_ELEMS(methods) && strcmp(v[i], methods[j]) != 0)
				j++;
			if (j == N_ELEMS(methods))
				rc = errf(ps, config_schema_key(it, key),
				          "%s: \"%s\" is not an HTTP method", key, v[i]);
			else
				*out |= 1u << j;
		}
	}
	free_strs(v, n);
	return rc;
}

static int read_behavior(struct parse *ps, struct deploy_stack_distribution *d, node_t *it,
                         struct deploy_stack_behavior *b)
{
	char *target = NULL;
	int rc = get_str(ps, it, it, "PathPattern", true, &b->path_pattern);
	rc |= get_str(ps, it, it, "TargetOriginId", true, &target);
	if (target && find_target(d, target, &b->target_group, &b->target) != 0) {
		unknown_target(ps, d, config_schema_key(it, "TargetOriginId"), "TargetOriginId",
		               target, true);
		rc = ERR_CONFIG_SCHEMA;
	}
	free(target);
	b->allowed_methods = EDGE_CONFIG_METHODS_GET_HEAD;
	b->cached_methods = EDGE_CONFIG_METHODS_GET_HEAD;
	rc |= get_methods(ps, it, "AllowedMethods", &b->allowed_methods);
	rc |= get_methods(ps, it, "CachedMethods", &b->cached_methods);
	b->min_ttl_s = EDGE_CONFIG_MIN_TTL;
	b->default_ttl_s = EDGE_CONFIG_DEFAULT_TTL;
	b->max_ttl_s = EDGE_CONFIG_MAX_TTL;
	rc |= get_u64(ps, it, it, "MinTTL", false, 0, EDGE_CONFIG_TTL_CAP, &b->min_ttl_s);
	rc |= get_u64(ps, it, it, "DefaultTTL", false, 0, EDGE_CONFIG_TTL_CAP, &b->default_ttl_s);
	rc |= get_u64(ps, it, it, "MaxTTL", false, 0, EDGE_CONFIG_TTL_CAP, &b->max_ttl_s);
	if (rc == 0 && (b->min_ttl_s > b->default_ttl_s || b->default_ttl_s > b->max_ttl_s))
		rc = errf(ps, it, "TTLs out of order: MinTTL %llu, DefaultTTL %llu, MaxTTL %llu",
		          (unsigned long long)b->min_ttl_s, (unsigned long long)b->default_ttl_s,
		          (unsigned long long)b->max_ttl_s);
	node_t *k = NULL, *q = prop(ps, it, it, "QueryStrings", false, &k);
	if (q && yaml_tree_kind(q) == YAML_TREE_SEQ) {
		b->query_strings = EDGE_CONFIG_QUERY_LIST;
		rc |= get_strs(ps, it, "QueryStrings", &b->query, &b->nquery);
	} else if (q) {
		static const char *const qs[] = { "none", "all" };
		int x = 0;
		rc |= get_enum(ps, it, it, "QueryStrings", qs, 2, false, &x);
		b->query_strings = x ? EDGE_CONFIG_QUERY_ALL : EDGE_CONFIG_QUERY_NONE;
	}
	rc |= get_strs(ps, it, "CacheKeyHeaders", &b->key_header, &b->nheaders);
	static const char *const signing[] = { "none", "sigv4", "sigv4a" };
	int sg = 0;
	rc |= get_enum(ps, it, it, "Signing", signing, 3, false, &sg);
	b->signing = (enum edge_config_signing)sg;
	rc |= get_str(ps, it, it, "SigningRegion", false, &b->signing_region);
	if (rc == 0 && (b->signing == EDGE_CONFIG_SIGN_SIGV4) != (b->signing_region != NULL))
		rc = errf(ps, it, "SigningRegion goes with Signing: sigv4, and only with it");
	rc |= get_bool(ps, it, it, "Compress", &b->compress);
	return rc;
}

static int read_dist_locations(struct parse *ps, uint32_t r, struct deploy_stack_distribution *d)
{
	node_t *m = RES(ps, r)->props;
	node_t *seq = get_seq(ps, m, RES(ps, r)->key, "Locations", true, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return ERR_CONFIG_SCHEMA;
	d->location = alloc_array(ps, yaml_tree_len(seq), sizeof(uint32_t));
	if (!d->location)
		return ERR_NOMEM;
	int rc = yaml_tree_len(seq) ? 0
	                            : errf(ps, config_schema_key(m, "Locations"),
	                                   "Locations: must list a location");
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		node_t *it = yaml_tree_item(seq, i);
		uint32_t l;
		if (ref_node(ps, it, it, "Locations", DEPLOY_STACK_LOCATION, &l) != 0) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		/* One edge per location: its EdgeUrl names it. */
		for (uint32_t j = 0; j < ps->st->ndistributions; j++)
			for (uint32_t x = 0; x < ps->st->distribution[j].nlocations; x++)
				if (ps->st->distribution[j].location[x] == l)
					rc = errf(ps, it,
					          "Locations: %s already has an edge (of %s)",
					          ps->st->location[l].name,
					          ps->st->distribution[j].logical_id);
		d->location[d->nlocations++] = l;
	}
	return rc;
}

static int read_dist_lists(struct parse *ps, uint32_t r, struct deploy_stack_distribution *d)
{
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	int rc = 0;
	node_t *origins = get_seq(ps, m, o, "Origins", true, EDGE_CONFIG_ORIGINS_MAX);
	node_t *groups = get_seq(ps, m, o, "OriginGroups", false, EDGE_CONFIG_GROUPS_MAX);
	node_t *behaviors = get_seq(ps, m, o, "Behaviors", true, EDGE_CONFIG_BEHAVIORS_MAX);
	if (!origins || !behaviors)
		return ERR_CONFIG_SCHEMA;
	d->origin = alloc_array(ps, yaml_tree_len(origins), sizeof(d->origin[0]));
	d->group = alloc_array(ps, groups ? yaml_tree_len(groups) : 0, sizeof(d->group[0]));
	d->behavior = alloc_array(ps, yaml_tree_len(behaviors), sizeof(d->behavior[0]));
	if (!d->origin || !d->group || !d->behavior)
		return ERR_NOMEM;
	for (size_t i = 0; i < yaml_tree_len(origins); i++) {
		node_t *it = item_map(ps, origins, i, "Origins", origin_keys, N_ELEMS(origin_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_origin *x = &d->origin[d->norigins++];
		rc |= read_origin(ps, it, x);
		bool g;
		uint32_t j;
		if (x->id && find_target(d, x->id, &g, &j) == 0 && j != d->norigins - 1)
			rc = errf(ps, config_schema_key(it, "Id"), "duplicate origin id \"%s\"",
			          x->id);
	}
	for (size_t i = 0; groups && i < yaml_tree_len(groups); i++) {
		node_t *it =
		    item_map(ps, groups, i, "OriginGroups", group_keys, N_ELEMS(group_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_group *x = &d->group[d->ngroups++];
		rc |= read_group(ps, d, it, x);
		bool g;
		uint32_t j;
		if (x->id && find_target(d, x->id, &g, &j) == 0 && (!g || j != d->ngroups - 1))
			rc = errf(ps, config_schema_key(it, "Id"), "duplicate origin id \"%s\"",
			          x->id);
	}
	for (size_t i = 0; i < yaml_tree_len(behaviors); i++) {
		node_t *it =
		    item_map(ps, behaviors, i, "Behaviors", behavior_keys, N_ELEMS(behavior_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_behavior *b = &d->behavior[d->nbehaviors++];
		rc |= read_behavior(ps, d, it, b);
		if (b->signing != EDGE_CONFIG_SIGN_NONE && d->credentials == DEPLOY_STACK_NONE)
			rc = errf(ps, it, "Signing: needs the distribution's SigningCredentials");
	}
	if (rc == 0 &&
	    (d->nbehaviors == 0 || strcmp(d->behavior[d->nbehaviors - 1].path_pattern, "*") != 0))
		rc = errf(ps, config_schema_key(m, "Behaviors"),
		          "Behaviors: the last one must have PathPattern \"*\"");
	return rc;
}

static void read_distribution(struct parse *ps, uint32_t r)
{
	struct deploy_stack_distribution *d = &ps->st->distribution[RES(ps, r)->index];
	node_t *m = RES(ps, r)->props, *o = RES(ps, r)->key;
	char *mem = NULL;
	d->credentials = DEPLOY_STACK_NONE;
	d->memory_bytes = EDGE_CONFIG_MEMORY_BYTES;
	int rc = get_str(ps, m, o, "DefaultRootObject", false, &d->default_root_object);
	rc |= get_ref(ps, m, o, "SigningCredentials", false, DEPLOY_STACK_CREDENTIALS,
	              &d->credentials);
	rc |= get_str(ps, m, o, "FailoverHeader", false, &d->failover_header);
	rc |= get_str(ps, m, o, "MemoryBytes", false, &mem);
	if (mem && (config_schema_parse_bytes(iov_cstr(mem), &d->memory_bytes) != 0 ||
	            d->memory_bytes < EDGE_CONFIG_MEMORY_MIN))
		rc = errf(ps, config_schema_key(m, "MemoryBytes"),
		          "MemoryBytes: \"%s\" is not a byte size of at least 1MiB (like 64MiB)",
		          mem);
	free(mem);
	if (!d->failover_header)
		d->failover_header = dup_iov(ps, IOV_LIT(EDGE_CONFIG_FAILOVER_HEADER));
	rc |= read_dist_locations(ps, r, d);
	rc |= read_dist_lists(ps, r, d);
	char domain[300];
	size_t n = strlen(d->logical_id);
	for (size_t i = 0; i < n && i < 200; i++) {
		char c = d->logical_id[i];
		domain[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	snprintf(domain + (n < 200 ? n : 200), sizeof(domain) - 200, ".%s",
	         DEPLOY_STACK_EDGE_DOMAIN);
	d->id = dup_iov(ps, iov_cstr(d->logical_id));
	d->domain = dup_iov(ps, iov_cstr(domain));
	RES(ps, r)->bad = rc != 0;
	RES(ps, r)->read = rc == 0;
}

/* How far apart two locations are (one-way ms; UINT32_MAX: no link). */
static uint32_t distance(const struct deploy_stack *st, uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	for (uint32_t i = 0; i < st->nlinks; i++)
		if ((st->link[i].a == a && st->link[i].b == b) ||
		    (st->link[i].a == b && st->link[i].b == a))
			return st->link[i].delay_ms;
	return UINT32_MAX;
}

/* NearestBucket origins: per edge location, the candidate whose store is
 * closest by the latency matrix (the first on ties). */
static void nearest_buckets(struct parse *ps)
{
	struct deploy_stack *st = ps->st;
	for (uint32_t i = 0; i < st->ndistributions; i++) {
		struct deploy_stack_distribution *d = &st->distribution[i];
		for (uint32_t j = 0; j < d->norigins; j++) {
			struct deploy_stack_origin *o = &d->origin[j];
			if (o->kind != DEPLOY_STACK_ORIGIN_NEAREST || !o->ncandidates ||
			    !d->nlocations)
				continue;
			o->nearest = alloc_array(ps, d->nlocations, sizeof(uint32_t));
			if (!o->nearest)
				return;
			for (uint32_t l = 0; l < d->nlocations; l++) {
				uint32_t best = o->candidate[0], bd = UINT32_MAX;
				for (uint32_t c = 0; c < o->ncandidates; c++) {
					uint32_t s = st->bucket[o->candidate[c]].store;
					uint32_t dd =
					    distance(st, d->location[l], st->store[s].location);
					if (dd < bd || c == 0) {
						best = o->candidate[c];
						bd = dd;
					}
				}
				o->nearest[l] = best;
			}
		}
	}
}

/* ---- pass 1 and the driver ---- */

static bool valid_number(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0, digits = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (s[i] == '.') {
		i++;
		size_t frac = 0;
		while (s[i] >= '0' && s[i] <= '9')
			i++, frac++;
		if (!frac)
			return false;
	}
	return digits && s[i] == '\0';
}

/* An optional plain string (no intrinsics), copied into *out. */
static void get_plain(struct parse *ps, node_t *map, const char *key, char **out)
{
	char err[DEPLOY_STACK_DIAG_LEN];
	struct config_schema s;
	struct iov v = IOV_NULL;
	node_t *k = NULL;
	config_schema_init(&s, ps->t, err, sizeof(err));
	if (config_schema_cstr(&s, map, key, CONFIG_OPTIONAL, &v, &k)) {
		node_t *at =
		    yaml_tree_get(map, iov_cstr(key), NULL) ? config_schema_key(map, key) : map;
		add_text(ps, yaml_tree_mark(at), err);
		return;
	}
	if (v.base)
		*out = dup_iov(ps, v);
}

/* DependsOn: a logical id or a list of them; orders like a reference. */
static void depends_on(struct parse *ps, uint32_t r)
{
	node_t *k = NULL;
	node_t *res = ps->res[r].map;
	node_t *v = res ? prop(ps, res, res, "DependsOn", false, &k) : NULL;
	if (!v)
		return;
	bool seq = yaml_tree_kind(v) == YAML_TREE_SEQ;
	size_t n = seq ? yaml_tree_len(v) : 1;
	for (size_t i = 0; i < n; i++) {
		node_t *it = seq ? yaml_tree_item(v, i) : v;
		if (!is_scalar(it) || yaml_tree_tag(it) != YAML_TREE_TAG_NONE) {
			errf(ps, it, "DependsOn: expected a logical id or a list of them");
			continue;
		}
		int d = find_res(ps, yaml_tree_scalar(it));
		if (d < 0)
			dangling(ps, it, yaml_tree_scalar(it));
		depend(ps, r, d, false);
	}
}

static void read_param(struct parse *ps, node_t *k, node_t *v,
                       const struct deploy_stack_override *ov, size_t nov)
{
	struct deploy_stack_param *p = &ps->st->param[ps->st->nparams];
	p->name = dup_iov(ps, yaml_tree_scalar(k));
	if (!p->name)
		return;
	ps->param_key[ps->st->nparams++] = k;
	if (yaml_tree_kind(v) != YAML_TREE_MAP || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
		errf(ps, k, "%s: expected a map, got %s", p->name, config_schema_kind_name(v));
		return;
	}
	check_keys(ps, v, param_keys, N_ELEMS(param_keys));
	static const char *const ptypes[] = { "String", "Number" };
	int t = 0;
	char *desc = NULL;
	get_enum(ps, v, k, "Type", ptypes, 2, true, &t);
	p->number = t == 1;
	node_t *dk = NULL, *dv = prop(ps, v, k, "Default", false, &dk);
	if (dv && (!is_scalar(dv) || yaml_tree_tag(dv) != YAML_TREE_TAG_NONE))
		errf(ps, dk, "Default: expected a plain value, got %s",
		     is_scalar(dv) ? "a tagged value" : config_schema_kind_name(dv));
	else if (dv)
		p->value = dup_iov(ps, yaml_tree_scalar(dv));
	get_plain(ps, v, "Description", &desc);
	free(desc);
	node_t *at = dk ? dk : k;
	for (size_t i = 0; i < nov; i++)
		if (strcmp(ov[i].name, p->name) == 0) {
			free(p->value);
			p->value = dup_iov(ps, iov_cstr(ov[i].value));
			at = k;
		}
	if (!p->value) {
		errf(ps, k, "parameter %s has no Default and no value was given", p->name);
		return;
	}
	if (p->number && !valid_number(p->value))
		errf(ps, at, "parameter %s: \"%.*s\" is not a Number", p->name,
		     config_schema_quote_len(iov_cstr(p->value)), p->value);
	node_t *ak = NULL, *av = prop(ps, v, k, "AllowedValues", false, &ak);
	if (!av)
		return;
	if (yaml_tree_kind(av) != YAML_TREE_SEQ) {
		errf(ps, ak, "AllowedValues: expected a sequence, got %s",
		     config_schema_kind_name(av));
		return;
	}
	char list[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < yaml_tree_len(av); i++) {
		struct iov a = yaml_tree_scalar(yaml_tree_item(av, i));
		if (a.base && iov_eq(a, iov_cstr(p->value)))
			return;
		int n = snprintf(list + len, sizeof(list) - len, "%s%.*s", i ? ", " : "", Q(a));
		if (n > 0 && (size_t)n < sizeof(list) - len)
			len += (size_t)n;
	}
	errf(ps, at, "parameter %s: \"%.*s\" is not in AllowedValues (%s)", p->name,
	     config_schema_quote_len(iov_cstr(p->value)), p->value, list);
}

static void read_params(struct parse *ps, node_t *root, const struct deploy_stack_override *ov,
                        size_t nov)
{
	node_t *k = NULL, *m = prop(ps, root, root, "Parameters", false, &k);
	size_t n = m ? yaml_tree_len(m) : 0;
	if (m && (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)) {
		errf(ps, k, "Parameters: expected a map, got %s", config_schema_kind_name(m));
		n = 0;
	}
	if (n > DEPLOY_STACK_PARAMS_MAX) {
		errf(ps, k, "Parameters: %zu parameters; at most %d", n, DEPLOY_STACK_PARAMS_MAX);
		n = DEPLOY_STACK_PARAMS_MAX;
	}
	ps->st->param = alloc_array(ps, n, sizeof(ps->st->param[0]));
	for (size_t i = 0; ps->st->param && i < n; i++)
		read_param(ps, yaml_tree_key(m, i), yaml_tree_value(m, i), ov, nov);
	for (size_t i = 0; i < nov; i++)
		if (find_param(ps, iov_cstr(ov[i].name)) < 0) {
			struct deploy_stack_diag *d = ps->diag;
			(void)d;
			errf(ps, root, "a value was given for %s, which is not a parameter",
			     ov[i].name);
		}
}

static void list_resources(struct parse *ps, node_t *root)
{
	node_t *k = NULL, *m = prop(ps, root, root, "Resources", true, &k);
	if (!m)
		return;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE) {
		errf(ps, k, "Resources: expected a map, got %s", config_schema_kind_name(m));
		return;
	}
	size_t n = yaml_tree_len(m);
	if (n > DEPLOY_STACK_RES_MAX) {
		errf(ps, k, "Resources: %zu resources; at most %d", n, DEPLOY_STACK_RES_MAX);
		n = DEPLOY_STACK_RES_MAX;
	}
	const char *tnames[DEPLOY_STACK_NTYPES];
	for (int t = 0; t < DEPLOY_STACK_NTYPES; t++)
		tnames[t] = types[t].name;
	for (size_t i = 0; i < n; i++) {
		struct res *r = &ps->res[ps->nres++];
		node_t *v = yaml_tree_value(m, i);
		r->key = yaml_tree_key(m, i);
		r->id = yaml_tree_scalar(r->key);
		r->type = -1;
		if (find_param(ps, r->id) >= 0)
			errf(ps, r->key, "duplicate name \"%.*s\": a parameter has it too",
			     Q(r->id));
		if (yaml_tree_kind(v) != YAML_TREE_MAP || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
			errf(ps, r->key, "%.*s: expected a map, got %s", Q(r->id),
			     config_schema_kind_name(v));
			r->bad = true;
			continue;
		}
		r->map = v;
		check_keys(ps, v, resource_keys, N_ELEMS(resource_keys));
		char *type = NULL;
		if (get_str(ps, v, r->key, "Type", true, &type) == 0) {
			for (int t = 0; t < DEPLOY_STACK_NTYPES; t++)
				if (strcmp(type, types[t].name) == 0)
					r->type = t;
			if (r->type < 0) {
				struct iov tv = iov_cstr(type);
				const char *hint =
				    config_schema_suggest(tv, tnames, N_ELEMS(tnames));
				node_t *tk = config_schema_key(v, "Type");
				if (hint)
					errf(ps, tk,
					     "Type: unknown resource type \"%s\"; did you "
					     "mean \"%s\"?",
					     type, hint);
				else
					errf(ps, tk, "Type: unknown resource type \"%s\"", type);
			}
		}
		free(type);
		node_t *pk = NULL;
		r->props = prop(ps, v, r->key, "Properties", false, &pk);
		if (r->props && (yaml_tree_kind(r->props) != YAML_TREE_MAP ||
		                 yaml_tree_tag(r->props) != YAML_TREE_TAG_NONE)) {
			errf(ps, pk, "Properties: expected a map, got %s",
			     config_schema_kind_name(r->props));
			r->props = NULL;
			r->bad = true;
		}
		if (r->type < 0) {
			r->bad = true;
			continue;
		}
		r->index = ps->count[r->type]++;
		if (r->props)
			check_keys(ps, r->props, types[r->type].keys, types[r->type].nkeys);
	}
}

static int alloc_plan(struct parse *ps)
{
	struct deploy_stack *st = ps->st;
	st->resource = alloc_array(ps, ps->nres, sizeof(st->resource[0]));
	st->location = alloc_array(ps, ps->count[0], sizeof(st->location[0]));
	st->store = alloc_array(ps, ps->count[1], sizeof(st->store[0]));
	st->bucket = alloc_array(ps, ps->count[2], sizeof(st->bucket[0]));
	st->credentials = alloc_array(ps, ps->count[3], sizeof(st->credentials[0]));
	st->access_point = alloc_array(ps, ps->count[4], sizeof(st->access_point[0]));
	st->distribution = alloc_array(ps, ps->count[5], sizeof(st->distribution[0]));
	if (ps->nomem)
		return ERR_NOMEM;
	st->nlocations = ps->count[0];
	st->nstores = ps->count[1];
	st->nbuckets = ps->count[2];
	st->ncredentials = ps->count[3];
	st->naccess_points = ps->count[4];
	st->ndistributions = ps->count[5];
	st->nresources = ps->nres;
	for (uint32_t i = 0; i < ps->nres; i++) {
		st->resource[i].logical_id = dup_iov(ps, ps->res[i].id);
		st->resource[i].type = ps->res[i].type < 0
		                           ? DEPLOY_STACK_NTYPES
		                           : (enum deploy_stack_type)ps->res[i].type;
		st->resource[i].index = ps->res[i].index;
		ps->names[ps->nnames++] = st->resource[i].logical_id;
		if (ps->res[i].type < 0 || !st->resource[i].logical_id)
			continue;
		char **lid = NULL;
		uint32_t x = ps->res[i].index;
		switch (ps->res[i].type) {
		case DEPLOY_STACK_LOCATION:
			lid = &st->location[x].logical_id;
			break;
		case DEPLOY_STACK_STORE:
			lid = &st->store[x].logical_id;
			break;
		case DEPLOY_STACK_BUCKET:
			lid = &st->bucket[x].logical_id;
			break;
		case DEPLOY_STACK_CREDENTIALS:
			lid = &st->credentials[x].logical_id;
			break;
		case DEPLOY_STACK_ACCESS_POINT:
			lid = &st->access_point[x].logical_id;
			break;
		case DEPLOY_STACK_DISTRIBUTION:
			lid = &st->distribution[x].logical_id;
			break;
		default:
			break;
		}
		if (lid)
			*lid = dup_iov(ps, ps->res[i].id);
	}
	for (uint32_t i = 0; i < st->nparams; i++)
		ps->names[ps->nnames++] = st->param[i].name;
	return ps->nomem ? ERR_NOMEM : 0;
}

static void read_outputs(struct parse *ps, node_t *root)
{
	node_t *k = NULL, *m = prop(ps, root, root, "Outputs", false, &k);
	if (!m)
		return;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE) {
		errf(ps, k, "Outputs: expected a map, got %s", config_schema_kind_name(m));
		return;
	}
	struct deploy_stack *st = ps->st;
	st->output = alloc_array(ps, yaml_tree_len(m), sizeof(st->output[0]));
	for (size_t i = 0; st->output && i < yaml_tree_len(m); i++) {
		node_t *ok = yaml_tree_key(m, i), *ov = yaml_tree_value(m, i);
		struct deploy_stack_output *o = &st->output[st->noutputs++];
		o->name = dup_iov(ps, yaml_tree_scalar(ok));
		if (yaml_tree_kind(ov) != YAML_TREE_MAP ||
		    yaml_tree_tag(ov) != YAML_TREE_TAG_NONE) {
			errf(ps, ok, "%.*s: expected a map, got %s", Q(yaml_tree_scalar(ok)),
			     config_schema_kind_name(ov));
			continue;
		}
		check_keys(ps, ov, output_keys, N_ELEMS(output_keys));
		/* Outputs may name any resource: a walk from a pseudo-resource
		 * that no resource depends on. */
		walk(ps, DEPLOY_STACK_RES_MAX - 1, ov, true);
		get_str(ps, ov, ok, "Description", false, &o->description);
		node_t *vk = NULL, *vv = prop(ps, ov, ok, "Value", true, &vk);
		struct val v;
		if (vv && eval(ps, vv, &v) == 0) {
			o->value = v.s;
			o->deferred = v.deferred;
		} else if (vv && intrinsic_of(vv, &(node_t *){ NULL }) == I_NONE &&
		           !is_scalar(vv)) {
			errf(ps, vk, "Value: expected a string, got %s",
			     config_schema_kind_name(vv));
		}
	}
}

static int sort_diag(struct deploy_stack_diag *d)
{
	/* Insertion sort by position; stable; messages without one first. */
	for (uint32_t i = 1; i < d->n; i++) {
		for (uint32_t j = i; j > 0; j--) {
			unsigned al = d->msg[j - 1].line, ac = d->msg[j - 1].col;
			unsigned bl = d->msg[j].line, bc = d->msg[j].col;
			if (al < bl || (al == bl && ac <= bc))
				break;
			char tmp[sizeof(d->msg[0])];
			memcpy(tmp, &d->msg[j - 1], sizeof(tmp));
			memcpy(&d->msg[j - 1], &d->msg[j], sizeof(tmp));
			memcpy(&d->msg[j], tmp, sizeof(tmp));
		}
	}
	return 0;
}

static int parse_tree(struct parse *ps, const struct deploy_stack_override *ov, size_t nov)
{
	node_t *root = yaml_tree_root(ps->t);
	if (yaml_tree_kind(root) != YAML_TREE_MAP)
		return errf(ps, root, "expected a map with Resources, got %s",
		            config_schema_kind_name(root));
	check_keys(ps, root, top_keys, N_ELEMS(top_keys));
	get_plain(ps, root, "Description", &ps->st->description);
	read_params(ps, root, ov, nov);
	list_resources(ps, root);
	if (ps->nomem || alloc_plan(ps))
		return ERR_NOMEM;
	for (uint32_t r = 0; r < ps->nres; r++)
		if (ps->res[r].props && ps->res[r].type >= 0)
			walk(ps, r, ps->res[r].props, false);
	for (uint32_t r = 0; r < ps->nres; r++)
		depends_on(ps, r);
	uint32_t *order = alloc_array(ps, ps->nres, sizeof(uint32_t));
	if (!order)
		return ERR_NOMEM;
	uint32_t norder = 0;
	for (uint32_t r = 0; r < ps->nres; r++)
		if (ps->res[r].color == 0)
			visit(ps, r, order, &norder);
	for (uint32_t i = 0; i < norder && !ps->nomem; i++) {
		uint32_t r = order[i];
		if (ps->res[r].bad || ps->res[r].type < 0)
			continue;
		/* A resource whose dependency failed is not read: its errors
		 * would only echo the first. */
		bool skip = false;
		for (uint32_t d = 0; d < ps->nres; d++)
			if ((ps->res[r].dep[d / 8] & (1u << (d % 8))) && ps->res[d].bad)
				skip = true;
		if (skip) {
			ps->res[r].bad = true;
			continue;
		}
		types[ps->res[r].type].read(ps, r);
	}
	free(order);
	if (!ps->nomem)
		read_outputs(ps, root);
	if (!ps->nomem)
		nearest_buckets(ps);
	return ps->nomem ? ERR_NOMEM : 0;
}

static void free_origin(struct deploy_stack_origin *o)
{
	free(o->id);
	free(o->candidate);
	free(o->nearest);
	free(o->domain_name);
	free(o->origin_path);
	for (uint32_t i = 0; i < o->nheaders; i++) {
		free(o->header[i].name);
		free(o->header[i].value);
	}
	free(o->header);
}

static void free_distribution(struct deploy_stack_distribution *d)
{
	free(d->logical_id);
	free(d->id);
	free(d->domain);
	free(d->location);
	free(d->default_root_object);
	free(d->failover_header);
	for (uint32_t i = 0; i < d->norigins; i++)
		free_origin(&d->origin[i]);
	free(d->origin);
	for (uint32_t i = 0; i < d->ngroups; i++) {
		free(d->group[i].id);
		free(d->group[i].member);
		free(d->group[i].status);
	}
	free(d->group);
	for (uint32_t i = 0; i < d->nbehaviors; i++) {
		struct deploy_stack_behavior *b = &d->behavior[i];
		free(b->path_pattern);
		free_strs(b->query, b->nquery);
		free_strs(b->key_header, b->nheaders);
		free(b->signing_region);
	}
	free(d->behavior);
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *v = s;
	for (size_t i = 0; v[i]; i++)
		v[i] = 0;
	free(s);
}

void deploy_stack_free(struct deploy_stack *st)
{
	if (!st)
		return;
	CHECK_MAGIC(st, DEPLOY_STACK_MAGIC);
	st->magic = 0;
	free(st->path);
	free(st->description);
	for (uint32_t i = 0; i < st->nparams; i++) {
		free(st->param[i].name);
		free(st->param[i].value);
	}
	free(st->param);
	for (uint32_t i = 0; i < st->nresources; i++)
		free(st->resource[i].logical_id);
	free(st->resource);
	for (uint32_t i = 0; i < st->nlocations; i++) {
		free(st->location[i].logical_id);
		free(st->location[i].name);
		free(st->location[i].region);
	}
	free(st->location);
	for (uint32_t i = 0; i < st->nstores; i++) {
		free(st->store[i].logical_id);
		free(st->store[i].region);
	}
	free(st->store);
	for (uint32_t i = 0; i < st->nbuckets; i++) {
		struct deploy_stack_bucket *b = &st->bucket[i];
		free(b->logical_id);
		free(b->name);
		for (uint32_t j = 0; j < b->nrules; j++)
			free(b->rule[j].prefix);
		free(b->rule);
		for (uint32_t j = 0; j < b->nobjects; j++) {
			free(b->object[j].key);
			free(b->object[j].body);
			free(b->object[j].file);
		}
		free(b->object);
	}
	free(st->bucket);
	for (uint32_t i = 0; i < st->ncredentials; i++) {
		free(st->credentials[i].logical_id);
		free(st->credentials[i].access_key);
		wipe_free(st->credentials[i].secret_key);
	}
	free(st->credentials);
	for (uint32_t i = 0; i < st->naccess_points; i++) {
		struct deploy_stack_access_point *a = &st->access_point[i];
		free(a->logical_id);
		free(a->name);
		free(a->alias);
		free(a->host);
		free(a->region);
	}
	free(st->access_point);
	for (uint32_t i = 0; i < st->ndistributions; i++)
		free_distribution(&st->distribution[i]);
	free(st->distribution);
	free(st->link);
	for (uint32_t i = 0; i < st->noutputs; i++) {
		free(st->output[i].name);
		free(st->output[i].description);
		free(st->output[i].value);
	}
	free(st->output);
	free(st);
}

/* Every name the readers promise is set (a resource refused without a
 * message would leave one NULL). */
static bool plan_complete(const struct deploy_stack *st)
{
	for (uint32_t i = 0; i < st->nresources; i++)
		if (st->resource[i].type == DEPLOY_STACK_NTYPES)
			return false;
	for (uint32_t i = 0; i < st->nlocations; i++)
		if (!st->location[i].name)
			return false;
	for (uint32_t i = 0; i < st->nstores; i++)
		if (!st->store[i].region)
			return false;
	for (uint32_t i = 0; i < st->nbuckets; i++)
		if (!st->bucket[i].name)
			return false;
	for (uint32_t i = 0; i < st->naccess_points; i++)
		if (!st->access_point[i].host)
			return false;
	for (uint32_t i = 0; i < st->ndistributions; i++)
		if (!st->distribution[i].nbehaviors || !st->distribution[i].nlocations)
			return false;
	for (uint32_t i = 0; i < st->noutputs; i++)
		if (!st->output[i].value)
			return false;
	return true;
}

static int run(const struct yaml_tree *t, const struct deploy_stack_override *ov, size_t nov,
               struct deploy_stack **out, struct deploy_stack_diag *diag)
{
	struct parse *ps = calloc(1, sizeof(*ps));
	struct deploy_stack *st = calloc(1, sizeof(*st));
	if (!ps || !st) {
		free(ps);
		free(st);
		return ERR_NOMEM;
	}
	st->magic = DEPLOY_STACK_MAGIC;
	ps->t = t;
	ps->path = yaml_tree_name(t);
	ps->st = st;
	ps->diag = diag;
	st->path = dup_iov(ps, iov_cstr(ps->path));
	int rc = parse_tree(ps, ov, nov);
	free(ps);
	if (rc == 0 && diag->n + diag->dropped > 0)
		rc = ERR_CONFIG_SCHEMA;
	if (rc == 0 && !plan_complete(st)) {
		/* A refusal without a message is a bug here; never hand out a
		 * plan with holes. */
		diag->n = 1;
		diag->msg[0].line = 0;
		snprintf(diag->msg[0].text, sizeof(diag->msg[0].text),
		         "%s: " DEPLOY_STACK_INCOMPLETE, st->path ? st->path : "?");
		rc = ERR_CONFIG_SCHEMA;
	}
	sort_diag(diag);
	if (rc) {
		deploy_stack_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

static void diag_one(struct deploy_stack_diag *diag, const char *err)
{
	diag->n = 1;
	diag->msg[0].line = 0;
	diag->msg[0].col = 0;
	snprintf(diag->msg[0].text, sizeof(diag->msg[0].text), "%s", err);
	/* The position, for sorting: "name:line:col: ..." */
	const char *p = strstr(err, ":");
	unsigned line = 0, col = 0;
	if (p && sscanf(p, ":%u:%u:", &line, &col) == 2) {
		diag->msg[0].line = line;
		diag->msg[0].col = col;
	}
}

/* The plan from a tree that yaml_tree_parse/load returned with `rc`. */
static int from_tree(int rc, struct yaml_tree *t, const char *err,
                     const struct deploy_stack_override *ov, size_t nov, struct deploy_stack **out,
                     struct deploy_stack_diag *diag)
{
	if (rc) {
		diag_one(diag, err);
		return rc;
	}
	rc = run(t, ov, nov, out, diag);
	yaml_tree_free(t);
	return rc;
}

int deploy_stack_parse(const char *path, const char *p, size_t n,
                       const struct deploy_stack_override *ov, size_t nov,
                       struct deploy_stack **out, struct deploy_stack_diag *diag)
{
	*out = NULL;
	memset(diag, 0, sizeof(*diag));
	struct yaml_tree *t = NULL;
	char err[YAML_TREE_ERR_LEN];
	int rc = yaml_tree_parse(path, p, n, &t, err, sizeof(err));
	return from_tree(rc, t, err, ov, nov, out, diag);
}

int deploy_stack_load(const char *path, const struct deploy_stack_override *ov, size_t nov,
                      struct deploy_stack **out, struct deploy_stack_diag *diag)
{
	*out = NULL;
	memset(diag, 0, sizeof(*diag));
	struct yaml_tree *t = NULL;
	char err[YAML_TREE_ERR_LEN];
	int rc = yaml_tree_load(path, &t, err, sizeof(err));
	return from_tree(rc, t, err, ov, nov, out, diag);
}

const struct deploy_stack_resource *deploy_stack_find(const struct deploy_stack *st,
                                                      struct iov logical_id)
{
	CHECK_MAGIC(st, DEPLOY_STACK_MAGIC);
	for (uint32_t i = 0; i < st->nresources; i++)
		if (iov_eq(logical_id, iov_cstr(st->resource[i].logical_id)))
			return &st->resource[i];
	return NULL;
}

int deploy_stack_expand(const struct deploy_stack *st, const char *text, deploy_stack_attr_fn fn,
                        void *ctx, char *out, size_t cap, size_t *len)
{
	CHECK_MAGIC(st, DEPLOY_STACK_MAGIC);
	struct iov rest = iov_cstr(text);
	size_t n = 0;
	while (rest.len) {
		struct sub_piece p;
		struct iov add;
		if (!sub_next(&rest, &p))
			return ERR_INVALID;
		if (p.ref) {
			const struct deploy_stack_resource *r = deploy_stack_find(st, p.name);
			char attr[64];
			if (!r || !p.has_attr || p.attr.len >= sizeof(attr))
				return ERR_INVALID;
			memcpy(attr, p.attr.base, p.attr.len);
			attr[p.attr.len] = '\0';
			int rc = fn(ctx, r, attr, &add);
			if (rc)
				return rc;
		} else {
			add = p.text;
		}
		size_t extra = p.escaped ? 3 : 0;
		if (n + add.len + extra >= cap)
			return ERR_TOO_BIG;
		if (p.escaped)
			memcpy(out + n, "${", 2);
		n += p.escaped ? 2 : 0;
		if (add.len)
			memcpy(out + n, add.base, add.len);
		n += add.len;
		if (p.escaped)
			out[n++] = '}';
	}
	if (n >= cap)
		return ERR_TOO_BIG;
	out[n] = '\0';
	*len = n;
	return 0;
}
