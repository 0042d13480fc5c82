/*
 * The edge's disk cache tier (edge/disk.h). Pool threads or startup only:
 * every call blocks on the file system.
 *
 * The index is a chained hash table of nodes keyed by the SHA-256 of the
 * cache key (the file's name), plus a circular list in insertion order that
 * the CLOCK hand walks. A node keeps its key (prefix invalidation needs it)
 * and its charge. The mutex covers the table, the ring, the counters and
 * the file system's names (rename into objects/, unlink of victims), so a
 * name and its node never disagree; data is written and read outside it.
 */
#define _GNU_SOURCE
#include "edge/disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "edge/behavior.h"
#include "edge/cache.h"
#include "store/blob.h"

#define DISK_MAGIC   0x45444b31u /* "EDK1": a struct edge_disk */
#define WRITER_MAGIC 0x45444b57u /* "EDKW" */
#define FILE_MAGIC   0x31434445u /* "EDC1" little-endian: a file's first bytes */
#define FLAG_STALE   1u
#define FILE_MODE    0600
#define DIR_MODE     0700
#define HEX_NAME     (SHA256_LEN * 2)
/* "ab/" + 64 hex + NUL */
#define PATH_SIZE (3 + HEX_NAME + 1)
#define TMP_NAME  32

struct node {
	struct node *hnext;       /* hash chain */
	struct node *prev, *next; /* CLOCK ring */
	uint8_t digest[SHA256_LEN];
	uint64_t charge;
	bool visited, stale;
	size_t keylen;
	char key[];
};

struct edge_disk {
	unsigned magic;
	struct blob_dir dir;
	uint64_t budget, object_max;
	pthread_mutex_t mu;
	struct node **table;
	size_t nbuckets, count;
	struct node *hand; /* NULL when empty */
	uint64_t used;
	atomic_uint writers;
	atomic_ulong tmp_seq;
	bool fanout_ok[256]; /* objects/ab made (under mu) */
	struct edge_disk_stats st;
};

struct edge_disk_writer {
	unsigned magic;
	struct edge_disk *d;
	int fd;
	char tmp[TMP_NAME];
	uint8_t header[EDGE_DISK_HEADER_LEN];
	uint64_t off, body_len;
	size_t keylen;
	int err; /* sticky */
	char key[];
};

/* ---- the file header ---- */

