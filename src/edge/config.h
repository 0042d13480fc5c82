/*
 * The edge's configuration file (YAML; docs/edge.md "Configuration file",
 * docs/internals/edge-config.md): one distribution, its origins, origin
 * groups and ordered cache behaviors, origin-request signing, the cache's
 * budgets and the admin endpoint, read through config/yaml_tree and
 * config/schema into plain structs with every default filled in.
 *
 *   distribution:
 *     domain: d111.edge.example.test     # required; in every cache key
 *     default_root_object: index.html    # optional; no leading '/'
 *     id: E2QWRUHAPOMQZL                 # optional: the invalidation API's distribution
 *                                        # id (letters, digits); default: the domain's
 *                                        # first label
 *   origins:                             # 1..EDGE_CONFIG_ORIGINS_MAX
 *     - id: mrap                         # unique among origins and groups
 *       domain_name: x.mrap.accesspoint.s3-global.example.test  # sent as Host
 *       address: 127.0.0.1:9100          # optional connect override: ip:port (the
 *                                        # port is HTTP's) or a bare ip / [ipv6]
 *       protocol_policy: match-viewer    # http-only (default) | https-only |
 *                                        # match-viewer (CloudFront's names)
 *       http_port: 80                    # (80) when the address has no port; the
 *                                        # old key `port` means the same
 *       https_port: 443                  # (443); HTTPS goes to the address's ip or
 *                                        # domain_name at this port, verifying the
 *                                        # certificate for domain_name
 *       # protocol: http | https         # old key: http-only | https-only
 *       origin_path: /prefix             # optional: '/' first, not last
 *       custom_headers: {X-Origin-Token: abc}
 *       connect_timeout: 10s             # 100ms..10s  (CloudFront 1-10 s, 10)
 *       read_timeout: 30s                # 100ms..120s (CloudFront 1-120 s, 30)
 *       keepalive_timeout: 5s            # 1s..60s     (CloudFront 1-60 s, 5)
 *       connection_attempts: 3           # 1..3        (CloudFront 1-3, 3)
 *   origin_groups:                       # optional
 *     - id: both
 *       members: [mrap, backup]          # 2..EDGE_CONFIG_MEMBERS_MAX origin ids
 *       failover_statuses: [500, 502, 503, 504]  # of 400 403 404 416 500 502 503 504
 *   behaviors:                           # ordered, first match wins; "*" last
 *     - path_pattern: "*"
 *       target: both                     # an origin or group id
 *       allowed_methods: [GET, HEAD]     # or +OPTIONS, or all seven
 *       cached_methods: [GET, HEAD]      # or +OPTIONS (when allowed)
 *       min_ttl: 0s                      # whole seconds, min <= default <= max
 *       default_ttl: 24h
 *       max_ttl: 8760h
 *       cache_key: {query_strings: none, headers: []}  # none | all | [names]
 *       signing: sigv4a                  # none | sigv4 | sigv4a
 *       signing_region: us-east-1        # sigv4 only
 *       compress: false
 *       viewer_protocol_policy: allow-all  # | redirect-to-https | https-only
 *                                        # (those two need tls.listen)
 *       functions:                       # optional edge functions (issue 9), one file
 *         viewer-request: fn/rewrite.lua # per event type: viewer-request,
 *         origin-request: fn/sign.lua    # origin-request, origin-response,
 *                                        # viewer-response
 *   function_limits:                     # optional; per worker state / per call
 *     memory: 64MiB                      # 1MiB..1GiB
 *     instructions: 10000000             # 1000..10000000000
 *     viewer_timeout: 5s                 # 1ms..30s (CloudFront: 5 s)
 *     origin_timeout: 30s                # 1ms..60s (CloudFront: 30 s)
 *   signing:                             # required when a behavior signs
 *     credentials: edge-credentials      # a file (one "KEY SECRET" line) or env
 *     failover_header: originTypeFailover
 *   cache:
 *     memory_bytes: 256MiB
 *     disk_path: cache                   # optional disk tier
 *     disk_bytes: 1GiB
 *     error_ttl: 10s
 *     not_found_ttl: 2s
 *   admin:                               # optional: invalidation and metrics
 *     listen: 127.0.0.1:9200
 *     credentials: admin-credentials     # required with listen
 *   tls:                                 # optional: http/tls_config.h's section
 *     listen: 127.0.0.1:8443             # the HTTPS listener beside --listen
 *     certificates: [{cert: edge.pem, key: edge-key.pem}]
 *     ca_file: ca.pem                    # verifies https origins (default: system)
 *     insecure_skip_verify: false
 *
 * Unknown keys are errors at every level (with "did you mean"), as are
 * duplicate ids, a target or member that does not exist, a group as a
 * member, TTLs out of order, the "*" behavior missing or not last, two
 * behaviors with one pattern, signing without credentials, a viewer
 * policy other than allow-all without tls.listen, and contradictory origin
 * protocol keys (protocol with protocol_policy, port with http_port, a
 * port the policy never uses, an address port on an https-only origin;
 * see docs/internals/edge-config.md). Every error
 * is "file:line:col: message" (a value's error at its key, a duplicate's at
 * the second), except out of memory ("file: out of memory").
 *
 * Relative paths (signing.credentials, cache.disk_path, admin.credentials,
 * function files)
 * are anchored at the config file's directory. `credentials: env` reads
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional)
 * AWS_SESSION_TOKEN during the parse; a credentials file is only named
 * here, and read by whoever signs.
 *
 * Pure apart from reading the file and the environment; startup thread
 * only. The struct owns its arrays and strings (NUL-terminated copies);
 * free with edge_config_free. Reading a parsed struct is safe from any
 * number of threads.
 */
