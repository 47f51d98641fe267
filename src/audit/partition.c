/*
 * audit/partition.c: auditing one partition.
 *
 * Two reader threads scan the partition on the source and the target at once; each
 * encodes its rows (canonical bytes, hashes) and hands them over in fixed-size batches
 * through a bounded queue, so memory stays flat however large the partition, and the
 * slower side sets the pace. The calling worker thread merges the two streams
 * (core/compare.c) and collects the differences, which commit to the store together
 * with the partition's counts and digests.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "core/compare.h"
#include "util/log.h"
#include "util/str.h"

#define BATCH_ROWS 1024
#define BATCH_BYTES (1u << 20)
#define QUEUE_BATCHES 4

struct batch {
	struct buf data;
	int nrows;
};

struct rowq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch batches[QUEUE_BATCHES];
	struct batch *ready[QUEUE_BATCHES];
	int head, nready;
	struct batch *free_list[QUEUE_BATCHES];
	int nfree;
	bool finished;	/* producer delivered everything */
	bool cancelled; /* consumer stopped early */
};

static void
rowq_init(struct rowq *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	for (int i = 0; i < QUEUE_BATCHES; i++) {
		buf_init(&q->batches[i].data);
		q->free_list[q->nfree++] = &q->batches[i];
	}
}

static void
rowq_free(struct rowq *q)
{
	for (int i = 0; i < QUEUE_BATCHES; i++)
		buf_free(&q->batches[i].data);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

/* rowq_take_free waits for an empty batch; NULL if the consumer cancelled. */
static struct batch *
rowq_take_free(struct rowq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->nfree == 0 && !q->cancelled)
		pthread_cond_wait(&q->cv, &q->mu);
	struct batch *b = q->cancelled ? NULL : q->free_list[--q->nfree];
	pthread_mutex_unlock(&q->mu);
	if (b) {
		buf_reset(&b->data);
		b->nrows = 0;
	}
	return b;
}

