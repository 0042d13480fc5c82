/*
 * The store's access log: one line per request in the layout of S3's server
 * access logs (docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html),
 * so tools that read those read these. Space-separated fields, "-" for one
 * that does not apply, the request line, referrer and user agent quoted.
 * Pure; any thread (docs/internals/s3-server.md).
 */
#ifndef MERIDIAN_S3_ACCESS_LOG_H
#define MERIDIAN_S3_ACCESS_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/iov.h"
#include "s3/route.h"

/* Longest a quoted field or the key is written; longer ones end in "...". */
#define S3_ACCESS_LOG_FIELD_MAX 2048
/* Room any line fits in: 26 fields, each at most 4 bytes per byte kept. */
#define S3_ACCESS_LOG_LINE_MAX (26 * (4 * S3_ACCESS_LOG_FIELD_MAX + 8))

/* One request, as the log sees it. Empty iovs and NULL strings print "-". */
struct s3_access_entry {
	struct iov bucket_owner; /* the requester's canonical id when it owns the bucket */
	struct iov bucket;
	int64_t time; /* when the request arrived, Unix seconds */
	struct iov remote_ip;
	struct iov requester; /* canonical id; empty: anonymous */
	const char *request_id;
	const char *operation; /* s3_access_log_operation */
	struct iov key;        /* decoded; written URL-encoded */
	struct iov method, target;
	unsigned version_minor; /* HTTP/1.x */
	int status;
	const char *error_code; /* S3's <Code> when it answered an error */
	uint64_t bytes_sent;    /* response body bytes; 0 prints "-" */
	int64_t object_size;    /* the object's whole size (uploaded, or read); < 0: "-" */
	uint64_t total_ms;
	struct iov referer, user_agent;
	struct iov version_id;
	struct iov host_id;
	const char *signature_version; /* "SigV4", "SigV4A" */
	const char *auth_type;         /* "AuthHeader", "QueryString" */
	struct iov host;
	const char *tls_version;
	struct iov access_point; /* the alias the request named */
};

/* S3's name of an operation, "REST.<METHOD>.<RESOURCE>": REST.GET.OBJECT,
 * REST.PUT.PART, REST.COPY.OBJECT (copy: a copy source was given), ...;
 * routed false: REST.<method>.UNKNOWN for a request no operation took
 * (method cut to 8 characters, into out of 32 bytes). */
const char *s3_access_log_operation(bool routed, enum s3_op op, bool copy, struct iov method,
                                    char out[32]);

/* Append e's line, newline included. 0, ERR_NOMEM, or ERR_TOO_BIG from a
 * buffer capped below S3_ACCESS_LOG_LINE_MAX. */
int s3_access_log_line(const struct s3_access_entry *e, struct buf *out);

#endif
