/*
 * The plain TCP transport, and TCP listening. Loop thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/net-int.h"

#define CONN_MAGIC     NET_CONN_MAGIC
#define READ_BUF_BYTES (64 * 1024)
#define NET_BACKLOG    1024

struct write_req {
	uv_write_t uv;
	void (*done)(void *arg, int status);
	void *arg;
};

/* One read buffer per thread: data is handled inside the read callback. */
static _Thread_local char read_buf[READ_BUF_BYTES];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = read_buf;
	buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct net_conn *c = s->data;
	(void)buf;
	if (n > 0) {
		c->ev->on_read(c->arg, read_buf, (size_t)n);
		return;
	}
	if (n == 0)
		return; /* EAGAIN */
	uv_read_stop(s);
	c->reading = false;
	c->ev->on_end(c->arg, n == UV_EOF ? 0 : net__err((int)n));
}

static int tcp_read_start(struct net_conn *c)
{
	if (c->closing || c->reading)
		return 0;
	int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	c->reading = rc == 0;
	return net__err(rc);
}

static void tcp_read_stop(struct net_conn *c)
{
	if (c->reading && !c->closing)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
}

static void on_written(uv_write_t *w, int status)
{
	struct write_req *r = (struct write_req *)w;
	r->done(r->arg, net__err(status));
	free(r);
}

#define MAX_WRITE_BUFS 16

/*
 * Try the write at once; what the kernel takes whole completes through the
 * loop's deferred list, so the common case costs one writev and no epoll
 * change (libuv's uv_write re-arms the watcher on every completion). The
 * rest goes through uv_write.
 */
static int tcp_write(struct net_conn *c, const struct iov *bufs, size_t n,
                     void (*done)(void *arg, int status), void *arg)
{
	uv_buf_t ub[MAX_WRITE_BUFS];
	if (c->closing)
		return ERR_NET_CLOSED;
	CHECK(n <= MAX_WRITE_BUFS);
	if (net__sendfile_busy(c))
		return net__sendfile_hold(c, bufs, n, done, arg);
	size_t total = 0, first = 0;
	for (size_t i = 0; i < n; i++) {
		ub[i] = uv_buf_init((char *)bufs[i].base, (unsigned)bufs[i].len);
		total += bufs[i].len;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 && total > 0) {
		int wrote = uv_try_write((uv_stream_t *)&c->tcp, ub, (unsigned)n);
		if (wrote == (int)total)
			return net__defer(c->loop, c, done, arg, 0);
		if (wrote > 0) {
			/* Skip what went out. */
			size_t left = (size_t)wrote;
			while (left >= ub[first].len) {
				left -= ub[first].len;
				first++;
			}
			ub[first].base += left;
			ub[first].len -= left;
		}
	}
	struct write_req *r = malloc(sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->done = done;
	r->arg = arg;
	int rc =
	    uv_write(&r->uv, (uv_stream_t *)&c->tcp, ub + first, (unsigned)(n - first), on_written);
	if (rc) {
		free(r);
		return net__err(rc);
	}
	return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	free(req);
}

static void tcp_shutdown(struct net_conn *c)
{
	uv_shutdown_t *req = malloc(sizeof(*req));
	if (!req || c->closing || uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown))
		free(req);
}

static void on_closed(uv_handle_t *h)
{
	struct net_conn *c = h->data;
	if (c->ev && c->ev->on_close)
		c->ev->on_close(c->arg);
	net__sendfile_release(c);
	c->magic = 0;
	free(c);
}

static void tcp_close(struct net_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->reading = false;
	net__sendfile_close(c);
	/* Writes the kernel took complete before the close, as uv_write's do. */
	net__defer_flush(c->loop, c);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static size_t tcp_write_queue(const struct net_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) +
	       (size_t)net__sendfile_queued(c);
}

