/* edge/fn_sign: the signing bindings of edge functions. See fn_sign.h. */
#include "edge/fn_sign.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"

/* The fields of the argument table; anything else is refused, so a typo
 * ("regoin") is an error rather than a silent default. */
static const char *const fields[] = {
	"method", "url",     "host", "path",         "query",          "headers",
	"region", "service", "time", "payload_hash", "signed_headers",
};

/* Headers auth_sign adds itself: a request to sign must not carry them. */
static const struct iov owned[] = {
	IOV_LIT("authorization"),        IOV_LIT("x-amz-date"),
	IOV_LIT("x-amz-region-set"),     IOV_LIT("x-amz-security-token"),
	IOV_LIT("x-amz-content-sha256"),
};

/* The request as parsed from the argument table. Slices borrow args. */
struct sign_in {
	struct iov method, host, path, query, region, service, payload;
	bool host_given; /* from url or host: a host in headers is replaced */
	bool has_body;   /* headers announce a body */
	int64_t time;
	const struct edgefn_value *only; /* signed_headers, or NULL: all */
	struct auth_header *h;           /* h[0] is Host; the rest in table order */
	size_t nh, nvalues, bytes;
};

/* ---- character classes ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool all_tchar(struct iov s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_tchar((unsigned char)s.base[i]))
			return false;
	return s.len > 0;
}

/* A field value: no control characters but HT (no CR or LF to smuggle). */
static bool value_ok(struct iov s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Request-target bytes: visible ASCII, no '#', and no '?' in a path. */
static bool target_ok(struct iov s, bool path)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		if (c <= 0x20 || c >= 0x7f || c == '#' || (path && c == '?'))
			return false;
	}
	return true;
}

/* A host[:port], an IPv4 address or a bracketed IPv6 literal. */
static bool host_ok(struct iov s)
{
	if (s.len == 0 || s.len > EDGE_FN_SIGN_HOST_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (c == '\0' || !strchr(".-_:[]", c))) /* strchr finds the NUL */
			return false;
	}
	return true;
}

/* Lowercase letters, digits and '-'; a region set adds '*' and ','. */
static bool name_ok(struct iov s, bool set)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		          (set && (c == '*' || c == ','));
		if (!ok)
			return false;
	}
	return s.len > 0;
}

/* 64 lowercase hex digits, or UNSIGNED-PAYLOAD. */
static bool payload_ok(struct iov s)
{
	if (iov_eq(s, IOV_LIT("UNSIGNED-PAYLOAD")))
		return true;
	if (s.len != 64)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!((s.base[i] >= '0' && s.base[i] <= '9') ||
		      (s.base[i] >= 'a' && s.base[i] <= 'f')))
			return false;
	return true;
}

/* ---- fields ---- */

/* Set the message and return rc. */
__attribute__((format(printf, 4, 5))) static int fail(int rc, char *err, size_t errlen,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int check_fields(const struct edgefn_value *t, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->u.t.len; i++) {
		const struct edgefn_value *k = &t->u.t.items[i].key;
		if (k->kind != EDGEFN_STR)
			return fail(ERR_INVALID, err, errlen,
			            "the argument table has a non-string key");
		bool known = false;
		for (size_t j = 0; j < sizeof(fields) / sizeof(fields[0]) && !known; j++)
			known = iov_eq(k->u.s, iov_cstr(fields[j]));
		if (!known)
			return fail(ERR_INVALID, err, errlen, "unknown field '%.*s'",
			            (int)(k->u.s.len > 64 ? 64 : k->u.s.len), k->u.s.base);
	}
	return 0;
}

/* Field `name` as a string of at most max bytes: 0 with *out set and *has
 * telling whether it was there, ERR_INVALID (not a string) or ERR_TOO_BIG. */
static int field_str(const struct edgefn_value *t, const char *name, size_t max, struct iov *out,
                     bool *has, char *err, size_t errlen)
{
	const struct edgefn_value *v = edgefn_table_get(t, iov_cstr(name));
	*has = v != NULL && v->kind != EDGEFN_NIL;
	*out = IOV_LIT("");
	if (!*has)
		return 0;
	if (v->kind != EDGEFN_STR)
		return fail(ERR_INVALID, err, errlen, "field '%s': want a string", name);
	if (v->u.s.len > max)
		return fail(ERR_TOO_BIG, err, errlen, "field '%s': too long", name);
	if (v->u.s.len)
		*out = v->u.s;
	return 0;
}

