/*
 * Blobs on disk: temp write, fsync, rename, directory fsync. Pool threads
 * only (every call blocks); see blob.h for the layout and the contract.
 */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "store/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"

#define BLOB_STORE_MAGIC  0x424c4253u
#define BLOB_WRITER_MAGIC 0x424c4257u

#define DIR_MODE  0700
#define FILE_MODE 0600

#define FANOUT_TOP  256   /* objects/ab */
#define FANOUT_LEAF 65536 /* objects/ab/cd */

/* "ab/cd" and "ab/cd/<id>", NUL included. */
#define LEAF_PATH_SIZE 6
#define BLOB_PATH_SIZE (LEAF_PATH_SIZE + BLOB_ID_LEN + 1)

struct blob_store {
	unsigned magic;
	struct blob_dir d;
	atomic_uint writers;
	/* Fan-out directories known to exist durably in this process: a set
	 * bit means mkdir and the parent's fsync are done, so a commit into
	 * it needs neither. Bits are set under mkdir_lock after the fsync. */
	pthread_mutex_t mkdir_lock;
	_Atomic uint64_t top_ok[FANOUT_TOP / 64];
	_Atomic uint64_t leaf_ok[FANOUT_LEAF / 64];
};

struct blob_writer {
	unsigned magic;
	struct blob_store *s;
	int fd;
	char id[BLOB_ID_LEN + 1];
	uint64_t max, size, written;
	struct md5_ctx *md5;
	struct checksum *ck;
	char *buf;
	size_t buf_len;
	int err; /* sticky */
	bool finished;
	struct blob_info info; /* once finished */
};

int blob_sys_err(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return ERR_BLOB_NO_SPACE;
	case ENOMEM:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

static int fsync_fd(int fd)
{
	while (fsync(fd) != 0) {
		if (errno != EINTR)
			return blob_sys_err(errno);
	}
	return 0;
}

static int fsync_at(int dir_fd, const char *name)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return blob_sys_err(errno);
	int rc = fsync_fd(fd);
	close(fd);
	return rc;
}

/* pread(2) or pwrite(2) all n bytes at off: short transfers and EINTR
 * retried, end of file an error. */
