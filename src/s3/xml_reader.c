/*
 * S3 request bodies on the shared strict reader (http/xml): one rule table
 * holds the four documents' elements, one schema per document picks its
 * root, cap and S3 error codes; the callbacks fill the result. One reader
 * per body; one thread at a time.
 */
#include "s3/xml_reader.h"

#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"
#include "s3/names.h"
#include "s3/xml_writer.h"

#define READER_MAGIC 0x53333352u /* "S33R" */
#define VALUE_MAX    256         /* ETags, checksums, statuses, region names */

enum elem {
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

#define LEAF(parent, name, cap)                     \
	{                                           \
		name, parent, HTTP_XML_LEAF, 1, cap \
	}
/* S3 defines it, Meridian does not support it: refused when it opens */
#define UNSUPPORTED(parent, name)     \
	{                             \
		name, parent, 0, 0, 0 \
	}

/* Every document's elements; ids are enum elem. */
static const struct http_xml_rule rules[] = {
	[E_COMPLETE] = { "CompleteMultipartUpload", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_PART] = { "Part", E_COMPLETE, 0, S3_XML_MAX_PARTS, 0 },
	[E_PART_NUMBER] = LEAF(E_PART, "PartNumber", VALUE_MAX),
	[E_PART_ETAG] = LEAF(E_PART, "ETag", VALUE_MAX),
	[E_CK_FIRST + CHECKSUM_CRC32] = LEAF(E_PART, "ChecksumCRC32", VALUE_MAX),
	[E_CK_FIRST + CHECKSUM_CRC32C] = LEAF(E_PART, "ChecksumCRC32C", VALUE_MAX),
	[E_CK_FIRST + CHECKSUM_CRC64NVME] = LEAF(E_PART, "ChecksumCRC64NVME", VALUE_MAX),
	[E_CK_FIRST + CHECKSUM_SHA1] = LEAF(E_PART, "ChecksumSHA1", VALUE_MAX),
	[E_CK_FIRST + CHECKSUM_SHA256] = LEAF(E_PART, "ChecksumSHA256", VALUE_MAX),
	[E_CK_MD5] = UNSUPPORTED(E_PART, "ChecksumMD5"),

	[E_DELETE] = { "Delete", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_QUIET] = LEAF(E_DELETE, "Quiet", VALUE_MAX),
	[E_OBJECT] = { "Object", E_DELETE, 0, S3_XML_MAX_OBJECTS, 0 },
	/* an over-long key is KeyTooLongError, after well-formedness */
	[E_KEY] = { "Key", E_OBJECT, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 1, S3_KEY_MAX },
	[E_VERSION_ID] = LEAF(E_OBJECT, "VersionId", S3_KEY_MAX),
	[E_OBJECT_ETAG] = LEAF(E_OBJECT, "ETag", VALUE_MAX),
	[E_LAST_MODIFIED_TIME] = UNSUPPORTED(E_OBJECT, "LastModifiedTime"),
	[E_SIZE] = UNSUPPORTED(E_OBJECT, "Size"),

	[E_CREATE_BUCKET] = { "CreateBucketConfiguration", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_LOCATION_CONSTRAINT] = LEAF(E_CREATE_BUCKET, "LocationConstraint", VALUE_MAX),
	[E_LOCATION] = UNSUPPORTED(E_CREATE_BUCKET, "Location"),
	[E_BUCKET] = UNSUPPORTED(E_CREATE_BUCKET, "Bucket"),
	[E_TAGS] = UNSUPPORTED(E_CREATE_BUCKET, "Tags"),

	[E_VERSIONING] = { "VersioningConfiguration", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_STATUS] = LEAF(E_VERSIONING, "Status", VALUE_MAX),
	[E_MFA_DELETE] = LEAF(E_VERSIONING, "MfaDelete", VALUE_MAX),
};

_Static_assert(sizeof(rules) / sizeof(rules[0]) == E__COUNT, "a rule for every element");

static int on_open(struct http_xml_reader *x, void *ctx, int id);
static int on_leaf(struct http_xml_reader *x, void *ctx, int id, struct iov v, bool cut);
static int on_close(struct http_xml_reader *x, void *ctx, int id, uint64_t seen);

#define SCHEMA(root_, cap_, empty)                                                               \
	{                                                                                        \
		.rules = rules, .nrules = E__COUNT, .root = root_, .ns = S3_XML_NS, .cap = cap_, \
		.err_malformed = ERR_S3_MALFORMED_XML,                                           \
		.err_too_big = ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED, .err_empty = empty,           \
		.open = on_open, .leaf = on_leaf, .close = on_close                              \
	}

static const struct http_xml_schema schemas[] = {
	[S3_XML_COMPLETE_MULTIPART_UPLOAD] =
	    SCHEMA(E_COMPLETE, S3_XML_COMPLETE_MAX, ERR_S3_MISSING_REQUEST_BODY),
	[S3_XML_DELETE] = SCHEMA(E_DELETE, S3_XML_DELETE_MAX, ERR_S3_MISSING_REQUEST_BODY),
	[S3_XML_CREATE_BUCKET_CONFIGURATION] = SCHEMA(E_CREATE_BUCKET, S3_XML_CONFIG_MAX, 0),
	[S3_XML_VERSIONING_CONFIGURATION] =
	    SCHEMA(E_VERSIONING, S3_XML_CONFIG_MAX, ERR_S3_MISSING_REQUEST_BODY),
};

struct s3_xml_reader {
	uint32_t magic;
	enum s3_xml_doc doc;
	struct http_xml_reader *x;
	int err;         /* sticky */
	int later;       /* first error reported at finish, if all else is fine */
	const char *why; /* message for later, or NULL */
	bool finished;   /* finish returned 0 */

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

/* A failure reported at finish, if the document turns out well-formed. */
static void fail_later(struct s3_xml_reader *r, int err, const char *why)
{
	if (r->later == 0) {
		r->later = err;
		r->why = why;
	}
}

/* ---- values ----------------------------------------------------------------------------- */

static bool parse_bool(struct iov v, bool *out)
{
	v = http_xml_collapse(v);
	if (iov_eq(v, IOV_LIT("true")) || iov_eq(v, IOV_LIT("1")))
		*out = true;
	else if (iov_eq(v, IOV_LIT("false")) || iov_eq(v, IOV_LIT("0")))
		*out = false;
	else
		return false;
	return true;
}

/* Grow an array of `size`-byte items by one (the schema caps the count). */
static void *grow(void **items, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
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

static int leaf_part_number(struct s3_xml_reader *r, struct iov v)
{
	int64_t n;
	if (http_xml_int(v, &n) != 0)
		return ERR_S3_MALFORMED_XML;
	r->part_number = n;
	if (n < 1)
		fail_later(r, ERR_S3_INVALID_ARGUMENT,
		           "Part number must be an integer between 1 and 10000, inclusive");
	else if (n > S3_XML_MAX_PARTS)
		fail_later(r, ERR_S3_INVALID_PART, NULL);
	else
		cur_part(r)->number = (uint32_t)n;
	return 0;
}

static int leaf_key(struct http_xml_reader *x, struct s3_xml_reader *r, struct iov v, bool cut)
{
	if (cut) {
		fail_later(r, ERR_S3_KEY_TOO_LONG, NULL);
		cur_object(r)->key = IOV_LIT("");
		return 0;
	}
	if (v.len == 0)
		return ERR_S3_MALFORMED_XML; /* the schema's minimum length is 1 */
	return http_xml_reader_keep(x, v, &cur_object(r)->key);
}

static int leaf_status(struct s3_xml_reader *r, struct iov v)
{
	if (v.len == 0)
		return 0; /* as if absent: IllegalVersioningConfigurationException at finish */
	if (iov_eq(v, IOV_LIT("Enabled")))
		r->versioning.status = S3_XML_STATUS_ENABLED;
	else if (iov_eq(v, IOV_LIT("Suspended")))
		r->versioning.status = S3_XML_STATUS_SUSPENDED;
	else
		return ERR_S3_MALFORMED_XML;
	return 0;
}

static int leaf_mfa_delete(struct s3_xml_reader *r, struct iov v)
{
	if (v.len == 0)
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_ABSENT;
	else if (iov_eq(v, IOV_LIT("Enabled")))
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_ENABLED;
	else if (iov_eq(v, IOV_LIT("Disabled")))
		r->versioning.mfa_delete = S3_XML_MFA_DELETE_DISABLED;
	else
		return ERR_S3_MALFORMED_XML;
	return 0;
}

static int on_leaf(struct http_xml_reader *x, void *ctx, int id, struct iov v, bool cut)
{
	struct s3_xml_reader *r = ctx;
	if (id >= E_CK_FIRST && id <= E_CK_LAST)
		return http_xml_reader_keep(x, v, &cur_part(r)->checksum[id - E_CK_FIRST]);
	switch (id) {
	case E_PART_NUMBER:
		return leaf_part_number(r, v);
	case E_PART_ETAG:
		return http_xml_reader_keep(x, v, &cur_part(r)->etag);
	case E_QUIET:
		return parse_bool(v, &r->del.quiet) ? 0 : ERR_S3_MALFORMED_XML;
	case E_KEY:
		return leaf_key(x, r, v, cut);
	case E_VERSION_ID:
		return http_xml_reader_keep(x, v, &cur_object(r)->version_id);
	case E_OBJECT_ETAG:
		return http_xml_reader_keep(x, v, &cur_object(r)->etag);
	case E_LOCATION_CONSTRAINT:
		return http_xml_reader_keep(x, v, &r->create.location);
	case E_STATUS:
		return leaf_status(r, v);
	case E_MFA_DELETE:
		return leaf_mfa_delete(r, v);
	default:
		CHECK(!"a leaf without a setter");
		return ERR_S3_MALFORMED_XML;
	}
}

/* ---- containers ------------------------------------------------------------------------- */

static int on_open(struct http_xml_reader *x, void *ctx, int id)
{
	struct s3_xml_reader *r = ctx;
	(void)x;
	switch (id) {
	case E_CK_MD5:
	case E_LAST_MODIFIED_TIME:
	case E_SIZE:
	case E_LOCATION:
	case E_BUCKET:
	case E_TAGS:
		return ERR_S3_NOT_IMPLEMENTED;
	case E_PART:
		r->part_number = 0;
		return grow((void **)&r->parts, &r->nparts, &r->parts_cap, sizeof(*r->parts))
		           ? 0
		           : ERR_NOMEM;
	case E_OBJECT:
		return grow((void **)&r->objects, &r->nobjects, &r->objects_cap,
		            sizeof(*r->objects))
		           ? 0
		           : ERR_NOMEM;
	default:
		return 0;
	}
}

static int on_close(struct http_xml_reader *x, void *ctx, int id, uint64_t seen)
{
	struct s3_xml_reader *r = ctx;
	(void)x;
	if (id == E_PART) {
		if (!(seen & HTTP_XML_BIT(E_PART_NUMBER)))
			return ERR_S3_MALFORMED_XML;
		if (r->part_number <= r->last_number)
			fail_later(r, ERR_S3_INVALID_PART_ORDER, NULL);
		r->last_number = r->part_number;
	} else if (id == E_OBJECT && !(seen & HTTP_XML_BIT(E_KEY))) {
		return ERR_S3_MALFORMED_XML;
	}
	return 0;
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
	if (http_xml_reader_new(&schemas[doc], r, &r->x) != 0) {
		s3_xml_reader_free(r);
		return ERR_NOMEM;
	}
	*out = r;
	return 0;
}

void s3_xml_reader_free(struct s3_xml_reader *r)
{
	if (!r)
		return;
	CHECK_MAGIC(r, READER_MAGIC);
	http_xml_reader_free(r->x);
	free(r->parts);
	free(r->objects);
	r->magic = 0;
	free(r);
}

int s3_xml_reader_feed(struct s3_xml_reader *r, const char *p, size_t n)
{
	CHECK_MAGIC(r, READER_MAGIC);
	CHECK(!r->finished);
	if (r->err == 0)
		r->err = http_xml_reader_feed(r->x, p, n);
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
		r->create.body = http_xml_reader_fed(r->x) > 0;
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
	r->err = http_xml_reader_finish(r->x);
	if (r->err == 0)
		r->err = check_document(r);
	r->finished = r->err == 0;
	return r->err;
}

void s3_xml_reader__direct(struct s3_xml_reader *r)
{
	CHECK_MAGIC(r, READER_MAGIC);
	http_xml_reader__direct(r->x);
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
