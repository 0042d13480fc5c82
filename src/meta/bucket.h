/*
 * Buckets: create, look up, delete when empty, list by owner, versioning
 * state and the anonymous-read flag. Synchronous on one connection (db.h);
 * each call is its own transaction, or a savepoint inside the caller's.
 */
#ifndef MERIDIAN_META_BUCKET_H
#define MERIDIAN_META_BUCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "meta/db.h"
#include "meta/meta-t.h"

/*
 * Create b->name (name, owner, region 1..META_NAME_MAX bytes; versioning and
 * anon_read as given, normally UNVERSIONED and false). Borrows b.
 * 0, ERR_META_BUCKET_OWNED_BY_YOU (exists, same owner),
 * ERR_META_BUCKET_EXISTS (exists, another owner), ERR_INVALID, or a database
 * error.
 */
int meta_bucket_create(struct meta_db *db, const struct meta_bucket *b);

/* The bucket's record; strings in the arena. 0, ERR_META_NO_SUCH_BUCKET,
 * ERR_NOMEM. */
int meta_bucket_get(struct meta_db *db, struct iov name, struct arena *a, struct meta_bucket *out);

/* Most part files one bucket deletion hands back (what it holds in memory);
 * the parts beyond are left to blob_store_gc at the next start. */
#define META_BUCKET_DELETE_FILES_MAX 10000

/*
 * Delete a bucket with no version and no delete marker, as S3 does: its
 * multipart uploads in progress go with it, and the data files of their
 * parts (up to META_BUCKET_DELETE_FILES_MAX) go to *garbage, strings in a.
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_BUCKET_NOT_EMPTY or ERR_NOMEM.
 */
int meta_bucket_delete(struct meta_db *db, struct iov name, struct arena *a,
                       struct meta_files *garbage);

/* Every bucket of owner, by name, into an arena array. 0 or ERR_NOMEM. */
int meta_bucket_list(struct meta_db *db, struct iov owner, struct arena *a,
                     struct meta_bucket **out, size_t *n);

/* Enable or suspend versioning (a bucket never returns to UNVERSIONED:
 * that is ERR_INVALID). 0 or ERR_META_NO_SUCH_BUCKET. */
int meta_bucket_set_versioning(struct meta_db *db, struct iov name, enum meta_versioning v);

int meta_bucket_set_anon_read(struct meta_db *db, struct iov name, bool on);

/* S3's <Status> text for a state ("" for UNVERSIONED). */
const char *meta_versioning_name(enum meta_versioning v);

#endif
