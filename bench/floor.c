/*
 * The floor: what one request costs the kernel here, with no HTTP at all.
 * A reference line for bench/edge and bench/http, never a server: it does
 * not parse, assumes every read holds exactly one whole request (true for
 * wrk's small unpipelined requests on loopback) and closes a connection
 * at the first short write. What it costs per request is what a server
 * cannot go below on this machine: one epoll_wait shared by many
 * requests, one read, one write.
 *
 *   bench_floor fixed PORT SIZE
 *       answer every read with one fixed "HTTP/1.1 200 OK" response whose
 *       body is SIZE bytes (at most 64 KiB)
 *   bench_floor pump PORT UPSTREAM_PORT
 *       pair each accepted connection with its own new connection to
 *       127.0.0.1:UPSTREAM_PORT and copy each read to the other side
 *
 * Listens on 127.0.0.1:PORT, one thread, level-triggered epoll; prints
 * "listening PORT" once ready; runs until a signal ends it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { MAX_FD = 65536, MAX_BODY = 64 * 1024, READ_CAP = 16 * 1024, BATCH = 512 };

static int peer[MAX_FD]; /* pump: the other side of each fd, or -1 */
static char head[256];
static size_t head_len;
static char body[MAX_BODY];
static size_t body_len;

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && v > 0 && v < 65536 ? (int)v : -1;
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void drop(int fd)
{
	if (peer[fd] >= 0) {
		int o = peer[fd];
		peer[o] = -1;
		close(o);
	}
	peer[fd] = -1;
	close(fd);
}

/* A new viewer connection; in pump mode, with its upstream. */
static void on_accept(int ep, int ls, int upstream)
{
	int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	if (c >= MAX_FD) {
		close(c);
		return;
	}
	set_nodelay(c);
	if (upstream > 0) {
		struct sockaddr_in u = loopback(upstream);
		int o = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (o < 0 || o >= MAX_FD || connect(o, (struct sockaddr *)&u, sizeof(u)) != 0 ||
		    watch(ep, o) != 0) {
			if (o >= 0)
				close(o);
			close(c);
			return;
		}
		set_nodelay(o);
		peer[c] = o;
		peer[o] = c;
	}
	if (watch(ep, c) != 0)
		drop(c);
}

static void on_readable(int fd, char *buf)
{
	ssize_t n = read(fd, buf, READ_CAP);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop(fd);
		return;
	}
	if (peer[fd] >= 0) {
		if (write(peer[fd], buf, (size_t)n) != n)
			drop(fd);
		return;
	}
	struct iovec v[2] = { { head, head_len }, { body, body_len } };
	if (writev(fd, v, 2) != (ssize_t)(head_len + body_len))
		drop(fd);
}

int main(int argc, char **argv)
{
	int port = argc == 4 ? parse_port(argv[2]) : -1, upstream = 0;
	if (port > 0 && strcmp(argv[1], "pump") == 0) {
		upstream = parse_port(argv[3]);
	} else if (port > 0 && strcmp(argv[1], "fixed") == 0) {
		char *end;
		unsigned long n = strtoul(argv[3], &end, 10);
		if (*argv[3] == '\0' || *end != '\0' || n > MAX_BODY)
			port = -1;
		body_len = n;
		memset(body, 'x', body_len);
		head_len = (size_t)snprintf(head, sizeof(head),
		                            "HTTP/1.1 200 OK\r\nServer: floor\r\n"
		                            "Content-Type: application/octet-stream\r\n"
		                            "Content-Length: %zu\r\n\r\n",
		                            body_len);
	} else {
		port = -1;
	}
	if (port < 0 || upstream < 0) {
		fprintf(stderr, "usage: bench_floor fixed PORT SIZE | pump PORT UPSTREAM_PORT\n");
		return 2;
	}
	memset(peer, -1, sizeof(peer));
	signal(SIGPIPE, SIG_IGN); /* a peer's reset is a failed write, not an exit */

	struct sockaddr_in a = loopback(port);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ls < 0 || ep < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1024) != 0 ||
	    watch(ep, ls) != 0) {
		fprintf(stderr, "bench_floor: 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening %d\n", port);
	fflush(stdout);

	static char buf[READ_CAP];
	struct epoll_event evs[BATCH];
	for (;;) {
		int n = epoll_wait(ep, evs, BATCH, -1);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bench_floor: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == ls)
				on_accept(ep, ls, upstream);
			else
				on_readable(evs[i].data.fd, buf);
		}
	}
}
