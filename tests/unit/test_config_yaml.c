/*
 * config/yaml_tree and config/schema: the tree's shape, tags and marks in
 * block and flow styles, every cap and refusal with its exact position,
 * scalar styles, and the typed getters with their messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "config/schema.h"
#include "config/yaml_tree.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct yaml_tree *parse_n(const char *p, size_t n)
{
	char err[YAML_TREE_ERR_LEN];
	struct yaml_tree *t = NULL;
	int rc = yaml_tree_parse("t.yaml", p, n, &t, err, sizeof(err));
	if (rc != 0)
		fail_msg("parse failed (%s): %s", err_name(rc), err);
	assert_non_null(t);
	return t;
}

static struct yaml_tree *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static void refused_n(const char *p, size_t n, int want_rc, const char *want_err)
{
	char err[YAML_TREE_ERR_LEN];
	struct yaml_tree *t = (struct yaml_tree *)1;
	int rc = yaml_tree_parse("t.yaml", p, n, &t, err, sizeof(err));
	if (rc != want_rc)
		fail_msg("want %s, got %s (%s)", err_name(want_rc), err_name(rc), err);
	assert_null(t);
	assert_string_equal(err, want_err);
}

static void refused(const char *text, int want_rc, const char *want_err)
{
	refused_n(text, strlen(text), want_rc, want_err);
}

static void want_scalar(const struct yaml_tree_node *n, const char *text)
{
	assert_non_null(n);
	assert_int_equal(yaml_tree_kind(n), YAML_TREE_SCALAR);
	struct iov v = yaml_tree_scalar(n);
	if (!iov_eq(v, iov_cstr(text)))
		fail_msg("scalar is '%.*s', want '%s'", IOV_ARG(v), text);
	assert_int_equal(v.base[v.len], '\0');
}

static void want_mark(const struct yaml_tree_node *n, unsigned line, unsigned col)
{
	struct yaml_tree_mark m = yaml_tree_mark(n);
	if (m.line != line || m.col != col)
		fail_msg("mark is %u:%u, want %u:%u", m.line, m.col, line, col);
}

static const struct yaml_tree_node *get(const struct yaml_tree_node *map, const char *key)
{
	const struct yaml_tree_node *v = yaml_tree_get(map, iov_cstr(key), NULL);
	if (!v)
		fail_msg("no key %s", key);
	return v;
}

/* ---- shape, order and marks ---- */

static void test_block_map_and_seq(void **state)
{
	(void)state;
	struct yaml_tree *t = parse("name: store-a\n"
	                            "ports:\n"
	                            "  - 8080\n"
	                            "  - \"9090\"\n"
	                            "nested:\n"
	                            "  deep:\n"
	                            "    x: 1\n");
	const struct yaml_tree_node *root = yaml_tree_root(t);
	assert_int_equal(yaml_tree_kind(root), YAML_TREE_MAP);
	want_mark(root, 1, 1);
	assert_int_equal(yaml_tree_len(root), 3);
	const char *keys[] = { "name", "ports", "nested" };
	const unsigned lines[] = { 1, 2, 5 };
	for (size_t i = 0; i < 3; i++) {
		want_scalar(yaml_tree_key(root, i), keys[i]);
		want_mark(yaml_tree_key(root, i), lines[i], 1);
	}
	assert_null(yaml_tree_key(root, 3));
	assert_null(yaml_tree_value(root, 3));
	assert_null(yaml_tree_item(root, 0));

	const struct yaml_tree_node *name = yaml_tree_value(root, 0);
	want_scalar(name, "store-a");
	want_mark(name, 1, 7);
	assert_true(yaml_tree_plain(name));
	assert_int_equal(yaml_tree_tag(name), YAML_TREE_TAG_NONE);
	assert_null(yaml_tree_tag_text(name).base);
	assert_int_equal(yaml_tree_len(name), 0);

	const struct yaml_tree_node *ports = get(root, "ports");
	assert_int_equal(yaml_tree_kind(ports), YAML_TREE_SEQ);
	want_mark(ports, 3, 3);
	assert_int_equal(yaml_tree_len(ports), 2);
	assert_null(yaml_tree_scalar(ports).base);
	want_scalar(yaml_tree_item(ports, 0), "8080");
	want_mark(yaml_tree_item(ports, 0), 3, 5);
	assert_true(yaml_tree_plain(yaml_tree_item(ports, 0)));
	want_scalar(yaml_tree_item(ports, 1), "9090");
	want_mark(yaml_tree_item(ports, 1), 4, 5);
	assert_false(yaml_tree_plain(yaml_tree_item(ports, 1)));
	assert_null(yaml_tree_item(ports, 2));
	assert_null(yaml_tree_key(ports, 0));

	const struct yaml_tree_node *x = get(get(get(root, "nested"), "deep"), "x");
	want_scalar(x, "1");
	want_mark(x, 7, 8);

	size_t idx = 99;
	assert_ptr_equal(yaml_tree_get(root, IOV_LIT("nested"), &idx), yaml_tree_value(root, 2));
	assert_int_equal(idx, 2);
	assert_null(yaml_tree_get(root, IOV_LIT("Name"), NULL));
	assert_null(yaml_tree_get(root, IOV_LIT("nam"), NULL));
	assert_null(yaml_tree_get(ports, IOV_LIT("0"), NULL));
	assert_int_equal(yaml_tree_count(t), 13);
	assert_string_equal(yaml_tree_name(t), "t.yaml");
	yaml_tree_free(t);
	yaml_tree_free(NULL);
}

