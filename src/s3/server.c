/*
 * The S3 server: request lifecycle, authentication, dispatch to the
 * operation table, S3 error answers, and the hops to the pool and the
 * metadata threads (see server.h and s3-int.h). Loop threads only, except
 * start/reload/drain/stop (the controlling thread) and the job functions,
 * which run on pool or meta threads and touch only their request.
 */
#define _GNU_SOURCE /* dup3 */
#include "s3/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "crypto/md5.h"
#include "crypto/region.h"
#include "crypto/sha256.h"
#include "http/date.h"
#include "meta/db.h"
#include "meta/reader.h"
#include "meta/repl.h"
#include "meta/writer.h"
#include "net/loop.h"
#include "net/work.h"
#include "net/conn.h"
#include "s3/access_log.h"
#include "s3/names.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"
#include "repl/agent.h"

/* ---- the operation table ---- */

const struct s3_handler s3__ops[S3_OP__COUNT] = {
	[S3_OP_LIST_BUCKETS] = { S3_BODY_NONE, 0, false, s3__list_buckets },
	[S3_OP_CREATE_BUCKET] = { S3_BODY_XML, S3_XML_CREATE_BUCKET_CONFIGURATION, true,
	                          s3__create_bucket },
	[S3_OP_DELETE_BUCKET] = { S3_BODY_NONE, 0, false, s3__delete_bucket },
	[S3_OP_HEAD_BUCKET] = { S3_BODY_NONE, 0, false, s3__head_bucket },
	[S3_OP_LIST_OBJECTS] = { S3_BODY_NONE, 0, false, s3__list_objects },
	[S3_OP_GET_BUCKET_LOCATION] = { S3_BODY_NONE, 0, false, s3__get_bucket_location },
	[S3_OP_GET_BUCKET_VERSIONING] = { S3_BODY_NONE, 0, false, s3__get_bucket_versioning },
	[S3_OP_PUT_BUCKET_VERSIONING] = { S3_BODY_XML, S3_XML_VERSIONING_CONFIGURATION, false,
	                                  s3__put_bucket_versioning },
	[S3_OP_LIST_OBJECT_VERSIONS] = { S3_BODY_NONE, 0, false, s3__list_object_versions },
	[S3_OP_PUT_BUCKET_REPLICATION] = { S3_BODY_BUFFER, 0, false, s3__put_bucket_replication },
	[S3_OP_GET_BUCKET_REPLICATION] = { S3_BODY_NONE, 0, false, s3__get_bucket_replication },
	[S3_OP_DELETE_BUCKET_REPLICATION] = { S3_BODY_NONE, 0, false,
	                                      s3__delete_bucket_replication },
	[S3_OP_LIST_MULTIPART_UPLOADS] = { S3_BODY_NONE, 0, false, s3__list_multipart_uploads },
	[S3_OP_DELETE_OBJECTS] = { S3_BODY_XML, S3_XML_DELETE, false, s3__delete_objects },
	[S3_OP_GET_OBJECT] = { S3_BODY_NONE, 0, false, s3__get_object },
	[S3_OP_HEAD_OBJECT] = { S3_BODY_NONE, 0, false, s3__get_object },
	[S3_OP_PUT_OBJECT] = { S3_BODY_OBJECT, 0, false, s3__put_object },
	[S3_OP_DELETE_OBJECT] = { S3_BODY_NONE, 0, false, s3__delete_object },
	[S3_OP_CREATE_MULTIPART_UPLOAD] = { S3_BODY_NONE, 0, false, s3__create_multipart_upload },
	[S3_OP_UPLOAD_PART] = { S3_BODY_OBJECT, 0, false, s3__upload_part },
	[S3_OP_COMPLETE_MULTIPART_UPLOAD] = { S3_BODY_XML, S3_XML_COMPLETE_MULTIPART_UPLOAD, false,
	                                      s3__complete_multipart_upload },
	[S3_OP_ABORT_MULTIPART_UPLOAD] = { S3_BODY_NONE, 0, false, s3__abort_multipart_upload },
	[S3_OP_LIST_PARTS] = { S3_BODY_NONE, 0, false, s3__list_parts },
};

/* ---- requests ---- */

static struct s3_req *req_new(struct s3_server *srv, struct http_request *r)
{
	struct s3_req *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->a = arena_new(S3_REQ_ARENA_MAX);
	if (!q->a) {
		free(q);
		return NULL;
	}
	q->magic = S3_REQ_MAGIC;
	q->refs = 1;
	q->srv = srv;
	q->r = r;
	q->loop = http_request_loop(r);
	q->now = clock_now();
	q->object_size = -1;
	auth_verified_init(&q->v);
	return q;
}

void s3__ref(struct s3_req *q)
{
	CHECK_MAGIC(q, S3_REQ_MAGIC);
	q->refs++;
}

