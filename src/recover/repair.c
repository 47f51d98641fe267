/*
 * recover/repair.c: `repair`: fix a SQL target's failing keys from the source's current
 * rows, then re-audit exactly those keys.
 *
 * Per batch of keys: read the source's rows now, and in one target transaction delete
 * the keys and insert those rows (endpoint write_rows). Then both sides are read again
 * for the same keys; a key marked repaired is one crosscheck has seen match, not one it
 * merely wrote. Without --apply nothing is written: it says what it would do.
 */
#include <stdlib.h>
#include <string.h>

#include "core/compare.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"

static bool
repair_batch(struct store *st, struct audit_session *s, struct table_plan *tp,
	     const struct failing_key *keys, int n, int64_t *repaired, int64_t *remaining)
{
	const char **kp = xcalloc((size_t) n, sizeof(char *));
	size_t *kl = xcalloc((size_t) n, sizeof(size_t));
	enum verdict *v = xcalloc((size_t) n, sizeof(enum verdict));
	for (int i = 0; i < n; i++) {
		kp[i] = keys[i].key;
		kl[i] = keys[i].keylen;
	}
	struct row_set rs = {tp, dialect_of(s->o->target_uri), NULL, 0, false};
	struct scan_request r;
	table_plan_scan_request(tp, 1, &r);
	bool ok = audit_session_fetch(s, tp, 0, kp, kl, n, row_set_add, &rs) && !rs.bad &&
		  s->tgt->ops->write_rows(s->tgt, &r, kp, kl, n, (const struct value *const *) rs.rows,
					  rs.n) &&
		  audit_compare_keys(tp, s->src, s->tgt, kp, kl, n, v, NULL, NULL);
	for (int i = 0; ok && i < n; i++) {
		if (v[i] == VERDICT_MATCH) {
			ok = store_failure_update(st, keys[i].id, "repaired", NULL, NULL, false);
			(*repaired)++;
		} else {
			log_warn("%s: key %s still differs after repair (%s): the source changed, or "
				 "replication rewrote it",
				 tp->name, keys[i].key_json, verdict_name(v[i]));
			(*remaining)++;
		}
	}
	row_set_free(&rs);
	free(kp);
	free(kl);
	free(v);
	return ok;
}

bool
repair_run(const struct recover_options *o, struct store *st, int64_t *remaining)
{
	struct recover_job j;
	memset(&j, 0, sizeof(j));
	j.o = o;
	j.st = st;
	buf_init(&j.runbook);
	*remaining = 0;
	struct audit_options ao;
	struct audit_session *s = NULL;
	bool ok = recover_gather_job(&j);
	if (!ok)
		goto done;
	ok = recover_open_session(&j, o->apply, &ao, &s);
	if (!ok)
		goto done_options;
	if (s->tgt->ops->write_rows == NULL) {
		log_error("repair: crosscheck cannot write to a %s target", s->tgt->ops->engine);
		log_hint("use 'crosscheck recover --format ...' to generate the repair instead");
		ok = false;
		goto done_session;
	}
	int batch = o->batch > 0 ? o->batch : 500;
	int64_t repaired = 0;
	for (int t = 0; ok && t < j.ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j.tables[t].name);
		if (tp == NULL) {
			log_error("repair: table %s is not in run %lld's options", j.tables[t].name,
				  (long long) o->run);
			ok = false;
			break;
		}
		int counts[3] = {0, 0, 0};
		for (int i = 0; i < j.tables[t].n; i++) {
			const char *k = j.tables[t].keys[i].kind;
			counts[strcmp(k, "MISSING_TARGET") == 0 ? 0 : strcmp(k, "RECORD_DIFF") == 0 ? 1 : 2]++;
		}
		printf("%s -> %s: %d missing on target (insert), %d different (replace), %d extra on "
		       "target (delete)%s\n",
		       tp->name, tp->target_name, counts[0], counts[1], counts[2],
		       o->apply ? "" : " [dry run: nothing changed]");
		for (int i = 0; o->apply && ok && i < j.tables[t].n; i += batch) {
			int n = j.tables[t].n - i < batch ? j.tables[t].n - i : batch;
			ok = repair_batch(st, s, tp, j.tables[t].keys + i, n, &repaired, remaining);
		}
	}
	if (ok && o->apply)
		printf("repaired and verified %lld key%s; %lld still different\n", (long long) repaired,
		       repaired == 1 ? "" : "s", (long long) *remaining);
	else if (ok)
		printf("run again with --apply to change the target, then re-audit those keys\n");
done_session:
	audit_session_close(s);
done_options:
	audit_options_free(&ao);
done:
	recover_job_free(&j);
	return ok;
}
