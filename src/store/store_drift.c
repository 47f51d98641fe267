/*
 * store/store_drift.c: the history a scheduled drift check needs: its earlier runs and
 * the failures they left open.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"

struct history {
	int64_t count, latest;
	char *started_at;
};

static bool
read_history(void *ctx, sqlite3_stmt *st)
{
	struct history *h = ctx;
	h->count = sqlite3_column_int64(st, 0);
	h->latest = sqlite3_column_int64(st, 1);
	const char *t = store_col_text(st, 2);
	snprintf(h->started_at, 40, "%s", t ? t : "");
	return false;
}

bool
store_drift_history(struct store *s, const char *kind, const char *fingerprint, int64_t before_run,
		    int64_t *count, int64_t *latest, char *started_at)
{
	struct history h = {0, 0, started_at};
	started_at[0] = '\0';
	struct param p[] = {PT(":kind", kind), PT(":fp", fingerprint), PI(":before", before_run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT count(*), coalesce(max(id), 0),"
			    "       (SELECT started_at FROM runs WHERE id = (SELECT max(id) FROM runs"
			    "          WHERE kind = :kind AND fingerprint = :fp AND id < :before))"
			    "  FROM runs WHERE kind = :kind AND fingerprint = :fp AND id < :before",
			    p, read_history, &h);
	pthread_mutex_unlock(&s->mu);
	*count = h.count;
	*latest = h.latest;
	return ok;
}

bool
store_list_open_failures(struct store *s, const char *kind, const char *fingerprint,
			 int64_t before_run, failure_fn fn, void *ctx)
{
	struct store_failure_ctx c = {fn, ctx};
	struct param p[] = {PT(":kind", kind), PT(":fp", fingerprint), PI(":before", before_run), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT " FAILURE_COLUMNS_OF("f.") " FROM failures f JOIN runs r ON r.id = f.run_id"
			    " WHERE r.kind = :kind AND r.fingerprint = :fp AND f.run_id < :before"
			    "   AND f.state IN ('pending', 'confirmed')"
			    " ORDER BY f.table_name, f.id",
			    p, store_failure_row, &c);
	pthread_mutex_unlock(&s->mu);
	return ok;
}

static bool
read_count(void *ctx, sqlite3_stmt *st)
{
	*(int64_t *) ctx = sqlite3_column_int64(st, 0);
	return false;
}

bool
store_count_open_confirmed(struct store *s, const char *kind, const char *fingerprint, int64_t *n)
{
	struct param p[] = {PT(":kind", kind), PT(":fp", fingerprint), PEND};
	*n = 0;
	pthread_mutex_lock(&s->mu);
	bool ok = store_sql(s,
			    "SELECT count(*) FROM failures f JOIN runs r ON r.id = f.run_id"
			    " WHERE r.kind = :kind AND r.fingerprint = :fp AND f.state = 'confirmed'",
			    p, read_count, n);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