void s3__unref(struct s3_req *q)
{
	CHECK_MAGIC(q, S3_REQ_MAGIC);
	if (--q->refs)
		return;
	if (q->cleanup)
		q->cleanup(q);
	s3__pipe_abort(q);
	auth_chunked_free(q->chunked);
	sha256_free(q->sha);
	s3_xml_reader_free(q->xml);
	md5_free(q->xml_md5);
	buf_free(&q->body);
	auth_verified_free(&q->v);
	auth_userdb_release(q->users);
	arena_free(q->a);
	arena_free(q->head_arena);
	q->magic = 0;
	free(q);
}

struct iov s3__header(const struct s3_req *q, const char *name)
{
	return q->r ? http_request_header(q->r, iov_cstr(name)) : IOV_NULL;
}

/* ---- answers ---- */

static const struct http_header xml_type = { IOV_LIT("Content-Type"), IOV_LIT("application/xml") };

static void error_answer(struct s3_req *q, int err, const char *message,
                         const struct s3_error_field *extra, size_t n,
                         const struct http_header *headers, size_t nheaders)
{
	if (!s3__live(q))
		return;
	q->answered = true;
	q->error_code = s3_error_code(err);
	struct http_request *r = q->r;
	struct buf b;
	buf_init(&b, 64 * 1024);
	const struct http_head *h = http_request_head(r);
	struct iov path;
	iov_split(h->target, '?', &path);
	int rc = s3_error_xml(&b, err, message, path, iov_cstr(http_request_id(r)),
	                      iov_cstr(q->srv->host_id), extra, n);
	if (rc) {
		buf_reset(&b);
		rc = s3_error_xml(&b, err, NULL, IOV_NULL, iov_cstr(http_request_id(r)), IOV_NULL,
		                  NULL, 0);
	}
	int status = s3_error_status(err);
	bool head = iov_eq(h->method, IOV_LIT("HEAD"));
	struct iov body = head || rc ? IOV_NULL : arena_dup(http_request_arena(r), buf_iov(&b));
	buf_free(&b);
	struct http_header hs[24];
	size_t nh = 0;
	hs[nh++] = xml_type;
	http_response_early(r);
	for (size_t i = 0; i < nheaders && nh < 24; i++)
		hs[nh++] = headers[i];
	http_response_start(r, status, hs, nh, head ? 0 : (int64_t)body.len);
	if (body.len)
		http_response_write(r, body.base, body.len, NULL, NULL);
	http_response_end(r);
}

void s3__error_fields(struct s3_req *q, int err, const char *message,
                      const struct s3_error_field *extra, size_t n)
{
	error_answer(q, err, message, extra, n, NULL, 0);
}

void s3__error_headers(struct s3_req *q, int err, const struct http_header *headers, size_t n)
{
	error_answer(q, err, NULL, NULL, 0, headers, n);
}

void s3__error(struct s3_req *q, int err, const char *message)
{
	/* S3 names what was not found. */
	struct s3_error_field f[2];
	size_t n = 0;
	const char *code = s3_error_code(err);
	if (strcmp(code, "NoSuchBucket") == 0) {
		/* Through an access point the caller named the alias, not the
		 * bucket behind it. */
		f[n++] =
		    (struct s3_error_field){ "BucketName", q->route.alias.base ? q->route.alias
			                                                       : q->route.bucket };
	} else if (strcmp(code, "NoSuchKey") == 0) {
		f[n++] = (struct s3_error_field){ "Key", q->route.key };
	} else if (strcmp(code, "NoSuchUpload") == 0) {
		f[n++] = (struct s3_error_field){ "UploadId", q->route.upload_id };
	} else if (strcmp(code, "NoSuchVersion") == 0) {
		f[n++] = (struct s3_error_field){ "Key", q->route.key };
		f[n++] = (struct s3_error_field){ "VersionId", q->route.version_id };
	}
	s3__error_fields(q, err, message, f, n);
}