static void test_flow_style(void **state)
{
	(void)state;
	struct yaml_tree *t = parse("{a: [1, 2], b: {c: d}, 'e': []}");
	const struct yaml_tree_node *root = yaml_tree_root(t);
	assert_int_equal(yaml_tree_kind(root), YAML_TREE_MAP);
	assert_int_equal(yaml_tree_len(root), 3);
	const struct yaml_tree_node *a = get(root, "a");
	assert_int_equal(yaml_tree_kind(a), YAML_TREE_SEQ);
	want_mark(a, 1, 5);
	want_scalar(yaml_tree_item(a, 1), "2");
	want_mark(yaml_tree_item(a, 1), 1, 9);
	const struct yaml_tree_node *c = get(get(root, "b"), "c");
	want_scalar(c, "d");
	want_mark(c, 1, 20);
	want_mark(yaml_tree_key(root, 2), 1, 24);
	assert_false(yaml_tree_plain(yaml_tree_key(root, 2)));
	assert_int_equal(yaml_tree_kind(get(root, "e")), YAML_TREE_SEQ);
	assert_int_equal(yaml_tree_len(get(root, "e")), 0);
	yaml_tree_free(t);

	/* A scalar or a sequence may be the root. */
	t = parse("just text\n");
	want_scalar(yaml_tree_root(t), "just text");
	yaml_tree_free(t);
	t = parse("- a\n- [b, {c: d}]\n");
	assert_int_equal(yaml_tree_kind(yaml_tree_root(t)), YAML_TREE_SEQ);
	want_scalar(get(yaml_tree_item(yaml_tree_item(yaml_tree_root(t), 1), 1), "c"), "d");
	yaml_tree_free(t);
}

/* YAML 1.1 would make these booleans, numbers and nulls: here they stay text. */
static void test_no_type_guessing(void **state)
{
	(void)state;
	struct yaml_tree *t = parse("a: yes\nb: 1.5\nc: ~\nd:\ne: 0x10\nf: True\ng: null\n"
	                            "h: \"\"\n");
	const struct yaml_tree_node *r = yaml_tree_root(t);
	want_scalar(get(r, "a"), "yes");
	want_scalar(get(r, "b"), "1.5");
	want_scalar(get(r, "c"), "~");
	want_scalar(get(r, "d"), "");
	assert_true(yaml_tree_plain(get(r, "d")));
	want_scalar(get(r, "e"), "0x10");
	want_scalar(get(r, "f"), "True");
	want_scalar(get(r, "g"), "null");
	want_scalar(get(r, "h"), "");
	assert_false(yaml_tree_plain(get(r, "h")));
	yaml_tree_free(t);
}

static void test_quoted_and_block_scalars(void **state)
{
	(void)state;
	struct yaml_tree *t = parse("dq: \"a\\tb\\x41\\0z\\u00e9\"\n"
	                            "sq: 'it''s # not a comment'\n"
	                            "lit: |\n"
	                            "  line one\n"
	                            "    indented\n"
	                            "\n"
	                            "fold: >\n"
	                            "  one\n"
	                            "  two\n"
	                            "strip: |-\n"
	                            "  x\n"
	                            "keep: |+\n"
	                            "  y\n"
	                            "\n"
	                            "plain: multi\n"
	                            "  line   words\n"
	                            "end: 1 # comment\n");
	const struct yaml_tree_node *r = yaml_tree_root(t);
	struct iov dq = yaml_tree_scalar(get(r, "dq"));
	assert_int_equal(dq.len, 8);
	assert_memory_equal(dq.base, "a\tbA\0z\xc3\xa9", 8);
	want_scalar(get(r, "sq"), "it's # not a comment");
	want_scalar(get(r, "lit"), "line one\n  indented\n");
	assert_false(yaml_tree_plain(get(r, "lit")));
	want_mark(get(r, "lit"), 3, 6);
	want_scalar(get(r, "fold"), "one two\n");
	want_scalar(get(r, "strip"), "x");
	want_scalar(get(r, "keep"), "y\n\n");
	want_scalar(get(r, "plain"), "multi line   words");
	want_scalar(get(r, "end"), "1");
	want_mark(get(r, "end"), 17, 6);
	yaml_tree_free(t);
}

static const char cfn[] = "Resources:\n"
                          "  Bucket:\n"
                          "    Type: Objstack::S3::Store\n"
                          "    Properties:\n"
                          "      Peer: !Ref Other\n"
                          "      Url: !Sub 'http://${Bucket.Host}'\n"
                          "      Ep: !GetAtt [Bucket, Endpoint]\n"
                          "      Ep2: !GetAtt Bucket.Endpoint\n"
                          "      J: !Join [\",\", [a, b]]\n"
                          "      S: !Select [0, !Ref List]\n"
                          "      X: !Custom thing\n"
                          "      Y: !!str 12\n"
                          "      M: !Sub {a: b}\n";