/* Offsets into the fixed header, little-endian throughout. */
enum {
	H_MAGIC = 0,
	H_FLAGS = 4,
	H_KEY = 8,
	H_ETAG = 12,
	H_HEADERS = 16,
	H_STATUS = 20,
	H_BODY = 24,
	H_STORED = 32,
	H_TTL = 40,
	H_SWR = 48,
	H_SIE = 56,
	H_LASTMOD = 64,
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct file_info {
	uint32_t flags, keylen, etaglen, headerslen;
	uint64_t body_len;
	struct edge_cache_meta meta; /* etag not set */
};

static void header_encode(uint8_t h[EDGE_DISK_HEADER_LEN], const struct file_info *f)
{
	memset(h, 0, EDGE_DISK_HEADER_LEN);
	put_le(h + H_MAGIC, FILE_MAGIC, 4);
	put_le(h + H_FLAGS, f->flags, 4);
	put_le(h + H_KEY, f->keylen, 4);
	put_le(h + H_ETAG, f->etaglen, 4);
	put_le(h + H_HEADERS, f->headerslen, 4);
	put_le(h + H_STATUS, (uint32_t)f->meta.status, 4);
	put_le(h + H_BODY, f->body_len, 8);
	put_le(h + H_STORED, (uint64_t)f->meta.stored, 8);
	put_le(h + H_TTL, (uint64_t)f->meta.ttl, 8);
	put_le(h + H_SWR, (uint64_t)f->meta.swr, 8);
	put_le(h + H_SIE, (uint64_t)f->meta.sie, 8);
	put_le(h + H_LASTMOD, (uint64_t)f->meta.last_modified, 8);
}

/* Decode and check the header against the file's size. */
static int header_decode(const uint8_t h[EDGE_DISK_HEADER_LEN], uint64_t file_size,
                         struct file_info *f)
{
	if (get_le(h + H_MAGIC, 4) != FILE_MAGIC)
		return ERR_INVALID;
	*f = (struct file_info){
		.flags = (uint32_t)get_le(h + H_FLAGS, 4),
		.keylen = (uint32_t)get_le(h + H_KEY, 4),
		.etaglen = (uint32_t)get_le(h + H_ETAG, 4),
		.headerslen = (uint32_t)get_le(h + H_HEADERS, 4),
		.body_len = get_le(h + H_BODY, 8),
	};
	f->meta.status = (int)(int32_t)get_le(h + H_STATUS, 4);
	f->meta.stored = (int64_t)get_le(h + H_STORED, 8);
	f->meta.ttl = (int64_t)get_le(h + H_TTL, 8);
	f->meta.swr = (int64_t)get_le(h + H_SWR, 8);
	f->meta.sie = (int64_t)get_le(h + H_SIE, 8);
	f->meta.last_modified = (int64_t)get_le(h + H_LASTMOD, 8);
	if (f->keylen == 0 || f->keylen > EDGE_CACHE_KEY_MAX || f->etaglen > EDGE_CACHE_ETAG_MAX ||
	    f->headerslen > EDGE_DISK_HEADERS_MAX || f->meta.status < 100 || f->meta.status > 999)
		return ERR_INVALID;
	uint64_t fixed = EDGE_DISK_HEADER_LEN + (uint64_t)f->keylen + f->etaglen + f->headerslen;
	if (f->body_len > UINT64_MAX - fixed || fixed + f->body_len != file_size)
		return ERR_INVALID; /* cut short, or grown: not ours as written */
	return 0;
}

/* ---- names ---- */

static void digest_of(const char *key, size_t keylen, uint8_t out[SHA256_LEN])
{
	edge_cache_key_hash(key, keylen, out);
}

/* "ab/<64 hex>" for a digest. */
static void path_of(const uint8_t digest[SHA256_LEN], char out[PATH_SIZE])
{
	char hex[HEX_NAME + 1];
	hex_encode(digest, SHA256_LEN, hex);
	memcpy(out, hex, 2);
	out[2] = '/';
	memcpy(out + 3, hex, HEX_NAME + 1);
}

static uint64_t charge_of(uint64_t file_size)
{
	return (file_size + EDGE_DISK_BLOCK - 1) / EDGE_DISK_BLOCK * EDGE_DISK_BLOCK;
}

/* ---- the index (under mu) ---- */

static size_t bucket_of(const struct edge_disk *d, const uint8_t digest[SHA256_LEN])
{
	return (size_t)get_le(digest, 8) & (d->nbuckets - 1);
}

static struct node *find(struct edge_disk *d, const uint8_t digest[SHA256_LEN])
{
	for (struct node *n = d->table[bucket_of(d, digest)]; n; n = n->hnext)
		if (memcmp(n->digest, digest, SHA256_LEN) == 0)
			return n;
	return NULL;
}

static int grow(struct edge_disk *d)
{
	size_t nb = d->nbuckets * 2;
	struct node **t = calloc(nb, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	for (size_t i = 0; i < d->nbuckets; i++) {
		for (struct node *n = d->table[i], *next; n; n = next) {
			next = n->hnext;
			size_t b = (size_t)get_le(n->digest, 8) & (nb - 1);
			n->hnext = t[b];
			t[b] = n;
		}
	}
	free(d->table);
	d->table = t;
	d->nbuckets = nb;
	return 0;
}

static void ring_insert(struct edge_disk *d, struct node *n)
{
	if (!d->hand) {
		n->prev = n->next = n;
		d->hand = n;
		return;
	}
	/* Just behind the hand: the newest entry is the last the hand reaches. */
	n->next = d->hand;
	n->prev = d->hand->prev;
	n->prev->next = n;
	d->hand->prev = n;
}

/* Take n out of table and ring, and free it. */
static void unlink_node(struct edge_disk *d, struct node *n)
{
	struct node **pp = &d->table[bucket_of(d, n->digest)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->next == n) {
		d->hand = NULL;
	} else {
		n->prev->next = n->next;
		n->next->prev = n->prev;
		if (d->hand == n)
			d->hand = n->next;
	}
	d->used -= n->charge;
	d->count--;
	free(n);
}

/* Remove n and its file. */
static void drop(struct edge_disk *d, struct node *n)
{
	char path[PATH_SIZE];
	path_of(n->digest, path);
	if (unlinkat(d->dir.objects_fd, path, 0) != 0 && errno != ENOENT)
		fprintf(stderr, "edge disk: cannot remove %s: %s\n", path, strerror(errno));
	unlink_node(d, n);
}

/* CLOCK: evict until `need` more bytes fit, sparing `keep`. */
static void evict(struct edge_disk *d, uint64_t need, const struct node *keep)
{
	while (d->hand && d->used + need > d->budget) {
		struct node *n = d->hand;
		if (n == keep && n->next == n)
			break;
		if (n == keep || n->visited) {
			n->visited = false;
			d->hand = n->next;
			continue;
		}
		drop(d, n);
		d->st.evictions++;
	}
}

/* Insert or replace the node for (digest, key) with `charge`; n is new. */
static void index_put(struct edge_disk *d, struct node *n)
{
	struct node *old = find(d, n->digest);
	if (old)
		unlink_node(d, old); /* its file was just replaced by rename */
	size_t b = bucket_of(d, n->digest);
	n->hnext = d->table[b];
	d->table[b] = n;
	ring_insert(d, n);
	d->used += n->charge;
	d->count++;
	if (d->count > d->nbuckets && grow(d) != 0) {
		/* a longer chain is only slower */
	}
	evict(d, 0, n);
}

static struct node *node_new(const uint8_t digest[SHA256_LEN], const char *key, size_t keylen,
                             uint64_t charge, bool stale)
{
	struct node *n = calloc(1, sizeof(*n) + keylen);
	if (!n)
		return NULL;
	memcpy(n->digest, digest, SHA256_LEN);
	memcpy(n->key, key, keylen);
	n->keylen = keylen;
	n->charge = charge;
	n->stale = stale;
	return n;
}

/* ---- the scan at open ---- */

struct scan {
	struct edge_disk *d;
	char top[3];
};

/* Read a file's header and key; check that it is whole and named by its key. */
static int file_check(int fd, const uint8_t digest[SHA256_LEN], struct file_info *f, char **key)
{
	struct stat st;
	uint8_t h[EDGE_DISK_HEADER_LEN];
	if (fstat(fd, &st) != 0)
		return blob_sys_err(errno);
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)EDGE_DISK_HEADER_LEN)
		return ERR_INVALID;
	int rc = blob_pread_all(fd, h, sizeof(h), 0);
	if (rc == 0)
		rc = header_decode(h, (uint64_t)st.st_size, f);
	if (rc)
		return rc;
	char *k = malloc(f->keylen);
	if (!k)
		return ERR_NOMEM;
	rc = blob_pread_all(fd, k, f->keylen, EDGE_DISK_HEADER_LEN);
	uint8_t dg[SHA256_LEN];
	if (rc == 0) {
		digest_of(k, f->keylen, dg);
		if (memcmp(dg, digest, SHA256_LEN) != 0)
			rc = ERR_INVALID; /* a file under another key's name */
	}
	if (rc) {
		free(k);
		return rc;
	}
	*key = k;
	return 0;
}

