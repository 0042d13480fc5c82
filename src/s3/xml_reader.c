/*
 * S3 request bodies on expat: a schema table (which element may appear
 * under which, leaf or container, at most once or repeated, supported or
 * not) drives one set of expat callbacks for every document; each leaf's
 * text is collected in a capped buffer and handed to its setter when the
 * element closes. One reader per body; one thread at a time.
 */
#include "s3/xml_reader.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "s3/names.h"
#include "s3/xml_writer.h"

#define READER_MAGIC 0x53333352u /* "S33R" */
#define NS_SEP       ' '         /* expat: "uri local" (a URI holds no space) */
#define MAX_DEPTH    4           /* the deepest document is Root/Part/ETag */
#define TEXT_MAX     S3_KEY_MAX  /* the longest leaf */
#define VALUE_MAX    256         /* ETags, checksums, statuses, region names */
/*
 * expat 2.5 rescans a token left incomplete at the end of one XML_Parse call
 * from its start on the next call, so a big comment or tag fed in small
 * pieces costs O(n^2). Input is therefore handed over in pieces of at least
 * FEED_MIN bytes and at least half of what was parsed so far: O(log n) calls
 * for one huge token, at most a few dozen for any body (expat 2.6 does the
 * same inside as "reparse deferral").
 */
#define FEED_MIN (64u << 10)

enum elem {
	E_NONE,
	/* CompleteMultipartUpload */
	E_COMPLETE,
	E_PART,
	E_PART_NUMBER,
	E_PART_ETAG,
	E_CK_FIRST,
	E_CK_LAST = E_CK_FIRST + S3_XML_CHECKSUMS - 1,
	E_CK_MD5,
	/* Delete */
	E_DELETE,
	E_QUIET,
	E_OBJECT,
	E_KEY,
	E_VERSION_ID,
	E_OBJECT_ETAG,
	E_LAST_MODIFIED_TIME,
	E_SIZE,
	/* CreateBucketConfiguration */
	E_CREATE_BUCKET,
	E_LOCATION_CONSTRAINT,
	E_LOCATION,
	E_BUCKET,
	E_TAGS,
	/* VersioningConfiguration */
	E_VERSIONING,
	E_STATUS,
	E_MFA_DELETE,
	E__COUNT
};

_Static_assert(E__COUNT <= 64, "the seen-children mask is a uint64_t");

enum {
	F_LEAF = 1,        /* holds text, no children */
	F_ONCE = 2,        /* at most once under one parent */
	F_UNSUPPORTED = 4, /* S3 defines it; Meridian answers NotImplemented */
};

struct rule {
	enum elem parent;
	const char *name;
	enum elem id;
	unsigned flags;
	size_t max; /* leaves: text cap in bytes */
};

