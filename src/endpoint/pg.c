/*
 * endpoint/pg.c: the PostgreSQL endpoint (libpq).
 *
 * Reads run in READ ONLY, REPEATABLE READ transactions with a statement timeout, in a
 * session pinned to UTC, ISO dates, shortest-exact floats and hex bytea, so the text
 * of every value is what core/canon.c expects. Rows stream with COPY (SELECT ...) TO
 * STDOUT. COPY cannot take bind parameters, so key bounds and key lists are bound into
 * transaction-local settings with set_config($1) and read back in the query with
 * current_setting(...)::type: values are still never pasted into SQL, and because
 * current_setting() is stable the planner uses the key index for the range.
 *
 * Text keys are ordered and bounded with COLLATE "C" (byte order) unless the column
 * already uses it, so the row order is the canonical key order whatever the database
 * collation; an index on another collation cannot serve that order, which costs a sort
 * per partition but never a wrong result.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/pg_internal.h"
#include "util/log.h"
#include "util/str.h"

/* --- errors ------------------------------------------------------------------------ */

/* pg_log_error logs a server or connection error line by line, with side and context. */
void
pg_log_error(struct pg_endpoint *pg, const PGresult *res, const char *context)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
	char *copy = xstrdup(msg && *msg ? msg : "unknown error");
	char *save = NULL;
	bool first = true;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (first)
			log_error("%s: %s: %s%s%s%s", pg->base.label, context, line,
				  state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
		else
			log_error("%s:   %s", pg->base.label, line);
		first = false;
	}
	free(copy);
}

/* pg_drain reads every pending result, as libpq requires before the next command. */
static void
pg_drain(PGconn *conn)
{
	PGresult *r;
	while ((r = PQgetResult(conn)) != NULL)
		PQclear(r);
}

bool
pg_exec(struct pg_endpoint *pg, const char *sql, const char *context)
{
	PGresult *res = PQexec(pg->conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_log_error(pg, res, context);
	PQclear(res);
	return ok;
}

/* --- connection -------------------------------------------------------------------- */

static const struct endpoint_ops pg_ops;

bool
pg_endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out)
{
	struct pg_endpoint *pg = xcalloc(1, sizeof(*pg));
	endpoint_base_init(&pg->base, &pg_ops, uri, opts);
	*out = NULL;

	char *err = NULL;
	PQconninfoOption *parsed = PQconninfoParse(uri, &err);
	if (parsed == NULL) {
		log_error("%s: malformed PostgreSQL URI \"%s\": %s", pg->base.label,
			  pg->base.shown_uri, err ? strtok(err, "\n") : "unknown error");
		PQfreemem(err);
		goto fail;
	}
	PQconninfoFree(parsed);

	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 10);
	const char *keys[] = {"dbname", "application_name", "connect_timeout",
			      opts->password ? "password" : NULL, NULL};
	const char *vals[] = {uri, "crosscheck", timeout, opts->password, NULL};
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		const char *msg = pg->conn ? PQerrorMessage(pg->conn) : "out of memory";
		char *line = xstrdup(msg);
		line[strcspn(line, "\n")] = '\0';
		log_error("%s: cannot connect to %s: %s", pg->base.label, pg->base.shown_uri, line);
		if (strstr(msg, "password") || strstr(msg, "authentication"))
			log_hint("give the password in PGPASSWORD or ~/.pgpass, not on the command line");
		free(line);
		goto fail;
	}

	/* Pin every setting that changes the text of a value. */
	struct buf sql;
	buf_init(&sql);
	buf_printf(&sql,
		   "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601';"
		   " SET extra_float_digits = 3; SET bytea_output = 'hex'; SET client_encoding = 'UTF8';"
		   " SET statement_timeout = %d; SET default_transaction_read_only = %s;",
		   opts->statement_timeout_ms, opts->read_write ? "off" : "on");
	bool ok = pg_exec(pg, buf_cstr(&sql), "session setup");
	buf_free(&sql);
	if (!ok)
		goto fail;
	*out = &pg->base;
	return true;

fail:
	if (pg->conn)
		PQfinish(pg->conn);
	endpoint_base_free(&pg->base);
	free(pg);
	return false;
}

static void
pg_close(struct endpoint *ep)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	if (pg->conn)
		PQfinish(pg->conn);
	endpoint_base_free(&pg->base);
	free(pg);
}

/* --- SQL building ------------------------------------------------------------------ */

void
pg_append_ident(struct pg_endpoint *pg, struct buf *sql, const char *name)
{
	char *q = PQescapeIdentifier(pg->conn, name, strlen(name));
	buf_append_str(sql, q ? q : "\"?\"");
	PQfreemem(q);
}

