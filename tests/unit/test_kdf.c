/*
 * SigV4A key derivation against the known answers of SIGV4.md §4, P-256
 * keys and ECDSA, and the key cache: cached keys equal direct derivation
 * whatever the cache size, and the cache is keyed on the secret too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/keycache.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/p256.h"
#include "crypto/sha256.h"
#include "crypto/sigv4a_kdf.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* SIGV4.md §4, both rows. */
struct kat {
	const char *akid, *secret, *fixed, *k0, *d, *x, *y;
};

static const struct kat kats[] = {
	{ "AKISORANDOMAASORANDOM", "q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom",
	  "00000001415753342d45434453412d503235362d53484132353600414b49534f52414e444f4d4141534f52"
	  "414e444f4d0100000100",
	  "7fd3bd010c0d9c292141c2b77bfbde1042c92e6836fff749d1269ec890fca1bc",
	  "7fd3bd010c0d9c292141c2b77bfbde1042c92e6836fff749d1269ec890fca1bd",
	  "15d242ceebf8d8169fd6a8b5a746c41140414c3b07579038da06af89190fffcb",
	  "0515242cedd82e94799482e4c0514b505afccf2c0c98d6a553bf539f424c5ec0" },
	{ "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	  "00000001415753342d45434453412d503235362d53484132353600414b49444558414d504c450100000100",
	  "7efc8c0e65a324242818c5a50c891c6060b6a00717b7ba3cbe3c5d765be9259b",
	  "7efc8c0e65a324242818c5a50c891c6060b6a00717b7ba3cbe3c5d765be9259c",
	  "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1",
	  "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518" },
};

/* P-256 generator and order (SEC 2). */
#define P256_GX    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
#define P256_GY    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
#define P256_NEGGY "b01cbd1c01e58065711814b583f061e9d431cca994cea1313449bf97c840ae0a"
#define P256_N     "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
#define P256_N1    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550"
#define P256_N_P1  "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552"

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(hex_decode(iov_cstr(hex), out, n), 0);
}

static void expect_hex(const char *what, const uint8_t *got, size_t n, const char *want)
{
	char hex[2 * 128 + 1];
	assert_true(n <= 128);
	hex_encode(got, n, hex);
	if (strcmp(hex, want) != 0)
		fail_msg("%s:\n  got  %s\n  want %s", what, hex, want);
}

/* The key's public point as hex X and Y. */
static void public_hex(struct p256_key *k, char x[65], char y[65])
{
	uint8_t bx[32], by[32];
	assert_int_equal(p256_key_public(k, bx, by), 0);
	hex_encode(bx, 32, x);
	hex_encode(by, 32, y);
}

static bool same_public(struct p256_key *a, struct p256_key *b)
{
	char ax[65], ay[65], bx[65], by[65];
	public_hex(a, ax, ay);
	public_hex(b, bx, by);
	return strcmp(ax, bx) == 0 && strcmp(ay, by) == 0;
}

/* ---- sigv4a_kdf ----------------------------------------------------------------------- */

static void kdf_fixed_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(kats); i++) {
		uint8_t fixed[128];
		size_t n = sigv4a_fixed_input(iov_cstr(kats[i].akid), 1, fixed, sizeof(fixed));
		assert_int_equal(n, 32 + strlen(kats[i].akid));
		expect_hex(kats[i].akid, fixed, n, kats[i].fixed);
		/* k0 = HMAC("AWS4A" || secret, FixedInput). */
		char key[64];
		uint8_t k0[SHA256_LEN];
		int klen = snprintf(key, sizeof(key), "AWS4A%s", kats[i].secret);
		hmac_sha256(key, (size_t)klen, fixed, n, k0);
		expect_hex("k0", k0, SHA256_LEN, kats[i].k0);
	}
}

static void kdf_fixed_input_counter_and_cap(void **state)
{
	(void)state;
	const struct iov ak = IOV_LIT("AKIDEXAMPLE");
	uint8_t one[64], two[64];
	size_t n1 = sigv4a_fixed_input(ak, 1, one, sizeof(one));
	size_t n2 = sigv4a_fixed_input(ak, 254, two, sizeof(two));
	assert_int_equal(n1, 43);
	assert_int_equal(n2, 43);
	/* Only the counter byte, just before L, differs. */
	assert_memory_equal(one, two, n1 - 5);
	assert_int_equal(two[n1 - 5], 254);
	assert_memory_equal(one + n1 - 4, two + n1 - 4, 4);
	/* Too little room: nothing written, 0 returned. */
	assert_int_equal(sigv4a_fixed_input(ak, 1, one, 42), 0);
	assert_int_equal(sigv4a_fixed_input(ak, 1, one, 43), 43);
}

