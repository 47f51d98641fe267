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
static void
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

static bool
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

/* --- describe ---------------------------------------------------------------------- */

/*
 * pg_canon_type maps a (base) type name to its canonical type. Types without a
 * canonical form of their own (interval, inet, arrays, ...) compare as their text.
 */
static enum canon_type
pg_canon_type(const char *typname, char typtype, bool *single_float, bool *fixed_char)
{
	static const struct {
		const char *name;
		enum canon_type type;
	} map[] = {
		{"int2", CANON_NUMBER},	   {"int4", CANON_NUMBER},	  {"int8", CANON_NUMBER},
		{"oid", CANON_NUMBER},	   {"numeric", CANON_NUMBER},	  {"float4", CANON_FLOAT},
		{"float8", CANON_FLOAT},   {"bool", CANON_BOOL},	  {"text", CANON_TEXT},
		{"varchar", CANON_TEXT},   {"bpchar", CANON_TEXT},	  {"name", CANON_TEXT},
		{"char", CANON_TEXT},	   {"citext", CANON_TEXT},	  {"bytea", CANON_BINARY},
		{"date", CANON_DATE},	   {"time", CANON_TIME},	  {"timetz", CANON_TIME},
		{"timestamp", CANON_TIMESTAMP}, {"timestamptz", CANON_TIMESTAMP},
		{"uuid", CANON_UUID},	   {"json", CANON_JSON},	  {"jsonb", CANON_JSON},
	};
	*single_float = strcmp(typname, "float4") == 0;
	*fixed_char = strcmp(typname, "bpchar") == 0;
	if (typtype == 'e')
		return CANON_TEXT; /* enum labels */
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, typname) == 0)
			return map[i].type;
	return CANON_TEXT;
}

/*
 * pg_text_is_canonical: under the session pg_endpoint_open pins (UTC, ISO dates, hex
 * bytea), these types print one text per logical value. Not numeric without a typmod
 * (1.5 and 1.50 print differently), not json (kept as typed), not floats (compared at a
 * chosen number of digits), not intervals or arrays (their text has no one form).
 */
static bool
pg_text_is_canonical(const char *typname, char typtype, const char *engine_type)
{
	static const char *types[] = {"int2", "int4", "int8", "text", "varchar", "bpchar", "name",
				      "bytea", "date", "timestamp", "timestamptz", "uuid", "bool",
				      "jsonb"};
	if (typtype == 'e')
		return true;
	if (strcmp(typname, "numeric") == 0)
		return strchr(engine_type, '(') != NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i], typname) == 0)
			return true;
	return false;
}

/* Resolves the table; with no schema, the one visible on the search_path. */
static const char *sql_find_table =
	"SELECT c.oid, n.nspname, c.relname, c.reltuples::bigint"
	"  FROM pg_catalog.pg_class c"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.relname = $2"
	"   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	"   AND (CASE WHEN $1::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid)"
	"             ELSE n.nspname = $1 END)";

/* Columns with their base type (domains resolved) and whether they collate as "C". */
static const char *sql_columns =
	"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	"       pg_catalog.format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid), NULL),"
	"       bt.typname, bt.typtype, a.attnotnull,"
	"       coalesce(co.collname IN ('C', 'POSIX', 'ucs_basic'), false), a.attnum"
	"  FROM pg_catalog.pg_attribute a"
	"  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	"  JOIN pg_catalog.pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid)"
	"  LEFT JOIN pg_catalog.pg_collation co"
	"         ON co.oid = CASE WHEN a.attcollation = 100 /* default */"
	"                          THEN (SELECT oid FROM pg_catalog.pg_collation"
	"                                 WHERE collname = (SELECT datcollate FROM pg_catalog.pg_database"
	"                                                    WHERE datname = current_database())"
	"                                 LIMIT 1)"
	"                          ELSE a.attcollation END"
	" WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
	" ORDER BY a.attnum";

/* The primary key, else the first unique, non-partial, column-only index on NOT NULL
 * columns: the same rule DMS validation uses to find a row identity. */
static const char *sql_key =
	"SELECT i.indisprimary, array_to_string(i.indkey, ' ')"
	"  FROM pg_catalog.pg_index i"
	" WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid"
	"   AND i.indpred IS NULL AND i.indexprs IS NULL"
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
	"                    WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
	"                      AND NOT a.attnotnull)"
	" ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid"
	" LIMIT 1";

