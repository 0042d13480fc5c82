/*
 * The S3 API of one region's store over the HTTP server: SigV4/SigV4A
 * verification against the users file, the operations of s3/route.h, object
 * bytes through store/blob.h (on libuv's pool), metadata through meta/
 * (one writer thread, a few readers). Answers are S3's, errors S3 XML.
 *
 * Threads: start, reload, drain and stop on the controlling thread. The loop
 * threads never block: disk and SQLite work runs on the pool and meta
 * threads and hops back to the loop.
 */
#ifndef MERIDIAN_S3_SERVER_H
#define MERIDIAN_S3_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repl/config.h"
#include "s3/route.h"

#define S3_DOMAINS_MAX       8
#define S3_PUBLIC_MAX        64
#define S3_ACCESS_POINTS_MAX 64
#define S3_HEALTH_PATH       "/-/health" /* no bucket name can start with '-' */

/*
 * A replica write: a peer's replication agent PUTs (or DELETEs, for a delete
 * marker) with these headers, and the store keeps the source's version id,
 * ETag and Last-Modified (milliseconds since the epoch) and marks the
 * version REPLICA, never to be replicated again. The destination bucket
 * must have versioning enabled; applying a version already stored answers
 * as if it had just been written, so a repeated send is harmless.
 */
#define S3_STORE_ID_HEADER         "x-meridian-store-id" /* on /-/health */
#define S3_REPLICA_VERSION_HEADER  "x-meridian-replica-version-id"
#define S3_REPLICA_ETAG_HEADER     "x-meridian-replica-etag"
#define S3_REPLICA_MODIFIED_HEADER "x-meridian-replica-last-modified"

struct s3_server_config {
	const char *listen;                  /* "ip:port"; NULL: HTTPS only */
	const char *tls_listen;              /* optional HTTPS listener */
	struct net_tls_server *tls;          /* its certificates (borrowed) */
	const char *data_dir;                /* objects, metadata, lock */
	const char *region;                  /* this store's region name */
	const char *credentials;             /* the users file */
	const char *domains[S3_DOMAINS_MAX]; /* virtual-hosted style: bucket.<domain> */
	size_t ndomains;
	/* Buckets anonymous callers may GET and HEAD objects of. */
	const char *public_read[S3_PUBLIC_MAX];
	size_t npublic;
	/* Access point aliases (s3_access_point_parse) and the domains they are
	 * served under (`<alias>.<mrap domain>`). A request through an alias
	 * must be SigV4A with a region set covering `region`, never anonymous,
	 * and only the operations s3_route_alias_allowed lets through. The
	 * slices must outlive the server; aliases must be unique. */
	struct s3_access_point access_points[S3_ACCESS_POINTS_MAX];
	size_t naccess_points;
	const char *mrap_domains[S3_DOMAINS_MAX];
	size_t nmrap_domains;
	/* Replication peers (repl/config.h); NULL or none: no agent runs, and
	 * PutBucketReplication has no peer to name. Borrowed for the life. */
	const struct repl_config *repl;
	/* The access log (s3/access_log.h): NULL none, "-" standard error, else
	 * a file, appended to (created 0640) and reopened by s3_server_reopen_log. */
	const char *access_log;
	unsigned workers; /* loops (1) */
	int64_t max_skew; /* seconds (900) */
};

struct s3_server;

/*
 * Open the data directory (removing interrupted writes and unreferenced
 * files), the metadata database and the users file, then listen. 0, or an
 * error with `err` saying what (a users file error names file:line).
 */
int s3_server_start(const struct s3_server_config *cfg, struct s3_server **out, char *err,
                    size_t errcap);
struct http_server;
/* Its HTTP server: port, drain and drained are http/server.h's. */
struct http_server *s3_server_http(const struct s3_server *s);
/* Re-read the users file (SIGHUP). 0 or an error with `err` (the old users
 * stay in force). */
int s3_server_reload(struct s3_server *s, char *err, size_t errcap);
/* Open the access log file again under its name (SIGHUP, after a rotation
 * moved it); lines go whole to the old file or the new one. 0,
 * ERR_NOT_FOUND without a log file, or an error with `err` (the old file
 * stays in use). */
int s3_server_reopen_log(struct s3_server *s, char *err, size_t errcap);
/*
 * The store's admin listener on `listen`, signed with the keys of
 * `credentials` (http/admin.h): GET /metrics (unsigned; replication gauges
 * per bucket, rule and peer, and the agent's counters), GET /repl/status
 * and POST /repl/resync?peer=NAME[&bucket=B] (docs/replication.md).
 * Stop it before the server. 0, or an error with err saying why.
 */
struct http_admin;
int s3_admin_start(struct s3_server *srv, const char *listen, const char *credentials,
                   struct http_admin **out, char *err, size_t errcap);
/* Stop, finish metadata work, close everything, free. */
void s3_server_stop(struct s3_server *s);

#endif
