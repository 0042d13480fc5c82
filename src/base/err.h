/*
 * One list of every error Meridian returns. Functions return 0 or a negative
 * code from this list (never -1, never errno), results come back through
 * out-parameters, and ERR_AGAIN means "not yet" rather than failure.
 * Each row: name, text, HTTP status, S3 error code (NULL when the error never
 * reaches an S3 client). Any thread may call these functions.
 */
#ifndef MERIDIAN_BASE_ERR_H
#define MERIDIAN_BASE_ERR_H

#define ERR_MAP(X)                                                                                 \
	X(AGAIN, "not yet: more input is needed", 0, NULL)                                         \
	X(NOMEM, "out of memory", 500, "InternalError")                                            \
	X(INTERNAL, "internal error", 500, "InternalError")                                        \
	X(TOO_BIG, "input exceeds its size limit", 400, "InvalidRequest")                          \
	X(INVALID, "invalid argument", 400, "InvalidArgument")                                     \
	X(IO, "input/output error", 500, "InternalError")                                          \
	X(NOT_FOUND, "not found", 404, "NoSuchKey")                                                \
	X(USAGE, "bad command line", 0, NULL)                                                      \
	X(CRYPTO, "cryptographic library failure", 500, "InternalError")                           \
	X(AUTH_MISSING, "request carries no signature", 403, "AccessDenied")                       \
	X(AUTH_MALFORMED, "authorization header is malformed", 400,                                \
	  "AuthorizationHeaderMalformed")                                                          \
	X(AUTH_QUERY_MALFORMED, "presigned query parameters are malformed", 400,                   \
	  "AuthorizationQueryParametersError")                                                     \
	X(AUTH_ALGORITHM, "unsupported signing algorithm", 400, "InvalidArgument")                 \
	X(AUTH_MULTIPLE, "only one auth mechanism allowed", 400, "InvalidArgument")                \
	X(AUTH_UNKNOWN_KEY, "the access key id does not exist", 403, "InvalidAccessKeyId")         \
	X(AUTH_MISMATCH, "the request signature does not match", 403, "SignatureDoesNotMatch")     \
	X(AUTH_SKEW, "request time is too far from the server time", 403, "RequestTimeTooSkewed")  \
	X(AUTH_EXPIRED, "request has expired", 403, "AccessDenied")                                \
	X(AUTH_NOT_YET_VALID, "request is not yet valid", 403, "AccessDenied")                     \
	X(AUTH_REGION, "the region set does not include this region", 403, "AccessDenied")         \
	X(AUTH_UNSIGNED_HEADER, "there were headers present in the request which were not signed", \
	  403, "AccessDenied")                                                                     \
	X(AUTH_TOKEN, "the provided security token is invalid", 400, "InvalidToken")               \
	X(AUTH_CONTENT_SHA256, "missing or invalid x-amz-content-sha256", 400, "InvalidRequest")   \
	X(AUTH_PAYLOAD_MISMATCH, "the payload does not match x-amz-content-sha256", 400,           \
	  "XAmzContentSHA256Mismatch")                                                             \
	X(AUTH_DECODED_LENGTH, "x-amz-decoded-content-length is missing or invalid", 411,          \
	  "MissingContentLength")                                                                  \
	X(HTTP_BAD_REQUEST, "malformed HTTP message", 400, "InvalidRequest")                       \
	X(HTTP_URI_TOO_LONG, "request line too long", 414, "InvalidURI")                           \
	X(HTTP_HEADERS_TOO_LARGE, "header section too large", 431, "RequestHeaderSectionTooLarge") \
	X(HTTP_BODY_TOO_LARGE, "body over the handler's limit", 413, "EntityTooLarge")             \
	X(HTTP_VERSION, "HTTP version not supported", 505, "HttpVersionNotSupported")              \
	X(HTTP_NOT_IMPLEMENTED, "transfer coding not implemented", 501, "NotImplemented")          \
	X(HTTP_INCOMPLETE, "the peer closed in the middle of a message", 400, "IncompleteBody")    \
	X(HTTP_BAD_RESPONSE, "malformed response from upstream", 502, "InternalError")             \
	X(NET_REFUSED, "connection refused", 502, "InternalError")                                 \
	X(NET_TIMEOUT, "timed out", 504, "InternalError")                                          \
	X(NET_RESET, "connection reset by peer", 502, "InternalError")                             \
	X(NET_CLOSED, "connection closed", 502, "InternalError")                                   \
	X(CHUNK_MALFORMED, "aws-chunked body is malformed", 400, "InvalidRequest")                 \
	X(CHUNK_SIGNATURE, "a chunk signature does not match", 403, "SignatureDoesNotMatch")       \
	X(CHUNK_SIZE, "only the last chunk may be smaller than 8192 bytes", 403,                   \
	  "InvalidChunkSizeError")                                                                 \
	X(CHUNK_INCOMPLETE, "the body ended before its declared length", 400, "IncompleteBody")    \
	X(CHUNK_CHECKSUM, "the x-amz-checksum trailer does not match the data", 400, "BadDigest")  \
	X(CHUNK_TRAILER, "aws-chunked trailer is malformed or undeclared", 400,                    \
	  "MalformedTrailerError")                                                                 \
	/* S3 request routing (s3/route.c) */                                                      \
	X(S3_INVALID_URI, "couldn't parse the specified URI", 400, "InvalidURI")                   \
	X(S3_KEY_TOO_LONG, "your key is too long", 400, "KeyTooLongError")                         \
	X(S3_METHOD_NOT_ALLOWED, "the specified method is not allowed against this resource", 405, \
	  "MethodNotAllowed")                                                                      \
	X(S3_NOT_IMPLEMENTED,                                                                      \
	  "a header or query you provided implies functionality that is not "                      \
	  "implemented",                                                                           \
	  501, "NotImplemented")                                                                   \
	X(S3_INVALID_ARGUMENT, "invalid argument", 400, "InvalidArgument")                         \
	/* http/cond.c and http/range.c: texts are S3's messages */                                \
	X(COND_FAILED, "At least one of the pre-conditions you specified did not hold", 412,       \
	  "PreconditionFailed")                                                                    \
	X(COND_NOT_IMPLEMENTED,                                                                    \
	  "A header you provided implies functionality that is not "                               \
	  "implemented",                                                                           \
	  501, "NotImplemented")                                                                   \
	X(RANGE_NOT_SATISFIABLE, "The requested range is not satisfiable", 416, "InvalidRange")    \
	X(RANGE_COPY_MALFORMED,                                                                    \
	  "The x-amz-copy-source-range value must be of the form "                                 \
	  "bytes=first-last where first and last are the zero-based offsets of the first and "     \
	  "last bytes to copy",                                                                    \
	  400, "InvalidArgument")                                                                  \
	X(RANGE_COPY_START, "The specified copy range is invalid for the source object size", 400, \
	  "InvalidRequest")                                                                        \
	X(RANGE_COPY_END, "Range specified is not valid for source object of size", 400,           \
	  "InvalidArgument")                                                                       \
	X(NET_CANCELED, "the queued work was cancelled", 503, "ServiceUnavailable")                \
	X(BLOB_NO_SPACE, "the data volume is full", 503, "ServiceUnavailable")                     \
	X(BLOB_LOCKED, "the data directory is in use by another process", 0, NULL)                 \
	X(META_NO_SUCH_BUCKET, "the specified bucket does not exist", 404, "NoSuchBucket")         \
	X(META_NO_SUCH_KEY, "the specified key does not exist", 404, "NoSuchKey")                  \
	X(META_NO_SUCH_VERSION, "the specified version does not exist", 404, "NoSuchVersion")      \
	X(META_NO_SUCH_UPLOAD, "the specified multipart upload does not exist", 404,               \
	  "NoSuchUpload")                                                                          \
	X(META_BUCKET_NOT_EMPTY, "the bucket you tried to delete is not empty", 409,               \
	  "BucketNotEmpty")                                                                        \
	X(META_BUCKET_OWNED_BY_YOU, "you already own this bucket", 409, "BucketAlreadyOwnedByYou") \
	X(META_BUCKET_EXISTS, "the requested bucket name is not available", 409,                   \
	  "BucketAlreadyExists")                                                                   \
	X(META_BAD_VERSION_ID, "invalid version id specified", 400, "InvalidArgument")             \
	X(META_KEY_TOO_LONG, "your key is too long", 400, "KeyTooLongError")                       \
	X(META_INVALID_PART, "a listed part was not found or its ETag or checksum does not match", \
	  400, "InvalidPart")                                                                      \
	X(META_INVALID_PART_ORDER, "the list of parts was not in ascending order", 400,            \
	  "InvalidPartOrder")                                                                      \
	X(META_ENTITY_TOO_SMALL,                                                                   \
	  "a part other than the last is smaller than the minimum part size", 400,                 \
	  "EntityTooSmall")                                                                        \
	X(META_EXISTS, "a version or upload with this id already exists", 409, "OperationAborted") \
	X(META_BUSY, "the metadata queue is full", 503, "SlowDown")                                \
	X(META_CLOSED, "the metadata service is shutting down", 503, "ServiceUnavailable")         \
	X(META_SCHEMA, "the database schema is missing or newer than this program", 500,           \
	  "InternalError")                                                                         \
	X(META_SQLITE, "metadata database error", 500, "InternalError")

enum err {
	ERR_OK = 0,
	/* Codes sit far below -errno so the two can never be confused. */
	ERR__FIRST = -1000,
#define ERR_ENUM(name, text, status, s3) ERR_##name,
	ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
	    ERR__END
};

/* Text for a code; "unknown error" for anything not in the list. */
const char *err_text(int code);
/* The enum name without ERR_ ("AUTH_SKEW"), for logs and tests. */
const char *err_name(int code);
/* HTTP status an S3-facing server answers with (500 for unknown codes). */
int err_http_status(int code);
/* S3 error code (<Code>) or "InternalError". */
const char *err_s3_code(int code);

#endif
