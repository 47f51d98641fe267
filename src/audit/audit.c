/*
 * audit/audit.c: running an audit from plan to verdict.
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

volatile sig_atomic_t audit_interrupted = 0;

#define PARTITION_ATTEMPTS 3

static const char *verdict_names[] = {
	[AUDIT_CONSISTENT] = "consistent",
	[AUDIT_PENDING] = "pending",
	[AUDIT_DIFFERENCES] = "differences",
	[AUDIT_ERROR] = "error",
};

const char *
audit_verdict_name(enum audit_verdict v)
{
	return verdict_names[v];
}

void
audit_options_init(struct audit_options *o)
{
	memset(o, 0, sizeof(*o));
	o->partition_rows = 100000;
	o->jobs = 2;
	o->recheck_delay = 30;
	o->recheck_attempts = 3;
	o->frac_digits = 6;
	o->statement_timeout_ms = 0;
	o->kind = "audit";
}

void
audit_options_free(struct audit_options *o)
{
	for (int i = 0; i < o->ntables; i++) {
		free(o->tables[i].source);
		free(o->tables[i].target);
	}
	free(o->tables);
	for (int i = 0; i < o->nmaps; i++) {
		free(o->maps[i].source);
		free(o->maps[i].target);
	}
	free(o->maps);
	strlist_free(&o->key);
	strlist_free(&o->columns);
	strlist_free(&o->exclude);
	memset(o, 0, sizeof(*o));
}

static void
json_strlist(struct buf *b, const struct strlist *l)
{
	buf_append_char(b, '[');
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_append_char(b, ',');
		buf_append_json_string(b, l->items[i], strlen(l->items[i]));
	}
	buf_append_char(b, ']');
}

/*
 * options_json records what shaped the results (never a secret: URIs are redacted by
 * the caller). The fingerprint is a hash of the endpoints and this text: a resume must
 * see the same ones.
 */
static char *
options_json(const struct audit_options *o)
{
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "{\"tables\":[");
	for (int i = 0; i < o->ntables; i++) {
		if (i)
			buf_append_char(&b, ',');
		buf_append_str(&b, "{\"source\":");
		buf_append_json_string(&b, o->tables[i].source, strlen(o->tables[i].source));
		buf_append_str(&b, ",\"target\":");
		const char *t = o->tables[i].target ? o->tables[i].target : o->tables[i].source;
		buf_append_json_string(&b, t, strlen(t));
		buf_append_char(&b, '}');
	}
	buf_append_str(&b, "],\"key\":");
	json_strlist(&b, &o->key);
	buf_append_str(&b, ",\"columns\":");
	json_strlist(&b, &o->columns);
	buf_append_str(&b, ",\"exclude_columns\":");
	json_strlist(&b, &o->exclude);
	buf_append_str(&b, ",\"map\":{");
	for (int i = 0; i < o->nmaps; i++) {
		if (i)
			buf_append_char(&b, ',');
		buf_append_json_string(&b, o->maps[i].source, strlen(o->maps[i].source));
		buf_append_char(&b, ':');
		buf_append_json_string(&b, o->maps[i].target, strlen(o->maps[i].target));
	}
	buf_printf(&b,
		   "},\"partition_rows\":%lld,\"jobs\":%d,\"recheck_delay_s\":%g,"
		   "\"recheck_attempts\":%d,\"float_digits\":%d,\"frac_digits\":%d,"
		   "\"zone_offset_s\":%d,\"casefold\":%s}",
		   (long long) o->partition_rows, o->jobs, o->recheck_delay, o->recheck_attempts,
		   o->float_digits, o->frac_digits, o->zone_offset_sec, o->casefold ? "true" : "false");
	return buf_steal(&b);
}

/* --- the worker pool ---------------------------------------------------------------------- */

struct task {
	int table;
	int part;
};

struct pool {
	const struct audit_options *o;
	struct store *st;
	int64_t run;
	struct table_plan *tables;
	struct task *tasks;
	int ntasks;
	pthread_mutex_t mu;
	int next;	  /* next task to hand out */
	int done;	  /* tasks finished (ok or not) */
	int failed;
	int64_t rows;	  /* source + target rows read, for progress */
};

