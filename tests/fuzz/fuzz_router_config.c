/*
 * libFuzzer: arbitrary bytes into router/config. A refusal must be one of
 * the documented codes with a "f.yaml:line:col: " message and a zeroed
 * struct. An accepted file must keep every promise of config.h: 1..17
 * regions with checked names, unique names, endpoints and ids equal to
 * region_id(), at least one active, durations in range, and admin.listen
 * only with credentials, tls_name exactly on https regions, the tls section
 * as http/tls_config.h says. Then it is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "crypto/region.h"
#include "router/config.h"

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool word_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static void check_config(const struct router_config *c)
{
	CHECK(c->name && c->alias && strlen(c->name) >= 3 && strlen(c->name) <= 50);
	CHECK(word_chars(c->name));
	CHECK(c->nregions >= 1 && c->nregions <= ROUTER_REGIONS_MAX);
	bool active = false, any_https = false;
	for (uint32_t i = 0; i < c->nregions; i++) {
		const struct router_config_region *r = &c->region[i];
		CHECK(r->name && r->endpoint && r->bucket);
		CHECK(strlen(r->name) >= 1 && strlen(r->name) <= 32 && word_chars(r->name));
		CHECK(r->id == region_id(r->name));
		CHECK(r->dial == ROUTER_DIAL_ACTIVE || r->dial == ROUTER_DIAL_PASSIVE);
		active |= r->dial == ROUTER_DIAL_ACTIVE;
		/* https regions have the name their certificate is checked for;
		 * server_name only on them, and then it is that name. */
		CHECK(r->https == (r->tls_name != NULL));
		CHECK(!r->server_name || (r->https && strcmp(r->server_name, r->tls_name) == 0));
		CHECK(!r->tls_name || r->tls_name[0]);
		any_https |= r->https;
		for (uint32_t j = 0; j < i; j++) {
			CHECK(strcmp(r->name, c->region[j].name) != 0 && r->id != c->region[j].id);
			CHECK(strcmp(r->endpoint, c->region[j].endpoint) != 0);
		}
	}
	CHECK(active);
	CHECK(c->probe_interval_ms >= 50 && c->probe_interval_ms <= 60000);
	CHECK(c->probe_timeout_ms >= 10 && c->probe_timeout_ms <= 60000);
	CHECK(c->connect_timeout_ms >= 10 && c->connect_timeout_ms <= 60000);
	CHECK(c->first_byte_timeout_ms >= 10 && c->first_byte_timeout_ms <= 600000);
	CHECK(!c->admin_listen || c->admin_credentials);
	/* tls: as http/tls_config.h promises, and upstream settings only with
	 * an https region. */
	CHECK(c->any_https == any_https);
	CHECK(c->tls.present || (!c->tls.listen && !c->tls.ca_file && !c->tls.insecure));
	CHECK(!c->tls.listen == !c->tls.ncerts && c->tls.ncerts <= NET_TLS_CERTS_MAX);
	for (size_t i = 0; i < c->tls.ncerts; i++)
		CHECK(c->tls.certs[i].cert_file && c->tls.certs[i].key_file);
	CHECK(!(c->tls.ca_file && c->tls.insecure));
	CHECK(any_https || (!c->tls.ca_file && !c->tls.insecure));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ROUTER_CONFIG_ERR_LEN];
	struct router_config c;
	int rc = router_config_parse("/f/f.yaml", (const char *)data, size, &c, err, sizeof(err));
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
	if (c.admin_credentials)
		CHECK(c.admin_credentials[0] == '/');
	router_config_free(&c);
	CHECK(all_zero(&c, sizeof(c)));
	return 0;
}
