/*
 * recover/recover.h: from a run's confirmed failures and a checkpoint, the tasks that
 * recover a replication without losing data, and the repair that fixes a target directly.
 *
 * Formats (recover --format):
 *   dms            backfill task (full-load, selection filters on the failing keys,
 *                  TargetTablePrepMode DO_NOTHING) and replacement task (cdc from the
 *                  checkpoint) for `aws dms create-replication-task --cli-input-json`
 *   mysql-replica  CHANGE MASTER TO a MariaDB/MySQL replica at the checkpoint, plus the
 *                  backfill of the failing keys as SQL
 *   debezium       execute-snapshot signals (incremental, additional-conditions)
 *   sql            idempotent SQL repair of the target from the source's current rows
 *   bulk           the same for an OpenSearch target: _bulk NDJSON (delete + index)
 *   s3             the same for an S3 target in the DMS layout: a CDC file (U and D rows)
 *                  that sorts after every existing one, and the objects that wrote the
 *                  failing rows
 * Each writes a RUNBOOK.md: the ordered commands an operator runs.
 */
#ifndef CROSSCHECK_RECOVER_RECOVER_H
#define CROSSCHECK_RECOVER_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum recover_format {
	RECOVER_DMS,
	RECOVER_MYSQL_REPLICA,
	RECOVER_DEBEZIUM,
	RECOVER_SQL,
	RECOVER_BULK,
	RECOVER_S3,
};

struct recover_options {
	int64_t run;
	enum recover_format format;
	const char *out_dir;
	int64_t checkpoint;	   /* 0 = the newest verified checkpoint of the run's source */
	const char *source_uri;	   /* NULL = the run's (redacted) URI; passwords come from env */
	const char *target_uri;
	const char *source_arn, *target_arn, *instance_arn; /* dms */
	const char *task_prefix;   /* dms task identifiers; default "crosscheck" */
	const char *signal_table;  /* debezium; default "debezium_signal" */
	int batch;		   /* keys per filter, signal or statement (default 100) */
	bool apply;		   /* repair: change the target (default: dry run) */
};

bool recover_format_from_name(const char *name, enum recover_format *f);

/* recover_write writes the chosen format into out_dir (created whole or not at all). */
bool recover_write(const struct recover_options *o, struct store *st);

/*
 * repair_run fixes the run's confirmed failures on a SQL or OpenSearch target from the
 * source's current rows, then re-audits the repaired keys and marks those that now match
 * as repaired. Without apply it only says what it would do. *remaining gets the keys still
 * different afterwards.
 */
bool repair_run(const struct recover_options *o, struct store *st, int64_t *remaining);

#endif
