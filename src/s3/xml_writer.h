/*
 * A small streaming writer for S3 response documents into a capped buffer
 * (docs/internals/s3-xml.md). One writer per document, on the thread that
 * owns the buffer.
 *
 * Shape: s3_xml_begin() writes the declaration and opens the root (with the
 * S3 namespace or, for <Error>, without); elements nest with s3_xml_open()
 * and s3_xml_close(); leaves are written whole by s3_xml_text() and friends;
 * s3_xml_end() closes the root. Element names are literals from our own code
 * and are written as given; misuse (closing the wrong element, a second root,
 * nesting deeper than S3_XML_MAX_DEPTH, text outside the root) is a CHECK.
 *
 * Errors are sticky: the first failure (ERR_TOO_BIG when the buffer's cap is
 * reached, ERR_NOMEM, ERR_INVALID for text that is not UTF-8) is returned by
 * that call and by every later one, nothing more is written, and the buffer
 * is left as it was before the failing call. So a caller may write a whole
 * document and look only at s3_xml_end()'s result.
 *
 * Text escaping: & < > " ' become &amp; &lt; &gt; &quot; &apos;; TAB, LF and
 * CR become &#9; &#10; &#13; (legal XML 1.0, and they survive end-of-line
 * normalisation); the other C0 controls (U+0000..U+001F) have no XML 1.0
 * form at all: like S3 we write them as &#xN; (lowercase hex, XML 1.1 style),
 * so a client sees the bytes S3 would send. A client that cannot parse those
 * asks for encoding-type=url, and the caller URL-encodes the key
 * (s3_names_url_encode) before handing it here. Everything else is copied.
 */
#ifndef MERIDIAN_S3_XML_WRITER_H
#define MERIDIAN_S3_XML_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define S3_XML_NS        "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_XML_DECL      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_XML_MAX_DEPTH 8

struct s3_xml_writer {
	struct buf *out; /* borrowed */
	const char *stack[S3_XML_MAX_DEPTH];
	size_t depth;
	bool root_done;
	int err; /* first failure, sticky */
};

/* Start a writer appending to `out` (borrowed; must outlive the writer). */
void s3_xml_writer_init(struct s3_xml_writer *w, struct buf *out);

/* Declaration, then <root> (with xmlns=S3_XML_NS when `with_ns`). Once. */
int s3_xml_begin(struct s3_xml_writer *w, const char *root, bool with_ns);
/* Close the root; CHECKs every other element was closed. Returns the sticky
 * result of the whole document. */
int s3_xml_end(struct s3_xml_writer *w);

/* Open / close a nested element. `name` must match the innermost open one. */
int s3_xml_open(struct s3_xml_writer *w, const char *name);
int s3_xml_close(struct s3_xml_writer *w, const char *name);

/* Leaves: <name>value</name>. */
int s3_xml_text(struct s3_xml_writer *w, const char *name, struct iov value);
int s3_xml_u64(struct s3_xml_writer *w, const char *name, uint64_t value);
int s3_xml_i64(struct s3_xml_writer *w, const char *name, int64_t value);
int s3_xml_bool(struct s3_xml_writer *w, const char *name, bool value);
/* A date already formatted by the caller (S3 writes 2006-02-03T16:45:09.000Z). */
int s3_xml_date(struct s3_xml_writer *w, const char *name, struct iov iso8601);

/* Append `text` escaped as above. 0, ERR_INVALID (not UTF-8), ERR_TOO_BIG or
 * ERR_NOMEM; on error `out` is unchanged. */
int s3_xml_escape(struct buf *out, struct iov text);

#endif
