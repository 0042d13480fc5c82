/* Finding the peer that holds a bucket (locate.h). */
#define _GNU_SOURCE
#include "repl/locate.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "repl/repl-int.h"

#define LOCATION_BODY_MAX 4096

struct answer {
	char body[LOCATION_BODY_MAX];
	size_t n;
};

static size_t keep(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, room = sizeof(a->body) - a->n;
	memcpy(a->body + a->n, p, n < room ? n : room);
	a->n += n < room ? n : room;
	return n;
}

/* The LocationConstraint text of a GetBucketLocation answer ("" for
 * us-east-1's empty element), or IOV_NULL if it has none. */
static struct iov constraint(const struct answer *a)
{
	const char *s = memmem(a->body, a->n, "<LocationConstraint", 19);
	if (!s)
		return IOV_NULL;
	const char *gt = memchr(s, '>', a->n - (size_t)(s - a->body));
	if (!gt)
		return IOV_NULL;
	if (gt[-1] == '/')
		return iov_make("", 0);
	const char *end = memmem(gt + 1, a->n - (size_t)(gt + 1 - a->body), "</", 2);
	return end ? iov_make(gt + 1, (size_t)(end - gt - 1)) : IOV_NULL;
}

/* Whether peer p holds bucket in its own region. */
static int holds(const struct repl_peer *p, struct iov bucket, struct arena *ar, bool *yes)
{
	*yes = false;
	CURL *h = curl_easy_init();
	if (!h)
		return ERR_NOMEM;
	struct repl_req q = { 0 };
	struct repl_headers hs = { .n = 0 };
	struct answer a = { .n = 0 };
	struct iov path = repl__path(ar, bucket, IOV_NULL);
	int rc = path.base ? repl__prepare(h, p, IOV_LIT("GET"), path, IOV_LIT("location="), &hs,
	                                   IOV_LIT(AUTH_EMPTY_SHA256), NULL, ar, &q)
	                   : ERR_NOMEM;
	if (rc == 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REPL_LOCATE_TIMEOUT_MS);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
		long status = 0;
		CURLcode cr = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (cr == CURLE_OK && status == 200) {
			struct iov lc = constraint(&a);
			*yes = lc.base && (iov_eq(lc, iov_cstr(p->region)) ||
			                   (lc.len == 0 && strcmp(p->region, "us-east-1") == 0));
		} else if (cr != CURLE_OK) {
			/* Not asked again soon: say why this peer could not answer. */
			char why[REPL_REASON_MAX];
			repl__reason(cr, &q, status, why, sizeof(why));
			fprintf(stderr, "repl: locating bucket " IOV_FMT ": peer %s: %s\n",
			        IOV_ARG(bucket), p->name, why);
		}
	}
	curl_easy_cleanup(h);
	repl__req_free(&q);
	return rc;
}

int repl_locate_bucket(const struct repl_config *cfg, struct iov bucket,
                       const struct repl_peer **out)
{
	*out = NULL;
	struct arena *ar = arena_new(64u << 10);
	if (!ar)
		return ERR_NOMEM;
	int rc = 0;
	size_t found = 0;
	for (size_t i = 0; rc == 0 && i < cfg->npeers; i++) {
		bool yes;
		arena_reset(ar);
		rc = holds(&cfg->peers[i], bucket, ar, &yes);
		if (rc == 0 && yes) {
			found++;
			*out = &cfg->peers[i];
		}
	}
	arena_free(ar);
	if (rc)
		return rc;
	if (found > 1) {
		*out = NULL;
		return ERR_INVALID;
	}
	return found ? 0 : ERR_NOT_FOUND;
}
