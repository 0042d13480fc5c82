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
	X(META_SQLITE, "metadata database error", 500, "InternalError")                            \
	/* S3 error table (s3/error.h): the text is S3's default <Message>. */                     \
	X(S3_ACCESS_DENIED, "Access Denied", 403, "AccessDenied")                                  \
	X(S3_AUTHORIZATION_HEADER_MALFORMED, "The authorization header is malformed", 400,         \
	  "AuthorizationHeaderMalformed")                                                          \
	X(S3_BAD_DIGEST, "The Content-MD5 you specified did not match what we received.", 400,     \
	  "BadDigest")                                                                             \
	X(S3_BUCKET_ALREADY_EXISTS,                                                                \
	  "The requested bucket name is not available. The bucket namespace is shared by all "     \
	  "users of the system. Please select a different name and try again.",                    \
	  409, "BucketAlreadyExists")                                                              \
	X(S3_BUCKET_ALREADY_OWNED_BY_YOU,                                                          \
	  "Your previous request to create the named bucket succeeded and you already own it.",    \
	  409, "BucketAlreadyOwnedByYou")                                                          \
	X(S3_BUCKET_NOT_EMPTY, "The bucket you tried to delete is not empty", 409,                 \
	  "BucketNotEmpty")                                                                        \
	X(S3_CONTENT_SHA256_MISMATCH,                                                              \
	  "The provided 'x-amz-content-sha256' header does not match what was computed.", 400,     \
	  "XAmzContentSHA256Mismatch")                                                             \
	X(S3_ENTITY_TOO_LARGE, "Your proposed upload exceeds the maximum allowed object size.",    \
	  400, "EntityTooLarge")                                                                   \
	X(S3_ENTITY_TOO_SMALL,                                                                     \
	  "Your proposed upload is smaller than the minimum allowed object size.", 400,            \
	  "EntityTooSmall")                                                                        \
	X(S3_EXPIRED_TOKEN, "The provided token has expired.", 400, "ExpiredToken")                \
	X(S3_ILLEGAL_LOCATION_CONSTRAINT,                                                          \
	  "The unspecified location constraint is incompatible for the region specific endpoint "  \
	  "this request was sent to.",                                                             \
	  400, "IllegalLocationConstraintException")                                               \
	X(S3_ILLEGAL_VERSIONING_CONFIGURATION, "The Versioning element must be specified", 400,    \
	  "IllegalVersioningConfigurationException")                                               \
	X(S3_INCOMPLETE_BODY,                                                                      \
	  "You did not provide the number of bytes specified by the Content-Length HTTP header",   \
	  400, "IncompleteBody")                                                                   \
	X(S3_INTERNAL_ERROR, "We encountered an internal error. Please try again.", 500,           \
	  "InternalError")                                                                         \
	X(S3_INVALID_ACCESS_KEY_ID,                                                                \
	  "The AWS Access Key Id you provided does not exist in our records.", 403,                \
	  "InvalidAccessKeyId")                                                                    \
	X(S3_INVALID_ARGUMENT, "Invalid Argument", 400, "InvalidArgument")                         \
	X(S3_INVALID_BUCKET_NAME, "The specified bucket is not valid.", 400, "InvalidBucketName")  \
	X(S3_INVALID_BUCKET_STATE,                                                                 \
	  "The request is not valid with the current state of the bucket.", 409,                   \
	  "InvalidBucketState")                                                                    \
	X(S3_INVALID_DIGEST, "The Content-MD5 you specified is not valid.", 400, "InvalidDigest")  \
	X(S3_INVALID_LOCATION_CONSTRAINT, "The specified location-constraint is not valid", 400,   \
	  "InvalidLocationConstraint")                                                             \
	X(S3_INVALID_OBJECT_STATE, "The operation is not valid for the object's storage class",    \
	  403, "InvalidObjectState")                                                               \
	X(S3_INVALID_PART,                                                                         \
	  "One or more of the specified parts could not be found.  The part may not have been "    \
	  "uploaded, or the specified entity tag may not match the part's entity tag.",            \
	  400, "InvalidPart")                                                                      \
	X(S3_INVALID_PART_NUMBER, "The requested partnumber is not satisfiable", 416,              \
	  "InvalidPartNumber")                                                                     \
	X(S3_INVALID_PART_ORDER,                                                                   \
	  "The list of parts was not in ascending order. Parts must be ordered by part number.",   \
	  400, "InvalidPartOrder")                                                                 \
	X(S3_INVALID_RANGE, "The requested range is not satisfiable", 416, "InvalidRange")         \
	X(S3_INVALID_REQUEST, "Invalid Request", 400, "InvalidRequest")                            \
	X(S3_INVALID_STORAGE_CLASS, "The storage class you specified is not valid", 400,           \
	  "InvalidStorageClass")                                                                   \
	X(S3_INVALID_TOKEN, "The provided token is malformed or otherwise invalid.", 400,          \
	  "InvalidToken")                                                                          \
	X(S3_INVALID_URI, "Couldn't parse the specified URI.", 400, "InvalidURI")                  \
	X(S3_KEY_TOO_LONG, "Your key is too long", 400, "KeyTooLongError")                         \
	X(S3_MALFORMED_XML,                                                                        \
	  "The XML you provided was not well-formed or did not validate against our published "    \
	  "schema",                                                                                \
	  400, "MalformedXML")                                                                     \
	X(S3_MAX_MESSAGE_LENGTH_EXCEEDED, "Your request was too big.", 400,                        \
	  "MaxMessageLengthExceeded")                                                              \
	X(S3_METADATA_TOO_LARGE,                                                                   \
	  "Your metadata headers exceed the maximum allowed metadata size.", 400,                  \
	  "MetadataTooLarge")                                                                      \
	X(S3_METHOD_NOT_ALLOWED, "The specified method is not allowed against this resource.",     \
	  405, "MethodNotAllowed")                                                                 \
	X(S3_MISSING_CONTENT_LENGTH, "You must provide the Content-Length HTTP header.", 411,      \
	  "MissingContentLength")                                                                  \
	X(S3_MISSING_REQUEST_BODY, "Request Body is empty", 400, "MissingRequestBodyError")        \
	X(S3_MISSING_SECURITY_HEADER, "Your request is missing a required header.", 400,           \
	  "MissingSecurityHeader")                                                                 \
	X(S3_NO_SUCH_BUCKET, "The specified bucket does not exist", 404, "NoSuchBucket")           \
	X(S3_NO_SUCH_BUCKET_POLICY, "The bucket policy does not exist", 404, "NoSuchBucketPolicy") \
	X(S3_NO_SUCH_KEY, "The specified key does not exist.", 404, "NoSuchKey")                   \
	X(S3_NO_SUCH_REPLICATION_CONFIGURATION, "The replication configuration was not found",     \
	  404, "ReplicationConfigurationNotFoundError")                                            \
	X(S3_NO_SUCH_UPLOAD,                                                                       \
	  "The specified upload does not exist. The upload ID may be invalid, or the upload may "  \
	  "have been aborted or completed.",                                                       \
	  404, "NoSuchUpload")                                                                     \
	X(S3_NO_SUCH_VERSION, "The specified version does not exist.", 404, "NoSuchVersion")       \
	X(S3_NOT_IMPLEMENTED,                                                                      \
	  "A header you provided implies functionality that is not implemented", 501,              \
	  "NotImplemented")                                                                        \
	X(S3_PRECONDITION_FAILED, "At least one of the pre-conditions you specified did not hold", \
	  412, "PreconditionFailed")                                                               \
	X(S3_REQUEST_TIME_TOO_SKEWED,                                                              \
	  "The difference between the request time and the current time is too large.", 403,       \
	  "RequestTimeTooSkewed")                                                                  \
	X(S3_REQUEST_TIMEOUT,                                                                      \
	  "Your socket connection to the server was not read from or written to within the "       \
	  "timeout period. Idle connections will be closed.",                                      \
	  400, "RequestTimeout")                                                                   \
	X(S3_SIGNATURE_DOES_NOT_MATCH,                                                             \
	  "The request signature we calculated does not match the signature you provided. Check "  \
	  "your key and signing method.",                                                          \
	  403, "SignatureDoesNotMatch")                                                            \
	X(S3_SLOW_DOWN, "Please reduce your request rate.", 503, "SlowDown")                       \
	X(S3_TOO_MANY_BUCKETS, "You have attempted to create more buckets than allowed", 400,      \
	  "TooManyBuckets")                                                                        \
	/* router/: region selection and the routes table. */                                      \
	X(ROUTER_NO_REGION, "no region can serve the request", 503, "ServiceUnavailable")          \
	X(ROUTER_STALE_ROUTES, "the routes changed since the version this update was based on",    \
	  409, "ConflictException")                                                                \
	X(ROUTER_NO_ACTIVE, "at least one region must stay active", 400, "InvalidRequest")         \
	X(CONFIG_YAML, "configuration file is not acceptable YAML", 0, NULL)                       \
	X(CONFIG_SCHEMA, "configuration value is missing or invalid", 0, NULL)                     \
	/* s3/: access point aliases (multi-region access points) on a store. */                   \
	X(S3AP_SIGV4A_REQUIRED,                                                                    \
	  "Requests to a Multi-Region Access Point must be signed with SigV4A "                    \
	  "(AWS4-ECDSA-P256-SHA256).",                                                             \
	  403, "AccessDenied")                                                                     \
	X(S3AP_NOT_SUPPORTED,                                                                      \
	  "This operation is not supported through a Multi-Region Access Point.", 501,             \
	  "NotImplemented")                                                                        \
	X(S3AP_NO_SUCH_ACCESS_POINT, "The specified access point does not exist.", 404,            \
	  "NoSuchAccessPoint")                                                                     \
	/* edge/behavior.c: cache behaviors and the cache key */                                   \
	X(EDGE_BEHAVIOR_INVALID, "a cache behavior is invalid", 0, NULL)                           \
	X(EDGE_BEHAVIOR_FULL, "too many cache behaviors", 0, NULL)                                 \
	X(EDGE_KEY_METHOD, "responses to this method are not cached", 0, NULL)                     \
	X(EDGE_KEY_TOO_LONG, "the URL is too long for a cache key", 414, NULL)                     \
	X(EDGE_KEY_HEADERS_TOO_LARGE, "a header in the cache key is too large", 431, NULL)         \
	/* edge/invalidation_xml.c: CloudFront CreateInvalidation bodies (CloudFront's codes) */   \
	X(EDGE_INV_MALFORMED_XML,                                                                  \
	  "The XML document you provided was not well-formed or did not validate against our "     \
	  "published schema.",                                                                     \
	  400, "MalformedXML")                                                                     \
	X(EDGE_INV_INVALID_ARGUMENT, "An argument is invalid.", 400, "InvalidArgument")            \
	X(EDGE_INV_INCONSISTENT_QUANTITIES,                                                        \
	  "The value of Quantity and the size of Items don't match.", 400,                         \
	  "InconsistentQuantities")                                                                \
	X(EDGE_INV_BATCH_TOO_LARGE, "Invalidation batch specified is too large.", 413,             \
	  "BatchTooLarge")                                                                         \
	X(EDGE_INV_MISSING_BODY, "This operation requires a body.", 400, "MissingBody")            \
	/* deploy/up */                                                                            \
	X(UP_TIMEOUT, "timed out", 0, NULL)                                                        \
	X(UP_CHILD, "a child process failed", 0, NULL)                                             \
	X(UP_NOT_RUNNING, "no stack is running in this state directory", 0, NULL)                  \
	X(UP_RUNNING, "a stack is already running in this state directory", 0, NULL)               \
	X(UP_HTTP, "an HTTP request failed", 0, NULL)                                              \
	/* replication (s3 replication API, repl/) */                                              \
	X(REPL_NO_PEER, "no configured replication peer holds the destination bucket", 400,        \
	  "InvalidRequest")                                                                        \
	X(REPL_NEEDS_VERSIONING,                                                                   \
	  "Versioning must be 'Enabled' on the bucket to apply a replication configuration", 400,  \
	  "InvalidRequest")                                                                        \
	/* edgefn/: the Lua sandbox for edge functions; the edge answers 502 like CloudFront */    \
	X(EDGEFN_SYNTAX, "an edge function does not compile", 0, NULL)                             \
	X(EDGEFN_NO_HANDLER, "an edge function defines no handler(event, context)", 0, NULL)       \
	X(EDGEFN_RUNTIME, "the edge function raised an error", 502, NULL)                          \
	X(EDGEFN_BUDGET, "the edge function exceeded its instruction budget", 502, NULL)           \
	X(EDGEFN_TIMEOUT, "the edge function exceeded its time limit", 502, NULL)                  \
	X(EDGEFN_MEMORY, "the edge function exceeded its memory limit", 502, NULL)                 \
	X(EDGEFN_VALUE, "a value cannot cross the edge function boundary", 502, NULL)              \
	/* edge/fn_event.c: a function's result breaks a Lambda@Edge rule (502) */                 \
	X(EDGE_FN_VIOLATION, "the edge function returned a result CloudFront would refuse", 502,   \
	  NULL)                                                                                    \
	/* TLS (net/tls.c, crypto/cert.c) */                                                       \
	X(TLS_CONFIG, "a TLS certificate, key or CA file is not usable", 0, NULL)                  \
	X(TLS_HANDSHAKE, "the TLS handshake failed", 0, NULL)                                      \
	X(TLS_VERIFY, "the peer's TLS certificate was not accepted", 0, NULL)

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
