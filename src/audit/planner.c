/*
 * audit/planner.c: cutting a table into partitions with the endpoints' help.
 *
 * A single integer key is cut by arithmetic over the union of both sides' [min, max],
 * which needs two cheap queries per side and no scan. Any other key (composite, text,
 * uuid, timestamp) is cut by walking the source's keys in canonical order and taking
 * every partition_rows-th one as a boundary: one streamed, key-only pass. The first and
 * last partitions are open, so target-only keys outside the source's range are audited.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "core/plan.h"
#include "util/log.h"
#include "util/str.h"

struct bounds_ctx {
	struct row_encoder enc;
	struct buf vals[2];
	int n;
	bool bad;
};

static bool
collect_bound(void *vctx, const struct value *v)
{
	struct bounds_ctx *c = vctx;
	struct encoded_row row;
	if (c->n >= 2 || !row_encode(&c->enc, v, &row)) {
		c->bad = true;
		return false;
	}
	const char *p = row.key, *end = row.key + row.keylen, *val;
	enum canon_type t;
	size_t len;
	keyframe_next(&p, end, &t, &val, &len);
	buf_append(&c->vals[c->n++], val, len);
	return true;
}

/* side_bounds reads one side's min and max key as canonical numbers. */
static bool
side_bounds(struct endpoint *ep, const struct table_plan *tp, int side,
	    const struct row_layout *keylayout, struct buf *min, struct buf *max, bool *empty)
{
	struct scan_request r;
	table_plan_scan_request(tp, side, &r);
	struct bounds_ctx c;
	memset(&c, 0, sizeof(c));
	row_encoder_init(&c.enc, keylayout, side);
	bool ok = ep->ops->key_bounds(ep, &r, collect_bound, &c, empty) && !c.bad;
	if (ok && !*empty) {
		buf_append(min, c.vals[0].data, c.vals[0].len);
		buf_append(max, c.vals[1].data, c.vals[1].len);
	}
	row_encoder_free(&c.enc);
	buf_free(&c.vals[0]);
	buf_free(&c.vals[1]);
	return ok;
}

static bool
is_integer_text(const struct buf *b)
{
	return b->len > 0 && memchr(b->data, '.', b->len) == NULL &&
	       memchr(b->data, 'N', b->len) == NULL && memchr(b->data, 'I', b->len) == NULL;
}

static int64_t
estimate_rows(struct endpoint *ep, const struct table_plan *tp, int side)
{
	const struct table_desc *d = side == 0 ? &tp->src : &tp->tgt;
	if (d->estimated_rows > 0)
		return d->estimated_rows;
	struct scan_request r;
	table_plan_scan_request(tp, side, &r);
	int64_t n = 0;
	return ep->ops->count(ep, &r, &n) ? n : -1;
}

struct walk_ctx {
	struct row_encoder enc;
	struct plan *plan;
	int64_t every, seen;
	bool bad;
};

static bool
walk_key(void *vctx, const struct value *v)
{
	struct walk_ctx *c = vctx;
	struct encoded_row row;
	if (!row_encode(&c->enc, v, &row)) {
		c->bad = true;
		return false;
	}
	if (c->seen > 0 && c->seen % c->every == 0)
		plan_add_boundary(c->plan, row.key, row.keylen);
	c->seen++;
	return !audit_interrupted;
}

bool
table_plan_partitions(const struct audit_options *o, struct table_plan *tp, struct endpoint *src,
		      struct endpoint *tgt)
{
	/* a layout of the key columns alone, for encoding bounds and walked keys */
	struct colplan *kcols = xcalloc((size_t) tp->nkeys, sizeof(*kcols));
	int *kidx = xcalloc((size_t) tp->nkeys, sizeof(int));
	for (int k = 0; k < tp->nkeys; k++) {
		kcols[k] = tp->cols[tp->keys[k]];
		kidx[k] = k;
	}
	struct row_layout kl = {tp->nkeys, kcols, tp->nkeys, kidx};
	bool ok = false;
	plan_free(&tp->plan);

