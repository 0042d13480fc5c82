/*
 * The listing walk shared by objects, versions and uploads. Any thread, one
 * connection per thread at a time.
 *
 * The walk keeps a half-open key range [lo, hi): hi is the first string past
 * every key under the prefix, lo starts at the prefix (or just past the
 * marker: marker + "\0" is the least byte string above it). One range query
 * returns rows in key order with LIMIT "entries still wanted + 1". A row
 * whose key holds the delimiter after the prefix yields a common prefix cp;
 * the walk then moves lo to the first string past every key starting with
 * cp and queries again, so keys under a common prefix are never read.
 */
#include "meta/list.h"

#include <string.h>

#include "base/err.h"
#include "meta/internal.h"

enum walk_kind { WALK_OBJECTS, WALK_VERSIONS, WALK_UPLOADS };

struct walk {
	struct meta_db *db;
	struct arena *a;
	int64_t bucket_id;
	enum walk_kind kind;
	struct iov prefix, delim, marker, sub_marker;
	uint32_t max;
	struct meta_list *out;
	size_t cap_entries, cap_prefixes;
	bool last_was_prefix;
	bool end; /* no key can follow */
	uint8_t lo[META_KEY_MAX + 2];
	size_t lo_len;
	uint8_t hi[META_KEY_MAX + 1];
	size_t hi_len;
};

/* Walk step results besides errors. */
#define WALK_GO   0
#define WALK_STOP 1 /* the page is full and something follows */

static size_t walk_count(const struct walk *w)
{
	return w->out->nobjects + w->out->nuploads + w->out->nprefixes;
}

/*
 * The least byte string above every string that starts with p: p without its
 * trailing 0xff bytes, last byte plus one. False when p is empty or all 0xff
 * (then no key of at most META_KEY_MAX bytes lies above the range but below
 * the sentinel, which the caller uses instead).
 */
static bool prefix_end(struct iov p, uint8_t *out, size_t *len)
{
	size_t n = p.len;
	while (n && (uint8_t)p.base[n - 1] == 0xff)
		n--;
	if (!n)
		return false;
	memcpy(out, p.base, n);
	out[n - 1]++;
	*len = n;
	return true;
}

/* A key's common prefix, if the delimiter occurs in it after the prefix. */
static bool common_prefix(const struct walk *w, struct iov key, struct iov *cp)
{
	size_t d = w->delim.len;
	if (!d || key.len < w->prefix.len + d)
		return false;
	for (size_t i = w->prefix.len; i + d <= key.len; i++) {
		if (memcmp(key.base + i, w->delim.base, d) == 0) {
			*cp = iov_make(key.base, i + d);
			return true;
		}
	}
	return false;
}

static int walk_init(struct walk *w, struct meta_db *db, struct iov bucket,
                     const struct meta_list_args *args, struct arena *a, struct meta_list *out,
                     enum walk_kind kind)
{
	memset(w, 0, sizeof(*w));
	memset(out, 0, sizeof(*out));
	if (args->prefix.len > META_KEY_MAX || args->delimiter.len > META_KEY_MAX ||
	    args->marker.len > META_KEY_MAX)
		return ERR_META_KEY_TOO_LONG;
	w->db = db;
	w->a = a;
	w->kind = kind;
	w->prefix = args->prefix;
	w->delim = args->delimiter;
	w->marker = args->marker;
	w->sub_marker = args->marker.len ? args->sub_marker : IOV_NULL;
	w->max = args->max < META_LIST_MAX ? args->max : META_LIST_MAX;
	w->out = out;
	if (!prefix_end(w->prefix, w->hi, &w->hi_len)) {
		/* Above every key: META_KEY_MAX + 1 bytes of 0xff. */
		memset(w->hi, 0xff, sizeof(w->hi));
		w->hi_len = sizeof(w->hi);
	}
	if (w->marker.len && iov_cmp(w->marker, w->prefix) >= 0) {
		memcpy(w->lo, w->marker.base, w->marker.len);
		w->lo[w->marker.len] = 0;
		w->lo_len = w->marker.len + 1;
	} else {
		if (w->prefix.len)
			memcpy(w->lo, w->prefix.base, w->prefix.len);
		w->lo_len = w->prefix.len;
	}
	enum meta_versioning v;
	return meta__bucket_find(db, bucket, &w->bucket_id, &v);
}

