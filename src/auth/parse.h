/*
 * Parsers for the two places a signature travels: the Authorization header
 * and the X-Amz-* parameters of a presigned URL. They only split and check
 * shape; the verifier decides whether what they found is acceptable.
 * Slices in the result point into the input or into the result's own
 * storage, so a result must not be copied. Pure; any thread.
 */
#ifndef MERIDIAN_AUTH_PARSE_H
#define MERIDIAN_AUTH_PARSE_H

#include "auth/auth-t.h"

#define AUTH_PARSE_STORE 4096 /* decoded presign parameters, bytes */

struct auth_parsed {
	enum auth_alg alg;
	enum auth_form form;
	struct iov algorithm; /* as sent */
	struct iov access_key;
	struct iov scope; /* credential after the access key: date/[region/]service/aws4_request */
	struct iov date8;
	struct iov region; /* SigV4 only */
	struct iov service;
	struct iov signed_headers;
	struct iov signature;
	/* Presigned URLs only (decoded). */
	struct iov amz_date;
	struct iov expires;
	struct iov region_set;
	struct iov token;
	bool has_token;
	char store[AUTH_PARSE_STORE];
	size_t store_len;
	/* What was wrong, for the error message. */
	const char *why;
};

/*
 * Parse an Authorization header value:
 *   ALG Credential=AKID/scope, SignedHeaders=a;b, Signature=hex
 * (the three parts in any order, separated by ',' and optional spaces).
 * 0, ERR_AUTH_ALGORITHM (not a SigV4 family algorithm) or ERR_AUTH_MALFORMED
 * with out->why set.
 */
int auth_parse_header(struct iov value, struct auth_parsed *out);

/*
 * Find and parse the X-Amz-* parameters of a presigned URL's raw query.
 * ERR_AUTH_MISSING when there is no X-Amz-Algorithm; ERR_AUTH_ALGORITHM;
 * ERR_AUTH_QUERY_MALFORMED with out->why set.
 */
int auth_parse_query(struct iov query, struct auth_parsed *out);

/* Whether the raw query carries X-Amz-Algorithm (a presigned request). */
bool auth_query_is_presigned(struct iov query);

#endif
