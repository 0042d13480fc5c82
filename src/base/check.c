/* Invariant failure: report and abort. Any thread. */
#include "base/check.h"

#include <stdio.h>
#include <stdlib.h>

void check_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "meridian: invariant failed at %s:%d: %s\n", file, line, expr);
	abort();
}
