/*
 * audit/pool.c: the worker pool that audits partitions, and the limits that keep an
 * audit from hurting the systems it watches.
 *
 * Each worker owns one source and one target connection and takes partitions from a
 * shared list. A partition whose read fails is retried on fresh connections with a
 * growing pause before it is recorded as errored; the others go on. Workers share a
 * row-rate pacer (--max-rows-per-second) and, before each partition, consult the
 * replica-lag guard (--max-replica-lag): while the replica is further behind than the
 * bound, the audit pauses instead of adding load and judging stale rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit_internal.h"
#include "util/log.h"
#include "util/str.h"

#define PARTITION_ATTEMPTS 3
#define LAG_CHECK_INTERVAL 2.0 /* seconds between two reads of the replication lag */

static void
sleep_seconds(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t) s, (long) ((s - (double) (time_t) s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* --- row-rate pacing ------------------------------------------------------------------- */

void
pacer_init(struct pacer *p, double rows_per_second)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	p->rate = rows_per_second;
	p->next = time_monotonic();
}

void
pacer_free(struct pacer *p)
{
	pthread_mutex_destroy(&p->mu);
}

/*
 * pacer_take accounts for n rows and sleeps until the shared schedule allows them: the
 * schedule advances by n/rate per call, so all workers together stay at the rate.
 */
void
pacer_take(struct pacer *p, int64_t n)
{
	if (p == NULL || p->rate <= 0 || n <= 0)
		return;
	pthread_mutex_lock(&p->mu);
	double now = time_monotonic();
	if (p->next < now - 1.0)
		p->next = now - 1.0; /* no burst credit beyond one second of idleness */
	p->next += (double) n / p->rate;
	double wait = p->next - now;
	pthread_mutex_unlock(&p->mu);
	while (wait > 0 && !audit_interrupted) {
		double step = wait > 0.2 ? 0.2 : wait;
		sleep_seconds(step);
		wait -= step;
	}
}

/* --- replica lag guard ---------------------------------------------------------------------- */

/*
 * lag_read asks the target first (a MariaDB replica, a PostgreSQL standby or subscriber),
 * then the source (a PostgreSQL primary knows its walsenders' replay lag).
 */
static bool
lag_read(const struct audit_options *o, struct endpoint *src, struct endpoint *tgt,
	 double *lag, bool *known)
{
	*known = false;
	if (tgt->ops->replication_lag &&
	    !tgt->ops->replication_lag(tgt, o->lag_query, lag, known))
		return false;
	if (!*known && o->lag_query == NULL && src->ops->replication_lag &&
	    !src->ops->replication_lag(src, NULL, lag, known))
		return false;
	return true;
}

bool
lag_guard_check(const struct audit_options *o, struct endpoint *src, struct endpoint *tgt)
{
	double lag = 0;
	bool known = false;
	if (!lag_read(o, src, tgt, &lag, &known))
		return false;
	if (!known) {
		log_error("--max-replica-lag: neither endpoint reports a replication lag");
		log_hint("give a query that returns the lag in seconds with --lag-query");
		return false;
	}
	return true;
}

/*
 * lag_guard_wait pauses while the lag is over the bound. The lag is read at most every
 * LAG_CHECK_INTERVAL by all workers together; the pause is logged when it starts and
 * when it ends, so an operator sees why an audit is slow.
 */
static void
lag_guard_wait(struct pool *p, struct endpoint *src, struct endpoint *tgt)
{
	const struct audit_options *o = p->o;
	if (o->max_replica_lag <= 0)
		return;
	bool paused = false;
	while (!audit_interrupted) {
		pthread_mutex_lock(&p->mu);
		double now = time_monotonic();
		bool read_now = now - p->lag_read_at >= LAG_CHECK_INTERVAL;
		if (read_now)
			p->lag_read_at = now;
		double lag = p->lag;
		pthread_mutex_unlock(&p->mu);
		if (read_now) {
			bool known = false;
			if (!lag_read(o, src, tgt, &lag, &known) || !known)
				lag = 0; /* an unreadable lag must not stall the audit forever */
			pthread_mutex_lock(&p->mu);
			p->lag = lag;
			pthread_mutex_unlock(&p->mu);
		}
		if (lag <= o->max_replica_lag)
			break;
		if (!paused)
			log_notice("paused: replication lag %.1fs is over --max-replica-lag %.1fs", lag,
				   o->max_replica_lag);
		paused = true;
		sleep_seconds(LAG_CHECK_INTERVAL / 2);
	}
	if (paused)
		log_notice("resumed: replication lag is back under %.1fs", o->max_replica_lag);
}

/* --- workers ---------------------------------------------------------------------------------- */

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

bool
audit_open_pair(const struct audit_options *o, struct endpoint **src, struct endpoint **tgt)
{
	struct endpoint_options so = {"source", o->statement_timeout_ms, 10, false, o->source_password};
	struct endpoint_options to = {"target", o->statement_timeout_ms, 10, false, o->target_password};
	*src = *tgt = NULL;
	if (endpoint_open(o->source_uri, &so, src) && endpoint_open(o->target_uri, &to, tgt))
		return true;
	endpoint_close(*src);
	endpoint_close(*tgt);
	*src = *tgt = NULL;
	return false;
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	struct endpoint *src = NULL, *tgt = NULL;
	struct task t;
	while (take_task(p, &t)) {
		struct table_plan *tp = &p->tables[t.table];
		bool ok = false;
		for (int attempt = 1; attempt <= PARTITION_ATTEMPTS && !ok && !audit_interrupted;
		     attempt++) {
			if (src == NULL && !audit_open_pair(p->o, &src, &tgt)) {
				sleep_seconds(attempt);
				continue;
			}
			lag_guard_wait(p, src, tgt);
			struct partition_outcome r =
				partition_audit(p->st, p->run, tp, t.part, src, tgt, attempt, p);
			ok = r.ok;
			if (!ok && !r.connection_lost)
				break;
			if (!ok) {
				endpoint_close(src);
				endpoint_close(tgt);
				src = tgt = NULL;
				if (attempt < PARTITION_ATTEMPTS) {
					log_warn("%s: partition %d failed; retrying on new connections",
						 tp->name, t.part);
					sleep_seconds(attempt);
				}
			}
		}
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_cond_signal(&p->done_cv);
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
draw_progress(struct pool *p, double t0, int64_t rows0)
{
	int64_t rows = 0, diffs = 0;
	for (int i = 0; i < p->ntables; i++) {
		pthread_mutex_lock(&p->tables[i].mu);
		rows += p->tables[i].source_rows;
		diffs += p->tables[i].missing_target + p->tables[i].missing_source +
			 p->tables[i].record_diff;
		pthread_mutex_unlock(&p->tables[i].mu);
	}
	pthread_mutex_lock(&p->mu);
	int done = p->done, total = p->ntasks;
	pthread_mutex_unlock(&p->mu);
	double el = time_monotonic() - t0;
	double rate = el > 0 ? (double) (rows - rows0) / el : 0;
	double eta = done > 0 ? el * (double) (total - done) / done : 0;
	char line[320];
	snprintf(line, sizeof(line),
		 "%d table%s  partitions %d/%d  rows %lld  %lld rows/s  pending %lld  eta %llds",
		 p->ntables, p->ntables == 1 ? "" : "s", done, total, (long long) rows,
		 (long long) rate, (long long) diffs, (long long) eta);
	log_progress_line(line);
}

bool
audit_run_pool(const struct audit_options *o, struct store *st, int64_t run,
	       struct table_plan *tables, int ntables)
{
	struct pool p;
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.st = st;
	p.run = run;
	p.tables = tables;
	p.ntables = ntables;
	p.lag_read_at = -LAG_CHECK_INTERVAL;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.done_cv, NULL);
	pacer_init(&p.pacer, o->max_rows_per_second);
	for (int i = 0; i < ntables; i++)
		p.ntasks += tables[i].plan.n;
	p.tasks = xcalloc((size_t) p.ntasks + 1, sizeof(struct task));
	int k = 0;
	int64_t rows0 = 0;
	for (int i = 0; i < ntables; i++) {
		rows0 += tables[i].source_rows;
		for (int j = 0; j < tables[i].plan.n; j++)
			if (tables[i].part_done == NULL || !tables[i].part_done[j])
				p.tasks[k++] = (struct task){i, j};
	}
	p.ntasks = k; /* a resumed run skips what it committed */

	int jobs = o->jobs > 0 ? o->jobs : 1;
	if (jobs > p.ntasks)
		jobs = p.ntasks > 0 ? p.ntasks : 1;
	pthread_t *th = xcalloc((size_t) jobs, sizeof(pthread_t));
	int started = 0;
	for (int i = 0; i < jobs && p.ntasks > 0; i++)
		if (pthread_create(&th[started], NULL, worker_main, &p) == 0)
			started++;
	if (started == 0 && p.ntasks > 0)
		log_error("cannot start worker threads");
	/*
	 * The workers end on their own (no task left, or interrupted), so joining them is the
	 * wait; with a progress line the main thread redraws it until then, woken by each
	 * finished task or every 0.2 s, never sleeping past the end.
	 */
	double t0 = time_monotonic();
	while (o->progress && started > 0) {
		pthread_mutex_lock(&p.mu);
		bool finished = p.done == p.ntasks || (audit_interrupted && p.done == p.next);
		if (!finished) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p.done_cv, &p.mu, &until);
		}
		pthread_mutex_unlock(&p.mu);
		if (finished)
			break;
		draw_progress(&p, t0, rows0);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (o->progress)
		log_progress_end();
	bool ok = (started > 0 || p.ntasks == 0) && p.failed == 0 && !audit_interrupted;
	free(th);
	free(p.tasks);
	pacer_free(&p.pacer);
	pthread_cond_destroy(&p.done_cv);
	pthread_mutex_destroy(&p.mu);
	return ok;
}
