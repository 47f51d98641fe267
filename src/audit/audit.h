/*
 * audit/audit.h: running an audit.
 *
 * plan -> read -> canonicalize -> hash -> compare -> record: the CLI fills audit_options,
 * and audit_run plans partitions per table, runs them on --jobs worker threads (each with
 * its own source and target connections, reading both sides of a partition at once),
 * commits each partition to the store, rechecks the differences after a delay, and
 * finishes the run with a verdict.
 */
#ifndef CROSSCHECK_AUDIT_AUDIT_H
#define CROSSCHECK_AUDIT_AUDIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/str.h"

struct column_map {
	char *source;
	char *target;
};

struct table_spec {
	char *source;	/* [schema.]table on the source */
	char *target;	/* [schema.]table on the target; NULL = same as source */
	/* this table's own column renames and exclusions (--table-mappings), taking
	 * precedence over --map and added to --exclude-columns; owned */
	struct column_map *maps;
	int nmaps;
	struct strlist exclude;
	/* this table's own key and compared columns (a check file's [table] section),
	 * replacing --key and --columns for it; owned */
	struct strlist key;
	struct strlist columns;
};

/* --column-option COL:KEY=VALUE: one source column's compare options (unset = global). */
struct column_option {
	char *column;		/* source column name */
	int float_digits;	/* 0 = unset */
	int frac_digits;	/* -1 = unset */
	bool has_zone;
	int zone_offset_sec;
	int trim;		/* -1 unset, 0 keep trailing spaces, 1 ignore them */
	int casefold;		/* -1 unset, 0 off, 1 on */
};

struct audit_options {
	const char *source_uri;
	const char *target_uri;
	const char *source_password; /* from a check file's *_password_env; NULL = engine's */
	const char *target_password;
	struct table_spec *tables;
	int ntables;
	struct strlist key;	     /* --key: source column names, overrides the catalog key */
	struct strlist columns;	     /* --columns: compare only these (source names) */
	struct strlist exclude;	     /* --exclude-columns */
	struct column_map *maps;     /* --map src=tgt */
	int nmaps;
	struct column_option *colopts; /* --column-option */
	int ncolopts;
	int64_t partition_rows;
	int jobs;
	double recheck_delay;	     /* seconds */
	int recheck_attempts;
	int float_digits;	     /* 0 = automatic (15, or 6 when a side is single precision) */
	int frac_digits;	     /* fractional second digits compared */
	int zone_offset_sec;	     /* zone of zone-less timestamps */
	bool casefold;
	int statement_timeout_ms;
	bool progress;		     /* draw a progress line (TTY) */
	const char *kind;	     /* "audit" */

	/* running beside a live replicator */
	int64_t resume_run;	     /* --resume: continue this run (0 = a new run) */
	double max_rows_per_second;  /* source rows read per second, all workers (0 = no cap) */
	double max_replica_lag;	     /* pause while the target lags more (seconds; 0 = off) */
	const char *lag_query;	     /* SQL returning the lag in seconds, run on the target */
	const char *lag_column;	     /* a source column holding the row's update time */
	const char *slot;	     /* checkpoint from this replication slot (PostgreSQL) */
	int cover_every;	     /* > 0: a drift run (rotating slices, see audit/drift.c) */
	double lag_window;	     /* rows changed this recently are judged after it passes */
};

void audit_options_init(struct audit_options *o);
void audit_options_free(struct audit_options *o);
void table_spec_free(struct table_spec *t);

enum audit_verdict {
	AUDIT_CONSISTENT = 0, /* every row matched */
	AUDIT_PENDING,	      /* differences seen, none confirmed (no recheck yet) */
	AUDIT_DIFFERENCES,    /* confirmed differences */
	AUDIT_ERROR,	      /* a table or partition could not be audited */
};

const char *audit_verdict_name(enum audit_verdict v);

struct endpoint;
/*
 * audit_take_checkpoint reads the source's replication position (a slot's, if named)
 * and records it; run is the audit that takes it at its start (0 when by hand).
 */
bool audit_take_checkpoint(struct endpoint *src, const char *slot, struct store *st,
			   const char *shown_source, const char *label, int64_t run, int64_t *id);

/* Set from a signal handler: workers finish their partition and stop. */
extern volatile sig_atomic_t audit_interrupted;

/*
 * audit_run runs an audit and records it in the store. Returns false when the audit
 * could not start (bad input, connection): nothing but a failed run is recorded then.
 * Otherwise *verdict tells the outcome and *run_id the run.
 */
bool audit_run(const struct audit_options *o, struct store *st, int64_t *run_id,
	       enum audit_verdict *verdict);

/* What a drift run adds to its verdict (audit_run_drift). */
struct drift_summary {
	int64_t run;
	enum audit_verdict verdict;
	char fingerprint[33];	/* the check's identity across runs */
	int64_t closed;		/* earlier failures that now match */
	int64_t still_open;	/* earlier failures that still differ */
	int64_t max_count_gap;	/* the largest |source rows - target rows| of a table */
	int audited, total;	/* partitions audited this run, of all */
};

/* audit_run_drift: audit_run in drift mode (o->cover_every > 0). */
bool audit_run_drift(const struct audit_options *o, struct store *st, struct drift_summary *d);

#endif
