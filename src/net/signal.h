/*
 * Signal watchers on a loop (the controlling thread's): cb runs on that
 * loop's thread, never in signal context. Loop thread only.
 */
#ifndef MERIDIAN_NET_SIGNAL_H
#define MERIDIAN_NET_SIGNAL_H

#include "net/loop.h"

struct net_signal;

int net_signal_watch(struct net_loop *l, int signum, void (*cb)(void *arg, int signum), void *arg,
                     struct net_signal **out);
void net_signal_close(struct net_signal *s);

#endif
