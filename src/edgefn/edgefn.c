/*
 * The sandbox core: per-worker Lua states with a capped allocator, the
 * instruction/deadline hook, the sandbox itself, loading function files,
 * calling them, and the worker's side of a reload (see edgefn.h). A state
 * on its owner's thread only. Programs are in program.c, the publication
 * point in current.c.
 */
#include "edgefn/edgefn.h"

#include <lualib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/err.h"
#include "edgefn/edgefn-int.h"

#define CLOSE_BUDGET_NS 100000000u /* finalizers at lua_close: 100 ms */
#define ARGS_MAX        8
#define REG_FUNCS       "meridian.edgefn.funcs"  /* registry: id + 1 -> handler */
#define REG_THREAD      "meridian.edgefn.thread" /* registry: the call thread */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- the allocator and the hook ---- */

static void hook(lua_State *L, lua_Debug *ar);

/* Small blocks (most Lua objects) are kept on per-size free lists instead of
 * going back to malloc: a call allocates and frees a few dozen of them, and
 * malloc/free dominated the cost of an empty call. Lua passes each block's
 * size back, so no header is needed; a small block always has its class's
 * full size. The lists hold at most EDGEFN_CACHE_MAX bytes beyond the cap. */
static size_t small_class(size_t n)
{
	return (n + EDGEFN_SMALL_STEP - 1) / EDGEFN_SMALL_STEP - 1;
}

static void *block_get(struct edgefn_state *st, size_t n)
{
	if (n > EDGEFN_SMALL_MAX)
		return malloc(n);
	size_t c = small_class(n);
	void **head = st->free_small[c];
	if (!head)
		return malloc((c + 1) * EDGEFN_SMALL_STEP);
	st->free_small[c] = *head;
	st->cached -= (c + 1) * EDGEFN_SMALL_STEP;
	return head;
}

static void block_put(struct edgefn_state *st, void *p, size_t n)
{
	if (!p)
		return;
	size_t c = small_class(n), sz = (c + 1) * EDGEFN_SMALL_STEP;
	if (n > EDGEFN_SMALL_MAX || st->cached + sz > EDGEFN_CACHE_MAX) {
		free(p);
		return;
	}
	*(void **)p = st->free_small[c];
	st->free_small[c] = p;
	st->cached += sz;
}

static void *block_resize(struct edgefn_state *st, void *p, size_t old, size_t n)
{
	if (!p)
		return block_get(st, n);
	if (old > EDGEFN_SMALL_MAX && n > EDGEFN_SMALL_MAX)
		return realloc(p, n);
	if (old <= EDGEFN_SMALL_MAX && n <= EDGEFN_SMALL_MAX && small_class(old) == small_class(n))
		return p;
	void *q = block_get(st, n);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		block_put(st, p, old);
	}
	return q;
}

static void blocks_free(struct edgefn_state *st)
{
	for (size_t c = 0; c < EDGEFN_SMALL_MAX / EDGEFN_SMALL_STEP; c++) {
		while (st->free_small[c]) {
			void **p = st->free_small[c];
			st->free_small[c] = *p;
			free(p);
		}
	}
	st->cached = 0;
}

static void *state_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct edgefn_state *st = ud;
	size_t old = ptr ? osize : 0; /* without ptr, osize is a type tag */
	if (nsize == 0) {
		block_put(st, ptr, old);
		st->mem_used -= old;
		return NULL;
	}
	if (!ptr && nsize <= EDGEFN_SMALL_MAX) { /* most requests: a small new block */
		size_t c = small_class(nsize);
		void **head = st->free_small[c];
		if (head && nsize <= st->lim.mem_max - st->mem_used) {
			st->free_small[c] = *head;
			st->cached -= (c + 1) * EDGEFN_SMALL_STEP;
			st->refused = false;
			st->mem_used += nsize;
			return head;
		}
	}
	void *q = NULL;
	if (nsize <= old || nsize - old <= st->lim.mem_max - st->mem_used)
		q = block_resize(st, ptr, old, nsize);
	if (q) {
		st->refused = false;
		st->mem_used = st->mem_used - old + nsize;
		return q;
	}
	/* Lua runs an emergency collection and asks once more: a second
	 * refusal in a row is a real memory error. It ends the call even if
	 * the function catches it, like the instruction budget: otherwise a
	 * pcall loop at the cap spends the deadline in full collections. */
	if (st->refused && !st->breach) {
		st->breach = ERR_EDGEFN_MEMORY;
		if (st->running)
			lua_sethook(st->running, hook, LUA_MASKCOUNT, 1);
	}
	st->refused = true;
	return NULL;
}

