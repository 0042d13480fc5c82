/*
 * s3/repl_xml: PutBucketReplication bodies in the shapes aws-cli and boto3
 * send (V2 with Filter, V1 with a rule Prefix, every optional element S3
 * defines), each error class with S3's code and message, DTD / entity and
 * namespace refusal, the caps at and one past their limits, the generated
 * rule IDs, the exact GetBucketReplication answer, and write -> parse round
 * trips giving back an equal configuration (docs/internals/s3-repl-xml.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "s3/repl_xml.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define NS         "http://s3.amazonaws.com/doc/2006-03-01/"
#define DECL       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define CONFIG(x)  "<ReplicationConfiguration xmlns=\"" NS "\">" x "</ReplicationConfiguration>"
#define DEST(b)    "<Destination><Bucket>" b "</Bucket></Destination>"
#define DMR(s)     "<DeleteMarkerReplication><Status>" s "</Status></DeleteMarkerReplication>"
/* a minimal V2 rule with a given id, priority and prefix */
#define V2(id, prio, prefix)                                                        \
	"<Rule><ID>" id "</ID><Priority>" prio "</Priority><Filter><Prefix>" prefix \
	"</Prefix></Filter><Status>Enabled</Status>" DEST("arn:aws:s3:::dest")      \
	    DMR("Disabled") "</Rule>"
#define V1(id, prefix)                         \
	"<Rule><ID>" id "</ID><Prefix>" prefix \
	"</Prefix><Status>Enabled</Status>" DEST("arn:aws:s3:::dest") "</Rule>"

#define ROLE "<Role>arn:aws:iam::123456789012:role/s3-replication-role</Role>"

static struct arena *arena;

static int setup(void **state)
{
	(void)state;
	arena = arena_new(64u << 20);
	return arena ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	arena_free(arena);
	return 0;
}

static int parse(const char *body, size_t len, struct meta_repl_config *c, const char **why)
{
	arena_reset(arena);
	return s3_repl_xml_parse(iov_make(body, len), arena, c, why);
}

static void assert_iov(struct iov v, const char *want)
{
	assert_int_equal(v.len, strlen(want));
	if (v.len)
		assert_memory_equal(v.base, want, v.len);
}

static bool rule_eq(const struct meta_repl_rule *a, const struct meta_repl_rule *b)
{
	return iov_eq(a->id, b->id) && a->priority == b->priority && a->enabled == b->enabled &&
	       iov_eq(a->prefix, b->prefix) && iov_eq(a->dest_arn, b->dest_arn) &&
	       iov_eq(a->dest_bucket, b->dest_bucket) && iov_eq(a->peer, b->peer) &&
	       a->delete_markers == b->delete_markers && a->replica_mods == b->replica_mods &&
	       a->v1 == b->v1;
}

/* Write `c`, parse the answer (in a second arena) and compare. */
static void assert_round_trip(const struct meta_repl_config *c)
{
	struct buf out;
	buf_init(&out, 4u << 20);
	assert_int_equal(s3_repl_xml_write(&out, c), 0);
	struct arena *a2 = arena_new(64u << 20);
	struct meta_repl_config d;
	const char *why;
	int rc = s3_repl_xml_parse(buf_iov(&out), a2, &d, &why);
	if (rc)
		fail_msg("re-parse: %s (%s) of %.*s", err_name(rc), why ? why : "", (int)out.len,
		         out.data);
	assert_true(iov_eq(c->role, d.role));
	assert_int_equal(c->nrules, d.nrules);
	for (size_t i = 0; i < c->nrules; i++)
		assert_true(rule_eq(&c->rules[i], &d.rules[i]));
	arena_free(a2);
	buf_free(&out);
}

/* ---- accepted shapes --------------------------------------------------------------------- */

/* aws s3api put-bucket-replication with the documented example JSON
 * {"Role": ..., "Rules": [{"Status": "Enabled", "Priority": 1,
 *  "DeleteMarkerReplication": {"Status": "Disabled"}, "Filter": {"Prefix": "Tax"},
 *  "Destination": {"Bucket": "arn:aws:s3:::amzn-dest"}}]}
 * serialized as botocore does (members in shape order, no ID). */
