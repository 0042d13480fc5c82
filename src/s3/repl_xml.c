/*
 * PutBucketReplication / GetBucketReplication bodies on the shared strict
 * reader (http/xml) and the S3 writer (s3/xml_writer). One rule table holds
 * the document's elements; the callbacks fill a heap array of pending rules
 * with their strings already in the caller's arena; whole-configuration
 * rules run once the document is known to be well-formed. Pure; any thread.
 */
#include "s3/repl_xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "http/xml.h"
#include "s3/names.h"
#include "s3/xml_writer.h"

#define VALUE_MAX 64 /* statuses, priorities, minutes, storage classes, accounts */

enum elem {
	E_CONFIG,
	E_ROLE,
	E_RULE,
	E_ID,
	E_PRIORITY,
	E_STATUS,
	E_RULE_PREFIX, /* V1 */
	E_FILTER,
	E_FILTER_PREFIX,
	E_FILTER_TAG,
	E_AND,
	E_AND_PREFIX,
	E_AND_TAG,
	E_DMR,
	E_DMR_STATUS,
	E_SSC,
	E_RM,
	E_RM_STATUS,
	E_SSE,
	E_SSE_STATUS,
	E_EOR,
	E_EOR_STATUS,
	E_DEST,
	E_BUCKET,
	E_ACCOUNT,
	E_STORAGE_CLASS,
	E_ACT,
	E_ENC,
	E_RTC,
	E_RTC_STATUS,
	E_RTC_TIME,
	E_RTC_MINUTES,
	E_METRICS,
	E_METRICS_STATUS,
	E_THRESHOLD,
	E_THRESHOLD_MINUTES,
	E__COUNT
};

#define LEAF(parent, name, cap)                     \
	{                                           \
		name, parent, HTTP_XML_LEAF, 1, cap \
	}
/* over its cap the leaf callback is told, and answers InvalidArgument */
#define LEAF_CUT(parent, name, cap)                                   \
	{                                                             \
		name, parent, HTTP_XML_LEAF | HTTP_XML_CUT_OK, 1, cap \
	}
#define BOX(parent, name)             \
	{                             \
		name, parent, 0, 1, 0 \
	}
/* S3 defines it, Meridian does not support it: refused when it opens */
#define UNSUPPORTED(parent, name)     \
	{                             \
		name, parent, 0, 0, 0 \
	}

