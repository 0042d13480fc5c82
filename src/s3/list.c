/*
 * Listings: ListObjects (V1 and, with list-type=2, V2), ListObjectVersions,
 * ListMultipartUploads. Query parameters in, a meta/ listing page out,
 * rendered as S3's XML (with encoding-type=url, keys and prefixes are
 * URL-encoded as S3 does). Loop thread, except the job functions.
 */
#include <string.h>

#include "base/base64.h"
#include "base/err.h"
#include "meta/bucket.h"
#include "meta/list.h"
#include "s3/names.h"
#include "s3/object.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"

#define TOKEN_MAX (BASE64_LEN(META_KEY_MAX) + 1)

enum list_kind { LIST_V1, LIST_V2, LIST_VERSIONS, LIST_UPLOADS };

struct list {
	enum list_kind kind;
	struct meta_bucket bucket;
	struct meta_list_args args;
	struct meta_list res;
	struct iov prefix, delimiter, marker, start_after, token, key_marker, sub_marker;
	bool has_delimiter, has_marker, has_start_after, has_token, url, fetch_owner;
	uint32_t max;
};

/* A query parameter (decoded) or IOV_NULL; *has says whether it was there. */
static int param(struct s3_req *q, const char *name, struct iov *out, bool *has)
{
	int rc = s3_query_get(q->route.query, name, q->a, out);
	if (rc < 0)
		return rc;
	if (has)
		*has = rc == 1;
	if (rc == 0)
		*out = iov_make("", 0);
	return 0;
}

static int parse_max(struct s3_req *q, const char *name, uint32_t *out)
{
	struct iov v;
	bool has;
	int rc = param(q, name, &v, &has);
	if (rc)
		return rc;
	*out = META_LIST_MAX;
	if (!has)
		return 0;
	unsigned long long n;
	if (iov_to_u64(v, UINT32_MAX, &n))
		return ERR_S3_INVALID_ARGUMENT;
	*out = n > META_LIST_MAX ? META_LIST_MAX : (uint32_t)n;
	return 0;
}

static int parse_args(struct s3_req *q, struct list *l)
{
	struct iov enc, list_type;
	bool has_enc = false;
	int rc = param(q, "prefix", &l->prefix, NULL);
	if (rc == 0)
		rc = param(q, "delimiter", &l->delimiter, &l->has_delimiter);
	if (rc == 0)
		rc = param(q, "encoding-type", &enc, &has_enc);
	if (rc == 0 && has_enc && !iov_eq(enc, IOV_LIT("url")))
		return ERR_S3_INVALID_ARGUMENT;
	l->url = has_enc;
	if (rc == 0)
		rc = parse_max(q, l->kind == LIST_UPLOADS ? "max-uploads" : "max-keys", &l->max);
	if (rc)
		return rc;
	switch (l->kind) {
	case LIST_V1:
		rc = param(q, "marker", &l->marker, &l->has_marker);
		l->args.marker = l->marker;
		break;
	case LIST_V2: {
		struct iov fo;
		bool has_fo;
		rc = param(q, "list-type", &list_type, NULL);
		if (rc == 0)
			rc = param(q, "start-after", &l->start_after, &l->has_start_after);
		if (rc == 0)
			rc = param(q, "continuation-token", &l->token, &l->has_token);
		if (rc == 0)
			rc = param(q, "fetch-owner", &fo, &has_fo);
		l->fetch_owner = rc == 0 && has_fo && iov_eq(fo, IOV_LIT("true"));
		l->args.marker = l->start_after;
		if (rc == 0 && l->has_token) {
			/* The token is the base64 of the last key or prefix returned. */
			uint8_t *key = arena_alloc(q->a, META_KEY_MAX);
			size_t n;
			if (!key)
				return ERR_NOMEM;
			if (l->token.len == 0 || base64_decode(l->token, key, META_KEY_MAX, &n))
				return ERR_S3_INVALID_ARGUMENT;
			l->args.marker = iov_make((const char *)key, n);
		}
		break;
	}
	case LIST_VERSIONS:
	case LIST_UPLOADS:
		rc = param(q, "key-marker", &l->key_marker, NULL);
		if (rc == 0)
			rc = param(
			    q, l->kind == LIST_VERSIONS ? "version-id-marker" : "upload-id-marker",
			    &l->sub_marker, NULL);
		l->args.marker = l->key_marker;
		l->args.sub_marker = l->key_marker.len ? l->sub_marker : iov_make("", 0);
		break;
	}
	l->args.prefix = l->prefix;
	l->args.delimiter = l->delimiter;
	l->args.max = l->max;
	return rc;
}

