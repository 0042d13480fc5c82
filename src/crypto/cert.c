/* crypto/cert: see cert.h. */
#include "crypto/cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/check.h"
#include "base/err.h"
#include "base/file.h"

#define CERT_CA_MAGIC   0x43455243u /* "CERC" */
#define CERT_LEAF_MAGIC 0x4345524cu /* "CERL" */
#define CERT_SERIAL_LEN 16          /* 128 random bits */
#define CERT_MODE       0644
#define CERT_KEY_MODE   0600
#define CERT_TMP_TRIES  8

struct cert_ca {
	unsigned magic;
	X509 *x509;
	EVP_PKEY *key;
};

struct cert_leaf {
	unsigned magic;
	X509 *x509;
	EVP_PKEY *key;
};

/* Message into err, with OpenSSL's last reason appended when it has one;
 * OpenSSL's error queue is cleared. Returns code. */
__attribute__((format(printf, 4, 5))) static int fail(int code, char *err, size_t errlen,
                                                      const char *fmt, ...)
{
	unsigned long e = ERR_peek_last_error();
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		const char *reason = e ? ERR_reason_error_string(e) : NULL;
		if (reason && n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, " (%s)", reason);
	}
	ERR_clear_error();
	return code;
}

static int check_validity(int64_t not_before, int64_t not_after, char *err, size_t errlen)
{
	if (not_before < -CERT_VALIDITY_MAX || not_before > CERT_VALIDITY_MAX ||
	    not_after < -CERT_VALIDITY_MAX || not_after > CERT_VALIDITY_MAX)
		return fail(ERR_INVALID, err, errlen, "validity bounds over 100 years from now");
	if (not_after <= not_before)
		return fail(ERR_INVALID, err, errlen, "the validity ends before it begins");
	return 0;
}

static int key_generate(enum cert_key_type type, EVP_PKEY **out, char *err, size_t errlen)
{
	switch (type) {
	case CERT_KEY_EC_P256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case CERT_KEY_RSA_2048:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	default:
		return fail(ERR_INVALID, err, errlen, "unknown key type %d", (int)type);
	}
	if (!*out)
		return fail(ERR_CRYPTO, err, errlen, "cannot generate a key");
	return 0;
}

static int set_serial(X509 *x)
{
	unsigned char b[CERT_SERIAL_LEN];
	if (RAND_bytes(b, sizeof b) != 1)
		return ERR_CRYPTO;
	BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
	if (!bn)
		return ERR_NOMEM;
	/* Zero is not a valid serial (RFC 5280 4.1.2.2); 2^-128 odds. */
	int rc =
	    !BN_is_zero(bn) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ? 0 : ERR_CRYPTO;
	BN_free(bn);
	return rc;
}

/* A version 3 certificate for key with a serial, validity and subject CN,
 * no issuer, extensions or signature yet. */
static int x509_start(EVP_PKEY *key, const char *cn, int64_t not_before, int64_t not_after,
                      X509 **out)
{
	X509 *x = X509_new();
	if (!x)
		return ERR_NOMEM;
	if (!X509_set_version(x, X509_VERSION_3) || set_serial(x) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), (long)not_before) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)not_after) || !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	                                (const unsigned char *)cn, -1, -1, 0)) {
		X509_free(x);
		return ERR_CRYPTO;
	}
	*out = x;
	return 0;
}

/* One extension in OpenSSL's configuration syntax (a fixed value of ours,
 * never user input), with issuer for the authority key identifier. */
static int x509_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return ERR_CRYPTO;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : ERR_CRYPTO;
}

static bool cn_ok(const char *cn)
{
	size_t n = strlen(cn);
	return n > 0 && n <= CERT_CN_MAX;
}

