/*
 * deploy/up's pure and local parts: the key encoder for seed paths, the
 * blocking HTTP helper against a one-shot server thread (status, body, and
 * the SigV4 headers with the body's hash), and the commands' refusals on a
 * state directory without a stack or with a bad stack file (nothing
 * written), and the replication documents `up` writes, read back with
 * the store's own parsers (s3/repl_xml.h, repl/config.h). The processes themselves are tested end
 * to end in tests/integration/test_up.py.
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
#include "base/arena.h"
#include "deploy/up-int.h"
#include "deploy/up-plan.h"
#include "deploy/up.h"
#include "repl/config.h"
#include "s3/repl_xml.h"

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

static struct deploy_stack *stack_of(const char *text)
{
	static struct deploy_stack_diag diag;
	struct deploy_stack *st = NULL;
	int rc = deploy_stack_parse("s.yaml", text, strlen(text), NULL, 0, &st, &diag);
	if (rc)
		fail_msg("stack refused: %s", diag.n ? diag.msg[0].text : err_name(rc));
	return st;
}

/* Three stores: a in r-a (rules to b's bucket and between its own two),
 * b in r-b (none), C in R_c (a rule to a). */
static const char three[] =
    "Resources:\n"
    "  La: {Type: Meridian::Location, Properties: {Name: la, Region: r-a}}\n"
    "  Lb: {Type: Meridian::Location, Properties: {Name: lb, Region: r-b}}\n"
    "  Lc: {Type: Meridian::Location, Properties: {Name: lc, Region: R_c}}\n"
    "  Sa: {Type: Meridian::Store, Properties: {Location: !Ref La}}\n"
    "  Sb: {Type: Meridian::Store, Properties: {Location: !Ref Lb}}\n"
    "  Sc: {Type: Meridian::Store, Properties: {Location: !Ref Lc}}\n"
    "  A1:\n    Type: Meridian::Bucket\n    Properties:\n"
    "      Store: !Ref Sa\n      BucketName: a-one\n      Versioning: Enabled\n"
    "      ReplicationRules:\n"
    "        - {Destination: !Ref B1, Prefix: \"x&<y>/\"}\n"
    "        - {Destination: !Ref A2, Status: Disabled, DeleteMarkerReplication: Disabled}\n"
    "  A2: {Type: Meridian::Bucket, Properties: {Store: !Ref Sa, BucketName: a-two,"
    " Versioning: Enabled}}\n"
    "  B1: {Type: Meridian::Bucket, Properties: {Store: !Ref Sb, BucketName: b-one,"
    " Versioning: Enabled}}\n"
    "  C1:\n    Type: Meridian::Bucket\n    Properties:\n"
    "      Store: !Ref Sc\n      BucketName: c-one\n      Versioning: Enabled\n"
    "      ReplicationRules: [{Destination: !Ref A1, Prefix: s/}]\n";

static void repl_peers_of_each_store(void **state)
{
	(void)state;
	struct deploy_stack *st = stack_of(three);
	assert_true(deploy__repl_to(st, 0, 1) && deploy__repl_to(st, 0, 0));
	assert_false(deploy__repl_to(st, 0, 2));
	assert_false(deploy__repl_to(st, 1, 0) || deploy__repl_to(st, 1, 1) ||
	             deploy__repl_to(st, 1, 2));
	assert_true(deploy__repl_to(st, 2, 0));
	assert_false(deploy__repl_to(st, 2, 2));
	assert_true(deploy__repl_from(st, 0, 1) && deploy__repl_from(st, 2, 0));
	assert_false(deploy__repl_from(st, 1, 0));
	char name[REPL_NAME_MAX + 1];
	deploy__repl_peer_name("R_c", name, sizeof(name));
	assert_string_equal(name, "r-c");
	deploy__repl_peer_name("us-east-1", name, sizeof(name));
	assert_string_equal(name, "us-east-1");
	deploy_stack_free(st);
}

