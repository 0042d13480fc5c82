/*
 * The router's configuration file (rules in config.h): a yaml_tree read
 * through config/schema into a struct router_config that owns its strings.
 * Startup thread only (router_config_load reads a file).
 */
#include "router/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "crypto/region.h"
#include "http/admin.h"
#include "http/endpoint.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define AP_NAME_MIN     3
#define AP_NAME_MAX     50
#define REGION_NAME_MAX 32
#define LABEL_MAX       63  /* one DNS label */
#define HOST_MAX        253 /* a DNS name: alias, domain, and alias.domain */
#define BUCKET_MIN      3
#define BUCKET_MAX      63

/* Ranges of the routing durations, in milliseconds. */
#define PROBE_INTERVAL_MIN     50
#define PROBE_INTERVAL_MAX     60000
#define TIMEOUT_MIN            10
#define TIMEOUT_MAX            60000
#define FIRST_BYTE_TIMEOUT_MAX 600000

static const char *const top_keys[] = { "access_point", "regions", "routing", "admin", "tls" };
static const char *const ap_keys[] = { "name", "alias", "domain" };
static const char *const region_keys[] = { "name", "endpoint", "bucket",
	                                   "dial", "protocol", "server_name" };
static const char *const routing_keys[] = {
	"probe_interval",     "probe_timeout",    "connect_timeout",
	"first_byte_timeout", "passive_fallback", "retry_404",
};

struct parse {
	struct config_schema s;
	const char *path;
	struct router_config *c;
};

static bool lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* min..max bytes of a-z 0-9 '-'; with `ends`, not '-' first or last. */
static bool valid_word(struct iov v, size_t min, size_t max, bool ends)
{
	if (v.len < min || v.len > max)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!lower_or_digit(v.base[i]) && v.base[i] != '-')
			return false;
	return !ends || (v.base[0] != '-' && v.base[v.len - 1] != '-');
}

/* Dot-separated DNS labels of 1..63 a-z 0-9 '-', no label starting or
 * ending with '-', at most HOST_MAX bytes in all. */
static bool valid_host(struct iov v)
{
	if (v.len == 0 || v.len > HOST_MAX)
		return false;
	struct iov rest = v;
	while (rest.base) {
		struct iov label;
		rest = iov_split(rest, '.', &label);
		if (!valid_word(label, 1, LABEL_MAX, true))
			return false;
	}
	return true;
}

/* Four dot-separated groups of 1..3 digits ("192.168.5.4"). */
static bool looks_like_ipv4(struct iov v)
{
	size_t groups = 0, digits = 0;
	for (size_t i = 0; i <= v.len; i++) {
		if (i == v.len || v.base[i] == '.') {
			if (digits == 0 || digits > 3)
				return false;
			groups++;
			digits = 0;
		} else if (v.base[i] >= '0' && v.base[i] <= '9') {
			digits++;
		} else {
			return false;
		}
	}
	return groups == 4;
}

/* S3's general purpose bucket rules, as far as a name alone tells. */
static bool valid_bucket(struct iov v)
{
	if (v.len < BUCKET_MIN || v.len > BUCKET_MAX)
		return false;
	if (!lower_or_digit(v.base[0]) || !lower_or_digit(v.base[v.len - 1]))
		return false;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.base[i];
		if (!lower_or_digit(c) && c != '-' && c != '.')
			return false;
		if (c == '.' && v.base[i - 1] == '.')
			return false; /* i > 0: the first byte is a letter or digit */
	}
	return !looks_like_ipv4(v);
}