static void test_tags(void **state)
{
	(void)state;
	struct yaml_tree *t = parse(cfn);
	const struct yaml_tree_node *p =
	    get(get(get(yaml_tree_root(t), "Resources"), "Bucket"), "Properties");
	const struct yaml_tree_node *n = get(p, "Peer");
	want_scalar(n, "Other");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_REF);
	assert_true(iov_eq(yaml_tree_tag_text(n), IOV_LIT("!Ref")));
	want_mark(n, 5, 13);

	n = get(p, "Url");
	want_scalar(n, "http://${Bucket.Host}");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_SUB);

	n = get(p, "Ep");
	assert_int_equal(yaml_tree_kind(n), YAML_TREE_SEQ);
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_GETATT);
	want_mark(n, 7, 11);
	want_scalar(yaml_tree_item(n, 1), "Endpoint");
	assert_int_equal(yaml_tree_tag(yaml_tree_item(n, 1)), YAML_TREE_TAG_NONE);

	assert_int_equal(yaml_tree_tag(get(p, "Ep2")), YAML_TREE_TAG_GETATT);
	n = get(p, "J");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_JOIN);
	want_scalar(yaml_tree_item(n, 0), ",");
	n = get(p, "S");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_SELECT);
	assert_int_equal(yaml_tree_tag(yaml_tree_item(n, 1)), YAML_TREE_TAG_REF);
	want_scalar(yaml_tree_item(n, 1), "List");
	want_mark(yaml_tree_item(n, 1), 10, 22);

	n = get(p, "X");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_OTHER);
	assert_true(iov_eq(yaml_tree_tag_text(n), IOV_LIT("!Custom")));
	n = get(p, "Y");
	want_scalar(n, "12");
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_OTHER);
	assert_true(iov_eq(yaml_tree_tag_text(n), IOV_LIT("tag:yaml.org,2002:str")));
	n = get(p, "M");
	assert_int_equal(yaml_tree_kind(n), YAML_TREE_MAP);
	assert_int_equal(yaml_tree_tag(n), YAML_TREE_TAG_SUB);
	/* Tags match exactly: !ref is not !Ref. */
	yaml_tree_free(t);
	t = parse("a: !ref x\n");
	assert_int_equal(yaml_tree_tag(get(yaml_tree_root(t), "a")), YAML_TREE_TAG_OTHER);
	yaml_tree_free(t);
}

/* ---- refusals ---- */

static void test_anchors_and_aliases(void **state)
{
	(void)state;
	refused("a: 1\nb: &x 2\n", ERR_CONFIG_YAML, "t.yaml:2:4: anchors (&x) are not allowed");
	refused("a: *x\n", ERR_CONFIG_YAML, "t.yaml:1:4: aliases (*x) are not allowed");
	refused("a: [1, *x]\n", ERR_CONFIG_YAML, "t.yaml:1:8: aliases (*x) are not allowed");
	refused("base: &b\n  k: v\n", ERR_CONFIG_YAML, "t.yaml:1:7: anchors (&b) are not allowed");
	refused("- &s [a]\n", ERR_CONFIG_YAML, "t.yaml:1:3: anchors (&s) are not allowed");
	refused("&k key: v\n", ERR_CONFIG_YAML, "t.yaml:1:1: anchors (&k) are not allowed");
	/* the classic billion laughs never gets past its first anchor */
	refused("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a]\nc: [*b,*b]\n", ERR_CONFIG_YAML,
	        "t.yaml:1:4: anchors (&a) are not allowed");
	/* merge keys need an alias, so they are refused too */
	refused("a: 1\nb:\n  <<: *a\n", ERR_CONFIG_YAML,
	        "t.yaml:3:7: aliases (*a) are not allowed");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	refused("a: 1\nb:\n  c: 2\n  c: 3\n", ERR_CONFIG_YAML,
	        "t.yaml:4:3: duplicate key \"c\" (first at 3:3)");
	refused("{a: 1, a: 2}", ERR_CONFIG_YAML, "t.yaml:1:8: duplicate key \"a\" (first at 1:2)");
	/* quoting does not make a different key */
	refused("a: 1\n\"a\": 2\n", ERR_CONFIG_YAML,
	        "t.yaml:2:1: duplicate key \"a\" (first at 1:1)");
	/* the first duplicate in document order, even with a later one outside */
	refused("x:\n  k: 1\n  k: 2\nx: 3\n", ERR_CONFIG_YAML,
	        "t.yaml:3:3: duplicate key \"k\" (first at 2:3)");
	/* the same key in different maps is fine */
	struct yaml_tree *t = parse("a: {k: 1}\nb: {k: 2}\nc:\n  - k: 3\n  - k: 4\nk: 5\n");
	want_scalar(get(get(yaml_tree_root(t), "b"), "k"), "2");
	yaml_tree_free(t);
	/* a map with many keys, the duplicate at the end */
	size_t n = 5000, cap = n * 16 + 32, len = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(big + len, cap - len, "k%zu: %zu\n", i, i);
	t = parse_n(big, len);
	assert_int_equal(yaml_tree_len(yaml_tree_root(t)), n);
	want_scalar(get(yaml_tree_root(t), "k4321"), "4321");
	yaml_tree_free(t);
	len += (size_t)snprintf(big + len, cap - len, "k1234: again\n");
	char want[96];
	snprintf(want, sizeof(want), "t.yaml:%zu:1: duplicate key \"k1234\" (first at 1235:1)",
	         n + 1);
	refused_n(big, len, ERR_CONFIG_YAML, want);
	free(big);
}

