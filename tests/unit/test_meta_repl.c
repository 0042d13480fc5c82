/* meta/repl.c: replication configurations and the outbox. */
#include "meta/repl.h"

#include "meta_fixture.h"

#define RULE(id_, prio, prefix_, peer_, dest, markers)                                            \
	{                                                                                         \
		.id = IOV_LIT(id_), .priority = (prio), .enabled = true,                          \
		.prefix = IOV_LIT(prefix_), .dest_arn = IOV_LIT("arn:aws:s3:::" dest),            \
		.dest_bucket = IOV_LIT(dest), .peer = IOV_LIT(peer_), .delete_markers = (markers) \
	}

static void set_rules(struct mfx *f, const char *bucket, struct meta_repl_rule *rules, size_t n)
{
	struct meta_repl_config c = { IOV_LIT("arn:aws:iam::1:role/r"), rules, n };
	int rc = meta_repl_config_put(f->db, iov_cstr(bucket), &c);
	if (rc)
		fail_msg("config_put: %s (%s)", err_name(rc), meta_db_errmsg(f->db));
}

/* The rows due for peer, all of them. */
static size_t due(struct mfx *f, const char *peer, struct meta_outbox_row *rows, size_t max)
{
	size_t n = 99;
	assert_int_equal(meta_outbox_due(f->db, iov_cstr(peer), 0, INT64_MAX, max, f->a, rows, &n),
	                 0);
	return n;
}

static enum meta_repl status_of(struct mfx *f, const char *bucket, const char *key, const char *vid)
{
	struct meta_object o;
	int rc = meta_object_get(f->db, iov_cstr(bucket), iov_cstr(key), iov_cstr(vid), f->a, &o);
	if (rc)
		fail_msg("get %s: %s", key, err_name(rc));
	return o.repl;
}

static void config_round_trips_and_needs_versioning(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "plain", META_UNVERSIONED);
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_repl_rule rules[] = { RULE("one", 2, "shared/", "eu", "b-eu", true),
		                          RULE("two", 1, "", "ap", "b-ap", false) };
	rules[1].replica_mods = true;
	rules[1].enabled = false;
	struct meta_repl_config c = { IOV_LIT(""), rules, 2 };
	assert_int_equal(meta_repl_config_put(f->db, IOV_LIT("plain"), &c),
	                 ERR_REPL_NEEDS_VERSIONING);
	assert_int_equal(meta_repl_config_put(f->db, IOV_LIT("nope"), &c), ERR_META_NO_SUCH_BUCKET);
	struct meta_repl_config out;
	assert_int_equal(meta_repl_config_get(f->db, IOV_LIT("b"), f->a, &out),
	                 ERR_S3_NO_SUCH_REPLICATION_CONFIGURATION);
	set_rules(f, "b", rules, 2);
	assert_int_equal(meta_repl_config_get(f->db, IOV_LIT("b"), f->a, &out), 0);
	assert_int_equal(out.nrules, 2);
	assert_true(iov_eq(out.role, IOV_LIT("arn:aws:iam::1:role/r")));
	assert_true(iov_eq(out.rules[0].id, IOV_LIT("one")));
	assert_int_equal(out.rules[0].priority, 2);
	assert_true(out.rules[0].enabled && out.rules[0].delete_markers);
	assert_true(iov_eq(out.rules[0].prefix, IOV_LIT("shared/")));
	assert_true(iov_eq(out.rules[0].dest_arn, IOV_LIT("arn:aws:s3:::b-eu")));
	assert_true(iov_eq(out.rules[1].peer, IOV_LIT("ap")));
	assert_true(!out.rules[1].enabled && out.rules[1].replica_mods &&
	            !out.rules[1].delete_markers);
	/* A second put replaces, it does not add. */
	set_rules(f, "b", rules, 1);
	assert_int_equal(meta_repl_config_get(f->db, IOV_LIT("b"), f->a, &out), 0);
	assert_int_equal(out.nrules, 1);
	/* Versioning cannot be suspended while it exists (S3: InvalidBucketState). */
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("b"), META_SUSPENDED),
	                 ERR_S3_INVALID_BUCKET_STATE);
	assert_int_equal(meta_repl_config_delete(f->db, IOV_LIT("b")), 0);
	assert_int_equal(meta_repl_config_get(f->db, IOV_LIT("b"), f->a, &out),
	                 ERR_S3_NO_SUCH_REPLICATION_CONFIGURATION);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("b"), META_SUSPENDED), 0);
	/* Field checks. */
	struct meta_repl_rule bad = RULE("x", 0, "", "", "d", false);
	struct meta_repl_config cb = { IOV_LIT(""), &bad, 1 };
	assert_int_equal(meta_repl_config_put(f->db, IOV_LIT("b"), &cb), ERR_INVALID);
	cb.nrules = 0;
	assert_int_equal(meta_repl_config_put(f->db, IOV_LIT("b"), &cb), ERR_INVALID);
}

