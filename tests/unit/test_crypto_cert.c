/* crypto/cert: CAs and leaves checked with OpenSSL's own verifier and
 * accessors, the files they are written to, and what loading refuses. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "crypto/cert.h"

#define DAY 86400

struct fx {
	char dir[64];
	char err[CERT_ERR_LEN];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	memcpy(f->dir, "/tmp/test_crypto_cert.XXXXXX", sizeof "/tmp/test_crypto_cert.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* dir/name in one of 16 rotating buffers: a test uses fewer paths. */
static const char *path_in(struct fx *f, const char *name)
{
	static char p[16][512];
	static int i;
	i = (i + 1) % 16;
	snprintf(p[i], sizeof p[i], "%s/%s", f->dir, name);
	return p[i];
}

static struct cert_ca *make_ca(enum cert_key_type type, const char *name)
{
	struct cert_ca_options o = {
		.name = name, .key_type = type, .not_before = -60, .not_after = 30 * DAY
	};
	struct cert_ca *ca = NULL;
	char err[CERT_ERR_LEN];
	int rc = cert_ca_new(&o, &ca, err, sizeof err);
	if (rc)
		fail_msg("cert_ca_new: %s", err);
	return ca;
}

static const char *const default_dns[] = { "localhost", "*.example.test" };
static const char *const default_ips[] = { "127.0.0.1", "::1" };

static struct cert_leaf *make_leaf(struct cert_ca *ca, enum cert_key_type type, int64_t nb,
                                   int64_t na)
{
	struct cert_leaf_options o = {
		.dns = default_dns,
		.ndns = 2,
		.ips = default_ips,
		.nips = 2,
		.key_type = type,
		.not_before = nb,
		.not_after = na,
	};
	struct cert_leaf *leaf = NULL;
	char err[CERT_ERR_LEN];
	int rc = cert_leaf_issue(ca, &o, &leaf, err, sizeof err);
	if (rc)
		fail_msg("cert_leaf_issue: %s", err);
	return leaf;
}