#ifndef MERIDIAN_EDGE_CONFIG_H
#define MERIDIAN_EDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/behavior-t.h"
#include "http/tls_config.h"

#define EDGE_CONFIG_ERR_LEN 512

/* Caps (CloudFront's default quotas in brackets; ours are higher). */
#define EDGE_CONFIG_ORIGINS_MAX      64                /* [25] */
#define EDGE_CONFIG_GROUPS_MAX       64                /* [10] */
#define EDGE_CONFIG_MEMBERS_MAX      8                 /* [2]: more than two is our extension */
#define EDGE_CONFIG_BEHAVIORS_MAX    EDGE_BEHAVIOR_MAX /* [25]; what a behavior table holds */
#define EDGE_CONFIG_HEADERS_MAX      16                /* custom headers per origin [10] */
#define EDGE_CONFIG_HEADER_NAME_MAX  256
#define EDGE_CONFIG_HEADER_VALUE_MAX 1783
#define EDGE_CONFIG_KEY_ITEMS_MAX \
	EDGE_KEY_LIST_MAX /* query strings, and headers, in one cache key */
#define EDGE_CONFIG_KEY_ITEM_MAX      EDGE_KEY_NAME_MAX /* bytes of one such name */
#define EDGE_CONFIG_ID_MAX            EDGE_ORIGIN_ID_MAX
#define EDGE_CONFIG_PATH_PATTERN_MAX  EDGE_PATTERN_MAX
#define EDGE_CONFIG_ORIGIN_PATH_MAX   255
#define EDGE_CONFIG_ROOT_OBJECT_MAX   EDGE_ROOT_OBJECT_MAX
#define EDGE_CONFIG_FAILOVER_STATUSES 8 /* 400 403 404 416 500 502 503 504 */

