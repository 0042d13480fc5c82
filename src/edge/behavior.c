/*
 * Cache behaviors (ordered glob table, first match wins, default last) and
 * the canonical cache key. See behavior.h for the contract and
 * docs/internals/edge-behavior.md for the CloudFront facts it follows.
 * Tables are built on the config thread and read by any worker thread.
 */
#include "edge/behavior.h"

#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/parser.h"

/* The first line of every key: a new key format gets a new version, so
 * stored entries of the old one are never mistaken for it. */
#define KEY_VERSION "K1\n"

#define TABLE_MAGIC 0x45424854u /* "EBHT" */

struct edge_behavior_table {
	uint32_t magic;
	size_t n; /* behaviors before the default */
	struct edge_behavior items[EDGE_BEHAVIOR_MAX - 1];
	struct edge_behavior def;
};

/* ---- configuration ---------------------------------------------------- */

void edge_behavior_init(struct edge_behavior *b)
{
	memset(b, 0, sizeof(*b));
	b->pattern[0] = '*';
	b->allowed_methods = EDGE_METHODS_GH;
	b->cached_methods = EDGE_METHODS_GH;
	b->min_ttl = 0;
	b->default_ttl = 86400;
	b->max_ttl = 31536000;
	b->qs_mode = EDGE_QS_NONE;
	b->sign = EDGE_SIGN_NONE;
}

static bool pattern_char_ok(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("_-.*$/~\"'@:+&?", c) != NULL;
}

static bool tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A NUL-terminated string of 1..max bytes inside an array of max + 1. */
static bool cstr_len(const char *s, size_t max, size_t *len)
{
	const char *nul = memchr(s, '\0', max + 1);
	if (nul == NULL || nul == s)
		return false;
	*len = (size_t)(nul - s);
	return true;
}

static bool name_list_ok(const char names[][EDGE_KEY_NAME_MAX + 1], size_t n, bool token)
{
	if (n > EDGE_KEY_LIST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (!cstr_len(names[i], EDGE_KEY_NAME_MAX, &len))
			return false;
		for (size_t j = 0; token && j < len; j++)
			if (!tchar((unsigned char)names[i][j]))
				return false;
	}
	return true;
}

int edge_behavior_check(const struct edge_behavior *b)
{
	size_t len;

	if (!cstr_len(b->pattern, EDGE_PATTERN_MAX, &len))
		return ERR_EDGE_BEHAVIOR_INVALID;
	for (size_t i = 0; i < len; i++)
		if (!pattern_char_ok((unsigned char)b->pattern[i]))
			return ERR_EDGE_BEHAVIOR_INVALID;
	if (!cstr_len(b->origin_id, EDGE_ORIGIN_ID_MAX, &len))
		return ERR_EDGE_BEHAVIOR_INVALID;
	if (memchr(b->root_object, '\0', sizeof(b->root_object)) == NULL)
		return ERR_EDGE_BEHAVIOR_INVALID;
	if (b->allowed_methods != EDGE_METHODS_GH && b->allowed_methods != EDGE_METHODS_GHO &&
	    b->allowed_methods != EDGE_METHODS_ALL)
		return ERR_EDGE_BEHAVIOR_INVALID;
	if (b->cached_methods != EDGE_METHODS_GH && b->cached_methods != EDGE_METHODS_GHO)
		return ERR_EDGE_BEHAVIOR_INVALID;
	if ((b->cached_methods & ~b->allowed_methods) != 0)
		return ERR_EDGE_BEHAVIOR_INVALID;
	if (b->min_ttl > b->default_ttl || b->default_ttl > b->max_ttl)
		return ERR_EDGE_BEHAVIOR_INVALID;
	switch (b->qs_mode) {
	case EDGE_QS_NONE:
	case EDGE_QS_ALL:
		if (b->qs_count != 0)
			return ERR_EDGE_BEHAVIOR_INVALID;
		break;
	case EDGE_QS_LISTED:
	case EDGE_QS_ALL_EXCEPT:
		if (!name_list_ok(b->qs_names, b->qs_count, false))
			return ERR_EDGE_BEHAVIOR_INVALID;
		break;
	default:
		return ERR_EDGE_BEHAVIOR_INVALID;
	}
	if (!name_list_ok(b->header_names, b->header_count, true))
		return ERR_EDGE_BEHAVIOR_INVALID;
	if (b->sign != EDGE_SIGN_NONE && b->sign != EDGE_SIGN_SIGV4 && b->sign != EDGE_SIGN_SIGV4A)
		return ERR_EDGE_BEHAVIOR_INVALID;
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{ "GET", EDGE_METHOD_GET },         { "HEAD", EDGE_METHOD_HEAD },
	{ "OPTIONS", EDGE_METHOD_OPTIONS }, { "PUT", EDGE_METHOD_PUT },
	{ "POST", EDGE_METHOD_POST },       { "PATCH", EDGE_METHOD_PATCH },
	{ "DELETE", EDGE_METHOD_DELETE },
};

