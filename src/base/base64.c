/* Standard base64 with padding (see base64.h). */
#include "base/base64.h"

#include <stdbool.h>

#include "base/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(struct iov in, uint8_t *out, size_t cap, size_t *n)
{
	if (in.len % 4)
		return ERR_INVALID;
	size_t o = 0;
	for (size_t i = 0; i < in.len; i += 4) {
		bool last = i + 4 == in.len;
		int pad = last ? (in.base[i + 3] == '=') + (in.base[i + 2] == '=') : 0;
		if (pad == 1 && in.base[i + 2] == '=')
			return ERR_INVALID; /* "x=y=" */
		uint32_t v = 0;
		for (int k = 0; k < 4; k++) {
			int d = k >= 4 - pad ? 0 : value(in.base[i + k]);
			if (d < 0)
				return ERR_INVALID;
			v = v << 6 | (uint32_t)d;
		}
		size_t take = 3 - (size_t)pad;
		/* Canonical only: the bits under the padding are zero. */
		if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
			return ERR_INVALID;
		if (o + take > cap)
			return ERR_INVALID;
		out[o++] = (uint8_t)(v >> 16);
		if (take > 1)
			out[o++] = (uint8_t)(v >> 8);
		if (take > 2)
			out[o++] = (uint8_t)v;
	}
	*n = o;
	return 0;
}