/* "http[s]://authority[/path][?query]" into host, path and query. */
static int parse_url(struct iov url, struct sign_in *in, char *err, size_t errlen)
{
	struct iov rest;
	if (url.len >= 8 && iov_eq_nocase(iov_sub(url, 0, 8), IOV_LIT("https://")))
		rest = iov_sub(url, 8, url.len - 8);
	else if (url.len >= 7 && iov_eq_nocase(iov_sub(url, 0, 7), IOV_LIT("http://")))
		rest = iov_sub(url, 7, url.len - 7);
	else
		return fail(ERR_INVALID, err, errlen, "field 'url': want http:// or https://");
	size_t n = 0;
	while (n < rest.len && rest.base[n] != '/' && rest.base[n] != '?' && rest.base[n] != '#')
		n++;
	in->host = iov_sub(rest, 0, n);
	rest = iov_sub(rest, n, rest.len - n);
	size_t q = 0;
	while (q < rest.len && rest.base[q] != '?')
		q++;
	in->path = q ? iov_sub(rest, 0, q) : IOV_LIT("/");
	in->query = q < rest.len ? iov_sub(rest, q + 1, rest.len - q - 1) : IOV_LIT("");
	if (!host_ok(in->host))
		return fail(ERR_INVALID, err, errlen, "field 'url': bad host");
	if (!target_ok(in->path, true) || !target_ok(in->query, false))
		return fail(ERR_INVALID, err, errlen,
		            "field 'url': bad character in path or query (spaces, '#', controls)");
	in->host_given = true;
	return 0;
}

/* method, and url or host + path + query. */
static int parse_target(const struct edgefn_value *t, struct sign_in *in, char *err, size_t errlen)
{
	bool has, has_url, has_host, has_path, has_query;
	struct iov url;
	int rc = field_str(t, "method", EDGE_FN_SIGN_METHOD_MAX, &in->method, &has, err, errlen);
	if (rc)
		return rc;
	if (!has)
		return fail(ERR_INVALID, err, errlen, "missing field '%s'", "method");
	if (!all_tchar(in->method))
		return fail(ERR_INVALID, err, errlen, "field '%s': not an HTTP method", "method");
	rc = field_str(t, "url", EDGE_FN_SIGN_URL_MAX, &url, &has_url, err, errlen);
	if (rc == 0)
		rc = field_str(t, "host", EDGE_FN_SIGN_HOST_MAX, &in->host, &has_host, err, errlen);
	if (rc == 0)
		rc = field_str(t, "path", EDGE_FN_SIGN_URL_MAX, &in->path, &has_path, err, errlen);
	if (rc == 0)
		rc = field_str(t, "query", EDGE_FN_SIGN_URL_MAX, &in->query, &has_query, err,
		               errlen);
	if (rc)
		return rc;
	if (has_url) {
		if (has_host || has_path || has_query)
			return fail(ERR_INVALID, err, errlen,
			            "give either 'url' or 'host', 'path' and 'query'");
		return parse_url(url, in, err, errlen);
	}
	if (!has_path)
		return fail(ERR_INVALID, err, errlen, "missing field '%s' (or 'url')", "path");
	if (in->path.len + in->query.len > EDGE_FN_SIGN_URL_MAX)
		return fail(ERR_TOO_BIG, err, errlen, "path and query: too long");
	if (in->path.len == 0 || in->path.base[0] != '/' || !target_ok(in->path, true))
		return fail(ERR_INVALID, err, errlen,
		            "field '%s': want '/' then no spaces, '?', '#' or controls", "path");
	if (!target_ok(in->query, false))
		return fail(ERR_INVALID, err, errlen,
		            "field '%s': no spaces, '#' or controls (and no leading '?')", "query");
	if (in->query.len && in->query.base[0] == '?')
		return fail(ERR_INVALID, err, errlen, "field '%s': without the leading '?'",
		            "query");
	if (has_host) {
		if (!host_ok(in->host))
			return fail(ERR_INVALID, err, errlen, "field '%s': not a host[:port]",
			            "host");
		in->host_given = true;
	}
	return 0;
}

