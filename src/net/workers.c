/* Worker threads with one loop each. Controlling thread, except the thread bodies. */
#include "net/workers.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "crypto/p256.h"

struct worker {
	struct net_workers *pool;
	unsigned index;
	struct net_loop *loop;
	pthread_t thread;
	int setup_rc;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	int started;
};

struct net_workers {
	unsigned n;
	int (*setup)(void *arg, struct net_loop *l, unsigned index);
	void (*teardown)(void *arg, struct net_loop *l, unsigned index);
	void *arg;
	struct worker *w;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct net_workers *pool = w->pool;
	int rc = pool->setup(pool->arg, w->loop, w->index);
	pthread_mutex_lock(&w->lock);
	w->setup_rc = rc;
	w->started = 1;
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->lock);
	if (rc == 0)
		net_loop_run(w->loop);
	if (pool->teardown)
		pool->teardown(pool->arg, w->loop, w->index);
	net_loop_free(w->loop);
	w->loop = NULL;
	p256_thread_cleanup();
	return NULL;
}

int net_workers_start(unsigned n, int (*setup)(void *arg, struct net_loop *l, unsigned index),
                      void (*teardown)(void *arg, struct net_loop *l, unsigned index), void *arg,
                      struct net_workers **out)
{
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	struct net_workers *pool = calloc(1, sizeof(*pool));
	if (!pool || !(pool->w = calloc(n, sizeof(pool->w[0])))) {
		free(pool);
		return ERR_NOMEM;
	}
	pool->setup = setup;
	pool->teardown = teardown;
	pool->arg = arg;
	int rc = 0;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		struct worker *w = &pool->w[i];
		w->pool = pool;
		w->index = i;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->ready, NULL);
		rc = net_loop_new(&w->loop);
		if (rc)
			break;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			net_loop_free(w->loop);
			w->loop = NULL;
			rc = ERR_IO;
			break;
		}
		pool->n = i + 1;
		/* One at a time, so worker 0 has bound a port 0 listener before the rest. */
		pthread_mutex_lock(&w->lock);
		while (!w->started)
			pthread_cond_wait(&w->ready, &w->lock);
		rc = w->setup_rc;
		pthread_mutex_unlock(&w->lock);
	}
	if (rc) {
		net_workers_stop(pool);
		return rc;
	}
	*out = pool;
	return 0;
}

unsigned net_workers_count(const struct net_workers *w)
{
	return w->n;
}

struct post_all {
	void (*fn)(void *arg, struct net_loop *l, unsigned index);
	void *arg;
	struct worker *w;
};

static void run_post(void *p)
{
	struct post_all *pa = p;
	pa->fn(pa->arg, pa->w->loop, pa->w->index);
	free(pa);
}

int net_workers_post_all(struct net_workers *pool,
                         void (*fn)(void *arg, struct net_loop *l, unsigned index), void *arg)
{
	for (unsigned i = 0; i < pool->n; i++) {
		struct post_all *pa = malloc(sizeof(*pa));
		if (!pa)
			return ERR_NOMEM;
		*pa = (struct post_all){ fn, arg, &pool->w[i] };
		if (!pool->w[i].loop || net_loop_post(pool->w[i].loop, run_post, pa)) {
			free(pa);
			return ERR_NOMEM;
		}
	}
	return 0;
}

void net_workers_stop(struct net_workers *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->n; i++)
		if (pool->w[i].loop && pool->w[i].setup_rc == 0)
			net_loop_stop(pool->w[i].loop);
	for (unsigned i = 0; i < pool->n; i++) {
		pthread_join(pool->w[i].thread, NULL);
		pthread_mutex_destroy(&pool->w[i].lock);
		pthread_cond_destroy(&pool->w[i].ready);
	}
	free(pool->w);
	free(pool);
}