static void writes_queue_by_rule_and_replicas_do_not(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_ENABLED);
	/* Two rules to the same destination: the higher priority one decides
	 * (it does not replicate markers), and a third destination for all. */
	struct meta_repl_rule rules[] = { RULE("low", 1, "", "eu", "b-eu", true),
		                          RULE("high", 5, "s/", "eu", "b-eu", false),
		                          RULE("ap", 0, "", "ap", "b-ap", true) };
	set_rules(f, "b", rules, 3);
	struct meta_object o;
	mfx_put_ok(f, "b", "s/a", "f1", &o);
	assert_int_equal(o.repl, META_REPL_PENDING);
	struct meta_outbox_row rows[8];
	assert_int_equal(due(f, "eu", rows, 8), 1);
	assert_true(iov_eq(rows[0].rule_id, IOV_LIT("high")));
	assert_true(iov_eq(rows[0].bucket, IOV_LIT("b")));
	assert_true(iov_eq(rows[0].key, IOV_LIT("s/a")));
	assert_true(iov_eq(rows[0].version_id, iov_cstr(o.version_id)));
	assert_true(iov_eq(rows[0].dest_bucket, IOV_LIT("b-eu")));
	assert_int_equal(rows[0].size, 2);
	assert_int_equal(rows[0].created_ms, (int64_t)hlc_ms(o.hlc));
	assert_int_equal(due(f, "ap", rows, 8), 1);
	/* A delete marker under s/: "high" says no markers to eu; ap takes it. */
	struct meta_delete_result del;
	assert_int_equal(mfx_delete(f, "b", "s/a", "", &del), 0);
	assert_true(del.delete_marker);
	assert_int_equal(due(f, "eu", rows, 8), 1);
	assert_int_equal(due(f, "ap", rows, 8), 2);
	assert_true(iov_eq(rows[1].version_id, iov_cstr(del.version_id)));
	assert_int_equal(status_of(f, "b", "s/a", del.version_id), META_REPL_PENDING);
	/* Outside s/ "low" is eu's best rule, and it sends markers. */
	mfx_put_ok(f, "b", "t", "f2", &o);
	assert_int_equal(mfx_delete(f, "b", "t", "", &del), 0);
	assert_int_equal(due(f, "eu", rows, 8), 3);
	assert_true(iov_eq(rows[2].rule_id, IOV_LIT("low")));
	/* A replica is stored as given and never queued: no loops. */
	struct meta_object r = o;
	r.key = IOV_LIT("s/replica");
	r.hlc = mfx_tick(f);
	r.region = 7;
	r.repl = META_REPL_REPLICA;
	struct meta_files rep;
	assert_int_equal(meta_object_put(f->db, IOV_LIT("b"), &r, f->a, &rep), 0);
	assert_int_equal(r.repl, META_REPL_REPLICA);
	assert_int_equal(due(f, "eu", rows, 8), 3);
	assert_int_equal(due(f, "ap", rows, 8), 4);
	/* Disabled rules and unmatched keys queue nothing. */
	rules[2].enabled = false;
	rules[1].prefix = IOV_LIT("zzz/");
	rules[0].prefix = IOV_LIT("zzz/");
	set_rules(f, "b", rules, 3);
	mfx_put_ok(f, "b", "s/b", "f3", &o);
	assert_int_equal(o.repl, META_REPL_NONE);
	assert_int_equal(due(f, "eu", rows, 8) + due(f, "ap", rows, 8), 7);
}

