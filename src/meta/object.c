/*
 * Object versions: put, get, delete, replication status, and the version
 * bookkeeping multipart completion shares. Any thread, one connection per
 * thread at a time.
 *
 * Invariant kept by every change: of a key's versions exactly the one with
 * the highest (hlc, region) has is_latest = 1.
 */
#include "meta/object.h"

#include <string.h>

#include "base/err.h"
#include "meta/internal.h"

static const struct iov null_vid = { HLC_NULL_VERSION, sizeof(HLC_NULL_VERSION) - 1 };

const char *meta_repl_name(enum meta_repl r)
{
	static const char *const names[] = {
#define META_REPL_TEXT(e, text) text,
		META_REPL_MAP(META_REPL_TEXT)
#undef META_REPL_TEXT
	};
	return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : NULL;
}

int meta__key_check(struct iov key)
{
	if (key.len == 0)
		return ERR_INVALID;
	return key.len <= META_KEY_MAX ? 0 : ERR_META_KEY_TOO_LONG;
}

int meta__version_id_check(struct iov vid)
{
	uint64_t ts;
	uint16_t region;
	if (iov_eq(vid, null_vid) || hlc_version_parse(vid, &ts, &region) == 0)
		return 0;
	return ERR_META_BAD_VERSION_ID;
}

/* Where a version sits in its key's order, and its row. */
struct vpos {
	bool found;
	int64_t rowid;
	uint64_t hlc;
	uint16_t region;
};

static bool above(uint64_t hlc, uint16_t region, const struct vpos *p)
{
	return hlc > p->hlc || (hlc == p->hlc && region > p->region);
}

/* The key's version with the highest (hlc, region), if any. */
static int latest_pos(struct meta_db *db, int64_t bucket_id, struct iov key, struct vpos *p)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VERSION_LATEST, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, bucket_id)) || (rc = meta__bind_blob(db, st, 2, key))) {
		meta__done(st);
		return rc;
	}
	rc = meta__step(db, st);
	p->found = rc == SQLITE_ROW;
	if (p->found) {
		p->hlc = (uint64_t)sqlite3_column_int64(st, 2);
		p->region = (uint16_t)sqlite3_column_int(st, 3);
		p->rowid = sqlite3_column_int64(st, 17);
	}
	meta__done(st);
	return rc < 0 ? rc : 0;
}

static int set_latest(struct meta_db *db, int64_t rowid, bool on)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VERSION_SET_LATEST, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, rowid)) && !(rc = meta__bind_int(db, st, 2, on)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

/* Run a statement bound to one rowid to completion. */
static int exec_rowid(struct meta_db *db, enum meta_sql id, int64_t rowid)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, id, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, rowid)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

/* The data files of a multipart version into f. */
static int part_files(struct meta_db *db, int64_t rowid, struct arena *a, struct meta_files *f)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VPART_LIST, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, rowid))) {
		meta__done(st);
		return rc;
	}
	return meta__files_from(db, st, 4, a, f);
}

/*
 * Remove version vid of key for good: its files go to f, and when it was the
 * latest the next one in order becomes latest. *was_marker (may be NULL) says
 * whether it was a delete marker. 0 or ERR_META_NO_SUCH_VERSION.
 */
