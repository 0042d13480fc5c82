/*
 * The aws-chunked decoder: the two AWS worked examples byte for byte (seed
 * signature checked with auth_verify, the body fed whole, byte by byte and in
 * random splits), unsigned-payload trailers, SigV4A chunk chains built here
 * from SIGV4.md §3, and one exact error code for each way a body can be
 * wrong. Values marked "AWS" are from the S3 streaming documentation
 * (research notes: /tmp/research/chunked.md, recomputed there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/chunked.h"
#include "auth/sign.h"
#include "auth/verify.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/checksum.h"

/* The AWS example credentials and time (20130524T000000Z). */
#define AWS_AKID   "AKIAIOSFODNN7EXAMPLE"
#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_TIME   INT64_C(1369353600)
#define AWS_DATE   "20130524T000000Z"
#define AWS_SCOPE  "20130524/us-east-1/s3/aws4_request"
#define AWS_CRED   "Credential=" AWS_AKID "/" AWS_SCOPE

#define AWS_SEED         "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define AWS_SIG1         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define AWS_SIG2         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define AWS_SIG_FINAL    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define AWS_T_SEED       "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define AWS_T_SIG1       "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define AWS_T_SIG2       "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define AWS_T_SIG_FINAL  "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define AWS_T_SIG_TRAILR "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

#define AWS_DECODED      66560
#define AWS_BODY_LEN     66824
#define AWS_T_BODY_LEN   66946
#define SIGV4A_SIG_WIDTH 144 /* SDKs pad chunk signatures to this with '*' */

static const char aws_canonical[] =
    "PUT\n/examplebucket/chunkObject.txt\n\n"
    "content-encoding:aws-chunked\ncontent-length:66824\nhost:s3.amazonaws.com\n"
    "x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nx-amz-date:20130524T000000Z\n"
    "x-amz-decoded-content-length:66560\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    "x-amz-decoded-content-length;x-amz-storage-class\n"
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

static const char aws_sts[] = "AWS4-HMAC-SHA256\n" AWS_DATE "\n" AWS_SCOPE "\n"
                              "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455";

static int aws_lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (!iov_eq(ak, IOV_LIT(AWS_AKID)))
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = IOV_LIT(AWS_SECRET);
	out->session_token = IOV_NULL;
	return 0;
}

static const struct auth_creds_ops aws_ops = { "aws-example", aws_lookup };

static const struct auth_verifier verifier = {
	.creds = &aws_ops,
	.region = IOV_LIT("us-east-1"),
	.service = IOV_LIT("s3"),
	.rules = AUTH_URI_S3,
	.s3 = true,
};

/* ---- bodies ---- */

