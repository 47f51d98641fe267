/*
 * cli/check.c: turning a check file into audit options (`audit --check`, `drift`).
 *
 * The file's values come first; options given on the command line then override them.
 * URIs are checked here against the engines crosscheck has, and passwords are read from
 * the environment variables the file names, so every problem is reported with the file
 * and line it comes from.
 */
#include "cli/check.h"

#include <stdlib.h>
#include <string.h>

#include "endpoint/endpoint.h"
#include "util/log.h"
#include "util/str.h"

static bool
password_from_env(const struct check_file *c, const char *key, const char *name, const char **out)
{
	if (name == NULL)
		return true;
	const char *v = getenv(name);
	if (v == NULL) {
		log_error("%s: %s names the environment variable %s, which is not set", c->path, key,
			  name);
		return false;
	}
	*out = v;
	return true;
}

bool
cli_check_apply(const struct check_file *c, struct audit_options *o)
{
	if (!endpoint_check_uri(c->source, "source")) {
		log_error("%s:%d: source: not a URI crosscheck can use", c->path, c->source_line);
		return false;
	}
	if (!endpoint_check_uri(c->target, "target")) {
		log_error("%s:%d: target: not a URI crosscheck can use", c->path, c->target_line);
		return false;
	}
	if (!password_from_env(c, "source_password_env", c->source_password_env, &o->source_password) ||
	    !password_from_env(c, "target_password_env", c->target_password_env, &o->target_password))
		return false;
	o->source_uri = c->source;
	o->target_uri = c->target;
	o->tables = xcalloc((size_t) c->ntables + 1, sizeof(*o->tables));
	for (int i = 0; i < c->ntables; i++) {
		const struct check_table *t = &c->tables[i];
		struct table_spec *ts = &o->tables[o->ntables];
		for (size_t k = 0; k < t->key.n; k++)
			strlist_push(&ts->key, t->key.items[k]);
		for (size_t k = 0; k < t->columns.n; k++)
			strlist_push(&ts->columns, t->columns.items[k]);
		for (size_t k = 0; k < t->exclude.n; k++)
			strlist_push(&ts->exclude, t->exclude.items[k]);
		for (size_t k = 0; k < t->map.n; k++) {
			const char *m = t->map.items[k], *eq = strchr(m, '=');
			ts->maps = xrealloc(ts->maps, (size_t) (ts->nmaps + 1) * sizeof(*ts->maps));
			ts->maps[ts->nmaps].source = xstrndup(m, (size_t) (eq - m));
			ts->maps[ts->nmaps].target = xstrdup(eq + 1);
			ts->nmaps++;
		}
		o->tables[o->ntables].source = xstrdup(t->source);
		o->tables[o->ntables].target = t->target ? xstrdup(t->target) : NULL;
		o->ntables++;
	}
	for (size_t k = 0; k < c->key.n; k++)
		strlist_push(&o->key, c->key.items[k]);
	for (size_t k = 0; k < c->columns.n; k++)
		strlist_push(&o->columns, c->columns.items[k]);
	for (size_t k = 0; k < c->exclude.n; k++)
		strlist_push(&o->exclude, c->exclude.items[k]);
	if (c->partition_rows > 0)
		o->partition_rows = c->partition_rows;
	if (c->jobs > 0)
		o->jobs = c->jobs;
	if (c->recheck_delay >= 0)
		o->recheck_delay = c->recheck_delay;
	if (c->recheck_attempts >= 0)
		o->recheck_attempts = c->recheck_attempts;
	if (c->lag_column) {
		o->lag_column = c->lag_column;
		o->lag_window = c->lag_window;
	}
	if (c->max_replica_lag > 0)
		o->max_replica_lag = c->max_replica_lag;
	if (c->lag_query)
		o->lag_query = c->lag_query;
	if (c->max_rows_per_second > 0)
		o->max_rows_per_second = (double) c->max_rows_per_second;
	if (c->float_digits > 0)
		o->float_digits = c->float_digits;
	if (c->time_precision >= 0)
		o->frac_digits = c->time_precision;
	if (c->casefold >= 0)
		o->casefold = c->casefold;
	if (c->timezone && !cli_parse_zone(c->path, c->timezone, &o->zone_offset_sec))
		return false;
	if (c->cover_every > 0)
		o->cover_every = c->cover_every;
	return true;
}

/* cli_find_check finds --check FILE (or --check=FILE) in argv, before parsing. */
const char *
cli_find_check(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--check=", 8) == 0)
			return argv[i] + 8;
		if (strcmp(argv[i], "--") == 0)
			break;
	}
	return NULL;
}
