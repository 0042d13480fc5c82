/*
 * Listings against a brute-force model: a few thousand keys over a small
 * alphabet that includes the delimiters, 0x00 and 0xff, some with several
 * versions, some hidden by delete markers; random prefix / delimiter /
 * marker / page-size queries compared entry by entry, and full paginations
 * that must concatenate to the whole listing. Then the cost: a delimiter
 * listing over ten thousand keys reads O(common prefixes) rows.
 */
#include "meta_fixture.h"

#define NKEYS  3000
#define KEYMAX 12

struct mkey {
	char k[KEYMAX];
	size_t len;
	bool visible; /* latest is not a delete marker */
	int nver;
	char vid[3][META_VERSION_ID_MAX + 1]; /* newest first */
};

struct ment {
	bool prefix;
	struct iov v;
	const char *vid; /* versions and uploads */
};

struct model {
	struct mkey *keys;
	size_t n;
	struct ment *ents; /* scratch for one listing */
	size_t nents;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char alphabet[] = { 'a', 'b', 'c', '/', '-', '\0', '\xff' };

static int cmp_mkey(const void *a, const void *b)
{
	const struct mkey *x = a, *y = b;
	return iov_cmp(iov_make(x->k, x->len), iov_make(y->k, y->len));
}

static struct iov key_of(const struct mkey *m)
{
	return iov_make(m->k, m->len);
}

/* The key's common prefix under (prefix, delim), if any. */
static bool model_cp(struct iov key, struct iov prefix, struct iov delim, struct iov *cp)
{
	if (!delim.len)
		return false;
	for (size_t i = prefix.len; i + delim.len <= key.len; i++) {
		if (memcmp(key.base + i, delim.base, delim.len) == 0) {
			*cp = iov_make(key.base, i + delim.len);
			return true;
		}
	}
	return false;
}

static void model_add(struct model *m, bool prefix, struct iov v, const char *vid)
{
	if (prefix && m->nents && m->ents[m->nents - 1].prefix &&
	    iov_eq(m->ents[m->nents - 1].v, v))
		return;
	m->ents[m->nents++] = (struct ment){ prefix, v, vid };
}

/*
 * Every entry S3 would list, in order, by scanning all keys: versions=false
 * lists visible keys; versions=true every version, continuing after
 * (marker, vmarker) when vmarker is given.
 */
static void model_list(struct model *m, bool versions, struct iov prefix, struct iov delim,
                       struct iov marker, const char *vmarker)
{
	m->nents = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct mkey *k = &m->keys[i];
		struct iov key = key_of(k), cp;
		if (!iov_starts(key, prefix) || (!versions && !k->visible))
			continue;
		if (model_cp(key, prefix, delim, &cp)) {
			if (!marker.len || iov_cmp(cp, marker) > 0)
				model_add(m, true, cp, NULL);
			continue;
		}
		int c = marker.len ? iov_cmp(key, marker) : 1;
		if (c < 0 || (c == 0 && !(versions && vmarker)))
			continue;
		if (!versions) {
			model_add(m, false, key, NULL);
			continue;
		}
		int from = 0;
		if (c == 0) { /* the marker key: versions after vmarker */
			while (from < k->nver && strcmp(k->vid[from], vmarker) != 0)
				from++;
			from++;
		}
		for (int v = from; v < k->nver; v++)
			model_add(m, false, key, k->vid[v]);
	}
}

struct lfx {
	struct mfx *f;
	struct model m;
};

static struct model *build(struct mfx *f)
{
	struct model *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->keys = calloc(NKEYS + NKEYS / 3, sizeof(struct mkey));
	m->ents = calloc(NKEYS * 3 + 10, sizeof(struct ment));
	assert_non_null(m->keys);
	assert_non_null(m->ents);
	size_t n = 0;
	for (size_t i = 0; i < NKEYS + NKEYS / 3; i++) {
		struct mkey *k = &m->keys[n++];
		k->len = 1 + rng() % (KEYMAX - 1);
		for (size_t j = 0; j < k->len; j++)
			k->k[j] = alphabet[rng() % sizeof(alphabet)];
	}
	qsort(m->keys, n, sizeof(struct mkey), cmp_mkey);
	size_t u = 0;
	for (size_t i = 0; i < n && u < NKEYS; i++)
		if (!u || cmp_mkey(&m->keys[u - 1], &m->keys[i]) != 0)
			m->keys[u++] = m->keys[i];
	m->n = u;

