/*
 * The per-direction delay queue (wan/queue.h). Pure; one thread at a time
 * per queue.
 */
#include "wan/queue.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void wan_queue_init(struct wan_queue *q)
{
	memset(q, 0, sizeof(*q));
}

/* Due times never go back: a shorter delay (or less jitter) than the
 * previous chunk's waits behind it rather than overtaking it. */
static uint64_t stamp(struct wan_queue *q, uint64_t now, uint64_t delay_ms)
{
	uint64_t due = now + delay_ms;
	if (due < q->last_due)
		due = q->last_due;
	q->last_due = due;
	return due;
}

int wan_queue_push(struct wan_queue *q, uint64_t now, uint64_t delay_ms, const char *p, size_t n)
{
	if (q->eof || n == 0)
		return ERR_INVALID;
	struct wan_chunk *c = malloc(sizeof(*c) + n);
	if (!c)
		return ERR_NOMEM;
	c->next = NULL;
	c->len = n;
	memcpy(c->data, p, n);
	c->due = stamp(q, now, delay_ms);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += n;
	return 0;
}

int wan_queue_push_eof(struct wan_queue *q, uint64_t now, uint64_t delay_ms)
{
	if (q->eof)
		return ERR_INVALID;
	q->eof = true;
	q->eof_due = stamp(q, now, delay_ms);
	return 0;
}

int wan_queue_next_due(const struct wan_queue *q, uint64_t *due)
{
	if (q->head) {
		*due = q->head->due;
		return 0;
	}
	if (q->eof) {
		*due = q->eof_due;
		return 0;
	}
	return ERR_AGAIN;
}

int wan_queue_pop(struct wan_queue *q, uint64_t now, struct wan_chunk **out)
{
	struct wan_chunk *c = q->head;
	if (!c || c->due > now)
		return ERR_AGAIN;
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= c->len;
	c->next = NULL;
	*out = c;
	return 0;
}

bool wan_queue_at_end(const struct wan_queue *q, uint64_t now)
{
	return !q->head && q->eof && q->eof_due <= now;
}

void wan_queue_clear(struct wan_queue *q)
{
	struct wan_chunk *c = q->head;
	while (c) {
		struct wan_chunk *next = c->next;
		free(c);
		c = next;
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
}

void wan_chunk_free(struct wan_chunk *c)
{
	free(c);
}