static const struct http_xml_rule rules[] = {
	[E_CONFIG] = { "ReplicationConfiguration", HTTP_XML_NO_PARENT, 0, 1, 0 },
	[E_ROLE] = LEAF_CUT(E_CONFIG, "Role", META_REPL_ARN_MAX),
	[E_RULE] = { "Rule", E_CONFIG, 0, META_REPL_RULES_MAX, 0 },
	[E_ID] = LEAF_CUT(E_RULE, "ID", META_REPL_RULE_ID_MAX),
	[E_PRIORITY] = LEAF(E_RULE, "Priority", VALUE_MAX),
	[E_STATUS] = LEAF(E_RULE, "Status", VALUE_MAX),
	[E_RULE_PREFIX] = LEAF_CUT(E_RULE, "Prefix", S3_REPL_XML_PREFIX_MAX),
	[E_FILTER] = BOX(E_RULE, "Filter"),
	[E_FILTER_PREFIX] = LEAF_CUT(E_FILTER, "Prefix", S3_REPL_XML_PREFIX_MAX),
	[E_FILTER_TAG] = UNSUPPORTED(E_FILTER, "Tag"),
	[E_AND] = BOX(E_FILTER, "And"),
	[E_AND_PREFIX] = LEAF_CUT(E_AND, "Prefix", S3_REPL_XML_PREFIX_MAX),
	[E_AND_TAG] = UNSUPPORTED(E_AND, "Tag"),
	[E_DMR] = BOX(E_RULE, "DeleteMarkerReplication"),
	[E_DMR_STATUS] = LEAF(E_DMR, "Status", VALUE_MAX),
	[E_SSC] = BOX(E_RULE, "SourceSelectionCriteria"),
	[E_RM] = BOX(E_SSC, "ReplicaModifications"),
	[E_RM_STATUS] = LEAF(E_RM, "Status", VALUE_MAX),
	[E_SSE] = BOX(E_SSC, "SseKmsEncryptedObjects"),
	[E_SSE_STATUS] = LEAF(E_SSE, "Status", VALUE_MAX),
	[E_EOR] = BOX(E_RULE, "ExistingObjectReplication"),
	[E_EOR_STATUS] = LEAF(E_EOR, "Status", VALUE_MAX),
	[E_DEST] = BOX(E_RULE, "Destination"),
	[E_BUCKET] = LEAF_CUT(E_DEST, "Bucket", META_REPL_ARN_MAX),
	[E_ACCOUNT] = LEAF(E_DEST, "Account", VALUE_MAX),
	[E_STORAGE_CLASS] = LEAF(E_DEST, "StorageClass", VALUE_MAX),
	[E_ACT] = UNSUPPORTED(E_DEST, "AccessControlTranslation"),
	[E_ENC] = UNSUPPORTED(E_DEST, "EncryptionConfiguration"),
	[E_RTC] = BOX(E_DEST, "ReplicationTime"),
	[E_RTC_STATUS] = LEAF(E_RTC, "Status", VALUE_MAX),
	[E_RTC_TIME] = BOX(E_RTC, "Time"),
	[E_RTC_MINUTES] = LEAF(E_RTC_TIME, "Minutes", VALUE_MAX),
	[E_METRICS] = BOX(E_DEST, "Metrics"),
	[E_METRICS_STATUS] = LEAF(E_METRICS, "Status", VALUE_MAX),
	[E_THRESHOLD] = BOX(E_METRICS, "EventThreshold"),
	[E_THRESHOLD_MINUTES] = LEAF(E_THRESHOLD, "Minutes", VALUE_MAX),
};

_Static_assert(sizeof(rules) / sizeof(rules[0]) == E__COUNT, "a rule for every element");
_Static_assert(E__COUNT <= HTTP_XML_MAX_RULES, "the reader's seen mask holds every element");

/* A rule being read, with what the whole-configuration checks need. */
struct pending {
	struct meta_repl_rule r;
	bool has_priority, has_filter, has_rule_prefix, has_dmr;
};

struct ctx {
	struct arena *a;
	struct pending *rules; /* heap; copied to the arena at the end */
	size_t n, cap;
	struct iov role;
	int later;           /* first semantic error, reported if the document is well-formed */
	const char *why;     /* its message, or NULL */
	const char *now_why; /* message for an immediate refusal (NotImplemented) */
};

static void fail_later(struct ctx *c, int err, const char *why)
{
	if (c->later == 0) {
		c->later = err;
		c->why = why;
	}
}

static int refuse_now(struct ctx *c, int err, const char *why)
{
	c->now_why = why;
	return err;
}

static struct pending *cur(struct ctx *c)
{
	return &c->rules[c->n - 1];
}

static int keep(struct ctx *c, struct iov v, struct iov *out)
{
	struct iov d = arena_dup(c->a, v);
	if (!d.base)
		return ERR_NOMEM;
	*out = d;
	return 0;
}

/* ---- values ----------------------------------------------------------------------------- */

/* Enabled / Disabled, exactly (an xs:string enumeration: no trimming). */
static int status(struct iov v, bool *enabled)
{
	if (iov_eq(v, IOV_LIT("Enabled")))
		*enabled = true;
	else if (iov_eq(v, IOV_LIT("Disabled")))
		*enabled = false;
	else
		return ERR_S3_MALFORMED_XML;
	return 0;
}

/* A status that may only be Disabled here: Enabled asks for a missing feature. */
static int status_off(struct ctx *c, struct iov v, const char *feature_why)
{
	bool on;
	int rc = status(v, &on);
	if (rc)
		return rc;
	return on ? refuse_now(c, ERR_S3_NOT_IMPLEMENTED, feature_why) : 0;
}

static int minutes(struct iov v)
{
	int64_t m;
	return http_xml_int(v, &m) == 0 ? 0 : ERR_S3_MALFORMED_XML;
}

