/* Metadata blob encoding: LEB128-length-prefixed pairs. Pure; any thread. */
#include "meta/attrs.h"

#include <stdint.h>

#include "base/err.h"

static size_t varint_len(size_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void varint_put(uint8_t **p, size_t v)
{
	while (v >= 0x80) {
		*(*p)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*p)++ = (uint8_t)v;
}

/* A length from the front of *rest; it must fit in what remains. */
static int varint_get(struct iov *rest, size_t *out)
{
	size_t v = 0;
	for (unsigned shift = 0, i = 0; i < rest->len && shift < 28; i++, shift += 7) {
		uint8_t b = (uint8_t)rest->base[i];
		v |= (size_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			/* One spelling per value: no trailing zero groups. */
			if (i > 0 && b == 0)
				return ERR_INVALID;
			rest->base += i + 1;
			rest->len -= i + 1;
			if (v > rest->len)
				return ERR_INVALID;
			*out = v;
			return 0;
		}
	}
	return ERR_INVALID;
}

int meta_attrs_encode(const struct meta_attr *attrs, size_t n, struct buf *out)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t nl = attrs[i].name.len, vl = attrs[i].value.len;
		if (nl > META_ATTRS_MAX || vl > META_ATTRS_MAX)
			return ERR_TOO_BIG;
		total += varint_len(nl) + nl + varint_len(vl) + vl;
		if (total > META_ATTRS_MAX)
			return ERR_TOO_BIG;
	}
	int rc = buf_reserve(out, total);
	if (rc)
		return rc;
	uint8_t *p = (uint8_t *)out->data + out->len;
	for (size_t i = 0; i < n; i++) {
		varint_put(&p, attrs[i].name.len);
		if (attrs[i].name.len)
			memcpy(p, attrs[i].name.base, attrs[i].name.len);
		p += attrs[i].name.len;
		varint_put(&p, attrs[i].value.len);
		if (attrs[i].value.len)
			memcpy(p, attrs[i].value.base, attrs[i].value.len);
		p += attrs[i].value.len;
	}
	out->len += total;
	return 0;
}

/* The next pair from the front of *rest. */
static int next_pair(struct iov *rest, struct meta_attr *a)
{
	size_t len;
	int rc = varint_get(rest, &len);
	if (rc)
		return rc;
	a->name = iov_make(rest->base, len);
	rest->base += len;
	rest->len -= len;
	if ((rc = varint_get(rest, &len)))
		return rc;
	a->value = iov_make(rest->base, len);
	rest->base += len;
	rest->len -= len;
	return 0;
}

int meta_attrs_decode(struct iov blob, struct meta_attr *attrs, size_t max, size_t *n)
{
	*n = 0;
	while (blob.len) {
		struct meta_attr a;
		int rc = next_pair(&blob, &a);
		if (rc)
			return rc;
		if (*n == max)
			return ERR_TOO_BIG;
		attrs[(*n)++] = a;
	}
	return 0;
}

int meta_attrs_find(struct iov blob, struct iov name, struct iov *value)
{
	while (blob.len) {
		struct meta_attr a;
		int rc = next_pair(&blob, &a);
		if (rc)
			return rc;
		if (iov_eq(a.name, name)) {
			*value = a.value;
			return 0;
		}
	}
	return ERR_NOT_FOUND;
}
