/*
 * tests/unit/test_store.c: the SQLite store: schema, runs, partitions, failures.
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

#include "store/store.h"

static char path[256];

static int
setup(void **state)
{
	(void) state;
	snprintf(path, sizeof(path), "/tmp/crosscheck-test-store-%d.db", (int) getpid());
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

static bool
count_run(void *ctx, const struct run_info *r)
{
	(void) r;
	(*(int *) ctx)++;
	return true;
}

struct collected {
	int n;
	char kinds[8][32];
	char states[8][16];
	int attempts[8];
	int64_t ids[8];
};

static bool
collect(void *ctx, const struct failure_row *f)
{
	struct collected *c = ctx;
	snprintf(c->kinds[c->n], sizeof(c->kinds[0]), "%s", f->kind);
	snprintf(c->states[c->n], sizeof(c->states[0]), "%s", f->state);
	c->attempts[c->n] = f->attempts;
	c->ids[c->n] = f->id;
	c->n++;
	return true;
}

static void
test_schema_and_reopen(void **state)
{
	(void) state;
	struct store *s;
	assert_true(store_open(path, &s));
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	int64_t run;
	assert_true(store_run_begin(s, "audit", "postgresql://u@h/db", "postgresql://u@h/db2", "{}",
				    "fp", &run));
	assert_int_equal(run, 1);
	store_close(s);
	/* reopening migrates nothing and keeps the run */
	assert_true(store_open(path, &s));
	int n = 0;
	assert_true(store_list_runs(s, 0, count_run, &n));
	assert_int_equal(n, 1);
	assert_true(store_integrity_ok(s));
	store_close(s);
}

static void
test_partition_and_failures(void **state)
{
	(void) state;
	struct store *s;
	assert_true(store_open(path, &s));
	int64_t run;
	assert_true(store_run_begin(s, "audit", "a", "b", "{}", "fp", &run));
	struct partition_result p = {.table = "public.t", .part_no = 0, .lo = "null", .hi = "{\"id\":\"10\"}",
				     .status = "done", .source_rows = 10, .target_rows = 9, .matched = 8};
	struct failure_record f[2] = {
		{"{\"id\":\"3\"}", "k3", 2, "MISSING_TARGET", "[]", "pending", false, NULL},
		{"{\"id\":\"4\"}", "k4", 2, "RECORD_DIFF", "[\"name\"]", "pending", true, "t/LOAD00000001.csv:4"},
	};
	assert_true(store_partition_commit(s, run, &p, f, 2));
	/* idempotent: committing the same partition again does not duplicate failures */
	assert_true(store_partition_commit(s, run, &p, f, 2));
	struct failure_filter flt = {.run = run};
	struct collected c = {0};
	assert_true(store_list_failures(s, &flt, collect, &c));
	assert_int_equal(c.n, 2);
	assert_string_equal(c.kinds[1], "RECORD_DIFF");
	assert_true(store_failure_update(s, c.ids[1], "confirmed", "RECORD_DIFF", "[\"name\"]", false));
	assert_true(store_failure_update(s, c.ids[0], "resolved", NULL, NULL, false));
	memset(&c, 0, sizeof(c));
	flt.state = "confirmed";
	assert_true(store_list_failures(s, &flt, collect, &c));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.attempts[0], 1);
	int64_t n;
	flt.state = "resolved";
	assert_true(store_count_failures(s, &flt, &n));
	assert_int_equal(n, 1);
	flt.state = NULL;
	flt.kind = "MISSING_SOURCE";
	assert_true(store_count_failures(s, &flt, &n));
	assert_int_equal(n, 0);
	store_close(s);
}

static void
test_not_a_store(void **state)
{
	(void) state;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, and it must stay as it is\n", f);
	fclose(f);
	struct store *s = NULL;
	assert_false(store_open(path, &s));
	assert_null(s);
	f = fopen(path, "r");
	char line[128];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "this is not a database, and it must stay as it is\n");
}

static void
test_unwritable(void **state)
{
	(void) state;
	struct store *s = NULL;
	assert_false(store_open("/nonexistent-dir/crosscheck.db", &s));
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
