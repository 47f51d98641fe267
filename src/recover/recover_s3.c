/*
 * recover/recover_s3.c: `recover --format s3`: repairing an S3 target in the DMS layout.
 *
 * A full-load backfill into a folder that already has LOAD files does not fix what a CDC
 * file wrote later (LOAD files come first in the order DMS files are applied), and a full
 * load cannot delete. So the repair is a change file in the endpoint's own CDC format,
 * named by the current time so that it sorts after every existing file: U rows with the
 * source's current rows for the keys missing or different on the target, D rows for the
 * keys only the target has. Uploading it into the table folder makes the replayed state
 * (crosscheck's, and that of any reader applying the files in name order) equal to the
 * source. The runbook also lists the objects that wrote the failing rows (the stale
 * objects an operator should know about) and the problems found in the files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

#define BATCH 500

/* Source rows copied out of a fetch, in the target table's column order. */
struct s3_rows {
	const struct table_plan *tp;
	struct value **rows;
	int n;
};

static bool
keep_row(void *ctx, const struct value *vals)
{
	struct s3_rows *rs = ctx;
	const struct table_plan *tp = rs->tp;
	struct value *row = xcalloc((size_t) tp->tgt.ncols + 1, sizeof(*row));
	for (int i = 0; i < tp->tgt.ncols; i++)
		row[i] = (struct value){"", 0, true, false};
	for (int i = 0; i < tp->ncols; i++) {
		struct value *v = &row[tp->tgt_cols[i]];
		v->null = vals[i].null;
		if (vals[i].null)
			continue;
		char *copy = xmalloc(vals[i].len + 1);
		memcpy(copy, vals[i].data, vals[i].len);
		copy[vals[i].len] = '\0';
		v->data = copy;
		v->len = vals[i].len;
	}
	rs->rows = xrealloc(rs->rows, (size_t) (rs->n + 1) * sizeof(*rs->rows));
	rs->rows[rs->n++] = row;
	return true;
}

static void
free_rows(struct s3_rows *rs)
{
	for (int r = 0; r < rs->n; r++) {
		for (int i = 0; i < rs->tp->tgt.ncols; i++)
			if (!rs->rows[r][i].null)
				free((void *) (uintptr_t) rs->rows[r][i].data);
		free(rs->rows[r]);
	}
	free(rs->rows);
	rs->rows = NULL;
	rs->n = 0;
}

/* mkdirs creates every folder of a relative path under base (not the last component). */
static bool
mkdirs(const char *base, const char *rel)
{
	struct buf p;
	buf_init(&p);
	buf_append_str(&p, base);
	bool ok = true;
	for (const char *s = rel; ok && (s = strchr(s, '/')) != NULL; s++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%.*s", base, (int) (s - rel), rel);
		if (mkdir(buf_cstr(&p), 0755) != 0 && errno != EEXIST) {
			log_error("recover: cannot create %s: %s", buf_cstr(&p), strerror(errno));
			ok = false;
		}
	}
	buf_free(&p);
	return ok;
}

