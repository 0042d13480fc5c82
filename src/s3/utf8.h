/*
 * UTF-8 well-formedness for S3 names and XML text: RFC 3629 sequences only
 * (no overlong forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF).
 * Pure; any thread.
 */
#ifndef MERIDIAN_S3_UTF8_H
#define MERIDIAN_S3_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "base/iov.h"

/* Length (1..4) of the well-formed sequence at the start of `p` (n bytes
 * available, n > 0), or 0 if it is not one. */
size_t s3_utf8_seq(const unsigned char *p, size_t n);

/* Whether all of `s` is well-formed UTF-8 (an empty slice is). */
bool s3_utf8_valid(struct iov s);

#endif
