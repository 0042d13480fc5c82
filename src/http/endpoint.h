/*
 * Where a server is, as config files write it: a numeric "ip:port" /
 * "[ipv6]:port" connect address (router regions, edge origins and
 * listeners) and an "http://host[:port]" endpoint URL (replication peers).
 * One parser for every config schema, so they all accept the same forms.
 * Pure; any thread. Inputs are slices, never written, need no NUL.
 */
#ifndef MERIDIAN_HTTP_ENDPOINT_H
#define MERIDIAN_HTTP_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/iov.h"

#define HTTP_ENDPOINT_HOST_MAX  253 /* a DNS name */
#define HTTP_ENDPOINT_LABEL_MAX 63  /* one DNS label */
#define HTTP_ENDPOINT_ADDR_MAX  64  /* bytes of an ip:port text we look at */

/*
 * "ip:port" or "[ipv6]:port": a numeric IPv4 (inet_pton's dotted quad) or
 * bracketed IPv6 address and a port of 1..5 plain digits in 1..65535 (0 too
 * with `port0`). No names, no spaces or signs. When `ss` is not NULL it gets
 * the address (and *sslen its size), for comparing two endpoints as
 * addresses. 0 or ERR_INVALID.
 */
int http_endpoint_addr(struct iov v, bool port0, struct sockaddr_storage *ss, unsigned *sslen);

/* A DNS host name: '.'-separated labels of 1..63 ASCII letters, digits and
 * '-' (not first or last in a label), at most 253 bytes in all. */
bool http_endpoint_dns_name(struct iov v);

struct http_endpoint {
	bool https;      /* "https://", else "http://" */
	bool ip;         /* host is a numeric IPv4 or IPv6 address */
	bool ipv6;       /* host was written in brackets */
	bool port_given; /* the URL has an explicit port */
	uint16_t port;   /* the explicit one, else 80 / 443 */
	struct iov host; /* borrowed from the input: lowercase not enforced;
	                    an IPv6 address without its brackets */
};

/*
 * An endpoint URL: "http://" or "https://" (lowercase), then a host (a DNS
 * name, a dotted IPv4 address or a bracketed IPv6 address), an optional
 * ":port" (1..5 digits, 1..65535) and at most one final '/'. Refused:
 * userinfo, a path, a query, a fragment, an empty host or port, a name
 * whose last label is all digits (a malformed IPv4 address). 0 with *out
 * filled (slices into `url`), or ERR_INVALID with *out untouched.
 */
int http_endpoint_parse(struct iov url, struct http_endpoint *out);

#endif
