/*
 * tests/unit/test_report.c: report escaping, the stored-JSON reader, and every format
 * written from a temporary store filled through store.h.
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

#include "report/report.h"
#include "report/report_internal.h"
#include "store/store.h"
#include "util/buf.h"

/* --- escaping ----------------------------------------------------------------------------- */

static char *
escaped(const char *s, size_t len)
{
	struct buf b;
	buf_init(&b);
	assert_true(report_escape_markup(&b, s, len));
	buf_append_char(&b, '\0');
	return buf_steal(&b);
}

static void
expect_escape(const char *in, const char *want)
{
	char *got = escaped(in, strlen(in));
	assert_string_equal(got, want);
	free(got);
}

static void
test_escape_markup(void **state)
{
	(void) state;
	expect_escape("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	expect_escape("a & b", "a &amp; b");
	expect_escape("say \"hi\" & 'bye'", "say &quot;hi&quot; &amp; &#39;bye&#39;");
	expect_escape("\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
	expect_escape("&amp;", "&amp;amp;"); /* escaped text is escaped again, not trusted */
	expect_escape("plain text 123", "plain text 123");
	expect_escape("tab\tnl\ncr\r", "tab\tnl\ncr\r");
	expect_escape("", "");
	/* UTF-8 passes; control bytes and broken UTF-8 become U+FFFD */
	expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_escape("a\x01" "b\x1b" "c\x7f", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd");
	expect_escape("x\xffy", "x\xef\xbf\xbdy");
	expect_escape("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");		    /* overlong '/' */
	expect_escape("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	expect_escape("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");		    /* truncated */
	expect_escape("\xef\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* U+FFFF */
	/* a NUL inside a value with a length */
	char *got = escaped("a\0<b", 4);
	assert_string_equal(got, "a\xef\xbf\xbd&lt;b");
	free(got);
	/* NULL appends nothing */
	struct buf b;
	buf_init(&b);
	assert_true(report_escape_markup_str(&b, NULL));
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_escape_prom_label(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b);
	report_escape_prom_label(&b, "we\"ird\\name\nnext");
	assert_string_equal(buf_cstr(&b), "we\\\"ird\\\\name\\nnext");
	buf_free(&b);
}

/* --- the stored-JSON reader ---------------------------------------------------------------- */

static void
test_json_valid(void **state)
{
	(void) state;
	const char *good[] = {"{}", "[]", "null", "0", "-0.5e+3", "\"a\\u00e9\\ud83d\\ude00\"",
			      "{\"a\":[1,2,{\"b\":null}],\"c\":true}", " [ 1 , 2 ] ",
			      "123456789012345678901234567890"};
	const char *bad[] = {"", "{", "{\"a\"}", "[1,]", "01", "1.", "\"\\x\"", "\"a", "tru",
			     "{} {}", "\"\\ud800\"", "\"\x01\"", "{'a':1}", "-", "[1 2]"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(report_json_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(report_json_valid(bad[i]));
	assert_false(report_json_valid(NULL));
	/* depth is capped */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[199] = '\0';
	deep[99] = '1';
	deep[100] = ']';
	assert_false(report_json_valid(deep));
}

struct members {
	char out[256];
};

static bool
member(void *ctx, const char *name, const char *value, bool is_string)
{
	struct members *m = ctx;
	size_t len = strlen(m->out);
	snprintf(m->out + len, sizeof(m->out) - len, "%s=%s%s;", name, value, is_string ? "" : "(raw)");
	return true;
}

static bool
item(void *ctx, const char *v)
{
	struct members *m = ctx;
	size_t len = strlen(m->out);
	snprintf(m->out + len, sizeof(m->out) - len, "%s|", v);
	return true;
}

static void
test_json_members(void **state)
{
	(void) state;
	struct members m = {""};
	assert_true(report_json_each_member(
		"{\"slug\":\"<script>alert(1)</script>\", \"n\":12.50, \"e\":\"\\u00e9\\n\",\"o\":{\"x\":[1]}}",
		member, &m));
	assert_string_equal(m.out, "slug=<script>alert(1)</script>;n=12.50(raw);e=\xc3\xa9\n;o={\"x\":[1]}(raw);");
	assert_false(report_json_each_member("[1]", member, &m));
	assert_false(report_json_each_member("{\"a\":", member, &m));
	struct members l = {""};
	assert_true(report_json_each_string("[\"a\",\"b\\\"c\"]", item, &l));
	assert_string_equal(l.out, "a|b\"c|");
}

static void
test_parse_time(void **state)
{
	(void) state;
	double t;
	assert_true(report_parse_time("1970-01-01T00:00:01.500Z", &t));
	assert_true(t > 1.49 && t < 1.51);
	assert_true(report_parse_time("2026-11-21T06:03:41Z", &t));
	assert_true(t == 1795241021.0); /* date -u -d 2026-11-21T06:03:41Z +%s */
	assert_false(report_parse_time("2026-11-21 06:03:41", &t));
	assert_false(report_parse_time(NULL, &t));
}

static void
test_count_format(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b);
	report_html_count(&b, 1234567);
	buf_append_char(&b, ' ');
	report_html_count(&b, 999);
	buf_append_char(&b, ' ');
	report_html_count(&b, -1000);
	assert_string_equal(buf_cstr(&b), "1,234,567 999 -1,000");
	buf_free(&b);
}

/* --- whole reports from a store -------------------------------------------------------------- */

static char path[256];

static void
remove_store(void)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int
setup(void **state)
{
	(void) state;
	snprintf(path, sizeof(path), "/tmp/crosscheck-test-report-%d.db", (int) getpid());
	remove_store();
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	remove_store();
	return 0;
}

/*
 * fill_store records two runs: a clean one, then one with five failures on a text-keyed
 * table (one key is a script tag), a table with a quote in its name, and an errored table.
 */
static struct store *
fill_store(void)
{
	struct store *s;
	assert_true(store_open(path, &s));
	int64_t run;
	assert_true(store_run_begin(s, "audit", "postgresql://u@h/src", "postgresql://u@h/tgt", "{\"jobs\":2}",
				    "fp1", &run));
	struct table_result clean = {.table = "public.notes", .target_table = "public.notes", .status = "done",
				     .state = "Validated", .partitions = 1, .source_rows = 3, .target_rows = 3,
				     .matched = 3, .key_columns = "[\"slug\"]", .columns = "[\"slug\",\"body\"]"};
	assert_true(store_table_put(s, run, &clean));
	assert_true(store_run_finish(s, run, "done", "consistent", 0));

	assert_true(store_run_begin(s, "audit", "postgresql://u:secret@h/src", "postgresql://u@h/tgt",
				    "{\"jobs\":2}", "fp2", &run));
	struct partition_result parts[2] = {
		{.table = "public.notes", .part_no = 0, .lo = "null", .hi = "{\"slug\":\"m\"}", .status = "planned"},
		{.table = "public.notes", .part_no = 1, .lo = "{\"slug\":\"m\"}", .hi = "null", .status = "planned"},
	};
	assert_true(store_partition_plan(s, run, parts, 2));
	struct failure_record f[5] = {
		{.key_json = "{\"slug\":\"<script>alert(1)</script>\"}", .key = "k1", .keylen = 2,
		 .kind = "MISSING_TARGET", .columns = "[]", .state = "confirmed"},
		{.key_json = "{\"slug\":\"a&b\"}", .key = "k2", .keylen = 2, .kind = "RECORD_DIFF",
		 .columns = "[\"body\"]", .state = "confirmed"},
		{.key_json = "{\"slug\":\"c\"}", .key = "k3", .keylen = 2, .kind = "MISSING_SOURCE", .columns = "[]",
		 .state = "pending"},
		{.key_json = "{\"slug\":\"d\"}", .key = "k4", .keylen = 2, .kind = "RECORD_DIFF",
		 .columns = "[\"body\"]", .state = "resolved"},
		{.key_json = "{\"slug\":\"e\"}", .key = "k5", .keylen = 2, .kind = "MISSING_TARGET", .columns = "[]",
		 .state = "confirmed"},
	};
	parts[0].status = "done";
	parts[0].source_rows = 10;
	parts[0].target_rows = 9;
	parts[0].matched = 7;
	parts[0].missing_target = 2;
	parts[0].record_diff = 2;
	parts[0].missing_source = 1;
	parts[0].source_digest = "0123456789abcdef0123456789abcdef";
	parts[0].target_digest = "fedcba9876543210fedcba9876543210";
	parts[0].attempts = 1;
	assert_true(store_partition_commit(s, run, &parts[0], f, 5));
	parts[1].status = "done";
	parts[1].source_rows = parts[1].target_rows = parts[1].matched = 5;
	parts[1].source_digest = parts[1].target_digest = "00000000000000000000000000000000";
	assert_true(store_partition_commit(s, run, &parts[1], NULL, 0));
	struct table_result notes = {.table = "public.notes", .target_table = "public.notes", .status = "done",
				     .state = "Mismatched records", .partitions = 2, .source_rows = 15,
				     .target_rows = 14, .matched = 12, .missing_target = 2, .missing_source = 1,
				     .record_diff = 1, .key_columns = "[\"slug\"]", .columns = "[\"slug\",\"body\"]"};
	struct table_result odd = {.table = "public.we\"ird<t>", .target_table = "public.we\"ird<t>",
				   .status = "done", .state = "Validated", .partitions = 0, .source_rows = 1,
				   .target_rows = 1, .matched = 1};
	struct table_result broken = {.table = "public.broken", .target_table = "public.broken", .status = "error",
				      .state = "Table error", .error = "target read failed: <boom> & \"x\""};
	assert_true(store_table_put(s, run, &notes));
	assert_true(store_table_put(s, run, &odd));
	assert_true(store_table_put(s, run, &broken));
	assert_true(store_run_finish(s, run, "failed", "error", 2));
	return s;
}

/* render writes a report into memory; caller frees. */
static char *
render(struct store *s, enum report_format fmt, int64_t run, int last, int html_failures, bool *ok)
{
	char *data = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&data, &size);
	assert_non_null(f);
	struct report_options o = {.format = fmt, .run = run, .last = last, .html_failures = html_failures,
				   .store_name = "test.db"};
	*ok = report_write(s, &o, f);
	fclose(f);
	return data;
}

static void
test_report_json(void **state)
{
	(void) state;
	struct store *s = fill_store();
	bool ok;
	char *out = render(s, REPORT_JSON, 0, 0, 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "{\"schema_version\":2,\"generator\":{\"name\":\"crosscheck\","));
	assert_non_null(strstr(out, "\"key\":{\"slug\":\"<script>alert(1)</script>\"}"));
	assert_non_null(strstr(out, "\"source\":\"postgresql://u:****@h/src\""));
	assert_null(strstr(out, "secret"));
	assert_non_null(strstr(out, "\"tables_by_state\":{\"Validated\":1,\"Mismatched records\":1,"
				    "\"Pending records\":0,\"No primary key\":0,\"Table error\":1}"));
	assert_non_null(strstr(out, "\"failures\":{\"total\":5,\"pending\":1,\"confirmed\":3,\"resolved\":1,"
				    "\"repaired\":0}"));
	assert_non_null(strstr(out, "\"lo\":{\"slug\":\"m\"},\"hi\":null"));
	/* failures come in key order (k1..k5), one per line */
	const char *k1 = strstr(out, "<script>"), *k5 = strstr(out, "\"slug\":\"e\"");
	assert_true(k1 && k5 && k1 < k5);
	/* the document is one valid JSON value */
	assert_true(report_json_valid(out));
	free(out);
	/* history: --last 2 lists both runs, oldest first */
	out = render(s, REPORT_JSON, 0, 2, 0, &ok);
	assert_true(ok);
	const char *h1 = strstr(out, "\"history\":[\n{\"id\":1,"), *h2 = strstr(out, "\n{\"id\":2,");
	assert_true(h1 && h2 && h1 < h2);
	free(out);
	/* the first run alone */
	out = render(s, REPORT_JSON, 1, 0, 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "\"verdict\":\"consistent\""));
	assert_non_null(strstr(out, "\"failures\":[],\n\"file_problems\":[]}"));
	free(out);
	/* an unknown run is an error, not an empty report */
	out = render(s, REPORT_JSON, 99, 0, 0, &ok);
	assert_false(ok);
	free(out);
	store_close(s);
}

static void
test_report_html(void **state)
{
	(void) state;
	struct store *s = fill_store();
	bool ok;
	char *out = render(s, REPORT_HTML, 0, 0, 2, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "<!DOCTYPE html>"));
	assert_null(strstr(out, "{{"));	     /* every placeholder filled */
	assert_null(strstr(out, "<script")); /* no script at all, from data or template */
	assert_null(strstr(out, "secret"));
	assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out, "a&amp;b"));
	assert_non_null(strstr(out, "public.we&quot;ird&lt;t&gt;"));
	assert_non_null(strstr(out, "target read failed: &lt;boom&gt; &amp; &quot;x&quot;"));
	assert_non_null(strstr(out, "Content-Security-Policy"));
	assert_non_null(strstr(out, "class=\"verdict v-error\""));
	/* capped at 2 per table, confirmed first, with the count of the rest */
	assert_non_null(strstr(out, "Showing 2 of 5 failures"));
	assert_null(strstr(out, "slug=</span>c<")); /* the pending one is past the cap */
	assert_non_null(strstr(out, "<svg viewBox=\"0 0 2 1\""));
	assert_non_null(strstr(out, "One run shown"));
	free(out);
	out = render(s, REPORT_HTML, 0, 5, 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "aria-label=\"open differences per run\""));
	assert_non_null(strstr(out, ">#1</text>"));
	assert_non_null(strstr(out, ">#2</text>"));
	free(out);
	store_close(s);
}

