/* SigV4 / SigV4A signer. Any thread. */
#include "auth/sign.h"

#include "auth/canon.h"
#include "auth/sigv4.h"
#include "base/err.h"

void auth_signature_init(struct auth_signature *s)
{
	s->nadded = 0;
	s->date[0] = s->signature[0] = '\0';
	buf_init_with(&s->canonical_request, s->store_creq, sizeof(s->store_creq),
	              AUTH_MAX_CANONICAL);
	buf_init_with(&s->string_to_sign, s->store_sts, sizeof(s->store_sts), AUTH_MAX_CANONICAL);
	buf_init_with(&s->scope, s->store_scope, sizeof(s->store_scope), 512);
	buf_init_with(&s->values, s->store_values, sizeof(s->store_values), AUTH_MAX_CANONICAL);
	buf_init(&s->query, AUTH_MAX_CANONICAL);
}

void auth_signature_free(struct auth_signature *s)
{
	buf_free(&s->canonical_request);
	buf_free(&s->string_to_sign);
	buf_free(&s->scope);
	buf_free(&s->values);
	buf_free(&s->query);
}

static bool has_header(const struct auth_request *r, struct iov name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (iov_eq_nocase(r->headers[i].name, name))
			return true;
	return false;
}

/* The request must not carry what the signer is about to add. */
static int check_request(const struct auth_sign_opts *o, const struct auth_request *r)
{
	static const struct iov owned_headers[] = {
		IOV_LIT("authorization"),        IOV_LIT("x-amz-date"),
		IOV_LIT("x-amz-region-set"),     IOV_LIT("x-amz-security-token"),
		IOV_LIT("x-amz-content-sha256"),
	};
	static const struct iov owned_params[] = {
		IOV_LIT("X-Amz-Signature"),     IOV_LIT("X-Amz-Date"),
		IOV_LIT("X-Amz-Credential"),    IOV_LIT("X-Amz-Algorithm"),
		IOV_LIT("X-Amz-SignedHeaders"), IOV_LIT("X-Amz-Security-Token"),
		IOV_LIT("X-Amz-Expires"),       IOV_LIT("X-Amz-Region-Set"),
	};
	if (o->form == AUTH_FORM_HEADER) {
		for (size_t i = 0; i < sizeof(owned_headers) / sizeof(owned_headers[0]); i++) {
			if (i == 4 && !o->content_sha256_header)
				continue;
			if (has_header(r, owned_headers[i]))
				return ERR_INVALID;
		}
		return 0;
	}
	if (o->expires < 1 || o->expires > AUTH_MAX_PRESIGN)
		return ERR_INVALID;
	struct iov rest = r->query, k, v;
	while (r->query.len && auth_query_next(&rest, &k, &v))
		for (size_t i = 0; i < sizeof(owned_params) / sizeof(owned_params[0]); i++)
			if (iov_eq_nocase(k, owned_params[i]))
				return ERR_INVALID;
	return 0;
}

static int resolve_key(const struct auth_sign_opts *o, struct iov date8, struct auth_key *key)
{
	key->alg = o->alg;
	key->ec = NULL;
	if (o->alg == AUTH_SIGV4A)
		return auth_keycache_v4a(o->keys, o->creds.access_key, o->creds.secret_key,
		                         &key->ec);
	return auth_keycache_v4(o->keys, o->creds.access_key, o->creds.secret_key, date8, o->region,
	                        o->service, key->ksigning);
}

/* Header form: the signer-owned headers that are signed (all but Authorization). */
static int add_header_values(const struct auth_sign_opts *o, struct auth_signature *s,
                             struct iov payload)
{
	struct {
		const char *name;
		struct iov value;
		bool on;
	} rows[] = {
		{ "X-Amz-Date", iov_cstr(s->date), true },
		{ "X-Amz-Region-Set", o->region, o->alg == AUTH_SIGV4A },
		{ "X-Amz-Security-Token", o->creds.session_token, o->creds.session_token.len > 0 },
		{ "x-amz-content-sha256", payload, o->content_sha256_header },
	};
	size_t offs[4];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		offs[i] = s->values.len;
		if (rows[i].on)
			rc = buf_add_iov(&s->values, rows[i].value);
	}
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		if (!rows[i].on)
			continue;
		s->added[s->nadded++] = (struct auth_header){
			iov_cstr(rows[i].name),
			iov_make(s->values.data + offs[i], rows[i].value.len),
		};
	}
	return rc;
}

