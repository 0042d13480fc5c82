/*
 * Object operations: PutObject (streamed into a blob, checked against
 * Content-MD5, x-amz-checksum-* and the signature, committed durably before
 * the metadata), GetObject and HeadObject (conditionals, one range,
 * response-* overrides, bytes by sendfile, multipart objects part after
 * part) and DeleteObject. Loop thread, except the job functions.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"
#include "http/cond.h"
#include "http/range.h"
#include "meta/attrs.h"
#include "meta/bucket.h"
#include "meta/object.h"
#include "s3/object.h"
#include "s3/s3-int.h"

/* Headers stored with an object and returned on GET and HEAD. */
static const char *const stored_headers[] = {
	"cache-control",    "content-disposition",
	"content-encoding", "content-language",
	"expires",          "x-amz-website-redirect-location",
};

/* ---- request metadata (PUT, copy with REPLACE, multipart create) ---- */

int s3__object_meta(struct s3_req *q, struct iov *content_type, struct iov *attrs)
{
	const struct http_head *h = http_request_head(q->r);
	struct meta_attr list[64];
	size_t n = 0, user_bytes = 0;
	*content_type = IOV_NULL;
	for (size_t i = 0; i < h->nheaders; i++) {
		struct iov name = h->headers[i].name, value = h->headers[i].value;
		if (iov_eq_nocase(name, IOV_LIT("content-type"))) {
			*content_type = value;
			continue;
		}
		bool user =
		    name.len > 11 && iov_eq_nocase(iov_sub(name, 0, 11), IOV_LIT("x-amz-meta-"));
		bool keep = user;
		for (size_t k = 0; !keep && k < sizeof(stored_headers) / sizeof(stored_headers[0]);
		     k++)
			keep = iov_eq_nocase(name, iov_cstr(stored_headers[k]));
		if (!keep)
			continue;
		if (user)
			user_bytes += name.len - 11 + value.len;
		if (n == sizeof(list) / sizeof(list[0]))
			return ERR_S3_METADATA_TOO_LARGE;
		char *lower = arena_alloc(q->a, name.len);
		if (!lower)
			return ERR_NOMEM;
		iov_copy_lower(lower, name);
		list[n++] = (struct meta_attr){ iov_make(lower, name.len), value };
	}
	if (user_bytes > S3_META_USER_MAX)
		return ERR_S3_METADATA_TOO_LARGE;
	struct buf b;
	buf_init(&b, META_ATTRS_MAX);
	int rc = meta_attrs_encode(list, n, &b);
	if (rc == 0) {
		*attrs = arena_dup(q->a, buf_iov(&b));
		rc = attrs->base || b.len == 0 ? 0 : ERR_NOMEM;
	}
	buf_free(&b);
	return rc == ERR_TOO_BIG ? ERR_S3_METADATA_TOO_LARGE : rc;
}

/* The checksum the client asks for: an x-amz-checksum-<alg> header with its
 * value, or an algorithm named by x-amz-sdk-checksum-algorithm or the
 * aws-chunked trailer (the value then comes with the trailer). */
int s3__object_checksum(struct s3_req *q, struct s3_checksum *out)
{
	const struct http_head *h = http_request_head(q->r);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < h->nheaders; i++) {
		struct iov name = h->headers[i].name;
		enum checksum_alg alg;
		if (name.len <= 15 ||
		    !iov_eq_nocase(iov_sub(name, 0, 15), IOV_LIT("x-amz-checksum-")))
			continue;
		if (iov_eq_nocase(name, IOV_LIT("x-amz-checksum-mode")) ||
		    iov_eq_nocase(name, IOV_LIT("x-amz-checksum-type")) ||
		    iov_eq_nocase(name, IOV_LIT("x-amz-checksum-algorithm")))
			continue;
		if (checksum_alg_from_header(name, &alg))
			return ERR_S3_INVALID_REQUEST;
		if (out->has_value)
			return ERR_S3_INVALID_REQUEST; /* one checksum per request */
		if (base64_decode(h->headers[i].value, out->value, sizeof(out->value), &out->len) ||
		    out->len != checksum_alg_len(alg))
			return ERR_S3_INVALID_DIGEST;
		out->alg = alg;
		out->has_value = out->on = true;
	}
	/* CreateMultipartUpload names it x-amz-checksum-algorithm; other
	 * requests x-amz-sdk-checksum-algorithm. */
	struct iov named = s3__header(q, "x-amz-sdk-checksum-algorithm");
	if (!named.len)
		named = s3__header(q, "x-amz-checksum-algorithm");
	struct iov trailer = s3__header(q, "x-amz-trailer");
	if (!out->on && (named.len || trailer.len)) {
		struct iov alg_name = named.len ? named : iov_make("", 0);
		if (!named.len && trailer.len > 15)
			alg_name = iov_sub(trailer, 15, trailer.len - 15);
		if (checksum_alg_from_name(alg_name, &out->alg))
			return ERR_S3_INVALID_REQUEST;
		out->on = true;
		out->from_trailer = trailer.len > 0;
	}
	return 0;
}

