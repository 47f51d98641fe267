/*
 * cli/check.h: check files as audit options (see config/check.h).
 */
#ifndef CROSSCHECK_CLI_CHECK_H
#define CROSSCHECK_CLI_CHECK_H

#include "audit/audit.h"
#include "config/check.h"

/* cli_check_apply fills o from the check file (o keeps pointers into c: c outlives o's use) */
bool cli_check_apply(const struct check_file *c, struct audit_options *o);
const char *cli_find_check(int argc, char **argv);
/* cli_parse_zone reads UTC or a fixed offset (+HH:MM) into seconds east of UTC. */
bool cli_parse_zone(const char *opt, const char *s, int *offset);

#endif