	mfx_bucket(f, "b", META_ENABLED);
	mfx_begin(f);
	for (size_t i = 0; i < m->n; i++) {
		struct mkey *k = &m->keys[i];
		struct meta_object o;
		struct meta_files rep;
		int versions = 1 + (rng() % 8 == 0);
		for (int v = 0; v < versions; v++) {
			assert_int_equal(mfx_put_n(f, "b", k->k, k->len, "file", &o, &rep), 0);
			memmove(k->vid[1], k->vid[0], sizeof(k->vid[0]) * (size_t)k->nver);
			memcpy(k->vid[0], o.version_id, sizeof(o.version_id));
			k->nver++;
		}
		k->visible = true;
		if (rng() % 8 == 0) {
			struct meta_delete d = { .key = key_of(k),
				                 .hlc = mfx_tick(f),
				                 .region = 1,
				                 .owner = IOV_LIT("o") };
			struct meta_delete_result dr;
			assert_int_equal(meta_object_delete(f->db, IOV_LIT("b"), &d, f->a, &dr), 0);
			memmove(k->vid[1], k->vid[0], sizeof(k->vid[0]) * (size_t)k->nver);
			memcpy(k->vid[0], dr.version_id, sizeof(dr.version_id));
			k->nver++;
			k->visible = false;
		}
	}
	mfx_commit(f);
	return m;
}

static void model_free(struct model *m)
{
	free(m->keys);
	free(m->ents);
	free(m);
}

static const char *show(struct iov v, char *buf, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < v.len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)v.base[i];
		o += (size_t)snprintf(buf + o, size - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x",
		                      c);
	}
	buf[o] = 0;
	return buf;
}

/* Compare one page against the model's entries [from, from + max). */
static void check_page(const struct model *m, const struct meta_list *l, size_t from, size_t max,
                       bool versions, const char *what)
{
	size_t want_n = m->nents - from < max ? m->nents - from : max;
	size_t ki = 0, pi = 0;
	char b1[128], b2[128];
	for (size_t i = 0; i < want_n; i++) {
		const struct ment *e = &m->ents[from + i];
		if (e->prefix) {
			if (pi >= l->nprefixes || !iov_eq(l->prefixes[pi], e->v))
				fail_msg("%s: entry %zu: want prefix '%s' got '%s'", what, i,
				         show(e->v, b1, sizeof(b1)),
				         pi < l->nprefixes ? show(l->prefixes[pi], b2, sizeof(b2))
				                           : "-");
			pi++;
		} else {
			if (ki >= l->nobjects || !iov_eq(l->objects[ki].key, e->v) ||
			    (versions && strcmp(l->objects[ki].version_id, e->vid) != 0))
				fail_msg("%s: entry %zu: want key '%s' got '%s'", what, i,
				         show(e->v, b1, sizeof(b1)),
				         ki < l->nobjects ? show(l->objects[ki].key, b2, sizeof(b2))
				                          : "-");
			ki++;
		}
	}
	if (ki != l->nobjects || pi != l->nprefixes)
		fail_msg("%s: got %zu keys %zu prefixes, want %zu %zu", what, l->nobjects,
		         l->nprefixes, ki, pi);
	bool trunc = max > 0 && m->nents - from > max;
	if (l->truncated != trunc)
		fail_msg("%s: truncated %d want %d", what, l->truncated, trunc);
	if (want_n && !iov_eq(l->next_marker, m->ents[from + want_n - 1].v))
		fail_msg("%s: next marker", what);
}

/* A random slice of a random key, or a random string. */
static struct iov pick(const struct model *m, char *buf, bool whole)
{
	if (rng() % 5 == 0) {
		size_t n = rng() % 4;
		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rng() % sizeof(alphabet)];
		return iov_make(buf, n);
	}
	const struct mkey *k = &m->keys[rng() % m->n];
	size_t n = whole ? k->len : rng() % (k->len + 1);
	memcpy(buf, k->k, n);
	return iov_make(buf, n);
}

