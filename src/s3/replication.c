/*
 * Bucket replication configuration: Put/Get/DeleteBucketReplication. The
 * body is S3's ReplicationConfiguration (s3/repl_xml.h); each rule's
 * destination is matched to a peer of the store's replication config (the
 * region an ARN names, a peer of that name, or the only peer there is).
 * Loop thread, except the job functions (meta threads).
 */
#include <string.h>

#include "base/err.h"
#include "meta/bucket.h"
#include "meta/repl.h"
#include "s3/repl_xml.h"
#include "s3/s3-int.h"

struct repl_op {
	struct meta_bucket b;
	struct meta_repl_config c;
};

/* The peer a rule's destination lives on, named into r->peer. */
static int resolve_peer(const struct repl_config *cfg, struct meta_repl_rule *r, const char **why)
{
	size_t n = cfg ? cfg->npeers : 0;
	if (n == 0) {
		*why = "this store has no replication peers (meridian store --replication)";
		return ERR_REPL_NO_PEER;
	}
	for (size_t i = 0; r->peer.len && i < n; i++) {
		const struct repl_peer *p = &cfg->peers[i];
		if (iov_eq(r->peer, iov_cstr(p->region)) || iov_eq(r->peer, iov_cstr(p->name))) {
			r->peer = iov_cstr(p->name);
			return 0;
		}
	}
	if (r->peer.len) {
		*why = "no replication peer is in the region the destination ARN names";
		return ERR_REPL_NO_PEER;
	}
	if (n > 1) {
		*why = "several replication peers: name the destination's region in its ARN "
		       "(arn:aws:s3:REGION::bucket)";
		return ERR_REPL_NO_PEER;
	}
	r->peer = iov_cstr(cfg->peers[0].name);
	return 0;
}

static struct repl_op *op_state(struct s3_req *q)
{
	struct repl_op *s = arena_alloc(q->a, sizeof(*s));
	if (s)
		memset(s, 0, sizeof(*s));
	else
		s3__error(q, ERR_NOMEM, NULL);
	q->op_state = s;
	return s;
}

/* The bucket, owned by the caller. */
static int owned(struct meta_db *db, struct s3_req *q, struct repl_op *s)
{
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &s->b);
	if (rc == 0 && !s3__owns(q, &s->b))
		rc = ERR_S3_ACCESS_DENIED;
	return rc;
}

static int put_fn(struct meta_db *db, struct s3_req *q)
{
	struct repl_op *s = q->op_state;
	int rc = owned(db, q, s);
	return rc ? rc : meta_repl_config_put(db, q->route.bucket, &s->c);
}

static void put_done(struct s3_req *q)
{
	if (q->rc == ERR_REPL_NEEDS_VERSIONING)
		s3__error(q, q->rc, err_text(q->rc)); /* S3's own words for it */
	else if (q->rc)
		s3__error(q, q->rc, NULL);
	else
		s3__empty(q, 200, NULL, 0);
}

void s3__put_bucket_replication(struct s3_req *q)
{
	struct repl_op *s = op_state(q);
	if (!s)
		return;
	const char *why = NULL;
	int rc = s3_repl_xml_parse(buf_iov(&q->body), q->a, &s->c, &why);
	for (size_t i = 0; rc == 0 && i < s->c.nrules; i++)
		rc = resolve_peer(q->srv->cfg.repl, &s->c.rules[i], &why);
	if (rc) {
		s3__error(q, rc, why);
		return;
	}
	s3__meta(q, true, put_fn, put_done);
}

static int get_fn(struct meta_db *db, struct s3_req *q)
{
	struct repl_op *s = q->op_state;
	int rc = owned(db, q, s);
	return rc ? rc : meta_repl_config_get(db, q->route.bucket, q->a, &s->c);
}

static void get_done(struct s3_req *q)
{
	struct repl_op *s = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf out;
	buf_init(&out, 4u << 20);
	int rc = s3_repl_xml_write(&out, &s->c);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &out, NULL, 0);
	buf_free(&out);
}

void s3__get_bucket_replication(struct s3_req *q)
{
	if (op_state(q))
		s3__meta(q, false, get_fn, get_done);
}

static int delete_fn(struct meta_db *db, struct s3_req *q)
{
	struct repl_op *s = q->op_state;
	int rc = owned(db, q, s);
	return rc ? rc : meta_repl_config_delete(db, q->route.bucket);
}

static void delete_done(struct s3_req *q)
{
	if (q->rc)
		s3__error(q, q->rc, NULL);
	else
		s3__empty(q, 204, NULL, 0);
}

void s3__delete_bucket_replication(struct s3_req *q)
{
	if (op_state(q))
		s3__meta(q, true, delete_fn, delete_done);
}
