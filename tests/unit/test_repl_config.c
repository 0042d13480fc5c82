/*
 * repl/config: a full file read field by field, every default, each class
 * of error with its exact message and position, credentials files (found
 * relative to the YAML file, their own errors by line, secrets kept out of
 * messages), duplicates, lookups, and *out wiped after errors and free.
 * Every file lives in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "crypto/region.h"
#include "repl/config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A valid peer: lines 2-5, its map at 2:5. "k" holds one key pair. */
#define P1                                                                                   \
	"peers:\n  - name: eu\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9002\n" \
	"    credentials: k\n"

/* A P1 over https: lines 2-5, its map at 2:5, TLS keys go at line 6. */
#define PS                                                                                    \
	"peers:\n  - name: eu\n    region: eu-west-1\n    endpoint: https://127.0.0.1:9443\n" \
	"    credentials: k\n"

/* A CA certificate (any PEM certificate does: the parse only reads it). */
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBhDCCASmgAwIBAgIUc48JN3jDfPuKcdl4VuXugId89p8wCgYIKoZIzj0EAwIw\n"
                             "FzEVMBMGA1UEAwwMdGVzdCByZXBsIENBMB4XDTI2MTEyNzExMzAwOFoXDTM2MTEy\n"
                             "NDExMzAwOFowFzEVMBMGA1UEAwwMdGVzdCByZXBsIENBMFkwEwYHKoZIzj0CAQYI\n"
                             "KoZIzj0DAQcDQgAEa0kLAnSGcM0kVFXkHKinimOqVDsP/FUci/gOmR0PD+TX2TUS\n"
                             "w4RjRi9t6AeDyfENITYwQ83FzFQla4gat4r+NKNTMFEwHQYDVR0OBBYEFCrIK82S\n"
                             "UMlxx1Rgy16xjGzUH37GMB8GA1UdIwQYMBaAFCrIK82SUMlxx1Rgy16xjGzUH37G\n"
                             "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOrlU7jFo9Amxhhi\n"
                             "CiUs/AQg1KGdwNE0Kh1XzmhU1w5qAiEAsesqXJ1/B952gD981h3MqCT+n4yksfT3\n"
                             "EL5nLqzjJpQ=\n"
                             "-----END CERTIFICATE-----\n";

