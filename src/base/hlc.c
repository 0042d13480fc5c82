/* Hybrid logical clock: one atomic word, compare-and-swap. Any thread. */
#include "base/hlc.h"

#include <time.h>

#include "base/check.h"
#include "base/err.h"

static const char b32hex[] = "0123456789abcdefghijklmnopqrstuv";

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hlc_init(struct hlc *h)
{
	atomic_init(&h->last, 0);
}

uint64_t hlc_tick(struct hlc *h, uint64_t wall)
{
	uint64_t phys = hlc_make(wall, 0);
	uint64_t last = atomic_load(&h->last);
	uint64_t next;
	do {
		next = last + 1 > phys ? last + 1 : phys;
	} while (!atomic_compare_exchange_weak(&h->last, &last, next));
	CHECK(next <= HLC_TS_MAX);
	return next;
}

uint64_t hlc_now(struct hlc *h)
{
	return hlc_tick(h, wall_ms());
}

int hlc_observe_at(struct hlc *h, uint64_t remote, uint64_t wall)
{
	if (remote > HLC_TS_MAX || hlc_ms(remote) > wall + HLC_MAX_DRIFT_MS)
		return ERR_INVALID;
	uint64_t last = atomic_load(&h->last);
	while (remote > last && !atomic_compare_exchange_weak(&h->last, &last, remote))
		;
	return 0;
}

int hlc_observe(struct hlc *h, uint64_t remote)
{
	return hlc_observe_at(h, remote, wall_ms());
}

uint64_t hlc_last(struct hlc *h)
{
	return atomic_load(&h->last);
}

/* 80 bits, most significant first: ts (64) then region (16); 5 bits a digit. */
void hlc_version_id(uint64_t ts, uint16_t region, char out[HLC_VERSION_ID_LEN + 1])
{
	CHECK(ts <= HLC_TS_MAX);
	uint64_t hi = ts >> 16;                             /* top 48 bits */
	uint64_t lo = (ts & 0xffffu) << 16 | region;        /* low 32 bits */
	for (int i = HLC_VERSION_ID_LEN - 1; i >= 0; i--) { /* 80 = 48 + 32 */
		out[i] = b32hex[lo & 31];
		lo = lo >> 5 | (hi & 31) << 27;
		hi >>= 5;
	}
	out[HLC_VERSION_ID_LEN] = '\0';
}

int hlc_version_parse(struct iov id, uint64_t *ts, uint16_t *region)
{
	if (id.len != HLC_VERSION_ID_LEN)
		return ERR_INVALID;
	uint64_t hi = 0, lo = 0; /* 48 and 32 bits */
	for (size_t i = 0; i < id.len; i++) {
		char c = id.base[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'v')
			d = (unsigned)(c - 'a') + 10;
		else
			return ERR_INVALID;
		hi = (hi << 5 | lo >> 27) & 0xffffffffffffu;
		lo = (lo << 5 | d) & 0xffffffffu;
	}
	uint64_t t = hi << 16 | lo >> 16;
	if (t > HLC_TS_MAX)
		return ERR_INVALID;
	*ts = t;
	*region = (uint16_t)(lo & 0xffffu);
	return 0;
}
