/*
 * Replication state in the metadata database: each bucket's replication
 * configuration (struct meta_repl_config) and the outbox, the durable list
 * of versions still to be sent to a destination. Synchronous on one
 * connection (db.h); each call is its own transaction or a savepoint in the
 * caller's.
 *
 * Rows are added by meta/ itself, in the transaction that adds the version
 * (meta__version_add: put, copy, multipart completion, delete marker), one
 * per destination whose best rule matches the key, and the version's
 * repl_status becomes PENDING. Replicas (repl REPLICA) are never queued, so
 * nothing loops. The replication agent reads due rows, sends them, and
 * reports each one done (the row goes; the last row of a version makes it
 * COMPLETED), failed for good (the version becomes FAILED) or to be retried
 * later. Removing a version for good removes its rows: deleting a specific
 * version is not replicated, and there is nothing left to send.
 */
#ifndef MERIDIAN_META_REPL_H
#define MERIDIAN_META_REPL_H

#include <stdint.h>

#include "base/arena.h"
#include "meta/db.h"
#include "meta/meta-t.h"

#define META_REPL_ERROR_MAX 255 /* last_error text kept per row */

/*
 * Replace the bucket's configuration with c (rules validated by the
 * caller: ids unique, every field within its cap, peer and dest_bucket
 * set). Versioning must be ENABLED. Rows already queued stay.
 * 0, ERR_META_NO_SUCH_BUCKET, ERR_REPL_NEEDS_VERSIONING, ERR_INVALID,
 * ERR_TOO_BIG, or a database error.
 */
int meta_repl_config_put(struct meta_db *db, struct iov bucket, const struct meta_repl_config *c);
/* The configuration, strings and rules in the arena. 0,
 * ERR_META_NO_SUCH_BUCKET, ERR_S3_NO_SUCH_REPLICATION_CONFIGURATION. */
int meta_repl_config_get(struct meta_db *db, struct iov bucket, struct arena *a,
                         struct meta_repl_config *out);
/* Remove it (no error if there is none). Queued rows stay and are sent.
 * 0 or ERR_META_NO_SUCH_BUCKET. */
int meta_repl_config_delete(struct meta_db *db, struct iov bucket);

/* An outbox row. Strings point into the caller's arena. */
struct meta_outbox_row {
	int64_t id;
	struct iov bucket; /* the source bucket's name */
	struct iov key;
	struct iov version_id;
	struct iov peer;
	struct iov dest_bucket;
	struct iov rule_id;
	uint64_t size; /* the version's size when queued */
	int64_t created_ms;
	uint32_t attempts;
	int64_t next_attempt_ms;
};

/*
 * Up to max rows for peer with id > after_id that are due (next_attempt_ms
 * <= now_ms), in id order, into rows[0..*n). 0 or a database error.
 */
int meta_outbox_due(struct meta_db *db, struct iov peer, int64_t after_id, int64_t now_ms,
                    size_t max, struct arena *a, struct meta_outbox_row *rows, size_t *n);
/* The smallest next_attempt_ms of peer's rows, or INT64_MAX when it has
 * none. 0 or a database error. */
int meta_outbox_next_due(struct meta_db *db, struct iov peer, int64_t *out);

/* Row id was delivered: remove it; when its version has no rows left and is
 * PENDING, it becomes COMPLETED. A row already gone is not an error. */
int meta_outbox_done(struct meta_db *db, int64_t id);
/* Row id failed for good (the destination refused it): the version becomes
 * FAILED and the row goes. A row already gone is not an error. */
int meta_outbox_fail(struct meta_db *db, int64_t id, struct iov why);
/* Row id failed for now: try again at next_ms; attempts counts up. */
int meta_outbox_retry(struct meta_db *db, int64_t id, int64_t next_ms, struct iov why);

/*
 * Queue version (key, version_id) of bucket for (peer, dest_bucket) under
 * rule_id unless a row for it is already queued (resync). The version's
 * status becomes PENDING unless it is a REPLICA. 0 (queued or already
 * queued), ERR_META_NO_SUCH_BUCKET, ERR_META_NO_SUCH_VERSION.
 */
int meta_outbox_add(struct meta_db *db, struct iov bucket, struct iov key, struct iov version_id,
                    struct iov peer, struct iov dest_bucket, struct iov rule_id, int64_t now_ms);

/* What is pending per (bucket, rule, peer). */
struct meta_outbox_stat {
	struct iov bucket;
	struct iov rule_id;
	struct iov peer;
	uint64_t ops;
	uint64_t bytes;
	int64_t oldest_ms; /* created_ms of the oldest row */
};
/* Every group with rows, into an arena array. 0 or a database error. */
int meta_outbox_stats(struct meta_db *db, struct arena *a, struct meta_outbox_stat **out,
                      size_t *n);

/* An enabled rule toward one peer, with its bucket (resync). */
struct meta_peer_rule {
	struct iov bucket, rule_id, prefix, dest_bucket;
	bool delete_markers;
};
/* Every enabled rule naming peer, by bucket. 0 or a database error. */
int meta_repl_rules_for_peer(struct meta_db *db, struct iov peer, struct arena *a,
                             struct meta_peer_rule **out, size_t *n);

/* The store id last seen of a peer (0: never seen), and recording it. */
int meta_repl_peer_get(struct meta_db *db, struct iov peer, int64_t *store_id);
int meta_repl_peer_set(struct meta_db *db, struct iov peer, int64_t store_id);

/* The id a store's database was created with (settings.store_id). */
int meta_db_store_id(struct meta_db *db, int64_t *out);

#endif