static int list_fn(struct meta_db *db, struct s3_req *q)
{
	struct list *l = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &l->bucket);
	if (rc)
		return rc;
	if (!s3__owns(q, &l->bucket))
		return ERR_S3_ACCESS_DENIED;
	if (l->max == 0)
		return 0; /* nothing asked for: an empty, complete page */
	switch (l->kind) {
	case LIST_V1:
	case LIST_V2:
		return meta_list_objects(db, q->route.bucket, &l->args, q->a, &l->res);
	case LIST_VERSIONS:
		return meta_list_versions(db, q->route.bucket, &l->args, q->a, &l->res);
	default:
		return meta_list_uploads(db, q->route.bucket, &l->args, q->a, &l->res);
	}
}

/* ---- rendering ---- */

struct out {
	struct s3_req *q;
	struct list *l;
	struct s3_xml_writer w;
	struct buf b;
	struct buf tmp;
};

/* A key or prefix, URL-encoded when the client asked for encoding-type=url. */
static void key_text(struct out *o, const char *name, struct iov key)
{
	if (!o->l->url) {
		s3_xml_text(&o->w, name, key);
		return;
	}
	buf_reset(&o->tmp);
	if (s3_names_url_encode(&o->tmp, key)) {
		o->w.err = o->w.err ? o->w.err : ERR_NOMEM;
		return;
	}
	s3_xml_text(&o->w, name, buf_iov(&o->tmp));
}

static void owner(struct out *o, struct iov id)
{
	const struct auth_user *u = auth_userdb_find_owner(o->q->users, id);
	s3_xml_open(&o->w, "Owner");
	s3_xml_text(&o->w, "ID", id);
	s3_xml_text(&o->w, "DisplayName", u ? u->name : id);
	s3_xml_close(&o->w, "Owner");
}

static void prefixes(struct out *o)
{
	for (size_t i = 0; i < o->l->res.nprefixes; i++) {
		s3_xml_open(&o->w, "CommonPrefixes");
		key_text(o, "Prefix", o->l->res.prefixes[i]);
		s3_xml_close(&o->w, "CommonPrefixes");
	}
}

static void object(struct out *o, const struct meta_object *m, bool with_owner)
{
	struct s3_req *q = o->q;
	key_text(o, "Key", m->key);
	s3_xml_date(&o->w, "LastModified", s3__iso_date(q, m->last_modified_ms));
	s3_xml_text(&o->w, "ETag", s3__etag(q, m->etag));
	const char *upper = s3__checksum_upper(m->checksum_algo);
	if (upper) /* S3 names the algorithm in upper case here */
		s3_xml_text(&o->w, "ChecksumAlgorithm", iov_cstr(upper));
	s3_xml_u64(&o->w, "Size", m->size);
	if (with_owner)
		owner(o, m->owner);
	s3_xml_text(&o->w, "StorageClass", IOV_LIT("STANDARD"));
}

static void render_objects(struct out *o)
{
	struct list *l = o->l;
	bool v2 = l->kind == LIST_V2;
	s3_xml_begin(&o->w, "ListBucketResult", true);
	s3_xml_text(&o->w, "Name", o->q->route.bucket);
	key_text(o, "Prefix", l->prefix);
	if (v2) {
		if (l->has_start_after)
			key_text(o, "StartAfter", l->start_after);
		if (l->has_token)
			s3_xml_text(&o->w, "ContinuationToken", l->token);
		s3_xml_u64(&o->w, "KeyCount", l->res.nobjects + l->res.nprefixes);
	} else {
		key_text(o, "Marker", l->marker);
	}
	s3_xml_u64(&o->w, "MaxKeys", l->max);
	if (l->has_delimiter)
		key_text(o, "Delimiter", l->delimiter);
	if (l->url)
		s3_xml_text(&o->w, "EncodingType", IOV_LIT("url"));
	s3_xml_bool(&o->w, "IsTruncated", l->res.truncated);
	if (l->res.truncated && v2) {
		char tok[TOKEN_MAX];
		base64_encode((const uint8_t *)l->res.next_marker.base, l->res.next_marker.len,
		              tok);
		s3_xml_text(&o->w, "NextContinuationToken", iov_cstr(tok));
	} else if (l->res.truncated && l->has_delimiter) {
		key_text(o, "NextMarker", l->res.next_marker);
	}
	for (size_t i = 0; i < l->res.nobjects; i++) {
		s3_xml_open(&o->w, "Contents");
		object(o, &l->res.objects[i], !v2 || l->fetch_owner);
		s3_xml_close(&o->w, "Contents");
	}
	prefixes(o);
}

