/*
 * endpoint/pg_internal.h: the PostgreSQL endpoint's pieces shared between its files:
 * pg.c (connection, SQL building, bound settings, reads), pg_catalog.c (describe),
 * pg_copy.c (COPY text decoding) and pg_write.c (clock, lag, position, repair).
 * Test-visible.
 */
#ifndef CROSSCHECK_ENDPOINT_PG_INTERNAL_H
#define CROSSCHECK_ENDPOINT_PG_INTERNAL_H

#include <libpq-fe.h>

#include "endpoint/endpoint.h"

struct pg_endpoint {
	struct endpoint base;
	PGconn *conn;
	char sqlstate[6];
};

/*
 * A decoder of COPY text rows: splits a row on tabs, undoes backslash escapes, turns \N
 * into NULL and bytea hex into raw bytes. Values point into the COPY buffer when a field
 * has no escapes, or into `scratch` otherwise; valid until the next row.
 */
struct pg_copy_decoder {
	int ncols;
	bool *is_bytea;	    /* per delivered column */
	struct value *vals;
	size_t *offsets;    /* scratch offsets of decoded fields, (size_t)-1 if in place */
	struct buf scratch;
};

void pg_copy_decoder_init(struct pg_copy_decoder *d, int ncols, const bool *is_bytea);
void pg_copy_decoder_free(struct pg_copy_decoder *d);
/* pg_copy_decode_row decodes one COPY text row (with or without its final newline). */
bool pg_copy_decode_row(struct pg_copy_decoder *d, const char *row, size_t len);

/* pg.c: errors, statements, SQL building, bound settings and COPY streaming */
void pg_log_error(struct pg_endpoint *pg, const PGresult *res, const char *context);
bool pg_exec(struct pg_endpoint *pg, const char *sql, const char *context);
void pg_append_ident(struct pg_endpoint *pg, struct buf *sql, const char *name);
void pg_append_table(struct pg_endpoint *pg, struct buf *sql, const struct table_desc *t);
/* pg_append_key_expr: the expression a key column is ordered and bounded by */
void pg_append_key_expr(struct pg_endpoint *pg, struct buf *sql, const struct column_desc *c);
void pg_append_setting_ref(struct buf *sql, const char *name, int k, const struct column_desc *c,
			   bool array);
void pg_append_key_tuple(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r);
void pg_append_select(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r);
void pg_append_order_by(struct pg_endpoint *pg, struct buf *sql, const struct scan_request *r);
bool pg_set_keylist_settings(struct pg_endpoint *pg, const struct scan_request *r,
			     const char *const *keys, const size_t *keylens, int nkeys);
bool pg_begin_read(struct pg_endpoint *pg);
void pg_end_read(struct pg_endpoint *pg);
bool pg_run_copy(struct pg_endpoint *pg, const char *query, const struct scan_request *r, row_fn fn,
		 void *ctx, const char *context);

/* pg_catalog.c */
bool pg_describe(struct endpoint *ep, const char *schema, const char *table, struct table_desc *out);

/* pg_write.c */
bool pg_server_time(struct endpoint *ep, struct buf *out);
bool pg_replication_lag(struct endpoint *ep, const char *query, double *seconds, bool *known);
bool pg_cdc_position(struct endpoint *ep, const char *slot, struct buf *position, struct buf *gtid);
bool pg_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
		   const size_t *keylens, int nkeys, const struct value *const *rows, int nrows);
bool pg_recent_key_range(struct endpoint *ep, const struct scan_request *r, int lag_col,
			 const char *since, row_fn fn, void *ctx, bool *empty);

#endif