static int remove_version(struct meta_db *db, int64_t bucket_id, struct iov key, struct iov vid,
                          struct arena *a, struct meta_files *f, bool *was_marker)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VERSION_BY_ID, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, bucket_id)) || (rc = meta__bind_blob(db, st, 2, key)) ||
	    (rc = meta__bind_text(db, st, 3, vid))) {
		meta__done(st);
		return rc;
	}
	rc = meta__step(db, st);
	if (rc != SQLITE_ROW) {
		meta__done(st);
		return rc == SQLITE_DONE ? ERR_META_NO_SUCH_VERSION : rc;
	}
	bool latest = sqlite3_column_int(st, 4) != 0;
	bool marker = sqlite3_column_int(st, 5) != 0;
	uint32_t parts = (uint32_t)sqlite3_column_int(st, 10);
	int64_t rowid = sqlite3_column_int64(st, 17);
	struct iov file = iov_make(sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9));
	rc = file.len ? meta__files_add(f, a, file) : 0;
	meta__done(st);
	if (rc)
		return rc;
	if (was_marker)
		*was_marker = marker;
	if (parts && ((rc = part_files(db, rowid, a, f)) ||
	              (rc = exec_rowid(db, META_SQL_VPART_DELETE, rowid))))
		return rc;
	if ((rc = exec_rowid(db, META_SQL_VERSION_DELETE, rowid)) ||
	    (rc = meta__repl_drop_version(db, bucket_id, key, vid)))
		return rc;
	if (!latest)
		return 0;
	struct vpos top;
	if ((rc = latest_pos(db, bucket_id, key, &top)))
		return rc;
	return top.found ? set_latest(db, top.rowid, true) : 0;
}

static int bind_version(struct meta_db *db, sqlite3_stmt *st, int64_t bucket_id,
                        const struct meta_object *o)
{
	int rc;
	if ((rc = meta__bind_int(db, st, 1, bucket_id)) ||
	    (rc = meta__bind_blob(db, st, 2, o->key)) ||
	    (rc = meta__bind_text(db, st, 3, iov_cstr(o->version_id))) ||
	    (rc = meta__bind_int(db, st, 4, (int64_t)o->hlc)) ||
	    (rc = meta__bind_int(db, st, 5, o->region)) ||
	    (rc = meta__bind_int(db, st, 6, o->is_delete_marker)) ||
	    (rc = meta__bind_int(db, st, 7, (int64_t)o->size)) ||
	    (rc = meta__bind_text(db, st, 8, o->etag)) ||
	    (rc = meta__bind_int(db, st, 9, o->last_modified_ms)) ||
	    (rc = meta__bind_opt_text(db, st, 10, o->data_file)) ||
	    (rc = meta__bind_int(db, st, 11, o->part_count)) ||
	    (rc = meta__bind_opt_text(db, st, 12, o->content_type)) ||
	    (rc = meta__bind_opt_text(db, st, 14, o->checksum_algo)) ||
	    (rc = meta__bind_opt_text(db, st, 15, o->checksum)) ||
	    (rc = meta__bind_opt_text(db, st, 16, iov_cstr(meta_repl_name(o->repl)))) ||
	    (rc = meta__bind_text(db, st, 17, o->owner)))
		return rc;
	if (o->attrs.len)
		return meta__bind_blob(db, st, 13, o->attrs);
	return sqlite3_bind_null(st, 13) == SQLITE_OK ? 0 : ERR_META_SQLITE;
}

int meta__version_add(struct meta_db *db, int64_t bucket_id, enum meta_versioning v,
                      struct meta_object *o, struct arena *a, struct meta_files *garbage,
                      int64_t *rowid)
{
	int rc = 0;
	if (v == META_ENABLED) {
		hlc_version_id(o->hlc, o->region, o->version_id);
	} else {
		memcpy(o->version_id, HLC_NULL_VERSION, sizeof(HLC_NULL_VERSION));
		rc = remove_version(db, bucket_id, o->key, null_vid, a, garbage, NULL);
		if (rc && rc != ERR_META_NO_SUCH_VERSION)
			return rc;
	}
	struct vpos top;
	if ((rc = latest_pos(db, bucket_id, o->key, &top)))
		return rc;
	struct meta_repl_plan plan = { 0 };
	if (v == META_ENABLED && (rc = meta__repl_plan(db, bucket_id, o, a, &plan)))
		return rc;
	if (plan.n)
		o->repl = META_REPL_PENDING;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VERSION_INSERT, &rc);
	if (!st)
		return rc;
	if (!(rc = bind_version(db, st, bucket_id, o)))
		rc = meta__step(db, st);
	meta__done(st);
	if (rc < 0)
		return rc;
	*rowid = sqlite3_last_insert_rowid(db->sql);
	o->is_latest = !top.found || above(o->hlc, o->region, &top);
	if (o->is_latest) {
		if ((top.found && (rc = set_latest(db, top.rowid, false))) ||
		    (rc = set_latest(db, *rowid, true)))
			return rc;
	}
	if (plan.n && (rc = meta__repl_queue(db, bucket_id, o, &plan, (int64_t)hlc_ms(o->hlc))))
		return rc;
	return meta__hlc_high(db, o->hlc);
}

