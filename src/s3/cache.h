/*
 * The store's object-head cache: per loop thread, the metadata of recently
 * read single-file objects (latest version) and an open descriptor of their
 * data, so a repeated GET or HEAD is answered on the loop with no hop to a
 * metadata reader or the pool.
 *
 * Correctness rests on generations: the server keeps a counter per bucket
 * slot (a hash of the bucket name) that the metadata writer bumps after every
 * committed write to that bucket, before the writer's answer can reach a
 * client. A reader notes the slot's generation before it queries; the entry
 * it fills carries that generation; a lookup takes the entry only while the
 * slot still holds it. So a GET that follows an acknowledged write never sees
 * what the write replaced (S3's read-after-write consistency), and a fill
 * that raced with a write is stale from the start.
 *
 * Threads: s3__gen_read/s3__gen_bump from any thread; the cache functions on
 * the loop thread that owns the cache (s3__cache_local).
 */
#ifndef MERIDIAN_S3_CACHE_H
#define MERIDIAN_S3_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/iov.h"
#include "meta/meta-t.h"

#define S3_GEN_SLOTS       256
#define S3_CACHE_ENTRIES   4096  /* per loop */
#define S3_CACHE_ENTRY_MAX 16384 /* bytes of strings; bigger heads are not cached */

struct s3_gens {
	_Atomic uint64_t slot[S3_GEN_SLOTS];
	_Atomic uint64_t total; /* bumps of any slot: a sweep is worth it */
};

uint64_t s3__gen_read(struct s3_gens *g, struct iov bucket);
void s3__gen_bump(struct s3_gens *g, struct iov bucket);

struct s3_cache;

/* A cached object head; valid while referenced. */
struct s3_cached {
	struct meta_bucket bucket;
	struct meta_object obj;
	int fd; /* the data, owned by the entry */
};

/* Entries per loop from now on (default S3_CACHE_ENTRIES): each holds an
 * open file, so the server sizes this from its descriptor limit. */
void s3__cache_limit(size_t entries);

/* The calling loop thread's cache for the server whose generations are
 * `gens` (created on first use, freed when the thread exits). NULL without
 * memory. Stale entries hold descriptors of files a write may have deleted:
 * lookups and insertions sweep them out, at most every S3_CACHE_SWEEP_MS,
 * once a write happened; so does every eviction. */
struct s3_cache *s3__cache_local(struct s3_gens *gens);
#define S3_CACHE_SWEEP_MS 1000
/* Tests: the minimum time between sweeps. */
void s3__cache_sweep_interval(uint64_t ms);

/* The entry for (bucket, key) if its generation is still `gen`; a stale one
 * is dropped. The result is referenced: release it. */
const struct s3_cached *s3__cache_get(struct s3_cache *c, struct iov bucket, struct iov key,
                                      uint64_t gen);
/* Store a head read at generation `gen` with its data open on `fd`. True:
 * the entry owns fd now, and *out is a referenced entry to send from. False
 * (too big, no memory, not a single-file object): fd stays the caller's. */
bool s3__cache_put(struct s3_cache *c, uint64_t gen, const struct meta_bucket *b,
                   const struct meta_object *o, int fd, const struct s3_cached **out);
void s3__cache_release(const struct s3_cached *e);

#endif
