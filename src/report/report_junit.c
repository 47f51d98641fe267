/*
 * report/report_junit.c: JUnit XML for CI pipelines — one testcase per table.
 *
 * A table with confirmed differences is a <failure> (with its first failing keys in the
 * body), a table that could not be audited is an <error>; pending differences pass, as
 * the exit code does (they are not confirmed). The attributes are those the common JUnit
 * XSD (Jenkins, GitLab, Azure) requires: testsuite name/tests/failures/errors/skipped/
 * time/timestamp/hostname, testcase name/classname/time. classname is
 * "crosscheck.<kind>" and name the table, so a CI tracks one table across runs.
 */
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

#define JUNIT_KEYS 20 /* failing keys listed in a failure's body */

static void
attr(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, " %s=\"", name);
	report_escape_markup_str(b, value ? value : "");
	buf_append_char(b, '"');
}

/* junit_time gives the store's ISO time as the XSD's zone-less dateTime (UTC). */
static void
junit_time(const char *iso, char out[20])
{
	if (iso && strlen(iso) >= 19)
		memcpy(out, iso, 19), out[19] = '\0';
	else
		memcpy(out, "1970-01-01T00:00:00", 20);
}

static bool
table_errored(const struct report_table *t)
{
	return (t->status && strcmp(t->status, "error") == 0) ||
	       (t->state && (strcmp(t->state, "Table error") == 0 || strcmp(t->state, "No primary key") == 0));
}

static int64_t
confirmed(const struct report_table *t)
{
	int64_t n = 0;
	for (int k = 0; k < NKINDS; k++)
		n += t->failures[k][FSTATE_CONFIRMED];
	return n;
}

struct key_list {
	struct buf *b;
};

static bool
junit_key(void *ctx, const struct failure_row *f)
{
	struct key_list *l = ctx;
	buf_append_str(l->b, "  ");
	report_escape_markup_str(l->b, f->kind ? f->kind : "?");
	buf_append_char(l->b, ' ');
	report_html_key(l->b, f->key_json, true); /* plain text, escaped */
	if (f->columns && strcmp(f->columns, "[]") != 0) {
		buf_append_str(l->b, " columns ");
		report_escape_markup_str(l->b, f->columns);
	}
	buf_append_char(l->b, '\n');
	return true;
}

static bool
write_testcase(struct report *r, const struct report_table *t)
{
	struct buf *b = &r->b;
	char classname[80];
	snprintf(classname, sizeof(classname), "crosscheck.%s", r->run.kind ? r->run.kind : "audit");
	buf_append_str(b, "    <testcase");
	attr(b, "name", t->name);
	attr(b, "classname", classname);
	buf_printf(b, " time=\"%.3f\">\n", t->elapsed_s >= 0 ? t->elapsed_s : 0.0);
	int64_t c = confirmed(t);
	if (table_errored(t)) {
		buf_append_str(b, "      <error");
		attr(b, "message", t->error ? t->error : "the table could not be audited");
		attr(b, "type", t->state ? t->state : "Table error");
		buf_append_str(b, ">table ");
		report_escape_markup_str(b, t->name);
		buf_append_str(b, " could not be audited: ");
		report_escape_markup_str(b, t->error ? t->error : "unknown error");
		buf_append_str(b, "</error>\n");
	} else if (c > 0) {
		buf_printf(b, "      <failure message=\"%lld confirmed difference%s: %lld missing on target, "
			      "%lld extra on target, %lld different\"",
			   (long long) c, c == 1 ? "" : "s", (long long) t->failures[0][FSTATE_CONFIRMED],
			   (long long) t->failures[1][FSTATE_CONFIRMED],
			   (long long) t->failures[2][FSTATE_CONFIRMED]);
		attr(b, "type", t->state ? t->state : "Mismatched records");
		buf_append_str(b, ">confirmed failing keys");
		if (c > JUNIT_KEYS)
			buf_printf(b, " (first %d of %lld)", JUNIT_KEYS, (long long) c);
		buf_append_str(b, ":\n");
		struct key_list l = {b};
		struct failure_filter flt = {.run = r->run.id, .table = t->name, .state = "confirmed",
					     .limit = JUNIT_KEYS};
		if (!store_list_failures_by_key(r->st, &flt, junit_key, &l))
			return false;
		buf_append_str(b, "      </failure>\n");
	}
	buf_printf(b, "      <system-out>source rows %lld, target rows %lld, matched %lld, missing on "
		      "target %lld, extra on target %lld, different %lld, partitions %lld, state ",
		   (long long) t->source_rows, (long long) t->target_rows, (long long) t->matched,
		   (long long) t->missing_target, (long long) t->missing_source,
		   (long long) t->record_diff, (long long) t->partitions);
	report_escape_markup_str(b, t->state ? t->state : "-");
	buf_append_str(b, "</system-out>\n    </testcase>\n");
	return report_flush(r, false);
}

bool
report_write_junit(struct report *r)
{
	struct buf *b = &r->b;
	const struct report_run *run = &r->run;
	int failures = 0, errors = 0;
	for (int i = 0; i < run->ntables; i++) {
		if (table_errored(&run->tables[i]))
			errors++;
		else if (confirmed(&run->tables[i]) > 0)
			failures++;
	}
	double t0 = 0, t1 = 0, dur = 0;
	if (report_parse_time(run->started_at, &t0) && report_parse_time(run->finished_at, &t1) &&
	    t1 > t0)
		dur = t1 - t0;
	char ts[20];
	junit_time(run->started_at, ts);
	char name[160];
	snprintf(name, sizeof(name), "crosscheck %s run %lld", run->kind ? run->kind : "audit",
		 (long long) run->id);

	buf_append_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	attr(b, "name", "crosscheck");
	buf_printf(b, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"0\" time=\"%.3f\">\n",
		   run->ntables, failures, errors, dur);
	buf_append_str(b, "  <testsuite");
	attr(b, "name", name);
	buf_printf(b, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"0\" time=\"%.3f\"",
		   run->ntables, failures, errors, dur);
	attr(b, "timestamp", ts);
	attr(b, "hostname", "crosscheck");
	buf_append_str(b, " id=\"0\" package=\"crosscheck\">\n    <properties>\n");
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long) run->id);
	const char *props[][2] = {{"run", id},
				  {"kind", run->kind},
				  {"status", run->status},
				  {"verdict", run->verdict},
				  {"source", run->source},
				  {"target", run->target},
				  {"started_at", run->started_at},
				  {"finished_at", run->finished_at},
				  {"crosscheck_version", run->tool_version}};
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		buf_append_str(b, "      <property");
		attr(b, "name", props[i][0]);
		attr(b, "value", props[i][1]);
		buf_append_str(b, "/>\n");
	}
	buf_append_str(b, "    </properties>\n");
	for (int i = 0; i < run->ntables; i++)
		if (!write_testcase(r, &run->tables[i]))
			return false;
	buf_append_str(b, "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
	return !r->failed;
}
