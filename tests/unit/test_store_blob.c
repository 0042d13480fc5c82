/*
 * Blobs on disk: bytes and digests read back equal what was written (MD5
 * and SHA against OpenSSL one-shot digests, CRC32 against zlib), nothing
 * shows under objects/ before commit, orphans and unreferenced blobs go,
 * ids are the only names accepted, the size cap holds, many threads commit
 * at once, and a writer killed with SIGKILL leaves only what it committed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "base/err.h"
#include "store/blob.h"

/* ---- fixtures ---- */

struct fx {
	char root[64];
	char data[96];
	struct blob_store *s;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof(f->root), "%s/blobtest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	if (blob_store_open(f->data, &f->s) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	blob_store_close(f->s);
	rm_rf(f->root);
	free(f);
	return 0;
}

static const char *sub(const struct fx *f, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", f->data, name);
	return out;
}

static size_t counted;

static int count_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	if (flag == FTW_F)
		counted++;
	return 0;
}

/* Regular files anywhere under DATA/<name>. */
static size_t files_under(const struct fx *f, const char *name)
{
	char p[160];
	counted = 0;
	nftw(sub(f, name, p, sizeof(p)), count_file, 16, FTW_PHYS);
	return counted;
}

/* Deterministic bytes (xorshift), different for each seed. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

static void evp_digest(const char *name, const void *p, size_t n, uint8_t *out)
{
	unsigned len;
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
	assert_non_null(md);
	assert_int_equal(EVP_Digest(p, n, out, &len, md, NULL), 1);
	EVP_MD_free(md);
}

/* Read a whole blob back through blob_open. */
static uint8_t *read_blob(struct blob_store *s, const char *id, uint64_t *size)
{
	int fd;
	assert_int_equal(blob_open(s, id, &fd, size), 0);
	int flags = fcntl(fd, F_GETFD);
	assert_true(flags & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	uint8_t *p = malloc(*size + 1);
	size_t got = 0;
	while (got < *size) {
		ssize_t k = pread(fd, p + got, *size - got, (off_t)got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	close(fd);
	return p;
}

/* Write n bytes of seed's data in uneven pieces (some smaller than the
 * writer's buffer, some larger), commit, and return the info. */
static void put(struct blob_store *s, const struct blob_writer_opts *o, size_t n, uint64_t seed,
                struct blob_info *info)
{
	uint8_t *p = malloc(n + 1);
	fill(p, n, seed);
	struct blob_writer *w;
	assert_int_equal(blob_writer_new(s, o, &w), 0);
	static const size_t steps[] = { 1, 1000, BLOB_WRITE_BUF + 5, 7, 3 * BLOB_WRITE_BUF, 65536 };
	for (size_t off = 0, i = 0; off < n; i++) {
		size_t k = steps[(i + seed) % 6];
		if (k > n - off)
			k = n - off;
		assert_int_equal(blob_write(w, p + off, k), 0);
		off += k;
	}
	assert_int_equal(blob_writer_commit(w, info), 0);
	free(p);
}

/* ---- tests ---- */

static const size_t sizes[] = {
	0, 1, 4095, BLOB_WRITE_BUF - 1, BLOB_WRITE_BUF, BLOB_WRITE_BUF + 1, 3 * BLOB_WRITE_BUF + 17,
};

static void expect_checksum(enum checksum_alg alg, const uint8_t *p, size_t n,
                            const struct blob_info *info)
{
	uint8_t want[CHECKSUM_MAX_LEN];
	size_t len;
	switch (alg) {
	case CHECKSUM_SHA1:
		evp_digest("SHA1", p, n, want);
		len = 20;
		break;
	case CHECKSUM_SHA256:
		evp_digest("SHA256", p, n, want);
		len = 32;
		break;
	case CHECKSUM_CRC32: {
		uLong c = crc32(0, p, (uInt)n);
		for (int i = 0; i < 4; i++)
			want[i] = (uint8_t)(c >> (24 - 8 * i));
		len = 4;
		break;
	}
	default: {
		/* CRC32C and CRC64NVME: the module's own one-piece digest (its
		 * check values are tested in test_checksum). */
		struct checksum *c;
		assert_int_equal(checksum_new(alg, &c), 0);
		checksum_update(c, p, n);
		len = checksum_final(c, want);
		checksum_free(c);
	}
	}
	assert_int_equal(info->checksum_len, len);
	assert_memory_equal(info->checksum, want, len);
}

static void write_commit_read(void **state)
{
	struct fx *f = *state;
	enum checksum_alg algs[] = { CHECKSUM_CRC32, CHECKSUM_CRC32C, CHECKSUM_CRC64NVME,
		                     CHECKSUM_SHA1, CHECKSUM_SHA256 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		enum checksum_alg alg = algs[i % 5];
		struct blob_writer_opts o = { .with_checksum = true, .checksum = alg };
		struct blob_info info;
		put(f->s, &o, n, i, &info);

		uint8_t *want = malloc(n + 1), md5_want[16];
		fill(want, n, i);
		evp_digest("MD5", want, n, md5_want);
		assert_int_equal(info.size, n);
		assert_memory_equal(info.md5, md5_want, 16);
		expect_checksum(alg, want, n, &info);
		assert_true(blob_id_valid(info.id));

		/* At objects/ab/cd/<id>, and nothing left in tmp/. */
		char rel[64], path[192];
		snprintf(rel, sizeof(rel), "objects/%.2s/%.2s/%s", info.id, info.id + 2, info.id);
		struct stat st;
		assert_int_equal(stat(sub(f, rel, path, sizeof(path)), &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(files_under(f, "tmp"), 0);

		uint64_t size;
		uint8_t *got = read_blob(f->s, info.id, &size);
		assert_int_equal(size, n);
		assert_memory_equal(got, want, n);
		free(got);
		free(want);
	}
	assert_int_equal(files_under(f, "objects"), sizeof(sizes) / sizeof(sizes[0]));
}

static void without_checksum(void **state)
{
	struct fx *f = *state;
	struct blob_info info;
	put(f->s, NULL, 5000, 42, &info);
	assert_int_equal(info.checksum_len, 0);
	assert_int_equal(info.size, 5000);
}

static void finish_before_commit(void **state)
{
	struct fx *f = *state;
	struct blob_writer *w;
	struct blob_info fin, com;
	assert_int_equal(blob_writer_new(f->s, NULL, &w), 0);
	assert_int_equal(blob_write(w, "hello", 5), 0);
	assert_int_equal(blob_writer_finish(w, &fin), 0);
	assert_string_equal(fin.id, "");
	assert_int_equal(fin.size, 5);
	uint8_t want[16];
	evp_digest("MD5", "hello", 5, want);
	assert_memory_equal(fin.md5, want, 16);
	/* Finished but not committed: durable in tmp/, invisible in objects/. */
	assert_int_equal(files_under(f, "objects"), 0);
	assert_int_equal(files_under(f, "tmp"), 1);
	assert_int_equal(blob_writer_commit(w, &com), 0);
	assert_memory_equal(com.md5, want, 16);
	assert_int_equal(com.size, 5);
	assert_int_equal(files_under(f, "objects"), 1);
	assert_int_equal(files_under(f, "tmp"), 0);
}

static void abort_leaves_nothing(void **state)
{
	struct fx *f = *state;
	uint8_t p[1000];
	fill(p, sizeof(p), 3);
	for (int finished = 0; finished < 2; finished++) {
		struct blob_writer *w;
		assert_int_equal(blob_writer_new(f->s, NULL, &w), 0);
		assert_int_equal(blob_write(w, p, sizeof(p)), 0);
		assert_int_equal(files_under(f, "tmp"), 1);
		if (finished) {
			struct blob_info info;
			assert_int_equal(blob_writer_finish(w, &info), 0);
		}
		blob_writer_abort(w);
		assert_int_equal(files_under(f, "tmp"), 0);
		assert_int_equal(files_under(f, "objects"), 0);
	}
	blob_writer_abort(NULL);
}

static void orphans_removed_on_open(void **state)
{
	struct fx *f = *state;
	struct blob_info kept;
	put(f->s, NULL, 100, 1, &kept);
	blob_store_close(f->s);
	f->s = NULL;

	/* What interrupted writers leave: files in tmp/ of any name. */
	const char *names[] = { "tmp/0123456789abcdef0123456789abcdef", "tmp/x", "tmp/.probe" };
	for (size_t i = 0; i < 3; i++) {
		char path[192];
		int fd = open(sub(f, names[i], path, sizeof(path)), O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "abc", 3), 3);
		close(fd);
	}
	assert_int_equal(files_under(f, "tmp"), 3);
	assert_int_equal(blob_store_open(f->data, &f->s), 0);
	assert_int_equal(files_under(f, "tmp"), 0);
	uint64_t size;
	free(read_blob(f->s, kept.id, &size));
	assert_int_equal(size, 100);
}

struct refs {
	char ids[10][BLOB_ID_LEN + 1];
	unsigned asked;
	int fail;
};

/* Even-numbered blobs are referenced. */
static int referenced(void *arg, const char *id)
{
	struct refs *r = arg;
	r->asked++;
	if (r->fail)
		return r->fail;
	for (int i = 0; i < 10; i++) {
		if (strcmp(r->ids[i], id) == 0)
			return i % 2 == 0;
	}
	return 0;
}

static void gc_unreferenced(void **state)
{
	struct fx *f = *state;
	struct refs r = { 0 };
	for (int i = 0; i < 10; i++) {
		struct blob_info info;
		put(f->s, NULL, 10 + (size_t)i, (uint64_t)i, &info);
		memcpy(r.ids[i], info.id, sizeof(info.id));
	}
	/* Not blobs: a stray file, and a valid id in the wrong directory. */
	char path[192];
	const char *strays[] = { "objects/README",
		                 "objects/00/00/ffffffffffffffffffffffffffffffff" };
	mkdir(sub(f, "objects/00", path, sizeof(path)), 0700);
	mkdir(sub(f, "objects/00/00", path, sizeof(path)), 0700);
	for (int i = 0; i < 2; i++) {
		int fd = open(sub(f, strays[i], path, sizeof(path)), O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}

	/* A failing lookup stops the walk and removes nothing. */
	uint64_t removed = 99;
	r.fail = ERR_IO;
	assert_int_equal(blob_store_gc(f->s, referenced, &r, &removed), ERR_IO);
	assert_int_equal(removed, 0);
	assert_int_equal(r.asked, 1);
	assert_int_equal(files_under(f, "objects"), 12);

	r.fail = 0;
	r.asked = 0;
	assert_int_equal(blob_store_gc(f->s, referenced, &r, &removed), 0);
	assert_int_equal(r.asked, 10);
	assert_int_equal(removed, 5);
	assert_int_equal(files_under(f, "objects"), 7);
	for (int i = 0; i < 10; i++) {
		int fd;
		uint64_t size;
		int rc = blob_open(f->s, r.ids[i], &fd, &size);
		if (i % 2 == 0) {
			assert_int_equal(rc, 0);
			close(fd);
		} else {
			assert_int_equal(rc, ERR_NOT_FOUND);
		}
	}
}

static void invalid_ids_refused(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {
		"",
		"../../../../etc/passwd",
		"0123456789abcdef0123456789abcde",   /* 31 */
		"0123456789abcdef0123456789abcdef0", /* 33 */
		"0123456789ABCDEF0123456789abcdef",
		"0123456789abcdef0123456789abcde/",
		"0123456789abcdef0123456789abcdeg",
		"..23456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = -1;
		uint64_t size;
		assert_false(blob_id_valid(bad[i]));
		assert_int_equal(blob_open(f->s, bad[i], &fd, &size), ERR_INVALID);
		assert_int_equal(fd, -1);
		assert_int_equal(blob_remove(f->s, bad[i], false), ERR_INVALID);
	}
	int fd;
	uint64_t size;
	const char *missing = "0123456789abcdef0123456789abcdef";
	assert_true(blob_id_valid(missing));
	assert_int_equal(blob_open(f->s, missing, &fd, &size), ERR_NOT_FOUND);
	assert_int_equal(blob_remove(f->s, missing, true), ERR_NOT_FOUND);
}

static void size_cap(void **state)
{
	struct fx *f = *state;
	struct blob_writer_opts o = { .max_size = 100 };
	uint8_t p[100] = { 0 };
	struct blob_writer *w;
	struct blob_info info;

	/* Exactly the cap is fine. */
	assert_int_equal(blob_writer_new(f->s, &o, &w), 0);
	assert_int_equal(blob_write(w, p, 60), 0);
	assert_int_equal(blob_write(w, p, 40), 0);
	assert_int_equal(blob_writer_commit(w, &info), 0);
	assert_int_equal(info.size, 100);

	/* One byte over is refused, stays refused, and commits nothing. */
	assert_int_equal(blob_writer_new(f->s, &o, &w), 0);
	assert_int_equal(blob_write(w, p, 60), 0);
	assert_int_equal(blob_write(w, p, 41), ERR_TOO_BIG);
	assert_int_equal(blob_write(w, p, 1), ERR_TOO_BIG);
	assert_int_equal(blob_writer_commit(w, &info), ERR_TOO_BIG);
	assert_int_equal(files_under(f, "objects"), 1);
	assert_int_equal(files_under(f, "tmp"), 0);
}

static void remove_blob(void **state)
{
	struct fx *f = *state;
	struct blob_info a, b;
	put(f->s, NULL, 300, 1, &a);
	put(f->s, NULL, 300, 2, &b);
	int fd;
	uint64_t size;
	assert_int_equal(blob_open(f->s, a.id, &fd, &size), 0);
	assert_int_equal(blob_remove(f->s, a.id, true), 0);
	assert_int_equal(blob_remove(f->s, b.id, false), 0);
	assert_int_equal(blob_remove(f->s, a.id, false), ERR_NOT_FOUND);
	int fd2;
	assert_int_equal(blob_open(f->s, a.id, &fd2, &size), ERR_NOT_FOUND);
	assert_int_equal(blob_open(f->s, b.id, &fd2, &size), ERR_NOT_FOUND);
	/* An open reader keeps its bytes. */
	uint8_t got[300], want[300];
	fill(want, 300, 1);
	assert_int_equal(pread(fd, got, 300, 0), 300);
	assert_memory_equal(got, want, 300);
	close(fd);
	assert_int_equal(files_under(f, "objects"), 0);
}

static void open_refusals(void **state)
{
	struct fx *f = *state;
	/* A second handle on the same directory. */
	struct blob_store *s2 = NULL;
	assert_int_equal(blob_store_open(f->data, &s2), ERR_BLOB_LOCKED);
	assert_null(s2);
	/* Not a directory. */
	char path[192];
	int fd = open(sub(f, "plain", path, sizeof(path)), O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(blob_store_open(path, &s2), ERR_INVALID);
	/* A missing parent is not created. */
	assert_int_equal(blob_store_open(sub(f, "no/such", path, sizeof(path)), &s2), ERR_IO);
	/* Created directories are private. */
	struct stat st;
	assert_int_equal(stat(sub(f, "objects", path, sizeof(path)), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

#define THREADS           6
#define BLOBS_PER_THREAD  12
#define THREAD_BLOB_BYTES 70000

struct worker {
	struct blob_store *s;
	unsigned index;
	char ids[BLOBS_PER_THREAD][BLOB_ID_LEN + 1];
	int failed;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	uint8_t *p = malloc(THREAD_BLOB_BYTES);
	for (unsigned i = 0; i < BLOBS_PER_THREAD; i++) {
		uint64_t seed = wk->index * 1000 + i;
		size_t n = THREAD_BLOB_BYTES - i * 997;
		fill(p, n, seed);
		struct blob_writer_opts o = { .with_checksum = true, .checksum = CHECKSUM_CRC32C };
		struct blob_writer *w;
		struct blob_info info;
		if (blob_writer_new(wk->s, &o, &w) != 0) {
			wk->failed = 1;
			break;
		}
		for (size_t off = 0; off < n; off += 4096) {
			size_t k = n - off < 4096 ? n - off : 4096;
			if (blob_write(w, p + off, k) != 0)
				wk->failed = 1;
		}
		if (blob_writer_commit(w, &info) != 0 || info.size != n) {
			wk->failed = 1;
			break;
		}
		memcpy(wk->ids[i], info.id, sizeof(info.id));
	}
	free(p);
	return NULL;
}

static void concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct worker wk[THREADS];
	pthread_t t[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){ .s = f->s, .index = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &wk[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < THREADS; i++) {
		assert_int_equal(wk[i].failed, 0);
		for (unsigned j = 0; j < BLOBS_PER_THREAD; j++) {
			uint64_t size;
			size_t n = THREAD_BLOB_BYTES - j * 997;
			uint8_t *got = read_blob(f->s, wk[i].ids[j], &size), *want = malloc(n);
			fill(want, n, i * 1000 + j);
			assert_int_equal(size, n);
			assert_memory_equal(got, want, n);
			free(got);
			free(want);
		}
	}
	/* Every id distinct: one file each. */
	assert_int_equal(files_under(f, "objects"), THREADS * BLOBS_PER_THREAD);
	assert_int_equal(files_under(f, "tmp"), 0);
}

#define KILL_COMMITTED 5

/* The child: commit KILL_COMMITTED blobs, report their ids, then write a
 * sixth forever until killed. Never returns. */
static _Noreturn void kill_child(const char *data, int out)
{
	struct blob_store *s;
	if (blob_store_open(data, &s) != 0)
		_exit(2);
	uint8_t p[20000];
	for (unsigned i = 0; i < KILL_COMMITTED; i++) {
		struct blob_writer *w;
		struct blob_info info;
		fill(p, sizeof(p), 500 + i);
		if (blob_writer_new(s, NULL, &w) != 0 || blob_write(w, p, sizeof(p)) != 0 ||
		    blob_writer_commit(w, &info) != 0)
			_exit(3);
		if (write(out, info.id, BLOB_ID_LEN) != BLOB_ID_LEN)
			_exit(4);
	}
	struct blob_writer *w;
	if (blob_writer_new(s, NULL, &w) != 0)
		_exit(5);
	int told = 0;
	for (;;) {
		if (blob_write(w, p, sizeof(p)) != 0)
			_exit(6);
		if (!told) {
			/* Mid-write: the temp file exists. */
			if (blob_write(w, p, sizeof(p)) != 0 || write(out, "W", 1) != 1)
				_exit(7);
			told = 1;
		}
		usleep(1000);
	}
}

static void kill_mid_write(void **state)
{
	struct fx *f = *state;
	blob_store_close(f->s);
	f->s = NULL;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		kill_child(f->data, pfd[1]);
	}
	close(pfd[1]);
	char ids[KILL_COMMITTED][BLOB_ID_LEN + 1];
	for (int i = 0; i < KILL_COMMITTED; i++) {
		size_t got = 0;
		while (got < BLOB_ID_LEN) {
			ssize_t k = read(pfd[0], ids[i] + got, BLOB_ID_LEN - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		ids[i][BLOB_ID_LEN] = '\0';
	}
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(c, 'W');
	close(pfd[0]);
	assert_int_equal(files_under(f, "tmp"), 1);
	/* The child still holds the lock. */
	struct blob_store *s2;
	assert_int_equal(blob_store_open(f->data, &s2), ERR_BLOB_LOCKED);

	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_int_equal(blob_store_open(f->data, &f->s), 0);
	assert_int_equal(files_under(f, "tmp"), 0);
	assert_int_equal(files_under(f, "objects"), KILL_COMMITTED);
	for (unsigned i = 0; i < KILL_COMMITTED; i++) {
		uint64_t size;
		uint8_t want[20000];
		fill(want, sizeof(want), 500 + i);
		uint8_t *got = read_blob(f->s, ids[i], &size);
		assert_int_equal(size, sizeof(want));
		assert_memory_equal(got, want, sizeof(want));
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_commit_read, setup, teardown),
		cmocka_unit_test_setup_teardown(without_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(finish_before_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(orphans_removed_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(gc_unreferenced, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_ids_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(open_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(kill_mid_write, setup, teardown),
	};
	return cmocka_run_group_tests_name("test_store_blob", tests, NULL, NULL);
}
