/*
 * The edge memory cache: the byte budget holds after every put and matches
 * the charges of what is held, oversized objects are refused, a reference
 * keeps an evicted or replaced entry readable (run under ASan), stale marks
 * (exact and prefix, across resize batches), threads hammering one small
 * cache, and S3-FIFO keeping clearly more hot hits than an LRU (computed
 * here as the reference) through a one-time scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "base/err.h"
#include "edge/cache.h"

/* ---- helpers ----------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned char pattern(unsigned key, unsigned ver, size_t i)
{
	return (unsigned char)(key * 31u + ver * 7u + i);
}

/* Entry whose headers name (key, ver) and whose body is a pattern of both. */
static struct edge_cache_entry *make(unsigned key, unsigned ver, size_t body_len)
{
	char hdr[64];
	int hl = snprintf(hdr, sizeof hdr, "k=%u;v=%u", key, ver);
	unsigned char *body = malloc(body_len ? body_len : 1);
	assert_non_null(body);
	for (size_t i = 0; i < body_len; i++)
		body[i] = pattern(key, ver, i);
	struct edge_cache_meta m = { .stored = 1700000000,
		                     .ttl = 60,
		                     .swr = 5,
		                     .sie = 30,
		                     .last_modified = -1,
		                     .status = 200,
		                     .etag = IOV_LIT("\"abc\"") };
	struct edge_cache_entry *e = NULL;
	assert_int_equal(edge_cache_entry_new(&m, iov_make(hdr, (size_t)hl),
	                                      iov_make((const char *)body, body_len), &e),
	                 0);
	free(body);
	return e;
}

/* Check an entry is the intact (key, ?) entry; returns its version. */
static unsigned verify(const struct edge_cache_entry *e, unsigned key)
{
	unsigned k, v;
	char hdr[64];
	assert_true(e->headers.len < sizeof hdr);
	memcpy(hdr, e->headers.base, e->headers.len);
	hdr[e->headers.len] = '\0';
	assert_int_equal(sscanf(hdr, "k=%u;v=%u", &k, &v), 2);
	assert_int_equal(k, key);
	for (size_t i = 0; i < e->body.len; i++)
		assert_int_equal((unsigned char)e->body.base[i], pattern(k, v, i));
	assert_int_equal(e->meta.status, 200);
	assert_int_equal(e->meta.etag.len, 5);
	assert_memory_equal(e->meta.etag.base, "\"abc\"", 5);
	return v;
}

