/*
 * store/store.h: the SQLite store, the only way any module reaches crosscheck.db.
 *
 * One file holds runs, per-table and per-partition results, failures, checkpoints and
 * generated tasks. Each partition's result and its failures commit in one transaction,
 * so a killed run loses nothing it reported. URIs arrive here already redacted; no
 * value of a row is stored, only keys and column names.
 *
 * A store is safe to share between threads: every call takes the store's mutex.
 */
#ifndef CROSSCHECK_STORE_STORE_H
#define CROSSCHECK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define STORE_SCHEMA_VERSION 3

/* store_open opens or creates the store (WAL) and migrates it to the current schema. */
bool store_open(const char *path, struct store **out);
void store_close(struct store *s);
/* store_integrity_ok runs PRAGMA integrity_check. */
bool store_integrity_ok(struct store *s);
int store_schema_version(struct store *s);

/* --- runs ----------------------------------------------------------------------- */

struct run_info {
	int64_t id;
	const char *kind;	 /* "audit", "drift", ... */
	const char *started_at;
	const char *finished_at; /* NULL while running */
	const char *status;	 /* running | done | failed | interrupted */
	const char *verdict;	 /* consistent | differences | pending | error */
	const char *source;	 /* redacted URI */
	const char *target;
	const char *options;	 /* JSON, no secrets */
	const char *fingerprint;
	int exit_code;
	int64_t tables, source_rows, target_rows, differences;
};

bool store_run_begin(struct store *s, const char *kind, const char *source, const char *target,
		     const char *options_json, const char *fingerprint, int64_t *run_id);
/* store_run_reopen marks an unfinished run as running again (--resume). */
bool store_run_reopen(struct store *s, int64_t run, const char *options_json);
bool store_run_finish(struct store *s, int64_t run, const char *status, const char *verdict,
		      int exit_code);
typedef bool (*run_fn)(void *ctx, const struct run_info *r);
/* store_list_runs calls fn for runs, newest first; limit 0 = all. */
bool store_list_runs(struct store *s, int limit, run_fn fn, void *ctx);
bool store_get_run(struct store *s, int64_t run, run_fn fn, void *ctx, bool *found);
/* store_latest_run gives the newest run id, 0 if the store has none. */
bool store_latest_run(struct store *s, int64_t *run);

/* --- tables and partitions ---------------------------------------------------------- */

struct table_result {
	const char *table;	  /* source schema.table */
	const char *target_table; /* target name */
	const char *status;	  /* planned | running | done | error */
	const char *state;	  /* DMS-style: Validated, Mismatched records, ... */
	int64_t partitions;
	int64_t source_rows, target_rows;
	int64_t matched, missing_target, missing_source, record_diff;
	double elapsed_s;
	const char *error;
	const char *key_columns;  /* JSON array */
	const char *columns;	  /* JSON array of compared columns */
};

bool store_table_put(struct store *s, int64_t run, const struct table_result *t);
typedef bool (*table_fn)(void *ctx, const struct table_result *t);
bool store_list_tables(struct store *s, int64_t run, table_fn fn, void *ctx);

struct partition_result {
	const char *table;
	int part_no;
	const char *lo;		/* JSON bound or "null" */
	const char *hi;
	const void *lo_key;	/* canonical key bytes (for resume), NULL when open */
	size_t lo_len;
	const void *hi_key;
	size_t hi_len;
	const char *status;	/* planned | done | error */
	int64_t source_rows, target_rows;
	int64_t matched, missing_target, missing_source, record_diff;
	const char *source_digest, *target_digest;
	double elapsed_s;
	int attempts;
	const char *error;
};

struct failure_record {
	const char *key_json;
	const void *key;	/* canonical key bytes */
	size_t keylen;
	const char *kind;	/* MISSING_TARGET | MISSING_SOURCE | RECORD_DIFF */
	const char *columns;	/* JSON array of column names */
	const char *state;	/* pending | confirmed | resolved */
	bool deferred;		/* changed inside the lag window when seen */
	const char *origin;	/* where the target's row came from (an object:line), or NULL */
};

