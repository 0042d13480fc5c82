/*
 * Listening sockets. With reuseport, several loops each listen on the same
 * address and the kernel spreads connections among them (SO_REUSEPORT).
 * Loop thread only.
 */
#ifndef MERIDIAN_NET_LISTEN_H
#define MERIDIAN_NET_LISTEN_H

#include <stdbool.h>

#include "net/conn.h"

struct net_listener;

/* Parse "ip:port" or "[ipv6]:port" (numeric only; no name lookups on a
 * loop). Fills a sockaddr_storage given as opaque bytes. 0 or ERR_INVALID. */
int net_parse_addr(const char *text, void *sockaddr_storage, unsigned *len);

/*
 * Listen on `addr` (port 0 picks a free port; see net_listener_port). Each
 * accepted connection (a plain TCP transport) is handed to on_accept, which
 * must set its events. 0, ERR_INVALID (bad address) or ERR_IO (bind/listen
 * failed; errno-level detail goes to the log).
 */
int net_listen(struct net_loop *l, const char *addr, bool reuseport,
               void (*on_accept)(void *arg, struct net_conn *c), void *arg,
               struct net_listener **out);
/* The bound port. */
int net_listener_port(const struct net_listener *ls);
/* Stop accepting and free (after the loop closes the socket). */
void net_listener_close(struct net_listener *ls);

/*
 * Connect to `addr` ("ip:port" or "[ipv6]:port"). done(arg, conn, status)
 * runs on the loop thread: status 0 with a connection (a plain TCP
 * transport) whose events the caller sets, or an error (ERR_NET_REFUSED,
 * ERR_NET_TIMEOUT, ERR_IO) and conn NULL. Returns 0 or ERR_INVALID (bad
 * address; done is not called). Connect timeouts are the caller's timer;
 * net_connect_cancel stops a pending attempt (done then runs with
 * ERR_NET_CLOSED).
 */
struct net_connect;
int net_connect(struct net_loop *l, const char *addr,
                void (*done)(void *arg, struct net_conn *c, int status), void *arg,
                struct net_connect **out);
void net_connect_cancel(struct net_connect *pc);

#endif
