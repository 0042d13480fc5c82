/*
 * Event loops: one per thread, each owned by net/ (the only module that
 * includes <uv.h>). A loop runs on the thread that calls net_loop_run; every
 * other net_loop_* function must be called on that thread too, except
 * net_loop_post and net_loop_stop, which any thread may call.
 */
#ifndef MERIDIAN_NET_LOOP_H
#define MERIDIAN_NET_LOOP_H

#include <stdint.h>

struct net_loop;

/* 0 or ERR_NOMEM/ERR_IO. */
int net_loop_new(struct net_loop **out);
/* Free a loop that is no longer running; closes what is still open on it. */
void net_loop_free(struct net_loop *l);
/* Run until net_loop_stop. 0 or ERR_IO. */
int net_loop_run(struct net_loop *l);
/* Make net_loop_run return soon (any thread). */
void net_loop_stop(struct net_loop *l);
/* Run fn(arg) on the loop's thread, soon (any thread). 0 or ERR_NOMEM. */
int net_loop_post(struct net_loop *l, void (*fn)(void *arg), void *arg);
/* The loop's cached clock, milliseconds (monotonic). */
uint64_t net_loop_now(const struct net_loop *l);
/* An id given at creation, for logs and request ids. */
unsigned net_loop_id(const struct net_loop *l);

#endif
