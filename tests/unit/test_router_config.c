/*
 * router/config: a full file read field by field, every default, each
 * class of error with its exact position, relative credentials, region ids,
 * and *out left zeroed after any error.
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
#include "crypto/region.h"
#include "router/config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A minimal valid file: lines 1-3 and 4-7. */
#define AP "access_point:\n  name: assets\n  alias: mfzwi23gnjvgw.mrap\n"
#define R1 "regions:\n  - name: eu-west-1\n    endpoint: 127.0.0.1:9001\n    bucket: assets-eu\n"

static void parse_ok(const char *path, const char *text, struct router_config *c)
{
	char err[ROUTER_CONFIG_ERR_LEN];
	int rc = router_config_parse(path, text, strlen(text), c, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%s): %s", err_name(rc), err);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* `text` is refused with `want_rc` and a message starting with `want`. */
static void refused_n(const char *text, size_t n, int want_rc, const char *want)
{
	char err[ROUTER_CONFIG_ERR_LEN];
	struct router_config c;
	memset(&c, 0xa5, sizeof(c));
	int rc = router_config_parse("r.yaml", text, n, &c, err, sizeof(err));
	if (rc != want_rc)
		fail_msg("want %s, got %s (%s) for:\n%s", err_name(want_rc), err_name(rc), err,
		         text);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("want message starting\n  %s\ngot\n  %s", want, err);
	assert_true(all_zero(&c, sizeof(c)));
}

static void refused(const char *text, int want_rc, const char *want)
{
	refused_n(text, strlen(text), want_rc, want);
}

static void test_full_file(void **state)
{
	(void)state;
	static const char text[] = "# the router of the demo stack\n"
	                           "access_point:\n"
	                           "  name: assets-2\n"
	                           "  alias: mfzwi23gnjvgw.mrap\n"
	                           "  domain: accesspoint.example.test\n"
	                           "regions:\n"
	                           "  - name: eu-west-1\n"
	                           "    endpoint: 127.0.0.1:9001\n"
	                           "    bucket: assets-eu\n"
	                           "    dial: active\n"
	                           "  - name: us-east-1\n"
	                           "    endpoint: \"[::1]:9002\"\n"
	                           "    bucket: assets.us\n"
	                           "    dial: passive\n"
	                           "  - {name: ap-south-1, endpoint: 10.0.0.3:80, bucket: a-s}\n"
	                           "routing:\n"
	                           "  probe_interval: 1s\n"
	                           "  probe_timeout: 750ms\n"
	                           "  connect_timeout: 3s\n"
	                           "  first_byte_timeout: 2m\n"
	                           "  passive_fallback: false\n"
	                           "  retry_404: false\n"
	                           "admin:\n"
	                           "  listen: 127.0.0.1:9100\n"
	                           "  credentials: /etc/meridian/admin-credentials\n";
	struct router_config c;
	parse_ok("/srv/router.yaml", text, &c);
	assert_string_equal(c.name, "assets-2");
	assert_string_equal(c.alias, "mfzwi23gnjvgw.mrap");
	assert_string_equal(c.domain, "accesspoint.example.test");
	assert_int_equal(c.nregions, 3);
	assert_string_equal(c.region[0].name, "eu-west-1");
	assert_string_equal(c.region[0].endpoint, "127.0.0.1:9001");
	assert_string_equal(c.region[0].bucket, "assets-eu");
	assert_int_equal(c.region[0].dial, ROUTER_DIAL_ACTIVE);
	assert_string_equal(c.region[1].name, "us-east-1");
	assert_string_equal(c.region[1].endpoint, "[::1]:9002");
	assert_string_equal(c.region[1].bucket, "assets.us");
	assert_int_equal(c.region[1].dial, ROUTER_DIAL_PASSIVE);
	assert_string_equal(c.region[2].name, "ap-south-1");
	assert_string_equal(c.region[2].endpoint, "10.0.0.3:80");
	assert_string_equal(c.region[2].bucket, "a-s");
	assert_int_equal(c.region[2].dial, ROUTER_DIAL_ACTIVE);
	for (uint32_t i = 0; i < c.nregions; i++)
		assert_int_equal(c.region[i].id, region_id(c.region[i].name));
	assert_int_equal(c.region[0].id, 0xd763); /* see test_crypto_region.c */
	assert_int_equal(c.region[1].id, 0x487d);
	assert_int_equal(c.probe_interval_ms, 1000);
	assert_int_equal(c.probe_timeout_ms, 750);
	assert_int_equal(c.connect_timeout_ms, 3000);
	assert_int_equal(c.first_byte_timeout_ms, 120000);
	assert_false(c.passive_fallback);
	assert_false(c.retry_404);
	assert_string_equal(c.admin_listen, "127.0.0.1:9100");
	assert_string_equal(c.admin_credentials, "/etc/meridian/admin-credentials");
	router_config_free(&c);
	assert_true(all_zero(&c, sizeof(c)));
	router_config_free(&c); /* a zeroed struct is a no-op */
	router_config_free(NULL);
}

static void test_defaults(void **state)
{
	(void)state;
	struct router_config c;
	parse_ok("r.yaml", AP R1, &c);
	assert_string_equal(c.name, "assets");
	assert_null(c.domain);
	assert_int_equal(c.nregions, 1);
	assert_int_equal(c.region[0].dial, ROUTER_DIAL_ACTIVE);
	assert_int_equal(c.region[0].id, region_id("eu-west-1"));
	assert_int_equal(c.probe_interval_ms, 500);
	assert_int_equal(c.probe_timeout_ms, 2000);
	assert_int_equal(c.connect_timeout_ms, 2000);
	assert_int_equal(c.first_byte_timeout_ms, 30000);
	assert_true(c.passive_fallback);
	assert_true(c.retry_404);
	assert_null(c.admin_listen);
	assert_null(c.admin_credentials);
	router_config_free(&c);

	/* Empty routing and admin maps change nothing. */
	parse_ok("r.yaml", AP R1 "routing: {}\nadmin: {}\n", &c);
	assert_int_equal(c.probe_interval_ms, ROUTER_CONFIG_PROBE_INTERVAL_MS);
	assert_int_equal(c.first_byte_timeout_ms, ROUTER_CONFIG_FIRST_BYTE_TIMEOUT_MS);
	assert_true(c.passive_fallback && c.retry_404);
	assert_null(c.admin_listen);
	router_config_free(&c);

	/* Bounds are inclusive; credentials alone are allowed; listen port 0. */
	parse_ok("r.yaml",
	         AP R1 "routing:\n  probe_interval: 50ms\n  probe_timeout: 60s\n"
	               "  connect_timeout: 10ms\n  first_byte_timeout: 10m\n"
	               "admin:\n  credentials: c\n",
	         &c);
	assert_int_equal(c.probe_interval_ms, 50);
	assert_int_equal(c.probe_timeout_ms, 60000);
	assert_int_equal(c.connect_timeout_ms, 10);
	assert_int_equal(c.first_byte_timeout_ms, 600000);
	assert_null(c.admin_listen);
	assert_string_equal(c.admin_credentials, "c");
	router_config_free(&c);
	parse_ok("r.yaml", AP R1 "admin:\n  listen: \"[::1]:0\"\n  credentials: c\n", &c);
	assert_string_equal(c.admin_listen, "[::1]:0");
	router_config_free(&c);
}

/* 17 regions are accepted, 18 are not. */
static void test_region_count(void **state)
{
	(void)state;
	char text[4096];
	int k = snprintf(text, sizeof(text), AP "regions:\n");
	for (int i = 0; i < ROUTER_REGIONS_MAX + 1; i++) {
		if (i == ROUTER_REGIONS_MAX) {
			struct router_config c;
			parse_ok("r.yaml", text, &c);
			assert_int_equal(c.nregions, ROUTER_REGIONS_MAX);
			assert_string_equal(c.region[16].name, "r16");
			assert_string_equal(c.region[16].endpoint, "127.0.0.1:9016");
			router_config_free(&c);
		}
		k += snprintf(text + k, sizeof(text) - (size_t)k,
		              "  - {name: r%d, endpoint: 127.0.0.1:%d, bucket: b-%d}\n", i,
		              9000 + i, i);
		assert_true(k > 0 && (size_t)k < sizeof(text));
	}
	refused(text, ERR_CONFIG_SCHEMA, "r.yaml:4:1: regions: 18 regions; expected 1 to 17");
	refused(AP "regions: []\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:4:1: regions: 0 regions; expected 1 to 17");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	refused(AP R1 "regoins: []\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:1: unknown key \"regoins\"; did you mean \"regions\"?");
	refused(AP R1 "zzzzzzzz: 1\n", ERR_CONFIG_SCHEMA, "r.yaml:8:1: unknown key \"zzzzzzzz\"");
	refused("access_point:\n  name: assets\n  alais: x\n" R1, ERR_CONFIG_SCHEMA,
	        "r.yaml:3:3: unknown key \"alais\"; did you mean \"alias\"?");
	refused(AP "regions:\n  - name: eu-west-1\n    endpont: 127.0.0.1:9001\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:6:5: unknown key \"endpont\"; did you mean \"endpoint\"?");
	refused(AP R1 "routing:\n  retry404: false\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: unknown key \"retry404\"; did you mean \"retry_404\"?");
	refused(AP R1 "admin:\n  lisen: 127.0.0.1:1\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: unknown key \"lisen\"; did you mean \"listen\"?");
}

static void test_shapes(void **state)
{
	(void)state;
	refused("hello\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:1:1: the router configuration: expected a map, got a scalar");
	refused(R1, ERR_CONFIG_SCHEMA, "r.yaml:1:1: missing required key \"access_point\"");
	refused(AP, ERR_CONFIG_SCHEMA, "r.yaml:1:1: missing required key \"regions\"");
	refused("access_point: [a]\n" R1, ERR_CONFIG_SCHEMA,
	        "r.yaml:1:1: access_point: expected a map, got a sequence");
	refused(AP "regions: x\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:4:1: regions: expected a sequence, got a scalar");
	refused(AP "regions:\n  - x\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:5:5: regions[0]: expected a map, got a scalar");
	refused(AP R1 "routing: !Ref x\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:1: routing: expected a map, not a !Ref value");
	refused(AP R1 "admin:\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:1: admin: expected a map, got a scalar");
	refused("access_point:\n  alias: x\n" R1, ERR_CONFIG_SCHEMA,
	        "r.yaml:2:3: missing required key \"name\"");
	refused(AP "regions:\n  - name: eu-west-1\n    endpoint: 127.0.0.1:9001\n",
	        ERR_CONFIG_SCHEMA, "r.yaml:5:5: missing required key \"bucket\"");
	/* The YAML layer's errors come through unchanged. */
	refused(AP R1 "routing: {}\nrouting: {}\n", ERR_CONFIG_YAML, "r.yaml:9:1: ");
	refused("", ERR_CONFIG_YAML, "r.yaml:");
}

static void test_names(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "access_point:\n  name: Assets\n  alias: a\n" R1,
		  "r.yaml:2:3: name: \"Assets\" is not 3-50 characters" },
		{ "access_point:\n  name: ab\n  alias: a\n" R1, "r.yaml:2:3: name: \"ab\" is not" },
		{ "access_point:\n  name: -abc\n  alias: a\n" R1,
		  "r.yaml:2:3: name: \"-abc\" is not" },
		{ "access_point:\n  name: abc-\n  alias: a\n" R1,
		  "r.yaml:2:3: name: \"abc-\" is not" },
		{ "access_point:\n  name: a_bc\n  alias: a\n" R1,
		  "r.yaml:2:3: name: \"a_bc\" is not" },
		{ "access_point:\n  name: \"\"\n  alias: a\n" R1,
		  "r.yaml:2:3: name: must not be empty" },
		{ "access_point:\n  name: abc\n  alias: a..mrap\n" R1,
		  "r.yaml:3:3: alias: \"a..mrap\" is not dot-separated labels" },
		{ "access_point:\n  name: abc\n  alias: x.-mrap\n" R1,
		  "r.yaml:3:3: alias: \"x.-mrap\" is not" },
		{ "access_point:\n  name: abc\n  alias: x.mrap.\n" R1,
		  "r.yaml:3:3: alias: \"x.mrap.\" is not" },
		{ "access_point:\n  name: abc\n  alias: X.mrap\n" R1,
		  "r.yaml:3:3: alias: \"X.mrap\" is not" },
		{ "access_point:\n  name: abc\n  alias: a\n  domain: ex_ample.test\n" R1,
		  "r.yaml:4:3: domain: \"ex_ample.test\" is not" },
		{ "access_point:\n  name: abc\n  alias: a\n  domain: \"\"\n" R1,
		  "r.yaml:4:3: domain: must not be empty" },
		{ AP "regions:\n  - name: EU\n    endpoint: 127.0.0.1:1\n    bucket: abc\n",
		  "r.yaml:5:5: name: \"EU\" is not 1-32 characters of a-z, 0-9 and '-'" },
		{ AP "regions:\n  - name: r.1\n    endpoint: 127.0.0.1:1\n    bucket: abc\n",
		  "r.yaml:5:5: name: \"r.1\" is not" },
		{ AP "regions:\n  - name: abcdefghijabcdefghijabcdefghijabc\n    endpoint: "
		     "127.0.0.1:1\n    bucket: abc\n",
		  "r.yaml:5:5: name: \"abcdefghijabcdefghijabcdefghijabc\" is not" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: ab\n",
		  "r.yaml:7:5: bucket: \"ab\" is not a bucket name" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: a..b\n",
		  "r.yaml:7:5: bucket: \"a..b\" is not" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: -ab\n",
		  "r.yaml:7:5: bucket: \"-ab\" is not" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: ab.\n",
		  "r.yaml:7:5: bucket: \"ab.\" is not" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: Abc\n",
		  "r.yaml:7:5: bucket: \"Abc\" is not" },
		{ AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: 192.168.1.1\n",
		  "r.yaml:7:5: bucket: \"192.168.1.1\" is not" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		refused(cases[i].text, ERR_CONFIG_SCHEMA, cases[i].want);

	/* The longest of each is fine. */
	struct router_config c;
	parse_ok("r.yaml",
	         "access_point:\n  name: abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\n"
	         "  alias: a-b.c\n"
	         "regions:\n  - name: abcdefghijabcdefghijabcdefghijab\n"
	         "    endpoint: 127.0.0.1:1\n    bucket: 1.2.3.4.5\n",
	         &c);
	assert_int_equal(strlen(c.name), 50);
	assert_int_equal(strlen(c.region[0].name), 32);
	assert_string_equal(c.region[0].bucket, "1.2.3.4.5");
	router_config_free(&c);
}

/* <alias>.<domain> longer than a DNS name. */
static void test_host_length(void **state)
{
	(void)state;
	char label[64], text[1024];
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(text, sizeof(text),
	         "access_point:\n  name: abc\n  alias: %s.%s\n  domain: %s.%s\n" R1, label, label,
	         label, label);
	refused(text, ERR_CONFIG_SCHEMA,
	        "r.yaml:4:3: domain: the host name <alias>.<domain> would be 255 bytes, more "
	        "than 253");
	snprintf(text, sizeof(text),
	         "access_point:\n  name: abc\n  alias: %s.%s\n  domain: %s.b\n" R1, label, label,
	         label);
	struct router_config c;
	parse_ok("r.yaml", text, &c);
	assert_int_equal(strlen(c.alias) + 1 + strlen(c.domain), 193);
	router_config_free(&c);
	snprintf(text, sizeof(text), "access_point:\n  name: abc\n  alias: %sa\n" R1, label);
	refused(text, ERR_CONFIG_SCHEMA, "r.yaml:3:3: alias: \"aaaa");
}

static void test_addresses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"localhost:9001",    "127.0.0.1",       "127.0.0.1:0",      "127.0.0.1:+80",
		"\"127.0.0.1: 80\"", "\"[::1]:65536\"", "\"::1:80\"",       "\"127.0.0.1:\"",
		"\"[::1]\"",         "1.2.3:80",        "127.0.0.1:000080",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		char text[512], want[128];
		snprintf(text, sizeof(text),
		         AP "regions:\n  - name: r\n    endpoint: %s\n    bucket: abc\n", bad[i]);
		snprintf(want, sizeof(want), "r.yaml:6:5: endpoint: \"");
		refused(text, ERR_CONFIG_SCHEMA, want);
		snprintf(text, sizeof(text), AP R1 "admin:\n  listen: %s\n  credentials: c\n",
		         bad[i]);
		/* port 0 is fine for a listener */
		if (strcmp(bad[i], "127.0.0.1:0") != 0)
			refused(text, ERR_CONFIG_SCHEMA, "r.yaml:9:3: listen: \"");
	}
	refused(AP "regions:\n  - name: r\n    endpoint: 127.0.0.1:1\n    bucket: abc\n"
	           "  - name: s\n    endpoint: \"[::1]:99999\"\n    bucket: abc\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: endpoint: \"[::1]:99999\" is not ip:port or [ipv6]:port (numeric, "
	        "port 1-65535)");
	/* A NUL byte would cut the C string short. */
	static const char nul[] = AP "regions:\n  - name: r\n    endpoint: \"127.0.0.1:1\\0x\"\n"
	                             "    bucket: abc\n";
	refused(nul, ERR_CONFIG_SCHEMA, "r.yaml:6:5: endpoint: must not contain a NUL byte");
	refused(AP R1 "admin:\n  listen: 127.0.0.1:9100\n  credentials: \"\"\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:10:3: credentials: must not be empty");
}

