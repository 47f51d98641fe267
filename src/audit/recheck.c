/*
 * audit/recheck.c: re-reading pending differences so that lag is not called drift.
 *
 * After the partitions are done, the keys still pending are fetched again from both
 * sides (in batches, by key) after a growing delay (core/recheck.c). A key that now
 * matches is resolved as lag; one still different after the last attempt is confirmed,
 * with its kind and columns as last seen.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "core/compare.h"
#include "core/recheck.h"
#include "util/log.h"
#include "util/str.h"

#define RECHECK_BATCH 500

struct pending {
	int64_t id;
	char *key;
	size_t keylen;
};

struct pending_list {
	struct pending *items;
	int n, alloc;
};

static bool
collect_pending(void *ctx, const struct failure_row *f)
{
	struct pending_list *l = ctx;
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 256;
		l->items = xrealloc(l->items, (size_t) l->alloc * sizeof(*l->items));
	}
	struct pending *p = &l->items[l->n++];
	p->id = f->id;
	p->key = xmalloc(f->keylen ? f->keylen : 1);
	memcpy(p->key, f->key, f->keylen);
	p->keylen = f->keylen;
	return true;
}

static void
pending_list_free(struct pending_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i].key);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* A fetched row: key bytes, row hash and column hashes, copied out of the encoder. */
struct fetched {
	char *key;
	size_t keylen;
	uint64_t hash;
	uint64_t *colhash;
	bool recent;
};

struct fetch_ctx {
	const struct table_plan *tp;
	struct row_encoder enc;
	struct fetched *rows;
	int n, alloc, ncols;
	bool bad;
};

static bool
collect_fetched(void *vctx, const struct value *vals)
{
	struct fetch_ctx *c = vctx;
	struct encoded_row row;
	if (!row_encode(&c->enc, vals, &row)) {
		c->bad = true;
		return false;
	}
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? c->alloc * 2 : 64;
		c->rows = xrealloc(c->rows, (size_t) c->alloc * sizeof(*c->rows));
	}
	struct fetched *f = &c->rows[c->n++];
	f->key = xmalloc(row.keylen);
	memcpy(f->key, row.key, row.keylen);
	f->keylen = row.keylen;
	f->hash = row.hash;
	f->recent = c->tp->lag_col >= 0 && table_plan_row_recent(c->tp, &c->enc);
	f->colhash = xmalloc((size_t) c->ncols * sizeof(uint64_t));
	memcpy(f->colhash, row.colhash, (size_t) c->ncols * sizeof(uint64_t));
	return true;
}

static const struct fetched *
find_fetched(const struct fetch_ctx *c, const char *key, size_t keylen)
{
	for (int i = 0; i < c->n; i++)
		if (c->rows[i].keylen == keylen && memcmp(c->rows[i].key, key, keylen) == 0)
			return &c->rows[i];
	return NULL;
}

static void
fetch_ctx_free(struct fetch_ctx *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->rows[i].key);
		free(c->rows[i].colhash);
	}
	free(c->rows);
	row_encoder_free(&c->enc);
}

