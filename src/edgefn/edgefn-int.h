/*
 * Inside edgefn/: the state layout and the Lua <-> value converters shared
 * by edgefn.c, lua_value.c and lib.c. The only header in Meridian besides
 * these files' own that includes <lua.h>; nothing outside edgefn/ (tests
 * and fuzzers apart) includes it. The state's thread only.
 */
#ifndef MERIDIAN_EDGEFN_EDGEFN_INT_H
#define MERIDIAN_EDGEFN_EDGEFN_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "edgefn/edgefn.h"

#define EDGEFN_STATE_MAGIC 0x45444746u /* "EDGF" */
#define EDGEFN_HOOK_STEP   1000        /* instructions between two hook runs */
#define EDGEFN_SMALL_STEP  16          /* small-block size classes ... */
#define EDGEFN_SMALL_MAX   256         /* ... up to this size */
#define EDGEFN_CACHE_MAX   (1u << 20)  /* bytes kept on the free lists */
#define EDGEFN_LAZY_MAX    (1u << 16)  /* lazy tables per call; more are built at once */
#define EDGEFN_FILLED_MAX  32          /* filled proxies remembered per call */
#define EDGEFN_SKEL_SLOTS  4           /* event skeletons kept (per function and shape) */
#define EDGEFN_SKEL_NODES  8           /* tables in a skeleton */
#define EDGEFN_SKEL_LINKS  24          /* entries of a skeleton's tables */
#define EDGEFN_SKEL_KEYS   256         /* bytes of their string keys */

#define EDGEFN_PROGRAM_MAGIC 0x45444650u /* "EDFP" */

struct edgefn_binding {
	char *name;
	edgefn_cfunc fn;
	void *ud;
};

struct edgefn_function {
	char *name;
	char *src;
	size_t name_len, src_len;
};

struct edgefn_program {
	unsigned magic;
	atomic_int refs;
	atomic_bool sealed;
	struct edgefn_limits lim;
	struct edgefn_function funcs[EDGEFN_FUNCS_MAX];
	int nfuncs;
	struct edgefn_binding binds[EDGEFN_BINDINGS_MAX];
	int nbinds;
};

struct edgefn_state {
	unsigned magic;
	lua_State *L;
	lua_State *thread; /* calls run here (anchored in the registry) */
	int funcs_ref;     /* registry reference of id + 1 -> handler */
	struct edgefn_program *prog;
	struct edgefn_limits lim;
	uint64_t gen;    /* generation of edgefn_current this state was built for */
	uint64_t tried;  /* last generation a refresh failed to build */
	size_t mem_used; /* bytes the allocator has handed to Lua */
	void *free_small[EDGEFN_SMALL_MAX / EDGEFN_SMALL_STEP]; /* free lists by size class */
	size_t cached;                                          /* bytes on the free lists */
	int nfuncs;
	/* the running call */
	uint64_t instr_used;
	uint64_t deadline_ns;  /* 0: not armed yet (start_call) */
	uint64_t call_time_ns; /* the running call's wall-clock limit */
	int breach;            /* ERR_EDGEFN_BUDGET, _TIMEOUT or _MEMORY once a limit is crossed */
	bool refused;          /* the allocator refused the last request */
	lua_State *running;    /* the thread of the running call, or NULL */
	int cur_fn;
	unsigned log_lines;
	edgefn_log_fn log_fn;
	void *log_ud;
	struct arena *scratch; /* binding calls: reset at each */
	struct buf json;       /* json_encode output, capped at lim.json_max */
	/* lazy argument tables of the running call (lua_value.c) */
	uint32_t lazy_gen; /* bumped per call: older proxies are stale */
	struct edgefn_lazy {
		const void *table;            /* the proxy (lua_topointer) */
		const struct edgefn_value *v; /* its C table */
		unsigned depth;               /* levels left below it */
	} * lazy;                             /* this call's proxies, in creation order */
	size_t lazy_len, lazy_cap;
	/* proxy address -> index in lazy: open addressing, 2 * lazy_cap
	 * slots, a slot counts when stamped with this call's lazy_gen */
	struct edgefn_lazy_slot {
		uint32_t gen, idx;
	} * lazy_index;
	const void *proxy_mt_ptr; /* the proxies' metatable (lua_topointer) */
	/* proxies filled during the running call: the Lua table's address and
	 * its C table, so a result handing one back unchanged is recognised */
	struct edgefn_filled {
		const void *table;
		const struct edgefn_value *node;
	} filled[EDGEFN_FILLED_MAX];
	unsigned nfilled;
	int proxy_mt; /* registry reference of the proxies' metatable */
	/* The first argument's first levels (event, Records, [1], cf), kept
	 * between calls and refilled in place when the next event has the
	 * same shape and the last call left them as built (lua_value.c). */
	struct edgefn_skel {
		bool valid;
		int fn;  /* the function whose calls use it: no other ever sees its tables */
		int ref; /* registry: {node tables..., then each link's key}, or LUA_NOREF */
		unsigned nnodes, nlinks;
		struct edgefn_skel_node {
			unsigned first, n; /* its entries: link[first .. first + n) */
			unsigned depth;    /* depth left at this table */
			unsigned nlazy;    /* entries refilled per call */
			const void *table; /* its Lua table (lua_topointer) */
		} node[EDGEFN_SKEL_NODES];
		struct edgefn_skel_link {
			bool is_int;
			int64_t i;         /* integer key */
			unsigned off, len; /* string key: keys[off .. off + len) */
			int child;         /* node of a table built at once, -1: lazy */
		} link[EDGEFN_SKEL_LINKS];
		size_t keylen;
		char keys[EDGEFN_SKEL_KEYS];
	} skel[EDGEFN_SKEL_SLOTS];
	unsigned skel_next;      /* slot to replace next */
	int skel_used;           /* slot the running call uses, -1: none */
	bool skel_dirty;         /* the running call added to a skeleton table */
	int skel_mt;             /* registry reference of the skeleton tables' metatable */
	const void *skel_mt_ptr; /* the same (lua_topointer) */
};

