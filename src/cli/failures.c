/*
 * cli/failures.c: `crosscheck failures`, the failing keys of a run.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "core/compare.h"
#include "core/recheck.h"
#include "util/buf.h"
#include "util/log.h"

enum { OPT_RUN = 1, OPT_TABLE, OPT_KIND, OPT_STATE, OPT_LIMIT };

static const struct option failures_opts[] = {
	{"run", required_argument, NULL, OPT_RUN},
	{"table", required_argument, NULL, OPT_TABLE},
	{"kind", required_argument, NULL, OPT_KIND},
	{"state", required_argument, NULL, OPT_STATE},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{NULL, 0, NULL, 0},
};

struct failures_args {
	struct failure_filter f;
	bool all_runs;
	bool json;
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
	}
	return false;
}

static bool
print_failure(void *ctx, const struct failure_row *f)
{
	struct failures_args *a = ctx;
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
		if (b->failed)
			return false;
		return true;
	}
	if (a->n++ == 0)
		printf("%5s  %-28s %-15s %-10s %-40s %s\n", "run", "table", "kind", "state", "key",
		       "columns");
	printf("%5lld  %-28s %-15s %-10s %-40s %s\n", (long long) f->run, f->table, f->kind,
	       f->state, f->key_json, strcmp(f->columns, "[]") ? f->columns : "");
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
			if (ctx->json)
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
	a.json = ctx->json;
	if (a.json)
		buf_append_char(&a.out, '[');
	if (!store_list_failures(st, &a.f, print_failure, &a))
		goto cleanup;
	if (a.json) {
		buf_append_str(&a.out, "]\n");
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
		 "\n"
		 "  --run N|all   the run (default: the newest), or every run\n"
		 "  --table T     only this table (source SCHEMA.TABLE)\n"
		 "  --kind K      MISSING_TARGET (source only), MISSING_SOURCE (target only) or\n"
		 "                RECORD_DIFF (different columns)\n"
		 "  --state S     pending, confirmed, resolved (lag) or repaired\n"
		 "  --limit N     at most N failures\n"
		 "\n"
		 "--json prints one array of {run, table, key, kind, columns, state, attempts,\n"
		 "first_seen, last_seen}; keys are canonical text.\n",
	.run = run_failures,
};
