/* Multipart uploads and their parts. Any thread, one connection per thread at a time. */
#include "meta/upload.h"

#include <string.h>

#include "base/err.h"
#include "meta/internal.h"

/* An upload located by (bucket, key, upload id). */
struct uref {
	int64_t bucket_id;
	enum meta_versioning versioning;
	int64_t rowid;
};

static int ids_check(struct iov key, struct iov upload_id)
{
	if (upload_id.len == 0 || upload_id.len > META_NAME_MAX)
		return upload_id.len ? ERR_TOO_BIG : ERR_INVALID;
	return meta__key_check(key);
}

/* Find the upload; with a non-NULL out, read its record into the arena. */
static int find_upload(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                       struct arena *a, struct meta_upload *out, struct uref *ref)
{
	int rc = meta__bucket_find(db, bucket, &ref->bucket_id, &ref->versioning);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_UPLOAD_FIND, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, ref->bucket_id)) &&
	    !(rc = meta__bind_blob(db, st, 2, key)) &&
	    !(rc = meta__bind_text(db, st, 3, upload_id)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW) {
		ref->rowid = sqlite3_column_int64(st, 7);
		rc = out ? meta__read_upload(st, a, out, &ref->rowid) : 0;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_META_NO_SUCH_UPLOAD;
	}
	meta__done(st);
	return rc;
}

static int create_in_tx(struct meta_db *db, struct iov bucket, const struct meta_upload *u)
{
	int64_t bucket_id;
	enum meta_versioning v;
	int rc = meta__bucket_find(db, bucket, &bucket_id, &v);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_UPLOAD_INSERT, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, bucket_id)) &&
	    !(rc = meta__bind_blob(db, st, 2, u->key)) &&
	    !(rc = meta__bind_text(db, st, 3, u->upload_id)) &&
	    !(rc = meta__bind_int(db, st, 4, u->initiated_ms)) &&
	    !(rc = meta__bind_text(db, st, 5, u->owner)) &&
	    !(rc = meta__bind_opt_text(db, st, 6, u->content_type)) &&
	    !(rc = u->attrs.len ? meta__bind_blob(db, st, 7, u->attrs) : 0) &&
	    !(rc = meta__bind_opt_text(db, st, 8, u->checksum_algo)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_upload_create(struct meta_db *db, struct iov bucket, const struct meta_upload *u)
{
	int rc = ids_check(u->key, u->upload_id);
	if (rc)
		return rc;
	if (u->owner.len == 0)
		return ERR_INVALID;
	if (u->owner.len > META_NAME_MAX || u->content_type.len > META_FIELD_MAX ||
	    u->checksum_algo.len > META_FIELD_MAX || u->attrs.len > META_ATTRS_MAX)
		return ERR_TOO_BIG;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	return meta__tx_end(db, &tx, create_in_tx(db, bucket, u));
}

int meta_upload_get(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                    struct arena *a, struct meta_upload *out)
{
	memset(out, 0, sizeof(*out));
	int rc = ids_check(key, upload_id);
	if (rc)
		return rc;
	struct meta_tx tx;
	struct uref ref;
	if ((rc = meta__tx_begin(db, &tx, false)))
		return rc;
	rc = find_upload(db, bucket, key, upload_id, a, out, &ref);
	int end = meta__tx_end(db, &tx, 0);
	return rc ? rc : end;
}

static int put_part_in_tx(struct meta_db *db, struct iov bucket, struct iov key,
                          struct iov upload_id, const struct meta_part *p, struct arena *a,
                          struct meta_files *replaced)
{
	struct uref ref;
	int rc = find_upload(db, bucket, key, upload_id, NULL, NULL, &ref);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_PART_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, ref.rowid)) &&
	    !(rc = meta__bind_int(db, st, 2, p->number)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		rc = meta__files_add(
		    replaced, a,
		    iov_make(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)));
	meta__done(st);
	if (rc < 0)
		return rc;
	if (!(st = meta__stmt(db, META_SQL_PART_PUT, &rc)))
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, ref.rowid)) &&
	    !(rc = meta__bind_int(db, st, 2, p->number)) &&
	    !(rc = meta__bind_int(db, st, 3, (int64_t)p->size)) &&
	    !(rc = meta__bind_text(db, st, 4, p->etag)) &&
	    !(rc = meta__bind_text(db, st, 5, p->data_file)) &&
	    !(rc = meta__bind_opt_text(db, st, 6, p->checksum)) &&
	    !(rc = meta__bind_int(db, st, 7, p->last_modified_ms)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_upload_put_part(struct meta_db *db, struct iov bucket, struct iov key,
                         struct iov upload_id, const struct meta_part *p, struct arena *a,
                         struct meta_files *replaced)
{
	memset(replaced, 0, sizeof(*replaced));
	int rc = ids_check(key, upload_id);
	if (rc)
		return rc;
	if (p->number < 1 || p->number > META_PART_NUMBER_MAX || p->data_file.len == 0 ||
	    p->size > (uint64_t)INT64_MAX)
		return ERR_INVALID;
	if (p->data_file.len > META_NAME_MAX || p->etag.len > META_FIELD_MAX ||
	    p->checksum.len > META_FIELD_MAX)
		return ERR_TOO_BIG;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	rc = meta__tx_end(db, &tx, put_part_in_tx(db, bucket, key, upload_id, p, a, replaced));
	if (rc)
		memset(replaced, 0, sizeof(*replaced));
	return rc;
}

/* Parts of upload rowid numbered above marker, at most max, appended to
 * *parts / *n; *more says whether another followed. */
static int load_parts(struct meta_db *db, int64_t rowid, uint32_t marker, uint32_t max,
                      struct arena *a, struct meta_part **parts, size_t *n, bool *more)
{
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	*n = 0;
	*more = false;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_PART_LIST, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, rowid)) || (rc = meta__bind_int(db, st, 2, marker)) ||
	    (rc = meta__bind_int(db, st, 3, (int64_t)max + 1))) {
		meta__done(st);
		return rc;
	}
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if (*n == max) {
			*more = true;
			break;
		}
		if ((rc = meta__grow(a, &arr, *n, &cap, sizeof(struct meta_part))))
			break;
		struct meta_part *p = (struct meta_part *)arr + *n;
		memset(p, 0, sizeof(*p));
		p->number = (uint32_t)sqlite3_column_int(st, 0);
		p->size = (uint64_t)sqlite3_column_int64(st, 1);
		p->last_modified_ms = sqlite3_column_int64(st, 5);
		if ((rc = meta__col(st, 2, a, &p->etag)) ||
		    (rc = meta__col(st, 3, a, &p->data_file)) ||
		    (rc = meta__col(st, 4, a, &p->checksum)))
			break;
		(*n)++;
	}
	meta__done(st);
	*parts = arr;
	return rc < 0 ? rc : 0;
}

