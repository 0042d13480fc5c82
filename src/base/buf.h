/*
 * Growable byte buffers with a hard cap. Every buffer fed from the network is
 * one of these: growing past `max` is ERR_TOO_BIG, never silent growth
 * (after curl's dynbuf). A buffer may start in caller storage (a stack array)
 * and moves to the heap only if it outgrows it. Not thread-safe; one owner.
 */
#ifndef MERIDIAN_BASE_BUF_H
#define MERIDIAN_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/iov.h"

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool heap; /* data was malloc'ed by us */
};

/* An empty buffer that may grow to `max` bytes. Needs no storage yet. */
void buf_init(struct buf *b, size_t max);
/* Start in caller storage of `size` bytes (borrowed; must outlive b). */
void buf_init_with(struct buf *b, char *storage, size_t size, size_t max);
/* Release heap storage; the buffer is then empty and may be reused. */
void buf_free(struct buf *b);

static inline void buf_reset(struct buf *b)
{
	b->len = 0;
}

/* Make room for `n` more bytes. 0, ERR_TOO_BIG or ERR_NOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* Append bytes. 0, ERR_TOO_BIG or ERR_NOMEM; on error b is unchanged. */
int buf_add_slow(struct buf *b, const void *p, size_t n);

static inline int buf_add(struct buf *b, const void *p, size_t n)
{
	if (n <= b->cap - b->len) {
		if (n)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf_add_slow(b, p, n);
}
int buf_add_iov(struct buf *b, struct iov v);
int buf_add_str(struct buf *b, const char *s);
int buf_add_char_slow(struct buf *b, char c);

static inline int buf_add_char(struct buf *b, char c)
{
	if (b->len < b->cap) {
		b->data[b->len++] = c;
		return 0;
	}
	return buf_add_char_slow(b, c);
}
/* Decimal of v. */
int buf_add_u64(struct buf *b, unsigned long long v);
/* Several slices in a row (an array of n). */
int buf_add_iovs(struct buf *b, const struct iov *v, size_t n);
/* printf-style append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline struct iov buf_iov(const struct buf *b)
{
	return iov_make(b->data, b->len);
}

/* NUL-terminate without counting the NUL in len; returns data or NULL on error. */
const char *buf_cstr(struct buf *b);

#endif
