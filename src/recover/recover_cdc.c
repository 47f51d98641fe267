/*
 * recover/recover_cdc.c: recovery through the change-data-capture tool itself.
 *
 * debezium       execute-snapshot signals: an incremental snapshot of just the failing
 *                keys (additional-conditions), written as rows for the signalling table
 *                on the source. Extra rows on the target are outside a snapshot's reach:
 *                they go to target-cleanup.sql.
 * mysql-replica  a replacement MariaDB/MySQL replica started at the checkpoint
 *                (CHANGE MASTER TO ... file:pos, or the GTID position), then the failing
 *                keys repaired from the source's current rows once it has caught up.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

/* key_filter writes a SQL condition selecting the keys, in the source's dialect. */
static void
key_filter(struct buf *b, enum sql_dialect d, const struct table_plan *tp,
	   const struct failing_key *keys, int n)
{
	for (int i = 0; i < n; i++) {
		const char *vals[16];
		size_t lens[16];
		int types[16];
		int nv = key_values(keys[i].key, keys[i].keylen, vals, lens, types, 16);
		buf_append_str(b, i ? " OR (" : "(");
		for (int k = 0; k < nv && k < tp->nkeys; k++) {
			if (k)
				buf_append_str(b, " AND ");
			sql_ident(b, d, tp->src.cols[tp->src_key[k]].name);
			buf_append_str(b, " = ");
			sql_literal(b, d, vals[k], lens[k], types[k] == CANON_BINARY);
		}
		buf_append_char(b, ')');
	}
}

bool
recover_debezium(struct recover_job *j)
{
	struct audit_options ao;
	struct audit_session *s = NULL;
	if (!recover_open_session(j, false, &ao, &s)) {
		audit_options_free(&ao);
		return false;
	}
	enum sql_dialect sd = dialect_of(ao.source_uri);
	const char *signal = j->o->signal_table ? j->o->signal_table : "debezium_signal";
	int batch = j->o->batch > 0 ? j->o->batch : 100;
	struct buf out, filter;
	buf_init(&out);
	buf_init(&filter);
	buf_printf(&out, "-- crosscheck run %lld: Debezium incremental snapshots of the failing keys.\n"
			 "-- Insert these rows into the signalling table on the source.\n",
		   (long long) j->o->run);
	int signals = 0;
	bool ok = true;
	for (int t = 0; ok && t < j->ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j->tables[t].name);
		if (tp == NULL) {
			log_error("recover: table %s is not in run %lld's options", j->tables[t].name,
				  (long long) j->o->run);
			ok = false;
			break;
		}
		/* only keys a snapshot can bring: the source still has them */
		struct failing_key *keys = xcalloc((size_t) j->tables[t].n + 1, sizeof(*keys));
		int n = 0;
		for (int i = 0; i < j->tables[t].n; i++)
			if (strcmp(j->tables[t].keys[i].kind, "MISSING_SOURCE") != 0)
				keys[n++] = j->tables[t].keys[i];
		for (int i = 0; i < n; i += batch) {
			int m = n - i < batch ? n - i : batch;
			buf_reset(&filter);
			key_filter(&filter, sd, tp, keys + i, m);
			json_object *data = json_object_new_object();
			json_object *colls = json_object_new_array();
			json_object_array_add(colls, json_object_new_string(tp->name));
			json_object_object_add(data, "data-collections", colls);
			json_object_object_add(data, "type", json_object_new_string("incremental"));
			json_object *conds = json_object_new_array();
			json_object *cond = json_object_new_object();
			json_object_object_add(cond, "data-collection", json_object_new_string(tp->name));
			json_object_object_add(cond, "filter", json_object_new_string(buf_cstr(&filter)));
			json_object_array_add(conds, cond);
			json_object_object_add(data, "additional-conditions", conds);
			const char *text = json_object_to_json_string_ext(
				data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			char id[96];
			snprintf(id, sizeof(id), "crosscheck-run%lld-%d", (long long) j->o->run, ++signals);
			buf_append_str(&out, "INSERT INTO ");
			buf_append_str(&out, signal); /* a name the operator chose, as they spell it */
			buf_append_str(&out, " (id, type, data) VALUES (");
			sql_literal(&out, sd, id, strlen(id), false);
			buf_append_str(&out, ", 'execute-snapshot', ");
			sql_literal(&out, sd, text, strlen(text), false);
			buf_append_str(&out, ");\n");
			json_object_put(data);
		}
		free(keys);
	}
	int cleanup = 0;
	ok = ok && recover_write_file(j, "signals.sql", out.data, out.len) &&
	     recover_sql_cleanup(j, s, "target-cleanup.sql", &cleanup);
	if (ok)
		buf_printf(&j->runbook,
			   "## Steps\n\n1. Make sure the connector has `signal.data.collection` set to "
			   "the signalling table (`%s`) and is running.\n"
			   "2. Insert the %d signal%s on the source: apply `signals.sql` to the source "
			   "database. Each asks for an incremental snapshot of a batch of failing keys.\n"
			   "%s"
			   "%d. When the snapshots are done (connector logs: \"Incremental snapshot "
			   "completed\"), verify with a new audit (the same command line as run %lld).\n",
			   signal, signals, signals == 1 ? "" : "s",
			   cleanup ? "3. Rows that exist only on the target are not touched by a "
				     "snapshot: apply `target-cleanup.sql` to the target.\n"
				   : "",
			   cleanup ? 4 : 3, (long long) j->o->run);
	buf_free(&out);
	buf_free(&filter);
	audit_session_close(s);
	audit_options_free(&ao);
	return ok;
}