static void test_documents(void **state)
{
	(void)state;
	refused("a: 1\n---\nb: 2\n", ERR_CONFIG_YAML, "t.yaml:2:1: more than one document");
	refused("a\n...\n---\nb\n", ERR_CONFIG_YAML, "t.yaml:3:1: more than one document");
	refused("--- a\n--- b\n", ERR_CONFIG_YAML, "t.yaml:2:1: more than one document");
	refused("", ERR_CONFIG_YAML, "t.yaml:1:1: no document");
	refused("# only a comment\n\n", ERR_CONFIG_YAML, "t.yaml:3:1: no document");
	/* one explicit document, with its end marker, is fine */
	struct yaml_tree *t = parse("---\na: 1\n...\n");
	want_scalar(get(yaml_tree_root(t), "a"), "1");
	yaml_tree_free(t);
	/* an explicit empty document is one empty scalar */
	t = parse("---\n");
	want_scalar(yaml_tree_root(t), "");
	yaml_tree_free(t);
}

static void test_non_scalar_keys(void **state)
{
	(void)state;
	refused("{[a]: 1}", ERR_CONFIG_YAML, "t.yaml:1:2: a map key must be a scalar");
	refused("? [a]\n: 1\n", ERR_CONFIG_YAML, "t.yaml:1:3: a map key must be a scalar");
	refused("a: 1\n? {b: c}\n: 2\n", ERR_CONFIG_YAML, "t.yaml:2:3: a map key must be a scalar");
	/* a tagged scalar is still a scalar key */
	struct yaml_tree *t = parse("!Ref k: v\n");
	assert_int_equal(yaml_tree_tag(yaml_tree_key(yaml_tree_root(t), 0)), YAML_TREE_TAG_REF);
	yaml_tree_free(t);
}

static void test_syntax_errors_keep_libyaml_position(void **state)
{
	(void)state;
	refused(
	    "a: \"unterminated\n", ERR_CONFIG_YAML,
	    "t.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar at 1:4)");
	refused("a: b\n  c: d\n", ERR_CONFIG_YAML,
	        "t.yaml:2:4: mapping values are not allowed in this context");
	refused("a:\n  - 1\n b: 2\n", ERR_CONFIG_YAML,
	        "t.yaml:3:2: did not find expected key (while parsing a block mapping at 1:1)");
	refused("a: [1, 2\n", ERR_CONFIG_YAML,
	        "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at "
	        "1:4)");
	/* not UTF-8: libyaml gives a byte offset, we give line and column */
	refused("a: 1\nb: \xff\n", ERR_CONFIG_YAML, "t.yaml:2:4: invalid leading UTF-8 octet");
	/* UTF-16 is refused: input must be UTF-8 */
	refused_n("\xff\xfe"
	          "a\0:\0 \0"
	          "1\0",
	          10, ERR_CONFIG_YAML, "t.yaml:1:1: invalid leading UTF-8 octet");
	/* a NUL byte is a control character, not the end of the text */
	refused_n("a: b\0c\n", 7, ERR_CONFIG_YAML,
	          "t.yaml:1:5: control characters are not allowed");
}

/* ---- caps ---- */

static void test_input_size_cap(void **state)
{
	(void)state;
	size_t n = YAML_TREE_MAX_INPUT;
	char *p = malloc(n + 1);
	assert_non_null(p);
	memcpy(p, "a: 1\n#", 6);
	memset(p + 6, 'x', n - 6);
	p[n - 1] = '\n';
	struct yaml_tree *t = parse_n(p, n);
	want_scalar(get(yaml_tree_root(t), "a"), "1");
	yaml_tree_free(t);
	p[n] = '\n';
	char want[64];
	snprintf(want, sizeof(want), "t.yaml:1:1: larger than %u bytes", YAML_TREE_MAX_INPUT);
	refused_n(p, n + 1, ERR_TOO_BIG, want);
	free(p);
}

static void test_depth_cap(void **state)
{
	(void)state;
	char p[2 * YAML_TREE_MAX_DEPTH + 8];
	size_t d = YAML_TREE_MAX_DEPTH;
	memset(p, '[', d);
	memset(p + d, ']', d);
	struct yaml_tree *t = parse_n(p, 2 * d);
	const struct yaml_tree_node *n = yaml_tree_root(t);
	for (size_t i = 1; i < d; i++)
		n = yaml_tree_item(n, 0);
	assert_int_equal(yaml_tree_kind(n), YAML_TREE_SEQ);
	assert_int_equal(yaml_tree_len(n), 0);
	yaml_tree_free(t);

	d++;
	memset(p, '[', d);
	memset(p + d, ']', d);
	refused_n(p, 2 * d, ERR_TOO_BIG, "t.yaml:1:33: nested deeper than 32 levels");

	/* block style: line i holds a key of the map at depth i; 32 maps deep
	 * with a scalar in the 32nd is fine */
	char b[4096];
	size_t len = 0;
	for (int i = 0; i < YAML_TREE_MAX_DEPTH - 1; i++)
		len += (size_t)snprintf(b + len, sizeof(b) - len, "%*sk%d:\n", i, "", i);
	len +=
	    (size_t)snprintf(b + len, sizeof(b) - len, "%*sleaf: v\n", YAML_TREE_MAX_DEPTH - 1, "");
	t = parse_n(b, len);
	yaml_tree_free(t);
	/* one more level: the 33rd map starts at line 34, column 33 */
	len += (size_t)snprintf(b + len, sizeof(b) - len, "%*sdeeper:\n%*sk: v\n",
	                        YAML_TREE_MAX_DEPTH - 1, "", YAML_TREE_MAX_DEPTH, "");
	refused_n(b, len, ERR_TOO_BIG, "t.yaml:34:33: nested deeper than 32 levels");
}

