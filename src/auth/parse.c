/* Authorization header and presigned query parsing. Pure; any thread. */
#include "auth/parse.h"

#include <string.h>

#include "auth/canon.h"
#include "base/err.h"

/* Split the credential into access key and scope parts by algorithm. */
static int parse_credential(struct iov cred, struct auth_parsed *p)
{
	struct iov part[5], rest;
	size_t n = 0, want = p->alg == AUTH_SIGV4 ? 5 : 4;

	rest = cred;
	while (rest.base && n < 5)
		rest = iov_split(rest, '/', &part[n++]);
	if (rest.base || n != want) {
		p->why = p->alg == AUTH_SIGV4
		             ? "the Credential is mal-formed; expecting "
		               "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\""
		             : "the Credential is mal-formed; expecting "
		               "\"<YOUR-AKID>/YYYYMMDD/SERVICE/aws4_request\"";
		return ERR_AUTH_MALFORMED;
	}
	p->access_key = part[0];
	p->date8 = part[1];
	p->region = p->alg == AUTH_SIGV4 ? part[2] : IOV_NULL;
	p->service = part[n - 2];
	p->scope = iov_make(part[1].base, (size_t)(cred.base + cred.len - part[1].base));
	if (p->access_key.len == 0 || p->date8.len != 8 || p->service.len == 0 ||
	    (p->alg == AUTH_SIGV4 && p->region.len == 0)) {
		p->why = "the Credential is mal-formed";
		return ERR_AUTH_MALFORMED;
	}
	if (!iov_eq(part[n - 1], IOV_LIT("aws4_request"))) {
		p->why = "the Credential should be scoped with a valid terminator: 'aws4_request'";
		return ERR_AUTH_MALFORMED;
	}
	for (size_t i = 0; i < 8; i++) {
		if (p->date8.base[i] < '0' || p->date8.base[i] > '9') {
			p->why = "the Credential date is not YYYYMMDD";
			return ERR_AUTH_MALFORMED;
		}
	}
	return 0;
}

static int parse_algorithm(struct iov name, enum auth_alg *alg)
{
	if (iov_eq(name, IOV_LIT(AUTH_ALG_SIGV4)))
		*alg = AUTH_SIGV4;
	else if (iov_eq(name, IOV_LIT(AUTH_ALG_SIGV4A)))
		*alg = AUTH_SIGV4A;
	else
		return ERR_AUTH_ALGORITHM;
	return 0;
}

int auth_parse_header(struct iov value, struct auth_parsed *p)
{
	struct iov alg, rest, item, cred = IOV_NULL;
	bool have_cred = false, have_sh = false, have_sig = false;

	memset(p, 0, offsetof(struct auth_parsed, store));
	p->form = AUTH_FORM_HEADER;
	p->store_len = 0;
	p->why = NULL;
	rest = iov_split(iov_trim(value), ' ', &alg);
	p->algorithm = alg;
	if (parse_algorithm(alg, &p->alg)) {
		p->why = "the authorization mechanism you have provided is not supported";
		return ERR_AUTH_ALGORITHM;
	}
	if (!rest.base) {
		p->why = "missing Credential, SignedHeaders and Signature";
		return ERR_AUTH_MALFORMED;
	}
	while (rest.base) {
		rest = iov_split(rest, ',', &item);
		struct iov key, val;
		item = iov_trim(item);
		val = iov_split(item, '=', &key);
		if (!val.base) {
			p->why = "a component is not key=value";
			return ERR_AUTH_MALFORMED;
		}
		bool *seen = NULL;
		if (iov_eq(key, IOV_LIT("Credential"))) {
			seen = &have_cred;
			cred = val;
		} else if (iov_eq(key, IOV_LIT("SignedHeaders"))) {
			seen = &have_sh;
			p->signed_headers = val;
		} else if (iov_eq(key, IOV_LIT("Signature"))) {
			seen = &have_sig;
			p->signature = val;
		} else {
			p->why = "unknown component";
			return ERR_AUTH_MALFORMED;
		}
		if (*seen) {
			p->why = "a component appears twice";
			return ERR_AUTH_MALFORMED;
		}
		*seen = true;
	}
	if (!have_cred || !have_sh || !have_sig) {
		p->why = !have_cred ? "missing Credential"
		         : !have_sh ? "missing SignedHeaders"
		                    : "missing Signature";
		return ERR_AUTH_MALFORMED;
	}
	if (p->signature.len == 0 || p->signature.len > AUTH_MAX_SIGNATURE_HEX) {
		p->why = "the Signature has a wrong length";
		return ERR_AUTH_MALFORMED;
	}
	return parse_credential(cred, p);
}

