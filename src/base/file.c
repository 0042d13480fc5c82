/* base/file: see file.h. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"

int file_read(const char *path, size_t cap, char **data, size_t *len, char *err, size_t errlen)
{
	*data = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errlen)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return ERR_IO;
	}
	char *p = malloc(cap + 2);
	if (!p) {
		close(fd);
		return ERR_NOMEM;
	}
	size_t n = 0;
	while (n <= cap) {
		ssize_t r = read(fd, p + n, cap + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errlen)
				snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(p);
			close(fd);
			return ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}

int file_mkdir_p(const char *path, unsigned mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp))
		return n ? ERR_TOO_BIG : ERR_IO;
	memcpy(tmp, path, n + 1);
	for (char *c = tmp + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
			return ERR_IO;
		*c = '/';
	}
	if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
		return ERR_IO;
	return 0;
}
