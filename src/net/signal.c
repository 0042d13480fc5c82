/* Signals through libuv. Loop thread only. */
#include "net/signal.h"

#include <stdlib.h>

#include "base/err.h"
#include "net/net-int.h"

struct net_signal {
	uv_signal_t uv;
	void (*cb)(void *arg, int signum);
	void *arg;
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct net_signal *s = h->data;
	s->cb(s->arg, signum);
}

int net_signal_watch(struct net_loop *l, int signum, void (*cb)(void *arg, int signum), void *arg,
                     struct net_signal **out)
{
	struct net_signal *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	uv_signal_init(&l->uv, &s->uv);
	s->uv.data = s;
	s->cb = cb;
	s->arg = arg;
	int rc = uv_signal_start(&s->uv, on_signal, signum);
	if (rc) {
		net_signal_close(s);
		return net__err(rc);
	}
	*out = s;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void net_signal_close(struct net_signal *s)
{
	if (s)
		uv_close((uv_handle_t *)&s->uv, on_closed);
}