static void kdf_scalar_kat(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(kats); i++) {
		uint8_t d[P256_SCALAR_LEN];
		assert_int_equal(
		    sigv4a_derive_scalar(iov_cstr(kats[i].akid), iov_cstr(kats[i].secret), d), 0);
		expect_hex(kats[i].akid, d, P256_SCALAR_LEN, kats[i].d);
	}
}

static void kdf_key_kat(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(kats); i++) {
		struct p256_key *k = NULL;
		char x[65], y[65];
		assert_int_equal(
		    sigv4a_derive_key(iov_cstr(kats[i].akid), iov_cstr(kats[i].secret), &k), 0);
		public_hex(k, x, y);
		assert_string_equal(x, kats[i].x);
		assert_string_equal(y, kats[i].y);
		p256_key_free(k);
	}
}

/* A different secret or access key gives a different scalar. */
static void kdf_inputs_matter(void **state)
{
	(void)state;
	uint8_t a[32], b[32], c[32];
	assert_int_equal(sigv4a_derive_scalar(IOV_LIT("AKIDEXAMPLE"), IOV_LIT("secret"), a), 0);
	assert_int_equal(sigv4a_derive_scalar(IOV_LIT("AKIDEXAMPLE"), IOV_LIT("secreT"), b), 0);
	assert_int_equal(sigv4a_derive_scalar(IOV_LIT("AKIDEXAMPLF"), IOV_LIT("secret"), c), 0);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, c, 32);
}

static void kdf_lengths(void **state)
{
	(void)state;
	static char akid[1026];
	uint8_t d[P256_SCALAR_LEN];
	struct p256_key *k = NULL;

	memset(akid, 'A', sizeof(akid));
	/* About 330 characters (aws-c-auth's long-access-key case): fine. */
	assert_int_equal(sigv4a_derive_scalar(iov_make(akid, 330), IOV_LIT("secret"), d), 0);
	assert_int_equal(sigv4a_derive_key(iov_make(akid, 330), IOV_LIT("secret"), &k), 0);
	assert_non_null(k);
	p256_key_free(k);
	/* The limit is 1024 bytes. */
	assert_int_equal(sigv4a_derive_scalar(iov_make(akid, 1024), IOV_LIT("secret"), d), 0);
	assert_int_equal(sigv4a_derive_scalar(iov_make(akid, 1025), IOV_LIT("secret"), d),
	                 ERR_TOO_BIG);
	k = NULL;
	assert_int_equal(sigv4a_derive_key(iov_make(akid, 1025), IOV_LIT("secret"), &k),
	                 ERR_TOO_BIG);
	assert_null(k);
	/* Secrets have the same limit. */
	assert_int_equal(sigv4a_derive_scalar(IOV_LIT("AKID"), iov_make(akid, 1024), d), 0);
	assert_int_equal(sigv4a_derive_scalar(IOV_LIT("AKID"), iov_make(akid, 1025), d),
	                 ERR_TOO_BIG);
}

/* ---- p256 ----------------------------------------------------------------------------- */

static void p256_scalar_range(void **state)
{
	static const struct {
		const char *d;
		int rc;
		const char *x, *y;
	} cases[] = {
		{ "0000000000000000000000000000000000000000000000000000000000000000", ERR_INVALID,
		  NULL, NULL },
		{ P256_N, ERR_INVALID, NULL, NULL },
		{ P256_N_P1, ERR_INVALID, NULL, NULL },
		{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", ERR_INVALID,
		  NULL, NULL },
		{ "0000000000000000000000000000000000000000000000000000000000000001", 0, P256_GX,
		  P256_GY },
		{ P256_N1, 0, P256_GX, P256_NEGGY }, /* (n-1)G = -G */
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		uint8_t d[32];
		struct p256_key *k = NULL;
		from_hex(cases[i].d, d, 32);
		int rc = p256_key_from_scalar(d, &k);
		if (rc != cases[i].rc)
			fail_msg("d=%s: rc %s", cases[i].d, err_name(rc));
		if (rc) {
			assert_null(k);
			continue;
		}
		char x[65], y[65];
		public_hex(k, x, y);
		assert_string_equal(x, cases[i].x);
		assert_string_equal(y, cases[i].y);
		p256_key_free(k);
	}
}