	if (tp->nkeys == 1 && kcols[0].type == CANON_NUMBER) {
		struct buf smin, smax, tmin, tmax;
		buf_init(&smin), buf_init(&smax), buf_init(&tmin), buf_init(&tmax);
		bool sempty = true, tempty = true;
		ok = side_bounds(src, tp, 0, &kl, &smin, &smax, &sempty) &&
		     side_bounds(tgt, tp, 1, &kl, &tmin, &tmax, &tempty);
		if (ok && sempty && tempty) {
			plan_add_boundary(&tp->plan, NULL, 0);
		} else if (ok) {
			struct buf *lo = sempty ? &tmin : tempty ? &smin
				: canon_compare(CANON_NUMBER, smin.data, smin.len, tmin.data, tmin.len) <= 0 ? &smin : &tmin;
			struct buf *hi = sempty ? &tmax : tempty ? &smax
				: canon_compare(CANON_NUMBER, smax.data, smax.len, tmax.data, tmax.len) >= 0 ? &smax : &tmax;
			int64_t rs = estimate_rows(src, tp, 0), rt = estimate_rows(tgt, tp, 1);
			if (is_integer_text(lo) && is_integer_text(hi)) {
				ok = plan_integer_split(buf_cstr(lo), buf_cstr(hi), rs > rt ? rs : rt,
							o->partition_rows, &tp->plan);
			} else {
				/* a decimal key: walk it like any other */
				ok = true;
			}
		}
		buf_free(&smin), buf_free(&smax), buf_free(&tmin), buf_free(&tmax);
		if (!ok || tp->plan.n > 0)
			goto done;
	}

	/* key walk on the source */
	struct walk_ctx w;
	memset(&w, 0, sizeof(w));
	row_encoder_init(&w.enc, &kl, 0);
	w.plan = &tp->plan;
	w.every = o->partition_rows > 0 ? o->partition_rows : 1;
	struct scan_request r;
	table_plan_scan_request(tp, 0, &r);
	r.cols = tp->src_key;
	r.ncols = tp->nkeys;
	ok = src->ops->scan(src, &r, walk_key, &w) && !w.bad && !audit_interrupted;
	if (w.bad)
		log_error("%s: a key value on the source is NULL or unreadable", tp->name);
	row_encoder_free(&w.enc);
	if (ok)
		plan_add_boundary(&tp->plan, NULL, 0);

done:
	free(kcols);
	free(kidx);
	return ok;
}

struct load_ctx {
	struct table_plan *tp;
	int expected;	/* the next part_no; a gap means a corrupt record */
	bool ok;
};

static bool
load_partition(void *vctx, const struct partition_result *p)
{
	struct load_ctx *c = vctx;
	struct table_plan *tp = c->tp;
	if (p->part_no != c->expected) {
		c->ok = false;
		return false;
	}
	c->expected++;
	plan_add_boundary(&tp->plan, p->hi_key, p->hi_key ? p->hi_len : 0);
	tp->part_done = xrealloc(tp->part_done, (size_t) tp->plan.n * sizeof(bool));
	bool done = strcmp(p->status, "done") == 0;
	tp->part_done[tp->plan.n - 1] = done;
	if (done) {
		tp->source_rows += p->source_rows;
		tp->target_rows += p->target_rows;
		tp->matched += p->matched;
		tp->missing_target += p->missing_target;
		tp->missing_source += p->missing_source;
		tp->record_diff += p->record_diff;
		tp->parts_done++;
	}
	return true;
}

/*
 * table_plan_load takes the partition bounds exactly as the interrupted run recorded
 * them (canonical key bytes), so the resumed half audits the same ranges and the done
 * partitions need not be read again.
 */
bool
table_plan_load(struct store *st, int64_t run, struct table_plan *tp, bool *found)
{
	struct load_ctx c = {tp, 0, true};
	plan_free(&tp->plan);
	*found = false;
	if (!store_list_partitions(st, run, tp->name, load_partition, &c))
		return false;
	if (!c.ok || (tp->plan.n > 0 && tp->plan.parts[tp->plan.n - 1].hi != NULL)) {
		log_error("%s: the partitions recorded for run %lld are incomplete", tp->name,
			  (long long) run);
		return false;
	}
	*found = tp->plan.n > 0;
	return true;
}
