/*
 * The stack file of `meridian up` (docs/stack-file.md,
 * docs/internals/deploy-stack.md): a CloudFormation-shaped YAML template
 * (Parameters, Resources, Outputs; !Ref, !GetAtt, !Sub and their long
 * forms) read into a validated plan in which every reference is an index
 * and every !Sub is expanded. Attributes only known once processes run
 * (a store's Endpoint, a location's EdgeUrl) stay as "${Id.Attr}" in the
 * strings marked `deferred`; deploy_stack_expand fills them in later from
 * a caller's callback.
 *
 * Validation reports every error it finds, not just the first, each as
 * "file:line:col: message" in a struct deploy_stack_diag, sorted by
 * position: unknown keys (with "did you mean"), wrong types, missing
 * required properties, dangling references (with "did you mean" over
 * parameters and logical ids), reference cycles (named), !GetAtt of an
 * attribute the type lacks, parameter values outside AllowedValues,
 * duplicate names, and YAML syntax errors.
 *
 * Pure but for one look at each function file: no processes, no sockets,
 * no file reads (an object's File is only named, anchored at the stack
 * file's directory; deploy_stack_load reads the stack file itself; a
 * behavior's Functions files are resolved to absolute paths and opened to
 * check that they are readable regular files, never read). Startup thread; a finished plan is
 * read-only and may be read from any thread until deploy_stack_free.
 */
#ifndef MERIDIAN_DEPLOY_STACK_H
#define MERIDIAN_DEPLOY_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "edge/config.h"

#define DEPLOY_STACK_MAGIC 0x53544b31u /* "STK1" */

#define DEPLOY_STACK_DIAG_MAX   64  /* messages kept; more are counted in `dropped` */
#define DEPLOY_STACK_DIAG_LEN   512 /* bytes of one message, NUL included */
#define DEPLOY_STACK_PARAMS_MAX 64
#define DEPLOY_STACK_RES_MAX    256        /* resources in one stack */
#define DEPLOY_STACK_ITEMS_MAX  64         /* items of one list property */
#define DEPLOY_STACK_VALUE_MAX  4096       /* bytes of one expanded string */
#define DEPLOY_STACK_NONE       UINT32_MAX /* an absent optional index */
#define DEPLOY_STACK_PREFIX_MAX 1024       /* bytes of a replication rule's Prefix (S3's) */
/* The message of a refusal that found no error to name (a bug; the fuzzer
 * watches for it). */
#define DEPLOY_STACK_INCOMPLETE "a resource was refused without a message (a bug)"

/* A behavior's Functions (docs/stack-file.md): the four event types, in
 * the order a request meets them. */
enum deploy_stack_fn_event {
	DEPLOY_STACK_FN_VIEWER_REQUEST = 0,
	DEPLOY_STACK_FN_ORIGIN_REQUEST,
	DEPLOY_STACK_FN_ORIGIN_RESPONSE,
	DEPLOY_STACK_FN_VIEWER_RESPONSE,
	DEPLOY_STACK_FN_EVENTS,
};
_Static_assert(DEPLOY_STACK_FN_EVENTS == EDGE_CONFIG_FN_EVENTS,
               "the stack's event types are the edge's, in its order");
/* The stack's key (ViewerRequest) and the edge's (viewer-request) of event e. */
const char *deploy_stack_fn_key(enum deploy_stack_fn_event e);
const char *deploy_stack_fn_edge_key(enum deploy_stack_fn_event e);

/* FunctionLimits' ranges are the edge's (EDGE_CONFIG_FN_*_MIN/_MAX). */

/* Default domain of an access point's Host: <alias>.<this>. */
#define DEPLOY_STACK_MRAP_DOMAIN "accesspoint.s3-global.meridian.test"
/* Default domain of a distribution: <id lowercased>.<this>. */
#define DEPLOY_STACK_EDGE_DOMAIN "edge.meridian.test"

enum deploy_stack_type {
	DEPLOY_STACK_LOCATION = 0,
	DEPLOY_STACK_STORE,
	DEPLOY_STACK_BUCKET,
	DEPLOY_STACK_CREDENTIALS,
	DEPLOY_STACK_ACCESS_POINT,
	DEPLOY_STACK_DISTRIBUTION,
	DEPLOY_STACK_LATENCY,
	DEPLOY_STACK_NTYPES,
};

struct deploy_stack_diag {
	uint32_t n;       /* messages in msg[] */
	uint32_t dropped; /* further errors not kept */
	struct {
		unsigned line, col; /* 0 for messages without a position */
		char text[DEPLOY_STACK_DIAG_LEN];
	} msg[DEPLOY_STACK_DIAG_MAX];
};