/* X509_V_OK or the verifier's error for leaf against the one trusted CA. */
static int verify(X509 *ca, X509 *leaf, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	int ok = X509_verify_cert(ctx);
	int e = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	assert_true(ok == 1 ? e == X509_V_OK : e != X509_V_OK);
	return e;
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void assert_cn(X509 *x, const char *want)
{
	char cn[128];
	assert_true(
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0);
	assert_string_equal(cn, want);
}

static void assert_same_octets(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(ASN1_STRING_length(a), ASN1_STRING_length(b));
	assert_memory_equal(ASN1_STRING_get0_data(a), ASN1_STRING_get0_data(b),
	                    (size_t)ASN1_STRING_length(a));
}

static void leaf_verifies(enum cert_key_type ca_type, enum cert_key_type leaf_type)
{
	struct cert_ca *ca = make_ca(ca_type, "Test CA");
	struct cert_leaf *leaf = make_leaf(ca, leaf_type, -60, 10 * DAY);
	X509 *x = cert_leaf_x509(leaf);
	assert_int_equal(verify(cert_ca_x509(ca), x, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(verify(cert_ca_x509(ca), x, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "www.example.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "other.test", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
	assert_int_equal(X509_get_signature_nid(x), ca_type == CERT_KEY_RSA_2048
	                                                ? NID_sha256WithRSAEncryption
	                                                : NID_ecdsa_with_SHA256);
	EVP_PKEY *k = cert_leaf_key(leaf);
	if (leaf_type == CERT_KEY_RSA_2048) {
		assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
		assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	} else {
		char group[32];
		assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
		assert_int_equal(
		    EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, NULL), 1);
		assert_string_equal(group, "prime256v1");
	}
	/* The leaf's public key is the one its private key belongs to. */
	assert_int_equal(X509_check_private_key(x, k), 1);
	cert_leaf_free(leaf);
	cert_ca_free(ca);
}

static void test_ec_leaf_verifies(void **state)
{
	(void)state;
	leaf_verifies(CERT_KEY_EC_P256, CERT_KEY_EC_P256);
}

static void test_rsa_leaf_verifies(void **state)
{
	(void)state;
	leaf_verifies(CERT_KEY_RSA_2048, CERT_KEY_RSA_2048);
	leaf_verifies(CERT_KEY_EC_P256, CERT_KEY_RSA_2048);
}

static void test_ca_extensions(void **state)
{
	(void)state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Ops CA");
	struct cert_ca *other = make_ca(CERT_KEY_EC_P256, NULL);
	X509 *x = cert_ca_x509(ca);
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_cn(x, "Ops CA");
	assert_cn(cert_ca_x509(other), CERT_CA_NAME_DEFAULT);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	assert_int_equal(X509_verify(x, cert_ca_key(ca)), 1);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_same_octets(X509_get0_subject_key_id(x), X509_get0_authority_key_id(x));
	/* It is its own trust anchor. */
	assert_int_equal(verify(x, x, X509_PURPOSE_ANY), X509_V_OK);

	/* Random 128-bit serials: positive, at most 128 bits, not repeated. */
	BIGNUM *a = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	BIGNUM *b = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_ca_x509(other)), NULL);
	assert_false(BN_is_negative(a));
	assert_true(BN_num_bits(a) <= 128 && BN_num_bits(a) > 64);
	assert_int_not_equal(BN_cmp(a, b), 0);
	BN_free(a);
	BN_free(b);

	/* Validity: 30 days from about now. */
	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
	assert_true(days == 30 || (days == 29 && secs > DAY - 120));
	cert_ca_free(other);
	cert_ca_free(ca);
}

static void leaf_extensions(enum cert_key_type type)
{
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	struct cert_leaf *leaf = make_leaf(ca, type, -60, DAY);
	X509 *x = cert_leaf_x509(leaf);
	assert_cn(x, "localhost");
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x), type == CERT_KEY_RSA_2048
	                                            ? KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
	                                            : KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_same_octets(X509_get0_authority_key_id(x),
	                   X509_get0_subject_key_id(cert_ca_x509(ca)));
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(
	    X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(cert_ca_x509(ca))), 0);

	/* subjectAltName: the DNS names, then the addresses in binary. */
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 4);
	static const unsigned char v4[4] = { 127, 0, 0, 1 };
	static const unsigned char v6[16] = { [15] = 1 };
	for (int i = 0; i < 4; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int type_of;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type_of);
		assert_int_equal(type_of, i < 2 ? GEN_DNS : GEN_IPADD);
		const void *want = i < 2 ? (const void *)default_dns[i] : i == 2 ? v4 : v6;
		size_t wlen = i < 2 ? strlen(default_dns[i]) : i == 2 ? 4 : 16;
		assert_int_equal(ASN1_STRING_length(s), wlen);
		assert_memory_equal(ASN1_STRING_get0_data(s), want, wlen);
	}
	GENERAL_NAMES_free(gens);
	cert_leaf_free(leaf);
	cert_ca_free(ca);
}

static void test_leaf_extensions(void **state)
{
	(void)state;
	leaf_extensions(CERT_KEY_EC_P256);
	leaf_extensions(CERT_KEY_RSA_2048);
}

static void test_leaf_with_only_addresses(void **state)
{
	(void)state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	static const char *const ips[] = { "2001:db8::7", "10.1.2.3" };
	struct cert_leaf_options o = { .ips = ips, .nips = 2, .not_before = 0, .not_after = DAY };
	struct cert_leaf *leaf = NULL;
	char err[CERT_ERR_LEN];
	assert_int_equal(cert_leaf_issue(ca, &o, &leaf, err, sizeof err), 0);
	assert_cn(cert_leaf_x509(leaf), "2001:db8::7");
	assert_int_equal(X509_check_ip_asc(cert_leaf_x509(leaf), "2001:db8:0::7", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert_leaf_x509(leaf), "10.1.2.3", 0), 1);
	assert_int_equal(verify(cert_ca_x509(ca), cert_leaf_x509(leaf), X509_PURPOSE_SSL_SERVER),
	                 X509_V_OK);
	cert_leaf_free(leaf);
	cert_ca_free(ca);
}

static void test_expired_and_future_leaves_fail(void **state)
{
	(void)state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	struct cert_leaf *expired = make_leaf(ca, CERT_KEY_EC_P256, -10 * DAY, -DAY);
	struct cert_leaf *future = make_leaf(ca, CERT_KEY_EC_P256, DAY, 10 * DAY);
	assert_int_equal(verify(cert_ca_x509(ca), cert_leaf_x509(expired), X509_PURPOSE_SSL_SERVER),
	                 X509_V_ERR_CERT_HAS_EXPIRED);
	assert_int_equal(verify(cert_ca_x509(ca), cert_leaf_x509(future), X509_PURPOSE_SSL_SERVER),
	                 X509_V_ERR_CERT_NOT_YET_VALID);
	cert_leaf_free(expired);
	cert_leaf_free(future);
	cert_ca_free(ca);
}

