/*
 * http/tls_config: the tls: section the router and the edge share (issue
 * 10). A full section read field by field, an absent one, each error with
 * its exact position, paths anchored at the file's directory, and the
 * contexts http_tls_contexts refuses to build from unusable files.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "http/tls_config.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Read `text` as file `path`; the rc, the message in err. *out is freed by
 * the caller (also after an error: the reader may have filled part). */
static int read_text(const char *path, const char *text, struct http_tls_config *out, char *err,
                     size_t errlen)
{
	struct yaml_tree *t = NULL;
	memset(out, 0, sizeof(*out));
	int rc = yaml_tree_parse(path, text, strlen(text), &t, err, errlen);
	if (rc)
		return rc;
	struct config_schema s;
	config_schema_init(&s, t, err, errlen);
	rc = http_tls_config_read(&s, yaml_tree_root(t), out);
	yaml_tree_free(t);
	return rc;
}

static void read_ok(const char *path, const char *text, struct http_tls_config *out)
{
	char err[YAML_TREE_ERR_LEN] = "";
	int rc = read_text(path, text, out, err, sizeof(err));
	if (rc)
		fail_msg("read failed (%s): %s\n%s", err_name(rc), err, text);
}

/* `text` is refused with ERR_CONFIG_SCHEMA and exactly the message `want`. */
static void refused(const char *text, const char *want)
{
	char err[YAML_TREE_ERR_LEN] = "";
	struct http_tls_config c;
	int rc = read_text("t.yaml", text, &c, err, sizeof(err));
	http_tls_config_free(&c);
	if (rc != ERR_CONFIG_SCHEMA)
		fail_msg("want ERR_CONFIG_SCHEMA, got %s (%s) for:\n%s", err_name(rc), err, text);
	if (strcmp(err, want) != 0)
		fail_msg("want\n  %s\ngot\n  %s", want, err);
}

static void test_full(void **state)
{
	(void)state;
	static const char text[] = "other: 1\n"
	                           "tls:\n"
	                           "  listen: \"[::1]:8443\"\n"
	                           "  certificates:\n"
	                           "    - cert: edge.pem\n"
	                           "      key: keys/edge-key.pem\n"
	                           "    - {cert: /etc/ssl/b.pem, key: /etc/ssl/b-key.pem}\n"
	                           "  ca_file: ../ca.pem\n"
	                           "  insecure_skip_verify: false\n";
	struct http_tls_config c;
	read_ok("/srv/conf/edge.yaml", text, &c);
	assert_true(c.present);
	assert_string_equal(c.listen, "[::1]:8443");
	assert_int_equal(c.ncerts, 2);
	assert_string_equal(c.certs[0].cert_file, "/srv/conf/edge.pem");
	assert_string_equal(c.certs[0].key_file, "/srv/conf/keys/edge-key.pem");
	assert_string_equal(c.certs[1].cert_file, "/etc/ssl/b.pem");
	assert_string_equal(c.certs[1].key_file, "/etc/ssl/b-key.pem");
	assert_string_equal(c.ca_file, "/srv/conf/../ca.pem");
	assert_false(c.insecure);
	http_tls_config_free(&c);
	assert_null(c.listen);
	assert_int_equal(c.ncerts, 0);
	assert_false(c.present);
	http_tls_config_free(&c); /* a zeroed struct is a no-op */
}

