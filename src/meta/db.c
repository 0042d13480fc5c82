/*
 * Connections, schema migrations, the statement table and the helpers the
 * other meta/ files share. A connection is used by one thread at a time.
 */
#include "meta/db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "meta/internal.h"

static const char *const sql_text[META_SQL__COUNT] = {
#define META_SQL_TEXT(name, sql) sql,
	META_SQL_MAP(META_SQL_TEXT)
#undef META_SQL_TEXT
};

/*
 * Schema version 1. Keys are BLOBs so they compare byte-wise with memcmp
 * whatever bytes they hold; buckets are referred to by integer id.
 * versions holds every version and delete marker; is_latest marks the one
 * with the highest (hlc, region) of its key, and versions_current indexes
 * the latest non-marker versions, which is what ListObjects walks.
 */
static const char schema_v1[] =
    "CREATE TABLE settings(name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
    "INSERT INTO settings VALUES ('hlc_high', 0);"
    "CREATE TABLE buckets("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " owner TEXT NOT NULL,"
    " region TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " versioning INTEGER NOT NULL CHECK (versioning BETWEEN 0 AND 2),"
    " anon_read INTEGER NOT NULL CHECK (anon_read IN (0, 1))"
    ") STRICT;"
    "CREATE INDEX buckets_by_owner ON buckets(owner, name);"
    "CREATE TABLE versions("
    " id INTEGER PRIMARY KEY,"
    " bucket_id INTEGER NOT NULL,"
    " key BLOB NOT NULL,"
    " version_id TEXT NOT NULL,"
    " hlc INTEGER NOT NULL,"
    " region INTEGER NOT NULL,"
    " is_latest INTEGER NOT NULL CHECK (is_latest IN (0, 1)),"
    " is_delete_marker INTEGER NOT NULL CHECK (is_delete_marker IN (0, 1)),"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " last_modified_ms INTEGER NOT NULL,"
    " data_file TEXT,"
    " part_count INTEGER NOT NULL,"
    " content_type TEXT,"
    " attrs BLOB,"
    " checksum_algo TEXT,"
    " checksum TEXT,"
    " repl_status TEXT CHECK (repl_status IN ('PENDING', 'COMPLETED', 'FAILED', 'REPLICA')),"
    " owner TEXT NOT NULL"
    ") STRICT;"
    "CREATE UNIQUE INDEX versions_by_id ON versions(bucket_id, key, version_id);"
    "CREATE UNIQUE INDEX versions_by_order ON versions(bucket_id, key, hlc DESC, region DESC);"
    "CREATE UNIQUE INDEX versions_current ON versions(bucket_id, key)"
    " WHERE is_latest = 1 AND is_delete_marker = 0;"
    "CREATE TABLE version_parts("
    " version INTEGER NOT NULL,"
    " part_number INTEGER NOT NULL,"
    " offset INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " data_file TEXT NOT NULL,"
    " checksum TEXT,"
    " PRIMARY KEY (version, part_number)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE uploads("
    " id INTEGER PRIMARY KEY,"
    " bucket_id INTEGER NOT NULL,"
    " key BLOB NOT NULL,"
    " upload_id TEXT NOT NULL,"
    " initiated_ms INTEGER NOT NULL,"
    " owner TEXT NOT NULL,"
    " content_type TEXT,"
    " attrs BLOB,"
    " checksum_algo TEXT"
    ") STRICT;"
    "CREATE UNIQUE INDEX uploads_by_key ON uploads(bucket_id, key, upload_id);"
    "CREATE TABLE parts("
    " upload INTEGER NOT NULL,"
    " part_number INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " data_file TEXT NOT NULL,"
    " checksum TEXT,"
    " last_modified_ms INTEGER NOT NULL,"
    " PRIMARY KEY (upload, part_number)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE repl_outbox("
    " id INTEGER PRIMARY KEY,"
    " bucket TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " version_id TEXT NOT NULL,"
    " op TEXT NOT NULL,"
    " peer TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX repl_outbox_due ON repl_outbox(peer, next_attempt_ms);"
    /* Start-up GC asks, per data file, whether any row names it. */
    "CREATE INDEX versions_by_file ON versions(data_file) WHERE data_file IS NOT NULL;"
    "CREATE INDEX version_parts_by_file ON version_parts(data_file);"
    "CREATE INDEX parts_by_file ON parts(data_file);";

