/*
 * audit/audit.c: running an audit from plan to verdict.
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

volatile sig_atomic_t audit_interrupted = 0;

#define PARTITION_ATTEMPTS 3

static const char *verdict_names[] = {
	[AUDIT_CONSISTENT] = "consistent",
	[AUDIT_PENDING] = "pending",
	[AUDIT_DIFFERENCES] = "differences",
	[AUDIT_ERROR] = "error",
};

const char *
audit_verdict_name(enum audit_verdict v)
{
	return verdict_names[v];
}

void
audit_options_init(struct audit_options *o)
{
	memset(o, 0, sizeof(*o));
	o->partition_rows = 100000;
	o->jobs = 2;
	o->recheck_delay = 30;
	o->recheck_attempts = 3;
	o->frac_digits = 6;
	o->statement_timeout_ms = 0;
	o->kind = "audit";
}

void
table_spec_free(struct table_spec *t)
{
	free(t->source);
	free(t->target);
	for (int j = 0; j < t->nmaps; j++) {
		free(t->maps[j].source);
		free(t->maps[j].target);
	}
	free(t->maps);
	strlist_free(&t->exclude);
	strlist_free(&t->key);
	strlist_free(&t->columns);
	memset(t, 0, sizeof(*t));
}

void
audit_options_free(struct audit_options *o)
{
	for (int i = 0; i < o->ntables; i++)
		table_spec_free(&o->tables[i]);
	free(o->tables);
	for (int i = 0; i < o->ncolopts; i++)
		free(o->colopts[i].column);
	free(o->colopts);
	for (int i = 0; i < o->nmaps; i++) {
		free(o->maps[i].source);
		free(o->maps[i].target);
	}
	free(o->maps);
	strlist_free(&o->key);
	strlist_free(&o->columns);
	strlist_free(&o->exclude);
	memset(o, 0, sizeof(*o));
}

static void
json_strlist(struct buf *b, const struct strlist *l)
{
	buf_append_char(b, '[');
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_append_char(b, ',');
		buf_append_json_string(b, l->items[i], strlen(l->items[i]));
	}
	buf_append_char(b, ']');
}

/*
 * options_json records the options (never a secret: URIs are redacted by the caller).
 * With shape_only it gives only those that shape the results (tables, keys, columns,
 * partitioning, comparison): the fingerprint hashes them with the endpoints, and a resume
 * must see the same ones, while --jobs or throttling may change between the two halves.
 */
