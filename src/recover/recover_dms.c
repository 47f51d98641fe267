/*
 * recover/recover_dms.c: AWS DMS backfill and replacement tasks.
 *
 * Both files are input for `aws dms create-replication-task --cli-input-json file://…`
 * (dms-reference.md): TableMappings and ReplicationTaskSettings are JSON *strings*. The
 * backfill is a full-load task limited to the failing keys by selection-rule filters, with
 * TargetTablePrepMode DO_NOTHING so it never drops target data. The replacement is a cdc
 * task that starts at the checkpoint's position.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

/* task_id makes a valid ReplicationTaskIdentifier: letters, digits, single hyphens,
 * starting with a letter, at most 255 characters. */
static char *
task_id(const char *prefix, int64_t run, const char *what)
{
	struct buf raw, out;
	buf_init(&raw);
	buf_init(&out);
	buf_printf(&raw, "%s-run%lld-%s", prefix, (long long) run, what);
	bool hyphen = true; /* no leading hyphen */
	for (size_t i = 0; i < raw.len && out.len < 255; i++) {
		char c = raw.data[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (alnum) {
			if (out.len == 0 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				buf_append_str(&out, "t");
			buf_append_char(&out, c);
			hyphen = false;
		} else if (!hyphen) {
			buf_append_char(&out, '-');
			hyphen = true;
		}
	}
	while (out.len > 0 && out.data[out.len - 1] == '-')
		out.data[--out.len] = '\0';
	buf_free(&raw);
	return buf_steal(&out);
}

static void
split_table(const char *full, char **schema, char **table)
{
	const char *dot = strchr(full, '.');
	*schema = dot ? xstrndup(full, (size_t) (dot - full)) : xstrdup("%");
	*table = xstrdup(dot ? dot + 1 : full);
}

static json_object *
selection_rule(int id, const char *schema, const char *table)
{
	char rid[16];
	snprintf(rid, sizeof(rid), "%d", id);
	json_object *r = json_object_new_object();
	json_object_object_add(r, "rule-type", json_object_new_string("selection"));
	json_object_object_add(r, "rule-id", json_object_new_string(rid));
	json_object_object_add(r, "rule-name", json_object_new_string(rid));
	json_object *loc = json_object_new_object();
	json_object_object_add(loc, "schema-name", json_object_new_string(schema));
	json_object_object_add(loc, "table-name", json_object_new_string(table));
	json_object_object_add(r, "object-locator", loc);
	json_object_object_add(r, "rule-action", json_object_new_string("include"));
	return r;
}

static json_object *
condition(const char *op, const char *v, size_t len, const char *end, size_t endlen)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "filter-operator", json_object_new_string(op));
	if (end) {
		json_object_object_add(c, "start-value", json_object_new_string_len(v, (int) len));
		json_object_object_add(c, "end-value", json_object_new_string_len(end, (int) endlen));
	} else {
		json_object_object_add(c, "value", json_object_new_string_len(v, (int) len));
	}
	return c;
}

static json_object *
filter_on(const char *column, json_object *conditions)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "filter-type", json_object_new_string("source"));
	json_object_object_add(f, "column-name", json_object_new_string(column));
	json_object_object_add(f, "filter-conditions", conditions);
	return f;
}

