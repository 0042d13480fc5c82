/*
 * Durability of acknowledged writes across a power cut.
 *
 * A VFS shim ("crashsim") wraps SQLite's default VFS and remembers, for the
 * main database and WAL files, the previous contents of every byte range
 * written (or truncated) since that file's last xSync. A snapshot copies the
 * files and undoes those unsynced changes: what the disk would hold if the
 * power failed at that instant. The writer runs on the shim; while jobs are
 * committing, the test takes snapshots and checks that every job whose
 * completion had already reported success is in the snapshot, and that the
 * snapshot passes integrity_check. This is what WAL + synchronous=FULL
 * promises (with NORMAL the WAL is not synced at commit, and acknowledged
 * writes would be missing).
 *
 * A control run on a lying disk (xSync keeps the undo records, as a disk
 * that drops its write cache would) must lose acknowledged writes, proving
 * the check can fail.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "meta_fixture.h"
#include "meta/writer.h"

/* ---- the crashsim VFS ---------------------------------------------------------------- */

struct undo {
	struct undo *next; /* older */
	sqlite3_int64 off;
	sqlite3_int64 old_size; /* file size before the change */
	int len;                /* bytes of old data kept (clipped to old_size) */
	char old[];
};

struct cfile {
	sqlite3_file base;
	sqlite3_file *real;
	bool tracked; /* main db or WAL */
	char path[512];
	struct undo *undo; /* newest first */
	struct cfile *next_open;
};

static sqlite3_vfs *root;
static sqlite3_vfs crash_vfs;
static pthread_mutex_t crash_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfile *open_files;
static bool lying_disk;

static void undo_free(struct cfile *f)
{
	while (f->undo) {
		struct undo *u = f->undo;
		f->undo = u->next;
		free(u);
	}
}

/* Remember [off, off + len) as it is now, and the size. */
static int remember(struct cfile *f, sqlite3_int64 off, sqlite3_int64 len)
{
	sqlite3_int64 size;
	int rc = f->real->pMethods->xFileSize(f->real, &size);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_int64 keep = off >= size ? 0 : (off + len <= size ? len : size - off);
	struct undo *u = malloc(sizeof(*u) + (size_t)keep);
	if (!u)
		return SQLITE_NOMEM;
	u->off = off;
	u->old_size = size;
	u->len = (int)keep;
	if (keep) {
		rc = f->real->pMethods->xRead(f->real, u->old, (int)keep, off);
		if (rc != SQLITE_OK) {
			free(u);
			return rc;
		}
	}
	u->next = f->undo;
	f->undo = u;
	return SQLITE_OK;
}

static int c_close(sqlite3_file *p)
{
	struct cfile *f = (struct cfile *)p;
	pthread_mutex_lock(&crash_lock);
	for (struct cfile **pp = &open_files; *pp; pp = &(*pp)->next_open) {
		if (*pp == f) {
			*pp = f->next_open;
			break;
		}
	}
	undo_free(f);
	int rc = f->real->pMethods->xClose(f->real);
	pthread_mutex_unlock(&crash_lock);
	return rc;
}

static int c_read(sqlite3_file *p, void *buf, int n, sqlite3_int64 off)
{
	struct cfile *f = (struct cfile *)p;
	return f->real->pMethods->xRead(f->real, buf, n, off);
}

static int c_write(sqlite3_file *p, const void *buf, int n, sqlite3_int64 off)
{
	struct cfile *f = (struct cfile *)p;
	pthread_mutex_lock(&crash_lock);
	int rc = f->tracked ? remember(f, off, n) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xWrite(f->real, buf, n, off);
	pthread_mutex_unlock(&crash_lock);
	return rc;
}

static int c_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	struct cfile *f = (struct cfile *)p;
	pthread_mutex_lock(&crash_lock);
	sqlite3_int64 cur = 0;
	int rc = f->real->pMethods->xFileSize(f->real, &cur);
	if (rc == SQLITE_OK && f->tracked && size < cur)
		rc = remember(f, size, cur - size);
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xTruncate(f->real, size);
	pthread_mutex_unlock(&crash_lock);
	return rc;
}

static int c_sync(sqlite3_file *p, int flags)
{
	struct cfile *f = (struct cfile *)p;
	pthread_mutex_lock(&crash_lock);
	int rc = f->real->pMethods->xSync(f->real, flags);
	if (rc == SQLITE_OK && !lying_disk)
		undo_free(f);
	pthread_mutex_unlock(&crash_lock);
	return rc;
}

#define REAL(p) (((struct cfile *)(p))->real)

static int c_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	return REAL(p)->pMethods->xFileSize(REAL(p), size);
}

