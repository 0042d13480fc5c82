/* Invariant failure: report (with the call stack, for the log that CI
 * keeps) and abort. Any thread. */
#include "base/check.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void check_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "meridian: invariant failed at %s:%d: %s\n", file, line, expr);
	void *frames[32];
	int n = backtrace(frames, 32);
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	abort();
}
