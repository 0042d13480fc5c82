/*
 * SHA-256 and HMAC-SHA256 on OpenSSL 3's EVP interface. The digest is fetched
 * once per process and each thread keeps one reusable context, because
 * implicit fetches per call cost more than hashing a signed request
 * (openssl/openssl#17064). All functions are safe on any thread.
 */
#ifndef MERIDIAN_CRYPTO_SHA256_H
#define MERIDIAN_CRYPTO_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

#define SHA256_LEN     32
#define SHA256_HEX_LEN 64
#define SHA256_BLOCK   64

/* One-shot digest. Aborts (CHECK) only if libcrypto itself fails. */
void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);
/* Lowercase hex of the digest plus NUL (65 bytes). */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_LEN + 1]);

/* Streaming digest. A context is owned by one caller at a time. */
struct sha256_ctx;
struct sha256_ctx *sha256_new(void);
void sha256_free(struct sha256_ctx *c);
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *p, size_t n);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);

/* One-shot HMAC-SHA256 with any key length. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                 uint8_t out[SHA256_LEN]);

/* Constant-time equality of two equal-length byte strings (CRYPTO_memcmp). */
bool crypto_equal(const void *a, const void *b, size_t n);

#endif
