/* S3 bucket and key names, encoding-type=url. Pure; any thread. */
#include "s3/names.h"

#include <stdbool.h>

#include "auth/canon.h"
#include "base/err.h"
#include "s3/utf8.h"

static const struct iov reserved_prefixes[] = {
	IOV_LIT("xn--"),
	IOV_LIT("sthree-"), /* also covers sthree-configurator */
	IOV_LIT("amzn-s3-demo-"),
};

static const struct iov reserved_suffixes[] = {
	IOV_LIT("-s3alias"),   /* access point aliases */
	IOV_LIT("--ol-s3"),    /* Object Lambda access point aliases */
	IOV_LIT(".mrap"),      /* Multi-Region Access Points */
	IOV_LIT("--x-s3"),     /* directory buckets */
	IOV_LIT("--table-s3"), /* table buckets */
};

static inline bool lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool ends_with(struct iov s, struct iov suffix)
{
	return s.len >= suffix.len &&
	       memcmp(s.base + s.len - suffix.len, suffix.base, suffix.len) == 0;
}

/* Four dot-separated groups of 1..3 decimal digits ("192.168.5.4"). */
static bool looks_like_ipv4(struct iov s)
{
	size_t groups = 0, digits = 0;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.base[i];
		if (c >= '0' && c <= '9') {
			if (++digits > 3)
				return false;
		} else if (c == '.' && digits > 0) {
			groups++;
			digits = 0;
		} else {
			return false;
		}
	}
	return digits > 0 && groups == 3;
}

int s3_names_bucket_valid(struct iov name)
{
	if (name.len < S3_BUCKET_NAME_MIN || name.len > S3_BUCKET_NAME_MAX)
		return ERR_S3_INVALID_BUCKET_NAME;
	if (!lower_or_digit(name.base[0]) || !lower_or_digit(name.base[name.len - 1]))
		return ERR_S3_INVALID_BUCKET_NAME;
	for (size_t i = 0; i < name.len; i++) {
		char c = name.base[i];
		if (!lower_or_digit(c) && c != '-' && c != '.')
			return ERR_S3_INVALID_BUCKET_NAME;
		if (c == '.' && name.base[i - 1] == '.')
			return ERR_S3_INVALID_BUCKET_NAME; /* i > 0: the first byte is alnum */
	}
	if (looks_like_ipv4(name))
		return ERR_S3_INVALID_BUCKET_NAME;
	for (size_t i = 0; i < sizeof(reserved_prefixes) / sizeof(reserved_prefixes[0]); i++)
		if (iov_starts(name, reserved_prefixes[i]))
			return ERR_S3_INVALID_BUCKET_NAME;
	for (size_t i = 0; i < sizeof(reserved_suffixes) / sizeof(reserved_suffixes[0]); i++)
		if (ends_with(name, reserved_suffixes[i]))
			return ERR_S3_INVALID_BUCKET_NAME;
	return 0;
}

int s3_names_key_valid(struct iov key)
{
	if (key.len == 0)
		return ERR_S3_INVALID_ARGUMENT;
	if (key.len > S3_KEY_MAX)
		return ERR_S3_KEY_TOO_LONG;
	if (memchr(key.base, '\0', key.len) || !s3_utf8_valid(key))
		return ERR_S3_INVALID_URI;
	return 0;
}

int s3_names_url_encode(struct buf *out, struct iov in)
{
	size_t mark = out->len;
	int rc = auth_uri_encode(out, in, true);
	if (rc)
		out->len = mark;
	return rc;
}

int s3_names_query_decode(struct buf *out, struct iov in)
{
	size_t mark = out->len;
	struct iov rest = in, piece;
	int rc = 0;
	bool first = true;

	while (rc == 0 && rest.base) {
		rest = iov_split(rest, '+', &piece);
		if (!first)
			rc = buf_add_char(out, ' ');
		if (rc == 0)
			rc = auth_uri_decode(out, piece);
		first = false;
	}
	if (rc)
		out->len = mark;
	return rc;
}
