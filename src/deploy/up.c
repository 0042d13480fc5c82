/*
 * `meridian up` (deploy/up.h): a stack plan into running processes. Plans
 * ports (from the base port, skipping ports in use), writes keys (0600) and
 * each router's and edge's YAML into the state directory and parses them
 * with the roles' own parsers before anything starts, spawns stores, wan
 * relays (a router's, edge's or replicating store's path to another
 * location's store gets the link's delay), routers and edges
 * (deploy/up_proc.c), creates buckets, sets their replication rules
 * (deploy/up_repl.c) and seeds objects with signed PUTs, writes
 * STATE/endpoints.json and prints what to try. Main thread of the CLI
 * process only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/file.h"
#include "deploy/up-plan.h"
#include "edge/config.h"
#include "edge/fn.h"
#include "router/config.h"

#define CONFIG_MAX    (256u << 10) /* bytes of one generated config */
#define SEED_FILE_MAX (64u << 20)  /* bytes of one seeded object's file */
#define HTTP_TIMEOUT  10000

/* ---- small file helpers ---- */

int deploy__mkdir_p(const char *path)
{
	return file_mkdir_p(path, 0755);
}

int deploy__write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return ERR_IO;
	fchmod(fd, mode);
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return ERR_IO;
		}
		c += w;
		n -= (size_t)w;
	}
	return close(fd) == 0 ? 0 : ERR_IO;
}

static int read_file(const char *path, size_t max, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	char b[16384];
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, b, sizeof(b));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ERR_IO;
			break;
		}
		if (r == 0)
			break;
		if (out->len + (size_t)r > max) {
			rc = ERR_TOO_BIG;
			break;
		}
		rc = buf_add(out, b, (size_t)r);
		if (rc)
			break;
	}
	close(fd);
	return rc;
}

/* ---- keys ---- */

static int random_string(char *out, size_t n, const char *alphabet)
{
	uint8_t r[64];
	if (n >= sizeof(r) || getrandom(r, n, 0) != (ssize_t)n)
		return ERR_IO;
	size_t k = strlen(alphabet);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[r[i] % k];
	out[n] = '\0';
	return 0;
}

static int generate_pair(char *key, char *secret)
{
	memcpy(key, "AKIA", 4);
	int rc = random_string(key + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	if (rc == 0)
		rc = random_string(
		    secret, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
	return rc;
}

/* The first "KEY SECRET" of a credentials file we wrote before. */
static bool read_pair(const char *path, char *key, char *secret)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[2 * DEPLOY_UP_KEY_MAX + 64];
	bool ok = false;
	if (fgets(line, sizeof(line), f)) {
		char *save = NULL;
		char *k = strtok_r(line, " \t\r\n", &save);
		char *s = k ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		if (k && s && strlen(k) < DEPLOY_UP_KEY_MAX && strlen(s) < DEPLOY_UP_KEY_MAX) {
			memcpy(key, k, strlen(k) + 1);
			memcpy(secret, s, strlen(s) + 1);
			ok = true;
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return ok;
}

static int write_pair(const char *path, const char *key, const char *secret, const char *name)
{
	char line[3 * DEPLOY_UP_KEY_MAX + 8];
	int n = snprintf(line, sizeof(line), "%s %s%s%s\n", key, secret, name ? " " : "",
	                 name ? name : "");
	int rc = deploy__write_file(path, line, (size_t)n, 0600);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* Keys of every Credentials resource (given, kept from an earlier run, or
 * new), the admin key of routers and edges, and the files each reads. */
static int plan_keys(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	char path[DEPLOY_UP_PATH_MAX];
	for (uint32_t i = 0; i < st->ncredentials; i++) {
		const struct deploy_stack_credentials *c = &st->credentials[i];
		char rel[DEPLOY_UP_PATH_MAX];
		snprintf(rel, sizeof(rel), "credentials/%s", c->logical_id);
		deploy__state_path(u, rel, path);
		if (c->access_key && c->secret_key) {
			snprintf(u->key[i], DEPLOY_UP_KEY_MAX, "%s", c->access_key);
			snprintf(u->secret[i], DEPLOY_UP_KEY_MAX, "%s", c->secret_key);
		} else if (!read_pair(path, u->key[i], u->secret[i]) &&
		           generate_pair(u->key[i], u->secret[i]) != 0) {
			return ERR_IO;
		}
		if (write_pair(path, u->key[i], u->secret[i], NULL) != 0)
			return ERR_IO;
	}
	deploy__state_path(u, "credentials/admin", path);
	if (!read_pair(path, u->admin_key, u->admin_secret) &&
	    generate_pair(u->admin_key, u->admin_secret) != 0)
		return ERR_IO;
	if (write_pair(path, u->admin_key, u->admin_secret, "ops") != 0)
		return ERR_IO;
	/* The stores' users: every credentials of the stack, named by id; a
	 * stack without any gets the admin key. */
	struct buf b;
	buf_init(&b, 64 * 1024);
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < st->ncredentials; i++)
		rc = buf_printf(&b, "%s %s %s\n", u->key[i], u->secret[i],
		                st->credentials[i].logical_id);
	if (rc == 0 && st->ncredentials == 0)
		rc = buf_printf(&b, "%s %s ops\n", u->admin_key, u->admin_secret);
	deploy__state_path(u, "credentials/store-users", path);
	if (rc == 0)
		rc = deploy__write_file(path, b.data, b.len, 0600);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* The keys a store's buckets are created with. */
void deploy__store_keys(const struct deploy_up *u, uint32_t s, const char **key,
                        const char **secret)
{
	uint32_t c = u->st->store[s].credentials;
	if (c == DEPLOY_STACK_NONE && u->st->ncredentials)
		c = 0;
	if (c == DEPLOY_STACK_NONE) {
		*key = u->admin_key;
		*secret = u->admin_secret;
	} else {
		*key = u->key[c];
		*secret = u->secret[c];
	}
}

/* ---- ports ---- */

static int take_port(struct deploy_up *u, uint16_t *out)
{
	while (u->next_port && u->next_port < 65535) {
		uint16_t p = u->next_port++;
		bool fixed = false; /* a store's own Port is never handed out */
		for (uint32_t s = 0; s < u->st->nstores; s++)
			fixed |= u->st->store[s].port == p;
		if (!fixed && deploy__port_free(p)) {
			*out = p;
			return 0;
		}
	}
	fprintf(u->err, "up: no free port left above the base port\n");
	return ERR_IO;
}

static const struct deploy_stack_link *link_between(const struct deploy_stack *st, uint32_t a,
                                                    uint32_t b)
{
	for (uint32_t i = 0; i < st->nlinks; i++) {
		const struct deploy_stack_link *l = &st->link[i];
		if ((l->a == a && l->b == b) || (l->a == b && l->b == a))
			return l;
	}
	return NULL;
}

/* The port other roles reach store s on: HTTPS with TLS, else HTTP. */
uint16_t deploy__store_data_port(const struct deploy_up *u, uint32_t s)
{
	return u->tls ? u->store_tls[s] : u->store_port[s];
}

/* Where location l's routers or edges connect for store s (a relay keeps
 * the store's protocol: it moves bytes). */
static uint16_t port_to(const struct deploy_up *u, uint32_t l, uint32_t s)
{
	uint16_t w = u->wan_port[(size_t)l * u->st->nstores + s];
	return w ? w : deploy__store_data_port(u, s);
}

/* tls: {listen, certificates, ca_file} for the role process `name` with an
 * HTTPS listener on port (the stack's CA verifies what it connects to). */
static int tls_yaml(const struct deploy_up *u, const char *name, uint16_t port, struct buf *b)
{
	char cert[DEPLOY_UP_PATH_MAX], key[DEPLOY_UP_PATH_MAX], ca[DEPLOY_UP_PATH_MAX];
	char cak[DEPLOY_UP_PATH_MAX];
	deploy__tls_files(u, name, cert, key);
	deploy__tls_files(u, "ca", ca, cak);
	int rc =
	    buf_printf(b, "tls:\n  listen: \"127.0.0.1:%u\"\n  certificates:\n    - cert: ", port);
	rc = rc ? rc : deploy__yaml_quote(b, cert);
	rc = rc ? rc : buf_add_str(b, "\n      key: ");
	rc = rc ? rc : deploy__yaml_quote(b, key);
	rc = rc ? rc : buf_add_str(b, "\n  ca_file: ");
	rc = rc ? rc : deploy__yaml_quote(b, ca);
	return rc ? rc : buf_add_char(b, '\n');
}

/* Whether distribution d runs an edge at location l. */
static bool dist_at(const struct deploy_stack *st, uint32_t d, uint32_t l)
{
	for (uint32_t i = 0; i < st->distribution[d].nlocations; i++)
		if (st->distribution[d].location[i] == l)
			return true;
	return false;
}

/* The locations that get routers (one per access point) and edges: those
 * of every distribution. */
static bool runs_at(const struct deploy_stack *st, uint32_t l)
{
	for (uint32_t d = 0; d < st->ndistributions; d++)
		if (dist_at(st, d, l))
			return true;
	return false;
}

static int plan_ports(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	int rc = 0;
	for (uint32_t s = 0; rc == 0 && s < st->nstores; s++) {
		if (st->store[s].port)
			u->store_port[s] = st->store[s].port;
		else
			rc = take_port(u, &u->store_port[s]);
		if (rc == 0 && u->tls)
			rc = take_port(u, &u->store_tls[s]);
	}
	for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
		/* A relay from l to each store elsewhere that l's router and
		 * edge, or l's store replicating to it, reach over a link. */
		for (uint32_t s = 0; rc == 0 && s < st->nstores; s++)
			if (st->store[s].location != l &&
			    link_between(st, l, st->store[s].location) &&
			    (runs_at(st, l) || deploy__repl_from(st, l, s)))
				rc = take_port(u, &u->wan_port[(size_t)l * st->nstores + s]);
		if (!runs_at(st, l))
			continue;
		/* A router per access point, an edge per distribution here. */
		for (uint32_t a = 0; rc == 0 && a < st->naccess_points; a++) {
			rc = take_port(u, &u->router_port[DEPLOY_UP_AT(u, a, l)]);
			if (rc == 0)
				rc = take_port(u, &u->router_admin[DEPLOY_UP_AT(u, a, l)]);
			if (rc == 0 && u->tls)
				rc = take_port(u, &u->router_tls[DEPLOY_UP_AT(u, a, l)]);
		}
		for (uint32_t d = 0; rc == 0 && d < st->ndistributions; d++) {
			if (!dist_at(st, d, l))
				continue;
			rc = take_port(u, &u->edge_port[DEPLOY_UP_AT(u, d, l)]);
			if (rc == 0)
				rc = take_port(u, &u->edge_admin[DEPLOY_UP_AT(u, d, l)]);
			if (rc == 0 && u->tls)
				rc = take_port(u, &u->edge_tls[DEPLOY_UP_AT(u, d, l)]);
		}
	}
	return rc;
}

/* ---- configs ---- */

/* A YAML double-quoted scalar (up-plan.h). */
int deploy__yaml_quote(struct buf *b, const char *s)
{
	int rc = buf_add_char(b, '"');
	for (; rc == 0 && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_add_char(b, '\\');
		if (rc == 0)
			rc = buf_add_char(b, *s);
	}
	return rc ? rc : buf_add_char(b, '"');
}

/* The router of access point a at location l. */
static int router_yaml(const struct deploy_up *u, uint32_t a, uint32_t l, struct buf *b)
{
	const struct deploy_stack *st = u->st;
	const struct deploy_stack_access_point *ap = &st->access_point[a];
	int rc = buf_printf(b, "access_point:\n  name: ");
	rc = rc ? rc : deploy__yaml_quote(b, ap->name);
	rc = rc ? rc : buf_add_str(b, "\n  alias: ");
	rc = rc ? rc : deploy__yaml_quote(b, ap->alias);
	rc = rc ? rc : buf_add_str(b, "\n  domain: " DEPLOY_STACK_MRAP_DOMAIN "\nregions:\n");
	for (uint32_t i = 0; rc == 0 && i < ap->nregions; i++) {
		const struct deploy_stack_bucket *bk = &st->bucket[ap->region[i].bucket];
		const struct deploy_stack_store *s = &st->store[bk->store];
		rc = buf_printf(b, "  - name: ");
		rc = rc ? rc : deploy__yaml_quote(b, s->region);
		rc = rc ? rc
		        : buf_printf(b, "\n    endpoint: \"127.0.0.1:%u\"\n    bucket: ",
		                     port_to(u, l, bk->store));
		rc = rc ? rc : deploy__yaml_quote(b, bk->name);
		rc = rc ? rc
		        : buf_printf(b, "\n    dial: %s\n",
		                     ap->region[i].active ? "active" : "passive");
		if (rc == 0 && u->tls)
			rc = buf_printf(
			    b, "    protocol: https\n    server_name: s3.%s.meridian.test\n",
			    s->region);
	}
	if (rc == 0 && u->tls) {
		char name[DEPLOY_UP_NAME_MAX];
		deploy__role_name("router", a, ap->name, st->location[l].name, name);
		rc = tls_yaml(u, name, u->router_tls[DEPLOY_UP_AT(u, a, l)], b);
	}
	char admin[DEPLOY_UP_PATH_MAX];
	deploy__state_path(u, "credentials/admin", admin);
	rc = rc ? rc
	        : buf_printf(b, "admin:\n  listen: \"127.0.0.1:%u\"\n  credentials: ",
	                     u->router_admin[DEPLOY_UP_AT(u, a, l)]);
	rc = rc ? rc : deploy__yaml_quote(b, admin);
	return rc ? rc : buf_add_char(b, '\n');
}

static int methods_yaml(struct buf *b, uint32_t m)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = { { EDGE_CONFIG_GET, "GET" },         { EDGE_CONFIG_HEAD, "HEAD" },
		      { EDGE_CONFIG_OPTIONS, "OPTIONS" }, { EDGE_CONFIG_PUT, "PUT" },
		      { EDGE_CONFIG_PATCH, "PATCH" },     { EDGE_CONFIG_POST, "POST" },
		      { EDGE_CONFIG_DELETE, "DELETE" } };
	int rc = buf_add_char(b, '[');
	bool first = true;
	for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(m & names[i].bit))
			continue;
		rc = buf_printf(b, "%s%s", first ? "" : ", ", names[i].name);
		first = false;
	}
	return rc ? rc : buf_add_str(b, "]\n");
}