void s3__xml(struct s3_req *q, int status, const struct buf *xml, const struct http_header *headers,
             size_t nheaders)
{
	if (!s3__live(q))
		return;
	q->answered = true;
	struct http_request *r = q->r;
	struct iov body = arena_dup(http_request_arena(r), buf_iov(xml));
	if (!body.base && xml->len) {
		q->answered = false;
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	struct http_header hs[16];
	size_t n = 0;
	hs[n++] = xml_type;
	for (size_t i = 0; i < nheaders && n < 16; i++)
		hs[n++] = headers[i];
	http_response_start(r, status, hs, n, (int64_t)body.len);
	if (body.len)
		http_response_write(r, body.base, body.len, NULL, NULL);
	http_response_end(r);
}

void s3__empty(struct s3_req *q, int status, const struct http_header *headers, size_t n)
{
	if (!s3__live(q))
		return;
	q->answered = true;
	http_response_start(q->r, status, headers, n, 0);
	http_response_end(q->r);
}

/* ---- hops ---- */

static void hop_back(void *arg)
{
	struct s3_req *q = arg;
	void (*next)(struct s3_req * q) = q->next;
	q->next = NULL;
	next(q);
	s3__unref(q);
}

static void meta_done(void *arg, int rc)
{
	struct s3_req *q = arg;
	q->rc = rc;
	/* After the commit, before anyone can hear of it: cached heads of this
	 * bucket read before it are stale now. */
	if (q->meta_write) {
		s3__gen_bump(&q->srv->gens, q->route.bucket);
		if (rc == 0)
			repl_agent_kick(q->srv->agent); /* new outbox rows, maybe */
	}
	/* Back to the request's loop; without memory for that there is no way
	 * to answer at all. */
	CHECK(net_loop_post(q->loop, hop_back, q) == 0);
}

static int meta_run(struct meta_db *db, void *arg)
{
	struct s3_req *q = arg;
	return q->meta_fn(db, q);
}

void s3__meta(struct s3_req *q, bool write, int (*fn)(struct meta_db *db, struct s3_req *q),
              void (*next)(struct s3_req *q))
{
	CHECK(q->next == NULL); /* one hop at a time */
	q->meta_fn = fn;
	q->meta_write = write;
	q->next = next;
	q->job = (struct meta_job){ .run = meta_run, .done = meta_done, .arg = q };
	s3__ref(q);
	int rc = write ? meta_writer_submit(q->srv->writer, &q->job)
	               : meta_reader_submit(q->srv->reader, &q->job);
	if (rc) {
		q->next = NULL;
		s3__unref(q);
		s3__error(q, rc == ERR_META_BUSY ? ERR_S3_SLOW_DOWN : rc, NULL);
	}
}

static void pool_work(void *arg)
{
	struct s3_req *q = arg;
	q->rc = q->pool_fn(q);
}

static void pool_done(void *arg, int status)
{
	struct s3_req *q = arg;
	if (status)
		q->rc = status;
	hop_back(q);
}

void s3__pool(struct s3_req *q, int (*fn)(struct s3_req *q), void (*next)(struct s3_req *q))
{
	CHECK(q->next == NULL);
	q->pool_fn = fn;
	q->next = next;
	s3__ref(q);
	int rc = net_work_submit(q->loop, pool_work, pool_done, q);
	if (rc) {
		q->next = NULL;
		s3__unref(q);
		s3__error(q, rc, NULL);
	}
}

struct removal {
	struct s3_server *srv;
	size_t n;
	char ids[][BLOB_ID_LEN + 1];
};

static void remove_work(void *arg)
{
	struct removal *rm = arg;
	for (size_t i = 0; i < rm->n; i++)
		blob_remove(rm->srv->blobs, rm->ids[i], false);
}

static void remove_done(void *arg, int status)
{
	(void)status;
	free(arg);
}

void s3__remove_files(struct s3_server *srv, struct net_loop *loop, const struct meta_files *f)
{
	if (!f || f->n == 0)
		return;
	struct removal *rm = malloc(sizeof(*rm) + f->n * sizeof(rm->ids[0]));
	if (!rm)
		return; /* the files stay as orphans; the next start's GC takes them */
	rm->srv = srv;
	rm->n = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->ids[i].len != BLOB_ID_LEN)
			continue;
		memcpy(rm->ids[rm->n], f->ids[i].base, BLOB_ID_LEN);
		rm->ids[rm->n++][BLOB_ID_LEN] = '\0';
	}
	if (net_work_submit(loop, remove_work, remove_done, rm))
		free(rm);
}

/* ---- small shared helpers ---- */

static bool public_bucket(const struct s3_server *srv, struct iov bucket)
{
	for (size_t i = 0; i < srv->cfg.npublic; i++)
		if (iov_eq(bucket, iov_cstr(srv->cfg.public_read[i])))
			return true;
	return false;
}

bool s3__owns(const struct s3_req *q, const struct meta_bucket *b)
{
	if (!q->user)
		return false;
	return iov_eq(b->owner, iov_cstr(q->user->owner_id));
}

bool s3__may_read(const struct s3_req *q, const struct meta_bucket *b)
{
	return s3__owns(q, b) || public_bucket(q->srv, b->name);
}

struct iov s3__etag(struct s3_req *q, struct iov hex)
{
	return arena_printf(q->a, "\"%.*s\"", (int)hex.len, hex.base);
}

struct iov s3__iso_date(struct s3_req *q, int64_t ms)
{
	char d[HTTP_ISO8601_LEN + 1];
	if (http_date_iso8601(ms, d))
		return IOV_LIT("1970-01-01T00:00:00.000Z");
	return arena_dup(q->a, iov_cstr(d));
}

