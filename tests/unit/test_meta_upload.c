/*
 * Multipart uploads on a temp database: parts replaced and listed in pages,
 * completion that keeps the part files in the order the client named them
 * (with offsets), discards unnamed parts, and fails atomically on a bad part
 * list; abort; completion replacing a null version; removing a multipart
 * version hands back every part file.
 */
#include "meta_fixture.h"

#define MIB (1024u * 1024u)

static const struct iov B = { "b", 1 };

static void start(struct mfx *f, const char *key, const char *id)
{
	struct meta_upload u = {
		.key = iov_cstr(key),
		.upload_id = iov_cstr(id),
		.initiated_ms = 77,
		.owner = IOV_LIT("owner-1"),
		.content_type = IOV_LIT("video/mp4"),
		.attrs = IOV_LIT("\x0d"
		                 "cache-control"
		                 "\x08"
		                 "no-cache"),
		.checksum_algo = IOV_LIT("crc32"),
	};
	int rc = meta_upload_create(f->db, B, &u);
	if (rc)
		fail_msg("create %s: %s", id, err_name(rc));
}

/* Put part `num` of upload id with a file named "<id>.<num>.<gen>". */
static int part(struct mfx *f, const char *key, const char *id, uint32_t num, uint64_t size,
                const char *etag, int gen, struct meta_files *rep)
{
	char file[64], ck[16];
	snprintf(file, sizeof(file), "%s.%u.%d", id, num, gen);
	snprintf(ck, sizeof(ck), "ck%u", num);
	struct meta_part p = {
		.number = num,
		.size = size,
		.etag = iov_cstr(etag),
		.data_file = iov_cstr(file),
		.checksum = iov_cstr(ck),
		.last_modified_ms = 1000 + num,
	};
	return meta_upload_put_part(f->db, B, iov_cstr(key), iov_cstr(id), &p, f->a, rep);
}

static void complete_args(struct mfx *f, struct meta_complete *c, const char *key, const char *id,
                          const struct meta_complete_part *parts, size_t n)
{
	*c = (struct meta_complete){
		.key = iov_cstr(key),
		.upload_id = iov_cstr(id),
		.parts = parts,
		.nparts = n,
		.min_part_size = 5 * MIB,
		.hlc = mfx_tick(f),
		.region = 1,
		.now_ms = 4242,
		.etag = IOV_LIT("d41d8cd98f00b204e9800998ecf8427e-2"),
		.checksum = IOV_LIT("AAAAAA==-2"),
	};
}

