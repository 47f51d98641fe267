/*
 * tests/unit/test_table_mappings.c: AWS DMS table mappings as the audit reads them.
 *
 * Wildcards, selection (include, exclude, explicit, table-type), transformations of
 * schema, table and column names, and invalid files: each error names the rule.
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

#include "config/table_mappings.h"

static bool
parse(const char *json, struct table_mappings *m)
{
	return table_mappings_parse(json, strlen(json), "test.json", m);
}

/* parse_error parses an invalid mapping and returns what was logged (static). */
static const char *
parse_error(const char *json)
{
	static char out[4096];
	char path[] = "/tmp/cc-tm-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	struct table_mappings m;
	bool ok = parse(json, &m);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_false(ok);
	assert_int_equal(m.nrules, 0);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return out;
}

static void
test_wildcards(void **state)
{
	(void) state;
	assert_true(table_mappings_match("%", ""));
	assert_true(table_mappings_match("%", "orders"));
	assert_true(table_mappings_match("ord%", "orders"));
	assert_true(table_mappings_match("%ers", "orders"));
	assert_true(table_mappings_match("o%r%s", "orders"));
	assert_false(table_mappings_match("ord%", "Orders")); /* case-sensitive, as DMS */
	assert_true(table_mappings_match("order_items", "order_items"));
	assert_true(table_mappings_match("order_items", "orderXitems")); /* _ = one character */
	assert_false(table_mappings_match("order[_]items", "orderXitems"));
	assert_true(table_mappings_match("order[_]items", "order_items"));
	assert_true(table_mappings_match("t[ab]", "ta"));
	assert_false(table_mappings_match("t[ab]", "tc"));
	assert_true(table_mappings_match("t[a-d]1", "tc1"));
	assert_false(table_mappings_match("t[a-d]1", "te1"));
	assert_false(table_mappings_match("orders", "orders2"));
	assert_false(table_mappings_match("orders%x", "orders"));
	assert_true(table_mappings_match("%%a", "bba"));
}

static const char *selection =
	"{\"rules\": ["
	" {\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"all-shop\","
	"  \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"%\"},"
	"  \"rule-action\": \"include\", \"filters\": []},"
	" {\"rule-type\": \"selection\", \"rule-id\": \"2\", \"rule-name\": \"no-tmp\","
	"  \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"tmp[_]%\"},"
	"  \"rule-action\": \"exclude\"},"
	" {\"rule-type\": \"selection\", \"rule-id\": 3, \"rule-name\": \"one-view\","
	"  \"object-locator\": {\"schema-name\": \"hr\", \"table-name\": \"staff_v\","
	"                       \"table-type\": \"view\"},"
	"  \"rule-action\": \"include\"},"
	" {\"rule-type\": \"table-settings\", \"rule-id\": \"4\", \"rule-name\": \"parallel\","
	"  \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"orders\"},"
	"  \"parallel-load\": {\"type\": \"partitions-auto\"}}"
	"]}";

static void
test_selection(void **state)
{
	(void) state;
	struct table_mappings m;
	assert_true(parse(selection, &m));
	assert_true(table_mappings_selects(&m, "shop", "orders", false));
	assert_true(table_mappings_selects(&m, "shop", "tmpX", false));
	assert_false(table_mappings_selects(&m, "shop", "tmp_orders", false)); /* excluded */
	assert_false(table_mappings_selects(&m, "shop", "orders_v", true));    /* views: no */
	assert_false(table_mappings_selects(&m, "Shop", "orders", false));
	assert_false(table_mappings_selects(&m, "other", "orders", false));
	assert_true(table_mappings_selects(&m, "hr", "staff_v", true));
	assert_false(table_mappings_selects(&m, "hr", "staff_v", false)); /* table-type view */
	/* patterns need the table list */
	char **schemas, **tables;
	int n;
	assert_false(table_mappings_literal_names(&m, &schemas, &tables, &n));
	table_mappings_free(&m);

	const char *explicit_rules =
		"{\"rules\": ["
		" {\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"a\","
		"  \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"order_items\"},"
		"  \"rule-action\": \"include\"},"
		" {\"rule-type\": \"selection\", \"rule-id\": \"2\", \"rule-name\": \"b\","
		"  \"object-locator\": {\"schema-name\": \"shop\", \"table-name\": \"x[_]y\"},"
		"  \"rule-action\": \"explicit\"}"
		"]}";
	assert_true(parse(explicit_rules, &m));
	assert_true(table_mappings_literal_names(&m, &schemas, &tables, &n));
	assert_int_equal(n, 2);
	assert_string_equal(schemas[0], "shop");
	assert_string_equal(tables[0], "order_items");
	assert_string_equal(tables[1], "x[_]y"); /* explicit names are taken as written */
	assert_true(table_mappings_selects(&m, "shop", "x[_]y", false));
	assert_false(table_mappings_selects(&m, "shop", "x_y", false));
	for (int i = 0; i < n; i++) {
		free(schemas[i]);
		free(tables[i]);
	}
	free(schemas);
	free(tables);
	table_mappings_free(&m);
}