static bool
take_task(struct pool *p, struct task *t)
{
	pthread_mutex_lock(&p->mu);
	bool ok = p->next < p->ntasks && !audit_interrupted;
	if (ok)
		*t = p->tasks[p->next++];
	pthread_mutex_unlock(&p->mu);
	return ok;
}

static bool
open_pair(const struct audit_options *o, struct endpoint **src, struct endpoint **tgt)
{
	struct endpoint_options so = {"source", o->statement_timeout_ms, 10, false};
	struct endpoint_options to = {"target", o->statement_timeout_ms, 10, false};
	*src = *tgt = NULL;
	if (endpoint_open(o->source_uri, &so, src) && endpoint_open(o->target_uri, &to, tgt))
		return true;
	endpoint_close(*src);
	endpoint_close(*tgt);
	*src = *tgt = NULL;
	return false;
}

/*
 * worker_main: each worker owns one source and one target connection. A partition whose
 * read fails is retried on fresh connections, with a growing pause, before it is
 * recorded as errored; the other partitions go on either way.
 */
static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	struct endpoint *src = NULL, *tgt = NULL;
	struct task t;
	while (take_task(p, &t)) {
		struct table_plan *tp = &p->tables[t.table];
		bool ok = false;
		for (int attempt = 1; attempt <= PARTITION_ATTEMPTS && !ok && !audit_interrupted; attempt++) {
			if (src == NULL && !open_pair(p->o, &src, &tgt)) {
				struct timespec ts = {attempt, 0};
				nanosleep(&ts, NULL);
				continue;
			}
			struct partition_outcome r = partition_audit(p->st, p->run, tp, t.part, src, tgt, attempt);
			ok = r.ok;
			if (!ok && !r.connection_lost)
				break;
			if (!ok) {
				endpoint_close(src);
				endpoint_close(tgt);
				src = tgt = NULL;
				if (attempt < PARTITION_ATTEMPTS)
					log_warn("%s: partition %d failed; retrying on new connections", tp->name, t.part);
			}
		}
		pthread_mutex_lock(&p->mu);
		p->done++;
		p->failed += !ok;
		pthread_mutex_unlock(&p->mu);
		if (!ok) {
			pthread_mutex_lock(&tp->mu);
			tp->parts_failed++;
			pthread_mutex_unlock(&tp->mu);
		}
	}
	endpoint_close(src);
	endpoint_close(tgt);
	return NULL;
}

static void
draw_progress(struct pool *p, double t0)
{
	int64_t rows = 0;
	for (int i = 0; i < p->o->ntables; i++) {
		pthread_mutex_lock(&p->tables[i].mu);
		rows += p->tables[i].source_rows;
		pthread_mutex_unlock(&p->tables[i].mu);
	}
	pthread_mutex_lock(&p->mu);
	int done = p->done, total = p->ntasks;
	pthread_mutex_unlock(&p->mu);
	double el = time_monotonic() - t0;
	double rate = el > 0 ? (double) rows / el : 0;
	double eta = done > 0 ? el * (double) (total - done) / done : 0;
	char line[320];
	snprintf(line, sizeof(line), "partitions %d/%d  rows %lld  %lld rows/s  eta %llds", done,
		 total, (long long) rows, (long long) rate, (long long) eta);
	log_progress_line(line);
}

