/* meridian verify: option parsing; the work is in cli/verify.c. Main thread. */
#include <getopt.h>
#include <stdlib.h>

#include "base/err.h"
#include "cli/verify.h"
#include "cmd/cmd.h"

void cmd_verify_help(FILE *out)
{
	fputs("usage: meridian verify [--region R] [--service s3] [--generic]\n"
	      "         [--access-key K --secret-key S [--session-token T]]\n"
	      "         [--now YYYYMMDDTHHMMSSZ] [--verbose] FILE...\n\n"
	      "Verifies the SigV4 or SigV4A signature of raw HTTP/1.1 requests saved in files\n"
	      "(request line, headers, empty line, body), as a Meridian store would: the\n"
	      "signature, the clock-skew window or presign expiry, the SigV4A region set\n"
	      "against --region, the body against x-amz-content-sha256, and every chunk\n"
	      "signature of an aws-chunked body. Prints one line per file:\n"
	      "  FILE: OK <algorithm> <header|presigned> payload=<mode> bytes=<n>\n"
	      "  FILE: ERROR <S3 error code> (<reason>): <message>\n"
	      "Exits 0 when every file verified, 1 otherwise.\n\n"
	      "  --region R        this server's region (default: $AWS_REGION, else us-east-1)\n"
	      "  --service NAME    expected service in the scope (default s3)\n"
	      "  --generic         the generic AWS canonical rules instead of S3's\n"
	      "  --access-key K    default $AWS_ACCESS_KEY_ID\n"
	      "  --secret-key S    default $AWS_SECRET_ACCESS_KEY\n"
	      "  --session-token T the token this key requires (default $AWS_SESSION_TOKEN)\n"
	      "  --now D           verify as of D instead of now\n"
	      "  --verbose         on a mismatch, print the canonical request and\n"
	      "                    string-to-sign the server computed\n",
	      out);
}

int cmd_verify(int argc, char **argv)
{
	enum { O_REGION = 256, O_SERVICE, O_GENERIC, O_AK, O_SK, O_TOKEN, O_NOW, O_VERBOSE };
	static const struct option longopts[] = {
		{ "region", required_argument, NULL, O_REGION },
		{ "service", required_argument, NULL, O_SERVICE },
		{ "generic", no_argument, NULL, O_GENERIC },
		{ "access-key", required_argument, NULL, O_AK },
		{ "secret-key", required_argument, NULL, O_SK },
		{ "session-token", required_argument, NULL, O_TOKEN },
		{ "now", required_argument, NULL, O_NOW },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_verify v = {
		.service = "s3",
		.access_key = getenv("AWS_ACCESS_KEY_ID"),
		.secret_key = getenv("AWS_SECRET_ACCESS_KEY"),
		.session_token = getenv("AWS_SESSION_TOKEN"),
		.region = getenv("AWS_REGION"),
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_REGION:
			v.region = optarg;
			break;
		case O_SERVICE:
			v.service = optarg;
			break;
		case O_GENERIC:
			v.generic = 1;
			break;
		case O_AK:
			v.access_key = optarg;
			break;
		case O_SK:
			v.secret_key = optarg;
			break;
		case O_TOKEN:
			v.session_token = optarg;
			break;
		case O_NOW:
			v.now = optarg;
			break;
		case O_VERBOSE:
			v.verbose = 1;
			break;
		default:
			cmd_verify_help(stderr);
			return CMD_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "meridian verify: no request files (see --help)\n");
		return CMD_USAGE;
	}
	if (!v.region || !*v.region)
		v.region = "us-east-1";
	v.files = argv + optind;
	v.nfiles = argc - optind;
	int rc = cli_verify_run(&v, stdout, stderr);
	return rc == 0 ? CMD_OK : rc == ERR_USAGE ? CMD_USAGE : CMD_FAIL;
}
