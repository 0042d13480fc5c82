/*
 * net/tls: TLS as a transport over an inner connection (see tls.h and
 * docs/internals/net-tls.md).
 *
 * A TLS connection is a struct net_conn whose transport is tls_transport
 * and which owns an inner connection (TCP) whose events are this file's.
 * OpenSSL sees two memory BIOs: bytes read from the inner connection are
 * written into `rbio` and SSL_read turns them into plaintext for the
 * owner; SSL_write puts records into `wbio`, and flush() moves them to the
 * inner connection in one write. An owner's write completes when the
 * inner write that carries its records completes, so backpressure (the
 * write queue) is the inner connection's.
 *
 * Contexts: a server holds a generation (one SSL_CTX per certificate, the
 * first the default, the others chosen by SNI), swapped whole by a reload
 * under a mutex; each connection holds a reference to the generation it
 * was accepted with. A client holds one SSL_CTX and a small session cache
 * by server name (resumption toward origins).
 *
 * Loop thread of the connection; contexts any thread.
 */
#include "net/tls.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/check.h"
#include "base/err.h"
#include "net/net-int.h"

#define TLS_MAGIC       0x544c5343u /* "TLSC" */
#define TLS_READ_CHUNK  (16 * 1024)
#define TLS_GATHER_MAX  (16 * 1024) /* small writes become one record */
#define TLS_NAMES_MAX   64          /* DNS names matched per certificate */
#define TLS_SESSIONS    64          /* client session cache slots */
#define TLS_SID_CONTEXT "meridian"

static const unsigned char alpn_http11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

/* ---- contexts ---- */

struct tls_gen {
	atomic_int refs;
	size_t n;
	SSL_CTX *ctx[NET_TLS_CERTS_MAX];
	char *names[NET_TLS_CERTS_MAX][TLS_NAMES_MAX]; /* lowercase DNS names, "*.x" kept */
	size_t nnames[NET_TLS_CERTS_MAX];
};

struct net_tls_server {
	pthread_mutex_t mu;
	struct tls_gen *gen; /* under mu */
	size_t n;
	struct net_tls_cert certs[NET_TLS_CERTS_MAX]; /* copies of the paths */
};

struct tls_session {
	char name[256];
	SSL_SESSION *sess;
};

struct net_tls_client {
	SSL_CTX *ctx; /* under mu: a reload swaps it */
	bool insecure;
	char *ca_file; /* NULL: the system's store */
	pthread_mutex_t mu;
	struct tls_session cache[TLS_SESSIONS]; /* under mu */
	unsigned next;
};

static _Thread_local char tl_verify_error[128];

const char *net_tls_last_verify_error(void)
{
	return tl_verify_error;
}

/* The first OpenSSL error as text, for messages. */
static void ssl_why(char *out, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, out, cap);
	else
		snprintf(out, cap, "unknown error");
	ERR_clear_error();
}

static void gen_unref(struct tls_gen *g)
{
	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	for (size_t i = 0; i < g->n; i++) {
		SSL_CTX_free(g->ctx[i]);
		for (size_t k = 0; k < g->nnames[i]; k++)
			free(g->names[i][k]);
	}
	free(g);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	unsigned char *sel;
	if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof(alpn_http11), in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL; /* http/1.1 is all we speak */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static bool name_matches(const char *pattern, const char *name)
{
	if (strcasecmp(pattern, name) == 0)
		return true;
	/* "*.example.test" covers one label */
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');
		return dot && dot != name && strcasecmp(pattern + 1, dot) == 0;
	}
	return false;
}

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	(void)alert;
	struct tls_gen *g = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (!name)
		return SSL_TLSEXT_ERR_OK; /* the default certificate */
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->nnames[i]; k++)
			if (name_matches(g->names[i][k], name)) {
				if (i > 0)
					SSL_set_SSL_CTX(ssl, g->ctx[i]);
				return SSL_TLSEXT_ERR_OK;
			}
	return SSL_TLSEXT_ERR_OK; /* unknown name: the default, as nginx does */
}

/* TLS 1.2 and 1.3 only, our ciphers' defaults, no compression or
 * renegotiation. */