static bool
pg_describe(struct endpoint *ep, const char *schema, const char *table, struct table_desc *out)
{
	struct pg_endpoint *pg = (struct pg_endpoint *) ep;
	PGresult *res = NULL;
	int *attnums = NULL;
	bool ok = false;
	memset(out, 0, sizeof(*out));

	const char *p1[] = {schema, table};
	res = PQexecParams(pg->conn, sql_find_table, 2, NULL, p1, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_log_error(pg, res, "describe");
		goto cleanup;
	}
	if (PQntuples(res) == 0) {
		log_error("%s: table %s%s%s not found in %s", ep->label, schema ? schema : "",
			  schema ? "." : "", table, ep->shown_uri);
		log_hint("names are case-sensitive; give SCHEMA.TABLE as the catalog spells them");
		goto cleanup;
	}
	char oid[32];
	snprintf(oid, sizeof(oid), "%s", PQgetvalue(res, 0, 0));
	out->schema = xstrdup(PQgetvalue(res, 0, 1));
	out->name = xstrdup(PQgetvalue(res, 0, 2));
	int64_t est = -1;
	str_to_int64(PQgetvalue(res, 0, 3), &est);
	out->estimated_rows = est < 0 ? -1 : est;
	PQclear(res);

	const char *p2[] = {oid};
	res = PQexecParams(pg->conn, sql_columns, 1, NULL, p2, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_log_error(pg, res, "describe columns");
		goto cleanup;
	}
	out->ncols = PQntuples(res);
	out->cols = xcalloc((size_t) out->ncols, sizeof(struct column_desc));
	attnums = xcalloc((size_t) out->ncols, sizeof(int));
	for (int i = 0; i < out->ncols; i++) {
		struct column_desc *c = &out->cols[i];
		c->name = xstrdup(PQgetvalue(res, i, 0));
		c->engine_type = xstrdup(PQgetvalue(res, i, 1));
		c->cast_type = xstrdup(PQgetvalue(res, i, 2));
		c->type = pg_canon_type(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)[0],
					&c->single_float, &c->fixed_char);
		c->nullable = PQgetvalue(res, i, 5)[0] != 't';
		c->text_is_canonical = pg_text_is_canonical(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)[0],
							    c->engine_type);
		c->byte_order_text = PQgetvalue(res, i, 6)[0] == 't';
		int64_t n = 0;
		str_to_int64(PQgetvalue(res, i, 7), &n);
		attnums[i] = (int) n;
	}
	PQclear(res);

	res = PQexecParams(pg->conn, sql_key, 1, NULL, p2, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_log_error(pg, res, "describe key");
		goto cleanup;
	}
	if (PQntuples(res) == 1) {
		out->key_is_primary = PQgetvalue(res, 0, 0)[0] == 't';
		struct strlist parts = {0};
		char *list = xstrdup(PQgetvalue(res, 0, 1));
		for (char *c = list; *c; c++)
			if (*c == ' ')
				*c = ',';
		strlist_split(&parts, list);
		free(list);
		out->key = xcalloc(parts.n, sizeof(int));
		for (size_t k = 0; k < parts.n; k++) {
			int64_t attnum = 0;
			str_to_int64(parts.items[k], &attnum);
			for (int i = 0; i < out->ncols; i++)
				if (attnums[i] == attnum)
					out->key[out->nkeys++] = i;
		}
		strlist_free(&parts);
	}
	ok = true;

cleanup:
	PQclear(res);
	free(attnums);
	if (!ok)
		table_desc_free(out);
	return ok;
}

/* --- SQL building ------------------------------------------------------------------ */

static void
append_ident(struct pg_endpoint *pg, struct buf *sql, const char *name)
{
	char *q = PQescapeIdentifier(pg->conn, name, strlen(name));
	buf_append_str(sql, q ? q : "\"?\"");
	PQfreemem(q);
}

static void
append_table(struct pg_endpoint *pg, struct buf *sql, const struct table_desc *t)
{
	append_ident(pg, sql, t->schema);
	buf_append_char(sql, '.');
	append_ident(pg, sql, t->name);
}

