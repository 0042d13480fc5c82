/* Work items on libuv's thread pool. Submit on the loop thread; see work.h. */
#include "net/work.h"

#include <stdlib.h>

#include "base/check.h"
#include "base/err.h"
#include "net/net-int.h"

#define NET_WORK_MAGIC 0x574f524bu

struct net_work {
	unsigned magic;
	uv_work_t uv;
	struct net_loop *loop;
	void (*work)(void *arg);
	void (*done)(void *arg, int status);
	void *arg;
	struct net_work *prev, *next; /* the loop's items in flight */
};

static void on_work(uv_work_t *req)
{
	struct net_work *w = req->data;
	w->work(w->arg);
}

static void on_done(uv_work_t *req, int status)
{
	struct net_work *w = req->data;
	CHECK_MAGIC(w, NET_WORK_MAGIC);
	struct net_loop *l = w->loop;
	if (w->prev)
		w->prev->next = w->next;
	else
		l->work = w->next;
	if (w->next)
		w->next->prev = w->prev;
	void (*done)(void *, int) = w->done;
	void *arg = w->arg;
	w->magic = 0;
	free(w);
	done(arg, status == UV_ECANCELED ? ERR_NET_CANCELED : net__err(status));
}

int net_work_submit(struct net_loop *l, void (*work)(void *arg),
                    void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(l, NET_LOOP_MAGIC);
	CHECK(work != NULL && done != NULL);
	struct net_work *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	w->magic = NET_WORK_MAGIC;
	w->uv.data = w;
	w->loop = l;
	w->work = work;
	w->done = done;
	w->arg = arg;
	/* uv_queue_work fails only for a NULL work callback. */
	CHECK(uv_queue_work(&l->uv, &w->uv, on_work, on_done) == 0);
	w->next = l->work;
	if (l->work)
		l->work->prev = w;
	l->work = w;
	return 0;
}

void net__work_cancel_all(struct net_loop *l)
{
	/* Items already running answer UV_EBUSY and complete normally. */
	for (struct net_work *w = l->work; w; w = w->next)
		uv_cancel((uv_req_t *)&w->uv);
}
