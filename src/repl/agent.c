/*
 * The replication agent (agent.h). One thread: it reads due outbox rows on
 * a read-only connection of its own, runs the transfers on one curl multi
 * handle, and hands outcomes to the metadata writer in batches. The writer
 * thread's completion only moves a finished batch onto a list under the
 * mutex and wakes the multi handle; everything else is the agent thread's.
 *
 * A row is "busy" from the moment it is claimed until its ack committed (or
 * it was released after a peer outage): rescans of the outbox skip busy
 * rows, so nothing is sent twice while an ack is on its way.
 */
#define _GNU_SOURCE
#include "repl/agent.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/canon.h"
#include "auth/sign.h"
#include "base/arena.h"
#include "base/base64.h"
#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"
#include "meta/attrs.h"
#include "meta/object.h"
#include "meta/repl.h"
#include "meta/writer.h"
#include "s3/server.h"
#include "repl/repl-int.h"
#include "store/blob.h"

#define AGENT_MAGIC        0x5245504cu
#define BUSY_CAP           8192 /* busy row ids tracked (a power of two) */
#define ACK_BATCH          128  /* outcomes per writer job */
#define ERR_BODY_MAX       4096 /* error answer bytes kept to find <Code> */
#define POLL_IDLE_MS       1000 /* look at the outbox at least this often */
#define RESCAN_MS          1000 /* restart a peer's scan from the first row */
#define BACKOFF_FIRST_MS   250
#define ROW_RETRY_FIRST_MS 1000
#define XFER_ARENA         (64u << 10)
#define ATTR_HEADERS_MAX   64
#define LAG_BUCKETS        16

static const double lag_le[LAG_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25,
	                                    0.5,   0.75, 1,     1.5,  2.5,   5,   10,   30 };

enum ack_kind { ACK_DONE, ACK_FAIL, ACK_RETRY };

struct ack {
	int64_t id;
	enum ack_kind kind;
	int64_t next_ms;
	char why[64];
};

struct ack_job {
	struct meta_job job;
	struct repl_agent *ag;
	struct ack_job *next;
	size_t n;
	struct ack acks[ACK_BATCH];
};

struct peer_stats {
	uint64_t ops, bytes, failed, outages;
	uint64_t lag_count, lag_bucket[LAG_BUCKETS];
	double lag_sum, lag_max;
};

struct peer {
	const struct repl_peer *cfg;
	int64_t cursor;        /* rows up to this id were claimed in this pass */
	int64_t rescan_at;     /* when to start over from the first row */
	int64_t backoff_until; /* an outage: nothing is sent before */
	unsigned fails;        /* outages in a row */
	unsigned inflight;
	bool up;
	struct peer_stats st; /* under the agent's mutex */
	/* Why it is unreachable ("" while up): logged when it changes, shown
	 * in the status. Written by the agent thread under the mutex. */
	char reason[REPL_REASON_MAX];
};

struct piece {
	char file[META_NAME_MAX + 1];
	uint64_t size;
};

struct xfer {
	struct xfer *prev, *next; /* the agent's transfers in flight */
	struct repl_agent *ag;
	struct peer *p;
	CURL *h;
	struct repl_req q; /* headers, connect-to, error buffer */
	struct arena *a;
	struct meta_outbox_row row;
	bool marker;
	/* the body */
	struct piece *pieces;
	size_t npieces, piece;
	uint64_t piece_off;
	int fd;
	int read_err; /* a local read failed: ERR_* */
	/* the answer */
	char body[ERR_BODY_MAX];
	size_t body_len;
};

/* Versions FAILED since start per (bucket, rule, peer); the rest in one. */
#define RULE_FAILS_MAX 64
struct rule_fails {
	char bucket[META_NAME_MAX + 1];
	char rule[META_REPL_RULE_ID_MAX + 1];
	const struct repl_peer *peer;
	uint64_t n;
};

struct repl_agent {
	unsigned magic;
	const struct repl_config *cfg;
	struct meta_writer *writer;
	struct blob_store *blobs;
	char *db_path;
	struct meta_db *rdb;
	CURLM *multi;
	struct xfer *xfers; /* in flight */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	struct peer peers[REPL_PEERS_MAX];
	size_t npeers;
	int64_t busy[BUSY_CAP]; /* open addressing; 0 empty, -1 deleted */
	size_t nbusy;
	struct ack_job *pending; /* outcomes not yet handed to the writer */
	pthread_mutex_t mu;
	struct ack_job *acked; /* committed batches back from the writer (mu) */
	uint32_t rng;
	struct auth_keycache *keys;
	struct repl_resync *resync;
	struct rule_fails fails[RULE_FAILS_MAX]; /* (mu) */
	size_t nfails;
	uint64_t fails_other;
};

