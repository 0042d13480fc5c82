/*
 * The edge's configuration file (rules in config.h): a yaml_tree read
 * through config/schema into a struct edge_config that owns its arrays and
 * strings. Startup thread only (edge_config_load reads a file, and
 * `credentials: env` reads the environment).
 */
#include "edge/config.h"
#include "edge/behavior.h"

#include <limits.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "http/admin.h"
#include "http/endpoint.h"
#include "http/tls_config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define REGION_NAME_MAX 32
#define ENV_VALUE_MAX   4096 /* bytes of one credential from the environment */

static const char *const top_keys[] = {
	"distribution", "origins", "origin_groups",   "behaviors", "signing",
	"cache",        "admin",   "function_limits", "tls",
};
static const char *const dist_keys[] = { "domain", "default_root_object", "id" };
static const char *const origin_keys[] = {
	"id",
	"domain_name",
	"address",
	"port",
	"protocol",
	"protocol_policy",
	"http_port",
	"https_port",
	"origin_path",
	"custom_headers",
	"connect_timeout",
	"read_timeout",
	"keepalive_timeout",
	"connection_attempts",
};
static const char *const group_keys[] = { "id", "members", "failover_statuses" };
static const char *const behavior_keys[] = {
	"path_pattern",
	"target",
	"allowed_methods",
	"cached_methods",
	"min_ttl",
	"default_ttl",
	"max_ttl",
	"cache_key",
	"signing",
	"signing_region",
	"compress",
	"functions",
	"viewer_protocol_policy",
};
const char *const edge_config_fn_events[EDGE_CONFIG_FN_EVENTS] = {
	"viewer-request",
	"origin-request",
	"origin-response",
	"viewer-response",
};
static const char *const fn_limit_keys[] = {
	"memory",
	"instructions",
	"viewer_timeout",
	"origin_timeout",
};
static const char *const cache_key_keys[] = { "query_strings", "headers" };
static const char *const signing_keys[] = { "credentials", "failover_header" };
static const char *const cache_keys[] = {
	"memory_bytes", "disk_path", "disk_bytes", "error_ttl", "not_found_ttl",
};

/* The statuses an origin group may fail over on (CloudFront's list), and
 * the ones it does when the file names none. */
static const uint16_t failover_allowed[EDGE_CONFIG_FAILOVER_STATUSES] = {
	400, 403, 404, 416, 500, 502, 503, 504,
};
static const uint16_t failover_default[] = { 500, 502, 503, 504 };

static const struct {
	const char *name;
	uint32_t bit;
} methods[] = {
	{ "GET", EDGE_CONFIG_GET },         { "HEAD", EDGE_CONFIG_HEAD },
	{ "OPTIONS", EDGE_CONFIG_OPTIONS }, { "PUT", EDGE_CONFIG_PUT },
	{ "PATCH", EDGE_CONFIG_PATCH },     { "POST", EDGE_CONFIG_POST },
	{ "DELETE", EDGE_CONFIG_DELETE },
};

/* Custom headers an origin may not carry (CloudFront's deny list): the
 * edge sets, forwards or signs these itself. */
static const char *const denied_headers[] = {
	"Cache-Control",
	"Connection",
	"Content-Length",
	"Cookie",
	"Host",
	"If-Match",
	"If-Modified-Since",
	"If-None-Match",
	"If-Range",
	"If-Unmodified-Since",
	"Max-Forwards",
	"Pragma",
	"Proxy-Authorization",
	"Proxy-Connection",
	"Range",
	"Request-Range",
	"TE",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
	"Via",
	"X-Real-Ip",
};
static const char *const denied_prefixes[] = { "X-Amz-", "X-Edge-" };

struct parse {
	struct config_schema s;
	const char *path;
	struct edge_config *c;
	/* Where each origin's and group's id was, for duplicates. */
	const struct yaml_tree_node *origin_id_at[EDGE_CONFIG_ORIGINS_MAX];
	const struct yaml_tree_node *group_id_at[EDGE_CONFIG_GROUPS_MAX];
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* An RFC 9110 token character (header names). */
static bool is_tchar(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool valid_token(struct iov v, size_t max)
{
	if (v.len == 0 || v.len > max)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!is_tchar(v.base[i]))
			return false;
	return true;
}

/* Ids: 1..EDGE_CONFIG_ID_MAX of A-Z a-z 0-9 '-' '_' '.'. */
static bool valid_id(struct iov v)
{
	if (v.len == 0 || v.len > EDGE_CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!is_alnum(v.base[i]) && v.base[i] != '-' && v.base[i] != '_' &&
		    v.base[i] != '.')
			return false;
	return true;
}

/* A character of a URL path as CloudFront allows it in path patterns and
 * object names (plus '%' for escapes). */
static bool is_path_char(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("_-.*$/~\"'@:+&%", c) != NULL);
}

/* A zeroed array of n elements of `size` (NULL for n == 0). */
static int alloc_array(struct parse *ps, size_t n, size_t size, void **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	void *p = calloc(n, size);
	if (!p)
		return config_schema_nomem(&ps->s);
	*out = p;
	return 0;
}

/* Item `i` of the sequence under key node `k` as an untagged scalar
 * (errors at the item); IOV_NULL on error. */
static struct iov seq_scalar(struct parse *ps, const struct yaml_tree_node *seq, size_t i,
                             const char *key)
{
	const struct yaml_tree_node *it = yaml_tree_item(seq, i);
	if (yaml_tree_kind(it) != YAML_TREE_SCALAR || yaml_tree_tag(it) != YAML_TREE_TAG_NONE) {
		config_schema_fail(&ps->s, it, "%s[%zu]: expected a plain scalar, got %s", key, i,
		                   yaml_tree_kind(it) == YAML_TREE_SCALAR
		                       ? "a tagged value"
		                       : config_schema_kind_name(it));
		return IOV_NULL;
	}
	return yaml_tree_scalar(it);
}

/* A duration in whole seconds, lo..hi seconds, into *out (untouched when
 * absent). */
static int read_seconds(struct parse *ps, const struct yaml_tree_node *map, const char *key,
                        uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t ms = UINT64_MAX;
	if (config_schema_duration(&ps->s, map, key, CONFIG_OPTIONAL, lo * 1000, hi * 1000, &ms) ||
	    ms == UINT64_MAX)
		return ps->s.rc;
	if (ms % 1000 != 0)
		return config_schema_fail(&ps->s, config_schema_key(map, key),
		                          "%s: must be whole seconds (like 0s, 30s, 24h)", key);
	*out = ms / 1000;
	return 0;
}

/* ---- distribution ---- */

/* An object path without the leading '/' (default root object). */
static bool valid_object(struct iov v)
{
	if (v.len == 0 || v.len > EDGE_CONFIG_ROOT_OBJECT_MAX || v.base[0] == '/')
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!is_path_char(v.base[i]) || v.base[i] == '*')
			return false;
	return true;
}

static bool valid_dist_id(struct iov v)
{
	if (v.len == 0 || v.len > EDGE_CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!isalnum((unsigned char)v.base[i]))
			return false;
	return true;
}

