/*
 * deploy/stack's Meridian::Distribution reader (origins, origin groups,
 * behaviors, the edge's fields in PascalCase) and the nearest bucket of
 * each NearestBucket origin per edge location. Startup thread only.
 */
#include "deploy/stack.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "deploy/stack-int.h"

/* ---- distributions ---- */

void deploy__free_strs(char **v, uint32_t n)
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
	"PathPattern",   "TargetOriginId", "AllowedMethods", "CachedMethods",   "MinTTL",
	"DefaultTTL",    "MaxTTL",         "QueryStrings",   "CacheKeyHeaders", "Signing",
	"SigningRegion", "Compress",       "Functions",
};
static const char *const fn_keys[DEPLOY_STACK_FN_EVENTS] = {
	"ViewerRequest",
	"OriginRequest",
	"OriginResponse",
	"ViewerResponse",
};
static const char *const limit_keys[] = { "Memory", "Instructions", "ViewerTimeout",
	                                  "OriginTimeout" };

const char *deploy_stack_fn_key(enum deploy_stack_fn_event e)
{
	CHECK((unsigned)e < DEPLOY_STACK_FN_EVENTS);
	return fn_keys[e];
}

const char *deploy_stack_fn_edge_key(enum deploy_stack_fn_event e)
{
	CHECK((unsigned)e < DEPLOY_STACK_FN_EVENTS);
	return edge_config_fn_events[e];
}

static int get_duration(struct deploy__parse *ps, const struct yaml_tree_node *map, const char *key,
                        uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *s;
	int rc = deploy__get_str(ps, map, map, key, false, &s);
	if (rc || !s)
		return rc;
	uint64_t ms = 0;
	if (config_schema_parse_duration(iov_cstr(s), &ms) != 0 || ms < lo || ms > hi)
		rc = deploy__errf(
		    ps, config_schema_key(map, key),
		    "%s: \"%.*s\" is not a duration in %llums..%llums (like 500ms, 10s)", key,
		    config_schema_quote_len(iov_cstr(s)), s, (unsigned long long)lo,
		    (unsigned long long)hi);
	else
		*out = ms;
	free(s);
	return rc;
}

/* A sequence of plain strings, copied into *out[*n]. */
static int get_strs(struct deploy__parse *ps, const struct yaml_tree_node *map, const char *key,
                    char ***out, uint32_t *n)
{
	const struct yaml_tree_node *seq =
	    deploy__get_seq(ps, map, map, key, false, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return yaml_tree_get(map, iov_cstr(key), NULL) ? ERR_CONFIG_SCHEMA : 0;
	*out = deploy__alloc_array(ps, yaml_tree_len(seq), sizeof(char *));
	if (!*out)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		struct deploy__val v;
		const struct yaml_tree_node *it = yaml_tree_item(seq, i);
		if (!deploy__is_scalar(it) &&
		    deploy__intrinsic_of(it, &(const struct yaml_tree_node *){ NULL }) ==
		        DEPLOY__I_NONE) {
			rc = deploy__errf(ps, it, "%s[%zu]: expected a string, got %s", key, i,
			                  config_schema_kind_name(it));
			continue;
		}
		if (deploy__eval(ps, it, &v) != 0) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		if (v.deferred || v.len == 0) {
			rc = deploy__errf(ps, it,
			                  "%s[%zu]: must be a non-empty value known before start",
			                  key, i);
			free(v.s);
			continue;
		}
		(*out)[(*n)++] = v.s;
	}
	return rc;
}

static int read_headers(struct deploy__parse *ps, const struct yaml_tree_node *it,
                        struct deploy_stack_origin *o)
{
	const struct yaml_tree_node *k = NULL,
	                            *m = deploy__prop(ps, it, it, "CustomHeaders", false, &k);
	if (!m)
		return 0;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)
		return deploy__errf(ps, k, "CustomHeaders: expected a map, got %s",
		                    config_schema_kind_name(m));
	o->header = deploy__alloc_array(ps, yaml_tree_len(m), sizeof(o->header[0]));
	if (!o->header)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(m); i++) {
		struct deploy__val v;
		const struct yaml_tree_node *hv = yaml_tree_value(m, i);
		if (deploy__eval(ps, hv, &v) != 0 || v.deferred) {
			if (v.s)
				free(v.s);
			rc = deploy__errf(
			    ps, yaml_tree_key(m, i),
			    "CustomHeaders: %.*s: expected a string known before start",
			    DEPLOY__Q(yaml_tree_scalar(yaml_tree_key(m, i))));
			continue;
		}
		struct edge_config_header *h = &o->header[o->nheaders++];
		h->value = v.s;
		h->name = deploy__dup_iov(ps, yaml_tree_scalar(yaml_tree_key(m, i)));
		if (!h->name)
			return ERR_NOMEM;
	}
	return rc;
}

