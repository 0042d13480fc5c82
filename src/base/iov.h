/*
 * Slices: network bytes are a pointer and a length, never assumed to be
 * NUL-terminated, and never written through. Pure helpers; any thread.
 */
#ifndef MERIDIAN_BASE_IOV_H
#define MERIDIAN_BASE_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct iov {
	const char *base;
	size_t len;
};

#define IOV_LIT(s) ((struct iov){ (s), sizeof(s) - 1 })
#define IOV_NULL   ((struct iov){ NULL, 0 })
#define IOV_FMT    "%.*s"
#define IOV_ARG(v) (int)(v).len, (v).base

static inline struct iov iov_make(const char *base, size_t len)
{
	return (struct iov){ base, len };
}

static inline struct iov iov_cstr(const char *s)
{
	return (struct iov){ s, s ? strlen(s) : 0 };
}

static inline bool iov_eq(struct iov a, struct iov b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

/* Copy src to dst (src.len bytes) with ASCII letters lowercased. */
void iov_copy_lower(char *dst, struct iov src);

/* ASCII case-insensitive equality (header names). */
bool iov_eq_nocase(struct iov a, struct iov b);

/* Byte-wise order, a shorter prefix first (memcmp semantics). */
int iov_cmp(struct iov a, struct iov b);

static inline bool iov_starts(struct iov a, struct iov prefix)
{
	return a.len >= prefix.len &&
	       (prefix.len == 0 || memcmp(a.base, prefix.base, prefix.len) == 0);
}

static inline struct iov iov_sub(struct iov a, size_t from, size_t len)
{
	return (struct iov){ a.base + from, len };
}

/* Split at the first `c`: *head is before it, the return is after it.
 * Without `c`, *head is all of `a` and the return has base NULL. */
struct iov iov_split(struct iov a, char c, struct iov *head);

/* Drop leading and trailing SP, HT, CR, LF, VT and FF. */
struct iov iov_trim(struct iov a);

/* Parse an unsigned decimal with no sign, no spaces, at most `max`.
 * Returns 0 or ERR_INVALID. */
int iov_to_u64(struct iov a, unsigned long long max, unsigned long long *out);
/* v in decimal into out (no NUL); returns the digit count (1..20). */
#define IOV_U64_DIGITS 20
size_t iov_fmt_u64(unsigned long long v, char out[IOV_U64_DIGITS]);

#endif
