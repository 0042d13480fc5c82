/*
 * net_conn_sendfile over real loopback TCP (sendfile(2), the writable poll
 * on a full socket, writes held behind a file, close mid-file) and over the
 * in-memory transport (the generic pread-and-write pump).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/mem.h"
#include "net/timer.h"

#define BIG (8u << 20)

struct rig {
	struct net_loop *loop;
	struct net_listener *ls;
	struct net_conn *server, *client;
	struct net_timer *guard;
	int fd;
	uint64_t file_size;
	char *expect;
	size_t expect_len;
	char *got;
	size_t got_len, got_cap;
	int done_status;
	int done_calls;
	int tail_status;
	bool tail_done;
	bool client_closed;
	size_t close_after; /* client closes once it has this many bytes (0: never) */
	bool read_slowly;
	struct net_timer *slow;
};

/* A temporary file of n pattern bytes, unlinked at once (the fd keeps it). */
static int pattern_file(size_t n, char **copy)
{
	char path[] = "/tmp/meridian-sendfile-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 7 + i / 4093) & 0xff);
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	*copy = p;
	return fd;
}

static void client_read(void *arg, const char *p, size_t n)
{
	struct rig *g = arg;
	if (g->got_len + n > g->got_cap) {
		g->got_cap = (g->got_len + n) * 2;
		g->got = realloc(g->got, g->got_cap);
		assert_non_null(g->got);
	}
	memcpy(g->got + g->got_len, p, n);
	g->got_len += n;
	if (g->close_after && g->got_len >= g->close_after && !g->client_closed) {
		g->client_closed = true;
		net_conn_close(g->client);
	}
	if (g->read_slowly && !g->client_closed) {
		net_conn_read_stop(g->client);
		net_timer_start(g->slow, 1, 0);
	}
}

static void on_slow(void *arg)
{
	struct rig *g = arg;
	if (!g->client_closed)
		net_conn_read_start(g->client);
}

static void client_end(void *arg, int status)
{
	struct rig *g = arg;
	(void)status;
	if (!g->client_closed) {
		g->client_closed = true;
		net_conn_close(g->client);
	}
}

static void client_closed(void *arg)
{
	struct rig *g = arg;
	g->client = NULL;
	if (!g->server)
		net_loop_stop(g->loop);
}

static const struct net_conn_events client_events = { client_read, client_end, client_closed };

static void server_read(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
}

static void server_end(void *arg, int status)
{
	struct rig *g = arg;
	(void)status;
	if (g->server)
		net_conn_close(g->server);
}

static void server_closed(void *arg)
{
	struct rig *g = arg;
	g->server = NULL;
	if (!g->client)
		net_loop_stop(g->loop);
}

static const struct net_conn_events server_events = { server_read, server_end, server_closed };

static void file_done(void *arg, int status)
{
	struct rig *g = arg;
	g->done_status = status;
	g->done_calls++;
}

static void tail_done(void *arg, int status)
{
	struct rig *g = arg;
	g->tail_status = status;
	g->tail_done = true;
	/* Everything is out: let the client see EOF. */
	if (g->server)
		net_conn_close(g->server);
}

static void first_done(void *arg, int status)
{
	(void)arg;
	(void)status;
}

static const char PREFIX[] = "HEAD-OF-RESPONSE\r\n";
static const char TAIL[] = "\r\nTAIL";

static void on_accept(void *arg, struct net_conn *c)
{
	struct rig *g = arg;
	g->server = c;
	net_conn_set_events(c, &server_events, g);
	net_conn_read_start(c);
	/* A write queued first, then the file with a prefix, then a write that
	 * must wait behind the file. */
	struct iov first = IOV_LIT("FIRST;");
	assert_int_equal(net_conn_write(c, &first, 1, first_done, NULL), 0);
	struct iov pre = IOV_LIT(PREFIX);
	assert_int_equal(net_conn_sendfile(c, &pre, 1, g->fd, 0, g->file_size, file_done, g), 0);
	assert_int_equal(g->done_calls, 0); /* never from inside the call */
	struct iov tail = IOV_LIT(TAIL);
	assert_int_equal(net_conn_write(c, &tail, 1, tail_done, g), 0);
}

static void on_connected(void *arg, struct net_conn *c, int status)
{
	struct rig *g = arg;
	assert_int_equal(status, 0);
	g->client = c;
	net_conn_set_events(c, &client_events, g);
	net_conn_read_start(c);
}

static void on_guard(void *arg)
{
	struct rig *g = arg;
	fail_msg("timed out with %zu bytes received", g->got_len);
}

static void run_tcp(struct rig *g, size_t size)
{
	assert_int_equal(net_loop_new(&g->loop), 0);
	g->fd = pattern_file(size, &g->expect);
	g->file_size = size;
	assert_int_equal(net_listen(g->loop, "127.0.0.1:0", false, on_accept, g, &g->ls), 0);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", net_listener_port(g->ls));
	assert_int_equal(net_timer_new(g->loop, on_guard, g, &g->guard), 0);
	assert_int_equal(net_timer_new(g->loop, on_slow, g, &g->slow), 0);
	net_timer_start(g->guard, 60000, 0);
	assert_int_equal(net_connect(g->loop, addr, on_connected, g, NULL), 0);
	net_loop_run(g->loop);
	net_timer_free(g->guard);
	net_timer_free(g->slow);
	net_listener_close(g->ls);
	net_loop_free(g->loop);
	close(g->fd);
}

