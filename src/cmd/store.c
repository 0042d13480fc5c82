/* meridian store: one region's S3-compatible object server. Main thread. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "http/admin.h"
#include "http/server.h"
#include "net/loop.h"
#include "s3/server.h"

void cmd_store_help(FILE *out)
{
	fputs("usage: meridian store --listen ADDR --data DIR --region NAME --credentials FILE\n"
	      "                      [--domain D]... [--public-read BUCKET]... [--workers N]\n"
	      "                      [--access-point ALIAS=BUCKET]... [--mrap-domain D]...\n"
	      "                      [--replication FILE] [--admin ADDR [--admin-credentials F]]\n"
	      "                      [--access-log FILE]\n"
	      "\n"
	      "Serves one region's S3 API: buckets, objects, versions, multipart uploads,\n"
	      "SigV4 and SigV4A verification. Data and metadata live under DIR.\n"
	      "\n"
	      "  --listen ADDR        ip:port or [ipv6]:port to listen on (HTTP)\n"
	      "  --tls-listen ADDR    an HTTPS listener (beside --listen, or alone)\n"
	      "  --tls-cert FILE      its PEM certificate chain; repeat with --tls-key for\n"
	      "                       more names (chosen by SNI; the first is the default)\n"
	      "  --tls-key FILE       the PEM private key of the --tls-cert at the same place\n"
	      "  --data DIR           data directory (created, mode 0700; locked while in use)\n"
	      "  --region NAME        this store's region, e.g. eu-west-1\n"
	      "  --credentials FILE   users: one `ACCESS_KEY_ID SECRET [name]` per line, #\n"
	      "                       comments; re-read on SIGHUP\n"
	      "  --domain D           serve virtual-hosted style requests for bucket.D\n"
	      "                       (repeatable); path style always works\n"
	      "  --public-read BUCKET let anonymous callers GET and HEAD objects of BUCKET\n"
	      "                       (repeatable); everything else needs a signature\n"
	      "  --workers N          event loops (default 1)\n"
	      "  --access-point ALIAS=BUCKET\n"
	      "                       serve BUCKET through the multi-region access point\n"
	      "                       alias ALIAS (e.g. mfzwi23gnjvgw.mrap; lowercase labels\n"
	      "                       of a-z 0-9 -, 3-63 characters; repeatable): path style\n"
	      "                       /ALIAS/key, or Host ALIAS.D for an --mrap-domain D.\n"
	      "                       Such requests must be SigV4A with a region set that\n"
	      "                       covers --region; never anonymous; no CopyObject\n"
	      "  --mrap-domain D      serve access point aliases virtual-hosted style as\n"
	      "                       ALIAS.D (repeatable)\n"
	      "  --replication FILE   replication peers (YAML, docs/replication.md): buckets'\n"
	      "                       replication rules send new versions to them\n"
	      "  --admin ADDR         admin listener: GET /metrics (unsigned), GET /repl/status,\n"
	      "                       POST /repl/resync?peer=P&bucket=B (SigV4-signed)\n"
	      "  --admin-credentials FILE\n"
	      "                       keys allowed on the admin listener (default: --credentials)\n"
	      "  --access-log FILE    a line per request in S3's server access log format,\n"
	      "                       appended to FILE (- for standard error); SIGHUP opens\n"
	      "                       FILE again (after a rotation)\n"
	      "\n"
	      "Health: GET " S3_HEALTH_PATH " answers 200 without authentication.\n"
	      "SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit; a second\n"
	      "signal exits at once.\n",
	      out);
}

static void store_reload(void *srv)
{
	char err[512];
	cmd_reload_said("store", "credentials", s3_server_reload(srv, err, sizeof(err)), err);
	int rc = s3_server_reopen_log(srv, err, sizeof(err));
	if (rc == 0)
		fputs("store: access log reopened\n", stderr);
	else if (rc != ERR_NOT_FOUND)
		fprintf(stderr, "store: access log not reopened: %s\n", err);
}

static const struct cmd_serve_ops store_serve = {
	.name = "store",
	.reload = store_reload,
};

/* One --access-point ALIAS=BUCKET; 0, or -1 with the reason printed. */
static int add_access_point(struct s3_server_config *cfg, const char *arg)
{
	struct s3_access_point ap;
	const char *why = NULL;
	if (cfg->naccess_points == S3_ACCESS_POINTS_MAX) {
		fprintf(stderr, "store: at most %d --access-point\n", S3_ACCESS_POINTS_MAX);
		return -1;
	}
	if (s3_access_point_parse(iov_cstr(arg), &ap, &why)) {
		fprintf(stderr, "store: --access-point '%s': %s\n", arg, why);
		return -1;
	}
	for (size_t i = 0; i < cfg->naccess_points; i++)
		if (iov_eq(cfg->access_points[i].alias, ap.alias)) {
			fprintf(stderr, "store: --access-point: alias '" IOV_FMT "' given twice\n",
			        IOV_ARG(ap.alias));
			return -1;
		}
	cfg->access_points[cfg->naccess_points++] = ap;
	return 0;
}

