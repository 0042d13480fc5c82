/* Canonical request pieces for SigV4 and SigV4A. Pure; any thread. */
#include "auth/canon.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"

/* Bytes that stay as they are when encoded (RFC 3986 unreserved). */
#define U1(c) [c] = 1
static const unsigned char unreserved_table[256] = {
	U1('-'), U1('.'), U1('_'), U1('~'), U1('0'), U1('1'), U1('2'), U1('3'), U1('4'), U1('5'),
	U1('6'), U1('7'), U1('8'), U1('9'), U1('A'), U1('B'), U1('C'), U1('D'), U1('E'), U1('F'),
	U1('G'), U1('H'), U1('I'), U1('J'), U1('K'), U1('L'), U1('M'), U1('N'), U1('O'), U1('P'),
	U1('Q'), U1('R'), U1('S'), U1('T'), U1('U'), U1('V'), U1('W'), U1('X'), U1('Y'), U1('Z'),
	U1('a'), U1('b'), U1('c'), U1('d'), U1('e'), U1('f'), U1('g'), U1('h'), U1('i'), U1('j'),
	U1('k'), U1('l'), U1('m'), U1('n'), U1('o'), U1('p'), U1('q'), U1('r'), U1('s'), U1('t'),
	U1('u'), U1('v'), U1('w'), U1('x'), U1('y'), U1('z'),
};
#undef U1

static inline bool unreserved(unsigned char c)
{
	return unreserved_table[c];
}

int auth_uri_encode(struct buf *out, struct iov in, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	int rc = buf_reserve(out, in.len);
	size_t i = 0;
	while (rc == 0 && i < in.len) {
		/* Copy a run of bytes that stay as they are in one go. */
		size_t run = i;
		while (run < in.len && (unreserved((unsigned char)in.base[run]) ||
		                        (keep_slash && in.base[run] == '/')))
			run++;
		if (run > i)
			rc = buf_add(out, in.base + i, run - i);
		if (rc || run == in.len)
			break;
		unsigned char c = (unsigned char)in.base[run];
		char e[3] = { '%', digits[c >> 4], digits[c & 15] };
		rc = buf_add(out, e, 3);
		i = run + 1;
	}
	return rc;
}

int auth_uri_decode(struct buf *out, struct iov in)
{
	int rc = buf_reserve(out, in.len);
	size_t i = 0;
	while (rc == 0 && i < in.len) {
		const char *pct = memchr(in.base + i, '%', in.len - i);
		size_t run = pct ? (size_t)(pct - in.base) : in.len;
		if (run > i)
			rc = buf_add(out, in.base + i, run - i);
		if (rc || !pct)
			break;
		int hi = run + 2 < in.len ? hex_digit(in.base[run + 1]) : -1;
		int lo = run + 2 < in.len ? hex_digit(in.base[run + 2]) : -1;
		if (hi < 0 || lo < 0)
			return ERR_INVALID;
		rc = buf_add_char(out, (char)(hi << 4 | lo));
		i = run + 3;
	}
	return rc;
}

/* Path normalisation of aws-c-auth: drop empty and "." segments, ".." pops. */
static int normalize_path(struct buf *out, struct iov path)
{
	struct iov seg[AUTH_MAX_PATH_SEGMENTS];
	size_t n = 0;
	struct iov rest = path, s;
	bool trailing = path.len > 0 && path.base[path.len - 1] == '/';

	while (rest.base) {
		rest = iov_split(rest, '/', &s);
		if (s.len == 0 || iov_eq(s, IOV_LIT(".")))
			continue;
		if (iov_eq(s, IOV_LIT(".."))) {
			n -= n > 0;
			continue;
		}
		if (n == AUTH_MAX_PATH_SEGMENTS)
			return ERR_TOO_BIG;
		seg[n++] = s;
	}
	int rc = buf_add_char(out, '/');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = buf_add_iov(out, seg[i]);
		if (rc == 0 && (i + 1 < n || trailing))
			rc = buf_add_char(out, '/');
	}
	return rc;
}

int auth_canon_path(struct buf *out, struct iov path, enum auth_uri_rules rules)
{
	if (path.len == 0)
		return buf_add_char(out, '/');
	if (!(rules & AUTH_URI_NORMALIZE))
		return rules & AUTH_URI_DOUBLE_ENCODE ? auth_uri_encode(out, path, true)
		                                      : buf_add_iov(out, path);
	if (!(rules & AUTH_URI_DOUBLE_ENCODE))
		return normalize_path(out, path);

	char tmp[512];
	struct buf norm;
	buf_init_with(&norm, tmp, sizeof(tmp), AUTH_MAX_CANONICAL);
	int rc = normalize_path(&norm, path);
	if (rc == 0)
		rc = auth_uri_encode(out, buf_iov(&norm), true);
	buf_free(&norm);
	return rc;
}

