/*
 * Buckets and object versions on a temp database: bucket ownership errors,
 * empty-only delete, versioning state; S3 versioning semantics for put, get
 * and delete in unversioned, enabled and suspended buckets, following the
 * sequences of the S3 user guide ("Adding objects to versioning-suspended
 * buckets", "Deleting objects from versioning-suspended buckets", "Deleting
 * object versions"); last-writer-wins for a late replica; keys with every
 * byte value; the metadata blob; schema and connection behaviour.
 */
#include "meta_fixture.h"

#define MFX_STR_(x) #x
#define MFX_STR(x)  MFX_STR_(x)

#include "base/buf.h"
#include "meta/attrs.h"

/* ---- buckets ------------------------------------------------------------------------- */

static void bucket_create_get_list(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "zeta", META_UNVERSIONED);
	mfx_bucket(f, "alpha", META_UNVERSIONED);
	struct meta_bucket other = { .name = IOV_LIT("beta"),
		                     .owner = IOV_LIT("owner-2"),
		                     .region = IOV_LIT("us-east-1"),
		                     .created_ms = 5 };
	assert_int_equal(meta_bucket_create(f->db, &other), 0);

	struct meta_bucket b;
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("beta"), f->a, &b), 0);
	assert_true(iov_eq(b.name, IOV_LIT("beta")));
	assert_true(iov_eq(b.owner, IOV_LIT("owner-2")));
	assert_true(iov_eq(b.region, IOV_LIT("us-east-1")));
	assert_int_equal(b.created_ms, 5);
	assert_int_equal(b.versioning, META_UNVERSIONED);
	assert_false(b.anon_read);
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("gamma"), f->a, &b),
	                 ERR_META_NO_SUCH_BUCKET);

	struct meta_bucket *list;
	size_t n;
	assert_int_equal(meta_bucket_list(f->db, IOV_LIT("owner-1"), f->a, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_true(iov_eq(list[0].name, IOV_LIT("alpha")));
	assert_true(iov_eq(list[1].name, IOV_LIT("zeta")));
	assert_int_equal(meta_bucket_list(f->db, IOV_LIT("nobody"), f->a, &list, &n), 0);
	assert_int_equal(n, 0);
}

static void bucket_create_conflicts(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b1", META_UNVERSIONED);
	struct meta_bucket again = { .name = IOV_LIT("b1"),
		                     .owner = IOV_LIT("owner-1"),
		                     .region = IOV_LIT("eu-west-1") };
	assert_int_equal(meta_bucket_create(f->db, &again), ERR_META_BUCKET_OWNED_BY_YOU);
	again.owner = IOV_LIT("owner-2");
	assert_int_equal(meta_bucket_create(f->db, &again), ERR_META_BUCKET_EXISTS);
	again.name = IOV_NULL;
	assert_int_equal(meta_bucket_create(f->db, &again), ERR_INVALID);
	assert_string_equal(err_s3_code(ERR_META_BUCKET_OWNED_BY_YOU), "BucketAlreadyOwnedByYou");
	assert_string_equal(err_s3_code(ERR_META_BUCKET_EXISTS), "BucketAlreadyExists");
	assert_int_equal(err_http_status(ERR_META_BUCKET_EXISTS), 409);
}

static void bucket_versioning_and_flags(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "v", META_UNVERSIONED);
	struct meta_bucket b;
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("v"), META_ENABLED), 0);
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("v"), f->a, &b), 0);
	assert_int_equal(b.versioning, META_ENABLED);
	assert_string_equal(meta_versioning_name(b.versioning), "Enabled");
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("v"), META_SUSPENDED), 0);
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("v"), f->a, &b), 0);
	assert_int_equal(b.versioning, META_SUSPENDED);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("v"), META_UNVERSIONED),
	                 ERR_INVALID);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("nope"), META_ENABLED),
	                 ERR_META_NO_SUCH_BUCKET);
	assert_int_equal(meta_bucket_set_anon_read(f->db, IOV_LIT("v"), true), 0);
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("v"), f->a, &b), 0);
	assert_true(b.anon_read);
	assert_int_equal(meta_bucket_set_anon_read(f->db, IOV_LIT("nope"), true),
	                 ERR_META_NO_SUCH_BUCKET);
}

