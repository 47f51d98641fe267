/*
 * cli/audit.c: `crosscheck audit`, compare tables between a source and a target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/audit_tables.h"
#include "cli/check.h"
#include "cli/cli.h"
#include "report/report.h"
#include "cli/exit_codes.h"
#include "endpoint/endpoint.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

enum {
	OPT_SOURCE = 1,
	OPT_TARGET,
	OPT_TABLE,
	OPT_TARGET_TABLE,
	OPT_KEY,
	OPT_COLUMNS,
	OPT_EXCLUDE,
	OPT_MAP,
	OPT_PARTITION_ROWS,
	OPT_JOBS,
	OPT_RECHECK_DELAY,
	OPT_RECHECK_ATTEMPTS,
	OPT_FLOAT_DIGITS,
	OPT_TIME_PRECISION,
	OPT_TIMEZONE,
	OPT_CASEFOLD,
	OPT_STATEMENT_TIMEOUT,
	OPT_NO_PROGRESS,
	OPT_RESUME,
	OPT_MAX_ROWS_PER_SECOND,
	OPT_MAX_REPLICA_LAG,
	OPT_LAG_QUERY,
	OPT_LAG_COLUMN,
	OPT_LAG_WINDOW,
	OPT_SLOT,
	OPT_CHECK,
	OPT_COVER_EVERY,
	OPT_MAX_DIFFERENCES,
	OPT_MAX_COUNT_GAP,
	OPT_TABLE_MAPPINGS,
	OPT_COLUMN_OPTION,
	OPT_ID_MODE,
	OPT_S3_SETTINGS,
};

static const struct option audit_opts[] = {
	{"source", required_argument, NULL, OPT_SOURCE},
	{"s3-settings", required_argument, NULL, OPT_S3_SETTINGS},
	{"target", required_argument, NULL, OPT_TARGET},
	{"table", required_argument, NULL, OPT_TABLE},
	{"target-table", required_argument, NULL, OPT_TARGET_TABLE},
	{"key", required_argument, NULL, OPT_KEY},
	{"columns", required_argument, NULL, OPT_COLUMNS},
	{"exclude-columns", required_argument, NULL, OPT_EXCLUDE},
	{"map", required_argument, NULL, OPT_MAP},
	{"partition-rows", required_argument, NULL, OPT_PARTITION_ROWS},
	{"jobs", required_argument, NULL, OPT_JOBS},
	{"recheck-delay", required_argument, NULL, OPT_RECHECK_DELAY},
	{"recheck-attempts", required_argument, NULL, OPT_RECHECK_ATTEMPTS},
	{"float-digits", required_argument, NULL, OPT_FLOAT_DIGITS},
	{"time-precision", required_argument, NULL, OPT_TIME_PRECISION},
	{"timezone", required_argument, NULL, OPT_TIMEZONE},
	{"casefold", no_argument, NULL, OPT_CASEFOLD},
	{"statement-timeout", required_argument, NULL, OPT_STATEMENT_TIMEOUT},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"resume", required_argument, NULL, OPT_RESUME},
	{"max-rows-per-second", required_argument, NULL, OPT_MAX_ROWS_PER_SECOND},
	{"max-replica-lag", required_argument, NULL, OPT_MAX_REPLICA_LAG},
	{"lag-query", required_argument, NULL, OPT_LAG_QUERY},
	{"lag-column", required_argument, NULL, OPT_LAG_COLUMN},
	{"lag-window", required_argument, NULL, OPT_LAG_WINDOW},
	{"slot", required_argument, NULL, OPT_SLOT},
	{"check", required_argument, NULL, OPT_CHECK},
	{"cover-every", required_argument, NULL, OPT_COVER_EVERY},
	{"max-differences", required_argument, NULL, OPT_MAX_DIFFERENCES},
	{"max-count-gap", required_argument, NULL, OPT_MAX_COUNT_GAP},
	{"table-mappings", required_argument, NULL, OPT_TABLE_MAPPINGS},
	{"column-option", required_argument, NULL, OPT_COLUMN_OPTION},
	{"id-mode", required_argument, NULL, OPT_ID_MODE},
	{NULL, 0, NULL, 0},
};

struct audit_args {
	struct audit_options o;
	struct strlist target_tables;
	bool no_progress;
	bool tables_from_check;	 /* the first --table replaces the check file's tables */
	bool drift;		 /* drift-only options are accepted */
	int64_t max_differences; /* drift: confirmed differences tolerated (default 0) */
	int64_t max_count_gap;	 /* drift: |source rows - target rows| tolerated (default 0) */
	const char *table_mappings;
	const char *id_mode;	/* --id-mode: carried to an OpenSearch target as ?id_mode= */
	char *target_uri;	/* the target URI with id_mode added, owned */
	const char *s3_settings; /* --s3-settings FILE */
	char *s3_uri;		/* the s3:// or file:// side with S3Settings added, owned */
};

