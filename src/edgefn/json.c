/* Strict JSON codec on neutral values (see json.h). */
#include "edgefn/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

size_t edgefn_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* ---- decoding ---- */

struct dec {
	const unsigned char *p, *end, *start;
	struct arena *a;
	unsigned depth_left;
	char *err;
	size_t errlen;
	int rc;
};

static int fail(struct dec *d, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct dec *d, int rc, const char *fmt, ...)
{
	if (d->rc)
		return d->rc;
	d->rc = rc;
	if (d->errlen) {
		int n =
		    snprintf(d->err, d->errlen, "json: offset %zu: ", (size_t)(d->p - d->start));
		if (n >= 0 && (size_t)n < d->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return rc;
}

static void skip_ws(struct dec *d)
{
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
		d->p++;
}

static int decode_value(struct dec *d, struct edgefn_value *out);

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		unsigned x;
		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10u;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10u;
		else
			return -1;
		v = v << 4 | x;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* An escape after the backslash at d->p; writes its UTF-8 to o. */
static int decode_escape(struct dec *d, char *o, size_t *olen)
{
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	if (d->end - d->p < 2)
		return fail(d, ERR_INVALID, "unterminated string");
	const char *s = memchr(simple_in, d->p[1], sizeof(simple_in) - 1);
	if (s && d->p[1] != '\0') {
		o[0] = simple_out[s - simple_in];
		*olen = 1;
		d->p += 2;
		return 0;
	}
	unsigned cp;
	if (d->p[1] != 'u' || d->end - d->p < 6 || hex4(d->p + 2, &cp) != 0)
		return fail(d, ERR_INVALID, "bad escape in string");
	d->p += 6;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(d, ERR_INVALID, "lone low surrogate escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		unsigned lo;
		if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' ||
		    hex4(d->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return fail(d, ERR_INVALID, "unpaired high surrogate escape");
		d->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	*olen = put_utf8(cp, o);
	return 0;
}

static int decode_string(struct dec *d, struct iov *out)
{
	d->p++; /* opening quote */
	const unsigned char *q = d->p;
	/* the decoded text is never longer than the raw text: size it by the closing quote */
	while (q < d->end && *q != '"')
		q += *q == '\\' && q + 1 < d->end ? 2 : 1;
	if (q >= d->end)
		return fail(d, ERR_INVALID, "unterminated string");
	size_t cap = (size_t)(q - d->p);
	char *o = arena_alloc(d->a, cap ? cap : 1);
	if (!o)
		return fail(d, ERR_TOO_BIG, "out of value space");
	size_t n = 0;
	while (*d->p != '"') {
		if (*d->p == '\\') {
			size_t k = 0;
			if (decode_escape(d, o + n, &k) != 0)
				return d->rc;
			n += k;
			continue;
		}
		if (*d->p < 0x20)
			return fail(d, ERR_INVALID, "control character in string");
		size_t k = edgefn_utf8_seq(d->p, (size_t)(q - d->p));
		if (k == 0)
			return fail(d, ERR_INVALID, "invalid UTF-8 in string");
		memcpy(o + n, d->p, k);
		n += k;
		d->p += k;
	}
	d->p++; /* closing quote */
	*out = iov_make(o, n);
	return 0;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int decode_number(struct dec *d, struct edgefn_value *out)
{
	const unsigned char *s = d->p, *p = d->p;
	bool neg = false, integral = true;
	if (p < d->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= d->end || !is_digit(*p))
		return fail(d, ERR_INVALID, "bad number");
	if (*p == '0')
		p++;
	else
		while (p < d->end && is_digit(*p))
			p++;
	if (p < d->end && *p == '.') {
		integral = false;
		if (++p >= d->end || !is_digit(*p))
			return fail(d, ERR_INVALID, "bad number fraction");
		while (p < d->end && is_digit(*p))
			p++;
	}
	if (p < d->end && (*p == 'e' || *p == 'E')) {
		integral = false;
		p++;
		if (p < d->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= d->end || !is_digit(*p))
			return fail(d, ERR_INVALID, "bad number exponent");
		while (p < d->end && is_digit(*p))
			p++;
	}
	size_t len = (size_t)(p - s);
	if (len > EDGEFN_JSON_NUMBER_MAX)
		return fail(d, ERR_INVALID, "number too long");
	if (integral) {
		/* accumulate as a negative number so INT64_MIN fits */
		int64_t v = 0;
		bool overflow = false;
		for (const unsigned char *q = s + neg; q < p; q++) {
			int digit = *q - '0';
			if (v < (INT64_MIN + digit) / 10) {
				overflow = true;
				break;
			}
			v = v * 10 - digit;
		}
		if (!overflow && (neg || v != INT64_MIN)) {
			*out = edgefn_int(neg ? v : -v);
			d->p = p;
			return 0;
		}
	}
	char tmp[EDGEFN_JSON_NUMBER_MAX + 1];
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	double v = strtod(tmp, NULL);
	if (!isfinite(v))
		return fail(d, ERR_INVALID, "number out of range");
	*out = edgefn_num(v);
	d->p = p;
	return 0;
}

static int decode_literal(struct dec *d, const char *word, struct edgefn_value v,
                          struct edgefn_value *out)
{
	size_t n = strlen(word);
	if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
		return fail(d, ERR_INVALID, "unexpected character");
	d->p += n;
	*out = v;
	return 0;
}

static int decode_container(struct dec *d, struct edgefn_value *out)
{
	bool object = *d->p == '{';
	char close = object ? '}' : ']';
	if (d->depth_left == 0)
		return fail(d, ERR_INVALID, "nesting too deep");
	d->depth_left--;
	d->p++;
	*out = edgefn_table();
	skip_ws(d);
	if (d->p < d->end && *d->p == close) {
		d->p++;
		d->depth_left++;
		return 0;
	}
	for (;;) {
		struct edgefn_value key, val;
		skip_ws(d);
		if (object) {
			if (d->p >= d->end || *d->p != '"')
				return fail(d, ERR_INVALID, "expected a string key");
			key.kind = EDGEFN_STR;
			if (decode_string(d, &key.u.s) != 0)
				return d->rc;
			skip_ws(d);
			if (d->p >= d->end || *d->p != ':')
				return fail(d, ERR_INVALID, "expected ':'");
			d->p++;
		} else {
			key = edgefn_int((int64_t)out->u.t.len + 1);
		}
		if (decode_value(d, &val) != 0)
			return d->rc;
		if (!edgefn_table_set(d->a, out, key, val))
			return fail(d, ERR_TOO_BIG, "out of value space");
		skip_ws(d);
		if (d->p < d->end && *d->p == ',') {
			d->p++;
			continue;
		}
		if (d->p < d->end && *d->p == close) {
			d->p++;
			d->depth_left++;
			return 0;
		}
		return fail(d, ERR_INVALID, "expected ',' or '%c'", close);
	}
}

static int decode_value(struct dec *d, struct edgefn_value *out)
{
	skip_ws(d);
	if (d->p >= d->end)
		return fail(d, ERR_INVALID, "unexpected end of input");
	switch (*d->p) {
	case '{':
	case '[':
		return decode_container(d, out);
	case '"':
		out->kind = EDGEFN_STR;
		return decode_string(d, &out->u.s);
	case 't':
		return decode_literal(d, "true", edgefn_bool(true), out);
	case 'f':
		return decode_literal(d, "false", edgefn_bool(false), out);
	case 'n':
		return decode_literal(d, "null", edgefn_nil(), out);
	default:
		return decode_number(d, out);
	}
}

int edgefn_json_decode(struct iov in, struct arena *a, unsigned depth_max, struct edgefn_value *out,
                       char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)in.base;
	struct dec d = {
		.p = p,
		.end = p + in.len,
		.start = p,
		.a = a,
		.depth_left = depth_max < EDGEFN_JSON_DEPTH_MAX ? depth_max : EDGEFN_JSON_DEPTH_MAX,
		.err = err,
		.errlen = errlen,
	};
	if (errlen)
		err[0] = '\0';
	*out = edgefn_nil();
	if (decode_value(&d, out) != 0)
		return d.rc;
	skip_ws(&d);
	if (d.p != d.end)
		return fail(&d, ERR_INVALID, "trailing characters after the value");
	return 0;
}

/* ---- encoding ---- */

struct enc {
	struct buf *out;
	unsigned depth_left;
	char *err;
	size_t errlen;
};

static int enc_fail(struct enc *e, const char *msg)
{
	if (e->errlen)
		snprintf(e->err, e->errlen, "json: %s", msg);
	return ERR_INVALID;
}

static int encode_string(struct enc *e, struct iov s)
{
	static const char hexd[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s.base, *end = p + s.len;
	int rc = buf_add_char(e->out, '"');
	while (rc == 0 && p < end) {
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
			p++;
		if (p > run && (rc = buf_add(e->out, run, (size_t)(p - run))) != 0)
			break;
		if (p >= end)
			break;
		if (*p >= 0x80) {
			size_t k = edgefn_utf8_seq(p, (size_t)(end - p));
			if (k == 0)
				return enc_fail(e, "string is not valid UTF-8");
			rc = buf_add(e->out, p, k);
			p += k;
			continue;
		}
		char esc[6] = { '\\', 'u', '0', '0', hexd[*p >> 4], hexd[*p & 15] };
		size_t n = 6;
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			n = 2;
			break;
		case '\n':
			esc[1] = 'n';
			n = 2;
			break;
		case '\r':
			esc[1] = 'r';
			n = 2;
			break;
		case '\t':
			esc[1] = 't';
			n = 2;
			break;
		default:
			break;
		}
		rc = buf_add(e->out, esc, n);
		p++;
	}
	return rc ? rc : buf_add_char(e->out, '"');
}

static int encode_float(struct enc *e, double v)
{
	if (!isfinite(v))
		return enc_fail(e, "cannot encode NaN or infinity");
	char tmp[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp) - 2)
		return ERR_INTERNAL;
	if (!strpbrk(tmp, ".eE")) {
		tmp[n++] = '.';
		tmp[n++] = '0';
		tmp[n] = '\0';
	}
	return buf_add(e->out, tmp, (size_t)n);
}

static int encode_value(struct enc *e, const struct edgefn_value *v);

static int encode_table(struct enc *e, const struct edgefn_value *v)
{
	if (e->depth_left == 0)
		return enc_fail(e, "nesting too deep");
	e->depth_left--;
	bool seq = edgefn_table_is_seq(v);
	int rc = buf_add_char(e->out, seq ? '[' : '{');
	for (size_t i = 0; rc == 0 && i < v->u.t.len; i++) {
		const struct edgefn_entry *en = &v->u.t.items[i];
		if (i && (rc = buf_add_char(e->out, ',')) != 0)
			break;
		if (!seq) {
			if (en->key.kind == EDGEFN_STR) {
				rc = encode_string(e, en->key.u.s);
			} else if (en->key.kind == EDGEFN_INT) {
				char tmp[24];
				int n =
				    snprintf(tmp, sizeof(tmp), "\"%lld\"", (long long)en->key.u.i);
				rc = buf_add(e->out, tmp, (size_t)n);
			} else {
				return enc_fail(e, "table key is neither a string nor an integer");
			}
			if (rc == 0)
				rc = buf_add_char(e->out, ':');
		}
		if (rc == 0)
			rc = encode_value(e, &en->val);
	}
	if (rc == 0)
		rc = buf_add_char(e->out, seq ? ']' : '}');
	e->depth_left++;
	return rc;
}

static int encode_value(struct enc *e, const struct edgefn_value *v)
{
	char tmp[24];
	switch (v->kind) {
	case EDGEFN_NIL:
		return buf_add_str(e->out, "null");
	case EDGEFN_BOOL:
		return buf_add_str(e->out, v->u.b ? "true" : "false");
	case EDGEFN_INT: {
		int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v->u.i);
		return buf_add(e->out, tmp, (size_t)n);
	}
	case EDGEFN_NUM:
		return encode_float(e, v->u.n);
	case EDGEFN_STR:
		return encode_string(e, v->u.s);
	case EDGEFN_TABLE:
		return encode_table(e, v);
	}
	return enc_fail(e, "unknown value kind");
}

int edgefn_json_encode(const struct edgefn_value *v, unsigned depth_max, struct buf *out, char *err,
                       size_t errlen)
{
	struct enc e = {
		.out = out,
		.depth_left = depth_max < EDGEFN_JSON_DEPTH_MAX ? depth_max : EDGEFN_JSON_DEPTH_MAX,
		.err = err,
		.errlen = errlen,
	};
	if (errlen)
		err[0] = '\0';
	return encode_value(&e, v);
}
