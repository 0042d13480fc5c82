/*
 * P-256 keys and ECDSA. Keys are shared and read-only; per-thread context
 * caches make repeated operations with one key cheap. Any thread.
 */
#include "crypto/p256.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"

#define P256_MAGIC 0x50323536u
/* Contexts a thread keeps ready, per operation; a small LRU by position. */
#define P256_CTX_SLOTS 4

struct p256_key {
	unsigned magic;
	atomic_uint refs;
	unsigned long long id; /* unique per key: a freed key's address never matches a slot */
	EVP_PKEY *pkey;
	int has_private;
};

struct ctx_slot {
	unsigned long long id;
	EVP_PKEY_CTX *ctx;
};

static atomic_ullong next_key_id = 1;

static int from_params(OSSL_PARAM_BLD *bld, int selection, struct p256_key **out)
{
	int rc = ERR_CRYPTO;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0))
		goto done;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, selection, params) != 1)
		goto done;

	struct p256_key *k = calloc(1, sizeof(*k));
	if (!k) {
		rc = ERR_NOMEM;
		goto done;
	}
	k->magic = P256_MAGIC;
	atomic_init(&k->refs, 1);
	k->id = atomic_fetch_add(&next_key_id, 1);
	k->pkey = pkey;
	k->has_private = selection == EVP_PKEY_KEYPAIR;
	pkey = NULL;
	*out = k;
	rc = 0;
done:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return rc;
}

/* Uncompressed SEC1 point 04||X||Y. */
static void sec1_point(const uint8_t x[32], const uint8_t y[32], uint8_t out[65])
{
	out[0] = 0x04;
	memcpy(out + 1, x, 32);
	memcpy(out + 33, y, 32);
}

int p256_key_from_scalar(const uint8_t d[P256_SCALAR_LEN], struct p256_key **out)
{
	int rc = ERR_CRYPTO;
	EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pub = NULL;
	BIGNUM *priv = BN_bin2bn(d, P256_SCALAR_LEN, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	uint8_t point[65];

	if (!group || !priv || !bld)
		goto done;
	/* OpenSSL 3.0 does not derive the public point on import (openssl#19046). */
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0) {
		rc = ERR_INVALID;
		goto done;
	}
	pub = EC_POINT_new(group);
	if (!pub || !EC_POINT_mul(group, pub, priv, NULL, NULL, NULL) ||
	    EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point),
	                       NULL) != sizeof(point))
		goto done;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto done;
	rc = from_params(bld, EVP_PKEY_KEYPAIR, out);
done:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	EC_POINT_free(pub);
	EC_GROUP_free(group);
	return rc;
}

int p256_key_from_public(const uint8_t x[32], const uint8_t y[32], struct p256_key **out)
{
	uint8_t point[65];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	int rc = ERR_CRYPTO;

	sec1_point(x, y, point);
	if (bld &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		rc = from_params(bld, EVP_PKEY_PUBLIC_KEY, out);
	OSSL_PARAM_BLD_free(bld);
	return rc == ERR_CRYPTO ? ERR_INVALID : rc;
}

void p256_key_up_ref(struct p256_key *k)
{
	CHECK_MAGIC(k, P256_MAGIC);
	atomic_fetch_add(&k->refs, 1);
}

void p256_key_free(struct p256_key *k)
{
	if (!k)
		return;
	CHECK_MAGIC(k, P256_MAGIC);
	if (atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	EVP_PKEY_free(k->pkey);
	k->magic = 0;
	free(k);
}

int p256_key_public(const struct p256_key *k, uint8_t x[32], uint8_t y[32])
{
	uint8_t point[65];
	size_t len = 0;
	CHECK_MAGIC(k, P256_MAGIC);
	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
	                                    &len) != 1)
		return ERR_CRYPTO;
	if (len != sizeof(point) || point[0] != 0x04) {
		/* Keys we build are uncompressed; convert anything else. */
		EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
		EC_POINT *p = g ? EC_POINT_new(g) : NULL;
		int ok = p && EC_POINT_oct2point(g, p, point, len, NULL) &&
		         EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, point,
		                            sizeof(point), NULL) == sizeof(point);
		EC_POINT_free(p);
		EC_GROUP_free(g);
		if (!ok)
			return ERR_CRYPTO;
	}
	memcpy(x, point + 1, 32);
	memcpy(y, point + 33, 32);
	return 0;
}

/*
 * The calling thread's context for (key, operation), initialised once.
 * Slot 0 is the most recently used; a miss evicts the last slot.
 */
static EVP_PKEY_CTX *thread_ctx(struct p256_key *k, struct ctx_slot *slots, int for_sign)
{
	unsigned long long id = k->id;
	struct ctx_slot hit;
	int i;

	for (i = 0; i < P256_CTX_SLOTS; i++)
		if (slots[i].ctx && slots[i].id == id)
			break;
	if (i == P256_CTX_SLOTS) {
		i = P256_CTX_SLOTS - 1;
		EVP_PKEY_CTX_free(slots[i].ctx);
		slots[i].ctx = NULL;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (!ctx)
			return NULL;
		if ((for_sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) {
			EVP_PKEY_CTX_free(ctx);
			return NULL;
		}
		slots[i] = (struct ctx_slot){ id, ctx };
	}
	hit = slots[i];
	memmove(&slots[1], &slots[0], (size_t)i * sizeof(slots[0]));
	slots[0] = hit;
	return hit.ctx;
}

/*
 * A context pins its EVP_PKEY by reference, so a slot stays valid after the
 * p256_key is freed; the unique id keeps a new key at the same address from
 * matching it. A thread that exits before the process calls
 * p256_thread_cleanup() to release its slots.
 */
static _Thread_local struct ctx_slot sign_slots[P256_CTX_SLOTS];
static _Thread_local struct ctx_slot verify_slots[P256_CTX_SLOTS];

int p256_sign(struct p256_key *k, const uint8_t digest[32], uint8_t *sig, size_t *siglen)
{
	CHECK_MAGIC(k, P256_MAGIC);
	if (!k->has_private)
		return ERR_INVALID;
	EVP_PKEY_CTX *ctx = thread_ctx(k, sign_slots, 1);
	size_t len = P256_SIG_MAX;
	if (!ctx || EVP_PKEY_sign(ctx, sig, &len, digest, 32) != 1)
		return ERR_CRYPTO;
	*siglen = len;
	return 0;
}

int p256_verify(struct p256_key *k, const uint8_t digest[32], const uint8_t *sig, size_t siglen)
{
	CHECK_MAGIC(k, P256_MAGIC);
	EVP_PKEY_CTX *ctx = thread_ctx(k, verify_slots, 0);
	if (!ctx)
		return ERR_CRYPTO;
	return EVP_PKEY_verify(ctx, sig, siglen, digest, 32) == 1 ? 0 : ERR_INVALID;
}

static void free_slots(struct ctx_slot *slots)
{
	for (int i = 0; i < P256_CTX_SLOTS; i++) {
		EVP_PKEY_CTX_free(slots[i].ctx);
		slots[i] = (struct ctx_slot){ 0 };
	}
}

void p256_thread_cleanup(void)
{
	free_slots(sign_slots);
	free_slots(verify_slots);
}
