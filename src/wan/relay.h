/*
 * A TCP relay that makes distance: every connection accepted on `listen` is
 * joined to a new connection to `to`, and each chunk read on either side is
 * held for the configured delay (plus uniform jitter) before it is written
 * to the other, so a round trip through the relay costs about twice the
 * delay more. A timestamped queue per direction (wan/queue.h) and one timer
 * per connection on the loop; no sleeps, no thread per connection. Bytes
 * within a direction are never reordered.
 *
 * Backpressure: the bytes held per direction (queued plus being written)
 * are capped; over the cap the relay stops reading that side until half of
 * it has drained. A clean end of stream (half-close) is passed on after the
 * bytes queued before it; a reset or any error closes both sides. A refused
 * upstream closes the client's connection.
 *
 * Threads: wan_relay_set_delay and wan_relay_get_delay from any thread;
 * everything else on the loop's thread.
 */
#ifndef MERIDIAN_WAN_RELAY_H
#define MERIDIAN_WAN_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct net_loop;
struct wan_relay;

#define WAN_DELAY_MAX_MS    600000u            /* ten minutes: a typo, not a WAN */
#define WAN_QUEUE_MAX_BYTES (4u * 1024 * 1024) /* default per-direction cap */
#define WAN_QUEUE_MIN_BYTES (64u * 1024)

struct wan_relay_config {
	const char *listen; /* "ip:port" or "[ipv6]:port"; port 0 picks one */
	const char *to;     /* upstream "ip:port" or "[ipv6]:port" (numeric) */
	uint32_t delay_ms;  /* each direction; at most WAN_DELAY_MAX_MS */
	uint32_t jitter_ms; /* extra uniform 0..jitter_ms per chunk; same cap */
	size_t queue_max;   /* per direction; 0 = WAN_QUEUE_MAX_BYTES */
};

/*
 * Listen and start relaying on loop `l` (borrowed; must outlive the relay).
 * cfg's strings are copied. 0, ERR_INVALID (bad address or delay),
 * ERR_NOMEM, ERR_IO (bind/listen failed).
 */
int wan_relay_start(struct net_loop *l, const struct wan_relay_config *cfg, struct wan_relay **out);
/* The bound port. */
int wan_relay_port(const struct wan_relay *r);
/* New delay and jitter for chunks read from now on (any thread). Bytes
 * already queued keep their times. 0 or ERR_INVALID (over
 * WAN_DELAY_MAX_MS). */
int wan_relay_set_delay(struct wan_relay *r, uint32_t delay_ms, uint32_t jitter_ms);
/* The current settings (any thread). */
void wan_relay_get_delay(const struct wan_relay *r, uint32_t *delay_ms, uint32_t *jitter_ms);
/* Connections being relayed now (any thread; for status). */
unsigned wan_relay_connections(const struct wan_relay *r);
/* Stop listening and close every relayed connection (loop thread). */
void wan_relay_stop(struct wan_relay *r);
/* Free a stopped relay once the loop has run the close callbacks (after
 * net_loop_free, or a loop turn after wan_relay_stop). NULL is a no-op. */
void wan_relay_free(struct wan_relay *r);

#endif
