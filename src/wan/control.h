/*
 * The relay's control endpoint: a loopback HTTP server (http/server.h, one
 * worker thread of its own) that reads and changes a relay's delay.
 *
 *   GET /delay                  200 {"delay_ms":N,"jitter_ms":J,"connections":C}
 *   PUT /delay?ms=N&jitter=J    sets either or both for chunks read from then
 *                               on; 200 with the new settings, 400 when a value
 *                               is missing, malformed or over WAN_DELAY_MAX_MS
 *
 * Other paths answer 404, other methods 405. No authentication: bind it to
 * loopback. Threads: start and stop on the controlling thread.
 */
#ifndef MERIDIAN_WAN_CONTROL_H
#define MERIDIAN_WAN_CONTROL_H

struct wan_relay;
struct wan_control;

/* Serve `relay` (borrowed; must outlive the control server) on `listen`.
 * 0, ERR_INVALID (bad address), ERR_NOMEM, ERR_IO. */
int wan_control_start(struct wan_relay *relay, const char *listen, struct wan_control **out);
/* The bound port. */
int wan_control_port(const struct wan_control *c);
/* Stop now, join the worker, free. NULL is a no-op. */
void wan_control_stop(struct wan_control *c);

#endif
