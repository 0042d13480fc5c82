/*
 * Replication configuration and outbox (repl.h). Any thread, one
 * connection per thread at a time.
 *
 * Invariant kept with object.c: a version has outbox rows only while its
 * repl_status is PENDING (or, after resync queued it again, PENDING too);
 * replicas never have rows.
 */
#include "meta/repl.h"

#include <string.h>

#include "base/err.h"
#include "meta/internal.h"

#define REPL_DESTS_MAX 64 /* destinations one version is queued for */

static const struct iov st_pending = IOV_LIT("PENDING");

static int rule_check(const struct meta_repl_rule *r)
{
	if (!r->id.len || !r->peer.len || !r->dest_bucket.len)
		return ERR_INVALID;
	if (r->id.len > META_REPL_RULE_ID_MAX || r->prefix.len > META_KEY_MAX ||
	    r->dest_arn.len > META_REPL_ARN_MAX || r->dest_bucket.len > META_NAME_MAX ||
	    r->peer.len > META_NAME_MAX)
		return ERR_TOO_BIG;
	return 0;
}

struct rule_row {
	int64_t bucket_id, pos;
	const struct meta_repl_rule *r;
};

static int bind_rule(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct rule_row *x = arg;
	const struct meta_repl_rule *r = x->r;
	int rc;
	if ((rc = meta__bind_int(db, st, 1, x->bucket_id)) ||
	    (rc = meta__bind_int(db, st, 2, x->pos)) || (rc = meta__bind_text(db, st, 3, r->id)) ||
	    (rc = meta__bind_int(db, st, 4, r->priority)) ||
	    (rc = meta__bind_int(db, st, 5, r->enabled)) ||
	    (rc = meta__bind_blob(db, st, 6, r->prefix)) ||
	    (rc = meta__bind_text(db, st, 7, r->dest_arn)) ||
	    (rc = meta__bind_text(db, st, 8, r->dest_bucket)) ||
	    (rc = meta__bind_text(db, st, 9, r->peer)) ||
	    (rc = meta__bind_int(db, st, 10, r->delete_markers)) ||
	    (rc = meta__bind_int(db, st, 11, r->replica_mods)))
		return rc;
	return meta__bind_int(db, st, 12, r->v1);
}

struct role_row {
	int64_t bucket_id;
	struct iov role;
};

static int bind_role(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct role_row *x = arg;
	int rc = meta__bind_int(db, st, 1, x->bucket_id);
	return rc ? rc : meta__bind_text(db, st, 2, x->role);
}

static int config_put_in_tx(struct meta_db *db, struct iov bucket, const struct meta_repl_config *c)
{
	int64_t id;
	enum meta_versioning v;
	int rc = meta__bucket_find(db, bucket, &id, &v);
	if (rc)
		return rc;
	if (v != META_ENABLED)
		return ERR_REPL_NEEDS_VERSIONING;
	struct role_row role = { id, c->role };
	if ((rc = meta__run(db, META_SQL_REPL_RULES_DELETE, meta__bind_id, &id)) ||
	    (rc = meta__run(db, META_SQL_REPL_CONFIG_SET, bind_role, &role)))
		return rc;
	for (size_t i = 0; i < c->nrules; i++) {
		struct rule_row row = { id, (int64_t)i, &c->rules[i] };
		if ((rc = meta__run(db, META_SQL_REPL_RULE_INSERT, bind_rule, &row)))
			return rc;
	}
	return 0;
}

int meta_repl_config_put(struct meta_db *db, struct iov bucket, const struct meta_repl_config *c)
{
	if (c->nrules == 0 || c->nrules > META_REPL_RULES_MAX)
		return ERR_INVALID;
	if (c->role.len > META_REPL_ARN_MAX)
		return ERR_TOO_BIG;
	for (size_t i = 0; i < c->nrules; i++) {
		int rc = rule_check(&c->rules[i]);
		if (rc)
			return rc;
	}
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	return meta__tx_end(db, &tx, config_put_in_tx(db, bucket, c));
}