static int read_origin(struct deploy__parse *ps, const struct yaml_tree_node *it,
                       struct deploy_stack_origin *o)
{
	int rc = deploy__get_str(ps, it, it, "Id", true, &o->id);
	const struct yaml_tree_node *k = NULL;
	int kinds = 0;
	if (deploy__prop(ps, it, it, "AccessPoint", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_ACCESS_POINT;
		rc |= deploy__get_ref(ps, it, it, "AccessPoint", true, DEPLOY_STACK_ACCESS_POINT,
		                      &o->target);
	}
	if (deploy__prop(ps, it, it, "Bucket", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_BUCKET;
		rc |= deploy__get_ref(ps, it, it, "Bucket", true, DEPLOY_STACK_BUCKET, &o->target);
	}
	const struct yaml_tree_node *near = NULL;
	if (deploy__prop(ps, it, it, "NearestBucket", false, &k)) {
		kinds++;
		o->kind = DEPLOY_STACK_ORIGIN_NEAREST;
		near = deploy__get_seq(ps, it, it, "NearestBucket", true, DEPLOY_STACK_ITEMS_MAX);
		rc |= near ? 0 : ERR_CONFIG_SCHEMA;
	}
	if (kinds != 1)
		rc = deploy__errf(ps, it,
		                  "an origin needs exactly one of AccessPoint, Bucket and "
		                  "NearestBucket");
	if (near && kinds == 1) {
		o->candidate = deploy__alloc_array(ps, yaml_tree_len(near), sizeof(uint32_t));
		if (!o->candidate)
			return ERR_NOMEM;
		for (size_t i = 0; i < yaml_tree_len(near); i++) {
			const struct yaml_tree_node *b = yaml_tree_item(near, i);
			rc |= deploy__ref_node(ps, b, b, "NearestBucket", DEPLOY_STACK_BUCKET,
			                       &o->candidate[o->ncandidates]);
			o->ncandidates++;
		}
		if (o->ncandidates == 0)
			rc = deploy__errf(ps, k, "NearestBucket: must list a bucket");
	}
	rc |= deploy__get_str(ps, it, it, "DomainName", false, &o->domain_name);
	rc |= deploy__get_str(ps, it, it, "OriginPath", false, &o->origin_path);
	o->connect_timeout_ms = EDGE_CONFIG_CONNECT_TIMEOUT_MS;
	o->read_timeout_ms = EDGE_CONFIG_READ_TIMEOUT_MS;
	uint64_t attempts = EDGE_CONFIG_ATTEMPTS;
	rc |= get_duration(ps, it, "ConnectTimeout", EDGE_CONFIG_CONNECT_TIMEOUT_MIN,
	                   EDGE_CONFIG_CONNECT_TIMEOUT_MAX, &o->connect_timeout_ms);
	rc |= get_duration(ps, it, "ReadTimeout", EDGE_CONFIG_READ_TIMEOUT_MIN,
	                   EDGE_CONFIG_READ_TIMEOUT_MAX, &o->read_timeout_ms);
	rc |= deploy__get_u64(ps, it, it, "ConnectionAttempts", false, 1, EDGE_CONFIG_ATTEMPTS_MAX,
	                      &attempts);
	o->connection_attempts = (uint32_t)attempts;
	rc |= read_headers(ps, it, o);
	if (rc == 0 && !o->domain_name && o->kind == DEPLOY_STACK_ORIGIN_ACCESS_POINT)
		o->domain_name =
		    deploy__dup_iov(ps, iov_cstr(ps->st->access_point[o->target].host));
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

static void unknown_target(struct deploy__parse *ps, const struct deploy_stack_distribution *d,
                           const struct yaml_tree_node *at, const char *key, const char *id,
                           bool groups)
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
		deploy__errf(ps, at, "%s: no origin%s has the id \"%s\"; did you mean \"%s\"?", key,
		             groups ? " or group" : "", id, hint);
	else
		deploy__errf(ps, at, "%s: no origin%s has the id \"%s\"", key,
		             groups ? " or group" : "", id);
}

static int read_group(struct deploy__parse *ps, struct deploy_stack_distribution *d,
                      const struct yaml_tree_node *it, struct deploy_stack_group *g)
{
	int rc = deploy__get_str(ps, it, it, "Id", true, &g->id);
	char **members = NULL;
	uint32_t nm = 0;
	const struct yaml_tree_node *k = NULL;
	if (!deploy__prop(ps, it, it, "Members", true, &k))
		return ERR_CONFIG_SCHEMA;
	rc |= get_strs(ps, it, "Members", &members, &nm);
	g->member = deploy__alloc_array(ps, nm, sizeof(uint32_t));
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
	deploy__free_strs(members, nm);
	if (rc == 0 && (g->nmembers < 2 || g->nmembers > EDGE_CONFIG_MEMBERS_MAX))
		rc = deploy__errf(ps, k, "Members: %u members; expected 2 to %d", g->nmembers,
		                  EDGE_CONFIG_MEMBERS_MAX);
	char **st = NULL;
	uint32_t ns = 0;
	rc |= get_strs(ps, it, "FailoverStatuses", &st, &ns);
	g->status = deploy__alloc_array(ps, ns ? ns : 4, sizeof(uint16_t));
	for (uint32_t i = 0; g->status && i < ns; i++) {
		unsigned long long x = 0;
		if (iov_to_u64(iov_cstr(st[i]), 599, &x) != 0 || x < 400) {
			rc = deploy__errf(ps, config_schema_key(it, "FailoverStatuses"),
			                  "FailoverStatuses: \"%s\" is not an HTTP error status",
			                  st[i]);
			continue;
		}
		g->status[g->nstatuses++] = (uint16_t)x;
	}
	if (g->status && !st) {
		static const uint16_t def[] = { 500, 502, 503, 504 };
		memcpy(g->status, def, sizeof(def));
		g->nstatuses = 4;
	}
	deploy__free_strs(st, ns);
	return rc;
}

static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE" };

static int get_methods(struct deploy__parse *ps, const struct yaml_tree_node *it, const char *key,
                       uint32_t *out)
{
	char **v = NULL;
	uint32_t n = 0;
	int rc = get_strs(ps, it, key, &v, &n);
	if (rc == 0 && v) {
		*out = 0;
		for (uint32_t i = 0; i < n; i++) {
			size_t j = 0;
			while (j < DEPLOY__N_ELEMS(methods) && strcmp(v[i], methods[j]) != 0)
				j++;
			if (j == DEPLOY__N_ELEMS(methods))
				rc = deploy__errf(ps, config_schema_key(it, key),
				                  "%s: \"%s\" is not an HTTP method", key, v[i]);
			else
				*out |= 1u << j;
		}
	}
	deploy__free_strs(v, n);
	return rc;
}

/*
 * A function file: `file` as written, anchored at the stack file's
 * directory, made absolute and canonical (the generated edge config lives
 * in the state directory), and opened once to check that it is a readable
 * regular file (O_NONBLOCK: a FIFO never blocks the parse). *out is
 * malloc'd. The file is not read: the edge compiles it when it starts.
 */
static int function_path(struct deploy__parse *ps, const struct yaml_tree_node *k, const char *key,
                         const char *file, char **out)
{
	struct config_schema s;
	char err[YAML_TREE_ERR_LEN];
	char *anchored = NULL;
	config_schema_init(&s, ps->t, err, sizeof(err));
	if (config_schema_path(&s, k, key, iov_cstr(file), &anchored) != 0)
		return deploy__errf(ps, k, "%s: path too long", key);
	int rc = 0;
	char *abs = realpath(anchored, NULL);
	struct stat sb;
	int fd = -1;
	if (!abs) {
		if (errno == ENOMEM)
			rc = deploy__nomem(ps);
		else
			rc = deploy__errf(ps, k, "%s: cannot read %s: %s", key, anchored,
			                  strerror(errno));
	} else if (stat(abs, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = deploy__errf(ps, k, "%s: %s is not a regular file", key, anchored);
	} else if ((fd = open(abs, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		rc = deploy__errf(ps, k, "%s: cannot read %s: %s", key, anchored, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	free(anchored);
	if (rc == 0)
		*out = abs;
	else
		free(abs);
	return rc;
}

/* A behavior's Functions: {ViewerRequest: path, ...}, each optional. */
static int read_functions(struct deploy__parse *ps, const struct yaml_tree_node *it,
                          struct deploy_stack_behavior *b)
{
	const struct yaml_tree_node *k = NULL,
	                            *m = deploy__prop(ps, it, it, "Functions", false, &k);
	if (!m)
		return 0;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)
		return deploy__errf(ps, k, "Functions: expected a map, got %s",
		                    config_schema_kind_name(m));
	deploy__check_keys(ps, m, fn_keys, DEPLOY_STACK_FN_EVENTS);
	int rc = 0;
	for (int e = 0; e < DEPLOY_STACK_FN_EVENTS; e++) {
		char *file = NULL;
		int r = deploy__get_str(ps, m, m, fn_keys[e], false, &file);
		if (r == 0 && file)
			r = function_path(ps, config_schema_key(m, fn_keys[e]), fn_keys[e], file,
			                  &b->function[e]);
		free(file);
		rc |= r;
	}
	return rc;
}

static int read_behavior(struct deploy__parse *ps, struct deploy_stack_distribution *d,
                         const struct yaml_tree_node *it, struct deploy_stack_behavior *b)
{
	char *target = NULL;
	int rc = deploy__get_str(ps, it, it, "PathPattern", true, &b->path_pattern);
	rc |= deploy__get_str(ps, it, it, "TargetOriginId", true, &target);
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
	rc |= deploy__get_u64(ps, it, it, "MinTTL", false, 0, EDGE_CONFIG_TTL_CAP, &b->min_ttl_s);
	rc |= deploy__get_u64(ps, it, it, "DefaultTTL", false, 0, EDGE_CONFIG_TTL_CAP,
	                      &b->default_ttl_s);
	rc |= deploy__get_u64(ps, it, it, "MaxTTL", false, 0, EDGE_CONFIG_TTL_CAP, &b->max_ttl_s);
	if (rc == 0 && (b->min_ttl_s > b->default_ttl_s || b->default_ttl_s > b->max_ttl_s))
		rc = deploy__errf(
		    ps, it, "TTLs out of order: MinTTL %llu, DefaultTTL %llu, MaxTTL %llu",
		    (unsigned long long)b->min_ttl_s, (unsigned long long)b->default_ttl_s,
		    (unsigned long long)b->max_ttl_s);
	const struct yaml_tree_node *k = NULL,
	                            *q = deploy__prop(ps, it, it, "QueryStrings", false, &k);
	if (q && yaml_tree_kind(q) == YAML_TREE_SEQ) {
		b->query_strings = EDGE_CONFIG_QUERY_LIST;
		rc |= get_strs(ps, it, "QueryStrings", &b->query, &b->nquery);
	} else if (q) {
		static const char *const qs[] = { "none", "all" };
		int x = 0;
		rc |= deploy__get_enum(ps, it, it, "QueryStrings", qs, 2, false, &x);
		b->query_strings = x ? EDGE_CONFIG_QUERY_ALL : EDGE_CONFIG_QUERY_NONE;
	}
	rc |= get_strs(ps, it, "CacheKeyHeaders", &b->key_header, &b->nheaders);
	static const char *const signing[] = { "none", "sigv4", "sigv4a" };
	int sg = 0;
	rc |= deploy__get_enum(ps, it, it, "Signing", signing, 3, false, &sg);
	b->signing = (enum edge_config_signing)sg;
	rc |= deploy__get_str(ps, it, it, "SigningRegion", false, &b->signing_region);
	if (rc == 0 && (b->signing == EDGE_CONFIG_SIGN_SIGV4) != (b->signing_region != NULL))
		rc = deploy__errf(ps, it,
		                  "SigningRegion goes with Signing: sigv4, and only with it");
	rc |= deploy__get_bool(ps, it, it, "Compress", &b->compress);
	rc |= read_functions(ps, it, b);
	return rc;
}

/* FunctionLimits: {Memory, Instructions, ViewerTimeout, OriginTimeout},
 * each optional (0: the edge's default). */
static int read_fn_limits(struct deploy__parse *ps, const struct yaml_tree_node *props,
                          struct deploy_stack_fn_limits *l)
{
	const struct yaml_tree_node *k = NULL, *m = deploy__prop(ps, props, props, "FunctionLimits",
	                                                         false, &k);
	if (!m)
		return 0;
	if (yaml_tree_kind(m) != YAML_TREE_MAP || yaml_tree_tag(m) != YAML_TREE_TAG_NONE)
		return deploy__errf(ps, k, "FunctionLimits: expected a map, got %s",
		                    config_schema_kind_name(m));
	deploy__check_keys(ps, m, limit_keys, DEPLOY__N_ELEMS(limit_keys));
	char *mem = NULL;
	int rc = deploy__get_str(ps, m, m, "Memory", false, &mem);
	if (mem && (config_schema_parse_bytes(iov_cstr(mem), &l->memory_bytes) != 0 ||
	            l->memory_bytes < EDGE_CONFIG_FN_MEMORY_MIN ||
	            l->memory_bytes > EDGE_CONFIG_FN_MEMORY_MAX)) {
		l->memory_bytes = 0;
		rc = deploy__errf(ps, config_schema_key(m, "Memory"),
		                  "Memory: \"%.*s\" is not a byte size in 1MiB..1GiB (like 64MiB)",
		                  config_schema_quote_len(iov_cstr(mem)), mem);
	}
	free(mem);
	rc |= deploy__get_u64(ps, m, m, "Instructions", false, EDGE_CONFIG_FN_INSTR_MIN,
	                      EDGE_CONFIG_FN_INSTR_MAX, &l->instructions);
	rc |= get_duration(ps, m, "ViewerTimeout", 1, EDGE_CONFIG_FN_VIEWER_MS_MAX,
	                   &l->viewer_timeout_ms);
	rc |= get_duration(ps, m, "OriginTimeout", 1, EDGE_CONFIG_FN_ORIGIN_MS_MAX,
	                   &l->origin_timeout_ms);
	return rc;
}

static int read_dist_locations(struct deploy__parse *ps, uint32_t r,
                               struct deploy_stack_distribution *d)
{
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props;
	const struct yaml_tree_node *seq = deploy__get_seq(
	    ps, m, DEPLOY__RES(ps, r)->key, "Locations", true, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return ERR_CONFIG_SCHEMA;
	d->location = deploy__alloc_array(ps, yaml_tree_len(seq), sizeof(uint32_t));
	if (!d->location)
		return ERR_NOMEM;
	int rc = yaml_tree_len(seq) ? 0
	                            : deploy__errf(ps, config_schema_key(m, "Locations"),
	                                           "Locations: must list a location");
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		const struct yaml_tree_node *it = yaml_tree_item(seq, i);
		uint32_t l;
		if (deploy__ref_node(ps, it, it, "Locations", DEPLOY_STACK_LOCATION, &l) != 0) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		/* One edge of this distribution per location (other
		 * distributions have their own edges there). */
		bool twice = false;
		for (uint32_t x = 0; x < d->nlocations; x++)
			twice |= d->location[x] == l;
		if (twice) {
			rc = deploy__errf(ps, it, "Locations: %s is listed twice",
			                  ps->st->location[l].name);
			continue;
		}
		d->location[d->nlocations++] = l;
	}
	return rc;
}

static int read_dist_lists(struct deploy__parse *ps, uint32_t r,
                           struct deploy_stack_distribution *d)
{
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	int rc = 0;
	const struct yaml_tree_node *origins =
	    deploy__get_seq(ps, m, o, "Origins", true, EDGE_CONFIG_ORIGINS_MAX);
	const struct yaml_tree_node *groups =
	    deploy__get_seq(ps, m, o, "OriginGroups", false, EDGE_CONFIG_GROUPS_MAX);
	const struct yaml_tree_node *behaviors =
	    deploy__get_seq(ps, m, o, "Behaviors", true, EDGE_CONFIG_BEHAVIORS_MAX);
	if (!origins || !behaviors)
		return ERR_CONFIG_SCHEMA;
	d->origin = deploy__alloc_array(ps, yaml_tree_len(origins), sizeof(d->origin[0]));
	d->group = deploy__alloc_array(ps, groups ? yaml_tree_len(groups) : 0, sizeof(d->group[0]));
	d->behavior = deploy__alloc_array(ps, yaml_tree_len(behaviors), sizeof(d->behavior[0]));
	if (!d->origin || !d->group || !d->behavior)
		return ERR_NOMEM;
	for (size_t i = 0; i < yaml_tree_len(origins); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, origins, i, "Origins", origin_keys, DEPLOY__N_ELEMS(origin_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_origin *x = &d->origin[d->norigins++];
		rc |= read_origin(ps, it, x);
		bool g;
		uint32_t j;
		if (x->id && find_target(d, x->id, &g, &j) == 0 && j != d->norigins - 1)
			rc = deploy__errf(ps, config_schema_key(it, "Id"),
			                  "duplicate origin id \"%s\"", x->id);
	}
	for (size_t i = 0; groups && i < yaml_tree_len(groups); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, groups, i, "OriginGroups", group_keys, DEPLOY__N_ELEMS(group_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_group *x = &d->group[d->ngroups++];
		rc |= read_group(ps, d, it, x);
		bool g;
		uint32_t j;
		if (x->id && find_target(d, x->id, &g, &j) == 0 && (!g || j != d->ngroups - 1))
			rc = deploy__errf(ps, config_schema_key(it, "Id"),
			                  "duplicate origin id \"%s\"", x->id);
	}
	for (size_t i = 0; i < yaml_tree_len(behaviors); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, behaviors, i, "Behaviors", behavior_keys, DEPLOY__N_ELEMS(behavior_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_behavior *b = &d->behavior[d->nbehaviors++];
		rc |= read_behavior(ps, d, it, b);
		if (b->signing != EDGE_CONFIG_SIGN_NONE && d->credentials == DEPLOY_STACK_NONE)
			rc = deploy__errf(ps, it,
			                  "Signing: needs the distribution's SigningCredentials");
	}
	if (rc == 0 &&
	    (d->nbehaviors == 0 || strcmp(d->behavior[d->nbehaviors - 1].path_pattern, "*") != 0))
		rc = deploy__errf(ps, config_schema_key(m, "Behaviors"),
		                  "Behaviors: the last one must have PathPattern \"*\"");
	return rc;
}

void deploy__read_distribution(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_distribution *d = &ps->st->distribution[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	char *mem = NULL;
	d->credentials = DEPLOY_STACK_NONE;
	d->memory_bytes = EDGE_CONFIG_MEMORY_BYTES;
	int rc = deploy__get_str(ps, m, o, "DefaultRootObject", false, &d->default_root_object);
	rc |= deploy__get_ref(ps, m, o, "SigningCredentials", false, DEPLOY_STACK_CREDENTIALS,
	                      &d->credentials);
	rc |= deploy__get_str(ps, m, o, "FailoverHeader", false, &d->failover_header);
	rc |= deploy__get_str(ps, m, o, "MemoryBytes", false, &mem);
	if (mem && (config_schema_parse_bytes(iov_cstr(mem), &d->memory_bytes) != 0 ||
	            d->memory_bytes < EDGE_CONFIG_MEMORY_MIN))
		rc = deploy__errf(
		    ps, config_schema_key(m, "MemoryBytes"),
		    "MemoryBytes: \"%s\" is not a byte size of at least 1MiB (like 64MiB)", mem);
	free(mem);
	if (!d->failover_header)
		d->failover_header = deploy__dup_iov(ps, IOV_LIT(EDGE_CONFIG_FAILOVER_HEADER));
	rc |= read_fn_limits(ps, m, &d->fn_limits);
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
	d->id = deploy__dup_iov(ps, iov_cstr(d->logical_id));
	d->domain = deploy__dup_iov(ps, iov_cstr(domain));
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
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
void deploy__nearest_buckets(struct deploy__parse *ps)
{
	struct deploy_stack *st = ps->st;
	for (uint32_t i = 0; i < st->ndistributions; i++) {
		struct deploy_stack_distribution *d = &st->distribution[i];
		for (uint32_t j = 0; j < d->norigins; j++) {
			struct deploy_stack_origin *o = &d->origin[j];
			if (o->kind != DEPLOY_STACK_ORIGIN_NEAREST || !o->ncandidates ||
			    !d->nlocations)
				continue;
			o->nearest = deploy__alloc_array(ps, d->nlocations, sizeof(uint32_t));
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
