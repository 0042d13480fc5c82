/* S3 error documents over the ERR_S3_* rows of base/err.h. Pure; any thread. */
#include "s3/error.h"

#include <string.h>

#include "s3/xml_writer.h"

const char *s3_error_code(int err)
{
	return err_s3_code(err);
}

int s3_error_status(int err)
{
	return err_http_status(err);
}

const char *s3_error_message(int err)
{
	if (s3_error_is_s3(err))
		return err_text(err);
	const char *code = err_s3_code(err);
	for (int e = S3_ERR_FIRST; e <= S3_ERR_LAST; e++)
		if (strcmp(err_s3_code(e), code) == 0)
			return err_text(e);
	return err_text(err);
}

int s3_error_xml(struct buf *out, int err, const char *message, struct iov resource,
                 struct iov request_id, struct iov host_id, const struct s3_error_field *extra,
                 size_t n)
{
	struct s3_xml_writer w;
	size_t mark = out->len;

	s3_xml_writer_init(&w, out);
	s3_xml_begin(&w, "Error", false);
	s3_xml_text(&w, "Code", iov_cstr(s3_error_code(err)));
	s3_xml_text(&w, "Message", iov_cstr(message ? message : s3_error_message(err)));
	for (size_t i = 0; i < n; i++)
		s3_xml_text(&w, extra[i].name, extra[i].value);
	if (resource.len)
		s3_xml_text(&w, "Resource", resource);
	if (request_id.len)
		s3_xml_text(&w, "RequestId", request_id);
	if (host_id.len)
		s3_xml_text(&w, "HostId", host_id);
	int rc = s3_xml_end(&w);
	if (rc)
		out->len = mark;
	return rc;
}
