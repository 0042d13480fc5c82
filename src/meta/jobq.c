/* Bounded intrusive job FIFO. Any thread. */
#include "meta/jobq.h"

#include "base/check.h"
#include "base/err.h"

void meta_jobq_init(struct meta_jobq *q, size_t max)
{
	CHECK(max > 0);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->ready, NULL);
	q->head = q->tail = NULL;
	q->n = 0;
	q->max = max;
	q->closed = false;
}

void meta_jobq_destroy(struct meta_jobq *q)
{
	CHECK(q->head == NULL);
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
}

int meta_jobq_push(struct meta_jobq *q, struct meta_job *job)
{
	CHECK(job && job->run && job->done);
	job->next = NULL;
	job->rc = 0;
	pthread_mutex_lock(&q->lock);
	int rc = q->closed ? ERR_META_CLOSED : q->n == q->max ? ERR_META_BUSY : 0;
	if (!rc) {
		if (q->tail)
			q->tail->next = job;
		else
			q->head = job;
		q->tail = job;
		q->n++;
		pthread_cond_signal(&q->ready);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

struct meta_job *meta_jobq_take(struct meta_jobq *q, size_t most)
{
	CHECK(most > 0);
	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->ready, &q->lock);
	struct meta_job *first = q->head, *last = NULL;
	for (size_t i = 0; i < most && q->head; i++) {
		last = q->head;
		q->head = last->next;
		q->n--;
	}
	if (last)
		last->next = NULL;
	if (!q->head)
		q->tail = NULL;
	else
		pthread_cond_signal(&q->ready); /* another taker may proceed */
	pthread_mutex_unlock(&q->lock);
	return first;
}

void meta_jobq_close(struct meta_jobq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}
