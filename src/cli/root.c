/*
 * cli/root.c: the root of the command tree, global options, and shared CLI helpers.
 */
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/exit_codes.h"
#include "util/log.h"
#include "util/str.h"

#ifndef CROSSCHECK_VERSION
#define CROSSCHECK_VERSION "dev"
#endif

static const struct command *commands[] = {
	&cmd_audit,
	&cmd_drift,
	&cmd_runs,
	&cmd_failures,
	&cmd_checkpoint,
	&cmd_checkpoints,
	&cmd_report,
	&cmd_recover,
	&cmd_repair,
	&cmd_import_dms,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Global option ids live above any verb's short options. */
enum {
	OPT_STORE = 1000,
	OPT_JSON,
	OPT_HELP,
};

static const struct option global_opts[] = {
	{"store", required_argument, NULL, OPT_STORE},
	{"json", no_argument, NULL, OPT_JSON},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, OPT_HELP},
};

#define NGLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

static void
print_root_help(void)
{
	printf("crosscheck %s: verify a replication is complete and correct, and recover when it "
	       "is not\n\n"
	       "usage: crosscheck [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\ncommands:\n",
	       CROSSCHECK_VERSION);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
	printf("\nglobal options (accepted before or after the command):\n"
	       "  --store FILE   the SQLite store (default crosscheck.db)\n"
	       "  --json         machine-readable output on stdout\n"
	       "  -v, --verbose  more logging (repeat for debug)\n"
	       "  -q, --quiet    errors only\n"
	       "  --help         help for crosscheck or a command\n"
	       "  --version      print the version\n\n"
	       "exit codes: 0 consistent, 1 differences confirmed, 2 usage, connection or other "
	       "error\n"
	       "run 'crosscheck COMMAND --help' for a command's options.\n");
}

void
cli_print_help(const struct command *cmd)
{
	printf("crosscheck %s: %s\n\nusage: crosscheck %s %s", cmd->name, cmd->summary, cmd->name,
	       cmd->usage);
	printf("\nglobal options: --store FILE, --json, -v/--verbose, -q/--quiet, --help\n");
}

bool
cli_parse(struct cli_context *ctx, const struct command *cmd, int argc, char **argv,
	  const struct option *verb_opts, option_fn fn, void *verb_ctx)
{
	size_t nverb = 0;
	while (verb_opts && verb_opts[nverb].name)
		nverb++;
	struct option *all = xcalloc(nverb + NGLOBAL + 1, sizeof(struct option));
	memcpy(all, verb_opts, nverb * sizeof(struct option));
	memcpy(all + nverb, global_opts, NGLOBAL * sizeof(struct option));
	bool ok = true;
	optind = 1;
	opterr = 0;
	int c;
	while (ok && (c = getopt_long(argc, argv, "+:vq", all, NULL)) != -1) {
		switch (c) {
		case OPT_STORE: ctx->store_path = optarg; break;
		case OPT_JSON: ctx->json = true; break;
		case 'v': ctx->verbose++; break;
		case 'q': ctx->quiet = true; break;
		case OPT_HELP: ctx->help = true; break;
		case '?':
			log_error("%s: unknown option %s", cmd->name, argv[optind - 1]);
			ok = false;
			break;
		case ':':
			log_error("%s: option %s needs a value", cmd->name, argv[optind - 1]);
			ok = false;
			break;
		default:
			ok = fn ? fn(verb_ctx, c, optarg) : false;
		}
	}
	if (ok && !ctx->help && optind < argc) {
		log_error("%s: unexpected argument \"%s\"", cmd->name, argv[optind]);
		ok = false;
	}
	if (!ok)
		log_hint("see 'crosscheck %s --help'", cmd->name);
	free(all);
	log_set_level(ctx->quiet ? LOG_LEVEL_ERROR
		      : ctx->verbose >= 2 ? LOG_LEVEL_DEBUG
		      : ctx->verbose == 1 ? LOG_LEVEL_INFO
					  : LOG_LEVEL_NOTICE);
	return ok;
}

bool
cli_int(const char *opt, const char *arg, long min, long max, long *out)
{
	int64_t v;
	if (!str_to_int64(arg, &v) || v < min || v > max) {
		log_error("%s: expected an integer from %ld to %ld, got \"%s\"", opt, min, max, arg);
		return false;
	}
	*out = (long) v;
	return true;
}

bool
cli_duration(const char *opt, const char *arg, double *seconds)
{
	if (!str_to_duration(arg, seconds)) {
		log_error("%s: expected a duration such as 30s, 5m or 1.5, got \"%s\"", opt, arg);
		return false;
	}
	return true;
}

struct store *
cli_open_store(const struct cli_context *ctx)
{
	struct store *st = NULL;
	return store_open(ctx->store_path, &st) ? st : NULL;
}

static void
on_signal(int sig)
{
	(void) sig;
	audit_interrupted = 1;
}

int
cli_main(int argc, char **argv)
{
	struct cli_context ctx = {
		.store_path = "crosscheck.db",
		.stdout_tty = isatty(STDOUT_FILENO),
		.stderr_tty = isatty(STDERR_FILENO),
	};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the verb is the first argument that is not a global option (or its value) */
	int verb = 1;
	while (verb < argc && argv[verb][0] == '-') {
		if (strcmp(argv[verb], "--version") == 0) {
			printf("crosscheck %s\n", CROSSCHECK_VERSION);
			return EXIT_CONSISTENT;
		}
		if (strcmp(argv[verb], "--help") == 0 || strcmp(argv[verb], "-h") == 0) {
			print_root_help();
			return EXIT_CONSISTENT;
		}
		verb += strcmp(argv[verb], "--store") == 0 ? 2 : 1;
	}
	if (verb >= argc) {
		print_root_help();
		return EXIT_TOOL_ERROR;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i]->name, argv[verb]) != 0)
			continue;
		/* hand the verb an argv with the global options that preceded it moved after */
		char **args = xcalloc((size_t) argc + 1, sizeof(char *));
		int n = 0;
		args[n++] = argv[verb];
		for (int j = 1; j < verb; j++)
			args[n++] = argv[j];
		for (int j = verb + 1; j < argc; j++)
			args[n++] = argv[j];
		int rc = commands[i]->run(&ctx, n, args);
		free(args);
		return rc;
	}
	log_error("unknown command \"%s\"", argv[verb]);
	log_hint("run 'crosscheck --help' for the list of commands");
	return EXIT_TOOL_ERROR;
}
