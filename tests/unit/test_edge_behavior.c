/*
 * edge/behavior: path patterns, the ordered behavior table and the cache
 * key. Rows marked CF come from the CloudFront Developer Guide (Path
 * Pattern, Controlling the cache key, Understanding the cache key, Query
 * string parameters); the rest are our decisions, stated in
 * docs/internals/edge-behavior.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "edge/behavior.h"
#include "http/parser.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- patterns ---------------------------------------------------------- */

struct glob_case {
	const char *pattern, *path;
	bool match;
};

static const struct glob_case globs[] = {
	/* CF: the Path Pattern examples */
	{ "*.jpg", "/a.jpg", true },
	{ "*.jpg", "/images/product1/a.jpg", true },
	{ "*.jpg", "/LOGO.JPG", false }, /* case-sensitive */
	{ "images/*.jpg", "/images/a.jpg", true },
	{ "images/*.jpg", "/images/product1/a.jpg", true }, /* subdirectories too */
	{ "images/*.jpg", "/images/product2/b/c.jpg", true },
	{ "images/*.jpg", "/img/a.jpg", false },
	{ "images/*.jpg", "/images/a.png", false },
	{ "images/*.jpg", "/Images/a.jpg", false },
	{ "a??.jpg", "/ant.jpg", true },
	{ "a??.jpg", "/abe.jpg", true },
	{ "a??.jpg", "/an.jpg", false },
	{ "a??.jpg", "/antt.jpg", false },
	{ "*.doc*", "/x.doc", true },
	{ "*.doc*", "/x.docx", true },
	{ "*.doc*", "/x.docm", true },
	{ "*.doc?", "/x.doc", false }, /* ? is exactly one character */
	{ "*.doc?", "/x.docx", true },
	/* CF: the leading '/' is optional, on the pattern side */
	{ "/images/*.jpg", "/images/a.jpg", true },
	{ "/images/*.jpg", "/img/a.jpg", false },
	{ "*", "/", true },
	{ "*", "", true },
	{ "*", "/any/thing?x", true },
	/* wildcards, each case */
	{ "?", "/a", true },
	{ "?", "/", false },
	{ "?", "/ab", false },
	{ "?", "//", true }, /* '?' is any one byte, '/' included */
	{ "a?b", "/a/b", true },
	{ "**", "/", true },
	{ "*?", "/", false },
	{ "*?", "/x", true },
	{ "?*?", "/x", false },
	{ "?*?", "/xy", true },
	{ "a*", "/a", true },
	{ "a*", "/b", false },
	{ "*a", "/a", true },
	{ "*a", "/ab", false },
	{ "a*a", "/a", false }, /* prefix and suffix cannot share a byte */
	{ "a*a", "/aa", true },
	{ "ab*ba", "/aba", false },
	{ "ab*ba", "/abba", true },
	{ "*ab*ab*", "/abab", true },
	{ "*ab*ab*", "/aba", false },
	{ "*aab*", "/aaab", true }, /* the search slides past a partial match */
	{ "a*b*c", "/a/x/b/y/c", true },
	{ "a*b*c", "/a/x/c/y/b", false },
	{ "a*?*c", "/ac", false },
	{ "a*?*c", "/abc", true },
	{ "$~@:+&'\"", "/$~@:+&'\"", true },
	{ "abc", "/abc", true },
	{ "abc", "/abcd", false },
	{ "abc", "/ab", false },
	{ "", "/", true },
	{ "", "/a", false },
};

static void glob_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(globs); i++) {
		bool got =
		    edge_pattern_match(iov_cstr(globs[i].pattern), iov_cstr(globs[i].path), NULL);
		if (got != globs[i].match)
			fail_msg("pattern '%s' path '%s': want %d", globs[i].pattern, globs[i].path,
			         globs[i].match);
	}
}

/* Plain backtracking: exponential in general, fine for tiny inputs. */
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

/* Every pattern over {a,b,?,*} up to 4 long against every subject over
 * {a,b} up to 5 long. */
static void glob_vs_reference(void **state)
{
	static const char pal[] = "ab?*";
	char p[8], s[8];
	size_t checked = 0;
	(void)state;

	for (size_t pn = 0; pn <= 4; pn++) {
		size_t np = 1;
		for (size_t i = 0; i < pn; i++)
			np *= 4;
		for (size_t pi = 0; pi < np; pi++) {
			for (size_t i = 0, v = pi; i < pn; i++, v /= 4)
				p[i] = pal[v % 4];
			for (size_t sn = 0; sn <= 5; sn++) {
				for (size_t si = 0; si < (1u << sn); si++) {
					for (size_t i = 0; i < sn; i++)
						s[i] = (si >> i & 1) ? 'b' : 'a';
					bool want = ref_glob(p, pn, s, sn);
					bool got = edge_pattern_match(iov_make(p, pn),
					                              iov_make(s, sn), NULL);
					if (got != want)
						fail_msg("pattern '%.*s' subject '%.*s'", (int)pn,
						         p, (int)sn, s);
					checked++;
				}
			}
		}
	}
	assert_int_equal(checked, 341 * 63);
}

