/*
 * recover/recover.c: gathering a run's confirmed failures and a checkpoint, choosing the
 * checkpoint (and saying why), and writing a format's files into a folder that appears
 * whole or not at all.
 */
#include "recover/recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/row.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"

static const char *format_names[] = {
	[RECOVER_DMS] = "dms",
	[RECOVER_MYSQL_REPLICA] = "mysql-replica",
	[RECOVER_DEBEZIUM] = "debezium",
	[RECOVER_SQL] = "sql",
	[RECOVER_BULK] = "bulk",
	[RECOVER_S3] = "s3",
};

bool
recover_format_from_name(const char *name, enum recover_format *f)
{
	for (int i = 0; i <= RECOVER_S3; i++)
		if (strcmp(format_names[i], name) == 0) {
			*f = (enum recover_format) i;
			return true;
		}
	return false;
}

/* --- gathering ----------------------------------------------------------------------------- */

struct run_copy {
	struct recover_job *j;
	char status[32];
};

static bool
copy_run(void *ctx, const struct run_info *r)
{
	struct run_copy *c = ctx;
	snprintf(c->j->run_source, sizeof(c->j->run_source), "%s", r->source);
	snprintf(c->j->run_target, sizeof(c->j->run_target), "%s", r->target);
	c->j->options_json = xstrdup(r->options ? r->options : "{}");
	snprintf(c->status, sizeof(c->status), "%s", r->status);
	return false;
}

static bool
collect_failure(void *ctx, const struct failure_row *f)
{
	struct recover_job *j = ctx;
	struct failing_table *t = j->ntables ? &j->tables[j->ntables - 1] : NULL;
	if (t == NULL || strcmp(t->name, f->table) != 0) {
		j->tables = xrealloc(j->tables, (size_t) (j->ntables + 1) * sizeof(*j->tables));
		t = &j->tables[j->ntables++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup(f->table);
	}
	t->keys = xrealloc(t->keys, (size_t) (t->n + 1) * sizeof(*t->keys));
	struct failing_key *k = &t->keys[t->n++];
	k->id = f->id;
	k->key = xmalloc(f->keylen ? f->keylen : 1);
	memcpy(k->key, f->key, f->keylen);
	k->keylen = f->keylen;
	k->key_json = xstrdup(f->key_json);
	snprintf(k->kind, sizeof(k->kind), "%s", f->kind);
	j->nkeys++;
	return true;
}

static bool
keep_checkpoint(void *ctx, const struct checkpoint_record *r)
{
	struct checkpoint_choice *c = ctx;
	if (c->found)
		return false;
	c->found = true;
	c->id = r->id;
	snprintf(c->engine, sizeof(c->engine), "%s", r->engine);
	snprintf(c->position, sizeof(c->position), "%s", r->position);
	snprintf(c->gtid, sizeof(c->gtid), "%s", r->gtid ? r->gtid : "");
	snprintf(c->taken_at, sizeof(c->taken_at), "%s", r->taken_at);
	snprintf(c->source, sizeof(c->source), "%s", r->source);
	c->verified_by = r->verified_by;
	return false;
}

struct newest_verified {
	struct checkpoint_choice *c;
};

static bool
pick_verified(void *ctx, const struct checkpoint_record *r)
{
	struct newest_verified *n = ctx;
	if (r->verified_by == 0)
		return true; /* newest first: keep looking */
	return keep_checkpoint(n->c, r);
}

/*
 * choose_checkpoint: --checkpoint ID if given (it must be of the run's source: another
 * server's position would replay the wrong history), else the newest verified
 * checkpoint of that source. Says which and why.
 */
static bool
choose_checkpoint(struct recover_job *j)
{
	struct checkpoint_choice *c = &j->cp;
	memset(c, 0, sizeof(*c));
	if (j->o->checkpoint > 0) {
		bool found = false;
		if (!store_get_checkpoint(j->st, j->o->checkpoint, keep_checkpoint, c, &found))
			return false;
		if (!found) {
			log_error("recover: no checkpoint %lld in the store", (long long) j->o->checkpoint);
			log_hint("list them with 'crosscheck checkpoints'");
			return false;
		}
		if (strcmp(c->source, j->run_source) != 0) {
			log_error("recover: checkpoint %lld was taken on %s, not on run %lld's source %s",
				  (long long) c->id, c->source, (long long) j->o->run, j->run_source);
			return false;
		}
		log_notice("using checkpoint %lld (%s %s, taken %s): chosen with --checkpoint%s",
			   (long long) c->id, c->engine, c->position, c->taken_at,
			   c->verified_by ? "" : "; it is NOT verified by a clean audit");
		return true;
	}
	struct newest_verified n = {c};
	if (!store_list_checkpoint_records(j->st, j->run_source, pick_verified, &n))
		return false;
	if (!c->found) {
		log_error("recover: no verified checkpoint for %s", j->run_source);
		log_hint("a checkpoint is verified by a clean audit that started after it; or name one "
			 "with --checkpoint ID (see 'crosscheck checkpoints')");
		return false;
	}
	log_notice("using checkpoint %lld (%s %s, taken %s): the newest one verified by a clean "
		   "audit (run %lld)",
		   (long long) c->id, c->engine, c->position, c->taken_at, (long long) c->verified_by);
	return true;
}

/* --- output folder ------------------------------------------------------------------------ */

bool
recover_write_file(struct recover_job *j, const char *name, const char *text, size_t len)
{
	struct buf path;
	buf_init(&path);
	buf_printf(&path, "%s/%s", j->dir, name);
	bool ok = false;
	int fd = open(buf_cstr(&path), O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		log_error("recover: cannot create %s: %s", buf_cstr(&path), strerror(errno));
		goto done;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			log_error("recover: cannot write %s: %s", buf_cstr(&path), strerror(errno));
			close(fd);
			goto done;
		}
		off += (size_t) w;
	}
	ok = fsync(fd) == 0 && close(fd) == 0;
	if (!ok)
		log_error("recover: cannot write %s: %s", buf_cstr(&path), strerror(errno));
done:
	buf_free(&path);
	return ok;
}

