/*
 * config/check.h: check files, one recurring audit each (checks/README.md).
 *
 * An INI file (parsed by Debian's libinih) with a [check] section and one
 * [table SCHEMA.NAME] section per table. Every problem is reported as FILE:LINE: what is
 * wrong, and loading fails: unknown keys, bad values, missing required keys, and secrets
 * written inline (passwords are named by environment variable, never written).
 */
#ifndef CROSSCHECK_CONFIG_CHECK_H
#define CROSSCHECK_CONFIG_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/str.h"

struct check_table {
	char *source;		/* [table NAME] */
	char *target;		/* target = */
	struct strlist key, columns, exclude;
	struct strlist map;	/* "src=tgt" items */
	int line;
};

struct check_file {
	char *path;
	char *dir;		/* the file's folder: relative paths in it are relative to it */
	char *name;
	char *source, *target;
	int source_line, target_line;
	char *source_password_env, *target_password_env;
	char *store;
	char *table_mappings;
	int table_mappings_line;
	int64_t partition_rows;	/* 0 = not set */
	int jobs;
	double recheck_delay;	/* < 0 = not set */
	int recheck_attempts;	/* < 0 = not set */
	char *lag_column;
	double lag_window;
	double max_replica_lag;
	char *lag_query;
	int64_t max_rows_per_second;
	int float_digits;
	int time_precision;	/* < 0 = not set */
	char *timezone;
	int casefold;		/* < 0 = not set */
	struct strlist key, columns, exclude;
	struct strlist s3;	/* [s3] settings as "Name=Value", added to the s3:// or file:// URI */
	int64_t max_differences; /* < 0 = not set (0 tolerated) */
	int64_t max_count_gap;	 /* < 0 = not set */
	int cover_every;	 /* drift: every partition within this many runs */
	char *report_html, *report_json, *report_junit, *report_prometheus;
	struct check_table *tables;
	int ntables;
};

/* check_file_load parses and validates a check file; on failure it has logged
 * "FILE:LINE: ..." and out is freed. */
bool check_file_load(const char *path, struct check_file *out);
void check_file_free(struct check_file *c);

#endif