unsigned edge_behavior_method(struct iov method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (iov_eq(method, iov_cstr(methods[i].name)))
			return methods[i].bit;
	return 0;
}

/* ---- matching ----------------------------------------------------------- */

/* A '*'-free segment of the pattern against as many bytes of the subject. */
static bool seg_eq(const char *p, const char *s, size_t n, size_t *steps)
{
	for (size_t i = 0; i < n; i++) {
		(*steps)++;
		if (p[i] != '?' && p[i] != s[i])
			return false;
	}
	return true;
}

/*
 * pattern = S0 * S1 * ... * Sk with every Si free of '*' and of fixed
 * length. It matches iff S0 is a prefix, Sk a suffix after it, and S1..Sk-1
 * occur in order, without overlap, between them. Taking each middle
 * segment at its leftmost place leaves the most room for the next, so one
 * left-to-right pass decides: no backtracking across stars.
 */
static bool glob(const char *p, size_t pn, const char *s, size_t sn, size_t *steps)
{
	size_t first = 0;
	while (first < pn && p[first] != '*')
		first++;
	if (first == pn)
		return pn == sn && seg_eq(p, s, pn, steps);
	if (first > sn || !seg_eq(p, s, first, steps))
		return false;

	size_t last = pn; /* start of the segment after the last star */
	while (p[last - 1] != '*')
		last--;
	size_t tail = pn - last;
	if (tail > sn - first)
		return false;
	size_t end = sn - tail;
	if (!seg_eq(p + last, s + end, tail, steps))
		return false;

	size_t pos = first;
	for (size_t k = first + 1; k < last;) {
		if (p[k] == '*') {
			k++;
			continue;
		}
		size_t j = k;
		while (p[j] != '*')
			j++;
		size_t m = j - k;
		for (;;) {
			(*steps)++;
			if (pos + m > end)
				return false;
			if (seg_eq(p + k, s + pos, m, steps))
				break;
			pos++;
		}
		pos += m;
		k = j;
	}
	return true;
}

bool edge_pattern_match(struct iov pattern, struct iov path, size_t *steps)
{
	size_t n = 0;
	if (pattern.len == 0)
		pattern = IOV_LIT(""); /* no arithmetic on a NULL base */
	if (path.len == 0)
		path = IOV_LIT("");
	if (pattern.len > 0 && pattern.base[0] == '/')
		pattern = iov_sub(pattern, 1, pattern.len - 1);
	if (path.len > 0 && path.base[0] == '/')
		path = iov_sub(path, 1, path.len - 1);
	bool r = glob(pattern.base, pattern.len, path.base, path.len, &n);
	if (steps != NULL)
		*steps = n;
	return r;
}

/* ---- the table ---------------------------------------------------------- */

int edge_behavior_table_new(const struct edge_behavior *def, struct edge_behavior_table **out)
{
	struct edge_behavior d = *def;

	*out = NULL;
	if (d.pattern[0] == '\0')
		memcpy(d.pattern, "*", 2);
	if (strcmp(d.pattern, "*") != 0)
		return ERR_EDGE_BEHAVIOR_INVALID;
	int rc = edge_behavior_check(&d);
	if (rc != 0)
		return rc;
	struct edge_behavior_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ERR_NOMEM;
	t->magic = TABLE_MAGIC;
	t->def = d;
	*out = t;
	return 0;
}

void edge_behavior_table_free(struct edge_behavior_table *t)
{
	if (t == NULL)
		return;
	CHECK_MAGIC(t, TABLE_MAGIC);
	t->magic = 0;
	free(t);
}

int edge_behavior_table_add(struct edge_behavior_table *t, const struct edge_behavior *b)
{
	CHECK_MAGIC(t, TABLE_MAGIC);
	int rc = edge_behavior_check(b);
	if (rc != 0)
		return rc;
	if (t->n >= EDGE_BEHAVIOR_MAX - 1)
		return ERR_EDGE_BEHAVIOR_FULL;
	t->items[t->n++] = *b;
	return 0;
}

