/*
 * The edge's disk tier: a response written and read back through its
 * descriptor (meta, headers, body bytes), the index found again after a
 * close and reopen, torn and foreign files handled by the scan, tmp/
 * emptied, CLOCK sparing an entry read since the hand passed, the budget
 * holding after every put, stale marks (exact and prefix) surviving a
 * reopen, the object cap, replacement, the directory lock, and threads
 * writing and reading at once under a small budget.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "edge/behavior.h"
#include "edge/cache.h"
#include "edge/disk.h"

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct fx {
	char root[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/edge-disk-XXXXXX");
	if (!f || !mkdtemp(f->root))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct edge_disk *open_disk(const struct fx *f, uint64_t budget, uint64_t cap)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/cache", f->root);
	struct edge_disk_config cfg = { .dir = dir,
		                        .budget_bytes = budget,
		                        .max_object_bytes = cap };
	struct edge_disk *d = NULL;
	assert_int_equal(edge_disk_open(&cfg, &d), 0);
	return d;
}

static unsigned char pattern(const char *key, size_t i)
{
	return (unsigned char)(key[0] * 31u + strlen(key) * 7u + i);
}

/* An entry whose headers name the key and whose body is a pattern of it. */
static struct edge_cache_entry *make(const char *key, size_t body_len, int status)
{
	char hdr[128];
	int hl = snprintf(hdr, sizeof hdr, "Content-Type: text/plain\r\nX-Key: %s\r\n", key);
	unsigned char *body = malloc(body_len ? body_len : 1);
	assert_non_null(body);
	for (size_t i = 0; i < body_len; i++)
		body[i] = pattern(key, i);
	struct edge_cache_meta m = { .stored = 1700000000,
		                     .ttl = 60,
		                     .swr = 5,
		                     .sie = 30,
		                     .last_modified = 1690000000,
		                     .status = status,
		                     .etag = IOV_LIT("\"e-tag\"") };
	struct edge_cache_entry *e = NULL;
	assert_int_equal(edge_cache_entry_new(&m, iov_make(hdr, (size_t)hl),
	                                      iov_make((const char *)body, body_len), &e),
	                 0);
	free(body);
	return e;
}

static void put(struct edge_disk *d, const char *key, size_t body_len)
{
	struct edge_cache_entry *e = make(key, body_len, 200);
	assert_int_equal(edge_disk_put(d, key, strlen(key), e), 0);
	edge_cache_entry_release(e);
}

/* Get key and check everything against what make() built. */
static bool check(struct edge_disk *d, const char *key, size_t body_len, bool *stale)
{
	struct edge_disk_hit h;
	int rc = edge_disk_get(d, key, strlen(key), &h);
	if (rc == ERR_NOT_FOUND)
		return false;
	assert_int_equal(rc, 0);
	struct edge_cache_entry *want = make(key, body_len, 200);
	assert_int_equal(h.entry->meta.status, 200);
	assert_int_equal(h.entry->meta.ttl, 60);
	assert_int_equal(h.entry->meta.swr, 5);
	assert_int_equal(h.entry->meta.sie, 30);
	assert_int_equal(h.entry->meta.stored, 1700000000);
	assert_int_equal(h.entry->meta.last_modified, 1690000000);
	assert_true(iov_eq(h.entry->meta.etag, IOV_LIT("\"e-tag\"")));
	assert_true(iov_eq(h.entry->headers, want->headers));
	assert_int_equal(h.entry->body.len, 0);
	assert_int_equal(h.body_len, body_len);
	char *got = malloc(body_len + 1);
	assert_int_equal(pread(h.fd, got, body_len + 1, (off_t)h.body_off), (ssize_t)body_len);
	assert_memory_equal(got, want->body.base, body_len);
	free(got);
	edge_cache_entry_release(want);
	if (stale)
		*stale = h.stale;
	edge_disk_hit_release(&h);
	return true;
}

/* DIR/cache/objects/ab/<hex> of key. */
static void file_of(const struct fx *f, const char *key, char *out, size_t cap)
{
	uint8_t dg[SHA256_LEN];
	char hex[SHA256_LEN * 2 + 1];
	edge_cache_key_hash(key, strlen(key), dg);
	hex_encode(dg, SHA256_LEN, hex);
	snprintf(out, cap, "%s/cache/objects/%.2s/%s", f->root, hex, hex);
}

/* ---- tests ---- */

static void write_and_read_back(void **state)
{
	struct edge_disk *d = open_disk(*state, 1 << 20, 0);
	put(d, "GET|d.example|/a", 10000);
	put(d, "GET|d.example|/empty", 0);
	bool stale = true;
	assert_true(check(d, "GET|d.example|/a", 10000, &stale));
	assert_false(stale);
	assert_true(check(d, "GET|d.example|/empty", 0, NULL));
	assert_false(check(d, "GET|d.example|/missing", 0, NULL));
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.used_bytes, 4096 * 4); /* 10000+ bytes: 3 blocks; the empty one 1 */
	edge_disk_close(d);
}