static int sign_header_form(const struct auth_sign_opts *o, const struct auth_request *r,
                            struct auth_signature *s, const struct auth_key *key,
                            struct iov payload)
{
	struct auth_header all[AUTH_MAX_HEADERS + AUTH_SIGN_MAX_ADDED];
	char cstore[2048], sstore[256], pstore[1024];
	struct buf canon, signed_list, path;
	int rc;

	if (r->nheaders > AUTH_MAX_HEADERS)
		return ERR_TOO_BIG;
	rc = add_header_values(o, s, payload);
	if (rc)
		return rc;
	memcpy(all, r->headers, r->nheaders * sizeof(all[0]));
	size_t n = r->nheaders;
	for (size_t i = 0; i < s->nadded; i++) {
		bool omit = o->omit_session_token &&
		            iov_eq(s->added[i].name, IOV_LIT("X-Amz-Security-Token"));
		if (!omit)
			all[n++] = s->added[i];
	}

	buf_init_with(&canon, cstore, sizeof(cstore), AUTH_MAX_CANONICAL);
	buf_init_with(&signed_list, sstore, sizeof(sstore), AUTH_MAX_CANONICAL);
	buf_init_with(&path, pstore, sizeof(pstore), AUTH_MAX_CANONICAL);
	struct buf query;
	char qstore[1024];
	buf_init_with(&query, qstore, sizeof(qstore), AUTH_MAX_CANONICAL);

	rc = auth_canon_headers_sign(&canon, &signed_list, all, n);
	if (rc == 0)
		rc = auth_canon_path(&path, r->path, o->rules);
	if (rc == 0)
		rc = auth_canon_query(&query, r->query, NULL, 0, false, false);
	if (rc == 0)
		rc = auth_canonical_request(&s->canonical_request, r->method, buf_iov(&path),
		                            buf_iov(&query), buf_iov(&canon), buf_iov(&signed_list),
		                            payload);
	if (rc == 0)
		rc = auth_string_to_sign(&s->string_to_sign, o->alg, iov_cstr(s->date),
		                         buf_iov(&s->scope), buf_iov(&s->canonical_request));
	size_t siglen = 0;
	if (rc == 0)
		rc = auth_key_sign(key, buf_iov(&s->string_to_sign), s->signature, &siglen);
	if (rc == 0) {
		size_t off = s->values.len;
		const struct iov parts[] = {
			iov_cstr(auth_alg_name(o->alg)),
			IOV_LIT(" Credential="),
			o->creds.access_key,
			IOV_LIT("/"),
			buf_iov(&s->scope),
			IOV_LIT(", SignedHeaders="),
			buf_iov(&signed_list),
			IOV_LIT(", Signature="),
			iov_make(s->signature, siglen),
		};
		for (size_t i = 0; rc == 0 && i < sizeof(parts) / sizeof(parts[0]); i++)
			rc = buf_add_iov(&s->values, parts[i]);
		if (rc == 0) {
			/* values may have moved while growing: rebase the added slices */
			size_t k = 0;
			for (size_t i = 0; i < s->nadded; i++) {
				s->added[i].value.base = s->values.data + k;
				k += s->added[i].value.len;
			}
			s->added[s->nadded++] = (struct auth_header){
				IOV_LIT("Authorization"),
				iov_make(s->values.data + off, s->values.len - off),
			};
		}
	}
	buf_free(&canon);
	buf_free(&signed_list);
	buf_free(&path);
	buf_free(&query);
	return rc;
}

static int sign_query_form(const struct auth_sign_opts *o, const struct auth_request *r,
                           struct auth_signature *s, const struct auth_key *key, struct iov payload)
{
	char cstore[1024], sstore[256], pstore[1024], qstore[2048], estore[32], credstore[512];
	struct buf canon, signed_list, path, query, expires, cred;
	struct auth_param params[7];
	size_t n = 0;
	int rc;

	buf_init_with(&canon, cstore, sizeof(cstore), AUTH_MAX_CANONICAL);
	buf_init_with(&signed_list, sstore, sizeof(sstore), AUTH_MAX_CANONICAL);
	buf_init_with(&path, pstore, sizeof(pstore), AUTH_MAX_CANONICAL);
	buf_init_with(&query, qstore, sizeof(qstore), AUTH_MAX_CANONICAL);
	buf_init_with(&expires, estore, sizeof(estore), sizeof(estore));
	buf_init_with(&cred, credstore, sizeof(credstore), AUTH_MAX_CANONICAL);

