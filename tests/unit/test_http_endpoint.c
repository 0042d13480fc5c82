/*
 * http/endpoint: the numeric ip:port form (router and edge configs) and
 * endpoint URLs (repl peers), accepted and refused, from slices without a
 * NUL after them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "base/err.h"
#include "http/endpoint.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A heap copy of `s` without its NUL, so reading past the end is caught
 * by ASan. */
static struct iov exact(const char *s, char **keep)
{
	size_t n = strlen(s);
	*keep = malloc(n ? n : 1);
	memcpy(*keep, s, n);
	return iov_make(*keep, n);
}

static int addr(const char *s, bool port0, struct sockaddr_storage *ss, unsigned *len)
{
	char *keep;
	int rc = http_endpoint_addr(exact(s, &keep), port0, ss, len);
	free(keep);
	return rc;
}

static void test_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	unsigned len = 0;
	assert_int_equal(addr("127.0.0.1:9001", false, &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 9001);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(addr("[::1]:65535", false, &ss, &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(a6->sin6_port), 65535);
	assert_int_equal(a6->sin6_addr.s6_addr[15], 1);
	assert_int_equal(addr("0.0.0.0:0", true, NULL, NULL), 0);
	assert_int_equal(addr("[::]:0", true, NULL, NULL), 0);
	static const char *const bad[] = {
		"localhost:9001",
		"127.0.0.1",
		"127.0.0.1:0",
		"127.0.0.1:+80",
		"127.0.0.1: 80",
		"[::1]:65536",
		"::1:80",
		"127.0.0.1:",
		"[::1]",
		"1.2.3:80",
		"127.0.0.1:000080",
		":80",
		"",
		"[]:80",
		"[127.0.0.1]:80",
		"[::1:80",
		"::1]:80",
		" 127.0.0.1:80",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++)
		if (addr(bad[i], false, &ss, &len) != ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(addr("127.0.0.1:0", false, NULL, NULL), ERR_INVALID);
}

static int url(const char *s, struct http_endpoint *e)
{
	char *keep;
	struct iov v = exact(s, &keep);
	int rc = http_endpoint_parse(v, e);
	if (rc == 0) /* host is a slice of the input: check it before free */
		assert_true(e->host.base >= keep && e->host.base + e->host.len <= keep + v.len);
	free(keep);
	return rc;
}

static void test_url(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool https, ip, ipv6, port_given;
		uint16_t port;
		const char *host;
	} good[] = {
		{ "http://127.0.0.1:9002", false, true, false, true, 9002, "127.0.0.1" },
		{ "http://127.0.0.1", false, true, false, false, 80, "127.0.0.1" },
		{ "https://127.0.0.1/", true, true, false, false, 443, "127.0.0.1" },
		{ "https://[::1]:9443", true, true, true, true, 9443, "::1" },
		{ "http://[fe80::1:2]/", false, true, true, false, 80, "fe80::1:2" },
		{ "https://s3.eu-west-1.amazonaws.com", true, false, false, false, 443,
		  "s3.eu-west-1.amazonaws.com" },
		{ "http://Store-A:80", false, false, false, true, 80, "Store-A" },
		{ "http://a1.b2.c3x", false, false, false, false, 80, "a1.b2.c3x" },
	};
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		struct http_endpoint e;
		char *keep;
		struct iov v = exact(good[i].in, &keep);
		if (http_endpoint_parse(v, &e) != 0)
			fail_msg("refused \"%s\"", good[i].in);
		assert_int_equal(e.https, good[i].https);
		assert_int_equal(e.ip, good[i].ip);
		assert_int_equal(e.ipv6, good[i].ipv6);
		assert_int_equal(e.port_given, good[i].port_given);
		assert_int_equal(e.port, good[i].port);
		assert_int_equal(e.host.len, strlen(good[i].host));
		assert_memory_equal(e.host.base, good[i].host, e.host.len);
		free(keep);
	}
	static const char *const bad[] = {
		"127.0.0.1:9002", "ftp://a",           "HTTP://a",         "http:/a",
		"http://",        "http:///",          "http://:80",       "http://a:",
		"http://a:0",     "http://a:65536",    "http://a:+80",     "http://a:000080",
		"http://a/b",     "http://a//",        "http://a?x",       "http://a#f",
		"http://u@a",     "http://u:p@a",      "http://::1",       "http://[::1",
		"http://[::1]x",  "http://[::1]:",     "http://[]",        "http://[1.2.3.4]",
		"http://1.2.3",   "http://10.0.0.256", "http://1.2.3.4.5", "http://a..b",
		"http://.a",      "http://a.",         "http://-a",        "http://a-",
		"http://a_b",     "http://a b",        "http://a:80:80",   "http://a\\b",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		struct http_endpoint e = { .port = 7 };
		if (url(bad[i], &e) != ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(e.port, 7); /* untouched */
	}
	/* Label and name lengths. */
	char host[300];
	memset(host, 'a', 63);
	host[63] = '\0';
	assert_true(http_endpoint_dns_name(iov_cstr(host)));
	memset(host, 'a', 64);
	host[64] = '\0';
	assert_false(http_endpoint_dns_name(iov_cstr(host)));
	for (size_t i = 0; i < 253; i++)
		host[i] = i % 2 ? '.' : 'a';
	host[253] = '\0';
	assert_true(http_endpoint_dns_name(iov_make(host, 253)));
	host[253] = 'a';
	assert_false(http_endpoint_dns_name(iov_make(host, 254)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
