/*
 * deploy/up's replication (up-plan.h, docs/up.md "Replication"): the stack's
 * bucket ReplicationRules brought to life. Each store whose buckets have
 * rules gets a peers file (repl/config.h) naming every store a rule's
 * destination lives in, itself included for a rule between two of its own
 * buckets, with a keys file per peer (0600) and the endpoint it is reached
 * at from the store's location (the wan relay of the latency matrix's link
 * when there is one, so replication feels the distance); each bucket then
 * gets its rules as a signed PutBucketReplication naming the destination's
 * region in the ARN. The documents are built by pure functions (unit
 * tested by parsing them back with the store's own parsers). Main thread
 * of the CLI process only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "deploy/up-plan.h"
#include "repl/config.h"

#define REPL_DOC_MAX      (1u << 20) /* bytes of a rules document or peers file */
#define REPL_HTTP_TIMEOUT 10000
/* The agents' retry cap: a peer restarted by the supervisor (or reached
 * through a relay that starts after the stores) is retried within this. */
#define REPL_BACKOFF_MAX "5s"
#define REPL_ROLE        "arn:aws:iam::000000000000:role/meridian-up"

bool deploy__repl_to(const struct deploy_stack *st, uint32_t s, uint32_t t)
{
	for (uint32_t b = 0; b < st->nbuckets; b++) {
		const struct deploy_stack_bucket *bk = &st->bucket[b];
		for (uint32_t i = 0; bk->store == s && i < bk->nrules; i++)
			if (st->bucket[bk->rule[i].destination].store == t)
				return true;
	}
	return false;
}

bool deploy__repl_from(const struct deploy_stack *st, uint32_t l, uint32_t t)
{
	for (uint32_t s = 0; s < st->nstores; s++)
		if (st->store[s].location == l && deploy__repl_to(st, s, t))
			return true;
	return false;
}

void deploy__repl_peer_name(const char *region, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *c = region; *c && n + 1 < cap && n < REPL_NAME_MAX; c++) {
		char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
		out[n++] = ok ? ch : '-';
	}
	out[n] = '\0';
}

/* Text of an XML element: & < > escaped. */
static int xml_text(struct buf *b, const char *s)
{
	int rc = 0;
	for (; rc == 0 && *s; s++) {
		if (*s == '&')
			rc = buf_add_str(b, "&amp;");
		else if (*s == '<')
			rc = buf_add_str(b, "&lt;");
		else if (*s == '>')
			rc = buf_add_str(b, "&gt;");
		else
			rc = buf_add_char(b, *s);
	}
	return rc;
}

int deploy__repl_xml(const struct deploy_stack *st, uint32_t bi, struct buf *out)
{
	const struct deploy_stack_bucket *bk = &st->bucket[bi];
	int rc = buf_add_str(out, "<ReplicationConfiguration "
	                          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	                          "<Role>" REPL_ROLE "</Role>");
	for (uint32_t i = 0; rc == 0 && i < bk->nrules; i++) {
		const struct deploy_stack_rule *r = &bk->rule[i];
		const struct deploy_stack_bucket *d = &st->bucket[r->destination];
		rc = buf_printf(out,
		                "<Rule><ID>rule-%u-to-%s</ID><Priority>%u</Priority>"
		                "<Status>%s</Status><Filter><Prefix>",
		                i + 1, d->name, i + 1, r->enabled ? "Enabled" : "Disabled");
		rc = rc ? rc : xml_text(out, r->prefix);
		rc =
		    rc ? rc
		       : buf_printf(out,
		                    "</Prefix></Filter><DeleteMarkerReplication><Status>%s</Status>"
		                    "</DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:",
		                    r->delete_markers ? "Enabled" : "Disabled");
		rc = rc ? rc : xml_text(out, st->store[d->store].region);
		rc = rc ? rc : buf_printf(out, "::%s</Bucket></Destination></Rule>", d->name);
	}
	return rc ? rc : buf_add_str(out, "</ReplicationConfiguration>");
}

