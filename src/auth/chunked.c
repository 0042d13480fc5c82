/* aws-chunked decoder and chunk-signature verifier. One thread at a time. */
#include "auth/chunked.h"

#include <stdlib.h>
#include <string.h>

#include "auth/canon.h"
#include "base/check.h"
#include "base/err.h"
#include "base/hex.h"
#include "crypto/checksum.h"

#define CHUNKED_MAGIC 0x43484b44u

/* Decoder states: one list gives the enum and the names. */
#define CHUNKED_STATES(X)                                         \
	X(HEADER)  /* reading "hex[;chunk-signature=sig]\r\n" */  \
	X(DATA)    /* inside a chunk's data */                    \
	X(DATA_CR) /* expecting the CR after data */              \
	X(DATA_LF) /* expecting the LF after data */              \
	X(TRAILER) /* reading trailer lines until an empty one */ \
	X(DONE)                                                   \
	X(FAILED)

enum chunked_state {
#define CHUNKED_ENUM(s) CHUNKED_##s,
	CHUNKED_STATES(CHUNKED_ENUM)
#undef CHUNKED_ENUM
};

struct auth_chunked {
	unsigned magic;
	enum chunked_state state;
	enum auth_payload mode;
	bool signed_chunks, trailers_allowed, signed_trailer;
	struct auth_key key;
	char date[CLOCK_AMZ_DATE_LEN + 1];
	char scope[256];
	size_t scope_len;
	char prev_sig[AUTH_MAX_SIGNATURE_HEX + 1]; /* unpadded */
	size_t prev_sig_len;
	char chunk_sig[AUTH_MAX_SIGNATURE_HEX + 1];
	size_t chunk_sig_len;

	uint64_t decoded_length, decoded;
	uint64_t remaining; /* of the current chunk's data */
	uint64_t chunk_index;
	bool prev_small; /* the previous chunk was under AUTH_CHUNK_MIN */
	struct sha256_ctx *hash;

	char line[AUTH_TRAILER_MAX];
	size_t line_len;
	/* Trailers: declared names and received lines. */
	char declared_store[512];
	struct iov declared[AUTH_TRAILER_MAX_COUNT];
	size_t ndeclared;
	char trailer_store[AUTH_TRAILER_MAX];
	size_t trailer_used;
	struct auth_header trailers[AUTH_TRAILER_MAX_COUNT];
	size_t ntrailers;
	char trailer_sig[AUTH_MAX_SIGNATURE_HEX + 1];
	size_t trailer_sig_len;
	/* The one declared x-amz-checksum-* trailer, computed over the data. */
	struct checksum *sum;
	struct iov sum_name;
	int error;
	const char *why;
};

static int fail(struct auth_chunked *c, int code, const char *why)
{
	c->state = CHUNKED_FAILED;
	c->error = code;
	c->why = why;
	return code;
}

/* Split x-amz-trailer into lowercase names (comma list). */
static int parse_declared(struct auth_chunked *c, struct iov value)
{
	struct iov rest = value, name;
	size_t used = 0;
	while (value.len && rest.base) {
		rest = iov_split(rest, ',', &name);
		name = iov_trim(name);
		if (name.len == 0 || c->ndeclared == AUTH_TRAILER_MAX_COUNT ||
		    used + name.len > sizeof(c->declared_store))
			return ERR_CHUNK_TRAILER;
		char *dst = c->declared_store + used;
		iov_copy_lower(dst, name);
		c->declared[c->ndeclared++] = iov_make(dst, name.len);
		used += name.len;
	}
	return 0;
}

