/*
 * edgefn: the Lua sandbox (absent libraries, bytecode refused), limits
 * (instruction budget, deadline, memory cap; the state keeps working after
 * each), errors as file:line, the meridian bindings against published
 * vectors (FIPS 180-2 "abc", RFC 4231 case 2, RFC 4648 §10), the JSON codec
 * (round trips and rejections), values in and out, extra bindings, log caps
 * and reload by publish/refresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "edgefn/edgefn.h"
#include "edgefn/json.h"
#include "edgefn/value.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	struct edgefn_program *p;
	struct edgefn_state *st;
	struct arena *a;
	char err[EDGEFN_ERR_MAX];
};

static struct fixture *fx_new(const struct edgefn_limits *lim)
{
	static struct fixture f;
	memset(&f, 0, sizeof(f));
	f.p = edgefn_program_new(lim);
	assert_non_null(f.p);
	assert_int_equal(edgefn_state_new(f.p, &f.st, f.err, sizeof(f.err)), 0);
	f.a = arena_new(1 << 20);
	assert_non_null(f.a);
	return &f;
}

static void fx_free(struct fixture *f)
{
	edgefn_state_free(f->st);
	edgefn_program_unref(f->p);
	arena_free(f->a);
}

static int load(struct fixture *f, const char *name, const char *src)
{
	int id = -1;
	int rc = edgefn_load(f->st, iov_cstr(name), iov_cstr(src), &id, f->err, sizeof(f->err));
	return rc == 0 ? id : rc;
}

/* Load src and call handler(arg) once. */
static int run1(struct fixture *f, const char *src, const struct edgefn_value *arg,
                struct edgefn_value *out)
{
	int id = load(f, "fn.lua", src);
	if (id < 0)
		return id;
	int rc = edgefn_call(f->st, id, arg, arg ? 1 : 0, 0, f->a, out, f->err, sizeof(f->err));
	if (getenv("EDGEFN_TEST_DEBUG") && rc)
		print_message("%s: %s\n", err_name(rc), f->err);
	return rc;
}

/* The result must be the string `want`. */
static void assert_str(const struct edgefn_value *v, const char *want)
{
	assert_int_equal(v->kind, EDGEFN_STR);
	assert_int_equal(v->u.s.len, strlen(want));
	assert_memory_equal(v->u.s.base, want, v->u.s.len);
}

static void assert_works(struct fixture *f)
{
	struct edgefn_value out;
	assert_int_equal(run1(f, "function handler(e) return 'ok ' .. e end\n",
	                      &(struct edgefn_value){ .kind = EDGEFN_STR, .u.s = IOV_LIT("x") },
	                      &out),
	                 0);
	assert_str(&out, "ok x");
}

/* ---- sandbox ---- */

static void sandbox_absent(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	static const char *const absent[] = {
		"io",        "os",         "package", "debug",          "load",    "loadfile",
		"dofile",    "require",    "print",   "collectgarbage", "warn",    "string.dump",
		"coroutine", "loadstring", "module",  "setfenv",        "getfenv",
	};
	for (size_t i = 0; i < N_ELEMS(absent); i++) {
		char src[200];
		snprintf(src, sizeof(src), "function handler() return type(%s) end\n", absent[i]);
		struct edgefn_value out;
		assert_int_equal(run1(f, src, NULL, &out), 0);
		assert_str(&out, "nil");
	}
	static const char *const present[] = {
		"string.rep", "table.concat", "math.floor",
		"utf8.char",  "pcall",        "meridian.sha256_hex"
	};
	for (size_t i = 0; i < N_ELEMS(present); i++) {
		char src[200];
		snprintf(src, sizeof(src), "function handler() return type(%s) end\n", present[i]);
		struct edgefn_value out;
		assert_int_equal(run1(f, src, NULL, &out), 0);
		assert_str(&out, "function");
	}
	/* the shared string metatable is hidden */
	struct edgefn_value out;
	assert_int_equal(run1(f, "function handler() return getmetatable('') end\n", NULL, &out),
	                 0);
	assert_int_equal(out.kind, EDGEFN_BOOL);
	assert_false(out.u.b);
	/* no finalizers: Lua runs __gc with hooks off, out of the budget's reach */
	assert_int_equal(run1(f,
	                      "function handler() setmetatable({}, {__gc = function() "
	                      "while true do end end}) end\n",
	                      NULL, &out),
	                 ERR_EDGEFN_RUNTIME);
	assert_non_null(strstr(f->err, "__gc metamethods are not allowed"));
	assert_int_equal(
	    run1(f, "function handler() setmetatable({}, {__gc = false}) end\n", NULL, &out),
	    ERR_EDGEFN_RUNTIME);
	assert_int_equal(load(f, "gc.lua",
	                      "local t = setmetatable({}, {__gc = function() while true do end "
	                      "end})\nfunction handler() end\n"),
	                 ERR_EDGEFN_RUNTIME);
	/* other metatables still work, protected ones stay protected */
	assert_int_equal(run1(f,
	                      "function handler() local t = setmetatable({}, {__index = "
	                      "function(_, k) return k .. '!' end, __metatable = 'locked'}) "
	                      "return t.hi .. tostring(pcall(setmetatable, t, {})) .. "
	                      "getmetatable(t) end\n",
	                      NULL, &out),
	                 0);
	assert_str(&out, "hi!falselocked");
	/* method calls on strings still work */
	assert_int_equal(run1(f, "function handler() return ('ab'):rep(2) end\n", NULL, &out), 0);
	assert_str(&out, "abab");
	fx_free(f);
}

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
	(void)L;
	return buf_add(ud, p, n) == 0 ? 0 : 1;
}

static void sandbox_bytecode_refused(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	/* real Lua 5.4 bytecode of a valid function file, made outside the sandbox */
	lua_State *L = luaL_newstate();
	assert_int_equal(luaL_loadstring(L, "function handler() return 1 end"), LUA_OK);
	struct buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(lua_dump(L, dump_writer, &b, 0), 0);
	lua_close(L);
	int id;
	assert_int_equal(
	    edgefn_load(f->st, IOV_LIT("bin.lua"), buf_iov(&b), &id, f->err, sizeof(f->err)),
	    ERR_EDGEFN_SYNTAX);
	assert_non_null(strstr(f->err, "binary chunk"));
	buf_free(&b);
	assert_works(f);
	fx_free(f);
}

