/* Slice helpers. Pure; any thread. */
#include "base/iov.h"

#include <string.h>

#include "base/err.h"

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

void iov_copy_lower(char *dst, struct iov src)
{
	for (size_t i = 0; i < src.len; i++)
		dst[i] = (char)lower((unsigned char)src.base[i]);
}

bool iov_eq_nocase(struct iov a, struct iov b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		unsigned char x = (unsigned char)a.base[i], y = (unsigned char)b.base[i];
		if (x != y && lower(x) != lower(y))
			return false;
	}
	return true;
}

int iov_cmp(struct iov a, struct iov b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.base, b.base, n) : 0;
	if (c)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

struct iov iov_split(struct iov a, char c, struct iov *head)
{
	const char *p = a.len ? memchr(a.base, c, a.len) : NULL;
	if (!p) {
		*head = a;
		return IOV_NULL;
	}
	*head = iov_make(a.base, (size_t)(p - a.base));
	return iov_make(p + 1, a.len - head->len - 1);
}

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

struct iov iov_trim(struct iov a)
{
	while (a.len && is_space(a.base[0])) {
		a.base++;
		a.len--;
	}
	while (a.len && is_space(a.base[a.len - 1]))
		a.len--;
	return a;
}

int iov_to_u64(struct iov a, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	if (a.len == 0 || a.len > 20)
		return ERR_INVALID;
	for (size_t i = 0; i < a.len; i++) {
		unsigned d = (unsigned)(a.base[i] - '0');
		if (d > 9 || d > max || v > (max - d) / 10)
			return ERR_INVALID;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

size_t iov_fmt_u64(unsigned long long v, char out[IOV_U64_DIGITS])
{
	char tmp[IOV_U64_DIGITS];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, tmp + sizeof(tmp) - n, n);
	return n;
}
