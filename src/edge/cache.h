/*
 * The edge's memory cache tier: cache key -> reference-counted immutable
 * entry, under a byte budget, with S3-FIFO eviction (Yang et al., SOSP 2023:
 * a small probation FIFO, a main FIFO with lazy reinsertion, and a ghost
 * list of recently evicted keys), which keeps hot objects through one-time
 * scans that flush an LRU. See docs/internals/edge-cache.md.
 *
 * Threads: every function may be called from any thread at once (the edge's
 * N worker loops share one cache). The cache is split into shards by key
 * hash, each with its own mutex held only for a table lookup and a few
 * pointer moves; memory of evicted entries is freed after the lock is
 * dropped. edge_cache_free must not race with other calls on the same cache.
 *
 * The cache judges no freshness: expired entries stay until evicted, since
 * they still serve revalidation and stale-if-error. Invalidation marks
 * entries stale instead of deleting them, so a purge never empties the cache
 * for a stampede of misses.
 */
#ifndef MERIDIAN_EDGE_CACHE_H
#define MERIDIAN_EDGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "edge/cache-t.h"

#define EDGE_CACHE_SHARDS_DEFAULT 16
#define EDGE_CACHE_SHARDS_MAX     256
#define EDGE_CACHE_SHARD_MIN      (16u * 1024) /* smallest budget of one shard */
#define EDGE_CACHE_OBJECT_DIV     8            /* default object cap: shard budget / 8 */

struct edge_cache;

/* Build an entry holding copies of headers, body and meta->etag, with one
 * reference owned by the caller. Returns 0, ERR_TOO_BIG (etag over
 * EDGE_CACHE_ETAG_MAX, or sizes overflowing) or ERR_NOMEM. */
int edge_cache_entry_new(const struct edge_cache_meta *meta, struct iov headers, struct iov body,
                         struct edge_cache_entry **out);
/* Take one more reference; returns e. */
struct edge_cache_entry *edge_cache_entry_ref(struct edge_cache_entry *e);
/* Drop one reference; the last one frees the entry. NULL is a no-op. */
void edge_cache_entry_release(struct edge_cache_entry *e);
/* True once an invalidation marked this entry stale (never cleared: a fresh
 * copy arrives as a new entry through edge_cache_put). */
bool edge_cache_entry_stale(const struct edge_cache_entry *e);

/* Bytes an entry stored under a key of keylen bytes charges to the budget:
 * key, headers, body, etag and the bookkeeping structures. */
size_t edge_cache_charge(size_t keylen, const struct edge_cache_entry *e);

/* Create a cache. The budget is split evenly over the shards; each shard must
 * get at least EDGE_CACHE_SHARD_MIN bytes. Returns 0, ERR_INVALID (bad shard
 * count, budget too small, object cap of 0 after clamping) or ERR_NOMEM. */
int edge_cache_new(const struct edge_cache_config *cfg, struct edge_cache **out);
/* Drop the cache's references and free it; entries still held by readers
 * stay valid until released. NULL is a no-op. */
void edge_cache_free(struct edge_cache *c);

/* Look key up. On a hit *out gets a new reference the caller must release
 * (edge_cache_entry_release) and 0 is returned; ERR_NOT_FOUND on a miss.
 * A hit counts as an access for eviction. Stale entries are returned too:
 * check edge_cache_entry_stale. */
int edge_cache_get(struct edge_cache *c, const char *key, size_t keylen,
                   struct edge_cache_entry **out);

/* Publish e under key, replacing any entry there (readers of the old one keep
 * it). Borrows e: the cache takes its own reference, the caller still owns
 * theirs. Evicts until the charge fits, so the budget holds when this returns.
 * Returns 0, ERR_TOO_BIG (key over EDGE_CACHE_KEY_MAX or charge over the
 * object cap: nothing changes), ERR_INVALID (empty key) or ERR_NOMEM. */
int edge_cache_put(struct edge_cache *c, const char *key, size_t keylen,
                   struct edge_cache_entry *e);

/* Mark the entry under key stale. Returns 0 or ERR_NOT_FOUND. */
int edge_cache_mark_stale(struct edge_cache *c, const char *key, size_t keylen);
/* Mark every entry whose key starts with prefix stale (empty prefix: all).
 * Walks shard by shard in short batches, never holding a lock for a whole
 * shard; entries put while it runs may or may not be marked. *marked (may be
 * NULL) gets the number of entries this call turned stale. Returns 0. */
int edge_cache_mark_stale_prefix(struct edge_cache *c, const char *prefix, size_t len,
                                 size_t *marked);

/* Whether a key is one to act on; called under a shard lock (must not call
 * back into the cache). */
typedef bool (*edge_key_pred)(void *arg, const char *key, size_t keylen);
/* The predicate of edge_cache_mark_stale_prefix: arg is a struct iov *. */
bool edge_key_has_prefix(void *arg, const char *key, size_t keylen);
/* Mark every entry whose key match() accepts stale, walking as
 * edge_cache_mark_stale_prefix does. *marked (may be NULL) counts the
 * entries this call turned stale. Returns 0. */
int edge_cache_mark_stale_if(struct edge_cache *c, edge_key_pred match, void *arg, size_t *marked);
/* Counters summed over the shards (each read under its lock). */
void edge_cache_stats(struct edge_cache *c, struct edge_cache_stats *out);

#endif
