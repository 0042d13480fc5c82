/*
 * The replication agent of one store (docs/internals/repl-agent.md): a
 * thread that drains the metadata outbox (meta/repl.h) to every peer of the
 * replication config with SigV4-signed S3 requests on libcurl's multi
 * interface, up to `concurrency` requests in flight per peer over
 * keep-alive connections. A version goes as a PUT (its body streamed from
 * the data files, multipart objects as one body) or, for a delete marker, a
 * DELETE, with the replica headers of s3/server.h so the peer stores it
 * with the source's version id, ETag and Last-Modified.
 *
 * Outcomes: 2xx removes the row (meta_outbox_done); a refusal that will not
 * change by itself (no such bucket, access denied, versioning off at the
 * destination) marks the version FAILED (meta_outbox_fail); anything else is
 * an outage: connection errors, timeouts, 5xx and throttling back off the
 * whole peer (capped exponential, with jitter) and retry forever, leaving
 * the rows as they are; a failure of one object alone (a digest mismatch, a
 * local read error) retries that row later (meta_outbox_retry). Acks go
 * through the metadata writer, so a crash at any point resends at most
 * what was in flight, and the peer applies a resend as a no-op.
 *
 * Threads: start, kick, stop and metrics from any thread; the
 * agent's own thread does the rest.
 */
#ifndef MERIDIAN_REPL_AGENT_H
#define MERIDIAN_REPL_AGENT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/iov.h"
#include "repl/config.h"

struct meta_writer;
struct blob_store;
struct repl_agent;

struct repl_agent_opts {
	const struct repl_config *cfg; /* borrowed for the agent's life */
	const char *db_path;           /* the store's metadata database */
	struct meta_writer *writer;    /* acks and resync rows go through it */
	struct blob_store *blobs;      /* the data files */
};

/* Start the thread. 0, or an error with err saying why. */
int repl_agent_start(const struct repl_agent_opts *o, struct repl_agent **out, char *err,
                     size_t errcap);
/* New rows were committed: look now rather than at the next poll. */
void repl_agent_kick(struct repl_agent *a);
/*
 * Resync bucket toward peer (a peer name; bucket empty: every bucket with
 * rules toward it): list both sides and queue every version the peer lacks.
 * It runs on the agent's resync thread; this only asks. 0, ERR_NOT_FOUND
 * (no such peer), ERR_META_BUSY (too many waiting), ERR_INVALID.
 */
int repl_agent_resync(struct repl_agent *a, struct iov bucket, struct iov peer);
/* The agent's state as a JSON object: peers, counters, the resync. */
int repl_agent_status(struct repl_agent *a, struct buf *json);
/* Append the Prometheus text of the agent's counters. */
int repl_agent_metrics(struct repl_agent *a, struct buf *out);
/* Stop the thread; in-flight requests are dropped and their rows stay
 * queued. Acks already handed to the writer still complete into the agent:
 * shut the writer down before repl_agent_free. NULL: no-op. */
void repl_agent_stop(struct repl_agent *a);
void repl_agent_free(struct repl_agent *a);

#endif
