/*
 * cli/dms_failures.h: rows of AWS DMS's validation failure table, read and written.
 *
 * DMS records the rows its validation could not match in
 * awsdms_control.awsdms_validation_failures_v1 on the target: TASK_NAME, TABLE_OWNER,
 * TABLE_NAME, FAILURE_TIME, KEY_TYPE ('Row'), KEY (JSON {"key": ["v1", ...]}, the key
 * columns' values in key order), FAILURE_TYPE (RECORD_DIFF | MISSING_SOURCE |
 * MISSING_TARGET, the names crosscheck uses too) and DETAILS (JSON of the differing
 * values). This module knows that shape and nothing of connections or the store: it
 * parses dumps of the table (a JSON array, JSON lines, or CSV with a header, as psql
 * writes them), turns a KEY into its values and back, reads the column names out of DETAILS
 * (never the values: crosscheck stores no row values), converts FAILURE_TIME, and
 * writes crosscheck failures as rows of that table (JSON or CSV).
 */
#ifndef CROSSCHECK_CLI_DMS_FAILURES_H
#define CROSSCHECK_CLI_DMS_FAILURES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/row.h"
#include "util/buf.h"
#include "util/str.h"

enum dms_field {
	DMS_TASK_NAME,
	DMS_TABLE_OWNER,
	DMS_TABLE_NAME,
	DMS_FAILURE_TIME,
	DMS_KEY_TYPE,
	DMS_KEY,
	DMS_FAILURE_TYPE,
	DMS_DETAILS,
	DMS_NFIELDS
};

/* The table's column names, in its column order. */
extern const char *const dms_field_names[DMS_NFIELDS];

/* One row of the failure table as read: every field as text, NULL when null/absent. */
struct dms_row {
	int row;		  /* 1-based, in input order */
	int line;		  /* CSV: the line the row starts on; 0 otherwise */
	char *f[DMS_NFIELDS];	  /* owned */
};

struct dms_rows {
	struct dms_row *rows;
	int n;
};

/*
 * dms_rows_parse reads a dump of the failure table: a JSON array of objects, JSON
 * objects one after another (JSON lines), or CSV with a header line. Field names match
 * the column names case-insensitively; other fields are ignored; a missing required
 * column is an error. Non-string JSON values (a KEY dumped as jsonb) become their JSON
 * text. Logs one error naming origin and the row (or line) and returns false.
 */
bool dms_rows_parse(const char *text, size_t len, const char *origin, struct dms_rows *out);
/* dms_rows_add appends a row of fields (borrowed; copied). */
void dms_rows_add(struct dms_rows *r, const char *const *fields, int line);
void dms_rows_free(struct dms_rows *r);

/* dms_failure_type_ok: one of the three kinds (exactly, as DMS writes them). */
bool dms_failure_type_ok(const char *t);

/*
 * dms_key_values reads a KEY ({"key": ["3451491"]}) into its values in key order. A
 * number is taken as its text. *err names the problem (a NULL value: DMS cannot
 * validate NULL keys either).
 */
bool dms_key_values(const char *key, struct strlist *vals, const char **err);

/*
 * dms_key_from_canonical appends the KEY of a canonical key (core/row.h framing):
 * {"key": ["v1", "v2"]} with each value's display text (binary as \x hex).
 */
bool dms_key_from_canonical(const char *key, size_t keylen, struct buf *out);

/*
 * dms_key_encode gives the canonical key bytes of DMS key values under a table's compare
 * layout: each value read as its key column's compare type with that column's options,
 * exactly as an audit encodes the value the engine returns, so that a recheck or repair
 * finds the same row. Binary key columns take \x or 0x hex. On a value that cannot be
 * read, *bad is its position and *err why. key is reset first.
 */
bool dms_key_encode(const struct row_layout *l, const struct strlist *vals, struct buf *key,
		    int *bad, const char **err);

/*
 * dms_details_columns appends to names the column names DETAILS speaks of: the keys of
 * its objects (DMS writes [[{"COL": src}, {"COL": tgt}]], sometimes with single
 * quotes), or the "columns" array crosscheck exports. Values are never kept. Text it
 * cannot read gives nothing; names are deduplicated, in first-seen order.
 */
void dms_details_columns(const char *details, struct strlist *names);

/* dms_time_to_iso reads a FAILURE_TIME (UTC, "2020-09-17 21:40:32[.ffffff]", ISO with T
 * or a zone also accepted) into crosscheck's "2020-09-17T21:40:32.000Z" (iso[40]). */
bool dms_time_to_iso(const char *t, char *iso, size_t size);
/* dms_time_from_iso writes crosscheck's ISO time as "2020-09-17 21:40:32" (out[20]). */
void dms_time_from_iso(const char *iso, char *out, size_t size);

/* One crosscheck failure in the failure table's shape (all fields borrowed). */
struct dms_export_row {
	const char *task_name;
	const char *table_owner;
	const char *table_name;
	const char *failure_time; /* DMS format */
	const char *key;	  /* KEY text */
	const char *failure_type;
	const char *details;	  /* DETAILS text */
};

/* dms_csv_header appends the CSV header line. */
void dms_csv_header(struct buf *out);
/* dms_export_append appends one row: a JSON object (KEY and DETAILS as JSON text in
 * strings, as the table holds them) or a CSV line (RFC 4180 quoting). */
void dms_export_append(struct buf *out, bool csv, const struct dms_export_row *r);

#endif