static bool region_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/*
 * arn:aws:s3:::BUCKET or arn:aws:s3:REGION::BUCKET. *bucket and *region
 * point into `arn`. 0 or ERR_S3_INVALID_ARGUMENT.
 */
static int parse_arn(struct iov arn, struct iov *region, struct iov *bucket)
{
	static const struct iov head = IOV_LIT("arn:aws:s3:");
	if (!iov_starts(arn, head))
		return ERR_S3_INVALID_ARGUMENT;
	struct iov rest = iov_sub(arn, head.len, arn.len - head.len);
	struct iov reg, account;
	rest = iov_split(rest, ':', &reg);
	if (!rest.base)
		return ERR_S3_INVALID_ARGUMENT;
	rest = iov_split(rest, ':', &account);
	if (!rest.base || account.len != 0)
		return ERR_S3_INVALID_ARGUMENT;
	if (reg.len > S3_REPL_XML_REGION_MAX)
		return ERR_S3_INVALID_ARGUMENT;
	for (size_t i = 0; i < reg.len; i++)
		if (!region_char(reg.base[i]))
			return ERR_S3_INVALID_ARGUMENT;
	if (s3_names_bucket_valid(rest) != 0)
		return ERR_S3_INVALID_ARGUMENT;
	*region = reg;
	*bucket = rest;
	return 0;
}

