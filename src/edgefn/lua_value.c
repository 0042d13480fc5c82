/* Neutral values to and from Lua (see edgefn-int.h). The state's thread. */
#include "edgefn/edgefn-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

_Static_assert(sizeof(lua_Integer) == sizeof(int64_t), "Lua integers are 64-bit");

static void count_parts(const struct edgefn_value *v, int *narr, int *nrec);

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
	int narr, nrec;
	size_t n = v->u.t.len;
	count_parts(v, &narr, &nrec);
	lua_createtable(L, narr, nrec);
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

/* ---- lazy argument tables ----
 * A proxy is an empty table presized for its entries, with the proxies'
 * metatable (protected, so Lua code can neither read nor change it), which
 * fills it on any use and then removes itself. Which C table a proxy stands
 * for is kept on the C side (st->lazy, found by the table's address), so a
 * proxy costs no hidden field; a proxy the running call did not make (one
 * kept from an earlier call) is stale. */

#define REG_PROXY_MT "meridian.edgefn.proxy"

static void count_parts(const struct edgefn_value *v, int *narr, int *nrec)
{
	size_t n = v->u.t.len, a = 0;
	while (a < n && a < INT32_MAX && v->u.t.items[a].key.kind == EDGEFN_INT &&
	       v->u.t.items[a].key.u.i == (int64_t)a + 1)
		a++;
	*narr = (int)a;
	*nrec = n - a > INT32_MAX - 1 ? 0 : (int)(n - a);
}

void edgefn__lazy_reset(struct edgefn_state *st)
{
	if (++st->lazy_gen == 0) { /* stamps would repeat: forget them */
		if (st->lazy_index)
			memset(st->lazy_index, 0, 2 * st->lazy_cap * sizeof(*st->lazy_index));
		st->lazy_gen = 1;
	}
	st->lazy_len = 0;
	st->nfilled = 0;
}

static size_t lazy_hash(const void *p, size_t nslots)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & (nslots - 1);
}

/* Index lazy[i] by its table's address (a later proxy at the address of a
 * collected one takes its slot). */
static void lazy_index_put(struct edgefn_state *st, size_t i)
{
	size_t n = 2 * st->lazy_cap, h = lazy_hash(st->lazy[i].table, n);
	while (st->lazy_index[h].gen == st->lazy_gen &&
	       st->lazy[st->lazy_index[h].idx].table != st->lazy[i].table)
		h = (h + 1) & (n - 1);
	st->lazy_index[h] = (struct edgefn_lazy_slot){ st->lazy_gen, (uint32_t)i };
}

static const struct edgefn_lazy *lazy_find(const struct edgefn_state *st, const void *table)
{
	if (!st->lazy_len)
		return NULL;
	size_t n = 2 * st->lazy_cap, h = lazy_hash(table, n);
	for (; st->lazy_index[h].gen == st->lazy_gen; h = (h + 1) & (n - 1))
		if (st->lazy[st->lazy_index[h].idx].table == table)
			return &st->lazy[st->lazy_index[h].idx];
	return NULL;
}

/* Room for one more proxy in this call: false at EDGEFN_LAZY_MAX or ENOMEM. */
static bool lazy_room(struct edgefn_state *st)
{
	if (st->lazy_len < st->lazy_cap)
		return true;
	if (st->lazy_cap == EDGEFN_LAZY_MAX)
		return false;
	size_t cap = st->lazy_cap ? st->lazy_cap * 2 : 64;
	struct edgefn_lazy *l = realloc(st->lazy, cap * sizeof(*l));
	if (!l)
		return false;
	st->lazy = l;
	struct edgefn_lazy_slot *x = calloc(2 * cap, sizeof(*x));
	if (!x)
		return false;
	free(st->lazy_index);
	st->lazy_index = x;
	st->lazy_cap = cap;
	for (size_t i = 0; i < st->lazy_len; i++)
		lazy_index_put(st, i);
	return true;
}

static void remember_table(struct edgefn_state *st, const void *table, const struct edgefn_value *v)
{
	if (st->nfilled < EDGEFN_FILLED_MAX)
		st->filled[st->nfilled++] = (struct edgefn_filled){ table, v };
}