static void render_versions(struct out *o)
{
	struct list *l = o->l;
	struct s3_req *q = o->q;
	s3_xml_begin(&o->w, "ListVersionsResult", true);
	s3_xml_text(&o->w, "Name", q->route.bucket);
	key_text(o, "Prefix", l->prefix);
	key_text(o, "KeyMarker", l->key_marker);
	s3_xml_text(&o->w, "VersionIdMarker", l->sub_marker);
	if (l->res.truncated) {
		key_text(o, "NextKeyMarker", l->res.next_marker);
		s3_xml_text(&o->w, "NextVersionIdMarker", l->res.next_sub_marker);
	}
	s3_xml_u64(&o->w, "MaxKeys", l->max);
	if (l->has_delimiter)
		key_text(o, "Delimiter", l->delimiter);
	if (l->url)
		s3_xml_text(&o->w, "EncodingType", IOV_LIT("url"));
	s3_xml_bool(&o->w, "IsTruncated", l->res.truncated);
	for (size_t i = 0; i < l->res.nobjects; i++) {
		const struct meta_object *m = &l->res.objects[i];
		s3_xml_open(&o->w, m->is_delete_marker ? "DeleteMarker" : "Version");
		key_text(o, "Key", m->key);
		s3_xml_text(&o->w, "VersionId", iov_cstr(m->version_id));
		s3_xml_bool(&o->w, "IsLatest", m->is_latest);
		s3_xml_date(&o->w, "LastModified", s3__iso_date(q, m->last_modified_ms));
		if (!m->is_delete_marker) {
			s3_xml_text(&o->w, "ETag", s3__etag(q, m->etag));
			s3_xml_u64(&o->w, "Size", m->size);
			s3_xml_text(&o->w, "StorageClass", IOV_LIT("STANDARD"));
		}
		owner(o, m->owner);
		s3_xml_close(&o->w, m->is_delete_marker ? "DeleteMarker" : "Version");
	}
	prefixes(o);
}

static void render_uploads(struct out *o)
{
	struct list *l = o->l;
	struct s3_req *q = o->q;
	s3_xml_begin(&o->w, "ListMultipartUploadsResult", true);
	s3_xml_text(&o->w, "Bucket", q->route.bucket);
	key_text(o, "KeyMarker", l->key_marker);
	s3_xml_text(&o->w, "UploadIdMarker", l->sub_marker);
	if (l->res.truncated) {
		key_text(o, "NextKeyMarker", l->res.next_marker);
		s3_xml_text(&o->w, "NextUploadIdMarker", l->res.next_sub_marker);
	}
	key_text(o, "Prefix", l->prefix);
	if (l->has_delimiter)
		key_text(o, "Delimiter", l->delimiter);
	s3_xml_u64(&o->w, "MaxUploads", l->max);
	if (l->url)
		s3_xml_text(&o->w, "EncodingType", IOV_LIT("url"));
	s3_xml_bool(&o->w, "IsTruncated", l->res.truncated);
	for (size_t i = 0; i < l->res.nuploads; i++) {
		const struct meta_upload *u = &l->res.uploads[i];
		s3_xml_open(&o->w, "Upload");
		key_text(o, "Key", u->key);
		s3_xml_text(&o->w, "UploadId", u->upload_id);
		s3_xml_open(&o->w, "Initiator");
		s3_xml_text(&o->w, "ID", u->owner);
		const struct auth_user *usr = auth_userdb_find_owner(q->users, u->owner);
		s3_xml_text(&o->w, "DisplayName", usr ? usr->name : u->owner);
		s3_xml_close(&o->w, "Initiator");
		owner(o, u->owner);
		s3_xml_text(&o->w, "StorageClass", IOV_LIT("STANDARD"));
		s3_xml_date(&o->w, "Initiated", s3__iso_date(q, u->initiated_ms));
		s3_xml_close(&o->w, "Upload");
	}
	prefixes(o);
}

static void list_done(struct s3_req *q)
{
	struct list *l = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct out o = { .q = q, .l = l };
	buf_init(&o.b, 32u << 20);
	buf_init(&o.tmp, 4 * META_KEY_MAX);
	s3_xml_writer_init(&o.w, &o.b);
	switch (l->kind) {
	case LIST_V1:
	case LIST_V2:
		render_objects(&o);
		break;
	case LIST_VERSIONS:
		render_versions(&o);
		break;
	default:
		render_uploads(&o);
		break;
	}
	int rc = s3_xml_end(&o.w);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &o.b, NULL, 0);
	buf_free(&o.b);
	buf_free(&o.tmp);
}

static void start(struct s3_req *q, enum list_kind kind)
{
	struct list *l = arena_alloc(q->a, sizeof(*l));
	if (!l) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	q->op_state = l;
	int rc = parse_args(q, l);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	s3__meta(q, false, list_fn, list_done);
}

void s3__list_objects(struct s3_req *q)
{
	struct iov lt;
	bool v2 =
	    s3_query_get(q->route.query, "list-type", q->a, &lt) == 1 && iov_eq(lt, IOV_LIT("2"));
	start(q, v2 ? LIST_V2 : LIST_V1);
}

void s3__list_object_versions(struct s3_req *q)
{
	start(q, LIST_VERSIONS);
}

void s3__list_multipart_uploads(struct s3_req *q)
{
	start(q, LIST_UPLOADS);
}
