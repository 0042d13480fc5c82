/*
 * S3 XML in and out. The writer: exact documents, every escape, caps with
 * rollback, sticky errors, misuse caught by CHECK (in a child process). The
 * readers: each body of a table is fed whole, byte by byte and in random
 * splits, and must give the same error code and the same rendered result
 * every time; then DOCTYPE / entity refusal, the body caps at and one past
 * their limits, the object and part counts, key lengths, and a writer ->
 * reader round trip of keys holding every character XML 1.0 can carry.
 * Shapes and error codes follow the S3 API reference and the PutBucketVersioning
 * behaviour measured against S3 (docs/internals/s3-xml.md).
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "s3/names.h"
#include "s3/xml_reader.h"
#include "s3/xml_writer.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define NS         "http://s3.amazonaws.com/doc/2006-03-01/"
#define DECL       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define DIRECT_MAX (64u << 10)

/* Deterministic split sizes (the C library PRNG is banned). */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* ---- writer ------------------------------------------------------------------------------ */

static void writer_document_shape(void **state)
{
	(void)state;
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 4096);
	s3_xml_writer_init(&w, &b);
	assert_int_equal(s3_xml_begin(&w, "ListBucketResult", true), 0);
	assert_int_equal(s3_xml_text(&w, "Name", IOV_LIT("bucket")), 0);
	assert_int_equal(s3_xml_bool(&w, "IsTruncated", false), 0);
	assert_int_equal(s3_xml_open(&w, "Contents"), 0);
	assert_int_equal(s3_xml_text(&w, "Key", IOV_LIT("a&b")), 0);
	assert_int_equal(s3_xml_date(&w, "LastModified", IOV_LIT("2009-10-12T17:50:30.000Z")), 0);
	assert_int_equal(s3_xml_text(&w, "ETag", IOV_LIT("\"fba9dede5f27731c9771645a39863328\"")),
	                 0);
	assert_int_equal(s3_xml_u64(&w, "Size", UINT64_C(18446744073709551615)), 0);
	assert_int_equal(s3_xml_i64(&w, "Delta", INT64_MIN), 0);
	assert_int_equal(s3_xml_close(&w, "Contents"), 0);
	assert_int_equal(s3_xml_bool(&w, "Quiet", true), 0);
	assert_int_equal(s3_xml_end(&w), 0);
	const char *want = DECL "<ListBucketResult xmlns=\"" NS "\"><Name>bucket</Name>"
	                        "<IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key>"
	                        "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
	                        "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"
	                        "<Size>18446744073709551615</Size>"
	                        "<Delta>-9223372036854775808</Delta></Contents>"
	                        "<Quiet>true</Quiet></ListBucketResult>";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
}

static void writer_root_without_namespace(void **state)
{
	(void)state;
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 256);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "Error", false);
	s3_xml_text(&w, "Code", IOV_LIT("NoSuchKey"));
	assert_int_equal(s3_xml_end(&w), 0);
	const char *want = DECL "<Error><Code>NoSuchKey</Code></Error>";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
}

struct esc_case {
	const char *in;
	size_t len;
	const char *out;
};

#define ESC(in, out)                    \
	{                               \
		in, sizeof(in) - 1, out \
	}

static const struct esc_case esc_cases[] = {
	ESC("plain", "plain"),
	ESC("", ""),
	ESC("&<>\"'", "&amp;&lt;&gt;&quot;&apos;"),
	ESC("a\tb\nc\rd", "a&#9;b&#10;c&#13;d"),
	ESC("\r\n", "&#13;&#10;"),
	ESC("\x01\x08\x0b\x0c\x1b\x1f", "&#x1;&#x8;&#xb;&#xc;&#x1b;&#x1f;"),
	ESC("\0x", "&#x0;x"),
	ESC("\x7f", "\x7f"),
	ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	ESC("\xef\xbf\xbe", "\xef\xbf\xbe"), /* U+FFFE: a noncharacter, still UTF-8 */
	ESC("]]>", "]]&gt;"),
	ESC("%2F+", "%2F+"),
};

static void writer_escapes(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(esc_cases); i++) {
		struct buf b;
		buf_init(&b, 1024);
		buf_add_str(&b, "<");
		assert_int_equal(s3_xml_escape(&b, iov_make(esc_cases[i].in, esc_cases[i].len)), 0);
		if (b.len != strlen(esc_cases[i].out) + 1 ||
		    memcmp(b.data + 1, esc_cases[i].out, b.len - 1) != 0)
			fail_msg("case %zu: got '%.*s'", i, (int)b.len - 1, b.data + 1);
		buf_free(&b);
	}
}

static const char *const not_utf8[] = {
	"\x80",         "\xc0\x80",         "\xc1\xbf",         "\xe0\x80\x80",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
	"\xc3",         "\xe2\x82",         "ok\xf0\x9f\x98",
};

