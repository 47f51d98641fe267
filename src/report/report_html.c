/*
 * report/report_html.c: the HTML report, one self-contained file.
 *
 * The page is the embedded template (reports/report.html.in) with its placeholders
 * filled in here. Every value from the data goes through report_escape_markup — table
 * names, keys, column names, errors, URIs, options — and the template's CSP forbids
 * scripts and requests outright. The failure list is capped per table (with the counts
 * of what is not listed), so a run with a million failures gives a page a browser opens.
 */
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"
#include "util/log.h"

/* --- small writers ------------------------------------------------------------------------- */

static void
esc(struct buf *b, const char *s)
{
	report_escape_markup_str(b, s);
}

/* count writes n with thousands separators: 1,234,567. */
void
report_html_count(struct buf *b, int64_t n)
{
	char digits[32];
	int len = snprintf(digits, sizeof(digits), "%lld", (long long) (n < 0 ? -n : n));
	if (n < 0)
		buf_append_char(b, '-');
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf_append_char(b, ',');
		buf_append_char(b, digits[i]);
	}
}

struct key_ctx {
	struct buf *b;
	int n;
	bool plain; /* no markup (inside an SVG <title>) */
};

static bool
key_member(void *ctx, const char *name, const char *value, bool is_string)
{
	struct key_ctx *k = ctx;
	(void) is_string;
	if (k->n++)
		buf_append_str(k->b, ", ");
	if (!k->plain)
		buf_append_str(k->b, "<span class=\"kn\">");
	esc(k->b, name);
	buf_append_str(k->b, k->plain ? "=" : "=</span>");
	esc(k->b, value);
	return true;
}

/*
 * report_html_key writes a stored key ({"col": "canonical text"}) as col=value pairs,
 * escaped; text that is not a JSON object is shown escaped as it is.
 */
void
report_html_key(struct buf *b, const char *key_json, bool plain)
{
	struct key_ctx k = {b, 0, plain};
	if (key_json == NULL)
		buf_append_str(b, "(none)");
	else if (strcmp(key_json, "null") == 0)
		buf_append_str(b, "(open)");
	else if (!report_json_each_member(key_json, key_member, &k))
		esc(b, key_json);
}

struct list_ctx {
	struct buf *b;
	int n;
};

static bool
list_item(void *ctx, const char *v)
{
	struct list_ctx *l = ctx;
	if (l->n++)
		buf_append_str(l->b, ", ");
	esc(l->b, v);
	return true;
}

static void
column_list(struct buf *b, const char *json)
{
	struct list_ctx l = {b, 0};
	if (json == NULL || !report_json_each_string(json, list_item, &l))
		esc(b, json);
	else if (l.n == 0)
		buf_append_str(b, "<span class=\"muted\">&mdash;</span>");
}

static const char *
verdict_class(const char *verdict)
{
	static const char *known[] = {"consistent", "differences", "pending", "error"};
	for (size_t i = 0; verdict && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(verdict, known[i]) == 0)
			return known[i];
	return "running";
}

static const char *
state_class(const char *state)
{
	static const char *classes[NTABLE_STATES] = {"s-validated", "s-mismatched", "s-pending",
						     "s-nokey", "s-error"};
	for (int i = 0; state && i < NTABLE_STATES; i++)
		if (strcmp(state, report_table_states[i]) == 0)
			return classes[i];
	return "s-other";
}

static int64_t
open_failures(const struct report_table *t)
{
	int64_t n = 0;
	for (int k = 0; k < NKINDS; k++)
		n += t->failures[k][FSTATE_PENDING] + t->failures[k][FSTATE_CONFIRMED];
	return n;
}

static int64_t
state_total(const struct report_table *t, int s)
{
	int64_t n = 0;
	for (int k = 0; k < NKINDS; k++)
		n += t->failures[k][s];
	return n;
}

/* --- sections ------------------------------------------------------------------------------ */

static bool
sec_title(struct report *r)
{
	buf_printf(&r->b, "crosscheck report: run %lld", (long long) r->run.id);
	if (r->run.kind) {
		buf_append_str(&r->b, " (");
		esc(&r->b, r->run.kind);
		buf_append_char(&r->b, ')');
	}
	return true;
}