/* store_partition_plan records planned partitions of a table in one transaction. */
bool store_partition_plan(struct store *s, int64_t run, const struct partition_result *parts,
			  int n);
/* store_partition_commit records a partition's result with its failures, atomically. */
bool store_partition_commit(struct store *s, int64_t run, const struct partition_result *p,
			    const struct failure_record *f, int nf);
typedef bool (*partition_fn)(void *ctx, const struct partition_result *p);
bool store_list_partitions(struct store *s, int64_t run, const char *table, partition_fn fn,
			   void *ctx);

/* --- failures ------------------------------------------------------------------------ */

struct failure_row {
	int64_t id;
	int64_t run;
	const char *table;
	const char *key_json;
	const void *key;
	size_t keylen;
	const char *kind;
	const char *columns;
	const char *state;
	int attempts;
	const char *first_seen;
	const char *last_seen;
	bool deferred;
	const char *origin;	/* the object:line that last wrote the key on a file side, or NULL */
};

struct failure_filter {
	int64_t run;	   /* 0 = every run */
	const char *table; /* NULL = any */
	const char *kind;
	const char *state;
	int64_t limit;	   /* 0 = no limit */
};

typedef bool (*failure_fn)(void *ctx, const struct failure_row *f);
bool store_list_failures(struct store *s, const struct failure_filter *flt, failure_fn fn,
			 void *ctx);
/* store_failure_update records a recheck's outcome (bumps attempts and last_seen). */
bool store_failure_update(struct store *s, int64_t id, const char *state, const char *kind,
			  const char *columns, bool deferred);
bool store_count_failures(struct store *s, const struct failure_filter *flt, int64_t *n);

/* --- problems with a side's files (store_results.c) ------------------------------------ */

struct file_problem {
	const char *table;
	const char *side;	/* source | target */
	const char *object;
	int64_t line;		/* 0 = the whole object */
	const char *reason;
};

/* store_file_problems_add records problems of a run in one transaction (idempotent). */
bool store_file_problems_add(struct store *s, int64_t run, const struct file_problem *p, int n);
typedef bool (*file_problem_row_fn)(void *ctx, const struct file_problem *p);
/* store_list_file_problems: a run's problems (table NULL = all), by table, object, line */
bool store_list_file_problems(struct store *s, int64_t run, const char *table,
			      file_problem_row_fn fn, void *ctx);
bool store_count_file_problems(struct store *s, int64_t run, const char *table, int64_t *n);

/* --- reports and filters (store_report.c) ----------------------------------------------- */

struct run_filter {
	const char *kind;	 /* NULL = any */
	const char *verdict;
	const char *status;
	const char *table;	 /* runs that audited this table */
	const char *table_state; /* runs with a table in this DMS-style state */
	int limit;		 /* 0 = all */
};

/* store_list_runs_filtered calls fn for the matching runs, newest first. */
bool store_list_runs_filtered(struct store *s, const struct run_filter *flt, run_fn fn,
			      void *ctx);
/* store_run_tool_version copies the crosscheck version that recorded a run ("" if none). */
bool store_run_tool_version(struct store *s, int64_t run, char *buf, size_t size);


struct failure_count {
	const char *table;
	const char *kind;
	const char *state;
	int64_t n;
};

typedef bool (*failure_count_fn)(void *ctx, const struct failure_count *c);
/* store_count_failures_grouped calls fn per (table, kind, state) of a run with its count. */
bool store_count_failures_grouped(struct store *s, int64_t run, failure_count_fn fn, void *ctx);
/*
 * store_list_failures_by_key streams a run's failures (flt->run is required) in table
 * then canonical key order, straight off the unique index: no sort, flat memory.
 */
bool store_list_failures_by_key(struct store *s, const struct failure_filter *flt, failure_fn fn,
				void *ctx);

/* --- checkpoints (store_checkpoints.c) ------------------------------------------------ */