/* ---- busy set ---- */

static size_t busy_slot(int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) & (BUSY_CAP - 1);
}

static bool busy_has(const struct repl_agent *a, int64_t id)
{
	for (size_t i = busy_slot(id), k = 0; k < BUSY_CAP; i = (i + 1) & (BUSY_CAP - 1), k++) {
		if (a->busy[i] == id)
			return true;
		if (a->busy[i] == 0)
			return false;
	}
	return false;
}

static void busy_add(struct repl_agent *a, int64_t id)
{
	CHECK(a->nbusy < BUSY_CAP / 2);
	size_t i = busy_slot(id);
	while (a->busy[i] > 0)
		i = (i + 1) & (BUSY_CAP - 1);
	a->busy[i] = id;
	a->nbusy++;
}

static void busy_del(struct repl_agent *a, int64_t id)
{
	for (size_t i = busy_slot(id), k = 0; k < BUSY_CAP; i = (i + 1) & (BUSY_CAP - 1), k++) {
		if (a->busy[i] == id) {
			a->busy[i] = -1;
			a->nbusy--;
			return;
		}
		if (a->busy[i] == 0)
			return;
	}
}

/* ---- acks ---- */

static int ack_run(struct meta_db *db, void *arg)
{
	struct ack_job *j = arg;
	for (size_t i = 0; i < j->n; i++) {
		const struct ack *k = &j->acks[i];
		int rc = k->kind == ACK_DONE ? meta_outbox_done(db, k->id)
		         : k->kind == ACK_FAIL
		             ? meta_outbox_fail(db, k->id, iov_cstr(k->why))
		             : meta_outbox_retry(db, k->id, k->next_ms, iov_cstr(k->why));
		if (rc)
			return rc;
	}
	return 0;
}

/* Writer thread: the batch is durable (or failed: then its rows are simply
 * still queued and will be sent again). */
static void ack_done(void *arg, int rc)
{
	struct ack_job *j = arg;
	struct repl_agent *a = j->ag;
	if (rc)
		fprintf(stderr, "repl: %zu outcomes not recorded: %s (they will be resent)\n", j->n,
		        err_text(rc));
	pthread_mutex_lock(&a->mu);
	j->next = a->acked;
	a->acked = j;
	pthread_mutex_unlock(&a->mu);
	curl_multi_wakeup(a->multi);
}

static void acks_flush(struct repl_agent *a)
{
	struct ack_job *j = a->pending;
	if (!j)
		return;
	a->pending = NULL;
	j->job = (struct meta_job){ .run = ack_run, .done = ack_done, .arg = j };
	int rc = meta_writer_submit(a->writer, &j->job);
	if (rc) /* the writer is full or closing: the rows stay queued */
		ack_done(j, rc);
}

static void ack_add(struct repl_agent *a, int64_t id, enum ack_kind kind, int64_t next_ms,
                    const char *why)
{
	if (!a->pending) {
		a->pending = calloc(1, sizeof(*a->pending));
		if (!a->pending) {
			busy_del(a, id); /* no memory: it stays queued and goes again */
			return;
		}
		a->pending->ag = a;
	}
	struct ack *k = &a->pending->acks[a->pending->n++];
	k->id = id;
	k->kind = kind;
	k->next_ms = next_ms;
	snprintf(k->why, sizeof(k->why), "%s", why ? why : "");
	if (a->pending->n == ACK_BATCH)
		acks_flush(a);
}

static void acks_collect(struct repl_agent *a)
{
	pthread_mutex_lock(&a->mu);
	struct ack_job *j = a->acked;
	a->acked = NULL;
	pthread_mutex_unlock(&a->mu);
	while (j) {
		struct ack_job *next = j->next;
		for (size_t i = 0; i < j->n; i++)
			busy_del(a, j->acks[i].id);
		free(j);
		j = next;
	}
}

/* ---- transfers ---- */

static void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else if (x->ag->xfers == x)
		x->ag->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	if (x->h) {
		curl_multi_remove_handle(x->ag->multi, x->h);
		curl_easy_cleanup(x->h);
	}
	repl__req_free(&x->q);
	if (x->fd >= 0)
		close(x->fd);
	arena_free(x->a);
	free(x);
}

