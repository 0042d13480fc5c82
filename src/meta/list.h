/*
 * Listings: current objects (ListObjects V1/V2), all versions and delete
 * markers (ListObjectVersions), and multipart uploads in progress
 * (ListMultipartUploads), each with prefix, delimiter, markers and a page
 * size (struct meta_list_args). Synchronous on one connection (db.h); a page
 * is read in one read transaction, so it is a consistent snapshot.
 *
 * Keys order byte-wise (memcmp). With a delimiter, each common prefix costs
 * one indexed query: the walk jumps past the whole prefix range instead of
 * reading the keys under it, so a page costs O(entries + prefixes) rows.
 * Results and their strings live in the caller's arena.
 */
#ifndef MERIDIAN_META_LIST_H
#define MERIDIAN_META_LIST_H

#include "base/arena.h"
#include "meta/db.h"
#include "meta/meta-t.h"

/*
 * Latest versions that are not delete markers, keys after args->marker.
 * Fills out->objects (every field but parts), prefixes, truncated and
 * next_marker. 0, ERR_META_NO_SUCH_BUCKET, ERR_META_KEY_TOO_LONG (prefix,
 * delimiter or marker over META_KEY_MAX), ERR_NOMEM.
 */
int meta_list_objects(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                      struct arena *a, struct meta_list *out);

/*
 * Every version and delete marker: keys in order, each key's versions newest
 * first. args->marker is key-marker, args->sub_marker version-id-marker
 * (continue after that version of that key; a "null" marker whose version is
 * gone restarts that key, so entries may repeat but none are lost).
 * Fills out->objects, prefixes, truncated, next_marker, next_sub_marker.
 * Errors as meta_list_objects, plus ERR_META_BAD_VERSION_ID and ERR_INVALID
 * (a version-id-marker without a key-marker).
 */
int meta_list_versions(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                       struct arena *a, struct meta_list *out);

/*
 * Uploads in progress in (key, upload id) order. args->marker is key-marker,
 * args->sub_marker upload-id-marker (ignored without a key-marker, as S3
 * does). Fills out->uploads, prefixes, truncated, next_marker,
 * next_sub_marker. Errors as meta_list_objects.
 */
int meta_list_uploads(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                      struct arena *a, struct meta_list *out);

#endif
