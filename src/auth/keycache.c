/* Cache of derived signing keys. Thread-safe (one mutex). */
#include "auth/keycache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "crypto/sigv4a_kdf.h"

#define KC_MAGIC      0x4b434143u
#define KC_WAYS       4
#define KC_MAX_ID     256 /* longer keys are derived, never cached */
#define KC_MAX_SCOPE  128
#define KC_MAX_SECRET 128 /* longer secrets are derived, never cached */

struct kc_entry {
	uint64_t stamp; /* last use; 0 = empty */
	size_t id_len, secret_len;
	char id[KC_MAX_ID];
	char secret[KC_MAX_SECRET]; /* compared in constant time; cleansed on eviction */
	struct p256_key *v4a;
	/* SigV4: kSigning for the scope "date/region/service" last used; the
	 * part lengths keep scopes whose parts join to the same text apart. */
	size_t scope_len, date_len, region_len;
	char scope[KC_MAX_SCOPE];
	uint8_t ksigning[SHA256_LEN];
};

struct auth_keycache {
	unsigned magic;
	pthread_mutex_t lock;
	uint64_t clock;
	size_t nsets;
	struct kc_entry *entries; /* nsets * KC_WAYS */
};

struct auth_keycache *auth_keycache_new(size_t entries)
{
	struct auth_keycache *kc = calloc(1, sizeof(*kc));
	if (!kc)
		return NULL;
	kc->nsets = entries / KC_WAYS + 1;
	kc->entries = calloc(kc->nsets * KC_WAYS, sizeof(kc->entries[0]));
	if (!kc->entries) {
		free(kc);
		return NULL;
	}
	pthread_mutex_init(&kc->lock, NULL);
	kc->magic = KC_MAGIC;
	return kc;
}

void auth_keycache_free(struct auth_keycache *kc)
{
	if (!kc)
		return;
	CHECK_MAGIC(kc, KC_MAGIC);
	for (size_t i = 0; i < kc->nsets * KC_WAYS; i++)
		p256_key_free(kc->entries[i].v4a);
	OPENSSL_cleanse(kc->entries, kc->nsets * KC_WAYS * sizeof(kc->entries[0]));
	free(kc->entries);
	pthread_mutex_destroy(&kc->lock);
	kc->magic = 0;
	free(kc);
}

/* FNV-1a over the access key id picks the set. */
static size_t set_of(const struct auth_keycache *kc, struct iov id)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < id.len; i++)
		h = (h ^ (unsigned char)id.base[i]) * 1099511628211u;
	return (size_t)(h % kc->nsets);
}

/*
 * The entry for (id, secret) in its set, creating it over the least recently
 * used way when absent. Called with the lock held.
 */
static struct kc_entry *entry_locked(struct auth_keycache *kc, struct iov id, struct iov secret)
{
	struct kc_entry *set = &kc->entries[set_of(kc, id) * KC_WAYS], *victim = set;
	for (int w = 0; w < KC_WAYS; w++) {
		struct kc_entry *e = &set[w];
		if (e->stamp && e->id_len == id.len && memcmp(e->id, id.base, id.len) == 0 &&
		    e->secret_len == secret.len &&
		    crypto_equal(e->secret, secret.base, secret.len)) {
			e->stamp = ++kc->clock;
			return e;
		}
		if (e->stamp < victim->stamp)
			victim = e;
	}
	p256_key_free(victim->v4a);
	OPENSSL_cleanse(victim, sizeof(*victim));
	victim->stamp = ++kc->clock;
	victim->id_len = id.len;
	memcpy(victim->id, id.base, id.len);
	victim->secret_len = secret.len;
	memcpy(victim->secret, secret.base, secret.len);
	return victim;
}

/* Whether these credentials fit a cache entry. */
static bool cacheable(const struct auth_keycache *kc, struct iov id, struct iov secret)
{
	return kc && id.len <= KC_MAX_ID && secret.len <= KC_MAX_SECRET;
}

int auth_keycache_v4a(struct auth_keycache *kc, struct iov access_key, struct iov secret,
                      struct p256_key **out)
{
	if (!cacheable(kc, access_key, secret))
		return sigv4a_derive_key(access_key, secret, out);
	CHECK_MAGIC(kc, KC_MAGIC);

	pthread_mutex_lock(&kc->lock);
	struct kc_entry *e = entry_locked(kc, access_key, secret);
	if (e->v4a) {
		p256_key_up_ref(e->v4a);
		*out = e->v4a;
		pthread_mutex_unlock(&kc->lock);
		return 0;
	}
	pthread_mutex_unlock(&kc->lock);

	/* Derive outside the lock; two threads may race, the loser's key is dropped. */
	struct p256_key *k;
	int rc = sigv4a_derive_key(access_key, secret, &k);
	if (rc)
		return rc;
	pthread_mutex_lock(&kc->lock);
	e = entry_locked(kc, access_key, secret);
	if (!e->v4a) {
		p256_key_up_ref(k);
		e->v4a = k;
	}
	pthread_mutex_unlock(&kc->lock);
	*out = k;
	return 0;
}

void auth_sigv4_signing_key(struct iov secret, struct iov date8, struct iov region,
                            struct iov service, uint8_t out[SHA256_LEN])
{
	uint8_t k[SHA256_LEN];
	char key[4 + 1024];
	size_t klen = secret.len < 1024 ? secret.len : 1024;

	memcpy(key, "AWS4", 4);
	memcpy(key + 4, secret.base, klen);
	hmac_sha256(key, 4 + klen, date8.base, date8.len, k);
	hmac_sha256(k, SHA256_LEN, region.base, region.len, k);
	hmac_sha256(k, SHA256_LEN, service.base, service.len, k);
	hmac_sha256(k, SHA256_LEN, "aws4_request", 12, out);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(k, sizeof(k));
}

int auth_keycache_v4(struct auth_keycache *kc, struct iov access_key, struct iov secret,
                     struct iov date8, struct iov region, struct iov service,
                     uint8_t out[SHA256_LEN])
{
	char scope[KC_MAX_SCOPE];
	size_t slen = date8.len + 1 + region.len + 1 + service.len;

	if (secret.len > 1024)
		return ERR_TOO_BIG;
	if (!cacheable(kc, access_key, secret) || slen > KC_MAX_SCOPE) {
		auth_sigv4_signing_key(secret, date8, region, service, out);
		return 0;
	}
	CHECK_MAGIC(kc, KC_MAGIC);
	memcpy(scope, date8.base, date8.len);
	scope[date8.len] = '/';
	memcpy(scope + date8.len + 1, region.base, region.len);
	scope[date8.len + 1 + region.len] = '/';
	memcpy(scope + date8.len + 2 + region.len, service.base, service.len);

	pthread_mutex_lock(&kc->lock);
	struct kc_entry *e = entry_locked(kc, access_key, secret);
	if (e->scope_len == slen && e->date_len == date8.len && e->region_len == region.len &&
	    memcmp(e->scope, scope, slen) == 0) {
		memcpy(out, e->ksigning, SHA256_LEN);
		pthread_mutex_unlock(&kc->lock);
		return 0;
	}
	pthread_mutex_unlock(&kc->lock);

	auth_sigv4_signing_key(secret, date8, region, service, out);
	pthread_mutex_lock(&kc->lock);
	e = entry_locked(kc, access_key, secret);
	memcpy(e->ksigning, out, SHA256_LEN);
	memcpy(e->scope, scope, slen);
	e->scope_len = slen;
	e->date_len = date8.len;
	e->region_len = region.len;
	pthread_mutex_unlock(&kc->lock);
	return 0;
}