bool auth_query_next(struct iov *rest, struct iov *key, struct iov *value)
{
	struct iov piece;
	while (rest->base) {
		*rest = iov_split(*rest, '&', &piece);
		if (piece.len == 0)
			continue;
		struct iov v = iov_split(piece, '=', key);
		*value = v.base ? v : iov_make(piece.base + piece.len, 0);
		return true;
	}
	return false;
}

/* One canonical pair: offsets into the scratch buffer, which may move while
 * it grows; turned into slices once it is complete. */
struct qpair {
	size_t koff, klen, voff, vlen;
};

static int param_cmp(const void *a, const void *b)
{
	const struct auth_param *x = a, *y = b;
	int c = iov_cmp(x->key, y->key);
	return c ? c : iov_cmp(x->value, y->value);
}

/* Encode one decoded string into scratch; returns its offset in *off. */
static int add_encoded(struct buf *scratch, struct iov decoded, size_t *off, size_t *len)
{
	*off = scratch->len;
	int rc = auth_uri_encode(scratch, decoded, false);
	*len = scratch->len - *off;
	return rc;
}

/* Decode then re-encode a raw query component into scratch. */
static int add_reencoded(struct buf *scratch, struct buf *tmp, struct iov raw, size_t *off,
                         size_t *len)
{
	buf_reset(tmp);
	int rc = auth_uri_decode(tmp, raw);
	return rc ? rc : add_encoded(scratch, buf_iov(tmp), off, len);
}

int auth_canon_query(struct buf *out, struct iov query, const struct auth_param *extra,
                     size_t nextra, bool drop_signature, bool drop_token)
{
	struct qpair pairs[AUTH_MAX_QUERY_PARAMS];
	size_t n = 0;
	char sstore[1024], tstore[256];
	struct buf scratch, tmp;
	struct iov rest = query, k, v;
	int rc = 0;

	buf_init_with(&scratch, sstore, sizeof(sstore), AUTH_MAX_CANONICAL);
	buf_init_with(&tmp, tstore, sizeof(tstore), AUTH_MAX_CANONICAL);

	while (rc == 0 && query.len && auth_query_next(&rest, &k, &v)) {
		if (n == AUTH_MAX_QUERY_PARAMS) {
			rc = ERR_TOO_BIG;
			break;
		}
		struct qpair *p = &pairs[n];
		rc = add_reencoded(&scratch, &tmp, k, &p->koff, &p->klen);
		if (rc == 0)
			rc = add_reencoded(&scratch, &tmp, v, &p->voff, &p->vlen);
		if (rc)
			break;
		struct iov ek = iov_make(scratch.data + p->koff, p->klen);
		if ((drop_signature && iov_eq(ek, IOV_LIT("X-Amz-Signature"))) ||
		    (drop_token && iov_eq(ek, IOV_LIT("X-Amz-Security-Token"))))
			continue;
		n++;
	}
	for (size_t i = 0; rc == 0 && i < nextra; i++) {
		if (n == AUTH_MAX_QUERY_PARAMS) {
			rc = ERR_TOO_BIG;
			break;
		}
		struct qpair *p = &pairs[n++];
		rc = add_encoded(&scratch, extra[i].key, &p->koff, &p->klen);
		if (rc == 0)
			rc = add_encoded(&scratch, extra[i].value, &p->voff, &p->vlen);
	}
	struct auth_param sorted[AUTH_MAX_QUERY_PARAMS];
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sorted[i].key = iov_make(scratch.data + pairs[i].koff, pairs[i].klen);
		sorted[i].value = iov_make(scratch.data + pairs[i].voff, pairs[i].vlen);
	}
	if (rc == 0)
		qsort(sorted, n, sizeof(sorted[0]), param_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_add_char(out, '&');
		if (rc == 0)
			rc = buf_add_iov(out, sorted[i].key);
		if (rc == 0)
			rc = buf_add_char(out, '=');
		if (rc == 0)
			rc = buf_add_iov(out, sorted[i].value);
	}
	buf_free(&scratch);
	buf_free(&tmp);
	return rc;
}