static void test_duplicates(void **state)
{
	(void)state;
	refused(AP R1 "  - name: eu-west-1\n    endpoint: 127.0.0.1:9002\n    bucket: b-2\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: duplicate region name \"eu-west-1\" (first at 5:5)");
	refused(AP R1 "  - name: us-east-1\n    endpoint: 127.0.0.1:9001\n    bucket: b-2\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: duplicate region endpoint \"127.0.0.1:9001\" (first at 6:5 as "
	        "\"127.0.0.1:9001\")");
	/* Endpoints are compared as addresses, not as text. */
	refused(AP "regions:\n  - {name: a, endpoint: \"[::1]:9001\", bucket: abc}\n"
	           "  - {name: b, endpoint: \"[0:0::1]:9001\", bucket: abc}\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:6:15: duplicate region endpoint \"[0:0::1]:9001\" (first at 5:15 as "
	        "\"[::1]:9001\")");
	/* "r43" and "r218" share region id 0xa348 (test_crypto_region.c). */
	refused(AP "regions:\n  - {name: r43, endpoint: 127.0.0.1:1, bucket: abc}\n"
	           "  - {name: r44, endpoint: 127.0.0.1:2, bucket: abc}\n"
	           "  - {name: r218, endpoint: 127.0.0.1:3, bucket: abc}\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:7:6: region \"r218\" has the same region id 0xa348 as \"r43\" (at 5:6)");
	/* Same bucket in two regions is fine (different stores). */
	struct router_config c;
	parse_ok("r.yaml",
	         AP "regions:\n  - {name: a, endpoint: 127.0.0.1:1, bucket: abc}\n"
	            "  - {name: b, endpoint: 127.0.0.1:2, bucket: abc}\n",
	         &c);
	assert_int_equal(c.nregions, 2);
	router_config_free(&c);
}