static const char aws_cli_v2[] =
    DECL CONFIG(ROLE "<Rule><Priority>1</Priority><Filter><Prefix>Tax</Prefix></Filter>"
                     "<Status>Enabled</Status><Destination><Bucket>arn:aws:s3:::dest-bucket"
                     "</Bucket></Destination>" DMR("Disabled") "</Rule>");

static void v2_aws_cli(void **state)
{
	(void)state;
	struct meta_repl_config c;
	const char *why = "unset";
	assert_int_equal(parse(aws_cli_v2, strlen(aws_cli_v2), &c, &why), 0);
	assert_null(why);
	assert_iov(c.role, "arn:aws:iam::123456789012:role/s3-replication-role");
	assert_int_equal(c.nrules, 1);
	const struct meta_repl_rule *r = &c.rules[0];
	assert_iov(r->id, "rule-1");
	assert_int_equal(r->priority, 1);
	assert_true(r->enabled);
	assert_iov(r->prefix, "Tax");
	assert_iov(r->dest_arn, "arn:aws:s3:::dest-bucket");
	assert_iov(r->dest_bucket, "dest-bucket");
	assert_iov(r->peer, "");
	assert_false(r->delete_markers);
	assert_false(r->replica_mods);
	assert_false(r->v1);
	assert_round_trip(&c);
}

/* Every optional element S3 defines, set to what Meridian accepts, indented
 * as a hand-written file would be; an empty Filter; a region in the ARN. */
static const char all_fields[] =
    DECL "<ReplicationConfiguration xmlns=\"" NS "\">\n"
         "  <Role>arn:aws:iam::1:role/r</Role>\n"
         "  <Rule>\n"
         "    <ID>all &amp; more</ID>\n"
         "    <Priority>7</Priority>\n"
         "    <Filter><And><Prefix>logs/</Prefix></And></Filter>\n"
         "    <Status>Disabled</Status>\n"
         "    <SourceSelectionCriteria>\n"
         "      <ReplicaModifications><Status>Enabled</Status></ReplicaModifications>\n"
         "      <SseKmsEncryptedObjects><Status>Disabled</Status></SseKmsEncryptedObjects>\n"
         "    </SourceSelectionCriteria>\n"
         "    <ExistingObjectReplication><Status>Disabled</Status></ExistingObjectReplication>\n"
         "    <Destination>\n"
         "      <Bucket>arn:aws:s3:eu-west-1::backup.bucket-2</Bucket>\n"
         "      <Account>123456789012</Account>\n"
         "      <StorageClass>STANDARD</StorageClass>\n"
         "      <ReplicationTime><Status>Disabled</Status><Time><Minutes>15</Minutes></Time>"
         "</ReplicationTime>\n"
         "      <Metrics><Status>Disabled</Status><EventThreshold><Minutes>15</Minutes>"
         "</EventThreshold></Metrics>\n"
         "    </Destination>\n"
         "    <DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>\n"
         "  </Rule>\n"
         "  <Rule><ID>second</ID><Priority>2</Priority><Filter/><Status>Enabled</Status>"
         "<Destination><Bucket>arn:aws:s3:::other</Bucket></Destination>"
         "<DeleteMarkerReplication/></Rule>\n"
         "</ReplicationConfiguration>\n";

static void v2_all_fields(void **state)
{
	(void)state;
	struct meta_repl_config c;
	const char *why;
	assert_int_equal(parse(all_fields, strlen(all_fields), &c, &why), 0);
	assert_iov(c.role, "arn:aws:iam::1:role/r");
	assert_int_equal(c.nrules, 2);
	const struct meta_repl_rule *r = &c.rules[0];
	assert_iov(r->id, "all & more");
	assert_int_equal(r->priority, 7);
	assert_false(r->enabled);
	assert_iov(r->prefix, "logs/");
	assert_iov(r->dest_arn, "arn:aws:s3:eu-west-1::backup.bucket-2");
	assert_iov(r->dest_bucket, "backup.bucket-2");
	assert_iov(r->peer, "eu-west-1");
	assert_true(r->delete_markers);
	assert_true(r->replica_mods);
	assert_false(r->v1);
	r = &c.rules[1];
	assert_iov(r->id, "second");
	assert_iov(r->prefix, "");
	assert_false(r->delete_markers); /* an empty DeleteMarkerReplication: Disabled */
	assert_iov(r->dest_bucket, "other");
	assert_round_trip(&c);
}

