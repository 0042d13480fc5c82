/*
 * Cache behaviors and the cache key (CloudFront's cache behaviors and cache
 * policies). A table is an ordered list of path patterns; the first match
 * wins and the default ("*") always comes last. The key builder turns one
 * viewer request into a canonical byte string (host, method class, path,
 * the selected query parameters and headers, normalised Accept-Encoding)
 * and hashes it for the storage index.
 *
 * Threads: a table is built once (config load) and then only read, so any
 * number of worker threads may call edge_behavior_match() on it at once.
 * Everything else is a pure function; any thread. Nothing here allocates
 * except edge_behavior_table_new().
 */
#ifndef MERIDIAN_EDGE_BEHAVIOR_H
#define MERIDIAN_EDGE_BEHAVIOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/iov.h"
#include "crypto/sha256.h"
#include "edge/behavior-t.h"

struct edge_behavior_table;

/* Fill *b with CloudFront's defaults: pattern "*", GET/HEAD allowed and
 * cached, TTLs 0 / 86400 / 31536000, no query strings or headers in the
 * key, no compression, no signing, no root object. origin_id stays empty
 * (the caller must set it). */
void edge_behavior_init(struct edge_behavior *b);

/* Check one behavior as configured: pattern of 1..255 characters from
 * CloudFront's set (A-Z a-z 0-9 _ - . * $ / ~ " ' @ : + & and the wildcard
 * ?), a non-empty origin id, a CloudFront method set with GET/HEAD cached
 * and cached within allowed, min <= default <= max TTL, list counts within
 * EDGE_KEY_LIST_MAX of non-empty NUL-terminated names (header names HTTP
 * tokens), and query names only with LISTED / ALL_EXCEPT.
 * Returns 0 or ERR_EDGE_BEHAVIOR_INVALID. */
int edge_behavior_check(const struct edge_behavior *b);

/* Parse a method token (case-sensitive, as HTTP says) into its bit; 0 for a
 * method no behavior can allow. */
unsigned edge_behavior_method(struct iov method);

/* Glob match of `path` against `pattern`: '*' is 0 or more bytes ('/'
 * included), '?' exactly one, everything else itself, case-sensitive. One
 * leading '/' on either side is ignored, as CloudFront's is optional. The
 * work is bounded by (|pattern| + 1) * (|path| + 1) byte comparisons, never
 * exponential; *steps (may be NULL) receives the count of comparisons. */
bool edge_pattern_match(struct iov pattern, struct iov path, size_t *steps);

/* A new table holding only a copy of `def` as its default behavior (its
 * pattern must be "*" or empty, read as "*"). *out is freed with
 * edge_behavior_table_free(). Returns 0, ERR_EDGE_BEHAVIOR_INVALID or
 * ERR_NOMEM. Config-load thread. */
int edge_behavior_table_new(const struct edge_behavior *def, struct edge_behavior_table **out);
void edge_behavior_table_free(struct edge_behavior_table *t); /* NULL: no-op */

/* Append a copy of `b` after the behaviors added so far and before the
 * default. Returns 0, ERR_EDGE_BEHAVIOR_INVALID, or ERR_EDGE_BEHAVIOR_FULL
 * past EDGE_BEHAVIOR_MAX - 1 behaviors. Not while others read the table. */
int edge_behavior_table_add(struct edge_behavior_table *t, const struct edge_behavior *b);

/* Behaviors in evaluation order, the default last; i < count. */
size_t edge_behavior_table_count(const struct edge_behavior_table *t);
const struct edge_behavior *edge_behavior_table_get(const struct edge_behavior_table *t, size_t i);

/* The first behavior whose pattern matches `path` (the default if none
 * does); never NULL. Pass the path edge_path_normalize() produced, so a
 * percent-encoded letter cannot slip past a pattern (/%70rivate/x is
 * /private/x). Query strings are not part of matching: pass the path only.
 * The pointer lives as long as the table. */
const struct edge_behavior *edge_behavior_match(const struct edge_behavior_table *t,
                                                struct iov path);

/* RFC 3986 §6.2.2 normalisation that is safe for any origin: "%xx" hex
 * digits uppercased, and percent-encoded unreserved characters (ALPHA
 * DIGIT - . _ ~) decoded. A '%' not followed by two hex digits becomes
 * "%25" (what a lenient decoder reads it as), so the result is a fixed
 * point: normalising it again changes nothing, and two paths a decoder
 * reads differently never normalise alike. Nothing else changes (no
 * dot-segment removal: S3 keys may hold ".."). The output is at most three
 * times the input. Writes into out[cap]; *len is the length. Returns 0 or
 * ERR_EDGE_KEY_TOO_LONG if cap is too small. */
int edge_path_normalize(struct iov in, char *out, size_t cap, size_t *len);

/* Build the canonical cache key of one request under behavior `b` into
 * out[cap] (cap up to EDGE_KEY_MAX is useful; *len receives the length).
 * The key holds, each as a length-prefixed field so no two requests can
 * collide: the host lowercased; GET for GET and HEAD, OPTIONS for OPTIONS;
 * the normalised path ("/" when empty); the query parameters the mode
 * selects, each normalised and sorted by name then value (duplicates
 * kept, a name with no '=' apart from one with an empty value); each listed
 * header by its lowercased name in the behavior's order with its trimmed
 * value (repeats joined with ","; an absent header apart from an empty
 * one); and, when the behavior keys on compression, Accept-Encoding reduced
 * to "br,gzip", "gzip", "br" or nothing (identity).
 * Returns 0; ERR_EDGE_KEY_METHOD when the method's responses are not cached
 * under `b` (no key: the caller goes to the origin); ERR_EDGE_KEY_TOO_LONG
 * when the host, path or query (raw or normalised) is over its cap, more
 * than EDGE_QUERY_PARAMS_MAX parameters are selected, or the key exceeds
 * cap (answer 414); ERR_EDGE_KEY_HEADERS_TOO_LARGE when a listed header's value
 * is over EDGE_HEADER_VALUE_MAX (answer 431). The output is deterministic:
 * equal inputs give equal bytes. */
int edge_cache_key(const struct edge_behavior *b, const struct edge_key_input *in, char *out,
                   size_t cap, size_t *len);

/* The normalised path field of a key edge_cache_key built (a slice of
 * key). 0, or ERR_INVALID for bytes that are not such a key. Pure. */
int edge_cache_key_path(const char *key, size_t len, struct iov *path);

/* SHA-256 of a key, for the storage index, and its first 8 bytes as a
 * big-endian integer for in-memory hash tables. */
void edge_cache_key_hash(const char *key, size_t len, uint8_t out[SHA256_LEN]);
uint64_t edge_cache_key_hash64(const char *key, size_t len);

#endif
