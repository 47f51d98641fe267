/*
 * report/report.h: reports of a run, read from the store only.
 *
 * Four formats from one loaded model of a run: JSON (versioned schema in
 * reports/report.schema.json), one self-contained HTML file (template in reports/,
 * embedded at build time), JUnit XML (one testcase per table) and a Prometheus textfile.
 * Failures are streamed from the store, never held in memory, so a run with a million
 * of them reports in seconds with flat memory.
 */
#ifndef CROSSCHECK_REPORT_REPORT_H
#define CROSSCHECK_REPORT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* REPORT_SCHEMA_VERSION is the JSON report's schema_version; bump it on any change that
 * a consumer could notice (a renamed or removed key, a changed type or meaning). */
#define REPORT_SCHEMA_VERSION 2

enum report_format {
	REPORT_JSON,
	REPORT_HTML,
	REPORT_JUNIT,
	REPORT_PROMETHEUS,
};

bool report_format_from_name(const char *name, enum report_format *out);

#define REPORT_MAX_LAST 1000
#define REPORT_DEFAULT_HTML_FAILURES 100

struct report_options {
	enum report_format format;
	int64_t run;	       /* 0 = the newest run */
	int last;	       /* runs of history, newest included (0 or 1 = only the run) */
	int html_failures;     /* HTML: failures listed per table (the rest are counted) */
	const char *store_name; /* for messages only */
};

/*
 * report_write writes the report of o->run (or of the newest run) to out. Returns false
 * after logging when the run does not exist, the store cannot be read, or out fails.
 */
bool report_write(struct store *st, const struct report_options *o, FILE *out);

/* report_write_file writes the report to path through a temporary file and a rename:
 * on any error path is left as it was. */
bool report_write_file(struct store *st, const struct report_options *o, const char *path);

#endif