static void
remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			struct buf p;
			buf_init(&p);
			buf_printf(&p, "%s/%s", dir, e->d_name);
			unlink(buf_cstr(&p));
			buf_free(&p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* dir_is_empty_or_absent: the output folder must not hold earlier files we would mix with */
static bool
check_out_dir(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return errno == ENOENT;
	if (!S_ISDIR(sb.st_mode)) {
		log_error("recover: --out %s exists and is not a folder", dir);
		return false;
	}
	DIR *d = opendir(dir);
	if (d == NULL) {
		log_error("recover: cannot read --out %s: %s", dir, strerror(errno));
		return false;
	}
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty) {
		log_error("recover: --out %s is not empty", dir);
		log_hint("give a new folder: recovery files are written whole or not at all");
	}
	return empty;
}

bool
recover_open_session(struct recover_job *j, bool writable, struct audit_options *ao,
		     struct audit_session **s)
{
	const char *src = j->o->source_uri ? j->o->source_uri : j->run_source;
	const char *tgt = j->o->target_uri ? j->o->target_uri : j->run_target;
	return audit_options_from_json(j->options_json, src, tgt, ao) &&
	       audit_session_open(ao, writable, s);
}

int
key_values(const char *key, size_t keylen, const char **vals, size_t *lens, int *types, int max)
{
	const char *p = key, *end = key + keylen;
	int n = 0;
	enum canon_type t;
	const char *v;
	size_t len;
	while (n < max && keyframe_next(&p, end, &t, &v, &len)) {
		vals[n] = v;
		lens[n] = len;
		types[n] = (int) t;
		n++;
	}
	return n;
}

void
recover_job_free(struct recover_job *j)
{
	for (int t = 0; t < j->ntables; t++) {
		for (int k = 0; k < j->tables[t].n; k++) {
			free(j->tables[t].keys[k].key);
			free(j->tables[t].keys[k].key_json);
		}
		free(j->tables[t].keys);
		free(j->tables[t].name);
	}
	free(j->tables);
	free(j->options_json);
	free(j->dir);
	buf_free(&j->runbook);
}