bool auth_header_unsignable(struct iov name)
{
	static const struct iov skip[] = {
		IOV_LIT("x-amzn-trace-id"),
		IOV_LIT("user-agent"),
		IOV_LIT("connection"),
		IOV_LIT("expect"),
		IOV_LIT("sec-websocket-key"),
		IOV_LIT("sec-websocket-protocol"),
		IOV_LIT("sec-websocket-version"),
		IOV_LIT("upgrade"),
		IOV_LIT("transfer-encoding"),
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (iov_eq_nocase(name, skip[i]))
			return true;
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A value trimmed, with each inner whitespace run collapsed to one space. */
static int add_value(struct buf *out, struct iov v)
{
	v = iov_trim(v);
	int rc = buf_reserve(out, v.len);
	size_t i = 0;
	while (rc == 0 && i < v.len) {
		size_t start = i;
		while (i < v.len && !is_space(v.base[i]))
			i++;
		rc = buf_add(out, v.base + start, i - start);
		if (i == v.len || rc)
			break;
		while (is_space(v.base[i]))
			i++; /* the trimmed value ends in a non-space, so this stops */
		rc = buf_add_char(out, ' ');
	}
	return rc;
}

static int add_lower(struct buf *out, struct iov name)
{
	int rc = buf_reserve(out, name.len);
	if (rc)
		return rc;
	iov_copy_lower(out->data + out->len, name);
	out->len += name.len;
	return 0;
}

/* Case-insensitive name order, then original position (a stable sort). */
struct hidx {
	const struct auth_header *h;
	size_t pos;
};

static int name_cmp_nocase(struct iov a, struct iov b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.base[i], y = (unsigned char)b.base[i];
		x = x >= 'A' && x <= 'Z' ? (unsigned char)(x + 32) : x;
		y = y >= 'A' && y <= 'Z' ? (unsigned char)(y + 32) : y;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return a.len < b.len ? -1 : a.len > b.len;
}

static int hidx_cmp(const void *a, const void *b)
{
	const struct hidx *x = a, *y = b;
	int c = name_cmp_nocase(x->h->name, y->h->name);
	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int auth_canon_headers_sign(struct buf *canon, struct buf *signed_list, const struct auth_header *h,
                            size_t n)
{
	struct hidx idx[AUTH_MAX_HEADERS];
	size_t m = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (auth_header_unsignable(h[i].name))
			continue;
		if (m == AUTH_MAX_HEADERS)
			return ERR_TOO_BIG;
		idx[m] = (struct hidx){ &h[i], i };
		m++;
	}
	/* Insertion sort: a request has a handful of headers, and qsort allocates. */
	for (size_t i = 1; i < m; i++) {
		struct hidx x = idx[i];
		size_t j = i;
		for (; j > 0 && hidx_cmp(&idx[j - 1], &x) > 0; j--)
			idx[j] = idx[j - 1];
		idx[j] = x;
	}

	for (size_t i = 0; rc == 0 && i < m; i++) {
		bool same = i > 0 && name_cmp_nocase(idx[i - 1].h->name, idx[i].h->name) == 0;
		if (same) {
			rc = buf_add_char(canon, ',');
		} else {
			if (i > 0)
				rc = buf_add_char(canon, '\n');
			if (rc == 0 && signed_list->len)
				rc = buf_add_char(signed_list, ';');
			if (rc == 0)
				rc = add_lower(signed_list, idx[i].h->name);
			if (rc == 0)
				rc = add_lower(canon, idx[i].h->name);
			if (rc == 0)
				rc = buf_add_char(canon, ':');
		}
		if (rc == 0)
			rc = add_value(canon, idx[i].h->value);
	}
	if (rc == 0 && m > 0)
		rc = buf_add_char(canon, '\n');
	return rc;
}

static bool valid_signed_name(struct iov name)
{
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.base[i];
		/* RFC 9110 token characters, lowercase only. */
		if (c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') || c == ';' || c == ',' ||
		    c == ':' || c == '"' || c == '(' || c == ')' || c == '/' || c == '<' ||
		    c == '>' || c == '=' || c == '?' || c == '@' || c == '[' || c == ']' ||
		    c == '\\' || c == '{' || c == '}')
			return false;
	}
	return true;
}

int auth_canon_headers_verify(struct buf *canon, struct iov signed_list,
                              const struct auth_header *h, size_t n)
{
	struct iov rest = signed_list, name;
	size_t count = 0;
	int rc = 0;

	if (signed_list.len == 0)
		return ERR_AUTH_MALFORMED;
	while (rc == 0 && rest.base) {
		rest = iov_split(rest, ';', &name);
		if (!valid_signed_name(name) || ++count > AUTH_MAX_HEADERS)
			return ERR_AUTH_MALFORMED;
		rc = buf_add_iov(canon, name);
		if (rc == 0)
			rc = buf_add_char(canon, ':');
		bool found = false;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			if (!iov_eq_nocase(h[i].name, name))
				continue;
			if (found)
				rc = buf_add_char(canon, ',');
			if (rc == 0)
				rc = add_value(canon, h[i].value);
			found = true;
		}
		if (!found)
			return ERR_AUTH_MALFORMED;
		if (rc == 0)
			rc = buf_add_char(canon, '\n');
	}
	return rc;
}

bool auth_signed_list_has(struct iov signed_list, struct iov name)
{
	struct iov rest = signed_list, s;
	while (rest.base) {
		rest = iov_split(rest, ';', &s);
		if (iov_eq(s, name))
			return true;
	}
	return false;
}
