/*
 * libFuzzer: arbitrary bytes into repl/config (parse only). The YAML file
 * is named after a temporary directory holding one valid credentials file
 * "k" (and, for the error paths, "k2" with two key lines) and a CA
 * certificate "ca.pem" (and "bad.pem", not PEM), so accepted files are
 * reachable. A refusal must be one of the documented codes with a
 * "<dir>/f.yaml:line:col: " message and a wiped struct. An accepted file
 * must keep every promise of config.h: 1..16 peers with checked names and
 * regions, unique names, regions, region ids and endpoints, endpoints that
 * reparse to the stored parts, the key from "k" (or an absolute file),
 * ranges and defaults, TLS settings only on https peers (a resolved
 * ca_file, never with insecure_skip_verify; a server_name that is a DNS
 * name and is the Host). Then it is freed, and must be all zero.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/check.h"
#include "base/err.h"
#include "crypto/region.h"
#include "http/endpoint.h"
#include "repl/config.h"

static char yaml[128];

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBhDCCASmgAwIBAgIUc48JN3jDfPuKcdl4VuXugId89p8wCgYIKoZIzj0EAwIw\n"
                             "FzEVMBMGA1UEAwwMdGVzdCByZXBsIENBMB4XDTI2MTEyNzExMzAwOFoXDTM2MTEy\n"
                             "NDExMzAwOFowFzEVMBMGA1UEAwwMdGVzdCByZXBsIENBMFkwEwYHKoZIzj0CAQYI\n"
                             "KoZIzj0DAQcDQgAEa0kLAnSGcM0kVFXkHKinimOqVDsP/FUci/gOmR0PD+TX2TUS\n"
                             "w4RjRi9t6AeDyfENITYwQ83FzFQla4gat4r+NKNTMFEwHQYDVR0OBBYEFCrIK82S\n"
                             "UMlxx1Rgy16xjGzUH37GMB8GA1UdIwQYMBaAFCrIK82SUMlxx1Rgy16xjGzUH37G\n"
                             "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOrlU7jFo9Amxhhi\n"
                             "CiUs/AQg1KGdwNE0Kh1XzmhU1w5qAiEAsesqXJ1/B952gD981h3MqCT+n4yksfT3\n"
                             "EL5nLqzjJpQ=\n"
                             "-----END CERTIFICATE-----\n";

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	CHECK(fclose(f) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char dir[] = "/tmp/fuzz-repl-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	put(dir, "k", "AKIDFUZZ01 fuzzsecret\n");
	put(dir, "k2", "AKIDFUZZ01 a\nAKIDFUZZ02 b\n");
	put(dir, "ca.pem", ca_pem);
	put(dir, "bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	snprintf(yaml, sizeof(yaml), "%s/f.yaml", dir);
	return 0;
}

static bool word_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static void check_peer(const struct repl_config *c, size_t i)
{
	const struct repl_peer *p = &c->peers[i];
	size_t nl = strlen(p->name), rl = strlen(p->region);
	CHECK(nl >= 1 && nl <= REPL_NAME_MAX && word_chars(p->name));
	CHECK(rl >= 1 && rl <= REPL_REGION_MAX && word_chars(p->region));
	CHECK(p->region[0] >= 'a' && p->region[0] <= 'z' && p->region[rl - 1] != '-');
	CHECK(strstr(p->region, "--") == NULL);
	CHECK(p->region_id == region_id(p->region));
	struct http_endpoint e;
	CHECK(http_endpoint_parse(iov_cstr(p->endpoint), &e) == 0);
	CHECK(e.https == p->https && e.port == p->port && e.ip == p->host_is_ip);
	CHECK(e.host.len == strlen(p->host) && memcmp(e.host.base, p->host, e.host.len) == 0);
	CHECK(p->port >= 1 && p->authority[0] != '\0');
	CHECK(p->host_is_ip == (p->connect[0] != '\0'));
	if (p->host_is_ip)
		CHECK(http_endpoint_addr(iov_cstr(p->connect), false, NULL, NULL) == 0);
	CHECK(p->access_key[0] != '\0' && p->secret_key[0] != '\0');
	CHECK(p->concurrency >= 1 && p->concurrency <= REPL_CONCURRENCY_MAX);
	CHECK(p->timeout_ms >= REPL_TIMEOUT_MIN_MS && p->timeout_ms <= REPL_TIMEOUT_MAX_MS);
	CHECK(p->backoff_max_ms >= REPL_BACKOFF_MIN_MS && p->backoff_max_ms <= REPL_BACKOFF_MAX_MS);
	if (!p->https)
		CHECK(!p->ca_file[0] && !p->insecure && !p->server_name[0]);
	if (p->insecure)
		CHECK(!p->ca_file[0]);
	CHECK(!p->ca_file[0] || p->ca_file[0] == '/'); /* resolved against f.yaml's dir */
	size_t sl = strlen(p->server_name);
	if (sl) {
		CHECK(http_endpoint_dns_name(iov_make(p->server_name, sl)));
		CHECK(strncmp(p->authority, p->server_name, sl) == 0);
		CHECK(p->authority[sl] == '\0' || p->authority[sl] == ':');
	}
	for (size_t j = 0; j < i; j++) {
		const struct repl_peer *q = &c->peers[j];
		CHECK(strcmp(p->name, q->name) != 0 && strcmp(p->region, q->region) != 0);
		CHECK(p->region_id != q->region_id);
		CHECK(p->port != q->port || strcasecmp(p->host, q->host) != 0);
	}
	CHECK(repl_config_peer_by_name(c, iov_cstr(p->name)) == p);
	CHECK(repl_config_peer_by_region(c, iov_cstr(p->region)) == p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REPL_CONFIG_ERR_LEN];
	struct repl_config c;
	int rc = repl_config_parse((const char *)data, size, yaml, &c, err, sizeof(err));
	if (rc != 0) {
		CHECK(rc == ERR_CONFIG_YAML || rc == ERR_CONFIG_SCHEMA || rc == ERR_TOO_BIG ||
		      rc == ERR_IO || rc == ERR_NOMEM);
		CHECK(all_zero(&c, sizeof(c)));
		/* The secret never shows, unless the input itself wrote it (an
		 * endpoint or name quoted back in the message). */
		CHECK(strstr(err, "fuzzsecret") == NULL ||
		      memmem(data, size, "fuzzsecret", 10) != NULL);
		if (rc == ERR_NOMEM)
			return 0;
		size_t n = strlen(yaml);
		CHECK(strncmp(err, yaml, n) == 0);
		unsigned line, col;
		int used = 0;
		CHECK(sscanf(err + n, ":%u:%u: %n", &line, &col, &used) == 2 && used > 0);
		CHECK(line >= 1 && col >= 1 && err[n + (size_t)used] != '\0');
		return 0;
	}
	CHECK(c.npeers >= 1 && c.npeers <= REPL_PEERS_MAX);
	for (size_t i = 0; i < c.npeers; i++)
		check_peer(&c, i);
	for (size_t i = c.npeers; i < REPL_PEERS_MAX; i++)
		CHECK(all_zero(&c.peers[i], sizeof(c.peers[i])));
	repl_config_free(&c);
	CHECK(all_zero(&c, sizeof(c)));
	return 0;
}