static void
rowq_push(struct rowq *q, struct batch *b)
{
	pthread_mutex_lock(&q->mu);
	q->ready[(q->head + q->nready) % QUEUE_BATCHES] = b;
	q->nready++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void
rowq_finish(struct rowq *q)
{
	pthread_mutex_lock(&q->mu);
	q->finished = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* rowq_pop waits for a filled batch; NULL when the producer has finished. */
static struct batch *
rowq_pop(struct rowq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->nready == 0 && !q->finished)
		pthread_cond_wait(&q->cv, &q->mu);
	struct batch *b = NULL;
	if (q->nready > 0) {
		b = q->ready[q->head];
		q->head = (q->head + 1) % QUEUE_BATCHES;
		q->nready--;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

static void
rowq_release(struct rowq *q, struct batch *b)
{
	pthread_mutex_lock(&q->mu);
	q->free_list[q->nfree++] = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void
rowq_cancel(struct rowq *q)
{
	pthread_mutex_lock(&q->mu);
	q->cancelled = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* --- readers ---------------------------------------------------------------------------- */

#define PACE_ROWS 256 /* rows between two calls to the shared pacer */

struct reader {
	int side;
	struct endpoint *ep;
	struct table_plan *tp;
	struct pacer *pacer;	/* source side only; NULL = no cap */
	int64_t unpaced;	/* rows read since the last pacer call */
	struct scan_request req;
	struct row_encoder enc;
	struct rowq q;
	struct batch *cur;
	bool ok;
	bool key_error;
	bool *warned;	/* per column: an unreadable value was already reported */
	pthread_t thread;
	/* consumer side */
	struct batch *reading;
	size_t pos;
	int left;
	uint64_t *colhash;
};

/*
 * table_plan_row_recent: the row's lag column (the source's update time) is at or after the cutoff,
 * i.e. inside the lag window; a NULL or unreadable time is not recent.
 */
bool
table_plan_row_recent(const struct table_plan *tp, const struct row_encoder *enc)
{
	enum canon_type tag;
	const char *v;
	size_t len;
	row_encoder_column(enc, tp->lag_col, &tag, &v, &len);
	return tag == CANON_TIMESTAMP &&
	       canon_compare(CANON_TIMESTAMP, v, len, tp->lag_cutoff, strlen(tp->lag_cutoff)) >= 0;
}

static bool
reader_row(void *vctx, const struct value *vals)
{
	struct reader *r = vctx;
	struct encoded_row row;
	if (audit_interrupted)
		return false;
	if (!row_encode(&r->enc, vals, &row)) {
		int c = r->enc.bad_col;
		log_error("%s: %s: key column %s: %s", r->ep->label, r->tp->name,
			  c >= 0 ? r->tp->cols[c].name : "?",
			  r->enc.bad_reason ? r->enc.bad_reason : "value too large");
		r->key_error = true;
		return false;
	}
	if (r->enc.bad_col >= 0 && !r->warned[r->enc.bad_col]) {
		int c = r->enc.bad_col;
		r->warned[c] = true;
		log_warn("%s: %s: column %s has a value that is not a valid %s (%s); it is reported "
			 "as a difference, never matched",
			 r->ep->label, r->tp->name, r->tp->cols[c].name,
			 canon_type_name(r->tp->cols[c].type), r->enc.bad_reason);
	}
	if (r->tp->lag_col >= 0 && table_plan_row_recent(r->tp, &r->enc))
		row.flags |= ROW_RECENT;
	if (r->pacer && ++r->unpaced >= PACE_ROWS) {
		pacer_take(r->pacer, r->unpaced);
		r->unpaced = 0;
	}
	if (r->cur == NULL && (r->cur = rowq_take_free(&r->q)) == NULL)
		return false; /* the merge stopped */
	struct buf *d = &r->cur->data;
	uint32_t kl = (uint32_t) row.keylen;
	unsigned char flags = (unsigned char) row.flags;
	buf_append(d, &flags, 1);
	buf_append(d, &kl, sizeof(kl));
	buf_append(d, row.key, row.keylen);
	buf_append(d, &row.hash, sizeof(row.hash));
	buf_append(d, row.colhash, (size_t) r->tp->ncols * sizeof(uint64_t));
	if (d->failed)
		return false;
	if (++r->cur->nrows >= BATCH_ROWS || d->len >= BATCH_BYTES) {
		rowq_push(&r->q, r->cur);
		r->cur = NULL;
	}
	return true;
}

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	r->ok = r->ep->ops->scan(r->ep, &r->req, reader_row, r);
	if (r->cur) {
		if (r->ok)
			rowq_push(&r->q, r->cur);
		else
			rowq_release(&r->q, r->cur);
		r->cur = NULL;
	}
	rowq_finish(&r->q);
	return NULL;
}

/* reader_next is the merge's row_stream: rows from the batches, in order. */
static int
reader_next(void *ctx, struct encoded_row *row)
{
	struct reader *r = ctx;
	while (r->left == 0) {
		if (r->reading)
			rowq_release(&r->q, r->reading);
		r->reading = rowq_pop(&r->q);
		if (r->reading == NULL) {
			pthread_join(r->thread, NULL);
			r->thread = 0;
			return r->ok && !audit_interrupted ? 0 : -1;
		}
		r->pos = 0;
		r->left = r->reading->nrows;
	}
	const char *p = r->reading->data.data + r->pos;
	row->flags = (unsigned char) *p++;
	r->pos++;
	uint32_t kl;
	memcpy(&kl, p, sizeof(kl));
	row->key = p + sizeof(kl);
	row->keylen = kl;
	memcpy(&row->hash, p + sizeof(kl) + kl, sizeof(row->hash));
	memcpy(r->colhash, p + sizeof(kl) + kl + sizeof(row->hash),
	       (size_t) r->tp->ncols * sizeof(uint64_t));
	row->colhash = r->colhash;
	r->pos += sizeof(kl) + kl + sizeof(row->hash) + (size_t) r->tp->ncols * sizeof(uint64_t);
	r->left--;
	return 1;
}

static void
reader_init(struct reader *r, int side, struct endpoint *ep, struct table_plan *tp,
	    const struct partition_range *range)
{
	memset(r, 0, sizeof(*r));
	r->side = side;
	r->ep = ep;
	r->tp = tp;
	table_plan_scan_request(tp, side, &r->req);
	r->req.lo = range->lo;
	r->req.lolen = range->lolen;
	r->req.hi = range->hi;
	r->req.hilen = range->hilen;
	row_encoder_init(&r->enc, &tp->layout, side);
	rowq_init(&r->q);
	r->warned = xcalloc((size_t) tp->ncols, sizeof(bool));
	r->colhash = xcalloc((size_t) tp->ncols, sizeof(uint64_t));
}

static void
reader_stop(struct reader *r)
{
	if (r->thread) {
		rowq_cancel(&r->q);
		pthread_join(r->thread, NULL);
		r->thread = 0;
	}
	row_encoder_free(&r->enc);
	rowq_free(&r->q);
	free(r->warned);
	free(r->colhash);
}

/* --- differences ------------------------------------------------------------------------ */

struct diff_list {
	struct table_plan *tp;
	struct failure_record *items; /* borrow their strings from owned */
	char **owned;		      /* four per item: key_json, key, columns, origin */
	int n, alloc;
};

static bool
collect_difference(void *ctx, enum verdict v, const struct encoded_row *src,
		   const struct encoded_row *tgt, const int *diff_cols, int ndiff)
{
	struct diff_list *l = ctx;
	const struct encoded_row *row = src ? src : tgt;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->items = xrealloc(l->items, (size_t) l->alloc * sizeof(*l->items));
		l->owned = xrealloc(l->owned, (size_t) l->alloc * 4 * sizeof(char *));
	}
	char **owned = &l->owned[4 * l->n];
	owned[3] = NULL;
	struct failure_record *f = &l->items[l->n++];
	struct buf b;
	buf_init(&b);
	key_to_json(&l->tp->layout, row->key, row->keylen, &b);
	f->key_json = owned[0] = buf_steal(&b);
	owned[1] = xmalloc(row->keylen);
	memcpy(owned[1], row->key, row->keylen);
	f->key = owned[1];
	f->keylen = row->keylen;
	f->kind = verdict_name(v);
	audit_columns_json(l->tp, diff_cols, diff_cols ? ndiff : 0, &b);
	f->columns = owned[2] = buf_steal(&b);
	f->state = "pending";
	f->deferred = ((src ? src->flags : 0) | (tgt ? tgt->flags : 0)) & ROW_RECENT;
	f->origin = NULL;
	return true;
}

/*
 * diff_list_origins asks a target made of files where each failing key's row came from
 * (the object and line that last wrote or deleted it), so the failure names the file.
 */
static bool
diff_list_origins(struct diff_list *l, struct endpoint *tgt)
{
	if (tgt->ops->row_origin == NULL || l->n == 0)
		return true;
	struct scan_request r;
	table_plan_scan_request(l->tp, 1, &r);
	struct buf b;
	buf_init(&b);
	bool ok = true;
	for (int i = 0; ok && i < l->n; i++) {
		buf_reset(&b);
		ok = tgt->ops->row_origin(tgt, &r, l->items[i].key, l->items[i].keylen, &b);
		if (ok && b.len > 0)
			l->items[i].origin = l->owned[4 * i + 3] = buf_steal(&b);
	}
	buf_free(&b);
	return ok;
}

static void
diff_list_free(struct diff_list *l)
{
	for (int i = 0; i < 4 * l->n; i++)
		free(l->owned[i]);
	free(l->owned);
	free(l->items);
}

/* --- one partition ------------------------------------------------------------------------- */

struct partition_outcome
partition_audit(struct store *st, int64_t run, struct table_plan *tp, int part_no,
		struct endpoint *src, struct endpoint *tgt, int attempt, struct pool *pool)
{
	struct partition_outcome out = {false, false};
	const struct partition_range *range = &tp->plan.parts[part_no];
	double t0 = time_monotonic();
	struct reader readers[2];
	reader_init(&readers[0], 0, src, tp, range);
	reader_init(&readers[1], 1, tgt, tp, range);
	readers[0].pacer = pool ? &pool->pacer : NULL;
	struct diff_list diffs = {tp, NULL, NULL, 0, 0};

	for (int i = 0; i < 2; i++)
		if (pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]) != 0) {
			log_error("%s: cannot start a reader thread", tp->name);
			readers[i].thread = 0;
			readers[i].ok = false;
			rowq_finish(&readers[i].q);
		}

	struct row_stream s = {reader_next, &readers[0]}, t = {reader_next, &readers[1]};
	struct compare_stats stats;
	int bad_side = -1;
	enum compare_status cs = compare_rows_merge(&tp->layout, &s, &t, collect_difference, &diffs,
						    &stats, &bad_side);
	if (cs == COMPARE_ORDER_ERROR)
		log_error("%s: %s returned keys out of order or duplicated in partition %d", tp->name,
			  bad_side == 0 ? src->label : tgt->label, part_no);
	bool key_error = readers[0].key_error || readers[1].key_error;
	reader_stop(&readers[0]);
	reader_stop(&readers[1]);

	double elapsed = time_monotonic() - t0;
	struct buf lo, hi;
	buf_init(&lo);
	buf_init(&hi);
	plan_bound_json(&tp->layout, range->lo, range->lolen, &lo);
	plan_bound_json(&tp->layout, range->hi, range->hilen, &hi);
	struct partition_result pr = {
		.table = tp->name,
		.part_no = part_no,
		.lo = buf_cstr(&lo),
		.hi = buf_cstr(&hi),
		.lo_key = range->lo,
		.lo_len = range->lolen,
		.hi_key = range->hi,
		.hi_len = range->hilen,
		.status = cs == COMPARE_OK ? "done" : "error",
		.source_rows = stats.source_rows,
		.target_rows = stats.target_rows,
		.matched = stats.matched,
		.missing_target = stats.missing_target,
		.missing_source = stats.missing_source,
		.record_diff = stats.record_diff,
		.source_digest = stats.source_digest,
		.target_digest = stats.target_digest,
		.elapsed_s = elapsed,
		.attempts = attempt,
		.error = cs == COMPARE_OK ? NULL
			 : cs == COMPARE_ORDER_ERROR ? "keys out of order or duplicated"
			 : key_error ? "NULL or unreadable key value"
			 : audit_interrupted ? "interrupted"
					     : "read failed",
	};
	if (cs == COMPARE_OK && !diff_list_origins(&diffs, tgt))
		log_warn("%s: partition %d: the failures are recorded without their objects", tp->name,
			 part_no);
	if (cs == COMPARE_OK) {
		out.ok = store_partition_commit(st, run, &pr, diffs.items, diffs.n);
		if (out.ok) {
			pthread_mutex_lock(&tp->mu);
			tp->source_rows += stats.source_rows;
			tp->target_rows += stats.target_rows;
			tp->matched += stats.matched;
			tp->missing_target += stats.missing_target;
			tp->missing_source += stats.missing_source;
			tp->record_diff += stats.record_diff;
			tp->parts_done++;
			pthread_mutex_unlock(&tp->mu);
		}
	} else {
		/* a failed read is worth a retry on fresh connections; a data error is not */
		out.connection_lost = cs == COMPARE_STREAM_ERROR && !key_error && !audit_interrupted;
		pr.source_rows = pr.target_rows = 0;
		pr.matched = pr.missing_target = pr.missing_source = pr.record_diff = 0;
		pr.source_digest = pr.target_digest = NULL;
		store_partition_commit(st, run, &pr, NULL, 0);
	}
	buf_free(&lo);
	buf_free(&hi);
	diff_list_free(&diffs);
	return out;
}