static void writer_rejects_bad_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(not_utf8); i++) {
		struct buf b;
		buf_init(&b, 1024);
		buf_add_str(&b, "keep");
		assert_int_equal(s3_xml_escape(&b, iov_cstr(not_utf8[i])), ERR_INVALID);
		assert_int_equal(b.len, 4);

		struct s3_xml_writer w;
		s3_xml_writer_init(&w, &b);
		buf_reset(&b);
		s3_xml_begin(&w, "R", true);
		size_t before = b.len;
		assert_int_equal(s3_xml_text(&w, "Key", iov_cstr(not_utf8[i])), ERR_INVALID);
		assert_int_equal(b.len, before);
		assert_int_equal(s3_xml_end(&w), ERR_INVALID);
		buf_free(&b);
	}
}

/* Output over the buffer's cap: the failing call leaves nothing behind and
 * every later call reports the same error. */
static void writer_cap_is_sticky(void **state)
{
	(void)state;
	const size_t head = strlen(DECL "<R xmlns=\"" NS "\">");
	for (size_t cap = 0; cap < head + 40; cap++) {
		struct buf b;
		struct s3_xml_writer w;
		buf_init(&b, cap);
		s3_xml_writer_init(&w, &b);
		int rc1 = s3_xml_begin(&w, "R", true);
		size_t after1 = b.len;
		int rc2 = s3_xml_text(&w, "Key", IOV_LIT("a<b"));
		size_t after2 = b.len;
		int rc3 = s3_xml_end(&w);
		if (cap < head) {
			assert_int_equal(rc1, ERR_TOO_BIG);
			assert_int_equal(after1, 0);
			assert_int_equal(rc2, ERR_TOO_BIG);
			assert_int_equal(after2, 0);
		} else if (cap < head + strlen("<Key>a&lt;b</Key>")) {
			assert_int_equal(rc1, 0);
			assert_int_equal(rc2, ERR_TOO_BIG);
			assert_int_equal(after2, head);
		} else {
			assert_int_equal(rc2, 0);
		}
		if (cap >= head + strlen("<Key>a&lt;b</Key></R>"))
			assert_int_equal(rc3, 0);
		else
			assert_int_equal(rc3, ERR_TOO_BIG);
		assert_true(b.len <= cap);
		buf_free(&b);
	}
}

/* Misuse is a programming error: the process aborts. */
static void expect_abort(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		fn();
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void misuse_wrong_close(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", true);
	s3_xml_open(&w, "A");
	s3_xml_close(&w, "B");
}

static void misuse_unclosed_end(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", true);
	s3_xml_open(&w, "A");
	s3_xml_end(&w);
}

static void misuse_text_outside_root(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_text(&w, "A", IOV_LIT("x"));
}

static void misuse_second_root(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", true);
	s3_xml_end(&w);
	s3_xml_begin(&w, "R", true);
}

static void misuse_too_deep(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", true);
	for (int i = 0; i < S3_XML_MAX_DEPTH; i++)
		s3_xml_open(&w, "A");
}

static void misuse_close_root(void)
{
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, 1024);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", true);
	s3_xml_close(&w, "R");
}

static void writer_misuse_checks(void **state)
{
	(void)state;
	expect_abort(misuse_wrong_close);
	expect_abort(misuse_unclosed_end);
	expect_abort(misuse_text_outside_root);
	expect_abort(misuse_second_root);
	expect_abort(misuse_too_deep);
	expect_abort(misuse_close_root);
}

/* Nesting to the maximum depth is fine, and a sticky error does not stop the
 * nesting bookkeeping (closing still matches). */
static void writer_depth_and_sticky_nesting(void **state)
{
	(void)state;
	struct buf b;
	struct s3_xml_writer w;
	buf_init(&b, strlen(DECL) + 20);
	s3_xml_writer_init(&w, &b);
	s3_xml_begin(&w, "R", false);
	for (int i = 1; i < S3_XML_MAX_DEPTH; i++)
		s3_xml_open(&w, "A");
	for (int i = 1; i < S3_XML_MAX_DEPTH; i++)
		s3_xml_close(&w, "A");
	assert_int_equal(s3_xml_end(&w), ERR_TOO_BIG);
	assert_true(b.len <= strlen(DECL) + 20);
	buf_free(&b);
}

/* ---- readers: rendering results ---------------------------------------------------------- */

static void render_str(struct buf *o, struct iov v)
{
	if (!v.base) {
		buf_add_str(o, "-");
		return;
	}
	buf_add_char(o, '[');
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.base[i];
		if (c < 0x20 || c == '[' || c == ']' || c == '\\')
			buf_printf(o, "\\x%02x", c);
		else
			buf_add_char(o, (char)c);
	}
	buf_add_char(o, ']');
}

