/*
 * An in-memory transport: a connection with no socket, fed by the caller and
 * writing into a counter. For driving the HTTP server from a fuzzer or a
 * unit test through the same transport ops table as TCP. Loop thread only.
 */
#ifndef MERIDIAN_NET_MEM_H
#define MERIDIAN_NET_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

/* A new in-memory connection on `l`. NULL on allocation failure. Unlike a
 * socket connection it stays allocated after closing, until both the owner
 * has seen on_close and the creator has called net_mem_release, so the
 * creator may keep feeding it (feeding a closed one does nothing). */
struct net_conn *net_mem_new(struct net_loop *l);
void net_mem_release(struct net_conn *c);
/* Whether the owner closed it. */
bool net_mem_closed(const struct net_conn *c);
/* Deliver bytes as if read from the peer (held while reading is stopped;
 * at most 1 MiB held, the rest dropped and counted as an error). */
void net_mem_feed(struct net_conn *c, const char *p, size_t n);
/* The peer closed its side. */
void net_mem_eof(struct net_conn *c);
/* Bytes the owner has written so far. */
uint64_t net_mem_written(const struct net_conn *c);
/* Run the loop until nothing is immediately runnable (bounded). */
void net_mem_settle(struct net_loop *l);

#endif
