/*
 * Multipart uploads: Create, UploadPart (streamed like PutObject), Complete
 * (part order, ETags, the 5 MiB minimum, the md5-of-md5s-N ETag; no bytes
 * are copied: the object is its parts), Abort, ListParts. Loop thread,
 * except the job functions.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/base64.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/md5.h"
#include "meta/bucket.h"
#include "meta/upload.h"
#include "s3/object.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"

#define UPLOAD_ID_LEN (HLC_VERSION_ID_LEN + 16)

struct mp {
	struct meta_bucket bucket;
	struct meta_upload upload;
	struct meta_part part;
	struct meta_part_list parts;
	struct meta_complete complete;
	struct meta_complete_part *cparts;
	struct meta_object obj;
	struct meta_files garbage;
	struct s3_checksum sum;
	char upload_id[UPLOAD_ID_LEN + 1];
	char etag_hex[2 * MD5_LEN + 16];
	char checksum_b64[CHECKSUM_MAX_BASE64 + 1];
	bool bucket_checked;
	uint32_t part_marker, part_max; /* ListParts */
};

static struct mp *state(struct s3_req *q)
{
	struct mp *m = arena_alloc(q->a, sizeof(*m));
	if (m)
		memset(m, 0, sizeof(*m));
	else
		s3__error(q, ERR_NOMEM, NULL);
	q->op_state = m;
	return m;
}

static int owned(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &m->bucket);
	if (rc == 0 && !s3__owns(q, &m->bucket))
		rc = ERR_S3_ACCESS_DENIED;
	return rc;
}

static int upload_id_missing(struct s3_req *q)
{
	if (q->route.upload_id.len)
		return 0;
	s3__error(q, ERR_S3_NO_SUCH_UPLOAD, NULL);
	return ERR_S3_NO_SUCH_UPLOAD;
}

/* ---- CreateMultipartUpload ---- */

static int create_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = owned(db, q);
	return rc ? rc : meta_upload_create(db, q->route.bucket, &m->upload);
}

static void create_done(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf b;
	buf_init(&b, 8192);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "InitiateMultipartUploadResult", true);
	s3_xml_text(&w, "Bucket", q->route.bucket);
	s3_xml_text(&w, "Key", q->route.key);
	s3_xml_text(&w, "UploadId", m->upload.upload_id);
	int rc = s3_xml_end(&w);
	struct http_header hs[1];
	size_t n = 0;
	if (m->sum.on)
		hs[n++] =
		    (struct http_header){ IOV_LIT("x-amz-checksum-algorithm"),
			                  iov_cstr(s3__checksum_upper(m->upload.checksum_algo)) };
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &b, hs, n);
	buf_free(&b);
}

void s3__create_multipart_upload(struct s3_req *q)
{
	struct mp *m = state(q);
	if (!m)
		return;
	int rc = s3__object_meta(q, &m->upload.content_type, &m->upload.attrs);
	if (rc == 0)
		rc = s3__object_checksum(q, &m->sum);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	/* Ids sort by creation time (S3 lists a key's uploads in initiation
	 * order), with 64 random bits after the clock. */
	uint64_t now = hlc_now(&q->srv->clock);
	uint8_t rnd[8];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		s3__error(q, ERR_CRYPTO, NULL);
		return;
	}
	hlc_version_id(now, q->srv->region_id, m->upload_id);
	hex_encode(rnd, sizeof(rnd), m->upload_id + HLC_VERSION_ID_LEN);
	m->upload.key = q->route.key;
	m->upload.upload_id = iov_cstr(m->upload_id);
	m->upload.initiated_ms = (int64_t)hlc_ms(now);
	m->upload.owner = iov_cstr(q->user->owner_id);
	if (m->sum.on)
		m->upload.checksum_algo = iov_cstr(checksum_alg_name(m->sum.alg));
	s3__meta(q, true, create_fn, create_done);
}

/* ---- UploadPart ---- */

static int part_check_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = owned(db, q);
	if (rc == 0)
		rc = meta_upload_get(db, q->route.bucket, q->route.key, q->route.upload_id, q->a,
		                     &m->upload);
	return rc;
}

static void part_finished(struct s3_req *q);

static void part_maybe_finish(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (!s3__live(q) || !m->bucket_checked || !q->pipe.ended || q->next)
		return;
	s3__pipe_finish(q, part_finished);
}

