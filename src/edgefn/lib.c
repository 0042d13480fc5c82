/*
 * The meridian table functions see: digests, HMAC, base64, hex, JSON, log,
 * and the program's extra bindings (see edgefn.h). Decoders return nil and
 * a message on bad data; wrong argument types raise. Output strings are
 * built in Lua memory, so they count against the state's cap. The state's
 * thread.
 */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "edgefn/edgefn-int.h"
#include "edgefn/json.h"

static int l_sha256(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	uint8_t d[SHA256_LEN];
	sha256(s, n, d);
	lua_pushlstring(L, (const char *)d, sizeof(d));
	return 1;
}

static int l_sha256_hex(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(s, n, hex);
	lua_pushlstring(L, hex, SHA256_HEX_LEN);
	return 1;
}

static void hmac_args(lua_State *L, uint8_t d[SHA256_LEN])
{
	size_t kn, mn;
	const char *k = luaL_checklstring(L, 1, &kn);
	const char *m = luaL_checklstring(L, 2, &mn);
	hmac_sha256(k, kn, m, mn, d);
}

static int l_hmac_sha256(lua_State *L)
{
	uint8_t d[SHA256_LEN];
	hmac_args(L, d);
	lua_pushlstring(L, (const char *)d, sizeof(d));
	return 1;
}

static int l_hmac_sha256_hex(lua_State *L)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	hmac_args(L, d);
	hex_encode(d, sizeof(d), hex);
	lua_pushlstring(L, hex, SHA256_HEX_LEN);
	return 1;
}

static int fail_nil(lua_State *L, const char *msg)
{
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

static int l_base64_encode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (n > (SIZE_MAX - 1) / 4 * 3 - 2)
		return luaL_error(L, "string too long");
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, BASE64_LEN(n) + 1);
	luaL_pushresultsize(&b, base64_encode((const uint8_t *)s, n, out));
	return 1;
}

static int l_base64_decode(lua_State *L)
{
	size_t n, got;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	size_t cap = n / 4 * 3;
	uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, cap ? cap : 1);
	if (base64_decode(iov_make(s, n), out, cap, &got) != 0)
		return fail_nil(L, "base64_decode: not canonical padded base64");
	luaL_pushresultsize(&b, got);
	return 1;
}

static int l_hex_encode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (n > (SIZE_MAX - 1) / 2)
		return luaL_error(L, "string too long");
	luaL_Buffer b;
	char *out = luaL_buffinitsize(L, &b, 2 * n + 1);
	hex_encode((const uint8_t *)s, n, out);
	luaL_pushresultsize(&b, 2 * n);
	return 1;
}

static int l_hex_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (n % 2)
		return fail_nil(L, "hex_decode: odd number of digits");
	luaL_Buffer b;
	uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, n / 2 ? n / 2 : 1);
	if (hex_decode(iov_make(s, n), out, n / 2) != 0)
		return fail_nil(L, "hex_decode: not lowercase hex");
	luaL_pushresultsize(&b, n / 2);
	return 1;
}

static int l_json_encode(lua_State *L)
{
	struct edgefn_state *st = edgefn__state(L);
	char err[EDGEFN_ERR_MAX];
	struct edgefn_value v;
	luaL_checkany(L, 1);
	arena_reset(st->scratch);
	if (edgefn__to_value(L, 1, st->scratch, st->lim.depth_max, &v, err, sizeof(err)) != 0)
		return fail_nil(L, err);
	/* the state's buffer, so a memory error while pushing leaks nothing */
	buf_reset(&st->json);
	int rc = edgefn_json_encode(&v, st->lim.depth_max, &st->json, err, sizeof(err));
	if (rc != 0)
		return fail_nil(L, rc == ERR_INVALID ? err : "json: result too large");
	lua_pushlstring(L, st->json.data ? st->json.data : "", st->json.len);
	return 1;
}

