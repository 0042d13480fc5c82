/*
 * Object bytes on disk for one store. Layout of the data directory DATA:
 *
 *   DATA/lock               flock'ed while a store has DATA open
 *   DATA/tmp/<id>           writes in progress (never read)
 *   DATA/objects/ab/cd/<id> committed blobs; <id> = "abcd..."
 *
 * An id is 128 random bits (RAND_bytes) in 32 lowercase hex digits. Object
 * keys never become paths: metadata maps a key to an id, and every function
 * here refuses an id that is not exactly 32 lowercase hex digits before it
 * touches the file system. Every path is resolved relative to directory
 * descriptors opened once, so nothing here builds a path from input.
 *
 * Durability contract: after blob_writer_commit returns 0, the bytes and the
 * name survive kill -9 and a power cut (temp file fsync, rename, fsync of the
 * destination directory and of any directory the commit created). Before it
 * returns 0 nothing is visible under objects/, and whatever an interrupted
 * writer left in tmp/ is removed by the next blob_store_open. A blob is
 * immutable once committed. The caller records the id in metadata only
 * after commit returns, and removes a blob only after its metadata row is
 * gone; a blob whose row never landed (or whose removal was lost in a crash)
 * is an orphan that blob_store_gc removes at start.
 *
 * Threads: everything here blocks (fsync, directory scans) and belongs on
 * pool threads, never on a loop thread. A struct blob_store is shared by any
 * number of threads; a struct blob_writer is used by one thread at a time
 * (it may move between pool threads from one call to the next).
 */
#ifndef MERIDIAN_STORE_BLOB_H
#define MERIDIAN_STORE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/checksum.h"
#include "crypto/md5.h"

#define BLOB_ID_BYTES 16
#define BLOB_ID_LEN   32 /* hex digits */
/* Default cap of one blob: S3's largest single PUT and largest part. */
#define BLOB_SIZE_MAX (5ull << 30)
/* Bytes a writer gathers before one write(2); larger blob_write calls made
 * while nothing is gathered go to the file directly. */
#define BLOB_WRITE_BUF (256u << 10)

struct blob_store;
struct blob_writer;
struct dirent;

/*
 * The locked directory under a blob store, shared with the edge's disk
 * cache (edge/disk.h): DIR/lock (flock'ed), DIR/objects/, DIR/tmp/ (emptied
 * at open, on the same file system as objects/), each created 0700 if
 * missing. blob_dir_open does all of that (and blob_store_open calls it);
 * 0, ERR_BLOB_LOCKED, ERR_INVALID (not directories, or tmp/ and objects/ on
 * different file systems), ERR_NOMEM or ERR_IO, with every descriptor -1
 * on error. blob_dir_close closes what is open (and sets -1).
 */
struct blob_dir {
	int dir_fd, lock_fd, objects_fd, tmp_fd;
};
int blob_dir_open(const char *dir, struct blob_dir *out);
void blob_dir_close(struct blob_dir *d);
/* Call fn for every entry of directory dir_fd (borrowed) but . and ..;
 * fn returns 0 to go on, or an error that stops the walk and is returned. */
int blob_dir_each(int dir_fd, int (*fn)(void *arg, int dir_fd, const struct dirent *e), void *arg);
/* An entry's DT_* type, without following a symlink (DT_UNKNOWN if gone). */
unsigned char blob_dir_entry_type(int dir_fd, const struct dirent *e);
/* errno -> ERR_BLOB_NO_SPACE, ERR_NOMEM or ERR_IO. */
int blob_sys_err(int e);
/* pwrite(2) all n bytes at off, retrying short writes and EINTR. */
int blob_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* pread(2) all n bytes at off; a file that ends first is ERR_IO. */
int blob_pread_all(int fd, void *p, size_t n, uint64_t off);

/*
 * Open (creating with mode 0700 what is missing: DATA itself, but not its
 * parent; objects/; tmp/) the data directory at `dir` and lock it against a
 * second store, remove every file in tmp/ (writes a crash interrupted), and
 * check that tmp/ is writable and on the same file system as objects/.
 * 0 and a handle, ERR_BLOB_LOCKED (another handle or process has it open),
 * ERR_NOMEM, ERR_INVALID (dir, objects or tmp is not a directory, or the
 * last two lie on different file systems) or ERR_IO.
 */