static void add(struct buf *b, const void *p, size_t n)
{
	assert_int_equal(buf_add(b, p, n), 0);
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

static void add_fill(struct buf *b, char c, size_t n)
{
	assert_int_equal(buf_reserve(b, n), 0);
	memset(b->data + b->len, c, n);
	b->len += n;
}

/* The first example's body exactly as the AWS documentation gives it. */
static void aws_body(struct buf *b)
{
	buf_init(b, 1 << 20);
	adds(b, "10000;chunk-signature=" AWS_SIG1 "\r\n");
	add_fill(b, 'a', 65536);
	adds(b, "\r\n400;chunk-signature=" AWS_SIG2 "\r\n");
	add_fill(b, 'a', 1024);
	adds(b, "\r\n0;chunk-signature=" AWS_SIG_FINAL "\r\n\r\n");
	assert_int_equal(b->len, AWS_BODY_LEN);
}

/* The trailer example's body, framed as the AWS SDKs send it. */
static void aws_trailer_body(struct buf *b)
{
	buf_init(b, 1 << 20);
	adds(b, "10000;chunk-signature=" AWS_T_SIG1 "\r\n");
	add_fill(b, 'a', 65536);
	adds(b, "\r\n400;chunk-signature=" AWS_T_SIG2 "\r\n");
	add_fill(b, 'a', 1024);
	adds(b, "\r\n0;chunk-signature=" AWS_T_SIG_FINAL "\r\n"
	        "x-amz-checksum-crc32c:sOO8/Q==\r\n"
	        "x-amz-trailer-signature:" AWS_T_SIG_TRAILR "\r\n\r\n");
	assert_int_equal(b->len, AWS_T_BODY_LEN);
}

/*
 * Builds an aws-chunked body, signing each chunk the way a client does
 * (SIGV4.md §3): chained from the seed, hex(SHA256("")) before the chunk's
 * hash, SigV4A signatures padded with '*'.
 */
struct chunker {
	const struct auth_key *key; /* NULL: STREAMING-UNSIGNED-PAYLOAD-TRAILER */
	const char *date;
	const char *scope;
	char prev[AUTH_MAX_SIGNATURE_HEX + 1];
	bool pad;       /* SigV4A: pad to SIGV4A_SIG_WIDTH */
	bool upper_hex; /* chunk sizes as aws-sdk-rust writes them */
	bool sign_trailer;
	struct buf out;
	size_t frame[8]; /* where each chunk frame starts */
	size_t nframes;
};

static void chunker_init(struct chunker *c, const struct auth_key *key, const char *date,
                         const char *scope, const char *seed, bool trailer)
{
	*c = (struct chunker){ .key = key, .date = date, .scope = scope, .pad = true };
	c->sign_trailer = key && trailer;
	snprintf(c->prev, sizeof(c->prev), "%s", seed ? seed : "");
	buf_init(&c->out, 64u << 20);
}

/* Sign the next link of the chain; *sig gets the padded form. */
static void chunker_sign(struct chunker *c, bool trailer, const uint8_t digest[SHA256_LEN],
                         char sig[AUTH_MAX_SIGNATURE_HEX + 1])
{
	const char *alg = c->key->alg == AUTH_SIGV4A ? AUTH_ALG_SIGV4A : AUTH_ALG_SIGV4;
	char hex[SHA256_HEX_LEN + 1], sts[1024];
	size_t n;
	hex_encode(digest, SHA256_LEN, hex);
	int len = snprintf(sts, sizeof(sts), "%s-%s\n%s\n%s\n%s\n%s%s", alg,
	                   trailer ? "TRAILER" : "PAYLOAD", c->date, c->scope, c->prev,
	                   trailer ? "" : AUTH_EMPTY_SHA256 "\n", hex);
	assert_true(len > 0 && (size_t)len < sizeof(sts));
	assert_int_equal(auth_key_sign(c->key, iov_make(sts, (size_t)len), sig, &n), 0);
	sig[n] = '\0';
	snprintf(c->prev, sizeof(c->prev), "%s", sig);
	if (c->key->alg == AUTH_SIGV4A && c->pad) {
		assert_true(n <= SIGV4A_SIG_WIDTH);
		memset(sig + n, '*', SIGV4A_SIG_WIDTH - n);
		sig[SIGV4A_SIG_WIDTH] = '\0';
	}
}

static void chunker_chunk(struct chunker *c, const char *data, size_t n)
{
	char line[AUTH_CHUNK_LINE_MAX], sig[AUTH_MAX_SIGNATURE_HEX + 1];
	int len = snprintf(line, sizeof(line), c->upper_hex ? "%zX" : "%zx", n);
	if (c->key) {
		uint8_t digest[SHA256_LEN];
		sha256(data, n, digest);
		chunker_sign(c, false, digest, sig);
		len += snprintf(line + len, sizeof(line) - (size_t)len, ";chunk-signature=%s", sig);
	}
	assert_true(c->nframes < sizeof(c->frame) / sizeof(c->frame[0]));
	c->frame[c->nframes++] = c->out.len;
	add(&c->out, line, (size_t)len);
	adds(&c->out, "\r\n");
	add(&c->out, data, n);
	if (n)
		adds(&c->out, "\r\n");
}

/*
 * The final empty chunk, then the trailer lines (each "name:value", names
 * lowercase and sorted, which makes them canonical too), the trailer
 * signature when the mode signs one, and the closing empty line.
 */
static void chunker_end(struct chunker *c, const char *const *trailers, size_t ntrailers)
{
	chunker_chunk(c, "", 0);
	struct sha256_ctx *h = sha256_new();
	assert_non_null(h);
	sha256_init(h);
	for (size_t i = 0; i < ntrailers; i++) {
		adds(&c->out, trailers[i]);
		adds(&c->out, "\r\n");
		sha256_update(h, trailers[i], strlen(trailers[i]));
		sha256_update(h, "\n", 1);
	}
	uint8_t digest[SHA256_LEN];
	sha256_final(h, digest);
	sha256_free(h);
	if (c->sign_trailer) {
		char sig[AUTH_MAX_SIGNATURE_HEX + 1];
		chunker_sign(c, true, digest, sig);
		adds(&c->out, "x-amz-trailer-signature:");
		adds(&c->out, sig);
		adds(&c->out, "\r\n");
	}
	adds(&c->out, "\r\n");
}

/* ---- feeding ---- */

/* Receives decoded bytes; can be told to refuse after `limit` bytes. */
struct sink {
	struct buf data;
	size_t limit;
	int refuse_with;
};

static int sink_data(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;
	if (s->refuse_with && s->data.len + n > s->limit)
		return s->refuse_with;
	return buf_add(&s->data, p, n);
}

enum split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64: a fixed, reproducible sequence of split sizes */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feed the body in pieces; the first error of feed or finish. After an error
 * the decoder must keep refusing, and finish must report the same code. */
static int feed_all(struct auth_chunked *c, const char *p, size_t n, enum split how, struct sink *s)
{
	size_t off = 0;
	while (off < n) {
		size_t piece = how == SPLIT_WHOLE   ? n - off
		               : how == SPLIT_BYTES ? 1
		                                    : (size_t)(rng_next() % 9000);
		if (piece > n - off)
			piece = n - off;
		int rc = auth_chunked_feed(c, p + off, piece, sink_data, s);
		if (rc) {
			assert_int_equal(auth_chunked_feed(c, "0", 1, sink_data, s), rc);
			assert_int_equal(auth_chunked_finish(c), rc);
			assert_non_null(auth_chunked_error(c));
			return rc;
		}
		off += piece;
	}
	return auth_chunked_finish(c);
}

/* Decode one body with a fresh decoder; the caller frees *out and s->data. */
static int decode(const struct auth_verified *v, struct iov body, enum split how, struct sink *s,
                  struct auth_chunked **out)
{
	struct auth_chunked *c = NULL;
	buf_init(&s->data, 64u << 20);
	assert_int_equal(auth_chunked_new(v, &c), 0);
	int rc = feed_all(c, body.base, body.len, how, s);
	if (out)
		*out = c;
	else
		auth_chunked_free(c);
	return rc;
}

/* The body decodes in every split to exactly `want`. */
static void expect_decodes(const char *what, const struct auth_verified *v, struct iov body,
                           struct iov want)
{
	rng_state = 0x9e3779b97f4a7c15u;
	for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
		for (int round = 0; round < (how == SPLIT_RANDOM ? 4 : 1); round++) {
			struct sink s = { 0 };
			struct auth_chunked *c;
			int rc = decode(v, body, (enum split)how, &s, &c);
			if (rc)
				print_error("%s (split %d): %s: %s\n", what, how, err_name(rc),
				            auth_chunked_error(c));
			assert_int_equal(rc, 0);
			assert_int_equal(auth_chunked_decoded(c), want.len);
			assert_true(iov_eq(buf_iov(&s.data), want));
			auth_chunked_free(c);
			buf_free(&s.data);
		}
	}
}

/* The body fails in every split with exactly `want`. */
static void expect_error(const char *what, const struct auth_verified *v, struct iov body, int want)
{
	rng_state = 0x2545f4914f6cdd1du;
	for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
		struct sink s = { 0 };
		int rc = decode(v, body, (enum split)how, &s, NULL);
		if (rc != want)
			print_error("%s (split %d): want %s, got %s\n", what, how, err_name(want),
			            err_name(rc));
		assert_int_equal(rc, want);
		buf_free(&s.data);
	}
}

/* ---- requests ---- */

#define MAX_HEADERS 12

