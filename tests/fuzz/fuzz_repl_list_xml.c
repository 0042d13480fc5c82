/*
 * libFuzzer: a peer's ListVersionsResult as a resync reads it
 * (repl/list_xml). Any input gives 0 or one of the documented errors; a
 * success holds at most REPL_LIST_MAX entries, each with a key and a
 * version id within their caps, and the markers too.
 */
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/err.h"
#include "repl/list_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(64u << 20);
	CHECK(a);
	struct repl_list l;
	int rc = repl_list_parse(iov_make((const char *)data, size), a, &l);
	CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG || rc == ERR_NOMEM);
	if (rc == 0) {
		CHECK(l.n <= REPL_LIST_MAX);
		for (size_t i = 0; i < l.n; i++) {
			CHECK(l.entries[i].key.len > 0 &&
			      l.entries[i].key.len <= REPL_LIST_TEXT_MAX);
			CHECK(l.entries[i].version_id.len > 0 &&
			      l.entries[i].version_id.len <= REPL_LIST_TEXT_MAX);
		}
		CHECK(l.next_key.len <= REPL_LIST_TEXT_MAX && l.next_vid.len <= REPL_LIST_TEXT_MAX);
	} else {
		CHECK(l.n == 0 && l.entries == NULL);
	}
	arena_free(a);
	return 0;
}
