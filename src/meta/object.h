/*
 * Object versions with S3 semantics: put, get (latest or by version id),
 * delete (remove, delete marker, or permanent removal of one version) and the
 * replication status. Synchronous on one connection (db.h); each call is
 * its own transaction, or a savepoint inside the caller's.
 *
 * The latest version of a key is the one with the highest (hlc, region);
 * local writes pass a fresh hlc_now(), so the newest write is the latest and
 * a replicated one wins or loses by last-writer-wins. Removed versions hand
 * their data file ids back (struct meta_files); the caller deletes those
 * files after the transaction commits.
 */
#ifndef MERIDIAN_META_OBJECT_H
#define MERIDIAN_META_OBJECT_H

#include <stdbool.h>

#include "base/arena.h"
#include "meta/db.h"
#include "meta/meta-t.h"

/*
 * Store a new version of o->key (see struct meta_object for the input
 * fields; data_file is required). In an ENABLED bucket it gets the id of
 * (o->hlc, o->region) and the older versions stay; in an UNVERSIONED or
 * SUSPENDED bucket it is the "null" version and replaces the previous null
 * version, whose file ids go to *replaced. Fills o->version_id and
 * o->is_latest. Borrows o's slices; *replaced points into the arena.
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_KEY_TOO_LONG, ERR_INVALID (empty key,
 * bad hlc, missing field), ERR_TOO_BIG (a field over its cap),
 * ERR_META_EXISTS (that version id is already stored), ERR_NOMEM, or a
 * database error.
 */
int meta_object_put(struct meta_db *db, struct iov bucket, struct meta_object *o, struct arena *a,
                    struct meta_files *replaced);

/*
 * One version: the latest when version_id is empty, else the one named
 * ("null" or an hlc id). Strings and, for multipart objects, the ordered
 * parts go into the arena.
 * 0 (a version named by id may be a delete marker: out->is_delete_marker,
 * which S3 answers with 405), ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_KEY
 * (no version; or the latest is a delete marker, and then out holds the
 * marker with is_delete_marker set for x-amz-delete-marker and
 * x-amz-version-id), ERR_META_NO_SUCH_VERSION, ERR_META_BAD_VERSION_ID,
 * ERR_META_KEY_TOO_LONG, ERR_NOMEM.
 */
int meta_object_get(struct meta_db *db, struct iov bucket, struct iov key, struct iov version_id,
                    struct arena *a, struct meta_object *out);

struct meta_delete {
	struct iov key;
	struct iov version_id; /* empty: delete the current object */
	/* The delete marker a versioned delete writes: */
	uint64_t hlc;
	uint16_t region;
	int64_t now_ms;
	struct iov owner;
	enum meta_repl repl;
};

struct meta_delete_result {
	bool delete_marker; /* a marker was created, or the removed version was one */
	char version_id[META_VERSION_ID_MAX + 1]; /* created or removed; "" if none */
	struct meta_files files;                  /* data files to delete after commit */
};

/*
 * Delete as S3 does. With d->version_id: remove that version for good (a
 * marker too); if it was the latest, the next newest becomes latest.
 * Without: UNVERSIONED removes the null version if any (no error if the key
 * is absent); ENABLED adds a delete marker with a new id; SUSPENDED removes
 * the null version and adds a delete marker whose id is "null".
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_VERSION,
 * ERR_META_BAD_VERSION_ID, ERR_META_KEY_TOO_LONG, ERR_INVALID, ERR_NOMEM.
 */
int meta_object_delete(struct meta_db *db, struct iov bucket, const struct meta_delete *d,
                       struct arena *a, struct meta_delete_result *out);

/* Set a version's replication status. 0, ERR_META_NO_SUCH_BUCKET,
 * ERR_META_NO_SUCH_VERSION, ERR_META_BAD_VERSION_ID. */
int meta_object_set_repl(struct meta_db *db, struct iov bucket, struct iov key,
                         struct iov version_id, enum meta_repl status);

/* The status text ("PENDING", ...) or NULL for META_REPL_NONE. */
const char *meta_repl_name(enum meta_repl r);

#endif
