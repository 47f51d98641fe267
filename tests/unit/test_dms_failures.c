/*
 * tests/unit/test_dms_failures.c: AWS DMS validation failure rows (cli/dms_failures.c)
 * and imported runs in the store (store/store_import.c).
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

#include "cli/dms_failures.h"
#include "store/store.h"

/* --- parsing ------------------------------------------------------------------------------ */

static void
test_parse_json_array(void **state)
{
	(void) state;
	const char *t =
		"[{\"TASK_NAME\": \"T1\", \"TABLE_OWNER\": \"public\", \"TABLE_NAME\": \"orders\","
		" \"FAILURE_TIME\": \"2020-09-17 21:40:32\", \"KEY_TYPE\": \"Row\","
		" \"KEY\": \"{\\\"key\\\": [\\\"3451491\\\"]}\", \"FAILURE_TYPE\": \"RECORD_DIFF\","
		" \"DETAILS\": null, \"EXTRA\": 1},"
		" {\"task_name\": \"T1\", \"table_owner\": \"public\", \"table_name\": \"orders\","
		"  \"key\": {\"key\": [\"7\"]}, \"failure_type\": \"MISSING_TARGET\"}]";
	struct dms_rows r;
	assert_true(dms_rows_parse(t, strlen(t), "x.json", &r));
	assert_int_equal(r.n, 2);
	assert_string_equal(r.rows[0].f[DMS_TABLE_NAME], "orders");
	assert_string_equal(r.rows[0].f[DMS_KEY], "{\"key\": [\"3451491\"]}");
	assert_null(r.rows[0].f[DMS_DETAILS]);
	assert_int_equal(r.rows[1].row, 2);
	/* a KEY dumped as jsonb comes back as its JSON text */
	assert_string_equal(r.rows[1].f[DMS_KEY], "{\"key\":[\"7\"]}");
	assert_string_equal(r.rows[1].f[DMS_FAILURE_TYPE], "MISSING_TARGET");
	assert_null(r.rows[1].f[DMS_FAILURE_TIME]);
	dms_rows_free(&r);
}

static void
test_parse_json_lines(void **state)
{
	(void) state;
	const char *t = "{\"TABLE_OWNER\":\"s\",\"TABLE_NAME\":\"a\",\"KEY\":\"[1]\",\"FAILURE_TYPE\":\"X\"}\n"
			"{\"TABLE_OWNER\":\"s\",\"TABLE_NAME\":\"b\",\"KEY\":\"[2]\",\"FAILURE_TYPE\":\"Y\"}\n";
	struct dms_rows r;
	assert_true(dms_rows_parse(t, strlen(t), "x", &r));
	assert_int_equal(r.n, 2);
	assert_string_equal(r.rows[1].f[DMS_TABLE_NAME], "b");
	dms_rows_free(&r);
}

static void
test_parse_csv(void **state)
{
	(void) state;
	/* psql's CSV: quotes doubled, a line break inside quotes, NULL as an empty field */
	const char *t = "\xef\xbb\xbftask_name,TABLE_OWNER,TABLE_NAME,FAILURE_TIME,KEY_TYPE,KEY,"
			"FAILURE_TYPE,DETAILS\r\n"
			"T,public,orders,2020-09-17 21:40:32,Row,\"{\"\"key\"\": [\"\"a,b\"\"]}\","
			"RECORD_DIFF,\"[[{'v': 'x\ny'}]]\"\r\n"
			"T,public,orders,,Row,\"{\"\"key\"\": [\"\"\"\"]}\",MISSING_SOURCE,\n"
			"\n";
	struct dms_rows r;
	assert_true(dms_rows_parse(t, strlen(t), "x.csv", &r));
	assert_int_equal(r.n, 2);
	assert_string_equal(r.rows[0].f[DMS_TASK_NAME], "T");
	assert_string_equal(r.rows[0].f[DMS_KEY], "{\"key\": [\"a,b\"]}");
	assert_string_equal(r.rows[0].f[DMS_DETAILS], "[[{'v': 'x\ny'}]]");
	assert_int_equal(r.rows[0].line, 2);
	assert_int_equal(r.rows[1].line, 4);
	assert_null(r.rows[1].f[DMS_FAILURE_TIME]);
	assert_null(r.rows[1].f[DMS_DETAILS]);
	assert_string_equal(r.rows[1].f[DMS_KEY], "{\"key\": [\"\"]}");
	dms_rows_free(&r);
}

