/*
 * libFuzzer: the edge's Cache-Control parser and the freshness decision on
 * top of it. Input: 1 byte picking a policy, 2 bytes of status offset, then
 * header lines separated by '\n' as "Name:value" (a line without ':' is a
 * Cache-Control value). Each value is copied into a buffer of exactly its
 * length, so a read past a slice is an ASan report. Checks the parser's
 * invariants and that every decision stays inside the policy's bounds.
 * Dictionary: tests/fuzz/edge_fresh.dict.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "edge/fresh.h"

#define MAX_LINES 16

static const uint32_t known_flags = (1u << 16) - 1;

static void check_cc(const struct edge_cc *cc)
{
	CHECK((cc->flags & ~known_flags) == 0);
	CHECK(cc->bytes <= EDGE_CC_MAX_BYTES);
	CHECK(cc->elems <= EDGE_CC_MAX_ELEMS + 1);
	CHECK(!(cc->flags & EDGE_CC_MAX_AGE) ||
	      (cc->max_age >= 0 && cc->max_age <= EDGE_CC_DELTA_MAX));
	CHECK(!(cc->flags & EDGE_CC_S_MAXAGE) ||
	      (cc->s_maxage >= 0 && cc->s_maxage <= EDGE_CC_DELTA_MAX));
	CHECK(!(cc->flags & EDGE_CC_SWR) || (cc->swr >= 0 && cc->swr <= EDGE_CC_DELTA_MAX));
	CHECK(!(cc->flags & EDGE_CC_SIE) || (cc->sie >= 0 && cc->sie <= EDGE_CC_DELTA_MAX));
	/* a valued directive is valid or invalid, never both */
	CHECK(!((cc->flags & EDGE_CC_MAX_AGE) && (cc->flags & EDGE_CC_MAX_AGE_INVALID)));
	CHECK(!((cc->flags & EDGE_CC_S_MAXAGE) && (cc->flags & EDGE_CC_S_MAXAGE_INVALID)));
}

static void check_decision(const struct edge_fresh_policy *p, const struct edge_fresh_decision *d)
{
	CHECK((unsigned)d->reason < EDGE_FRESH_R__COUNT);
	CHECK(d->initial_age >= 0 && d->initial_age <= EDGE_CC_DELTA_MAX);
	if (!d->store) {
		CHECK(d->ttl == 0 && d->swr == 0 && d->sie == 0);
		return;
	}
	CHECK(d->swr >= 0 && d->swr <= p->max_ttl);
	CHECK(d->sie >= 0 && d->sie <= p->max_ttl);
	if (d->error) {
		CHECK(d->ttl > 0 && d->swr == 0 && d->sie == 0);
		CHECK(d->ttl <= p->max_ttl || d->ttl == p->error_min_ttl ||
		      d->ttl == p->error_404_ttl);
		return;
	}
	CHECK(d->ttl >= p->min_ttl);
	CHECK(d->ttl <= p->max_ttl || d->reason == EDGE_FRESH_R_DEFAULT_TTL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static const struct edge_fresh_policy policies[] = {
		{ 0, 86400, 31536000, 10, 2 },
		{ 60, 300, 3600, 10, EDGE_FRESH_404_AS_CLOUDFRONT },
		{ 0, 0, 0, 10, 2 },
		{ 0, 0, 60, 0, 0 },
	};
	const struct edge_fresh_policy *p = &policies[data[0] % 4];
	int status = 100 + (int)(((unsigned)data[1] << 8 | data[2]) % 500);
	data += 3;
	size -= 3;

	struct http_header h[MAX_LINES];
	char *copies[MAX_LINES];
	size_t n = 0, start = 0;
	struct edge_cc cc;
	edge_cc_init(&cc);
	bool over = false;
	for (size_t i = 0; i <= size && n < MAX_LINES; i++) {
		if (i < size && data[i] != '\n')
			continue;
		size_t len = i - start;
		const uint8_t *line = data + start;
		start = i + 1;
		const uint8_t *colon = memchr(line, ':', len);
		size_t nlen = colon ? (size_t)(colon - line) : 0;
		size_t vlen = colon ? len - nlen - 1 : len;
		char *copy = malloc(len ? len : 1);
		CHECK(copy != NULL);
		memcpy(copy, line, len);
		copies[n] = copy;
		h[n].name = colon ? iov_make(copy, nlen) : IOV_LIT("Cache-Control");
		h[n].value = iov_make(copy + (colon ? nlen + 1 : 0), vlen);
		if (!colon && !over) {
			int rc = edge_cc_parse(&cc, h[n].value);
			CHECK(rc == 0 || rc == ERR_TOO_BIG);
			over = rc != 0;
			check_cc(&cc);
		}
		n++;
	}

	struct edge_fresh_decision d;
	int64_t now = INT64_C(1000000000);
	CHECK(edge_fresh_decide(p, status, h, n, now - (size & 7), now, &d) == 0);
	check_decision(p, &d);
	struct edge_fresh_entry e;
	edge_fresh_entry_set(&e, &d, now);
	int64_t age = 0;
	enum edge_fresh_state s = edge_fresh_state(&e, now + (int64_t)(size * 37), &age);
	CHECK(s <= EDGE_FRESH_EXPIRED && age >= d.initial_age && age <= EDGE_CC_DELTA_MAX);

	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	return 0;
}
