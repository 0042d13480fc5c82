/*
 * Internal to the S3 server (server.c and the operation files): the server
 * and request structs, the operation handler table, and the helpers every
 * operation uses: answering with XML or an S3 error, and hopping work to the
 * pool (disk), the metadata writer or a reader and back to the loop.
 *
 * A request (struct s3_req) is reference-counted: the HTTP exchange holds one
 * reference until on_finish, and each job in flight holds one, so a job that
 * completes after the client left finds its request intact and simply drops
 * it. Everything a job writes lives in the request's own arena.
 */
#ifndef MERIDIAN_S3_S3_INT_H
#define MERIDIAN_S3_S3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/chunked.h"
#include "auth/users.h"
#include "auth/verify.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hlc.h"
#include "crypto/checksum.h"
#include "crypto/md5.h"
#include "crypto/sha256.h"
#include "http/server.h"
#include "meta/meta-t.h"
#include "s3/cache.h"
#include "s3/error.h"
#include "s3/route.h"
#include "s3/server.h"
#include "s3/xml_reader.h"
#include "store/blob.h"

#define S3_REQ_MAGIC     0x53335251u
#define S3_REQ_ARENA_MAX (8u << 20) /* listings of 1000 long keys fit */
#define S3_PIPE_CHUNK    (1u << 20) /* body bytes per pool write */
#define S3_META_USER_MAX 2048       /* x-amz-meta-* names and values (S3: 2 KB) */
#define S3_MIN_PART_SIZE (5ull << 20)
#define S3_MAX_OBJECT    (5ull << 30) /* single PUT and each part */

struct s3_server {
	struct s3_server_config cfg;
	struct http_server *http;
	struct auth_users *users;
	struct auth_keycache *keys;
	struct blob_store *blobs;
	struct meta_writer *writer;
	struct repl_agent *agent; /* NULL without peers */
	char store_id[24];        /* the database's id, on /-/health */
	struct meta_reader *reader;
	uint16_t region_id;
	struct hlc clock;    /* version ids: hybrid logical clock */
	struct s3_gens gens; /* object-head cache generations (cache.h) */
	char host_id[32];
	struct iov domains[S3_DOMAINS_MAX];
	struct iov mrap_domains[S3_DOMAINS_MAX];
	int access_log_fd;     /* -1: no access log */
	bool access_log_owned; /* a file we opened (and reopen, and close) */
};

/* How a request body is taken. */
enum s3_body {
	S3_BODY_NONE,   /* ignored (S3 reads none) */
	S3_BODY_XML,    /* parsed with s3/xml_reader.h under its cap */
	S3_BODY_OBJECT, /* streamed into a blob */
	S3_BODY_BUFFER, /* kept whole in q->body, under S3_BODY_BUFFER_MAX */
};
#define S3_BODY_BUFFER_MAX (1u << 20)

struct s3_req;

struct s3_handler {
	enum s3_body body;
	enum s3_xml_doc xml; /* S3_BODY_XML: which document */
	bool xml_optional;   /* an empty body is fine (CreateBucket) */
	/* The request is verified and routed; the body (if any) follows.
	 * For S3_BODY_NONE and S3_BODY_XML, `start` runs after the body. */
	void (*start)(struct s3_req *q);
};

/* The blob pipeline of an upload (S3_BODY_OBJECT). */
struct s3_pipe {
	struct blob_writer *w;
	struct blob_writer_opts opts;
	char *fill; /* bytes gathering for the next pool write */
	size_t fill_len;
	char *flight; /* bytes a pool write is taking */
	size_t flight_len;
	bool busy;      /* a pool job is running */
	bool paused;    /* the body is paused until the job ends */
	bool held;      /* nothing goes to disk yet (s3__pipe_hold) */
	bool ended;     /* the body is complete */
	bool finishing; /* the last write and fsync are queued */
	int err;        /* first failure */
	uint64_t bytes;
	struct blob_info info;
};

struct s3_req {
	unsigned magic;
	unsigned refs;
	struct s3_server *srv;
	struct http_request *r; /* NULL after on_finish */
	struct net_loop *loop;
	struct arena *a;
	struct arena *head_arena; /* the request's, taken when it ended under a job */
	struct s3_route route;
	const struct s3_handler *op;
	struct auth_userdb *users;
	const struct auth_user *user; /* NULL: anonymous */
	struct auth_verified v;
	bool verified;
	int64_t now;
	/* body checks */
	struct auth_chunked *chunked;
	struct sha256_ctx *sha; /* AUTH_PAYLOAD_HASH with a body */
	struct s3_xml_reader *xml;
	struct md5_ctx *xml_md5; /* XML and buffered bodies with Content-MD5 */
	struct buf body;         /* S3_BODY_BUFFER */
	uint64_t body_len;
	struct s3_pipe pipe;
	/* a job's hop back: what runs next on the loop, and its result */
	void (*next)(struct s3_req *q);
	int rc;
	struct meta_job job;
	int (*meta_fn)(struct meta_db *db, struct s3_req *q);
	bool meta_write;
	int (*pool_fn)(struct s3_req *q);
	/* operation state, in the arena */
	void *op_state;
	void (*body_done)(struct s3_req *q); /* S3_BODY_OBJECT: the body ended */
	void (*cleanup)(struct s3_req *q);   /* runs when the request is freed */
	bool answered;
	const char *error_code; /* the <Code> answered, for the access log */
	int64_t object_size;    /* the object read, for the access log; -1: none */
};

extern const struct s3_handler s3__ops[S3_OP__COUNT];