struct iov s3__http_date(struct s3_req *q, int64_t ms)
{
	char d[HTTP_DATE_LEN + 1];
	if (http_date_format(ms / 1000, d))
		return IOV_LIT("Thu, 01 Jan 1970 00:00:00 GMT");
	return arena_dup(q->a, iov_cstr(d));
}

/* ---- authentication ---- */

/* Signature Version 2 (query AWSAccessKeyId=, or "Authorization: AWS k:s")
 * is refused as S3's newer regions refuse it. */
static bool sigv2_request(const struct http_head *h, struct iov query)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (iov_eq_nocase(h->headers[i].name, IOV_LIT("authorization")) &&
		    iov_starts(h->headers[i].value, IOV_LIT("AWS ")))
			return true;
	struct iov rest = query, kv;
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		if (iov_starts(kv, IOV_LIT("AWSAccessKeyId=")))
			return true;
	}
	return false;
}

static bool signed_request(const struct http_head *h, struct iov query)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (iov_eq_nocase(h->headers[i].name, IOV_LIT("authorization")))
			return true;
	struct iov rest = query, kv;
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		if (iov_starts(kv, IOV_LIT("X-Amz-Algorithm=")) ||
		    iov_starts(kv, IOV_LIT("X-Amz-Signature=")))
			return true;
	}
	return false;
}

/* An access point takes SigV4A only (REFERENCE.md §1). */
static int sigv4a_required(struct s3_req *q)
{
	snprintf(q->v.detail, sizeof(q->v.detail), "%s", err_text(ERR_S3AP_SIGV4A_REQUIRED));
	return ERR_S3AP_SIGV4A_REQUIRED;
}