static int list_yaml(struct buf *b, char *const *items, uint32_t n)
{
	int rc = buf_add_char(b, '[');
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (i)
			rc = buf_add_str(b, ", ");
		rc = rc ? rc : deploy__yaml_quote(b, items[i]);
	}
	return rc ? rc : buf_add_char(b, ']');
}

/* Origin `o` of distribution `d` as its edge at location index li sees it. */
static int origin_yaml(const struct deploy_up *u, const struct deploy_stack_distribution *d,
                       uint32_t li, const struct deploy_stack_origin *o, struct buf *b)
{
	const struct deploy_stack *st = u->st;
	uint32_t l = d->location[li];
	char host[512];
	uint16_t port;
	if (o->kind == DEPLOY_STACK_ORIGIN_ACCESS_POINT) {
		port = u->tls ? u->router_tls[DEPLOY_UP_AT(u, o->target, l)]
		              : u->router_port[DEPLOY_UP_AT(u, o->target, l)];
		snprintf(host, sizeof(host), "%s",
		         o->domain_name ? o->domain_name : st->access_point[o->target].host);
	} else {
		uint32_t bi = o->kind == DEPLOY_STACK_ORIGIN_BUCKET ? o->target : o->nearest[li];
		const struct deploy_stack_bucket *bk = &st->bucket[bi];
		port = port_to(u, l, bk->store);
		if (o->domain_name)
			snprintf(host, sizeof(host), "%s", o->domain_name);
		else
			snprintf(host, sizeof(host), "%s.s3.%s.meridian.test", bk->name,
			         st->store[bk->store].region);
	}
	int rc = buf_add_str(b, "  - id: ");
	rc = rc ? rc : deploy__yaml_quote(b, o->id);
	rc = rc ? rc : buf_add_str(b, "\n    domain_name: ");
	rc = rc ? rc : deploy__yaml_quote(b, host);
	if (u->tls) /* verified as domain_name, reached at the address */
		rc = rc ? rc
		        : buf_printf(
		              b,
		              "\n    address: \"127.0.0.1\"\n    protocol_policy: https-only\n"
		              "    https_port: %u\n",
		              port);
	else
		rc = rc ? rc : buf_printf(b, "\n    address: \"127.0.0.1:%u\"\n", port);
	if (rc == 0 && o->origin_path) {
		rc = buf_add_str(b, "    origin_path: ");
		rc = rc ? rc : deploy__yaml_quote(b, o->origin_path);
		rc = rc ? rc : buf_add_char(b, '\n');
	}
	if (rc == 0 && o->connect_timeout_ms)
		rc = buf_printf(b, "    connect_timeout: %llums\n",
		                (unsigned long long)o->connect_timeout_ms);
	if (rc == 0 && o->read_timeout_ms)
		rc = buf_printf(b, "    read_timeout: %llums\n",
		                (unsigned long long)o->read_timeout_ms);
	if (rc == 0 && o->connection_attempts)
		rc = buf_printf(b, "    connection_attempts: %u\n", o->connection_attempts);
	if (rc == 0 && o->nheaders)
		rc = buf_add_str(b, "    custom_headers:\n");
	for (uint32_t h = 0; rc == 0 && h < o->nheaders; h++) {
		rc = buf_printf(b, "      %s: ", o->header[h].name);
		rc = rc ? rc : deploy__yaml_quote(b, o->header[h].value);
		rc = rc ? rc : buf_add_char(b, '\n');
	}
	return rc;
}