static void remember_filled(lua_State *L, struct edgefn_state *st, int idx,
                            const struct edgefn_value *v)
{
	remember_table(st, lua_topointer(L, idx), v);
}

static void fill_entries(lua_State *L, int idx, const struct edgefn_value *v, unsigned depth);

#define EAGER_LEVELS  3 /* levels below an argument built at once (with the argument's) */
#define EAGER_ENTRIES 4 /* when they hold at most this many entries, all tables */

static bool eager_ok(const struct edgefn_value *v)
{
	if (v->u.t.len == 0 || v->u.t.len > EAGER_ENTRIES)
		return false;
	for (size_t i = 0; i < v->u.t.len; i++)
		if (v->u.t.items[i].val.kind != EDGEFN_TABLE)
			return false;
	return true;
}

/* The first levels of an argument, when they hold only a few tables
 * (event = {Records}, Records = {record}, record = {cf}, cf = {config,
 * request}), are built at once: whoever reads the argument reads through
 * them, and a proxy and its fill cost more than the table. What they hold
 * stays lazy. */
static bool eager_at(const struct edgefn_state *st, const struct edgefn_value *v,
                     unsigned depth_left)
{
	return v->kind == EDGEFN_TABLE && st->lim.depth_max - depth_left <= EAGER_LEVELS &&
	       depth_left > 1 && eager_ok(v);
}

void edgefn__push_lazy(lua_State *L, const struct edgefn_value *v, unsigned depth_left)
{
	struct edgefn_state *st = edgefn__state(L);
	if (v->kind != EDGEFN_TABLE || depth_left == 0) {
		edgefn__push(L, v, depth_left);
		return;
	}
	if (eager_at(st, v, depth_left)) {
		if (!lua_checkstack(L, 3))
			luaL_error(L, "stack overflow");
		int narr, nrec;
		count_parts(v, &narr, &nrec);
		lua_createtable(L, narr, nrec);
		fill_entries(L, lua_gettop(L), v, depth_left);
		remember_filled(L, st, -1, v);
		return;
	}
	if (!lazy_room(st)) {
		edgefn__push(L, v, depth_left);
		return;
	}
	int narr, nrec;
	count_parts(v, &narr, &nrec);
	lua_createtable(L, narr, nrec);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->proxy_mt);
	lua_setmetatable(L, -2);
	size_t i = st->lazy_len++;
	st->lazy[i] = (struct edgefn_lazy){ lua_topointer(L, -1), v, depth_left };
	lazy_index_put(st, i);
}

/* ---- the event skeleton ----
 * Making event, Records, Records[1] and cf is most of what an empty
 * function costs: four tables allocated, filled, swept and freed per call.
 * So the first argument's eager levels are kept in the registry after a
 * call and refilled in place by the next call whose argument has the same
 * shape (same keys, same entries built at once); only their lazy entries
 * (config, request, ...) are new. A skeleton table carries a hidden
 * metatable whose __newindex notes any key added (rawset is wrapped to note
 * it too, getmetatable to hide it); after the call its tables must still
 * hold each other and that metatable. A call that added a key, replaced a
 * link or a metatable, or failed, drops the skeleton and the next call
 * builds a new one. A table kept past its call shows the later call's
 * event (docs/internals/edgefn.md). */

/* The C tables of a skeleton's nodes, in pre-order. */
typedef const struct edgefn_value *skel_cnodes[EDGEFN_SKEL_NODES];