static void render(struct buf *o, const struct s3_xml_reader *r, enum s3_xml_doc doc)
{
	switch (doc) {
	case S3_XML_COMPLETE_MULTIPART_UPLOAD: {
		const struct s3_xml_complete *c = s3_xml_reader_complete(r);
		for (size_t i = 0; i < c->n; i++) {
			buf_printf(o, "%u:", c->parts[i].number);
			render_str(o, c->parts[i].etag);
			for (int k = 0; k < S3_XML_CHECKSUMS; k++) {
				buf_add_char(o, ',');
				render_str(o, c->parts[i].checksum[k]);
			}
			buf_add_char(o, ';');
		}
		break;
	}
	case S3_XML_DELETE: {
		const struct s3_xml_delete *d = s3_xml_reader_delete(r);
		buf_printf(o, "quiet=%d;", d->quiet);
		for (size_t i = 0; i < d->n; i++) {
			render_str(o, d->objects[i].key);
			render_str(o, d->objects[i].version_id);
			render_str(o, d->objects[i].etag);
			buf_add_char(o, ';');
		}
		break;
	}
	case S3_XML_CREATE_BUCKET_CONFIGURATION: {
		const struct s3_xml_create_bucket *c = s3_xml_reader_create_bucket(r);
		buf_printf(o, "body=%d;", c->body);
		render_str(o, c->location);
		break;
	}
	case S3_XML_VERSIONING_CONFIGURATION: {
		const struct s3_xml_versioning *v = s3_xml_reader_versioning(r);
		buf_printf(o, "status=%d;mfa=%d", (int)v->status, (int)v->mfa_delete);
		break;
	}
	}
}

enum split {
	SPLIT_WHOLE,
	SPLIT_BYTES,
	SPLIT_RANDOM,
};

/* Feed `body` split as asked; the error code, and the rendering on success,
 * into `out`. */