static const struct rule rules[] = {
	{ E_NONE, "CompleteMultipartUpload", E_COMPLETE, F_ONCE, 0 },
	{ E_COMPLETE, "Part", E_PART, 0, 0 },
	{ E_PART, "PartNumber", E_PART_NUMBER, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ETag", E_PART_ETAG, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ChecksumCRC32", E_CK_FIRST + CHECKSUM_CRC32, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ChecksumCRC32C", E_CK_FIRST + CHECKSUM_CRC32C, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ChecksumCRC64NVME", E_CK_FIRST + CHECKSUM_CRC64NVME, F_LEAF | F_ONCE,
	  VALUE_MAX },
	{ E_PART, "ChecksumSHA1", E_CK_FIRST + CHECKSUM_SHA1, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ChecksumSHA256", E_CK_FIRST + CHECKSUM_SHA256, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_PART, "ChecksumMD5", E_CK_MD5, F_LEAF | F_UNSUPPORTED, VALUE_MAX },

	{ E_NONE, "Delete", E_DELETE, F_ONCE, 0 },
	{ E_DELETE, "Quiet", E_QUIET, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_DELETE, "Object", E_OBJECT, 0, 0 },
	{ E_OBJECT, "Key", E_KEY, F_LEAF | F_ONCE, S3_KEY_MAX },
	{ E_OBJECT, "VersionId", E_VERSION_ID, F_LEAF | F_ONCE, TEXT_MAX },
	{ E_OBJECT, "ETag", E_OBJECT_ETAG, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_OBJECT, "LastModifiedTime", E_LAST_MODIFIED_TIME, F_LEAF | F_UNSUPPORTED, VALUE_MAX },
	{ E_OBJECT, "Size", E_SIZE, F_LEAF | F_UNSUPPORTED, VALUE_MAX },

	{ E_NONE, "CreateBucketConfiguration", E_CREATE_BUCKET, F_ONCE, 0 },
	{ E_CREATE_BUCKET, "LocationConstraint", E_LOCATION_CONSTRAINT, F_LEAF | F_ONCE,
	  VALUE_MAX },
	{ E_CREATE_BUCKET, "Location", E_LOCATION, F_UNSUPPORTED, 0 },
	{ E_CREATE_BUCKET, "Bucket", E_BUCKET, F_UNSUPPORTED, 0 },
	{ E_CREATE_BUCKET, "Tags", E_TAGS, F_UNSUPPORTED, 0 },

	{ E_NONE, "VersioningConfiguration", E_VERSIONING, F_ONCE, 0 },
	{ E_VERSIONING, "Status", E_STATUS, F_LEAF | F_ONCE, VALUE_MAX },
	{ E_VERSIONING, "MfaDelete", E_MFA_DELETE, F_LEAF | F_ONCE, VALUE_MAX },
};

static const enum elem doc_root[] = {
	[S3_XML_COMPLETE_MULTIPART_UPLOAD] = E_COMPLETE,
	[S3_XML_DELETE] = E_DELETE,
	[S3_XML_CREATE_BUCKET_CONFIGURATION] = E_CREATE_BUCKET,
	[S3_XML_VERSIONING_CONFIGURATION] = E_VERSIONING,
};

static const size_t doc_cap[] = {
	[S3_XML_COMPLETE_MULTIPART_UPLOAD] = S3_XML_COMPLETE_MAX,
	[S3_XML_DELETE] = S3_XML_DELETE_MAX,
	[S3_XML_CREATE_BUCKET_CONFIGURATION] = S3_XML_CONFIG_MAX,
	[S3_XML_VERSIONING_CONFIGURATION] = S3_XML_CONFIG_MAX,
};

struct frame {
	const struct rule *rule;
	uint64_t seen; /* children met so far, by enum elem */
};

struct s3_xml_reader {
	uint32_t magic;
	enum s3_xml_doc doc;
	XML_Parser parser;
	struct arena *strings; /* values kept for the result */
	size_t fed, cap;
	size_t parsed;      /* bytes handed to expat */
	bool direct;        /* tests: no deferral, every piece goes to expat */
	struct buf pending; /* fed, not yet handed to expat */
	int err;            /* sticky: syntax, caps, unsupported */
	int later;          /* first error reported at finish, if all else is fine */
	const char *why;    /* message for err or later, or NULL */
	bool finished;      /* finish returned 0 */
	bool text_overflow; /* the current leaf's text went over its cap */
	size_t depth;
	struct frame stack[MAX_DEPTH];
	struct buf text;
	char text_store[TEXT_MAX];

	/* CompleteMultipartUpload */
	struct s3_xml_part *parts;
	size_t nparts, parts_cap;
	int64_t part_number; /* of the part being read; 0 until PartNumber */
	int64_t last_number; /* of the previous part */
	/* Delete */
	struct s3_xml_object *objects;
	size_t nobjects, objects_cap;

	struct s3_xml_complete complete;
	struct s3_xml_delete del;
	struct s3_xml_create_bucket create;
	struct s3_xml_versioning versioning;
};

/* ---- errors ----------------------------------------------------------------------------- */

/* A failure that ends parsing now. Keeps the first one. */
static void fail(struct s3_xml_reader *r, int err)
{
	if (r->err == 0) {
		r->err = err;
		XML_StopParser(r->parser, XML_FALSE);
	}
}

/* A failure reported at finish, if the document turns out well-formed. */
static void fail_later(struct s3_xml_reader *r, int err, const char *why)
{
	if (r->later == 0) {
		r->later = err;
		r->why = why;
	}
}

/* ---- values ----------------------------------------------------------------------------- */

static inline bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* xs:int and xs:boolean collapse surrounding whitespace; strings do not. */
static struct iov collapse(struct iov v)
{
	while (v.len && xml_space(v.base[0])) {
		v.base++;
		v.len--;
	}
	while (v.len && xml_space(v.base[v.len - 1]))
		v.len--;
	return v;
}

/* An xs:int: optional sign, decimal digits, within 32 bits. */
static bool parse_int(struct iov v, int64_t *out)
{
	bool neg = false;
	unsigned long long u;
	v = collapse(v);
	if (v.len && (v.base[0] == '+' || v.base[0] == '-')) {
		neg = v.base[0] == '-';
		v = iov_sub(v, 1, v.len - 1);
	}
	if (iov_to_u64(v, neg ? 2147483648ull : 2147483647ull, &u))
		return false;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return true;
}

static bool parse_bool(struct iov v, bool *out)
{
	v = collapse(v);
	if (iov_eq(v, IOV_LIT("true")) || iov_eq(v, IOV_LIT("1")))
		*out = true;
	else if (iov_eq(v, IOV_LIT("false")) || iov_eq(v, IOV_LIT("0")))
		*out = false;
	else
		return false;
	return true;
}

/* Keep a value for the result. */
static bool keep(struct s3_xml_reader *r, struct iov v, struct iov *out)
{
	*out = arena_dup(r->strings, v);
	if (!out->base) {
		fail(r, ERR_NOMEM);
		return false;
	}
	return true;
}

/* Grow an array of `size`-byte items by one, up to `max` items. */
static void *grow(void **items, size_t *n, size_t *cap, size_t size, size_t max)
{
	if (*n == max)
		return NULL;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		c = c < max ? c : max;
		void *p = realloc(*items, c * size);
		if (!p)
			return NULL;
		*items = p;
		*cap = c;
	}
	char *item = (char *)*items + (*n)++ * size;
	memset(item, 0, size);
	return item;
}