/* S3's names of each algorithm, by enum checksum_alg. */
static const char *const checksum_names[][2] = {
#define S3_CHECKSUM_ROW(e, name, len) { #e, "Checksum" #e },
	CHECKSUM_MAP(S3_CHECKSUM_ROW)
#undef S3_CHECKSUM_ROW
};

const char *s3__checksum_upper(struct iov algo)
{
	enum checksum_alg alg;
	return checksum_alg_from_name(algo, &alg) ? NULL : checksum_names[alg][0];
}

const char *s3__checksum_element(struct iov algo)
{
	enum checksum_alg alg;
	return checksum_alg_from_name(algo, &alg) ? NULL : checksum_names[alg][1];
}

/* The value the trailer brought, once the aws-chunked body verified. */
void s3__object_trailer_checksum(struct s3_req *q, struct s3_checksum *c)
{
	if (!c->from_trailer || !q->chunked)
		return;
	const struct auth_header *t;
	size_t n = auth_chunked_trailers(q->chunked, &t);
	for (size_t i = 0; i < n; i++) {
		enum checksum_alg alg;
		if (checksum_alg_from_header(t[i].name, &alg) == 0 && alg == c->alg &&
		    base64_decode(t[i].value, c->value, sizeof(c->value), &c->len) == 0)
			c->has_value = true;
	}
}

void s3__object_body_end(struct s3_req *q, struct s3_checksum *sum, char *etag_hex,
                         char *checksum_b64, void (*committed)(struct s3_req *q))
{
	int rc = q->rc;
	s3__object_trailer_checksum(q, sum);
	if (rc == 0)
		rc = s3__object_check_digests(q, sum, &q->pipe.info);
	if (rc) {
		s3__pipe_abort(q);
		s3__error(q, rc == ERR_TOO_BIG ? ERR_S3_ENTITY_TOO_LARGE : rc,
		          s3__object_digest_why(q, rc, sum));
		return;
	}
	hex_encode(q->pipe.info.md5, MD5_LEN, etag_hex);
	if (sum->on)
		base64_encode(q->pipe.info.checksum, q->pipe.info.checksum_len, checksum_b64);
	s3__pipe_commit(q, committed);
}

bool s3__object_stored(struct s3_req *q, const char *blob_id, const struct meta_files *replaced,
                       int not_found)
{
	if (q->rc) {
		struct iov id = iov_cstr(blob_id);
		struct meta_files f = { &id, 1, 1 };
		s3__remove_files(q->srv, q->loop, &f);
		s3__error(q, q->rc == ERR_NOT_FOUND && not_found ? not_found : q->rc, NULL);
		return false;
	}
	s3__remove_files(q->srv, q->loop, replaced);
	return true;
}

size_t s3__object_write_headers(struct s3_req *q, struct http_header *hs, const char *etag_hex,
                                const struct s3_checksum *sum, const char *checksum_b64)
{
	size_t n = 0;
	hs[n++] = (struct http_header){ IOV_LIT("ETag"), s3__etag(q, iov_cstr(etag_hex)) };
	if (sum->on)
		hs[n++] = (struct http_header){ arena_printf(q->a, "x-amz-checksum-%s",
			                                     checksum_alg_name(sum->alg)),
			                        iov_cstr(checksum_b64) };
	return n;
}

/* Compare what the blob writer computed with what the client sent. */
int s3__object_check_digests(struct s3_req *q, const struct s3_checksum *c,
                             const struct blob_info *info)
{
	struct iov md5 = s3__header(q, "content-md5");
	if (md5.base) {
		uint8_t want[MD5_LEN];
		size_t n;
		if (base64_decode(md5, want, sizeof(want), &n) || n != MD5_LEN)
			return ERR_S3_INVALID_DIGEST;
		if (memcmp(want, info->md5, MD5_LEN) != 0)
			return ERR_S3_BAD_DIGEST;
	}
	if (c->has_value &&
	    (c->len != info->checksum_len || memcmp(c->value, info->checksum, c->len) != 0))
		return ERR_S3_BAD_DIGEST;
	return 0;
}