static size_t keyname(char *buf, size_t cap, const char *pfx, unsigned i)
{
	int n = snprintf(buf, cap, "%s%08u", pfx, i);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static struct edge_cache *cache_new(size_t budget, unsigned shards, size_t cap)
{
	struct edge_cache_config cfg = {
		.budget_bytes = budget, .shards = shards, .max_object_bytes = cap, .hash_seed = 42
	};
	struct edge_cache *c = NULL;
	assert_int_equal(edge_cache_new(&cfg, &c), 0);
	return c;
}

/* ---- basic contract ---------------------------------------------------- */

static void entry_copies_and_config_checks(void **state)
{
	(void)state;
	struct edge_cache_entry *e = make(7, 1, 100);
	assert_int_equal(verify(e, 7), 1);
	assert_false(edge_cache_entry_stale(e));
	edge_cache_entry_release(edge_cache_entry_ref(e));
	edge_cache_entry_release(e);
	edge_cache_entry_release(NULL);

	char big[EDGE_CACHE_ETAG_MAX + 1];
	memset(big, 'x', sizeof big);
	struct edge_cache_meta m = { .etag = iov_make(big, sizeof big) };
	assert_int_equal(edge_cache_entry_new(&m, IOV_NULL, IOV_NULL, &e), ERR_TOO_BIG);
	assert_null(e);

	struct edge_cache *c = NULL;
	struct edge_cache_config cfg = { .budget_bytes = 1 << 20, .shards = 3 };
	assert_int_equal(edge_cache_new(&cfg, &c), ERR_INVALID);
	cfg.shards = 512;
	assert_int_equal(edge_cache_new(&cfg, &c), ERR_INVALID);
	cfg =
	    (struct edge_cache_config){ .budget_bytes = EDGE_CACHE_SHARD_MIN * 4 - 1, .shards = 4 };
	assert_int_equal(edge_cache_new(&cfg, &c), ERR_INVALID);
	cfg.budget_bytes++;
	assert_int_equal(edge_cache_new(&cfg, &c), 0);
	edge_cache_free(c);
	edge_cache_free(NULL);
}

static void budget_never_exceeded(void **state)
{
	(void)state;
	const size_t budget = 256 * 1024;
	const unsigned nkeys = 2000;
	struct edge_cache *c = cache_new(budget, 4, 0);
	uint64_t rng = 1;
	char k[32];
	struct edge_cache_stats st;
	for (unsigned op = 0; op < 20000; op++) {
		unsigned key = (unsigned)(splitmix(&rng) % nkeys);
		size_t kl = keyname(k, sizeof k, "/obj/", key);
		struct edge_cache_entry *e = make(key, op, splitmix(&rng) % 6000);
		assert_int_equal(edge_cache_put(c, k, kl, e), 0);
		edge_cache_entry_release(e);
		edge_cache_stats(c, &st);
		assert_true(st.budget_bytes <= budget);
		assert_true(st.used_bytes <= st.budget_bytes);
	}
	assert_true(st.evictions > 0);
	/* What is charged is exactly what is held. */
	size_t sum = 0, found = 0;
	for (unsigned key = 0; key < nkeys; key++) {
		size_t kl = keyname(k, sizeof k, "/obj/", key);
		struct edge_cache_entry *e;
		if (edge_cache_get(c, k, kl, &e) != 0)
			continue;
		verify(e, key);
		sum += edge_cache_charge(kl, e);
		found++;
		edge_cache_entry_release(e);
	}
	edge_cache_stats(c, &st);
	assert_int_equal(found, st.entries);
	assert_int_equal(sum, st.used_bytes);
	edge_cache_free(c);
}

static void oversized_object_refused(void **state)
{
	(void)state;
	struct edge_cache *c = cache_new(64 * 1024, 1, 0); /* cap: 8 KiB */
	struct edge_cache_entry *small = make(1, 1, 1000), *big = make(1, 2, 8 * 1024);
	assert_int_equal(edge_cache_put(c, "k", 1, small), 0);
	assert_int_equal(edge_cache_put(c, "k", 1, big), ERR_TOO_BIG);
	char longkey[EDGE_CACHE_KEY_MAX + 1];
	memset(longkey, 'a', sizeof longkey);
	assert_int_equal(edge_cache_put(c, longkey, sizeof longkey, small), ERR_TOO_BIG);
	assert_int_equal(edge_cache_put(c, "", 0, small), ERR_INVALID);
	struct edge_cache_entry *got;
	assert_int_equal(edge_cache_get(c, "k", 1, &got), 0);
	assert_ptr_equal(got, small);
	edge_cache_entry_release(got);
	struct edge_cache_stats st;
	edge_cache_stats(c, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.entries, 1);
	/* An explicit cap above the shard budget is clamped to it. */
	edge_cache_entry_release(big);
	edge_cache_free(c);
	c = cache_new(64 * 1024, 1, 1 << 30);
	big = make(2, 1, 64 * 1024);
	assert_int_equal(edge_cache_put(c, "b", 1, big), ERR_TOO_BIG);
	edge_cache_entry_release(big);
	edge_cache_entry_release(small);
	edge_cache_free(c);
}

static void reference_outlives_eviction(void **state)
{
	(void)state;
	struct edge_cache *c = cache_new(64 * 1024, 1, 0);
	struct edge_cache_entry *e = make(5, 9, 4000), *held;
	assert_int_equal(edge_cache_put(c, "victim", 6, e), 0);
	edge_cache_entry_release(e); /* only the cache holds it now */
	assert_int_equal(edge_cache_get(c, "victim", 6, &held), 0);
	char k[32];
	for (unsigned i = 0; i < 200; i++) {
		size_t kl = keyname(k, sizeof k, "/flood/", i);
		e = make(i, 0, 3000);
		assert_int_equal(edge_cache_put(c, k, kl, e), 0);
		edge_cache_entry_release(e);
		/* Read once, so the flood reaches main and pushes the victim out. */
		assert_int_equal(edge_cache_get(c, k, kl, &e), 0);
		edge_cache_entry_release(e);
	}
	assert_int_equal(edge_cache_get(c, "victim", 6, &e), ERR_NOT_FOUND);
	/* Freed memory here would be a use-after-free under ASan. */
	assert_int_equal(verify(held, 5), 9);
	assert_int_equal(held->body.len, 4000);
	edge_cache_entry_release(held);
	/* Freeing the cache while a reader holds an entry leaves it readable. */
	assert_int_equal(edge_cache_get(c, k, strlen(k), &held), 0);
	edge_cache_free(c);
	assert_int_equal(verify(held, 199), 0);
	edge_cache_entry_release(held);
}

static void put_replaces(void **state)
{
	(void)state;
	struct edge_cache *c = cache_new(64 * 1024, 1, 0);
	struct edge_cache_entry *a = make(3, 1, 500), *b = make(3, 2, 1500), *got, *old;
	assert_int_equal(edge_cache_put(c, "/x", 2, a), 0);
	assert_int_equal(edge_cache_get(c, "/x", 2, &old), 0);
	assert_int_equal(edge_cache_put(c, "/x", 2, b), 0);
	assert_int_equal(edge_cache_get(c, "/x", 2, &got), 0);
	assert_ptr_equal(got, b);
	assert_int_equal(verify(got, 3), 2);
	assert_int_equal(verify(old, 3), 1); /* the reader of the old copy keeps it */
	struct edge_cache_stats st;
	edge_cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(st.used_bytes, edge_cache_charge(2, b));
	edge_cache_entry_release(got);
	edge_cache_entry_release(old);
	edge_cache_entry_release(a);
	edge_cache_entry_release(b);
	edge_cache_free(c);
}

static void stale_exact(void **state)
{
	(void)state;
	struct edge_cache *c = cache_new(1 << 20, 4, 0);
	struct edge_cache_entry *a = make(1, 1, 10), *b = make(2, 1, 10), *got;
	assert_int_equal(edge_cache_put(c, "/a", 2, a), 0);
	assert_int_equal(edge_cache_put(c, "/ab", 3, b), 0);
	assert_int_equal(edge_cache_mark_stale(c, "/a", 2), 0);
	assert_int_equal(edge_cache_mark_stale(c, "/zz", 3), ERR_NOT_FOUND);
	assert_int_equal(edge_cache_get(c, "/a", 2, &got), 0); /* still served */
	assert_true(edge_cache_entry_stale(got));
	edge_cache_entry_release(got);
	assert_int_equal(edge_cache_get(c, "/ab", 3, &got), 0);
	assert_false(edge_cache_entry_stale(got));
	edge_cache_entry_release(got);
	/* A fresh copy replaces the stale one. */
	struct edge_cache_entry *a2 = make(1, 2, 10);
	assert_int_equal(edge_cache_put(c, "/a", 2, a2), 0);
	assert_int_equal(edge_cache_get(c, "/a", 2, &got), 0);
	assert_false(edge_cache_entry_stale(got));
	assert_int_equal(verify(got, 1), 2);
	edge_cache_entry_release(got);
	edge_cache_entry_release(a);
	edge_cache_entry_release(a2);
	edge_cache_entry_release(b);
	edge_cache_free(c);
}

static void stale_prefix(void **state)
{
	(void)state;
	/* One shard with > 1024 buckets, so the walk takes several lock holds. */
	const unsigned n = 3000;
	struct edge_cache *c = cache_new(8u << 20, 1, 0);
	char k[32];
	for (unsigned i = 0; i < n; i++) {
		size_t kl = keyname(k, sizeof k, i % 3 == 0 ? "/img/" : "/doc/", i);
		struct edge_cache_entry *e = make(i, 0, 16);
		assert_int_equal(edge_cache_put(c, k, kl, e), 0);
		edge_cache_entry_release(e);
	}
	struct edge_cache_stats st;
	edge_cache_stats(c, &st);
	assert_int_equal(st.entries, n);
	size_t marked = 0;
	assert_int_equal(edge_cache_mark_stale_prefix(c, "/img/", 5, &marked), 0);
	assert_int_equal(marked, n / 3);
	for (unsigned i = 0; i < n; i++) {
		size_t kl = keyname(k, sizeof k, i % 3 == 0 ? "/img/" : "/doc/", i);
		struct edge_cache_entry *e;
		assert_int_equal(edge_cache_get(c, k, kl, &e), 0);
		assert_int_equal(edge_cache_entry_stale(e), i % 3 == 0);
		edge_cache_entry_release(e);
	}
	assert_int_equal(edge_cache_mark_stale_prefix(c, "/img/", 5, &marked), 0);
	assert_int_equal(marked, 0);
	assert_int_equal(edge_cache_mark_stale_prefix(c, "/img/000000001", 14, &marked), 0);
	assert_int_equal(marked, 0);
	assert_int_equal(edge_cache_mark_stale_prefix(c, "/doc/0000000", 12, &marked), 0);
	assert_int_equal(marked, 6); /* /doc/00000001 .. 11, i % 3 != 0 */
	assert_int_equal(edge_cache_mark_stale_prefix(c, "", 0, &marked), 0);
	assert_int_equal(marked, n - n / 3 - 6);
	edge_cache_free(c);
}

/* ---- threads ----------------------------------------------------------- */

#define HAMMER_THREADS 4
#define HAMMER_OPS     40000
#define HAMMER_KEYS    600
#define HAMMER_HOLD    4

struct hammer {
	struct edge_cache *c;
	size_t budget;
	uint64_t seed;
	unsigned hits, puts, over_budget, bad;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct edge_cache_entry *held[HAMMER_HOLD] = { 0 };
	unsigned held_key[HAMMER_HOLD] = { 0 };
	char k[32];
	for (unsigned op = 0; op < HAMMER_OPS; op++) {
		uint64_t r = splitmix(&h->seed);
		unsigned key = (unsigned)(r % HAMMER_KEYS);
		size_t kl = keyname(k, sizeof k, key % 2 ? "/odd/" : "/even/", key);
		unsigned what = (unsigned)(r >> 32) % 100;
		if (what < 55) {
			struct edge_cache_entry *e;
			if (edge_cache_get(h->c, k, kl, &e) != 0)
				continue;
			verify(e, key);
			h->hits++;
			unsigned slot = (unsigned)(r >> 40) % HAMMER_HOLD;
			if (held[slot]) /* keep it a while, across others' evictions */
				verify(held[slot], held_key[slot]);
			edge_cache_entry_release(held[slot]);
			held[slot] = e;
			held_key[slot] = key;
		} else if (what < 97) {
			struct edge_cache_entry *e = make(key, op, (r >> 16) % 3000);
			if (edge_cache_put(h->c, k, kl, e) != 0)
				h->bad++;
			edge_cache_entry_release(e);
			h->puts++;
		} else if (what < 99) {
			(void)edge_cache_mark_stale(h->c, k, kl);
		} else {
			size_t marked;
			(void)edge_cache_mark_stale_prefix(h->c, "/odd/", 5, &marked);
			struct edge_cache_stats st;
			edge_cache_stats(h->c, &st);
			if (st.used_bytes > h->budget)
				h->over_budget++;
		}
	}
	for (unsigned i = 0; i < HAMMER_HOLD; i++)
		edge_cache_entry_release(held[i]);
	return NULL;
}

static void threads_hammer(void **state)
{
	(void)state;
	const size_t budget = 128 * 1024;
	struct edge_cache *c = cache_new(budget, 4, 0);
	pthread_t t[HAMMER_THREADS];
	struct hammer h[HAMMER_THREADS];
	for (unsigned i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .c = c, .budget = budget, .seed = 1000 + i };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
	}
	unsigned hits = 0, puts = 0;
	for (unsigned i = 0; i < HAMMER_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(h[i].over_budget, 0);
		assert_int_equal(h[i].bad, 0);
		hits += h[i].hits;
		puts += h[i].puts;
	}
	struct edge_cache_stats st;
	edge_cache_stats(c, &st);
	assert_true(st.used_bytes <= budget);
	assert_int_equal(st.hits, hits);
	assert_int_equal(st.inserts, puts);
	assert_true(st.evictions > 0 && hits > 0);
	/* Whatever survived is intact and charged exactly. */
	char k[32];
	size_t sum = 0, found = 0;
	for (unsigned key = 0; key < HAMMER_KEYS; key++) {
		size_t kl = keyname(k, sizeof k, key % 2 ? "/odd/" : "/even/", key);
		struct edge_cache_entry *e;
		if (edge_cache_get(c, k, kl, &e) != 0)
			continue;
		verify(e, key);
		sum += edge_cache_charge(kl, e);
		found++;
		edge_cache_entry_release(e);
	}
	edge_cache_stats(c, &st);
	assert_int_equal(found, st.entries);
	assert_int_equal(sum, st.used_bytes);
	edge_cache_free(c);
}

