/*
 * audit/drift.c: the scheduled drift check (`crosscheck drift`), the cheap recurring
 * audit that follows a replication for weeks after cut-over.
 *
 * Each run (a) rechecks every failure earlier runs of the check left open and closes
 * those that now match, (b) audits a rotating slice of the partitions, so that each is
 * audited at least once every cover_every runs — the partition bounds are those of the
 * check's previous run, so the slices stay the same ranges —, (c) also audits every
 * partition holding rows changed since the previous run when a lag column is known, and
 * (d) reconciles the total row counts of every table.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "core/compare.h"
#include "util/log.h"
#include "util/str.h"

struct open_list {
	struct table_plan *tables;
	int ntables;
	int64_t *ids;
	char **keys;
	size_t *lens;
	int *table_of;
	int n, alloc;
};

static bool
collect_open(void *ctx, const struct failure_row *f)
{
	struct open_list *l = ctx;
	int t = -1;
	for (int i = 0; i < l->ntables; i++)
		if (strcmp(l->tables[i].name, f->table) == 0)
			t = i;
	if (t < 0)
		return true; /* a table no longer in the check: nothing to say about it */
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->ids = xrealloc(l->ids, (size_t) l->alloc * sizeof(*l->ids));
		l->keys = xrealloc(l->keys, (size_t) l->alloc * sizeof(*l->keys));
		l->lens = xrealloc(l->lens, (size_t) l->alloc * sizeof(*l->lens));
		l->table_of = xrealloc(l->table_of, (size_t) l->alloc * sizeof(*l->table_of));
	}
	l->ids[l->n] = f->id;
	l->keys[l->n] = xmalloc(f->keylen ? f->keylen : 1);
	memcpy(l->keys[l->n], f->key, f->keylen);
	l->lens[l->n] = f->keylen;
	l->table_of[l->n] = t;
	l->n++;
	return true;
}

bool
drift_close_earlier(struct store *st, int64_t run, const char *fingerprint,
		    struct table_plan *tables, int ntables, struct endpoint *src,
		    struct endpoint *tgt, int64_t *closed, int64_t *still_open)
{
	struct open_list l = {tables, ntables, NULL, NULL, NULL, NULL, 0, 0};
	*closed = *still_open = 0;
	bool ok = store_list_open_failures(st, "drift", fingerprint, run, collect_open, &l);
	/* the list is ordered by table: compare each table's keys in batches */
	for (int i = 0; ok && i < l.n;) {
		int t = l.table_of[i], n = 0;
		while (i + n < l.n && l.table_of[i + n] == t && n < 500)
			n++;
		enum verdict *v = xcalloc((size_t) n, sizeof(*v));
		char **cols = xcalloc((size_t) n, sizeof(char *));
		ok = audit_compare_keys(&tables[t], src, tgt, (const char *const *) l.keys + i, l.lens + i,
					n, v, cols, NULL);
		for (int k = 0; ok && k < n; k++) {
			bool same = v[k] == VERDICT_MATCH;
			ok = store_failure_update(st, l.ids[i + k], same ? "resolved" : "confirmed",
						  same ? NULL : verdict_name(v[k]), same ? NULL : cols[k], false);
			*closed += same;
			*still_open += !same;
		}
		for (int k = 0; k < n; k++)
			free(cols[k]);
		free(cols);
		free(v);
		i += n;
	}
	for (int i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	free(l.ids);
	free(l.lens);
	free(l.table_of);
	return ok;
}

struct range_ctx {
	struct row_encoder enc;
	struct buf keys[2];
	int n;
};

static bool
keep_key(void *ctx, const struct value *vals)
{
	struct range_ctx *c = ctx;
	struct encoded_row row;
	if (c->n >= 2 || !row_encode(&c->enc, vals, &row))
		return false;
	buf_append(&c->keys[c->n++], row.key, row.keylen);
	return true;
}

bool
drift_select(const struct audit_options *o, struct table_plan *tp, int64_t slot,
	     const char *since, struct endpoint *src, bool *selected)
{
	int every = o->cover_every > 0 ? o->cover_every : 1;
	for (int j = 0; j < tp->plan.n; j++)
		selected[j] = j % every == slot % every;
	if (tp->lag_col < 0 || since == NULL || since[0] == '\0' || src->ops->recent_key_range == NULL)
		return true;
	/* the key layout alone, to encode the two keys of the range */
	struct colplan *kc = xcalloc((size_t) tp->nkeys, sizeof(*kc));
	int *ki = xcalloc((size_t) tp->nkeys, sizeof(int));
	for (int k = 0; k < tp->nkeys; k++) {
		kc[k] = tp->cols[tp->keys[k]];
		ki[k] = k;
	}
	struct row_layout kl = {tp->nkeys, kc, tp->nkeys, ki};
	struct range_ctx c;
	memset(&c, 0, sizeof(c));
	row_encoder_init(&c.enc, &kl, 0);
	struct scan_request r;
	table_plan_scan_request(tp, 0, &r);
	bool empty = true;
	bool ok = src->ops->recent_key_range(src, &r, tp->src_cols[tp->lag_col], since, keep_key, &c,
					     &empty);
	int added = 0;
	if (ok && !empty && c.n == 2) {
		for (int j = 0; j < tp->plan.n; j++) {
			const struct partition_range *p = &tp->plan.parts[j];
			bool lo_ok = p->lo == NULL || key_compare(p->lo, p->lolen, c.keys[1].data, c.keys[1].len) <= 0;
			bool hi_ok = p->hi == NULL || key_compare(c.keys[0].data, c.keys[0].len, p->hi, p->hilen) < 0;
			if (lo_ok && hi_ok && !selected[j]) {
				selected[j] = true;
				added++;
			}
		}
	}
	if (added)
		log_info("%s: %d more partition%s changed since the previous run", tp->name, added,
			 added == 1 ? "" : "s");
	row_encoder_free(&c.enc);
	buf_free(&c.keys[0]);
	buf_free(&c.keys[1]);
	free(kc);
	free(ki);
	return ok;
}

bool
drift_counts(struct table_plan *tp, struct endpoint *src, struct endpoint *tgt, int64_t *s,
	     int64_t *t)
{
	struct scan_request rs, rt;
	table_plan_scan_request(tp, 0, &rs);
	table_plan_scan_request(tp, 1, &rt);
	return src->ops->count(src, &rs, s) && tgt->ops->count(tgt, &rt, t);
}