static void found_again_after_reopen(void **state)
{
	struct fx *f = *state;
	struct edge_disk *d = open_disk(f, 1 << 20, 0);
	put(d, "k1", 100);
	put(d, "k2", 5000);
	put(d, "k3", 70000);
	edge_disk_close(d);
	d = open_disk(f, 1 << 20, 0);
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.dropped, 0);
	assert_true(check(d, "k1", 100, NULL));
	assert_true(check(d, "k2", 5000, NULL));
	assert_true(check(d, "k3", 70000, NULL));
	edge_disk_close(d);
}

static void torn_foreign_and_tmp_files(void **state)
{
	struct fx *f = *state;
	struct edge_disk *d = open_disk(f, 1 << 20, 0);
	put(d, "whole", 3000);
	put(d, "torn", 3000);
	put(d, "moved", 3000);
	edge_disk_close(d);
	char path[256], other[256], p2[300];
	file_of(f, "torn", path, sizeof(path));
	assert_int_equal(truncate(path, 3000), 0); /* a crash mid-write, say */
	/* A valid file under another key's name is not trusted either. */
	file_of(f, "moved", path, sizeof(path));
	file_of(f, "elsewhere", other, sizeof(other));
	char dirpart[256];
	snprintf(dirpart, sizeof(dirpart), "%.*s", (int)(strrchr(other, '/') - other), other);
	mkdir(dirpart, 0700);
	assert_int_equal(rename(path, other), 0);
	/* Files that are not the cache's are left alone; tmp/ is emptied. */
	snprintf(p2, sizeof(p2), "%s/cache/objects/README", f->root);
	FILE *fp = fopen(p2, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(p2, sizeof(p2), "%s/cache/tmp/123-4", f->root);
	fp = fopen(p2, "w");
	assert_non_null(fp);
	fclose(fp);

	d = open_disk(f, 1 << 20, 0);
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.dropped, 2);
	assert_true(check(d, "whole", 3000, NULL));
	assert_false(check(d, "torn", 3000, NULL));
	assert_false(check(d, "moved", 3000, NULL));
	assert_false(check(d, "elsewhere", 3000, NULL));
	file_of(f, "torn", path, sizeof(path));
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_not_equal(access(other, F_OK), 0);
	snprintf(p2, sizeof(p2), "%s/cache/objects/README", f->root);
	assert_int_equal(access(p2, F_OK), 0);
	snprintf(p2, sizeof(p2), "%s/cache/tmp/123-4", f->root);
	assert_int_not_equal(access(p2, F_OK), 0);
	edge_disk_close(d);
}

static void clock_spares_what_was_read(void **state)
{
	/* 16 blocks; each entry is 2 blocks (a 5000-byte body). */
	struct edge_disk *d = open_disk(*state, 16 * 4096, 0);
	char key[16];
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "e%d", i);
		put(d, key, 5000);
	}
	assert_true(check(d, "e0", 5000, NULL)); /* the oldest, read */
	put(d, "new", 5000);
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_true(st.used_bytes <= st.budget_bytes);
	assert_int_equal(st.evictions, 1);
	assert_true(check(d, "e0", 5000, NULL));  /* second chance */
	assert_false(check(d, "e1", 5000, NULL)); /* the next oldest went */
	assert_true(check(d, "new", 5000, NULL));
	/* Many more puts: the budget holds after each. */
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "m%d", i);
		put(d, key, 1000 + (size_t)i * 150);
		edge_disk_stats(d, &st);
		assert_true(st.used_bytes <= st.budget_bytes);
	}
	edge_disk_close(d);
	/* A smaller budget at the next open evicts down to it. */
	d = open_disk(*state, 4 * 4096, 0);
	edge_disk_stats(d, &st);
	assert_true(st.used_bytes <= 4 * 4096);
	assert_true(st.dropped > 0);
	edge_disk_close(d);
}

static void stale_marks_survive_reopen(void **state)
{
	struct fx *f = *state;
	struct edge_disk *d = open_disk(f, 1 << 20, 0);
	put(d, "GET|d|/img/a", 10);
	put(d, "GET|d|/img/b", 10);
	put(d, "GET|d|/css/c", 10);
	put(d, "GET|d|/x", 10);
	assert_int_equal(edge_disk_mark_stale(d, "GET|d|/x", 8), 0);
	assert_int_equal(edge_disk_mark_stale(d, "GET|d|/nope", 11), ERR_NOT_FOUND);
	size_t marked = 0;
	assert_int_equal(edge_disk_mark_stale_prefix(d, "GET|d|/img/", 11, &marked), 0);
	assert_int_equal(marked, 2);
	assert_int_equal(edge_disk_mark_stale_prefix(d, "GET|d|/img/", 11, &marked), 0);
	assert_int_equal(marked, 0); /* already stale */
	edge_disk_close(d);
	d = open_disk(f, 1 << 20, 0);
	bool stale;
	assert_true(check(d, "GET|d|/img/a", 10, &stale));
	assert_true(stale);
	assert_true(check(d, "GET|d|/img/b", 10, &stale));
	assert_true(stale);
	assert_true(check(d, "GET|d|/x", 10, &stale));
	assert_true(stale);
	assert_true(check(d, "GET|d|/css/c", 10, &stale));
	assert_false(stale);
	/* A fresh copy replaces the stale one. */
	put(d, "GET|d|/x", 10);
	assert_true(check(d, "GET|d|/x", 10, &stale));
	assert_false(stale);
	edge_disk_close(d);
}