size_t edge_behavior_table_count(const struct edge_behavior_table *t)
{
	CHECK_MAGIC(t, TABLE_MAGIC);
	return t->n + 1;
}

const struct edge_behavior *edge_behavior_table_get(const struct edge_behavior_table *t, size_t i)
{
	CHECK_MAGIC(t, TABLE_MAGIC);
	CHECK(i <= t->n);
	return i < t->n ? &t->items[i] : &t->def;
}

const struct edge_behavior *edge_behavior_match(const struct edge_behavior_table *t,
                                                struct iov path)
{
	CHECK_MAGIC(t, TABLE_MAGIC);
	for (size_t i = 0; i < t->n; i++)
		if (edge_pattern_match(iov_cstr(t->items[i].pattern), path, NULL))
			return &t->items[i];
	return &t->def;
}

/* ---- normalisation -------------------------------------------------------- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int edge_path_normalize(struct iov in, char *out, size_t cap, size_t *len)
{
	size_t o = 0;

	*len = 0;
	for (size_t i = 0; i < in.len; i++) {
		char c = in.base[i];
		if (c == '%' && in.len - i >= 3) {
			int hi = hexval((unsigned char)in.base[i + 1]);
			int lo = hexval((unsigned char)in.base[i + 2]);
			if (hi >= 0 && lo >= 0) {
				unsigned char v = (unsigned char)(hi << 4 | lo);
				if (unreserved(v)) {
					if (o >= cap)
						return ERR_EDGE_KEY_TOO_LONG;
					out[o++] = (char)v;
				} else {
					if (cap - o < 3)
						return ERR_EDGE_KEY_TOO_LONG;
					out[o++] = '%';
					out[o++] = upper(in.base[i + 1]);
					out[o++] = upper(in.base[i + 2]);
				}
				i += 2;
				continue;
			}
		}
		if (c == '%') {
			/* a stray '%' is what a lenient decoder reads: "%25" */
			if (cap - o < 3)
				return ERR_EDGE_KEY_TOO_LONG;
			memcpy(out + o, "%25", 3);
			o += 3;
			continue;
		}
		if (o >= cap)
			return ERR_EDGE_KEY_TOO_LONG;
		out[o++] = c;
	}
	*len = o;
	return 0;
}

/* ---- the key -------------------------------------------------------------- */

/* Key writer: fields are "<tag> <decimal length>:<bytes>\n". */
struct kw {
	char *out;
	size_t cap, len;
	bool over;
};

static void kw_raw(struct kw *k, const char *p, size_t n)
{
	if (k->over || n > k->cap - k->len) {
		k->over = true;
		return;
	}
	if (n > 0)
		memcpy(k->out + k->len, p, n);
	k->len += n;
}

static void kw_head(struct kw *k, const char *tag, size_t n)
{
	char num[IOV_U64_DIGITS];

	kw_raw(k, tag, strlen(tag));
	kw_raw(k, " ", 1);
	kw_raw(k, num, iov_fmt_u64(n, num));
	kw_raw(k, ":", 1);
}

static void kw_field(struct kw *k, const char *tag, const char *p, size_t n)
{
	kw_head(k, tag, n);
	kw_raw(k, p, n);
	kw_raw(k, "\n", 1);
}

struct param {
	struct iov name, value; /* value.base NULL: no '=' */
};

static int param_cmp(const struct param *a, const struct param *b)
{
	int c = iov_cmp(a->name, b->name);
	if (c != 0)
		return c;
	bool av = a->value.base != NULL, bv = b->value.base != NULL;
	if (av != bv)
		return av ? 1 : -1;
	return iov_cmp(a->value, b->value);
}

static bool name_listed(const struct edge_behavior *b, struct iov name)
{
	for (size_t i = 0; i < b->qs_count; i++)
		if (iov_eq(name, iov_cstr(b->qs_names[i])))
			return true;
	return false;
}

