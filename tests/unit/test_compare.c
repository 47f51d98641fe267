/*
 * tests/unit/test_compare.c: row encoding, digests and the merge-join comparator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/compare.h"
#include "core/row.h"

/* a table (id number key, name text, amount number) given as rows of strings */
struct srow {
	const char *id, *name, *amount;
};

static struct colplan cols[3];
static int keys[1] = {0};
static struct row_layout layout = {3, cols, 1, keys};

struct array_stream {
	const struct srow *rows;
	int n, i;
	struct row_encoder enc;
};

static int
array_next(void *ctx, struct encoded_row *row)
{
	struct array_stream *s = ctx;
	if (s->i >= s->n)
		return 0;
	const struct srow *r = &s->rows[s->i++];
	struct value v[3] = {
		{r->id, strlen(r->id), false, false},
		{r->name ? r->name : "", r->name ? strlen(r->name) : 0, r->name == NULL, false},
		{r->amount, strlen(r->amount), false, false},
	};
	return row_encode(&s->enc, v, row) ? 1 : -1;
}

struct seen {
	enum verdict v[16];
	char keys[16][32];
	int diffcol[16];
	int n;
};

static bool
on_diff(void *ctx, enum verdict v, const struct encoded_row *src, const struct encoded_row *tgt,
	const int *diff_cols, int ndiff)
{
	struct seen *s = ctx;
	const struct encoded_row *r = src ? src : tgt;
	struct buf b;
	buf_init(&b);
	key_to_json(&layout, r->key, r->keylen, &b);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", b.data);
	buf_free(&b);
	s->diffcol[s->n] = ndiff == 1 ? diff_cols[0] : -ndiff;
	s->v[s->n++] = v;
	return true;
}

static enum compare_status
merge(const struct srow *a, int na, const struct srow *b, int nb, struct seen *seen,
      struct compare_stats *st)
{
	struct array_stream sa = {a, na, 0, {0}}, sb = {b, nb, 0, {0}};
	row_encoder_init(&sa.enc, &layout, 0);
	row_encoder_init(&sb.enc, &layout, 1);
	struct row_stream s = {array_next, &sa}, t = {array_next, &sb};
	int bad = -1;
	memset(seen, 0, sizeof(*seen));
	enum compare_status cs = compare_rows_merge(&layout, &s, &t, on_diff, seen, st, &bad);
	row_encoder_free(&sa.enc);
	row_encoder_free(&sb.enc);
	return cs;
}

static void
setup_layout(void)
{
	const char *names[] = {"id", "name", "amount"};
	enum canon_type types[] = {CANON_NUMBER, CANON_TEXT, CANON_NUMBER};
	for (int i = 0; i < 3; i++) {
		cols[i].name = names[i];
		cols[i].type = types[i];
		cols[i].opts = canon_opts_default();
	}
}

static void
test_all_kinds(void **state)
{
	(void) state;
	const struct srow src[] = {{"1", "a", "1.50"}, {"2", "b", "2"}, {"3", "c", "3"},
				   {"10", "j", "10"}, {"11", NULL, "1"}};
	const struct srow tgt[] = {{"1", "a", "1.5"}, {"3", "c", "3.01"}, {"4", "d", "4"},
				   {"10", "J", "10"}, {"11", "", "1"}};
	struct seen seen;
	struct compare_stats st;
	assert_int_equal(merge(src, 5, tgt, 5, &seen, &st), COMPARE_OK);
	assert_int_equal(seen.n, 5);
	assert_int_equal(seen.v[0], VERDICT_MISSING_TARGET);
	assert_string_equal(seen.keys[0], "{\"id\":\"2\"}");
	assert_int_equal(seen.v[1], VERDICT_RECORD_DIFF);
	assert_string_equal(seen.keys[1], "{\"id\":\"3\"}");
	assert_int_equal(seen.diffcol[1], 2);
	assert_int_equal(seen.v[2], VERDICT_MISSING_SOURCE);
	assert_string_equal(seen.keys[2], "{\"id\":\"4\"}");
	assert_int_equal(seen.v[3], VERDICT_RECORD_DIFF);
	assert_int_equal(seen.diffcol[3], 1);
	/* NULL and the empty string are different values */
	assert_int_equal(seen.v[4], VERDICT_RECORD_DIFF);
	assert_string_equal(seen.keys[4], "{\"id\":\"11\"}");
	assert_int_equal(st.matched, 1);
	assert_int_equal(st.source_rows, 5);
	assert_int_equal(st.target_rows, 5);
	assert_int_equal(st.missing_target, 1);
	assert_int_equal(st.missing_source, 1);
	assert_int_equal(st.record_diff, 3);
}

