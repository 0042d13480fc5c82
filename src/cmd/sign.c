/* meridian sign: option parsing; the work is in cli/sign.c. Main thread. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cli/sign.h"
#include "cmd/cmd.h"

void cmd_sign_help(FILE *out)
{
	fputs("usage: meridian sign [--sigv4 | --sigv4a] [--region R | --region-set S]\n"
	      "         [--service s3] [--access-key K --secret-key S [--session-token T]]\n"
	      "         [--date YYYYMMDDTHHMMSSZ] [-H 'Name: value']...\n"
	      "         [--body FILE | --unsigned-payload] [--presign SECONDS] [--curl]\n"
	      "         METHOD URL\n\n"
	      "Signs one request and prints the headers to add, one 'Name: value' per line.\n"
	      "With --presign, prints the presigned URL instead; with --curl, a ready curl\n"
	      "command line.\n\n"
	      "  --sigv4              AWS Signature Version 4 (HMAC-SHA256; the default)\n"
	      "  --sigv4a             SigV4A (ECDSA P-256), as multi-region access points need\n"
	      "  --region R           SigV4 region (default: $AWS_REGION, else us-east-1)\n"
	      "  --region-set S       SigV4A region set, e.g. '*' or 'us-east-1,eu-*'\n"
	      "                       (default '*')\n"
	      "  --service NAME       service in the scope (default s3; other services use\n"
	      "                       the generic AWS canonical URI rules)\n"
	      "  --access-key K       default $AWS_ACCESS_KEY_ID\n"
	      "  --secret-key S       default $AWS_SECRET_ACCESS_KEY\n"
	      "  --session-token T    default $AWS_SESSION_TOKEN\n"
	      "  --date D             sign as of D instead of now\n"
	      "  -H 'Name: value'     an extra header to sign and send (repeatable)\n"
	      "  --body FILE          sign the SHA-256 of FILE as the payload\n"
	      "  --unsigned-payload   sign UNSIGNED-PAYLOAD instead of a body hash\n"
	      "  --presign SECONDS    a presigned URL valid for 1..604800 seconds\n"
	      "  --curl               print a curl command line\n\n"
	      "The URL's path is signed exactly as it will be sent (S3 rules); bytes a URL\n"
	      "cannot carry raw are percent-encoded first.\n",
	      out);
}

int cmd_sign(int argc, char **argv)
{
	enum {
		O_V4 = 256,
		O_V4A,
		O_REGION,
		O_RSET,
		O_SERVICE,
		O_AK,
		O_SK,
		O_TOKEN,
		O_DATE,
		O_BODY,
		O_UNSIGNED,
		O_PRESIGN,
		O_CURL
	};
	static const struct option longopts[] = {
		{ "sigv4", no_argument, NULL, O_V4 },
		{ "sigv4a", no_argument, NULL, O_V4A },
		{ "region", required_argument, NULL, O_REGION },
		{ "region-set", required_argument, NULL, O_RSET },
		{ "service", required_argument, NULL, O_SERVICE },
		{ "access-key", required_argument, NULL, O_AK },
		{ "secret-key", required_argument, NULL, O_SK },
		{ "session-token", required_argument, NULL, O_TOKEN },
		{ "date", required_argument, NULL, O_DATE },
		{ "header", required_argument, NULL, 'H' },
		{ "body", required_argument, NULL, O_BODY },
		{ "unsigned-payload", no_argument, NULL, O_UNSIGNED },
		{ "presign", required_argument, NULL, O_PRESIGN },
		{ "curl", no_argument, NULL, O_CURL },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_sign s = {
		.alg = AUTH_SIGV4,
		.service = "s3",
		.access_key = getenv("AWS_ACCESS_KEY_ID"),
		.secret_key = getenv("AWS_SECRET_ACCESS_KEY"),
		.session_token = getenv("AWS_SESSION_TOKEN"),
	};
	const char *region = NULL, *region_set = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "H:", longopts, NULL)) != -1) {
		switch (c) {
		case O_V4:
			s.alg = AUTH_SIGV4;
			break;
		case O_V4A:
			s.alg = AUTH_SIGV4A;
			break;
		case O_REGION:
			region = optarg;
			break;
		case O_RSET:
			region_set = optarg;
			break;
		case O_SERVICE:
			s.service = optarg;
			break;
		case O_AK:
			s.access_key = optarg;
			break;
		case O_SK:
			s.secret_key = optarg;
			break;
		case O_TOKEN:
			s.session_token = optarg;
			break;
		case O_DATE:
			s.date = optarg;
			break;
		case 'H':
			if (s.nheaders == CLI_SIGN_MAX_HEADERS) {
				fprintf(stderr, "meridian sign: at most %d -H options\n",
				        CLI_SIGN_MAX_HEADERS);
				return CMD_USAGE;
			}
			s.headers[s.nheaders++] = optarg;
			break;
		case O_BODY:
			s.body_file = optarg;
			break;
		case O_UNSIGNED:
			s.unsigned_payload = 1;
			break;
		case O_PRESIGN: {
			unsigned long long v;
			if (iov_to_u64(iov_cstr(optarg), 604800, &v) || v == 0) {
				fprintf(stderr,
				        "meridian sign: --presign takes 1..604800 seconds\n");
				return CMD_USAGE;
			}
			s.presign = (unsigned)v;
			break;
		}
		case O_CURL:
			s.curl = 1;
			break;
		default:
			cmd_sign_help(stderr);
			return CMD_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "meridian sign: need METHOD and URL (see --help)\n");
		return CMD_USAGE;
	}
	if (s.body_file && s.unsigned_payload) {
		fprintf(stderr,
		        "meridian sign: --body and --unsigned-payload exclude each other\n");
		return CMD_USAGE;
	}
	if (s.alg == AUTH_SIGV4 && region_set) {
		fprintf(stderr, "meridian sign: --region-set needs --sigv4a\n");
		return CMD_USAGE;
	}
	if (s.alg == AUTH_SIGV4A && region) {
		fprintf(stderr, "meridian sign: SigV4A signs a region set: use --region-set\n");
		return CMD_USAGE;
	}
	if (s.alg == AUTH_SIGV4A) {
		s.region = region_set ? region_set : "*";
	} else {
		s.region = region ? region : getenv("AWS_REGION");
		if (!s.region || !*s.region)
			s.region = getenv("AWS_DEFAULT_REGION");
		if (!s.region || !*s.region)
			s.region = "us-east-1";
	}
	if (s.session_token && !*s.session_token)
		s.session_token = NULL;
	s.method = argv[optind];
	s.url = argv[optind + 1];
	int rc = cli_sign_run(&s, stdout, stderr);
	return rc == 0 ? CMD_OK : rc == ERR_USAGE ? CMD_USAGE : CMD_FAIL;
}