/* append_key_expr writes the expression a key column is ordered and bounded by. */
static void
append_key_expr(struct pg_endpoint *pg, struct buf *sql, const struct column_desc *c)
{
	if (c->type != CANON_TEXT || c->byte_order_text) {
		append_ident(pg, sql, c->name);
	} else if (c->fixed_char || strcmp(c->cast_type, "text") == 0 ||
		   strcmp(c->cast_type, "character varying") == 0) {
		append_ident(pg, sql, c->name);
		buf_append_str(sql, " COLLATE \"C\"");
	} else {
		/* enums, inet, ...: their own order is not their text's order */
		buf_append_char(sql, '(');
		append_ident(pg, sql, c->name);
		buf_append_str(sql, ")::text COLLATE \"C\"");
	}
}

/* append_setting_ref writes current_setting('crosscheck.<name>')::<type>. */
static void
append_setting_ref(struct buf *sql, const char *name, int k, const struct column_desc *c,
		   bool array)
{
	const char *cast = c->type == CANON_TEXT && !c->byte_order_text && !c->fixed_char ? "text"
											  : c->cast_type;
	buf_printf(sql, "current_setting('crosscheck.%s_%d')::%s%s", name, k, cast, array ? "[]" : "");
}

static void
append_key_tuple(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	/* a one-column key is a plain comparison, which the planner matches to an index */
	if (r->nkeys > 1)
		buf_append_str(sql, "ROW(");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		append_key_expr(pg, sql, &r->table->cols[r->key[k]]);
	}
	if (r->nkeys > 1)
		buf_append_char(sql, ')');
}

static void
append_bound(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r,
	     const char *name, const char *op)
{
	append_key_tuple(pg, sql, r);
	buf_printf(sql, " %s %s", op, r->nkeys > 1 ? "ROW(" : "");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		append_setting_ref(sql, name, k, &r->table->cols[r->key[k]], false);
	}
	if (r->nkeys > 1)
		buf_append_char(sql, ')');
}

