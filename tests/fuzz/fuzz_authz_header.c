/* libFuzzer: the Authorization header parser. */
#include <stddef.h>
#include <stdint.h>

#include "auth/parse.h"
#include "base/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_parsed p;
	struct iov in = iov_make((const char *)data, size);
	if (auth_parse_header(in, &p) == 0) {
		/* Every slice lies inside the input. */
		const struct iov parts[] = { p.access_key, p.scope,          p.date8,
			                     p.service,    p.signed_headers, p.signature };
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			CHECK(parts[i].base >= in.base &&
			      parts[i].base + parts[i].len <= in.base + in.len);
		CHECK(p.date8.len == 8);
	}
	return 0;
}
