/*
 * libFuzzer: the S3 request-body readers and the XML writer. The first byte
 * picks the document (bits 0-1), whether pieces go straight to expat or
 * through the reader's deferral (bit 2) and the piece size (bits 3-7); the
 * rest is the body. Every answer must be one of the documented codes, and a
 * successful parse must satisfy the result's contract and survive a trip
 * through the writer and back unchanged. Finally the body itself, as a key,
 * goes through the writer's escaping and must parse back to itself.
 */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "s3/names.h"
#include "s3/utf8.h"
#include "s3/xml_reader.h"
#include "s3/xml_writer.h"

static const char *const checksum_names[S3_XML_CHECKSUMS] = {
	[CHECKSUM_CRC32] = "ChecksumCRC32",         [CHECKSUM_CRC32C] = "ChecksumCRC32C",
	[CHECKSUM_CRC64NVME] = "ChecksumCRC64NVME", [CHECKSUM_SHA1] = "ChecksumSHA1",
	[CHECKSUM_SHA256] = "ChecksumSHA256",
};

static bool known_error(int rc)
{
	return rc == ERR_S3_MALFORMED_XML || rc == ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED ||
	       rc == ERR_S3_NOT_IMPLEMENTED || rc == ERR_S3_MISSING_REQUEST_BODY ||
	       rc == ERR_S3_KEY_TOO_LONG || rc == ERR_S3_INVALID_PART_ORDER ||
	       rc == ERR_S3_INVALID_ARGUMENT || rc == ERR_S3_INVALID_PART ||
	       rc == ERR_S3_ILLEGAL_VERSIONING_CONFIGURATION;
}

static struct s3_xml_reader *parse(enum s3_xml_doc doc, const char *p, size_t n, size_t split,
                                   bool direct, int *rc)
{
	struct s3_xml_reader *r;
	CHECK(s3_xml_reader_new(doc, &r) == 0);
	if (direct)
		s3_xml_reader__direct(r);
	*rc = 0;
	for (size_t off = 0; *rc == 0 && off < n; off += split)
		*rc = s3_xml_reader_feed(r, p + off, n - off < split ? n - off : split);
	if (*rc == 0)
		*rc = s3_xml_reader_finish(r);
	else
		CHECK(s3_xml_reader_finish(r) == *rc);
	CHECK(*rc == 0 || known_error(*rc));
	return r;
}

static void opt_text(struct s3_xml_writer *w, const char *name, struct iov v)
{
	if (v.base)
		CHECK(s3_xml_text(w, name, v) == 0);
}

static bool same(struct iov a, struct iov b)
{
	return (a.base == NULL) == (b.base == NULL) && iov_eq(a, b);
}

static void check_delete(const struct s3_xml_reader *r)
{
	const struct s3_xml_delete *d = s3_xml_reader_delete(r);
	struct buf doc;
	struct s3_xml_writer w;
	CHECK(d->n >= 1 && d->n <= S3_XML_MAX_OBJECTS);
	buf_init(&doc, 2 * S3_XML_DELETE_MAX);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "Delete", true);
	s3_xml_bool(&w, "Quiet", d->quiet);
	for (size_t i = 0; i < d->n; i++) {
		const struct s3_xml_object *o = &d->objects[i];
		CHECK(s3_names_key_valid(o->key) == 0);
		s3_xml_open(&w, "Object");
		CHECK(s3_xml_text(&w, "Key", o->key) == 0);
		opt_text(&w, "VersionId", o->version_id);
		opt_text(&w, "ETag", o->etag);
		s3_xml_close(&w, "Object");
	}
	CHECK(s3_xml_end(&w) == 0);

	int rc;
	struct s3_xml_reader *again = parse(S3_XML_DELETE, doc.data, doc.len, doc.len, false, &rc);
	CHECK(rc == 0);
	const struct s3_xml_delete *d2 = s3_xml_reader_delete(again);
	CHECK(d2->n == d->n && d2->quiet == d->quiet);
	for (size_t i = 0; i < d->n; i++) {
		CHECK(same(d2->objects[i].key, d->objects[i].key));
		CHECK(same(d2->objects[i].version_id, d->objects[i].version_id));
		CHECK(same(d2->objects[i].etag, d->objects[i].etag));
	}
	s3_xml_reader_free(again);
	buf_free(&doc);
}

