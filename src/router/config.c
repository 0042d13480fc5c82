/* TEMPORARY STUB (not committed): lines "name N", "alias A", "region NAME EP BUCKET DIAL", "admin LISTEN CREDS" */
#include "router/config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/sha256.h"
#include "base/err.h"
static uint16_t rid(const char *n){uint8_t d[32];sha256(n,strlen(n),d);return (uint16_t)(d[0]<<8|d[1]);}
int router_config_load(const char *path, struct router_config *c, char *err, size_t errcap)
{
	memset(c,0,sizeof(*c));
	FILE *f=fopen(path,"r"); if(!f){snprintf(err,errcap,"cannot open");return ERR_IO;}
	char l[512],a[128],b[128],d[128],e[128];
	c->probe_interval_ms=500;c->probe_timeout_ms=2000;c->connect_timeout_ms=2000;c->first_byte_timeout_ms=30000;c->passive_fallback=true;c->retry_404=true;
	while(fgets(l,sizeof l,f)){
		if(sscanf(l,"name %127s",a)==1)c->name=strdup(a);
		else if(sscanf(l,"alias %127s",a)==1)c->alias=strdup(a);
		else if(sscanf(l,"admin %127s %127s",a,b)==2){c->admin_listen=strdup(a);c->admin_credentials=strdup(b);}
		else if(sscanf(l,"retry404 %127s",a)==1)c->retry_404=a[0]=='t';
		else if(sscanf(l,"fallback %127s",a)==1)c->passive_fallback=a[0]=='t';
		else if(sscanf(l,"region %127s %127s %127s %127s",a,b,d,e)==4){struct router_config_region *r=&c->region[c->nregions++];r->name=strdup(a);r->endpoint=strdup(b);r->bucket=strdup(d);r->dial=e[0]=='a'?ROUTER_DIAL_ACTIVE:ROUTER_DIAL_PASSIVE;r->id=rid(a);}
	}
	fclose(f);return 0;
}
void router_config_free(struct router_config *c){(void)c;}
