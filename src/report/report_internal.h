/*
 * report/report_internal.h: the model every format writes from, the output writer, and
 * the escaping and JSON helpers (test-visible: tests/unit/test_report.c).
 */
#ifndef CROSSCHECK_REPORT_REPORT_INTERNAL_H
#define CROSSCHECK_REPORT_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"
#include "store/store.h"
#include "util/buf.h"

/* --- the model -------------------------------------------------------------------------- */

/* Failure kinds and states as the store spells them; index order is the report order. */
enum { KIND_MISSING_TARGET, KIND_MISSING_SOURCE, KIND_RECORD_DIFF, NKINDS };
enum { FSTATE_PENDING, FSTATE_CONFIRMED, FSTATE_RESOLVED, FSTATE_REPAIRED, NFSTATES };

extern const char *const report_kinds[NKINDS];
extern const char *const report_kind_labels[NKINDS]; /* "missing on target", ... */
extern const char *const report_fstates[NFSTATES];
/* The DMS-style table states, in display order. */
#define NTABLE_STATES 5
#define TSTATE_TABLE_ERROR 4 /* index of "Table error" */
extern const char *const report_table_states[NTABLE_STATES];

int report_kind_index(const char *kind);     /* -1 when unknown */
int report_fstate_index(const char *state); /* -1 when unknown */

struct report_table {
	/* every string owned */
	char *name, *target_table, *status, *state, *error, *key_columns, *columns;
	int64_t partitions, source_rows, target_rows, matched;
	int64_t missing_target, missing_source, record_diff; /* open: pending + confirmed */
	double elapsed_s;
	int64_t failures[NKINDS][NFSTATES]; /* failure rows by kind and state */
	int64_t failures_total;
};

struct report_checkpoint {
	bool present;
	int64_t id, verified_by;
	char *engine, *position, *gtid, *label, *taken_at; /* owned */
};

struct report_run {
	/* every string owned; NULL where the store has NULL */
	int64_t id;
	char *kind, *started_at, *finished_at, *status, *verdict, *source, *target, *options,
		*fingerprint, *tool_version;
	int exit_code; /* -1 when not finished */
	struct report_table *tables;
	int ntables;
	struct report_checkpoint checkpoint;
	/* totals over tables */
	int64_t source_rows, target_rows, matched, partitions;
	int64_t missing_target, missing_source, record_diff;
	int64_t failures[NFSTATES];
	int64_t failures_total;
	int64_t tables_in_state[NTABLE_STATES];
};

struct report {
	struct store *st;
	const struct report_options *o;
	struct report_run run;	     /* the reported run, in full */
	struct report_run *history;  /* o->last runs, oldest first (the run is the last) */
	int nhistory;		     /* entries, the reported run included */
	char generated_at[40];
	const char *version;	     /* of this crosscheck */
	/* output */
	FILE *out;
	struct buf b;		     /* flushed to out past REPORT_FLUSH bytes */
	bool failed;
};

#define REPORT_FLUSH (64 * 1024)

/* report_flush writes what b holds to out (always when force, else past REPORT_FLUSH). */
bool report_flush(struct report *r, bool force);

bool report_write_json(struct report *r);
bool report_write_html(struct report *r);
bool report_write_junit(struct report *r);
bool report_write_prometheus(struct report *r);
/* report_html_drift_svg draws the history's differences per run (report_svg.c). */
void report_html_drift_svg(struct report *r);
/* report_html_heat_strip draws one table's partitions, coloured by differences. */
bool report_html_heat_strip(struct report *r, const struct report_table *t);

/* The HTML template (reports/report.html.in), embedded by src/report/embed.py. */
extern const char report_html_template[];
extern const size_t report_html_template_len;

/* report_html_count writes n with thousands separators (1,234,567). */
void report_html_count(struct buf *b, int64_t n);
/* report_html_key writes a stored key as col=value pairs, escaped (plain: no markup). */
void report_html_key(struct buf *b, const char *key_json, bool plain);

/* --- escaping: one function for HTML and XML ------------------------------------------- */

/*
 * report_escape_markup appends s as HTML/XML text or attribute content: & < > " ' are
 * escaped; bytes that are not valid UTF-8 and control characters that XML 1.0 forbids
 * become U+FFFD, so a key from a hostile table can neither inject markup nor make the
 * document unparseable. NULL appends nothing.
 */
bool report_escape_markup(struct buf *b, const char *s, size_t len);
bool report_escape_markup_str(struct buf *b, const char *s);
/* report_escape_prom_label appends a Prometheus label value: \ " and newline escaped. */
bool report_escape_prom_label(struct buf *b, const char *s);

/* --- JSON text stored by the audit ---------------------------------------------------- */

/* report_json_valid checks that s is exactly one JSON value (depth-capped). */
bool report_json_valid(const char *s);

typedef bool (*json_member_fn)(void *ctx, const char *name, const char *value, bool is_string);
/*
 * report_json_each_member calls fn for the members of a flat JSON object (strings
 * decoded; other scalars as their text; nested values as their raw JSON). Returns false
 * when s is not an object. Names and values are borrowed for the call only.
 */
bool report_json_each_member(const char *s, json_member_fn fn, void *ctx);
/* report_json_each_string calls fn(ctx, string) for each string of a JSON array. */
bool report_json_each_string(const char *s, bool (*fn)(void *ctx, const char *v), void *ctx);

/* --- time ------------------------------------------------------------------------------ */

/* report_parse_time reads the store's 2026-11-21T06:03:41.123Z into seconds since 1970. */
bool report_parse_time(const char *s, double *epoch);

#endif
