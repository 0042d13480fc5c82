/*
 * The edge's memory cache tier (see cache.h for the contract and
 * docs/internals/edge-cache.md for the policy and its measurement).
 *
 * Each shard owns a chained hash table of nodes, two FIFOs and a ghost table:
 *   small  probation queue, about 10% of the shard's bytes; every new key
 *          enters here unless the ghost remembers it;
 *   main   protected queue; its tail is evicted, or reinserted at the head
 *          with one access spent when it was read since its last pass;
 *   ghost  fingerprints of keys evicted from small without a hit, kept for
 *          as many evictions as main holds entries; a put of a remembered
 *          key goes straight to main.
 * A key seen once (a scan) enters small and leaves it without touching main,
 * so the hot set in main survives. Any thread; every shard field is guarded
 * by the shard's mutex, entry reference counts are atomics.
 */
#include "edge/cache.h"

#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "base/check.h"
#include "base/err.h"

#define CACHE_MAGIC   0x45434348u /* "ECCH" */
#define SMALL_PERCENT 10          /* small queue's share of a shard's bytes */
#define FREQ_MAX      3           /* accesses remembered per node (2 bits in the paper) */
#define TABLE_MIN     64          /* initial hash buckets of a shard */
#define GHOST_MIN     64          /* initial ghost slots; the ghost window is >= this */
#define PREFIX_BATCH  1024        /* buckets scanned per lock hold by mark_stale_prefix */
#define CACHE_LINE    64

enum queue { Q_SMALL, Q_MAIN };

struct node {
	struct node *hnext;       /* hash chain; also the victim list once unlinked */
	struct node *prev, *next; /* FIFO: prev toward the head (newest) */
	struct edge_cache_entry *entry;
	uint64_t hash;
	size_t charge;
	unsigned char freq;
	unsigned char queue;
	size_t keylen;
	char key[];
};

struct fifo {
	struct node *head, *tail;
	size_t bytes, count;
};

struct ghost_slot {
	uint64_t fp;  /* key hash | 1; 0 is an empty slot */
	uint64_t gen; /* ghost clock when it was added */
};

struct shard {
	_Alignas(CACHE_LINE) pthread_mutex_t lock;
	struct node **buckets;
	size_t mask, count;
	struct fifo small, main;
	struct ghost_slot *ghost;
	size_t ghost_mask;
	uint64_t ghost_clock;
	size_t budget, small_target, used;
	uint64_t hits, misses, inserts, replaced, evictions, promotions, ghost_hits, refused;
};

struct edge_cache {
	unsigned magic;
	unsigned nshards, shard_shift;
	size_t max_object;
	uint64_t k0, k1;
	struct shard *shards;
};

/* ---- entries ---------------------------------------------------------- */

int edge_cache_entry_new(const struct edge_cache_meta *meta, struct iov headers, struct iov body,
                         struct edge_cache_entry **out)
{
	CHECK(meta != NULL && out != NULL);
	CHECK((headers.base != NULL || headers.len == 0) && (body.base != NULL || body.len == 0));
	CHECK(meta->etag.base != NULL || meta->etag.len == 0);
	*out = NULL;
	if (meta->etag.len > EDGE_CACHE_ETAG_MAX)
		return ERR_TOO_BIG;
	size_t size = sizeof(struct edge_cache_entry) + meta->etag.len;
	if (headers.len > SIZE_MAX - size || body.len > SIZE_MAX - size - headers.len)
		return ERR_TOO_BIG;
	size += headers.len + body.len;
	struct edge_cache_entry *e = malloc(size);
	if (e == NULL)
		return ERR_NOMEM;
	char *p = (char *)(e + 1);
	e->magic = EDGE_CACHE_ENTRY_MAGIC;
	atomic_init(&e->refs, 1);
	atomic_init(&e->stale, false);
	e->meta = *meta;
	e->meta.etag = iov_make(p, meta->etag.len);
	if (meta->etag.len)
		memcpy(p, meta->etag.base, meta->etag.len);
	p += meta->etag.len;
	e->headers = iov_make(p, headers.len);
	if (headers.len)
		memcpy(p, headers.base, headers.len);
	p += headers.len;
	e->body = iov_make(p, body.len);
	if (body.len)
		memcpy(p, body.base, body.len);
	e->size = size;
	*out = e;
	return 0;
}

