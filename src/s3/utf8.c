/* UTF-8 checks (RFC 3629 table 3-7 of Unicode). Pure; any thread. */
#include "s3/utf8.h"

static inline bool cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t s3_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	if (c < 0xC2 || c > 0xF4)
		return 0; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
	if (c < 0xE0)
		return n >= 2 && cont(p[1]) ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || !cont(p[1]) || !cont(p[2]))
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && p[1] > 0x9F)
			return 0; /* surrogate */
		return 3;
	}
	if (n < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3]))
		return 0;
	if (c == 0xF0 && p[1] < 0x90)
		return 0; /* overlong */
	if (c == 0xF4 && p[1] > 0x8F)
		return 0; /* above U+10FFFF */
	return 4;
}

bool s3_utf8_valid(struct iov s)
{
	const unsigned char *p = (const unsigned char *)s.base;
	size_t i = 0;
	while (i < s.len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = s3_utf8_seq(p + i, s.len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}