static int read_rules(struct meta_db *db, int64_t id, struct arena *a, struct meta_repl_config *out)
{
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_RULES_GET, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, id))) {
		meta__done(st);
		return rc;
	}
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if ((rc = meta__grow(a, &arr, out->nrules, &cap, sizeof(struct meta_repl_rule))))
			break;
		struct meta_repl_rule *r = (struct meta_repl_rule *)arr + out->nrules;
		memset(r, 0, sizeof(*r));
		r->priority = (int32_t)sqlite3_column_int(st, 1);
		r->enabled = sqlite3_column_int(st, 2) != 0;
		r->delete_markers = sqlite3_column_int(st, 7) != 0;
		r->replica_mods = sqlite3_column_int(st, 8) != 0;
		r->v1 = sqlite3_column_int(st, 9) != 0;
		if ((rc = meta__col(st, 0, a, &r->id)) || (rc = meta__col(st, 3, a, &r->prefix)) ||
		    (rc = meta__col(st, 4, a, &r->dest_arn)) ||
		    (rc = meta__col(st, 5, a, &r->dest_bucket)) ||
		    (rc = meta__col(st, 6, a, &r->peer)))
			break;
		out->nrules++;
	}
	meta__done(st);
	out->rules = arr;
	return rc < 0 ? rc : 0;
}

static int config_get_in_tx(struct meta_db *db, struct iov bucket, struct arena *a,
                            struct meta_repl_config *out)
{
	int64_t id;
	enum meta_versioning v;
	int rc = meta__bucket_find(db, bucket, &id, &v);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_CONFIG_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, id)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		rc = meta__col(st, 0, a, &out->role);
	else if (rc == SQLITE_DONE)
		rc = ERR_S3_NO_SUCH_REPLICATION_CONFIGURATION;
	meta__done(st);
	return rc ? rc : read_rules(db, id, a, out);
}

int meta_repl_config_get(struct meta_db *db, struct iov bucket, struct arena *a,
                         struct meta_repl_config *out)
{
	memset(out, 0, sizeof(*out));
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, false);
	if (rc)
		return rc;
	rc = config_get_in_tx(db, bucket, a, out);
	int end = meta__tx_end(db, &tx, 0);
	return rc ? rc : end;
}

int meta__repl_drop_bucket(struct meta_db *db, int64_t bucket_id)
{
	int rc = meta__run(db, META_SQL_REPL_RULES_DELETE, meta__bind_id, &bucket_id);
	return rc ? rc : meta__run(db, META_SQL_REPL_CONFIG_DELETE, meta__bind_id, &bucket_id);
}

int meta_repl_config_delete(struct meta_db *db, struct iov bucket)
{
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	int64_t id;
	enum meta_versioning v;
	rc = meta__bucket_find(db, bucket, &id, &v);
	if (!rc)
		rc = meta__repl_drop_bucket(db, id);
	return meta__tx_end(db, &tx, rc);
}

int meta__repl_configured(struct meta_db *db, int64_t bucket_id)
{
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_CONFIG_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, bucket_id)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : rc == SQLITE_ROW;
}

/* ---- queueing ---- */

static bool has_prefix(struct iov key, struct iov prefix)
{
	return prefix.len == 0 ||
	       (key.len >= prefix.len && memcmp(key.base, prefix.base, prefix.len) == 0);
}

static bool planned(const struct meta_repl_plan *p, struct iov peer, struct iov dest)
{
	for (size_t i = 0; i < p->n; i++)
		if (iov_eq(p->dests[i].peer, peer) && iov_eq(p->dests[i].dest_bucket, dest))
			return true;
	return false;
}

int meta__repl_plan(struct meta_db *db, int64_t bucket_id, const struct meta_object *o,
                    struct arena *a, struct meta_repl_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (o->repl == META_REPL_REPLICA)
		return 0;
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_RULES_ACTIVE, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_int(db, st, 1, bucket_id))) {
		meta__done(st);
		return rc;
	}
	/* Ordered by priority: the first rule to match a destination is its best. */
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		struct iov prefix =
		    iov_make(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
		struct iov dest =
		    iov_make(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
		struct iov peer =
		    iov_make(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
		if (!has_prefix(o->key, prefix) || planned(plan, peer, dest))
			continue;
		/* The best rule for this destination decides, markers included. */
		bool sends = !o->is_delete_marker || sqlite3_column_int(st, 4) != 0;
		if (plan->n == REPL_DESTS_MAX)
			break;
		if ((rc = meta__grow(a, &arr, plan->n, &cap, sizeof(struct meta_repl_dest))))
			break;
		plan->dests = arr;
		struct meta_repl_dest *d = &plan->dests[plan->n++];
		if ((rc = meta__col(st, 0, a, &d->rule_id)) ||
		    (rc = meta__col(st, 2, a, &d->dest_bucket)) ||
		    (rc = meta__col(st, 3, a, &d->peer)))
			break;
		if (!sends)
			d->rule_id = IOV_NULL; /* holds the destination, sends nothing */
	}
	meta__done(st);
	if (rc < 0)
		return rc;
	/* Keep only destinations that send. */
	size_t k = 0;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->dests[i].rule_id.len)
			plan->dests[k++] = plan->dests[i];
	plan->n = k;
	return 0;
}