static int scan_file(void *arg, int dir_fd, const struct dirent *e)
{
	struct scan *sc = arg;
	struct edge_disk *d = sc->d;
	uint8_t digest[SHA256_LEN];
	if (strlen(e->d_name) != HEX_NAME || memcmp(e->d_name, sc->top, 2) != 0 ||
	    hex_decode(iov_cstr(e->d_name), digest, SHA256_LEN) != 0 ||
	    blob_dir_entry_type(dir_fd, e) != DT_REG)
		return 0; /* not a cache file: left alone */
	int fd = openat(dir_fd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	struct file_info f;
	char *key = NULL;
	int rc = file_check(fd, digest, &f, &key);
	close(fd);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc) {
		unlinkat(dir_fd, e->d_name, 0);
		d->st.dropped++;
		return 0;
	}
	uint64_t size =
	    EDGE_DISK_HEADER_LEN + (uint64_t)f.keylen + f.etaglen + f.headerslen + f.body_len;
	struct node *n = node_new(digest, key, f.keylen, charge_of(size), f.flags & FLAG_STALE);
	free(key);
	if (!n)
		return ERR_NOMEM;
	size_t b = bucket_of(d, digest);
	n->hnext = d->table[b];
	d->table[b] = n;
	ring_insert(d, n);
	d->used += n->charge;
	d->count++;
	d->st.loaded++;
	if (d->count > d->nbuckets)
		return grow(d);
	return 0;
}

