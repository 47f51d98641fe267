/*
 * cli/cli.h: the table-driven command tree.
 *
 * Each verb is a `struct command` in its own file; root.c holds the table. Global
 * options (--store, -v, -q, --json) are parsed once by cli_parse for every verb, before
 * or after the verb name, into the context that travels to the verb.
 */
#ifndef CROSSCHECK_CLI_CLI_H
#define CROSSCHECK_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "store/store.h"

struct cli_context {
	const char *store_path;
	bool json;
	bool quiet;
	int verbose;
	bool help;
	bool stdout_tty;
	bool stderr_tty;
};

/* A verb-specific option handler: returns false (after logging) on a bad value. */
typedef bool (*option_fn)(void *verb_ctx, int opt, const char *arg);

struct command {
	const char *name;
	const char *summary;
	const char *usage; /* the whole --help text after the "usage:" line */
	int (*run)(struct cli_context *ctx, int argc, char **argv);
};

extern const struct command cmd_audit;
extern const struct command cmd_runs;
extern const struct command cmd_failures;
extern const struct command cmd_checkpoint;
extern const struct command cmd_checkpoints;
extern const struct command cmd_report;
extern const struct command cmd_recover;
extern const struct command cmd_drift;
extern const struct command cmd_repair;
extern const struct command cmd_import_dms;

/*
 * cli_parse parses argv with the verb's long options plus the global ones. Positional
 * arguments are refused. Returns false on a usage error (logged, with a hint).
 */
bool cli_parse(struct cli_context *ctx, const struct command *cmd, int argc, char **argv,
	       const struct option *verb_opts, option_fn fn, void *verb_ctx);
void cli_print_help(const struct command *cmd);
/* cli_open_store opens ctx->store_path; logs and returns NULL on failure. */
struct store *cli_open_store(const struct cli_context *ctx);

/* parse helpers that log a usage error naming the option */
bool cli_int(const char *opt, const char *arg, long min, long max, long *out);
bool cli_duration(const char *opt, const char *arg, double *seconds);

int cli_main(int argc, char **argv);

#endif