static size_t read_body(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t want = size * nmemb;
	while (x->piece < x->npieces) {
		struct piece *pc = &x->pieces[x->piece];
		if (x->piece_off == pc->size) {
			if (x->fd >= 0)
				close(x->fd);
			x->fd = -1;
			x->piece++;
			x->piece_off = 0;
			continue;
		}
		if (x->fd < 0) {
			uint64_t size_on_disk;
			int rc = blob_open(x->ag->blobs, pc->file, &x->fd, &size_on_disk);
			if (rc || size_on_disk < pc->size) {
				x->read_err = rc ? rc : ERR_IO;
				return CURL_READFUNC_ABORT;
			}
		}
		uint64_t left = pc->size - x->piece_off;
		size_t n = want < left ? want : (size_t)left;
		ssize_t got = pread(x->fd, dst, n, (off_t)x->piece_off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			x->read_err = ERR_IO;
			return CURL_READFUNC_ABORT;
		}
		x->piece_off += (uint64_t)got;
		return (size_t)got;
	}
	return 0;
}

static size_t keep_body(char *src, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, room = sizeof(x->body) - 1 - x->body_len;
	memcpy(x->body + x->body_len, src, n < room ? n : room);
	x->body_len += n < room ? n : room;
	return n;
}

/* The request for x's version: headers, signature, curl options. */
static int xfer_prepare(struct xfer *x, const struct meta_object *o)
{
	struct arena *ar = x->a;
	struct iov p = repl__path(ar, x->row.dest_bucket, x->row.key);
	if (!p.base)
		return ERR_NOMEM;
	struct repl_headers hs = { .n = 0 };
	repl__header(&hs, IOV_LIT(S3_REPLICA_VERSION_HEADER), x->row.version_id);
	repl__header(&hs, IOV_LIT(S3_REPLICA_MODIFIED_HEADER),
	             arena_printf(ar, "%" PRId64, o->last_modified_ms));
	if (!x->marker) {
		repl__header(&hs, IOV_LIT(S3_REPLICA_ETAG_HEADER), o->etag);
		repl__header(&hs, IOV_LIT("content-length"), arena_printf(ar, "%" PRIu64, o->size));
		if (o->content_type.len)
			repl__header(&hs, IOV_LIT("content-type"), o->content_type);
		uint8_t md5[16];
		if (o->etag.len == 32 && hex_decode(o->etag, md5, sizeof(md5)) == 0) {
			char b64[32];
			base64_encode(md5, 16, b64);
			repl__header(&hs, IOV_LIT("content-md5"), arena_dup(ar, iov_cstr(b64)));
		}
		if (o->checksum_algo.len && o->checksum.len &&
		    !memchr(o->checksum.base, '-', o->checksum.len))
			repl__header(
			    &hs,
			    arena_printf(ar, "x-amz-checksum-" IOV_FMT, IOV_ARG(o->checksum_algo)),
			    o->checksum);
		struct meta_attr attrs[ATTR_HEADERS_MAX];
		size_t nattrs = 0;
		if (o->attrs.len && meta_attrs_decode(o->attrs, attrs, ATTR_HEADERS_MAX, &nattrs))
			return ERR_INVALID;
		for (size_t i = 0; i < nattrs; i++)
			repl__header(&hs, attrs[i].name, attrs[i].value);
	}
	struct iov method = x->marker ? IOV_LIT("DELETE") : IOV_LIT("PUT");
	struct iov payload = x->marker ? IOV_LIT(AUTH_EMPTY_SHA256) : IOV_LIT("UNSIGNED-PAYLOAD");
	int rc = repl__prepare(x->h, x->p->cfg, method, p, IOV_NULL, &hs, payload, x->ag->keys, ar,
	                       &x->q);
	if (rc)
		return rc;
	CURL *h = x->h;
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (x->marker) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->size);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
	}
	return 0;
}

/* The body's pieces: the version's file, or its parts in order. */
static int xfer_pieces(struct xfer *x, const struct meta_object *o)
{
	size_t n = o->part_count ? o->nparts : 1;
	x->pieces = arena_alloc(x->a, n * sizeof(*x->pieces));
	if (!x->pieces)
		return ERR_NOMEM;
	x->npieces = 0;
	for (size_t i = 0; i < n; i++) {
		struct iov file = o->part_count ? o->parts[i].data_file : o->data_file;
		uint64_t size = o->part_count ? o->parts[i].size : o->size;
		if (!file.len || file.len > META_NAME_MAX)
			return ERR_INVALID;
		struct piece *pc = &x->pieces[x->npieces++];
		memcpy(pc->file, file.base, file.len);
		pc->file[file.len] = '\0';
		pc->size = size;
	}
	return 0;
}