static int scan_top(void *arg, int dir_fd, const struct dirent *e)
{
	struct scan *sc = arg;
	const char *nm = e->d_name;
	if (strlen(nm) != 2 || hex_digit(nm[0]) < 0 || hex_digit(nm[1]) < 0 ||
	    (nm[0] >= 'A' && nm[0] <= 'F') || (nm[1] >= 'A' && nm[1] <= 'F') ||
	    blob_dir_entry_type(dir_fd, e) != DT_DIR)
		return 0;
	int fd = openat(dir_fd, nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	memcpy(sc->top, nm, 3);
	sc->d->fanout_ok[hex_digit(nm[0]) << 4 | hex_digit(nm[1])] = true;
	int rc = blob_dir_each(fd, scan_file, sc);
	close(fd);
	return rc;
}

/* ---- open / close ---- */

int edge_disk_open(const struct edge_disk_config *cfg, struct edge_disk **out)
{
	CHECK(cfg && cfg->dir && out);
	*out = NULL;
	uint64_t cap = cfg->max_object_bytes ? cfg->max_object_bytes
	                                     : cfg->budget_bytes / EDGE_DISK_OBJECT_DIV;
	if (cfg->budget_bytes < EDGE_DISK_BLOCK || cap == 0)
		return ERR_INVALID;
	struct edge_disk *d = calloc(1, sizeof(*d));
	if (!d)
		return ERR_NOMEM;
	d->magic = DISK_MAGIC;
	d->budget = cfg->budget_bytes;
	d->object_max = cap < d->budget ? cap : d->budget;
	d->nbuckets = 1024;
	d->table = calloc(d->nbuckets, sizeof(*d->table));
	pthread_mutex_init(&d->mu, NULL);
	int rc = d->table ? blob_dir_open(cfg->dir, &d->dir) : ERR_NOMEM;
	if (rc) {
		d->dir = (struct blob_dir){ -1, -1, -1, -1 };
		edge_disk_close(d);
		return rc;
	}
	struct scan sc = { .d = d };
	rc = blob_dir_each(d->dir.objects_fd, scan_top, &sc);
	if (rc) {
		edge_disk_close(d);
		return rc;
	}
	uint64_t before = d->st.evictions;
	evict(d, 0, NULL); /* the budget may have shrunk */
	d->st.dropped += d->st.evictions - before;
	d->st.evictions = before;
	*out = d;
	return 0;
}

void edge_disk_close(struct edge_disk *d)
{
	if (!d)
		return;
	CHECK_MAGIC(d, DISK_MAGIC);
	CHECK(atomic_load(&d->writers) == 0);
	for (size_t i = 0; d->table && i < d->nbuckets; i++) {
		for (struct node *n = d->table[i], *next; n; n = next) {
			next = n->hnext;
			free(n);
		}
	}
	free(d->table);
	blob_dir_close(&d->dir);
	pthread_mutex_destroy(&d->mu);
	d->magic = 0;
	free(d);
}

/* ---- writing ---- */

static void writer_free(struct edge_disk_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->d->dir.tmp_fd, w->tmp, 0);
	}
	atomic_fetch_sub(&w->d->writers, 1);
	w->magic = 0;
	free(w);
}

int edge_disk_writer_new(struct edge_disk *d, const char *key, size_t keylen,
                         const struct edge_cache_meta *meta, struct iov headers,
                         struct edge_disk_writer **out)
{
	CHECK_MAGIC(d, DISK_MAGIC);
	CHECK(meta && out);
	*out = NULL;
	if (keylen == 0)
		return ERR_INVALID;
	if (keylen > EDGE_CACHE_KEY_MAX || meta->etag.len > EDGE_CACHE_ETAG_MAX ||
	    headers.len > EDGE_DISK_HEADERS_MAX ||
	    EDGE_DISK_HEADER_LEN + keylen + meta->etag.len + headers.len > d->object_max)
		return ERR_TOO_BIG;
	struct edge_disk_writer *w = calloc(1, sizeof(*w) + keylen);
	if (!w)
		return ERR_NOMEM;
	w->magic = WRITER_MAGIC;
	w->d = d;
	w->keylen = keylen;
	memcpy(w->key, key, keylen);
	atomic_fetch_add(&d->writers, 1);
	snprintf(w->tmp, sizeof(w->tmp), "%ld-%lu", (long)getpid(),
	         (unsigned long)atomic_fetch_add(&d->tmp_seq, 1));
	w->fd = openat(d->dir.tmp_fd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	               FILE_MODE);
	if (w->fd < 0) {
		int rc = blob_sys_err(errno);
		writer_free(w);
		return rc;
	}
	struct file_info f = {
		.keylen = (uint32_t)keylen,
		.etaglen = (uint32_t)meta->etag.len,
		.headerslen = (uint32_t)headers.len,
		.meta = *meta,
	};
	header_encode(w->header, &f);
	/* The header goes last (at commit, with the body's length); until
	 * then the file fails every check. */
	const struct iov parts[] = { iov_make(key, keylen), meta->etag, headers };
	w->off = EDGE_DISK_HEADER_LEN;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		if (parts[i].len)
			rc = blob_pwrite_all(w->fd, parts[i].base, parts[i].len, w->off);
		w->off += parts[i].len;
	}
	if (rc) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int edge_disk_write(struct edge_disk_writer *w, const void *p, size_t n)
{
	CHECK_MAGIC(w, WRITER_MAGIC);
	if (w->err)
		return w->err;
	if (n > w->d->object_max - w->off) {
		w->err = ERR_TOO_BIG;
		return w->err;
	}
	int rc = n ? blob_pwrite_all(w->fd, p, n, w->off) : 0;
	if (rc) {
		w->err = rc;
		return rc;
	}
	w->off += n;
	w->body_len += n;
	return 0;
}