int auth_chunked_new(const struct auth_verified *v, struct auth_chunked **out)
{
	if (!auth_payload_is_chunked(v->payload) ||
	    v->scope.len >= sizeof(((struct auth_chunked *)0)->scope))
		return ERR_INVALID;
	struct auth_chunked *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->magic = CHUNKED_MAGIC;
	c->mode = v->payload;
	c->signed_chunks = v->payload != AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
	c->trailers_allowed = v->payload == AUTH_PAYLOAD_STREAMING_HMAC_TRAILER ||
	                      v->payload == AUTH_PAYLOAD_STREAMING_ECDSA_TRAILER ||
	                      v->payload == AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
	c->signed_trailer = c->trailers_allowed && c->signed_chunks;
	c->key = v->key;
	if (c->key.ec)
		p256_key_up_ref(c->key.ec);
	memcpy(c->date, v->date, sizeof(c->date));
	memcpy(c->scope, v->scope.data, v->scope.len);
	c->scope_len = v->scope.len;
	c->prev_sig_len = strlen(v->signature);
	while (c->prev_sig_len && v->signature[c->prev_sig_len - 1] == '*')
		c->prev_sig_len--;
	memcpy(c->prev_sig, v->signature, c->prev_sig_len);
	c->decoded_length = v->decoded_length;
	c->hash = sha256_new();
	c->state = CHUNKED_HEADER;
	int rc = c->hash ? parse_declared(c, v->trailer) : ERR_NOMEM;
	if (rc == 0 && c->ndeclared && !c->trailers_allowed)
		rc = ERR_CHUNK_TRAILER;
	for (size_t i = 0; rc == 0 && i < c->ndeclared; i++) {
		enum checksum_alg alg;
		if (!iov_starts(c->declared[i], IOV_LIT("x-amz-checksum-")))
			continue;
		/* S3 takes exactly one checksum, of a known algorithm. */
		if (c->sum || checksum_alg_from_header(c->declared[i], &alg))
			rc = ERR_CHUNK_TRAILER;
		else
			rc = checksum_new(alg, &c->sum);
		c->sum_name = c->declared[i];
	}
	if (rc) {
		auth_chunked_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void auth_chunked_free(struct auth_chunked *c)
{
	if (!c)
		return;
	CHECK_MAGIC(c, CHUNKED_MAGIC);
	sha256_free(c->hash);
	checksum_free(c->sum);
	p256_key_free(c->key.ec);
	c->magic = 0;
	free(c);
}

uint64_t auth_chunked_decoded(const struct auth_chunked *c)
{
	return c->decoded;
}

size_t auth_chunked_trailers(const struct auth_chunked *c, const struct auth_header **out)
{
	*out = c->trailers;
	return c->ntrailers;
}

const char *auth_chunked_error(const struct auth_chunked *c)
{
	return c->why ? c->why : err_text(c->error);
}

/* Build one chunk's or the trailer's string-to-sign and check `sig` against it. */
static int verify_link(struct auth_chunked *c, bool trailer, const uint8_t digest[SHA256_LEN],
                       struct iov sig)
{
	char sts[1024], hex[SHA256_HEX_LEN + 1];
	struct buf b;
	buf_init_with(&b, sts, sizeof(sts), sizeof(sts));
	hex_encode(digest, SHA256_LEN, hex);
	const char *alg = c->key.alg == AUTH_SIGV4A ? AUTH_ALG_SIGV4A : AUTH_ALG_SIGV4;
	int rc = buf_printf(&b, "%s-%s\n%s\n%.*s\n%.*s\n%s%s", alg, trailer ? "TRAILER" : "PAYLOAD",
	                    c->date, (int)c->scope_len, c->scope, (int)c->prev_sig_len, c->prev_sig,
	                    trailer ? "" : AUTH_EMPTY_SHA256 "\n", hex);
	if (rc)
		return fail(c, ERR_CHUNK_MALFORMED, "string-to-sign too long");
	if (auth_key_verify(&c->key, buf_iov(&b), sig))
		return fail(c, ERR_CHUNK_SIGNATURE,
		            trailer ? "the trailer signature does not match"
		                    : "a chunk signature does not match");
	while (sig.len && sig.base[sig.len - 1] == '*')
		sig.len--;
	memcpy(c->prev_sig, sig.base, sig.len);
	c->prev_sig_len = sig.len;
	return 0;
}

/* "hex" or "hex;chunk-signature=sig" by mode. */
static int parse_header_line(struct auth_chunked *c, struct iov line)
{
	struct iov size_part, ext = iov_split(line, ';', &size_part);
	uint64_t size = 0;

	if (size_part.len == 0 || size_part.len > 16)
		return fail(c, ERR_CHUNK_MALFORMED, "bad chunk size");
	for (size_t i = 0; i < size_part.len; i++) {
		int d = hex_digit(size_part.base[i]);
		if (d < 0)
			return fail(c, ERR_CHUNK_MALFORMED, "bad chunk size");
		size = size << 4 | (uint64_t)d;
	}
	if (size > AUTH_CHUNK_MAX)
		return fail(c, ERR_CHUNK_MALFORMED, "chunk larger than 16 MiB");
	if (c->signed_chunks) {
		static const struct iov key = IOV_LIT("chunk-signature=");
		if (!ext.base || !iov_starts(ext, key) || ext.len - key.len == 0 ||
		    ext.len - key.len > AUTH_MAX_SIGNATURE_HEX)
			return fail(c, ERR_CHUNK_MALFORMED, "missing chunk-signature");
		c->chunk_sig_len = ext.len - key.len;
		memcpy(c->chunk_sig, ext.base + key.len, c->chunk_sig_len);
	} else if (ext.base) {
		return fail(c, ERR_CHUNK_MALFORMED, "chunk extensions are not allowed here");
	}
	if (size > 0 && c->prev_small)
		return fail(c, ERR_CHUNK_SIZE,
		            "Only the last chunk is allowed to have a size "
		            "less than 8192 bytes");
	if (size > c->decoded_length - c->decoded)
		return fail(c, ERR_CHUNK_MALFORMED, "more data than x-amz-decoded-content-length");
	c->prev_small = size < AUTH_CHUNK_MIN;
	c->chunk_index++;
	c->remaining = size;
	sha256_init(c->hash);
	if (size > 0) {
		c->state = CHUNKED_DATA;
		return 0;
	}
	/* The final, empty chunk. */
	if (c->decoded != c->decoded_length)
		return fail(c, ERR_CHUNK_INCOMPLETE,
		            "the decoded length differs from x-amz-decoded-content-length");
	if (c->signed_chunks) {
		uint8_t empty[SHA256_LEN];
		sha256_final(c->hash, empty);
		int rc = verify_link(c, false, empty, iov_make(c->chunk_sig, c->chunk_sig_len));
		if (rc)
			return rc;
	}
	c->state = CHUNKED_TRAILER;
	return 0;
}

static int trailer_cmp(const void *a, const void *b)
{
	const struct auth_header *x = a, *y = b;
	return iov_cmp(x->name, y->name);
}

/* After the empty line: declared trailers present, signature and checksum checked. */
static int finish_trailers(struct auth_chunked *c)
{
	struct iov sum_value = IOV_NULL;
	for (size_t i = 0; i < c->ndeclared; i++) {
		bool found = false;
		for (size_t j = 0; j < c->ntrailers; j++) {
			if (!iov_eq(c->declared[i], c->trailers[j].name))
				continue;
			found = true;
			if (c->sum && iov_eq(c->declared[i], c->sum_name))
				sum_value = c->trailers[j].value;
		}
		if (!found)
			return fail(c, ERR_CHUNK_TRAILER, "a declared trailer is missing");
	}
	if (c->signed_trailer) {
		if (c->trailer_sig_len == 0)
			return fail(c, ERR_CHUNK_TRAILER, "missing x-amz-trailer-signature");
		struct auth_header sorted[AUTH_TRAILER_MAX_COUNT];
		memcpy(sorted, c->trailers, c->ntrailers * sizeof(sorted[0]));
		qsort(sorted, c->ntrailers, sizeof(sorted[0]), trailer_cmp);
		sha256_init(c->hash);
		for (size_t i = 0; i < c->ntrailers; i++) {
			sha256_update(c->hash, sorted[i].name.base, sorted[i].name.len);
			sha256_update(c->hash, ":", 1);
			sha256_update(c->hash, sorted[i].value.base, sorted[i].value.len);
			sha256_update(c->hash, "\n", 1);
		}
		uint8_t digest[SHA256_LEN];
		sha256_final(c->hash, digest);
		int rc = verify_link(c, true, digest, iov_make(c->trailer_sig, c->trailer_sig_len));
		if (rc)
			return rc;
	}
	if (c->sum) {
		char computed[CHECKSUM_MAX_BASE64 + 1];
		checksum_final_base64(c->sum, computed);
		if (!iov_eq(sum_value, iov_cstr(computed)))
			return fail(
			    c, ERR_CHUNK_CHECKSUM,
			    "The checksum you specified did not match the calculated checksum.");
	}
	c->state = CHUNKED_DONE;
	return 0;
}

/* One "name:value" trailer line. */
static int trailer_line(struct auth_chunked *c, struct iov line)
{
	struct iov name, value = iov_split(line, ':', &name);
	if (!value.base || name.len == 0)
		return fail(c, ERR_CHUNK_TRAILER, "a trailer line is not name:value");
	value = iov_trim(value);
	if (c->signed_trailer && iov_eq_nocase(name, IOV_LIT("x-amz-trailer-signature"))) {
		if (c->trailer_sig_len || value.len == 0 || value.len > AUTH_MAX_SIGNATURE_HEX)
			return fail(c, ERR_CHUNK_TRAILER, "bad x-amz-trailer-signature");
		memcpy(c->trailer_sig, value.base, value.len);
		c->trailer_sig_len = value.len;
		return 0;
	}
	if (c->trailer_sig_len)
		return fail(c, ERR_CHUNK_TRAILER, "a trailer follows the trailer signature");
	if (c->ntrailers == AUTH_TRAILER_MAX_COUNT ||
	    c->trailer_used + name.len + value.len > sizeof(c->trailer_store))
		return fail(c, ERR_TOO_BIG, "too many trailers");
	char *n = c->trailer_store + c->trailer_used;
	iov_copy_lower(n, name);
	char *v = n + name.len;
	memcpy(v, value.base, value.len);
	c->trailer_used += name.len + value.len;
	struct iov lname = iov_make(n, name.len);
	bool declared = false;
	for (size_t i = 0; i < c->ndeclared; i++)
		declared |= iov_eq(c->declared[i], lname);
	for (size_t i = 0; i < c->ntrailers; i++)
		if (iov_eq(c->trailers[i].name, lname))
			return fail(c, ERR_CHUNK_TRAILER, "a trailer appears twice");
	if (!declared)
		return fail(c, ERR_CHUNK_TRAILER, "a trailer was not declared in x-amz-trailer");
	c->trailers[c->ntrailers++] = (struct auth_header){ lname, iov_make(v, value.len) };
	return 0;
}

/* A complete line (without CRLF) in HEADER or TRAILER state. */
static int on_line(struct auth_chunked *c, struct iov line)
{
	if (c->state == CHUNKED_HEADER)
		return parse_header_line(c, line);
	if (line.len == 0)
		return finish_trailers(c);
	if (!c->trailers_allowed)
		return fail(c, ERR_CHUNK_MALFORMED, "expected the end of the body");
	return trailer_line(c, line);
}

/* Accumulate a CRLF-terminated line; returns bytes used, the line completes
 * when *done. Bare CR or LF inside a line is malformed. */
static int take_line(struct auth_chunked *c, const char *p, size_t n, size_t *used, bool *done)
{
	size_t cap = c->state == CHUNKED_HEADER ? AUTH_CHUNK_LINE_MAX : sizeof(c->line);
	*done = false;
	for (*used = 0; *used < n;) {
		char ch = p[(*used)++];
		if (c->line_len && c->line[c->line_len - 1] == '\r') {
			if (ch != '\n')
				return fail(c, ERR_CHUNK_MALFORMED, "bare CR in a chunk line");
			c->line_len--;
			*done = true;
			return 0;
		}
		if (ch == '\n')
			return fail(c, ERR_CHUNK_MALFORMED, "bare LF in a chunk line");
		if (c->line_len == cap)
			return fail(c,
			            c->state == CHUNKED_HEADER ? ERR_CHUNK_MALFORMED : ERR_TOO_BIG,
			            "chunk line too long");
		c->line[c->line_len++] = ch;
	}
	return 0;
}

int auth_chunked_feed(struct auth_chunked *c, const char *p, size_t n, auth_chunked_data_fn on_data,
                      void *arg)
{
	CHECK_MAGIC(c, CHUNKED_MAGIC);
	while (n > 0) {
		int rc = 0;
		size_t used = 0;
		switch (c->state) {
		case CHUNKED_HEADER:
		case CHUNKED_TRAILER: {
			bool done;
			rc = take_line(c, p, n, &used, &done);
			if (rc == 0 && done) {
				struct iov line = iov_make(c->line, c->line_len);
				c->line_len = 0;
				rc = on_line(c, line);
			}
			break;
		}
		case CHUNKED_DATA:
			used = n < c->remaining ? n : (size_t)c->remaining;
			if (c->signed_chunks)
				sha256_update(c->hash, p, used);
			if (c->sum)
				checksum_update(c->sum, p, used);
			c->remaining -= used;
			c->decoded += used;
			rc = on_data ? on_data(arg, p, used) : 0;
			if (rc)
				fail(c, rc, "the receiver refused the data");
			else if (c->remaining == 0)
				c->state = CHUNKED_DATA_CR;
			break;
		case CHUNKED_DATA_CR:
		case CHUNKED_DATA_LF:
			used = 1;
			if (*p != (c->state == CHUNKED_DATA_CR ? '\r' : '\n')) {
				rc = fail(c, ERR_CHUNK_MALFORMED,
				          "chunk data is not followed by CRLF");
				break;
			}
			if (c->state == CHUNKED_DATA_CR) {
				c->state = CHUNKED_DATA_LF;
				break;
			}
			c->state = CHUNKED_HEADER;
			if (c->signed_chunks) {
				uint8_t digest[SHA256_LEN];
				sha256_final(c->hash, digest);
				rc = verify_link(c, false, digest,
				                 iov_make(c->chunk_sig, c->chunk_sig_len));
			}
			break;
		case CHUNKED_DONE:
			return fail(c, ERR_CHUNK_MALFORMED, "bytes after the end of the body");
		case CHUNKED_FAILED:
			return c->error;
		}
		if (rc)
			return rc;
		p += used;
		n -= used;
	}
	return 0;
}

int auth_chunked_finish(struct auth_chunked *c)
{
	CHECK_MAGIC(c, CHUNKED_MAGIC);
	if (c->state == CHUNKED_DONE)
		return 0;
	if (c->state == CHUNKED_FAILED)
		return c->error;
	return fail(c, ERR_CHUNK_INCOMPLETE, "The request body terminated unexpectedly");
}
