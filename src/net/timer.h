/*
 * One-shot and repeating timers on a loop. Loop thread only. A timer is
 * freed with net_timer_free, which takes effect after the loop has closed
 * it (the callback never runs after free).
 */
#ifndef MERIDIAN_NET_TIMER_H
#define MERIDIAN_NET_TIMER_H

#include <stdint.h>

#include "net/loop.h"

struct net_timer;

int net_timer_new(struct net_loop *l, void (*cb)(void *arg), void *arg, struct net_timer **out);
/* (Re)arm: fire after `ms`, then every `repeat_ms` if non-zero. */
void net_timer_start(struct net_timer *t, uint64_t ms, uint64_t repeat_ms);
void net_timer_stop(struct net_timer *t);

/*
 * Lazy deadlines, for timeouts that move on every request or read: the
 * callback runs once `ms` have passed since the last net_timer_deadline with
 * no net_timer_clear since. Moving a deadline later costs no timer
 * operation (the armed timer fires early and re-arms for the rest), so
 * per-request timeouts are nearly free. Do not mix with net_timer_start on
 * the same timer.
 */
void net_timer_deadline(struct net_timer *t, uint64_t ms);
void net_timer_clear(struct net_timer *t);
void net_timer_free(struct net_timer *t);

#endif