/* sleep_interruptibly waits, waking early on an interrupt. */
static void
sleep_interruptibly(double seconds)
{
	double end = time_monotonic() + seconds;
	while (!audit_interrupted && time_monotonic() < end) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/*
 * audit_compare_keys re-reads the given keys on both sides now and says, per key, what
 * it is: MATCH, MISSING_TARGET, MISSING_SOURCE or RECORD_DIFF (with the differing
 * columns as a JSON array in cols[i], caller frees), and whether either side's row is
 * inside the lag window. Used by rechecks and by repair's re-audit.
 */
bool
audit_compare_keys(struct table_plan *tp, struct endpoint *src, struct endpoint *tgt,
		   const char *const *keys, const size_t *lens, int n, enum verdict *verdicts,
		   char **cols, bool *recent)
{
	struct fetch_ctx fc[2];
	struct endpoint *eps[2] = {src, tgt};
	bool ok = true;
	for (int side = 0; side < 2; side++) {
		memset(&fc[side], 0, sizeof(fc[side]));
		fc[side].tp = tp;
		row_encoder_init(&fc[side].enc, &tp->layout, side);
		fc[side].ncols = tp->ncols;
		struct scan_request r;
		table_plan_scan_request(tp, side, &r);
		if (ok)
			ok = eps[side]->ops->fetch(eps[side], &r, keys, lens, n, collect_fetched, &fc[side]) &&
			     !fc[side].bad;
	}
	int *diff_cols = xcalloc((size_t) tp->ncols, sizeof(int));
	struct buf b;
	buf_init(&b);
	for (int i = 0; ok && i < n; i++) {
		const struct fetched *a = find_fetched(&fc[0], keys[i], lens[i]);
		const struct fetched *t = find_fetched(&fc[1], keys[i], lens[i]);
		enum verdict v = VERDICT_MATCH;
		int nd = 0;
		if (a && !t)
			v = VERDICT_MISSING_TARGET;
		else if (!a && t)
			v = VERDICT_MISSING_SOURCE;
		else if (a && t && a->hash != t->hash) {
			struct encoded_row ra = {a->key, a->keylen, a->hash, a->colhash, 0};
			struct encoded_row rb = {t->key, t->keylen, t->hash, t->colhash, 0};
			nd = compare_row_columns(&tp->layout, &ra, &rb, diff_cols);
			v = nd > 0 ? VERDICT_RECORD_DIFF : VERDICT_MATCH;
		}
		verdicts[i] = v;
		if (recent)
			recent[i] = (a && a->recent) || (t && t->recent);
		if (cols) {
			buf_reset(&b);
			audit_columns_json(tp, diff_cols, nd, &b);
			cols[i] = xstrdup(buf_cstr(&b));
		}
	}
	buf_free(&b);
	free(diff_cols);
	fetch_ctx_free(&fc[0]);
	fetch_ctx_free(&fc[1]);
	return ok;
}

static bool
recheck_batch(struct store *st, struct table_plan *tp, struct pending *items, int n,
	      struct endpoint *src, struct endpoint *tgt, int attempt, int max_attempts,
	      int64_t *resolved, int64_t *confirmed)
{
	const char **keys = xcalloc((size_t) n, sizeof(char *));
	size_t *lens = xcalloc((size_t) n, sizeof(size_t));
	enum verdict *verdicts = xcalloc((size_t) n, sizeof(enum verdict));
	char **cols = xcalloc((size_t) n, sizeof(char *));
	bool *recent = xcalloc((size_t) n, sizeof(bool));
	for (int i = 0; i < n; i++) {
		keys[i] = items[i].key;
		lens[i] = items[i].keylen;
	}
	bool ok = audit_compare_keys(tp, src, tgt, keys, lens, n, verdicts, cols, recent);
	for (int i = 0; ok && i < n; i++) {
		enum verdict v = verdicts[i];
		enum failure_state s = recheck_next_state(v != VERDICT_MATCH, attempt, max_attempts);
		/* a row still changing inside the lag window is not judged yet */
		bool deferred = v != VERDICT_MATCH && recent[i];
		if (deferred)
			s = FAILURE_PENDING;
		ok = store_failure_update(st, items[i].id, failure_state_name(s),
					  v != VERDICT_MATCH ? verdict_name(v) : NULL,
					  v != VERDICT_MATCH ? cols[i] : NULL, deferred);
		*resolved += s == FAILURE_RESOLVED;
		*confirmed += s == FAILURE_CONFIRMED;
	}
	for (int i = 0; i < n; i++)
		free(cols[i]);
	free(cols);
	free(recent);
	free(verdicts);
	free(keys);
	free(lens);
	return ok;
}

/*
 * audit_recheck runs the attempts on connections of its own, opened for each attempt: a
 * recheck comes after a wait, often long, during which a server may have restarted or
 * dropped an idle connection. A batch that fails is retried once on fresh connections.
 */
bool
audit_recheck(const struct audit_options *o, struct store *st, int64_t run,
	      struct table_plan *tables, int ntables)
{
	struct endpoint *src = NULL, *tgt = NULL;
	bool ok = true;
	for (int attempt = 1; attempt <= o->recheck_attempts && !audit_interrupted; attempt++) {
		struct failure_filter flt = {.run = run, .state = "pending"};
		int64_t npending = 0;
		if (!store_count_failures(st, &flt, &npending)) {
			ok = false;
			break;
		}
		if (npending == 0)
			break;
		double delay = recheck_delay(o->recheck_delay, attempt);
		if (o->lag_column && attempt == 1 && delay < o->lag_window)
			delay = o->lag_window; /* let deferred rows leave the window first */
		log_notice("rechecking %lld difference%s in %.0fs (attempt %d of %d)",
			   (long long) npending, npending == 1 ? "" : "s", delay, attempt,
			   o->recheck_attempts);
		sleep_interruptibly(delay);
		if (audit_interrupted)
			break;
		endpoint_close(src);
		endpoint_close(tgt);
		if (!audit_open_pair(o, &src, &tgt) ||
		    (o->lag_column && !audit_lag_cutoff(o, src, tables, ntables))) {
			ok = false;
			break;
		}
		int64_t resolved = 0, confirmed = 0;
		for (int t = 0; t < ntables; t++) {
			struct table_plan *tp = &tables[t];
			struct pending_list pl = {0};
			flt.table = tp->name;
			if (!store_list_failures(st, &flt, collect_pending, &pl)) {
				pending_list_free(&pl);
				ok = false;
				break;
			}
			for (int i = 0; ok && i < pl.n; i += RECHECK_BATCH) {
				int n = pl.n - i < RECHECK_BATCH ? pl.n - i : RECHECK_BATCH;
				ok = recheck_batch(st, tp, pl.items + i, n, src, tgt, attempt,
						   o->recheck_attempts, &resolved, &confirmed);
				if (!ok && !audit_interrupted) {
					log_warn("recheck failed; retrying on new connections");
					endpoint_close(src);
					endpoint_close(tgt);
					src = tgt = NULL;
					ok = audit_open_pair(o, &src, &tgt) &&
					     recheck_batch(st, tp, pl.items + i, n, src, tgt, attempt,
							   o->recheck_attempts, &resolved, &confirmed);
				}
			}
			pending_list_free(&pl);
			if (!ok)
				break;
		}
		if (!ok)
			break;
		log_notice("recheck %d: %lld resolved as lag, %lld confirmed", attempt,
			   (long long) resolved, (long long) confirmed);
	}
	endpoint_close(src);
	endpoint_close(tgt);
	return ok && !audit_interrupted;
}