/* cli_parse_zone reads UTC, Z, or a fixed offset +HH:MM / -HH:MM. */
bool
cli_parse_zone(const char *opt, const char *s, int *offset)
{
	if (strcasecmp(s, "UTC") == 0 || strcmp(s, "Z") == 0) {
		*offset = 0;
		return true;
	}
	int sign = s[0] == '-' ? -1 : s[0] == '+' ? 1 : 0;
	unsigned h, m = 0;
	char extra;
	if (sign == 0 || (sscanf(s + 1, "%2u:%2u%c", &h, &m, &extra) != 2 &&
			  sscanf(s + 1, "%2u%c", &h, &extra) != 1) ||
	    h > 15 || m > 59) {
		log_error("%s: expected UTC or an offset such as +02:00, got \"%s\"", opt, s);
		log_hint("named zones (Europe/Paris) are not supported yet; give the fixed offset");
		return false;
	}
	*offset = sign * (int) (h * 3600 + m * 60);
	return true;
}

/* on_off reads a column option's switch value. */
static bool
on_off(const char *v, int *out)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return false;
	return true;
}

/*
 * parse_column_option reads COL:KEY=VALUE[,KEY=VALUE...]: the compare options of one
 * source column, overriding the global ones (the column is named up to the last ':'
 * before the first '=', so a name may itself hold a ':').
 */
static bool
parse_column_option(struct audit_options *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *colon = NULL;
	for (const char *p = arg; *p && (eq == NULL || p < eq); p++)
		if (*p == ':')
			colon = p;
	if (colon == NULL || colon == arg || eq == NULL) {
		log_error("--column-option: expected COLUMN:KEY=VALUE, got \"%s\"", arg);
		log_hint("keys: float_digits, time_precision, timezone, trim, casefold");
		return false;
	}
	struct column_option co = {NULL, 0, -1, false, 0, -1, -1};
	struct strlist items = {0};
	strlist_split(&items, colon + 1);
	bool ok = items.n > 0;
	for (size_t i = 0; ok && i < items.n; i++) {
		char *item = items.items[i];
		char *v = strchr(item, '=');
		long n;
		if (v == NULL) {
			log_error("--column-option: expected KEY=VALUE, got \"%s\" in \"%s\"", item, arg);
			ok = false;
			break;
		}
		*v++ = '\0';
		for (char *p = item; *p; p++)
			if (*p == '-')
				*p = '_';
		if (strcmp(item, "float_digits") == 0) {
			ok = cli_int("--column-option float_digits", v, 1, 17, &n);
			co.float_digits = (int) n;
		} else if (strcmp(item, "time_precision") == 0) {
			ok = cli_int("--column-option time_precision", v, 0, 9, &n);
			co.frac_digits = (int) n;
		} else if (strcmp(item, "timezone") == 0) {
			ok = cli_parse_zone("--column-option timezone", v, &co.zone_offset_sec);
			co.has_zone = true;
		} else if (strcmp(item, "trim") == 0 || strcmp(item, "casefold") == 0) {
			ok = on_off(v, item[0] == 't' ? &co.trim : &co.casefold);
			if (!ok)
				log_error("--column-option %s: expected on or off, got \"%s\"", item, v);
		} else {
			log_error("--column-option: unknown key \"%s\" in \"%s\"", item, arg);
			log_hint("keys: float_digits, time_precision, timezone, trim, casefold");
			ok = false;
		}
	}
	strlist_free(&items);
	if (!ok)
		return false;
	co.column = xstrndup(arg, (size_t) (colon - arg));
	o->colopts = xrealloc(o->colopts, (size_t) (o->ncolopts + 1) * sizeof(*o->colopts));
	o->colopts[o->ncolopts++] = co;
	return true;
}