static char *
options_json(const struct audit_options *o, bool shape_only)
{
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "{\"tables\":[");
	for (int i = 0; i < o->ntables; i++) {
		if (i)
			buf_append_char(&b, ',');
		buf_append_str(&b, "{\"source\":");
		buf_append_json_string(&b, o->tables[i].source, strlen(o->tables[i].source));
		buf_append_str(&b, ",\"target\":");
		const char *t = o->tables[i].target ? o->tables[i].target : o->tables[i].source;
		buf_append_json_string(&b, t, strlen(t));
		/* the table's own maps and exclusions (--table-mappings), when it has any */
		for (int j = 0; j < o->tables[i].nmaps; j++) {
			buf_append_str(&b, j ? "," : ",\"map\":{");
			buf_append_json_string(&b, o->tables[i].maps[j].source, strlen(o->tables[i].maps[j].source));
			buf_append_char(&b, ':');
			buf_append_json_string(&b, o->tables[i].maps[j].target, strlen(o->tables[i].maps[j].target));
		}
		if (o->tables[i].nmaps > 0)
			buf_append_char(&b, '}');
		if (o->tables[i].exclude.n > 0) {
			buf_append_str(&b, ",\"exclude_columns\":");
			json_strlist(&b, &o->tables[i].exclude);
		}
		if (o->tables[i].key.n > 0) {
			buf_append_str(&b, ",\"key\":");
			json_strlist(&b, &o->tables[i].key);
		}
		if (o->tables[i].columns.n > 0) {
			buf_append_str(&b, ",\"columns\":");
			json_strlist(&b, &o->tables[i].columns);
		}
		buf_append_char(&b, '}');
	}
	buf_append_str(&b, "],\"key\":");
	json_strlist(&b, &o->key);
	buf_append_str(&b, ",\"columns\":");
	json_strlist(&b, &o->columns);
	buf_append_str(&b, ",\"exclude_columns\":");
	json_strlist(&b, &o->exclude);
	buf_append_str(&b, ",\"map\":{");
	for (int i = 0; i < o->nmaps; i++) {
		if (i)
			buf_append_char(&b, ',');
		buf_append_json_string(&b, o->maps[i].source, strlen(o->maps[i].source));
		buf_append_char(&b, ':');
		buf_append_json_string(&b, o->maps[i].target, strlen(o->maps[i].target));
	}
	buf_printf(&b,
		   "},\"partition_rows\":%lld,\"float_digits\":%d,\"frac_digits\":%d,"
		   "\"zone_offset_s\":%d,\"casefold\":%s",
		   (long long) o->partition_rows, o->float_digits, o->frac_digits,
		   o->zone_offset_sec, o->casefold ? "true" : "false");
	for (int i = 0; i < o->ncolopts; i++) {
		const struct column_option *co = &o->colopts[i];
		buf_append_str(&b, i ? "," : ",\"column_options\":[");
		buf_append_str(&b, "{\"column\":");
		buf_append_json_string(&b, co->column, strlen(co->column));
		buf_printf(&b, ",\"float_digits\":%d,\"frac_digits\":%d,\"zone_offset_s\":%d,"
			   "\"has_zone\":%s,\"trim\":%d,\"casefold\":%d}",
			   co->float_digits, co->frac_digits, co->zone_offset_sec,
			   co->has_zone ? "true" : "false", co->trim, co->casefold);
	}
	if (o->ncolopts > 0)
		buf_append_char(&b, ']');
	if (!shape_only) {
		buf_printf(&b,
			   ",\"jobs\":%d,\"recheck_delay_s\":%g,\"recheck_attempts\":%d,"
			   "\"max_rows_per_second\":%g,\"max_replica_lag_s\":%g,\"lag_window_s\":%g,"
			   "\"lag_column\":",
			   o->jobs, o->recheck_delay, o->recheck_attempts, o->max_rows_per_second,
			   o->max_replica_lag, o->lag_window);
		if (o->lag_column)
			buf_append_json_string(&b, o->lag_column, strlen(o->lag_column));
		else
			buf_append_str(&b, "null");
		buf_append_str(&b, ",\"lag_query\":");
		if (o->lag_query)
			buf_append_json_string(&b, o->lag_query, strlen(o->lag_query));
		else
			buf_append_str(&b, "null");
		if (o->resume_run)
			buf_printf(&b, ",\"resumed\":true");
	}
	buf_append_char(&b, '}');
	return buf_steal(&b);
}

/* --- finishing -------------------------------------------------------------------------- */

static int64_t
count_state(struct store *st, int64_t run, const char *table, const char *state,
	    const char *kind)
{
	struct failure_filter f = {.run = run, .table = table, .state = state, .kind = kind};
	int64_t n = 0;
	store_count_failures(st, &f, &n);
	return n;
}

/*
 * finish_table records a table's totals and its DMS-style state: the counts of
 * differences are those still open after the rechecks (pending or confirmed), so a
 * difference resolved as lag does not count.
 */
static enum audit_verdict
finish_table(struct store *st, int64_t run, struct table_plan *tp, bool planned)
{
	enum audit_verdict v;
	struct table_result r = {
		.table = tp->name,
		.target_table = tp->target_name ? tp->target_name : "",
		.partitions = tp->plan.n,
		.source_rows = tp->source_rows,
		.target_rows = tp->target_rows,
		.matched = tp->matched,
		.elapsed_s = tp->elapsed_s,
		.error = tp->error,
	};
	struct buf keys, cols;
	buf_init(&keys);
	buf_init(&cols);
	if (tp->ncols > 0) {
		audit_columns_json(tp, tp->keys, tp->nkeys, &keys);
		audit_columns_json(tp, NULL, tp->ncols, &cols);
		r.key_columns = buf_cstr(&keys);
		r.columns = buf_cstr(&cols);
	}
	for (int k = 0; k < 3; k++) {
		static const char *kinds[] = {"MISSING_TARGET", "MISSING_SOURCE", "RECORD_DIFF"};
		int64_t n = count_state(st, run, tp->name, "confirmed", kinds[k]) +
			    count_state(st, run, tp->name, "pending", kinds[k]);
		if (k == 0)
			r.missing_target = n;
		else if (k == 1)
			r.missing_source = n;
		else
			r.record_diff = n;
	}
	int64_t confirmed = count_state(st, run, tp->name, "confirmed", NULL);
	/* a file with a wrong field count or a CDC file out of order is a finding, even where
	 * every row happens to match: the files are not what DMS should have left */
	confirmed += tp->file_problems;
	int64_t pending = count_state(st, run, tp->name, "pending", NULL);
	if (!planned || tp->parts_failed > 0 || tp->parts_done < tp->plan.n) {
		r.status = "error";
		r.state = "Table error";
		v = AUDIT_ERROR;
	} else if (confirmed > 0) {
		r.status = "done";
		r.state = "Mismatched records";
		v = AUDIT_DIFFERENCES;
	} else if (pending > 0) {
		r.status = "done";
		r.state = "Pending records";
		v = AUDIT_PENDING;
	} else {
		r.status = "done";
		r.state = "Validated";
		v = AUDIT_CONSISTENT;
	}
	if (r.error == NULL && v == AUDIT_ERROR)
		r.error = tp->parts_failed > 0 ? "partitions failed" : "interrupted";
	store_table_put(st, run, &r);
	buf_free(&keys);
	buf_free(&cols);
	return v;
}