struct outbox_ins {
	int64_t bucket_id;
	struct iov key, vid;
	const struct meta_repl_dest *d;
	uint64_t size;
	int64_t now_ms;
};

static int bind_outbox(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct outbox_ins *x = arg;
	int rc;
	if ((rc = meta__bind_int(db, st, 1, x->bucket_id)) ||
	    (rc = meta__bind_blob(db, st, 2, x->key)) ||
	    (rc = meta__bind_text(db, st, 3, x->vid)) ||
	    (rc = meta__bind_text(db, st, 4, x->d->peer)) ||
	    (rc = meta__bind_text(db, st, 5, x->d->dest_bucket)) ||
	    (rc = meta__bind_text(db, st, 6, x->d->rule_id)) ||
	    (rc = meta__bind_int(db, st, 7, (int64_t)x->size)))
		return rc;
	return meta__bind_int(db, st, 8, x->now_ms);
}

int meta__repl_queue(struct meta_db *db, int64_t bucket_id, const struct meta_object *o,
                     const struct meta_repl_plan *plan, int64_t now_ms)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct outbox_ins x = { bucket_id,       o->key,  iov_cstr(o->version_id),
			                &plan->dests[i], o->size, now_ms };
		int rc = meta__run(db, META_SQL_OUTBOX_INSERT, bind_outbox, &x);
		if (rc)
			return rc;
	}
	return 0;
}

struct version_ref {
	int64_t bucket_id;
	struct iov key, vid;
};

static int bind_version_ref(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct version_ref *x = arg;
	int rc;
	if ((rc = meta__bind_int(db, st, 1, x->bucket_id)) ||
	    (rc = meta__bind_blob(db, st, 2, x->key)))
		return rc;
	return meta__bind_text(db, st, 3, x->vid);
}

int meta__repl_drop_version(struct meta_db *db, int64_t bucket_id, struct iov key, struct iov vid)
{
	struct version_ref x = { bucket_id, key, vid };
	return meta__run(db, META_SQL_OUTBOX_DROP_VERSION, bind_version_ref, &x);
}

/* ---- the agent's side ---- */

static int read_row(sqlite3_stmt *st, struct arena *a, struct meta_outbox_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->size = (uint64_t)sqlite3_column_int64(st, 7);
	r->created_ms = sqlite3_column_int64(st, 8);
	r->attempts = (uint32_t)sqlite3_column_int64(st, 9);
	r->next_attempt_ms = sqlite3_column_int64(st, 10);
	if (meta__col(st, 1, a, &r->bucket) || meta__col(st, 2, a, &r->key) ||
	    meta__col(st, 3, a, &r->version_id) || meta__col(st, 4, a, &r->peer) ||
	    meta__col(st, 5, a, &r->dest_bucket) || meta__col(st, 6, a, &r->rule_id))
		return ERR_NOMEM;
	return 0;
}

int meta_outbox_due(struct meta_db *db, struct iov peer, int64_t after_id, int64_t now_ms,
                    size_t max, struct arena *a, struct meta_outbox_row *rows, size_t *n)
{
	*n = 0;
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_OUTBOX_DUE, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_text(db, st, 1, peer)) &&
	    !(rc = meta__bind_int(db, st, 2, after_id)) &&
	    !(rc = meta__bind_int(db, st, 3, now_ms)) &&
	    !(rc = meta__bind_int(db, st, 4, (int64_t)max))) {
		while (*n < max && (rc = meta__step(db, st)) == SQLITE_ROW) {
			if ((rc = read_row(st, a, &rows[*n])))
				break;
			(*n)++;
		}
	}
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_outbox_next_due(struct meta_db *db, struct iov peer, int64_t *out)
{
	*out = INT64_MAX;
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_OUTBOX_NEXT_DUE, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_text(db, st, 1, peer)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(st, 0);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

/* The version row id names, or found = false when the row is gone. */
static int row_version(struct meta_db *db, int64_t id, struct arena *a, struct version_ref *v,
                       bool *found)
{
	int rc = 0;
	*found = false;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_OUTBOX_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_int(db, st, 1, id)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW) {
		v->bucket_id = sqlite3_column_int64(st, 0);
		*found = true;
		rc = meta__col(st, 1, a, &v->key);
		if (!rc)
			rc = meta__col(st, 2, a, &v->vid);
	}
	meta__done(st);
	return rc < 0 ? rc : 0;
}