static void bucket_delete_only_when_empty(void **state)
{
	struct mfx *f = *state;
	struct meta_object o;
	struct meta_delete_result dr;
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_files g;
	assert_int_equal(meta_bucket_delete(f->db, IOV_LIT("nope"), f->a, &g),
	                 ERR_META_NO_SUCH_BUCKET);

	/* A version, then only a delete marker: not empty. (An upload in
	 * progress goes with the bucket: test_meta_upload.) */
	mfx_put_ok(f, "b", "k", "f1", &o);
	assert_int_equal(meta_bucket_delete(f->db, IOV_LIT("b"), f->a, &g),
	                 ERR_META_BUCKET_NOT_EMPTY);
	assert_int_equal(mfx_delete(f, "b", "k", o.version_id, &dr), 0);
	assert_int_equal(mfx_delete(f, "b", "k", NULL, &dr), 0);
	assert_true(dr.delete_marker);
	assert_int_equal(meta_bucket_delete(f->db, IOV_LIT("b"), f->a, &g),
	                 ERR_META_BUCKET_NOT_EMPTY);
	struct meta_delete_result dr2;
	assert_int_equal(mfx_delete(f, "b", "k", dr.version_id, &dr2), 0);

	assert_int_equal(meta_bucket_delete(f->db, IOV_LIT("b"), f->a, &g), 0);
	assert_int_equal(g.n, 0);
	struct meta_bucket b;
	assert_int_equal(meta_bucket_get(f->db, IOV_LIT("b"), f->a, &b), ERR_META_NO_SUCH_BUCKET);
	/* The name is free again, for anyone. */
	struct meta_bucket again = { .name = IOV_LIT("b"),
		                     .owner = IOV_LIT("owner-2"),
		                     .region = IOV_LIT("x") };
	assert_int_equal(meta_bucket_create(f->db, &again), 0);
}

/* ---- objects: unversioned -------------------------------------------------------------- */

static void unversioned_put_replaces_null(void **state)
{
	struct mfx *f = *state;
	struct meta_object o, g;
	struct meta_files rep;
	mfx_bucket(f, "u", META_UNVERSIONED);
	assert_int_equal(mfx_put(f, "u", "k", "f1", &o, &rep), 0);
	assert_string_equal(o.version_id, "null");
	assert_true(o.is_latest);
	assert_int_equal(rep.n, 0);

	assert_int_equal(mfx_put(f, "u", "k", "f2", &o, &rep), 0);
	assert_string_equal(o.version_id, "null");
	mfx_files_are(&rep, (const char *[]){ "f1" }, 1);

	assert_int_equal(meta_object_get(f->db, IOV_LIT("u"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f2")));
	assert_true(iov_eq(g.content_type, IOV_LIT("text/plain")));
	assert_true(iov_eq(g.owner, IOV_LIT("owner-1")));
	assert_true(g.is_latest);
	assert_false(g.is_delete_marker);
	assert_int_equal(g.size, 2);
	assert_int_equal(g.hlc, o.hlc);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("u"), IOV_LIT("k"), IOV_LIT("null"), f->a, &g), 0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f2")));

	struct meta_list l;
	struct meta_list_args args = { .max = 100 };
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("u"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);
}

static void unversioned_delete_removes(void **state)
{
	struct mfx *f = *state;
	struct meta_object o, g;
	struct meta_delete_result dr;
	mfx_bucket(f, "u", META_UNVERSIONED);
	mfx_put_ok(f, "u", "k", "f1", &o);
	assert_int_equal(mfx_delete(f, "u", "k", NULL, &dr), 0);
	assert_false(dr.delete_marker);
	assert_string_equal(dr.version_id, "");
	mfx_files_are(&dr.files, (const char *[]){ "f1" }, 1);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("u"), IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_false(g.is_delete_marker);
	/* Deleting what is not there succeeds and frees nothing (S3: 204). */
	assert_int_equal(mfx_delete(f, "u", "k", NULL, &dr), 0);
	assert_int_equal(dr.files.n, 0);
	assert_int_equal(mfx_delete(f, "u", "k", "null", &dr), ERR_META_NO_SUCH_VERSION);

	mfx_put_ok(f, "u", "k", "f2", &o);
	assert_int_equal(mfx_delete(f, "u", "k", "null", &dr), 0);
	mfx_files_are(&dr.files, (const char *[]){ "f2" }, 1);
	assert_string_equal(dr.version_id, "null");
}

/* ---- objects: enabled ---------------------------------------------------------------- */

static void enabled_put_keeps_versions(void **state)
{
	struct mfx *f = *state;
	struct meta_object v1, v2, g;
	struct meta_files rep;
	mfx_bucket(f, "e", META_ENABLED);
	assert_int_equal(mfx_put(f, "e", "k", "f1", &v1, &rep), 0);
	assert_int_equal(mfx_put(f, "e", "k", "f2", &v2, &rep), 0);
	assert_int_equal(rep.n, 0);
	assert_int_equal(strlen(v1.version_id), HLC_VERSION_ID_LEN);
	assert_true(strcmp(v2.version_id, v1.version_id) > 0);
	assert_true(v2.is_latest);

	/* The id encodes the write's (hlc, region). */
	uint64_t ts;
	uint16_t region;
	assert_int_equal(hlc_version_parse(iov_cstr(v1.version_id), &ts, &region), 0);
	assert_int_equal(ts, v1.hlc);
	assert_int_equal(region, 1);

	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v2.version_id);
	assert_true(iov_eq(g.data_file, IOV_LIT("f2")));
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), iov_cstr(v1.version_id), f->a, &g),
	    0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f1")));
	assert_false(g.is_latest);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_LIT("null"), f->a, &g),
	    ERR_META_NO_SUCH_VERSION);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"),
	                                 IOV_LIT("0000000000000001"), f->a, &g),
	                 ERR_META_NO_SUCH_VERSION);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_LIT("bogus!"), f->a, &g),
	    ERR_META_BAD_VERSION_ID);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("other"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("nope"), IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_BUCKET);
}

