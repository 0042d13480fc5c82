/*
 * A pool of worker threads, each running its own loop. setup runs on each
 * worker's thread before its loop starts (create listeners, timers there).
 * The functions here are called from the controlling thread.
 */
#ifndef MERIDIAN_NET_WORKERS_H
#define MERIDIAN_NET_WORKERS_H

#include "net/loop.h"

struct net_workers;

/* `n` workers (0: one per online CPU). setup(arg, loop, index) returns 0 or
 * an error; an error stops the start. teardown runs on the worker thread
 * after its loop stops, before the loop is freed. */
int net_workers_start(unsigned n, int (*setup)(void *arg, struct net_loop *l, unsigned index),
                      void (*teardown)(void *arg, struct net_loop *l, unsigned index), void *arg,
                      struct net_workers **out);
unsigned net_workers_count(const struct net_workers *w);
/* Run fn(arg, loop, index) on every worker's thread (posted). */
int net_workers_post_all(struct net_workers *w,
                         void (*fn)(void *arg, struct net_loop *l, unsigned index), void *arg);
/* Stop every loop, join the threads, free. */
void net_workers_stop(struct net_workers *w);

#endif