static int fields_check(const struct meta_object *o)
{
	if (o->hlc == 0 || o->hlc > HLC_TS_MAX || (unsigned)o->repl > META_REPL_REPLICA ||
	    o->owner.len == 0)
		return ERR_INVALID;
	if (o->owner.len > META_NAME_MAX || o->data_file.len > META_NAME_MAX ||
	    o->etag.len > META_FIELD_MAX || o->content_type.len > META_FIELD_MAX ||
	    o->checksum_algo.len > META_FIELD_MAX || o->checksum.len > META_FIELD_MAX ||
	    o->attrs.len > META_ATTRS_MAX)
		return ERR_TOO_BIG;
	return meta__key_check(o->key);
}

int meta_object_put(struct meta_db *db, struct iov bucket, struct meta_object *o, struct arena *a,
                    struct meta_files *replaced)
{
	memset(replaced, 0, sizeof(*replaced));
	int rc = fields_check(o);
	if (rc)
		return rc;
	if (o->data_file.len == 0)
		return ERR_INVALID;
	o->is_delete_marker = false;
	o->part_count = 0;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	int64_t bucket_id, rowid;
	enum meta_versioning v;
	rc = meta__bucket_find(db, bucket, &bucket_id, &v);
	if (!rc)
		rc = meta__version_add(db, bucket_id, v, o, a, replaced, &rowid);
	rc = meta__tx_end(db, &tx, rc);
	if (rc)
		memset(replaced, 0, sizeof(*replaced));
	return rc;
}

/* The parts of multipart version rowid into o->parts. */
static int load_parts(struct meta_db *db, int64_t rowid, struct arena *a, struct meta_object *o)
{
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VPART_LIST, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, rowid))) {
		meta__done(st);
		return rc;
	}
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if ((rc = meta__grow(a, &arr, o->nparts, &cap, sizeof(struct meta_part))))
			break;
		struct meta_part *p = (struct meta_part *)arr + o->nparts;
		memset(p, 0, sizeof(*p));
		p->number = (uint32_t)sqlite3_column_int(st, 0);
		p->offset = (uint64_t)sqlite3_column_int64(st, 1);
		p->size = (uint64_t)sqlite3_column_int64(st, 2);
		p->last_modified_ms = o->last_modified_ms;
		if ((rc = meta__col(st, 3, a, &p->etag)) ||
		    (rc = meta__col(st, 4, a, &p->data_file)) ||
		    (rc = meta__col(st, 5, a, &p->checksum)))
			break;
		o->nparts++;
	}
	meta__done(st);
	o->parts = arr;
	return rc < 0 ? rc : 0;
}

static int get_in_tx(struct meta_db *db, struct iov bucket, struct iov key, struct iov vid,
                     struct arena *a, struct meta_object *out)
{
	int64_t bucket_id, rowid;
	enum meta_versioning v;
	int rc = meta__bucket_find(db, bucket, &bucket_id, &v);
	if (rc)
		return rc;
	sqlite3_stmt *st =
	    meta__stmt(db, vid.len ? META_SQL_VERSION_BY_ID : META_SQL_VERSION_LATEST, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, bucket_id)) || (rc = meta__bind_blob(db, st, 2, key)) ||
	    (vid.len && (rc = meta__bind_text(db, st, 3, vid)))) {
		meta__done(st);
		return rc;
	}
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		rc = meta__read_version(st, a, out, &rowid);
	else if (rc == SQLITE_DONE)
		rc = vid.len ? ERR_META_NO_SUCH_VERSION : ERR_META_NO_SUCH_KEY;
	meta__done(st);
	if (rc)
		return rc;
	if (out->part_count && (rc = load_parts(db, rowid, a, out)))
		return rc;
	return !vid.len && out->is_delete_marker ? ERR_META_NO_SUCH_KEY : 0;
}