static int run(enum s3_xml_doc doc, const char *body, size_t len, enum split how, struct buf *out,
               const char **why)
{
	struct s3_xml_reader *r;
	assert_int_equal(s3_xml_reader_new(doc, &r), 0);
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < len) {
		size_t n = how == SPLIT_WHOLE ? len : how == SPLIT_BYTES ? 1 : 1 + rng_next() % 97;
		n = n < len - off ? n : len - off;
		rc = s3_xml_reader_feed(r, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = s3_xml_reader_finish(r);
	else
		assert_int_equal(s3_xml_reader_finish(r), rc); /* sticky */
	buf_reset(out);
	if (rc == 0)
		render(out, r, doc);
	if (why)
		*why = s3_xml_reader_why(r) ? strdup(s3_xml_reader_why(r)) : NULL;
	s3_xml_reader_free(r);
	return rc;
}

/* Every split gives the same answer; returns it. */
static int run_all(enum s3_xml_doc doc, const char *body, size_t len, struct buf *out)
{
	struct buf other;
	buf_init(&other, 1u << 24);
	int rc = run(doc, body, len, SPLIT_WHOLE, out, NULL);
	for (int k = 0; k < 6; k++) {
		enum split how = k == 0 ? SPLIT_BYTES : SPLIT_RANDOM;
		if (how == SPLIT_BYTES && len > 20000)
			continue;
		int rc2 = run(doc, body, len, how, &other, NULL);
		if (rc2 != rc || other.len != out->len ||
		    (out->len && memcmp(other.data, out->data, out->len)))
			fail_msg("split %d disagrees: %s vs %s", k, err_name(rc2), err_name(rc));
	}
	buf_free(&other);
	return rc;
}

struct body_case {
	enum s3_xml_doc doc;
	const char *body;
	int rc;
	const char *result; /* rendering on success */
};

#define CMU S3_XML_COMPLETE_MULTIPART_UPLOAD
#define DEL S3_XML_DELETE
#define CBC S3_XML_CREATE_BUCKET_CONFIGURATION
#define VER S3_XML_VERSIONING_CONFIGURATION
#define NO  "-,-,-,-,-"

static const struct body_case cases[] = {
	/* CompleteMultipartUpload, the API reference's shape */
	{ CMU,
	  "<CompleteMultipartUpload xmlns=\"" NS "\">\n"
	  "  <Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>"
	  "</Part>\n"
	  "  <Part><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag>"
	  "<PartNumber>2</PartNumber></Part>\n"
	  "</CompleteMultipartUpload>",
	  0,
	  "1:[\"a54357aff0632cce46d942af68356b38\"]," NO ";"
	  "2:[\"0c78aef83f66abc1fa1e8477f296d394\"]," NO ";" },
	{ CMU,
	  DECL "<CompleteMultipartUpload><Part><PartNumber> 7 </PartNumber><ETag>e</ETag>"
	       "<ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumCRC32C>BBBBBB==</ChecksumCRC32C>"
	       "<ChecksumCRC64NVME>CCCCCCCCCCC=</ChecksumCRC64NVME>"
	       "<ChecksumSHA1>DDDDDDDDDDDDDDDDDDDDDDDDDDD=</ChecksumSHA1>"
	       "<ChecksumSHA256>EEEE</ChecksumSHA256></Part>"
	       "<Part><PartNumber>+10000</PartNumber></Part></CompleteMultipartUpload>",
	  0,
	  "7:[e],[AAAAAA==],[BBBBBB==],[CCCCCCCCCCC=],[DDDDDDDDDDDDDDDDDDDDDDDDDDD=],[EEEE];"
	  "10000:-," NO ";" },
	{ CMU,
	  "<!-- c --><?pi x?><s3:CompleteMultipartUpload xmlns:s3=\"" NS "\"><s3:Part>"
	  "<s3:PartNumber>3</s3:PartNumber><s3:ETag><![CDATA[\"x<y\"]]></s3:ETag></s3:Part>"
	  "</s3:CompleteMultipartUpload>",
	  0, "3:[\"x<y\"]," NO ";" },
	{ CMU, "<CompleteMultipartUpload/>", ERR_S3_MALFORMED_XML, NULL },
	{ CMU, "<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber></Part>"
	  "<Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
	  ERR_S3_INVALID_PART_ORDER, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber></Part>"
	  "<Part><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>",
	  ERR_S3_INVALID_PART_ORDER, NULL },
	/* out of order, and malformed further on: the syntax error wins */
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber></Part>"
	  "<Part><PartNumber>1</PartNumber></Part><Bogus/></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber></Part></"
	  "CompleteMultipartUpload>",
	  ERR_S3_INVALID_ARGUMENT, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>-3</PartNumber></Part></"
	  "CompleteMultipartUpload>",
	  ERR_S3_INVALID_ARGUMENT, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber></Part>"
	  "</CompleteMultipartUpload>",
	  ERR_S3_INVALID_PART, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>2147483648</PartNumber></Part>"
	  "</CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>1x</PartNumber></Part></"
	  "CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber></PartNumber></Part></"
	  "CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag><ETag>b</ETag>"
	  "</Part></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ChecksumMD5>x</ChecksumMD5>"
	  "</Part></CompleteMultipartUpload>",
	  ERR_S3_NOT_IMPLEMENTED, NULL },
	{ CMU, "<CompleteMultipartUpload>text<Part/></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload><Part><PartNumber>1<b/></PartNumber></Part>"
	  "</CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload xmlns=\"http://example.com/\"><Part><PartNumber>1</PartNumber>"
	  "</Part></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU,
	  "<CompleteMultipartUpload xmlns=\"" NS
	  "\"><Part xmlns=\"urn:x\"><PartNumber>1</PartNumber>"
	  "</Part></CompleteMultipartUpload>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU, "<Delete><Object><Key>k</Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ CMU, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CMU, "<CompleteMultipartUpload/>junk", ERR_S3_MALFORMED_XML, NULL },
	{ CMU, "", ERR_S3_MISSING_REQUEST_BODY, NULL },

	/* Delete */
	{ DEL,
	  "<Delete xmlns=\"" NS "\"><Object><Key>sample1.txt</Key></Object>"
	  "<Object><Key>sample2.txt</Key><VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId>"
	  "</Object><Quiet>true</Quiet></Delete>",
	  0, "quiet=1;[sample1.txt]--;[sample2.txt][OYcLXagmS.WaD..oyH4KRguB95_YhLs7]-;" },
	{ DEL,
	  "<Delete><Quiet> 0 </Quiet><Object><Key> spaced  </Key><VersionId></VersionId>"
	  "<ETag>\"e\"</ETag></Object></Delete>",
	  0, "quiet=0;[ spaced  ][][\"e\"];" },
	{ DEL, "<Delete><Quiet>1</Quiet><Object><Key>k</Key></Object></Delete>", 0,
	  "quiet=1;[k]--;" },
	{ DEL, "<Delete><Quiet>false</Quiet><Object><Key>k</Key></Object></Delete>", 0,
	  "quiet=0;[k]--;" },
	{ DEL, "<Delete><Quiet>yes</Quiet><Object><Key>k</Key></Object></Delete>",
	  ERR_S3_MALFORMED_XML, NULL },
	/* character references and entities in keys, the object-keys page's \r example */
	{ DEL,
	  "<Delete><Object><Key>/some/prefix/objectwith&#13;carriagereturn</Key></Object>"
	  "<Object><Key>a&amp;b&lt;c&gt;d&quot;e&apos;f</Key></Object>"
	  "<Object><Key>tab&#x9;lf&#10;&#x1F600;caf\xc3\xa9</Key></Object>"
	  "<Object><Key>crlf\r\nraw\rcr</Key></Object></Delete>",
	  0,
	  "quiet=0;[/some/prefix/objectwith\\x0dcarriagereturn]--;[a&b<c>d\"e'f]--;"
	  "[tab\\x09lf\\x0a\xf0\x9f\x98\x80"
	  "caf\xc3\xa9]--;[crlf\\x0araw\\x0acr]--;" },
	{ DEL, "<Delete><Object><Key>&#1;</Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><Key>&#0;</Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><Key>&foo;</Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><Key>\xff</Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><Key></Key></Object></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><VersionId>v</VersionId></Object></Delete>", ERR_S3_MALFORMED_XML,
	  NULL },
	{ DEL, "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>", ERR_S3_MALFORMED_XML,
	  NULL },
	{ DEL,
	  "<Delete><Quiet>true</Quiet><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Quiet>true</Quiet></Delete>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete/>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "<Delete><Object><Key>a</Key><Size>3</Size></Object></Delete>",
	  ERR_S3_NOT_IMPLEMENTED, NULL },
	{ DEL,
	  "<Delete><Object><Key>a</Key><LastModifiedTime>2024-01-01T00:00:00Z</LastModifiedTime>"
	  "</Object></Delete>",
	  ERR_S3_NOT_IMPLEMENTED, NULL },
	{ DEL, "<Delete><Object><Key>a</Key><Extra/></Object></Delete>", ERR_S3_MALFORMED_XML,
	  NULL },
	{ DEL, "<Object><Key>a</Key></Object>", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, " ", ERR_S3_MALFORMED_XML, NULL },
	{ DEL, "", ERR_S3_MISSING_REQUEST_BODY, NULL },
	/* a declared encoding other than UTF-8 is honoured; results are UTF-8 */
	{ DEL,
	  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Delete><Object><Key>caf\xe9</Key>"
	  "</Object></Delete>",
	  0, "quiet=0;[caf\xc3\xa9]--;" },

	/* CreateBucketConfiguration */
	{ CBC, "", 0, "body=0;-" },
	{ CBC, "<CreateBucketConfiguration/>", 0, "body=1;-" },
	{ CBC,
	  "<CreateBucketConfiguration xmlns=\"" NS "\">"
	  "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
	  0, "body=1;[eu-west-1]" },
	{ CBC, "<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>", 0,
	  "body=1;[]" },
	{ CBC,
	  "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
	  "<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ CBC,
	  "<CreateBucketConfiguration><Location><Name>usw2-az1</Name><Type>AvailabilityZone</Type>"
	  "</Location></CreateBucketConfiguration>",
	  ERR_S3_NOT_IMPLEMENTED, NULL },
	{ CBC,
	  "<CreateBucketConfiguration><Tags><Tag><Key>k</Key><Value>v</Value></Tag></Tags>"
	  "</CreateBucketConfiguration>",
	  ERR_S3_NOT_IMPLEMENTED, NULL },
	{ CBC, "\n", ERR_S3_MALFORMED_XML, NULL },

	/* VersioningConfiguration, as measured against S3 */
	{ VER,
	  "<VersioningConfiguration xmlns=\"" NS "\"><Status>Enabled</Status>"
	  "<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>",
	  0, "status=1;mfa=1" },
	{ VER, "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>", 0,
	  "status=2;mfa=0" },
	{ VER,
	  "<VersioningConfiguration><MfaDelete>Enabled</MfaDelete><Status>Enabled</Status>"
	  "</VersioningConfiguration>",
	  0, "status=1;mfa=2" },
	{ VER,
	  "<VersioningConfiguration><Status>Enabled</Status><MfaDelete></MfaDelete>"
	  "</VersioningConfiguration>",
	  0, "status=1;mfa=0" },
	{ VER, "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER, "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER, "<VersioningConfiguration><Status> Enabled </Status></VersioningConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER,
	  "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>disabled</MfaDelete>"
	  "</VersioningConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER, "<VersioningConfiguration><Status></Status></VersioningConfiguration>",
	  ERR_S3_ILLEGAL_VERSIONING_CONFIGURATION, NULL },
	{ VER, "<VersioningConfiguration/>", ERR_S3_ILLEGAL_VERSIONING_CONFIGURATION, NULL },
	{ VER,
	  "<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status>"
	  "</VersioningConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER, "<VersioningConfiguration><Foo/></VersioningConfiguration>", ERR_S3_MALFORMED_XML,
	  NULL },
	{ VER,
	  "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>wrongxml",
	  ERR_S3_MALFORMED_XML, NULL },
	{ VER, "", ERR_S3_MISSING_REQUEST_BODY, NULL },
	{ VER, "\x01\x02\x03", ERR_S3_MALFORMED_XML, NULL },
};

