/*
 * Filling the disk tier from a response as it streams (edge/server.c): the
 * body pieces a loop thread hands over are written into an edge_disk_writer
 * on the pool (net/work.h), one job at a time and in order, since the disk
 * tier blocks. The fill holds its own copies of everything, so the request
 * that started it may end first. At most EDGE_DFILL_QUEUE_MAX bytes wait for
 * the disk; past that (a disk slower than the network) the fill gives up
 * rather than hold the object in memory, and nothing is published.
 *
 * Threads: new/add/end on one loop thread (the one given to new); the disk
 * calls run on the pool. After end the fill frees itself when its last job
 * is done (also when the loop is freed, which cancels or waits for jobs).
 */
#ifndef MERIDIAN_EDGE_DFILL_H
#define MERIDIAN_EDGE_DFILL_H

#include <stdbool.h>
#include <stddef.h>

#include "edge/cache-t.h"
#include "edge/disk.h"
#include "net/loop.h"

#define EDGE_DFILL_QUEUE_MAX (8u << 20)

struct edge_dfill;

/* Start filling key with a response of meta (ETag copied) and header block
 * `headers`. 0 or ERR_NOMEM. */
int edge_dfill_new(struct net_loop *l, struct edge_disk *d, const char *key, size_t keylen,
                   const struct edge_cache_meta *meta, struct iov headers, struct edge_dfill **out);
/* Queue n body bytes (copied). After a failure the bytes are dropped;
 * returns false once the fill has failed (the caller may stop calling). */
bool edge_dfill_add(struct edge_dfill *f, const void *p, size_t n);
/* No more bytes: commit (the response completed) or abort. f is the
 * fill's own from here on. */
void edge_dfill_end(struct edge_dfill *f, bool commit);

#endif
