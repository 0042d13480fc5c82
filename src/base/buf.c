/* Capped growable buffers. Single owner; any thread. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void buf_init(struct buf *b, size_t max)
{
	*b = (struct buf){ .max = max };
}

void buf_init_with(struct buf *b, char *storage, size_t size, size_t max)
{
	*b = (struct buf){ .data = storage, .cap = size < max ? size : max, .max = max };
}

void buf_free(struct buf *b)
{
	if (b->heap)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->heap = false;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len)
		return ERR_TOO_BIG;
	size_t need = b->len + n;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : b->max < 256 ? b->max : 256;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	char *p = b->heap ? realloc(b->data, cap) : malloc(cap);
	if (!p)
		return ERR_NOMEM;
	if (!b->heap && b->len)
		memcpy(p, b->data, b->len);
	b->data = p;
	b->cap = cap;
	b->heap = true;
	return 0;
}

int buf_add_slow(struct buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_add_iov(struct buf *b, struct iov v)
{
	return buf_add(b, v.base, v.len);
}

int buf_add_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_add_char_slow(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_add_u64(struct buf *b, unsigned long long v)
{
	char tmp[IOV_U64_DIGITS];
	return buf_add(b, tmp, iov_fmt_u64(v, tmp));
}

int buf_add_iovs(struct buf *b, const struct iov *v, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].len;
	int rc = buf_reserve(b, total);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = buf_add(b, v[i].base, v[i].len);
	return rc;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVALID;
	int rc = buf_reserve(b, (size_t)n + 1);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 1))
		return NULL;
	b->data[b->len] = '\0';
	return b->data;
}
