/*
 * repl/peer_http.c: the curl set-up toward a peer. The URL names
 * server_name while the connection goes to the endpoint's address (the
 * connect-to entry, IPv6 bracketed), requests go nowhere but the endpoint's
 * scheme, and failure reasons are worded the same for the same cause.
 * Requests go to a closed loopback port: nothing leaves the machine.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "repl/repl-int.h"

/* A loopback port nothing listens on (bound, then closed). */
static unsigned closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void peer(struct repl_peer *p, const char *host, unsigned port, bool https,
                 const char *server_name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "eu");
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = (uint16_t)port;
	p->https = https;
	p->timeout_ms = 2000;
	snprintf(p->server_name, sizeof(p->server_name), "%s", server_name);
	bool v6 = strchr(host, ':') != NULL;
	snprintf(p->authority, sizeof(p->authority), "%s%s%s:%u", v6 && !server_name[0] ? "[" : "",
	         server_name[0] ? server_name : host, v6 && !server_name[0] ? "]" : "", port);
}

/* Run h; its result, and the URL curl used in *url. */
static CURLcode perform(CURL *h, char *url, size_t cap)
{
	CURLcode c = curl_easy_perform(h);
	char *eff = NULL;
	curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
	snprintf(url, cap, "%s", eff ? eff : "");
	return c;
}

static void server_name_is_in_the_url_and_the_address_in_connect_to(void **state)
{
	(void)state;
	struct arena *a = arena_new(4096);
	unsigned port = closed_port();
	struct repl_peer p;
	peer(&p, "127.0.0.1", port, true, "s3.eu.example");
	CURL *h = curl_easy_init();
	struct repl_req q = { 0 };
	assert_int_equal(repl__peer_curl(h, &p, IOV_LIT("/-/health"), a, &q), 0);
	char want[128], url[256];
	snprintf(want, sizeof(want), "s3.eu.example:%u:127.0.0.1:%u", port, port);
	assert_non_null(q.connect_to);
	assert_string_equal(q.connect_to->data, want);
	assert_null(q.connect_to->next);
	/* Connected to 127.0.0.1 (refused there), never a DNS lookup of the
	 * name: a lookup failure would be CURLE_COULDNT_RESOLVE_HOST. */
	assert_int_equal(perform(h, url, sizeof(url)), CURLE_COULDNT_CONNECT);
	snprintf(want, sizeof(want), "https://s3.eu.example:%u/-/health", port);
	assert_string_equal(url, want);
	char why[REPL_REASON_MAX];
	repl__reason(CURLE_COULDNT_CONNECT, &q, 0, why, sizeof(why));
	assert_string_equal(why, "Couldn't connect to server"); /* no address, no time */
	curl_easy_cleanup(h);
	repl__req_free(&q);
	assert_null(q.connect_to);

	/* IPv6: the connect-to host is bracketed. */
	arena_reset(a);
	peer(&p, "::1", port, true, "s3.eu.example");
	h = curl_easy_init();
	assert_int_equal(repl__peer_curl(h, &p, IOV_LIT("/b?versions="), a, &q), 0);
	snprintf(want, sizeof(want), "s3.eu.example:%u:[::1]:%u", port, port);
	assert_string_equal(q.connect_to->data, want);
	curl_easy_cleanup(h);
	repl__req_free(&q);

	/* No server_name: no connect-to, the URL is the endpoint's. */
	arena_reset(a);
	peer(&p, "127.0.0.1", port, true, "");
	h = curl_easy_init();
	assert_int_equal(repl__peer_curl(h, &p, IOV_LIT("/x"), a, &q), 0);
	assert_null(q.connect_to);
	assert_int_equal(perform(h, url, sizeof(url)), CURLE_COULDNT_CONNECT);
	snprintf(want, sizeof(want), "https://127.0.0.1:%u/x", port);
	assert_string_equal(url, want);
	curl_easy_cleanup(h);
	repl__req_free(&q);
	arena_free(a);
}

/* An https peer's handle speaks https only: a plain-HTTP target (as a
 * redirect would make) is refused before connecting, and the other way. */
static void only_the_endpoints_scheme(void **state)
{
	(void)state;
	struct arena *a = arena_new(4096);
	unsigned port = closed_port();
	struct repl_peer p;
	peer(&p, "127.0.0.1", port, true, "");
	CURL *h = curl_easy_init();
	struct repl_req q = { 0 };
	assert_int_equal(repl__peer_curl(h, &p, IOV_LIT("/"), a, &q), 0);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	assert_int_equal(curl_easy_perform(h), CURLE_UNSUPPORTED_PROTOCOL);
	curl_easy_cleanup(h);
	repl__req_free(&q);

	peer(&p, "127.0.0.1", port, false, "");
	h = curl_easy_init();
	assert_int_equal(repl__peer_curl(h, &p, IOV_LIT("/"), a, &q), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	assert_int_equal(curl_easy_perform(h), CURLE_UNSUPPORTED_PROTOCOL);
	curl_easy_cleanup(h);
	repl__req_free(&q);
	arena_free(a);
}

static void reasons(void **state)
{
	(void)state;
	struct repl_req q = { 0 };
	char why[REPL_REASON_MAX];
	repl__reason(CURLE_OK, &q, 503, why, sizeof(why));
	assert_string_equal(why, "HTTP 503");
	repl__reason(CURLE_OK, &q, 0, why, sizeof(why));
	assert_string_equal(why, "no HTTP answer");
	snprintf(q.errbuf, sizeof(q.errbuf),
	         "SSL certificate problem: unable to get local issuer certificate");
	repl__reason(CURLE_PEER_FAILED_VERIFICATION, &q, 0, why, sizeof(why));
	assert_string_equal(why, "TLS: SSL certificate problem: unable to get local issuer "
	                         "certificate");
	/* Not TLS: curl's fixed text, not its message with times in it. */
	snprintf(q.errbuf, sizeof(q.errbuf), "Operation timed out after 30001 milliseconds");
	repl__reason(CURLE_OPERATION_TIMEDOUT, &q, 0, why, sizeof(why));
	assert_string_equal(why, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
	/* TLS without a message still says what failed. */
	q.errbuf[0] = '\0';
	repl__reason(CURLE_SSL_CONNECT_ERROR, &q, 0, why, sizeof(why));
	assert_string_equal(why, curl_easy_strerror(CURLE_SSL_CONNECT_ERROR));
	assert_true(repl__tls_failure(CURLE_PEER_FAILED_VERIFICATION));
	assert_true(repl__tls_failure(CURLE_SSL_CONNECT_ERROR));
	assert_true(repl__tls_failure(CURLE_SSL_CACERT_BADFILE));
	assert_false(repl__tls_failure(CURLE_COULDNT_CONNECT));
	assert_false(repl__tls_failure(CURLE_OK));
	/* Truncated, terminated. */
	char small[8];
	repl__reason(CURLE_OK, &q, 503, small, sizeof(small));
	assert_string_equal(small, "HTTP 50");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_name_is_in_the_url_and_the_address_in_connect_to),
		cmocka_unit_test(only_the_endpoints_scheme),
		cmocka_unit_test(reasons),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