/* p did not answer, for `reason` (repl__reason): back off the whole peer.
 * The reason is logged when it differs from the last one, so a peer that
 * keeps failing the same way (a refused certificate, say) is one line, not
 * one per retry. */
static void peer_outage(struct repl_agent *a, struct peer *p, int64_t now, const char *reason)
{
	bool changed = strcmp(p->reason, reason) != 0;
	if (changed) {
		pthread_mutex_lock(&a->mu);
		snprintf(p->reason, sizeof(p->reason), "%s", reason);
		pthread_mutex_unlock(&a->mu);
	}
	if (p->backoff_until > now) {
		if (changed) /* another cause within one outage */
			fprintf(stderr, "repl: peer %s unreachable: %s\n", p->cfg->name, reason);
		return; /* already counted for this outage */
	}
	unsigned shift = p->fails < 16 ? p->fails : 16;
	int64_t d = (int64_t)BACKOFF_FIRST_MS << shift;
	if (d > p->cfg->backoff_max_ms)
		d = p->cfg->backoff_max_ms;
	a->rng = a->rng * 1103515245u + 12345u;
	d = d / 2 + (int64_t)((a->rng >> 8) % (uint32_t)(d / 2 + 1)); /* jitter: 50-100% */
	p->backoff_until = now + d;
	p->fails++;
	p->cursor = 0; /* everything from the first row again afterwards */
	pthread_mutex_lock(&a->mu);
	p->st.outages++;
	pthread_mutex_unlock(&a->mu);
	if (changed)
		fprintf(stderr,
		        "repl: peer %s unreachable: %s (retrying in %" PRId64
		        " ms, then with backoff up to %" PRId64 " ms; rows stay queued)\n",
		        p->cfg->name, reason, d, p->cfg->backoff_max_ms);
	p->up = false;
}

/* The S3 error code in an error answer, or "". */
static void error_code(const struct xfer *x, char *out, size_t cap)
{
	out[0] = '\0';
	const char *s = memmem(x->body, x->body_len, "<Code>", 6);
	const char *e = s ? memmem(s, x->body_len - (size_t)(s - x->body), "</Code>", 7) : NULL;
	if (s && e && (size_t)(e - s - 6) < cap)
		snprintf(out, cap, "%.*s", (int)(e - s - 6), s + 6);
}

/* A 4xx the peer will keep answering until someone changes something. */
static bool permanent(long status, const char *code)
{
	if (status < 400 || status >= 500 || status == 408 || status == 429)
		return false;
	static const char *const transient[] = {
		"RequestTimeTooSkewed", "BadDigest", "IncompleteBody",
		"RequestTimeout",       "SlowDown",  "XAmzContentSHA256Mismatch"
	};
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strcmp(code, transient[i]) == 0)
			return false;
	return true;
}

static void count_failed(struct repl_agent *a, struct peer *p, const struct meta_outbox_row *r)
{
	pthread_mutex_lock(&a->mu);
	p->st.failed++;
	size_t i = 0;
	for (; i < a->nfails; i++)
		if (a->fails[i].peer == p->cfg && iov_eq(iov_cstr(a->fails[i].bucket), r->bucket) &&
		    iov_eq(iov_cstr(a->fails[i].rule), r->rule_id))
			break;
	if (i == a->nfails && a->nfails < RULE_FAILS_MAX && r->bucket.len <= META_NAME_MAX &&
	    r->rule_id.len <= META_REPL_RULE_ID_MAX) {
		struct rule_fails *f = &a->fails[a->nfails++];
		memcpy(f->bucket, r->bucket.base, r->bucket.len);
		f->bucket[r->bucket.len] = '\0';
		memcpy(f->rule, r->rule_id.base, r->rule_id.len);
		f->rule[r->rule_id.len] = '\0';
		f->peer = p->cfg;
		f->n = 0;
	}
	if (i < a->nfails)
		a->fails[i].n++;
	else
		a->fails_other++;
	pthread_mutex_unlock(&a->mu);
}

