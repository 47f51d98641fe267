/*
 * report/report_json.c: the JSON report (reports/report.schema.json, reports/README.md).
 *
 * Keys are written in one fixed order, so two reports of the same run differ only in
 * generated_at, and a diff of two runs' reports is readable. Each table and each failure
 * sits on its own line: a million failures stream out one line at a time, and a person
 * can grep the file. Text the audit stored as JSON (keys, column lists, bounds, options)
 * is checked and embedded as is — never re-printed, so no number changes on the way.
 */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"
#include "util/log.h"

struct jw {
	struct report *r;
	struct buf *b;
	int64_t bad_json; /* stored texts that were not JSON (written as null) */
};

static void
key(struct jw *w, const char *name)
{
	buf_append_json_string(w->b, name, strlen(name));
	buf_append_char(w->b, ':');
}

static void
str(struct jw *w, const char *name, const char *v, bool comma)
{
	key(w, name);
	if (v)
		buf_append_json_string(w->b, v, strlen(v));
	else
		buf_append_str(w->b, "null");
	if (comma)
		buf_append_char(w->b, ',');
}

static void
num(struct jw *w, const char *name, int64_t v, bool comma)
{
	key(w, name);
	buf_printf(w->b, "%lld", (long long) v);
	if (comma)
		buf_append_char(w->b, ',');
}

static void
secs(struct jw *w, const char *name, double v, bool comma)
{
	key(w, name);
	buf_printf(w->b, "%.3f", isfinite(v) && v >= 0 ? v : 0.0);
	if (comma)
		buf_append_char(w->b, ',');
}

/* raw embeds stored JSON text; text that is not JSON becomes null (and is counted). */
static void
raw(struct jw *w, const char *name, const char *v, bool comma)
{
	key(w, name);
	if (v == NULL) {
		buf_append_str(w->b, "null");
	} else if (report_json_valid(v)) {
		buf_append_str(w->b, v);
	} else {
		buf_append_str(w->b, "null");
		w->bad_json++;
	}
	if (comma)
		buf_append_char(w->b, ',');
}

static void
state_counts(struct jw *w, const int64_t *by_state, int64_t total)
{
	buf_append_char(w->b, '{');
	num(w, "total", total, true);
	for (int s = 0; s < NFSTATES; s++)
		num(w, report_fstates[s], by_state[s], s + 1 < NFSTATES);
	buf_append_char(w->b, '}');
}

static void
write_run(struct jw *w, const struct report_run *run)
{
	double t0, t1;
	bool timed = report_parse_time(run->started_at, &t0) &&
		     report_parse_time(run->finished_at, &t1);
	buf_append_str(w->b, "\"run\":{");
	num(w, "id", run->id, true);
	str(w, "kind", run->kind, true);
	str(w, "status", run->status, true);
	str(w, "verdict", run->verdict, true);
	key(w, "exit_code");
	if (run->exit_code >= 0)
		buf_printf(w->b, "%d,", run->exit_code);
	else
		buf_append_str(w->b, "null,");
	str(w, "started_at", run->started_at, true);
	str(w, "finished_at", run->finished_at, true);
	key(w, "duration_s");
	if (timed)
		buf_printf(w->b, "%.3f,", t1 >= t0 ? t1 - t0 : 0.0);
	else
		buf_append_str(w->b, "null,");
	str(w, "tool_version", run->tool_version, true);
	str(w, "source", run->source, true);
	str(w, "target", run->target, true);
	str(w, "fingerprint", run->fingerprint, true);
	raw(w, "options", run->options, true);
	key(w, "checkpoint");
	const struct report_checkpoint *c = &run->checkpoint;
	if (!c->present) {
		buf_append_str(w->b, "null");
	} else {
		buf_append_char(w->b, '{');
		num(w, "id", c->id, true);
		str(w, "engine", c->engine, true);
		str(w, "position", c->position, true);
		str(w, "gtid", c->gtid, true);
		str(w, "label", c->label, true);
		str(w, "taken_at", c->taken_at, true);
		key(w, "verified_by");
		if (c->verified_by > 0)
			buf_printf(w->b, "%lld", (long long) c->verified_by);
		else
			buf_append_str(w->b, "null");
		buf_append_char(w->b, '}');
	}
	buf_append_str(w->b, "},\n");
}