static void test_absent_and_partial(void **state)
{
	(void)state;
	struct http_tls_config c;
	read_ok("t.yaml", "other: 1\n", &c);
	assert_false(c.present);
	assert_null(c.listen);
	assert_null(c.ca_file);
	assert_int_equal(c.ncerts, 0);
	http_tls_config_free(&c);

	read_ok("t.yaml", "tls: {}\n", &c);
	assert_true(c.present);
	assert_null(c.listen);
	assert_null(c.ca_file);
	assert_false(c.insecure);
	http_tls_config_free(&c);

	read_ok("t.yaml", "tls:\n  insecure_skip_verify: true\n", &c);
	assert_true(c.present && c.insecure);
	http_tls_config_free(&c);

	/* A file name without a directory: relative paths stay as written. */
	read_ok("t.yaml", "tls:\n  ca_file: ca.pem\n", &c);
	assert_string_equal(c.ca_file, "ca.pem");
	http_tls_config_free(&c);

	/* NET_TLS_CERTS_MAX certificates are accepted. */
	char text[4096];
	int k = snprintf(text, sizeof(text), "tls:\n  listen: 127.0.0.1:0\n  certificates:\n");
	for (int i = 0; i < NET_TLS_CERTS_MAX; i++)
		k += snprintf(text + k, sizeof(text) - (size_t)k, "    - {cert: c%d, key: k%d}\n",
		              i, i);
	assert_true(k > 0 && (size_t)k < sizeof(text));
	read_ok("d/t.yaml", text, &c);
	assert_int_equal(c.ncerts, NET_TLS_CERTS_MAX);
	assert_string_equal(c.certs[15].cert_file, "d/c15");
	assert_string_equal(c.certs[15].key_file, "d/k15");
	http_tls_config_free(&c);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "tls: x\n", "t.yaml:1:1: tls: expected a map, got a scalar" },
		{ "tls: [a]\n", "t.yaml:1:1: tls: expected a map, got a sequence" },
		{ "tls:\n  lissen: 127.0.0.1:1\n",
		  "t.yaml:2:3: unknown key \"lissen\"; did you mean \"listen\"?" },
		{ "tls:\n  ca-file: x\n",
		  "t.yaml:2:3: unknown key \"ca-file\"; did you mean \"ca_file\"?" },
		{ "tls:\n  listen: localhost:443\n  certificates: [{cert: c, key: k}]\n",
		  "t.yaml:2:3: listen: \"localhost:443\" is not ip:port or [ipv6]:port (numeric, "
		  "port 0-65535)" },
		{ "tls:\n  listen: 127.0.0.1:65536\n  certificates: [{cert: c, key: k}]\n",
		  "t.yaml:2:3: listen: \"127.0.0.1:65536\" is not ip:port or [ipv6]:port (numeric, "
		  "port 0-65535)" },
		{ "tls:\n  listen: \"\"\n", "t.yaml:2:3: listen: must not be empty" },
		{ "tls:\n  listen: 127.0.0.1:1\n",
		  "t.yaml:2:3: tls.listen needs tls.certificates (cert and key files)" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates: []\n",
		  "t.yaml:2:3: tls.listen needs tls.certificates (cert and key files)" },
		{ "tls:\n  certificates: [{cert: c, key: k}]\n",
		  "t.yaml:2:3: tls.certificates without tls.listen: nothing would serve them" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates: c.pem\n",
		  "t.yaml:3:3: certificates: expected a sequence, got a scalar" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates:\n    - c.pem\n",
		  "t.yaml:4:7: certificates[0]: expected a map with cert and key" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates:\n    - {cert: c, key: k}\n"
		  "    - {cert: c2}\n",
		  "t.yaml:5:7: missing required key \"key\"" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates:\n    - {key: k}\n",
		  "t.yaml:4:7: missing required key \"cert\"" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates:\n    - {cert: c, key: k, chain: "
		  "x}\n",
		  "t.yaml:4:25: unknown key \"chain\"" },
		{ "tls:\n  listen: 127.0.0.1:1\n  certificates:\n    - {cert: \"\", key: k}\n",
		  "t.yaml:4:8: cert: must not be empty" },
		{ "tls:\n  ca_file: ca.pem\n  insecure_skip_verify: true\n",
		  "t.yaml:2:3: ca_file: pointless with insecure_skip_verify: true (nothing is "
		  "verified)" },
		{ "tls:\n  insecure_skip_verify: yes\n",
		  "t.yaml:2:3: insecure_skip_verify: \"yes\" is not true or false" },
		{ "tls:\n  ca_file: \"a\\0b\"\n",
		  "t.yaml:2:3: ca_file: must not contain a NUL byte" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		refused(cases[i].text, cases[i].want);

	/* One certificate more than NET_TLS_CERTS_MAX. */
	char text[4096];
	int k = snprintf(text, sizeof(text), "tls:\n  listen: 127.0.0.1:0\n  certificates:\n");
	for (int i = 0; i <= NET_TLS_CERTS_MAX; i++)
		k += snprintf(text + k, sizeof(text) - (size_t)k, "    - {cert: c%d, key: k%d}\n",
		              i, i);
	assert_true(k > 0 && (size_t)k < sizeof(text));
	refused(text, "t.yaml:3:3: certificates: 17; at most 16");
}

/* A relative path is anchored at the file's directory and refused when the
 * result would not fit in PATH_MAX. */
static void test_path_length(void **state)
{
	(void)state;
	size_t n = PATH_MAX - 4; /* "dir/" + n = PATH_MAX bytes: one too many */
	char *name = malloc(n + 1), *text = malloc(n + 64), want[128];
	assert_non_null(name);
	assert_non_null(text);
	memset(name, 'a', n);
	name[n] = '\0';
	snprintf(text, n + 64, "tls:\n  ca_file: %s\n", name);
	char err[YAML_TREE_ERR_LEN];
	struct http_tls_config c;
	assert_int_equal(read_text("dir/t.yaml", text, &c, err, sizeof(err)), ERR_CONFIG_SCHEMA);
	http_tls_config_free(&c);
	snprintf(want, sizeof(want),
	         "dir/t.yaml:2:3: ca_file: the path would be %d bytes, more than %d", PATH_MAX,
	         PATH_MAX - 1);
	assert_string_equal(err, want);
	/* Without the directory it fits. */
	read_ok("t.yaml", text, &c);
	assert_int_equal(strlen(c.ca_file), n);
	http_tls_config_free(&c);
	free(name);
	free(text);
}

/* The contexts: files that cannot be read are ERR_TLS_CONFIG naming them;
 * without listen there is no server context and the client one is built. */
static void test_contexts(void **state)
{
	(void)state;
	struct net_tls_server *srv = (struct net_tls_server *)1;
	struct net_tls_client *cl = (struct net_tls_client *)1;
	char err[NET_TLS_ERR_LEN] = "";
	struct http_tls_config c;

	read_ok("/nonexistent-dir/t.yaml",
	        "tls:\n  listen: 127.0.0.1:0\n  certificates: [{cert: c.pem, key: k.pem}]\n", &c);
	assert_int_equal(http_tls_contexts(&c, "test", &srv, &cl, err, sizeof(err)),
	                 ERR_TLS_CONFIG);
	assert_null(srv);
	assert_null(cl);
	assert_non_null(strstr(err, "/nonexistent-dir/c.pem"));
	http_tls_config_free(&c);

	err[0] = '\0';
	read_ok("/nonexistent-dir/t.yaml", "tls:\n  ca_file: ca.pem\n", &c);
	assert_int_equal(http_tls_contexts(&c, "test", &srv, &cl, err, sizeof(err)),
	                 ERR_TLS_CONFIG);
	assert_null(srv);
	assert_null(cl);
	assert_true(err[0] != '\0');
	http_tls_config_free(&c);

	read_ok("t.yaml", "tls:\n  insecure_skip_verify: true\n", &c);
	assert_int_equal(http_tls_contexts(&c, "test", &srv, &cl, err, sizeof(err)), 0);
	assert_null(srv);
	assert_non_null(cl);
	net_tls_client_free(cl);
	http_tls_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),     cmocka_unit_test(test_absent_and_partial),
		cmocka_unit_test(test_errors),   cmocka_unit_test(test_path_length),
		cmocka_unit_test(test_contexts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