void
pg_append_table(struct pg_endpoint *pg, struct buf *sql, const struct table_desc *t)
{
	pg_append_ident(pg, sql, t->schema);
	buf_append_char(sql, '.');
	pg_append_ident(pg, sql, t->name);
}

/* append_key_expr writes the expression a key column is ordered and bounded by. */
void
pg_append_key_expr(struct pg_endpoint *pg, struct buf *sql, const struct column_desc *c)
{
	if (c->type != CANON_TEXT || c->byte_order_text) {
		pg_append_ident(pg, sql, c->name);
	} else if (c->fixed_char || strcmp(c->cast_type, "text") == 0 ||
		   strcmp(c->cast_type, "character varying") == 0) {
		pg_append_ident(pg, sql, c->name);
		buf_append_str(sql, " COLLATE \"C\"");
	} else {
		/* enums, inet, ...: their own order is not their text's order */
		buf_append_char(sql, '(');
		pg_append_ident(pg, sql, c->name);
		buf_append_str(sql, ")::text COLLATE \"C\"");
	}
}

/* append_setting_ref writes current_setting('crosscheck.<name>')::<type>. */
void
pg_append_setting_ref(struct buf *sql, const char *name, int k, const struct column_desc *c,
		   bool array)
{
	const char *cast = c->type == CANON_TEXT && !c->byte_order_text && !c->fixed_char ? "text"
											  : c->cast_type;
	buf_printf(sql, "current_setting('crosscheck.%s_%d')::%s%s", name, k, cast, array ? "[]" : "");
}

void
pg_append_key_tuple(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	/* a one-column key is a plain comparison, which the planner matches to an index */
	if (r->nkeys > 1)
		buf_append_str(sql, "ROW(");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		pg_append_key_expr(pg, sql, &r->table->cols[r->key[k]]);
	}
	if (r->nkeys > 1)
		buf_append_char(sql, ')');
}

static void
append_bound(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r,
	     const char *name, const char *op)
{
	pg_append_key_tuple(pg, sql, r);
	buf_printf(sql, " %s %s", op, r->nkeys > 1 ? "ROW(" : "");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		pg_append_setting_ref(sql, name, k, &r->table->cols[r->key[k]], false);
	}
	if (r->nkeys > 1)
		buf_append_char(sql, ')');
}

void
pg_append_select(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	buf_append_str(sql, "SELECT ");
	for (int i = 0; i < r->ncols; i++) {
		if (i)
			buf_append_str(sql, ", ");
		pg_append_ident(pg, sql, r->table->cols[r->cols[i]].name);
	}
	buf_append_str(sql, " FROM ");
	pg_append_table(pg, sql, r->table);
}

static void
append_range_where(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	if (r->lo == NULL && r->hi == NULL)
		return;
	buf_append_str(sql, " WHERE ");
	if (r->lo)
		append_bound(pg, sql, r, "lo", ">=");
	if (r->lo && r->hi)
		buf_append_str(sql, " AND ");
	if (r->hi)
		append_bound(pg, sql, r, "hi", "<");
}

void
pg_append_order_by(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	buf_append_str(sql, " ORDER BY ");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		pg_append_key_expr(pg, sql, &r->table->cols[r->key[k]]);
	}
}

/* --- bound settings ---------------------------------------------------------------- */

/* set_settings binds one canonical key's values into crosscheck.<name>_<k>. */
static bool
set_key_settings(struct pg_endpoint *pg, const struct scan_request *r, const char *name,
		 const char *key, size_t keylen)
{
	struct buf sql, val;
	buf_init(&sql);
	buf_init(&val);
	const char *p = key, *end = key + keylen;
	bool ok = true;
	for (int k = 0; k < r->nkeys && ok; k++) {
		enum canon_type t;
		const char *v;
		size_t len;
		if (!keyframe_next(&p, end, &t, &v, &len)) {
			log_error("%s: corrupt partition bound", pg->base.label);
			ok = false;
			break;
		}
		buf_reset(&sql);
		buf_reset(&val);
		buf_printf(&sql, "SELECT pg_catalog.set_config('crosscheck.%s_%d', $1, true)", name, k);
		endpoint_bind_text(t, v, len, &val);
		const char *params[] = {buf_cstr(&val)};
		PGresult *res = PQexecParams(pg->conn, buf_cstr(&sql), 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pg_log_error(pg, res, "bind key bound");
			ok = false;
		}
		PQclear(res);
	}
	buf_free(&sql);
	buf_free(&val);
	return ok;
}

