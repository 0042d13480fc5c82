/*
 * Metadata readers: a small pool of threads, each with its own query-only
 * connection, taking jobs (struct meta_job in meta-t.h) from one bounded
 * queue. Each job runs in its own read transaction, so everything it reads
 * is one consistent snapshot; WAL lets readers run while the writer commits.
 * Completions run on the reader thread.
 *
 * Open the writer first: readers need a database at the current schema.
 * submit may be called from any thread and never blocks on SQLite.
 */
#ifndef MERIDIAN_META_READER_H
#define MERIDIAN_META_READER_H

#include <stddef.h>

#include "meta/db.h"
#include "meta/meta-t.h"

#define META_READER_THREADS   2
#define META_READER_QUEUE_MAX 4096

struct meta_reader;

struct meta_reader_opts {
	size_t threads;   /* 0: META_READER_THREADS */
	size_t queue_max; /* 0: META_READER_QUEUE_MAX */
	const char *vfs;  /* SQLite VFS; NULL: default */
};

/* Open one connection per thread and start the threads. opts may be NULL.
 * 0 and *out, meta_db_open's errors (ERR_META_SCHEMA before the writer
 * created the schema), ERR_NOMEM, ERR_INTERNAL. */
int meta_reader_new(const char *path, const struct meta_reader_opts *opts,
                    struct meta_reader **out);
/* Queue a job. 0, ERR_META_BUSY or ERR_META_CLOSED. */
int meta_reader_submit(struct meta_reader *r, struct meta_job *job);
/* Refuse new jobs, finish queued ones, stop the threads. Idempotent. */
void meta_reader_shutdown(struct meta_reader *r);
/* Shut down if needed, close the connections and free. NULL is a no-op. */
void meta_reader_free(struct meta_reader *r);

#endif
