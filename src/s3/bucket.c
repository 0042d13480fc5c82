/*
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, Get/PutBucketVersioning, Put/Get/DeleteBucketReplication
 * (the rules' destinations resolved to the store's replication peers). A
 * user sees and touches only its own buckets; another user's bucket answers
 * AccessDenied. Loop thread, except the job functions (meta threads).
 */
#include <string.h>

#include "base/err.h"
#include "meta/bucket.h"
#include "meta/repl.h"
#include "s3/names.h"
#include "repl/locate.h"
#include "s3/repl_xml.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"

struct bucket_op {
	struct meta_bucket b;
	struct meta_bucket *list;
	size_t n;
	enum meta_versioning versioning;
	struct meta_repl_config repl;
	struct meta_files garbage; /* DeleteBucket: its uploads' part files */
	const char *why;           /* an error's message, set on the pool thread */
};

static struct bucket_op *state(struct s3_req *q)
{
	struct bucket_op *s = arena_alloc(q->a, sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	else
		s3__error(q, ERR_NOMEM, NULL);
	q->op_state = s;
	return s;
}

/* The bucket, and that the caller owns it. */
static int owned_bucket(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &s->b);
	if (rc == 0 && !s3__owns(q, &s->b))
		rc = ERR_S3_ACCESS_DENIED;
	return rc;
}

static void xml_done(struct s3_req *q, struct s3_xml_writer *w, struct buf *b)
{
	int rc = s3_xml_end(w);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, b, NULL, 0);
	buf_free(b);
}

/* ---- ListBuckets ---- */

static int list_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	return meta_bucket_list(db, iov_cstr(q->user->owner_id), q->a, &s->list, &s->n);
}

static void list_done(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf b;
	buf_init(&b, 16u << 20);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "ListAllMyBucketsResult", true);
	s3_xml_open(&w, "Owner");
	s3_xml_text(&w, "ID", iov_cstr(q->user->owner_id));
	s3_xml_text(&w, "DisplayName", q->user->name);
	s3_xml_close(&w, "Owner");
	s3_xml_open(&w, "Buckets");
	for (size_t i = 0; i < s->n; i++) {
		s3_xml_open(&w, "Bucket");
		s3_xml_text(&w, "Name", s->list[i].name);
		s3_xml_date(&w, "CreationDate", s3__iso_date(q, s->list[i].created_ms));
		s3_xml_close(&w, "Bucket");
	}
	s3_xml_close(&w, "Buckets");
	xml_done(q, &w, &b);
}

void s3__list_buckets(struct s3_req *q)
{
	if (!q->user) {
		s3__error(q, ERR_S3_ACCESS_DENIED, NULL);
		return;
	}
	if (state(q))
		s3__meta(q, false, list_fn, list_done);
}

/* ---- CreateBucket ---- */

static int create_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	return meta_bucket_create(db, &s->b);
}

static void create_done(struct s3_req *q)
{
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct http_header h = { IOV_LIT("Location"),
		                 arena_printf(q->a, "/%.*s", (int)q->route.bucket.len,
		                              q->route.bucket.base) };
	s3__empty(q, 200, &h, 1);
}

void s3__create_bucket(struct s3_req *q)
{
	struct bucket_op *s = state(q);
	if (!s)
		return;
	int rc = s3_names_bucket_valid(q->route.bucket);
	if (rc) {
		s3__error(q, rc, NULL);
		return;
	}
	/* A LocationConstraint must name this store's region. Unlike AWS, an
	 * absent one is fine everywhere (tools that omit it just work). */
	if (q->xml) {
		const struct s3_xml_create_bucket *c = s3_xml_reader_create_bucket(q->xml);
		struct iov loc = c->location;
		bool us_east = strcmp(q->srv->cfg.region, "us-east-1") == 0;
		if (loc.len && !iov_eq(loc, iov_cstr(q->srv->cfg.region))) {
			s3__error(q, ERR_S3_ILLEGAL_LOCATION_CONSTRAINT,
			          "The location constraint you specified is incompatible with the "
			          "region of this store.");
			return;
		}
		if (loc.base && !loc.len && !us_east) {
			s3__error(q, ERR_S3_ILLEGAL_LOCATION_CONSTRAINT, NULL);
			return;
		}
	}
	s->b.name = q->route.bucket;
	s->b.owner = iov_cstr(q->user->owner_id);
	s->b.region = iov_cstr(q->srv->cfg.region);
	s->b.created_ms = q->now * 1000;
	s->b.versioning = META_UNVERSIONED;
	s3__meta(q, true, create_fn, create_done);
}

/* ---- HeadBucket, GetBucketLocation, GetBucketVersioning ---- */

static void head_done(struct s3_req *q)
{
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct http_header h = { IOV_LIT("x-amz-bucket-region"), iov_cstr(q->srv->cfg.region) };
	s3__empty(q, 200, &h, 1);
}

void s3__head_bucket(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, false, owned_bucket, head_done);
}

static void location_done(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf b;
	buf_init(&b, 4096);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "LocationConstraint", true);
	/* us-east-1 reads as an empty constraint, as on AWS. */
	if (!iov_eq(s->b.region, IOV_LIT("us-east-1")))
		s3_xml_escape(&b, s->b.region);
	xml_done(q, &w, &b);
}

void s3__get_bucket_location(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, false, owned_bucket, location_done);
}

static void versioning_done(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf b;
	buf_init(&b, 4096);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "VersioningConfiguration", true);
	if (s->b.versioning != META_UNVERSIONED)
		s3_xml_text(&w, "Status", iov_cstr(meta_versioning_name(s->b.versioning)));
	xml_done(q, &w, &b);
}