static void
test_equal_digests(void **state)
{
	(void) state;
	const struct srow a[] = {{"1", "x", "1.0"}, {"2", "y", "2.00"}};
	const struct srow b[] = {{"1", "x", "1"}, {"2", "y", "2"}};
	struct seen seen;
	struct compare_stats st;
	assert_int_equal(merge(a, 2, b, 2, &seen, &st), COMPARE_OK);
	assert_int_equal(seen.n, 0);
	assert_string_equal(st.source_digest, st.target_digest);
	const struct srow c[] = {{"1", "x", "1"}, {"2", "y", "2.5"}};
	assert_int_equal(merge(a, 2, c, 2, &seen, &st), COMPARE_OK);
	assert_string_not_equal(st.source_digest, st.target_digest);
}

static void
test_empty_sides(void **state)
{
	(void) state;
	const struct srow a[] = {{"1", "x", "1"}};
	struct seen seen;
	struct compare_stats st;
	assert_int_equal(merge(a, 1, NULL, 0, &seen, &st), COMPARE_OK);
	assert_int_equal(seen.v[0], VERDICT_MISSING_TARGET);
	assert_int_equal(merge(NULL, 0, a, 1, &seen, &st), COMPARE_OK);
	assert_int_equal(seen.v[0], VERDICT_MISSING_SOURCE);
	assert_int_equal(merge(NULL, 0, NULL, 0, &seen, &st), COMPARE_OK);
	assert_int_equal(seen.n, 0);
}

static void
test_order_checked(void **state)
{
	(void) state;
	/* numerically 9 < 10; a side delivering "10" before "9" sorted as text is refused */
	const struct srow textual[] = {{"10", "a", "1"}, {"9", "b", "1"}};
	const struct srow numeric[] = {{"9", "b", "1"}, {"10", "a", "1"}};
	struct seen seen;
	struct compare_stats st;
	assert_int_equal(merge(numeric, 2, textual, 2, &seen, &st), COMPARE_ORDER_ERROR);
	const struct srow dup[] = {{"1", "a", "1"}, {"1", "a", "1"}};
	assert_int_equal(merge(dup, 2, numeric, 2, &seen, &st), COMPARE_ORDER_ERROR);
}

static void
test_null_key_refused(void **state)
{
	(void) state;
	struct row_encoder e;
	row_encoder_init(&e, &layout, 0);
	struct value v[3] = {{"", 0, true, false}, {"a", 1, false, false}, {"1", 1, false, false}};
	struct encoded_row row;
	assert_false(row_encode(&e, v, &row));
	/* an unreadable non-key value is invalid, and never equal across sides */
	struct value w[3] = {{"1", 1, false, false}, {"a", 1, false, false}, {"x", 1, false, false}};
	assert_true(row_encode(&e, w, &row));
	assert_int_equal(e.bad_col, 2);
	uint64_t h0 = row.hash;
	struct row_encoder e1;
	row_encoder_init(&e1, &layout, 1);
	assert_true(row_encode(&e1, w, &row));
	assert_true(h0 != row.hash);
	row_encoder_free(&e);
	row_encoder_free(&e1);
}

static void
test_composite_key_order(void **state)
{
	(void) state;
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	keyframe_append(&a, CANON_TEXT, "a", 1);
	keyframe_append(&a, CANON_NUMBER, "10", 2);
	keyframe_append(&b, CANON_TEXT, "a", 1);
	keyframe_append(&b, CANON_NUMBER, "9", 1);
	assert_true(key_compare(a.data, a.len, b.data, b.len) > 0);
	buf_reset(&b);
	keyframe_append(&b, CANON_TEXT, "B", 1);
	keyframe_append(&b, CANON_NUMBER, "1", 1);
	assert_true(key_compare(a.data, a.len, b.data, b.len) > 0); /* 'B' < 'a' in bytes */
	buf_free(&a);
	buf_free(&b);
}

int
main(void)
{
	setup_layout();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_kinds),	cmocka_unit_test(test_equal_digests),
		cmocka_unit_test(test_empty_sides),	cmocka_unit_test(test_order_checked),
		cmocka_unit_test(test_null_key_refused), cmocka_unit_test(test_composite_key_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
