/*
 * Types of the edge's cache behaviors (CloudFront's CacheBehavior plus the
 * parts of its cache policy the edge needs). Plain data: the config module
 * fills one per configured behavior (start from edge_behavior_init()), the
 * table copies it, and every worker thread reads the table afterwards.
 * Strings are NUL-terminated inside the struct, so a behavior owns nothing.
 */
#ifndef MERIDIAN_EDGE_BEHAVIOR_T_H
#define MERIDIAN_EDGE_BEHAVIOR_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

struct http_header; /* http/parser.h */

/* Config caps (CloudFront: 255-char path patterns; 10 headers and 10 query
 * strings per cache policy by default, so 16 is above AWS's default). */
#define EDGE_PATTERN_MAX     255
#define EDGE_ORIGIN_ID_MAX   128
#define EDGE_ROOT_OBJECT_MAX 255
#define EDGE_KEY_LIST_MAX    16  /* query-string or header names in a key list */
#define EDGE_KEY_NAME_MAX    128 /* bytes in one listed name */
#define EDGE_BEHAVIOR_MAX    64  /* behaviors in a table, the default included */

/* Request caps for the cache key (network-fed; over them -> 4xx). */
#define EDGE_PATH_MAX         4096
#define EDGE_QUERY_MAX        4096
#define EDGE_QUERY_PARAMS_MAX 64 /* parameters in one query string */
#define EDGE_HOST_MAX         255
#define EDGE_HEADER_VALUE_MAX 2048 /* one listed header, its repeats joined */
#define EDGE_KEY_MAX          8192 /* the canonical key */

/* HTTP methods as bits of a set. */
enum edge_method {
	EDGE_METHOD_GET = 1u << 0,
	EDGE_METHOD_HEAD = 1u << 1,
	EDGE_METHOD_OPTIONS = 1u << 2,
	EDGE_METHOD_PUT = 1u << 3,
	EDGE_METHOD_POST = 1u << 4,
	EDGE_METHOD_PATCH = 1u << 5,
	EDGE_METHOD_DELETE = 1u << 6,
};

/* The three allowed-method sets and two cached-method sets CloudFront offers. */
#define EDGE_METHODS_GH  (EDGE_METHOD_GET | EDGE_METHOD_HEAD)
#define EDGE_METHODS_GHO (EDGE_METHODS_GH | EDGE_METHOD_OPTIONS)
#define EDGE_METHODS_ALL                                                             \
	(EDGE_METHODS_GHO | EDGE_METHOD_PUT | EDGE_METHOD_POST | EDGE_METHOD_PATCH | \
	 EDGE_METHOD_DELETE)

/* Which query-string parameters enter the key (QueryStringBehavior). */
enum edge_qs_mode {
	EDGE_QS_NONE = 0,   /* none */
	EDGE_QS_ALL,        /* all, sorted */
	EDGE_QS_LISTED,     /* whitelist: only qs_names */
	EDGE_QS_ALL_EXCEPT, /* allExcept: all but qs_names */
};

/* How the edge signs its origin requests. */
enum edge_sign_mode {
	EDGE_SIGN_NONE = 0,
	EDGE_SIGN_SIGV4,
	EDGE_SIGN_SIGV4A,
};

struct edge_behavior {
	char pattern[EDGE_PATTERN_MAX + 1];     /* as configured; "*" for the default */
	char origin_id[EDGE_ORIGIN_ID_MAX + 1]; /* target origin or origin group */
	unsigned allowed_methods;               /* EDGE_METHODS_GH, _GHO or _ALL */
	unsigned cached_methods;                /* EDGE_METHODS_GH or _GHO */
	uint64_t min_ttl, default_ttl, max_ttl; /* seconds, min <= default <= max */
	enum edge_qs_mode qs_mode;
	size_t qs_count; /* names for LISTED / ALL_EXCEPT (case-sensitive) */
	char qs_names[EDGE_KEY_LIST_MAX][EDGE_KEY_NAME_MAX + 1];
	size_t header_count; /* header names in the key, in this order */
	char header_names[EDGE_KEY_LIST_MAX][EDGE_KEY_NAME_MAX + 1];
	bool key_gzip; /* EnableAcceptEncodingGzip: normalise Accept-Encoding */
	bool key_br;   /* EnableAcceptEncodingBrotli */
	bool compress; /* edge compression (implies both key_* flags) */
	enum edge_sign_mode sign;
	char root_object[EDGE_ROOT_OBJECT_MAX + 1]; /* "" for none */
};

/* The request parts a cache key is built from; all borrowed for one call. */
struct edge_key_input {
	struct iov host;   /* the distribution domain the viewer asked for */
	struct iov method; /* as sent */
	struct iov path;   /* the request-target's path, without '?' and query */
	struct iov query;  /* after '?', without it; IOV_NULL or empty for none */
	const struct http_header *headers;
	size_t nheaders;
};

#endif