static int rw_all(int fd, char *p, size_t n, uint64_t off, bool write)
{
	while (n) {
		ssize_t k = write ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? blob_sys_err(errno) : ERR_IO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

int blob_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	return rw_all(fd, (char *)p, n, off, true);
}

int blob_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	return rw_all(fd, p, n, off, false);
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool blob_id_valid(const char *id)
{
	for (size_t i = 0; i < BLOB_ID_LEN; i++) {
		if (!is_lower_hex(id[i]))
			return false;
	}
	return id[BLOB_ID_LEN] == '\0';
}

static void leaf_path(const char *id, char out[LEAF_PATH_SIZE])
{
	memcpy(out, id, 2);
	out[2] = '/';
	memcpy(out + 3, id + 2, 2);
	out[5] = '\0';
}

static void blob_path(const char *id, char out[BLOB_PATH_SIZE])
{
	leaf_path(id, out);
	out[5] = '/';
	memcpy(out + 6, id, BLOB_ID_LEN + 1);
}

static bool bit_get(_Atomic uint64_t *set, unsigned i)
{
	return atomic_load_explicit(&set[i / 64], memory_order_acquire) >> (i % 64) & 1;
}

static void bit_set(_Atomic uint64_t *set, unsigned i)
{
	atomic_fetch_or_explicit(&set[i / 64], 1ull << (i % 64), memory_order_release);
}

static int mkdir_at(int parent_fd, const char *path)
{
	if (mkdirat(parent_fd, path, DIR_MODE) != 0 && errno != EEXIST)
		return blob_sys_err(errno);
	return 0;
}

/* Make objects/ab and objects/ab/cd exist durably for id. The parent is
 * fsynced whether this call made the directory or found it, since the
 * thread (or the killed process) that made it may not have fsynced the
 * parent yet; the lock makes a second committer wait for that fsync. */
static int leaf_ensure(struct blob_store *s, const char *id)
{
	uint8_t b[2];
	CHECK(hex_decode((struct iov){ id, 4 }, b, 2) == 0);
	unsigned top = b[0], leaf = (unsigned)b[0] << 8 | b[1];
	if (bit_get(s->leaf_ok, leaf))
		return 0;

	char top_name[3] = { id[0], id[1], '\0' }, leaf_name[LEAF_PATH_SIZE];
	leaf_path(id, leaf_name);
	int rc = 0;
	pthread_mutex_lock(&s->mkdir_lock);
	if (!bit_get(s->top_ok, top)) {
		rc = mkdir_at(s->d.objects_fd, top_name);
		if (rc == 0)
			rc = fsync_fd(s->d.objects_fd);
		if (rc == 0)
			bit_set(s->top_ok, top);
	}
	if (rc == 0 && !bit_get(s->leaf_ok, leaf)) {
		rc = mkdir_at(s->d.objects_fd, leaf_name);
		if (rc == 0)
			rc = fsync_at(s->d.objects_fd, top_name);
		if (rc == 0)
			bit_set(s->leaf_ok, leaf);
	}
	pthread_mutex_unlock(&s->mkdir_lock);
	return rc;
}

/* Create (if missing) and open the directory `name` under parent_fd. */
static int open_subdir(int parent_fd, const char *name, int *out)
{
	int rc = mkdir_at(parent_fd, name);
	if (rc)
		return rc;
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? ERR_INVALID : blob_sys_err(errno);
	*out = fd;
	return 0;
}

/* Iterate the entries of a directory fd (borrowed) except . and ..;
 * fn returns 0 to go on or an error to stop. Reads through a descriptor of
 * its own: a dup would share (and move) dir_fd's offset. */
int blob_dir_each(int dir_fd, int (*fn)(void *arg, int dir_fd, const struct dirent *e), void *arg)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return blob_sys_err(errno);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return blob_sys_err(errno);
	}
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno)
				rc = blob_sys_err(errno);
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = fn(arg, dir_fd, e);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

/* The entry's type without following a symlink (DT_* of d_type). */
unsigned char blob_dir_entry_type(int dir_fd, const struct dirent *e)
{
	if (e->d_type != DT_UNKNOWN)
		return e->d_type;
	struct stat st;
	if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
}

static int sweep_one(void *arg, int dir_fd, const struct dirent *e)
{
	(void)arg;
	if (blob_dir_entry_type(dir_fd, e) == DT_DIR)
		return 0;
	if (unlinkat(dir_fd, e->d_name, 0) != 0 && errno != ENOENT)
		return blob_sys_err(errno);
	return 0;
}

