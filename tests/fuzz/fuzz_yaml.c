/*
 * libFuzzer: arbitrary bytes into config/yaml_tree. A refusal must be one
 * of the documented codes with a "f.yaml:line:col: " message and no tree.
 * A tree is walked whole: the node count, depth, marks, NUL-terminated
 * scalars, scalar keys, unique keys (so lookup finds each pair), tags that
 * agree with their text, NULL past the ends. The schema helpers then run
 * over the root map and may only succeed or report a schema error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/check.h"
#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"

static const char *const tag_text[] = {
	[YAML_TREE_TAG_REF] = "!Ref",       [YAML_TREE_TAG_SUB] = "!Sub",
	[YAML_TREE_TAG_GETATT] = "!GetAtt", [YAML_TREE_TAG_JOIN] = "!Join",
	[YAML_TREE_TAG_SELECT] = "!Select",
};

static size_t walk(const struct yaml_tree_node *n, size_t depth, size_t size)
{
	struct yaml_tree_mark m = yaml_tree_mark(n);
	CHECK(m.line >= 1 && m.line <= size + 1 && m.col >= 1 && m.col <= size + 1);

	enum yaml_tree_tag tag = yaml_tree_tag(n);
	struct iov tt = yaml_tree_tag_text(n);
	CHECK((tag == YAML_TREE_TAG_NONE) == (tt.base == NULL));
	CHECK(tt.len <= YAML_TREE_MAX_TAG);
	if (tag != YAML_TREE_TAG_NONE && tag != YAML_TREE_TAG_OTHER)
		CHECK(iov_eq(tt, iov_cstr(tag_text[tag])));
	for (size_t i = YAML_TREE_TAG_REF; tag == YAML_TREE_TAG_OTHER && i <= YAML_TREE_TAG_SELECT;
	     i++)
		CHECK(!iov_eq(tt, iov_cstr(tag_text[i])));

	size_t len = yaml_tree_len(n), count = 1;
	switch (yaml_tree_kind(n)) {
	case YAML_TREE_SCALAR: {
		struct iov v = yaml_tree_scalar(n);
		CHECK(v.base != NULL && v.base[v.len] == '\0' && len == 0);
		CHECK(yaml_tree_item(n, 0) == NULL && yaml_tree_key(n, 0) == NULL);
		return 1;
	}
	case YAML_TREE_SEQ:
		CHECK(depth < YAML_TREE_MAX_DEPTH);
		CHECK(yaml_tree_scalar(n).base == NULL && !yaml_tree_plain(n));
		CHECK(yaml_tree_item(n, len) == NULL && yaml_tree_key(n, 0) == NULL);
		for (size_t i = 0; i < len; i++)
			count += walk(yaml_tree_item(n, i), depth + 1, size);
		return count;
	case YAML_TREE_MAP:
		CHECK(depth < YAML_TREE_MAX_DEPTH);
		CHECK(yaml_tree_key(n, len) == NULL && yaml_tree_value(n, len) == NULL);
		CHECK(yaml_tree_item(n, 0) == NULL);
		for (size_t i = 0; i < len; i++) {
			const struct yaml_tree_node *k = yaml_tree_key(n, i);
			CHECK(yaml_tree_kind(k) == YAML_TREE_SCALAR);
			size_t at = (size_t)-1;
			/* keys are unique, so a lookup finds this very pair (only
			 * for the first pairs: lookup is linear) */
			if (i < 64) {
				CHECK(yaml_tree_get(n, yaml_tree_scalar(k), &at) ==
				      yaml_tree_value(n, i));
				CHECK(at == i);
			}
			count += walk(k, depth + 1, size);
			count += walk(yaml_tree_value(n, i), depth + 1, size);
		}
		return count;
	}
	CHECK(!"unknown node kind");
	return 0;
}

static const char *const known[] = { "Parameters", "Resources", "Outputs", "Type",
	                             "Properties", "DependsOn", "Port",    "Timeout" };

static void schema(const struct yaml_tree *t)
{
	const struct yaml_tree_node *root = yaml_tree_root(t);
	if (yaml_tree_kind(root) != YAML_TREE_MAP)
		return;
	char err[YAML_TREE_ERR_LEN];
	struct config_schema s;
	for (size_t i = 0; i < yaml_tree_len(root) && i < 8; i++) {
		const char *key = yaml_tree_scalar(yaml_tree_key(root, i)).base;
		struct iov str;
		uint64_t u;
		bool b;
		config_schema_init(&s, t, err, sizeof(err));
		int rc = config_schema_str(&s, root, key, CONFIG_REQUIRED, &str);
		CHECK(rc == 0 || rc == ERR_CONFIG_SCHEMA);
		config_schema_init(&s, t, err, sizeof(err));
		rc = config_schema_u64(&s, root, key, CONFIG_REQUIRED, 1, 65535, &u);
		CHECK(rc == 0 || (rc == ERR_CONFIG_SCHEMA && err[0] != '\0'));
		CHECK(rc != 0 || (u >= 1 && u <= 65535));
		config_schema_init(&s, t, err, sizeof(err));
		rc = config_schema_bool(&s, root, key, CONFIG_OPTIONAL, &b);
		CHECK(rc == 0 || rc == ERR_CONFIG_SCHEMA);
		config_schema_init(&s, t, err, sizeof(err));
		rc = config_schema_duration(&s, root, key, CONFIG_REQUIRED, 0, 86400000, &u);
		CHECK(rc == 0 || rc == ERR_CONFIG_SCHEMA);
		CHECK(rc != 0 || u <= 86400000);
	}
	config_schema_init(&s, t, err, sizeof(err));
	int rc = config_schema_keys(&s, root, known, sizeof(known) / sizeof(known[0]));
	CHECK(rc == 0 || (rc == ERR_CONFIG_SCHEMA && strncmp(err, "f.yaml:", 7) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[YAML_TREE_ERR_LEN];
	struct yaml_tree *t = (struct yaml_tree *)1;
	int rc = yaml_tree_parse("f.yaml", (const char *)data, size, &t, err, sizeof(err));
	if (rc != 0) {
		CHECK(rc == ERR_CONFIG_YAML || rc == ERR_TOO_BIG || rc == ERR_NOMEM);
		CHECK(t == NULL);
		unsigned line, col;
		int used = 0;
		CHECK(sscanf(err, "f.yaml:%u:%u: %n", &line, &col, &used) == 2 && used > 0);
		CHECK(line >= 1 && col >= 1 && err[used] != '\0');
		return 0;
	}
	size_t n = walk(yaml_tree_root(t), 0, size);
	CHECK(n == yaml_tree_count(t) && n <= YAML_TREE_MAX_NODES);
	schema(t);
	yaml_tree_free(t);
	return 0;
}