/* ---- helpers (server.c) ---- */

void s3__ref(struct s3_req *q);
void s3__unref(struct s3_req *q);
/* Whether the exchange is still there to answer. */
static inline bool s3__live(const struct s3_req *q)
{
	return q->r != NULL && !q->answered;
}

/* A header of the request (first one) or IOV_NULL. */
struct iov s3__header(const struct s3_req *q, const char *name);

/* The replica headers of a request (S3_REPLICA_* in server.h). */
struct s3_replica {
	bool on; /* the request is a replica write */
	uint64_t hlc;
	uint16_t region;
	int64_t last_modified_ms;
	struct iov etag; /* no quotes; empty for delete markers */
};
/* Read them: 0 (on false when absent), or ERR_S3_INVALID_ARGUMENT with *why
 * for a malformed one. with_etag: the ETag header is required. */
int s3__replica(struct s3_req *q, bool with_etag, struct s3_replica *out, const char **why);

/* Answer with S3's error document; `message` NULL for the default. Extra
 * fields as s3_error_xml. */
void s3__error(struct s3_req *q, int err, const char *message);
void s3__error_fields(struct s3_req *q, int err, const char *message,
                      const struct s3_error_field *extra, size_t n);
/* An error answer that also carries response headers (x-amz-delete-marker,
 * Content-Range, ...). */
void s3__error_headers(struct s3_req *q, int err, const struct http_header *headers, size_t n);
/* Answer 200 with an XML document (`xml` copied into the arena). */
void s3__xml(struct s3_req *q, int status, const struct buf *xml, const struct http_header *headers,
             size_t nheaders);
/* Answer with no body. */
void s3__empty(struct s3_req *q, int status, const struct http_header *headers, size_t n);

/*
 * Run fn on the metadata writer (write = true) or a reader, inside a
 * transaction, then `next` on the loop with q->rc set to fn's result (0 once
 * durable for writes). A full queue answers 503 SlowDown without running
 * either. fn gets q->op_state-reachable data through q.
 */
void s3__meta(struct s3_req *q, bool write, int (*fn)(struct meta_db *db, struct s3_req *q),
              void (*next)(struct s3_req *q));
/* Run fn on libuv's pool (blocking disk work), then `next` on the loop with
 * q->rc = fn's result. */
void s3__pool(struct s3_req *q, int (*fn)(struct s3_req *q), void (*next)(struct s3_req *q));

/* Data files a metadata change released: removed on the pool, after the
 * commit, fire-and-forget. The ids are copied. */
void s3__remove_files(struct s3_server *srv, struct net_loop *loop, const struct meta_files *f);

/* Whether the caller owns bucket b. */
bool s3__owns(const struct s3_req *q, const struct meta_bucket *b);
/* Whether the caller may read objects of b: its owner, or anyone when b is
 * configured public-read. */
bool s3__may_read(const struct s3_req *q, const struct meta_bucket *b);
/* ETag as S3 sends it: "\"<hex>\"" into the arena. */
struct iov s3__etag(struct s3_req *q, struct iov hex);
/* ISO 8601 or HTTP date of a ms timestamp into the arena. */
struct iov s3__iso_date(struct s3_req *q, int64_t ms);
struct iov s3__http_date(struct s3_req *q, int64_t ms);

/* ---- the upload pipeline (pipe.c) ---- */

/* Start a blob for the body; 0 or an error answer already sent. */
int s3__pipe_start(struct s3_req *q, uint64_t max);
/* Hold writes until s3__pipe_release: the options (the checksum to compute)
 * depend on a metadata read still under way. Reading pauses after a chunk. */
void s3__pipe_hold(struct s3_req *q);
void s3__pipe_release(struct s3_req *q);
/* Decoded body bytes in; ERR_AGAIN pauses reading. */
int s3__pipe_data(struct s3_req *q, const char *p, size_t n);
/* The body ended and its signature checks passed: flush and fsync, then
 * `next` on the loop with q->rc and q->pipe.info (size, md5, checksum). */
void s3__pipe_finish(struct s3_req *q, void (*next)(struct s3_req *q));
/* Make the finished blob visible (q->pipe.info.id set), then `next`. */
void s3__pipe_commit(struct s3_req *q, void (*next)(struct s3_req *q));
/* Drop whatever was written (also safe when nothing was). */
void s3__pipe_abort(struct s3_req *q);

/* ---- operations ---- */

void s3__list_buckets(struct s3_req *q);
void s3__create_bucket(struct s3_req *q);
void s3__delete_bucket(struct s3_req *q);
void s3__head_bucket(struct s3_req *q);
void s3__get_bucket_location(struct s3_req *q);
void s3__get_bucket_versioning(struct s3_req *q);
void s3__put_bucket_replication(struct s3_req *q);
void s3__get_bucket_replication(struct s3_req *q);
void s3__delete_bucket_replication(struct s3_req *q);
void s3__put_bucket_versioning(struct s3_req *q);
void s3__list_objects(struct s3_req *q);
void s3__list_object_versions(struct s3_req *q);
void s3__list_multipart_uploads(struct s3_req *q);
void s3__delete_objects(struct s3_req *q);
void s3__get_object(struct s3_req *q);
void s3__put_object(struct s3_req *q);
void s3__delete_object(struct s3_req *q);
void s3__create_multipart_upload(struct s3_req *q);
void s3__upload_part(struct s3_req *q);
void s3__complete_multipart_upload(struct s3_req *q);
void s3__abort_multipart_upload(struct s3_req *q);
void s3__list_parts(struct s3_req *q);

#endif
