/*
 * The subcommand table's row type and the subcommands' entry points. Each
 * subcommand lives in its own file under cmd/; main.c holds the table.
 * Main thread only.
 */
#ifndef MERIDIAN_CMD_CMD_H
#define MERIDIAN_CMD_CMD_H

#include <stdio.h>

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

int cmd_sign(int argc, char **argv);
void cmd_sign_help(FILE *out);
int cmd_store(int argc, char **argv);
void cmd_store_help(FILE *out);
int cmd_verify(int argc, char **argv);
void cmd_verify_help(FILE *out);
int cmd_version(int argc, char **argv);
void cmd_version_help(FILE *out);
int cmd_wan(int argc, char **argv);
void cmd_wan_help(FILE *out);

/* True when argv holds -h or --help (before a "--"). */
int cmd_wants_help(int argc, char **argv);

#endif
