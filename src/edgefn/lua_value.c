/* Neutral values to and from Lua (see edgefn-int.h). The state's thread. */
#include "edgefn/edgefn-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

_Static_assert(sizeof(lua_Integer) == sizeof(int64_t), "Lua integers are 64-bit");

void edgefn__push(lua_State *L, const struct edgefn_value *v, unsigned depth_left)
{
	switch (v->kind) {
	case EDGEFN_NIL:
		lua_pushnil(L);
		return;
	case EDGEFN_BOOL:
		lua_pushboolean(L, v->u.b);
		return;
	case EDGEFN_INT:
		lua_pushinteger(L, (lua_Integer)v->u.i);
		return;
	case EDGEFN_NUM:
		lua_pushnumber(L, v->u.n);
		return;
	case EDGEFN_STR:
		lua_pushlstring(L, v->u.s.base, v->u.s.len);
		return;
	case EDGEFN_TABLE:
		break;
	}
	if (depth_left == 0)
		luaL_error(L, "value nested too deeply");
	if (!lua_checkstack(L, 3))
		luaL_error(L, "stack overflow");
	int narr = 0;
	size_t n = v->u.t.len;
	while ((size_t)narr < n && narr < INT32_MAX && v->u.t.items[narr].key.kind == EDGEFN_INT &&
	       v->u.t.items[narr].key.u.i == narr + 1)
		narr++;
	lua_createtable(L, narr, n - (size_t)narr > INT32_MAX ? 0 : (int)(n - (size_t)narr));
	for (size_t i = 0; i < n; i++) {
		const struct edgefn_entry *e = &v->u.t.items[i];
		if (e->key.kind == EDGEFN_INT) {
			edgefn__push(L, &e->val, depth_left - 1);
			lua_rawseti(L, -2, (lua_Integer)e->key.u.i);
			continue;
		}
		if (e->key.kind != EDGEFN_STR)
			luaL_error(L, "table key is neither a string nor an integer");
		lua_pushlstring(L, e->key.u.s.base, e->key.u.s.len);
		edgefn__push(L, &e->val, depth_left - 1);
		lua_rawset(L, -3);
	}
}

static int value_fail(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return ERR_EDGEFN_VALUE;
}

static int copy_str(lua_State *L, int idx, struct arena *a, struct edgefn_value *out)
{
	size_t n;
	const char *s = lua_tolstring(L, idx, &n); /* a string already: no conversion */
	struct iov c = n ? arena_dup(a, iov_make(s, n)) : iov_make("", 0);
	if (n && !c.base)
		return ERR_TOO_BIG;
	*out = edgefn_str(c);
	return 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct edgefn_value *a = &((const struct edgefn_entry *)x)->key;
	const struct edgefn_value *b = &((const struct edgefn_entry *)y)->key;
	if (a->kind != b->kind)
		return a->kind == EDGEFN_INT ? -1 : 1;
	if (a->kind == EDGEFN_INT)
		return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
	return iov_cmp(a->u.s, b->u.s);
}

static int table_to_value(lua_State *L, int idx, struct arena *a, unsigned depth_left,
                          struct edgefn_value *out, char *err, size_t errlen)
{
	if (depth_left == 0)
		return value_fail(err, errlen, "value nested too deeply (or a cycle)");
	if (!lua_checkstack(L, 3))
		return value_fail(err, errlen, "stack overflow");
	idx = lua_absindex(L, idx);
	*out = edgefn_table();
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		struct edgefn_value key, val;
		int rc = 0;
		if (lua_type(L, -2) == LUA_TSTRING)
			rc = copy_str(L, -2, a, &key);
		else if (lua_isinteger(L, -2))
			key = edgefn_int((int64_t)lua_tointeger(L, -2));
		else
			rc =
			    value_fail(err, errlen, "table key is neither a string nor an integer");
		if (rc == 0)
			rc = edgefn__to_value(L, -1, a, depth_left - 1, &val, err, errlen);
		if (rc == 0 && !edgefn_table_set(a, out, key, val))
			rc = ERR_TOO_BIG;
		lua_pop(L, 1);
		if (rc != 0) {
			lua_pop(L, 1);
			return rc == ERR_TOO_BIG ? value_fail(err, errlen, "value too large") : rc;
		}
	}
	if (out->u.t.len > 1)
		qsort(out->u.t.items, out->u.t.len, sizeof(struct edgefn_entry), cmp_entry);
	return 0;
}

int edgefn__to_value(lua_State *L, int idx, struct arena *a, unsigned depth_left,
                     struct edgefn_value *out, char *err, size_t errlen)
{
	switch (lua_type(L, idx)) {
	case LUA_TNONE:
	case LUA_TNIL:
		*out = edgefn_nil();
		return 0;
	case LUA_TBOOLEAN:
		*out = edgefn_bool(lua_toboolean(L, idx));
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			*out = edgefn_int((int64_t)lua_tointeger(L, idx));
		else
			*out = edgefn_num((double)lua_tonumber(L, idx));
		return 0;
	case LUA_TSTRING:
		if (copy_str(L, idx, a, out) != 0)
			return value_fail(err, errlen, "value too large");
		return 0;
	case LUA_TTABLE:
		return table_to_value(L, idx, a, depth_left, out, err, errlen);
	default: {
		char msg[64];
		snprintf(msg, sizeof(msg), "a %s cannot leave Lua",
		         lua_typename(L, lua_type(L, idx)));
		return value_fail(err, errlen, msg);
	}
	}
}