/* array_elem appends a value as a double-quoted array literal element. */
static void
array_elem(struct buf *b, const char *v, size_t len)
{
	buf_append_char(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '"' || v[i] == '\\')
			buf_append_char(b, '\\');
		buf_append_char(b, v[i]);
	}
	buf_append_char(b, '"');
}

/* set_keylist_settings binds key lists as one array literal per key column. */
bool
pg_set_keylist_settings(struct pg_endpoint *pg, const struct scan_request *r,
		     const char *const *keys, const size_t *keylens, int nkeys)
{
	bool ok = true;
	struct buf arr, val, sql;
	buf_init(&arr);
	buf_init(&val);
	buf_init(&sql);
	for (int k = 0; k < r->nkeys && ok; k++) {
		buf_reset(&arr);
		buf_append_char(&arr, '{');
		for (int i = 0; i < nkeys; i++) {
			const char *p = keys[i], *end = keys[i] + keylens[i];
			enum canon_type t = CANON_NULL;
			const char *v = NULL;
			size_t len = 0;
			for (int j = 0; j <= k; j++)
				if (!keyframe_next(&p, end, &t, &v, &len)) {
					log_error("%s: corrupt key", pg->base.label);
					ok = false;
				}
			if (!ok)
				break;
			if (i)
				buf_append_char(&arr, ',');
			buf_reset(&val);
			endpoint_bind_text(t, v, len, &val);
			array_elem(&arr, val.data ? val.data : "", val.len);
		}
		buf_append_char(&arr, '}');
		if (!ok)
			break;
		buf_reset(&sql);
		buf_printf(&sql, "SELECT pg_catalog.set_config('crosscheck.keys_%d', $1, true)", k);
		const char *params[] = {buf_cstr(&arr)};
		PGresult *res = PQexecParams(pg->conn, buf_cstr(&sql), 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			pg_log_error(pg, res, "bind key list");
			ok = false;
		}
		PQclear(res);
	}
	buf_free(&arr);
	buf_free(&val);
	buf_free(&sql);
	return ok;
}

bool
pg_begin_read(struct pg_endpoint *pg)
{
	return pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
}

void
pg_end_read(struct pg_endpoint *pg)
{
	PGresult *res = PQexec(pg->conn, PQtransactionStatus(pg->conn) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT");
	PQclear(res);
}

/* --- COPY streaming ------------------------------------------------------------------ */

/*
 * run_copy streams COPY (<query>) TO STDOUT through the decoder into fn. If fn stops
 * the read, the query is cancelled and the connection drained so it stays usable.
 */
bool
pg_run_copy(struct pg_endpoint *pg, const char *query, const struct scan_request *r, row_fn fn,
	 void *ctx, const char *context)
{
	struct buf sql;
	buf_init(&sql);
	buf_printf(&sql, "COPY (%s) TO STDOUT", query);
	bool ok = false;
	bool *is_bytea = xcalloc((size_t) r->ncols, sizeof(bool));
	for (int i = 0; i < r->ncols; i++)
		is_bytea[i] = r->table->cols[r->cols[i]].type == CANON_BINARY;
	struct pg_copy_decoder dec;
	pg_copy_decoder_init(&dec, r->ncols, is_bytea);
	free(is_bytea);

	PGresult *res = PQexec(pg->conn, buf_cstr(&sql));
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pg_log_error(pg, res, context);
		PQclear(res);
		goto cleanup;
	}
	PQclear(res);
	for (;;) {
		char *row = NULL;
		int n = PQgetCopyData(pg->conn, &row, 0);
		if (n == -1)
			break;
		if (n == -2) {
			pg_log_error(pg, NULL, context);
			goto cleanup;
		}
		bool decoded = pg_copy_decode_row(&dec, row, (size_t) n);
		bool more = decoded && fn(ctx, dec.vals);
		PQfreemem(row);
		if (!decoded)
			log_error("%s: %s: malformed COPY row from %s.%s", pg->base.label, context,
				  r->table->schema, r->table->name);
		if (!more) {
			PGcancel *cancel = PQgetCancel(pg->conn);
			char errbuf[256];
			if (cancel) {
				PQcancel(cancel, errbuf, sizeof(errbuf));
				PQfreeCancel(cancel);
			}
			while (PQgetCopyData(pg->conn, &row, 0) >= 0)
				PQfreemem(row);
			pg_drain(pg->conn);
			goto cleanup;
		}
	}
	res = PQgetResult(pg->conn);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		pg_log_error(pg, res, context);
	PQclear(res);
	pg_drain(pg->conn);

cleanup:
	pg_copy_decoder_free(&dec);
	buf_free(&sql);
	return ok;
}

