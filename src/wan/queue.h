/*
 * The delay queue of one direction of one relayed connection: chunks of
 * bytes, each stamped with the time it is due, kept in arrival order, and
 * an optional end-of-stream marker after them. Due times never decrease (a
 * chunk is due no earlier than the one before it), so whatever the jitter
 * or a delay changed mid-stream, bytes leave in the order they came.
 *
 * Pure: the caller passes the clock (milliseconds, any monotonic origin),
 * so tests drive it with a fake one. One thread at a time per queue.
 */
#ifndef MERIDIAN_WAN_QUEUE_H
#define MERIDIAN_WAN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One queued read: owned by the queue until popped, then by the caller. */
struct wan_chunk {
	struct wan_chunk *next;
	uint64_t due;
	size_t len;
	char data[];
};

struct wan_queue {
	struct wan_chunk *head, *tail;
	size_t bytes;      /* sum of the queued chunks' lengths */
	uint64_t last_due; /* due time of the latest push: the floor for the next */
	bool eof;          /* the end was pushed */
	uint64_t eof_due;
};

void wan_queue_init(struct wan_queue *q);
/*
 * Copy n bytes (n > 0) in, due at max(now + delay_ms, the previous due).
 * 0, ERR_NOMEM, or ERR_INVALID after the end was pushed.
 */
int wan_queue_push(struct wan_queue *q, uint64_t now, uint64_t delay_ms, const char *p, size_t n);
/* Mark the end of the stream, due like a chunk pushed now. 0 or ERR_INVALID
 * (pushed twice). */
int wan_queue_push_eof(struct wan_queue *q, uint64_t now, uint64_t delay_ms);
/* When the head (a chunk, else the end marker) is due: 0, or ERR_AGAIN
 * when nothing is queued. */
int wan_queue_next_due(const struct wan_queue *q, uint64_t *due);
/* Take the head chunk if it is due at `now`: 0 with *out (the caller frees
 * it with wan_chunk_free), or ERR_AGAIN (none queued or not yet due). */
int wan_queue_pop(struct wan_queue *q, uint64_t now, struct wan_chunk **out);
/* Whether the end has been reached at `now`: every chunk popped and the end
 * marker due. */
bool wan_queue_at_end(const struct wan_queue *q, uint64_t now);
/* Whether a chunk is queued (not counting the end marker). */
static inline bool wan_queue_has_chunks(const struct wan_queue *q)
{
	return q->head != NULL;
}
static inline size_t wan_queue_bytes(const struct wan_queue *q)
{
	return q->bytes;
}
/* Free every queued chunk (the end marker stays as it was). */
void wan_queue_clear(struct wan_queue *q);
/* wan_chunk_free(NULL) is a no-op. */
void wan_chunk_free(struct wan_chunk *c);

#endif