static bool
sec_endpoints(struct report *r)
{
	buf_append_str(&r->b, "<span class=\"mono\">");
	esc(&r->b, r->run.source);
	buf_append_str(&r->b, "</span> &rarr; <span class=\"mono\">");
	esc(&r->b, r->run.target);
	buf_append_str(&r->b, "</span>");
	return true;
}

static void
meta_row(struct buf *b, const char *label, const char *value)
{
	buf_printf(b, "<dt>%s</dt><dd>", label);
	if (value)
		esc(b, value);
	else
		buf_append_str(b, "&mdash;");
	buf_append_str(b, "</dd>");
}

static bool
sec_meta(struct report *r)
{
	const struct report_run *run = &r->run;
	struct buf *b = &r->b;
	buf_append_str(b, "<dl class=\"meta\">");
	meta_row(b, "status", run->status);
	meta_row(b, "started", run->started_at);
	meta_row(b, "finished", run->finished_at);
	double t0, t1;
	if (report_parse_time(run->started_at, &t0) && report_parse_time(run->finished_at, &t1))
		buf_printf(b, "<dt>duration</dt><dd>%.1f s</dd>", t1 >= t0 ? t1 - t0 : 0.0);
	if (run->exit_code >= 0)
		buf_printf(b, "<dt>exit code</dt><dd>%d</dd>", run->exit_code);
	meta_row(b, "crosscheck", run->tool_version);
	buf_append_str(b, "</dl>");
	return true;
}

static bool
sec_verdict(struct report *r)
{
	const struct report_run *run = &r->run;
	struct buf *b = &r->b;
	const char *cls = verdict_class(run->verdict);
	buf_printf(b, "<div class=\"verdict v-%s\"><div class=\"big\">%s</div><div class=\"why\">", cls,
		   strcmp(cls, "running") == 0 ? "no verdict" : cls);
	int64_t errored = run->tables_in_state[TSTATE_TABLE_ERROR];
	int64_t open = 0;
	for (int i = 0; i < run->ntables; i++)
		open += open_failures(&run->tables[i]);
	if (run->verdict == NULL)
		buf_append_str(b, "the run has not finished");
	else if (errored > 0)
		buf_printf(b, "%lld of %d tables could not be audited", (long long) errored, run->ntables);
	else if (run->failures[FSTATE_CONFIRMED] > 0) {
		report_html_count(b, run->failures[FSTATE_CONFIRMED]);
		buf_printf(b, " confirmed difference%s", run->failures[FSTATE_CONFIRMED] == 1 ? "" : "s");
	} else if (open > 0) {
		report_html_count(b, open);
		buf_append_str(b, " pending, not rechecked yet");
	} else {
		buf_printf(b, "%d table%s, every row matched", run->ntables, run->ntables == 1 ? "" : "s");
	}
	buf_append_str(b, "</div></div>");
	return true;
}

static void
card(struct buf *b, const char *cls, int64_t n, const char *label)
{
	buf_printf(b, "<div class=\"card %s\"><div class=\"n\">", cls);
	report_html_count(b, n);
	buf_printf(b, "</div><div class=\"l\">%s</div></div>", label);
}

static bool
sec_overview(struct report *r)
{
	const struct report_run *run = &r->run;
	struct buf *b = &r->b;
	buf_append_str(b, "<div class=\"cards\">");
	card(b, "", run->ntables, "tables");
	card(b, "", run->partitions, "partitions");
	card(b, "", run->source_rows, "source rows");
	card(b, "", run->target_rows, "target rows");
	card(b, run->matched == run->source_rows && run->source_rows > 0 ? "ok" : "", run->matched,
	     "rows matched");
	card(b, run->missing_target ? "bad" : "", run->missing_target, "missing on target");
	card(b, run->missing_source ? "bad" : "", run->missing_source, "extra on target");
	card(b, run->record_diff ? "bad" : "", run->record_diff, "different columns");
	card(b, run->failures[FSTATE_CONFIRMED] ? "bad" : "", run->failures[FSTATE_CONFIRMED],
	     "confirmed");
	card(b, run->failures[FSTATE_PENDING] ? "warn" : "", run->failures[FSTATE_PENDING], "pending");
	card(b, "", run->failures[FSTATE_RESOLVED], "resolved (lag)");
	buf_append_str(b, "</div>");
	return true;
}

