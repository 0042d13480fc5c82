/*
 * The writer thread and its group commit. submit/shutdown/stats: any thread;
 * jobs and their completions: the writer thread.
 */
#include "meta/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/err.h"
#include "meta/internal.h"
#include "meta/jobq.h"

#define WRITER_MAGIC 0x4d575254u

struct meta_writer {
	unsigned magic;
	struct meta_db *db;
	struct meta_jobq q;
	size_t group_max;
	pthread_t thread;
	pthread_mutex_t stop_lock;
	bool stopped;
	_Atomic uint64_t jobs, failed, commits;
};

/* One job in its savepoint. False if SQLite rolled the whole transaction
 * back underneath it (full disk, I/O error). */
static bool run_job(struct meta_db *db, struct meta_job *j)
{
	j->rc = meta__exec(db, META_SQL_SAVEPOINT_JOB);
	if (j->rc)
		return sqlite3_get_autocommit(db->sql) == 0;
	j->rc = j->run(db, j->arg);
	if (sqlite3_get_autocommit(db->sql))
		return false;
	if (j->rc)
		meta__exec(db, META_SQL_ROLLBACK_JOB);
	int rc = meta__exec(db, META_SQL_RELEASE_JOB);
	if (!j->rc)
		j->rc = rc;
	return true;
}

/* Give jobs [from, to) that had succeeded the error rc. */
static void fail_ok(struct meta_job *from, struct meta_job *to, int rc)
{
	for (struct meta_job *j = from; j != to; j = j->next)
		if (!j->rc)
			j->rc = rc;
}

/* Completions for jobs [from, to); each may free its job. */
static void complete(struct meta_writer *w, struct meta_job *from, struct meta_job *to)
{
	while (from != to) {
		struct meta_job *next = from->next;
		atomic_fetch_add(&w->jobs, 1);
		if (from->rc)
			atomic_fetch_add(&w->failed, 1);
		from->done(from->arg, from->rc);
		from = next;
	}
}

/*
 * Run a taken list of jobs, one transaction for all of them. If SQLite
 * aborts the transaction midway, the jobs run so far fail with that error
 * and the rest go on in a new transaction.
 */
static void run_group(struct meta_writer *w, struct meta_job *jobs)
{
	struct meta_db *db = w->db;
	while (jobs) {
		int rc = meta__exec(db, META_SQL_BEGIN_WRITE);
		if (rc) {
			fail_ok(jobs, NULL, rc);
			complete(w, jobs, NULL);
			return;
		}
		struct meta_job *j = jobs, *end = NULL;
		for (; j; j = j->next) {
			if (!run_job(db, j)) {
				fail_ok(jobs, j->next, j->rc ? j->rc : ERR_META_SQLITE);
				end = j->next;
				break;
			}
		}
		if (!j) {
			rc = meta__exec(db, META_SQL_COMMIT);
			if (rc) {
				meta__exec(db, META_SQL_ROLLBACK);
				fail_ok(jobs, NULL, rc);
			} else {
				atomic_fetch_add(&w->commits, 1);
			}
		}
		complete(w, jobs, end);
		jobs = end;
	}
}

static void *writer_main(void *arg)
{
	struct meta_writer *w = arg;
	struct meta_job *jobs;
	while ((jobs = meta_jobq_take(&w->q, w->group_max)))
		run_group(w, jobs);
	return NULL;
}

int meta_writer_new(const char *path, const struct meta_writer_opts *opts, struct meta_writer **out)
{
	struct meta_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	struct meta_db_opts dbo = { .vfs = opts ? opts->vfs : NULL };
	int rc = meta_db_open(path, &dbo, &w->db);
	if (rc) {
		free(w);
		return rc;
	}
	size_t qmax = opts && opts->queue_max ? opts->queue_max : META_WRITER_QUEUE_MAX;
	w->group_max = opts && opts->group_max ? opts->group_max : META_WRITER_GROUP_MAX;
	meta_jobq_init(&w->q, qmax);
	pthread_mutex_init(&w->stop_lock, NULL);
	w->magic = WRITER_MAGIC;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		meta_jobq_destroy(&w->q);
		pthread_mutex_destroy(&w->stop_lock);
		meta_db_close(w->db);
		free(w);
		return ERR_INTERNAL;
	}
	*out = w;
	return 0;
}

int meta_writer_submit(struct meta_writer *w, struct meta_job *job)
{
	CHECK_MAGIC(w, WRITER_MAGIC);
	return meta_jobq_push(&w->q, job);
}

void meta_writer_shutdown(struct meta_writer *w)
{
	CHECK_MAGIC(w, WRITER_MAGIC);
	pthread_mutex_lock(&w->stop_lock);
	if (!w->stopped) {
		meta_jobq_close(&w->q);
		pthread_join(w->thread, NULL);
		w->stopped = true;
	}
	pthread_mutex_unlock(&w->stop_lock);
}

void meta_writer_free(struct meta_writer *w)
{
	if (!w)
		return;
	meta_writer_shutdown(w);
	meta_jobq_destroy(&w->q);
	pthread_mutex_destroy(&w->stop_lock);
	meta_db_close(w->db);
	w->magic = 0;
	free(w);
}

void meta_writer_stats(struct meta_writer *w, struct meta_writer_stats *out)
{
	CHECK_MAGIC(w, WRITER_MAGIC);
	out->jobs = atomic_load(&w->jobs);
	out->failed = atomic_load(&w->failed);
	out->commits = atomic_load(&w->commits);
}
