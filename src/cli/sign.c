/* `meridian sign`. CLI main thread. */
#include "cli/sign.h"

#include <stdlib.h>
#include <string.h>

#include "auth/canon.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"

#define CLI_BODY_MAX (5ull << 30) /* S3's single-PUT limit */

/* Bytes a URL carries raw in its path or query (RFC 3986 pchar + '/', '?', '%'). */
static bool url_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

int cli_url_split(const char *url, struct buf *store, struct iov *host, struct iov *path,
                  struct iov *query, bool *https)
{
	struct iov u = iov_cstr(url);
	size_t skip;
	if (iov_starts(u, IOV_LIT("http://"))) {
		skip = 7;
		*https = false;
	} else if (iov_starts(u, IOV_LIT("https://"))) {
		skip = 8;
		*https = true;
	} else {
		return ERR_INVALID;
	}
	u = iov_sub(u, skip, u.len - skip);
	struct iov authority, rest = iov_split(u, '/', &authority);
	if (authority.len == 0 || memchr(authority.base, '?', authority.len) ||
	    memchr(authority.base, '@', authority.len))
		return ERR_INVALID;
	/* Drop a default port from the Host value, as clients do. */
	struct iov hostonly,
	    port = authority.base[0] == '[' ? IOV_NULL : iov_split(authority, ':', &hostonly);
	if (port.base && iov_eq(port, *https ? IOV_LIT("443") : IOV_LIT("80")))
		authority = hostonly;

	/* Store: host, then the encoded path+query. */
	buf_reset(store);
	int rc = buf_reserve(store, authority.len + 3 * (rest.base ? rest.len : 0) + 2);
	if (rc)
		return rc;
	buf_add_iov(store, authority);
	size_t target_off = store->len;
	buf_add_char(store, '/');
	for (size_t i = 0; rest.base && i < rest.len; i++) {
		unsigned char c = (unsigned char)rest.base[i];
		bool escape = c == '%' && i + 2 < rest.len && hex_digit(rest.base[i + 1]) >= 0 &&
		              hex_digit(rest.base[i + 2]) >= 0;
		if ((url_safe(c) && c != '%') || escape) {
			buf_add_char(store, (char)c);
		} else {
			char e[4];
			snprintf(e, sizeof(e), "%%%02X", c);
			buf_add(store, e, 3);
		}
	}
	*host = iov_make(store->data, authority.len);
	struct iov target = iov_make(store->data + target_off, store->len - target_off);
	*query = iov_split(target, '?', path);
	if (!query->base)
		*query = iov_make(target.base + target.len, 0);
	return 0;
}

/* The hex SHA-256 of a file, streamed. */
static int hash_file(const char *name, char hex[SHA256_HEX_LEN + 1], FILE *err)
{
	FILE *f = fopen(name, "rb");
	if (!f) {
		fprintf(err, "meridian sign: cannot open %s\n", name);
		return ERR_USAGE;
	}
	struct sha256_ctx *c = sha256_new();
	if (!c) {
		fclose(f);
		return ERR_NOMEM;
	}
	char chunk[65536];
	size_t n;
	unsigned long long total = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && total <= CLI_BODY_MAX) {
		sha256_update(c, chunk, n);
		total += n;
	}
	int bad = ferror(f) || total > CLI_BODY_MAX;
	fclose(f);
	uint8_t d[SHA256_LEN];
	sha256_final(c, d);
	sha256_free(c);
	if (bad) {
		fprintf(err, "meridian sign: cannot read %s (or it is over 5 GiB)\n", name);
		return ERR_USAGE;
	}
	hex_encode(d, SHA256_LEN, hex);
	return 0;
}

/* Single-quote for a POSIX shell. */
static void shell_quote(FILE *out, struct iov s)
{
	fputc('\'', out);
	for (size_t i = 0; i < s.len; i++) {
		if (s.base[i] == '\'')
			fputs("'\\''", out);
		else
			fputc(s.base[i], out);
	}
	fputc('\'', out);
}

static void print_curl(FILE *out, const struct cli_sign *s, const struct auth_header *h, size_t nh,
                       struct iov url)
{
	fputs("curl -sS -X ", out);
	shell_quote(out, iov_cstr(s->method));
	for (size_t i = 0; i < nh; i++) {
		char line[8192];
		int n = snprintf(line, sizeof(line), IOV_FMT ": " IOV_FMT, IOV_ARG(h[i].name),
		                 IOV_ARG(h[i].value));
		fputs(" -H ", out);
		shell_quote(out,
		            iov_make(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1));
	}
	if (s->body_file) {
		char at[4096];
		int n = snprintf(at, sizeof(at), "@%s", s->body_file);
		fputs(" --data-binary ", out);
		shell_quote(out, iov_make(at, n < (int)sizeof(at) ? (size_t)n : sizeof(at) - 1));
	}
	fputc(' ', out);
	shell_quote(out, url);
	fputc('\n', out);
}

