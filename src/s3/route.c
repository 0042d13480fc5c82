/* S3 request routing (see route.h). Pure; any thread. */
#include "s3/route.h"

#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "s3/names.h"

enum scope { SERVICE, BUCKET, OBJECT };

struct op_row {
	const char *name;
	const char *method;
	enum scope scope;
	const char *sub;
};

static const struct op_row ops[] = {
#define S3_OP_ROW(name, method, scope, sub) { #name, method, scope, sub },
	S3_OPS(S3_OP_ROW)
#undef S3_OP_ROW
};

/* Sub-resources S3 has and Meridian does not serve: NotImplemented, never a
 * wrong success (a GET ?acl must not answer with the object). */
static const char *const unsupported[] = {
	"accelerate",
	"acl",
	"analytics",
	"attributes",
	"cors",
	"encryption",
	"intelligent-tiering",
	"inventory",
	"legal-hold",
	"lifecycle",
	"logging",
	"metrics",
	"notification",
	"object-lock",
	"ownershipControls",
	"policy",
	"policyStatus",
	"publicAccessBlock",
	"requestPayment",
	"restore",
	"retention",
	"select",
	"session",
	"tagging",
	"torrent",
	"website",
};

const char *s3_op_name(enum s3_op op)
{
	return op < S3_OP__COUNT ? ops[op].name : "UNKNOWN";
}

/* Percent-decode `in` into the arena; '+' becomes a space in query values
 * (as S3 reads them) and stays '+' in paths. */
static int decode(struct arena *a, struct iov in, bool plus_is_space, struct iov *out)
{
	char *p = arena_alloc(a, in.len + 1);
	if (!p)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < in.len; i++) {
		char c = in.base[i];
		if (c == '%') {
			int hi = i + 2 < in.len ? hex_digit(in.base[i + 1]) : -1;
			int lo = i + 2 < in.len ? hex_digit(in.base[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return ERR_S3_INVALID_URI;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		p[n++] = c;
	}
	p[n] = '\0';
	*out = iov_make(p, n);
	return 0;
}

int s3_query_get(struct iov query, const char *name, struct arena *a, struct iov *out)
{
	struct iov rest = query, kv;
	size_t nl = strlen(name);
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		struct iov k, v = iov_split(kv, '=', &k);
		if (k.len != nl || memcmp(k.base, name, nl) != 0)
			continue;
		int rc = decode(a, v.base ? v : iov_make("", 0), true, out);
		return rc ? rc : 1;
	}
	return 0;
}

/* The parameter names of a query string, split once per request. */
#define QUERY_KEYS_MAX 64

struct query_keys {
	struct iov k[QUERY_KEYS_MAX];
	size_t n;
	bool overflow; /* more than QUERY_KEYS_MAX: fall back to scanning */
	struct iov query;
};

static void keys_split(struct iov query, struct query_keys *qk)
{
	struct iov rest = query, kv;
	qk->n = 0;
	qk->overflow = false;
	qk->query = query;
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		struct iov k;
		iov_split(kv, '=', &k);
		if (qk->n == QUERY_KEYS_MAX) {
			qk->overflow = true;
			return;
		}
		qk->k[qk->n++] = k;
	}
}

static bool query_has(const struct query_keys *qk, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < qk->n; i++)
		if (qk->k[i].len == nl && memcmp(qk->k[i].base, name, nl) == 0)
			return true;
	if (!qk->overflow)
		return false;
	/* Past the first QUERY_KEYS_MAX names: scan the rest of the string. */
	struct iov rest = qk->query, kv;
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		struct iov k;
		iov_split(kv, '=', &k);
		if (k.len == nl && memcmp(k.base, name, nl) == 0)
			return true;
	}
	return false;
}

/* The Host header without a port (not inside an IPv6 literal). */
static struct iov host_name(struct iov host)
{
	if (host.len && host.base[0] != '[') {
		const char *colon = memchr(host.base, ':', host.len);
		if (colon)
			host.len = (size_t)(colon - host.base);
	}
	return host;
}

/* The label before `.<domain>` for the first of `domains` host is under,
 * or IOV_NULL. */
static struct iov host_label(struct iov host, const struct iov *domains, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct iov d = domains[i];
		if (host.len <= d.len + 1)
			continue;
		size_t b = host.len - d.len - 1;
		if (host.base[b] == '.' && iov_eq_nocase(iov_sub(host, b + 1, d.len), d))
			return iov_make(host.base, b);
	}
	return IOV_NULL;
}

