/*
 * Resync and peer watch (repl-int.h), on a thread of their own so that
 * listing a large bucket never stalls the sender.
 *
 * Resync of (bucket, peer): for each enabled rule of the bucket toward the
 * peer, walk the local versions under the rule's prefix and the peer's
 * ListObjectVersions of the destination bucket under the same prefix, both
 * in key order a page at a time; every local version (delete markers only
 * where the rule sends them) whose id the peer does not list for that key
 * is queued (meta_outbox_add, through the writer, in batches). So it sends
 * what a wiped or lagging peer lacks, however it lost it, and only that.
 *
 * Peer watch: every WATCH_MS the thread asks each peer's /-/health for its
 * store id (S3_STORE_ID_HEADER). The first id seen is recorded; a
 * different one later means the peer's data was replaced (a wipe, a new
 * disk): with resync_on_empty, every bucket with rules toward it is resynced.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/canon.h"
#include "base/check.h"
#include "base/err.h"
#include "meta/list.h"
#include "meta/repl.h"
#include "meta/writer.h"
#include "repl/list_xml.h"
#include "repl/repl-int.h"
#include "s3/server.h"

#define RESYNC_QUEUE_MAX 64
#define WATCH_MS         5000
#define PAGE             1000
#define ADD_BATCH        256
#define LIST_BODY_CAP    REPL_LIST_BODY_MAX
#define PAGE_TRIES       6

struct resync_req {
	char bucket[META_NAME_MAX + 1]; /* "": every bucket with rules toward peer */
	char peer[REPL_NAME_MAX + 1];
};

struct add_job {
	struct meta_job job;
	struct repl_resync *r;
	size_t n;
	struct add {
		struct iov bucket, key, vid, peer, dest, rule;
	} adds[ADD_BATCH];
	struct arena *a;
	int rc;
	bool done;
};

struct repl_resync {
	const struct repl_config *cfg;
	struct meta_writer *writer;
	void (*kick)(void *);
	void *kick_arg;
	char *db_path;
	struct meta_db *rdb;
	struct auth_keycache *keys;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	atomic_bool stopping; /* stop, readable without the mutex (curl callbacks) */
	struct resync_req queue[RESYNC_QUEUE_MAX];
	size_t nqueue;
	/* status (mu) */
	char running[2 * META_NAME_MAX + 8];
	char last[256];
	uint64_t queued_total;
	uint64_t runs;
	/* The resync thread's own: why the last listing request failed, and
	 * each peer's last health check failure over TLS (logged on change). */
	char why[REPL_REASON_MAX];
	char watch_tls[REPL_PEERS_MAX][REPL_REASON_MAX];
};

/* ---- writer batches ---- */

static int add_run(struct meta_db *db, void *arg)
{
	struct add_job *j = arg;
	int64_t now = repl__wall_ms();
	for (size_t i = 0; i < j->n; i++) {
		const struct add *d = &j->adds[i];
		int rc =
		    meta_outbox_add(db, d->bucket, d->key, d->vid, d->peer, d->dest, d->rule, now);
		/* A version deleted meanwhile has nothing left to send. */
		if (rc && rc != ERR_META_NO_SUCH_VERSION)
			return rc;
	}
	return 0;
}

static void add_done(void *arg, int rc)
{
	struct add_job *j = arg;
	pthread_mutex_lock(&j->r->mu);
	j->rc = rc;
	j->done = true;
	pthread_cond_broadcast(&j->r->cv);
	pthread_mutex_unlock(&j->r->mu);
}

/* Hand the batch to the writer and wait for its commit (backpressure). */
static int add_flush(struct repl_resync *r, struct add_job *j)
{
	if (!j->n)
		return 0;
	j->job = (struct meta_job){ .run = add_run, .done = add_done, .arg = j };
	j->done = false;
	int rc;
	while ((rc = meta_writer_submit(r->writer, &j->job)) == ERR_META_BUSY) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (rc)
		return rc;
	pthread_mutex_lock(&r->mu);
	while (!j->done)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	rc = j->rc;
	r->queued_total += j->n;
	j->n = 0;
	arena_reset(j->a);
	if (r->kick)
		r->kick(r->kick_arg);
	return rc;
}