static void object_cap_and_replacement(void **state)
{
	struct fx *f = *state;
	struct edge_disk *d = open_disk(f, 1 << 20, 8192);
	struct edge_cache_entry *e = make("big", 9000, 200);
	assert_int_equal(edge_disk_put(d, "big", 3, e), ERR_TOO_BIG);
	edge_cache_entry_release(e);
	assert_false(check(d, "big", 9000, NULL));
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_int_equal(st.entries, 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/cache/tmp", f->root);
	DIR *dir = opendir(p);
	assert_non_null(dir);
	int n = 0;
	for (struct dirent *de; (de = readdir(dir));)
		n += de->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(n, 0); /* the refused write left nothing */
	e = make("x", 1, 200);
	assert_int_equal(edge_disk_put(d, "", 0, e), ERR_INVALID);
	edge_cache_entry_release(e);

	put(d, "same", 100);
	struct edge_disk_hit old;
	assert_int_equal(edge_disk_get(d, "same", 4, &old), 0);
	put(d, "same", 3000); /* replaced while a reader holds the old file */
	edge_disk_stats(d, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.used_bytes, 4096);
	assert_true(check(d, "same", 3000, NULL));
	char buf[100];
	assert_int_equal(pread(old.fd, buf, 100, (off_t)old.body_off), 100);
	assert_int_equal((unsigned char)buf[99], pattern("same", 99));
	edge_disk_hit_release(&old);
	edge_disk_close(d);
}

static void directory_is_locked(void **state)
{
	struct fx *f = *state;
	struct edge_disk *d = open_disk(f, 1 << 20, 0);
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/cache", f->root);
	struct edge_disk_config cfg = { .dir = dir, .budget_bytes = 1 << 20 };
	struct edge_disk *d2 = NULL;
	assert_int_equal(edge_disk_open(&cfg, &d2), ERR_BLOB_LOCKED);
	assert_null(d2);
	cfg.budget_bytes = 100;
	assert_int_equal(edge_disk_open(&cfg, &d2), ERR_INVALID);
	edge_disk_close(d);
}

struct worker {
	struct edge_disk *d;
	int id;
	int hits;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[32];
	for (int i = 0; i < 200; i++) {
		int k = (i * 7 + w->id * 13) % 40;
		snprintf(key, sizeof(key), "key-%d", k);
		size_t len = 500 + (size_t)k * 100;
		if (i % 3 == 0) {
			struct edge_cache_entry *e = make(key, len, 200);
			int rc = edge_disk_put(w->d, key, strlen(key), e);
			edge_cache_entry_release(e);
			if (rc != 0)
				return "put failed";
		} else {
			struct edge_disk_hit h;
			int rc = edge_disk_get(w->d, key, strlen(key), &h);
			if (rc == 0) {
				char *buf = malloc(len);
				if (h.body_len != len ||
				    pread(h.fd, buf, len, (off_t)h.body_off) != (ssize_t)len ||
				    (unsigned char)buf[len - 1] != pattern(key, len - 1)) {
					free(buf);
					edge_disk_hit_release(&h);
					return "torn read";
				}
				free(buf);
				edge_disk_hit_release(&h);
				w->hits++;
			} else if (rc != ERR_NOT_FOUND) {
				return "get failed";
			}
		}
	}
	return NULL;
}

static void threads_at_once(void **state)
{
	struct edge_disk *d = open_disk(*state, 24 * 4096, 0);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ d, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	int hits = 0;
	for (int i = 0; i < 4; i++) {
		void *res;
		pthread_join(t[i], &res);
		assert_null(res);
		hits += w[i].hits;
	}
	assert_true(hits > 0);
	struct edge_disk_stats st;
	edge_disk_stats(d, &st);
	assert_true(st.used_bytes <= st.budget_bytes);
	assert_true(st.evictions > 0);
	edge_disk_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(found_again_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_foreign_and_tmp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(clock_spares_what_was_read, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_marks_survive_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(object_cap_and_replacement, setup, teardown),
		cmocka_unit_test_setup_teardown(directory_is_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(threads_at_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
