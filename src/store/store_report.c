/*
 * store/store_report.c: the read side that reports and the `runs` filters need.
 *
 * Reports read only the store, and must stream: a run with a million failures is
 * reported with flat memory. So failures are listed in the order of the unique index
 * (run_id, table_name, key) — canonical key order, with no sort — and counts come from
 * GROUP BY queries rather than from walking the rows in C.
 *
 * Like every store call, each function holds the store's mutex while it calls back:
 * a callback must not call the store again (collect what it needs, then query).
 */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"

/* --- runs, filtered ------------------------------------------------------------------- */

struct run_list_ctx {
	run_fn fn;
	void *ctx;
};

static bool
run_list_row(void *vctx, sqlite3_stmt *st)
{
	struct run_list_ctx *c = vctx;
	struct run_info r = {
		.id = sqlite3_column_int64(st, 0),
		.kind = store_col_text(st, 1),
		.started_at = store_col_text(st, 2),
		.finished_at = store_col_text(st, 3),
		.status = store_col_text(st, 4),
		.verdict = store_col_text(st, 5),
		.source = store_col_text(st, 6),
		.target = store_col_text(st, 7),
		.options = store_col_text(st, 8),
		.fingerprint = store_col_text(st, 9),
		.exit_code = sqlite3_column_int(st, 10),
		.tables = sqlite3_column_int64(st, 11),
		.source_rows = sqlite3_column_int64(st, 12),
		.target_rows = sqlite3_column_int64(st, 13),
		.differences = sqlite3_column_int64(st, 14),
	};
	return c->fn(c->ctx, &r);
}

/*
 * store_list_runs_filtered is store_list_runs with filters, applied in SQL so that
 * --limit counts the runs that match rather than the newest runs before filtering.
 */
bool
store_list_runs_filtered(struct store *s, const struct run_filter *flt, run_fn fn, void *ctx)
{
	struct run_list_ctx c = {fn, ctx};
	struct param p[] = {PT(":kind", flt->kind),
			    PT(":verdict", flt->verdict),
			    PT(":status", flt->status),
			    PT(":t", flt->table),
			    PT(":state", flt->table_state),
			    PI(":lim", flt->limit > 0 ? flt->limit : -1),
			    PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(
		s,
		"SELECT r.id, r.kind, r.started_at, r.finished_at, r.status, r.verdict, r.source,"
		"       r.target, r.options, r.fingerprint, coalesce(r.exit_code, -1),"
		"       (SELECT count(*) FROM run_tables t WHERE t.run_id = r.id),"
		"       (SELECT coalesce(sum(source_rows), 0) FROM run_tables t WHERE t.run_id = r.id),"
		"       (SELECT coalesce(sum(target_rows), 0) FROM run_tables t WHERE t.run_id = r.id),"
		"       (SELECT count(*) FROM failures f"
		"         WHERE f.run_id = r.id AND f.state = 'confirmed')"
		"  FROM runs r"
		" WHERE (:kind IS NULL OR r.kind = :kind)"
		"   AND (:verdict IS NULL OR r.verdict = :verdict)"
		"   AND (:status IS NULL OR r.status = :status)"
		"   AND (:t IS NULL AND :state IS NULL OR EXISTS ("
		"         SELECT 1 FROM run_tables t WHERE t.run_id = r.id"
		"            AND (:t IS NULL OR t.table_name = :t)"
		"            AND (:state IS NULL OR t.state = :state)))"
		" ORDER BY r.id DESC LIMIT :lim",
		p, run_list_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* --- run details ---------------------------------------------------------------------- */

struct text_out {
	char *buf;
	size_t size;
};

static bool
copy_text(void *ctx, sqlite3_stmt *st)
{
	struct text_out *v = ctx;
	const char *t = store_col_text(st, 0);
	snprintf(v->buf, v->size, "%s", t ? t : "");
	return false;
}

bool
store_run_tool_version(struct store *s, int64_t run, char *buf, size_t size)
{
	struct text_out v = {buf, size};
	struct param p[] = {PI(":run", run), PEND};
	if (size > 0)
		buf[0] = '\0';
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, "SELECT tool_version FROM runs WHERE id = :run", p, copy_text, &v);
	pthread_mutex_unlock(&s->mu);
	return ok;
}


/* --- failures, for reports ---------------------------------------------------------------- */

struct count_ctx {
	failure_count_fn fn;
	void *ctx;
};

static bool
count_row(void *vctx, sqlite3_stmt *st)
{
	struct count_ctx *c = vctx;
	struct failure_count k = {
		.table = store_col_text(st, 0),
		.kind = store_col_text(st, 1),
		.state = store_col_text(st, 2),
		.n = sqlite3_column_int64(st, 3),
	};
	return c->fn(c->ctx, &k);
}

bool
store_count_failures_grouped(struct store *s, int64_t run, failure_count_fn fn, void *ctx)
{
	struct count_ctx c = {fn, ctx};
	struct param p[] = {PI(":run", run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT table_name, kind, state, count(*) FROM failures"
			    " WHERE run_id = :run GROUP BY table_name, kind, state"
			    " ORDER BY table_name, kind, state",
			    p, count_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/*
 * store_list_failures_by_key walks the unique index (run_id, table_name, key): the
 * rows come out in canonical key order without a sort, so a million failures stream
 * through a fixed amount of memory, and a LIMIT stops the walk early.
 */
bool
store_list_failures_by_key(struct store *s, const struct failure_filter *flt, failure_fn fn,
			   void *ctx)
{
	if (flt->run <= 0) {
		log_error("store: listing failures by key needs a run");
		return false;
	}
	struct store_failure_ctx c = {fn, ctx};
	struct param p[] = {PI(":run", flt->run),
			    PT(":t", flt->table),
			    PT(":kind", flt->kind),
			    PT(":st", flt->state),
			    PI(":lim", flt->limit > 0 ? flt->limit : -1),
			    PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT " FAILURE_COLUMNS " FROM failures"
			    " WHERE run_id = :run AND (:t IS NULL OR table_name = :t)"
			    "   AND (:kind IS NULL OR kind = :kind) AND (:st IS NULL OR state = :st)"
			    " ORDER BY run_id, table_name, key LIMIT :lim",
			    p, store_failure_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
