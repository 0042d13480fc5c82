/*
 * libFuzzer: S3 request routing (s3/route.c: method, Host and target into an
 * operation, bucket and decoded key, with and without access point aliases),
 * the access point rules and name checks, query parameter lookup, and base64
 * decoding (Content-MD5, checksum values). Input: fields separated by '\n':
 * method, target, host, a query parameter name. Each field is copied into a
 * buffer of exactly its length, so a read past a slice is an ASan report.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/base64.h"
#include "base/check.h"
#include "base/err.h"
#include "s3/route.h"

enum { F_METHOD, F_TARGET, F_HOST, F_PARAM, F_COUNT };

static const struct iov domains[] = { IOV_LIT("s3.example"), IOV_LIT("localhost") };
static const struct s3_access_point aps[] = {
	{ IOV_LIT("mfzwi23gnjvgw.mrap"), IOV_LIT("bkt-a") },
	{ IOV_LIT("shop"), IOV_LIT("bkt-b") },
};
static const struct iov mrap_domains[] = { IOV_LIT("accesspoint.example"), IOV_LIT("s3.example") };

/* A route through an access point names one of aps, and its bucket. */
static void check_alias(const struct s3_route *r)
{
	if (!r->alias.base)
		return;
	bool found = false;
	for (size_t i = 0; i < sizeof(aps) / sizeof(aps[0]); i++)
		found |= r->alias.base == aps[i].alias.base && iov_eq(r->bucket, aps[i].bucket);
	CHECK(found);
	int rc = s3_route_alias_allowed(r, false);
	CHECK(rc == 0 || rc == ERR_S3AP_NOT_SUPPORTED);
	CHECK(s3_route_alias_allowed(r, true) != 0 ||
	      (r->op != S3_OP_PUT_OBJECT && r->op != S3_OP_UPLOAD_PART));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[F_COUNT] = { 0 };
	size_t len[F_COUNT] = { 0 };
	const uint8_t *p = data, *end = data + size;
	for (int i = 0; i < F_COUNT; i++) {
		const uint8_t *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		const uint8_t *stop = nl ? nl : end;
		len[i] = (size_t)(stop - p);
		field[i] = malloc(len[i] ? len[i] : 1);
		if (len[i])
			memcpy(field[i], p, len[i]);
		p = nl ? nl + 1 : end;
	}
	struct arena *a = arena_new(1 << 20);
	CHECK(a != NULL);
	struct s3_route_in in = { iov_make(field[F_METHOD], len[F_METHOD]),
		                  iov_make(field[F_TARGET], len[F_TARGET]),
		                  iov_make(field[F_HOST], len[F_HOST]),
		                  domains,
		                  2,
		                  NULL,
		                  0,
		                  NULL,
		                  0 };
	struct s3_route r;
	int rc = s3_route(&in, a, &r);
	if (rc == 0) {
		CHECK(r.op < S3_OP__COUNT);
		CHECK(r.key.len <= S3_KEY_MAX);
		CHECK(r.part_number <= 10000);
		CHECK(r.op != S3_OP_UPLOAD_PART || r.part_number > 0);
		CHECK(r.alias.base == NULL);
		CHECK(s3_route_alias_allowed(&r, true) == 0);
	}
	/* The same request on a store with access points. */
	in.aps = aps;
	in.naps = sizeof(aps) / sizeof(aps[0]);
	in.mrap_domains = mrap_domains;
	in.nmrap_domains = sizeof(mrap_domains) / sizeof(mrap_domains[0]);
	rc = s3_route(&in, a, &r);
	CHECK(rc <= 0);
	if (rc == 0) {
		CHECK(r.op < S3_OP__COUNT);
		CHECK(r.key.len <= S3_KEY_MAX);
		check_alias(&r);
	}
	/* The flag parsers take the host field as an argument. */
	struct s3_access_point ap;
	const char *why = NULL;
	struct iov host = iov_make(field[F_HOST], len[F_HOST]);
	if (s3_access_point_parse(host, &ap, &why) == 0) {
		CHECK(s3_alias_valid(ap.alias) == 0);
		CHECK(ap.alias.len + 1 + ap.bucket.len == host.len);
	} else {
		CHECK(why != NULL);
	}
	if (s3_domain_valid(host) == 0)
		CHECK(host.len >= 1 && host.len <= 253);
	/* A parameter name must be NUL-terminated for s3_query_get. */
	char name[64];
	size_t nl = len[F_PARAM] < sizeof(name) - 1 ? len[F_PARAM] : sizeof(name) - 1;
	memcpy(name, field[F_PARAM], nl);
	name[nl] = '\0';
	struct iov v;
	rc = s3_query_get(iov_make(field[F_TARGET], len[F_TARGET]), name, a, &v);
	CHECK(rc == 0 || rc == 1 || rc == ERR_S3_INVALID_URI);
	if (rc == 1)
		CHECK(v.len <= len[F_TARGET]);
	uint8_t out[64];
	size_t n;
	if (base64_decode(iov_make(field[F_HOST], len[F_HOST]), out, sizeof(out), &n) == 0) {
		char back[BASE64_LEN(64) + 1];
		CHECK(base64_encode(out, n, back) == len[F_HOST]);
		CHECK(memcmp(back, field[F_HOST], len[F_HOST]) == 0);
	}
	arena_free(a);
	for (int i = 0; i < F_COUNT; i++)
		free(field[i]);
	return 0;
}
