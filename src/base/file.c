/* base/file: see file.h. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
