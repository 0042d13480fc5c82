/* Streaming XML writer for S3 responses. One owner thread per writer. */
#include "s3/xml_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"

void s3_xml_writer_init(struct s3_xml_writer *w, struct buf *out)
{
	CHECK(out != NULL);
	*w = (struct s3_xml_writer){ .out = out };
}

int s3_xml_escape(struct buf *out, struct iov text)
{
	return http_xml_escape(out, text, HTTP_XML_C0_HEX);
}

/* Common entry: stop on a sticky error, remember where to roll back to. */
static bool start(struct s3_xml_writer *w, size_t *mark)
{
	*mark = w->out->len;
	return w->err == 0;
}

static int finish(struct s3_xml_writer *w, size_t mark, int rc)
{
	if (rc) {
		w->out->len = mark;
		w->err = rc;
	}
	return rc;
}

static int tag(struct buf *b, const char *open, const char *name)
{
	int rc = buf_add_str(b, open);
	if (rc == 0)
		rc = buf_add_str(b, name);
	return rc ? rc : buf_add_char(b, '>');
}

int s3_xml_begin(struct s3_xml_writer *w, const char *root, bool with_ns)
{
	size_t mark;
	CHECK(root && root[0] && w->depth == 0 && !w->root_done);
	w->stack[w->depth++] = root;
	if (!start(w, &mark))
		return w->err;
	int rc = buf_add_str(w->out, S3_XML_DECL "<");
	if (rc == 0)
		rc = buf_add_str(w->out, root);
	if (rc == 0 && with_ns)
		rc = buf_add_str(w->out, " xmlns=\"" S3_XML_NS "\"");
	if (rc == 0)
		rc = buf_add_char(w->out, '>');
	return finish(w, mark, rc);
}

int s3_xml_open(struct s3_xml_writer *w, const char *name)
{
	size_t mark;
	CHECK(name && name[0] && w->depth > 0 && w->depth < S3_XML_MAX_DEPTH);
	w->stack[w->depth++] = name;
	if (!start(w, &mark))
		return w->err;
	return finish(w, mark, tag(w->out, "<", name));
}

int s3_xml_close(struct s3_xml_writer *w, const char *name)
{
	size_t mark;
	CHECK(w->depth > 1 && strcmp(w->stack[w->depth - 1], name) == 0);
	w->depth--;
	if (!start(w, &mark))
		return w->err;
	return finish(w, mark, tag(w->out, "</", name));
}

int s3_xml_end(struct s3_xml_writer *w)
{
	size_t mark;
	CHECK(w->depth == 1 && !w->root_done);
	w->depth = 0;
	w->root_done = true;
	if (!start(w, &mark))
		return w->err;
	return finish(w, mark, tag(w->out, "</", w->stack[0]));
}

int s3_xml_text(struct s3_xml_writer *w, const char *name, struct iov value)
{
	size_t mark;
	CHECK(name && name[0] && w->depth > 0);
	if (!start(w, &mark))
		return w->err;
	int rc = tag(w->out, "<", name);
	if (rc == 0)
		rc = s3_xml_escape(w->out, value);
	if (rc == 0)
		rc = tag(w->out, "</", name);
	return finish(w, mark, rc);
}

int s3_xml_u64(struct s3_xml_writer *w, const char *name, uint64_t value)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, value);
	return s3_xml_text(w, name, iov_make(tmp, (size_t)n));
}

int s3_xml_i64(struct s3_xml_writer *w, const char *name, int64_t value)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, value);
	return s3_xml_text(w, name, iov_make(tmp, (size_t)n));
}

int s3_xml_bool(struct s3_xml_writer *w, const char *name, bool value)
{
	return s3_xml_text(w, name, value ? IOV_LIT("true") : IOV_LIT("false"));
}

int s3_xml_date(struct s3_xml_writer *w, const char *name, struct iov iso8601)
{
	return s3_xml_text(w, name, iso8601);
}
