/*
 * cli/exit_codes.h: the process exit codes, in one place.
 *
 * "Differences found" (1) is never confused with "the tool failed" (2): a scheduler can
 * alert on 1 and page on 2.
 */
#ifndef CROSSCHECK_CLI_EXIT_CODES_H
#define CROSSCHECK_CLI_EXIT_CODES_H

#define EXIT_CONSISTENT 0  /* every audited row matched (or nothing to report) */
#define EXIT_DIFFERENCES 1 /* confirmed differences */
#define EXIT_TOOL_ERROR 2  /* usage, connection or any other error */

#endif