static void glob_bounded_steps(void **state)
{
	static char subject[10001];
	size_t steps = 0;
	(void)state;

	memset(subject, 'a', sizeof(subject) - 1);
	subject[0] = '/';
	struct iov s = iov_make(subject, sizeof(subject) - 1);

	/* exponential for a backtracking matcher; a handful of steps here */
	struct iov p = IOV_LIT("*a*a*a*a*a*b");
	assert_false(edge_pattern_match(p, s, &steps));
	assert_true(steps > 0);
	assert_true(steps <= 4 * (p.len + s.len));

	p = IOV_LIT("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*");
	assert_false(edge_pattern_match(p, s, &steps));
	assert_true(steps <= 4 * (p.len + s.len));

	/* the worst case of the segment search stays within (m + 1)(n + 1) */
	p = IOV_LIT("*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab*");
	assert_false(edge_pattern_match(p, s, &steps));
	assert_true(steps <= (p.len + 1) * (s.len + 1));
	assert_true(steps >= s.len); /* it did look at the subject */

	p = IOV_LIT("*a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a");
	assert_true(edge_pattern_match(p, s, &steps));
	assert_true(steps <= (p.len + 1) * (s.len + 1));
}

/* ---- behaviors and the table ------------------------------------------- */

static struct edge_behavior mk(const char *pattern, const char *origin)
{
	struct edge_behavior b;
	edge_behavior_init(&b);
	snprintf(b.pattern, sizeof(b.pattern), "%s", pattern);
	snprintf(b.origin_id, sizeof(b.origin_id), "%s", origin);
	return b;
}

static void init_defaults(void **state)
{
	struct edge_behavior b;
	(void)state;

	edge_behavior_init(&b);
	assert_string_equal(b.pattern, "*");
	assert_int_equal(b.allowed_methods, EDGE_METHODS_GH);
	assert_int_equal(b.cached_methods, EDGE_METHODS_GH);
	assert_int_equal(b.min_ttl, 0);
	assert_int_equal(b.default_ttl, 86400); /* CF: default TTL one day */
	assert_int_equal(b.max_ttl, 31536000);  /* CF: maximum TTL one year */
	assert_int_equal(b.qs_mode, EDGE_QS_NONE);
	assert_int_equal(b.header_count, 0);
	assert_false(b.compress);
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID); /* no origin */
	snprintf(b.origin_id, sizeof(b.origin_id), "s3");
	assert_int_equal(edge_behavior_check(&b), 0);
}

static void check_rejects(void **state)
{
	struct edge_behavior b = mk("images/*.jpg", "o");
	(void)state;
	assert_int_equal(edge_behavior_check(&b), 0);

	/* CF: at most 255 characters */
	memset(b.pattern, 'a', EDGE_PATTERN_MAX);
	b.pattern[EDGE_PATTERN_MAX] = '\0';
	assert_int_equal(edge_behavior_check(&b), 0);
	b.pattern[EDGE_PATTERN_MAX] = 'a'; /* no terminator inside the array */
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);

	static const char *bad_patterns[] = { "", "a b", "a%20b", "a#b", "a\\b", "a|b", "é" };
	for (size_t i = 0; i < N_ELEMS(bad_patterns); i++) {
		b = mk(bad_patterns[i], "o");
		if (edge_behavior_check(&b) != ERR_EDGE_BEHAVIOR_INVALID)
			fail_msg("pattern '%s' accepted", bad_patterns[i]);
	}

	b = mk("*", "o");
	b.allowed_methods = EDGE_METHOD_GET; /* not one of CloudFront's sets */
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	b = mk("*", "o");
	b.cached_methods = EDGE_METHODS_GHO; /* cached beyond allowed */
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	b.allowed_methods = EDGE_METHODS_ALL;
	assert_int_equal(edge_behavior_check(&b), 0);
	b.cached_methods = EDGE_METHODS_ALL; /* POST is never cached */
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);

	b = mk("*", "o");
	b.min_ttl = 10;
	b.default_ttl = 5;
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	b = mk("*", "o");
	b.default_ttl = b.max_ttl + 1;
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);

	b = mk("*", "o");
	b.qs_count = 1;
	snprintf(b.qs_names[0], sizeof(b.qs_names[0]), "x");
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID); /* NONE + names */
	b.qs_mode = EDGE_QS_LISTED;
	assert_int_equal(edge_behavior_check(&b), 0);
	b.qs_names[0][0] = '\0';
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	b.qs_names[0][0] = 'x';
	b.qs_count = EDGE_KEY_LIST_MAX + 1;
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	b.qs_mode = (enum edge_qs_mode)9;
	b.qs_count = 0;
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);

	b = mk("*", "o");
	b.header_count = 1;
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "Accept Language");
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "Accept-Language");
	assert_int_equal(edge_behavior_check(&b), 0);
	b.sign = (enum edge_sign_mode)7;
	assert_int_equal(edge_behavior_check(&b), ERR_EDGE_BEHAVIOR_INVALID);
}

