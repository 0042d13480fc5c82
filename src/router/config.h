/*
 * The router's configuration file (YAML, docs/internals/router.md
 * "Configuration file"): one access point,
 * its regions and the routing knobs, read through config/yaml_tree and
 * config/schema into a plain struct with every default filled in.
 *
 *   access_point:
 *     name: assets                      # 3-50: a-z 0-9 '-', not at either end
 *     alias: mfzwi23gnjvgw.mrap         # '.'-separated labels of 1-63: a-z 0-9 '-',
 *                                       # not '-' first or last; 253 in all
 *     domain: accesspoint.example.test  # optional: serve Host <alias>.<domain>;
 *                                       # alias's rules, <alias>.<domain> <= 253
 *   regions:                            # 1..ROUTER_REGIONS_MAX
 *     - name: eu-west-1                 # 1-32: a-z 0-9 '-'; unique
 *       endpoint: 127.0.0.1:9001        # the store, ip:port or [ipv6]:port, port
 *                                       # 1-65535; unique as an address
 *       bucket: assets-eu               # the store's bucket behind the alias: 3-63
 *                                       # of a-z 0-9 '.' '-', alnum at both ends,
 *                                       # no "..", not an IPv4 address
 *       dial: active                    # active | passive (default active)
 *       protocol: https                 # http | https (default http)
 *       server_name: eu.store.example   # https only: the DNS name the store's
 *                                       # certificate must carry (alias's rules);
 *                                       # default: the endpoint's IP, checked
 *                                       # against the certificate's IP addresses
 *   routing:                            # optional, defaults shown
 *     probe_interval: 500ms             # 50ms..60s
 *     probe_timeout: 2s                 # 10ms..60s
 *     connect_timeout: 2s               # 10ms..60s
 *     first_byte_timeout: 30s           # 10ms..10m
 *     passive_fallback: true            # passive regions serve when no active can
 *     retry_404: true                   # GET/HEAD 404 tried on the other regions
 *   admin:                              # optional: no control API without it
 *     listen: 127.0.0.1:9100            # control API and /metrics (port 0: any)
 *     credentials: admin-credentials    # users file (auth/users.h) of admin keys;
 *                                       # relative to the config file's directory
 *   tls:                                # optional (http/tls_config.h): listen and
 *     listen: 127.0.0.1:8443            # certificates for an HTTPS listener beside
 *     certificates:                     # --listen; ca_file or insecure_skip_verify
 *       - {cert: router.pem, key: router-key.pem}  # for the https regions
 *     ca_file: ca.pem
 *
 * Unknown keys are errors at every level (with "did you mean"), as are two
 * regions with the same name, endpoint (compared as addresses) or region id
 * (crypto/region.h), no active region, and admin.listen without
 * admin.credentials, server_name with protocol http, and tls.ca_file or
 * tls.insecure_skip_verify when no region is https. Present strings must not be empty or hold a NUL
 * byte; routing and admin, when present, must be maps. Every error is "file:line:col: message" (a
 * value's error at its key, a duplicate's at the second one's key), except out of memory ("file:
 * out of memory").
 *
 * Pure apart from reading the file; startup thread only. The struct owns
 * its strings (NUL-terminated copies); free with router_config_free.
 */
#ifndef MERIDIAN_ROUTER_CONFIG_H
#define MERIDIAN_ROUTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/tls_config.h"
#include "router/routes.h"

#define ROUTER_CONFIG_ERR_LEN 512

/* routing: defaults. */
#define ROUTER_CONFIG_PROBE_INTERVAL_MS     500
#define ROUTER_CONFIG_PROBE_TIMEOUT_MS      2000
#define ROUTER_CONFIG_CONNECT_TIMEOUT_MS    2000
#define ROUTER_CONFIG_FIRST_BYTE_TIMEOUT_MS 30000

struct router_config_region {
	char *name;     /* e.g. "eu-west-1" */
	char *endpoint; /* "127.0.0.1:9001", checked by http_endpoint_addr (http/endpoint.h) */
	char *bucket;
	enum router_dial dial;
	uint16_t id;       /* region_id(name): what the store puts in upload ids */
	bool https;        /* protocol: https */
	char *server_name; /* as configured; NULL when absent */
	char *tls_name;    /* https: server_name, else the endpoint's IP ("::1" for
	                    * "[::1]:9001"), the name the certificate is checked for;
	                    * NULL for http */
};

struct router_config {
	char *name;   /* access point name */
	char *alias;  /* access point alias */
	char *domain; /* NULL when absent */
	uint32_t nregions;
	struct router_config_region region[ROUTER_REGIONS_MAX];
	uint32_t probe_interval_ms;
	uint32_t probe_timeout_ms;
	uint32_t connect_timeout_ms;
	uint32_t first_byte_timeout_ms;
	bool passive_fallback;
	bool retry_404;
	char *admin_listen;         /* NULL when absent */
	char *admin_credentials;    /* absolute, or the file's directory (path up to its last
	                             * '/', nothing if none) + the value; NULL when absent */
	struct http_tls_config tls; /* the tls: section (tls.present false when absent) */
	bool any_https;             /* some region has protocol: https */
};

/* Parse the YAML text `p`/`n` (borrowed); `path` (not NULL) names it in
 * messages and anchors relative admin.credentials and tls paths. 0, or ERR_CONFIG_YAML /
 * ERR_TOO_BIG (config/yaml_tree.h) / ERR_CONFIG_SCHEMA / ERR_NOMEM with
 * `err` holding "path:line:col: message" (truncated to errcap).
 * On error *out is zeroed and owns nothing. */
int router_config_parse(const char *path, const char *p, size_t n, struct router_config *out,
                        char *err, size_t errcap);
/* Read `path` (capped at YAML_TREE_MAX_INPUT) and parse it; also ERR_IO
 * with "path: cannot open: why" (or read) when it cannot be read. */
int router_config_load(const char *path, struct router_config *out, char *err, size_t errcap);
/* Free the strings and zero *c; NULL and a zeroed struct are no-ops. */
void router_config_free(struct router_config *c);

#endif
