/*
 * The replication configuration file (rules in config.h): a yaml_tree read
 * through config/schema into a struct repl_config, each peer's credentials
 * read with the users file parser (auth/users.h). Startup thread only.
 */
#include "repl/config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"
#include "crypto/region.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define CRED_ERR_LEN 512 /* the users parser's message: "path:line: text" */

static const char *const top_keys[] = { "peers", "resync_on_empty", "ca_file" };
static const char *const peer_keys[] = {
	"name",    "region",      "endpoint", "credentials",          "concurrency",
	"timeout", "backoff_max", "ca_file",  "insecure_skip_verify", "server_name",
};
/* The keys only an https:// peer may have. */
static const char *const tls_keys[] = { "ca_file", "insecure_skip_verify", "server_name" };

struct parse {
	struct config_schema s;
	struct repl_config *c;
	char ca_file[REPL_PATH_MAX + 1]; /* the top level's, resolved; "" if none */
	/* Where each peer's name, region and endpoint keys were, for
	 * duplicate messages. */
	struct yaml_tree_mark name_at[REPL_PEERS_MAX];
	struct yaml_tree_mark region_at[REPL_PEERS_MAX];
	struct yaml_tree_mark endpoint_at[REPL_PEERS_MAX];
};

static bool lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* 1..REPL_NAME_MAX bytes of a-z 0-9 '-'. */
static bool valid_name(struct iov v)
{
	if (v.len == 0 || v.len > REPL_NAME_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (!lower_or_digit(v.base[i]) && v.base[i] != '-')
			return false;
	return true;
}

/* An S3 region name as AWS forms them ("eu-west-1", "us-gov-east-1"):
 * 1..REPL_REGION_MAX of a-z 0-9 '-', a letter first, not '-' last, no
 * "--". */
static bool valid_region(struct iov v)
{
	if (v.len == 0 || v.len > REPL_REGION_MAX)
		return false;
	if (v.base[0] < 'a' || v.base[0] > 'z' || v.base[v.len - 1] == '-')
		return false;
	for (size_t i = 0; i < v.len; i++) {
		if (!lower_or_digit(v.base[i]) && v.base[i] != '-')
			return false;
		if (v.base[i] == '-' && v.base[i - 1] == '-')
			return false; /* i > 0: the first byte is a letter */
	}
	return true;
}

/* Copy a checked slice (shorter than cap) into a C string. */
static void copy(char *dst, size_t cap, struct iov v)
{
	CHECK(v.len < cap);
	memcpy(dst, v.base, v.len);
	dst[v.len] = '\0';
}

/* The endpoint's parts into *p; false when it is not an endpoint URL. */
static bool read_endpoint(struct repl_peer *p, struct iov v)
{
	struct http_endpoint e;
	if (v.len > REPL_ENDPOINT_MAX || http_endpoint_parse(v, &e) != 0)
		return false;
	if (v.base[v.len - 1] == '/')
		v.len--;
	copy(p->endpoint, sizeof(p->endpoint), v);
	copy(p->host, sizeof(p->host), e.host);
	p->https = e.https;
	p->port = e.port;
	p->host_is_ip = e.ip;
	const char *lb = e.ipv6 ? "[" : "", *rb = e.ipv6 ? "]" : "";
	int hl = (int)e.host.len;
	if (e.ip)
		snprintf(p->connect, sizeof(p->connect), "%s%.*s%s:%u", lb, hl, e.host.base, rb,
		         e.port);
	return true;
}

/* The Host header: server_name, else host (bracketed if IPv6), with
 * ":port" unless the scheme's default. */
static void set_authority(struct repl_peer *p)
{
	bool v6 = !p->server_name[0] && strchr(p->host, ':') != NULL;
	const char *name = p->server_name[0] ? p->server_name : p->host;
	const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
	if (p->port == (p->https ? 443 : 80))
		snprintf(p->authority, sizeof(p->authority), "%s%s%s", lb, name, rb);
	else
		snprintf(p->authority, sizeof(p->authority), "%s%s%s:%u", lb, name, rb, p->port);
}

/*
 * A CA bundle must hold a PEM certificate: a wrong path or file is found at
 * start, not as every handshake failing later. The file is read again by
 * the TLS library when connecting (so it can be replaced in place).
 */
static int check_ca_file(struct parse *ps, const struct yaml_tree_node *k, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		config_schema_fail(&ps->s, k, "ca_file: %s: cannot open: %s", path,
		                   strerror(errno));
		if (ps->s.rc == ERR_CONFIG_SCHEMA)
			ps->s.rc = ERR_IO;
		return ps->s.rc;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!x)
		return config_schema_fail(&ps->s, k, "ca_file: %s: no PEM certificate in it", path);
	X509_free(x);
	return 0;
}