static void p256_sign_verify(void **state)
{
	(void)state;
	struct p256_key *k = NULL, *pub = NULL, *other = NULL;
	uint8_t digest[32], sig[P256_SIG_MAX], x[32], y[32];
	size_t siglen = 0;

	assert_int_equal(sigv4a_derive_key(IOV_LIT("AKIDEXAMPLE"),
	                                   IOV_LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), &k),
	                 0);
	assert_int_equal(sigv4a_derive_key(IOV_LIT("AKIDOTHER"), IOV_LIT("other"), &other), 0);
	sha256("message", 7, digest);
	assert_int_equal(p256_sign(k, digest, sig, &siglen), 0);
	assert_true(siglen >= 8 && siglen <= P256_SIG_MAX);
	assert_int_equal(sig[0], 0x30); /* DER SEQUENCE */
	assert_int_equal(p256_verify(k, digest, sig, siglen), 0);

	/* The public half alone verifies, and cannot sign. */
	assert_int_equal(p256_key_public(k, x, y), 0);
	assert_int_equal(p256_key_from_public(x, y, &pub), 0);
	assert_int_equal(p256_verify(pub, digest, sig, siglen), 0);
	uint8_t sig2[P256_SIG_MAX];
	size_t siglen2 = 0;
	assert_int_equal(p256_sign(pub, digest, sig2, &siglen2), ERR_INVALID);
	assert_true(same_public(k, pub));

	/* A modified digest, a modified signature, another key. */
	uint8_t bad[32];
	memcpy(bad, digest, 32);
	bad[31] ^= 1;
	assert_int_equal(p256_verify(k, bad, sig, siglen), ERR_INVALID);
	assert_int_equal(p256_verify(pub, bad, sig, siglen), ERR_INVALID);
	assert_int_equal(p256_verify(other, digest, sig, siglen), ERR_INVALID);
	sig[siglen - 1] ^= 0x01;
	assert_int_equal(p256_verify(k, digest, sig, siglen), ERR_INVALID);
	sig[siglen - 1] ^= 0x01;
	assert_int_equal(p256_verify(k, digest, sig, siglen - 1), ERR_INVALID);
	assert_int_equal(p256_verify(k, digest, sig, siglen), 0);

	/* Garbage that is not DER at all. */
	static const uint8_t garbage[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	assert_int_equal(p256_verify(k, digest, garbage, sizeof(garbage)), ERR_INVALID);
	assert_int_equal(p256_verify(k, digest, garbage, 0), ERR_INVALID);
	/* DER SEQUENCE { INTEGER 0, INTEGER 0 }: parses, never valid. */
	static const uint8_t zeros[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00 };
	assert_int_equal(p256_verify(k, digest, zeros, sizeof(zeros)), ERR_INVALID);

	/* Signatures are randomised but every one verifies. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(p256_sign(k, digest, sig2, &siglen2), 0);
		assert_int_equal(p256_verify(pub, digest, sig2, siglen2), 0);
	}
	p256_key_free(k);
	p256_key_free(pub);
	p256_key_free(other);
}

/* More keys than a thread's context slots, used in turn. */
static void p256_many_keys(void **state)
{
	(void)state;
	struct p256_key *keys[9];
	uint8_t digest[32], sig[P256_SIG_MAX];
	size_t siglen;
	for (size_t i = 0; i < N_ELEMS(keys); i++) {
		char ak[16];
		snprintf(ak, sizeof(ak), "AKID%zu", i);
		assert_int_equal(sigv4a_derive_key(iov_cstr(ak), IOV_LIT("s"), &keys[i]), 0);
	}
	sha256("m", 1, digest);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < N_ELEMS(keys); i++) {
			size_t j = (i + 1) % N_ELEMS(keys);
			assert_int_equal(p256_sign(keys[i], digest, sig, &siglen), 0);
			assert_int_equal(p256_verify(keys[i], digest, sig, siglen), 0);
			assert_int_equal(p256_verify(keys[j], digest, sig, siglen), ERR_INVALID);
		}
	}
	for (size_t i = 0; i < N_ELEMS(keys); i++)
		p256_key_free(keys[i]);
	p256_thread_cleanup();
}