/* The storage classes S3 defines for a replica. */
static bool storage_class_known(struct iov v)
{
	static const char *const known[] = {
		"STANDARD",
		"REDUCED_REDUNDANCY",
		"STANDARD_IA",
		"ONEZONE_IA",
		"INTELLIGENT_TIERING",
		"GLACIER",
		"DEEP_ARCHIVE",
		"OUTPOSTS",
		"GLACIER_IR",
		"SNOW",
		"EXPRESS_ONEZONE",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (iov_eq(v, iov_cstr(known[i])))
			return true;
	return false;
}

/* ---- leaves ----------------------------------------------------------------------------- */

static int leaf_prefix(struct ctx *c, struct iov v, bool cut)
{
	if (cut) {
		fail_later(c, ERR_S3_INVALID_ARGUMENT, "The prefix is longer than 1024 bytes.");
		cur(c)->r.prefix = IOV_LIT("");
		return 0;
	}
	return keep(c, v, &cur(c)->r.prefix);
}

static int leaf_priority(struct ctx *c, struct iov v)
{
	int64_t p;
	if (http_xml_int(v, &p) != 0)
		return ERR_S3_MALFORMED_XML;
	if (p < 0)
		fail_later(c, ERR_S3_INVALID_ARGUMENT, "Priority must not be negative.");
	cur(c)->r.priority = (int32_t)p;
	cur(c)->has_priority = true;
	return 0;
}

static int leaf_bucket(struct ctx *c, struct iov v, bool cut)
{
	struct meta_repl_rule *r = &cur(c)->r;
	if (cut) {
		fail_later(c, ERR_S3_INVALID_ARGUMENT, "The destination bucket ARN is too long.");
		return 0;
	}
	int rc = keep(c, v, &r->dest_arn);
	if (rc)
		return rc;
	if (parse_arn(r->dest_arn, &r->peer, &r->dest_bucket) != 0)
		fail_later(c, ERR_S3_INVALID_ARGUMENT,
		           "Invalid destination bucket: use the ARN arn:aws:s3:::bucket-name.");
	return 0;
}

static int leaf_storage_class(struct ctx *c, struct iov v)
{
	if (iov_eq(v, IOV_LIT("STANDARD")))
		return 0;
	if (!storage_class_known(v)) {
		fail_later(c, ERR_S3_INVALID_STORAGE_CLASS, NULL);
		return 0;
	}
	return refuse_now(c, ERR_S3_NOT_IMPLEMENTED,
	                  "Replicas are stored in the STANDARD storage class only.");
}

static int on_leaf(struct http_xml_reader *x, void *ctx, int id, struct iov v, bool cut)
{
	struct ctx *c = ctx;
	(void)x;
	switch (id) {
	case E_ROLE:
		if (cut) {
			fail_later(c, ERR_S3_INVALID_ARGUMENT, "The Role is too long.");
			return 0;
		}
		return keep(c, v, &c->role);
	case E_ID:
		if (cut) {
			fail_later(c, ERR_S3_INVALID_ARGUMENT,
			           "ID length should not exceed allowed limit of 255");
			return 0;
		}
		return keep(c, v, &cur(c)->r.id);
	case E_PRIORITY:
		return leaf_priority(c, v);
	case E_STATUS:
		return status(v, &cur(c)->r.enabled);
	case E_RULE_PREFIX:
	case E_FILTER_PREFIX:
	case E_AND_PREFIX:
		return leaf_prefix(c, v, cut);
	case E_DMR_STATUS:
		return status(v, &cur(c)->r.delete_markers);
	case E_RM_STATUS:
		return status(v, &cur(c)->r.replica_mods);
	case E_SSE_STATUS:
		return status_off(c, v, "Replicating SSE-KMS encrypted objects is not supported.");
	case E_EOR_STATUS:
		return status_off(c, v, "Existing object replication is not supported.");
	case E_BUCKET:
		return leaf_bucket(c, v, cut);
	case E_ACCOUNT:
		return 0; /* one owner namespace: the account is not used */
	case E_STORAGE_CLASS:
		return leaf_storage_class(c, v);
	case E_RTC_STATUS:
		return status_off(c, v, "Replication Time Control is not supported.");
	case E_METRICS_STATUS:
		return status_off(c, v, "Replication metrics are not supported.");
	case E_RTC_MINUTES:
	case E_THRESHOLD_MINUTES:
		return minutes(v);
	default:
		CHECK(!"a leaf without a setter");
		return ERR_S3_MALFORMED_XML;
	}
}

/* ---- containers ------------------------------------------------------------------------- */

static int open_rule(struct ctx *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct pending *p = realloc(c->rules, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		c->rules = p;
		c->cap = cap;
	}
	memset(&c->rules[c->n++], 0, sizeof(c->rules[0]));
	return 0;
}

static int on_open(struct http_xml_reader *x, void *ctx, int id)
{
	struct ctx *c = ctx;
	(void)x;
	switch (id) {
	case E_RULE:
		return open_rule(c);
	case E_FILTER_TAG:
	case E_AND_TAG:
		return refuse_now(c, ERR_S3_NOT_IMPLEMENTED,
		                  "Tag filters in replication rules are not supported.");
	case E_ACT:
		return refuse_now(c, ERR_S3_NOT_IMPLEMENTED,
		                  "AccessControlTranslation is not supported.");
	case E_ENC:
		return refuse_now(c, ERR_S3_NOT_IMPLEMENTED,
		                  "Replica encryption configuration is not supported.");
	default:
		return 0;
	}
}

/* Children a container must have, by its rule id. */
static uint64_t required(int id)
{
	switch (id) {
	case E_RULE:
		return HTTP_XML_BIT(E_STATUS) | HTTP_XML_BIT(E_DEST);
	case E_DEST:
		return HTTP_XML_BIT(E_BUCKET);
	case E_RM:
		return HTTP_XML_BIT(E_RM_STATUS);
	case E_SSE:
		return HTTP_XML_BIT(E_SSE_STATUS);
	case E_EOR:
		return HTTP_XML_BIT(E_EOR_STATUS);
	case E_RTC:
		return HTTP_XML_BIT(E_RTC_STATUS) | HTTP_XML_BIT(E_RTC_TIME);
	case E_METRICS:
		return HTTP_XML_BIT(E_METRICS_STATUS);
	default:
		return 0;
	}
}

static int close_rule(struct pending *p, uint64_t seen)
{
	p->has_filter = seen & HTTP_XML_BIT(E_FILTER);
	p->has_rule_prefix = seen & HTTP_XML_BIT(E_RULE_PREFIX);
	p->has_dmr = seen & HTTP_XML_BIT(E_DMR);
	/* exactly one of the V1 <Prefix> and the V2 <Filter> */
	if (p->has_filter == p->has_rule_prefix)
		return ERR_S3_MALFORMED_XML;
	p->r.v1 = p->has_rule_prefix;
	if (p->r.v1) {
		p->r.priority = 0;
		p->r.delete_markers = true;
	}
	if (!p->r.prefix.base)
		p->r.prefix = IOV_LIT("");
	return 0;
}

static int on_close(struct http_xml_reader *x, void *ctx, int id, uint64_t seen)
{
	struct ctx *c = ctx;
	(void)x;
	uint64_t need = required(id);
	if ((seen & need) != need)
		return ERR_S3_MALFORMED_XML;
	if (id == E_FILTER && (seen & HTTP_XML_BIT(E_FILTER_PREFIX)) &&
	    (seen & HTTP_XML_BIT(E_AND)))
		return ERR_S3_MALFORMED_XML; /* a Filter holds one of Prefix, Tag, And */
	if (id == E_RULE)
		return close_rule(cur(c), seen);
	return 0;
}

/* ---- whole configuration ---------------------------------------------------------------- */

static bool id_taken(const struct pending *p, size_t n, struct iov id)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].r.id.len && iov_eq(p[i].r.id, id))
			return true;
	return false;
}

