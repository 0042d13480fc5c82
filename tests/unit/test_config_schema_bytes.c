/*
 * config/schema: byte sizes. The strict parser as a table (units, both
 * multiples, overflow at the exact edge, everything loose refused), and the
 * getter's range, absence and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t want;
	} ok[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "7B", 7 },
		{ "1KiB", 1024 },
		{ "256MiB", 256ull << 20 },
		{ "2GiB", 2ull << 30 },
		{ "3TiB", 3ull << 40 },
		{ "1kB", 1000 },
		{ "5MB", 5000000 },
		{ "1GB", 1000000000 },
		{ "2TB", 2000000000000ull },
		{ "007KiB", 7168 },
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551615B", UINT64_MAX },
		{ "16777215TiB", 16777215ull << 40 }, /* the largest TiB count that fits */
	};
	for (size_t i = 0; i < N_ELEMS(ok); i++) {
		uint64_t n = 12345;
		if (config_schema_parse_bytes(iov_cstr(ok[i].text), &n) != 0)
			fail_msg("refused %s", ok[i].text);
		if (n != ok[i].want)
			fail_msg("%s gave %llu", ok[i].text, (unsigned long long)n);
	}
	static const char *const bad[] = {
		"",
		"MiB",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1 MiB",
		"1.5GiB",
		"1mib",
		"1MIB",
		"1Mib",
		"1K",
		"1M",
		"1KB",
		"1kb",
		"1b",
		"1iB",
		"1MiBs",
		"0x10",
		"1e6",
		"1_000",
		"18446744073709551616",
		"16777216TiB",
		"18446744073709552kB",
	};
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		uint64_t n = 12345;
		if (config_schema_parse_bytes(iov_cstr(bad[i]), &n) != ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(n, 12345);
	}
	/* A slice is read to its length only. */
	uint64_t n = 0;
	assert_int_equal(config_schema_parse_bytes(iov_make("64KiB trailing", 5), &n), 0);
	assert_int_equal(n, 64 << 10);
}

static const char doc[] = "mem: 256MiB\n"       /* 1 */
                          "disk: 1GB\n"         /* 2 */
                          "small: 1KiB\n"       /* 3 */
                          "bad: 12 MiB\n"       /* 4 */
                          "ref: !Ref X\n"       /* 5 */
                          "list: [1]\n"         /* 6 */
                          "quoted: \"2KiB\"\n"; /* 7 */

static void test_getter(void **state)
{
	(void)state;
	struct yaml_tree *t = NULL;
	char err[YAML_TREE_ERR_LEN];
	assert_int_equal(yaml_tree_parse("s.yaml", doc, strlen(doc), &t, err, sizeof(err)), 0);
	const struct yaml_tree_node *root = yaml_tree_root(t);
	struct config_schema s;

	config_schema_init(&s, t, err, sizeof(err));
	uint64_t v = 9;
	assert_int_equal(config_schema_bytes(&s, root, "mem", CONFIG_REQUIRED, 0, UINT64_MAX, &v),
	                 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(config_schema_bytes(&s, root, "disk", CONFIG_REQUIRED, 0, UINT64_MAX, &v),
	                 0);
	assert_int_equal(v, 1000000000);
	assert_int_equal(config_schema_bytes(&s, root, "quoted", CONFIG_REQUIRED, 2048, 2048, &v),
	                 0);
	assert_int_equal(v, 2048);
	v = 9;
	assert_int_equal(config_schema_bytes(&s, root, "absent", CONFIG_OPTIONAL, 0, 10, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(s.rc, 0);

	static const struct {
		const char *key;
		enum config_schema_flags flags;
		uint64_t min, max;
		const char *msg;
	} errs[] = {
		{ "small", CONFIG_REQUIRED, 1025, 4096,
		  "s.yaml:3:1: small: 1KiB is outside 1025..4096 bytes" },
		{ "small", CONFIG_REQUIRED, 0, 1023,
		  "s.yaml:3:1: small: 1KiB is outside 0..1023 bytes" },
		{ "bad", CONFIG_REQUIRED, 0, UINT64_MAX,
		  "s.yaml:4:1: bad: \"12 MiB\" is not a byte size (like 4096, 512KiB, 256MiB, 2GiB "
		  "or 1GB)" },
		{ "ref", CONFIG_OPTIONAL, 0, UINT64_MAX,
		  "s.yaml:5:1: ref: expected a byte size, not a !Ref value" },
		{ "list", CONFIG_OPTIONAL, 0, UINT64_MAX,
		  "s.yaml:6:1: list: expected a byte size, got a sequence" },
		{ "absent", CONFIG_REQUIRED, 0, UINT64_MAX,
		  "s.yaml:1:1: missing required key \"absent\"" },
	};
	for (size_t i = 0; i < N_ELEMS(errs); i++) {
		config_schema_init(&s, t, err, sizeof(err));
		v = 9;
		assert_int_equal(config_schema_bytes(&s, root, errs[i].key, errs[i].flags,
		                                     errs[i].min, errs[i].max, &v),
		                 ERR_CONFIG_SCHEMA);
		assert_int_equal(v, 9);
		assert_string_equal(err, errs[i].msg);
		/* Sticky: a later good read returns the first error, message kept. */
		assert_int_equal(
		    config_schema_bytes(&s, root, "mem", CONFIG_REQUIRED, 0, UINT64_MAX, &v),
		    ERR_CONFIG_SCHEMA);
		assert_int_equal(v, 9);
		assert_string_equal(err, errs[i].msg);
	}
	yaml_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_getter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