/* ---- limits ---- */

static void budget_stops_infinite_loops(void **state)
{
	(void)state;
	struct fixture *f = fx_new(&(struct edgefn_limits){ .instr_max = 1000000 });
	static const char *const loops[] = {
		"function handler() while true do end end\n",
		/* a pcall in the function cannot swallow the breach */
		"function handler() while true do pcall(function() while true do end end) end "
		"end\n",
		"function handler() local function f() return f() end return f() end\n",
		"x = 0\nfunction handler() for i = 1, math.maxinteger do x = x + i end end\n",
	};
	for (size_t i = 0; i < N_ELEMS(loops); i++) {
		struct edgefn_value out;
		assert_int_equal(run1(f, loops[i], NULL, &out), ERR_EDGEFN_BUDGET);
		assert_non_null(strstr(f->err, "instruction budget"));
		assert_works(f);
	}
	/* after a breach the call thread counts at the normal rate again: a
	 * function of ~400k instructions fits the 1M budget */
	struct edgefn_value out;
	assert_int_equal(run1(f,
	                      "function handler() local x = 0 for i = 1, 100000 do x = x + i end "
	                      "return x end\n",
	                      NULL, &out),
	                 0);
	assert_int_equal(out.u.i, 5000050000);
	/* a loop in the top level of a file is stopped at load */
	assert_int_equal(load(f, "top.lua", "while true do end\nfunction handler() end\n"),
	                 ERR_EDGEFN_BUDGET);
	assert_works(f);
	fx_free(f);
}

static void deadline_stops_slow_calls(void **state)
{
	(void)state;
	struct fixture *f = fx_new(&(struct edgefn_limits){ .instr_max = UINT64_MAX / 2 });
	int id = load(f, "slow.lua", "function handler() while true do end end\n");
	assert_true(id >= 0);
	struct edgefn_value out;
	assert_int_equal(
	    edgefn_call(f->st, id, NULL, 0, 20000000, f->a, &out, f->err, sizeof(f->err)),
	    ERR_EDGEFN_TIMEOUT);
	assert_non_null(strstr(f->err, "time limit"));
	assert_works(f);
	fx_free(f);
}

static void memory_cap_stops_bombs(void **state)
{
	(void)state;
	struct fixture *f = fx_new(&(struct edgefn_limits){ .mem_max = 8u << 20 });
	size_t base = edgefn_state_mem(f->st);
	static const char *const bombs[] = {
		"function handler() local s = 'x' while true do s = s .. s end end\n",
		"function handler() return string.rep('x', 1 << 30) end\n",
		"function handler() local t = {} for i = 1, 1e9 do t[i] = {i} end end\n",
		/* a memory error caught by pcall still ends the call */
		"function handler() local keep = {} while true do pcall(function() "
		"keep[#keep + 1] = string.rep('y', 1 << 16) end) end end\n",
	};
	for (size_t i = 0; i < N_ELEMS(bombs); i++) {
		struct edgefn_value out;
		int rc = run1(f, bombs[i], NULL, &out);
		assert_int_equal(rc, ERR_EDGEFN_MEMORY);
		assert_true(edgefn_state_mem(f->st) <= (8u << 20));
		assert_works(f);
		/* the garbage was collected: back near the start */
		assert_true(edgefn_state_mem(f->st) < base + (1u << 20));
	}
	fx_free(f);
}

/* ---- errors ---- */

static void errors_name_file_and_line(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	struct edgefn_value out;
	assert_int_equal(
	    run1(f, "-- a comment\nfunction handler()\n  error('boom')\nend\n", NULL, &out),
	    ERR_EDGEFN_RUNTIME);
	assert_string_equal(f->err, "fn.lua:3: boom");
	assert_int_equal(run1(f, "function handler(e)\n  return e.x.y\nend\n", NULL, &out),
	                 ERR_EDGEFN_RUNTIME);
	assert_true(strncmp(f->err, "fn.lua:2: attempt to index", 26) == 0);
	assert_int_equal(run1(f, "function handler() error({}) end\n", NULL, &out),
	                 ERR_EDGEFN_RUNTIME);
	assert_string_equal(f->err, "(error object is a table value)");
	assert_int_equal(load(f, "bad.lua", "function handler()\n  return )\nend\n"),
	                 ERR_EDGEFN_SYNTAX);
	assert_true(strncmp(f->err, "bad.lua:2:", 10) == 0);
	assert_int_equal(load(f, "none.lua", "function other() end\n"), ERR_EDGEFN_NO_HANDLER);
	assert_string_equal(f->err, "none.lua: defines no global function handler(event, context)");
	assert_int_equal(load(f, "top.lua", "local x = nil\nx()\n"), ERR_EDGEFN_RUNTIME);
	assert_true(strncmp(f->err, "top.lua:2:", 10) == 0);
	assert_int_equal(edgefn_call(f->st, 99, NULL, 0, 0, f->a, &out, f->err, sizeof(f->err)),
	                 ERR_NOT_FOUND);
	assert_works(f);
	fx_free(f);
}

static void files_have_their_own_globals(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	int a = load(f, "a.lua", "n = 0\nfunction handler() n = n + 1 return n end\n");
	int b = load(f, "b.lua", "n = 100\nfunction handler() n = n + 1 return n end\n");
	assert_true(a >= 0 && b > a);
	struct edgefn_value out;
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(
		    edgefn_call(f->st, a, NULL, 0, 0, f->a, &out, f->err, sizeof(f->err)), 0);
		assert_int_equal(out.kind, EDGEFN_INT);
		assert_int_equal(out.u.i, i);
	}
	assert_int_equal(edgefn_call(f->st, b, NULL, 0, 0, f->a, &out, f->err, sizeof(f->err)), 0);
	assert_int_equal(out.u.i, 101);
	fx_free(f);
}

/* ---- bindings ---- */

struct binding_case {
	const char *expr, *want;
};

/* The result of expr must be the bytes want[len]. */
static void assert_expr(struct fixture *f, const char *expr, const char *want, size_t len)
{
	char src[400];
	snprintf(src, sizeof(src), "function handler() return (%s) end\n", expr);
	struct edgefn_value out;
	assert_int_equal(run1(f, src, NULL, &out), 0);
	assert_int_equal(out.kind, EDGEFN_STR);
	assert_int_equal(out.u.s.len, len);
	assert_memory_equal(out.u.s.base, want, len);
}