struct edgefn_state *edgefn__state(lua_State *L)
{
	struct edgefn_state *st = *(struct edgefn_state **)lua_getextraspace(L);
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	return st;
}

static void hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct edgefn_state *st = edgefn__state(L);
	st->instr_used += EDGEFN_HOOK_STEP;
	if (!st->breach) {
		if (!st->deadline_ns) { /* the first tick arms the deadline: see start_call */
			st->deadline_ns = clock_mono_ns() + st->call_time_ns;
			if (st->instr_used <= st->lim.instr_max)
				return;
		}
		if (st->instr_used > st->lim.instr_max)
			st->breach = ERR_EDGEFN_BUDGET;
		else if (clock_mono_ns() > st->deadline_ns)
			st->breach = ERR_EDGEFN_TIMEOUT;
		else
			return;
		/* from now on every instruction raises, so a pcall in the
		 * function cannot swallow the breach and keep running */
		lua_sethook(L, hook, LUA_MASKCOUNT, 1);
	}
	luaL_error(L, "%s", err_text(st->breach));
}

static int panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	check_fail(__FILE__, __LINE__, msg ? msg : "unprotected Lua error");
	return 0;
}

static void start_call(struct edgefn_state *st, int fn, uint64_t time_ns)
{
	st->instr_used = 0;
	st->breach = 0;
	st->refused = false;
	st->running = NULL;
	st->cur_fn = fn;
	st->log_lines = 0;
	/* The wall clock is read at the hook's first tick (after
	 * EDGEFN_HOOK_STEP instructions), not here: most calls end sooner and
	 * never read it. The deadline then counts from that tick; what ran
	 * before it is a thousand VM instructions and the C calls among them. */
	st->deadline_ns = 0;
	st->call_time_ns = time_ns ? time_ns : st->lim.time_ns;
}

/* ---- the sandbox ---- */

static const char *const removed_globals[] = {
	"collectgarbage", "dofile", "load", "loadfile", "print", "require", "warn", NULL,
};

/* setmetatable without finalizers: Lua runs __gc with hooks off
 * (lgc.c GCTM), so a looping __gc would escape the budget and the
 * deadline. A metatable with any __gc field is refused: the field counts
 * when the metatable is set, and a later assignment could make it a
 * function. Otherwise as the base library's setmetatable. */
static int l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	edgefn__lazy_fill(L, 1);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "__gc metamethods are not allowed in edge functions");
		lua_pop(L, 1);
	}
	if (edgefn__skel_table(L, 1))
		edgefn__skel_touch(L); /* its __newindex goes: drop it after the call */
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

/* A base function that must see an argument table's real contents: fill
 * a lazy proxy, then call the original (upvalue 1). */
static int l_fill_then(lua_State *L)
{
	edgefn__lazy_fill(L, 1);
	/* event skeleton tables (lua_value.c): their metatable is the edge's
	 * own, and a raw write to one must be noted */
	const char *name = lua_tostring(L, lua_upvalueindex(2));
	if (name[0] == 'g' && edgefn__skel_table(L, 1)) { /* getmetatable */
		lua_pushnil(L);
		return 1;
	}
	if (strcmp(name, "rawset") == 0 && edgefn__skel_table(L, 1))
		edgefn__skel_touch(L);
	int n = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	return lua_gettop(L);
}

static const char *const filled_globals[] = { "getmetatable", "rawget", "rawlen", "rawset", NULL };

static int open_sandbox(lua_State *L)
{
	struct edgefn_state *st = lua_touserdata(L, 1);
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },       { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 }, { NULL, NULL },
	};
	for (const luaL_Reg *l = libs; l->name; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	lua_pushglobaltable(L);
	for (const char *const *g = removed_globals; *g; g++) {
		lua_pushnil(L);
		lua_setfield(L, -2, *g);
	}
	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, -2, "setmetatable");
	lua_pushcfunction(L, edgefn__next);
	lua_setfield(L, -2, "next");
	for (const char *const *g = filled_globals; *g; g++) {
		lua_getfield(L, -1, *g);
		lua_pushstring(L, *g);
		lua_pushcclosure(L, l_fill_then, 2);
		lua_setfield(L, -2, *g);
	}
	edgefn__lazy_open(L);
	lua_getfield(L, -1, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	/* getmetatable("") must not hand out the shared string metatable */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 3);

	edgefn__open_lib(L, st->prog->binds, st->prog->nbinds);
	lua_newtable(L);
	lua_pushvalue(L, -1);
	st->funcs_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
	/* One call thread per state, reused: a call leaves nothing on it (no
	 * coroutines, upvalues closed, errors caught by our pcall), and
	 * creating one per call cost ~180 ns of an empty call's budget. */
	st->thread = lua_newthread(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_THREAD);
	return 0;
}

