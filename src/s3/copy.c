/*
 * CopyObject (a PUT with x-amz-copy-source) and UploadPartCopy (an
 * UploadPart with one, and maybe x-amz-copy-source-range). The source range
 * is read on the pool (across the source's parts when it is a multipart
 * object) into a new blob, after the x-amz-copy-source-if-* conditions;
 * CopyObject applies the COPY/REPLACE metadata directive. Loop thread,
 * except the job functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/err.h"
#include "base/hex.h"
#include "http/cond.h"
#include "meta/bucket.h"
#include "http/range.h"
#include "meta/object.h"
#include "meta/upload.h"
#include "s3/object.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"

#define COPY_BUF (1u << 20)

struct copy {
	struct iov src_bucket, src_key, src_version;
	bool has_src_version;
	bool replace;
	bool part;           /* UploadPartCopy */
	uint64_t start, len; /* the source bytes to copy */
	struct meta_upload upload;
	struct meta_part mpart;
	struct meta_bucket sb, db;
	struct meta_object src;
	struct meta_object obj;
	struct meta_files replaced;
	struct s3_checksum sum;
	struct blob_info info;
	char etag_hex[2 * MD5_LEN + 1];
	char checksum_b64[CHECKSUM_MAX_BASE64 + 1];
};

/* "bucket/key[?versionId=v]" or with a leading '/', URL-encoded. */
static int parse_source(struct s3_req *q, struct copy *c)
{
	struct iov v = s3__header(q, "x-amz-copy-source");
	struct iov path, query = iov_split(v, '?', &path);
	if (path.len && path.base[0] == '/')
		path = iov_sub(path, 1, path.len - 1);
	struct iov key_enc = iov_split(path, '/', &c->src_bucket);
	if (!c->src_bucket.len || !key_enc.base || !key_enc.len)
		return ERR_S3_INVALID_ARGUMENT;
	/* Decode as a query value would be, but '+' is literal in a path. */
	char *k = arena_alloc(q->a, key_enc.len + 1);
	if (!k)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < key_enc.len; i++) {
		char ch = key_enc.base[i];
		if (ch == '%') {
			int hi = i + 2 < key_enc.len ? hex_digit(key_enc.base[i + 1]) : -1;
			int lo = i + 2 < key_enc.len ? hex_digit(key_enc.base[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return ERR_S3_INVALID_ARGUMENT;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		k[n++] = ch;
	}
	c->src_key = iov_make(k, n);
	if (c->src_key.len > S3_KEY_MAX)
		return ERR_S3_KEY_TOO_LONG;
	if (query.base) {
		int rc = s3_query_get(query, "versionId", q->a, &c->src_version);
		if (rc < 0)
			return ERR_S3_INVALID_ARGUMENT;
		c->has_src_version = rc == 1;
	}
	return 0;
}

static int lookup_fn(struct meta_db *db, struct s3_req *q)
{
	struct copy *c = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &c->db);
	if (rc)
		return rc;
	if (!s3__owns(q, &c->db))
		return ERR_S3_ACCESS_DENIED;
	if (c->part) {
		rc = meta_upload_get(db, q->route.bucket, q->route.key, q->route.upload_id, q->a,
		                     &c->upload);
		if (rc)
			return rc;
	}
	rc = meta_bucket_get(db, c->src_bucket, q->a, &c->sb);
	if (rc)
		return rc;
	if (!s3__may_read(q, &c->sb))
		return ERR_S3_ACCESS_DENIED;
	rc = meta_object_get(db, c->src_bucket, c->src_key,
	                     c->has_src_version ? c->src_version : IOV_NULL, q->a, &c->src);
	if (rc == 0 && c->src.is_delete_marker)
		rc = ERR_S3_INVALID_REQUEST; /* S3: a delete marker cannot be copied */
	return rc;
}

/* Pool: copy the source's bytes into a new blob and commit it. */
static int copy_bytes(struct s3_req *q)
{
	struct copy *c = q->op_state;
	struct blob_writer_opts opts = { .max_size = S3_MAX_OBJECT,
		                         .with_checksum = c->sum.on,
		                         .checksum = c->sum.alg };
	struct blob_writer *w;
	int rc = blob_writer_new(q->srv->blobs, &opts, &w);
	if (rc)
		return rc;
	char *buf = malloc(COPY_BUF);
	if (!buf) {
		blob_writer_abort(w);
		return ERR_NOMEM;
	}
	size_t nfiles = c->src.part_count ? c->src.nparts : 1;
	uint64_t end = c->start + c->len;
	for (size_t i = 0; rc == 0 && i < nfiles; i++) {
		const struct meta_part *pt = c->src.part_count ? &c->src.parts[i] : NULL;
		struct iov file = pt ? pt->data_file : c->src.data_file;
		uint64_t base = pt ? pt->offset : 0, flen = pt ? pt->size : c->src.size;
		if (base + flen <= c->start || base >= end)
			continue; /* outside the range */
		char id[BLOB_ID_LEN + 1];
		if (file.len != BLOB_ID_LEN) {
			rc = ERR_INTERNAL;
			break;
		}
		memcpy(id, file.base, BLOB_ID_LEN);
		id[BLOB_ID_LEN] = '\0';
		int fd = -1;
		uint64_t size;
		rc = blob_open(q->srv->blobs, id, &fd, &size);
		uint64_t off = c->start > base ? c->start - base : 0;
		uint64_t stop = end - base < size ? end - base : size;
		while (rc == 0 && off < stop) {
			size_t want = stop - off < COPY_BUF ? (size_t)(stop - off) : COPY_BUF;
			ssize_t r = pread(fd, buf, want, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = ERR_IO;
				break;
			}
			rc = blob_write(w, buf, (size_t)r);
			off += (uint64_t)r;
		}
		if (fd >= 0)
			close(fd);
	}
	free(buf);
	if (rc) {
		blob_writer_abort(w);
		return rc;
	}
	return blob_writer_commit(w, &c->info);
}

static int store_fn(struct meta_db *db, struct s3_req *q)
{
	struct copy *c = q->op_state;
	if (c->part)
		return meta_upload_put_part(db, q->route.bucket, q->route.key, q->route.upload_id,
		                            &c->mpart, q->a, &c->replaced);
	return meta_object_put(db, q->route.bucket, &c->obj, q->a, &c->replaced);
}

static void stored(struct s3_req *q)
{
	struct copy *c = q->op_state;
	if (!s3__object_stored(q, c->info.id, &c->replaced, 0))
		return;
	struct buf b;
	buf_init(&b, 4096);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, c->part ? "CopyPartResult" : "CopyObjectResult", true);
	s3_xml_date(&w, "LastModified", s3__iso_date(q, c->obj.last_modified_ms));
	s3_xml_text(&w, "ETag", s3__etag(q, c->obj.etag));
	if (c->sum.on)
		s3_xml_text(&w, s3__checksum_element(iov_cstr(checksum_alg_name(c->sum.alg))),
		            iov_cstr(c->checksum_b64));
	int rc = s3_xml_end(&w);
	struct http_header hs[2];
	size_t n = 0;
	if (c->db.versioning != META_UNVERSIONED && !c->part)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-version-id"),
			                        iov_cstr(c->obj.version_id) };
	if (c->sb.versioning != META_UNVERSIONED)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-copy-source-version-id"),
			                        iov_cstr(c->src.version_id) };
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &b, hs, n);
	buf_free(&b);
}

