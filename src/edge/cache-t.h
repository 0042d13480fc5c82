/*
 * Types of the edge's memory cache tier (edge/cache.h has the functions).
 * An entry is one cached response: immutable once built, shared by reference
 * count between the cache and every reader streaming it, so it outlives its
 * eviction or replacement until the last reader releases it. The one field
 * that changes after publication is the stale mark (an atomic), set by
 * invalidation. Any thread may read a published entry it holds a reference to.
 */
#ifndef MERIDIAN_EDGE_CACHE_T_H
#define MERIDIAN_EDGE_CACHE_T_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

#define EDGE_CACHE_ENTRY_MAGIC 0x45434e54u /* "ECNT" */
#define EDGE_CACHE_KEY_MAX     4096        /* bytes of a cache key */
#define EDGE_CACHE_ETAG_MAX    256         /* bytes of a stored ETag value */

/* What the freshness rules need about a stored response. Times are Unix
 * seconds; windows are seconds counted after the TTL runs out. */
struct edge_cache_meta {
	int64_t stored;        /* when the response was received */
	int64_t ttl;           /* freshness lifetime */
	int64_t swr;           /* stale-while-revalidate window, 0 if none */
	int64_t sie;           /* stale-if-error window, 0 if none */
	int64_t last_modified; /* parsed Last-Modified, -1 if none */
	int status;            /* HTTP status of the stored response */
	struct iov etag;       /* ETag value as sent (quotes kept), empty if none */
};

/* One cached response. Every field is read-only once edge_cache_entry_new
 * returns; etag, headers and body point into the entry's own allocation. */
struct edge_cache_entry {
	unsigned magic;
	atomic_uint refs;  /* private: use edge_cache_entry_ref / _release */
	atomic_bool stale; /* private: use edge_cache_entry_stale */
	struct edge_cache_meta meta;
	struct iov headers; /* the response header block to replay */
	struct iov body;    /* the body bytes (memory tier: held in memory) */
	size_t size;        /* bytes of the entry's allocation */
};

struct edge_cache_config {
	size_t budget_bytes;     /* hard cap on everything charged, all shards */
	unsigned shards;         /* power of two <= EDGE_CACHE_SHARDS_MAX; 0: default */
	size_t max_object_bytes; /* per-object cap; 0: shard budget / 8 */
	uint64_t hash_seed;      /* 0: random; tests pin it to be reproducible */
};

struct edge_cache_stats {
	size_t budget_bytes;  /* sum of the shard budgets (<= configured budget) */
	size_t used_bytes;    /* charged bytes now held */
	size_t entries;       /* entries now held */
	size_t small_entries; /* of which in the probation (small) queue */
	uint64_t hits, misses, inserts, replaced, evictions, promotions, ghost_hits, refused;
};

#endif
