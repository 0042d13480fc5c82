/*
 * The edge's origin-request signer: the blog's Lambda@Edge function, built
 * in (docs/internals/edge.md). A behavior signs its origin requests with
 * SigV4A for region set "*" (what an access point requires), SigV4 for one
 * region, or not at all; an origin that carries the failover custom header
 * is never signed with SigV4A (the blog's rule: the failover request goes to
 * an origin that is not the access point, unmodified).
 *
 * Every header the origin request will carry is signed (apart from the
 * signer's never-sign list, such as User-Agent), so the headers an
 * origin-request function could not change on CloudFront (Accept-Encoding,
 * Content-Length, If-Modified-Since, If-None-Match, If-Range,
 * If-Unmodified-Since, Via) and the request id header are signed whenever
 * they are sent: the caller passes the final header list, Host included.
 * Bodiless requests sign the empty body's hash; a request with a body is
 * signed UNSIGNED-PAYLOAD (it is streamed, never hashed first). Both send
 * x-amz-content-sha256, which S3 requires.
 *
 * Pure apart from the optional key cache; any thread.
 */
#ifndef MERIDIAN_EDGE_SIGN_H
#define MERIDIAN_EDGE_SIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/sign.h"
#include "edge/behavior-t.h"
#include "http/parser.h"

#define EDGE_SIGN_FAILOVER_HEADER "originTypeFailover" /* the blog's default name */

struct edge_signer {
	enum edge_sign_mode mode;
	struct iov region;          /* SigV4: the origin's region */
	struct auth_creds creds;    /* borrowed */
	struct auth_keycache *keys; /* optional */
	bool failover_origin;       /* the origin carries the failover header */
};

struct edge_sign_request {
	struct iov method;
	struct iov path;                   /* as sent on the wire (percent-encoded) */
	struct iov query;                  /* without '?'; empty for none */
	const struct http_header *headers; /* every header that will be sent, Host included */
	size_t nheaders;
	bool has_body;
};

/*
 * Sign `r` at `now`. *did_sign says whether anything was signed (false for
 * mode NONE and for SigV4A toward a failover origin); when true, `out`
 * (initialised by the caller with auth_signature_init) holds the headers to
 * add: out->added[0..out->nadded). 0, or auth_sign's errors (ERR_INVALID for
 * a request that already carries signing headers, ERR_TOO_BIG, ERR_CRYPTO,
 * ERR_NOMEM).
 */
int edge_sign(const struct edge_signer *s, const struct edge_sign_request *r, int64_t now,
              struct auth_signature *out, bool *did_sign);

/* Whether `name` is one of the headers CloudFront would not let an
 * origin-request function change (case-insensitive): these must be signed
 * when sent, and edge_sign signs them, Transfer-Encoding excepted (SigV4
 * never signs it; the edge's client writes its own framing). Pure. */
bool edge_sign_read_only_header(struct iov name);

#endif
