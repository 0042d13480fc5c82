/* SigV4A key derivation. Pure; any thread. */
#include "crypto/sigv4a_kdf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/sha256.h"

#define KDF_LABEL      "AWS4-ECDSA-P256-SHA256"
#define KDF_MAX_AKID   1024
#define KDF_MAX_SECRET 1024

/* n - 2 for P-256, big-endian. */
static const uint8_t n_minus_2[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x4f,
};

size_t sigv4a_fixed_input(struct iov access_key, uint8_t counter, uint8_t *out, size_t cap)
{
	size_t label = sizeof(KDF_LABEL) - 1;
	size_t n = 4 + label + 1 + access_key.len + 1 + 4;
	if (n > cap)
		return 0;
	uint8_t *p = out;
	memcpy(p, "\x00\x00\x00\x01", 4);
	p += 4;
	memcpy(p, KDF_LABEL, label);
	p += label;
	*p++ = 0;
	memcpy(p, access_key.base, access_key.len);
	p += access_key.len;
	*p++ = counter;
	memcpy(p, "\x00\x00\x01\x00", 4);
	return n;
}

/* Constant-time a > b for equal-length big-endian numbers. */
static int be_greater(const uint8_t *a, const uint8_t *b, size_t n)
{
	unsigned gt = 0, eq = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned x = a[i], y = b[i];
		gt |= eq & ((y - x) >> 8 & 1); /* x > y while all before were equal */
		eq &= ((x ^ y) - 1) >> 8 & 1;
	}
	return (int)gt;
}

/* Constant-time big-endian += 1. */
static void be_add_one(uint8_t *a, size_t n)
{
	unsigned carry = 1;
	for (size_t i = n; i-- > 0;) {
		unsigned v = a[i] + carry;
		a[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

int sigv4a_derive_scalar(struct iov access_key, struct iov secret, uint8_t d[P256_SCALAR_LEN])
{
	uint8_t key[5 + KDF_MAX_SECRET];
	uint8_t fixed[32 + KDF_MAX_AKID];
	int rc = ERR_CRYPTO;

	if (access_key.len > KDF_MAX_AKID || secret.len > KDF_MAX_SECRET)
		return ERR_TOO_BIG;
	memcpy(key, "AWS4A", 5);
	memcpy(key + 5, secret.base, secret.len);

	for (unsigned counter = 1; counter <= 254; counter++) {
		size_t n = sigv4a_fixed_input(access_key, (uint8_t)counter, fixed, sizeof(fixed));
		hmac_sha256(key, 5 + secret.len, fixed, n, d);
		if (!be_greater(d, n_minus_2, 32)) {
			be_add_one(d, 32);
			rc = 0;
			break;
		}
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int sigv4a_derive_key(struct iov access_key, struct iov secret, struct p256_key **out)
{
	uint8_t d[P256_SCALAR_LEN];
	int rc = sigv4a_derive_scalar(access_key, secret, d);
	if (rc == 0)
		rc = p256_key_from_scalar(d, out);
	OPENSSL_cleanse(d, sizeof(d));
	return rc;
}
