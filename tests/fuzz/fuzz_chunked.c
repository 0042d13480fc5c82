/*
 * libFuzzer: the aws-chunked decoder. The first byte picks the mode and the
 * split size; the rest is the body. Signatures will almost never match, so
 * the interesting part is framing, limits and state handling across splits.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth/chunked.h"
#include "auth/keycache.h"
#include "base/check.h"
#include "base/err.h"

static struct p256_key *v4a_key;

static int count(void *arg, const char *p, size_t n)
{
	(void)p;
	*(uint64_t *)arg += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum auth_payload modes[] = {
		AUTH_PAYLOAD_STREAMING_HMAC,
		AUTH_PAYLOAD_STREAMING_HMAC_TRAILER,
		AUTH_PAYLOAD_STREAMING_ECDSA,
		AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER,
		AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
	};
	if (size < 1)
		return 0;
	if (!v4a_key)
		CHECK(auth_keycache_v4a(NULL, IOV_LIT("AKIDEXAMPLE"), IOV_LIT("secret"),
		                        &v4a_key) == 0);

	struct auth_verified v;
	auth_verified_init(&v);
	v.payload = modes[data[0] % 5];
	v.key.alg = v.payload == AUTH_PAYLOAD_STREAMING_ECDSA ||
	                    v.payload == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER
	                ? AUTH_SIGV4A
	                : AUTH_SIGV4;
	if (v.key.alg == AUTH_SIGV4A) {
		p256_key_up_ref(v4a_key);
		v.key.ec = v4a_key;
	}
	memcpy(v.date, "20130524T000000Z", 17);
	buf_add_str(&v.scope, "20130524/us-east-1/s3/aws4_request");
	memcpy(v.signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", 65);
	v.decoded_length = (data[0] & 0x80) ? 66560 : 3;
	v.trailer = IOV_LIT("x-amz-checksum-crc32, x-amz-checksum-sha256");

	struct auth_chunked *c;
	int rc = auth_chunked_new(&v, &c);
	if (rc == 0) {
		size_t split = (size_t)(data[0] >> 3) + 1, off = 1;
		uint64_t got = 0;
		while (off < size && rc == 0) {
			size_t n = size - off < split ? size - off : split;
			rc = auth_chunked_feed(c, (const char *)data + off, n, count, &got);
			off += n;
		}
		if (rc == 0)
			rc = auth_chunked_finish(c);
		CHECK(got == auth_chunked_decoded(c));
		CHECK(got <= v.decoded_length);
		if (rc == 0)
			CHECK(got == v.decoded_length);
		auth_chunked_free(c);
	}
	auth_verified_free(&v);
	return 0;
}
