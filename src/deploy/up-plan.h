/*
 * The running shape of one `meridian up`: the stack's plan with ports,
 * keys, file names and child processes filled in (deploy/up.c plans and
 * writes, deploy/up_proc.c spawns and supervises). Main thread of the CLI
 * process only.
 */
#ifndef MERIDIAN_DEPLOY_UP_PLAN_H
#define MERIDIAN_DEPLOY_UP_PLAN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "deploy/stack.h"
#include "deploy/up-int.h"
#include "deploy/up.h"

#define DEPLOY_UP_ARGS_MAX  40
#define DEPLOY_UP_NAME_MAX  96
#define DEPLOY_UP_STATE_MAX 512 /* bytes of the state directory's absolute path */

enum deploy_up_kind {
	DEPLOY_UP_STORE = 0,
	DEPLOY_UP_WAN,
	DEPLOY_UP_ROUTER,
	DEPLOY_UP_EDGE,
};

struct deploy_up_proc {
	char name[DEPLOY_UP_NAME_MAX];
	enum deploy_up_kind kind;
	uint16_t port; /* health: GET /-/health (store, router) or TCP accept */
	int argc;
	char *argv[DEPLOY_UP_ARGS_MAX + 1]; /* owned; NULL-terminated */
	pid_t pid;                          /* 0 while not running */
	int64_t started_ms, restart_at_ms;  /* restart_at_ms 0: none pending */
	uint32_t backoff_ms;
	unsigned restarts;
};

struct deploy_up {
	struct deploy_stack *st;
	FILE *out, *err;
	char state[DEPLOY_UP_STATE_MAX]; /* absolute */
	char self[DEPLOY_UP_PATH_MAX];
	uint16_t next_port;
	uint16_t *store_port;  /* [nstores] */
	uint16_t *wan_port;    /* [nlocations * nstores]: 0 direct */
	uint16_t *router_port; /* [nlocations]: 0 none */
	uint16_t *router_admin;
	uint16_t *edge_port; /* [nlocations]: 0 none (first distribution) */
	uint16_t *edge_admin;
	char (*key)[DEPLOY_UP_KEY_MAX]; /* [ncredentials] */
	char (*secret)[DEPLOY_UP_KEY_MAX];
	char admin_key[DEPLOY_UP_KEY_MAX], admin_secret[DEPLOY_UP_KEY_MAX];
	unsigned nproc;
	struct deploy_up_proc proc[DEPLOY_UP_PROCS_MAX];
	sigset_t sigs; /* SIGINT SIGTERM SIGCHLD, blocked while up runs */
	bool stopping;
};

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t deploy__now_ms(void);
/* STATE/<rel> into out[DEPLOY_UP_PATH_MAX]. */
void deploy__state_path(const struct deploy_up *u, const char *rel, char *out);
/* Print the last ~2000 bytes of `path` to `f`, indented. */
void deploy__print_tail(FILE *f, const char *path);

/* Add a child (not started). argv items are copied. 0 or ERR_TOO_BIG. */
int deploy__proc_add(struct deploy_up *u, enum deploy_up_kind kind, const char *name, uint16_t port,
                     const char *const *argv);
/* Start every child of `kind` and wait until each is healthy (bounded).
 * 0; ERR_UP_CHILD / ERR_UP_TIMEOUT after a message naming the child and
 * its log's tail; ERR_UP_NOT_RUNNING when SIGINT/SIGTERM arrived. */
int deploy__start_kind(struct deploy_up *u, enum deploy_up_kind kind);
/* Rewrite STATE/processes ("name pid port log" per line). */
void deploy__write_procs(struct deploy_up *u);
/* Supervise until SIGINT/SIGTERM, then stop every child. */
void deploy__supervise(struct deploy_up *u);
/* Stop every running child: SIGTERM, then SIGKILL after the timeout. */
void deploy__stop_all(struct deploy_up *u);
void deploy__proc_free(struct deploy_up *u);

#endif