static int c_lock(sqlite3_file *p, int l)
{
	return REAL(p)->pMethods->xLock(REAL(p), l);
}

static int c_unlock(sqlite3_file *p, int l)
{
	return REAL(p)->pMethods->xUnlock(REAL(p), l);
}

static int c_check_reserved(sqlite3_file *p, int *out)
{
	return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}

static int c_file_control(sqlite3_file *p, int op, void *arg)
{
	return REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int c_sector_size(sqlite3_file *p)
{
	return REAL(p)->pMethods->xSectorSize(REAL(p));
}

static int c_device(sqlite3_file *p)
{
	return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}

static int c_shm_map(sqlite3_file *p, int pg, int sz, int extend, void volatile **out)
{
	return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, extend, out);
}

static int c_shm_lock(sqlite3_file *p, int off, int n, int flags)
{
	return REAL(p)->pMethods->xShmLock(REAL(p), off, n, flags);
}

static void c_shm_barrier(sqlite3_file *p)
{
	REAL(p)->pMethods->xShmBarrier(REAL(p));
}

static int c_shm_unmap(sqlite3_file *p, int del)
{
	return REAL(p)->pMethods->xShmUnmap(REAL(p), del);
}

static int c_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
	*out = NULL; /* no memory-mapped pages: every read goes through xRead */
	(void)p, (void)off, (void)n;
	return SQLITE_OK;
}

static int c_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
	(void)p, (void)off, (void)page;
	return SQLITE_OK;
}

static const sqlite3_io_methods crash_io = {
	3,           c_close,   c_read,     c_write,          c_truncate,     c_sync,
	c_file_size, c_lock,    c_unlock,   c_check_reserved, c_file_control, c_sector_size,
	c_device,    c_shm_map, c_shm_lock, c_shm_barrier,    c_shm_unmap,    c_fetch,
	c_unfetch,
};

static int c_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *p, int flags, int *out_flags)
{
	(void)vfs;
	struct cfile *f = (struct cfile *)p;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = root->xOpen(root, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		p->pMethods = NULL;
		return rc;
	}
	f->tracked = name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL));
	if (name)
		snprintf(f->path, sizeof(f->path), "%s", name);
	p->pMethods = &crash_io;
	pthread_mutex_lock(&crash_lock);
	f->next_open = open_files;
	open_files = f;
	pthread_mutex_unlock(&crash_lock);
	return SQLITE_OK;
}

static void crash_vfs_register(void)
{
	if (root)
		return;
	root = sqlite3_vfs_find(NULL);
	assert_non_null(root);
	crash_vfs = *root;
	crash_vfs.zName = "crashsim";
	crash_vfs.szOsFile = (int)sizeof(struct cfile) + root->szOsFile;
	crash_vfs.xOpen = c_open;
	assert_int_equal(sqlite3_vfs_register(&crash_vfs, 0), SQLITE_OK);
}

/* Copy every tracked file into dir and undo its unsynced changes. */
static void snapshot(const char *dir)
{
	pthread_mutex_lock(&crash_lock);
	for (struct cfile *f = open_files; f; f = f->next_open) {
		if (!f->tracked)
			continue;
		const char *base = strrchr(f->path, '/');
		char dest[600];
		snprintf(dest, sizeof(dest), "%s/%s", dir, base ? base + 1 : f->path);
		int in = open(f->path, O_RDONLY),
		    out = open(dest, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(in >= 0 && out >= 0);
		char buf[65536];
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)n), n);
		for (struct undo *u = f->undo; u; u = u->next) {
			if (u->len)
				assert_int_equal(pwrite(out, u->old, (size_t)u->len, u->off),
				                 u->len);
			assert_int_equal(ftruncate(out, u->old_size), 0);
		}
		close(in);
		close(out);
	}
	pthread_mutex_unlock(&crash_lock);
}

/* ---- the writer under test ----------------------------------------------------------- */

#define JOBS 240

struct cjob {
	struct meta_job job;
	struct crun *run;
	int index;
};

struct crun {
	struct hlc clock;
	struct arena *a;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int acked;
	bool ok[JOBS + 1]; /* by index; JOBS is the bucket job */
	struct cjob jobs[JOBS + 1];
};

static int bucket_job(struct meta_db *db, void *arg)
{
	(void)arg;
	struct meta_bucket b = { .name = IOV_LIT("b"),
		                 .owner = IOV_LIT("o"),
		                 .region = IOV_LIT("r") };
	return meta_bucket_create(db, &b);
}