/* Whether v (eager, at depth_left) has sk's shape from node *ni on. */
static bool skel_match(const struct edgefn_state *st, const struct edgefn_skel *sk,
                       const struct edgefn_value *v, unsigned depth_left, unsigned *ni,
                       skel_cnodes cnode)
{
	unsigned me = (*ni)++;
	if (me >= sk->nnodes)
		return false;
	const struct edgefn_skel_node *nd = &sk->node[me];
	if (nd->n != v->u.t.len || nd->depth != depth_left)
		return false;
	cnode[me] = v;
	for (unsigned k = 0; k < nd->n; k++) {
		const struct edgefn_entry *e = &v->u.t.items[k];
		const struct edgefn_skel_link *l = &sk->link[nd->first + k];
		if (e->key.kind == EDGEFN_INT) {
			if (!l->is_int || l->i != e->key.u.i)
				return false;
		} else if (e->key.kind != EDGEFN_STR || l->is_int || l->len != e->key.u.s.len ||
		           memcmp(sk->keys + l->off, e->key.u.s.base, l->len) != 0) {
			return false;
		}
		bool eager = eager_at(st, &e->val, depth_left - 1);
		if (eager != (l->child >= 0))
			return false;
		if (eager && ((int)*ni != l->child ||
		              !skel_match(st, sk, &e->val, depth_left - 1, ni, cnode)))
			return false;
	}
	return true;
}

/* Describe eager v (at depth_left) into sk from node sk->nnodes on. False
 * when it does not fit a skeleton. */
static bool skel_describe(const struct edgefn_state *st, struct edgefn_skel *sk,
                          const struct edgefn_value *v, unsigned depth_left)
{
	if (sk->nnodes == EDGEFN_SKEL_NODES || v->u.t.len > EDGEFN_SKEL_LINKS - sk->nlinks)
		return false;
	unsigned me = sk->nnodes++;
	sk->node[me] =
	    (struct edgefn_skel_node){ sk->nlinks, (unsigned)v->u.t.len, depth_left, 0, NULL };
	sk->nlinks += (unsigned)v->u.t.len;
	for (unsigned k = 0; k < sk->node[me].n; k++) {
		const struct edgefn_entry *e = &v->u.t.items[k];
		struct edgefn_skel_link *l = &sk->link[sk->node[me].first + k];
		*l = (struct edgefn_skel_link){ .child = -1 };
		if (e->key.kind == EDGEFN_INT) {
			l->is_int = true;
			l->i = e->key.u.i;
		} else {
			if (e->key.kind != EDGEFN_STR ||
			    e->key.u.s.len > EDGEFN_SKEL_KEYS - sk->keylen)
				return false;
			l->off = (unsigned)sk->keylen;
			l->len = (unsigned)e->key.u.s.len;
			memcpy(sk->keys + sk->keylen, e->key.u.s.base, l->len);
			sk->keylen += l->len;
		}
		if (eager_at(st, &e->val, depth_left - 1)) {
			l->child = (int)sk->nnodes;
			if (!skel_describe(st, sk, &e->val, depth_left - 1))
				return false;
		} else {
			sk->node[me].nlazy++;
		}
	}
	return true;
}

/* Registry array of skeleton sk: tables at 1..nnodes, link j's key at
 * nnodes + 1 + j. */
#define SKEL_KEY(sk, j) ((lua_Integer)(sk)->nnodes + 1 + (lua_Integer)(j))

/* Keep the skeleton just built (its root at the top) in the registry. */
static void skel_keep(lua_State *L, struct edgefn_state *st, struct edgefn_skel *sk)
{
	if (!lua_checkstack(L, 5))
		luaL_error(L, "stack overflow");
	int root = lua_gettop(L);
	lua_createtable(L, (int)(sk->nnodes + sk->nlinks), 0);
	int arr = lua_gettop(L);
	lua_pushvalue(L, root);
	lua_rawseti(L, arr, 1);
	for (unsigned i = 0; i < sk->nnodes; i++) {
		lua_rawgeti(L, arr, (lua_Integer)i + 1);
		int t = lua_gettop(L);
		sk->node[i].table = lua_topointer(L, t);
		for (unsigned k = 0; k < sk->node[i].n; k++) {
			unsigned j = sk->node[i].first + k;
			const struct edgefn_skel_link *l = &sk->link[j];
			if (l->is_int)
				lua_pushinteger(L, (lua_Integer)l->i);
			else
				lua_pushlstring(L, sk->keys + l->off, l->len);
			lua_pushvalue(L, -1);
			lua_rawseti(L, arr, SKEL_KEY(sk, j));
			if (l->child < 0) {
				lua_pop(L, 1);
				continue;
			}
			lua_rawget(L, t);
			lua_rawseti(L, arr, (lua_Integer)l->child + 1);
		}
		lua_rawgeti(L, LUA_REGISTRYINDEX, st->skel_mt);
		lua_setmetatable(L, t);
		lua_pop(L, 1);
	}
	sk->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops arr */
}

