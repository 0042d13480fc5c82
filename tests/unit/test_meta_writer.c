/*
 * The writer thread and the reader pool: jobs from several threads are
 * group-committed (a gate job holds the writer while a thousand jobs queue,
 * which must then commit in ceil(1000 / group_max) transactions), a failing
 * job is rolled back alone, completions run once each on the writer thread in
 * FIFO order, the queue is bounded, shutdown drains; readers run gets on
 * their own connections and cannot write.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "meta_fixture.h"
#include "meta/reader.h"
#include "meta/writer.h"

#define SUBMITTERS 4
#define PER_THREAD 250
#define FAIL_INDEX 137

struct wctx {
	struct hlc clock;
	struct arena *a; /* used on the writer thread only */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int completed;
	_Atomic int seq;
	pthread_t done_thread;
	bool done_thread_set;
	bool done_thread_mixed;
	/* the gate */
	bool gate_running, gate_open;
};

struct wjob {
	struct meta_job job;
	struct wctx *ctx;
	char key[32];
	bool fail;
	int rc;
	int done_calls;
	int seq; /* completion order */
};

static void ctx_init(struct wctx *c)
{
	memset(c, 0, sizeof(*c));
	hlc_init(&c->clock);
	c->a = arena_new(64u << 20);
	assert_non_null(c->a);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
}

static void ctx_destroy(struct wctx *c)
{
	arena_free(c->a);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}

