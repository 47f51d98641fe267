/*
 * report/report_prom.c: a Prometheus textfile (node_exporter's textfile collector) for
 * alerting on drift.
 *
 * Series stay stable from run to run: every table gets every kind x state pair and
 * every DMS state, with 0 where nothing is, so an alert on a rate or an absence works;
 * the run id is a label of crosscheck_run_info only, never of the counters, so a daily
 * check does not mint new series each day. The file is written to a temporary name and
 * renamed by the CLI, which is what the textfile collector needs.
 */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* label appends name="value" (escaped), preceded by a comma unless first. */
static void
label(struct buf *b, const char *name, const char *value, bool first)
{
	buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	report_escape_prom_label(b, value ? value : "");
	buf_append_char(b, '"');
}

static void
value(struct buf *b, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "} %lld\n", (long long) v);
	else
		buf_printf(b, "} %.3f\n", v);
}

bool
report_write_prometheus(struct report *r)
{
	struct buf *b = &r->b;
	const struct report_run *run = &r->run;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long) run->id);

	help(b, "crosscheck_run_info", "gauge", "The reported run; its labels name it (value 1).");
	buf_append_str(b, "crosscheck_run_info{");
	label(b, "run", id, true);
	label(b, "kind", run->kind, false);
	label(b, "status", run->status, false);
	label(b, "verdict", run->verdict ? run->verdict : "none", false);
	label(b, "source", run->source, false);
	label(b, "target", run->target, false);
	label(b, "version", run->tool_version, false);
	value(b, 1);

	help(b, "crosscheck_run_verdict", "gauge",
	     "1 for the reported run's verdict, 0 for the others.");
	static const char *verdicts[] = {"consistent", "differences", "pending", "error"};
	for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		buf_append_str(b, "crosscheck_run_verdict{");
		label(b, "verdict", verdicts[i], true);
		value(b, run->verdict && strcmp(run->verdict, verdicts[i]) == 0 ? 1 : 0);
	}

	double t0 = 0, t1 = 0;
	bool started = report_parse_time(run->started_at, &t0);
	bool finished = report_parse_time(run->finished_at, &t1);
	help(b, "crosscheck_last_run_timestamp_seconds", "gauge",
	     "When the reported run finished (its start while it runs), in seconds since 1970.");
	buf_printf(b, "crosscheck_last_run_timestamp_seconds %.3f\n", finished ? t1 : started ? t0 : 0);
	help(b, "crosscheck_run_duration_seconds", "gauge", "How long the reported run took.");
	buf_printf(b, "crosscheck_run_duration_seconds %.3f\n",
		   started && finished && t1 > t0 ? t1 - t0 : 0.0);
	help(b, "crosscheck_run_exit_code", "gauge",
	     "The run's exit code: 0 consistent, 1 differences confirmed, 2 error, -1 running.");
	buf_printf(b, "crosscheck_run_exit_code %d\n", run->exit_code);

	help(b, "crosscheck_rows", "gauge", "Rows read from each side, per table.");
	for (int i = 0; i < run->ntables; i++) {
		const struct report_table *t = &run->tables[i];
		buf_append_str(b, "crosscheck_rows{");
		label(b, "side", "source", true);
		label(b, "table", t->name, false);
		value(b, (double) t->source_rows);
		buf_append_str(b, "crosscheck_rows{");
		label(b, "side", "target", true);
		label(b, "table", t->name, false);
		value(b, (double) t->target_rows);
	}
	help(b, "crosscheck_rows_matched", "gauge", "Rows equal on both sides, per table.");
	for (int i = 0; i < run->ntables; i++) {
		buf_append_str(b, "crosscheck_rows_matched{");
		label(b, "table", run->tables[i].name, true);
		value(b, (double) run->tables[i].matched);
	}
	help(b, "crosscheck_differences", "gauge",
	     "Failing keys per table, kind (MISSING_TARGET, MISSING_SOURCE, RECORD_DIFF) and "
	     "state (pending, confirmed, resolved, repaired).");
	for (int i = 0; i < run->ntables; i++) {
		const struct report_table *t = &run->tables[i];
		for (int k = 0; k < NKINDS; k++)
			for (int s = 0; s < NFSTATES; s++) {
				buf_append_str(b, "crosscheck_differences{");
				label(b, "kind", report_kinds[k], true);
				label(b, "table", t->name, false);
				label(b, "state", report_fstates[s], false);
				value(b, (double) t->failures[k][s]);
			}
		if (!report_flush(r, false))
			return false;
	}
	help(b, "crosscheck_table_state", "gauge",
	     "1 for the table's DMS-style state (Validated, Mismatched records, Pending records, "
	     "No primary key, Table error), 0 for the others.");
	for (int i = 0; i < run->ntables; i++) {
		const struct report_table *t = &run->tables[i];
		for (int s = 0; s < NTABLE_STATES; s++) {
			buf_append_str(b, "crosscheck_table_state{");
			label(b, "table", t->name, true);
			label(b, "state", report_table_states[s], false);
			value(b, t->state && strcmp(t->state, report_table_states[s]) == 0 ? 1 : 0);
		}
	}
	help(b, "crosscheck_table_partitions", "gauge", "Partitions the table was audited in.");
	for (int i = 0; i < run->ntables; i++) {
		buf_append_str(b, "crosscheck_table_partitions{");
		label(b, "table", run->tables[i].name, true);
		value(b, (double) run->tables[i].partitions);
	}
	help(b, "crosscheck_table_duration_seconds", "gauge", "Time spent auditing the table.");
	for (int i = 0; i < run->ntables; i++) {
		buf_append_str(b, "crosscheck_table_duration_seconds{");
		label(b, "table", run->tables[i].name, true);
		value(b, run->tables[i].elapsed_s);
	}
	return !r->failed;
}
