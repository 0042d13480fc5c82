/* Capped bump allocator. Single owner. */
#include "base/arena.h"

#include <stdarg.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 4096

struct block {
	struct block *next;
	size_t size, used;
	alignas(max_align_t) char data[];
};

struct arena {
	struct block *head; /* current block; the first block is last in the list */
	size_t max, total;
};

static struct block *block_new(size_t size)
{
	struct block *b = malloc(sizeof(*b) + size);
	if (b) {
		b->next = NULL;
		b->size = size;
		b->used = 0;
	}
	return b;
}

struct arena *arena_new(size_t max)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->max = max;
	a->head = block_new(ARENA_BLOCK);
	if (!a->head) {
		free(a);
		return NULL;
	}
	return a;
}

void arena_reset(struct arena *a)
{
	struct block *b = a->head;
	while (b->next) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	b->used = 0;
	a->head = b;
	a->total = 0;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	arena_reset(a);
	free(a->head);
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	if (n > a->max - a->total)
		return NULL;
	struct block *b = a->head;
	if (b->size - b->used < n) {
		b = block_new(n > ARENA_BLOCK ? n : ARENA_BLOCK);
		if (!b)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	a->total += n;
	return p;
}

struct iov arena_dup(struct arena *a, struct iov s)
{
	char *p = arena_alloc(a, s.len ? s.len : 1);
	if (!p)
		return IOV_NULL;
	if (s.len)
		memcpy(p, s.base, s.len);
	return iov_make(p, s.len);
}

struct iov arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return IOV_NULL;
	char *p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return IOV_NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return iov_make(p, (size_t)n);
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}
