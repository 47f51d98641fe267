/*
 * endpoint/mysql_catalog.c: describing MySQL/MariaDB tables from information_schema,
 * listing tables, and the type matrix (engine type -> canonical type).
 *
 * Names are looked up case-insensitively (information_schema collates so) and then
 * matched exactly in C: `Orders` and `orders` may both exist on a case-sensitive file
 * system, and an exact spelling must win; a unique case-insensitive match is accepted
 * for servers with lower_case_table_names. Every catalog value is bound (see mysql.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint/mysql_internal.h"
#include "util/log.h"
#include "util/str.h"

/* --- the type matrix ---------------------------------------------------------------- */

static bool
is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(s, *list) == 0)
			return true;
	return false;
}

/*
 * mysql_type_map: TINYINT(1) stays a number (it unifies to boolean only against a
 * boolean column: a 2 stored there must not read as true); BIT(1) is a boolean; ENUM
 * and SET compare as their text; MariaDB's JSON is a LONGTEXT guarded by json_valid().
 */
void
mysql_type_map(const char *data_type, const char *column_type, bool json_check,
	       struct column_desc *c)
{
	static const char *const numbers[] = {"tinyint", "smallint", "mediumint", "int", "integer",
					      "bigint", "decimal", "numeric", "dec", "fixed",
					      "year", NULL};
	static const char *const floats[] = {"float", "double", "real", "double precision", NULL};
	static const char *const binaries[] = {"binary", "varbinary", "tinyblob", "blob",
					       "mediumblob", "longblob", "geometry", "point",
					       "linestring", "polygon", "multipoint",
					       "multilinestring", "multipolygon",
					       "geometrycollection", "geomcollection", NULL};
	const char *cast = MY_CAST_TEXT;
	enum canon_type t = CANON_TEXT;
	c->single_float = false;
	c->fixed_char = false;
	c->byte_order_text = false;
	if (is_one_of(data_type, numbers)) {
		t = CANON_NUMBER;
		cast = MY_CAST_NUMBER;
	} else if (is_one_of(data_type, floats)) {
		t = CANON_FLOAT;
		cast = MY_CAST_DOUBLE;
		c->single_float = strcasecmp(data_type, "float") == 0;
	} else if (strcasecmp(data_type, "bit") == 0) {
		t = strncasecmp(column_type, "bit(1)", 6) == 0 ? CANON_BOOL : CANON_NUMBER;
		cast = MY_CAST_BIT;
	} else if (is_one_of(data_type, binaries)) {
		t = CANON_BINARY;
		cast = MY_CAST_BINARY;
	} else if (strcasecmp(data_type, "date") == 0) {
		t = CANON_DATE;
		cast = MY_CAST_DATE;
	} else if (strcasecmp(data_type, "datetime") == 0) {
		t = CANON_TIMESTAMP;
		cast = MY_CAST_DATETIME;
	} else if (strcasecmp(data_type, "timestamp") == 0) {
		t = CANON_TIMESTAMP;
		cast = MY_CAST_TIMESTAMP;
	} else if (strcasecmp(data_type, "time") == 0) {
		t = CANON_TIME;
		cast = MY_CAST_TIME;
	} else if (strcasecmp(data_type, "json") == 0 ||
		   (json_check && strcasecmp(data_type, "longtext") == 0)) {
		t = CANON_JSON;
	} else if (strcasecmp(data_type, "uuid") == 0) {
		t = CANON_UUID;
	} else if (strcasecmp(data_type, "char") == 0) {
		c->fixed_char = true; /* MySQL strips the padding; the other side may not */
	}
	/* everything else (varchar, text, enum, set, inet6, ...) compares as its text */
	c->type = t;
	/*
	 * One text per logical value in the pinned session: integers, DECIMAL (fixed scale,
	 * no negative zero), strings and bytes. Not temporal types (a zero date must never
	 * match itself), not BIT (delivered as 0/1 for a boolean), not JSON (kept as written).
	 */
	c->text_is_canonical = (t == CANON_NUMBER && strcmp(cast, MY_CAST_NUMBER) == 0) ||
			       (t == CANON_TEXT && strcmp(cast, MY_CAST_TEXT) == 0) ||
			       t == CANON_BINARY;
	free(c->cast_type);
	c->cast_type = xstrdup(cast);
}

void
mysql_bit_text(const char *in, size_t len, bool single_bit, char out[24])
{
	unsigned long long v = 0;
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | (unsigned char) in[i];
	if (single_bit)
		snprintf(out, 24, "%d", v != 0);
	else
		snprintf(out, 24, "%llu", v);
}

/* --- queries ------------------------------------------------------------------------ */

typedef bool (*catalog_row_fn)(void *ctx, MYSQL_ROW row, const unsigned long *lens);

