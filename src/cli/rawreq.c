/* Raw request files for the CLI and tests. Pure; any thread. */
#include "cli/rawreq.h"

#include <string.h>

#include "base/err.h"

/* Next line without its terminator (LF or CRLF); false at the end of input. */
static bool next_line(struct iov *rest, struct iov *line, bool *ended)
{
	if (rest->len == 0)
		return false;
	const char *nl = memchr(rest->base, '\n', rest->len);
	size_t len = nl ? (size_t)(nl - rest->base) : rest->len;
	*line = iov_make(rest->base, len);
	if (line->len && line->base[line->len - 1] == '\r')
		line->len--;
	*ended = nl != NULL;
	size_t skip = nl ? len + 1 : len;
	*rest = iov_make(rest->base + skip, rest->len - skip);
	return true;
}

static int bad(struct rawreq *r, int code, const char *why)
{
	r->why = why;
	return code;
}

static int parse_request_line(struct iov line, struct rawreq *r)
{
	/* METHOD SP target SP HTTP/1.x; the target may hold raw spaces (vectors). */
	struct iov rest = iov_split(line, ' ', &r->method);
	if (!rest.base || r->method.len == 0)
		return bad(r, ERR_INVALID, "the request line has no method");
	const char *sp = NULL;
	for (size_t i = rest.len; i-- > 0;) {
		if (rest.base[i] == ' ') {
			sp = rest.base + i;
			break;
		}
	}
	if (!sp || !iov_starts(iov_make(sp + 1, (size_t)(rest.base + rest.len - sp - 1)),
	                       IOV_LIT("HTTP/1.")))
		return bad(r, ERR_INVALID, "the request line does not end in HTTP/1.x");
	r->target = iov_make(rest.base, (size_t)(sp - rest.base));
	if (r->target.len == 0 || r->target.base[0] != '/')
		return bad(r, ERR_INVALID, "the request target must start with '/'");
	r->query = iov_split(r->target, '?', &r->path);
	if (!r->query.base)
		r->query = iov_make(r->target.base + r->target.len, 0);
	return 0;
}

/* Append "\n" + line to the last header's value, copying into fold_store. */
static int fold(struct rawreq *r, struct iov line)
{
	struct auth_header *h = &r->headers[r->nheaders - 1];
	size_t need = h->value.len + 1 + line.len;
	if (need > sizeof(r->fold_store) - r->fold_used)
		return bad(r, ERR_TOO_BIG, "folded header too long");
	char *dst = r->fold_store + r->fold_used;
	memmove(dst, h->value.base, h->value.len);
	dst[h->value.len] = '\n';
	memcpy(dst + h->value.len + 1, line.base, line.len);
	h->value = iov_make(dst, need);
	r->fold_used += need;
	return 0;
}

int rawreq_parse(struct iov in, enum rawreq_mode mode, struct rawreq *r)
{
	struct iov rest = in, line;
	bool ended = false;
	int rc;

	memset(r, 0, offsetof(struct rawreq, fold_store));
	r->fold_used = 0;
	r->why = NULL;
	if (!next_line(&rest, &line, &ended))
		return bad(r, ERR_INVALID, "empty request");
	if ((rc = parse_request_line(line, r)))
		return rc;
	for (;;) {
		if (!next_line(&rest, &line, &ended) || line.len == 0)
			break;
		if (line.base[0] == ' ' || line.base[0] == '\t') {
			if (mode != RAWREQ_VECTOR || r->nheaders == 0)
				return bad(r, ERR_INVALID, "obsolete line folding is not allowed");
			if ((rc = fold(r, line)))
				return rc;
			continue;
		}
		struct iov name, value = iov_split(line, ':', &name);
		if (!value.base || name.len == 0)
			return bad(r, ERR_INVALID, "a header line has no ':'");
		if (name.base[name.len - 1] == ' ' || name.base[name.len - 1] == '\t')
			return bad(r, ERR_INVALID, "whitespace before ':' in a header");
		if (r->nheaders == RAWREQ_MAX_HEADERS)
			return bad(r, ERR_TOO_BIG, "too many headers");
		if (mode == RAWREQ_HTTP)
			value = iov_trim(value);
		r->headers[r->nheaders++] = (struct auth_header){ name, value };
	}
	r->body = rest;
	return 0;
}

struct auth_request rawreq_view(const struct rawreq *r)
{
	return (struct auth_request){
		.method = r->method,
		.path = r->path,
		.query = r->query,
		.headers = r->headers,
		.nheaders = r->nheaders,
	};
}
