/*
 * The published program for reloads (see edgefn.h): any thread publishes,
 * workers read the generation with one atomic load per request and take
 * the program under the mutex only when it changed.
 */
#include "edgefn/edgefn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/check.h"
#include "edgefn/edgefn-int.h"

struct edgefn_current {
	pthread_mutex_t mu;
	struct edgefn_program *prog;
	atomic_uint_fast64_t gen;
};

struct edgefn_current *edgefn_current_new(struct edgefn_program *p)
{
	struct edgefn_current *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	CHECK(pthread_mutex_init(&c->mu, NULL) == 0);
	edgefn_program_ref(p);
	c->prog = p;
	atomic_init(&c->gen, 1);
	return c;
}

void edgefn_current_free(struct edgefn_current *c)
{
	if (!c)
		return;
	edgefn_program_unref(c->prog);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void edgefn_current_publish(struct edgefn_current *c, struct edgefn_program *p)
{
	edgefn_program_ref(p);
	pthread_mutex_lock(&c->mu);
	struct edgefn_program *old = c->prog;
	c->prog = p;
	atomic_fetch_add(&c->gen, 1);
	pthread_mutex_unlock(&c->mu);
	edgefn_program_unref(old);
}

struct edgefn_program *edgefn__current_get(struct edgefn_current *c, uint64_t *gen)
{
	pthread_mutex_lock(&c->mu);
	struct edgefn_program *p = c->prog;
	edgefn_program_ref(p);
	*gen = atomic_load(&c->gen);
	pthread_mutex_unlock(&c->mu);
	return p;
}

struct edgefn_program *edgefn_current_get(struct edgefn_current *c)
{
	uint64_t gen;
	return edgefn__current_get(c, &gen);
}

uint64_t edgefn__current_gen(struct edgefn_current *c)
{
	return atomic_load(&c->gen);
}
