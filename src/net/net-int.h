/*
 * Internal to net/: the libuv types behind the opaque net structs. Nothing
 * outside net/ includes this file.
 */
#ifndef MERIDIAN_NET_NET_INT_H
#define MERIDIAN_NET_NET_INT_H

#include <pthread.h>
#include <uv.h>

#include "net/loop.h"

struct net_post {
	void (*fn)(void *arg);
	void *arg;
	struct net_post *next;
};

/* A callback to run soon on the loop thread (deferred completions). */
struct net_deferred {
	void (*fn)(void *arg, int status);
	void *arg;
	int status;
	const void *owner; /* e.g. the connection, so its close can run them first */
	struct net_deferred *next;
};

struct net_loop {
	unsigned magic;
	unsigned id;
	uv_loop_t uv;
	uv_async_t wake;
	uv_idle_t idle; /* runs deferred callbacks; active only while there are some */
	struct net_deferred *deferred, *deferred_tail;
	struct net_deferred *spare; /* recycled nodes (DEFER_SPARE_MAX at most) */
	unsigned nspare;
	pthread_mutex_t lock;
	struct net_post *posts; /* under lock */
	int stopping;           /* under lock */
	struct net_work *work;  /* pool items whose done has not run (work.c) */
};

#define NET_LOOP_MAGIC 0x4c4f4f50u

#include <stdbool.h>
#include <stdint.h>

#include "net/conn.h"

#define NET_CONN_MAGIC 0x434f4e4eu

/* A connection: the transport's own state follows the common part. */
struct net_conn {
	unsigned magic;
	const struct net_transport *tp;
	struct net_loop *loop;
	const struct net_conn_events *ev;
	void *arg;
	uv_tcp_t tcp; /* tcp transport */
	/* mem transport */
	char *mem_in;
	size_t mem_in_len;
	uint64_t mem_out;
	bool mem_eof, mem_eof_sent, mem_released, mem_close_done;
	bool closing;
	bool reading;
	struct net_sendfile *sf; /* tcp: file body state, created on first use */
};

/* libuv status -> ERR_* */
int net__err(int uv_status);

/* Run fn(arg, status) on the loop thread in a coming iteration, without
 * touching epoll. 0 or ERR_NOMEM. */
int net__defer(struct net_loop *l, const void *owner, void (*fn)(void *arg, int status), void *arg,
               int status);
/* Run now, in order, every deferred callback of `owner` (before it closes). */
void net__defer_flush(struct net_loop *l, const void *owner);

/* TCP file bodies (sendfile.c). */
int net__tcp_sendfile(struct net_conn *c, const struct iov *prefix, size_t np, int fd, uint64_t off,
                      uint64_t len, void (*done)(void *arg, int status), void *arg);
/* A file is going out: writes must be held behind it. */
bool net__sendfile_busy(const struct net_conn *c);
uint64_t net__sendfile_queued(const struct net_conn *c);
int net__sendfile_hold(struct net_conn *c, const struct iov *bufs, size_t n,
                       void (*done)(void *arg, int status), void *arg);
/* From the transport's close: fail what is pending; then, from its close
 * callback, drop the connection's reference. */
void net__sendfile_close(struct net_conn *c);
void net__sendfile_release(struct net_conn *c);
/* Cancel the loop's pool items that have not started (net_loop_free). */
void net__work_cancel_all(struct net_loop *l);

#endif
