/*
 * deploy/stack's resource types: the table (a row per type: name, keys,
 * attributes, reader) and the readers of every type but the distribution
 * (stack_distribution.c). Startup thread only.
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

/* ---- resource types: a row each ---- */

static void read_location(struct deploy__parse *ps, uint32_t r);
static void read_store(struct deploy__parse *ps, uint32_t r);
static void read_bucket(struct deploy__parse *ps, uint32_t r);
static void read_credentials(struct deploy__parse *ps, uint32_t r);
static void read_access_point(struct deploy__parse *ps, uint32_t r);
static void read_latency(struct deploy__parse *ps, uint32_t r);

static const char *const location_keys[] = { "Name", "Region" };
static const char *const store_keys[] = { "Location", "Port", "Credentials" };
static const char *const bucket_keys[] = {
	"Store", "BucketName", "Versioning", "ReplicationRules", "Objects", "AnonymousRead",
};
static const char *const credentials_keys[] = { "AccessKeyId", "SecretAccessKey" };
static const char *const access_point_keys[] = { "Name", "Alias", "Regions" };
static const char *const distribution_keys[] = {
	"Locations", "DefaultRootObject", "SigningCredentials", "FailoverHeader", "MemoryBytes",
	"Origins",   "OriginGroups",      "Behaviors",          "FunctionLimits",
};
static const char *const latency_keys[] = { "Links" };

const struct deploy__type_row deploy__types[DEPLOY_STACK_NTYPES] = {
	[DEPLOY_STACK_LOCATION] = { "Meridian::Location",
	                            location_keys,
	                            DEPLOY__N_ELEMS(location_keys),
	                            { { "Name", false },
	                              { "Region", false },
	                              { "EdgeUrl", true },
	                              { "RouterUrl", true } },
	                            read_location },
	[DEPLOY_STACK_STORE] = { "Meridian::Store",
	                         store_keys,
	                         DEPLOY__N_ELEMS(store_keys),
	                         { { "Region", false }, { "Endpoint", true }, { "Port", true } },
	                         read_store },
	[DEPLOY_STACK_BUCKET] = { "Meridian::Bucket",
	                          bucket_keys,
	                          DEPLOY__N_ELEMS(bucket_keys),
	                          { { "Name", false }, { "Arn", false }, { "DomainName", false } },
	                          read_bucket },
	[DEPLOY_STACK_CREDENTIALS] = { "Meridian::Credentials",
	                               credentials_keys,
	                               DEPLOY__N_ELEMS(credentials_keys),
	                               { { "AccessKeyId", true }, { "File", true } },
	                               read_credentials },
	[DEPLOY_STACK_ACCESS_POINT] = { "Meridian::AccessPoint",
	                                access_point_keys,
	                                DEPLOY__N_ELEMS(access_point_keys),
	                                { { "Name", false },
	                                  { "Alias", false },
	                                  { "Host", false },
	                                  { "Arn", false } },
	                                read_access_point },
	[DEPLOY_STACK_DISTRIBUTION] = { "Meridian::Distribution",
	                                distribution_keys,
	                                DEPLOY__N_ELEMS(distribution_keys),
	                                { { "Id", false }, { "DomainName", false } },
	                                deploy__read_distribution },
	[DEPLOY_STACK_LATENCY] = { "Meridian::LatencyMatrix",
	                           latency_keys,
	                           DEPLOY__N_ELEMS(latency_keys),
	                           { { NULL, false } },
	                           read_latency },
};

/* ---- type readers ---- */

#define DEPLOY__RES(ps, r) (&(ps)->res[r])

static const char *location_name(const struct deploy_stack *st, uint32_t i)
{
	return st->location[i].name;
}

