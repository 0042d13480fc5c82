/*
 * Reading a whole small file (a config, a function's source) into memory,
 * with a cap so a wrong path (a device, a huge log) cannot take the
 * process's memory. Blocking: startup and reload threads, never a loop.
 */
#ifndef MERIDIAN_BASE_FILE_H
#define MERIDIAN_BASE_FILE_H

#include <stddef.h>

/*
 * Read at most cap + 1 bytes of `path` into a malloc'd buffer (*data, NUL
 * terminated after *len bytes; the caller frees it). *len == cap + 1 means
 * the file is larger than cap: the caller reports it (some want to say so
 * in their own words). 0, ERR_IO ("path: cannot open/read: why" in
 * err[errlen]) or ERR_NOMEM.
 */
int file_read(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen);

/* mkdir -p: path and every missing parent, each with `mode` (existing ones
 * are left as they are). 0, ERR_TOO_BIG (over PATH_MAX) or ERR_IO (errno
 * says why). */
int file_mkdir_p(const char *path, unsigned mode);

#endif
