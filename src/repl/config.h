/*
 * The store's replication configuration file (YAML, `meridian store
 * --replication FILE`, docs/internals/repl-config.md): the peer stores this
 * one replicates to and how hard to push them, read through config/yaml_tree
 * and config/schema into a plain struct with every default filled in and
 * each peer's credentials already read.
 *
 *   peers:                              # 1..REPL_PEERS_MAX
 *     - name: eu                        # 1-63: a-z 0-9 '-'; unique
 *       region: eu-west-1               # the peer store's region: 1-63 of a-z 0-9
 *                                       # '-', a letter first, not '-' last, no
 *                                       # "--"; unique, and unique as a region id
 *       endpoint: http://127.0.0.1:9002 # http:// or https://, host[:port], at
 *                                       # most a final '/' (http/endpoint.h);
 *                                       # unique as host:port
 *       credentials: keys/eu.keys       # one `ACCESS_KEY_ID SECRET` line (auth/users.h
 *                                       # syntax, no name), # comments; relative to
 *                                       # the YAML file's directory
 *       concurrency: 64                 # 1..256: requests in flight to this peer
 *       timeout: 30s                    # 1s..10m: a request without progress fails
 *       backoff_max: 30s                # 1s..1h: cap of the retry backoff
 *       ca_file: ca.pem                 # https only: verify the peer's certificate
 *                                       # with this PEM bundle (default: the top
 *                                       # level's, else the system store);
 *                                       # relative to the YAML file's directory
 *       insecure_skip_verify: false     # https only: true verifies nothing (the
 *                                       # agent says so at every start)
 *       server_name: s3.eu.example      # https only: the DNS name verified in (and
 *                                       # sent as SNI and Host to) the peer, which
 *                                       # is still reached at the endpoint's address
 *   resync_on_empty: true               # optional, default true
 *   ca_file: ca.pem                     # optional: every https peer's default
 *
 * A ca_file must hold at least one PEM certificate (read here); ca_file
 * and insecure_skip_verify: true together are refused, as are the three
 * TLS keys on an http:// peer.
 *
 * Unknown keys are errors at every level (with "did you mean"). Every error
 * is "file:line:col: message", a value's at its key and a duplicate's at the
 * second one's key; a credentials file's own errors are quoted after the key
 * as "credentials: KEYFILE:line: message" (KEYFILE as resolved). Secrets are
 * never put in a message. Errors are sticky (config/schema.h): only the
 * first one found is reported (resync_on_empty, then the peers in order).
 *
 * Pure apart from reading the YAML and credentials files; startup thread
 * only. The struct owns no heap memory; it holds secrets, so release it
 * with repl_config_free, which wipes it. After that it may be read from any
 * thread.
 */
#ifndef MERIDIAN_REPL_CONFIG_H
#define MERIDIAN_REPL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/users.h"
#include "base/iov.h"
#include "http/endpoint.h"

#define REPL_CONFIG_ERR_LEN 768 /* an error buffer this size holds any message */
#define REPL_PEERS_MAX      16
#define REPL_NAME_MAX       63
#define REPL_REGION_MAX     63
/* "https://" + "[" host "]" + ":65535" + "/" */
#define REPL_ENDPOINT_MAX  (8 + HTTP_ENDPOINT_HOST_MAX + 2 + 6 + 1)
#define REPL_AUTHORITY_MAX (HTTP_ENDPOINT_HOST_MAX + 2 + 6)
#define REPL_PATH_MAX      4095 /* a ca_file path, resolved */

/* Defaults and ranges. */
#define REPL_CONCURRENCY_DEFAULT 64
#define REPL_CONCURRENCY_MAX     256
#define REPL_TIMEOUT_DEFAULT_MS  30000
#define REPL_TIMEOUT_MIN_MS      1000
#define REPL_TIMEOUT_MAX_MS      600000
#define REPL_BACKOFF_DEFAULT_MS  30000
#define REPL_BACKOFF_MIN_MS      1000
#define REPL_BACKOFF_MAX_MS      3600000

struct repl_peer {
	char name[REPL_NAME_MAX + 1];
	char region[REPL_REGION_MAX + 1];
	uint16_t region_id;                   /* region_id(region) (crypto/region.h) */
	char endpoint[REPL_ENDPOINT_MAX + 1]; /* as written, without a final '/' */
	bool https;
	char host[HTTP_ENDPOINT_HOST_MAX + 1]; /* a name, or an IP (IPv6 without brackets) */
	uint16_t port;                         /* as written, else 80 / 443 */
	bool host_is_ip;
	/* The Host header and the URL's host: server_name if set, else host
	 * (bracketed if IPv6); ":port" unless the scheme's default. */
	char authority[REPL_AUTHORITY_MAX + 1];
	/* "ip:port" / "[ipv6]:port" for http_exchange_request.origin when
	 * host_is_ip; "" for a name (resolving it is the caller's job). */
	char connect[REPL_AUTHORITY_MAX + 1];
	char access_key[AUTH_KEY_ID_MAX + 1];
	char secret_key[AUTH_SECRET_MAX + 1]; /* wiped by repl_config_free */
	unsigned concurrency;
	int64_t timeout_ms;
	int64_t backoff_max_ms;
	/* TLS (https only; all empty/false for http). */
	char ca_file[REPL_PATH_MAX + 1]; /* resolved; "": the system store */
	bool insecure;                   /* insecure_skip_verify: true */
	/* The name verified in the peer's certificate instead of host; "":
	 * host itself (a name, or an IP checked against IP SANs). */
	char server_name[HTTP_ENDPOINT_HOST_MAX + 1];
};

struct repl_config {
	size_t npeers;
	struct repl_peer peers[REPL_PEERS_MAX]; /* in file order */
	bool resync_on_empty;
};

/*
 * Parse the YAML `text`/`len` (borrowed, need not be NUL-terminated);
 * `file` (not NULL) names it in messages and anchors relative credentials
 * paths, whose files are read here. 0, or ERR_CONFIG_YAML / ERR_TOO_BIG
 * (config/yaml_tree.h) / ERR_CONFIG_SCHEMA / ERR_IO (a credentials file
 * cannot be read) / ERR_NOMEM, with `err` holding the message (truncated to
 * errlen; errlen 0 is allowed). On error *out is wiped and owns nothing.
 */
int repl_config_parse(const char *text, size_t len, const char *file, struct repl_config *out,
                      char *err, size_t errlen);
/* Read `path` (at most YAML_TREE_MAX_INPUT bytes) and parse it; also
 * ERR_IO with "path: cannot open: why" when it cannot be read. */
int repl_config_load(const char *path, struct repl_config *out, char *err, size_t errlen);
/* Wipe *c, secrets included (OPENSSL_cleanse). NULL is a no-op. */
void repl_config_free(struct repl_config *c);

/* The peer with exactly this name / region, or NULL. Borrowed from *c. */
const struct repl_peer *repl_config_peer_by_name(const struct repl_config *c, struct iov name);
const struct repl_peer *repl_config_peer_by_region(const struct repl_config *c, struct iov region);

#endif