	rc = auth_canon_headers_sign(&canon, &signed_list, r->headers, r->nheaders);
	if (rc == 0)
		rc = buf_printf(&expires, "%u", o->expires);
	if (rc == 0)
		rc = buf_printf(&cred, IOV_FMT "/" IOV_FMT, IOV_ARG(o->creds.access_key),
		                IOV_ARG(buf_iov(&s->scope)));
	if (rc)
		goto done;

	/* Insertion order as aws-c-auth adds them; the canonical query sorts anyway. */
	params[n++] =
	    (struct auth_param){ IOV_LIT("X-Amz-Algorithm"), iov_cstr(auth_alg_name(o->alg)) };
	params[n++] = (struct auth_param){ IOV_LIT("X-Amz-Credential"), buf_iov(&cred) };
	params[n++] = (struct auth_param){ IOV_LIT("X-Amz-Date"), iov_cstr(s->date) };
	params[n++] = (struct auth_param){ IOV_LIT("X-Amz-SignedHeaders"), buf_iov(&signed_list) };
	params[n++] = (struct auth_param){ IOV_LIT("X-Amz-Expires"), buf_iov(&expires) };
	size_t token_at = n;
	if (o->creds.session_token.len)
		params[n++] =
		    (struct auth_param){ IOV_LIT("X-Amz-Security-Token"), o->creds.session_token };
	if (o->alg == AUTH_SIGV4A)
		params[n++] = (struct auth_param){ IOV_LIT("X-Amz-Region-Set"), o->region };

	/* The canonical query leaves an omitted token out; the sent query keeps it. */
	struct auth_param signed_params[7];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!(o->omit_session_token && o->creds.session_token.len && i == token_at))
			signed_params[m++] = params[i];

	rc = auth_canon_path(&path, r->path, o->rules);
	if (rc == 0)
		rc = auth_canon_query(&query, r->query, signed_params, m, false, false);
	if (rc == 0)
		rc = auth_canonical_request(&s->canonical_request, r->method, buf_iov(&path),
		                            buf_iov(&query), buf_iov(&canon), buf_iov(&signed_list),
		                            payload);
	if (rc == 0)
		rc = auth_string_to_sign(&s->string_to_sign, o->alg, iov_cstr(s->date),
		                         buf_iov(&s->scope), buf_iov(&s->canonical_request));
	size_t siglen = 0;
	if (rc == 0)
		rc = auth_key_sign(key, buf_iov(&s->string_to_sign), s->signature, &siglen);

	/* The query to send: the original, then ours, then the signature. */
	if (rc == 0 && r->query.len)
		rc = buf_add_iov(&s->query, r->query);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (s->query.len)
			rc = buf_add_char(&s->query, '&');
		if (rc == 0)
			rc = buf_add_iov(&s->query, params[i].key);
		if (rc == 0)
			rc = buf_add_char(&s->query, '=');
		if (rc == 0)
			rc = auth_uri_encode(&s->query, params[i].value, false);
	}
	if (rc == 0)
		rc = buf_printf(&s->query, "&X-Amz-Signature=%s", s->signature);
done:
	buf_free(&canon);
	buf_free(&signed_list);
	buf_free(&path);
	buf_free(&query);
	buf_free(&expires);
	buf_free(&cred);
	return rc;
}

int auth_sign(const struct auth_sign_opts *o, const struct auth_request *r,
              struct auth_signature *s)
{
	struct auth_key key = { 0 };
	int rc = check_request(o, r);
	if (rc)
		return rc;
	if (o->creds.access_key.len == 0 || o->region.len == 0 || o->service.len == 0)
		return ERR_INVALID;

	struct iov payload = o->payload_hash;
	if (payload.len == 0)
		payload = o->form == AUTH_FORM_QUERY ? IOV_LIT("UNSIGNED-PAYLOAD")
		                                     : IOV_LIT(AUTH_EMPTY_SHA256);
	clock_format_amz(o->time, s->date);
	struct iov date8 = iov_make(s->date, 8);
	rc = auth_scope(&s->scope, o->alg, date8, o->region, o->service);
	if (rc == 0)
		rc = resolve_key(o, date8, &key);
	if (rc)
		return rc;
	if (o->form == AUTH_FORM_HEADER)
		rc = sign_header_form(o, r, s, &key, payload);
	else
		rc = sign_query_form(o, r, s, &key, payload);
	p256_key_free(key.ec);
	return rc;
}
