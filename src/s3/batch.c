/*
 * DeleteObjects: up to 1000 keys (and versions) in one request, each deleted
 * as DeleteObject would, in one metadata transaction; one result per key,
 * or errors only in quiet mode. Loop thread, except the job function.
 */
#include <string.h>

#include "base/err.h"
#include "meta/bucket.h"
#include "meta/object.h"
#include "s3/error.h"
#include "s3/s3-int.h"
#include "s3/xml_writer.h"

struct batch {
	struct meta_bucket bucket;
	const struct s3_xml_delete *req;
	struct meta_delete_result *res;
	int *rc;
};

static int batch_fn(struct meta_db *db, struct s3_req *q)
{
	struct batch *b = q->op_state;
	int rc = meta_bucket_get(db, q->route.bucket, q->a, &b->bucket);
	if (rc)
		return rc;
	if (!s3__owns(q, &b->bucket))
		return ERR_S3_ACCESS_DENIED;
	for (size_t i = 0; i < b->req->n; i++) {
		const struct s3_xml_object *o = &b->req->objects[i];
		struct meta_delete d = { .key = o->key,
			                 .version_id =
			                     o->version_id.base ? o->version_id : IOV_NULL,
			                 .hlc = hlc_now(&q->srv->clock),
			                 .region = q->srv->region_id,
			                 .owner = iov_cstr(q->user->owner_id) };
		d.now_ms = (int64_t)hlc_ms(d.hlc);
		b->rc[i] = meta_object_delete(db, q->route.bucket, &d, q->a, &b->res[i]);
		/* A key or version that does not exist deletes fine, as on S3. */
		if (b->rc[i] == ERR_META_NO_SUCH_KEY || b->rc[i] == ERR_META_NO_SUCH_VERSION) {
			memset(&b->res[i], 0, sizeof(b->res[i]));
			b->rc[i] = 0;
		}
	}
	return 0;
}

static void batch_done(struct s3_req *q)
{
	struct batch *b = q->op_state;
	if (q->rc) {
		s3__error(q, q->rc, NULL);
		return;
	}
	struct buf out;
	buf_init(&out, 8u << 20);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, &out);
	s3_xml_begin(&w, "DeleteResult", true);
	for (size_t i = 0; i < b->req->n; i++) {
		const struct s3_xml_object *o = &b->req->objects[i];
		const struct meta_delete_result *r = &b->res[i];
		if (b->rc[i]) {
			s3_xml_open(&w, "Error");
			s3_xml_text(&w, "Key", o->key);
			if (o->version_id.base)
				s3_xml_text(&w, "VersionId", o->version_id);
			s3_xml_text(&w, "Code", iov_cstr(s3_error_code(b->rc[i])));
			s3_xml_text(&w, "Message", iov_cstr(s3_error_message(b->rc[i])));
			s3_xml_close(&w, "Error");
			continue;
		}
		s3__remove_files(q->srv, q->loop, &r->files);
		if (b->req->quiet)
			continue;
		s3_xml_open(&w, "Deleted");
		s3_xml_text(&w, "Key", o->key);
		if (o->version_id.base)
			s3_xml_text(&w, "VersionId", o->version_id);
		if (r->delete_marker) {
			/* The marker created, or the version (a marker) deleted. */
			s3_xml_bool(&w, "DeleteMarker", true);
			s3_xml_text(&w, "DeleteMarkerVersionId",
			            o->version_id.base ? o->version_id : iov_cstr(r->version_id));
		}
		s3_xml_close(&w, "Deleted");
	}
	int rc = s3_xml_end(&w);
	if (rc)
		s3__error(q, rc, NULL);
	else
		s3__xml(q, 200, &out, NULL, 0);
	buf_free(&out);
}

void s3__delete_objects(struct s3_req *q)
{
	struct batch *b = arena_alloc(q->a, sizeof(*b));
	if (!b) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(b, 0, sizeof(*b));
	b->req = s3_xml_reader_delete(q->xml);
	b->res = arena_alloc(q->a, b->req->n * sizeof(*b->res));
	b->rc = arena_alloc(q->a, b->req->n * sizeof(*b->rc));
	if (!b->res || !b->rc) {
		s3__error(q, ERR_NOMEM, NULL);
		return;
	}
	memset(b->res, 0, b->req->n * sizeof(*b->res));
	q->op_state = b;
	s3__meta(q, true, batch_fn, batch_done);
}
