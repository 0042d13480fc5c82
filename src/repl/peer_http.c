/* Requests to a peer: signing and curl set-up (repl-int.h). */
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

int repl__prepare(CURL *h, const struct repl_peer *pc, struct iov method, struct iov path,
                  struct iov query, struct repl_headers *hs, struct iov payload_hash,
                  struct auth_keycache *keys, struct arena *a, struct curl_slist **list)
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
			rc = add_line(list, a, hs->h[i].name, hs->h[i].value);
	for (size_t i = 0; rc == 0 && i < sig.nadded; i++)
		rc = add_line(list, a, sig.added[i].name, sig.added[i].value);
	auth_signature_free(&sig);
	if (rc == 0)
		rc = add_line(list, a, IOV_LIT("Expect"), IOV_LIT(""));
	if (rc == 0)
		rc = add_line(list, a, IOV_LIT("Accept"), IOV_LIT(""));
	struct iov url = arena_printf(a, "%s" IOV_FMT "%s" IOV_FMT, pc->endpoint, IOV_ARG(path),
	                              query.len ? "?" : "", IOV_ARG(query));
	if (rc == 0 && !url.base)
		rc = ERR_NOMEM;
	if (rc)
		return rc;
	curl_easy_setopt(h, CURLOPT_URL, url.base);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *list);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(pc->timeout_ms < 5000 ? pc->timeout_ms : 5000));
	/* No progress for timeout: the peer is stuck. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((pc->timeout_ms + 999) / 1000));
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	return 0;
}