/* Refill skeleton sk with the lazy entries of cnode and push its root. */
static void skel_reuse(lua_State *L, struct edgefn_state *st, const struct edgefn_skel *sk,
                       skel_cnodes cnode)
{
	if (!lua_checkstack(L, 6))
		luaL_error(L, "stack overflow");
	lua_rawgeti(L, LUA_REGISTRYINDEX, sk->ref);
	int arr = lua_gettop(L);
	for (unsigned i = 0; i < sk->nnodes; i++) {
		const struct edgefn_skel_node *nd = &sk->node[i];
		remember_table(st, nd->table, cnode[i]);
		if (!nd->nlazy)
			continue;
		lua_rawgeti(L, arr, (lua_Integer)i + 1);
		int t = lua_gettop(L);
		for (unsigned k = 0; k < nd->n; k++) {
			if (sk->link[nd->first + k].child >= 0)
				continue; /* another table of the skeleton: still there */
			lua_rawgeti(L, arr, SKEL_KEY(sk, nd->first + k));
			edgefn__push_lazy(L, &cnode[i]->u.t.items[k].val, nd->depth - 1);
			lua_rawset(L, t);
		}
		lua_pop(L, 1);
	}
	lua_rawgeti(L, arr, 1);
	lua_remove(L, arr);
}

void edgefn__push_arg0(lua_State *L, const struct edgefn_value *v, unsigned depth_left)
{
	struct edgefn_state *st = edgefn__state(L);
	st->skel_used = -1;
	st->skel_dirty = false;
	if (!eager_at(st, v, depth_left)) {
		edgefn__push_lazy(L, v, depth_left);
		return;
	}
	skel_cnodes cnode;
	for (int i = 0; i < EDGEFN_SKEL_SLOTS; i++) {
		struct edgefn_skel *sk = &st->skel[i];
		unsigned ni = 0;
		if (sk->valid && sk->fn == st->cur_fn &&
		    skel_match(st, sk, v, depth_left, &ni, cnode) && ni == sk->nnodes) {
			skel_reuse(L, st, sk, cnode);
			st->skel_used = i;
			return;
		}
	}
	int i = (int)(st->skel_next++ % EDGEFN_SKEL_SLOTS);
	struct edgefn_skel *sk = &st->skel[i];
	luaL_unref(L, LUA_REGISTRYINDEX, sk->ref);
	sk->ref = LUA_NOREF;
	sk->valid = false;
	sk->fn = st->cur_fn;
	sk->nnodes = sk->nlinks = 0;
	sk->keylen = 0;
	bool fits = skel_describe(st, sk, v, depth_left);
	edgefn__push_lazy(L, v, depth_left);
	if (!fits)
		return;
	skel_keep(L, st, sk);
	sk->valid = true;
	st->skel_used = i;
}