void s3__get_bucket_versioning(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, false, owned_bucket, versioning_done);
}

/* ---- PutBucketVersioning ---- */

static int set_versioning_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	int rc = owned_bucket(db, q);
	return rc ? rc : meta_bucket_set_versioning(db, q->route.bucket, s->versioning);
}

/* A change answered with no body: 200, or the error. */
static void changed(struct s3_req *q)
{
	if (q->rc == ERR_REPL_NEEDS_VERSIONING)
		s3__error(q, q->rc, err_text(q->rc)); /* S3's own words for it */
	else if (q->rc)
		s3__error(q, q->rc, NULL);
	else
		s3__empty(q, 200, NULL, 0);
}

void s3__put_bucket_versioning(struct s3_req *q)
{
	struct bucket_op *s = state(q);
	if (!s)
		return;
	const struct s3_xml_versioning *v = s3_xml_reader_versioning(q->xml);
	if (v->mfa_delete == S3_XML_MFA_DELETE_ENABLED) {
		s3__error(q, ERR_S3_NOT_IMPLEMENTED, "MFA delete is not supported.");
		return;
	}
	s->versioning = v->status == S3_XML_STATUS_ENABLED ? META_ENABLED : META_SUSPENDED;
	s3__meta(q, true, set_versioning_fn, changed);
}

/* ---- DeleteBucket ---- */

/* Uploads in progress go with the bucket, as in S3. */
static int delete_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	int rc = owned_bucket(db, q);
	return rc ? rc : meta_bucket_delete(db, q->route.bucket, q->a, &s->garbage);
}

/* A removal answered with no body: 204, or the error. */
static void removed(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	s3__remove_files(q->srv, q->loop, &s->garbage);
	s3__empty(q, 204, NULL, 0);
}

void s3__delete_bucket(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, true, delete_fn, removed);
}

/* ---- Put/Get/DeleteBucketReplication ---- */

/* The peer a rule's destination lives on, named into r->peer: the region
 * or peer name the ARN carries, or the only peer there is. */
static int resolve_peer(const struct repl_config *cfg, struct meta_repl_rule *r, const char **why)
{
	size_t n = cfg ? cfg->npeers : 0;
	if (n == 0) {
		*why = "this store has no replication peers (meridian store --replication)";
		return ERR_REPL_NO_PEER;
	}
	if (r->peer.len) {
		const struct repl_peer *p = repl_config_peer_by_region(cfg, r->peer);
		if (!p)
			p = repl_config_peer_by_name(cfg, r->peer);
		*why = "no replication peer is in the region the destination ARN names";
		if (!p)
			return ERR_REPL_NO_PEER;
		r->peer = iov_cstr(p->name);
		return 0;
	}
	if (n > 1)
		return ERR_AGAIN; /* ask the peers which one holds it */
	r->peer = iov_cstr(cfg->peers[0].name);
	return 0;
}

static int put_repl_fn(struct meta_db *db, struct s3_req *q);

/* Pool thread: the peers are asked where each rule's destination bucket
 * is, for rules whose ARN names no region. */
static int locate_fn(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	for (size_t i = 0; i < s->repl.nrules; i++) {
		struct meta_repl_rule *r = &s->repl.rules[i];
		if (r->peer.len)
			continue;
		const struct repl_peer *p;
		int rc = repl_locate_bucket(q->srv->cfg.repl, r->dest_bucket, &p);
		if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
			s->why =
			    rc == ERR_NOT_FOUND
			        ? "no replication peer holds the destination bucket in its region"
			        : "several replication peers hold the destination bucket: name the "
			          "region in its ARN (arn:aws:s3:REGION::bucket)";
			return ERR_REPL_NO_PEER;
		}
		if (rc)
			return rc;
		r->peer = iov_cstr(p->name);
	}
	return 0;
}

static void located(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc)
		s3__error(q, q->rc, s->why);
	else
		s3__meta(q, true, put_repl_fn, changed);
}

static int put_repl_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	int rc = owned_bucket(db, q);
	return rc ? rc : meta_repl_config_put(db, q->route.bucket, &s->repl);
}

void s3__put_bucket_replication(struct s3_req *q)
{
	struct bucket_op *s = state(q);
	if (!s)
		return;
	const char *why = NULL;
	int rc = s3_repl_xml_parse(buf_iov(&q->body), q->a, &s->repl, &why);
	bool ask = false;
	for (size_t i = 0; rc == 0 && i < s->repl.nrules; i++) {
		rc = resolve_peer(q->srv->cfg.repl, &s->repl.rules[i], &why);
		if (rc == ERR_AGAIN) {
			ask = true;
			rc = 0;
		}
	}
	if (rc) {
		s3__error(q, rc, why);
		return;
	}
	if (ask)
		s3__pool(q, locate_fn, located);
	else
		s3__meta(q, true, put_repl_fn, changed);
}

static int get_repl_fn(struct meta_db *db, struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	int rc = owned_bucket(db, q);
	return rc ? rc : meta_repl_config_get(db, q->route.bucket, q->a, &s->repl);
}

static void get_repl_done(struct s3_req *q)
{
	struct bucket_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf out;
	buf_init(&out, 4u << 20);
	int rc = s3_repl_xml_write(&out, &s->repl);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &out, NULL, 0);
	buf_free(&out);
}

void s3__get_bucket_replication(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, false, get_repl_fn, get_repl_done);
}

static int delete_repl_fn(struct meta_db *db, struct s3_req *q)
{
	int rc = owned_bucket(db, q);
	return rc ? rc : meta_repl_config_delete(db, q->route.bucket);
}

void s3__delete_bucket_replication(struct s3_req *q)
{
	if (state(q))
		s3__meta(q, true, delete_repl_fn, removed);
}
