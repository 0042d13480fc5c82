/* SHA-256 and HMAC on cached EVP objects. Any thread. */
#include "crypto/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "base/check.h"
#include "base/hex.h"

struct sha256_ctx {
	EVP_MD_CTX *md;
};

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static pthread_key_t ctx_key; /* frees a thread's context when it exits */

static void ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	CHECK(sha256_md != NULL);
	CHECK(pthread_key_create(&ctx_key, ctx_free) == 0);
}

/* The calling thread's scratch context for one-shot digests. */
static EVP_MD_CTX *thread_ctx(void)
{
	static _Thread_local EVP_MD_CTX *ctx;
	pthread_once(&sha256_once, sha256_fetch);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		CHECK(ctx != NULL);
		CHECK(pthread_setspecific(ctx_key, ctx) == 0);
	}
	return ctx;
}

void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	EVP_MD_CTX *ctx = thread_ctx();
	CHECK(EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1);
	CHECK(EVP_DigestUpdate(ctx, p, n) == 1);
	CHECK(EVP_DigestFinal_ex(ctx, out, NULL) == 1);
}

void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];
	sha256(p, n, d);
	hex_encode(d, SHA256_LEN, out);
}

struct sha256_ctx *sha256_new(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	struct sha256_ctx *c = OPENSSL_zalloc(sizeof(*c));
	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md) {
		OPENSSL_free(c);
		return NULL;
	}
	sha256_init(c);
	return c;
}

void sha256_free(struct sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	OPENSSL_free(c);
}

void sha256_init(struct sha256_ctx *c)
{
	CHECK(EVP_DigestInit_ex2(c->md, sha256_md, NULL) == 1);
}

void sha256_update(struct sha256_ctx *c, const void *p, size_t n)
{
	CHECK(EVP_DigestUpdate(c->md, p, n) == 1);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	CHECK(EVP_DigestFinal_ex(c->md, out, NULL) == 1);
}

/* RFC 2104 over the cached digest: cheaper than an EVP_MAC context per call. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                 uint8_t out[SHA256_LEN])
{
	uint8_t k[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK], inner[SHA256_LEN];
	EVP_MD_CTX *ctx = thread_ctx();

	if (klen > SHA256_BLOCK)
		sha256(key, klen, k);
	else if (klen)
		memcpy(k, key, klen);

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	CHECK(EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1);
	CHECK(EVP_DigestUpdate(ctx, pad, SHA256_BLOCK) == 1);
	CHECK(EVP_DigestUpdate(ctx, msg, mlen) == 1);
	CHECK(EVP_DigestFinal_ex(ctx, inner, NULL) == 1);

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	CHECK(EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1);
	CHECK(EVP_DigestUpdate(ctx, pad, SHA256_BLOCK) == 1);
	CHECK(EVP_DigestUpdate(ctx, inner, SHA256_LEN) == 1);
	CHECK(EVP_DigestFinal_ex(ctx, out, NULL) == 1);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
