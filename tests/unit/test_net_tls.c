/*
 * net/tls over real loopback sockets on a net loop: handshakes (TLS 1.3 by
 * our client, TLS 1.2 by a raw OpenSSL client on a thread), ALPN, SNI,
 * verification (unknown CA, wrong name, expired, IP literals, insecure),
 * session resumption, large transfers with backpressure both ways, writes
 * queued before the handshake, half-close, close with pending writes,
 * reload, garbage ClientHellos, and cancelled handshakes. Certificates are
 * made here with OpenSSL's API, in a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/mem.h"
#include "net/timer.h"
#include "net/tls.h"

/* ---- certificates ---- */

enum { SERIAL_A = 101, SERIAL_B = 102, SERIAL_OLD = 103, SERIAL_OTHER = 104, SERIAL_IPONLY = 105 };

struct pki {
	char dir[64];
	X509 *ca1, *ca2;
	EVP_PKEY *ca1_key, *ca2_key;
	/* leaf certificates and their keys */
	X509 *a, *b, *old, *other, *iponly;
	EVP_PKEY *a_key, *b_key, *old_key, *other_key, *iponly_key;
};

static struct pki pki;

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", pki.dir, name);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, signed by issuer (NULL: self-signed CA), valid
 * from now + nb_days to now + na_days. */
static X509 *make_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *cn,
                       const char *san, long serial, long nb_days, long na_days)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), nb_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), na_days * 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (!issuer) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	assert_true(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
	char path[128];
	path_of(path, sizeof(path), name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (key)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* name.crt and name.key for a leaf. */
static void write_pair(const char *name, X509 *x, EVP_PKEY *key)
{
	char n[64];
	snprintf(n, sizeof(n), "%s.crt", name);
	write_pem(n, x, NULL);
	snprintf(n, sizeof(n), "%s.key", name);
	write_pem(n, NULL, key);
}

static int pki_setup(void **state)
{
	(void)state;
	snprintf(pki.dir, sizeof(pki.dir), "/tmp/meridian-tls-XXXXXX");
	if (!mkdtemp(pki.dir))
		return -1;
	pki.ca1_key = EVP_EC_gen("P-256");
	pki.ca2_key = EVP_EC_gen("P-256");
	pki.ca1 = make_cert(pki.ca1_key, NULL, NULL, "Test CA One", NULL, 1, -1, 3650);
	pki.ca2 = make_cert(pki.ca2_key, NULL, NULL, "Test CA Two", NULL, 2, -1, 3650);
	pki.a_key = EVP_EC_gen("P-256");
	pki.b_key = EVP_RSA_gen(2048); /* RSA beside ECDSA */
	pki.old_key = EVP_EC_gen("P-256");
	pki.other_key = EVP_EC_gen("P-256");
	pki.iponly_key = EVP_EC_gen("P-256");
	pki.a = make_cert(pki.a_key, pki.ca1, pki.ca1_key, "a.test", "DNS:a.test,IP:127.0.0.1",
	                  SERIAL_A, -1, 365);
	pki.b = make_cert(pki.b_key, pki.ca1, pki.ca1_key, "b.test", "DNS:b.test,DNS:*.w.test",
	                  SERIAL_B, -1, 365);
	pki.old = make_cert(pki.old_key, pki.ca1, pki.ca1_key, "a.test", "DNS:a.test", SERIAL_OLD,
	                    -30, -1);
	pki.other = make_cert(pki.other_key, pki.ca2, pki.ca2_key, "a.test",
	                      "DNS:a.test,IP:127.0.0.1", SERIAL_OTHER, -1, 365);
	pki.iponly = make_cert(pki.iponly_key, pki.ca1, pki.ca1_key, "ip", "IP:127.0.0.2",
	                       SERIAL_IPONLY, -1, 365);
	write_pem("ca1.crt", pki.ca1, NULL);
	write_pem("ca2.crt", pki.ca2, NULL);
	write_pair("a", pki.a, pki.a_key);
	write_pair("b", pki.b, pki.b_key);
	write_pair("old", pki.old, pki.old_key);
	write_pair("other", pki.other, pki.other_key);
	write_pair("iponly", pki.iponly, pki.iponly_key);
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	X509 *xs[] = { pki.ca1, pki.ca2, pki.a, pki.b, pki.old, pki.other, pki.iponly };
	EVP_PKEY *ks[] = { pki.ca1_key, pki.ca2_key,   pki.a_key,     pki.b_key,
		           pki.old_key, pki.other_key, pki.iponly_key };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		X509_free(xs[i]);
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		EVP_PKEY_free(ks[i]);
	const char *files[] = { "ca1.crt",    "ca2.crt",    "a.crt",      "a.key",     "b.crt",
		                "b.key",      "old.crt",    "old.key",    "other.crt", "other.key",
		                "iponly.crt", "iponly.key", "reload.crt", "reload.key" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[128];
		path_of(path, sizeof(path), files[i]);
		unlink(path);
	}
	rmdir(pki.dir);
	return 0;
}

/* A server context from leaf names ("a", "b"): a first, the default. */
static struct net_tls_server *server_of(const char *const *names, size_t n)
{
	char crt[NET_TLS_CERTS_MAX][128], key[NET_TLS_CERTS_MAX][128];
	struct net_tls_cert certs[NET_TLS_CERTS_MAX];
	for (size_t i = 0; i < n; i++) {
		snprintf(crt[i], sizeof(crt[i]), "%s/%s.crt", pki.dir, names[i]);
		snprintf(key[i], sizeof(key[i]), "%s/%s.key", pki.dir, names[i]);
		certs[i] = (struct net_tls_cert){ crt[i], key[i] };
	}
	struct net_tls_server *s;
	char err[NET_TLS_ERR_LEN];
	int rc = net_tls_server_new(certs, n, &s, err, sizeof(err));
	if (rc)
		fail_msg("server context: %s", err);
	return s;
}

static struct net_tls_client *client_of(const char *ca, bool insecure)
{
	char path[128];
	if (ca)
		path_of(path, sizeof(path), ca);
	struct net_tls_client_config cfg = { ca ? path : NULL, insecure };
	struct net_tls_client *c;
	char err[NET_TLS_ERR_LEN];
	int rc = net_tls_client_new(&cfg, &c, err, sizeof(err));
	if (rc)
		fail_msg("client context: %s", err);
	return c;
}

/* ---- a pattern for large transfers ---- */

#define PATTERN_LEN (8u << 20)
static char *pattern;

static void pattern_init(void)
{
	if (pattern)
		return;
	pattern = malloc(PATTERN_LEN);
	assert_non_null(pattern);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < PATTERN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (char)(x & 0xff);
	}
}

/* ---- the rig: a loop, a TLS listener, our clients ---- */

#define SIDES_MAX 16
#define GOT_MAX   (64 * 1024)
#define ORDER_MAX 64
#define ECHO_HIGH (1u << 20)
#define ECHO_LOW  (256u << 10)
#define GUARD_MS  30000

struct rig;

struct side {
	struct rig *g;
	struct net_conn *c;
	bool server;
	/* client */
	struct net_tls_client *cl;
	const char *name;
	struct net_tls_connect *pc;
	bool connected;
	int connect_status;
	char verify_error[128];
	/* reading */
	bool no_read;      /* do not start reading */
	bool echo;         /* write back what arrives (server) */
	bool echo_paused;  /* reading stopped by echo backpressure */
	bool check_stream; /* compare what arrives with the pattern */
	bool stream_bad;
	size_t nread;
	char got[GOT_MAX];
	size_t got_len;
	int ends, end_status;
	bool keep_on_end; /* do not close on end */
	bool closed;
	/* writes */
	unsigned writes, dones, bad_dones, sync_dones;
	unsigned order[ORDER_MAX];
	int statuses[ORDER_MAX];
	bool in_write;
	unsigned dones_at_close;
};

struct rig {
	struct net_loop *loop;
	struct net_listener *ls;
	struct net_timer *guard;
	struct net_tls_server *tls;
	int port;
	bool plain; /* the listener does not speak TLS (captures bytes) */
	struct side srv[SIDES_MAX], cli[SIDES_MAX];
	size_t nsrv, ncli;
	bool (*until)(struct rig *g);
	void (*on_server)(struct side *s); /* right after accept (before the handshake) */
	void (*on_client)(struct side *s); /* right after the handshake */
	void (*on_read)(struct side *s, const char *p, size_t n);
	void (*on_end)(struct side *s, int status);
	void *user;
};

static void poke(struct rig *g)
{
	if (g->until && g->until(g))
		net_loop_stop(g->loop);
}

struct wrec {
	struct side *s;
	unsigned idx;
	char *own; /* freed when done */
};

static void write_done(void *arg, int status)
{
	struct wrec *w = arg;
	struct side *s = w->s;
	if (s->in_write)
		s->sync_dones++;
	if (s->dones < ORDER_MAX) {
		s->order[s->dones] = w->idx;
		s->statuses[s->dones] = status;
	}
	s->dones++;
	if (status)
		s->bad_dones++;
	free(w->own);
	free(w);
	if (s->echo_paused && s->c && net_conn_write_queue(s->c) < ECHO_LOW) {
		s->echo_paused = false;
		net_conn_read_start(s->c);
	}
	poke(s->g);
}

/* Write p (own: take ownership and free when done). 0 or the error. */
static int side_write(struct side *s, const char *p, size_t n, bool own)
{
	struct wrec *w = malloc(sizeof(*w));
	assert_non_null(w);
	*w = (struct wrec){ s, s->writes, own ? (char *)p : NULL };
	struct iov v = iov_make(p, n);
	s->in_write = true;
	int rc = net_conn_write(s->c, &v, 1, write_done, w);
	s->in_write = false;
	if (rc) {
		free(w->own);
		free(w);
		return rc;
	}
	s->writes++;
	return 0;
}

static int side_write_str(struct side *s, const char *text)
{
	size_t n = strlen(text);
	char *copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, text, n);
	return side_write(s, copy, n, true);
}