static int key_query(struct kw *k, const struct edge_behavior *b, struct iov query)
{
	char norm[EDGE_QUERY_MAX];
	struct param ps[EDGE_QUERY_PARAMS_MAX];
	size_t np = 0, nlen;

	if (b->qs_mode == EDGE_QS_NONE || query.len == 0)
		return 0;
	if (query.len > EDGE_QUERY_MAX)
		return ERR_EDGE_KEY_TOO_LONG;
	int rc = edge_path_normalize(query, norm, sizeof(norm), &nlen);
	if (rc != 0)
		return rc;

	struct iov rest = iov_make(norm, nlen);
	while (rest.base != NULL) {
		struct iov item, name;
		rest = iov_split(rest, '&', &item);
		if (item.len == 0)
			continue;
		struct param p;
		p.value = iov_split(item, '=', &name);
		p.name = name;
		bool listed = name_listed(b, p.name);
		if ((b->qs_mode == EDGE_QS_LISTED && !listed) ||
		    (b->qs_mode == EDGE_QS_ALL_EXCEPT && listed))
			continue;
		if (np == EDGE_QUERY_PARAMS_MAX)
			return ERR_EDGE_KEY_TOO_LONG;
		/* insertion sort: n is small and the order must be total */
		size_t j = np++;
		while (j > 0 && param_cmp(&ps[j - 1], &p) > 0) {
			ps[j] = ps[j - 1];
			j--;
		}
		ps[j] = p;
	}
	for (size_t i = 0; i < np; i++) {
		bool has = ps[i].value.base != NULL;
		kw_head(k, "q", ps[i].name.len + (has ? 1 + ps[i].value.len : 0));
		kw_raw(k, ps[i].name.base, ps[i].name.len);
		if (has) {
			kw_raw(k, "=", 1);
			kw_raw(k, ps[i].value.base, ps[i].value.len);
		}
		kw_raw(k, "\n", 1);
	}
	return 0;
}

/* Join every value of header `name` (trimmed) with ','. *present tells an
 * absent header from an empty one. */
static int header_value(const struct edge_key_input *in, struct iov name, char *buf, size_t *len,
                        bool *present)
{
	size_t o = 0;

	*present = false;
	for (size_t i = 0; i < in->nheaders; i++) {
		if (!iov_eq_nocase(in->headers[i].name, name))
			continue;
		struct iov v = iov_trim(in->headers[i].value);
		size_t need = v.len + (*present ? 1 : 0);
		if (need > EDGE_HEADER_VALUE_MAX - o)
			return ERR_EDGE_KEY_HEADERS_TOO_LARGE;
		if (*present)
			buf[o++] = ',';
		if (v.len > 0)
			memcpy(buf + o, v.base, v.len);
		o += v.len;
		*present = true;
	}
	*len = o;
	return 0;
}

/* q=0 (with up to three zero decimals) in one coding's parameters. */
static bool q_zero(struct iov params)
{
	while (params.base != NULL) {
		struct iov one;
		params = iov_split(params, ';', &one);
		one = iov_trim(one);
		if (one.len < 2 || (one.base[0] != 'q' && one.base[0] != 'Q') || one.base[1] != '=')
			continue;
		struct iov q = iov_trim(iov_sub(one, 2, one.len - 2));
		if (q.len == 0 || q.base[0] != '0')
			return false;
		if (q.len == 1)
			return true;
		if (q.base[1] != '.' || q.len > 5)
			return false;
		for (size_t i = 2; i < q.len; i++)
			if (q.base[i] != '0')
				return false;
		return true;
	}
	return false;
}

static void accept_encoding(const struct edge_key_input *in, bool *gzip, bool *br)
{
	*gzip = *br = false;
	for (size_t i = 0; i < in->nheaders; i++) {
		if (!iov_eq_nocase(in->headers[i].name, IOV_LIT("accept-encoding")))
			continue;
		struct iov rest = in->headers[i].value;
		while (rest.base != NULL) {
			struct iov elem, coding;
			rest = iov_split(rest, ',', &elem);
			struct iov params = iov_split(elem, ';', &coding);
			coding = iov_trim(coding);
			if (q_zero(params))
				continue;
			if (iov_eq_nocase(coding, IOV_LIT("gzip")))
				*gzip = true;
			else if (iov_eq_nocase(coding, IOV_LIT("br")))
				*br = true;
		}
	}
}

