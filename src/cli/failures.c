/*
 * cli/failures.c: `crosscheck failures`, the failing keys of a run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dms_failures.h"
#include "cli/exit_codes.h"
#include "core/compare.h"
#include "core/recheck.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

enum { OPT_RUN = 1, OPT_TABLE, OPT_KIND, OPT_STATE, OPT_LIMIT, OPT_FORMAT, OPT_TASK_NAME };

/* --format: the text table, crosscheck's JSON, or rows of DMS's failure table */
enum failures_format { FORMAT_DEFAULT, FORMAT_TABLE, FORMAT_JSON, FORMAT_DMS, FORMAT_DMS_CSV };

static const struct option failures_opts[] = {
	{"run", required_argument, NULL, OPT_RUN},
	{"table", required_argument, NULL, OPT_TABLE},
	{"kind", required_argument, NULL, OPT_KIND},
	{"state", required_argument, NULL, OPT_STATE},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"task-name", required_argument, NULL, OPT_TASK_NAME},
	{NULL, 0, NULL, 0},
};

struct failures_args {
	struct failure_filter f;
	bool all_runs;
	bool json;
	enum failures_format format;
	const char *task_name; /* --format dms: TASK_NAME (default crosscheck-run<N>) */
	int64_t n;
	struct buf out;
};

static bool
failures_option(void *vctx, int opt, const char *arg)
{
	struct failures_args *a = vctx;
	long n;
	switch (opt) {
	case OPT_RUN:
		if (strcmp(arg, "all") == 0) {
			a->all_runs = true;
			return true;
		}
		if (!cli_int("--run", arg, 1, 2147483647L, &n))
			return false;
		a->f.run = n;
		return true;
	case OPT_TABLE: a->f.table = arg; return true;
	case OPT_KIND: {
		enum verdict v;
		if (!verdict_from_name(arg, &v) || v == VERDICT_MATCH) {
			log_error("--kind: expected MISSING_TARGET, MISSING_SOURCE or RECORD_DIFF, got \"%s\"", arg);
			return false;
		}
		a->f.kind = arg;
		return true;
	}
	case OPT_STATE: {
		enum failure_state s;
		if (!failure_state_from_name(arg, &s)) {
			log_error("--state: expected pending, confirmed, resolved or repaired, got \"%s\"", arg);
			return false;
		}
		a->f.state = arg;
		return true;
	}
	case OPT_LIMIT:
		if (!cli_int("--limit", arg, 1, 2147483647L, &n))
			return false;
		a->f.limit = n;
		return true;
	case OPT_FORMAT:
		if (strcmp(arg, "table") == 0)
			a->format = FORMAT_TABLE;
		else if (strcmp(arg, "json") == 0)
			a->format = FORMAT_JSON;
		else if (strcmp(arg, "dms") == 0)
			a->format = FORMAT_DMS;
		else if (strcmp(arg, "dms-csv") == 0)
			a->format = FORMAT_DMS_CSV;
		else {
			log_error("--format: expected table, json, dms or dms-csv, got \"%s\"", arg);
			return false;
		}
		return true;
	case OPT_TASK_NAME: a->task_name = arg; return true;
	}
	return false;
}

/*
 * dms_failure appends a failure as a row of awsdms_validation_failures_v1. The KEY is
 * rebuilt from the canonical key bytes (in key column order, which is what DMS's
 * positional KEY needs); DETAILS holds the differing column names only, since
 * crosscheck keeps no row values.
 */
static bool
dms_failure(struct failures_args *a, const struct failure_row *f)
{
	struct buf key, details, task;
	buf_init(&key);
	buf_init(&details);
	buf_init(&task);
	if (a->task_name)
		buf_append_str(&task, a->task_name);
	else
		buf_printf(&task, "crosscheck-run%lld", (long long) f->run);
	dms_key_from_canonical(f->key, f->keylen, &key);
	buf_printf(&details, "{\"columns\": %s}", f->columns);
	const char *dot = strchr(f->table, '.');
	char *owner = dot ? xstrndup(f->table, (size_t) (dot - f->table)) : xstrdup("");
	char when[20];
	dms_time_from_iso(f->last_seen, when, sizeof(when));
	struct dms_export_row r = {buf_cstr(&task), owner,	     dot ? dot + 1 : f->table, when,
				   buf_cstr(&key),  f->kind, buf_cstr(&details)};
	if (a->format == FORMAT_DMS)
		buf_append_str(&a->out, a->n++ ? ",\n" : "\n");
	dms_export_append(&a->out, a->format == FORMAT_DMS_CSV, &r);
	free(owner);
	bool ok = !key.failed && !details.failed && !a->out.failed;
	buf_free(&key);
	buf_free(&details);
	buf_free(&task);
	return ok;
}

