/* Connect addresses and endpoint URLs of config files (see endpoint.h). Pure. */
#include "http/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/err.h"

#define PORT_DIGITS_MAX 5

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1..5 plain digits, at most 65535; 0 only with `zero`. */
static bool parse_port(struct iov v, bool zero, uint16_t *out)
{
	unsigned long long p;
	if (v.len == 0 || v.len > PORT_DIGITS_MAX || iov_to_u64(v, 65535, &p) != 0 ||
	    (p == 0 && !zero))
		return false;
	*out = (uint16_t)p;
	return true;
}

/* inet_pton of `family` over a slice (copied to a bounded C string). */
static bool numeric(int family, struct iov v, void *addr)
{
	char host[HTTP_ENDPOINT_ADDR_MAX];
	if (v.len == 0 || v.len >= sizeof(host) || memchr(v.base, '\0', v.len))
		return false;
	memcpy(host, v.base, v.len);
	host[v.len] = '\0';
	return inet_pton(family, host, addr) == 1;
}

int http_endpoint_addr(struct iov v, bool port0, struct sockaddr_storage *ss, unsigned *sslen)
{
	const char *colon = NULL;
	for (size_t i = v.len; i > 0 && !colon; i--)
		if (v.base[i - 1] == ':')
			colon = v.base + i - 1;
	if (!colon || colon == v.base)
		return ERR_INVALID;
	uint16_t port;
	if (!parse_port(iov_make(colon + 1, v.len - (size_t)(colon + 1 - v.base)), port0, &port))
		return ERR_INVALID;
	struct iov host = iov_make(v.base, (size_t)(colon - v.base));
	struct sockaddr_storage tmp;
	if (!ss)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	if (host.base[0] == '[') {
		if (host.len < 3 || host.base[host.len - 1] != ']')
			return ERR_INVALID;
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (!numeric(AF_INET6, iov_sub(host, 1, host.len - 2), &a->sin6_addr))
			return ERR_INVALID;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (sslen)
			*sslen = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	if (!numeric(AF_INET, host, &a->sin_addr))
		return ERR_INVALID;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (sslen)
		*sslen = sizeof(*a);
	return 0;
}

bool http_endpoint_dns_name(struct iov v)
{
	if (v.len == 0 || v.len > HTTP_ENDPOINT_HOST_MAX)
		return false;
	struct iov rest = v;
	while (rest.base) {
		struct iov label;
		rest = iov_split(rest, '.', &label);
		if (label.len == 0 || label.len > HTTP_ENDPOINT_LABEL_MAX || label.base[0] == '-' ||
		    label.base[label.len - 1] == '-')
			return false;
		for (size_t i = 0; i < label.len; i++)
			if (!is_alnum(label.base[i]) && label.base[i] != '-')
				return false;
	}
	return true;
}

/* A name whose last label is all digits reads as a malformed IPv4
 * address ("1.2.3", "10.0.0.256"), as URL parsers take it: refused. */
static bool digits_last(struct iov host)
{
	size_t i = host.len;
	while (i > 0 && host.base[i - 1] >= '0' && host.base[i - 1] <= '9')
		i--;
	return i < host.len && (i == 0 || host.base[i - 1] == '.');
}

int http_endpoint_parse(struct iov url, struct http_endpoint *out)
{
	struct http_endpoint e = { 0 };
	if (iov_starts(url, IOV_LIT("http://"))) {
		url = iov_sub(url, 7, url.len - 7);
	} else if (iov_starts(url, IOV_LIT("https://"))) {
		e.https = true;
		url = iov_sub(url, 8, url.len - 8);
	} else {
		return ERR_INVALID;
	}
	if (url.len && url.base[url.len - 1] == '/')
		url.len--;
	/* What is left is the authority alone: host[:port]. */
	struct iov port = IOV_NULL;
	if (url.len && url.base[0] == '[') {
		const char *close = memchr(url.base, ']', url.len);
		if (!close)
			return ERR_INVALID;
		size_t hl = (size_t)(close - url.base) + 1;
		e.host = iov_sub(url, 1, hl - 2);
		struct in6_addr a6;
		if (!numeric(AF_INET6, e.host, &a6))
			return ERR_INVALID;
		e.ip = e.ipv6 = true;
		if (hl < url.len) {
			if (url.base[hl] != ':')
				return ERR_INVALID;
			port = iov_sub(url, hl + 1, url.len - hl - 1);
		}
	} else {
		port = iov_split(url, ':', &e.host);
		struct in_addr a4;
		if (numeric(AF_INET, e.host, &a4))
			e.ip = true;
		else if (!http_endpoint_dns_name(e.host) || digits_last(e.host))
			return ERR_INVALID;
	}
	e.port = e.https ? 443 : 80;
	if (port.base) {
		if (!parse_port(port, false, &e.port))
			return ERR_INVALID;
		e.port_given = true;
	}
	*out = e;
	return 0;
}