static void
append_select(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	buf_append_str(sql, "SELECT ");
	for (int i = 0; i < r->ncols; i++) {
		if (i)
			buf_append_str(sql, ", ");
		append_ident(pg, sql, r->table->cols[r->cols[i]].name);
	}
	buf_append_str(sql, " FROM ");
	append_table(pg, sql, r->table);
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

static void
append_order_by(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r)
{
	buf_append_str(sql, " ORDER BY ");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		append_key_expr(pg, sql, &r->table->cols[r->key[k]]);
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
static bool
set_keylist_settings(struct pg_endpoint *pg, const struct scan_request *r,
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

static bool
begin_read(struct pg_endpoint *pg)
{
	return pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin");
}

static void
end_read(struct pg_endpoint *pg)
{
	PGresult *res = PQexec(pg->conn, PQtransactionStatus(pg->conn) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT");
	PQclear(res);
}

/* --- COPY streaming ------------------------------------------------------------------ */

/*
 * run_copy streams COPY (<query>) TO STDOUT through the decoder into fn. If fn stops
 * the read, the query is cancelled and the connection drained so it stays usable.
 */
static bool
run_copy(struct pg_endpoint *pg, const char *query, const struct scan_request *r, row_fn fn,
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
	append_select(pg, &q, r);
	append_range_where(pg, &q, r);
	append_order_by(pg, &q, r);
	bool ok = begin_read(pg) && (r->lo == NULL || set_key_settings(pg, r, "lo", r->lo, r->lolen)) &&
		  (r->hi == NULL || set_key_settings(pg, r, "hi", r->hi, r->hilen)) &&
		  run_copy(pg, buf_cstr(&q), r, fn, ctx, "scan");
	end_read(pg);
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
	append_select(pg, &q, r);
	buf_append_str(&q, " WHERE ");
	append_key_tuple(pg, &q, r);
	buf_append_str(&q, " IN (SELECT ");
	for (int k = 0; k < r->nkeys; k++)
		buf_printf(&q, "%su.k%d", k ? ", " : "", k);
	buf_append_str(&q, " FROM unnest(");
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(&q, ", ");
		append_setting_ref(&q, "keys", k, &r->table->cols[r->key[k]], true);
	}
	buf_append_str(&q, ") AS u(");
	for (int k = 0; k < r->nkeys; k++)
		buf_printf(&q, "%sk%d", k ? ", " : "", k);
	buf_append_str(&q, "))");
	bool ok = begin_read(pg) && set_keylist_settings(pg, r, keys, keylens, nkeys) &&
		  run_copy(pg, buf_cstr(&q), r, fn, ctx, "fetch");
	end_read(pg);
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
	append_table(pg, &q, r->table);
	append_range_where(pg, &q, r);
	bool ok = begin_read(pg) && (r->lo == NULL || set_key_settings(pg, r, "lo", r->lo, r->lolen)) &&
		  (r->hi == NULL || set_key_settings(pg, r, "hi", r->hi, r->hilen));
	if (ok) {
		PGresult *res = PQexec(pg->conn, buf_cstr(&q));
		ok = PQresultStatus(res) == PGRES_TUPLES_OK && str_to_int64(PQgetvalue(res, 0, 0), out);
		if (!ok)
			pg_log_error(pg, res, "count");
		PQclear(res);
	}
	end_read(pg);
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
	append_ident(pg, &q, c->name);
	buf_append_str(&q, ")::text, max(");
	append_ident(pg, &q, c->name);
	buf_append_str(&q, ")::text FROM ");
	append_table(pg, &q, r->table);
	PGresult *res = PQexec(pg->conn, buf_cstr(&q));
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_log_error(pg, res, "key bounds");
	else if (!PQgetisnull(res, 0, 0)) {
		*empty = false;
		for (int i = 0; i < 2 && ok; i++) {
			struct value v = {PQgetvalue(res, 0, i), (size_t) PQgetlength(res, 0, i), false};
			ok = fn(ctx, &v);
		}
	}
	PQclear(res);
	buf_free(&q);
	return ok;
}

static bool
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

static bool
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
static bool
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

static bool
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
		append_table(pg, &del, r->table);
		buf_append_str(&del, " WHERE ");
		append_key_tuple(pg, &del, r);
		buf_append_str(&del, " IN (SELECT ");
		for (int k = 0; k < r->nkeys; k++)
			buf_printf(&del, "%su.k%d", k ? ", " : "", k);
		buf_append_str(&del, " FROM unnest(");
		for (int k = 0; k < r->nkeys; k++) {
			if (k)
				buf_append_str(&del, ", ");
			append_setting_ref(&del, "keys", k, &r->table->cols[r->key[k]], true);
		}
		buf_append_str(&del, ") AS u(");
		for (int k = 0; k < r->nkeys; k++)
			buf_printf(&del, "%sk%d", k ? ", " : "", k);
		buf_append_str(&del, "))");
		ok = set_keylist_settings(pg, r, keys, keylens, nkeys) && pg_exec(pg, buf_cstr(&del), "repair delete");
	}
	if (ok && nrows > 0) {
		buf_append_str(&ins, "INSERT INTO ");
		append_table(pg, &ins, r->table);
		buf_append_str(&ins, " (");
		for (int i = 0; i < r->ncols; i++) {
			if (i)
				buf_append_str(&ins, ", ");
			append_ident(pg, &ins, r->table->cols[r->cols[i]].name);
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

static bool
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
		append_select(pg, &q, &kr);
		buf_append_str(&q, " WHERE ");
		append_ident(pg, &q, lc->name);
		buf_printf(&q, " >= current_setting('crosscheck.since')::%s", lc->cast_type);
		/* the smallest key, then the largest: every key column descending */
		buf_append_str(&q, " ORDER BY ");
		for (int k = 0; k < kr.nkeys; k++) {
			if (k)
				buf_append_str(&q, ", ");
			append_key_expr(pg, &q, &kr.table->cols[kr.key[k]]);
			buf_append_str(&q, dir == 0 ? " ASC" : " DESC");
		}
		buf_append_str(&q, " LIMIT 1");
		const char *params[] = {since};
		struct first_row fr = {fn, ctx, false};
		ok = begin_read(pg);
		if (ok) {
			PGresult *res = PQexecParams(pg->conn,
						     "SELECT pg_catalog.set_config('crosscheck.since', $1, true)",
						     1, NULL, params, NULL, NULL, 0);
			ok = PQresultStatus(res) == PGRES_TUPLES_OK;
			if (!ok)
				pg_log_error(pg, res, "recent keys");
			PQclear(res);
		}
		ok = ok && run_copy(pg, buf_cstr(&q), &kr, pass_first, &fr, "recent keys");
		end_read(pg);
		*empty = !fr.seen;
		buf_free(&q);
		if (*empty)
			break;
	}
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
