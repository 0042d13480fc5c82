/* meridian router: the multi-region access point. Main thread. */
#include <signal.h>
#include <stdlib.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "http/server.h"
#include "net/loop.h"
#include "http/admin.h"
#include "router/admin.h"
#include "router/config.h"
#include "router/server.h"

void cmd_router_help(FILE *out)
{
	fputs("usage: meridian router --listen ADDR --config FILE [--workers N] [--quiet]\n"
	      "\n"
	      "The multi-region access point: forwards each request unchanged to the\n"
	      "store of the healthy active region with the lowest measured latency,\n"
	      "fails over, retries a 404 on the other regions, keeps a multipart upload\n"
	      "with the region that created it. See docs/router.md for the config file.\n"
	      "\n"
	      "  --listen ADDR   ip:port or [ipv6]:port to listen on\n"
	      "  --config FILE   the access point, its regions and routing (YAML)\n"
	      "  --workers N     event loops (default: one per CPU)\n"
	      "  --quiet         no access log (one line per request on stderr)\n"
	      "\n"
	      "Every forwarded answer carries " ROUTER_REGION_HEADER ": <region>.\n"
	      "Health: GET " ROUTER_HEALTH_PATH " answers 200. With admin.listen in the\n"
	      "config: the control API (GET/PATCH " ROUTER_ADMIN_API_PREFIX "NAME/routes,\n"
	      "SigV4 with an admin key) and GET /metrics (Prometheus) there.\n"
	      "SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit; a second\n"
	      "signal exits at once. SIGHUP: re-read the admin credentials.\n",
	      out);
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
	o.cfg = &cfg;
	cmd_serve_prepare();
	struct router_server *srv = NULL;
	struct http_admin *admin = NULL;
	struct net_loop *loop;
	if (net_loop_new(&loop)) {
		fputs("router: out of memory\n", stderr);
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
		router_config_free(&cfg);
		return CMD_FAIL;
	}
	fprintf(
	    stderr, "router: access point %s (alias %s), %u regions, listening on %s (port %d)\n",
	    cfg.name, cfg.alias, cfg.nregions, o.listen, http_server_port(router_server_http(srv)));
	if (admin)
		fprintf(stderr, "router: admin on %s (port %d)\n", cfg.admin_listen,
		        http_admin_port(admin));
	cmd_serve(loop, &router_serve, srv, router_server_http(srv), admin, NULL);
	http_admin_stop(admin);
	router_server_stop(srv);
	net_loop_free(loop);
	router_config_free(&cfg);
	fputs("router: stopped\n", stderr);
	return CMD_OK;
}