int deploy__repl_peers_yaml(const struct deploy_stack *st, uint32_t s, const uint16_t *port,
                            const char *ca_file, struct buf *out)
{
	int rc = buf_printf(out,
	                    "# Written by `meridian up` from the stack's ReplicationRules: the\n"
	                    "# stores %s's buckets replicate to (docs/up.md). Rewritten on\n"
	                    "# every `up`.\npeers:\n",
	                    st->store[s].region);
	for (uint32_t t = 0; rc == 0 && t < st->nstores; t++) {
		if (!deploy__repl_to(st, s, t))
			continue;
		char name[REPL_NAME_MAX + 1], keys[REPL_NAME_MAX + 8];
		deploy__repl_peer_name(st->store[t].region, name, sizeof(name));
		snprintf(keys, sizeof(keys), "%s.keys", name);
		rc = buf_add_str(out, "  - name: ");
		rc = rc ? rc : deploy__yaml_quote(out, name);
		rc = rc ? rc : buf_add_str(out, "\n    region: ");
		rc = rc ? rc : deploy__yaml_quote(out, st->store[t].region);
		rc =
		    rc ? rc
		       : buf_printf(out, "\n    endpoint: \"%s://127.0.0.1:%u\"\n    credentials: ",
		                    ca_file ? "https" : "http", port[t]);
		rc = rc ? rc : deploy__yaml_quote(out, keys);
		if (rc == 0 && ca_file)
			rc = buf_printf(out, "\n    server_name: s3.%s.meridian.test",
			                st->store[t].region);
		rc = rc ? rc : buf_add_str(out, "\n    backoff_max: " REPL_BACKOFF_MAX "\n");
	}
	if (rc == 0 && ca_file) {
		rc = buf_add_str(out, "ca_file: ");
		rc = rc ? rc : deploy__yaml_quote(out, ca_file);
		rc = rc ? rc : buf_add_char(out, '\n');
	}
	return rc;
}

/* Where store s's agent reaches store t: itself directly, another store
 * through the relay from s's location when the latency matrix has one. */
static uint16_t peer_port(const struct deploy_up *u, uint32_t s, uint32_t t)
{
	if (s == t)
		return deploy__store_data_port(u, t);
	uint16_t w = u->wan_port[(size_t)u->st->store[s].location * u->st->nstores + t];
	return w ? w : deploy__store_data_port(u, t);
}

/* Remove what an earlier `up` wrote in dir (peers.yaml, *.keys), so a peer
 * the stack no longer names leaves no key behind. */
static void clear_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		bool ours = strcmp(e->d_name, "peers.yaml") == 0 ||
		            (n > 5 && strcmp(e->d_name + n - 5, ".keys") == 0);
		if (ours)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* STATE/replication/REGION[/file] into out[DEPLOY_UP_PATH_MAX]. 0 or
 * ERR_TOO_BIG after a message. */
static int repl_path(const struct deploy_up *u, const char *region, const char *file, char *out)
{
	int n = snprintf(out, DEPLOY_UP_PATH_MAX, "%s/replication/%s%s%s", u->state, region,
	                 file ? "/" : "", file ? file : "");
	if (n > 0 && n < DEPLOY_UP_PATH_MAX)
		return 0;
	fprintf(u->err, "up: the path of %s's replication %s is too long\n", region,
	        file ? file : "directory");
	return ERR_TOO_BIG;
}

static int write_keys(struct deploy_up *u, uint32_t s)
{
	const struct deploy_stack *st = u->st;
	for (uint32_t t = 0; t < st->nstores; t++) {
		if (!deploy__repl_to(st, s, t))
			continue;
		char name[REPL_NAME_MAX + 1], file[REPL_NAME_MAX + 8], path[DEPLOY_UP_PATH_MAX];
		char line[2 * DEPLOY_UP_KEY_MAX + 4];
		deploy__repl_peer_name(st->store[t].region, name, sizeof(name));
		snprintf(file, sizeof(file), "%s.keys", name);
		int rc = repl_path(u, st->store[s].region, file, path);
		if (rc)
			return rc;
		const char *key, *secret;
		deploy__store_keys(u, t, &key, &secret);
		int n = snprintf(line, sizeof(line), "%s %s\n", key, secret);
		rc = deploy__write_file(path, line, (size_t)n, 0600);
		explicit_bzero(line, sizeof(line));
		if (rc) {
			fprintf(u->err, "up: cannot write %s: %s\n", path, strerror(errno));
			return rc;
		}
	}
	return 0;
}