static void bindings_known_vectors(void **state)
{
	(void)state;
	static const struct binding_case cases[] = {
		/* FIPS 180-2 B.1 and the empty string */
		{ "meridian.sha256_hex('abc')",
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "meridian.sha256_hex('')",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "meridian.hex_encode(meridian.sha256('abc'))",
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		/* RFC 4231 test case 2 */
		{ "meridian.hmac_sha256_hex('Jefe', 'what do ya want for nothing?')",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "meridian.hex_encode(meridian.hmac_sha256('Jefe', 'what do ya want for "
		  "nothing?'))",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		/* RFC 4648 §10 */
		{ "meridian.base64_encode('foobar')", "Zm9vYmFy" },
		{ "meridian.base64_encode('fo')", "Zm8=" },
		{ "meridian.base64_encode('')", "" },
		{ "meridian.base64_decode('Zm9vYg==')", "foob" },
		{ "meridian.hex_encode('\\0\\255a')", "00ff61" },
		{ "select(2, meridian.base64_decode('Zm9=='))",
		  "base64_decode: not canonical padded base64" },
		{ "tostring(meridian.base64_decode('Zm9'))", "nil" },
		{ "select(2, meridian.hex_decode('abc'))", "hex_decode: odd number of digits" },
		{ "select(2, meridian.hex_decode('AB'))", "hex_decode: not lowercase hex" },
		{ "tostring(pcall(meridian.sha256_hex, {}))", "false" },
	};
	struct fixture *f = fx_new(NULL);
	for (size_t i = 0; i < N_ELEMS(cases); i++)
		assert_expr(f, cases[i].expr, cases[i].want, strlen(cases[i].want));
	/* bytes with NULs */
	assert_expr(f, "meridian.base64_decode(meridian.base64_encode('\\0\\1\\255x'))",
	            "\0\1\377x", 4);
	assert_expr(f, "meridian.hex_decode('00ff61')", "\0\377a", 3);
	fx_free(f);
}

static void bindings_json_in_lua(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	static const struct binding_case cases[] = {
		{ "meridian.json_encode({b = 1, a = {1, 2, 3}, c = 'x\"\\n'})",
		  "{\"a\":[1,2,3],\"b\":1,\"c\":\"x\\\"\\n\"}" },
		{ "meridian.json_encode({1.5, -0.25, 1e300, 3.0, true, false, {}})",
		  "[1.5,-0.25,1e+300,3.0,true,false,{}]" },
		{ "meridian.json_encode({[1] = 'a', [3] = 'c'})", "{\"1\":\"a\",\"3\":\"c\"}" },
		{ "meridian.json_decode('{\"a\":[10,2.5,\"\\\\u00e9\"]}').a[3]", "\xc3\xa9" },
		{ "math.type(meridian.json_decode('[7]')[1])", "integer" },
		{ "math.type(meridian.json_decode('[7.0]')[1])", "float" },
		{ "math.type(meridian.json_decode('[99999999999999999999]')[1])", "float" },
		{ "meridian.json_encode(meridian.json_decode("
		  "'{\"z\":null,\"y\":[1,{\"k\":\"v\"}],\"x\":\"\\\\ud83d\\\\ude00\"}'))",
		  "{\"x\":\"\xf0\x9f\x98\x80\",\"y\":[1,{\"k\":\"v\"}]}" },
		/* "null" is a value: nil without a message */
		{ "tostring(select('#', meridian.json_decode('null')))", "1" },
		{ "select(2, meridian.json_decode('[1] x'))",
		  "json: offset 4: trailing characters after the value" },
		{ "select(2, meridian.json_decode('[1e400]'))",
		  "json: offset 1: number out of range" },
		{ "select(2, meridian.json_encode(0/0))", "json: cannot encode NaN or infinity" },
		{ "select(2, meridian.json_encode({f = print or handler}))",
		  "a function cannot leave Lua" },
		{ "select(2, meridian.json_encode('\\255'))", "json: string is not valid UTF-8" },
		{ "(function() local t = {} t.t = t return select(2, meridian.json_encode(t)) "
		  "end)()",
		  "value nested too deeply (or a cycle)" },
		{ "select(2, meridian.json_decode(string.rep('[', 100)))",
		  "json: offset 32: nesting too deep" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char src[400];
		snprintf(src, sizeof(src), "function handler() return (%s) end\n", cases[i].expr);
		struct edgefn_value out;
		assert_int_equal(run1(f, src, NULL, &out), 0);
		assert_str(&out, cases[i].want);
	}
	fx_free(f);
}

static void json_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		" ",
		"[1] x",
		"[1,]",
		"{\"a\" 1}",
		"{a:1}",
		"{\"a\":1,}",
		"01",
		"1.",
		".5",
		"-",
		"1e",
		"+1",
		"1e400",
		"-1e400",
		"NaN",
		"Infinity",
		"tru",
		"nul",
		"\"abc",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\ud800\"",        /* lone high surrogate */
		"\"\\udc00\"",        /* lone low surrogate */
		"\"\\ud800\\u0041\"", /* high surrogate, then not a low one */
		"\"\xff\"",
		"\"\xc0\xaf\"",         /* overlong '/' */
		"\"\xe0\x80\xaf\"",     /* overlong */
		"\"\xed\xa0\x80\"",     /* UTF-8 surrogate */
		"\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
		"\"\xe2\x82\"",         /* truncated */
		"\"a\tb\"",             /* raw control character */
		"[1 2]",
		"{\"a\":1 \"b\":2}",
	};
	struct arena *a = arena_new(1 << 20);
	char err[EDGEFN_ERR_MAX];
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct edgefn_value v;
		int rc = edgefn_json_decode(iov_cstr(bad[i]), a, 32, &v, err, sizeof(err));
		if (rc != ERR_INVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strncmp(err, "json: offset ", 13) == 0);
	}
	/* a depth bomb: deeper than the cap is refused, at the cap accepted */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	struct edgefn_value v;
	assert_int_equal(edgefn_json_decode(iov_make(deep, 200), a, 32, &v, err, sizeof(err)),
	                 ERR_INVALID);
	assert_int_equal(edgefn_json_decode(iov_make(deep + 68, 64), a, 32, &v, err, sizeof(err)),
	                 0);
	assert_int_equal(edgefn_json_decode(iov_make(deep + 67, 66), a, 32, &v, err, sizeof(err)),
	                 ERR_INVALID);
	/* the arena cap is ERR_TOO_BIG, never growth */
	struct arena *tiny = arena_new(256);
	assert_int_equal(edgefn_json_decode(IOV_LIT("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]"),
	                                    tiny, 32, &v, err, sizeof(err)),
	                 ERR_TOO_BIG);
	arena_free(tiny);
	arena_free(a);
}