/* Verify the AWS example request (with or without trailer). */
static void verify_aws(bool trailer, struct auth_verified *res)
{
	const struct auth_header h[] = {
		{ IOV_LIT("Host"), IOV_LIT("s3.amazonaws.com") },
		{ IOV_LIT("x-amz-date"), IOV_LIT(AWS_DATE) },
		{ IOV_LIT("x-amz-storage-class"), IOV_LIT("REDUCED_REDUNDANCY") },
		{ IOV_LIT("Authorization"),
		  trailer ? IOV_LIT("AWS4-HMAC-SHA256 " AWS_CRED
		                    ",SignedHeaders=content-encoding;host;x-amz-content-sha256;"
		                    "x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;"
		                    "x-amz-trailer,Signature=" AWS_T_SEED)
		          : IOV_LIT("AWS4-HMAC-SHA256 " AWS_CRED
		                    ",SignedHeaders=content-encoding;content-length;host;"
		                    "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
		                    "x-amz-storage-class,Signature=" AWS_SEED) },
		{ IOV_LIT("x-amz-content-sha256"),
		  trailer ? IOV_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
		          : IOV_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") },
		{ IOV_LIT("Content-Encoding"), IOV_LIT("aws-chunked") },
		{ IOV_LIT("x-amz-decoded-content-length"), IOV_LIT("66560") },
		{ IOV_LIT("Content-Length"), trailer ? IOV_LIT("66946") : IOV_LIT("66824") },
		{ IOV_LIT("x-amz-trailer"), IOV_LIT("x-amz-checksum-crc32c") },
	};
	struct auth_request r = {
		.method = IOV_LIT("PUT"),
		.path = IOV_LIT("/examplebucket/chunkObject.txt"),
		.query = IOV_NULL,
		.headers = h,
		.nheaders = trailer ? 9 : 8,
	};
	auth_verified_init(res);
	int rc = auth_verify(&verifier, &r, AWS_TIME, res);
	if (rc)
		print_error("seed: %s (%s)\n%s\n", err_name(rc), res->detail,
		            buf_cstr(&res->canonical_request));
	assert_int_equal(rc, 0);
	assert_string_equal(res->signature, trailer ? AWS_T_SEED : AWS_SEED);
	assert_int_equal(res->payload, trailer ? AUTH_PAYLOAD_STREAMING_HMAC_TRAILER
	                                       : AUTH_PAYLOAD_STREAMING_HMAC);
	assert_int_equal(res->decoded_length, AWS_DECODED);
}

/* A streaming upload signed here: headers, the signer's output, the verified seed. */
struct upload {
	struct auth_header h[MAX_HEADERS];
	size_t nh;
	char declen[24];
	struct auth_signature sig;
	struct auth_verified res;
	struct auth_key key; /* the chunk-signing key, derived independently */
};

static void upload_sign(struct upload *u, enum auth_alg alg, enum auth_payload mode,
                        uint64_t decoded, const char *trailer)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->declen, sizeof(u->declen), "%llu", (unsigned long long)decoded);
	u->h[u->nh++] = (struct auth_header){ IOV_LIT("Host"), IOV_LIT("s3.amazonaws.com") };
	u->h[u->nh++] = (struct auth_header){ IOV_LIT("Content-Encoding"), IOV_LIT("aws-chunked") };
	u->h[u->nh++] =
	    (struct auth_header){ IOV_LIT("x-amz-decoded-content-length"), iov_cstr(u->declen) };
	if (trailer)
		u->h[u->nh++] = (struct auth_header){ IOV_LIT("x-amz-trailer"), iov_cstr(trailer) };
	struct auth_request r = {
		.method = IOV_LIT("PUT"),
		.path = IOV_LIT("/examplebucket/chunkObject.txt"),
		.headers = u->h,
		.nheaders = u->nh,
	};
	struct auth_sign_opts o = {
		.alg = alg,
		.form = AUTH_FORM_HEADER,
		.creds = { IOV_LIT(AWS_AKID), IOV_LIT(AWS_SECRET), IOV_NULL },
		.region = IOV_LIT("us-east-1"), /* SigV4A: the region set */
		.service = IOV_LIT("s3"),
		.time = AWS_TIME,
		.payload_hash = iov_cstr(auth_payload_literal(mode)),
		.rules = AUTH_URI_S3,
		.content_sha256_header = true,
	};
	auth_signature_init(&u->sig);
	assert_int_equal(auth_sign(&o, &r, &u->sig), 0);
	for (size_t i = 0; i < u->sig.nadded; i++)
		u->h[u->nh++] = u->sig.added[i];
	r.nheaders = u->nh;

	auth_verified_init(&u->res);
	int rc = auth_verify(&verifier, &r, AWS_TIME, &u->res);
	if (rc)
		print_error("seed: %s (%s)\n", err_name(rc), u->res.detail);
	assert_int_equal(rc, 0);
	assert_int_equal(u->res.payload, mode);
	assert_string_equal(u->res.signature, u->sig.signature);

	u->key.alg = alg;
	if (alg == AUTH_SIGV4A)
		assert_int_equal(
		    auth_keycache_v4a(NULL, IOV_LIT(AWS_AKID), IOV_LIT(AWS_SECRET), &u->key.ec), 0);
	else
		auth_sigv4_signing_key(IOV_LIT(AWS_SECRET), IOV_LIT("20130524"),
		                       IOV_LIT("us-east-1"), IOV_LIT("s3"), u->key.ksigning);
}

static void upload_free(struct upload *u)
{
	auth_signature_free(&u->sig);
	auth_verified_free(&u->res);
	p256_key_free(u->key.ec);
}

/* A chunker for the upload's mode, chained from its seed. */
static void upload_chunker(struct upload *u, struct chunker *c)
{
	enum auth_payload m = u->res.payload;
	bool trailer =
	    m == AUTH_PAYLOAD_STREAMING_HMAC_TRAILER || m == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER;
	chunker_init(c, m == AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER ? NULL : &u->key, u->sig.date,
	             buf_cstr(&u->sig.scope), u->sig.signature, trailer);
}

/* "name:<base64 checksum of data>" */
static void trailer_line(char *out, size_t cap, const char *name, enum checksum_alg alg,
                         struct iov data)
{
	struct checksum *sum;
	char b64[CHECKSUM_MAX_BASE64 + 1];
	assert_int_equal(checksum_new(alg, &sum), 0);
	checksum_update(sum, data.base, data.len);
	checksum_final_base64(sum, b64);
	checksum_free(sum);
	snprintf(out, cap, "%s:%s", name, b64);
}