static void enabled_delete_marker_sequence(void **state)
{
	struct mfx *f = *state;
	struct meta_object v1, v2, g;
	struct meta_delete_result dm, dr;
	mfx_bucket(f, "e", META_ENABLED);
	mfx_put_ok(f, "e", "k", "f1", &v1);
	mfx_put_ok(f, "e", "k", "f2", &v2);

	/* A simple DELETE inserts a marker that becomes current. */
	assert_int_equal(mfx_delete(f, "e", "k", NULL, &dm), 0);
	assert_true(dm.delete_marker);
	assert_int_equal(strlen(dm.version_id), HLC_VERSION_ID_LEN);
	assert_int_equal(dm.files.n, 0);
	assert_true(strcmp(dm.version_id, v2.version_id) > 0);

	/* GET of the key: 404 NoSuchKey, and the marker tells x-amz-delete-marker. */
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_true(g.is_delete_marker);
	assert_string_equal(g.version_id, dm.version_id);
	/* GET of the marker by id: found, flagged (S3 answers 405). */
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), iov_cstr(dm.version_id), f->a, &g),
	    0);
	assert_true(g.is_delete_marker);
	assert_true(g.is_latest);
	/* Older versions still answer by id. */
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), iov_cstr(v1.version_id), f->a, &g),
	    0);

	/* Versions newest first: marker, v2, v1. */
	struct meta_list l;
	struct meta_list_args args = { .max = 100 };
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("e"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 3);
	assert_string_equal(l.objects[0].version_id, dm.version_id);
	assert_true(l.objects[0].is_delete_marker && l.objects[0].is_latest);
	assert_string_equal(l.objects[1].version_id, v2.version_id);
	assert_false(l.objects[1].is_latest);
	assert_string_equal(l.objects[2].version_id, v1.version_id);
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("e"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 0);

	/* Another DELETE stacks another marker. */
	struct meta_delete_result dm2;
	assert_int_equal(mfx_delete(f, "e", "k", NULL, &dm2), 0);
	assert_true(dm2.delete_marker);
	assert_int_equal(mfx_delete(f, "e", "k", dm2.version_id, &dr), 0);

	/* Removing the marker brings v2 back as current. */
	assert_int_equal(mfx_delete(f, "e", "k", dm.version_id, &dr), 0);
	assert_true(dr.delete_marker);
	assert_string_equal(dr.version_id, dm.version_id);
	assert_int_equal(dr.files.n, 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v2.version_id);
	assert_true(g.is_latest);
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("e"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);

	/* Permanently deleting the current version promotes the previous one. */
	assert_int_equal(mfx_delete(f, "e", "k", v2.version_id, &dr), 0);
	assert_false(dr.delete_marker);
	mfx_files_are(&dr.files, (const char *[]){ "f2" }, 1);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v1.version_id);
	assert_true(g.is_latest);
	assert_int_equal(mfx_delete(f, "e", "k", v2.version_id, &dr), ERR_META_NO_SUCH_VERSION);

	/* Deleting a non-current version leaves the current one alone. */
	mfx_put_ok(f, "e", "k", "f3", &v2);
	assert_int_equal(mfx_delete(f, "e", "k", v1.version_id, &dr), 0);
	mfx_files_are(&dr.files, (const char *[]){ "f1" }, 1);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v2.version_id);

	assert_int_equal(mfx_delete(f, "e", "k", v2.version_id, &dr), 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_false(g.is_delete_marker);
}

