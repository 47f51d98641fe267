/*
 * core/compare.c: the merge-join comparator.
 */
#include "core/compare.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

static const char *verdict_names[] = {
	[VERDICT_MATCH] = "MATCH",
	[VERDICT_MISSING_TARGET] = "MISSING_TARGET",
	[VERDICT_MISSING_SOURCE] = "MISSING_SOURCE",
	[VERDICT_RECORD_DIFF] = "RECORD_DIFF",
};

const char *
verdict_name(enum verdict v)
{
	return verdict_names[v];
}

bool
verdict_from_name(const char *name, enum verdict *v)
{
	for (int i = 0; i <= VERDICT_RECORD_DIFF; i++)
		if (strcmp(name, verdict_names[i]) == 0) {
			*v = (enum verdict) i;
			return true;
		}
	return false;
}

int
compare_row_columns(const struct row_layout *layout, const struct encoded_row *a,
		    const struct encoded_row *b, int *diff_cols)
{
	int n = 0;
	for (int i = 0; i < layout->ncols; i++)
		if (a->colhash[i] != b->colhash[i])
			diff_cols[n++] = i;
	return n;
}

/*
 * One side of the merge: the current row, plus a copy of the previous key to check that
 * the side delivers strictly increasing keys.
 */
struct side {
	struct row_stream *stream;
	struct encoded_row row;
	bool has_row;
	struct buf prev;
	bool has_prev;
	struct digest digest;
	int64_t rows;
};

/* side_advance reads the next row; returns false on stream or order error. */
static bool
side_advance(struct side *s, enum compare_status *status)
{
	if (s->has_row) {
		buf_reset(&s->prev);
		buf_append(&s->prev, s->row.key, s->row.keylen);
		s->has_prev = true;
	}
	int r = s->stream->next(s->stream->ctx, &s->row);
	if (r < 0) {
		*status = COMPARE_STREAM_ERROR;
		return false;
	}
	s->has_row = r > 0;
	if (!s->has_row)
		return true;
	if (s->has_prev && key_compare(s->prev.data, s->prev.len, s->row.key, s->row.keylen) >= 0) {
		*status = COMPARE_ORDER_ERROR;
		return false;
	}
	digest_add(&s->digest, &s->row);
	s->rows++;
	return true;
}

enum compare_status
compare_rows_merge(const struct row_layout *layout, struct row_stream *src,
		   struct row_stream *tgt, difference_fn on_diff, void *ctx,
		   struct compare_stats *stats, int *bad_side)
{
	struct side sides[2];
	memset(sides, 0, sizeof(sides));
	sides[0].stream = src;
	sides[1].stream = tgt;
	int *diff_cols = xcalloc((size_t) layout->ncols, sizeof(int));
	enum compare_status status = COMPARE_OK;
	for (int i = 0; i < 2; i++) {
		buf_init(&sides[i].prev);
		digest_init(&sides[i].digest);
	}
	memset(stats, 0, sizeof(*stats));
	*bad_side = -1;

	struct side *s = &sides[0], *t = &sides[1];
	if (!side_advance(s, &status)) {
		*bad_side = 0;
		goto done;
	}
	if (!side_advance(t, &status)) {
		*bad_side = 1;
		goto done;
	}
	while (s->has_row || t->has_row) {
		int c;
		if (!t->has_row)
			c = -1;
		else if (!s->has_row)
			c = 1;
		else
			c = key_compare(s->row.key, s->row.keylen, t->row.key, t->row.keylen);

		bool ok = true;
		if (c < 0) {
			stats->missing_target++;
			ok = on_diff(ctx, VERDICT_MISSING_TARGET, &s->row, NULL, NULL, 0);
		} else if (c > 0) {
			stats->missing_source++;
			ok = on_diff(ctx, VERDICT_MISSING_SOURCE, NULL, &t->row, NULL, 0);
		} else if (s->row.hash == t->row.hash) {
			stats->matched++;
		} else {
			int nd = compare_row_columns(layout, &s->row, &t->row, diff_cols);
			if (nd == 0) {
				/* equal column hashes, different row hash: impossible unless the
				 * row hash collided with the framing; count it as a match */
				stats->matched++;
			} else {
				stats->record_diff++;
				ok = on_diff(ctx, VERDICT_RECORD_DIFF, &s->row, &t->row, diff_cols, nd);
			}
		}
		if (!ok) {
			status = COMPARE_CALLBACK_ERROR;
			goto done;
		}
		if (c <= 0 && !side_advance(s, &status)) {
			*bad_side = 0;
			goto done;
		}
		if (c >= 0 && !side_advance(t, &status)) {
			*bad_side = 1;
			goto done;
		}
	}
done:
	stats->source_rows = s->rows;
	stats->target_rows = t->rows;
	digest_final(&s->digest, stats->source_digest);
	digest_final(&t->digest, stats->target_digest);
	for (int i = 0; i < 2; i++) {
		buf_free(&sides[i].prev);
		digest_free(&sides[i].digest);
	}
	free(diff_cols);
	return status;
}
