/*
 * TLS as a transport (issue 10, docs/internals/net-tls.md): OpenSSL 3 over
 * an inner connection through memory BIOs (the Node.js pattern), so a TLS
 * connection is a struct net_conn like any other and http/ does not know
 * which one it has.
 *
 * Contexts are built on a startup thread and shared by every loop:
 *
 *   server  one or more certificate + key files (ECDSA or RSA; the first
 *           is the default, the others are chosen by SNI against their
 *           DNS names), TLS 1.2 and 1.3 only, ALPN http/1.1, session
 *           resumption (tickets and a session cache). net_tls_server_reload
 *           re-reads the files: connections accepted afterwards use the new
 *           certificates, live ones keep theirs.
 *   client  verification on by default: a CA file, or the system's store,
 *           and the server name checked against the certificate (the name
 *           asked for, not the address connected to); SNI sent; ALPN
 *           http/1.1; TLS 1.2 and 1.3. Verification off must be asked for
 *           (insecure), and the caller logs it. net_tls_client_reload
 *           re-reads the CA file for the connections made afterwards.
 *
 * Threads: contexts are thread-safe once built (a reload swaps the
 * pointer; the old context lives until its last connection ends); a
 * connection belongs to its loop's thread.
 */
#ifndef MERIDIAN_NET_TLS_H
#define MERIDIAN_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/conn.h"

#define NET_TLS_CERTS_MAX 16  /* certificates of one server context */
#define NET_TLS_ERR_LEN   256 /* an error buffer of this size holds any message */

struct net_tls_server;
struct net_tls_client;

struct net_tls_cert {
	const char *cert_file; /* PEM: the certificate, then its chain */
	const char *key_file;  /* PEM: its private key */
};

/* A server context from ncerts (1..NET_TLS_CERTS_MAX) certificates, the
 * first the default. 0 or ERR_TLS_CONFIG with "file: why" in err. */
int net_tls_server_new(const struct net_tls_cert *certs, size_t ncerts, struct net_tls_server **out,
                       char *err, size_t errlen);
/* Read the same files again; on any error nothing changes. Any thread. */
int net_tls_server_reload(struct net_tls_server *s, char *err, size_t errlen);
/* Free once no loop uses it (connections keep what they need). */
void net_tls_server_free(struct net_tls_server *s);

struct net_tls_client_config {
	const char *ca_file; /* PEM bundle; NULL: the system's default store */
	bool insecure;       /* no verification at all (explicit; log it) */
};

/* 0 or ERR_TLS_CONFIG with the reason in err. */
int net_tls_client_new(const struct net_tls_client_config *cfg, struct net_tls_client **out,
                       char *err, size_t errlen);
/* Read the CA file (or the system's store) again, for connections made
 * from now on; the sessions kept for resumption are dropped. On an error
 * nothing changes: ERR_TLS_CONFIG with the reason in err. Any thread. */
int net_tls_client_reload(struct net_tls_client *c, char *err, size_t errlen);
void net_tls_client_free(struct net_tls_client *c);

/*
 * Server side: wrap an accepted connection (the caller gives up `inner`).
 * The returned connection is ready for events at once; the handshake runs
 * as the peer's bytes arrive, and writes made before it ends wait for it.
 * A failed handshake ends the connection (on_end with ERR_TLS_HANDSHAKE).
 * 0 or ERR_NOMEM (inner is then closed).
 */
int net_tls_accept(struct net_tls_server *s, struct net_conn *inner, struct net_conn **out);

/*
 * Client side: wrap a connected `inner` and run the handshake for
 * server_name (SNI, and the name the certificate must carry; an IP
 * literal is checked against the certificate's IP addresses). done runs on
 * the loop thread once: status 0 with the TLS connection (its events are
 * the caller's to set), or ERR_TLS_VERIFY (the certificate was refused:
 * unknown CA, wrong name, expired), ERR_TLS_HANDSHAKE or a network error,
 * with c NULL (inner closed). 0, ERR_INVALID (no server_name while
 * verifying: nothing to check the certificate against) or ERR_NOMEM; then
 * done is not called and inner is closed. The caller's timer bounds the handshake; net_conn_close
 * on the returned connection is not possible before done: cancel with net_tls_connect_cancel.
 */
struct net_tls_connect;
int net_tls_connect(struct net_tls_client *cl, struct net_conn *inner, const char *server_name,
                    void (*done)(void *arg, struct net_conn *c, int status), void *arg,
                    struct net_tls_connect **out);
/* Stop a handshake in progress: done runs with ERR_NET_CLOSED. */
void net_tls_connect_cancel(struct net_tls_connect *pc);

/* What a verification failure was, for logs ("certificate has expired"),
 * of the last failed net_tls_connect on this thread. */
const char *net_tls_last_verify_error(void);

/* Whether c is a TLS connection, and its negotiated version ("TLSv1.3") and
 * whether it resumed a session. */
bool net_tls_is(const struct net_conn *c);
const char *net_tls_version(const struct net_conn *c);
bool net_tls_resumed(const struct net_conn *c);

#endif
