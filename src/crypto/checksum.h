/*
 * The S3 additional checksums (x-amz-checksum-<name>): CRC32 (zlib), CRC32C
 * (SSE4.2 instruction where the CPU has it, else a table), CRC64NVME (table),
 * SHA1 and SHA256 (OpenSSL). Streaming; values are compared in the base64 of
 * the big-endian digest, as S3 sends them. One context per caller; any thread.
 */
#ifndef MERIDIAN_CRYPTO_CHECKSUM_H
#define MERIDIAN_CRYPTO_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

/* name (lowercase, as in the header), digest bytes */
#define CHECKSUM_MAP(X)              \
	X(CRC32, "crc32", 4)         \
	X(CRC32C, "crc32c", 4)       \
	X(CRC64NVME, "crc64nvme", 8) \
	X(SHA1, "sha1", 20)          \
	X(SHA256, "sha256", 32)

enum checksum_alg {
#define CHECKSUM_ENUM(e, name, len) CHECKSUM_##e,
	CHECKSUM_MAP(CHECKSUM_ENUM)
#undef CHECKSUM_ENUM
};

#define CHECKSUM_MAX_LEN    32
#define CHECKSUM_MAX_BASE64 44 /* base64 of 32 bytes, without NUL */

struct checksum;

/* The algorithm named by an x-amz-checksum-<name> header (case-insensitive
 * header name). 0 or ERR_INVALID. */
int checksum_alg_from_header(struct iov header, enum checksum_alg *out);
/* The algorithm of a name ("crc32", "CRC32", any case). 0 or ERR_INVALID. */
int checksum_alg_from_name(struct iov name, enum checksum_alg *out);
const char *checksum_alg_name(enum checksum_alg alg);
/* Digest length in bytes. */
size_t checksum_alg_len(enum checksum_alg alg);

/* 0 and a new context, or ERR_NOMEM. */
int checksum_new(enum checksum_alg alg, struct checksum **out);
void checksum_free(struct checksum *c);
void checksum_update(struct checksum *c, const void *p, size_t n);
/* The digest, big-endian, into out (CHECKSUM_MAX_LEN); returns its length. */
size_t checksum_final(struct checksum *c, uint8_t out[CHECKSUM_MAX_LEN]);
/* Base64 of the digest plus NUL (CHECKSUM_MAX_BASE64 + 1 bytes). */
void checksum_final_base64(struct checksum *c, char out[CHECKSUM_MAX_BASE64 + 1]);

/* Module-internal, for tests: the table CRC32C that CPUs without SSE4.2 use
 * (pre- and post-inverted by the caller). */
uint32_t checksum__crc32c_sw(uint32_t crc, const void *data, size_t n);

#endif