static void method_bits(void **state)
{
	(void)state;
	assert_int_equal(edge_behavior_method(IOV_LIT("GET")), EDGE_METHOD_GET);
	assert_int_equal(edge_behavior_method(IOV_LIT("HEAD")), EDGE_METHOD_HEAD);
	assert_int_equal(edge_behavior_method(IOV_LIT("OPTIONS")), EDGE_METHOD_OPTIONS);
	assert_int_equal(edge_behavior_method(IOV_LIT("DELETE")), EDGE_METHOD_DELETE);
	assert_int_equal(edge_behavior_method(IOV_LIT("get")), 0);
	assert_int_equal(edge_behavior_method(IOV_LIT("GETX")), 0);
	assert_int_equal(edge_behavior_method(IOV_NULL), 0);
}

static const char *origin_of(const struct edge_behavior_table *t, const char *path)
{
	return edge_behavior_match(t, iov_cstr(path))->origin_id;
}

static void precedence(void **state)
{
	struct edge_behavior_table *t = NULL;
	struct edge_behavior def = mk("*", "default");
	(void)state;

	assert_int_equal(edge_behavior_table_new(&def, &t), 0);
	assert_string_equal(origin_of(t, "/anything.jpg"), "default");

	/* CF: to treat images/product1 apart, put it before images/ */
	struct edge_behavior p1 = mk("images/product1/*", "product1");
	struct edge_behavior img = mk("images/*.jpg", "images");
	struct edge_behavior jpg = mk("/*.jpg", "jpg");
	assert_int_equal(edge_behavior_table_add(t, &p1), 0);
	assert_int_equal(edge_behavior_table_add(t, &img), 0);
	assert_int_equal(edge_behavior_table_add(t, &jpg), 0);

	assert_string_equal(origin_of(t, "/images/product1/a.jpg"), "product1");
	assert_string_equal(origin_of(t, "/images/product1/a.png"), "product1");
	assert_string_equal(origin_of(t, "/images/product2/a.jpg"), "images");
	assert_string_equal(origin_of(t, "/images/a.jpg"), "images");
	assert_string_equal(origin_of(t, "/other/a.jpg"), "jpg");
	assert_string_equal(origin_of(t, "/other/a.JPG"), "default");
	assert_string_equal(origin_of(t, "/"), "default");
	assert_string_equal(origin_of(t, ""), "default");

	assert_int_equal(edge_behavior_table_count(t), 4);
	assert_string_equal(edge_behavior_table_get(t, 0)->origin_id, "product1");
	assert_string_equal(edge_behavior_table_get(t, 2)->origin_id, "jpg");
	assert_string_equal(edge_behavior_table_get(t, 3)->pattern, "*"); /* default last */
	edge_behavior_table_free(t);

	/* the same patterns in the other order: the first match wins, so the
	 * broader pattern shadows product1 */
	assert_int_equal(edge_behavior_table_new(&def, &t), 0);
	assert_int_equal(edge_behavior_table_add(t, &img), 0);
	assert_int_equal(edge_behavior_table_add(t, &p1), 0);
	assert_string_equal(origin_of(t, "/images/product1/a.jpg"), "images");
	assert_string_equal(origin_of(t, "/images/product1/a.png"), "product1");
	edge_behavior_table_free(t);
}

static void signed_behavior_not_dodged(void **state)
{
	struct edge_behavior_table *t = NULL;
	struct edge_behavior def = mk("*", "public");
	struct edge_behavior priv = mk("private/*", "private");
	char norm[64];
	size_t n;
	(void)state;

	priv.sign = EDGE_SIGN_SIGV4A;
	assert_int_equal(edge_behavior_table_new(&def, &t), 0);
	assert_int_equal(edge_behavior_table_add(t, &priv), 0);
	static const char *tricks[] = { "/%70rivate/x", "/priv%61te/x",
		                        "/%70%72%69%76%61%74%65/x" };
	for (size_t i = 0; i < N_ELEMS(tricks); i++) {
		assert_int_equal(edge_path_normalize(iov_cstr(tricks[i]), norm, sizeof(norm), &n),
		                 0);
		const struct edge_behavior *b = edge_behavior_match(t, iov_make(norm, n));
		assert_string_equal(b->origin_id, "private");
		assert_int_equal(b->sign, EDGE_SIGN_SIGV4A);
	}
	edge_behavior_table_free(t);
}