void edge_disk_writer_abort(struct edge_disk_writer *w)
{
	if (!w)
		return;
	CHECK_MAGIC(w, WRITER_MAGIC);
	writer_free(w);
}

int edge_disk_writer_commit(struct edge_disk_writer *w)
{
	CHECK_MAGIC(w, WRITER_MAGIC);
	struct edge_disk *d = w->d;
	int rc = w->err;
	if (rc == 0) {
		put_le(w->header + H_BODY, w->body_len, 8);
		rc = blob_pwrite_all(w->fd, w->header, EDGE_DISK_HEADER_LEN, 0);
	}
	uint8_t digest[SHA256_LEN];
	digest_of(w->key, w->keylen, digest);
	struct node *n = rc ? NULL : node_new(digest, w->key, w->keylen, charge_of(w->off), false);
	if (rc == 0 && !n)
		rc = ERR_NOMEM;
	if (rc) {
		pthread_mutex_lock(&d->mu);
		d->st.refused++;
		pthread_mutex_unlock(&d->mu);
		writer_free(w);
		return rc;
	}
	char path[PATH_SIZE];
	path_of(digest, path);
	unsigned top = digest[0];
	pthread_mutex_lock(&d->mu);
	if (!d->fanout_ok[top]) {
		char dir[3] = { path[0], path[1], '\0' };
		if (mkdirat(d->dir.objects_fd, dir, DIR_MODE) == 0 || errno == EEXIST)
			d->fanout_ok[top] = true;
	}
	if (renameat(d->dir.tmp_fd, w->tmp, d->dir.objects_fd, path) != 0) {
		rc = blob_sys_err(errno);
		d->st.refused++;
		pthread_mutex_unlock(&d->mu);
		free(n);
		writer_free(w);
		return rc;
	}
	index_put(d, n);
	d->st.inserts++;
	pthread_mutex_unlock(&d->mu);
	close(w->fd);
	w->fd = -1; /* renamed: nothing to remove */
	writer_free(w);
	return 0;
}

int edge_disk_put(struct edge_disk *d, const char *key, size_t keylen,
                  const struct edge_cache_entry *e)
{
	CHECK_MAGIC(e, EDGE_CACHE_ENTRY_MAGIC);
	struct edge_disk_writer *w;
	int rc = edge_disk_writer_new(d, key, keylen, &e->meta, e->headers, &w);
	if (rc)
		return rc;
	rc = edge_disk_write(w, e->body.base, e->body.len);
	if (rc) {
		edge_disk_writer_abort(w);
		return rc;
	}
	return edge_disk_writer_commit(w);
}

/* ---- reading ---- */

static void count(struct edge_disk *d, uint64_t *counter)
{
	pthread_mutex_lock(&d->mu);
	(*counter)++;
	pthread_mutex_unlock(&d->mu);
}

/* The entry is gone or broken: forget it (if it is still the same node). */
static void forget(struct edge_disk *d, const uint8_t digest[SHA256_LEN])
{
	pthread_mutex_lock(&d->mu);
	struct node *n = find(d, digest);
	if (n)
		drop(d, n);
	d->st.misses++;
	pthread_mutex_unlock(&d->mu);
}