static const char *target_id(const struct deploy_stack_distribution *d,
                             const struct deploy_stack_behavior *bh)
{
	return bh->target_group ? d->group[bh->target].id : d->origin[bh->target].id;
}

static int behavior_yaml(const struct deploy_stack_distribution *d,
                         const struct deploy_stack_behavior *bh, struct buf *b)
{
	int rc = buf_add_str(b, "  - path_pattern: ");
	rc = rc ? rc : deploy__yaml_quote(b, bh->path_pattern);
	rc = rc ? rc : buf_add_str(b, "\n    target: ");
	rc = rc ? rc : deploy__yaml_quote(b, target_id(d, bh));
	rc = rc ? rc : buf_add_str(b, "\n    allowed_methods: ");
	rc = rc ? rc : methods_yaml(b, bh->allowed_methods);
	rc = rc ? rc : buf_add_str(b, "    cached_methods: ");
	rc = rc ? rc : methods_yaml(b, bh->cached_methods);
	rc = rc ? rc
	        : buf_printf(b, "    min_ttl: %llus\n    default_ttl: %llus\n    max_ttl: %llus\n",
	                     (unsigned long long)bh->min_ttl_s,
	                     (unsigned long long)bh->default_ttl_s,
	                     (unsigned long long)bh->max_ttl_s);
	rc = rc ? rc : buf_add_str(b, "    cache_key:\n      query_strings: ");
	if (rc == 0) {
		if (bh->query_strings == EDGE_CONFIG_QUERY_LIST)
			rc = list_yaml(b, bh->query, bh->nquery);
		else
			rc = buf_add_str(b, bh->query_strings == EDGE_CONFIG_QUERY_ALL ? "all"
			                                                               : "none");
	}
	rc = rc ? rc : buf_add_str(b, "\n      headers: ");
	rc = rc ? rc : list_yaml(b, bh->key_header, bh->nheaders);
	rc = rc ? rc
	        : buf_printf(b, "\n    signing: %s\n",
	                     bh->signing == EDGE_CONFIG_SIGN_SIGV4A  ? "sigv4a"
	                     : bh->signing == EDGE_CONFIG_SIGN_SIGV4 ? "sigv4"
	                                                             : "none");
	if (rc == 0 && bh->signing_region) {
		rc = buf_add_str(b, "    signing_region: ");
		rc = rc ? rc : deploy__yaml_quote(b, bh->signing_region);
		rc = rc ? rc : buf_add_char(b, '\n');
	}
	rc = rc ? rc : buf_printf(b, "    compress: %s\n", bh->compress ? "true" : "false");
	/* Functions: absolute paths (the stack made them so), since the edge
	 * anchors relative ones at this config's directory, the state's. */
	bool any = false;
	for (int e = 0; rc == 0 && e < DEPLOY_STACK_FN_EVENTS; e++) {
		if (!bh->function[e])
			continue;
		if (!any)
			rc = buf_add_str(b, "    functions:\n");
		any = true;
		rc = rc ? rc : buf_printf(b, "      %s: ", deploy_stack_fn_edge_key(e));
		rc = rc ? rc : deploy__yaml_quote(b, bh->function[e]);
		rc = rc ? rc : buf_add_char(b, '\n');
	}
	return rc;
}

/* A distribution's FunctionLimits as the edge's function_limits (only the
 * fields given; none: no section, the edge's defaults). */
static int fn_limits_yaml(const struct deploy_stack_fn_limits *l, struct buf *b)
{
	if (!l->memory_bytes && !l->instructions && !l->viewer_timeout_ms && !l->origin_timeout_ms)
		return 0;
	int rc = buf_add_str(b, "function_limits:\n");
	if (rc == 0 && l->memory_bytes)
		rc = buf_printf(b, "  memory: %llu\n", (unsigned long long)l->memory_bytes);
	if (rc == 0 && l->instructions)
		rc = buf_printf(b, "  instructions: %llu\n", (unsigned long long)l->instructions);
	if (rc == 0 && l->viewer_timeout_ms)
		rc = buf_printf(b, "  viewer_timeout: %llums\n",
		                (unsigned long long)l->viewer_timeout_ms);
	if (rc == 0 && l->origin_timeout_ms)
		rc = buf_printf(b, "  origin_timeout: %llums\n",
		                (unsigned long long)l->origin_timeout_ms);
	return rc;
}

int deploy__edge_yaml(const struct deploy_up *u, uint32_t di, uint32_t li, struct buf *b)
{
	const struct deploy_stack *st = u->st;
	const struct deploy_stack_distribution *d = &st->distribution[di];
	uint32_t l = d->location[li];
	int rc = buf_add_str(b, "distribution:\n  domain: ");
	rc = rc ? rc : deploy__yaml_quote(b, d->domain);
	rc = rc ? rc : buf_add_str(b, "\n  id: ");
	rc = rc ? rc : deploy__yaml_quote(b, d->id);
	if (rc == 0 && d->default_root_object) {
		rc = buf_add_str(b, "\n  default_root_object: ");
		rc = rc ? rc : deploy__yaml_quote(b, d->default_root_object);
	}
	rc = rc ? rc : buf_add_str(b, "\norigins:\n");
	for (uint32_t i = 0; rc == 0 && i < d->norigins; i++)
		rc = origin_yaml(u, d, li, &d->origin[i], b);
	if (rc == 0 && d->ngroups)
		rc = buf_add_str(b, "origin_groups:\n");
	for (uint32_t g = 0; rc == 0 && g < d->ngroups; g++) {
		const struct deploy_stack_group *gr = &d->group[g];
		rc = buf_add_str(b, "  - id: ");
		rc = rc ? rc : deploy__yaml_quote(b, gr->id);
		rc = rc ? rc : buf_add_str(b, "\n    members: [");
		for (uint32_t m = 0; rc == 0 && m < gr->nmembers; m++) {
			rc = m ? buf_add_str(b, ", ") : 0;
			rc = rc ? rc : deploy__yaml_quote(b, d->origin[gr->member[m]].id);
		}
		rc = rc ? rc : buf_add_str(b, "]\n");
		if (rc == 0 && gr->nstatuses) {
			rc = buf_add_str(b, "    failover_statuses: [");
			for (uint32_t k = 0; rc == 0 && k < gr->nstatuses; k++)
				rc = buf_printf(b, "%s%u", k ? ", " : "", gr->status[k]);
			rc = rc ? rc : buf_add_str(b, "]\n");
		}
	}
	rc = rc ? rc : buf_add_str(b, "behaviors:\n");
	for (uint32_t i = 0; rc == 0 && i < d->nbehaviors; i++)
		rc = behavior_yaml(d, &d->behavior[i], b);
	char path[DEPLOY_UP_PATH_MAX];
	if (rc == 0 && d->credentials != DEPLOY_STACK_NONE) {
		char rel[DEPLOY_UP_PATH_MAX];
		snprintf(rel, sizeof(rel), "credentials/%s",
		         st->credentials[d->credentials].logical_id);
		deploy__state_path(u, rel, path);
		rc = buf_add_str(b, "signing:\n  credentials: ");
		rc = rc ? rc : deploy__yaml_quote(b, path);
		rc = rc ? rc : buf_add_str(b, "\n  failover_header: ");
		rc = rc ? rc
		        : deploy__yaml_quote(b, d->failover_header ? d->failover_header
		                                                   : "originTypeFailover");
		rc = rc ? rc : buf_add_char(b, '\n');
	}
	if (rc == 0 && d->memory_bytes)
		rc = buf_printf(b, "cache:\n  memory_bytes: %llu\n",
		                (unsigned long long)d->memory_bytes);
	rc = rc ? rc : fn_limits_yaml(&d->fn_limits, b);
	if (rc == 0 && u->tls) {
		char name[DEPLOY_UP_NAME_MAX];
		deploy__role_name("edge", di, d->id, st->location[l].name, name);
		rc = tls_yaml(u, name, u->edge_tls[DEPLOY_UP_AT(u, di, l)], b);
	}
	deploy__state_path(u, "credentials/admin", path);
	rc = rc ? rc
	        : buf_printf(b, "admin:\n  listen: \"127.0.0.1:%u\"\n  credentials: ",
	                     u->edge_admin[DEPLOY_UP_AT(u, di, l)]);
	rc = rc ? rc : deploy__yaml_quote(b, path);
	return rc ? rc : buf_add_char(b, '\n');
}