/* A DELETE of a key that never existed still writes a marker, as S3 does. */
static void enabled_delete_absent_key_writes_marker(void **state)
{
	struct mfx *f = *state;
	struct meta_delete_result dm;
	struct meta_object g;
	mfx_bucket(f, "e", META_ENABLED);
	assert_int_equal(mfx_delete(f, "e", "ghost", NULL, &dm), 0);
	assert_true(dm.delete_marker);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("ghost"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_true(g.is_delete_marker);
}

/* A null version from before versioning was enabled stays as an old version. */
static void unversioned_then_enabled(void **state)
{
	struct mfx *f = *state;
	struct meta_object n, v, g;
	mfx_bucket(f, "b", META_UNVERSIONED);
	mfx_put_ok(f, "b", "k", "f-null", &n);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("b"), META_ENABLED), 0);
	mfx_put_ok(f, "b", "k", "f-v", &v);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v.version_id);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("b"), IOV_LIT("k"), IOV_LIT("null"), f->a, &g), 0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f-null")));
	assert_false(g.is_latest);
	struct meta_list l;
	struct meta_list_args args = { .max = 10 };
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 2);
	assert_string_equal(l.objects[0].version_id, v.version_id);
	assert_string_equal(l.objects[1].version_id, "null");
}

/* ---- objects: suspended -------------------------------------------------------------- */

static void suspended_put_and_delete_as_in_s3_guide(void **state)
{
	struct mfx *f = *state;
	struct meta_object v1, n1, n2, g;
	struct meta_files rep;
	struct meta_delete_result dr;
	struct meta_list l;
	struct meta_list_args args = { .max = 10 };
	mfx_bucket(f, "s", META_ENABLED);
	mfx_put_ok(f, "s", "k", "f-111111", &v1);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("s"), META_SUSPENDED), 0);

	/* PUT: null version on top, version 111111 not overwritten. */
	assert_int_equal(mfx_put(f, "s", "k", "f-n1", &n1, &rep), 0);
	assert_string_equal(n1.version_id, "null");
	assert_true(n1.is_latest);
	assert_int_equal(rep.n, 0);
	/* PUT again: the null version is overwritten. */
	assert_int_equal(mfx_put(f, "s", "k", "f-n2", &n2, &rep), 0);
	mfx_files_are(&rep, (const char *[]){ "f-n1" }, 1);
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("s"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 2);
	assert_string_equal(l.objects[0].version_id, "null");
	assert_true(iov_eq(l.objects[0].data_file, IOV_LIT("f-n2")));
	assert_string_equal(l.objects[1].version_id, v1.version_id);

	/* DELETE: removes the null version, inserts a null delete marker. */
	assert_int_equal(mfx_delete(f, "s", "k", NULL, &dr), 0);
	assert_true(dr.delete_marker);
	assert_string_equal(dr.version_id, "null");
	mfx_files_are(&dr.files, (const char *[]){ "f-n2" }, 1);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("s"), IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	assert_true(g.is_delete_marker);
	assert_string_equal(g.version_id, "null");
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("s"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 2);
	assert_true(l.objects[0].is_delete_marker);
	assert_string_equal(l.objects[1].version_id, v1.version_id);

	/* DELETE again: the null marker replaces the null marker. */
	assert_int_equal(mfx_delete(f, "s", "k", NULL, &dr), 0);
	assert_int_equal(dr.files.n, 0);
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("s"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 2);

	/* The owner removes the marker by id: 111111 is current again. */
	assert_int_equal(mfx_delete(f, "s", "k", "null", &dr), 0);
	assert_true(dr.delete_marker);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("s"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, v1.version_id);
	assert_true(iov_eq(g.data_file, IOV_LIT("f-111111")));

	/* With no null version, DELETE only inserts a marker; 111111 stays. */
	assert_int_equal(mfx_delete(f, "s", "k", NULL, &dr), 0);
	assert_true(dr.delete_marker);
	assert_int_equal(dr.files.n, 0);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("s"), IOV_LIT("k"), iov_cstr(v1.version_id), f->a, &g),
	    0);

	/* Enabled again: new PUTs get real ids above the null marker. */
	struct meta_object v2;
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("s"), META_ENABLED), 0);
	mfx_put_ok(f, "s", "k", "f-v2", &v2);
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("s"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 3);
	assert_string_equal(l.objects[0].version_id, v2.version_id);
	assert_string_equal(l.objects[1].version_id, "null");
	assert_string_equal(l.objects[2].version_id, v1.version_id);
}