static void part_checked(struct s3_req *q)
{
	struct mp *m = q->op_state;
	m->bucket_checked = true;
	int rc = q->rc;
	/* An upload created with a checksum algorithm checksums every part with
	 * it: computed here when the part did not bring one. */
	struct iov algo = m->upload.checksum_algo;
	enum checksum_alg alg;
	if (rc == 0 && algo.len) {
		if (checksum_alg_from_name(algo, &alg))
			rc = ERR_INTERNAL;
		else if (m->sum.on && m->sum.alg != alg)
			rc = ERR_S3_INVALID_REQUEST;
		else if (!m->sum.on)
			m->sum = (struct s3_checksum){ .on = true, .alg = alg };
	}
	if (rc) {
		s3__pipe_abort(q);
		s3__error(q, rc,
		          rc == ERR_S3_INVALID_REQUEST
		              ? "The part's checksum algorithm differs from the upload's."
		              : NULL);
		return;
	}
	q->pipe.opts.with_checksum = m->sum.on;
	q->pipe.opts.checksum = m->sum.alg;
	s3__pipe_release(q);
	part_maybe_finish(q);
}

static int part_put_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	return meta_upload_put_part(db, q->route.bucket, q->route.key, q->route.upload_id, &m->part,
	                            q->a, &m->garbage);
}

static void part_stored(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (!s3__object_stored(q, q->pipe.info.id, &m->garbage, 0))
		return;
	struct http_header hs[2];
	size_t n = s3__object_write_headers(q, hs, m->etag_hex, &m->sum, m->checksum_b64);
	s3__empty(q, 200, hs, n);
}

static void part_committed(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	const struct blob_info *info = &q->pipe.info;
	m->part.number = q->route.part_number;
	m->part.size = info->size;
	m->part.etag = iov_cstr(m->etag_hex);
	m->part.data_file = iov_cstr(info->id);
	if (m->sum.on)
		m->part.checksum = iov_cstr(m->checksum_b64);
	m->part.last_modified_ms = q->now * 1000;
	s3__meta(q, true, part_put_fn, part_stored);
}

static void part_finished(struct s3_req *q)
{
	struct mp *m = q->op_state;
	s3__object_body_end(q, &m->sum, m->etag_hex, m->checksum_b64, part_committed);
}

void s3__upload_part(struct s3_req *q)
{
	if (s3__header(q, "x-amz-copy-source").base) {
		s3__upload_part_copy(q);
		return;
	}
	struct mp *m = state(q);
	if (!m || upload_id_missing(q))
		return;
	int rc = s3__object_checksum(q, &m->sum);
	if (rc == 0)
		rc = s3__object_size_ok(q);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	if (s3__pipe_start(q, S3_MAX_OBJECT))
		return;
	s3__pipe_hold(q); /* the upload's algorithm decides the checksum */
	q->body_done = part_maybe_finish;
	s3__meta(q, false, part_check_fn, part_checked);
}

/* ---- CompleteMultipartUpload ---- */

/* The checksum of a multipart object, as S3 computes it for a COMPOSITE
 * upload: the algorithm over the parts' binary checksums, in order, then
 * "-N". The parts' stored values come from this transaction. */
static int composite_checksum(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	struct iov algo = m->upload.checksum_algo;
	enum checksum_alg alg;
	if (checksum_alg_from_name(algo, &alg))
		return ERR_INTERNAL;
	struct checksum *sum;
	int rc = checksum_new(alg, &sum);
	if (rc)
		return rc;
	size_t next = 0; /* the next part of the request to match */
	uint32_t marker = 0;
	while (rc == 0 && next < m->complete.nparts) {
		struct meta_part_list pl;
		rc = meta_upload_list_parts(db, q->route.bucket, q->route.key, q->route.upload_id,
		                            marker, META_LIST_MAX, q->a, &pl);
		for (size_t i = 0; rc == 0 && i < pl.nparts && next < m->complete.nparts; i++) {
			if (pl.parts[i].number != m->cparts[next].number)
				continue;
			uint8_t raw[CHECKSUM_MAX_LEN];
			size_t len;
			if (base64_decode(pl.parts[i].checksum, raw, sizeof(raw), &len))
				rc = ERR_S3_INVALID_PART; /* a part stored without one */
			else
				checksum_update(sum, raw, len);
			next++;
		}
		if (rc || !pl.truncated || pl.nparts == 0)
			break;
		marker = pl.next_marker;
	}
	uint8_t d[CHECKSUM_MAX_LEN];
	size_t dl = checksum_final(sum, d);
	checksum_free(sum);
	if (rc)
		return rc;
	if (next < m->complete.nparts)
		return ERR_S3_INVALID_PART; /* meta names the exact part next */
	char b64[CHECKSUM_MAX_BASE64 + 1];
	base64_encode(d, dl, b64);
	m->complete.checksum = arena_printf(q->a, "%s-%zu", b64, m->complete.nparts);
	return m->complete.checksum.base ? 0 : ERR_NOMEM;
}