static SSL_CTX *ctx_base(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE |
	                             SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* The certificate's DNS names (SANs, else its CN), lowercased. */
static int cert_names(SSL_CTX *ctx, struct tls_gen *g, size_t i)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	GENERAL_NAMES *sans = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	int n = sans ? sk_GENERAL_NAME_num(sans) : 0;
	for (int k = 0; k < n && g->nnames[i] < TLS_NAMES_MAX; k++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, k);
		if (gn->type != GEN_DNS)
			continue;
		const unsigned char *d = ASN1_STRING_get0_data(gn->d.dNSName);
		int len = ASN1_STRING_length(gn->d.dNSName);
		char *s = len > 0 ? strndup((const char *)d, (size_t)len) : NULL;
		if (s)
			g->names[i][g->nnames[i]++] = s;
	}
	GENERAL_NAMES_free(sans);
	if (g->nnames[i] == 0 && x) {
		char cn[256];
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		                              sizeof(cn)) > 0) {
			char *s = strdup(cn);
			if (s)
				g->names[i][g->nnames[i]++] = s;
		}
	}
	return 0;
}

static int gen_build(const struct net_tls_cert *certs, size_t n, struct tls_gen **out, char *err,
                     size_t errlen)
{
	*out = NULL;
	struct tls_gen *g = calloc(1, sizeof(*g));
	if (!g)
		return ERR_NOMEM;
	atomic_init(&g->refs, 1);
	char why[200];
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		SSL_CTX *ctx = ctx_base(TLS_server_method());
		if (!ctx) {
			rc = ERR_NOMEM;
			break;
		}
		g->ctx[g->n++] = ctx;
		if (SSL_CTX_use_certificate_chain_file(ctx, certs[i].cert_file) != 1) {
			ssl_why(why, sizeof(why));
			snprintf(err, errlen, "%s: not a usable PEM certificate: %s",
			         certs[i].cert_file, why);
			rc = ERR_TLS_CONFIG;
		} else if (SSL_CTX_use_PrivateKey_file(ctx, certs[i].key_file, SSL_FILETYPE_PEM) !=
		           1) {
			/* OpenSSL checks a key of the certificate's type against it
			 * while loading: say which it was */
			int reason = ERR_GET_REASON(ERR_peek_error());
			ssl_why(why, sizeof(why));
			if (reason == X509_R_KEY_VALUES_MISMATCH ||
			    reason == X509_R_KEY_TYPE_MISMATCH)
				snprintf(err, errlen,
				         "%s: the key does not match the certificate %s",
				         certs[i].key_file, certs[i].cert_file);
			else
				snprintf(err, errlen, "%s: not a usable PEM private key: %s",
				         certs[i].key_file, why);
			rc = ERR_TLS_CONFIG;
		} else if (SSL_CTX_check_private_key(ctx) != 1) {
			ERR_clear_error();
			snprintf(err, errlen, "%s: the key does not match the certificate %s",
			         certs[i].key_file, certs[i].cert_file);
			rc = ERR_TLS_CONFIG;
		}
		if (rc)
			break;
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CONTEXT,
		                               sizeof(TLS_SID_CONTEXT) - 1);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, 20000);
		SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
		SSL_CTX_set_tlsext_servername_arg(ctx, g);
		cert_names(ctx, g, i);
	}
	if (rc) {
		gen_unref(g);
		return rc;
	}
	*out = g;
	return 0;
}