static int l_json_decode(lua_State *L)
{
	struct edgefn_state *st = edgefn__state(L);
	char err[EDGEFN_ERR_MAX];
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (n > st->lim.json_max)
		return fail_nil(L, "json: text too large");
	struct edgefn_value v;
	arena_reset(st->scratch);
	int rc = edgefn_json_decode(iov_make(s, n), st->scratch, st->lim.depth_max, &v, err,
	                            sizeof(err));
	if (rc != 0)
		return fail_nil(L, rc == ERR_INVALID ? err : "json: value too large");
	edgefn__push(L, &v, st->lim.depth_max);
	return 1;
}

static int l_log(lua_State *L)
{
	struct edgefn_state *st = edgefn__state(L);
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (st->log_lines >= st->lim.log_max)
		return 0;
	st->log_lines++;
	if (st->log_fn)
		st->log_fn(st->log_ud, st->cur_fn,
		           iov_make(s, n < st->lim.log_line_max ? n : st->lim.log_line_max));
	return 0;
}

/* meridian.<binding>(...): Lua arguments -> values -> the C callback ->
 * value -> Lua. The binding is the closure's upvalue. */
static int l_binding(lua_State *L)
{
	struct edgefn_state *st = edgefn__state(L);
	const struct edgefn_binding *b = lua_touserdata(L, lua_upvalueindex(1));
	char err[EDGEFN_ERR_MAX];
	struct edgefn_value args[8], ret = edgefn_nil();
	int nargs = lua_gettop(L);
	if (nargs > 8)
		return luaL_error(L, "%s: too many arguments", b->name);
	arena_reset(st->scratch);
	for (int i = 0; i < nargs; i++)
		if (edgefn__to_value(L, i + 1, st->scratch, st->lim.depth_max, &args[i], err,
		                     sizeof(err)) != 0)
			return luaL_error(L, "%s: argument %d: %s", b->name, i + 1, err);
	err[0] = '\0';
	int rc = b->fn(b->ud, args, (size_t)nargs, st->scratch, &ret, err, sizeof(err));
	if (rc != 0)
		return luaL_error(L, "%s: %s", b->name, err[0] ? err : err_text(rc));
	edgefn__push(L, &ret, st->lim.depth_max);
	return 1;
}

static const luaL_Reg builtins[] = {
	{ "sha256", l_sha256 },
	{ "sha256_hex", l_sha256_hex },
	{ "hmac_sha256", l_hmac_sha256 },
	{ "hmac_sha256_hex", l_hmac_sha256_hex },
	{ "base64_encode", l_base64_encode },
	{ "base64_decode", l_base64_decode },
	{ "hex_encode", l_hex_encode },
	{ "hex_decode", l_hex_decode },
	{ "json_encode", l_json_encode },
	{ "json_decode", l_json_decode },
	{ "log", l_log },
	{ NULL, NULL },
};

bool edgefn__is_builtin(const char *name, size_t len)
{
	for (const luaL_Reg *r = builtins; r->name; r++)
		if (strlen(r->name) == len && memcmp(r->name, name, len) == 0)
			return true;
	return false;
}

/* Walk or create the sub-tables of a dotted name under the table on top;
 * leaves the innermost table on top and returns the last component. */
static const char *subtable(lua_State *L, const char *name)
{
	const char *dot;
	while ((dot = strchr(name, '.')) != NULL) {
		lua_pushlstring(L, name, (size_t)(dot - name));
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -3) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -2);
			lua_pushvalue(L, -2);
			lua_rawset(L, -5);
		}
		lua_remove(L, -2); /* the key */
		lua_remove(L, -2); /* the parent */
		name = dot + 1;
	}
	return name;
}

void edgefn__open_lib(lua_State *L, const struct edgefn_binding *b, int nb)
{
	luaL_newlib(L, builtins);
	for (int i = 0; i < nb; i++) {
		lua_pushvalue(L, -1);
		const char *last = subtable(L, b[i].name);
		lua_pushlightuserdata(L, (void *)&b[i]);
		lua_pushcclosure(L, l_binding, 1);
		lua_setfield(L, -2, last);
		lua_pop(L, 1);
	}
	lua_setglobal(L, "meridian");
}
