/*
 * store/store_import.c: runs whose failures another tool found (AWS DMS validation).
 *
 * An imported run is recorded like a finished audit of the failing keys only: a run, one
 * table result per table, one failure per key, in one transaction, so that a bad row
 * found late can never leave half an import behind. Its counts and verdict are derived
 * from its failures, the same way after the import and after a recheck.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"
#include "util/str.h"

#ifndef CROSSCHECK_VERSION
#define CROSSCHECK_VERSION "dev"
#endif

static bool
read_int64(void *ctx, sqlite3_stmt *st)
{
	*(int64_t *) ctx = sqlite3_column_int64(st, 0);
	return false;
}

static bool
count_state(struct store *s, int64_t run, const char *state, int64_t *n)
{
	struct param p[] = {PI(":run", run), PT(":st", state), PEND};
	*n = 0;
	return store_sql(s, "SELECT count(*) FROM failures WHERE run_id = :run AND state = :st", p,
			 read_int64, n);
}

/*
 * recount: the caller holds the mutex and a transaction. A table whose failures all
 * resolved is "Validated" in the sense the import can give it: every key DMS reported
 * now matches (the rest of the table was not read).
 */
static bool
recount(struct store *s, int64_t run, int exit_code, int64_t *confirmed, int64_t *pending)
{
	char ts[40];
	time_now_iso(ts, sizeof(ts));
	struct param p[] = {PI(":run", run), PEND};
#define OPEN_OF(kind)                                                                      \
	"(SELECT count(*) FROM failures f WHERE f.run_id = run_tables.run_id"              \
	"   AND f.table_name = run_tables.table_name AND f.kind = '" kind "'"                \
	"   AND f.state IN ('pending', 'confirmed'))"
#define STATE_IS(state)                                                                    \
	"EXISTS (SELECT 1 FROM failures f WHERE f.run_id = run_tables.run_id"              \
	"   AND f.table_name = run_tables.table_name AND f.state = '" state "')"
	bool ok = store_sql(s,
			    "UPDATE run_tables SET status = 'done',"
			    "  missing_target = " OPEN_OF("MISSING_TARGET") ","
			    "  missing_source = " OPEN_OF("MISSING_SOURCE") ","
			    "  record_diff = " OPEN_OF("RECORD_DIFF") ","
			    "  state = CASE WHEN " STATE_IS("confirmed") " THEN 'Mismatched records'"
			    "               WHEN " STATE_IS("pending") " THEN 'Pending records'"
			    "               ELSE 'Validated' END"
			    " WHERE run_id = :run",
			    p, NULL, NULL);
#undef OPEN_OF
#undef STATE_IS
	int64_t c = 0, pe = 0;
	ok = ok && count_state(s, run, "confirmed", &c) && count_state(s, run, "pending", &pe);
	const char *verdict = c > 0 ? "differences" : pe > 0 ? "pending" : "consistent";
	struct param q[] = {PI(":run", run), PT(":v", verdict), PT(":ts", ts), PI(":ec", exit_code),
			    PEND};
	ok = ok && store_sql(s,
			     "UPDATE runs SET status = 'done', verdict = :v, finished_at = :ts,"
			     " exit_code = :ec WHERE id = :run",
			     q, NULL, NULL);
	if (confirmed)
		*confirmed = c;
	if (pending)
		*pending = pe;
	return ok;
}

static bool
insert_table(struct store *s, int64_t run, const struct table_result *t)
{
	struct param p[] = {PI(":run", run),	       PT(":t", t->table),
			    PT(":tt", t->target_table), PT(":keys", t->key_columns),
			    PT(":cols", t->columns),    PEND};
	return store_sql(s,
			 "INSERT INTO run_tables (run_id, table_name, target_table, status, key_columns,"
			 "  columns)"
			 " VALUES (:run, :t, :tt, 'done', :keys, :cols)",
			 p, NULL, NULL);
}

static bool
insert_failure(struct store *s, int64_t run, const struct import_failure *f, const char *now)
{
	const char *ts = f->seen_at ? f->seen_at : now;
	struct param p[] = {PI(":run", run),	     PT(":t", f->table),    PT(":kj", f->key_json),
			    PB(":k", f->key, f->keylen), PT(":kind", f->kind),  PT(":cols", f->columns),
			    PT(":st", f->state),	     PT(":ts", ts),	    PEND};
	/* a key reported twice (DMS keeps every failure it saw): the latest report wins */
	return store_sql(s,
			 "INSERT INTO failures (run_id, table_name, key_json, key, kind, columns,"
			 "  state, attempts, first_seen, last_seen)"
			 " VALUES (:run, :t, :kj, :k, :kind, :cols, :st, 0, :ts, :ts)"
			 " ON CONFLICT (run_id, table_name, key) DO UPDATE SET"
			 "  kind = CASE WHEN excluded.last_seen >= last_seen THEN excluded.kind"
			 "              ELSE kind END,"
			 "  columns = CASE WHEN excluded.last_seen >= last_seen THEN excluded.columns"
			 "                 ELSE columns END,"
			 "  first_seen = min(first_seen, excluded.first_seen),"
			 "  last_seen = max(last_seen, excluded.last_seen)",
			 p, NULL, NULL);
}

bool
store_import_run(struct store *s, const struct import_run *r, int64_t *run_id)
{
	char now[40];
	time_now_iso(now, sizeof(now));
	*run_id = 0;
	struct param p[] = {PT(":kind", r->kind),	 PT(":ts", now),
			    PT(":src", r->source),	 PT(":tgt", r->target),
			    PT(":opt", r->options_json), PT(":fp", r->fingerprint),
			    PT(":ver", CROSSCHECK_VERSION), PEND};
	pthread_mutex_lock(&s->mu);
	bool ok = store_exec(s, "BEGIN IMMEDIATE");
	if (!ok) {
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	ok = store_sql(s,
		       "INSERT INTO runs (kind, started_at, status, source, target, options,"
		       "                  fingerprint, tool_version)"
		       " VALUES (:kind, :ts, 'running', :src, :tgt, :opt, :fp, :ver)",
		       p, NULL, NULL);
	int64_t run = ok ? sqlite3_last_insert_rowid(s->db) : 0;
	for (int i = 0; ok && i < r->ntables; i++)
		ok = insert_table(s, run, &r->tables[i]);
	for (int i = 0; ok && i < r->nfailures; i++)
		ok = insert_failure(s, run, &r->failures[i], now);
	ok = ok && recount(s, run, 0, NULL, NULL);
	ok = ok ? store_exec(s, "COMMIT") : (store_exec(s, "ROLLBACK"), false);
	pthread_mutex_unlock(&s->mu);
	if (ok)
		*run_id = run;
	return ok;
}

bool
store_run_recount(struct store *s, int64_t run, int exit_code, int64_t *confirmed,
		  int64_t *pending)
{
	pthread_mutex_lock(&s->mu);
	bool ok = store_exec(s, "BEGIN IMMEDIATE");
	if (ok) {
		ok = recount(s, run, exit_code, confirmed, pending);
		ok = ok ? store_exec(s, "COMMIT") : (store_exec(s, "ROLLBACK"), false);
	}
	pthread_mutex_unlock(&s->mu);
	return ok;
}
