/*
 * recover/recover_bulk.c: `recover --format bulk`: an OpenSearch _bulk repair file built
 * from the source's current rows.
 *
 * Per batch of failing keys the source's rows are read now and handed, converted exactly
 * as `repair --apply` converts them, to the OpenSearch endpoint's bulk builder: the file
 * holds the actions write_rows would send (delete the documents of the keys that no new
 * row replaces, index the rows under the _id the index's scheme gives them). In id mode
 * field the target is searched for the documents the keys have now, so their _ids are
 * those of the index at the time the file is written. Applying the file twice gives the
 * same index: every action is a whole-document write or a delete by _id.
 *
 * One file, repair.ndjson, while it stays under 32 MiB (OpenSearch's default
 * http.max_content_length is 100 MiB); beyond, repair-2.ndjson and so on, each
 * self-contained and listed in the runbook.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch_bulk.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

#define BULK_FILE_MAX ((size_t) 32 << 20)

/* http_url appends the http(s) base URL of a redacted opensearch:// URI, for curl. */
static void
http_url(struct buf *out, const char *uri)
{
	const char *rest = uri;
	if (strncmp(uri, "opensearch+https://", 19) == 0) {
		buf_append_str(out, "https://");
		rest = uri + 19;
	} else if (strncmp(uri, "opensearch://", 13) == 0) {
		buf_append_str(out, "http://");
		rest = uri + 13;
	}
	size_t n = strcspn(rest, "?");
	while (n > 0 && rest[n - 1] == '/')
		n--;
	const char *at = memchr(rest, '@', n); /* user info stays out of the command line */
	if (at) {
		n -= (size_t) (at + 1 - rest);
		rest = at + 1;
	}
	buf_append(out, rest, n);
}

/* The files written so far and the one being filled. */
struct bulk_files {
	struct recover_job *j;
	struct buf cur;
	int nfiles;
	char names[64][32];
};

static bool
flush_file(struct bulk_files *f, bool last)
{
	if (f->cur.len == 0 && !(last && f->nfiles == 0))
		return true;
	if (f->nfiles == 64) {
		log_error("recover: the repair needs more than 64 bulk files of 32 MiB");
		log_hint("repair fewer keys at a time, or use 'crosscheck repair --apply'");
		return false;
	}
	char *name = f->names[f->nfiles];
	if (f->nfiles == 0)
		snprintf(name, sizeof(f->names[0]), "repair.ndjson");
	else
		snprintf(name, sizeof(f->names[0]), "repair-%d.ndjson", f->nfiles + 1);
	f->nfiles++;
	bool ok = recover_write_file(f->j, name, f->cur.data ? f->cur.data : "", f->cur.len);
	buf_reset(&f->cur);
	return ok;
}

/* bulk_table writes the actions of one table's failing keys, batch by batch. */
static bool
bulk_table(struct recover_job *j, struct audit_session *s, const struct failing_table *ft,
	   struct bulk_files *f, int *ndelete, int *nindex)
{
	struct table_plan *tp = audit_session_table(s, ft->name);
	if (tp == NULL) {
		log_error("recover: table %s of run %lld is not in its recorded options", ft->name,
			  (long long) j->o->run);
		return false;
	}
	int batch = j->o->batch > 0 ? j->o->batch : 100;
	struct scan_request r;
	table_plan_scan_request(tp, 1, &r);
	struct buf part;
	buf_init(&part);
	bool ok = true;
	for (int i = 0; ok && i < ft->n; i += batch) {
		int n = ft->n - i < batch ? ft->n - i : batch;
		const char **kp = xcalloc((size_t) n, sizeof(char *));
		size_t *kl = xcalloc((size_t) n, sizeof(size_t));
		for (int k = 0; k < n; k++) {
			kp[k] = ft->keys[i + k].key;
			kl[k] = ft->keys[i + k].keylen;
		}
		struct row_set rs = {tp, dialect_of(s->o->target_uri), NULL, 0, false};
		buf_reset(&part);
		ok = audit_session_fetch(s, tp, 0, kp, kl, n, row_set_add, &rs) && !rs.bad &&
		     opensearch_bulk_build(s->tgt, &r, kp, kl, n,
					   (const struct value *const *) rs.rows, rs.n, &part, ndelete,
					   nindex);
		if (ok && f->cur.len > 0 && f->cur.len + part.len > BULK_FILE_MAX)
			ok = flush_file(f, false);
		if (ok && !buf_append(&f->cur, part.data ? part.data : "", part.len)) {
			log_error("recover: the bulk file is too large for memory");
			ok = false;
		}
		row_set_free(&rs);
		free(kp);
		free(kl);
	}
	buf_free(&part);
	return ok;
}

