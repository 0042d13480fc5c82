/* meridian: the subcommand table and dispatch. Main thread. */
#include <string.h>

#include "cmd/cmd.h"

static const struct cmd commands[] = {
	{ "down", "stop the stack `up` started", cmd_down, cmd_down_help },
	{ "edge", "the caching CDN edge: behaviors, origin groups, SigV4A origin signing", cmd_edge,
	  cmd_edge_help },
	{ "region", "the failover drill: a region active or passive on every router", cmd_region,
	  cmd_region_help },
	{ "repl", "a store's replication: status, and resync a peer", cmd_repl, cmd_repl_help },
	{ "router", "route S3 requests to the nearest healthy region (access point)", cmd_router,
	  cmd_router_help },
	{ "sign", "sign a request with SigV4 or SigV4A and print what to send", cmd_sign,
	  cmd_sign_help },
	{ "status", "processes, routes and endpoints of the stack `up` started", cmd_status,
	  cmd_status_help },
	{ "store", "serve one region's S3 API from a data directory", cmd_store, cmd_store_help },
	{ "tls", "a local certificate authority: create it, issue certificates", cmd_tls,
	  cmd_tls_help },
	{ "up", "bring a whole stack up from one stack file (default: the demo)", cmd_up,
	  cmd_up_help },
	{ "verify", "check the signature of raw HTTP requests saved in files", cmd_verify,
	  cmd_verify_help },
	{ "version", "print the version", cmd_version, cmd_version_help },
	{ "wan", "relay TCP with an added delay: distance on one machine", cmd_wan, cmd_wan_help },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("usage: meridian <command> [options]\n"
	      "       meridian <command> --help\n\n"
	      "Meridian: a self-hosted, multi-region object delivery stack.\n\ncommands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CMD_OK;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--version") == 0) {
		if (argv[1][0] == '-')
			return cmd_version(1, argv + 1);
		for (size_t i = 0; argc > 2 && i < NCOMMANDS; i++) {
			if (strcmp(argv[2], commands[i].name) == 0) {
				commands[i].help(stdout);
				return CMD_OK;
			}
		}
		usage(argc > 2 ? stderr : stdout);
		return argc > 2 ? CMD_USAGE : CMD_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (cmd_wants_help(argc - 1, argv + 1)) {
			commands[i].help(stdout);
			return CMD_OK;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "meridian: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CMD_USAGE;
}
