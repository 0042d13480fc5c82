/*
 * The main loop of a draining server command (store, router): wait for
 * SIGTERM or SIGINT, drain, and return once every connection has closed;
 * a second signal exits at once. SIGHUP calls the command's reload and
 * re-reads its admin listener's credentials. Main
 * thread only.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "http/admin.h"
#include "http/server.h"
#include "net/signal.h"
#include "net/timer.h"

struct serve {
	struct net_loop *loop;
	const struct cmd_serve_ops *ops;
	void *srv;
	struct http_server *http;
	struct http_admin *admin;
	struct net_tls_server *tls;
	struct net_tls_client *upstream;
	struct net_timer *poll;
	int signals;
};

static void poll_drained(void *arg)
{
	struct serve *m = arg;
	if (http_server_drained(m->http))
		net_loop_stop(m->loop);
}

static void on_stop_signal(void *arg, int signum)
{
	struct serve *m = arg;
	(void)signum;
	if (m->signals++) {
		fprintf(stderr, "%s: second signal, exiting now\n", m->ops->name);
		_exit(CMD_FAIL);
	}
	fprintf(stderr, "%s: draining\n", m->ops->name);
	http_server_drain(m->http);
	net_timer_start(m->poll, 20, 20);
}

void cmd_reload_said(const char *name, const char *what, int rc, const char *err)
{
	if (rc)
		fprintf(stderr, "%s: %s not reloaded: %s\n", name, what, err);
	else
		fprintf(stderr, "%s: %s reloaded\n", name, what);
}

static void on_hup(void *arg, int signum)
{
	struct serve *m = arg;
	(void)signum;
	if (m->ops->reload)
		m->ops->reload(m->srv);
	char err[512];
	const char *name = m->ops->name;
	if (m->tls)
		cmd_reload_said(name, "TLS certificates",
		                net_tls_server_reload(m->tls, err, sizeof(err)), err);
	if (m->upstream)
		cmd_reload_said(name, "upstream CA",
		                net_tls_client_reload(m->upstream, err, sizeof(err)), err);
	if (m->admin)
		cmd_reload_said(name, "admin credentials",
		                http_admin_reload(m->admin, err, sizeof(err)), err);
}

#define ROLE_OPTS_MAX 16

int cmd_role_args(int argc, char **argv, const char *name, void (*help)(FILE *out),
                  const struct option *extra, size_t nextra,
                  int (*on_extra)(void *arg, int val, const char *value), void *arg,
                  struct cmd_role_args *out)
{
	static const struct option common[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
	};
	size_t nc = sizeof(common) / sizeof(common[0]);
	struct option opts[ROLE_OPTS_MAX + 1];
	if (nc + nextra > ROLE_OPTS_MAX)
		abort(); /* a programming error: the table is static */
	memcpy(opts, common, sizeof(common));
	if (nextra)
		memcpy(opts + nc, extra, nextra * sizeof(*extra));
	memset(&opts[nc + nextra], 0, sizeof(opts[0]));
	*out = (struct cmd_role_args){ 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			out->listen = optarg;
			break;
		case 'c':
			out->config = optarg;
			break;
		case 'w': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n == 0 || n > 256) {
				fprintf(stderr, "%s: --workers wants 1 to 256\n", name);
				return CMD_USAGE;
			}
			out->workers = (unsigned)n;
			break;
		}
		case 'q':
			out->quiet = true;
			break;
		case 'h':
			help(stdout);
			return CMD_OK;
		case '?':
			help(stderr);
			return CMD_USAGE;
		default: {
			int rc = on_extra(arg, c, optarg);
			if (rc >= 0)
				return rc;
		}
		}
	}
	if (optind < argc || !out->config) {
		fprintf(stderr,
		        "%s: --config is required (and --listen, unless the config's tls.listen "
		        "makes it HTTPS only)\n",
		        name);
		help(stderr);
		return CMD_USAGE;
	}
	return -1;
}

void cmd_serve_announce(const char *name, const char *listen, const char *tls_listen,
                        const struct http_server *http)
{
	if (listen)
		fprintf(stderr, ", listening on %s (port %d)\n", listen, http_server_port(http));
	else
		fprintf(stderr, ", HTTPS only\n");
	if (tls_listen)
		fprintf(stderr, "%s: HTTPS on %s (port %d)\n", name, tls_listen,
		        http_server_tls_port(http));
}

void cmd_serve_prepare(void)
{
	signal(SIGPIPE, SIG_IGN);
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
}

void cmd_serve(struct net_loop *l, const struct cmd_serve_ops *ops, void *srv,
               struct http_server *http, struct http_admin *admin, struct net_tls_server *tls,
               struct net_tls_client *upstream)
{
	struct serve m = { .loop = l,
		           .ops = ops,
		           .srv = srv,
		           .http = http,
		           .admin = admin,
		           .tls = tls,
		           .upstream = upstream };
	struct net_signal *s_term = NULL, *s_int = NULL, *s_hup = NULL;
	net_timer_new(l, poll_drained, &m, &m.poll);
	net_signal_watch(l, SIGTERM, on_stop_signal, &m, &s_term);
	net_signal_watch(l, SIGINT, on_stop_signal, &m, &s_int);
	if (ops->reload || admin || tls || upstream)
		net_signal_watch(l, SIGHUP, on_hup, &m, &s_hup);
	net_loop_run(l);
	net_timer_free(m.poll);
	net_signal_close(s_term);
	net_signal_close(s_int);
	net_signal_close(s_hup);
}

/* ---- --tls-listen, --tls-cert, --tls-key ---- */

int cmd_tls_option(struct cmd_tls_args *t, const char *name, int val, const char *value)
{
	switch (val) {
	case 'T':
		t->listen = value;
		return 0;
	case 'E':
		if (t->ncerts == NET_TLS_CERTS_MAX) {
			fprintf(stderr, "%s: at most %d --tls-cert\n", name, NET_TLS_CERTS_MAX);
			return CMD_USAGE;
		}
		t->certs[t->ncerts++].cert_file = value;
		return 0;
	case 'K':
		if (t->nkeys == NET_TLS_CERTS_MAX) {
			fprintf(stderr, "%s: at most %d --tls-key\n", name, NET_TLS_CERTS_MAX);
			return CMD_USAGE;
		}
		t->certs[t->nkeys++].key_file = value;
		return 0;
	default:
		return CMD_USAGE;
	}
}

int cmd_tls_server(const struct cmd_tls_args *t, const char *name, struct net_tls_server **out)
{
	*out = NULL;
	if (!t->listen && !t->ncerts && !t->nkeys)
		return 0;
	if (!t->listen || !t->ncerts || t->ncerts != t->nkeys) {
		fprintf(stderr,
		        "%s: --tls-listen needs --tls-cert FILE and --tls-key FILE (one key per "
		        "certificate, in the same order), and they need --tls-listen\n",
		        name);
		return CMD_USAGE;
	}
	char err[NET_TLS_ERR_LEN + 64];
	int rc = net_tls_server_new(t->certs, t->ncerts, out, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: %s\n", name, rc == ERR_NOMEM ? "out of memory" : err);
		return rc == ERR_NOMEM ? CMD_FAIL : CMD_USAGE;
	}
	return 0;
}