const char *s3__object_digest_why(struct s3_req *q, int rc, const struct s3_checksum *c)
{
	if (rc != ERR_S3_BAD_DIGEST || !c->has_value)
		return NULL;
	struct iov md5 = s3__header(q, "content-md5");
	if (md5.base) {
		/* Content-MD5 is checked first: was it the one that failed? */
		uint8_t want[MD5_LEN];
		size_t n;
		if (base64_decode(md5, want, sizeof(want), &n) == 0 && n == MD5_LEN &&
		    memcmp(want, q->pipe.info.md5, MD5_LEN) != 0)
			return NULL;
	}
	const char *upper = s3__checksum_upper(iov_cstr(checksum_alg_name(c->alg)));
	struct iov why = arena_printf(q->a,
	                              "The %s you specified did not match the calculated "
	                              "checksum.",
	                              upper ? upper : "checksum");
	return why.base;
}

int s3__object_size_ok(struct s3_req *q)
{
	const struct http_head *h = http_request_head(q->r);
	uint64_t size = h->framing == HTTP_BODY_LENGTH ? h->content_length : 0;
	if (q->verified && q->v.decoded_length != UINT64_MAX)
		size = q->v.decoded_length; /* aws-chunked: what the object will hold */
	return size > S3_MAX_OBJECT ? ERR_S3_ENTITY_TOO_LARGE : 0;
}

int s3__replica(struct s3_req *q, bool with_etag, struct s3_replica *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	struct iov vid = s3__header(q, S3_REPLICA_VERSION_HEADER);
	if (!vid.base)
		return 0;
	out->on = true;
	*why = "malformed " S3_REPLICA_VERSION_HEADER;
	if (hlc_version_parse(vid, &out->hlc, &out->region))
		return ERR_S3_INVALID_ARGUMENT;
	/* A clock far ahead is stored as is but not followed. */
	(void)hlc_observe(&q->srv->clock, out->hlc);
	out->last_modified_ms = (int64_t)hlc_ms(out->hlc);
	struct iov lm = s3__header(q, S3_REPLICA_MODIFIED_HEADER);
	unsigned long long ms;
	*why = "malformed " S3_REPLICA_MODIFIED_HEADER;
	if (lm.base) {
		if (iov_to_u64(lm, INT64_MAX, &ms))
			return ERR_S3_INVALID_ARGUMENT;
		out->last_modified_ms = (int64_t)ms;
	}
	out->etag = s3__header(q, S3_REPLICA_ETAG_HEADER);
	*why = "missing or malformed " S3_REPLICA_ETAG_HEADER;
	if (with_etag && (!out->etag.len || out->etag.len > META_FIELD_MAX))
		return ERR_S3_INVALID_ARGUMENT;
	*why = NULL;
	return 0;
}

/* ---- PutObject ---- */

struct put {
	struct s3_checksum sum;
	struct meta_object obj;
	struct meta_files replaced;
	struct meta_bucket bucket;
	struct iov if_match, if_none_match;
	struct s3_replica replica;
	bool bucket_checked;
	int bucket_rc;
	char etag_hex[2 * MD5_LEN + 1];
	char checksum_b64[CHECKSUM_MAX_BASE64 + 1];
};

static int put_bucket_fn(struct meta_db *db, struct s3_req *q)
{
	struct put *p = q->op_state;
	return meta_bucket_get(db, q->route.bucket, q->a, &p->bucket);
}

static void put_finished(struct s3_req *q);

/* Both the body and the bucket check are needed before the bytes commit. */
static void put_maybe_finish(struct s3_req *q)
{
	struct put *p = q->op_state;
	if (!s3__live(q) || !p->bucket_checked || !q->pipe.ended || q->next)
		return;
	s3__pipe_finish(q, put_finished);
}

