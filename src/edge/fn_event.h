/*
 * The Lambda@Edge event and what a function returns (issue 9,
 * docs/internals/edge-fn-event.md). edge_fn_event_build turns the edge's
 * view of a request (and, for response triggers, of a response) into the
 * event tree `{Records = {{cf = {config, request, response}}}}` that
 * edgefn_call passes to a function; edge_fn_result_parse reads the
 * function's result back under CloudFront's rules (read-only fields and
 * headers per trigger, disallowed headers, URI and origin ranges, generated
 * response limits) into plain C structs the edge applies. Any violation is
 * ERR_EDGE_FN_VIOLATION with a message naming the field or header and the
 * rule; the edge answers 502 and logs it, as CloudFront does.
 *
 * Nothing here knows Lua or the network: trees are struct edgefn_value in
 * the caller's arena. Pure; any thread (each call uses only its arguments).
 */
#ifndef MERIDIAN_EDGE_FN_EVENT_H
#define MERIDIAN_EDGE_FN_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/iov.h"
#include "edgefn/value.h"
#include "http/parser.h"

/* CloudFront's limits, and our caps on what a function may hand back. */
#define EDGE_FN_URL_MAX           8192u          /* uri + '?' + querystring: under this */
#define EDGE_FN_VIEWER_RESP_MAX   (40u * 1024)   /* a generated response in a viewer trigger */
#define EDGE_FN_ORIGIN_RESP_MAX   (1024u * 1024) /* ... and in an origin trigger */
#define EDGE_FN_HEADER_NAME_MAX   256u
#define EDGE_FN_HEADER_VALUE_MAX  8192u
#define EDGE_FN_HEADERS_MAX       100u         /* header lines in one list */
#define EDGE_FN_HEADERS_BYTES_MAX (64u * 1024) /* names + values in one list */
#define EDGE_FN_DOMAIN_MAX        253u
#define EDGE_FN_ORIGIN_PATH_MAX   255u
#define EDGE_FN_STATUS_DESC_MAX   256u

enum edge_fn_trigger {
	EDGE_FN_VIEWER_REQUEST,
	EDGE_FN_ORIGIN_REQUEST,
	EDGE_FN_ORIGIN_RESPONSE,
	EDGE_FN_VIEWER_RESPONSE,
};

enum edge_fn_origin_kind {
	EDGE_FN_ORIGIN_NONE,
	EDGE_FN_ORIGIN_CUSTOM,
	EDGE_FN_ORIGIN_S3,
};

/* sslProtocols of a custom origin, as a set. */
#define EDGE_FN_SSL_SSLV3  0x1u
#define EDGE_FN_SSL_TLSV1  0x2u
#define EDGE_FN_SSL_TLSV11 0x4u
#define EDGE_FN_SSL_TLSV12 0x8u

/* The origin as the event shows it: exactly one of custom or s3. */
struct edge_fn_origin {
	enum edge_fn_origin_kind kind;
	struct iov domain_name;
	struct iov path;                          /* "" or "/a/b", no trailing '/' */
	const struct http_header *custom_headers; /* original case names */
	size_t ncustom_headers;
	/* custom */
	unsigned port;              /* 80, 443, 1024..65535 */
	bool https;                 /* protocol "https" (else "http") */
	unsigned read_timeout;      /* s, 4..60 */
	unsigned keepalive_timeout; /* s, 1..60 */
	unsigned ssl_protocols;     /* EDGE_FN_SSL_* */
	/* s3 */
	struct iov region;
	bool auth_oai; /* authMethod "origin-access-identity" (else "none") */
};

/* The edge's view of one trigger point. Everything is borrowed. */
struct edge_fn_input {
	enum edge_fn_trigger trigger;
	/* config */
	struct iov distribution_domain;
	struct iov distribution_id;
	struct iov request_id;
	/* request */
	struct iov client_ip;
	struct iov method;
	struct iov uri;                    /* path as received, starts with '/' */
	struct iov query;                  /* without '?'; empty for none */
	const struct http_header *headers; /* in order, original case */
	size_t nheaders;
	const struct edge_fn_origin *origin; /* origin triggers; NULL elsewhere */
	/* response triggers */
	int status;
	struct iov status_description;
	const struct http_header *resp_headers;
	size_t nresp_headers;
};

/* What a request trigger continues with. Headers are the complete list the
 * function can see (disallowed headers are never shown to it: the edge
 * keeps its own), with the key case the function gave or Title-Case. */
struct edge_fn_request {
	struct iov uri;
	struct iov query;
	const struct http_header *headers;
	size_t nheaders;
	bool uri_changed, query_changed, headers_changed;
	bool origin_changed; /* origin-request only */
	struct edge_fn_origin origin;
};

/* A generated response (request triggers) or the function's version of the
 * origin's response (response triggers). */
struct edge_fn_response {
	bool generated; /* made by a request trigger: the edge frames it from body */
	int status;
	struct iov status_description;
	const struct http_header *headers;
	size_t nheaders;
	bool headers_changed; /* response triggers */
	bool has_body;        /* body was set (decoded from base64 if asked) */
	struct iov body;
};

enum edge_fn_action {
	EDGE_FN_CONTINUE, /* request triggers: go on with .request */
	EDGE_FN_RESPOND,  /* answer with .response */
};

struct edge_fn_result {
	enum edge_fn_action action;
	struct edge_fn_request request;
	struct edge_fn_response response;
};

/* "viewer-request" ... as config.eventType names it. */
const char *edge_fn_trigger_name(enum edge_fn_trigger t);

/* Whether a header name (any case) is on CloudFront's disallowed list:
 * never shown to a function and never accepted from one. */
bool edge_fn_header_disallowed(struct iov name);
/* Whether a header name (any case) is read-only in trigger t. */
bool edge_fn_header_read_only(enum edge_fn_trigger t, struct iov name);

/*
 * Build the event for `in` into *event, allocated in `a` (strings are
 * borrowed from `in` where they need no change, so `in`'s bytes must
 * outlive the tree). Disallowed headers are left out. Returns 0 or
 * ERR_NOMEM (the arena is full).
 */
int edge_fn_event_build(const struct edge_fn_input *in, struct arena *a,
                        struct edgefn_value *event);

/*
 * Read `result` (what the function returned for the event of `in`) into
 * *out, allocated in `a`; out may borrow strings of `result` and of `in`.
 * `event` is the tree edge_fn_event_build made for `in` (unchanged since),
 * or NULL: with it, a subtree the function handed back untouched (edgefn
 * returns those by reference) is recognised by address and applies as no
 * change without being checked again. Returns 0, ERR_EDGE_FN_VIOLATION with
 * "trigger: field: why" in err[errlen] (the edge answers 502), or
 * ERR_NOMEM (the arena is full).
 */
int edge_fn_result_parse(const struct edge_fn_input *in, const struct edgefn_value *event,
                         const struct edgefn_value *result, struct arena *a,
                         struct edge_fn_result *out, char *err, size_t errlen);

#endif