static void test_node_cap(void **state)
{
	(void)state;
	/* a flow sequence of items: the root plus MAX-1 items is the limit */
	size_t items = YAML_TREE_MAX_NODES - 1;
	size_t cap = 2 * (items + 1) + 4;
	char *p = malloc(cap);
	assert_non_null(p);
	size_t len = 0;
	p[len++] = '[';
	for (size_t i = 0; i < items; i++) {
		p[len++] = '0';
		p[len++] = ',';
	}
	p[len - 1] = ']';
	struct yaml_tree *t = parse_n(p, len);
	assert_int_equal(yaml_tree_len(yaml_tree_root(t)), items);
	assert_int_equal(yaml_tree_count(t), YAML_TREE_MAX_NODES);
	yaml_tree_free(t);

	/* one item more: refused at that item, column 2 + 2 * items */
	p[len - 1] = ',';
	p[len++] = '0';
	p[len++] = ']';
	char want[64];
	snprintf(want, sizeof(want), "t.yaml:1:%zu: more than %u nodes", 2 + 2 * items,
	         YAML_TREE_MAX_NODES);
	refused_n(p, len, ERR_TOO_BIG, want);
	free(p);
}

static void test_tag_cap(void **state)
{
	(void)state;
	char p[YAML_TREE_MAX_TAG + 32];
	/* a verbatim tag of exactly the cap, then one byte more */
	int n = snprintf(p, sizeof(p), "a: !<%0*d> x\n", YAML_TREE_MAX_TAG, 7);
	struct yaml_tree *t = parse_n(p, (size_t)n);
	assert_int_equal(yaml_tree_tag_text(get(yaml_tree_root(t), "a")).len, YAML_TREE_MAX_TAG);
	yaml_tree_free(t);
	n = snprintf(p, sizeof(p), "a: !<%0*d> x\n", YAML_TREE_MAX_TAG + 1, 7);
	char want[64];
	snprintf(want, sizeof(want), "t.yaml:1:4: tag longer than %u bytes", YAML_TREE_MAX_TAG);
	refused_n(p, (size_t)n, ERR_TOO_BIG, want);
}

static void test_small_error_buffer(void **state)
{
	(void)state;
	char err[12];
	struct yaml_tree *t;
	assert_int_equal(yaml_tree_parse("t.yaml", "a: *x", 5, &t, err, sizeof(err)),
	                 ERR_CONFIG_YAML);
	assert_string_equal(err, "t.yaml:1:4:");
	assert_int_equal(yaml_tree_parse("t.yaml", "a: *x", 5, &t, NULL, 0), ERR_CONFIG_YAML);
	assert_null(t);
}

/* ---- files ---- */

static void test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/test_config_yaml.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, cfn, sizeof(cfn) - 1), (ssize_t)(sizeof(cfn) - 1));
	char err[YAML_TREE_ERR_LEN];
	struct yaml_tree *t;
	assert_int_equal(yaml_tree_load(path, &t, err, sizeof(err)), 0);
	assert_string_equal(yaml_tree_name(t), path);
	assert_non_null(yaml_tree_get(yaml_tree_root(t), IOV_LIT("Resources"), NULL));
	yaml_tree_free(t);

	/* the path names the file in messages */
	assert_int_equal(write(fd, "Resources: {}\n", 14), 14);
	assert_int_equal(yaml_tree_load(path, &t, err, sizeof(err)), ERR_CONFIG_YAML);
	char want[128];
	snprintf(want, sizeof(want), "%s:14:1: duplicate key \"Resources\" (first at 1:1)", path);
	assert_string_equal(err, want);

	/* over the cap */
	assert_int_equal(ftruncate(fd, (off_t)YAML_TREE_MAX_INPUT + 1), 0);
	assert_int_equal(yaml_tree_load(path, &t, err, sizeof(err)), ERR_TOO_BIG);
	snprintf(want, sizeof(want), "%s:1:1: larger than %u bytes", path, YAML_TREE_MAX_INPUT);
	assert_string_equal(err, want);
	close(fd);
	unlink(path);

	assert_int_equal(yaml_tree_load(path, &t, err, sizeof(err)), ERR_IO);
	assert_null(t);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
}

/* ---- schema ---- */

static const char svc[] = "Name: edge-1\n" /* 1 */
                          "Port: 8080\n"   /* 2 */
                          "Workers: 0\n"   /* 3 */
                          "Big: 99999999999999999999\n"
                          "Tls: true\n"       /* 5 */
                          "Debug: yes\n"      /* 6 */
                          "Timeout: 500ms\n"  /* 7 */
                          "Interval: 2s\n"    /* 8 */
                          "Bad: 5x\n"         /* 9 */
                          "Empty:\n"          /* 10 */
                          "Ref: !Ref Other\n" /* 11 */
                          "List: [a]\n"       /* 12 */
                          "Quoted: \"42\"\n"; /* 13 */

struct fixture {
	struct yaml_tree *t;
	const struct yaml_tree_node *root;
	struct config_schema s;
	char err[YAML_TREE_ERR_LEN];
};

static void fixture_open(struct fixture *f)
{
	f->t = parse(svc);
	f->root = yaml_tree_root(f->t);
	config_schema_init(&f->s, f->t, f->err, sizeof(f->err));
}