static int read_distribution(struct parse *ps, const struct yaml_tree_node *root)
{
	struct edge_config *c = ps->c;
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, root, "distribution", CONFIG_REQUIRED, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, dist_keys, N_ELEMS(dist_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *kd = NULL, *kr = NULL, *ki = NULL;
	struct iov domain, root_object, id;
	config_schema_cstr(&ps->s, m, "domain", CONFIG_REQUIRED, &domain, &kd);
	config_schema_cstr(&ps->s, m, "id", CONFIG_OPTIONAL, &id, &ki);
	if (config_schema_cstr(&ps->s, m, "default_root_object", CONFIG_OPTIONAL, &root_object,
	                       &kr))
		return ps->s.rc;
	if (!http_endpoint_dns_name(domain))
		return config_schema_fail(&ps->s, kd,
		                          "domain: \"%.*s\" is not a host name (dot-separated "
		                          "labels of 1-63 letters, digits and '-', at most 253)",
		                          config_schema_quote_len(domain), domain.base);
	if (root_object.base && !valid_object(root_object))
		return config_schema_fail(
		    &ps->s, kr,
		    "default_root_object: \"%.*s\" is not an object name (1-255 "
		    "URL path characters, no leading '/', no '*')",
		    config_schema_quote_len(root_object), root_object.base);
	if (id.base && !valid_dist_id(id))
		return config_schema_fail(&ps->s, ki,
		                          "id: \"%.*s\" is not a distribution id (1-%d letters "
		                          "and digits)",
		                          config_schema_quote_len(id), id.base, EDGE_CONFIG_ID_MAX);
	if (!id.base) { /* the domain's first label, as CloudFront's d1234.cloudfront.net */
		const char *dot = memchr(domain.base, '.', domain.len);
		id = iov_make(domain.base, dot ? (size_t)(dot - domain.base) : domain.len);
	}
	if (config_schema_dup2(&ps->s, IOV_NULL, domain, &c->domain) ||
	    config_schema_dup2(&ps->s, IOV_NULL, id, &c->id))
		return ps->s.rc;
	if (root_object.base &&
	    config_schema_dup2(&ps->s, IOV_NULL, root_object, &c->default_root_object))
		return ps->s.rc;
	return 0;
}

/* ---- origins ---- */

static bool denied_header(struct iov name)
{
	for (size_t i = 0; i < N_ELEMS(denied_headers); i++)
		if (iov_eq_nocase(name, iov_cstr(denied_headers[i])))
			return true;
	for (size_t i = 0; i < N_ELEMS(denied_prefixes); i++) {
		struct iov p = iov_cstr(denied_prefixes[i]);
		if (name.len >= p.len && iov_eq_nocase(iov_sub(name, 0, p.len), p))
			return true;
	}
	return false;
}

/* Visible ASCII, SP and HT; no leading or trailing whitespace. */
static bool valid_header_value(struct iov v)
{
	if (v.len > EDGE_CONFIG_HEADER_VALUE_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.base[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return v.len == 0 || (v.base[0] != ' ' && v.base[0] != '\t' && v.base[v.len - 1] != ' ' &&
	                      v.base[v.len - 1] != '\t');
}

static int read_custom_headers(struct parse *ps, const struct yaml_tree_node *item,
                               struct edge_config_origin *o)
{
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, item, "custom_headers", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m)
		return ps->s.rc;
	size_t n = yaml_tree_len(m);
	if (n > EDGE_CONFIG_HEADERS_MAX)
		return config_schema_fail(&ps->s, config_schema_key(item, "custom_headers"),
		                          "custom_headers: %zu headers; at most %d", n,
		                          EDGE_CONFIG_HEADERS_MAX);
	if (alloc_array(ps, n, sizeof(o->header[0]), (void **)&o->header))
		return ps->s.rc;
	for (size_t i = 0; i < n; i++) {
		const struct yaml_tree_node *k = yaml_tree_key(m, i), *v = yaml_tree_value(m, i);
		struct iov name = yaml_tree_scalar(k);
		if (!valid_token(name, EDGE_CONFIG_HEADER_NAME_MAX))
			return config_schema_fail(&ps->s, k,
			                          "custom_headers: \"%.*s\" is not a header name "
			                          "(1-256 token characters)",
			                          config_schema_quote_len(name), name.base);
		if (denied_header(name))
			return config_schema_fail(&ps->s, k,
			                          "custom_headers: %.*s is set by the edge itself "
			                          "and cannot be a custom header",
			                          config_schema_quote_len(name), name.base);
		for (size_t j = 0; j < i; j++)
			if (iov_eq_nocase(name, iov_cstr(o->header[j].name)))
				return config_schema_fail(&ps->s, k,
				                          "custom_headers: %.*s appears twice "
				                          "(names ignore case)",
				                          config_schema_quote_len(name), name.base);
		if (yaml_tree_kind(v) != YAML_TREE_SCALAR || yaml_tree_tag(v) != YAML_TREE_TAG_NONE)
			return config_schema_fail(&ps->s, k,
			                          "custom_headers: %.*s: expected a plain string",
			                          config_schema_quote_len(name), name.base);
		struct iov value = yaml_tree_scalar(v);
		if (!valid_header_value(value))
			return config_schema_fail(
			    &ps->s, k,
			    "custom_headers: %.*s: the value must be at most "
			    "1783 bytes of visible characters, spaces and tabs, "
			    "not starting or ending with a space",
			    config_schema_quote_len(name), name.base);
		if (config_schema_dup2(&ps->s, IOV_NULL, name, &o->header[i].name) ||
		    config_schema_dup2(&ps->s, IOV_NULL, value, &o->header[i].value))
			return ps->s.rc;
		o->nheaders = (uint32_t)i + 1;
	}
	return 0;
}

/* "/a/b": '/' first, not last, URL path characters, no '*'. */
static bool valid_origin_path(struct iov v)
{
	if (v.len < 2 || v.len > EDGE_CONFIG_ORIGIN_PATH_MAX || v.base[0] != '/' ||
	    v.base[v.len - 1] == '/')
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!is_path_char(v.base[i]) || v.base[i] == '*')
			return false;
	return true;
}

static int read_origin_timeouts(struct parse *ps, const struct yaml_tree_node *item,
                                struct edge_config_origin *o)
{
	uint64_t connect = EDGE_CONFIG_CONNECT_TIMEOUT_MS, rd = EDGE_CONFIG_READ_TIMEOUT_MS;
	uint64_t keepalive = EDGE_CONFIG_KEEPALIVE_MS, attempts = EDGE_CONFIG_ATTEMPTS;
	config_schema_duration(&ps->s, item, "connect_timeout", CONFIG_OPTIONAL,
	                       EDGE_CONFIG_CONNECT_TIMEOUT_MIN, EDGE_CONFIG_CONNECT_TIMEOUT_MAX,
	                       &connect);
	config_schema_duration(&ps->s, item, "read_timeout", CONFIG_OPTIONAL,
	                       EDGE_CONFIG_READ_TIMEOUT_MIN, EDGE_CONFIG_READ_TIMEOUT_MAX, &rd);
	config_schema_duration(&ps->s, item, "keepalive_timeout", CONFIG_OPTIONAL,
	                       EDGE_CONFIG_KEEPALIVE_MIN, EDGE_CONFIG_KEEPALIVE_MAX, &keepalive);
	config_schema_u64(&ps->s, item, "connection_attempts", CONFIG_OPTIONAL, 1,
	                  EDGE_CONFIG_ATTEMPTS_MAX, &attempts);
	if (ps->s.rc)
		return ps->s.rc;
	o->connect_timeout_ms = (uint32_t)connect;
	o->read_timeout_ms = (uint32_t)rd;
	o->keepalive_timeout_ms = (uint32_t)keepalive;
	o->connection_attempts = (uint32_t)attempts;
	return 0;
}

/* "ip:port" / "[ipv6]:port", or the IP alone ("ip" / "[ipv6]"): *host
 * the IP as written (brackets kept), *port the port or 0. */
static bool parse_address(struct iov v, struct iov *host, uint16_t *port)
{
	if (v.len == 0 || v.len > HTTP_ENDPOINT_ADDR_MAX)
		return false;
	bool bare =
	    v.base[0] == '[' ? v.base[v.len - 1] == ']' : memchr(v.base, ':', v.len) == NULL;
	if (bare) {
		char tmp[HTTP_ENDPOINT_ADDR_MAX + 2];
		memcpy(tmp, v.base, v.len);
		memcpy(tmp + v.len, ":1", 2);
		if (http_endpoint_addr(iov_make(tmp, v.len + 2), false, NULL, NULL) != 0)
			return false;
		*host = v;
		*port = 0;
		return true;
	}
	if (http_endpoint_addr(v, false, NULL, NULL) != 0)
		return false;
	size_t colon = v.len;
	while (colon > 0 && v.base[colon - 1] != ':')
		colon--;
	unsigned long long p = 0;
	if (colon == 0 || iov_to_u64(iov_sub(v, colon, v.len - colon), 65535, &p) != 0 || p == 0)
		return false;
	*host = iov_sub(v, 0, colon - 1);
	*port = (uint16_t)p;
	return true;
}

/* The key node of `key` in map, or NULL when it is absent. */
static const struct yaml_tree_node *key_if(const struct yaml_tree_node *map, const char *key)
{
	return yaml_tree_get(map, iov_cstr(key), NULL) ? config_schema_key(map, key) : NULL;
}

static const char *const policy_names[] = { NULL, "http-only", "https-only", "match-viewer" };

/* The protocol keys: protocol_policy (or the old protocol), http_port (or
 * the old port), https_port; contradictions refused at the later key. */
static int read_origin_protocol(struct parse *ps, const struct yaml_tree_node *item,
                                const struct yaml_tree_node *ka, struct edge_config_origin *o)
{
	const struct yaml_tree_node *kp = NULL, *kpp = NULL;
	struct iov proto, policy;
	uint64_t port = EDGE_CONFIG_PORT, http_port = EDGE_CONFIG_PORT;
	uint64_t https_port = EDGE_CONFIG_HTTPS_PORT;
	config_schema_u64(&ps->s, item, "port", CONFIG_OPTIONAL, 1, 65535, &port);
	config_schema_u64(&ps->s, item, "http_port", CONFIG_OPTIONAL, 1, 65535, &http_port);
	config_schema_u64(&ps->s, item, "https_port", CONFIG_OPTIONAL, 1, 65535, &https_port);
	config_schema_cstr(&ps->s, item, "protocol", CONFIG_OPTIONAL, &proto, &kp);
	if (config_schema_cstr(&ps->s, item, "protocol_policy", CONFIG_OPTIONAL, &policy, &kpp))
		return ps->s.rc;
	const struct yaml_tree_node *kport = key_if(item, "port");
	const struct yaml_tree_node *khttp = key_if(item, "http_port");
	const struct yaml_tree_node *khttps = key_if(item, "https_port");
	enum edge_config_protocol old = 0, pol = 0;
	if (proto.base) {
		if (iov_eq(proto, IOV_LIT("http")))
			old = EDGE_CONFIG_PROTO_HTTP_ONLY;
		else if (iov_eq(proto, IOV_LIT("https")))
			old = EDGE_CONFIG_PROTO_HTTPS_ONLY;
		else
			return config_schema_fail(&ps->s, kp,
			                          "protocol: \"%.*s\" is not http or https (see "
			                          "protocol_policy)",
			                          config_schema_quote_len(proto), proto.base);
	}
	if (policy.base) {
		for (int k = EDGE_CONFIG_PROTO_HTTP_ONLY; k <= EDGE_CONFIG_PROTO_MATCH_VIEWER; k++)
			if (iov_eq(policy, iov_cstr(policy_names[k])))
				pol = (enum edge_config_protocol)k;
		if (!pol)
			return config_schema_fail(&ps->s, kpp,
			                          "protocol_policy: \"%.*s\" is not http-only, "
			                          "https-only or match-viewer",
			                          config_schema_quote_len(policy), policy.base);
		if (old && old != pol)
			return config_schema_fail(
			    &ps->s, kpp,
			    "protocol_policy: %s contradicts protocol: %.*s (the old key: "
			    "protocol: %.*s means %s); keep protocol_policy alone",
			    policy_names[pol], (int)proto.len, proto.base, (int)proto.len,
			    proto.base, policy_names[old]);
	}
	if (!pol)
		pol = old ? old : EDGE_CONFIG_PROTO_HTTP_ONLY;
	if (kport && khttp)
		return config_schema_fail(&ps->s, khttp,
		                          "http_port: port is the old name of http_port; give one "
		                          "of them");
	if (pol == EDGE_CONFIG_PROTO_HTTP_ONLY && khttps)
		return config_schema_fail(&ps->s, khttps,
		                          "https_port: an http-only origin never uses HTTPS "
		                          "(protocol_policy: https-only or match-viewer would)");
	if (pol == EDGE_CONFIG_PROTO_HTTPS_ONLY && (kport || khttp))
		return config_schema_fail(&ps->s, khttp ? khttp : kport,
		                          "%s: an https-only origin never uses HTTP; it connects "
		                          "to https_port",
		                          khttp ? "http_port" : "port");
	if (pol == EDGE_CONFIG_PROTO_HTTPS_ONLY && o->address_port)
		return config_schema_fail(&ps->s, ka,
		                          "address: \"%s\" has a port, which is HTTP's, and an "
		                          "https-only origin never uses HTTP: give the IP alone "
		                          "and https_port",
		                          o->address);
	o->protocol_policy = pol;
	o->http_port = (uint16_t)(kport ? port : http_port);
	o->https_port = (uint16_t)https_port;
	return 0;
}

static int read_origin(struct parse *ps, const struct yaml_tree_node *item, uint32_t i)
{
	struct edge_config_origin *o = &ps->c->origin[i];
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(&ps->s, item, "origins[%u]: expected a map, got %s", i,
		                          config_schema_kind_name(item));
	if (config_schema_keys(&ps->s, item, origin_keys, N_ELEMS(origin_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *ki = NULL, *kd = NULL, *ka = NULL, *kpath = NULL;
	struct iov id, domain, address, opath, host = IOV_NULL;
	config_schema_cstr(&ps->s, item, "id", CONFIG_REQUIRED, &id, &ki);
	config_schema_cstr(&ps->s, item, "domain_name", CONFIG_REQUIRED, &domain, &kd);
	config_schema_cstr(&ps->s, item, "address", CONFIG_OPTIONAL, &address, &ka);
	if (config_schema_cstr(&ps->s, item, "origin_path", CONFIG_OPTIONAL, &opath, &kpath))
		return ps->s.rc;
	if (!valid_id(id))
		return config_schema_fail(
		    &ps->s, ki,
		    "id: \"%.*s\" is not 1-128 characters of letters, digits, "
		    "'-', '_' and '.'",
		    config_schema_quote_len(id), id.base);
	if (!http_endpoint_dns_name(domain))
		return config_schema_fail(&ps->s, kd,
		                          "domain_name: \"%.*s\" is not a host name (dot-separated "
		                          "labels of 1-63 letters, digits and '-', at most 253; no "
		                          "port: see http_port, https_port and address)",
		                          config_schema_quote_len(domain), domain.base);
	if (address.base && !parse_address(address, &host, &o->address_port))
		return config_schema_fail(&ps->s, ka,
		                          "address: \"%.*s\" is not ip:port, [ipv6]:port or the IP "
		                          "alone (numeric, port 1-65535)",
		                          config_schema_quote_len(address), address.base);
	if (opath.base && !valid_origin_path(opath))
		return config_schema_fail(&ps->s, kpath,
		                          "origin_path: \"%.*s\" must start with '/', not end with "
		                          "'/', and be at most 255 URL path characters without '*'",
		                          config_schema_quote_len(opath), opath.base);
	if (config_schema_dup2(&ps->s, IOV_NULL, id, &o->id) ||
	    config_schema_dup2(&ps->s, IOV_NULL, domain, &o->domain_name) ||
	    config_schema_dup2(&ps->s, IOV_NULL, address.base ? host : domain, &o->connect_host))
		return ps->s.rc;
	if (address.base && config_schema_dup2(&ps->s, IOV_NULL, address, &o->address))
		return ps->s.rc;
	if (opath.base && config_schema_dup2(&ps->s, IOV_NULL, opath, &o->origin_path))
		return ps->s.rc;
	ps->origin_id_at[i] = ki;
	if (read_origin_protocol(ps, item, ka, o) || read_origin_timeouts(ps, item, o))
		return ps->s.rc;
	return read_custom_headers(ps, item, o);
}

static int read_origins(struct parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, root, "origins", CONFIG_REQUIRED, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	size_t n = yaml_tree_len(seq);
	if (n == 0 || n > EDGE_CONFIG_ORIGINS_MAX)
		return config_schema_fail(&ps->s, config_schema_key(root, "origins"),
		                          "origins: %zu origins; expected 1 to %d", n,
		                          EDGE_CONFIG_ORIGINS_MAX);
	if (alloc_array(ps, n, sizeof(ps->c->origin[0]), (void **)&ps->c->origin))
		return ps->s.rc;
	for (uint32_t i = 0; i < n; i++) {
		ps->c->norigins = i + 1; /* so edge_config_free finds what origin i owns */
		if (read_origin(ps, yaml_tree_item(seq, i), i))
			return ps->s.rc;
		for (uint32_t j = 0; j < i; j++) {
			struct yaml_tree_mark at = yaml_tree_mark(ps->origin_id_at[j]);
			if (strcmp(ps->c->origin[j].id, ps->c->origin[i].id) == 0)
				return config_schema_fail(
				    &ps->s, ps->origin_id_at[i],
				    "duplicate origin id \"%s\" (first at %u:%u)",
				    ps->c->origin[i].id, at.line, at.col);
		}
	}
	return 0;
}

/* ---- signing ---- */

/* An environment variable for `credentials: env`: set, not empty, at most
 * ENV_VALUE_MAX bytes, no whitespace or control characters. */
static int read_env(struct parse *ps, const struct yaml_tree_node *k, const char *var,
                    bool required, char **out)
{
	const char *v = getenv(var);
	if (!v || !*v) {
		if (!required)
			return 0;
		return config_schema_fail(&ps->s, k, "credentials: env, but %s is not set", var);
	}
	size_t n = strnlen(v, ENV_VALUE_MAX + 1);
	if (n > ENV_VALUE_MAX)
		return config_schema_fail(&ps->s, k, "credentials: %s is over %d bytes", var,
		                          ENV_VALUE_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] == 0x7f)
			return config_schema_fail(&ps->s, k,
			                          "credentials: %s holds whitespace or a control "
			                          "character",
			                          var);
	return config_schema_dup2(&ps->s, IOV_NULL, iov_make(v, n), out);
}

static int read_signing(struct parse *ps, const struct yaml_tree_node *root)
{
	struct edge_config_signing_creds *g = &ps->c->signing;
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, root, "signing", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (ps->s.rc || (m && config_schema_keys(&ps->s, m, signing_keys, N_ELEMS(signing_keys))))
		return ps->s.rc;
	struct iov cred = IOV_NULL, header = IOV_LIT(EDGE_CONFIG_FAILOVER_HEADER);
	const struct yaml_tree_node *kc = NULL, *kh = NULL;
	if (m) {
		config_schema_cstr(&ps->s, m, "credentials", CONFIG_REQUIRED, &cred, &kc);
		if (config_schema_cstr(&ps->s, m, "failover_header", CONFIG_OPTIONAL, &header, &kh))
			return ps->s.rc;
		if (!header.base)
			header = IOV_LIT(EDGE_CONFIG_FAILOVER_HEADER);
	}
	if (kh && !valid_token(header, EDGE_CONFIG_HEADER_NAME_MAX))
		return config_schema_fail(&ps->s, kh,
		                          "failover_header: \"%.*s\" is not a header name (1-256 "
		                          "token characters)",
		                          config_schema_quote_len(header), header.base);
	if (config_schema_dup2(&ps->s, IOV_NULL, header, &g->failover_header))
		return ps->s.rc;
	if (!m)
		return 0;
	if (iov_eq(cred, IOV_LIT("env"))) {
		g->source = EDGE_CONFIG_CREDS_ENV;
		if (read_env(ps, kc, "AWS_ACCESS_KEY_ID", true, &g->access_key) ||
		    read_env(ps, kc, "AWS_SECRET_ACCESS_KEY", true, &g->secret_key) ||
		    read_env(ps, kc, "AWS_SESSION_TOKEN", false, &g->session_token))
			return ps->s.rc;
		return 0;
	}
	g->source = EDGE_CONFIG_CREDS_FILE;
	return config_schema_path(&ps->s, kc, "credentials", cred, &g->credentials_path);
}

/* Mark the origins that carry the failover header. */
static void mark_failover(struct edge_config *c)
{
	struct iov h = iov_cstr(c->signing.failover_header);
	for (uint32_t i = 0; i < c->norigins; i++)
		for (uint32_t j = 0; j < c->origin[i].nheaders; j++)
			if (iov_eq_nocase(iov_cstr(c->origin[i].header[j].name), h))
				c->origin[i].failover = true;
}

/* ---- origin groups ---- */

static int find_origin(const struct edge_config *c, struct iov id, uint32_t *out)
{
	for (uint32_t i = 0; i < c->norigins; i++)
		if (iov_eq(id, iov_cstr(c->origin[i].id))) {
			*out = i;
			return 0;
		}
	return ERR_NOT_FOUND;
}

static int find_group(const struct edge_config *c, struct iov id, uint32_t *out)
{
	for (uint32_t i = 0; i < c->ngroups; i++)
		if (c->group[i].id && iov_eq(id, iov_cstr(c->group[i].id))) {
			*out = i;
			return 0;
		}
	return ERR_NOT_FOUND;
}

static int read_members(struct parse *ps, const struct yaml_tree_node *item,
                        const struct yaml_tree_node *groups, struct edge_config_group *g)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, item, "members", CONFIG_REQUIRED, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	const struct yaml_tree_node *k = config_schema_key(item, "members");
	size_t n = yaml_tree_len(seq);
	if (n < 2 || n > EDGE_CONFIG_MEMBERS_MAX)
		return config_schema_fail(&ps->s, k, "members: %zu members; expected 2 to %d", n,
		                          EDGE_CONFIG_MEMBERS_MAX);
	if (alloc_array(ps, n, sizeof(g->member[0]), (void **)&g->member))
		return ps->s.rc;
	for (size_t i = 0; i < n; i++) {
		struct iov id = seq_scalar(ps, seq, i, "members");
		if (!id.base)
			return ps->s.rc;
		const struct yaml_tree_node *at = yaml_tree_item(seq, i);
		uint32_t o;
		if (find_origin(ps->c, id, &o) != 0) {
			/* A group id (this file's groups, read or not) means nesting. */
			for (size_t j = 0; j < yaml_tree_len(groups); j++) {
				const struct yaml_tree_node *gi = yaml_tree_item(groups, j);
				const struct yaml_tree_node *gid =
				    yaml_tree_kind(gi) == YAML_TREE_MAP
				        ? yaml_tree_get(gi, IOV_LIT("id"), NULL)
				        : NULL;
				if (gid && yaml_tree_kind(gid) == YAML_TREE_SCALAR &&
				    iov_eq(yaml_tree_scalar(gid), id))
					return config_schema_fail(
					    &ps->s, at,
					    "members: \"%.*s\" is an origin group; "
					    "groups cannot be nested",
					    config_schema_quote_len(id), id.base);
			}
			return config_schema_fail(&ps->s, at,
			                          "members: no origin has the id \"%.*s\"",
			                          config_schema_quote_len(id), id.base);
		}
		for (size_t j = 0; j < i; j++)
			if (g->member[j] == o)
				return config_schema_fail(&ps->s, at,
				                          "members: \"%.*s\" is listed twice",
				                          config_schema_quote_len(id), id.base);
		g->member[i] = o;
		g->nmembers = (uint32_t)i + 1;
	}
	return 0;
}

static int read_statuses(struct parse *ps, const struct yaml_tree_node *item,
                         struct edge_config_group *g)
{
	const struct yaml_tree_node *seq = config_schema_section(&ps->s, item, "failover_statuses",
	                                                         CONFIG_OPTIONAL, YAML_TREE_SEQ);
	if (ps->s.rc)
		return ps->s.rc;
	if (!seq) {
		g->nstatuses = N_ELEMS(failover_default);
		memcpy(g->status, failover_default, sizeof(failover_default));
		return 0;
	}
	size_t n = yaml_tree_len(seq);
	if (n == 0)
		return config_schema_fail(&ps->s, config_schema_key(item, "failover_statuses"),
		                          "failover_statuses: must list at least one status");
	bool seen[EDGE_CONFIG_FAILOVER_STATUSES] = { false };
	for (size_t i = 0; i < n; i++) {
		struct iov v = seq_scalar(ps, seq, i, "failover_statuses");
		if (!v.base)
			return ps->s.rc;
		unsigned long long st = 0;
		size_t j = EDGE_CONFIG_FAILOVER_STATUSES;
		if (iov_to_u64(v, 999, &st) == 0)
			for (j = 0; j < EDGE_CONFIG_FAILOVER_STATUSES; j++)
				if (failover_allowed[j] == st)
					break;
		const struct yaml_tree_node *at = yaml_tree_item(seq, i);
		if (j == EDGE_CONFIG_FAILOVER_STATUSES)
			return config_schema_fail(
			    &ps->s, at,
			    "failover_statuses: \"%.*s\" is not one of 400, 403, "
			    "404, 416, 500, 502, 503, 504",
			    config_schema_quote_len(v), v.base);
		if (seen[j])
			return config_schema_fail(&ps->s, at,
			                          "failover_statuses: %llu is listed twice", st);
		seen[j] = true;
	}
	for (size_t j = 0; j < EDGE_CONFIG_FAILOVER_STATUSES; j++)
		if (seen[j])
			g->status[g->nstatuses++] = failover_allowed[j];
	return 0;
}

/* Whether `id` (the key node at `k`) repeats an origin or an earlier group. */
static int check_group_id(struct parse *ps, uint32_t i, const struct yaml_tree_node *k)
{
	const char *id = ps->c->group[i].id;
	for (uint32_t j = 0; j < ps->c->norigins; j++) {
		struct yaml_tree_mark at = yaml_tree_mark(ps->origin_id_at[j]);
		if (strcmp(ps->c->origin[j].id, id) == 0)
			return config_schema_fail(
			    &ps->s, k,
			    "duplicate id \"%s\": origin %u:%u has it already "
			    "(origins and groups share one namespace)",
			    id, at.line, at.col);
	}
	for (uint32_t j = 0; j < i; j++) {
		struct yaml_tree_mark at = yaml_tree_mark(ps->group_id_at[j]);
		if (strcmp(ps->c->group[j].id, id) == 0)
			return config_schema_fail(
			    &ps->s, k, "duplicate origin group id \"%s\" (first at %u:%u)", id,
			    at.line, at.col);
	}
	return 0;
}

static int read_group(struct parse *ps, const struct yaml_tree_node *groups, uint32_t i)
{
	const struct yaml_tree_node *item = yaml_tree_item(groups, i);
	struct edge_config_group *g = &ps->c->group[i];
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(&ps->s, item, "origin_groups[%u]: expected a map, got %s",
		                          i, config_schema_kind_name(item));
	if (config_schema_keys(&ps->s, item, group_keys, N_ELEMS(group_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *ki = NULL;
	struct iov id;
	if (config_schema_cstr(&ps->s, item, "id", CONFIG_REQUIRED, &id, &ki))
		return ps->s.rc;
	if (!valid_id(id))
		return config_schema_fail(
		    &ps->s, ki,
		    "id: \"%.*s\" is not 1-128 characters of letters, digits, "
		    "'-', '_' and '.'",
		    config_schema_quote_len(id), id.base);
	if (config_schema_dup2(&ps->s, IOV_NULL, id, &g->id))
		return ps->s.rc;
	ps->group_id_at[i] = ki;
	if (check_group_id(ps, i, ki) || read_members(ps, item, groups, g))
		return ps->s.rc;
	return read_statuses(ps, item, g);
}

static int read_groups(struct parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, root, "origin_groups", CONFIG_OPTIONAL, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	size_t n = yaml_tree_len(seq);
	if (n > EDGE_CONFIG_GROUPS_MAX)
		return config_schema_fail(&ps->s, config_schema_key(root, "origin_groups"),
		                          "origin_groups: %zu groups; at most %d", n,
		                          EDGE_CONFIG_GROUPS_MAX);
	if (alloc_array(ps, n, sizeof(ps->c->group[0]), (void **)&ps->c->group))
		return ps->s.rc;
	for (uint32_t i = 0; i < n; i++) {
		ps->c->ngroups = i + 1;
		if (read_group(ps, seq, i))
			return ps->s.rc;
	}
	return 0;
}

/* ---- behaviors ---- */

static bool valid_pattern(struct iov v)
{
	if (v.len == 0 || v.len > EDGE_CONFIG_PATH_PATTERN_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!is_path_char(v.base[i]) && v.base[i] != '?')
			return false;
	return true;
}

/* The pattern without one leading '/' (CloudFront treats both alike). */
static struct iov pattern_body(struct iov v)
{
	return v.len && v.base[0] == '/' ? iov_sub(v, 1, v.len - 1) : v;
}

/* A method list into bits; *out untouched when absent. */
static int read_methods(struct parse *ps, const struct yaml_tree_node *item, const char *key,
                        uint32_t *out)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, item, key, CONFIG_OPTIONAL, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	uint32_t bits = 0;
	for (size_t i = 0; i < yaml_tree_len(seq); i++) {
		struct iov v = seq_scalar(ps, seq, i, key);
		if (!v.base)
			return ps->s.rc;
		size_t j = 0;
		while (j < N_ELEMS(methods) && !iov_eq(v, iov_cstr(methods[j].name)))
			j++;
		const struct yaml_tree_node *at = yaml_tree_item(seq, i);
		if (j == N_ELEMS(methods))
			return config_schema_fail(
			    &ps->s, at,
			    "%s: \"%.*s\" is not a method (GET, HEAD, OPTIONS, "
			    "PUT, PATCH, POST or DELETE, in capitals)",
			    key, config_schema_quote_len(v), v.base);
		if (bits & methods[j].bit)
			return config_schema_fail(&ps->s, at, "%s: %s is listed twice", key,
			                          methods[j].name);
		bits |= methods[j].bit;
	}
	*out = bits;
	return 0;
}

static int read_method_sets(struct parse *ps, const struct yaml_tree_node *item,
                            struct edge_config_behavior *b)
{
	b->allowed_methods = EDGE_CONFIG_METHODS_GET_HEAD;
	b->cached_methods = EDGE_CONFIG_METHODS_GET_HEAD;
	if (read_methods(ps, item, "allowed_methods", &b->allowed_methods) ||
	    read_methods(ps, item, "cached_methods", &b->cached_methods))
		return ps->s.rc;
	uint32_t a = b->allowed_methods, m = b->cached_methods;
	if (a != EDGE_CONFIG_METHODS_GET_HEAD && a != EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS &&
	    a != EDGE_CONFIG_METHODS_ALL)
		return config_schema_fail(&ps->s, config_schema_key(item, "allowed_methods"),
		                          "allowed_methods: must be [GET, HEAD], [GET, HEAD, "
		                          "OPTIONS] or all seven (GET, HEAD, OPTIONS, PUT, PATCH, "
		                          "POST, DELETE)");
	if (m != EDGE_CONFIG_METHODS_GET_HEAD && m != EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS)
		return config_schema_fail(&ps->s, config_schema_key(item, "cached_methods"),
		                          "cached_methods: must be [GET, HEAD] or [GET, HEAD, "
		                          "OPTIONS]");
	if ((m & a) != m)
		return config_schema_fail(&ps->s, config_schema_key(item, "cached_methods"),
		                          "cached_methods: OPTIONS is cached but not allowed "
		                          "(add it to allowed_methods)");
	return 0;
}

static int read_ttls(struct parse *ps, const struct yaml_tree_node *item,
                     struct edge_config_behavior *b)
{
	b->min_ttl_s = EDGE_CONFIG_MIN_TTL;
	b->default_ttl_s = EDGE_CONFIG_DEFAULT_TTL;
	b->max_ttl_s = EDGE_CONFIG_MAX_TTL;
	if (read_seconds(ps, item, "min_ttl", 0, EDGE_CONFIG_TTL_CAP, &b->min_ttl_s) ||
	    read_seconds(ps, item, "default_ttl", 0, EDGE_CONFIG_TTL_CAP, &b->default_ttl_s) ||
	    read_seconds(ps, item, "max_ttl", 0, EDGE_CONFIG_TTL_CAP, &b->max_ttl_s))
		return ps->s.rc;
	bool has_default = yaml_tree_get(item, IOV_LIT("default_ttl"), NULL) != NULL;
	bool has_max = yaml_tree_get(item, IOV_LIT("max_ttl"), NULL) != NULL;
	if (b->min_ttl_s > b->default_ttl_s)
		return config_schema_fail(&ps->s, config_schema_key(item, "min_ttl"),
		                          "min_ttl: %llus is above default_ttl %llus%s; TTLs must "
		                          "keep min <= default <= max",
		                          (unsigned long long)b->min_ttl_s,
		                          (unsigned long long)b->default_ttl_s,
		                          has_default ? "" : " (the default)");
	if (b->default_ttl_s > b->max_ttl_s) {
		const char *key = has_default ? "default_ttl" : "max_ttl";
		return config_schema_fail(
		    &ps->s, config_schema_key(item, key),
		    "%s: default_ttl %llus%s is above max_ttl %llus%s; TTLs must keep min <= "
		    "default "
		    "<= max",
		    key, (unsigned long long)b->default_ttl_s, has_default ? "" : " (the default)",
		    (unsigned long long)b->max_ttl_s, has_max ? "" : " (the default)");
	}
	return 0;
}

/* A query string parameter name as a cache key lists it. */
static bool valid_query_name(struct iov v)
{
	if (v.len == 0 || v.len > EDGE_CONFIG_KEY_ITEM_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.base[i];
		if (ch <= ' ' || ch == 0x7f || ch == '&' || ch == '=' || ch == '#')
			return false;
	}
	return true;
}

/* A sequence of names under `key` into a new array of copies (lowercased
 * with `lower`), unique (ASCII case ignored with `lower`). */
static int read_names(struct parse *ps, const struct yaml_tree_node *seq, const char *key,
                      bool lower, bool (*valid)(struct iov), const char *what, char ***out,
                      uint32_t *nout)
{
	size_t n = yaml_tree_len(seq);
	if (n > EDGE_CONFIG_KEY_ITEMS_MAX)
		return config_schema_fail(&ps->s, seq, "%s: %zu names; at most %d", key, n,
		                          EDGE_CONFIG_KEY_ITEMS_MAX);
	if (alloc_array(ps, n, sizeof(char *), (void **)out))
		return ps->s.rc;
	for (size_t i = 0; i < n; i++) {
		struct iov v = seq_scalar(ps, seq, i, key);
		if (!v.base)
			return ps->s.rc;
		const struct yaml_tree_node *at = yaml_tree_item(seq, i);
		if (!valid(v))
			return config_schema_fail(&ps->s, at, "%s: \"%.*s\" is not %s", key,
			                          config_schema_quote_len(v), v.base, what);
		for (size_t j = 0; j < i; j++) {
			struct iov o = iov_cstr((*out)[j]);
			if (lower ? iov_eq_nocase(o, v) : iov_eq(o, v))
				return config_schema_fail(&ps->s, at,
				                          "%s: \"%.*s\" is listed twice", key,
				                          config_schema_quote_len(v), v.base);
		}
		if (config_schema_dup2(&ps->s, IOV_NULL, v, &(*out)[i]))
			return ps->s.rc;
		if (lower)
			iov_copy_lower((*out)[i], v);
		*nout = (uint32_t)i + 1;
	}
	return 0;
}

static bool valid_header_name(struct iov v)
{
	return valid_token(v, EDGE_CONFIG_KEY_ITEM_MAX);
}

static int read_cache_key(struct parse *ps, const struct yaml_tree_node *item,
                          struct edge_config_behavior *b)
{
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, item, "cache_key", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, cache_key_keys, N_ELEMS(cache_key_keys)))
		return ps->s.rc;
	size_t qi = 0;
	const struct yaml_tree_node *q = yaml_tree_get(m, IOV_LIT("query_strings"), &qi);
	if (q && yaml_tree_kind(q) == YAML_TREE_SEQ && yaml_tree_tag(q) == YAML_TREE_TAG_NONE) {
		b->query_strings = EDGE_CONFIG_QUERY_LIST;
		if (read_names(ps, q, "query_strings", false, valid_query_name,
		               "a query string name (1-128 bytes, no space, '&', '=' or '#')",
		               &b->query, &b->nquery))
			return ps->s.rc;
	} else if (q) {
		struct iov v = IOV_NULL;
		if (config_schema_str(&ps->s, m, "query_strings", CONFIG_OPTIONAL, &v))
			return ps->s.rc;
		if (iov_eq(v, IOV_LIT("all")))
			b->query_strings = EDGE_CONFIG_QUERY_ALL;
		else if (!iov_eq(v, IOV_LIT("none")))
			return config_schema_fail(
			    &ps->s, yaml_tree_key(m, qi),
			    "query_strings: \"%.*s\" is not none, all or a list "
			    "of names",
			    config_schema_quote_len(v), v.base);
	}
	const struct yaml_tree_node *h =
	    config_schema_section(&ps->s, m, "headers", CONFIG_OPTIONAL, YAML_TREE_SEQ);
	if (!h)
		return ps->s.rc;
	return read_names(ps, h, "headers", true, valid_header_name,
	                  "a header name (1-128 token characters)", &b->key_header,
	                  &b->nkey_headers);
}

static bool valid_region(struct iov v)
{
	if (v.len == 0 || v.len > REGION_NAME_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		char ch = v.base[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return true;
}

static int read_signing_mode(struct parse *ps, const struct yaml_tree_node *item,
                             struct edge_config_behavior *b)
{
	const struct yaml_tree_node *ks = NULL, *kr = NULL;
	struct iov mode, region;
	config_schema_cstr(&ps->s, item, "signing", CONFIG_OPTIONAL, &mode, &ks);
	if (config_schema_cstr(&ps->s, item, "signing_region", CONFIG_OPTIONAL, &region, &kr))
		return ps->s.rc;
	b->signing = EDGE_CONFIG_SIGN_NONE;
	if (mode.base && iov_eq(mode, IOV_LIT("sigv4")))
		b->signing = EDGE_CONFIG_SIGN_SIGV4;
	else if (mode.base && iov_eq(mode, IOV_LIT("sigv4a")))
		b->signing = EDGE_CONFIG_SIGN_SIGV4A;
	else if (mode.base && !iov_eq(mode, IOV_LIT("none")))
		return config_schema_fail(&ps->s, ks,
		                          "signing: \"%.*s\" is not none, sigv4 or sigv4a",
		                          config_schema_quote_len(mode), mode.base);
	if (b->signing == EDGE_CONFIG_SIGN_SIGV4 && !region.base)
		return config_schema_fail(
		    &ps->s, ks, "signing: sigv4 needs signing_region (the origin's region)");
	if (b->signing != EDGE_CONFIG_SIGN_SIGV4 && region.base)
		return config_schema_fail(
		    &ps->s, kr,
		    "signing_region: only for signing: sigv4 (sigv4a signs for "
		    "every region, \"*\")");
	if (region.base && !valid_region(region))
		return config_schema_fail(&ps->s, kr,
		                          "signing_region: \"%.*s\" is not 1-32 characters of a-z, "
		                          "0-9 and '-'",
		                          config_schema_quote_len(region), region.base);
	if (b->signing != EDGE_CONFIG_SIGN_NONE && ps->c->signing.source == EDGE_CONFIG_CREDS_NONE)
		return config_schema_fail(
		    &ps->s, ks,
		    "signing: %.*s needs credentials: add a top-level signing "
		    "section with credentials (a file, or env)",
		    config_schema_quote_len(mode), mode.base);
	if (region.base && config_schema_dup2(&ps->s, IOV_NULL, region, &b->signing_region))
		return ps->s.rc;
	return 0;
}

static int read_target(struct parse *ps, const struct yaml_tree_node *item,
                       struct edge_config_behavior *b)
{
	const struct yaml_tree_node *kt = NULL;
	struct iov target;
	if (config_schema_cstr(&ps->s, item, "target", CONFIG_REQUIRED, &target, &kt))
		return ps->s.rc;
	if (find_origin(ps->c, target, &b->target) == 0) {
		b->target_kind = EDGE_CONFIG_TARGET_ORIGIN;
		return 0;
	}
	if (find_group(ps->c, target, &b->target) == 0) {
		b->target_kind = EDGE_CONFIG_TARGET_GROUP;
		return 0;
	}
	return config_schema_fail(&ps->s, kt,
	                          "target: no origin or origin group has the id \"%.*s\"",
	                          config_schema_quote_len(target), target.base);
}

/* functions: {event-type: path}: each path resolved, with where it was
 * written, so edge/fn.c can report a file that does not load at its key. */
static int read_functions(struct parse *ps, const struct yaml_tree_node *item,
                          struct edge_config_behavior *b)
{
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, item, "functions", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, edge_config_fn_events, EDGE_CONFIG_FN_EVENTS))
		return ps->s.rc;
	for (int e = 0; e < EDGE_CONFIG_FN_EVENTS; e++) {
		const char *ev = edge_config_fn_events[e];
		const struct yaml_tree_node *k = NULL;
		struct iov v;
		if (config_schema_cstr(&ps->s, m, ev, CONFIG_OPTIONAL, &v, &k))
			return ps->s.rc;
		if (!v.base)
			continue;
		const struct yaml_tree_mark at = yaml_tree_mark(k);
		char where[64];
		snprintf(where, sizeof(where), ":%u:%u", at.line, at.col);
		if (config_schema_path(&ps->s, k, ev, v, &b->function[e]) ||
		    config_schema_dup2(&ps->s, IOV_NULL, v, &b->function_name[e]) ||
		    config_schema_dup2(&ps->s, iov_cstr(ps->path), iov_cstr(where),
		                       &b->function_at[e]))
			return ps->s.rc;
	}
	return 0;
}

static int read_function_limits(struct parse *ps, const struct yaml_tree_node *root)
{
	struct edge_config_function_limits *l = &ps->c->fn_limits;
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, root, "function_limits", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, fn_limit_keys, N_ELEMS(fn_limit_keys)))
		return ps->s.rc;
	uint64_t viewer = l->viewer_timeout_ms, origin = l->origin_timeout_ms;
	config_schema_bytes(&ps->s, m, "memory", CONFIG_OPTIONAL, EDGE_CONFIG_FN_MEMORY_MIN,
	                    EDGE_CONFIG_FN_MEMORY_MAX, &l->memory_bytes);
	config_schema_u64(&ps->s, m, "instructions", CONFIG_OPTIONAL, EDGE_CONFIG_FN_INSTR_MIN,
	                  EDGE_CONFIG_FN_INSTR_MAX, &l->instructions);
	config_schema_duration(&ps->s, m, "viewer_timeout", CONFIG_OPTIONAL, 1,
	                       EDGE_CONFIG_FN_VIEWER_MS_MAX, &viewer);
	config_schema_duration(&ps->s, m, "origin_timeout", CONFIG_OPTIONAL, 1,
	                       EDGE_CONFIG_FN_ORIGIN_MS_MAX, &origin);
	l->viewer_timeout_ms = (uint32_t)viewer;
	l->origin_timeout_ms = (uint32_t)origin;
	return ps->s.rc;
}

