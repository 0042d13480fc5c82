/*
 * Programs: the immutable set of limits, bindings and function sources a
 * configuration defines (see edgefn.h). Built on one thread, then shared
 * read-only by every worker's state; the reference count is atomic.
 */
#include "edgefn/edgefn.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "edgefn/edgefn-int.h"

struct edgefn_program *edgefn_program_new(const struct edgefn_limits *lim)
{
	struct edgefn_program *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->magic = EDGEFN_PROGRAM_MAGIC;
	atomic_init(&p->refs, 1);
	atomic_init(&p->sealed, false);
	if (lim)
		p->lim = *lim;
	struct edgefn_limits *l = &p->lim;
	l->mem_max = l->mem_max ? l->mem_max : EDGEFN_DEFAULT_MEM_MAX;
	l->instr_max = l->instr_max ? l->instr_max : EDGEFN_DEFAULT_INSTR_MAX;
	l->time_ns = l->time_ns ? l->time_ns : EDGEFN_DEFAULT_TIME_NS;
	l->value_max = l->value_max ? l->value_max : EDGEFN_DEFAULT_VALUE_MAX;
	l->depth_max = l->depth_max ? l->depth_max : EDGEFN_DEFAULT_DEPTH_MAX;
	l->json_max = l->json_max ? l->json_max : EDGEFN_DEFAULT_JSON_MAX;
	l->log_line_max = l->log_line_max ? l->log_line_max : EDGEFN_DEFAULT_LOG_LINE;
	l->log_max = l->log_max ? l->log_max : EDGEFN_DEFAULT_LOG_LINES;
	return p;
}

void edgefn_program_ref(struct edgefn_program *p)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	atomic_fetch_add(&p->refs, 1);
}

void edgefn_program_unref(struct edgefn_program *p)
{
	if (!p)
		return;
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (int i = 0; i < p->nfuncs; i++) {
		free(p->funcs[i].name);
		free(p->funcs[i].src);
	}
	for (int i = 0; i < p->nbinds; i++)
		free(p->binds[i].name);
	p->magic = 0;
	free(p);
}

static bool name_ok(const char *s, size_t n, bool dotted)
{
	if (n == 0 || n >= EDGEFN_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		          (i > 0 && c >= '0' && c <= '9') ||
		          (dotted && c == '.' && s[i - 1] != '.');
		if (!ok)
			return false;
	}
	return true;
}

int edgefn_program_bind(struct edgefn_program *p, const char *name, edgefn_cfunc fn, void *ud)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	CHECK(!atomic_load(&p->sealed) && fn != NULL);
	size_t n = strlen(name);
	const char *dot = strchr(name, '.');
	if (!name_ok(name, n, true) || edgefn__is_builtin(name, dot ? (size_t)(dot - name) : n))
		return ERR_INVALID;
	for (int i = 0; i < p->nbinds; i++)
		if (strcmp(p->binds[i].name, name) == 0)
			return ERR_INVALID;
	if (p->nbinds == EDGEFN_BINDINGS_MAX)
		return ERR_TOO_BIG;
	char *copy = malloc(n + 1);
	if (!copy)
		return ERR_NOMEM;
	memcpy(copy, name, n + 1);
	p->binds[p->nbinds++] = (struct edgefn_binding){ copy, fn, ud };
	return 0;
}

int edgefn_program_add(struct edgefn_program *p, struct iov name, struct iov source, int *id)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	CHECK(!atomic_load(&p->sealed));
	if (name.len == 0 || name.len >= EDGEFN_NAME_MAX || memchr(name.base, '\0', name.len))
		return ERR_INVALID;
	int dup;
	if (edgefn_program_find(p, name, &dup) == 0)
		return ERR_INVALID;
	if (p->nfuncs == EDGEFN_FUNCS_MAX)
		return ERR_TOO_BIG;
	struct edgefn_function f = { malloc(name.len + 1), malloc(source.len + 1), name.len,
		                     source.len };
	if (!f.name || !f.src) {
		free(f.name);
		free(f.src);
		return ERR_NOMEM;
	}
	memcpy(f.name, name.base, name.len);
	f.name[name.len] = '\0';
	if (source.len)
		memcpy(f.src, source.base, source.len);
	f.src[source.len] = '\0';
	*id = p->nfuncs;
	p->funcs[p->nfuncs++] = f;
	return 0;
}

int edgefn_program_find(const struct edgefn_program *p, struct iov name, int *id)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	for (int i = 0; i < p->nfuncs; i++) {
		if (iov_eq(iov_make(p->funcs[i].name, p->funcs[i].name_len), name)) {
			*id = i;
			return 0;
		}
	}
	return ERR_NOT_FOUND;
}

int edgefn_program_count(const struct edgefn_program *p)
{
	CHECK_MAGIC(p, EDGEFN_PROGRAM_MAGIC);
	return p->nfuncs;
}

int edgefn_program_check(struct edgefn_program *p, char *err, size_t errlen)
{
	struct edgefn_state *st;
	int rc = edgefn_state_new(p, &st, err, errlen);
	edgefn_state_free(st);
	return rc;
}
