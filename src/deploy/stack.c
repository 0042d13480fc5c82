/*
 * The stack file (rules in stack.h): a yaml_tree read in four passes.
 * 1. Parameters and the list of resources (types, logical ids).
 * 2. A walk over every resource's Properties that checks each !Ref,
 *    !GetAtt and !Sub name and records which resources depend on which
 *    (stack_ref.c).
 * 3. Cycles in that graph, each named once (stack_ref.c).
 * 4. Each resource read by its type's reader in dependency order, with
 *    intrinsics evaluated, into the plan (stack_types.c,
 *    stack_distribution.c); then Outputs.
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
#include "deploy/stack-int.h"

static const char *const top_keys[] = {
	"AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs",
};
static const char *const resource_keys[] = { "Type", "Properties", "DependsOn" };
static const char *const param_keys[] = { "Type", "Default", "Description", "AllowedValues" };
static const char *const output_keys[] = { "Value", "Description" };

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
static void get_plain(struct deploy__parse *ps, const struct yaml_tree_node *map, const char *key,
                      char **out)
{
	char err[DEPLOY_STACK_DIAG_LEN];
	struct config_schema s;
	struct iov v = IOV_NULL;
	const struct yaml_tree_node *k = NULL;
	config_schema_init(&s, ps->t, err, sizeof(err));
	if (config_schema_cstr(&s, map, key, CONFIG_OPTIONAL, &v, &k)) {
		const struct yaml_tree_node *at =
		    yaml_tree_get(map, iov_cstr(key), NULL) ? config_schema_key(map, key) : map;
		deploy__add_text(ps, yaml_tree_mark(at), err);
		return;
	}
	if (v.base)
		*out = deploy__dup_iov(ps, v);
}

/* DependsOn: a logical id or a list of them; orders like a reference. */
static void depends_on(struct deploy__parse *ps, uint32_t r)
{
	const struct yaml_tree_node *k = NULL;
	const struct yaml_tree_node *res = ps->res[r].map;
	const struct yaml_tree_node *v =
	    res ? deploy__prop(ps, res, res, "DependsOn", false, &k) : NULL;
	if (!v)
		return;
	bool seq = yaml_tree_kind(v) == YAML_TREE_SEQ;
	size_t n = seq ? yaml_tree_len(v) : 1;
	for (size_t i = 0; i < n; i++) {
		const struct yaml_tree_node *it = seq ? yaml_tree_item(v, i) : v;
		if (!deploy__is_scalar(it) || yaml_tree_tag(it) != YAML_TREE_TAG_NONE) {
			deploy__errf(ps, it, "DependsOn: expected a logical id or a list of them");
			continue;
		}
		int d = deploy__find_res(ps, yaml_tree_scalar(it));
		if (d < 0)
			deploy__dangling(ps, it, yaml_tree_scalar(it));
		deploy__depend(ps, r, d, false);
	}
}