/* The access point whose alias is `name` (exactly, or ignoring case for a
 * host name), or NULL. */
static const struct s3_access_point *find_alias(const struct s3_route_in *in, struct iov name,
                                                bool nocase)
{
	for (size_t i = 0; i < in->naps; i++) {
		struct iov alias = in->aps[i].alias;
		if (nocase ? iov_eq_nocase(name, alias) : iov_eq(name, alias))
			return &in->aps[i];
	}
	return NULL;
}

/* Bucket (and alias) from the Host header: `<alias>.<mrap domain>` first,
 * then `bucket.<domain>`. Leaves out->bucket IOV_NULL for path style. */
static int host_route(const struct s3_route_in *in, struct s3_route *out)
{
	struct iov host = host_name(in->host);
	out->bucket = IOV_NULL;
	out->alias = IOV_NULL;
	if (in->nmrap_domains) {
		struct iov label = host_label(host, in->mrap_domains, in->nmrap_domains);
		const struct s3_access_point *ap = label.base ? find_alias(in, label, true) : NULL;
		if (ap) {
			out->bucket = ap->bucket;
			out->alias = ap->alias;
			return 0;
		}
		out->bucket = host_label(host, in->domains, in->ndomains);
		/* Under the access points' domain and no other: not a path-style
		 * request for whatever the path names. */
		if (label.base && !out->bucket.base)
			return ERR_S3AP_NO_SUCH_ACCESS_POINT;
		return 0;
	}
	out->bucket = host_label(host, in->domains, in->ndomains);
	return 0;
}

static int pick_op(struct iov method, enum scope scope, const struct query_keys *query,
                   enum s3_op *out)
{
	for (size_t i = 0; i < S3_OP__COUNT; i++) {
		if (ops[i].scope != scope || !iov_eq(method, iov_cstr(ops[i].method)))
			continue;
		if (ops[i].sub && !query_has(query, ops[i].sub))
			continue;
		/* A row without a sub-resource matches only when no other row of
		 * this method and scope claims one present in the query. */
		if (!ops[i].sub) {
			bool claimed = false;
			for (size_t j = 0; j < S3_OP__COUNT && !claimed; j++)
				claimed = j != i && ops[j].scope == scope && ops[j].sub &&
				          iov_eq(method, iov_cstr(ops[j].method)) &&
				          query_has(query, ops[j].sub);
			if (claimed)
				continue;
		}
		*out = (enum s3_op)i;
		return 0;
	}
	return ERR_S3_METHOD_NOT_ALLOWED;
}

int s3_route(const struct s3_route_in *in, struct arena *a, struct s3_route *out)
{
	memset(out, 0, sizeof(*out));
	struct iov path, query = iov_split(in->target, '?', &path);
	out->query = query.base ? query : iov_make("", 0);
	if (path.len == 0 || path.base[0] != '/')
		return ERR_S3_INVALID_URI;
	struct query_keys qk;
	keys_split(out->query, &qk);
	for (size_t i = 0; qk.n && i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (query_has(&qk, unsupported[i]))
			return ERR_S3_NOT_IMPLEMENTED;

	struct iov rest = iov_sub(path, 1, path.len - 1), raw_key = IOV_NULL;
	int rc = host_route(in, out);
	if (rc)
		return rc;
	out->virtual_host = out->bucket.base != NULL;
	if (out->virtual_host) {
		raw_key = rest;
	} else if (rest.len) {
		struct iov bucket;
		raw_key = iov_split(rest, '/', &bucket);
		out->bucket = bucket;
		const struct s3_access_point *ap = in->naps ? find_alias(in, bucket, false) : NULL;
		if (ap) {
			out->bucket = ap->bucket;
			out->alias = ap->alias;
		}
	}
	enum scope scope = out->bucket.len == 0          ? SERVICE
	                   : raw_key.base && raw_key.len ? OBJECT
	                                                 : BUCKET;
	if (scope == OBJECT) {
		rc = decode(a, raw_key, false, &out->key);
		if (rc)
			return rc;
		if (out->key.len > S3_KEY_MAX)
			return ERR_S3_KEY_TOO_LONG;
	}
	rc = pick_op(in->method, scope, &qk, &out->op);
	if (rc)
		return rc;

	rc = s3_query_get(out->query, "versionId", a, &out->version_id);
	if (rc < 0)
		return rc;
	out->has_version_id = rc == 1;
	rc = s3_query_get(out->query, "uploadId", a, &out->upload_id);
	if (rc < 0)
		return rc;
	struct iov pn;
	rc = s3_query_get(out->query, "partNumber", a, &pn);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		unsigned long long v;
		if (iov_to_u64(pn, 10000, &v) || v == 0)
			return ERR_S3_INVALID_ARGUMENT;
		out->part_number = (uint32_t)v;
	}
	if (out->op == S3_OP_UPLOAD_PART && out->part_number == 0)
		return ERR_S3_INVALID_ARGUMENT;
	return 0;
}