int edgefn_state_new(struct edgefn_program *p, struct edgefn_state **out, char *err, size_t errlen)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	*out = NULL;
	struct edgefn_state *st = calloc(1, sizeof(*st));
	if (!st)
		return ERR_NOMEM;
	st->magic = EDGEFN_STATE_MAGIC;
	st->lim = p->lim;
	for (int i = 0; i < EDGEFN_SKEL_SLOTS; i++)
		st->skel[i].ref = LUA_NOREF;
	st->skel_used = -1;
	st->scratch = arena_new(st->lim.value_max);
	buf_init(&st->json, st->lim.json_max);
	st->L = st->scratch ? lua_newstate(state_alloc, st) : NULL;
	if (!st->L) {
		arena_free(st->scratch);
		free(st);
		seterr(err, errlen, "cannot create a Lua state");
		return ERR_NOMEM;
	}
	atomic_store(&p->sealed, true);
	edgefn_program_ref(p);
	st->prog = p;
	*(struct edgefn_state **)lua_getextraspace(st->L) = st;
	lua_atpanic(st->L, panic);
	lua_sethook(st->L, hook, LUA_MASKCOUNT, EDGEFN_HOOK_STEP);

	start_call(st, -1, 0);
	lua_pushcfunction(st->L, open_sandbox);
	lua_pushlightuserdata(st->L, st);
	if (lua_pcall(st->L, 1, 0, 0) != LUA_OK) {
		seterr(err, errlen, "cannot open the sandbox: %s", lua_tostring(st->L, -1));
		edgefn_state_free(st);
		return ERR_NOMEM;
	}
	for (int i = 0; i < p->nfuncs; i++) {
		int id, rc = edgefn_load(st, iov_make(p->funcs[i].name, p->funcs[i].name_len),
		                         iov_make(p->funcs[i].src, p->funcs[i].src_len), &id, err,
		                         errlen);
		if (rc != 0) {
			edgefn_state_free(st);
			return rc;
		}
		CHECK(id == i);
	}
	*out = st;
	return 0;
}

void edgefn_state_free(struct edgefn_state *st)
{
	if (!st)
		return;
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	start_call(st, -1, CLOSE_BUDGET_NS);
	lua_close(st->L);
	blocks_free(st);
	arena_free(st->scratch);
	buf_free(&st->json);
	free(st->lazy);
	free(st->lazy_index);
	edgefn_program_unref(st->prog);
	st->magic = 0;
	free(st);
}

void edgefn_state_set_log(struct edgefn_state *st, edgefn_log_fn fn, void *ud)
{
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	st->log_fn = fn;
	st->log_ud = ud;
}

size_t edgefn_state_mem(const struct edgefn_state *st)
{
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	return st->mem_used;
}

struct edgefn_program *edgefn_state_program(const struct edgefn_state *st)
{
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	return st->prog;
}

/* ---- running Lua: a load under run()'s pcall on the main thread, a call
 * under edgefn_call's on the call thread ---- */

struct run {
	struct edgefn_state *st;
	/* a load */
	struct iov name, source;
	/* a call */
	int fn;
	const struct edgefn_value *args;
	size_t nargs;
	struct arena *a;
	struct edgefn_value *result;
	enum { STAGE_ARGS, STAGE_FUNCTION, STAGE_RESULT } stage; /* a call: how far */
	/* out */
	int rc;
	char *err;
	size_t errlen;
};

static const char *reader(lua_State *L, void *ud, size_t *size)
{
	(void)L;
	struct iov *src = ud;
	*size = src->len;
	const char *p = src->base;
	*src = IOV_NULL;
	return *size ? p : NULL;
}

/* Classify a failed lua_pcall on thread T (message on T's top). */
static int call_error(struct run *r, lua_State *T, int status)
{
	struct edgefn_state *st = r->st;
	if (st->breach) {
		seterr(r->err, r->errlen, "%s", err_text(st->breach));
		return st->breach;
	}
	if (status == LUA_ERRMEM) {
		seterr(r->err, r->errlen, "%s", err_text(ERR_EDGEFN_MEMORY));
		return ERR_EDGEFN_MEMORY;
	}
	const char *msg = lua_type(T, -1) == LUA_TSTRING ? lua_tostring(T, -1) : NULL;
	if (msg)
		seterr(r->err, r->errlen, "%s", msg);
	else
		seterr(r->err, r->errlen, "(error object is a %s value)", luaL_typename(T, -1));
	return ERR_EDGEFN_RUNTIME;
}