/* A parameter value given on the command line (overrides Default). */
struct deploy_stack_override {
	const char *name;
	const char *value;
};

struct deploy_stack_param {
	char *name;
	bool number; /* Type: Number */
	char *value; /* the override, else Default */
};

/* Every resource, in file order: logical id -> its typed array slot. */
struct deploy_stack_resource {
	char *logical_id;
	enum deploy_stack_type type;
	uint32_t index;
};

struct deploy_stack_location {
	char *logical_id;
	char *name;
	char *region; /* NULL: a place without a region (a client's) */
};

struct deploy_stack_store {
	char *logical_id;
	uint32_t location;    /* a location with a region */
	char *region;         /* the location's */
	uint16_t port;        /* 0: allocated by `up` */
	uint32_t credentials; /* DEPLOY_STACK_NONE: the stack's first credentials, if any */
};

enum deploy_stack_versioning {
	DEPLOY_STACK_VERSIONING_OFF = 0,
	DEPLOY_STACK_VERSIONING_ENABLED,
	DEPLOY_STACK_VERSIONING_SUSPENDED,
};

/* A replication rule; `up` sends it to the bucket's store as a
 * PutBucketReplication rule (docs/up.md). */
struct deploy_stack_rule {
	uint32_t destination; /* a bucket with Versioning: Enabled, never the rule's own */
	char *prefix;         /* "" for every key; at most DEPLOY_STACK_PREFIX_MAX bytes */
	bool enabled;
	bool delete_markers; /* DeleteMarkerReplication: Enabled (the default) */
};

struct deploy_stack_object {
	char *key;
	char *body; /* inline text (body_len bytes), or NULL */
	size_t body_len;
	bool deferred; /* body holds "${Id.Attr}": deploy_stack_expand it */
	char *file;    /* a path anchored at the stack file's directory, or NULL */
};

struct deploy_stack_bucket {
	char *logical_id;
	char *name;
	uint32_t store;
	enum deploy_stack_versioning versioning;
	bool anonymous_read;
	uint32_t nrules;
	struct deploy_stack_rule *rule;
	uint32_t nobjects;
	struct deploy_stack_object *object;
};

struct deploy_stack_credentials {
	char *logical_id;
	char *access_key; /* both NULL: `up` generates a pair */
	char *secret_key;
};

struct deploy_stack_ap_region {
	uint32_t bucket;
	bool active; /* Dial: active (else passive) */
};

struct deploy_stack_access_point {
	char *logical_id;
	char *name;
	char *alias;
	char *host; /* <alias>.DEPLOY_STACK_MRAP_DOMAIN */
	uint32_t nregions;
	struct deploy_stack_ap_region *region;
};

enum deploy_stack_origin_kind {
	DEPLOY_STACK_ORIGIN_ACCESS_POINT = 1, /* target: an access point (via the routers) */
	DEPLOY_STACK_ORIGIN_BUCKET,           /* target: one bucket */
	DEPLOY_STACK_ORIGIN_NEAREST,          /* candidates: at each location the nearest */
};

struct deploy_stack_origin {
	char *id;
	enum deploy_stack_origin_kind kind;
	uint32_t target;      /* ACCESS_POINT or BUCKET */
	uint32_t ncandidates; /* NEAREST: buckets */
	uint32_t *candidate;
	uint32_t *nearest; /* NEAREST: per distribution location, a bucket */
	char *domain_name; /* Host; the target's own when not given */
	char *origin_path; /* NULL */
	uint32_t nheaders;
	struct edge_config_header *header;
	uint64_t connect_timeout_ms, read_timeout_ms;
	uint32_t connection_attempts;
};

struct deploy_stack_group {
	char *id;
	uint32_t nmembers;
	uint32_t *member; /* origin indexes */
	uint32_t nstatuses;
	uint16_t *status;
};

struct deploy_stack_behavior {
	char *path_pattern;
	bool target_group;
	uint32_t target;                          /* origin or group index */
	uint32_t allowed_methods, cached_methods; /* EDGE_CONFIG_* bits */
	uint64_t min_ttl_s, default_ttl_s, max_ttl_s;
	enum edge_config_query query_strings;
	uint32_t nquery;
	char **query;
	uint32_t nheaders;
	char **key_header;
	enum edge_config_signing signing;
	char *signing_region; /* NULL */
	bool compress;
	/* Functions: each an absolute, canonical path of a regular file that
	 * was readable when the stack was parsed; NULL when none. */
	char *function[DEPLOY_STACK_FN_EVENTS];
};