static void p256_public_rejects(void **state)
{
	(void)state;
	uint8_t x[32], y[32];
	struct p256_key *k = NULL;
	/* G with Y + 1 is not on the curve. */
	from_hex(P256_GX, x, 32);
	from_hex(P256_GY, y, 32);
	y[31] ^= 1;
	assert_int_equal(p256_key_from_public(x, y, &k), ERR_INVALID);
	assert_null(k);
	y[31] ^= 1;
	assert_int_equal(p256_key_from_public(x, y, &k), 0);
	assert_non_null(k);
	/* Shared ownership: two references, two frees. */
	p256_key_up_ref(k);
	p256_key_free(k);
	char hx[65], hy[65];
	public_hex(k, hx, hy);
	assert_string_equal(hx, P256_GX);
	p256_key_free(k);
	p256_key_free(NULL);
}

/* ---- keycache: SigV4A ----------------------------------------------------------------- */

static void keycache_v4a_equals_derivation(void **state)
{
	(void)state;
	struct auth_keycache *kc = auth_keycache_new(16);
	assert_non_null(kc);
	for (size_t i = 0; i < N_ELEMS(kats); i++) {
		struct p256_key *a = NULL, *b = NULL;
		char x[65], y[65];
		assert_int_equal(
		    auth_keycache_v4a(kc, iov_cstr(kats[i].akid), iov_cstr(kats[i].secret), &a), 0);
		public_hex(a, x, y);
		assert_string_equal(x, kats[i].x);
		assert_string_equal(y, kats[i].y);
		/* The second call hands out the cached key. */
		assert_int_equal(
		    auth_keycache_v4a(kc, iov_cstr(kats[i].akid), iov_cstr(kats[i].secret), &b), 0);
		assert_ptr_equal(a, b);
		p256_key_free(a);
		p256_key_free(b);
	}
	auth_keycache_free(kc);
	auth_keycache_free(NULL);
}

/* A rotated secret for the same access key derives anew. */
static void keycache_v4a_keyed_on_secret(void **state)
{
	(void)state;
	struct auth_keycache *kc = auth_keycache_new(16);
	struct p256_key *a = NULL, *b = NULL, *c = NULL, *direct = NULL;
	const struct iov ak = IOV_LIT("AKIDEXAMPLE");
	assert_int_equal(auth_keycache_v4a(kc, ak, IOV_LIT("old-secret"), &a), 0);
	assert_int_equal(auth_keycache_v4a(kc, ak, IOV_LIT("new-secret"), &b), 0);
	assert_ptr_not_equal(a, b);
	assert_false(same_public(a, b));
	assert_int_equal(sigv4a_derive_key(ak, IOV_LIT("new-secret"), &direct), 0);
	assert_true(same_public(b, direct));
	assert_int_equal(auth_keycache_v4a(kc, ak, IOV_LIT("old-secret"), &c), 0);
	assert_true(same_public(a, c));
	p256_key_free(a);
	p256_key_free(b);
	p256_key_free(c);
	p256_key_free(direct);
	auth_keycache_free(kc);
}

/* With a one-set cache, many keys evict each other; every answer stays right
 * and keys handed out survive their eviction. */
static void keycache_v4a_tiny(void **state)
{
	(void)state;
	enum { NKEYS = 12 };
	struct auth_keycache *kc = auth_keycache_new(1);
	char x[NKEYS][65], y[NKEYS][65];
	struct p256_key *held[NKEYS] = { NULL };
	assert_non_null(kc);
	for (size_t i = 0; i < NKEYS; i++) {
		char ak[16], sk[16];
		struct p256_key *k = NULL;
		snprintf(ak, sizeof(ak), "AKID%zu", i);
		snprintf(sk, sizeof(sk), "secret%zu", i);
		assert_int_equal(sigv4a_derive_key(iov_cstr(ak), iov_cstr(sk), &k), 0);
		public_hex(k, x[i], y[i]);
		p256_key_free(k);
	}
	for (int round = 0; round < 3; round++) {
		for (size_t j = 0; j < NKEYS; j++) {
			/* Vary the order so that hits and evictions both happen. */
			size_t i = round == 1 ? NKEYS - 1 - j : (j * 5) % NKEYS;
			char ak[16], sk[16], gx[65], gy[65];
			struct p256_key *k = NULL;
			snprintf(ak, sizeof(ak), "AKID%zu", i);
			snprintf(sk, sizeof(sk), "secret%zu", i);
			assert_int_equal(auth_keycache_v4a(kc, iov_cstr(ak), iov_cstr(sk), &k), 0);
			public_hex(k, gx, gy);
			if (strcmp(gx, x[i]) != 0 || strcmp(gy, y[i]) != 0)
				fail_msg("round %d key %zu: wrong public key", round, i);
			p256_key_free(held[i]);
			held[i] = k;
		}
	}
	auth_keycache_free(kc);
	/* Keys handed out outlive the cache. */
	for (size_t i = 0; i < NKEYS; i++) {
		char gx[65], gy[65];
		public_hex(held[i], gx, gy);
		assert_string_equal(gx, x[i]);
		p256_key_free(held[i]);
	}
}

