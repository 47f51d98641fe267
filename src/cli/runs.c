/*
 * cli/runs.c: `crosscheck runs`, the runs recorded in the store.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "util/buf.h"
#include "util/log.h"

enum { OPT_LIMIT = 1 };

static const struct option runs_opts[] = {
	{"limit", required_argument, NULL, OPT_LIMIT},
	{NULL, 0, NULL, 0},
};

struct runs_args {
	long limit;
	bool json;
	int n;
	struct buf out;
};

static bool
runs_option(void *vctx, int opt, const char *arg)
{
	struct runs_args *a = vctx;
	return opt == OPT_LIMIT && cli_int("--limit", arg, 1, 1000000000L, &a->limit);
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
			      "\"confirmed_differences\":%lld,\"exit_code\":%d,\"options\":%s}",
			   (long long) r->tables, (long long) r->source_rows, (long long) r->target_rows,
			   (long long) r->differences, r->exit_code, r->options ? r->options : "null");
		return true;
	}
	if (a->n++ == 0)
		printf("%6s  %-24s %-6s %-11s %-12s %6s %12s %11s  %s\n", "run", "started", "kind",
		       "status", "verdict", "tables", "source rows", "differences", "source -> target");
	printf("%6lld  %-24s %-6s %-11s %-12s %6lld %12lld %11lld  %s -> %s\n", (long long) r->id,
	       r->started_at, r->kind, r->status, r->verdict ? r->verdict : "-", (long long) r->tables,
	       (long long) r->source_rows, (long long) r->differences, r->source, r->target);
	return true;
}

static int
run_runs(struct cli_context *ctx, int argc, char **argv)
{
	struct runs_args a = {0};
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
	if (!store_list_runs(st, (int) a.limit, print_run, &a))
		goto cleanup;
	if (a.json) {
		buf_append_str(&a.out, "]\n");
		fputs(buf_cstr(&a.out), stdout);
	} else if (a.n == 0) {
		printf("no runs in %s\n", ctx->store_path);
	}
	rc = EXIT_CONSISTENT;
cleanup:
	buf_free(&a.out);
	store_close(st);
	return rc;
}

const struct command cmd_runs = {
	.name = "runs",
	.summary = "list the runs recorded in the store, newest first",
	.usage = "[--limit N] [--json]\n"
		 "\n"
		 "  --limit N   show the N newest runs\n",
	.run = run_runs,
};
