/* meridian edge: the caching CDN edge. Main thread. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "http/server.h"
#include "edge/admin.h"
#include "http/admin.h"
#include "edge/config.h"
#include "edge/fn_event.h"
#include "edge/server.h"
#include "http/tls_config.h"
#include "net/loop.h"
#include "net/tls.h"

void cmd_edge_help(FILE *out)
{
	fputs(
	    "usage: meridian edge [--listen ADDR] --config FILE [--location NAME] [--workers N]\n"
	    "                     [--quiet]\n"
	    "\n"
	    "The caching CDN edge (CloudFront-like): answers viewers from its memory\n"
	    "cache or fetches from the origin or origin group of the first matching\n"
	    "cache behavior, signing origin requests with SigV4A or SigV4; concurrent\n"
	    "misses of one object share one origin fetch. See docs/edge.md.\n"
	    "\n"
	    "  --listen ADDR    ip:port or [ipv6]:port to listen on for HTTP (without\n"
	    "                   it, HTTPS only: the config's tls.listen)\n"
	    "  --config FILE    the distribution: origins, groups, behaviors (YAML)\n"
	    "  --location NAME  this edge's name in Via and the access log (default:\n"
	    "                   the host name)\n"
	    "  --workers N      event loops (default: one per CPU)\n"
	    "  --quiet          no access log (one line per request on stderr)\n"
	    "\n"
	    "Answers carry X-Cache (Hit/Miss/Error from meridian), Via and " EDGE_REQUEST_ID_HEADER
	    ";\n"
	    "hits also Age. SIGTERM or SIGINT: stop accepting, finish in-flight\n"
	    "requests, exit; a second signal exits at once. A bad config exits 2.\n"
	    "With admin.listen in the config: CloudFront's invalidation API\n"
	    "(POST " EDGE_ADMIN_API_PREFIX "ID/invalidation, SigV4 for service\n"
	    "cloudfront with an admin key) and GET /metrics (Prometheus) there;\n"
	    "SIGHUP re-reads the admin credentials, the edge functions' files\n"
	    "(docs/edge-functions.md), the certificates of tls.listen and\n"
	    "tls.ca_file; a file that does not load keeps the old ones.\n"
	    "With a tls: section (tls.listen, tls.certificates): an HTTPS listener\n"
	    "beside --listen, viewer_protocol_policy per behavior, and https origins\n"
	    "(protocol_policy https-only or match-viewer) verified with tls.ca_file\n"
	    "or the system's CAs against their domain_name.\n",
	    out);
}

/* SIGHUP: the edge functions' files, read and checked again. */
static void edge_reload(void *srv)
{
	char err[EDGE_CONFIG_ERR_LEN] = "";
	int rc = edge_server_reload_functions(srv, err, sizeof(err));
	if (rc > 0)
		fputs("edge: functions reloaded\n", stderr);
	else if (rc < 0)
		fprintf(stderr, "edge: functions not reloaded: %s\n", err[0] ? err : err_text(rc));
}

static const struct cmd_serve_ops edge_serve = {
	.name = "edge",
	.reload = edge_reload,
};

/* --location NAME */
static int edge_option(void *arg, int val, const char *value)
{
	struct edge_server_opts *o = arg;
	(void)val;
	if (strlen(value) > EDGE_LOCATION_MAX || !value[0] || strpbrk(value, " \t\r\n()")) {
		fprintf(stderr,
		        "edge: --location wants 1 to %d characters, no blanks or parentheses\n",
		        EDGE_LOCATION_MAX);
		return CMD_USAGE;
	}
	o->location = value;
	return -1;
}

