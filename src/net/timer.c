/* Timers on libuv. Loop thread only. */
#include "net/timer.h"

#include <stdbool.h>
#include <stdlib.h>

#include "base/err.h"
#include "net/net-int.h"

struct net_timer {
	uv_timer_t uv;
	void (*cb)(void *arg);
	void *arg;
	bool lazy;
	uint64_t due;       /* lazy: when the deadline passes; 0 = none */
	uint64_t armed_due; /* lazy: when the armed uv timer fires; 0 = not armed */
};

static void on_timer(uv_timer_t *h)
{
	struct net_timer *t = h->data;
	if (t->lazy) {
		t->armed_due = 0;
		if (t->due == 0)
			return;
		uint64_t now = uv_now(h->loop);
		if (now < t->due) {
			t->armed_due = t->due;
			uv_timer_start(&t->uv, on_timer, t->due - now, 0);
			return;
		}
		t->due = 0;
	}
	t->cb(t->arg);
}

void net_timer_deadline(struct net_timer *t, uint64_t ms)
{
	t->lazy = true;
	t->due = uv_now(t->uv.loop) + ms;
	if (t->armed_due == 0 || t->due < t->armed_due) {
		t->armed_due = t->due;
		uv_timer_start(&t->uv, on_timer, ms, 0);
	}
}

void net_timer_clear(struct net_timer *t)
{
	t->due = 0;
}

int net_timer_new(struct net_loop *l, void (*cb)(void *arg), void *arg, struct net_timer **out)
{
	struct net_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	uv_timer_init(&l->uv, &t->uv);
	t->uv.data = t;
	t->cb = cb;
	t->arg = arg;
	*out = t;
	return 0;
}

void net_timer_start(struct net_timer *t, uint64_t ms, uint64_t repeat_ms)
{
	uv_timer_start(&t->uv, on_timer, ms, repeat_ms);
}

void net_timer_stop(struct net_timer *t)
{
	uv_timer_stop(&t->uv);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void net_timer_free(struct net_timer *t)
{
	if (!t)
		return;
	uv_timer_stop(&t->uv);
	uv_close((uv_handle_t *)&t->uv, on_closed);
}