static int64_t row_retry_at(const struct xfer *x, int64_t now)
{
	unsigned shift = x->row.attempts < 16 ? x->row.attempts : 16;
	int64_t d = (int64_t)ROW_RETRY_FIRST_MS << shift;
	if (d > x->p->cfg->backoff_max_ms)
		d = x->p->cfg->backoff_max_ms;
	return now + d;
}

static void record_sent(struct repl_agent *a, struct peer *p, const struct xfer *x, int64_t now)
{
	double lag = (double)(now - x->row.created_ms) / 1000.0;
	if (lag < 0)
		lag = 0;
	pthread_mutex_lock(&a->mu);
	p->st.ops++;
	p->st.bytes += x->marker ? 0 : x->row.size;
	p->st.lag_count++;
	p->st.lag_sum += lag;
	if (lag > p->st.lag_max)
		p->st.lag_max = lag;
	for (size_t i = 0; i < LAG_BUCKETS; i++)
		if (lag <= lag_le[i])
			p->st.lag_bucket[i]++;
	pthread_mutex_unlock(&a->mu);
}

static void xfer_finished(struct repl_agent *a, struct xfer *x, CURLcode res)
{
	struct peer *p = x->p;
	int64_t now = repl__wall_ms();
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	p->inflight--;
	int64_t id = x->row.id;
	if (x->read_err) {
		char why[64];
		snprintf(why, sizeof(why), "local read: %s", err_text(x->read_err));
		ack_add(a, id, x->read_err == ERR_NOT_FOUND ? ACK_FAIL : ACK_RETRY,
		        row_retry_at(x, now), why);
		fprintf(stderr, "repl: %s/" IOV_FMT " " IOV_FMT ": %s\n", p->cfg->name,
		        IOV_ARG(x->row.key), IOV_ARG(x->row.version_id), why);
	} else if (res != CURLE_OK || status >= 500 || status == 429 || status == 0) {
		/* A refused certificate lands here too: an outage, never FAILED. */
		busy_del(a, id); /* untouched in the outbox: sent again after the outage */
		char why[REPL_REASON_MAX];
		repl__reason(res, &x->q, status, why, sizeof(why));
		peer_outage(a, p, now, why);
	} else if (status >= 200 && status < 300) {
		if (!p->up && p->fails)
			fprintf(stderr, "repl: peer %s reachable again\n", p->cfg->name);
		if (p->reason[0]) {
			pthread_mutex_lock(&a->mu);
			p->reason[0] = '\0';
			pthread_mutex_unlock(&a->mu);
		}
		p->up = true;
		p->fails = 0;
		record_sent(a, p, x, now);
		ack_add(a, id, ACK_DONE, 0, NULL);
	} else {
		char code[64];
		error_code(x, code, sizeof(code));
		if (!code[0])
			snprintf(code, sizeof(code), "HTTP %ld", status);
		if (permanent(status, code)) {
			count_failed(a, p, &x->row);
			ack_add(a, id, ACK_FAIL, 0, code);
		} else {
			ack_add(a, id, ACK_RETRY, row_retry_at(x, now), code);
		}
		fprintf(stderr, "repl: %s " IOV_FMT "/" IOV_FMT " " IOV_FMT ": %s\n", p->cfg->name,
		        IOV_ARG(x->row.dest_bucket), IOV_ARG(x->row.key),
		        IOV_ARG(x->row.version_id), code);
	}
	xfer_free(x);
}

