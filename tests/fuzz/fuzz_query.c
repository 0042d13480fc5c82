/* libFuzzer: query canonicalisation and presigned-parameter parsing. */
#include <stddef.h>
#include <stdint.h>

#include "auth/canon.h"
#include "auth/parse.h"
#include "base/check.h"
#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iov q = iov_make((const char *)data, size);
	struct buf out;
	struct auth_parsed p;

	buf_init(&out, AUTH_MAX_CANONICAL);
	int rc = auth_canon_query(&out, q, NULL, 0, true, false);
	CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG);
	if (rc == 0) {
		/* Canonical output is only unreserved bytes, '%XX', '=' and '&'. */
		for (size_t i = 0; i < out.len; i++) {
			char c = out.data[i];
			CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			      c == '~' || c == '%' || c == '=' || c == '&');
		}
		/* Canonicalising the canonical form changes nothing. */
		struct buf again;
		buf_init(&again, AUTH_MAX_CANONICAL);
		CHECK(auth_canon_query(&again, buf_iov(&out), NULL, 0, true, false) == 0);
		CHECK(iov_eq(buf_iov(&again), buf_iov(&out)));
		buf_free(&again);
	}
	buf_free(&out);
	(void)auth_parse_query(q, &p);
	return 0;
}