int cert_ca_new(const struct cert_ca_options *opt, struct cert_ca **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *cn = opt->name ? opt->name : CERT_CA_NAME_DEFAULT;
	if (!cn_ok(cn))
		return fail(ERR_INVALID, err, errlen, "a CA name is 1 to %d bytes", CERT_CN_MAX);
	int rc = check_validity(opt->not_before, opt->not_after, err, errlen);
	if (rc)
		return rc;
	struct cert_ca *ca = calloc(1, sizeof *ca);
	if (!ca)
		return ERR_NOMEM;
	ca->magic = CERT_CA_MAGIC;
	rc = key_generate(opt->key_type, &ca->key, err, errlen);
	if (rc) {
		cert_ca_free(ca);
		return rc;
	}
	rc = x509_start(ca->key, cn, opt->not_before, opt->not_after, &ca->x509);
	if (!rc && !X509_set_issuer_name(ca->x509, X509_get_subject_name(ca->x509)))
		rc = ERR_CRYPTO;
	/* The subject key identifier first: the authority's is copied from it. */
	if (!rc)
		rc = x509_ext(ca->x509, ca->x509, NID_basic_constraints, "critical,CA:TRUE");
	if (!rc)
		rc = x509_ext(ca->x509, ca->x509, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (!rc)
		rc = x509_ext(ca->x509, ca->x509, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = x509_ext(ca->x509, ca->x509, NID_authority_key_identifier, "keyid:always");
	if (!rc && !X509_sign(ca->x509, ca->key, EVP_sha256()))
		rc = ERR_CRYPTO;
	if (rc) {
		cert_ca_free(ca);
		return fail(rc, err, errlen, "cannot build the CA certificate");
	}
	*out = ca;
	return 0;
}

void cert_ca_free(struct cert_ca *ca)
{
	if (!ca)
		return;
	CHECK_MAGIC(ca, CERT_CA_MAGIC);
	X509_free(ca->x509);
	EVP_PKEY_free(ca->key);
	ca->magic = 0;
	free(ca);
}

X509 *cert_ca_x509(const struct cert_ca *ca)
{
	CHECK_MAGIC(ca, CERT_CA_MAGIC);
	return ca->x509;
}

EVP_PKEY *cert_ca_key(const struct cert_ca *ca)
{
	CHECK_MAGIC(ca, CERT_CA_MAGIC);
	return ca->key;
}

/* Never prompt for a passphrase on the terminal: encrypted keys fail. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* The whole file (at most CERT_FILE_MAX bytes) as a memory BIO; *data is
 * the caller's to cleanse and free after the BIO. */
static int pem_open(const char *path, char **data, size_t *len, BIO **bio, char *err, size_t errlen)
{
	int rc = file_read(path, CERT_FILE_MAX, data, len, err, errlen);
	if (rc)
		return rc == ERR_IO ? ERR_TLS_CONFIG : rc;
	if (*len > CERT_FILE_MAX) {
		free(*data);
		*data = NULL;
		return fail(ERR_TLS_CONFIG, err, errlen, "%s: larger than %d bytes", path,
		            CERT_FILE_MAX);
	}
	*bio = BIO_new_mem_buf(*data, (int)*len);
	if (!*bio) {
		free(*data);
		*data = NULL;
		return ERR_NOMEM;
	}
	return 0;
}

static int load_x509(const char *path, X509 **out, char *err, size_t errlen)
{
	char *data;
	size_t len;
	BIO *bio;
	int rc = pem_open(path, &data, &len, &bio, err, errlen);
	if (rc)
		return rc;
	*out = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	free(data);
	if (!*out)
		return fail(ERR_TLS_CONFIG, err, errlen, "%s: no PEM certificate", path);
	return 0;
}

static int load_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	char *data;
	size_t len;
	BIO *bio;
	int rc = pem_open(path, &data, &len, &bio, err, errlen);
	if (rc)
		return rc;
	*out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(data, len);
	free(data);
	if (!*out)
		return fail(ERR_TLS_CONFIG, err, errlen, "%s: no unencrypted PEM private key",
		            path);
	return 0;
}

int cert_ca_load(const char *cert_file, const char *key_file, struct cert_ca **out, char *err,
                 size_t errlen)
{
	*out = NULL;
	struct cert_ca *ca = calloc(1, sizeof *ca);
	if (!ca)
		return ERR_NOMEM;
	ca->magic = CERT_CA_MAGIC;
	int rc = load_x509(cert_file, &ca->x509, err, errlen);
	if (!rc && X509_check_ca(ca->x509) != 1)
		rc = fail(ERR_TLS_CONFIG, err, errlen,
		          "%s: not a CA certificate (no basicConstraints CA:TRUE)", cert_file);
	if (!rc)
		rc = load_key(key_file, &ca->key, err, errlen);
	if (!rc && X509_check_private_key(ca->x509, ca->key) != 1)
		rc = fail(ERR_TLS_CONFIG, err, errlen, "%s: the key does not belong to %s",
		          key_file, cert_file);
	if (rc) {
		cert_ca_free(ca);
		return rc;
	}
	*out = ca;
	return 0;
}

/* Fsync the directory holding path, so a rename in it is durable. File
 * systems that cannot fsync a directory (EINVAL) are let be. */
static int fsync_dir(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return ERR_NOMEM;
	int rc = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
		rc = fail(ERR_IO, err, errlen, "%s: cannot sync the directory: %s", dir,
		          strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* data[len] into path: a new temporary file created with O_EXCL and mode
 * (so nobody else can have it open, and a key is never readable by
 * others), fsynced, renamed over path, the directory fsynced. */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode, char *err,
                        size_t errlen)
{
	size_t cap = strlen(path) + sizeof(".tmp-") + 16;
	char *tmp = malloc(cap);
	if (!tmp)
		return ERR_NOMEM;
	int fd = -1;
	for (int i = 0; i < CERT_TMP_TRIES && fd < 0; i++) {
		unsigned char r[8];
		if (RAND_bytes(r, sizeof r) != 1) {
			free(tmp);
			return fail(ERR_CRYPTO, err, errlen, "no random bytes for a file name");
		}
		unsigned long long v = 0;
		for (size_t k = 0; k < sizeof r; k++)
			v = v << 8 | r[k];
		snprintf(tmp, cap, "%s.tmp-%016llx", path, v);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int rc = fail(ERR_IO, err, errlen, "%s: cannot create a temporary file: %s", path,
		              strerror(errno));
		free(tmp);
		return rc;
	}
	const char *what = NULL;
	if (write_all(fd, data, len) != 0)
		what = "write";
	else if (fsync(fd) != 0)
		what = "sync";
	int e = errno;
	if (close(fd) != 0 && !what) {
		what = "close";
		e = errno;
	}
	if (!what && rename(tmp, path) != 0) {
		what = "rename the temporary file";
		e = errno;
	}
	if (what) {
		int rc = fail(ERR_IO, err, errlen, "%s: cannot %s: %s", path, what, strerror(e));
		unlink(tmp);
		free(tmp);
		return rc;
	}
	free(tmp);
	return fsync_dir(path, err, errlen);
}

/* PEM of the certificate (then chain's, when not NULL) into path. */
static int write_certs(X509 *x, X509 *chain, const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return ERR_NOMEM;
	int rc = 0;
	if (!PEM_write_bio_X509(b, x) || (chain && !PEM_write_bio_X509(b, chain))) {
		rc = fail(ERR_CRYPTO, err, errlen, "%s: cannot encode the certificate", path);
	} else {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		rc = write_atomic(path, p, (size_t)n, CERT_MODE, err, errlen);
	}
	BIO_free(b);
	return rc;
}

/* PKCS#8 PEM of key into path with mode 0600; the encoding lives in
 * memory that is cleared when freed. */
static int write_key(EVP_PKEY *key, const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_secmem());
	if (!b)
		return ERR_NOMEM;
	int rc = 0;
	if (!PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		rc = fail(ERR_CRYPTO, err, errlen, "%s: cannot encode the key", path);
	} else {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		rc = write_atomic(path, p, (size_t)n, CERT_KEY_MODE, err, errlen);
	}
	BIO_free(b);
	return rc;
}

int cert_ca_write(const struct cert_ca *ca, const char *cert_file, const char *key_file, char *err,
                  size_t errlen)
{
	CHECK_MAGIC(ca, CERT_CA_MAGIC);
	int rc = write_key(ca->key, key_file, err, errlen);
	return rc ? rc : write_certs(ca->x509, NULL, cert_file, err, errlen);
}

bool cert__dns_name_ok(const char *name)
{
	size_t n = strlen(name);
	unsigned char ip[16];
	if (n == 0 || n > CERT_DNS_NAME_MAX || inet_pton(AF_INET, name, ip) == 1)
		return false;
	const char *p = name;
	if (p[0] == '*') { /* a wildcard is a whole leftmost label, before another */
		if (p[1] != '.' || p[2] == '\0')
			return false;
		p += 2;
	}
	size_t label = 0;
	for (; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0 || p[1] == '\0')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-';
		if (!ok || ++label > 63)
			return false;
	}
	return true;
}