/* Start sending row r (copied). The row is busy from here on. */
static void xfer_start(struct repl_agent *a, struct peer *p, const struct meta_outbox_row *r)
{
	busy_add(a, r->id);
	struct xfer *x = calloc(1, sizeof(*x));
	struct arena *ar = arena_new(XFER_ARENA + 2 * META_ATTRS_MAX);
	if (!x || !ar) {
		free(x);
		arena_free(ar);
		busy_del(a, r->id);
		return;
	}
	x->ag = a;
	x->p = p;
	x->a = ar;
	x->fd = -1;
	x->row = *r;
	x->row.bucket = arena_dup(ar, r->bucket);
	x->row.key = arena_dup(ar, r->key);
	x->row.version_id = arena_dup(ar, r->version_id);
	x->row.dest_bucket = arena_dup(ar, r->dest_bucket);
	x->row.rule_id = arena_dup(ar, r->rule_id);
	x->row.peer = IOV_NULL; /* x->p says it */
	struct meta_object o;
	int rc =
	    (!x->row.bucket.base || !x->row.key.base || !x->row.version_id.base ||
	     !x->row.dest_bucket.base || !x->row.rule_id.base)
	        ? ERR_NOMEM
	        : meta_object_get(a->rdb, x->row.bucket, x->row.key, x->row.version_id, ar, &o);
	if (rc == ERR_META_NO_SUCH_VERSION || rc == ERR_META_NO_SUCH_BUCKET ||
	    rc == ERR_META_NO_SUCH_KEY) {
		ack_add(a, r->id, ACK_DONE, 0, NULL); /* gone: nothing left to send */
		xfer_free(x);
		return;
	}
	if (rc == 0) {
		x->marker = o.is_delete_marker;
		if (!x->marker)
			rc = xfer_pieces(x, &o);
	}
	if (rc == 0 && !(x->h = curl_easy_init()))
		rc = ERR_NOMEM;
	if (rc == 0)
		rc = xfer_prepare(x, &o);
	if (rc == 0 && curl_multi_add_handle(a->multi, x->h) != CURLM_OK)
		rc = ERR_NOMEM;
	if (rc == 0) {
		x->next = a->xfers;
		if (a->xfers)
			a->xfers->prev = x;
		a->xfers = x;
	}
	if (rc) {
		ack_add(a, r->id, ACK_RETRY, repl__wall_ms() + ROW_RETRY_FIRST_MS, err_text(rc));
		xfer_free(x);
		return;
	}
	p->inflight++;
}

/* Claim due rows of p up to its concurrency. */
static void peer_fill(struct repl_agent *a, struct peer *p, int64_t now, struct arena *tmp)
{
	if (now < p->backoff_until)
		return;
	while (p->inflight < p->cfg->concurrency && a->nbusy < BUSY_CAP / 2 - ACK_BATCH) {
		size_t want = p->cfg->concurrency - p->inflight, n = 0;
		struct meta_outbox_row rows[64];
		if (want > 64)
			want = 64;
		arena_reset(tmp);
		int rc = meta_outbox_due(a->rdb, iov_cstr(p->cfg->name), p->cursor, now, want, tmp,
		                         rows, &n);
		if (rc) {
			fprintf(stderr, "repl: outbox read failed: %s\n", err_text(rc));
			return;
		}
		if (n == 0) {
			if (p->cursor == 0 || now < p->rescan_at)
				return;
			p->cursor = 0; /* once in a while, look again from the first row */
			p->rescan_at = now + RESCAN_MS;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			p->cursor = rows[i].id;
			if (!busy_has(a, rows[i].id))
				xfer_start(a, p, &rows[i]);
		}
	}
}

static void *agent_main(void *arg)
{
	struct repl_agent *a = arg;
	struct arena *tmp = arena_new(64 * (2 * META_KEY_MAX + 4 * META_NAME_MAX + 256));
	CHECK(tmp);
	while (!atomic_load(&a->stop)) {
		acks_collect(a);
		int64_t now = repl__wall_ms();
		for (size_t i = 0; i < a->npeers; i++)
			peer_fill(a, &a->peers[i], now, tmp);
		int running = 0;
		curl_multi_perform(a->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(a->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			xfer_finished(a, x, m->data.result);
		}
		acks_flush(a);
		/* Sleep until a socket, a kick, an ack, or the next backoff end. */
		int64_t wait = POLL_IDLE_MS;
		for (size_t i = 0; i < a->npeers; i++) {
			int64_t d = a->peers[i].backoff_until - now;
			if (d > 0 && d < wait)
				wait = d;
		}
		curl_multi_poll(a->multi, NULL, 0, (int)wait, NULL);
	}
	arena_free(tmp);
	return NULL;
}

void repl_agent_kick(struct repl_agent *a)
{
	if (a)
		curl_multi_wakeup(a->multi);
}

static void agent_kick(void *a)
{
	repl_agent_kick(a);
}

int repl_agent_resync(struct repl_agent *a, struct iov bucket, struct iov peer)
{
	return repl__resync_request(a->resync, bucket, peer);
}

/* s as a JSON string's contents: quotes, backslashes and controls escaped. */
static int json_text(struct buf *b, const char *s)
{
	int rc = 0;
	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			rc = buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			rc = buf_printf(b, "\\u%04x", c);
		else
			rc = buf_add_char(b, (char)c);
	}
	return rc;
}

