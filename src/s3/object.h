/*
 * Pieces the object-writing operations share (object.c, copy.c,
 * multipart.c): request metadata into the stored form, the checksum a client
 * asks for, and the digest checks after the bytes are in. Loop thread.
 */
#ifndef MERIDIAN_S3_OBJECT_H
#define MERIDIAN_S3_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/checksum.h"
#include "s3/s3-int.h"

/* The S3 additional checksum of a write. */
struct s3_checksum {
	bool on; /* compute and store one */
	enum checksum_alg alg;
	bool has_value;    /* the client sent the value (header or trailer) */
	bool from_trailer; /* the value comes with the aws-chunked trailer */
	uint8_t value[CHECKSUM_MAX_LEN];
	size_t len;
};

/* Content-Type and the stored headers (Cache-Control, ..., x-amz-meta-*)
 * of the request, encoded for meta/. 0, ERR_S3_METADATA_TOO_LARGE,
 * ERR_NOMEM. */
int s3__object_meta(struct s3_req *q, struct iov *content_type, struct iov *attrs);
/* The checksum the request asks for. 0, ERR_S3_INVALID_REQUEST (unknown
 * algorithm, two of them), ERR_S3_INVALID_DIGEST (a value that is not
 * base64 of the right length). */
int s3__object_checksum(struct s3_req *q, struct s3_checksum *out);
/* Content-MD5 and the checksum value against what was written.
 * 0, ERR_S3_INVALID_DIGEST, ERR_S3_BAD_DIGEST. */
int s3__object_check_digests(struct s3_req *q, const struct s3_checksum *c,
                             const struct blob_info *info);
/* The message of a BadDigest that a checksum (not Content-MD5) caused, as
 * S3 words it ("The CRC32 you specified did not match ..."), or NULL. */
const char *s3__object_digest_why(struct s3_req *q, int rc, const struct s3_checksum *c);
/* The value of an aws-chunked trailer checksum, once the body verified. */
void s3__object_trailer_checksum(struct s3_req *q, struct s3_checksum *c);

/*
 * The body of a PutObject or UploadPart is in (the pipe finished): check
 * Content-MD5 and the checksum (the trailer's included), write the MD5 hex
 * into etag_hex and the checksum's base64 into checksum_b64, and commit the
 * blob, continuing in `committed`. On a failure the blob is dropped and the
 * error answered.
 */
void s3__object_body_end(struct s3_req *q, struct s3_checksum *sum, char *etag_hex,
                         char *checksum_b64, void (*committed)(struct s3_req *q));
/*
 * After the metadata commit of a write whose data file is `blob_id`: on
 * failure (q->rc) remove that file, which no row names, answer the error
 * (ERR_NOT_FOUND as `not_found` when that is not 0) and return false; else
 * remove the files the write replaced and return true.
 */
bool s3__object_stored(struct s3_req *q, const char *blob_id, const struct meta_files *replaced,
                       int not_found);
/* The ETag header, and the checksum's when there is one, into hs[0..2);
 * returns how many. */
size_t s3__object_write_headers(struct s3_req *q, struct http_header *hs, const char *etag_hex,
                                const struct s3_checksum *sum, const char *checksum_b64);

/* S3's upper-case name of an algorithm stored in lower case ("CRC32"), or
 * NULL. And the XML element that carries a value of it ("ChecksumCRC32"). */
const char *s3__checksum_upper(struct iov algo);
const char *s3__checksum_element(struct iov algo);

/* The announced size (Content-Length, or x-amz-decoded-content-length of an
 * aws-chunked body) against S3's 5 GiB limit: 0 or ERR_S3_ENTITY_TOO_LARGE,
 * answered before any of the body is read. */
int s3__object_size_ok(struct s3_req *q);

/* CopyObject (a PUT with x-amz-copy-source) and UploadPartCopy. */
void s3__copy_object(struct s3_req *q);
void s3__upload_part_copy(struct s3_req *q);

#endif
