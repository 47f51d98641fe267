/*
 * endpoint/mysql_read.c: reading MySQL/MariaDB rows: the SQL of ranges and key lists,
 * streaming with mysql_use_result, and the few values whose text is converted on the
 * way (BIT, TIMESTAMP). See mysql.c for the session and how values are bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/mysql_internal.h"
#include "util/log.h"
#include "util/str.h"

/* A fetch binds at most this many keys per statement (the protocol allows 65535
 * parameters; a smaller IN list keeps the statement cheap to parse). */
#define FETCH_CHUNK 500

/* --- SQL building ------------------------------------------------------------------- */

void
my_append_ident(struct buf *sql, const char *name)
{
	buf_append_char(sql, '`');
	for (const char *p = name; *p; p++) {
		if (*p == '`')
			buf_append_char(sql, '`');
		buf_append_char(sql, *p);
	}
	buf_append_char(sql, '`');
}

void
my_append_table(struct buf *sql, const struct table_desc *t)
{
	my_append_ident(sql, t->schema);
	buf_append_char(sql, '.');
	my_append_ident(sql, t->name);
}

/* op_context names an operation and its table for error messages; caller frees. */
static char *
op_context(const char *op, const struct scan_request *r)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s %s.%s", op, r->table->schema, r->table->name);
	return buf_steal(&b);
}

/* append_key_expr writes the expression a key column is ordered and bounded by. */
static void
append_key_expr(struct buf *sql, const struct column_desc *c)
{
	if (strcmp(c->cast_type, MY_CAST_TEXT) == 0) {
		buf_append_str(sql, "CAST(CONVERT(");
		my_append_ident(sql, c->name);
		buf_append_str(sql, " USING utf8mb4) AS BINARY)");
	} else {
		my_append_ident(sql, c->name);
	}
}

void
my_append_key_list(struct buf *sql, const struct scan_request *r)
{
	for (int k = 0; k < r->nkeys; k++) {
		if (k)
			buf_append_str(sql, ", ");
		append_key_expr(sql, &r->table->cols[r->key[k]]);
	}
}

/*
 * append_bound writes key OP bound. A composite key is a row comparison, which MySQL
 * and MariaDB evaluate lexicographically but do not always use for an index range, so
 * the leading column's own comparison goes first for the optimizer.
 */
static void
append_bound(struct buf *sql, const struct scan_request *r, const char *name, const char *op,
	     const char *lead_op)
{
	append_key_expr(sql, &r->table->cols[r->key[0]]);
	buf_printf(sql, " %s @cc_%s_0", r->nkeys > 1 ? lead_op : op, name);
	if (r->nkeys == 1)
		return;
	buf_append_str(sql, " AND (");
	my_append_key_list(sql, r);
	buf_printf(sql, ") %s (", op);
	for (int k = 0; k < r->nkeys; k++)
		buf_printf(sql, "%s@cc_%s_%d", k ? ", " : "", name, k);
	buf_append_char(sql, ')');
}

static void
append_select(struct buf *sql, const struct scan_request *r)
{
	buf_append_str(sql, "SELECT ");
	for (int i = 0; i < r->ncols; i++) {
		if (i)
			buf_append_str(sql, ", ");
		my_append_ident(sql, r->table->cols[r->cols[i]].name);
	}
	buf_append_str(sql, " FROM ");
	my_append_table(sql, r->table);
}

static void
append_range_where(struct buf *sql, const struct scan_request *r)
{
	if (r->lo == NULL && r->hi == NULL)
		return;
	buf_append_str(sql, " WHERE ");
	if (r->lo)
		append_bound(sql, r, "lo", ">=", ">=");
	if (r->lo && r->hi)
		buf_append_str(sql, " AND ");
	if (r->hi)
		append_bound(sql, r, "hi", "<", "<=");
}

static bool
bind_range(struct my_endpoint *my, const struct scan_request *r, const char *context)
{
	return (r->lo == NULL || my_bind_keys(my, r, "lo", &r->lo, &r->lolen, 1, context)) &&
	       (r->hi == NULL || my_bind_keys(my, r, "hi", &r->hi, &r->hilen, 1, context));
}

static bool
begin_read(struct my_endpoint *my)
{
	return my_query(my,
			my->opts.read_write ? "START TRANSACTION WITH CONSISTENT SNAPSHOT"
					    : "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
			"begin");
}