/*
 * Schema version 2: replication. v1's repl_outbox was a placeholder no
 * version of the program wrote, so it is replaced. repl_rules holds each
 * bucket's rules in their configuration order (pos), repl_configs the
 * configuration's Role; an outbox row is one version still to be sent to
 * one destination (peer, bucket); the version's repl_status is PENDING while
 * it has rows. store_id names this database: a peer that sees it change
 * knows the store was wiped and resyncs it; repl_peers keeps the store_id
 * last seen of each peer.
 */
static const char schema_v2[] =
    "DROP TABLE repl_outbox;"
    "CREATE TABLE repl_configs(bucket_id INTEGER PRIMARY KEY, role TEXT NOT NULL) STRICT;"
    "CREATE TABLE repl_rules("
    " bucket_id INTEGER NOT NULL,"
    " pos INTEGER NOT NULL,"
    " rule_id TEXT NOT NULL,"
    " priority INTEGER NOT NULL,"
    " enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),"
    " prefix BLOB NOT NULL,"
    " dest_arn TEXT NOT NULL,"
    " dest_bucket TEXT NOT NULL,"
    " peer TEXT NOT NULL,"
    " delete_markers INTEGER NOT NULL CHECK (delete_markers IN (0, 1)),"
    " replica_mods INTEGER NOT NULL CHECK (replica_mods IN (0, 1)),"
    " v1 INTEGER NOT NULL CHECK (v1 IN (0, 1)),"
    " PRIMARY KEY (bucket_id, pos)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE repl_outbox("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," /* never reused: the agent scans by id */
    " bucket_id INTEGER NOT NULL,"
    " key BLOB NOT NULL,"
    " version_id TEXT NOT NULL,"
    " peer TEXT NOT NULL,"
    " dest_bucket TEXT NOT NULL,"
    " rule_id TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT"
    ") STRICT;"
    "CREATE INDEX repl_outbox_by_peer ON repl_outbox(peer, id);"
    "CREATE UNIQUE INDEX repl_outbox_by_version"
    " ON repl_outbox(bucket_id, key, version_id, peer, dest_bucket);"
    "CREATE TABLE repl_peers(name TEXT PRIMARY KEY, store_id INTEGER NOT NULL)"
    " STRICT, WITHOUT ROWID;"
    "INSERT INTO settings VALUES ('store_id', abs(random()));";

/* migrations[i] takes a file from user_version i to i + 1. */
static const char *const migrations[META_SCHEMA_VERSION] = { schema_v1, schema_v2 };

int meta__err(struct meta_db *db, int rc)
{
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", sqlite3_errmsg(db->sql));
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return ERR_IO;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_META_BUSY;
	case SQLITE_CONSTRAINT:
		return ERR_META_EXISTS;
	default:
		return ERR_META_SQLITE;
	}
}

sqlite3_stmt *meta__stmt(struct meta_db *db, enum meta_sql id, int *rc)
{
	CHECK_MAGIC(db, META_DB_MAGIC);
	CHECK(id < META_SQL__COUNT);
	sqlite3_stmt *st = db->stmts[id];
	if (!st) {
		int src = sqlite3_prepare_v3(db->sql, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
		                             &st, NULL);
		if (src != SQLITE_OK) {
			*rc = meta__err(db, src);
			return NULL;
		}
		db->stmts[id] = st;
	}
	db->statements++;
	return st;
}

int meta__step(struct meta_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db->rows++;
		return rc;
	}
	if (rc == SQLITE_DONE)
		return rc;
	int err = meta__err(db, rc);
	sqlite3_reset(st);
	return err;
}