static void test_dials_and_routing(void **state)
{
	(void)state;
	refused(AP R1 "    dial: on\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: dial: \"on\" is not active or passive");
	refused(AP R1 "    dial: Active\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: dial: \"Active\" is not active or passive");
	refused(AP R1 "    dial: passive\n  - {name: b, endpoint: 127.0.0.1:2, bucket: abc, dial: "
	              "passive}\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:4:1: regions: no region is active (at least one needs dial: active)");
	refused(AP R1 "routing:\n  probe_interval: 10ms\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: probe_interval: 10ms is outside 50ms..60000ms");
	refused(AP R1 "routing:\n  probe_timeout: 9ms\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: probe_timeout: 9ms is outside 10ms..60000ms");
	refused(AP R1 "routing:\n  connect_timeout: 61s\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: connect_timeout: 61s is outside 10ms..60000ms");
	refused(AP R1 "routing:\n  first_byte_timeout: 11m\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: first_byte_timeout: 11m is outside 10ms..600000ms");
	refused(AP R1 "routing:\n  probe_interval: 5\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: probe_interval: \"5\" is not a duration");
	refused(AP R1 "routing:\n  passive_fallback: yes\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: passive_fallback: \"yes\" is not true or false");
	refused(AP R1 "routing:\n  retry_404: [true]\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: retry_404: expected true or false, got a sequence");

	/* One passive region next to an active one. */
	struct router_config c;
	parse_ok("r.yaml",
	         AP R1 "    dial: passive\n  - {name: b, endpoint: 127.0.0.1:2, bucket: abc}\n",
	         &c);
	assert_int_equal(c.region[0].dial, ROUTER_DIAL_PASSIVE);
	assert_int_equal(c.region[1].dial, ROUTER_DIAL_ACTIVE);
	router_config_free(&c);
}

