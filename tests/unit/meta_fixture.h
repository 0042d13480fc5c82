/*
 * Shared by the test_meta_* programs: a fresh database in a mkdtemp
 * directory under /tmp (removed afterwards), an arena, a test clock, and
 * short helpers for common calls. Header-only; functions are static inline.
 */
#ifndef MERIDIAN_TESTS_META_FIXTURE_H
#define MERIDIAN_TESTS_META_FIXTURE_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hlc.h"
#include "meta/bucket.h"
#include "meta/db.h"
#include "meta/internal.h"
#include "meta/list.h"
#include "meta/object.h"
#include "meta/upload.h"

#define MFX_ARENA_MAX (256u << 20)

struct mfx {
	char dir[64];
	char path[128];
	struct meta_db *db;
	struct arena *a;
	struct hlc clock;
	uint64_t wall; /* the test's wall clock, ms */
};

/* Remove a flat directory and its files. */
static inline void mfx_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char p[512];
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static inline void mfx_tempdir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/meridian-meta-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static inline int mfx_setup(void **state)
{
	struct mfx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	mfx_tempdir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
	int rc = meta_db_open(f->path, NULL, &f->db);
	if (rc)
		fail_msg("meta_db_open: %s", err_name(rc));
	f->a = arena_new(MFX_ARENA_MAX);
	assert_non_null(f->a);
	hlc_init(&f->clock);
	f->wall = 1700000000000ull;
	*state = f;
	return 0;
}

static inline int mfx_teardown(void **state)
{
	struct mfx *f = *state;
	meta_db_close(f->db);
	arena_free(f->a);
	mfx_rmdir(f->dir);
	free(f);
	return 0;
}

/* A timestamp one ms after the last: distinct and increasing. */
static inline uint64_t mfx_tick(struct mfx *f)
{
	return hlc_tick(&f->clock, ++f->wall);
}

static inline void mfx_bucket(struct mfx *f, const char *name, enum meta_versioning v)
{
	struct meta_bucket b = {
		.name = iov_cstr(name),
		.owner = IOV_LIT("owner-1"),
		.region = IOV_LIT("eu-west-1"),
		.created_ms = (int64_t)f->wall,
		.versioning = v,
	};
	int rc = meta_bucket_create(f->db, &b);
	if (rc)
		fail_msg("bucket_create %s: %s", name, err_name(rc));
}

/* Put a version of key (n bytes) with data file `file`; returns the
 * result code, fills o and replaced. */
static inline int mfx_put_n(struct mfx *f, const char *bucket, const char *key, size_t n,
                            const char *file, struct meta_object *o, struct meta_files *replaced)
{
	memset(o, 0, sizeof(*o));
	o->key = iov_make(key, n);
	o->hlc = mfx_tick(f);
	o->region = 1;
	o->size = strlen(file);
	o->etag = IOV_LIT("0123456789abcdef0123456789abcdef");
	o->last_modified_ms = (int64_t)f->wall;
	o->data_file = iov_cstr(file);
	o->content_type = IOV_LIT("text/plain");
	o->owner = IOV_LIT("owner-1");
	return meta_object_put(f->db, iov_cstr(bucket), o, f->a, replaced);
}

static inline int mfx_put(struct mfx *f, const char *bucket, const char *key, const char *file,
                          struct meta_object *o, struct meta_files *replaced)
{
	return mfx_put_n(f, bucket, key, strlen(key), file, o, replaced);
}

/* Put that must succeed. */
static inline void mfx_put_ok(struct mfx *f, const char *bucket, const char *key, const char *file,
                              struct meta_object *o)
{
	struct meta_files rep;
	int rc = mfx_put(f, bucket, key, file, o, &rep);
	if (rc)
		fail_msg("put %s: %s (%s)", key, err_name(rc), meta_db_errmsg(f->db));
}

static inline int mfx_delete(struct mfx *f, const char *bucket, const char *key, const char *vid,
                             struct meta_delete_result *out)
{
	struct meta_delete d = {
		.key = iov_cstr(key),
		.version_id = iov_cstr(vid),
		.hlc = mfx_tick(f),
		.region = 1,
		.now_ms = (int64_t)f->wall,
		.owner = IOV_LIT("owner-1"),
	};
	return meta_object_delete(f->db, iov_cstr(bucket), &d, f->a, out);
}

/* Whether files holds exactly the one file `name`. */
static inline void mfx_files_are(const struct meta_files *files, const char *const *names, size_t n)
{
	if (files->n != n)
		fail_msg("%zu files, want %zu", files->n, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < files->n; j++)
			found |= iov_eq(files->ids[j], iov_cstr(names[i]));
		if (!found)
			fail_msg("file %s missing", names[i]);
	}
}

/* Bulk changes in one transaction (fsync once). */
static inline void mfx_begin(struct mfx *f)
{
	assert_int_equal(meta__exec(f->db, META_SQL_BEGIN_WRITE), 0);
}

static inline void mfx_commit(struct mfx *f)
{
	assert_int_equal(meta__exec(f->db, META_SQL_COMMIT), 0);
}

#endif
