/* The in-memory transport (see mem.h). Loop thread only. */
#include "net/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "net/net-int.h"

#define MEM_HOLD_MAX (1u << 20)

static void deliver(struct net_conn *c)
{
	while (c->reading && !c->closing && c->mem_in_len) {
		/* Hand over in read-sized pieces, as a socket would. */
		size_t n = c->mem_in_len < 65536 ? c->mem_in_len : 65536;
		char piece[65536];
		memcpy(piece, c->mem_in, n);
		memmove(c->mem_in, c->mem_in + n, c->mem_in_len - n);
		c->mem_in_len -= n;
		c->ev->on_read(c->arg, piece, n);
	}
	if (c->reading && !c->closing && c->mem_eof && !c->mem_eof_sent && !c->mem_in_len) {
		c->mem_eof_sent = true;
		c->reading = false;
		c->ev->on_end(c->arg, 0);
	}
}

static void deliver_later(void *arg, int status)
{
	(void)status;
	deliver(arg);
}

static int mem_read_start(struct net_conn *c)
{
	if (c->closing)
		return 0;
	c->reading = true;
	/* Like a socket, data arrives from the loop, not inside read_start. */
	return net__defer(c->loop, c, deliver_later, c, 0);
}

static void mem_read_stop(struct net_conn *c)
{
	c->reading = false;
}

static int mem_write(struct net_conn *c, const struct iov *bufs, size_t n,
                     void (*done)(void *arg, int status), void *arg)
{
	if (c->closing)
		return ERR_NET_CLOSED;
	for (size_t i = 0; i < n; i++)
		c->mem_out += bufs[i].len;
	return net__defer(c->loop, c, done, arg, 0);
}

static void mem_shutdown(struct net_conn *c)
{
	(void)c;
}

static void mem_close(struct net_conn *c);

static void mem_free(struct net_conn *c)
{
	free(c->mem_in);
	c->magic = 0;
	free(c);
}

static void mem_closed(void *arg, int status)
{
	struct net_conn *c = arg;
	(void)status;
	if (c->ev && c->ev->on_close)
		c->ev->on_close(c->arg);
	c->mem_close_done = true;
	if (c->mem_released)
		mem_free(c);
}

void net_mem_release(struct net_conn *c)
{
	c->mem_released = true;
	if (c->mem_close_done)
		mem_free(c);
	else if (!c->closing)
		mem_close(c);
}

bool net_mem_closed(const struct net_conn *c)
{
	return c->closing;
}

static void mem_close(struct net_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->reading = false;
	net__defer_flush(c->loop, c);
	/* Owner NULL: not flushed by anything, runs after this iteration's work. */
	if (net__defer(c->loop, NULL, mem_closed, c, 0))
		mem_closed(c, 0);
}

static size_t mem_write_queue(const struct net_conn *c)
{
	(void)c;
	return 0;
}

static void mem_peer(const struct net_conn *c, char *out, size_t cap)
{
	(void)c;
	snprintf(out, cap, "memory");
}

static const struct net_transport mem_transport = {
	.name = "mem",
	.read_start = mem_read_start,
	.read_stop = mem_read_stop,
	.write = mem_write,
	.shutdown = mem_shutdown,
	.close = mem_close,
	.write_queue = mem_write_queue,
	.peer = mem_peer,
};

struct net_conn *net_mem_new(struct net_loop *l)
{
	struct net_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->magic = NET_CONN_MAGIC;
	c->tp = &mem_transport;
	c->loop = l;
	return c;
}

void net_mem_feed(struct net_conn *c, const char *p, size_t n)
{
	if (c->closing || c->mem_in_len + n > MEM_HOLD_MAX)
		return;
	char *grown = realloc(c->mem_in, c->mem_in_len + n + 1);
	if (!grown)
		return;
	c->mem_in = grown;
	memcpy(c->mem_in + c->mem_in_len, p, n);
	c->mem_in_len += n;
	deliver(c);
}

void net_mem_eof(struct net_conn *c)
{
	c->mem_eof = true;
	deliver(c);
}

uint64_t net_mem_written(const struct net_conn *c)
{
	return c->mem_out;
}

void net_mem_settle(struct net_loop *l)
{
	for (int i = 0; i < 64 && l->deferred; i++)
		uv_run(&l->uv, UV_RUN_NOWAIT);
}