/* No namespace is accepted too (S3 does), and so is no declaration. */
static void v2_no_namespace(void **state)
{
	(void)state;
	static const char body[] =
	    "<ReplicationConfiguration>" V2("a", "1", "x") "</ReplicationConfiguration>";
	struct meta_repl_config c;
	const char *why;
	assert_int_equal(parse(body, strlen(body), &c, &why), 0);
	assert_iov(c.rules[0].id, "a");
	assert_iov(c.role, "");
}

/* The V1 form: Prefix in Rule, no Filter. Delete markers replicate, a
 * Priority is ignored, missing IDs are generated. */
static void v1_rules(void **state)
{
	(void)state;
	static const char body[] =
	    CONFIG(ROLE "<Rule><Prefix>a/</Prefix><Status>Enabled</Status>" DEST(
	        "arn:aws:s3:::dst1") "</Rule>"
	                             "<Rule><ID>mine</ID><Priority>9</Priority><Prefix>b/</"
	                             "Prefix><Status>Disabled"
	                             "</"
	                             "Status><SourceSelectionCriteria><ReplicaModifications><"
	                             "Status>"
	                             "Enabled</Status>"
	                             "</ReplicaModifications></SourceSelectionCriteria>" DEST(
	                                 "arn:aws:s3:::dst2") "</Rule>");
	struct meta_repl_config c;
	const char *why;
	assert_int_equal(parse(body, strlen(body), &c, &why), 0);
	assert_int_equal(c.nrules, 2);
	assert_true(c.rules[0].v1);
	assert_iov(c.rules[0].id, "rule-1");
	assert_iov(c.rules[0].prefix, "a/");
	assert_true(c.rules[0].delete_markers);
	assert_int_equal(c.rules[0].priority, 0);
	assert_true(c.rules[1].v1);
	assert_iov(c.rules[1].id, "mine");
	assert_int_equal(c.rules[1].priority, 0);
	assert_false(c.rules[1].enabled);
	assert_true(c.rules[1].replica_mods);
	assert_true(c.rules[1].delete_markers);
	assert_round_trip(&c);
}

/* Generated IDs are stable and never collide with given ones. */
static void generated_ids(void **state)
{
	(void)state;
	static const char body[] = CONFIG(V2("", "1", "a") V2("rule-1", "2", "b") V2(
	    "rule-3", "3", "c") "<Rule><Priority>4</Priority><Filter/><Status>Enabled</"
	                        "Status>" DEST("arn:aws:s3:::dest") DMR("Disabled") "</Rule>");
	struct meta_repl_config c;
	const char *why;
	assert_int_equal(parse(body, strlen(body), &c, &why), 0);
	assert_iov(c.rules[0].id, "rule-1-2");
	assert_iov(c.rules[1].id, "rule-1");
	assert_iov(c.rules[2].id, "rule-3");
	assert_iov(c.rules[3].id, "rule-4");
	assert_round_trip(&c);
	/* the same body, the same ids */
	assert_int_equal(parse(body, strlen(body), &c, &why), 0);
	assert_iov(c.rules[0].id, "rule-1-2");
}

/* The result lives in the arena, not in the body. */
static void result_outlives_body(void **state)
{
	(void)state;
	char *copy = strdup(aws_cli_v2);
	assert_non_null(copy);
	struct meta_repl_config c;
	const char *why;
	assert_int_equal(parse(copy, strlen(copy), &c, &why), 0);
	memset(copy, 'x', strlen(copy));
	free(copy);
	assert_iov(c.rules[0].prefix, "Tax");
	assert_iov(c.rules[0].dest_bucket, "dest-bucket");
}

/* ---- writer ------------------------------------------------------------------------------ */

