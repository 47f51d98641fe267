/*
 * report/report.c: loading a run (and its history) from the store into the model that
 * every format writes from, and the buffered writer they share.
 *
 * The model holds what is small — the run, its tables, counts by kind and state, the
 * history's totals. What grows with the data (partitions, failures) is streamed from the
 * store by each writer, so memory stays flat however many failures a run has.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

#ifndef CROSSCHECK_VERSION
#define CROSSCHECK_VERSION "dev"
#endif

const char *const report_kinds[NKINDS] = {"MISSING_TARGET", "MISSING_SOURCE", "RECORD_DIFF"};
const char *const report_kind_labels[NKINDS] = {"missing on target", "extra on target",
						"different columns"};
const char *const report_fstates[NFSTATES] = {"pending", "confirmed", "resolved", "repaired"};
const char *const report_table_states[NTABLE_STATES] = {
	"Validated", "Mismatched records", "Pending records", "No primary key", "Table error"};

int
report_kind_index(const char *kind)
{
	for (int i = 0; kind && i < NKINDS; i++)
		if (strcmp(kind, report_kinds[i]) == 0)
			return i;
	return -1;
}

int
report_fstate_index(const char *state)
{
	for (int i = 0; state && i < NFSTATES; i++)
		if (strcmp(state, report_fstates[i]) == 0)
			return i;
	return -1;
}

bool
report_format_from_name(const char *name, enum report_format *out)
{
	static const struct {
		const char *name;
		enum report_format f;
	} names[] = {{"json", REPORT_JSON},
		     {"html", REPORT_HTML},
		     {"junit", REPORT_JUNIT},
		     {"prometheus", REPORT_PROMETHEUS}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].f;
			return true;
		}
	return false;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* --- loading ---------------------------------------------------------------------------- */

static bool
copy_run(void *ctx, const struct run_info *ri)
{
	struct report_run *r = ctx;
	r->id = ri->id;
	r->kind = dup_or_null(ri->kind);
	r->started_at = dup_or_null(ri->started_at);
	r->finished_at = dup_or_null(ri->finished_at);
	r->status = dup_or_null(ri->status);
	r->verdict = dup_or_null(ri->verdict);
	/* stored redacted; redacted again so that no report can ever show a password */
	r->source = ri->source ? uri_redact(ri->source) : NULL;
	r->target = ri->target ? uri_redact(ri->target) : NULL;
	r->options = dup_or_null(ri->options);
	r->fingerprint = dup_or_null(ri->fingerprint);
	r->exit_code = ri->exit_code;
	return false;
}

static bool
copy_table(void *ctx, const struct table_result *t)
{
	struct report_run *r = ctx;
	r->tables = xrealloc(r->tables, (size_t) (r->ntables + 1) * sizeof(*r->tables));
	struct report_table *x = &r->tables[r->ntables++];
	memset(x, 0, sizeof(*x));
	x->name = xstrdup(t->table ? t->table : "");
	x->target_table = dup_or_null(t->target_table);
	x->status = dup_or_null(t->status);
	x->state = dup_or_null(t->state);
	x->error = dup_or_null(t->error);
	x->key_columns = dup_or_null(t->key_columns);
	x->columns = dup_or_null(t->columns);
	x->partitions = t->partitions;
	x->source_rows = t->source_rows;
	x->target_rows = t->target_rows;
	x->matched = t->matched;
	x->missing_target = t->missing_target;
	x->missing_source = t->missing_source;
	x->record_diff = t->record_diff;
	x->elapsed_s = t->elapsed_s;
	return true;
}

static bool
add_count(void *ctx, const struct failure_count *c)
{
	struct report_run *r = ctx;
	int k = report_kind_index(c->kind), s = report_fstate_index(c->state);
	for (int i = 0; i < r->ntables; i++) {
		struct report_table *t = &r->tables[i];
		if (c->table == NULL || strcmp(t->name, c->table) != 0)
			continue;
		t->failures_total += c->n;
		if (k >= 0 && s >= 0)
			t->failures[k][s] += c->n;
		break;
	}
	r->failures_total += c->n;
	if (s >= 0)
		r->failures[s] += c->n;
	return true;
}

static bool
copy_checkpoint(void *ctx, const struct checkpoint_record *c)
{
	struct report_checkpoint *k = ctx;
	/* the run's latest checkpoint wins */
	free(k->engine);
	free(k->position);
	free(k->gtid);
	free(k->label);
	free(k->taken_at);
	k->present = true;
	k->id = c->id;
	k->verified_by = c->verified_by;
	k->engine = dup_or_null(c->engine);
	k->position = dup_or_null(c->position);
	k->gtid = dup_or_null(c->gtid);
	k->label = dup_or_null(c->label);
	k->taken_at = dup_or_null(c->taken_at);
	return true;
}

static void
run_free(struct report_run *r)
{
	free(r->kind);
	free(r->started_at);
	free(r->finished_at);
	free(r->status);
	free(r->verdict);
	free(r->source);
	free(r->target);
	free(r->options);
	free(r->fingerprint);
	free(r->tool_version);
	for (int i = 0; i < r->ntables; i++) {
		struct report_table *t = &r->tables[i];
		free(t->name);
		free(t->target_table);
		free(t->status);
		free(t->state);
		free(t->error);
		free(t->key_columns);
		free(t->columns);
	}
	free(r->tables);
	free(r->checkpoint.engine);
	free(r->checkpoint.position);
	free(r->checkpoint.gtid);
	free(r->checkpoint.label);
	free(r->checkpoint.taken_at);
	memset(r, 0, sizeof(*r));
}

