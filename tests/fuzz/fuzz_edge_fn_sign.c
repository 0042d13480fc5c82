/*
 * libFuzzer: the edge functions' signing bindings (edge/fn_sign.h) on
 * arbitrary argument tables. The input is JSON, decoded into a value as
 * edgefn would hand it over, and given to meridian.sigv4a.sign and
 * meridian.sigv4.sign. Each call must come back with a clean error or a
 * header table in Lambda@Edge form whose names and values carry no control
 * characters (nothing can be smuggled into the origin request), never a
 * crash. Seeds: tests/fuzz/corpus/fuzz_edge_fn_sign/.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/check.h"
#include "base/err.h"
#include "edge/fn_sign.h"
#include "edgefn/json.h"
#include "edgefn/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret-0123456789"

static const struct edge_fn_sign_creds creds = {
	.creds = { IOV_LIT("AKIDFUZZ"), IOV_LIT(SECRET), IOV_LIT("tok") },
};

static bool clean(struct iov s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.base[i] < 0x20 || s.base[i] == 0x7f)
			return false;
	return true;
}

static void check_result(const struct edgefn_value *r)
{
	CHECK(r->kind == EDGEFN_TABLE && r->u.t.len >= 4);
	for (size_t i = 0; i < r->u.t.len; i++) {
		const struct edgefn_entry *e = &r->u.t.items[i];
		CHECK(e->key.kind == EDGEFN_STR && clean(e->key.u.s));
		const struct edgefn_value *item = edgefn_table_geti(&e->val, 1);
		CHECK(item && e->val.u.t.len == 1);
		const struct edgefn_value *k = edgefn_table_get(item, IOV_LIT("key"));
		const struct edgefn_value *v = edgefn_table_get(item, IOV_LIT("value"));
		CHECK(k && v && k->kind == EDGEFN_STR && v->kind == EDGEFN_STR);
		CHECK(iov_eq_nocase(k->u.s, e->key.u.s) && clean(v->u.s));
	}
	CHECK(edgefn_table_get(r, IOV_LIT("authorization")) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	if (!a)
		CHECK((a = arena_new(1u << 20)) != NULL);
	arena_reset(a);
	char *copy = malloc(size ? size : 1);
	CHECK(copy);
	memcpy(copy, data, size);
	bool echoed = memmem(data, size, SECRET, sizeof(SECRET) - 1) != NULL;
	struct edgefn_value args, r;
	char err[EDGEFN_ERR_MAX];
	if (edgefn_json_decode(iov_make(copy, size), a, 16, &args, err, sizeof(err)) == 0) {
		edgefn_cfunc fns[] = { edge_fn_sign_sigv4a, edge_fn_sign_sigv4 };
		for (size_t i = 0; i < 2; i++) {
			r = edgefn_nil();
			int rc = fns[i]((void *)&creds, &args, 1, a, &r, err, sizeof(err));
			CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG || rc == ERR_NOMEM);
			if (rc == 0)
				check_result(&r);
			else
				/* messages may echo the input, never the secret */
				CHECK(err[0] != '\0' && (!strstr(err, SECRET) || echoed));
		}
	}
	free(copy);
	return 0;
}