int deploy__repl_write(struct deploy_up *u, uint32_t s, char *path)
{
	const struct deploy_stack *st = u->st;
	char dir[DEPLOY_UP_PATH_MAX];
	path[0] = '\0';
	int rc = repl_path(u, st->store[s].region, NULL, dir);
	if (rc)
		return rc;
	clear_dir(dir);
	bool any = false;
	for (uint32_t t = 0; t < st->nstores; t++)
		any |= deploy__repl_to(st, s, t);
	if (!any)
		return 0;
	if (deploy__mkdir_p(dir) != 0 || chmod(dir, 0700) != 0) {
		fprintf(u->err, "up: cannot create %s: %s\n", dir, strerror(errno));
		return ERR_IO;
	}
	uint16_t ports[DEPLOY_STACK_RES_MAX];
	for (uint32_t t = 0; t < st->nstores && t < DEPLOY_STACK_RES_MAX; t++)
		ports[t] = peer_port(u, s, t);
	struct buf b;
	buf_init(&b, REPL_DOC_MAX);
	rc = write_keys(u, s);
	char ca[DEPLOY_UP_PATH_MAX], cak[DEPLOY_UP_PATH_MAX];
	deploy__tls_files(u, "ca", ca, cak);
	rc = rc ? rc : deploy__repl_peers_yaml(st, s, ports, u->tls ? ca : NULL, &b);
	rc = rc ? rc : repl_path(u, st->store[s].region, "peers.yaml", path);
	if (rc == 0 && deploy__write_file(path, b.data, b.len, 0644) != 0) {
		fprintf(u->err, "up: cannot write %s: %s\n", path, strerror(errno));
		rc = ERR_IO;
	}
	buf_free(&b);
	if (rc)
		return rc;
	/* The store's own parser, before anything starts (it reads the keys). */
	struct repl_config c;
	char err[REPL_CONFIG_ERR_LEN];
	rc = repl_config_load(path, &c, err, sizeof(err));
	if (rc)
		fprintf(u->err,
		        "%s\nup: the stack gives a configuration its role refuses (above)\n", err);
	repl_config_free(&c);
	return rc;
}

int deploy__repl_apply(struct deploy_up *u, uint32_t bi, bool kept)
{
	const struct deploy_stack *st = u->st;
	const struct deploy_stack_bucket *bk = &st->bucket[bi];
	const char *region = st->store[bk->store].region;
	if (!bk->nrules && !kept)
		return 0; /* a new bucket has no rules to remove */
	struct deploy_up_sign sg = { .region = region };
	deploy__store_keys(u, bk->store, &sg.access_key, &sg.secret_key);
	char target[128];
	snprintf(target, sizeof(target), "/%s?replication", bk->name);
	struct buf doc, body;
	buf_init(&doc, REPL_DOC_MAX);
	buf_init(&body, DEPLOY_UP_BODY_MAX);
	int status = 0, rc = bk->nrules ? deploy__repl_xml(st, bi, &doc) : 0;
	if (rc == 0)
		rc = deploy__http(u->store_port[bk->store], bk->nrules ? "PUT" : "DELETE", target,
		                  "127.0.0.1", &sg, doc.data, doc.len, REPL_HTTP_TIMEOUT, &status,
		                  &body);
	/* A kept bucket whose rules the stack no longer has: they go (404: it
	 * had none). */
	bool ok = bk->nrules ? status == 200 : status == 204 || status == 200 || status == 404;
	if (rc == 0 && !ok)
		rc = ERR_UP_HTTP;
	if (rc) {
		fprintf(u->err, "up: %s the replication rules of bucket %s in %s: %s %d %.*s\n",
		        bk->nrules ? "put" : "remove", bk->name, region,
		        status ? "refused with" : err_text(rc), status, (int)body.len,
		        body.data ? body.data : "");
	}
	for (uint32_t i = 0; rc == 0 && i < bk->nrules; i++) {
		const struct deploy_stack_rule *r = &bk->rule[i];
		const struct deploy_stack_bucket *d = &st->bucket[r->destination];
		fprintf(u->out, "  bucket %-22s replicates %s%s to %s in %s%s\n", bk->name,
		        r->prefix[0] ? r->prefix : "every key", r->prefix[0] ? "*" : "", d->name,
		        st->store[d->store].region, r->enabled ? "" : " (rule disabled)");
	}
	buf_free(&doc);
	buf_free(&body);
	return rc;
}
