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

#include "base/buf.h"

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
	uint16_t *router_port; /* [naccess_points * nlocations] (DEPLOY_UP_AT): 0 none */
	uint16_t *router_admin;
	uint16_t *edge_port; /* [ndistributions * nlocations] (DEPLOY_UP_AT): 0 none */
	uint16_t *edge_admin;
	/* HTTPS (issue 10): each store, router and edge also listens with TLS
	 * on its own port, certificates from STATE/tls (up_tls.c); 0 with
	 * --no-tls. The same shapes as the ports above. */
	bool tls;
	uint16_t *store_tls, *router_tls, *edge_tls;
	char (*key)[DEPLOY_UP_KEY_MAX]; /* [ncredentials] */
	char (*secret)[DEPLOY_UP_KEY_MAX];
	char admin_key[DEPLOY_UP_KEY_MAX], admin_secret[DEPLOY_UP_KEY_MAX];
	unsigned nproc;
	struct deploy_up_proc proc[DEPLOY_UP_PROCS_MAX];
	sigset_t sigs; /* SIGINT SIGTERM SIGCHLD, blocked while up runs */
	bool stopping;
};

/* The slot of (access point or distribution i, location l) in the
 * router_* and edge_* arrays. */
#define DEPLOY_UP_AT(u, i, l) ((size_t)(i) * (u)->st->nlocations + (l))

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t deploy__now_ms(void);
/* STATE/<rel> into out[DEPLOY_UP_PATH_MAX]. */
void deploy__state_path(const struct deploy_up *u, const char *rel, char *out);
/* Print the last ~2000 bytes of `path` to `f`, indented. */
void deploy__print_tail(FILE *f, const char *path);

/* Create `path` and its parents (0755). 0 or ERR_IO. */
int deploy__mkdir_p(const char *path);
/* Write p/n to `path` (created or truncated) with `mode`. 0 or ERR_IO. */
int deploy__write_file(const char *path, const void *p, size_t n, mode_t mode);
/* Append s as a YAML double-quoted scalar. 0 or ERR_TOO_BIG/ERR_NOMEM. */
struct buf;
int deploy__yaml_quote(struct buf *b, const char *s);
/* The keys store s's buckets are created with, and its peers sign with
 * (borrowed from *u). */
void deploy__store_keys(const struct deploy_up *u, uint32_t s, const char **key,
                        const char **secret);

/* ---- replication (up_repl.c) ---- */

/* Whether a bucket of store s has a rule (enabled or not) whose
 * destination is a bucket of store t (s == t: between its own buckets). */
bool deploy__repl_to(const struct deploy_stack *st, uint32_t s, uint32_t t);
/* Whether the store at location l (if any) replicates to store t. */
bool deploy__repl_from(const struct deploy_stack *st, uint32_t l, uint32_t t);
/* A peer's name for a store in `region`: lowercased, each character
 * outside a-z 0-9 '-' made '-', at most REPL_NAME_MAX, into out[cap]. */
void deploy__repl_peer_name(const char *region, char *out, size_t cap);
/* Append bucket bi's PutBucketReplication body: a V2 rule per stack rule
 * (ID rule-N-to-DEST, Priority N, Filter/Prefix, DeleteMarkerReplication,
 * Destination arn:aws:s3:REGION::DEST). 0 or ERR_NOMEM / ERR_TOO_BIG. */
int deploy__repl_xml(const struct deploy_stack *st, uint32_t bi, struct buf *out);
/* Append store s's peers file: each store t it replicates to, named and
 * keyed by deploy__repl_peer_name (keys file NAME.keys beside it), at
 * http://127.0.0.1:port[t], or with a ca_file (the stack's CA) at
 * https://127.0.0.1:port[t] verified as s3.REGION.meridian.test. 0 or
 * ERR_NOMEM / ERR_TOO_BIG. */
int deploy__repl_peers_yaml(const struct deploy_stack *st, uint32_t s, const uint16_t *port,
                            const char *ca_file, struct buf *out);
/* Write STATE/replication/REGION/{peers.yaml,PEER.keys} for store s (what
 * an earlier `up` left there removed first) and check them with the
 * store's parser. path[DEPLOY_UP_PATH_MAX] gets the peers file, or "" when
 * the store replicates nowhere. 0, or ERR_IO / the parser's code after a
 * message. */
int deploy__repl_write(struct deploy_up *u, uint32_t s, char *path);
/* PUT bucket bi's rules to its store (or, for a `kept` bucket the stack
 * gives none, DELETE what it has). 0, or ERR_UP_HTTP / the exchange's code
 * after a message naming the bucket. */
int deploy__repl_apply(struct deploy_up *u, uint32_t bi, bool kept);

/* Append the config of distribution di's edge at its location index li
 * (docs/edge.md's keys: origins with this location's ports, groups,
 * behaviors with their functions' absolute paths, signing, cache,
 * function_limits, admin). 0 or ERR_NOMEM / ERR_TOO_BIG. */
int deploy__edge_yaml(const struct deploy_up *u, uint32_t di, uint32_t li, struct buf *b);

/* The port other roles reach store s on: its HTTPS one with TLS. */
uint16_t deploy__store_data_port(const struct deploy_up *u, uint32_t s);

/* up_tls.c: the stack's CA (kept in STATE/tls) and a certificate per
 * store, router and edge (made at every up). 0 or an error after a
 * message. */
int deploy__tls_plan(struct deploy_up *u);
/* STATE/tls/NAME.pem and NAME-key.pem (DEPLOY_UP_PATH_MAX each). */
void deploy__tls_files(const struct deploy_up *u, const char *name, char *cert, char *key);

/* A child's name into out[DEPLOY_UP_NAME_MAX]: ROLE-LOC for the first
 * access point's router or distribution's edge (i == 0), ROLE-WHAT-LOC for
 * the others, with characters outside A-Z a-z 0-9 . _ - made '_'. */
void deploy__role_name(const char *role, uint32_t i, const char *what, const char *loc, char *out);

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