struct problems_ctx {
	struct table_plan *tp;
	const char *side;
	struct file_problem *items;
	char **owned;	/* two per item: object, reason */
	int n;
};

static bool
collect_problem(void *vctx, const char *object, int64_t line, const char *reason)
{
	struct problems_ctx *c = vctx;
	c->items = xrealloc(c->items, (size_t) (c->n + 1) * sizeof(*c->items));
	c->owned = xrealloc(c->owned, (size_t) (c->n + 1) * 2 * sizeof(char *));
	c->owned[2 * c->n] = xstrdup(object);
	c->owned[2 * c->n + 1] = xstrdup(reason);
	c->items[c->n] = (struct file_problem){c->tp->name, c->side, c->owned[2 * c->n], line,
					       c->owned[2 * c->n + 1]};
	c->n++;
	return true;
}

/*
 * record_file_problems stores what a side made of files (a DMS S3 layout) found wrong
 * with them while the table was read: each problem names the object and line.
 */
static bool
record_file_problems(struct store *st, int64_t run, struct table_plan *tp, struct endpoint *ep,
		     int side)
{
	if (ep->ops->file_problems == NULL)
		return true;
	struct scan_request r;
	table_plan_scan_request(tp, side, &r);
	struct problems_ctx c = {tp, side == 0 ? "source" : "target", NULL, NULL, 0};
	bool ok = ep->ops->file_problems(ep, &r, collect_problem, &c) &&
		  store_file_problems_add(st, run, c.items, c.n);
	if (ok && c.n > 0) {
		int64_t n = 0;
		store_count_file_problems(st, run, tp->name, &n);
		tp->file_problems = n;
		log_warn("%s: %d problem%s with the %s's files; the first: %s:%lld: %s", tp->name, c.n,
			 c.n == 1 ? "" : "s", c.side, c.items[0].object, (long long) c.items[0].line,
			 c.items[0].reason);
	}
	for (int i = 0; i < 2 * c.n; i++)
		free(c.owned[i]);
	free(c.owned);
	free(c.items);
	return ok;
}

static char *
fingerprint(const char *src, const char *tgt, const char *options)
{
	struct buf b;
	buf_init(&b);
	buf_append(&b, src, strlen(src) + 1);
	buf_append(&b, tgt, strlen(tgt) + 1);
	buf_append(&b, options, strlen(options) + 1);
	char *out = xmalloc(33);
	hash128_hex(b.data, b.len, out);
	buf_free(&b);
	return out;
}

/*
 * audit_lag_cutoff reads the source's clock once for all tables: rows whose lag column is
 * at or after (source now - window) are recent. The source's clock, not ours, because
 * the lag column was written by the source.
 */
bool
audit_lag_cutoff(const struct audit_options *o, struct endpoint *src, struct table_plan *tables,
		 int n)
{
	if (o->lag_column == NULL)
		return true;
	if (src->ops->server_time == NULL) {
		log_error("--lag-column: the source (%s) cannot tell its time", src->ops->engine);
		return false;
	}
	struct buf now, cutoff;
	buf_init(&now);
	buf_init(&cutoff);
	bool ok = src->ops->server_time(src, &now);
	for (int i = 0; ok && i < n; i++) {
		if (tables[i].lag_col < 0)
			continue;
		buf_reset(&cutoff);
		ok = canon_timestamp_shift(&tables[i].cols[tables[i].lag_col].opts, now.data, now.len,
					   -o->lag_window, &cutoff);
		if (!ok)
			log_error("--lag-column: cannot read the source time \"%s\"", buf_cstr(&now));
		else {
			free(tables[i].lag_cutoff);
			tables[i].lag_cutoff = xstrdup(buf_cstr(&cutoff));
		}
	}
	buf_free(&now);
	buf_free(&cutoff);
	return ok;
}