static const char *const viewer_policy_names[] = { "allow-all", "redirect-to-https", "https-only" };

/* viewer_protocol_policy: CloudFront's names; the two that turn HTTP
 * viewers away need somewhere to send them (tls.listen). */
static int read_viewer_policy(struct parse *ps, const struct yaml_tree_node *item,
                              struct edge_config_behavior *b)
{
	const struct yaml_tree_node *k = NULL;
	struct iov v;
	b->viewer_policy = EDGE_CONFIG_VIEWER_ALLOW_ALL;
	if (config_schema_cstr(&ps->s, item, "viewer_protocol_policy", CONFIG_OPTIONAL, &v, &k) ||
	    !v.base)
		return ps->s.rc;
	size_t i = 0;
	while (i < N_ELEMS(viewer_policy_names) && !iov_eq(v, iov_cstr(viewer_policy_names[i])))
		i++;
	if (i == N_ELEMS(viewer_policy_names))
		return config_schema_fail(&ps->s, k,
		                          "viewer_protocol_policy: \"%.*s\" is not allow-all, "
		                          "redirect-to-https or https-only",
		                          config_schema_quote_len(v), v.base);
	b->viewer_policy = (enum edge_config_viewer_policy)i;
	if (b->viewer_policy != EDGE_CONFIG_VIEWER_ALLOW_ALL && !ps->c->tls.listen)
		return config_schema_fail(&ps->s, k,
		                          "viewer_protocol_policy: %s needs an HTTPS listener "
		                          "(tls.listen and tls.certificates)",
		                          viewer_policy_names[i]);
	return 0;
}

