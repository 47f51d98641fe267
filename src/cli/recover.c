/*
 * cli/recover.c: `crosscheck recover` (write recovery tasks) and `crosscheck repair`
 * (fix a SQL or OpenSearch target and verify).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "recover/recover.h"
#include "util/log.h"

enum {
	OPT_RUN = 1,
	OPT_FORMAT,
	OPT_OUT,
	OPT_CHECKPOINT,
	OPT_SOURCE,
	OPT_TARGET,
	OPT_SOURCE_ARN,
	OPT_TARGET_ARN,
	OPT_INSTANCE_ARN,
	OPT_TASK_PREFIX,
	OPT_SIGNAL_TABLE,
	OPT_BATCH,
	OPT_APPLY,
};

static const struct option recover_opts[] = {
	{"run", required_argument, NULL, OPT_RUN},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"out", required_argument, NULL, OPT_OUT},
	{"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"target", required_argument, NULL, OPT_TARGET},
	{"source-endpoint-arn", required_argument, NULL, OPT_SOURCE_ARN},
	{"target-endpoint-arn", required_argument, NULL, OPT_TARGET_ARN},
	{"replication-instance-arn", required_argument, NULL, OPT_INSTANCE_ARN},
	{"task-prefix", required_argument, NULL, OPT_TASK_PREFIX},
	{"signal-table", required_argument, NULL, OPT_SIGNAL_TABLE},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"apply", no_argument, NULL, OPT_APPLY},
	{NULL, 0, NULL, 0},
};

struct recover_args {
	struct recover_options o;
	bool format_given;
};

static bool
recover_option(void *vctx, int opt, const char *arg)
{
	struct recover_args *a = vctx;
	long n;
	switch (opt) {
	case OPT_RUN:
		if (!cli_int("--run", arg, 1, 2147483647L, &n))
			return false;
		a->o.run = n;
		return true;
	case OPT_FORMAT:
		if (!recover_format_from_name(arg, &a->o.format)) {
			log_error("--format: expected dms, mysql-replica, debezium, sql, bulk or s3, got \"%s\"",
				  arg);
			return false;
		}
		a->format_given = true;
		return true;
	case OPT_OUT: a->o.out_dir = arg; return true;
	case OPT_CHECKPOINT:
		if (!cli_int("--checkpoint", arg, 1, 2147483647L, &n))
			return false;
		a->o.checkpoint = n;
		return true;
	case OPT_SOURCE: a->o.source_uri = arg; return true;
	case OPT_TARGET: a->o.target_uri = arg; return true;
	case OPT_SOURCE_ARN: a->o.source_arn = arg; return true;
	case OPT_TARGET_ARN: a->o.target_arn = arg; return true;
	case OPT_INSTANCE_ARN: a->o.instance_arn = arg; return true;
	case OPT_TASK_PREFIX: a->o.task_prefix = arg; return true;
	case OPT_SIGNAL_TABLE: a->o.signal_table = arg; return true;
	case OPT_BATCH:
		if (!cli_int("--batch", arg, 1, 100000, &n))
			return false;
		a->o.batch = (int) n;
		return true;
	case OPT_APPLY: a->o.apply = true; return true;
	}
	return false;
}

static int
run_recover(struct cli_context *ctx, int argc, char **argv)
{
	struct recover_args a;
	memset(&a, 0, sizeof(a));
	struct store *st = NULL;
	int rc = EXIT_TOOL_ERROR;
	if (!cli_parse(ctx, &cmd_recover, argc, argv, recover_opts, recover_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_recover);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.o.run == 0 || !a.format_given || a.o.out_dir == NULL) {
		log_error("recover: --run, --format and --out are required");
		log_hint("see 'crosscheck recover --help'");
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	if (recover_write(&a.o, st))
		rc = EXIT_CONSISTENT;
cleanup:
	store_close(st);
	return rc;
}

const struct command cmd_recover = {
	.name = "recover",
	.summary = "write backfill and checkpointed replacement tasks for a run's failures",
	.usage =
		"--run N --format dms|mysql-replica|debezium|sql|bulk|s3 --out DIR [options]\n"
		"\n"
		"Writes, for run N's confirmed failures, the files and a RUNBOOK.md of ordered\n"
		"commands that recover the replication without losing data. DIR must be new or\n"
		"empty; it is written whole or not at all.\n"
		"\n"
		"  --checkpoint ID    start replacement tasks here (default: the newest checkpoint\n"
		"                     of the run's source verified by a clean audit)\n"
		"  --source URI       read the source with this URI (default: the run's)\n"
		"  --target URI       and the target (passwords from the environment)\n"
		"  --batch N          keys per filter, signal or statement (default 100)\n"
		"dms:\n"
		"  --source-endpoint-arn ARN  --target-endpoint-arn ARN\n"
		"  --replication-instance-arn ARN      (all three required)\n"
		"  --task-prefix NAME          task identifiers NAME-runN-backfill / -cdc\n"
		"debezium:\n"
		"  --signal-table NAME  the connector's signalling table (default debezium_signal)\n"
		"\n"
		"formats: dms (backfill full-load task with key filters, DO_NOTHING prep mode,\n"
		"and a cdc replacement task from the checkpoint, for aws dms\n"
		"create-replication-task --cli-input-json), mysql-replica (CHANGE MASTER TO the\n"
		"checkpoint + backfill SQL), debezium (execute-snapshot signals), sql (idempotent\n"
		"repair of the target from the source's current rows), bulk (the same for an\n"
		"OpenSearch target: repair.ndjson of delete and index actions for POST /_bulk),\n"
		"s3 (the same for an S3 target in the DMS layout: a CDC file of U and D rows under\n"
		"objects/, named to sort after every existing file, and the objects that wrote\n"
		"the failing rows)\n",
	.run = run_recover,
};

static int
run_repair(struct cli_context *ctx, int argc, char **argv)
{
	struct recover_args a;
	memset(&a, 0, sizeof(a));
	struct store *st = NULL;
	int rc = EXIT_TOOL_ERROR;
	if (!cli_parse(ctx, &cmd_repair, argc, argv, recover_opts, recover_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_repair);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.o.run == 0) {
		log_error("repair: --run is required");
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	int64_t remaining = 0;
	if (repair_run(&a.o, st, &remaining))
		rc = remaining > 0 ? EXIT_DIFFERENCES : EXIT_CONSISTENT;
cleanup:
	store_close(st);
	return rc;
}

const struct command cmd_repair = {
	.name = "repair",
	.summary = "fix a run's failing keys on a SQL or OpenSearch target, and verify",
	.usage = "--run N [--apply] [--source URI] [--target URI] [--batch N]\n"
		 "\n"
		 "Without --apply, says what it would change and changes nothing. With --apply,\n"
		 "for each batch of keys it reads the source's current rows and, in one target\n"
		 "transaction, deletes the keys and inserts those rows (an OpenSearch target:\n"
		 "_bulk requests that delete the keys' documents and index the rows, waiting for\n"
		 "the refresh); then it reads both sides again and marks a key repaired only if\n"
		 "it now matches.\n"
		 "\n"
		 "exit: 0 every key repaired (or dry run), 1 keys still differ, 2 error\n",
	.run = run_repair,
};
