/*
 * The encoded metadata blob of an object version or upload: the headers S3
 * returns on GET besides Content-Type (Content-Encoding, Content-Disposition,
 * Content-Language, Cache-Control, Expires, x-amz-meta-*, ...) as a list of
 * (name, value) pairs. Encoding: per pair, LEB128 name length, name, LEB128
 * value length, value. meta/ stores the blob as given; names are the
 * caller's (lowercase header names by convention). Pure; any thread.
 */
#ifndef MERIDIAN_META_ATTRS_H
#define MERIDIAN_META_ATTRS_H

#include <stddef.h>

#include "base/buf.h"
#include "base/iov.h"
#include "meta/meta-t.h"

struct meta_attr {
	struct iov name;
	struct iov value;
};

/* Append the encoding of n pairs to out. 0, or ERR_TOO_BIG when the blob
 * would pass META_ATTRS_MAX or out's cap (out is then unchanged), ERR_NOMEM. */
int meta_attrs_encode(const struct meta_attr *attrs, size_t n, struct buf *out);

/* Decode into attrs[0..max), slices into blob. 0 and *n, ERR_INVALID
 * (malformed), or ERR_TOO_BIG (more than max pairs). */
int meta_attrs_decode(struct iov blob, struct meta_attr *attrs, size_t max, size_t *n);

/* The value of the first pair named `name` (exact bytes). 0, ERR_NOT_FOUND
 * or ERR_INVALID. */
int meta_attrs_find(struct iov blob, struct iov name, struct iov *value);

#endif
