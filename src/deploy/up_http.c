/*
 * deploy/up's blocking loopback HTTP/1.1 client (up-int.h): what `up` needs
 * to create buckets, seed objects, probe health and drive a router's
 * control API, without an event loop. One request per connection
 * (Connection: close), the answer read to EOF or its Content-Length, every
 * wait bounded by socket timeouts. Main thread of the CLI process only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "auth/sign.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "deploy/up-int.h"

#define HEAD_MAX 8192

static int connect_loopback(uint16_t port, uint32_t timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool deploy__tcp_accepts(uint16_t port)
{
	int fd = connect_loopback(port, 500);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool deploy__port_free(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	/* Something listening on another address (0.0.0.0) binds fine here
	 * with SO_REUSEADDR only if it is not listening: check a connect too. */
	return ok && !deploy__tcp_accepts(port);
}

int deploy__path_encode(const char *key, char *out, size_t cap)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		bool keep = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		            (*k >= '0' && *k <= '9') || *k == '-' || *k == '_' || *k == '.' ||
		            *k == '~' || *k == '/';
		if (o + 4 > cap)
			return ERR_TOO_BIG;
		if (keep) {
			out[o++] = (char)*k;
		} else {
			out[o++] = '%';
			out[o++] = hexd[*k >> 4];
			out[o++] = hexd[*k & 15];
		}
	}
	if (o >= cap)
		return ERR_TOO_BIG;
	out[o] = '\0';
	return 0;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_UP_HTTP;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The request head into `h`, signed when asked. */
static int build_head(struct buf *h, const char *method, const char *target, const char *host,
                      const struct deploy_up_sign *sign, const void *p, size_t n)
{
	int rc = buf_printf(h, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method,
	                    target, host);
	if (rc == 0 && (n || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0 ||
	                strcmp(method, "POST") == 0))
		rc = buf_printf(h, "Content-Length: %zu\r\n", n);
	if (rc || !sign)
		return rc ? rc : buf_add_str(h, "\r\n");
	uint8_t digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256(p ? p : "", n, digest);
	hex_encode(digest, SHA256_LEN, hex);
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	struct auth_header hs[1] = { { IOV_LIT("host"), iov_cstr(host) } };
	struct auth_request req = {
		.method = iov_cstr(method),
		.path = iov_make(target, plen),
		.query = q ? iov_cstr(q + 1) : IOV_LIT(""),
		.headers = hs,
		.nheaders = 1,
	};
	struct auth_sign_opts o = {
		.alg = AUTH_SIGV4,
		.form = AUTH_FORM_HEADER,
		.creds = { iov_cstr(sign->access_key), iov_cstr(sign->secret_key), IOV_LIT("") },
		.region = iov_cstr(sign->region),
		.service = IOV_LIT("s3"),
		.time = (int64_t)time(NULL),
		.payload_hash = iov_make(hex, SHA256_HEX_LEN),
		.rules = AUTH_URI_S3,
		.content_sha256_header = true,
	};
	struct auth_signature s;
	auth_signature_init(&s);
	rc = auth_sign(&o, &req, &s);
	for (size_t i = 0; rc == 0 && i < s.nadded; i++)
		rc = buf_printf(h, "%.*s: %.*s\r\n", (int)s.added[i].name.len, s.added[i].name.base,
		                (int)s.added[i].value.len, s.added[i].value.base);
	auth_signature_free(&s);
	return rc ? rc : buf_add_str(h, "\r\n");
}

/* Status and body from the whole answer in `in`. */
static int parse_answer(struct iov in, int *status, struct buf *body)
{
	if (in.len < 12 || memcmp(in.base, "HTTP/1.", 7) != 0)
		return ERR_UP_HTTP;
	int st = 0;
	for (size_t i = 9; i < 12; i++) {
		if (in.base[i] < '0' || in.base[i] > '9')
			return ERR_UP_HTTP;
		st = st * 10 + (in.base[i] - '0');
	}
	*status = st;
	const char *end = memmem(in.base, in.len, "\r\n\r\n", 4);
	if (!end)
		return ERR_UP_HTTP;
	size_t off = (size_t)(end - in.base) + 4;
	if (body)
		return buf_add(body, in.base + off, in.len - off);
	return 0;
}

int deploy__http(uint16_t port, const char *method, const char *target, const char *host,
                 const struct deploy_up_sign *sign, const void *p, size_t n, uint32_t timeout_ms,
                 int *status, struct buf *body)
{
	struct buf h, in;
	buf_init(&h, HEAD_MAX);
	buf_init(&in, DEPLOY_UP_BODY_MAX + HEAD_MAX);
	int rc = build_head(&h, method, target, host, sign, p, n);
	int fd = -1;
	if (rc == 0) {
		fd = connect_loopback(port, timeout_ms);
		if (fd < 0)
			rc = ERR_UP_HTTP;
	}
	if (rc == 0)
		rc = send_all(fd, h.data, h.len);
	if (rc == 0 && n)
		rc = send_all(fd, p, n);
	char chunk[16384];
	while (rc == 0) {
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ERR_UP_HTTP;
			break;
		}
		if (r == 0)
			break;
		if (buf_add(&in, chunk, (size_t)r) != 0)
			break; /* past the cap: keep what fits */
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = parse_answer(buf_iov(&in), status, body);
	buf_free(&h);
	buf_free(&in);
	return rc;
}