/* is_mariadb_gtid: MariaDB GTIDs are domain-server-sequence lists ("0-1-1234,1-2-7"). */
static bool
is_mariadb_gtid(const char *g)
{
	if (*g == '\0' || strchr(g, ':'))
		return false;
	for (const char *p = g; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == ','))
			return false;
	return true;
}

bool
recover_mysql_replica(struct recover_job *j)
{
	if (strcmp(j->cp.engine, "mysql") != 0 && strcmp(j->cp.engine, "mariadb") != 0) {
		log_error("recover --format mysql-replica: checkpoint %lld is a %s position, not a "
			  "MariaDB/MySQL binlog position",
			  (long long) j->cp.id, j->cp.engine);
		return false;
	}
	const char *colon = strrchr(j->cp.position, ':');
	if (colon == NULL && j->cp.gtid[0] == '\0') {
		log_error("recover: checkpoint %lld has no binlog file:pos nor GTID", (long long) j->cp.id);
		return false;
	}
	struct uri u;
	if (!uri_parse(j->o->source_uri ? j->o->source_uri : j->run_source, &u))
		return false;
	struct buf out;
	buf_init(&out);
	buf_printf(&out, "-- crosscheck run %lld: point a replacement replica at checkpoint %lld.\n"
			 "-- Run on the replica. The password is not written here: set it from your\n"
			 "-- secret store (MASTER_PASSWORD) before running.\n"
			 "STOP SLAVE;\n",
		   (long long) j->o->run, (long long) j->cp.id);
	bool gtid = j->cp.gtid[0] && is_mariadb_gtid(j->cp.gtid);
	if (gtid) {
		buf_append_str(&out, "SET GLOBAL gtid_slave_pos = ");
		sql_literal(&out, DIALECT_MYSQL, j->cp.gtid, strlen(j->cp.gtid), false);
		buf_append_str(&out, ";\n");
	}
	buf_append_str(&out, "CHANGE MASTER TO\n  MASTER_HOST = ");
	const char *host = u.host ? u.host : "127.0.0.1";
	sql_literal(&out, DIALECT_MYSQL, host, strlen(host), false);
	buf_printf(&out, ",\n  MASTER_PORT = %d,\n  MASTER_USER = ", u.port ? u.port : 3306);
	const char *user = u.user ? u.user : "replication";
	sql_literal(&out, DIALECT_MYSQL, user, strlen(user), false);
	buf_append_str(&out, ",\n  MASTER_PASSWORD = '<password>'");
	if (gtid) {
		buf_append_str(&out, ",\n  MASTER_USE_GTID = slave_pos;\n");
	} else {
		char file[512];
		snprintf(file, sizeof(file), "%.*s", (int) (colon - j->cp.position), j->cp.position);
		buf_append_str(&out, ",\n  MASTER_LOG_FILE = ");
		sql_literal(&out, DIALECT_MYSQL, file, strlen(file), false);
		buf_printf(&out, ",\n  MASTER_LOG_POS = %s;\n", colon + 1);
	}
	buf_append_str(&out, "START SLAVE;\n");
	uri_free(&u);
	bool ok = recover_write_file(j, "change-master.sql", out.data, out.len) &&
		  recover_sql(j, "backfill.sql");
	if (ok)
		buf_printf(&j->runbook,
			   "## Steps\n\n"
			   "1. On the replica, let replication skip rows it already has while it "
			   "replays from the checkpoint (row-based binlog):\n"
			   "   `SET GLOBAL slave_exec_mode = 'IDEMPOTENT';`\n"
			   "2. Edit `change-master.sql` to set MASTER_PASSWORD, then run it on the "
			   "replica: replication resumes at checkpoint %lld (%s).\n"
			   "3. Wait until the replica has caught up (`SHOW SLAVE STATUS`: "
			   "Seconds_Behind_Master = 0).\n"
			   "4. Repair the keys lost before the checkpoint from the source's current rows: "
			   "`crosscheck repair --run %lld --apply` (reads them now and verifies), or "
			   "apply `backfill.sql` (rows as they were when it was written).\n"
			   "5. `SET GLOBAL slave_exec_mode = 'STRICT';`\n"
			   "6. Verify with a new audit (the same command line as run %lld); it should "
			   "exit 0.\n",
			   (long long) j->cp.id, gtid ? "GTID" : "binlog file:pos", (long long) j->o->run,
			   (long long) j->o->run);
	buf_free(&out);
	return ok;
}
