/*
 * endpoint/mysql_internal.h: the MySQL/MariaDB endpoint's pieces shared between mysql.c
 * (connection, session, binding), mysql_read.c (SQL, streaming) and mysql_catalog.c
 * (describe, table listing, the type matrix). Test-visible: the type mapping is a pure function with its own unit test.
 */
#ifndef CROSSCHECK_ENDPOINT_MYSQL_INTERNAL_H
#define CROSSCHECK_ENDPOINT_MYSQL_INTERNAL_H

#include <mysql.h>

#include "endpoint/endpoint.h"

struct my_endpoint {
	struct endpoint base;
	MYSQL *conn;		/* NULL after a failed reconnect: every call then fails */
	char *uri;		/* owned, for reconnecting after an abandoned stream; secret */
	struct endpoint_options opts;
	bool mariadb;		/* server flavor: timeout variable, JSON-as-LONGTEXT */
	unsigned int last_errno;
	char sqlstate[6];
};

/*
 * How a column's values are bound and delivered. The cast names are the MySQL CAST
 * targets a bound canonical value goes through (stored in column_desc.cast_type), and
 * they also pick the per-value conversion on delivery.
 */
#define MY_CAST_NUMBER "decimal"     /* integers, DECIMAL, YEAR */
#define MY_CAST_DOUBLE "double"      /* FLOAT, DOUBLE */
#define MY_CAST_BIT "bit"	     /* BIT(n): delivered as "0"/"1" (n = 1) or decimal */
#define MY_CAST_TEXT "char"	     /* CHAR, VARCHAR, TEXT, ENUM, SET, JSON, UUID, ... */
#define MY_CAST_BINARY "binary"      /* BINARY, VARBINARY, BLOB, GEOMETRY */
#define MY_CAST_DATE "date"
#define MY_CAST_DATETIME "datetime"  /* zone-less: taken in the configured zone */
#define MY_CAST_TIMESTAMP "timestamp" /* an instant: delivered with a "Z" (session is UTC) */
#define MY_CAST_TIME "time"

/*
 * mysql_type_map fills c->type, cast_type, single_float and fixed_char from the
 * information_schema DATA_TYPE and COLUMN_TYPE (lowercase, e.g. "tinyint",
 * "tinyint(1) unsigned"); json_check says MariaDB's json_valid() CHECK guards the
 * column, which is how MariaDB spells JSON (a LONGTEXT).
 */
void mysql_type_map(const char *data_type, const char *column_type, bool json_check,
		    struct column_desc *c);

/* mysql_bit_text converts BIT(n) bytes (big endian) to "0"/"1" (n = 1) or decimal. */
void mysql_bit_text(const char *in, size_t len, bool single_bit, char out[24]);

/* mysql.c: errors, statements without results, and binding (see mysql.c) */
void my_log_error(struct my_endpoint *my, const char *context);
bool my_query(struct my_endpoint *my, const char *sql, const char *context);
/* my_bind_vars sets @cc_<prefix>_<i> = CAST(? AS casts[i]) with vals as parameters */
bool my_bind_vars(struct my_endpoint *my, const char *prefix, const char *const *vals,
		  const size_t *lens, const bool *is_binary, int n, const char *const *casts,
		  const char *context);
/* my_bind_keys binds nkeys canonical keys as @cc_<prefix>_<i * r->nkeys + k> */
bool my_bind_keys(struct my_endpoint *my, const struct scan_request *r, const char *prefix,
		  const char *const *keys, const size_t *keylens, int nkeys, const char *context);
/* my_abandon_stream cuts a connection whose result the caller stopped reading, and
 * opens it again */
void my_abandon_stream(struct my_endpoint *my, MYSQL_RES *res);

/* mysql_read.c: SQL text and row streaming */
void my_append_ident(struct buf *sql, const char *name);
void my_append_table(struct buf *sql, const struct table_desc *t);
/* my_append_key_list writes the key columns as they are compared (text by bytes) */
void my_append_key_list(struct buf *sql, const struct scan_request *r);
/* mysql_write.c */
bool my_cdc_position(struct endpoint *ep, const char *slot, struct buf *position, struct buf *gtid);
bool my_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
		   const size_t *keylens, int nkeys, const struct value *const *rows, int nrows);
bool my_single_row(struct my_endpoint *my, const char *sql,
		   bool (*fn)(void *, MYSQL_ROW, unsigned long *), void *ctx, const char *context);
bool my_scan(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx);
bool my_fetch(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	      const size_t *keylens, int nkeys, row_fn fn, void *ctx);
bool my_count(struct endpoint *ep, const struct scan_request *r, int64_t *out);
bool my_key_bounds(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx,
		   bool *empty);

/* mysql_catalog.c */
bool my_describe(struct endpoint *ep, const char *schema, const char *table,
		    struct table_desc *out);
bool my_list_tables(struct endpoint *ep, table_name_fn fn, void *ctx);

#endif