/* query_rows runs a (small) catalog query and hands every row to fn. */
static bool
query_rows(struct my_endpoint *my, const char *sql, catalog_row_fn fn, void *ctx,
	   const char *context)
{
	if (my->conn == NULL || mysql_real_query(my->conn, sql, strlen(sql)) != 0) {
		my_log_error(my, context);
		return false;
	}
	MYSQL_RES *res = mysql_store_result(my->conn);
	if (res == NULL) {
		my_log_error(my, context);
		return false;
	}
	bool ok = true;
	MYSQL_ROW row;
	while (ok && (row = mysql_fetch_row(res)) != NULL)
		ok = fn(ctx, row, mysql_fetch_lengths(res));
	mysql_free_result(res);
	return ok;
}

/* bind_names binds @cc_p_0 = schema, @cc_p_1 = table for the catalog queries. */
static bool
bind_names(struct my_endpoint *my, const char *schema, const char *table)
{
	const char *vals[] = {schema, table};
	size_t lens[] = {strlen(schema), strlen(table)};
	const char *casts[] = {"CHAR", "CHAR"};
	return my_bind_vars(my, "p", vals, lens, NULL, 2, casts, "describe");
}

/* The table, matched case-insensitively here and exactly in pick_table. */
static const char *sql_find_table =
	"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS"
	"  FROM information_schema.TABLES"
	" WHERE TABLE_SCHEMA = @cc_p_0 AND TABLE_NAME = @cc_p_1";

/* Exact-name filters appended to the per-table catalog queries. */
#define EXACT_TABLE(schema_col)                                                         \
	" WHERE " schema_col " = @cc_p_0 AND TABLE_NAME = @cc_p_1"                      \
	"   AND CAST(" schema_col " AS BINARY) = CAST(@cc_p_0 AS BINARY)"                \
	"   AND CAST(TABLE_NAME AS BINARY) = CAST(@cc_p_1 AS BINARY)"

static const char *sql_columns =
	"SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE"
	"  FROM information_schema.COLUMNS" EXACT_TABLE("TABLE_SCHEMA")
	" ORDER BY ORDINAL_POSITION";

/* MariaDB only: JSON columns are LONGTEXT with a json_valid() CHECK constraint. */
static const char *sql_checks =
	"SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
	EXACT_TABLE("CONSTRAINT_SCHEMA");

/* Unique indexes, primary first; pick_key keeps those on whole, NOT NULL columns. */
static const char *sql_keys =
	"SELECT INDEX_NAME, COLUMN_NAME, SUB_PART"
	"  FROM information_schema.STATISTICS" EXACT_TABLE("TABLE_SCHEMA")
	"   AND NON_UNIQUE = 0"
	" ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX";

struct found_table {
	const char *schema, *table;
	int exact, loose;
	char *schema_out, *name_out; /* exact match, else the only loose one */
	char *loose_schema, *loose_name;
	int64_t rows;
};

static bool
collect_table(void *vctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	struct found_table *f = vctx;
	int64_t rows = -1;
	if (row[2] == NULL || !str_to_int64(row[2], &rows))
		rows = -1;
	if (strcmp(row[0], f->schema) == 0 && strcmp(row[1], f->table) == 0) {
		f->exact++;
		free(f->schema_out);
		free(f->name_out);
		f->schema_out = xstrdup(row[0]);
		f->name_out = xstrdup(row[1]);
		f->rows = rows;
	} else if (f->exact == 0) {
		f->loose++;
		free(f->loose_schema);
		free(f->loose_name);
		f->loose_schema = xstrdup(row[0]);
		f->loose_name = xstrdup(row[1]);
		f->rows = rows;
	}
	return true;
}

static bool
collect_column(void *vctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	struct table_desc *t = vctx;
	t->cols = xrealloc(t->cols, (size_t) (t->ncols + 1) * sizeof(*t->cols));
	struct column_desc *c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(row[0]);
	c->engine_type = xstrdup(row[2] ? row[2] : row[1]);
	c->nullable = row[3] && strcmp(row[3], "YES") == 0;
	mysql_type_map(row[1], row[2] ? row[2] : "", false, c);
	return true;
}

/* collect_check retypes the LONGTEXT column named in a json_valid(`col`) check. */
static bool
collect_check(void *vctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	struct table_desc *t = vctx;
	for (int i = 0; row[0] && i < t->ncols; i++) {
		struct column_desc *c = &t->cols[i];
		if (strcasecmp(c->engine_type, "longtext") != 0)
			continue;
		struct buf want;
		buf_init(&want);
		buf_append_str(&want, "json_valid(");
		my_append_ident(&want, c->name);
		buf_append_char(&want, ')');
		if (strcasecmp(row[0], buf_cstr(&want)) == 0)
			mysql_type_map("longtext", c->engine_type, true, c);
		buf_free(&want);
	}
	return true;
}

