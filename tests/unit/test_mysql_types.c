/*
 * tests/unit/test_mysql_types.c: the MySQL/MariaDB side of the type matrix.
 *
 * Each engine type maps to a canonical type (and flags) that, unified with the
 * PostgreSQL side's, compares the values logically: TINYINT(1) vs boolean, BIT(1),
 * MariaDB's LONGTEXT JSON, CHAR padding, FLOAT precision, BIT text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint/mysql_internal.h"

struct mapped {
	enum canon_type type;
	char cast[16];
	bool single, fixed, canonical;
};

static struct mapped
map(const char *data_type, const char *column_type, bool json_check)
{
	struct column_desc c;
	memset(&c, 0, sizeof(c));
	mysql_type_map(data_type, column_type, json_check, &c);
	struct mapped m = {c.type, "", c.single_float, c.fixed_char, c.text_is_canonical};
	snprintf(m.cast, sizeof(m.cast), "%s", c.cast_type);
	free(c.cast_type);
	return m;
}

static void
test_numbers(void **state)
{
	(void) state;
	const char *ints[][2] = {{"tinyint", "tinyint(4)"},   {"smallint", "smallint(6) unsigned"},
				 {"mediumint", "mediumint(9)"}, {"int", "int(10) unsigned"},
				 {"bigint", "bigint(20) unsigned"}, {"decimal", "decimal(38,10)"},
				 {"year", "year(4)"}};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct mapped m = map(ints[i][0], ints[i][1], false);
		assert_int_equal(m.type, CANON_NUMBER);
		assert_string_equal(m.cast, MY_CAST_NUMBER);
	}
	/* TINYINT(1) stays a number; against a boolean the pair unifies to boolean */
	struct mapped b = map("tinyint", "tinyint(1)", false);
	assert_int_equal(b.type, CANON_NUMBER);
	assert_int_equal(canon_unify(b.type, CANON_BOOL), CANON_BOOL);
	assert_int_equal(map("float", "float", false).type, CANON_FLOAT);
	assert_true(map("float", "float", false).single);
	assert_false(map("double", "double", false).single);
}

static void
test_bits(void **state)
{
	(void) state;
	struct mapped b = map("bit", "bit(1)", false);
	assert_int_equal(b.type, CANON_BOOL);
	assert_string_equal(b.cast, MY_CAST_BIT);
	assert_int_equal(map("bit", "bit(12)", false).type, CANON_NUMBER);
	char out[24];
	mysql_bit_text("\x01", 1, true, out);
	assert_string_equal(out, "1");
	mysql_bit_text("\x00", 1, true, out);
	assert_string_equal(out, "0");
	mysql_bit_text("\x01\x02", 2, false, out);
	assert_string_equal(out, "258");
	mysql_bit_text("\xff\xff\xff\xff\xff\xff\xff\xff", 8, false, out);
	assert_string_equal(out, "18446744073709551615");
}

static void
test_text_binary_json(void **state)
{
	(void) state;
	struct mapped c = map("char", "char(10)", false);
	assert_int_equal(c.type, CANON_TEXT);
	assert_true(c.fixed);
	assert_false(map("varchar", "varchar(10)", false).fixed);
	assert_int_equal(map("enum", "enum('a','b')", false).type, CANON_TEXT);
	assert_int_equal(map("set", "set('a','b')", false).type, CANON_TEXT);
	assert_string_equal(map("mediumtext", "mediumtext", false).cast, MY_CAST_TEXT);
	/* MariaDB JSON: LONGTEXT + json_valid() check; a plain LONGTEXT is text */
	assert_int_equal(map("longtext", "longtext", true).type, CANON_JSON);
	assert_int_equal(map("longtext", "longtext", false).type, CANON_TEXT);
	assert_int_equal(map("json", "json", false).type, CANON_JSON); /* MySQL */
	const char *bins[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
			      "geometry"};
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		struct mapped m = map(bins[i], bins[i], false);
		assert_int_equal(m.type, CANON_BINARY);
		assert_string_equal(m.cast, MY_CAST_BINARY);
	}
	assert_int_equal(map("uuid", "uuid", false).type, CANON_UUID);
}

static void
test_temporal(void **state)
{
	(void) state;
	assert_int_equal(map("date", "date", false).type, CANON_DATE);
	struct mapped dt = map("datetime", "datetime(6)", false);
	assert_int_equal(dt.type, CANON_TIMESTAMP);
	assert_string_equal(dt.cast, MY_CAST_DATETIME);
	struct mapped ts = map("timestamp", "timestamp(3)", false);
	assert_int_equal(ts.type, CANON_TIMESTAMP);
	assert_string_equal(ts.cast, MY_CAST_TIMESTAMP);
	assert_int_equal(map("time", "time(6)", false).type, CANON_TIME);
	/* a type this build does not know compares as its text */
	assert_int_equal(map("inet6", "inet6", false).type, CANON_TEXT);
}

static void
test_identity(void **state)
{
	(void) state;
	/* same-engine audits may hash these as the server prints them */
	assert_true(map("bigint", "bigint(20) unsigned", false).canonical);
	assert_true(map("decimal", "decimal(10,2)", false).canonical);
	assert_true(map("varchar", "varchar(10)", false).canonical);
	assert_true(map("blob", "blob", false).canonical);
	/* but never these: a zero date must not match itself, BIT reads as 0/1, JSON and
	 * floats need their canonical form */
	assert_false(map("date", "date", false).canonical);
	assert_false(map("datetime", "datetime(6)", false).canonical);
	assert_false(map("timestamp", "timestamp", false).canonical);
	assert_false(map("bit", "bit(1)", false).canonical);
	assert_false(map("longtext", "longtext", true).canonical);
	assert_false(map("double", "double", false).canonical);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_text_binary_json),
		cmocka_unit_test(test_temporal),
		cmocka_unit_test(test_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
