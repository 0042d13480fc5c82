/*
 * Internals of deploy/up shared by its files: a blocking loopback HTTP/1.1
 * exchange (one request per connection, optionally SigV4-signed with
 * auth/sign.h), and the state directory's file names. Main thread of the
 * CLI process only.
 */
#ifndef MERIDIAN_DEPLOY_UP_INT_H
#define MERIDIAN_DEPLOY_UP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

#define DEPLOY_UP_BODY_MAX (1u << 20) /* bytes of an answer kept */
#define DEPLOY_UP_KEY_MAX  128        /* an access key id or secret */
#define DEPLOY_UP_PATH_MAX 1024

struct deploy_up_sign {
	const char *access_key, *secret_key;
	const char *region; /* SigV4 region */
};

/*
 * One exchange with 127.0.0.1:port: `method` `target` (origin-form, already
 * percent-encoded), Host `host`, body p/n, signed when `sign` is not NULL
 * (service s3, the body's hash in x-amz-content-sha256). Waits at most
 * timeout_ms for each of connect, send and each read. *status gets the
 * answer's status; `body` (may be NULL) its body (capped at
 * DEPLOY_UP_BODY_MAX). 0, or ERR_UP_HTTP (cannot connect, no answer) /
 * ERR_NOMEM / a signing error.
 */
int deploy__http(uint16_t port, const char *method, const char *target, const char *host,
                 const struct deploy_up_sign *sign, const void *p, size_t n, uint32_t timeout_ms,
                 int *status, struct buf *body);

/* Whether 127.0.0.1:port accepts a TCP connection now. */
bool deploy__tcp_accepts(uint16_t port);

/* Whether 127.0.0.1:port can be bound now (nothing listens on it). */
bool deploy__port_free(uint16_t port);

/* Whether `pid` runs `meridian up` (its argv[1] is "up"): a stale up.pid
 * whose pid was reused names another process, which is never signalled. */
bool deploy__is_supervisor(int pid);
/* The pid in STATE/up.pid when that process is alive and runs `up`, else 0. */
pid_t deploy__supervisor_pid(const char *state);

/* Percent-encode a key for a path (unreserved characters and '/' kept)
 * into out[cap]. 0 or ERR_TOO_BIG. */
int deploy__path_encode(const char *key, char *out, size_t cap);

#endif