int meta_object_get(struct meta_db *db, struct iov bucket, struct iov key, struct iov version_id,
                    struct arena *a, struct meta_object *out)
{
	memset(out, 0, sizeof(*out));
	int rc = meta__key_check(key);
	if (rc || (version_id.len && (rc = meta__version_id_check(version_id))))
		return rc;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, false)))
		return rc;
	rc = get_in_tx(db, bucket, key, version_id, a, out);
	/* A read ends without error of its own: keep the lookup's answer. */
	int end = meta__tx_end(db, &tx, 0);
	return rc ? rc : end;
}

static int delete_in_tx(struct meta_db *db, struct iov bucket, const struct meta_delete *d,
                        struct arena *a, struct meta_delete_result *out)
{
	int64_t bucket_id, rowid;
	enum meta_versioning v;
	int rc = meta__bucket_find(db, bucket, &bucket_id, &v);
	if (rc)
		return rc;
	if (d->version_id.len) {
		rc = remove_version(db, bucket_id, d->key, d->version_id, a, &out->files,
		                    &out->delete_marker);
		if (!rc)
			memcpy(out->version_id, d->version_id.base, d->version_id.len);
		return rc;
	}
	if (v == META_UNVERSIONED) {
		rc = remove_version(db, bucket_id, d->key, null_vid, a, &out->files, NULL);
		return rc == ERR_META_NO_SUCH_VERSION ? 0 : rc;
	}
	struct meta_object marker = {
		.key = d->key,
		.hlc = d->hlc,
		.region = d->region,
		.is_delete_marker = true,
		.etag = IOV_LIT(""),
		.last_modified_ms = d->now_ms,
		.owner = d->owner,
		.repl = d->repl,
	};
	rc = meta__version_add(db, bucket_id, v, &marker, a, &out->files, &rowid);
	if (!rc) {
		out->delete_marker = true;
		memcpy(out->version_id, marker.version_id, sizeof(out->version_id));
	}
	return rc;
}

int meta_object_delete(struct meta_db *db, struct iov bucket, const struct meta_delete *d,
                       struct arena *a, struct meta_delete_result *out)
{
	memset(out, 0, sizeof(*out));
	int rc = meta__key_check(d->key);
	if (rc || (d->version_id.len && (rc = meta__version_id_check(d->version_id))))
		return rc;
	if (!d->version_id.len &&
	    (d->hlc == 0 || d->hlc > HLC_TS_MAX || d->owner.len == 0 ||
	     d->owner.len > META_NAME_MAX || (unsigned)d->repl > META_REPL_REPLICA))
		return ERR_INVALID;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	rc = meta__tx_end(db, &tx, delete_in_tx(db, bucket, d, a, out));
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

int meta_object_set_repl(struct meta_db *db, struct iov bucket, struct iov key,
                         struct iov version_id, enum meta_repl status)
{
	int rc = meta__key_check(key);
	if (rc || (rc = meta__version_id_check(version_id)))
		return rc;
	if ((unsigned)status > META_REPL_REPLICA)
		return ERR_INVALID;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	int64_t bucket_id;
	enum meta_versioning v;
	sqlite3_stmt *st = NULL;
	rc = meta__bucket_find(db, bucket, &bucket_id, &v);
	if (!rc)
		st = meta__stmt(db, META_SQL_VERSION_SET_REPL, &rc);
	if (st) {
		if (!(rc = meta__bind_int(db, st, 1, bucket_id)) &&
		    !(rc = meta__bind_blob(db, st, 2, key)) &&
		    !(rc = meta__bind_text(db, st, 3, version_id)) &&
		    !(rc = meta__bind_opt_text(db, st, 4, iov_cstr(meta_repl_name(status)))))
			rc = meta__step(db, st);
		meta__done(st);
		if (rc >= 0)
			rc = sqlite3_changes(db->sql) ? 0 : ERR_META_NO_SUCH_VERSION;
	}
	return meta__tx_end(db, &tx, rc);
}
