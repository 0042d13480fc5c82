/* S3 additional checksums. One context per caller; any thread. */
#include "crypto/checksum.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/check.h"
#include "base/err.h"

#define CRC32C_POLY    0x82f63b78u           /* reflected Castagnoli */
#define CRC64NVME_POLY 0x9a6c9329ac4bc9b5ull /* reflected NVMe (0xad93d23594c93659) */

struct checksum {
	enum checksum_alg alg;
	uint64_t crc;
	EVP_MD_CTX *md;
};

static const struct {
	const char *name;
	size_t len;
} algs[] = {
#define CHECKSUM_ROW(e, name, len) { name, len },
	CHECKSUM_MAP(CHECKSUM_ROW)
#undef CHECKSUM_ROW
};

static uint32_t crc32c_table[256];
static uint64_t crc64_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void make_tables(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		uint64_t d = i;
		for (int k = 0; k < 8; k++) {
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
			d = d & 1 ? (d >> 1) ^ CRC64NVME_POLY : d >> 1;
		}
		crc32c_table[i] = c;
		crc64_table[i] = d;
	}
}

int checksum_alg_from_header(struct iov header, enum checksum_alg *out)
{
	static const struct iov prefix = IOV_LIT("x-amz-checksum-");
	if (header.len <= prefix.len || !iov_eq_nocase(iov_sub(header, 0, prefix.len), prefix))
		return ERR_INVALID;
	return checksum_alg_from_name(iov_sub(header, prefix.len, header.len - prefix.len), out);
}

int checksum_alg_from_name(struct iov name, enum checksum_alg *out)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (iov_eq_nocase(name, iov_cstr(algs[i].name))) {
			*out = (enum checksum_alg)i;
			return 0;
		}
	}
	return ERR_INVALID;
}

const char *checksum_alg_name(enum checksum_alg alg)
{
	return algs[alg].name;
}

size_t checksum_alg_len(enum checksum_alg alg)
{
	return algs[alg].len;
}

int checksum_new(enum checksum_alg alg, struct checksum **out)
{
	struct checksum *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->alg = alg;
	pthread_once(&tables_once, make_tables);
	if (alg == CHECKSUM_SHA1 || alg == CHECKSUM_SHA256) {
		c->md = EVP_MD_CTX_new();
		if (!c->md ||
		    EVP_DigestInit_ex2(c->md, alg == CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256(),
		                       NULL) != 1) {
			checksum_free(c);
			return ERR_NOMEM;
		}
	} else if (alg != CHECKSUM_CRC32) {
		c->crc = alg == CHECKSUM_CRC32C ? 0xffffffffu : ~0ull;
	}
	*out = c;
	return 0;
}

void checksum_free(struct checksum *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
	uint64_t c = crc;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	for (; n; p++, n--)
		c32 = __builtin_ia32_crc32qi(c32, *p);
	return c32;
}
#endif

uint32_t checksum__crc32c_sw(uint32_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;
	pthread_once(&tables_once, make_tables);
	for (; n; p++, n--)
		crc = crc32c_table[(crc ^ *p) & 0xff] ^ (crc >> 8);
	return crc;
}

static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, p, n);
#endif
	return checksum__crc32c_sw(crc, p, n);
}

void checksum_update(struct checksum *c, const void *data, size_t n)
{
	const uint8_t *p = data;
	switch (c->alg) {
	case CHECKSUM_CRC32:
		/* zlib takes uInt lengths; feed in pieces that fit. */
		while (n) {
			uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
			c->crc = crc32((uLong)c->crc, p, part);
			p += part;
			n -= part;
		}
		break;
	case CHECKSUM_CRC32C:
		c->crc = crc32c_update((uint32_t)c->crc, p, n);
		break;
	case CHECKSUM_CRC64NVME:
		for (; n; p++, n--)
			c->crc = crc64_table[(c->crc ^ *p) & 0xff] ^ (c->crc >> 8);
		break;
	case CHECKSUM_SHA1:
	case CHECKSUM_SHA256:
		CHECK(EVP_DigestUpdate(c->md, p, n) == 1);
		break;
	}
}

size_t checksum_final(struct checksum *c, uint8_t out[CHECKSUM_MAX_LEN])
{
	size_t len = algs[c->alg].len;
	uint64_t v = c->crc;
	switch (c->alg) {
	case CHECKSUM_CRC32C:
		v = ~v & 0xffffffffu;
		/* fallthrough */
	case CHECKSUM_CRC32:
	case CHECKSUM_CRC64NVME:
		if (c->alg == CHECKSUM_CRC64NVME)
			v = ~v;
		for (size_t i = 0; i < len; i++)
			out[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
		break;
	case CHECKSUM_SHA1:
	case CHECKSUM_SHA256:
		CHECK(EVP_DigestFinal_ex(c->md, out, NULL) == 1);
		break;
	}
	return len;
}

void checksum_final_base64(struct checksum *c, char out[CHECKSUM_MAX_BASE64 + 1])
{
	uint8_t d[CHECKSUM_MAX_LEN];
	size_t n = checksum_final(c, d);
	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
}
