/* repl/list_xml.c: reading a peer's ListVersionsResult. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/err.h"
#include "repl/list_xml.h"

static struct arena *A;

static int parse(const char *s, struct repl_list *l)
{
	arena_reset(A);
	return repl_list_parse(iov_cstr(s), A, l);
}

static void reads_versions_markers_and_the_next_page(void **state)
{
	(void)state;
	struct repl_list l;
	assert_int_equal(
	    parse("<?xml version=\"1.0\"?>"
	          "<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	          "<Name>b</Name><IsTruncated>true</IsTruncated>"
	          "<NextKeyMarker>k&amp;2</NextKeyMarker><NextVersionIdMarker>v2</"
	          "NextVersionIdMarker>"
	          "<Version><Key>k1</Key><VersionId>v1</VersionId><ETag>&quot;e&quot;</ETag>"
	          "<Owner><ID>o</ID><DisplayName>d</DisplayName></Owner></Version>"
	          "<DeleteMarker><Owner><ID>o</ID></Owner><Key>k&amp;2</Key>"
	          "<VersionId>v2</VersionId></DeleteMarker>"
	          "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
	          "</ListVersionsResult>",
	          &l),
	    0);
	assert_int_equal(l.n, 2);
	assert_true(iov_eq(l.entries[0].key, IOV_LIT("k1")));
	assert_true(iov_eq(l.entries[0].version_id, IOV_LIT("v1")));
	assert_false(l.entries[0].marker);
	assert_true(iov_eq(l.entries[1].key, IOV_LIT("k&2")));
	assert_true(l.entries[1].marker);
	assert_true(l.truncated);
	assert_true(iov_eq(l.next_key, IOV_LIT("k&2")));
	assert_true(iov_eq(l.next_vid, IOV_LIT("v2")));
	assert_int_equal(parse("<ListVersionsResult><IsTruncated>false</IsTruncated>"
	                       "</ListVersionsResult>",
	                       &l),
	                 0);
	assert_int_equal(l.n, 0);
	assert_false(l.truncated);
}

static void refuses_what_is_not_a_listing(void **state)
{
	(void)state;
	struct repl_list l;
	assert_int_equal(parse("<Error><Code>NoSuchBucket</Code></Error>", &l), ERR_INVALID);
	assert_int_equal(parse("<ListVersionsResult><Version><Key>k</Key></Version>"
	                       "</ListVersionsResult>",
	                       &l),
	                 ERR_INVALID); /* no version id */
	assert_int_equal(parse("<ListVersionsResult>", &l), ERR_INVALID);
	assert_int_equal(parse("", &l), ERR_INVALID);
	assert_int_equal(parse("<!DOCTYPE x [<!ENTITY a \"b\">]><ListVersionsResult>&a;"
	                       "</ListVersionsResult>",
	                       &l),
	                 ERR_INVALID);
	assert_null(l.entries);
}

static void caps_hold(void **state)
{
	(void)state;
	struct repl_list l;
	char big[REPL_LIST_TEXT_MAX + 200];
	snprintf(big, sizeof(big), "<ListVersionsResult><Version><Key>");
	size_t n = strlen(big);
	memset(big + n, 'k', REPL_LIST_TEXT_MAX + 1);
	snprintf(big + n + REPL_LIST_TEXT_MAX + 1, 100,
	         "</Key><VersionId>v</VersionId></Version></ListVersionsResult>");
	assert_int_equal(parse(big, &l), ERR_TOO_BIG);
	/* REPL_LIST_MAX entries fit, one more does not. */
	static char many[(REPL_LIST_MAX + 2) * 64];
	size_t off = (size_t)snprintf(many, sizeof(many), "<ListVersionsResult>");
	for (int i = 0; i < REPL_LIST_MAX; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off,
		                        "<Version><Key>k%d</Key><VersionId>v</VersionId></Version>",
		                        i);
	snprintf(many + off, sizeof(many) - off, "</ListVersionsResult>");
	assert_int_equal(parse(many, &l), 0);
	assert_int_equal(l.n, REPL_LIST_MAX);
	snprintf(many + off, sizeof(many) - off,
	         "<Version><Key>x</Key><VersionId>v</VersionId></Version></ListVersionsResult>");
	assert_int_equal(parse(many, &l), ERR_TOO_BIG);
}

int main(void)
{
	A = arena_new(64u << 20);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_versions_markers_and_the_next_page),
		cmocka_unit_test(refuses_what_is_not_a_listing),
		cmocka_unit_test(caps_hold),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(A);
	return rc;
}