int cmd_store(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "region", required_argument, NULL, 'r' },
		{ "credentials", required_argument, NULL, 'c' },
		{ "domain", required_argument, NULL, 'D' },
		{ "public-read", required_argument, NULL, 'p' },
		{ "workers", required_argument, NULL, 'w' },
		{ "access-point", required_argument, NULL, 'a' },
		{ "mrap-domain", required_argument, NULL, 'm' },
		{ "replication", required_argument, NULL, 'R' },
		{ "admin", required_argument, NULL, 'A' },
		{ "admin-credentials", required_argument, NULL, 'C' },
		{ "tls-listen", required_argument, NULL, 'T' },
		{ "tls-cert", required_argument, NULL, 'E' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "access-log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct s3_server_config cfg = { 0 };
	const char *repl_file = NULL, *admin = NULL, *admin_creds = NULL;
	struct cmd_tls_args tls_args = { 0 };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'r':
			cfg.region = optarg;
			break;
		case 'c':
			cfg.credentials = optarg;
			break;
		case 'D':
			if (cfg.ndomains == S3_DOMAINS_MAX) {
				fprintf(stderr, "store: at most %d --domain\n", S3_DOMAINS_MAX);
				return CMD_USAGE;
			}
			cfg.domains[cfg.ndomains++] = optarg;
			break;
		case 'p':
			if (cfg.npublic == S3_PUBLIC_MAX) {
				fprintf(stderr, "store: at most %d --public-read\n", S3_PUBLIC_MAX);
				return CMD_USAGE;
			}
			cfg.public_read[cfg.npublic++] = optarg;
			break;
		case 'R':
			repl_file = optarg;
			break;
		case 'L':
			cfg.access_log = optarg;
			break;
		case 'T':
		case 'E':
		case 'K':
			if (cmd_tls_option(&tls_args, "store", c, optarg))
				return CMD_USAGE;
			break;
		case 'A':
			admin = optarg;
			break;
		case 'C':
			admin_creds = optarg;
			break;
		case 'a':
			if (add_access_point(&cfg, optarg))
				return CMD_USAGE;
			break;
		case 'm':
			if (cfg.nmrap_domains == S3_DOMAINS_MAX) {
				fprintf(stderr, "store: at most %d --mrap-domain\n",
				        S3_DOMAINS_MAX);
				return CMD_USAGE;
			}
			if (s3_domain_valid(iov_cstr(optarg))) {
				fprintf(stderr, "store: --mrap-domain '%s': not a domain name\n",
				        optarg);
				return CMD_USAGE;
			}
			cfg.mrap_domains[cfg.nmrap_domains++] = optarg;
			break;
		case 'w': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n == 0 || n > 256) {
				fprintf(stderr, "store: --workers wants 1 to 256\n");
				return CMD_USAGE;
			}
			cfg.workers = (unsigned)n;
			break;
		}
		case 'h':
			cmd_store_help(stdout);
			return CMD_OK;
		default:
			cmd_store_help(stderr);
			return CMD_USAGE;
		}
	}
	if (optind < argc || (!cfg.listen && !tls_args.listen) || !cfg.data_dir || !cfg.region ||
	    !cfg.credentials) {
		fputs("store: --listen (or --tls-listen), --data, --region and --credentials are "
		      "required\n",
		      stderr);
		cmd_store_help(stderr);
		return CMD_USAGE;
	}
	/* Disk work runs on libuv's pool: size it before the first loop. */
	if (!getenv("UV_THREADPOOL_SIZE"))
		setenv("UV_THREADPOOL_SIZE", "8", 1);
	cmd_serve_prepare(); /* connections and cached object files need descriptors */

	static struct repl_config repl;
	char err[REPL_CONFIG_ERR_LEN] = "";
	if (repl_file) {
		if (repl_config_load(repl_file, &repl, err, sizeof(err))) {
			fprintf(stderr, "store: %s\n", err);
			return CMD_USAGE;
		}
		cfg.repl = &repl;
	}
	struct net_tls_server *tls = NULL;
	int trc = cmd_tls_server(&tls_args, "store", &tls);
	if (trc) {
		repl_config_free(&repl);
		return trc;
	}
	cfg.tls_listen = tls_args.listen;
	cfg.tls = tls;
	struct net_loop *loop;
	struct s3_server *srv;
	if (net_loop_new(&loop)) {
		fputs("store: out of memory\n", stderr);
		net_tls_server_free(tls);
		return CMD_FAIL;
	}
	int rc = s3_server_start(&cfg, &srv, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "store: %s\n", err[0] ? err : err_text(rc));
		net_loop_free(loop);
		repl_config_free(&repl);
		net_tls_server_free(tls);
		return CMD_FAIL;
	}
	if (cfg.listen)
		fprintf(stderr, "store: region %s, data %s, listening on %s (port %d)\n",
		        cfg.region, cfg.data_dir, cfg.listen,
		        http_server_port(s3_server_http(srv)));
	if (tls)
		fprintf(stderr, "store: region %s, data %s, HTTPS on %s (port %d)\n", cfg.region,
		        cfg.data_dir, cfg.tls_listen, http_server_tls_port(s3_server_http(srv)));
	struct http_admin *adm = NULL;
	if (admin) {
		rc = s3_admin_start(srv, admin, admin_creds ? admin_creds : cfg.credentials, &adm,
		                    err, sizeof(err));
		if (rc) {
			fprintf(stderr, "store: admin: %s\n", err[0] ? err : err_text(rc));
			s3_server_stop(srv);
			net_loop_free(loop);
			repl_config_free(&repl);
			net_tls_server_free(tls);
			return CMD_FAIL;
		}
		fprintf(stderr, "store: admin on %s (port %d)\n", admin, http_admin_port(adm));
	}
	cmd_serve(loop, &store_serve, srv, s3_server_http(srv), adm, tls, NULL);
	http_admin_stop(adm);
	s3_server_stop(srv);
	net_loop_free(loop);
	repl_config_free(&repl);
	net_tls_server_free(tls);
	fputs("store: stopped\n", stderr);
	return CMD_OK;
}