static char *filled(char c, size_t n)
{
	char *p = malloc(n);
	assert_non_null(p);
	memset(p, c, n);
	return p;
}

/* ---- (1) and (2): the AWS worked examples ---- */

static void aws_streaming_example(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body;
	verify_aws(false, &res);
	assert_true(iov_eq(buf_iov(&res.canonical_request), IOV_LIT(aws_canonical)));
	assert_true(iov_eq(buf_iov(&res.string_to_sign), IOV_LIT(aws_sts)));
	aws_body(&body);
	char *a = filled('a', AWS_DECODED);
	expect_decodes("AWS example", &res, buf_iov(&body), iov_make(a, AWS_DECODED));

	/* Our chunk signer reproduces the documented body byte for byte. */
	struct auth_key key = { .alg = AUTH_SIGV4 };
	struct chunker c;
	auth_sigv4_signing_key(IOV_LIT(AWS_SECRET), IOV_LIT("20130524"), IOV_LIT("us-east-1"),
	                       IOV_LIT("s3"), key.ksigning);
	chunker_init(&c, &key, AWS_DATE, AWS_SCOPE, AWS_SEED, false);
	chunker_chunk(&c, a, 65536);
	chunker_chunk(&c, a, 1024);
	chunker_end(&c, NULL, 0);
	assert_true(iov_eq(buf_iov(&c.out), buf_iov(&body)));
	buf_free(&c.out);
	free(a);
	buf_free(&body);
	auth_verified_free(&res);
}

static void aws_seed_from_signer(void **state)
{
	(void)state;
	/* auth_sign gives the documented seed for the documented request. */
	const struct auth_header h[] = {
		{ IOV_LIT("Host"), IOV_LIT("s3.amazonaws.com") },
		{ IOV_LIT("x-amz-storage-class"), IOV_LIT("REDUCED_REDUNDANCY") },
		{ IOV_LIT("Content-Encoding"), IOV_LIT("aws-chunked") },
		{ IOV_LIT("x-amz-decoded-content-length"), IOV_LIT("66560") },
		{ IOV_LIT("Content-Length"), IOV_LIT("66824") },
	};
	struct auth_request r = {
		IOV_LIT("PUT"), IOV_LIT("/examplebucket/chunkObject.txt"), IOV_NULL, h, 5, IOV_NULL
	};
	struct auth_sign_opts o = {
		.alg = AUTH_SIGV4,
		.form = AUTH_FORM_HEADER,
		.creds = { IOV_LIT(AWS_AKID), IOV_LIT(AWS_SECRET), IOV_NULL },
		.region = IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.time = AWS_TIME,
		.payload_hash = IOV_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
		.content_sha256_header = true,
	};
	struct auth_signature s;
	auth_signature_init(&s);
	assert_int_equal(auth_sign(&o, &r, &s), 0);
	assert_string_equal(s.signature, AWS_SEED);
	assert_true(iov_eq(buf_iov(&s.canonical_request), IOV_LIT(aws_canonical)));
	auth_signature_free(&s);
}

static void aws_trailer_example(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body;
	verify_aws(true, &res);
	aws_trailer_body(&body);
	char *a = filled('a', AWS_DECODED);
	expect_decodes("AWS trailer example", &res, buf_iov(&body), iov_make(a, AWS_DECODED));

	struct sink s = { 0 };
	struct auth_chunked *c;
	const struct auth_header *t;
	assert_int_equal(decode(&res, buf_iov(&body), SPLIT_WHOLE, &s, &c), 0);
	assert_int_equal(auth_chunked_trailers(c, &t), 1);
	assert_true(iov_eq(t[0].name, IOV_LIT("x-amz-checksum-crc32c")));
	assert_true(iov_eq(t[0].value, IOV_LIT("sOO8/Q==")));
	auth_chunked_free(c);
	buf_free(&s.data);

	/* Our chunk and trailer signer reproduces the documented body. */
	struct auth_key key = { .alg = AUTH_SIGV4 };
	struct chunker ch;
	const char *const trailers[] = { "x-amz-checksum-crc32c:sOO8/Q==" };
	auth_sigv4_signing_key(IOV_LIT(AWS_SECRET), IOV_LIT("20130524"), IOV_LIT("us-east-1"),
	                       IOV_LIT("s3"), key.ksigning);
	chunker_init(&ch, &key, AWS_DATE, AWS_SCOPE, AWS_T_SEED, true);
	chunker_chunk(&ch, a, 65536);
	chunker_chunk(&ch, a, 1024);
	chunker_end(&ch, trailers, 1);
	assert_true(iov_eq(buf_iov(&ch.out), buf_iov(&body)));
	buf_free(&ch.out);
	free(a);
	buf_free(&body);
	auth_verified_free(&res);
}

/* ---- (3) STREAMING-UNSIGNED-PAYLOAD-TRAILER ---- */

static void unsigned_trailer(void **state)
{
	(void)state;
	for (int alg = AUTH_SIGV4; alg <= AUTH_SIGV4A; alg++) {
		struct upload u;
		struct buf body, want;
		upload_sign(&u, (enum auth_alg)alg, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
		            8192 + 5, "x-amz-checksum-crc32");
		buf_init(&body, 1 << 20);
		buf_init(&want, 1 << 20);
		adds(&body, "2000\r\n");
		add_fill(&body, 'x', 8192);
		adds(&body, "\r\n5\r\nhello\r\n0\r\nx-amz-checksum-crc32:c3Wf0w==\r\n\r\n");
		add_fill(&want, 'x', 8192);
		adds(&want, "hello");
		expect_decodes("unsigned trailer", &u.res, buf_iov(&body), buf_iov(&want));

		struct sink s = { 0 };
		struct auth_chunked *c;
		const struct auth_header *t;
		assert_int_equal(decode(&u.res, buf_iov(&body), SPLIT_BYTES, &s, &c), 0);
		assert_int_equal(auth_chunked_trailers(c, &t), 1);
		assert_true(iov_eq(t[0].name, IOV_LIT("x-amz-checksum-crc32")));
		assert_true(iov_eq(t[0].value, IOV_LIT("c3Wf0w==")));
		auth_chunked_free(c);
		buf_free(&s.data);
		buf_free(&body);
		buf_free(&want);
		upload_free(&u);
	}

	/* No trailers at all: "0\r\n\r\n" ends the body. */
	struct upload u0;
	upload_sign(&u0, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 5, NULL);
	expect_decodes("no trailers", &u0.res, IOV_LIT("5\r\nhello\r\n0\r\n\r\n"),
	               IOV_LIT("hello"));
	upload_free(&u0);

	/* Uppercase hex sizes (aws-sdk-rust) and a trailer name in another case. */
	struct upload u;
	struct chunker c;
	const char *const trailers[] = { "X-Amz-Checksum-CRC32:MB0CbA==" };
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 8202,
	            "x-amz-checksum-crc32");
	upload_chunker(&u, &c);
	c.upper_hex = true;
	char *x = filled('x', 8202);
	chunker_chunk(&c, x, 8202);
	chunker_end(&c, trailers, 1);
	assert_non_null(memchr(c.out.data, 'A', 4)); /* "200A" */
	expect_decodes("uppercase size", &u.res, buf_iov(&c.out), iov_make(x, 8202));
	free(x);
	buf_free(&c.out);
	upload_free(&u);
}