/* ---- replication order, validation, odd keys ------------------------------------------ */

/* A version whose (hlc, region) is older than the current one (a late
 * replica) is stored but does not become latest; ties break on region. */
static void late_version_does_not_become_latest(void **state)
{
	struct mfx *f = *state;
	struct meta_object now, late, g;
	struct meta_files rep;
	mfx_bucket(f, "e", META_ENABLED);
	uint64_t early = mfx_tick(f);
	mfx_put_ok(f, "e", "k", "f-now", &now);

	memset(&late, 0, sizeof(late));
	late.key = IOV_LIT("k");
	late.hlc = early;
	late.region = 2;
	late.etag = IOV_LIT("e");
	late.data_file = IOV_LIT("f-late");
	late.owner = IOV_LIT("owner-9");
	late.repl = META_REPL_REPLICA;
	assert_int_equal(meta_object_put(f->db, IOV_LIT("e"), &late, f->a, &rep), 0);
	assert_false(late.is_latest);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, now.version_id);
	assert_int_equal(
	    meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), iov_cstr(late.version_id), f->a, &g),
	    0);
	assert_int_equal(g.repl, META_REPL_REPLICA);
	assert_string_equal(meta_repl_name(g.repl), "REPLICA");

	/* Same hlc as the current one from a higher region id: that one wins. */
	struct meta_object tie = late;
	tie.hlc = now.hlc;
	tie.region = 7;
	tie.data_file = IOV_LIT("f-tie");
	assert_int_equal(meta_object_put(f->db, IOV_LIT("e"), &tie, f->a, &rep), 0);
	assert_true(tie.is_latest);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f-tie")));

	/* Applying the same version twice is refused, not duplicated. */
	assert_int_equal(meta_object_put(f->db, IOV_LIT("e"), &tie, f->a, &rep), ERR_META_EXISTS);
	/* The high-water mark covers every stored timestamp. */
	uint64_t high;
	assert_int_equal(meta_db_hlc_high(f->db, &high), 0);
	assert_int_equal(high, now.hlc);
}

