/*
 * libFuzzer: edge/behavior. Input: one flags byte, then fields separated by
 * '\n': pattern, path, query, host, then header lines "name:value" (up to
 * 8). Checks:
 *   - the glob matcher agrees with a plain backtracking matcher on small
 *     inputs, and its step count stays within (|p| + 1) * (|s| + 1);
 *   - path normalisation stays within 3x its input and is idempotent;
 *   - the key builder returns only its documented codes, stays within its
 *     buffer, is deterministic, gives GET and HEAD one key, and (in ALL
 *     mode) ignores the order of query parameters;
 *   - a pattern edge_behavior_check() accepts can sit in a table and match.
 * Each field is copied into a buffer of exactly its length, so a read past
 * a slice is an ASan report.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "edge/behavior.h"
#include "http/parser.h"

#define MAX_HEADERS 8

static bool ref_glob(const char *p, size_t pn, const char *s, size_t sn)
{
	if (pn == 0)
		return sn == 0;
	if (p[0] == '*')
		return ref_glob(p + 1, pn - 1, s, sn) || (sn > 0 && ref_glob(p, pn, s + 1, sn - 1));
	if (sn == 0 || (p[0] != '?' && p[0] != s[0]))
		return false;
	return ref_glob(p + 1, pn - 1, s + 1, sn - 1);
}

static void check_glob(struct iov p, struct iov s)
{
	size_t steps = 0;
	bool got = edge_pattern_match(p, s, &steps);
	size_t pn = p.len, sn = s.len;
	if (pn > 0 && p.base[0] == '/')
		pn--;
	if (sn > 0 && s.base[0] == '/')
		sn--;
	CHECK(steps <= (pn + 1) * (sn + 1));

	size_t stars = 0;
	for (size_t i = 0; i < p.len; i++)
		stars += p.base[i] == '*';
	if (p.len <= 12 && s.len <= 16 && stars <= 4)
		CHECK(got == ref_glob(pn ? p.base + (p.len - pn) : "", pn,
		                      sn ? s.base + (s.len - sn) : "", sn));
}

static void check_normalize(struct iov in)
{
	size_t cap = 3 * in.len;
	char *a = malloc(cap + 1), *b = malloc(cap + 1);
	size_t na, nb;
	CHECK(a != NULL && b != NULL);
	CHECK(edge_path_normalize(in, a, cap, &na) == 0);
	CHECK(na <= cap);
	CHECK(edge_path_normalize(iov_make(a, na), b, cap, &nb) == 0);
	CHECK(na == nb && (na == 0 || memcmp(a, b, na) == 0));
	free(a);
	free(b);
}

/* The query's '&'-separated items in reverse order, into out. */
static size_t reverse_query(struct iov q, char *out)
{
	size_t o = 0, end = q.len;
	bool first = true;
	for (;;) {
		size_t start = end;
		while (start > 0 && q.base[start - 1] != '&')
			start--;
		if (!first)
			out[o++] = '&';
		first = false;
		if (end > start)
			memcpy(out + o, q.base + start, end - start);
		o += end - start;
		if (start == 0)
			return o;
		end = start - 1;
	}
}