/* repair_table writes the change file of one table; *file gets its object key. */
static bool
repair_table(struct recover_job *j, struct audit_session *s, struct failing_table *ft,
	     struct table_plan *tp, struct buf *file, int *nup, int *ndel)
{
	struct endpoint *tgt = s->tgt;
	if (tgt->ops->change_file == NULL) {
		log_error("recover --format s3: the target %s is not made of files", tgt->shown_uri);
		log_hint("use --format sql for a database target, --format bulk for OpenSearch");
		return false;
	}
	/* the rows to upsert, read from the source now; the keys to delete */
	struct s3_rows rs = {tp, NULL, 0};
	const char **up = xcalloc((size_t) ft->n + 1, sizeof(char *)), **del = xcalloc((size_t) ft->n + 1, sizeof(char *));
	size_t *uplen = xcalloc((size_t) ft->n + 1, sizeof(size_t)), *dellen = xcalloc((size_t) ft->n + 1, sizeof(size_t));
	int nu = 0, nd = 0;
	for (int i = 0; i < ft->n; i++) {
		const struct failing_key *k = &ft->keys[i];
		if (strcmp(k->kind, "MISSING_SOURCE") == 0) {
			del[nd] = k->key;
			dellen[nd++] = k->keylen;
		} else {
			up[nu] = k->key;
			uplen[nu++] = k->keylen;
		}
	}
	bool ok = true;
	for (int b = 0; ok && b < nu; b += BATCH)
		ok = audit_session_fetch(s, tp, 0, up + b, uplen + b, nu - b < BATCH ? nu - b : BATCH,
					 keep_row, &rs);
	/* a key missing on the source now is deleted on the target too */
	int *all = xcalloc((size_t) tp->tgt.ncols + 1, sizeof(int));
	for (int i = 0; i < tp->tgt.ncols; i++)
		all[i] = i;
	struct scan_request r = {.table = &tp->tgt, .cols = all, .ncols = tp->tgt.ncols,
				 .key = tp->tgt_key, .nkeys = tp->nkeys};
	if (ok && tp->ncols != tp->tgt.ncols) {
		log_error("recover --format s3: %s: the run compared %d of the %d columns; a change "
			  "file must carry every column",
			  tp->name, tp->ncols, tp->tgt.ncols);
		log_hint("audit every column (no --columns/--exclude-columns), then recover that run");
		ok = false;
	}
	struct buf out;
	buf_init(&out);
	ok = ok && tgt->ops->change_file(tgt, &r, (const struct value *const *) rs.rows, rs.n, del,
					 dellen, nd, file, &out);
	if (ok) {
		struct buf local;
		buf_init(&local);
		buf_printf(&local, "objects/%s", buf_cstr(file));
		ok = mkdirs(j->dir, buf_cstr(&local)) &&
		     recover_write_file(j, buf_cstr(&local), out.data ? out.data : "", out.len);
		buf_free(&local);
	}
	*nup = rs.n;
	*ndel = nd;
	if (ok && rs.n < nu)
		log_notice("%s: %d of the failing keys are gone from the source as well; the change "
			   "file leaves them to the next audit",
			   tp->name, nu - rs.n);
	buf_free(&out);
	free_rows(&rs);
	free(up);
	free(del);
	free(uplen);
	free(dellen);
	free(all);
	return ok;
}

/* The objects that last wrote failing rows, with how many. */
struct stale {
	char **objects;
	int *counts;
	int n;
};

static bool
count_origin(void *ctx, const struct failure_row *f)
{
	struct stale *st = ctx;
	if (f->origin == NULL || strncmp(f->origin, "in none", 7) == 0)
		return true;
	const char *colon = strrchr(f->origin, ':');
	size_t n = colon ? (size_t) (colon - f->origin) : strlen(f->origin);
	for (int i = 0; i < st->n; i++)
		if (strlen(st->objects[i]) == n && strncmp(st->objects[i], f->origin, n) == 0) {
			st->counts[i]++;
			return true;
		}
	st->objects = xrealloc(st->objects, (size_t) (st->n + 1) * sizeof(char *));
	st->counts = xrealloc(st->counts, (size_t) (st->n + 1) * sizeof(int));
	st->objects[st->n] = xstrndup(f->origin, n);
	st->counts[st->n++] = 1;
	return true;
}

static bool
print_problem(void *ctx, const struct file_problem *p)
{
	struct buf *b = ctx;
	buf_printf(b, "- `%s:%lld` (%s, %s): %s\n", p->object, (long long) p->line, p->table, p->side,
		   p->reason);
	return true;
}

/* upload_command: the command that puts the objects/ folder where the target reads. */
static void
upload_command(struct buf *b, const char *target)
{
	struct uri u;
	if (!uri_parse(target, &u)) {
		buf_append_str(b, "   # copy objects/ to the target's bucket root\n");
		return;
	}
	if (strcmp(u.scheme, "file") == 0) {
		buf_printf(b, "   cp -r objects/. '/%s/'\n", u.path);
	} else {
		const char *ep = uri_param(&u, "endpoint");
		buf_printf(b, "   aws %s%s%ss3 cp --recursive objects/ s3://%s/\n", ep ? "--endpoint-url " : "",
			   ep ? ep : "", ep ? " " : "", u.host);
	}
	uri_free(&u);
}