static const struct iov delims[] = { { NULL, 0 }, { "/", 1 },    { "-", 1 },
	                             { "a/", 2 }, { "\xff", 1 }, { "\0", 1 } };

static void list_objects_matches_model(void **state)
{
	struct mfx *f = *state;
	struct model *m = build(f);
	static const uint32_t sizes[] = { 0, 1, 2, 5, 37, 1000 };
	for (int q = 0; q < 600; q++) {
		char pbuf[KEYMAX], mbuf[KEYMAX];
		struct meta_list_args args = {
			.prefix = rng() % 3 ? pick(m, pbuf, false) : IOV_NULL,
			.delimiter = delims[rng() % 6],
			.marker = rng() % 2 ? pick(m, mbuf, rng() % 2) : IOV_NULL,
			.max = sizes[rng() % 6],
		};
		struct meta_list l;
		arena_reset(f->a);
		int rc = meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l);
		if (rc)
			fail_msg("query %d: %s", q, err_name(rc));
		model_list(m, false, args.prefix, args.delimiter, args.marker, NULL);
		char what[32];
		snprintf(what, sizeof(what), "query %d", q);
		check_page(m, &l, 0, args.max, false, what);
	}
	model_free(m);
}

/* Page through with next_marker; pages must concatenate to the model. */
static void list_objects_paginates(void **state)
{
	struct mfx *f = *state;
	struct model *m = build(f);
	for (int q = 0; q < 12; q++) {
		char pbuf[KEYMAX], mark[META_KEY_MAX];
		struct meta_list_args args = {
			.prefix = q < 6 ? IOV_NULL : pick(m, pbuf, false),
			.delimiter = delims[q % 6],
			.max = 13,
		};
		model_list(m, false, args.prefix, args.delimiter, IOV_NULL, NULL);
		size_t from = 0;
		for (int page = 0;; page++) {
			struct meta_list l;
			arena_reset(f->a);
			assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l),
			                 0);
			char what[32];
			snprintf(what, sizeof(what), "combo %d page %d", q, page);
			check_page(m, &l, from, args.max, false, what);
			from += l.nobjects + l.nprefixes;
			if (!l.truncated)
				break;
			memcpy(mark, l.next_marker.base, l.next_marker.len);
			args.marker = iov_make(mark, l.next_marker.len);
		}
		assert_int_equal(from, m->nents);
	}
	model_free(m);
}

static void list_versions_paginates(void **state)
{
	struct mfx *f = *state;
	struct model *m = build(f);
	for (int q = 0; q < 10; q++) {
		char pbuf[KEYMAX], mark[META_KEY_MAX], vmark[META_VERSION_ID_MAX + 1];
		struct meta_list_args args = {
			.prefix = q < 5 ? IOV_NULL : pick(m, pbuf, false),
			.delimiter = delims[q % 6],
			.max = q % 2 ? 7 : 1000,
		};
		model_list(m, true, args.prefix, args.delimiter, IOV_NULL, NULL);
		size_t from = 0;
		for (int page = 0;; page++) {
			struct meta_list l;
			arena_reset(f->a);
			assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l),
			                 0);
			char what[32];
			snprintf(what, sizeof(what), "combo %d page %d", q, page);
			check_page(m, &l, from, args.max, true, what);
			for (size_t i = 0; i < l.nobjects; i++) {
				/* Latest flags and markers as the model says. */
				const struct meta_object *o = &l.objects[i];
				struct mkey probe = { .len = o->key.len };
				memcpy(probe.k, o->key.base, o->key.len);
				const struct mkey *k =
				    bsearch(&probe, m->keys, m->n, sizeof(*k), cmp_mkey);
				assert_non_null(k);
				bool first = strcmp(k->vid[0], o->version_id) == 0;
				assert_int_equal(o->is_latest, first);
				assert_int_equal(o->is_delete_marker, first && !k->visible);
			}
			from += l.nobjects + l.nprefixes;
			if (!l.truncated)
				break;
			memcpy(mark, l.next_marker.base, l.next_marker.len);
			args.marker = iov_make(mark, l.next_marker.len);
			if (l.next_sub_marker.len) /* empty after a common prefix */
				memcpy(vmark, l.next_sub_marker.base, l.next_sub_marker.len);
			args.sub_marker = iov_make(vmark, l.next_sub_marker.len);
		}
		assert_int_equal(from, m->nents);
	}
	model_free(m);
}