/* The runbook's steps after the header recover_write wrote. */
static const char runbook_apply_notes[] =
	"\n   Add `-u USER` for basic authentication (Amazon OpenSearch Service with IAM:\n"
	"   `--aws-sigv4 \"aws:amz:REGION:es\" --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\"`).\n"
	"   The answer must say `\"errors\":false`; a delete item with status 404 (`not_found`)\n"
	"   is fine. If items failed with 429 (an overloaded cluster), send the file again:\n"
	"   applying it twice gives the same index. An index whose `refresh_interval` is -1\n"
	"   never refreshes by itself: use `refresh=true` there instead of `wait_for`.\n";

static void
bulk_runbook(struct recover_job *j, const struct bulk_files *f, int ndelete, int nindex)
{
	struct buf url;
	buf_init(&url);
	char *shown = j->o->target_uri ? uri_redact(j->o->target_uri) : NULL;
	http_url(&url, shown ? shown : j->run_target);
	free(shown);
	buf_printf(&j->runbook,
		   "## Steps\n\n"
		   "1. Review the bulk file%s: %d delete and %d index actions, each naming its index\n"
		   "   and `_id`. Documents are the source's current rows, every compared column\n"
		   "   typed for its field; fields the audit did not compare are not in them.%s\n"
		   "2. Apply %s to the target:\n\n",
		   f->nfiles > 1 ? "s" : "", ndelete, nindex,
		   ndelete + nindex == 0 ? "\n   There is nothing to change: the target already "
					   "holds the source's rows."
					 : "",
		   f->nfiles > 1 ? "each file (in any order)" : "it");
	for (int i = 0; i < f->nfiles; i++)
		buf_printf(&j->runbook,
			   "   ```sh\n   curl -sS -XPOST '%s/_bulk?refresh=wait_for' \\\n"
			   "        -H 'Content-Type: application/x-ndjson' --data-binary @%s\n"
			   "   ```\n",
			   buf_cstr(&url), f->names[i]);
	buf_append_str(&j->runbook, runbook_apply_notes);
	buf_printf(&j->runbook,
		   "3. Verify with a new audit (the same command line as run %lld), or let crosscheck\n"
		   "   apply and verify in one step: `crosscheck repair --run %lld --apply`.\n\n"
		   "The `_id`s of the documents to delete were read from the index when this file\n"
		   "was written; if the replicator has written these keys since, write it again.\n",
		   (long long) j->o->run, (long long) j->o->run);
	buf_free(&url);
}

bool
recover_bulk(struct recover_job *j)
{
	struct audit_options ao;
	struct audit_session *s = NULL;
	struct bulk_files f;
	memset(&f, 0, sizeof(f));
	f.j = j;
	buf_init(&f.cur);
	int ndelete = 0, nindex = 0;
	bool ok = recover_open_session(j, false, &ao, &s);
	if (ok && strcmp(s->tgt->ops->engine, "opensearch") != 0) {
		log_error("recover: --format bulk is for an OpenSearch target; run %lld's target "
			  "is %s",
			  (long long) j->o->run, s->tgt->ops->engine);
		log_hint("use --format sql for a SQL target");
		ok = false;
	}
	for (int t = 0; ok && t < j->ntables; t++)
		ok = bulk_table(j, s, &j->tables[t], &f, &ndelete, &nindex);
	ok = ok && flush_file(&f, true);
	if (ok)
		bulk_runbook(j, &f, ndelete, nindex);
	buf_free(&f.cur);
	audit_session_close(s);
	audit_options_free(&ao);
	return ok;
}
