/*
 * Byte-stream connections behind a transport ops table (plain TCP now; TLS
 * slots in as another table). Loop thread only. The owner sets the events
 * with net_conn_set_events, starts reading, writes with completion
 * callbacks, and closes; the connection frees itself after on_close.
 */
#ifndef MERIDIAN_NET_CONN_H
#define MERIDIAN_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "net/loop.h"

struct net_conn;

struct net_conn_events {
	/* Bytes arrived; borrowed for the call only. */
	void (*on_read)(void *arg, const char *p, size_t n);
	/* No more bytes will arrive: 0 when the peer closed its side cleanly,
	 * else ERR_NET_RESET/ERR_IO. Reading has stopped. */
	void (*on_end)(void *arg, int status);
	/* The connection is closed; it is freed right after this returns. */
	void (*on_close)(void *arg);
};

/* A transport: how a connection reads, writes and closes. */
struct net_transport {
	const char *name;
	int (*read_start)(struct net_conn *c);
	void (*read_stop)(struct net_conn *c);
	int (*write)(struct net_conn *c, const struct iov *bufs, size_t n,
	             void (*done)(void *arg, int status), void *arg);
	void (*shutdown)(struct net_conn *c); /* half-close after pending writes */
	void (*close)(struct net_conn *c);
	size_t (*write_queue)(const struct net_conn *c);
	void (*peer)(const struct net_conn *c, char *out, size_t cap);
	/* Optional: a file body without a copy (see net_conn_sendfile). */
	int (*sendfile)(struct net_conn *c, const struct iov *prefix, size_t np, int fd,
	                uint64_t off, uint64_t len, void (*done)(void *arg, int status), void *arg);
};

void net_conn_set_events(struct net_conn *c, const struct net_conn_events *ev, void *arg);
int net_conn_read_start(struct net_conn *c);
void net_conn_read_stop(struct net_conn *c);
/*
 * Queue bufs for writing; they must stay valid until done(arg, status) runs
 * (status 0 or ERR_*). done is never called from inside net_conn_write.
 * 0 or an error (then done is not called).
 */
int net_conn_write(struct net_conn *c, const struct iov *bufs, size_t n,
                   void (*done)(void *arg, int status), void *arg);
/*
 * Write prefix (up to 2 buffers, such as a response head) and then `len`
 * bytes of file `fd` from offset `off`, after anything queued before. The
 * prefix and fd are borrowed until done(arg, status) runs: 0, ERR_IO (the
 * file ended early or could not be read), ERR_NET_RESET, ERR_NET_CLOSED.
 * One file at a time per connection; writes asked for meanwhile go out after
 * it, in order. TCP moves the bytes with sendfile(2) (a page-cache miss
 * blocks the loop for the read, as nginx's sendfile does); other transports
 * copy through a buffer. done is never called from inside this call.
 */
int net_conn_sendfile(struct net_conn *c, const struct iov *prefix, size_t np, int fd, uint64_t off,
                      uint64_t len, void (*done)(void *arg, int status), void *arg);
void net_conn_shutdown(struct net_conn *c);
/* Close now; pending writes fail; on_close follows. Idempotent. */
void net_conn_close(struct net_conn *c);
/* Bytes queued but not yet handed to the kernel. */
size_t net_conn_write_queue(const struct net_conn *c);
struct net_loop *net_conn_loop(const struct net_conn *c);
/* "ip:port" of the peer, for logs (NUL-terminated, truncated to cap). */
void net_conn_peer(const struct net_conn *c, char *out, size_t cap);
/* The address part of such a peer string ("1.2.3.4:5" -> "1.2.3.4",
 * "[::1]:5" -> "::1"); the whole string when it has no port. */
struct iov net_peer_ip(struct iov peer);
const char *net_conn_transport(const struct net_conn *c);

#endif
