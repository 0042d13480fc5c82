/*
 * deploy/up's pure and local parts: the key encoder for seed paths, the
 * blocking HTTP helper against a one-shot server thread (status, body, and
 * the SigV4 headers with the body's hash), and the commands' refusals on a
 * state directory without a stack or with a bad stack file (nothing
 * written). The processes themselves are tested end to end in
 * tests/integration/test_up.py.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hex.h"
#include "crypto/sha256.h"
#include "deploy/up-int.h"
#include "deploy/up.h"

static void path_encode_keeps_unreserved_and_slashes(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(deploy__path_encode("a b/\xc3\xbc+x~_.-", out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b/%C3%BC%2Bx~_.-");
	assert_int_equal(deploy__path_encode("abcdefgh", out, 8), ERR_TOO_BIG);
	assert_int_equal(deploy__path_encode("\xff\xff", out, 6), ERR_TOO_BIG);
}

struct one_shot {
	int fd;
	char req[8192];
	size_t len;
};

static void *serve_one(void *arg)
{
	struct one_shot *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	/* Read the head and the 5-byte body. */
	while (s->len < sizeof(s->req) - 1) {
		ssize_t r = read(c, s->req + s->len, sizeof(s->req) - 1 - s->len);
		if (r <= 0)
			break;
		s->len += (size_t)r;
		s->req[s->len] = '\0';
		const char *end = strstr(s->req, "\r\n\r\n");
		if (end && s->len >= (size_t)(end - s->req) + 4 + 5)
			break;
	}
	const char ans[] = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
	ssize_t w = write(c, ans, sizeof(ans) - 1);
	(void)w;
	close(c);
	return NULL;
}

static void http_signed_put(void **state)
{
	(void)state;
	static struct one_shot s;
	memset(&s, 0, sizeof(s));
	s.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s.fd, 1), 0);
	socklen_t al = sizeof(a);
	getsockname(s.fd, (struct sockaddr *)&a, &al);
	uint16_t port = ntohs(a.sin_port);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);
	struct deploy_up_sign sg = { "AKIAEXAMPLE00000001", "secretsecretsecret", "eu-west-1" };
	struct buf body;
	buf_init(&body, 1024);
	int status = 0;
	assert_int_equal(deploy__http(port, "PUT", "/b/k%20x", "127.0.0.1", &sg, "hello", 5, 5000,
	                              &status, &body),
	                 0);
	pthread_join(t, NULL);
	close(s.fd);
	assert_int_equal(status, 201);
	assert_int_equal(body.len, 2);
	assert_memory_equal(body.data, "ok", 2);
	buf_free(&body);
	assert_non_null(strstr(s.req, "PUT /b/k%20x HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
	assert_non_null(strstr(s.req, "Content-Length: 5\r\n"));
	assert_non_null(strstr(s.req, "Authorization: AWS4-HMAC-SHA256 Credential="
	                              "AKIAEXAMPLE00000001/"));
	assert_non_null(strstr(s.req, "/eu-west-1/s3/aws4_request"));
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], want[128];
	sha256("hello", 5, d);
	hex_encode(d, SHA256_LEN, hex);
	snprintf(want, sizeof(want), "x-amz-content-sha256: %s\r\n", hex);
	assert_non_null(strcasestr(s.req, want));
	assert_memory_equal(s.req + s.len - 5, "hello", 5);
}

static void http_refused_is_an_error(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	uint16_t port = ntohs(a.sin_port);
	/* Bound, not listening: connections are refused, and the port is not free. */
	int status = 0;
	assert_int_equal(
	    deploy__http(port, "GET", "/-/health", "127.0.0.1", NULL, NULL, 0, 1000, &status, NULL),
	    ERR_UP_HTTP);
	assert_false(deploy__tcp_accepts(port));
	assert_false(deploy__port_free(port));
	close(fd);
}

static void commands_without_a_stack(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_deploy_up.XXXXXX";
	assert_non_null(mkdtemp(dir));
	FILE *null = fopen("/dev/null", "w");
	assert_int_equal(deploy_down(dir, null, null), ERR_UP_NOT_RUNNING);
	assert_int_equal(deploy_status(dir, null, null), ERR_UP_NOT_RUNNING);
	assert_int_equal(deploy_region(dir, "us-east-1", false, null, null), ERR_UP_NOT_RUNNING);
	/* A bad stack: exit-2 class, every message, nothing written. */
	char stack[128], st[128];
	snprintf(stack, sizeof(stack), "%s/s.yaml", dir);
	snprintf(st, sizeof(st), "%s/state", dir);
	FILE *f = fopen(stack, "w");
	fputs("Resources:\n  A:\n    Type: Meridian::Nope\n", f);
	fclose(f);
	char *msgs = NULL;
	size_t mlen = 0;
	FILE *err = open_memstream(&msgs, &mlen);
	struct deploy_up_opts o = { .file = stack, .state = st };
	assert_int_equal(deploy_up(&o, null, err), ERR_CONFIG_SCHEMA);
	fclose(err);
	assert_non_null(strstr(msgs, "s.yaml:3:5: Type: unknown resource type \"Meridian::Nope\""));
	free(msgs);
	struct stat sb;
	assert_int_not_equal(stat(st, &sb), 0);
	fclose(null);
	unlink(stack);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_encode_keeps_unreserved_and_slashes),
		cmocka_unit_test(http_signed_put),
		cmocka_unit_test(http_refused_is_an_error),
		cmocka_unit_test(commands_without_a_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