static int complete_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = owned(db, q);
	if (rc == 0)
		rc = meta_upload_get(db, q->route.bucket, q->route.key, q->route.upload_id, q->a,
		                     &m->upload);
	if (rc == 0 && m->upload.checksum_algo.len)
		rc = composite_checksum(db, q);
	if (rc == ERR_S3_INVALID_PART) {
		/* Let meta name the part precisely (or find it fine after all). */
		m->complete.checksum = IOV_NULL;
		rc = 0;
	}
	if (rc)
		return rc;
	m->complete.hlc = hlc_now(&q->srv->clock);
	m->complete.region = q->srv->region_id;
	m->complete.now_ms = (int64_t)hlc_ms(m->complete.hlc);
	return meta_upload_complete(db, q->route.bucket, &m->complete, q->a, &m->obj, &m->garbage);
}

static void complete_done(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	s3__remove_files(q->srv, q->loop, &m->garbage);
	struct buf b;
	buf_init(&b, 16384);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	const struct http_head *h = http_request_head(q->r);
	struct iov path;
	iov_split(h->target, '?', &path);
	s3_xml_begin(&w, "CompleteMultipartUploadResult", true);
	s3_xml_text(&w, "Location",
	            arena_printf(q->a, "http://%.*s%.*s", (int)h->host.len, h->host.base,
	                         (int)path.len, path.base));
	s3_xml_text(&w, "Bucket", q->route.bucket);
	s3_xml_text(&w, "Key", q->route.key);
	s3_xml_text(&w, "ETag", s3__etag(q, m->obj.etag));
	const char *el = s3__checksum_element(m->upload.checksum_algo);
	if (el && m->complete.checksum.len)
		s3_xml_text(&w, el, m->complete.checksum);
	int rc = s3_xml_end(&w);
	struct http_header hs[1];
	size_t n = 0;
	if (m->bucket.versioning != META_UNVERSIONED)
		hs[n++] = (struct http_header){ IOV_LIT("x-amz-version-id"),
			                        iov_cstr(m->obj.version_id) };
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &b, hs, n);
	buf_free(&b);
}

/* An ETag as clients send it back: quotes optional. */
static struct iov unquote(struct iov e)
{
	if (e.len >= 2 && e.base[0] == '"' && e.base[e.len - 1] == '"')
		return iov_sub(e, 1, e.len - 2);
	return e;
}

void s3__complete_multipart_upload(struct s3_req *q)
{
	struct mp *m = state(q);
	if (!m || upload_id_missing(q))
		return;
	const struct s3_xml_complete *c = s3_xml_reader_complete(q->xml);
	m->cparts = arena_alloc(q->a, c->n * sizeof(*m->cparts));
	if (!m->cparts) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	/* The object's ETag: MD5 of the parts' binary MD5s, then "-N". A part
	 * ETag that is not 32 hex digits cannot match any stored part. */
	struct md5_ctx *md5;
	if (md5_new(&md5)) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct iov etag = unquote(c->parts[i].etag);
		uint8_t bin[MD5_LEN];
		if (hex_decode(etag, bin, sizeof(bin))) {
			md5_free(md5);
			s3__error(q, ERR_S3_INVALID_PART, NULL);
			return;
		}
		md5_update(md5, bin, sizeof(bin));
		/* A part checksum the client lists must match the stored one. */
		struct iov sum = IOV_NULL;
		for (size_t k = 0; k < S3_XML_CHECKSUMS && !sum.base; k++)
			if (c->parts[i].checksum[k].base)
				sum = c->parts[i].checksum[k];
		m->cparts[i] = (struct meta_complete_part){ c->parts[i].number, etag, sum };
	}
	uint8_t d[MD5_LEN];
	md5_final(md5, d);
	md5_free(md5);
	hex_encode(d, MD5_LEN, m->etag_hex);
	snprintf(m->etag_hex + 2 * MD5_LEN, sizeof(m->etag_hex) - 2 * MD5_LEN, "-%zu", c->n);
	m->complete.key = q->route.key;
	m->complete.upload_id = q->route.upload_id;
	m->complete.parts = m->cparts;
	m->complete.nparts = c->n;
	m->complete.min_part_size = S3_MIN_PART_SIZE;
	m->complete.etag = iov_cstr(m->etag_hex);
	s3__meta(q, true, complete_fn, complete_done);
}