struct swap {
	struct version_ref v;
	struct iov to, from;
};

static int bind_swap(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct swap *x = arg;
	int rc = bind_version_ref(db, st, &x->v);
	if (rc || (rc = meta__bind_text(db, st, 4, x->to)))
		return rc;
	return meta__bind_text(db, st, 5, x->from);
}

static int finish_found(struct meta_db *db, int64_t id, const struct version_ref *vr,
                        struct iov from, struct iov to, bool last);

/* Remove row id; then set its version's status from `from` to `to` (only
 * when no row is left, if `last` says so). */
static int finish_row(struct meta_db *db, int64_t id, struct iov from, struct iov to, bool last)
{
	struct arena *a = arena_new(2 * META_KEY_MAX + 256);
	if (!a)
		return ERR_NOMEM;
	struct version_ref v;
	bool found;
	int rc = row_version(db, id, a, &v, &found);
	if (!rc && found)
		rc = finish_found(db, id, &v, from, to, last);
	arena_free(a);
	return rc;
}

static int finish_found(struct meta_db *db, int64_t id, const struct version_ref *vr,
                        struct iov from, struct iov to, bool last)
{
	struct version_ref v = *vr;
	int rc;
	if ((rc = meta__run(db, META_SQL_OUTBOX_DELETE, meta__bind_id, &id)))
		return rc;
	if (last) {
		int left = 0;
		sqlite3_stmt *st = meta__stmt(db, META_SQL_OUTBOX_LEFT, &rc);
		if (!st)
			return rc;
		if (!(rc = bind_version_ref(db, st, &v)))
			rc = meta__step(db, st);
		left = rc == SQLITE_ROW;
		meta__done(st);
		if (rc < 0)
			return rc;
		if (left)
			return 0;
	}
	struct swap s = { v, to, from };
	return meta__run(db, META_SQL_VERSION_REPL_SWAP, bind_swap, &s);
}

static int in_write_tx(struct meta_db *db, int64_t id, struct iov from, struct iov to, bool last)
{
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	return meta__tx_end(db, &tx, finish_row(db, id, from, to, last));
}

int meta_outbox_done(struct meta_db *db, int64_t id)
{
	return in_write_tx(db, id, st_pending, IOV_LIT("COMPLETED"), true);
}

int meta_outbox_fail(struct meta_db *db, int64_t id, struct iov why)
{
	(void)why; /* the agent logs it and counts it */
	return in_write_tx(db, id, st_pending, IOV_LIT("FAILED"), false);
}

struct retry_row {
	int64_t id, next_ms;
	struct iov why;
};

static int bind_retry(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct retry_row *x = arg;
	int rc;
	if ((rc = meta__bind_int(db, st, 1, x->id)) || (rc = meta__bind_int(db, st, 2, x->next_ms)))
		return rc;
	return meta__bind_opt_text(db, st, 3, x->why);
}

int meta_outbox_retry(struct meta_db *db, int64_t id, int64_t next_ms, struct iov why)
{
	struct retry_row x = { id, next_ms, why };
	if (x.why.len > META_REPL_ERROR_MAX)
		x.why.len = META_REPL_ERROR_MAX;
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	return meta__tx_end(db, &tx, meta__run(db, META_SQL_OUTBOX_RETRY, bind_retry, &x));
}

static int add_in_tx(struct meta_db *db, struct iov bucket, const struct meta_repl_dest *d,
                     struct iov key, struct iov vid, int64_t now_ms)
{
	struct version_ref v = { 0, key, vid };
	enum meta_versioning ver;
	int rc = meta__bucket_find(db, bucket, &v.bucket_id, &ver);
	if (rc)
		return rc;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_VERSION_REPL_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = bind_version_ref(db, st, &v)))
		rc = meta__step(db, st);
	uint64_t size = 0;
	bool replica = false;
	if (rc == SQLITE_ROW) {
		size = (uint64_t)sqlite3_column_int64(st, 0);
		const unsigned char *s = sqlite3_column_text(st, 1);
		replica = s && strcmp((const char *)s, "REPLICA") == 0;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_META_NO_SUCH_VERSION;
	}
	meta__done(st);
	if (rc)
		return rc;
	struct outbox_ins x = { v.bucket_id, key, vid, d, size, now_ms };
	if ((rc = meta__run(db, META_SQL_OUTBOX_INSERT, bind_outbox, &x)) || replica)
		return rc;
	st = meta__stmt(db, META_SQL_VERSION_SET_REPL, &rc);
	if (!st)
		return rc;
	if (!(rc = bind_version_ref(db, st, &v)) && !(rc = meta__bind_text(db, st, 4, st_pending)))
		rc = meta__step(db, st);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_outbox_add(struct meta_db *db, struct iov bucket, struct iov key, struct iov version_id,
                    struct iov peer, struct iov dest_bucket, struct iov rule_id, int64_t now_ms)
{
	int rc = meta__key_check(key);
	if (rc || (rc = meta__version_id_check(version_id)))
		return rc;
	if (!peer.len || !dest_bucket.len || !rule_id.len)
		return ERR_INVALID;
	struct meta_repl_dest d = { peer, dest_bucket, rule_id };
	struct meta_tx tx;
	if ((rc = meta__tx_begin(db, &tx, true)))
		return rc;
	return meta__tx_end(db, &tx, add_in_tx(db, bucket, &d, key, version_id, now_ms));
}