static bool
audit_option(void *vctx, int opt, const char *arg)
{
	struct audit_args *a = vctx;
	struct audit_options *o = &a->o;
	long n;
	switch (opt) {
	case OPT_SOURCE: o->source_uri = arg; return true;
	case OPT_TARGET: o->target_uri = arg; return true;
	case OPT_S3_SETTINGS: a->s3_settings = arg; return true;
	case OPT_TABLE:
		if (a->tables_from_check) {
			for (int i = 0; i < o->ntables; i++)
				table_spec_free(&o->tables[i]);
			o->ntables = 0;
			a->tables_from_check = false;
		}
		o->tables = xrealloc(o->tables, (size_t) (o->ntables + 1) * sizeof(*o->tables));
		memset(&o->tables[o->ntables], 0, sizeof(o->tables[0]));
		o->tables[o->ntables].source = xstrdup(arg);
		o->ntables++;
		return true;
	case OPT_TARGET_TABLE: return strlist_push(&a->target_tables, arg);
	case OPT_KEY: return strlist_split(&o->key, arg);
	case OPT_COLUMNS: return strlist_split(&o->columns, arg);
	case OPT_EXCLUDE: return strlist_split(&o->exclude, arg);
	case OPT_MAP: {
		const char *eq = strchr(arg, '=');
		if (eq == NULL || eq == arg || eq[1] == '\0') {
			log_error("--map: expected SOURCE_COLUMN=TARGET_COLUMN, got \"%s\"", arg);
			return false;
		}
		o->maps = xrealloc(o->maps, (size_t) (o->nmaps + 1) * sizeof(*o->maps));
		o->maps[o->nmaps].source = xstrndup(arg, (size_t) (eq - arg));
		o->maps[o->nmaps].target = xstrdup(eq + 1);
		o->nmaps++;
		return true;
	}
	case OPT_PARTITION_ROWS:
		if (!cli_int("--partition-rows", arg, 1, 1000000000L, &n))
			return false;
		o->partition_rows = n;
		return true;
	case OPT_JOBS:
		if (!cli_int("--jobs", arg, 1, 256, &n))
			return false;
		o->jobs = (int) n;
		return true;
	case OPT_RECHECK_DELAY: return cli_duration("--recheck-delay", arg, &o->recheck_delay);
	case OPT_RECHECK_ATTEMPTS:
		if (!cli_int("--recheck-attempts", arg, 0, 100, &n))
			return false;
		o->recheck_attempts = (int) n;
		return true;
	case OPT_FLOAT_DIGITS:
		if (!cli_int("--float-digits", arg, 1, 17, &n))
			return false;
		o->float_digits = (int) n;
		return true;
	case OPT_TIME_PRECISION:
		if (!cli_int("--time-precision", arg, 0, 9, &n))
			return false;
		o->frac_digits = (int) n;
		return true;
	case OPT_TIMEZONE: return cli_parse_zone("--timezone", arg, &o->zone_offset_sec);
	case OPT_CASEFOLD: o->casefold = true; return true;
	case OPT_STATEMENT_TIMEOUT: {
		double s;
		if (!cli_duration("--statement-timeout", arg, &s))
			return false;
		o->statement_timeout_ms = (int) (s * 1000);
		return true;
	}
	case OPT_NO_PROGRESS: a->no_progress = true; return true;
	case OPT_RESUME:
		if (!cli_int("--resume", arg, 1, 2147483647L, &n))
			return false;
		o->resume_run = n;
		return true;
	case OPT_MAX_ROWS_PER_SECOND:
		if (!cli_int("--max-rows-per-second", arg, 1, 1000000000L, &n))
			return false;
		o->max_rows_per_second = (double) n;
		return true;
	case OPT_MAX_REPLICA_LAG: return cli_duration("--max-replica-lag", arg, &o->max_replica_lag);
	case OPT_LAG_QUERY: o->lag_query = arg; return true;
	case OPT_LAG_COLUMN: o->lag_column = arg; return true;
	case OPT_LAG_WINDOW: return cli_duration("--lag-window", arg, &o->lag_window);
	case OPT_SLOT: o->slot = arg; return true;
	case OPT_CHECK: return true; /* read before the other options: see cli_find_check */
	case OPT_COVER_EVERY:
	case OPT_MAX_DIFFERENCES:
	case OPT_MAX_COUNT_GAP:
		if (!a->drift) {
			log_error("--cover-every, --max-differences and --max-count-gap are options of "
				  "'crosscheck drift'");
			return false;
		}
		if (!cli_int(opt == OPT_COVER_EVERY ? "--cover-every" : opt == OPT_MAX_DIFFERENCES ? "--max-differences" : "--max-count-gap",
			     arg, opt == OPT_COVER_EVERY ? 1 : 0, 1000000000L, &n))
			return false;
		if (opt == OPT_COVER_EVERY)
			o->cover_every = (int) n;
		else if (opt == OPT_MAX_DIFFERENCES)
			a->max_differences = n;
		else
			a->max_count_gap = n;
		return true;
	case OPT_TABLE_MAPPINGS: a->table_mappings = arg; return true;
	case OPT_COLUMN_OPTION: return parse_column_option(o, arg);
	case OPT_ID_MODE:
		if (strcmp(arg, "field") != 0 && strcmp(arg, "value") != 0) {
			log_error("--id-mode: expected field or value, got \"%s\"", arg);
			return false;
		}
		a->id_mode = arg;
		return true;
	}
	return false;
}

