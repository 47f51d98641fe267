/*
 * tests/unit/test_plan.c: the partition planner and the recheck policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/plan.h"
#include "core/recheck.h"
#include "core/row.h"

static const char *
bound_text(const char *key, size_t len, char *out, size_t size)
{
	enum canon_type t;
	const char *v;
	size_t n;
	const char *p = key;
	if (key == NULL)
		return "open";
	assert_true(keyframe_next(&p, key + len, &t, &v, &n));
	snprintf(out, size, "%.*s", (int) n, v);
	return out;
}

static void
test_integer_split(void **state)
{
	(void) state;
	struct plan p;
	assert_true(plan_integer_split("1", "100", 100, 25, &p));
	assert_int_equal(p.n, 4);
	char a[64], b[64];
	assert_string_equal(bound_text(p.parts[0].lo, p.parts[0].lolen, a, sizeof(a)), "open");
	assert_string_equal(bound_text(p.parts[0].hi, p.parts[0].hilen, a, sizeof(a)), "26");
	assert_string_equal(bound_text(p.parts[3].lo, p.parts[3].lolen, a, sizeof(a)), "76");
	assert_string_equal(bound_text(p.parts[3].hi, p.parts[3].hilen, b, sizeof(b)), "open");
	/* contiguous: each lo is the previous hi */
	for (int i = 1; i < p.n; i++) {
		assert_int_equal(p.parts[i].lolen, p.parts[i - 1].hilen);
		assert_memory_equal(p.parts[i].lo, p.parts[i - 1].hi, p.parts[i].lolen);
	}
	plan_free(&p);
}

static void
test_integer_split_edges(void **state)
{
	(void) state;
	struct plan p;
	assert_true(plan_integer_split("5", "5", 1000, 10, &p)); /* one key: one partition */
	assert_int_equal(p.n, 1);
	plan_free(&p);
	assert_true(plan_integer_split("0", "18446744073709551615", 1000000, 100000, &p));
	assert_int_equal(p.n, 10);
	char a[64];
	assert_string_equal(bound_text(p.parts[9].lo, p.parts[9].lolen, a, sizeof(a)),
			    "16602069666338596449");
	plan_free(&p);
	assert_true(plan_integer_split("-100", "-1", 100, 50, &p));
	assert_int_equal(p.n, 2);
	assert_string_equal(bound_text(p.parts[0].hi, p.parts[0].hilen, a, sizeof(a)), "-50");
	plan_free(&p);
	assert_false(plan_integer_split("1.5", "10", 10, 1, &p));
	assert_false(plan_integer_split("10", "1", 10, 1, &p));
	assert_true(plan_integer_split("1", "10", 0, 5, &p)); /* unknown rows: one partition */
	assert_int_equal(p.n, 1);
	plan_free(&p);
}

static void
test_boundaries(void **state)
{
	(void) state;
	struct plan p = {0};
	plan_add_boundary(&p, "k1", 2);
	plan_add_boundary(&p, "k2", 2);
	plan_add_boundary(&p, NULL, 0);
	assert_int_equal(p.n, 3);
	assert_null(p.parts[0].lo);
	assert_memory_equal(p.parts[1].lo, "k1", 2);
	assert_memory_equal(p.parts[2].lo, "k2", 2);
	assert_null(p.parts[2].hi);
	plan_free(&p);
}

static void
test_recheck_policy(void **state)
{
	(void) state;
	assert_true(recheck_delay(30, 1) == 30);
	assert_true(recheck_delay(30, 3) == 90);
	assert_int_equal(recheck_next_state(false, 1, 3), FAILURE_RESOLVED);
	assert_int_equal(recheck_next_state(true, 1, 3), FAILURE_PENDING);
	assert_int_equal(recheck_next_state(true, 3, 3), FAILURE_CONFIRMED);
	enum failure_state s;
	assert_true(failure_state_from_name("confirmed", &s));
	assert_int_equal(s, FAILURE_CONFIRMED);
	assert_false(failure_state_from_name("nope", &s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integer_split),
		cmocka_unit_test(test_integer_split_edges),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_recheck_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