static void table_limits(void **state)
{
	struct edge_behavior_table *t = NULL;
	struct edge_behavior def = mk("images/*", "d");
	(void)state;

	/* the default's pattern is "*" and cannot be changed */
	assert_int_equal(edge_behavior_table_new(&def, &t), ERR_EDGE_BEHAVIOR_INVALID);
	assert_null(t);
	def.pattern[0] = '\0'; /* empty reads as "*" */
	assert_int_equal(edge_behavior_table_new(&def, &t), 0);
	assert_string_equal(edge_behavior_table_get(t, 0)->pattern, "*");

	struct edge_behavior bad = mk("a b", "x");
	assert_int_equal(edge_behavior_table_add(t, &bad), ERR_EDGE_BEHAVIOR_INVALID);
	assert_int_equal(edge_behavior_table_count(t), 1);

	for (int i = 0; i < EDGE_BEHAVIOR_MAX - 1; i++) {
		char p[16];
		snprintf(p, sizeof(p), "p%d/*", i);
		struct edge_behavior b = mk(p, p);
		assert_int_equal(edge_behavior_table_add(t, &b), 0);
	}
	struct edge_behavior more = mk("more/*", "more");
	assert_int_equal(edge_behavior_table_add(t, &more), ERR_EDGE_BEHAVIOR_FULL);
	assert_int_equal(edge_behavior_table_count(t), EDGE_BEHAVIOR_MAX);
	assert_string_equal(origin_of(t, "/p62/x"), "p62/*");
	assert_string_equal(origin_of(t, "/more/x"), "d");
	edge_behavior_table_free(t);
	edge_behavior_table_free(NULL);
}

/* ---- normalisation ------------------------------------------------------ */

static void path_normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "/a%7eb", "/a~b" },     { "/a%7Eb", "/a~b" },   { "/%41%5a%30", "/AZ0" },
		{ "/%2d%2E%5f", "/-._" }, { "/a%2fb", "/a%2Fb" }, { "/a%2Fb", "/a%2Fb" },
		{ "/%c3%a9", "/%C3%A9" }, { "/%20", "/%20" },     { "/%25", "/%25" },
		{ "/%zz", "/%25zz" },     { "/%4", "/%254" },     { "/a%", "/a%25" },
		{ "/a/../b", "/a/../b" }, { "/A", "/A" },         { "", "" },
		{ "%%41", "%25A" },       { "/%2541", "/%2541" },
	};
	char out[64];
	size_t n;
	(void)state;

	for (size_t i = 0; i < N_ELEMS(rows); i++) {
		assert_int_equal(edge_path_normalize(iov_cstr(rows[i].in), out, sizeof(out), &n),
		                 0);
		if (n != strlen(rows[i].out) || memcmp(out, rows[i].out, n) != 0)
			fail_msg("'%s' -> '%.*s', want '%s'", rows[i].in, (int)n, out, rows[i].out);
	}
	assert_int_equal(edge_path_normalize(IOV_LIT("/abc"), out, 4, &n), 0);
	assert_int_equal(edge_path_normalize(IOV_LIT("/abcd"), out, 4, &n), ERR_EDGE_KEY_TOO_LONG);
	assert_int_equal(edge_path_normalize(IOV_LIT("/a%2f"), out, 4, &n), ERR_EDGE_KEY_TOO_LONG);
	assert_int_equal(edge_path_normalize(IOV_LIT("/a%7e"), out, 4, &n), 0); /* shrinks */
	assert_int_equal(n, 3);
	assert_int_equal(edge_path_normalize(IOV_LIT("/a%"), out, 4, &n), ERR_EDGE_KEY_TOO_LONG);
	assert_int_equal(edge_path_normalize(IOV_LIT("/a%"), out, 5, &n), 0); /* grows */
	assert_int_equal(n, 5);

	/* found by the fuzzer: "%%3736" must not normalise to "%76", which is
	 * itself a valid encoding of 'v' and the form of "%%376" */
	char a[16], b[16];
	size_t na, nb;
	assert_int_equal(edge_path_normalize(IOV_LIT("/%%3736"), a, sizeof(a), &na), 0);
	assert_int_equal(edge_path_normalize(IOV_LIT("/%%376"), b, sizeof(b), &nb), 0);
	assert_false(na == nb && memcmp(a, b, na) == 0);
	assert_int_equal(edge_path_normalize(iov_make(a, na), b, sizeof(b), &nb), 0);
	assert_int_equal(na, nb); /* a fixed point */
	assert_memory_equal(a, b, na);
}

/* ---- the key ------------------------------------------------------------ */

#define HOST "d111111abcdef8.cloudfront.net"

struct req {
	const char *host, *method, *path, *query;
	const char *h[6][2];
};

static char key_a[EDGE_KEY_MAX], key_b[EDGE_KEY_MAX];

