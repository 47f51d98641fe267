/*
 * core/compare.h: the merge-join comparator.
 *
 * Both sides deliver a partition's rows in canonical key order (key_compare). The merge
 * walks them once, with memory independent of the row count, and classifies each key:
 * MATCH, MISSING_TARGET (source only), MISSING_SOURCE (target only, the DMS name), or
 * RECORD_DIFF with the columns whose hashes differ. It also checks that each side really
 * is in order and has unique keys: an engine that sorts by another collation would
 * otherwise produce a cascade of false differences, so it is an error instead.
 */
#ifndef CROSSCHECK_CORE_COMPARE_H
#define CROSSCHECK_CORE_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/row.h"

enum verdict {
	VERDICT_MATCH = 0,
	VERDICT_MISSING_TARGET,
	VERDICT_MISSING_SOURCE,
	VERDICT_RECORD_DIFF,
};

const char *verdict_name(enum verdict v);
/* verdict_from_name parses the DMS names; false if unknown. */
bool verdict_from_name(const char *name, enum verdict *v);

/*
 * A row stream: next() fills row (borrowed until the next call) and returns 1, returns 0
 * at the end, -1 on error (already logged by the stream).
 */
struct row_stream {
	int (*next)(void *ctx, struct encoded_row *row);
	void *ctx;
};

/*
 * Called for every difference. For RECORD_DIFF, diff_cols lists the indices (into the
 * layout's columns) of the differing columns. The row pointers are borrowed.
 * Returning false stops the merge (reported as an error).
 */
typedef bool (*difference_fn)(void *ctx, enum verdict v, const struct encoded_row *src,
			      const struct encoded_row *tgt, const int *diff_cols, int ndiff);

struct compare_stats {
	int64_t source_rows;
	int64_t target_rows;
	int64_t matched;
	int64_t missing_target;
	int64_t missing_source;
	int64_t record_diff;
	char source_digest[33];
	char target_digest[33];
};

enum compare_status {
	COMPARE_OK = 0,
	COMPARE_STREAM_ERROR,   /* a side failed; it logged why */
	COMPARE_ORDER_ERROR,    /* a side returned keys out of order or duplicated */
	COMPARE_CALLBACK_ERROR, /* the difference callback refused */
};

/* compare_rows_merge merges the two streams; *bad_side is 0/1 on ORDER_ERROR. */
enum compare_status compare_rows_merge(const struct row_layout *layout, struct row_stream *src,
				       struct row_stream *tgt, difference_fn on_diff, void *ctx,
				       struct compare_stats *stats, int *bad_side);

/* compare_row_columns fills diff_cols with the columns whose hashes differ. */
int compare_row_columns(const struct row_layout *layout, const struct encoded_row *a,
			const struct encoded_row *b, int *diff_cols);

#endif