static void put_bucket_checked(struct s3_req *q)
{
	struct put *p = q->op_state;
	p->bucket_checked = true;
	int rc = q->rc;
	if (rc == 0 && !s3__owns(q, &p->bucket))
		rc = ERR_S3_ACCESS_DENIED;
	if (rc == 0 && p->replica.on && p->bucket.versioning != META_ENABLED)
		rc = ERR_REPL_NEEDS_VERSIONING;
	if (rc) {
		s3__pipe_abort(q);
		s3__error(q, rc, rc == ERR_REPL_NEEDS_VERSIONING ? err_text(rc) : NULL);
		return;
	}
	put_maybe_finish(q);
}

static int put_meta_fn(struct meta_db *db, struct s3_req *q)
{
	struct put *p = q->op_state;
	if (p->if_match.len || p->if_none_match.len) {
		struct meta_object cur;
		int rc = meta_object_get(db, q->route.bucket, q->route.key, IOV_NULL, q->a, &cur);
		bool exists = rc == 0;
		if (rc && rc != ERR_META_NO_SUCH_KEY)
			return rc;
		struct iov etag = exists ? s3__etag(q, cur.etag) : IOV_NULL;
		struct http_cond_object o = { etag, cur.last_modified_ms / 1000 };
		rc = http_cond_write(p->if_match, p->if_none_match, exists, &o);
		if (rc)
			return rc;
	}
	return meta_object_put(db, q->route.bucket, &p->obj, q->a, &p->replaced);
}

static void put_stored(struct s3_req *q)
{
	struct put *p = q->op_state;
	if (q->rc == ERR_META_EXISTS && p->replica.on) {
		/* Applied before (a resend after a lost answer): drop the copy. */
		q->rc = 0;
		struct iov id = iov_cstr(q->pipe.info.id);
		struct meta_files f = { &id, 1, 1 };
		s3__remove_files(q->srv, q->loop, &f);
		hlc_version_id(p->obj.hlc, p->obj.region, p->obj.version_id);
	} else if (!s3__object_stored(q, q->pipe.info.id, &p->replaced, ERR_S3_NO_SUCH_KEY))
		return;
	struct http_header hs[3];
	size_t n = s3__object_write_headers(q, hs, p->etag_hex, &p->sum, p->checksum_b64);
	if (p->bucket.versioning != META_UNVERSIONED)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-version-id"),
			                        iov_cstr(p->obj.version_id) };
	s3__empty(q, 200, hs, n);
}

static void put_committed(struct s3_req *q)
{
	struct put *p = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	const struct blob_info *info = &q->pipe.info;
	p->obj.key = q->route.key;
	p->obj.hlc = hlc_now(&q->srv->clock);
	p->obj.region = q->srv->region_id;
	p->obj.size = info->size;
	p->obj.etag = iov_cstr(p->etag_hex);
	p->obj.last_modified_ms = hlc_ms(p->obj.hlc);
	if (p->replica.on) {
		/* A multipart source's "<md5>-N" cannot be recomputed here. */
		bool composite = memchr(p->replica.etag.base, '-', p->replica.etag.len) != NULL;
		if (!composite && !iov_eq(p->replica.etag, p->obj.etag)) {
			struct meta_files none = { 0 };
			q->rc = ERR_S3_BAD_DIGEST; /* the file is stored: remove it */
			s3__object_stored(q, info->id, &none, 0);
			return;
		}
		p->obj.hlc = p->replica.hlc;
		p->obj.region = p->replica.region;
		p->obj.etag = p->replica.etag;
		p->obj.last_modified_ms = p->replica.last_modified_ms;
		p->obj.repl = META_REPL_REPLICA;
	}
	p->obj.data_file = iov_cstr(info->id);
	p->obj.owner = iov_cstr(q->user->owner_id);
	if (p->sum.on) {
		p->obj.checksum_algo = iov_cstr(checksum_alg_name(p->sum.alg));
		p->obj.checksum = iov_cstr(p->checksum_b64);
	}
	s3__meta(q, true, put_meta_fn, put_stored);
}

static void put_finished(struct s3_req *q)
{
	struct put *p = q->op_state;
	s3__object_body_end(q, &p->sum, p->etag_hex, p->checksum_b64, put_committed);
}