static void repl_rules_document_reads_back(void **state)
{
	(void)state;
	struct deploy_stack *st = stack_of(three);
	struct arena *a = arena_new(1u << 20);
	assert_non_null(a);
	struct buf b;
	buf_init(&b, 1u << 20);
	assert_int_equal(deploy__repl_xml(st, 0, &b), 0);
	struct meta_repl_config c;
	const char *why = NULL;
	int rc = s3_repl_xml_parse(buf_iov(&b), a, &c, &why);
	if (rc)
		fail_msg("%s: %s\n%.*s", err_name(rc), why ? why : "", (int)b.len, b.data);
	assert_int_equal(c.nrules, 2);
	const struct meta_repl_rule *r = &c.rules[0];
	assert_true(iov_eq(r->id, IOV_LIT("rule-1-to-b-one")));
	assert_int_equal(r->priority, 1);
	assert_true(r->enabled && r->delete_markers && !r->v1);
	assert_true(iov_eq(r->prefix, IOV_LIT("x&<y>/")));
	assert_true(iov_eq(r->dest_bucket, IOV_LIT("b-one")));
	assert_true(iov_eq(r->peer, IOV_LIT("r-b"))); /* the region in the ARN */
	r = &c.rules[1];
	assert_true(iov_eq(r->id, IOV_LIT("rule-2-to-a-two")));
	assert_int_equal(r->priority, 2);
	assert_false(r->enabled || r->delete_markers);
	assert_true(iov_eq(r->prefix, IOV_LIT("")));
	assert_true(iov_eq(r->dest_bucket, IOV_LIT("a-two")));
	assert_true(iov_eq(r->peer, IOV_LIT("r-a"))); /* its own store */
	buf_free(&b);
	arena_free(a);
	deploy_stack_free(st);
}

static void repl_peers_file_reads_back(void **state)
{
	(void)state;
	struct deploy_stack *st = stack_of(three);
	char dir[] = "/tmp/test_deploy_up_XXXXXX", path[256];
	assert_non_null(mkdtemp(dir));
	const char *keys[] = { "r-a.keys", "r-b.keys" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keys[i]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "AKIDPEER%zu secret%zu\n", i, i);
		fclose(f);
	}
	uint16_t port[3] = { 9001, 9002, 9003 };
	struct buf b;
	buf_init(&b, 1u << 20);
	assert_int_equal(deploy__repl_peers_yaml(st, 0, port, NULL, &b), 0);
	snprintf(path, sizeof(path), "%s/peers.yaml", dir);
	struct repl_config c;
	char err[REPL_CONFIG_ERR_LEN];
	int rc = repl_config_parse(b.data, b.len, path, &c, err, sizeof(err));
	if (rc)
		fail_msg("%s\n%.*s", err, (int)b.len, b.data);
	assert_int_equal(c.npeers, 2); /* itself, then b; never c */
	assert_string_equal(c.peers[0].name, "r-a");
	assert_string_equal(c.peers[0].region, "r-a");
	assert_string_equal(c.peers[0].connect, "127.0.0.1:9001");
	assert_string_equal(c.peers[0].access_key, "AKIDPEER0");
	assert_string_equal(c.peers[1].name, "r-b");
	assert_string_equal(c.peers[1].connect, "127.0.0.1:9002");
	assert_string_equal(c.peers[1].access_key, "AKIDPEER1");
	assert_int_equal(c.peers[1].backoff_max_ms, 5000);
	repl_config_free(&c);
	/* Store c's peer is a, named after its region. */
	buf_reset(&b);
	assert_int_equal(deploy__repl_peers_yaml(st, 2, port, NULL, &b), 0);
	assert_non_null(memmem(b.data, b.len, "name: \"r-a\"", 11));
	assert_null(memmem(b.data, b.len, "r-b", 3));
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keys[i]);
		unlink(path);
	}
	rmdir(dir);
	buf_free(&b);
	deploy_stack_free(st);
}

/* A one-shot server that reads a whole request (head and Content-Length
 * body) and answers `answer`. */
struct answering {
	int fd;
	uint16_t port;
	const char *answer;
	char req[16384];
	size_t len;
	pthread_t t;
};