/* The published program with a reference (the caller drops it) and its
 * generation; the generation alone, with one atomic load. Any thread. */
struct edgefn_program *edgefn__current_get(struct edgefn_current *c, uint64_t *gen);
uint64_t edgefn__current_gen(struct edgefn_current *c);

/* The state that owns L (any of its threads). */
struct edgefn_state *edgefn__state(lua_State *L);

/* Push v (depth_left levels of tables at most). Raises Lua errors (memory,
 * too deep): call from protected code only. */
void edgefn__push(lua_State *L, const struct edgefn_value *v, unsigned depth_left);

/* Push v for a call's arguments: a table becomes an empty proxy that fills
 * itself from v on first use (see docs/internals/edgefn.md), so v must stay
 * valid for the call. Start each call with edgefn__lazy_reset. Raises like
 * edgefn__push. */
void edgefn__push_lazy(lua_State *L, const struct edgefn_value *v, unsigned depth_left);
/* Push a call's first argument: edgefn__push_lazy, except that its first
 * levels reuse the tables of an earlier call with the same shape when that
 * call left them as built (see docs/internals/edgefn.md). */
void edgefn__push_arg0(lua_State *L, const struct edgefn_value *v, unsigned depth_left);
/* After a call (ok: it succeeded): keep the skeleton it used only if it
 * was not added to and its tables still hold each other. Raises like
 * edgefn__push. */
void edgefn__skel_check(lua_State *L, bool ok);
/* Whether the table at idx is a skeleton table (its metatable, which
 * getmetatable hides, is the skeletons'); a raw write to it or a new
 * metatable must call edgefn__skel_touch. */
bool edgefn__skel_table(lua_State *L, int idx);
void edgefn__skel_touch(lua_State *L);
/* Invalidate the proxies of the previous call. */
void edgefn__lazy_reset(struct edgefn_state *st);
/* Fill the table at idx if it is an unused proxy (a no-op otherwise).
 * Raises if the proxy belongs to an earlier call. */
void edgefn__lazy_fill(lua_State *L, int idx);
/* The base library's next, filling a proxy first. */
int edgefn__next(lua_State *L);
/* Create the proxies' shared metatable. Protected code only. */
void edgefn__lazy_open(lua_State *L);

/* Convert the Lua value at idx into *out, copying strings into `a`; an
 * unused proxy yields its C table itself (shared, not copied). Raises no
 * Lua error. 0 or ERR_EDGEFN_VALUE with a message in err[errlen]. */
int edgefn__to_value(lua_State *L, int idx, struct arena *a, unsigned depth_left,
                     struct edgefn_value *out, char *err, size_t errlen);

/* Whether name[len] is a built-in meridian function (bindings may not
 * replace one, nor put a table in its place). Any thread. */
bool edgefn__is_builtin(const char *name, size_t len);

/* Open the meridian table in L's globals: built-ins plus p's bindings.
 * Raises on memory errors: call from protected code. */
void edgefn__open_lib(lua_State *L, const struct edgefn_binding *b, int nb);

#endif
