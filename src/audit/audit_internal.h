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

	/* results, under mu */
	pthread_mutex_t mu;
	int64_t source_rows, target_rows, matched, missing_target, missing_source, record_diff;
	int parts_done, parts_failed;
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

/* partition.c: audit one partition on the given connections */
struct partition_outcome {
	bool ok;
	bool connection_lost; /* worth a retry on fresh connections */
};
struct partition_outcome partition_audit(struct store *st, int64_t run, struct table_plan *tp,
					 int part_no, struct endpoint *src, struct endpoint *tgt,
					 int attempt);

/* recheck.c */
bool audit_recheck(const struct audit_options *o, struct store *st, int64_t run,
		   struct table_plan *tables, int ntables, struct endpoint *src,
		   struct endpoint *tgt);

/* columns_json: JSON array of the named columns (diff columns or all) */
void audit_columns_json(const struct table_plan *tp, const int *idx, int n, struct buf *out);

#endif
