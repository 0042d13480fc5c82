/* meridian tls: a local certificate authority and the certificates it
 * issues, for tests, benchmarks and hand-run stacks (crypto/cert.h).
 * Main thread. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "cmd/cmd.h"
#include "crypto/cert.h"

#define TLS_CA_DAYS_DEFAULT   3650
#define TLS_LEAF_DAYS_DEFAULT 365
#define TLS_DAYS_MAX          36500
#define TLS_BACKDATE_SECONDS  300 /* not-before default: peers' clocks differ a little */
#define TLS_DAY_SECONDS       86400

void cmd_tls_help(FILE *out)
{
	fputs("usage: meridian tls ca --out DIR [--name CN] [--days N] [--rsa] [--force]\n"
	      "       meridian tls issue --ca DIR --out PREFIX --name NAME [--name NAME...]\n"
	      "                          [--ip IP...] [--days N] [--not-before-days N]\n"
	      "                          [--rsa] [--chain]\n"
	      "\n"
	      "A local certificate authority for HTTPS between Meridian's roles.\n"
	      "\n"
	      "ca     writes DIR/ca.pem (the certificate clients trust) and DIR/ca-key.pem\n"
	      "       (mode 0600), creating DIR if needed. It refuses to replace an\n"
	      "       existing CA unless --force is given.\n"
	      "  --name CN            the CA's common name (default \"" CERT_CA_NAME_DEFAULT "\")\n"
	      "  --days N             valid for N days from now (default 3650)\n"
	      "\n"
	      "issue  writes PREFIX.pem and PREFIX-key.pem (mode 0600): a certificate for\n"
	      "       servers and clients signed by the CA in DIR.\n"
	      "  --name NAME          a DNS name (repeatable; the first is the common name)\n"
	      "  --ip IP              an IPv4 or IPv6 address (repeatable)\n"
	      "  --days N             valid until N days from now (default 365; may be\n"
	      "                       negative with a lower --not-before-days: an expired\n"
	      "                       certificate, for tests)\n"
	      "  --not-before-days N  valid from N days from now (default: 5 minutes ago)\n"
	      "  --chain              append the CA's certificate to PREFIX.pem\n"
	      "\n"
	      "  --rsa                an RSA 2048 key instead of ECDSA P-256\n"
	      "\n"
	      "Exit status 0, 1 when a file cannot be read or written, 2 for bad usage.\n",
	      out);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tls: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	cmd_tls_help(stderr);
	return CMD_USAGE;
}

/* A whole number of days in -TLS_DAYS_MAX..TLS_DAYS_MAX. */
static int parse_days(const char *opt, const char *text, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end == text || *end || errno || v < -TLS_DAYS_MAX || v > TLS_DAYS_MAX)
		return usage_error("--%s wants a whole number of days, -%d to %d", opt,
		                   TLS_DAYS_MAX, TLS_DAYS_MAX);
	*out = v;
	return 0;
}

/* DIR/NAME, or PREFIX + suffix, malloc'd; exits the process on no memory. */
static char *join(const char *a, const char *sep, const char *b)
{
	size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
	char *p = malloc(n);
	if (!p) {
		fputs("tls: out of memory\n", stderr);
		exit(CMD_FAIL);
	}
	snprintf(p, n, "%s%s%s", a, sep, b);
	return p;
}

static int tls_ca(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },  { "name", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' }, { "rsa", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },      { NULL, 0, NULL, 0 },
	};
	struct cert_ca_options o = { .name = NULL, .key_type = CERT_KEY_EC_P256 };
	const char *dir = NULL;
	long long days = TLS_CA_DAYS_DEFAULT;
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'd':
			if (parse_days("days", optarg, &days))
				return CMD_USAGE;
			break;
		case 'r':
			o.key_type = CERT_KEY_RSA_2048;
			break;
		case 'f':
			force = true;
			break;
		default:
			cmd_tls_help(stderr);
			return CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!dir)
		return usage_error("ca: --out DIR is required");
	if (days <= 0)
		return usage_error("ca: --days must be positive");
	o.not_before = -TLS_BACKDATE_SECONDS;
	o.not_after = days * TLS_DAY_SECONDS;

	char *cert_file = join(dir, "/", "ca.pem"), *key_file = join(dir, "/", "ca-key.pem");
	char err[CERT_ERR_LEN] = "";
	struct cert_ca *ca = NULL;
	int rc = CMD_FAIL;
	if (!force && (access(cert_file, F_OK) == 0 || access(key_file, F_OK) == 0)) {
		fprintf(stderr, "tls: %s already holds a CA; --force replaces it\n", dir);
		goto out;
	}
	if (file_mkdir_p(dir, 0755) != 0) {
		fprintf(stderr, "tls: %s: cannot create: %s\n", dir, strerror(errno));
		goto out;
	}
	int e = cert_ca_new(&o, &ca, err, sizeof err);
	if (e) {
		fprintf(stderr, "tls: %s\n", err[0] ? err : err_text(e));
		rc = e == ERR_INVALID ? CMD_USAGE : CMD_FAIL;
		goto out;
	}
	if (cert_ca_write(ca, cert_file, key_file, err, sizeof err)) {
		fprintf(stderr, "tls: %s\n", err);
		goto out;
	}
	printf("wrote %s and %s\n", cert_file, key_file);
	rc = CMD_OK;