static bool
pg_scan(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	pg_append_select(pg, &q, r);
	append_range_where(pg, &q, r);
	pg_append_order_by(pg, &q, r);
	bool ok = pg_begin_read(pg) && (r->lo == NULL || set_key_settings(pg, r, "lo", r->lo, r->lolen)) &&
		  (r->hi == NULL || set_key_settings(pg, r, "hi", r->hi, r->hilen)) &&
		  pg_run_copy(pg, buf_cstr(&q), r, fn, ctx, "scan");
	pg_end_read(pg);
	buf_free(&q);
	return ok;
}

static bool
pg_fetch(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	 const size_t *keylens, int nkeys, row_fn fn, void *ctx)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	if (nkeys == 0)
		return true;
	struct buf q;
	buf_init(&q);
	pg_append_select(pg, &q, r);
	buf_append_str(&q, " WHERE ");
	pg_append_key_tuple(pg, &q, r);
	buf_append_str(&q, " IN (SELECT ");
	for (int k = 0; k < r->nkeys; k++)
		buf_printf(&q, "%su.k%d", k ? ", " : "", k);
	buf_append_str(&q, " FROM unnest(");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(&q, ", ");
		pg_append_setting_ref(&q, "keys", k, &r->table->cols[r->key[k]], true);
	}
	buf_append_str(&q, ") AS u(");
	for (int k = 0; k < r->nkeys; k++)
		buf_printf(&q, "%sk%d", k ? ", " : "", k);
	buf_append_str(&q, "))");
	bool ok = pg_begin_read(pg) && pg_set_keylist_settings(pg, r, keys, keylens, nkeys) &&
		  pg_run_copy(pg, buf_cstr(&q), r, fn, ctx, "fetch");
	pg_end_read(pg);
	buf_free(&q);
	return ok;
}

static bool
pg_count(struct endpoint *ep, const struct scan_request *r, int64_t *out)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	buf_append_str(&q, "SELECT count(*) FROM ");
	pg_append_table(pg, &q, r->table);
	append_range_where(pg, &q, r);
	bool ok = pg_begin_read(pg) && (r->lo == NULL || set_key_settings(pg, r, "lo", r->lo, r->lolen)) &&
		  (r->hi == NULL || set_key_settings(pg, r, "hi", r->hi, r->hilen));
	if (ok) {
		PGresult *res = PQexec(pg->conn, buf_cstr(&q));
		ok = PQresultStatus(res) == PGRES_TUPLES_OK && str_to_int64(PQgetvalue(res, 0, 0), out);
		if (!ok)
			pg_log_error(pg, res, "count");
		PQclear(res);
	}
	pg_end_read(pg);
	buf_free(&q);
	return ok;
}

/* key_bounds: min and max of a single-column key (the integer planner's input). */
static bool
pg_key_bounds(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx,
	      bool *empty)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	*empty = true;
	if (r->nkeys != 1) {
		log_error("%s: key bounds need a single-column key", ep->label);
		return false;
	}
	struct buf q;
	buf_init(&q);
	const struct column_desc *c = &r->table->cols[r->key[0]];
	buf_append_str(&q, "SELECT min(");
	pg_append_ident(pg, &q, c->name);
	buf_append_str(&q, ")::text, max(");
	pg_append_ident(pg, &q, c->name);
	buf_append_str(&q, ")::text FROM ");
	pg_append_table(pg, &q, r->table);
	PGresult *res = PQexec(pg->conn, buf_cstr(&q));
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_log_error(pg, res, "key bounds");
	else if (!PQgetisnull(res, 0, 0)) {
		*empty = false;
		for (int i = 0; i < 2 && ok; i++) {
			struct value v = {PQgetvalue(res, 0, i), (size_t) PQgetlength(res, 0, i), false, false};
			ok = fn(ctx, &v);
		}
	}
	PQclear(res);
	buf_free(&q);
	return ok;
}

static const struct endpoint_ops pg_ops = {
	.engine = "postgresql",
	.describe = pg_describe,
	.key_bounds = pg_key_bounds,
	.count = pg_count,
	.scan = pg_scan,
	.fetch = pg_fetch,
	.server_time = pg_server_time,
	.replication_lag = pg_replication_lag,
	.cdc_position = pg_cdc_position,
	.write_rows = pg_write_rows,
	.recent_key_range = pg_recent_key_range,
	.close = pg_close,
};
