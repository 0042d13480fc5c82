/* TEMPORARY STUB */
#define _GNU_SOURCE
#include "router/admin_xml.h"
#include <string.h>
#include <stdlib.h>
#include "base/err.h"
int router_admin_xml_parse_submit(struct arena *a, const char *p, size_t n, struct router_admin_update *out, uint32_t cap, uint32_t *nout, char *detail, size_t dcap)
{ (void)a;(void)cap;(void)detail;(void)dcap; const char *r=memmem(p,n,"<Region>",8); if(!r)return ERR_INVALID; const char *re=memmem(r,n-(size_t)(r-p),"</Region>",9); const char *pc=memmem(p,n,"<TrafficDialPercentage>",23);
 out[0].bucket=IOV_NULL; out[0].region=iov_make(r+8,(size_t)(re-r-8)); out[0].percent=atoi(pc+23); *nout=1; return 0;}
int router_admin_xml_routes(struct buf *out, const char *mrap, const struct router_admin_route *r, uint32_t n)
{ buf_printf(out,"<R><Mrap>%s</Mrap>",mrap); for(uint32_t i=0;i<n;i++) buf_printf(out,"<Route><Region>%s</Region><TrafficDialPercentage>%d</TrafficDialPercentage><Health>%s</Health><LatencyMs>%.3f</LatencyMs></Route>",r[i].region,r[i].percent,r[i].health,r[i].latency_ms); return buf_add_str(out,"</R>");}
int router_admin_xml_error(struct buf *out, const char *code, const char *message)
{ return buf_printf(out,"<Error><Code>%s</Code><Message>%s</Message></Error>",code,message);}