static void
test_parse_errors(void **state)
{
	(void) state;
	const char *bad[] = {
		"[{\"TABLE_OWNER\": \"s\",",					  /* truncated JSON */
		"[1, 2]",							  /* not objects */
		"[{\"TABLE_OWNER\":\"s\",\"TABLE_NAME\":\"a\",\"FAILURE_TYPE\":\"X\"}]", /* no KEY */
		"TABLE_OWNER,TABLE_NAME,FAILURE_TYPE\ns,a,X\n",			  /* no KEY column */
		"TABLE_OWNER,TABLE_NAME,KEY,FAILURE_TYPE\ns,a,\"[1],X\n",	  /* unterminated */
		"TABLE_OWNER,TABLE_NAME,KEY,FAILURE_TYPE\ns,a,\"[1]\"x,X\n",	  /* after a quote */
		"TABLE_OWNER,TABLE_NAME,KEY,FAILURE_TYPE\ns,a,X\n",		  /* field count */
		"",								  /* empty */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dms_rows r;
		assert_false(dms_rows_parse(bad[i], strlen(bad[i]), "bad", &r));
		assert_int_equal(r.n, 0);
	}
	/* an empty JSON array is a dump of an empty table, not an error */
	struct dms_rows r;
	assert_true(dms_rows_parse("[]", 2, "empty", &r));
	assert_int_equal(r.n, 0);
	dms_rows_free(&r);
}

/* --- fields ------------------------------------------------------------------------------- */

static void
test_key_values(void **state)
{
	(void) state;
	struct strlist v = {0};
	const char *err;
	assert_true(dms_key_values("{\"key\": [\"3451491\"]}", &v, &err));
	assert_int_equal(v.n, 1);
	assert_string_equal(v.items[0], "3451491");
	strlist_free(&v);
	assert_true(dms_key_values("{\"key\":[12, \"x\", 1.5]}", &v, &err));
	assert_int_equal(v.n, 3);
	assert_string_equal(v.items[0], "12");
	assert_string_equal(v.items[2], "1.5");
	strlist_free(&v);
	const char *bad[] = {"{\"key\": [null]}", "{\"key\": []}", "{\"k\": [1]}", "not json",
			     "{\"key\": [[1]]}", "{\"key\": \"1\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(dms_key_values(bad[i], &v, &err));
		assert_non_null(err);
		strlist_free(&v);
	}
	assert_true(dms_failure_type_ok("RECORD_DIFF"));
	assert_true(dms_failure_type_ok("MISSING_SOURCE"));
	assert_true(dms_failure_type_ok("MISSING_TARGET"));
	assert_false(dms_failure_type_ok("record_diff"));
	assert_false(dms_failure_type_ok(NULL));
}

/* A table (id numeric, name text, at timestamp, b bytea, v text) keyed on id, name, at, b. */
static struct colplan cols[5];
static const int keys[4] = {0, 1, 2, 3};
static struct row_layout layout = {5, cols, 4, keys};

static void
init_layout(void)
{
	const char *names[5] = {"id", "name", "at", "b", "v"};
	enum canon_type types[5] = {CANON_NUMBER, CANON_TEXT, CANON_TIMESTAMP, CANON_BINARY,
				    CANON_TEXT};
	for (int i = 0; i < 5; i++) {
		cols[i].name = names[i];
		cols[i].type = types[i];
		cols[i].opts = canon_opts_default();
		cols[i].identity = false;
	}
}

/* audit_key: the key bytes an audit makes of the engine's text (PostgreSQL's here) */
static void
audit_key(struct buf *out)
{
	struct value v[5] = {{"12.50", 5, false, false},
			     {"a\"b", 3, false, false},
			     {"2024-03-01 10:00:06.5", 21, false, false},
			     {"\x00\xff", 2, false, false},
			     {"whatever", 8, false, false}};
	struct row_encoder e;
	row_encoder_init(&e, &layout, 0);
	struct encoded_row row;
	assert_true(row_encode(&e, v, &row));
	buf_append(out, row.key, row.keylen);
	row_encoder_free(&e);
}