static void test_admin(void **state)
{
	(void)state;
	refused(AP R1 "admin:\n  listen: 127.0.0.1:9100\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: admin.listen needs admin.credentials");
}

static void test_credentials_path(void **state)
{
	(void)state;
	static const struct {
		const char *path, *cred, *want;
	} cases[] = {
		{ "/etc/meridian/router.yaml", "admin-credentials",
		  "/etc/meridian/admin-credentials" },
		{ "/etc/meridian/router.yaml", "keys/admin", "/etc/meridian/keys/admin" },
		{ "/etc/meridian/router.yaml", "/var/lib/admin", "/var/lib/admin" },
		{ "conf/router.yaml", "admin", "conf/admin" },
		{ "/router.yaml", "admin", "/admin" },
		{ "router.yaml", "admin", "admin" },
		{ "router.yaml", "../admin", "../admin" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char text[512];
		snprintf(text, sizeof(text), AP R1 "admin:\n  credentials: %s\n", cases[i].cred);
		struct router_config c;
		parse_ok(cases[i].path, text, &c);
		assert_string_equal(c.admin_credentials, cases[i].want);
		router_config_free(&c);
	}

	/* The joined path must fit PATH_MAX (4096) with its NUL. */
	char text[8192], cred[4092];
	memset(cred, 'c', sizeof(cred) - 1);
	cred[sizeof(cred) - 1] = '\0'; /* 4091 bytes */
	snprintf(text, sizeof(text), AP R1 "admin:\n  credentials: %s\n", cred);
	struct router_config c;
	parse_ok("r.yaml", text, &c); /* nothing joined: 4091 */
	assert_int_equal(strlen(c.admin_credentials), 4091);
	router_config_free(&c);
	char err[ROUTER_CONFIG_ERR_LEN];
	assert_int_equal(
	    router_config_parse("/etc/r.yaml", text, strlen(text), &c, err, sizeof(err)),
	    ERR_CONFIG_SCHEMA);
	assert_string_equal(err, "/etc/r.yaml:9:3: credentials: the path would be 4096 bytes, "
	                         "more than 4095");
	cred[sizeof(cred) - 2] = '\0'; /* 4090 bytes */
	snprintf(text, sizeof(text), AP R1 "admin:\n  credentials: %s\n", cred);
	parse_ok("/etc/r.yaml", text, &c);
	assert_int_equal(strlen(c.admin_credentials), 4095);
	router_config_free(&c);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/rcfg-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], want[128];
	snprintf(path, sizeof(path), "%s/router.yaml", dir);
	snprintf(want, sizeof(want), "%s/admin-credentials", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(AP R1 "admin:\n  listen: 127.0.0.1:9100\n  credentials: admin-credentials\n", f);
	fclose(f);

	char err[ROUTER_CONFIG_ERR_LEN];
	struct router_config c;
	assert_int_equal(router_config_load(path, &c, err, sizeof(err)), 0);
	assert_string_equal(c.admin_credentials, want);
	assert_string_equal(c.region[0].endpoint, "127.0.0.1:9001");
	router_config_free(&c);

	/* Errors from a loaded file name it. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(AP R1 "    dail: active\n", f);
	fclose(f);
	assert_int_equal(router_config_load(path, &c, err, sizeof(err)), ERR_CONFIG_SCHEMA);
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "%s:8:5: unknown key \"dail\"; did you mean \"dial\"?",
	         path);
	assert_string_equal(err, prefix);
	assert_true(all_zero(&c, sizeof(c)));

	assert_int_equal(unlink(path), 0);
	assert_int_equal(router_config_load(path, &c, err, sizeof(err)), ERR_IO);
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_true(all_zero(&c, sizeof(c)));
	assert_int_equal(rmdir(dir), 0);
}

/* Issue 10: protocol and server_name per region, the shared tls: section. */
static void test_tls(void **state)
{
	(void)state;
	static const char text[] =
	    AP "regions:\n"
	       "  - name: eu-west-1\n"
	       "    endpoint: 127.0.0.1:9001\n"
	       "    bucket: assets-eu\n"
	       "    protocol: https\n"
	       "    server_name: eu.store.example.test\n"
	       "  - {name: us-east-1, endpoint: \"[::1]:9002\", bucket: b-2, "
	       "protocol: https}\n"
	       "  - {name: ap-south-1, endpoint: 10.0.0.3:80, bucket: b-3, "
	       "protocol: http}\n"
	       "  - {name: sa-east-1, endpoint: 10.0.0.4:443, bucket: b-4, "
	       "protocol: https, server_name: 10.9.8.7}\n"
	       "tls:\n"
	       "  listen: 127.0.0.1:8443\n"
	       "  certificates:\n"
	       "    - {cert: router.pem, key: keys/router-key.pem}\n"
	       "    - {cert: /etc/other.pem, key: /etc/other-key.pem}\n"
	       "  ca_file: ca.pem\n";
	struct router_config c;
	parse_ok("/srv/conf/router.yaml", text, &c);
	assert_int_equal(c.nregions, 4);
	assert_true(c.any_https);
	assert_true(c.region[0].https);
	assert_string_equal(c.region[0].server_name, "eu.store.example.test");
	assert_string_equal(c.region[0].tls_name, "eu.store.example.test");
	assert_true(c.region[1].https);
	assert_null(c.region[1].server_name);
	assert_string_equal(c.region[1].tls_name, "::1"); /* the endpoint's IP */
	assert_false(c.region[2].https);
	assert_null(c.region[2].server_name);
	assert_null(c.region[2].tls_name);
	assert_string_equal(c.region[3].tls_name, "10.9.8.7");
	assert_true(c.tls.present);
	assert_string_equal(c.tls.listen, "127.0.0.1:8443");
	assert_int_equal(c.tls.ncerts, 2);
	assert_string_equal(c.tls.certs[0].cert_file, "/srv/conf/router.pem");
	assert_string_equal(c.tls.certs[0].key_file, "/srv/conf/keys/router-key.pem");
	assert_string_equal(c.tls.certs[1].cert_file, "/etc/other.pem");
	assert_string_equal(c.tls.ca_file, "/srv/conf/ca.pem");
	assert_false(c.tls.insecure);
	router_config_free(&c);
	assert_true(all_zero(&c, sizeof(c)));

	/* Defaults: plain HTTP, no tls section; an HTTPS listener with plain regions;
	 * https regions verified by the system store (no tls section at all). */
	parse_ok("r.yaml", AP R1, &c);
	assert_false(c.region[0].https || c.any_https || c.tls.present);
	assert_null(c.region[0].tls_name);
	router_config_free(&c);
	parse_ok("r.yaml",
	         AP R1 "tls:\n  listen: \"[::1]:0\"\n  certificates: [{cert: c, key: k}]\n", &c);
	assert_true(c.tls.present && !c.any_https);
	assert_string_equal(c.tls.listen, "[::1]:0");
	assert_string_equal(c.tls.certs[0].cert_file, "c");
	router_config_free(&c);
	parse_ok("r.yaml", AP R1 "    protocol: https\n", &c);
	assert_true(c.any_https && !c.tls.present);
	assert_string_equal(c.region[0].tls_name, "127.0.0.1");
	router_config_free(&c);
	parse_ok("r.yaml", AP R1 "    protocol: https\ntls:\n  insecure_skip_verify: true\n", &c);
	assert_true(c.tls.insecure);
	router_config_free(&c);
	parse_ok("r.yaml", AP R1 "tls:\n  insecure_skip_verify: false\n", &c);
	assert_true(c.tls.present && !c.tls.insecure);
	router_config_free(&c);
}

static void test_tls_errors(void **state)
{
	(void)state;
	refused(AP R1 "    protocol: HTTPS\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: protocol: \"HTTPS\" is not http or https");
	refused(AP R1 "    protocol: ftp\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: protocol: \"ftp\" is not http or https");
	refused(AP R1 "    server_name: eu.example\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: server_name: only with protocol: https (a plain HTTP region has no "
	        "certificate to check)");
	refused(AP R1 "    protocol: http\n    server_name: eu.example\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: server_name: only with protocol: https");
	refused(AP R1 "    protocol: https\n    server_name: Eu_1.example\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: server_name: \"Eu_1.example\" is not a DNS name (dot-separated "
	        "labels of 1-63 characters of a-z, 0-9 and '-', not first or last, at most 253 "
	        "in all)");
	refused(AP R1 "    protocol: https\n    server_name: \"*.example\"\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: server_name: \"*.example\" is not a DNS name");
	refused(AP R1 "    protocol: https\n    server_name: \"\"\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:5: server_name: must not be empty");
	refused(AP R1 "    protocl: https\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: unknown key \"protocl\"; did you mean \"protocol\"?");
	refused(AP R1 "    server-name: x\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:5: unknown key \"server-name\"; did you mean \"server_name\"?");
	/* Upstream settings with nothing upstream to use them. */
	refused(AP R1 "tls:\n  ca_file: ca.pem\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: tls.ca_file: no region has protocol: https (it is for checking the "
	        "stores' certificates)");
	refused(AP R1 "    protocol: http\ntls:\n  insecure_skip_verify: true\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:10:3: tls.insecure_skip_verify: no region has protocol: https");
	/* The shared reader's errors come through with their positions. */
	refused(AP R1 "tls:\n  lisen: 127.0.0.1:1\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: unknown key \"lisen\"; did you mean \"listen\"?");
	refused(AP R1 "tlss: {}\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:1: unknown key \"tlss\"; did you mean \"tls\"?");
	refused(AP R1 "tls: [1]\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:8:1: tls: expected a map, got a sequence");
	refused(AP R1 "tls:\n  listen: 127.0.0.1:8443\n", ERR_CONFIG_SCHEMA,
	        "r.yaml:9:3: tls.listen needs tls.certificates (cert and key files)");
	refused(AP R1 "tls:\n  listen: localhost:8443\n  certificates: [{cert: c, key: k}]\n",
	        ERR_CONFIG_SCHEMA, "r.yaml:9:3: listen: \"localhost:8443\" is not ip:port");
	refused(AP R1 "tls:\n  listen: 127.0.0.1:8443\n  certificates: [{cert: c}]\n",
	        ERR_CONFIG_SCHEMA, "r.yaml:10:18: missing required key \"key\"");
	refused(AP R1 "    protocol: https\ntls:\n  ca_file: c\n  insecure_skip_verify: true\n",
	        ERR_CONFIG_SCHEMA,
	        "r.yaml:10:3: ca_file: pointless with insecure_skip_verify: true (nothing is "
	        "verified)");
}

/* No error buffer at all still gives the code. */
static void test_no_error_buffer(void **state)
{
	(void)state;
	static const char text[] = AP R1 "x: 1\n";
	struct router_config c;
	assert_int_equal(router_config_parse("r.yaml", text, strlen(text), &c, NULL, 0),
	                 ERR_CONFIG_SCHEMA);
	char err[8];
	assert_int_equal(router_config_parse("r.yaml", text, strlen(text), &c, err, sizeof(err)),
	                 ERR_CONFIG_SCHEMA);
	assert_string_equal(err, "r.yaml:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),    cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_region_count), cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_shapes),       cmocka_unit_test(test_names),
		cmocka_unit_test(test_host_length),  cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_duplicates),   cmocka_unit_test(test_dials_and_routing),
		cmocka_unit_test(test_admin),        cmocka_unit_test(test_credentials_path),
		cmocka_unit_test(test_load),         cmocka_unit_test(test_no_error_buffer),
		cmocka_unit_test(test_tls),          cmocka_unit_test(test_tls_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