static bool
is_int(const char *v, size_t len)
{
	if (len == 0 || len > 18)
		return false;
	for (size_t i = (v[0] == '-'); i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return len > (size_t) (v[0] == '-');
}

struct int_key {
	long long v;
	const char *text;
	size_t len;
};

static int
int_key_cmp(const void *a, const void *b)
{
	long long x = ((const struct int_key *) a)->v, y = ((const struct int_key *) b)->v;
	return x < y ? -1 : x > y;
}

/*
 * add_key_rules appends the selection rules of one table's failing keys (only the keys a
 * full load can fix: missing or different; extra target rows are for the cleanup). One
 * integer key: consecutive values become `between`, others `eq`, at most `batch`
 * conditions (ORed) per rule. Other single keys: `eq`. Composite keys: a rule per key with
 * one `eq` filter per column, since separate filters are ANDed.
 */
static void
add_key_rules(json_object *rules, int *rule_id, const struct failing_table *t,
	      const struct table_plan *tp, int batch)
{
	char *schema, *table;
	split_table(t->name, &schema, &table);
	int n = 0;
	for (int i = 0; i < t->n; i++)
		n += strcmp(t->keys[i].kind, "MISSING_SOURCE") != 0;
	const struct failing_key **keys = xcalloc((size_t) n + 1, sizeof(*keys));
	n = 0;
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->keys[i].kind, "MISSING_SOURCE") != 0)
			keys[n++] = &t->keys[i];
	if (tp->nkeys == 1) {
		const char *col = tp->cols[tp->keys[0]].name;
		struct int_key *iv = xcalloc((size_t) n + 1, sizeof(*iv));
		bool all_int = true;
		for (int i = 0; i < n; i++) {
			const char *vals[1];
			size_t lens[1];
			int types[1];
			key_values(keys[i]->key, keys[i]->keylen, vals, lens, types, 1);
			iv[i].text = vals[0];
			iv[i].len = lens[0];
			all_int &= types[0] == CANON_NUMBER && is_int(vals[0], lens[0]);
			if (all_int) {
				char num[24];
				memcpy(num, vals[0], lens[0]); /* is_int: at most 18 digits and a sign */
				num[lens[0]] = '\0';
				iv[i].v = strtoll(num, NULL, 10);
			}
		}
		if (all_int)
			qsort(iv, (size_t) n, sizeof(*iv), int_key_cmp);
		json_object *conds = NULL;
		for (int i = 0; i < n;) {
			int run = 1;
			while (all_int && i + run < n && iv[i + run].v == iv[i + run - 1].v + 1)
				run++;
			if (conds == NULL)
				conds = json_object_new_array();
			if (run >= 3)
				json_object_array_add(conds, condition("between", iv[i].text, iv[i].len,
								       iv[i + run - 1].text, iv[i + run - 1].len));
			else
				run = 1,
				json_object_array_add(conds, condition("eq", iv[i].text, iv[i].len, NULL, 0));
			i += run;
			if ((int) json_object_array_length(conds) >= batch || i >= n) {
				json_object *r = selection_rule(++*rule_id, schema, table);
				json_object *filters = json_object_new_array();
				json_object_array_add(filters, filter_on(col, conds));
				json_object_object_add(r, "filters", filters);
				json_object_array_add(rules, r);
				conds = NULL;
			}
		}
		free(iv);
	} else {
		for (int i = 0; i < n; i++) {
			const char *vals[16];
			size_t lens[16];
			int types[16];
			int nv = key_values(keys[i]->key, keys[i]->keylen, vals, lens, types, 16);
			json_object *r = selection_rule(++*rule_id, schema, table);
			json_object *filters = json_object_new_array();
			for (int k = 0; k < nv && k < tp->nkeys; k++) {
				json_object *conds = json_object_new_array();
				json_object_array_add(conds, condition("eq", vals[k], lens[k], NULL, 0));
				json_object_array_add(filters, filter_on(tp->cols[tp->keys[k]].name, conds));
			}
			json_object_object_add(r, "filters", filters);
			json_object_array_add(rules, r);
		}
	}
	free(keys);
	free(schema);
	free(table);
}

