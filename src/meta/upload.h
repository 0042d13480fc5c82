/*
 * Multipart uploads: create, put part, list parts, complete, abort.
 * Synchronous on one connection (db.h); each call is its own transaction, or
 * a savepoint inside the caller's. Listing uploads is in list.h.
 *
 * A completed multipart object keeps its part files: the version references
 * them in order with their offsets (struct meta_object.parts), so completion
 * copies no bytes and a GET streams the part files one after another.
 *
 * Upload ids are the caller's (unique per bucket and key). Uploads of one key
 * list in upload id order, so ids that sort by creation time (an hlc version
 * id as prefix) give S3's initiation order.
 */
#ifndef MERIDIAN_META_UPLOAD_H
#define MERIDIAN_META_UPLOAD_H

#include <stdint.h>

#include "base/arena.h"
#include "meta/db.h"
#include "meta/meta-t.h"

/* Start an upload (u->key, upload_id 1..META_NAME_MAX, owner required).
 * Borrows u. 0, ERR_META_NO_SUCH_BUCKET, ERR_META_KEY_TOO_LONG, ERR_INVALID,
 * ERR_TOO_BIG, ERR_META_EXISTS (upload id already used for this key). */
int meta_upload_create(struct meta_db *db, struct iov bucket, const struct meta_upload *u);

/* The upload's record. 0, ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_UPLOAD. */
int meta_upload_get(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                    struct arena *a, struct meta_upload *out);

/*
 * Record part p (number 1..META_PART_NUMBER_MAX; size, etag, data_file,
 * checksum, last_modified_ms). A part already stored under that number is
 * replaced and its file id goes to *replaced. If this fails (for instance
 * ERR_META_NO_SUCH_UPLOAD because the upload was completed or aborted
 * meanwhile) the new file is still the caller's to delete.
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_UPLOAD, ERR_INVALID,
 * ERR_TOO_BIG.
 */
int meta_upload_put_part(struct meta_db *db, struct iov bucket, struct iov key,
                         struct iov upload_id, const struct meta_part *p, struct arena *a,
                         struct meta_files *replaced);

/* Parts numbered above `marker`, at most max (clamped to META_LIST_MAX), in
 * order; out->upload is the upload's record. 0, ERR_META_NO_SUCH_BUCKET,
 * ERR_META_NO_SUCH_UPLOAD. */
int meta_upload_list_parts(struct meta_db *db, struct iov bucket, struct iov key,
                           struct iov upload_id, uint32_t marker, uint32_t max, struct arena *a,
                           struct meta_part_list *out);

/*
 * Complete an upload atomically: check the listed parts (strictly ascending;
 * each stored with the same ETag and, if given, checksum; all but the last
 * at least c->min_part_size), then add one object version made of those
 * parts (versioning as in meta_object_put), and drop the upload. Parts not
 * listed, and a replaced null version, go to *garbage. out is the new
 * version (with its parts).
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_UPLOAD, ERR_META_INVALID_PART,
 * ERR_META_INVALID_PART_ORDER, ERR_META_ENTITY_TOO_SMALL, ERR_INVALID,
 * ERR_META_EXISTS, ERR_NOMEM.
 */
int meta_upload_complete(struct meta_db *db, struct iov bucket, const struct meta_complete *c,
                         struct arena *a, struct meta_object *out, struct meta_files *garbage);

/* Drop an upload and its parts; their file ids go to *garbage.
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_UPLOAD. */
int meta_upload_abort(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                      struct arena *a, struct meta_files *garbage);

#endif