bool
recover_s3(struct recover_job *j)
{
	struct audit_options ao;
	struct audit_session *s = NULL;
	if (!recover_open_session(j, false, &ao, &s)) {
		audit_options_free(&ao);
		return false;
	}
	struct buf files;
	buf_init(&files);
	bool ok = true;
	int total_up = 0, total_del = 0;
	for (int t = 0; ok && t < j->ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j->tables[t].name);
		if (tp == NULL) {
			log_error("recover: table %s is not in run %lld's options", j->tables[t].name,
				  (long long) j->o->run);
			ok = false;
			break;
		}
		struct buf file;
		buf_init(&file);
		int nup = 0, ndel = 0;
		ok = repair_table(j, s, &j->tables[t], tp, &file, &nup, &ndel);
		if (ok)
			buf_printf(&files, "- `objects/%s`: %s: %d row%s upserted (U), %d deleted (D)\n",
				   buf_cstr(&file), tp->name, nup, nup == 1 ? "" : "s", ndel);
		total_up += nup;
		total_del += ndel;
		buf_free(&file);
	}
	struct stale st = {NULL, NULL, 0};
	struct failure_filter f = {.run = j->o->run, .state = "confirmed"};
	struct buf problems;
	buf_init(&problems);
	ok = ok && store_list_failures(j->st, &f, count_origin, &st) &&
	     store_list_file_problems(j->st, j->o->run, NULL, print_problem, &problems);
	if (ok) {
		struct buf *b = &j->runbook;
		buf_append_str(b, "## What is wrong\n\n");
		if (st.n > 0) {
			buf_append_str(b, "Objects that last wrote a failing row (stale or wrong rows; "
					  "`crosscheck failures --run N` names the line of each key):\n\n");
			for (int i = 0; i < st.n; i++)
				buf_printf(b, "- `%s`: %d key%s\n", st.objects[i], st.counts[i],
					   st.counts[i] == 1 ? "" : "s");
			buf_append_str(b, "\n");
		}
		if (problems.len > 0) {
			buf_append_str(b, "Problems found in the files themselves:\n\n");
			buf_append(b, problems.data, problems.len);
			buf_append_str(b, "\n");
		}
		buf_append_str(b, "## Steps\n\n");
		buf_printf(b, "1. Read the change file%s below: %d row%s upserted from the source's "
			      "current rows, %d key%s deleted. Each is a CDC file in the endpoint's own "
			      "format, named by the time it was written so that it sorts after every "
			      "file DMS wrote before it.\n\n",
			   j->ntables == 1 ? "" : "s", total_up, total_up == 1 ? "" : "s", total_del,
			   total_del == 1 ? "" : "s");
		buf_append(b, files.data, files.len);
		buf_append_str(b, "\n2. Put them into the target, next to the files DMS writes:\n\n   ```sh\n");
		upload_command(b, j->run_target);
		buf_append_str(b, "   ```\n\n"
				  "   A full-load backfill task is not used here: DMS applies LOAD files "
				  "before CDC files, so a LOAD row cannot correct a key a later CDC file "
				  "wrote, and a full load cannot delete a key. For keys only missing on the "
				  "target, `recover --format dms` writes the DMS full-load task with key "
				  "filters instead.\n\n");
		buf_printf(b, "3. Audit again with the same command line as run %lld; it should exit "
			      "0. If DMS is still writing, rows changed since this file was written "
			      "arrive in its own later files.\n",
			   (long long) j->o->run);
	}
	for (int i = 0; i < st.n; i++)
		free(st.objects[i]);
	free(st.objects);
	free(st.counts);
	buf_free(&problems);
	buf_free(&files);
	audit_session_close(s);
	audit_options_free(&ao);
	return ok;
}