/* Create, write and remove a file in tmp/: the volume takes writes. */
static int probe_writable(int tmp_fd)
{
	static const char name[] = ".probe";
	int fd =
	    openat(tmp_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
	if (fd < 0)
		return blob_sys_err(errno);
	int rc = blob_pwrite_all(fd, "x", 1, 0);
	close(fd);
	if (unlinkat(tmp_fd, name, 0) != 0 && rc == 0)
		rc = blob_sys_err(errno);
	return rc;
}

static int same_device(int a_fd, int b_fd)
{
	struct stat a, b;
	if (fstat(a_fd, &a) != 0 || fstat(b_fd, &b) != 0)
		return blob_sys_err(errno);
	/* rename(2) between them would fail with EXDEV. */
	return a.st_dev == b.st_dev ? 0 : ERR_INVALID;
}

static int dir_init(struct blob_dir *d, const char *dir)
{
	bool created = mkdir(dir, DIR_MODE) == 0;
	if (!created && errno != EEXIST)
		return blob_sys_err(errno);
	d->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dir_fd < 0)
		return errno == ENOTDIR ? ERR_INVALID : blob_sys_err(errno);
	/* Make DATA's own name durable (only when we made it: the parent of
	 * an existing DATA need not be readable). */
	if (created) {
		int rc = fsync_at(d->dir_fd, "..");
		if (rc)
			return rc;
	}

	d->lock_fd =
	    openat(d->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
	if (d->lock_fd < 0)
		return blob_sys_err(errno);
	while (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return ERR_BLOB_LOCKED;
		if (errno != EINTR)
			return blob_sys_err(errno);
	}

	int rc = open_subdir(d->dir_fd, "objects", &d->objects_fd);
	if (rc == 0)
		rc = open_subdir(d->dir_fd, "tmp", &d->tmp_fd);
	if (rc == 0)
		rc = same_device(d->objects_fd, d->tmp_fd);
	/* objects/ and tmp/, if this open made them, are durable before the
	 * first commit. */
	if (rc == 0)
		rc = fsync_fd(d->dir_fd);
	if (rc == 0)
		rc = blob_dir_each(d->tmp_fd, sweep_one, NULL);
	if (rc == 0)
		rc = probe_writable(d->tmp_fd);
	return rc;
}

int blob_dir_open(const char *dir, struct blob_dir *out)
{
	out->dir_fd = out->objects_fd = out->tmp_fd = out->lock_fd = -1;
	int rc = dir_init(out, dir);
	if (rc)
		blob_dir_close(out);
	return rc;
}

void blob_dir_close(struct blob_dir *d)
{
	int *fds[] = { &d->objects_fd, &d->tmp_fd, &d->lock_fd, &d->dir_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int blob_store_open(const char *dir, struct blob_store **out)
{
	struct blob_store *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	pthread_mutex_init(&s->mkdir_lock, NULL);
	s->magic = BLOB_STORE_MAGIC;
	int rc = blob_dir_open(dir, &s->d);
	if (rc) {
		blob_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void blob_store_close(struct blob_store *s)
{
	if (!s)
		return;
	CHECK_MAGIC(s, BLOB_STORE_MAGIC);
	CHECK(atomic_load(&s->writers) == 0);
	blob_dir_close(&s->d);
	pthread_mutex_destroy(&s->mkdir_lock);
	s->magic = 0;
	free(s);
}

/* ---- garbage collection ---- */

struct gc_walk {
	int (*referenced)(void *arg, const char *id);
	void *arg;
	uint64_t removed;
	char prefix[5]; /* "abcd" of the leaf being walked */
};

static bool is_hex2(const char *name)
{
	return is_lower_hex(name[0]) && is_lower_hex(name[1]) && name[2] == '\0';
}

static int gc_file(void *arg, int dir_fd, const struct dirent *e)
{
	struct gc_walk *g = arg;
	if (!blob_id_valid(e->d_name) || memcmp(e->d_name, g->prefix, 4) != 0 ||
	    blob_dir_entry_type(dir_fd, e) != DT_REG)
		return 0;
	int r = g->referenced(g->arg, e->d_name);
	if (r < 0)
		return r;
	if (r > 0)
		return 0;
	if (unlinkat(dir_fd, e->d_name, 0) != 0)
		return errno == ENOENT ? 0 : blob_sys_err(errno);
	g->removed++;
	return 0;
}

static int gc_dir(void *arg, int dir_fd, const struct dirent *e,
                  int (*fn)(void *arg, int dir_fd, const struct dirent *e), size_t prefix_at)
{
	struct gc_walk *g = arg;
	if (!is_hex2(e->d_name) || blob_dir_entry_type(dir_fd, e) != DT_DIR)
		return 0;
	int fd = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : blob_sys_err(errno);
	memcpy(g->prefix + prefix_at, e->d_name, 2);
	int rc = blob_dir_each(fd, fn, arg);
	close(fd);
	return rc;
}

static int gc_leaf(void *arg, int dir_fd, const struct dirent *e)
{
	return gc_dir(arg, dir_fd, e, gc_file, 2);
}

static int gc_top(void *arg, int dir_fd, const struct dirent *e)
{
	return gc_dir(arg, dir_fd, e, gc_leaf, 0);
}

int blob_store_gc(struct blob_store *s, int (*referenced)(void *arg, const char *id), void *arg,
                  uint64_t *removed)
{
	CHECK_MAGIC(s, BLOB_STORE_MAGIC);
	struct gc_walk g = { .referenced = referenced, .arg = arg };
	int rc = blob_dir_each(s->d.objects_fd, gc_top, &g);
	if (removed)
		*removed = g.removed;
	return rc;
}

/* ---- writers ---- */

static int new_id(char out[BLOB_ID_LEN + 1])
{
	uint8_t b[BLOB_ID_BYTES];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return ERR_CRYPTO;
	hex_encode(b, sizeof(b), out);
	return 0;
}

static void writer_free(struct blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	md5_free(w->md5);
	checksum_free(w->ck);
	free(w->buf);
	atomic_fetch_sub(&w->s->writers, 1);
	w->magic = 0;
	free(w);
}

int blob_writer_new(struct blob_store *s, const struct blob_writer_opts *opts,
                    struct blob_writer **out)
{
	CHECK_MAGIC(s, BLOB_STORE_MAGIC);
	struct blob_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	w->magic = BLOB_WRITER_MAGIC;
	w->s = s;
	w->fd = -1;
	w->max = opts && opts->max_size ? opts->max_size : BLOB_SIZE_MAX;
	atomic_fetch_add(&s->writers, 1);

	int rc = md5_new(&w->md5);
	if (rc == 0 && opts && opts->with_checksum)
		rc = checksum_new(opts->checksum, &w->ck);
	if (rc == 0)
		rc = new_id(w->id);
	if (rc == 0) {
		w->fd = openat(s->d.tmp_fd, w->id,
		               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
		if (w->fd < 0)
			rc = blob_sys_err(errno);
	}
	if (rc) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static int flush(struct blob_writer *w)
{
	if (w->buf_len == 0)
		return 0;
	int rc = blob_pwrite_all(w->fd, w->buf, w->buf_len, w->written);
	if (rc)
		return rc;
	w->written += w->buf_len;
	w->buf_len = 0;
	return 0;
}

static int write_bytes(struct blob_writer *w, const char *p, size_t n)
{
	if (w->buf_len == 0 && n >= BLOB_WRITE_BUF) {
		int rc = blob_pwrite_all(w->fd, p, n, w->written);
		if (rc == 0)
			w->written += n;
		return rc;
	}
	if (!w->buf) {
		w->buf = malloc(BLOB_WRITE_BUF);
		if (!w->buf)
			return ERR_NOMEM;
	}
	while (n) {
		size_t take = BLOB_WRITE_BUF - w->buf_len;
		if (take > n)
			take = n;
		memcpy(w->buf + w->buf_len, p, take);
		w->buf_len += take;
		p += take;
		n -= take;
		if (w->buf_len == BLOB_WRITE_BUF) {
			int rc = flush(w);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int blob_write(struct blob_writer *w, const void *p, size_t n)
{
	CHECK_MAGIC(w, BLOB_WRITER_MAGIC);
	CHECK(!w->finished);
	if (w->err)
		return w->err;
	if (n > w->max - w->size)
		return w->err = ERR_TOO_BIG;
	if (n == 0)
		return 0;
	md5_update(w->md5, p, n);
	if (w->ck)
		checksum_update(w->ck, p, n);
	w->size += n;
	int rc = write_bytes(w, p, n);
	if (rc)
		w->err = rc;
	return rc;
}

int blob_writer_finish(struct blob_writer *w, struct blob_info *out)
{
	CHECK_MAGIC(w, BLOB_WRITER_MAGIC);
	if (!w->finished) {
		if (w->err)
			return w->err;
		int rc = flush(w);
		if (rc == 0)
			rc = fsync_fd(w->fd);
		if (rc)
			return w->err = rc;
		free(w->buf);
		w->buf = NULL;
		struct blob_info *i = &w->info;
		i->size = w->size;
		md5_final(w->md5, i->md5);
		if (w->ck)
			i->checksum_len = checksum_final(w->ck, i->checksum);
		w->finished = true;
	}
	*out = w->info;
	return 0;
}

/* Rename tmp/<id> to objects/ab/cd/<id>, never over an existing blob. */
static int rename_in(struct blob_store *s, const char *id, int leaf_fd)
{
	if (renameat2(s->d.tmp_fd, id, leaf_fd, id, RENAME_NOREPLACE) == 0)
		return 0;
	/* File systems without RENAME_NOREPLACE: 128 random bits make a
	 * clash the least of our worries; rename plainly. */
	if (errno == EINVAL || errno == ENOSYS) {
		if (renameat(s->d.tmp_fd, id, leaf_fd, id) == 0)
			return 0;
	}
	return errno == EEXIST ? ERR_INTERNAL : blob_sys_err(errno);
}

static int commit(struct blob_writer *w)
{
	struct blob_store *s = w->s;
	int rc = leaf_ensure(s, w->id);
	if (rc)
		return rc;
	char leaf[LEAF_PATH_SIZE];
	leaf_path(w->id, leaf);
	int leaf_fd =
	    openat(s->d.objects_fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (leaf_fd < 0)
		return blob_sys_err(errno);
	rc = rename_in(s, w->id, leaf_fd);
	if (rc == 0) {
		rc = fsync_fd(leaf_fd);
		/* Not known durable: take it back so nothing half-made shows. */
		if (rc)
			unlinkat(leaf_fd, w->id, 0);
	}
	close(leaf_fd);
	return rc;
}

int blob_writer_commit(struct blob_writer *w, struct blob_info *out)
{
	CHECK_MAGIC(w, BLOB_WRITER_MAGIC);
	int rc = blob_writer_finish(w, out);
	if (rc == 0)
		rc = commit(w);
	if (rc) {
		blob_writer_abort(w);
		return rc;
	}
	memcpy(out->id, w->id, sizeof(out->id));
	writer_free(w);
	return 0;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (!w)
		return;
	CHECK_MAGIC(w, BLOB_WRITER_MAGIC);
	/* After a failed commit the file may already be gone; nothing else
	 * can have this name (it is ours until the writer is freed). */
	unlinkat(w->s->d.tmp_fd, w->id, 0);
	writer_free(w);
}

/* ---- readers ---- */

int blob_open(struct blob_store *s, const char *id, int *fd, uint64_t *size)
{
	CHECK_MAGIC(s, BLOB_STORE_MAGIC);
	if (!blob_id_valid(id))
		return ERR_INVALID;
	char path[BLOB_PATH_SIZE];
	blob_path(id, path);
	int f = openat(s->d.objects_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : blob_sys_err(errno);
	struct stat st;
	if (fstat(f, &st) != 0) {
		int e = errno;
		close(f);
		return blob_sys_err(e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(f);
		return ERR_IO;
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

int blob_remove(struct blob_store *s, const char *id, bool sync)
{
	CHECK_MAGIC(s, BLOB_STORE_MAGIC);
	if (!blob_id_valid(id))
		return ERR_INVALID;
	char leaf[LEAF_PATH_SIZE];
	leaf_path(id, leaf);
	int leaf_fd =
	    openat(s->d.objects_fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (leaf_fd < 0)
		return errno == ENOENT ? ERR_NOT_FOUND : blob_sys_err(errno);
	int rc = 0;
	if (unlinkat(leaf_fd, id, 0) != 0)
		rc = errno == ENOENT ? ERR_NOT_FOUND : blob_sys_err(errno);
	if (rc == 0 && sync)
		rc = fsync_fd(leaf_fd);
	close(leaf_fd);
	return rc;
}
