/*
 * libFuzzer: s3/repl_xml. The input is a PutBucketReplication body. Every
 * answer must be one of the documented codes, with a message only where
 * one is documented; a successful parse must satisfy the result's contract
 * (rule count, unique non-empty IDs within the cap, a valid destination
 * bucket named by the ARN, V1/V2 consistency, unique V2 priorities) and
 * survive a trip through the writer and back to an equal configuration.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "s3/names.h"
#include "s3/repl_xml.h"

static bool known_error(int rc)
{
	return rc == ERR_S3_MALFORMED_XML || rc == ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED ||
	       rc == ERR_S3_MISSING_REQUEST_BODY || rc == ERR_S3_NOT_IMPLEMENTED ||
	       rc == ERR_S3_INVALID_ARGUMENT || rc == ERR_S3_INVALID_STORAGE_CLASS ||
	       rc == ERR_S3_INVALID_REQUEST;
}

static bool rule_eq(const struct meta_repl_rule *a, const struct meta_repl_rule *b)
{
	return iov_eq(a->id, b->id) && a->priority == b->priority && a->enabled == b->enabled &&
	       iov_eq(a->prefix, b->prefix) && iov_eq(a->dest_arn, b->dest_arn) &&
	       iov_eq(a->dest_bucket, b->dest_bucket) && iov_eq(a->peer, b->peer) &&
	       a->delete_markers == b->delete_markers && a->replica_mods == b->replica_mods &&
	       a->v1 == b->v1;
}

static void check_contract(const struct meta_repl_config *c)
{
	CHECK(c->nrules >= 1 && c->nrules <= META_REPL_RULES_MAX);
	CHECK(c->role.len <= META_REPL_ARN_MAX);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct meta_repl_rule *r = &c->rules[i];
		CHECK(r->id.len >= 1 && r->id.len <= META_REPL_RULE_ID_MAX);
		CHECK(r->prefix.len <= S3_REPL_XML_PREFIX_MAX);
		CHECK(s3_names_bucket_valid(r->dest_bucket) == 0);
		CHECK(r->dest_bucket.base + r->dest_bucket.len ==
		      r->dest_arn.base + r->dest_arn.len);
		CHECK(r->v1 == c->rules[0].v1);
		if (r->v1)
			CHECK(r->priority == 0 && r->delete_markers);
		else
			CHECK(r->priority >= 0);
		for (size_t j = 0; j < i; j++) {
			CHECK(!iov_eq(r->id, c->rules[j].id));
			if (!r->v1)
				CHECK(r->priority != c->rules[j].priority);
		}
	}
}

static struct arena *arena_a, *arena_b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!arena_a) {
		arena_a = arena_new(64u << 20);
		arena_b = arena_new(64u << 20);
		CHECK(arena_a && arena_b);
	}
	arena_reset(arena_a);
	arena_reset(arena_b);
	struct meta_repl_config c, d;
	const char *why;
	int rc = s3_repl_xml_parse(iov_make((const char *)data, size), arena_a, &c, &why);
	CHECK(rc == 0 || known_error(rc));
	if (rc != 0) {
		CHECK(c.nrules == 0 && c.rules == NULL);
		if (rc == ERR_S3_MALFORMED_XML || rc == ERR_S3_MISSING_REQUEST_BODY ||
		    rc == ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED)
			CHECK(why == NULL);
		if (rc == ERR_S3_NOT_IMPLEMENTED)
			CHECK(why != NULL);
		return 0;
	}
	CHECK(why == NULL);
	check_contract(&c);

	struct buf out;
	buf_init(&out, 8u << 20);
	CHECK(s3_repl_xml_write(&out, &c) == 0);
	rc = s3_repl_xml_parse(buf_iov(&out), arena_b, &d, &why);
	CHECK(rc == 0);
	CHECK(iov_eq(c.role, d.role));
	CHECK(c.nrules == d.nrules);
	for (size_t i = 0; i < c.nrules; i++)
		CHECK(rule_eq(&c.rules[i], &d.rules[i]));
	buf_free(&out);
	return 0;
}