/* --- output ---------------------------------------------------------------------------- */

struct summary {
	bool json;
	int n;
	struct buf out;
};

static bool
print_table_text(void *ctx, const struct table_result *t)
{
	struct summary *s = ctx;
	if (s->n++ == 0)
		printf("%-32s %12s %12s %6s %12s %9s %9s %9s  %s\n", "table", "source rows",
		       "target rows", "parts", "matched", "missing", "extra", "different", "state");
	printf("%-32s %12lld %12lld %6lld %12lld %9lld %9lld %9lld  %s\n", t->table,
	       (long long) t->source_rows, (long long) t->target_rows, (long long) t->partitions,
	       (long long) t->matched, (long long) t->missing_target, (long long) t->missing_source,
	       (long long) t->record_diff, t->state ? t->state : t->status);
	if (t->error)
		printf("%-32s error: %s\n", "", t->error);
	return true;
}

static bool
print_table_json(void *ctx, const struct table_result *t)
{
	struct summary *s = ctx;
	struct buf *b = &s->out;
	if (s->n++)
		buf_append_char(b, ',');
	buf_append_str(b, "{\"table\":");
	buf_append_json_string(b, t->table, strlen(t->table));
	buf_append_str(b, ",\"target_table\":");
	buf_append_json_string(b, t->target_table, strlen(t->target_table));
	buf_append_str(b, ",\"state\":");
	buf_append_json_string(b, t->state ? t->state : "", t->state ? strlen(t->state) : 0);
	buf_printf(b,
		   ",\"partitions\":%lld,\"source_rows\":%lld,\"target_rows\":%lld,\"matched\":%lld,"
		   "\"missing_target\":%lld,\"missing_source\":%lld,\"record_diff\":%lld,"
		   "\"elapsed_s\":%.3f,\"error\":",
		   (long long) t->partitions, (long long) t->source_rows, (long long) t->target_rows,
		   (long long) t->matched, (long long) t->missing_target,
		   (long long) t->missing_source, (long long) t->record_diff, t->elapsed_s);
	if (t->error)
		buf_append_json_string(b, t->error, strlen(t->error));
	else
		buf_append_str(b, "null");
	buf_append_char(b, '}');
	return true;
}