/* ---- leaves ----------------------------------------------------------------------------- */

static struct s3_xml_part *cur_part(struct s3_xml_reader *r)
{
	return &r->parts[r->nparts - 1];
}

static struct s3_xml_object *cur_object(struct s3_xml_reader *r)
{
	return &r->objects[r->nobjects - 1];
}

static void leaf_part_number(struct s3_xml_reader *r, struct iov v)
{
	int64_t n;
	if (!parse_int(v, &n)) {
		fail(r, ERR_S3_MALFORMED_XML);
		return;
	}
	r->part_number = n;
	if (n < 1)
		fail_later(r, ERR_S3_INVALID_ARGUMENT,
		           "Part number must be an integer between 1 and 10000, inclusive");
	else if (n > S3_XML_MAX_PARTS)
		fail_later(r, ERR_S3_INVALID_PART, NULL);
	else
		cur_part(r)->number = (uint32_t)n;
}

static void leaf_key(struct s3_xml_reader *r, struct iov v)
{
	if (r->text_overflow) {
		fail_later(r, ERR_S3_KEY_TOO_LONG, NULL);
		cur_object(r)->key = IOV_LIT("");
		return;
	}
	if (v.len == 0) {
		fail(r, ERR_S3_MALFORMED_XML); /* the schema's minimum length is 1 */
		return;
	}
	keep(r, v, &cur_object(r)->key);
}

static void leaf_status(struct s3_xml_reader *r, struct iov v)
{
	if (v.len == 0)
		return; /* as if absent: IllegalVersioningConfigurationException at finish */
	if (iov_eq(v, IOV_LIT("Enabled")))
		r->versioning.status = S3_XML_STATUS_ENABLED;
	else if (iov_eq(v, IOV_LIT("Suspended")))
		r->versioning.status = S3_XML_STATUS_SUSPENDED;
	else
		fail(r, ERR_S3_MALFORMED_XML);
}

