/*
 * tests/unit/test_util.c: URIs and redaction, buffers, parsing helpers, COPY decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint/pg_internal.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/uri.h"

static void
test_uri_parse(void **state)
{
	(void) state;
	struct uri u;
	assert_true(uri_parse("postgresql://bob:s%40cret@db.example:6543/app?sslmode=require", &u));
	assert_string_equal(u.scheme, "postgresql");
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.password, "s@cret");
	assert_string_equal(u.host, "db.example");
	assert_int_equal(u.port, 6543);
	assert_string_equal(u.path, "app");
	assert_string_equal(uri_param(&u, "sslmode"), "require");
	uri_free(&u);
	assert_true(uri_parse("mysql://[::1]:3306/db", &u));
	assert_string_equal(u.host, "::1");
	uri_free(&u);
	assert_false(uri_parse("not a uri", &u));
	assert_false(uri_parse("postgresql://h:99999/db", &u));
	assert_false(uri_parse("postgresql://h:/db", &u));
	assert_false(uri_parse("postgresql://h/db?%zz=1", &u));
	assert_false(uri_parse("://h/db", &u));
}

static void
test_uri_redact(void **state)
{
	(void) state;
	char *r = uri_redact("postgresql://bob:hunter2@h/db");
	assert_string_equal(r, "postgresql://bob:****@h/db");
	free(r);
	r = uri_redact("postgresql://h/db?user=bob&password=hunter2&sslmode=require");
	assert_string_equal(r, "postgresql://h/db?user=bob&password=****&sslmode=require");
	free(r);
	r = uri_redact("mysql://bob@h/db");
	assert_string_equal(r, "mysql://bob@h/db");
	free(r);
}

static void
test_buf_cap(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b);
	b.cap = 16;
	assert_true(buf_append_str(&b, "0123456789"));
	assert_false(buf_append_str(&b, "0123456789"));
	assert_true(b.failed);
	assert_false(buf_append_str(&b, "x")); /* sticky */
	buf_free(&b);
	buf_init(&b);
	assert_true(buf_append_json_string(&b, "a\"b\\c\n\x01", 7));
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_free(&b);
}

static void
test_parsers(void **state)
{
	(void) state;
	int64_t v;
	assert_true(str_to_int64("42", &v));
	assert_int_equal(v, 42);
	assert_false(str_to_int64("42x", &v));
	assert_false(str_to_int64("", &v));
	assert_false(str_to_int64("99999999999999999999", &v));
	double d;
	assert_true(str_to_duration("30s", &d));
	assert_true(d == 30);
	assert_true(str_to_duration("5m", &d));
	assert_true(d == 300);
	assert_true(str_to_duration("250ms", &d));
	assert_true(d == 0.25);
	assert_false(str_to_duration("-1", &d));
	assert_false(str_to_duration("5 parsecs", &d));
	struct strlist l = {0};
	strlist_split(&l, " a, b ,,c ");
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[1], "b");
	strlist_free(&l);
}

static void
test_copy_decode(void **state)
{
	(void) state;
	bool bytea[4] = {false, false, true, false};
	struct pg_copy_decoder d;
	pg_copy_decoder_init(&d, 4, bytea);
	const char *row = "42\ttab\\there\\\\ and \\n\t\\\\x00ff41\t\\N\n";
	assert_true(pg_copy_decode_row(&d, row, strlen(row)));
	assert_int_equal(d.vals[0].len, 2);
	assert_memory_equal(d.vals[0].data, "42", 2);
	assert_int_equal(d.vals[1].len, 15);
	assert_memory_equal(d.vals[1].data, "tab\there\\ and \n", 15);
	assert_int_equal(d.vals[2].len, 3);
	assert_memory_equal(d.vals[2].data, "\x00\xff" "A", 3);
	assert_true(d.vals[3].null);
	/* wrong field counts are errors, not shifted columns */
	assert_false(pg_copy_decode_row(&d, "1\t2\n", strlen("1\t2\n")));
	const char *five = "1\t2\t\\\\x00\t4\t5\n";
	assert_false(pg_copy_decode_row(&d, five, strlen(five)));
	/* a literal "\N" text is escaped by COPY as \\N and is not NULL */
	const char *lit = "1\t\\\\N\t\\\\x\t\n";
	assert_true(pg_copy_decode_row(&d, lit, strlen(lit)));
	assert_false(d.vals[1].null);
	assert_memory_equal(d.vals[1].data, "\\N", 2);
	assert_int_equal(d.vals[2].len, 0);
	assert_false(d.vals[3].null);
	assert_int_equal(d.vals[3].len, 0);
	pg_copy_decoder_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_parse), cmocka_unit_test(test_uri_redact),
		cmocka_unit_test(test_buf_cap),	  cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_copy_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