void s3__put_object(struct s3_req *q)
{
	if (s3__header(q, "x-amz-copy-source").base) {
		s3__copy_object(q);
		return;
	}
	struct put *p = arena_alloc(q->a, sizeof(*p));
	if (!p) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(p, 0, sizeof(*p));
	q->op_state = p;
	int rc = s3__object_meta(q, &p->obj.content_type, &p->obj.attrs);
	if (rc == 0)
		rc = s3__object_checksum(q, &p->sum);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	const char *why = NULL;
	if ((rc = s3__replica(q, true, &p->replica, &why))) {
		s3__error(q, rc, why);
		return;
	}
	if (!p->replica.on) {
		p->if_match = s3__header(q, "if-match");
		p->if_none_match = s3__header(q, "if-none-match");
	}
	rc = s3__object_size_ok(q);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	if (s3__pipe_start(q, S3_MAX_OBJECT))
		return;
	q->pipe.opts.with_checksum = p->sum.on;
	q->pipe.opts.checksum = p->sum.alg;
	q->body_done = put_maybe_finish;
	s3__meta(q, false, put_bucket_fn, put_bucket_checked);
}

/* ---- GetObject, HeadObject ---- */

struct get {
	struct meta_bucket bucket;
	struct meta_object obj;
	int bucket_rc;
	/* sending */
	uint64_t start, end; /* the byte range being sent, end exclusive */
	uint64_t pos;        /* next byte to send */
	size_t part;         /* next part (multipart objects) */
	int fd;
	uint64_t file_off, file_len; /* what the open file contributes */
	int prefd;     /* a single-file object's data, opened by the metadata reader */
	bool fd_owned; /* g->fd is ours to close (not the cache entry's) */
	uint64_t gen0; /* the bucket's cache generation before the read */
	const struct s3_cached *cached; /* the cache entry answered from, referenced */
};

static int get_fn(struct meta_db *db, struct s3_req *q)
{
	struct get *g = q->op_state;
	g->gen0 = s3__gen_read(&q->srv->gens, q->route.bucket);
	g->bucket_rc = meta_bucket_get(db, q->route.bucket, q->a, &g->bucket);
	if (g->bucket_rc)
		return g->bucket_rc;
	struct iov vid = q->route.has_version_id ? q->route.version_id : IOV_NULL;
	int rc = meta_object_get(db, q->route.bucket, q->route.key, vid, q->a, &g->obj);
	/* This thread may block: open the data here and save the loop a hop
	 * to the pool. Not for HEAD, markers or multipart objects. */
	const struct meta_object *o = &g->obj;
	if (rc == 0 && q->route.op == S3_OP_GET_OBJECT && !o->is_delete_marker && !o->part_count &&
	    o->size && o->data_file.len == BLOB_ID_LEN) {
		char id[BLOB_ID_LEN + 1];
		uint64_t size;
		memcpy(id, o->data_file.base, BLOB_ID_LEN);
		id[BLOB_ID_LEN] = '\0';
		if (blob_open(q->srv->blobs, id, &g->prefd, &size) == 0 && size != o->size) {
			close(g->prefd);
			g->prefd = -1;
		}
	}
	return rc;
}

/* Headers every object answer carries; n is the count filled so far. */
static size_t object_headers(struct s3_req *q, const struct get *g, struct http_header *hs,
                             size_t cap)
{
	size_t n = 0;
	const struct meta_object *o = &g->obj;
	hs[n++] =
	    (struct http_header){ IOV_LIT("Last-Modified"), s3__http_date(q, o->last_modified_ms) };
	if (g->bucket.versioning != META_UNVERSIONED || strcmp(o->version_id, "null") != 0)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-version-id"),
			                        arena_dup(q->a, iov_cstr(o->version_id)) };
	if (o->is_delete_marker) {
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-delete-marker"), IOV_LIT("true") };
		return n;
	}
	hs[n++] = (struct http_header){ IOV_LIT("ETag"), s3__etag(q, o->etag) };
	hs[n++] = (struct http_header){ IOV_LIT("Accept-Ranges"), IOV_LIT("bytes") };
	const char *repl = meta_repl_name(o->repl);
	if (repl)
		hs[n++] =
		    (struct http_header){ IOV_LIT("x-amz-replication-status"), iov_cstr(repl) };
	if (o->checksum.len &&
	    iov_eq_nocase(s3__header(q, "x-amz-checksum-mode"), IOV_LIT("ENABLED"))) {
		hs[n++] = (struct http_header){ arena_printf(q->a, "x-amz-checksum-%.*s",
			                                     (int)o->checksum_algo.len,
			                                     o->checksum_algo.base),
			                        o->checksum };
	}
	if (o->part_count && q->route.part_number)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-mp-parts-count"),
			                        arena_printf(q->a, "%u", o->part_count) };
	struct meta_attr attrs[64];
	size_t na = 0;
	if (meta_attrs_decode(o->attrs, attrs, 64, &na))
		na = 0;
	for (size_t i = 0; i < na && n < cap; i++)
		hs[n++] = (struct http_header){ attrs[i].name, attrs[i].value };
	return n;
}

