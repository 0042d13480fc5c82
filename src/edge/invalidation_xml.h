/*
 * The XML of the edge's invalidation endpoint, in the shapes of CloudFront's
 * CreateInvalidation (docs/internals/edge-invalidation.md):
 *
 * - the request body
 *   <InvalidationBatch><Paths><Quantity>N</Quantity><Items><Path>/a</Path>
 *   ...</Items></Paths><CallerReference>x</CallerReference></InvalidationBatch>
 *   read on the shared strict reader (http/xml): no DTD at all, a capped body,
 *   capped leaves, an exact schema (unknown, misplaced or repeated elements
 *   are refused), CloudFront's namespace (EDGE_INVALIDATION_XML_NS) or none;
 * - the 201 Created answer, <Invalidation> with the batch echoed;
 * - CloudFront's error body, <ErrorResponse>.
 *
 * Refused, with the error CloudFront gives:
 * - an empty body: MissingBody (ERR_EDGE_INV_MISSING_BODY);
 * - anything not well-formed, a DOCTYPE or entity declaration, an element
 *   unknown, misplaced, repeated or in a foreign namespace, text between
 *   elements, a missing Paths, Quantity or CallerReference, a Quantity that
 *   is not an xs:int: MalformedXML (ERR_EDGE_INV_MALFORMED_XML);
 * - a path that is empty, over EDGE_INVALIDATION_PATH_MAX bytes, not starting
 *   with '/', or with '*' anywhere but last; a CallerReference empty or over
 *   EDGE_INVALIDATION_CALLER_REF_MAX bytes; a batch without paths:
 *   InvalidArgument (ERR_EDGE_INV_INVALID_ARGUMENT);
 * - Quantity other than the number of Items: InconsistentQuantities
 *   (ERR_EDGE_INV_INCONSISTENT_QUANTITIES, at finish);
 * - more than EDGE_INVALIDATION_PATHS_MAX paths, or a body over
 *   EDGE_INVALIDATION_XML_MAX bytes: BatchTooLarge (ERR_EDGE_INV_BATCH_TOO_LARGE).
 *
 * One reader per request body, used by one thread at a time: feed the body
 * in pieces, in any split, then finish; the batch stays valid (strings are
 * slices into the reader's own storage) until the reader is freed. Errors are
 * sticky. The renderers are pure: any thread.
 */
#ifndef MERIDIAN_EDGE_INVALIDATION_XML_H
#define MERIDIAN_EDGE_INVALIDATION_XML_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/iov.h"

#define EDGE_INVALIDATION_XML_NS         "http://cloudfront.amazonaws.com/doc/2020-05-31/"
#define EDGE_INVALIDATION_PATHS_MAX      3000 /* CloudFront's limit per batch */
#define EDGE_INVALIDATION_PATH_MAX       4096 /* bytes */
#define EDGE_INVALIDATION_CALLER_REF_MAX 128  /* bytes */
/* Body cap: the most paths at their longest, each in <Path></Path>, with room
 * for character references and indentation. */
#define EDGE_INVALIDATION_XML_MAX (16u << 20)

/* Values are exactly the element's text (character references resolved). */
struct edge_invalidation_batch {
	struct iov caller_reference; /* 1..EDGE_INVALIDATION_CALLER_REF_MAX bytes */
	const struct iov *paths;     /* in request order, each 1..EDGE_INVALIDATION_PATH_MAX */
	uint32_t npaths;             /* 1..EDGE_INVALIDATION_PATHS_MAX */
};

struct edge_invalidation_reader;

/* A reader for one body. 0 or ERR_NOMEM. */
int edge_invalidation_reader_new(struct edge_invalidation_reader **out);
/* Free the reader and its batch. NULL is a no-op. */
void edge_invalidation_reader_free(struct edge_invalidation_reader *r);

/* Parse the next `n` bytes (borrowed for the call). 0 or the sticky error:
 * ERR_EDGE_INV_MALFORMED_XML, _INVALID_ARGUMENT, _BATCH_TOO_LARGE, ERR_NOMEM. */
int edge_invalidation_reader_feed(struct edge_invalidation_reader *r, const char *p, size_t n);
/* The body is complete. 0 (the batch is ready) or an error: those of feed,
 * ERR_EDGE_INV_MISSING_BODY, ERR_EDGE_INV_INCONSISTENT_QUANTITIES. Once. */
int edge_invalidation_reader_finish(struct edge_invalidation_reader *r);
/* A one-line reason for the error ("" when there is none), for <Message>. */
const char *edge_invalidation_reader_why(const struct edge_invalidation_reader *r);
/* The batch after a successful finish (CHECKed). */
const struct edge_invalidation_batch *
edge_invalidation_reader_batch(const struct edge_invalidation_reader *r);

/* Module-internal, for tests and the fuzzer: no feed deferral. Before any feed. */
void edge_invalidation_reader__direct(struct edge_invalidation_reader *r);

/*
 * Append the 201 Created body:
 *   HTTP_XML_DECL <Invalidation xmlns="EDGE_INVALIDATION_XML_NS"><Id>ID</Id>
 *   <Status>Completed</Status><CreateTime>T</CreateTime><InvalidationBatch>
 *   <Paths><Quantity>N</Quantity><Items><Path>..</Path>...</Items></Paths>
 *   <CallerReference>..</CallerReference></InvalidationBatch></Invalidation>
 * with no whitespace between elements and values escaped. `create_time` is
 * ISO 8601, formatted by the caller. 0; ERR_INVALID (a value XML 1.0 cannot
 * carry), ERR_TOO_BIG (out's cap) or ERR_NOMEM; on error `out` is as it was.
 */
int edge_invalidation_xml_created(struct buf *out, struct iov id, struct iov create_time,
                                  const struct edge_invalidation_batch *b);

/*
 * Append CloudFront's error body for `err` (one of the ERR_EDGE_INV_* codes,
 * or any code: its S3-style code column, or InternalError):
 *   HTTP_XML_DECL <ErrorResponse xmlns="EDGE_INVALIDATION_XML_NS"><Error>
 *   <Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>
 * Type is Receiver for a 5xx. `message` NULL or "" uses the code's default
 * text. Returns as edge_invalidation_xml_created.
 */
int edge_invalidation_xml_error(struct buf *out, int err, const char *message,
                                struct iov request_id);
/* The same body from an HTTP status, a code and a message (not NULL). */
int edge_invalidation_xml_error_code(struct buf *out, int status, const char *code,
                                     const char *message, struct iov request_id);

#endif
