/*
 * `meridian up` and its companions (docs/up.md, docs/internals/deploy-up.md):
 * bring a validated stack plan (deploy/stack.h) up as processes on this
 * machine: plan ports, write credentials and per-role configs into a state
 * directory, fork/exec the same binary as stores, wan relays, routers and
 * edges (stores with the replication peers their buckets' rules need), wait
 * until each is healthy, create buckets, set their replication rules and
 * seed objects, write STATE/endpoints.json, print what to try, then
 * supervise (restart crashed children with backoff; SIGINT/SIGTERM stops
 * every child by PID).
 * `down`, `status` and `region` act on a running stack through its state
 * directory. Main thread of the CLI process only (signals, fork, waitpid).
 */
#ifndef MERIDIAN_DEPLOY_UP_H
#define MERIDIAN_DEPLOY_UP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "deploy/stack.h"

#define DEPLOY_UP_STATE_DEFAULT     ".meridian"
#define DEPLOY_UP_BASE_PORT         18000
#define DEPLOY_UP_PROCS_MAX         128   /* children of one stack */
#define DEPLOY_UP_HEALTH_TIMEOUT_MS 20000 /* each child, start to healthy */
#define DEPLOY_UP_STOP_TIMEOUT_MS   10000 /* SIGTERM, then SIGKILL */
#define DEPLOY_UP_BACKOFF_MIN_MS    200   /* first restart delay, doubled per crash */
#define DEPLOY_UP_BACKOFF_MAX_MS    5000
#define DEPLOY_UP_STABLE_MS         10000 /* running this long resets the backoff */

struct deploy_up_opts {
	const char *file;   /* NULL: the built-in demo stack */
	const char *state;  /* NULL: DEPLOY_UP_STATE_DEFAULT */
	uint16_t base_port; /* 0: DEPLOY_UP_BASE_PORT */
	bool detach;        /* -d: daemonize once healthy-ready, write STATE/up.pid */
	bool no_tls;        /* --no-tls: plain HTTP everywhere (no CA, no certificates) */
	const char *self;   /* the binary to exec; NULL: /proc/self/exe */
	const struct deploy_stack_override *params; /* --param NAME=VALUE, borrowed */
	size_t nparams;
};

/*
 * Run `up`. Returns 0 after a clean stop (foreground) or once the detached
 * supervisor reported ready; ERR_CONFIG_SCHEMA (or the parse's code) after
 * printing every validation error to `err`; another negative code after a
 * message naming what failed (a child that did not get healthy: its name
 * and the tail of its log).
 */
int deploy_up(const struct deploy_up_opts *o, FILE *out, FILE *err);

/* Signal the supervisor of STATE (SIGTERM) and wait until it and every
 * child it listed are gone. 0, ERR_IO (not running) or ERR_TIMEOUT. */
int deploy_down(const char *state, FILE *out, FILE *err);

/* Print the process table (alive or not), each router's routes (from its
 * control API) and the region it would choose now (its
 * meridian_router_region_selected metric), each edge's cache hit ratio.
 * 0, or ERR_UP_NOT_RUNNING when STATE holds no stack. */
int deploy_status(const char *state, FILE *out, FILE *err);

/* Set REGION's dial on every router of every access point that has REGION
 * (PATCH .../routes, SigV4 with the stack's admin key). 0; ERR_INVALID
 * when no access point has it; or the last failure, after a message. */
int deploy_region(const char *state, const char *region, bool active, FILE *out, FILE *err);

#endif