static bool
write_task(struct recover_job *j, const char *file, const char *id, const char *type,
	   json_object *rules, const char *cdc_start)
{
	json_object *mappings = json_object_new_object();
	json_object_object_add(mappings, "rules", rules);
	json_object *settings = json_object_new_object();
	json_object *full = json_object_new_object();
	json_object_object_add(full, "TargetTablePrepMode", json_object_new_string("DO_NOTHING"));
	json_object_object_add(settings, "FullLoadSettings", full);
	json_object *task = json_object_new_object();
	json_object_object_add(task, "ReplicationTaskIdentifier", json_object_new_string(id));
	json_object_object_add(task, "SourceEndpointArn", json_object_new_string(j->o->source_arn));
	json_object_object_add(task, "TargetEndpointArn", json_object_new_string(j->o->target_arn));
	json_object_object_add(task, "ReplicationInstanceArn",
			       json_object_new_string(j->o->instance_arn));
	json_object_object_add(task, "MigrationType", json_object_new_string(type));
	/* TableMappings and ReplicationTaskSettings are JSON strings, not objects */
	json_object_object_add(task, "TableMappings",
			       json_object_new_string(json_object_to_json_string_ext(
				       mappings, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
	json_object_object_add(task, "ReplicationTaskSettings",
			       json_object_new_string(json_object_to_json_string_ext(
				       settings, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
	if (cdc_start)
		json_object_object_add(task, "CdcStartPosition", json_object_new_string(cdc_start));
	const char *text = json_object_to_json_string_ext(
		task, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s\n", text);
	bool ok = recover_write_file(j, file, b.data, b.len);
	buf_free(&b);
	json_object_put(task);
	json_object_put(mappings);
	json_object_put(settings);
	return ok;
}

/* cdc_start_position: the checkpoint in the form DMS takes for the source's engine. */
static const char *
cdc_start_position(const struct checkpoint_choice *c)
{
	return c->position; /* LSN, binlog file:pos, or a DMS checkpoint string: all as taken */
}

bool
recover_dms(struct recover_job *j)
{
	if (!j->o->source_arn || !j->o->target_arn || !j->o->instance_arn) {
		log_error("recover --format dms: --source-endpoint-arn, --target-endpoint-arn and "
			  "--replication-instance-arn are required");
		return false;
	}
	struct audit_options ao;
	struct audit_session *s = NULL;
	if (!recover_open_session(j, false, &ao, &s)) {
		audit_options_free(&ao);
		return false;
	}
	const char *prefix = j->o->task_prefix ? j->o->task_prefix : "crosscheck";
	int batch = j->o->batch > 0 ? j->o->batch : 100;
	json_object *backfill = json_object_new_array(), *replace = json_object_new_array();
	int bid = 0, rid = 0;
	bool ok = true;
	for (int t = 0; ok && t < j->ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j->tables[t].name);
		if (tp == NULL) {
			log_error("recover: table %s is not in run %lld's options", j->tables[t].name,
				  (long long) j->o->run);
			ok = false;
			break;
		}
		add_key_rules(backfill, &bid, &j->tables[t], tp, batch);
	}
	for (int t = 0; ok && t < s->ntables; t++) {
		char *schema, *table;
		split_table(s->tables[t].name, &schema, &table);
		json_object_array_add(replace, selection_rule(++rid, schema, table));
		free(schema);
		free(table);
	}
	char *bid_s = task_id(prefix, j->o->run, "backfill");
	char *cid_s = task_id(prefix, j->o->run, "cdc");
	int cleanup = 0;
	ok = ok && (bid == 0 || write_task(j, "backfill-task.json", bid_s, "full-load",
					    json_object_get(backfill), NULL)) &&
	     write_task(j, "replacement-task.json", cid_s, "cdc", json_object_get(replace),
			cdc_start_position(&j->cp)) &&
	     recover_sql_cleanup(j, s, "target-cleanup.sql", &cleanup);
	if (ok) {
		struct buf *b = &j->runbook;
		buf_append_str(b, "## Steps\n\n");
		buf_append_str(b, "1. Stop the failed task and wait until it is stopped:\n\n"
				  "   ```sh\n   aws dms stop-replication-task --replication-task-arn OLD_TASK_ARN\n"
				  "   aws dms wait replication-task-stopped --filters Name=replication-task-arn,Values=OLD_TASK_ARN\n"
				  "   ```\n\n");
		buf_printf(b, "2. Create the replacement task, which captures changes from checkpoint "
			      "%lld (`%s`), and start it with `start-replication` (a new task cannot "
			      "`resume-processing`):\n\n   ```sh\n"
			      "   aws dms create-replication-task --cli-input-json file://replacement-task.json\n"
			      "   aws dms wait replication-task-ready --filters Name=replication-task-id,Values=%s\n"
			      "   aws dms start-replication-task --replication-task-arn NEW_CDC_TASK_ARN --start-replication-task-type start-replication\n"
			      "   ```\n\n",
			   (long long) j->cp.id, j->cp.position, cid_s);
		if (cleanup > 0)
			buf_printf(b, "3. Remove the %d target row%s the backfill must replace (they "
				      "differ, or exist only on the target): apply `target-cleanup.sql` to "
				      "the target.\n\n",
				   cleanup, cleanup == 1 ? "" : "s");
		if (bid > 0)
			buf_printf(b, "%d. Create and start the backfill of the failing keys (full load, "
				      "`TargetTablePrepMode` `DO_NOTHING`: no target data is dropped):\n\n"
				      "   ```sh\n"
				      "   aws dms create-replication-task --cli-input-json file://backfill-task.json\n"
				      "   aws dms wait replication-task-ready --filters Name=replication-task-id,Values=%s\n"
				      "   aws dms start-replication-task --replication-task-arn NEW_BACKFILL_TASK_ARN --start-replication-task-type start-replication\n"
				      "   ```\n\n",
				   cleanup > 0 ? 4 : 3, bid_s);
		buf_printf(b, "%d. When the backfill has finished, verify with a new audit (the same "
			      "command line as run %lld); it should exit 0. Then take a new checkpoint.\n",
			   cleanup > 0 ? 5 : 4, (long long) j->o->run);
	}
	free(bid_s);
	free(cid_s);
	json_object_put(backfill);
	json_object_put(replace);
	audit_session_close(s);
	audit_options_free(&ao);
	return ok;
}