static void *answer_one(void *arg)
{
	struct answering *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	while (s->len < sizeof(s->req) - 1) {
		ssize_t r = read(c, s->req + s->len, sizeof(s->req) - 1 - s->len);
		if (r <= 0)
			break;
		s->len += (size_t)r;
		s->req[s->len] = '\0';
		const char *end = strstr(s->req, "\r\n\r\n");
		const char *cl = strcasestr(s->req, "\r\nContent-Length: ");
		size_t want = cl ? strtoul(cl + 18, NULL, 10) : 0;
		if (end && s->len >= (size_t)(end - s->req) + 4 + want)
			break;
	}
	ssize_t w = write(c, s->answer, strlen(s->answer));
	(void)w;
	close(c);
	return NULL;
}

static void answering_start(struct answering *s, const char *answer)
{
	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	socklen_t al = sizeof(a);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->t, NULL, answer_one, s), 0);
}

static void answering_join(struct answering *s)
{
	pthread_join(s->t, NULL);
	close(s->fd);
}

/* deploy__repl_apply against a fake store: the rules PUT (signed, the
 * region-qualified ARNs), a refusal failing with the bucket named, and a
 * kept bucket without rules getting a DELETE. */
static void repl_apply_puts_and_reports_refusals(void **state)
{
	(void)state;
	static struct deploy_up u;
	static struct answering srv;
	memset(&u, 0, sizeof(u));
	u.st = stack_of(three);
	char *outs = NULL, *errs = NULL;
	size_t olen = 0, elen = 0;
	u.out = open_memstream(&outs, &olen);
	u.err = open_memstream(&errs, &elen);
	uint16_t ports[3];
	u.store_port = ports;
	snprintf(u.admin_key, sizeof(u.admin_key), "AKIAADMIN0000000001");
	snprintf(u.admin_secret, sizeof(u.admin_secret), "adminsecret");

	answering_start(&srv, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	ports[0] = ports[1] = ports[2] = srv.port;
	assert_int_equal(deploy__repl_apply(&u, 0, false), 0);
	answering_join(&srv);
	assert_non_null(strstr(srv.req, "PUT /a-one?replication HTTP/1.1\r\n"));
	assert_non_null(strstr(srv.req, "Credential=AKIAADMIN0000000001/"));
	assert_non_null(strstr(srv.req, "/r-a/s3/aws4_request"));
	assert_non_null(strstr(srv.req, "<Bucket>arn:aws:s3:r-b::b-one</Bucket>"));
	assert_non_null(strstr(srv.req, "<Bucket>arn:aws:s3:r-a::a-two</Bucket>"));
	assert_non_null(strstr(srv.req, "<Prefix>x&amp;&lt;y&gt;/</Prefix>"));
	fflush(u.out);
	assert_non_null(strstr(outs, "replicates x&<y>/* to b-one in r-b"));
	assert_non_null(strstr(outs, "replicates every key to a-two in r-a (rule disabled)"));

	answering_start(&srv, "HTTP/1.1 400 Bad Request\r\nContent-Length: 41\r\n\r\n"
	                      "<Error><Code>MalformedXML</Code>x</Error>");
	ports[2] = srv.port;
	assert_int_equal(deploy__repl_apply(&u, 3, false), ERR_UP_HTTP);
	answering_join(&srv);
	fflush(u.err);
	assert_non_null(strstr(errs, "up: put the replication rules of bucket c-one in R_c: "
	                             "refused with 400 <Error><Code>MalformedXML</Code>"));

	/* A new bucket without rules: no request at all (nothing listens). */
	ports[1] = 1;
	assert_int_equal(deploy__repl_apply(&u, 2, false), 0);
	answering_start(&srv, "HTTP/1.1 204 No Content\r\n\r\n");
	ports[1] = srv.port;
	assert_int_equal(deploy__repl_apply(&u, 2, true), 0);
	answering_join(&srv);
	assert_non_null(strstr(srv.req, "DELETE /b-one?replication HTTP/1.1\r\n"));

	fclose(u.out);
	fclose(u.err);
	free(outs);
	free(errs);
	deploy_stack_free(u.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_encode_keeps_unreserved_and_slashes),
		cmocka_unit_test(http_signed_put),
		cmocka_unit_test(http_refused_is_an_error),
		cmocka_unit_test(commands_without_a_stack),
		cmocka_unit_test(repl_peers_of_each_store),
		cmocka_unit_test(repl_rules_document_reads_back),
		cmocka_unit_test(repl_peers_file_reads_back),
		cmocka_unit_test(repl_apply_puts_and_reports_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