static void
print_summary(const struct cli_context *ctx, struct store *st, int64_t run,
	      enum audit_verdict v)
{
	struct summary s = {ctx->json, 0, {0}};
	buf_init(&s.out);
	if (ctx->json) {
		buf_printf(&s.out, "{\"run\":%lld,\"verdict\":\"%s\",\"tables\":[", (long long) run,
			   audit_verdict_name(v));
		store_list_tables(st, run, print_table_json, &s);
		buf_append_str(&s.out, "]}\n");
		fputs(buf_cstr(&s.out), stdout);
	} else {
		store_list_tables(st, run, print_table_text, &s);
		printf("\nrun %lld: %s", (long long) run, audit_verdict_name(v));
		if (v == AUDIT_DIFFERENCES || v == AUDIT_PENDING)
			printf(" (see 'crosscheck failures --run %lld')", (long long) run);
		if (v == AUDIT_PENDING)
			printf("\n  differences are pending: they were seen once and not rechecked "
			       "(--recheck-attempts)");
		printf("\n");
	}
	buf_free(&s.out);
}

/*
 * apply_id_mode carries --id-mode to the OpenSearch target as its URI parameter
 * id_mode, the one place the endpoint reads it (so it is also part of the run's recorded
 * target URI). Only an OpenSearch target has document ids.
 */
/*
 * apply_s3_settings carries --s3-settings (the settings JSON of `aws dms
 * describe-endpoints`) to the side made of DMS files, as its S3Settings URI parameter,
 * with the file's absolute path so that recover and rechecks find it from anywhere.
 */
static bool
apply_s3_settings(struct audit_args *a)
{
	if (a->s3_settings == NULL)
		return true;
	const char **side = NULL;
	const char *uris[2] = {a->o.target_uri, a->o.source_uri};
	for (int i = 0; i < 2 && side == NULL; i++)
		if (strncmp(uris[i], "s3://", 5) == 0 || strncmp(uris[i], "file://", 7) == 0)
			side = i == 0 ? &a->o.target_uri : &a->o.source_uri;
	if (side == NULL) {
		log_error("--s3-settings applies to an s3:// or file:// side only");
		return false;
	}
	char *path = realpath(a->s3_settings, NULL);
	if (path == NULL) {
		log_error("--s3-settings %s: %m", a->s3_settings);
		return false;
	}
	a->s3_uri = uri_with_param(*side, "S3Settings", path);
	free(path);
	*side = a->s3_uri;
	return true;
}

static bool
apply_id_mode(struct audit_args *a)
{
	if (a->id_mode == NULL)
		return true;
	struct uri u;
	if (!uri_parse(a->o.target_uri, &u))
		return false;
	bool os = strncmp(u.scheme, "opensearch", 10) == 0;
	const char *given = uri_param(&u, "id_mode");
	bool clash = given && strcmp(given, a->id_mode) != 0;
	bool already = given != NULL;
	if (clash)
		log_error("--id-mode %s contradicts id_mode=%s in the target URI", a->id_mode, given);
	uri_free(&u);
	if (!os) {
		log_error("--id-mode applies to an OpenSearch target only");
		return false;
	}
	if (clash)
		return false;
	if (already)
		return true;
	struct buf b;
	buf_init(&b);
	size_t n = strcspn(a->o.target_uri, "#");
	buf_append(&b, a->o.target_uri, n);
	buf_printf(&b, "%cid_mode=%s", memchr(a->o.target_uri, '?', n) ? '&' : '?', a->id_mode);
	a->target_uri = buf_steal(&b);
	a->o.target_uri = a->target_uri;
	return true;
}

/* write_check_reports writes the reports a check file asks for (drift runs). */
static bool
write_check_reports(struct store *st, const struct check_file *c, int64_t run)
{
	const char *paths[] = {c->report_html, c->report_json, c->report_junit, c->report_prometheus};
	enum report_format fmts[] = {REPORT_HTML, REPORT_JSON, REPORT_JUNIT, REPORT_PROMETHEUS};
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		if (paths[i] == NULL)
			continue;
		struct report_options ro = {.format = fmts[i], .run = run, .last = fmts[i] == REPORT_HTML ? 30 : 1,
					    .html_failures = REPORT_DEFAULT_HTML_FAILURES,
					    .store_name = c->store};
		if (report_write_file(st, &ro, paths[i]))
			log_notice("wrote %s", paths[i]);
		else
			ok = false;
	}
	return ok;
}