static void copied(struct s3_req *q)
{
	struct copy *c = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc == ERR_TOO_BIG ? ERR_S3_INVALID_REQUEST : q->rc, NULL);
		return;
	}
	hex_encode(c->info.md5, MD5_LEN, c->etag_hex);
	if (c->sum.on)
		base64_encode(c->info.checksum, c->info.checksum_len, c->checksum_b64);
	c->obj.key = q->route.key;
	c->obj.hlc = hlc_now(&q->srv->clock);
	c->obj.region = q->srv->region_id;
	c->obj.size = c->info.size;
	c->obj.etag = iov_cstr(c->etag_hex);
	c->obj.last_modified_ms = (int64_t)hlc_ms(c->obj.hlc);
	c->obj.data_file = iov_cstr(c->info.id);
	c->obj.owner = iov_cstr(q->user->owner_id);
	if (c->sum.on) {
		c->obj.checksum_algo = iov_cstr(checksum_alg_name(c->sum.alg));
		c->obj.checksum = iov_cstr(c->checksum_b64);
	}
	if (!c->replace) {
		c->obj.content_type = c->src.content_type;
		c->obj.attrs = c->src.attrs;
	}
	if (c->part) {
		c->mpart = (struct meta_part){ .number = q->route.part_number,
			                       .size = c->info.size,
			                       .etag = c->obj.etag,
			                       .data_file = c->obj.data_file,
			                       .checksum = c->obj.checksum,
			                       .last_modified_ms = c->obj.last_modified_ms };
	}
	s3__meta(q, true, store_fn, stored);
}

