/*
 * Per-access-key signing material, derived once and reused: the SigV4A key
 * pair (derivation costs a point multiplication, as much as a signature) and
 * the SigV4 day key kSigning for the last (date, region, service) seen.
 * Bounded: a set-associative table that evicts the least recently used entry
 * of a set. Entries are keyed by access key id and secret together, so a
 * rotated secret derives anew; the secret copy is compared in constant time
 * and wiped on eviction. Thread-safe: one mutex, held only for table
 * bookkeeping, never while deriving.
 */
#ifndef MERIDIAN_AUTH_KEYCACHE_H
#define MERIDIAN_AUTH_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "crypto/p256.h"
#include "crypto/sha256.h"

struct auth_keycache;

/* A cache holding about `entries` access keys (rounded up to a whole set).
 * NULL on allocation failure. */
struct auth_keycache *auth_keycache_new(size_t entries);
void auth_keycache_free(struct auth_keycache *kc);

/*
 * The SigV4A key pair for the credentials; *out is a new reference the caller
 * frees with p256_key_free(). kc may be NULL (derive every time).
 * 0, ERR_TOO_BIG (absurd key lengths), ERR_CRYPTO or ERR_NOMEM.
 */
int auth_keycache_v4a(struct auth_keycache *kc, struct iov access_key, struct iov secret,
                      struct p256_key **out);

/* The SigV4 signing key HMAC chain for (date YYYYMMDD, region, service).
 * kc may be NULL. 0 or ERR_TOO_BIG. */
int auth_keycache_v4(struct auth_keycache *kc, struct iov access_key, struct iov secret,
                     struct iov date8, struct iov region, struct iov service,
                     uint8_t out[SHA256_LEN]);

/* The HMAC chain itself, uncached (SIGV4.md §2). */
void auth_sigv4_signing_key(struct iov secret, struct iov date8, struct iov region,
                            struct iov service, uint8_t out[SHA256_LEN]);

#endif
