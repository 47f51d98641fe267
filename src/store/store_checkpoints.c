/*
 * store/store_checkpoints.c: CDC positions recorded by `checkpoint` and by every audit,
 * and their verification.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/str.h"

struct record_ctx {
	checkpoint_record_fn fn;
	void *ctx;
	bool found;
};

static const char *checkpoint_select =
	"SELECT id, source, engine, position, gtid, label, taken_at, coalesce(run_id, 0),"
	"       coalesce(verified_by, 0) FROM checkpoints";

static bool
record_row(void *vctx, sqlite3_stmt *st)
{
	struct record_ctx *c = vctx;
	struct checkpoint_record r = {
		.id = sqlite3_column_int64(st, 0),
		.source = store_col_text(st, 1),
		.engine = store_col_text(st, 2),
		.position = store_col_text(st, 3),
		.gtid = store_col_text(st, 4),
		.label = store_col_text(st, 5),
		.taken_at = store_col_text(st, 6),
		.run = sqlite3_column_int64(st, 7),
		.verified_by = sqlite3_column_int64(st, 8),
	};
	c->found = true;
	return c->fn(c->ctx, &r);
}

bool
store_checkpoint_add(struct store *s, const struct checkpoint_record *c, int64_t *id)
{
	char ts[40];
	time_now_iso(ts, sizeof(ts));
	struct param p[] = {PT(":src", c->source), PT(":eng", c->engine), PT(":pos", c->position),
			    PT(":gtid", c->gtid), PT(":label", c->label),
			    PT(":ts", c->taken_at ? c->taken_at : ts),
			    PI(":run", c->run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "INSERT INTO checkpoints (source, engine, position, gtid, label, taken_at, run_id)"
			    " VALUES (:src, :eng, :pos, :gtid, :label, :ts, nullif(:run, 0))",
			    p, NULL, NULL);
	*id = ok ? sqlite3_last_insert_rowid(s->db) : 0;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_list_checkpoint_records(struct store *s, const char *source, checkpoint_record_fn fn,
			      void *ctx)
{
	struct record_ctx c = {fn, ctx, false};
	char sql[512];
	snprintf(sql, sizeof(sql), "%s WHERE (:src IS NULL OR source = :src) ORDER BY id DESC",
		 checkpoint_select);
	struct param p[] = {PT(":src", source), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, sql, p, record_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_get_checkpoint(struct store *s, int64_t id, checkpoint_record_fn fn, void *ctx, bool *found)
{
	struct record_ctx c = {fn, ctx, false};
	char sql[512];
	snprintf(sql, sizeof(sql), "%s WHERE id = :id", checkpoint_select);
	struct param p[] = {PI(":id", id), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, sql, p, record_row, &c);
	pthread_mutex_unlock(&s->mu);
	*found = c.found;
	return ok;
}

bool
store_checkpoints_verify(struct store *s, int64_t run, int64_t *n)
{
	struct param p[] = {PI(":run", run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "UPDATE checkpoints SET verified_by = :run"
			    " WHERE verified_by IS NULL"
			    "   AND (run_id = :run"
			    "        OR (source = (SELECT source FROM runs WHERE id = :run)"
			    "            AND taken_at <= (SELECT started_at FROM runs WHERE id = :run)))",
			    p, NULL, NULL);
	*n = ok ? sqlite3_changes(s->db) : 0;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool
store_run_checkpoints(struct store *s, int64_t run, checkpoint_record_fn fn, void *ctx)
{
	struct record_ctx c = {fn, ctx, false};
	char sql[512];
	snprintf(sql, sizeof(sql), "%s WHERE run_id = :run ORDER BY id", checkpoint_select);
	struct param p[] = {PI(":run", run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s, sql, p, record_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