static void test_leaf_of_another_ca_fails(void **state)
{
	(void)state;
	/* Same name, different keys: only the signature tells them apart. */
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	struct cert_ca *other = make_ca(CERT_KEY_EC_P256, "Test CA");
	struct cert_leaf *leaf = make_leaf(other, CERT_KEY_EC_P256, -60, DAY);
	int e = verify(cert_ca_x509(ca), cert_leaf_x509(leaf), X509_PURPOSE_SSL_SERVER);
	assert_true(e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	            e == X509_V_ERR_CERT_SIGNATURE_FAILURE);
	cert_leaf_free(leaf);
	cert_ca_free(other);
	cert_ca_free(ca);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_key_file_mode(void **state)
{
	struct fx *f = *state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	struct cert_leaf *leaf = make_leaf(ca, CERT_KEY_EC_P256, -60, DAY);
	const char *cert = path_in(f, "srv.pem"), *key = path_in(f, "srv-key.pem");
	/* An old world-readable key is replaced, not rewritten in place; the
	 * mode comes from the open, not from a permissive umask. */
	FILE *old = fopen(key, "w");
	assert_non_null(old);
	fputs("old\n", old);
	fclose(old);
	assert_int_equal(chmod(key, 0644), 0);
	mode_t saved = umask(0);
	int rc = cert_leaf_write(leaf, NULL, cert, key, f->err, sizeof f->err);
	umask(saved);
	assert_int_equal(rc, 0);
	struct stat st;
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(cert, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(f->dir), 2); /* no temporary file left */

	const char *ca_cert = path_in(f, "ca.pem"), *ca_key = path_in(f, "ca-key.pem");
	saved = umask(0);
	rc = cert_ca_write(ca, ca_cert, ca_key, f->err, sizeof f->err);
	umask(saved);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(ca_key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	cert_leaf_free(leaf);
	cert_ca_free(ca);
}

/* Every certificate in a PEM file, in order; returns how many (<= max). */
static int read_certs(const char *path, X509 **out, int max)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	int n = 0;
	X509 *x;
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		assert_true(n < max);
		out[n++] = x;
	}
	fclose(fp);
	return n;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

static void round_trip(struct fx *f, enum cert_key_type type)
{
	struct cert_ca *ca = make_ca(type, "Round trip CA");
	const char *ca_cert = path_in(f, "ca.pem"), *ca_key = path_in(f, "ca-key.pem");
	assert_int_equal(cert_ca_write(ca, ca_cert, ca_key, f->err, sizeof f->err), 0);
	struct cert_ca *loaded = NULL;
	assert_int_equal(cert_ca_load(ca_cert, ca_key, &loaded, f->err, sizeof f->err), 0);
	assert_int_equal(X509_cmp(cert_ca_x509(ca), cert_ca_x509(loaded)), 0);
	assert_int_equal(EVP_PKEY_eq(cert_ca_key(ca), cert_ca_key(loaded)), 1);

	/* A leaf from the loaded CA (a second `meridian up`) chains to the first. */
	struct cert_leaf *leaf = make_leaf(loaded, type, -60, DAY);
	assert_int_equal(verify(cert_ca_x509(ca), cert_leaf_x509(leaf), X509_PURPOSE_SSL_SERVER),
	                 X509_V_OK);

	X509 *got[3] = { 0 };
	const char *cert = path_in(f, "leaf.pem"), *key = path_in(f, "leaf-key.pem");
	assert_int_equal(cert_leaf_write(leaf, NULL, cert, key, f->err, sizeof f->err), 0);
	assert_int_equal(read_certs(cert, got, 3), 1);
	assert_int_equal(X509_cmp(got[0], cert_leaf_x509(leaf)), 0);
	X509_free(got[0]);
	EVP_PKEY *k = read_key(key);
	assert_int_equal(EVP_PKEY_eq(k, cert_leaf_key(leaf)), 1);
	EVP_PKEY_free(k);

	/* With the chain: the leaf, then the CA, nothing else. */
	assert_int_equal(cert_leaf_write(leaf, ca, cert, key, f->err, sizeof f->err), 0);
	assert_int_equal(read_certs(cert, got, 3), 2);
	assert_int_equal(X509_cmp(got[0], cert_leaf_x509(leaf)), 0);
	assert_int_equal(X509_cmp(got[1], cert_ca_x509(ca)), 0);
	X509_free(got[0]);
	X509_free(got[1]);

	cert_leaf_free(leaf);
	cert_ca_free(loaded);
	cert_ca_free(ca);
}

static void test_pem_round_trip(void **state)
{
	round_trip(*state, CERT_KEY_EC_P256);
	round_trip(*state, CERT_KEY_RSA_2048);
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_load_refuses(void **state)
{
	struct fx *f = *state;
	struct cert_ca *a = make_ca(CERT_KEY_EC_P256, "A");
	struct cert_ca *b = make_ca(CERT_KEY_EC_P256, "B");
	struct cert_leaf *leaf = make_leaf(a, CERT_KEY_EC_P256, -60, DAY);
	const char *a_cert = path_in(f, "a.pem"), *a_key = path_in(f, "a-key.pem");
	const char *b_cert = path_in(f, "b.pem"), *b_key = path_in(f, "b-key.pem");
	assert_int_equal(cert_ca_write(a, a_cert, a_key, f->err, sizeof f->err), 0);
	assert_int_equal(cert_ca_write(b, b_cert, b_key, f->err, sizeof f->err), 0);
	struct cert_ca *ca = NULL;

	/* A's certificate with B's key. */
	assert_int_equal(cert_ca_load(a_cert, b_key, &ca, f->err, sizeof f->err), ERR_TLS_CONFIG);
	assert_null(ca);
	assert_non_null(strstr(f->err, "does not belong"));
	assert_non_null(strstr(f->err, b_key));

	/* A leaf is not a CA. */
	const char *l_cert = path_in(f, "l.pem"), *l_key = path_in(f, "l-key.pem");
	assert_int_equal(cert_leaf_write(leaf, NULL, l_cert, l_key, f->err, sizeof f->err), 0);
	assert_int_equal(cert_ca_load(l_cert, l_key, &ca, f->err, sizeof f->err), ERR_TLS_CONFIG);
	assert_non_null(strstr(f->err, "not a CA"));

	/* Missing, not PEM, a certificate where the key should be. */
	assert_int_equal(cert_ca_load(path_in(f, "none.pem"), a_key, &ca, f->err, sizeof f->err),
	                 ERR_TLS_CONFIG);
	assert_non_null(strstr(f->err, "none.pem"));
	const char *junk = path_in(f, "junk.pem");
	write_text(junk, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
	assert_int_equal(cert_ca_load(junk, a_key, &ca, f->err, sizeof f->err), ERR_TLS_CONFIG);
	assert_int_equal(cert_ca_load(a_cert, junk, &ca, f->err, sizeof f->err), ERR_TLS_CONFIG);
	assert_int_equal(cert_ca_load(a_cert, a_cert, &ca, f->err, sizeof f->err), ERR_TLS_CONFIG);
	assert_null(ca);

	/* And the matching pair loads. */
	assert_int_equal(cert_ca_load(a_cert, a_key, &ca, f->err, sizeof f->err), 0);
	cert_ca_free(ca);
	cert_leaf_free(leaf);
	cert_ca_free(b);
	cert_ca_free(a);
}

static int issue(struct cert_ca *ca, const char *const *dns, size_t ndns, const char *const *ips,
                 size_t nips, int64_t nb, int64_t na, char *err)
{
	struct cert_leaf_options o = { .dns = dns,
		                       .ndns = ndns,
		                       .ips = ips,
		                       .nips = nips,
		                       .not_before = nb,
		                       .not_after = na };
	struct cert_leaf *leaf = NULL;
	int rc = cert_leaf_issue(ca, &o, &leaf, err, CERT_ERR_LEN);
	assert_true(rc == 0 ? leaf != NULL : leaf == NULL);
	cert_leaf_free(leaf);
	return rc;
}

static void test_bad_options(void **state)
{
	struct fx *f = *state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	static const char *const ok[] = { "localhost" };
	static const char *const bad_ip[] = { "1.2.3.256", "::g", "127.0.0.1%lo", "" };
	for (size_t i = 0; i < sizeof bad_ip / sizeof bad_ip[0]; i++) {
		assert_int_equal(issue(ca, ok, 1, &bad_ip[i], 1, 0, DAY, f->err), ERR_INVALID);
		assert_non_null(strstr(f->err, "not an IP address"));
	}
	static const char *const bad_dns[] = { "a..b",      "foo_bar.test", "*.",  "a.*.b",
		                               "*x.test",   "1.2.3.4",      "::1", "a b",
		                               "trailing.", ".lead" };
	for (size_t i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++)
		assert_int_equal(issue(ca, &bad_dns[i], 1, NULL, 0, 0, DAY, f->err), ERR_INVALID);

	/* No names; validity out of order or too long. */
	assert_int_equal(issue(ca, NULL, 0, NULL, 0, 0, DAY, f->err), ERR_INVALID);
	assert_int_equal(issue(ca, ok, 1, NULL, 0, DAY, DAY, f->err), ERR_INVALID);
	assert_int_equal(issue(ca, ok, 1, NULL, 0, -DAY, -2 * DAY, f->err), ERR_INVALID);
	assert_int_equal(issue(ca, ok, 1, NULL, 0, 0, CERT_VALIDITY_MAX + 1, f->err), ERR_INVALID);

	/* The first name is the CN: at most 64 bytes; later ones may be longer. */
	char long_name[80];
	memset(long_name, 'a', 70);
	memcpy(long_name + 60, ".test", sizeof ".test");
	const char *names[2] = { long_name, "localhost" };
	assert_int_equal(issue(ca, names, 2, NULL, 0, 0, DAY, f->err), ERR_INVALID);
	names[0] = "localhost";
	names[1] = long_name;
	assert_int_equal(issue(ca, names, 2, NULL, 0, 0, DAY, f->err), 0);

	/* At most CERT_NAMES_MAX names and addresses together. */
	const char *many[CERT_NAMES_MAX + 1];
	for (size_t i = 0; i < CERT_NAMES_MAX + 1; i++)
		many[i] = "localhost";
	assert_int_equal(issue(ca, many, CERT_NAMES_MAX, NULL, 0, 0, DAY, f->err), 0);
	assert_int_equal(issue(ca, many, CERT_NAMES_MAX, ok, 1, 0, DAY, f->err), ERR_INVALID);

	struct cert_ca_options co = { .name = "", .not_after = DAY };
	struct cert_ca *c = NULL;
	assert_int_equal(cert_ca_new(&co, &c, f->err, sizeof f->err), ERR_INVALID);
	co.name = long_name;
	assert_int_equal(cert_ca_new(&co, &c, f->err, sizeof f->err), ERR_INVALID);
	co.name = "x";
	co.key_type = (enum cert_key_type)7;
	assert_int_equal(cert_ca_new(&co, &c, f->err, sizeof f->err), ERR_INVALID);
	assert_null(c);
	cert_ca_free(ca);
}

static void test_dns_names(void **state)
{
	(void)state;
	static const char *const good[] = {
		"localhost",        "*.example.com",       "a-b.c",
		"xn--bcher-kva.ch", "EDGE-1.Example.TEST", "s3.eu-west-1.local"
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(cert__dns_name_ok(good[i]));
	char label[70], name[300];
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(cert__dns_name_ok(label));
	label[63] = '\0';
	assert_true(cert__dns_name_ok(label));
	/* 254 bytes in labels of 63 is too long; 253 is fine. */
	memset(name, 'b', sizeof name);
	for (int i = 63; i < 300; i += 64)
		name[i] = '.';
	name[254] = '\0';
	assert_false(cert__dns_name_ok(name));
	name[253] = '\0';
	assert_true(cert__dns_name_ok(name));
	assert_false(cert__dns_name_ok(""));
}

static void test_write_failure(void **state)
{
	struct fx *f = *state;
	struct cert_ca *ca = make_ca(CERT_KEY_EC_P256, "Test CA");
	const char *cert = path_in(f, "missing/ca.pem"), *key = path_in(f, "missing/ca-key.pem");
	assert_int_equal(cert_ca_write(ca, cert, key, f->err, sizeof f->err), ERR_IO);
	assert_non_null(strstr(f->err, "missing/ca-key.pem"));
	assert_int_equal(count_entries(f->dir), 0);
	cert_ca_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_leaf_verifies),
		cmocka_unit_test(test_rsa_leaf_verifies),
		cmocka_unit_test(test_ca_extensions),
		cmocka_unit_test(test_leaf_extensions),
		cmocka_unit_test(test_leaf_with_only_addresses),
		cmocka_unit_test(test_expired_and_future_leaves_fail),
		cmocka_unit_test(test_leaf_of_another_ca_fails),
		cmocka_unit_test_setup_teardown(test_key_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pem_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
		cmocka_unit_test(test_dns_names),
		cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