static void side_close(struct side *s)
{
	if (s->c && !s->closed)
		net_conn_close(s->c);
}

static void side_read(void *arg, const char *p, size_t n)
{
	struct side *s = arg;
	if (s->check_stream) {
		if (s->nread + n > PATTERN_LEN || memcmp(p, pattern + s->nread, n) != 0)
			s->stream_bad = true;
	} else {
		size_t take = n < GOT_MAX - s->got_len ? n : GOT_MAX - s->got_len;
		memcpy(s->got + s->got_len, p, take);
		s->got_len += take;
	}
	s->nread += n;
	if (s->echo) {
		char *copy = malloc(n);
		assert_non_null(copy);
		memcpy(copy, p, n);
		assert_int_equal(side_write(s, copy, n, true), 0);
		if (net_conn_write_queue(s->c) > ECHO_HIGH) {
			s->echo_paused = true;
			net_conn_read_stop(s->c);
		}
	}
	if (s->g->on_read)
		s->g->on_read(s, p, n);
	poke(s->g);
}

static void side_end(void *arg, int status)
{
	struct side *s = arg;
	s->ends++;
	s->end_status = status;
	if (s->g->on_end)
		s->g->on_end(s, status);
	else if (!s->keep_on_end)
		side_close(s);
	poke(s->g);
}

static void side_closed(void *arg)
{
	struct side *s = arg;
	s->closed = true;
	s->dones_at_close = s->dones;
	s->c = NULL;
	poke(s->g);
}

static const struct net_conn_events side_events = { side_read, side_end, side_closed };

static void on_accept(void *arg, struct net_conn *inner)
{
	struct rig *g = arg;
	assert_true(g->nsrv < SIDES_MAX);
	struct side *s = &g->srv[g->nsrv++];
	s->g = g;
	s->server = true;
	if (g->plain) {
		s->c = inner;
	} else {
		assert_int_equal(net_tls_accept(g->tls, inner, &s->c), 0);
		assert_true(net_tls_is(s->c));
		s->echo = true;
	}
	net_conn_set_events(s->c, &side_events, s);
	if (g->on_server)
		g->on_server(s);
	if (!s->no_read && s->c)
		net_conn_read_start(s->c);
	poke(g);
}

static void on_guard(void *arg)
{
	(void)arg;
	fail_msg("the loop did not reach the expected state in time");
}

static void rig_start(struct rig *g, struct net_tls_server *tls)
{
	memset(g, 0, sizeof(*g));
	g->tls = tls;
	g->plain = tls == NULL;
	assert_int_equal(net_loop_new(&g->loop), 0);
	assert_int_equal(net_listen(g->loop, "127.0.0.1:0", false, on_accept, g, &g->ls), 0);
	g->port = net_listener_port(g->ls);
	assert_int_equal(net_timer_new(g->loop, on_guard, g, &g->guard), 0);
}

static void rig_run(struct rig *g, bool (*until)(struct rig *g))
{
	g->until = until;
	if (until(g))
		return;
	net_timer_start(g->guard, GUARD_MS, 0);
	net_loop_run(g->loop);
	net_timer_stop(g->guard);
	assert_true(until(g));
}

/* Close everything, free the loop, check every side saw on_close last. */
static void rig_free(struct rig *g)
{
	for (size_t i = 0; i < g->ncli; i++) {
		if (g->cli[i].pc)
			net_tls_connect_cancel(g->cli[i].pc);
		side_close(&g->cli[i]);
	}
	for (size_t i = 0; i < g->nsrv; i++)
		side_close(&g->srv[i]);
	net_timer_free(g->guard);
	net_listener_close(g->ls);
	net_loop_free(g->loop);
	for (size_t i = 0; i < g->nsrv; i++) {
		assert_true(g->srv[i].closed);
		assert_int_equal(g->srv[i].dones_at_close, g->srv[i].writes);
		assert_int_equal(g->srv[i].sync_dones, 0);
	}
	for (size_t i = 0; i < g->ncli; i++) {
		if (g->cli[i].connect_status == 0 && g->cli[i].connected)
			assert_true(g->cli[i].closed);
		assert_int_equal(g->cli[i].dones_at_close, g->cli[i].writes);
		assert_int_equal(g->cli[i].sync_dones, 0);
	}
	net_tls_server_free(g->tls);
}

static void on_tls_connected(void *arg, struct net_conn *c, int status)
{
	struct side *s = arg;
	assert_false(s->connected); /* exactly once */
	s->pc = NULL;
	s->connected = true;
	s->connect_status = status;
	if (status) {
		assert_null(c);
		snprintf(s->verify_error, sizeof(s->verify_error), "%s",
		         net_tls_last_verify_error());
		poke(s->g);
		return;
	}
	assert_non_null(c);
	s->c = c;
	net_conn_set_events(c, &side_events, s);
	if (!s->no_read)
		assert_int_equal(net_conn_read_start(c), 0);
	if (s->g->on_client)
		s->g->on_client(s);
	poke(s->g);
}

static void on_tcp_connected(void *arg, struct net_conn *c, int status)
{
	struct side *s = arg;
	if (status) {
		s->connected = true;
		s->connect_status = status;
		poke(s->g);
		return;
	}
	if (!s->cl) { /* a plain TCP client */
		s->connected = true;
		s->c = c;
		net_conn_set_events(c, &side_events, s);
		if (!s->no_read)
			net_conn_read_start(c);
		if (s->g->on_client)
			s->g->on_client(s);
		poke(s->g);
		return;
	}
	int rc = net_tls_connect(s->cl, c, s->name, on_tls_connected, s, &s->pc);
	assert_int_equal(rc, 0);
	assert_false(s->connected); /* done never runs inside net_tls_connect */
}

