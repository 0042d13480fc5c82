/*
 * The XML of the router's control API, in the shapes of AWS's S3 Control
 * operations (docs/internals/router.md, "Control API XML"):
 *
 * - SubmitMultiRegionAccessPointRoutes (PATCH .../routes): the request body
 *   <SubmitMultiRegionAccessPointRoutesRequest><RouteUpdates><Route>
 *   <Bucket/><Region/><TrafficDialPercentage/></Route>...</RouteUpdates>
 *   is parsed here on expat: no DTD at all (a DOCTYPE or an entity
 *   declaration ends the parse), a capped body, capped leaves, an exact
 *   schema (unknown, misplaced or repeated elements are refused);
 * - GetMultiRegionAccessPointRoutes (GET .../routes): the result document is
 *   rendered here, with two Meridian elements after AWS's in each Route;
 * - error bodies.
 *
 * The element namespace is S3 Control's (ROUTER_ADMIN_XML_NS); a request may
 * also carry no namespace. Any other namespace is refused.
 *
 * Pure code, no shared state: any thread, one call per document.
 */
#ifndef MERIDIAN_ROUTER_ADMIN_XML_H
#define MERIDIAN_ROUTER_ADMIN_XML_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/iov.h"

#define ROUTER_ADMIN_XML_NS   "http://awss3control.amazonaws.com/doc/2018-08-20/"
#define ROUTER_ADMIN_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

#define ROUTER_ADMIN_XML_MAX (64u << 10) /* request body cap; 17 routes need ~7 KiB */

/* AWS's MultiRegionAccessPointRoute length constraints (S3 Control API
 * reference): Bucket 3..255 bytes, Region 1..64. */
#define ROUTER_ADMIN_BUCKET_MIN 3
#define ROUTER_ADMIN_BUCKET_MAX 255
#define ROUTER_ADMIN_REGION_MIN 1
#define ROUTER_ADMIN_REGION_MAX 64

/* One Route of a submit request, as sent. */
struct router_admin_update {
	struct iov bucket; /* IOV_NULL when absent */
	struct iov region; /* IOV_NULL when absent; at least one of the two is present */
	int64_t percent;   /* TrafficDialPercentage, 0..100 (1..99 are left to the caller
	                    * to refuse: router_routes_dial_from_percent) */
};

/*
 * Parse a SubmitMultiRegionAccessPointRoutesRequest body (p/n borrowed for
 * the call). Values are copied into `a` (the request arena) and the slices
 * in out[0..*nout) point there: text with character references resolved,
 * not trimmed (TrafficDialPercentage excepted: XML whitespace around the
 * number is allowed, as for xs:int). Routes are kept in request order; the
 * same region named twice is not checked here (router_routes_submit is).
 * An empty RouteUpdates is valid (*nout 0).
 *
 * Returns 0; or ERR_INVALID with a one-line reason in `detail` (dcap bytes,
 * NUL-terminated; detail may be NULL when dcap is 0) for: an empty body, a
 * body over ROUTER_ADMIN_XML_MAX, XML that is not well-formed, a DOCTYPE or
 * entity declaration, a root other than the request's, an element that is
 * unknown, misplaced, repeated or in a foreign namespace, text between
 * elements, a missing RouteUpdates, a Route with neither Bucket nor Region
 * or without TrafficDialPercentage, a Bucket or Region outside its length
 * constraint, a percent that is not a decimal integer 0..100, more routes
 * than min(cap, ROUTER_REGIONS_MAX); or ERR_NOMEM (expat or the arena).
 * On error *nout is 0 and out[] holds nothing useful.
 */
int router_admin_xml_parse_submit(struct arena *a, const char *p, size_t n,
                                  struct router_admin_update *out, uint32_t cap, uint32_t *nout,
                                  char *detail, size_t dcap);

/* One row of the Get result. Strings are the router's own (config and state)
 * and must be UTF-8 without C0 controls other than TAB, LF, CR. */
struct router_admin_route {
	const char *bucket, *region; /* NULL: element omitted */
	int percent;                 /* 0..100 (the router only has 0 and 100) */
	const char *health;          /* "UP", "SUSPECT", "DOWN" */
	double latency_ms;           /* current estimate; < 0 or not finite: omitted */
};

/*
 * Append the GetMultiRegionAccessPointRoutes result to `out`:
 *   ROUTER_ADMIN_XML_DECL
 *   <GetMultiRegionAccessPointRoutesResult xmlns="ROUTER_ADMIN_XML_NS">
 *   <Mrap>NAME</Mrap><Routes><Route><Bucket/><Region/><TrafficDialPercentage/>
 *   <Health/><LatencyMs/></Route>...</Routes></GetMultiRegionAccessPointRoutesResult>
 * with no whitespace between elements, values escaped, LatencyMs with three
 * decimals. Health and LatencyMs are Meridian's additions (SDKs skip unknown
 * elements). Returns 0; ERR_INVALID when a value is not UTF-8 or holds a
 * character XML 1.0 cannot carry; ERR_TOO_BIG (out's cap) or ERR_NOMEM. On
 * error `out` is as it was before the call.
 */
int router_admin_xml_routes(struct buf *out, const char *mrap, const struct router_admin_route *r,
                            uint32_t n);

/* Append ROUTER_ADMIN_XML_DECL <Error><Code>C</Code><Message>M</Message></Error>
 * (no namespace, as S3 writes errors). Returns as router_admin_xml_routes. */
int router_admin_xml_error(struct buf *out, const char *code, const char *message);

/* Append `text` escaped for element content: & < > " ' as the five named
 * entities, TAB LF CR as &#9; &#10; &#13; (so they survive end-of-line
 * normalisation), the rest copied. 0; ERR_INVALID (not UTF-8, a C0 control
 * other than TAB LF CR, or U+FFFE/U+FFFF: nothing XML 1.0 can carry);
 * ERR_TOO_BIG or ERR_NOMEM. On error `out` is unchanged. */
int router_admin_xml_escape(struct buf *out, struct iov text);

#endif