static void
num_cell(struct buf *b, int64_t n)
{
	buf_append_str(b, "<td class=\"num\">");
	report_html_count(b, n);
	buf_append_str(b, "</td>");
}

static bool
sec_tables(struct report *r)
{
	struct buf *b = &r->b;
	if (r->run.ntables == 0) {
		buf_append_str(b, "<p class=\"note\">This run recorded no tables.</p>");
		return true;
	}
	buf_append_str(b, "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th>table</th>"
			  "<th>state</th><th class=\"num\">partitions</th><th class=\"num\">source rows</th>"
			  "<th class=\"num\">target rows</th><th class=\"num\">matched</th>"
			  "<th class=\"num\" title=\"missing on target\">missing</th>"
			  "<th class=\"num\" title=\"extra on target\">extra</th>"
			  "<th class=\"num\">different</th><th>failures</th>"
			  "<th class=\"num\">time</th><th>error</th></tr></thead><tbody>");
	for (int i = 0; i < r->run.ntables; i++) {
		const struct report_table *t = &r->run.tables[i];
		buf_append_str(b, "<tr><td class=\"mono\">");
		esc(b, t->name);
		if (t->target_table && *t->target_table && strcmp(t->target_table, t->name) != 0) {
			buf_append_str(b, "<br><span class=\"muted\">&rarr; ");
			esc(b, t->target_table);
			buf_append_str(b, "</span>");
		}
		buf_printf(b, "</td><td><span class=\"state %s\">", state_class(t->state));
		esc(b, t->state ? t->state : t->status);
		buf_append_str(b, "</span></td>");
		num_cell(b, t->partitions);
		num_cell(b, t->source_rows);
		num_cell(b, t->target_rows);
		num_cell(b, t->matched);
		num_cell(b, t->missing_target);
		num_cell(b, t->missing_source);
		num_cell(b, t->record_diff);
		buf_append_str(b, "<td class=\"small\">");
		const char *sep = "";
		for (int s = 0; s < NFSTATES; s++) {
			int64_t n = state_total(t, s);
			if (n == 0)
				continue;
			buf_append_str(b, sep);
			report_html_count(b, n);
			buf_printf(b, "&nbsp;%s", report_fstates[s]);
			sep = "<br>";
		}
		if (*sep == '\0')
			buf_append_str(b, "<span class=\"muted\">none</span>");
		buf_printf(b, "</td><td class=\"num\">%.1f s</td><td class=\"err\">", t->elapsed_s);
		esc(b, t->error);
		buf_append_str(b, "</td></tr>");
	}
	buf_append_str(b, "</tbody></table></div>");
	return true;
}

static bool
sec_heat(struct report *r)
{
	if (r->run.ntables == 0) {
		buf_append_str(&r->b, "<p class=\"note\">No partitions.</p>");
		return true;
	}
	for (int i = 0; i < r->run.ntables; i++)
		if (!report_html_heat_strip(r, &r->run.tables[i]))
			return false;
	return true;
}

static bool
sec_drift(struct report *r)
{
	if (r->nhistory < 2) {
		buf_append_str(&r->b, "<p class=\"note\">One run shown. Give <code>--last K</code> to chart "
				      "the differences of the K newest runs.</p>");
		return true;
	}
	report_html_drift_svg(r);
	return true;
}

struct fail_ctx {
	struct report *r;
	int64_t shown;
};