static int crash_put_job(struct meta_db *db, void *arg)
{
	struct cjob *j = arg;
	char key[32];
	snprintf(key, sizeof(key), "key-%04d", j->index);
	struct meta_object o = { .key = iov_cstr(key),
		                 .hlc = hlc_now(&j->run->clock),
		                 .etag = IOV_LIT("e"),
		                 .data_file = iov_cstr(key),
		                 .owner = IOV_LIT("o") };
	struct meta_files rep;
	arena_reset(j->run->a);
	return meta_object_put(db, IOV_LIT("b"), &o, j->run->a, &rep);
}

static void crash_done(void *arg, int rc)
{
	struct cjob *j = arg;
	struct crun *r = j->run;
	pthread_mutex_lock(&r->lock);
	r->ok[j->index] = rc == 0;
	r->acked++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Which acknowledged keys a snapshot lacks; -1 if it lacks the bucket. */
static int missing_in(const char *dir, const bool *acked)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	struct meta_db *db;
	assert_int_equal(meta_db_open(path, NULL, &db), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db->sql, "PRAGMA integrity_check", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	struct arena *a = arena_new(1 << 20);
	int missing = 0;
	for (int i = 0; i < JOBS; i++) {
		if (!acked[i])
			continue;
		char key[32];
		snprintf(key, sizeof(key), "key-%04d", i);
		struct meta_object o;
		int rc = meta_object_get(db, IOV_LIT("b"), iov_cstr(key), IOV_NULL, a, &o);
		if (rc == ERR_META_NO_SUCH_BUCKET) {
			missing = -1;
			break;
		}
		missing += rc != 0;
	}
	arena_free(a);
	meta_db_close(db);
	return missing;
}

/*
 * Run JOBS puts through a writer on the crashsim VFS; snapshot at three
 * moments while they commit. Returns the most acknowledged writes any
 * snapshot lacked (-1: it lacked even the bucket).
 */
static int run_and_cut(bool lying)
{
	lying_disk = lying;
	crash_vfs_register();
	char dir[64];
	mfx_tempdir(dir, sizeof(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/meta.db", dir);

	struct crun *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	hlc_init(&r->clock);
	r->a = arena_new(1 << 20);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	struct meta_writer *w;
	struct meta_writer_opts opts = { .vfs = "crashsim", .group_max = 8 };
	assert_int_equal(meta_writer_new(path, &opts, &w), 0);

	struct cjob *bj = &r->jobs[JOBS];
	*bj = (struct cjob){ .run = r, .index = JOBS };
	bj->job = (struct meta_job){ .run = bucket_job, .done = crash_done, .arg = bj };
	assert_int_equal(meta_writer_submit(w, &bj->job), 0);
	for (int i = 0; i < JOBS; i++) {
		struct cjob *j = &r->jobs[i];
		*j = (struct cjob){ .run = r, .index = i };
		j->job = (struct meta_job){ .run = crash_put_job, .done = crash_done, .arg = j };
		assert_int_equal(meta_writer_submit(w, &j->job), 0);
	}

	int worst = 0;
	static const int cut_at[] = { 40, 150, JOBS + 1 };
	for (size_t c = 0; c < sizeof(cut_at) / sizeof(cut_at[0]); c++) {
		bool acked[JOBS + 1];
		pthread_mutex_lock(&r->lock);
		while (r->acked < cut_at[c])
			pthread_cond_wait(&r->cond, &r->lock);
		memcpy(acked, r->ok, sizeof(acked));
		pthread_mutex_unlock(&r->lock);
		if (!lying)
			assert_true(acked[JOBS]);

		char snap[64];
		mfx_tempdir(snap, sizeof(snap));
		snapshot(snap);
		int m = missing_in(snap, acked);
		if (m < 0 || (worst >= 0 && m > worst))
			worst = m;
		mfx_rmdir(snap);
	}
	meta_writer_free(w);
	for (int i = 0; i < JOBS; i++)
		assert_true(r->ok[i]);
	arena_free(r->a);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	mfx_rmdir(dir);
	return worst;
}

static void acknowledged_writes_survive_power_loss(void **state)
{
	(void)state;
	int missing = run_and_cut(false);
	if (missing != 0)
		fail_msg("a power cut lost %d acknowledged writes", missing);
}

static void lying_disk_loses_writes(void **state)
{
	(void)state;
	int missing = run_and_cut(true);
	if (missing == 0)
		fail_msg("the check cannot see lost writes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acknowledged_writes_survive_power_loss),
		cmocka_unit_test(lying_disk_loses_writes),
	};
	return cmocka_run_group_tests_name("test_meta_crash", tests, NULL, NULL);
}
