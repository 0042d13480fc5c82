/*
 * Versioned routes table (contract in routes.h). Owner's thread only.
 */
#include "router/routes.h"

#include <stdbool.h>
#include <string.h>

#include "base/err.h"

static bool dial_ok(enum router_dial d)
{
	return d == ROUTER_DIAL_PASSIVE || d == ROUTER_DIAL_ACTIVE;
}

static bool any_active(const enum router_dial *dial, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (dial[i] == ROUTER_DIAL_ACTIVE)
			return true;
	return false;
}

int router_routes_init(struct router_routes *r, const enum router_dial *dial, uint32_t n)
{
	if (n == 0 || n > ROUTER_REGIONS_MAX)
		return ERR_INVALID;
	for (uint32_t i = 0; i < n; i++)
		if (!dial_ok(dial[i]))
			return ERR_INVALID;
	if (!any_active(dial, n))
		return ERR_ROUTER_NO_ACTIVE;
	memset(r, 0, sizeof(*r));
	r->version = 1;
	r->n = n;
	memcpy(r->dial, dial, n * sizeof(dial[0]));
	return 0;
}

int router_routes_submit(struct router_routes *r, uint64_t expect_version,
                         const struct router_route_update *u, uint32_t n, uint64_t *new_version)
{
	if (expect_version != ROUTER_ROUTES_ANY && expect_version != r->version)
		return ERR_ROUTER_STALE_ROUTES;
	if (n > ROUTER_REGIONS_MAX)
		return ERR_INVALID;
	enum router_dial next[ROUTER_REGIONS_MAX];
	bool named[ROUTER_REGIONS_MAX] = { false };
	memcpy(next, r->dial, sizeof(next));
	for (uint32_t i = 0; i < n; i++) {
		if (u[i].region >= r->n || named[u[i].region] || !dial_ok(u[i].dial))
			return ERR_INVALID;
		named[u[i].region] = true;
		next[u[i].region] = u[i].dial;
	}
	if (!any_active(next, r->n))
		return ERR_ROUTER_NO_ACTIVE;
	memcpy(r->dial, next, sizeof(next));
	r->version++;
	if (new_version != NULL)
		*new_version = r->version;
	return 0;
}

int router_routes_dial_from_percent(int64_t pct, enum router_dial *out)
{
	if (pct == 0) {
		*out = ROUTER_DIAL_PASSIVE;
		return 0;
	}
	if (pct == 100) {
		*out = ROUTER_DIAL_ACTIVE;
		return 0;
	}
	return ERR_INVALID;
}