static void writer_exact(void **state)
{
	(void)state;
	struct meta_repl_rule rules[2] = {
		{
		    .id = IOV_LIT("a<b"),
		    .priority = 3,
		    .enabled = true,
		    .prefix = IOV_LIT("p&q"),
		    .dest_arn = IOV_LIT("arn:aws:s3:::dst"),
		    .dest_bucket = IOV_LIT("dst"),
		    .delete_markers = true,
		    .replica_mods = true,
		},
		{
		    .id = IOV_LIT("old"),
		    .prefix = IOV_LIT(""),
		    .dest_arn = IOV_LIT("arn:aws:s3:::eee"),
		    .dest_bucket = IOV_LIT("eee"),
		    .delete_markers = true,
		    .v1 = true,
		},
	};
	struct meta_repl_config c = { .role = IOV_LIT("role"), .rules = rules, .nrules = 2 };
	struct buf out;
	buf_init(&out, 1 << 16);
	assert_int_equal(s3_repl_xml_write(&out, &c), 0);
	const char *want = DECL
	    "<ReplicationConfiguration xmlns=\"" NS "\"><Role>role</Role>"
	    "<Rule><ID>a&lt;b</ID><Priority>3</Priority><Filter><Prefix>p&amp;q</Prefix>"
	    "</Filter><Status>Enabled</Status><SourceSelectionCriteria><ReplicaModifications>"
	    "<Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>"
	    "<Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination>"
	    "<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication></Rule>"
	    "<Rule><ID>old</ID><Prefix></Prefix><Status>Disabled</Status>"
	    "<Destination><Bucket>arn:aws:s3:::eee</Bucket></Destination></Rule>"
	    "</ReplicationConfiguration>";
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	/* the buffer's cap is an error, not growth */
	struct buf small;
	buf_init(&small, 100);
	assert_int_equal(s3_repl_xml_write(&small, &c), ERR_TOO_BIG);
	assert_true(small.len <= 100);
	buf_free(&small);
	buf_free(&out);
}

/* Prefixes and IDs with every kind of character XML 1.0 can carry. */
static void round_trip_text(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"tab\there",
		"line\nfeed",
		"cr\rreturn",
		"quote\"apos'",
		"]]>",
		"&amp;",
		"\xc3\xa9t\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80",
		" lead and trail ",
	};
	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		struct meta_repl_rule r = {
			.id = iov_cstr(texts[i]),
			.priority = (int32_t)i,
			.prefix = iov_cstr(texts[i]),
			.dest_arn = IOV_LIT("arn:aws:s3:us-east-1::dest"),
			.dest_bucket = IOV_LIT("dest"),
			.peer = IOV_LIT("us-east-1"),
		};
		struct meta_repl_config c = { .role = iov_cstr(texts[i]),
			                      .rules = &r,
			                      .nrules = 1 };
		assert_round_trip(&c);
		r.v1 = true;
		r.priority = 0;
		r.delete_markers = true;
		assert_round_trip(&c);
	}
}

/* ---- refusals ---------------------------------------------------------------------------- */

struct bad {
	const char *body;
	int rc;
	const char *why; /* a substring of the message, or NULL: the default message */
};