/* response-* query overrides replace or add headers (signed requests only). */
static size_t apply_overrides(struct s3_req *q, struct http_header *hs, size_t n, size_t cap,
                              struct iov *content_type)
{
	static const struct {
		const char *param, *header;
	} ov[] = {
		{ "response-content-type", "Content-Type" },
		{ "response-content-language", "Content-Language" },
		{ "response-expires", "Expires" },
		{ "response-cache-control", "Cache-Control" },
		{ "response-content-disposition", "Content-Disposition" },
		{ "response-content-encoding", "Content-Encoding" },
	};
	if (!q->user)
		return n;
	for (size_t i = 0; i < sizeof(ov) / sizeof(ov[0]); i++) {
		struct iov v;
		if (s3_query_get(q->route.query, ov[i].param, q->a, &v) != 1)
			continue;
		if (i == 0) {
			*content_type = v;
			continue;
		}
		size_t k = 0;
		while (k < n && !iov_eq_nocase(hs[k].name, iov_cstr(ov[i].header)))
			k++;
		if (k == n && n < cap)
			n++;
		if (k < n)
			hs[k] = (struct http_header){ iov_cstr(ov[i].header), v };
	}
	return n;
}

static void send_next(struct s3_req *q);

static void piece_sent(void *arg, int status)
{
	struct s3_req *q = arg;
	struct get *g = q->op_state;
	if (g->fd_owned)
		close(g->fd);
	g->fd = -1;
	if (status == 0 && g->pos < g->end && q->r)
		send_next(q);
	else if (status == 0 && g->pos >= g->end && q->r)
		http_response_end(q->r);
	s3__unref(q);
}

/* Pool: open the file that holds byte g->pos. */
static int open_piece(struct s3_req *q)
{
	struct get *g = q->op_state;
	const struct meta_object *o = &g->obj;
	struct iov file = o->data_file;
	uint64_t base = 0, len = o->size;
	if (o->part_count) {
		while (g->part < o->nparts &&
		       o->parts[g->part].offset + o->parts[g->part].size <= g->pos)
			g->part++;
		if (g->part == o->nparts)
			return ERR_INTERNAL;
		file = o->parts[g->part].data_file;
		base = o->parts[g->part].offset;
		len = o->parts[g->part].size;
	}
	char id[BLOB_ID_LEN + 1];
	if (file.len != BLOB_ID_LEN)
		return ERR_INTERNAL;
	memcpy(id, file.base, BLOB_ID_LEN);
	id[BLOB_ID_LEN] = '\0';
	uint64_t size;
	int rc = blob_open(q->srv->blobs, id, &g->fd, &size);
	if (rc)
		return rc;
	if (size != len) {
		close(g->fd);
		g->fd = -1;
		return ERR_IO;
	}
	g->file_off = g->pos - base;
	uint64_t file_end = base + len < g->end ? base + len : g->end;
	g->file_len = file_end - g->pos;
	return 0;
}

static void piece_opened(struct s3_req *q)
{
	struct get *g = q->op_state;
	if (q->rc || !q->r) {
		/* Headers are out: all we can do is cut the connection short. */
		if (g->fd >= 0 && g->fd_owned)
			close(g->fd);
		g->fd = -1;
		if (q->r)
			http_response_abort(q->r); /* the viewer sees the body cut */
		return;
	}
	uint64_t len = g->file_len;
	g->pos += len;
	s3__ref(q);
	int rc = http_response_sendfile(q->r, g->fd, g->file_off, len, piece_sent, q);
	if (rc) {
		if (g->fd_owned)
			close(g->fd);
		g->fd = -1;
		s3__unref(q);
	}
}

static void send_next(struct s3_req *q)
{
	s3__pool(q, open_piece, piece_opened);
}

static void get_answer(struct s3_req *q);

static void get_found(struct s3_req *q)
{
	struct get *g = q->op_state;
	get_answer(q);
	if (g->prefd >= 0 && !g->cached) /* not used: answered without a body */
		close(g->prefd);
	g->prefd = -1;
}

