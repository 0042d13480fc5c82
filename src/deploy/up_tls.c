/*
 * deploy/up_tls: the stack's local certificate authority and a certificate
 * for every endpoint (issue 10, docs/up.md "HTTPS"), made through OpenSSL's
 * API (crypto/cert.h), never by running a program.
 *
 * STATE/tls/ca.pem and ca-key.pem are made once and kept: a second `up`
 * reuses them, so a viewer that trusts the CA keeps trusting the stack. A
 * CA that no longer loads, or expires within DEPLOY_UP_CA_RENEW_S, is made
 * again (and said so). Leaves are issued at every `up` (they cost a
 * millisecond each) for:
 *
 *   store-REGION   s3.REGION.meridian.test and *.s3.REGION.meridian.test
 *                  (path and virtual-hosted style), the access point
 *                  domain's *.accesspoint.s3-global.meridian.test (access
 *                  point hosts the router forwards), localhost, 127.0.0.1
 *   router-...     its access point's host, localhost, 127.0.0.1
 *   edge-...       its distribution's domain, localhost, 127.0.0.1
 *
 * Main thread of the CLI process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "base/err.h"
#include "crypto/cert.h"
#include "deploy/up-plan.h"

#define DEPLOY_UP_CA_DAYS    3650
#define DEPLOY_UP_LEAF_DAYS  825 /* what browsers accept for a server certificate */
#define DEPLOY_UP_CA_RENEW_S (30ll * 86400)
#define DEPLOY_UP_BACKDATE_S 300 /* clocks a little behind still accept a new leaf */
#define DEPLOY_UP_LEAF_NAMES 4

void deploy__tls_files(const struct deploy_up *u, const char *name, char *cert, char *key)
{
	char rel[DEPLOY_UP_NAME_MAX + 16];
	snprintf(rel, sizeof(rel), "tls/%s.pem", name);
	deploy__state_path(u, rel, cert);
	snprintf(rel, sizeof(rel), "tls/%s-key.pem", name);
	deploy__state_path(u, rel, key);
}

/* The kept CA, or a new one. */
static int ca_get(struct deploy_up *u, struct cert_ca **out)
{
	char cert[DEPLOY_UP_PATH_MAX], key[DEPLOY_UP_PATH_MAX], err[CERT_ERR_LEN];
	deploy__tls_files(u, "ca", cert, key);
	struct stat sb;
	if (stat(cert, &sb) == 0) {
		int rc = cert_ca_load(cert, key, out, err, sizeof(err));
		time_t soon = time(NULL) + DEPLOY_UP_CA_RENEW_S;
		if (rc == 0 && X509_cmp_time(X509_get0_notAfter(cert_ca_x509(*out)), &soon) > 0)
			return 0;
		if (rc == 0) {
			cert_ca_free(*out);
			fprintf(u->err, "up: the stack's CA %s expires within 30 days: a new one\n",
			        cert);
		} else {
			fprintf(u->err, "up: the stack's CA does not load (%s): a new one\n", err);
		}
	}
	struct cert_ca_options o = {
		.name = "Meridian stack CA",
		.not_before = -DEPLOY_UP_BACKDATE_S,
		.not_after = (int64_t)DEPLOY_UP_CA_DAYS * 86400,
	};
	int rc = cert_ca_new(&o, out, err, sizeof(err));
	if (rc == 0)
		rc = cert_ca_write(*out, cert, key, err, sizeof(err));
	if (rc) {
		fprintf(u->err, "up: cannot make the stack's CA: %s\n", err);
		cert_ca_free(*out);
		*out = NULL;
	}
	return rc;
}

static int leaf(struct deploy_up *u, const struct cert_ca *ca, const char *name,
                const char *const *dns, size_t ndns)
{
	static const char *const ips[] = { "127.0.0.1" };
	char cert[DEPLOY_UP_PATH_MAX], key[DEPLOY_UP_PATH_MAX], err[CERT_ERR_LEN];
	struct cert_leaf_options o = {
		.dns = dns,
		.ndns = ndns,
		.ips = ips,
		.nips = 1,
		.not_before = -DEPLOY_UP_BACKDATE_S,
		.not_after = (int64_t)DEPLOY_UP_LEAF_DAYS * 86400,
	};
	struct cert_leaf *l;
	deploy__tls_files(u, name, cert, key);
	int rc = cert_leaf_issue(ca, &o, &l, err, sizeof(err));
	if (rc == 0) {
		rc = cert_leaf_write(l, NULL, cert, key, err, sizeof(err));
		cert_leaf_free(l);
	}
	if (rc)
		fprintf(u->err, "up: cannot make the certificate of %s: %s\n", name, err);
	return rc;
}

int deploy__tls_plan(struct deploy_up *u)
{
	const struct deploy_stack *st = u->st;
	char dir[DEPLOY_UP_PATH_MAX];
	deploy__state_path(u, "tls", dir);
	if (deploy__mkdir_p(dir) != 0) {
		fprintf(u->err, "up: cannot make %s: %s\n", dir, strerror(errno));
		return ERR_IO;
	}
	struct cert_ca *ca;
	int rc = ca_get(u, &ca);
	if (rc)
		return rc;
	char n[DEPLOY_UP_LEAF_NAMES][300];
	const char *dns[DEPLOY_UP_LEAF_NAMES];
	for (size_t i = 0; i < DEPLOY_UP_LEAF_NAMES; i++)
		dns[i] = n[i];
	for (uint32_t s = 0; rc == 0 && s < st->nstores; s++) {
		const char *region = st->store[s].region;
		char name[DEPLOY_UP_NAME_MAX];
		snprintf(name, sizeof(name), "store-%s", region);
		snprintf(n[0], sizeof(n[0]), "s3.%s.meridian.test", region);
		snprintf(n[1], sizeof(n[1]), "*.s3.%s.meridian.test", region);
		snprintf(n[2], sizeof(n[2]), "*.%s", DEPLOY_STACK_MRAP_DOMAIN);
		snprintf(n[3], sizeof(n[3]), "localhost");
		rc = leaf(u, ca, name, dns, 4);
	}
	for (uint32_t a = 0; rc == 0 && a < st->naccess_points; a++)
		for (uint32_t l = 0; rc == 0 && l < st->nlocations; l++) {
			if (!u->router_port[DEPLOY_UP_AT(u, a, l)])
				continue;
			char name[DEPLOY_UP_NAME_MAX];
			deploy__role_name("router", a, st->access_point[a].name,
			                  st->location[l].name, name);
			snprintf(n[0], sizeof(n[0]), "%s", st->access_point[a].host);
			snprintf(n[1], sizeof(n[1]), "localhost");
			rc = leaf(u, ca, name, dns, 2);
		}
	for (uint32_t d = 0; rc == 0 && d < st->ndistributions; d++) {
		const struct deploy_stack_distribution *di = &st->distribution[d];
		for (uint32_t li = 0; rc == 0 && li < di->nlocations; li++) {
			char name[DEPLOY_UP_NAME_MAX];
			deploy__role_name("edge", d, di->id, st->location[di->location[li]].name,
			                  name);
			snprintf(n[0], sizeof(n[0]), "%s", di->domain);
			snprintf(n[1], sizeof(n[1]), "localhost");
			rc = leaf(u, ca, name, dns, 2);
		}
	}
	cert_ca_free(ca);
	return rc;
}