static void reader_table(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 1u << 24);
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		rng_state = 0x9E3779B97F4A7C15ull + i;
		int rc = run_all(cases[i].doc, cases[i].body, strlen(cases[i].body), &out);
		if (rc != cases[i].rc)
			fail_msg("case %zu: got %s, want %s", i, err_name(rc),
			         err_name(cases[i].rc));
		if (rc == 0 && (out.len != strlen(cases[i].result) ||
		                memcmp(out.data, cases[i].result, out.len) != 0))
			fail_msg("case %zu: got '%.*s'\nwant '%s'", i, (int)out.len, out.data,
			         cases[i].result);
	}
	buf_free(&out);
}

static void reader_why(void **state)
{
	(void)state;
	struct buf out;
	const char *why = NULL;
	const char *zero = "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber></Part></"
	                   "CompleteMultipartUpload>";
	buf_init(&out, 4096);
	assert_int_equal(run(CMU, zero, strlen(zero), SPLIT_WHOLE, &out, &why),
	                 ERR_S3_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_string_equal(why, "Part number must be an integer between 1 and 10000, inclusive");
	free((void *)why);
	const char *bad = "<Delete/>";
	assert_int_equal(run(DEL, bad, strlen(bad), SPLIT_WHOLE, &out, &why), ERR_S3_MALFORMED_XML);
	assert_null(why);
	buf_free(&out);
}

/* ---- readers: DTDs and entities ----------------------------------------------------------- */

static const char *const dtd_bodies[] = {
	/* billion laughs */
	"<?xml version=\"1.0\"?><!DOCTYPE Delete [<!ENTITY a \"aaaaaaaaaa\">"
	"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
	"\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
	"<Delete><Object><Key>&d;</Key></Object></Delete>",
	/* external entity */
	"<!DOCTYPE Delete [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	"<Delete><Object><Key>&x;</Key></Object></Delete>",
	/* a DOCTYPE with nothing in it */
	"<!DOCTYPE Delete><Delete><Object><Key>k</Key></Object></Delete>",
	/* an external DTD */
	"<!DOCTYPE Delete SYSTEM \"http://example.com/x.dtd\">"
	"<Delete><Object><Key>k</Key></Object></Delete>",
	/* parameter entities */
	"<!DOCTYPE Delete [<!ENTITY % p \"<!ENTITY q 'x'>\"> %p;]>"
	"<Delete><Object><Key>&q;</Key></Object></Delete>",
};

static void reader_refuses_dtd(void **state)
{
	(void)state;
	struct buf out;
	buf_init(&out, 1u << 24);
	for (size_t i = 0; i < N_ELEMS(dtd_bodies); i++) {
		rng_state = 77 + i;
		int rc = run_all(DEL, dtd_bodies[i], strlen(dtd_bodies[i]), &out);
		if (rc != ERR_S3_MALFORMED_XML)
			fail_msg("dtd %zu: got %s", i, err_name(rc));
	}
	buf_free(&out);
}

/* ---- readers: caps ----------------------------------------------------------------------- */

/* A Delete document of exactly `total` bytes, padded with a comment. */
static void padded_delete(struct buf *b, size_t total)
{
	static const char head[] = "<Delete><Object><Key>k</Key></Object><!--";
	static const char tail[] = "--></Delete>";
	buf_reset(b);
	assert_true(total >= sizeof(head) + sizeof(tail));
	buf_add_str(b, head);
	while (b->len < total - (sizeof(tail) - 1))
		buf_add_char(b, 'x');
	buf_add_str(b, tail);
	assert_int_equal(b->len, total);
}

static void reader_body_cap(void **state)
{
	(void)state;
	struct buf body, out;
	buf_init(&body, S3_XML_DELETE_MAX + 16);
	buf_init(&out, 4096);
	rng_state = 5;

	padded_delete(&body, S3_XML_DELETE_MAX);
	assert_int_equal(run_all(DEL, body.data, body.len, &out), 0);
	padded_delete(&body, S3_XML_DELETE_MAX + 1);
	assert_int_equal(run_all(DEL, body.data, body.len, &out),
	                 ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED);

	/* malformed before the cap: that is what S3 reports */
	padded_delete(&body, S3_XML_DELETE_MAX + 1);
	body.data[1] = '!';
	assert_int_equal(run(DEL, body.data, body.len, SPLIT_WHOLE, &out, NULL),
	                 ERR_S3_MALFORMED_XML);

	/* the configurations have a smaller cap */
	buf_reset(&body);
	buf_add_str(&body, "<VersioningConfiguration><Status>Enabled</Status><!--");
	while (body.len < S3_XML_CONFIG_MAX)
		buf_add_char(&body, 'x');
	buf_add_str(&body, "--></VersioningConfiguration>");
	assert_int_equal(run(VER, body.data, body.len, SPLIT_RANDOM, &out, NULL),
	                 ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED);
	buf_free(&body);
	buf_free(&out);
}

static void delete_with(struct buf *b, size_t objects, size_t key_len)
{
	buf_reset(b);
	buf_add_str(b, "<Delete xmlns=\"" NS "\">");
	for (size_t i = 0; i < objects; i++) {
		buf_add_str(b, "<Object><Key>");
		buf_printf(b, "%08zu", i);
		for (size_t k = 8; k < key_len; k++)
			buf_add_char(b, "ab/"[k % 3]);
		buf_add_str(b, "</Key><VersionId>3/"
		               "L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
		               "</VersionId></Object>");
	}
	buf_add_str(b, "</Delete>");
}

static void reader_delete_counts_and_key_length(void **state)
{
	(void)state;
	struct buf body, out;
	struct s3_xml_reader *r;
	buf_init(&body, S3_XML_DELETE_MAX);
	buf_init(&out, 1u << 24);
	rng_state = 11;

	/* 1000 keys of the longest length S3 allows fit under the cap */
	delete_with(&body, S3_XML_MAX_OBJECTS, S3_KEY_MAX);
	assert_int_equal(s3_xml_reader_new(DEL, &r), 0);
	assert_int_equal(s3_xml_reader_feed(r, body.data, body.len), 0);
	assert_int_equal(s3_xml_reader_finish(r), 0);
	const struct s3_xml_delete *d = s3_xml_reader_delete(r);
	assert_int_equal(d->n, S3_XML_MAX_OBJECTS);
	for (size_t i = 0; i < d->n; i++) {
		char want[24];
		snprintf(want, sizeof(want), "%08zu", i);
		assert_int_equal(d->objects[i].key.len, S3_KEY_MAX);
		assert_memory_equal(d->objects[i].key.base, want, 8);
		assert_int_equal(d->objects[i].version_id.len, 64);
	}
	s3_xml_reader_free(r);
	assert_int_equal(run_all(DEL, body.data, body.len, &out), 0);

	delete_with(&body, S3_XML_MAX_OBJECTS + 1, 10);
	assert_int_equal(run_all(DEL, body.data, body.len, &out), ERR_S3_MALFORMED_XML);

	delete_with(&body, 3, S3_KEY_MAX + 1);
	assert_int_equal(run_all(DEL, body.data, body.len, &out), ERR_S3_KEY_TOO_LONG);

	/* a key of 1024 bytes written with character references is 1024 bytes */
	buf_reset(&body);
	buf_add_str(&body, "<Delete><Object><Key>");
	for (size_t i = 0; i < S3_KEY_MAX / 4; i++)
		buf_add_str(&body, "&#x1F600;");
	buf_add_str(&body, "</Key></Object></Delete>");
	assert_int_equal(run_all(DEL, body.data, body.len, &out), 0);
	buf_reset(&body);
	buf_add_str(&body, "<Delete><Object><Key>x");
	for (size_t i = 0; i < S3_KEY_MAX / 4; i++)
		buf_add_str(&body, "&#x1F600;");
	buf_add_str(&body, "</Key></Object></Delete>");
	assert_int_equal(run_all(DEL, body.data, body.len, &out), ERR_S3_KEY_TOO_LONG);

	/* a VersionId over its cap is not valid input */
	buf_reset(&body);
	buf_add_str(&body, "<Delete><Object><Key>k</Key><VersionId>");
	for (size_t i = 0; i < 1025; i++)
		buf_add_char(&body, 'v');
	buf_add_str(&body, "</VersionId></Object></Delete>");
	assert_int_equal(run_all(DEL, body.data, body.len, &out), ERR_S3_MALFORMED_XML);
	buf_free(&body);
	buf_free(&out);
}

static void complete_with(struct buf *b, size_t parts)
{
	buf_reset(b);
	buf_add_str(b, "<CompleteMultipartUpload xmlns=\"" NS "\">\n");
	for (size_t i = 1; i <= parts; i++)
		buf_printf(b,
		           "  <Part>\n    <PartNumber>%zu</PartNumber>\n"
		           "    <ETag>\"%032zx\"</ETag>\n"
		           "    "
		           "<ChecksumSHA256>n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=</"
		           "ChecksumSHA256>\n"
		           "  </Part>\n",
		           i, i);
	buf_add_str(b, "</CompleteMultipartUpload>\n");
}

static void reader_complete_counts(void **state)
{
	(void)state;
	struct buf body, out;
	struct s3_xml_reader *r;
	buf_init(&body, S3_XML_COMPLETE_MAX);
	buf_init(&out, 1u << 24);
	rng_state = 13;

	complete_with(&body, S3_XML_MAX_PARTS);
	assert_true(body.len < S3_XML_COMPLETE_MAX);
	assert_int_equal(s3_xml_reader_new(CMU, &r), 0);
	for (size_t off = 0; off < body.len; off += 4096)
		assert_int_equal(s3_xml_reader_feed(r, body.data + off,
		                                    body.len - off < 4096 ? body.len - off : 4096),
		                 0);
	assert_int_equal(s3_xml_reader_finish(r), 0);
	const struct s3_xml_complete *c = s3_xml_reader_complete(r);
	assert_int_equal(c->n, S3_XML_MAX_PARTS);
	for (size_t i = 0; i < c->n; i++) {
		char want[40];
		snprintf(want, sizeof(want), "\"%032zx\"", i + 1);
		assert_int_equal(c->parts[i].number, i + 1);
		assert_int_equal(c->parts[i].etag.len, 34);
		assert_memory_equal(c->parts[i].etag.base, want, 34);
		assert_int_equal(c->parts[i].checksum[CHECKSUM_SHA256].len, 44);
		assert_null(c->parts[i].checksum[CHECKSUM_CRC32].base);
	}
	s3_xml_reader_free(r);

	complete_with(&body, S3_XML_MAX_PARTS + 1);
	assert_int_equal(run(CMU, body.data, body.len, SPLIT_RANDOM, &out, NULL),
	                 ERR_S3_MALFORMED_XML);
	buf_free(&body);
	buf_free(&out);
}

/* One huge token (a comment as big as the cap) fed in small pieces: expat
 * 2.5 would rescan it on every call, O(n^2), minutes for 4 MiB; the reader's
 * deferral keeps it linear. The bound is generous on purpose. */
static void reader_huge_token_is_linear(void **state)
{
	(void)state;
	struct buf body;
	struct timespec t0, t1;
	buf_init(&body, S3_XML_COMPLETE_MAX);
	buf_add_str(&body, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part><!--");
	while (body.len < S3_XML_COMPLETE_MAX - 64)
		buf_add_char(&body, 'x');
	buf_add_str(&body, "--></CompleteMultipartUpload>");

	struct s3_xml_reader *r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(s3_xml_reader_new(CMU, &r), 0);
	for (size_t off = 0; off < body.len; off += 100)
		assert_int_equal(s3_xml_reader_feed(r, body.data + off,
		                                    body.len - off < 100 ? body.len - off : 100),
		                 0);
	assert_int_equal(s3_xml_reader_finish(r), 0);
	assert_int_equal(s3_xml_reader_complete(r)->n, 1);
	s3_xml_reader_free(r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (secs > 5.0)
		fail_msg("a 4 MiB comment in 100-byte pieces took %.1f s", secs);
	buf_free(&body);
}

/* ---- writer -> reader round trip --------------------------------------------------------- */

static void round_trip_keys(void **state)
{
	(void)state;
	static const char *const keys[] = {
		"a&b<c>d\"e'f",           "cr\rlf\ncrlf\r\ntab\t",
		" leading and trailing ", "\xf0\x9f\x98\x80/\xe2\x82\xac/caf\xc3\xa9/\xef\xbf\xbd",
		"]]>&#13;&amp;",          "\x7f\xc2\x80\xc2\x9f",
	};
	struct buf doc, out;
	struct s3_xml_writer w;
	buf_init(&doc, 1u << 16);
	buf_init(&out, 1u << 16);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "Delete", true);
	for (size_t i = 0; i < N_ELEMS(keys); i++) {
		s3_xml_open(&w, "Object");
		s3_xml_text(&w, "Key", iov_cstr(keys[i]));
		s3_xml_close(&w, "Object");
	}
	assert_int_equal(s3_xml_end(&w), 0);

	struct s3_xml_reader *r;
	assert_int_equal(s3_xml_reader_new(DEL, &r), 0);
	assert_int_equal(s3_xml_reader_feed(r, doc.data, doc.len), 0);
	assert_int_equal(s3_xml_reader_finish(r), 0);
	const struct s3_xml_delete *d = s3_xml_reader_delete(r);
	assert_int_equal(d->n, N_ELEMS(keys));
	for (size_t i = 0; i < N_ELEMS(keys); i++) {
		assert_int_equal(d->objects[i].key.len, strlen(keys[i]));
		assert_memory_equal(d->objects[i].key.base, keys[i], strlen(keys[i]));
	}
	s3_xml_reader_free(r);

	/* a key XML 1.0 cannot carry: written as S3 does, refused on the way back */
	buf_reset(&doc);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "Delete", true);
	s3_xml_open(&w, "Object");
	s3_xml_text(&w, "Key", IOV_LIT("bell\x07"));
	s3_xml_close(&w, "Object");
	assert_int_equal(s3_xml_end(&w), 0);
	assert_non_null(memmem(doc.data, doc.len, "<Key>bell&#x7;</Key>", 20));
	assert_int_equal(run(DEL, doc.data, doc.len, SPLIT_WHOLE, &out, NULL),
	                 ERR_S3_MALFORMED_XML);

	/* the same key under encoding-type=url survives */
	struct buf enc;
	buf_init(&enc, 256);
	assert_int_equal(s3_names_url_encode(&enc, IOV_LIT("bell\x07")), 0);
	buf_reset(&doc);
	s3_xml_writer_init(&w, &doc);
	s3_xml_begin(&w, "Delete", true);
	s3_xml_open(&w, "Object");
	s3_xml_text(&w, "Key", buf_iov(&enc));
	s3_xml_close(&w, "Object");
	assert_int_equal(s3_xml_end(&w), 0);
	assert_int_equal(run(DEL, doc.data, doc.len, SPLIT_WHOLE, &out, NULL), 0);
	assert_string_equal(buf_cstr(&out), "quiet=0;[bell%07]--;");
	buf_free(&enc);
	buf_free(&doc);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writer_document_shape),
		cmocka_unit_test(writer_root_without_namespace),
		cmocka_unit_test(writer_escapes),
		cmocka_unit_test(writer_rejects_bad_utf8),
		cmocka_unit_test(writer_cap_is_sticky),
		cmocka_unit_test(writer_misuse_checks),
		cmocka_unit_test(writer_depth_and_sticky_nesting),
		cmocka_unit_test(reader_table),
		cmocka_unit_test(reader_why),
		cmocka_unit_test(reader_refuses_dtd),
		cmocka_unit_test(reader_body_cap),
		cmocka_unit_test(reader_delete_counts_and_key_length),
		cmocka_unit_test(reader_complete_counts),
		cmocka_unit_test(reader_huge_token_is_linear),
		cmocka_unit_test(round_trip_keys),
	};
	return cmocka_run_group_tests_name("test_s3_xml", tests, NULL, NULL);
}