int meta_upload_list_parts(struct meta_db *db, struct iov bucket, struct iov key,
                           struct iov upload_id, uint32_t marker, uint32_t max, struct arena *a,
                           struct meta_part_list *out)
{
	memset(out, 0, sizeof(*out));
	int rc = ids_check(key, upload_id);
	if (rc)
		return rc;
	if (max > META_LIST_MAX)
		max = META_LIST_MAX;
	struct meta_tx tx;
	struct uref ref;
	if ((rc = meta__tx_begin(db, &tx, false)))
		return rc;
	rc = find_upload(db, bucket, key, upload_id, a, &out->upload, &ref);
	if (!rc)
		rc = load_parts(db, ref.rowid, marker, max, a, &out->parts, &out->nparts,
		                &out->truncated);
	int end = meta__tx_end(db, &tx, 0);
	if (!rc && out->nparts)
		out->next_marker = out->parts[out->nparts - 1].number;
	return rc ? rc : end;
}

/* Match the requested parts against the stored ones (both ascending); mark
 * the used ones in `used`. */
static int check_parts(const struct meta_complete *c, const struct meta_part *stored, size_t n,
                       bool *used)
{
	for (size_t i = 1; i < c->nparts; i++)
		if (c->parts[i].number <= c->parts[i - 1].number)
			return ERR_META_INVALID_PART_ORDER;
	size_t j = 0;
	for (size_t i = 0; i < c->nparts; i++) {
		const struct meta_complete_part *want = &c->parts[i];
		while (j < n && stored[j].number < want->number)
			j++;
		if (j == n || stored[j].number != want->number ||
		    !iov_eq(stored[j].etag, want->etag) ||
		    (want->checksum.len && !iov_eq(stored[j].checksum, want->checksum)))
			return ERR_META_INVALID_PART;
		if (i + 1 < c->nparts && stored[j].size < c->min_part_size)
			return ERR_META_ENTITY_TOO_SMALL;
		used[j] = true;
	}
	return 0;
}