struct checkpoint_record {
	int64_t id;
	const char *source;	 /* redacted URI */
	const char *engine;	 /* postgresql | mysql | dms */
	const char *position;	 /* LSN, binlog file:pos, or a DMS checkpoint string */
	const char *gtid;	 /* GTID set, or NULL */
	const char *label;	 /* or NULL */
	const char *taken_at;
	int64_t run;		 /* the audit that took it at its start, 0 if by hand */
	int64_t verified_by;	 /* the run that verified it, 0 if not verified */
};

typedef bool (*checkpoint_record_fn)(void *ctx, const struct checkpoint_record *c);

bool store_checkpoint_add(struct store *s, const struct checkpoint_record *c, int64_t *id);
/* store_list_checkpoint_records: newest first; source NULL = every source */
bool store_list_checkpoint_records(struct store *s, const char *source, checkpoint_record_fn fn,
				   void *ctx);
bool store_get_checkpoint(struct store *s, int64_t id, checkpoint_record_fn fn, void *ctx,
			  bool *found);
/*
 * store_checkpoints_verify marks as verified by `run` every unverified checkpoint of the
 * run's source taken no later than the run's start: the run found no confirmed
 * difference, so nothing was missing before those positions. *n gets how many.
 */
bool store_checkpoints_verify(struct store *s, int64_t run, int64_t *n);
/* store_run_checkpoints calls fn for the checkpoints a run took, oldest first. */
bool store_run_checkpoints(struct store *s, int64_t run, checkpoint_record_fn fn, void *ctx);

/* --- imported runs (store_import.c) ------------------------------------------------------ */

/* One failure found by another tool (AWS DMS validation), in crosscheck's terms. */
struct import_failure {
	const char *table;	/* source schema.table: one of the run's tables */
	const char *key_json;
	const void *key;	/* canonical key bytes, as an audit of the table makes them */
	size_t keylen;
	const char *kind;	/* MISSING_TARGET | MISSING_SOURCE | RECORD_DIFF */
	const char *columns;	/* JSON array of column names */
	const char *state;	/* pending | confirmed */
	const char *seen_at;	/* when it was seen (ISO UTC), NULL = now */
};

struct import_run {
	const char *kind;	/* "dms-import" */
	const char *source;	/* redacted URIs */
	const char *target;
	const char *options_json; /* shaped like an audit's, so recover and repair rebuild it */
	const char *fingerprint;
	const struct table_result *tables; /* table, target_table, key_columns, columns used */
	int ntables;
	const struct import_failure *failures;
	int nfailures;
};

/*
 * store_import_run records a finished run, its tables and its failures in one
 * transaction: all of it or nothing. Failures of one table and key merge into one (the
 * latest seen gives kind and columns). Table counts and states, and the run's verdict,
 * come from the failures (store_run_recount). *run_id gets the new run.
 */
bool store_import_run(struct store *s, const struct import_run *r, int64_t *run_id);
/*
 * store_run_recount recomputes a run's per-table counts of open failures and DMS-style
 * states from its failures, and finishes it (done) with the verdict they give
 * (differences, pending or consistent) and exit_code; after a recheck of imported
 * failures. *confirmed and *pending get the run's totals (either may be NULL).
 */
bool store_run_recount(struct store *s, int64_t run, int exit_code, int64_t *confirmed,
		       int64_t *pending);

/* --- drift history (store_drift.c) ------------------------------------------------------- */

/*
 * store_drift_history: how many earlier runs of this kind share the fingerprint, and the
 * newest of them (0 if none) with its start time (started_at[40]).
 */
bool store_drift_history(struct store *s, const char *kind, const char *fingerprint,
			 int64_t before_run, int64_t *count, int64_t *latest, char *started_at);
/* store_list_open_failures: pending or confirmed failures of earlier runs of this kind
 * and fingerprint (the ones a drift check still owes an answer about). */
bool store_list_open_failures(struct store *s, const char *kind, const char *fingerprint,
			      int64_t before_run, failure_fn fn, void *ctx);
/* store_count_open_confirmed: confirmed failures of all runs of this kind and fingerprint. */
bool store_count_open_confirmed(struct store *s, const char *kind, const char *fingerprint,
				int64_t *n);

#endif
