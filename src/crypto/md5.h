/*
 * MD5 for S3 ETags and Content-MD5 on OpenSSL 3's EVP interface, never for
 * security. The digest is fetched once per process (an implicit fetch per
 * call costs more than hashing a small part). Any thread; a streaming
 * context is owned by one caller at a time.
 */
#ifndef MERIDIAN_CRYPTO_MD5_H
#define MERIDIAN_CRYPTO_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_LEN     16
#define MD5_HEX_LEN 32

/* One-shot digest. Aborts (CHECK) only if libcrypto itself fails, or has no
 * MD5 (a FIPS-only provider configuration). */
void md5(const void *p, size_t n, uint8_t out[MD5_LEN]);
/* Lowercase hex of the digest plus NUL (33 bytes): the ETag's spelling. */
void md5_hex(const void *p, size_t n, char out[MD5_HEX_LEN + 1]);

/* Streaming digest: 0 and a context ready for md5_update, or ERR_NOMEM. */
struct md5_ctx;
int md5_new(struct md5_ctx **out);
void md5_free(struct md5_ctx *c);
/* Start over (after md5_final, to reuse the context). */
void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *p, size_t n);
void md5_final(struct md5_ctx *c, uint8_t out[MD5_LEN]);

#endif