/* Load: compile in text mode with a fresh _ENV inheriting the sandbox
 * globals, run the top level, keep env.handler. Leaves nothing on L. */
static int run_load(lua_State *L, struct run *r)
{
	char chunk[EDGEFN_NAME_MAX + 2];
	snprintf(chunk, sizeof(chunk), "=%.*s", IOV_ARG(r->name));
	lua_State *T = lua_newthread(L);
	r->st->running = T;
	struct iov src = r->source;
	int status = lua_load(T, reader, &src, chunk, "t");
	if (status != LUA_OK) {
		if (status == LUA_ERRMEM)
			return call_error(r, T, status);
		seterr(r->err, r->errlen, "%s", lua_tostring(T, -1));
		return ERR_EDGEFN_SYNTAX;
	}
	/* env = setmetatable({}, {__index = _G}) as the chunk's _ENV */
	lua_newtable(T);
	lua_newtable(T);
	lua_pushglobaltable(T);
	lua_setfield(T, -2, "__index");
	lua_setmetatable(T, -2);
	lua_pushvalue(T, -1);
	CHECK(lua_setupvalue(T, -3, 1) != NULL);
	lua_insert(T, -2); /* env, chunk */
	status = lua_pcall(T, 0, 0, 0);
	if (status != LUA_OK)
		return call_error(r, T, status);
	lua_pushliteral(T, "handler");
	if (lua_rawget(T, -2) != LUA_TFUNCTION) {
		seterr(r->err, r->errlen,
		       "%.*s: defines no global function handler(event, context)",
		       IOV_ARG(r->name));
		return ERR_EDGEFN_NO_HANDLER;
	}
	lua_rawgeti(T, LUA_REGISTRYINDEX, r->st->funcs_ref);
	lua_insert(T, -2);
	lua_rawseti(T, -2, r->st->nfuncs + 1);
	r->st->nfuncs++;
	lua_pop(L, 1); /* T */
	return 0;
}

static int run_protected(lua_State *L)
{
	struct run *r = lua_touserdata(L, 1);
	lua_settop(L, 0);
	r->rc = run_load(L, r);
	return 0;
}

/* After a load or a call: nothing running; after a memory error, the
 * state collected so the next call starts below the cap. */
static int run_end(struct edgefn_state *st, int rc)
{
	st->running = NULL;
	if (rc == ERR_EDGEFN_MEMORY)
		lua_gc(st->L, LUA_GCCOLLECT);
	st->breach = 0;
	return rc;
}

static int run(struct run *r)
{
	lua_State *L = r->st->L;
	if (r->errlen)
		r->err[0] = '\0';
	lua_settop(L, 0);
	/* a finalizer that broke a limit may have left the main thread's
	 * hook at every instruction: threads inherit it, so reset it */
	lua_sethook(L, hook, LUA_MASKCOUNT, EDGEFN_HOOK_STEP);
	lua_pushcfunction(L, run_protected);
	lua_pushlightuserdata(L, r);
	int status = lua_pcall(L, 1, 0, 0);
	if (status != LUA_OK) {
		/* raised outside the file's code: a new thread */
		if (status == LUA_ERRMEM) {
			seterr(r->err, r->errlen, "%s", err_text(ERR_EDGEFN_MEMORY));
			r->rc = ERR_EDGEFN_MEMORY;
		} else {
			seterr(r->err, r->errlen, "%s", lua_tostring(L, -1));
			r->rc = ERR_EDGEFN_RUNTIME;
		}
	}
	lua_settop(L, 0);
	return run_end(r->st, r->rc);
}

/* A call, on the call thread under edgefn_call's pcall. */
static int call_body(lua_State *T)
{
	struct run *r = lua_touserdata(T, 1);
	struct edgefn_state *st = r->st;
	lua_settop(T, 0);
	if (!lua_checkstack(T, (int)r->nargs + 3))
		luaL_error(T, "stack overflow");
	lua_rawgeti(T, LUA_REGISTRYINDEX, st->funcs_ref);
	lua_rawgeti(T, -1, r->fn + 1);
	lua_remove(T, -2);
	edgefn__lazy_reset(st);
	for (size_t i = 0; i < r->nargs; i++) {
		if (i == 0)
			edgefn__push_arg0(T, &r->args[i], st->lim.depth_max);
		else
			edgefn__push_lazy(T, &r->args[i], st->lim.depth_max);
	}
	r->stage = STAGE_FUNCTION;
	lua_call(T, (int)r->nargs, 1);
	r->stage = STAGE_RESULT;
	if (!st->breach)
		r->rc =
		    edgefn__to_value(T, -1, r->a, st->lim.depth_max, r->result, r->err, r->errlen);
	edgefn__skel_check(T, r->rc == 0 && !st->breach);
	return 0;
}