static int insert_vpart(struct meta_db *db, int64_t version, const struct meta_part *p,
                        uint64_t offset)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VPART_INSERT, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, version)) &&
	    !(rc = meta__bind_int(db, st, 2, p->number)) &&
	    !(rc = meta__bind_int(db, st, 3, (int64_t)offset)) &&
	    !(rc = meta__bind_int(db, st, 4, (int64_t)p->size)) &&
	    !(rc = meta__bind_text(db, st, 5, p->etag)) &&
	    !(rc = meta__bind_text(db, st, 6, p->data_file)) &&
	    !(rc = meta__bind_opt_text(db, st, 7, p->checksum)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

/* Delete an upload's parts and its row. */
static int drop_upload(struct meta_db *db, int64_t rowid)
{
	int rc = meta__run(db, META_SQL_PART_DELETE_ALL, meta__bind_id, &rowid);
	return rc ? rc : meta__run(db, META_SQL_UPLOAD_DELETE, meta__bind_id, &rowid);
}

static int complete_in_tx(struct meta_db *db, struct iov bucket, const struct meta_complete *c,
                          struct arena *a, struct meta_object *out, struct meta_files *garbage)
{
	struct uref ref;
	struct meta_upload up;
	struct meta_part *stored;
	size_t n;
	bool more;
	int rc = find_upload(db, bucket, c->key, c->upload_id, a, &up, &ref);
	if (rc || (rc = load_parts(db, ref.rowid, 0, META_PART_NUMBER_MAX, a, &stored, &n, &more)))
		return rc;
	bool *used = arena_alloc(a, n ? n : 1);
	if (!used)
		return ERR_NOMEM;
	memset(used, 0, n ? n : 1);
	if ((rc = check_parts(c, stored, n, used)))
		return rc;

	*out = (struct meta_object){
		.key = up.key,
		.hlc = c->hlc,
		.region = c->region,
		.etag = c->etag,
		.last_modified_ms = c->now_ms,
		.part_count = (uint32_t)c->nparts,
		.content_type = up.content_type,
		.attrs = up.attrs,
		.checksum_algo = up.checksum_algo,
		.checksum = c->checksum,
		.owner = up.owner,
		.repl = c->repl,
	};
	out->parts = arena_alloc(a, c->nparts * sizeof(struct meta_part));
	if (!out->parts)
		return ERR_NOMEM;
	for (size_t j = 0; j < n; j++) {
		if (!used[j]) {
			if ((rc = meta__files_add(garbage, a, stored[j].data_file)))
				return rc;
			continue;
		}
		struct meta_part *p = &out->parts[out->nparts++];
		*p = stored[j];
		p->offset = out->size;
		out->size += p->size;
	}
	int64_t version;
	if ((rc = meta__version_add(db, ref.bucket_id, ref.versioning, out, a, garbage, &version)))
		return rc;
	for (size_t i = 0; i < out->nparts; i++)
		if ((rc = insert_vpart(db, version, &out->parts[i], out->parts[i].offset)))
			return rc;
	return drop_upload(db, ref.rowid);
}

int meta_upload_complete(struct meta_db *db, struct iov bucket, const struct meta_complete *c,
                         struct arena *a, struct meta_object *out, struct meta_files *garbage)
{
	memset(out, 0, sizeof(*out));
	memset(garbage, 0, sizeof(*garbage));
	int rc = ids_check(c->key, c->upload_id);
	if (rc)
		return rc;
	if (c->nparts == 0 || c->nparts > META_PART_NUMBER_MAX || !c->parts || c->hlc == 0 ||
	    c->hlc > HLC_TS_MAX || c->etag.len == 0 || (unsigned)c->repl > META_REPL_REPLICA)
		return ERR_INVALID;
	if (c->etag.len > META_FIELD_MAX || c->checksum.len > META_FIELD_MAX)
		return ERR_TOO_BIG;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	rc = meta__tx_end(db, &tx, complete_in_tx(db, bucket, c, a, out, garbage));
	if (rc) {
		memset(out, 0, sizeof(*out));
		memset(garbage, 0, sizeof(*garbage));
	}
	return rc;
}

static int abort_in_tx(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                       struct arena *a, struct meta_files *garbage)
{
	struct uref ref;
	struct meta_part *parts;
	size_t n;
	bool more;
	int rc = find_upload(db, bucket, key, upload_id, NULL, NULL, &ref);
	if (rc || (rc = load_parts(db, ref.rowid, 0, META_PART_NUMBER_MAX, a, &parts, &n, &more)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = meta__files_add(garbage, a, parts[i].data_file)))
			return rc;
	return drop_upload(db, ref.rowid);
}

int meta_upload_abort(struct meta_db *db, struct iov bucket, struct iov key, struct iov upload_id,
                      struct arena *a, struct meta_files *garbage)
{
	memset(garbage, 0, sizeof(*garbage));
	int rc = ids_check(key, upload_id);
	if (rc)
		return rc;
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	rc = meta__tx_end(db, &tx, abort_in_tx(db, bucket, key, upload_id, a, garbage));
	if (rc)
		memset(garbage, 0, sizeof(*garbage));
	return rc;
}
