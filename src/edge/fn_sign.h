/*
 * The signing bindings edge functions see: meridian.sigv4a.sign{...} and
 * meridian.sigv4.sign{...} (issue 9, docs/internals/edge-fn-sign.md). They
 * let a Lua origin-request function do what the blog's Lambda@Edge function
 * does with botocore's CRT signer: sign the origin request in header form and
 * get back the headers to put on it, in Lambda@Edge's header form.
 *
 * The function never sees a key: the edge's configured signing credentials
 * (the same ones its built-in signer uses, edge/sign.h) are bound to the
 * program, and the argument table has no field for a key. The signature is
 * the built-in signer's for the same request and time (auth_sign with S3 URI
 * rules, x-amz-content-sha256 sent and signed, the payload hash chosen the
 * same way).
 *
 * The argument table, the result and the caps are specified in the doc page.
 * Bad input (a missing field, a wrong type, an oversize value, a header the
 * signer owns) is an error return with a message naming the field, which
 * edgefn turns into a Lua error the function may pcall.
 *
 * Threads: the bindings run on a state's worker thread; the credentials are
 * read-only and the key cache is thread-safe, so one edge_fn_sign_creds
 * serves every state built from the program.
 */
#ifndef MERIDIAN_EDGE_FN_SIGN_H
#define MERIDIAN_EDGE_FN_SIGN_H

#include <stddef.h>

#include "auth/keycache.h"
#include "auth/sign.h"
#include "edgefn/edgefn.h"

/* Caps on what one call may pass (function-fed, so bounded). */
#define EDGE_FN_SIGN_URL_MAX      8192u                  /* url, path + query (CloudFront: 8,192) */
#define EDGE_FN_SIGN_HOST_MAX     259u                   /* a 253-byte name plus ":65535" */
#define EDGE_FN_SIGN_METHOD_MAX   32u                    /* bytes of method */
#define EDGE_FN_SIGN_REGION_MAX   256u                   /* a region, or a SigV4A region set */
#define EDGE_FN_SIGN_SERVICE_MAX  64u                    /* bytes of service */
#define EDGE_FN_SIGN_HEADERS_MAX  (AUTH_MAX_HEADERS - 1) /* header values, Host excluded */
#define EDGE_FN_SIGN_HEADER_BYTES (32u << 10)            /* names + values of all header values */
#define EDGE_FN_SIGN_TIME_MAX     INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */

/* What the bindings sign with: the edge's configured credentials. */
struct edge_fn_sign_creds {
	struct auth_creds creds;    /* borrowed */
	struct auth_keycache *keys; /* optional, thread-safe; borrowed */
};

/*
 * Register meridian.sigv4a.sign and meridian.sigv4.sign in program p (before
 * it is sealed), both bound to `creds`. Borrows creds: it (and what it points
 * at) must outlive p and every state built from it. 0, or
 * edgefn_program_bind's errors (ERR_INVALID when a name is already bound,
 * ERR_TOO_BIG, ERR_NOMEM).
 */
int edge_fn_sign_bind(struct edgefn_program *p, const struct edge_fn_sign_creds *creds);

/*
 * The bindings themselves (edgefn_cfunc; ud is a const struct
 * edge_fn_sign_creds *). args[0] is the argument table (borrowed); *ret is
 * set to the header table, built in `a`. 0, or ERR_INVALID (a missing or
 * malformed field, an unknown field, a header the signer sets),
 * ERR_TOO_BIG (over a cap above), ERR_NOMEM (`a` full) or auth_sign's
 * ERR_CRYPTO, with a message in err[errlen] that names no secret.
 */
int edge_fn_sign_sigv4a(void *ud, const struct edgefn_value *args, size_t nargs, struct arena *a,
                        struct edgefn_value *ret, char *err, size_t errlen);
int edge_fn_sign_sigv4(void *ud, const struct edgefn_value *args, size_t nargs, struct arena *a,
                       struct edgefn_value *ret, char *err, size_t errlen);

#endif
