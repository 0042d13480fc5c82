/* meridian up, down, status, region: a whole stack on this machine from one
 * stack file (deploy/up.h). Main thread. */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "deploy/up.h"

void cmd_up_help(FILE *out)
{
	fputs("usage: meridian up [FILE] [--state DIR] [--base-port P] [--param NAME=VALUE]...\n"
	      "                  [-d]\n"
	      "\n"
	      "Brings up the stack in FILE (docs/stack-file.md; default: the built-in demo,\n"
	      "docs/examples/default-stack.yaml): validates it (every error as\n"
	      "file:line:col: message, exit 2), plans ports from P (default 18000, skipping\n"
	      "ports in use), writes keys and configs into DIR (default ./.meridian), starts\n"
	      "stores, wan relays, a router per access point and an edge per distribution\n"
	      "at each edge location (each logging to DIR/logs/NAME.log),\n"
	      "waits until each is healthy, creates buckets and seeds objects, writes\n"
	      "DIR/endpoints.json and prints the endpoints and the commands to try.\n"
	      "\n"
	      "In the foreground it supervises: a crashed process is restarted with backoff;\n"
	      "Ctrl-C (or SIGTERM) stops every process and exits 0. A second `up` on the\n"
	      "same DIR keeps the data.\n"
	      "\n"
	      "  --state DIR      the state directory (default ./.meridian)\n"
	      "  --base-port P    the first port to try (default 18000)\n"
	      "  --param NAME=VALUE\n"
	      "                   a value for one of the stack's Parameters (repeatable)\n"
	      "  -d, --detach     supervise in the background once ready (DIR/up.pid)\n"
	      "  --no-tls         plain HTTP everywhere: no CA, no certificates (by default\n"
	      "                   the stack's CA in DIR/tls signs a certificate for every\n"
	      "                   store, router and edge, which also listen with HTTPS)\n",
	      out);
}

void cmd_down_help(FILE *out)
{
	fputs("usage: meridian down [--state DIR]\n"
	      "\n"
	      "Stops the stack started by `meridian up` from DIR (default ./.meridian):\n"
	      "signals its supervisor and waits until every process is gone.\n",
	      out);
}

void cmd_status_help(FILE *out)
{
	fputs("usage: meridian status [--state DIR]\n"
	      "\n"
	      "Shows the stack started from DIR (default ./.meridian): each process and\n"
	      "whether it runs, per location and access point the router's routes (dial,\n"
	      "health, latency) from its control API and the region it would choose now\n"
	      "(its own answer, from its /metrics), each edge's cache hit ratio, and\n"
	      "where endpoints.json is.\n",
	      out);
}

void cmd_region_help(FILE *out)
{
	fputs("usage: meridian region active|passive REGION [--state DIR]\n"
	      "\n"
	      "The failover drill: sets REGION's traffic dial (active 100, passive 0) on\n"
	      "every router of every access point with REGION in the stack in DIR (default\n"
	      "./.meridian) through its control API, signed with the stack's admin key.\n"
	      "Takes effect at once.\n",
	      out);
}

static int exit_code(int rc)
{
	if (rc == 0)
		return CMD_OK;
	if (rc == ERR_CONFIG_SCHEMA || rc == ERR_CONFIG_YAML || rc == ERR_USAGE)
		return CMD_USAGE;
	return CMD_FAIL;
}

static struct deploy_stack_override params[DEPLOY_STACK_PARAMS_MAX];

/* --state DIR (and for up the rest); positional arguments into pos[]. */
static int parse(int argc, char **argv, const char *name, void (*help)(FILE *out), bool is_up,
                 struct deploy_up_opts *o, char **pos, int maxpos, int *npos)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "base-port", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "param", required_argument, NULL, 'P' },
		{ "no-tls", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, is_up ? "dh" : "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->state = optarg;
			break;
		case 'p':
			if (is_up) {
				char *end;
				unsigned long v = strtoul(optarg, &end, 10);
				if (optarg[0] < '0' || optarg[0] > '9' || *end || v < 1024 ||
				    v > 65000) {
					fprintf(stderr, "%s: --base-port wants 1024 to 65000\n",
					        name);
					return CMD_USAGE;
				}
				o->base_port = (uint16_t)v;
				break;
			}
			goto bad;
		case 'P': {
			char *eq = strchr(optarg, '=');
			if (!is_up)
				goto bad;
			if (!eq || eq == optarg || o->nparams == DEPLOY_STACK_PARAMS_MAX) {
				fprintf(stderr, "%s: --param wants NAME=VALUE (at most %d)\n", name,
				        DEPLOY_STACK_PARAMS_MAX);
				return CMD_USAGE;
			}
			*eq = '\0'; /* NAME ends at '=' (argv is ours to edit) */
			params[o->nparams].name = optarg;
			params[o->nparams].value = eq + 1;
			o->nparams++;
			o->params = params;
			break;
		}
		case 'd':
			if (is_up) {
				o->detach = true;
				break;
			}
			goto bad;
		case 'N':
			if (is_up) {
				o->no_tls = true;
				break;
			}
			goto bad;
		case 'h':
			help(stdout);
			return CMD_OK;
		default:
			goto bad;
		}
	}
	*npos = 0;
	for (int i = optind; i < argc; i++) {
		if (*npos == maxpos) {
			fprintf(stderr, "%s: unexpected argument '%s'\n\n", name, argv[i]);
			help(stderr);
			return CMD_USAGE;
		}
		pos[(*npos)++] = argv[i];
	}
	return -1;
bad:
	fprintf(stderr, "%s: bad option '%s'\n\n", name, argv[optind - 1]);
	help(stderr);
	return CMD_USAGE;
}

int cmd_up(int argc, char **argv)
{
	struct deploy_up_opts o = { 0 };
	char *pos[1];
	int npos = 0;
	int rc = parse(argc, argv, "up", cmd_up_help, true, &o, pos, 1, &npos);
	if (rc >= 0)
		return rc;
	o.file = npos ? pos[0] : NULL;
	return exit_code(deploy_up(&o, stdout, stderr));
}

int cmd_down(int argc, char **argv)
{
	struct deploy_up_opts o = { 0 };
	char *pos[1];
	int npos = 0;
	int rc = parse(argc, argv, "down", cmd_down_help, false, &o, pos, 0, &npos);
	if (rc >= 0)
		return rc;
	return exit_code(deploy_down(o.state, stdout, stderr));
}

int cmd_status(int argc, char **argv)
{
	struct deploy_up_opts o = { 0 };
	char *pos[1];
	int npos = 0;
	int rc = parse(argc, argv, "status", cmd_status_help, false, &o, pos, 0, &npos);
	if (rc >= 0)
		return rc;
	return exit_code(deploy_status(o.state, stdout, stderr));
}

int cmd_region(int argc, char **argv)
{
	struct deploy_up_opts o = { 0 };
	char *pos[2];
	int npos = 0;
	int rc = parse(argc, argv, "region", cmd_region_help, false, &o, pos, 2, &npos);
	if (rc >= 0)
		return rc;
	if (npos != 2 || (strcmp(pos[0], "active") != 0 && strcmp(pos[0], "passive") != 0)) {
		fprintf(stderr, "region: want active|passive REGION\n\n");
		cmd_region_help(stderr);
		return CMD_USAGE;
	}
	return exit_code(
	    deploy_region(o.state, pos[1], strcmp(pos[0], "active") == 0, stdout, stderr));
}
