/* `meridian verify`. CLI main thread. */
#include "cli/verify.h"

#include <stdlib.h>
#include <string.h>

#include "auth/chunked.h"
#include "base/err.h"
#include "cli/rawreq.h"

struct one_key {
	struct iov access_key;
	struct auth_secret secret;
};

static int one_key_lookup(void *ctx, struct iov access_key, struct auth_secret *out)
{
	const struct one_key *k = ctx;
	if (!iov_eq(access_key, k->access_key))
		return ERR_AUTH_UNKNOWN_KEY;
	*out = k->secret;
	return 0;
}

static const struct auth_creds_ops one_key_ops = { "one-key", one_key_lookup };

static int discard(void *arg, const char *p, size_t n)
{
	(void)p;
	*(uint64_t *)arg += n;
	return 0;
}

int cli_verify_request(const struct auth_verifier *verifier, struct iov raw, int64_t now,
                       struct auth_verified *res, uint64_t *decoded, const char **why)
{
	struct rawreq r;
	int rc = rawreq_parse(raw, RAWREQ_HTTP, &r);
	*decoded = 0;
	*why = NULL;
	if (rc) {
		*why = r.why;
		return rc;
	}
	struct auth_request req = rawreq_view(&r);
	rc = auth_verify(verifier, &req, now, res);
	if (rc) {
		*why = res->detail;
		return rc;
	}
	if (res->payload == AUTH_PAYLOAD_HASH) {
		uint8_t digest[SHA256_LEN];
		sha256(r.body.base, r.body.len, digest);
		*decoded = r.body.len;
		rc = auth_verified_check_body(res, digest);
		if (rc)
			*why = "The provided 'x-amz-content-sha256' header does not match what was "
			       "computed.";
		return rc;
	}
	if (!auth_payload_is_chunked(res->payload)) {
		*decoded = r.body.len;
		return 0;
	}
	struct auth_chunked *c;
	rc = auth_chunked_new(res, &c);
	if (rc) {
		*why = err_text(rc);
		return rc;
	}
	rc = auth_chunked_feed(c, r.body.base, r.body.len, discard, decoded);
	if (rc == 0)
		rc = auth_chunked_finish(c);
	if (rc)
		*why = auth_chunked_error(c);
	auth_chunked_free(c);
	return rc;
}

static int read_file(const char *name, char **data, size_t *len)
{
	FILE *f = fopen(name, "rb");
	if (!f)
		return ERR_IO;
	char *p = malloc(CLI_VERIFY_MAX_FILE + 1);
	if (!p) {
		fclose(f);
		return ERR_NOMEM;
	}
	size_t n = fread(p, 1, CLI_VERIFY_MAX_FILE + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > CLI_VERIFY_MAX_FILE) {
		free(p);
		return bad ? ERR_IO : ERR_TOO_BIG;
	}
	*data = p;
	*len = n;
	return 0;
}

static const char *payload_name(enum auth_payload p)
{
	const char *lit = auth_payload_literal(p);
	return lit ? lit : "sha256";
}

int cli_verify_run(const struct cli_verify *v, FILE *out, FILE *err)
{
	int64_t now;
	if (!v->access_key || !v->secret_key) {
		fprintf(err, "meridian verify: no credentials (--access-key/--secret-key or "
		             "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)\n");
		return ERR_USAGE;
	}
	if (v->now && clock_parse_amz(iov_cstr(v->now), &now)) {
		fprintf(err, "meridian verify: --now must be YYYYMMDDTHHMMSSZ\n");
		return ERR_USAGE;
	}
	if (!v->now)
		now = clock_now();

	struct one_key key = { iov_cstr(v->access_key),
		               { iov_cstr(v->secret_key), iov_cstr(v->session_token) } };
	struct auth_keycache *kc = auth_keycache_new(16);
	struct auth_verifier verifier = {
		.creds = &one_key_ops,
		.creds_ctx = &key,
		.keys = kc,
		.region = iov_cstr(v->region),
		.service = iov_cstr(v->service),
		.rules = v->generic ? AUTH_URI_GENERIC : AUTH_URI_S3,
		.s3 = !v->generic,
	};
	int failures = 0;
	for (int i = 0; i < v->nfiles; i++) {
		char *data = NULL;
		size_t len = 0;
		int rc = read_file(v->files[i], &data, &len);
		if (rc) {
			fprintf(out, "%s: ERROR %s: cannot read the file (%s)\n", v->files[i],
			        err_name(rc), err_text(rc));
			failures++;
			continue;
		}
		struct auth_verified res;
		uint64_t decoded;
		const char *why;
		auth_verified_init(&res);
		rc = cli_verify_request(&verifier, iov_make(data, len), now, &res, &decoded, &why);
		if (rc == 0) {
			fprintf(out, "%s: OK %s %s payload=%s bytes=%llu\n", v->files[i],
			        auth_alg_name(res.alg),
			        res.form == AUTH_FORM_QUERY ? "presigned" : "header",
			        payload_name(res.payload), (unsigned long long)decoded);
		} else {
			failures++;
			fprintf(out, "%s: ERROR %s (%s): %s\n", v->files[i], err_s3_code(rc),
			        err_name(rc), why && *why ? why : err_text(rc));
			if (v->verbose && res.canonical_request.len)
				fprintf(out,
				        "--- canonical request\n" IOV_FMT
				        "\n--- string to sign\n" IOV_FMT "\n---\n",
				        IOV_ARG(buf_iov(&res.canonical_request)),
				        IOV_ARG(buf_iov(&res.string_to_sign)));
		}
		auth_verified_free(&res);
		free(data);
	}
	auth_keycache_free(kc);
	return failures ? ERR_AUTH_MISMATCH : 0;
}
