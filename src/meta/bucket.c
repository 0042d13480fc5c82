/* Bucket records. Any thread, one connection per thread at a time. */
#include "meta/bucket.h"

#include <string.h>

#include "base/err.h"
#include "meta/internal.h"

static bool name_ok(struct iov v)
{
	return v.len >= 1 && v.len <= META_NAME_MAX;
}

const char *meta_versioning_name(enum meta_versioning v)
{
	static const char *const names[] = {
#define META_VERSIONING_TEXT(e, text) text,
		META_VERSIONING_MAP(META_VERSIONING_TEXT)
#undef META_VERSIONING_TEXT
	};
	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "";
}

static int read_bucket(sqlite3_stmt *st, struct arena *a, struct meta_bucket *b)
{
	memset(b, 0, sizeof(*b));
	b->created_ms = sqlite3_column_int64(st, 3);
	b->versioning = (enum meta_versioning)sqlite3_column_int(st, 4);
	b->anon_read = sqlite3_column_int(st, 5) != 0;
	if (meta__col(st, 0, a, &b->name) || meta__col(st, 1, a, &b->owner) ||
	    meta__col(st, 2, a, &b->region))
		return ERR_NOMEM;
	return 0;
}

/* The owner of an existing bucket into buf, or ERR_META_NO_SUCH_BUCKET. */
static int owner_of(struct meta_db *db, struct iov name, char *buf, size_t *len)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_GET, &rc);
	if (!st || (rc = meta__bind_text(db, st, 1, name)))
		return rc;
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		*len = n <= META_NAME_MAX ? n : META_NAME_MAX;
		memcpy(buf, sqlite3_column_blob(st, 1), *len);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_META_NO_SUCH_BUCKET;
	}
	meta__done(st);
	return rc;
}

static int insert(struct meta_db *db, const struct meta_bucket *b)
{
	char owner[META_NAME_MAX];
	size_t owner_len = 0;
	int rc = owner_of(db, b->name, owner, &owner_len);
	if (rc == 0)
		return iov_eq(iov_make(owner, owner_len), b->owner) ? ERR_META_BUCKET_OWNED_BY_YOU
		                                                    : ERR_META_BUCKET_EXISTS;
	if (rc != ERR_META_NO_SUCH_BUCKET)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_INSERT, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_text(db, st, 1, b->name)) &&
	    !(rc = meta__bind_text(db, st, 2, b->owner)) &&
	    !(rc = meta__bind_text(db, st, 3, b->region)) &&
	    !(rc = meta__bind_int(db, st, 4, b->created_ms)) &&
	    !(rc = meta__bind_int(db, st, 5, b->versioning)) &&
	    !(rc = meta__bind_int(db, st, 6, b->anon_read)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_bucket_create(struct meta_db *db, const struct meta_bucket *b)
{
	if (!name_ok(b->name) || !name_ok(b->owner) || b->region.len > META_NAME_MAX ||
	    (unsigned)b->versioning > META_SUSPENDED)
		return ERR_INVALID;
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	return meta__tx_end(db, &tx, insert(db, b));
}

int meta_bucket_get(struct meta_db *db, struct iov name, struct arena *a, struct meta_bucket *out)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_GET, &rc);
	if (!st || (rc = meta__bind_text(db, st, 1, name)))
		return rc;
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		rc = read_bucket(st, a, out);
	else if (rc == SQLITE_DONE)
		rc = ERR_META_NO_SUCH_BUCKET;
	meta__done(st);
	return rc;
}

/* Whether statement `id` (bound to the bucket id) returns a row. */
static int any_row(struct meta_db *db, enum meta_sql id, int64_t bucket_id, bool *yes)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, id, &rc);
	if (!st || (rc = meta__bind_int(db, st, 1, bucket_id)))
		return rc;
	rc = meta__step(db, st);
	*yes = rc == SQLITE_ROW;
	meta__done(st);
	return rc < 0 ? rc : 0;
}

