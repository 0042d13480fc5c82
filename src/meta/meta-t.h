/*
 * Records of the metadata layer, shared by meta/ and the S3 layer above it:
 * buckets, object versions, multipart uploads and parts, listing arguments
 * and results. Plain data; strings are slices. In records meta/ returns, the
 * slices point into the caller's arena; in records the caller passes in, they
 * are borrowed for the duration of the call.
 */
#ifndef MERIDIAN_META_META_T_H
#define MERIDIAN_META_META_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hlc.h"
#include "base/iov.h"

/* Caps (S3's where S3 has one). Longer input is an error, never truncated. */
#define META_KEY_MAX         1024 /* object key bytes (S3: 1024) */
#define META_NAME_MAX        255  /* bucket name, owner id, region, upload id, data file id */
#define META_FIELD_MAX       1024 /* etag, content-type, checksum algorithm and value */
#define META_ATTRS_MAX       8192 /* encoded system + user metadata blob */
#define META_LIST_MAX        1000 /* entries per listing page (S3 max-keys cap) */
#define META_PART_NUMBER_MAX 10000
#define META_VERSION_ID_MAX  HLC_VERSION_ID_LEN /* "null" is shorter */

/* Bucket versioning state; the text is S3's <Status> ("" = never enabled). */
#define META_VERSIONING_MAP(X) \
	X(UNVERSIONED, "")     \
	X(ENABLED, "Enabled")  \
	X(SUSPENDED, "Suspended")

enum meta_versioning {
#define META_VERSIONING_ENUM(e, text) META_##e,
	META_VERSIONING_MAP(META_VERSIONING_ENUM)
#undef META_VERSIONING_ENUM
};

/* Replication status of a version (x-amz-replication-status); NONE is NULL in
 * the database and no header. */
#define META_REPL_MAP(X)          \
	X(NONE, NULL)             \
	X(PENDING, "PENDING")     \
	X(COMPLETED, "COMPLETED") \
	X(FAILED, "FAILED")       \
	X(REPLICA, "REPLICA")

enum meta_repl {
#define META_REPL_ENUM(e, text) META_REPL_##e,
	META_REPL_MAP(META_REPL_ENUM)
#undef META_REPL_ENUM
};

/*
 * Bucket replication (S3's ReplicationConfiguration). A rule sends new
 * versions whose key starts with `prefix` to `dest_bucket` on the peer store
 * `peer` (a peer name from the store's replication config; s3/ resolves it
 * from the destination ARN when the rules are set). Among enabled rules with
 * the same destination that match a key, the highest priority wins.
 */
#define META_REPL_RULES_MAX   1000 /* rules per configuration (S3: 1000) */
#define META_REPL_RULE_ID_MAX 255  /* rule ID bytes (S3: 255) */
#define META_REPL_ARN_MAX     1024 /* destination bucket ARN, role ARN */

struct meta_repl_rule {
	struct iov id;          /* <ID>; never empty once stored (s3 fills a generated one) */
	int32_t priority;       /* <Priority>; 0 when absent (V1 rules) */
	bool enabled;           /* <Status>Enabled</Status> */
	struct iov prefix;      /* <Filter><Prefix> (or V1 <Prefix>); empty: every key */
	struct iov dest_arn;    /* <Destination><Bucket> as given: arn:aws:s3:::name */
	struct iov dest_bucket; /* the bucket name the ARN names */
	struct iov peer;        /* the peer (name) holding dest_bucket */
	bool delete_markers;    /* <DeleteMarkerReplication><Status>Enabled (V1: always) */
	bool replica_mods;      /* <SourceSelectionCriteria><ReplicaModifications> Enabled */
	bool v1;                /* V1 form: <Prefix> directly in <Rule>, no <Filter> */
};

struct meta_repl_config {
	struct iov role; /* <Role>, echoed back; may be empty */
	struct meta_repl_rule *rules;
	size_t nrules; /* 1..META_REPL_RULES_MAX */
};

struct meta_bucket {
	struct iov name;
	struct iov owner;  /* owner id (canonical user id / access key owner) */
	struct iov region; /* LocationConstraint */
	int64_t created_ms;
	enum meta_versioning versioning;
	bool anon_read; /* anonymous GET/HEAD of objects allowed */
};

/* One part: of an upload in progress, or of a completed multipart object. */
struct meta_part {
	uint32_t number; /* 1..META_PART_NUMBER_MAX */
	uint64_t size;
	uint64_t offset; /* completed objects: where the part starts in the object */
	struct iov etag; /* hex MD5, no quotes */
	struct iov data_file;
	struct iov checksum; /* value in the upload's algorithm; empty if none */
	int64_t last_modified_ms;
};