static void acks_move_the_status(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_repl_rule rules[] = { RULE("eu", 0, "", "eu", "b-eu", true),
		                          RULE("ap", 0, "", "ap", "b-ap", true) };
	set_rules(f, "b", rules, 2);
	struct meta_object o1, o2;
	mfx_put_ok(f, "b", "k1", "f1", &o1);
	mfx_put_ok(f, "b", "k2", "f2", &o2);
	struct meta_outbox_row eu[4], ap[4];
	assert_int_equal(due(f, "eu", eu, 4), 2);
	assert_int_equal(due(f, "ap", ap, 4), 2);
	/* k1: COMPLETED only when both destinations have it. */
	assert_int_equal(meta_outbox_done(f->db, eu[0].id), 0);
	assert_int_equal(status_of(f, "b", "k1", o1.version_id), META_REPL_PENDING);
	assert_int_equal(meta_outbox_done(f->db, ap[0].id), 0);
	assert_int_equal(status_of(f, "b", "k1", o1.version_id), META_REPL_COMPLETED);
	/* An ack for a row already gone is harmless (a restart may repeat it). */
	assert_int_equal(meta_outbox_done(f->db, ap[0].id), 0);
	/* k2: one failure for good makes it FAILED, and the other success
	 * does not turn it COMPLETED. */
	assert_int_equal(meta_outbox_fail(f->db, eu[1].id, IOV_LIT("NoSuchBucket")), 0);
	assert_int_equal(status_of(f, "b", "k2", o2.version_id), META_REPL_FAILED);
	assert_int_equal(meta_outbox_done(f->db, ap[1].id), 0);
	assert_int_equal(status_of(f, "b", "k2", o2.version_id), META_REPL_FAILED);
	assert_int_equal(due(f, "eu", eu, 4), 0);
	assert_int_equal(due(f, "ap", ap, 4), 0);
	int64_t next;
	assert_int_equal(meta_outbox_next_due(f->db, IOV_LIT("eu"), &next), 0);
	assert_true(next == INT64_MAX);
	/* The outbox is empty now; a new row still gets an id above every id
	 * handed out before (the agent scans forward from the last one). */
	int64_t top = eu[1].id > ap[1].id ? eu[1].id : ap[1].id;
	struct meta_object o3;
	mfx_put_ok(f, "b", "k3", "f3", &o3);
	assert_int_equal(due(f, "eu", eu, 4), 1);
	if (eu[0].id <= top)
		fail_msg("new id %lld, earlier up to %lld", (long long)eu[0].id, (long long)top);
}