static void get_answer(struct s3_req *q)
{
	if (!s3__live(q))
		return; /* the viewer left while the metadata was read */
	struct get *g = q->op_state;
	bool head = q->route.op == S3_OP_HEAD_OBJECT;
	int rc = q->rc;
	if (g->bucket_rc == 0 && !s3__may_read(q, &g->bucket))
		rc = ERR_S3_ACCESS_DENIED;
	struct http_header hs[80];
	size_t n = 0;
	if (rc == ERR_META_NO_SUCH_KEY && g->obj.is_delete_marker) {
		n = object_headers(q, g, hs, 80);
		s3__error_headers(q, ERR_S3_NO_SUCH_KEY, hs, n);
		return;
	}
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	if (g->obj.is_delete_marker) {
		/* A version id named a delete marker. */
		n = object_headers(q, g, hs, 80);
		s3__error_headers(q, ERR_S3_METHOD_NOT_ALLOWED, hs, n);
		return;
	}
	q->object_size = (int64_t)g->obj.size;
	struct http_cond_headers ch = { s3__header(q, "if-match"), s3__header(q, "if-none-match"),
		                        s3__header(q, "if-modified-since"),
		                        s3__header(q, "if-unmodified-since") };
	struct http_cond_object co = { s3__etag(q, g->obj.etag), g->obj.last_modified_ms / 1000 };
	enum http_cond c = http_cond_read(&ch, &co, q->now);
	n = object_headers(q, g, hs, 70);
	if (c == HTTP_COND_NOT_MODIFIED) {
		s3__empty(q, 304, hs, n);
		return;
	}
	if (c == HTTP_COND_FAILED) {
		s3__error(q, ERR_S3_PRECONDITION_FAILED, NULL);
		return;
	}
	uint64_t size = g->obj.size;
	struct http_range range;
	enum http_range_kind rk = http_range_parse(s3__header(q, "range"), size, &range);
	if (q->route.part_number) {
		/* partNumber=N: that part of a multipart object as a range; part 1
		 * of a single-part object is all of it. */
		uint32_t pn = q->route.part_number;
		if (rk != HTTP_RANGE_NONE) {
			s3__error(
			    q, ERR_S3_INVALID_REQUEST,
			    "Cannot specify both Range header and partNumber query parameter");
			return;
		}
		if (g->obj.part_count && pn <= g->obj.nparts) {
			range = (struct http_range){ HTTP_RANGE_OK, g->obj.parts[pn - 1].offset,
				                     g->obj.parts[pn - 1].size };
			rk = HTTP_RANGE_OK;
		} else if (g->obj.part_count || pn != 1) {
			s3__error(q, ERR_S3_INVALID_PART_NUMBER, NULL);
			return;
		}
	}
	char cr[80];
	if (rk == HTTP_RANGE_UNSATISFIABLE) {
		http_range_content_range(&range, size, cr);
		hs[0] =
		    (struct http_header){ IOV_LIT("Content-Range"), arena_dup(q->a, iov_cstr(cr)) };
		s3__error_headers(q, ERR_S3_INVALID_RANGE, hs, 1);
		return;
	}
	int status = 200;
	g->start = 0;
	g->end = size;
	if (rk == HTTP_RANGE_OK) {
		status = 206;
		g->start = range.start;
		g->end = range.start + range.len;
		http_range_content_range(&range, size, cr);
		hs[n++] =
		    (struct http_header){ IOV_LIT("Content-Range"), arena_dup(q->a, iov_cstr(cr)) };
	}
	struct iov ctype =
	    g->obj.content_type.len ? g->obj.content_type : IOV_LIT("binary/octet-stream");
	n = apply_overrides(q, hs, n, 78, &ctype);
	hs[n++] = (struct http_header){ IOV_LIT("Content-Type"), ctype };
	q->answered = true;
	http_response_start(q->r, status, hs, n, (int64_t)(g->end - g->start));
	if (head || g->end == g->start) {
		http_response_end(q->r);
		return;
	}
	g->pos = g->start;
	if (g->prefd >= 0 && !g->obj.part_count) {
		/* Keep the head and the open file for the next GET of it. */
		struct s3_cache *cache = g->cached ? NULL : s3__cache_local(&q->srv->gens);
		const struct s3_cached *e = NULL;
		if (cache && s3__cache_put(cache, g->gen0, &g->bucket, &g->obj, g->prefd, &e)) {
			g->cached = e;
			g->fd_owned = false;
		} else {
			g->fd_owned = !g->cached;
		}
		g->fd = g->prefd;
		g->prefd = -1;
		g->file_off = g->start;
		g->file_len = g->end - g->start;
		q->rc = 0;
		piece_opened(q);
		return;
	}
	send_next(q);
}

