/*
 * The subcommand table's row type and the subcommands' entry points. Each
 * subcommand lives in its own file under cmd/; main.c holds the table.
 * Main thread only.
 */
#ifndef MERIDIAN_CMD_CMD_H
#define MERIDIAN_CMD_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "net/tls.h"

/* Exit statuses every subcommand uses. */
#define CMD_OK    0
#define CMD_FAIL  1
#define CMD_USAGE 2

struct cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
	void (*help)(FILE *out);
};

int cmd_down(int argc, char **argv);
void cmd_down_help(FILE *out);
int cmd_edge(int argc, char **argv);
void cmd_edge_help(FILE *out);
int cmd_region(int argc, char **argv);
void cmd_region_help(FILE *out);
int cmd_router(int argc, char **argv);
void cmd_router_help(FILE *out);
int cmd_sign(int argc, char **argv);
void cmd_sign_help(FILE *out);
int cmd_status(int argc, char **argv);
void cmd_status_help(FILE *out);
int cmd_repl(int argc, char **argv);
void cmd_repl_help(FILE *out);
int cmd_store(int argc, char **argv);
void cmd_store_help(FILE *out);
int cmd_tls(int argc, char **argv);
void cmd_tls_help(FILE *out);
int cmd_up(int argc, char **argv);
void cmd_up_help(FILE *out);
int cmd_verify(int argc, char **argv);
void cmd_verify_help(FILE *out);
int cmd_version(int argc, char **argv);
void cmd_version_help(FILE *out);
int cmd_wan(int argc, char **argv);
void cmd_wan_help(FILE *out);

/* A server command's hooks for cmd_serve (srv is the command's server). */
struct cmd_serve_ops {
	const char *name;          /* for messages: "store: draining" */
	void (*reload)(void *srv); /* SIGHUP (besides an admin listener's reload); may be NULL */
};
struct net_loop;
struct http_admin;
struct http_server;
/* The options of a role with a config file (router, edge):
 * --listen ADDR --config FILE [--workers N] [--quiet] [--help], plus the
 * role's own long options `extra` (val != 0, not 'l' 'c' 'w' 'q' 'h'),
 * each handed to on_extra(arg, val, value), which returns -1 to go on or
 * an exit code after its message. */
struct cmd_role_args {
	const char *listen, *config;
	unsigned workers; /* 0: one per CPU */
	bool quiet;
};
struct option;
/* -1 with *out filled, or the exit code (help printed: CMD_OK; bad usage,
 * with a message and the help on stderr: CMD_USAGE). */
int cmd_role_args(int argc, char **argv, const char *name, void (*help)(FILE *out),
                  const struct option *extra, size_t nextra,
                  int (*on_extra)(void *arg, int val, const char *value), void *arg,
                  struct cmd_role_args *out);

/* The end of a role's start line, after what it serves: ", listening on
 * ADDR (port N)" or ", HTTPS only", then "NAME: HTTPS on ADDR (port N)"
 * when tls_listen is set (the lines tests and `up` read). */
void cmd_serve_announce(const char *name, const char *listen, const char *tls_listen,
                        const struct http_server *http);

/* A SIGHUP reload's line on stderr: "NAME: WHAT reloaded", or with rc
 * non-zero "NAME: WHAT not reloaded: ERR". */
void cmd_reload_said(const char *name, const char *what, int rc, const char *err);

/* Before a server starts: ignore SIGPIPE (a peer's close is an error
 * return) and raise the open-files limit to its hard cap. */
void cmd_serve_prepare(void);
/* Run `l` until SIGTERM or SIGINT has drained http, srv's HTTP server
 * (polled every 20 ms); a second signal exits the process at once. SIGHUP:
 * ops->reload(srv), the admin listener's credentials, the HTTPS
 * listener's certificates and the upstream client's CA file re-read
 * (admin, tls and upstream may be NULL). Closes its
 * own handles; the caller stops srv and frees l afterwards. */
void cmd_serve(struct net_loop *l, const struct cmd_serve_ops *ops, void *srv,
               struct http_server *http, struct http_admin *admin, struct net_tls_server *tls,
               struct net_tls_client *upstream);

/* --tls-listen ADDR and --tls-cert FILE / --tls-key FILE pairs (the store's
 * options): the HTTPS listener beside --listen. */
struct cmd_tls_args {
	const char *listen;
	struct net_tls_cert certs[NET_TLS_CERTS_MAX];
	size_t ncerts, nkeys;
};
/* One of the three options (val 'T' listen, 'E' cert, 'K' key); 0 or
 * CMD_USAGE with the reason printed. */
int cmd_tls_option(struct cmd_tls_args *t, const char *name, int val, const char *value);
/* Check the pairs and build the context (NULL *out without --tls-listen).
 * 0, or CMD_USAGE / CMD_FAIL with the reason printed. */
int cmd_tls_server(const struct cmd_tls_args *t, const char *name, struct net_tls_server **out);

/* True when argv holds -h or --help (before a "--"). */
int cmd_wants_help(int argc, char **argv);

#endif