static char dir[64];   /* the temporary directory */
static char yaml[128]; /* dir/r.yaml: the name every parse uses */

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/replcfg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(yaml, sizeof(yaml), "%s/r.yaml", dir);
	char keys[128];
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	if (mkdir(keys, 0700))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	static const char *const files[] = { "k",   "k2",     "keys/eu.keys", "bad",      "empty",
		                             "two", "named",  "shortkey",     "nosecret", "r.yaml",
		                             "abs", "ca.pem", "ca2.pem",      "notpem" };
	char path[256];
	for (size_t i = 0; i < N_ELEMS(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void parse_ok(const char *text, struct repl_config *c)
{
	char err[REPL_CONFIG_ERR_LEN];
	int rc = repl_config_parse(text, strlen(text), yaml, c, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%s): %s\nfor:\n%s", err_name(rc), err, text);
}

/* `text` is refused with `want_rc` and exactly "dir/r.yaml:" + `want`. */
static void refused(const char *text, int want_rc, const char *want)
{
	char err[REPL_CONFIG_ERR_LEN], full[REPL_CONFIG_ERR_LEN];
	struct repl_config c;
	memset(&c, 0xa5, sizeof(c));
	int rc = repl_config_parse(text, strlen(text), yaml, &c, err, sizeof(err));
	snprintf(full, sizeof(full), "%s:%s", yaml, want);
	if (rc != want_rc)
		fail_msg("want %s, got %s (%s) for:\n%s", err_name(want_rc), err_name(rc), err,
		         text);
	if (strcmp(err, full) != 0)
		fail_msg("want message\n  %s\ngot\n  %s", full, err);
	assert_true(all_zero(&c, sizeof(c)));
}

static void test_full_file(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 eu/secret+key\n");
	put("keys/eu.keys", "# the us peer's key\n\n  AKIDUS0002\tus-secret   # rotated 2026\n");
	static const char text[] = "# replication of the demo stack\n"
	                           "peers:\n"
	                           "  - name: eu\n"
	                           "    region: eu-west-1\n"
	                           "    endpoint: http://127.0.0.1:9002\n"
	                           "    credentials: k\n"
	                           "    concurrency: 8\n"
	                           "    timeout: 2m\n"
	                           "    backoff_max: 1h\n"
	                           "  - name: us-2\n"
	                           "    region: us-gov-east-1\n"
	                           "    endpoint: \"https://[::1]/\"\n"
	                           "    credentials: keys/eu.keys\n"
	                           "  - name: ap\n"
	                           "    region: ap-south-1\n"
	                           "    endpoint: http://S3.Example.test:8080\n"
	                           "    credentials: k\n"
	                           "    timeout: 1s\n"
	                           "    backoff_max: 1000ms\n"
	                           "resync_on_empty: false\n";
	struct repl_config c;
	parse_ok(text, &c);
	assert_int_equal(c.npeers, 3);
	assert_false(c.resync_on_empty);

	const struct repl_peer *p = &c.peers[0];
	assert_string_equal(p->name, "eu");
	assert_string_equal(p->region, "eu-west-1");
	assert_int_equal(p->region_id, region_id("eu-west-1"));
	assert_string_equal(p->endpoint, "http://127.0.0.1:9002");
	assert_false(p->https);
	assert_string_equal(p->host, "127.0.0.1");
	assert_int_equal(p->port, 9002);
	assert_true(p->host_is_ip);
	assert_string_equal(p->authority, "127.0.0.1:9002");
	assert_string_equal(p->connect, "127.0.0.1:9002");
	assert_string_equal(p->access_key, "AKIDEU0001");
	assert_string_equal(p->secret_key, "eu/secret+key");
	assert_int_equal(p->concurrency, 8);
	assert_int_equal(p->timeout_ms, 120000);
	assert_int_equal(p->backoff_max_ms, 3600000);

	p = &c.peers[1];
	assert_string_equal(p->name, "us-2");
	assert_string_equal(p->region, "us-gov-east-1");
	assert_string_equal(p->endpoint, "https://[::1]"); /* the final '/' dropped */
	assert_true(p->https);
	assert_string_equal(p->host, "::1");
	assert_int_equal(p->port, 443);
	assert_true(p->host_is_ip);
	assert_string_equal(p->authority, "[::1]");
	assert_string_equal(p->connect, "[::1]:443");
	assert_string_equal(p->access_key, "AKIDUS0002");
	assert_string_equal(p->secret_key, "us-secret");
	assert_int_equal(p->concurrency, REPL_CONCURRENCY_DEFAULT);
	assert_int_equal(p->timeout_ms, REPL_TIMEOUT_DEFAULT_MS);
	assert_int_equal(p->backoff_max_ms, REPL_BACKOFF_DEFAULT_MS);

	p = &c.peers[2];
	assert_string_equal(p->host, "S3.Example.test");
	assert_false(p->host_is_ip);
	assert_int_equal(p->port, 8080);
	assert_string_equal(p->authority, "S3.Example.test:8080");
	assert_string_equal(p->connect, "");
	assert_int_equal(p->timeout_ms, 1000);
	assert_int_equal(p->backoff_max_ms, 1000);

	/* Lookups: exact text, slices need no NUL. */
	assert_ptr_equal(repl_config_peer_by_name(&c, IOV_LIT("us-2")), &c.peers[1]);
	assert_ptr_equal(repl_config_peer_by_name(&c, iov_make("apx", 2)), &c.peers[2]);
	assert_null(repl_config_peer_by_name(&c, IOV_LIT("u")));
	assert_null(repl_config_peer_by_name(&c, IOV_LIT("EU")));
	assert_ptr_equal(repl_config_peer_by_region(&c, IOV_LIT("eu-west-1")), &c.peers[0]);
	assert_ptr_equal(repl_config_peer_by_region(&c, IOV_LIT("ap-south-1")), &c.peers[2]);
	assert_null(repl_config_peer_by_region(&c, IOV_LIT("eu-west-2")));
	assert_null(repl_config_peer_by_region(&c, IOV_LIT("eu")));

	repl_config_free(&c);
	assert_true(all_zero(&c, sizeof(c))); /* secrets included */
	assert_null(repl_config_peer_by_name(&c, IOV_LIT("")));
	repl_config_free(NULL);
}

static void test_defaults(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 s1\n");
	struct repl_config c;
	parse_ok(P1, &c);
	assert_int_equal(c.npeers, 1);
	assert_true(c.resync_on_empty);
	assert_int_equal(c.peers[0].concurrency, 64);
	assert_int_equal(c.peers[0].timeout_ms, 30000);
	assert_int_equal(c.peers[0].backoff_max_ms, 30000);
	repl_config_free(&c);

	parse_ok(P1 "resync_on_empty: true\n", &c);
	assert_true(c.resync_on_empty);
	repl_config_free(&c);

	/* The ends of each range. */
	parse_ok(P1 "    concurrency: 256\n    timeout: 10m\n    backoff_max: 1s\n", &c);
	assert_int_equal(c.peers[0].concurrency, 256);
	assert_int_equal(c.peers[0].timeout_ms, 600000);
	assert_int_equal(c.peers[0].backoff_max_ms, 1000);
	repl_config_free(&c);
	parse_ok(P1 "    concurrency: 1\n", &c);
	assert_int_equal(c.peers[0].concurrency, 1);
	repl_config_free(&c);
}

/* A file of n peers p0..p(n-1) on distinct ports and regions. */
static void many_peers(char *text, size_t cap, size_t n)
{
	size_t off = (size_t)snprintf(text, cap, "peers:\n");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off,
		                        "  - {name: p%zu, region: r%zu, endpoint: "
		                        "\"http://10.0.0.1:%zu\", credentials: k}\n",
		                        i, i, 9000 + i);
}

static void test_shapes(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 s1\n");
	refused("- a\n", ERR_CONFIG_SCHEMA,
	        "1:1: the replication configuration: expected a map, got a sequence");
	refused("resync_on_empty: true\n", ERR_CONFIG_SCHEMA,
	        "1:1: missing required key \"peers\"");
	refused("peers: eu\n", ERR_CONFIG_SCHEMA, "1:1: peers: expected a sequence, got a scalar");
	refused("peers: []\n", ERR_CONFIG_SCHEMA, "1:1: peers: 0 peers; expected 1 to 16");
	refused("peers: !Ref x\n", ERR_CONFIG_SCHEMA,
	        "1:1: peers: expected a sequence, not a !Ref value");
	refused("peers:\n  - eu\n", ERR_CONFIG_SCHEMA,
	        "2:5: peers[0]: expected a map, got a scalar");
	refused(P1 "  - [a]\n", ERR_CONFIG_SCHEMA, "6:5: peers[1]: expected a map, got a sequence");
	refused("peer:\n  - name: eu\n", ERR_CONFIG_SCHEMA,
	        "1:1: unknown key \"peer\"; did you mean \"peers\"?");
	refused(P1 "resync_on_empt: true\n", ERR_CONFIG_SCHEMA,
	        "6:1: unknown key \"resync_on_empt\"; did you mean \"resync_on_empty\"?");
	refused(P1 "color: red\n", ERR_CONFIG_SCHEMA, "6:1: unknown key \"color\"");
	refused(P1 "    endpiont: x\n", ERR_CONFIG_SCHEMA,
	        "6:5: unknown key \"endpiont\"; did you mean \"endpoint\"?");
	refused(P1 "    backof_max: 1s\n", ERR_CONFIG_SCHEMA,
	        "6:5: unknown key \"backof_max\"; did you mean \"backoff_max\"?");
	refused("peers:\n  - name: eu\n    region: eu-west-1\n    credentials: k\n",
	        ERR_CONFIG_SCHEMA, "2:5: missing required key \"endpoint\"");
	refused("peers:\n  - name: eu\n    region: eu-west-1\n    endpoint: http://a\n",
	        ERR_CONFIG_SCHEMA, "2:5: missing required key \"credentials\"");
	refused("peers:\n  - name: \"\"\n    region: eu-west-1\n", ERR_CONFIG_SCHEMA,
	        "2:5: name: must not be empty");
	refused("peers:\n  - name: \"e\\0u\"\n", ERR_CONFIG_SCHEMA,
	        "2:5: name: must not contain a NUL byte");
	refused("peers:\n  - name: [eu]\n", ERR_CONFIG_SCHEMA,
	        "2:5: name: expected a string, got a sequence");

	char text[4096];
	many_peers(text, sizeof(text), 16);
	struct repl_config c;
	parse_ok(text, &c);
	assert_int_equal(c.npeers, 16);
	assert_string_equal(c.peers[15].name, "p15");
	assert_int_equal(c.peers[15].port, 9015);
	repl_config_free(&c);
	many_peers(text, sizeof(text), 17);
	refused(text, ERR_CONFIG_SCHEMA, "1:1: peers: 17 peers; expected 1 to 16");

	/* YAML-level errors come from the tree, with the same file name. */
	refused("peers:\n  - &a {name: eu}\n", ERR_CONFIG_YAML,
	        "2:5: anchors (&a) are not allowed");
}

static void test_values(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 s1\n");
	char text[1024], want[512];
	static const char *const bad_names[] = {
		"EU", "e_u", "e.u", "e u",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	for (size_t i = 0; i < N_ELEMS(bad_names); i++) {
		snprintf(text, sizeof(text),
		         "peers:\n  - name: \"%s\"\n    region: eu-west-1\n    endpoint: http://a\n"
		         "    credentials: k\n",
		         bad_names[i]);
		const char *shown = bad_names[i];
		snprintf(want, sizeof(want),
		         "2:5: name: \"%s\" is not 1-63 characters of a-z, 0-9 and '-'", shown);
		refused(text, ERR_CONFIG_SCHEMA, want);
	}
	static const char *const bad_regions[] = { "1eu",       "-eu",     "eu-",     "eu--west",
		                                   "EU-west-1", "eu_west", "eu.west", "eu west" };
	for (size_t i = 0; i < N_ELEMS(bad_regions); i++) {
		snprintf(text, sizeof(text),
		         "peers:\n  - name: eu\n    region: \"%s\"\n    endpoint: http://a\n"
		         "    credentials: k\n",
		         bad_regions[i]);
		const char *shown = bad_regions[i];
		snprintf(want, sizeof(want),
		         "3:5: region: \"%s\" is not a region name (1-63 characters of a-z, 0-9 "
		         "and '-', a letter first, not '-' last, no \"--\")",
		         shown);
		refused(text, ERR_CONFIG_SCHEMA, want);
	}
	static const char *const bad_endpoints[] = {
		"127.0.0.1:9002",
		"ftp://127.0.0.1",
		"HTTP://127.0.0.1",
		"http://",
		"http://:80",
		"http://127.0.0.1:",
		"http://127.0.0.1:0",
		"http://127.0.0.1:65536",
		"http://127.0.0.1:+80",
		"http://127.0.0.1:000080",
		"http://127.0.0.1/path",
		"http://127.0.0.1//",
		"http://127.0.0.1?x=1",
		"http://127.0.0.1#f",
		"http://user@127.0.0.1",
		"http://::1",
		"http://[::1",
		"http://[::1]x",
		"http://[127.0.0.1]:80",
		"http://[::1]:",
		"http://1.2.3",
		"http://10.0.0.256",
		"http://a..b",
		"http://-a.b",
		"http://a_b",
		"http://a b",
	};
	for (size_t i = 0; i < N_ELEMS(bad_endpoints); i++) {
		snprintf(text, sizeof(text),
		         "peers:\n  - name: eu\n    region: eu-west-1\n    endpoint: \"%s\"\n"
		         "    credentials: k\n",
		         bad_endpoints[i]);
		const char *shown = bad_endpoints[i];
		snprintf(
		    want, sizeof(want),
		    "4:5: endpoint: \"%s\" is not http:// or https:// with a host name, IPv4 or "
		    "[IPv6] address and an optional port 1-65535 (no path, query or user)",
		    shown);
		refused(text, ERR_CONFIG_SCHEMA, want);
	}
	refused(P1 "    concurrency: 0\n", ERR_CONFIG_SCHEMA,
	        "6:5: concurrency: \"0\" is not an integer in 1..256");
	refused(P1 "    concurrency: 257\n", ERR_CONFIG_SCHEMA,
	        "6:5: concurrency: \"257\" is not an integer in 1..256");
	refused(P1 "    concurrency: -1\n", ERR_CONFIG_SCHEMA,
	        "6:5: concurrency: \"-1\" is not an integer in 1..256");
	refused(P1 "    timeout: 999ms\n", ERR_CONFIG_SCHEMA,
	        "6:5: timeout: 999ms is outside 1000ms..600000ms");
	refused(P1 "    timeout: 11m\n", ERR_CONFIG_SCHEMA,
	        "6:5: timeout: 11m is outside 1000ms..600000ms");
	refused(P1 "    timeout: 30\n", ERR_CONFIG_SCHEMA,
	        "6:5: timeout: \"30\" is not a duration (like 500ms, 2s, 5m, 1h)");
	refused(P1 "    backoff_max: 61m\n", ERR_CONFIG_SCHEMA,
	        "6:5: backoff_max: 61m is outside 1000ms..3600000ms");
	refused(P1 "    backoff_max: 0s\n", ERR_CONFIG_SCHEMA,
	        "6:5: backoff_max: 0s is outside 1000ms..3600000ms");
	refused(P1 "resync_on_empty: yes\n", ERR_CONFIG_SCHEMA,
	        "6:1: resync_on_empty: \"yes\" is not true or false");
	/* Sticky: the first error found is the one reported. */
	refused(P1 "    concurrency: 0\n    timeout: 1\n", ERR_CONFIG_SCHEMA,
	        "6:5: concurrency: \"0\" is not an integer in 1..256");
}

/* Two valid region names with one region id, found by search. */
static void colliding_regions(char a[16], char b[16])
{
	static int first[65536];
	memset(first, -1, sizeof(first));
	for (int i = 0; i < 100000; i++) {
		char name[16];
		snprintf(name, sizeof(name), "r%d", i);
		uint16_t id = region_id(name);
		if (first[id] >= 0) {
			snprintf(a, 16, "r%d", first[id]);
			snprintf(b, 16, "%s", name);
			return;
		}
		first[id] = i;
	}
	fail_msg("no region id collision found");
}

static void test_duplicates(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 s1\n");
	refused(P1 "  - name: eu\n    region: us-east-1\n    endpoint: http://127.0.0.1:9003\n"
	           "    credentials: k\n",
	        ERR_CONFIG_SCHEMA, "6:5: duplicate peer name \"eu\" (first at 2:5)");
	refused(P1 "  - name: us\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9003\n"
	           "    credentials: k\n",
	        ERR_CONFIG_SCHEMA, "7:5: duplicate peer region \"eu-west-1\" (first at 3:5)");
	/* Same place: the scheme and a final '/' do not matter. */
	refused(P1 "  - name: us\n    region: us-east-1\n    endpoint: https://127.0.0.1:9002/\n"
	           "    credentials: k\n",
	        ERR_CONFIG_SCHEMA,
	        "8:5: duplicate peer endpoint \"https://127.0.0.1:9002\" (first at 4:5 as "
	        "\"http://127.0.0.1:9002\")");
	/* Host names compare without case; an implicit port is the default. */
	refused(
	    "peers:\n  - {name: a, region: a, endpoint: \"http://S3.example\", credentials: k}\n"
	    "  - {name: b, region: b, endpoint: \"http://s3.EXAMPLE:80\", credentials: k}\n",
	    ERR_CONFIG_SCHEMA,
	    "3:26: duplicate peer endpoint \"http://s3.EXAMPLE:80\" (first at 2:26 as "
	    "\"http://S3.example\")");
	char a[16], b[16], text[512], want[256];
	colliding_regions(a, b);
	assert_int_equal(region_id(a), region_id(b));
	snprintf(text, sizeof(text),
	         "peers:\n  - {name: a, region: %s, endpoint: \"http://h:1\", credentials: k}\n"
	         "  - {name: b, region: %s, endpoint: \"http://h:2\", credentials: k}\n",
	         a, b);
	snprintf(want, sizeof(want),
	         "3:15: region \"%s\" has the same region id 0x%04x as \"%s\" (at 2:15): they "
	         "cannot both replicate",
	         b, region_id(b), a);
	refused(text, ERR_CONFIG_SCHEMA, want);
	/* Distinct everything is fine, also with the same credentials file. */
	struct repl_config c;
	parse_ok(P1 "  - name: us\n    region: us-east-1\n    endpoint: http://127.0.0.1:9003\n"
	            "    credentials: k\n",
	         &c);
	assert_int_equal(c.npeers, 2);
	repl_config_free(&c);
}

/* P1 with its credentials file named `cred`. */
static void cred_text(char *text, size_t cap, const char *cred)
{
	snprintf(
	    text, cap,
	    "peers:\n  - name: eu\n    region: eu-west-1\n    endpoint: http://127.0.0.1:9002\n"
	    "    credentials: %s\n",
	    cred);
}

static void test_credentials(void **state)
{
	(void)state;
	char text[1024], want[REPL_CONFIG_ERR_LEN];

	/* Relative to the YAML file's directory, not the working directory. */
	put("keys/eu.keys", "AKIDKEYS01 keysecret\n");
	cred_text(text, sizeof(text), "keys/eu.keys");
	struct repl_config c;
	parse_ok(text, &c);
	assert_string_equal(c.peers[0].access_key, "AKIDKEYS01");
	repl_config_free(&c);
	/* An absolute path is taken as it is. */
	put("abs", "AKIDABS001 abssecret\n");
	char abs[256];
	snprintf(abs, sizeof(abs), "%s/abs", dir);
	cred_text(text, sizeof(text), abs);
	parse_ok(text, &c);
	assert_string_equal(c.peers[0].secret_key, "abssecret");
	repl_config_free(&c);

	cred_text(text, sizeof(text), "missing");
	snprintf(want, sizeof(want),
	         "5:5: credentials: %s/missing: cannot open: No such file or directory", dir);
	refused(text, ERR_IO, want);

	put("empty", "# no key yet\n\n");
	cred_text(text, sizeof(text), "empty");
	snprintf(want, sizeof(want), "5:5: credentials: %s/empty: no ACCESS_KEY_ID SECRET line",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);

	/* The table is in key order; lines are reported in file order. */
	put("two", "# two keys\nZZZZ0001 s1\n\nAAAA0002 s2\nMMMM0003 s3\n");
	cred_text(text, sizeof(text), "two");
	snprintf(want, sizeof(want),
	         "5:5: credentials: %s/two:4: a second key line (the first is line 2); a peer "
	         "has one key",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);

	put("named", "\nAKIDNAME01 s3cr3t alice\n");
	cred_text(text, sizeof(text), "named");
	snprintf(want, sizeof(want),
	         "5:5: credentials: %s/named:2: expected ACCESS_KEY_ID SECRET, with no third field",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);

	/* The users parser's own errors, by line; the secret is never shown. */
	put("shortkey", "# x\nAK TOPSECRETVALUE\n");
	cred_text(text, sizeof(text), "shortkey");
	snprintf(want, sizeof(want),
	         "5:5: credentials: %s/shortkey:2: access key id must be 3 to 128 letters and "
	         "digits",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);
	put("bad", "AKIDBAD001 TOPSECRETVALUE extra more\n");
	cred_text(text, sizeof(text), "bad");
	char err[REPL_CONFIG_ERR_LEN];
	assert_int_equal(repl_config_parse(text, strlen(text), yaml, &c, err, sizeof(err)),
	                 ERR_CONFIG_SCHEMA);
	snprintf(want, sizeof(want),
	         "%s:5:5: credentials: %s/bad:1: expected ACCESS_KEY_ID SECRET_ACCESS_KEY [name]",
	         yaml, dir);
	assert_string_equal(err, want);
	assert_null(strstr(err, "TOPSECRET"));
	put("nosecret", "AKIDNOSEC1\n");
	cred_text(text, sizeof(text), "nosecret");
	snprintf(want, sizeof(want), "5:5: credentials: %s/nosecret:1: missing secret access key",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);

	/* A failing second peer wipes the first one's secret too. */
	put("k", "AKIDEU0001 firstsecret\n");
	snprintf(text, sizeof(text),
	         P1
	         "  - {name: us, region: us-east-1, endpoint: \"http://h\", credentials: bad}\n");
	snprintf(want, sizeof(want),
	         "6:57: credentials: %s/bad:1: expected ACCESS_KEY_ID SECRET_ACCESS_KEY [name]",
	         dir);
	refused(text, ERR_CONFIG_SCHEMA, want);
}

/* The TLS keys: defaults, inheritance of the top-level ca_file, overrides,
 * server_name, and every refusal with its exact message. */
static void test_tls(void **state)
{
	(void)state;
	put("k", "AKIDEU0001 s1\n");
	put("ca.pem", ca_pem);
	put("ca2.pem", "# a bundle: text before the certificate is skipped\n");
	char path[256];
	snprintf(path, sizeof(path), "%s/ca2.pem", dir);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(ca_pem, f);
	assert_int_equal(fclose(f), 0);
	put("notpem", "not a certificate\n");
	char ca[256], ca2[256];
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(ca2, sizeof(ca2), "%s/ca2.pem", dir);

	/* https with nothing else: the system store, verified, Host the IP. */
	struct repl_config c;
	parse_ok(PS, &c);
	assert_true(c.peers[0].https);
	assert_string_equal(c.peers[0].ca_file, "");
	assert_false(c.peers[0].insecure);
	assert_string_equal(c.peers[0].server_name, "");
	assert_string_equal(c.peers[0].authority, "127.0.0.1:9443");
	repl_config_free(&c);

	/* The top level's ca_file is every https peer's default, resolved
	 * against the YAML file's directory; a peer's own wins; an insecure
	 * peer and an http peer have none. */
	static const char text[] =
	    "ca_file: ca.pem\n"
	    "peers:\n"
	    "  - {name: a, region: a, endpoint: \"https://10.0.0.1:9443\", credentials: k}\n"
	    "  - {name: b, region: b, endpoint: \"https://10.0.0.2\", credentials: k,\n"
	    "     ca_file: ca2.pem, server_name: S3.eu.example}\n"
	    "  - {name: c, region: c, endpoint: \"https://10.0.0.3\", credentials: k,\n"
	    "     insecure_skip_verify: true}\n"
	    "  - {name: d, region: d, endpoint: \"http://10.0.0.4\", credentials: k}\n"
	    "  - {name: e, region: e, endpoint: \"https://[::1]:9443\", credentials: k,\n"
	    "     insecure_skip_verify: false, server_name: store-e}\n";
	parse_ok(text, &c);
	assert_int_equal(c.npeers, 5);
	assert_string_equal(c.peers[0].ca_file, ca);
	assert_string_equal(c.peers[0].authority, "10.0.0.1:9443");
	assert_string_equal(c.peers[1].ca_file, ca2);
	assert_string_equal(c.peers[1].server_name, "S3.eu.example");
	assert_string_equal(c.peers[1].authority, "S3.eu.example"); /* 443 is the default */
	assert_string_equal(c.peers[1].host, "10.0.0.2");           /* still where it connects */
	assert_string_equal(c.peers[1].connect, "10.0.0.2:443");
	assert_string_equal(c.peers[2].ca_file, "");
	assert_true(c.peers[2].insecure);
	assert_false(c.peers[3].https);
	assert_string_equal(c.peers[3].ca_file, "");
	assert_false(c.peers[3].insecure);
	assert_string_equal(c.peers[4].ca_file, ca);
	assert_false(c.peers[4].insecure);
	assert_string_equal(c.peers[4].authority, "store-e:9443"); /* no brackets: a name */
	assert_string_equal(c.peers[4].connect, "[::1]:9443");
	repl_config_free(&c);
	/* An absolute ca_file is taken as it is. */
	char text2[1024];
	snprintf(text2, sizeof(text2), PS "    ca_file: %s\n", ca2);
	parse_ok(text2, &c);
	assert_string_equal(c.peers[0].ca_file, ca2);
	repl_config_free(&c);

	/* TLS keys on an http peer, whatever their value. */
	refused(P1 "    ca_file: ca.pem\n", ERR_CONFIG_SCHEMA,
	        "6:5: ca_file: only for an https:// endpoint (this one is http://)");
	refused(P1 "    insecure_skip_verify: false\n", ERR_CONFIG_SCHEMA,
	        "6:5: insecure_skip_verify: only for an https:// endpoint (this one is http://)");
	refused(P1 "    server_name: s3.example\n", ERR_CONFIG_SCHEMA,
	        "6:5: server_name: only for an https:// endpoint (this one is http://)");
	/* ... but a top-level ca_file with only http peers is fine (unused). */
	parse_ok("ca_file: ca.pem\n" P1, &c);
	assert_string_equal(c.peers[0].ca_file, "");
	repl_config_free(&c);

	refused(PS "    ca_file: ca.pem\n    insecure_skip_verify: true\n", ERR_CONFIG_SCHEMA,
	        "6:5: ca_file: pointless with insecure_skip_verify: true (nothing is verified)");
	refused(PS "    insecure_skip_verify: yes\n", ERR_CONFIG_SCHEMA,
	        "6:5: insecure_skip_verify: \"yes\" is not true or false");
	refused(PS "    insecure_skip_verfy: true\n", ERR_CONFIG_SCHEMA,
	        "6:5: unknown key \"insecure_skip_verfy\"; did you mean "
	        "\"insecure_skip_verify\"?");
	refused(PS "    ca_file: \"\"\n", ERR_CONFIG_SCHEMA, "6:5: ca_file: must not be empty");
	refused(PS "    server_name: \"\"\n", ERR_CONFIG_SCHEMA,
	        "6:5: server_name: must not be empty");
	static const char *const bad_names[] = { "10.0.0.1", "1.2.3", "a_b",   "a..b",
		                                 "-a",       "a b",   "[::1]", "s3.example:443" };
	char want[REPL_CONFIG_ERR_LEN];
	for (size_t i = 0; i < N_ELEMS(bad_names); i++) {
		snprintf(text2, sizeof(text2), PS "    server_name: \"%s\"\n", bad_names[i]);
		snprintf(want, sizeof(want),
		         "6:5: server_name: \"%s\" is not a DNS name (labels of 1-63 letters, "
		         "digits and '-', 253 bytes at most; not an IP address)",
		         bad_names[i]);
		refused(text2, ERR_CONFIG_SCHEMA, want);
	}
	/* The CA file is read: missing (ERR_IO) or not PEM, at either level. */
	snprintf(want, sizeof(want),
	         "6:5: ca_file: %s/nope.pem: cannot open: No such file or directory", dir);
	refused(PS "    ca_file: nope.pem\n", ERR_IO, want);
	snprintf(want, sizeof(want), "6:5: ca_file: %s/notpem: no PEM certificate in it", dir);
	refused(PS "    ca_file: notpem\n", ERR_CONFIG_SCHEMA, want);
	snprintf(want, sizeof(want), "1:1: ca_file: %s/notpem: no PEM certificate in it", dir);
	refused("ca_file: notpem\n" PS, ERR_CONFIG_SCHEMA, want);
	snprintf(want, sizeof(want), "6:1: ca_file: %s/.: no PEM certificate in it", dir);
	refused(PS "ca_file: .\n", ERR_CONFIG_SCHEMA, want); /* "dir/." is a directory */
	refused(PS "insecure_skip_verify: true\n", ERR_CONFIG_SCHEMA,
	        "6:1: unknown key \"insecure_skip_verify\"");
	/* A bad top-level ca_file is found before any peer. */
	snprintf(want, sizeof(want),
	         "1:1: ca_file: %s/nope.pem: cannot open: No such file or directory", dir);
	refused("ca_file: nope.pem\npeers: []\n", ERR_IO, want);
}

static void test_load(void **state)
{
	(void)state;
	put("k2", "AKIDLOAD01 loadsecret\n");
	put("r.yaml", "peers:\n  - name: eu\n    region: eu-west-1\n"
	              "    endpoint: http://[::1]:9002\n    credentials: k2\n");
	char err[REPL_CONFIG_ERR_LEN];
	struct repl_config c;
	assert_int_equal(repl_config_load(yaml, &c, err, sizeof(err)), 0);
	assert_string_equal(c.peers[0].access_key, "AKIDLOAD01");
	assert_string_equal(c.peers[0].connect, "[::1]:9002");
	assert_string_equal(c.peers[0].authority, "[::1]:9002");
	repl_config_free(&c);

	put("r.yaml", "peers:\n  - name: eu\n    regoin: eu-west-1\n");
	assert_int_equal(repl_config_load(yaml, &c, err, sizeof(err)), ERR_CONFIG_SCHEMA);
	char want[512];
	snprintf(want, sizeof(want), "%s:3:5: unknown key \"regoin\"; did you mean \"region\"?",
	         yaml);
	assert_string_equal(err, want);
	assert_true(all_zero(&c, sizeof(c)));

	char missing[128];
	snprintf(missing, sizeof(missing), "%s/nope.yaml", dir);
	assert_int_equal(repl_config_load(missing, &c, err, sizeof(err)), ERR_IO);
	snprintf(want, sizeof(want), "%s: cannot open", missing);
	assert_memory_equal(err, want, strlen(want));
}

static void test_no_error_buffer(void **state)
{
	(void)state;
	struct repl_config c;
	assert_int_equal(repl_config_parse("peers: 1\n", 9, yaml, &c, NULL, 0), ERR_CONFIG_SCHEMA);
	assert_int_equal(repl_config_parse("", 0, yaml, &c, NULL, 0), ERR_CONFIG_YAML);
	char err[8];
	assert_int_equal(repl_config_parse("peers: 1\n", 9, yaml, &c, err, sizeof(err)),
	                 ERR_CONFIG_SCHEMA);
	assert_int_equal(strlen(err), sizeof(err) - 1); /* truncated, terminated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_no_error_buffer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