/* "rule-<pos>", then "rule-<pos>-2", ... until no other rule has it. */
static int generate_id(struct ctx *c, size_t pos)
{
	for (unsigned k = 1;; k++) {
		struct iov id = k == 1 ? arena_printf(c->a, "rule-%zu", pos + 1)
		                       : arena_printf(c->a, "rule-%zu-%u", pos + 1, k);
		if (!id.base)
			return ERR_NOMEM;
		if (!id_taken(c->rules, c->n, id)) {
			c->rules[pos].r.id = id;
			return 0;
		}
	}
}

static int check_ids(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct iov id = c->rules[i].r.id;
		if (id.len && id_taken(c->rules, i, id)) {
			c->why =
			    arena_printf(c->a, "Found duplicate rule ID: %.*s", IOV_ARG(id)).base;
			return ERR_S3_INVALID_REQUEST;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->rules[i].r.id.len == 0) {
			int rc = generate_id(c, i);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int check_v2(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct pending *p = &c->rules[i];
		if (!p->has_priority) {
			c->why = "Priority must be specified for this version of Cross Region "
			         "Replication configuration schema.";
			return ERR_S3_INVALID_REQUEST;
		}
		if (!p->has_dmr) {
			c->why = "DeleteMarkerReplication must be specified for this version of "
			         "Cross Region Replication configuration schema.";
			return ERR_S3_INVALID_REQUEST;
		}
		for (size_t j = 0; j < i; j++) {
			if (c->rules[j].r.priority == p->r.priority) {
				c->why = arena_printf(c->a, "Found duplicate priority %d",
				                      (int)p->r.priority)
				             .base;
				return ERR_S3_INVALID_REQUEST;
			}
		}
	}
	return 0;
}

static int check_v1(struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct pending *p = &c->rules[i];
		if (p->has_dmr) {
			c->why = "DeleteMarkerReplication needs a Filter: rules with a Prefix "
			         "outside a Filter always replicate delete markers.";
			return ERR_S3_INVALID_REQUEST;
		}
		for (size_t j = 0; j < i; j++) {
			struct iov a = c->rules[j].r.prefix, b = p->r.prefix;
			if (iov_starts(a, b) || iov_starts(b, a)) {
				c->why = "Found overlapping prefixes in rules without a Filter.";
				return ERR_S3_INVALID_REQUEST;
			}
		}
	}
	return 0;
}

static int check_config(struct ctx *c)
{
	if (c->n == 0)
		return ERR_S3_MALFORMED_XML;
	if (c->later) {
		/* c->why already holds its message */
		return c->later;
	}
	c->why = NULL;
	bool v1 = c->rules[0].r.v1;
	for (size_t i = 1; i < c->n; i++) {
		if (c->rules[i].r.v1 != v1) {
			c->why = "Rules with a Filter and rules with a Prefix outside a Filter "
			         "cannot be mixed.";
			return ERR_S3_INVALID_REQUEST;
		}
	}
	int rc = v1 ? check_v1(c) : check_v2(c);
	if (rc)
		return rc;
	return check_ids(c);
}