static void
end_read(struct my_endpoint *my)
{
	if (my->conn)
		mysql_real_query(my->conn, "COMMIT", 6);
}

/* --- streaming ---------------------------------------------------------------------- */

/*
 * A delivered row: text as the server sent it, except BIT (raw bytes -> "0"/"1" or a
 * decimal) and TIMESTAMP (an instant in the UTC session -> text with a "Z").
 */
struct row_conv {
	int ncols;
	char *kind;		/* per column: 'b' bit(1), 'B' bit(n), 't' timestamp, 0 as is */
	char (*text)[40];	/* converted text per column */
	struct value *vals;
};

static void
row_conv_init(struct row_conv *rc, const struct table_desc *t, const int *cols, int ncols)
{
	rc->ncols = ncols;
	rc->kind = xcalloc((size_t) ncols, 1);
	rc->text = xcalloc((size_t) ncols, sizeof(*rc->text));
	rc->vals = xcalloc((size_t) ncols, sizeof(struct value));
	for (int i = 0; i < ncols; i++) {
		const struct column_desc *c = &t->cols[cols[i]];
		if (strcmp(c->cast_type, MY_CAST_BIT) == 0)
			rc->kind[i] = c->type == CANON_BOOL ? 'b' : 'B';
		else if (strcmp(c->cast_type, MY_CAST_TIMESTAMP) == 0)
			rc->kind[i] = 't';
	}
}

static void
row_conv_free(struct row_conv *rc)
{
	free(rc->kind);
	free(rc->text);
	free(rc->vals);
}

static const struct value *
row_conv_apply(struct row_conv *rc, MYSQL_ROW row, const unsigned long *lens)
{
	for (int i = 0; i < rc->ncols; i++) {
		struct value *v = &rc->vals[i];
		v->null = row[i] == NULL;
		v->data = row[i] ? row[i] : "";
		v->len = row[i] ? lens[i] : 0;
		if (v->null || rc->kind[i] == 0)
			continue;
		if (rc->kind[i] == 't' && v->len < sizeof(rc->text[i]) - 1) {
			memcpy(rc->text[i], v->data, v->len);
			rc->text[i][v->len] = 'Z';
			v->len++;
		} else if (rc->kind[i] != 't') {
			mysql_bit_text(v->data, v->len, rc->kind[i] == 'b', rc->text[i]);
			v->len = strlen(rc->text[i]);
		}
		v->data = rc->text[i];
	}
	return rc->vals;
}

/*
 * stream runs a query with mysql_use_result and hands each row to fn. When fn stops
 * the read, the rest is abandoned (see abandon_stream).
 */
static bool
stream(struct my_endpoint *my, const char *sql, const struct scan_request *r, const int *cols,
       int ncols, row_fn fn, void *ctx, const char *context)
{
	if (my->conn == NULL || mysql_real_query(my->conn, sql, strlen(sql)) != 0) {
		my_log_error(my, context);
		return false;
	}
	MYSQL_RES *res = mysql_use_result(my->conn);
	if (res == NULL) {
		my_log_error(my, context);
		return false;
	}
	if ((int) mysql_num_fields(res) != ncols) {
		log_error("%s: %s: expected %d columns from %s.%s, got %u", my->base.label, context,
			  ncols, r->table->schema, r->table->name, mysql_num_fields(res));
		my_abandon_stream(my, res);
		return false;
	}
	struct row_conv rc;
	row_conv_init(&rc, r->table, cols, ncols);
	bool ok = true;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (!fn(ctx, row_conv_apply(&rc, row, mysql_fetch_lengths(res)))) {
			my_abandon_stream(my, res);
			row_conv_free(&rc);
			return false;
		}
	}
	if (mysql_errno(my->conn) != 0) {
		my_log_error(my, context);
		ok = false;
	}
	mysql_free_result(res);
	row_conv_free(&rc);
	return ok;
}

bool
my_scan(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	append_select(&q, r);
	append_range_where(&q, r);
	buf_append_str(&q, " ORDER BY ");
	my_append_key_list(&q, r);
	char *what = op_context("scan", r);
	bool ok = bind_range(my, r, what) && begin_read(my) &&
		  stream(my, buf_cstr(&q), r, r->cols, r->ncols, fn, ctx, what);
	end_read(my);
	free(what);
	buf_free(&q);
	return ok;
}

