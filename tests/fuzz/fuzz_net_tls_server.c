/*
 * libFuzzer: arbitrary bytes as a client's first flight into a server-side
 * TLS connection (net/tls over the in-memory transport). OpenSSL parses the
 * records; what is ours is the BIO glue, the handshake state machine, held
 * writes, shutdown and close. The first byte chooses: bit 0 a write before
 * the handshake ends, bit 1 a shutdown before it ends, bit 2 no EOF after
 * the input, bits 4..7 the size of the pieces it is fed in (0: whole).
 * Invariants: no crash, no leak, every write's done runs exactly once and
 * before on_close, and the connection always closes.
 *
 * The server certificate is made at start with OpenSSL's API (a self-signed
 * P-256 key), in a temporary directory removed at once.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/check.h"
#include "base/err.h"
#include "net/mem.h"
#include "net/tls.h"

static struct net_loop *loop;
static struct net_tls_server *srv;

struct owner {
	struct net_conn *c;
	unsigned writes, dones, ends;
	bool closed;
};

static void write_done(void *arg, int status)
{
	struct owner *o = arg;
	(void)status;
	CHECK(!o->closed);
	o->dones++;
}

static void on_read(void *arg, const char *p, size_t n)
{
	struct owner *o = arg;
	/* answer a little, from a static buffer (p is borrowed) */
	static const char pong[] = "pong";
	(void)p;
	struct iov v = IOV_LIT(pong);
	if (n && o->writes < 8 && net_conn_write(o->c, &v, 1, write_done, o) == 0)
		o->writes++;
}

static void on_end(void *arg, int status)
{
	struct owner *o = arg;
	(void)status;
	o->ends++;
	net_conn_close(o->c);
}

static void on_close(void *arg)
{
	struct owner *o = arg;
	CHECK(o->dones == o->writes);
	o->closed = true;
}

static const struct net_conn_events events = { on_read, on_end, on_close };

static void make_server(void)
{
	char dir[] = "/tmp/meridian-fuzz-tls-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char crt[64], key[64];
	snprintf(crt, sizeof(crt), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	CHECK(pk && x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, pk);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz.test", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	CHECK(X509_sign(x, pk, EVP_sha256()) > 0);
	FILE *f = fopen(crt, "w");
	CHECK(f && PEM_write_X509(f, x) == 1);
	fclose(f);
	f = fopen(key, "w");
	CHECK(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
	struct net_tls_cert cert = { crt, key };
	char err[NET_TLS_ERR_LEN];
	CHECK(net_tls_server_new(&cert, 1, &srv, err, sizeof(err)) == 0);
	unlink(crt);
	unlink(key);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!loop) {
		CHECK(net_loop_new(&loop) == 0);
		make_server();
	}
	uint8_t mode = size ? data[0] : 0;
	if (size) {
		data++;
		size--;
	}
	struct net_conn *m = net_mem_new(loop);
	CHECK(m != NULL);
	struct owner o = { 0 };
	CHECK(net_tls_accept(srv, m, &o.c) == 0);
	net_conn_set_events(o.c, &events, &o);
	CHECK(net_conn_read_start(o.c) == 0);
	if (mode & 1) {
		static const char early[] = "held until the handshake ends";
		struct iov v = IOV_LIT(early);
		CHECK(net_conn_write(o.c, &v, 1, write_done, &o) == 0);
		o.writes++;
	}
	if (mode & 2)
		net_conn_shutdown(o.c);
	size_t piece = (size_t)(mode >> 4) * 23;
	if (piece == 0)
		piece = size ? size : 1;
	for (size_t off = 0; off < size && !o.closed; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		net_mem_feed(m, (const char *)data + off, n);
		net_mem_settle(loop);
	}
	if (!(mode & 4) && !o.closed)
		net_mem_eof(m);
	net_mem_settle(loop);
	if (!o.closed)
		net_conn_close(o.c);
	net_mem_settle(loop);
	CHECK(o.closed);
	CHECK(o.dones == o.writes);
	CHECK(o.ends <= 1);
	net_mem_release(m);
	net_mem_settle(loop);
	return 0;
}
