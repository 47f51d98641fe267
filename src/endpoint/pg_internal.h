/*
 * endpoint/pg_internal.h: the PostgreSQL endpoint's pieces shared between pg.c (connection,
 * catalog, SQL) and pg_copy.c (COPY text decoding). Test-visible.
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

#endif