static void list_versions_random_markers(void **state)
{
	struct mfx *f = *state;
	struct model *m = build(f);
	for (int q = 0; q < 300; q++) {
		const struct mkey *k = &m->keys[rng() % m->n];
		const char *vid = k->vid[rng() % (uint64_t)k->nver];
		struct meta_list_args args = {
			.delimiter = delims[rng() % 6],
			.marker = key_of(k),
			.sub_marker = iov_cstr(vid),
			.max = 1 + rng() % 20,
		};
		struct meta_list l;
		arena_reset(f->a);
		assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
		model_list(m, true, args.prefix, args.delimiter, args.marker, vid);
		char what[32];
		snprintf(what, sizeof(what), "query %d", q);
		check_page(m, &l, 0, args.max, true, what);
	}
	struct meta_list l;
	struct meta_list_args bad = { .marker = IOV_LIT("a"),
		                      .sub_marker = IOV_LIT("zzz"),
		                      .max = 5 };
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &bad, f->a, &l),
	                 ERR_META_BAD_VERSION_ID);
	bad.marker = IOV_NULL;
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &bad, f->a, &l), ERR_INVALID);
	model_free(m);
}

static void list_edge_cases(void **state)
{
	struct mfx *f = *state;
	struct meta_object o;
	struct meta_list l;
	mfx_bucket(f, "b", META_UNVERSIONED);
	const char *keys[] = { "a", "a/b", "a/c/d", "ab", "b/", "b//x", "\xff", "\xff\xff/z" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		mfx_put_ok(f, "b", keys[i], "f", &o);

	/* max 0: an empty page, not truncated (as S3 answers). */
	struct meta_list_args args = { .max = 0 };
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects + l.nprefixes, 0);
	assert_false(l.truncated);
	/* A page that ends on the last common prefix is not truncated, even
	 * though more keys roll up into that prefix. */
	args =
	    (struct meta_list_args){ .delimiter = IOV_LIT("/"), .marker = IOV_LIT("a/"), .max = 2 };
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);  /* ab */
	assert_int_equal(l.nprefixes, 1); /* b/ */
	assert_true(l.truncated);         /* \xff follows */
	args.marker = IOV_LIT("b");
	args.max = 1;
	args.prefix = IOV_LIT("b");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nprefixes, 1);
	assert_true(iov_eq(l.prefixes[0], IOV_LIT("b/")));
	assert_false(l.truncated);
	args = (struct meta_list_args){ 0 };
	/* max above the cap is clamped, not an error. */
	args.max = 5000;
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 8);
	assert_false(l.truncated);
	/* An all-0xff prefix has no successor string: bounded by the sentinel. */
	args.prefix = IOV_LIT("\xff");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 2);
	args.delimiter = IOV_LIT("/");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);
	assert_int_equal(l.nprefixes, 1);
	assert_true(iov_eq(l.prefixes[0], IOV_LIT("\xff\xff/")));
	/* A delimiter right after the prefix, and a doubled delimiter. */
	args.prefix = IOV_LIT("b/");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);
	assert_int_equal(l.nprefixes, 1);
	assert_true(iov_eq(l.prefixes[0], IOV_LIT("b//")));
	/* Continuing from a common prefix skips the keys under it. */
	args.prefix = IOV_NULL;
	args.marker = IOV_LIT("a/");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_true(iov_eq(l.objects[0].key, IOV_LIT("ab")));
	/* A marker past everything. */
	args.marker = IOV_LIT("\xff\xff\xff");
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects + l.nprefixes, 0);
	assert_false(l.truncated);
	/* Over-long arguments and unknown buckets. */
	char big[META_KEY_MAX + 1];
	memset(big, 'x', sizeof(big));
	args.marker = iov_make(big, sizeof(big));
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("b"), &args, f->a, &l),
	                 ERR_META_KEY_TOO_LONG);
	args.marker = IOV_NULL;
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("nope"), &args, f->a, &l),
	                 ERR_META_NO_SUCH_BUCKET);
}