static void get_cleanup(struct s3_req *q)
{
	struct get *g = q->op_state;
	s3__cache_release(g->cached);
	g->cached = NULL;
}

void s3__get_object(struct s3_req *q)
{
	struct get *g = arena_alloc(q->a, sizeof(*g));
	if (!g) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(g, 0, sizeof(*g));
	g->fd = g->prefd = -1;
	q->op_state = g;
	q->cleanup = get_cleanup;
	/* The latest version, seen before and unchanged since: answer here. */
	struct s3_cache *cache = s3__cache_local(&q->srv->gens);
	if (cache && !q->route.has_version_id && !q->route.part_number) {
		uint64_t gen = s3__gen_read(&q->srv->gens, q->route.bucket);
		g->cached = s3__cache_get(cache, q->route.bucket, q->route.key, gen);
		if (g->cached) {
			g->bucket = g->cached->bucket;
			g->obj = g->cached->obj;
			g->prefd = g->cached->fd;
			q->rc = 0;
			get_found(q);
			return;
		}
	}
	s3__meta(q, false, get_fn, get_found);
}

/* ---- DeleteObject ---- */

struct del {
	struct s3_replica replica;
	struct meta_bucket bucket;
	struct meta_delete d;
	struct meta_delete_result res;
};

static int del_fn(struct meta_db *db, struct s3_req *q)
{
	struct del *x = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &x->bucket);
	if (rc)
		return rc;
	if (!s3__owns(q, &x->bucket))
		return ERR_S3_ACCESS_DENIED;
	x->d.key = q->route.key;
	x->d.version_id = q->route.has_version_id ? q->route.version_id : IOV_NULL;
	x->d.hlc = hlc_now(&q->srv->clock);
	x->d.region = q->srv->region_id;
	x->d.now_ms = (int64_t)hlc_ms(x->d.hlc);
	x->d.owner = iov_cstr(q->user->owner_id);
	if (x->replica.on) {
		/* A replicated delete marker, with the source's id and time. */
		if (x->bucket.versioning != META_ENABLED)
			return ERR_REPL_NEEDS_VERSIONING;
		x->d.version_id = IOV_NULL;
		x->d.hlc = x->replica.hlc;
		x->d.region = x->replica.region;
		x->d.now_ms = x->replica.last_modified_ms;
		x->d.repl = META_REPL_REPLICA;
	}
	rc = meta_object_delete(db, q->route.bucket, &x->d, q->a, &x->res);
	if (rc == ERR_META_EXISTS && x->replica.on) {
		x->res.delete_marker = true;
		hlc_version_id(x->d.hlc, x->d.region, x->res.version_id);
		rc = 0;
	}
	return rc;
}

static void del_done(struct s3_req *q)
{
	struct del *x = q->op_state;
	if (q->rc == ERR_META_NO_SUCH_VERSION) {
		/* A version that is already gone deletes fine, as on AWS. */
		struct http_header h = { IOV_LIT("x-amz-version-id"), q->route.version_id };
		s3__empty(q, 204, &h, 1);
		return;
	}
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	s3__remove_files(q->srv, q->loop, &x->res.files);
	struct http_header hs[2];
	size_t n = 0;
	if (x->res.delete_marker)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-delete-marker"), IOV_LIT("true") };
	if (x->res.version_id[0])
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-version-id"),
			                        iov_cstr(x->res.version_id) };
	s3__empty(q, 204, hs, n);
}

void s3__delete_object(struct s3_req *q)
{
	struct del *x = arena_alloc(q->a, sizeof(*x));
	if (!x) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(x, 0, sizeof(*x));
	q->op_state = x;
	const char *why = NULL;
	int rc = s3__replica(q, false, &x->replica, &why);
	if (rc == 0 && x->replica.on && q->route.has_version_id) {
		rc = ERR_S3_INVALID_ARGUMENT;
		why = "a replica delete names no versionId";
	}
	if (rc) {
		s3__error(q, rc, why);
		return;
	}
	s3__meta(q, true, del_fn, del_done);
}