/* my_fetch reads the rows of a key list, FETCH_CHUNK keys per statement. */
bool
my_fetch(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	 const size_t *keylens, int nkeys, row_fn fn, void *ctx)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	char *what = op_context("fetch", r);
	bool ok = true;
	for (int start = 0; ok && start < nkeys; start += FETCH_CHUNK) {
		int n = nkeys - start < FETCH_CHUNK ? nkeys - start : FETCH_CHUNK;
		buf_reset(&q);
		append_select(&q, r);
		buf_append_str(&q, r->nkeys > 1 ? " WHERE (" : " WHERE ");
		my_append_key_list(&q, r);
		buf_append_str(&q, r->nkeys > 1 ? ") IN (" : " IN (");
		for (int i = 0; i < n; i++) {
			buf_append_str(&q, i ? ", " : "");
			if (r->nkeys > 1)
				buf_append_char(&q, '(');
			for (int k = 0; k < r->nkeys; k++)
				buf_printf(&q, "%s@cc_k_%d", k ? ", " : "", i * r->nkeys + k);
			if (r->nkeys > 1)
				buf_append_char(&q, ')');
		}
		buf_append_char(&q, ')');
		ok = my_bind_keys(my, r, "k", keys + start, keylens + start, n, what) &&
		     begin_read(my) && stream(my, buf_cstr(&q), r, r->cols, r->ncols, fn, ctx, what);
		end_read(my);
	}
	free(what);
	buf_free(&q);
	return ok;
}

/* my_single_row runs a query expected to return one row and hands it to fn. */
bool
my_single_row(struct my_endpoint *my, const char *sql, bool (*fn)(void *, MYSQL_ROW, unsigned long *),
	   void *ctx, const char *context)
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
	MYSQL_ROW row = mysql_fetch_row(res);
	bool ok = row != NULL && fn(ctx, row, mysql_fetch_lengths(res));
	if (row == NULL)
		log_error("%s: %s: no row returned", my->base.label, context);
	mysql_free_result(res);
	return ok;
}

static bool
read_count(void *ctx, MYSQL_ROW row, unsigned long *lens)
{
	(void) lens;
	return row[0] && str_to_int64(row[0], ctx);
}

bool
my_count(struct endpoint *ep, const struct scan_request *r, int64_t *out)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	buf_append_str(&q, "SELECT COUNT(*) FROM ");
	my_append_table(&q, r->table);
	append_range_where(&q, r);
	char *what = op_context("count", r);
	bool ok = bind_range(my, r, what) && begin_read(my) &&
		  my_single_row(my, buf_cstr(&q), read_count, out, what);
	free(what);
	end_read(my);
	buf_free(&q);
	return ok;
}

struct bounds_ctx {
	struct row_conv rc;
	row_fn fn;
	void *ctx;
	bool *empty;
};

static bool
read_bounds(void *vctx, MYSQL_ROW row, unsigned long *lens)
{
	struct bounds_ctx *b = vctx;
	if (row[0] == NULL)
		return true; /* no row at all */
	*b->empty = false;
	for (int i = 0; i < 2; i++) {
		MYSQL_ROW one = &row[i];
		if (!b->fn(b->ctx, row_conv_apply(&b->rc, one, &lens[i])))
			return false;
	}
	return true;
}

/* key_bounds: min and max of a single-column key (the integer planner's input). */
bool
my_key_bounds(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx,
	      bool *empty)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	*empty = true;
	if (r->nkeys != 1) {
		log_error("%s: key bounds need a single-column key", ep->label);
		return false;
	}
	struct buf q;
	buf_init(&q);
	const struct column_desc *c = &r->table->cols[r->key[0]];
	buf_append_str(&q, "SELECT MIN(");
	append_key_expr(&q, c);
	buf_append_str(&q, "), MAX(");
	append_key_expr(&q, c);
	buf_append_str(&q, ") FROM ");
	my_append_table(&q, r->table);
	struct bounds_ctx b = {.fn = fn, .ctx = ctx, .empty = empty};
	row_conv_init(&b.rc, r->table, r->key, 1);
	char *what = op_context("key bounds", r);
	bool ok = my_single_row(my, buf_cstr(&q), read_bounds, &b, what);
	free(what);
	row_conv_free(&b.rc);
	buf_free(&q);
	return ok;
}