static int key(const struct edge_behavior *b, const struct req *r, char *out, size_t *len)
{
	struct http_header hs[6];
	size_t nh = 0;
	for (; nh < 6 && r->h[nh][0] != NULL; nh++) {
		hs[nh].name = iov_cstr(r->h[nh][0]);
		hs[nh].value = iov_cstr(r->h[nh][1]);
	}
	struct edge_key_input in = {
		.host = iov_cstr(r->host ? r->host : HOST),
		.method = iov_cstr(r->method ? r->method : "GET"),
		.path = iov_cstr(r->path ? r->path : "/"),
		.query = r->query ? iov_cstr(r->query) : IOV_NULL,
		.headers = hs,
		.nheaders = nh,
	};
	return edge_cache_key(b, &in, out, EDGE_KEY_MAX, len);
}

/* 1: same key, 0: different keys; both must build. */
static int same(const struct edge_behavior *b, const struct req *x, const struct req *y)
{
	size_t la, lb;
	assert_int_equal(key(b, x, key_a, &la), 0);
	assert_int_equal(key(b, y, key_b, &lb), 0);
	return la == lb && memcmp(key_a, key_b, la) == 0;
}

#define SAME(b, ...)                                                                    \
	do {                                                                            \
		struct req x_[2] = { __VA_ARGS__ };                                     \
		if (!same(b, &x_[0], &x_[1]))                                           \
			fail_msg("line %d: keys differ: '%.*s'", __LINE__, 200, key_a); \
	} while (0)
#define DIFF(b, ...)                                                                   \
	do {                                                                           \
		struct req x_[2] = { __VA_ARGS__ };                                    \
		if (same(b, &x_[0], &x_[1]))                                           \
			fail_msg("line %d: keys equal: '%.*s'", __LINE__, 200, key_a); \
	} while (0)

static void key_format(void **state)
{
	struct edge_behavior b = mk("*", "o");
	size_t n;
	struct req r = { .path = "/content/stories/example-story.html" };
	(void)state;

	/* the exact bytes are a contract: stored entries are found by them */
	assert_int_equal(key(&b, &r, key_a, &n), 0);
	const char *want = "K1\nhost 29:d111111abcdef8.cloudfront.net\nm 3:GET\n"
	                   "p 35:/content/stories/example-story.html\n";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(key_a, want, n);

	uint8_t h1[SHA256_LEN], h2[SHA256_LEN];
	edge_cache_key_hash(key_a, n, h1);
	edge_cache_key_hash(want, n, h2);
	assert_memory_equal(h1, h2, SHA256_LEN);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h1[i];
	assert_true(edge_cache_key_hash64(key_a, n) == v);
	edge_cache_key_hash(key_a, n - 1, h2);
	assert_memory_not_equal(h1, h2, SHA256_LEN);

	/* the path field reads back (invalidation matches on it) */
	struct iov path;
	assert_int_equal(edge_cache_key_path(key_a, n, &path), 0);
	assert_true(iov_eq(path, IOV_LIT("/content/stories/example-story.html")));
	r.path = "/a%7e%2fb";
	r.query = "x=1";
	assert_int_equal(key(&b, &r, key_a, &n), 0);
	assert_int_equal(edge_cache_key_path(key_a, n, &path), 0);
	assert_true(iov_eq(path, IOV_LIT("/a~%2Fb")));
	for (size_t cut = 0; cut < n; cut++) /* any truncation short of the path's end */
		if (cut < (size_t)(path.base - key_a) + path.len + 1)
			assert_int_equal(edge_cache_key_path(key_a, cut, &path), ERR_INVALID);
	assert_int_equal(edge_cache_key_path("K2\nhost 1:a\nm 3:GET\np 1:/\n", 26, &path),
	                 ERR_INVALID);
}

static void key_default_cloudfront(void **state)
{
	struct edge_behavior b = mk("*", "o");
	(void)state;

	/* CF "Understanding the cache key": these two requests are one hit */
	SAME(&b,
	     { .path = "/content/stories/example-story.html",
	       .query = "ref=0123abc&split-pages=false",
	       .h = { { "User-Agent", "Mozilla/5.0 Gecko/20100101 Firefox/68.0" },
	              { "Accept-Language", "en-US,en" },
	              { "Cookie", "session_id=01234abcd" },
	              { "Referer", "https://news.example.com/" } } },
	     { .path = "/content/stories/example-story.html",
	       .query = "ref=xyz987&split-pages=true",
	       .h = { { "User-Agent", "Mozilla/5.0 AppleWebKit/537.36 Chrome/83.0.4103.116" },
	              { "Cookie", "session_id=wxyz9876" },
	              { "Referer", "https://rss.news.example.net/" } } });
	DIFF(&b, { .path = "/a" }, { .path = "/b" });
	DIFF(&b, { .host = "a.example" }, { .host = "b.example" });
	SAME(&b, { .host = "D111111ABCDEF8.CloudFront.net" }, { .host = HOST });
}