/* Make a statement reusable: reset and unbound. */
void meta__done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int meta__exec(struct meta_db *db, enum meta_sql id)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, id, &rc);
	if (!st)
		return rc;
	rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta__tx_begin(struct meta_db *db, struct meta_tx *tx, bool write)
{
	tx->top = sqlite3_get_autocommit(db->sql) != 0;
	tx->write = write;
	if (tx->top)
		return meta__exec(db, write ? META_SQL_BEGIN_WRITE : META_SQL_BEGIN_READ);
	return write ? meta__exec(db, META_SQL_SAVEPOINT_OP) : 0;
}

int meta__tx_end(struct meta_db *db, struct meta_tx *tx, int rc)
{
	/* Some errors (full disk, I/O) make SQLite roll the whole transaction
	 * back itself; then there is nothing left to end. */
	bool open = sqlite3_get_autocommit(db->sql) == 0;
	if (tx->top) {
		if (!open)
			return rc ? rc : ERR_META_SQLITE;
		if (rc == 0) {
			rc = meta__exec(db, META_SQL_COMMIT);
			if (rc == 0)
				return 0;
		}
		meta__exec(db, META_SQL_ROLLBACK);
		return rc;
	}
	if (!tx->write || !open)
		return rc;
	if (rc)
		meta__exec(db, META_SQL_ROLLBACK_OP);
	int rel = meta__exec(db, META_SQL_RELEASE_OP);
	return rc ? rc : rel;
}

static int bind_result(struct meta_db *db, int src)
{
	return src == SQLITE_OK ? 0 : meta__err(db, src);
}

int meta__bind_blob(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v)
{
	return bind_result(db,
	                   sqlite3_bind_blob64(st, i, v.len ? v.base : "", v.len, SQLITE_STATIC));
}

int meta__bind_text(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v)
{
	return bind_result(
	    db, sqlite3_bind_text64(st, i, v.len ? v.base : "", v.len, SQLITE_STATIC, SQLITE_UTF8));
}

int meta__bind_opt_text(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v)
{
	if (!v.len)
		return bind_result(db, sqlite3_bind_null(st, i));
	return meta__bind_text(db, st, i, v);
}

int meta__bind_int(struct meta_db *db, sqlite3_stmt *st, int i, int64_t v)
{
	return bind_result(db, sqlite3_bind_int64(st, i, v));
}

int meta__col(sqlite3_stmt *st, int i, struct arena *a, struct iov *out)
{
	const void *p = sqlite3_column_blob(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (!p || !n) {
		*out = iov_make("", 0);
		return 0;
	}
	*out = arena_dup(a, iov_make(p, n));
	return out->base ? 0 : ERR_NOMEM;
}

int meta__bucket_find(struct meta_db *db, struct iov name, int64_t *id,
                      enum meta_versioning *versioning)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_BUCKET_FIND, &rc);
	if (!st || (rc = meta__bind_text(db, st, 1, name)))
		return rc;
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*versioning = (enum meta_versioning)sqlite3_column_int(st, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_META_NO_SUCH_BUCKET;
	}
	meta__done(st);
	return rc;
}

static enum meta_repl repl_from_text(const unsigned char *s)
{
	static const char *const names[] = {
#define META_REPL_TEXT(e, text) text,
		META_REPL_MAP(META_REPL_TEXT)
#undef META_REPL_TEXT
	};
	for (size_t i = 1; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp((const char *)s, names[i]) == 0)
			return (enum meta_repl)i;
	return META_REPL_NONE;
}