/*
 * One object version (or delete marker). As put input: key, hlc, region,
 * size, etag, last_modified_ms, data_file, content_type, attrs, checksum_algo,
 * checksum, owner, repl; meta fills version_id and is_latest. As output every
 * field is set; parts/nparts only by meta_object_get on multipart objects.
 */
struct meta_object {
	struct iov key;
	char version_id[META_VERSION_ID_MAX + 1]; /* "null" or an hlc version id */
	uint64_t hlc;                             /* write time, orders versions */
	uint16_t region;                          /* region id of the writer; breaks hlc ties */
	bool is_latest;
	bool is_delete_marker;
	uint64_t size;
	struct iov etag; /* no quotes; multipart: "<hex>-N" */
	int64_t last_modified_ms;
	struct iov data_file; /* empty for delete markers and multipart objects */
	uint32_t part_count;  /* 0: one data file; N: N parts in order */
	struct meta_part *parts;
	size_t nparts;
	struct iov content_type;
	struct iov attrs; /* encoded with meta_attrs_encode() */
	struct iov checksum_algo;
	struct iov checksum;
	struct iov owner;
	enum meta_repl repl;
};

/* Data files a call unlinked from the metadata: after the transaction commits
 * the caller deletes them (a crash in between orphans them for GC). */
struct meta_files {
	struct iov *ids;
	size_t n;
	size_t cap; /* private */
};

struct meta_upload {
	struct iov key;
	struct iov upload_id;
	int64_t initiated_ms;
	struct iov owner;
	struct iov content_type;
	struct iov attrs;
	struct iov checksum_algo;
};

/* A part named by CompleteMultipartUpload. */
struct meta_complete_part {
	uint32_t number;
	struct iov etag;     /* no quotes */
	struct iov checksum; /* empty: not checked */
};

struct meta_complete {
	struct iov key;
	struct iov upload_id;
	const struct meta_complete_part *parts; /* strictly ascending numbers */
	size_t nparts;                          /* 1..META_PART_NUMBER_MAX */
	uint64_t min_part_size;                 /* every part but the last (S3: 5 MiB) */
	uint64_t hlc;
	uint16_t region;
	int64_t now_ms;
	struct iov etag;     /* computed by the caller: hex MD5 of the part MD5s + "-N" */
	struct iov checksum; /* composite checksum, or empty */
	enum meta_repl repl;
};

/*
 * Listing arguments. `marker` is exclusive: ListObjects marker/start-after,
 * the key a V2 continuation token carries, or key-marker. `sub_marker` is
 * version-id-marker (list versions) or upload-id-marker (list uploads), used
 * only with a marker. A common prefix not greater than the marker is skipped,
 * so a page that ended on a prefix continues after it.
 */
struct meta_list_args {
	struct iov prefix;
	struct iov delimiter;
	struct iov marker;
	struct iov sub_marker;
	uint32_t max; /* clamped to META_LIST_MAX; prefixes count too */
};

/*
 * A listing page. next_marker is the last key or common prefix returned (the
 * NextMarker / continuation key / NextKeyMarker); next_sub_marker the last
 * version id or upload id returned, empty if the page ended on a prefix.
 */
struct meta_list {
	struct meta_object *objects; /* list objects, list versions */
	size_t nobjects;
	struct meta_upload *uploads; /* list uploads */
	size_t nuploads;
	struct iov *prefixes;
	size_t nprefixes;
	bool truncated;
	struct iov next_marker;
	struct iov next_sub_marker;
};

struct meta_part_list {
	struct meta_upload upload; /* the upload's own record */
	struct meta_part *parts;
	size_t nparts;
	bool truncated;
	uint32_t next_marker; /* NextPartNumberMarker */
};

/*
 * A unit of work for the writer thread or a reader thread (writer.h,
 * reader.h). `run` executes on that thread with its connection, inside a
 * transaction (the writer: a savepoint of the group's transaction); it
 * returns 0 or an ERR_* and keeps its results in *arg. `done` then runs on
 * the same thread with the final result: for the writer, after the group
 * committed (rc 0 means durable) or with the error that undid the job. The
 * job is borrowed from submit until done is called; done may free it.
 */
struct meta_db;
typedef int (*meta_job_fn)(struct meta_db *db, void *arg);
typedef void (*meta_done_fn)(void *arg, int rc);

struct meta_job {
	meta_job_fn run;
	meta_done_fn done;
	void *arg;
	int rc;                /* private */
	struct meta_job *next; /* private */
};

#endif