static void key_methods(void **state)
{
	struct edge_behavior b = mk("*", "o");
	size_t n;
	(void)state;

	SAME(&b, { .method = "GET" }, { .method = "HEAD" }); /* CF: one object for both */
	struct req opt = { .method = "OPTIONS" };
	assert_int_equal(key(&b, &opt, key_a, &n), ERR_EDGE_KEY_METHOD); /* not cached */
	b.allowed_methods = EDGE_METHODS_ALL;
	b.cached_methods = EDGE_METHODS_GHO;
	DIFF(&b, { .method = "OPTIONS" }, { .method = "GET" }); /* CF: cached apart */
	DIFF(&b, { .method = "OPTIONS" }, { .method = "HEAD" });
	SAME(&b, { .method = "OPTIONS", .path = "/x" }, { .method = "OPTIONS", .path = "/x" });
	static const char *never[] = { "POST", "PUT", "DELETE", "PATCH", "get", "BREW", "" };
	for (size_t i = 0; i < N_ELEMS(never); i++) {
		struct req r = { .method = never[i] };
		assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_METHOD);
	}
}

static void key_path(void **state)
{
	struct edge_behavior b = mk("*", "o");
	(void)state;

	SAME(&b, { .path = "/a%7Eb" }, { .path = "/a~b" });
	SAME(&b, { .path = "/%61" }, { .path = "/a" });
	SAME(&b, { .path = "/a%2fb" }, { .path = "/a%2Fb" });
	DIFF(&b, { .path = "/a/b" }, { .path = "/a%2Fb" }); /* reserved: not decoded */
	DIFF(&b, { .path = "/a b" }, { .path = "/a%20b" });
	DIFF(&b, { .path = "/A" }, { .path = "/a" });
	DIFF(&b, { .path = "/a/" }, { .path = "/a" });
	DIFF(&b, { .path = "/a/../b" }, { .path = "/b" });
	SAME(&b, { .path = "" }, { .path = "/" });
	DIFF(&b, { .path = "/%%3736" }, { .path = "/%%376" });
	SAME(&b, { .path = "/100%" }, { .path = "/100%25" });
}

static void key_query_modes(void **state)
{
	struct edge_behavior b = mk("*", "o");
	(void)state;

	/* none: the query is not in the key */
	SAME(&b, { .query = "a=1" }, { .query = "a=2" });
	SAME(&b, { .query = "a=1" }, { 0 });

	b.qs_mode = EDGE_QS_ALL;
	DIFF(&b, { .query = "a=1" }, { .query = "a=2" });
	DIFF(&b, { .query = "a=1" }, { 0 });
	SAME(&b, { .query = "color=red&size=large" }, { .query = "size=large&color=red" });
	DIFF(&b, { .query = "color=red" }, { .query = "color=Red" }); /* CF: case counts */
	DIFF(&b, { .query = "color=red" }, { .query = "Color=red" });
	SAME(&b, { .query = "a=2&a=1" }, { .query = "a=1&a=2" });
	DIFF(&b, { .query = "a=1&a=1" }, { .query = "a=1" }); /* duplicates kept */
	DIFF(&b, { .query = "a" }, { .query = "a=" });
	SAME(&b, { .query = "&&a=1&" }, { .query = "a=1" });
	SAME(&b, { .query = "" }, { 0 });
	SAME(&b, { .query = "a=%7e" }, { .query = "a=~" });
	SAME(&b, { .query = "%61=1" }, { .query = "a=1" });
	SAME(&b, { .query = "a=%2f" }, { .query = "a=%2F" });
	DIFF(&b, { .query = "a=%2F" }, { .query = "a=/" });
	DIFF(&b, { .query = "a=1%26b=2" }, { .query = "a=1&b=2" }); /* %26 is not '&' */
	DIFF(&b, { .query = "a%3Db=1" }, { .query = "a=b=1" });
	SAME(&b, { .query = "b=1&a=2&a=1" }, { .query = "a=1&b=1&a=2" });
	/* CF: ';' is not a separator: one parameter "color" = "red;size=large" */
	DIFF(&b, { .query = "color=red;size=large" }, { .query = "color=red&size=large" });

	b.qs_mode = EDGE_QS_LISTED;
	b.qs_count = 1;
	snprintf(b.qs_names[0], sizeof(b.qs_names[0]), "color");
	SAME(&b, { .query = "color=red&size=large" }, { .query = "size=small&color=red" });
	DIFF(&b, { .query = "color=red" }, { .query = "color=blue" });
	SAME(&b, { .query = "Color=red" }, { 0 }); /* not the listed name */
	SAME(&b, { .query = "size=1" }, { .query = "" });
	DIFF(&b, { .query = "color=red&color=blue" }, { .query = "color=red" });
	SAME(&b, { .query = "color=blue&x=1&color=red" }, { .query = "color=red&color=blue" });

	b.qs_mode = EDGE_QS_ALL_EXCEPT;
	snprintf(b.qs_names[0], sizeof(b.qs_names[0]), "utm");
	SAME(&b, { .query = "utm=1&a=1" }, { .query = "a=1&utm=2" });
	DIFF(&b, { .query = "utm=1&a=1" }, { .query = "utm=1&a=2" });
	SAME(&b, { .query = "utm=1" }, { 0 });
}

