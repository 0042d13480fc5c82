/*
 * `meridian sign`: sign one request described by a method, a URL, extra
 * headers and a body, and print what to send. Main thread of the CLI.
 */
#ifndef MERIDIAN_CLI_SIGN_H
#define MERIDIAN_CLI_SIGN_H

#include <stdio.h>

#include "auth/sign.h"

#define CLI_SIGN_MAX_HEADERS 64

struct cli_sign {
	enum auth_alg alg;
	const char *region; /* SigV4 region or SigV4A region set */
	const char *service;
	const char *access_key, *secret_key, *session_token;
	const char *date;                          /* YYYYMMDDTHHMMSSZ or NULL for now */
	const char *headers[CLI_SIGN_MAX_HEADERS]; /* "Name: value" */
	size_t nheaders;
	const char *body_file; /* NULL: empty body */
	int unsigned_payload;
	unsigned presign; /* seconds; 0: header form */
	int curl;
	const char *method;
	const char *url;
};

/*
 * Sign and print to `out`: header lines, or the presigned URL, or a curl
 * command line. Problems are reported on `err`. 0, ERR_USAGE (bad input,
 * already reported) or another error.
 */
int cli_sign_run(const struct cli_sign *s, FILE *out, FILE *err);

/* Split an http(s) URL into host header value, path and query, percent-
 * encoding bytes a URL may not carry raw. The results live in `store`. */
int cli_url_split(const char *url, struct buf *store, struct iov *host, struct iov *path,
                  struct iov *query, bool *https);

#endif