/* No cache, or an access key too long to cache: derived every time. */
static void keycache_v4a_uncached(void **state)
{
	(void)state;
	static char akid[600];
	struct auth_keycache *kc = auth_keycache_new(4);
	struct p256_key *a = NULL, *b = NULL, *direct = NULL;
	memset(akid, 'K', sizeof(akid));
	const struct iov ak = iov_make(akid, sizeof(akid));
	assert_int_equal(sigv4a_derive_key(ak, IOV_LIT("s"), &direct), 0);
	assert_int_equal(auth_keycache_v4a(kc, ak, IOV_LIT("s"), &a), 0);
	assert_int_equal(auth_keycache_v4a(NULL, ak, IOV_LIT("s"), &b), 0);
	assert_true(same_public(a, direct));
	assert_true(same_public(b, direct));
	p256_key_free(a);
	p256_key_free(b);
	p256_key_free(direct);
	static char huge[1100];
	memset(huge, 'H', sizeof(huge));
	a = NULL;
	assert_int_equal(auth_keycache_v4a(kc, iov_make(huge, sizeof(huge)), IOV_LIT("s"), &a),
	                 ERR_TOO_BIG);
	assert_null(a);
	auth_keycache_free(kc);
}

/* ---- keycache: SigV4 ------------------------------------------------------------------ */

struct v4_case {
	const char *secret, *date8, *region, *service, *key_hex;
};

/* SIGV4.md §2 and two more computed independently (Python hmac). */
static const struct v4_case v4_cases[] = {
	{ "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service",
	  "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75" },
	{ "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20240229", "eu-west-1", "s3",
	  "f48fc4aaf1d64240201dedd71be0c6dac5db4efc4838ab4cb7863d835375bb9f" },
	{ "q+jcrXGc+0zWN6uzclKVhvMmUsIfRPa4rlRandom", "20240229", "eu-west-1", "s3",
	  "f5ba445bdc8686312db38ad20ea1a6863f61636c3ab46dd62fed77a5d8e87bd8" },
};