/* Decode a query value into the result's own storage. */
static int store_decoded(struct auth_parsed *p, struct iov raw, struct iov *out)
{
	struct buf b;
	buf_init_with(&b, p->store + p->store_len, sizeof(p->store) - p->store_len,
	              sizeof(p->store) - p->store_len);
	int rc = auth_uri_decode(&b, raw);
	if (rc) {
		p->why = rc == ERR_TOO_BIG ? "presign parameters are too long"
		                           : "a parameter has a bad percent-escape";
		return ERR_AUTH_QUERY_MALFORMED;
	}
	*out = iov_make(p->store + p->store_len, b.len);
	p->store_len += b.len;
	return 0;
}

/* The presign parameters in one table: name and where its value goes. */
struct qparam {
	const char *name;
	size_t off;
};

#define QP(n, field)                                   \
	{                                              \
		n, offsetof(struct auth_parsed, field) \
	}
static const struct qparam qparams[] = {
	QP("X-Amz-Algorithm", algorithm),
	QP("X-Amz-Credential", scope),
	QP("X-Amz-Date", amz_date),
	QP("X-Amz-Expires", expires),
	QP("X-Amz-SignedHeaders", signed_headers),
	QP("X-Amz-Signature", signature),
	QP("X-Amz-Region-Set", region_set),
	QP("X-Amz-Security-Token", token),
};
#undef QP
#define NQPARAMS (sizeof(qparams) / sizeof(qparams[0]))

/* Percent-decode a parameter name into out (64 bytes); false if it cannot
 * be one of ours (too long or a bad escape). */
static bool decode_key(struct iov k, char out[64], struct iov *decoded)
{
	struct buf kb;
	buf_init_with(&kb, out, 64, 64);
	if (k.len > 3 * 64 || auth_uri_decode(&kb, k))
		return false;
	*decoded = buf_iov(&kb);
	return true;
}

bool auth_query_is_presigned(struct iov query)
{
	struct iov rest = query, k, v, name;
	char store[64];
	while (query.len && auth_query_next(&rest, &k, &v))
		if (decode_key(k, store, &name) && iov_eq(name, IOV_LIT("X-Amz-Algorithm")))
			return true;
	return false;
}

int auth_parse_query(struct iov query, struct auth_parsed *p)
{
	struct iov rest = query, k, v, val[NQPARAMS] = { { 0 } };
	bool seen[NQPARAMS] = { false };
	int rc;

	memset(p, 0, offsetof(struct auth_parsed, store));
	p->form = AUTH_FORM_QUERY;
	p->store_len = 0;
	while (query.len && auth_query_next(&rest, &k, &v)) {
		char kstore[64];
		struct iov name;
		if (!decode_key(k, kstore, &name))
			continue; /* not one of ours; canonicalisation reports bad escapes */
		for (size_t i = 0; i < NQPARAMS; i++) {
			if (!iov_eq(name, iov_cstr(qparams[i].name)))
				continue;
			if (seen[i]) {
				p->why = "a presign parameter appears twice";
				return ERR_AUTH_QUERY_MALFORMED;
			}
			seen[i] = true;
			rc = store_decoded(p, v, &val[i]);
			if (rc)
				return rc;
		}
	}
	if (!seen[0]) {
		p->why = "no X-Amz-Algorithm";
		return ERR_AUTH_MISSING;
	}
	if (parse_algorithm(val[0], &p->alg)) {
		p->why = "X-Amz-Algorithm only supports \"" AUTH_ALG_SIGV4
		         "\" and \"" AUTH_ALG_SIGV4A "\"";
		return ERR_AUTH_ALGORITHM;
	}
	for (size_t i = 1; i < 6; i++) {
		if (!seen[i]) {
			p->why =
			    "Query-string authentication version 4 requires the X-Amz-Algorithm, "
			    "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
			    "and X-Amz-Expires parameters.";
			return ERR_AUTH_QUERY_MALFORMED;
		}
	}
	for (size_t i = 0; i < NQPARAMS; i++)
		*(struct iov *)((char *)p + qparams[i].off) = val[i];
	p->has_token = seen[NQPARAMS - 1];
	p->why = NULL;
	if (p->signature.len == 0 || p->signature.len > AUTH_MAX_SIGNATURE_HEX) {
		p->why = "X-Amz-Signature has a wrong length";
		return ERR_AUTH_QUERY_MALFORMED;
	}
	rc = parse_credential(p->scope, p);
	if (rc) {
		p->why = "Error parsing the X-Amz-Credential parameter";
		return ERR_AUTH_QUERY_MALFORMED;
	}
	return 0;
}
