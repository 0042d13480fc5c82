/*
 * The part of an S3 ListVersionsResult (GET /bucket?versions) a resync
 * needs from a peer: each Version's and DeleteMarker's Key and VersionId,
 * IsTruncated, NextKeyMarker and NextVersionIdMarker. Other elements (Owner,
 * ETag, Size, ...) are skipped, so any S3 implementation's answer reads.
 * Refuses DTDs and entity declarations, anything not well-formed, a root
 * other than ListVersionsResult, a key or id over its cap, and more than
 * REPL_LIST_MAX entries. Pure; any thread.
 */
#ifndef MERIDIAN_REPL_LIST_XML_H
#define MERIDIAN_REPL_LIST_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/iov.h"

#define REPL_LIST_MAX      2000       /* entries per page (S3 sends at most 1000) */
#define REPL_LIST_BODY_MAX (8u << 20) /* answer bytes */
#define REPL_LIST_TEXT_MAX 1024       /* a key, version id or marker */

struct repl_list_entry {
	struct iov key;
	struct iov version_id;
	bool marker; /* a DeleteMarker */
};

struct repl_list {
	struct repl_list_entry *entries; /* in document order */
	size_t n;
	bool truncated;
	struct iov next_key; /* NextKeyMarker; empty if absent */
	struct iov next_vid; /* NextVersionIdMarker */
};

/* Parse body; strings are copied into the arena. 0, ERR_INVALID (not a
 * listing, or malformed), ERR_TOO_BIG (a cap) or ERR_NOMEM. */
int repl_list_parse(struct iov body, struct arena *a, struct repl_list *out);

#endif