static void replication_status_updates(void **state)
{
	struct mfx *f = *state;
	struct meta_object o, g;
	mfx_bucket(f, "e", META_ENABLED);
	mfx_put_ok(f, "e", "k", "f", &o);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_int_equal(g.repl, META_REPL_NONE);
	assert_null(meta_repl_name(g.repl));
	assert_int_equal(meta_object_set_repl(f->db, IOV_LIT("e"), IOV_LIT("k"),
	                                      iov_cstr(o.version_id), META_REPL_PENDING),
	                 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_int_equal(g.repl, META_REPL_PENDING);
	assert_int_equal(meta_object_set_repl(f->db, IOV_LIT("e"), IOV_LIT("k"),
	                                      iov_cstr(o.version_id), META_REPL_COMPLETED),
	                 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_int_equal(g.repl, META_REPL_COMPLETED);
	assert_int_equal(meta_object_set_repl(f->db, IOV_LIT("e"), IOV_LIT("k"), IOV_LIT("null"),
	                                      META_REPL_FAILED),
	                 ERR_META_NO_SUCH_VERSION);
	assert_int_equal(meta_object_set_repl(f->db, IOV_LIT("x"), IOV_LIT("k"), IOV_LIT("null"),
	                                      META_REPL_FAILED),
	                 ERR_META_NO_SUCH_BUCKET);
}

static void put_validates_input(void **state)
{
	struct mfx *f = *state;
	struct meta_object o;
	struct meta_files rep;
	char big[META_KEY_MAX + 1];
	memset(big, 'k', sizeof(big));
	mfx_bucket(f, "b", META_UNVERSIONED);
	assert_int_equal(mfx_put_n(f, "b", big, META_KEY_MAX, "f", &o, &rep), 0);
	assert_int_equal(mfx_put_n(f, "b", big, META_KEY_MAX + 1, "f", &o, &rep),
	                 ERR_META_KEY_TOO_LONG);
	assert_int_equal(mfx_put_n(f, "b", big, 0, "f", &o, &rep), ERR_INVALID);
	assert_int_equal(mfx_put(f, "b", "k", "", &o, &rep), ERR_INVALID);
	assert_int_equal(mfx_put(f, "nope", "k", "f", &o, &rep), ERR_META_NO_SUCH_BUCKET);

	mfx_put_n(f, "b", "k", 1, "f", &o, &rep);
	o.hlc = 0;
	assert_int_equal(meta_object_put(f->db, IOV_LIT("b"), &o, f->a, &rep), ERR_INVALID);
	o.hlc = mfx_tick(f);
	char attrs[META_ATTRS_MAX + 1];
	memset(attrs, 0, sizeof(attrs));
	o.attrs = iov_make(attrs, sizeof(attrs));
	assert_int_equal(meta_object_put(f->db, IOV_LIT("b"), &o, f->a, &rep), ERR_TOO_BIG);
	o.attrs = IOV_NULL;
	o.content_type = iov_make(attrs, META_FIELD_MAX + 1);
	assert_int_equal(meta_object_put(f->db, IOV_LIT("b"), &o, f->a, &rep), ERR_TOO_BIG);

	struct meta_delete_result dr;
	assert_int_equal(mfx_delete(f, "b", "k", "nonsense", &dr), ERR_META_BAD_VERSION_ID);
	struct meta_delete d = { .key = IOV_LIT("k") }; /* no marker time: invalid */
	assert_int_equal(meta_object_delete(f->db, IOV_LIT("b"), &d, f->a, &dr), ERR_INVALID);
}

/* Every stored field comes back as written. */
static void get_returns_every_field(void **state)
{
	struct mfx *f = *state;
	struct meta_object o = { 0 }, g;
	struct meta_files rep;
	mfx_bucket(f, "b", META_ENABLED);
	struct meta_attr in[] = {
		{ IOV_LIT("cache-control"), IOV_LIT("max-age=60") },
		{ IOV_LIT("x-amz-meta-color"), IOV_LIT("blue") },
		{ IOV_LIT("content-encoding"), IOV_LIT("gzip") },
	};
	struct buf blob;
	buf_init(&blob, META_ATTRS_MAX);
	assert_int_equal(meta_attrs_encode(in, 3, &blob), 0);
	o.key = IOV_LIT("dir/file.txt");
	o.hlc = mfx_tick(f);
	o.region = 9;
	o.size = 12345;
	o.etag = IOV_LIT("9e107d9d372bb6826bd81d3542a419d6");
	o.last_modified_ms = 1700000123456;
	o.data_file = IOV_LIT("data/ab/cdef");
	o.content_type = IOV_LIT("application/json");
	o.attrs = buf_iov(&blob);
	o.checksum_algo = IOV_LIT("crc32c");
	o.checksum = IOV_LIT("yZRlqg==");
	o.owner = IOV_LIT("owner-1");
	o.repl = META_REPL_PENDING;
	assert_int_equal(meta_object_put(f->db, IOV_LIT("b"), &o, f->a, &rep), 0);
	buf_free(&blob);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), o.key, IOV_NULL, f->a, &g), 0);
	assert_true(iov_eq(g.key, o.key));
	assert_string_equal(g.version_id, o.version_id);
	assert_int_equal(g.hlc, o.hlc);
	assert_int_equal(g.region, 9);
	assert_int_equal(g.size, 12345);
	assert_true(iov_eq(g.etag, o.etag));
	assert_int_equal(g.last_modified_ms, 1700000123456);
	assert_true(iov_eq(g.data_file, o.data_file));
	assert_int_equal(g.part_count, 0);
	assert_int_equal(g.nparts, 0);
	assert_true(iov_eq(g.content_type, o.content_type));
	assert_true(iov_eq(g.checksum_algo, o.checksum_algo));
	assert_true(iov_eq(g.checksum, o.checksum));
	assert_int_equal(g.repl, META_REPL_PENDING);
	struct meta_attr out[8];
	size_t n;
	assert_int_equal(meta_attrs_decode(g.attrs, out, 8, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(iov_eq(out[i].name, in[i].name));
		assert_true(iov_eq(out[i].value, in[i].value));
	}
	struct iov v;
	assert_int_equal(meta_attrs_find(g.attrs, IOV_LIT("x-amz-meta-color"), &v), 0);
	assert_true(iov_eq(v, IOV_LIT("blue")));
	assert_int_equal(meta_attrs_find(g.attrs, IOV_LIT("expires"), &v), ERR_NOT_FOUND);
}

