/*
 * The edge's disk cache tier (docs/internals/edge-disk.md): cache key ->
 * one file holding the response (meta, header block, body), under a byte
 * budget, with CLOCK eviction (second chance: an entry read since the hand
 * last passed survives one more round), found again after a restart.
 *
 * Layout of the directory DIR (created 0700 if missing):
 *
 *   DIR/lock                 flock'ed while an edge has DIR open
 *   DIR/tmp/<random>         files being written (removed at open)
 *   DIR/objects/ab/<64 hex>  one response; the name is the SHA-256 of its key
 *
 * Each file starts with a fixed header (magic, flags, lengths, the
 * freshness meta of edge/cache-t.h) followed by the key, the ETag, the
 * header block and the body; the body is last so it can go out with
 * sendfile(2). A file is written under tmp/ and renamed into place only
 * once whole, and its header carries every length, so a file cut short by
 * a crash is recognised and removed when the directory is opened. That scan
 * (nginx's "cache loader" does the same) is the index surviving a restart:
 * no second structure can disagree with the files. Keys never become paths:
 * names are hex digests, resolved under directory descriptors.
 *
 * Stale marks (invalidation) are written into the file's header, so a purge
 * outlives a restart. Nothing is fsync'ed: a cache loses nothing it cannot
 * fetch again, and a torn file is dropped by the scan.
 *
 * Threads: every function blocks on the file system and belongs on a pool
 * thread (net/work.h) or at startup, never on a loop thread. A struct
 * edge_disk is shared by any number of threads (one mutex over the index,
 * held for table updates, renames and unlinks, never for data I/O); a
 * writer is used by one thread at a time.
 */
#ifndef MERIDIAN_EDGE_DISK_H
#define MERIDIAN_EDGE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/cache-t.h"
#include "edge/cache.h"

#define EDGE_DISK_BLOCK       4096u        /* an entry is charged whole blocks */
#define EDGE_DISK_HEADER_LEN  96u          /* the fixed part of a file */
#define EDGE_DISK_OBJECT_DIV  8            /* default object cap: budget / 8 */
#define EDGE_DISK_HEADERS_MAX (256u << 10) /* a response header block */

struct edge_disk;
struct edge_disk_writer;

struct edge_disk_config {
	const char *dir;           /* created if missing (not its parent) */
	uint64_t budget_bytes;     /* charged bytes, all files */
	uint64_t max_object_bytes; /* per-file cap; 0: budget / EDGE_DISK_OBJECT_DIV */
};

/* A disk hit: the entry without its body (entry->body is empty), and an
 * open descriptor whose bytes [body_off, body_off + body_len) are the body. */
struct edge_disk_hit {
	struct edge_cache_entry *entry; /* one reference, the caller's */
	bool stale;                     /* invalidated */
	int fd;                         /* O_RDONLY; the caller's */
	uint64_t body_off, body_len;
};

struct edge_disk_stats {
	uint64_t budget_bytes, used_bytes, entries;
	uint64_t loaded;  /* entries found by the scan at open */
	uint64_t dropped; /* files the scan removed: torn, foreign or over budget */
	uint64_t hits, misses, inserts, evictions, refused;
};

/*
 * Open DIR: create what is missing, lock it against a second edge
 * (ERR_BLOB_LOCKED), empty tmp/, and scan objects/ into the index (files
 * that are not whole, valid responses are removed; if the budget shrank,
 * entries are evicted until it holds). 0, ERR_INVALID (a budget under one
 * block or a cap of 0), ERR_NOMEM or ERR_IO.
 */
int edge_disk_open(const struct edge_disk_config *cfg, struct edge_disk **out);
/* Close; writers must all be finished. NULL is a no-op. */
void edge_disk_close(struct edge_disk *d);

/*
 * Start writing the response under key: meta (ETag included), the header
 * block, then the body through edge_disk_write, ended by exactly one of
 * commit or abort. 0, ERR_TOO_BIG (key over EDGE_CACHE_KEY_MAX, ETag over
 * EDGE_CACHE_ETAG_MAX, header block over EDGE_DISK_HEADERS_MAX, or already
 * over the object cap), ERR_INVALID (empty key), ERR_NOMEM or ERR_IO.
 */
int edge_disk_writer_new(struct edge_disk *d, const char *key, size_t keylen,
                         const struct edge_cache_meta *meta, struct iov headers,
                         struct edge_disk_writer **out);
/* Append body bytes. ERR_TOO_BIG past the object cap, or ERR_IO; errors
 * are sticky (only abort is left). */
int edge_disk_write(struct edge_disk_writer *w, const void *p, size_t n);
/* Publish the file under its key (replacing any entry there; readers of
 * the old one keep their descriptor), evicting until the budget holds.
 * Frees w. 0 or the writer's error (nothing published). */
int edge_disk_writer_commit(struct edge_disk_writer *w);
/* Drop the temp file and free w. NULL is a no-op. */
void edge_disk_writer_abort(struct edge_disk_writer *w);
/* A whole memory-tier entry, written and committed in one call. */
int edge_disk_put(struct edge_disk *d, const char *key, size_t keylen,
                  const struct edge_cache_entry *e);

/* Look key up: 0 with *out filled (release with edge_disk_hit_release), or
 * ERR_NOT_FOUND (also when the file vanished or failed its checks, which
 * drops the entry), ERR_NOMEM, ERR_IO. A hit counts as an access for
 * eviction. */
int edge_disk_get(struct edge_disk *d, const char *key, size_t keylen, struct edge_disk_hit *out);
/* Close the descriptor and release the entry; a zeroed hit is a no-op. */
void edge_disk_hit_release(struct edge_disk_hit *h);

/* Mark the entry under key stale, in the index and in its file. 0 or
 * ERR_NOT_FOUND. */
int edge_disk_mark_stale(struct edge_disk *d, const char *key, size_t keylen);
/* Mark every entry whose key starts with prefix stale (empty: all);
 * *marked (may be NULL) counts those this call turned stale. 0. */
int edge_disk_mark_stale_prefix(struct edge_disk *d, const char *prefix, size_t len,
                                size_t *marked);

/* Mark every entry whose key match() accepts stale (edge/cache.h's
 * predicate, called under the index lock). */
int edge_disk_mark_stale_if(struct edge_disk *d, edge_key_pred match, void *arg, size_t *marked);

void edge_disk_stats(struct edge_disk *d, struct edge_disk_stats *out);

#endif
