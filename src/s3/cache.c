/* The store's object-head cache (see cache.h). */
#include "s3/cache.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"

#define HASH_BUCKETS 8192 /* a power of two */

/* LRU links; first in an entry, so a link is its entry. */
struct link {
	struct link *prev, *next;
};

struct entry {
	struct link lru; /* first: see struct link */
	struct s3_cached pub;
	unsigned refs; /* one for the table, one per user */
	bool in_table;
	uint64_t gen, hash;
	struct entry *hnext;
	struct s3_cache *owner;
	size_t used;
	char data[];
};

struct s3_cache {
	struct entry *table[HASH_BUCKETS];
	struct link lru; /* sentinel: most recent first */
	size_t n;
	struct s3_gens *gens;
	uint64_t seen_total;    /* gens->total at the last sweep */
	uint64_t last_sweep_ns; /* monotonic */
};

static struct entry *entry_of(struct link *l)
{
	return (struct entry *)(void *)l;
}

static struct entry *entry_of_pub(const struct s3_cached *pub)
{
	return (struct entry *)(void *)((char *)(uintptr_t)pub - offsetof(struct entry, pub));
}

static void lru_remove(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void lru_push_front(struct s3_cache *c, struct link *l)
{
	l->next = c->lru.next;
	l->prev = &c->lru;
	c->lru.next->prev = l;
	c->lru.next = l;
}

static uint64_t fnv(struct iov a, struct iov b)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < a.len; i++)
		h = (h ^ (uint8_t)a.base[i]) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull; /* no byte of a bucket name */
	for (size_t i = 0; i < b.len; i++)
		h = (h ^ (uint8_t)b.base[i]) * 1099511628211ull;
	return h;
}

uint64_t s3__gen_read(struct s3_gens *g, struct iov bucket)
{
	uint64_t h = fnv(bucket, IOV_NULL);
	return atomic_load_explicit(&g->slot[h % S3_GEN_SLOTS], memory_order_acquire);
}

void s3__gen_bump(struct s3_gens *g, struct iov bucket)
{
	uint64_t h = fnv(bucket, IOV_NULL);
	atomic_fetch_add_explicit(&g->slot[h % S3_GEN_SLOTS], 1, memory_order_release);
	atomic_fetch_add_explicit(&g->total, 1, memory_order_release);
}

static void entry_free(struct entry *e)
{
	if (e->pub.fd >= 0)
		close(e->pub.fd);
	free(e);
}

static void unlink_entry(struct s3_cache *c, struct entry *e)
{
	struct entry **pp = &c->table[e->hash % HASH_BUCKETS];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_remove(&e->lru);
	e->in_table = false;
	c->n--;
	if (--e->refs == 0)
		entry_free(e);
}

static _Atomic size_t cache_max = S3_CACHE_ENTRIES;
static _Atomic uint64_t sweep_ns = S3_CACHE_SWEEP_MS * 1000000ull;

void s3__cache_sweep_interval(uint64_t ms)
{
	atomic_store(&sweep_ns, ms * 1000000ull);
}

/* Drop entries whose bucket was written since they were filled: their
 * descriptors may pin files the write deleted. */
static void sweep(struct s3_cache *c)
{
	if (!c->gens)
		return;
	uint64_t total = atomic_load_explicit(&c->gens->total, memory_order_acquire);
	if (total == c->seen_total)
		return;
	uint64_t now = clock_mono_ns();
	if (now - c->last_sweep_ns < atomic_load_explicit(&sweep_ns, memory_order_relaxed))
		return;
	c->seen_total = total;
	c->last_sweep_ns = now;
	struct link *l = c->lru.next;
	while (l != &c->lru) {
		struct entry *e = entry_of(l);
		l = l->next;
		if (s3__gen_read(c->gens, e->pub.bucket.name) != e->gen)
			unlink_entry(c, e);
	}
}

void s3__cache_limit(size_t entries)
{
	atomic_store(&cache_max, entries ? entries : 1);
}

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *arg)
{
	struct s3_cache *c = arg;
	while (c->lru.next != &c->lru)
		unlink_entry(c, entry_of(c->lru.next));
	free(c);
}

