/*
 * The upload pipeline: request body bytes into a blob without blocking the
 * loop. Bytes gather in `fill`; a pool job writes `flight` while the next
 * chunk gathers; when both are full, reading pauses until the job ends. So
 * an upload holds at most two chunks (S3_PIPE_CHUNK each, plus one read) in
 * memory whatever its size. Loop thread, except the job functions (pool).
 */
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "net/work.h"
#include "s3/s3-int.h"

/* The fill buffer may pass the chunk by one read before it is handed off. */
#define FILL_CAP (S3_PIPE_CHUNK + 256 * 1024)

struct pipe_job {
	struct s3_req *q;
	bool finish;
};

int s3__pipe_start(struct s3_req *q, uint64_t max)
{
	struct s3_pipe *p = &q->pipe;
	p->fill = malloc(FILL_CAP);
	p->flight = malloc(FILL_CAP);
	if (!p->fill || !p->flight) {
		s3__error(q, ERR_NOMEM, NULL);
		return ERR_NOMEM;
	}
	p->opts.max_size = max;
	return 0;
}

/* Pool thread: create the writer on first use, write what is in flight,
 * and at the end fsync and digest. */
static void write_work(void *arg)
{
	struct pipe_job *j = arg;
	struct s3_pipe *p = &j->q->pipe;
	int rc = p->w ? 0 : blob_writer_new(j->q->srv->blobs, &p->opts, &p->w);
	if (rc == 0 && p->flight_len)
		rc = blob_write(p->w, p->flight, p->flight_len);
	if (rc == 0 && j->finish)
		rc = blob_writer_finish(p->w, &p->info);
	if (rc && !p->err)
		p->err = rc;
}

static void hand_off(struct s3_req *q, bool finish);

static void write_done(void *arg, int status)
{
	struct pipe_job *j = arg;
	struct s3_req *q = j->q;
	struct s3_pipe *p = &q->pipe;
	bool finish = j->finish;
	free(j);
	p->busy = false;
	p->flight_len = 0;
	if (status && !p->err)
		p->err = status;
	if (finish) {
		q->rc = p->err;
		void (*next)(struct s3_req *) = q->next;
		q->next = NULL;
		next(q);
	} else if (p->err) {
		s3__error(q, p->err == ERR_TOO_BIG ? ERR_S3_ENTITY_TOO_LARGE : p->err, NULL);
	} else {
		if (p->finishing)
			hand_off(q, true);
		else if (p->fill_len >= S3_PIPE_CHUNK)
			hand_off(q, false);
		if (p->paused && p->fill_len < S3_PIPE_CHUNK) {
			p->paused = false;
			if (s3__live(q))
				http_request_resume(q->r);
		}
	}
	s3__unref(q);
}

/* Swap fill and flight and queue a pool write (and, with finish, the
 * fsync). The job holds a reference. */
static void hand_off(struct s3_req *q, bool finish)
{
	struct s3_pipe *p = &q->pipe;
	CHECK(!p->busy);
	char *t = p->flight;
	p->flight = p->fill;
	p->flight_len = p->fill_len;
	p->fill = t;
	p->fill_len = 0;
	struct pipe_job *j = malloc(sizeof(*j));
	int rc = j ? 0 : ERR_NOMEM;
	if (rc == 0) {
		*j = (struct pipe_job){ q, finish };
		p->busy = true;
		s3__ref(q);
		rc = net_work_submit(q->loop, write_work, write_done, j);
		if (rc) {
			p->busy = false;
			free(j);
			s3__unref(q);
		}
	}
	if (rc && !p->err)
		p->err = rc;
	if (rc && finish) {
		/* The final step cannot run: report through next all the same. */
		q->rc = rc;
		void (*next)(struct s3_req *) = q->next;
		q->next = NULL;
		next(q);
	}
}

int s3__pipe_data(struct s3_req *q, const char *data, size_t n)
{
	struct s3_pipe *p = &q->pipe;
	if (p->err)
		return p->err;
	if (!p->fill)
		return ERR_S3_INVALID_REQUEST; /* a body where none belongs (a copy) */
	if (p->fill_len + n > FILL_CAP)
		return ERR_INTERNAL; /* reading pauses long before this */
	memcpy(p->fill + p->fill_len, data, n);
	p->fill_len += n;
	p->bytes += n;
	if (p->opts.max_size && p->bytes > p->opts.max_size)
		return ERR_TOO_BIG;
	if (p->fill_len >= S3_PIPE_CHUNK) {
		if (!p->busy && !p->held)
			hand_off(q, false);
		else
			p->paused = true;
	}
	return p->err;
}

void s3__pipe_hold(struct s3_req *q)
{
	q->pipe.held = true;
}

void s3__pipe_release(struct s3_req *q)
{
	struct s3_pipe *p = &q->pipe;
	p->held = false;
	if (p->busy || p->err || !p->fill)
		return;
	if (p->fill_len >= S3_PIPE_CHUNK)
		hand_off(q, false);
	if (p->paused && p->fill_len < S3_PIPE_CHUNK) {
		p->paused = false;
		if (s3__live(q))
			http_request_resume(q->r);
	}
}

void s3__pipe_finish(struct s3_req *q, void (*next)(struct s3_req *q))
{
	struct s3_pipe *p = &q->pipe;
	CHECK(q->next == NULL);
	CHECK(!p->held);
	q->next = next;
	if (p->busy)
		p->finishing = true; /* write_done hands off the rest */
	else
		hand_off(q, true);
}

static int commit_fn(struct s3_req *q)
{
	struct s3_pipe *p = &q->pipe;
	struct blob_writer *w = p->w;
	p->w = NULL; /* commit frees it whatever happens */
	return blob_writer_commit(w, &p->info);
}

void s3__pipe_commit(struct s3_req *q, void (*next)(struct s3_req *q))
{
	s3__pool(q, commit_fn, next);
}

static void abort_work(void *arg)
{
	blob_writer_abort(arg);
}

static void abort_done(void *arg, int status)
{
	(void)arg;
	(void)status;
}

void s3__pipe_abort(struct s3_req *q)
{
	struct s3_pipe *p = &q->pipe;
	if (p->busy) {
		/* The pool has the writer: the last reference cleans up. */
		if (!p->err)
			p->err = ERR_NET_CLOSED;
		return;
	}
	if (p->w && net_work_submit(q->loop, abort_work, abort_done, p->w))
		blob_writer_abort(p->w); /* no pool (shutting down): do it here */
	p->w = NULL;
	free(p->fill);
	free(p->flight);
	p->fill = p->flight = NULL;
	p->fill_len = p->flight_len = 0;
	if (!p->err)
		p->err = ERR_NET_CLOSED;
}
