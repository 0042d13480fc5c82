/* meridian version. Main thread. */
#include <openssl/opensslv.h>

#include "cmd/cmd.h"

void cmd_version_help(FILE *out)
{
	fputs("usage: meridian version\n\nPrints the Meridian version, the git commit it was "
	      "built from, and the OpenSSL it was built against.\n",
	      out);
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		cmd_version_help(stderr);
		return CMD_USAGE;
	}
	printf("meridian %s (%s) %s\n", MERIDIAN_VERSION, MERIDIAN_GIT, OPENSSL_VERSION_TEXT);
	return CMD_OK;
}