/* setup_lag_column finds --lag-column among each table's compared columns. */
static bool
setup_lag_column(const struct audit_options *o, struct table_plan *tables, int n)
{
	bool found_any = false;
	for (int i = 0; i < n; i++) {
		tables[i].lag_col = -1;
		if (o->lag_column == NULL)
			continue;
		for (int c = 0; c < tables[i].ncols; c++)
			if (strcmp(tables[i].cols[c].name, o->lag_column) == 0)
				tables[i].lag_col = c;
		if (tables[i].lag_col < 0)
			continue;
		found_any = true;
		/* compared with a canonical cutoff: never the engine's own text */
		tables[i].cols[tables[i].lag_col].identity = false;
		if (tables[i].cols[tables[i].lag_col].type != CANON_TIMESTAMP) {
			log_error("%s: --lag-column %s is not a timestamp", tables[i].name, o->lag_column);
			return false;
		}
	}
	if (o->lag_column && !found_any) {
		log_error("--lag-column %s: no audited table compares such a column", o->lag_column);
		return false;
	}
	return true;
}

/* check_resume refuses to resume a run that is unknown, finished, or not the same audit. */
struct resume_ctx {
	char status[32];
	char fingerprint[64];
};

static bool
read_resume(void *ctx, const struct run_info *r)
{
	struct resume_ctx *c = ctx;
	snprintf(c->status, sizeof(c->status), "%s", r->status);
	snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", r->fingerprint);
	return false;
}

static bool
check_resume(struct store *st, int64_t run, const char *fp)
{
	struct resume_ctx c = {{0}, {0}};
	bool found = false;
	if (!store_get_run(st, run, read_resume, &c, &found))
		return false;
	if (!found) {
		log_error("--resume: no run %lld in the store", (long long) run);
		return false;
	}
	if (strcmp(c.status, "done") == 0) {
		log_error("--resume: run %lld is already finished", (long long) run);
		log_hint("start a new audit without --resume");
		return false;
	}
	if (strcmp(c.fingerprint, fp) != 0) {
		log_error("--resume: run %lld audited other endpoints, tables or options", (long long) run);
		log_hint("resume with exactly the command line that started it (--jobs and limits may differ)");
		return false;
	}
	return true;
}

/*
 * record_plan records a table's partitions for this run: "planned", or "skipped" for
 * those a drift run leaves to a later run of its rotation (selected NULL = all).
 */
static bool
record_plan(struct store *st, int64_t run, struct table_plan *tp, const bool *selected)
{
	struct partition_result *parts = xcalloc((size_t) tp->plan.n, sizeof(*parts));
	struct buf *bounds = xcalloc((size_t) tp->plan.n * 2, sizeof(struct buf));
	for (int j = 0; j < tp->plan.n; j++) {
		const struct partition_range *r = &tp->plan.parts[j];
		plan_bound_json(&tp->layout, r->lo, r->lolen, &bounds[2 * j]);
		plan_bound_json(&tp->layout, r->hi, r->hilen, &bounds[2 * j + 1]);
		parts[j] = (struct partition_result){
			.table = tp->name, .part_no = j,
			.lo = buf_cstr(&bounds[2 * j]), .hi = buf_cstr(&bounds[2 * j + 1]),
			.lo_key = r->lo, .lo_len = r->lolen, .hi_key = r->hi, .hi_len = r->hilen,
			.status = selected && !selected[j] ? "skipped" : "planned",
		};
	}
	bool ok = store_partition_plan(st, run, parts, tp->plan.n);
	for (int j = 0; j < tp->plan.n * 2; j++)
		buf_free(&bounds[j]);
	free(bounds);
	free(parts);
	log_info("%s: %d partition%s", tp->name, tp->plan.n, tp->plan.n == 1 ? "" : "s");
	return ok;
}