/* ---- access points ---- */

/* What a multi-region access point takes (REFERENCE.md §1, "Supported
 * data-plane operations"); every other operation is refused on an alias. */
static const bool alias_ops[S3_OP__COUNT] = {
	[S3_OP_LIST_OBJECTS] = true, /* v2 only: see s3_route_alias_allowed */
	[S3_OP_LIST_MULTIPART_UPLOADS] = true,
	[S3_OP_GET_OBJECT] = true,
	[S3_OP_HEAD_OBJECT] = true,
	[S3_OP_PUT_OBJECT] = true, /* not CopyObject */
	[S3_OP_DELETE_OBJECT] = true,
	[S3_OP_CREATE_MULTIPART_UPLOAD] = true,
	[S3_OP_UPLOAD_PART] = true, /* not UploadPartCopy */
	[S3_OP_COMPLETE_MULTIPART_UPLOAD] = true,
	[S3_OP_ABORT_MULTIPART_UPLOAD] = true,
	[S3_OP_LIST_PARTS] = true,
};

/* Whether the raw query holds `name=value` (no decoding: both are plain). */
static bool query_is(struct iov query, struct iov name, struct iov value)
{
	struct iov rest = query, kv;
	while (rest.base && rest.len) {
		rest = iov_split(rest, '&', &kv);
		struct iov k, v = iov_split(kv, '=', &k);
		if (iov_eq(k, name))
			return v.base && iov_eq(v, value);
	}
	return false;
}

int s3_route_alias_allowed(const struct s3_route *r, bool copy_source)
{
	if (!r->alias.base)
		return 0;
	if (r->op >= S3_OP__COUNT || !alias_ops[r->op])
		return ERR_S3AP_NOT_SUPPORTED;
	if (copy_source && (r->op == S3_OP_PUT_OBJECT || r->op == S3_OP_UPLOAD_PART))
		return ERR_S3AP_NOT_SUPPORTED;
	if (r->op == S3_OP_LIST_OBJECTS && !query_is(r->query, IOV_LIT("list-type"), IOV_LIT("2")))
		return ERR_S3AP_NOT_SUPPORTED;
	return 0;
}

static bool label_char(char c, bool upper_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       (upper_ok && c >= 'A' && c <= 'Z');
}

/* Labels of label_char joined by single dots, each 1..63 bytes. */
static bool labels_valid(struct iov name, bool upper_ok, bool hyphen_edges_ok)
{
	struct iov rest = name, label;
	if (!name.len)
		return false;
	while (rest.base) {
		rest = iov_split(rest, '.', &label);
		if (label.len == 0 || label.len > 63)
			return false;
		if (!hyphen_edges_ok && (label.base[0] == '-' || label.base[label.len - 1] == '-'))
			return false;
		for (size_t i = 0; i < label.len; i++)
			if (!label_char(label.base[i], upper_ok))
				return false;
	}
	return true;
}

int s3_alias_valid(struct iov alias)
{
	if (alias.len < S3_ALIAS_MIN || alias.len > S3_ALIAS_MAX)
		return ERR_INVALID;
	return labels_valid(alias, false, true) ? 0 : ERR_INVALID;
}

int s3_domain_valid(struct iov domain)
{
	if (domain.len > 253)
		return ERR_INVALID;
	return labels_valid(domain, true, false) ? 0 : ERR_INVALID;
}

int s3_access_point_parse(struct iov arg, struct s3_access_point *out, const char **why)
{
	struct iov alias, bucket = iov_split(arg, '=', &alias);
	if (!bucket.base) {
		*why = "want ALIAS=BUCKET";
		return ERR_INVALID;
	}
	if (s3_alias_valid(alias)) {
		*why = "the alias must be 3 to 63 characters of lowercase labels (a-z 0-9 -) "
		       "joined by dots";
		return ERR_INVALID;
	}
	if (s3_names_bucket_valid(bucket)) {
		*why = "the bucket is not a valid bucket name";
		return ERR_INVALID;
	}
	out->alias = alias;
	out->bucket = bucket;
	return 0;
}
