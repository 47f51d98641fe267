/*
 * endpoint/pg_catalog.c: the PostgreSQL endpoint's describe: a table's columns, their
 * canonical types, and the key, from the catalog.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/pg_internal.h"
#include "util/log.h"
#include "util/str.h"

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

bool
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

