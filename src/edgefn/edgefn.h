/*
 * Edge functions: Lambda@Edge-style user functions in sandboxed Lua 5.4
 * (issue 9, docs/internals/edgefn.md). This is the sandbox core; edge/
 * builds the event and applies CloudFront's rules to the result.
 *
 * A program is the immutable set a configuration defines: limits, extra
 * bindings and function sources, each with a small integer id. A state is
 * one Lua interpreter built from a program, owned by ONE worker thread and
 * reused across that worker's requests; it is never shared. A reload
 * (SIGHUP) publishes a new program in a struct edgefn_current; each worker
 * calls edgefn_state_refresh between requests, which builds a fresh state
 * from the new program and swaps it in, so in-flight requests finish on the
 * old one and none are dropped.
 *
 * A function file must define a global function handler(event, context),
 * as a Node.js Lambda exports.handler or a Python lambda_handler(event,
 * context); each file runs in its own global environment. A call runs the
 * handler on the state's call thread with an instruction budget and a
 * wall-clock deadline; over either, over the memory cap or on an error, the
 * call fails and the state stays usable.
 *
 * Threads: programs and edgefn_current may be shared (reference counts and
 * the publish pointer are atomic); a state and everything taking one belong
 * to its worker thread.
 */
#ifndef MERIDIAN_EDGEFN_EDGEFN_H
#define MERIDIAN_EDGEFN_EDGEFN_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/iov.h"
#include "edgefn/value.h"

#define EDGEFN_ERR_MAX      256 /* an error buffer of this size holds every message */
#define EDGEFN_NAME_MAX     128 /* bytes in a function or binding name */
#define EDGEFN_FUNCS_MAX    100 /* functions in a program (CloudFront: 100 per distribution) */
#define EDGEFN_BINDINGS_MAX 32  /* extra C bindings in a program */

/* Defaults, chosen for CloudFront's viewer functions (128 MB, 5 s) on a
 * worker that runs many functions: see docs/internals/edgefn.md. */
#define EDGEFN_DEFAULT_MEM_MAX   (64u << 20)
#define EDGEFN_DEFAULT_INSTR_MAX 10000000u
#define EDGEFN_DEFAULT_TIME_NS   (5ull * 1000000000ull)
#define EDGEFN_DEFAULT_VALUE_MAX (4u << 20)
#define EDGEFN_DEFAULT_DEPTH_MAX 32u
#define EDGEFN_DEFAULT_JSON_MAX  (1u << 20)
#define EDGEFN_DEFAULT_LOG_LINE  1024u
#define EDGEFN_DEFAULT_LOG_LINES 32u

/* Caps; a zero field takes its default. */
struct edgefn_limits {
	size_t mem_max;      /* bytes the Lua state may hold */
	uint64_t instr_max;  /* VM instructions per call (counted in steps of 1000) */
	uint64_t time_ns;    /* wall clock per call */
	size_t value_max;    /* bytes of values a binding call decodes into (scratch arena) */
	unsigned depth_max;  /* nesting of values crossing the boundary and of JSON */
	size_t json_max;     /* bytes of JSON text in or out of one json_* call */
	size_t log_line_max; /* longer meridian.log lines are truncated */
	unsigned log_max;    /* meridian.log lines per call; later ones are dropped */
};

/* An extra binding for meridian.<name> (a dotted name makes sub-tables:
 * "sigv4a.sign"). Called on the state's thread with the Lua arguments as
 * values (borrowed, valid during the call); it sets *ret (allocated in `a`,
 * a scratch arena reset before each binding call) and returns 0, or returns
 * a negative ERR_* with a message in err[errlen] that becomes a Lua error.
 * `ud` is shared by every state built from the program: it must be
 * read-only or thread-safe. */
typedef int (*edgefn_cfunc)(void *ud, const struct edgefn_value *args, size_t nargs,
                            struct arena *a, struct edgefn_value *ret, char *err, size_t errlen);

/* Where meridian.log lines go: the function id and the line (borrowed for
 * the duration of the callback). Called on the state's thread. */
typedef void (*edgefn_log_fn)(void *ud, int fn, struct iov line);

struct edgefn_program;
struct edgefn_state;
struct edgefn_current;

/* ---- programs: build on any thread, then share read-only ---- */

/* An empty program with these limits (NULL: all defaults). NULL on ENOMEM. */
struct edgefn_program *edgefn_program_new(const struct edgefn_limits *lim);
/* Take or drop a reference; the last unref frees. unref(NULL) is a no-op. */
void edgefn_program_ref(struct edgefn_program *p);
void edgefn_program_unref(struct edgefn_program *p);
/* Add a binding meridian.<name>. Only before the program is sealed (first
 * used by a state). 0, ERR_INVALID (bad or duplicate name, or one under a
 * built-in such as "sha256" or "log.x"), ERR_TOO_BIG
 * (more than EDGEFN_BINDINGS_MAX) or ERR_NOMEM. Copies name. */
