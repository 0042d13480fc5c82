/*
 * Streaming parsers for the XML bodies S3 requests carry, on expat
 * (docs/internals/s3-xml.md): CompleteMultipartUpload, Delete (DeleteObjects),
 * CreateBucketConfiguration and VersioningConfiguration.
 *
 * One reader per request body, used by one thread at a time: feed the body
 * in pieces as they arrive, in any split, then finish; on success the result
 * is read through the accessor for that document and stays valid (strings
 * included: slices into the reader's own storage) until s3_xml_reader_free().
 *
 * Refused, with the error S3 gives:
 * - a body over the document's cap (S3_XML_*_MAX): MaxMessageLengthExceeded
 *   (bytes up to the cap are parsed first, so a body already malformed
 *   before the cap is MalformedXML, as S3 answers);
 * - an empty body (CreateBucketConfiguration excepted): MissingRequestBodyError;
 * - any DOCTYPE or entity declaration (no DTD processing at all, so no
 *   entity expansion attacks), anything not well-formed, a root other than
 *   the document's, an unknown or repeated element, text where only elements
 *   belong, an element in a namespace other than S3's (no namespace is
 *   accepted too), a value outside its type: MalformedXML;
 * - elements S3 defines that Meridian does not support (directory-bucket
 *   Location/Bucket, bucket Tags, Delete's LastModifiedTime/Size, part
 *   ChecksumMD5): NotImplemented.
 * Errors that need the whole document valid first (KeyTooLongError,
 * InvalidPartOrder, a part number out of range, an empty versioning Status)
 * are reported by s3_xml_reader_finish(), after well-formedness.
 *
 * Errors are sticky: after one, feed and finish keep returning it.
 */
#ifndef MERIDIAN_S3_XML_READER_H
#define MERIDIAN_S3_XML_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "crypto/checksum.h"

/* Body caps. Delete: 1000 keys of 1024 bytes each, with version ids, fit.
 * CompleteMultipartUpload: 10000 parts with an ETag and a SHA256 each, with
 * room for indentation. The two configurations are a few hundred bytes. */
#define S3_XML_COMPLETE_MAX (4u << 20)
#define S3_XML_DELETE_MAX   (2u << 20)
#define S3_XML_CONFIG_MAX   (64u << 10)

#define S3_XML_MAX_PARTS   10000 /* part numbers 1..10000 */
#define S3_XML_MAX_OBJECTS 1000  /* objects in one Delete */

enum s3_xml_doc {
	S3_XML_COMPLETE_MULTIPART_UPLOAD,
	S3_XML_DELETE,
	S3_XML_CREATE_BUCKET_CONFIGURATION,
	S3_XML_VERSIONING_CONFIGURATION,
};

#define S3_XML_COUNT_CHECKSUM(e, name, len) +1
enum { S3_XML_CHECKSUMS = 0 CHECKSUM_MAP(S3_XML_COUNT_CHECKSUM) };
#undef S3_XML_COUNT_CHECKSUM

/* An absent optional value is IOV_NULL (base NULL); an element present but
 * empty is a slice of length 0 with a non-NULL base. Values are exactly the
 * element's text (character references resolved, no trimming). */
struct s3_xml_part {
	uint32_t number; /* 1..S3_XML_MAX_PARTS */
	struct iov etag; /* as sent, quotes included when the client sent them */
	struct iov checksum[S3_XML_CHECKSUMS]; /* by enum checksum_alg */
};

struct s3_xml_complete {
	const struct s3_xml_part *parts; /* strictly ascending part numbers */
	size_t n;                        /* 1..S3_XML_MAX_PARTS */
};

struct s3_xml_object {
	struct iov key;        /* 1..S3_KEY_MAX bytes of UTF-8 */
	struct iov version_id; /* optional */
	struct iov etag;       /* optional: delete only if it matches */
};

struct s3_xml_delete {
	bool quiet;
	const struct s3_xml_object *objects;
	size_t n; /* 1..S3_XML_MAX_OBJECTS, in request order */
};

struct s3_xml_create_bucket {
	bool body;           /* false: the request had no body */
	struct iov location; /* LocationConstraint; optional, may be empty */
};

enum s3_xml_status {
	S3_XML_STATUS_ENABLED = 1,
	S3_XML_STATUS_SUSPENDED,
};

enum s3_xml_mfa_delete {
	S3_XML_MFA_DELETE_ABSENT = 0, /* no element, or an empty one */
	S3_XML_MFA_DELETE_DISABLED,
	S3_XML_MFA_DELETE_ENABLED, /* needs x-amz-mfa: the store refuses it */
};

struct s3_xml_versioning {
	enum s3_xml_status status;
	enum s3_xml_mfa_delete mfa_delete;
};

struct s3_xml_reader;

/* A reader for one body of kind `doc`. 0 or ERR_NOMEM. */
int s3_xml_reader_new(enum s3_xml_doc doc, struct s3_xml_reader **out);
/* Free the reader and its result. NULL is a no-op. */
void s3_xml_reader_free(struct s3_xml_reader *r);

/* Parse the next `n` bytes (borrowed for the call). 0, or the sticky error:
 * ERR_S3_MALFORMED_XML, ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED,
 * ERR_S3_NOT_IMPLEMENTED, ERR_NOMEM. */
int s3_xml_reader_feed(struct s3_xml_reader *r, const char *p, size_t n);
/* The body is complete. 0 (the result is ready) or an error: those of feed,
 * ERR_S3_MISSING_REQUEST_BODY, ERR_S3_KEY_TOO_LONG, ERR_S3_INVALID_PART_ORDER,
 * ERR_S3_INVALID_ARGUMENT (part number below 1), ERR_S3_INVALID_PART (above
 * 10000), ERR_S3_ILLEGAL_VERSIONING_CONFIGURATION (Status missing or empty). */
int s3_xml_reader_finish(struct s3_xml_reader *r);

/* A message to send instead of the error's default one, or NULL. */
const char *s3_xml_reader_why(const struct s3_xml_reader *r);

/* The result after a successful finish; CHECKs the document kind. */
const struct s3_xml_complete *s3_xml_reader_complete(const struct s3_xml_reader *r);
const struct s3_xml_delete *s3_xml_reader_delete(const struct s3_xml_reader *r);
const struct s3_xml_create_bucket *s3_xml_reader_create_bucket(const struct s3_xml_reader *r);
const struct s3_xml_versioning *s3_xml_reader_versioning(const struct s3_xml_reader *r);

/* Module-internal, for tests and the fuzzer: hand every piece to expat as
 * it comes (no deferral), so splits reach the callbacks. Before any feed. */
void s3_xml_reader__direct(struct s3_xml_reader *r);

#endif