static bool
print_failure(void *ctx, const struct failure_row *f)
{
	struct failures_args *a = ctx;
	if (a->format == FORMAT_DMS || a->format == FORMAT_DMS_CSV)
		return dms_failure(a, f);
	if (a->json) {
		struct buf *b = &a->out;
		if (a->n++)
			buf_append_char(b, ',');
		buf_printf(b, "{\"run\":%lld,\"table\":", (long long) f->run);
		buf_append_json_string(b, f->table, strlen(f->table));
		/* key and columns are stored as JSON already */
		buf_printf(b, ",\"key\":%s,\"kind\":\"%s\",\"columns\":%s,\"state\":\"%s\","
			      "\"attempts\":%d,\"first_seen\":\"%s\",\"last_seen\":\"%s\"}",
			   f->key_json, f->kind, f->columns, f->state, f->attempts, f->first_seen,
			   f->last_seen);
		if (f->origin) { /* the object:line of a file target: its evidence */
			b->len--;
			buf_append_str(b, ",\"origin\":");
			buf_append_json_string(b, f->origin, strlen(f->origin));
			buf_append_char(b, '}');
		}
		if (b->failed)
			return false;
		return true;
	}
	if (a->n++ == 0)
		printf("%5s  %-28s %-15s %-10s %-40s %s\n", "run", "table", "kind", "state", "key",
		       "columns");
	printf("%5lld  %-28s %-15s %-10s %-40s %s%s%s\n", (long long) f->run, f->table, f->kind,
	       f->state, f->key_json, strcmp(f->columns, "[]") ? f->columns : "",
	       f->origin ? "  from " : "", f->origin ? f->origin : "");
	return true;
}

static int
run_failures(struct cli_context *ctx, int argc, char **argv)
{
	struct failures_args a;
	memset(&a, 0, sizeof(a));
	buf_init(&a.out);
	int rc = EXIT_TOOL_ERROR;
	struct store *st = NULL;
	if (!cli_parse(ctx, &cmd_failures, argc, argv, failures_opts, failures_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_failures);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	if (a.f.run == 0 && !a.all_runs) {
		if (!store_latest_run(st, &a.f.run))
			goto cleanup;
		if (a.f.run == 0) {
			if (a.format == FORMAT_DMS_CSV) {
				dms_csv_header(&a.out);
				fputs(buf_cstr(&a.out), stdout);
			} else if (a.format == FORMAT_DMS || a.format == FORMAT_JSON ||
				   (a.format == FORMAT_DEFAULT && ctx->json))
				printf("[]\n");
			else
				printf("no runs in %s\n", ctx->store_path);
			rc = EXIT_CONSISTENT;
			goto cleanup;
		}
	} else if (a.f.run > 0) {
		bool found = false;
		struct run_info dummy;
		(void) dummy;
		int64_t latest = 0;
		store_latest_run(st, &latest);
		found = a.f.run <= latest;
		if (!found) {
			log_error("failures: no run %lld in %s", (long long) a.f.run, ctx->store_path);
			log_hint("list runs with 'crosscheck runs'");
			goto cleanup;
		}
	}
	a.json = a.format == FORMAT_JSON || (a.format == FORMAT_DEFAULT && ctx->json);
	bool dms = a.format == FORMAT_DMS || a.format == FORMAT_DMS_CSV;
	/* what DMS's table holds: failures still standing, unless a state is asked for */
	if (dms && a.f.state == NULL)
		a.f.state = "confirmed";
	if (a.json || a.format == FORMAT_DMS)
		buf_append_char(&a.out, '[');
	if (a.format == FORMAT_DMS_CSV)
		dms_csv_header(&a.out);
	if (!store_list_failures(st, &a.f, print_failure, &a))
		goto cleanup;
	if (a.json || a.format == FORMAT_DMS) {
		buf_append_str(&a.out, a.format == FORMAT_DMS && a.n ? "\n]\n" : "]\n");
		fputs(buf_cstr(&a.out), stdout);
	} else if (dms) {
		fputs(buf_cstr(&a.out), stdout);
	} else if (a.n == 0) {
		printf("no failures\n");
	}
	rc = EXIT_CONSISTENT;
cleanup:
	buf_free(&a.out);
	store_close(st);
	return rc;
}

const struct command cmd_failures = {
	.name = "failures",
	.summary = "list the failing keys of a run (missing, extra, different)",
	.usage = "[--run N|all] [--table T] [--kind K] [--state S] [--limit N] [--json]\n"
		 "       [--format table|json|dms|dms-csv] [--task-name NAME]\n"
		 "\n"
		 "  --run N|all   the run (default: the newest), or every run\n"
		 "  --table T     only this table (source SCHEMA.TABLE)\n"
		 "  --kind K      MISSING_TARGET (source only), MISSING_SOURCE (target only) or\n"
		 "                RECORD_DIFF (different columns)\n"
		 "  --state S     pending, confirmed, resolved (lag) or repaired\n"
		 "  --limit N     at most N failures\n"
		 "\n"
		 "  --format F    table (default), json (as --json), or dms / dms-csv: rows of AWS\n"
		 "                DMS's awsdms_validation_failures_v1 as a JSON array / CSV\n"
		 "  --task-name NAME  TASK_NAME of the dms rows (default crosscheck-run<N>)\n"
		 "\n"
		 "--json prints one array of {run, table, key, kind, columns, state, attempts,\n"
		 "first_seen, last_seen}; keys are canonical text.\n"
		 "--format dms gives TASK_NAME, TABLE_OWNER, TABLE_NAME, FAILURE_TIME (last seen,\n"
		 "UTC), KEY_TYPE (Row), KEY ({\"key\": [values in key column order]}), FAILURE_TYPE\n"
		 "and DETAILS; crosscheck keeps no row values, so DETAILS is {\"columns\": [the\n"
		 "differing columns]}. Only confirmed failures unless --state says otherwise.\n",
	.run = run_failures,
};
