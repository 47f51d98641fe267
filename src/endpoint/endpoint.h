/*
 * endpoint/endpoint.h: the one interface through which crosscheck reaches any engine.
 *
 * Every engine implements the same operations; an engine that cannot do one says so
 * with a clear error, never a silent fallback that changes results. Endpoints deliver
 * values as decoded text (binary columns as raw bytes) through a row callback; they know
 * nothing of hashing, comparison or the store. One endpoint is one connection, used by
 * one thread at a time.
 *
 * Key ranges and key lists arrive as canonical keys (core/row.h framing); each engine
 * turns those canonical values back into bound parameters of its own dialect, and must
 * order rows by the canonical key order (core/canon.h canon_compare): numbers
 * numerically, text by bytes (the "C" collation), and so on.
 */
#ifndef CROSSCHECK_ENDPOINT_ENDPOINT_H
#define CROSSCHECK_ENDPOINT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/canon.h"
#include "core/row.h"
#include "util/buf.h"

struct column_desc {
	char *name;
	char *engine_type;	/* the engine's own name, e.g. "numeric(12,2)" */
	char *cast_type;	/* type name for casts of bound values, e.g. "numeric" */
	enum canon_type type;	/* this side's canonical type */
	bool single_float;	/* float4 / FLOAT: fewer significant digits are meaningful */
	bool fixed_char;	/* CHAR(n): the engine may pad with spaces */
	bool nullable;
	bool byte_order_text;	/* text already compared by bytes (C collation) */
	bool text_is_canonical; /* the engine's text of this type is a function of the
				 * logical value alone (see colplan.identity) */
};

struct table_desc {
	char *schema;		/* as resolved on the engine */
	char *name;
	struct column_desc *cols;
	int ncols;
	int *key;		/* indices into cols, in key order */
	int nkeys;
	bool key_is_primary;	/* false when a unique index was chosen */
	int64_t estimated_rows; /* -1 when unknown */
};

void table_desc_free(struct table_desc *t);
/* table_desc_find returns the index of a column by exact name, or -1. */
int table_desc_find(const struct table_desc *t, const char *name);

/* What to read: which columns (in delivery order), which key, which range. */
struct scan_request {
	const struct table_desc *table;
	const int *cols;	/* indices into table->cols, delivery order */
	int ncols;
	const int *key;		/* indices into table->cols; the ORDER BY and range key */
	int nkeys;
	const char *lo;		/* canonical key, inclusive; NULL = unbounded */
	size_t lolen;
	const char *hi;		/* canonical key, exclusive; NULL = unbounded */
	size_t hilen;
};

/* Called once per row with ncols values in request order; false stops the read. */
typedef bool (*row_fn)(void *ctx, const struct value *vals);

/* Called once per table by list_tables; false stops the listing. */
typedef bool (*table_name_fn)(void *ctx, const char *schema, const char *name, bool is_view);

/* Called once per problem with a side's files; line 0 = the whole object. */
typedef bool (*file_problem_fn)(void *ctx, const char *object, int64_t line, const char *reason);

struct endpoint_options {
	const char *label;	     /* "source" or "target": in every error message */
	int statement_timeout_ms;    /* 0 = none */
	int connect_timeout_s;
	bool read_write;	     /* repair only; audits are read-only */
	const char *password;	     /* NULL = the engine's own sources (PGPASSWORD, .pgpass,
				      * MYSQL_PWD, ...); borrowed, never logged or stored */
};

struct endpoint;

