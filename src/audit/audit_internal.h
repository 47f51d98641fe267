/*
 * audit/audit_internal.h: what the audit's files share (test-visible).
 */
#ifndef CROSSCHECK_AUDIT_AUDIT_INTERNAL_H
#define CROSSCHECK_AUDIT_AUDIT_INTERNAL_H

#include <pthread.h>

#include "audit/audit.h"
#include "core/plan.h"
#include "core/row.h"
#include "endpoint/endpoint.h"

/* One table to audit: both descriptions, the column mapping, and the partition plan. */
struct table_plan {
	char *name;		/* source schema.table, as recorded */
	bool same_engine;	/* both sides are one engine (identity encoding possible) */
	char *target_name;
	struct table_desc src, tgt;
	int ncols;
	struct colplan *cols;	/* compare plan; names owned in col_names */
	char **col_names;
	int *src_cols, *tgt_cols; /* indices into src/tgt desc cols */
	int nkeys;
	int *keys;		/* indices into cols */
	int *src_key, *tgt_key;	/* indices into desc cols */
	struct row_layout layout;
	struct plan plan;
	bool *part_done;	/* per partition: already committed (a resumed run) */
	int lag_col;		/* index into cols of --lag-column, or -1 */
	char *lag_cutoff;	/* canonical timestamp: rows changed at or after it are recent */

	/* results, under mu */
	pthread_mutex_t mu;
	int64_t source_rows, target_rows, matched, missing_target, missing_source, record_diff;
	int parts_done, parts_failed;
	int64_t file_problems;	/* problems with a side's files (DMS S3 objects), recorded */
	double elapsed_s;
	char *error;
};

/* mapping.c */
bool table_plan_build(const struct audit_options *o, const struct table_spec *spec,
		      struct endpoint *src, struct endpoint *tgt, struct table_plan *tp);
void table_plan_free(struct table_plan *tp);
/* audit_check_names: every column named in the options exists in one of the tables */
bool audit_check_names(const struct audit_options *o, const struct table_plan *tables, int n);
void table_plan_scan_request(const struct table_plan *tp, int side, struct scan_request *r);
/* partition planning: integer split or key walk */
bool table_plan_partitions(const struct audit_options *o, struct table_plan *tp,
			   struct endpoint *src, struct endpoint *tgt);

/* table_plan_load rebuilds the plan of a resumed run from the store; *found is false
 * when the run recorded no partition of this table (then it is planned anew) */
bool table_plan_load(struct store *st, int64_t run, struct table_plan *tp, bool *found);

/* pool.c: the workers, the row-rate pacer and the replica-lag guard */
struct pacer {
	pthread_mutex_t mu;
	double rate;	/* rows per second; <= 0 = no cap */
	double next;	/* monotonic time at which the schedule is free */
};

struct task {
	int table;
	int part;
};

struct pool {
	const struct audit_options *o;
	struct store *st;
	int64_t run;
	struct table_plan *tables;
	int ntables;
	struct task *tasks;
	int ntasks;
	pthread_mutex_t mu;
	pthread_cond_t done_cv;	/* signalled each time a task finishes */
	int next;		/* next task to hand out */
	int done;		/* tasks finished, ok or not */
	int failed;
	double lag;		/* last replication lag read */
	double lag_read_at;	/* when (monotonic) */
	struct pacer pacer;
};

void pacer_init(struct pacer *p, double rows_per_second);
void pacer_free(struct pacer *p);
void pacer_take(struct pacer *p, int64_t n);
bool audit_open_pair(const struct audit_options *o, struct endpoint **src, struct endpoint **tgt);
/* lag_guard_check: false (logged) if --max-replica-lag is set but no lag can be read */
bool lag_guard_check(const struct audit_options *o, struct endpoint *src, struct endpoint *tgt);
bool audit_run_pool(const struct audit_options *o, struct store *st, int64_t run,
		    struct table_plan *tables, int ntables);

/* partition.c: audit one partition on the given connections */
struct partition_outcome {
	bool ok;
	bool connection_lost; /* worth a retry on fresh connections */
};
struct partition_outcome partition_audit(struct store *st, int64_t run, struct table_plan *tp,
					 int part_no, struct endpoint *src, struct endpoint *tgt,
					 int attempt, struct pool *pool);

/* table_plan_row_recent: the last row encoded by enc changed inside the lag window */
bool table_plan_row_recent(const struct table_plan *tp, const struct row_encoder *enc);
/* audit_lag_cutoff sets every table's lag cutoff from the source's clock */
bool audit_lag_cutoff(const struct audit_options *o, struct endpoint *src,
		      struct table_plan *tables, int n);

/* drift.c */
bool drift_close_earlier(struct store *st, int64_t run, const char *fingerprint,
			 struct table_plan *tables, int ntables, struct endpoint *src,
			 struct endpoint *tgt, int64_t *closed, int64_t *still_open);
bool drift_select(const struct audit_options *o, struct table_plan *tp, int64_t slot,
		  const char *since, struct endpoint *src, bool *selected);
bool drift_counts(struct table_plan *tp, struct endpoint *src, struct endpoint *tgt, int64_t *s,
		  int64_t *t);

/* recheck.c */
#include "core/compare.h"
bool audit_compare_keys(struct table_plan *tp, struct endpoint *src, struct endpoint *tgt,
			const char *const *keys, const size_t *lens, int n, enum verdict *verdicts,
			char **cols, bool *recent);
bool audit_recheck(const struct audit_options *o, struct store *st, int64_t run,
		   struct table_plan *tables, int ntables);

/* columns_json: JSON array of the named columns (diff columns or all) */
void audit_columns_json(const struct table_plan *tp, const int *idx, int n, struct buf *out);

#endif