/* Origin defaults and ranges, in milliseconds (attempts a count). */
#define EDGE_CONFIG_CONNECT_TIMEOUT_MS  10000
#define EDGE_CONFIG_CONNECT_TIMEOUT_MIN 100
#define EDGE_CONFIG_CONNECT_TIMEOUT_MAX 10000
#define EDGE_CONFIG_READ_TIMEOUT_MS     30000
#define EDGE_CONFIG_READ_TIMEOUT_MIN    100
#define EDGE_CONFIG_READ_TIMEOUT_MAX    120000
#define EDGE_CONFIG_KEEPALIVE_MS        5000
#define EDGE_CONFIG_KEEPALIVE_MIN       1000
#define EDGE_CONFIG_KEEPALIVE_MAX       60000
#define EDGE_CONFIG_ATTEMPTS            3
#define EDGE_CONFIG_ATTEMPTS_MAX        3
#define EDGE_CONFIG_PORT                80
#define EDGE_CONFIG_HTTPS_PORT          443

/* Behavior TTL defaults and cap, in seconds (CloudFront's). */
#define EDGE_CONFIG_MIN_TTL     0
#define EDGE_CONFIG_DEFAULT_TTL 86400
#define EDGE_CONFIG_MAX_TTL     31536000
#define EDGE_CONFIG_TTL_CAP     3153600000ull /* 100 years */

/* Cache defaults and ranges. */
#define EDGE_CONFIG_MEMORY_BYTES     (256ull << 20)
#define EDGE_CONFIG_MEMORY_MIN       (1ull << 20)
#define EDGE_CONFIG_DISK_BYTES       (1ull << 30)
#define EDGE_CONFIG_DISK_MIN         (1ull << 20)
#define EDGE_CONFIG_BYTES_MAX        (1ull << 50)
#define EDGE_CONFIG_ERROR_TTL_MS     10000 /* CloudFront's error caching minimum TTL */
#define EDGE_CONFIG_NOT_FOUND_TTL_MS 2000  /* a replication-lag 404 must not stick */
#define EDGE_CONFIG_ERROR_TTL_MAX    3600000

/* Edge functions: event types, in CloudFront's order (edge/fn_event.h's
 * enum edge_fn_trigger has the same values), and function_limits. */
#define EDGE_CONFIG_FN_EVENTS        4
#define EDGE_CONFIG_FN_MEMORY        (64ull << 20)
#define EDGE_CONFIG_FN_MEMORY_MIN    (1ull << 20)
#define EDGE_CONFIG_FN_MEMORY_MAX    (1ull << 30)
#define EDGE_CONFIG_FN_INSTR         10000000ull
#define EDGE_CONFIG_FN_INSTR_MIN     1000ull
#define EDGE_CONFIG_FN_INSTR_MAX     10000000000ull
#define EDGE_CONFIG_FN_VIEWER_MS     5000
#define EDGE_CONFIG_FN_VIEWER_MS_MAX 30000
#define EDGE_CONFIG_FN_ORIGIN_MS     30000
#define EDGE_CONFIG_FN_ORIGIN_MS_MAX 60000
extern const char *const edge_config_fn_events[EDGE_CONFIG_FN_EVENTS];

#define EDGE_CONFIG_FAILOVER_HEADER "originTypeFailover"

/* Methods, as bits. */
enum edge_config_method {
	EDGE_CONFIG_GET = 1u << 0,
	EDGE_CONFIG_HEAD = 1u << 1,
	EDGE_CONFIG_OPTIONS = 1u << 2,
	EDGE_CONFIG_PUT = 1u << 3,
	EDGE_CONFIG_PATCH = 1u << 4,
	EDGE_CONFIG_POST = 1u << 5,
	EDGE_CONFIG_DELETE = 1u << 6,
};
/* The only sets CloudFront (and we) accept. */
#define EDGE_CONFIG_METHODS_GET_HEAD         (EDGE_CONFIG_GET | EDGE_CONFIG_HEAD)
#define EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS (EDGE_CONFIG_METHODS_GET_HEAD | EDGE_CONFIG_OPTIONS)
#define EDGE_CONFIG_METHODS_ALL                                                       \
	(EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS | EDGE_CONFIG_PUT | EDGE_CONFIG_PATCH | \
	 EDGE_CONFIG_POST | EDGE_CONFIG_DELETE)