/* Start a client toward the rig's port (cl NULL: plain TCP). */
static struct side *rig_connect(struct rig *g, struct net_tls_client *cl, const char *name)
{
	assert_true(g->ncli < SIDES_MAX);
	struct side *s = &g->cli[g->ncli++];
	s->g = g;
	s->cl = cl;
	s->name = name;
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", g->port);
	assert_int_equal(net_connect(g->loop, addr, on_tcp_connected, s, NULL), 0);
	return s;
}

static bool last_connected(struct rig *g)
{
	return g->ncli > 0 && g->cli[g->ncli - 1].connected;
}

static bool last_got_ping(struct rig *g)
{
	struct side *s = &g->cli[g->ncli - 1];
	return s->connected && (s->connect_status || s->got_len >= 4);
}

/* Connect, send "ping", wait for the echo; returns the client side. */
static struct side *ping(struct rig *g, struct net_tls_client *cl, const char *name)
{
	struct side *s = rig_connect(g, cl, name);
	rig_run(g, last_connected);
	if (s->connect_status)
		return s;
	assert_int_equal(side_write_str(s, "ping"), 0);
	rig_run(g, last_got_ping);
	assert_memory_equal(s->got, "ping", 4);
	return s;
}

/* ---- handshakes, ALPN, versions ---- */

