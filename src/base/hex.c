/* Hex encoding. Pure; any thread. */
#include "base/hex.h"

#include "base/err.h"

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(struct iov in, uint8_t *out, size_t out_len)
{
	if (in.len != 2 * out_len)
		return ERR_INVALID;
	for (size_t i = 0; i < out_len; i++) {
		char a = in.base[2 * i], b = in.base[2 * i + 1];
		int hi = hex_digit(a), lo = hex_digit(b);
		if (hi < 0 || lo < 0 || (a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F'))
			return ERR_INVALID;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
