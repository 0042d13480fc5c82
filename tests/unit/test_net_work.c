/*
 * The work pool: work runs on a pool thread, done on the loop thread after
 * it, exactly once per item, in whatever order items finish; done may queue
 * more; net_loop_free cancels what has not started and waits for what has.
 * The pool is sized to 2 with UV_THREADPOOL_SIZE, the way the store sets it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/err.h"
#include "net/loop.h"
#include "net/work.h"

#define POOL_THREADS 2
#define POOL_SIZE    "2"
#define ITEMS        500

struct item {
	pthread_t loop_thread, work_thread;
	atomic_int worked;
	int done_calls, status;
	bool done_on_loop, work_off_loop, worked_before_done;
	unsigned done_rank;
};

struct batch {
	struct net_loop *loop;
	struct item items[ITEMS];
	unsigned done;
};

static struct batch *current;

static void work_fn(void *arg)
{
	struct item *it = arg;
	it->work_thread = pthread_self();
	/* Uneven durations so completions interleave. */
	volatile unsigned spin = 0;
	for (unsigned i = 0; i < (unsigned)((it - current->items) % 7) * 2000; i++)
		spin++;
	atomic_fetch_add(&it->worked, 1);
}

static void done_fn(void *arg, int status)
{
	struct item *it = arg;
	it->done_calls++;
	it->status = status;
	it->done_on_loop = pthread_equal(pthread_self(), it->loop_thread);
	it->work_off_loop = !pthread_equal(it->work_thread, it->loop_thread);
	it->worked_before_done = atomic_load(&it->worked) == 1;
	it->done_rank = current->done++;
	if (current->done == ITEMS)
		net_loop_stop(current->loop);
}

static void many_items(void **state)
{
	(void)state;
	struct batch *b = calloc(1, sizeof(*b));
	current = b;
	assert_int_equal(net_loop_new(&b->loop), 0);
	for (unsigned i = 0; i < ITEMS; i++) {
		b->items[i].loop_thread = pthread_self();
		assert_int_equal(net_work_submit(b->loop, work_fn, done_fn, &b->items[i]), 0);
	}
	assert_int_equal(net_loop_run(b->loop), 0);
	net_loop_free(b->loop);

	bool *rank_seen = calloc(ITEMS, sizeof(bool));
	for (unsigned i = 0; i < ITEMS; i++) {
		struct item *it = &b->items[i];
		assert_int_equal(it->done_calls, 1);
		assert_int_equal(it->status, 0);
		assert_int_equal(atomic_load(&it->worked), 1);
		assert_true(it->done_on_loop);
		assert_true(it->work_off_loop);
		assert_true(it->worked_before_done);
		assert_false(rank_seen[it->done_rank]);
		rank_seen[it->done_rank] = true;
	}
	free(rank_seen);
	free(b);
}

/* done queues the next step until a chain of CHAIN steps has run. */
#define CHAIN 20

struct chain {
	struct net_loop *loop;
	unsigned steps;
	atomic_uint worked;
};

static void chain_work(void *arg)
{
	struct chain *c = arg;
	atomic_fetch_add(&c->worked, 1);
}

static void chain_done(void *arg, int status)
{
	struct chain *c = arg;
	assert_int_equal(status, 0);
	if (++c->steps == CHAIN)
		net_loop_stop(c->loop);
	else
		assert_int_equal(net_work_submit(c->loop, chain_work, chain_done, c), 0);
}

static void submit_from_done(void **state)
{
	(void)state;
	struct chain c = { 0 };
	assert_int_equal(net_loop_new(&c.loop), 0);
	assert_int_equal(net_work_submit(c.loop, chain_work, chain_done, &c), 0);
	assert_int_equal(net_loop_run(c.loop), 0);
	net_loop_free(c.loop);
	assert_int_equal(c.steps, CHAIN);
	assert_int_equal(atomic_load(&c.worked), CHAIN);
}

/*
 * Cancellation: POOL_SIZE blockers occupy every pool thread, so the queued
 * items cannot start; net_loop_free cancels them, and the first cancelled
 * done (on this thread, inside net_loop_free) lets the blockers finish.
 */
#define QUEUED 30

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started;
	bool open;
};

static struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };

struct citem {
	bool blocker;
	atomic_int worked;
	int done_calls, status;
};

static void blocker_work(void *arg)
{
	struct citem *it = arg;
	pthread_mutex_lock(&gate.lock);
	gate.started++;
	pthread_cond_broadcast(&gate.cond);
	/* Give up after a while, so that a broken cancel fails the test
	 * instead of hanging it. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	int rc = 0;
	while (!gate.open && rc == 0)
		rc = pthread_cond_timedwait(&gate.cond, &gate.lock, &until);
	pthread_mutex_unlock(&gate.lock);
	atomic_fetch_add(&it->worked, 1);
}

static void queued_work(void *arg)
{
	struct citem *it = arg;
	atomic_fetch_add(&it->worked, 1);
}

static void cancel_done(void *arg, int status)
{
	struct citem *it = arg;
	it->done_calls++;
	it->status = status;
	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static void free_cancels_unstarted(void **state)
{
	(void)state;
	int pool = POOL_THREADS;
	struct citem *items = calloc((size_t)pool + QUEUED, sizeof(*items));
	struct net_loop *l;
	assert_int_equal(net_loop_new(&l), 0);
	for (int i = 0; i < pool; i++) {
		items[i].blocker = true;
		assert_int_equal(net_work_submit(l, blocker_work, cancel_done, &items[i]), 0);
	}
	pthread_mutex_lock(&gate.lock);
	while (gate.started < pool)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	for (int i = pool; i < pool + QUEUED; i++)
		assert_int_equal(net_work_submit(l, queued_work, cancel_done, &items[i]), 0);

	net_loop_free(l);
	for (int i = 0; i < pool + QUEUED; i++) {
		assert_int_equal(items[i].done_calls, 1);
		if (items[i].blocker) {
			assert_int_equal(items[i].status, 0);
			assert_int_equal(atomic_load(&items[i].worked), 1);
		} else {
			assert_int_equal(items[i].status, ERR_NET_CANCELED);
			assert_int_equal(atomic_load(&items[i].worked), 0);
		}
	}
	free(items);
}

int main(void)
{
	/* Before the first item of the process, as the store does. */
	setenv("UV_THREADPOOL_SIZE", POOL_SIZE, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(many_items),
		cmocka_unit_test(submit_from_done),
		cmocka_unit_test(free_cancels_unstarted),
	};
	return cmocka_run_group_tests_name("test_net_work", tests, NULL, NULL);
}