static void json_round_trips(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "{}", "{}" },
		{ "[]", "{}" }, /* an empty table is an object */
		{ " [1, -2, 0, -0, 9223372036854775807, -9223372036854775808] ",
		  "[1,-2,0,0,9223372036854775807,-9223372036854775808]" },
		{ "[9223372036854775808]", "[9.223372036854776e+18]" },
		{ "[0.1, 1e2, -1E-2, 2.5e+3, 1e-400]", "[0.1,100.0,-0.01,2500.0,0.0]" },
		{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\"",
		  "\"\\\"\\\\/\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\"" },
		{ "\"caf\xc3\xa9 \\u00e9 \\uD83D\\uDE00\"",
		  "\"caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80\"" },
		{ "{\"b\":[true,false,null],\"a\":{\"x\":\"\"}}",
		  "{\"b\":[true,false,null],\"a\":{\"x\":\"\"}}" },
		{ "{\"k\":1,\"k\":2}", "{\"k\":1,\"k\":2}" },
	};
	struct arena *a = arena_new(1 << 20);
	char err[EDGEFN_ERR_MAX];
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct edgefn_value v, w;
		struct buf b;
		buf_init(&b, 1 << 16);
		if (edgefn_json_decode(iov_cstr(cases[i].in), a, 32, &v, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].in, err);
		assert_int_equal(edgefn_json_encode(&v, 32, &b, err, sizeof(err)), 0);
		assert_int_equal(b.len, strlen(cases[i].out));
		assert_memory_equal(b.data, cases[i].out, b.len);
		assert_int_equal(edgefn_json_decode(buf_iov(&b), a, 32, &w, err, sizeof(err)), 0);
		assert_true(edgefn_value_eq(&v, &w) || strcmp(cases[i].in, "[]") == 0);
		buf_free(&b);
	}
	/* the output cap is ERR_TOO_BIG */
	struct edgefn_value v;
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(edgefn_json_decode(IOV_LIT("\"0123456789\""), a, 32, &v, err, sizeof(err)),
	                 0);
	assert_int_equal(edgefn_json_encode(&v, 32, &b, err, sizeof(err)), ERR_TOO_BIG);
	buf_free(&b);
	arena_free(a);
}

/* ---- values in and out ---- */

static void values_cross_the_boundary(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	struct arena *a = f->a;
	/* a Lambda@Edge-shaped event */
	struct edgefn_value ev = edgefn_table(), rec = edgefn_table(), cf = edgefn_table();
	struct edgefn_value req = edgefn_table(), hdrs = edgefn_table(), host = edgefn_table();
	struct edgefn_value kv = edgefn_table();
	assert_non_null(edgefn_table_set_str(a, &kv, "key", edgefn_str(IOV_LIT("Host"))));
	assert_non_null(edgefn_table_set_str(a, &kv, "value", edgefn_str(IOV_LIT("example.com"))));
	assert_non_null(edgefn_table_push(a, &host, kv));
	assert_non_null(edgefn_table_set_str(a, &hdrs, "host", host));
	assert_non_null(edgefn_table_set_str(a, &req, "uri", edgefn_str(IOV_LIT("/index.html"))));
	assert_non_null(edgefn_table_set_str(a, &req, "method", edgefn_str(IOV_LIT("GET"))));
	assert_non_null(edgefn_table_set_str(a, &req, "headers", hdrs));
	assert_non_null(edgefn_table_set_str(a, &req, "n", edgefn_int(-7)));
	assert_non_null(edgefn_table_set_str(a, &req, "f", edgefn_num(0.5)));
	assert_non_null(edgefn_table_set_str(a, &req, "b", edgefn_bool(true)));
	assert_non_null(edgefn_table_set_str(a, &cf, "request", req));
	assert_non_null(edgefn_table_set_str(a, &rec, "cf", cf));
	struct edgefn_value records = edgefn_table();
	assert_non_null(edgefn_table_push(a, &records, rec));
	assert_non_null(edgefn_table_set_str(a, &ev, "Records", records));

	struct edgefn_value out;
	assert_int_equal(run1(f,
	                      "function handler(event)\n"
	                      "  local r = event.Records[1].cf.request\n"
	                      "  r.uri = r.uri .. '?' .. r.headers.host[1].value\n"
	                      "  return r\n"
	                      "end\n",
	                      &ev, &out),
	                 0);
	/* keys come back sorted; values intact */
	assert_int_equal(out.kind, EDGEFN_TABLE);
	assert_int_equal(out.u.t.len, 6);
	static const char *const keys[] = { "b", "f", "headers", "method", "n", "uri" };
	for (size_t i = 0; i < N_ELEMS(keys); i++)
		assert_true(iov_eq(out.u.t.items[i].key.u.s, iov_cstr(keys[i])));
	assert_str(edgefn_table_get(&out, IOV_LIT("uri")), "/index.html?example.com");
	assert_int_equal(edgefn_table_get(&out, IOV_LIT("n"))->u.i, -7);
	assert_true(edgefn_table_get(&out, IOV_LIT("f"))->u.n == 0.5);
	const struct edgefn_value *h = edgefn_table_get(&out, IOV_LIT("headers"));
	const struct edgefn_value *h1 = edgefn_table_geti(edgefn_table_get(h, IOV_LIT("host")), 1);
	assert_str(edgefn_table_get(h1, IOV_LIT("key")), "Host");
	assert_true(edgefn_value_eq(h, &hdrs));

	/* what cannot leave: a function, a cycle, a result over the caller's arena */
	assert_int_equal(run1(f, "function handler() return {f = handler} end\n", NULL, &out),
	                 ERR_EDGEFN_VALUE);
	assert_int_equal(
	    run1(f, "function handler() local t = {} t[1] = t return t end\n", NULL, &out),
	    ERR_EDGEFN_VALUE);
	struct arena *small = arena_new(512);
	int id = load(f, "big.lua", "function handler() return string.rep('x', 4096) end\n");
	assert_int_equal(edgefn_call(f->st, id, NULL, 0, 0, small, &out, f->err, sizeof(f->err)),
	                 ERR_EDGEFN_VALUE);
	arena_free(small);
	/* what cannot enter: deeper than the cap */
	struct edgefn_value deep[40];
	deep[39] = edgefn_int(1);
	for (int i = 38; i >= 0; i--) {
		deep[i] = edgefn_table();
		assert_non_null(edgefn_table_push(a, &deep[i], deep[i + 1]));
	}
	/* (argument tables are built on first use, so the cap bites there) */
	assert_int_equal(run1(f,
	                      "function handler(e) local x = e for i = 1, 39 do x = x[1] end "
	                      "return x end\n",
	                      &deep[0], &out),
	                 ERR_EDGEFN_RUNTIME);
	assert_non_null(strstr(f->err, "nested too deeply"));
	assert_works(f);
	fx_free(f);
}