struct endpoint_ops {
	const char *engine;
	bool (*describe)(struct endpoint *ep, const char *schema, const char *table,
			 struct table_desc *out);
	/* key_bounds: calls fn twice (min then max) with the key values; *empty if no row */
	bool (*key_bounds)(struct endpoint *ep, const struct scan_request *r, row_fn fn,
			   void *ctx, bool *empty);
	bool (*count)(struct endpoint *ep, const struct scan_request *r, int64_t *out);
	/* scan: the range's rows in canonical key order, streamed */
	bool (*scan)(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx);
	/* fetch: the current rows for the given canonical keys, any order */
	bool (*fetch)(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
		      const size_t *keylens, int nkeys, row_fn fn, void *ctx);
	/* optional (NULL when the engine has none): */
	/* server_time: the server's current time as text (the clock of the lag window) */
	bool (*server_time)(struct endpoint *ep, struct buf *out);
	/* replication_lag: how far behind this server (or its replicas) is, in seconds;
	 * query, when given, is the user's SQL returning that number; *known false when
	 * the server is in no replication the engine can see */
	bool (*replication_lag)(struct endpoint *ep, const char *query, double *seconds,
				bool *known);
	/* cdc_position: the source's current replication position (PostgreSQL WAL LSN, or
	 * the confirmed LSN of a named slot; MySQL binlog file:pos) and, where the engine
	 * has one, its GTID set */
	bool (*cdc_position)(struct endpoint *ep, const char *slot, struct buf *position,
			     struct buf *gtid);
	/*
	 * write_rows (repair; the endpoint is opened read_write): in one transaction, delete
	 * the rows of the given canonical keys, then insert rows (values in r->cols order,
	 * binary columns as raw bytes). Delete-then-insert is an idempotent upsert that needs
	 * no unique constraint on the target.
	 */
	bool (*write_rows)(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
			   const size_t *keylens, int nkeys, const struct value *const *rows,
			   int nrows);
	/* recent_key_range: the smallest and largest key (fn called twice) among rows whose
	 * column lag_col (an index into r->table->cols) is at or after `since` (a canonical
	 * timestamp); *empty when there is none. Drift checks use it to revisit the
	 * partitions that changed. */
	bool (*recent_key_range)(struct endpoint *ep, const struct scan_request *r, int lag_col,
				 const char *since, row_fn fn, void *ctx, bool *empty);
	/* list_tables: every user table and view (DMS selection rules with wildcards) */
	bool (*list_tables)(struct endpoint *ep, table_name_fn fn, void *ctx);
	/*
	 * describe_from (a side whose data carries no types: the CSV files of an S3 target):
	 * describe the table from the other side's description, which gives its columns, their
	 * canonical types and its key; the engine checks what it can (the folder, the access).
	 * When an engine has it, the audit calls it instead of describe.
	 */
	bool (*describe_from)(struct endpoint *ep, const char *schema, const char *table,
			      const struct table_desc *peer, struct table_desc *out);
	/* row_origin: where the row of a canonical key came from, appended to out as text
	 * (for files: the object and line that last wrote or deleted it); nothing when no
	 * object wrote it. The audit stores it with the failure, as evidence. */
	bool (*row_origin)(struct endpoint *ep, const struct scan_request *r, const char *key,
			   size_t keylen, struct buf *out);
	/* file_problems: problems with the side's files found while reading the table (an
	 * object, a line, a reason), for the audit to record */
	bool (*file_problems)(struct endpoint *ep, const struct scan_request *r,
			      file_problem_fn fn, void *ctx);
	/*
	 * change_file (a side made of files): a change file in the engine's own format which,
	 * applied after the existing ones, upserts rows (every column of r->table, in its
	 * order: r->cols covers them all) and deletes the canonical keys. *name gets the
	 * object key the file should be given (named by the current time, so it sorts last).
	 */
	bool (*change_file)(struct endpoint *ep, const struct scan_request *r,
			    const struct value *const *rows, int nrows, const char *const *keys,
			    const size_t *keylens, int nkeys, struct buf *name, struct buf *out);
	void (*close)(struct endpoint *ep);
};

struct endpoint {
	const struct endpoint_ops *ops;
	char *label;
	char *shown_uri;	/* redacted */
};

/*
 * endpoint_open picks the engine by URI scheme and connects. On failure it has logged a
 * one-line error naming the side and the redacted URI, and returns false.
 */
bool endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out);
void endpoint_close(struct endpoint *ep);
/* endpoint_check_uri validates a URI's shape and scheme without connecting. */
bool endpoint_check_uri(const char *uri, const char *label);

/* Engine constructors, used by endpoint_open. */
bool pg_endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out);
bool mysql_endpoint_open(const char *uri, const struct endpoint_options *opts,
			 struct endpoint **out);
bool s3_endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out);

/* Shared helpers for engines. */
void endpoint_base_init(struct endpoint *ep, const struct endpoint_ops *ops, const char *uri,
			const struct endpoint_options *opts);
void endpoint_base_free(struct endpoint *ep);
/* endpoint_hex_decode turns "\x4142" / "4142" into raw bytes appended to out. */
bool endpoint_hex_decode(const char *in, size_t len, struct buf *out);
/* endpoint_bind_text appends the engine-neutral parameter text of a canonical value
 * (binary as \x hex, as PostgreSQL's bytea input reads it). */
bool endpoint_bind_text(enum canon_type t, const char *v, size_t len, struct buf *out);

#endif