/* ---- (4) SigV4A chunk chains ---- */

static void sigv4a_chunked(void **state)
{
	(void)state;
	static const enum auth_payload modes[] = { AUTH_PAYLOAD_STREAMING_ECDSA,
		                                   AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER };
	const char *const trailers[] = { "x-amz-checksum-crc32:wIDnxg==" };
	char *data = malloc(8192 * 2 + 100);
	assert_non_null(data);
	memset(data, 'A', 8192);
	memset(data + 8192, 'B', 8192);
	memset(data + 16384, 'C', 100);
	struct iov want = iov_make(data, 16484);

	for (size_t m = 0; m < 2; m++) {
		bool trailer = modes[m] == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER;
		for (int pad = 1; pad >= 0; pad--) {
			struct upload u;
			struct chunker c;
			upload_sign(&u, AUTH_SIGV4A, modes[m], 16484,
			            trailer ? "x-amz-checksum-crc32" : NULL);
			assert_int_equal(u.res.alg, AUTH_SIGV4A);
			upload_chunker(&u, &c);
			c.pad = pad;
			chunker_chunk(&c, data, 8192);
			chunker_chunk(&c, data + 8192, 8192);
			chunker_chunk(&c, data + 16384, 100);
			chunker_end(&c, trailers, trailer ? 1 : 0);
			if (pad) /* "2000;chunk-signature=" + 144 */
				assert_memory_equal(c.out.data + 4 + 17 + SIGV4A_SIG_WIDTH, "\r\n",
				                    2);
			expect_decodes(trailer ? "SigV4A trailer" : "SigV4A", &u.res,
			               buf_iov(&c.out), want);

			/* A changed data byte, or a changed signature digit, breaks the chain. */
			struct buf bad = { 0 };
			buf_init(&bad, 1 << 20);
			add(&bad, c.out.data, c.out.len);
			const char *eol = memchr(bad.data + c.frame[1], '\n', 256);
			assert_non_null(eol);
			bad.data[(size_t)(eol - bad.data) + 1 + 100] ^= 1;
			expect_error("SigV4A data byte", &u.res, buf_iov(&bad),
			             ERR_CHUNK_SIGNATURE);
			memcpy(bad.data, c.out.data, c.out.len);
			char *digit = bad.data + c.frame[1] + 4 + 17 + 20;
			*digit = *digit == '0' ? '1' : '0';
			expect_error("SigV4A signature digit", &u.res, buf_iov(&bad),
			             ERR_CHUNK_SIGNATURE);
			buf_free(&bad);
			buf_free(&c.out);
			upload_free(&u);
		}
	}
	free(data);
}

/* The decoder keeps what it needs: the verified result may go first. */
static void decoder_outlives_request(void **state)
{
	(void)state;
	struct upload u;
	struct chunker c;
	struct auth_chunked *dec;
	char *x = filled('x', 8192);
	upload_sign(&u, AUTH_SIGV4A, AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER, 8192,
	            "x-amz-checksum-crc32");
	upload_chunker(&u, &c);
	chunker_chunk(&c, x, 8192);
	char line[64];
	trailer_line(line, sizeof(line), "x-amz-checksum-crc32", CHECKSUM_CRC32, iov_make(x, 8192));
	const char *const crc[] = { line };
	chunker_end(&c, crc, 1);
	assert_int_equal(auth_chunked_new(&u.res, &dec), 0);
	upload_free(&u);
	assert_int_equal(auth_chunked_feed(dec, c.out.data, c.out.len, NULL, NULL), 0);
	assert_int_equal(auth_chunked_finish(dec), 0);
	assert_int_equal(auth_chunked_decoded(dec), 8192);
	auth_chunked_free(dec);
	buf_free(&c.out);
	free(x);
}

