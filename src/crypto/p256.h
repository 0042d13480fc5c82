/*
 * ECDSA over NIST P-256 with SHA-256 digests, on OpenSSL 3. A key is built
 * from a raw private scalar (SigV4A derives one per access key) or from a raw
 * public point, and is immutable afterwards, so one key may be shared by all
 * threads. Each thread keeps its own signing and verifying contexts for the
 * keys it used last, so a sign or verify costs what `openssl speed` measures.
 */
#ifndef MERIDIAN_CRYPTO_P256_H
#define MERIDIAN_CRYPTO_P256_H

#include <stddef.h>
#include <stdint.h>

#define P256_SCALAR_LEN 32
#define P256_SIG_MAX    72 /* DER SEQUENCE{INTEGER r, INTEGER s} */

struct p256_key;

/* Key pair from a big-endian scalar d in [1, n-1]; the public point is d*G.
 * Returns 0, ERR_INVALID (d out of range) or ERR_CRYPTO/ERR_NOMEM. */
int p256_key_from_scalar(const uint8_t d[P256_SCALAR_LEN], struct p256_key **out);
/* Public-only key from affine X and Y (32 bytes each, big-endian). */
int p256_key_from_public(const uint8_t x[32], const uint8_t y[32], struct p256_key **out);
/* Shared ownership: up_ref adds a reference, free drops one; free(NULL) is a no-op. */
void p256_key_up_ref(struct p256_key *k);
void p256_key_free(struct p256_key *k);

/* The public point as affine big-endian X and Y. 0 or ERR_CRYPTO. */
int p256_key_public(const struct p256_key *k, uint8_t x[32], uint8_t y[32]);

/* DER signature over a 32-byte digest into sig (P256_SIG_MAX bytes).
 * 0, ERR_INVALID (public-only key) or ERR_CRYPTO. */
int p256_sign(struct p256_key *k, const uint8_t digest[32], uint8_t *sig, size_t *siglen);
/* 0 when the DER signature is valid for the digest, ERR_INVALID when it is
 * not (including DER that does not parse), ERR_CRYPTO on library failure. */
int p256_verify(struct p256_key *k, const uint8_t digest[32], const uint8_t *sig, size_t siglen);

/* Release the calling thread's cached contexts (call before a thread exits). */
void p256_thread_cleanup(void);

#endif