static int key_headers(struct kw *k, const struct edge_behavior *b, const struct edge_key_input *in,
                       bool ae_normalised)
{
	char val[EDGE_HEADER_VALUE_MAX];

	for (size_t i = 0; i < b->header_count; i++) {
		struct iov name = iov_cstr(b->header_names[i]);
		char lname[EDGE_KEY_NAME_MAX];
		size_t vlen;
		bool present;

		if (ae_normalised && iov_eq_nocase(name, IOV_LIT("accept-encoding")))
			continue; /* keyed in its normalised form instead */
		int rc = header_value(in, name, val, &vlen, &present);
		if (rc != 0)
			return rc;
		iov_copy_lower(lname, name);
		kw_field(k, "h", lname, name.len);
		if (present)
			kw_field(k, "v", val, vlen);
	}
	return 0;
}

int edge_cache_key(const struct edge_behavior *b, const struct edge_key_input *in, char *out,
                   size_t cap, size_t *len)
{
	struct kw k = { out, cap, 0, false };
	char buf[EDGE_PATH_MAX];
	size_t n;
	int rc;

	*len = 0;
	unsigned m = edge_behavior_method(in->method);
	const char *mclass;
	if (m == EDGE_METHOD_GET || m == EDGE_METHOD_HEAD)
		mclass = "GET";
	else if (m == EDGE_METHOD_OPTIONS && (b->cached_methods & EDGE_METHOD_OPTIONS))
		mclass = "OPTIONS";
	else
		return ERR_EDGE_KEY_METHOD;
	if (in->host.len > EDGE_HOST_MAX || in->path.len > EDGE_PATH_MAX)
		return ERR_EDGE_KEY_TOO_LONG;

	kw_raw(&k, KEY_VERSION, sizeof(KEY_VERSION) - 1);
	iov_copy_lower(buf, in->host);
	kw_field(&k, "host", buf, in->host.len);
	kw_field(&k, "m", mclass, strlen(mclass));
	if (in->path.len == 0) {
		kw_field(&k, "p", "/", 1);
	} else {
		rc = edge_path_normalize(in->path, buf, sizeof(buf), &n);
		if (rc != 0)
			return rc;
		kw_field(&k, "p", buf, n);
	}
	rc = key_query(&k, b, in->query);
	if (rc != 0)
		return rc;

	bool ae = b->key_gzip || b->key_br || b->compress;
	rc = key_headers(&k, b, in, ae);
	if (rc != 0)
		return rc;
	if (ae) {
		bool gz, br;
		accept_encoding(in, &gz, &br);
		gz = gz && (b->key_gzip || b->compress);
		br = br && (b->key_br || b->compress);
		if (gz && br)
			kw_field(&k, "ae", "br,gzip", 7);
		else if (gz)
			kw_field(&k, "ae", "gzip", 4);
		else if (br)
			kw_field(&k, "ae", "br", 2);
	}
	if (k.over)
		return ERR_EDGE_KEY_TOO_LONG;
	*len = k.len;
	return 0;
}

/* Read one "tag N:value\n" field of a key at *at. */
static int key_field_read(struct iov key, size_t *at, const char *tag, struct iov *value)
{
	size_t tl = strlen(tag), i = *at;
	if (key.len - i < tl + 1 || memcmp(key.base + i, tag, tl) != 0 || key.base[i + tl] != ' ')
		return ERR_INVALID;
	i += tl + 1;
	size_t n = 0, digits = 0;
	while (i < key.len && key.base[i] >= '0' && key.base[i] <= '9' && digits < 12) {
		n = n * 10 + (size_t)(key.base[i++] - '0');
		digits++;
	}
	if (digits == 0 || i >= key.len || key.base[i] != ':' || key.len - i - 1 < n + 1 ||
	    key.base[i + 1 + n] != '\n')
		return ERR_INVALID;
	*value = iov_make(key.base + i + 1, n);
	*at = i + 1 + n + 1;
	return 0;
}

int edge_cache_key_path(const char *key, size_t len, struct iov *path)
{
	struct iov k = iov_make(key, len), host, method;
	size_t at = sizeof(KEY_VERSION) - 1;
	if (!iov_starts(k, IOV_LIT(KEY_VERSION)))
		return ERR_INVALID;
	int rc = key_field_read(k, &at, "host", &host);
	if (rc == 0)
		rc = key_field_read(k, &at, "m", &method);
	if (rc == 0)
		rc = key_field_read(k, &at, "p", path);
	return rc;
}

void edge_cache_key_hash(const char *key, size_t len, uint8_t out[SHA256_LEN])
{
	sha256(key, len, out);
}

uint64_t edge_cache_key_hash64(const char *key, size_t len)
{
	uint8_t h[SHA256_LEN];
	uint64_t v = 0;

	sha256(key, len, h);
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return v;
}