static void
write_summary(struct jw *w, const struct report_run *run)
{
	buf_append_str(w->b, "\"summary\":{");
	num(w, "tables", run->ntables, true);
	key(w, "tables_by_state");
	buf_append_char(w->b, '{');
	for (int s = 0; s < NTABLE_STATES; s++)
		num(w, report_table_states[s], run->tables_in_state[s], s + 1 < NTABLE_STATES);
	buf_append_str(w->b, "},");
	num(w, "partitions", run->partitions, true);
	num(w, "source_rows", run->source_rows, true);
	num(w, "target_rows", run->target_rows, true);
	num(w, "matched", run->matched, true);
	num(w, "missing_target", run->missing_target, true);
	num(w, "missing_source", run->missing_source, true);
	num(w, "record_diff", run->record_diff, true);
	key(w, "failures");
	state_counts(w, run->failures, run->failures_total);
	buf_append_str(w->b, "},\n");
}

static void
write_history(struct jw *w)
{
	struct report *r = w->r;
	buf_append_str(w->b, "\"history\":[");
	for (int i = 0; i < r->nhistory; i++) {
		const struct report_run *h = &r->history[i];
		buf_append_str(w->b, i ? ",\n{" : "\n{");
		num(w, "id", h->id, true);
		str(w, "kind", h->kind, true);
		str(w, "started_at", h->started_at, true);
		str(w, "finished_at", h->finished_at, true);
		str(w, "status", h->status, true);
		str(w, "verdict", h->verdict, true);
		num(w, "tables", h->ntables, true);
		num(w, "source_rows", h->source_rows, true);
		num(w, "target_rows", h->target_rows, true);
		num(w, "matched", h->matched, true);
		num(w, "missing_target", h->missing_target, true);
		num(w, "missing_source", h->missing_source, true);
		num(w, "record_diff", h->record_diff, false);
		buf_append_char(w->b, '}');
	}
	buf_append_str(w->b, "],\n");
}

struct part_ctx {
	struct jw *w;
	int n;
};

static bool
write_partition(void *ctx, const struct partition_result *p)
{
	struct part_ctx *c = ctx;
	struct jw *w = c->w;
	buf_append_str(w->b, c->n++ ? ",\n{" : "\n{");
	num(w, "part_no", p->part_no, true);
	raw(w, "lo", p->lo, true);
	raw(w, "hi", p->hi, true);
	str(w, "status", p->status, true);
	num(w, "source_rows", p->source_rows, true);
	num(w, "target_rows", p->target_rows, true);
	num(w, "matched", p->matched, true);
	num(w, "missing_target", p->missing_target, true);
	num(w, "missing_source", p->missing_source, true);
	num(w, "record_diff", p->record_diff, true);
	str(w, "source_digest", p->source_digest, true);
	str(w, "target_digest", p->target_digest, true);
	secs(w, "elapsed_s", p->elapsed_s, true);
	num(w, "attempts", p->attempts, true);
	str(w, "error", p->error, false);
	buf_append_char(w->b, '}');
	return report_flush(w->r, false);
}

