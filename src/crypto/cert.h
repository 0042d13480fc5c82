/*
 * A small local certificate authority on OpenSSL 3 (EVP and X509 only): a
 * self-signed CA, leaf certificates it signs for servers and clients (DNS
 * names and IP addresses), PEM files written so that a private key is never
 * readable by others, and a CA loaded back from its files to issue more
 * leaves later. `meridian up` uses it for the stack's endpoints, `meridian
 * tls` from the command line, tests and benchmarks for their certificates.
 * No CRLs, no OCSP, no name constraints (docs/internals/crypto-cert.md).
 *
 * Threads: blocking (key generation, file writes with fsync): startup
 * threads and commands, never a loop thread. A CA or leaf object is owned
 * by one caller; issuing from one CA on two threads at once is not
 * supported.
 */
#ifndef MERIDIAN_CRYPTO_CERT_H
#define MERIDIAN_CRYPTO_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define CERT_NAMES_MAX       64                    /* DNS names plus IP addresses of one leaf */
#define CERT_CN_MAX          64                    /* X.509's upper bound for a common name */
#define CERT_DNS_NAME_MAX    253                   /* RFC 1035 */
#define CERT_FILE_MAX        (64 * 1024)           /* a CA's certificate or key file when loaded */
#define CERT_VALIDITY_MAX    (100ll * 365 * 86400) /* |offset| of either validity bound */
#define CERT_ERR_LEN         256 /* an error buffer of this size holds any message */
#define CERT_CA_NAME_DEFAULT "Meridian local CA"

enum cert_key_type {
	CERT_KEY_EC_P256 = 0, /* ECDSA over NIST P-256 (the default) */
	CERT_KEY_RSA_2048,
};

struct cert_ca;
struct cert_leaf;

struct cert_ca_options {
	const char *name;            /* subject CN; NULL: CERT_CA_NAME_DEFAULT */
	enum cert_key_type key_type; /* the CA's own key */
	int64_t not_before;          /* seconds from now (usually 0 or slightly negative) */
	int64_t not_after;           /* seconds from now; after not_before */
};

/*
 * A new self-signed CA: a fresh key, basicConstraints critical CA:TRUE,
 * keyUsage critical keyCertSign + cRLSign, a random 128-bit serial,
 * subject and authority key identifiers, SHA-256 signature. 0, ERR_INVALID
 * (name empty or over CERT_CN_MAX bytes, validity out of order or over
 * CERT_VALIDITY_MAX), ERR_NOMEM or ERR_CRYPTO, with the reason in err.
 */
int cert_ca_new(const struct cert_ca_options *opt, struct cert_ca **out, char *err, size_t errlen);
/*
 * Load a CA from PEM files (the first certificate of cert_file, the
 * private key of key_file, each at most CERT_FILE_MAX bytes). 0, or
 * ERR_TLS_CONFIG with "file: why" in err: unreadable, not PEM, not a CA
 * certificate, or a key that does not belong to the certificate.
 */
int cert_ca_load(const char *cert_file, const char *key_file, struct cert_ca **out, char *err,
                 size_t errlen);
/* Write the CA's certificate (mode 0644 less the umask) and key (0600) as
 * cert_leaf_write does. 0, ERR_IO or ERR_NOMEM/ERR_CRYPTO, reason in err. */
int cert_ca_write(const struct cert_ca *ca, const char *cert_file, const char *key_file, char *err,
                  size_t errlen);
/* cert_ca_free(NULL) is a no-op. */
void cert_ca_free(struct cert_ca *ca);
/* Borrowed: valid until cert_ca_free. For X509_STORE and SSL_CTX callers. */
X509 *cert_ca_x509(const struct cert_ca *ca);
EVP_PKEY *cert_ca_key(const struct cert_ca *ca);

struct cert_leaf_options {
	const char *const *dns; /* DNS names ("example.com", "*.example.com", "localhost") */
	size_t ndns;
	const char *const *ips;      /* IPv4 or IPv6 literals ("127.0.0.1", "::1") */
	size_t nips;                 /* ndns + nips in 1..CERT_NAMES_MAX */
	enum cert_key_type key_type; /* RSA leaves add keyEncipherment */
	int64_t not_before;          /* seconds from now; both negative: an expired leaf */
	int64_t not_after;           /* seconds from now; after not_before */
};

/*
 * A leaf signed by ca: a fresh key; subjectAltName with every DNS name
 * and IP address; subject CN the first DNS name (the first IP address when
 * there is none); basicConstraints critical CA:FALSE; keyUsage critical
 * digitalSignature (+ keyEncipherment for RSA); extendedKeyUsage
 * serverAuth + clientAuth; a random 128-bit serial; subject and authority
 * key identifiers; SHA-256 signature. The validity is not clamped to the
 * CA's. 0, ERR_INVALID (a malformed DNS name or IP literal, no names, too
 * many, validity out of order), ERR_NOMEM or ERR_CRYPTO, reason in err.
 */
int cert_leaf_issue(const struct cert_ca *ca, const struct cert_leaf_options *opt,
                    struct cert_leaf **out, char *err, size_t errlen);
/*
 * Write the leaf's certificate to cert_file (PEM; followed by chain's
 * certificate when chain is not NULL, for servers that send their chain)
 * and its private key to key_file (PKCS#8 PEM, unencrypted). Each file is
 * written under a temporary name created with O_EXCL (the key with mode
 * 0600, so it is never readable by others, even for a moment), fsynced,
 * then renamed over the destination and the directory fsynced: a reader
 * sees the old file or the new one, never a part. 0, ERR_IO ("file: why"
 * in err), ERR_NOMEM or ERR_CRYPTO.
 */
int cert_leaf_write(const struct cert_leaf *leaf, const struct cert_ca *chain,
                    const char *cert_file, const char *key_file, char *err, size_t errlen);
/* cert_leaf_free(NULL) is a no-op. */
void cert_leaf_free(struct cert_leaf *leaf);
/* Borrowed: valid until cert_leaf_free. */
X509 *cert_leaf_x509(const struct cert_leaf *leaf);
EVP_PKEY *cert_leaf_key(const struct cert_leaf *leaf);

/* Module-internal, for tests: whether a DNS name is one cert_leaf_issue
 * takes (labels of letters, digits and '-', a leading "*." allowed, not an
 * IP literal). */
bool cert__dns_name_ok(const char *name);

#endif