struct iov net_peer_ip(struct iov peer)
{
	if (peer.len >= 2 && peer.base[0] == '[') {
		const char *close = memchr(peer.base, ']', peer.len);
		if (close)
			return iov_make(peer.base + 1, (size_t)(close - peer.base) - 1);
		return peer;
	}
	const char *colon = peer.len ? memchr(peer.base, ':', peer.len) : NULL;
	if (!colon)
		return peer;
	/* One colon only: an IPv4 address and a port; more: a bare IPv6. */
	size_t at = (size_t)(colon - peer.base);
	if (memchr(colon + 1, ':', peer.len - at - 1))
		return peer;
	return iov_make(peer.base, at);
}

static void tcp_peer(const struct net_conn *c, char *out, size_t cap);

static const struct net_transport tcp_transport = {
	.name = "tcp",
	.peer = tcp_peer,
	.read_start = tcp_read_start,
	.read_stop = tcp_read_stop,
	.write = tcp_write,
	.shutdown = tcp_shutdown,
	.close = tcp_close,
	.write_queue = tcp_write_queue,
	.sendfile = net__tcp_sendfile,
};

/* ---- transport-neutral entry points ---- */

void net_conn_set_events(struct net_conn *c, const struct net_conn_events *ev, void *arg)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	c->ev = ev;
	c->arg = arg;
}

int net_conn_read_start(struct net_conn *c)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	return c->tp->read_start(c);
}

void net_conn_read_stop(struct net_conn *c)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	c->tp->read_stop(c);
}

int net_conn_write(struct net_conn *c, const struct iov *bufs, size_t n,
                   void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	return c->tp->write(c, bufs, n, done, arg);
}

void net_conn_shutdown(struct net_conn *c)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	c->tp->shutdown(c);
}

void net_conn_close(struct net_conn *c)
{
	CHECK_MAGIC(c, CONN_MAGIC);
	c->tp->close(c);
}

size_t net_conn_write_queue(const struct net_conn *c)
{
	return c->tp->write_queue(c);
}

struct net_loop *net_conn_loop(const struct net_conn *c)
{
	return c->loop;
}

const char *net_conn_transport(const struct net_conn *c)
{
	return c->tp->name;
}

void net_conn_peer(const struct net_conn *c, char *out, size_t cap)
{
	c->tp->peer(c, out, cap);
}

static void tcp_peer(const struct net_conn *c, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (cap == 0)
		return;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, ip, sizeof(ip));
			port = ntohs(a->sin6_port);
		} else {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
			uv_ip4_name(a, ip, sizeof(ip));
			port = ntohs(a->sin_port);
		}
	}
	snprintf(out, cap, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

/* ---- listening ---- */

struct net_listener {
	uv_tcp_t tcp;
	struct net_loop *loop;
	void (*on_accept)(void *arg, struct net_conn *c);
	void *arg;
	int port;
};

int net_parse_addr(const char *text, void *storage, unsigned *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || colon[1] == '\0')
		return ERR_INVALID;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return ERR_INVALID;
	size_t hl = (size_t)(colon - text);
	if (text[0] == '[') {
		if (text[hl - 1] != ']' || hl - 2 >= sizeof(host))
			return ERR_INVALID;
		memcpy(host, text + 1, hl - 2);
		host[hl - 2] = '\0';
		struct sockaddr_in6 *a = storage;
		if (uv_ip6_addr(host, (int)port, a))
			return ERR_INVALID;
		*len = sizeof(*a);
		return 0;
	}
	if (hl >= sizeof(host))
		return ERR_INVALID;
	memcpy(host, text, hl);
	host[hl] = '\0';
	struct sockaddr_in *a = storage;
	if (uv_ip4_addr(host, (int)port, a))
		return ERR_INVALID;
	*len = sizeof(*a);
	return 0;
}

