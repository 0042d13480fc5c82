/* TEMPORARY STUB */
#ifndef X_ADMIN_XML
#define X_ADMIN_XML
#include "base/arena.h"
#include "base/buf.h"
#include "base/iov.h"
#include <stdint.h>
#define ROUTER_ADMIN_XML_MAX (64u << 10)
struct router_admin_update { struct iov bucket, region; int64_t percent; };
int router_admin_xml_parse_submit(struct arena *a, const char *p, size_t n, struct router_admin_update *out, uint32_t cap, uint32_t *nout, char *detail, size_t dcap);
struct router_admin_route { const char *bucket, *region; int percent; const char *health; double latency_ms; };
int router_admin_xml_routes(struct buf *out, const char *mrap, const struct router_admin_route *r, uint32_t n);
int router_admin_xml_error(struct buf *out, const char *code, const char *message);
#endif