int net_tls_server_new(const struct net_tls_cert *certs, size_t ncerts, struct net_tls_server **out,
                       char *err, size_t errlen)
{
	*out = NULL;
	if (ncerts == 0 || ncerts > NET_TLS_CERTS_MAX) {
		snprintf(err, errlen, "%zu certificates; want 1 to %d", ncerts, NET_TLS_CERTS_MAX);
		return ERR_TLS_CONFIG;
	}
	struct net_tls_server *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->n = ncerts;
	int rc = 0;
	for (size_t i = 0; i < ncerts && rc == 0; i++) {
		s->certs[i].cert_file = strdup(certs[i].cert_file);
		s->certs[i].key_file = strdup(certs[i].key_file);
		if (!s->certs[i].cert_file || !s->certs[i].key_file)
			rc = ERR_NOMEM;
	}
	if (rc == 0)
		rc = gen_build(s->certs, s->n, &s->gen, err, errlen);
	if (rc) {
		net_tls_server_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int net_tls_server_reload(struct net_tls_server *s, char *err, size_t errlen)
{
	struct tls_gen *g;
	int rc = gen_build(s->certs, s->n, &g, err, errlen);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	struct tls_gen *old = s->gen;
	s->gen = g;
	pthread_mutex_unlock(&s->mu);
	gen_unref(old);
	return 0;
}

void net_tls_server_free(struct net_tls_server *s)
{
	if (!s)
		return;
	gen_unref(s->gen);
	for (size_t i = 0; i < s->n; i++) {
		free((char *)s->certs[i].cert_file);
		free((char *)s->certs[i].key_file);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct tls_gen *server_gen(struct net_tls_server *s)
{
	pthread_mutex_lock(&s->mu);
	struct tls_gen *g = s->gen;
	atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&s->mu);
	return g;
}

/* A new client session: kept for the server name the SSL was made for. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct net_tls_client *cl = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char *name = SSL_get_app_data(ssl);
	if (!cl || !name || strlen(name) >= sizeof(cl->cache[0].name))
		return 0;
	pthread_mutex_lock(&cl->mu);
	if (SSL_get_SSL_CTX(ssl) != cl->ctx) { /* verified under the trust before a reload */
		pthread_mutex_unlock(&cl->mu);
		return 0;
	}
	struct tls_session *slot = NULL;
	for (unsigned i = 0; i < TLS_SESSIONS && !slot; i++)
		if (strcmp(cl->cache[i].name, name) == 0)
			slot = &cl->cache[i];
	if (!slot)
		slot = &cl->cache[cl->next++ % TLS_SESSIONS];
	SSL_SESSION_free(slot->sess);
	slot->sess = sess;
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	pthread_mutex_unlock(&cl->mu);
	return 1; /* we keep the reference */
}

/* A client context trusting cl's CA file (or the system's store). NULL
 * with the reason in err. */
static SSL_CTX *client_ctx(struct net_tls_client *cl, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_base(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof(alpn_http11));
	SSL_CTX_set_app_data(ctx, cl);
	SSL_CTX_set_session_cache_mode(ctx,
	                               SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_new_session);
	if (cl->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int ok = cl->ca_file ? SSL_CTX_load_verify_file(ctx, cl->ca_file)
	                     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		char why[200];
		ssl_why(why, sizeof(why));
		snprintf(err, errlen, "%s: not a usable CA file: %s",
		         cl->ca_file ? cl->ca_file : "the system's CA store", why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int net_tls_client_new(const struct net_tls_client_config *cfg, struct net_tls_client **out,
                       char *err, size_t errlen)
{
	*out = NULL;
	struct net_tls_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		return ERR_NOMEM;
	pthread_mutex_init(&cl->mu, NULL);
	cl->insecure = cfg->insecure;
	if (cfg->ca_file && !(cl->ca_file = strdup(cfg->ca_file))) {
		net_tls_client_free(cl);
		return ERR_NOMEM;
	}
	if (!(cl->ctx = client_ctx(cl, err, errlen))) {
		net_tls_client_free(cl);
		return ERR_TLS_CONFIG;
	}
	*out = cl;
	return 0;
}

int net_tls_client_reload(struct net_tls_client *cl, char *err, size_t errlen)
{
	SSL_CTX *ctx = client_ctx(cl, err, errlen);
	if (!ctx)
		return ERR_TLS_CONFIG;
	pthread_mutex_lock(&cl->mu);
	SSL_CTX *old = cl->ctx;
	cl->ctx = ctx;
	/* A resumed session skips verification: none made under the old
	 * trust outlives it. */
	for (unsigned i = 0; i < TLS_SESSIONS; i++) {
		SSL_SESSION_free(cl->cache[i].sess);
		cl->cache[i].sess = NULL;
		cl->cache[i].name[0] = '\0';
	}
	pthread_mutex_unlock(&cl->mu);
	SSL_CTX_free(old); /* connections made with it hold their own reference */
	return 0;
}

/* The context to connect with now, referenced (the caller frees it). */
static SSL_CTX *client_ctx_ref(struct net_tls_client *cl)
{
	pthread_mutex_lock(&cl->mu);
	SSL_CTX *ctx = cl->ctx;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&cl->mu);
	return ctx;
}

void net_tls_client_free(struct net_tls_client *cl)
{
	if (!cl)
		return;
	for (unsigned i = 0; i < TLS_SESSIONS; i++)
		SSL_SESSION_free(cl->cache[i].sess);
	SSL_CTX_free(cl->ctx);
	free(cl->ca_file);
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

/* ---- connections ---- */

/* An owner's write waiting for the handshake. */
struct held {
	struct held *next;
	void (*done)(void *arg, int status);
	void *arg;
	size_t n;
	struct iov bufs[];
};

/* Records on their way to the inner connection, and the owner writes
 * they complete. */
struct flushed {
	struct tls_conn *t;
	void (*done)(void *arg, int status);
	void *arg;
	char data[];
};

struct tls_conn {
	struct net_conn base; /* must be first */
	unsigned tmagic;
	struct net_conn *inner;
	SSL *ssl;
	BIO *rbio, *wbio;
	struct tls_gen *gen; /* server side */
	char *name;          /* client side: the server name */
	bool server, insecure, established, failed, ended, inner_closed, shut;
	bool shut_pending; /* shutdown asked for before the handshake ended */
	int end_status;    /* the inner connection's on_end status */
	unsigned pending;  /* inner writes in flight */
	uint64_t queued;   /* bytes of held writes */
	struct held *held, *held_tail;
	/* client handshake */
	struct net_tls_connect *connecting;
};

struct net_tls_connect {
	struct tls_conn *t;
	void (*done)(void *arg, struct net_conn *c, int status);
	void *arg;
};

static const struct net_transport tls_transport;

static struct tls_conn *tls_of(struct net_conn *c)
{
	struct tls_conn *t = (struct tls_conn *)c;
	CHECK(c->tp == &tls_transport && t->tmagic == TLS_MAGIC);
	return t;
}

static void flushed_done(void *arg, int status)
{
	struct flushed *f = arg;
	struct tls_conn *t = f->t;
	t->pending--;
	if (f->done)
		f->done(f->arg, status);
	free(f);
}

/* Move what OpenSSL wrote to the inner connection; done(arg) (may be NULL)
 * completes with that write. 0 or an error (done not called). */
static int flush(struct tls_conn *t, void (*done)(void *arg, int status), void *arg)
{
	long n = (long)BIO_ctrl_pending(t->wbio);
	if (n <= 0) {
		if (done)
			return net__defer(t->base.loop, t, done, arg, 0);
		return 0;
	}
	if (t->inner_closed)
		return ERR_NET_CLOSED;
	struct flushed *f = malloc(sizeof(*f) + (size_t)n);
	if (!f)
		return ERR_NOMEM;
	f->t = t;
	f->done = done;
	f->arg = arg;
	/* Drained by reading, not BIO_reset: a reset memsets the BIO's whole
	 * capacity (the largest flight ever sealed) on every flush. */
	if (BIO_read(t->wbio, f->data, (int)n) != (int)n) {
		ERR_clear_error();
		free(f);
		return ERR_NOMEM;
	}
	struct iov v = iov_make(f->data, (size_t)n);
	int rc = net_conn_write(t->inner, &v, 1, flushed_done, f);
	if (rc) {
		free(f);
		return rc;
	}
	t->pending++;
	return 0;
}

/* SSL_write every buffer (small ones gathered into one record). */
static int seal(struct tls_conn *t, const struct iov *bufs, size_t n)
{
	static _Thread_local char gather[TLS_GATHER_MAX];
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += bufs[i].len;
	if (n > 1 && total <= sizeof(gather)) {
		size_t at = 0;
		for (size_t i = 0; i < n; i++) {
			memcpy(gather + at, bufs[i].base, bufs[i].len);
			at += bufs[i].len;
		}
		return total == 0 || SSL_write(t->ssl, gather, (int)total) == (int)total
		           ? 0
		           : ERR_TLS_HANDSHAKE;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = bufs[i].base;
		size_t left = bufs[i].len;
		while (left) {
			int chunk = left > (1u << 30) ? 1 << 30 : (int)left;
			if (SSL_write(t->ssl, p, chunk) != chunk) {
				ERR_clear_error();
				return ERR_TLS_HANDSHAKE;
			}
			p += chunk;
			left -= (size_t)chunk;
		}
	}
	return 0;
}

static int tls_write(struct net_conn *c, const struct iov *bufs, size_t n,
                     void (*done)(void *arg, int status), void *arg)
{
	struct tls_conn *t = tls_of(c);
	if (c->closing || t->failed || t->shut)
		return ERR_NET_CLOSED;
	if (!t->established) { /* after the handshake, in order */
		struct held *h = malloc(sizeof(*h) + n * sizeof(h->bufs[0]));
		if (!h)
			return ERR_NOMEM;
		h->next = NULL;
		h->done = done;
		h->arg = arg;
		h->n = n;
		memcpy(h->bufs, bufs, n * sizeof(*bufs));
		for (size_t i = 0; i < n; i++)
			t->queued += bufs[i].len;
		if (t->held_tail)
			t->held_tail->next = h;
		else
			t->held = h;
		t->held_tail = h;
		return 0;
	}
	int rc = seal(t, bufs, n);
	return rc ? rc : flush(t, done, arg);
}

static void release_held(struct tls_conn *t, int status)
{
	while (t->held) {
		struct held *h = t->held;
		t->held = h->next;
		if (status)
			net__defer(t->base.loop, t, h->done, h->arg, status);
		else if (seal(t, h->bufs, h->n) || flush(t, h->done, h->arg))
			net__defer(t->base.loop, t, h->done, h->arg, ERR_NET_CLOSED);
		free(h);
	}
	t->held_tail = NULL;
	t->queued = 0;
}

/* Deliver decrypted bytes while the owner reads; the end when it came. */
static void pump(struct tls_conn *t)
{
	static _Thread_local char buf[TLS_READ_CHUNK];
	while (t->base.reading && !t->base.closing && t->established) {
		int r = SSL_read(t->ssl, buf, sizeof(buf));
		if (r > 0) {
			t->base.ev->on_read(t->base.arg, buf, (size_t)r);
			continue;
		}
		int e = SSL_get_error(t->ssl, r);
		int status = e == SSL_ERROR_ZERO_RETURN ? 0 : ERR_NET_RESET;
		if (e == SSL_ERROR_WANT_READ) {
			/* tickets and other post-handshake messages may need an answer */
			flush(t, NULL, NULL);
			if (!t->ended)
				return;
			/* The inner side ended without close_notify: a clean end when
			 * it ended cleanly between records (as with
			 * SSL_OP_IGNORE_UNEXPECTED_EOF), its error when it failed, a
			 * reset when a record was cut short. */
			bool partial = SSL_has_pending(t->ssl) || BIO_ctrl_pending(t->rbio) > 0;
			status = t->end_status ? t->end_status : partial ? ERR_NET_RESET : 0;
		}
		ERR_clear_error();
		t->base.reading = false;
		if (!t->inner_closed && !t->ended)
			net_conn_read_stop(t->inner);
		t->base.ev->on_end(t->base.arg, status);
		return;
	}
}

static void connect_finish(struct tls_conn *t, int status);
static void do_shutdown(struct tls_conn *t);

/* Drive the handshake with what arrived. */
static void handshake(struct tls_conn *t)
{
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->established = true;
		flush(t, NULL, NULL);
		release_held(t, 0);
		if (t->shut_pending)
			do_shutdown(t);
		if (t->connecting) {
			connect_finish(t, 0);
			return;
		}
		/* The inner connection read for the handshake; from now on it
		 * reads only while the owner does. */
		if (!t->base.reading && !t->ended && !t->inner_closed)
			net_conn_read_stop(t->inner);
		return;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		flush(t, NULL, NULL);
		if (!t->ended)
			return;
	}
	/* failed: send the alert, end */
	t->failed = true;
	if (!t->ended && !t->inner_closed)
		net_conn_read_stop(t->inner); /* nothing more is wanted */
	/* An insecure client's verify result is recorded but was not
	 * enforced: its failures are never verification failures. */
	long vr = t->server || t->insecure ? X509_V_OK : SSL_get_verify_result(t->ssl);
	int status = vr != X509_V_OK ? ERR_TLS_VERIFY : ERR_TLS_HANDSHAKE;
	if (vr != X509_V_OK)
		snprintf(tl_verify_error, sizeof(tl_verify_error), "%s",
		         X509_verify_cert_error_string(vr));
	else if (!t->server) {
		ssl_why(tl_verify_error, sizeof(tl_verify_error));
	}
	ERR_clear_error();
	flush(t, NULL, NULL);
	release_held(t, ERR_NET_CLOSED);
	if (t->connecting) {
		connect_finish(t, status);
		return;
	}
	if (t->base.ev && !t->base.closing) {
		t->base.reading = false;
		t->base.ev->on_end(t->base.arg, status);
	}
}

static void inner_read(void *arg, const char *p, size_t n)
{
	struct tls_conn *t = arg;
	if (t->failed || t->base.closing)
		return;
	if (BIO_write(t->rbio, p, (int)n) != (int)n) {
		ERR_clear_error();
		return;
	}
	if (!t->established) {
		handshake(t);
		if (!t->established)
			return;
	}
	pump(t);
}

static void inner_end(void *arg, int status)
{
	struct tls_conn *t = arg;
	t->ended = true;
	t->end_status = status;
	if (t->failed || t->base.closing)
		return;
	if (!t->established) {
		handshake(t); /* fails: nothing more will come */
		return;
	}
	if (t->base.reading)
		pump(t);
	/* else reported when the owner reads again */
}

static void tls_free(struct tls_conn *t)
{
	SSL_free(t->ssl);
	gen_unref(t->gen);
	free(t->name);
	free(t->connecting);
	t->tmagic = 0;
	t->base.magic = 0;
	free(t);
}

static void inner_close(void *arg)
{
	struct tls_conn *t = arg;
	t->inner_closed = true;
	release_held(t, ERR_NET_CLOSED);
	net__defer_flush(t->base.loop, t);
	if (t->base.ev && t->base.ev->on_close)
		t->base.ev->on_close(t->base.arg);
	tls_free(t);
}

static const struct net_conn_events inner_events = {
	.on_read = inner_read,
	.on_end = inner_end,
	.on_close = inner_close,
};

/* Deliver what was held while reading was stopped. */
static void resume(void *arg, int status)
{
	(void)status;
	struct tls_conn *t = arg;
	if (!t->base.reading || t->base.closing)
		return;
	pump(t);
}

static int tls_read_start(struct net_conn *c)
{
	struct tls_conn *t = tls_of(c);
	if (c->closing || c->reading)
		return 0;
	c->reading = true;
	if (t->established &&
	    (SSL_pending(t->ssl) > 0 || BIO_ctrl_pending(t->rbio) > 0 || t->ended))
		net__defer(c->loop, t, resume, t, 0);
	if (t->ended)
		return 0;
	return net_conn_read_start(t->inner);
}

static void tls_read_stop(struct net_conn *c)
{
	struct tls_conn *t = tls_of(c);
	c->reading = false;
	/* The handshake reads whether or not the owner does. */
	if (t->established && !t->inner_closed && !t->ended)
		net_conn_read_stop(t->inner);
}

/* close_notify after everything written so far, then the inner half-close. */
static void do_shutdown(struct tls_conn *t)
{
	t->shut_pending = false;
	SSL_shutdown(t->ssl);
	ERR_clear_error();
	flush(t, NULL, NULL);
	net_conn_shutdown(t->inner);
}

static void tls_shutdown(struct net_conn *c)
{
	struct tls_conn *t = tls_of(c);
	if (c->closing || t->shut || t->failed)
		return;
	t->shut = true;
	if (t->established)
		do_shutdown(t);
	else
		t->shut_pending = true; /* after the held writes */
}

static void tls_close(struct net_conn *c)
{
	struct tls_conn *t = tls_of(c);
	if (c->closing)
		return;
	c->closing = true;
	c->reading = false;
	net_conn_close(t->inner); /* inner_close frees t */
}

static size_t tls_write_queue(const struct net_conn *c)
{
	const struct tls_conn *t = (const struct tls_conn *)c;
	return (size_t)t->queued + (t->inner_closed ? 0 : net_conn_write_queue(t->inner));
}

static void tls_peer(const struct net_conn *c, char *out, size_t cap)
{
	const struct tls_conn *t = (const struct tls_conn *)c;
	net_conn_peer(t->inner, out, cap);
}

static const struct net_transport tls_transport = {
	.name = "tls",
	.read_start = tls_read_start,
	.read_stop = tls_read_stop,
	.write = tls_write,
	.shutdown = tls_shutdown,
	.close = tls_close,
	.write_queue = tls_write_queue,
	.peer = tls_peer,
};

static struct tls_conn *conn_new(struct net_conn *inner, SSL_CTX *ctx)
{
	struct tls_conn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->base.magic = NET_CONN_MAGIC;
	t->base.tp = &tls_transport;
	t->base.loop = net_conn_loop(inner);
	t->tmagic = TLS_MAGIC;
	t->inner = inner;
	t->ssl = SSL_new(ctx);
	t->rbio = BIO_new(BIO_s_mem());
	t->wbio = BIO_new(BIO_s_mem());
	if (!t->ssl || !t->rbio || !t->wbio) {
		BIO_free(t->rbio);
		BIO_free(t->wbio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	BIO_set_mem_eof_return(t->rbio, -1);
	SSL_set_bio(t->ssl, t->rbio, t->wbio);
	net_conn_set_events(inner, &inner_events, t);
	return t;
}

int net_tls_accept(struct net_tls_server *s, struct net_conn *inner, struct net_conn **out)
{
	*out = NULL;
	struct tls_gen *g = server_gen(s);
	struct tls_conn *t = conn_new(inner, g->ctx[0]);
	if (!t) {
		gen_unref(g);
		net_conn_close(inner);
		return ERR_NOMEM;
	}
	t->gen = g;
	t->server = true;
	SSL_set_accept_state(t->ssl);
	/* Read at once: the handshake needs the ClientHello whether or not
	 * the owner reads yet. */
	if (net_conn_read_start(inner)) {
		tls_close(&t->base);
		return ERR_NET_CLOSED;
	}
	*out = &t->base;
	return 0;
}

static void connect_finish(struct tls_conn *t, int status)
{
	struct net_tls_connect *pc = t->connecting;
	t->connecting = NULL;
	if (status == 0) {
		/* the owner starts reading when it is ready */
		if (!t->base.reading && !t->inner_closed)
			net_conn_read_stop(t->inner);
		pc->done(pc->arg, &t->base, 0);
		free(pc);
		return;
	}
	pc->done(pc->arg, NULL, status);
	free(pc);
	t->base.ev = NULL; /* nobody owns it: closed quietly */
	tls_close(&t->base);
}

int net_tls_connect(struct net_tls_client *cl, struct net_conn *inner, const char *server_name,
                    void (*done)(void *arg, struct net_conn *c, int status), void *arg,
                    struct net_tls_connect **out)
{
	*out = NULL;
	SSL_CTX *ctx = client_ctx_ref(cl);
	struct tls_conn *t = conn_new(inner, ctx);
	SSL_CTX_free(ctx); /* the SSL holds its own */
	struct net_tls_connect *pc = t ? calloc(1, sizeof(*pc)) : NULL;
	if (t)
		t->name = strdup(server_name ? server_name : "");
	if (!t || !pc || !t->name) {
		free(pc);
		if (t)
			tls_close(&t->base);
		else
			net_conn_close(inner);
		return ERR_NOMEM;
	}
	*pc = (struct net_tls_connect){ t, done, arg };
	t->connecting = pc;
	t->insecure = cl->insecure;
	SSL_set_connect_state(t->ssl);
	SSL_set_app_data(t->ssl, t->name);
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, t->name, ip) == 1 || inet_pton(AF_INET6, t->name, ip) == 1;
	if (!is_ip && t->name[0])
		SSL_set_tlsext_host_name(t->ssl, t->name);
	if (!cl->insecure) {
		/* Fail closed: without the name set, any certificate of a
		 * trusted CA would pass. */
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		int ok = !t->name[0] ? 0
		         : is_ip     ? X509_VERIFY_PARAM_set1_ip_asc(vp, t->name)
		                     : SSL_set1_host(t->ssl, t->name);
		if (ok != 1) {
			int rc = t->name[0] ? ERR_NOMEM : ERR_INVALID;
			ERR_clear_error();
			t->connecting = NULL;
			free(pc);
			tls_close(&t->base);
			return rc;
		}
	}
	pthread_mutex_lock(&cl->mu);
	for (unsigned i = 0; i < TLS_SESSIONS; i++)
		if (cl->cache[i].sess && strcmp(cl->cache[i].name, t->name) == 0) {
			SSL_set_session(t->ssl, cl->cache[i].sess);
			break;
		}
	pthread_mutex_unlock(&cl->mu);
	*out = pc;
	handshake(t); /* the ClientHello */
	if (t->connecting && net_conn_read_start(inner))
		connect_finish(t, ERR_NET_CLOSED);
	return 0;
}

void net_tls_connect_cancel(struct net_tls_connect *pc)
{
	if (pc && pc->t->connecting == pc)
		connect_finish(pc->t, ERR_NET_CLOSED);
}

bool net_tls_is(const struct net_conn *c)
{
	return c->tp == &tls_transport;
}

const char *net_tls_version(const struct net_conn *c)
{
	return net_tls_is(c) ? SSL_get_version(((const struct tls_conn *)c)->ssl) : NULL;
}

bool net_tls_resumed(const struct net_conn *c)
{
	return net_tls_is(c) && SSL_session_reused(((const struct tls_conn *)c)->ssl);
}