/* ---- scan resistance ----------------------------------------------------- */

/* Plain LRU over equal-size objects, `cap` of them: the reference. */
struct lru {
	unsigned cap, count, head, tail; /* indexes into prev/next; UINT32_MAX: none */
	unsigned *prev, *next;
	unsigned char *in;
};

#define NIL 0xffffffffu

static void lru_unlink(struct lru *l, unsigned i)
{
	if (l->prev[i] != NIL)
		l->next[l->prev[i]] = l->next[i];
	else
		l->head = l->next[i];
	if (l->next[i] != NIL)
		l->prev[l->next[i]] = l->prev[i];
	else
		l->tail = l->prev[i];
}

static void lru_push(struct lru *l, unsigned i)
{
	l->prev[i] = NIL;
	l->next[i] = l->head;
	if (l->head != NIL)
		l->prev[l->head] = i;
	else
		l->tail = i;
	l->head = i;
}

/* Access object i; returns 1 on a hit. A miss inserts it. */
static int lru_access(struct lru *l, unsigned i)
{
	if (l->in[i]) {
		lru_unlink(l, i);
		lru_push(l, i);
		return 1;
	}
	if (l->count == l->cap) {
		unsigned v = l->tail;
		lru_unlink(l, v);
		l->in[v] = 0;
		l->count--;
	}
	lru_push(l, i);
	l->in[i] = 1;
	l->count++;
	return 0;
}

