/* MD5 on a cached EVP_MD. Any thread. */
#include "crypto/md5.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"

struct md5_ctx {
	EVP_MD_CTX *md;
};

static EVP_MD *md5_md;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_fetch(void)
{
	md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
	CHECK(md5_md != NULL);
}

void md5(const void *p, size_t n, uint8_t out[MD5_LEN])
{
	pthread_once(&md5_once, md5_fetch);
	CHECK(EVP_Digest(p, n, out, NULL, md5_md, NULL) == 1);
}

void md5_hex(const void *p, size_t n, char out[MD5_HEX_LEN + 1])
{
	uint8_t d[MD5_LEN];
	md5(p, n, d);
	hex_encode(d, MD5_LEN, out);
}

int md5_new(struct md5_ctx **out)
{
	pthread_once(&md5_once, md5_fetch);
	struct md5_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->md = EVP_MD_CTX_new();
	if (!c->md) {
		free(c);
		return ERR_NOMEM;
	}
	md5_init(c);
	*out = c;
	return 0;
}

void md5_free(struct md5_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

void md5_init(struct md5_ctx *c)
{
	CHECK(EVP_DigestInit_ex2(c->md, md5_md, NULL) == 1);
}

void md5_update(struct md5_ctx *c, const void *p, size_t n)
{
	CHECK(EVP_DigestUpdate(c->md, p, n) == 1);
}

void md5_final(struct md5_ctx *c, uint8_t out[MD5_LEN])
{
	CHECK(EVP_DigestFinal_ex(c->md, out, NULL) == 1);
}