/* A streaming seed must declare the decoded length. */
static void seed_without_decoded_length(void **state)
{
	(void)state;
	struct auth_header h[8] = {
		{ IOV_LIT("Host"), IOV_LIT("s3.amazonaws.com") },
		{ IOV_LIT("Content-Encoding"), IOV_LIT("aws-chunked") },
	};
	struct auth_request r = {
		IOV_LIT("PUT"), IOV_LIT("/examplebucket/chunkObject.txt"), IOV_NULL, h, 2, IOV_NULL
	};
	struct auth_sign_opts o = {
		.alg = AUTH_SIGV4,
		.form = AUTH_FORM_HEADER,
		.creds = { IOV_LIT(AWS_AKID), IOV_LIT(AWS_SECRET), IOV_NULL },
		.region = IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.time = AWS_TIME,
		.payload_hash = IOV_LIT("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
		.content_sha256_header = true,
	};
	struct auth_signature s;
	struct auth_verified res;
	auth_signature_init(&s);
	assert_int_equal(auth_sign(&o, &r, &s), 0);
	for (size_t i = 0; i < s.nadded; i++)
		h[r.nheaders++] = s.added[i];
	auth_verified_init(&res);
	assert_int_equal(auth_verify(&verifier, &r, AWS_TIME, &res), ERR_AUTH_DECODED_LENGTH);
	auth_verified_free(&res);
	auth_signature_free(&s);
}

/* ---- (5) errors ---- */

/* A copy of `b` with `n` bytes at `at` replaced by `with`. */
static void splice(struct buf *out, struct iov b, size_t at, size_t n, const char *with)
{
	buf_init(out, 64u << 20);
	add(out, b.base, at);
	adds(out, with);
	add(out, b.base + at + n, b.len - at - n);
}

static void bad_signatures(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body, bad;
	verify_aws(false, &res);
	aws_body(&body);
	struct iov b = buf_iov(&body);

	splice(&bad, b, 100, 1, "b");
	expect_error("flipped data byte", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	splice(&bad, b, 65626 + 3 + 17 + 64 + 2 + 500, 1, "b");
	expect_error("flipped data byte, chunk 2", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	/* The last digit of the first chunk's signature (…648 -> …649). */
	splice(&bad, b, 5 + 17 + 63, 1, "9");
	expect_error("flipped signature digit", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	/* The final chunk's signature. */
	splice(&bad, b, AWS_BODY_LEN - 86 + 2 + 17, 1, "c");
	expect_error("final chunk signature", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	/* Uppercase hex is not the signature's spelling. */
	splice(&bad, b, 5 + 17, 2, "AD");
	expect_error("uppercase signature", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	/* A chunk without its signature in a signed mode. */
	splice(&bad, b, 5, 17 + 64, "");
	expect_error("no chunk-signature", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	buf_free(&body);
	auth_verified_free(&res);

	/* Trailer signature: a changed digit, or a changed trailer value. */
	verify_aws(true, &res);
	aws_trailer_body(&body);
	b = buf_iov(&body);
	splice(&bad, b, AWS_T_BODY_LEN - 5, 1, "6");
	expect_error("flipped trailer signature", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	splice(&bad, b, AWS_T_BODY_LEN - 2 - 90 - 32 + 22, 8, "sOO8/R==");
	expect_error("changed trailer value", &res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	/* Leaving the trailer signature out. */
	splice(&bad, b, AWS_T_BODY_LEN - 2 - 90, 90, "");
	expect_error("no trailer signature", &res, buf_iov(&bad), ERR_CHUNK_TRAILER);
	buf_free(&bad);
	buf_free(&body);
	auth_verified_free(&res);
}

static void reordered_chunks(void **state)
{
	(void)state;
	struct upload u;
	struct chunker c;
	struct buf bad;
	char *data = malloc(3 * 8192);
	assert_non_null(data);
	memset(data, '1', 8192);
	memset(data + 8192, '2', 8192);
	memset(data + 16384, '3', 8192);
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 3 * 8192, NULL);
	upload_chunker(&u, &c);
	for (int i = 0; i < 3; i++)
		chunker_chunk(&c, data + i * 8192, 8192);
	chunker_end(&c, NULL, 0);
	expect_decodes("three chunks", &u.res, buf_iov(&c.out), iov_make(data, 3 * 8192));

	/* Frames 1 and 2 swapped: each is intact but out of its place in the chain. */
	size_t f1 = c.frame[0], f2 = c.frame[1], f3 = c.frame[2];
	buf_init(&bad, 1 << 20);
	add(&bad, c.out.data + f2, f3 - f2);
	add(&bad, c.out.data + f1, f2 - f1);
	add(&bad, c.out.data + f3, c.out.len - f3);
	assert_int_equal(bad.len, c.out.len);
	expect_error("chunks 1 and 2 swapped", &u.res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);

	/* A chunk dropped from the middle (with the length adjusted to match). */
	struct upload u2;
	struct chunker c2;
	upload_sign(&u2, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 2 * 8192, NULL);
	upload_chunker(&u2, &c2);
	for (int i = 0; i < 3; i++)
		chunker_chunk(&c2, data + i * 8192, 8192);
	chunker_end(&c2, NULL, 0);
	buf_init(&bad, 1 << 20);
	add(&bad, c2.out.data, c2.frame[1]);
	add(&bad, c2.out.data + c2.frame[2], c2.out.len - c2.frame[2]);
	expect_error("chunk 2 dropped", &u2.res, buf_iov(&bad), ERR_CHUNK_SIGNATURE);
	buf_free(&bad);
	buf_free(&c2.out);
	upload_free(&u2);
	buf_free(&c.out);
	upload_free(&u);
	free(data);
}

static void truncated_and_overlong(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body, bad;
	verify_aws(false, &res);
	aws_body(&body);
	static const size_t cuts[] = { 1,
		                       5,
		                       50,
		                       86,
		                       1000,
		                       65624,
		                       65626,
		                       65700,
		                       AWS_BODY_LEN - 86,
		                       AWS_BODY_LEN - 3,
		                       AWS_BODY_LEN - 2,
		                       AWS_BODY_LEN - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "truncated to %zu", cuts[i]);
		expect_error(what, &res, iov_make(body.data, cuts[i]), ERR_CHUNK_INCOMPLETE);
	}
	/* An empty body is incomplete too. */
	expect_error("empty body", &res, iov_make(body.data, 0), ERR_CHUNK_INCOMPLETE);

	splice(&bad, buf_iov(&body), AWS_BODY_LEN, 0, "x");
	expect_error("a byte after the end", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, buf_iov(&body), AWS_BODY_LEN, 0, "\r\n");
	expect_error("an extra CRLF", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	/* A trailer line where a plain streaming body must end. */
	splice(&bad, buf_iov(&body), AWS_BODY_LEN - 2, 0, "x-amz-checksum-crc32:AAAAAA==\r\n");
	expect_error("trailer without -TRAILER mode", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	buf_free(&body);
	auth_verified_free(&res);

	/* The trailer example cut inside the trailers. */
	verify_aws(true, &res);
	aws_trailer_body(&body);
	for (size_t cut = AWS_T_BODY_LEN - 124; cut < AWS_T_BODY_LEN; cut += 7)
		expect_error("trailer truncated", &res, iov_make(body.data, cut),
		             ERR_CHUNK_INCOMPLETE);
	expect_error("trailer truncated", &res, iov_make(body.data, AWS_T_BODY_LEN - 1),
	             ERR_CHUNK_INCOMPLETE);
	buf_free(&body);
	auth_verified_free(&res);
}

/* Framing errors in both a signed and the unsigned mode. */
static void framing(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body, bad;
	verify_aws(false, &res);
	aws_body(&body);
	struct iov b = buf_iov(&body);

	splice(&bad, b, 5 + 17 + 64 + 2 + 65536, 2, "");
	expect_error("no CRLF after data", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 5 + 17 + 64 + 2 + 65536, 2, "\n");
	expect_error("LF only after data", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 5 + 17 + 64, 2, "\n");
	expect_error("bare LF ending a size line", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 5 + 17 + 64, 2, "\r\r\n");
	expect_error("bare CR in a size line", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 0, 5, "1000g");
	expect_error("non-hex size", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 0, 5, "");
	expect_error("empty size", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	splice(&bad, b, 0, 5, " 10000");
	expect_error("space before size", &res, buf_iov(&bad), ERR_CHUNK_MALFORMED);
	buf_free(&bad);
	buf_free(&body);
	auth_verified_free(&res);

	/* Unsigned mode, where the framing is all there is. */
	struct upload u;
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 32u << 20, NULL);
	static const struct {
		const char *what;
		const char *body;
	} rows[] = {
		{ "bare LF in a size line", "2000\nxxxx" },
		{ "non-hex size", "2g00\r\n" },
		{ "0x prefix", "0x2000\r\n" },
		{ "signed size", "+2000\r\n" },
		{ "size over 16 MiB", "1000001\r\n" },
		{ "size of 2^64", "10000000000000000\r\n" },
		{ "chunk extension", "2000;foo=bar\r\n" },
		{ "chunk signature in unsigned mode", "2000;chunk-signature=00\r\n" },
		{ "empty extension", "2000;\r\n" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_error(rows[i].what, &u.res, iov_cstr(rows[i].body), ERR_CHUNK_MALFORMED);
	upload_free(&u);

	/* Exactly 16 MiB is accepted as a size (the data may follow). */
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 32u << 20, NULL);
	expect_error("16 MiB chunk, no data yet", &u.res, IOV_LIT("1000000\r\n"),
	             ERR_CHUNK_INCOMPLETE);
	upload_free(&u);
}

static void lengths_and_sizes(void **state)
{
	(void)state;
	struct upload u;
	struct buf body;
	char *x = filled('x', 3 * 8192);

	/* More data than x-amz-decoded-content-length, in one chunk or across two. */
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 8192, NULL);
	buf_init(&body, 1 << 20);
	adds(&body, "2000\r\n");
	add(&body, x, 8192);
	adds(&body, "\r\n5\r\nhello\r\n0\r\n\r\n");
	expect_error("more than declared", &u.res, buf_iov(&body), ERR_CHUNK_MALFORMED);
	buf_free(&body);
	upload_free(&u);
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 100, NULL);
	expect_error("one chunk over", &u.res, IOV_LIT("2000\r\n"), ERR_CHUNK_MALFORMED);
	upload_free(&u);

	/* Less than declared: the final chunk arrives early. */
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 8200, NULL);
	buf_init(&body, 1 << 20);
	adds(&body, "2000\r\n");
	add(&body, x, 8192);
	adds(&body, "\r\n0\r\n\r\n");
	expect_error("less than declared", &u.res, buf_iov(&body), ERR_CHUNK_INCOMPLETE);
	buf_free(&body);
	upload_free(&u);

	/* A small chunk followed by another non-empty one, signed and unsigned. */
	struct chunker c;
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 100 + 8192, NULL);
	upload_chunker(&u, &c);
	chunker_chunk(&c, x, 100);
	chunker_chunk(&c, x, 8192);
	chunker_end(&c, NULL, 0);
	expect_error("small chunk first (signed)", &u.res, buf_iov(&c.out), ERR_CHUNK_SIZE);
	buf_free(&c.out);
	upload_free(&u);
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, 8191 + 8192, NULL);
	upload_chunker(&u, &c);
	chunker_chunk(&c, x, 8191);
	chunker_chunk(&c, x, 8192);
	chunker_end(&c, NULL, 0);
	expect_error("small chunk first (unsigned)", &u.res, buf_iov(&c.out), ERR_CHUNK_SIZE);
	buf_free(&c.out);
	upload_free(&u);

	/* 8192 exactly is not small, and a small last chunk is fine. */
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 8192 + 8192 + 1, NULL);
	upload_chunker(&u, &c);
	chunker_chunk(&c, x, 8192);
	chunker_chunk(&c, x, 8192);
	chunker_chunk(&c, x, 1);
	chunker_end(&c, NULL, 0);
	expect_decodes("8192, 8192, 1", &u.res, buf_iov(&c.out), iov_make(x, 8192 * 2 + 1));
	buf_free(&c.out);
	upload_free(&u);

	/* An empty object: just the final chunk. */
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 0, NULL);
	upload_chunker(&u, &c);
	chunker_end(&c, NULL, 0);
	expect_decodes("empty object", &u.res, buf_iov(&c.out), IOV_LIT(""));
	buf_free(&c.out);
	upload_free(&u);
	free(x);
}

static void trailers(void **state)
{
	(void)state;
	struct upload u;
	const char *const crc[] = { "x-amz-checksum-crc32:c3Wf0w==" };
	const char *const sha[] = { "x-amz-checksum-sha256:"
		                    "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=" };
	const char *const both[] = { crc[0], sha[0] };
	char *x = filled('x', 8192);
	static const enum auth_payload modes[] = { AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
		                                   AUTH_PAYLOAD_STREAMING_HMAC_TRAILER,
		                                   AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER };

	for (size_t m = 0; m < 3; m++) {
		enum auth_alg alg =
		    modes[m] == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER ? AUTH_SIGV4A : AUTH_SIGV4;
		struct chunker c;

		/* An undeclared trailer, alone or next to the declared one. */
		upload_sign(&u, alg, modes[m], 8192, "x-amz-checksum-crc32");
		upload_chunker(&u, &c);
		chunker_chunk(&c, x, 8192);
		chunker_end(&c, sha, 1);
		expect_error("undeclared trailer", &u.res, buf_iov(&c.out), ERR_CHUNK_TRAILER);
		buf_free(&c.out);
		upload_chunker(&u, &c);
		chunker_chunk(&c, x, 8192);
		chunker_end(&c, both, 2);
		expect_error("declared + undeclared", &u.res, buf_iov(&c.out), ERR_CHUNK_TRAILER);
		buf_free(&c.out);

		/* A declared trailer missing. */
		upload_chunker(&u, &c);
		chunker_chunk(&c, x, 8192);
		chunker_end(&c, NULL, 0);
		expect_error("missing trailer", &u.res, buf_iov(&c.out), ERR_CHUNK_TRAILER);
		buf_free(&c.out);

		/* The same trailer twice. */
		const char *const twice[] = { crc[0], crc[0] };
		upload_chunker(&u, &c);
		chunker_chunk(&c, x, 8192);
		chunker_end(&c, twice, 2);
		expect_error("trailer twice", &u.res, buf_iov(&c.out), ERR_CHUNK_TRAILER);
		buf_free(&c.out);
		upload_free(&u);

		/* S3 takes one checksum: two declared (a comma list) are refused. */
		struct auth_chunked *two = NULL;
		upload_sign(&u, alg, modes[m], 8192, "x-amz-checksum-crc32, x-amz-checksum-sha256");
		assert_int_equal(auth_chunked_new(&u.res, &two), ERR_CHUNK_TRAILER);
		assert_null(two);
		upload_free(&u);

		/* An unknown checksum algorithm is refused. */
		upload_sign(&u, alg, modes[m], 8192, "x-amz-checksum-md5");
		assert_int_equal(auth_chunked_new(&u.res, &two), ERR_CHUNK_TRAILER);
		upload_free(&u);

		/* Every algorithm: the right value decodes, a wrong one is BadDigest. */
		for (int a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
			char name[64], line[128];
			snprintf(name, sizeof(name), "x-amz-checksum-%s",
			         checksum_alg_name((enum checksum_alg)a));
			trailer_line(line, sizeof(line), name, (enum checksum_alg)a,
			             iov_make(x, 8192));
			const char *const good[] = { line };
			upload_sign(&u, alg, modes[m], 8192, name);
			upload_chunker(&u, &c);
			chunker_chunk(&c, x, 8192);
			chunker_end(&c, good, 1);
			expect_decodes(name, &u.res, buf_iov(&c.out), iov_make(x, 8192));
			buf_free(&c.out);

			/* The same value over data that differs in one byte (chunks
			 * signed over the changed data, so only the checksum differs). */
			x[4096] ^= 1;
			upload_chunker(&u, &c);
			chunker_chunk(&c, x, 8192);
			chunker_end(&c, good, 1);
			x[4096] ^= 1;
			expect_error(name, &u.res, buf_iov(&c.out), ERR_CHUNK_CHECKSUM);
			buf_free(&c.out);

			/* A wrong value over the right data (signed again, so only the
			 * checksum can catch it). */
			char *eq = strchr(line, ':') + 1;
			*eq = *eq == 'A' ? 'B' : 'A';
			upload_chunker(&u, &c);
			chunker_chunk(&c, x, 8192);
			chunker_end(&c, good, 1);
			expect_error(name, &u.res, buf_iov(&c.out), ERR_CHUNK_CHECKSUM);
			buf_free(&c.out);
			upload_free(&u);
		}
	}

	/* Trailers declared for a mode that has none. */
	struct auth_chunked *dec = NULL;
	upload_sign(&u, AUTH_SIGV4, AUTH_PAYLOAD_STREAMING_HMAC, 8192, "x-amz-checksum-crc32");
	assert_int_equal(auth_chunked_new(&u.res, &dec), ERR_CHUNK_TRAILER);
	assert_null(dec);
	upload_free(&u);
	free(x);
}

static int refuse(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return ERR_IO;
}

static void receiver_errors(void **state)
{
	(void)state;
	struct auth_verified res;
	struct buf body;
	verify_aws(false, &res);
	aws_body(&body);

	/* A refusal on the first byte aborts at once. */
	struct auth_chunked *c;
	assert_int_equal(auth_chunked_new(&res, &c), 0);
	assert_int_equal(auth_chunked_feed(c, body.data, body.len, refuse, NULL), ERR_IO);
	assert_int_equal(auth_chunked_feed(c, body.data, 1, NULL, NULL), ERR_IO);
	assert_int_equal(auth_chunked_finish(c), ERR_IO);
	auth_chunked_free(c);

	/* A refusal in the second chunk, whatever the split. */
	struct sink s = { .limit = 65536 + 10, .refuse_with = ERR_NOMEM };
	rng_state = 7;
	for (int how = SPLIT_WHOLE; how <= SPLIT_RANDOM; how++) {
		assert_int_equal(decode(&res, buf_iov(&body), (enum split)how, &s, NULL),
		                 ERR_NOMEM);
		assert_true(s.data.len <= s.limit);
		buf_free(&s.data);
	}
	buf_free(&body);
	auth_verified_free(&res);
}

static void not_chunked(void **state)
{
	(void)state;
	struct auth_verified v;
	struct auth_chunked *c = NULL;
	auth_verified_init(&v);
	v.payload = AUTH_PAYLOAD_HASH;
	assert_int_equal(auth_chunked_new(&v, &c), ERR_INVALID);
	v.payload = AUTH_PAYLOAD_UNSIGNED;
	assert_int_equal(auth_chunked_new(&v, &c), ERR_INVALID);
	assert_null(c);
	auth_verified_free(&v);
	auth_chunked_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aws_streaming_example),
		cmocka_unit_test(aws_seed_from_signer),
		cmocka_unit_test(aws_trailer_example),
		cmocka_unit_test(unsigned_trailer),
		cmocka_unit_test(sigv4a_chunked),
		cmocka_unit_test(decoder_outlives_request),
		cmocka_unit_test(seed_without_decoded_length),
		cmocka_unit_test(bad_signatures),
		cmocka_unit_test(reordered_chunks),
		cmocka_unit_test(truncated_and_overlong),
		cmocka_unit_test(framing),
		cmocka_unit_test(lengths_and_sizes),
		cmocka_unit_test(trailers),
		cmocka_unit_test(receiver_errors),
		cmocka_unit_test(not_chunked),
	};
	return cmocka_run_group_tests_name("test_chunked", tests, NULL, NULL);
}