/* The subjectAltName of the options' DNS names and IP addresses. */
static int add_san(X509 *x, const struct cert_leaf_options *opt, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < opt->ndns + opt->nips && !rc; i++) {
		bool dns = i < opt->ndns;
		const char *v = dns ? opt->dns[i] : opt->ips[i - opt->ndns];
		unsigned char ip[16];
		int iplen = 0;
		if (dns && !cert__dns_name_ok(v)) {
			rc = fail(ERR_INVALID, err, errlen,
			          "'%s' is not a DNS name (an IP address goes in as an IP)", v);
			break;
		}
		if (!dns) {
			if (inet_pton(AF_INET, v, ip) == 1)
				iplen = 4;
			else if (inet_pton(AF_INET6, v, ip) == 1)
				iplen = 16;
			else {
				rc = fail(ERR_INVALID, err, errlen, "'%s' is not an IP address", v);
				break;
			}
		}
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_STRING *s = dns ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
		if (!g || !s ||
		    !ASN1_STRING_set(s, dns ? (const void *)v : (const void *)ip,
		                     dns ? (int)strlen(v) : iplen)) {
			GENERAL_NAME_free(g);
			ASN1_STRING_free(s);
			rc = ERR_NOMEM;
			break;
		}
		GENERAL_NAME_set0_value(g, dns ? GEN_DNS : GEN_IPADD, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			rc = ERR_NOMEM;
		}
	}
	if (!rc && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		rc = ERR_CRYPTO;
	GENERAL_NAMES_free(gens);
	return rc;
}

