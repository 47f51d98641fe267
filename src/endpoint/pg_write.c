/*
 * endpoint/pg_write.c: the PostgreSQL endpoint beyond reading a table: the server's clock
 * and replication lag (live audits), its replication position (checkpoints), the keys
 * changed recently (drift checks) and the repair of a target.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/pg_internal.h"
#include "util/log.h"
#include "util/str.h"

bool
pg_server_time(struct endpoint *ep, struct buf *out)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	PGresult *res = PQexec(pg->conn, "SELECT pg_catalog.clock_timestamp()::text");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		buf_append_str(out, PQgetvalue(res, 0, 0));
	else
		pg_log_error(pg, res, "server time");
	PQclear(res);
	return ok;
}

/*
 * The lag as PostgreSQL sees it: a standby knows when it last replayed a transaction; a
 * logical subscriber when its apply worker last heard from the publisher; a primary the
 * replay lag its walsenders report (NULL while caught up, hence 0). NULL = not replicating.
 */
static const char *sql_replication_lag =
	"SELECT CASE"
	"  WHEN pg_catalog.pg_is_in_recovery() THEN"
	"    extract(epoch FROM now() - pg_catalog.pg_last_xact_replay_timestamp())"
	"  WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription WHERE pid IS NOT NULL) THEN"
	"    (SELECT extract(epoch FROM max(now() - latest_end_time)) FROM pg_catalog.pg_stat_subscription)"
	"  WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_replication) THEN"
	"    (SELECT coalesce(extract(epoch FROM max(replay_lag)), 0) FROM pg_catalog.pg_stat_replication)"
	"  END";

bool
pg_replication_lag(struct endpoint *ep, const char *query, double *seconds, bool *known)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	*known = false;
	PGresult *res = PQexec(pg->conn, query ? query : sql_replication_lag);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_log_error(pg, res, query ? "--lag-query" : "replication lag");
	else if (PQntuples(res) >= 1 && PQnfields(res) >= 1 && !PQgetisnull(res, 0, 0)) {
		*known = str_to_double(PQgetvalue(res, 0, 0), seconds);
		if (!*known)
			log_warn("%s: replication lag \"%s\" is not a number of seconds", ep->label,
				 PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return ok;
}

/*
 * pg_cdc_position: with a slot, the slot's confirmed_flush_lsn (where a logical consumer
 * such as DMS or Debezium will resume); without, the current WAL position of a primary
 * or the replay position of a standby.
 */
bool
pg_cdc_position(struct endpoint *ep, const char *slot, struct buf *position, struct buf *gtid)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	(void) gtid; /* PostgreSQL has no GTID */
	PGresult *res;
	if (slot) {
		const char *params[] = {slot};
		res = PQexecParams(pg->conn,
				   "SELECT confirmed_flush_lsn::text, slot_type FROM pg_catalog.pg_replication_slots"
				   " WHERE slot_name = $1",
				   1, NULL, params, NULL, NULL, 0);
	} else {
		res = PQexec(pg->conn, "SELECT CASE WHEN pg_catalog.pg_is_in_recovery()"
				       " THEN pg_catalog.pg_last_wal_replay_lsn()"
				       " ELSE pg_catalog.pg_current_wal_lsn() END::text, NULL");
	}
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_log_error(pg, res, "replication position");
	else if (PQntuples(res) == 0) {
		log_error("%s: no replication slot named \"%s\"", ep->label, slot);
		log_hint("list slots with: SELECT slot_name FROM pg_replication_slots");
		ok = false;
	} else if (PQgetisnull(res, 0, 0)) {
		log_error("%s: slot \"%s\" has no confirmed position (a physical slot, or never used)",
			  ep->label, slot ? slot : "");
		ok = false;
	} else {
		buf_append_str(position, PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return ok;
}

bool
pg_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	      const size_t *keylens, int nkeys, const struct value *const *rows, int nrows)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	struct buf del, ins;
	buf_init(&del);
	buf_init(&ins);
	const char **params = xcalloc((size_t) r->ncols + 1, sizeof(char *));
	struct buf *hex = xcalloc((size_t) r->ncols + 1, sizeof(struct buf));
	bool ok = pg_exec(pg, "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE", "repair");

	if (ok && nkeys > 0) {
		buf_append_str(&del, "DELETE FROM ");
		pg_append_table(pg, &del, r->table);
		buf_append_str(&del, " WHERE ");
		pg_append_key_tuple(pg, &del, r);
		buf_append_str(&del, " IN (SELECT ");
		for (int k = 0; k < r->nkeys; k++)
			buf_printf(&del, "%su.k%d", k ? ", " : "", k);
		buf_append_str(&del, " FROM unnest(");
		for (int k = 0; k < r->nkeys; k++) {
			if (k)
				buf_append_str(&del, ", ");
			pg_append_setting_ref(&del, "keys", k, &r->table->cols[r->key[k]], true);
		}
		buf_append_str(&del, ") AS u(");
		for (int k = 0; k < r->nkeys; k++)
			buf_printf(&del, "%sk%d", k ? ", " : "", k);
		buf_append_str(&del, "))");
		ok = pg_set_keylist_settings(pg, r, keys, keylens, nkeys) && pg_exec(pg, buf_cstr(&del), "repair delete");
	}
	if (ok && nrows > 0) {
		buf_append_str(&ins, "INSERT INTO ");
		pg_append_table(pg, &ins, r->table);
		buf_append_str(&ins, " (");
		for (int i = 0; i < r->ncols; i++) {
			if (i)
				buf_append_str(&ins, ", ");
			pg_append_ident(pg, &ins, r->table->cols[r->cols[i]].name);
		}
		buf_append_str(&ins, ") VALUES (");
		for (int i = 0; i < r->ncols; i++)
			buf_printf(&ins, "%s$%d", i ? ", " : "", i + 1);
		buf_append_char(&ins, ')');
		PGresult *res = PQprepare(pg->conn, "crosscheck_repair", buf_cstr(&ins), r->ncols, NULL);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			pg_log_error(pg, res, "repair insert");
		PQclear(res);
		for (int j = 0; ok && j < nrows; j++) {
			for (int i = 0; i < r->ncols; i++) {
				const struct value *v = &rows[j][i];
				if (v->null) {
					params[i] = NULL;
				} else if (r->table->cols[r->cols[i]].type == CANON_BINARY) {
					buf_reset(&hex[i]);
					endpoint_bind_text(CANON_BINARY, v->data, v->len, &hex[i]);
					params[i] = buf_cstr(&hex[i]);
				} else {
					buf_reset(&hex[i]);
					buf_append(&hex[i], v->data, v->len);
					params[i] = buf_cstr(&hex[i]);
				}
			}
			res = PQexecPrepared(pg->conn, "crosscheck_repair", r->ncols, params, NULL, NULL, 0);
			ok = PQresultStatus(res) == PGRES_COMMAND_OK;
			if (!ok)
				pg_log_error(pg, res, "repair insert");
			PQclear(res);
		}
		pg_exec(pg, "DEALLOCATE crosscheck_repair", "repair");
	}
	ok = ok && pg_exec(pg, "COMMIT", "repair commit");
	if (!ok) {
		PGresult *res = PQexec(pg->conn, "ROLLBACK");
		PQclear(res);
	}
	for (int i = 0; i < r->ncols; i++)
		buf_free(&hex[i]);
	free(hex);
	free(params);
	buf_free(&del);
	buf_free(&ins);
	return ok;
}