static void wait_completed(struct wctx *c, int n)
{
	pthread_mutex_lock(&c->lock);
	while (c->completed < n)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

/* Put the job's key; a failing job writes first, then reports an error. */
static int put_job(struct meta_db *db, void *arg)
{
	struct wjob *j = arg;
	struct meta_object o = {
		.key = iov_cstr(j->key),
		.hlc = hlc_now(&j->ctx->clock),
		.region = 1,
		.etag = IOV_LIT("e"),
		.data_file = iov_cstr(j->key),
		.owner = IOV_LIT("owner-1"),
	};
	struct meta_files rep;
	int rc = meta_object_put(db, IOV_LIT("b"), &o, j->ctx->a, &rep);
	if (rc)
		return rc;
	return j->fail ? ERR_INVALID : 0;
}

static void job_done(void *arg, int rc)
{
	struct wjob *j = arg;
	struct wctx *c = j->ctx;
	j->rc = rc;
	j->done_calls++;
	j->seq = atomic_fetch_add(&c->seq, 1);
	pthread_mutex_lock(&c->lock);
	if (!c->done_thread_set) {
		c->done_thread = pthread_self();
		c->done_thread_set = true;
	} else if (!pthread_equal(c->done_thread, pthread_self())) {
		c->done_thread_mixed = true;
	}
	c->completed++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static int gate_job(struct meta_db *db, void *arg)
{
	(void)db;
	struct wctx *c = ((struct wjob *)arg)->ctx;
	pthread_mutex_lock(&c->lock);
	c->gate_running = true;
	pthread_cond_broadcast(&c->cond);
	while (!c->gate_open)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void gate_submit(struct meta_writer *w, struct wctx *c, struct wjob *gate)
{
	memset(gate, 0, sizeof(*gate));
	gate->ctx = c;
	gate->job = (struct meta_job){ .run = gate_job, .done = job_done, .arg = gate };
	assert_int_equal(meta_writer_submit(w, &gate->job), 0);
	pthread_mutex_lock(&c->lock);
	while (!c->gate_running)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

static void gate_open(struct wctx *c)
{
	pthread_mutex_lock(&c->lock);
	c->gate_open = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void job_init(struct wjob *j, struct wctx *c, int index)
{
	memset(j, 0, sizeof(*j));
	j->ctx = c;
	snprintf(j->key, sizeof(j->key), "key-%04d", index);
	j->fail = index == FAIL_INDEX;
	j->job = (struct meta_job){ .run = put_job, .done = job_done, .arg = j };
}

struct submitter {
	struct meta_writer *w;
	struct wjob *jobs;
	int n;
};

static void *submit_all(void *p)
{
	struct submitter *s = p;
	for (int i = 0; i < s->n; i++)
		if (meta_writer_submit(s->w, &s->jobs[i].job) != 0)
			abort();
	return NULL;
}

static void group_commit_from_many_threads(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_UNVERSIONED);
	struct wctx c;
	ctx_init(&c);
	struct meta_writer *w;
	assert_int_equal(meta_writer_new(f->path, NULL, &w), 0);

	struct wjob gate;
	gate_submit(w, &c, &gate);
	struct wjob *jobs = calloc(SUBMITTERS * PER_THREAD, sizeof(*jobs));
	assert_non_null(jobs);
	for (int i = 0; i < SUBMITTERS * PER_THREAD; i++)
		job_init(&jobs[i], &c, i);
	pthread_t t[SUBMITTERS];
	struct submitter s[SUBMITTERS];
	for (int i = 0; i < SUBMITTERS; i++) {
		s[i] = (struct submitter){ w, jobs + i * PER_THREAD, PER_THREAD };
		assert_int_equal(pthread_create(&t[i], NULL, submit_all, &s[i]), 0);
	}
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_join(t[i], NULL);
	gate_open(&c);
	wait_completed(&c, 1 + SUBMITTERS * PER_THREAD);

	/* Each completion ran once, on one thread that is not ours. */
	assert_false(c.done_thread_mixed);
	assert_false(pthread_equal(c.done_thread, pthread_self()));
	assert_int_equal(gate.done_calls, 1);
	assert_int_equal(gate.rc, 0);
	for (int i = 0; i < SUBMITTERS * PER_THREAD; i++) {
		assert_int_equal(jobs[i].done_calls, 1);
		assert_int_equal(jobs[i].rc, i == FAIL_INDEX ? ERR_INVALID : 0);
		/* FIFO per submitter. */
		if (i % PER_THREAD)
			assert_true(jobs[i].seq > jobs[i - 1].seq);
	}
	struct meta_writer_stats st;
	meta_writer_stats(w, &st);
	assert_int_equal(st.jobs, 1 + SUBMITTERS * PER_THREAD);
	assert_int_equal(st.failed, 1);
	/* The gate alone, then 1000 jobs in groups of META_WRITER_GROUP_MAX. */
	uint64_t groups =
	    (SUBMITTERS * PER_THREAD + META_WRITER_GROUP_MAX - 1) / META_WRITER_GROUP_MAX;
	assert_int_equal(st.commits, 1 + groups);
	meta_writer_free(w);

	/* Durable and visible to another connection; the failed job left nothing. */
	for (int i = 0; i < SUBMITTERS * PER_THREAD; i++) {
		struct meta_object g;
		int rc =
		    meta_object_get(f->db, IOV_LIT("b"), iov_cstr(jobs[i].key), IOV_NULL, f->a, &g);
		assert_int_equal(rc, i == FAIL_INDEX ? ERR_META_NO_SUCH_KEY : 0);
	}
	free(jobs);
	ctx_destroy(&c);
}

static void queue_is_bounded(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_UNVERSIONED);
	struct wctx c;
	ctx_init(&c);
	struct meta_writer *w;
	struct meta_writer_opts opts = { .queue_max = 4, .group_max = 2 };
	assert_int_equal(meta_writer_new(f->path, &opts, &w), 0);
	struct wjob gate, jobs[5];
	gate_submit(w, &c, &gate);
	for (int i = 0; i < 5; i++)
		job_init(&jobs[i], &c, i);
	for (int i = 0; i < 4; i++)
		assert_int_equal(meta_writer_submit(w, &jobs[i].job), 0);
	assert_int_equal(meta_writer_submit(w, &jobs[4].job), ERR_META_BUSY);
	assert_int_equal(err_http_status(ERR_META_BUSY), 503);
	gate_open(&c);
	wait_completed(&c, 5);
	struct meta_writer_stats st;
	meta_writer_stats(w, &st);
	assert_int_equal(st.commits, 1 + 2); /* groups of two */
	/* Room again. */
	assert_int_equal(meta_writer_submit(w, &jobs[4].job), 0);
	wait_completed(&c, 6);
	assert_int_equal(jobs[4].rc, 0);
	meta_writer_free(w);
	ctx_destroy(&c);
}

static void shutdown_drains_the_queue(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_UNVERSIONED);
	struct wctx c;
	ctx_init(&c);
	struct meta_writer *w;
	assert_int_equal(meta_writer_new(f->path, NULL, &w), 0);
	struct wjob jobs[60];
	for (int i = 0; i < 60; i++) {
		job_init(&jobs[i], &c, i);
		assert_int_equal(meta_writer_submit(w, &jobs[i].job), 0);
	}
	meta_writer_shutdown(w);
	assert_int_equal(c.completed, 60);
	for (int i = 0; i < 60; i++)
		assert_int_equal(jobs[i].rc, 0);
	struct wjob late;
	job_init(&late, &c, 99);
	assert_int_equal(meta_writer_submit(w, &late.job), ERR_META_CLOSED);
	meta_writer_shutdown(w); /* idempotent */
	meta_writer_free(w);
	meta_writer_free(NULL);
	struct meta_list l;
	struct meta_list_args args = { .max = 1000 };
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 60);
	ctx_destroy(&c);
}

/* ---- readers ------------------------------------------------------------------------- */

struct rjob {
	struct meta_job job;
	struct wctx *ctx;
	struct arena *a;
	char key[32];
	bool write;
	int rc;
	struct meta_object o;
};

static int get_job(struct meta_db *db, void *arg)
{
	struct rjob *j = arg;
	if (j->write) {
		struct meta_files rep;
		j->o = (struct meta_object){ .key = IOV_LIT("w"),
			                     .hlc = 5,
			                     .data_file = IOV_LIT("f"),
			                     .owner = IOV_LIT("o") };
		return meta_object_put(db, IOV_LIT("b"), &j->o, j->a, &rep);
	}
	return meta_object_get(db, IOV_LIT("b"), iov_cstr(j->key), IOV_NULL, j->a, &j->o);
}

static void get_done(void *arg, int rc)
{
	struct rjob *j = arg;
	j->rc = rc;
	pthread_mutex_lock(&j->ctx->lock);
	j->ctx->completed++;
	pthread_cond_broadcast(&j->ctx->cond);
	pthread_mutex_unlock(&j->ctx->lock);
}

static void readers_serve_gets(void **state)
{
	struct mfx *f = *state;
	char other[160];
	snprintf(other, sizeof(other), "%s/empty.db", f->dir);
	struct meta_reader *r;
	assert_true(meta_reader_new(other, NULL, &r) < 0);

	mfx_bucket(f, "b", META_UNVERSIONED);
	mfx_begin(f);
	for (int i = 0; i < 100; i++) {
		char key[32], file[32];
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(file, sizeof(file), "file-%d", i);
		struct meta_object o;
		mfx_put_ok(f, "b", key, file, &o);
	}
	mfx_commit(f);

	struct meta_reader_opts opts = { .threads = 3 };
	assert_int_equal(meta_reader_new(f->path, &opts, &r), 0);
	struct wctx c;
	ctx_init(&c);
	struct rjob jobs[101];
	for (int i = 0; i < 101; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].ctx = &c;
		jobs[i].a = arena_new(1 << 20);
		jobs[i].write = i == 100;
		snprintf(jobs[i].key, sizeof(jobs[i].key), "key-%d", i);
		jobs[i].job =
		    (struct meta_job){ .run = get_job, .done = get_done, .arg = &jobs[i] };
		assert_int_equal(meta_reader_submit(r, &jobs[i].job), 0);
	}
	wait_completed(&c, 101);
	for (int i = 0; i < 100; i++) {
		char file[32];
		snprintf(file, sizeof(file), "file-%d", i);
		assert_int_equal(jobs[i].rc, 0);
		assert_true(iov_eq(jobs[i].o.data_file, iov_cstr(file)));
	}
	assert_true(jobs[100].rc < 0); /* query-only connection */
	meta_reader_shutdown(r);
	assert_int_equal(meta_reader_submit(r, &jobs[0].job), ERR_META_CLOSED);
	meta_reader_free(r);
	for (int i = 0; i < 101; i++)
		arena_free(jobs[i].a);
	ctx_destroy(&c);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, mfx_setup, mfx_teardown)
	const struct CMUnitTest tests[] = {
		T(group_commit_from_many_threads),
		T(queue_is_bounded),
		T(shutdown_drains_the_queue),
		T(readers_serve_gets),
	};
	return cmocka_run_group_tests_name("test_meta_writer", tests, NULL, NULL);
}