struct edge_cache_entry *edge_cache_entry_ref(struct edge_cache_entry *e)
{
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	unsigned was = atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	CHECK(was > 0);
	return e;
}

void edge_cache_entry_release(struct edge_cache_entry *e)
{
	if (e == NULL)
		return;
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	unsigned was = atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel);
	CHECK(was > 0);
	if (was == 1) {
		e->magic = 0;
		free(e);
	}
}

bool edge_cache_entry_stale(const struct edge_cache_entry *e)
{
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	return atomic_load_explicit(&e->stale, memory_order_acquire);
}

size_t edge_cache_charge(size_t keylen, const struct edge_cache_entry *e)
{
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	return sizeof(struct node) + keylen + e->size;
}

/* ---- hashing: SipHash-1-3 keyed per cache, since keys come from viewers -- */

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t key_hash(const struct edge_cache *c, const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	uint64_t v[4] = { c->k0 ^ 0x736f6d6570736575ull, c->k1 ^ 0x646f72616e646f6dull,
		          c->k0 ^ 0x6c7967656e657261ull, c->k1 ^ 0x7465646279746573ull };
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t m;
		memcpy(&m, p + i, sizeof(m)); /* one load, read as little-endian */
		m = le64toh(m);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v[3] ^= b;
	sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static struct shard *shard_of(struct edge_cache *c, uint64_t h)
{
	return &c->shards[c->shard_shift == 64 ? 0 : h >> c->shard_shift];
}

/* ---- FIFOs ------------------------------------------------------------ */

static void fifo_push_head(struct fifo *q, struct node *n)
{
	n->prev = NULL;
	n->next = q->head;
	if (q->head)
		q->head->prev = n;
	else
		q->tail = n;
	q->head = n;
	q->bytes += n->charge;
	q->count++;
}

static void fifo_unlink(struct fifo *q, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		q->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		q->tail = n->prev;
	n->prev = n->next = NULL;
	CHECK(q->count > 0 && q->bytes >= n->charge);
	q->bytes -= n->charge;
	q->count--;
}

static struct fifo *fifo_of(struct shard *s, const struct node *n)
{
	return n->queue == Q_MAIN ? &s->main : &s->small;
}

/* ---- hash table ------------------------------------------------------- */

static struct node **table_slot(struct shard *s, uint64_t h, const char *key, size_t keylen)
{
	struct node **pp = &s->buckets[h & s->mask];
	while (*pp != NULL) {
		struct node *n = *pp;
		if (n->hash == h && n->keylen == keylen && memcmp(n->key, key, keylen) == 0)
			return pp;
		pp = &n->hnext;
	}
	return pp;
}

/* Double the bucket array; on allocation failure chains just get longer. */
static void table_grow(struct shard *s)
{
	size_t n = (s->mask + 1) * 2;
	struct node **nb = calloc(n, sizeof *nb);
	if (nb == NULL)
		return;
	for (size_t i = 0; i <= s->mask; i++) {
		struct node *x = s->buckets[i];
		while (x != NULL) {
			struct node *next = x->hnext;
			x->hnext = nb[x->hash & (n - 1)];
			nb[x->hash & (n - 1)] = x;
			x = next;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->mask = n - 1;
}

/* ---- ghost: a direct-mapped table of fingerprints with a FIFO clock ----- */

static size_t ghost_window(const struct shard *s)
{
	return s->main.count > GHOST_MIN ? s->main.count : GHOST_MIN;
}

/* Keep the table at least twice the window so collisions stay rare. */
static void ghost_grow(struct shard *s)
{
	size_t n = (s->ghost_mask + 1) * 2;
	struct ghost_slot *ng = calloc(n, sizeof *ng);
	if (ng == NULL)
		return;
	for (size_t i = 0; i <= s->ghost_mask; i++)
		if (s->ghost[i].fp != 0)
			ng[s->ghost[i].fp & (n - 1)] = s->ghost[i];
	free(s->ghost);
	s->ghost = ng;
	s->ghost_mask = n - 1;
}

static void ghost_add(struct shard *s, uint64_t h)
{
	if (ghost_window(s) * 2 > s->ghost_mask + 1)
		ghost_grow(s);
	struct ghost_slot *g = &s->ghost[h & s->ghost_mask];
	g->fp = h | 1;
	g->gen = ++s->ghost_clock;
}

/* True (and forgets it) when h was evicted from small within the window. */
static bool ghost_take(struct shard *s, uint64_t h)
{
	struct ghost_slot *g = &s->ghost[h & s->ghost_mask];
	if (g->fp != (h | 1))
		return false;
	bool live = s->ghost_clock - g->gen < ghost_window(s);
	g->fp = 0;
	return live;
}

/* ---- eviction --------------------------------------------------------- */

/* Take n out of the table and its queue and push it on *victims, whose
 * entries are released after the shard lock is dropped. */
static void node_drop(struct shard *s, struct node *n, struct node **victims)
{
	struct node **pp = table_slot(s, n->hash, n->key, n->keylen);
	CHECK(*pp == n);
	*pp = n->hnext;
	fifo_unlink(fifo_of(s, n), n);
	s->count--;
	s->used -= n->charge;
	n->hnext = *victims;
	*victims = n;
}

/* One S3-FIFO step: demote, promote or evict one node. */
static void evict_step(struct shard *s, struct node **victims)
{
	struct node *n;
	if (s->small.tail != NULL && (s->small.bytes >= s->small_target || s->main.tail == NULL)) {
		n = s->small.tail;
		if (n->freq > 0) {
			fifo_unlink(&s->small, n);
			n->freq = 0;
			n->queue = Q_MAIN;
			fifo_push_head(&s->main, n);
			s->promotions++;
			return;
		}
		ghost_add(s, n->hash);
	} else {
		n = s->main.tail;
		CHECK(n != NULL);
		if (n->freq > 0) {
			fifo_unlink(&s->main, n);
			n->freq--;
			fifo_push_head(&s->main, n);
			return;
		}
	}
	s->evictions++;
	node_drop(s, n, victims);
}

static void victims_free(struct node *v)
{
	while (v != NULL) {
		struct node *next = v->hnext;
		edge_cache_entry_release(v->entry);
		free(v);
		v = next;
	}
}

/* ---- the cache -------------------------------------------------------- */

static int shard_init(struct shard *s, size_t budget)
{
	memset(s, 0, sizeof *s);
	s->budget = budget;
	s->small_target = budget / 100 * SMALL_PERCENT;
	s->buckets = calloc(TABLE_MIN, sizeof *s->buckets);
	s->ghost = calloc(GHOST_MIN * 2, sizeof *s->ghost);
	if (s->buckets == NULL || s->ghost == NULL) {
		free(s->buckets);
		free(s->ghost);
		return ERR_NOMEM;
	}
	s->mask = TABLE_MIN - 1;
	s->ghost_mask = GHOST_MIN * 2 - 1;
	CHECK(pthread_mutex_init(&s->lock, NULL) == 0);
	return 0;
}

static void shard_destroy(struct shard *s)
{
	struct node *victims = NULL;
	while (s->small.tail != NULL)
		node_drop(s, s->small.tail, &victims);
	while (s->main.tail != NULL)
		node_drop(s, s->main.tail, &victims);
	victims_free(victims);
	CHECK(s->count == 0 && s->used == 0);
	free(s->buckets);
	free(s->ghost);
	pthread_mutex_destroy(&s->lock);
}

static void seed_keys(struct edge_cache *c, uint64_t seed)
{
	uint64_t k[2] = { seed, seed ^ 0x9e3779b97f4a7c15ull };
	if (seed == 0 && getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
		/* No entropy source: fall back to addresses and time, still per process. */
		k[0] = (uint64_t)(uintptr_t)c ^ (uint64_t)(uintptr_t)&seed;
		k[1] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
	}
	c->k0 = k[0];
	c->k1 = k[1];
}

int edge_cache_new(const struct edge_cache_config *cfg, struct edge_cache **out)
{
	CHECK(cfg != NULL && out != NULL);
	*out = NULL;
	unsigned n = cfg->shards ? cfg->shards : EDGE_CACHE_SHARDS_DEFAULT;
	if (n > EDGE_CACHE_SHARDS_MAX || (n & (n - 1)) != 0)
		return ERR_INVALID;
	size_t per = cfg->budget_bytes / n;
	if (per < EDGE_CACHE_SHARD_MIN)
		return ERR_INVALID;
	size_t cap = cfg->max_object_bytes ? cfg->max_object_bytes : per / EDGE_CACHE_OBJECT_DIV;
	if (cap > per)
		cap = per;
	struct edge_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return ERR_NOMEM;
	c->shards = aligned_alloc(CACHE_LINE, sizeof(struct shard) * n);
	if (c->shards == NULL) {
		free(c);
		return ERR_NOMEM;
	}
	unsigned bits = 0;
	while ((1u << bits) < n)
		bits++;
	c->shard_shift = 64 - bits;
	c->nshards = n;
	c->max_object = cap;
	seed_keys(c, cfg->hash_seed);
	for (unsigned i = 0; i < n; i++) {
		if (shard_init(&c->shards[i], per) != 0) {
			while (i-- > 0)
				shard_destroy(&c->shards[i]);
			free(c->shards);
			free(c);
			return ERR_NOMEM;
		}
	}
	c->magic = CACHE_MAGIC;
	*out = c;
	return 0;
}

void edge_cache_free(struct edge_cache *c)
{
	if (c == NULL)
		return;
	CHECK_MAGIC(c, CACHE_MAGIC);
	for (unsigned i = 0; i < c->nshards; i++)
		shard_destroy(&c->shards[i]);
	c->magic = 0;
	free(c->shards);
	free(c);
}

int edge_cache_get(struct edge_cache *c, const char *key, size_t keylen,
                   struct edge_cache_entry **out)
{
	CHECK_MAGIC(c, CACHE_MAGIC);
	CHECK(out != NULL && (key != NULL || keylen == 0));
	*out = NULL;
	if (keylen > EDGE_CACHE_KEY_MAX)
		return ERR_NOT_FOUND;
	uint64_t h = key_hash(c, key, keylen);
	struct shard *s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	struct node *n = *table_slot(s, h, key, keylen);
	if (n == NULL) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return ERR_NOT_FOUND;
	}
	if (n->freq < FREQ_MAX)
		n->freq++;
	s->hits++;
	*out = edge_cache_entry_ref(n->entry);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int edge_cache_put(struct edge_cache *c, const char *key, size_t keylen, struct edge_cache_entry *e)
{
	CHECK_MAGIC(c, CACHE_MAGIC);
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	CHECK(key != NULL || keylen == 0);
	if (keylen == 0)
		return ERR_INVALID;
	if (keylen > EDGE_CACHE_KEY_MAX)
		return ERR_TOO_BIG;
	uint64_t h = key_hash(c, key, keylen);
	struct shard *s = shard_of(c, h);
	size_t charge = edge_cache_charge(keylen, e);
	if (charge > c->max_object) {
		pthread_mutex_lock(&s->lock);
		s->refused++;
		pthread_mutex_unlock(&s->lock);
		return ERR_TOO_BIG;
	}
	struct node *n = malloc(sizeof *n + keylen);
	if (n == NULL)
		return ERR_NOMEM;
	memcpy(n->key, key, keylen);
	n->keylen = keylen;
	n->hash = h;
	n->charge = charge;
	n->entry = edge_cache_entry_ref(e);
	n->freq = 0;
	n->queue = Q_SMALL;

	struct node *victims = NULL;
	pthread_mutex_lock(&s->lock);
	struct node *old = *table_slot(s, h, key, keylen);
	if (old != NULL) {
		/* A refreshed object keeps its place in the policy. */
		n->queue = old->queue;
		n->freq = old->freq;
		node_drop(s, old, &victims);
		s->replaced++;
	} else if (ghost_take(s, h)) {
		n->queue = Q_MAIN;
		s->ghost_hits++;
	}
	while (s->used + charge > s->budget)
		evict_step(s, &victims);
	if (s->count >= s->mask + 1)
		table_grow(s);
	struct node **slot = table_slot(s, h, key, keylen);
	CHECK(*slot == NULL);
	n->hnext = NULL;
	*slot = n;
	fifo_push_head(fifo_of(s, n), n);
	s->count++;
	s->used += charge;
	s->inserts++;
	CHECK(s->used <= s->budget);
	pthread_mutex_unlock(&s->lock);
	victims_free(victims);
	return 0;
}

int edge_cache_mark_stale(struct edge_cache *c, const char *key, size_t keylen)
{
	CHECK_MAGIC(c, CACHE_MAGIC);
	CHECK(key != NULL || keylen == 0);
	if (keylen > EDGE_CACHE_KEY_MAX)
		return ERR_NOT_FOUND;
	uint64_t h = key_hash(c, key, keylen);
	struct shard *s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	struct node *n = *table_slot(s, h, key, keylen);
	if (n != NULL)
		atomic_store_explicit(&n->entry->stale, true, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	return n != NULL ? 0 : ERR_NOT_FOUND;
}

int edge_cache_mark_stale_prefix(struct edge_cache *c, const char *prefix, size_t len,
                                 size_t *marked)
{
	CHECK(prefix != NULL || len == 0);
	struct iov p = iov_make(prefix, len);
	return edge_cache_mark_stale_if(c, edge_key_has_prefix, &p, marked);
}

bool edge_key_has_prefix(void *arg, const char *key, size_t keylen)
{
	const struct iov *p = arg;
	return keylen >= p->len && (p->len == 0 || memcmp(key, p->base, p->len) == 0);
}

int edge_cache_mark_stale_if(struct edge_cache *c, edge_key_pred match, void *arg, size_t *marked)
{
	CHECK_MAGIC(c, CACHE_MAGIC);
	size_t total = 0;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		/* Tables only grow, and growth moves bucket b to b or b + old size,
		 * so resuming at the next index after a resize misses no node. */
		for (size_t b = 0;;) {
			pthread_mutex_lock(&s->lock);
			size_t end = b + PREFIX_BATCH;
			if (end > s->mask + 1)
				end = s->mask + 1;
			for (; b < end; b++) {
				for (struct node *n = s->buckets[b]; n != NULL; n = n->hnext) {
					if (!match(arg, n->key, n->keylen))
						continue;
					if (!atomic_exchange_explicit(&n->entry->stale, true,
					                              memory_order_acq_rel))
						total++;
				}
			}
			bool done = b > s->mask;
			pthread_mutex_unlock(&s->lock);
			if (done)
				break;
		}
	}
	if (marked)
		*marked = total;
	return 0;
}

void edge_cache_stats(struct edge_cache *c, struct edge_cache_stats *out)
{
	CHECK_MAGIC(c, CACHE_MAGIC);
	CHECK(out != NULL);
	memset(out, 0, sizeof *out);
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		out->budget_bytes += s->budget;
		out->used_bytes += s->used;
		out->entries += s->count;
		out->small_entries += s->small.count;
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->replaced += s->replaced;
		out->evictions += s->evictions;
		out->promotions += s->promotions;
		out->ghost_hits += s->ghost_hits;
		out->refused += s->refused;
		pthread_mutex_unlock(&s->lock);
	}
}