static int read_access_point(struct parse *ps, const struct yaml_tree_node *root)
{
	struct router_config *c = ps->c;
	const struct yaml_tree_node *ap =
	    config_schema_section(&ps->s, root, "access_point", CONFIG_REQUIRED, YAML_TREE_MAP);
	if (!ap || config_schema_keys(&ps->s, ap, ap_keys, N_ELEMS(ap_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *kn = NULL, *ka = NULL, *kd = NULL;
	struct iov name, alias, domain;
	config_schema_cstr(&ps->s, ap, "name", CONFIG_REQUIRED, &name, &kn);
	config_schema_cstr(&ps->s, ap, "alias", CONFIG_REQUIRED, &alias, &ka);
	if (config_schema_cstr(&ps->s, ap, "domain", CONFIG_OPTIONAL, &domain, &kd))
		return ps->s.rc;
	if (!valid_word(name, AP_NAME_MIN, AP_NAME_MAX, true))
		return config_schema_fail(&ps->s, kn,
		                          "name: \"%.*s\" is not 3-50 characters of a-z, 0-9 and "
		                          "'-' that neither start nor end with '-'",
		                          config_schema_quote_len(name), name.base);
	if (!valid_host(alias))
		return config_schema_fail(&ps->s, ka,
		                          "alias: \"%.*s\" is not dot-separated labels of 1-63 "
		                          "characters of a-z, 0-9 and '-' (not first or last), "
		                          "at most 253 in all",
		                          config_schema_quote_len(alias), alias.base);
	if (domain.base && !valid_host(domain))
		return config_schema_fail(&ps->s, kd,
		                          "domain: \"%.*s\" is not dot-separated labels of 1-63 "
		                          "characters of a-z, 0-9 and '-' (not first or last), "
		                          "at most 253 in all",
		                          config_schema_quote_len(domain), domain.base);
	if (domain.base && alias.len + 1 + domain.len > HOST_MAX)
		return config_schema_fail(&ps->s, kd,
		                          "domain: the host name <alias>.<domain> would be %zu "
		                          "bytes, more than %d",
		                          alias.len + 1 + domain.len, HOST_MAX);
	if (config_schema_dup2(&ps->s, IOV_NULL, name, &c->name) ||
	    config_schema_dup2(&ps->s, IOV_NULL, alias, &c->alias))
		return ps->s.rc;
	if (domain.base && config_schema_dup2(&ps->s, IOV_NULL, domain, &c->domain))
		return ps->s.rc;
	return 0;
}

/* Where each region's name and endpoint were, for duplicate messages. */
struct seen {
	struct yaml_tree_mark name_at[ROUTER_REGIONS_MAX];
	struct yaml_tree_mark endpoint_at[ROUTER_REGIONS_MAX];
	struct sockaddr_storage addr[ROUTER_REGIONS_MAX];
	unsigned addr_len[ROUTER_REGIONS_MAX];
};

/* Region `i`'s name and endpoint against regions 0..i-1. */
static int check_unique(struct parse *ps, struct seen *seen, uint32_t i,
                        const struct yaml_tree_node *kn, const struct yaml_tree_node *ke)
{
	const struct router_config_region *r = ps->c->region;
	for (uint32_t j = 0; j < i; j++) {
		struct yaml_tree_mark at = seen->name_at[j];
		if (strcmp(r[j].name, r[i].name) == 0)
			return config_schema_fail(&ps->s, kn,
			                          "duplicate region name \"%s\" (first at %u:%u)",
			                          r[i].name, at.line, at.col);
		if (r[j].id == r[i].id)
			return config_schema_fail(&ps->s, kn,
			                          "region \"%s\" has the same region id 0x%04x as "
			                          "\"%s\" (at %u:%u): rename one of them",
			                          r[i].name, r[i].id, r[j].name, at.line, at.col);
	}
	for (uint32_t j = 0; j < i; j++) {
		struct yaml_tree_mark at = seen->endpoint_at[j];
		if (seen->addr_len[j] == seen->addr_len[i] &&
		    memcmp(&seen->addr[j], &seen->addr[i], seen->addr_len[i]) == 0)
			return config_schema_fail(&ps->s, ke,
			                          "duplicate region endpoint \"%s\" (first at "
			                          "%u:%u as \"%s\")",
			                          r[i].endpoint, at.line, at.col, r[j].endpoint);
	}
	return 0;
}

/* The IP of an endpoint http_endpoint_addr accepted: "::1" of "[::1]:9001",
 * "10.0.0.1" of "10.0.0.1:80". */
static struct iov endpoint_ip(struct iov endpoint)
{
	if (endpoint.len && endpoint.base[0] == '[') {
		size_t close = 1;
		while (close < endpoint.len && endpoint.base[close] != ']')
			close++;
		return iov_sub(endpoint, 1, close - 1);
	}
	size_t colon = endpoint.len;
	while (colon > 0 && endpoint.base[colon - 1] != ':')
		colon--;
	return iov_sub(endpoint, 0, colon ? colon - 1 : endpoint.len);
}

/* protocol and server_name of region r (key nodes kp, ks; values IOV_NULL
 * when absent): r->https, r->server_name and, with a server_name, r->tls_name. */
static int read_protocol(struct parse *ps, struct router_config_region *r,
                         const struct yaml_tree_node *kp, struct iov protocol,
                         const struct yaml_tree_node *ks, struct iov server_name)
{
	if (protocol.base && iov_eq(protocol, IOV_LIT("https")))
		r->https = true;
	else if (protocol.base && !iov_eq(protocol, IOV_LIT("http")))
		return config_schema_fail(&ps->s, kp, "protocol: \"%.*s\" is not http or https",
		                          config_schema_quote_len(protocol), protocol.base);
	if (!server_name.base)
		return 0;
	if (!r->https)
		return config_schema_fail(&ps->s, ks,
		                          "server_name: only with protocol: https (a plain HTTP "
		                          "region has no certificate to check)");
	if (!valid_host(server_name))
		return config_schema_fail(&ps->s, ks,
		                          "server_name: \"%.*s\" is not a DNS name (dot-separated "
		                          "labels of 1-63 characters of a-z, 0-9 and '-', not "
		                          "first or last, at most 253 in all)",
		                          config_schema_quote_len(server_name), server_name.base);
	if (config_schema_dup2(&ps->s, IOV_NULL, server_name, &r->server_name) ||
	    config_schema_dup2(&ps->s, IOV_NULL, server_name, &r->tls_name))
		return ps->s.rc;
	return 0;
}

static int read_region(struct parse *ps, const struct yaml_tree_node *item, uint32_t i,
                       struct seen *seen)
{
	struct router_config_region *r = &ps->c->region[i];
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(&ps->s, item, "regions[%u]: expected a map, got %s", i,
		                          config_schema_kind_name(item));
	if (config_schema_keys(&ps->s, item, region_keys, N_ELEMS(region_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *kn = NULL, *ke = NULL, *kb = NULL, *kd = NULL;
	const struct yaml_tree_node *kp = NULL, *ks = NULL;
	struct iov name, endpoint, bucket, dial, protocol, server_name;
	config_schema_cstr(&ps->s, item, "name", CONFIG_REQUIRED, &name, &kn);
	config_schema_cstr(&ps->s, item, "endpoint", CONFIG_REQUIRED, &endpoint, &ke);
	config_schema_cstr(&ps->s, item, "bucket", CONFIG_REQUIRED, &bucket, &kb);
	config_schema_cstr(&ps->s, item, "dial", CONFIG_OPTIONAL, &dial, &kd);
	config_schema_cstr(&ps->s, item, "protocol", CONFIG_OPTIONAL, &protocol, &kp);
	if (config_schema_cstr(&ps->s, item, "server_name", CONFIG_OPTIONAL, &server_name, &ks))
		return ps->s.rc;
	if (!valid_word(name, 1, REGION_NAME_MAX, false))
		return config_schema_fail(
		    &ps->s, kn, "name: \"%.*s\" is not 1-32 characters of a-z, 0-9 and '-'",
		    config_schema_quote_len(name), name.base);
	if (http_endpoint_addr(endpoint, false, &seen->addr[i], &seen->addr_len[i]) != 0)
		return config_schema_fail(&ps->s, ke,
		                          "endpoint: \"%.*s\" is not ip:port or [ipv6]:port "
		                          "(numeric, port 1-65535)",
		                          config_schema_quote_len(endpoint), endpoint.base);
	if (!valid_bucket(bucket))
		return config_schema_fail(&ps->s, kb,
		                          "bucket: \"%.*s\" is not a bucket name (3-63 characters "
		                          "of a-z, 0-9, '.' and '-', a letter or digit first and "
		                          "last, no \"..\", not an IPv4 address)",
		                          config_schema_quote_len(bucket), bucket.base);
	r->dial = ROUTER_DIAL_ACTIVE;
	if (dial.base && iov_eq(dial, IOV_LIT("passive")))
		r->dial = ROUTER_DIAL_PASSIVE;
	else if (dial.base && !iov_eq(dial, IOV_LIT("active")))
		return config_schema_fail(&ps->s, kd, "dial: \"%.*s\" is not active or passive",
		                          config_schema_quote_len(dial), dial.base);
	if (read_protocol(ps, r, kp, protocol, ks, server_name))
		return ps->s.rc;
	if (config_schema_dup2(&ps->s, IOV_NULL, name, &r->name) ||
	    config_schema_dup2(&ps->s, IOV_NULL, endpoint, &r->endpoint) ||
	    config_schema_dup2(&ps->s, IOV_NULL, bucket, &r->bucket))
		return ps->s.rc;
	if (r->https && !server_name.base &&
	    config_schema_dup2(&ps->s, IOV_NULL, endpoint_ip(endpoint), &r->tls_name))
		return ps->s.rc;
	r->id = region_id(r->name);
	seen->name_at[i] = yaml_tree_mark(kn);
	seen->endpoint_at[i] = yaml_tree_mark(ke);
	return check_unique(ps, seen, i, kn, ke);
}

static int read_regions(struct parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, root, "regions", CONFIG_REQUIRED, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	const struct yaml_tree_node *k = config_schema_key(root, "regions");
	size_t n = yaml_tree_len(seq);
	if (n == 0 || n > ROUTER_REGIONS_MAX)
		return config_schema_fail(&ps->s, k, "regions: %zu regions; expected 1 to %d", n,
		                          ROUTER_REGIONS_MAX);
	struct seen seen;
	bool active = false;
	for (uint32_t i = 0; i < n; i++) {
		ps->c->nregions = i + 1; /* so router_config_free finds what region i owns */
		if (read_region(ps, yaml_tree_item(seq, i), i, &seen))
			return ps->s.rc;
		active |= ps->c->region[i].dial == ROUTER_DIAL_ACTIVE;
		ps->c->any_https |= ps->c->region[i].https;
	}
	if (!active)
		return config_schema_fail(&ps->s, k,
		                          "regions: no region is active (at least one needs "
		                          "dial: active)");
	return 0;
}

static int read_routing(struct parse *ps, const struct yaml_tree_node *root)
{
	struct router_config *c = ps->c;
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, root, "routing", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, routing_keys, N_ELEMS(routing_keys)))
		return ps->s.rc;
	uint64_t interval = c->probe_interval_ms, probe = c->probe_timeout_ms;
	uint64_t connect = c->connect_timeout_ms, first_byte = c->first_byte_timeout_ms;
	config_schema_duration(&ps->s, m, "probe_interval", CONFIG_OPTIONAL, PROBE_INTERVAL_MIN,
	                       PROBE_INTERVAL_MAX, &interval);
	config_schema_duration(&ps->s, m, "probe_timeout", CONFIG_OPTIONAL, TIMEOUT_MIN,
	                       TIMEOUT_MAX, &probe);
	config_schema_duration(&ps->s, m, "connect_timeout", CONFIG_OPTIONAL, TIMEOUT_MIN,
	                       TIMEOUT_MAX, &connect);
	config_schema_duration(&ps->s, m, "first_byte_timeout", CONFIG_OPTIONAL, TIMEOUT_MIN,
	                       FIRST_BYTE_TIMEOUT_MAX, &first_byte);
	config_schema_bool(&ps->s, m, "passive_fallback", CONFIG_OPTIONAL, &c->passive_fallback);
	config_schema_bool(&ps->s, m, "retry_404", CONFIG_OPTIONAL, &c->retry_404);
	if (ps->s.rc)
		return ps->s.rc;
	c->probe_interval_ms = (uint32_t)interval;
	c->probe_timeout_ms = (uint32_t)probe;
	c->connect_timeout_ms = (uint32_t)connect;
	c->first_byte_timeout_ms = (uint32_t)first_byte;
	return 0;
}

static int read_admin(struct parse *ps, const struct yaml_tree_node *root)
{
	struct router_config *c = ps->c;
	return http_admin_config_read(&ps->s, root, "the control API never runs", &c->admin_listen,
	                              &c->admin_credentials);
}

/* The shared tls: section (http/tls_config.h), and what only the router
 * can tell about it: upstream settings with no https region to use them. */
static int read_tls(struct parse *ps, const struct yaml_tree_node *root)
{
	struct router_config *c = ps->c;
	if (http_tls_config_read(&ps->s, root, &c->tls) || !c->tls.present || c->any_https)
		return ps->s.rc;
	const struct yaml_tree_node *m = yaml_tree_get(root, IOV_LIT("tls"), NULL);
	const char *key = c->tls.ca_file    ? "ca_file"
	                  : c->tls.insecure ? "insecure_skip_verify"
	                                    : NULL;
	if (key)
		return config_schema_fail(&ps->s, config_schema_key(m, key),
		                          "tls.%s: no region has protocol: https (it is for "
		                          "checking the stores' certificates)",
		                          key);
	return 0;
}

static void defaults(struct router_config *c)
{
	c->probe_interval_ms = ROUTER_CONFIG_PROBE_INTERVAL_MS;
	c->probe_timeout_ms = ROUTER_CONFIG_PROBE_TIMEOUT_MS;
	c->connect_timeout_ms = ROUTER_CONFIG_CONNECT_TIMEOUT_MS;
	c->first_byte_timeout_ms = ROUTER_CONFIG_FIRST_BYTE_TIMEOUT_MS;
	c->passive_fallback = true;
	c->retry_404 = true;
}

/* The whole schema over a parsed tree; takes the tree. */
static int from_tree(const char *path, struct yaml_tree *t, struct router_config *out, char *err,
                     size_t errcap)
{
	struct parse ps = { .path = path, .c = out };
	config_schema_init(&ps.s, t, err, errcap);
	defaults(out);
	const struct yaml_tree_node *root = yaml_tree_root(t);
	if (config_schema_map(&ps.s, root, "the router configuration") == 0 &&
	    config_schema_keys(&ps.s, root, top_keys, N_ELEMS(top_keys)) == 0 &&
	    read_access_point(&ps, root) == 0 && read_regions(&ps, root) == 0 &&
	    read_routing(&ps, root) == 0 && read_admin(&ps, root) == 0)
		read_tls(&ps, root);
	yaml_tree_free(t);
	if (ps.s.rc) {
		router_config_free(out);
		memset(out, 0, sizeof(*out));
	}
	return ps.s.rc;
}

int router_config_parse(const char *path, const char *p, size_t n, struct router_config *out,
                        char *err, size_t errcap)
{
	CHECK(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_parse(path, p, n, &t, err, errcap);
	if (rc)
		return rc;
	return from_tree(path, t, out, err, errcap);
}

int router_config_load(const char *path, struct router_config *out, char *err, size_t errcap)
{
	CHECK(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_load(path, &t, err, errcap);
	if (rc)
		return rc;
	return from_tree(path, t, out, err, errcap);
}

void router_config_free(struct router_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->alias);
	free(c->domain);
	for (uint32_t i = 0; i < c->nregions && i < ROUTER_REGIONS_MAX; i++) {
		free(c->region[i].name);
		free(c->region[i].endpoint);
		free(c->region[i].bucket);
		free(c->region[i].server_name);
		free(c->region[i].tls_name);
	}
	http_tls_config_free(&c->tls);
	free(c->admin_listen);
	free(c->admin_credentials);
	memset(c, 0, sizeof(*c));
}
