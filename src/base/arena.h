/*
 * Request arenas: many small allocations freed together when the request
 * ends (after nginx pools and h2o's mem pool). Capped: an allocation that
 * would take the arena past its max returns NULL. Single owner.
 */
#ifndef MERIDIAN_BASE_ARENA_H
#define MERIDIAN_BASE_ARENA_H

#include <stddef.h>

#include "base/iov.h"

struct arena;

/* An arena that may hold up to `max` bytes. NULL on allocation failure. */
struct arena *arena_new(size_t max);
void arena_free(struct arena *a);
/* Free everything allocated so far; keeps the first block for reuse. */
void arena_reset(struct arena *a);
/* `n` bytes aligned for any type, or NULL (over the cap or out of memory). */
void *arena_alloc(struct arena *a, size_t n);
/* A copy of `s` (not NUL-terminated) or IOV_NULL on failure. */
struct iov arena_dup(struct arena *a, struct iov s);
/* printf into the arena; the result is NUL-terminated too. IOV_NULL on failure. */
struct iov arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t arena_used(const struct arena *a);

#endif