/*
 * prepare_table gives a table its partitions for this run: those recorded by the run
 * being resumed, or by the check's previous drift run (so the rotation's slices stay the
 * same ranges), else a new plan. A drift run then selects its slice.
 */
static bool
prepare_table(const struct audit_options *o, struct store *st, int64_t run, struct table_plan *tp,
	      struct endpoint *src, struct endpoint *tgt, int64_t previous, int64_t slot,
	      const char *since, int *audited)
{
	bool found = false;
	if (o->resume_run > 0)
		return table_plan_load(st, run, tp, &found) &&
		       (found || (table_plan_partitions(o, tp, src, tgt) && record_plan(st, run, tp, NULL)));
	if (previous > 0 && !table_plan_load(st, previous, tp, &found))
		return false;
	if (!found && !table_plan_partitions(o, tp, src, tgt))
		return false;
	free(tp->part_done);
	tp->part_done = NULL;
	tp->source_rows = tp->target_rows = tp->matched = 0;
	tp->missing_target = tp->missing_source = tp->record_diff = 0;
	tp->parts_done = 0;
	if (o->cover_every <= 0) {
		*audited += tp->plan.n;
		return record_plan(st, run, tp, NULL);
	}
	bool *selected = xcalloc((size_t) tp->plan.n + 1, sizeof(bool));
	bool ok = drift_select(o, tp, slot, since, src, selected);
	tp->part_done = xcalloc((size_t) tp->plan.n + 1, sizeof(bool));
	for (int j = 0; j < tp->plan.n; j++) {
		tp->part_done[j] = !selected[j];
		*audited += selected[j];
		tp->parts_done += !selected[j]; /* a skipped partition is not a missing one */
	}
	ok = ok && record_plan(st, run, tp, selected);
	free(selected);
	return ok;
}

static bool
run_audit(const struct audit_options *o, struct store *st, int64_t *run_id,
	  enum audit_verdict *verdict, struct drift_summary *d)
{
	struct endpoint *src = NULL, *tgt = NULL;
	struct table_plan *tables = xcalloc((size_t) o->ntables, sizeof(struct table_plan));
	bool *planned = xcalloc((size_t) o->ntables, sizeof(bool));
	char *shown_src = uri_redact(o->source_uri);
	char *shown_tgt = uri_redact(o->target_uri);
	char *opts = options_json(o, false);
	char *shape = options_json(o, true);
	char *fp = fingerprint(shown_src, shown_tgt, shape);
	bool started = false;
	int built = 0;
	*verdict = AUDIT_ERROR;
	*run_id = 0;

	/* connect and describe before recording anything: bad input leaves no trace */
	if (!audit_open_pair(o, &src, &tgt))
		goto cleanup;
	for (; built < o->ntables; built++)
		if (!table_plan_build(o, &o->tables[built], src, tgt, &tables[built])) {
			built++;
			goto cleanup;
		}
	if (o->ntables > 1 && !audit_check_names(o, tables, o->ntables))
		goto cleanup;
	if (!setup_lag_column(o, tables, o->ntables) ||
	    !audit_lag_cutoff(o, src, tables, o->ntables))
		goto cleanup;
	if (o->max_replica_lag > 0 && !lag_guard_check(o, src, tgt))
		goto cleanup;

	if (o->resume_run > 0) {
		if (!check_resume(st, o->resume_run, fp) ||
		    !store_run_reopen(st, o->resume_run, opts))
			goto cleanup;
		*run_id = o->resume_run;
		log_notice("resuming run %lld", (long long) *run_id);
	} else if (!store_run_begin(st, d ? "drift" : o->kind, shown_src, shown_tgt, opts, fp, run_id)) {
		goto cleanup;
	}
	started = true;
	/* the position before any row is read: a clean audit will have verified it */
	int64_t checkpoint = 0;
	if (o->resume_run == 0 && src->ops->cdc_position &&
	    !audit_take_checkpoint(src, o->slot, st, shown_src, NULL, *run_id, &checkpoint))
		log_warn("no checkpoint recorded for this run (see above); the audit goes on");
	log_info("run %lld: auditing %d table%s", (long long) *run_id, o->ntables,
		 o->ntables == 1 ? "" : "s");