static void looked_up(struct s3_req *q)
{
	struct copy *c = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct http_cond_headers ch = { s3__header(q, "x-amz-copy-source-if-match"),
		                        s3__header(q, "x-amz-copy-source-if-none-match"),
		                        s3__header(q, "x-amz-copy-source-if-modified-since"),
		                        s3__header(q, "x-amz-copy-source-if-unmodified-since") };
	struct http_cond_object co = { s3__etag(q, c->src.etag), c->src.last_modified_ms / 1000 };
	int rc = http_cond_copy_source(&ch, &co, q->now);
	c->start = 0;
	c->len = c->src.size;
	struct iov range = s3__header(q, "x-amz-copy-source-range");
	if (rc == 0 && c->part && range.base) {
		struct http_range r;
		rc = http_range_copy_source(range, c->src.size, &r);
		c->start = r.start;
		c->len = r.len;
	}
	if (rc == 0 && c->len > S3_MAX_OBJECT)
		rc = ERR_S3_INVALID_REQUEST;
	bool same = !c->part && iov_eq(c->src_bucket, q->route.bucket) &&
	            iov_eq(c->src_key, q->route.key) && !c->has_src_version;
	if (rc == 0 && same && !c->replace)
		rc = ERR_S3_INVALID_REQUEST;
	if (rc) {
		s3__error(
		    q, rc == ERR_COND_FAILED ? ERR_S3_PRECONDITION_FAILED : rc,
		    rc == ERR_S3_INVALID_REQUEST && same
		        ? "This copy request is illegal because it is trying to copy an object "
		          "to itself without changing the object's metadata, storage class, "
		          "website redirect location or encryption attributes."
		        : NULL);
		return;
	}
	s3__pool(q, copy_bytes, copied);
}

static void body_ended(struct s3_req *q)
{
	s3__meta(q, false, lookup_fn, looked_up);
}

static struct copy *copy_start(struct s3_req *q, bool part)
{
	struct copy *c = arena_alloc(q->a, sizeof(*c));
	if (!c) {
		s3__error(q, ERR_NOMEM, NULL);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->part = part;
	q->op_state = c;
	return c;
}

void s3__upload_part_copy(struct s3_req *q)
{
	struct copy *c = copy_start(q, true);
	if (!c)
		return;
	int rc = q->route.upload_id.len ? parse_source(q, c) : ERR_S3_NO_SUCH_UPLOAD;
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	q->body_done = body_ended;
}

void s3__copy_object(struct s3_req *q)
{
	struct copy *c = copy_start(q, false);
	if (!c)
		return;
	struct iov directive = s3__header(q, "x-amz-metadata-directive");
	c->replace = iov_eq(directive, IOV_LIT("REPLACE"));
	int rc = directive.base && !c->replace && !iov_eq(directive, IOV_LIT("COPY"))
	             ? ERR_S3_INVALID_ARGUMENT
	             : parse_source(q, c);
	if (rc == 0 && c->replace)
		rc = s3__object_meta(q, &c->obj.content_type, &c->obj.attrs);
	if (rc == 0)
		rc = s3__object_checksum(q, &c->sum);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	/* A copy has no body; start once the (empty) body is in. */
	q->body_done = body_ended;
}