/* CloudFront's OriginProtocolPolicy. */
enum edge_config_protocol {
	EDGE_CONFIG_PROTO_HTTP_ONLY = 1,
	EDGE_CONFIG_PROTO_HTTPS_ONLY,
	EDGE_CONFIG_PROTO_MATCH_VIEWER, /* the viewer's protocol */
};

/* CloudFront's ViewerProtocolPolicy. */
enum edge_config_viewer_policy {
	EDGE_CONFIG_VIEWER_ALLOW_ALL = 0,
	EDGE_CONFIG_VIEWER_REDIRECT_TO_HTTPS, /* HTTP viewers get a 301 to https:// */
	EDGE_CONFIG_VIEWER_HTTPS_ONLY,        /* HTTP viewers get a 403 */
};

enum edge_config_signing {
	EDGE_CONFIG_SIGN_NONE = 0,
	EDGE_CONFIG_SIGN_SIGV4,
	EDGE_CONFIG_SIGN_SIGV4A,
};

enum edge_config_query {
	EDGE_CONFIG_QUERY_NONE = 0,
	EDGE_CONFIG_QUERY_ALL,
	EDGE_CONFIG_QUERY_LIST,
};

enum edge_config_target {
	EDGE_CONFIG_TARGET_ORIGIN = 1,
	EDGE_CONFIG_TARGET_GROUP,
};

enum edge_config_creds {
	EDGE_CONFIG_CREDS_NONE = 0, /* no signing section */
	EDGE_CONFIG_CREDS_FILE,     /* signing.credentials_path names the file */
	EDGE_CONFIG_CREDS_ENV,      /* the keys below, read from the environment */
};

struct edge_config_header {
	char *name; /* as written (a token) */
	char *value;
};

struct edge_config_origin {
	char *id;
	char *domain_name;     /* the Host header */
	char *address;         /* as written: "ip:port", "[ipv6]:port", "ip" or "[ipv6]"; NULL */
	char *connect_host;    /* the address's IP (brackets kept) or domain_name */
	uint16_t address_port; /* the address's port (HTTP's), 0 when it has none */
	uint16_t http_port;    /* (80) also the old key `port` */
	uint16_t https_port;   /* (443) */
	enum edge_config_protocol protocol_policy; /* protocol: http / https map here */
	char *origin_path;                         /* "/a/b" or NULL */
	uint32_t nheaders;
	struct edge_config_header *header; /* nheaders, in file order */
	uint32_t connect_timeout_ms;
	uint32_t read_timeout_ms;
	uint32_t keepalive_timeout_ms;
	uint32_t connection_attempts;
	bool failover; /* carries signing.failover_header (ASCII case ignored) */
};

struct edge_config_group {
	char *id;
	uint32_t nmembers;
	uint32_t *member; /* indexes into edge_config.origin, in failover order */
	uint32_t nstatuses;
	uint16_t status[EDGE_CONFIG_FAILOVER_STATUSES]; /* ascending */
};

struct edge_config_behavior {
	char *path_pattern; /* as written: '*' and '?' wildcards */
	enum edge_config_target target_kind;
	uint32_t target;          /* index into origin[] or group[] */
	uint32_t allowed_methods; /* one of the EDGE_CONFIG_METHODS_* sets */
	uint32_t cached_methods;  /* GET|HEAD, or GET|HEAD|OPTIONS */
	uint64_t min_ttl_s, default_ttl_s, max_ttl_s;
	enum edge_config_query query_strings;
	uint32_t nquery;
	char **query; /* names, with QUERY_LIST; file order, unique */
	uint32_t nkey_headers;
	char **key_header; /* lowercased, unique */
	enum edge_config_signing signing;
	char *signing_region; /* sigv4 only; NULL otherwise */
	bool compress;
	enum edge_config_viewer_policy viewer_policy;
	/* Edge functions by event type (EDGE_CONFIG_FN_*): the resolved path
	 * or NULL, the path as written, and "file:line:col" of its key (for
	 * load errors, which edge/fn.c reports at start). */
	char *function[EDGE_CONFIG_FN_EVENTS];
	char *function_name[EDGE_CONFIG_FN_EVENTS];
	char *function_at[EDGE_CONFIG_FN_EVENTS];
};

