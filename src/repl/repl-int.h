/*
 * Internal to repl/: signing a request to a peer and setting up its curl
 * handle (shared by the sender in agent.c and the resync in resync.c), and
 * the resync's interface to the agent. Any thread, on its own handles.
 */
#ifndef MERIDIAN_REPL_REPL_INT_H
#define MERIDIAN_REPL_REPL_INT_H

#include <curl/curl.h>
#include <stdint.h>

#include "auth/sign.h"
#include "base/arena.h"
#include "base/buf.h"
#include "repl/config.h"

#define REPL_HEADERS_MAX 96

/* A request's headers as they will be signed and sent. */
struct repl_headers {
	struct auth_header h[REPL_HEADERS_MAX];
	size_t n;
};
void repl__header(struct repl_headers *hs, struct iov name, struct iov value);

/* Milliseconds since the epoch. */
int64_t repl__wall_ms(void);

/*
 * Sign method path?query (path percent-encoded, query canonical-ready) with
 * the peer's keys (SigV4, its region, "s3"; payload_hash as sent in
 * x-amz-content-sha256), then set curl handle h's URL, headers (*list, freed
 * by the caller with curl_slist_free_all), timeouts and protocols. The Host
 * header is added here. Strings live in the arena. 0 or an ERR_*.
 */
int repl__prepare(CURL *h, const struct repl_peer *pc, struct iov method, struct iov path,
                  struct iov query, struct repl_headers *hs, struct iov payload_hash,
                  struct auth_keycache *keys, struct arena *a, struct curl_slist **list);

/* "/bucket/key" percent-encoded as S3 signs it (key empty: "/bucket"). */
struct iov repl__path(struct arena *a, struct iov bucket, struct iov key);

struct meta_writer;
struct repl_resync;
/* The resync and peer-watch thread (resync.c). kick(arg) wakes the sender
 * after rows were queued. */
int repl__resync_start(const struct repl_config *cfg, const char *db_path,
                       struct meta_writer *writer, void (*kick)(void *), void *kick_arg,
                       struct repl_resync **out);
int repl__resync_request(struct repl_resync *r, struct iov bucket, struct iov peer);
int repl__resync_status(struct repl_resync *r, struct buf *json);
void repl__resync_stop(struct repl_resync *r);

#endif