/* Argument tables are filled on first use: every way of looking at one
 * sees the same contents as an eagerly built table. */
static void lazy_tables_behave_like_tables(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	struct arena *a = f->a;
	struct edgefn_value ev = edgefn_table(), arr = edgefn_table(), sub = edgefn_table();
	for (int i = 0; i < 3; i++)
		assert_non_null(edgefn_table_push(a, &arr, edgefn_str(IOV_LIT("x"))));
	assert_non_null(edgefn_table_set_str(a, &sub, "k", edgefn_int(7)));
	assert_non_null(edgefn_table_set_str(a, &ev, "arr", arr));
	assert_non_null(edgefn_table_set_str(a, &ev, "sub", sub));
	static const struct binding_case cases[] = {
		{ "type(next(e))", "string" },
		{ "tostring(rawget(e, 'sub') ~= nil)", "true" },
		{ "tostring(rawlen(e.arr))", "3" },
		{ "tostring(#e.arr)", "3" },
		{ "tostring(getmetatable(e))", "nil" },
		{ "table.concat(e.arr, '-')", "x-x-x" },
		{ "(function() local n = 0 for _ in pairs(e) do n = n + 1 end return tostring(n) "
		  "end)()",
		  "2" },
		{ "(function() local n = 0 for _ in ipairs(e.arr) do n = n + 1 end return "
		  "tostring(n) "
		  "end)()",
		  "3" },
		{ "tostring(getmetatable(setmetatable(e.sub, {__index = {z = 1}})).__index.z)",
		  "1" },
		{ "(function() rawset(e, 'n', 1) return tostring(e.n + e.sub.k) end)()", "8" },
		{ "(function() e.sub = nil return tostring(e.sub) end)()", "nil" },
		{ "meridian.json_encode(e)", "{\"arr\":[\"x\",\"x\",\"x\"],\"sub\":{\"k\":7}}" },
		{ "(function() local s = e.sub return meridian.json_encode(e) end)()",
		  "{\"arr\":[\"x\",\"x\",\"x\"],\"sub\":{\"k\":7}}" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		char src[400];
		snprintf(src, sizeof(src), "function handler(e) return (%s) end\n", cases[i].expr);
		struct edgefn_value out;
		if (run1(f, src, &ev, &out) != 0)
			fail_msg("%s: %s", cases[i].expr, f->err);
		assert_str(&out, cases[i].want);
	}
	/* an untouched table comes back as the caller's own */
	struct edgefn_value out;
	assert_int_equal(run1(f, "function handler(e) return {e.sub, e.arr} end\n", &ev, &out), 0);
	assert_ptr_equal(edgefn_table_geti(&out, 1)->u.t.items, sub.u.t.items);
	assert_true(edgefn_value_eq(edgefn_table_geti(&out, 2), &arr));
	/* a table that was read (so filled) but not changed comes back as the
	 * caller's own too; any change makes it a copy */
	assert_int_equal(
	    run1(f, "function handler(e) local _ = e.sub.k return e.sub end\n", &ev, &out), 0);
	assert_ptr_equal(out.u.t.items, sub.u.t.items);
	assert_int_equal(
	    run1(f, "function handler(e) local x = e.arr[1] local _ = e.sub.k return e end\n", &ev,
	         &out),
	    0);
	assert_ptr_equal(out.u.t.items, ev.u.t.items);
	static const char *const changed[] = {
		"function handler(e) e.sub.k = 8 return e.sub end\n",
		"function handler(e) e.sub.k = nil return e.sub end\n",
		"function handler(e) e.sub.z = 1 return e.sub end\n",
		"function handler(e) e.sub.k = '7' return e.sub end\n",
		"function handler(e) e.arr[2] = 'y' return e end\n",
		"function handler(e) e.arr[4] = 'x' return e end\n",
	};
	for (size_t i = 0; i < N_ELEMS(changed); i++) {
		assert_int_equal(run1(f, changed[i], &ev, &out), 0);
		if (out.u.t.items == sub.u.t.items || out.u.t.items == ev.u.t.items)
			fail_msg("changed, yet handed back as the caller's: %s", changed[i]);
	}
	/* a new table with the same contents is the same value, so also fine */
	assert_int_equal(
	    run1(f, "function handler(e) local _ = e.sub.k return {k = 7} end\n", &ev, &out), 0);
	assert_true(edgefn_value_eq(&out, &sub));
	/* Many proxies in one call: the C-side index grows (64, 128, ... slots)
	 * while they are made, and every one still finds its own data after;
	 * proxies dropped and collected mid-call leave their addresses to new
	 * tables, which must not be taken for them. */
	struct edgefn_value many = edgefn_table();
	for (int i = 1; i <= 300; i++) {
		struct edgefn_value t = edgefn_table();
		assert_non_null(edgefn_table_set_str(a, &t, "k", edgefn_int(i)));
		assert_non_null(edgefn_table_push(a, &many, t));
	}
	assert_int_equal(run1(f,
	                      "function handler(e)\n"
	                      "  local s = 0\n"
	                      "  for i = #e, 1, -1 do s = s + e[i].k end\n"
	                      "  for r = 1, 3 do\n"
	                      "    local x = {} for i = 1, 200 do x[i] = {k = -1} end\n"
	                      "    x = nil\n"
	                      "  end\n"
	                      "  return tostring(s) .. ' ' .. e[1].k .. ' ' .. e[300].k\n"
	                      "end\n",
	                      &many, &out),
	                 0);
	assert_str(&out, "45150 1 300");
	struct edgefn_value wrap = edgefn_table();
	assert_non_null(edgefn_table_set_str(a, &wrap, "many", many));
	for (int round = 0; round < 3; round++) {
		assert_int_equal(run1(f,
		                      "function handler(e)\n"
		                      "  local kept = {}\n"
		                      "  for i = 1, 300 do local p = e.many[i] if i % 7 == 0 then "
		                      "kept[#kept + 1] = p else e.many[i] = nil end end\n"
		                      "  local fresh = {}\n"
		                      "  for i = 1, 2000 do fresh[i] = {k = i} end\n"
		                      "  return {kept[1], fresh[5], kept[#kept]}\n"
		                      "end\n",
		                      &wrap, &out),
		                 0);
		assert_ptr_equal(edgefn_table_geti(&out, 1)->u.t.items,
		                 edgefn_table_geti(&many, 7)->u.t.items);
		assert_int_equal(edgefn_table_get(edgefn_table_geti(&out, 2), IOV_LIT("k"))->u.i,
		                 5);
		assert_ptr_equal(edgefn_table_geti(&out, 3)->u.t.items,
		                 edgefn_table_geti(&many, 294)->u.t.items);
	}
	/* a table kept past its call (its C data is gone by then) is refused */
	int id = load(f, "keep.lua",
	              "function handler(e) if saved then return saved.k end saved = e.sub return "
	              "'first' end\n");
	assert_int_equal(edgefn_call(f->st, id, &ev, 1, 0, a, &out, f->err, sizeof(f->err)), 0);
	assert_str(&out, "first");
	assert_int_equal(edgefn_call(f->st, id, &ev, 1, 0, a, &out, f->err, sizeof(f->err)),
	                 ERR_EDGEFN_RUNTIME);
	assert_non_null(strstr(f->err, "event data used after its call ended"));
	id =
	    load(f, "keep2.lua",
	         "function handler(e) if saved then return saved end saved = e.sub return 1 end\n");
	assert_int_equal(edgefn_call(f->st, id, &ev, 1, 0, a, &out, f->err, sizeof(f->err)), 0);
	assert_int_equal(edgefn_call(f->st, id, &ev, 1, 0, a, &out, f->err, sizeof(f->err)),
	                 ERR_EDGEFN_VALUE);
	fx_free(f);
}

/* ---- the event skeleton: reused between calls, never showing a change ---- */

/* {Records = {{cf = {config = {eventType = et}, request = {uri = uri}
 * [, response = {status = "200"}]}}}} in a */
static struct edgefn_value skel_event(struct arena *a, const char *et, const char *uri, bool resp)
{
	struct edgefn_value ev = edgefn_table(), recs = edgefn_table(), rec = edgefn_table();
	struct edgefn_value cf = edgefn_table(), cfg = edgefn_table(), req = edgefn_table();
	assert_non_null(edgefn_table_set_str(a, &cfg, "eventType", edgefn_str(iov_cstr(et))));
	assert_non_null(edgefn_table_set_str(a, &req, "uri", edgefn_str(iov_cstr(uri))));
	assert_non_null(edgefn_table_set_str(a, &cf, "config", cfg));
	assert_non_null(edgefn_table_set_str(a, &cf, "request", req));
	if (resp) {
		struct edgefn_value r = edgefn_table();
		assert_non_null(edgefn_table_set_str(a, &r, "status", edgefn_str(IOV_LIT("200"))));
		assert_non_null(edgefn_table_set_str(a, &cf, "response", r));
	}
	assert_non_null(edgefn_table_set_str(a, &rec, "cf", cf));
	assert_non_null(edgefn_table_push(a, &recs, rec));
	assert_non_null(edgefn_table_set_str(a, &ev, "Records", recs));
	return ev;
}

/* Call id with skel_event(uri) and return its string result. */
static const char *skel_call(struct fixture *f, int id, const char *uri, bool resp, int want_rc)
{
	static char out[256];
	struct edgefn_value ev = skel_event(f->a, "viewer-request", uri, resp), res;
	int rc = edgefn_call(f->st, id, &ev, 1, 0, f->a, &res, f->err, sizeof(f->err));
	if (rc != want_rc)
		fail_msg("%s: rc %d (%s)", uri, rc, f->err);
	if (rc != 0)
		return "";
	assert_int_equal(res.kind, EDGEFN_STR);
	snprintf(out, sizeof(out), "%.*s", (int)res.u.s.len, res.u.s.base);
	return out;
}

static void skeleton_reused_but_never_shows_a_change(void **state)
{
	(void)state;
	struct fixture *f = fx_new(NULL);
	/* what every call sees: its own uri, no key another call added */
	int see = load(f, "see.lua",
	               "function handler(e)\n"
	               "  local cf = e.Records[1].cf\n"
	               "  local n = 0 for _ in pairs(e) do n = n + 1 end\n"
	               "  for _ in pairs(e.Records[1]) do n = n + 1 end\n"
	               "  for _ in pairs(cf) do n = n + 1 end\n"
	               "  return cf.request.uri .. ' ' .. n .. ' ' .. #e.Records .. ' ' ..\n"
	               "    tostring(cf.config.eventType) .. ' ' .. tostring(getmetatable(e)) ..\n"
	               "    ' ' .. tostring(e.extra) .. tostring(cf.x) .. tostring(e.zzz)\n"
	               "end\n");
	assert_true(see >= 0);
	assert_string_equal(skel_call(f, see, "/a", false, 0),
	                    "/a 4 1 viewer-request nil nilnilnil");
	assert_string_equal(skel_call(f, see, "/b", false, 0),
	                    "/b 4 1 viewer-request nil nilnilnil");
	/* changes one call makes: each must be gone in the next */
	static const char *const changes[] = {
		"e.extra = 1",                                                 /* a key added */
		"rawset(e.Records[1].cf, 'x', 1)",                             /* added raw */
		"e.Records[1].cf = {config = {}, request = {uri = 'forged'}}", /* replaced */
		"e.Records[1] = {cf = {request = {uri = 'forged'}}}",
		"e.Records = {{cf = {request = {uri = 'forged'}}}}",
		"table.insert(e.Records, {cf = {}})",
		"table.remove(e.Records)",
		"e.Records[1].cf.config = nil",               /* a lazy entry removed */
		"e.Records[1].cf.request = {uri = 'forged'}", /* replaced */
		"setmetatable(e, {__index = function() return 'm' end})",
		"local r = e.Records e.Records = nil e.Records = r", /* removed, put back */
	};
	for (size_t i = 0; i < N_ELEMS(changes); i++) {
		char src[512];
		snprintf(src, sizeof(src), "function handler(e) %s return 'done' end\n",
		         changes[i]);
		char name[32];
		snprintf(name, sizeof(name), "change%zu.lua", i);
		int id = load(f, name, src);
		assert_true(id >= 0);
		assert_string_equal(skel_call(f, id, "/c", false, 0), "done");
		const char *got = skel_call(f, see, "/d", false, 0);
		if (strcmp(got, "/d 4 1 viewer-request nil nilnilnil") != 0)
			fail_msg("after `%s` the next call saw: %s", changes[i], got);
	}
	/* a failed call drops the skeleton too */
	int boom = load(f, "boom.lua", "function handler(e) e.extra = 1 error('x') end\n");
	assert_true(boom >= 0);
	skel_call(f, boom, "/e", false, ERR_EDGEFN_RUNTIME);
	assert_string_equal(skel_call(f, see, "/f", false, 0),
	                    "/f 4 1 viewer-request nil nilnilnil");
	/* two shapes in turn (request and response triggers): both right */
	for (int i = 0; i < 4; i++) {
		assert_string_equal(skel_call(f, see, i % 2 ? "/r1" : "/q1", i % 2, 0),
		                    i % 2 ? "/r1 5 1 viewer-request nil nilnilnil"
		                          : "/q1 4 1 viewer-request nil nilnilnil");
	}
	/* a table kept past its call shows the later call's event */
	int keep = load(f, "keep-event.lua",
	                "function handler(e)\n"
	                "  local was = saved and saved.Records[1].cf.request.uri or '-'\n"
	                "  saved = e\n"
	                "  return was\n"
	                "end\n");
	assert_true(keep >= 0);
	assert_string_equal(skel_call(f, keep, "/g", false, 0), "-");
	assert_string_equal(skel_call(f, keep, "/h", false, 0), "/h");
	/* skeletons are per function: a table one function kept never shows
	 * what another function's call put in it */
	int keeper = load(f, "keeper.lua",
	                  "function handler(e)\n"
	                  "  if kept then return tostring(kept.secret) end\n"
	                  "  kept = e.Records[1].cf\n"
	                  "  return 'kept'\n"
	                  "end\n");
	int writer = load(f, "writer.lua",
	                  "function handler(e) e.Records[1].cf.secret = 'w' return 'x' end\n");
	assert_true(keeper >= 0 && writer >= 0);
	assert_string_equal(skel_call(f, keeper, "/k", false, 0), "kept");
	assert_string_equal(skel_call(f, writer, "/w", false, 0), "x");
	assert_string_equal(skel_call(f, keeper, "/k", false, 0), "nil");
	/* the request handed back untouched is still the caller's own */
	int pass = load(f, "pass.lua", "function handler(e) return e.Records[1].cf.request end\n");
	assert_true(pass >= 0);
	for (int i = 0; i < 3; i++) {
		struct edgefn_value ev = skel_event(f->a, "viewer-request", "/p", false), res;
		assert_int_equal(
		    edgefn_call(f->st, pass, &ev, 1, 0, f->a, &res, f->err, sizeof(f->err)), 0);
		const struct edgefn_value *req = edgefn_table_get(
		    edgefn_table_get(
		        edgefn_table_geti(edgefn_table_get(&ev, IOV_LIT("Records")), 1),
		        IOV_LIT("cf")),
		    IOV_LIT("request"));
		assert_ptr_equal(res.u.t.items, req->u.t.items);
	}
	fx_free(f);
}

/* ---- extra bindings and log ---- */

static int bind_add(void *ud, const struct edgefn_value *args, size_t nargs, struct arena *a,
                    struct edgefn_value *ret, char *err, size_t errlen)
{
	(void)a;
	int *calls = ud;
	(*calls)++;
	if (nargs != 1 || args[0].kind != EDGEFN_TABLE) {
		snprintf(err, errlen, "want one table");
		return ERR_INVALID;
	}
	const struct edgefn_value *x = edgefn_table_get(&args[0], IOV_LIT("x"));
	const struct edgefn_value *y = edgefn_table_get(&args[0], IOV_LIT("y"));
	if (!x || !y || x->kind != EDGEFN_INT || y->kind != EDGEFN_INT) {
		snprintf(err, errlen, "x and y must be integers");
		return ERR_INVALID;
	}
	*ret = edgefn_int(x->u.i + y->u.i);
	return 0;
}

static void extra_bindings(void **state)
{
	(void)state;
	int calls = 0;
	struct edgefn_program *p = edgefn_program_new(NULL);
	assert_int_equal(edgefn_program_bind(p, "test.math.add", bind_add, &calls), 0);
	assert_int_equal(edgefn_program_bind(p, "test.math.add", bind_add, &calls), ERR_INVALID);
	assert_int_equal(edgefn_program_bind(p, "bad..name", bind_add, &calls), ERR_INVALID);
	assert_int_equal(edgefn_program_bind(p, "sha256", bind_add, &calls), ERR_INVALID);
	assert_int_equal(edgefn_program_bind(p, "log.x", bind_add, &calls), ERR_INVALID);
	assert_int_equal(edgefn_program_bind(p, "1abc", bind_add, &calls), ERR_INVALID);
	assert_int_equal(edgefn_program_bind(p, "os.exit", bind_add, &calls), 0);
	int id;
	assert_int_equal(
	    edgefn_program_add(p, IOV_LIT("add.lua"),
	                       IOV_LIT("function handler(e)\n"
	                               "  local ok, msg = pcall(meridian.test.math.add, 1)\n"
	                               "  return meridian.test.math.add{x = e, y = 2} .. msg\n"
	                               "end\n"),
	                       &id),
	    0);
	assert_int_equal(id, 0);
	struct edgefn_state *st;
	char err[EDGEFN_ERR_MAX];
	assert_int_equal(edgefn_state_new(p, &st, err, sizeof(err)), 0);
	struct arena *a = arena_new(1 << 16);
	struct edgefn_value out, in = edgefn_int(40);
	assert_int_equal(edgefn_call(st, id, &in, 1, 0, a, &out, err, sizeof(err)), 0);
	assert_str(&out, "42test.math.add: want one table");
	assert_int_equal(calls, 2);
	/* a binding lives under meridian only: the real os stays absent */
	int id2;
	assert_int_equal(edgefn_load(st, IOV_LIT("os.lua"),
	                             IOV_LIT("function handler() return type(os) end"), &id2, err,
	                             sizeof(err)),
	                 0);
	assert_int_equal(edgefn_call(st, id2, NULL, 0, 0, a, &out, err, sizeof(err)), 0);
	assert_str(&out, "nil");
	edgefn_state_free(st);
	edgefn_program_unref(p);
	arena_free(a);
}

struct log_sink {
	int lines, fn;
	size_t last_len;
};

static void log_cb(void *ud, int fn, struct iov line)
{
	struct log_sink *s = ud;
	s->lines++;
	s->fn = fn;
	s->last_len = line.len;
}

static void log_is_capped(void **state)
{
	(void)state;
	struct fixture *f = fx_new(&(struct edgefn_limits){ .log_max = 5, .log_line_max = 10 });
	struct log_sink sink = { 0 };
	edgefn_state_set_log(f->st, log_cb, &sink);
	int id = load(f, "log.lua",
	              "function handler() for i = 1, 100 do meridian.log('line ' .. i .. "
	              "string.rep('.', 20)) end end\n");
	struct edgefn_value out;
	for (int round = 1; round <= 2; round++) {
		assert_int_equal(
		    edgefn_call(f->st, id, NULL, 0, 0, f->a, &out, f->err, sizeof(f->err)), 0);
		assert_int_equal(sink.lines, 5 * round); /* the count restarts per call */
		assert_int_equal(sink.fn, id);
		assert_int_equal(sink.last_len, 10);
	}
	fx_free(f);
}

/* ---- reload ---- */

static struct edgefn_program *prog_with(const char *src)
{
	struct edgefn_program *p = edgefn_program_new(NULL);
	int id;
	assert_int_equal(edgefn_program_add(p, IOV_LIT("fn.lua"), iov_cstr(src), &id), 0);
	return p;
}

static void reload_swaps_states(void **state)
{
	(void)state;
	char err[EDGEFN_ERR_MAX];
	struct arena *a = arena_new(1 << 16);
	struct edgefn_value out;
	struct edgefn_program *v1 = prog_with("function handler() return 'v1' end");
	assert_int_equal(edgefn_program_check(v1, err, sizeof(err)), 0);
	struct edgefn_current *cur = edgefn_current_new(v1);
	edgefn_program_unref(v1);

	struct edgefn_state *st = NULL;
	assert_int_equal(edgefn_state_refresh(&st, cur, err, sizeof(err)), 0);
	assert_non_null(st);
	struct edgefn_state *first = st;
	assert_int_equal(edgefn_state_refresh(&st, cur, err, sizeof(err)), 0);
	assert_ptr_equal(st, first); /* nothing new: the same state */
	assert_int_equal(edgefn_call(st, 0, NULL, 0, 0, a, &out, err, sizeof(err)), 0);
	assert_str(&out, "v1");

	struct edgefn_program *v2 = prog_with("function handler() return 'v2' end");
	edgefn_current_publish(cur, v2);
	edgefn_program_unref(v2);
	assert_int_equal(edgefn_state_refresh(&st, cur, err, sizeof(err)), 0);
	assert_int_equal(edgefn_call(st, 0, NULL, 0, 0, a, &out, err, sizeof(err)), 0);
	assert_str(&out, "v2");

	/* a broken program: check refuses it; if published anyway, the worker
	 * keeps v2, reports once and does not retry on every request */
	struct edgefn_program *v3 = prog_with("function handler() return end end");
	assert_int_equal(edgefn_program_check(v3, err, sizeof(err)), ERR_EDGEFN_SYNTAX);
	assert_true(strncmp(err, "fn.lua:1:", 9) == 0);
	edgefn_current_publish(cur, v3);
	edgefn_program_unref(v3);
	assert_int_equal(edgefn_state_refresh(&st, cur, err, sizeof(err)), ERR_EDGEFN_SYNTAX);
	assert_int_equal(edgefn_state_refresh(&st, cur, err, sizeof(err)), 0);
	assert_int_equal(edgefn_call(st, 0, NULL, 0, 0, a, &out, err, sizeof(err)), 0);
	assert_str(&out, "v2");

	struct edgefn_program *got = edgefn_current_get(cur);
	assert_int_equal(edgefn_program_count(got), 1);
	int id;
	assert_int_equal(edgefn_program_find(got, IOV_LIT("fn.lua"), &id), 0);
	assert_int_equal(edgefn_program_find(got, IOV_LIT("nope.lua"), &id), ERR_NOT_FOUND);
	edgefn_program_unref(got);

	edgefn_state_free(st);
	edgefn_current_free(cur);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sandbox_absent),
		cmocka_unit_test(sandbox_bytecode_refused),
		cmocka_unit_test(budget_stops_infinite_loops),
		cmocka_unit_test(deadline_stops_slow_calls),
		cmocka_unit_test(memory_cap_stops_bombs),
		cmocka_unit_test(errors_name_file_and_line),
		cmocka_unit_test(files_have_their_own_globals),
		cmocka_unit_test(bindings_known_vectors),
		cmocka_unit_test(bindings_json_in_lua),
		cmocka_unit_test(json_rejects),
		cmocka_unit_test(json_round_trips),
		cmocka_unit_test(values_cross_the_boundary),
		cmocka_unit_test(lazy_tables_behave_like_tables),
		cmocka_unit_test(skeleton_reused_but_never_shows_a_change),
		cmocka_unit_test(extra_bindings),
		cmocka_unit_test(log_is_capped),
		cmocka_unit_test(reload_swaps_states),
	};
	return cmocka_run_group_tests_name("test_edgefn", tests, NULL, NULL);
}
