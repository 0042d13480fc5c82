/*
 * The bucket replication documents of S3 (docs/internals/s3-repl-xml.md):
 * the body of PutBucketReplication read into a struct meta_repl_config, and
 * the GetBucketReplication answer written from one. Pure; any thread, no
 * shared state.
 *
 * Reading is strict (http/xml: no DTD, S3's namespace or none, known
 * elements only) and all-or-nothing. The result's strings and rule array
 * are copied into an arena the caller gives, so the result outlives the body
 * and the parse; nothing is borrowed from the body.
 *
 * What Meridian keeps of a rule is what struct meta_repl_rule holds: ID,
 * Priority, Status, a key prefix, the destination ARN, delete-marker and
 * replica-modification replication. Elements S3 defines for features
 * Meridian does not have (tag filters, SSE-KMS selection, existing-object
 * replication, Replication Time Control, metrics, ownership translation,
 * replica encryption, storage classes other than STANDARD) are refused with
 * NotImplemented when they would ask for the feature, and accepted (then
 * forgotten) when they only say it is off.
 */
#ifndef MERIDIAN_S3_REPL_XML_H
#define MERIDIAN_S3_REPL_XML_H

#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/iov.h"
#include "meta/meta-t.h"

/* Body cap: 1000 rules of about 1 KiB each (ID, prefix, ARN, indentation). */
#define S3_REPL_XML_MAX (1u << 20)
/* Key prefix bytes (S3: 1024). */
#define S3_REPL_XML_PREFIX_MAX 1024
/* Region hint in an ARN (arn:aws:s3:REGION::bucket) and Destination Account. */
#define S3_REPL_XML_REGION_MAX 64

/*
 * Parse a PutBucketReplication body (`body` borrowed for the call) into
 * *out. Everything *out points to is allocated in `a` (give it room for
 * about twice the body plus 160 bytes a rule); on failure *out is zeroed and
 * `a` may hold partial allocations. On success every rule has:
 * - id: as given, or, when absent or empty, "rule-<n>" (n its 1-based
 *   position; "-<k>" appended if another rule already uses that id): the
 *   same body always gets the same ids, and they are unique;
 * - v1 true for the V1 form (<Prefix> in <Rule>, no <Filter>): then
 *   priority is 0 and delete_markers true; V2 rules have a <Filter>, a
 *   <Priority> unique in the configuration and a <DeleteMarkerReplication>;
 * - dest_arn as given; dest_bucket the valid bucket name it ends with; peer
 *   the REGION of arn:aws:s3:REGION::bucket as a hint, empty for
 *   arn:aws:s3:::bucket (the caller resolves the real peer).
 * Returns 0 or, with *why set to the S3 <Message> to send (a static string
 * or one in `a`) or NULL for the error's default text:
 * - ERR_S3_MISSING_REQUEST_BODY: empty body;
 * - ERR_S3_MAX_MESSAGE_LENGTH_EXCEEDED: body over S3_REPL_XML_MAX;
 * - ERR_S3_MALFORMED_XML: not well-formed, DTD or entity declaration, wrong
 *   root or namespace, unknown, repeated or missing required element, no
 *   rule or more than META_REPL_RULES_MAX, a value outside its type
 *   (Status not Enabled/Disabled, Priority not an xs:int), a <Filter>
 *   with both <Prefix> and <And>, a rule with both or neither of <Prefix>
 *   and <Filter>;
 * - ERR_S3_NOT_IMPLEMENTED: a feature Meridian lacks (see the file head);
 * - ERR_S3_INVALID_ARGUMENT: ID over META_REPL_RULE_ID_MAX, prefix over
 *   S3_REPL_XML_PREFIX_MAX, negative priority, a destination that is not a
 *   bucket ARN naming a valid bucket, Role over META_REPL_ARN_MAX;
 * - ERR_S3_INVALID_STORAGE_CLASS: a StorageClass S3 does not know;
 * - ERR_S3_INVALID_REQUEST: duplicate IDs, duplicate priorities, V1 and V2
 *   rules mixed, a V2 rule without Priority or DeleteMarkerReplication, a V1
 *   rule with DeleteMarkerReplication, overlapping V1 prefixes;
 * - ERR_NOMEM: `a` or the heap is exhausted.
 * Semantic errors are reported only for a well-formed, schema-valid body
 * (as S3 does: MalformedXML first).
 */
int s3_repl_xml_parse(struct iov body, struct arena *a, struct meta_repl_config *out,
                      const char **why);

/*
 * Append the GetBucketReplication answer for `c` (borrowed) to `out`:
 * declaration, <ReplicationConfiguration xmlns=S3>, <Role> when not empty,
 * then each rule in its own form (V2: ID, Priority, Filter/Prefix, Status,
 * SourceSelectionCriteria when replica_mods, Destination/Bucket,
 * DeleteMarkerReplication; V1: ID, Prefix, Status, SourceSelectionCriteria
 * when replica_mods, Destination/Bucket). s3_repl_xml_parse() of the result
 * gives back an equal configuration. CHECKs 1..META_REPL_RULES_MAX rules.
 * 0, ERR_TOO_BIG (out's cap), ERR_NOMEM or ERR_INVALID (a string that is not
 * UTF-8); on error `out` may hold part of the document. Strings are escaped
 * as s3/xml_writer does (C0 controls other than TAB LF CR, which no parsed
 * configuration holds, as S3's &#xN;).
 */
int s3_repl_xml_write(struct buf *out, const struct meta_repl_config *c);

#endif