/* Write config `rel` and run the role's own parser on it. */
static int write_config(struct deploy_up *u, const char *rel, struct buf *b, bool edge)
{
	char path[DEPLOY_UP_PATH_MAX], err[EDGE_CONFIG_ERR_LEN];
	deploy__state_path(u, rel, path);
	if (deploy__write_file(path, b->data, b->len, 0644) != 0) {
		fprintf(u->err, "up: cannot write %s: %s\n", path, strerror(errno));
		return ERR_IO;
	}
	int rc;
	if (edge) {
		struct edge_config c;
		rc = edge_config_parse(path, b->data, b->len, &c, err, sizeof(err));
		/* And its functions, as the edge loads them at start (compiled,
		 * top level run, a global handler), so that a bad file stops
		 * `up` before anything starts. No credentials: the signing
		 * bindings still bind, and nothing is called. A file the edge
		 * would refuse is a bad configuration, as `meridian edge` says. */
		struct edge_fn_set *fns = NULL;
		static const struct edge_fn_sign_creds none;
		if (rc == 0) {
			rc = edge_fn_set_new(&c, &none, &fns, err, sizeof(err));
			if (rc == 0)
				edge_fn_set_free(fns);
			else if (rc != ERR_NOMEM)
				rc = ERR_CONFIG_SCHEMA;
		}
		edge_config_free(&c);
	} else {
		struct router_config c;
		rc = router_config_parse(path, b->data, b->len, &c, err, sizeof(err));
		if (rc == 0)
			router_config_free(&c);
	}
	if (rc)
		fprintf(u->err,
		        "%s\nup: the stack gives a configuration its role refuses (above)\n", err);
	return rc;
}

/* ---- children ---- */

void deploy__role_name(const char *role, uint32_t i, const char *what, const char *loc, char *out)
{
	if (i == 0)
		snprintf(out, DEPLOY_UP_NAME_MAX, "%s-%s", role, loc);
	else
		snprintf(out, DEPLOY_UP_NAME_MAX, "%s-%s-%s", role, what, loc);
	/* A file name: logs/NAME.log, config/NAME.yaml. */
	for (char *c = out; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			*c = '_';
}

/* deploy__proc_add, refusing a name a child has already (two roles' names
 * that meet, as router-a-b-c for access point a at b-c and the first
 * access point at a-b-c). */
static int add_child(struct deploy_up *u, enum deploy_up_kind kind, const char *name, uint16_t port,
                     const char *const *argv)
{
	for (unsigned k = 0; k < u->nproc; k++) {
		if (strcmp(u->proc[k].name, name) == 0) {
			fprintf(u->err,
			        "up: two processes would be named %s; rename an access point, "
			        "distribution or location\n",
			        name);
			return ERR_INVALID;
		}
	}
	return deploy__proc_add(u, kind, name, port, argv);
}

static int add_children(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	char users[DEPLOY_UP_PATH_MAX];
	deploy__state_path(u, "credentials/store-users", users);
	int rc = 0;
	for (uint32_t s = 0; rc == 0 && s < st->nstores; s++) {
		const struct deploy_stack_store *so = &st->store[s];
		char name[DEPLOY_UP_NAME_MAX], listen[32], data[DEPLOY_UP_PATH_MAX], rel[256];
		char domain[300], access_log[DEPLOY_UP_PATH_MAX];
		snprintf(name, sizeof(name), "store-%s", so->region);
		snprintf(rel, sizeof(rel), "logs/%s.access.log", name);
		deploy__state_path(u, rel, access_log);
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", u->store_port[s]);
		snprintf(rel, sizeof(rel), "data/%s", so->region);
		deploy__state_path(u, rel, data);
		if (deploy__mkdir_p(data) != 0)
			return ERR_IO;
		snprintf(domain, sizeof(domain), "s3.%s.meridian.test", so->region);
		char aps[DEPLOY_STACK_ITEMS_MAX][320];
		const char *argv[DEPLOY_UP_ARGS_MAX + 1];
		int n = 0;
		const char *fixed[] = { "store",
			                "--listen",
			                listen,
			                "--data",
			                data,
			                "--region",
			                so->region,
			                "--credentials",
			                users,
			                "--domain",
			                domain,
			                "--mrap-domain",
			                DEPLOY_STACK_MRAP_DOMAIN,
			                "--access-log",
			                access_log };
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			argv[n++] = fixed[i];
		char tls_listen[32], tls_cert[DEPLOY_UP_PATH_MAX], tls_key[DEPLOY_UP_PATH_MAX];
		if (u->tls) {
			snprintf(tls_listen, sizeof(tls_listen), "127.0.0.1:%u", u->store_tls[s]);
			deploy__tls_files(u, name, tls_cert, tls_key);
			argv[n++] = "--tls-listen";
			argv[n++] = tls_listen;
			argv[n++] = "--tls-cert";
			argv[n++] = tls_cert;
			argv[n++] = "--tls-key";
			argv[n++] = tls_key;
		}
		char peers[DEPLOY_UP_PATH_MAX];
		rc = deploy__repl_write(u, s, peers);
		if (rc)
			return rc;
		if (peers[0]) {
			argv[n++] = "--replication";
			argv[n++] = peers;
		}
		unsigned np = 0;
		for (uint32_t bi = 0; bi < st->nbuckets && np < DEPLOY_STACK_ITEMS_MAX; bi++) {
			const struct deploy_stack_bucket *bk = &st->bucket[bi];
			if (bk->store != s || !bk->anonymous_read || n + 2 > DEPLOY_UP_ARGS_MAX - 2)
				continue;
			argv[n++] = "--public-read";
			argv[n++] = bk->name;
		}
		for (uint32_t a = 0; a < st->naccess_points; a++) {
			const struct deploy_stack_access_point *ap = &st->access_point[a];
			for (uint32_t r = 0; r < ap->nregions; r++) {
				const struct deploy_stack_bucket *bk =
				    &st->bucket[ap->region[r].bucket];
				if (bk->store != s || np == DEPLOY_STACK_ITEMS_MAX ||
				    n + 2 > DEPLOY_UP_ARGS_MAX)
					continue;
				snprintf(aps[np], sizeof(aps[np]), "%s=%s", ap->alias, bk->name);
				argv[n++] = "--access-point";
				argv[n++] = aps[np++];
			}
		}
		argv[n] = NULL;
		rc = deploy__proc_add(u, DEPLOY_UP_STORE, name, u->store_port[s], argv);
	}
	for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
		for (uint32_t s = 0; rc == 0 && s < st->nstores; s++) {
			uint16_t w = u->wan_port[(size_t)l * st->nstores + s];
			if (!w)
				continue;
			const struct deploy_stack_link *lk =
			    link_between(st, l, st->store[s].location);
			char name[DEPLOY_UP_NAME_MAX], listen[32], to[32], delay[16], jitter[16];
			snprintf(name, sizeof(name), "wan-%s-to-%s", st->location[l].name,
			         st->store[s].region);
			snprintf(listen, sizeof(listen), "127.0.0.1:%u", w);
			snprintf(to, sizeof(to), "127.0.0.1:%u", deploy__store_data_port(u, s));
			snprintf(delay, sizeof(delay), "%u", lk->delay_ms);
			snprintf(jitter, sizeof(jitter), "%u", lk->jitter_ms);
			const char *argv[] = {
				"wan",        "--listen", listen,        "--to", to,
				"--delay-ms", delay,      "--jitter-ms", jitter, NULL
			};
			rc = deploy__proc_add(u, DEPLOY_UP_WAN, name, w, argv);
		}
	}
	struct buf b;
	buf_init(&b, CONFIG_MAX);
	for (uint32_t a = 0; rc == 0 && a < st->naccess_points; a++) {
		for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
			uint16_t port = u->router_port[DEPLOY_UP_AT(u, a, l)];
			if (!port)
				continue;
			char name[DEPLOY_UP_NAME_MAX], listen[32], rel[256];
			char path[DEPLOY_UP_PATH_MAX];
			deploy__role_name("router", a, st->access_point[a].name,
			                  st->location[l].name, name);
			snprintf(rel, sizeof(rel), "config/%s.yaml", name);
			buf_reset(&b);
			rc = router_yaml(u, a, l, &b);
			rc = rc ? rc : write_config(u, rel, &b, false);
			if (rc)
				break;
			deploy__state_path(u, rel, path);
			snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
			const char *argv[] = { "router", "--listen",  listen, "--config",
				               path,     "--workers", "1",    NULL };
			rc = add_child(u, DEPLOY_UP_ROUTER, name, port, argv);
		}
	}
	for (uint32_t d = 0; rc == 0 && d < st->ndistributions; d++) {
		const struct deploy_stack_distribution *di = &st->distribution[d];
		for (uint32_t li = 0; rc == 0 && li < di->nlocations; li++) {
			uint32_t l = di->location[li];
			uint16_t port = u->edge_port[DEPLOY_UP_AT(u, d, l)];
			char name[DEPLOY_UP_NAME_MAX], listen[32], rel[256];
			char path[DEPLOY_UP_PATH_MAX];
			deploy__role_name("edge", d, di->id, st->location[l].name, name);
			snprintf(rel, sizeof(rel), "config/%s.yaml", name);
			buf_reset(&b);
			rc = deploy__edge_yaml(u, d, li, &b);
			rc = rc ? rc : write_config(u, rel, &b, true);
			if (rc)
				break;
			deploy__state_path(u, rel, path);
			snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
			const char *argv[] = { "edge",     "--listen",   listen,
				               "--config", path,         "--workers",
				               "1",        "--location", st->location[l].name,
				               NULL };
			rc = add_child(u, DEPLOY_UP_EDGE, name, port, argv);
		}
	}
	buf_free(&b);
	if (rc == ERR_TOO_BIG)
		fprintf(u->err, "up: the stack needs more than %d processes or arguments\n",
		        DEPLOY_UP_PROCS_MAX);
	return rc;
}

