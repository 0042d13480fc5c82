/*
 * File bodies: bytes from a file descriptor to a connection without passing
 * through user space where the transport allows it. Loop thread only.
 *
 * TCP: the prefix (a response head) goes out with sendmsg(MSG_MORE), then
 * sendfile(2) moves the file. When the socket is full, a dup of the socket
 * is watched for writability with a uv_poll_t (libuv has no "wait until
 * writable" for a uv_tcp_t, and one fd cannot be in epoll twice; a dup can).
 * Each turn sends at most SENDFILE_TURN bytes before yielding to the loop.
 * Writes asked for while a file is going out wait, in order, behind it.
 *
 * Other transports (the in-memory one; TLS later) get a generic pump:
 * pread into a buffer, write, repeat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "net/conn.h"
#include "net/net-int.h"

#define SENDFILE_TURN (4u << 20) /* bytes per turn of the loop */
#define PREFIX_MAX    2
#define HELD_BUFS_MAX 16
#define GENERIC_CHUNK (64 * 1024)

struct held_write {
	struct iov bufs[HELD_BUFS_MAX];
	size_t n;
	void (*done)(void *arg, int status);
	void *arg;
	struct held_write *next;
};

/* A file range on its way out; the fd is borrowed until done runs. */
struct file_job {
	int fd;
	uint64_t off, left;
	void (*done)(void *arg, int status);
	void *arg;
};

struct net_sendfile {
	struct net_conn *conn;
	struct file_job job;
	bool active;
	bool have_poll;
	unsigned refs; /* the connection, and the poll handle while open */
	int sock;      /* the connection's socket */
	int sock_dup;  /* watched by poll */
	uv_poll_t poll;
	uv_write_t wreq; /* the prefix, queued behind earlier writes */
	uv_buf_t prefix[PREFIX_MAX];
	struct held_write *held, **held_tail;
};

static void sf_unref(struct net_sendfile *sf)
{
	if (--sf->refs == 0)
		free(sf);
}

/* Hand held writes to the transport in order, or fail them. */
static void release_held(struct net_sendfile *sf, int status)
{
	struct held_write *h = sf->held;
	sf->held = NULL;
	sf->held_tail = &sf->held;
	while (h) {
		struct held_write *next = h->next;
		int rc = status;
		if (rc == 0)
			rc = sf->conn->tp->write(sf->conn, h->bufs, h->n, h->done, h->arg);
		if (rc)
			net__defer(sf->conn->loop, sf->conn, h->done, h->arg, rc);
		free(h);
		h = next;
	}
}

/* The file is out (or failed). From a libuv callback, done runs now;
 * from inside net_conn_sendfile, through the deferred list. */
static void finish(struct net_sendfile *sf, int status, bool in_callback)
{
	struct net_conn *c = sf->conn;
	sf->active = false;
	if (sf->have_poll)
		uv_poll_stop(&sf->poll);
	release_held(sf, status);
	if (in_callback)
		sf->job.done(sf->job.arg, status);
	else if (net__defer(c->loop, c, sf->job.done, sf->job.arg, status))
		sf->job.done(sf->job.arg, ERR_NOMEM); /* cannot defer: say so now */
}

