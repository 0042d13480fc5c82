/*
 * The metadata writer: one thread owning the only writing connection, fed by
 * a bounded queue of jobs (struct meta_job in meta-t.h). Group commit: the
 * thread takes every job waiting (up to group_max) and runs them in one
 * BEGIN IMMEDIATE ... COMMIT, each job inside its own SAVEPOINT, so a job
 * that fails is rolled back alone and the others commit. Under load, jobs
 * pile up while a commit's fsync runs and the next group grows; alone, a job
 * commits at once. Completions run on the writer thread after the commit
 * (the caller hops back to its loop from there; meta/ knows no loops).
 *
 * submit may be called from any thread and never blocks on SQLite: it only
 * takes the queue's mutex. shutdown stops new jobs, drains the queue and
 * joins the thread.
 */
#ifndef MERIDIAN_META_WRITER_H
#define MERIDIAN_META_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "meta/db.h"
#include "meta/meta-t.h"

#define META_WRITER_QUEUE_MAX 4096 /* jobs waiting; more is ERR_META_BUSY */
#define META_WRITER_GROUP_MAX 256  /* jobs per transaction */

struct meta_writer;

struct meta_writer_opts {
	size_t queue_max; /* 0: META_WRITER_QUEUE_MAX */
	size_t group_max; /* 0: META_WRITER_GROUP_MAX */
	const char *vfs;  /* SQLite VFS; NULL: default */
};

struct meta_writer_stats {
	uint64_t jobs;    /* jobs completed */
	uint64_t failed;  /* of which with an error */
	uint64_t commits; /* transactions committed */
};

/* Open (create, migrate) the database at path on the calling thread, then
 * start the writer thread. opts may be NULL. 0 and *out, or meta_db_open's
 * errors, ERR_NOMEM, ERR_INTERNAL (no thread). */
int meta_writer_new(const char *path, const struct meta_writer_opts *opts,
                    struct meta_writer **out);
/* Queue a job (borrowed until its done callback). 0, ERR_META_BUSY (queue
 * full: S3 answers 503 SlowDown) or ERR_META_CLOSED. */
int meta_writer_submit(struct meta_writer *w, struct meta_job *job);
/* Refuse new jobs, finish every queued one, stop the thread. Idempotent;
 * call from a thread other than the writer's. */
void meta_writer_shutdown(struct meta_writer *w);
/* Shut down if needed, close the connection and free. NULL is a no-op. */
void meta_writer_free(struct meta_writer *w);
void meta_writer_stats(struct meta_writer *w, struct meta_writer_stats *out);

#endif