int cmd_edge(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "location", required_argument, NULL, 'L' },
	};
	struct edge_server_opts o = { 0 };
	struct cmd_role_args a;
	int rc = cmd_role_args(argc, argv, "edge", cmd_edge_help, extra, 1, edge_option, &o, &a);
	if (rc >= 0)
		return rc;
	o.listen = a.listen;
	o.workers = a.workers;
	o.access_log = !a.quiet;
	struct edge_config cfg;
	char err[EDGE_CONFIG_ERR_LEN] = "";
	rc = edge_config_load(a.config, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "edge: %s\n", err[0] ? err : err_text(rc));
		return CMD_USAGE;
	}
	if (!a.listen && !cfg.tls.listen) {
		fprintf(stderr, "edge: --listen or tls.listen (in %s) is required\n", a.config);
		edge_config_free(&cfg);
		return CMD_USAGE;
	}
	o.cfg = &cfg;
	/* TLS: the HTTPS listener's certificates, and a verifier when an
	 * origin may be https or the file has a tls: section (then a context
	 * that cannot be made stops the start). An origin-request function
	 * may switch to https too: for it the verifier (the system's CAs) is
	 * made when it can be, with a warning when not. */
	bool need_client = cfg.tls.present, fn_client = false;
	for (uint32_t i = 0; i < cfg.norigins; i++)
		need_client |= cfg.origin[i].protocol_policy != EDGE_CONFIG_PROTO_HTTP_ONLY;
	for (uint32_t i = 0; i < cfg.nbehaviors; i++)
		fn_client |= cfg.behavior[i].function[EDGE_FN_ORIGIN_REQUEST] != NULL;
	struct net_tls_server *tls_server = NULL;
	struct net_tls_client *tls_client = NULL;
	if ((need_client || fn_client) &&
	    http_tls_contexts(&cfg.tls, "edge", &tls_server, &tls_client, err, sizeof(err))) {
		if (need_client) {
			fprintf(stderr, "edge: tls: %s\n", err);
			edge_config_free(&cfg);
			return CMD_USAGE;
		}
		fprintf(stderr,
		        "edge: no TLS client for origin-request functions that choose https: "
		        "%s\n",
		        err);
	}
	o.tls_listen = cfg.tls.listen;
	o.tls_server = tls_server;
	o.tls_client = tls_client;
	cmd_serve_prepare();
	struct net_loop *loop;
	if (net_loop_new(&loop)) {
		fputs("edge: out of memory\n", stderr);
		net_tls_server_free(tls_server);
		net_tls_client_free(tls_client);
		edge_config_free(&cfg);
		return CMD_FAIL;
	}
	struct edge_server *srv = NULL;
	struct http_admin *admin = NULL;
	rc = edge_server_start(&o, &srv, err, sizeof(err));
	if (rc == 0 && cfg.admin_listen)
		rc = edge_admin_start(&cfg, srv, &admin, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "edge: %s\n", err[0] ? err : err_text(rc));
		edge_server_stop(srv);
		net_loop_free(loop);
		net_tls_server_free(tls_server);
		net_tls_client_free(tls_client);
		edge_config_free(&cfg);
		return rc == ERR_CONFIG_SCHEMA ? CMD_USAGE : CMD_FAIL;
	}
	fprintf(stderr, "edge: distribution %s, %u origins, %u behaviors", cfg.domain, cfg.norigins,
	        cfg.nbehaviors);
	cmd_serve_announce("edge", o.listen, tls_server ? cfg.tls.listen : NULL,
	                   edge_server_http(srv));
	if (admin)
		fprintf(stderr, "edge: admin on %s (port %d)\n", cfg.admin_listen,
		        http_admin_port(admin));
	cmd_serve(loop, &edge_serve, srv, edge_server_http(srv), admin, tls_server, tls_client);
	struct edge_server_stats st;
	edge_server_stats(srv, &st);
	fprintf(stderr,
	        "edge: %llu requests, %llu hits, %llu misses, %llu errors, %llu origin fetches, "
	        "%llu collapsed, %llu failovers\n",
	        (unsigned long long)st.requests, (unsigned long long)st.hits,
	        (unsigned long long)st.misses, (unsigned long long)st.errors,
	        (unsigned long long)st.origin_fetches, (unsigned long long)st.collapsed,
	        (unsigned long long)st.failovers);
	http_admin_stop(admin);
	edge_server_stop(srv);
	net_loop_free(loop);
	net_tls_server_free(tls_server);
	net_tls_client_free(tls_client);
	edge_config_free(&cfg);
	fputs("edge: stopped\n", stderr);
	return CMD_OK;
}