static int read_behavior(struct parse *ps, const struct yaml_tree_node *item, uint32_t i)
{
	struct edge_config_behavior *b = &ps->c->behavior[i];
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(&ps->s, item, "behaviors[%u]: expected a map, got %s", i,
		                          config_schema_kind_name(item));
	if (config_schema_keys(&ps->s, item, behavior_keys, N_ELEMS(behavior_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *kp = NULL;
	struct iov pattern;
	if (config_schema_cstr(&ps->s, item, "path_pattern", CONFIG_REQUIRED, &pattern, &kp))
		return ps->s.rc;
	if (!valid_pattern(pattern))
		return config_schema_fail(
		    &ps->s, kp,
		    "path_pattern: \"%.*s\" is not 1-255 characters of letters, "
		    "digits and _ - . * ? $ / ~ \" ' @ : + & %%",
		    config_schema_quote_len(pattern), pattern.base);
	if (config_schema_dup2(&ps->s, IOV_NULL, pattern, &b->path_pattern))
		return ps->s.rc;
	for (uint32_t j = 0; j < i; j++)
		if (iov_eq(pattern_body(iov_cstr(ps->c->behavior[j].path_pattern)),
		           pattern_body(pattern)))
			return config_schema_fail(
			    &ps->s, kp,
			    "path_pattern: \"%.*s\" repeats behavior %u's pattern "
			    "(a leading '/' makes no difference)",
			    config_schema_quote_len(pattern), pattern.base, j + 1);
	if (read_target(ps, item, b) || read_method_sets(ps, item, b) || read_ttls(ps, item, b) ||
	    read_cache_key(ps, item, b) || read_signing_mode(ps, item, b) ||
	    read_functions(ps, item, b) || read_viewer_policy(ps, item, b))
		return ps->s.rc;
	b->compress = false;
	return config_schema_bool(&ps->s, item, "compress", CONFIG_OPTIONAL, &b->compress);
}

static int read_behaviors(struct parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, root, "behaviors", CONFIG_REQUIRED, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	const struct yaml_tree_node *k = config_schema_key(root, "behaviors");
	size_t n = yaml_tree_len(seq);
	if (n == 0 || n > EDGE_CONFIG_BEHAVIORS_MAX)
		return config_schema_fail(
		    &ps->s, k,
		    "behaviors: %zu behaviors; expected 1 to %d (the last with "
		    "path_pattern \"*\")",
		    n, EDGE_CONFIG_BEHAVIORS_MAX);
	if (alloc_array(ps, n, sizeof(ps->c->behavior[0]), (void **)&ps->c->behavior))
		return ps->s.rc;
	for (uint32_t i = 0; i < n; i++) {
		ps->c->nbehaviors = i + 1;
		const struct yaml_tree_node *item = yaml_tree_item(seq, i);
		if (read_behavior(ps, item, i))
			return ps->s.rc;
		bool star = strcmp(ps->c->behavior[i].path_pattern, "*") == 0;
		if (star && i + 1 < n)
			return config_schema_fail(
			    &ps->s, config_schema_key(item, "path_pattern"),
			    "path_pattern: the default behavior \"*\" must be "
			    "the last one (behavior %u of %zu)",
			    i + 1, n);
		if (!star && i + 1 == n)
			return config_schema_fail(
			    &ps->s, config_schema_key(item, "path_pattern"),
			    "behaviors: the last behavior must be the default, "
			    "with path_pattern \"*\"");
	}
	return 0;
}

/* ---- cache and admin ---- */

static int read_cache(struct parse *ps, const struct yaml_tree_node *root)
{
	struct edge_config_cache *c = &ps->c->cache;
	const struct yaml_tree_node *m =
	    config_schema_section(&ps->s, root, "cache", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(&ps->s, m, cache_keys, N_ELEMS(cache_keys)))
		return ps->s.rc;
	uint64_t error_ttl = c->error_ttl_ms, not_found = c->not_found_ttl_ms;
	config_schema_bytes(&ps->s, m, "memory_bytes", CONFIG_OPTIONAL, EDGE_CONFIG_MEMORY_MIN,
	                    EDGE_CONFIG_BYTES_MAX, &c->memory_bytes);
	config_schema_bytes(&ps->s, m, "disk_bytes", CONFIG_OPTIONAL, EDGE_CONFIG_DISK_MIN,
	                    EDGE_CONFIG_BYTES_MAX, &c->disk_bytes);
	config_schema_duration(&ps->s, m, "error_ttl", CONFIG_OPTIONAL, 0,
	                       EDGE_CONFIG_ERROR_TTL_MAX, &error_ttl);
	config_schema_duration(&ps->s, m, "not_found_ttl", CONFIG_OPTIONAL, 0,
	                       EDGE_CONFIG_ERROR_TTL_MAX, &not_found);
	const struct yaml_tree_node *kd = NULL;
	struct iov disk;
	if (config_schema_cstr(&ps->s, m, "disk_path", CONFIG_OPTIONAL, &disk, &kd))
		return ps->s.rc;
	c->error_ttl_ms = (uint32_t)error_ttl;
	c->not_found_ttl_ms = (uint32_t)not_found;
	if (!disk.base && yaml_tree_get(m, IOV_LIT("disk_bytes"), NULL))
		return config_schema_fail(&ps->s, config_schema_key(m, "disk_bytes"),
		                          "disk_bytes: there is no disk tier without disk_path");
	if (disk.base)
		return config_schema_path(&ps->s, kd, "disk_path", disk, &c->disk_path);
	return 0;
}

static int read_admin(struct parse *ps, const struct yaml_tree_node *root)
{
	struct edge_config *c = ps->c;
	return http_admin_config_read(&ps->s, root, "invalidation and metrics never run",
	                              &c->admin_listen, &c->admin_credentials);
}

static void defaults(struct edge_config *c)
{
	c->cache.memory_bytes = EDGE_CONFIG_MEMORY_BYTES;
	c->cache.disk_bytes = EDGE_CONFIG_DISK_BYTES;
	c->cache.error_ttl_ms = EDGE_CONFIG_ERROR_TTL_MS;
	c->cache.not_found_ttl_ms = EDGE_CONFIG_NOT_FOUND_TTL_MS;
	c->fn_limits = (struct edge_config_function_limits){
		.memory_bytes = EDGE_CONFIG_FN_MEMORY,
		.instructions = EDGE_CONFIG_FN_INSTR,
		.viewer_timeout_ms = EDGE_CONFIG_FN_VIEWER_MS,
		.origin_timeout_ms = EDGE_CONFIG_FN_ORIGIN_MS,
	};
}

/* The whole schema over a parsed tree; takes the tree. */
static int from_tree(const char *path, struct yaml_tree *t, struct edge_config *out, char *err,
                     size_t errcap)
{
	struct parse *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		yaml_tree_free(t);
		if (errcap)
			snprintf(err, errcap, "%s: out of memory", path);
		return ERR_NOMEM;
	}
	ps->path = path;
	ps->c = out;
	config_schema_init(&ps->s, t, err, errcap);
	defaults(out);
	const struct yaml_tree_node *root = yaml_tree_root(t);
	if (config_schema_map(&ps->s, root, "the edge configuration") == 0 &&
	    config_schema_keys(&ps->s, root, top_keys, N_ELEMS(top_keys)) == 0 &&
	    read_distribution(ps, root) == 0 && read_origins(ps, root) == 0 &&
	    read_signing(ps, root) == 0 && http_tls_config_read(&ps->s, root, &out->tls) == 0 &&
	    read_groups(ps, root) == 0 && read_behaviors(ps, root) == 0 &&
	    read_cache(ps, root) == 0 && read_function_limits(ps, root) == 0)
		read_admin(ps, root);
	yaml_tree_free(t);
	int rc = ps->s.rc;
	free(ps);
	if (rc) {
		edge_config_free(out);
		return rc;
	}
	mark_failover(out);
	return 0;
}

int edge_config_parse(const char *path, const char *p, size_t n, struct edge_config *out, char *err,
                      size_t errcap)
{
	CHECK(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_parse(path, p, n, &t, err, errcap);
	if (rc)
		return rc;
	return from_tree(path, t, out, err, errcap);
}

int edge_config_load(const char *path, struct edge_config *out, char *err, size_t errcap)
{
	CHECK(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_load(path, &t, err, errcap);
	if (rc)
		return rc;
	return from_tree(path, t, out, err, errcap);
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *v = s;
	while (*v)
		*v++ = '\0';
	free(s);
}

static void free_names(char **names, uint32_t n)
{
	for (uint32_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

void edge_config_free(struct edge_config *c)
{
	if (!c)
		return;
	free(c->domain);
	free(c->default_root_object);
	free(c->id);
	for (uint32_t i = 0; c->origin && i < c->norigins; i++) {
		struct edge_config_origin *o = &c->origin[i];
		free(o->id);
		free(o->domain_name);
		free(o->address);
		free(o->connect_host);
		free(o->origin_path);
		for (uint32_t j = 0; o->header && j < o->nheaders; j++) {
			free(o->header[j].name);
			free(o->header[j].value);
		}
		free(o->header);
	}
	free(c->origin);
	for (uint32_t i = 0; c->group && i < c->ngroups; i++) {
		free(c->group[i].id);
		free(c->group[i].member);
	}
	free(c->group);
	for (uint32_t i = 0; c->behavior && i < c->nbehaviors; i++) {
		struct edge_config_behavior *b = &c->behavior[i];
		free(b->path_pattern);
		free_names(b->query, b->nquery);
		free_names(b->key_header, b->nkey_headers);
		free(b->signing_region);
		for (int e = 0; e < EDGE_CONFIG_FN_EVENTS; e++) {
			free(b->function[e]);
			free(b->function_name[e]);
			free(b->function_at[e]);
		}
	}
	free(c->behavior);
	free(c->signing.credentials_path);
	free(c->signing.access_key);
	wipe_free(c->signing.secret_key);
	wipe_free(c->signing.session_token);
	free(c->signing.failover_header);
	free(c->cache.disk_path);
	free(c->admin_listen);
	free(c->admin_credentials);
	http_tls_config_free(&c->tls);
	memset(c, 0, sizeof(*c));
}

bool edge_config_group_fails_over(const struct edge_config_group *g, unsigned status)
{
	for (uint32_t i = 0; i < g->nstatuses && i < EDGE_CONFIG_FAILOVER_STATUSES; i++)
		if (g->status[i] == status)
			return true;
	return false;
}

const char *edge_config_target_id(const struct edge_config *c, const struct edge_config_behavior *b)
{
	if (b->target_kind == EDGE_CONFIG_TARGET_GROUP) {
		CHECK(b->target < c->ngroups);
		return c->group[b->target].id;
	}
	CHECK(b->target_kind == EDGE_CONFIG_TARGET_ORIGIN && b->target < c->norigins);
	return c->origin[b->target].id;
}

static unsigned behavior_methods(uint32_t m)
{
	static const struct {
		uint32_t config;
		unsigned method;
	} map[] = {
		{ EDGE_CONFIG_GET, EDGE_METHOD_GET },
		{ EDGE_CONFIG_HEAD, EDGE_METHOD_HEAD },
		{ EDGE_CONFIG_OPTIONS, EDGE_METHOD_OPTIONS },
		{ EDGE_CONFIG_PUT, EDGE_METHOD_PUT },
		{ EDGE_CONFIG_PATCH, EDGE_METHOD_PATCH },
		{ EDGE_CONFIG_POST, EDGE_METHOD_POST },
		{ EDGE_CONFIG_DELETE, EDGE_METHOD_DELETE },
	};
	unsigned out = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (m & map[i].config)
			out |= map[i].method;
	return out;
}

/* `src` into a fixed field of `cap` bytes; the config's caps are the
 * behavior's, so it always fits. */
static void put_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	CHECK(n < cap);
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static void to_behavior(const struct edge_config *c, const struct edge_config_behavior *cb,
                        struct edge_behavior *b)
{
	edge_behavior_init(b);
	put_str(b->pattern, sizeof(b->pattern), cb->path_pattern);
	put_str(b->origin_id, sizeof(b->origin_id), edge_config_target_id(c, cb));
	b->allowed_methods = behavior_methods(cb->allowed_methods);
	b->cached_methods = behavior_methods(cb->cached_methods);
	b->min_ttl = cb->min_ttl_s;
	b->default_ttl = cb->default_ttl_s;
	b->max_ttl = cb->max_ttl_s;
	b->qs_mode = cb->query_strings == EDGE_CONFIG_QUERY_ALL    ? EDGE_QS_ALL
	             : cb->query_strings == EDGE_CONFIG_QUERY_LIST ? EDGE_QS_LISTED
	                                                           : EDGE_QS_NONE;
	b->qs_count = cb->query_strings == EDGE_CONFIG_QUERY_LIST ? cb->nquery : 0;
	for (size_t i = 0; i < b->qs_count; i++)
		put_str(b->qs_names[i], sizeof(b->qs_names[i]), cb->query[i]);
	b->header_count = cb->nkey_headers;
	for (size_t i = 0; i < b->header_count; i++)
		put_str(b->header_names[i], sizeof(b->header_names[i]), cb->key_header[i]);
	b->compress = cb->compress;
	b->key_gzip = b->key_br = cb->compress;
	b->sign = cb->signing == EDGE_CONFIG_SIGN_SIGV4A  ? EDGE_SIGN_SIGV4A
	          : cb->signing == EDGE_CONFIG_SIGN_SIGV4 ? EDGE_SIGN_SIGV4
	                                                  : EDGE_SIGN_NONE;
	put_str(b->root_object, sizeof(b->root_object), c->default_root_object);
}

int edge_config_behavior_table(const struct edge_config *c, struct edge_behavior_table **out)
{
	CHECK(c->nbehaviors >= 1);
	struct edge_behavior *b = malloc(sizeof(*b));
	if (!b)
		return ERR_NOMEM;
	struct edge_behavior_table *t = NULL;
	to_behavior(c, &c->behavior[c->nbehaviors - 1], b);
	int rc = edge_behavior_table_new(b, &t);
	for (uint32_t i = 0; rc == 0 && i + 1 < c->nbehaviors; i++) {
		to_behavior(c, &c->behavior[i], b);
		rc = edge_behavior_table_add(t, b);
	}
	free(b);
	if (rc) {
		edge_behavior_table_free(t);
		return rc;
	}
	*out = t;
	return 0;
}