static const char *transformations =
	"{\"rules\": ["
	" {\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"1\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"%\"},"
	"  \"rule-action\": \"include\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"10\", \"rule-name\": \"schema\","
	"  \"rule-target\": \"schema\", \"object-locator\": {\"schema-name\": \"Shop\"},"
	"  \"rule-action\": \"rename\", \"value\": \"public\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"11\", \"rule-name\": \"lower\","
	"  \"rule-target\": \"table\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"%\"},"
	"  \"rule-action\": \"convert-lowercase\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"12\", \"rule-name\": \"prefix\","
	"  \"rule-target\": \"table\","
	"  \"object-locator\": {\"schema-name\": \"Shop\", \"table-name\": \"Order%\"},"
	"  \"rule-action\": \"add-prefix\", \"value\": \"dms_\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"13\", \"rule-name\": \"rename-col\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"Shop\", \"table-name\": \"Orders\","
	"                       \"column-name\": \"Amount\"},"
	"  \"rule-action\": \"rename\", \"value\": \"total\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"14\", \"rule-name\": \"drop\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"Shop\", \"table-name\": \"Orders\","
	"                       \"column-name\": \"secret%\"},"
	"  \"rule-action\": \"remove-column\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"15\", \"rule-name\": \"upper\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"Items\","
	"                       \"column-name\": \"%\"},"
	"  \"rule-action\": \"convert-uppercase\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"16\", \"rule-name\": \"suffix\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"Items\","
	"                       \"column-name\": \"qty\"},"
	"  \"rule-action\": \"replace-suffix\", \"old-value\": \"TY\", \"value\": \"_n\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"17\", \"rule-name\": \"mask\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"Items\","
	"                       \"column-name\": \"card\"},"
	"  \"rule-action\": \"data-masking-digits-mask\"},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"18\", \"rule-name\": \"noop\","
	"  \"rule-target\": \"column\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"%\"},"
	"  \"rule-action\": \"add-column\", \"value\": \"loaded_at\","
	"  \"data-type\": {\"type\": \"datetime\"}},"
	" {\"rule-type\": \"transformation\", \"rule-id\": \"19\", \"rule-name\": \"pk\","
	"  \"rule-target\": \"primary-key\","
	"  \"object-locator\": {\"schema-name\": \"%\", \"table-name\": \"%\"},"
	"  \"rule-action\": \"define-primary-key\"}"
	"]}";

static void
test_transformations(void **state)
{
	(void) state;
	struct table_mappings m;
	assert_true(parse(transformations, &m));
	const char *cols[] = {"id", "Amount", "secret_a", "secretb", "note"};
	struct mapped_table t;
	table_mappings_resolve(&m, "Shop", "Orders", cols, 5, &t);
	assert_string_equal(t.target_schema, "public");
	/* file order: lowercase first, then the prefix */
	assert_string_equal(t.target_table, "dms_orders");
	assert_string_equal(t.target_columns[0], "id");
	assert_string_equal(t.target_columns[1], "total");
	assert_null(t.target_columns[2]);
	assert_null(t.target_columns[3]);
	assert_string_equal(t.target_columns[4], "note");
	mapped_table_free(&t);

	const char *icols[] = {"sku", "qty", "card"};
	table_mappings_resolve(&m, "Other", "Items", icols, 3, &t);
	assert_string_equal(t.target_schema, "Other");
	assert_string_equal(t.target_table, "items");
	assert_string_equal(t.target_columns[0], "SKU");
	assert_string_equal(t.target_columns[1], "Q_n"); /* QTY, then TY -> _n */
	assert_null(t.target_columns[2]);		  /* masked: not compared */
	mapped_table_free(&t);
	table_mappings_free(&m);

	const char *include =
		"{\"rules\": ["
		" {\"rule-type\": \"selection\", \"rule-id\": \"1\", \"rule-name\": \"1\","
		"  \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
		"  \"rule-action\": \"include\"},"
		" {\"rule-type\": \"transformation\", \"rule-id\": \"2\", \"rule-name\": \"2\","
		"  \"rule-target\": \"column\","
		"  \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\","
		"                       \"column-name\": \"a%\"},"
		"  \"rule-action\": \"include-column\"}"
		"]}";
	assert_true(parse(include, &m));
	const char *c3[] = {"id", "ab", "b"};
	table_mappings_resolve(&m, "s", "t", c3, 3, &t);
	assert_null(t.target_columns[0]);
	assert_string_equal(t.target_columns[1], "ab");
	assert_null(t.target_columns[2]);
	mapped_table_free(&t);
	table_mappings_free(&m);
}

