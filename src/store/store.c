/*
 * store/store.c: opening, schema and migrations, and the one access layer.
 *
 * The schema lives in one commented array of migrations; the version is SQLite's
 * user_version. Each migration runs in its own transaction, so a store is never half
 * migrated. WAL lets `crosscheck report` read while an audit writes; a busy timeout is
 * the single busy-retry policy for every statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/log.h"
#include "util/str.h"

static const char *migrations[] = {
	/* v1: runs, tables, partitions, failures, checkpoints, tasks */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"		     /* audit | drift | recheck | repair */
	"  started_at TEXT NOT NULL,"
	"  finished_at TEXT,"
	"  status TEXT NOT NULL,"	     /* running | done | failed | interrupted */
	"  verdict TEXT,"		     /* consistent | differences | pending | error */
	"  source TEXT NOT NULL,"	     /* redacted URI */
	"  target TEXT NOT NULL,"
	"  options TEXT NOT NULL,"	     /* JSON, no secrets */
	"  fingerprint TEXT NOT NULL,"	     /* what --resume must match */
	"  exit_code INTEGER,"
	"  tool_version TEXT NOT NULL"
	");"
	"CREATE TABLE run_tables ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  table_name TEXT NOT NULL,"	     /* source schema.table */
	"  target_table TEXT NOT NULL,"
	"  status TEXT NOT NULL,"	     /* planned | running | done | error */
	"  state TEXT,"			     /* DMS table state: Validated, Mismatched records, ... */
	"  key_columns TEXT,"		     /* JSON array */
	"  columns TEXT,"		     /* JSON array */
	"  partitions INTEGER NOT NULL DEFAULT 0,"
	"  source_rows INTEGER NOT NULL DEFAULT 0,"
	"  target_rows INTEGER NOT NULL DEFAULT 0,"
	"  matched INTEGER NOT NULL DEFAULT 0,"
	"  missing_target INTEGER NOT NULL DEFAULT 0,"
	"  missing_source INTEGER NOT NULL DEFAULT 0,"
	"  record_diff INTEGER NOT NULL DEFAULT 0,"
	"  elapsed_s REAL NOT NULL DEFAULT 0,"
	"  error TEXT,"
	"  PRIMARY KEY (run_id, table_name)"
	");"
	"CREATE TABLE partitions ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  table_name TEXT NOT NULL,"
	"  part_no INTEGER NOT NULL,"
	"  lo TEXT NOT NULL,"		     /* JSON key or null: inclusive */
	"  hi TEXT NOT NULL,"		     /* JSON key or null: exclusive */
	"  lo_key BLOB,"		     /* canonical key bytes, to resume with exact bounds */
	"  hi_key BLOB,"
	"  status TEXT NOT NULL,"	     /* planned | done | error */
	"  source_rows INTEGER, target_rows INTEGER,"
	"  matched INTEGER, missing_target INTEGER, missing_source INTEGER, record_diff INTEGER,"
	"  source_digest TEXT, target_digest TEXT,"  /* count is in *_rows; XXH3-128 hex */
	"  elapsed_s REAL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT,"
	"  finished_at TEXT,"
	"  PRIMARY KEY (run_id, table_name, part_no)"
	");"
	"CREATE TABLE failures ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  table_name TEXT NOT NULL,"
	"  key_json TEXT NOT NULL,"	     /* {\"col\": \"canonical text\"} */
	"  key BLOB NOT NULL,"		     /* canonical key bytes, for rechecks and repair */
	"  kind TEXT NOT NULL,"		     /* MISSING_TARGET | MISSING_SOURCE | RECORD_DIFF */
	"  columns TEXT NOT NULL,"	     /* JSON array of differing columns */
	"  state TEXT NOT NULL,"	     /* pending | confirmed | resolved | repaired */
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  first_seen TEXT NOT NULL,"
	"  last_seen TEXT NOT NULL,"
	"  UNIQUE (run_id, table_name, key)"
	");"
	"CREATE INDEX failures_state ON failures (run_id, state);"
	"CREATE TABLE checkpoints ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"	     /* redacted URI */
	"  engine TEXT NOT NULL,"
	"  position TEXT NOT NULL,"	     /* file:pos, GTID set, LSN, or a DMS checkpoint */
	"  gtid TEXT,"
	"  label TEXT,"
	"  taken_at TEXT NOT NULL,"
	"  run_id INTEGER REFERENCES runs(id),"
	"  verified_by INTEGER REFERENCES runs(id)"
	");"
	"CREATE TABLE tasks ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  checkpoint_id INTEGER REFERENCES checkpoints(id),"
	"  format TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  created_at TEXT NOT NULL"
	");",

	/* v2: a difference seen on a row changed inside the lag window (--lag-column,
	 * --lag-window) is deferred: it is judged only once the window has passed */
	"ALTER TABLE failures ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;",

	/* v3: a side made of files (DMS S3 layout) gives evidence: the object and line that
	 * last wrote a failing key, and the problems found in the files themselves */
	"ALTER TABLE failures ADD COLUMN origin TEXT;"
	"CREATE TABLE file_problems ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  table_name TEXT NOT NULL,"
	"  side TEXT NOT NULL,"		     /* source | target */
	"  object TEXT NOT NULL,"	     /* the object's key (or path under file://) */
	"  line INTEGER NOT NULL,"	     /* 0 = the whole object */
	"  reason TEXT NOT NULL,"
	"  UNIQUE (run_id, table_name, side, object, line, reason)"
	");",
};

