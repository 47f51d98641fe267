/*
 * cli/runs.c: `crosscheck runs`, the runs recorded in the store, with filters and, on
 * request, each run's tables with their DMS-style states.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

enum { OPT_LIMIT = 1, OPT_KIND, OPT_VERDICT, OPT_STATUS, OPT_TABLE, OPT_STATE, OPT_TABLES };

static const struct option runs_opts[] = {
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"kind", required_argument, NULL, OPT_KIND},
	{"verdict", required_argument, NULL, OPT_VERDICT},
	{"status", required_argument, NULL, OPT_STATUS},
	{"table", required_argument, NULL, OPT_TABLE},
	{"state", required_argument, NULL, OPT_STATE},
	{"tables", no_argument, NULL, OPT_TABLES},
	{NULL, 0, NULL, 0},
};

struct runs_args {
	long limit;
	struct run_filter f;
	bool tables;   /* --tables: each run's tables with their DMS-style states */
	bool json;
	int n;	       /* runs printed */
	int ntables;   /* tables printed for the current run */
	int64_t *ids;  /* the matching runs, newest first */
	int nids;
	struct buf out;
};

/* one_of checks arg against a fixed list, naming the choices when it is not in it. */
static bool
one_of(const char *opt, const char *arg, const char *const *choices, const char *shown)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(arg, choices[i]) == 0)
			return true;
	log_error("%s: expected %s, got \"%s\"", opt, shown, arg);
	return false;
}

static bool
runs_option(void *vctx, int opt, const char *arg)
{
	static const char *const verdicts[] = {"consistent", "differences", "pending", "error", NULL};
	static const char *const statuses[] = {"running", "done", "failed", "interrupted", NULL};
	static const char *const states[] = {"Validated", "Mismatched records", "Pending records",
					     "No primary key", "Table error", NULL};
	struct runs_args *a = vctx;
	switch (opt) {
	case OPT_LIMIT: return cli_int("--limit", arg, 1, 1000000000L, &a->limit);
	case OPT_KIND: a->f.kind = arg; return true;
	case OPT_VERDICT:
		a->f.verdict = arg;
		return one_of("--verdict", arg, verdicts, "consistent, differences, pending or error");
	case OPT_STATUS:
		a->f.status = arg;
		return one_of("--status", arg, statuses, "running, done, failed or interrupted");
	case OPT_TABLE: a->f.table = arg; return true;
	case OPT_STATE:
		a->f.table_state = arg;
		return one_of("--state", arg, states,
			      "Validated, \"Mismatched records\", \"Pending records\", \"No primary "
			      "key\" or \"Table error\"");
	case OPT_TABLES: a->tables = true; return true;
	}
	return false;
}

static void
json_field(struct buf *b, const char *name, const char *v, bool comma)
{
	if (comma)
		buf_append_char(b, ',');
	buf_append_json_string(b, name, strlen(name));
	buf_append_char(b, ':');
	if (v)
		buf_append_json_string(b, v, strlen(v));
	else
		buf_append_str(b, "null");
}

/* print_run writes a run; in JSON, with --tables, the object is left open for them. */
static bool
print_run(void *ctx, const struct run_info *r)
{
	struct runs_args *a = ctx;
	if (a->json) {
		struct buf *b = &a->out;
		if (a->n++)
			buf_append_char(b, ',');
		buf_printf(b, "{\"run\":%lld", (long long) r->id);
		json_field(b, "kind", r->kind, true);
		json_field(b, "started_at", r->started_at, true);
		json_field(b, "finished_at", r->finished_at, true);
		json_field(b, "status", r->status, true);
		json_field(b, "verdict", r->verdict, true);
		json_field(b, "source", r->source, true);
		json_field(b, "target", r->target, true);
		buf_printf(b, ",\"tables\":%lld,\"source_rows\":%lld,\"target_rows\":%lld,"
			      "\"confirmed_differences\":%lld,\"exit_code\":%d,\"options\":%s",
			   (long long) r->tables, (long long) r->source_rows, (long long) r->target_rows,
			   (long long) r->differences, r->exit_code, r->options ? r->options : "null");
		if (!a->tables)
			buf_append_char(b, '}');
		return true;
	}
	if (a->n++ == 0 || a->tables)
		printf("%s%6s  %-24s %-10s %-11s %-12s %6s %12s %11s  %s\n", a->n > 1 ? "\n" : "", "run",
		       "started", "kind", "status", "verdict", "tables", "source rows", "differences",
		       "source -> target");
	printf("%6lld  %-24s %-10s %-11s %-12s %6lld %12lld %11lld  %s -> %s\n", (long long) r->id,
	       r->started_at, r->kind, r->status, r->verdict ? r->verdict : "-", (long long) r->tables,
	       (long long) r->source_rows, (long long) r->differences, r->source, r->target);
	return true;
}

