/*
 * cli/audit_tables.h: the tables of `crosscheck audit` from a DMS table mapping.
 */
#ifndef CROSSCHECK_CLI_AUDIT_TABLES_H
#define CROSSCHECK_CLI_AUDIT_TABLES_H

#include <stdbool.h>

#include "audit/audit.h"

/*
 * audit_tables_from_mappings reads a DMS table-mapping file, lists and describes the
 * source's tables, and appends one table_spec per selected table to o->tables, with
 * its target name and its own column renames and exclusions. Logs and returns false on
 * an invalid file, a connection error, or a mapping that selects nothing.
 */
bool audit_tables_from_mappings(struct audit_options *o, const char *path);

#endif