static void check_whole(struct rig *g, size_t size)
{
	size_t np = strlen(PREFIX), nt = strlen(TAIL);
	assert_int_equal(g->done_calls, 1);
	assert_int_equal(g->done_status, 0);
	assert_true(g->tail_done);
	assert_int_equal(g->tail_status, 0);
	assert_int_equal(g->got_len, 6 + np + size + nt);
	assert_memory_equal(g->got, "FIRST;", 6);
	assert_memory_equal(g->got + 6, PREFIX, np);
	assert_memory_equal(g->got + 6 + np, g->expect, size);
	assert_memory_equal(g->got + 6 + np + size, TAIL, nt);
}

static void test_tcp_file_in_order_between_writes(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, 4096, 100000, BIG + 17 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct rig g = { 0 };
		run_tcp(&g, sizes[i]);
		check_whole(&g, sizes[i]);
		free(g.expect);
		free(g.got);
	}
}

static void test_tcp_slow_reader_waits_for_writable(void **state)
{
	(void)state;
	struct rig g = { .read_slowly = true };
	run_tcp(&g, BIG);
	check_whole(&g, BIG);
	free(g.expect);
	free(g.got);
}

static void test_tcp_close_mid_file_fails_file_and_held_write(void **state)
{
	(void)state;
	struct rig g = { .close_after = 100000, .read_slowly = true };
	run_tcp(&g, BIG);
	/* The client left: the server sees the reset or EOF and closes; the
	 * file and the write behind it each report a failure exactly once. */
	assert_int_equal(g.done_calls, 1);
	assert_int_not_equal(g.done_status, 0);
	assert_true(g.tail_done);
	assert_int_not_equal(g.tail_status, 0);
	assert_true(g.got_len < BIG);
	free(g.expect);
	free(g.got);
}

static void test_tcp_short_file_is_an_error(void **state)
{
	(void)state;
	struct rig g = { 0 };
	assert_int_equal(net_loop_new(&g.loop), 0);
	g.fd = pattern_file(1000, &g.expect);
	g.file_size = 5000; /* more than the file holds */
	assert_int_equal(net_listen(g.loop, "127.0.0.1:0", false, on_accept, &g, &g.ls), 0);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", net_listener_port(g.ls));
	assert_int_equal(net_timer_new(g.loop, on_guard, &g, &g.guard), 0);
	assert_int_equal(net_timer_new(g.loop, on_slow, &g, &g.slow), 0);
	net_timer_start(g.guard, 60000, 0);
	assert_int_equal(net_connect(g.loop, addr, on_connected, &g, NULL), 0);
	net_loop_run(g.loop);
	assert_int_equal(g.done_calls, 1);
	assert_int_equal(g.done_status, ERR_IO);
	/* The file failed inside the call, before the tail was asked for: the
	 * tail is an ordinary write then (the caller closes on ERR_IO). */
	assert_true(g.tail_done);
	assert_int_equal(g.tail_status, 0);
	net_timer_free(g.guard);
	net_timer_free(g.slow);
	net_listener_close(g.ls);
	net_loop_free(g.loop);
	close(g.fd);
	free(g.expect);
	free(g.got);
}

/* ---- the generic pump, through the in-memory transport ---- */

static void mem_read(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
}

static void mem_end(void *arg, int status)
{
	(void)arg;
	(void)status;
}

static void mem_closed(void *arg)
{
	(void)arg;
}

static const struct net_conn_events mem_events = { mem_read, mem_end, mem_closed };

static void test_generic_pump_over_mem_transport(void **state)
{
	(void)state;
	struct net_loop *l;
	assert_int_equal(net_loop_new(&l), 0);
	struct rig g = { 0 };
	size_t size = 300000; /* several 64 KiB rounds */
	g.fd = pattern_file(size, &g.expect);
	struct net_conn *c = net_mem_new(l);
	assert_non_null(c);
	net_conn_set_events(c, &mem_events, &g);
	struct iov pre = IOV_LIT(PREFIX);
	assert_int_equal(net_conn_sendfile(c, &pre, 1, g.fd, 1000, size - 1000, file_done, &g), 0);
	assert_int_equal(g.done_calls, 0);
	net_mem_settle(l);
	assert_int_equal(g.done_calls, 1);
	assert_int_equal(g.done_status, 0);
	assert_int_equal(net_mem_written(c), strlen(PREFIX) + size - 1000);
	/* Past the end of the file: an error, not a hang. */
	assert_int_equal(net_conn_sendfile(c, NULL, 0, g.fd, size - 10, 100, file_done, &g), 0);
	net_mem_settle(l);
	assert_int_equal(g.done_calls, 2);
	assert_int_equal(g.done_status, ERR_IO);
	net_conn_close(c);
	net_mem_settle(l);
	net_mem_release(c);
	net_loop_free(l);
	close(g.fd);
	free(g.expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_file_in_order_between_writes),
		cmocka_unit_test(test_tcp_slow_reader_waits_for_writable),
		cmocka_unit_test(test_tcp_close_mid_file_fails_file_and_held_write),
		cmocka_unit_test(test_tcp_short_file_is_an_error),
		cmocka_unit_test(test_generic_pump_over_mem_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