static void upload_parts_replace_and_list(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep;
	mfx_bucket(f, "b", META_UNVERSIONED);
	start(f, "movie", "u1");
	for (uint32_t n = 1; n <= 25; n++)
		assert_int_equal(part(f, "movie", "u1", n, 5 * MIB, "e", 0, &rep), 0);
	assert_int_equal(rep.n, 0);
	/* Replacing a part hands back the old file. */
	assert_int_equal(part(f, "movie", "u1", 7, 5 * MIB, "e7b", 1, &rep), 0);
	mfx_files_are(&rep, (const char *[]){ "u1.7.0" }, 1);

	struct meta_part_list pl;
	assert_int_equal(
	    meta_upload_list_parts(f->db, B, IOV_LIT("movie"), IOV_LIT("u1"), 0, 10, f->a, &pl), 0);
	assert_int_equal(pl.nparts, 10);
	assert_true(pl.truncated);
	assert_int_equal(pl.next_marker, 10);
	assert_true(iov_eq(pl.upload.owner, IOV_LIT("owner-1")));
	assert_true(iov_eq(pl.upload.content_type, IOV_LIT("video/mp4")));
	assert_int_equal(pl.upload.initiated_ms, 77);
	assert_int_equal(pl.parts[6].number, 7);
	assert_true(iov_eq(pl.parts[6].etag, IOV_LIT("e7b")));
	assert_true(iov_eq(pl.parts[6].data_file, IOV_LIT("u1.7.1")));
	assert_true(iov_eq(pl.parts[6].checksum, IOV_LIT("ck7")));
	assert_int_equal(pl.parts[6].last_modified_ms, 1007);
	assert_int_equal(
	    meta_upload_list_parts(f->db, B, IOV_LIT("movie"), IOV_LIT("u1"), 20, 10, f->a, &pl),
	    0);
	assert_int_equal(pl.nparts, 5);
	assert_false(pl.truncated);
	assert_int_equal(pl.parts[0].number, 21);
	assert_int_equal(pl.next_marker, 25);

	struct meta_upload u;
	assert_int_equal(meta_upload_get(f->db, B, IOV_LIT("movie"), IOV_LIT("u1"), f->a, &u), 0);
	assert_true(iov_eq(u.checksum_algo, IOV_LIT("crc32")));
	/* The upload is found by key and id together. */
	assert_int_equal(meta_upload_get(f->db, B, IOV_LIT("other"), IOV_LIT("u1"), f->a, &u),
	                 ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(part(f, "other", "u1", 1, 1, "e", 0, &rep), ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(part(f, "movie", "u2", 1, 1, "e", 0, &rep), ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(part(f, "movie", "u1", 0, 1, "e", 0, &rep), ERR_INVALID);
	assert_int_equal(part(f, "movie", "u1", 10001, 1, "e", 0, &rep), ERR_INVALID);
	struct meta_upload nobucket = { .key = IOV_LIT("k"),
		                        .upload_id = IOV_LIT("x"),
		                        .owner = IOV_LIT("o") };
	assert_int_equal(meta_upload_create(f->db, IOV_LIT("nope"), &nobucket),
	                 ERR_META_NO_SUCH_BUCKET);
}

static void complete_orders_parts_and_drops_unlisted(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	struct meta_object o, g;
	mfx_bucket(f, "b", META_ENABLED);
	start(f, "k", "u1");
	/* Uploaded out of order, part 4 never named. */
	assert_int_equal(part(f, "k", "u1", 3, 7, "e3", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 1, 5 * MIB, "e1", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 4, 5 * MIB, "e4", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 2, 6 * MIB, "e2", 0, &rep), 0);

	struct meta_complete c;
	struct meta_complete_part want[] = { { 1, IOV_LIT("e1"), IOV_LIT("ck1") },
		                             { 2, IOV_LIT("e2"), IOV_NULL },
		                             { 3, IOV_LIT("e3"), IOV_LIT("ck3") } };
	complete_args(f, &c, "k", "u1", want, 3);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage), 0);
	mfx_files_are(&garbage, (const char *[]){ "u1.4.0" }, 1);
	assert_int_equal(strlen(o.version_id), HLC_VERSION_ID_LEN);
	assert_true(o.is_latest);
	assert_int_equal(o.size, 11 * MIB + 7);
	assert_int_equal(o.part_count, 3);

	assert_int_equal(meta_object_get(f->db, B, IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_string_equal(g.version_id, o.version_id);
	assert_int_equal(g.size, 11 * MIB + 7);
	assert_int_equal(g.part_count, 3);
	assert_int_equal(g.nparts, 3);
	assert_int_equal(g.data_file.len, 0);
	assert_true(iov_eq(g.etag, IOV_LIT("d41d8cd98f00b204e9800998ecf8427e-2")));
	assert_true(iov_eq(g.checksum, IOV_LIT("AAAAAA==-2")));
	assert_true(iov_eq(g.checksum_algo, IOV_LIT("crc32")));
	assert_true(iov_eq(g.content_type, IOV_LIT("video/mp4")));
	assert_true(iov_eq(g.owner, IOV_LIT("owner-1")));
	assert_int_equal(g.last_modified_ms, 4242);
	static const char *const files[] = { "u1.1.0", "u1.2.0", "u1.3.0" };
	static const uint64_t offsets[] = { 0, 5 * MIB, 11 * MIB };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g.parts[i].number, i + 1);
		assert_true(iov_eq(g.parts[i].data_file, iov_cstr(files[i])));
		assert_int_equal(g.parts[i].offset, offsets[i]);
	}
	assert_true(iov_eq(g.parts[2].checksum, IOV_LIT("ck3")));

	/* The upload is gone. */
	struct meta_part_list pl;
	assert_int_equal(
	    meta_upload_list_parts(f->db, B, IOV_LIT("k"), IOV_LIT("u1"), 0, 10, f->a, &pl),
	    ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage),
	                 ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(part(f, "k", "u1", 5, 1, "e", 0, &rep), ERR_META_NO_SUCH_UPLOAD);

	/* Deleting the version frees every part file. */
	struct meta_delete_result dr;
	assert_int_equal(mfx_delete(f, "b", "k", g.version_id, &dr), 0);
	mfx_files_are(&dr.files, files, 3);
}

static void complete_rejects_bad_lists_atomically(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	struct meta_object o;
	mfx_bucket(f, "b", META_UNVERSIONED);
	start(f, "k", "u1");
	assert_int_equal(part(f, "k", "u1", 1, 5 * MIB, "e1", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 2, 1 * MIB, "e2", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 3, 1, "e3", 0, &rep), 0);

	static const struct {
		struct meta_complete_part parts[3];
		size_t n;
		int want;
	} cases[] = {
		{ { { 2, { "e2", 2 }, { 0 } }, { 1, { "e1", 2 }, { 0 } } },
		  2,
		  ERR_META_INVALID_PART_ORDER },
		{ { { 1, { "e1", 2 }, { 0 } }, { 1, { "e1", 2 }, { 0 } } },
		  2,
		  ERR_META_INVALID_PART_ORDER },
		{ { { 1, { "e1", 2 }, { 0 } }, { 9, { "e9", 2 }, { 0 } } },
		  2,
		  ERR_META_INVALID_PART },
		{ { { 1, { "XX", 2 }, { 0 } } }, 1, ERR_META_INVALID_PART },
		{ { { 1, { "e1", 2 }, { "bad", 3 } } }, 1, ERR_META_INVALID_PART },
		/* Part 2 (1 MiB) is not last: too small. */
		{ { { 1, { "e1", 2 }, { 0 } },
		    { 2, { "e2", 2 }, { 0 } },
		    { 3, { "e3", 2 }, { 0 } } },
		  3,
		  ERR_META_ENTITY_TOO_SMALL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct meta_complete c;
		complete_args(f, &c, "k", "u1", cases[i].parts, cases[i].n);
		int rc = meta_upload_complete(f->db, B, &c, f->a, &o, &garbage);
		if (rc != cases[i].want)
			fail_msg("case %zu: %s, want %s", i, err_name(rc), err_name(cases[i].want));
		assert_int_equal(garbage.n, 0);
	}
	struct meta_complete c;
	complete_args(f, &c, "k", "u1", cases[0].parts, 0);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage), ERR_INVALID);

	/* Nothing changed: no object, the upload and all parts remain. */
	struct meta_object g;
	assert_int_equal(meta_object_get(f->db, B, IOV_LIT("k"), IOV_NULL, f->a, &g),
	                 ERR_META_NO_SUCH_KEY);
	struct meta_part_list pl;
	assert_int_equal(
	    meta_upload_list_parts(f->db, B, IOV_LIT("k"), IOV_LIT("u1"), 0, 10, f->a, &pl), 0);
	assert_int_equal(pl.nparts, 3);

	/* A single small part is fine: the last part may be any size. */
	struct meta_complete_part one[] = { { 3, IOV_LIT("e3"), IOV_NULL } };
	complete_args(f, &c, "k", "u1", one, 1);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage), 0);
	mfx_files_are(&garbage, (const char *[]){ "u1.1.0", "u1.2.0" }, 2);
	assert_string_equal(o.version_id, "null");
}