/*
 * 10,000 keys in 20 directories of 500: a delimiter listing reads a couple of
 * rows per common prefix, not the keys under them.
 */
static void delimiter_listing_costs_o_prefixes(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "big", META_UNVERSIONED);
	mfx_begin(f);
	for (int i = 0; i < 10000; i++) {
		char key[64];
		int n = snprintf(key, sizeof(key), "logs/%02d/entry-%05d", i % 20, i);
		struct meta_object o;
		struct meta_files rep;
		assert_int_equal(mfx_put_n(f, "big", key, (size_t)n, "f", &o, &rep), 0);
	}
	struct meta_object o;
	mfx_put_ok(f, "big", "readme", "f", &o);
	mfx_commit(f);

	struct meta_db_stats before, after;
	struct meta_list l;
	struct meta_list_args args = { .delimiter = IOV_LIT("/"), .max = 1000 };
	meta_db_stats(f->db, &before);
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("big"), &args, f->a, &l), 0);
	meta_db_stats(f->db, &after);
	assert_int_equal(l.nprefixes, 1);
	assert_true(iov_eq(l.prefixes[0], IOV_LIT("logs/")));
	assert_int_equal(l.nobjects, 1);
	assert_true(after.rows - before.rows <= 4);
	assert_true(after.statements - before.statements <= 8);

	args.prefix = IOV_LIT("logs/");
	meta_db_stats(f->db, &before);
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("big"), &args, f->a, &l), 0);
	meta_db_stats(f->db, &after);
	assert_int_equal(l.nprefixes, 20);
	assert_int_equal(l.nobjects, 0);
	assert_true(iov_eq(l.prefixes[19], IOV_LIT("logs/19/")));
	uint64_t rows = after.rows - before.rows, stmts = after.statements - before.statements;
	if (rows > 2 * 20 + 2 || stmts > 20 + 6)
		fail_msg("%llu rows and %llu statements for 20 prefixes", (unsigned long long)rows,
		         (unsigned long long)stmts);

	/* Without a delimiter a page reads max + 1 rows in one query. */
	args.delimiter = IOV_NULL;
	args.max = 100;
	meta_db_stats(f->db, &before);
	assert_int_equal(meta_list_objects(f->db, IOV_LIT("big"), &args, f->a, &l), 0);
	meta_db_stats(f->db, &after);
	assert_int_equal(l.nobjects, 100);
	assert_true(l.truncated);
	assert_true(after.rows - before.rows <= 102); /* + the bucket row */
	assert_true(after.statements - before.statements <= 4);
}