	/* a drift run: its place in the rotation, and the failures earlier runs left open */
	int64_t history = 0, previous = 0;
	char since[40] = "";
	bool drift_ok = true;
	if (d) {
		memset(d, 0, sizeof(*d));
		snprintf(d->fingerprint, sizeof(d->fingerprint), "%s", fp);
		drift_ok = store_drift_history(st, "drift", fp, *run_id, &history, &previous, since) &&
			   drift_close_earlier(st, *run_id, fp, tables, o->ntables, src, tgt, &d->closed,
					       &d->still_open);
		if (drift_ok && (d->closed || d->still_open))
			log_notice("earlier failures: %lld now match (closed), %lld still differ",
				   (long long) d->closed, (long long) d->still_open);
	}

	bool planned_all = drift_ok;
	int audited = 0, total = 0;
	for (int i = 0; i < o->ntables && !audit_interrupted; i++) {
		planned[i] = prepare_table(o, st, *run_id, &tables[i], src, tgt, d ? previous : 0,
					   history, since, &audited);
		total += tables[i].plan.n;
		if (!planned[i]) {
			tables[i].error = xstrdup("partition planning failed");
			planned_all = false;
		}
	}
	if (d) {
		d->audited = audited;
		d->total = total;
		log_notice("drift run %lld of the rotation: auditing %d of %d partitions (each within "
			   "%d runs)",
			   (long long) history + 1, audited, total, o->cover_every);
	}

	double t0 = time_monotonic();
	bool pool_ok = audit_run_pool(o, st, *run_id, tables, o->ntables);
	double elapsed = time_monotonic() - t0;
	for (int i = 0; i < o->ntables; i++)
		tables[i].elapsed_s = elapsed;

	bool recheck_ok = !audit_interrupted &&
			  audit_recheck(o, st, *run_id, tables, o->ntables);
	for (int i = 0; i < o->ntables && recheck_ok; i++)
		if (planned[i])
			recheck_ok = record_file_problems(st, *run_id, &tables[i], src, 0) &&
				     record_file_problems(st, *run_id, &tables[i], tgt, 1);

	/* a drift run reconciles whole-table counts: the slice saw only part of each */
	bool counts_ok = true;
	for (int i = 0; d && i < o->ntables && planned[i]; i++) {
		int64_t sc = 0, tc = 0;
		if (!drift_counts(&tables[i], src, tgt, &sc, &tc)) {
			counts_ok = false;
			continue;
		}
		tables[i].source_rows = sc;
		tables[i].target_rows = tc;
		int64_t gap = sc > tc ? sc - tc : tc - sc;
		if (gap > d->max_count_gap)
			d->max_count_gap = gap;
	}

	enum audit_verdict v = AUDIT_CONSISTENT;
	for (int i = 0; i < o->ntables; i++) {
		enum audit_verdict tv = finish_table(st, *run_id, &tables[i], planned[i]);
		if (tv > v)
			v = tv;
	}
	if (!pool_ok || !planned_all || !recheck_ok || !counts_ok)
		v = AUDIT_ERROR;
	*verdict = v;
	if (audit_interrupted)
		log_error("interrupted: run %lld can be continued with --resume %lld", (long long) *run_id,
			  (long long) *run_id);
	int64_t verified = 0;
	if (v == AUDIT_CONSISTENT && !d && store_checkpoints_verify(st, *run_id, &verified) && verified)
		log_info("run %lld verified %lld checkpoint%s", (long long) *run_id,
			 (long long) verified, verified == 1 ? "" : "s");
	store_run_finish(st, *run_id,
			 audit_interrupted ? "interrupted" : v == AUDIT_ERROR ? "failed" : "done",
			 verdict_names[v], v == AUDIT_ERROR ? 2 : v == AUDIT_DIFFERENCES ? 1 : 0);
	if (d) {
		d->run = *run_id;
		d->verdict = v;
	}

cleanup:
	for (int i = 0; i < built; i++)
		table_plan_free(&tables[i]);
	endpoint_close(src);
	endpoint_close(tgt);
	free(tables);
	free(planned);
	free(shown_src);
	free(shown_tgt);
	free(opts);
	free(shape);
	free(fp);
	return started;
}

bool
audit_run(const struct audit_options *o, struct store *st, int64_t *run_id,
	  enum audit_verdict *verdict)
{
	return run_audit(o, st, run_id, verdict, NULL);
}

bool
audit_run_drift(const struct audit_options *o, struct store *st, struct drift_summary *d)
{
	int64_t run = 0;
	enum audit_verdict v;
	return run_audit(o, st, &run, &v, d);
}
