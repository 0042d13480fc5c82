/*
 * `meridian verify`: check the signature of raw HTTP requests saved in files,
 * with one access key, as a store would. Prints one line per file and, with
 * verbose, the canonical request and string-to-sign on a mismatch. CLI main
 * thread.
 */
#ifndef MERIDIAN_CLI_VERIFY_H
#define MERIDIAN_CLI_VERIFY_H

#include <stdio.h>

#include "auth/verify.h"

#define CLI_VERIFY_MAX_FILE (64u << 20)

struct cli_verify {
	const char *region;
	const char *service;
	const char *access_key, *secret_key, *session_token;
	const char *now; /* YYYYMMDDTHHMMSSZ or NULL */
	int generic;     /* non-S3 canonicalisation (the AWS test suite's) */
	int verbose;
	char **files;
	int nfiles;
};

/* 0 when every file verified, ERR_AUTH_MISMATCH when any did not (each
 * reported on `out`), ERR_USAGE for bad options (reported on `err`). */
int cli_verify_run(const struct cli_verify *v, FILE *out, FILE *err);

/*
 * Verify one raw request in memory with `verifier` at `now`, including its
 * body (hash or aws-chunked). Fills `res` (caller inits and frees). Returns
 * 0 or the first error; *decoded gets the payload length.
 */
int cli_verify_request(const struct auth_verifier *verifier, struct iov raw, int64_t now,
                       struct auth_verified *res, uint64_t *decoded, const char **why);

#endif