struct edge_config_function_limits {
	uint64_t memory_bytes;
	uint64_t instructions;
	uint32_t viewer_timeout_ms;
	uint32_t origin_timeout_ms;
};

struct edge_config_signing_creds {
	enum edge_config_creds source;
	char *credentials_path; /* CREDS_FILE: resolved path */
	char *access_key;       /* CREDS_ENV */
	char *secret_key;       /* CREDS_ENV; wiped by edge_config_free */
	char *session_token;    /* CREDS_ENV, NULL when unset */
	char *failover_header;  /* always set */
};

struct edge_config_cache {
	uint64_t memory_bytes;
	char *disk_path; /* NULL: memory only */
	uint64_t disk_bytes;
	uint32_t error_ttl_ms;
	uint32_t not_found_ttl_ms;
};

struct edge_config {
	char *domain;
	char *id;                  /* distribution.id, else the domain's first label */
	char *default_root_object; /* NULL when absent */
	uint32_t norigins;
	struct edge_config_origin *origin;
	uint32_t ngroups;
	struct edge_config_group *group;
	uint32_t nbehaviors; /* >= 1; behavior[nbehaviors - 1] is "*" */
	struct edge_config_behavior *behavior;
	struct edge_config_signing_creds signing;
	struct edge_config_cache cache;
	struct edge_config_function_limits fn_limits;
	char *admin_listen;         /* NULL when absent */
	char *admin_credentials;    /* resolved; NULL when absent */
	struct http_tls_config tls; /* the shared `tls:` section (tls.present) */
};

/* Parse the YAML text `p`/`n` (borrowed); `path` (not NULL) names it in
 * messages and anchors relative paths. 0, or ERR_CONFIG_YAML / ERR_TOO_BIG
 * (config/yaml_tree.h) / ERR_CONFIG_SCHEMA / ERR_NOMEM with `err` holding
 * "path:line:col: message" (truncated to errcap). On error *out is zeroed
 * and owns nothing. */
int edge_config_parse(const char *path, const char *p, size_t n, struct edge_config *out, char *err,
                      size_t errcap);
/* Read `path` (capped at YAML_TREE_MAX_INPUT) and parse it; also ERR_IO. */
int edge_config_load(const char *path, struct edge_config *out, char *err, size_t errcap);
/* Free everything (the secret wiped first) and zero *c; NULL and a zeroed
 * struct are no-ops. */
void edge_config_free(struct edge_config *c);

/* Whether group `g` fails over on `status` (its failover_statuses). */
bool edge_config_group_fails_over(const struct edge_config_group *g, unsigned status);

struct edge_behavior_table;
/*
 * The behaviors as the table edge/behavior.h matches requests against, in
 * file order with the default last: pattern, target id, methods, TTLs,
 * cache key lists, signing mode, compression (which turns on both
 * Accept-Encoding key switches) and the distribution's default root
 * object. A SigV4 behavior's region stays in the config
 * (signing_region). 0, or ERR_EDGE_BEHAVIOR_INVALID / ERR_NOMEM; free with
 * edge_behavior_table_free. Config-load thread.
 */
int edge_config_behavior_table(const struct edge_config *c, struct edge_behavior_table **out);

/* The origin or group id a behavior targets (borrowed from *c). */
const char *edge_config_target_id(const struct edge_config *c,
                                  const struct edge_config_behavior *b);

#endif