static void retries_wait_and_resync_requeues(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_repl_rule rules[] = { RULE("eu", 0, "", "eu", "b-eu", true) };
	set_rules(f, "b", rules, 1);
	struct meta_object o1, o2;
	mfx_put_ok(f, "b", "k1", "f1", &o1);
	mfx_put_ok(f, "b", "k2", "f2", &o2);
	struct meta_outbox_row rows[4];
	assert_int_equal(due(f, "eu", rows, 4), 2);
	int64_t first = rows[0].id;
	assert_int_equal(meta_outbox_retry(f->db, first, 5000, IOV_LIT("timeout")), 0);
	size_t n;
	assert_int_equal(meta_outbox_due(f->db, IOV_LIT("eu"), 0, 4999, 4, f->a, rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(iov_eq(rows[0].key, IOV_LIT("k2")));
	/* after_id skips what the caller already holds. */
	assert_int_equal(meta_outbox_due(f->db, IOV_LIT("eu"), rows[0].id, 4999, 4, f->a, rows, &n),
	                 0);
	assert_int_equal(n, 0);
	int64_t next;
	assert_int_equal(meta_outbox_next_due(f->db, IOV_LIT("eu"), &next), 0);
	assert_int_equal(next, 0);
	assert_int_equal(meta_outbox_due(f->db, IOV_LIT("eu"), 0, 5000, 4, f->a, rows, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].attempts, 1);
	assert_int_equal(rows[0].next_attempt_ms, 5000);
	/* Done, then resync queues it again: PENDING, once however often. */
	assert_int_equal(meta_outbox_done(f->db, rows[0].id), 0);
	assert_int_equal(meta_outbox_done(f->db, rows[1].id), 0);
	assert_int_equal(status_of(f, "b", "k1", o1.version_id), META_REPL_COMPLETED);
	for (int i = 0; i < 2; i++)
		assert_int_equal(meta_outbox_add(f->db, IOV_LIT("b"), IOV_LIT("k1"),
		                                 iov_cstr(o1.version_id), IOV_LIT("eu"),
		                                 IOV_LIT("b-eu"), IOV_LIT("eu"), 77),
		                 0);
	assert_int_equal(status_of(f, "b", "k1", o1.version_id), META_REPL_PENDING);
	assert_int_equal(due(f, "eu", rows, 4), 1);
	assert_int_equal(rows[0].created_ms, 77);
	assert_int_equal(meta_outbox_add(f->db, IOV_LIT("b"), IOV_LIT("k1"),
	                                 IOV_LIT("0000000000000000"), IOV_LIT("eu"),
	                                 IOV_LIT("b-eu"), IOV_LIT("eu"), 77),
	                 ERR_META_NO_SUCH_VERSION);
}

static void removed_versions_and_buckets_take_their_state(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_repl_rule rules[] = { RULE("eu", 0, "", "eu", "b-eu", true) };
	set_rules(f, "b", rules, 1);
	struct meta_object o;
	mfx_put_ok(f, "b", "k", "f1", &o);
	struct meta_outbox_row rows[4];
	assert_int_equal(due(f, "eu", rows, 4), 1);
	/* Deleting that version is not replicated and leaves nothing to send. */
	struct meta_delete_result del;
	assert_int_equal(mfx_delete(f, "b", "k", o.version_id, &del), 0);
	assert_int_equal(due(f, "eu", rows, 4), 0);
	/* Stats group what is left per bucket, rule and peer. */
	mfx_put_ok(f, "b", "k2", "file-two", &o);
	mfx_put_ok(f, "b", "k3", "f3", &o);
	struct meta_outbox_stat *st;
	size_t n;
	assert_int_equal(meta_outbox_stats(f->db, f->a, &st, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st[0].ops, 2);
	assert_int_equal(st[0].bytes, 10);
	assert_true(iov_eq(st[0].peer, IOV_LIT("eu")) && iov_eq(st[0].rule_id, IOV_LIT("eu")));
	assert_int_equal(due(f, "eu", rows, 4), 2);
	assert_int_equal(meta_outbox_done(f->db, rows[0].id), 0);
	assert_int_equal(meta_outbox_done(f->db, rows[1].id), 0);
	/* Emptied and deleted, the bucket takes its configuration along. */
	assert_int_equal(meta_repl_config_delete(f->db, IOV_LIT("b")), 0);
	int64_t id1, id2;
	assert_int_equal(meta_db_store_id(f->db, &id1), 0);
	assert_true(id1 > 0);
	meta_db_close(f->db);
	assert_int_equal(meta_db_open(f->path, NULL, &f->db), 0);
	assert_int_equal(meta_db_store_id(f->db, &id2), 0);
	assert_int_equal(id1, id2);
}

static void rules_by_peer_and_peer_ids(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b1", META_ENABLED);
	mfx_bucket(f, "b2", META_ENABLED);
	struct meta_repl_rule r1[] = { RULE("x", 1, "p/", "eu", "d1", false),
		                       RULE("y", 0, "", "ap", "d2", true) };
	struct meta_repl_rule r2[] = { RULE("z", 0, "", "eu", "d3", true) };
	r1[1].enabled = true;
	set_rules(f, "b1", r1, 2);
	set_rules(f, "b2", r2, 1);
	struct meta_peer_rule *pr;
	size_t n;
	assert_int_equal(meta_repl_rules_for_peer(f->db, IOV_LIT("eu"), f->a, &pr, &n), 0);
	assert_int_equal(n, 2);
	assert_true(iov_eq(pr[0].bucket, IOV_LIT("b1")) && iov_eq(pr[0].rule_id, IOV_LIT("x")));
	assert_true(iov_eq(pr[0].prefix, IOV_LIT("p/")) && !pr[0].delete_markers);
	assert_true(iov_eq(pr[1].bucket, IOV_LIT("b2")) &&
	            iov_eq(pr[1].dest_bucket, IOV_LIT("d3")));
	assert_int_equal(meta_repl_rules_for_peer(f->db, IOV_LIT("none"), f->a, &pr, &n), 0);
	assert_int_equal(n, 0);
	int64_t id;
	assert_int_equal(meta_repl_peer_get(f->db, IOV_LIT("eu"), &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(meta_repl_peer_set(f->db, IOV_LIT("eu"), 42), 0);
	assert_int_equal(meta_repl_peer_set(f->db, IOV_LIT("eu"), 43), 0);
	assert_int_equal(meta_repl_peer_get(f->db, IOV_LIT("eu"), &id), 0);
	assert_int_equal(id, 43);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_round_trips_and_needs_versioning, mfx_setup,
		                                mfx_teardown),
		cmocka_unit_test_setup_teardown(writes_queue_by_rule_and_replicas_do_not, mfx_setup,
		                                mfx_teardown),
		cmocka_unit_test_setup_teardown(acks_move_the_status, mfx_setup, mfx_teardown),
		cmocka_unit_test_setup_teardown(retries_wait_and_resync_requeues, mfx_setup,
		                                mfx_teardown),
		cmocka_unit_test_setup_teardown(rules_by_peer_and_peer_ids, mfx_setup,
		                                mfx_teardown),
		cmocka_unit_test_setup_teardown(removed_versions_and_buckets_take_their_state,
		                                mfx_setup, mfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