static void want_error(struct fixture *f, int rc, const char *msg)
{
	assert_int_equal(rc, ERR_CONFIG_SCHEMA);
	assert_int_equal(f->s.rc, ERR_CONFIG_SCHEMA);
	assert_string_equal(f->err, msg);
	yaml_tree_free(f->t);
	fixture_open(f);
}

static void test_schema_str(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	struct iov v = IOV_LIT("default");
	assert_int_equal(config_schema_str(&f.s, f.root, "Name", CONFIG_REQUIRED, &v), 0);
	assert_true(iov_eq(v, IOV_LIT("edge-1")));
	/* numbers are strings too when a string is asked for */
	assert_int_equal(config_schema_str(&f.s, f.root, "Port", CONFIG_REQUIRED, &v), 0);
	assert_true(iov_eq(v, IOV_LIT("8080")));
	v = IOV_LIT("default");
	assert_int_equal(config_schema_str(&f.s, f.root, "Absent", CONFIG_OPTIONAL, &v), 0);
	assert_true(iov_eq(v, IOV_LIT("default")));
	assert_int_equal(config_schema_str(&f.s, f.root, "Empty", CONFIG_OPTIONAL, &v), 0);
	assert_int_equal(v.len, 0);
	assert_int_equal(f.s.rc, 0);

	want_error(&f, config_schema_str(&f.s, f.root, "Absent", CONFIG_REQUIRED, &v),
	           "t.yaml:1:1: missing required key \"Absent\"");
	want_error(&f, config_schema_str(&f.s, f.root, "Empty", CONFIG_REQUIRED, &v),
	           "t.yaml:10:1: Empty: must not be empty");
	want_error(&f, config_schema_str(&f.s, f.root, "Ref", CONFIG_OPTIONAL, &v),
	           "t.yaml:11:1: Ref: expected a string, not a !Ref value");
	want_error(&f, config_schema_str(&f.s, f.root, "List", CONFIG_OPTIONAL, &v),
	           "t.yaml:12:1: List: expected a string, got a sequence");
	want_error(&f, config_schema_str(&f.s, get(f.root, "List"), "x", CONFIG_OPTIONAL, &v),
	           "t.yaml:12:7: expected a map with \"x\", got a sequence");
	yaml_tree_free(f.t);
}

static void test_schema_u64(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	uint64_t x = 7;
	assert_int_equal(config_schema_u64(&f.s, f.root, "Port", CONFIG_REQUIRED, 1, 65535, &x), 0);
	assert_int_equal(x, 8080);
	assert_int_equal(config_schema_u64(&f.s, f.root, "Workers", CONFIG_REQUIRED, 0, 64, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(config_schema_u64(&f.s, f.root, "Quoted", CONFIG_REQUIRED, 0, 64, &x), 0);
	assert_int_equal(x, 42);
	x = 9;
	assert_int_equal(config_schema_u64(&f.s, f.root, "Nope", CONFIG_OPTIONAL, 0, 64, &x), 0);
	assert_int_equal(x, 9);
	assert_int_equal(config_schema_u64(&f.s, f.root, "Port", CONFIG_REQUIRED, 8080, 8080, &x),
	                 0);

	want_error(&f, config_schema_u64(&f.s, f.root, "Port", CONFIG_REQUIRED, 1, 1024, &x),
	           "t.yaml:2:1: Port: \"8080\" is not an integer in 1..1024");
	want_error(&f, config_schema_u64(&f.s, f.root, "Workers", CONFIG_REQUIRED, 1, 64, &x),
	           "t.yaml:3:1: Workers: \"0\" is not an integer in 1..64");
	want_error(&f, config_schema_u64(&f.s, f.root, "Big", CONFIG_REQUIRED, 0, UINT64_MAX, &x),
	           "t.yaml:4:1: Big: \"99999999999999999999\" is not an integer in "
	           "0..18446744073709551615");
	want_error(&f, config_schema_u64(&f.s, f.root, "Name", CONFIG_REQUIRED, 0, 10, &x),
	           "t.yaml:1:1: Name: \"edge-1\" is not an integer in 0..10");
	want_error(&f, config_schema_u64(&f.s, f.root, "Empty", CONFIG_OPTIONAL, 0, 10, &x),
	           "t.yaml:10:1: Empty: \"\" is not an integer in 0..10");
	want_error(&f, config_schema_u64(&f.s, f.root, "Ref", CONFIG_OPTIONAL, 0, 10, &x),
	           "t.yaml:11:1: Ref: expected an integer, not a !Ref value");
	yaml_tree_free(f.t);

	/* no sign, space, fraction or other base */
	const char *bad[] = { "-1", "+1", " 1", "1.0", "0x10", "1e3", "1_000" };
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		char doc[32];
		snprintf(doc, sizeof(doc), "n: '%s'\n", bad[i]);
		f.t = parse(doc);
		config_schema_init(&f.s, f.t, f.err, sizeof(f.err));
		assert_int_equal(config_schema_u64(&f.s, yaml_tree_root(f.t), "n", CONFIG_REQUIRED,
		                                   0, UINT64_MAX, &x),
		                 ERR_CONFIG_SCHEMA);
		yaml_tree_free(f.t);
	}
}

static void test_schema_bool(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	bool b = false;
	assert_int_equal(config_schema_bool(&f.s, f.root, "Tls", CONFIG_REQUIRED, &b), 0);
	assert_true(b);
	assert_int_equal(config_schema_bool(&f.s, f.root, "Nope", CONFIG_OPTIONAL, &b), 0);
	assert_true(b);
	want_error(&f, config_schema_bool(&f.s, f.root, "Debug", CONFIG_OPTIONAL, &b),
	           "t.yaml:6:1: Debug: \"yes\" is not true or false");
	yaml_tree_free(f.t);

	f.t = parse("a: false\nb: True\nc: 'true'\n");
	config_schema_init(&f.s, f.t, f.err, sizeof(f.err));
	const struct yaml_tree_node *r = yaml_tree_root(f.t);
	b = true;
	assert_int_equal(config_schema_bool(&f.s, r, "a", CONFIG_REQUIRED, &b), 0);
	assert_false(b);
	assert_int_equal(config_schema_bool(&f.s, r, "c", CONFIG_REQUIRED, &b), 0);
	assert_true(b);
	assert_int_equal(config_schema_bool(&f.s, r, "b", CONFIG_REQUIRED, &b), ERR_CONFIG_SCHEMA);
	assert_string_equal(f.err, "t.yaml:2:1: b: \"True\" is not true or false");
	yaml_tree_free(f.t);
}

static void test_parse_duration(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		uint64_t ms;
	} cases[] = {
		{ "500ms", 0, 500 },
		{ "0ms", 0, 0 },
		{ "2s", 0, 2000 },
		{ "5m", 0, 300000 },
		{ "1h", 0, 3600000 },
		{ "18446744073709551615ms", 0, UINT64_MAX },
		{ "18446744073709551s", 0, 18446744073709551000ull },
		{ "18446744073709552s", ERR_INVALID, 0 },
		{ "18446744073709551616ms", ERR_INVALID, 0 },
		{ "500", ERR_INVALID, 0 },
		{ "ms", ERR_INVALID, 0 },
		{ "", ERR_INVALID, 0 },
		{ "1.5s", ERR_INVALID, 0 },
		{ "-1s", ERR_INVALID, 0 },
		{ "2 s", ERR_INVALID, 0 },
		{ "2S", ERR_INVALID, 0 },
		{ "2sec", ERR_INVALID, 0 },
		{ "2d", ERR_INVALID, 0 },
		{ "1h30m", ERR_INVALID, 0 },
		{ "2us", ERR_INVALID, 0 },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		uint64_t ms = 12345;
		int rc = config_schema_parse_duration(iov_cstr(cases[i].text), &ms);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d, want %d", cases[i].text, rc, cases[i].rc);
		if (rc == 0 && ms != cases[i].ms)
			fail_msg("%s: %llu ms, want %llu", cases[i].text, (unsigned long long)ms,
			         (unsigned long long)cases[i].ms);
		if (rc != 0 && ms != 12345)
			fail_msg("%s: output written on error", cases[i].text);
	}
}