static bool
failure_row(void *ctx, const struct failure_row *f)
{
	struct fail_ctx *c = ctx;
	struct buf *b = &c->r->b;
	int k = report_kind_index(f->kind);
	buf_append_str(b, "<tr><td class=\"key\">");
	report_html_key(b, f->key_json, false);
	buf_printf(b, "</td><td class=\"k-%s\">", k >= 0 ? report_kinds[k] : "other");
	esc(b, k >= 0 ? report_kind_labels[k] : f->kind);
	buf_append_str(b, "</td><td class=\"mono\">");
	column_list(b, f->columns);
	buf_append_str(b, "</td><td>");
	esc(b, f->state);
	buf_printf(b, "</td><td class=\"num\">%d</td><td class=\"mono\">", f->attempts);
	esc(b, f->first_seen);
	buf_append_str(b, "</td><td class=\"mono\">");
	esc(b, f->last_seen);
	if (f->origin) { /* a file target: the object and line the row came from */
		buf_append_str(b, "<br><span class=\"mono\">from ");
		esc(b, f->origin);
		buf_append_str(b, "</span>");
	}
	buf_append_str(b, "</td></tr>\n");
	c->shown++;
	return report_flush(c->r, false);
}

/*
 * table_failures lists up to --html-failures failures of a table: confirmed first, then
 * pending, then the rest, each in key order. A state is queried only when the counts
 * say it has rows, so a million confirmed failures cost one short index walk.
 */
static bool
table_failures(struct report *r, const struct report_table *t)
{
	struct buf *b = &r->b;
	static const int order[NFSTATES] = {FSTATE_CONFIRMED, FSTATE_PENDING, FSTATE_RESOLVED,
					    FSTATE_REPAIRED};
	int64_t cap = r->o->html_failures > 0 ? r->o->html_failures : REPORT_DEFAULT_HTML_FAILURES;
	buf_append_str(b, "<h3><span class=\"mono\">");
	esc(b, t->name);
	buf_append_str(b, "</span> &mdash; ");
	report_html_count(b, t->failures_total);
	buf_printf(b, " failure%s", t->failures_total == 1 ? "" : "s");
	const char *sep = " (";
	for (int s = 0; s < NFSTATES; s++) {
		int64_t n = state_total(t, order[s]);
		if (n == 0)
			continue;
		buf_append_str(b, sep);
		report_html_count(b, n);
		buf_printf(b, " %s", report_fstates[order[s]]);
		sep = ", ";
	}
	buf_append_str(b, *sep == ',' ? ")</h3>" : "</h3>");
	buf_append_str(b, "<table class=\"grid\"><thead><tr><th>key</th><th>kind</th>"
			  "<th>differing columns</th><th>state</th><th class=\"num\">rechecks</th>"
			  "<th>first seen</th><th>last seen</th></tr></thead><tbody>\n");
	struct fail_ctx c = {r, 0};
	for (int s = 0; s < NFSTATES && c.shown < cap; s++) {
		if (state_total(t, order[s]) == 0)
			continue;
		struct failure_filter flt = {.run = r->run.id, .table = t->name,
					     .state = report_fstates[order[s]], .limit = cap - c.shown};
		if (!store_list_failures_by_key(r->st, &flt, failure_row, &c) || r->failed)
			return false;
	}
	buf_append_str(b, "</tbody></table>");
	if (c.shown < t->failures_total) {
		buf_append_str(b, "<p class=\"capped\">Showing ");
		report_html_count(b, c.shown);
		buf_append_str(b, " of ");
		report_html_count(b, t->failures_total);
		buf_printf(b, " failures (confirmed first). Every one is in the store: "
			      "<code>crosscheck failures --run %lld --table ",
			   (long long) r->run.id);
		esc(b, t->name);
		buf_append_str(b, " --json</code> or <code>crosscheck report --format json</code>.</p>");
	}
	return report_flush(r, false);
}

static bool
sec_failures(struct report *r)
{
	if (r->run.failures_total == 0) {
		buf_append_str(&r->b, "<p class=\"note\">No failures recorded for this run.</p>");
		return true;
	}
	for (int i = 0; i < r->run.ntables; i++)
		if (r->run.tables[i].failures_total > 0 && !table_failures(r, &r->run.tables[i]))
			return false;
	return true;
}