static void leaf_mfa_delete(struct s3_xml_reader *r, struct iov v)
{
	if (v.len == 0)
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_ABSENT;
	else if (iov_eq(v, IOV_LIT("Enabled")))
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_ENABLED;
	else if (iov_eq(v, IOV_LIT("Disabled")))
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_DISABLED;
	else
		fail(r, ERR_S3_MALFORMED_XML);
}

static void leaf(struct s3_xml_reader *r, enum elem id, struct iov v)
{
	if (r->text_overflow && id != E_KEY) {
		fail(r, ERR_S3_MALFORMED_XML);
		return;
	}
	if (id >= E_CK_FIRST && id <= E_CK_LAST) {
		keep(r, v, &cur_part(r)->checksum[id - E_CK_FIRST]);
		return;
	}
	switch (id) {
	case E_PART_NUMBER:
		leaf_part_number(r, v);
		break;
	case E_PART_ETAG:
		keep(r, v, &cur_part(r)->etag);
		break;
	case E_QUIET:
		if (!parse_bool(v, &r->del.quiet))
			fail(r, ERR_S3_MALFORMED_XML);
		break;
	case E_KEY:
		leaf_key(r, v);
		break;
	case E_VERSION_ID:
		keep(r, v, &cur_object(r)->version_id);
		break;
	case E_OBJECT_ETAG:
		keep(r, v, &cur_object(r)->etag);
		break;
	case E_LOCATION_CONSTRAINT:
		keep(r, v, &r->create.location);
		break;
	case E_STATUS:
		leaf_status(r, v);
		break;
	case E_MFA_DELETE:
		leaf_mfa_delete(r, v);
		break;
	default:
		CHECK(!"a leaf without a setter");
	}
}

/* ---- containers ------------------------------------------------------------------------- */

static void container_open(struct s3_xml_reader *r, enum elem id)
{
	if (id == E_PART) {
		if (!grow((void **)&r->parts, &r->nparts, &r->parts_cap, sizeof(*r->parts),
		          S3_XML_MAX_PARTS))
			fail(r, r->nparts == S3_XML_MAX_PARTS ? ERR_S3_MALFORMED_XML : ERR_NOMEM);
		r->part_number = 0;
	} else if (id == E_OBJECT) {
		if (!grow((void **)&r->objects, &r->nobjects, &r->objects_cap, sizeof(*r->objects),
		          S3_XML_MAX_OBJECTS))
			fail(r,
			     r->nobjects == S3_XML_MAX_OBJECTS ? ERR_S3_MALFORMED_XML : ERR_NOMEM);
	}
}

static void container_close(struct s3_xml_reader *r, const struct frame *f)
{
	if (f->rule->id == E_PART) {
		if (!(f->seen & (UINT64_C(1) << E_PART_NUMBER))) {
			fail(r, ERR_S3_MALFORMED_XML);
			return;
		}
		if (r->part_number <= r->last_number)
			fail_later(r, ERR_S3_INVALID_PART_ORDER, NULL);
		r->last_number = r->part_number;
	} else if (f->rule->id == E_OBJECT) {
		if (!(f->seen & (UINT64_C(1) << E_KEY)))
			fail(r, ERR_S3_MALFORMED_XML);
	}
}

/* ---- expat callbacks -------------------------------------------------------------------- */