static bool
run_pool(const struct audit_options *o, struct store *st, int64_t run, struct table_plan *tables)
{
	struct pool p;
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.st = st;
	p.run = run;
	p.tables = tables;
	pthread_mutex_init(&p.mu, NULL);
	for (int i = 0; i < o->ntables; i++)
		p.ntasks += tables[i].plan.n;
	p.tasks = xcalloc((size_t) p.ntasks, sizeof(struct task));
	int k = 0;
	for (int i = 0; i < o->ntables; i++)
		for (int j = 0; j < tables[i].plan.n; j++)
			p.tasks[k++] = (struct task){i, j};

	int jobs = o->jobs > 0 ? o->jobs : 1;
	if (jobs > p.ntasks)
		jobs = p.ntasks > 0 ? p.ntasks : 1;
	pthread_t *th = xcalloc((size_t) jobs, sizeof(pthread_t));
	int started = 0;
	for (int i = 0; i < jobs; i++)
		if (pthread_create(&th[i], NULL, worker_main, &p) == 0)
			started++;
	if (started == 0)
		log_error("cannot start worker threads");
	double t0 = time_monotonic();
	for (;;) {
		pthread_mutex_lock(&p.mu);
		bool finished = p.done == p.ntasks || (audit_interrupted && p.done == p.next);
		pthread_mutex_unlock(&p.mu);
		if (finished || started == 0)
			break;
		if (o->progress)
			draw_progress(&p, t0);
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (o->progress)
		log_progress_end();
	bool ok = started > 0 && p.failed == 0 && !audit_interrupted;
	free(th);
	free(p.tasks);
	pthread_mutex_destroy(&p.mu);
	return ok;
}

/* --- finishing -------------------------------------------------------------------------- */

static int64_t
count_state(struct store *st, int64_t run, const char *table, const char *state,
	    const char *kind)
{
	struct failure_filter f = {.run = run, .table = table, .state = state, .kind = kind};
	int64_t n = 0;
	store_count_failures(st, &f, &n);
	return n;
}

/*
 * finish_table records a table's totals and its DMS-style state: the counts of
 * differences are those still open after the rechecks (pending or confirmed), so a
 * difference resolved as lag does not count.
 */
static enum audit_verdict
finish_table(struct store *st, int64_t run, struct table_plan *tp, bool planned)
{
	enum audit_verdict v;
	struct table_result r = {
		.table = tp->name,
		.target_table = tp->target_name ? tp->target_name : "",
		.partitions = tp->plan.n,
		.source_rows = tp->source_rows,
		.target_rows = tp->target_rows,
		.matched = tp->matched,
		.elapsed_s = tp->elapsed_s,
		.error = tp->error,
	};
	struct buf keys, cols;
	buf_init(&keys);
	buf_init(&cols);
	if (tp->ncols > 0) {
		audit_columns_json(tp, tp->keys, tp->nkeys, &keys);
		audit_columns_json(tp, NULL, tp->ncols, &cols);
		r.key_columns = buf_cstr(&keys);
		r.columns = buf_cstr(&cols);
	}
	for (int k = 0; k < 3; k++) {
		static const char *kinds[] = {"MISSING_TARGET", "MISSING_SOURCE", "RECORD_DIFF"};
		int64_t n = count_state(st, run, tp->name, "confirmed", kinds[k]) +
			    count_state(st, run, tp->name, "pending", kinds[k]);
		if (k == 0)
			r.missing_target = n;
		else if (k == 1)
			r.missing_source = n;
		else
			r.record_diff = n;
	}
	int64_t confirmed = count_state(st, run, tp->name, "confirmed", NULL);
	int64_t pending = count_state(st, run, tp->name, "pending", NULL);
	if (!planned || tp->parts_failed > 0 || tp->parts_done < tp->plan.n) {
		r.status = "error";
		r.state = "Table error";
		v = AUDIT_ERROR;
	} else if (confirmed > 0) {
		r.status = "done";
		r.state = "Mismatched records";
		v = AUDIT_DIFFERENCES;
	} else if (pending > 0) {
		r.status = "done";
		r.state = "Pending records";
		v = AUDIT_PENDING;
	} else {
		r.status = "done";
		r.state = "Validated";
		v = AUDIT_CONSISTENT;
	}
	if (r.error == NULL && v == AUDIT_ERROR)
		r.error = tp->parts_failed > 0 ? "partitions failed" : "interrupted";
	store_table_put(st, run, &r);
	buf_free(&keys);
	buf_free(&cols);
	return v;
}

static char *
fingerprint(const char *src, const char *tgt, const char *options)
{
	struct buf b;
	buf_init(&b);
	buf_append(&b, src, strlen(src) + 1);
	buf_append(&b, tgt, strlen(tgt) + 1);
	buf_append(&b, options, strlen(options) + 1);
	char *out = xmalloc(33);
	hash128_hex(b.data, b.len, out);
	buf_free(&b);
	return out;
}

bool
audit_run(const struct audit_options *o, struct store *st, int64_t *run_id,
	  enum audit_verdict *verdict)
{
	struct endpoint *src = NULL, *tgt = NULL;
	struct table_plan *tables = xcalloc((size_t) o->ntables, sizeof(struct table_plan));
	char *shown_src = uri_redact(o->source_uri);
	char *shown_tgt = uri_redact(o->target_uri);
	char *opts = options_json(o);
	char *fp = fingerprint(shown_src, shown_tgt, opts);
	bool started = false;
	*verdict = AUDIT_ERROR;
	*run_id = 0;

	/* connect and describe before recording anything: bad input leaves no trace */
	if (!open_pair(o, &src, &tgt))
		goto cleanup;
	int built = 0;
	for (int i = 0; i < o->ntables; i++, built++)
		if (!table_plan_build(o, &o->tables[i], src, tgt, &tables[i])) {
			built++;
			goto cleanup_tables;
		}

	if (o->ntables > 1 && !audit_check_names(o, tables, o->ntables))
		goto cleanup_tables;
	if (!store_run_begin(st, o->kind, shown_src, shown_tgt, opts, fp, run_id))
		goto cleanup_tables;
	started = true;
	log_info("run %lld: auditing %d table%s", (long long) *run_id, o->ntables, o->ntables == 1 ? "" : "s");

	bool planned_all = true;
	bool *planned = xcalloc((size_t) o->ntables, sizeof(bool));
	for (int i = 0; i < o->ntables && !audit_interrupted; i++) {
		struct table_plan *tp = &tables[i];
		planned[i] = table_plan_partitions(o, tp, src, tgt);
		if (!planned[i]) {
			tp->error = xstrdup("partition planning failed");
			planned_all = false;
			continue;
		}
		struct partition_result *parts = xcalloc((size_t) tp->plan.n, sizeof(*parts));
		struct buf *bounds = xcalloc((size_t) tp->plan.n * 2, sizeof(struct buf));
		for (int j = 0; j < tp->plan.n; j++) {
			plan_bound_json(&tp->layout, tp->plan.parts[j].lo, tp->plan.parts[j].lolen, &bounds[2 * j]);
			plan_bound_json(&tp->layout, tp->plan.parts[j].hi, tp->plan.parts[j].hilen, &bounds[2 * j + 1]);
			parts[j] = (struct partition_result){
				.table = tp->name, .part_no = j,
				.lo = buf_cstr(&bounds[2 * j]), .hi = buf_cstr(&bounds[2 * j + 1]),
				.lo_key = tp->plan.parts[j].lo, .lo_len = tp->plan.parts[j].lolen,
				.hi_key = tp->plan.parts[j].hi, .hi_len = tp->plan.parts[j].hilen,
				.status = "planned",
			};
		}
		store_partition_plan(st, *run_id, parts, tp->plan.n);
		for (int j = 0; j < tp->plan.n * 2; j++)
			buf_free(&bounds[j]);
		free(bounds);
		free(parts);
		log_info("%s: %d partition%s", tp->name, tp->plan.n, tp->plan.n == 1 ? "" : "s");
	}

	double t0 = time_monotonic();
	bool pool_ok = run_pool(o, st, *run_id, tables);
	double elapsed = time_monotonic() - t0;
	for (int i = 0; i < o->ntables; i++)
		tables[i].elapsed_s = elapsed;

	bool recheck_ok = !audit_interrupted &&
			  audit_recheck(o, st, *run_id, tables, o->ntables, src, tgt);

	enum audit_verdict v = AUDIT_CONSISTENT;
	for (int i = 0; i < o->ntables; i++) {
		enum audit_verdict tv = finish_table(st, *run_id, &tables[i], planned[i]);
		if (tv > v)
			v = tv;
	}
	if (!pool_ok || !planned_all || !recheck_ok)
		v = AUDIT_ERROR;
	free(planned);
	*verdict = v;
	store_run_finish(st, *run_id,
			 audit_interrupted ? "interrupted" : v == AUDIT_ERROR ? "failed" : "done",
			 verdict_names[v], v == AUDIT_ERROR ? 2 : v == AUDIT_DIFFERENCES ? 1 : 0);

cleanup_tables:
	for (int i = 0; i < built; i++)
		table_plan_free(&tables[i]);
cleanup:
	endpoint_close(src);
	endpoint_close(tgt);
	free(tables);
	free(shown_src);
	free(shown_tgt);
	free(opts);
	free(fp);
	return started;
}