static void attrs_encoding_edges(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	char val[300];
	memset(val, 'v', sizeof(val));
	struct meta_attr in[] = { { IOV_LIT(""), IOV_LIT("") },
		                  { IOV_LIT("long"), iov_make(val, sizeof(val)) } };
	assert_int_equal(meta_attrs_encode(in, 2, &b), 0);
	/* 1+0+1+0 + 1+4+2+300 */
	assert_int_equal(b.len, 309);
	struct meta_attr out[2];
	size_t n;
	assert_int_equal(meta_attrs_decode(buf_iov(&b), out, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].value.len, 300);
	assert_int_equal(meta_attrs_decode(buf_iov(&b), out, 1, &n), ERR_TOO_BIG);
	/* Truncated, overlong and non-minimal encodings are malformed. */
	for (size_t cut = 1; cut < b.len; cut++)
		if (meta_attrs_decode(iov_make(b.data, cut), out, 2, &n) != ERR_INVALID && cut != 2)
			fail_msg("cut %zu accepted", cut);
	assert_int_equal(meta_attrs_decode(IOV_LIT("\x80\x00"), out, 2, &n), ERR_INVALID);
	assert_int_equal(meta_attrs_decode(IOV_LIT("\x05"
	                                           "ab"),
	                                   out, 2, &n),
	                 ERR_INVALID);
	/* Over the blob cap: refused, buffer unchanged. */
	size_t before = b.len;
	static char huge[META_ATTRS_MAX];
	struct meta_attr big = { IOV_LIT("x"), iov_make(huge, sizeof(huge)) };
	assert_int_equal(meta_attrs_encode(&big, 1, &b), ERR_TOO_BIG);
	assert_int_equal(b.len, before);
	buf_free(&b);
}

/* Keys holding every byte value 0x00..0xff, at the start, middle and end. */
static void keys_with_every_byte(void **state)
{
	struct mfx *f = *state;
	struct meta_object o, g;
	struct meta_files rep;
	mfx_bucket(f, "b", META_UNVERSIONED);
	char keys[256 * 3][4];
	size_t lens[256 * 3];
	size_t nk = 0;
	mfx_begin(f);
	for (int c = 0; c < 256; c++) {
		char k1[1] = { (char)c };
		char k2[3] = { 'a', (char)c, 'z' };
		char k3[2] = { 'z', (char)c };
		const char *src[] = { k1, k2, k3 };
		size_t len[] = { 1, 3, 2 };
		for (int i = 0; i < 3; i++) {
			memcpy(keys[nk], src[i], len[i]);
			lens[nk] = len[i];
			char file[32];
			snprintf(file, sizeof(file), "f%zu", nk);
			int rc = mfx_put_n(f, "b", keys[nk], len[i], file, &o, &rep);
			if (rc)
				fail_msg("put byte %d form %d: %s", c, i, err_name(rc));
			nk++;
		}
	}
	mfx_commit(f);
	for (size_t i = 0; i < nk; i++) {
		char file[32];
		snprintf(file, sizeof(file), "f%zu", i);
		assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), iov_make(keys[i], lens[i]),
		                                 IOV_NULL, f->a, &g),
		                 0);
		assert_true(iov_eq(g.data_file, iov_cstr(file)));
		assert_true(iov_eq(g.key, iov_make(keys[i], lens[i])));
	}
	/* Listing returns them in memcmp order, across small pages. */
	struct meta_list_args args = { .max = 7 };
	struct iov prev = IOV_NULL;
	size_t seen = 0;
	char marker[8];
	for (;;) {
		struct meta_list l;
		assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
		for (size_t i = 0; i < l.nobjects; i++) {
			if (seen)
				assert_true(iov_cmp(prev, l.objects[i].key) < 0);
			prev = l.objects[i].key;
			seen++;
		}
		if (!l.truncated)
			break;
		memcpy(marker, l.next_marker.base, l.next_marker.len);
		args.marker = iov_make(marker, l.next_marker.len);
	}
	assert_int_equal(seen, nk);
}