int edgefn_load(struct edgefn_state *st, struct iov name, struct iov source, int *id, char *err,
                size_t errlen)
{
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	if (name.len == 0 || name.len >= EDGEFN_NAME_MAX) {
		seterr(err, errlen, "bad function name");
		return ERR_INVALID;
	}
	if (st->nfuncs == EDGEFN_FUNCS_MAX) {
		seterr(err, errlen, "too many functions");
		return ERR_TOO_BIG;
	}
	struct run r = { .st = st, .name = name, .source = source, .err = err, .errlen = errlen };
	start_call(st, st->nfuncs, 0);
	int rc = run(&r);
	if (rc == 0)
		*id = st->nfuncs - 1;
	return rc;
}

int edgefn_call(struct edgefn_state *st, int fn, const struct edgefn_value *args, size_t nargs,
                uint64_t time_ns, struct arena *a, struct edgefn_value *result, char *err,
                size_t errlen)
{
	CHECK_MAGIC(st, EDGEFN_STATE_MAGIC);
	*result = edgefn_nil();
	if (fn < 0 || fn >= st->nfuncs) {
		seterr(err, errlen, "no edge function %d", fn);
		return ERR_NOT_FOUND;
	}
	if (nargs > ARGS_MAX) {
		seterr(err, errlen, "too many arguments");
		return ERR_INVALID;
	}
	struct run r = { .st = st,
		         .fn = fn,
		         .args = args,
		         .nargs = nargs,
		         .a = a,
		         .result = result,
		         .err = err,
		         .errlen = errlen };
	start_call(st, fn, time_ns);
	if (errlen)
		err[0] = '\0';
	/* One protected call on the call thread builds the arguments, runs the
	 * handler and reads its result; r.stage tells which part raised. The
	 * hook is reset because a breach left it firing at every instruction. */
	lua_State *T = st->thread;
	lua_settop(T, 0);
	lua_sethook(T, hook, LUA_MASKCOUNT, EDGEFN_HOOK_STEP);
	st->running = T;
	lua_pushcfunction(T, call_body);
	lua_pushlightuserdata(T, &r);
	int status = lua_pcall(T, 1, 0, 0);
	if ((r.stage == STAGE_FUNCTION && status != LUA_OK) ||
	    (r.stage != STAGE_ARGS && st->breach)) {
		r.rc = call_error(&r, T, status);
	} else if (status == LUA_ERRMEM || (status != LUA_OK && st->breach == ERR_EDGEFN_MEMORY)) {
		seterr(err, errlen, "%s", err_text(ERR_EDGEFN_MEMORY));
		r.rc = ERR_EDGEFN_MEMORY;
	} else if (status != LUA_OK) { /* building the arguments or reading the result */
		seterr(err, errlen, "%s",
		       lua_type(T, -1) == LUA_TSTRING ? lua_tostring(T, -1) : "error");
		r.rc = ERR_EDGEFN_VALUE;
	}
	lua_settop(T, 0);
	if (st->skel_used >= 0) /* the call failed before its check */
		edgefn__skel_check(T, false);
	return run_end(st, r.rc);
}

/* ---- reload, on the worker side ---- */

int edgefn_state_refresh(struct edgefn_state **st, struct edgefn_current *c, char *err,
                         size_t errlen)
{
	uint64_t gen = edgefn__current_gen(c);
	if (*st && ((*st)->gen == gen || (*st)->tried == gen))
		return 0;
	struct edgefn_program *p = edgefn__current_get(c, &gen);
	struct edgefn_state *fresh;
	int rc = edgefn_state_new(p, &fresh, err, errlen);
	edgefn_program_unref(p);
	if (rc != 0) {
		if (*st)
			(*st)->tried = gen;
		return rc;
	}
	fresh->gen = gen;
	if (*st) {
		fresh->log_fn = (*st)->log_fn;
		fresh->log_ud = (*st)->log_ud;
	}
	edgefn_state_free(*st);
	*st = fresh;
	return 0;
}