/* How a peer's certificate is checked, for the status. */
static const char *tls_mode(const struct repl_peer *c)
{
	if (!c->https)
		return "none";
	if (c->insecure)
		return "insecure_skip_verify";
	return c->ca_file[0] ? "verify (ca_file)" : "verify (system store)";
}

int repl_agent_status(struct repl_agent *a, struct buf *json)
{
	int rc = buf_add_str(json, "{\"peers\": [");
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; rc == 0 && i < a->npeers; i++) {
		const struct peer *p = &a->peers[i];
		const struct repl_peer *c = p->cfg;
		rc = buf_printf(json,
		                "%s{\"name\": \"%s\", \"region\": \"%s\", \"endpoint\": \"%s\", "
		                "\"tls\": \"%s\", \"server_name\": \"%s\", "
		                "\"up\": %s, \"sent\": %" PRIu64 ", \"bytes\": %" PRIu64
		                ", \"failed\": %" PRIu64 ", \"outages\": %" PRIu64
		                ", \"lag_max_seconds\": %.3f, \"error\": \"",
		                i ? ", " : "", c->name, c->region, c->endpoint, tls_mode(c),
		                c->server_name, p->up ? "true" : "false", p->st.ops, p->st.bytes,
		                p->st.failed, p->st.outages, p->st.lag_max);
		if (rc == 0)
			rc = json_text(json, p->reason);
		if (rc == 0)
			rc = buf_add_str(json, "\"}");
	}
	pthread_mutex_unlock(&a->mu);
	if (rc == 0)
		rc = buf_add_str(json, "], \"resync\": ");
	if (rc == 0)
		rc = repl__resync_status(a->resync, json);
	return rc ? rc : buf_add_char(json, '}');
}

static void agent_free(struct repl_agent *a)
{
	if (a->multi) {
		/* Dropped transfers: their rows stay queued. */
		while (a->xfers)
			xfer_free(a->xfers);
		curl_multi_cleanup(a->multi);
	}
	free(a->pending);
	while (a->acked) {
		struct ack_job *next = a->acked->next;
		free(a->acked);
		a->acked = next;
	}
	repl__resync_stop(a->resync);
	auth_keycache_free(a->keys);
	meta_db_close(a->rdb);
	pthread_mutex_destroy(&a->mu);
	free(a->db_path);
	free(a);
}

/* Rows queued for a peer the config no longer names wait until it does:
 * say so once at start (they show in the pending gauges too). */
static void warn_unknown_peers(struct repl_agent *a)
{
	struct arena *ar = arena_new(4u << 20);
	struct meta_outbox_stat *st;
	size_t n;
	if (ar && meta_outbox_stats(a->rdb, ar, &st, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (!repl_config_peer_by_name(a->cfg, st[i].peer))
				fprintf(stderr,
				        "repl: %" PRIu64 " versions of bucket " IOV_FMT
				        " are queued for peer '" IOV_FMT
				        "', which the replication file does not name: they wait "
				        "for it\n",
				        st[i].ops, IOV_ARG(st[i].bucket), IOV_ARG(st[i].peer));
	arena_free(ar);
}

static void curl_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int repl_agent_start(const struct repl_agent_opts *o, struct repl_agent **out, char *err,
                     size_t errcap)
{
	*out = NULL;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_once);
	struct repl_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->magic = AGENT_MAGIC;
	a->cfg = o->cfg;
	a->writer = o->writer;
	a->blobs = o->blobs;
	a->rng = (uint32_t)repl__wall_ms() ^ (uint32_t)getpid();
	pthread_mutex_init(&a->mu, NULL);
	a->npeers = o->cfg->npeers;
	for (size_t i = 0; i < a->npeers; i++) {
		const struct repl_peer *c = &o->cfg->peers[i];
		a->peers[i].cfg = c;
		a->peers[i].up = true;
		if (c->insecure) /* at every start, by name */
			fprintf(stderr,
			        "repl: peer %s (%s): TLS verification of its certificate is OFF "
			        "(insecure_skip_verify: true)\n",
			        c->name, c->endpoint);
	}
	struct meta_db_opts ro = { .query_only = true };
	int rc = meta_db_open(o->db_path, &ro, &a->rdb);
	if (rc) {
		snprintf(err, errcap, "replication: metadata database: %s", err_text(rc));
		agent_free(a);
		return rc;
	}
	warn_unknown_peers(a);
	a->keys = auth_keycache_new(16);
	a->multi = curl_multi_init();
	if (a->multi && a->keys &&
	    (rc = repl__resync_start(o->cfg, o->db_path, o->writer, agent_kick, a, &a->resync))) {
		snprintf(err, errcap, "replication: cannot start the resync thread: %s",
		         err_text(rc));
		agent_free(a);
		return rc;
	}
	if (!a->multi || !a->keys) {
		snprintf(err, errcap, "replication: out of memory");
		agent_free(a);
		return ERR_NOMEM;
	}
	unsigned total = 0;
	for (size_t i = 0; i < a->npeers; i++)
		total += a->peers[i].cfg->concurrency;
	curl_multi_setopt(a->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)total);
	if (pthread_create(&a->thread, NULL, agent_main, a)) {
		snprintf(err, errcap, "replication: cannot start its thread");
		agent_free(a);
		return ERR_INTERNAL;
	}
	a->started = true;
	*out = a;
	return 0;
}