/* Take the row under st as the next entry, or stop when the page is full. */
static int walk_take(struct walk *w, sqlite3_stmt *st)
{
	if (walk_count(w) == w->max) {
		w->out->truncated = true;
		return WALK_STOP;
	}
	struct meta_list *out = w->out;
	int64_t rowid;
	int rc;
	void *arr;
	if (w->kind == WALK_UPLOADS) {
		arr = out->uploads;
		if ((rc = meta__grow(w->a, &arr, out->nuploads, &w->cap_entries,
		                     sizeof(struct meta_upload))))
			return rc;
		out->uploads = arr;
		rc = meta__read_upload(st, w->a, &out->uploads[out->nuploads], &rowid);
		out->nuploads += rc == 0;
	} else {
		arr = out->objects;
		if ((rc = meta__grow(w->a, &arr, out->nobjects, &w->cap_entries,
		                     sizeof(struct meta_object))))
			return rc;
		out->objects = arr;
		rc = meta__read_version(st, w->a, &out->objects[out->nobjects], &rowid);
		out->nobjects += rc == 0;
	}
	w->last_was_prefix = false;
	return rc ? rc : WALK_GO;
}

/* A common prefix: emit it unless the marker is at or past it, then move lo
 * past every key under it. */
static int walk_prefix(struct walk *w, struct iov cp)
{
	if (!w->marker.len || iov_cmp(cp, w->marker) > 0) {
		if (walk_count(w) == w->max) {
			w->out->truncated = true;
			return WALK_STOP;
		}
		void *arr = w->out->prefixes;
		if (meta__grow(w->a, &arr, w->out->nprefixes, &w->cap_prefixes, sizeof(struct iov)))
			return ERR_NOMEM;
		w->out->prefixes = arr;
		struct iov copy = arena_dup(w->a, cp);
		if (!copy.base)
			return ERR_NOMEM;
		w->out->prefixes[w->out->nprefixes++] = copy;
		w->last_was_prefix = true;
	}
	if (!prefix_end(cp, w->lo, &w->lo_len))
		w->end = true;
	return WALK_GO;
}

/* Bind the range statement: ?1 bucket, ?2 lo, ?3 hi, ?4 limit. */
static int bind_range(struct walk *w, sqlite3_stmt *st)
{
	int rc;
	if ((rc = meta__bind_int(w->db, st, 1, w->bucket_id)) ||
	    (rc = meta__bind_blob(w->db, st, 2, iov_make((const char *)w->lo, w->lo_len))) ||
	    (rc = meta__bind_blob(w->db, st, 3, iov_make((const char *)w->hi, w->hi_len))))
		return rc;
	return meta__bind_int(w->db, st, 4, (int64_t)(w->max - walk_count(w)) + 1);
}

static int walk_range(struct walk *w, enum meta_sql id)
{
	for (;;) {
		if (w->end || iov_cmp(iov_make((const char *)w->lo, w->lo_len),
		                      iov_make((const char *)w->hi, w->hi_len)) >= 0)
			return 0;
		int rc = 0, step;
		bool requery = false;
		sqlite3_stmt *st = meta__stmt(w->db, id, &rc);
		if (!st)
			return rc;
		if ((rc = bind_range(w, st))) {
			meta__done(st);
			return rc;
		}
		while ((step = meta__step(w->db, st)) == SQLITE_ROW) {
			struct iov key = iov_make(sqlite3_column_blob(st, 0),
			                          (size_t)sqlite3_column_bytes(st, 0));
			struct iov cp;
			if (common_prefix(w, key, &cp)) {
				rc = walk_prefix(w, cp);
				requery = rc == WALK_GO;
				break;
			}
			if ((rc = walk_take(w, st)) != WALK_GO)
				break;
		}
		meta__done(st);
		if (step < 0)
			return step;
		if (rc < 0)
			return rc;
		if (rc == WALK_STOP || !requery)
			return 0;
	}
}

/* Rows of a statement already bound, all of one key that is no common
 * prefix: taken in order until the page is full. */
static int walk_tail(struct walk *w, sqlite3_stmt *st)
{
	int rc = WALK_GO, step;
	while ((step = meta__step(w->db, st)) == SQLITE_ROW)
		if ((rc = walk_take(w, st)) != WALK_GO)
			break;
	meta__done(st);
	return step < 0 ? step : rc;
}

/* Whether a sub-marker applies: the marker key lies under the prefix and is
 * no common prefix of its own. */
static bool tail_applies(const struct walk *w)
{
	struct iov cp;
	return iov_starts(w->marker, w->prefix) && !common_prefix(w, w->marker, &cp);
}

/* Set next_marker / next_sub_marker from the last entry of the page. */
static int walk_finish(struct walk *w)
{
	struct meta_list *out = w->out;
	if (w->last_was_prefix) {
		out->next_marker = out->prefixes[out->nprefixes - 1];
	} else if (out->nobjects) {
		const struct meta_object *o = &out->objects[out->nobjects - 1];
		out->next_marker = o->key;
		out->next_sub_marker = arena_dup(w->a, iov_cstr(o->version_id));
		if (!out->next_sub_marker.base)
			return ERR_NOMEM;
	} else if (out->nuploads) {
		out->next_marker = out->uploads[out->nuploads - 1].key;
		out->next_sub_marker = out->uploads[out->nuploads - 1].upload_id;
	}
	return 0;
}

