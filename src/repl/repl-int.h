/*
 * Internal to repl/: setting up a curl handle toward a peer (the one place
 * its URL, timeouts and TLS are decided: verification, CA file, TLS 1.2
 * minimum, server name) and signing a request to it, shared by the sender
 * (agent.c), the resync and peer watch (resync.c) and locate.c; naming why
 * a request failed; and the resync's interface to the agent. Any thread, on
 * its own handles.
 */
#ifndef MERIDIAN_REPL_REPL_INT_H
#define MERIDIAN_REPL_REPL_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/sign.h"
#include "base/arena.h"
#include "base/buf.h"
#include "repl/config.h"

#define REPL_HEADERS_MAX 96
#define REPL_REASON_MAX  256 /* a failure's reason (repl__reason), with its NUL */

/* A request's headers as they will be signed and sent. */
struct repl_headers {
	struct auth_header h[REPL_HEADERS_MAX];
	size_t n;
};
void repl__header(struct repl_headers *hs, struct iov name, struct iov value);

/* Milliseconds since the epoch. */
int64_t repl__wall_ms(void);

/* What a prepared handle points into until it is cleaned up: curl copies
 * neither list. Zero it before use; repl__req_free after
 * curl_easy_cleanup (or curl_multi_remove_handle). */
struct repl_req {
	struct curl_slist *headers;
	struct curl_slist *connect_to; /* server_name -> the endpoint's address */
	char errbuf[CURL_ERROR_SIZE];  /* curl's message for the last failure */
};
void repl__req_free(struct repl_req *q);

/*
 * Point h at peer pc: the URL (scheme, authority, then `target`, a path
 * with its query), allowed protocols (only the endpoint's scheme),
 * NOSIGNAL, the connect timeout and the no-progress limit of the peer's
 * timeout, the error buffer q->errbuf, and for https: TLS 1.2 at least,
 * peer and host verification (off only with insecure_skip_verify), the
 * peer's ca_file instead of the system store, and when server_name is set,
 * the URL naming it while connecting to the endpoint's host and port (so
 * the certificate is checked for that name). Every handle toward a peer is
 * set up here. Strings live in `a`; lists in *q. 0, ERR_NOMEM, or
 * ERR_TLS_CONFIG (this libcurl refused a TLS option).
 */
int repl__peer_curl(CURL *h, const struct repl_peer *pc, struct iov target, struct arena *a,
                    struct repl_req *q);

/*
 * Sign method path?query (path percent-encoded, query canonical-ready) with
 * the peer's keys (SigV4, its region, "s3"; payload_hash as sent in
 * x-amz-content-sha256), then set up h by repl__peer_curl with the headers
 * (q->headers). The Host header (pc->authority) is added here. Strings live
 * in the arena. 0 or an ERR_*.
 */
int repl__prepare(CURL *h, const struct repl_peer *pc, struct iov method, struct iov path,
                  struct iov query, struct repl_headers *hs, struct iov payload_hash,
                  struct auth_keycache *keys, struct arena *a, struct repl_req *q);

/* Whether a curl result is a TLS failure (handshake, verification, CA file). */
bool repl__tls_failure(CURLcode res);
/*
 * Why a request to a peer failed, worded so that the same cause gives the
 * same text every time (it is logged once per change): "TLS: " and curl's
 * message for TLS failures (which names the certificate problem), curl's
 * text for its code otherwise (no addresses or times), "HTTP <status>" for
 * an answer (res CURLE_OK). Into out (cap bytes, NUL-terminated).
 */
void repl__reason(CURLcode res, const struct repl_req *q, long status, char *out, size_t cap);

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