/* A distribution's FunctionLimits; 0 in a field: not given (the edge's
 * default). */
struct deploy_stack_fn_limits {
	uint64_t memory_bytes;
	uint64_t instructions;
	uint64_t viewer_timeout_ms, origin_timeout_ms;
};

struct deploy_stack_distribution {
	char *logical_id;
	char *id;     /* the invalidation API's id: the logical id */
	char *domain; /* <id lowercased>.DEPLOY_STACK_EDGE_DOMAIN */
	uint32_t nlocations;
	uint32_t *location; /* where an edge runs */
	char *default_root_object;
	uint32_t credentials; /* signing; DEPLOY_STACK_NONE */
	char *failover_header;
	uint64_t memory_bytes;
	uint32_t norigins;
	struct deploy_stack_origin *origin;
	uint32_t ngroups;
	struct deploy_stack_group *group;
	uint32_t nbehaviors;
	struct deploy_stack_behavior *behavior;
	struct deploy_stack_fn_limits fn_limits;
};

struct deploy_stack_link {
	uint32_t a, b;                /* locations, a != b; symmetric */
	uint32_t delay_ms, jitter_ms; /* one way */
};

struct deploy_stack_output {
	char *name;
	char *description; /* NULL */
	char *value;
	bool deferred; /* value holds "${Id.Attr}": deploy_stack_expand it */
};

struct deploy_stack {
	uint32_t magic;
	char *path; /* the stack file's name */
	char *description;
	uint32_t nparams;
	struct deploy_stack_param *param;
	uint32_t nresources;
	struct deploy_stack_resource *resource;
	uint32_t nlocations;
	struct deploy_stack_location *location;
	uint32_t nstores;
	struct deploy_stack_store *store;
	uint32_t nbuckets;
	struct deploy_stack_bucket *bucket;
	uint32_t ncredentials;
	struct deploy_stack_credentials *credentials;
	uint32_t naccess_points;
	struct deploy_stack_access_point *access_point;
	uint32_t ndistributions;
	struct deploy_stack_distribution *distribution;
	uint32_t nlinks;
	struct deploy_stack_link *link;
	uint32_t noutputs;
	struct deploy_stack_output *output;
};

/*
 * Parse and validate the YAML text `p`/`n` (borrowed) named `path` (for
 * messages and relative File paths), with parameter overrides ov[0..nov).
 * 0 with *out a new plan (free with deploy_stack_free); otherwise *out is
 * NULL, `diag` holds every error found (sorted) and the return is
 * ERR_CONFIG_YAML, ERR_TOO_BIG, ERR_CONFIG_SCHEMA or ERR_NOMEM.
 */
int deploy_stack_parse(const char *path, const char *p, size_t n,
                       const struct deploy_stack_override *ov, size_t nov,
                       struct deploy_stack **out, struct deploy_stack_diag *diag);
/* Read `path` (capped at YAML_TREE_MAX_INPUT) and parse it; also ERR_IO. */
int deploy_stack_load(const char *path, const struct deploy_stack_override *ov, size_t nov,
                      struct deploy_stack **out, struct deploy_stack_diag *diag);
/* NULL is a no-op. Secrets are wiped. */
void deploy_stack_free(struct deploy_stack *st);

/* The built-in default stack (the blog's demo), NUL-terminated. */
extern const char deploy_stack_default_yaml[];

/* Logical id -> resource entry; NULL when none. */
const struct deploy_stack_resource *deploy_stack_find(const struct deploy_stack *st,
                                                      struct iov logical_id);

/*
 * A runtime attribute: resource `r` (of the plan), attribute `attr` (like
 * "Endpoint"). Sets *value (borrowed until the expand call returns) and
 * returns 0, or a negative code that deploy_stack_expand returns.
 */
typedef int (*deploy_stack_attr_fn)(void *ctx, const struct deploy_stack_resource *r,
                                    const char *attr, struct iov *value);

/*
 * Expand a deferred string of the plan (`text`, as in an output's value)
 * into out[cap]: each "${Id.Attr}" through `fn`, each "${!x}" to "${x}".
 * *len gets the length (a NUL follows). 0, ERR_TOO_BIG (cap), ERR_INVALID
 * (not a plan template) or fn's code.
 */
int deploy_stack_expand(const struct deploy_stack *st, const char *text, deploy_stack_attr_fn fn,
                        void *ctx, char *out, size_t cap, size_t *len);

#endif