/* ---- connections and schema ---------------------------------------------------------- */

static void reopen_keeps_data_and_settings(void **state)
{
	struct mfx *f = *state;
	struct meta_object o, g;
	mfx_bucket(f, "b", META_UNVERSIONED);
	mfx_put_ok(f, "b", "k", "f1", &o);
	meta_db_close(f->db);
	assert_int_equal(meta_db_open(f->path, NULL, &f->db), 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_true(iov_eq(g.data_file, IOV_LIT("f1")));

	/* WAL with synchronous=FULL on the writing connection. */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db->sql, "PRAGMA journal_mode", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(f->db->sql, "PRAGMA synchronous", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2); /* FULL */
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(f->db->sql, "PRAGMA user_version", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), META_SCHEMA_VERSION);
	sqlite3_finalize(st);

	/* Statements are prepared once and reused. */
	sqlite3_stmt *first = f->db->stmts[META_SQL_BUCKET_FIND];
	assert_non_null(first);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_ptr_equal(f->db->stmts[META_SQL_BUCKET_FIND], first);
}

static void newer_schema_is_refused(void **state)
{
	struct mfx *f = *state;
	assert_int_equal(sqlite3_exec(f->db->sql, "PRAGMA user_version = 99", NULL, NULL, NULL), 0);
	meta_db_close(f->db);
	f->db = NULL;
	assert_int_equal(meta_db_open(f->path, NULL, &f->db), ERR_META_SCHEMA);
	assert_null(f->db);
	struct meta_db_opts ro = { .query_only = true };
	assert_int_equal(meta_db_open(f->path, &ro, &f->db), ERR_META_SCHEMA);
	/* Put it back so teardown closes a real connection. */
	sqlite3 *raw;
	assert_int_equal(sqlite3_open(f->path, &raw), 0);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = " MFX_STR(META_SCHEMA_VERSION),
	                              NULL, NULL, NULL),
	                 0);
	sqlite3_close(raw);
	assert_int_equal(meta_db_open(f->path, NULL, &f->db), 0);
}

static void reader_connection_cannot_write(void **state)
{
	struct mfx *f = *state;
	struct meta_db *ro;
	struct meta_object o, g;
	struct meta_files rep;
	mfx_bucket(f, "b", META_UNVERSIONED);
	mfx_put_ok(f, "b", "k", "f1", &o);
	struct meta_db_opts opts = { .query_only = true };
	assert_int_equal(meta_db_open(f->path, &opts, &ro), 0);
	assert_int_equal(meta_object_get(ro, IOV_LIT("b"), IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	o.key = IOV_LIT("k2");
	o.hlc = mfx_tick(f);
	assert_true(meta_object_put(ro, IOV_LIT("b"), &o, f->a, &rep) < 0);
	assert_int_equal(meta_object_get(f->db, IOV_LIT("b"), IOV_LIT("k2"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	meta_db_close(ro);

	/* A reader on a file nobody created fails instead of creating it. */
	char path[160];
	snprintf(path, sizeof(path), "%s/absent.db", f->dir);
	assert_true(meta_db_open(path, &opts, &ro) < 0);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, mfx_setup, mfx_teardown)
	const struct CMUnitTest tests[] = {
		T(bucket_create_get_list),
		T(bucket_create_conflicts),
		T(bucket_versioning_and_flags),
		T(bucket_delete_only_when_empty),
		T(unversioned_put_replaces_null),
		T(unversioned_delete_removes),
		T(enabled_put_keeps_versions),
		T(enabled_delete_marker_sequence),
		T(enabled_delete_absent_key_writes_marker),
		T(unversioned_then_enabled),
		T(suspended_put_and_delete_as_in_s3_guide),
		T(late_version_does_not_become_latest),
		T(replication_status_updates),
		T(put_validates_input),
		T(get_returns_every_field),
		cmocka_unit_test(attrs_encoding_edges),
		T(keys_with_every_byte),
		T(reopen_keeps_data_and_settings),
		T(newer_schema_is_refused),
		T(reader_connection_cannot_write),
	};
	return cmocka_run_group_tests_name("test_meta_object", tests, NULL, NULL);
}