int cli_sign_run(const struct cli_sign *s, FILE *out, FILE *err)
{
	struct auth_header headers[CLI_SIGN_MAX_HEADERS + 1];
	char payload_hex[SHA256_HEX_LEN + 1];
	struct buf store, url;
	struct iov host, path, query;
	bool https;
	int64_t when;
	int rc;

	if (!s->access_key || !s->secret_key) {
		fprintf(err, "meridian sign: no credentials (--access-key/--secret-key or "
		             "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)\n");
		return ERR_USAGE;
	}
	if (s->date) {
		if (clock_parse_amz(iov_cstr(s->date), &when)) {
			fprintf(err, "meridian sign: --date must be YYYYMMDDTHHMMSSZ\n");
			return ERR_USAGE;
		}
	} else {
		when = clock_now();
	}
	buf_init(&store, 64 * 1024);
	buf_init(&url, 128 * 1024);
	if (cli_url_split(s->url, &store, &host, &path, &query, &https)) {
		fprintf(err, "meridian sign: %s is not an http:// or https:// URL\n", s->url);
		rc = ERR_USAGE;
		goto out;
	}

	/* Host first, then the caller's headers as given. */
	size_t nh = 0;
	headers[nh++] = (struct auth_header){ IOV_LIT("Host"), host };
	for (size_t i = 0; i < s->nheaders; i++) {
		struct iov name, value = iov_split(iov_cstr(s->headers[i]), ':', &name);
		if (!value.base || name.len == 0 || iov_trim(name).len != name.len) {
			fprintf(err, "meridian sign: -H wants 'Name: value', got '%s'\n",
			        s->headers[i]);
			rc = ERR_USAGE;
			goto out;
		}
		if (iov_eq_nocase(name, IOV_LIT("host")))
			headers[0].value = iov_trim(value);
		else
			headers[nh++] = (struct auth_header){ name, iov_trim(value) };
	}

	struct iov payload = IOV_NULL;
	if (s->unsigned_payload) {
		payload = IOV_LIT("UNSIGNED-PAYLOAD");
	} else if (s->body_file) {
		if ((rc = hash_file(s->body_file, payload_hex, err)))
			goto out;
		payload = iov_make(payload_hex, SHA256_HEX_LEN);
	}
	bool s3 = strcmp(s->service, "s3") == 0;
	struct auth_sign_opts o = {
		.alg = s->alg,
		.form = s->presign ? AUTH_FORM_QUERY : AUTH_FORM_HEADER,
		.creds = { iov_cstr(s->access_key), iov_cstr(s->secret_key),
		           iov_cstr(s->session_token) },
		.region = iov_cstr(s->region),
		.service = iov_cstr(s->service),
		.time = when,
		.payload_hash = payload,
		.rules = s3 ? AUTH_URI_S3 : AUTH_URI_GENERIC,
		.content_sha256_header = s3 && !s->presign,
		.expires = s->presign,
	};
	struct auth_request req = { iov_cstr(s->method), path, query, headers, nh, IOV_NULL };
	struct auth_signature sig;
	auth_signature_init(&sig);
	rc = auth_sign(&o, &req, &sig);
	if (rc) {
		fprintf(err, "meridian sign: %s\n",
		        rc == ERR_INVALID ? "the request already carries signing headers or "
		                            "parameters, or --presign is out of 1..604800"
		                          : err_text(rc));
		auth_signature_free(&sig);
		rc = rc == ERR_INVALID ? ERR_USAGE : rc;
		goto out;
	}

	buf_printf(&url, "%s://" IOV_FMT IOV_FMT, https ? "https" : "http", IOV_ARG(host),
	           IOV_ARG(path));
	struct iov q = s->presign ? buf_iov(&sig.query) : query;
	if (q.len)
		buf_printf(&url, "?" IOV_FMT, IOV_ARG(q));
	if (!iov_eq(iov_cstr(s->url), buf_iov(&url)) && !s->presign && !s->curl)
		fprintf(err, "meridian sign: note: send the request to " IOV_FMT "\n",
		        IOV_ARG(buf_iov(&url)));

	/* What to send: the caller's extra headers plus the signer's. */
	struct auth_header all[CLI_SIGN_MAX_HEADERS + 1 + AUTH_SIGN_MAX_ADDED];
	size_t na = 0;
	for (size_t i = 1; i < nh; i++)
		all[na++] = headers[i];
	for (size_t i = 0; !s->presign && i < sig.nadded; i++)
		all[na++] = sig.added[i];

	if (s->curl) {
		print_curl(out, s, all, na, buf_iov(&url));
	} else if (s->presign) {
		fprintf(out, IOV_FMT "\n", IOV_ARG(buf_iov(&url)));
	} else {
		for (size_t i = 0; i < sig.nadded; i++)
			fprintf(out, IOV_FMT ": " IOV_FMT "\n", IOV_ARG(sig.added[i].name),
			        IOV_ARG(sig.added[i].value));
	}
	auth_signature_free(&sig);
	rc = 0;
out:
	buf_free(&store);
	buf_free(&url);
	return rc;
}