/* ---- runtime attributes ---- */

struct attr_ctx {
	const struct deploy_up *u;
	char value[2 * DEPLOY_UP_PATH_MAX];
};

static int attr_fn(void *ctx, const struct deploy_stack_resource *r, const char *attr,
                   struct iov *value)
{
	struct attr_ctx *c = ctx;
	const struct deploy_up *u = c->u;
	char *v = c->value;
	size_t cap = sizeof(c->value);
	/* A location's EdgeUrl and RouterUrl: the first distribution's and
	 * the first access point's that run there. */
	uint16_t port = 0;
	if (r->type == DEPLOY_STACK_LOCATION && strcmp(attr, "EdgeUrl") == 0)
		for (uint32_t d = 0; !port && d < u->st->ndistributions; d++)
			port = u->edge_port[DEPLOY_UP_AT(u, d, r->index)];
	if (r->type == DEPLOY_STACK_LOCATION && strcmp(attr, "RouterUrl") == 0)
		for (uint32_t a = 0; !port && a < u->st->naccess_points; a++)
			port = u->router_port[DEPLOY_UP_AT(u, a, r->index)];
	if (r->type == DEPLOY_STACK_LOCATION &&
	    (strcmp(attr, "EdgeUrl") == 0 || strcmp(attr, "RouterUrl") == 0))
		snprintf(v, cap, "http://127.0.0.1:%u", port);
	else if (r->type == DEPLOY_STACK_STORE && strcmp(attr, "Endpoint") == 0)
		snprintf(v, cap, "http://127.0.0.1:%u", u->store_port[r->index]);
	else if (r->type == DEPLOY_STACK_STORE && strcmp(attr, "Port") == 0)
		snprintf(v, cap, "%u", u->store_port[r->index]);
	else if (r->type == DEPLOY_STACK_CREDENTIALS && strcmp(attr, "AccessKeyId") == 0)
		snprintf(v, cap, "%s", u->key[r->index]);
	else if (r->type == DEPLOY_STACK_CREDENTIALS && strcmp(attr, "File") == 0)
		snprintf(v, cap, "%s/credentials/%s", u->state,
		         u->st->credentials[r->index].logical_id);
	else
		return ERR_INVALID;
	*value = iov_cstr(v);
	return 0;
}

/* ---- buckets ---- */

/* Versioning as the stack says. */
static int put_versioning(struct deploy_up *u, uint32_t bi, const struct deploy_up_sign *sg)
{
	const struct deploy_stack_bucket *bk = &u->st->bucket[bi];
	char vb[256], target[128];
	int n =
	    snprintf(vb, sizeof(vb),
	             "<VersioningConfiguration "
	             "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>%s</"
	             "Status></VersioningConfiguration>",
	             bk->versioning == DEPLOY_STACK_VERSIONING_ENABLED ? "Enabled" : "Suspended");
	snprintf(target, sizeof(target), "/%s?versioning", bk->name);
	struct buf body;
	buf_init(&body, DEPLOY_UP_BODY_MAX);
	int status = 0;
	int rc = deploy__http(u->store_port[bk->store], "PUT", target, "127.0.0.1", sg, vb,
	                      (size_t)n, HTTP_TIMEOUT, &status, &body);
	if (rc || status != 200) {
		fprintf(u->err, "up: versioning of %s: %d %.*s\n", bk->name, status, (int)body.len,
		        body.data);
		rc = rc ? rc : ERR_UP_HTTP;
	}
	buf_free(&body);
	return rc;
}

/* CreateBucket and versioning. *kept: the bucket was there already (a
 * second `up`): its data stays as it is and it is not seeded again, but
 * Versioning: Enabled is applied (idempotent; replication rules need it). */
static int create_bucket(struct deploy_up *u, uint32_t bi, bool *kept)
{
	const struct deploy_stack *st = u->st;
	const struct deploy_stack_bucket *bk = &st->bucket[bi];
	const struct deploy_stack_store *so = &st->store[bk->store];
	struct deploy_up_sign sg = { .region = so->region };
	deploy__store_keys(u, bk->store, &sg.access_key, &sg.secret_key);
	char target[128];
	snprintf(target, sizeof(target), "/%s", bk->name);
	int status = 0;
	struct buf body;
	buf_init(&body, DEPLOY_UP_BODY_MAX);
	int rc = deploy__http(u->store_port[bk->store], "PUT", target, "127.0.0.1", &sg, NULL, 0,
	                      HTTP_TIMEOUT, &status, &body);
	*kept = rc == 0 && status == 409;
	if (!*kept && (rc || status != 200)) {
		fprintf(u->err, "up: create bucket %s in %s: %s %d %.*s\n", bk->name, so->region,
		        rc ? err_text(rc) : "status", status, (int)body.len, body.data);
		rc = rc ? rc : ERR_UP_HTTP;
	}
	buf_free(&body);
	if (rc)
		return rc;
	fprintf(u->out, "  bucket %-22s %s in %s\n", bk->name,
	        *kept ? "kept (it exists)" : "created", so->region);
	bool set = *kept ? bk->versioning == DEPLOY_STACK_VERSIONING_ENABLED
	                 : bk->versioning != DEPLOY_STACK_VERSIONING_OFF;
	return set ? put_versioning(u, bi, &sg) : 0;
}

/* Each object of a new bucket: its Body (runtime attributes expanded) or
 * its File. */
static int seed_bucket(struct deploy_up *u, uint32_t bi)
{
	const struct deploy_stack *st = u->st;
	const struct deploy_stack_bucket *bk = &st->bucket[bi];
	const struct deploy_stack_store *so = &st->store[bk->store];
	uint16_t port = u->store_port[bk->store];
	struct deploy_up_sign sg = { .region = so->region };
	deploy__store_keys(u, bk->store, &sg.access_key, &sg.secret_key);
	char target[1024];
	int status = 0, rc = 0;
	struct buf body;
	buf_init(&body, DEPLOY_UP_BODY_MAX);
	for (uint32_t i = 0; rc == 0 && i < bk->nobjects; i++) {
		const struct deploy_stack_object *o = &bk->object[i];
		struct buf data;
		buf_init(&data, SEED_FILE_MAX);
		if (o->file) {
			rc = read_file(o->file, SEED_FILE_MAX, &data);
			if (rc)
				fprintf(u->err, "up: seed %s/%s: cannot read %s: %s\n", bk->name,
				        o->key, o->file, err_text(rc));
		} else if (o->deferred) {
			static struct attr_ctx ctx;
			char out[DEPLOY_STACK_VALUE_MAX];
			size_t len = 0;
			ctx.u = u;
			rc =
			    deploy_stack_expand(st, o->body, attr_fn, &ctx, out, sizeof(out), &len);
			rc = rc ? rc : buf_add(&data, out, len);
		} else if (o->body) {
			rc = buf_add(&data, o->body, o->body_len);
		}
		char key[900];
		if (rc == 0 && deploy__path_encode(o->key, key, sizeof(key)) != 0)
			rc = ERR_TOO_BIG;
		if (rc == 0) {
			snprintf(target, sizeof(target), "/%s/%s", bk->name, key);
			buf_reset(&body);
			rc = deploy__http(port, "PUT", target, "127.0.0.1", &sg, data.data,
			                  data.len, HTTP_TIMEOUT, &status, &body);
			if (rc == 0 && status != 200) {
				fprintf(u->err, "up: seed %s/%s: %d %.*s\n", bk->name, o->key,
				        status, (int)body.len, body.data);
				rc = ERR_UP_HTTP;
			}
		}
		buf_free(&data);
	}
	buf_free(&body);
	if (rc == 0 && bk->nobjects)
		fprintf(u->out, "  bucket %-22s seeded: %u object%s\n", bk->name, bk->nobjects,
		        bk->nobjects == 1 ? "" : "s");
	return rc;
}

/* Right after the stores are healthy, in three passes, so that a rule
 * never names a bucket not yet made and a seeded object under a rule's
 * prefix replicates: every bucket created (versioning set), then every
 * bucket's replication rules, then the new buckets' objects. */
static int make_buckets(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	bool *kept = calloc(st->nbuckets ? st->nbuckets : 1, sizeof(bool));
	if (!kept)
		return ERR_NOMEM;
	fprintf(u->out, "creating buckets\n");
	int rc = 0;
	for (uint32_t b = 0; rc == 0 && b < st->nbuckets; b++)
		rc = create_bucket(u, b, &kept[b]);
	for (uint32_t b = 0; rc == 0 && b < st->nbuckets; b++)
		rc = deploy__repl_apply(u, b, kept[b]);
	for (uint32_t b = 0; rc == 0 && b < st->nbuckets; b++)
		if (!kept[b])
			rc = seed_bucket(u, b);
	free(kept);
	return rc;
}