/* Verify the signature; 0 with q->user set, or an error to answer. */
static int authenticate(struct s3_req *q)
{
	struct s3_server *srv = q->srv;
	const struct http_head *h = http_request_head(q->r);
	bool via_alias = q->route.alias.base != NULL;
	if (sigv2_request(h, q->route.query)) {
		if (via_alias)
			return sigv4a_required(q);
		snprintf(q->v.detail, sizeof(q->v.detail),
		         "The authorization mechanism you have provided is not supported. Please "
		         "use AWS4-HMAC-SHA256.");
		return ERR_S3_INVALID_REQUEST;
	}
	if (!signed_request(h, q->route.query)) {
		/* An access point's Block Public Access is always on. */
		bool reads = q->route.op == S3_OP_GET_OBJECT || q->route.op == S3_OP_HEAD_OBJECT;
		return reads && !via_alias && public_bucket(srv, q->route.bucket)
		           ? 0
		           : ERR_S3_ACCESS_DENIED;
	}
	struct auth_header *hs = arena_alloc(q->a, (h->nheaders ? h->nheaders : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	for (size_t i = 0; i < h->nheaders; i++)
		hs[i] = (struct auth_header){ h->headers[i].name, h->headers[i].value };
	struct iov path, query = iov_split(h->target, '?', &path);
	struct auth_request areq = { .method = h->method,
		                     .path = path,
		                     .query = query.base ? query : iov_make("", 0),
		                     .headers = hs,
		                     .nheaders = h->nheaders };
	struct auth_verifier v = {
		.creds = &auth_userdb_creds,
		.creds_ctx = q->users,
		.keys = srv->keys,
		.region = iov_cstr(srv->cfg.region),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.max_skew = srv->cfg.max_skew,
		.s3 = true,
		.s3_allow_no_content_sha256 = true,
	};
	int rc = auth_verify(&v, &areq, q->now, &q->v);
	/* A SigV4 request to an alias is refused as such, whether or not its
	 * signature holds (the region set check is auth_verify's). */
	if (via_alias && q->v.alg == AUTH_SIGV4)
		return sigv4a_required(q);
	if (rc)
		return rc;
	q->verified = true;
	q->user = auth_userdb_find(q->users, iov_cstr(q->v.access_key));
	return q->user ? 0 : ERR_AUTH_UNKNOWN_KEY;
}

/* ---- body ---- */

static int body_data(void *arg, const char *p, size_t n)
{
	struct s3_req *q = arg;
	q->body_len += n;
	switch (q->op->body) {
	case S3_BODY_XML:
		if (q->xml_md5)
			md5_update(q->xml_md5, p, n);
		return s3_xml_reader_feed(q->xml, p, n);
	case S3_BODY_BUFFER:
		if (q->xml_md5)
			md5_update(q->xml_md5, p, n);
		return buf_add(&q->body, p, n) == ERR_TOO_BIG ? ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED
		                                              : buf_add(&q->body, "", 0);
	case S3_BODY_OBJECT:
		return s3__pipe_data(q, p, n);
	default:
		return 0;
	}
}

/* Set up the checks of the body the signature covers. */
static int body_setup(struct s3_req *q)
{
	if (q->op->body == S3_BODY_BUFFER) {
		buf_init(&q->body, S3_BODY_BUFFER_MAX);
		if (s3__header(q, "content-md5").base && md5_new(&q->xml_md5))
			return ERR_NOMEM;
	}
	if (q->op->body == S3_BODY_XML) {
		int rc = s3_xml_reader_new(q->op->xml, &q->xml);
		if (rc == 0 && s3__header(q, "content-md5").base)
			rc = md5_new(&q->xml_md5); /* object bodies: the blob writer has one */
		if (rc)
			return rc;
	}
	if (!q->verified)
		return 0;
	if (q->v.content_sha256_absent)
		return 0; /* curl < 8: the signature covers no body */
	switch (q->v.payload) {
	case AUTH_PAYLOAD_HASH:
		q->sha = sha256_new();
		return q->sha ? 0 : ERR_NOMEM;
	case AUTH_PAYLOAD_UNSIGNED:
		return 0;
	default:
		return auth_chunked_new(&q->v, &q->chunked);
	}
}

static uint64_t body_cap(const struct s3_req *q)
{
	switch (q->op->body) {
	case S3_BODY_XML:
		switch (q->op->xml) {
		case S3_XML_COMPLETE_MULTIPART_UPLOAD:
			return S3_XML_COMPLETE_MAX;
		case S3_XML_DELETE:
			return S3_XML_DELETE_MAX;
		default:
			return S3_XML_CONFIG_MAX;
		}
	case S3_BODY_BUFFER:
		return S3_BODY_BUFFER_MAX;
	case S3_BODY_OBJECT:
		/* aws-chunked framing adds about 90 bytes per chunk of 8 KiB or more */
		return S3_MAX_OBJECT + S3_MAX_OBJECT / 64 + 65536;
	default:
		return 1u << 20;
	}
}

static int on_body(void *ctx, struct http_request *r, const char *p, size_t n)
{
	(void)ctx;
	struct s3_req *q = http_request_user(r);
	if (!q || q->answered)
		return 0;
	int rc;
	if (q->chunked) {
		rc = auth_chunked_feed(q->chunked, p, n, body_data, q);
	} else {
		if (q->sha)
			sha256_update(q->sha, p, n);
		rc = body_data(q, p, n);
	}
	if (rc) {
		s3__pipe_abort(q);
		s3__error(q,
		          rc == ERR_TOO_BIG && q->op->body == S3_BODY_OBJECT
		              ? ERR_S3_ENTITY_TOO_LARGE
		              : rc,
		          NULL);
		return 0;
	}
	return q->pipe.paused ? ERR_AGAIN : 0;
}

/* Content-MD5 of an XML body (S3 requires it of DeleteObjects; boto3 sends
 * it). */
static int xml_md5_check(struct s3_req *q)
{
	if (!q->xml_md5)
		return 0;
	uint8_t got[MD5_LEN], want[MD5_LEN];
	size_t n;
	md5_final(q->xml_md5, got);
	if (base64_decode(s3__header(q, "content-md5"), want, sizeof(want), &n) || n != MD5_LEN)
		return ERR_S3_INVALID_DIGEST;
	return memcmp(got, want, MD5_LEN) ? ERR_S3_BAD_DIGEST : 0;
}

/* The body's own checks, once it has all arrived. */
static int body_verify(struct s3_req *q)
{
	int rc = xml_md5_check(q);
	if (rc)
		return rc;
	if (q->chunked)
		return auth_chunked_finish(q->chunked);
	if (q->sha) {
		uint8_t d[SHA256_LEN];
		sha256_final(q->sha, d);
		return auth_verified_check_body(&q->v, d);
	}
	return 0;
}

static void on_body_end(void *ctx, struct http_request *r)
{
	(void)ctx;
	struct s3_req *q = http_request_user(r);
	if (!q || q->answered)
		return;
	int rc = body_verify(q);
	if (rc == 0 && q->xml) {
		bool empty_ok = q->op->xml_optional && q->body_len == 0;
		rc = empty_ok ? 0 : s3_xml_reader_finish(q->xml);
		if (rc) {
			s3__error(q, rc, s3_xml_reader_why(q->xml));
			return;
		}
		if (empty_ok) {
			s3_xml_reader_free(q->xml);
			q->xml = NULL;
		}
	}
	if (rc) {
		s3__pipe_abort(q);
		s3__error(q, rc, NULL);
		return;
	}
	if (q->op->body == S3_BODY_OBJECT) {
		q->pipe.ended = true;
		if (q->body_done)
			q->body_done(q);
		return;
	}
	q->op->start(q);
}

/* ---- requests ---- */

static void on_request(void *ctx, struct http_request *r)
{
	struct s3_server *srv = ctx;
	const struct http_head *h = http_request_head(r);
	if (iov_eq(h->target, IOV_LIT(S3_HEALTH_PATH)) &&
	    (iov_eq(h->method, IOV_LIT("GET")) || iov_eq(h->method, IOV_LIT("HEAD")))) {
		struct http_header hs[] = { { IOV_LIT("Content-Type"), IOV_LIT("text/plain") },
			                    { IOV_LIT(S3_STORE_ID_HEADER),
			                      iov_cstr(srv->store_id) } };
		if (http_response_start(r, 200, hs, 2, 3) == 0 &&
		    http_response_write(r, "ok\n", 3, NULL, NULL) == 0)
			http_response_end(r);
		return;
	}
	struct s3_req *q = req_new(srv, r);
	if (!q) {
		http_respond(r, 503, "text/plain", IOV_LIT("out of memory\n"));
		return;
	}
	http_request_set_user(r, q);
	q->users = auth_users_acquire(srv->users);
	struct s3_route_in in = { h->method,
		                  h->target,
		                  h->host,
		                  srv->domains,
		                  srv->cfg.ndomains,
		                  srv->cfg.access_points,
		                  srv->cfg.naccess_points,
		                  srv->mrap_domains,
		                  srv->cfg.nmrap_domains };
	int rc = s3_route(&in, q->a, &q->route);
	if (rc) {
		s3__error(q, rc, rc == ERR_S3AP_NO_SUCH_ACCESS_POINT ? err_text(rc) : NULL);
		return;
	}
	q->op = &s3__ops[q->route.op];
	rc = authenticate(q);
	if (rc == 0 && q->route.alias.base) {
		rc = s3_route_alias_allowed(&q->route,
		                            s3__header(q, "x-amz-copy-source").base != NULL);
		if (rc) {
			s3__error(q, rc, err_text(rc));
			return;
		}
	}
	if (rc == 0)
		rc = body_setup(q);
	if (rc) {
		s3__error(q, rc, q->v.detail[0] && !q->verified ? q->v.detail : NULL);
		return;
	}
	http_request_limit_body(r, body_cap(q));
	if (q->op->body == S3_BODY_OBJECT)
		q->op->start(q); /* it streams; everything else starts after the body */
}

static void on_finish(void *ctx, struct http_request *r, int error)
{
	(void)ctx;
	(void)error;
	struct s3_req *q = http_request_user(r);
	if (!q)
		return;
	http_request_set_user(r, NULL);
	q->r = NULL;
	/* A metadata job or pool work still running reads the request's head
	 * (the route's bucket and key are slices of it): keep its memory
	 * until q goes. */
	if (q->refs > 1)
		q->head_arena = http_request_take_arena(r);
	s3__unref(q);
}

/* ---- the access log ---- */

/* One line per request the S3 layer took (health checks are not logged),
 * written with one write(2): lines of concurrent workers never mix in a
 * file opened O_APPEND. Runs before on_finish, so q and its request are
 * still there. */
static void on_access(void *ctx, const struct http_access *a)
{
	struct s3_server *s = ctx;
	struct s3_req *q = a->user;
	if (!q)
		return;
	CHECK_MAGIC(q, S3_REQ_MAGIC);
	const struct http_head *h = http_request_head(q->r);
	bool routed = q->op != NULL;
	bool signed_in = q->verified && q->user;
	bool copy = routed && s3__header(q, "x-amz-copy-source").base;
	bool put = routed && !copy && a->status < 300 &&
	           (q->route.op == S3_OP_PUT_OBJECT || q->route.op == S3_OP_UPLOAD_PART);
	struct iov requester = signed_in ? iov_cstr(q->user->owner_id) : IOV_NULL;
	char op[32];
	struct s3_access_entry e = {
		/* Only its owner gets past a bucket's check, but on a public-read
		 * bucket anyone does: there the owner is not known here. */
		.bucket_owner = routed && a->status < 400 && q->route.bucket.len &&
		                        !public_bucket(s, q->route.bucket)
		                    ? requester
		                    : IOV_NULL,
		.bucket = routed ? q->route.bucket : IOV_NULL,
		.time = q->now,
		.remote_ip = net_peer_ip(iov_cstr(a->peer)),
		.requester = requester,
		.request_id = a->request_id,
		.operation = s3_access_log_operation(routed, q->route.op, copy, a->method, op),
		.key = routed ? q->route.key : IOV_NULL,
		.method = a->method,
		.target = a->target,
		.version_minor = h->version_minor,
		.status = a->status,
		.error_code = q->error_code,
		.bytes_sent = a->body_out,
		.object_size = put ? (int64_t)q->body_len : q->object_size,
		.total_ms = a->duration_us / 1000,
		.referer = s3__header(q, "referer"),
		.user_agent = s3__header(q, "user-agent"),
		.version_id = routed ? q->route.version_id : IOV_NULL,
		.host_id = iov_cstr(s->host_id),
		.signature_version = !q->verified              ? NULL
		                     : q->v.alg == AUTH_SIGV4A ? "SigV4A"
		                                               : "SigV4",
		.auth_type = !q->verified                   ? NULL
		             : q->v.form == AUTH_FORM_QUERY ? "QueryString"
		                                            : "AuthHeader",
		.host = h->host,
		.tls_version = a->tls_version,
		.access_point = routed ? q->route.alias : IOV_NULL,
	};
	char room[2048];
	struct buf b;
	buf_init_with(&b, room, sizeof(room), S3_ACCESS_LOG_LINE_MAX);
	if (s3_access_log_line(&e, &b) == 0) {
		ssize_t n = write(s->access_log_fd, b.data, b.len);
		(void)n; /* a full disk loses log lines, never requests */
	}
	buf_free(&b);
}

/* Open the access log file, or once open, reopen it onto the same
 * descriptor (rotation). 0 or ERR_IO with the reason in err. */
static int access_log_open(struct s3_server *s, char *err, size_t errcap)
{
	const char *path = s->cfg.access_log;
	if (!path)
		return 0;
	if (strcmp(path, "-") == 0) {
		s->access_log_fd = STDERR_FILENO;
		return 0;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errcap, "access log %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	if (!s->access_log_owned) {
		s->access_log_fd = fd;
		s->access_log_owned = true;
		return 0;
	}
	/* dup3 swaps the file under the number at once: a worker's write goes
	 * whole to the old file or whole to the new one. */
	int rc = dup3(fd, s->access_log_fd, O_CLOEXEC) < 0 ? ERR_IO : 0;
	if (rc)
		snprintf(err, errcap, "access log %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static const struct http_handler handler = {
	.name = "s3",
	.on_request = on_request,
	.on_body = on_body,
	.on_body_end = on_body_end,
	.on_finish = on_finish,
};

/* ---- lifecycle ---- */

/* Blob GC at start: is this data file named by any metadata row? */
static int referenced(void *arg, const char *id)
{
	return meta_data_file_referenced(arg, iov_cstr(id));
}

static int open_storage(struct s3_server *s, char *err, size_t cap)
{
	const char *dir = s->cfg.data_dir;
	char path[4096];
	int rc = blob_store_open(dir, &s->blobs);
	if (rc) {
		snprintf(err, cap, "%s: %s", dir,
		         rc == ERR_BLOB_LOCKED ? "in use by another store" : err_text(rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	rc = meta_writer_new(path, NULL, &s->writer);
	if (rc == 0)
		rc = meta_reader_new(path, NULL, &s->reader);
	if (rc) {
		snprintf(err, cap, "%s: %s", path, err_text(rc));
		return rc;
	}
	/* Unreferenced files (a crash between data commit and metadata commit)
	 * go before any writer exists, through a connection of our own. */
	struct meta_db *db;
	rc = meta_db_open(path, &(struct meta_db_opts){ .query_only = true }, &db);
	if (rc == 0) {
		uint64_t hlc_high = 0;
		rc = blob_store_gc(s->blobs, referenced, db, NULL);
		if (rc == 0)
			rc = meta_db_hlc_high(db, &hlc_high);
		int64_t store_id = 0;
		if (rc == 0)
			rc = meta_db_store_id(db, &store_id);
		snprintf(s->store_id, sizeof(s->store_id), "%" PRId64, store_id);
		if (rc == 0 && hlc_high)
			hlc_observe(&s->clock, hlc_high);
		meta_db_close(db);
	}
	if (rc)
		snprintf(err, cap, "%s: garbage collection: %s", dir, err_text(rc));
	return rc;
}

/* The access point settings are the caller's to validate; a library
 * contract is checked anyway, as the routes rely on it. */
static int check_access_points(const struct s3_server_config *cfg, char *err, size_t errcap)
{
	if (cfg->naccess_points > S3_ACCESS_POINTS_MAX || cfg->nmrap_domains > S3_DOMAINS_MAX) {
		snprintf(err, errcap, "too many access points or mrap domains");
		return ERR_INVALID;
	}
	for (size_t i = 0; i < cfg->naccess_points; i++) {
		const struct s3_access_point *ap = &cfg->access_points[i];
		if (s3_alias_valid(ap->alias) || s3_names_bucket_valid(ap->bucket)) {
			snprintf(err, errcap, "access point " IOV_FMT ": invalid",
			         IOV_ARG(ap->alias));
			return ERR_INVALID;
		}
		for (size_t j = 0; j < i; j++)
			if (iov_eq(cfg->access_points[j].alias, ap->alias)) {
				snprintf(err, errcap, "access point " IOV_FMT " is given twice",
				         IOV_ARG(ap->alias));
				return ERR_INVALID;
			}
	}
	for (size_t i = 0; i < cfg->nmrap_domains; i++)
		if (s3_domain_valid(iov_cstr(cfg->mrap_domains[i]))) {
			snprintf(err, errcap, "mrap domain '%s' is not a domain name",
			         cfg->mrap_domains[i]);
			return ERR_INVALID;
		}
	return 0;
}

int s3_server_start(const struct s3_server_config *cfg, struct s3_server **out, char *err,
                    size_t errcap)
{
	struct s3_server *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->access_log_fd = -1;
	s->cfg = *cfg;
	if (!s->cfg.max_skew)
		s->cfg.max_skew = 900;
	if (!s->cfg.workers)
		s->cfg.workers = 1;
	for (size_t i = 0; i < cfg->ndomains && i < S3_DOMAINS_MAX; i++)
		s->domains[i] = iov_cstr(cfg->domains[i]);
	int rc = check_access_points(cfg, err, errcap);
	if (rc) {
		free(s);
		return rc;
	}
	for (size_t i = 0; i < cfg->nmrap_domains; i++)
		s->mrap_domains[i] = iov_cstr(cfg->mrap_domains[i]);
	s->region_id = region_id(cfg->region);
	/* Each cached object head holds an open file: a quarter of the
	 * descriptors, shared among the loops, at most S3_CACHE_ENTRIES each. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
		size_t per_loop = (size_t)nofile.rlim_cur / 4 / s->cfg.workers;
		s3__cache_limit(per_loop < S3_CACHE_ENTRIES ? per_loop : S3_CACHE_ENTRIES);
	}
	hlc_init(&s->clock);
	uint8_t hid[SHA256_LEN];
	sha256(cfg->region, strlen(cfg->region), hid);
	for (int i = 0; i < 12; i++)
		snprintf(s->host_id + 2 * i, 3, "%02x", hid[i]);
	s->keys = auth_keycache_new(1024);
	rc = s->keys ? 0 : ERR_NOMEM;
	if (rc == 0)
		rc = auth_users_open(cfg->credentials, &s->users, err, errcap);
	if (rc == 0)
		rc = open_storage(s, err, errcap);
	if (rc == 0)
		rc = access_log_open(s, err, errcap);
	if (rc == 0) {
		struct http_server_config h = {
			.listen = cfg->listen,
			.tls_listen = cfg->tls_listen,
			.tls = cfg->tls,
			.workers = s->cfg.workers,
			.request_id_header = "x-amz-request-id",
			.server_header = "meridian",
			.handler = &handler,
			.handler_ctx = s,
			.access_log = cfg->access_log ? on_access : NULL,
			.access_log_ctx = s,
		};
		rc = http_server_start(&h, &s->http);
		if (rc)
			snprintf(err, errcap, "cannot listen on %s: %s",
			         cfg->listen ? cfg->listen : cfg->tls_listen, err_text(rc));
	}
	if (rc == 0 && cfg->repl && cfg->repl->npeers) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/meta.db", cfg->data_dir);
		struct repl_agent_opts ro = { cfg->repl, path, s->writer, s->blobs };
		rc = repl_agent_start(&ro, &s->agent, err, errcap);
	}
	if (rc) {
		s3_server_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

int s3_server_reload(struct s3_server *s, char *err, size_t errcap)
{
	return auth_users_reload(s->users, err, errcap);
}

int s3_server_reopen_log(struct s3_server *s, char *err, size_t errcap)
{
	return s->access_log_owned ? access_log_open(s, err, errcap) : ERR_NOT_FOUND;
}

void s3_server_stop(struct s3_server *s)
{
	if (!s)
		return;
	/* Loops first (their pool work finishes there), then the metadata
	 * threads, whose completions post to loops that no longer run: the
	 * writer drains before the loops stop, so nothing acknowledged is lost. */
	/* The agent's thread first (its acks then drain with the writer), and
	 * the agent itself only after the writer: ack completions touch it. */
	repl_agent_stop(s->agent);
	if (s->writer)
		meta_writer_shutdown(s->writer);
	repl_agent_free(s->agent);
	if (s->reader)
		meta_reader_shutdown(s->reader);
	if (s->http)
		http_server_stop(s->http);
	meta_reader_free(s->reader);
	meta_writer_free(s->writer);
	blob_store_close(s->blobs);
	auth_users_free(s->users);
	auth_keycache_free(s->keys);
	if (s->access_log_owned)
		close(s->access_log_fd);
	free(s);
}

struct http_server *s3_server_http(const struct s3_server *s)
{
	return s->http;
}