static bool
option_member(void *ctx, const char *name, const char *value, bool is_string)
{
	(void) is_string;
	struct buf *b = ctx;
	buf_append_str(b, "<dt>");
	esc(b, name);
	buf_append_str(b, "</dt><dd class=\"mono\">");
	esc(b, value);
	buf_append_str(b, "</dd>");
	return true;
}

static bool
sec_details(struct report *r)
{
	const struct report_run *run = &r->run;
	struct buf *b = &r->b;
	buf_append_str(b, "<h3>Options</h3><dl class=\"meta\">");
	if (run->options == NULL || !report_json_each_member(run->options, option_member, b))
		meta_row(b, "options", run->options);
	buf_append_str(b, "</dl><h3>Identity</h3><dl class=\"meta\">");
	meta_row(b, "fingerprint", run->fingerprint);
	meta_row(b, "source", run->source);
	meta_row(b, "target", run->target);
	buf_append_str(b, "</dl><h3>Checkpoint</h3>");
	const struct report_checkpoint *k = &run->checkpoint;
	if (!k->present) {
		buf_append_str(b, "<p class=\"note\">This run recorded no checkpoint.</p>");
		return true;
	}
	buf_append_str(b, "<dl class=\"meta\">");
	meta_row(b, "engine", k->engine);
	meta_row(b, "position", k->position);
	meta_row(b, "gtid", k->gtid);
	meta_row(b, "label", k->label);
	meta_row(b, "taken at", k->taken_at);
	if (k->verified_by > 0)
		buf_printf(b, "<dt>verified by</dt><dd>run %lld</dd>", (long long) k->verified_by);
	else
		buf_append_str(b, "<dt>verified by</dt><dd>not verified</dd>");
	buf_append_str(b, "</dl>");
	return true;
}

static bool
sec_footer(struct report *r)
{
	buf_append_str(&r->b, "Generated by crosscheck ");
	esc(&r->b, r->version);
	buf_append_str(&r->b, " at ");
	esc(&r->b, r->generated_at);
	buf_append_str(&r->b, " from the store");
	if (r->o->store_name) {
		buf_append_str(&r->b, " <span class=\"mono\">");
		esc(&r->b, r->o->store_name);
		buf_append_str(&r->b, "</span>");
	}
	buf_append_str(&r->b, ". One self-contained file: no script, no font, no request.");
	return true;
}

static bool
sec_version(struct report *r)
{
	esc(&r->b, r->version);
	return true;
}

static const struct {
	const char *name;
	bool (*fn)(struct report *r);
} sections[] = {
	{"version", sec_version},   {"title", sec_title},	{"endpoints", sec_endpoints},
	{"meta", sec_meta},	    {"verdict", sec_verdict},	{"overview", sec_overview},
	{"tables", sec_tables},	    {"heat", sec_heat},		{"drift", sec_drift},
	{"failures", sec_failures}, {"details", sec_details}, {"footer", sec_footer},
};

/*
 * report_write_html copies the template, filling each placeholder from its section
 * writer. An unknown placeholder is an error (a template/code mismatch caught by the
 * unit tests), never silently left in the page.
 */
bool
report_write_html(struct report *r)
{
	const char *p = report_html_template;
	const char *end = report_html_template + report_html_template_len;
	while (p < end) {
		const char *open = strstr(p, "{{");
		if (open == NULL) {
			buf_append(&r->b, p, (size_t) (end - p));
			break;
		}
		buf_append(&r->b, p, (size_t) (open - p));
		const char *close = strstr(open + 2, "}}");
		if (close == NULL) {
			log_error("report: the HTML template has an unclosed placeholder");
			return false;
		}
		size_t len = (size_t) (close - open - 2);
		bool done = false;
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]) && !done; i++) {
			if (strlen(sections[i].name) == len && strncmp(open + 2, sections[i].name, len) == 0) {
				if (!sections[i].fn(r))
					return false;
				done = true;
			}
		}
		if (!done) {
			log_error("report: the HTML template names an unknown placeholder \"%.*s\"",
				  (int) len, open + 2);
			return false;
		}
		if (!report_flush(r, false))
			return false;
		p = close + 2;
	}
	return !r->failed;
}
