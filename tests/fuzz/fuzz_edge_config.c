/*
 * libFuzzer: arbitrary bytes into edge/config. A refusal must be one of the
 * documented codes with a "f.yaml:line:col: " message and a zeroed struct.
 * An accepted file must keep every promise of config.h: counts within the
 * caps, unique ids, targets and members in range (members origins only,
 * unique), statuses from CloudFront's list in ascending order, TTLs in
 * order, the "*" behavior last and only there, method sets among the
 * three, ranges of every duration, and signing only with credentials.
 * Then it is freed and must be zero.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "edge/config.h"

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_origin(const struct edge_config_origin *o)
{
	CHECK(o->id && o->domain_name && o->id[0] && o->domain_name[0]);
	CHECK(o->http_port >= 1 && o->https_port >= 1 && o->connect_host && o->connect_host[0]);
	CHECK(o->protocol_policy >= EDGE_CONFIG_PROTO_HTTP_ONLY &&
	      o->protocol_policy <= EDGE_CONFIG_PROTO_MATCH_VIEWER);
	/* an address's port is HTTP's: never on an origin that only speaks HTTPS */
	CHECK(!o->address_port ||
	      (o->address && o->protocol_policy != EDGE_CONFIG_PROTO_HTTPS_ONLY));
	CHECK(!o->origin_path || (o->origin_path[0] == '/' && strlen(o->origin_path) <= 255));
	CHECK(o->nheaders <= EDGE_CONFIG_HEADERS_MAX && (o->nheaders == 0 || o->header));
	for (uint32_t j = 0; j < o->nheaders; j++)
		CHECK(o->header[j].name && o->header[j].name[0] && o->header[j].value);
	CHECK(o->connect_timeout_ms >= EDGE_CONFIG_CONNECT_TIMEOUT_MIN &&
	      o->connect_timeout_ms <= EDGE_CONFIG_CONNECT_TIMEOUT_MAX);
	CHECK(o->read_timeout_ms >= EDGE_CONFIG_READ_TIMEOUT_MIN &&
	      o->read_timeout_ms <= EDGE_CONFIG_READ_TIMEOUT_MAX);
	CHECK(o->keepalive_timeout_ms >= EDGE_CONFIG_KEEPALIVE_MIN &&
	      o->keepalive_timeout_ms <= EDGE_CONFIG_KEEPALIVE_MAX);
	CHECK(o->connection_attempts >= 1 && o->connection_attempts <= EDGE_CONFIG_ATTEMPTS_MAX);
}

static void check_group(const struct edge_config *c, const struct edge_config_group *g)
{
	CHECK(g->id && g->nmembers >= 2 && g->nmembers <= EDGE_CONFIG_MEMBERS_MAX);
	for (uint32_t j = 0; j < g->nmembers; j++) {
		CHECK(g->member[j] < c->norigins);
		for (uint32_t k = 0; k < j; k++)
			CHECK(g->member[k] != g->member[j]);
	}
	CHECK(g->nstatuses >= 1 && g->nstatuses <= EDGE_CONFIG_FAILOVER_STATUSES);
	for (uint32_t j = 0; j < g->nstatuses; j++) {
		CHECK(edge_config_group_fails_over(g, g->status[j]));
		CHECK(j == 0 || g->status[j - 1] < g->status[j]);
		CHECK(g->status[j] >= 400 && g->status[j] <= 504);
	}
	for (uint32_t i = 0; i < c->norigins; i++)
		CHECK(strcmp(c->origin[i].id, g->id) != 0);
}