static void
test_report_junit(void **state)
{
	(void) state;
	struct store *s = fill_store();
	bool ok;
	char *out = render(s, REPORT_JUNIT, 0, 0, 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "<testsuites name=\"crosscheck\" tests=\"3\" failures=\"1\" errors=\"1\""));
	assert_non_null(strstr(out, "<testcase name=\"public.notes\" classname=\"crosscheck.audit\""));
	assert_non_null(strstr(out, "<failure message=\"3 confirmed differences: 2 missing on target, 0 extra on "
				    "target, 1 different\" type=\"Mismatched records\">"));
	assert_non_null(strstr(out, "MISSING_TARGET slug=&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(out, "<error message=\"target read failed: &lt;boom&gt; &amp; &quot;x&quot;\""));
	assert_non_null(strstr(out, "name=\"public.we&quot;ird&lt;t&gt;\""));
	assert_null(strstr(out, "<script"));
	free(out);
	store_close(s);
}

static void
test_report_prometheus(void **state)
{
	(void) state;
	struct store *s = fill_store();
	bool ok;
	char *out = render(s, REPORT_PROMETHEUS, 0, 0, 0, &ok);
	assert_true(ok);
	assert_non_null(strstr(out, "# HELP crosscheck_rows "));
	assert_non_null(strstr(out, "# TYPE crosscheck_rows gauge\n"));
	assert_non_null(strstr(out, "crosscheck_rows{side=\"source\",table=\"public.notes\"} 15\n"));
	assert_non_null(strstr(out, "crosscheck_rows{side=\"target\",table=\"public.we\\\"ird<t>\"} 1\n"));
	assert_non_null(strstr(out, "crosscheck_differences{kind=\"MISSING_TARGET\",table=\"public.notes\","
				    "state=\"confirmed\"} 2\n"));
	assert_non_null(strstr(out, "crosscheck_differences{kind=\"RECORD_DIFF\",table=\"public.notes\","
				    "state=\"resolved\"} 1\n"));
	assert_non_null(strstr(out, "crosscheck_run_verdict{verdict=\"error\"} 1\n"));
	assert_non_null(strstr(out, "crosscheck_run_verdict{verdict=\"consistent\"} 0\n"));
	assert_non_null(strstr(out, "crosscheck_table_state{table=\"public.broken\",state=\"Table error\"} 1\n"));
	assert_non_null(strstr(out, "crosscheck_last_run_timestamp_seconds "));
	assert_non_null(strstr(out, "crosscheck_run_exit_code 2\n"));
	assert_null(strstr(out, "secret"));
	free(out);
	store_close(s);
}

static void
test_report_empty_store(void **state)
{
	(void) state;
	struct store *s;
	assert_true(store_open(path, &s));
	bool ok;
	char *out = render(s, REPORT_JSON, 0, 0, 0, &ok);
	assert_false(ok);
	free(out);
	store_close(s);
}

static void
test_formats_by_name(void **state)
{
	(void) state;
	enum report_format f;
	assert_true(report_format_from_name("html", &f));
	assert_int_equal(f, REPORT_HTML);
	assert_true(report_format_from_name("prometheus", &f));
	assert_int_equal(f, REPORT_PROMETHEUS);
	assert_false(report_format_from_name("HTML", &f));
	assert_false(report_format_from_name("xml", &f));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_markup),
		cmocka_unit_test(test_escape_prom_label),
		cmocka_unit_test(test_json_valid),
		cmocka_unit_test(test_json_members),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_count_format),
		cmocka_unit_test(test_formats_by_name),
		cmocka_unit_test_setup_teardown(test_report_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_html, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_junit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_prometheus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_empty_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