void repl_agent_stop(struct repl_agent *a)
{
	if (!a)
		return;
	CHECK_MAGIC(a, AGENT_MAGIC);
	repl__resync_stop(a->resync);
	a->resync = NULL;
	atomic_store(&a->stop, true);
	curl_multi_wakeup(a->multi);
	if (a->started)
		pthread_join(a->thread, NULL);
	a->started = false;
	/* Transfers cut here leave their rows queued. */
	while (a->xfers)
		xfer_free(a->xfers);
	acks_flush(a);
}

void repl_agent_free(struct repl_agent *a)
{
	if (!a)
		return;
	CHECK_MAGIC(a, AGENT_MAGIC);
	acks_collect(a);
	agent_free(a);
}

int repl_agent_metrics(struct repl_agent *a, struct buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; rc == 0 && i < a->npeers; i++) {
		const struct peer *p = &a->peers[i];
		const char *n = p->cfg->name;
		rc = buf_printf(out,
		                "meridian_replication_operations_total{peer=\"%s\"} %" PRIu64 "\n"
		                "meridian_replication_bytes_total{peer=\"%s\"} %" PRIu64 "\n"
		                "meridian_replication_outages_total{peer=\"%s\"} %" PRIu64 "\n"
		                "meridian_replication_peer_up{peer=\"%s\"} %d\n",
		                n, p->st.ops, n, p->st.bytes, n, p->st.outages, n, p->up ? 1 : 0);
		for (size_t b = 0; rc == 0 && b < LAG_BUCKETS; b++)
			rc = buf_printf(
			    out,
			    "meridian_replication_lag_seconds_bucket{peer=\"%s\",le=\"%g\"} "
			    "%" PRIu64 "\n",
			    n, lag_le[b], p->st.lag_bucket[b]);
		if (rc == 0)
			rc = buf_printf(
			    out,
			    "meridian_replication_lag_seconds_bucket{peer=\"%s\",le=\"+Inf\"} "
			    "%" PRIu64 "\n"
			    "meridian_replication_lag_seconds_sum{peer=\"%s\"} %.6f\n"
			    "meridian_replication_lag_seconds_count{peer=\"%s\"} %" PRIu64 "\n"
			    "meridian_replication_lag_seconds_max{peer=\"%s\"} %.6f\n",
			    n, p->st.lag_count, n, p->st.lag_sum, n, p->st.lag_count, n,
			    p->st.lag_max);
	}
	if (rc == 0)
		rc = buf_add_str(out,
		                 "# TYPE meridian_replication_operations_failed_total counter\n");
	for (size_t i = 0; rc == 0 && i < a->nfails; i++) {
		const struct rule_fails *f = &a->fails[i];
		rc = buf_printf(
		    out, "meridian_replication_operations_failed_total{bucket=\"%s\",rule=\"",
		    f->bucket);
		for (const char *c = f->rule; rc == 0 && *c; c++)
			rc = (*c == '"' || *c == '\\') ? buf_printf(out, "\\%c", *c)
			                               : buf_add_char(out, *c);
		if (rc == 0)
			rc = buf_printf(out, "\",peer=\"%s\"} %" PRIu64 "\n", f->peer->name, f->n);
	}
	if (rc == 0 && a->fails_other)
		rc =
		    buf_printf(out,
		               "meridian_replication_operations_failed_total{bucket=\"\",rule=\"\","
		               "peer=\"\"} %" PRIu64 "\n",
		               a->fails_other);
	pthread_mutex_unlock(&a->mu);
	return rc;
}