static int errno_err(int e)
{
	switch (e) {
	case EPIPE:
	case ECONNRESET:
		return ERR_NET_RESET;
	case ENOMEM:
	case ENOBUFS:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

static void pump(struct net_sendfile *sf, bool in_callback);

static void on_writable(uv_poll_t *h, int status, int events)
{
	struct net_sendfile *sf = h->data;
	(void)events;
	if (!sf->active)
		return;
	if (status < 0) {
		finish(sf, net__err(status), true);
		return;
	}
	pump(sf, true);
}

static int wait_writable(struct net_sendfile *sf)
{
	if (!sf->have_poll) {
		sf->sock_dup = fcntl(sf->sock, F_DUPFD_CLOEXEC, 0);
		if (sf->sock_dup < 0)
			return ERR_IO;
		int rc = uv_poll_init_socket(&sf->conn->loop->uv, &sf->poll, sf->sock_dup);
		if (rc) {
			close(sf->sock_dup);
			return net__err(rc);
		}
		sf->poll.data = sf;
		sf->have_poll = true;
		sf->refs++;
	}
	return net__err(uv_poll_start(&sf->poll, UV_WRITABLE, on_writable));
}

/* Send what the socket takes, up to one turn's worth; then wait. */
static void pump(struct net_sendfile *sf, bool in_callback)
{
	uint64_t budget = SENDFILE_TURN;
	while (sf->job.left && budget) {
		size_t want = (size_t)(sf->job.left < budget ? sf->job.left : budget);
		off_t off = (off_t)sf->job.off;
		ssize_t n = sendfile(sf->sock, sf->job.fd, &off, want);
		if (n > 0) {
			sf->job.off += (uint64_t)n;
			sf->job.left -= (uint64_t)n;
			budget -= (uint64_t)n;
			continue;
		}
		if (n == 0) {
			finish(sf, ERR_IO, in_callback); /* the file is shorter than promised */
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			finish(sf, errno_err(errno), in_callback);
			return;
		}
		break;
	}
	if (sf->job.left == 0) {
		finish(sf, 0, in_callback);
		return;
	}
	/* Socket full, or the turn is used up (writable fires at once then). */
	int rc = wait_writable(sf);
	if (rc)
		finish(sf, rc, in_callback);
}

static void on_prefix_written(uv_write_t *w, int status)
{
	struct net_sendfile *sf = w->data;
	if (!sf->active)
		return; /* closed meanwhile: already failed */
	if (status) {
		finish(sf, net__err(status), true);
		return;
	}
	pump(sf, true);
}

/* The prefix in one sendmsg, telling the kernel file data follows. Returns
 * bytes written (possibly fewer than asked), or -1 with errno. */
static ssize_t send_prefix(int sock, const uv_buf_t *b, size_t n)
{
	struct iovec v[PREFIX_MAX];
	for (size_t i = 0; i < n; i++)
		v[i] = (struct iovec){ b[i].base, b[i].len };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = n };
	ssize_t r;
	do
		r = sendmsg(sock, &m, MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r;
}

int net__tcp_sendfile(struct net_conn *c, const struct iov *prefix, size_t np, int fd, uint64_t off,
                      uint64_t len, void (*done)(void *arg, int status), void *arg)
{
	CHECK(np <= PREFIX_MAX);
	if (c->closing)
		return ERR_NET_CLOSED;
	struct net_sendfile *sf = c->sf;
	if (!sf) {
		sf = calloc(1, sizeof(*sf));
		if (!sf)
			return ERR_NOMEM;
		uv_os_fd_t sock;
		if (uv_fileno((uv_handle_t *)&c->tcp, &sock)) {
			free(sf);
			return ERR_IO;
		}
		sf->conn = c;
		sf->sock = sock;
		sf->refs = 1;
		sf->held_tail = &sf->held;
		sf->wreq.data = sf;
		c->sf = sf;
	}
	CHECK(!sf->active); /* one file at a time; the caller waits for done */
	sf->job = (struct file_job){ fd, off, len, done, arg };
	sf->active = true;

	size_t total = 0, first = 0;
	for (size_t i = 0; i < np; i++) {
		sf->prefix[i] = uv_buf_init((char *)prefix[i].base, (unsigned)prefix[i].len);
		total += prefix[i].len;
	}
	bool idle = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0;
	if (idle && total) {
		ssize_t w = send_prefix(sf->sock, sf->prefix, np);
		if (w < 0 && errno != EAGAIN) {
			sf->active = false;
			return errno_err(errno);
		}
		size_t left = w > 0 ? (size_t)w : 0;
		total -= left;
		while (first < np && left >= sf->prefix[first].len)
			left -= sf->prefix[first++].len;
		if (first < np) {
			sf->prefix[first].base += left;
			sf->prefix[first].len -= left;
		}
	}
	if (idle && total == 0) {
		pump(sf, false);
		return 0;
	}
	/* Earlier writes are still queued (or the prefix did not fit): the
	 * file follows once the queue has gone out. An empty buffer works as a
	 * marker when there is no prefix left. */
	if (first == np) {
		sf->prefix[0] = uv_buf_init(NULL, 0);
		first = 0;
		np = 1;
	}
	int rc = uv_write(&sf->wreq, (uv_stream_t *)&c->tcp, sf->prefix + first,
	                  (unsigned)(np - first), on_prefix_written);
	if (rc) {
		sf->active = false;
		return net__err(rc);
	}
	return 0;
}

bool net__sendfile_busy(const struct net_conn *c)
{
	return c->sf && c->sf->active;
}

uint64_t net__sendfile_queued(const struct net_conn *c)
{
	return net__sendfile_busy(c) ? c->sf->job.left : 0;
}

int net__sendfile_hold(struct net_conn *c, const struct iov *bufs, size_t n,
                       void (*done)(void *arg, int status), void *arg)
{
	CHECK(n <= HELD_BUFS_MAX);
	struct held_write *h = malloc(sizeof(*h));
	if (!h)
		return ERR_NOMEM;
	memcpy(h->bufs, bufs, n * sizeof(*bufs));
	h->n = n;
	h->done = done;
	h->arg = arg;
	h->next = NULL;
	*c->sf->held_tail = h;
	c->sf->held_tail = &h->next;
	return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
	struct net_sendfile *sf = h->data;
	close(sf->sock_dup);
	sf_unref(sf);
}

void net__sendfile_close(struct net_conn *c)
{
	struct net_sendfile *sf = c->sf;
	if (!sf)
		return;
	if (sf->active) {
		sf->active = false;
		release_held(sf, ERR_NET_CLOSED);
		if (net__defer(c->loop, c, sf->job.done, sf->job.arg, ERR_NET_CLOSED))
			sf->job.done(sf->job.arg, ERR_NET_CLOSED);
	}
	if (sf->have_poll) {
		sf->have_poll = false;
		uv_close((uv_handle_t *)&sf->poll, on_poll_closed);
	}
}

void net__sendfile_release(struct net_conn *c)
{
	if (c->sf)
		sf_unref(c->sf);
	c->sf = NULL;
}

/* ---- the generic pump, for transports without a sendfile ---- */

struct generic {
	struct net_conn *conn;
	struct file_job job;
	struct iov prefix[PREFIX_MAX + 1];
	char buf[GENERIC_CHUNK];
};

static void generic_next(void *arg, int status)
{
	struct generic *g = arg;
	if (status == 0 && g->job.left == 0) {
		g->job.done(g->job.arg, 0);
		free(g);
		return;
	}
	if (status) {
		g->job.done(g->job.arg, status);
		free(g);
		return;
	}
	size_t want = g->job.left < sizeof(g->buf) ? (size_t)g->job.left : sizeof(g->buf);
	ssize_t n;
	do
		n = pread(g->job.fd, g->buf, want, (off_t)g->job.off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		g->job.done(g->job.arg, ERR_IO);
		free(g);
		return;
	}
	g->job.off += (uint64_t)n;
	g->job.left -= (uint64_t)n;
	struct iov one = { g->buf, (size_t)n };
	int rc = g->conn->tp->write(g->conn, &one, 1, generic_next, g);
	if (rc) {
		g->job.done(g->job.arg, rc);
		free(g);
	}
}

static int generic_sendfile(struct net_conn *c, const struct iov *prefix, size_t np, int fd,
                            uint64_t off, uint64_t len, void (*done)(void *arg, int status),
                            void *arg)
{
	CHECK(np <= PREFIX_MAX);
	struct generic *g = malloc(sizeof(*g));
	if (!g)
		return ERR_NOMEM;
	g->conn = c;
	g->job = (struct file_job){ fd, off, len, done, arg };
	/* The prefix goes first as its own write; the pump follows its completion. */
	static const char nothing[1];
	if (np == 0) {
		g->prefix[0] = iov_make(nothing, 0);
		np = 1;
	} else {
		memcpy(g->prefix, prefix, np * sizeof(*prefix));
	}
	int rc = c->tp->write(c, g->prefix, np, generic_next, g);
	if (rc)
		free(g);
	return rc;
}

int net_conn_sendfile(struct net_conn *c, const struct iov *prefix, size_t np, int fd, uint64_t off,
                      uint64_t len, void (*done)(void *arg, int status), void *arg)
{
	CHECK_MAGIC(c, NET_CONN_MAGIC);
	if (c->tp->sendfile)
		return c->tp->sendfile(c, prefix, np, fd, off, len, done, arg);
	return generic_sendfile(c, prefix, np, fd, off, len, done, arg);
}
