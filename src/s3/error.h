/*
 * The S3 error table and <Error> documents (docs/internals/s3-xml.md).
 * The table itself is the ERR_S3_* block of ERR_MAP in base/err.h: each row
 * gives S3's <Code>, HTTP status and default <Message>. Codes from other
 * modules that map to an S3 code (ERR_AUTH_MISMATCH -> SignatureDoesNotMatch)
 * borrow the message of the ERR_S3_* row with the same code. Pure; any thread.
 */
#ifndef MERIDIAN_S3_ERROR_H
#define MERIDIAN_S3_ERROR_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* The ERR_S3_* block of ERR_MAP runs from the first row to the last. */
#define S3_ERR_FIRST ERR_S3_ACCESS_DENIED
#define S3_ERR_LAST  ERR_S3_TOO_MANY_BUCKETS

/* An extra child of <Error> (<BucketName>, <Key>, <Condition>, <UploadId>,
 * <ArgumentName>, ...): name is a literal, value any UTF-8 (escaped). */
struct s3_error_field {
	const char *name;
	struct iov value;
};

/* Whether `err` is one of the ERR_S3_* rows. */
static inline int s3_error_is_s3(int err)
{
	return err >= S3_ERR_FIRST && err <= S3_ERR_LAST;
}

/* S3's <Code> for any error code ("InternalError" when it has none). */
const char *s3_error_code(int err);
/* HTTP status to answer with (500 for codes without one). */
int s3_error_status(int err);
/* S3's default <Message> for `err`: its own row's text for ERR_S3_*, else
 * the text of the ERR_S3_* row with the same <Code>, else err_text(). */
const char *s3_error_message(int err);

/*
 * Append S3's error document for `err` to `out`:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>\n
 *   <Error><Code>..</Code><Message>..</Message>[extra fields...]
 *   [<Resource>..</Resource>]<RequestId>..</RequestId><HostId>..</HostId></Error>
 *
 * <Error> carries no namespace (as S3 sends it). `message` NULL means
 * s3_error_message(err). Empty resource, request_id or host_id slices are
 * left out. `extra` is an array of n fields, written in order. Borrows
 * everything. 0, ERR_TOO_BIG (out's cap), ERR_NOMEM or ERR_INVALID (text
 * that is not UTF-8); on error `out` is unchanged.
 */
int s3_error_xml(struct buf *out, int err, const char *message, struct iov resource,
                 struct iov request_id, struct iov host_id, const struct s3_error_field *extra,
                 size_t n);

#endif