static int add_one(struct repl_resync *r, struct add_job *j, const struct meta_peer_rule *rule,
                   struct iov peer, struct iov key, struct iov vid)
{
	struct add *d = &j->adds[j->n];
	d->bucket = arena_dup(j->a, rule->bucket);
	d->key = arena_dup(j->a, key);
	d->vid = arena_dup(j->a, vid);
	d->peer = arena_dup(j->a, peer);
	d->dest = arena_dup(j->a, rule->dest_bucket);
	d->rule = arena_dup(j->a, rule->rule_id);
	if (!d->bucket.base || !d->key.base || !d->vid.base || !d->peer.base || !d->dest.base ||
	    !d->rule.base)
		return ERR_NOMEM;
	return ++j->n == ADD_BATCH ? add_flush(r, j) : 0;
}

/* ---- the peer's side ---- */

/* curl's progress callback: a stop aborts a listing or a health check at
 * once instead of after its timeout. */
static int still_wanted(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct repl_resync *r = arg;
	return atomic_load(&r->stopping) ? 1 : 0;
}

static void abort_on_stop(CURL *h, struct repl_resync *r)
{
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, still_wanted);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
}

struct body {
	char *p;
	size_t n, cap;
	bool over;
};

static size_t keep(char *src, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	if (b->n + n > b->cap) {
		b->over = true;
		return 0;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
	return n;
}

/* One page of the peer's versions of dest under prefix after the markers.
 * 0, ERR_NOT_FOUND (no such bucket there), ERR_IO (unreachable), or an ERR_*. */
static int peer_page(struct repl_resync *r, const struct repl_peer *pc, struct iov dest,
                     struct iov prefix, struct iov key_marker, struct iov vid_marker,
                     struct body *body, struct arena *a, struct repl_list *out)
{
	/* The query in canonical order (names sorted), values encoded. */
	struct buf q;
	buf_init(&q, 8192);
	int rc = 0;
	if (key_marker.len) {
		rc = buf_add_str(&q, "key-marker=");
		if (!rc)
			rc = auth_uri_encode(&q, key_marker, false);
		if (!rc)
			rc = buf_add_char(&q, '&');
	}
	if (!rc)
		rc = buf_printf(&q, "max-keys=%d&prefix=", PAGE);
	if (!rc)
		rc = auth_uri_encode(&q, prefix, false);
	if (!rc && key_marker.len) {
		rc = buf_add_str(&q, "&version-id-marker=");
		if (!rc)
			rc = auth_uri_encode(&q, vid_marker, false);
	}
	if (!rc)
		rc = buf_add_str(&q, "&versions=");
	struct iov query = rc ? IOV_NULL : arena_dup(a, buf_iov(&q));
	buf_free(&q);
	struct iov path = repl__path(a, dest, IOV_NULL);
	if (!path.base || !query.base)
		return ERR_NOMEM;
	CURL *h = curl_easy_init();
	if (!h)
		return ERR_NOMEM;
	struct repl_req rq = { 0 };
	struct repl_headers hs = { .n = 0 };
	rc = repl__prepare(h, pc, IOV_LIT("GET"), path, query, &hs, IOV_LIT(AUTH_EMPTY_SHA256),
	                   r->keys, a, &rq);
	long status = 0;
	if (rc == 0) {
		body->n = 0;
		body->over = false;
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
		abort_on_stop(h, r);
		CURLcode cr = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (body->over)
			rc = ERR_TOO_BIG;
		else if (cr != CURLE_OK || status >= 500 || status == 0)
			rc = ERR_IO;
		if (rc == ERR_IO)
			repl__reason(cr, &rq, status, r->why, sizeof(r->why));
		else if (status == 404)
			rc = ERR_NOT_FOUND;
		else if (status != 200)
			rc = ERR_INVALID;
		else
			rc = repl_list_parse(iov_make(body->p, body->n), a, out);
	}
	curl_easy_cleanup(h);
	repl__req_free(&rq);
	return rc;
}

/* peer_page with retries over an outage. */
static int peer_page_retry(struct repl_resync *r, const struct repl_peer *pc, struct iov dest,
                           struct iov prefix, struct iov km, struct iov vm, struct body *body,
                           struct arena *a, struct repl_list *out)
{
	int rc = ERR_IO;
	for (int t = 0; t < PAGE_TRIES && rc == ERR_IO; t++) {
		/* Wait 1, 2, 4, ... s between tries; a stop ends the wait. */
		pthread_mutex_lock(&r->mu);
		if (t && !r->stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1 << (t - 1);
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		bool stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			return ERR_NET_CANCELED;
		rc = peer_page(r, pc, dest, prefix, km, vm, body, a, out);
	}
	return rc;
}

/* ---- the walk ---- */

struct remote {
	struct repl_list page;
	size_t i;
	bool done;
	struct arena *a;
};

static int resync_rule(struct repl_resync *r, const struct repl_peer *pc,
                       const struct meta_peer_rule *rule, struct add_job *j, uint64_t *queued)
{
	struct arena *la = arena_new(64u << 20), *ra = arena_new(64u << 20);
	struct body body = { malloc(LIST_BODY_CAP), 0, LIST_BODY_CAP, false };
	struct remote rem = { .a = ra };
	int rc = (!la || !ra || !body.p) ? ERR_NOMEM : 0;
	struct meta_list_args args = { .prefix = rule->prefix, .max = PAGE };
	struct meta_list local = { 0 };
	size_t li = 0;
	bool local_done = false;
	struct iov peer = iov_cstr(pc->name);
	/* Remote versions of the current key (small: a key's versions). */
	struct iov cur_key = IOV_NULL;
	char *cur_key_buf = malloc(META_KEY_MAX);
	struct iov *have = NULL;
	size_t nhave = 0, cap_have = 0;
	if (!cur_key_buf)
		rc = ERR_NOMEM;
	if (rc == 0) {
		rc = peer_page_retry(r, pc, rule->dest_bucket, rule->prefix, IOV_NULL, IOV_NULL,
		                     &body, ra, &rem.page);
		if (rc == 0)
			rem.done = rem.page.n == 0 && !rem.page.truncated;
	}
	while (rc == 0) {
		if (li == (local.nobjects)) {
			if (local_done || (li && !local.truncated))
				break;
			arena_reset(la);
			if (li) {
				args.marker = arena_dup(la, local.next_marker);
				args.sub_marker = arena_dup(la, local.next_sub_marker);
			}
			memset(&local, 0, sizeof(local));
			rc = meta_list_versions(r->rdb, rule->bucket, &args, la, &local);
			li = 0;
			if (rc || local.nobjects == 0) {
				local_done = true;
				break;
			}
		}
		const struct meta_object *o = &local.objects[li++];
		if ((o->is_delete_marker && !rule->delete_markers) ||
		    iov_eq(iov_cstr(o->version_id), IOV_LIT("null")))
			continue;
		if (!cur_key.base || !iov_eq(cur_key, o->key)) {
			/* Collect the peer's versions of this key. */
			memcpy(cur_key_buf, o->key.base, o->key.len);
			cur_key = iov_make(cur_key_buf, o->key.len);
			for (size_t k = 0; k < nhave; k++)
				free((void *)have[k].base);
			nhave = 0;
			while (rc == 0 && !rem.done) {
				if (rem.i == rem.page.n) {
					if (!rem.page.truncated) {
						rem.done = true;
						break;
					}
					char km[REPL_LIST_TEXT_MAX], vm[REPL_LIST_TEXT_MAX];
					size_t kn = rem.page.next_key.len,
					       vn = rem.page.next_vid.len;
					memcpy(km, rem.page.next_key.base, kn);
					memcpy(vm, rem.page.next_vid.base, vn);
					arena_reset(ra);
					rem.i = 0;
					rc = peer_page_retry(r, pc, rule->dest_bucket, rule->prefix,
					                     iov_make(km, kn), iov_make(vm, vn),
					                     &body, ra, &rem.page);
					continue;
				}
				const struct repl_list_entry *e = &rem.page.entries[rem.i];
				int c = iov_cmp(e->key, cur_key);
				if (c > 0)
					break;
				rem.i++;
				if (c < 0)
					continue;
				if (nhave == cap_have) {
					size_t ncap = cap_have ? 2 * cap_have : 16;
					struct iov *nh = realloc(have, ncap * sizeof(*nh));
					if (!nh) {
						rc = ERR_NOMEM;
						break;
					}
					have = nh;
					cap_have = ncap;
				}
				char *v = malloc(e->version_id.len ? e->version_id.len : 1);
				if (!v) {
					rc = ERR_NOMEM;
					break;
				}
				memcpy(v, e->version_id.base, e->version_id.len);
				have[nhave++] = iov_make(v, e->version_id.len);
			}
		}
		bool there = false;
		for (size_t k = 0; k < nhave && !there; k++)
			there = iov_eq(have[k], iov_cstr(o->version_id));
		if (!there && rc == 0) {
			rc = add_one(r, j, rule, peer, o->key, iov_cstr(o->version_id));
			(*queued)++;
		}
	}
	if (rc == 0)
		rc = add_flush(r, j);
	for (size_t k = 0; k < nhave; k++)
		free((void *)have[k].base);
	free(have);
	free(cur_key_buf);
	free(body.p);
	arena_free(la);
	arena_free(ra);
	return rc;
}

static void set_last(struct repl_resync *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_last(struct repl_resync *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&r->mu);
	vsnprintf(r->last, sizeof(r->last), fmt, ap);
	pthread_mutex_unlock(&r->mu);
	va_end(ap);
	fprintf(stderr, "repl: %s\n", r->last);
}

static void resync_one(struct repl_resync *r, const struct resync_req *q)
{
	const struct repl_peer *pc = repl_config_peer_by_name(r->cfg, iov_cstr(q->peer));
	if (!pc)
		return;
	pthread_mutex_lock(&r->mu);
	snprintf(r->running, sizeof(r->running), "%s -> %s", q->bucket[0] ? q->bucket : "*",
	         q->peer);
	r->runs++;
	pthread_mutex_unlock(&r->mu);
	struct arena *a = arena_new(16u << 20);
	struct add_job *j = calloc(1, sizeof(*j));
	struct meta_peer_rule *rules = NULL;
	size_t n = 0;
	int rc = (!a || !j || !(j->a = arena_new(ADD_BATCH * (2 * META_KEY_MAX + 512))))
	             ? ERR_NOMEM
	             : meta_repl_rules_for_peer(r->rdb, iov_cstr(q->peer), a, &rules, &n);
	if (j)
		j->r = r;
	uint64_t queued = 0;
	size_t done = 0;
	r->why[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (q->bucket[0] && !iov_eq(rules[i].bucket, iov_cstr(q->bucket)))
			continue;
		rc = resync_rule(r, pc, &rules[i], j, &queued);
		done++;
	}
	if (rc == ERR_IO && r->why[0]) /* the peer did not answer: say why */
		set_last(r, "resync %s -> %s failed: %s: %s (%" PRIu64 " versions queued)",
		         q->bucket[0] ? q->bucket : "*", q->peer, err_text(rc), r->why, queued);
	else if (rc)
		set_last(r, "resync %s -> %s failed: %s (%" PRIu64 " versions queued)",
		         q->bucket[0] ? q->bucket : "*", q->peer, err_text(rc), queued);
	else
		set_last(r, "resync %s -> %s: %zu rules walked, %" PRIu64 " versions queued",
		         q->bucket[0] ? q->bucket : "*", q->peer, done, queued);
	pthread_mutex_lock(&r->mu);
	r->running[0] = '\0';
	pthread_mutex_unlock(&r->mu);
	if (j)
		arena_free(j->a);
	free(j);
	arena_free(a);
}

/* ---- peer watch ---- */

struct sid {
	int64_t id;
	bool got;
};

static size_t read_header(char *line, size_t size, size_t nitems, void *arg)
{
	struct sid *s = arg;
	size_t n = size * nitems, hl = strlen(S3_STORE_ID_HEADER);
	if (n > hl + 1 && strncasecmp(line, S3_STORE_ID_HEADER ":", hl + 1) == 0) {
		char tmp[32];
		size_t vl = n - hl - 1 < sizeof(tmp) - 1 ? n - hl - 1 : sizeof(tmp) - 1;
		memcpy(tmp, line + hl + 1, vl);
		tmp[vl] = '\0';
		char *end;
		long long v = strtoll(tmp, &end, 10);
		if (end != tmp && v > 0) {
			s->id = v;
			s->got = true;
		}
	}
	return n;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p, (void)arg;
	return size * nmemb;
}

struct peer_set_job {
	struct meta_job job;
	struct repl_resync *r;
	struct iov name;
	int64_t id;
	int rc;
	bool done;
};

static int peer_set_run(struct meta_db *db, void *arg)
{
	struct peer_set_job *j = arg;
	return meta_repl_peer_set(db, j->name, j->id);
}

static void peer_set_done(void *arg, int rc)
{
	struct peer_set_job *j = arg;
	pthread_mutex_lock(&j->r->mu);
	j->rc = rc;
	j->done = true;
	pthread_cond_broadcast(&j->r->cv);
	pthread_mutex_unlock(&j->r->mu);
}

/* A health check's TLS outcome for peer i: a refused certificate is logged
 * once per change (the sender logs it too, but only when it has something
 * to send); "" when the check got through TLS. */
static void watch_tls(struct repl_resync *r, size_t i, CURLcode cr, const struct repl_req *q)
{
	char why[REPL_REASON_MAX] = "";
	if (repl__tls_failure(cr))
		repl__reason(cr, q, 0, why, sizeof(why));
	if (strcmp(why, r->watch_tls[i]) == 0)
		return;
	if (why[0])
		fprintf(stderr, "repl: peer %s health check failed: %s\n", r->cfg->peers[i].name,
		        why);
	memcpy(r->watch_tls[i], why, sizeof(why));
}

static void watch(struct repl_resync *r, struct arena *a)
{
	for (size_t i = 0; i < r->cfg->npeers && i < REPL_PEERS_MAX; i++) {
		const struct repl_peer *pc = &r->cfg->peers[i];
		CURL *h = curl_easy_init();
		if (!h)
			return;
		arena_reset(a);
		struct repl_req q = { 0 };
		struct sid s = { 0, false };
		if (repl__peer_curl(h, pc, IOV_LIT(S3_HEALTH_PATH), a, &q)) {
			curl_easy_cleanup(h);
			repl__req_free(&q);
			continue;
		}
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		abort_on_stop(h, r);
		CURLcode cr = curl_easy_perform(h);
		curl_easy_cleanup(h);
		if (!atomic_load(&r->stopping))
			watch_tls(r, i, cr, &q);
		repl__req_free(&q);
		if (cr != CURLE_OK || !s.got)
			continue;
		int64_t seen = 0;
		if (meta_repl_peer_get(r->rdb, iov_cstr(pc->name), &seen) || seen == s.id)
			continue;
		struct peer_set_job j = { .r = r, .name = iov_cstr(pc->name), .id = s.id };
		j.job = (struct meta_job){ .run = peer_set_run, .done = peer_set_done, .arg = &j };
		if (meta_writer_submit(r->writer, &j.job))
			continue;
		pthread_mutex_lock(&r->mu);
		while (!j.done)
			pthread_cond_wait(&r->cv, &r->mu);
		pthread_mutex_unlock(&r->mu);
		if (j.rc || seen == 0 || !r->cfg->resync_on_empty)
			continue;
		fprintf(stderr,
		        "repl: peer %s has new data (store id %" PRId64 ", was %" PRId64
		        "): resyncing every bucket with rules toward it\n",
		        pc->name, s.id, seen);
		repl__resync_request(r, IOV_NULL, iov_cstr(pc->name));
	}
}

static void *resync_main(void *arg)
{
	struct repl_resync *r = arg;
	int64_t next_watch = 0;
	struct arena *wa = arena_new(4096);
	CHECK(wa);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		if (r->nqueue) {
			struct resync_req q = r->queue[0];
			memmove(r->queue, r->queue + 1, (r->nqueue - 1) * sizeof(r->queue[0]));
			r->nqueue--;
			pthread_mutex_unlock(&r->mu);
			resync_one(r, &q);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		int64_t now = repl__wall_ms();
		if (now >= next_watch) {
			pthread_mutex_unlock(&r->mu);
			watch(r, wa);
			next_watch = repl__wall_ms() + WATCH_MS;
			pthread_mutex_lock(&r->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wake = next_watch;
		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000;
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	arena_free(wa);
	return NULL;
}

int repl__resync_request(struct repl_resync *r, struct iov bucket, struct iov peer)
{
	if (!repl_config_peer_by_name(r->cfg, peer))
		return ERR_NOT_FOUND;
	if (bucket.len > META_NAME_MAX)
		return ERR_INVALID;
	pthread_mutex_lock(&r->mu);
	int rc = 0;
	for (size_t i = 0; i < r->nqueue; i++)
		if (iov_eq(iov_cstr(r->queue[i].peer), peer) &&
		    (!r->queue[i].bucket[0] || iov_eq(iov_cstr(r->queue[i].bucket), bucket)))
			goto out; /* already waiting: one run serves both */
	if (r->nqueue == RESYNC_QUEUE_MAX) {
		rc = ERR_META_BUSY;
		goto out;
	}
	struct resync_req *q = &r->queue[r->nqueue++];
	memset(q, 0, sizeof(*q));
	memcpy(q->bucket, bucket.base ? bucket.base : "", bucket.len);
	memcpy(q->peer, peer.base, peer.len);
	pthread_cond_broadcast(&r->cv);
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int repl__resync_status(struct repl_resync *r, struct buf *json)
{
	pthread_mutex_lock(&r->mu);
	int rc = buf_printf(json,
	                    "{\"running\": \"%s\", \"waiting\": %zu, \"runs\": %" PRIu64
	                    ", \"queued_total\": %" PRIu64 ", \"last\": \"",
	                    r->running, r->nqueue, r->runs, r->queued_total);
	for (const char *c = r->last; rc == 0 && *c; c++)
		rc = (*c == '"' || *c == '\\') ? buf_printf(json, "\\%c", *c)
		                               : buf_add_char(json, *c);
	if (rc == 0)
		rc = buf_add_str(json, "\"}");
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static void resync_free(struct repl_resync *r)
{
	meta_db_close(r->rdb);
	auth_keycache_free(r->keys);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->db_path);
	free(r);
}

int repl__resync_start(const struct repl_config *cfg, const char *db_path,
                       struct meta_writer *writer, void (*kick)(void *), void *kick_arg,
                       struct repl_resync **out)
{
	*out = NULL;
	struct repl_resync *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->cfg = cfg;
	r->writer = writer;
	r->kick = kick;
	r->kick_arg = kick_arg;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	struct meta_db_opts ro = { .query_only = true };
	int rc = meta_db_open(db_path, &ro, &r->rdb);
	r->keys = auth_keycache_new(16);
	if (rc == 0 && !r->keys)
		rc = ERR_NOMEM;
	if (rc == 0 && pthread_create(&r->thread, NULL, resync_main, r))
		rc = ERR_INTERNAL;
	if (rc) {
		resync_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void repl__resync_stop(struct repl_resync *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	atomic_store(&r->stopping, true);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	resync_free(r);
}
