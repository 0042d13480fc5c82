/*
 * libFuzzer: a whole raw request through the CLI's request reader and the
 * verifier (S3 rules, SigV4 and SigV4A), as `meridian verify` runs it.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/check.h"
#include "base/err.h"
#include "cli/verify.h"

static int lookup(void *ctx, struct iov ak, struct auth_secret *out)
{
	(void)ctx;
	if (!iov_eq(ak, IOV_LIT("AKIDEXAMPLE")))
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = IOV_LIT("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	out->session_token = IOV_NULL;
	return 0;
}

static const struct auth_creds_ops ops = { "fuzz", lookup };
static struct auth_keycache *keys;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!keys)
		keys = auth_keycache_new(4);
	struct auth_verifier v = {
		.creds = &ops,
		.keys = keys,
		.region = IOV_LIT("us-east-1"),
		.service = IOV_LIT("s3"),
		.rules = AUTH_URI_S3,
		.s3 = true,
	};
	struct auth_verified res;
	uint64_t decoded;
	const char *why;
	auth_verified_init(&res);
	int rc = cli_verify_request(&v, iov_make((const char *)data, size), 1440938160, &res,
	                            &decoded, &why);
	CHECK(rc <= 0);
	CHECK(rc == 0 || why != NULL);
	auth_verified_free(&res);
	return 0;
}
