/*
 * libFuzzer: the control API's XML (router/admin_xml). The first byte is the
 * caller's route capacity (0..19), the rest the SubmitMultiRegionAccessPointRoutes
 * body. The answer is 0 or ERR_INVALID with a reason that an error body can
 * carry; a success satisfies the result's contract, renders as a Get result,
 * and written back as a request parses to the same updates. Finally the body
 * itself goes through the escaper: when it is accepted, expat reads back the
 * very same bytes.
 */
#include <expat.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/check.h"
#include "base/err.h"
#include "router/admin_xml.h"
#include "router/routes.h"

#define CAP_MAX (ROUTER_REGIONS_MAX + 2)

static bool same(struct iov a, struct iov b)
{
	return (a.base == NULL) == (b.base == NULL) && iov_eq(a, b);
}

static void check_updates(const struct router_admin_update *u, uint32_t n, uint32_t cap)
{
	CHECK(n <= cap && n <= ROUTER_REGIONS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		CHECK(u[i].bucket.base || u[i].region.base);
		CHECK(!u[i].bucket.base || (u[i].bucket.len >= ROUTER_ADMIN_BUCKET_MIN &&
		                            u[i].bucket.len <= ROUTER_ADMIN_BUCKET_MAX));
		CHECK(!u[i].region.base || (u[i].region.len >= ROUTER_ADMIN_REGION_MIN &&
		                            u[i].region.len <= ROUTER_ADMIN_REGION_MAX));
		CHECK(u[i].percent >= 0 && u[i].percent <= 100);
	}
}

static void add_leaf(struct buf *b, const char *name, struct iov v)
{
	if (!v.base)
		return;
	CHECK(buf_printf(b, "<%s>", name) == 0);
	CHECK(router_admin_xml_escape(b, v) == 0);
	CHECK(buf_printf(b, "</%s>", name) == 0);
}

/* Written back as a request, the updates parse to themselves. */
static void check_round_trip(struct arena *a, const struct router_admin_update *u, uint32_t n)
{
	struct buf b;
	buf_init(&b, ROUTER_ADMIN_XML_MAX);
	CHECK(buf_add_str(&b,
	                  "<SubmitMultiRegionAccessPointRoutesRequest xmlns=\"" ROUTER_ADMIN_XML_NS
	                  "\"><RouteUpdates>") == 0);
	for (uint32_t i = 0; i < n; i++) {
		CHECK(buf_add_str(&b, "<Route>") == 0);
		add_leaf(&b, "Bucket", u[i].bucket);
		add_leaf(&b, "Region", u[i].region);
		CHECK(buf_printf(&b, "<TrafficDialPercentage>%d</TrafficDialPercentage></Route>",
		                 (int)u[i].percent) == 0);
	}
	CHECK(buf_add_str(&b, "</RouteUpdates></SubmitMultiRegionAccessPointRoutesRequest>") == 0);

	struct router_admin_update again[CAP_MAX];
	uint32_t n2;
	char detail[256];
	CHECK(router_admin_xml_parse_submit(a, b.data, b.len, again, CAP_MAX, &n2, detail,
	                                    sizeof(detail)) == 0);
	CHECK(n2 == n);
	for (uint32_t i = 0; i < n; i++) {
		CHECK(same(again[i].bucket, u[i].bucket));
		CHECK(same(again[i].region, u[i].region));
		CHECK(again[i].percent == u[i].percent);
	}
	buf_free(&b);
}

/* A NUL-terminated copy (parsed values hold no NUL: XML cannot carry one). */
static const char *cstr(struct arena *a, struct iov v)
{
	if (!v.base)
		return NULL;
	CHECK(memchr(v.base, '\0', v.len) == NULL);
	struct iov c = arena_printf(a, "%.*s", (int)v.len, v.base);
	CHECK(c.base);
	return c.base;
}

/* Whatever the parser accepted, the Get writer can write. */
static void check_render(struct arena *a, const struct router_admin_update *u, uint32_t n)
{
	struct router_admin_route r[CAP_MAX];
	for (uint32_t i = 0; i < n; i++)
		r[i] = (struct router_admin_route){ cstr(a, u[i].bucket), cstr(a, u[i].region),
			                            (int)u[i].percent, "UP", (double)i };
	struct buf b;
	buf_init(&b, 1u << 20);
	CHECK(router_admin_xml_routes(&b, "m", r, n) == 0);
	buf_free(&b);
}

struct echo {
	struct buf text;
	int depth;
};

static void echo_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	(void)name;
	(void)atts;
	((struct echo *)ud)->depth++;
}

static void echo_text(void *ud, const XML_Char *s, int len)
{
	CHECK(buf_add(&((struct echo *)ud)->text, s, (size_t)len) == 0);
}

/* Escaped text reads back as itself. */
static void check_escape(const char *p, size_t n)
{
	struct buf b;
	buf_init(&b, 8 * n + 64);
	CHECK(buf_add_str(&b, "<a>") == 0);
	int rc = router_admin_xml_escape(&b, iov_make(p, n));
	CHECK(rc == 0 || rc == ERR_INVALID);
	if (rc == ERR_INVALID) {
		CHECK(b.len == 3);
		buf_free(&b);
		return;
	}
	CHECK(buf_add_str(&b, "</a>") == 0);
	struct echo e = { .depth = 0 };
	buf_init(&e.text, n + 1);
	XML_Parser x = XML_ParserCreate(NULL);
	CHECK(x);
	XML_SetUserData(x, &e);
	XML_SetElementHandler(x, echo_start, NULL);
	XML_SetCharacterDataHandler(x, echo_text);
	CHECK(XML_Parse(x, b.data, (int)b.len, XML_TRUE) == XML_STATUS_OK);
	XML_ParserFree(x);
	CHECK(e.depth == 1 && iov_eq(buf_iov(&e.text), iov_make(p, n)));
	buf_free(&e.text);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint32_t cap = data[0] % (CAP_MAX + 1);
	const char *body = (const char *)data + 1;
	size_t n = size - 1;

	struct arena *a = arena_new(4u << 20);
	CHECK(a);
	struct router_admin_update u[CAP_MAX];
	uint32_t nout = 99;
	char detail[256];
	int rc = router_admin_xml_parse_submit(a, body, n, u, cap, &nout, detail, sizeof(detail));
	CHECK(rc == 0 || rc == ERR_INVALID);
	if (rc == 0) {
		check_updates(u, nout, cap);
		check_round_trip(a, u, nout);
		check_render(a, u, nout);
	} else {
		CHECK(nout == 0 && detail[0] != '\0');
		struct buf b;
		buf_init(&b, 4096);
		CHECK(router_admin_xml_error(&b, "InvalidRequest", detail) == 0);
		buf_free(&b);
	}
	arena_free(a);

	if (n <= 4096)
		check_escape(body, n);
	return 0;
}
