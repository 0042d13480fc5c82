/*
 * The metadata database of one store: a SQLite file in WAL mode holding
 * buckets, object versions, multipart uploads and the replication outbox.
 * A struct meta_db is one connection. Its functions (here and in bucket.h,
 * object.h, upload.h, list.h) are synchronous and may run on any thread, but
 * one connection is used by one thread at a time: in the server the writer
 * thread owns the only writing connection and each reader thread its own
 * read-only one (writer.h, reader.h); tests call them directly.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so a commit returns
 * only after the WAL is fsynced and an acknowledged write survives power
 * loss (NORMAL would only survive a process crash). Data files must be
 * fsynced and renamed into place BEFORE the metadata commit that references
 * them; a crash can then orphan a file but never leave a row without bytes.
 *
 * The schema version lives in PRAGMA user_version; opening for writing
 * applies the forward migrations a file lacks, each in its own transaction.
 */
#ifndef MERIDIAN_META_DB_H
#define MERIDIAN_META_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/iov.h"
#include "meta/meta-t.h"

#define META_SCHEMA_VERSION  2
#define META_BUSY_TIMEOUT_MS 5000

struct meta_db;

struct meta_db_opts {
	const char *vfs;     /* SQLite VFS name; NULL for the default */
	bool query_only;     /* a reader: never writes, never migrates */
	int busy_timeout_ms; /* 0: META_BUSY_TIMEOUT_MS */
};

struct meta_db_stats {
	uint64_t statements; /* statement executions started */
	uint64_t rows;       /* result rows stepped through */
};

/*
 * Open (creating it if missing, unless query_only) the database at path.
 * opts may be NULL (a writing connection, default VFS). A query_only
 * connection needs a file already at META_SCHEMA_VERSION.
 * 0 and *out, ERR_META_SCHEMA (file newer than this program, or a reader
 * on an unmigrated file), ERR_IO, ERR_NOMEM or ERR_META_SQLITE.
 */
int meta_db_open(const char *path, const struct meta_db_opts *opts, struct meta_db **out);
/* Finalize every statement and close. NULL is a no-op. */
void meta_db_close(struct meta_db *db);

/* The highest HLC timestamp any committed version carries. A store observes
 * it into its clock at startup (hlc_observe), so versions written after a
 * restart order after older ones even if the wall clock stepped back. */
int meta_db_hlc_high(struct meta_db *db, uint64_t *out);

/* Whether any version, completed part or upload part names data file `id`
 * (start-up garbage collection). 1, 0, or an error. */
int meta_data_file_referenced(struct meta_db *db, struct iov id);

void meta_db_stats(const struct meta_db *db, struct meta_db_stats *out);
/* The last SQLite error message on this connection ("" if none). */
const char *meta_db_errmsg(const struct meta_db *db);

#endif
