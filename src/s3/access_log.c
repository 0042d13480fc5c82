/*
 * s3/access_log: S3 server access log lines (see access_log.h).
 */
#include "s3/access_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "s3/names.h"

/* The resource part of each operation's name, by enum s3_op. */
static const char *const resource[S3_OP__COUNT] = {
	[S3_OP_LIST_BUCKETS] = "SERVICE",
	[S3_OP_CREATE_BUCKET] = "BUCKET",
	[S3_OP_DELETE_BUCKET] = "BUCKET",
	[S3_OP_HEAD_BUCKET] = "BUCKET",
	[S3_OP_LIST_OBJECTS] = "BUCKET",
	[S3_OP_GET_BUCKET_LOCATION] = "LOCATION",
	[S3_OP_GET_BUCKET_VERSIONING] = "VERSIONING",
	[S3_OP_PUT_BUCKET_VERSIONING] = "VERSIONING",
	[S3_OP_LIST_OBJECT_VERSIONS] = "BUCKETVERSIONS",
	[S3_OP_PUT_BUCKET_REPLICATION] = "REPLICATION",
	[S3_OP_GET_BUCKET_REPLICATION] = "REPLICATION",
	[S3_OP_DELETE_BUCKET_REPLICATION] = "REPLICATION",
	[S3_OP_LIST_MULTIPART_UPLOADS] = "UPLOADS",
	[S3_OP_DELETE_OBJECTS] = "MULTI_OBJECT_DELETE",
	[S3_OP_GET_OBJECT] = "OBJECT",
	[S3_OP_HEAD_OBJECT] = "OBJECT",
	[S3_OP_PUT_OBJECT] = "OBJECT",
	[S3_OP_DELETE_OBJECT] = "OBJECT",
	[S3_OP_CREATE_MULTIPART_UPLOAD] = "UPLOADS",
	[S3_OP_UPLOAD_PART] = "PART",
	[S3_OP_COMPLETE_MULTIPART_UPLOAD] = "UPLOAD",
	[S3_OP_ABORT_MULTIPART_UPLOAD] = "UPLOAD",
	[S3_OP_LIST_PARTS] = "UPLOAD",
};

const char *s3_access_log_operation(bool routed, enum s3_op op, bool copy, struct iov method,
                                    char out[32])
{
	if (routed && (unsigned)op < S3_OP__COUNT && resource[op]) {
		copy = copy && (op == S3_OP_PUT_OBJECT || op == S3_OP_UPLOAD_PART);
		snprintf(out, 32, "REST.%.*s.%s", copy ? 4 : (int)(method.len > 8 ? 8 : method.len),
		         copy ? "COPY" : method.base, resource[op]);
	} else {
		snprintf(out, 32, "REST.%.*s.UNKNOWN", (int)(method.len > 8 ? 8 : method.len),
		         method.base ? method.base : "");
	}
	for (char *p = out; *p; p++) /* a method is a token, but the log is one word */
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
			*p = '_';
	return out;
}

/* Bytes a log field keeps as they are: printable ASCII but the quote and
 * backslash (and the space, outside quotes). Others are written \xHH, as
 * nginx escapes its access log. */
static bool plain(unsigned char c, bool quoted)
{
	return c > ' ' ? c < 0x7f && c != '"' && c != '\\' : quoted && c == ' ';
}

/* The line being written; after the first error every append is a no-op
 * and rc says why. */
struct line {
	struct buf *b;
	int rc;
};

static void add(struct line *l, const char *p, size_t n)
{
	if (l->rc == 0)
		l->rc = buf_add(l->b, p, n);
}

static void add_str(struct line *l, const char *s)
{
	add(l, s, strlen(s));
}

static void add_escaped(struct line *l, struct iov v, bool quoted)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = v.len > S3_ACCESS_LOG_FIELD_MAX ? S3_ACCESS_LOG_FIELD_MAX : v.len;
	for (size_t i = 0; i < n && l->rc == 0; i++) {
		unsigned char c = (unsigned char)v.base[i];
		if (plain(c, quoted)) {
			add(l, (const char *)&c, 1);
		} else {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			add(l, e, sizeof(e));
		}
	}
	if (n < v.len)
		add_str(l, "...");
}

/* A field and the space before it: "-" when empty. */
static void field(struct line *l, struct iov v)
{
	add_str(l, " ");
	if (v.len)
		add_escaped(l, v, false);
	else
		add_str(l, "-");
}

static void field_str(struct line *l, const char *s)
{
	field(l, s ? iov_cstr(s) : IOV_NULL);
}

static void field_quoted(struct line *l, struct iov v)
{
	add_str(l, " \"");
	if (v.len)
		add_escaped(l, v, true);
	else
		add_str(l, "-");
	add_str(l, "\"");
}

/* A number; 0 as "-" when zero_is_dash, a negative one always. */
static void field_num(struct line *l, int64_t v, bool zero_is_dash)
{
	char d[24];
	if (v < 0 || (v == 0 && zero_is_dash))
		field(l, IOV_NULL);
	else
		field(l, iov_make(d, (size_t)snprintf(d, sizeof(d), "%lld", (long long)v)));
}

/* The key as S3 logs it: URL-encoded. */
static void field_key(struct line *l, struct iov key)
{
	char room[256];
	struct buf k;
	buf_init_with(&k, room, sizeof(room), 3 * S3_KEY_MAX);
	if (key.len && l->rc == 0)
		l->rc = s3_names_url_encode(&k, key);
	field(l, buf_iov(&k));
	buf_free(&k);
}

int s3_access_log_line(const struct s3_access_entry *e, struct buf *out)
{
	struct line l = { out, 0 };
	if (e->bucket_owner.len)
		add_escaped(&l, e->bucket_owner, false);
	else
		add_str(&l, "-");
	field(&l, e->bucket);
	time_t t = (time_t)e->time;
	struct tm tm;
	char when[40];
	gmtime_r(&t, &tm);
	add(&l, when, strftime(when, sizeof(when), " [%d/%b/%Y:%H:%M:%S +0000]", &tm));
	field(&l, e->remote_ip);
	field(&l, e->requester);
	field_str(&l, e->request_id);
	field_str(&l, e->operation);
	field_key(&l, e->key);
	if (e->method.len) { /* "METHOD target HTTP/1.x", escaped as one field */
		char version[16];
		add_str(&l, " \"");
		add_escaped(&l, e->method, true);
		add_str(&l, " ");
		add_escaped(&l, e->target, true);
		add(&l, version,
		    (size_t)snprintf(version, sizeof(version), " HTTP/1.%u\"", e->version_minor));
	} else {
		field_quoted(&l, IOV_NULL);
	}
	field_num(&l, e->status, false);
	field_str(&l, e->error_code);
	field_num(&l, (int64_t)e->bytes_sent, true);
	field_num(&l, e->object_size, false);
	field_num(&l, (int64_t)e->total_ms, false);
	field(&l, IOV_NULL); /* turn-around time: not measured */
	field_quoted(&l, e->referer);
	field_quoted(&l, e->user_agent);
	field(&l, e->version_id);
	field(&l, e->host_id);
	field_str(&l, e->signature_version);
	field(&l, IOV_NULL); /* cipher suite: not known here */
	field_str(&l, e->auth_type);
	field(&l, e->host);
	field_str(&l, e->tls_version);
	field(&l, e->access_point);
	field(&l, IOV_NULL); /* aclRequired: no ACLs */
	add_str(&l, "\n");
	return l.rc;
}
