/*
 * Hybrid logical clock and version ids. A timestamp is one uint64: wall-clock
 * milliseconds in the high 48 bits, a logical counter in the low 16, so plain
 * integer order is HLC order and a counter overflow carries into the
 * milliseconds. Each tick is strictly greater than every tick and every
 * observed remote timestamp before it, even when the wall clock steps back
 * (after Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A version id is the timestamp and a 16-bit region id, 80 bits written as
 * 16 lowercase base32hex digits: URL-safe, fixed length, and byte-wise order
 * is (timestamp, region) order, which is the last-writer-wins order of
 * replication. Unversioned objects use the S3 literal "null" instead.
 *
 * Thread-safe: a struct hlc is one atomic word; any thread may tick or
 * observe. The version id helpers are pure.
 */
#ifndef MERIDIAN_BASE_HLC_H
#define MERIDIAN_BASE_HLC_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/iov.h"

#define HLC_LOGICAL_BITS 16
/* Timestamps stay below 2^63 (wall time before year 6429) so they fit a
 * signed 64-bit SQLite INTEGER; parsing rejects anything larger. */
#define HLC_TS_MAX ((uint64_t)INT64_MAX)
/* hlc_observe refuses a remote clock further ahead of ours than this. */
#define HLC_MAX_DRIFT_MS   (10 * 60 * 1000)
#define HLC_VERSION_ID_LEN 16
#define HLC_NULL_VERSION   "null"

struct hlc {
	_Atomic uint64_t last;
};

static inline uint64_t hlc_make(uint64_t ms, uint16_t logical)
{
	return ms << HLC_LOGICAL_BITS | logical;
}

static inline uint64_t hlc_ms(uint64_t ts)
{
	return ts >> HLC_LOGICAL_BITS;
}

static inline uint16_t hlc_logical(uint64_t ts)
{
	return (uint16_t)(ts & 0xffffu);
}

/* A clock that has issued nothing yet. */
void hlc_init(struct hlc *h);
/* A new timestamp from the wall clock: greater than every earlier result and
 * every observed timestamp. */
uint64_t hlc_now(struct hlc *h);
/* hlc_now with the wall clock given in ms (tests, and callers that already
 * read the time). */
uint64_t hlc_tick(struct hlc *h, uint64_t wall_ms);
/* Merge a timestamp seen from elsewhere (a replicated version, or the highest
 * one stored before a restart) so later ticks exceed it. Returns 0, or
 * ERR_INVALID when it lies more than HLC_MAX_DRIFT_MS ahead of the wall clock
 * or above HLC_TS_MAX (the clock is then unchanged). */
int hlc_observe(struct hlc *h, uint64_t remote);
int hlc_observe_at(struct hlc *h, uint64_t remote, uint64_t wall_ms);
/* The last timestamp issued or observed (0 for a new clock). */
uint64_t hlc_last(struct hlc *h);

/* Write the 16-digit id of (ts, region) plus a NUL into out. ts <= HLC_TS_MAX. */
void hlc_version_id(uint64_t ts, uint16_t region, char out[HLC_VERSION_ID_LEN + 1]);
/* Inverse of hlc_version_id: exactly 16 lowercase base32hex digits encoding a
 * timestamp <= HLC_TS_MAX. Returns 0 or ERR_INVALID ("null" is ERR_INVALID
 * too: it names no timestamp). */
int hlc_version_parse(struct iov id, uint64_t *ts, uint16_t *region);

#endif