/*
 * load_run fills r with run `id`, its tables and their totals. `full` adds what only the
 * reported run needs: failure counts by kind and state (one GROUP BY, whatever the
 * number of failures) and the checkpoint the run recorded.
 */
static bool
load_run(struct report *rep, int64_t id, bool full, struct report_run *r)
{
	bool found = false;
	memset(r, 0, sizeof(*r));
	if (!store_get_run(rep->st, id, copy_run, r, &found))
		return false;
	if (!found) {
		log_error("report: no run %lld in %s", (long long) id,
			  rep->o->store_name ? rep->o->store_name : "the store");
		log_hint("list the runs with 'crosscheck runs'");
		return false;
	}
	char version[64];
	if (!store_run_tool_version(rep->st, id, version, sizeof(version)) ||
	    !store_list_tables(rep->st, id, copy_table, r))
		return false;
	r->tool_version = xstrdup(version);
	if (full && (!store_count_failures_grouped(rep->st, id, add_count, r) ||
		     !store_run_checkpoints(rep->st, id, copy_checkpoint, &r->checkpoint)))
		return false;
	for (int i = 0; i < r->ntables; i++) {
		const struct report_table *t = &r->tables[i];
		r->source_rows += t->source_rows;
		r->target_rows += t->target_rows;
		r->matched += t->matched;
		r->partitions += t->partitions;
		r->missing_target += t->missing_target;
		r->missing_source += t->missing_source;
		r->record_diff += t->record_diff;
		for (int s = 0; t->state && s < NTABLE_STATES; s++)
			if (strcmp(t->state, report_table_states[s]) == 0)
				r->tables_in_state[s]++;
	}
	return true;
}

struct id_list {
	int64_t *ids;
	int n;
	int64_t upto; /* only runs up to this id */
};

static bool
collect_id(void *ctx, const struct run_info *ri)
{
	struct id_list *l = ctx;
	if (ri->id > l->upto)
		return true;
	l->ids = xrealloc(l->ids, (size_t) (l->n + 1) * sizeof(int64_t));
	l->ids[l->n++] = ri->id;
	return true;
}

/*
 * load_history loads the o->last newest runs up to the reported one, oldest first, for
 * the drift chart and the JSON history. The reported run is always the last entry.
 */
static bool
load_history(struct report *rep)
{
	int want = rep->o->last > 1 ? rep->o->last : 1;
	struct id_list l = {NULL, 0, rep->run.id};
	bool ok = false;
	if (want > 1) {
		/* runs newer than the reported one are skipped, so ask for enough */
		struct run_filter f = {0};
		if (!store_list_runs_filtered(rep->st, &f, collect_id, &l))
			goto cleanup;
	}
	int n = l.n < want ? l.n : want;
	if (n < 1)
		n = 1;
	rep->history = xcalloc((size_t) n, sizeof(struct report_run));
	for (int i = 0; i < n - 1; i++) {
		/* l.ids is newest first; history is oldest first, ending with the run */
		if (!load_run(rep, l.ids[n - 1 - i], false, &rep->history[i])) {
			run_free(&rep->history[i]);
			goto cleanup;
		}
		rep->nhistory++;
	}
	ok = true;
cleanup:
	free(l.ids);
	return ok;
}

/* --- output ------------------------------------------------------------------------------ */

bool
report_flush(struct report *r, bool force)
{
	if (r->b.failed) {
		log_error("report: a value is larger than the output buffer allows");
		r->failed = true;
	}
	if (r->failed)
		return false;
	if (!force && r->b.len < REPORT_FLUSH)
		return true;
	if (r->b.len > 0 && fwrite(r->b.data, 1, r->b.len, r->out) != r->b.len) {
		log_error("report: cannot write the output: %m");
		r->failed = true;
		return false;
	}
	buf_reset(&r->b);
	return true;
}

bool
report_write(struct store *st, const struct report_options *o, FILE *out)
{
	struct report r;
	memset(&r, 0, sizeof(r));
	r.st = st;
	r.o = o;
	r.out = out;
	r.version = CROSSCHECK_VERSION;
	buf_init(&r.b);
	time_now_iso(r.generated_at, sizeof(r.generated_at));
	bool ok = false, history_has_run = false;

	int64_t id = o->run;
	if (id == 0) {
		if (!store_latest_run(st, &id))
			goto cleanup;
		if (id == 0) {
			log_error("report: no runs in %s", o->store_name ? o->store_name : "the store");
			log_hint("run 'crosscheck audit' first, or name the store with --store FILE");
			goto cleanup;
		}
	}
	if (!load_run(&r, id, true, &r.run) || !load_history(&r))
		goto cleanup;
	/* the run itself closes the history (a shallow copy: freed once, as r.run) */
	r.history[r.nhistory++] = r.run;
	history_has_run = true;

	switch (o->format) {
	case REPORT_JSON: ok = report_write_json(&r); break;
	case REPORT_HTML: ok = report_write_html(&r); break;
	case REPORT_JUNIT: ok = report_write_junit(&r); break;
	case REPORT_PROMETHEUS: ok = report_write_prometheus(&r); break;
	}
	ok = ok && report_flush(&r, true);
	if (ok && fflush(out) != 0) {
		log_error("report: cannot write the output: %m");
		ok = false;
	}
cleanup:
	for (int i = 0; i < r.nhistory - (history_has_run ? 1 : 0); i++)
		run_free(&r.history[i]);
	free(r.history);
	run_free(&r.run);
	buf_free(&r.b);
	return ok;
}
