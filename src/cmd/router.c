/* meridian router: the multi-region access point. Main thread. */
#include <signal.h>
#include <stdlib.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "http/admin.h"
#include "http/server.h"
#include "http/tls_config.h"
#include "net/loop.h"
#include "net/tls.h"
#include "router/admin.h"
#include "router/config.h"
#include "router/server.h"

void cmd_router_help(FILE *out)
{
	fputs("usage: meridian router [--listen ADDR] --config FILE [--workers N] [--quiet]\n"
	      "\n"
	      "The multi-region access point: forwards each request unchanged to the\n"
	      "store of the healthy active region with the lowest measured latency,\n"
	      "fails over, retries a 404 on the other regions, keeps a multipart upload\n"
	      "with the region that created it. See docs/router.md for the config file.\n"
	      "\n"
	      "  --listen ADDR   ip:port or [ipv6]:port to listen on for HTTP (without it,\n"
	      "                  HTTPS only: the config's tls.listen)\n"
	      "  --config FILE   the access point, its regions and routing (YAML)\n"
	      "  --workers N     event loops (default: one per CPU)\n"
	      "  --quiet         no access log (one line per request on stderr)\n"
	      "\n"
	      "Every forwarded answer carries " ROUTER_REGION_HEADER ": <region>.\n"
	      "Health: GET " ROUTER_HEALTH_PATH " answers 200. With admin.listen in the\n"
	      "config: the control API (GET/PATCH " ROUTER_ADMIN_API_PREFIX "NAME/routes,\n"
	      "SigV4 with an admin key) and GET /metrics (Prometheus) there.\n"
	      "SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit; a second\n"
	      "signal exits at once. SIGHUP: re-read the admin credentials, the\n"
	      "tls.certificates files and tls.ca_file.\n"
	      "\n"
	      "TLS (issue 10): tls.listen in the config adds an HTTPS listener beside\n"
	      "--listen; regions with protocol: https are reached over TLS, their\n"
	      "certificates checked (tls.ca_file, else the system's store) for their\n"
	      "server_name or endpoint IP; a refused certificate fails over like a\n"
	      "refused connection.\n",
	      out);
}

/* After the server has stopped: no loop uses them any more. */
static void tls_free(struct net_tls_server *tls, struct net_tls_client *upstream)
{
	net_tls_server_free(tls);
	net_tls_client_free(upstream);
}

static const struct cmd_serve_ops router_serve = {
	.name = "router",
};

int cmd_router(int argc, char **argv)
{
	struct cmd_role_args a;
	int rc = cmd_role_args(argc, argv, "router", cmd_router_help, NULL, 0, NULL, NULL, &a);
	if (rc >= 0)
		return rc;
	struct router_server_opts o = { .listen = a.listen,
		                        .workers = a.workers,
		                        .access_log = !a.quiet };
	struct router_config cfg;
	char err[ROUTER_CONFIG_ERR_LEN] = "";
	rc = router_config_load(a.config, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "router: %s\n", err[0] ? err : err_text(rc));
		return CMD_USAGE;
	}
	if (!a.listen && !cfg.tls.listen) {
		fprintf(stderr, "router: --listen or tls.listen (in %s) is required\n", a.config);
		router_config_free(&cfg);
		return CMD_USAGE;
	}
	o.cfg = &cfg;
	struct net_tls_server *tls = NULL;
	struct net_tls_client *upstream = NULL;
	if (cfg.tls.present || cfg.any_https) {
		char terr[NET_TLS_ERR_LEN];
		rc = http_tls_contexts(&cfg.tls, "router", &tls, &upstream, terr, sizeof(terr));
		if (rc) {
			fprintf(stderr, "router: %s\n", rc == ERR_NOMEM ? "out of memory" : terr);
			router_config_free(&cfg);
			return rc == ERR_NOMEM ? CMD_FAIL : CMD_USAGE;
		}
	}
	o.tls_listen = cfg.tls.listen;
	o.tls = tls;
	o.upstream = upstream;
	cmd_serve_prepare();
	struct router_server *srv = NULL;
	struct http_admin *admin = NULL;
	struct net_loop *loop;
	if (net_loop_new(&loop)) {
		fputs("router: out of memory\n", stderr);
		tls_free(tls, upstream);
		router_config_free(&cfg);
		return CMD_FAIL;
	}
	rc = router_server_start(&o, &srv, err, sizeof(err));
	if (rc == 0 && cfg.admin_listen)
		rc = router_admin_start(&cfg, srv, &admin, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "router: %s\n", err[0] ? err : err_text(rc));
		router_server_stop(srv);
		net_loop_free(loop);
		tls_free(tls, upstream);
		router_config_free(&cfg);
		return CMD_FAIL;
	}
	fprintf(stderr, "router: access point %s (alias %s), %u regions", cfg.name, cfg.alias,
	        cfg.nregions);
	cmd_serve_announce("router", o.listen, tls ? cfg.tls.listen : NULL,
	                   router_server_http(srv));
	for (uint32_t i = 0; i < cfg.nregions; i++)
		if (cfg.region[i].https)
			fprintf(stderr,
			        "router: region %s over HTTPS to %s, certificate checked for %s\n",
			        cfg.region[i].name, cfg.region[i].endpoint,
			        cfg.tls.insecure ? "nothing (insecure_skip_verify)"
			                         : cfg.region[i].tls_name);
	if (admin)
		fprintf(stderr, "router: admin on %s (port %d)\n", cfg.admin_listen,
		        http_admin_port(admin));
	cmd_serve(loop, &router_serve, srv, router_server_http(srv), admin, tls, upstream);
	http_admin_stop(admin);
	router_server_stop(srv);
	net_loop_free(loop);
	tls_free(tls, upstream);
	router_config_free(&cfg);
	fputs("router: stopped\n", stderr);
	return CMD_OK;
}
