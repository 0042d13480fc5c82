/* Requests to a peer: curl set-up, TLS included, and signing (repl-int.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/canon.h"
#include "base/err.h"
#include "repl/repl-int.h"

int64_t repl__wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void repl__header(struct repl_headers *hs, struct iov name, struct iov value)
{
	if (hs->n < REPL_HEADERS_MAX)
		hs->h[hs->n++] = (struct auth_header){ name, value };
}

struct iov repl__path(struct arena *a, struct iov bucket, struct iov key)
{
	struct buf b;
	buf_init(&b, 4 * (bucket.len + key.len) + 8);
	int rc = buf_add_char(&b, '/');
	if (!rc)
		rc = auth_uri_encode(&b, bucket, false);
	if (!rc && key.len && !(rc = buf_add_char(&b, '/')))
		rc = auth_uri_encode(&b, key, true);
	struct iov out = rc ? IOV_NULL : arena_dup(a, buf_iov(&b));
	buf_free(&b);
	return out;
}

static int add_line(struct curl_slist **list, struct arena *a, struct iov name, struct iov value)
{
	struct iov line = arena_printf(a, IOV_FMT ": " IOV_FMT, IOV_ARG(name), IOV_ARG(value));
	struct curl_slist *l = line.base ? curl_slist_append(*list, line.base) : NULL;
	if (!l)
		return ERR_NOMEM;
	*list = l;
	return 0;
}

void repl__req_free(struct repl_req *q)
{
	curl_slist_free_all(q->headers);
	curl_slist_free_all(q->connect_to);
	q->headers = q->connect_to = NULL;
}

/* The CA store curl builds from ca_file is kept by a multi handle this
 * long (libcurl >= 7.87 caches it, by default for a day): a CA bundle
 * replaced in place is in force within a minute. */
#define CA_CACHE_S 60L

/* TLS toward pc, verification on unless insecure. */
static int tls_setup(CURL *h, const struct repl_peer *pc)
{
	long verify = pc->insecure ? 0L : 1L;
	CURLcode c = curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (c == CURLE_OK && pc->ca_file[0]) {
		/* Only this bundle: no compiled-in CA directory beside it. */
		c = curl_easy_setopt(h, CURLOPT_CAINFO, pc->ca_file);
		if (c == CURLE_OK)
			c = curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
#if LIBCURL_VERSION_NUM >= 0x075700
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, CA_CACHE_S);
#endif
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	return c == CURLE_OK ? 0 : ERR_TLS_CONFIG;
}

int repl__peer_curl(CURL *h, const struct repl_peer *pc, struct iov target, struct arena *a,
                    struct repl_req *q)
{
	struct iov url = arena_printf(a, "%s://%s" IOV_FMT, pc->https ? "https" : "http",
	                              pc->authority, IOV_ARG(target));
	if (!url.base)
		return ERR_NOMEM;
	if (pc->server_name[0]) {
		/* "name:port:connect-host:port": the URL names server_name, the
		 * socket goes to the endpoint's host (bracketed if IPv6). */
		bool v6 = strchr(pc->host, ':') != NULL;
		struct iov ct = arena_printf(a, "%s:%u:%s%s%s:%u", pc->server_name, pc->port,
		                             v6 ? "[" : "", pc->host, v6 ? "]" : "", pc->port);
		struct curl_slist *l = ct.base ? curl_slist_append(q->connect_to, ct.base) : NULL;
		if (!l)
			return ERR_NOMEM;
		q->connect_to = l;
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, q->connect_to);
	}
	curl_easy_setopt(h, CURLOPT_URL, url.base);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->errbuf);
	q->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(pc->timeout_ms < 5000 ? pc->timeout_ms : 5000));
	/* No progress for timeout: the peer is stuck. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((pc->timeout_ms + 999) / 1000));
	if (pc->https)
		return tls_setup(h, pc);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	return 0;
}

int repl__prepare(CURL *h, const struct repl_peer *pc, struct iov method, struct iov path,
                  struct iov query, struct repl_headers *hs, struct iov payload_hash,
                  struct auth_keycache *keys, struct arena *a, struct repl_req *q)
{
	repl__header(hs, IOV_LIT("host"), iov_cstr(pc->authority));
	struct auth_request req = { method, path, query, hs->h, hs->n, IOV_NULL };
	struct auth_sign_opts so = {
		.alg = AUTH_SIGV4,
		.form = AUTH_FORM_HEADER,
		.creds = { iov_cstr(pc->access_key), iov_cstr(pc->secret_key), IOV_NULL },
		.region = iov_cstr(pc->region),
		.service = IOV_LIT("s3"),
		.time = repl__wall_ms() / 1000,
		.payload_hash = payload_hash,
		.content_sha256_header = true,
		.keys = keys,
	};
	struct auth_signature sig;
	auth_signature_init(&sig);
	int rc = auth_sign(&so, &req, &sig);
	/* Every signed header goes out as signed; content-length is curl's. */
	for (size_t i = 0; rc == 0 && i < hs->n; i++)
		if (!iov_eq(hs->h[i].name, IOV_LIT("content-length")))
			rc = add_line(&q->headers, a, hs->h[i].name, hs->h[i].value);
	for (size_t i = 0; rc == 0 && i < sig.nadded; i++)
		rc = add_line(&q->headers, a, sig.added[i].name, sig.added[i].value);
	auth_signature_free(&sig);
	if (rc == 0)
		rc = add_line(&q->headers, a, IOV_LIT("Expect"), IOV_LIT(""));
	if (rc == 0)
		rc = add_line(&q->headers, a, IOV_LIT("Accept"), IOV_LIT(""));
	struct iov target = arena_printf(a, IOV_FMT "%s" IOV_FMT, IOV_ARG(path),
	                                 query.len ? "?" : "", IOV_ARG(query));
	if (rc == 0 && !target.base)
		rc = ERR_NOMEM;
	if (rc == 0)
		rc = repl__peer_curl(h, pc, target, a, q);
	if (rc)
		return rc;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->headers);
	return 0;
}

bool repl__tls_failure(CURLcode res)
{
	switch (res) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

void repl__reason(CURLcode res, const struct repl_req *q, long status, char *out, size_t cap)
{
	if (res == CURLE_OK)
		snprintf(out, cap, status ? "HTTP %ld" : "no HTTP answer", status);
	else if (repl__tls_failure(res) && q->errbuf[0])
		snprintf(out, cap, "TLS: %s", q->errbuf);
	else
		snprintf(out, cap, "%s", curl_easy_strerror(res));
}