out:
	cert_ca_free(ca);
	free(cert_file);
	free(key_file);
	return rc;
}

static int tls_issue(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "ip", required_argument, NULL, 'i' },
		{ "days", required_argument, NULL, 'd' },
		{ "not-before-days", required_argument, NULL, 'b' },
		{ "rsa", no_argument, NULL, 'r' },
		{ "chain", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dns[CERT_NAMES_MAX], *ips[CERT_NAMES_MAX];
	struct cert_leaf_options o = { .dns = dns, .ips = ips, .key_type = CERT_KEY_EC_P256 };
	const char *ca_dir = NULL, *prefix = NULL;
	long long days = TLS_LEAF_DAYS_DEFAULT, nb_days = 0;
	bool have_nb = false, chain = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca_dir = optarg;
			break;
		case 'o':
			prefix = optarg;
			break;
		case 'n':
		case 'i':
			if (o.ndns + o.nips == CERT_NAMES_MAX)
				return usage_error("issue: at most %d names and addresses",
				                   CERT_NAMES_MAX);
			if (c == 'n')
				dns[o.ndns++] = optarg;
			else
				ips[o.nips++] = optarg;
			break;
		case 'd':
			if (parse_days("days", optarg, &days))
				return CMD_USAGE;
			break;
		case 'b':
			if (parse_days("not-before-days", optarg, &nb_days))
				return CMD_USAGE;
			have_nb = true;
			break;
		case 'r':
			o.key_type = CERT_KEY_RSA_2048;
			break;
		case 'C':
			chain = true;
			break;
		default:
			cmd_tls_help(stderr);
			return CMD_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!ca_dir || !prefix || o.ndns == 0)
		return usage_error("issue: --ca DIR, --out PREFIX and --name NAME are required");
	o.not_before = have_nb ? nb_days * TLS_DAY_SECONDS : -TLS_BACKDATE_SECONDS;
	o.not_after = days * TLS_DAY_SECONDS;
	if (o.not_after <= o.not_before)
		return usage_error("issue: --days must be later than --not-before-days");

	char *ca_cert = join(ca_dir, "/", "ca.pem"), *ca_key = join(ca_dir, "/", "ca-key.pem");
	char *cert_file = join(prefix, "", ".pem"), *key_file = join(prefix, "", "-key.pem");
	char err[CERT_ERR_LEN] = "";
	struct cert_ca *ca = NULL;
	struct cert_leaf *leaf = NULL;
	int rc = CMD_FAIL, e;
	if (cert_ca_load(ca_cert, ca_key, &ca, err, sizeof err)) {
		fprintf(stderr, "tls: %s\n", err);
		goto out;
	}
	if ((e = cert_leaf_issue(ca, &o, &leaf, err, sizeof err)) != 0) {
		fprintf(stderr, "tls: %s\n", err[0] ? err : err_text(e));
		rc = e == ERR_INVALID ? CMD_USAGE : CMD_FAIL;
		goto out;
	}
	if (cert_leaf_write(leaf, chain ? ca : NULL, cert_file, key_file, err, sizeof err)) {
		fprintf(stderr, "tls: %s\n", err);
		goto out;
	}
	printf("wrote %s and %s\n", cert_file, key_file);
	rc = CMD_OK;
out:
	cert_leaf_free(leaf);
	cert_ca_free(ca);
	free(ca_cert);
	free(ca_key);
	free(cert_file);
	free(key_file);
	return rc;
}

int cmd_tls(int argc, char **argv)
{
	if (argc < 2) {
		fputs("tls: which: ca or issue?\n\n", stderr);
		cmd_tls_help(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "ca") == 0)
		return tls_ca(argc - 1, argv + 1);
	if (strcmp(argv[1], "issue") == 0)
		return tls_issue(argc - 1, argv + 1);
	return usage_error("unknown subcommand '%s' (ca or issue)", argv[1]);
}