/* ---- endpoints ---- */

static int json_str(struct buf *b, const char *s)
{
	int rc = buf_add_char(b, '"');
	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			rc = buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			rc = buf_printf(b, "\\u%04x", c);
		else
			rc = buf_add_char(b, (char)c);
	}
	return rc ? rc : buf_add_char(b, '"');
}

/* "key": {"LOCATION": "SCHEME://127.0.0.1:PORT", ...}, for the locations
 * that run the role (runs[l] != 0), with port[l]. */
static int json_urls(struct buf *b, const struct deploy_up *u, const char *key,
                     const uint16_t *runs, const uint16_t *port, const char *scheme)
{
	int rc = json_str(b, key);
	rc = rc ? rc : buf_add_str(b, ": {");
	bool first = true;
	for (uint32_t l = 0; rc == 0 && l < u->st->nlocations; l++) {
		if (!runs[l])
			continue;
		rc = buf_add_str(b, first ? "" : ", ");
		rc = rc ? rc : json_str(b, u->st->location[l].name);
		rc = rc ? rc : buf_printf(b, ": \"%s://127.0.0.1:%u\"", scheme, port[l]);
		first = false;
	}
	return rc ? rc : buf_add_str(b, "},\n  ");
}

static int json_location_urls(struct buf *b, const struct deploy_up *u, const char *key,
                              const uint16_t *runs, const uint16_t *port)
{
	return json_urls(b, u, key, runs, port, "http");
}

/* With TLS: "tls": {"ca": PATH, "edges": {...}, "routers": {...},
 * "stores": {...}} with the HTTPS URLs (the first distribution's and
 * access point's, as the plain lists). */
static int json_tls(struct buf *b, const struct deploy_up *u)
{
	char ca[DEPLOY_UP_PATH_MAX], cak[DEPLOY_UP_PATH_MAX];
	deploy__tls_files(u, "ca", ca, cak);
	int rc = buf_add_str(b, "\"tls\": {\"ca\": ");
	rc = rc ? rc : json_str(b, ca);
	rc = rc ? rc : buf_add_str(b, ",\n    ");
	rc = rc ? rc : json_urls(b, u, "edges", u->edge_port, u->edge_tls, "https");
	rc = rc ? rc : buf_add_str(b, "  ");
	rc = rc ? rc : json_urls(b, u, "routers", u->router_port, u->router_tls, "https");
	rc = rc ? rc : buf_add_str(b, "  \"stores\": {");
	for (uint32_t s = 0; rc == 0 && s < u->st->nstores; s++) {
		rc = buf_add_str(b, s ? ", " : "");
		rc = rc ? rc : json_str(b, u->st->store[s].region);
		rc = rc ? rc : buf_printf(b, ": \"https://127.0.0.1:%u\"", u->store_tls[s]);
	}
	return rc ? rc : buf_add_str(b, "}},\n  ");
}

static int write_endpoints(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	struct buf b;
	buf_init(&b, 1u << 20);
	int rc = buf_add_str(&b, "{\n  ");
	/* The first distribution's edges and the first access point's
	 * routers (the shape), then every one of each. */
	rc = rc ? rc : json_location_urls(&b, u, "edges", u->edge_port, u->edge_port);
	rc = rc ? rc : json_location_urls(&b, u, "routers", u->router_port, u->router_port);
	rc = rc ? rc : json_location_urls(&b, u, "router_admin", u->router_port, u->router_admin);
	rc = rc ? rc : json_location_urls(&b, u, "edge_admin", u->edge_port, u->edge_admin);
	if (rc == 0 && u->tls)
		rc = json_tls(&b, u);
	rc = rc ? rc : buf_add_str(&b, "\"access_points\": {");
	for (uint32_t a = 0; rc == 0 && a < st->naccess_points; a++) {
		const struct deploy_stack_access_point *ap = &st->access_point[a];
		const uint16_t *rp = &u->router_port[DEPLOY_UP_AT(u, a, 0)];
		const uint16_t *ra = &u->router_admin[DEPLOY_UP_AT(u, a, 0)];
		rc = buf_add_str(&b, a ? ",\n    " : "\n    ");
		rc = rc ? rc : json_str(&b, ap->name);
		rc = rc ? rc : buf_add_str(&b, ": {\"alias\": ");
		rc = rc ? rc : json_str(&b, ap->alias);
		rc = rc ? rc : buf_add_str(&b, ", \"host\": ");
		rc = rc ? rc : json_str(&b, ap->host);
		rc = rc ? rc : buf_add_str(&b, ", \"regions\": [");
		for (uint32_t r = 0; rc == 0 && r < ap->nregions; r++) {
			rc = buf_add_str(&b, r ? ", " : "");
			rc = rc ? rc
			        : json_str(
			              &b, st->store[st->bucket[ap->region[r].bucket].store].region);
		}
		rc = rc ? rc : buf_add_str(&b, "],\n      ");
		rc = rc ? rc : json_location_urls(&b, u, "routers", rp, rp);
		if (rc == 0 && u->tls) {
			rc = buf_add_str(&b, "    ");
			rc = rc ? rc
			        : json_urls(&b, u, "https_routers", rp,
			                    &u->router_tls[DEPLOY_UP_AT(u, a, 0)], "https");
		}
		rc = rc ? rc : buf_add_str(&b, "    ");
		rc = rc ? rc : json_location_urls(&b, u, "router_admin", rp, ra);
		if (rc == 0)
			b.len -= 4; /* json_location_urls' ",\n  " */
		rc = rc ? rc : buf_add_char(&b, '}');
	}
	rc = rc ? rc : buf_add_str(&b, "},\n  \"distributions\": {");
	for (uint32_t d = 0; rc == 0 && d < st->ndistributions; d++) {
		const struct deploy_stack_distribution *di = &st->distribution[d];
		const uint16_t *ep = &u->edge_port[DEPLOY_UP_AT(u, d, 0)];
		const uint16_t *ea = &u->edge_admin[DEPLOY_UP_AT(u, d, 0)];
		rc = buf_add_str(&b, d ? ",\n    " : "\n    ");
		rc = rc ? rc : json_str(&b, di->id);
		rc = rc ? rc : buf_add_str(&b, ": {\"domain\": ");
		rc = rc ? rc : json_str(&b, di->domain);
		rc = rc ? rc : buf_add_str(&b, ",\n      ");
		rc = rc ? rc : json_location_urls(&b, u, "edges", ep, ep);
		if (rc == 0 && u->tls) {
			rc = buf_add_str(&b, "    ");
			rc = rc ? rc
			        : json_urls(&b, u, "https_edges", ep,
			                    &u->edge_tls[DEPLOY_UP_AT(u, d, 0)], "https");
		}
		rc = rc ? rc : buf_add_str(&b, "    ");
		rc = rc ? rc : json_location_urls(&b, u, "edge_admin", ep, ea);
		if (rc == 0)
			b.len -= 4;
		rc = rc ? rc : buf_add_char(&b, '}');
	}
	rc = rc ? rc : buf_add_str(&b, "},\n  ");
	rc = rc ? rc : buf_add_str(&b, "\"stores\": {");
	for (uint32_t s = 0; rc == 0 && s < st->nstores; s++) {
		rc = buf_add_str(&b, s ? ", " : "");
		rc = rc ? rc : json_str(&b, st->store[s].region);
		rc = rc ? rc : buf_printf(&b, ": \"http://127.0.0.1:%u\"", u->store_port[s]);
	}
	rc = rc ? rc : buf_add_str(&b, "},\n  \"buckets\": {");
	for (uint32_t i = 0; rc == 0 && i < st->nbuckets; i++) {
		rc = buf_add_str(&b, i ? ", " : "");
		rc = rc ? rc : json_str(&b, st->bucket[i].name);
		rc = rc ? rc : buf_add_str(&b, ": ");
		rc = rc ? rc : json_str(&b, st->store[st->bucket[i].store].region);
	}
	rc = rc ? rc : buf_add_str(&b, "},\n  \"access_point\": ");
	if (rc == 0 && st->naccess_points) {
		const struct deploy_stack_access_point *ap = &st->access_point[0];
		rc = buf_add_str(&b, "{\"name\": ");
		rc = rc ? rc : json_str(&b, ap->name);
		rc = rc ? rc : buf_add_str(&b, ", \"alias\": ");
		rc = rc ? rc : json_str(&b, ap->alias);
		rc = rc ? rc : buf_add_str(&b, ", \"host\": ");
		rc = rc ? rc : json_str(&b, ap->host);
		rc = rc ? rc : buf_add_char(&b, '}');
	} else if (rc == 0) {
		rc = buf_add_str(&b, "null");
	}
	char path[DEPLOY_UP_PATH_MAX];
	if (st->ncredentials) {
		char rel[DEPLOY_UP_PATH_MAX];
		snprintf(rel, sizeof(rel), "credentials/%s", st->credentials[0].logical_id);
		deploy__state_path(u, rel, path);
	} else {
		deploy__state_path(u, "credentials/admin", path);
	}
	rc = rc ? rc : buf_add_str(&b, ",\n  \"credentials\": ");
	rc = rc ? rc : json_str(&b, path);
	deploy__state_path(u, "credentials/admin", path);
	rc = rc ? rc : buf_add_str(&b, ",\n  \"admin_credentials\": ");
	rc = rc ? rc : json_str(&b, path);
	rc = rc ? rc : buf_add_str(&b, "\n}\n");
	deploy__state_path(u, "endpoints.json", path);
	rc = rc ? rc : deploy__write_file(path, b.data, b.len, 0644);
	buf_free(&b);
	/* The routers' and edges' control endpoints for `region` and
	 * `status`: "router LOC PORT ADMIN AP REGION,REGION..." and
	 * "edge LOC PORT ADMIN DISTRIBUTION". */
	buf_init(&b, 1u << 20);
	for (uint32_t a = 0; rc == 0 && a < st->naccess_points; a++) {
		const struct deploy_stack_access_point *ap = &st->access_point[a];
		for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
			size_t at = DEPLOY_UP_AT(u, a, l);
			if (!u->router_port[at])
				continue;
			rc = buf_printf(&b, "router %s %u %u %s ", st->location[l].name,
			                u->router_port[at], u->router_admin[at], ap->name);
			for (uint32_t r = 0; rc == 0 && r < ap->nregions; r++)
				rc = buf_printf(
				    &b, "%s%s", r ? "," : "",
				    st->store[st->bucket[ap->region[r].bucket].store].region);
			rc = rc ? rc : buf_add_char(&b, '\n');
		}
	}
	for (uint32_t d = 0; rc == 0 && d < st->ndistributions; d++)
		for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
			size_t at = DEPLOY_UP_AT(u, d, l);
			if (u->edge_port[at])
				rc = buf_printf(&b, "edge %s %u %u %s\n", st->location[l].name,
				                u->edge_port[at], u->edge_admin[at],
				                st->distribution[d].id);
		}
	deploy__state_path(u, "controls", path);
	rc = rc ? rc : deploy__write_file(path, b.data, b.len, 0644);
	buf_free(&b);
	return rc;
}

