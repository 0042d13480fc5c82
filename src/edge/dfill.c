/* edge/dfill: filling the disk tier while a response streams. See dfill.h. */
#include "edge/dfill.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "net/work.h"

struct chunk {
	struct chunk *next;
	size_t n;
	char data[];
};

struct edge_dfill {
	struct net_loop *loop;
	struct edge_disk *disk;
	char *key;
	size_t keylen;
	struct edge_cache_meta meta; /* etag points into etag_copy */
	char etag_copy[EDGE_CACHE_ETAG_MAX];
	char *headers;
	size_t headers_len;
	/* loop thread only */
	struct chunk *head, *tail; /* waiting for the next job */
	size_t queued;
	bool busy;   /* a job is on the pool */
	bool failed; /* over the queue cap, or a disk error: abort at the end */
	bool ended, commit;
	/* the job's (pool) side; handed over at submit */
	struct edge_disk_writer *w;
	struct chunk *job;
	bool job_end, job_commit;
	int job_rc;
};

static void chunks_free(struct chunk *c)
{
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
}

static void fill_free(struct edge_dfill *f)
{
	chunks_free(f->head);
	chunks_free(f->job);
	free(f->key);
	free(f->headers);
	free(f);
}

/* On the pool: open the writer if need be, write the job's chunks, then
 * commit or abort when the job ends the fill. */
static void job_work(void *arg)
{
	struct edge_dfill *f = arg;
	int rc = 0;
	if (!f->w && (f->job || f->job_commit))
		rc = edge_disk_writer_new(f->disk, f->key, f->keylen, &f->meta,
		                          iov_make(f->headers, f->headers_len), &f->w);
	for (struct chunk *c = f->job; rc == 0 && c; c = c->next)
		rc = edge_disk_write(f->w, c->data, c->n);
	if (f->job_end && f->w) {
		if (f->job_commit && rc == 0)
			rc = edge_disk_writer_commit(f->w);
		else
			edge_disk_writer_abort(f->w);
		f->w = NULL;
	}
	f->job_rc = rc;
}

static void submit(struct edge_dfill *f);

static void job_done(void *arg, int status)
{
	struct edge_dfill *f = arg;
	f->busy = false;
	chunks_free(f->job);
	f->job = NULL;
	if (status || f->job_rc)
		f->failed = true;
	if (status && f->w) { /* canceled (the loop is going away) */
		edge_disk_writer_abort(f->w);
		f->w = NULL;
	}
	if (f->job_end || (status && f->ended)) {
		fill_free(f);
		return;
	}
	submit(f);
}

/* Hand what is queued (and the end, once everything is written) to the
 * pool, unless a job is running. A failed fill only waits for its end; an
 * end without an open writer and without a commit needs no job. */
static void submit(struct edge_dfill *f)
{
	if (f->busy)
		return;
	if (f->failed) {
		chunks_free(f->head);
		f->head = f->tail = NULL;
		f->queued = 0;
		if (!f->ended)
			return;
	}
	bool end = f->ended;
	bool commit = f->ended && f->commit && !f->failed;
	if (!end && f->head == NULL)
		return;
	if (end && !commit && f->w == NULL && f->head == NULL) {
		fill_free(f);
		return;
	}
	f->job = f->head;
	f->head = f->tail = NULL;
	f->queued = 0;
	f->job_end = end;
	f->job_commit = commit;
	f->busy = true;
	if (net_work_submit(f->loop, job_work, job_done, f)) {
		/* Out of memory: abort here, on the loop (the one blocking call
		 * this allows itself, and only on that failure). */
		f->busy = false;
		chunks_free(f->job);
		f->job = NULL;
		f->failed = true;
		if (f->w)
			edge_disk_writer_abort(f->w);
		f->w = NULL;
		if (f->ended)
			fill_free(f);
	}
}

int edge_dfill_new(struct net_loop *l, struct edge_disk *d, const char *key, size_t keylen,
                   const struct edge_cache_meta *meta, struct iov headers, struct edge_dfill **out)
{
	if (meta->etag.len > EDGE_CACHE_ETAG_MAX)
		return ERR_TOO_BIG;
	struct edge_dfill *f = calloc(1, sizeof(*f));
	if (!f)
		return ERR_NOMEM;
	f->loop = l;
	f->disk = d;
	f->key = malloc(keylen ? keylen : 1);
	f->headers = malloc(headers.len ? headers.len : 1);
	if (!f->key || !f->headers) {
		fill_free(f);
		return ERR_NOMEM;
	}
	memcpy(f->key, key, keylen);
	f->keylen = keylen;
	if (headers.len)
		memcpy(f->headers, headers.base, headers.len);
	f->headers_len = headers.len;
	f->meta = *meta;
	if (meta->etag.len)
		memcpy(f->etag_copy, meta->etag.base, meta->etag.len);
	f->meta.etag = iov_make(f->etag_copy, meta->etag.len);
	*out = f;
	return 0;
}

bool edge_dfill_add(struct edge_dfill *f, const void *p, size_t n)
{
	if (f->failed)
		return false;
	if (n == 0)
		return true;
	if (f->queued + n > EDGE_DFILL_QUEUE_MAX) {
		f->failed = true;
		return false;
	}
	struct chunk *c = malloc(sizeof(*c) + n);
	if (!c) {
		f->failed = true;
		return false;
	}
	c->next = NULL;
	c->n = n;
	memcpy(c->data, p, n);
	if (f->tail)
		f->tail->next = c;
	else
		f->head = c;
	f->tail = c;
	f->queued += n;
	submit(f);
	return true;
}

void edge_dfill_end(struct edge_dfill *f, bool commit)
{
	f->ended = true;
	f->commit = commit;
	submit(f);
}