/* A ca_file value into dst (REPL_PATH_MAX + 1 bytes), resolved against the
 * YAML file's directory and checked. */
static int read_ca_file(struct parse *ps, const struct yaml_tree_node *k, struct iov v, char *dst)
{
	char *path = NULL;
	if (config_schema_path(&ps->s, k, "ca_file", v, &path))
		return ps->s.rc;
	size_t n = strlen(path);
	if (n > REPL_PATH_MAX) {
		free(path);
		return config_schema_fail(&ps->s, k,
		                          "ca_file: the path would be %zu bytes, more than %d", n,
		                          REPL_PATH_MAX);
	}
	memcpy(dst, path, n + 1);
	free(path);
	return check_ca_file(ps, k, dst);
}

/* A server name: a DNS name, not an address (its last label is not all
 * digits, as http_endpoint_parse decides). */
static bool valid_server_name(struct iov v)
{
	if (!http_endpoint_dns_name(v))
		return false;
	size_t i = v.len;
	while (i > 0 && v.base[i - 1] >= '0' && v.base[i - 1] <= '9')
		i--;
	return !(i == 0 || v.base[i - 1] == '.');
}

/* The TLS keys of peer p (its endpoint already read), and its Host. */
static int read_tls(struct parse *ps, const struct yaml_tree_node *item, struct repl_peer *p)
{
	if (!p->https) {
		for (size_t i = 0; i < N_ELEMS(tls_keys); i++)
			if (yaml_tree_get(item, iov_cstr(tls_keys[i]), NULL))
				return config_schema_fail(
				    &ps->s, config_schema_key(item, tls_keys[i]),
				    "%s: only for an https:// endpoint (this one is http://)",
				    tls_keys[i]);
		set_authority(p);
		return 0;
	}
	const struct yaml_tree_node *kca = NULL, *ksn = NULL;
	struct iov ca, sn;
	config_schema_cstr(&ps->s, item, "ca_file", CONFIG_OPTIONAL, &ca, &kca);
	config_schema_cstr(&ps->s, item, "server_name", CONFIG_OPTIONAL, &sn, &ksn);
	config_schema_bool(&ps->s, item, "insecure_skip_verify", CONFIG_OPTIONAL, &p->insecure);
	if (ps->s.rc)
		return ps->s.rc;
	if (ca.base && p->insecure)
		return config_schema_fail(&ps->s, kca,
		                          "ca_file: pointless with insecure_skip_verify: true "
		                          "(nothing is verified)");
	if (sn.base && !valid_server_name(sn))
		return config_schema_fail(
		    &ps->s, ksn,
		    "server_name: \"%.*s\" is not a DNS name (labels of 1-63 letters, digits "
		    "and '-', 253 bytes at most; not an IP address)",
		    config_schema_quote_len(sn), sn.base);
	if (sn.base)
		copy(p->server_name, sizeof(p->server_name), sn);
	set_authority(p);
	if (ca.base)
		return read_ca_file(ps, kca, ca, p->ca_file);
	if (!p->insecure)
		memcpy(p->ca_file, ps->ca_file, sizeof(p->ca_file));
	return 0;
}

/* Hosts compare without ASCII case, ports exactly; the scheme is not part
 * of where a peer is. */
static bool same_place(const struct repl_peer *a, const struct repl_peer *b)
{
	return a->port == b->port && iov_eq_nocase(iov_cstr(a->host), iov_cstr(b->host));
}

/*
 * The key pair from the credentials file `path`: exactly one
 * `ACCESS_KEY_ID SECRET` line in the users file syntax (auth/users.h)
 * without the optional name. Errors are the users parser's
 * "path:line: message" (or "path: message"), quoted after the key `k`.
 */
static int read_credentials(struct parse *ps, struct repl_peer *p, const char *path,
                            const struct yaml_tree_node *k)
{
	char uerr[CRED_ERR_LEN];
	uerr[0] = '\0';
	struct auth_users *users = NULL;
	int rc = auth_users_open(path, &users, uerr, sizeof(uerr));
	if (rc == ERR_NOMEM)
		return config_schema_nomem(&ps->s);
	if (rc) {
		config_schema_fail(&ps->s, k, "credentials: %s", uerr);
		if (rc == ERR_IO)
			ps->s.rc = ERR_IO;
		return ps->s.rc;
	}
	struct auth_userdb *db = auth_users_acquire(users);
	size_t n = auth_userdb_count(db);
	/* The first two lines in file order (the table is in key order). */
	unsigned first = 0, second = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned line = auth_userdb_at(db, i)->line;
		if (!first || line < first) {
			second = first;
			first = line;
		} else if (!second || line < second) {
			second = line;
		}
	}
	if (n == 0) {
		config_schema_fail(&ps->s, k, "credentials: %s: no ACCESS_KEY_ID SECRET line",
		                   path);
	} else if (n > 1) {
		config_schema_fail(&ps->s, k,
		                   "credentials: %s:%u: a second key line (the first is line %u); "
		                   "a peer has one key",
		                   path, second, first);
	} else {
		const struct auth_user *u = auth_userdb_at(db, 0);
		/* users.h: without a name, the display name is the access key. */
		if (u->name.base != u->access_key.base) {
			config_schema_fail(
			    &ps->s, k,
			    "credentials: %s:%u: expected ACCESS_KEY_ID SECRET, with "
			    "no third field",
			    path, u->line);
		} else {
			copy(p->access_key, sizeof(p->access_key), u->access_key);
			copy(p->secret_key, sizeof(p->secret_key), u->secret);
		}
	}
	auth_userdb_release(db);
	auth_users_free(users);
	return ps->s.rc;
}

