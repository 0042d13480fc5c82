/* Lowercase hex encoding and strict decoding. Pure; any thread. */
#ifndef MERIDIAN_BASE_HEX_H
#define MERIDIAN_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"

/* Write 2*n lowercase hex digits and a NUL to out (2*n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly out_len bytes from 2*out_len lowercase hex digits, the one
 * spelling signatures and digests have, so each value has one encoding.
 * Returns 0 or ERR_INVALID (wrong length, uppercase, non-hex digit). */
int hex_decode(struct iov in, uint8_t *out, size_t out_len);
/* Value of one hex digit of either case, or -1. */
int hex_digit(char c);

#endif
