/* Shared SigV4/SigV4A building blocks. Pure; any thread. */
#include "auth/sigv4.h"

#include "base/err.h"
#include "base/hex.h"

static const char *const payload_literals[] = {
#define AUTH_PAYLOAD_LIT(name, literal) literal,
	AUTH_PAYLOAD_MAP(AUTH_PAYLOAD_LIT)
#undef AUTH_PAYLOAD_LIT
};

#define NPAYLOADS (sizeof(payload_literals) / sizeof(payload_literals[0]))

const char *auth_payload_literal(enum auth_payload mode)
{
	return (size_t)mode < NPAYLOADS ? payload_literals[mode] : NULL;
}

int auth_payload_parse(struct iov value, enum auth_payload *mode, uint8_t digest[SHA256_LEN])
{
	uint8_t scratch[SHA256_LEN];
	for (size_t i = 1; i < NPAYLOADS; i++) {
		if (iov_eq(value, iov_cstr(payload_literals[i]))) {
			*mode = (enum auth_payload)i;
			return 0;
		}
	}
	if (hex_decode(value, digest ? digest : scratch, SHA256_LEN))
		return ERR_AUTH_CONTENT_SHA256;
	*mode = AUTH_PAYLOAD_HASH;
	return 0;
}

bool auth_payload_is_chunked(enum auth_payload mode)
{
	return mode != AUTH_PAYLOAD_HASH && mode != AUTH_PAYLOAD_UNSIGNED;
}

const char *auth_alg_name(enum auth_alg alg)
{
	return alg == AUTH_SIGV4A ? AUTH_ALG_SIGV4A : AUTH_ALG_SIGV4;
}

int auth_scope(struct buf *out, enum auth_alg alg, struct iov date8, struct iov region,
               struct iov service)
{
	int rc = buf_add_iov(out, date8);
	if (rc == 0)
		rc = buf_add_char(out, '/');
	if (rc == 0 && alg == AUTH_SIGV4) {
		rc = buf_add_iov(out, region);
		if (rc == 0)
			rc = buf_add_char(out, '/');
	}
	if (rc == 0)
		rc = buf_add_iov(out, service);
	if (rc == 0)
		rc = buf_add_str(out, "/aws4_request");
	return rc;
}

int auth_canonical_request(struct buf *out, struct iov method, struct iov uri, struct iov query,
                           struct iov headers, struct iov signed_list, struct iov payload)
{
	const struct iov parts[] = { method,      IOV_LIT("\n"), uri,     IOV_LIT("\n"),
		                     query,       IOV_LIT("\n"), headers, IOV_LIT("\n"),
		                     signed_list, IOV_LIT("\n"), payload };
	size_t total = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += parts[i].len;
	int rc = buf_reserve(out, total);
	for (size_t i = 0; rc == 0 && i < sizeof(parts) / sizeof(parts[0]); i++)
		rc = buf_add_iov(out, parts[i]);
	return rc;
}

int auth_string_to_sign(struct buf *out, enum auth_alg alg, struct iov date, struct iov scope,
                        struct iov canonical_request)
{
	char hash[SHA256_HEX_LEN + 1];
	sha256_hex(canonical_request.base, canonical_request.len, hash);
	int rc = buf_add_str(out, auth_alg_name(alg));
	if (rc == 0)
		rc = buf_add_char(out, '\n');
	if (rc == 0)
		rc = buf_add_iov(out, date);
	if (rc == 0)
		rc = buf_add_char(out, '\n');
	if (rc == 0)
		rc = buf_add_iov(out, scope);
	if (rc == 0)
		rc = buf_add_char(out, '\n');
	if (rc == 0)
		rc = buf_add(out, hash, SHA256_HEX_LEN);
	return rc;
}

int auth_key_sign(const struct auth_key *k, struct iov sts, char *out, size_t *outlen)
{
	uint8_t mac[SHA256_LEN];
	if (k->alg == AUTH_SIGV4) {
		hmac_sha256(k->ksigning, SHA256_LEN, sts.base, sts.len, mac);
		hex_encode(mac, SHA256_LEN, out);
		*outlen = SHA256_HEX_LEN;
		return 0;
	}
	uint8_t digest[SHA256_LEN], sig[P256_SIG_MAX];
	size_t siglen;
	sha256(sts.base, sts.len, digest);
	int rc = p256_sign(k->ec, digest, sig, &siglen);
	if (rc)
		return rc;
	hex_encode(sig, siglen, out);
	*outlen = 2 * siglen;
	return 0;
}

int auth_key_verify(const struct auth_key *k, struct iov sts, struct iov signature)
{
	if (k->alg == AUTH_SIGV4) {
		uint8_t mac[SHA256_LEN], given[SHA256_LEN];
		if (hex_decode(signature, given, SHA256_LEN))
			return ERR_AUTH_MISMATCH;
		hmac_sha256(k->ksigning, SHA256_LEN, sts.base, sts.len, mac);
		return crypto_equal(mac, given, SHA256_LEN) ? 0 : ERR_AUTH_MISMATCH;
	}
	while (signature.len && signature.base[signature.len - 1] == '*')
		signature.len--;
	uint8_t sig[P256_SIG_MAX], digest[SHA256_LEN];
	if (signature.len % 2 || signature.len / 2 > P256_SIG_MAX ||
	    hex_decode(signature, sig, signature.len / 2))
		return ERR_AUTH_MISMATCH;
	sha256(sts.base, sts.len, digest);
	int rc = p256_verify(k->ec, digest, sig, signature.len / 2);
	return rc == ERR_INVALID ? ERR_AUTH_MISMATCH : rc;
}

/* Glob with '*' only; iterative with one backtrack point. */
static bool glob_match(struct iov pat, struct iov s)
{
	size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
	while (i < s.len) {
		if (p < pat.len && pat.base[p] == '*') {
			star = p++;
			mark = i;
		} else if (p < pat.len && pat.base[p] == s.base[i]) {
			p++;
			i++;
		} else if (star != (size_t)-1) {
			p = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (p < pat.len && pat.base[p] == '*')
		p++;
	return p == pat.len;
}

bool auth_region_set_match(struct iov set, struct iov region)
{
	struct iov rest = set, entry;
	while (rest.base) {
		rest = iov_split(rest, ',', &entry);
		entry = iov_trim(entry);
		if (entry.len && glob_match(entry, region))
			return true;
	}
	return false;
}
