/*
 * Which S3 operation a request is: bucket and key from the Host header
 * (virtual-hosted style, `bucket.DOMAIN`) or the path (path style), the
 * operation from the method and the sub-resource in the query string. Pure;
 * any thread.
 *
 * The operations are one X-macro list: name, method, scope, the query
 * sub-resource that selects it (NULL for none). The store's handler table is
 * indexed by the same enum.
 */
#ifndef MERIDIAN_S3_ROUTE_H
#define MERIDIAN_S3_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/iov.h"

#define S3_KEY_MAX 1024 /* bytes, after decoding */

/* Scopes: SERVICE (no bucket), BUCKET (a bucket, no key), OBJECT. */
#define S3_OPS(X)                                                                         \
	X(LIST_BUCKETS, "GET", SERVICE, NULL)                                             \
	X(CREATE_BUCKET, "PUT", BUCKET, NULL)                                             \
	X(DELETE_BUCKET, "DELETE", BUCKET, NULL)                                          \
	X(HEAD_BUCKET, "HEAD", BUCKET, NULL)                                              \
	X(LIST_OBJECTS, "GET", BUCKET, NULL) /* v1, or v2 with list-type=2 */             \
	X(GET_BUCKET_LOCATION, "GET", BUCKET, "location")                                 \
	X(GET_BUCKET_VERSIONING, "GET", BUCKET, "versioning")                             \
	X(PUT_BUCKET_VERSIONING, "PUT", BUCKET, "versioning")                             \
	X(LIST_OBJECT_VERSIONS, "GET", BUCKET, "versions")                                \
	X(PUT_BUCKET_REPLICATION, "PUT", BUCKET, "replication")                           \
	X(GET_BUCKET_REPLICATION, "GET", BUCKET, "replication")                           \
	X(DELETE_BUCKET_REPLICATION, "DELETE", BUCKET, "replication")                     \
	X(LIST_MULTIPART_UPLOADS, "GET", BUCKET, "uploads")                               \
	X(DELETE_OBJECTS, "POST", BUCKET, "delete")                                       \
	X(GET_OBJECT, "GET", OBJECT, NULL)                                                \
	X(HEAD_OBJECT, "HEAD", OBJECT, NULL)                                              \
	X(PUT_OBJECT, "PUT", OBJECT, NULL) /* CopyObject with x-amz-copy-source */        \
	X(DELETE_OBJECT, "DELETE", OBJECT, NULL)                                          \
	X(CREATE_MULTIPART_UPLOAD, "POST", OBJECT, "uploads")                             \
	X(UPLOAD_PART, "PUT", OBJECT, "uploadId") /* UploadPartCopy with a copy source */ \
	X(COMPLETE_MULTIPART_UPLOAD, "POST", OBJECT, "uploadId")                          \
	X(ABORT_MULTIPART_UPLOAD, "DELETE", OBJECT, "uploadId")                           \
	X(LIST_PARTS, "GET", OBJECT, "uploadId")

enum s3_op {
#define S3_OP_ENUM(name, method, scope, sub) S3_OP_##name,
	S3_OPS(S3_OP_ENUM)
#undef S3_OP_ENUM
	    S3_OP__COUNT
};

/* "GetObject"-style name for logs ("LIST_BUCKETS" form). */
const char *s3_op_name(enum s3_op op);

/*
 * An access point alias (a multi-region access point's name, as AWS makes
 * them: `mfzwi23gnjvgw.mrap`) and the local bucket it stands for. The router
 * forwards requests that name the alias unchanged; the store maps it here.
 */
#define S3_ALIAS_MIN 3
#define S3_ALIAS_MAX 63

struct s3_access_point {
	struct iov alias;
	struct iov bucket;
};

struct s3_route_in {
	struct iov method;
	struct iov target; /* origin-form request target, raw */
	struct iov host;   /* the Host header (port allowed) */
	/* Domains served virtual-hosted style (`bucket.<domain>`); a Host that
	 * is none of them (an IP, localhost, ...) means path style. */
	const struct iov *domains;
	size_t ndomains;
	/* Access points: `Host: <alias>.<mrap domain>` (any case, any port) or
	 * a first path segment equal to an alias names the alias's bucket. With
	 * naps == 0 and nmrap_domains == 0 routing is as without them. */
	const struct s3_access_point *aps;
	size_t naps;
	const struct iov *mrap_domains;
	size_t nmrap_domains;
};

struct s3_route {
	enum s3_op op;
	struct iov bucket;     /* empty for SERVICE; an alias's bucket */
	struct iov alias;      /* the access point named, or IOV_NULL */
	struct iov key;        /* decoded (arena); empty unless OBJECT */
	bool virtual_host;     /* bucket came from the Host header */
	struct iov query;      /* raw query string, without '?' */
	struct iov version_id; /* decoded versionId, or IOV_NULL */
	struct iov upload_id;  /* decoded uploadId, or IOV_NULL */
	uint32_t part_number;  /* partNumber, 0 if absent */
	bool has_version_id;
};

/*
 * Route a request. Decoded strings live in `a`; bucket and alias borrow from
 * the request or from in->aps. An alias wins over a bucket of the same name.
 * Errors: ERR_S3_INVALID_URI (bad percent-encoding, or a target that is not
 * a path), ERR_S3_KEY_TOO_LONG, ERR_S3_METHOD_NOT_ALLOWED (a method no
 * operation of that scope takes), ERR_S3_NOT_IMPLEMENTED (a sub-resource
 * Meridian does not serve: acl, policy, tagging, ...),
 * ERR_S3_INVALID_ARGUMENT (a bad partNumber), ERR_S3AP_NO_SUCH_ACCESS_POINT
 * (a Host under an mrap domain, and under no bucket domain, whose label is
 * no configured alias), ERR_NOMEM.
 */
int s3_route(const struct s3_route_in *in, struct arena *a, struct s3_route *out);

/*
 * Whether a routed request may go through an access point, as AWS allows
 * on a multi-region access point: object reads and writes, multipart
 * uploads, ListObjectsV2 and ListMultipartUploads; not CopyObject or
 * UploadPartCopy (`copy_source`: the request has x-amz-copy-source), not
 * ListObjects v1 nor any other bucket operation. 0 for a request without an
 * alias; else 0 or ERR_S3AP_NOT_SUPPORTED.
 */
int s3_route_alias_allowed(const struct s3_route *r, bool copy_source);

/* An alias as --access-point takes it: S3_ALIAS_MIN..S3_ALIAS_MAX bytes of
 * lowercase labels (a-z 0-9 '-') joined by single dots. 0 or ERR_INVALID. */
int s3_alias_valid(struct iov alias);

/* A domain name for --domain / --mrap-domain: 1..253 bytes of labels of
 * 1..63 letters, digits and '-' (not first or last) joined by dots, no
 * port. 0 or ERR_INVALID. */
int s3_domain_valid(struct iov domain);

/*
 * Parse `ALIAS=BUCKET` (s3_alias_valid, s3_names_bucket_valid). The slices
 * borrow from `arg`. 0 or ERR_INVALID with `why` (a static string) set.
 */
int s3_access_point_parse(struct iov arg, struct s3_access_point *out, const char **why);

/*
 * The decoded value of query parameter `name` in a raw query string, into
 * `a`. 1 when present (the value may be empty: `?uploads`), 0 when absent,
 * or ERR_S3_INVALID_URI / ERR_NOMEM.
 */
int s3_query_get(struct iov query, const char *name, struct arena *a, struct iov *out);

#endif