#define HOT_KEYS   2000
#define WARM_REQS  40000
#define SCAN_KEYS  60000
#define SCAN_RATIO 2 /* scan keys per hot request while the scan runs */

static size_t object_key(char *buf, size_t cap, unsigned obj)
{
	return obj < HOT_KEYS ? keyname(buf, cap, "/hot/", obj)
	                      : keyname(buf, cap, "/scn/", obj - HOT_KEYS);
}

/* Access obj in the cache as the edge does: get, or put on a miss. */
static int cache_access(struct edge_cache *c, struct edge_cache_entry *body, unsigned obj)
{
	char k[32];
	size_t kl = object_key(k, sizeof k, obj);
	struct edge_cache_entry *e;
	if (edge_cache_get(c, k, kl, &e) == 0) {
		edge_cache_entry_release(e);
		return 1;
	}
	assert_int_equal(edge_cache_put(c, k, kl, body), 0);
	return 0;
}

static void scan_resistance_vs_lru(void **state)
{
	(void)state;
	const size_t budget = 1u << 20;
	struct edge_cache *c = cache_new(budget, 1, 0);
	struct edge_cache_entry *body = make(0, 0, 1000);
	char k[32];
	size_t charge = edge_cache_charge(object_key(k, sizeof k, 0), body);
	unsigned cap = (unsigned)(budget / charge);

	/* Zipf(1.0) popularity over the hot set. */
	double *cdf = malloc(HOT_KEYS * sizeof *cdf), sum = 0;
	assert_non_null(cdf);
	for (unsigned i = 0; i < HOT_KEYS; i++)
		cdf[i] = (sum += 1.0 / (i + 1));
	struct lru l = { .cap = cap, .head = NIL, .tail = NIL };
	unsigned total = HOT_KEYS + SCAN_KEYS;
	l.prev = malloc(total * sizeof *l.prev);
	l.next = malloc(total * sizeof *l.next);
	l.in = calloc(total, 1);
	assert_true(l.prev && l.next && l.in);

	uint64_t rng = 7;
	unsigned scan_next = 0, hot_reqs = 0, hits_s3 = 0, hits_lru = 0;
	unsigned warm_s3 = 0, warm_lru = 0;
	for (unsigned step = 0; step < WARM_REQS + SCAN_KEYS / SCAN_RATIO; step++) {
		bool scanning = step >= WARM_REQS;
		if (scanning) {
			for (unsigned j = 0; j < SCAN_RATIO; j++, scan_next++) {
				cache_access(c, body, HOT_KEYS + scan_next);
				lru_access(&l, HOT_KEYS + scan_next);
			}
		}
		double u = (double)(splitmix(&rng) >> 11) / 9007199254740992.0 * sum;
		unsigned lo = 0, hi = HOT_KEYS - 1;
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		int a = cache_access(c, body, lo), b = lru_access(&l, lo);
		if (scanning) {
			hot_reqs++;
			hits_s3 += (unsigned)a;
			hits_lru += (unsigned)b;
		} else if (step >= WARM_REQS / 2) {
			warm_s3 += (unsigned)a;
			warm_lru += (unsigned)b;
		}
	}
	print_message("cache holds %u objects; hot hit ratio without scan: s3-fifo %.3f lru %.3f\n",
	              cap, warm_s3 / (WARM_REQS / 2.0), warm_lru / (WARM_REQS / 2.0));
	print_message("hot hit ratio during a %u-key scan: s3-fifo %.3f lru %.3f\n", SCAN_KEYS,
	              (double)hits_s3 / hot_reqs, (double)hits_lru / hot_reqs);
	struct edge_cache_stats st;
	edge_cache_stats(c, &st);
	assert_true(st.used_bytes <= budget);
	/* The policy keeps clearly more hot hits than LRU under the scan, and is
	 * no worse than LRU without one. */
	assert_true(hits_s3 * 10 >= hits_lru * 12);
	assert_true(warm_s3 * 100 >= warm_lru * 97);
	free(cdf);
	free(l.prev);
	free(l.next);
	free(l.in);
	edge_cache_entry_release(body);
	edge_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_copies_and_config_checks),
		cmocka_unit_test(budget_never_exceeded),
		cmocka_unit_test(oversized_object_refused),
		cmocka_unit_test(reference_outlives_eviction),
		cmocka_unit_test(put_replaces),
		cmocka_unit_test(stale_exact),
		cmocka_unit_test(stale_prefix),
		cmocka_unit_test(threads_hammer),
		cmocka_unit_test(scan_resistance_vs_lru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