/* The part files of the bucket's uploads in progress, if any (up to the
 * cap), into garbage, then the parts and the uploads themselves. */
static int drop_uploads(struct meta_db *db, int64_t id, struct arena *a, struct meta_files *garbage)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_UPLOAD_FILES, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, id)) ||
	    (rc = meta__bind_int(db, st, 2, META_BUCKET_DELETE_FILES_MAX))) {
		meta__done(st);
		return rc;
	}
	if ((rc = meta__files_from(db, st, 0, a, garbage)))
		return rc;
	rc = meta__run(db, META_SQL_BUCKET_PARTS_DELETE, meta__bind_id, &id);
	return rc ? rc : meta__run(db, META_SQL_BUCKET_UPLOADS_DELETE, meta__bind_id, &id);
}

static int delete_empty(struct meta_db *db, struct iov name, struct arena *a,
                        struct meta_files *garbage)
{
	int64_t id;
	enum meta_versioning v;
	bool versions = false;
	int rc = meta__bucket_find(db, name, &id, &v);
	if (rc || (rc = any_row(db, META_SQL_BUCKET_HAS_VERSIONS, id, &versions)))
		return rc;
	if (versions)
		return ERR_META_BUCKET_NOT_EMPTY;
	if ((rc = drop_uploads(db, id, a, garbage)) || (rc = meta__repl_drop_bucket(db, id)))
		return rc;
	return meta__run(db, META_SQL_BUCKET_DELETE, meta__bind_id, &id);
}

int meta_bucket_delete(struct meta_db *db, struct iov name, struct arena *a,
                       struct meta_files *garbage)
{
	memset(garbage, 0, sizeof(*garbage));
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	rc = meta__tx_end(db, &tx, delete_empty(db, name, a, garbage));
	if (rc)
		memset(garbage, 0, sizeof(*garbage));
	return rc;
}

int meta_bucket_list(struct meta_db *db, struct iov owner, struct arena *a,
                     struct meta_bucket **out, size_t *n)
{
	int rc = 0;
	void *arr = NULL;
	size_t cap = 0;
	*n = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_LIST, &rc);
	if (!st || (rc = meta__bind_text(db, st, 1, owner)))
		return rc;
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if ((rc = meta__grow(a, &arr, *n, &cap, sizeof(struct meta_bucket))))
			break;
		if ((rc = read_bucket(st, a, (struct meta_bucket *)arr + *n)))
			break;
		(*n)++;
	}
	meta__done(st);
	*out = arr;
	return rc < 0 ? rc : 0;
}

/* UPDATE buckets SET <column> = value WHERE name = name, as statement `id`. */
static int set_column(struct meta_db *db, enum meta_sql id, struct iov name, int64_t value)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, id, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_text(db, st, 1, name)) && !(rc = meta__bind_int(db, st, 2, value)))
		rc = meta__step(db, st);
	meta__done(st);
	if (rc < 0)
		return rc;
	return sqlite3_changes(sqlite3_db_handle(st)) ? 0 : ERR_META_NO_SUCH_BUCKET;
}

int meta_bucket_set_versioning(struct meta_db *db, struct iov name, enum meta_versioning v)
{
	if (v != META_ENABLED && v != META_SUSPENDED)
		return ERR_INVALID;
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	int64_t id;
	enum meta_versioning cur;
	rc = meta__bucket_find(db, name, &id, &cur);
	/* S3: versioning stays on while a replication configuration exists. */
	if (!rc && v != META_ENABLED && (rc = meta__repl_configured(db, id)) == 1)
		rc = ERR_S3_INVALID_BUCKET_STATE;
	if (!rc)
		rc = set_column(db, META_SQL_BUCKET_SET_VERSIONING, name, v);
	return meta__tx_end(db, &tx, rc);
}

int meta_bucket_set_anon_read(struct meta_db *db, struct iov name, bool on)
{
	return set_column(db, META_SQL_BUCKET_SET_ANON, name, on);
}