static void print_ready(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	FILE *o = u->out;
	fprintf(o, "\n%s is up. Endpoints (also in %s/endpoints.json):\n",
	        st->description ? st->description : "the stack", u->state);
	fprintf(o, "  %-10s %-14s %-30s %s\n", "role", "location", "url", "of");
	for (uint32_t d = 0; d < st->ndistributions; d++)
		for (uint32_t l = 0; l < st->nlocations; l++) {
			size_t at = DEPLOY_UP_AT(u, d, l);
			if (!u->edge_port[at])
				continue;
			char url[64];
			if (u->tls)
				snprintf(url, sizeof(url), "https://127.0.0.1:%u (http :%u)",
				         u->edge_tls[at], u->edge_port[at]);
			else
				snprintf(url, sizeof(url), "http://127.0.0.1:%u", u->edge_port[at]);
			fprintf(o, "  %-10s %-14s %-30s distribution %s\n", "edge",
			        st->location[l].name, url, st->distribution[d].id);
		}
	for (uint32_t a = 0; a < st->naccess_points; a++)
		for (uint32_t l = 0; l < st->nlocations; l++) {
			size_t at = DEPLOY_UP_AT(u, a, l);
			if (!u->router_port[at])
				continue;
			char url[80];
			if (u->tls)
				snprintf(
				    url, sizeof(url), "https://127.0.0.1:%u (http :%u, admin :%u)",
				    u->router_tls[at], u->router_port[at], u->router_admin[at]);
			else
				snprintf(url, sizeof(url), "http://127.0.0.1:%u (admin :%u)",
				         u->router_port[at], u->router_admin[at]);
			fprintf(o, "  %-10s %-14s %-30s access point %s\n", "router",
			        st->location[l].name, url, st->access_point[a].name);
		}
	for (uint32_t s = 0; s < st->nstores; s++) {
		if (u->tls)
			fprintf(o, "  %-10s %-14s https://127.0.0.1:%u (http :%u)\n", "store",
			        st->store[s].region, u->store_tls[s], u->store_port[s]);
		else
			fprintf(o, "  %-10s %-14s http://127.0.0.1:%u\n", "store",
			        st->store[s].region, u->store_port[s]);
	}
	for (uint32_t a = 0; a < st->naccess_points; a++)
		fprintf(o, "  access point %s: %s\n", st->access_point[a].name,
		        st->access_point[a].host);
	char ca[DEPLOY_UP_PATH_MAX], cak[DEPLOY_UP_PATH_MAX];
	deploy__tls_files(u, "ca", ca, cak);
	if (u->tls)
		fprintf(o,
		        "\nHTTPS: every certificate is signed by the stack's CA %s (kept across\n"
		        "runs). Trust it per command (curl --cacert %s, aws --ca-bundle,\n"
		        "AWS_CA_BUNDLE=...) or system-wide: cp %s\n"
		        "/usr/local/share/ca-certificates/meridian-stack.crt && "
		        "update-ca-certificates\n",
		        ca, ca, ca);
	fprintf(o, "\nTry:\n");
	for (uint32_t d = 0; d < st->ndistributions; d++) {
		const struct deploy_stack_distribution *di = &st->distribution[d];
		const char *root = di->default_root_object ? di->default_root_object : "";
		for (uint32_t l = 0; l < st->nlocations; l++) {
			uint16_t port = u->edge_port[DEPLOY_UP_AT(u, d, l)];
			if (!port)
				continue;
			if (d == 0)
				fprintf(o, "  # as a client near %s:\n", st->location[l].name);
			else
				fprintf(o, "  # as a client near %s, through distribution %s:\n",
				        st->location[l].name, di->id);
			if (u->tls)
				fprintf(o, "  curl --cacert %s https://127.0.0.1:%u/%s\n", ca,
				        u->edge_tls[DEPLOY_UP_AT(u, d, l)], root);
			else
				fprintf(o, "  curl http://127.0.0.1:%u/%s\n", port, root);
		}
	}
	if (st->naccess_points && st->access_point[0].nregions)
		fprintf(o,
		        "  # the failover drill (every router of every access point with the "
		        "region):\n  meridian region passive %s --state %s\n"
		        "  meridian region active %s --state %s\n",
		        st->store[st->bucket[st->access_point[0].region[0].bucket].store].region,
		        u->state,
		        st->store[st->bucket[st->access_point[0].region[0].bucket].store].region,
		        u->state);
	if (st->noutputs)
		fprintf(o, "\nOutputs:\n");
	for (uint32_t i = 0; i < st->noutputs; i++) {
		const struct deploy_stack_output *out = &st->output[i];
		char v[DEPLOY_STACK_VALUE_MAX];
		size_t len = 0;
		const char *val = out->value;
		if (out->deferred) {
			static struct attr_ctx ctx;
			ctx.u = u;
			if (deploy_stack_expand(st, out->value, attr_fn, &ctx, v, sizeof(v),
			                        &len) == 0)
				val = v;
		}
		fprintf(o, "  %s = %s%s%s\n", out->name, val, out->description ? "   # " : "",
		        out->description ? out->description : "");
	}
	fprintf(o, "\n");
	fflush(o);
}

/* ---- the command ---- */

static void print_diag(FILE *err, const struct deploy_stack_diag *d, int rc)
{
	for (uint32_t i = 0; i < d->n; i++)
		fprintf(err, "%s\n", d->msg[i].text);
	if (d->dropped)
		fprintf(err, "... and %u more errors\n", d->dropped);
	if (d->n == 0)
		fprintf(err, "up: cannot read the stack: %s\n", err_text(rc));
}

static int load_stack(const struct deploy_up_opts *o, struct deploy_up *u)
{
	static struct deploy_stack_diag diag;
	memset(&diag, 0, sizeof(diag));
	int rc = o->file ? deploy_stack_load(o->file, o->params, o->nparams, &u->st, &diag)
	                 : deploy_stack_parse("default-stack.yaml", deploy_stack_default_yaml,
	                                      strlen(deploy_stack_default_yaml), o->params,
	                                      o->nparams, &u->st, &diag);
	if (rc)
		print_diag(u->err, &diag, rc);
	return rc;
}

