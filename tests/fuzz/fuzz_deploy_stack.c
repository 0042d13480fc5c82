/*
 * libFuzzer: arbitrary bytes into deploy/stack. A refusal must be one of
 * the documented codes with at least one message, each starting with
 * "f.yaml:" and kept sorted by position, and no plan. An accepted stack
 * must keep the plan's promises: every index in range, every resource
 * entry pointing at a slot of its type, stores in a location with a
 * region, links between two different locations, nearest buckets among
 * the candidates; deferred strings must expand with a stub table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "deploy/stack.h"

static struct deploy_stack_diag diag;

static int stub(void *ctx, const struct deploy_stack_resource *r, const char *attr,
                struct iov *value)
{
	(void)ctx;
	(void)r;
	(void)attr;
	*value = IOV_LIT("http://127.0.0.1:1");
	return 0;
}

static void check_expand(const struct deploy_stack *st, const char *s)
{
	char out[DEPLOY_STACK_VALUE_MAX * 4];
	size_t len = 0;
	int rc = deploy_stack_expand(st, s, stub, NULL, out, sizeof(out), &len);
	CHECK(rc == 0 || rc == ERR_TOO_BIG);
}

static void check_distribution(const struct deploy_stack *st,
                               const struct deploy_stack_distribution *d)
{
	CHECK(d->nlocations >= 1);
	for (uint32_t i = 0; i < d->nlocations; i++)
		CHECK(d->location[i] < st->nlocations);
	CHECK(d->credentials == DEPLOY_STACK_NONE || d->credentials < st->ncredentials);
	for (uint32_t i = 0; i < d->norigins; i++) {
		const struct deploy_stack_origin *o = &d->origin[i];
		CHECK(o->id);
		if (o->kind == DEPLOY_STACK_ORIGIN_ACCESS_POINT)
			CHECK(o->target < st->naccess_points && o->domain_name);
		else if (o->kind == DEPLOY_STACK_ORIGIN_BUCKET)
			CHECK(o->target < st->nbuckets);
		else {
			CHECK(o->kind == DEPLOY_STACK_ORIGIN_NEAREST && o->ncandidates >= 1);
			for (uint32_t l = 0; l < d->nlocations; l++) {
				bool found = false;
				for (uint32_t c = 0; c < o->ncandidates; c++)
					found |= o->candidate[c] == o->nearest[l];
				CHECK(found);
			}
		}
	}
	for (uint32_t i = 0; i < d->ngroups; i++)
		for (uint32_t j = 0; j < d->group[i].nmembers; j++)
			CHECK(d->group[i].member[j] < d->norigins);
	CHECK(d->nbehaviors >= 1);
	CHECK(strcmp(d->behavior[d->nbehaviors - 1].path_pattern, "*") == 0);
	for (uint32_t i = 0; i < d->nbehaviors; i++) {
		const struct deploy_stack_behavior *b = &d->behavior[i];
		CHECK(b->target < (b->target_group ? d->ngroups : d->norigins));
		CHECK(b->min_ttl_s <= b->default_ttl_s && b->default_ttl_s <= b->max_ttl_s);
	}
}

static void check_plan(const struct deploy_stack *st)
{
	uint32_t seen[DEPLOY_STACK_NTYPES] = { 0 };
	for (uint32_t i = 0; i < st->nresources; i++) {
		const struct deploy_stack_resource *r = &st->resource[i];
		CHECK(r->type < DEPLOY_STACK_NTYPES);
		seen[r->type]++;
		CHECK(deploy_stack_find(st, iov_cstr(r->logical_id)) == r);
	}
	CHECK(seen[DEPLOY_STACK_LOCATION] == st->nlocations);
	CHECK(seen[DEPLOY_STACK_BUCKET] == st->nbuckets);
	for (uint32_t i = 0; i < st->nstores; i++) {
		CHECK(st->store[i].location < st->nlocations);
		CHECK(st->location[st->store[i].location].region);
		CHECK(strcmp(st->store[i].region, st->location[st->store[i].location].region) == 0);
	}
	for (uint32_t i = 0; i < st->nbuckets; i++) {
		const struct deploy_stack_bucket *b = &st->bucket[i];
		CHECK(b->store < st->nstores && b->name);
		for (uint32_t j = 0; j < b->nrules; j++)
			CHECK(b->rule[j].destination < st->nbuckets && b->rule[j].destination != i);
		for (uint32_t j = 0; j < b->nobjects; j++) {
			CHECK(b->object[j].key && (!b->object[j].body != !b->object[j].file));
			if (b->object[j].deferred)
				check_expand(st, b->object[j].body);
		}
	}
	for (uint32_t i = 0; i < st->naccess_points; i++)
		for (uint32_t j = 0; j < st->access_point[i].nregions; j++)
			CHECK(st->access_point[i].region[j].bucket < st->nbuckets);
	for (uint32_t i = 0; i < st->ndistributions; i++)
		check_distribution(st, &st->distribution[i]);
	for (uint32_t i = 0; i < st->nlinks; i++)
		CHECK(st->link[i].a < st->nlocations && st->link[i].b < st->nlocations &&
		      st->link[i].a != st->link[i].b);
	for (uint32_t i = 0; i < st->noutputs; i++)
		if (st->output[i].value && st->output[i].deferred)
			check_expand(st, st->output[i].value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deploy_stack *st = NULL;
	int rc = deploy_stack_parse("f.yaml", (const char *)data, size, NULL, 0, &st, &diag);
	if (rc != 0) {
		CHECK(rc == ERR_CONFIG_YAML || rc == ERR_TOO_BIG || rc == ERR_CONFIG_SCHEMA ||
		      rc == ERR_NOMEM);
		CHECK(st == NULL && diag.n + diag.dropped >= 1);
		for (uint32_t i = 0; i < diag.n; i++) {
			CHECK(strncmp(diag.msg[i].text, "f.yaml:", 7) == 0);
			CHECK(strcmp(diag.msg[i].text, "f.yaml: " DEPLOY_STACK_INCOMPLETE) != 0);
			if (i)
				CHECK(diag.msg[i - 1].line < diag.msg[i].line ||
				      (diag.msg[i - 1].line == diag.msg[i].line &&
				       diag.msg[i - 1].col <= diag.msg[i].col));
		}
		return 0;
	}
	CHECK(st != NULL);
	check_plan(st);
	deploy_stack_free(st);
	return 0;
}
