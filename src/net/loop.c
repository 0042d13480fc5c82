/* Event loops on libuv. See loop.h for which thread may call what. */
#include "net/loop.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/err.h"
#include "net/net-int.h"

static atomic_uint next_loop_id;

int net__err(int s)
{
	switch (s) {
	case 0:
		return 0;
	case UV_ECONNREFUSED:
		return ERR_NET_REFUSED;
	case UV_ETIMEDOUT:
		return ERR_NET_TIMEOUT;
	case UV_ECONNRESET:
	case UV_EPIPE:
		return ERR_NET_RESET;
	case UV_EOF:
		return ERR_NET_CLOSED;
	case UV_ENOMEM:
	case UV_ENOBUFS:
		return ERR_NOMEM;
	case UV_EINVAL:
		return ERR_INVALID;
	default:
		return ERR_IO;
	}
}

/* Drain posted work and honour a stop request; runs on the loop thread. */
static void on_wake(uv_async_t *a)
{
	struct net_loop *l = a->data;
	pthread_mutex_lock(&l->lock);
	struct net_post *list = l->posts;
	int stop = l->stopping;
	l->posts = NULL;
	pthread_mutex_unlock(&l->lock);

	/* Run in posting order. */
	struct net_post *rev = NULL;
	while (list) {
		struct net_post *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct net_post *next = rev->next;
		rev->fn(rev->arg);
		free(rev);
		rev = next;
	}
	if (stop)
		uv_stop(&l->uv);
}

/* Deferred nodes are recycled: a write completion per response would
 * otherwise cost a malloc and a free. */
#define DEFER_SPARE_MAX 1024

static void node_put(struct net_loop *l, struct net_deferred *d)
{
	if (l->nspare >= DEFER_SPARE_MAX) {
		free(d);
		return;
	}
	d->next = l->spare;
	l->spare = d;
	l->nspare++;
}

static void on_idle(uv_idle_t *h)
{
	struct net_loop *l = h->data;
	/* Take the list: callbacks may defer more, which run next time. */
	struct net_deferred *d = l->deferred;
	l->deferred = l->deferred_tail = NULL;
	uv_idle_stop(&l->idle);
	while (d) {
		struct net_deferred *next = d->next;
		d->fn(d->arg, d->status);
		node_put(l, d);
		d = next;
	}
}

int net__defer(struct net_loop *l, const void *owner, void (*fn)(void *arg, int status), void *arg,
               int status)
{
	struct net_deferred *d = l->spare;
	if (d) {
		l->spare = d->next;
		l->nspare--;
	} else if (!(d = malloc(sizeof(*d)))) {
		return ERR_NOMEM;
	}
	*d = (struct net_deferred){ fn, arg, status, owner, NULL };
	if (l->deferred_tail)
		l->deferred_tail->next = d;
	else
		l->deferred = d;
	l->deferred_tail = d;
	if (!uv_is_active((uv_handle_t *)&l->idle))
		uv_idle_start(&l->idle, on_idle);
	return 0;
}

void net__defer_flush(struct net_loop *l, const void *owner)
{
	struct net_deferred **pp = &l->deferred, *mine = NULL, **tail = &mine;
	l->deferred_tail = NULL;
	while (*pp) {
		struct net_deferred *d = *pp;
		if (d->owner == owner) {
			*pp = d->next;
			d->next = NULL;
			*tail = d;
			tail = &d->next;
		} else {
			l->deferred_tail = d;
			pp = &d->next;
		}
	}
	while (mine) {
		struct net_deferred *next = mine->next;
		mine->fn(mine->arg, mine->status);
		node_put(l, mine);
		mine = next;
	}
}

int net_loop_new(struct net_loop **out)
{
	struct net_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return ERR_NOMEM;
	int rc = uv_loop_init(&l->uv);
	if (rc == 0) {
		rc = uv_async_init(&l->uv, &l->wake, on_wake);
		if (rc)
			uv_loop_close(&l->uv);
	}
	if (rc) {
		free(l);
		return net__err(rc);
	}
	l->wake.data = l;
	uv_idle_init(&l->uv, &l->idle);
	l->idle.data = l;
	l->magic = NET_LOOP_MAGIC;
	l->id = atomic_fetch_add(&next_loop_id, 1);
	l->uv.data = l;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void count_closing(uv_handle_t *h, void *arg)
{
	if (uv_is_closing(h))
		++*(unsigned *)arg;
}

#define CLOSE_ROUNDS_MAX 64

/* Let closes already under way finish: their callbacks free their owners,
 * which close the handles they own themselves (a connection's timers); the
 * sweep must not close those first. */
static void finish_closing(struct net_loop *l)
{
	for (int i = 0; i < CLOSE_ROUNDS_MAX; i++) {
		unsigned n = 0;
		uv_walk(&l->uv, count_closing, &n);
		if (n == 0)
			return;
		uv_run(&l->uv, UV_RUN_NOWAIT);
		while (l->deferred)
			on_idle(&l->idle);
	}
}

void net_loop_free(struct net_loop *l)
{
	if (!l)
		return;
	CHECK_MAGIC(l, NET_LOOP_MAGIC);
	/* Pool items not yet started complete as cancelled; the running ones
	 * keep the loop alive until they finish, in the last uv_run below. */
	net__work_cancel_all(l);
	/* Run what is deferred, close whatever is left, let close callbacks run. */
	while (l->deferred)
		on_idle(&l->idle);
	finish_closing(l);
	uv_walk(&l->uv, close_any, NULL);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	while (l->deferred)
		on_idle(&l->idle);
	CHECK(uv_loop_close(&l->uv) == 0);
	struct net_post *p = l->posts;
	while (p) {
		struct net_post *next = p->next;
		free(p);
		p = next;
	}
	while (l->spare) {
		struct net_deferred *next = l->spare->next;
		free(l->spare);
		l->spare = next;
	}
	pthread_mutex_destroy(&l->lock);
	l->magic = 0;
	free(l);
}

int net_loop_run(struct net_loop *l)
{
	CHECK_MAGIC(l, NET_LOOP_MAGIC);
	pthread_mutex_lock(&l->lock);
	l->stopping = 0;
	pthread_mutex_unlock(&l->lock);
	uv_run(&l->uv, UV_RUN_DEFAULT);
	return 0;
}

void net_loop_stop(struct net_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_mutex_unlock(&l->lock);
	uv_async_send(&l->wake);
}

int net_loop_post(struct net_loop *l, void (*fn)(void *arg), void *arg)
{
	struct net_post *p = malloc(sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&l->lock);
	p->next = l->posts;
	l->posts = p;
	pthread_mutex_unlock(&l->lock);
	uv_async_send(&l->wake);
	return 0;
}

uint64_t net_loop_now(const struct net_loop *l)
{
	return uv_now(&l->uv);
}

unsigned net_loop_id(const struct net_loop *l)
{
	return l->id;
}