struct first_row {
	row_fn fn;
	void *ctx;
	bool seen;
};

static bool
pass_first(void *vctx, const struct value *vals)
{
	struct first_row *f = vctx;
	f->seen = true;
	return f->fn(f->ctx, vals);
}

bool
pg_recent_key_range(struct endpoint *ep, const struct scan_request *r, int lag_col,
		    const char *since, row_fn fn, void *ctx, bool *empty)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	struct scan_request kr = *r;
	kr.cols = r->key;
	kr.ncols = r->nkeys;
	const struct column_desc *lc = &r->table->cols[lag_col];
	bool ok = true;
	*empty = true;
	for (int dir = 0; ok && dir < 2; dir++) {
		struct buf q;
		buf_init(&q);
		pg_append_select(pg, &q, &kr);
		buf_append_str(&q, " WHERE ");
		pg_append_ident(pg, &q, lc->name);
		buf_printf(&q, " >= current_setting('crosscheck.since')::%s", lc->cast_type);
		/* the smallest key, then the largest: every key column descending */
		buf_append_str(&q, " ORDER BY ");
		for (int k = 0; k < kr.nkeys; k++) {
			if (k)
				buf_append_str(&q, ", ");
			pg_append_key_expr(pg, &q, &kr.table->cols[kr.key[k]]);
			buf_append_str(&q, dir == 0 ? " ASC" : " DESC");
		}
		buf_append_str(&q, " LIMIT 1");
		const char *params[] = {since};
		struct first_row fr = {fn, ctx, false};
		ok = pg_begin_read(pg);
		if (ok) {
			PGresult *res = PQexecParams(pg->conn,
						     "SELECT pg_catalog.set_config('crosscheck.since', $1, true)",
						     1, NULL, params, NULL, NULL, 0);
			ok = PQresultStatus(res) == PGRES_TUPLES_OK;
			if (!ok)
				pg_log_error(pg, res, "recent keys");
			PQclear(res);
		}
		ok = ok && pg_run_copy(pg, buf_cstr(&q), &kr, pass_first, &fr, "recent keys");
		pg_end_read(pg);
		*empty = !fr.seen;
		buf_free(&q);
		if (*empty)
			break;
	}
	return ok;
}

