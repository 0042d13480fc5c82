/*
 * JSON (RFC 8259) to and from neutral values, for meridian.json_decode and
 * meridian.json_encode. Strict: one value with optional whitespace around
 * it, nothing after it; strings must be well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF; \u escapes must pair
 * surrogates); no control characters in strings; nesting is capped.
 * Numbers without a fraction or exponent that fit in 64 bits are integers,
 * anything else is a float; a number that is not finite as a double (1e400)
 * is an error. null decodes to EDGEFN_NIL. Duplicate object keys are kept
 * in order (in Lua the last wins).
 *
 * Encoding writes a sequence table as an array, any other table (an empty
 * one too) as an object with integer keys written as strings; NaN,
 * infinities, invalid UTF-8 and nesting over the cap are errors. Floats are
 * written in the shortest form that reads back to the same double and
 * always with a '.' or exponent, so their kind survives a round trip.
 *
 * Pure; any thread.
 */
#ifndef MERIDIAN_EDGEFN_JSON_H
#define MERIDIAN_EDGEFN_JSON_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/iov.h"
#include "edgefn/value.h"

#define EDGEFN_JSON_DEPTH_MAX  64  /* hard ceiling on nesting, whatever the caller asks */
#define EDGEFN_JSON_NUMBER_MAX 512 /* characters in one number */

/* Parse `in` into *out, allocating in `a` (strings are copied; the tree does
 * not borrow `in`). Nesting deeper than depth_max (capped at
 * EDGEFN_JSON_DEPTH_MAX) is an error. Returns 0, ERR_INVALID (message in
 * err[errlen] with the byte offset) or ERR_TOO_BIG (the arena is full). */
int edgefn_json_decode(struct iov in, struct arena *a, unsigned depth_max, struct edgefn_value *out,
                       char *err, size_t errlen);

/* Append the JSON text of v to out. Returns 0, ERR_INVALID (message in
 * err[errlen]), ERR_TOO_BIG (out's cap) or ERR_NOMEM; out may hold a partial
 * text on error. */
int edgefn_json_encode(const struct edgefn_value *v, unsigned depth_max, struct buf *out, char *err,
                       size_t errlen);

/* Length (1..4) of the well-formed UTF-8 sequence at p (n > 0 bytes), or 0. */
size_t edgefn_utf8_seq(const unsigned char *p, size_t n);

#endif