static void list_uploads_paginates(void **state)
{
	struct mfx *f = *state;
	mfx_bucket(f, "b", META_UNVERSIONED);
	/* Keys with 1..3 uploads each; ids sort by creation. */
	static const char *const keys[] = { "a", "a/1", "a/2", "b", "b/x/y", "c-d", "c/e" };
	struct ment all[32];
	char ids[32][48];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (size_t u = 0; u < 1 + i % 3; u++) {
			snprintf(ids[n], sizeof(ids[n]), "up-%zu-%zu", i, u);
			struct meta_upload up = { .key = iov_cstr(keys[i]),
				                  .upload_id = iov_cstr(ids[n]),
				                  .owner = IOV_LIT("o"),
				                  .initiated_ms = 5 };
			assert_int_equal(meta_upload_create(f->db, IOV_LIT("b"), &up), 0);
			all[n] = (struct ment){ false, iov_cstr(keys[i]), ids[n] };
			n++;
		}
	}
	struct meta_upload dup = { .key = IOV_LIT("a"),
		                   .upload_id = IOV_LIT("up-0-0"),
		                   .owner = IOV_LIT("o") };
	assert_int_equal(meta_upload_create(f->db, IOV_LIT("b"), &dup), ERR_META_EXISTS);

	/* No delimiter, pages of 2 with key-marker + upload-id-marker. */
	struct meta_list_args args = { .max = 2 };
	size_t seen = 0;
	char mark[32], umark[32];
	for (;;) {
		struct meta_list l;
		assert_int_equal(meta_list_uploads(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
		for (size_t i = 0; i < l.nuploads; i++, seen++) {
			assert_true(iov_eq(l.uploads[i].key, all[seen].v));
			assert_true(iov_eq(l.uploads[i].upload_id, iov_cstr(all[seen].vid)));
			assert_int_equal(l.uploads[i].initiated_ms, 5);
		}
		if (!l.truncated)
			break;
		memcpy(mark, l.next_marker.base, l.next_marker.len);
		args.marker = iov_make(mark, l.next_marker.len);
		memcpy(umark, l.next_sub_marker.base, l.next_sub_marker.len);
		args.sub_marker = iov_make(umark, l.next_sub_marker.len);
	}
	assert_int_equal(seen, n);

	/* Delimiter: a, b, c-d as uploads; a/, b/, c/ as prefixes. */
	struct meta_list l;
	struct meta_list_args d = { .delimiter = IOV_LIT("/"), .max = 100 };
	assert_int_equal(meta_list_uploads(f->db, IOV_LIT("b"), &d, f->a, &l), 0);
	assert_int_equal(l.nprefixes, 3);
	assert_true(iov_eq(l.prefixes[0], IOV_LIT("a/")));
	assert_true(iov_eq(l.prefixes[2], IOV_LIT("c/")));
	assert_int_equal(l.nuploads, 1 + 1 + 3);
	/* upload-id-marker without key-marker is ignored, as S3 does. */
	d.sub_marker = IOV_LIT("up-9");
	assert_int_equal(meta_list_uploads(f->db, IOV_LIT("b"), &d, f->a, &l), 0);
	assert_int_equal(l.nuploads, 5);
	/* key-marker alone: keys after it. */
	d = (struct meta_list_args){ .marker = IOV_LIT("b"), .max = 100 };
	assert_int_equal(meta_list_uploads(f->db, IOV_LIT("b"), &d, f->a, &l), 0);
	assert_true(iov_eq(l.uploads[0].key, IOV_LIT("b/x/y")));
}

/* A page that ended on a "null" version whose row is gone by the next
 * request restarts that key: entries may repeat, none are lost. */
static void version_marker_null_gone(void **state)
{
	struct mfx *f = *state;
	struct meta_object v1, n;
	struct meta_list l;
	mfx_bucket(f, "b", META_ENABLED);
	mfx_put_ok(f, "b", "k", "f1", &v1);
	assert_int_equal(meta_bucket_set_versioning(f->db, IOV_LIT("b"), META_SUSPENDED), 0);
	mfx_put_ok(f, "b", "k", "f2", &n);
	mfx_put_ok(f, "b", "a-earlier", "f3", &n);
	struct meta_list_args args = { .marker = IOV_LIT("k"),
		                       .sub_marker = IOV_LIT("null"),
		                       .max = 10 };
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);
	assert_string_equal(l.objects[0].version_id, v1.version_id);

	struct meta_delete_result dr;
	assert_int_equal(mfx_delete(f, "b", "k", "null", &dr), 0);
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l), 0);
	assert_int_equal(l.nobjects, 1);
	assert_string_equal(l.objects[0].version_id, v1.version_id);
	assert_true(iov_eq(l.objects[0].key, IOV_LIT("k")));

	/* A malformed marker is refused even where it would not be used. */
	args.delimiter = IOV_LIT("k");
	args.sub_marker = IOV_LIT("nul");
	assert_int_equal(meta_list_versions(f->db, IOV_LIT("b"), &args, f->a, &l),
	                 ERR_META_BAD_VERSION_ID);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, mfx_setup, mfx_teardown)
	const struct CMUnitTest tests[] = {
		T(list_objects_matches_model),
		T(list_objects_paginates),
		T(list_versions_paginates),
		T(list_versions_random_markers),
		T(list_edge_cases),
		T(delimiter_listing_costs_o_prefixes),
		T(list_uploads_paginates),
		T(version_marker_null_gone),
	};
	return cmocka_run_group_tests_name("test_meta_list", tests, NULL, NULL);
}
