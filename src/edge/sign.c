/* edge/sign: the built-in origin-request signer. See sign.h. */
#include "edge/sign.h"

#include <stdlib.h>

#include "base/err.h"

bool edge_sign_read_only_header(struct iov name)
{
	static const struct iov ro[] = {
		IOV_LIT("accept-encoding"),   IOV_LIT("content-length"),
		IOV_LIT("if-modified-since"), IOV_LIT("if-none-match"),
		IOV_LIT("if-range"),          IOV_LIT("if-unmodified-since"),
		IOV_LIT("transfer-encoding"), IOV_LIT("via"),
	};
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (iov_eq_nocase(name, ro[i]))
			return true;
	return false;
}

int edge_sign(const struct edge_signer *s, const struct edge_sign_request *r, int64_t now,
              struct auth_signature *out, bool *did_sign)
{
	*did_sign = false;
	if (s->mode == EDGE_SIGN_NONE || (s->mode == EDGE_SIGN_SIGV4A && s->failover_origin))
		return 0;
	if (s->mode != EDGE_SIGN_SIGV4 && s->mode != EDGE_SIGN_SIGV4A)
		return ERR_INVALID;
	struct auth_header *hs = malloc((r->nheaders ? r->nheaders : 1) * sizeof(*hs));
	if (!hs)
		return ERR_NOMEM;
	for (size_t i = 0; i < r->nheaders; i++)
		hs[i] = (struct auth_header){ r->headers[i].name, r->headers[i].value };
	struct auth_request req = {
		.method = r->method,
		.path = r->path,
		.query = r->query.base ? r->query : IOV_LIT(""),
		.headers = hs,
		.nheaders = r->nheaders,
	};
	struct auth_sign_opts o = {
		.alg = s->mode == EDGE_SIGN_SIGV4A ? AUTH_SIGV4A : AUTH_SIGV4,
		.form = AUTH_FORM_HEADER,
		.creds = s->creds,
		.region = s->mode == EDGE_SIGN_SIGV4A ? IOV_LIT("*") : s->region,
		.service = IOV_LIT("s3"),
		.time = now,
		.payload_hash =
		    r->has_body ? IOV_LIT("UNSIGNED-PAYLOAD") : IOV_LIT(AUTH_EMPTY_SHA256),
		.rules = AUTH_URI_S3,
		.content_sha256_header = true,
		.keys = s->keys,
	};
	int rc = auth_sign(&o, &req, out);
	free(hs);
	if (rc == 0)
		*did_sign = true;
	return rc;
}