static void
test_key_encode_matches_audit(void **state)
{
	(void) state;
	init_layout();
	struct buf want, got, kj;
	buf_init(&want);
	buf_init(&got);
	buf_init(&kj);
	audit_key(&want);

	/* DMS's spelling of the same values */
	struct strlist v = {0};
	strlist_push(&v, "12.5");
	strlist_push(&v, "a\"b");
	strlist_push(&v, "2024-03-01 10:00:06.500000");
	strlist_push(&v, "\\x00ff");
	int bad;
	const char *err;
	assert_true(dms_key_encode(&layout, &v, &got, &bad, &err));
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);

	/* crosscheck's own export reads back to the same bytes */
	assert_true(dms_key_from_canonical(want.data, want.len, &kj));
	assert_string_equal(buf_cstr(&kj),
			    "{\"key\": [\"12.5\", \"a\\\"b\", \"2024-03-01T10:00:06.500000Z\", \"\\\\x00ff\"]}");
	struct strlist back = {0};
	assert_true(dms_key_values(buf_cstr(&kj), &back, &err));
	assert_true(dms_key_encode(&layout, &back, &got, &bad, &err));
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	strlist_free(&back);

	/* a value that is not of its column's type names the position */
	free(v.items[0]);
	v.items[0] = strdup("twelve");
	assert_false(dms_key_encode(&layout, &v, &got, &bad, &err));
	assert_int_equal(bad, 0);
	assert_string_equal(err, "not a number");
	free(v.items[0]);
	v.items[0] = strdup("12");
	free(v.items[3]);
	v.items[3] = strdup("00ff");
	assert_false(dms_key_encode(&layout, &v, &got, &bad, &err));
	assert_int_equal(bad, 3);
	/* wrong arity */
	strlist_push(&v, "extra");
	assert_false(dms_key_encode(&layout, &v, &got, &bad, &err));
	strlist_free(&v);
	buf_free(&want);
	buf_free(&got);
	buf_free(&kj);
}

static void
check_details(const char *details, const char *const *want, size_t n)
{
	struct strlist l = {0};
	dms_details_columns(details, &l);
	assert_int_equal(l.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l.items[i], want[i]);
	strlist_free(&l);
}

static void
test_details_columns(void **state)
{
	(void) state;
	const char *vn[] = {"v", "n"};
	/* crosscheck's export */
	check_details("{\"columns\": [\"v\", \"n\"]}", vn, 2);
	/* DMS's documented example: Python-style quotes, source and target objects */
	const char *real[] = {"MYREALCOL"};
	check_details("[[{'MYREALCOL': '0.10000'}, {'MYREALCOL': '0.1'}]]", real, 1);
	/* values never pass for names, even when they look like one */
	check_details("[[{\"v\": \"n: 1\", \"n\": Decimal('1.5')}, {\"v\": \"x\"}]]", vn, 2);
	check_details("[[{'v': 'it''s'}, {'n': None}]]", vn, 2);
	check_details(NULL, NULL, 0);
	check_details("garbage", NULL, 0);
	check_details("", NULL, 0);
}

static void
test_times(void **state)
{
	(void) state;
	char iso[40], dms[20];
	assert_true(dms_time_to_iso("2020-09-17 21:40:32", iso, sizeof(iso)));
	assert_string_equal(iso, "2020-09-17T21:40:32.000Z");
	assert_true(dms_time_to_iso("2020-09-17T21:40:32.123456", iso, sizeof(iso)));
	assert_string_equal(iso, "2020-09-17T21:40:32.123Z");
	assert_true(dms_time_to_iso("2020-09-17 23:40:32+02", iso, sizeof(iso)));
	assert_string_equal(iso, "2020-09-17T21:40:32.000Z");
	assert_false(dms_time_to_iso("yesterday", iso, sizeof(iso)));
	assert_false(dms_time_to_iso("2020-09-17", iso, sizeof(iso)));
	assert_false(dms_time_to_iso("1600000000000000000", iso, sizeof(iso)));
	assert_false(dms_time_to_iso("2020-13-17 21:40:32", iso, sizeof(iso)));
	dms_time_from_iso("2020-09-17T21:40:32.123Z", dms, sizeof(dms));
	assert_string_equal(dms, "2020-09-17 21:40:32");
}