static void read_location(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_location *l = &ps->st->location[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	if (deploy__get_str(ps, m, o, "Name", true, &l->name) |
	    deploy__get_str(ps, m, o, "Region", false, &l->region)) {
		DEPLOY__RES(ps, r)->bad = true;
		return;
	}
	DEPLOY__RES(ps, r)->read = true;
	deploy__check_unique(ps, r, "location name", l->name, location_name);
}

static const char *store_region(const struct deploy_stack *st, uint32_t i)
{
	return st->store[i].region;
}

static void read_store(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_store *s = &ps->st->store[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	uint64_t port = 0;
	s->credentials = DEPLOY_STACK_NONE;
	s->location = DEPLOY_STACK_NONE;
	int rc = deploy__get_ref(ps, m, o, "Location", true, DEPLOY_STACK_LOCATION, &s->location);
	rc |= deploy__get_u64(ps, m, o, "Port", false, 1, 65535, &port);
	rc |= deploy__get_ref(ps, m, o, "Credentials", false, DEPLOY_STACK_CREDENTIALS,
	                      &s->credentials);
	if (rc == 0 && !ps->st->location[s->location].region)
		rc = deploy__errf(ps, config_schema_key(m, "Location"),
		                  "Location: %s has no Region; a store needs one",
		                  ps->st->location[s->location].name);
	if (rc == 0) {
		s->region = deploy__dup_iov(ps, iov_cstr(ps->st->location[s->location].region));
		rc = s->region ? 0 : ERR_NOMEM;
	}
	s->port = (uint16_t)port;
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
	if (rc == 0) /* a region is one store: the router names regions */
		deploy__check_unique(ps, r, "store region", s->region, store_region);
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

static const char *const rule_keys[] = { "Destination", "Prefix", "Status",
	                                 "DeleteMarkerReplication" };
static const char *const object_keys[] = { "Key", "Body", "File" };

static int read_rules(struct deploy__parse *ps, uint32_t r, struct deploy_stack_bucket *b)
{
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props;
	const struct yaml_tree_node *seq = deploy__get_seq(
	    ps, m, DEPLOY__RES(ps, r)->key, "ReplicationRules", false, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return 0;
	b->rule = deploy__alloc_array(ps, yaml_tree_len(seq), sizeof(b->rule[0]));
	if (!b->rule)
		return ERR_NOMEM;
	static const char *const status[] = { "Disabled", "Enabled" };
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, seq, i, "ReplicationRules", rule_keys, DEPLOY__N_ELEMS(rule_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_rule *u = &b->rule[b->nrules++];
		int st = 1, markers = 1;
		rc |= deploy__get_ref(ps, it, it, "Destination", true, DEPLOY_STACK_BUCKET,
		                      &u->destination);
		rc |= deploy__get_str(ps, it, it, "Prefix", false, &u->prefix);
		rc |= deploy__get_enum(ps, it, it, "Status", status, 2, false, &st);
		rc |= deploy__get_enum(ps, it, it, "DeleteMarkerReplication", status, 2, false,
		                       &markers);
		u->enabled = st == 1;
		u->delete_markers = markers == 1;
		if (!u->prefix && !(u->prefix = deploy__dup_iov(ps, IOV_LIT(""))))
			return ERR_NOMEM;
		if (strlen(u->prefix) > DEPLOY_STACK_PREFIX_MAX)
			rc = deploy__errf(ps, config_schema_key(it, "Prefix"),
			                  "Prefix: longer than %d bytes", DEPLOY_STACK_PREFIX_MAX);
		if (rc == 0 && u->destination == DEPLOY__RES(ps, r)->index)
			rc = deploy__errf(ps, config_schema_key(it, "Destination"),
			                  "Destination: a bucket cannot replicate to itself");
	}
	if (rc == 0 && b->nrules && b->versioning != DEPLOY_STACK_VERSIONING_ENABLED)
		rc = deploy__errf(ps, config_schema_key(m, "ReplicationRules"),
		                  "ReplicationRules: needs Versioning: Enabled");
	return rc;
}

/* After every resource is read (a rule's Destination does not order, so its
 * bucket may come later): each destination takes replicas, which are
 * versions with the source's ids, so it needs Versioning: Enabled too. */
static bool bucket_read(const struct deploy__parse *ps, uint32_t index)
{
	for (uint32_t r = 0; r < ps->nres; r++)
		if (ps->res[r].type == DEPLOY_STACK_BUCKET && ps->res[r].index == index)
			return ps->res[r].read;
	return false;
}

void deploy__check_replication(struct deploy__parse *ps)
{
	const struct deploy_stack *st = ps->st;
	for (uint32_t r = 0; r < ps->nres; r++) {
		const struct deploy__res *res = DEPLOY__RES(ps, r);
		if (res->type != DEPLOY_STACK_BUCKET || !res->read)
			continue;
		const struct deploy_stack_bucket *b = &st->bucket[res->index];
		const struct yaml_tree_node *seq =
		    yaml_tree_get(res->props, IOV_LIT("ReplicationRules"), NULL);
		for (uint32_t i = 0; seq && i < b->nrules; i++) {
			uint32_t di = b->rule[i].destination;
			const struct deploy_stack_bucket *d = &st->bucket[di];
			if (!bucket_read(ps, di) ||
			    d->versioning == DEPLOY_STACK_VERSIONING_ENABLED)
				continue; /* not read: its own errors are reported */
			deploy__errf(ps, config_schema_key(yaml_tree_item(seq, i), "Destination"),
			             "Destination: %s needs Versioning: Enabled to take replicas",
			             d->logical_id);
		}
	}
}

static int read_objects(struct deploy__parse *ps, uint32_t r, struct deploy_stack_bucket *b)
{
	const struct yaml_tree_node *seq =
	    deploy__get_seq(ps, DEPLOY__RES(ps, r)->props, DEPLOY__RES(ps, r)->key, "Objects",
	                    false, DEPLOY_STACK_ITEMS_MAX);
	if (!seq)
		return 0;
	b->object = deploy__alloc_array(ps, yaml_tree_len(seq), sizeof(b->object[0]));
	if (!b->object)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, seq, i, "Objects", object_keys, DEPLOY__N_ELEMS(object_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_object *o = &b->object[b->nobjects++];
		char *file = NULL;
		const struct yaml_tree_node *k = NULL,
		                            *body = deploy__prop(ps, it, it, "Body", false, &k);
		rc |= deploy__get_str(ps, it, it, "Key", true, &o->key);
		rc |= deploy__get_str(ps, it, it, "File", false, &file);
		if (body && file) {
			rc = deploy__errf(ps, it, "an object has either Body or File, not both");
		} else if (!body && !file) {
			rc = deploy__errf(ps, it, "an object needs Body or File");
		} else if (body) {
			struct deploy__val v;
			if (deploy__intrinsic_of(body, &(const struct yaml_tree_node *){ NULL }) ==
			        DEPLOY__I_NONE &&
			    !deploy__is_scalar(body)) {
				rc = deploy__errf(ps, k, "Body: expected a string, got %s",
				                  config_schema_kind_name(body));
			} else if (deploy__eval(ps, body, &v) == 0) {
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
				rc = deploy__errf(ps, config_schema_key(it, "File"),
				                  "File: path too long");
		}
		free(file);
	}
	return rc;
}

static void read_bucket(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_bucket *b = &ps->st->bucket[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	static const char *const versioning[] = { "Off", "Enabled", "Suspended" };
	int v = 0;
	int rc = deploy__get_ref(ps, m, o, "Store", true, DEPLOY_STACK_STORE, &b->store);
	rc |= deploy__get_str(ps, m, o, "BucketName", true, &b->name);
	rc |= deploy__get_enum(ps, m, o, "Versioning", versioning, 3, false, &v);
	b->versioning = (enum deploy_stack_versioning)v;
	rc |= deploy__get_bool(ps, m, o, "AnonymousRead", &b->anonymous_read);
	if (b->name && !valid_bucket_name(b->name))
		rc = deploy__errf(
		    ps, config_schema_key(m, "BucketName"),
		    "BucketName: \"%s\" is not a bucket name (3-63 of a-z 0-9 '.' '-', "
		    "a letter or digit at both ends, no \"..\")",
		    b->name);
	rc |= read_rules(ps, r, b);
	rc |= read_objects(ps, r, b);
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
	if (rc == 0)
		deploy__check_unique(ps, r, "bucket name", b->name, bucket_name);
}

static void read_credentials(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_credentials *c = &ps->st->credentials[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	int rc = deploy__get_str(ps, m, o, "AccessKeyId", false, &c->access_key);
	rc |= deploy__get_str(ps, m, o, "SecretAccessKey", false, &c->secret_key);
	if (rc == 0 && !c->access_key != !c->secret_key)
		rc = deploy__errf(ps, m,
		                  "give both AccessKeyId and SecretAccessKey, or neither (then "
		                  "they are generated)");
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
}

static const char *ap_name(const struct deploy_stack *st, uint32_t i)
{
	return st->access_point[i].name;
}

static const char *const ap_region_keys[] = { "Bucket", "Dial" };

static void read_access_point(struct deploy__parse *ps, uint32_t r)
{
	struct deploy_stack_access_point *a = &ps->st->access_point[DEPLOY__RES(ps, r)->index];
	const struct yaml_tree_node *m = DEPLOY__RES(ps, r)->props, *o = DEPLOY__RES(ps, r)->key;
	int rc = deploy__get_str(ps, m, o, "Name", true, &a->name);
	rc |= deploy__get_str(ps, m, o, "Alias", false, &a->alias);
	const struct yaml_tree_node *seq =
	    deploy__get_seq(ps, m, o, "Regions", true, DEPLOY_STACK_ITEMS_MAX);
	if (!seq || yaml_tree_len(seq) == 0) {
		if (seq)
			deploy__errf(ps, config_schema_key(m, "Regions"),
			             "Regions: must list a bucket");
		DEPLOY__RES(ps, r)->bad = true;
		return;
	}
	a->region = deploy__alloc_array(ps, yaml_tree_len(seq), sizeof(a->region[0]));
	if (!a->region)
		return;
	static const char *const dials[] = { "passive", "active" };
	bool any_active = false;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		const struct yaml_tree_node *it = deploy__item_map(
		    ps, seq, i, "Regions", ap_region_keys, DEPLOY__N_ELEMS(ap_region_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		struct deploy_stack_ap_region *g = &a->region[a->nregions++];
		int dial = 1;
		rc |= deploy__get_ref(ps, it, it, "Bucket", true, DEPLOY_STACK_BUCKET, &g->bucket);
		rc |= deploy__get_enum(ps, it, it, "Dial", dials, 2, false, &dial);
		g->active = dial == 1;
		any_active |= g->active;
		for (uint32_t j = 0; rc == 0 && j + 1 < a->nregions; j++) {
			const struct deploy_stack *st = ps->st;
			const char *here = st->store[st->bucket[g->bucket].store].region;
			if (strcmp(st->store[st->bucket[a->region[j].bucket].store].region, here) ==
			    0)
				rc = deploy__errf(ps, it, "Regions: two buckets in %s", here);
		}
	}
	if (rc == 0 && !any_active)
		rc = deploy__errf(ps, config_schema_key(m, "Regions"),
		                  "Regions: at least one must have Dial: active");
	if (rc == 0 && !a->alias) {
		char alias[128];
		snprintf(alias, sizeof(alias), "%s.mrap", a->name);
		rc = (a->alias = deploy__dup_iov(ps, iov_cstr(alias))) ? 0 : ERR_NOMEM;
	}
	if (rc == 0) {
		char host[300];
		snprintf(host, sizeof(host), "%s.%s", a->alias, DEPLOY_STACK_MRAP_DOMAIN);
		rc = (a->host = deploy__dup_iov(ps, iov_cstr(host))) ? 0 : ERR_NOMEM;
	}
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
	if (rc == 0)
		deploy__check_unique(ps, r, "access point name", a->name, ap_name);
}

static void read_latency(struct deploy__parse *ps, uint32_t r)
{
	static const char *const link_keys[] = { "Between", "DelayMs", "JitterMs" };
	const struct yaml_tree_node *seq =
	    deploy__get_seq(ps, DEPLOY__RES(ps, r)->props, DEPLOY__RES(ps, r)->key, "Links", true,
	                    DEPLOY_STACK_ITEMS_MAX);
	int rc = seq ? 0 : ERR_CONFIG_SCHEMA;
	struct deploy_stack *st = ps->st;
	for (size_t i = 0; seq && i < yaml_tree_len(seq); i++) {
		const struct yaml_tree_node *it =
		    deploy__item_map(ps, seq, i, "Links", link_keys, DEPLOY__N_ELEMS(link_keys));
		if (!it) {
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		const struct yaml_tree_node *between =
		    deploy__get_seq(ps, it, it, "Between", true, 2);
		uint64_t delay = 0, jitter = 0;
		int lrc = deploy__get_u64(ps, it, it, "DelayMs", true, 0, 60000, &delay);
		lrc |= deploy__get_u64(ps, it, it, "JitterMs", false, 0, 60000, &jitter);
		if (!between || yaml_tree_len(between) != 2) {
			if (between)
				deploy__errf(ps, config_schema_key(it, "Between"),
				             "Between: expected two locations");
			rc = ERR_CONFIG_SCHEMA;
			continue;
		}
		uint32_t a = 0, b = 0;
		lrc |= deploy__ref_node(ps, yaml_tree_item(between, 0), yaml_tree_item(between, 0),
		                        "Between", DEPLOY_STACK_LOCATION, &a);
		lrc |= deploy__ref_node(ps, yaml_tree_item(between, 1), yaml_tree_item(between, 1),
		                        "Between", DEPLOY_STACK_LOCATION, &b);
		if (lrc == 0 && a == b)
			lrc = deploy__errf(ps, between,
			                   "Between: a link joins two different locations");
		for (uint32_t j = 0; lrc == 0 && j < st->nlinks; j++)
			if ((st->link[j].a == a && st->link[j].b == b) ||
			    (st->link[j].a == b && st->link[j].b == a))
				lrc = deploy__errf(ps, between, "Between: duplicate link %s - %s",
				                   st->location[a].name, st->location[b].name);
		if (lrc == 0 && jitter > delay)
			lrc = deploy__errf(ps, config_schema_key(it, "JitterMs"),
			                   "JitterMs: %llu is more than DelayMs %llu",
			                   (unsigned long long)jitter, (unsigned long long)delay);
		rc |= lrc;
		if (lrc)
			continue;
		struct deploy_stack_link *nl = realloc(st->link, (st->nlinks + 1) * sizeof(*nl));
		if (!nl) {
			deploy__nomem(ps);
			return;
		}
		st->link = nl;
		st->link[st->nlinks++] =
		    (struct deploy_stack_link){ a, b, (uint32_t)delay, (uint32_t)jitter };
	}
	DEPLOY__RES(ps, r)->bad = rc != 0;
	DEPLOY__RES(ps, r)->read = rc == 0;
}