int meta__read_version(sqlite3_stmt *st, struct arena *a, struct meta_object *o, int64_t *rowid)
{
	memset(o, 0, sizeof(*o));
	const unsigned char *vid = sqlite3_column_text(st, 1);
	size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
	CHECK(vid && vlen <= META_VERSION_ID_MAX);
	memcpy(o->version_id, vid, vlen);
	o->version_id[vlen] = '\0';
	o->hlc = (uint64_t)sqlite3_column_int64(st, 2);
	o->region = (uint16_t)sqlite3_column_int(st, 3);
	o->is_latest = sqlite3_column_int(st, 4) != 0;
	o->is_delete_marker = sqlite3_column_int(st, 5) != 0;
	o->size = (uint64_t)sqlite3_column_int64(st, 6);
	o->last_modified_ms = sqlite3_column_int64(st, 8);
	o->part_count = (uint32_t)sqlite3_column_int(st, 10);
	o->repl = repl_from_text(sqlite3_column_text(st, 15));
	*rowid = sqlite3_column_int64(st, 17);
	if (meta__col(st, 0, a, &o->key) || meta__col(st, 7, a, &o->etag) ||
	    meta__col(st, 9, a, &o->data_file) || meta__col(st, 11, a, &o->content_type) ||
	    meta__col(st, 12, a, &o->attrs) || meta__col(st, 13, a, &o->checksum_algo) ||
	    meta__col(st, 14, a, &o->checksum) || meta__col(st, 16, a, &o->owner))
		return ERR_NOMEM;
	return 0;
}

int meta__read_upload(sqlite3_stmt *st, struct arena *a, struct meta_upload *u, int64_t *rowid)
{
	memset(u, 0, sizeof(*u));
	u->initiated_ms = sqlite3_column_int64(st, 2);
	*rowid = sqlite3_column_int64(st, 7);
	if (meta__col(st, 0, a, &u->key) || meta__col(st, 1, a, &u->upload_id) ||
	    meta__col(st, 3, a, &u->owner) || meta__col(st, 4, a, &u->content_type) ||
	    meta__col(st, 5, a, &u->attrs) || meta__col(st, 6, a, &u->checksum_algo))
		return ERR_NOMEM;
	return 0;
}

int meta__grow(struct arena *a, void **arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	char *p = arena_alloc(a, ncap * size);
	if (!p)
		return ERR_NOMEM;
	if (n)
		memcpy(p, *arr, n * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

int meta__run(struct meta_db *db, enum meta_sql id,
              int (*bind)(struct meta_db *, sqlite3_stmt *, const void *), const void *arg)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, id, &rc);
	if (!st)
		return rc;
	if (!(rc = bind(db, st, arg)))
		while ((rc = meta__step(db, st)) == SQLITE_ROW)
			;
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta__bind_id(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	return meta__bind_int(db, st, 1, *(const int64_t *)arg);
}

int meta__files_from(struct meta_db *db, sqlite3_stmt *st, int col, struct arena *a,
                     struct meta_files *f)
{
	int rc;
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		struct iov file =
		    iov_make(sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col));
		if ((rc = meta__files_add(f, a, file)))
			break;
	}
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta__files_add(struct meta_files *f, struct arena *a, struct iov id)
{
	void *arr = f->ids;
	if (meta__grow(a, &arr, f->n, &f->cap, sizeof(f->ids[0])))
		return ERR_NOMEM;
	f->ids = arr;
	struct iov copy = arena_dup(a, id);
	if (!copy.base)
		return ERR_NOMEM;
	f->ids[f->n++] = copy;
	return 0;
}

int meta__hlc_high(struct meta_db *db, uint64_t ts)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_HLC_HIGH_SET, &rc);
	if (!st || (rc = meta__bind_int(db, st, 1, (int64_t)ts)))
		return rc;
	rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_db_hlc_high(struct meta_db *db, uint64_t *out)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_HLC_HIGH_GET, &rc);
	if (!st)
		return rc;
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_META_SCHEMA;
	}
	meta__done(st);
	return rc;
}

/* One PRAGMA or script, no bound values. */
static int exec_sql(struct meta_db *db, const char *sql)
{
	int src = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
	return src == SQLITE_OK ? 0 : meta__err(db, src);
}

static int user_version(struct meta_db *db, int *out)
{
	sqlite3_stmt *st;
	int src = sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &st, NULL);
	if (src != SQLITE_OK)
		return meta__err(db, src);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return src == SQLITE_ROW ? 0 : meta__err(db, src);
}