static void check_complete(const struct s3_xml_reader *r)
{
	const struct s3_xml_complete *c = s3_xml_reader_complete(r);
	struct buf doc;
	struct s3_xml_writer w;
	CHECK(c->n >= 1 && c->n <= S3_XML_MAX_PARTS);
	buf_init(&doc, 2 * S3_XML_COMPLETE_MAX);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "CompleteMultipartUpload", true);
	for (size_t i = 0; i < c->n; i++) {
		const struct s3_xml_part *p = &c->parts[i];
		CHECK(p->number >= 1 && p->number <= S3_XML_MAX_PARTS);
		CHECK(i == 0 || p->number > c->parts[i - 1].number);
		s3_xml_open(&w, "Part");
		s3_xml_u64(&w, "PartNumber", p->number);
		opt_text(&w, "ETag", p->etag);
		for (int k = 0; k < S3_XML_CHECKSUMS; k++)
			opt_text(&w, checksum_names[k], p->checksum[k]);
		s3_xml_close(&w, "Part");
	}
	CHECK(s3_xml_end(&w) == 0);

	int rc;
	struct s3_xml_reader *again =
	    parse(S3_XML_COMPLETE_MULTIPART_UPLOAD, doc.data, doc.len, doc.len, false, &rc);
	CHECK(rc == 0);
	const struct s3_xml_complete *c2 = s3_xml_reader_complete(again);
	CHECK(c2->n == c->n);
	for (size_t i = 0; i < c->n; i++) {
		CHECK(c2->parts[i].number == c->parts[i].number);
		CHECK(same(c2->parts[i].etag, c->parts[i].etag));
		for (int k = 0; k < S3_XML_CHECKSUMS; k++)
			CHECK(same(c2->parts[i].checksum[k], c->parts[i].checksum[k]));
	}
	s3_xml_reader_free(again);
	buf_free(&doc);
}

static void check_result(enum s3_xml_doc doc, const struct s3_xml_reader *r)
{
	switch (doc) {
	case S3_XML_COMPLETE_MULTIPART_UPLOAD:
		check_complete(r);
		break;
	case S3_XML_DELETE:
		check_delete(r);
		break;
	case S3_XML_CREATE_BUCKET_CONFIGURATION: {
		const struct s3_xml_create_bucket *c = s3_xml_reader_create_bucket(r);
		CHECK(c->body || !c->location.base);
		CHECK(!c->location.base || s3_utf8_valid(c->location));
		break;
	}
	case S3_XML_VERSIONING_CONFIGURATION: {
		const struct s3_xml_versioning *v = s3_xml_reader_versioning(r);
		CHECK(v->status == S3_XML_STATUS_ENABLED || v->status == S3_XML_STATUS_SUSPENDED);
		CHECK(v->mfa_delete <= S3_XML_MFA_DELETE_ENABLED);
		break;
	}
	}
}

/* The body as one key: escaped by the writer, it parses back to itself when
 * XML 1.0 can carry it (no C0 control but TAB, LF, CR). */
static void check_escape(const char *p, size_t n)
{
	struct buf doc;
	struct s3_xml_writer w;
	struct iov key = iov_make(p, n);
	bool carriable = s3_names_key_valid(key) == 0;
	for (size_t i = 0; carriable && i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		carriable = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
	}
	/* U+FFFE and U+FFFF are UTF-8 but not XML characters */
	carriable =
	    carriable && !memmem(p, n, "\xef\xbf\xbe", 3) && !memmem(p, n, "\xef\xbf\xbf", 3);

	buf_init(&doc, 16 * n + 256);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "Delete", false);
	s3_xml_open(&w, "Object");
	s3_xml_text(&w, "Key", key);
	s3_xml_close(&w, "Object");
	int wrc = s3_xml_end(&w);
	CHECK(wrc == 0 || wrc == ERR_INVALID);
	CHECK((wrc == 0) == s3_utf8_valid(key));
	if (carriable) {
		int rc;
		struct s3_xml_reader *r = parse(S3_XML_DELETE, doc.data, doc.len, 7, true, &rc);
		CHECK(rc == 0);
		const struct s3_xml_delete *d = s3_xml_reader_delete(r);
		CHECK(d->n == 1 && iov_eq(d->objects[0].key, key));
		s3_xml_reader_free(r);
	}
	buf_free(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum s3_xml_doc doc = (enum s3_xml_doc)(data[0] & 3);
	bool direct = data[0] & 4;
	size_t split = (size_t)(data[0] >> 3) + 1;
	const char *body = (const char *)data + 1;
	size_t n = size - 1;

	int rc;
	struct s3_xml_reader *r = parse(doc, body, n, split, direct, &rc);
	if (rc == 0)
		check_result(doc, r);
	s3_xml_reader_free(r);

	/* The answer does not depend on how the body was split. */
	int rc_whole;
	r = parse(doc, body, n, n ? n : 1, false, &rc_whole);
	CHECK(rc_whole == rc);
	s3_xml_reader_free(r);

	if (n <= S3_KEY_MAX)
		check_escape(body, n);
	return 0;
}