static int alloc_plan(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	size_t nl = st->nlocations ? st->nlocations : 1, ns = st->nstores ? st->nstores : 1;
	size_t nc = st->ncredentials ? st->ncredentials : 1;
	u->store_port = calloc(ns, sizeof(uint16_t));
	u->wan_port = calloc(nl * ns, sizeof(uint16_t));
	size_t na = st->naccess_points ? st->naccess_points : 1;
	size_t nd = st->ndistributions ? st->ndistributions : 1;
	u->router_port = calloc(na * nl, sizeof(uint16_t));
	u->router_admin = calloc(na * nl, sizeof(uint16_t));
	u->edge_port = calloc(nd * nl, sizeof(uint16_t));
	u->edge_admin = calloc(nd * nl, sizeof(uint16_t));
	u->store_tls = calloc(ns, sizeof(uint16_t));
	u->router_tls = calloc(na * nl, sizeof(uint16_t));
	u->edge_tls = calloc(nd * nl, sizeof(uint16_t));
	u->key = calloc(nc, sizeof(*u->key));
	u->secret = calloc(nc, sizeof(*u->secret));
	if (!u->store_port || !u->wan_port || !u->router_port || !u->router_admin ||
	    !u->edge_port || !u->edge_admin || !u->key || !u->secret || !u->store_tls ||
	    !u->router_tls || !u->edge_tls)
		return ERR_NOMEM;
	return 0;
}

static void free_plan(struct deploy_up *u)
{
	deploy__proc_free(u);
	free(u->store_port);
	free(u->wan_port);
	free(u->router_port);
	free(u->router_admin);
	free(u->edge_port);
	free(u->edge_admin);
	free(u->store_tls);
	free(u->router_tls);
	free(u->edge_tls);
	if (u->key && u->st) {
		size_t nc = u->st->ncredentials ? u->st->ncredentials : 1;
		explicit_bzero(u->secret, nc * sizeof(*u->secret));
	}
	free(u->key);
	free(u->secret);
	explicit_bzero(u->admin_secret, sizeof(u->admin_secret));
	deploy_stack_free(u->st);
}

static int write_pid(struct deploy_up *u)
{
	char path[DEPLOY_UP_PATH_MAX], line[32];
	deploy__state_path(u, "up.pid", path);
	int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	return deploy__write_file(path, line, (size_t)n, 0644);
}

static void remove_pid(struct deploy_up *u)
{
	char path[DEPLOY_UP_PATH_MAX];
	deploy__state_path(u, "up.pid", path);
	if (deploy__supervisor_pid(u->state) == getpid())
		unlink(path);
}

/* Everything after validation, in the process that will supervise. */
static int bring_up(struct deploy_up *u, bool detached)
{
	int rc = plan_keys(u);
	if (rc) {
		fprintf(u->err, "up: cannot write the credentials in %s/credentials\n", u->state);
		return rc;
	}
	rc = plan_ports(u);
	if (rc == 0 && u->tls)
		rc = deploy__tls_plan(u);
	rc = rc ? rc : add_children(u);
	if (rc)
		return rc;
	rc = write_pid(u);
	static const struct {
		enum deploy_up_kind kind;
		const char *what;
	} order[] = { { DEPLOY_UP_STORE, "stores" },
		      { DEPLOY_UP_WAN, "wan relays" },
		      { DEPLOY_UP_ROUTER, "routers" },
		      { DEPLOY_UP_EDGE, "edges" } };
	for (size_t i = 0; rc == 0 && i < sizeof(order) / sizeof(order[0]); i++) {
		bool any = false;
		for (unsigned k = 0; k < u->nproc; k++)
			any |= u->proc[k].kind == order[i].kind;
		if (!any)
			continue;
		fprintf(u->out, "starting %s\n", order[i].what);
		fflush(u->out);
		rc = deploy__start_kind(u, order[i].kind);
		if (rc == 0 && order[i].kind == DEPLOY_UP_STORE)
			rc = make_buckets(u);
	}
	rc = rc ? rc : write_endpoints(u);
	if (rc) {
		if (rc == ERR_UP_NOT_RUNNING)
			fprintf(u->err, "up: interrupted; stopping\n");
		deploy__stop_all(u);
		remove_pid(u);
		return rc;
	}
	print_ready(u);
	if (detached) {
		/* Detached: from here on output goes to STATE/logs/up.log. */
		char log[DEPLOY_UP_PATH_MAX];
		deploy__state_path(u, "logs/up.log", log);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) /* the pipes must close all the same: the command waits on them */
			fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
	} else {
		fprintf(u->out, "supervising; Ctrl-C stops everything\n");
		fflush(u->out);
	}
	deploy__supervise(u);
	fprintf(u->out, "up: every process stopped\n");
	fflush(u->out);
	remove_pid(u);
	return 0;
}

static volatile pid_t detached_pid;

static void forward_signal(int signum)
{
	(void)signum;
	if (detached_pid > 0)
		kill(detached_pid, SIGTERM);
}

/* -d: fork a supervisor in its own session; copy its startup output until
 * it closes the pipe, then report whether it is running. */
static int detach(struct deploy_up *u)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0)
		return ERR_IO;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return ERR_IO;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return ERR_IO;
	if (pid == 0) {
		close(po[0]);
		close(pe[0]);
		setsid();
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[1]);
		close(pe[1]);
		u->out = stdout;
		u->err = stderr;
		setvbuf(stdout, NULL, _IOLBF, 0);
		int rc = bring_up(u, true);
		free_plan(u);
		_exit(rc ? 1 : 0);
	}
	close(po[1]);
	close(pe[1]);
	/* Ctrl-C while it starts: the supervisor stops what it started and
	 * closes the pipes; this side keeps copying until then. */
	detached_pid = pid;
	struct sigaction sa = { .sa_handler = forward_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	struct pollfd fds[2] = { { .fd = po[0], .events = POLLIN },
		                 { .fd = pe[0], .events = POLLIN } };
	FILE *to[2] = { u->out, u->err };
	char b[4096];
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			ssize_t r = read(fds[i].fd, b, sizeof(b));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				continue;
			}
			fwrite(b, 1, (size_t)r, to[i]);
			fflush(to[i]);
		}
	}
	detached_pid = 0; /* started or failed: a signal from now on is ours alone */
	/* Ready (pid file names it, still running) or gone (its status). */
	int64_t end = deploy__now_ms() + 5000;
	while (deploy__now_ms() < end) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ERR_UP_CHILD;
		if (deploy__supervisor_pid(u->state) == pid) {
			fprintf(u->out, "detached: supervisor pid %d (meridian down --state %s)\n",
			        (int)pid, u->state);
			return 0;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return ERR_UP_TIMEOUT;
}

int deploy_up(const struct deploy_up_opts *o, FILE *out, FILE *err)
{
	static struct deploy_up u;
	memset(&u, 0, sizeof(u));
	u.out = out;
	u.err = err;
	u.next_port = o->base_port ? o->base_port : DEPLOY_UP_BASE_PORT;
	u.tls = !o->no_tls;
	int rc = load_stack(o, &u);
	if (rc)
		return rc;
	const char *state = o->state ? o->state : DEPLOY_UP_STATE_DEFAULT;
	char real[PATH_MAX];
	if (deploy__mkdir_p(state) != 0 || !realpath(state, real)) {
		fprintf(err, "up: cannot create the state directory %s: %s\n", state,
		        strerror(errno));
		deploy_stack_free(u.st);
		return ERR_IO;
	}
	if (strlen(real) >= sizeof(u.state)) {
		fprintf(err, "up: the state directory's path is too long: %s\n", real);
		deploy_stack_free(u.st);
		return ERR_TOO_BIG;
	}
	memcpy(u.state, real, strlen(real) + 1);
	pid_t other = deploy__supervisor_pid(u.state);
	if (other) {
		fprintf(err,
		        "up: a stack is already running from %s (pid %d); meridian down first\n",
		        u.state, (int)other);
		deploy_stack_free(u.st);
		return ERR_UP_RUNNING;
	}
	const char *sub[] = { "logs", "data", "config", "credentials" };
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char p[DEPLOY_UP_PATH_MAX];
		deploy__state_path(&u, sub[i], p);
		if (deploy__mkdir_p(p) != 0) {
			fprintf(err, "up: cannot create %s: %s\n", p, strerror(errno));
			deploy_stack_free(u.st);
			return ERR_IO;
		}
	}
	chmod(u.state, 0700);
	if (o->self)
		snprintf(u.self, sizeof(u.self), "%s", o->self);
	else {
		ssize_t n = readlink("/proc/self/exe", u.self, sizeof(u.self) - 1);
		if (n <= 0) {
			deploy_stack_free(u.st);
			return ERR_IO;
		}
		u.self[n] = '\0';
	}
	rc = alloc_plan(&u);
	if (rc) {
		free_plan(&u);
		return rc;
	}
	sigemptyset(&u.sigs);
	sigaddset(&u.sigs, SIGINT);
	sigaddset(&u.sigs, SIGTERM);
	sigaddset(&u.sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &u.sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(out, "stack: %s (%u resources) -> %s\n", o->file ? o->file : "the built-in demo",
	        u.st->nresources, u.state);
	fflush(out);
	rc = o->detach ? detach(&u) : bring_up(&u, false);
	free_plan(&u);
	return rc;
}
