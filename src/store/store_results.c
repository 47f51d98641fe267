/*
 * store/store_results.c: runs, per-table and per-partition results, and failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"
#include "util/str.h"

#ifndef CROSSCHECK_VERSION
#define CROSSCHECK_VERSION "dev"
#endif

static void
now(char buf[40])
{
	time_now_iso(buf, 40);
}

/* --- runs ----------------------------------------------------------------------------- */

bool
store_run_begin(struct store *s, const char *kind, const char *source, const char *target,
		const char *options_json, const char *fingerprint, int64_t *run_id)
{
	char ts[40];
	now(ts);
	struct param p[] = {PT(":kind", kind), PT(":ts", ts), PT(":src", source),
			    PT(":tgt", target), PT(":opt", options_json), PT(":fp", fingerprint),
			    PT(":ver", CROSSCHECK_VERSION), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "INSERT INTO runs (kind, started_at, status, source, target, options,"
			    "                  fingerprint, tool_version)"
			    " VALUES (:kind, :ts, 'running', :src, :tgt, :opt, :fp, :ver)",
			    p, NULL, NULL);
	*run_id = ok ? sqlite3_last_insert_rowid(s->db) : 0;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_run_reopen(struct store *s, int64_t run, const char *options_json)
{
	struct param p[] = {PI(":run", run), PT(":opt", options_json), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "UPDATE runs SET status = 'running', finished_at = NULL, verdict = NULL,"
			    " exit_code = NULL, options = :opt WHERE id = :run",
			    p, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_run_finish(struct store *s, int64_t run, const char *status, const char *verdict,
		 int exit_code)
{
	char ts[40];
	now(ts);
	struct param p[] = {PI(":run", run), PT(":st", status), PT(":v", verdict), PT(":ts", ts),
			    PI(":ec", exit_code), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "UPDATE runs SET status = :st, verdict = :v, finished_at = :ts,"
			    " exit_code = :ec WHERE id = :run",
			    p, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

struct run_ctx {
	run_fn fn;
	void *ctx;
	bool found;
};

static const char *run_select =
	"SELECT r.id, r.kind, r.started_at, r.finished_at, r.status, r.verdict, r.source, r.target,"
	"       r.options, r.fingerprint, coalesce(r.exit_code, -1),"
	"       (SELECT count(*) FROM run_tables t WHERE t.run_id = r.id),"
	"       (SELECT coalesce(sum(source_rows), 0) FROM run_tables t WHERE t.run_id = r.id),"
	"       (SELECT coalesce(sum(target_rows), 0) FROM run_tables t WHERE t.run_id = r.id),"
	"       (SELECT count(*) FROM failures f WHERE f.run_id = r.id AND f.state = 'confirmed')"
	"     + (SELECT count(*) FROM file_problems p WHERE p.run_id = r.id)" /* findings too */
	"  FROM runs r";

static bool
run_row(void *vctx, sqlite3_stmt *st)
{
	struct run_ctx *c = vctx;
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
	c->found = true;
	return c->fn(c->ctx, &r);
}

bool
store_list_runs(struct store *s, int limit, run_fn fn, void *ctx)
{
	struct run_ctx c = {fn, ctx, false};
	char sql[2048];
	snprintf(sql, sizeof(sql), "%s ORDER BY r.id DESC LIMIT :lim", run_select);
	struct param p[] = {PI(":lim", limit > 0 ? limit : -1), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, sql, p, run_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_get_run(struct store *s, int64_t run, run_fn fn, void *ctx, bool *found)
{
	struct run_ctx c = {fn, ctx, false};
	char sql[2048];
	snprintf(sql, sizeof(sql), "%s WHERE r.id = :run", run_select);
	struct param p[] = {PI(":run", run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, sql, p, run_row, &c);
	pthread_mutex_unlock(&s->mu);
	*found = c.found;
	return ok;
}

static bool
read_first_int(void *ctx, sqlite3_stmt *st)
{
	*(int64_t *) ctx = sqlite3_column_int64(st, 0);
	return false;
}

bool
store_latest_run(struct store *s, int64_t *run)
{
	*run = 0;
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, "SELECT coalesce(max(id), 0) FROM runs", NULL, read_first_int, run);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* --- tables --------------------------------------------------------------------------- */

bool
store_table_put(struct store *s, int64_t run, const struct table_result *t)
{
	struct param p[] = {
		PI(":run", run), PT(":t", t->table), PT(":tt", t->target_table), PT(":st", t->status),
		PT(":state", t->state), PT(":keys", t->key_columns), PT(":cols", t->columns),
		PI(":np", t->partitions), PI(":sr", t->source_rows), PI(":tr", t->target_rows),
		PI(":m", t->matched), PI(":mt", t->missing_target), PI(":ms", t->missing_source),
		PI(":rd", t->record_diff), PR(":el", t->elapsed_s), PT(":err", t->error), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "INSERT INTO run_tables (run_id, table_name, target_table, status, state,"
			    "  key_columns, columns, partitions, source_rows, target_rows, matched,"
			    "  missing_target, missing_source, record_diff, elapsed_s, error)"
			    " VALUES (:run, :t, :tt, :st, :state, :keys, :cols, :np, :sr, :tr, :m, :mt,"
			    "  :ms, :rd, :el, :err)"
			    " ON CONFLICT (run_id, table_name) DO UPDATE SET"
			    "  target_table = excluded.target_table, status = excluded.status,"
			    "  state = excluded.state, key_columns = excluded.key_columns,"
			    "  columns = excluded.columns, partitions = excluded.partitions,"
			    "  source_rows = excluded.source_rows, target_rows = excluded.target_rows,"
			    "  matched = excluded.matched, missing_target = excluded.missing_target,"
			    "  missing_source = excluded.missing_source,"
			    "  record_diff = excluded.record_diff, elapsed_s = excluded.elapsed_s,"
			    "  error = excluded.error",
			    p, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

struct table_ctx {
	table_fn fn;
	void *ctx;
};

static bool
table_row(void *vctx, sqlite3_stmt *st)
{
	struct table_ctx *c = vctx;
	struct table_result t = {
		.table = store_col_text(st, 0),
		.target_table = store_col_text(st, 1),
		.status = store_col_text(st, 2),
		.state = store_col_text(st, 3),
		.key_columns = store_col_text(st, 4),
		.columns = store_col_text(st, 5),
		.partitions = sqlite3_column_int64(st, 6),
		.source_rows = sqlite3_column_int64(st, 7),
		.target_rows = sqlite3_column_int64(st, 8),
		.matched = sqlite3_column_int64(st, 9),
		.missing_target = sqlite3_column_int64(st, 10),
		.missing_source = sqlite3_column_int64(st, 11),
		.record_diff = sqlite3_column_int64(st, 12),
		.elapsed_s = sqlite3_column_double(st, 13),
		.error = store_col_text(st, 14),
	};
	return c->fn(c->ctx, &t);
}

bool
store_list_tables(struct store *s, int64_t run, table_fn fn, void *ctx)
{
	struct table_ctx c = {fn, ctx};
	struct param p[] = {PI(":run", run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT table_name, target_table, status, state, key_columns, columns,"
			    "  partitions, source_rows, target_rows, matched, missing_target,"
			    "  missing_source, record_diff, elapsed_s, error"
			    " FROM run_tables WHERE run_id = :run ORDER BY table_name",
			    p, table_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* --- partitions ------------------------------------------------------------------------ */

static bool
put_partition(struct store *s, int64_t run, const struct partition_result *pr)
{
	char ts[40];
	now(ts);
	struct param p[] = {
		PI(":run", run), PT(":t", pr->table), PI(":n", pr->part_no), PT(":lo", pr->lo),
		PT(":hi", pr->hi), PB(":lok", pr->lo_key, pr->lo_len), PB(":hik", pr->hi_key, pr->hi_len),
		PT(":st", pr->status), PI(":sr", pr->source_rows), PI(":tr", pr->target_rows),
		PI(":m", pr->matched), PI(":mt", pr->missing_target), PI(":ms", pr->missing_source),
		PI(":rd", pr->record_diff), PT(":sd", pr->source_digest), PT(":td", pr->target_digest),
		PR(":el", pr->elapsed_s), PI(":att", pr->attempts), PT(":err", pr->error),
		PT(":ts", ts), PEND};
	return store_sql(s,
			 "INSERT INTO partitions (run_id, table_name, part_no, lo, hi, lo_key, hi_key,"
			 "  status, source_rows, target_rows, matched, missing_target, missing_source,"
			 "  record_diff, source_digest, target_digest, elapsed_s, attempts, error,"
			 "  finished_at)"
			 " VALUES (:run, :t, :n, :lo, :hi, :lok, :hik, :st, :sr, :tr, :m, :mt, :ms, :rd,"
			 "  :sd, :td, :el, :att, :err, :ts)"
			 " ON CONFLICT (run_id, table_name, part_no) DO UPDATE SET"
			 "  status = excluded.status, source_rows = excluded.source_rows,"
			 "  target_rows = excluded.target_rows, matched = excluded.matched,"
			 "  missing_target = excluded.missing_target,"
			 "  missing_source = excluded.missing_source, record_diff = excluded.record_diff,"
			 "  source_digest = excluded.source_digest,"
			 "  target_digest = excluded.target_digest, elapsed_s = excluded.elapsed_s,"
			 "  attempts = excluded.attempts, error = excluded.error,"
			 "  finished_at = excluded.finished_at",
			 p, NULL, NULL);
}

bool
store_partition_plan(struct store *s, int64_t run, const struct partition_result *parts, int n)
{
	pthread_mutex_lock(&s->mu);
	bool ok = store_exec(s, "BEGIN IMMEDIATE");
	for (int i = 0; ok && i < n; i++)
		ok = put_partition(s, run, &parts[i]);
	ok = ok ? store_exec(s, "COMMIT") : (store_exec(s, "ROLLBACK"), false);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_partition_commit(struct store *s, int64_t run, const struct partition_result *pr,
		       const struct failure_record *f, int nf)
{
	char ts[40];
	now(ts);
	pthread_mutex_lock(&s->mu);
	bool ok = store_exec(s, "BEGIN IMMEDIATE") && put_partition(s, run, pr);
	for (int i = 0; ok && i < nf; i++) {
		struct param p[] = {PI(":run", run),	      PT(":t", pr->table),
				    PT(":kj", f[i].key_json), PB(":k", f[i].key, f[i].keylen),
				    PT(":kind", f[i].kind),   PT(":cols", f[i].columns),
				    PT(":st", f[i].state),    PT(":ts", ts),
				    PI(":def", f[i].deferred), PT(":origin", f[i].origin), PEND};
		ok = store_sql(s,
			       "INSERT INTO failures (run_id, table_name, key_json, key, kind, columns,"
			       "  state, attempts, first_seen, last_seen, deferred, origin)"
			       " VALUES (:run, :t, :kj, :k, :kind, :cols, :st, 0, :ts, :ts, :def, :origin)"
			       " ON CONFLICT (run_id, table_name, key) DO UPDATE SET"
			       "  kind = excluded.kind, columns = excluded.columns,"
			       "  state = excluded.state, last_seen = excluded.last_seen,"
			       "  deferred = excluded.deferred, origin = excluded.origin",
			       p, NULL, NULL);
	}
	ok = ok ? store_exec(s, "COMMIT") : (store_exec(s, "ROLLBACK"), false);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

struct part_ctx {
	partition_fn fn;
	void *ctx;
};

static bool
partition_row(void *vctx, sqlite3_stmt *st)
{
	struct part_ctx *c = vctx;
	struct partition_result p = {
		.table = store_col_text(st, 0),
		.part_no = sqlite3_column_int(st, 1),
		.lo = store_col_text(st, 2),
		.hi = store_col_text(st, 3),
		.lo_key = sqlite3_column_blob(st, 4),
		.lo_len = (size_t) sqlite3_column_bytes(st, 4),
		.hi_key = sqlite3_column_blob(st, 5),
		.hi_len = (size_t) sqlite3_column_bytes(st, 5),
		.status = store_col_text(st, 6),
		.source_rows = sqlite3_column_int64(st, 7),
		.target_rows = sqlite3_column_int64(st, 8),
		.matched = sqlite3_column_int64(st, 9),
		.missing_target = sqlite3_column_int64(st, 10),
		.missing_source = sqlite3_column_int64(st, 11),
		.record_diff = sqlite3_column_int64(st, 12),
		.source_digest = store_col_text(st, 13),
		.target_digest = store_col_text(st, 14),
		.elapsed_s = sqlite3_column_double(st, 15),
		.attempts = sqlite3_column_int(st, 16),
		.error = store_col_text(st, 17),
	};
	return c->fn(c->ctx, &p);
}

bool
store_list_partitions(struct store *s, int64_t run, const char *table, partition_fn fn, void *ctx)
{
	struct part_ctx c = {fn, ctx};
	struct param p[] = {PI(":run", run), PT(":t", table), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT table_name, part_no, lo, hi, lo_key, hi_key, status, source_rows,"
			    "  target_rows, matched, missing_target, missing_source, record_diff,"
			    "  source_digest, target_digest, elapsed_s, attempts, error"
			    " FROM partitions WHERE run_id = :run AND (:t IS NULL OR table_name = :t)"
			    " ORDER BY table_name, part_no",
			    p, partition_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* --- failures ---------------------------------------------------------------------------- */

bool
store_failure_row(void *vctx, sqlite3_stmt *st)
{
	struct store_failure_ctx *c = vctx;
	struct failure_row f = {
		.id = sqlite3_column_int64(st, 0),
		.run = sqlite3_column_int64(st, 1),
		.table = store_col_text(st, 2),
		.key_json = store_col_text(st, 3),
		.key = sqlite3_column_blob(st, 4),
		.keylen = (size_t) sqlite3_column_bytes(st, 4),
		.kind = store_col_text(st, 5),
		.columns = store_col_text(st, 6),
		.state = store_col_text(st, 7),
		.attempts = sqlite3_column_int(st, 8),
		.first_seen = store_col_text(st, 9),
		.last_seen = store_col_text(st, 10),
		.deferred = sqlite3_column_int(st, 11) != 0,
		.origin = store_col_text(st, 12),
	};
	return c->fn(c->ctx, &f);
}

#define FAILURE_WHERE                                                                      \
	" WHERE (:run = 0 OR run_id = :run) AND (:t IS NULL OR table_name = :t)"          \
	"   AND (:kind IS NULL OR kind = :kind) AND (:st IS NULL OR state = :st)"

bool
store_list_failures(struct store *s, const struct failure_filter *flt, failure_fn fn, void *ctx)
{
	struct store_failure_ctx c = {fn, ctx};
	struct param p[] = {PI(":run", flt->run),	PT(":t", flt->table),
			    PT(":kind", flt->kind),	PT(":st", flt->state),
			    PI(":lim", flt->limit > 0 ? flt->limit : -1), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT " FAILURE_COLUMNS " FROM failures" FAILURE_WHERE
			    " ORDER BY run_id, table_name, id LIMIT :lim",
			    p, store_failure_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_count_failures(struct store *s, const struct failure_filter *flt, int64_t *n)
{
	struct param p[] = {PI(":run", flt->run), PT(":t", flt->table), PT(":kind", flt->kind),
			    PT(":st", flt->state), PEND};
	*n = 0;
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, "SELECT count(*) FROM failures" FAILURE_WHERE, p, read_first_int, n);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_failure_update(struct store *s, int64_t id, const char *state, const char *kind,
		     const char *columns, bool deferred)
{
	char ts[40];
	now(ts);
	struct param p[] = {PI(":id", id),	 PT(":st", state), PT(":kind", kind),
			    PT(":cols", columns), PT(":ts", ts),    PI(":def", deferred), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "UPDATE failures SET state = :st, kind = coalesce(:kind, kind),"
			    " columns = coalesce(:cols, columns), attempts = attempts + 1,"
			    " last_seen = :ts, deferred = :def WHERE id = :id",
			    p, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* --- problems with a side's files ---------------------------------------------------------- */

bool
store_file_problems_add(struct store *s, int64_t run, const struct file_problem *fp, int n)
{
	pthread_mutex_lock(&s->mu);
	bool ok = store_exec(s, "BEGIN IMMEDIATE");
	for (int i = 0; ok && i < n; i++) {
		struct param p[] = {PI(":run", run),	       PT(":t", fp[i].table),
				    PT(":side", fp[i].side),   PT(":obj", fp[i].object),
				    PI(":line", fp[i].line),   PT(":why", fp[i].reason), PEND};
		ok = store_sql(s,
			       "INSERT OR IGNORE INTO file_problems (run_id, table_name, side, object,"
			       "  line, reason) VALUES (:run, :t, :side, :obj, :line, :why)",
			       p, NULL, NULL);
	}
	ok = ok ? store_exec(s, "COMMIT") : (store_exec(s, "ROLLBACK"), false);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

struct problem_ctx {
	file_problem_row_fn fn;
	void *ctx;
};

static bool
problem_row(void *vctx, sqlite3_stmt *st)
{
	struct problem_ctx *c = vctx;
	struct file_problem p = {
		.table = store_col_text(st, 0),
		.side = store_col_text(st, 1),
		.object = store_col_text(st, 2),
		.line = sqlite3_column_int64(st, 3),
		.reason = store_col_text(st, 4),
	};
	return c->fn(c->ctx, &p);
}

bool
store_list_file_problems(struct store *s, int64_t run, const char *table, file_problem_row_fn fn,
			 void *ctx)
{
	struct param p[] = {PI(":run", run), PT(":t", table), PEND};
	struct problem_ctx c = {fn, ctx};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT table_name, side, object, line, reason FROM file_problems"
			    " WHERE run_id = :run AND (:t IS NULL OR table_name = :t)"
			    " ORDER BY table_name, side, object, line, reason",
			    p, problem_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_count_file_problems(struct store *s, int64_t run, const char *table, int64_t *n)
{
	struct param p[] = {PI(":run", run), PT(":t", table), PEND};
	*n = 0;
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT count(*) FROM file_problems"
			    " WHERE run_id = :run AND (:t IS NULL OR table_name = :t)",
			    p, read_first_int, n);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