/* An index under consideration while its rows arrive in SEQ_IN_INDEX order. */
struct key_pick {
	struct table_desc *t;
	char *index;		/* current index name */
	int *cols;
	int ncols;
	bool usable;
	bool chosen;		/* a key was already chosen */
	bool chosen_primary;
	int *best;
	int nbest;
};

static void
key_pick_close(struct key_pick *k)
{
	if (k->index && k->usable && k->ncols > 0 &&
	    (!k->chosen || (!k->chosen_primary && k->ncols < k->nbest))) {
		free(k->best);
		k->best = k->cols;
		k->nbest = k->ncols;
		k->chosen = true;
		k->chosen_primary = strcmp(k->index, "PRIMARY") == 0;
		k->cols = NULL;
	}
	free(k->cols);
	free(k->index);
	k->cols = NULL;
	k->index = NULL;
	k->ncols = 0;
}

static bool
collect_key(void *vctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	struct key_pick *k = vctx;
	if (k->index == NULL || strcmp(k->index, row[0]) != 0) {
		key_pick_close(k);
		k->index = xstrdup(row[0]);
		k->usable = true;
	}
	int col = row[1] ? table_desc_find(k->t, row[1]) : -1;
	/* expression and prefix key parts do not identify a row by whole column values */
	if (col < 0 || row[2] != NULL || k->t->cols[col].nullable) {
		k->usable = false;
		return true;
	}
	k->cols = xrealloc(k->cols, (size_t) (k->ncols + 1) * sizeof(int));
	k->cols[k->ncols++] = col;
	return true;
}

static bool
read_database(void *ctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	if (row[0])
		*(char **) ctx = xstrdup(row[0]);
	return true;
}

bool
my_describe(struct endpoint *ep, const char *schema, const char *table,
	       struct table_desc *out)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	char *db = NULL;
	struct found_table f = {.rows = -1};
	struct key_pick k = {.t = out};
	bool ok = false;
	memset(out, 0, sizeof(*out));

	if (schema == NULL) {
		if (!query_rows(my, "SELECT DATABASE()", read_database, &db, "describe"))
			goto cleanup;
		if (db == NULL) {
			log_error("%s: table %s has no database and %s names none", ep->label, table,
				  ep->shown_uri);
			log_hint("give DATABASE.TABLE, or the database in the URI path "
				 "(mysql://user@host/db)");
			goto cleanup;
		}
		schema = db;
	}
	f.schema = schema;
	f.table = table;
	if (!bind_names(my, schema, table) ||
	    !query_rows(my, sql_find_table, collect_table, &f, "describe"))
		goto cleanup;
	if (f.exact == 0 && f.loose == 1) {
		f.schema_out = f.loose_schema;
		f.name_out = f.loose_name;
		f.loose_schema = f.loose_name = NULL;
	}
	if (f.schema_out == NULL) {
		log_error("%s: table %s.%s not found in %s%s", ep->label, schema, table, ep->shown_uri,
			  f.loose > 1 ? " (several tables differ from it only by case)" : "");
		log_hint("give DATABASE.TABLE as the server spells them");
		goto cleanup;
	}
	out->schema = f.schema_out;
	out->name = f.name_out;
	out->estimated_rows = f.rows;
	f.schema_out = f.name_out = NULL;

	if (!bind_names(my, out->schema, out->name) ||
	    !query_rows(my, sql_columns, collect_column, out, "describe columns") ||
	    (my->mariadb && !query_rows(my, sql_checks, collect_check, out, "describe checks")) ||
	    !query_rows(my, sql_keys, collect_key, &k, "describe key"))
		goto cleanup;
	key_pick_close(&k);
	if (k.chosen) {
		out->key = k.best;
		out->nkeys = k.nbest;
		out->key_is_primary = k.chosen_primary;
		k.best = NULL;
	}
	ok = true;

cleanup:
	key_pick_close(&k);
	free(k.best);
	free(db);
	free(f.schema_out);
	free(f.name_out);
	free(f.loose_schema);
	free(f.loose_name);
	if (!ok)
		table_desc_free(out);
	return ok;
}

struct list_ctx {
	table_name_fn fn;
	void *ctx;
};

static bool
list_row(void *vctx, MYSQL_ROW row, const unsigned long *lens)
{
	(void) lens;
	struct list_ctx *l = vctx;
	return l->fn(l->ctx, row[0], row[1], strcmp(row[2], "VIEW") == 0);
}

/* my_list_tables: user tables and views of every database this login can see. */
bool
my_list_tables(struct endpoint *ep, table_name_fn fn, void *ctx)
{
	struct list_ctx l = {fn, ctx};
	return query_rows((struct my_endpoint *) ep,
			  "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES"
			  " WHERE TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')"
			  "   AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema',"
			  "                            'performance_schema', 'sys')"
			  " ORDER BY TABLE_SCHEMA, TABLE_NAME",
			  list_row, &l, "list tables");
}