static const struct rule *find_rule(enum elem parent, const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

/* The local name of "uri local" or "local"; NULL if the URI is not S3's. */
static const char *local_name(const char *name)
{
	const char *sep = strrchr(name, NS_SEP);
	if (!sep)
		return name;
	size_t ulen = (size_t)(sep - name);
	if (ulen != sizeof(S3_XML_NS) - 1 || memcmp(name, S3_XML_NS, ulen) != 0)
		return NULL;
	return sep + 1;
}

static void on_start(void *ud, const XML_Char *qname, const XML_Char **atts)
{
	struct s3_xml_reader *r = ud;
	(void)atts; /* attributes carry nothing S3 reads */
	if (r->err)
		return;
	const char *name = local_name(qname);
	struct frame *parent = r->depth ? &r->stack[r->depth - 1] : NULL;
	const struct rule *rule = name ? find_rule(parent ? parent->rule->id : E_NONE, name) : NULL;
	if (!rule || (!parent && rule->id != doc_root[r->doc])) {
		fail(r, ERR_S3_MALFORMED_XML);
		return;
	}
	if (rule->flags & F_UNSUPPORTED) {
		fail(r, ERR_S3_NOT_IMPLEMENTED);
		return;
	}
	if (parent) {
		uint64_t bit = UINT64_C(1) << rule->id;
		if ((rule->flags & F_ONCE) && (parent->seen & bit)) {
			fail(r, ERR_S3_MALFORMED_XML);
			return;
		}
		parent->seen |= bit;
	}
	CHECK(r->depth < MAX_DEPTH); /* the schema is three deep */
	r->stack[r->depth++] = (struct frame){ .rule = rule };
	if (rule->flags & F_LEAF) {
		buf_reset(&r->text);
		r->text_overflow = false;
	} else {
		container_open(r, rule->id);
	}
}

static void on_end(void *ud, const XML_Char *qname)
{
	struct s3_xml_reader *r = ud;
	(void)qname; /* expat has matched it against the start tag */
	if (r->err)
		return;
	CHECK(r->depth > 0);
	const struct frame *f = &r->stack[--r->depth];
	if (f->rule->flags & F_LEAF)
		leaf(r, f->rule->id, buf_iov(&r->text));
	else
		container_close(r, f);
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct s3_xml_reader *r = ud;
	if (r->err || len <= 0)
		return;
	const struct frame *f = r->depth ? &r->stack[r->depth - 1] : NULL;
	if (!f || !(f->rule->flags & F_LEAF)) {
		for (int i = 0; i < len; i++)
			if (!xml_space(s[i])) {
				fail(r, ERR_S3_MALFORMED_XML); /* text between elements */
				return;
			}
		return;
	}
	if (r->text_overflow || (size_t)len > f->rule->max - r->text.len) {
		r->text_overflow = true;
		return;
	}
	int rc = buf_add(&r->text, s, (size_t)len);
	CHECK(rc == 0); /* text_store holds the largest leaf cap */
}

/* No DTD at all: its mere start ends the parse, before any entity exists. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, ERR_S3_MALFORMED_XML);
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *sysid,
                      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, ERR_S3_MALFORMED_XML);
}

/* ---- public ----------------------------------------------------------------------------- */

int s3_xml_reader_new(enum s3_xml_doc doc, struct s3_xml_reader **out)
{
	CHECK((unsigned)doc <= S3_XML_VERSIONING_CONFIGURATION);
	struct s3_xml_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->magic = READER_MAGIC;
	r->doc = doc;
	r->cap = doc_cap[doc];
	buf_init_with(&r->text, r->text_store, sizeof(r->text_store), sizeof(r->text_store));
	buf_init(&r->pending, r->cap);
	/* Every kept value is at most the body's size; each costs up to 16 more
	 * bytes of alignment, and the smallest element pair is 7 bytes. */
	r->strings = arena_new(r->cap * 4);
	r->parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (!r->strings || !r->parser) {
		s3_xml_reader_free(r);
		return ERR_NOMEM;
	}
	XML_SetUserData(r->parser, r);
	XML_SetElementHandler(r->parser, on_start, on_end);
	XML_SetCharacterDataHandler(r->parser, on_text);
	XML_SetStartDoctypeDeclHandler(r->parser, on_doctype);
	XML_SetEntityDeclHandler(r->parser, on_entity);
	XML_SetParamEntityParsing(r->parser, XML_PARAM_ENTITY_PARSING_NEVER);
	*out = r;
	return 0;
}

void s3_xml_reader_free(struct s3_xml_reader *r)
{
	if (!r)
		return;
	CHECK_MAGIC(r, READER_MAGIC);
	if (r->parser)
		XML_ParserFree(r->parser);
	arena_free(r->strings);
	free(r->parts);
	free(r->objects);
	buf_free(&r->pending);
	r->magic = 0;
	free(r);
}

static void parse(struct s3_xml_reader *r, const char *p, size_t n, bool final)
{
	r->parsed += n;
	if (XML_Parse(r->parser, p, (int)n, final) == XML_STATUS_OK)
		return;
	/* Aborted means a callback already set r->err. */
	if (XML_GetErrorCode(r->parser) == XML_ERROR_NO_MEMORY)
		fail(r, ERR_NOMEM);
	else
		fail(r, ERR_S3_MALFORMED_XML);
}

static void flush(struct s3_xml_reader *r)
{
	if (r->pending.len && r->err == 0)
		parse(r, r->pending.data, r->pending.len, false);
	buf_reset(&r->pending);
}

int s3_xml_reader_feed(struct s3_xml_reader *r, const char *p, size_t n)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(!r->finished);
	if (r->err)
		return r->err;
	size_t take = n < r->cap - r->fed ? n : r->cap - r->fed;
	size_t due = r->direct ? 0 : r->parsed / 2 > FEED_MIN ? r->parsed / 2 : FEED_MIN;
	r->fed += take;
	if (r->pending.len == 0 && take && take >= due) {
		parse(r, p, take, false);
	} else if (take) {
		int rc = buf_add(&r->pending, p, take);
		if (rc)
			fail(r, rc);
		else if (r->pending.len >= due)
			flush(r);
	}
	if (r->err == 0 && take < n) {
		flush(r); /* a body malformed before the cap is MalformedXML */
		fail(r, ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED);
	}
	return r->err;
}