static void cache_key_make(void)
{
	CHECK(pthread_key_create(&cache_key, cache_free) == 0);
}

struct s3_cache *s3__cache_local(struct s3_gens *gens)
{
	static _Thread_local struct s3_cache *local;
	if (local)
		return local;
	pthread_once(&cache_once, cache_key_make);
	struct s3_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lru.next = c->lru.prev = &c->lru;
	c->gens = gens;
	if (pthread_setspecific(cache_key, c)) {
		free(c);
		return NULL;
	}
	local = c;
	return c;
}

const struct s3_cached *s3__cache_get(struct s3_cache *c, struct iov bucket, struct iov key,
                                      uint64_t gen)
{
	sweep(c);
	uint64_t h = fnv(bucket, key);
	struct entry *e = c->table[h % HASH_BUCKETS];
	while (e &&
	       !(e->hash == h && iov_eq(e->pub.bucket.name, bucket) && iov_eq(e->pub.obj.key, key)))
		e = e->hnext;
	if (!e)
		return NULL;
	if (e->gen != gen) {
		unlink_entry(c, e);
		return NULL;
	}
	/* Most recently used first. */
	lru_remove(&e->lru);
	lru_push_front(c, &e->lru);
	e->refs++;
	return &e->pub;
}

/* Copy a slice into the entry's string area. */
static struct iov keep(struct entry *e, struct iov s)
{
	if (!s.len)
		return iov_make("", 0);
	memcpy(e->data + e->used, s.base, s.len);
	struct iov out = iov_make(e->data + e->used, s.len);
	e->used += s.len;
	return out;
}

bool s3__cache_put(struct s3_cache *c, uint64_t gen, const struct meta_bucket *b,
                   const struct meta_object *o, int fd, const struct s3_cached **out)
{
	*out = NULL;
	size_t need = b->name.len + b->owner.len + b->region.len + o->key.len + o->etag.len +
	              o->data_file.len + o->content_type.len + o->attrs.len + o->checksum_algo.len +
	              o->checksum.len + o->owner.len;
	struct entry *e = need <= S3_CACHE_ENTRY_MAX && !o->part_count && !o->is_delete_marker
	                      ? malloc(sizeof(*e) + need)
	                      : NULL;
	if (!e)
		return false;
	memset(e, 0, sizeof(*e));
	e->pub.bucket = *b;
	e->pub.bucket.name = keep(e, b->name);
	e->pub.bucket.owner = keep(e, b->owner);
	e->pub.bucket.region = keep(e, b->region);
	e->pub.obj = *o;
	e->pub.obj.key = keep(e, o->key);
	e->pub.obj.etag = keep(e, o->etag);
	e->pub.obj.data_file = keep(e, o->data_file);
	e->pub.obj.content_type = keep(e, o->content_type);
	e->pub.obj.attrs = keep(e, o->attrs);
	e->pub.obj.checksum_algo = keep(e, o->checksum_algo);
	e->pub.obj.checksum = keep(e, o->checksum);
	e->pub.obj.owner = keep(e, o->owner);
	e->pub.obj.parts = NULL;
	e->pub.obj.nparts = 0;
	e->pub.fd = fd;
	e->gen = gen;
	e->hash = fnv(b->name, o->key);
	e->owner = c;
	e->refs = 1;
	/* Replace an older entry for the same object, then make room. */
	const struct s3_cached *old = s3__cache_get(c, b->name, o->key, gen);
	if (old) {
		struct entry *oe = entry_of_pub(old);
		oe->refs--;
		unlink_entry(c, oe);
	}
	while (c->n >= atomic_load_explicit(&cache_max, memory_order_relaxed))
		unlink_entry(c, entry_of(c->lru.prev));
	e->in_table = true;
	e->hnext = c->table[e->hash % HASH_BUCKETS];
	c->table[e->hash % HASH_BUCKETS] = e;
	lru_push_front(c, &e->lru);
	c->n++;
	e->refs++;
	*out = &e->pub;
	return true;
}

void s3__cache_release(const struct s3_cached *pub)
{
	if (!pub)
		return;
	struct entry *e = entry_of_pub(pub);
	if (--e->refs == 0)
		entry_free(e);
}