static void test_schema_duration(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	uint64_t ms = 1;
	assert_int_equal(
	    config_schema_duration(&f.s, f.root, "Timeout", CONFIG_REQUIRED, 1, 60000, &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(
	    config_schema_duration(&f.s, f.root, "Interval", CONFIG_REQUIRED, 1, 60000, &ms), 0);
	assert_int_equal(ms, 2000);
	want_error(
	    &f, config_schema_duration(&f.s, f.root, "Timeout", CONFIG_REQUIRED, 1000, 60000, &ms),
	    "t.yaml:7:1: Timeout: 500ms is outside 1000ms..60000ms");
	want_error(&f, config_schema_duration(&f.s, f.root, "Bad", CONFIG_REQUIRED, 0, 60000, &ms),
	           "t.yaml:9:1: Bad: \"5x\" is not a duration (like 500ms, 2s, 5m, 1h)");
	want_error(&f, config_schema_duration(&f.s, f.root, "Port", CONFIG_REQUIRED, 0, 60000, &ms),
	           "t.yaml:2:1: Port: \"8080\" is not a duration (like 500ms, 2s, 5m, 1h)");
	yaml_tree_free(f.t);
}

/* The first error stays: later calls return it, change nothing, and keep
 * the first message. */
static void test_schema_sticky(void **state)
{
	(void)state;
	struct fixture f;
	fixture_open(&f);
	uint64_t x = 3;
	struct iov v = IOV_NULL;
	assert_int_equal(config_schema_u64(&f.s, f.root, "Name", CONFIG_REQUIRED, 0, 9, &x),
	                 ERR_CONFIG_SCHEMA);
	assert_int_equal(config_schema_str(&f.s, f.root, "Name", CONFIG_REQUIRED, &v),
	                 ERR_CONFIG_SCHEMA);
	assert_null(v.base);
	assert_int_equal(config_schema_u64(&f.s, f.root, "Port", CONFIG_REQUIRED, 0, 65535, &x),
	                 ERR_CONFIG_SCHEMA);
	assert_int_equal(x, 3);
	assert_int_equal(config_schema_fail(&f.s, f.root, "other"), ERR_CONFIG_SCHEMA);
	assert_int_equal(config_schema_map(&f.s, f.root, "root"), ERR_CONFIG_SCHEMA);
	assert_string_equal(f.err, "t.yaml:1:1: Name: \"edge-1\" is not an integer in 0..9");
	yaml_tree_free(f.t);

	fixture_open(&f);
	assert_int_equal(config_schema_map(&f.s, f.root, "root"), 0);
	want_error(&f, config_schema_map(&f.s, get(f.root, "Name"), "Name"),
	           "t.yaml:1:7: Name: expected a map, got a scalar");
	want_error(&f, config_schema_fail(&f.s, get(f.root, "Interval"), "custom %d", 5),
	           "t.yaml:8:11: custom 5");
	yaml_tree_free(f.t);
}

static const char *const top_keys[] = { "Parameters", "Resources", "Outputs", "Description" };

static void test_unknown_keys(void **state)
{
	(void)state;
	char err[YAML_TREE_ERR_LEN];
	struct config_schema s;
	struct yaml_tree *t = parse("Resources: {}\nOutputs: {}\n");
	config_schema_init(&s, t, err, sizeof(err));
	assert_int_equal(config_schema_keys(&s, yaml_tree_root(t), top_keys, N_ELEMS(top_keys)), 0);
	yaml_tree_free(t);

	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "Resources: {}\nResorces: {}\n",
		  "t.yaml:2:1: unknown key \"Resorces\"; did you mean \"Resources\"?" },
		{ "Outputs: {}\nresources: {}\n",
		  "t.yaml:2:1: unknown key \"resources\"; did you mean \"Resources\"?" },
		{ "Paramters: {}\n", "t.yaml:1:1: unknown key \"Paramters\"; did you mean "
		                     "\"Parameters\"?" },
		{ "Outptus: {}\n",
		  "t.yaml:1:1: unknown key \"Outptus\"; did you mean \"Outputs\"?" },
		{ "Resource: {}\n",
		  "t.yaml:1:1: unknown key \"Resource\"; did you mean \"Resources\"?" },
		{ "  Rsrcs: {}\n", "t.yaml:1:3: unknown key \"Rsrcs\"" },
		{ "Foo: 1\n", "t.yaml:1:1: unknown key \"Foo\"" },
		{ "{Outputs: 1, Mappings: 2}\n", "t.yaml:1:14: unknown key \"Mappings\"" },
	};
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		t = parse(cases[i].doc);
		config_schema_init(&s, t, err, sizeof(err));
		assert_int_equal(
		    config_schema_keys(&s, yaml_tree_root(t), top_keys, N_ELEMS(top_keys)),
		    ERR_CONFIG_SCHEMA);
		assert_string_equal(err, cases[i].msg);
		yaml_tree_free(t);
	}
	t = parse("- a\n");
	config_schema_init(&s, t, err, sizeof(err));
	assert_int_equal(config_schema_keys(&s, yaml_tree_root(t), top_keys, N_ELEMS(top_keys)),
	                 ERR_CONFIG_SCHEMA);
	assert_string_equal(err, "t.yaml:1:1: expected a map, got a sequence");
	yaml_tree_free(t);
}

