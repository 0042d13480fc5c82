/*
 * Standard base64 (RFC 4648 §4, with padding), as S3 uses it for Content-MD5
 * and the x-amz-checksum-* values. Pure; any thread.
 */
#ifndef MERIDIAN_BASE_BASE64_H
#define MERIDIAN_BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

/* Characters base64 needs for n bytes, without a NUL. */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Encode n bytes into out (BASE64_LEN(n) + 1 bytes, NUL-terminated).
 * Returns the length written. */
size_t base64_encode(const uint8_t *in, size_t n, char *out);

/* Decode canonical padded base64 into out (cap bytes). 0 and *n, or
 * ERR_INVALID (a bad character, bad padding, non-zero pad bits, or more than
 * cap bytes). */
int base64_decode(struct iov in, uint8_t *out, size_t cap, size_t *n);

#endif