/* ---- AbortMultipartUpload ---- */

static int abort_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = owned(db, q);
	return rc ? rc
	          : meta_upload_abort(db, q->route.bucket, q->route.key, q->route.upload_id, q->a,
	                              &m->garbage);
}

static void abort_done(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	s3__remove_files(q->srv, q->loop, &m->garbage);
	s3__empty(q, 204, NULL, 0);
}

void s3__abort_multipart_upload(struct s3_req *q)
{
	struct mp *m = state(q);
	if (m && !upload_id_missing(q))
		s3__meta(q, true, abort_fn, abort_done);
}

/* ---- ListParts ---- */

static int parts_fn(struct meta_db *db, struct s3_req *q)
{
	struct mp *m = q->op_state;
	int rc = owned(db, q);
	if (rc)
		return rc;
	return meta_upload_list_parts(db, q->route.bucket, q->route.key, q->route.upload_id,
	                              m->part_marker, m->part_max, q->a, &m->parts);
}

static void parts_done(struct s3_req *q)
{
	struct mp *m = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	const struct meta_part_list *pl = &m->parts;
	const struct auth_user *u = auth_userdb_find_owner(q->users, pl->upload.owner);
	struct iov name = u ? u->name : pl->upload.owner;
	struct buf b;
	buf_init(&b, 4u << 20);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "ListPartsResult", true);
	s3_xml_text(&w, "Bucket", q->route.bucket);
	s3_xml_text(&w, "Key", q->route.key);
	s3_xml_text(&w, "UploadId", q->route.upload_id);
	const char *who[] = { "Initiator", "Owner" };
	for (int i = 0; i < 2; i++) {
		s3_xml_open(&w, who[i]);
		s3_xml_text(&w, "ID", pl->upload.owner);
		s3_xml_text(&w, "DisplayName", name);
		s3_xml_close(&w, who[i]);
	}
	s3_xml_text(&w, "StorageClass", IOV_LIT("STANDARD"));
	s3_xml_u64(&w, "PartNumberMarker", m->part_marker);
	if (pl->truncated)
		s3_xml_u64(&w, "NextPartNumberMarker", pl->next_marker);
	s3_xml_u64(&w, "MaxParts", m->part_max);
	s3_xml_bool(&w, "IsTruncated", pl->truncated);
	const char *upper = s3__checksum_upper(pl->upload.checksum_algo);
	const char *el = s3__checksum_element(pl->upload.checksum_algo);
	if (upper)
		s3_xml_text(&w, "ChecksumAlgorithm", iov_cstr(upper));
	for (size_t i = 0; i < pl->nparts; i++) {
		const struct meta_part *p = &pl->parts[i];
		s3_xml_open(&w, "Part");
		s3_xml_u64(&w, "PartNumber", p->number);
		s3_xml_date(&w, "LastModified", s3__iso_date(q, p->last_modified_ms));
		s3_xml_text(&w, "ETag", s3__etag(q, p->etag));
		s3_xml_u64(&w, "Size", p->size);
		if (el && p->checksum.len)
			s3_xml_text(&w, el, p->checksum);
		s3_xml_close(&w, "Part");
	}
	int rc = s3_xml_end(&w);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &b, NULL, 0);
	buf_free(&b);
}

void s3__list_parts(struct s3_req *q)
{
	struct mp *m = state(q);
	if (!m || upload_id_missing(q))
		return;
	m->part_max = META_LIST_MAX;
	m->part_marker = 0;
	struct iov v;
	unsigned long long n;
	if (s3_query_get(q->route.query, "max-parts", q->a, &v) == 1) {
		if (iov_to_u64(v, UINT32_MAX, &n)) {
			s3__error(q, ERR_S3_INVALID_ARGUMENT, NULL);
			return;
		}
		m->part_max = n < META_LIST_MAX ? (uint32_t)n : META_LIST_MAX;
	}
	if (s3_query_get(q->route.query, "part-number-marker", q->a, &v) == 1) {
		if (iov_to_u64(v, META_PART_NUMBER_MAX, &n)) {
			s3__error(q, ERR_S3_INVALID_ARGUMENT, NULL);
			return;
		}
		m->part_marker = (uint32_t)n;
	}
	s3__meta(q, false, parts_fn, parts_done);
}