static void test_suggest(void **state)
{
	(void)state;
	static const char *const types[] = { "Objstack::S3::Store", "Objstack::S3::Replication",
		                             "Objstack::CDN::Distribution",
		                             "Objstack::CDN::Function" };
	assert_string_equal(config_schema_suggest(IOV_LIT("Objstack::S3::Stor"), types, 4),
	                    types[0]);
	assert_string_equal(config_schema_suggest(IOV_LIT("objstack::s3::store"), types, 4),
	                    types[0]);
	assert_string_equal(config_schema_suggest(IOV_LIT("Objstack::CDN::Fnuction"), types, 4),
	                    types[3]);
	assert_null(config_schema_suggest(IOV_LIT("Objstack::S3::Bucket"), types, 4));
	assert_null(config_schema_suggest(IOV_LIT("Objstack::S3::Store"), types, 4));
	assert_null(config_schema_suggest(IOV_LIT(""), types, 4));
	/* distance 2 is close enough, 3 is not */
	static const char *const words[] = { "abcdef" };
	assert_string_equal(config_schema_suggest(IOV_LIT("abXdeY"), words, 1), "abcdef");
	assert_string_equal(config_schema_suggest(IOV_LIT("abcd"), words, 1), "abcdef");
	assert_null(config_schema_suggest(IOV_LIT("aXcXeX"), words, 1));
	assert_null(config_schema_suggest(IOV_LIT("abc"), words, 1));
	/* the closest wins; on a tie, the first listed */
	static const char *const pair[] = { "Port", "Ports", "Post" };
	assert_string_equal(config_schema_suggest(IOV_LIT("Portss"), pair, 3), "Ports");
	assert_string_equal(config_schema_suggest(IOV_LIT("Portz"), pair, 3), "Port");
	assert_string_equal(config_schema_suggest(IOV_LIT("Pory"), pair, 3), "Port");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_map_and_seq),
		cmocka_unit_test(test_flow_style),
		cmocka_unit_test(test_no_type_guessing),
		cmocka_unit_test(test_quoted_and_block_scalars),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_anchors_and_aliases),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_non_scalar_keys),
		cmocka_unit_test(test_syntax_errors_keep_libyaml_position),
		cmocka_unit_test(test_input_size_cap),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_node_cap),
		cmocka_unit_test(test_tag_cap),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_schema_str),
		cmocka_unit_test(test_schema_u64),
		cmocka_unit_test(test_schema_bool),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_schema_duration),
		cmocka_unit_test(test_schema_sticky),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_suggest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