/* Peer `i` against peers 0..i-1: name, region, region id, endpoint. */
static int check_unique(struct parse *ps, size_t i, const struct yaml_tree_node *kn,
                        const struct yaml_tree_node *kr, const struct yaml_tree_node *ke)
{
	const struct repl_peer *p = ps->c->peers, *q = &p[i];
	for (size_t j = 0; j < i; j++)
		if (strcmp(p[j].name, q->name) == 0)
			return config_schema_fail(&ps->s, kn,
			                          "duplicate peer name \"%s\" (first at %u:%u)",
			                          q->name, ps->name_at[j].line, ps->name_at[j].col);
	for (size_t j = 0; j < i; j++) {
		struct yaml_tree_mark at = ps->region_at[j];
		if (strcmp(p[j].region, q->region) == 0)
			return config_schema_fail(&ps->s, kr,
			                          "duplicate peer region \"%s\" (first at %u:%u)",
			                          q->region, at.line, at.col);
		if (p[j].region_id == q->region_id)
			return config_schema_fail(&ps->s, kr,
			                          "region \"%s\" has the same region id 0x%04x as "
			                          "\"%s\" (at %u:%u): they cannot both replicate",
			                          q->region, q->region_id, p[j].region, at.line,
			                          at.col);
	}
	for (size_t j = 0; j < i; j++)
		if (same_place(&p[j], q))
			return config_schema_fail(
			    &ps->s, ke,
			    "duplicate peer endpoint \"%s\" (first at %u:%u as "
			    "\"%s\")",
			    q->endpoint, ps->endpoint_at[j].line, ps->endpoint_at[j].col,
			    p[j].endpoint);
	return 0;
}

static int read_peer(struct parse *ps, const struct yaml_tree_node *item, size_t i)
{
	struct repl_peer *p = &ps->c->peers[i];
	if (yaml_tree_kind(item) != YAML_TREE_MAP)
		return config_schema_fail(&ps->s, item, "peers[%zu]: expected a map, got %s", i,
		                          config_schema_kind_name(item));
	if (config_schema_keys(&ps->s, item, peer_keys, N_ELEMS(peer_keys)))
		return ps->s.rc;
	const struct yaml_tree_node *kn = NULL, *kr = NULL, *ke = NULL, *kc = NULL;
	struct iov name, region, endpoint, cred;
	uint64_t concurrency = REPL_CONCURRENCY_DEFAULT, timeout = REPL_TIMEOUT_DEFAULT_MS;
	uint64_t backoff = REPL_BACKOFF_DEFAULT_MS;
	config_schema_cstr(&ps->s, item, "name", CONFIG_REQUIRED, &name, &kn);
	config_schema_cstr(&ps->s, item, "region", CONFIG_REQUIRED, &region, &kr);
	config_schema_cstr(&ps->s, item, "endpoint", CONFIG_REQUIRED, &endpoint, &ke);
	config_schema_cstr(&ps->s, item, "credentials", CONFIG_REQUIRED, &cred, &kc);
	config_schema_u64(&ps->s, item, "concurrency", CONFIG_OPTIONAL, 1, REPL_CONCURRENCY_MAX,
	                  &concurrency);
	config_schema_duration(&ps->s, item, "timeout", CONFIG_OPTIONAL, REPL_TIMEOUT_MIN_MS,
	                       REPL_TIMEOUT_MAX_MS, &timeout);
	config_schema_duration(&ps->s, item, "backoff_max", CONFIG_OPTIONAL, REPL_BACKOFF_MIN_MS,
	                       REPL_BACKOFF_MAX_MS, &backoff);
	if (ps->s.rc)
		return ps->s.rc;
	if (!valid_name(name))
		return config_schema_fail(
		    &ps->s, kn, "name: \"%.*s\" is not 1-63 characters of a-z, 0-9 and '-'",
		    config_schema_quote_len(name), name.base);
	if (!valid_region(region))
		return config_schema_fail(&ps->s, kr,
		                          "region: \"%.*s\" is not a region name (1-63 characters "
		                          "of a-z, 0-9 and '-', a letter first, not '-' last, no "
		                          "\"--\")",
		                          config_schema_quote_len(region), region.base);
	if (!read_endpoint(p, endpoint))
		return config_schema_fail(
		    &ps->s, ke,
		    "endpoint: \"%.*s\" is not http:// or https:// with a host "
		    "name, IPv4 or [IPv6] address and an optional port "
		    "1-65535 (no path, query or user)",
		    config_schema_quote_len(endpoint), endpoint.base);
	copy(p->name, sizeof(p->name), name);
	copy(p->region, sizeof(p->region), region);
	p->region_id = region_id(p->region);
	p->concurrency = (unsigned)concurrency;
	p->timeout_ms = (int64_t)timeout;
	p->backoff_max_ms = (int64_t)backoff;
	ps->name_at[i] = yaml_tree_mark(kn);
	ps->region_at[i] = yaml_tree_mark(kr);
	ps->endpoint_at[i] = yaml_tree_mark(ke);
	if (check_unique(ps, i, kn, kr, ke) || read_tls(ps, item, p))
		return ps->s.rc;
	char *path = NULL;
	if (config_schema_path(&ps->s, kc, "credentials", cred, &path))
		return ps->s.rc;
	read_credentials(ps, p, path, kc);
	free(path);
	return ps->s.rc;
}

