/*
 * SigV4A key derivation: (access key id, secret) -> P-256 private scalar, per
 * NIST SP 800-108 counter mode with HMAC-SHA256 and rejection sampling, as
 * aws-c-auth key_derivation.c does it (../shared/docs/SIGV4.md §4). The cost is
 * the point multiplication that follows, so callers cache the key pair.
 * Pure; any thread.
 */
#ifndef MERIDIAN_CRYPTO_SIGV4A_KDF_H
#define MERIDIAN_CRYPTO_SIGV4A_KDF_H

#include <stdint.h>

#include "base/iov.h"
#include "crypto/p256.h"

/* The private scalar d. 0, or ERR_TOO_BIG for an access key id over 1024
 * bytes, or ERR_CRYPTO if every counter (1..254) was rejected. */
int sigv4a_derive_scalar(struct iov access_key, struct iov secret, uint8_t d[P256_SCALAR_LEN]);
/* The key pair for the credentials (scalar then d*G). */
int sigv4a_derive_key(struct iov access_key, struct iov secret, struct p256_key **out);
/* The fixed input for one counter value, for known-answer tests: writes
 * 32 + access_key.len bytes into out and returns that length. */
size_t sigv4a_fixed_input(struct iov access_key, uint8_t counter, uint8_t *out, size_t cap);

#endif