static bool is_owned(struct iov name)
{
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (iov_eq_nocase(name, owned[i]))
			return true;
	return false;
}

static bool selected(const struct sign_in *in, struct iov name)
{
	if (!in->only)
		return true;
	for (size_t i = 0; i < in->only->u.t.len; i++)
		if (iov_eq_nocase(in->only->u.t.items[i].val.u.s, name))
			return true;
	return false;
}

/* An error about header `name` (shown truncated). */
static int header_fail(int rc, char *err, size_t errlen, struct iov name, const char *what)
{
	return fail(rc, err, errlen, "headers['%.*s']: %s", (int)(name.len > 40 ? 40 : name.len),
	            name.base, what);
}

/* One header value, as the request will carry it. */
static int add_value(struct sign_in *in, struct iov name, struct iov value, char *err,
                     size_t errlen)
{
	if (++in->nvalues > EDGE_FN_SIGN_HEADERS_MAX)
		return fail(ERR_TOO_BIG, err, errlen, "field 'headers': more than %u values",
		            (unsigned)EDGE_FN_SIGN_HEADERS_MAX);
	in->bytes += name.len + value.len;
	if (in->bytes > EDGE_FN_SIGN_HEADER_BYTES)
		return fail(ERR_TOO_BIG, err, errlen, "field 'headers': too many bytes");
	if (!value_ok(value))
		return header_fail(ERR_INVALID, err, errlen, name, "control character in value");
	if (iov_eq_nocase(name, IOV_LIT("content-length")))
		in->has_body |= !iov_eq(iov_trim(value), IOV_LIT("0"));
	if (iov_eq_nocase(name, IOV_LIT("transfer-encoding")))
		in->has_body = true;
	if (iov_eq_nocase(name, IOV_LIT("host"))) {
		if (in->host_given)
			return 0; /* the result's host replaces it */
		if (in->h[0].value.base)
			return header_fail(ERR_INVALID, err, errlen, name, "more than one value");
		if (!host_ok(value))
			return header_fail(ERR_INVALID, err, errlen, name, "not a host[:port]");
		in->h[0].value = value;
		return 0;
	}
	if (!selected(in, name))
		return 0;
	if (is_owned(name))
		return header_fail(ERR_INVALID, err, errlen, name,
		                   "set by the signer; remove it before signing");
	in->h[in->nh++] = (struct auth_header){ name, value };
	return 0;
}