static void read_param(struct deploy__parse *ps, const struct yaml_tree_node *k,
                       const struct yaml_tree_node *v, const struct deploy_stack_override *ov,
                       size_t nov)
{
	struct deploy_stack_param *p = &ps->st->param[ps->st->nparams];
	p->name = deploy__dup_iov(ps, yaml_tree_scalar(k));
	if (!p->name)
		return;
	ps->param_key[ps->st->nparams++] = k;
	if (yaml_tree_kind(v) != YAML_TREE_MAP || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
		deploy__errf(ps, k, "%s: expected a map, got %s", p->name,
		             config_schema_kind_name(v));
		return;
	}
	deploy__check_keys(ps, v, param_keys, DEPLOY__N_ELEMS(param_keys));
	static const char *const ptypes[] = { "String", "Number" };
	int t = 0;
	char *desc = NULL;
	deploy__get_enum(ps, v, k, "Type", ptypes, 2, true, &t);
	p->number = t == 1;
	const struct yaml_tree_node *dk = NULL, *dv = deploy__prop(ps, v, k, "Default", false, &dk);
	if (dv && (!deploy__is_scalar(dv) || yaml_tree_tag(dv) != YAML_TREE_TAG_NONE))
		deploy__errf(ps, dk, "Default: expected a plain value, got %s",
		             deploy__is_scalar(dv) ? "a tagged value"
		                                   : config_schema_kind_name(dv));
	else if (dv)
		p->value = deploy__dup_iov(ps, yaml_tree_scalar(dv));
	get_plain(ps, v, "Description", &desc);
	free(desc);
	const struct yaml_tree_node *at = dk ? dk : k;
	for (size_t i = 0; i < nov; i++)
		if (strcmp(ov[i].name, p->name) == 0) {
			free(p->value);
			p->value = deploy__dup_iov(ps, iov_cstr(ov[i].value));
			at = k;
		}
	if (!p->value) {
		deploy__errf(ps, k, "parameter %s has no Default and no value was given", p->name);
		return;
	}
	if (p->number && !valid_number(p->value))
		deploy__errf(ps, at, "parameter %s: \"%.*s\" is not a Number", p->name,
		             config_schema_quote_len(iov_cstr(p->value)), p->value);
	const struct yaml_tree_node *ak = NULL,
	                            *av = deploy__prop(ps, v, k, "AllowedValues", false, &ak);
	if (!av)
		return;
	if (yaml_tree_kind(av) != YAML_TREE_SEQ) {
		deploy__errf(ps, ak, "AllowedValues: expected a sequence, got %s",
		             config_schema_kind_name(av));
		return;
	}
	char list[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < yaml_tree_len(av); i++) {
		struct iov a = yaml_tree_scalar(yaml_tree_item(av, i));
		if (a.base && iov_eq(a, iov_cstr(p->value)))
			return;
		int n =
		    snprintf(list + len, sizeof(list) - len, "%s%.*s", i ? ", " : "", DEPLOY__Q(a));
		if (n > 0 && (size_t)n < sizeof(list) - len)
			len += (size_t)n;
	}
	deploy__errf(ps, at, "parameter %s: \"%.*s\" is not in AllowedValues (%s)", p->name,
	             config_schema_quote_len(iov_cstr(p->value)), p->value, list);
}

static void read_params(struct deploy__parse *ps, const struct yaml_tree_node *root,
                        const struct deploy_stack_override *ov, size_t nov)
{
	const struct yaml_tree_node *k = NULL,
	                            *m = deploy__prop(ps, root, root, "Parameters", false, &k);
	size_t n = m ? yaml_tree_len(m) : 0;
	if (m && (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)) {
		deploy__errf(ps, k, "Parameters: expected a map, got %s",
		             config_schema_kind_name(m));
		n = 0;
	}
	if (n > DEPLOY_STACK_PARAMS_MAX) {
		deploy__errf(ps, k, "Parameters: %zu parameters; at most %d", n,
		             DEPLOY_STACK_PARAMS_MAX);
		n = DEPLOY_STACK_PARAMS_MAX;
	}
	ps->st->param = deploy__alloc_array(ps, n, sizeof(ps->st->param[0]));
	for (size_t i = 0; ps->st->param && i < n; i++)
		read_param(ps, yaml_tree_key(m, i), yaml_tree_value(m, i), ov, nov);
	for (size_t i = 0; i < nov; i++)
		if (deploy__find_param(ps, iov_cstr(ov[i].name)) < 0) {
			struct deploy_stack_diag *d = ps->diag;
			(void)d;
			deploy__errf(ps, root, "a value was given for %s, which is not a parameter",
			             ov[i].name);
		}
}

