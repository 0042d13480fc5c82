/*
 * meridian repl status|resync: a store's replication through its admin
 * listener (meridian store --admin), requests signed with SigV4 by libcurl.
 * Main thread.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auth/users.h"
#include "base/buf.h"
#include "base/err.h"
#include "cmd/cmd.h"

void cmd_repl_help(FILE *out)
{
	fputs("usage: meridian repl status --admin URL --credentials FILE\n"
	      "       meridian repl resync [BUCKET] --to PEER --admin URL --credentials FILE\n"
	      "\n"
	      "A store's replication, through its admin listener (meridian store --admin):\n"
	      "  status   peers (reachable, sent, failed, outages, worst lag) and the resync\n"
	      "           state, as JSON; pending operations per rule are on GET URL/metrics\n"
	      "  resync   list BUCKET (every bucket with rules toward PEER when omitted) on\n"
	      "           both sides and send the peer every version it lacks; it runs in\n"
	      "           the store, `status` shows its progress and result\n"
	      "\n"
	      "  --admin URL          the store's admin listener, e.g. http://127.0.0.1:9100\n"
	      "  --credentials FILE   a users file (`ACCESS_KEY_ID SECRET [name]` lines); its\n"
	      "                       first key signs the requests\n"
	      "  --to PEER            the peer's name in the store's replication file\n",
	      out);
}

static size_t keep(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) ? 0 : size * n;
}

/* A signed call; prints the answer. CMD_OK when it is 2xx. */
static int call(const char *method, const char *url, const char *creds_file)
{
	struct auth_users *users;
	char err[512];
	if (auth_users_open(creds_file, &users, err, sizeof(err))) {
		fprintf(stderr, "repl: %s\n", err);
		return CMD_USAGE;
	}
	struct auth_userdb *db = auth_users_acquire(users);
	const struct auth_user *u = auth_userdb_at(db, 0);
	int rc = CMD_FAIL;
	CURL *h = u ? curl_easy_init() : NULL;
	struct buf body, userpwd;
	buf_init(&body, 8u << 20);
	buf_init(&userpwd, 1024);
	if (!u)
		fprintf(stderr, "repl: %s holds no key\n", creds_file);
	if (h && buf_printf(&userpwd, IOV_FMT ":" IOV_FMT, IOV_ARG(u->access_key),
	                    IOV_ARG(u->secret)) == 0) {
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (strcmp(method, "POST") == 0)
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
		curl_easy_setopt(h, CURLOPT_USERPWD, buf_cstr(&userpwd));
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
		CURLcode cr = curl_easy_perform(h);
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (cr != CURLE_OK) {
			fprintf(stderr, "repl: %s: %s\n", url, curl_easy_strerror(cr));
		} else {
			fwrite(buf_iov(&body).base, 1, buf_iov(&body).len,
			       status / 100 == 2 ? stdout : stderr);
			rc = status / 100 == 2 ? CMD_OK : CMD_FAIL;
		}
	}
	if (h)
		curl_easy_cleanup(h);
	buf_free(&body);
	buf_free(&userpwd);
	auth_userdb_release(db);
	auth_users_free(users);
	return rc;
}

int cmd_repl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "admin", required_argument, NULL, 'a' },
		{ "credentials", required_argument, NULL, 'c' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *admin = NULL, *creds = NULL, *to = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			admin = optarg;
			break;
		case 'c':
			creds = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'h':
			cmd_repl_help(stdout);
			return CMD_OK;
		default:
			cmd_repl_help(stderr);
			return CMD_USAGE;
		}
	}
	const char *what = optind < argc ? argv[optind] : NULL;
	const char *bucket = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (!what || !admin || !creds || optind + (bucket ? 2 : 1) != argc ||
	    (strcmp(what, "status") != 0 && strcmp(what, "resync") != 0) ||
	    (strcmp(what, "resync") == 0) != (to != NULL) ||
	    (bucket && strcmp(what, "resync") != 0)) {
		cmd_repl_help(stderr);
		return CMD_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *esc = curl_easy_init();
	char url[2048];
	int rc = CMD_FAIL;
	if (strcmp(what, "status") == 0) {
		snprintf(url, sizeof(url), "%s/repl/status", admin);
		rc = call("GET", url, creds);
	} else if (esc) {
		char *p = curl_easy_escape(esc, to, 0);
		char *b = curl_easy_escape(esc, bucket ? bucket : "", 0);
		if (p && b) {
			snprintf(url, sizeof(url), "%s/repl/resync?bucket=%s&peer=%s", admin, b, p);
			rc = call("POST", url, creds);
		}
		curl_free(p);
		curl_free(b);
	}
	if (esc)
		curl_easy_cleanup(esc);
	curl_global_cleanup();
	return rc;
}