static void abort_returns_every_part(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	mfx_bucket(f, "b", META_UNVERSIONED);
	start(f, "k", "u1");
	start(f, "k", "u2");
	assert_int_equal(part(f, "k", "u1", 1, 5, "e", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 2, 5, "e", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u2", 1, 5, "e", 0, &rep), 0);
	assert_int_equal(meta_upload_abort(f->db, B, IOV_LIT("k"), IOV_LIT("u1"), f->a, &garbage),
	                 0);
	mfx_files_are(&garbage, (const char *[]){ "u1.1.0", "u1.2.0" }, 2);
	assert_int_equal(meta_upload_abort(f->db, B, IOV_LIT("k"), IOV_LIT("u1"), f->a, &garbage),
	                 ERR_META_NO_SUCH_UPLOAD);
	assert_int_equal(garbage.n, 0);
	/* The other upload of the same key is untouched. */
	struct meta_part_list pl;
	assert_int_equal(
	    meta_upload_list_parts(f->db, B, IOV_LIT("k"), IOV_LIT("u2"), 0, 10, f->a, &pl), 0);
	assert_int_equal(pl.nparts, 1);
	assert_int_equal(meta_upload_abort(f->db, B, IOV_LIT("k"), IOV_LIT("u2"), f->a, &garbage),
	                 0);
	assert_int_equal(meta_bucket_delete(f->db, B, f->a, &garbage), 0);
	assert_int_equal(garbage.n, 0);
}

/* The value of a one-number query on the database itself. */
static int64_t scalar(struct mfx *f, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db->sql, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* As in S3, uploads in progress go with their bucket: the rows, and their
 * part files back to the caller. Another bucket's upload stays. */
static void bucket_delete_takes_its_uploads(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	mfx_bucket(f, "other", META_UNVERSIONED);
	struct meta_upload keep = { .key = IOV_LIT("k"),
		                    .upload_id = IOV_LIT("u9"),
		                    .owner = IOV_LIT("owner-1") };
	assert_int_equal(meta_upload_create(f->db, IOV_LIT("other"), &keep), 0);
	struct meta_part p9 = {
		.number = 1, .size = 5, .etag = IOV_LIT("e"), .data_file = IOV_LIT("u9.1.0")
	};
	assert_int_equal(meta_upload_put_part(f->db, IOV_LIT("other"), keep.key, keep.upload_id,
	                                      &p9, f->a, &rep),
	                 0);

	mfx_bucket(f, "b", META_ENABLED);
	start(f, "k", "u1");
	start(f, "k2", "u2");
	start(f, "k3", "u3"); /* no part yet */
	assert_int_equal(part(f, "k", "u1", 1, 5, "e", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 2, 5, "e", 0, &rep), 0);
	assert_int_equal(part(f, "k2", "u2", 1, 5, "e", 0, &rep), 0);
	/* An object still makes it not empty, and nothing is dropped. */
	struct meta_object o;
	struct meta_delete_result dr;
	mfx_put_ok(f, "b", "obj", "f1", &o);
	assert_int_equal(meta_bucket_delete(f->db, B, f->a, &garbage), ERR_META_BUCKET_NOT_EMPTY);
	assert_int_equal(garbage.n, 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM uploads"), 4);
	assert_int_equal(mfx_delete(f, "b", "obj", o.version_id, &dr), 0);

	assert_int_equal(meta_bucket_delete(f->db, B, f->a, &garbage), 0);
	mfx_files_are(&garbage, (const char *[]){ "u1.1.0", "u1.2.0", "u2.1.0" }, 3);
	assert_int_equal(scalar(f, "SELECT count(*) FROM uploads"), 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM parts"), 1);
	struct meta_part_list pl;
	assert_int_equal(meta_upload_list_parts(f->db, IOV_LIT("other"), keep.key, keep.upload_id,
	                                        0, 10, f->a, &pl),
	                 0);
	assert_int_equal(pl.nparts, 1);
	/* A bucket made again under the name has none of them. */
	mfx_bucket(f, "b", META_UNVERSIONED);
	assert_int_equal(meta_upload_abort(f->db, B, IOV_LIT("k"), IOV_LIT("u1"), f->a, &garbage),
	                 ERR_META_NO_SUCH_UPLOAD);
}

/* What one deletion hands back is capped; the parts beyond the cap are
 * still dropped (their files are left to the blob GC at the next start). */
static void bucket_delete_caps_the_files_it_returns(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	mfx_bucket(f, "b", META_UNVERSIONED);
	start(f, "k", "u1");
	start(f, "k", "u2");
	assert_int_equal(sqlite3_exec(f->db->sql, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (uint32_t n = 1; n <= META_PART_NUMBER_MAX; n++)
		assert_int_equal(part(f, "k", "u1", n, 5, "e", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u2", 1, 5, "e", 0, &rep), 0);
	assert_int_equal(sqlite3_exec(f->db->sql, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(scalar(f, "SELECT count(*) FROM parts"), META_PART_NUMBER_MAX + 1);
	assert_int_equal(meta_bucket_delete(f->db, B, f->a, &garbage), 0);
	assert_int_equal(garbage.n, META_BUCKET_DELETE_FILES_MAX);
	assert_int_equal(scalar(f, "SELECT count(*) FROM parts"), 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM uploads"), 0);
}

/* In an unversioned bucket a completion replaces the null version; when that
 * was multipart too, all its part files come back. */
static void complete_replaces_null_version(void **state)
{
	struct mfx *f = *state;
	struct meta_files rep, garbage;
	struct meta_object o, g;
	mfx_bucket(f, "b", META_UNVERSIONED);
	mfx_put_ok(f, "b", "k", "single", &o);
	start(f, "k", "u1");
	assert_int_equal(part(f, "k", "u1", 1, 5 * MIB, "e1", 0, &rep), 0);
	assert_int_equal(part(f, "k", "u1", 2, 3, "e2", 0, &rep), 0);
	struct meta_complete c;
	struct meta_complete_part all[] = { { 1, IOV_LIT("e1"), IOV_NULL },
		                            { 2, IOV_LIT("e2"), IOV_NULL } };
	complete_args(f, &c, "k", "u1", all, 2);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage), 0);
	mfx_files_are(&garbage, (const char *[]){ "single" }, 1);

	start(f, "k", "u2");
	assert_int_equal(part(f, "k", "u2", 1, 4, "e1", 0, &rep), 0);
	struct meta_complete_part first[] = { { 1, IOV_LIT("e1"), IOV_NULL } };
	complete_args(f, &c, "k", "u2", first, 1);
	assert_int_equal(meta_upload_complete(f->db, B, &c, f->a, &o, &garbage), 0);
	mfx_files_are(&garbage, (const char *[]){ "u1.1.0", "u1.2.0" }, 2);
	assert_int_equal(meta_object_get(f->db, B, IOV_LIT("k"), IOV_NULL, f->a, &g), 0);
	assert_int_equal(g.nparts, 1);
	assert_true(iov_eq(g.parts[0].data_file, IOV_LIT("u2.1.0")));

	/* A put over a multipart null version frees its parts too. */
	struct meta_object p;
	mfx_put(f, "b", "k", "plain", &p, &rep);
	mfx_files_are(&rep, (const char *[]){ "u2.1.0" }, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, mfx_setup, mfx_teardown)
	const struct CMUnitTest tests[] = {
		T(upload_parts_replace_and_list),
		T(complete_orders_parts_and_drops_unlisted),
		T(complete_rejects_bad_lists_atomically),
		T(abort_returns_every_part),
		T(complete_replaces_null_version),
		T(bucket_delete_takes_its_uploads),
		T(bucket_delete_caps_the_files_it_returns),
	};
	return cmocka_run_group_tests_name("test_meta_upload", tests, NULL, NULL);
}