static const struct bad bads[] = {
	/* not well-formed, DTDs, entities, namespaces, structure */
	{ "<ReplicationConfiguration", ERR_S3_MALFORMED_XML, NULL },
	{ "<!DOCTYPE r [<!ENTITY x \"y\">]>" CONFIG(V2("a", "1", "&x;")), ERR_S3_MALFORMED_XML,
	  NULL },
	{ "<!DOCTYPE ReplicationConfiguration SYSTEM \"file:///etc/passwd\">" CONFIG(
	      V2("a", "1", "x")),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG(V2("a", "1", "&unknown;")), ERR_S3_MALFORMED_XML, NULL },
	{ "<ReplicationConfiguration xmlns=\"http://example.com/\">" V2(
	      "a", "1", "x") "</ReplicationConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ "<ReplicationConfiguration xmlns:o=\"http://example.com/\">"
	  "<o:Rule/></ReplicationConfiguration>",
	  ERR_S3_MALFORMED_XML, NULL },
	{ "<VersioningConfiguration/>", ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG(""), ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG(ROLE ROLE V2("a", "1", "x")), ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG(V2("a", "1", "x") "<Unknown/>"), ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("text" V2("a", "1", "x")), ERR_S3_MALFORMED_XML, NULL },
	/* a rule: Status and Destination/Bucket required, typed values */
	{ CONFIG("<Rule><Priority>1</Priority><Filter/>" DEST("arn:aws:s3:::dst")
	             DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DMR(
	      "Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status><Destination/>" DMR(
	      "Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>enabled</Status>" DEST(
	      "arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>one</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>4294967296</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst") DMR("On") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	/* both or neither of the V1 Prefix and the V2 Filter; a Filter with two children */
	{ CONFIG("<Rule><Priority>1</Priority><Prefix>a</Prefix><Filter/><Status>Enabled</"
	         "Status>" DEST("arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Status>Enabled</Status>" DEST("arn:aws:s3:::dst") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter><Prefix>a</Prefix><And/></Filter>"
	         "<Status>Enabled</Status>" DEST("arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst") "<SourceSelectionCriteria><ReplicaModifications/>"
	                          "</SourceSelectionCriteria>" DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><ReplicationTime><Status>Disabled"
	         "</Status></ReplicationTime></Destination>" DMR("Disabled") "</Rule>"),
	  ERR_S3_MALFORMED_XML, NULL },
	/* features Meridian does not have */
	{ CONFIG("<Rule><Priority>1</Priority><Filter><Tag><Key>k</Key><Value>v</Value></Tag>"
	         "</Filter><Status>Enabled</Status>" DEST("arn:aws:s3:::dst")
	             DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "Tag filters" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key>"
	         "<Value>v</Value></Tag></And></Filter><Status>Enabled</Status>" DEST(
	             "arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "Tag filters" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status>"
	         "</SseKmsEncryptedObjects></SourceSelectionCriteria>" DEST("arn:aws:s3:::dst")
	             DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "SSE-KMS" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<ExistingObjectReplication><Status>Enabled</Status></"
	         "ExistingObjectReplication>" DEST("arn:aws:s3:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "Existing object" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><ReplicationTime><Status>Enabled"
	         "</Status><Time><Minutes>15</Minutes></Time></ReplicationTime></Destination>" DMR(
	             "Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "Replication Time Control" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><Metrics><Status>Enabled</Status>"
	         "</Metrics></Destination>" DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "metrics" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><AccessControlTranslation><Owner>"
	         "Destination</Owner></AccessControlTranslation></Destination>" DMR(
	             "Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "AccessControlTranslation" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration>"
	         "<ReplicaKmsKeyID>k</ReplicaKmsKeyID></EncryptionConfiguration></Destination>" DMR(
	             "Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "encryption" },
	{ CONFIG(
	      "<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	      "<Destination><Bucket>arn:aws:s3:::dst</Bucket><StorageClass>GLACIER</StorageClass>"
	      "</Destination>" DMR("Disabled") "</Rule>"),
	  ERR_S3_NOT_IMPLEMENTED, "STANDARD" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>"
	         "<Destination><Bucket>arn:aws:s3:::dst</Bucket><StorageClass>COLD</StorageClass>"
	         "</Destination>" DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_STORAGE_CLASS, NULL },
	/* values */
	{ CONFIG(V2("a", "-1", "x")), ERR_S3_INVALID_ARGUMENT, "negative" },
	{ CONFIG(V2("a", "1", "x") "<Rule><ID>b</ID><Priority>2</Priority><Filter/><Status>Enabled"
	                           "</Status>" DEST("s3://d") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::Bad_Name") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3::123456789012:dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:EU WEST::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst/key") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:iam:::dst") DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_ARGUMENT, "ARN" },
	/* whole-configuration rules */
	{ CONFIG(V2("a", "1", "x") V2("a", "2", "y")), ERR_S3_INVALID_REQUEST,
	  "duplicate rule ID: a" },
	{ CONFIG(V2("a", "1", "x") V2("b", "1", "y")), ERR_S3_INVALID_REQUEST,
	  "duplicate priority 1" },
	{ CONFIG(V2("a", "1", "x") V1("b", "y")), ERR_S3_INVALID_REQUEST, "cannot be mixed" },
	{ CONFIG("<Rule><Filter/><Status>Enabled</Status>" DEST("arn:aws:s3:::dst")
	             DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_REQUEST, "Priority must be specified" },
	{ CONFIG("<Rule><Priority>1</Priority><Filter/><Status>Enabled</Status>" DEST(
	      "arn:aws:s3:::dst") "</Rule>"),
	  ERR_S3_INVALID_REQUEST, "DeleteMarkerReplication must be specified" },
	{ CONFIG("<Rule><Prefix>a</Prefix><Status>Enabled</Status>" DEST("arn:aws:s3:::dst")
	             DMR("Disabled") "</Rule>"),
	  ERR_S3_INVALID_REQUEST, "DeleteMarkerReplication needs a Filter" },
	{ CONFIG(V1("a", "logs/") V1("b", "logs/2024/")), ERR_S3_INVALID_REQUEST, "overlapping" },
	{ CONFIG(V1("a", "") V1("b", "x")), ERR_S3_INVALID_REQUEST, "overlapping" },
	/* MalformedXML before a semantic error */
	{ CONFIG(V2("a", "1", "x") V2("a", "1", "x") "<Bad/>"), ERR_S3_MALFORMED_XML, NULL },
	{ CONFIG(V2("a", "-1", "x")) "junk", ERR_S3_MALFORMED_XML, NULL },
	/* empty */
	{ "", ERR_S3_MISSING_REQUEST_BODY, NULL },
};

static void refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMS(bads); i++) {
		struct meta_repl_config c = { .nrules = 99 };
		const char *why = "unset";
		int rc = parse(bads[i].body, strlen(bads[i].body), &c, &why);
		if (rc != bads[i].rc)
			fail_msg("case %zu: got %s, want %s (%s)", i, err_name(rc),
			         err_name(bads[i].rc), why ? why : "");
		assert_int_equal(c.nrules, 0);
		assert_null(c.rules);
		if (!bads[i].why) {
			if (why)
				fail_msg("case %zu: unexpected message %s", i, why);
		} else if (!why || !strstr(why, bads[i].why)) {
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, why ? why : "(null)",
			         bads[i].why);
		}
	}
}

/* The handler may hand an absent body over as IOV_NULL. */
static void null_body(void **state)
{
	(void)state;
	struct meta_repl_config c;
	const char *why;
	arena_reset(arena);
	assert_int_equal(s3_repl_xml_parse(IOV_NULL, arena, &c, &why), ERR_S3_MISSING_REQUEST_BODY);
	assert_null(why);
}

/* ---- caps -------------------------------------------------------------------------------- */

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, ch, n);
	s[n] = 0;
	return s;
}

static int parse_rule_with(const char *id, const char *prefix, const char *role, const char **why)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_printf(&b,
	                            "<ReplicationConfiguration><Role>%s</Role><Rule><ID>%s</ID>"
	                            "<Priority>1</Priority><Filter><Prefix>%s</Prefix></Filter>"
	                            "<Status>Enabled</Status>" DEST("arn:aws:s3:::dst")
	                                DMR("Disabled") "</Rule></ReplicationConfiguration>",
	                            role, id, prefix),
	                 0);
	struct meta_repl_config c;
	int rc = parse(b.data, b.len, &c, why);
	if (rc == 0) {
		assert_int_equal(c.rules[0].id.len, strlen(id));
		assert_int_equal(c.rules[0].prefix.len, strlen(prefix));
		assert_int_equal(c.role.len, strlen(role));
		assert_round_trip(&c);
	}
	buf_free(&b);
	return rc;
}

static void field_caps(void **state)
{
	(void)state;
	char *id = repeat('i', META_REPL_RULE_ID_MAX + 1);
	char *prefix = repeat('p', S3_REPL_XML_PREFIX_MAX + 1);
	char *role = repeat('r', META_REPL_ARN_MAX + 1);
	const char *why;
	/* at the caps */
	assert_int_equal(parse_rule_with(id + 1, prefix + 1, role + 1, &why), 0);
	/* one past each */
	assert_int_equal(parse_rule_with(id, "p", "r", &why), ERR_S3_INVALID_ARGUMENT);
	assert_non_null(strstr(why, "255"));
	assert_int_equal(parse_rule_with("i", prefix, "r", &why), ERR_S3_INVALID_ARGUMENT);
	assert_non_null(strstr(why, "1024"));
	assert_int_equal(parse_rule_with("i", "p", role, &why), ERR_S3_INVALID_ARGUMENT);
	assert_non_null(strstr(why, "Role"));
	/* a multi-byte ID: the cap counts bytes */
	char euro[3 * 86 + 1];
	for (size_t i = 0; i < 86; i++)
		memcpy(euro + 3 * i, "\xe2\x82\xac", 3);
	euro[3 * 86] = 0;
	assert_int_equal(parse_rule_with(euro, "p", "r", &why), ERR_S3_INVALID_ARGUMENT);
	euro[3 * 85] = 0;
	assert_int_equal(parse_rule_with(euro, "p", "r", &why), 0);
	free(id);
	free(prefix);
	free(role);
}

/* n V2 rules with distinct priorities and no ID. */
static void rules_body(struct buf *b, size_t n)
{
	buf_reset(b);
	assert_int_equal(buf_add_str(b, "<ReplicationConfiguration>"), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(b,
		                            "<Rule><Priority>%zu</Priority><Filter><Prefix>k%zu/"
		                            "</Prefix></Filter><Status>Enabled</Status>" DEST(
		                                "arn:aws:s3:::dst") DMR("Disabled") "</Rule>",
		                            i, i),
		                 0);
	assert_int_equal(buf_add_str(b, "</ReplicationConfiguration>"), 0);
}

static void rule_count_and_body_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4u << 20);
	struct meta_repl_config c;
	const char *why;
	rules_body(&b, META_REPL_RULES_MAX);
	assert_int_equal(parse(b.data, b.len, &c, &why), 0);
	assert_int_equal(c.nrules, META_REPL_RULES_MAX);
	assert_iov(c.rules[999].id, "rule-1000");
	assert_iov(c.rules[999].prefix, "k999/");
	assert_round_trip(&c);
	rules_body(&b, META_REPL_RULES_MAX + 1);
	assert_int_equal(parse(b.data, b.len, &c, &why), ERR_S3_MALFORMED_XML);

	/* the body cap: a Role padded with spaces around it (inside the element
	 * content, where whitespace is allowed) to exactly the cap, then one past */
	static const char head[] = "<ReplicationConfiguration>" V2("a", "1", "x");
	static const char tail[] = "</ReplicationConfiguration>";
	size_t pad = S3_REPL_XML_MAX - strlen(head) - strlen(tail);
	buf_reset(&b);
	assert_int_equal(buf_add_str(&b, head), 0);
	for (size_t i = 0; i < pad; i++)
		assert_int_equal(buf_add_char(&b, ' '), 0);
	assert_int_equal(buf_add_str(&b, tail), 0);
	assert_int_equal(b.len, S3_REPL_XML_MAX);
	assert_int_equal(parse(b.data, b.len, &c, &why), 0);
	b.len -= strlen(tail);
	assert_int_equal(buf_add_str(&b, " "), 0);
	assert_int_equal(buf_add_str(&b, tail), 0);
	assert_int_equal(parse(b.data, b.len, &c, &why), ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED);
	buf_free(&b);
}

/* A full arena is ERR_NOMEM, never a partial result. */
static void arena_exhausted(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4u << 20);
	rules_body(&b, 200);
	struct meta_repl_config c;
	const char *why;
	struct arena *small = arena_new(4096);
	assert_non_null(small);
	assert_int_equal(s3_repl_xml_parse(buf_iov(&b), small, &c, &why), ERR_NOMEM);
	assert_int_equal(c.nrules, 0);
	arena_free(small);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v2_aws_cli),      cmocka_unit_test(v2_all_fields),
		cmocka_unit_test(v2_no_namespace), cmocka_unit_test(v1_rules),
		cmocka_unit_test(generated_ids),   cmocka_unit_test(result_outlives_body),
		cmocka_unit_test(writer_exact),    cmocka_unit_test(round_trip_text),
		cmocka_unit_test(refusals),        cmocka_unit_test(null_body),
		cmocka_unit_test(field_caps),      cmocka_unit_test(rule_count_and_body_cap),
		cmocka_unit_test(arena_exhausted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
