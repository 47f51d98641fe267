/*
 * cli/report.c: `crosscheck report`, a run's report as JSON, HTML, JUnit or Prometheus.
 *
 * The report is written to a temporary file beside --output and renamed over it at the
 * end, so a reader (a browser, a CI step, node_exporter's textfile collector) never sees
 * half a report, and a failed report leaves the previous one in place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "report/report.h"
#include "util/buf.h"
#include "util/log.h"

enum { OPT_RUN = 1, OPT_LAST, OPT_FORMAT, OPT_OUTPUT, OPT_HTML_FAILURES };

static const struct option report_opts[] = {
	{"run", required_argument, NULL, OPT_RUN},
	{"last", required_argument, NULL, OPT_LAST},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"html-failures", required_argument, NULL, OPT_HTML_FAILURES},
	{NULL, 0, NULL, 0},
};

struct report_args {
	struct report_options o;
	bool format_given;
	const char *output;
};

static bool
report_option(void *vctx, int opt, const char *arg)
{
	struct report_args *a = vctx;
	long n;
	switch (opt) {
	case OPT_RUN:
		if (!cli_int("--run", arg, 1, 9223372036854775807L, &n))
			return false;
		a->o.run = n;
		return true;
	case OPT_LAST:
		if (!cli_int("--last", arg, 1, REPORT_MAX_LAST, &n))
			return false;
		a->o.last = (int) n;
		return true;
	case OPT_FORMAT:
		if (!report_format_from_name(arg, &a->o.format)) {
			log_error("--format: expected json, html, junit or prometheus, got \"%s\"", arg);
			return false;
		}
		a->format_given = true;
		return true;
	case OPT_OUTPUT: a->output = arg; return true;
	case OPT_HTML_FAILURES:
		if (!cli_int("--html-failures", arg, 1, 1000000, &n))
			return false;
		a->o.html_failures = (int) n;
		return true;
	}
	return false;
}

/* format_from_name guesses the format from --output's extension when --format is absent. */
static void
format_from_output(struct report_args *a)
{
	static const struct {
		const char *ext;
		enum report_format f;
	} exts[] = {{".html", REPORT_HTML}, {".htm", REPORT_HTML}, {".xml", REPORT_JUNIT},
		    {".prom", REPORT_PROMETHEUS}, {".json", REPORT_JSON}};
	size_t len = a->output ? strlen(a->output) : 0;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t n = strlen(exts[i].ext);
		if (len > n && strcmp(a->output + len - n, exts[i].ext) == 0) {
			a->o.format = exts[i].f;
			return;
		}
	}
}

static int
run_report(struct cli_context *ctx, int argc, char **argv)
{
	struct report_args a;
	memset(&a, 0, sizeof(a));
	a.o.format = REPORT_JSON;
	a.o.html_failures = REPORT_DEFAULT_HTML_FAILURES;
	int rc = EXIT_TOOL_ERROR;
	struct store *st = NULL;
	if (!cli_parse(ctx, &cmd_report, argc, argv, report_opts, report_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_report);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.o.run > 0 && a.o.last > 0) {
		log_error("report: give --run N or --last K, not both");
		log_hint("--last K reports the newest run with the K newest runs' history");
		goto cleanup;
	}
	if (!a.format_given)
		format_from_output(&a);
	/* a report reads a store; it never creates an empty one */
	if (access(ctx->store_path, F_OK) != 0) {
		log_error("report: no store at %s", ctx->store_path);
		log_hint("name the store with --store FILE (default crosscheck.db)");
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	a.o.store_name = ctx->store_path;
	bool to_stdout = a.output == NULL || strcmp(a.output, "-") == 0;
	if (to_stdout ? !report_write(st, &a.o, stdout) : !report_write_file(st, &a.o, a.output))
		goto cleanup;
	if (!to_stdout)
		log_info("report: wrote %s", a.output);
	rc = EXIT_CONSISTENT;
cleanup:
	store_close(st);
	return rc;
}

const struct command cmd_report = {
	.name = "report",
	.summary = "write a run's report: JSON, HTML, JUnit XML or Prometheus metrics",
	.usage = "[--run N | --last K] [--format json|html|junit|prometheus] [--output FILE]\n"
		 "       [--html-failures N]\n"
		 "\n"
		 "  --run N             the run to report (default: the newest)\n"
		 "  --last K            the newest run, with the K newest runs as history: the\n"
		 "                      HTML charts their drift, the JSON lists them\n"
		 "  --format F          json (schema: reports/report.schema.json), html (one\n"
		 "                      self-contained file), junit (one testcase per table) or\n"
		 "                      prometheus (a textfile for node_exporter). Default: from\n"
		 "                      the --output extension (.json .html .xml .prom), else json\n"
		 "  --output FILE       where to write; - or none = stdout. The file is written\n"
		 "                      to a temporary name and renamed, never left half-written\n"
		 "  --html-failures N   failures listed per table in HTML (default 100; the rest\n"
		 "                      are counted, and all are in the JSON report)\n"
		 "\n"
		 "Reads only the store. Exit code 0 when the report was written, 2 when not (no\n"
		 "such run, unreadable store, unwritable output).\n",
	.run = run_report,
};
