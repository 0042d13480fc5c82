/*
 * Internal to meta/: the bounded FIFO of jobs between submitting threads and
 * the writer or reader threads. Intrusive (jobs link through their `next`),
 * so submitting never allocates. Any thread; one mutex.
 */
#ifndef MERIDIAN_META_JOBQ_H
#define MERIDIAN_META_JOBQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "meta/meta-t.h"

struct meta_jobq {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct meta_job *head, *tail;
	size_t n, max;
	bool closed;
};

void meta_jobq_init(struct meta_jobq *q, size_t max);
void meta_jobq_destroy(struct meta_jobq *q);
/* Queue a job. 0, ERR_META_BUSY (max jobs waiting) or ERR_META_CLOSED. */
int meta_jobq_push(struct meta_jobq *q, struct meta_job *job);
/* Wait for jobs and take up to `most` of them, linked in FIFO order; NULL
 * once the queue is closed and empty. */
struct meta_job *meta_jobq_take(struct meta_jobq *q, size_t most);
/* Refuse new jobs; those queued are still taken. */
void meta_jobq_close(struct meta_jobq *q);

#endif