static void list_resources(struct deploy__parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *k = NULL,
	                            *m = deploy__prop(ps, root, root, "Resources", true, &k);
	if (!m)
		return;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE) {
		deploy__errf(ps, k, "Resources: expected a map, got %s",
		             config_schema_kind_name(m));
		return;
	}
	size_t n = yaml_tree_len(m);
	if (n > DEPLOY_STACK_RES_MAX) {
		deploy__errf(ps, k, "Resources: %zu resources; at most %d", n,
		             DEPLOY_STACK_RES_MAX);
		n = DEPLOY_STACK_RES_MAX;
	}
	const char *tnames[DEPLOY_STACK_NTYPES];
	for (int t = 0; t < DEPLOY_STACK_NTYPES; t++)
		tnames[t] = deploy__types[t].name;
	for (size_t i = 0; i < n; i++) {
		struct deploy__res *r = &ps->res[ps->nres++];
		const struct yaml_tree_node *v = yaml_tree_value(m, i);
		r->key = yaml_tree_key(m, i);
		r->id = yaml_tree_scalar(r->key);
		r->type = -1;
		if (deploy__find_param(ps, r->id) >= 0)
			deploy__errf(ps, r->key, "duplicate name \"%.*s\": a parameter has it too",
			             DEPLOY__Q(r->id));
		if (yaml_tree_kind(v) != YAML_TREE_MAP || yaml_tree_tag(v) != YAML_TREE_TAG_NONE) {
			deploy__errf(ps, r->key, "%.*s: expected a map, got %s", DEPLOY__Q(r->id),
			             config_schema_kind_name(v));
			r->bad = true;
			continue;
		}
		r->map = v;
		deploy__check_keys(ps, v, resource_keys, DEPLOY__N_ELEMS(resource_keys));
		char *type = NULL;
		const struct yaml_tree_node *tk = NULL,
		                            *tv = deploy__prop(ps, v, r->key, "Type", false, &tk);
		/* Written out, as CloudFormation wants it: an intrinsic or a tag
		 * here would be evaluated before the plan exists, and an unknown
		 * tag is only reported by the reference walk, which skips Type. */
		if (tv && yaml_tree_tag(tv) != YAML_TREE_TAG_NONE) {
			deploy__errf(ps, tk,
			             "Type: must be a resource type written out, not " IOV_FMT,
			             IOV_ARG(yaml_tree_tag_text(tv)));
		} else if (tv && !deploy__is_scalar(tv)) {
			deploy__errf(ps, tk, "Type: expected a string, got %s",
			             config_schema_kind_name(tv));
		} else if (deploy__get_str(ps, v, r->key, "Type", true, &type) == 0) {
			for (int t = 0; t < DEPLOY_STACK_NTYPES; t++)
				if (strcmp(type, deploy__types[t].name) == 0)
					r->type = t;
			if (r->type < 0) {
				struct iov tname = iov_cstr(type);
				const char *hint =
				    config_schema_suggest(tname, tnames, DEPLOY__N_ELEMS(tnames));
				if (hint)
					deploy__errf(ps, tk,
					             "Type: unknown resource type \"%s\"; did you "
					             "mean \"%s\"?",
					             type, hint);
				else
					deploy__errf(ps, tk, "Type: unknown resource type \"%s\"",
					             type);
			}
		}
		free(type);
		const struct yaml_tree_node *pk = NULL;
		r->props = deploy__prop(ps, v, r->key, "Properties", false, &pk);
		if (r->props && (yaml_tree_kind(r->props) != YAML_TREE_MAP ||
		                 yaml_tree_tag(r->props) != YAML_TREE_TAG_NONE)) {
			deploy__errf(ps, pk, "Properties: expected a map, got %s",
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
			deploy__check_keys(ps, r->props, deploy__types[r->type].keys,
			                   deploy__types[r->type].nkeys);
	}
}

static int alloc_plan(struct deploy__parse *ps)
{
	struct deploy_stack *st = ps->st;
	st->resource = deploy__alloc_array(ps, ps->nres, sizeof(st->resource[0]));
	st->location = deploy__alloc_array(ps, ps->count[0], sizeof(st->location[0]));
	st->store = deploy__alloc_array(ps, ps->count[1], sizeof(st->store[0]));
	st->bucket = deploy__alloc_array(ps, ps->count[2], sizeof(st->bucket[0]));
	st->credentials = deploy__alloc_array(ps, ps->count[3], sizeof(st->credentials[0]));
	st->access_point = deploy__alloc_array(ps, ps->count[4], sizeof(st->access_point[0]));
	st->distribution = deploy__alloc_array(ps, ps->count[5], sizeof(st->distribution[0]));
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
		st->resource[i].logical_id = deploy__dup_iov(ps, ps->res[i].id);
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
			*lid = deploy__dup_iov(ps, ps->res[i].id);
	}
	for (uint32_t i = 0; i < st->nparams; i++)
		ps->names[ps->nnames++] = st->param[i].name;
	return ps->nomem ? ERR_NOMEM : 0;
}

