/* Test helpers: locate and read the aws-c-auth signing vectors in
 * ../shared/testvectors (read in place, never copied into this repository). */
#ifndef MERIDIAN_TESTS_VECTORS_H
#define MERIDIAN_TESTS_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vec_ctx {
	char akid[128];
	char secret[128];
	char token[1024];
	char region[64];
	char service[64];
	char timestamp[32]; /* ISO-8601 as in the file */
	int64_t time;
	unsigned expires;
	bool normalize, sign_body, omit_token, has_token;
};

/* The vectors directory (aborts the test run with a message if absent). */
const char *vec_root(void);
/* Case names under root/<kind> ("sigv4" or "sigv4a"), sorted; NULL-terminated. */
char **vec_cases(const char *kind, size_t *n);
void vec_free_cases(char **cases, size_t n);
/* File contents (NUL-terminated, length in *len) or NULL if absent. */
char *vec_read(const char *kind, const char *name, const char *file, size_t *len);
/* Parse context.json of a case. */
bool vec_context(const char *kind, const char *name, struct vec_ctx *ctx);
/* Read a whole file by path. */
char *read_path(const char *path, size_t *len);

#endif