/* recover_gather_job loads the run and its confirmed failures; shared with repair. */
bool
recover_gather_job(struct recover_job *j)
{
	struct run_copy rc = {j, ""};
	bool found = false;
	if (!store_get_run(j->st, j->o->run, copy_run, &rc, &found))
		return false;
	if (!found) {
		log_error("no run %lld in the store", (long long) j->o->run);
		log_hint("list runs with 'crosscheck runs'");
		return false;
	}
	struct failure_filter f = {.run = j->o->run, .state = "confirmed"};
	if (!store_list_failures(j->st, &f, collect_failure, j))
		return false;
	if (j->nkeys == 0) {
		log_error("run %lld has no confirmed failures: nothing to recover", (long long) j->o->run);
		if (strcmp(rc.status, "done") != 0)
			log_hint("the run is %s; finish it with 'crosscheck audit ... --resume %lld'",
				 rc.status, (long long) j->o->run);
		return false;
	}
	return true;
}

bool
recover_write(const struct recover_options *o, struct store *st)
{
	struct recover_job j;
	memset(&j, 0, sizeof(j));
	j.o = o;
	j.st = st;
	buf_init(&j.runbook);
	bool ok = false;
	if (!recover_gather_job(&j))
		goto done;
	bool needs_checkpoint = o->format == RECOVER_DMS || o->format == RECOVER_MYSQL_REPLICA;
	if (needs_checkpoint && !choose_checkpoint(&j))
		goto done;
	if (!check_out_dir(o->out_dir))
		goto done;
	/* a sibling temporary folder, renamed into place only when complete */
	struct buf tmp;
	buf_init(&tmp);
	buf_printf(&tmp, "%s.tmp-%d", o->out_dir, (int) getpid());
	j.dir = buf_steal(&tmp);
	if (mkdir(j.dir, 0755) != 0) {
		log_error("recover: cannot create %s: %s", j.dir, strerror(errno));
		free(j.dir);
		j.dir = NULL;
		goto done;
	}
	buf_printf(&j.runbook, "# Recovery runbook: run %lld, format %s\n\n", (long long) o->run,
		   format_names[o->format]);
	buf_printf(&j.runbook,
		   "Generated by crosscheck from run %lld: %lld confirmed failing key%s in %d "
		   "table%s.\n\n- source: `%s`\n- target: `%s`\n",
		   (long long) o->run, (long long) j.nkeys, j.nkeys == 1 ? "" : "s", j.ntables,
		   j.ntables == 1 ? "" : "s", j.run_source, j.run_target);
	if (needs_checkpoint)
		buf_printf(&j.runbook, "- checkpoint %lld: %s `%s`%s%s, taken %s, %s\n",
			   (long long) j.cp.id, j.cp.engine, j.cp.position, j.cp.gtid[0] ? ", GTID " : "",
			   j.cp.gtid, j.cp.taken_at,
			   j.cp.verified_by ? "verified by a clean audit" : "NOT verified");
	buf_append_str(&j.runbook, "\n");
	switch (o->format) {
	case RECOVER_DMS: ok = recover_dms(&j); break;
	case RECOVER_MYSQL_REPLICA: ok = recover_mysql_replica(&j); break;
	case RECOVER_DEBEZIUM: ok = recover_debezium(&j); break;
	case RECOVER_SQL: ok = recover_sql(&j, "repair.sql"); break;
	case RECOVER_BULK: ok = recover_bulk(&j); break;
	case RECOVER_S3: ok = recover_s3(&j); break;
	}
	ok = ok && recover_write_file(&j, "RUNBOOK.md", j.runbook.data, j.runbook.len);
	if (ok) {
		rmdir(o->out_dir); /* empty if it exists (checked above) */
		if (rename(j.dir, o->out_dir) != 0) {
			log_error("recover: cannot move %s to %s: %s", j.dir, o->out_dir, strerror(errno));
			ok = false;
		}
	}
	if (!ok)
		remove_tree(j.dir);
	else
		log_notice("wrote %s (see %s/RUNBOOK.md)", o->out_dir, o->out_dir);
done:
	recover_job_free(&j);
	return ok;
}
