/*
 * Invariant checks that stay on in release builds (after varnish vas.h).
 * CHECK() is for programming errors only; bad input is an error return,
 * never a CHECK. Long-lived structs carry a magic number checked with
 * CHECK_MAGIC at module boundaries.
 */
#ifndef MERIDIAN_BASE_CHECK_H
#define MERIDIAN_BASE_CHECK_H

_Noreturn void check_fail(const char *file, int line, const char *expr);

#define CHECK(e)                                            \
	do {                                                \
		if (__builtin_expect(!(e), 0))              \
			check_fail(__FILE__, __LINE__, #e); \
	} while (0)

#define CHECK_MAGIC(p, m) CHECK((p) != NULL && (p)->magic == (m))

#endif