static void check_key(uint8_t flags, const struct iov *f, const struct http_header *hs, size_t nh)
{
	static char k1[EDGE_KEY_MAX], k2[EDGE_KEY_MAX];
	struct edge_behavior b;
	size_t l1, l2;

	edge_behavior_init(&b);
	b.qs_mode = (enum edge_qs_mode)(flags & 3);
	b.compress = flags & 4;
	b.key_gzip = flags & 8;
	b.key_br = flags & 16;
	if (flags & 32)
		b.cached_methods = b.allowed_methods = EDGE_METHODS_GHO;
	if (b.qs_mode == EDGE_QS_LISTED || b.qs_mode == EDGE_QS_ALL_EXCEPT) {
		b.qs_count = 2;
		memcpy(b.qs_names[0], "a", 2);
		memcpy(b.qs_names[1], "b", 2);
	}
	/* the first two header lines' names are listed (when they fit) */
	for (size_t i = 0; i < nh && i < 2; i++) {
		if (hs[i].name.len == 0 || hs[i].name.len > EDGE_KEY_NAME_MAX)
			continue;
		memcpy(b.header_names[b.header_count], hs[i].name.base, hs[i].name.len);
		b.header_names[b.header_count][hs[i].name.len] = '\0';
		b.header_count++;
	}

	static const char *meths[] = { "GET", "HEAD", "OPTIONS", "POST" };
	struct edge_key_input in = {
		.host = f[3],
		.method = iov_cstr(meths[flags >> 6]),
		.path = f[1],
		.query = f[2],
		.headers = hs,
		.nheaders = nh,
	};
	size_t cap = (f[3].len & 1) ? 64 : EDGE_KEY_MAX; /* odd host: a small buffer */
	int rc = edge_cache_key(&b, &in, k1, cap, &l1);
	CHECK(rc == 0 || rc == ERR_EDGE_KEY_METHOD || rc == ERR_EDGE_KEY_TOO_LONG ||
	      rc == ERR_EDGE_KEY_HEADERS_TOO_LARGE);
	CHECK(rc == 0 ? l1 <= cap && l1 >= 3 : l1 == 0);
	CHECK(edge_cache_key(&b, &in, k2, cap, &l2) == rc);
	CHECK(l1 == l2 && memcmp(k1, k2, l1) == 0);
	if (rc != 0)
		return;
	CHECK(edge_cache_key_hash64(k1, l1) == edge_cache_key_hash64(k2, l2));
	/* Every key's path field reads back, inside the key, and is the
	 * never empty (the key holds "/" for an empty path). */
	struct iov kp;
	CHECK(edge_cache_key_path(k1, l1, &kp) == 0);
	CHECK(kp.base > k1 && kp.base + kp.len < k1 + l1 && kp.len >= 1);

	if (iov_eq(in.method, IOV_LIT("GET")) || iov_eq(in.method, IOV_LIT("HEAD"))) {
		in.method = iov_eq(in.method, IOV_LIT("GET")) ? IOV_LIT("HEAD") : IOV_LIT("GET");
		CHECK(edge_cache_key(&b, &in, k2, cap, &l2) == 0);
		CHECK(l1 == l2 && memcmp(k1, k2, l1) == 0);
	}
	if (b.qs_mode == EDGE_QS_ALL && in.query.len > 0) {
		char *rq = malloc(in.query.len);
		CHECK(rq != NULL);
		size_t n = reverse_query(in.query, rq);
		CHECK(n == in.query.len);
		in.query = iov_make(rq, n);
		CHECK(edge_cache_key(&b, &in, k2, cap, &l2) == 0);
		CHECK(l1 == l2 && memcmp(k1, k2, l1) == 0);
		free(rq);
	}
}

static void check_table(struct iov pattern, struct iov path)
{
	struct edge_behavior def, b;
	struct edge_behavior_table *t = NULL;

	if (pattern.len > EDGE_PATTERN_MAX)
		return;
	edge_behavior_init(&def);
	memcpy(def.origin_id, "d", 2);
	b = def;
	memcpy(b.pattern, pattern.base, pattern.len);
	b.pattern[pattern.len] = '\0';
	memcpy(b.origin_id, "b", 2);
	CHECK(edge_behavior_table_new(&def, &t) == 0);
	int rc = edge_behavior_table_add(t, &b);
	CHECK(rc == 0 || rc == ERR_EDGE_BEHAVIOR_INVALID);
	const struct edge_behavior *m = edge_behavior_match(t, path);
	CHECK(m != NULL);
	if (rc == 0) /* a NUL in the input ends the configured pattern */
		CHECK((m->origin_id[0] == 'b') ==
		      edge_pattern_match(iov_cstr(b.pattern), path, NULL));
	else
		CHECK(m->origin_id[0] == 'd');
	edge_behavior_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { NF = 4 + MAX_HEADERS };
	struct iov f[NF];
	char *copy[NF] = { 0 };
	struct http_header hs[MAX_HEADERS];
	size_t nf = 0, nh = 0;

	if (size < 1)
		return 0;
	struct iov kp; /* any bytes as a stored key: a field inside them, or refused */
	if (edge_cache_key_path((const char *)data, size, &kp) == 0)
		CHECK(kp.base >= (const char *)data &&
		      kp.base + kp.len < (const char *)data + size);
	uint8_t flags = data[0];
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	for (; nf < NF; nf++) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t n = (size_t)((nl ? nl : end) - p);
		copy[nf] = malloc(n ? n : 1);
		CHECK(copy[nf] != NULL);
		if (n > 0)
			memcpy(copy[nf], p, n);
		f[nf] = iov_make(copy[nf], n);
		if (nl == NULL) {
			nf++;
			break;
		}
		p = nl + 1;
	}
	for (size_t i = nf; i < 4; i++)
		f[i] = IOV_NULL;
	for (size_t i = 4; i < nf; i++) {
		struct iov name;
		struct iov value = iov_split(f[i], ':', &name);
		hs[nh].name = name;
		hs[nh].value = value;
		nh++;
	}

	check_glob(f[0], f[1]);
	check_normalize(f[1]);
	check_normalize(f[2]);
	check_key(flags, f, hs, nh);
	check_table(f[0], f[1]);

	for (size_t i = 0; i < nf; i++)
		free(copy[i]);
	return 0;
}