static bool
write_tables(struct jw *w)
{
	struct report *r = w->r;
	buf_append_str(w->b, "\"tables\":[");
	for (int i = 0; i < r->run.ntables; i++) {
		const struct report_table *t = &r->run.tables[i];
		buf_append_str(w->b, i ? ",\n{" : "\n{");
		str(w, "name", t->name, true);
		str(w, "target_table", t->target_table, true);
		str(w, "status", t->status, true);
		str(w, "state", t->state, true);
		str(w, "error", t->error, true);
		raw(w, "key_columns", t->key_columns, true);
		raw(w, "columns", t->columns, true);
		num(w, "partition_count", t->partitions, true);
		num(w, "source_rows", t->source_rows, true);
		num(w, "target_rows", t->target_rows, true);
		num(w, "matched", t->matched, true);
		num(w, "missing_target", t->missing_target, true);
		num(w, "missing_source", t->missing_source, true);
		num(w, "record_diff", t->record_diff, true);
		secs(w, "elapsed_s", t->elapsed_s, true);
		key(w, "failures");
		int64_t by_state[NFSTATES] = {0};
		for (int k = 0; k < NKINDS; k++)
			for (int s = 0; s < NFSTATES; s++)
				by_state[s] += t->failures[k][s];
		buf_append_char(w->b, '{');
		key(w, "by_state");
		state_counts(w, by_state, t->failures_total);
		buf_append_str(w->b, ",\"by_kind\":{");
		for (int k = 0; k < NKINDS; k++) {
			int64_t total = 0;
			for (int s = 0; s < NFSTATES; s++)
				total += t->failures[k][s];
			key(w, report_kinds[k]);
			state_counts(w, t->failures[k], total);
			if (k + 1 < NKINDS)
				buf_append_char(w->b, ',');
		}
		buf_append_str(w->b, "}},\"partitions\":[");
		struct part_ctx pc = {w, 0};
		if (!store_list_partitions(r->st, r->run.id, t->name, write_partition, &pc) || r->failed)
			return false;
		buf_append_str(w->b, "]}");
	}
	buf_append_str(w->b, "],\n");
	return report_flush(r, false);
}

static bool
write_failure(void *ctx, const struct failure_row *f)
{
	struct part_ctx *c = ctx;
	struct jw *w = c->w;
	buf_append_str(w->b, c->n++ ? ",\n{" : "\n{");
	str(w, "table", f->table, true);
	raw(w, "key", f->key_json, true);
	str(w, "kind", f->kind, true);
	raw(w, "columns", f->columns, true);
	str(w, "state", f->state, true);
	num(w, "attempts", f->attempts, true);
	str(w, "first_seen", f->first_seen, true);
	str(w, "last_seen", f->last_seen, true);
	key(w, "deferred");
	buf_append_str(w->b, f->deferred ? "true" : "false");
	buf_append_char(w->b, ',');
	str(w, "origin", f->origin, false); /* the object:line of a file target, or null */
	buf_append_char(w->b, '}');
	return report_flush(w->r, false);
}

static bool
write_problem(void *ctx, const struct file_problem *p)
{
	struct part_ctx *c = ctx;
	struct jw *w = c->w;
	buf_append_str(w->b, c->n++ ? ",\n{" : "\n{");
	str(w, "table", p->table, true);
	str(w, "side", p->side, true);
	str(w, "object", p->object, true);
	num(w, "line", p->line, true);
	str(w, "reason", p->reason, false);
	buf_append_char(w->b, '}');
	return report_flush(w->r, false);
}

bool
report_write_json(struct report *r)
{
	struct jw w = {r, &r->b, 0};
	buf_append_char(w.b, '{');
	num(&w, "schema_version", REPORT_SCHEMA_VERSION, true);
	buf_append_str(w.b, "\"generator\":{\"name\":\"crosscheck\",");
	str(&w, "version", r->version, false);
	buf_append_str(w.b, "},");
	str(&w, "generated_at", r->generated_at, true);
	buf_append_char(w.b, '\n');
	write_run(&w, &r->run);
	write_summary(&w, &r->run);
	write_history(&w);
	if (!write_tables(&w))
		return false;
	buf_append_str(w.b, "\"failures\":[");
	struct part_ctx fc = {&w, 0};
	struct failure_filter flt = {.run = r->run.id};
	if (!store_list_failures_by_key(r->st, &flt, write_failure, &fc) || r->failed)
		return false;
	buf_append_str(w.b, "],\n\"file_problems\":[");
	struct part_ctx pc = {&w, 0};
	if (!store_list_file_problems(r->st, r->run.id, NULL, write_problem, &pc) || r->failed)
		return false;
	buf_append_str(w.b, "]}\n");
	if (w.bad_json > 0)
		log_warn("report: %lld stored value%s not JSON; written as null", (long long) w.bad_json,
			 w.bad_json == 1 ? " was" : "s were");
	return true;
}