static void keycache_v4_known(void **state)
{
	(void)state;
	struct auth_keycache *kc = auth_keycache_new(8);
	/* Twice round, so the second pass meets cached and replaced scopes. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < N_ELEMS(v4_cases); i++) {
			const struct v4_case *c = &v4_cases[i];
			uint8_t direct[SHA256_LEN], cached[SHA256_LEN], none[SHA256_LEN];
			auth_sigv4_signing_key(iov_cstr(c->secret), iov_cstr(c->date8),
			                       iov_cstr(c->region), iov_cstr(c->service), direct);
			expect_hex("direct", direct, SHA256_LEN, c->key_hex);
			for (int rep = 0; rep < 2; rep++) {
				memset(cached, 0, sizeof(cached));
				assert_int_equal(auth_keycache_v4(kc, IOV_LIT("AKIDEXAMPLE"),
				                                  iov_cstr(c->secret),
				                                  iov_cstr(c->date8),
				                                  iov_cstr(c->region),
				                                  iov_cstr(c->service), cached),
				                 0);
				expect_hex("cached", cached, SHA256_LEN, c->key_hex);
			}
			assert_int_equal(auth_keycache_v4(NULL, IOV_LIT("AKIDEXAMPLE"),
			                                  iov_cstr(c->secret), iov_cstr(c->date8),
			                                  iov_cstr(c->region), iov_cstr(c->service),
			                                  none),
			                 0);
			expect_hex("uncached", none, SHA256_LEN, c->key_hex);
		}
	}
	auth_keycache_free(kc);
}

/* Scopes whose parts join to the same text are still different scopes. */
static void keycache_v4_scope_parts(void **state)
{
	(void)state;
	/* All four join to "20150830/us-east-1/s3/x". */
	static const char *const parts[][3] = {
		{ "20150830", "us-east-1/s3", "x" },
		{ "20150830", "us-east-1", "s3/x" },
		{ "20150830/us-east-1", "s3", "x" },
		{ "20150830/us-east-1/s3", "", "x" },
	};
	struct auth_keycache *kc = auth_keycache_new(8);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < N_ELEMS(parts); i++) {
			uint8_t direct[SHA256_LEN], cached[SHA256_LEN];
			auth_sigv4_signing_key(IOV_LIT("secret"), iov_cstr(parts[i][0]),
			                       iov_cstr(parts[i][1]), iov_cstr(parts[i][2]),
			                       direct);
			assert_int_equal(auth_keycache_v4(kc, IOV_LIT("AKID"), IOV_LIT("secret"),
			                                  iov_cstr(parts[i][0]),
			                                  iov_cstr(parts[i][1]),
			                                  iov_cstr(parts[i][2]), cached),
			                 0);
			if (memcmp(direct, cached, SHA256_LEN) != 0)
				fail_msg("pass %d: '%s' '%s' '%s': cached key differs", pass,
				         parts[i][0], parts[i][1], parts[i][2]);
		}
	}
	auth_keycache_free(kc);
}

/* The SigV4 cache is keyed on the secret too, and shares entries with v4a. */
static void keycache_v4_secret_and_mix(void **state)
{
	(void)state;
	struct auth_keycache *kc = auth_keycache_new(1);
	const struct v4_case *a = &v4_cases[1], *b = &v4_cases[2];
	uint8_t out[SHA256_LEN];
	struct p256_key *k = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(auth_keycache_v4(kc, IOV_LIT("AKID"), iov_cstr(a->secret),
		                                  iov_cstr(a->date8), iov_cstr(a->region),
		                                  iov_cstr(a->service), out),
		                 0);
		expect_hex("secret a", out, SHA256_LEN, a->key_hex);
		assert_int_equal(
		    auth_keycache_v4a(kc, IOV_LIT("AKIDEXAMPLE"),
		                      IOV_LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), &k),
		    0);
		char x[65], y[65];
		public_hex(k, x, y);
		assert_string_equal(x, kats[1].x);
		p256_key_free(k);
		assert_int_equal(auth_keycache_v4(kc, IOV_LIT("AKID"), iov_cstr(b->secret),
		                                  iov_cstr(b->date8), iov_cstr(b->region),
		                                  iov_cstr(b->service), out),
		                 0);
		expect_hex("secret b", out, SHA256_LEN, b->key_hex);
	}
	static char huge[1025];
	memset(huge, 's', sizeof(huge));
	assert_int_equal(auth_keycache_v4(kc, IOV_LIT("AKID"), iov_make(huge, sizeof(huge)),
	                                  IOV_LIT("20150830"), IOV_LIT("us-east-1"), IOV_LIT("s3"),
	                                  out),
	                 ERR_TOO_BIG);
	auth_keycache_free(kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kdf_fixed_input),
		cmocka_unit_test(kdf_fixed_input_counter_and_cap),
		cmocka_unit_test(kdf_scalar_kat),
		cmocka_unit_test(kdf_key_kat),
		cmocka_unit_test(kdf_inputs_matter),
		cmocka_unit_test(kdf_lengths),
		cmocka_unit_test(p256_scalar_range),
		cmocka_unit_test(p256_sign_verify),
		cmocka_unit_test(p256_many_keys),
		cmocka_unit_test(p256_public_rejects),
		cmocka_unit_test(keycache_v4a_equals_derivation),
		cmocka_unit_test(keycache_v4a_keyed_on_secret),
		cmocka_unit_test(keycache_v4a_tiny),
		cmocka_unit_test(keycache_v4a_uncached),
		cmocka_unit_test(keycache_v4_known),
		cmocka_unit_test(keycache_v4_scope_parts),
		cmocka_unit_test(keycache_v4_secret_and_mix),
	};
	return cmocka_run_group_tests_name("test_kdf", tests, NULL, NULL);
}