/* Wrap an accepted or connected uv_tcp_t's fd in a net_conn. */
static struct net_conn *conn_new(struct net_loop *l)
{
	struct net_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->magic = CONN_MAGIC;
	c->tp = &tcp_transport;
	c->loop = l;
	uv_tcp_init(&l->uv, &c->tcp);
	c->tcp.data = c;
	return c;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct net_listener *ls = server->data;
	if (status < 0)
		return;
	struct net_conn *c = conn_new(ls->loop);
	if (!c)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
		uv_close((uv_handle_t *)&c->tcp, on_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	ls->on_accept(ls->arg, c);
}

int net_listen(struct net_loop *l, const char *addr, bool reuseport,
               void (*on_accept)(void *arg, struct net_conn *c), void *arg,
               struct net_listener **out)
{
	struct sockaddr_storage ss;
	unsigned len;
	int one = 1;
	if (net_parse_addr(addr, &ss, &len))
		return ERR_INVALID;
	/* libuv 1.44 has no SO_REUSEPORT flag: make the socket ourselves. */
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ERR_IO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, NET_BACKLOG)) {
		close(fd);
		return ERR_IO;
	}
	struct net_listener *ls = calloc(1, sizeof(*ls));
	if (!ls) {
		close(fd);
		return ERR_NOMEM;
	}
	ls->loop = l;
	ls->on_accept = on_accept;
	ls->arg = arg;
	uv_tcp_init(&l->uv, &ls->tcp);
	ls->tcp.data = ls;
	int rc = uv_tcp_open(&ls->tcp, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ls->tcp, NET_BACKLOG, on_connection);
	if (rc) {
		net_listener_close(ls);
		return net__err(rc);
	}
	struct sockaddr_storage bound;
	int blen = sizeof(bound);
	uv_tcp_getsockname(&ls->tcp, (struct sockaddr *)&bound, &blen);
	ls->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                             : ((struct sockaddr_in *)&bound)->sin_port);
	*out = ls;
	return 0;
}

int net_listener_port(const struct net_listener *ls)
{
	return ls->port;
}

static void on_listener_closed(uv_handle_t *h)
{
	free(h->data);
}

void net_listener_close(struct net_listener *ls)
{
	if (ls)
		uv_close((uv_handle_t *)&ls->tcp, on_listener_closed);
}

/* ---- connecting ---- */

struct net_connect {
	uv_connect_t req;
	struct net_conn *conn;
	void (*done)(void *arg, struct net_conn *c, int status);
	void *arg;
	bool cancelled;
};

static void on_connected(uv_connect_t *req, int status)
{
	struct net_connect *pc = req->data;
	struct net_conn *c = pc->conn;
	if (status == 0 && !pc->cancelled) {
		uv_tcp_nodelay(&c->tcp, 1);
		pc->done(pc->arg, c, 0);
	} else {
		/* Closed without events: on_closed frees it quietly. */
		c->ev = NULL;
		tcp_close(c);
		pc->done(pc->arg, NULL, pc->cancelled ? ERR_NET_CLOSED : net__err(status));
	}
	free(pc);
}

int net_connect(struct net_loop *l, const char *addr,
                void (*done)(void *arg, struct net_conn *c, int status), void *arg,
                struct net_connect **out)
{
	struct sockaddr_storage ss;
	unsigned len;
	if (net_parse_addr(addr, &ss, &len))
		return ERR_INVALID;
	struct net_connect *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return ERR_NOMEM;
	pc->conn = conn_new(l);
	if (!pc->conn) {
		free(pc);
		return ERR_NOMEM;
	}
	pc->done = done;
	pc->arg = arg;
	pc->req.data = pc;
	int rc = uv_tcp_connect(&pc->req, &pc->conn->tcp, (struct sockaddr *)&ss, on_connected);
	if (rc) {
		pc->conn->ev = NULL;
		tcp_close(pc->conn);
		free(pc);
		return net__err(rc);
	}
	if (out)
		*out = pc;
	return 0;
}

void net_connect_cancel(struct net_connect *pc)
{
	/* Closing the handle makes libuv finish the connect with UV_ECANCELED. */
	pc->cancelled = true;
	tcp_close(pc->conn);
}