int blob_store_open(const char *dir, struct blob_store **out);
/* Close a store that has no writer left (CHECKed). NULL is a no-op. */
void blob_store_close(struct blob_store *s);

/*
 * Remove committed blobs that no metadata row references: referenced(arg,
 * id) is asked about every blob and returns 1 (keep), 0 (remove) or a
 * negative ERR_*, which stops the walk and is returned (so a failed lookup
 * never deletes). Files under objects/ whose name or place is not a blob's
 * are left alone. Run it at start, before any writer exists: a blob
 * committed during the walk has no row yet and would be removed. *removed
 * (optional) counts the blobs removed. 0, the callback's error, or ERR_IO.
 */
int blob_store_gc(struct blob_store *s, int (*referenced)(void *arg, const char *id), void *arg,
                  uint64_t *removed);

/* Whether id is a NUL-terminated string of exactly BLOB_ID_LEN lowercase hex
 * digits (reads at most BLOB_ID_LEN + 1 bytes). */
bool blob_id_valid(const char *id);

struct blob_writer_opts {
	/* Bytes allowed; one more is ERR_TOO_BIG. 0 means BLOB_SIZE_MAX. */
	uint64_t max_size;
	/* Also compute one S3 additional checksum. */
	bool with_checksum;
	enum checksum_alg checksum;
};

/* What commit (or finish) reports about a blob. */
struct blob_info {
	char id[BLOB_ID_LEN + 1]; /* set by commit only; "" after finish */
	uint64_t size;
	uint8_t md5[MD5_LEN];
	uint8_t checksum[CHECKSUM_MAX_LEN]; /* big-endian digest */
	size_t checksum_len;                /* 0 without with_checksum */
};

/*
 * Start a blob: a new temp file under tmp/ named by a fresh id. opts may be
 * NULL (BLOB_SIZE_MAX, MD5 only); it is copied. 0 and a writer that the
 * caller ends with exactly one of blob_writer_commit or blob_writer_abort;
 * ERR_NOMEM, ERR_CRYPTO (no random bytes), ERR_BLOB_NO_SPACE or ERR_IO.
 */
int blob_writer_new(struct blob_store *s, const struct blob_writer_opts *opts,
                    struct blob_writer **out);
/*
 * Append n bytes (borrowed; copied or written before return), hashing them.
 * ERR_TOO_BIG if the blob would exceed max_size (nothing of p is taken),
 * ERR_BLOB_NO_SPACE, ERR_NOMEM or ERR_IO. Any error is sticky: later writes,
 * finish and commit return it, and only abort remains useful.
 */
int blob_write(struct blob_writer *w, const void *p, size_t n);
/*
 * End the data without making it visible: write out what is gathered, fsync
 * the temp file and fill *out (size, MD5, checksum; id stays ""), so the
 * caller can compare digests the client sent before it commits or aborts.
 * No blob_write after it. 0 or the writer's error.
 */
int blob_writer_finish(struct blob_writer *w, struct blob_info *out);
/*
 * Make the blob durable and visible at objects/ab/cd/<id> (finishing it
 * first if blob_writer_finish was not called) and fill *out, id included.
 * Frees w whatever the outcome; on error the temp file is removed and
 * nothing is visible. 0, the writer's error, ERR_BLOB_NO_SPACE or ERR_IO.
 */
int blob_writer_commit(struct blob_writer *w, struct blob_info *out);
/* Drop the temp file and free w. NULL is a no-op. */
void blob_writer_abort(struct blob_writer *w);

/*
 * Open a committed blob for reading (pread, sendfile): *fd is O_RDONLY |
 * O_CLOEXEC and owned by the caller, *size its length. 0, ERR_INVALID (not
 * an id), ERR_NOT_FOUND, ERR_NOMEM or ERR_IO.
 */
int blob_open(struct blob_store *s, const char *id, int *fd, uint64_t *size);
/*
 * Unlink a committed blob; with sync, also fsync its directory so the
 * removal survives a power cut (without, a lost removal leaves an orphan
 * that blob_store_gc finds). Readers holding an fd keep reading. 0,
 * ERR_INVALID, ERR_NOT_FOUND or ERR_IO.
 */
int blob_remove(struct blob_store *s, const char *id, bool sync);

#endif
