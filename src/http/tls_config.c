/* http/tls_config: see tls_config.h. */
#include "http/tls_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/endpoint.h"

static const char *const tls_keys[] = { "listen", "certificates", "ca_file",
	                                "insecure_skip_verify" };
static const char *const cert_keys[] = { "cert", "key" };

static int read_cert(struct config_schema *s, const struct yaml_tree_node *item, size_t i,
                     struct net_tls_cert *out)
{
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(s, item,
		                          "certificates[%zu]: expected a map with cert and key", i);
	if (config_schema_keys(s, item, cert_keys, 2))
		return s->rc;
	const struct yaml_tree_node *kc = NULL, *kk = NULL;
	struct iov cert, key;
	char *c = NULL, *k = NULL;
	config_schema_cstr(s, item, "cert", CONFIG_REQUIRED, &cert, &kc);
	if (config_schema_cstr(s, item, "key", CONFIG_REQUIRED, &key, &kk) ||
	    config_schema_path(s, kc, "cert", cert, &c))
		return s->rc;
	if (config_schema_path(s, kk, "key", key, &k)) {
		free(c);
		return s->rc;
	}
	out->cert_file = c;
	out->key_file = k;
	return 0;
}

int http_tls_config_read(struct config_schema *s, const struct yaml_tree_node *root,
                         struct http_tls_config *out)
{
	memset(out, 0, sizeof(*out));
	const struct yaml_tree_node *m =
	    config_schema_section(s, root, "tls", CONFIG_OPTIONAL, YAML_TREE_MAP);
	if (!m || config_schema_keys(s, m, tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0])))
		return s->rc;
	out->present = true;
	const struct yaml_tree_node *kl = NULL, *kca = NULL;
	struct iov listen, ca;
	config_schema_cstr(s, m, "listen", CONFIG_OPTIONAL, &listen, &kl);
	config_schema_cstr(s, m, "ca_file", CONFIG_OPTIONAL, &ca, &kca);
	if (config_schema_bool(s, m, "insecure_skip_verify", CONFIG_OPTIONAL, &out->insecure))
		return s->rc;
	if (listen.base && http_endpoint_addr(listen, true, NULL, NULL) != 0)
		return config_schema_fail(s, kl,
		                          "listen: \"%.*s\" is not ip:port or [ipv6]:port "
		                          "(numeric, port 0-65535)",
		                          config_schema_quote_len(listen), listen.base);
	if (ca.base && out->insecure)
		return config_schema_fail(s, kca,
		                          "ca_file: pointless with insecure_skip_verify: true "
		                          "(nothing is verified)");
	const struct yaml_tree_node *seq =
	    config_schema_section(s, m, "certificates", CONFIG_OPTIONAL, YAML_TREE_SEQ);
	if (s->rc)
		return s->rc;
	size_t n = seq ? yaml_tree_len(seq) : 0;
	if (listen.base && n == 0)
		return config_schema_fail(s, kl,
		                          "tls.listen needs tls.certificates (cert and key files)");
	if (!listen.base && n)
		return config_schema_fail(s, config_schema_key(m, "certificates"),
		                          "tls.certificates without tls.listen: nothing would "
		                          "serve them");
	if (n > NET_TLS_CERTS_MAX)
		return config_schema_fail(s, config_schema_key(m, "certificates"),
		                          "certificates: %zu; at most %d", n, NET_TLS_CERTS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (read_cert(s, yaml_tree_item(seq, i), i, &out->certs[i]))
			return s->rc;
		out->ncerts = i + 1;
	}
	if (listen.base && config_schema_dup2(s, IOV_NULL, listen, &out->listen))
		return s->rc;
	if (ca.base && config_schema_path(s, kca, "ca_file", ca, &out->ca_file))
		return s->rc;
	return 0;
}

void http_tls_config_free(struct http_tls_config *c)
{
	free(c->listen);
	free(c->ca_file);
	for (size_t i = 0; i < c->ncerts; i++) {
		free((char *)c->certs[i].cert_file);
		free((char *)c->certs[i].key_file);
	}
	memset(c, 0, sizeof(*c));
}

int http_tls_contexts(const struct http_tls_config *c, const char *who,
                      struct net_tls_server **server, struct net_tls_client **client, char *err,
                      size_t errlen)
{
	*server = NULL;
	*client = NULL;
	int rc = 0;
	if (c->listen)
		rc = net_tls_server_new(c->certs, c->ncerts, server, err, errlen);
	struct net_tls_client_config cc = { .ca_file = c->ca_file, .insecure = c->insecure };
	if (rc == 0)
		rc = net_tls_client_new(&cc, client, err, errlen);
	if (rc) {
		net_tls_server_free(*server);
		*server = NULL;
		return rc;
	}
	if (c->insecure)
		fprintf(stderr,
		        "%s: TLS verification of upstream certificates is OFF "
		        "(tls.insecure_skip_verify: true)\n",
		        who);
	return 0;
}
