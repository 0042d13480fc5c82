/*
 * edge/config: a full file read field by field, every default, each class
 * of error with its exact position (unknown keys, shapes, values,
 * references, duplicates, TTL order, the default behavior), credentials
 * from a file path or the environment, and *out left zeroed after any error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "edge/behavior.h"
#include "edge/config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A minimal valid file: lines 1-2, 3-5 and 6-8. */
#define D "distribution:\n  domain: d.example.test\n"
#define O "origins:\n  - id: o1\n    domain_name: origin.example.test\n"
#define B "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n"

static void parse_ok(const char *path, const char *text, struct edge_config *c)
{
	char err[EDGE_CONFIG_ERR_LEN];
	int rc = edge_config_parse(path, text, strlen(text), c, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%s): %s\nfor:\n%s", err_name(rc), err, text);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* `text` is refused with ERR_CONFIG_SCHEMA and exactly the message `want`. */
static void refused(const char *text, const char *want)
{
	char err[EDGE_CONFIG_ERR_LEN];
	struct edge_config c;
	memset(&c, 0xa5, sizeof(c));
	int rc = edge_config_parse("e.yaml", text, strlen(text), &c, err, sizeof(err));
	if (rc != ERR_CONFIG_SCHEMA)
		fail_msg("want ERR_CONFIG_SCHEMA, got %s (%s) for:\n%s", err_name(rc), err, text);
	if (strcmp(err, want) != 0)
		fail_msg("want\n  %s\ngot\n  %s\nfor:\n%s", want, err, text);
	assert_true(all_zero(&c, sizeof(c)));
}

/* A file using every key (test_full_file checks each value). */
static const char full_text[] =
    "distribution:\n"
    "  domain: d111.edge.example.test\n"
    "  default_root_object: index.html\n"
    "  id: E2QWRUHAPOMQZL\n"
    "origins:\n"
    "  - id: mrap\n"
    "    domain_name: mfzwi23gnjvgw.mrap.accesspoint.s3-global.example.test\n"
    "    address: 127.0.0.1:9100\n"
    "    port: 8080\n"
    "    protocol: http\n"
    "    origin_path: /site/v1\n"
    "    custom_headers:\n"
    "      X-Origin-Token: \"abc 123\"\n"
    "      X-Empty: \"\"\n"
    "    connect_timeout: 2s\n"
    "    read_timeout: 500ms\n"
    "    keepalive_timeout: 60s\n"
    "    connection_attempts: 1\n"
    "  - id: backup\n"
    "    domain_name: backup.example.test\n"
    "    address: \"[::1]:9101\"\n"
    "    custom_headers: {OriginTypeFailover: \"true\"}\n"
    "  - {id: third, domain_name: 10.0.0.3}\n"
    "origin_groups:\n"
    "  - id: both\n"
    "    members: [mrap, backup, third]\n"
    "    failover_statuses: [504, 404, 500, 403]\n"
    "behaviors:\n"
    "  - path_pattern: /api/*.json\n"
    "    target: mrap\n"
    "    allowed_methods: [DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT]\n"
    "    cached_methods: [GET, HEAD, OPTIONS]\n"
    "    min_ttl: 1s\n"
    "    default_ttl: 1m\n"
    "    max_ttl: 1h\n"
    "    cache_key:\n"
    "      query_strings: [versionId, response-content-type]\n"
    "      headers: [Accept-Encoding, X-Variant]\n"
    "    signing: sigv4\n"
    "    signing_region: eu-west-1\n"
    "    compress: true\n"
    "  - path_pattern: img/??.png\n"
    "    target: both\n"
    "    allowed_methods: [GET, HEAD, OPTIONS]\n"
    "    cache_key: {query_strings: all}\n"
    "    signing: none\n"
    "  - path_pattern: \"*\"\n"
    "    target: both\n"
    "    min_ttl: 0s\n"
    "    default_ttl: 0s\n"
    "    max_ttl: 0s\n"
    "    cache_key: {query_strings: none, headers: []}\n"
    "    signing: sigv4a\n"
    "signing:\n"
    "  credentials: keys/edge\n"
    "  failover_header: originTypeFailover\n"
    "cache:\n"
    "  memory_bytes: 64MiB\n"
    "  disk_path: /var/cache/meridian\n"
    "  disk_bytes: 10GB\n"
    "  error_ttl: 1s\n"
    "  not_found_ttl: 500ms\n"
    "admin:\n"
    "  listen: 127.0.0.1:9200\n"
    "  credentials: /etc/meridian/admin\n";

static void test_full_file(void **state)
{
	(void)state;
	const char *text = full_text;
	struct edge_config c;
	parse_ok("/srv/edge/edge.yaml", text, &c);
	assert_string_equal(c.domain, "d111.edge.example.test");
	assert_string_equal(c.default_root_object, "index.html");
	assert_string_equal(c.id, "E2QWRUHAPOMQZL");

	assert_int_equal(c.norigins, 3);
	const struct edge_config_origin *o = &c.origin[0];
	assert_string_equal(o->id, "mrap");
	assert_string_equal(o->domain_name,
	                    "mfzwi23gnjvgw.mrap.accesspoint.s3-global.example.test");
	assert_string_equal(o->address, "127.0.0.1:9100");
	assert_string_equal(o->connect_host, "127.0.0.1");
	assert_int_equal(o->address_port, 9100);
	assert_int_equal(o->http_port, 8080); /* the old key `port` */
	assert_int_equal(o->https_port, 443);
	assert_int_equal(o->protocol_policy, EDGE_CONFIG_PROTO_HTTP_ONLY);
	assert_string_equal(o->origin_path, "/site/v1");
	assert_int_equal(o->nheaders, 2);
	assert_string_equal(o->header[0].name, "X-Origin-Token");
	assert_string_equal(o->header[0].value, "abc 123");
	assert_string_equal(o->header[1].name, "X-Empty");
	assert_string_equal(o->header[1].value, "");
	assert_int_equal(o->connect_timeout_ms, 2000);
	assert_int_equal(o->read_timeout_ms, 500);
	assert_int_equal(o->keepalive_timeout_ms, 60000);
	assert_int_equal(o->connection_attempts, 1);
	assert_false(o->failover);
	o = &c.origin[1];
	assert_string_equal(o->id, "backup");
	assert_string_equal(o->address, "[::1]:9101");
	assert_string_equal(o->connect_host, "[::1]");
	assert_int_equal(o->address_port, 9101);
	assert_int_equal(o->http_port, 80);
	assert_null(o->origin_path);
	assert_int_equal(o->nheaders, 1);
	assert_true(o->failover); /* the header name matched with case ignored */
	o = &c.origin[2];
	assert_string_equal(o->domain_name, "10.0.0.3");
	assert_null(o->address);
	assert_false(o->failover);

	assert_int_equal(c.ngroups, 1);
	const struct edge_config_group *g = &c.group[0];
	assert_string_equal(g->id, "both");
	assert_int_equal(g->nmembers, 3);
	assert_int_equal(g->member[0], 0);
	assert_int_equal(g->member[1], 1);
	assert_int_equal(g->member[2], 2);
	assert_int_equal(g->nstatuses, 4);
	static const uint16_t want_st[] = { 403, 404, 500, 504 };
	for (size_t i = 0; i < N_ELEMS(want_st); i++)
		assert_int_equal(g->status[i], want_st[i]);
	assert_true(edge_config_group_fails_over(g, 404));
	assert_true(edge_config_group_fails_over(g, 504));
	assert_false(edge_config_group_fails_over(g, 503));
	assert_false(edge_config_group_fails_over(g, 200));

	assert_int_equal(c.nbehaviors, 3);
	const struct edge_config_behavior *b = &c.behavior[0];
	assert_string_equal(b->path_pattern, "/api/*.json");
	assert_int_equal(b->target_kind, EDGE_CONFIG_TARGET_ORIGIN);
	assert_int_equal(b->target, 0);
	assert_string_equal(edge_config_target_id(&c, b), "mrap");
	assert_int_equal(b->allowed_methods, EDGE_CONFIG_METHODS_ALL);
	assert_int_equal(b->cached_methods, EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS);
	assert_int_equal(b->min_ttl_s, 1);
	assert_int_equal(b->default_ttl_s, 60);
	assert_int_equal(b->max_ttl_s, 3600);
	assert_int_equal(b->query_strings, EDGE_CONFIG_QUERY_LIST);
	assert_int_equal(b->nquery, 2);
	assert_string_equal(b->query[0], "versionId");
	assert_string_equal(b->query[1], "response-content-type");
	assert_int_equal(b->nkey_headers, 2);
	assert_string_equal(b->key_header[0], "accept-encoding");
	assert_string_equal(b->key_header[1], "x-variant");
	assert_int_equal(b->signing, EDGE_CONFIG_SIGN_SIGV4);
	assert_string_equal(b->signing_region, "eu-west-1");
	assert_true(b->compress);
	b = &c.behavior[1];
	assert_string_equal(b->path_pattern, "img/??.png");
	assert_int_equal(b->target_kind, EDGE_CONFIG_TARGET_GROUP);
	assert_int_equal(b->target, 0);
	assert_string_equal(edge_config_target_id(&c, b), "both");
	assert_int_equal(b->allowed_methods, EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS);
	assert_int_equal(b->cached_methods, EDGE_CONFIG_METHODS_GET_HEAD);
	assert_int_equal(b->query_strings, EDGE_CONFIG_QUERY_ALL);
	assert_int_equal(b->nquery, 0);
	assert_int_equal(b->signing, EDGE_CONFIG_SIGN_NONE);
	assert_null(b->signing_region);
	b = &c.behavior[2];
	assert_string_equal(b->path_pattern, "*");
	assert_int_equal(b->min_ttl_s + b->default_ttl_s + b->max_ttl_s, 0);
	assert_int_equal(b->query_strings, EDGE_CONFIG_QUERY_NONE);
	assert_int_equal(b->nkey_headers, 0);
	assert_int_equal(b->signing, EDGE_CONFIG_SIGN_SIGV4A);
	assert_false(b->compress);

	assert_int_equal(c.signing.source, EDGE_CONFIG_CREDS_FILE);
	assert_string_equal(c.signing.credentials_path, "/srv/edge/keys/edge");
	assert_null(c.signing.access_key);
	assert_string_equal(c.signing.failover_header, "originTypeFailover");
	assert_int_equal(c.cache.memory_bytes, 64ull << 20);
	assert_string_equal(c.cache.disk_path, "/var/cache/meridian");
	assert_int_equal(c.cache.disk_bytes, 10000000000ull);
	assert_int_equal(c.cache.error_ttl_ms, 1000);
	assert_int_equal(c.cache.not_found_ttl_ms, 500);
	assert_string_equal(c.admin_listen, "127.0.0.1:9200");
	assert_string_equal(c.admin_credentials, "/etc/meridian/admin");

	edge_config_free(&c);
	assert_true(all_zero(&c, sizeof(c)));
	edge_config_free(&c); /* a zeroed struct is a no-op */
	edge_config_free(NULL);
}

static void test_defaults(void **state)
{
	(void)state;
	struct edge_config c;
	parse_ok("e.yaml", D O B, &c);
	assert_string_equal(c.domain, "d.example.test");
	assert_string_equal(c.id, "d"); /* the domain's first label */
	assert_null(c.default_root_object);
	assert_int_equal(c.norigins, 1);
	const struct edge_config_origin *o = &c.origin[0];
	assert_null(o->address);
	assert_string_equal(o->connect_host, "origin.example.test");
	assert_int_equal(o->address_port, 0);
	assert_int_equal(o->http_port, 80);
	assert_int_equal(o->https_port, 443);
	assert_int_equal(o->protocol_policy, EDGE_CONFIG_PROTO_HTTP_ONLY);
	assert_null(o->origin_path);
	assert_int_equal(o->nheaders, 0);
	assert_null(o->header);
	assert_int_equal(o->connect_timeout_ms, 10000); /* CloudFront's defaults */
	assert_int_equal(o->read_timeout_ms, 30000);
	assert_int_equal(o->keepalive_timeout_ms, 5000);
	assert_int_equal(o->connection_attempts, 3);
	assert_false(o->failover);
	assert_int_equal(c.ngroups, 0);
	assert_null(c.group);
	assert_int_equal(c.nbehaviors, 1);
	const struct edge_config_behavior *b = &c.behavior[0];
	assert_int_equal(b->target_kind, EDGE_CONFIG_TARGET_ORIGIN);
	assert_int_equal(b->allowed_methods, EDGE_CONFIG_GET | EDGE_CONFIG_HEAD);
	assert_int_equal(b->cached_methods, EDGE_CONFIG_GET | EDGE_CONFIG_HEAD);
	assert_int_equal(b->min_ttl_s, 0);
	assert_int_equal(b->default_ttl_s, 86400);
	assert_int_equal(b->max_ttl_s, 31536000);
	assert_int_equal(b->query_strings, EDGE_CONFIG_QUERY_NONE);
	assert_int_equal(b->nquery + b->nkey_headers, 0);
	assert_int_equal(b->signing, EDGE_CONFIG_SIGN_NONE);
	assert_false(b->compress);
	assert_int_equal(b->viewer_policy, EDGE_CONFIG_VIEWER_ALLOW_ALL);
	assert_false(c.tls.present);
	assert_null(c.tls.listen);
	assert_int_equal(c.signing.source, EDGE_CONFIG_CREDS_NONE);
	assert_null(c.signing.credentials_path);
	assert_string_equal(c.signing.failover_header, "originTypeFailover");
	assert_int_equal(c.cache.memory_bytes, 256ull << 20);
	assert_null(c.cache.disk_path);
	assert_int_equal(c.cache.disk_bytes, 1ull << 30);
	assert_int_equal(c.cache.error_ttl_ms, 10000);
	assert_int_equal(c.cache.not_found_ttl_ms, 2000);
	assert_null(c.admin_listen);
	assert_null(c.admin_credentials);
	edge_config_free(&c);

	/* Empty optional sections change nothing. */
	parse_ok("e.yaml", D O B "origin_groups: []\ncache: {}\nadmin: {}\n", &c);
	assert_int_equal(c.ngroups, 0);
	assert_int_equal(c.cache.memory_bytes, EDGE_CONFIG_MEMORY_BYTES);
	assert_null(c.admin_listen);
	edge_config_free(&c);

	/* Inclusive bounds of every origin range. */
	parse_ok("e.yaml",
	         D "origins:\n  - {id: o1, domain_name: o.test, connect_timeout: 100ms,"
	           " read_timeout: 120s, keepalive_timeout: 1s, connection_attempts: 3,"
	           " port: 65535}\n" B,
	         &c);
	assert_int_equal(c.origin[0].connect_timeout_ms, 100);
	assert_int_equal(c.origin[0].read_timeout_ms, 120000);
	assert_int_equal(c.origin[0].keepalive_timeout_ms, 1000);
	assert_int_equal(c.origin[0].http_port, 65535);
	edge_config_free(&c);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	refused(D O B "behavoirs: []\n", "e.yaml:9:1: unknown key \"behavoirs\"; did you mean "
	                                 "\"behaviors\"?");
	refused("distribution:\n  domian: d.test\n" O B,
	        "e.yaml:2:3: unknown key \"domian\"; did you mean \"domain\"?");
	refused(D "origins:\n  - id: o1\n    domain_name: o.test\n    conect_timeout: 1s\n" B,
	        "e.yaml:6:5: unknown key \"conect_timeout\"; did you mean \"connect_timeout\"?");
	refused(D O B "origin_groups:\n  - {id: g, members: [o1, o1], statuses: [500]}\n",
	        "e.yaml:10:32: unknown key \"statuses\"");
	refused(D O "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n    min_tll: 0s\n",
	        "e.yaml:9:5: unknown key \"min_tll\"; did you mean \"min_ttl\"?");
	refused(D O "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n"
	            "    cache_key: {query_string: all}\n",
	        "e.yaml:9:17: unknown key \"query_string\"; did you mean \"query_strings\"?");
	refused(D O B "signing: {credential: env}\n",
	        "e.yaml:9:11: unknown key \"credential\"; did you mean \"credentials\"?");
	refused(D O B "cache: {memory: 1MiB}\n", "e.yaml:9:9: unknown key \"memory\"");
	refused(D O B "admin: {listn: 127.0.0.1:1}\n",
	        "e.yaml:9:9: unknown key \"listn\"; did you mean \"listen\"?");
}

static void test_shapes(void **state)
{
	(void)state;
	refused("- a\n", "e.yaml:1:1: the edge configuration: expected a map, got a sequence");
	refused(O B, "e.yaml:1:1: missing required key \"distribution\"");
	refused(D B, "e.yaml:1:1: missing required key \"origins\"");
	refused(D O, "e.yaml:1:1: missing required key \"behaviors\"");
	refused("distribution: d.test\n" O B,
	        "e.yaml:1:1: distribution: expected a map, got a scalar");
	refused(D "origins: {id: o1}\n" B, "e.yaml:3:1: origins: expected a sequence, got a map");
	refused(D "origins: !Ref X\n" B,
	        "e.yaml:3:1: origins: expected a sequence, not a !Ref value");
	refused(D "origins: []\n" B, "e.yaml:3:1: origins: 0 origins; expected 1 to 64");
	refused(D "origins: [o1]\n" B, "e.yaml:3:11: origins[0]: expected a map, got a scalar");
	refused(D O "behaviors: []\n",
	        "e.yaml:6:1: behaviors: 0 behaviors; expected 1 to 64 (the last with "
	        "path_pattern \"*\")");
	refused(D O "behaviors: [x]\n", "e.yaml:6:13: behaviors[0]: expected a map, got a scalar");
	refused(D O B "origin_groups: [[a]]\n",
	        "e.yaml:9:17: origin_groups[0]: expected a map, got a sequence");
	refused(D "origins:\n  - id: o1\n    domain_name: o.test\n    custom_headers: [a]\n" B,
	        "e.yaml:6:5: custom_headers: expected a map, got a sequence");
	refused(D "origins:\n  - id: o1\n" B, "e.yaml:4:5: missing required key \"domain_name\"");
	refused(D "origins:\n  - id: \"\"\n    domain_name: o.test\n" B,
	        "e.yaml:4:5: id: must not be empty");
	refused(D O "behaviors:\n  - target: o1\n",
	        "e.yaml:7:5: missing required key \"path_pattern\"");
	refused(D O "behaviors:\n  - path_pattern: \"*\"\n",
	        "e.yaml:7:5: missing required key \"target\"");
}

static void test_origin_values(void **state)
{
	(void)state;
#define ORIGIN(extra) D "origins:\n  - id: o1\n    domain_name: o.test\n" extra B
	/* The value line is line 6, its key at column 5. */
	refused(ORIGIN("    protocol: ftp\n"),
	        "e.yaml:6:5: protocol: \"ftp\" is not http or https (see protocol_policy)");
	refused(ORIGIN("    address: localhost:80\n"),
	        "e.yaml:6:5: address: \"localhost:80\" is not ip:port, [ipv6]:port or the IP "
	        "alone (numeric, port 1-65535)");
	static const char *const bad_addr[] = {
		"localhost",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:+80",
		"::1:80",
		"[::1]80",
		"[]:80",
		"[127.0.0.1]:80",
		"1.2.3.4.5:80",
		":80",
		"127.0.0.1:080000",
		"[127.0.0.1]",
		"::1",
		"[::1",
		"1.2.3",
	};
	for (size_t i = 0; i < N_ELEMS(bad_addr); i++) {
		char text[512], want[256];
		snprintf(text, sizeof(text), ORIGIN("    address: \"%s\"\n"), bad_addr[i]);
		snprintf(want, sizeof(want),
		         "e.yaml:6:5: address: \"%s\" is not ip:port, [ipv6]:port or the IP alone "
		         "(numeric, port 1-65535)",
		         bad_addr[i]);
		refused(text, want);
	}
	refused(ORIGIN("    port: 0\n"), "e.yaml:6:5: port: \"0\" is not an integer in 1..65535");
	refused(D "origins:\n  - id: o1\n    domain_name: o.test:80\n" B,
	        "e.yaml:5:5: domain_name: \"o.test:80\" is not a host name (dot-separated labels "
	        "of 1-63 letters, digits and '-', at most 253; no port: see http_port, https_port "
	        "and address)");
	refused(D "origins:\n  - id: o/1\n    domain_name: o.test\n" B,
	        "e.yaml:4:5: id: \"o/1\" is not 1-128 characters of letters, digits, '-', '_' "
	        "and '.'");
	static const char *const bad_path[] = { "/", "x", "/a/", "/a b", "/a*", "/a?b" };
	for (size_t i = 0; i < N_ELEMS(bad_path); i++) {
		char text[512], want[256];
		snprintf(text, sizeof(text), ORIGIN("    origin_path: \"%s\"\n"), bad_path[i]);
		snprintf(
		    want, sizeof(want),
		    "e.yaml:6:5: origin_path: \"%s\" must start with '/', not end with '/', and "
		    "be at most 255 URL path characters without '*'",
		    bad_path[i]);
		refused(text, want);
	}
	refused(ORIGIN("    connect_timeout: 11s\n"),
	        "e.yaml:6:5: connect_timeout: 11s is outside 100ms..10000ms");
	refused(ORIGIN("    connect_timeout: 99ms\n"),
	        "e.yaml:6:5: connect_timeout: 99ms is outside 100ms..10000ms");
	refused(ORIGIN("    read_timeout: 121s\n"),
	        "e.yaml:6:5: read_timeout: 121s is outside 100ms..120000ms");
	refused(ORIGIN("    keepalive_timeout: 61s\n"),
	        "e.yaml:6:5: keepalive_timeout: 61s is outside 1000ms..60000ms");
	refused(ORIGIN("    connection_attempts: 4\n"),
	        "e.yaml:6:5: connection_attempts: \"4\" is not an integer in 1..3");
	refused(ORIGIN("    connection_attempts: 0\n"),
	        "e.yaml:6:5: connection_attempts: \"0\" is not an integer in 1..3");
	/* Custom headers: the key of the header itself is the position. */
	refused(ORIGIN("    custom_headers:\n      Host: x\n"),
	        "e.yaml:7:7: custom_headers: Host is set by the edge itself and cannot be a "
	        "custom header");
	refused(ORIGIN("    custom_headers:\n      x-amz-date: x\n"),
	        "e.yaml:7:7: custom_headers: x-amz-date is set by the edge itself and cannot be "
	        "a custom header");
	refused(ORIGIN("    custom_headers:\n      X-A: 1\n      x-a: 2\n"),
	        "e.yaml:8:7: custom_headers: x-a appears twice (names ignore case)");
	refused(ORIGIN("    custom_headers:\n      \"X A\": 1\n"),
	        "e.yaml:7:7: custom_headers: \"X A\" is not a header name (1-256 token "
	        "characters)");
	refused(ORIGIN("    custom_headers:\n      X-A: \"a\\nb\"\n"),
	        "e.yaml:7:7: custom_headers: X-A: the value must be at most 1783 bytes of visible "
	        "characters, spaces and tabs, not starting or ending with a space");
	refused(ORIGIN("    custom_headers:\n      X-A: [1]\n"),
	        "e.yaml:7:7: custom_headers: X-A: expected a plain string");
#undef ORIGIN
}

static void test_references(void **state)
{
	(void)state;
#define O2 "origins:\n  - {id: a, domain_name: a.test}\n  - {id: b, domain_name: b.test}\n"
	/* lines: 1-2 D, 3-5 O2, 6.. groups */
	refused(D O2 "origin_groups:\n  - {id: g, members: [a, c]}\n" B,
	        "e.yaml:7:26: members: no origin has the id \"c\"");
	refused(D O2
	        "origin_groups:\n  - {id: g, members: [a, h]}\n  - {id: h, members: [a, b]}\n" B,
	        "e.yaml:7:26: members: \"h\" is an origin group; groups cannot be nested");
	refused(D O2 "origin_groups:\n  - {id: g, members: [a, g]}\n" B,
	        "e.yaml:7:26: members: \"g\" is an origin group; groups cannot be nested");
	refused(D O2 "origin_groups:\n  - {id: g, members: [a, a]}\n" B,
	        "e.yaml:7:26: members: \"a\" is listed twice");
	refused(D O2 "origin_groups:\n  - {id: g, members: [a]}\n" B,
	        "e.yaml:7:13: members: 1 members; expected 2 to 8");
	refused(D O2 "origin_groups:\n  - {id: g}\n" B,
	        "e.yaml:7:5: missing required key \"members\"");
	refused(D O2 "origin_groups:\n  - {id: g, members: [a, [b]]}\n" B,
	        "e.yaml:7:26: members[1]: expected a plain scalar, got a sequence");
	/* Ids: origins, and groups against origins and groups. */
	refused(D
	        "origins:\n  - {id: a, domain_name: a.test}\n  - {id: a, domain_name: b.test}\n" B,
	        "e.yaml:5:6: duplicate origin id \"a\" (first at 4:6)");
	refused(D O2 "origin_groups:\n  - {id: b, members: [a, b]}\n" B,
	        "e.yaml:7:6: duplicate id \"b\": origin 5:6 has it already (origins and groups "
	        "share one namespace)");
	refused(D O2
	        "origin_groups:\n  - {id: g, members: [a, b]}\n  - {id: g, members: [b, a]}\n" B,
	        "e.yaml:8:6: duplicate origin group id \"g\" (first at 7:6)");
	/* Targets. */
	refused(D O2 "behaviors:\n  - {path_pattern: \"*\", target: z}\n",
	        "e.yaml:7:25: target: no origin or origin group has the id \"z\"");
	struct edge_config c;
	parse_ok("e.yaml",
	         D O2 "origin_groups:\n  - {id: g, members: [b, a]}\n"
	              "behaviors:\n  - {path_pattern: a/*, target: a}\n"
	              "  - {path_pattern: \"*\", target: g}\n",
	         &c);
	assert_int_equal(c.behavior[0].target_kind, EDGE_CONFIG_TARGET_ORIGIN);
	assert_string_equal(edge_config_target_id(&c, &c.behavior[0]), "a");
	assert_int_equal(c.behavior[1].target_kind, EDGE_CONFIG_TARGET_GROUP);
	assert_string_equal(edge_config_target_id(&c, &c.behavior[1]), "g");
	assert_int_equal(c.group[0].member[0], 1); /* failover order as written */
	assert_int_equal(c.group[0].member[1], 0);
	/* No failover_statuses: the 5xx ones. */
	assert_int_equal(c.group[0].nstatuses, 4);
	assert_true(edge_config_group_fails_over(&c.group[0], 500));
	assert_true(edge_config_group_fails_over(&c.group[0], 502));
	assert_true(edge_config_group_fails_over(&c.group[0], 503));
	assert_true(edge_config_group_fails_over(&c.group[0], 504));
	assert_false(edge_config_group_fails_over(&c.group[0], 404));
	edge_config_free(&c);
#undef O2
}

static void test_failover_statuses(void **state)
{
	(void)state;
#define G(list)                                                                               \
	D "origins:\n  - {id: a, domain_name: a.test}\n  - {id: b, domain_name: b.test}\n"    \
	  "origin_groups:\n  - id: g\n    members: [a, b]\n    failover_statuses: " list "\n" \
	  "behaviors:\n  - {path_pattern: \"*\", target: g}\n"
	refused(G("[500, 501]"),
	        "e.yaml:9:30: failover_statuses: \"501\" is not one of 400, 403, 404, 416, 500, "
	        "502, 503, 504");
	refused(G("[200]"),
	        "e.yaml:9:25: failover_statuses: \"200\" is not one of 400, 403, 404, 416, 500, "
	        "502, 503, 504");
	refused(G("[x]"),
	        "e.yaml:9:25: failover_statuses: \"x\" is not one of 400, 403, 404, 416, 500, "
	        "502, 503, 504");
	refused(G("[503, 503]"), "e.yaml:9:30: failover_statuses: 503 is listed twice");
	refused(G("[]"), "e.yaml:9:5: failover_statuses: must list at least one status");
	refused(G("500"), "e.yaml:9:5: failover_statuses: expected a sequence, got a scalar");
	struct edge_config c;
	parse_ok("e.yaml", G("[504, 503, 502, 500, 416, 404, 403, 400]"), &c);
	assert_int_equal(c.group[0].nstatuses, 8);
	for (uint32_t i = 1; i < 8; i++)
		assert_true(c.group[0].status[i - 1] < c.group[0].status[i]);
	assert_true(edge_config_group_fails_over(&c.group[0], 416));
	assert_true(edge_config_group_fails_over(&c.group[0], 400));
	edge_config_free(&c);
#undef G
}

static void test_member_count(void **state)
{
	(void)state;
	char text[8192];
	int k = snprintf(text, sizeof(text), D "origins:\n");
	for (int i = 0; i < 9; i++)
		k += snprintf(text + k, sizeof(text) - (size_t)k,
		              "  - {id: o%d, domain_name: o%d.test}\n", i, i);
	k += snprintf(text + k, sizeof(text) - (size_t)k,
	              "origin_groups:\n  - id: g\n    members: [o0, o1, o2, o3, o4, o5, o6, o7]\n"
	              "behaviors:\n  - {path_pattern: \"*\", target: g}\n");
	assert_true(k > 0 && (size_t)k < sizeof(text));
	struct edge_config c;
	parse_ok("e.yaml", text, &c);
	assert_int_equal(c.group[0].nmembers, 8);
	assert_int_equal(c.group[0].member[7], 7);
	edge_config_free(&c);
	char *at = strstr(text, "o7]");
	memcpy(at, "o8]", 3);
	char *tail = strdup(at + 3);
	assert_non_null(tail);
	snprintf(at, sizeof(text) - (size_t)(at - text), "o7, o8]%s", tail);
	free(tail);
	refused(text, "e.yaml:15:5: members: 9 members; expected 2 to 8");

	/* 64 origins are accepted, 65 are not. */
	k = snprintf(text, sizeof(text), D "origins:\n");
	for (int i = 0; i < EDGE_CONFIG_ORIGINS_MAX; i++)
		k += snprintf(text + k, sizeof(text) - (size_t)k,
		              "  - {id: o%d, domain_name: o.t}\n", i);
	int end = k;
	k += snprintf(text + k, sizeof(text) - (size_t)k,
	              "behaviors:\n  - {path_pattern: \"*\", target: o63}\n");
	assert_true(k > 0 && (size_t)k < sizeof(text));
	parse_ok("e.yaml", text, &c);
	assert_int_equal(c.norigins, EDGE_CONFIG_ORIGINS_MAX);
	assert_int_equal(c.behavior[0].target, 63);
	edge_config_free(&c);
	k = end + snprintf(text + end, sizeof(text) - (size_t)end,
	                   "  - {id: o64, domain_name: o.t}\n"
	                   "behaviors:\n  - {path_pattern: \"*\", target: o63}\n");
	assert_true(k > 0 && (size_t)k < sizeof(text));
	refused(text, "e.yaml:3:1: origins: 65 origins; expected 1 to 64");
}

static void test_behaviors(void **state)
{
	(void)state;
	refused(D O "behaviors:\n  - {path_pattern: a/*, target: o1}\n",
	        "e.yaml:7:6: behaviors: the last behavior must be the default, with path_pattern "
	        "\"*\"");
	refused(D O "behaviors:\n  - {path_pattern: \"*\", target: o1}\n"
	            "  - {path_pattern: a/*, target: o1}\n",
	        "e.yaml:7:6: path_pattern: the default behavior \"*\" must be the last one "
	        "(behavior 1 of 2)");
	refused(D O "behaviors:\n  - {path_pattern: /a/*, target: o1}\n"
	            "  - {path_pattern: a/*, target: o1}\n  - {path_pattern: \"*\", target: o1}\n",
	        "e.yaml:8:6: path_pattern: \"a/*\" repeats behavior 1's pattern (a leading '/' "
	        "makes no difference)");
	refused(D O "behaviors:\n  - {path_pattern: \"a b\", target: o1}\n"
	            "  - {path_pattern: \"*\", target: o1}\n",
	        "e.yaml:7:6: path_pattern: \"a b\" is not 1-255 characters of letters, digits and "
	        "_ - . * ? $ / ~ \" ' @ : + & %");
	/* 255 characters are allowed, 256 are not. */
	char pat[300], text[1024];
	memset(pat, 'p', 256);
	pat[0] = '/';
	pat[255] = '\0';
	snprintf(text, sizeof(text),
	         D O "behaviors:\n  - {path_pattern: %s, target: o1}\n"
	             "  - {path_pattern: \"*\", target: o1}\n",
	         pat);
	struct edge_config c;
	parse_ok("e.yaml", text, &c);
	assert_int_equal(strlen(c.behavior[0].path_pattern), 255);
	edge_config_free(&c);
	pat[255] = 'p';
	pat[256] = '\0';
	snprintf(text, sizeof(text),
	         D O "behaviors:\n  - {path_pattern: %s, target: o1}\n"
	             "  - {path_pattern: \"*\", target: o1}\n",
	         pat);
	char err[EDGE_CONFIG_ERR_LEN];
	assert_int_equal(edge_config_parse("e.yaml", text, strlen(text), &c, err, sizeof(err)),
	                 ERR_CONFIG_SCHEMA);
	assert_non_null(strstr(err, "e.yaml:7:6: path_pattern: \"/ppp"));

	/* Methods. */
#define M(extra) D O "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n" extra
	refused(M("    allowed_methods: [GET]\n"),
	        "e.yaml:9:5: allowed_methods: must be [GET, HEAD], [GET, HEAD, OPTIONS] or all "
	        "seven (GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE)");
	refused(M("    allowed_methods: [GET, HEAD, PUT]\n"),
	        "e.yaml:9:5: allowed_methods: must be [GET, HEAD], [GET, HEAD, OPTIONS] or all "
	        "seven (GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE)");
	refused(M("    allowed_methods: [GET, get]\n"),
	        "e.yaml:9:28: allowed_methods: \"get\" is not a method (GET, HEAD, OPTIONS, PUT, "
	        "PATCH, POST or DELETE, in capitals)");
	refused(M("    allowed_methods: [GET, HEAD, GET]\n"),
	        "e.yaml:9:34: allowed_methods: GET is listed twice");
	refused(M("    cached_methods: [GET, HEAD, OPTIONS]\n"),
	        "e.yaml:9:5: cached_methods: OPTIONS is cached but not allowed (add it to "
	        "allowed_methods)");
	refused(M("    allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]\n"
	          "    cached_methods: [GET, HEAD, OPTIONS, PUT]\n"),
	        "e.yaml:10:5: cached_methods: must be [GET, HEAD] or [GET, HEAD, OPTIONS]");
	refused(M("    compress: yes\n"), "e.yaml:9:5: compress: \"yes\" is not true or false");

	/* Cache keys. */
	refused(M("    cache_key: {query_strings: some}\n"),
	        "e.yaml:9:17: query_strings: \"some\" is not none, all or a list of names");
	refused(M("    cache_key: {query_strings: [a, b, a]}\n"),
	        "e.yaml:9:39: query_strings: \"a\" is listed twice");
	refused(M("    cache_key: {query_strings: [\"a=b\"]}\n"),
	        "e.yaml:9:33: query_strings: \"a=b\" is not a query string name (1-128 bytes, no "
	        "space, '&', '=' or '#')");
	refused(M("    cache_key: {headers: [Accept, accept]}\n"),
	        "e.yaml:9:35: headers: \"accept\" is listed twice");
	refused(M("    cache_key: {headers: [\"a b\"]}\n"),
	        "e.yaml:9:27: headers: \"a b\" is not a header name (1-128 token characters)");
	refused(M("    cache_key: {headers: all}\n"),
	        "e.yaml:9:17: headers: expected a sequence, got a scalar");
#undef M
}

static void test_ttl_order(void **state)
{
	(void)state;
#define T(extra) D O "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n" extra
	refused(T("    min_ttl: 2s\n    default_ttl: 1s\n"),
	        "e.yaml:9:5: min_ttl: 2s is above default_ttl 1s; TTLs must keep min <= default "
	        "<= max");
	refused(T("    min_ttl: 25h\n"),
	        "e.yaml:9:5: min_ttl: 90000s is above default_ttl 86400s (the default); TTLs must "
	        "keep min <= default <= max");
	refused(T("    default_ttl: 2h\n    max_ttl: 1h\n"),
	        "e.yaml:9:5: default_ttl: default_ttl 7200s is above max_ttl 3600s; TTLs must keep "
	        "min <= default <= max");
	refused(T("    max_ttl: 1h\n"),
	        "e.yaml:9:5: max_ttl: default_ttl 86400s (the default) is above max_ttl 3600s; "
	        "TTLs must keep min <= default <= max");
	refused(T("    default_ttl: 9000h\n"),
	        "e.yaml:9:5: default_ttl: default_ttl 32400000s is above max_ttl 31536000s (the "
	        "default); TTLs must keep min <= default <= max");
	refused(T("    min_ttl: 1500ms\n"),
	        "e.yaml:9:5: min_ttl: must be whole seconds (like 0s, 30s, 24h)");
	refused(T("    max_ttl: 100\n"),
	        "e.yaml:9:5: max_ttl: \"100\" is not a duration (like 500ms, 2s, 5m, 1h)");
	struct edge_config c;
	parse_ok("e.yaml", T("    min_ttl: 1h\n    default_ttl: 1h\n    max_ttl: 1h\n"), &c);
	assert_int_equal(c.behavior[0].min_ttl_s, 3600);
	assert_int_equal(c.behavior[0].default_ttl_s, 3600);
	assert_int_equal(c.behavior[0].max_ttl_s, 3600);
	edge_config_free(&c);
	parse_ok("e.yaml", T("    max_ttl: 876000h\n    default_ttl: 0s\n"), &c);
	assert_int_equal(c.behavior[0].max_ttl_s, 3153600000ull);
	assert_int_equal(c.behavior[0].default_ttl_s, 0);
	edge_config_free(&c);
#undef T
}

static void test_signing(void **state)
{
	(void)state;
#define S(extra, top) D O "behaviors:\n  - path_pattern: \"*\"\n    target: o1\n" extra top
	refused(S("    signing: sigv4a\n", ""),
	        "e.yaml:9:5: signing: sigv4a needs credentials: add a top-level signing section "
	        "with credentials (a file, or env)");
	refused(S("    signing: sigv4\n", "signing: {credentials: k}\n"),
	        "e.yaml:9:5: signing: sigv4 needs signing_region (the origin's region)");
	refused(S("    signing: sigv4a\n    signing_region: us-east-1\n",
	          "signing: {credentials: k}\n"),
	        "e.yaml:10:5: signing_region: only for signing: sigv4 (sigv4a signs for every "
	        "region, \"*\")");
	refused(S("    signing: sigv4\n    signing_region: US\n", "signing: {credentials: k}\n"),
	        "e.yaml:10:5: signing_region: \"US\" is not 1-32 characters of a-z, 0-9 and '-'");
	refused(S("    signing: v4\n", ""),
	        "e.yaml:9:5: signing: \"v4\" is not none, sigv4 or sigv4a");
	refused(S("", "signing: {}\n"), "e.yaml:9:10: missing required key \"credentials\"");
	refused(S("", "signing: {credentials: k, failover_header: \"a b\"}\n"),
	        "e.yaml:9:27: failover_header: \"a b\" is not a header name (1-256 token "
	        "characters)");

	/* A relative credentials file is anchored at the config's directory. */
	struct edge_config c;
	parse_ok("conf/e.yaml", S("    signing: sigv4a\n", "signing: {credentials: keys}\n"), &c);
	assert_int_equal(c.signing.source, EDGE_CONFIG_CREDS_FILE);
	assert_string_equal(c.signing.credentials_path, "conf/keys");
	edge_config_free(&c);
	parse_ok("e.yaml", S("", "signing: {credentials: keys}\n"), &c);
	assert_string_equal(c.signing.credentials_path, "keys");
	edge_config_free(&c);

	/* The environment, read during the parse. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	refused(S("", "signing: {credentials: env}\n"),
	        "e.yaml:9:11: credentials: env, but AWS_ACCESS_KEY_ID is not set");
	assert_int_equal(setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1), 0);
	refused(S("", "signing: {credentials: env}\n"),
	        "e.yaml:9:11: credentials: env, but AWS_SECRET_ACCESS_KEY is not set");
	assert_int_equal(setenv("AWS_SECRET_ACCESS_KEY", "wJal rXUtnFEMI", 1), 0);
	refused(S("", "signing: {credentials: env}\n"),
	        "e.yaml:9:11: credentials: AWS_SECRET_ACCESS_KEY holds whitespace or a control "
	        "character");
	assert_int_equal(setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", 1), 0);
	parse_ok("e.yaml", S("    signing: sigv4a\n", "signing: {credentials: env}\n"), &c);
	assert_int_equal(c.signing.source, EDGE_CONFIG_CREDS_ENV);
	assert_null(c.signing.credentials_path);
	assert_string_equal(c.signing.access_key, "AKIDEXAMPLE");
	assert_string_equal(c.signing.secret_key, "wJalrXUtnFEMI/K7MDENG");
	assert_null(c.signing.session_token);
	edge_config_free(&c);
	assert_int_equal(setenv("AWS_SESSION_TOKEN", "tok", 1), 0);
	parse_ok("e.yaml", S("", "signing: {credentials: env}\n"), &c);
	assert_string_equal(c.signing.session_token, "tok");
	edge_config_free(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
#undef S

	/* A custom failover header name marks the origins that carry it. */
	parse_ok("e.yaml",
	         D "origins:\n  - {id: a, domain_name: a.t, custom_headers: {x-failover: 1}}\n"
	           "  - {id: b, domain_name: b.t, custom_headers: {originTypeFailover: 1}}\n"
	           "behaviors:\n  - {path_pattern: \"*\", target: a}\n"
	           "signing: {credentials: k, failover_header: X-Failover}\n",
	         &c);
	assert_string_equal(c.signing.failover_header, "X-Failover");
	assert_true(c.origin[0].failover);
	assert_false(c.origin[1].failover);
	edge_config_free(&c);
}

static void test_cache_and_admin(void **state)
{
	(void)state;
	refused(D O B "cache: {memory_bytes: 1000}\n",
	        "e.yaml:9:9: memory_bytes: 1000 is outside 1048576..1125899906842624 bytes");
	refused(D O B "cache: {memory_bytes: 1 GiB}\n",
	        "e.yaml:9:9: memory_bytes: \"1 GiB\" is not a byte size (like 4096, 512KiB, "
	        "256MiB, 2GiB or 1GB)");
	refused(D O B "cache: {disk_bytes: 1GiB}\n",
	        "e.yaml:9:9: disk_bytes: there is no disk tier without disk_path");
	refused(D O B "cache: {error_ttl: 2h}\n",
	        "e.yaml:9:9: error_ttl: 2h is outside 0ms..3600000ms");
	struct edge_config c;
	parse_ok("/etc/m/e.yaml",
	         D O B "cache: {disk_path: c, disk_bytes: 1TiB, not_found_ttl: 0s}\n", &c);
	assert_string_equal(c.cache.disk_path, "/etc/m/c");
	assert_int_equal(c.cache.disk_bytes, 1ull << 40);
	assert_int_equal(c.cache.not_found_ttl_ms, 0);
	assert_int_equal(c.cache.error_ttl_ms, 10000);
	edge_config_free(&c);

	refused(D O B "admin: {listen: 127.0.0.1:9200}\n",
	        "e.yaml:9:9: admin.listen needs admin.credentials: invalidation and metrics never "
	        "run without authentication");
	refused(D O B "admin: {listen: \"localhost:1\", credentials: c}\n",
	        "e.yaml:9:9: listen: \"localhost:1\" is not ip:port or [ipv6]:port (numeric, port "
	        "0-65535)");
	parse_ok("d/e.yaml", D O B "admin: {listen: \"[::1]:0\", credentials: adm}\n", &c);
	assert_string_equal(c.admin_listen, "[::1]:0");
	assert_string_equal(c.admin_credentials, "d/adm");
	edge_config_free(&c);
}

static void test_functions(void **state)
{
	(void)state;
	struct edge_config c;
	parse_ok("/etc/m/e.yaml",
	         D O B "    functions:\n      viewer-request: fn/a.lua\n"
	               "      origin-response: /abs/b.lua\n",
	         &c);
	const struct edge_config_behavior *b = &c.behavior[0];
	assert_string_equal(b->function[0], "/etc/m/fn/a.lua");
	assert_string_equal(b->function_name[0], "fn/a.lua");
	assert_string_equal(b->function_at[0], "/etc/m/e.yaml:10:7");
	assert_null(b->function[1]);
	assert_string_equal(b->function[2], "/abs/b.lua");
	assert_string_equal(b->function_at[2], "/etc/m/e.yaml:11:7");
	assert_null(b->function[3]);
	/* the defaults */
	assert_int_equal(c.fn_limits.memory_bytes, 64ull << 20);
	assert_int_equal(c.fn_limits.instructions, 10000000);
	assert_int_equal(c.fn_limits.viewer_timeout_ms, 5000);
	assert_int_equal(c.fn_limits.origin_timeout_ms, 30000);
	edge_config_free(&c);
	parse_ok("e.yaml",
	         D O B "function_limits: {memory: 2MiB, instructions: 5000, viewer_timeout: 20ms, "
	               "origin_timeout: 1s}\n",
	         &c);
	assert_int_equal(c.fn_limits.memory_bytes, 2u << 20);
	assert_int_equal(c.fn_limits.instructions, 5000);
	assert_int_equal(c.fn_limits.viewer_timeout_ms, 20);
	assert_int_equal(c.fn_limits.origin_timeout_ms, 1000);
	edge_config_free(&c);

	refused(D O B "    functions:\n      viewer_request: a.lua\n",
	        "e.yaml:10:7: unknown key \"viewer_request\"; did you mean \"viewer-request\"?");
	refused(D O B "    functions: [a.lua]\n",
	        "e.yaml:9:5: functions: expected a map, got a sequence");
	refused(D O B "    functions:\n      origin-request: \"\"\n",
	        "e.yaml:10:7: origin-request: must not be empty");
	refused(D O B "function_limits: {memory: 512KiB}\n",
	        "e.yaml:9:19: memory: 512KiB is outside 1048576..1073741824 bytes");
	refused(D O B "function_limits: {instructions: 10}\n",
	        "e.yaml:9:19: instructions: \"10\" is not an integer in 1000..10000000000");
	refused(D O B "function_limits: {origin_timeout: 2m}\n",
	        "e.yaml:9:19: origin_timeout: 2m is outside 1ms..60000ms");
}

static void test_distribution(void **state)
{
	(void)state;
	refused(
	    "distribution:\n  domain: -bad.test\n" O B,
	    "e.yaml:2:3: domain: \"-bad.test\" is not a host name (dot-separated labels of 1-63 "
	    "letters, digits and '-', at most 253)");
	refused("distribution:\n  domain: d.test\n  default_root_object: /index.html\n" O B,
	        "e.yaml:3:3: default_root_object: \"/index.html\" is not an object name (1-255 URL "
	        "path characters, no leading '/', no '*')");
	refused("distribution:\n  domain: d.test\n  default_root_object: \"\"\n" O B,
	        "e.yaml:3:3: default_root_object: must not be empty");
	refused("distribution:\n  domain: d.test\n  id: E2-QW\n" O B,
	        "e.yaml:3:3: id: \"E2-QW\" is not a distribution id (1-128 letters and digits)");
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/edge-config-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/edge.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(D O B "signing: {credentials: keys}\n", f);
	fclose(f);
	struct edge_config c;
	char err[EDGE_CONFIG_ERR_LEN];
	assert_int_equal(edge_config_load(path, &c, err, sizeof(err)), 0);
	char want[160];
	snprintf(want, sizeof(want), "%s/keys", dir);
	assert_string_equal(c.signing.credentials_path, want);
	edge_config_free(&c);
	assert_int_equal(unlink(path), 0);
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(edge_config_load(path, &c, err, sizeof(err)), ERR_IO);
	assert_true(all_zero(&c, sizeof(c)));
	assert_int_equal(rmdir(dir), 0);
	/* YAML errors come through with their position. */
	static const char bad[] = D "origins: [\n";
	assert_int_equal(edge_config_parse("e.yaml", bad, strlen(bad), &c, err, sizeof(err)),
	                 ERR_CONFIG_YAML);
	assert_true(strncmp(err, "e.yaml:", 7) == 0);
	assert_true(all_zero(&c, sizeof(c)));
}

/* The behaviors as edge/behavior.h's table: order, default last, every field. */
static void test_behavior_table(void **state)
{
	(void)state;
	struct edge_config c;
	parse_ok("/srv/edge/edge.yaml", full_text, &c);
	struct edge_behavior_table *t = NULL;
	assert_int_equal(edge_config_behavior_table(&c, &t), 0);
	assert_int_equal(edge_behavior_table_count(t), 3);
	const struct edge_behavior *api = edge_behavior_match(t, IOV_LIT("/api/v1/x.json"));
	const struct edge_behavior *img = edge_behavior_match(t, IOV_LIT("/img/ab.png"));
	const struct edge_behavior *def = edge_behavior_match(t, IOV_LIT("/img/abc.png"));
	assert_string_equal(api->pattern, "/api/*.json");
	assert_string_equal(api->origin_id, "mrap");
	assert_int_equal(api->allowed_methods, EDGE_METHODS_ALL);
	assert_int_equal(api->cached_methods, EDGE_METHODS_GHO);
	assert_true(api->min_ttl == 1 && api->default_ttl == 60 && api->max_ttl == 3600);
	assert_int_equal(api->qs_mode, EDGE_QS_LISTED);
	assert_int_equal(api->qs_count, 2);
	assert_string_equal(api->qs_names[0], "versionId");
	assert_string_equal(api->qs_names[1], "response-content-type");
	assert_int_equal(api->header_count, 2);
	assert_string_equal(api->header_names[0], "accept-encoding");
	assert_true(api->compress && api->key_gzip && api->key_br);
	assert_int_equal(api->sign, EDGE_SIGN_SIGV4);
	assert_string_equal(api->root_object, "index.html");
	assert_string_equal(img->pattern, "img/??.png");
	assert_string_equal(img->origin_id, "both");
	assert_int_equal(img->allowed_methods, EDGE_METHODS_GHO);
	assert_int_equal(img->cached_methods, EDGE_METHODS_GH);
	assert_int_equal(img->qs_mode, EDGE_QS_ALL);
	assert_int_equal(img->sign, EDGE_SIGN_NONE);
	assert_false(img->compress || img->key_gzip);
	assert_true(img->default_ttl == 86400 && img->max_ttl == 31536000);
	assert_string_equal(def->pattern, "*");
	assert_string_equal(def->origin_id, "both");
	assert_int_equal(def->sign, EDGE_SIGN_SIGV4A);
	assert_true(def->min_ttl == 0 && def->default_ttl == 0 && def->max_ttl == 0);
	assert_int_equal(def->qs_mode, EDGE_QS_NONE);
	assert_int_equal(def->header_count, 0);
	edge_behavior_table_free(t);
	edge_config_free(&c);
}

/* A file holds as many behaviors as a table: 64 with the default. */
static void test_behavior_count_fits_the_table(void **state)
{
	(void)state;
	for (int n = EDGE_BEHAVIOR_MAX; n <= EDGE_BEHAVIOR_MAX + 1; n++) {
		char *text = malloc(64 * 1024);
		assert_non_null(text);
		size_t len = (size_t)snprintf(text, 64 * 1024, D O "behaviors:\n");
		for (int i = 0; i + 1 < n; i++)
			len += (size_t)snprintf(text + len, 64 * 1024 - len,
			                        "  - {path_pattern: /p%d/*, target: o1}\n", i);
		len += (size_t)snprintf(text + len, 64 * 1024 - len,
		                        "  - {path_pattern: \"*\", target: o1}\n");
		struct edge_config c;
		char err[EDGE_CONFIG_ERR_LEN];
		int rc = edge_config_parse("n.yaml", text, len, &c, err, sizeof(err));
		if (n == EDGE_BEHAVIOR_MAX) {
			assert_int_equal(rc, 0);
			struct edge_behavior_table *t = NULL;
			assert_int_equal(edge_config_behavior_table(&c, &t), 0);
			assert_int_equal(edge_behavior_table_count(t), (size_t)n);
			assert_string_equal(edge_behavior_match(t, IOV_LIT("/p62/x"))->pattern,
			                    "/p62/*");
			edge_behavior_table_free(t);
			edge_config_free(&c);
		} else {
			assert_int_equal(rc, ERR_CONFIG_SCHEMA);
			assert_non_null(strstr(err, "expected 1 to 64"));
		}
		free(text);
	}
}

/* The origin protocol keys: CloudFront's OriginProtocolPolicy and ports,
 * the old protocol / port keys, bare-IP addresses, and every contradiction
 * refused at the later key with its reason. */
#define ORIGIN(extra) D "origins:\n  - id: o1\n    domain_name: o.test\n" extra B
static void test_origin_protocol(void **state)
{
	(void)state;
	struct edge_config c;
	parse_ok("e.yaml",
	         ORIGIN("    protocol_policy: match-viewer\n    http_port: 8080\n"
	                "    https_port: 8443\n"),
	         &c);
	assert_int_equal(c.origin[0].protocol_policy, EDGE_CONFIG_PROTO_MATCH_VIEWER);
	assert_int_equal(c.origin[0].http_port, 8080);
	assert_int_equal(c.origin[0].https_port, 8443);
	edge_config_free(&c);
	/* protocol: https is https-only, on 443 by default */
	parse_ok("e.yaml", ORIGIN("    protocol: https\n"), &c);
	assert_int_equal(c.origin[0].protocol_policy, EDGE_CONFIG_PROTO_HTTPS_ONLY);
	assert_int_equal(c.origin[0].https_port, 443);
	edge_config_free(&c);
	/* the old and new keys may agree */
	parse_ok("e.yaml", ORIGIN("    protocol: http\n    protocol_policy: http-only\n"), &c);
	assert_int_equal(c.origin[0].protocol_policy, EDGE_CONFIG_PROTO_HTTP_ONLY);
	edge_config_free(&c);
	parse_ok("e.yaml",
	         ORIGIN("    protocol: https\n    protocol_policy: https-only\n"
	                "    https_port: 9443\n"),
	         &c);
	assert_int_equal(c.origin[0].protocol_policy, EDGE_CONFIG_PROTO_HTTPS_ONLY);
	assert_int_equal(c.origin[0].https_port, 9443);
	edge_config_free(&c);
	/* an address without a port: its IP, with the ports of the policy */
	parse_ok("e.yaml",
	         ORIGIN("    address: 127.0.0.1\n    protocol_policy: https-only\n"
	                "    https_port: 9443\n"),
	         &c);
	assert_string_equal(c.origin[0].connect_host, "127.0.0.1");
	assert_int_equal(c.origin[0].address_port, 0);
	edge_config_free(&c);
	parse_ok("e.yaml", ORIGIN("    address: \"[::1]\"\n    protocol_policy: match-viewer\n"),
	         &c);
	assert_string_equal(c.origin[0].connect_host, "[::1]");
	assert_int_equal(c.origin[0].address_port, 0);
	assert_int_equal(c.origin[0].http_port, 80);
	assert_int_equal(c.origin[0].https_port, 443);
	edge_config_free(&c);
	/* match-viewer with ip:port: that port is HTTP's, HTTPS goes to https_port */
	parse_ok("e.yaml",
	         ORIGIN("    address: 127.0.0.1:9100\n    protocol_policy: match-viewer\n"
	                "    https_port: 9443\n"),
	         &c);
	assert_int_equal(c.origin[0].address_port, 9100);
	assert_int_equal(c.origin[0].https_port, 9443);
	edge_config_free(&c);

	refused(ORIGIN("    protocol_policy: tls\n"),
	        "e.yaml:6:5: protocol_policy: \"tls\" is not http-only, https-only or "
	        "match-viewer");
	refused(ORIGIN("    protocol_policy: HTTPS-ONLY\n"),
	        "e.yaml:6:5: protocol_policy: \"HTTPS-ONLY\" is not http-only, https-only or "
	        "match-viewer");
	refused(ORIGIN("    protocol: https\n    protocol_policy: match-viewer\n"),
	        "e.yaml:7:5: protocol_policy: match-viewer contradicts protocol: https (the old "
	        "key: protocol: https means https-only); keep protocol_policy alone");
	refused(ORIGIN("    protocol: http\n    protocol_policy: https-only\n"),
	        "e.yaml:7:5: protocol_policy: https-only contradicts protocol: http (the old "
	        "key: protocol: http means http-only); keep protocol_policy alone");
	refused(ORIGIN("    port: 80\n    http_port: 8080\n"),
	        "e.yaml:7:5: http_port: port is the old name of http_port; give one of them");
	refused(ORIGIN("    https_port: 8443\n"),
	        "e.yaml:6:5: https_port: an http-only origin never uses HTTPS (protocol_policy: "
	        "https-only or match-viewer would)");
	refused(ORIGIN("    protocol: http\n    https_port: 8443\n"),
	        "e.yaml:7:5: https_port: an http-only origin never uses HTTPS (protocol_policy: "
	        "https-only or match-viewer would)");
	refused(ORIGIN("    protocol: https\n    port: 443\n"),
	        "e.yaml:7:5: port: an https-only origin never uses HTTP; it connects to "
	        "https_port");
	refused(ORIGIN("    protocol_policy: https-only\n    http_port: 80\n"),
	        "e.yaml:7:5: http_port: an https-only origin never uses HTTP; it connects to "
	        "https_port");
	refused(ORIGIN("    address: 127.0.0.1:9443\n    protocol_policy: https-only\n"),
	        "e.yaml:6:5: address: \"127.0.0.1:9443\" has a port, which is HTTP's, and an "
	        "https-only origin never uses HTTP: give the IP alone and https_port");
	refused(ORIGIN("    https_port: 0\n"),
	        "e.yaml:6:5: https_port: \"0\" is not an integer in 1..65535");
	refused(ORIGIN("    http_port: 65536\n"),
	        "e.yaml:6:5: http_port: \"65536\" is not an integer in 1..65535");
#undef ORIGIN
}

#define TLS_LISTEN "tls:\n  listen: 127.0.0.1:8443\n  certificates: [{cert: c.pem, key: k.pem}]\n"
#define BEHAVIOR_POLICY(p) \
	"behaviors:\n  - path_pattern: \"*\"\n    target: o1\n    viewer_protocol_policy: " p "\n"

/* viewer_protocol_policy and the shared tls: section. */
static void test_viewer_policy_and_tls(void **state)
{
	(void)state;
	struct edge_config c;
	parse_ok("/srv/edge/e.yaml", D O BEHAVIOR_POLICY("redirect-to-https") TLS_LISTEN, &c);
	assert_int_equal(c.behavior[0].viewer_policy, EDGE_CONFIG_VIEWER_REDIRECT_TO_HTTPS);
	assert_true(c.tls.present);
	assert_string_equal(c.tls.listen, "127.0.0.1:8443");
	assert_int_equal(c.tls.ncerts, 1);
	assert_string_equal(c.tls.certs[0].cert_file, "/srv/edge/c.pem");
	assert_string_equal(c.tls.certs[0].key_file, "/srv/edge/k.pem");
	assert_null(c.tls.ca_file);
	assert_false(c.tls.insecure);
	edge_config_free(&c);
	assert_true(all_zero(&c, sizeof(c)));
	parse_ok("e.yaml", D O BEHAVIOR_POLICY("https-only") TLS_LISTEN, &c);
	assert_int_equal(c.behavior[0].viewer_policy, EDGE_CONFIG_VIEWER_HTTPS_ONLY);
	edge_config_free(&c);
	parse_ok("e.yaml", D O BEHAVIOR_POLICY("allow-all"), &c);
	assert_int_equal(c.behavior[0].viewer_policy, EDGE_CONFIG_VIEWER_ALLOW_ALL);
	edge_config_free(&c);
	/* a tls section for upstream verification only */
	parse_ok("/srv/edge/e.yaml",
	         D "origins:\n  - {id: o1, domain_name: o.test, protocol_policy: https-only}\n" B
	           "tls:\n  ca_file: ca.pem\n",
	         &c);
	assert_true(c.tls.present);
	assert_null(c.tls.listen);
	assert_string_equal(c.tls.ca_file, "/srv/edge/ca.pem");
	edge_config_free(&c);
	parse_ok("e.yaml", D O B "tls:\n  insecure_skip_verify: true\n", &c);
	assert_true(c.tls.insecure);
	edge_config_free(&c);

	/* The key is line 9 (D, O, then three behavior lines). */
	refused(D O BEHAVIOR_POLICY("https-only"),
	        "e.yaml:9:5: viewer_protocol_policy: https-only needs an HTTPS listener "
	        "(tls.listen and tls.certificates)");
	refused(D O BEHAVIOR_POLICY("redirect-to-https") "tls:\n  ca_file: ca.pem\n",
	        "e.yaml:9:5: viewer_protocol_policy: redirect-to-https needs an HTTPS listener "
	        "(tls.listen and tls.certificates)");
	refused(D O BEHAVIOR_POLICY("https") TLS_LISTEN,
	        "e.yaml:9:5: viewer_protocol_policy: \"https\" is not allow-all, "
	        "redirect-to-https or https-only");
	/* The shared section's own errors, at their place in this file. */
	refused(D O B "tls:\n  listen: 127.0.0.1:8443\n",
	        "e.yaml:10:3: tls.listen needs tls.certificates (cert and key files)");
	refused(D O B "tls:\n  ca_file: ca.pem\n  insecure_skip_verify: true\n",
	        "e.yaml:10:3: ca_file: pointless with insecure_skip_verify: true (nothing is "
	        "verified)");
	refused(D O B "tls:\n  lisen: 127.0.0.1:8443\n",
	        "e.yaml:10:3: unknown key \"lisen\"; did you mean \"listen\"?");
	refused(D O B "tls: [a]\n", "e.yaml:9:1: tls: expected a map, got a sequence");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_origin_values),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_failover_statuses),
		cmocka_unit_test(test_member_count),
		cmocka_unit_test(test_behaviors),
		cmocka_unit_test(test_ttl_order),
		cmocka_unit_test(test_signing),
		cmocka_unit_test(test_cache_and_admin),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_behavior_table),
		cmocka_unit_test(test_behavior_count_fits_the_table),
		cmocka_unit_test(test_origin_protocol),
		cmocka_unit_test(test_viewer_policy_and_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