static void
test_export(void **state)
{
	(void) state;
	struct dms_export_row r = {"crosscheck-run3", "public", "t,1", "2020-09-17 21:40:32",
				   "{\"key\": [\"3\"]}", "RECORD_DIFF", "{\"columns\": [\"v\"]}"};
	struct buf b;
	buf_init(&b);
	dms_export_append(&b, false, &r);
	assert_string_equal(buf_cstr(&b),
			    "{\"TASK_NAME\": \"crosscheck-run3\", \"TABLE_OWNER\": \"public\", "
			    "\"TABLE_NAME\": \"t,1\", \"FAILURE_TIME\": \"2020-09-17 21:40:32\", "
			    "\"KEY_TYPE\": \"Row\", \"KEY\": \"{\\\"key\\\": [\\\"3\\\"]}\", "
			    "\"FAILURE_TYPE\": \"RECORD_DIFF\", \"DETAILS\": \"{\\\"columns\\\": [\\\"v\\\"]}\"}");
	buf_reset(&b);
	dms_csv_header(&b);
	dms_export_append(&b, true, &r);
	assert_string_equal(buf_cstr(&b),
			    "TASK_NAME,TABLE_OWNER,TABLE_NAME,FAILURE_TIME,KEY_TYPE,KEY,FAILURE_TYPE,DETAILS\n"
			    "crosscheck-run3,public,\"t,1\",2020-09-17 21:40:32,Row,\"{\"\"key\"\": "
			    "[\"\"3\"\"]}\",RECORD_DIFF,\"{\"\"columns\"\": [\"\"v\"\"]}\"\n");
	/* what we write, we read */
	struct dms_rows rows;
	assert_true(dms_rows_parse(b.data, b.len, "csv", &rows));
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.rows[0].f[DMS_TABLE_NAME], "t,1");
	assert_string_equal(rows.rows[0].f[DMS_KEY], "{\"key\": [\"3\"]}");
	assert_string_equal(rows.rows[0].f[DMS_DETAILS], "{\"columns\": [\"v\"]}");
	dms_rows_free(&rows);
	buf_free(&b);
}

/* --- the store ------------------------------------------------------------------------------ */

static char path[256];

static int
setup(void **state)
{
	(void) state;
	snprintf(path, sizeof(path), "/tmp/crosscheck-test-dms-%d.db", (int) getpid());
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void) state;
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

struct got_run {
	char verdict[32], status[32], kind[32];
	int64_t differences;
	int n;
};

static bool
keep_run(void *ctx, const struct run_info *r)
{
	struct got_run *g = ctx;
	snprintf(g->verdict, sizeof(g->verdict), "%s", r->verdict ? r->verdict : "");
	snprintf(g->status, sizeof(g->status), "%s", r->status);
	snprintf(g->kind, sizeof(g->kind), "%s", r->kind);
	g->differences = r->differences;
	g->n++;
	return true;
}

struct got_tables {
	int n;
	int64_t mt[4], ms[4], rd[4];
	char state[4][32];
};

static bool
keep_table(void *ctx, const struct table_result *t)
{
	struct got_tables *g = ctx;
	g->mt[g->n] = t->missing_target;
	g->ms[g->n] = t->missing_source;
	g->rd[g->n] = t->record_diff;
	snprintf(g->state[g->n], sizeof(g->state[0]), "%s", t->state ? t->state : "");
	g->n++;
	return true;
}

struct got_failures {
	int n;
	int64_t ids[8];
	char kinds[8][32], first[8][40], last[8][40];
};

static bool
keep_failure(void *ctx, const struct failure_row *f)
{
	struct got_failures *g = ctx;
	g->ids[g->n] = f->id;
	snprintf(g->kinds[g->n], sizeof(g->kinds[0]), "%s", f->kind);
	snprintf(g->first[g->n], sizeof(g->first[0]), "%s", f->first_seen);
	snprintf(g->last[g->n], sizeof(g->last[0]), "%s", f->last_seen);
	g->n++;
	return true;
}

