/*
 * libFuzzer: the edge functions' JSON codec on arbitrary bytes. Pure path:
 * a decode either fails with ERR_INVALID/ERR_TOO_BIG or yields a value that
 * encodes, decodes back to an equal value and re-encodes to the same text.
 * Lua path: the same bytes through meridian.json_decode/json_encode in a
 * sandboxed state with small limits, which must come back with a result
 * or a limit error, never a crash, and leave the state usable. The input is
 * copied into a buffer of exactly its length, so a read past it is an ASan
 * report. Dictionary: tests/fuzz/edgefn_json.dict.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "edgefn/edgefn.h"
#include "edgefn/json.h"
#include "edgefn/value.h"

static const char handler_src[] = "function handler(s)\n"
                                  "  local v, err = meridian.json_decode(s)\n"
                                  "  if err then return err end\n"
                                  "  local t, err2 = meridian.json_encode(v)\n"
                                  "  return t or err2\n"
                                  "end\n";

static struct edgefn_state *lua_state(int *fn)
{
	static struct edgefn_state *st;
	static int id;
	if (!st) {
		struct edgefn_limits lim = { .mem_max = 16u << 20, .instr_max = 1000000 };
		struct edgefn_program *p = edgefn_program_new(&lim);
		char err[EDGEFN_ERR_MAX];
		CHECK(p &&
		      edgefn_program_add(p, IOV_LIT("json.lua"), IOV_LIT(handler_src), &id) == 0);
		CHECK(edgefn_state_new(p, &st, err, sizeof(err)) == 0);
		edgefn_program_unref(p);
	}
	*fn = id;
	return st;
}

static void check_pure(struct iov in, struct arena *a)
{
	char err[EDGEFN_ERR_MAX];
	struct edgefn_value v, w;
	int rc = edgefn_json_decode(in, a, EDGEFN_DEFAULT_DEPTH_MAX, &v, err, sizeof(err));
	CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG);
	if (rc != 0)
		return;
	struct buf e1, e2;
	buf_init(&e1, 64u << 20);
	buf_init(&e2, 64u << 20);
	CHECK(edgefn_json_encode(&v, EDGEFN_DEFAULT_DEPTH_MAX, &e1, err, sizeof(err)) == 0);
	rc = edgefn_json_decode(buf_iov(&e1), a, EDGEFN_DEFAULT_DEPTH_MAX, &w, err, sizeof(err));
	CHECK(rc == 0 || rc == ERR_TOO_BIG);
	if (rc == 0) {
		CHECK(edgefn_value_eq(&v, &w));
		CHECK(edgefn_json_encode(&w, EDGEFN_DEFAULT_DEPTH_MAX, &e2, err, sizeof(err)) == 0);
		CHECK(iov_eq(buf_iov(&e1), buf_iov(&e2)));
	}
	buf_free(&e1);
	buf_free(&e2);
}

static void check_lua(struct iov in, struct arena *a)
{
	int fn;
	struct edgefn_state *st = lua_state(&fn);
	char err[EDGEFN_ERR_MAX];
	struct edgefn_value arg = edgefn_str(in), out;
	int rc = edgefn_call(st, fn, &arg, 1, 0, a, &out, err, sizeof(err));
	CHECK(rc == 0 || rc == ERR_EDGEFN_MEMORY || rc == ERR_EDGEFN_BUDGET ||
	      rc == ERR_EDGEFN_VALUE);
	if (rc == 0)
		CHECK(out.kind == EDGEFN_STR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	struct iov in = iov_make(copy, size);
	struct arena *a = arena_new(8u << 20);
	CHECK(a != NULL);
	check_pure(in, a);
	arena_reset(a);
	check_lua(in, a);
	arena_free(a);
	free(copy);
	return 0;
}