static void key_headers_listed(void **state)
{
	struct edge_behavior b = mk("*", "o");
	(void)state;

	b.header_count = 2;
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "Accept-Language");
	snprintf(b.header_names[1], sizeof(b.header_names[1]), "X-Variant");

	SAME(&b, { .h = { { "accept-language", "en-US" } } },
	     { .h = { { "ACCEPT-LANGUAGE", "en-US" } } });
	SAME(&b, { .h = { { "Accept-Language", " \ten-US  " } } },
	     { .h = { { "Accept-Language", "en-US" } } });
	DIFF(&b, { .h = { { "Accept-Language", "en-US" } } },
	     { .h = { { "Accept-Language", "en-us" } } }); /* values keep their case */
	DIFF(&b, { .h = { { "Accept-Language", "en-US,en" } } },
	     { .h = { { "Accept-Language", "en,en-US" } } });
	DIFF(&b, { .h = { { "X-Variant", "" } } }, { 0 }); /* empty is not absent */
	SAME(&b, { .h = { { "User-Agent", "a" }, { "Cookie", "x=1" } } }, { 0 });
	SAME(&b, { .h = { { "X-Variant", "a" }, { "X-Variant", "b" } } },
	     { .h = { { "X-Variant", "a,b" } } });
	DIFF(&b, { .h = { { "X-Variant", "a" }, { "X-Variant", "b" } } },
	     { .h = { { "X-Variant", "b" }, { "X-Variant", "a" } } });
	/* a value cannot pose as the next field */
	DIFF(&b, { .h = { { "Accept-Language", "en\nh 9:x-variant\nv 1:z" } } },
	     { .h = { { "Accept-Language", "en" }, { "X-Variant", "z" } } });
	SAME(&b, { .h = { { "X-Variant", "1" }, { "Accept-Language", "en" } } },
	     { .h = { { "Accept-Language", "en" }, { "X-Variant", "1" } } });
}

static void key_accept_encoding(void **state)
{
	struct edge_behavior b = mk("*", "o");
	(void)state;

	/* not keyed on compression: Accept-Encoding is ignored */
	SAME(&b, { .h = { { "Accept-Encoding", "gzip" } } }, { 0 });

	b.key_gzip = b.key_br = true;
	SAME(&b, { .h = { { "Accept-Encoding", "gzip, deflate, br" } } },
	     { .h = { { "accept-encoding", "BR;q=0.9,GZIP" } } });
	DIFF(&b, { .h = { { "Accept-Encoding", "gzip" } } },
	     { .h = { { "Accept-Encoding", "gzip, br" } } });
	DIFF(&b, { .h = { { "Accept-Encoding", "gzip" } } },
	     { .h = { { "Accept-Encoding", "br" } } });
	SAME(&b, { .h = { { "Accept-Encoding", "deflate, identity" } } }, { 0 });
	SAME(&b, { .h = { { "Accept-Encoding", "gzip;q=0, br;q=0.000" } } }, { 0 });
	SAME(&b, { .h = { { "Accept-Encoding", "gzip;q=0.5, br;q=0" } } },
	     { .h = { { "Accept-Encoding", "gzip" } } });
	SAME(&b, { .h = { { "Accept-Encoding", "gzip" }, { "Accept-Encoding", "br" } } },
	     { .h = { { "Accept-Encoding", "br,gzip" } } });
	SAME(&b, { .h = { { "Accept-Encoding", "x-gzip, *" } } }, { 0 });

	/* CF: one format enabled: the other is not keyed */
	b.key_br = false;
	SAME(&b, { .h = { { "Accept-Encoding", "gzip, br" } } },
	     { .h = { { "Accept-Encoding", "gzip" } } });
	SAME(&b, { .h = { { "Accept-Encoding", "br" } } }, { 0 });

	/* edge compression keys both */
	b.key_gzip = false;
	b.compress = true;
	DIFF(&b, { .h = { { "Accept-Encoding", "gzip, br" } } },
	     { .h = { { "Accept-Encoding", "gzip" } } });

	/* listed Accept-Encoding is keyed normalised, not raw */
	b.header_count = 1;
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "Accept-Encoding");
	SAME(&b, { .h = { { "Accept-Encoding", "gzip, deflate" } } },
	     { .h = { { "Accept-Encoding", "gzip" } } });
	b.compress = false;
	DIFF(&b, { .h = { { "Accept-Encoding", "gzip, deflate" } } },
	     { .h = { { "Accept-Encoding", "gzip" } } });
}

