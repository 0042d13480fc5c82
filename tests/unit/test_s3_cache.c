/* s3/cache: the object-head cache and its generations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "s3/cache.h"

static struct s3_gens test_gens;

static int open_null(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void head(struct meta_bucket *b, struct meta_object *o, const char *bucket, const char *key)
{
	memset(b, 0, sizeof(*b));
	memset(o, 0, sizeof(*o));
	b->name = iov_cstr(bucket);
	b->owner = IOV_LIT("owner-1");
	o->key = iov_cstr(key);
	o->etag = IOV_LIT("0123456789abcdef0123456789abcdef");
	o->size = 42;
	o->data_file = IOV_LIT("00112233445566778899aabbccddeeff");
	memcpy(o->version_id, "null", 5);
}

static void test_hit_miss_and_generations(void **state)
{
	(void)state;
	struct s3_gens *gens_p = &test_gens;
	struct s3_cache *c = s3__cache_local(&test_gens);
	assert_non_null(c);
	struct meta_bucket b;
	struct meta_object o;
	head(&b, &o, "bkt", "a/key");
	uint64_t g0 = s3__gen_read(gens_p, b.name);
	assert_null(s3__cache_get(c, b.name, o.key, g0));

	int fd = open_null();
	const struct s3_cached *e;
	assert_true(s3__cache_put(c, g0, &b, &o, fd, &e));
	assert_non_null(e);
	assert_int_equal(e->fd, fd);
	assert_true(iov_eq(e->obj.etag, o.etag));
	assert_int_equal(e->obj.size, 42);
	s3__cache_release(e);

	const struct s3_cached *hit = s3__cache_get(c, IOV_LIT("bkt"), IOV_LIT("a/key"), g0);
	assert_non_null(hit);
	assert_true(iov_eq(hit->bucket.owner, IOV_LIT("owner-1")));
	/* Another key, another bucket: misses. */
	assert_null(s3__cache_get(c, IOV_LIT("bkt"), IOV_LIT("a/ke"), g0));
	assert_null(s3__cache_get(c, IOV_LIT("bkt2"), IOV_LIT("a/key"), g0));

	/* A write to the bucket bumps its generation: the entry is stale and
	 * dropped, but a user still holding it keeps a working descriptor. */
	s3__gen_bump(gens_p, IOV_LIT("bkt"));
	uint64_t g1 = s3__gen_read(gens_p, IOV_LIT("bkt"));
	assert_int_not_equal(g0, g1);
	assert_null(s3__cache_get(c, IOV_LIT("bkt"), IOV_LIT("a/key"), g1));
	assert_true(fd_open(fd));
	s3__cache_release(hit);
	assert_false(fd_open(fd)); /* the last reference closed it */
}

static void test_multipart_and_markers_are_not_cached(void **state)
{
	(void)state;
	struct s3_cache *c = s3__cache_local(&test_gens);
	struct meta_bucket b;
	struct meta_object o;
	head(&b, &o, "bkt", "mp");
	o.part_count = 2;
	int fd = open_null();
	const struct s3_cached *e;
	assert_false(s3__cache_put(c, 0, &b, &o, fd, &e));
	assert_null(e);
	assert_true(fd_open(fd)); /* still the caller's */
	o.part_count = 0;
	o.is_delete_marker = true;
	assert_false(s3__cache_put(c, 0, &b, &o, fd, &e));
	close(fd);
}

static void test_bounded_with_lru_eviction(void **state)
{
	(void)state;
	struct s3_cache *c = s3__cache_local(&test_gens);
	struct meta_bucket b;
	struct meta_object o;
	char key[32];
	int first_fd = -1;
	s3__cache_limit(500); /* a small table: few descriptors open at once */
	for (int i = 0; i < 510; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		head(&b, &o, "lru", key);
		int fd = open_null();
		if (i == 0)
			first_fd = fd;
		const struct s3_cached *e;
		assert_true(s3__cache_put(c, 7, &b, &o, fd, &e));
		s3__cache_release(e);
		if (i == 0) {
			/* Touch it now and then so it stays recent. */
			continue;
		}
		if (i % 100 == 0) {
			const struct s3_cached *h =
			    s3__cache_get(c, IOV_LIT("lru"), IOV_LIT("k0"), 7);
			assert_non_null(h);
			s3__cache_release(h);
		}
	}
	assert_true(fd_open(first_fd));                                  /* recently used: kept */
	assert_null(s3__cache_get(c, IOV_LIT("lru"), IOV_LIT("k1"), 7)); /* the oldest: evicted */
	const struct s3_cached *last = s3__cache_get(c, IOV_LIT("lru"), IOV_LIT("k509"), 7);
	assert_non_null(last);
	s3__cache_release(last);
	s3__cache_limit(S3_CACHE_ENTRIES);
}

static void test_writes_sweep_stale_descriptors(void **state)
{
	(void)state;
	struct s3_cache *c = s3__cache_local(&test_gens);
	s3__cache_sweep_interval(0);
	struct meta_bucket b;
	struct meta_object o;
	head(&b, &o, "swept", "big");
	int fd = open_null();
	const struct s3_cached *e;
	assert_true(s3__cache_put(c, s3__gen_read(&test_gens, b.name), &b, &o, fd, &e));
	s3__cache_release(e);
	/* The bucket is written (the object deleted, say); the next lookup of
	 * anything sweeps the entry out and closes its descriptor. */
	s3__gen_bump(&test_gens, IOV_LIT("swept"));
	assert_true(fd_open(fd));
	assert_null(s3__cache_get(c, IOV_LIT("other"), IOV_LIT("k"), 0));
	assert_false(fd_open(fd));
	s3__cache_sweep_interval(S3_CACHE_SWEEP_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss_and_generations),
		cmocka_unit_test(test_multipart_and_markers_are_not_cached),
		cmocka_unit_test(test_bounded_with_lru_eviction),
		cmocka_unit_test(test_writes_sweep_stale_descriptors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
