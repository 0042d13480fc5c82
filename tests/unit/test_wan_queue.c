/*
 * The relay's delay queue with a fake clock: chunks come out only when due,
 * in arrival order even when a later chunk has a shorter delay (jitter, or a
 * delay lowered at run time), the end marker comes after every chunk, and
 * the byte count tracks what is held.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "wan/queue.h"

static void pop_expect(struct wan_queue *q, uint64_t now, const char *want)
{
	struct wan_chunk *c = NULL;
	assert_int_equal(wan_queue_pop(q, now, &c), 0);
	assert_int_equal(c->len, strlen(want));
	assert_memory_equal(c->data, want, c->len);
	wan_chunk_free(c);
}

static void chunks_wait_for_their_time(void **state)
{
	(void)state;
	struct wan_queue q;
	struct wan_chunk *c;
	uint64_t due;
	wan_queue_init(&q);
	assert_int_equal(wan_queue_next_due(&q, &due), ERR_AGAIN);
	assert_int_equal(wan_queue_pop(&q, 1000, &c), ERR_AGAIN);
	assert_int_equal(wan_queue_push(&q, 1000, 50, "abc", 3), 0);
	assert_int_equal(wan_queue_push(&q, 1010, 50, "de", 2), 0);
	assert_int_equal(wan_queue_bytes(&q), 5);
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 1050);
	assert_int_equal(wan_queue_pop(&q, 1049, &c), ERR_AGAIN);
	pop_expect(&q, 1050, "abc");
	assert_int_equal(wan_queue_bytes(&q), 2);
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 1060);
	assert_int_equal(wan_queue_pop(&q, 1059, &c), ERR_AGAIN);
	pop_expect(&q, 5000, "de");
	assert_int_equal(wan_queue_bytes(&q), 0);
	assert_false(wan_queue_has_chunks(&q));
	assert_int_equal(wan_queue_next_due(&q, &due), ERR_AGAIN);
}

static void never_reorders(void **state)
{
	(void)state;
	struct wan_queue q;
	struct wan_chunk *c;
	uint64_t due;
	wan_queue_init(&q);
	/* Jitter gave the first chunk 90 ms, the second 10: the second waits. */
	assert_int_equal(wan_queue_push(&q, 0, 90, "first", 5), 0);
	assert_int_equal(wan_queue_push(&q, 1, 10, "second", 6), 0);
	assert_int_equal(wan_queue_pop(&q, 11, &c), ERR_AGAIN);
	assert_int_equal(wan_queue_pop(&q, 89, &c), ERR_AGAIN);
	pop_expect(&q, 90, "first");
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 90);
	pop_expect(&q, 90, "second");
	/* A delay lowered later applies once the queue has caught up. */
	assert_int_equal(wan_queue_push(&q, 200, 5, "x", 1), 0);
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 205);
	pop_expect(&q, 205, "x");
}

static void end_follows_the_data(void **state)
{
	(void)state;
	struct wan_queue q;
	uint64_t due;
	wan_queue_init(&q);
	assert_false(wan_queue_at_end(&q, 1000000));
	assert_int_equal(wan_queue_push(&q, 100, 40, "tail", 4), 0);
	assert_int_equal(wan_queue_push_eof(&q, 100, 0), 0); /* lower delay: still after */
	assert_int_equal(wan_queue_push_eof(&q, 100, 0), ERR_INVALID);
	assert_int_equal(wan_queue_push(&q, 101, 0, "late", 4), ERR_INVALID);
	assert_false(wan_queue_at_end(&q, 1000)); /* a chunk is still queued */
	pop_expect(&q, 140, "tail");
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 140);
	assert_false(wan_queue_at_end(&q, 139));
	assert_true(wan_queue_at_end(&q, 140));
}

static void end_alone_waits_its_delay(void **state)
{
	(void)state;
	struct wan_queue q;
	wan_queue_init(&q);
	assert_int_equal(wan_queue_push_eof(&q, 10, 25), 0);
	assert_false(wan_queue_at_end(&q, 34));
	assert_true(wan_queue_at_end(&q, 35));
}

static void clear_frees_and_refuses_empty(void **state)
{
	(void)state;
	struct wan_queue q;
	wan_queue_init(&q);
	assert_int_equal(wan_queue_push(&q, 0, 0, "", 0), ERR_INVALID);
	for (int i = 0; i < 100; i++)
		assert_int_equal(wan_queue_push(&q, (uint64_t)i, 7, "0123456789", 10), 0);
	assert_int_equal(wan_queue_bytes(&q), 1000);
	wan_queue_clear(&q);
	assert_int_equal(wan_queue_bytes(&q), 0);
	assert_false(wan_queue_has_chunks(&q));
	/* Still usable, and still ordered after what was cleared. */
	assert_int_equal(wan_queue_push(&q, 0, 0, "z", 1), 0);
	uint64_t due;
	assert_int_equal(wan_queue_next_due(&q, &due), 0);
	assert_int_equal(due, 99 + 7);
	wan_queue_clear(&q);
	wan_chunk_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chunks_wait_for_their_time),
		cmocka_unit_test(never_reorders),
		cmocka_unit_test(end_follows_the_data),
		cmocka_unit_test(end_alone_waits_its_delay),
		cmocka_unit_test(clear_frees_and_refuses_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