static int migrate(struct meta_db *db)
{
	int have = 0;
	int rc = user_version(db, &have);
	if (rc)
		return rc;
	if (have > META_SCHEMA_VERSION || have < 0)
		return ERR_META_SCHEMA;
	if (db->query_only)
		return have == META_SCHEMA_VERSION ? 0 : ERR_META_SCHEMA;
	for (int v = have; v < META_SCHEMA_VERSION; v++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec_sql(db, "BEGIN IMMEDIATE")))
			return rc;
		if ((rc = exec_sql(db, migrations[v])) || (rc = exec_sql(db, bump)) ||
		    (rc = exec_sql(db, "COMMIT"))) {
			exec_sql(db, "ROLLBACK");
			return rc;
		}
	}
	return 0;
}

/* Make a newly created file's directory entry durable. */
static int sync_parent_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof(dir))
		return ERR_TOO_BIG;
	if (n == 0) {
		dir[0] = slash ? '/' : '.';
		n = 1;
	} else {
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int rc = fsync(fd) == 0 ? 0 : ERR_IO;
	close(fd);
	return rc;
}

static int configure(struct meta_db *db, const struct meta_db_opts *opts)
{
	int timeout = opts && opts->busy_timeout_ms ? opts->busy_timeout_ms : META_BUSY_TIMEOUT_MS;
	int rc = bind_result(db, sqlite3_busy_timeout(db->sql, timeout));
	if (rc)
		return rc;
	sqlite3_extended_result_codes(db->sql, 1);
	if (db->query_only)
		return exec_sql(db, "PRAGMA query_only = ON");
	/* journal_mode answers with the mode in force; anything but wal is an error. */
	sqlite3_stmt *st;
	int src = sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (src != SQLITE_OK)
		return meta__err(db, src);
	src = sqlite3_step(st);
	bool wal =
	    src == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (!wal)
		return src == SQLITE_ROW ? ERR_META_SQLITE : meta__err(db, src);
	return exec_sql(db, "PRAGMA synchronous = FULL;"
	                    "PRAGMA secure_delete = OFF;"
	                    "PRAGMA foreign_keys = OFF;"
	                    "PRAGMA temp_store = MEMORY;");
}

int meta_db_open(const char *path, const struct meta_db_opts *opts, struct meta_db **out)
{
	struct meta_db *db = calloc(1, sizeof(*db));
	if (!db)
		return ERR_NOMEM;
	db->magic = META_DB_MAGIC;
	db->query_only = opts && opts->query_only;
	struct stat sb;
	bool created = !db->query_only && stat(path, &sb) != 0 && errno == ENOENT;

	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (!db->query_only)
		flags |= SQLITE_OPEN_CREATE;
	int src = sqlite3_open_v2(path, &db->sql, flags, opts ? opts->vfs : NULL);
	int rc = 0;
	if (src != SQLITE_OK)
		rc = db->sql ? meta__err(db, src) : ERR_NOMEM;
	if (!rc)
		rc = configure(db, opts);
	if (!rc)
		rc = migrate(db);
	if (!rc && created)
		rc = sync_parent_dir(path);
	if (rc) {
		meta_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void meta_db_close(struct meta_db *db)
{
	if (!db)
		return;
	CHECK_MAGIC(db, META_DB_MAGIC);
	for (int i = 0; i < META_SQL__COUNT; i++)
		sqlite3_finalize(db->stmts[i]);
	sqlite3_close(db->sql);
	db->magic = 0;
	free(db);
}

void meta_db_stats(const struct meta_db *db, struct meta_db_stats *out)
{
	CHECK_MAGIC(db, META_DB_MAGIC);
	out->statements = db->statements;
	out->rows = db->rows;
}

const char *meta_db_errmsg(const struct meta_db *db)
{
	CHECK_MAGIC(db, META_DB_MAGIC);
	return db->errmsg;
}

int meta_data_file_referenced(struct meta_db *db, struct iov id)
{
	int rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_DATA_FILE_USED, &rc);
	if (!st)
		return rc;
	rc = meta__bind_text(db, st, 1, id);
	if (rc == 0)
		rc = meta__step(db, st);
	meta__done(st);
	if (rc < 0)
		return rc;
	return rc == SQLITE_ROW ? 1 : 0;
}