/* print_table writes one table of a run with its DMS-style state (--tables). */
static bool
print_table(void *ctx, const struct table_result *t)
{
	struct runs_args *a = ctx;
	if (a->json) {
		struct buf *b = &a->out;
		buf_append_str(b, a->ntables++ ? ",{" : "{");
		json_field(b, "table", t->table, false);
		json_field(b, "target_table", t->target_table, true);
		json_field(b, "status", t->status, true);
		json_field(b, "state", t->state, true);
		buf_printf(b, ",\"partitions\":%lld,\"source_rows\":%lld,\"target_rows\":%lld,"
			      "\"matched\":%lld,\"missing_target\":%lld,\"missing_source\":%lld,"
			      "\"record_diff\":%lld",
			   (long long) t->partitions, (long long) t->source_rows,
			   (long long) t->target_rows, (long long) t->matched,
			   (long long) t->missing_target, (long long) t->missing_source,
			   (long long) t->record_diff);
		json_field(b, "error", t->error, true);
		buf_append_char(b, '}');
		return true;
	}
	if (a->ntables++ == 0)
		printf("        %-32s %-19s %12s %12s %8s %8s %9s\n", "table", "state", "source rows",
		       "target rows", "missing", "extra", "different");
	printf("        %-32s %-19s %12lld %12lld %8lld %8lld %9lld%s%s\n", t->table,
	       t->state ? t->state : t->status, (long long) t->source_rows,
	       (long long) t->target_rows, (long long) t->missing_target,
	       (long long) t->missing_source, (long long) t->record_diff, t->error ? "  " : "",
	       t->error ? t->error : "");
	return true;
}

static bool
collect_run(void *ctx, const struct run_info *r)
{
	struct runs_args *a = ctx;
	a->ids = xrealloc(a->ids, (size_t) (a->nids + 1) * sizeof(int64_t));
	a->ids[a->nids++] = r->id;
	return true;
}

/*
 * list_runs prints the matching runs; with --tables each is followed by its tables.
 * The ids are collected first: a store callback must not call the store again.
 */
static bool
list_runs(struct store *st, struct runs_args *a)
{
	a->f.limit = (int) a->limit;
	if (!a->tables)
		return store_list_runs_filtered(st, &a->f, print_run, a);
	if (!store_list_runs_filtered(st, &a->f, collect_run, a))
		return false;
	for (int i = 0; i < a->nids; i++) {
		bool found = false;
		if (!store_get_run(st, a->ids[i], print_run, a, &found))
			return false;
		a->ntables = 0;
		if (a->json)
			buf_append_str(&a->out, ",\"table_results\":[");
		if (!store_list_tables(st, a->ids[i], print_table, a))
			return false;
		if (a->json)
			buf_append_str(&a->out, "]}");
	}
	return true;
}

static int
run_runs(struct cli_context *ctx, int argc, char **argv)
{
	struct runs_args a;
	memset(&a, 0, sizeof(a));
	buf_init(&a.out);
	int rc = EXIT_TOOL_ERROR;
	struct store *st = NULL;
	if (!cli_parse(ctx, &cmd_runs, argc, argv, runs_opts, runs_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_runs);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	a.json = ctx->json;
	if (a.json)
		buf_append_char(&a.out, '[');
	if (!list_runs(st, &a))
		goto cleanup;
	if (a.json) {
		buf_append_str(&a.out, "]\n");
		fputs(buf_cstr(&a.out), stdout);
	} else if (a.n == 0) {
		printf("no runs in %s%s\n", ctx->store_path,
		       a.f.kind || a.f.verdict || a.f.status || a.f.table || a.f.table_state
			       ? " match the filters"
			       : "");
	}
	rc = EXIT_CONSISTENT;
cleanup:
	free(a.ids);
	buf_free(&a.out);
	store_close(st);
	return rc;
}

const struct command cmd_runs = {
	.name = "runs",
	.summary = "list the runs recorded in the store, newest first",
	.usage = "[--limit N] [--kind K] [--verdict V] [--status S] [--table T] [--state S]\n"
		 "       [--tables] [--json]\n"
		 "\n"
		 "  --limit N     show the N newest runs that match\n"
		 "  --kind K      only runs of this kind (audit, drift, ...)\n"
		 "  --verdict V   consistent, differences, pending or error\n"
		 "  --status S    running, done, failed or interrupted\n"
		 "  --table T     only runs that audited this table (source SCHEMA.TABLE)\n"
		 "  --state S     only runs with a table in this DMS-style state: Validated,\n"
		 "                \"Mismatched records\", \"Pending records\", \"No primary key\",\n"
		 "                \"Table error\"\n"
		 "  --tables      show each run's tables with their state and counts\n"
		 "                (in --json: \"table_results\")\n",
	.run = run_runs,
};