static void
test_invalid(void **state)
{
	(void) state;
	const char *e;
	e = parse_error("{\"rules\": [");
	assert_non_null(strstr(e, "test.json: not valid JSON"));
	e = parse_error("[]");
	assert_non_null(strstr(e, "\"rules\" array"));
	e = parse_error("{\"rules\": []}");
	assert_non_null(strstr(e, "no selection rule"));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-name\": \"x\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"}]}");
	assert_non_null(strstr(e, "rule #1 (\"x\"): the rule needs a \"rule-id\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"7\","
			" \"rule-name\": \"pick\", \"object-locator\": {\"schema-name\": \"s\"},"
			" \"rule-action\": \"include\"}]}");
	assert_non_null(strstr(e, "rule 7 (\"pick\"): object-locator needs \"table-name\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"7\","
			" \"rule-name\": \"pick\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"inclde\"}]}");
	assert_non_null(strstr(e, "rule 7 (\"pick\"): selection rule-action \"inclde\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"f\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\", \"filters\": [{\"filter-type\": \"source\"}]}]}");
	assert_non_null(strstr(e, "rule 1 (\"f\"): selection filters"));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"},"
			" {\"rule-type\": \"transformation\", \"rule-id\": \"2\", \"rule-name\": \"ren\","
			" \"rule-target\": \"table\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"rename\"}]}");
	assert_non_null(strstr(e, "rule 2 (\"ren\"): this rule-action needs \"value\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"},"
			" {\"rule-type\": \"transformation\", \"rule-id\": \"2\", \"rule-name\": \"rc\","
			" \"rule-target\": \"table\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"remove-column\"}]}");
	assert_non_null(strstr(e, "rule 2 (\"rc\"): rule-action \"remove-column\" needs rule-target"));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"},"
			" {\"rule-type\": \"transformation\", \"rule-id\": \"1\", \"rule-name\": \"b\","
			" \"rule-target\": \"table\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"convert-lowercase\"}]}");
	assert_non_null(strstr(e, "rule-id 1 is used twice"));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"},"
			" {\"rule-type\": \"transformation\", \"rule-id\": \"2\", \"rule-name\": \"b\","
			" \"rule-target\": \"column\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"rename\", \"value\": \"x\"}]}");
	assert_non_null(strstr(e, "rule 2 (\"b\"): object-locator needs \"column-name\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selektion\", \"rule-id\": \"5\"}]}");
	assert_non_null(strstr(e, "rule 5: rule-type \"selektion\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"e\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t%\"},"
			" \"rule-action\": \"explicit\"}]}");
	assert_non_null(strstr(e, "rule 1 (\"e\"): an explicit selection"));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"include\"},"
			" {\"rule-type\": \"transformation\", \"rule-id\": \"2\", \"rule-name\": \"b\","
			" \"rule-target\": \"table\","
			" \"object-locator\": {\"schema-name\": \"s\", \"table-name\": \"t\"},"
			" \"rule-action\": \"explode\"}]}");
	assert_non_null(strstr(e, "rule 2 (\"b\"): unknown transformation rule-action \"explode\""));
	e = parse_error("{\"rules\": [{\"rule-type\": \"selection\", \"rule-id\": \"1\","
			" \"rule-name\": \"a\", \"object-locator\": {\"schema-name\": 5,"
			" \"table-name\": \"t\"}, \"rule-action\": \"include\"}]}");
	assert_non_null(strstr(e, "\"schema-name\" in object-locator must be a string"));
}

static void
test_load_file(void **state)
{
	(void) state;
	struct table_mappings m;
	char path[] = "/tmp/cc-tm-file-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, selection, strlen(selection)) == (ssize_t) strlen(selection));
	close(fd);
	assert_true(table_mappings_load(path, &m));
	assert_true(table_mappings_selects(&m, "shop", "orders", false));
	table_mappings_free(&m);
	unlink(path);
	assert_false(table_mappings_load("/nonexistent/mappings.json", &m));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcards),	cmocka_unit_test(test_selection),
		cmocka_unit_test(test_transformations), cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
