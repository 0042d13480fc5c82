/*
 * Internal to meta/: the connection struct, the table of every SQL statement
 * (prepared once per connection on first use and kept until close), and the
 * helpers the concept files (bucket, object, upload, list) share. A
 * connection is used by one thread at a time.
 */
#ifndef MERIDIAN_META_INTERNAL_H
#define MERIDIAN_META_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/iov.h"
#include "meta/meta-t.h"

#define META_DB_MAGIC 0x4d455441u

/* Columns of a version row, in the order meta__read_version() expects. */
#define META_VCOLS                                                                      \
	"key, version_id, hlc, region, is_latest, is_delete_marker, size, etag, "       \
	"last_modified_ms, data_file, part_count, content_type, attrs, checksum_algo, " \
	"checksum, repl_status, owner, id"
#define META_UCOLS "key, upload_id, initiated_ms, owner, content_type, attrs, checksum_algo, id"

/* name, SQL */
#define META_SQL_MAP(X)                                                                            \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                          \
	X(BEGIN_READ, "BEGIN")                                                                     \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(SAVEPOINT_OP, "SAVEPOINT meta_op")                                                       \
	X(RELEASE_OP, "RELEASE meta_op")                                                           \
	X(ROLLBACK_OP, "ROLLBACK TO meta_op")                                                      \
	X(SAVEPOINT_JOB, "SAVEPOINT meta_job")                                                     \
	X(RELEASE_JOB, "RELEASE meta_job")                                                         \
	X(ROLLBACK_JOB, "ROLLBACK TO meta_job")                                                    \
	X(HLC_HIGH_GET, "SELECT value FROM settings WHERE name = 'hlc_high'")                      \
	X(HLC_HIGH_SET, "UPDATE settings SET value = max(value, ?1) WHERE name = 'hlc_high'")      \
	X(BUCKET_FIND, "SELECT id, versioning FROM buckets WHERE name = ?1")                       \
	X(BUCKET_GET, "SELECT name, owner, region, created_ms, versioning, anon_read "             \
	              "FROM buckets WHERE name = ?1")                                              \
	X(BUCKET_INSERT, "INSERT INTO buckets(name, owner, region, created_ms, versioning, "       \
	                 "anon_read) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                             \
	X(BUCKET_DELETE, "DELETE FROM buckets WHERE id = ?1")                                      \
	X(BUCKET_HAS_VERSIONS, "SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1")              \
	X(BUCKET_UPLOAD_FILES,                                                                     \
	  "SELECT p.data_file FROM parts p JOIN uploads u ON u.id = p.upload "                     \
	  "WHERE u.bucket_id = ?1 LIMIT ?2")                                                       \
	X(BUCKET_PARTS_DELETE, "DELETE FROM parts WHERE upload IN "                                \
	                       "(SELECT id FROM uploads WHERE bucket_id = ?1)")                    \
	X(BUCKET_UPLOADS_DELETE, "DELETE FROM uploads WHERE bucket_id = ?1")                       \
	X(BUCKET_LIST, "SELECT name, owner, region, created_ms, versioning, anon_read "            \
	               "FROM buckets WHERE owner = ?1 ORDER BY name")                              \
	X(BUCKET_SET_VERSIONING, "UPDATE buckets SET versioning = ?2 WHERE name = ?1")             \
	X(BUCKET_SET_ANON, "UPDATE buckets SET anon_read = ?2 WHERE name = ?1")                    \
	X(VERSION_INSERT,                                                                          \
	  "INSERT INTO versions(bucket_id, key, version_id, hlc, region, is_latest, "              \
	  "is_delete_marker, size, etag, last_modified_ms, data_file, part_count, "                \
	  "content_type, attrs, checksum_algo, checksum, repl_status, owner) "                     \
	  "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "          \
	  "?16, ?17)")                                                                             \
	X(VERSION_BY_ID, "SELECT " META_VCOLS " FROM versions "                                    \
	                 "WHERE bucket_id = ?1 AND key = ?2 AND version_id = ?3")                  \
	X(VERSION_LATEST, "SELECT " META_VCOLS " FROM versions "                                   \
	                  "WHERE bucket_id = ?1 AND key = ?2 "                                     \
	                  "ORDER BY hlc DESC, region DESC LIMIT 1")                                \
	X(VERSION_DELETE, "DELETE FROM versions WHERE id = ?1")                                    \
	X(VERSION_SET_LATEST, "UPDATE versions SET is_latest = ?2 WHERE id = ?1")                  \
	X(VERSION_SET_REPL, "UPDATE versions SET repl_status = ?4 "                                \
	                    "WHERE bucket_id = ?1 AND key = ?2 AND version_id = ?3")               \
	X(VPART_INSERT, "INSERT INTO version_parts(version, part_number, offset, size, "           \
	                "etag, data_file, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")          \
	X(VPART_LIST, "SELECT part_number, offset, size, etag, data_file, checksum "               \
	              "FROM version_parts WHERE version = ?1 ORDER BY part_number")                \
	X(VPART_DELETE, "DELETE FROM version_parts WHERE version = ?1")                            \
	X(LIST_CURRENT, "SELECT " META_VCOLS " FROM versions "                                     \
	                "WHERE bucket_id = ?1 AND key >= ?2 AND key < ?3 "                         \
	                "AND is_latest = 1 AND is_delete_marker = 0 ORDER BY key LIMIT ?4")        \
	X(LIST_VERSIONS, "SELECT " META_VCOLS " FROM versions "                                    \
	                 "WHERE bucket_id = ?1 AND key >= ?2 AND key < ?3 "                        \
	                 "ORDER BY key, hlc DESC, region DESC LIMIT ?4")                           \
	X(LIST_VERSIONS_TAIL, "SELECT " META_VCOLS " FROM versions "                               \
	                      "WHERE bucket_id = ?1 AND key = ?2 AND (hlc, region) < (?3, ?4) "    \
	                      "ORDER BY hlc DESC, region DESC LIMIT ?5")                           \
	X(UPLOAD_INSERT, "INSERT INTO uploads(bucket_id, key, upload_id, initiated_ms, "           \
	                 "owner, content_type, attrs, checksum_algo) "                             \
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                \
	X(UPLOAD_FIND, "SELECT " META_UCOLS " FROM uploads "                                       \
	               "WHERE bucket_id = ?1 AND key = ?2 AND upload_id = ?3")                     \
	X(UPLOAD_DELETE, "DELETE FROM uploads WHERE id = ?1")                                      \
	X(LIST_UPLOADS, "SELECT " META_UCOLS " FROM uploads "                                      \
	                "WHERE bucket_id = ?1 AND key >= ?2 AND key < ?3 "                         \
	                "ORDER BY key, upload_id LIMIT ?4")                                        \
	X(LIST_UPLOADS_TAIL, "SELECT " META_UCOLS " FROM uploads "                                 \
	                     "WHERE bucket_id = ?1 AND key = ?2 AND upload_id > ?3 "               \
	                     "ORDER BY upload_id LIMIT ?4")                                        \
	X(PART_GET, "SELECT data_file FROM parts WHERE upload = ?1 AND part_number = ?2")          \
	X(PART_PUT, "INSERT OR REPLACE INTO parts(upload, part_number, size, etag, "               \
	            "data_file, checksum, last_modified_ms) "                                      \
	            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                                         \
	X(PART_LIST, "SELECT part_number, size, etag, data_file, checksum, last_modified_ms "      \
	             "FROM parts WHERE upload = ?1 AND part_number > ?2 "                          \
	             "ORDER BY part_number LIMIT ?3")                                              \
	X(PART_DELETE_ALL, "DELETE FROM parts WHERE upload = ?1")                                  \
	X(REPL_CONFIG_SET, "INSERT OR REPLACE INTO repl_configs(bucket_id, role) VALUES (?1, ?2)") \
	X(REPL_CONFIG_GET, "SELECT role FROM repl_configs WHERE bucket_id = ?1")                   \
	X(REPL_CONFIG_DELETE, "DELETE FROM repl_configs WHERE bucket_id = ?1")                     \
	X(REPL_RULES_DELETE, "DELETE FROM repl_rules WHERE bucket_id = ?1")                        \
	X(REPL_RULE_INSERT, "INSERT INTO repl_rules(bucket_id, pos, rule_id, priority, enabled, "  \
	                    "prefix, dest_arn, dest_bucket, peer, delete_markers, replica_mods, "  \
	                    "v1) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")      \
	X(REPL_RULES_GET, "SELECT rule_id, priority, enabled, prefix, dest_arn, dest_bucket, "     \
	                  "peer, delete_markers, replica_mods, v1 FROM repl_rules "                \
	                  "WHERE bucket_id = ?1 ORDER BY pos")                                     \
	X(REPL_RULES_ACTIVE, "SELECT rule_id, prefix, dest_bucket, peer, delete_markers "          \
	                     "FROM repl_rules WHERE bucket_id = ?1 AND enabled = 1 "               \
	                     "ORDER BY priority DESC, pos")                                        \
	X(OUTBOX_INSERT, "INSERT OR IGNORE INTO repl_outbox(bucket_id, key, version_id, peer, "    \
	                 "dest_bucket, rule_id, size, created_ms) "                                \
	                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                \
	X(OUTBOX_DUE, "SELECT o.id, b.name, o.key, o.version_id, o.peer, o.dest_bucket, "          \
	              "o.rule_id, o.size, o.created_ms, o.attempts, o.next_attempt_ms "            \
	              "FROM repl_outbox o JOIN buckets b ON b.id = o.bucket_id "                   \
	              "WHERE o.peer = ?1 AND o.id > ?2 AND o.next_attempt_ms <= ?3 "               \
	              "ORDER BY o.id LIMIT ?4")                                                    \
	X(OUTBOX_NEXT_DUE, "SELECT min(next_attempt_ms) FROM repl_outbox WHERE peer = ?1")         \
	X(OUTBOX_GET, "SELECT bucket_id, key, version_id FROM repl_outbox WHERE id = ?1")          \
	X(OUTBOX_DELETE, "DELETE FROM repl_outbox WHERE id = ?1")                                  \
	X(OUTBOX_LEFT, "SELECT 1 FROM repl_outbox "                                                \
	               "WHERE bucket_id = ?1 AND key = ?2 AND version_id = ?3 LIMIT 1")            \
	X(OUTBOX_RETRY, "UPDATE repl_outbox SET attempts = attempts + 1, next_attempt_ms = ?2, "   \
	                "last_error = ?3 WHERE id = ?1")                                           \
	X(OUTBOX_DROP_VERSION, "DELETE FROM repl_outbox "                                          \
	                       "WHERE bucket_id = ?1 AND key = ?2 AND version_id = ?3")            \
	X(OUTBOX_STATS, "SELECT b.name, o.rule_id, o.peer, count(*), sum(o.size), "                \
	                "min(o.created_ms) FROM repl_outbox o "                                    \
	                "JOIN buckets b ON b.id = o.bucket_id "                                    \
	                "GROUP BY o.bucket_id, o.rule_id, o.peer ORDER BY 1, 2, 3")                \
	X(VERSION_REPL_SWAP, "UPDATE versions SET repl_status = ?4 WHERE bucket_id = ?1 "          \
	                     "AND key = ?2 AND version_id = ?3 AND repl_status = ?5")              \
	X(VERSION_REPL_GET, "SELECT size, repl_status FROM versions "                              \
	                    "WHERE bucket_id = ?1 AND key = ?2 AND version_id = ?3")               \
	X(REPL_PEER_GET, "SELECT store_id FROM repl_peers WHERE name = ?1")                        \
	X(REPL_PEER_SET, "INSERT OR REPLACE INTO repl_peers(name, store_id) VALUES (?1, ?2)")      \
	X(REPL_RULES_FOR_PEER, "SELECT b.name, r.rule_id, r.prefix, r.dest_bucket, "               \
	                       "r.delete_markers FROM repl_rules r "                               \
	                       "JOIN buckets b ON b.id = r.bucket_id "                             \
	                       "WHERE r.peer = ?1 AND r.enabled = 1 ORDER BY b.name, r.pos")       \
	X(STORE_ID_GET, "SELECT value FROM settings WHERE name = 'store_id'")                      \
	X(DATA_FILE_USED, "SELECT 1 FROM versions WHERE data_file = ?1 UNION ALL "                 \
	                  "SELECT 1 FROM version_parts WHERE data_file = ?1 UNION ALL "            \
	                  "SELECT 1 FROM parts WHERE data_file = ?1 LIMIT 1")

enum meta_sql {
#define META_SQL_ENUM(name, sql) META_SQL_##name,
	META_SQL_MAP(META_SQL_ENUM)
#undef META_SQL_ENUM
	    META_SQL__COUNT
};

struct meta_db {
	unsigned magic;
	sqlite3 *sql;
	bool query_only;
	uint64_t statements; /* statement executions started */
	uint64_t rows;       /* rows stepped through */
	sqlite3_stmt *stmts[META_SQL__COUNT];
	char errmsg[256]; /* the last SQLite error, for logs */
};

/* The prepared statement `id`, reset and unbound, or NULL with *rc set. */
sqlite3_stmt *meta__stmt(struct meta_db *db, enum meta_sql id, int *rc);
/* Step: SQLITE_ROW, SQLITE_DONE, or a negative ERR_* (the statement is then
 * reset). SQLITE_CONSTRAINT maps to ERR_META_EXISTS. */
int meta__step(struct meta_db *db, sqlite3_stmt *st);
/* Make a statement reusable: reset and unbound. Every user calls it. */
void meta__done(sqlite3_stmt *st);
/* Run a statement that returns no rows to completion. 0 or ERR_*. */
int meta__exec(struct meta_db *db, enum meta_sql id);
/* ERR_* for a SQLite result code; records the connection's message. */
int meta__err(struct meta_db *db, int sqlite_rc);

/*
 * Transactions that nest: at top level a write opens BEGIN IMMEDIATE and a
 * read BEGIN; inside a transaction (the writer thread's group) a write opens
 * SAVEPOINT meta_op and a read nothing. meta__tx_end commits or releases
 * when rc is 0, else rolls back, and returns rc or the commit's error.
 */
struct meta_tx {
	bool top;
	bool write;
};
int meta__tx_begin(struct meta_db *db, struct meta_tx *tx, bool write);
int meta__tx_end(struct meta_db *db, struct meta_tx *tx, int rc);

/* Binding: blobs and required text bind "" for an empty slice; optional text
 * binds NULL for an empty slice. 0 or ERR_*. */
int meta__bind_blob(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v);
int meta__bind_text(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v);
int meta__bind_opt_text(struct meta_db *db, sqlite3_stmt *st, int i, struct iov v);
int meta__bind_int(struct meta_db *db, sqlite3_stmt *st, int i, int64_t v);

/* Column i copied into the arena (NULL and empty give an empty slice).
 * 0 or ERR_NOMEM. */
int meta__col(sqlite3_stmt *st, int i, struct arena *a, struct iov *out);

/* The id and versioning state of a bucket. 0 or ERR_META_NO_SUCH_BUCKET. */
int meta__bucket_find(struct meta_db *db, struct iov name, int64_t *id,
                      enum meta_versioning *versioning);

/* A row of META_VCOLS into o (strings into the arena); *rowid gets the id
 * column. 0 or ERR_NOMEM. */
int meta__read_version(sqlite3_stmt *st, struct arena *a, struct meta_object *o, int64_t *rowid);
/* A row of META_UCOLS; *rowid gets the id column. */
int meta__read_upload(sqlite3_stmt *st, struct arena *a, struct meta_upload *u, int64_t *rowid);

/* Run statement id with its bindings done by bind(arg), to completion. 0 or
 * an error. */
int meta__run(struct meta_db *db, enum meta_sql id,
              int (*bind)(struct meta_db *, sqlite3_stmt *, const void *), const void *arg);
/* A bind for meta__run: ?1 is *(const int64_t *)arg (a row or bucket id). */
int meta__bind_id(struct meta_db *db, sqlite3_stmt *st, const void *arg);

/* Append a copy of `id` to f. 0 or ERR_NOMEM. */
int meta__files_add(struct meta_files *f, struct arena *a, struct iov id);
/* Column col of every row of st (bound, not stepped yet) into f, then st
 * done. 0 or an error. */
int meta__files_from(struct meta_db *db, sqlite3_stmt *st, int col, struct arena *a,
                     struct meta_files *f);

/* Raise the stored high-water mark of issued HLC timestamps. */
int meta__hlc_high(struct meta_db *db, uint64_t ts);

/* 0, ERR_INVALID (empty) or ERR_META_KEY_TOO_LONG. */
int meta__key_check(struct iov key);
/* A version id as a client may send it: "null" or an hlc id.
 * 0 or ERR_META_BAD_VERSION_ID. */
int meta__version_id_check(struct iov vid);

/*
 * Insert o as a new version of o->key (put and multipart complete): choose
 * its id by the bucket's versioning state, replace the null version when it
 * is "null" (its files go to garbage), and make it the latest if it orders
 * above the current latest. Fills o->version_id, o->is_latest and *rowid.
 */
int meta__version_add(struct meta_db *db, int64_t bucket_id, enum meta_versioning v,
                      struct meta_object *o, struct arena *a, struct meta_files *garbage,
                      int64_t *rowid);

/*
 * Queue the version just added (rowid-less: by key and id) for every
 * destination whose best enabled rule of the bucket matches its key (delete
 * markers only where that rule replicates them). Sets o->repl to PENDING
 * before the insert when there is one; call meta__repl_plan first, then
 * meta__repl_queue after the version row exists. A plan is small and lives
 * in the arena.
 */
struct meta_repl_plan {
	struct meta_repl_dest {
		struct iov peer, dest_bucket, rule_id;
	} * dests;
	size_t n;
};
int meta__repl_plan(struct meta_db *db, int64_t bucket_id, const struct meta_object *o,
                    struct arena *a, struct meta_repl_plan *plan);
int meta__repl_queue(struct meta_db *db, int64_t bucket_id, const struct meta_object *o,
                     const struct meta_repl_plan *plan, int64_t now_ms);
/* Forget the rows of a version removed for good. */
int meta__repl_drop_version(struct meta_db *db, int64_t bucket_id, struct iov key, struct iov vid);
/* Forget a bucket's configuration (the bucket is being deleted). */
int meta__repl_drop_bucket(struct meta_db *db, int64_t bucket_id);
/* Whether the bucket has a replication configuration: 1, 0 or an error. */
int meta__repl_configured(struct meta_db *db, int64_t bucket_id);

/* Grow an arena array of `size`-byte elements to hold n + 1; *cap tracks its
 * capacity. 0 or ERR_NOMEM. */
int meta__grow(struct arena *a, void **arr, size_t n, size_t *cap, size_t size);

#endif