static void test_handshake_tls13_and_echo(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = ping(&g, cl, "a.test");
	assert_int_equal(c->connect_status, 0);
	assert_true(net_tls_is(c->c));
	assert_string_equal(net_tls_version(c->c), "TLSv1.3");
	assert_string_equal(net_conn_transport(c->c), "tls");
	assert_int_equal(g.nsrv, 1);
	assert_string_equal(net_tls_version(g.srv[0].c), "TLSv1.3");
	assert_false(net_tls_resumed(c->c));
	char peer[64];
	net_conn_peer(g.srv[0].c, peer, sizeof(peer));
	assert_true(strncmp(peer, "127.0.0.1:", 10) == 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* A raw OpenSSL client on its own thread, blocking sockets. */
struct raw {
	struct net_loop *loop;
	int port;
	const char *sni;
	int max_version;
	const unsigned char *alpn;
	unsigned alpn_len;
	SSL_SESSION *session; /* in: to resume; out: the new one */
	int cut;              /* after the echo: 1 half a record then EOF, 2 a reset */
	/* out */
	bool ok;
	char version[16];
	char alpn_sel[32];
	long serial;
	bool reused;
	char echo[8];
};

static void *raw_run(void *arg)
{
	struct raw *r = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	if (fd < 0 || !ctx || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	if (r->max_version)
		SSL_CTX_set_max_proto_version(ctx, r->max_version);
	if (r->max_version && r->max_version < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0); /* so that it really offers TLS 1.1 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* no internal cache: freeing the context would mark its sessions
	 * not resumable */
	if (r->alpn)
		SSL_CTX_set_alpn_protos(ctx, r->alpn, r->alpn_len);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (r->sni)
		SSL_set_tlsext_host_name(ssl, r->sni);
	if (r->session)
		SSL_set_session(ssl, r->session);
	SSL_SESSION_free(r->session);
	r->session = NULL;
	if (SSL_connect(ssl) != 1)
		goto out;
	snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(ssl));
	const unsigned char *sel;
	unsigned sel_len;
	SSL_get0_alpn_selected(ssl, &sel, &sel_len);
	snprintf(r->alpn_sel, sizeof(r->alpn_sel), "%.*s", (int)sel_len, (const char *)sel);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	r->serial = peer ? ASN1_INTEGER_get(X509_get_serialNumber(peer)) : -1;
	r->reused = SSL_session_reused(ssl);
	if (SSL_write(ssl, "ping", 4) != 4)
		goto out;
	size_t got = 0;
	while (got < 4) {
		int n = SSL_read(ssl, r->echo + got, (int)(4 - got));
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	r->session = SSL_get1_session(ssl); /* after a read: TLS 1.3 tickets are in */
	r->ok = memcmp(r->echo, "ping", 4) == 0;
	if (r->cut == 1) {
		static const char half[] = "\x17\x03\x03\x00\x40"
		                           "0123456789";
		if (write(fd, half, sizeof(half) - 1) != (ssize_t)(sizeof(half) - 1))
			r->ok = false;
	} else if (r->cut == 2) {
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		SSL_shutdown(ssl);
	}
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	net_loop_stop(r->loop);
	return NULL;
}

static bool never(struct rig *g)
{
	(void)g;
	return false;
}

/* Run one raw client against the rig (the loop serves it). */
static void raw_go(struct rig *g, struct raw *r)
{
	r->loop = g->loop;
	r->port = g->port;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, raw_run, r), 0);
	g->until = never;
	net_timer_start(g->guard, GUARD_MS, 0);
	net_loop_run(g->loop);
	net_timer_stop(g->guard);
	pthread_join(th, NULL);
}

static const unsigned char alpn_h2_h11[] = {
	2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'
};
static const unsigned char alpn_h2[] = { 2, 'h', '2' };

static void test_tls12_raw_client_alpn(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a", "b" };
	rig_start(&g, server_of(names, 2));
	struct raw r12 = { .sni = "a.test",
		           .max_version = TLS1_2_VERSION,
		           .alpn = alpn_h2_h11,
		           .alpn_len = sizeof(alpn_h2_h11) };
	raw_go(&g, &r12);
	assert_true(r12.ok);
	assert_string_equal(r12.version, "TLSv1.2");
	assert_string_equal(r12.alpn_sel, "http/1.1");
	assert_int_equal(r12.serial, SERIAL_A);
	/* TLS 1.2 to the RSA certificate, by SNI */
	struct raw rb = { .sni = "b.test",
		          .max_version = TLS1_2_VERSION,
		          .alpn = alpn_h2_h11,
		          .alpn_len = sizeof(alpn_h2_h11) };
	raw_go(&g, &rb);
	assert_true(rb.ok);
	assert_string_equal(rb.version, "TLSv1.2");
	assert_int_equal(rb.serial, SERIAL_B);
	assert_string_equal(rb.alpn_sel, "http/1.1"); /* the SNI-chosen context selects too */
	/* 1.3 with ALPN */
	struct raw r13 = { .sni = "a.test", .alpn = alpn_h2_h11, .alpn_len = sizeof(alpn_h2_h11) };
	raw_go(&g, &r13);
	assert_true(r13.ok);
	assert_string_equal(r13.version, "TLSv1.3");
	assert_string_equal(r13.alpn_sel, "http/1.1");
	/* a client offering only h2 is refused (we speak http/1.1 only) */
	struct raw rh2 = { .sni = "a.test", .alpn = alpn_h2, .alpn_len = sizeof(alpn_h2) };
	raw_go(&g, &rh2);
	assert_false(rh2.ok);
	assert_string_equal(rh2.version, "");
	/* TLS 1.1 and lower are refused */
	struct raw r11 = { .sni = "a.test", .max_version = TLS1_1_VERSION };
	raw_go(&g, &r11);
	assert_false(r11.ok);
	/* no ALPN at all is fine */
	struct raw rno = { .sni = "a.test" };
	raw_go(&g, &rno);
	assert_true(rno.ok);
	assert_string_equal(rno.alpn_sel, "");
	rig_free(&g);
	SSL_SESSION_free(r12.session);
	SSL_SESSION_free(rb.session);
	SSL_SESSION_free(r13.session);
	SSL_SESSION_free(rno.session);
}

static void test_sni_picks_certificate(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a", "b" };
	rig_start(&g, server_of(names, 2));
	struct {
		const char *sni;
		long serial;
	} cases[] = {
		{ "b.test", SERIAL_B }, { "B.TEST", SERIAL_B },    { "x.w.test", SERIAL_B },
		{ "a.test", SERIAL_A }, { "nope.test", SERIAL_A }, { "y.x.w.test", SERIAL_A },
		{ NULL, SERIAL_A },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw r = { .sni = cases[i].sni };
		raw_go(&g, &r);
		assert_true(r.ok);
		if (r.serial != cases[i].serial)
			fail_msg("SNI %s: served serial %ld, want %ld",
			         cases[i].sni ? cases[i].sni : "(none)", r.serial, cases[i].serial);
		SSL_SESSION_free(r.session);
	}
	/* our client: verification of b.test passes only on the second certificate */
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = ping(&g, cl, "b.test");
	assert_int_equal(c->connect_status, 0);
	c = ping(&g, cl, "x.w.test");
	assert_int_equal(c->connect_status, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* ---- verification ---- */

static bool server_closed_all(struct rig *g)
{
	for (size_t i = 0; i < g->nsrv; i++)
		if (!g->srv[i].closed)
			return false;
	return last_connected(g);
}

/* One refused connection: status and the verify text. */
static void expect_refused(const char *const *certs, size_t ncerts, const char *ca,
                           const char *name, int status, const char *why)
{
	struct rig g;
	rig_start(&g, server_of(certs, ncerts));
	struct net_tls_client *cl = client_of(ca, false);
	struct side *c = rig_connect(&g, cl, name);
	rig_run(&g, server_closed_all);
	assert_int_equal(c->connect_status, status);
	if (why && !strstr(c->verify_error, why))
		fail_msg("%s: verify error \"%s\", want \"%s\"", name, c->verify_error, why);
	/* the server saw a failed handshake and closed */
	assert_int_equal(g.nsrv, 1);
	assert_int_equal(g.srv[0].ends, 1);
	assert_int_not_equal(g.srv[0].end_status, 0);
	assert_int_equal(g.srv[0].nread, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

static void test_verify_failures(void **state)
{
	(void)state;
	const char *a[] = { "a" }, *old[] = { "old" }, *other[] = { "other" }, *b[] = { "b" },
	           *iponly[] = { "iponly" };
	expect_refused(other, 1, "ca1.crt", "a.test", ERR_TLS_VERIFY,
	               "unable to get local issuer certificate");
	expect_refused(a, 1, "ca1.crt", "c.test", ERR_TLS_VERIFY, "hostname mismatch");
	expect_refused(a, 1, "ca1.crt", "sub.a.test", ERR_TLS_VERIFY, "hostname mismatch");
	expect_refused(old, 1, "ca1.crt", "a.test", ERR_TLS_VERIFY, "certificate has expired");
	/* IP literals are checked against IP SANs, never DNS names */
	expect_refused(b, 1, "ca1.crt", "127.0.0.1", ERR_TLS_VERIFY, "IP address mismatch");
	expect_refused(iponly, 1, "ca1.crt", "127.0.0.1", ERR_TLS_VERIFY, "IP address mismatch");
	/* the system store does not know our CA */
	expect_refused(a, 1, NULL, "a.test", ERR_TLS_VERIFY, "unable to get local issuer");
}

static void test_verify_ok_ip_and_name(void **state)
{
	(void)state;
	struct rig g;
	const char *a[] = { "a" };
	rig_start(&g, server_of(a, 1));
	struct net_tls_client *cl = client_of("ca1.crt", false);
	assert_int_equal(ping(&g, cl, "127.0.0.1")->connect_status, 0);
	assert_int_equal(ping(&g, cl, "A.Test")->connect_status, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

static void test_insecure_accepts_anything(void **state)
{
	(void)state;
	const char *sets[][1] = { { "old" }, { "other" }, { "a" } };
	for (size_t i = 0; i < 3; i++) {
		struct rig g;
		rig_start(&g, server_of(sets[i], 1));
		struct net_tls_client *cl = client_of(NULL, true);
		assert_int_equal(ping(&g, cl, "wrong.name.test")->connect_status, 0);
		assert_int_equal(ping(&g, cl, "10.9.8.7")->connect_status, 0);
		rig_free(&g);
		net_tls_client_free(cl);
	}
}

/* A peer that does not speak TLS (a plain-HTTP server answering): a
 * handshake failure, for verifying and insecure clients alike. */
static void plain_answer(struct side *s, const char *p, size_t n)
{
	(void)p;
	(void)n;
	if (s->server && s->writes == 0)
		side_write_str(s, "HTTP/1.1 400 Bad Request\r\n\r\n");
}

static void test_not_tls_peer_is_handshake_error(void **state)
{
	(void)state;
	for (int insecure = 0; insecure < 2; insecure++) {
		struct rig g;
		rig_start(&g, NULL);
		g.on_read = plain_answer;
		struct net_tls_client *cl = client_of(insecure ? NULL : "ca1.crt", insecure);
		struct side *c = rig_connect(&g, cl, "a.test");
		rig_run(&g, last_connected);
		assert_int_equal(c->connect_status, ERR_TLS_HANDSHAKE);
		rig_free(&g);
		net_tls_client_free(cl);
	}
}

/* A relay between our client and our server that passes the server's
 * first flight but its last bytes (the Finished), then closes: the client
 * has seen (and, insecure, not enforced) the certificate, and then the
 * handshake fails. */
#define RELAY_CUT 10

struct relay {
	struct net_loop *loop;
	struct net_listener *ls;
	int tls_port;
	struct net_conn *down, *up;
	char early[4096];
	size_t early_len;
	bool cut;
};

static void relay_free_copy(void *arg, int status)
{
	(void)status;
	free(arg);
}

static void relay_send(struct net_conn *to, const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, p, n);
	struct iov v = iov_make(copy, n);
	if (net_conn_write(to, &v, 1, relay_free_copy, copy))
		free(copy);
}

static void relay_close_both(struct relay *r)
{
	if (r->down)
		net_conn_close(r->down);
	if (r->up)
		net_conn_close(r->up);
}

static void relay_down_read(void *arg, const char *p, size_t n)
{
	struct relay *r = arg;
	if (r->up) {
		relay_send(r->up, p, n);
		return;
	}
	assert_true(r->early_len + n <= sizeof(r->early));
	memcpy(r->early + r->early_len, p, n);
	r->early_len += n;
}

static void relay_up_read(void *arg, const char *p, size_t n)
{
	struct relay *r = arg;
	if (r->cut || !r->down)
		return;
	r->cut = true;
	if (n > RELAY_CUT)
		relay_send(r->down, p, n - RELAY_CUT);
	relay_close_both(r);
}

static void relay_end(void *arg, int status)
{
	(void)status;
	relay_close_both(arg);
}

static void relay_down_closed(void *arg)
{
	struct relay *r = arg;
	r->down = NULL;
}

static void relay_up_closed(void *arg)
{
	struct relay *r = arg;
	r->up = NULL;
}

static const struct net_conn_events relay_down_events = { relay_down_read, relay_end,
	                                                  relay_down_closed };
static const struct net_conn_events relay_up_events = { relay_up_read, relay_end, relay_up_closed };

static void relay_up_connected(void *arg, struct net_conn *c, int status)
{
	struct relay *r = arg;
	assert_int_equal(status, 0);
	r->up = c;
	net_conn_set_events(c, &relay_up_events, r);
	net_conn_read_start(c);
	if (r->early_len)
		relay_send(c, r->early, r->early_len);
}

static void relay_accept(void *arg, struct net_conn *c)
{
	struct relay *r = arg;
	r->down = c;
	net_conn_set_events(c, &relay_down_events, r);
	net_conn_read_start(c);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", r->tls_port);
	assert_int_equal(net_connect(r->loop, addr, relay_up_connected, r, NULL), 0);
}

static void test_insecure_failure_is_not_a_verify_failure(void **state)
{
	(void)state;
	const char *other[] = { "other" }; /* an unknown CA: unverifiable */
	for (int insecure = 1; insecure >= 0; insecure--) {
		struct rig g;
		rig_start(&g, server_of(other, 1));
		struct relay r = { .loop = g.loop, .tls_port = g.port };
		assert_int_equal(net_listen(g.loop, "127.0.0.1:0", false, relay_accept, &r, &r.ls),
		                 0);
		g.port = net_listener_port(r.ls); /* clients go through the relay */
		struct net_tls_client *cl = client_of(insecure ? NULL : "ca1.crt", insecure);
		struct side *c = rig_connect(&g, cl, "a.test");
		rig_run(&g, last_connected);
		assert_true(r.cut);
		/* verifying: refused for the certificate; insecure: the handshake
		 * failed, whatever OpenSSL recorded about the certificate */
		assert_int_equal(c->connect_status, insecure ? ERR_TLS_HANDSHAKE : ERR_TLS_VERIFY);
		net_listener_close(r.ls);
		rig_free(&g);
		net_tls_client_free(cl);
	}
}

/* ---- resumption ---- */

static void test_session_resumption(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a", "b" };
	rig_start(&g, server_of(names, 2));
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c1 = ping(&g, cl, "a.test");
	assert_int_equal(c1->connect_status, 0);
	assert_false(net_tls_resumed(c1->c));
	struct side *c2 = ping(&g, cl, "a.test");
	assert_int_equal(c2->connect_status, 0);
	assert_true(net_tls_resumed(c2->c));
	assert_true(net_tls_resumed(g.srv[1].c));
	/* another name: its own session */
	struct side *c3 = ping(&g, cl, "b.test");
	assert_int_equal(c3->connect_status, 0);
	assert_false(net_tls_resumed(c3->c));
	struct side *c4 = ping(&g, cl, "b.test");
	assert_true(net_tls_resumed(c4->c));
	/* TLS 1.2 resumption by a raw client */
	struct raw r1 = { .sni = "a.test", .max_version = TLS1_2_VERSION };
	raw_go(&g, &r1);
	assert_true(r1.ok);
	assert_false(r1.reused);
	struct raw r2 = { .sni = "a.test", .max_version = TLS1_2_VERSION, .session = r1.session };
	raw_go(&g, &r2);
	assert_true(r2.ok);
	assert_true(r2.reused);
	assert_string_equal(r2.version, "TLSv1.2");
	SSL_SESSION_free(r2.session);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* ---- large transfers ---- */

#define ECHO_TOTAL  (6u << 20)
#define WRITE_CHUNK (200u * 1024 + 7)
#define PAUSE_EVERY (1u << 20)

struct flow {
	struct side *c;
	size_t sent;
	size_t next_pause;
	unsigned pauses;
	struct net_timer *resume;
};

static void flow_send(struct side *c)
{
	struct flow *f = c->g->user;
	while (f->sent < ECHO_TOTAL && net_conn_write_queue(c->c) < (512u << 10)) {
		size_t n = ECHO_TOTAL - f->sent < WRITE_CHUNK ? ECHO_TOTAL - f->sent : WRITE_CHUNK;
		assert_int_equal(side_write(c, pattern + f->sent, n, false), 0);
		f->sent += n;
	}
}

static void flow_on_client(struct side *c)
{
	struct flow *f = c->g->user;
	f->c = c;
	c->check_stream = true;
	flow_send(c);
}

static void flow_on_read(struct side *s, const char *p, size_t n)
{
	(void)p;
	(void)n;
	struct flow *f = s->g->user;
	if (s->server)
		return;
	if (s->nread >= f->next_pause && s->nread < ECHO_TOTAL) {
		f->next_pause += PAUSE_EVERY;
		f->pauses++;
		net_conn_read_stop(s->c);
		net_timer_start(f->resume, 3, 0);
	}
}

static void flow_resume(void *arg)
{
	struct flow *f = arg;
	if (f->c->c)
		assert_int_equal(net_conn_read_start(f->c->c), 0);
}

static bool flow_done(struct rig *g)
{
	struct flow *f = g->user;
	if (f->c && f->c->c && f->sent < ECHO_TOTAL && g->cli[0].dones == g->cli[0].writes)
		flow_send(f->c);
	return g->ncli && (g->cli[0].connect_status || g->cli[0].nread >= ECHO_TOTAL);
}

static void test_large_echo_both_ways_with_backpressure(void **state)
{
	(void)state;
	pattern_init();
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	struct flow f = { .next_pause = PAUSE_EVERY };
	g.user = &f;
	assert_int_equal(net_timer_new(g.loop, flow_resume, &f, &f.resume), 0);
	g.on_client = flow_on_client;
	g.on_read = flow_on_read;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, flow_done);
	struct side *c = &g.cli[0];
	assert_int_equal(c->connect_status, 0);
	assert_int_equal(c->nread, ECHO_TOTAL);
	assert_false(c->stream_bad);
	assert_int_equal(g.srv[0].nread, ECHO_TOTAL);
	assert_true(f.pauses >= 5);
	assert_int_equal(c->bad_dones, 0);
	assert_int_equal(g.srv[0].bad_dones, 0);
	net_timer_free(f.resume);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* The server pushes several MiB in one write to a slow reader. */
#define PUSH_TOTAL (5u << 20)

static void push_on_server(struct side *s)
{
	s->echo = false;
	/* before the handshake: held, then sealed in one go */
	assert_int_equal(side_write(s, pattern, PUSH_TOTAL, false), 0);
	assert_true(net_conn_write_queue(s->c) >= PUSH_TOTAL);
}

static void push_on_client(struct side *c)
{
	c->check_stream = true;
}

static bool push_done(struct rig *g)
{
	return g->ncli && (g->cli[0].connect_status ||
	                   (g->cli[0].nread >= PUSH_TOTAL && g->nsrv && g->srv[0].dones == 1));
}

static void test_large_push_to_slow_reader(void **state)
{
	(void)state;
	pattern_init();
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	struct flow f = { .next_pause = PAUSE_EVERY };
	g.user = &f;
	assert_int_equal(net_timer_new(g.loop, flow_resume, &f, &f.resume), 0);
	g.on_server = push_on_server;
	g.on_client = push_on_client;
	g.on_read = flow_on_read;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	f.c = rig_connect(&g, cl, "a.test");
	rig_run(&g, push_done);
	assert_int_equal(g.cli[0].nread, PUSH_TOTAL);
	assert_false(g.cli[0].stream_bad);
	assert_true(f.pauses >= 4);
	net_timer_free(f.resume);
	rig_free(&g);
	assert_int_equal(g.srv[0].dones, 1);
	assert_int_equal(g.srv[0].statuses[0], 0);
	net_tls_client_free(cl);
}

/* ---- write order, half-close, close with pending writes ---- */

static void early_on_server(struct side *s)
{
	s->echo = false;
	assert_int_equal(side_write_str(s, "one,"), 0);
	assert_int_equal(side_write_str(s, "two,"), 0);
	struct iov v[3] = { IOV_LIT("th"), IOV_LIT("r"), IOV_LIT("ee") };
	struct wrec *w = malloc(sizeof(*w));
	assert_non_null(w);
	*w = (struct wrec){ s, s->writes, NULL };
	assert_int_equal(net_conn_write(s->c, v, 3, write_done, w), 0);
	s->writes++;
	assert_int_equal(s->dones, 0);
}

static bool got_11(struct rig *g)
{
	return g->ncli && (g->cli[0].connect_status || g->cli[0].got_len >= 13);
}

static void test_writes_before_handshake_in_order(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	g.on_server = early_on_server;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, got_11);
	assert_int_equal(g.cli[0].got_len, 13);
	assert_memory_equal(g.cli[0].got, "one,two,three", 13);
	struct side *s = &g.srv[0];
	assert_int_equal(s->dones, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(s->order[i], i);
		assert_int_equal(s->statuses[i], 0);
	}
	rig_free(&g);
	net_tls_client_free(cl);
}

/* An owner that stops reading before the handshake ends does not stall
 * it; what arrives meanwhile waits for the owner to read again. */
static void stopped_on_server(struct side *s)
{
	s->echo = false;
	s->no_read = true;
	assert_int_equal(net_conn_read_start(s->c), 0);
	net_conn_read_stop(s->c);
	assert_int_equal(side_write_str(s, "hello"), 0);
}

static void ping_on_client(struct side *c)
{
	assert_int_equal(side_write_str(c, "ping"), 0);
}

static bool got_n(struct rig *g)
{
	size_t *want = g->user;
	return g->ncli && (g->cli[0].connect_status || g->cli[0].got_len >= *want);
}

static void test_owner_stopped_during_handshake(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	size_t want = 5;
	g.user = &want;
	g.on_server = stopped_on_server;
	g.on_client = ping_on_client;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, got_n);
	assert_memory_equal(g.cli[0].got, "hello", 5);
	assert_int_equal(g.srv[0].nread, 0); /* the owner is not reading */
	/* the client's "ping" waits; reading again delivers it */
	g.srv[0].echo = true;
	assert_int_equal(net_conn_read_start(g.srv[0].c), 0);
	assert_int_equal(g.srv[0].nread, 0); /* never inside read_start */
	want = 9;
	rig_run(&g, got_n);
	assert_memory_equal(g.cli[0].got, "helloping", 9);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* Half-close: the client sends and shuts down; the server sees the end,
 * answers and shuts down; the client sees the answer and a clean end. */
static void half_on_end(struct side *s, int status)
{
	if (s->server) {
		assert_int_equal(status, 0);
		assert_int_equal(side_write_str(s, "|bye"), 0);
		net_conn_shutdown(s->c);
		/* writes after the shutdown are refused */
		struct iov v = IOV_LIT("late");
		assert_int_equal(net_conn_write(s->c, &v, 1, write_done, NULL), ERR_NET_CLOSED);
		return;
	}
	side_close(s);
}

static void half_on_client(struct side *c)
{
	assert_int_equal(side_write_str(c, "request"), 0);
	net_conn_shutdown(c->c);
}

static bool half_done(struct rig *g)
{
	return g->ncli && (g->cli[0].connect_status || g->cli[0].closed);
}

static void test_half_close(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	g.on_end = half_on_end;
	g.on_client = half_on_client;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, half_done);
	struct side *c = &g.cli[0];
	assert_int_equal(c->got_len, 11);
	assert_memory_equal(c->got, "request|bye", 11);
	assert_int_equal(c->ends, 1);
	assert_int_equal(c->end_status, 0);
	assert_int_equal(g.srv[0].ends, 1);
	assert_int_equal(g.srv[0].end_status, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* A shutdown asked for before the handshake ends goes out after the held
 * writes. */
static void early_shut_on_server(struct side *s)
{
	s->echo = false;
	s->keep_on_end = true;
	assert_int_equal(side_write_str(s, "early"), 0);
	net_conn_shutdown(s->c);
}

static bool client_ended(struct rig *g)
{
	return g->ncli && (g->cli[0].connect_status || g->cli[0].ends);
}

static void test_shutdown_before_handshake(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	g.on_server = early_shut_on_server;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, client_ended);
	struct side *c = &g.cli[0];
	assert_int_equal(c->connect_status, 0);
	assert_int_equal(c->got_len, 5);
	assert_memory_equal(c->got, "early", 5);
	assert_int_equal(c->end_status, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* Close with writes pending: every done once, on_close after them. */
#define BURST 24

static void burst_on_read(struct side *s, const char *p, size_t n)
{
	(void)p;
	(void)n;
	if (!s->server || s->writes)
		return;
	s->echo = false;
	for (unsigned i = 0; i < BURST; i++)
		assert_int_equal(side_write(s, pattern + (i << 18), 1u << 20, false), 0);
	assert_true(net_conn_write_queue(s->c) > 0);
	net_conn_close(s->c);
	/* after close: refused */
	struct iov v = IOV_LIT("x");
	assert_int_equal(net_conn_write(s->c, &v, 1, write_done, NULL), ERR_NET_CLOSED);
}

static void noecho_on_server(struct side *s)
{
	s->echo = false;
}

static void burst_on_client(struct side *c)
{
	c->keep_on_end = true;
	assert_int_equal(side_write_str(c, "go"), 0);
	net_conn_read_stop(c->c); /* never read: the server's writes pile up */
}

static bool srv_closed(struct rig *g)
{
	return g->nsrv && g->srv[0].closed;
}

static void test_close_with_pending_writes(void **state)
{
	(void)state;
	pattern_init();
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	g.on_server = noecho_on_server;
	g.on_read = burst_on_read;
	g.on_client = burst_on_client;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	rig_connect(&g, cl, "a.test");
	rig_run(&g, srv_closed);
	struct side *s = &g.srv[0];
	assert_int_equal(s->writes, BURST);
	assert_int_equal(s->dones, BURST);
	assert_int_equal(s->dones_at_close, BURST);
	assert_true(s->bad_dones > 0); /* the client never read them all */
	rig_free(&g);
	net_tls_client_free(cl);
}

/* Held writes (before the handshake) and a close: each fails once. */
static void held_close_on_server(struct side *s)
{
	s->echo = false;
	for (int i = 0; i < 3; i++)
		assert_int_equal(side_write_str(s, "held"), 0);
	net_conn_close(s->c);
	assert_int_equal(s->dones, 0);
}

static void test_close_with_held_writes(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	g.on_server = held_close_on_server;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = rig_connect(&g, cl, "a.test");
	rig_run(&g, server_closed_all);
	struct side *s = &g.srv[0];
	assert_int_equal(s->dones, 3);
	assert_int_equal(s->bad_dones, 3);
	assert_int_equal(s->statuses[0], ERR_NET_CLOSED);
	assert_int_equal(s->dones_at_close, 3);
	assert_int_not_equal(c->connect_status, 0);
	rig_free(&g);
	net_tls_client_free(cl);
}

static bool last_srv_closed(struct rig *g)
{
	return g->nsrv && g->srv[g->nsrv - 1].closed;
}

static void test_peer_gone_without_close_notify(void **state)
{
	(void)state;
	struct rig g;
	const char *names[] = { "a" };
	rig_start(&g, server_of(names, 1));
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = ping(&g, cl, "a.test");
	assert_int_equal(c->connect_status, 0);
	/* the client closes without close_notify: the server sees a clean
	 * end of the TCP stream between records, which it reports as 0 */
	side_close(c);
	rig_run(&g, srv_closed);
	assert_int_equal(g.srv[0].ends, 1);
	assert_int_equal(g.srv[0].end_status, 0);
	/* a record cut short, then EOF: not a clean end */
	struct raw r1 = { .sni = "a.test", .cut = 1 };
	raw_go(&g, &r1);
	assert_true(r1.ok);
	rig_run(&g, last_srv_closed);
	assert_int_equal(g.srv[g.nsrv - 1].end_status, ERR_NET_RESET);
	/* a TCP reset: the inner connection's error */
	struct raw r2 = { .sni = "a.test", .cut = 2 };
	raw_go(&g, &r2);
	assert_true(r2.ok);
	rig_run(&g, last_srv_closed);
	assert_int_equal(g.srv[g.nsrv - 1].end_status, ERR_NET_RESET);
	/* close_notify, then EOF: clean */
	struct raw r3 = { .sni = "a.test" };
	raw_go(&g, &r3);
	rig_run(&g, last_srv_closed);
	assert_int_equal(g.srv[g.nsrv - 1].end_status, 0);
	SSL_SESSION_free(r1.session);
	SSL_SESSION_free(r2.session);
	SSL_SESSION_free(r3.session);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* ---- reload ---- */

static void copy_pair(const char *from)
{
	X509 *x = strcmp(from, "a") == 0 ? pki.a : pki.other;
	EVP_PKEY *k = strcmp(from, "a") == 0 ? pki.a_key : pki.other_key;
	write_pair("reload", x, k);
}

static bool user_got8(struct rig *g)
{
	struct side *s = g->user;
	return s->got_len >= 8 || s->closed;
}

static void test_reload_swaps_for_new_connections(void **state)
{
	(void)state;
	copy_pair("a");
	const char *names[] = { "reload" };
	struct rig g;
	rig_start(&g, server_of(names, 1));
	struct net_tls_client *cl1 = client_of("ca1.crt", false);
	struct net_tls_client *cl2 = client_of("ca2.crt", false);
	struct side *old = ping(&g, cl1, "a.test");
	assert_int_equal(old->connect_status, 0);
	/* a CA2 client fails before the reload */
	assert_int_equal(ping(&g, cl2, "a.test")->connect_status, ERR_TLS_VERIFY);

	copy_pair("other");
	char err[NET_TLS_ERR_LEN];
	assert_int_equal(net_tls_server_reload(g.tls, err, sizeof(err)), 0);
	/* new connections: the new certificate (a cached session must not hide it) */
	struct side *s = ping(&g, cl1, "a.test");
	assert_int_equal(s->connect_status, ERR_TLS_VERIFY);
	assert_non_null(strstr(s->verify_error, "unable to get local issuer"));
	assert_int_equal(ping(&g, cl2, "a.test")->connect_status, 0);
	struct raw r = { .sni = "a.test" };
	raw_go(&g, &r);
	assert_int_equal(r.serial, SERIAL_OTHER);
	SSL_SESSION_free(r.session);

	/* the old connection keeps working */
	assert_int_equal(side_write_str(old, "pong"), 0);
	g.user = old;
	rig_run(&g, user_got8);
	assert_memory_equal(old->got, "pingpong", 8);

	/* a broken file: refused, the current certificates stay */
	char path[128];
	path_of(path, sizeof(path), "reload.crt");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	assert_int_equal(net_tls_server_reload(g.tls, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_non_null(strstr(err, path));
	assert_int_equal(ping(&g, cl2, "a.test")->connect_status, 0);
	rig_free(&g);
	net_tls_client_free(cl1);
	net_tls_client_free(cl2);
}

/* ---- garbage and aborted handshakes ---- */

struct bytes {
	const char *p;
	size_t n;
};

static void garbage_on_client(struct side *c)
{
	const struct bytes *what = c->g->user;
	if (what->n)
		assert_int_equal(side_write(c, what->p, what->n, false), 0);
	net_conn_shutdown(c->c);
}

static void test_garbage_client_hello(void **state)
{
	(void)state;
	static const char get[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
	static const char bad_hello[] = "\x16\x03\x01\x00\x05hello";
	static const char header_only[] = "\x16\x03\x01\x40\x00";
	static const char zeros[64] = { 0x16, 0x03, 0x03, 0x00, 0x3b, 0x01 };
	const struct bytes inputs[] = {
		{ get, sizeof(get) - 1 },
		{ bad_hello, sizeof(bad_hello) - 1 },
		{ header_only, sizeof(header_only) - 1 }, /* a record header, then EOF */
		{ zeros, sizeof(zeros) },                 /* a ClientHello of zeros */
		{ "", 0 },                                /* EOF at once */
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct rig g;
		const char *names[] = { "a" };
		rig_start(&g, server_of(names, 1));
		g.on_client = garbage_on_client;
		g.user = (void *)&inputs[i];
		rig_connect(&g, NULL, NULL);
		rig_run(&g, srv_closed);
		struct side *s = &g.srv[0];
		assert_int_equal(s->ends, 1);
		assert_int_equal(s->end_status, ERR_TLS_HANDSHAKE);
		assert_int_equal(s->nread, 0);
		rig_free(&g);
	}
}

/* A server that never answers: the handshake is cancelled by the caller. */
static void silent_on_server(struct side *s)
{
	s->keep_on_end = true;
}

static void cancel_later(void *arg)
{
	struct side *c = arg;
	if (c->pc)
		net_tls_connect_cancel(c->pc);
}

static bool first_connected(struct rig *g)
{
	return g->ncli && g->cli[0].connected;
}

static void test_connect_cancel(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL);
	g.on_server = silent_on_server;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = rig_connect(&g, cl, "a.test");
	struct net_timer *t;
	assert_int_equal(net_timer_new(g.loop, cancel_later, c, &t), 0);
	net_timer_start(t, 50, 0);
	rig_run(&g, first_connected);
	assert_int_equal(c->connect_status, ERR_NET_CLOSED);
	/* the ClientHello went out: the silent server saw it */
	assert_true(g.srv[0].nread > 0);
	net_timer_free(t);
	rig_free(&g);
	net_tls_client_free(cl);
}

/* The ClientHello our client sends: SNI and ALPN in it; saved as a fuzz
 * seed when MERIDIAN_TLS_CLIENTHELLO names a file. */
static bool hello_seen(struct rig *g)
{
	if (!g->nsrv || g->nsrv < g->ncli)
		return false;
	const struct side *s = &g->srv[g->nsrv - 1];
	return s->got_len >= 5 && s->got_len >= 5 + (((size_t)(unsigned char)s->got[3] << 8) |
	                                             (unsigned char)s->got[4]);
}

static bool memmem_has(const char *p, size_t n, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(p + i, what, w) == 0)
			return true;
	return false;
}

static void test_client_hello_has_sni_and_alpn(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, NULL);
	g.on_server = silent_on_server;
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct side *c = rig_connect(&g, cl, "a.test");
	rig_run(&g, hello_seen);
	struct side *s = &g.srv[0];
	assert_int_equal((unsigned char)s->got[0], 0x16); /* handshake record */
	assert_int_equal((unsigned char)s->got[5], 0x01); /* ClientHello */
	assert_true(memmem_has(s->got, s->got_len, "a.test"));
	assert_true(memmem_has(s->got, s->got_len, "http/1.1"));
	const char *out = getenv("MERIDIAN_TLS_CLIENTHELLO");
	if (out) {
		FILE *f = fopen(out, "wb");
		assert_non_null(f);
		fwrite(s->got, 1, s->got_len, f);
		fclose(f);
	}
	/* an IP literal: no SNI */
	rig_connect(&g, cl, "127.0.0.1");
	rig_run(&g, hello_seen);
	assert_int_equal(g.nsrv, 2);
	assert_true(memmem_has(g.srv[1].got, g.srv[1].got_len, "http/1.1"));
	assert_false(memmem_has(g.srv[1].got, g.srv[1].got_len, "127.0.0.1"));
	rig_free(&g);
	assert_int_equal(c->connect_status, ERR_NET_CLOSED);
	net_tls_client_free(cl);
}

/* ---- the client's CA file read again (SIGHUP in the router and edge) ---- */

/* The test directory's file `from` copied over `to`; `from` NULL writes
 * bytes that are no PEM at all. */
static void copy_over(const char *from, const char *to)
{
	char src[128], dst[128], buf[8192];
	path_of(dst, sizeof(dst), to);
	size_t n = 0;
	if (from) {
		path_of(src, sizeof(src), from);
		FILE *in = fopen(src, "rb");
		assert_non_null(in);
		n = fread(buf, 1, sizeof(buf), in);
		fclose(in);
	} else {
		n = (size_t)snprintf(buf, sizeof(buf), "not a certificate\n");
	}
	FILE *out = fopen(dst, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(out), 0);
}

static void test_client_reload_reads_the_ca_file_again(void **state)
{
	(void)state;
	char err[NET_TLS_ERR_LEN], trust[128];
	path_of(trust, sizeof(trust), "trust.crt");
	copy_over("ca1.crt", "trust.crt");
	const char *a[] = { "a" }, *other[] = { "other" };
	struct net_tls_client *cl = client_of("trust.crt", false);
	struct rig g;
	rig_start(&g, server_of(a, 1));
	assert_int_equal(ping(&g, cl, "a.test")->connect_status, 0);
	struct side *c = ping(&g, cl, "a.test");
	assert_int_equal(c->connect_status, 0);
	assert_true(net_tls_resumed(c->c));
	/* Now the file trusts CA two only. The session kept for a.test goes
	 * with the old trust: the next connection is verified and refused. */
	copy_over("ca2.crt", "trust.crt");
	assert_int_equal(net_tls_client_reload(cl, err, sizeof(err)), 0);
	c = rig_connect(&g, cl, "a.test");
	rig_run(&g, last_connected);
	assert_int_equal(c->connect_status, ERR_TLS_VERIFY);
	assert_non_null(strstr(c->verify_error, "unable to get local issuer certificate"));
	rig_free(&g);

	/* A server of CA two passes, on a fresh handshake. */
	rig_start(&g, server_of(other, 1));
	c = ping(&g, cl, "a.test");
	assert_int_equal(c->connect_status, 0);
	assert_false(net_tls_resumed(c->c));
	rig_free(&g);

	/* A file that does not load changes nothing. */
	copy_over(NULL, "trust.crt");
	assert_int_equal(net_tls_client_reload(cl, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_non_null(strstr(err, "not a usable CA file"));
	assert_non_null(strstr(err, trust));
	rig_start(&g, server_of(other, 1)); /* new ticket keys: a full handshake */
	c = ping(&g, cl, "a.test");
	assert_int_equal(c->connect_status, 0);
	assert_false(net_tls_resumed(c->c));
	rig_free(&g);
	net_tls_client_free(cl);
	unlink(trust);
}

/* ---- contexts ---- */

static void test_context_errors(void **state)
{
	(void)state;
	char crt[128], key[128], bkey[128], missing[128];
	path_of(crt, sizeof(crt), "a.crt");
	path_of(key, sizeof(key), "a.key");
	path_of(bkey, sizeof(bkey), "b.key");
	path_of(missing, sizeof(missing), "missing.crt");
	struct net_tls_server *s = NULL;
	char err[NET_TLS_ERR_LEN];
	struct net_tls_cert c1 = { missing, key };
	assert_int_equal(net_tls_server_new(&c1, 1, &s, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_null(s);
	assert_non_null(strstr(err, missing));
	struct net_tls_cert c2 = { crt, bkey };
	assert_int_equal(net_tls_server_new(&c2, 1, &s, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_non_null(strstr(err, "does not match"));
	char okey[128];
	path_of(okey, sizeof(okey), "other.key");
	struct net_tls_cert c2b = { crt, okey }; /* same type (EC), another key */
	assert_int_equal(net_tls_server_new(&c2b, 1, &s, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_non_null(strstr(err, "does not match"));
	struct net_tls_cert c3 = { crt, crt }; /* a certificate where the key should be */
	assert_int_equal(net_tls_server_new(&c3, 1, &s, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_non_null(strstr(err, "private key"));
	assert_int_equal(net_tls_server_new(&c3, 0, &s, err, sizeof(err)), ERR_TLS_CONFIG);
	struct net_tls_cert many[NET_TLS_CERTS_MAX + 1];
	assert_int_equal(net_tls_server_new(many, NET_TLS_CERTS_MAX + 1, &s, err, sizeof(err)),
	                 ERR_TLS_CONFIG);
	struct net_tls_client *cl = NULL;
	struct net_tls_client_config cc = { missing, false };
	assert_int_equal(net_tls_client_new(&cc, &cl, err, sizeof(err)), ERR_TLS_CONFIG);
	assert_null(cl);
	assert_non_null(strstr(err, missing));
	net_tls_server_free(NULL);
	net_tls_client_free(NULL);
}

static void never_done(void *arg, struct net_conn *c, int status)
{
	(void)arg;
	(void)c;
	fail_msg("done ran with %d", status);
}

static void record_done(void *arg, struct net_conn *c, int status)
{
	int *out = arg;
	assert_null(c);
	assert_int_equal(*out, 1); /* once */
	*out = status;
}

/* Verifying without a name would accept any certificate of the CA: refused
 * up front. An insecure client may go without one. */
static void test_connect_without_name(void **state)
{
	(void)state;
	struct net_loop *l;
	assert_int_equal(net_loop_new(&l), 0);
	struct net_tls_client *cl = client_of("ca1.crt", false);
	struct net_tls_client *in = client_of(NULL, true);
	const char *names[] = { "", NULL };
	for (size_t i = 0; i < 2; i++) {
		struct net_conn *m = net_mem_new(l);
		assert_non_null(m);
		struct net_tls_connect *pc = (void *)1;
		assert_int_equal(net_tls_connect(cl, m, names[i], never_done, NULL, &pc),
		                 ERR_INVALID);
		assert_null(pc);
		net_mem_settle(l);
		assert_true(net_mem_closed(m)); /* inner closed */
		net_mem_release(m);
	}
	struct net_conn *m = net_mem_new(l);
	struct net_tls_connect *pc;
	int status = 1;
	assert_int_equal(net_tls_connect(in, m, NULL, record_done, &status, &pc), 0);
	net_mem_settle(l);
	assert_true(net_mem_written(m) > 0); /* a ClientHello */
	assert_int_equal(status, 1);
	net_tls_connect_cancel(pc);
	assert_int_equal(status, ERR_NET_CLOSED);
	net_mem_settle(l);
	assert_true(net_mem_closed(m));
	net_mem_release(m);
	net_loop_free(l);
	net_tls_client_free(cl);
	net_tls_client_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_tls13_and_echo),
		cmocka_unit_test(test_tls12_raw_client_alpn),
		cmocka_unit_test(test_sni_picks_certificate),
		cmocka_unit_test(test_verify_failures),
		cmocka_unit_test(test_verify_ok_ip_and_name),
		cmocka_unit_test(test_insecure_accepts_anything),
		cmocka_unit_test(test_not_tls_peer_is_handshake_error),
		cmocka_unit_test(test_insecure_failure_is_not_a_verify_failure),
		cmocka_unit_test(test_session_resumption),
		cmocka_unit_test(test_large_echo_both_ways_with_backpressure),
		cmocka_unit_test(test_large_push_to_slow_reader),
		cmocka_unit_test(test_writes_before_handshake_in_order),
		cmocka_unit_test(test_owner_stopped_during_handshake),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_shutdown_before_handshake),
		cmocka_unit_test(test_close_with_pending_writes),
		cmocka_unit_test(test_close_with_held_writes),
		cmocka_unit_test(test_peer_gone_without_close_notify),
		cmocka_unit_test(test_reload_swaps_for_new_connections),
		cmocka_unit_test(test_garbage_client_hello),
		cmocka_unit_test(test_connect_cancel),
		cmocka_unit_test(test_client_hello_has_sni_and_alpn),
		cmocka_unit_test(test_client_reload_reads_the_ca_file_again),
		cmocka_unit_test(test_context_errors),
		cmocka_unit_test(test_connect_without_name),
	};
	int rc = cmocka_run_group_tests(tests, pki_setup, pki_teardown);
	free(pattern);
	return rc;
}