int edgefn_program_bind(struct edgefn_program *p, const char *name, edgefn_cfunc fn, void *ud);
/* Add a function source under `name` (the file name, shown in errors as
 * name:line). Copies both. *id is its index (0, 1, ... in order). 0,
 * ERR_INVALID (empty or too long name, duplicate), ERR_TOO_BIG or ERR_NOMEM.
 * Does not compile: see edgefn_program_check. */
int edgefn_program_add(struct edgefn_program *p, struct iov name, struct iov source, int *id);
/* The id of the function named `name`: 0 or ERR_NOT_FOUND. */
int edgefn_program_find(const struct edgefn_program *p, struct iov name, int *id);
/* Number of functions. */
int edgefn_program_count(const struct edgefn_program *p);
/* Build a throwaway state to compile and run every file once (what a
 * worker will do), so a bad reload is refused before it is published.
 * 0 or the edgefn_state_new error with its message. */
int edgefn_program_check(struct edgefn_program *p, char *err, size_t errlen);

/* ---- states: one per worker thread ---- */

/* A new Lua state built from p (takes a reference; seals p): the sandbox,
 * the meridian bindings, then every function of p loaded in id order.
 * Returns 0, ERR_NOMEM, or the first edgefn_load error with its message in
 * err[errlen] (then *out is NULL). */
int edgefn_state_new(struct edgefn_program *p, struct edgefn_state **out, char *err, size_t errlen);
/* Close the state (finalizers run under a short budget). free(NULL) no-op. */
void edgefn_state_free(struct edgefn_state *st);
/* Route meridian.log lines (NULL: dropped). */
void edgefn_state_set_log(struct edgefn_state *st, edgefn_log_fn fn, void *ud);
/* Bytes the Lua state holds now. */
size_t edgefn_state_mem(const struct edgefn_state *st);
/* The program the state was built from (borrowed). */
struct edgefn_program *edgefn_state_program(const struct edgefn_state *st);

/* Compile `source` (text only: bytecode is refused) as function file
 * `name`, run its top level under the call limits and keep its global
 * `handler`. *id is the next id after the program's. Returns 0,
 * ERR_EDGEFN_SYNTAX ("name:line: message"), ERR_EDGEFN_NO_HANDLER, or a
 * call error (the top level raised or went over a limit). On error nothing
 * is added and the state stays usable. Borrows name and source. */
int edgefn_load(struct edgefn_state *st, struct iov name, struct iov source, int *id, char *err,
                size_t errlen);

/* Call function `fn` as handler(args[0], args[1], ...) (args borrowed; at
 * most 8). Argument tables reach Lua lazily (each is built on first use),
 * so an unused event costs almost nothing. The first result is converted
 * into *result, allocated in `a` (nil when the handler returns nothing);
 * a table the function returned without using is the caller's own subtree
 * of args, shared rather than copied: args must outlive *result. time_ns overrides the limit's
 * wall-clock deadline when non-zero (origin functions: 30 s). Returns 0 or:
 *   ERR_EDGEFN_RUNTIME  error() or a runtime error: "name:line: message"
 *   ERR_EDGEFN_BUDGET   over the instruction budget
 *   ERR_EDGEFN_TIMEOUT  over the deadline
 *   ERR_EDGEFN_MEMORY   over the state's memory cap
 *   ERR_EDGEFN_VALUE    an argument or the result cannot cross the boundary
 *                       (too deep, a function, a cycle, `a` full)
 *   ERR_NOT_FOUND       no function fn
 * with the message in err[errlen]. Whatever happened, the state is usable
 * for the next call. */
int edgefn_call(struct edgefn_state *st, int fn, const struct edgefn_value *args, size_t nargs,
                uint64_t time_ns, struct arena *a, struct edgefn_value *result, char *err,
                size_t errlen);

/* ---- reload: the published program ---- */

/* A publication point holding p (takes a reference). NULL on ENOMEM. */
struct edgefn_current *edgefn_current_new(struct edgefn_program *p);
void edgefn_current_free(struct edgefn_current *c);
/* Publish p (takes a reference; drops the old one). Any thread. */
void edgefn_current_publish(struct edgefn_current *c, struct edgefn_program *p);
/* The published program with a reference the caller must drop. Any thread. */
struct edgefn_program *edgefn_current_get(struct edgefn_current *c);
/* Worker side, between requests: if c holds a program other than the one
 * *st was built from, build a state from it and swap it in (freeing the
 * old one). *st may be NULL (first call). 0 when *st is current; on a build
 * error the old state stays in place, the error is returned once per
 * publication with its message, and later calls return 0 until the next
 * publish. */
int edgefn_state_refresh(struct edgefn_state **st, struct edgefn_current *c, char *err,
                         size_t errlen);

#endif