/* ---- public ----------------------------------------------------------------------------- */

static const struct http_xml_schema schema = {
	.rules = rules,
	.nrules = E__COUNT,
	.root = E_CONFIG,
	.ns = S3_XML_NS,
	.cap = S3_REPL_XML_MAX,
	.err_malformed = ERR_S3_MALFORMED_XML,
	.err_too_big = ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED,
	.err_empty = ERR_S3_MISSING_REQUEST_BODY,
	.open = on_open,
	.leaf = on_leaf,
	.close = on_close,
};

static int read_body(struct ctx *c, struct iov body)
{
	struct http_xml_reader *x;
	if (http_xml_reader_new(&schema, c, &x) != 0)
		return ERR_NOMEM;
	int rc = http_xml_reader_feed(x, body.base, body.len);
	if (rc == 0)
		rc = http_xml_reader_finish(x);
	http_xml_reader_free(x);
	return rc;
}

int s3_repl_xml_parse(struct iov body, struct arena *a, struct meta_repl_config *out,
                      const char **why)
{
	CHECK(a && out && why);
	struct ctx c = { .a = a, .role = IOV_LIT("") };
	memset(out, 0, sizeof(*out));
	*why = NULL;
	int rc = read_body(&c, body);
	if (rc) {
		/* immediate refusals carry their message; schema errors use the default */
		*why = rc == ERR_S3_NOT_IMPLEMENTED ? c.now_why : NULL;
		goto done;
	}
	rc = check_config(&c);
	if (rc) {
		*why = c.why;
		goto done;
	}
	struct meta_repl_rule *r = arena_alloc(a, c.n * sizeof(*r));
	if (!r) {
		rc = ERR_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < c.n; i++)
		r[i] = c.rules[i].r;
	out->role = c.role;
	out->rules = r;
	out->nrules = c.n;
done:
	free(c.rules);
	return rc;
}

/* ---- writer ----------------------------------------------------------------------------- */

static void write_status(struct s3_xml_writer *w, const char *box, bool on)
{
	s3_xml_open(w, box);
	s3_xml_text(w, "Status", on ? IOV_LIT("Enabled") : IOV_LIT("Disabled"));
	s3_xml_close(w, box);
}

static void write_rule(struct s3_xml_writer *w, const struct meta_repl_rule *r)
{
	s3_xml_open(w, "Rule");
	s3_xml_text(w, "ID", r->id);
	if (r->v1) {
		s3_xml_text(w, "Prefix", r->prefix);
	} else {
		s3_xml_i64(w, "Priority", r->priority);
		s3_xml_open(w, "Filter");
		s3_xml_text(w, "Prefix", r->prefix);
		s3_xml_close(w, "Filter");
	}
	s3_xml_text(w, "Status", r->enabled ? IOV_LIT("Enabled") : IOV_LIT("Disabled"));
	if (r->replica_mods) {
		s3_xml_open(w, "SourceSelectionCriteria");
		write_status(w, "ReplicaModifications", true);
		s3_xml_close(w, "SourceSelectionCriteria");
	}
	s3_xml_open(w, "Destination");
	s3_xml_text(w, "Bucket", r->dest_arn);
	s3_xml_close(w, "Destination");
	if (!r->v1)
		write_status(w, "DeleteMarkerReplication", r->delete_markers);
	s3_xml_close(w, "Rule");
}

int s3_repl_xml_write(struct buf *out, const struct meta_repl_config *c)
{
	CHECK(c->nrules >= 1 && c->nrules <= META_REPL_RULES_MAX && c->rules);
	struct s3_xml_writer w;
	s3_xml_writer_init(&w, out);
	s3_xml_begin(&w, "ReplicationConfiguration", true);
	if (c->role.len)
		s3_xml_text(&w, "Role", c->role);
	for (size_t i = 0; i < c->nrules; i++)
		write_rule(&w, &c->rules[i]);
	return s3_xml_end(&w);
}
