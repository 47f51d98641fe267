/*
 * config/table_mappings.h: an AWS DMS table-mapping JSON, read as the audit's table and
 * column selection.
 *
 * Selection rules (include, exclude, explicit) pick the source tables, with DMS
 * wildcards in schema-name and table-name (% any run, _ one character, [_] a literal
 * underscore, [ab] and [a-d] sets). Transformation rules give each selected table its
 * target schema, table and column names (rename, convert-lowercase/-uppercase,
 * add/remove/replace-prefix and -suffix) and drop columns from the comparison
 * (remove-column, include-column, data masking). Rules match the *source* names, are
 * case-sensitive as in DMS, and apply in file order when several touch one object.
 * Rules that do not change which rows or values land on the target (table-settings,
 * add-column, change-data-type, index and tablespace targets) are accepted and have no
 * effect. Anything else is an error naming the rule, so a mapping is never half-read.
 *
 * This module knows no engine: the caller lists the source's tables and columns.
 */
#ifndef CROSSCHECK_CONFIG_TABLE_MAPPINGS_H
#define CROSSCHECK_CONFIG_TABLE_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>

struct tm_rule;

struct table_mappings {
	struct tm_rule *rules;
	int nrules;
};

/* One selected table's names on the target. */
struct mapped_table {
	char *target_schema;
	char *target_table;
	int ncols;
	char **target_columns; /* per source column (caller's order): its target name, or
				* NULL when the column is not compared */
};

/*
 * table_mappings_load reads and validates a file; table_mappings_parse a JSON text
 * (origin names it in messages). On an invalid mapping both log one error naming the
 * rule (rule-id and rule-name) and what is wrong, and return false.
 */
bool table_mappings_load(const char *path, struct table_mappings *out);
bool table_mappings_parse(const char *json, size_t len, const char *origin,
			  struct table_mappings *out);
void table_mappings_free(struct table_mappings *m);

/* table_mappings_match: a DMS wildcard pattern against a name. */
bool table_mappings_match(const char *pattern, const char *name);

/*
 * table_mappings_literal_names gives the include/explicit rules' names when they are
 * plain names (a '_' read as itself, "[_]" as '_'), for a source that cannot list its
 * tables: false (logged) when a rule needs a listing (%, a set, table-type view/all).
 * schemas[i].tables[i] pairs; caller frees both arrays and their strings.
 */
bool table_mappings_literal_names(const struct table_mappings *m, char ***schemas,
				  char ***tables, int *n);

/* table_mappings_selects: is this source table or view selected? */
bool table_mappings_selects(const struct table_mappings *m, const char *schema,
			    const char *table, bool is_view);

/* table_mappings_resolve: the target names of a selected table and its columns. */
void table_mappings_resolve(const struct table_mappings *m, const char *schema, const char *table,
			    const char *const *columns, int ncols, struct mapped_table *out);
void mapped_table_free(struct mapped_table *t);

#endif
