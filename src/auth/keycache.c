/* Cache of derived signing keys. Thread-safe (one mutex). */
#include "auth/keycache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "crypto/sigv4a_kdf.h"

#define KC_MAGIC    0x4b434143u
#define KC_WAYS     4
#define KC_MAX_ID   256 /* longer keys are derived, never cached */
#define KC_MAX_SCOPE 128

struct kc_entry {
	uint64_t stamp; /* last use; 0 = empty */
	size_t id_len, secret_len;
	char id[KC_MAX_ID];
	uint8_t secret_fp[SHA256_LEN]; /* SHA-256 of the secret, not the secret */
	struct p256_key *v4a;
	/* SigV4: kSigning for the scope "date/region/service" last used. */
	size_t scope_len;
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
static struct kc_entry *entry_locked(struct auth_keycache *kc, struct iov id,
				     const uint8_t fp[SHA256_LEN])
{
	struct kc_entry *set = &kc->entries[set_of(kc, id) * KC_WAYS], *victim = set;
	for (int w = 0; w < KC_WAYS; w++) {
		struct kc_entry *e = &set[w];
		if (e->stamp && e->id_len == id.len && memcmp(e->id, id.base, id.len) == 0 &&
		    crypto_equal(e->secret_fp, fp, SHA256_LEN)) {
			e->stamp = ++kc->clock;
			return e;
		}
		if (e->stamp < victim->stamp)
			victim = e;
	}
	p256_key_free(victim->v4a);
	memset(victim, 0, sizeof(*victim));
	victim->stamp = ++kc->clock;
	victim->id_len = id.len;
	memcpy(victim->id, id.base, id.len);
	memcpy(victim->secret_fp, fp, SHA256_LEN);
	return victim;
}

int auth_keycache_v4a(struct auth_keycache *kc, struct iov access_key, struct iov secret,
		      struct p256_key **out)
{
	uint8_t fp[SHA256_LEN];
	if (!kc || access_key.len > KC_MAX_ID)
		return sigv4a_derive_key(access_key, secret, out);
	CHECK_MAGIC(kc, KC_MAGIC);

	sha256(secret.base, secret.len, fp);
	pthread_mutex_lock(&kc->lock);
	struct kc_entry *e = entry_locked(kc, access_key, fp);
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
	e = entry_locked(kc, access_key, fp);
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
	uint8_t fp[SHA256_LEN];
	size_t slen = date8.len + 1 + region.len + 1 + service.len;

	if (secret.len > 1024)
		return ERR_TOO_BIG;
	if (!kc || access_key.len > KC_MAX_ID || slen > KC_MAX_SCOPE) {
		auth_sigv4_signing_key(secret, date8, region, service, out);
		return 0;
	}
	CHECK_MAGIC(kc, KC_MAGIC);
	memcpy(scope, date8.base, date8.len);
	scope[date8.len] = '/';
	memcpy(scope + date8.len + 1, region.base, region.len);
	scope[date8.len + 1 + region.len] = '/';
	memcpy(scope + date8.len + 2 + region.len, service.base, service.len);

	sha256(secret.base, secret.len, fp);
	pthread_mutex_lock(&kc->lock);
	struct kc_entry *e = entry_locked(kc, access_key, fp);
	if (e->scope_len == slen && memcmp(e->scope, scope, slen) == 0) {
		memcpy(out, e->ksigning, SHA256_LEN);
		pthread_mutex_unlock(&kc->lock);
		return 0;
	}
	pthread_mutex_unlock(&kc->lock);

	auth_sigv4_signing_key(secret, date8, region, service, out);
	pthread_mutex_lock(&kc->lock);
	e = entry_locked(kc, access_key, fp);
	memcpy(e->ksigning, out, SHA256_LEN);
	memcpy(e->scope, scope, slen);
	e->scope_len = slen;
	pthread_mutex_unlock(&kc->lock);
	return 0;
}