/* Run a walk in one read transaction: the optional tail first, then the range. */
static int walk_run(struct walk *w, int (*tail)(struct walk *w), enum meta_sql range)
{
	if (w->max == 0) /* S3: an empty page that is not truncated */
		return 0;
	struct meta_tx tx;
	int rc = meta__tx_begin(w->db, &tx, false);
	if (rc)
		return rc;
	if (tail)
		rc = tail(w);
	if (rc == WALK_GO)
		rc = walk_range(w, range);
	if (rc == WALK_STOP)
		rc = 0;
	if (!rc)
		rc = walk_finish(w);
	int end = meta__tx_end(w->db, &tx, 0);
	return rc ? rc : end;
}

int meta_list_objects(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                      struct arena *a, struct meta_list *out)
{
	struct walk w;
	int rc = walk_init(&w, db, bucket, args, a, out, WALK_OBJECTS);
	if (!rc)
		rc = walk_run(&w, NULL, META_SQL_LIST_CURRENT);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* The position after which to continue within the marker key. */
struct vmark {
	uint64_t hlc;
	uint16_t region;
	bool all; /* the "null" version is gone: list the whole key again */
};

static int version_tail_bound(struct walk *w, struct iov vid, struct vmark *m)
{
	memset(m, 0, sizeof(*m));
	if (hlc_version_parse(vid, &m->hlc, &m->region) == 0)
		return 0;
	if (!iov_eq(vid, IOV_LIT(HLC_NULL_VERSION)))
		return ERR_META_BAD_VERSION_ID;
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(w->db, META_SQL_VERSION_BY_ID, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(w->db, st, 1, w->bucket_id)) &&
	    !(rc = meta__bind_blob(w->db, st, 2, w->marker)) &&
	    !(rc = meta__bind_text(w->db, st, 3, vid)))
		rc = meta__step(w->db, st);
	if (rc == SQLITE_ROW) {
		m->hlc = (uint64_t)sqlite3_column_int64(st, 2);
		m->region = (uint16_t)sqlite3_column_int(st, 3);
	}
	m->all = rc == SQLITE_DONE;
	meta__done(st);
	return rc < 0 ? rc : 0;
}

static int versions_tail(struct walk *w)
{
	if (!w->sub_marker.len || !tail_applies(w))
		return WALK_GO;
	struct vmark m;
	int rc = version_tail_bound(w, w->sub_marker, &m);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(w->db, META_SQL_LIST_VERSIONS_TAIL, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(w->db, st, 1, w->bucket_id)) ||
	    (rc = meta__bind_blob(w->db, st, 2, w->marker)) ||
	    (rc = meta__bind_int(w->db, st, 3, m.all ? INT64_MAX : (int64_t)m.hlc)) ||
	    (rc = meta__bind_int(w->db, st, 4, m.all ? 0x10000 : m.region)) ||
	    (rc = meta__bind_int(w->db, st, 5, (int64_t)w->max + 1))) {
		meta__done(st);
		return rc;
	}
	return walk_tail(w, st);
}

int meta_list_versions(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                       struct arena *a, struct meta_list *out)
{
	if (args->sub_marker.len &&
	    (!args->marker.len || meta__version_id_check(args->sub_marker))) {
		memset(out, 0, sizeof(*out));
		return args->marker.len ? ERR_META_BAD_VERSION_ID : ERR_INVALID;
	}
	struct walk w;
	int rc = walk_init(&w, db, bucket, args, a, out, WALK_VERSIONS);
	if (!rc)
		rc = walk_run(&w, versions_tail, META_SQL_LIST_VERSIONS);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int uploads_tail(struct walk *w)
{
	if (!w->sub_marker.len || !tail_applies(w))
		return WALK_GO;
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(w->db, META_SQL_LIST_UPLOADS_TAIL, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(w->db, st, 1, w->bucket_id)) ||
	    (rc = meta__bind_blob(w->db, st, 2, w->marker)) ||
	    (rc = meta__bind_text(w->db, st, 3, w->sub_marker)) ||
	    (rc = meta__bind_int(w->db, st, 4, (int64_t)w->max + 1))) {
		meta__done(st);
		return rc;
	}
	return walk_tail(w, st);
}

int meta_list_uploads(struct meta_db *db, struct iov bucket, const struct meta_list_args *args,
                      struct arena *a, struct meta_list *out)
{
	struct walk w;
	int rc = walk_init(&w, db, bucket, args, a, out, WALK_UPLOADS);
	if (!rc && w.sub_marker.len > META_NAME_MAX)
		rc = ERR_TOO_BIG;
	if (!rc)
		rc = walk_run(&w, uploads_tail, META_SQL_LIST_UPLOADS);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