int meta_outbox_stats(struct meta_db *db, struct arena *a, struct meta_outbox_stat **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_OUTBOX_STATS, &rc);
	if (!st)
		return rc;
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if ((rc = meta__grow(a, &arr, *n, &cap, sizeof(struct meta_outbox_stat))))
			break;
		struct meta_outbox_stat *s = (struct meta_outbox_stat *)arr + *n;
		memset(s, 0, sizeof(*s));
		s->ops = (uint64_t)sqlite3_column_int64(st, 3);
		s->bytes = (uint64_t)sqlite3_column_int64(st, 4);
		s->oldest_ms = sqlite3_column_int64(st, 5);
		if ((rc = meta__col(st, 0, a, &s->bucket)) ||
		    (rc = meta__col(st, 1, a, &s->rule_id)) || (rc = meta__col(st, 2, a, &s->peer)))
			break;
		(*n)++;
	}
	meta__done(st);
	*out = arr;
	return rc < 0 ? rc : 0;
}

int meta_db_store_id(struct meta_db *db, int64_t *out)
{
	int rc = 0;
	*out = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_STORE_ID_GET, &rc);
	if (!st)
		return rc;
	rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

int meta_repl_rules_for_peer(struct meta_db *db, struct iov peer, struct arena *a,
                             struct meta_peer_rule **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc = 0;
	size_t cap = 0;
	void *arr = NULL;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_RULES_FOR_PEER, &rc);
	if (!st)
		return rc;
	if ((rc = meta__bind_text(db, st, 1, peer))) {
		meta__done(st);
		return rc;
	}
	while ((rc = meta__step(db, st)) == SQLITE_ROW) {
		if ((rc = meta__grow(a, &arr, *n, &cap, sizeof(struct meta_peer_rule))))
			break;
		struct meta_peer_rule *r = (struct meta_peer_rule *)arr + *n;
		memset(r, 0, sizeof(*r));
		r->delete_markers = sqlite3_column_int(st, 4) != 0;
		if ((rc = meta__col(st, 0, a, &r->bucket)) ||
		    (rc = meta__col(st, 1, a, &r->rule_id)) ||
		    (rc = meta__col(st, 2, a, &r->prefix)) ||
		    (rc = meta__col(st, 3, a, &r->dest_bucket)))
			break;
		(*n)++;
	}
	meta__done(st);
	*out = arr;
	return rc < 0 ? rc : 0;
}

int meta_repl_peer_get(struct meta_db *db, struct iov peer, int64_t *store_id)
{
	*store_id = 0;
	int rc = 0;
	sqlite3_stmt *st = meta__stmt(db, META_SQL_REPL_PEER_GET, &rc);
	if (!st)
		return rc;
	if (!(rc = meta__bind_text(db, st, 1, peer)))
		rc = meta__step(db, st);
	if (rc == SQLITE_ROW)
		*store_id = sqlite3_column_int64(st, 0);
	meta__done(st);
	return rc < 0 ? rc : 0;
}

struct peer_row {
	struct iov name;
	int64_t id;
};

static int bind_peer(struct meta_db *db, sqlite3_stmt *st, const void *arg)
{
	const struct peer_row *x = arg;
	int rc = meta__bind_text(db, st, 1, x->name);
	return rc ? rc : meta__bind_int(db, st, 2, x->id);
}

int meta_repl_peer_set(struct meta_db *db, struct iov peer, int64_t store_id)
{
	struct peer_row x = { peer, store_id };
	struct meta_tx tx;
	int rc = meta__tx_begin(db, &tx, true);
	if (rc)
		return rc;
	return meta__tx_end(db, &tx, meta__run(db, META_SQL_REPL_PEER_SET, bind_peer, &x));
}