int cert_leaf_issue(const struct cert_ca *ca, const struct cert_leaf_options *opt,
                    struct cert_leaf **out, char *err, size_t errlen)
{
	CHECK_MAGIC(ca, CERT_CA_MAGIC);
	*out = NULL;
	size_t nnames = opt->ndns + opt->nips;
	if (nnames == 0 || nnames > CERT_NAMES_MAX)
		return fail(ERR_INVALID, err, errlen,
		            "a certificate has 1 to %d names and addresses", CERT_NAMES_MAX);
	const char *cn = opt->ndns ? opt->dns[0] : opt->ips[0];
	if (!cn_ok(cn))
		return fail(ERR_INVALID, err, errlen,
		            "'%s': the first name is the common name, 1 to %d bytes", cn,
		            CERT_CN_MAX);
	int rc = check_validity(opt->not_before, opt->not_after, err, errlen);
	if (rc)
		return rc;
	struct cert_leaf *leaf = calloc(1, sizeof *leaf);
	if (!leaf)
		return ERR_NOMEM;
	leaf->magic = CERT_LEAF_MAGIC;
	rc = key_generate(opt->key_type, &leaf->key, err, errlen);
	if (rc) {
		cert_leaf_free(leaf);
		return rc;
	}
	const char *usage = opt->key_type == CERT_KEY_RSA_2048
	                        ? "critical,digitalSignature,keyEncipherment"
	                        : "critical,digitalSignature";
	X509 *x = NULL;
	rc = x509_start(leaf->key, cn, opt->not_before, opt->not_after, &x);
	leaf->x509 = x;
	if (!rc && !X509_set_issuer_name(x, X509_get_subject_name(ca->x509)))
		rc = ERR_CRYPTO;
	if (!rc)
		rc = x509_ext(ca->x509, x, NID_basic_constraints, "critical,CA:FALSE");
	if (!rc)
		rc = x509_ext(ca->x509, x, NID_key_usage, usage);
	if (!rc)
		rc = x509_ext(ca->x509, x, NID_ext_key_usage, "serverAuth,clientAuth");
	if (!rc)
		rc = x509_ext(ca->x509, x, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = x509_ext(ca->x509, x, NID_authority_key_identifier, "keyid:always");
	if (!rc)
		rc = add_san(x, opt, err, errlen);
	if (!rc && !X509_sign(x, ca->key, EVP_sha256()))
		rc = ERR_CRYPTO;
	if (rc) {
		cert_leaf_free(leaf);
		/* add_san wrote its own message for bad names */
		return rc == ERR_INVALID ? rc
		                         : fail(rc, err, errlen, "cannot build the certificate");
	}
	*out = leaf;
	return 0;
}

int cert_leaf_write(const struct cert_leaf *leaf, const struct cert_ca *chain,
                    const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	CHECK_MAGIC(leaf, CERT_LEAF_MAGIC);
	if (chain)
		CHECK_MAGIC(chain, CERT_CA_MAGIC);
	/* The key first: a certificate on disk without its key is no use. */
	int rc = write_key(leaf->key, key_file, err, errlen);
	return rc ? rc
	          : write_certs(leaf->x509, chain ? chain->x509 : NULL, cert_file, err, errlen);
}

void cert_leaf_free(struct cert_leaf *leaf)
{
	if (!leaf)
		return;
	CHECK_MAGIC(leaf, CERT_LEAF_MAGIC);
	X509_free(leaf->x509);
	EVP_PKEY_free(leaf->key);
	leaf->magic = 0;
	free(leaf);
}

X509 *cert_leaf_x509(const struct cert_leaf *leaf)
{
	CHECK_MAGIC(leaf, CERT_LEAF_MAGIC);
	return leaf->x509;
}

EVP_PKEY *cert_leaf_key(const struct cert_leaf *leaf)
{
	CHECK_MAGIC(leaf, CERT_LEAF_MAGIC);
	return leaf->key;
}