void edgefn__skel_check(lua_State *L, bool ok)
{
	struct edgefn_state *st = edgefn__state(L);
	if (st->skel_used < 0)
		return;
	struct edgefn_skel *sk = &st->skel[st->skel_used];
	st->skel_used = -1;
	ok = ok && !st->skel_dirty;
	if (ok) {
		if (!lua_checkstack(L, 6))
			luaL_error(L, "stack overflow");
		lua_rawgeti(L, LUA_REGISTRYINDEX, sk->ref);
		int arr = lua_gettop(L);
		/* Keys added and metatables changed are noted as they happen
		 * (skel_dirty); what is left is an entry replaced: each table
		 * must still hold the next. */
		for (unsigned i = 0; i < sk->nnodes && ok; i++) {
			const struct edgefn_skel_node *nd = &sk->node[i];
			if (nd->n == nd->nlazy)
				continue; /* refilled next time, even if removed */
			lua_rawgeti(L, arr, (lua_Integer)i + 1);
			for (unsigned k = 0; k < nd->n && ok; k++) {
				const struct edgefn_skel_link *l = &sk->link[nd->first + k];
				if (l->child < 0)
					continue;
				lua_rawgeti(L, arr, SKEL_KEY(sk, nd->first + k));
				lua_rawget(L, -2);
				ok = lua_topointer(L, -1) == sk->node[l->child].table;
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (!ok) {
		sk->valid = false;
		luaL_unref(L, LUA_REGISTRYINDEX, sk->ref);
		sk->ref = LUA_NOREF;
	}
}

bool edgefn__skel_table(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return false;
	bool yes = lua_topointer(L, -1) == edgefn__state(L)->skel_mt_ptr;
	lua_pop(L, 1);
	return yes;
}

void edgefn__skel_touch(lua_State *L)
{
	edgefn__state(L)->skel_dirty = true;
}

static int skel_newindex(lua_State *L)
{
	edgefn__skel_touch(L);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

/* The C table of the proxy at idx (absolute), NULL if it is not one; *stale
 * when it belongs to an earlier call. Raises no error. */
static const struct edgefn_value *proxy_node(lua_State *L, int idx, unsigned *depth, bool *stale)
{
	*stale = false;
	if (!lua_getmetatable(L, idx))
		return NULL;
	const void *mt = lua_topointer(L, -1);
	lua_pop(L, 1);
	struct edgefn_state *st = edgefn__state(L);
	if (mt != st->proxy_mt_ptr)
		return NULL;
	const struct edgefn_lazy *e = lazy_find(st, lua_topointer(L, idx));
	if (!e) {
		*stale = true;
		return NULL;
	}
	*depth = e->depth;
	return e->v;
}

void edgefn__lazy_fill(lua_State *L, int idx)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	idx = lua_absindex(L, idx);
	unsigned depth;
	bool stale;
	const struct edgefn_value *v = proxy_node(L, idx, &depth, &stale);
	if (stale)
		luaL_error(L, "event data used after its call ended");
	if (!v)
		return;
	lua_pushnil(L);
	lua_setmetatable(L, idx);
	luaL_checkstack(L, 3, NULL);
	remember_filled(L, edgefn__state(L), idx, v);
	fill_entries(L, idx, v, depth);
}

/* Set v's entries into the table at idx (absolute), tables as proxies. */
static void fill_entries(lua_State *L, int idx, const struct edgefn_value *v, unsigned depth)
{
	for (size_t i = 0; i < v->u.t.len; i++) {
		const struct edgefn_entry *e = &v->u.t.items[i];
		if (e->key.kind == EDGEFN_INT) {
			edgefn__push_lazy(L, &e->val, depth - 1);
			lua_rawseti(L, idx, (lua_Integer)e->key.u.i);
			continue;
		}
		if (e->key.kind != EDGEFN_STR)
			luaL_error(L, "table key is neither a string nor an integer");
		lua_pushlstring(L, e->key.u.s.base, e->key.u.s.len);
		edgefn__push_lazy(L, &e->val, depth - 1);
		lua_rawset(L, idx);
	}
}

static int mm_index(lua_State *L)
{
	edgefn__lazy_fill(L, 1);
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

static int mm_newindex(lua_State *L)
{
	edgefn__lazy_fill(L, 1);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

static int mm_len(lua_State *L)
{
	edgefn__lazy_fill(L, 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

int edgefn__next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	edgefn__lazy_fill(L, 1);
	lua_settop(L, 2);
	if (lua_next(L, 1))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int mm_pairs(lua_State *L)
{
	lua_pushcfunction(L, edgefn__next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	edgefn__lazy_fill(L, 1);
	return 3;
}

void edgefn__lazy_open(lua_State *L)
{
	static const luaL_Reg mms[] = {
		{ "__index", mm_index }, { "__newindex", mm_newindex },
		{ "__len", mm_len },     { "__pairs", mm_pairs },
		{ NULL, NULL },
	};
	luaL_newlib(L, mms);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_PROXY_MT);
	edgefn__state(L)->proxy_mt_ptr = lua_topointer(L, -1);
	edgefn__state(L)->proxy_mt = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, skel_newindex);
	lua_setfield(L, -2, "__newindex");
	edgefn__state(L)->skel_mt_ptr = lua_topointer(L, -1);
	edgefn__state(L)->skel_mt = luaL_ref(L, LUA_REGISTRYINDEX);
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

static bool same_as(lua_State *L, int idx, const struct edgefn_value *v, unsigned depth_left);

/* Whether the Lua value at idx (absolute) equals v: a string with the same
 * bytes, the same number or boolean, or a table same_as v. */
static bool value_same(lua_State *L, int idx, const struct edgefn_value *v, unsigned depth_left)
{
	switch (v->kind) {
	case EDGEFN_NIL:
		return lua_isnil(L, idx);
	case EDGEFN_BOOL:
		return lua_type(L, idx) == LUA_TBOOLEAN && lua_toboolean(L, idx) == v->u.b;
	case EDGEFN_INT:
		return lua_isinteger(L, idx) && lua_tointeger(L, idx) == (lua_Integer)v->u.i;
	case EDGEFN_NUM:
		return lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx) &&
		       lua_tonumber(L, idx) == v->u.n;
	case EDGEFN_STR: {
		size_t n;
		if (lua_type(L, idx) != LUA_TSTRING)
			return false;
		const char *s = lua_tolstring(L, idx, &n);
		return n == v->u.s.len && (n == 0 || memcmp(s, v->u.s.base, n) == 0);
	}
	case EDGEFN_TABLE:
		return lua_type(L, idx) == LUA_TTABLE && same_as(L, idx, v, depth_left);
	}
	return false;
}

/*
 * Whether the table at idx (absolute) holds exactly v's entries: an unused
 * proxy of v itself, or a table with v's keys and equal values (nothing
 * added, nothing removed). A function that reads the event and returns
 * part of it unchanged (`return event.Records[1].cf.request`) then hands
 * back the caller's own subtree, as if it had not been touched.
 */
static bool same_as(lua_State *L, int idx, const struct edgefn_value *v, unsigned depth_left)
{
	if (depth_left == 0 || !lua_checkstack(L, 3))
		return false;
	unsigned pdepth;
	bool stale;
	const struct edgefn_value *node = proxy_node(L, idx, &pdepth, &stale);
	if (node || stale)
		return node == v;
	size_t count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pop(L, 1);
		if (++count > v->u.t.len) {
			lua_pop(L, 1);
			return false;
		}
	}
	if (count != v->u.t.len)
		return false;
	for (size_t i = 0; i < v->u.t.len; i++) {
		const struct edgefn_entry *e = &v->u.t.items[i];
		if (e->key.kind == EDGEFN_INT) {
			lua_rawgeti(L, idx, (lua_Integer)e->key.u.i);
		} else {
			lua_pushlstring(L, e->key.u.s.base, e->key.u.s.len);
			lua_rawget(L, idx);
		}
		bool same = value_same(L, lua_absindex(L, -1), &e->val, depth_left - 1);
		lua_pop(L, 1);
		if (!same)
			return false;
	}
	return true;
}

static int table_to_value(lua_State *L, int idx, struct arena *a, unsigned depth_left,
                          struct edgefn_value *out, char *err, size_t errlen)
{
	if (depth_left == 0)
		return value_fail(err, errlen, "value nested too deeply (or a cycle)");
	if (!lua_checkstack(L, 3))
		return value_fail(err, errlen, "stack overflow");
	idx = lua_absindex(L, idx);
	unsigned pdepth;
	bool stale;
	const struct edgefn_value *node = proxy_node(L, idx, &pdepth, &stale);
	if (stale)
		return value_fail(err, errlen, "event data used after its call ended");
	if (node) {
		*out = *node; /* unused since the call began: the caller's table as it was */
		return 0;
	}
	struct edgefn_state *st = edgefn__state(L);
	const void *self = lua_topointer(L, idx);
	for (unsigned i = 0; i < st->nfilled; i++)
		if (st->filled[i].table == self &&
		    same_as(L, idx, st->filled[i].node, depth_left)) {
			*out = *st->filled[i].node; /* filled, read, not changed */
			return 0;
		}
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