static void key_caps(void **state)
{
	static char big[EDGE_KEY_MAX + 16];
	struct edge_behavior b = mk("*", "o");
	size_t n;
	(void)state;

	b.qs_mode = EDGE_QS_ALL;
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';

	big[EDGE_PATH_MAX] = '\0';
	struct req r = { .path = big };
	assert_int_equal(key(&b, &r, key_a, &n), 0);
	big[EDGE_PATH_MAX] = 'a';
	big[EDGE_PATH_MAX + 1] = '\0';
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_TOO_LONG);
	assert_int_equal(err_http_status(ERR_EDGE_KEY_TOO_LONG), 414);

	r = (struct req){ .query = big + 1 }; /* EDGE_PATH_MAX 'a's: one parameter */
	assert_int_equal(key(&b, &r, key_a, &n), 0);
	big[EDGE_PATH_MAX + 1] = 'a';
	big[EDGE_QUERY_MAX + 2] = '\0';
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_TOO_LONG);

	/* path and query each within their caps, the key over its own */
	char q[EDGE_QUERY_MAX + 1];
	memset(q, 'b', EDGE_QUERY_MAX);
	q[EDGE_QUERY_MAX] = '\0';
	big[EDGE_PATH_MAX] = '\0';
	r = (struct req){ .path = big, .query = q };
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_TOO_LONG);

	/* a small output buffer is the same error, never an overflow */
	struct edge_key_input in = { .host = IOV_LIT(HOST),
		                     .method = IOV_LIT("GET"),
		                     .path = IOV_LIT("/a") };
	assert_int_equal(edge_cache_key(&b, &in, key_a, 10, &n), ERR_EDGE_KEY_TOO_LONG);
	assert_int_equal(n, 0);

	/* parameters past EDGE_QUERY_PARAMS_MAX */
	char many[4 * (EDGE_QUERY_PARAMS_MAX + 1) + 1];
	size_t o = 0;
	for (int i = 0; i <= EDGE_QUERY_PARAMS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s%c=", i ? "&" : "",
		                      'a' + i % 26);
	r = (struct req){ .query = many };
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_TOO_LONG);
	many[o - 3] = '\0'; /* exactly EDGE_QUERY_PARAMS_MAX */
	assert_int_equal(key(&b, &r, key_a, &n), 0);

	/* host */
	memset(big, 'h', EDGE_HOST_MAX + 1);
	big[EDGE_HOST_MAX + 1] = '\0';
	r = (struct req){ .host = big };
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_TOO_LONG);

	/* a listed header's value */
	b.header_count = 1;
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "X-V");
	memset(big, 'v', EDGE_HEADER_VALUE_MAX + 1);
	big[EDGE_HEADER_VALUE_MAX] = '\0';
	r = (struct req){ .h = { { "X-V", big } } };
	assert_int_equal(key(&b, &r, key_a, &n), 0);
	r = (struct req){ .h = { { "X-V", big }, { "X-V", "" } } }; /* the ',' tips it */
	assert_int_equal(key(&b, &r, key_a, &n), ERR_EDGE_KEY_HEADERS_TOO_LARGE);
	assert_int_equal(err_http_status(ERR_EDGE_KEY_HEADERS_TOO_LARGE), 431);
}

static void key_deterministic(void **state)
{
	struct edge_behavior b = mk("*", "o");
	size_t la, lb;
	(void)state;

	b.qs_mode = EDGE_QS_ALL;
	b.compress = true;
	b.header_count = 1;
	snprintf(b.header_names[0], sizeof(b.header_names[0]), "Origin");
	struct req r = { .method = "HEAD",
		         .path = "/x/%7ey",
		         .query = "z=1&a=%2f&a",
		         .h = { { "Origin", "https://a.example" },
		                { "Accept-Encoding", "br, gzip" } } };
	assert_int_equal(key(&b, &r, key_a, &la), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(key(&b, &r, key_b, &lb), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(key_a, key_b, la);
	}
	const char *want = "K1\nhost 29:d111111abcdef8.cloudfront.net\nm 3:GET\np 5:/x/~y\n"
	                   "q 1:a\nq 5:a=%2F\nq 3:z=1\nh 6:origin\nv 17:https://a.example\n"
	                   "ae 7:br,gzip\n";
	assert_int_equal(la, strlen(want));
	assert_memory_equal(key_a, want, la);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(glob_table),          cmocka_unit_test(glob_vs_reference),
		cmocka_unit_test(glob_bounded_steps),  cmocka_unit_test(init_defaults),
		cmocka_unit_test(check_rejects),       cmocka_unit_test(method_bits),
		cmocka_unit_test(precedence),          cmocka_unit_test(signed_behavior_not_dodged),
		cmocka_unit_test(table_limits),        cmocka_unit_test(path_normalize),
		cmocka_unit_test(key_format),          cmocka_unit_test(key_default_cloudfront),
		cmocka_unit_test(key_methods),         cmocka_unit_test(key_path),
		cmocka_unit_test(key_query_modes),     cmocka_unit_test(key_headers_listed),
		cmocka_unit_test(key_accept_encoding), cmocka_unit_test(key_caps),
		cmocka_unit_test(key_deterministic),
	};
	return cmocka_run_group_tests_name("test_edge_behavior", tests, NULL, NULL);
}
