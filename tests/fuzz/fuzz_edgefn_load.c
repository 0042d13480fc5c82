/*
 * libFuzzer: arbitrary bytes as an edge function file, in a state with
 * small limits (4 MiB, 10^5 instructions, 200 ms). Loading either succeeds
 * or fails with a load or limit error; a loaded handler is called with a
 * small nested event (twice, so tables kept from the first call are stale
 * in the second) and must come back with a result or an edgefn error; then a
 * known function in the same state must still work (the sandbox survives
 * whatever the input did, finalizers included, which run at free). Known
 * gap, not a finding: a pathological Lua pattern runs in C past the
 * deadline (docs/internals/edgefn.md), so run with -timeout.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/err.h"
#include "edgefn/edgefn.h"
#include "edgefn/value.h"

static bool call_error(int rc)
{
	return rc == ERR_EDGEFN_RUNTIME || rc == ERR_EDGEFN_BUDGET || rc == ERR_EDGEFN_TIMEOUT ||
	       rc == ERR_EDGEFN_MEMORY || rc == ERR_EDGEFN_VALUE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct edgefn_program *p;
	if (!p) {
		struct edgefn_limits lim = { .mem_max = 4u << 20,
			                     .instr_max = 100000,
			                     .time_ns = 200000000 };
		int id;
		p = edgefn_program_new(&lim);
		CHECK(p && edgefn_program_add(p, IOV_LIT("good.lua"),
		                              IOV_LIT("function handler(e) return e.n + 1 end"),
		                              &id) == 0);
	}
	char *copy = malloc(size ? size : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	struct edgefn_state *st;
	char err[EDGEFN_ERR_MAX];
	CHECK(edgefn_state_new(p, &st, err, sizeof(err)) == 0);
	struct arena *a = arena_new(1u << 20);
	CHECK(a != NULL);

	int id;
	int rc = edgefn_load(st, IOV_LIT("fuzz.lua"), iov_make(copy, size), &id, err, sizeof(err));
	CHECK(rc == 0 || rc == ERR_EDGEFN_SYNTAX || rc == ERR_EDGEFN_NO_HANDLER || call_error(rc));
	CHECK(strlen(err) < sizeof(err));
	struct edgefn_value ev = edgefn_table(), sub = edgefn_table(), arr = edgefn_table(), out;
	CHECK(edgefn_table_push(a, &arr, edgefn_str(IOV_LIT("a"))));
	CHECK(edgefn_table_push(a, &arr, edgefn_num(0.5)));
	CHECK(edgefn_table_set_str(a, &sub, "arr", arr));
	CHECK(edgefn_table_set_str(a, &sub, "k", edgefn_bool(true)));
	CHECK(edgefn_table_set_str(a, &ev, "n", edgefn_int(41)));
	CHECK(edgefn_table_set_str(a, &ev, "uri", edgefn_str(IOV_LIT("/index.html"))));
	CHECK(edgefn_table_set_str(a, &ev, "sub", sub));
	/* twice: tables the first call kept are stale in the second */
	for (int i = 0; rc == 0 && i < 2; i++) {
		int r = edgefn_call(st, id, &ev, 1, 0, a, &out, err, sizeof(err));
		CHECK(r == 0 || call_error(r));
	}
	rc = edgefn_call(st, 0, &ev, 1, 0, a, &out, err, sizeof(err));
	/* the input may have replaced shared globals (one trust domain), but
	 * the call itself must still come back */
	CHECK(rc == 0 || call_error(rc));
	edgefn_state_free(st);
	arena_free(a);
	free(copy);
	return 0;
}
