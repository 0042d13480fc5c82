/*
 * The `tls:` section the router's and the edge's YAML files share (issue
 * 10, docs/internals/http-tls-config.md), read with config/schema:
 *
 *   tls:
 *     listen: 127.0.0.1:8443        # optional: an HTTPS listener beside --listen
 *     certificates:                 # required with listen: 1..NET_TLS_CERTS_MAX,
 *       - cert: edge.pem            #   the first the default, the others by SNI
 *         key: edge-key.pem
 *     ca_file: ca.pem               # optional: verify upstream certificates with this
 *                                   #   CA bundle (default: the system's store)
 *     insecure_skip_verify: false   # true: no verification upstream (logged at start)
 *
 * Paths are anchored at the config file's directory. Startup thread.
 */
#ifndef MERIDIAN_HTTP_TLS_CONFIG_H
#define MERIDIAN_HTTP_TLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config/schema.h"
#include "net/tls.h"

struct http_tls_config {
	char *listen;                                 /* NULL: no HTTPS listener */
	struct net_tls_cert certs[NET_TLS_CERTS_MAX]; /* malloc'd resolved paths */
	size_t ncerts;
	char *ca_file; /* NULL: the system's store */
	bool insecure; /* insecure_skip_verify */
	bool present;  /* the section was there */
};

/* Read root's `tls` section into *out (zeroed first). 0 or the schema's
 * error (file:line:col in its buffer). */
int http_tls_config_read(struct config_schema *s, const struct yaml_tree_node *root,
                         struct http_tls_config *out);
/* Free the strings; zeroes *c. */
void http_tls_config_free(struct http_tls_config *c);

/* The contexts it describes: a server context when listen is set (else
 * *server NULL) and a client context (always: verification by ca_file or
 * the system store, or none when insecure). "edge: TLS verification of
 * upstream certificates is OFF (insecure_skip_verify)" is printed when
 * insecure, with `who` as the prefix. 0 or ERR_TLS_CONFIG / ERR_NOMEM with
 * the reason in err. */
int http_tls_contexts(const struct http_tls_config *c, const char *who,
                      struct net_tls_server **server, struct net_tls_client **client, char *err,
                      size_t errlen);

#endif
