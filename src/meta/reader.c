/* The reader thread pool. submit/shutdown: any thread; jobs: reader threads. */
#include "meta/reader.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/err.h"
#include "meta/internal.h"
#include "meta/jobq.h"

#define READER_MAGIC 0x4d524452u

struct reader_thread {
	struct meta_reader *r;
	struct meta_db *db;
	pthread_t thread;
	bool started;
};

struct meta_reader {
	unsigned magic;
	struct meta_jobq q;
	size_t nthreads;
	struct reader_thread *threads;
	pthread_mutex_t stop_lock;
	bool stopped;
};

static void *reader_main(void *arg)
{
	struct reader_thread *t = arg;
	struct meta_job *j;
	while ((j = meta_jobq_take(&t->r->q, 1))) {
		int rc = meta__exec(t->db, META_SQL_BEGIN_READ);
		if (!rc) {
			rc = j->run(t->db, j->arg);
			if (!sqlite3_get_autocommit(t->db->sql)) {
				int end = meta__exec(t->db, META_SQL_COMMIT);
				if (end)
					meta__exec(t->db, META_SQL_ROLLBACK);
			}
		}
		j->rc = rc;
		j->done(j->arg, rc);
	}
	return NULL;
}

/* Stop and join the started threads, close every connection. */
static void stop_threads(struct meta_reader *r)
{
	meta_jobq_close(&r->q);
	for (size_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].started)
			pthread_join(r->threads[i].thread, NULL);
}

static void release(struct meta_reader *r)
{
	for (size_t i = 0; i < r->nthreads; i++)
		meta_db_close(r->threads[i].db);
	free(r->threads);
	meta_jobq_destroy(&r->q);
	pthread_mutex_destroy(&r->stop_lock);
	r->magic = 0;
	free(r);
}

int meta_reader_new(const char *path, const struct meta_reader_opts *opts, struct meta_reader **out)
{
	struct meta_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->nthreads = opts && opts->threads ? opts->threads : META_READER_THREADS;
	meta_jobq_init(&r->q, opts && opts->queue_max ? opts->queue_max : META_READER_QUEUE_MAX);
	pthread_mutex_init(&r->stop_lock, NULL);
	r->magic = READER_MAGIC;
	r->threads = calloc(r->nthreads, sizeof(r->threads[0]));
	if (!r->threads) {
		r->nthreads = 0;
		release(r);
		return ERR_NOMEM;
	}
	struct meta_db_opts dbo = { .vfs = opts ? opts->vfs : NULL, .query_only = true };
	int rc = 0;
	for (size_t i = 0; i < r->nthreads && !rc; i++) {
		struct reader_thread *t = &r->threads[i];
		t->r = r;
		rc = meta_db_open(path, &dbo, &t->db);
		if (!rc && pthread_create(&t->thread, NULL, reader_main, t) != 0)
			rc = ERR_INTERNAL;
		t->started = rc == 0;
	}
	if (rc) {
		stop_threads(r);
		release(r);
		return rc;
	}
	*out = r;
	return 0;
}

int meta_reader_submit(struct meta_reader *r, struct meta_job *job)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return meta_jobq_push(&r->q, job);
}

void meta_reader_shutdown(struct meta_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	pthread_mutex_lock(&r->stop_lock);
	if (!r->stopped) {
		stop_threads(r);
		r->stopped = true;
	}
	pthread_mutex_unlock(&r->stop_lock);
}

void meta_reader_free(struct meta_reader *r)
{
	if (!r)
		return;
	meta_reader_shutdown(r);
	release(r);
}
