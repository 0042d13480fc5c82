/*
 * A raw HTTP/1.1 request held in memory (a file given to `meridian verify`,
 * or a test vector's request.txt), split into the neutral auth request view.
 * Not the server's parser: that is http/ on llhttp. Lines may end in CRLF or
 * LF. Pure; any thread.
 */
#ifndef MERIDIAN_CLI_RAWREQ_H
#define MERIDIAN_CLI_RAWREQ_H

#include "auth/auth-t.h"

#define RAWREQ_MAX_HEADERS AUTH_MAX_HEADERS

struct rawreq {
	struct iov method;
	struct iov target; /* as on the request line */
	struct iov path;
	struct iov query;
	struct auth_header headers[RAWREQ_MAX_HEADERS];
	size_t nheaders;
	struct iov body;
	/* Folded header values are rebuilt here (vector mode only). */
	char fold_store[8192];
	size_t fold_used;
	const char *why;
};

enum rawreq_mode {
	RAWREQ_HTTP = 0,   /* folded lines are an error, "Name: value" with OWS */
	RAWREQ_VECTOR = 1, /* aws-c-auth vector files: a folded line continues the
	                      value with "\n" + the line; values are kept untrimmed */
};

/* Parse `in` (borrowed; slices point into it). 0 or ERR_INVALID/ERR_TOO_BIG
 * with r->why set. */
int rawreq_parse(struct iov in, enum rawreq_mode mode, struct rawreq *r);

/* The request as the auth module sees it (slices borrowed from r). */
struct auth_request rawreq_view(const struct rawreq *r);

#endif