static void check_behavior(const struct edge_config *c, const struct edge_config_behavior *b,
                           bool last)
{
	CHECK(b->path_pattern && strlen(b->path_pattern) <= EDGE_CONFIG_PATH_PATTERN_MAX);
	CHECK((strcmp(b->path_pattern, "*") == 0) == last);
	CHECK(edge_config_target_id(c, b) != NULL);
	CHECK(b->allowed_methods == EDGE_CONFIG_METHODS_GET_HEAD ||
	      b->allowed_methods == EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS ||
	      b->allowed_methods == EDGE_CONFIG_METHODS_ALL);
	CHECK((b->cached_methods == EDGE_CONFIG_METHODS_GET_HEAD ||
	       b->cached_methods == EDGE_CONFIG_METHODS_GET_HEAD_OPTIONS) &&
	      (b->cached_methods & b->allowed_methods) == b->cached_methods);
	CHECK(b->min_ttl_s <= b->default_ttl_s && b->default_ttl_s <= b->max_ttl_s);
	CHECK(b->max_ttl_s <= EDGE_CONFIG_TTL_CAP);
	CHECK(b->nquery <= EDGE_CONFIG_KEY_ITEMS_MAX &&
	      b->nkey_headers <= EDGE_CONFIG_KEY_ITEMS_MAX);
	CHECK(b->query_strings == EDGE_CONFIG_QUERY_LIST || b->nquery == 0);
	for (uint32_t j = 0; j < b->nkey_headers; j++)
		for (const char *p = b->key_header[j]; *p; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
	CHECK((b->signing == EDGE_CONFIG_SIGN_SIGV4) == (b->signing_region != NULL));
	CHECK(b->signing == EDGE_CONFIG_SIGN_NONE || c->signing.source != EDGE_CONFIG_CREDS_NONE);
	for (int e = 0; e < EDGE_CONFIG_FN_EVENTS; e++) {
		/* a function is its path, the path as written and where, or none of them */
		CHECK(!b->function[e] == !b->function_name[e] &&
		      !b->function[e] == !b->function_at[e]);
		CHECK(!b->function[e] || (b->function[e][0] && b->function_name[e][0]));
	}
	/* a policy that turns HTTP viewers away has an HTTPS listener */
	CHECK(b->viewer_policy == EDGE_CONFIG_VIEWER_ALLOW_ALL ||
	      ((b->viewer_policy == EDGE_CONFIG_VIEWER_REDIRECT_TO_HTTPS ||
	        b->viewer_policy == EDGE_CONFIG_VIEWER_HTTPS_ONLY) &&
	       c->tls.listen));
}

static void check_config(const struct edge_config *c)
{
	const struct edge_config_function_limits *l = &c->fn_limits;
	CHECK(l->memory_bytes >= EDGE_CONFIG_FN_MEMORY_MIN &&
	      l->memory_bytes <= EDGE_CONFIG_FN_MEMORY_MAX);
	CHECK(l->instructions >= EDGE_CONFIG_FN_INSTR_MIN &&
	      l->instructions <= EDGE_CONFIG_FN_INSTR_MAX);
	CHECK(l->viewer_timeout_ms >= 1 && l->viewer_timeout_ms <= EDGE_CONFIG_FN_VIEWER_MS_MAX);
	CHECK(l->origin_timeout_ms >= 1 && l->origin_timeout_ms <= EDGE_CONFIG_FN_ORIGIN_MS_MAX);
	CHECK(c->domain && c->domain[0]);
	CHECK(c->norigins >= 1 && c->norigins <= EDGE_CONFIG_ORIGINS_MAX);
	for (uint32_t i = 0; i < c->norigins; i++) {
		check_origin(&c->origin[i]);
		for (uint32_t j = 0; j < i; j++)
			CHECK(strcmp(c->origin[i].id, c->origin[j].id) != 0);
	}
	CHECK(c->ngroups <= EDGE_CONFIG_GROUPS_MAX);
	for (uint32_t i = 0; i < c->ngroups; i++) {
		check_group(c, &c->group[i]);
		for (uint32_t j = 0; j < i; j++)
			CHECK(strcmp(c->group[i].id, c->group[j].id) != 0);
	}
	CHECK(c->nbehaviors >= 1 && c->nbehaviors <= EDGE_CONFIG_BEHAVIORS_MAX);
	for (uint32_t i = 0; i < c->nbehaviors; i++)
		check_behavior(c, &c->behavior[i], i + 1 == c->nbehaviors);
	CHECK(c->signing.failover_header && c->signing.failover_header[0]);
	CHECK((c->signing.source == EDGE_CONFIG_CREDS_FILE) ==
	      (c->signing.credentials_path != NULL));
	CHECK(c->signing.source != EDGE_CONFIG_CREDS_ENV ||
	      (c->signing.access_key && c->signing.secret_key));
	CHECK(c->cache.memory_bytes >= EDGE_CONFIG_MEMORY_MIN &&
	      c->cache.memory_bytes <= EDGE_CONFIG_BYTES_MAX);
	CHECK(c->cache.error_ttl_ms <= EDGE_CONFIG_ERROR_TTL_MAX &&
	      c->cache.not_found_ttl_ms <= EDGE_CONFIG_ERROR_TTL_MAX);
	CHECK(!c->admin_listen || c->admin_credentials);
	/* the shared tls: section: a listener has certificates, and only then */
	CHECK(!c->tls.listen == (c->tls.ncerts == 0));
	CHECK(c->tls.ncerts <= NET_TLS_CERTS_MAX);
	for (size_t i = 0; i < c->tls.ncerts; i++)
		CHECK(c->tls.certs[i].cert_file && c->tls.certs[i].key_file);
	CHECK(!(c->tls.ca_file && c->tls.insecure));
	CHECK(c->tls.present || (!c->tls.listen && !c->tls.ca_file && !c->tls.insecure));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* So `credentials: env` can succeed as well as fail. */
	setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fuzzsecret", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[EDGE_CONFIG_ERR_LEN];
	struct edge_config c;
	int rc = edge_config_parse("/f/f.yaml", (const char *)data, size, &c, err, sizeof(err));
	if (rc != 0) {
		CHECK(rc == ERR_CONFIG_YAML || rc == ERR_CONFIG_SCHEMA || rc == ERR_TOO_BIG ||
		      rc == ERR_NOMEM);
		CHECK(all_zero(&c, sizeof(c)));
		if (rc == ERR_NOMEM)
			return 0;
		unsigned line, col;
		int used = 0;
		CHECK(sscanf(err, "/f/f.yaml:%u:%u: %n", &line, &col, &used) == 2 && used > 0);
		CHECK(line >= 1 && col >= 1 && err[used] != '\0');
		return 0;
	}
	check_config(&c);
	edge_config_free(&c);
	CHECK(all_zero(&c, sizeof(c)));
	return 0;
}
