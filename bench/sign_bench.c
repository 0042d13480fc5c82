/*
 * Per-core rates of SigV4 and SigV4A signing and verifying a typical S3 GET,
 * as the edge signs and the store verifies it (keys cached, as in service).
 * Prints "name ops/s" lines measured in this thread's CPU time, like
 * `openssl speed`, for bench/sign to set beside OpenSSL's own figures.
 * usage: bench_sign_bench [seconds-per-op [only-this-op]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sign.h"
#include "auth/verify.h"
#include "base/check.h"
#include "base/err.h"

#define AKID   "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (!iov_eq(ak, IOV_LIT(AKID)))
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = IOV_LIT(SECRET);
	out->session_token = IOV_NULL;
	return 0;
}

static const struct auth_creds_ops ops = { "bench", lookup };

/* A typical viewer GET as the edge forwards it. */
static const struct auth_header base_headers[] = {
	{ IOV_LIT("Host"), IOV_LIT("mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com") },
	{ IOV_LIT("Accept-Encoding"), IOV_LIT("gzip, br") },
	{ IOV_LIT("If-None-Match"), IOV_LIT("\"9b2cf535f27731c974343645a3985328\"") },
	{ IOV_LIT("X-Amz-Cf-Id"), IOV_LIT("2d7f0c1e-6a7b-4f3e-9d1a-7c5e3b2a1f00") },
};

struct fixture {
	struct auth_sign_opts opts;
	struct auth_request req;
	struct auth_header signed_headers[8];
	struct auth_signature sig;
};

static void prepare(struct fixture *f, enum auth_alg alg, struct auth_keycache *kc, int64_t now)
{
	f->opts = (struct auth_sign_opts){
		.alg = alg,
		.form = AUTH_FORM_HEADER,
		.creds = { IOV_LIT(AKID), IOV_LIT(SECRET), IOV_NULL },
		.region = alg == AUTH_SIGV4A ? IOV_LIT("*") : IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.time = now,
		.payload_hash = IOV_LIT(AUTH_EMPTY_SHA256),
		.rules = AUTH_URI_S3,
		.content_sha256_header = true,
		.keys = kc,
	};
	f->req = (struct auth_request){ IOV_LIT("GET"),
		                        IOV_LIT("/assets/css/site.min.css"),
		                        IOV_LIT("v=20261126"),
		                        base_headers,
		                        4,
		                        IOV_NULL };
	auth_signature_init(&f->sig);
	CHECK(auth_sign(&f->opts, &f->req, &f->sig) == 0);
	size_t n = 0;
	for (size_t i = 0; i < 4; i++)
		f->signed_headers[n++] = base_headers[i];
	for (size_t i = 0; i < f->sig.nadded; i++)
		f->signed_headers[n++] = f->sig.added[i];
	f->req.headers = f->signed_headers;
	f->req.nheaders = n;
}

typedef int (*op_fn)(struct fixture *f, void *arg);

static const char *only;

static double measure(const char *name, op_fn fn, struct fixture *f, void *arg, double seconds)
{
	if (only && strcmp(only, name) != 0)
		return 0;
	unsigned long long n = 0;
	double start = cpu_now(), now = start;
	while (now - start < seconds) {
		for (int i = 0; i < 64; i++)
			CHECK(fn(f, arg) == 0);
		n += 64;
		now = cpu_now();
	}
	double rate = (double)n / (now - start);
	printf("%-14s %12.0f\n", name, rate);
	fflush(stdout);
	return rate;
}

static int op_sign(struct fixture *f, void *arg)
{
	(void)arg;
	struct auth_request r = f->req;
	r.headers = base_headers;
	r.nheaders = 4;
	struct auth_signature s;
	auth_signature_init(&s);
	int rc = auth_sign(&f->opts, &r, &s);
	auth_signature_free(&s);
	return rc;
}

static int op_verify(struct fixture *f, void *arg)
{
	const struct auth_verifier *v = arg;
	struct auth_verified res;
	auth_verified_init(&res);
	int rc = auth_verify(v, &f->req, f->opts.time, &res);
	auth_verified_free(&res);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	only = argc > 2 ? argv[2] : NULL;
	struct auth_keycache *kc = auth_keycache_new(64);
	int64_t now = clock_now();
	struct auth_verifier v = {
		.creds = &ops,
		.keys = kc,
		.region = IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
	struct fixture v4, v4a;
	prepare(&v4, AUTH_SIGV4, kc, now);
	prepare(&v4a, AUTH_SIGV4A, kc, now);

	measure("sigv4-sign", op_sign, &v4, NULL, seconds);
	measure("sigv4-verify", op_verify, &v4, &v, seconds);
	measure("sigv4a-sign", op_sign, &v4a, NULL, seconds);
	measure("sigv4a-verify", op_verify, &v4a, &v, seconds);

	auth_signature_free(&v4.sig);
	auth_signature_free(&v4a.sig);
	auth_keycache_free(kc);
	return 0;
}