/*
 * run_audit_or_drift: `audit` and `drift` share their options, and a check file
 * (--check) gives their values first; the command line overrides it.
 */
static int
run_audit_or_drift(struct cli_context *ctx, int argc, char **argv, bool drift)
{
	const struct command *cmd = drift ? &cmd_drift : &cmd_audit;
	struct audit_args a;
	memset(&a, 0, sizeof(a));
	audit_options_init(&a.o);
	a.drift = drift;
	int rc = EXIT_TOOL_ERROR;
	struct store *st = NULL;
	struct check_file chk;
	memset(&chk, 0, sizeof(chk));
	bool have_check = false;

	const char *check_path = cli_find_check(argc, argv);
	if (check_path) {
		if (!check_file_load(check_path, &chk))
			goto cleanup;
		have_check = true;
		if (!cli_check_apply(&chk, &a.o))
			goto cleanup;
		a.tables_from_check = true;
		a.table_mappings = chk.table_mappings;
		if (chk.store)
			ctx->store_path = chk.store; /* a --store on the command line overrides it */
		a.max_differences = chk.max_differences > 0 ? chk.max_differences : 0;
		a.max_count_gap = chk.max_count_gap > 0 ? chk.max_count_gap : 0;
	}
	if (!cli_parse(ctx, cmd, argc, argv, audit_opts, audit_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(cmd);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.o.source_uri == NULL || a.o.target_uri == NULL ||
	    (a.o.ntables == 0 && a.table_mappings == NULL)) {
		log_error("%s: --source, --target and at least one --table (or --table-mappings, or "
			  "--check FILE) are required",
			  cmd->name);
		log_hint("see 'crosscheck %s --help'", cmd->name);
		goto cleanup;
	}
	if (a.table_mappings && (a.o.ntables > 0 || a.target_tables.n > 0)) {
		log_error("%s: --table-mappings picks the tables; give no --table or --target-table",
			  cmd->name);
		goto cleanup;
	}
	if (a.target_tables.n > 0 && (int) a.target_tables.n != a.o.ntables) {
		log_error("%s: give one --target-table per --table (%zu for %d)", cmd->name,
			  a.target_tables.n, a.o.ntables);
		goto cleanup;
	}
	if ((a.o.lag_column == NULL) != (a.o.lag_window <= 0)) {
		log_error("%s: --lag-column and --lag-window go together", cmd->name);
		goto cleanup;
	}
	if (a.o.lag_query && a.o.max_replica_lag <= 0) {
		log_error("%s: --lag-query needs --max-replica-lag", cmd->name);
		goto cleanup;
	}
	for (size_t i = 0; i < a.target_tables.n; i++) {
		free(a.o.tables[i].target);
		a.o.tables[i].target = xstrdup(a.target_tables.items[i]);
	}
	if (!endpoint_check_uri(a.o.source_uri, "source") ||
	    !endpoint_check_uri(a.o.target_uri, "target") || !apply_id_mode(&a) ||
	    !apply_s3_settings(&a))
		goto cleanup;
	if (a.table_mappings && !audit_tables_from_mappings(&a.o, a.table_mappings))
		goto cleanup;
	for (int side = 0; side < 2; side++) {
		struct uri u;
		if (uri_parse(side ? a.o.target_uri : a.o.source_uri, &u)) {
			if (u.password || uri_param(&u, "password"))
				log_warn("%s URI carries a password: it is never stored or shown, but "
					 "prefer the engine's own sources (PGPASSWORD, ~/.pgpass; "
					 "MYSQL_PWD, ~/.my.cnf)",
					 side ? "target" : "source");
			uri_free(&u);
		}
	}
	a.o.progress = ctx->stderr_tty && !ctx->quiet && !a.no_progress;
	if (drift && a.o.cover_every <= 0)
		a.o.cover_every = 1;

	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	if (!drift) {
		int64_t run = 0;
		enum audit_verdict v;
		if (!audit_run(&a.o, st, &run, &v))
			goto cleanup;
		print_summary(ctx, st, run, v);
		rc = v == AUDIT_ERROR ? EXIT_TOOL_ERROR
		     : v == AUDIT_DIFFERENCES ? EXIT_DIFFERENCES
					      : EXIT_CONSISTENT;
		if (have_check && !write_check_reports(st, &chk, run) && rc == EXIT_CONSISTENT)
			rc = EXIT_TOOL_ERROR;
		goto cleanup;
	}

	struct drift_summary d;
	if (!audit_run_drift(&a.o, st, &d))
		goto cleanup;
	int64_t open = 0;
	store_count_open_confirmed(st, "drift", d.fingerprint, &open);
	print_summary(ctx, st, d.run, d.verdict);
	bool over = open > a.max_differences || d.max_count_gap > a.max_count_gap;
	if (!ctx->json)
		printf("drift: %d of %d partitions audited; earlier failures closed %lld, still open "
		       "%lld; confirmed differences open %lld (max %lld); largest count gap %lld "
		       "(max %lld)\n",
		       d.audited, d.total, (long long) d.closed, (long long) d.still_open,
		       (long long) open, (long long) a.max_differences, (long long) d.max_count_gap,
		       (long long) a.max_count_gap);
	rc = d.verdict == AUDIT_ERROR ? EXIT_TOOL_ERROR : over ? EXIT_DIFFERENCES : EXIT_CONSISTENT;
	if (have_check && !write_check_reports(st, &chk, d.run))
		rc = EXIT_TOOL_ERROR;

cleanup:
	store_close(st);
	strlist_free(&a.target_tables);
	audit_options_free(&a.o);
	free(a.target_uri);
	free(a.s3_uri);
	if (have_check)
		check_file_free(&chk);
	return rc;
}

static int
run_audit(struct cli_context *ctx, int argc, char **argv)
{
	return run_audit_or_drift(ctx, argc, argv, false);
}

static int
run_drift(struct cli_context *ctx, int argc, char **argv)
{
	return run_audit_or_drift(ctx, argc, argv, true);
}

const struct command cmd_audit = {
	.name = "audit",
	.summary = "compare tables row by row between a source and a target",
	.usage =
		"--source URI --target URI (--table [SCHEMA.]TABLE [--table ...] |\n"
		"                            --table-mappings FILE) [options]\n"
		"\n"
		"Reads every row of each table on both sides, partition by partition, compares\n"
		"their canonical hashes, and records every failing key in the store. Differences\n"
		"are rechecked after a delay so that replication lag is not reported as drift.\n"
		"\n"
		"endpoints:\n"
		"  --source URI               e.g. postgresql://user@host:5432/db,\n"
		"                             mysql://user@host:3306/db?ssl-mode=REQUIRED\n"
		"  --target URI               passwords: PGPASSWORD or ~/.pgpass (PostgreSQL),\n"
		"                             MYSQL_PWD or ~/.my.cnf [client] (MySQL/MariaDB);\n"
		"                             never the URI\n"
		"                             s3://BUCKET/FOLDER or file:///DIR: the files AWS\n"
		"                             DMS writes to an S3 target (LOAD*.csv + CDC files),\n"
		"                             DMS settings as URI parameters named as DMS names\n"
		"                             them (?AddColumnName=true&CsvDelimiter=%7C...),\n"
		"                             endpoint=http://host:port for an S3-compatible\n"
		"                             server, region=; AWS_ACCESS_KEY_ID/_SECRET_ACCESS_KEY\n"
		"                             (+ AWS_SESSION_TOKEN) or AWS_PROFILE\n"
		"  --s3-settings FILE         the S3 side's settings as `aws dms describe-endpoints`\n"
		"                             prints them (the URI's own parameters win)\n"
		"tables and columns:\n"
		"  --table [SCHEMA.]TABLE     a table to audit (repeat for several)\n"
		"  --target-table NAME        its name on the target (one per --table, in order)\n"
		"  --key COL[,COL]            the row identity (default: primary key, else the\n"
		"                             first unique index on NOT NULL columns)\n"
		"  --columns COL[,COL]        compare only these columns (the key is always in)\n"
		"  --exclude-columns COL,...  do not compare these columns\n"
		"  --map SRC=TGT              the target name of a source column (repeatable)\n"
		"  --id-mode field|value      OpenSearch target: the key is read from _source\n"
		"                             fields (field, default: AWS DMS writes a hash in\n"
		"                             _id) or the document _id is the key (value)\n"
		"  --table-mappings FILE      pick the tables and their target names from an AWS\n"
		"                             DMS table-mapping JSON (instead of --table): selection\n"
		"                             rules (include/exclude/explicit, DMS wildcards) and\n"
		"                             transformation rules (rename, convert-lowercase/\n"
		"                             -uppercase, prefixes/suffixes, remove-column)\n"
		"comparison:\n"
		"  --float-digits N           significant digits for float columns (default 15,\n"
		"                             6 when a side is single precision)\n"
		"  --time-precision N         fractional second digits compared (default 6)\n"
		"  --timezone UTC|+HH:MM      zone of timestamps without one (default UTC)\n"
		"  --casefold                 compare text case-insensitively (ASCII)\n"
		"  --column-option COL:KEY=VALUE[,KEY=VALUE]\n"
		"                             one source column's own options (repeatable):\n"
		"                             float_digits=N, time_precision=N, timezone=+HH:MM\n"
		"                             (its zone-less values), trim=on|off (trailing\n"
		"                             spaces, CHAR padding), casefold=on|off\n"
		"execution:\n"
		"  --partition-rows N         rows per partition (default 100000)\n"
		"  --jobs N                   partitions audited at once (default 2)\n"
		"  --recheck-delay DURATION   wait before rechecking differences (default 30s,\n"
		"                             growing with each attempt)\n"
		"  --recheck-attempts N       rechecks before a difference is confirmed\n"
		"                             (default 3; 0 = one pass, differences stay pending)\n"
		"  --statement-timeout DUR    cancel any query running longer (default none)\n"
		"  --no-progress              no progress line on the terminal\n"
		"  --resume RUN               continue a run that was killed or failed: its done\n"
		"                             partitions are kept (same command line required)\n"
		"beside a live replicator:\n"
		"  --lag-column COL           the source column holding each row's update time\n"
		"  --lag-window DURATION      rows changed this recently (by the source's clock)\n"
		"                             are judged only after the window has passed\n"
		"  --max-rows-per-second N    read at most N source rows per second, all workers\n"
		"  --max-replica-lag DURATION pause while the replica is further behind (read from\n"
		"                             the target, else the source: standby replay time,\n"
		"                             subscription or walsender lag)\n"
		"  --lag-query SQL            the lag in seconds, by your own query on the target\n"
		"  --slot NAME                take the run's checkpoint from this replication slot\n"
		"  --check FILE               take the options from a check file (checks/README.md);\n"
		"                             options on the command line override it\n"
		"\n"
		"exit: 0 consistent (or only pending), 1 confirmed differences, 2 error\n",
	.run = run_audit,
};

const struct command cmd_drift = {
	.name = "drift",
	.summary = "scheduled drift check: a rotating slice of partitions, open failures, counts",
	.usage =
		"--check FILE [audit options] [--cover-every N] [--max-differences N]\n"
		"                        [--max-count-gap N]\n"
		"\n"
		"An incremental audit for cron or a systemd timer. Each run rechecks every failure\n"
		"earlier runs of the check left open (closing those that now match), audits a\n"
		"rotating slice of the partitions so that each is audited at least once every\n"
		"--cover-every runs (the partition bounds are kept from run to run), also audits\n"
		"the partitions holding rows changed since the previous run when the check has a\n"
		"lag_column, and reconciles every table's total row count. It writes the reports\n"
		"the check file names.\n"
		"\n"
		"  --cover-every N        every partition is audited within N runs (default 1)\n"
		"  --max-differences N    confirmed differences tolerated before exit 1 (default 0)\n"
		"  --max-count-gap N      |source rows - target rows| tolerated (default 0)\n"
		"  (and every option of 'crosscheck audit')\n"
		"\n"
		"exit: 0 within the thresholds, 1 over them, 2 error (for alerting)\n",
	.run = run_drift,
};