/* Whole-document rules, once the parse is complete. */
static int check_document(struct s3_xml_reader *r)
{
	switch (r->doc) {
	case S3_XML_COMPLETE_MULTIPART_UPLOAD:
		if (r->nparts == 0)
			return ERR_S3_MALFORMED_XML;
		r->complete = (struct s3_xml_complete){ r->parts, r->nparts };
		break;
	case S3_XML_DELETE:
		if (r->nobjects == 0)
			return ERR_S3_MALFORMED_XML;
		r->del.objects = r->objects;
		r->del.n = r->nobjects;
		break;
	case S3_XML_CREATE_BUCKET_CONFIGURATION:
		r->create.body = true;
		break;
	case S3_XML_VERSIONING_CONFIGURATION:
		if (r->versioning.status == 0)
			fail_later(r, ERR_S3_ILLEGAL_VERSIONING_CONFIGURATION, NULL);
		break;
	}
	return r->later;
}

int s3_xml_reader_finish(struct s3_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(!r->finished);
	if (r->err)
		return r->err;
	if (r->fed == 0) {
		if (r->doc != S3_XML_CREATE_BUCKET_CONFIGURATION) {
			r->err = ERR_S3_MISSING_REQUEST_BODY;
			return r->err;
		}
		r->finished = true;
		return 0;
	}
	flush(r);
	if (r->err == 0)
		parse(r, NULL, 0, true);
	if (r->err)
		return r->err;
	int rc = check_document(r);
	if (rc) {
		r->err = rc;
		return rc;
	}
	r->finished = true;
	return 0;
}

void s3_xml_reader__direct(struct s3_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(r->fed == 0);
	r->direct = true;
}

const char *s3_xml_reader_why(const struct s3_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	return r->err && r->err == r->later ? r->why : NULL;
}

static const struct s3_xml_reader *result(const struct s3_xml_reader *r, enum s3_xml_doc doc)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(r->finished && r->doc == doc);
	return r;
}

const struct s3_xml_complete *s3_xml_reader_complete(const struct s3_xml_reader *r)
{
	return &result(r, S3_XML_COMPLETE_MULTIPART_UPLOAD)->complete;
}

const struct s3_xml_delete *s3_xml_reader_delete(const struct s3_xml_reader *r)
{
	return &result(r, S3_XML_DELETE)->del;
}

const struct s3_xml_create_bucket *s3_xml_reader_create_bucket(const struct s3_xml_reader *r)
{
	return &result(r, S3_XML_CREATE_BUCKET_CONFIGURATION)->create;
}

const struct s3_xml_versioning *s3_xml_reader_versioning(const struct s3_xml_reader *r)
{
	return &result(r, S3_XML_VERSIONING_CONFIGURATION)->versioning;
}