#define NMIGRATIONS ((int) (sizeof(migrations) / sizeof(migrations[0])))

const char *
store_col_text(sqlite3_stmt *st, int i)
{
	return (const char *) sqlite3_column_text(st, i);
}

bool
store_sql(struct store *s, const char *sql, const struct param *params, sql_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("store %s: %s", s->path, sqlite3_errmsg(s->db));
		goto cleanup;
	}
	for (const struct param *p = params; p && p->name; p++) {
		int idx = sqlite3_bind_parameter_index(st, p->name);
		if (idx == 0) {
			log_error("store: no parameter %s in statement", p->name);
			goto cleanup;
		}
		int rc = SQLITE_OK;
		switch (p->type) {
		case P_INT: rc = sqlite3_bind_int64(st, idx, p->i); break;
		case P_REAL: rc = sqlite3_bind_double(st, idx, p->d); break;
		case P_TEXT:
			rc = p->s ? sqlite3_bind_text(st, idx, p->s, -1, SQLITE_TRANSIENT)
				  : sqlite3_bind_null(st, idx);
			break;
		case P_BLOB:
			rc = p->s ? sqlite3_bind_blob64(st, idx, p->s, p->len, SQLITE_TRANSIENT)
				  : sqlite3_bind_null(st, idx);
			break;
		case P_NULL:
		case P_END: rc = sqlite3_bind_null(st, idx); break;
		}
		if (rc != SQLITE_OK) {
			log_error("store %s: %s", s->path, sqlite3_errmsg(s->db));
			goto cleanup;
		}
	}
	for (;;) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			log_error("store %s: %s", s->path, sqlite3_errmsg(s->db));
			goto cleanup;
		}
		if (fn && !fn(ctx, st))
			break;
	}
	ok = true;
cleanup:
	sqlite3_finalize(st);
	return ok;
}

bool
store_exec(struct store *s, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("store %s: %s", s->path, err ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
		return false;
	}
	return true;
}

static bool
read_int(void *ctx, sqlite3_stmt *st)
{
	*(int64_t *) ctx = sqlite3_column_int64(st, 0);
	return false;
}

int
store_schema_version(struct store *s)
{
	int64_t v = 0;
	pthread_mutex_lock(&s->mu);
	store_sql(s, "PRAGMA user_version", NULL, read_int, &v);
	pthread_mutex_unlock(&s->mu);
	return (int) v;
}

static bool
migrate(struct store *s)
{
	int64_t version = 0;
	if (!store_sql(s, "PRAGMA user_version", NULL, read_int, &version))
		return false;
	if (version > NMIGRATIONS) {
		log_error("store %s has schema version %lld, newer than this crosscheck (%d)", s->path,
			  (long long) version, NMIGRATIONS);
		log_hint("use a newer crosscheck, or another --store");
		return false;
	}
	for (int v = (int) version; v < NMIGRATIONS; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;", v + 1);
		if (!store_exec(s, "BEGIN IMMEDIATE"))
			return false;
		if (!store_exec(s, migrations[v]) || !store_exec(s, pragma)) {
			store_exec(s, "ROLLBACK");
			return false;
		}
		if (!store_exec(s, "COMMIT"))
			return false;
	}
	return true;
}

bool
store_open(const char *path, struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	pthread_mutex_init(&s->mu, NULL);
	*out = NULL;
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		log_error("cannot open store %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 30000);
	/* a file that is not SQLite fails here, before anything is written to it */
	if (!store_exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			   " PRAGMA foreign_keys = ON;")) {
		log_hint("--store must name a crosscheck SQLite file (or a new path)");
		goto fail;
	}
	if (!migrate(s))
		goto fail;
	*out = s;
	return true;
fail:
	store_close(s);
	return false;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

static bool
check_integrity(void *ctx, sqlite3_stmt *st)
{
	const char *r = store_col_text(st, 0);
	*(bool *) ctx = r && strcmp(r, "ok") == 0;
	return false;
}

bool
store_integrity_ok(struct store *s)
{
	bool ok = false;
	pthread_mutex_lock(&s->mu);
	store_sql(s, "PRAGMA integrity_check", NULL, check_integrity, &ok);
	pthread_mutex_unlock(&s->mu);
	return ok;
}