/* One entry of headers: name -> string, or name -> {{key=, value=}, ...}. */
static int add_header(struct sign_in *in, const struct edgefn_entry *e, char *err, size_t errlen)
{
	if (e->key.kind != EDGEFN_STR || !all_tchar(e->key.u.s) || e->key.u.s.len > 256)
		return fail(ERR_INVALID, err, errlen, "field 'headers': keys must be header names");
	struct iov name = e->key.u.s;
	if (e->val.kind == EDGEFN_STR)
		return add_value(in, name, e->val.u.s, err, errlen);
	if (e->val.kind != EDGEFN_TABLE || (e->val.u.t.len && !edgefn_table_is_seq(&e->val)))
		return fail(
		    ERR_INVALID, err, errlen,
		    "field 'headers': want name -> {{key=..., value=...}, ...} or a string");
	for (size_t i = 0; i < e->val.u.t.len; i++) {
		const struct edgefn_value *item = &e->val.u.t.items[i].val;
		const struct edgefn_value *v = edgefn_table_get(item, IOV_LIT("value"));
		const struct edgefn_value *k = edgefn_table_get(item, IOV_LIT("key"));
		if (!v || v->kind != EDGEFN_STR)
			return fail(ERR_INVALID, err, errlen,
			            "field 'headers': each item needs a string 'value'");
		if (k && k->kind != EDGEFN_NIL &&
		    (k->kind != EDGEFN_STR || !iov_eq_nocase(k->u.s, name)))
			return fail(
			    ERR_INVALID, err, errlen,
			    "field 'headers': an item's 'key' must be its name in any case");
		int rc = add_value(in, name, v->u.s, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_headers(const struct edgefn_value *t, struct arena *a, struct sign_in *in,
                         char *err, size_t errlen)
{
	in->h = arena_alloc(a, (EDGE_FN_SIGN_HEADERS_MAX + 1) * sizeof(*in->h));
	if (!in->h)
		return fail(ERR_NOMEM, err, errlen, "out of scratch memory");
	in->h[0] = (struct auth_header){ IOV_LIT("Host"), in->host_given ? in->host : IOV_NULL };
	in->nh = 1;
	const struct edgefn_value *only = edgefn_table_get(t, IOV_LIT("signed_headers"));
	if (only && only->kind != EDGEFN_NIL) {
		if (only->kind != EDGEFN_TABLE || (only->u.t.len && !edgefn_table_is_seq(only)))
			return fail(ERR_INVALID, err, errlen,
			            "field '%s': want a list of header names", "signed_headers");
		if (only->u.t.len > EDGE_FN_SIGN_HEADERS_MAX)
			return fail(ERR_TOO_BIG, err, errlen, "field '%s': too many names",
			            "signed_headers");
		for (size_t i = 0; i < only->u.t.len; i++)
			if (only->u.t.items[i].val.kind != EDGEFN_STR)
				return fail(ERR_INVALID, err, errlen,
				            "field '%s': want a list of header names",
				            "signed_headers");
		in->only = only;
	}
	const struct edgefn_value *hs = edgefn_table_get(t, IOV_LIT("headers"));
	if (hs && hs->kind != EDGEFN_NIL) {
		if (hs->kind != EDGEFN_TABLE)
			return fail(ERR_INVALID, err, errlen, "field '%s': want a table",
			            "headers");
		for (size_t i = 0; i < hs->u.t.len; i++) {
			int rc = add_header(in, &hs->u.t.items[i], err, errlen);
			if (rc)
				return rc;
		}
	}
	if (!in->h[0].value.base)
		return fail(ERR_INVALID, err, errlen,
		            "no host: give 'url', 'host' or a host header");
	in->host = in->h[0].value;
	return 0;
}

/* region, service, payload_hash, time. */
static int parse_opts(const struct edgefn_value *t, enum auth_alg alg, struct sign_in *in,
                      char *err, size_t errlen)
{
	bool has;
	int rc = field_str(t, "region", EDGE_FN_SIGN_REGION_MAX, &in->region, &has, err, errlen);
	if (rc)
		return rc;
	if (!has && alg == AUTH_SIGV4)
		return fail(ERR_INVALID, err, errlen, "missing field '%s'", "region");
	if (!has)
		in->region = IOV_LIT("*");
	if (!name_ok(in->region, alg == AUTH_SIGV4A))
		return fail(ERR_INVALID, err, errlen, "field 'region': not a %s",
		            alg == AUTH_SIGV4A ? "region set (\"*\" or \"a,b\")" : "region");
	rc = field_str(t, "service", EDGE_FN_SIGN_SERVICE_MAX, &in->service, &has, err, errlen);
	if (rc)
		return rc;
	if (!has)
		in->service = IOV_LIT("s3");
	if (!name_ok(in->service, false))
		return fail(ERR_INVALID, err, errlen, "field '%s': not a service name", "service");
	rc = field_str(t, "payload_hash", 64, &in->payload, &has, err, errlen);
	if (rc)
		return rc;
	if (!has)
		in->payload =
		    in->has_body ? IOV_LIT("UNSIGNED-PAYLOAD") : IOV_LIT(AUTH_EMPTY_SHA256);
	else if (!payload_ok(in->payload))
		return fail(ERR_INVALID, err, errlen,
		            "field '%s': want 64 lowercase hex digits or UNSIGNED-PAYLOAD",
		            "payload_hash");
	const struct edgefn_value *tv = edgefn_table_get(t, IOV_LIT("time"));
	in->time = clock_now();
	if (tv && tv->kind != EDGEFN_NIL) {
		if (tv->kind != EDGEFN_INT || tv->u.i < 0 || tv->u.i > EDGE_FN_SIGN_TIME_MAX)
			return fail(ERR_INVALID, err, errlen,
			            "field '%s': want integer seconds since the epoch", "time");
		in->time = tv->u.i;
	}
	return 0;
}

/* ---- result ---- */

/* out[lower(name)] = {{key = name, value = value}}, all copied into a. */
static int put(struct arena *a, struct edgefn_value *out, struct iov name, struct iov value)
{
	char *lower = arena_alloc(a, name.len + 1);
	struct iov key = arena_dup(a, name), val = arena_dup(a, value);
	if (!lower || (name.len && !key.base) || (value.len && !val.base))
		return ERR_NOMEM;
	iov_copy_lower(lower, name);
	struct edgefn_value item = edgefn_table(), list = edgefn_table();
	if (!edgefn_table_set_str(a, &item, "key", edgefn_str(key)) ||
	    !edgefn_table_set_str(a, &item, "value", edgefn_str(val)) ||
	    !edgefn_table_push(a, &list, item) ||
	    !edgefn_table_set(a, out, edgefn_str(iov_make(lower, name.len)), list))
		return ERR_NOMEM;
	return 0;
}

static int sign(const struct edge_fn_sign_creds *c, enum auth_alg alg, const struct sign_in *in,
                struct arena *a, struct edgefn_value *ret, char *err, size_t errlen)
{
	struct auth_request req = {
		.method = in->method,
		.path = in->path,
		.query = in->query,
		.headers = in->h,
		.nheaders = in->nh,
	};
	struct auth_sign_opts o = {
		.alg = alg,
		.form = AUTH_FORM_HEADER,
		.creds = c->creds,
		.region = in->region,
		.service = in->service,
		.time = in->time,
		.payload_hash = in->payload,
		.rules = AUTH_URI_S3,
		.content_sha256_header = true,
		.keys = c->keys,
	};
	struct auth_signature sig;
	auth_signature_init(&sig);
	int rc = auth_sign(&o, &req, &sig);
	struct edgefn_value out = edgefn_table();
	if (rc == 0)
		rc = put(a, &out, IOV_LIT("Host"), in->host);
	for (size_t i = 0; rc == 0 && i < sig.nadded; i++)
		rc = put(a, &out, sig.added[i].name, sig.added[i].value);
	auth_signature_free(&sig);
	if (rc == ERR_NOMEM)
		return fail(rc, err, errlen, "out of scratch memory");
	if (rc == ERR_TOO_BIG)
		return fail(rc, err, errlen, "the request is too big to sign");
	if (rc)
		return fail(rc, err, errlen, "signing failed: %s", err_text(rc));
	*ret = out;
	return 0;
}

static int sign_call(void *ud, enum auth_alg alg, const struct edgefn_value *args, size_t nargs,
                     struct arena *a, struct edgefn_value *ret, char *err, size_t errlen)
{
	const struct edge_fn_sign_creds *c = ud;
	if (nargs != 1 || args[0].kind != EDGEFN_TABLE)
		return fail(ERR_INVALID, err, errlen, "want one table argument: sign{...}");
	if (!c || c->creds.access_key.len == 0 || c->creds.secret_key.len == 0)
		return fail(ERR_INVALID, err, errlen,
		            "the edge has no signing credentials (config: signing.credentials)");
	const struct edgefn_value *t = &args[0];
	struct sign_in in = { 0 };
	int rc = check_fields(t, err, errlen);
	if (rc == 0)
		rc = parse_target(t, &in, err, errlen);
	if (rc == 0)
		rc = parse_headers(t, a, &in, err, errlen);
	if (rc == 0)
		rc = parse_opts(t, alg, &in, err, errlen);
	if (rc == 0)
		rc = sign(c, alg, &in, a, ret, err, errlen);
	return rc;
}

int edge_fn_sign_sigv4a(void *ud, const struct edgefn_value *args, size_t nargs, struct arena *a,
                        struct edgefn_value *ret, char *err, size_t errlen)
{
	return sign_call(ud, AUTH_SIGV4A, args, nargs, a, ret, err, errlen);
}

int edge_fn_sign_sigv4(void *ud, const struct edgefn_value *args, size_t nargs, struct arena *a,
                       struct edgefn_value *ret, char *err, size_t errlen)
{
	return sign_call(ud, AUTH_SIGV4, args, nargs, a, ret, err, errlen);
}

int edge_fn_sign_bind(struct edgefn_program *p, const struct edge_fn_sign_creds *creds)
{
	void *ud = (void *)creds; /* edgefn_cfunc's ud is not const; the bindings only read it */
	int rc = edgefn_program_bind(p, "sigv4a.sign", edge_fn_sign_sigv4a, ud);
	if (rc == 0)
		rc = edgefn_program_bind(p, "sigv4.sign", edge_fn_sign_sigv4, ud);
	return rc;
}