int edge_disk_get(struct edge_disk *d, const char *key, size_t keylen, struct edge_disk_hit *out)
{
	CHECK_MAGIC(d, DISK_MAGIC);
	CHECK(out);
	*out = (struct edge_disk_hit){ .fd = -1 };
	uint8_t digest[SHA256_LEN];
	digest_of(key, keylen, digest);
	pthread_mutex_lock(&d->mu);
	struct node *n = find(d, digest);
	bool stale = false;
	if (n) {
		n->visited = true;
		stale = n->stale;
	} else {
		d->st.misses++;
	}
	pthread_mutex_unlock(&d->mu);
	if (!n)
		return ERR_NOT_FOUND;

	char path[PATH_SIZE];
	path_of(digest, path);
	int fd = openat(d->dir.objects_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		forget(d, digest);
		return ERR_NOT_FOUND;
	}
	struct file_info f;
	char *k = NULL;
	int rc = file_check(fd, digest, &f, &k);
	char *buf = NULL;
	if (rc == 0 && (f.keylen != keylen || memcmp(k, key, keylen) != 0))
		rc = ERR_INVALID;
	free(k);
	size_t extra = (size_t)f.etaglen + f.headerslen;
	if (rc == 0 && extra) {
		buf = malloc(extra);
		rc = buf ? blob_pread_all(fd, buf, extra, EDGE_DISK_HEADER_LEN + (uint64_t)f.keylen)
		         : ERR_NOMEM;
	}
	struct edge_cache_entry *e = NULL;
	if (rc == 0) {
		f.meta.etag = iov_make(buf, f.etaglen);
		rc = edge_cache_entry_new(&f.meta, iov_make(buf + f.etaglen, f.headerslen),
		                          IOV_NULL, &e);
	}
	free(buf);
	if (rc) {
		close(fd);
		if (rc == ERR_NOMEM)
			return rc;
		forget(d, digest);
		return ERR_NOT_FOUND;
	}
	count(d, &d->st.hits);
	*out = (struct edge_disk_hit){
		.entry = e,
		.stale = stale || (f.flags & FLAG_STALE),
		.fd = fd,
		.body_off = EDGE_DISK_HEADER_LEN + (uint64_t)f.keylen + extra,
		.body_len = f.body_len,
	};
	return 0;
}

void edge_disk_hit_release(struct edge_disk_hit *h)
{
	if (!h)
		return;
	if (h->entry)
		edge_cache_entry_release(h->entry);
	if (h->fd >= 0)
		close(h->fd);
	*h = (struct edge_disk_hit){ .fd = -1 };
}

/* ---- invalidation ---- */

/* Mark n stale, in its file too (under mu). */
static void mark(struct edge_disk *d, struct node *n)
{
	n->stale = true;
	char path[PATH_SIZE];
	path_of(n->digest, path);
	int fd = openat(d->dir.objects_fd, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	uint8_t flags[4];
	if (blob_pread_all(fd, flags, sizeof(flags), H_FLAGS) == 0) {
		put_le(flags, get_le(flags, 4) | FLAG_STALE, 4);
		if (blob_pwrite_all(fd, flags, sizeof(flags), H_FLAGS) != 0)
			fprintf(stderr, "edge disk: cannot mark %s stale\n", path);
	}
	close(fd);
}

int edge_disk_mark_stale(struct edge_disk *d, const char *key, size_t keylen)
{
	CHECK_MAGIC(d, DISK_MAGIC);
	uint8_t digest[SHA256_LEN];
	digest_of(key, keylen, digest);
	pthread_mutex_lock(&d->mu);
	struct node *n = find(d, digest);
	if (n && !n->stale)
		mark(d, n);
	pthread_mutex_unlock(&d->mu);
	return n ? 0 : ERR_NOT_FOUND;
}

int edge_disk_mark_stale_prefix(struct edge_disk *d, const char *prefix, size_t len, size_t *marked)
{
	struct iov p = iov_make(prefix, len);
	return edge_disk_mark_stale_if(d, edge_key_has_prefix, &p, marked);
}

int edge_disk_mark_stale_if(struct edge_disk *d, edge_key_pred match, void *arg, size_t *marked)
{
	CHECK_MAGIC(d, DISK_MAGIC);
	size_t m = 0;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->nbuckets; i++) {
		for (struct node *n = d->table[i]; n; n = n->hnext) {
			if (!n->stale && match(arg, n->key, n->keylen)) {
				mark(d, n);
				m++;
			}
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (marked)
		*marked = m;
	return 0;
}

void edge_disk_stats(struct edge_disk *d, struct edge_disk_stats *out)
{
	CHECK_MAGIC(d, DISK_MAGIC);
	pthread_mutex_lock(&d->mu);
	*out = d->st;
	out->budget_bytes = d->budget;
	out->used_bytes = d->used;
	out->entries = d->count;
	pthread_mutex_unlock(&d->mu);
}