static int read_peers(struct parse *ps, const struct yaml_tree_node *root)
{
	const struct yaml_tree_node *seq =
	    config_schema_section(&ps->s, root, "peers", CONFIG_REQUIRED, YAML_TREE_SEQ);
	if (!seq)
		return ps->s.rc;
	size_t n = yaml_tree_len(seq);
	if (n == 0 || n > REPL_PEERS_MAX)
		return config_schema_fail(&ps->s, config_schema_key(root, "peers"),
		                          "peers: %zu peers; expected 1 to %d", n, REPL_PEERS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (read_peer(ps, yaml_tree_item(seq, i), i))
			return ps->s.rc;
		ps->c->npeers = i + 1;
	}
	return 0;
}

/* The whole schema over a parsed tree; takes the tree. */
static int from_tree(struct yaml_tree *t, struct repl_config *out, char *err, size_t errlen)
{
	struct parse ps = { .c = out };
	config_schema_init(&ps.s, t, err, errlen);
	out->resync_on_empty = true;
	const struct yaml_tree_node *root = yaml_tree_root(t);
	if (config_schema_map(&ps.s, root, "the replication configuration") == 0 &&
	    config_schema_keys(&ps.s, root, top_keys, N_ELEMS(top_keys)) == 0) {
		config_schema_bool(&ps.s, root, "resync_on_empty", CONFIG_OPTIONAL,
		                   &out->resync_on_empty);
		const struct yaml_tree_node *kca = NULL;
		struct iov ca;
		if (config_schema_cstr(&ps.s, root, "ca_file", CONFIG_OPTIONAL, &ca, &kca) == 0 &&
		    (!ca.base || read_ca_file(&ps, kca, ca, ps.ca_file) == 0))
			read_peers(&ps, root);
	}
	yaml_tree_free(t);
	if (ps.s.rc)
		repl_config_free(out);
	return ps.s.rc;
}

int repl_config_parse(const char *text, size_t len, const char *file, struct repl_config *out,
                      char *err, size_t errlen)
{
	CHECK(file != NULL && out != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_parse(file, text ? text : "", len, &t, err, errlen);
	if (rc)
		return rc;
	return from_tree(t, out, err, errlen);
}

int repl_config_load(const char *path, struct repl_config *out, char *err, size_t errlen)
{
	CHECK(path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_load(path, &t, err, errlen);
	if (rc)
		return rc;
	return from_tree(t, out, err, errlen);
}

void repl_config_free(struct repl_config *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}

const struct repl_peer *repl_config_peer_by_name(const struct repl_config *c, struct iov name)
{
	for (size_t i = 0; i < c->npeers && i < REPL_PEERS_MAX; i++)
		if (iov_eq(iov_cstr(c->peers[i].name), name))
			return &c->peers[i];
	return NULL;
}

const struct repl_peer *repl_config_peer_by_region(const struct repl_config *c, struct iov region)
{
	for (size_t i = 0; i < c->npeers && i < REPL_PEERS_MAX; i++)
		if (iov_eq(iov_cstr(c->peers[i].region), region))
			return &c->peers[i];
	return NULL;
}