static void read_outputs(struct deploy__parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *k = NULL,
	                            *m = deploy__prop(ps, root, root, "Outputs", false, &k);
	if (!m)
		return;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE) {
		deploy__errf(ps, k, "Outputs: expected a map, got %s", config_schema_kind_name(m));
		return;
	}
	struct deploy_stack *st = ps->st;
	st->output = deploy__alloc_array(ps, yaml_tree_len(m), sizeof(st->output[0]));
	for (size_t i = 0; st->output && i < yaml_tree_len(m); i++) {
		const struct yaml_tree_node *ok = yaml_tree_key(m, i), *ov = yaml_tree_value(m, i);
		struct deploy_stack_output *o = &st->output[st->noutputs++];
		o->name = deploy__dup_iov(ps, yaml_tree_scalar(ok));
		if (yaml_tree_kind(ov) != YAML_TREE_MAP ||
		    yaml_tree_tag(ov) != YAML_TREE_TAG_NONE) {
			deploy__errf(ps, ok, "%.*s: expected a map, got %s",
			             DEPLOY__Q(yaml_tree_scalar(ok)), config_schema_kind_name(ov));
			continue;
		}
		deploy__check_keys(ps, ov, output_keys, DEPLOY__N_ELEMS(output_keys));
		/* Outputs may name any resource: a walk from a pseudo-resource
		 * that no resource depends on. */
		deploy__walk(ps, DEPLOY_STACK_RES_MAX - 1, ov, true);
		deploy__get_str(ps, ov, ok, "Description", false, &o->description);
		const struct yaml_tree_node *vk = NULL,
		                            *vv = deploy__prop(ps, ov, ok, "Value", true, &vk);
		struct deploy__val v;
		if (vv && deploy__eval(ps, vv, &v) == 0) {
			o->value = v.s;
			o->deferred = v.deferred;
		} else if (vv &&
		           deploy__intrinsic_of(vv, &(const struct yaml_tree_node *){ NULL }) ==
		               DEPLOY__I_NONE &&
		           !deploy__is_scalar(vv)) {
			deploy__errf(ps, vk, "Value: expected a string, got %s",
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

static int parse_tree(struct deploy__parse *ps, const struct deploy_stack_override *ov, size_t nov)
{
	const struct yaml_tree_node *root = yaml_tree_root(ps->t);
	if (yaml_tree_kind(root) != YAML_TREE_MAP)
		return deploy__errf(ps, root, "expected a map with Resources, got %s",
		                    config_schema_kind_name(root));
	deploy__check_keys(ps, root, top_keys, DEPLOY__N_ELEMS(top_keys));
	get_plain(ps, root, "Description", &ps->st->description);
	read_params(ps, root, ov, nov);
	list_resources(ps, root);
	if (ps->nomem || alloc_plan(ps))
		return ERR_NOMEM;
	for (uint32_t r = 0; r < ps->nres; r++)
		if (ps->res[r].props && ps->res[r].type >= 0)
			deploy__walk(ps, r, ps->res[r].props, false);
	for (uint32_t r = 0; r < ps->nres; r++)
		depends_on(ps, r);
	uint32_t *order = deploy__alloc_array(ps, ps->nres, sizeof(uint32_t));
	if (!order)
		return ERR_NOMEM;
	uint32_t norder = 0;
	for (uint32_t r = 0; r < ps->nres; r++)
		if (ps->res[r].color == 0)
			deploy__visit(ps, r, order, &norder);
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
		deploy__types[ps->res[r].type].read(ps, r);
	}
	free(order);
	if (!ps->nomem)
		read_outputs(ps, root);
	if (!ps->nomem)
		deploy__nearest_buckets(ps);
	if (!ps->nomem)
		deploy__check_replication(ps);
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
		deploy__free_strs(b->query, b->nquery);
		deploy__free_strs(b->key_header, b->nheaders);
		free(b->signing_region);
		for (int e = 0; e < DEPLOY_STACK_FN_EVENTS; e++)
			free(b->function[e]);
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
	struct deploy__parse *ps = calloc(1, sizeof(*ps));
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
	st->path = deploy__dup_iov(ps, iov_cstr(ps->path));
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
		struct deploy__sub_piece p;
		struct iov add;
		if (!deploy__sub_next(&rest, &p))
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