static void
test_store_import(void **state)
{
	(void) state;
	struct store *s;
	assert_true(store_open(path, &s));
	struct table_result t[2] = {
		{.table = "public.a", .target_table = "public.a", .key_columns = "[\"id\"]",
		 .columns = "[\"id\",\"v\"]"},
		{.table = "public.b", .target_table = "public.b", .key_columns = "[\"id\"]",
		 .columns = "[\"id\"]"},
	};
	/* key 1 of public.a is reported twice: the later report wins, times span both */
	struct import_failure f[] = {
		{"public.a", "{\"id\":\"1\"}", "k1", 2, "RECORD_DIFF", "[\"v\"]", "confirmed",
		 "2020-01-02T00:00:00.000Z"},
		{"public.a", "{\"id\":\"1\"}", "k1", 2, "MISSING_TARGET", "[]", "confirmed",
		 "2020-01-03T00:00:00.000Z"},
		{"public.a", "{\"id\":\"2\"}", "k2", 2, "MISSING_SOURCE", "[]", "confirmed",
		 "2020-01-01T00:00:00.000Z"},
		{"public.b", "{\"id\":\"2\"}", "k2", 2, "RECORD_DIFF", "[]", "confirmed", NULL},
	};
	struct import_run r = {"dms-import", "pg://src", "pg://tgt", "{\"tables\":[]}", "fp", t, 2,
			       f, 4};
	int64_t run = 0;
	assert_true(store_import_run(s, &r, &run));
	assert_int_equal(run, 1);

	struct got_run g = {0};
	bool found;
	assert_true(store_get_run(s, run, keep_run, &g, &found));
	assert_true(found);
	assert_string_equal(g.kind, "dms-import");
	assert_string_equal(g.status, "done");
	assert_string_equal(g.verdict, "differences");
	assert_int_equal(g.differences, 3);

	struct got_tables gt = {0};
	assert_true(store_list_tables(s, run, keep_table, &gt));
	assert_int_equal(gt.n, 2);
	assert_int_equal(gt.mt[0], 1);
	assert_int_equal(gt.ms[0], 1);
	assert_int_equal(gt.rd[0], 0);
	assert_int_equal(gt.rd[1], 1);
	assert_string_equal(gt.state[0], "Mismatched records");

	struct got_failures gf = {0};
	struct failure_filter flt = {.run = run, .table = "public.a"};
	assert_true(store_list_failures(s, &flt, keep_failure, &gf));
	assert_int_equal(gf.n, 2);
	assert_string_equal(gf.kinds[0], "MISSING_TARGET");
	assert_string_equal(gf.first[0], "2020-01-02T00:00:00.000Z");
	assert_string_equal(gf.last[0], "2020-01-03T00:00:00.000Z");

	/* a recheck resolves every failure of public.a: the counts and verdict follow */
	for (int i = 0; i < gf.n; i++)
		assert_true(store_failure_update(s, gf.ids[i], "resolved", NULL, NULL, false));
	int64_t confirmed = -1, pending = -1;
	assert_true(store_run_recount(s, run, 1, &confirmed, &pending));
	assert_int_equal(confirmed, 1);
	assert_int_equal(pending, 0);
	memset(&gt, 0, sizeof(gt));
	assert_true(store_list_tables(s, run, keep_table, &gt));
	assert_int_equal(gt.mt[0] + gt.ms[0] + gt.rd[0], 0);
	assert_string_equal(gt.state[0], "Validated");
	assert_string_equal(gt.state[1], "Mismatched records");
	store_close(s);
}

static void
test_store_import_is_atomic(void **state)
{
	(void) state;
	struct store *s;
	assert_true(store_open(path, &s));
	struct table_result t = {.table = "public.a", .target_table = "public.a"};
	/* the second failure breaks a NOT NULL constraint: nothing of the run may remain */
	struct import_failure f[] = {
		{"public.a", "{\"id\":\"1\"}", "k1", 2, "RECORD_DIFF", "[]", "confirmed", NULL},
		{"public.a", "{\"id\":\"2\"}", "k2", 2, NULL, "[]", "confirmed", NULL},
	};
	struct import_run r = {"dms-import", "pg://src", "pg://tgt", "{}", "fp", &t, 1, f, 2};
	int64_t run = 7;
	assert_false(store_import_run(s, &r, &run));
	assert_int_equal(run, 0);
	struct got_run g = {0};
	assert_true(store_list_runs(s, 0, keep_run, &g));
	assert_int_equal(g.n, 0);
	int64_t n = -1;
	struct failure_filter flt = {0};
	assert_true(store_count_failures(s, &flt, &n));
	assert_int_equal(n, 0);
	/* and the store still works */
	r.nfailures = 1;
	assert_true(store_import_run(s, &r, &run));
	assert_int_equal(run, 1);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_json_array),
		cmocka_unit_test(test_parse_json_lines),
		cmocka_unit_test(test_parse_csv),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_key_values),
		cmocka_unit_test(test_key_encode_matches_audit),
		cmocka_unit_test(test_details_columns),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_export),
		cmocka_unit_test_setup_teardown(test_store_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_import_is_atomic, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
