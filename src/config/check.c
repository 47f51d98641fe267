/*
 * config/check.c: loading check files.
 *
 * libinih calls back per key without a line number, so the file is fed through
 * ini_parse_stream with a reader that counts lines: when the handler runs, the counter
 * is the line of the key it was given.
 */
#include "config/check.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/uri.h"

struct parse_state {
	struct check_file *c;
	FILE *f;
	int line;
	bool failed;
};

static char *
count_lines(char *str, int num, void *stream)
{
	struct parse_state *s = stream;
	char *r = fgets(str, num, s->f);
	if (r)
		s->line++;
	return r;
}

#define FAIL(s, ...)                                                       \
	do {                                                               \
		char msg_[512];                                            \
		snprintf(msg_, sizeof(msg_), __VA_ARGS__);                 \
		log_error("%s:%d: %s", (s)->c->path, (s)->line, msg_);     \
		(s)->failed = true;                                        \
		return 0;                                                  \
	} while (0)

static bool
is_env_name(const char *v)
{
	if (!(isupper((unsigned char) *v) || *v == '_'))
		return false;
	for (; *v; v++)
		if (!(isupper((unsigned char) *v) || isdigit((unsigned char) *v) || *v == '_'))
			return false;
	return true;
}

static bool
is_secret_key(const char *name)
{
	static const char *words[] = {"password", "passwd", "secret", "token", "pwd"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]) && !strstr(name, "_env"))
			return true;
	return false;
}

static char *
path_in(const struct check_file *c, const char *v)
{
	if (v[0] == '/' || c->dir == NULL)
		return xstrdup(v);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s/%s", c->dir, v);
	return buf_steal(&b);
}

static bool
set_once(struct parse_state *s, char **field, const char *v)
{
	if (*field) {
		log_error("%s:%d: duplicate key", s->c->path, s->line);
		s->failed = true;
		return false;
	}
	*field = xstrdup(v);
	return true;
}

static int
parse_uri(struct parse_state *s, const char *name, const char *v, char **field, int *line)
{
	struct uri u;
	if (!uri_parse(v, &u))
		FAIL(s, "%s: not a valid URI", name);
	bool secret = u.password != NULL || uri_param(&u, "password") != NULL;
	uri_free(&u);
	if (secret)
		FAIL(s, "%s: a password is written in the URI; name an environment variable with "
			"%s_password_env instead",
		     name, name);
	*line = s->line;
	return set_once(s, field, v);
}

static int
parse_int(struct parse_state *s, const char *name, const char *v, int64_t min, int64_t max,
	  int64_t *out)
{
	int64_t n;
	if (!str_to_int64(v, &n) || n < min || n > max)
		FAIL(s, "%s: expected an integer from %lld to %lld, got \"%s\"", name, (long long) min,
		     (long long) max, v);
	*out = n;
	return 1;
}

static int
parse_duration(struct parse_state *s, const char *name, const char *v, double *out)
{
	if (!str_to_duration(v, out))
		FAIL(s, "%s: expected a duration such as 30s, 5m or 2h, got \"%s\"", name, v);
	return 1;
}

static int
parse_bool(struct parse_state *s, const char *name, const char *v, int *out)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		FAIL(s, "%s: expected true or false, got \"%s\"", name, v);
	return 1;
}

static int
check_key(struct parse_state *s, const char *name, const char *v)
{
	struct check_file *c = s->c;
	int64_t n;
	if (strcmp(name, "name") == 0)
		return set_once(s, &c->name, v);
	if (strcmp(name, "source") == 0)
		return parse_uri(s, name, v, &c->source, &c->source_line);
	if (strcmp(name, "target") == 0)
		return parse_uri(s, name, v, &c->target, &c->target_line);
	if (strcmp(name, "source_password_env") == 0 || strcmp(name, "target_password_env") == 0) {
		if (!is_env_name(v))
			FAIL(s, "%s: expected the NAME of an environment variable (A-Z, 0-9, _), got "
				"\"%s\"",
			     name, v);
		return set_once(s, name[0] == 's' ? &c->source_password_env : &c->target_password_env, v);
	}
	if (strcmp(name, "store") == 0) {
		char *p = path_in(c, v);
		bool ok = set_once(s, &c->store, p);
		free(p);
		return ok;
	}
	if (strcmp(name, "table_mappings") == 0) {
		char *p = path_in(c, v);
		bool ok = set_once(s, &c->table_mappings, p);
		free(p);
		c->table_mappings_line = s->line;
		return ok;
	}
	if (strcmp(name, "partition_rows") == 0)
		return parse_int(s, name, v, 1, 1000000000, &c->partition_rows);
	if (strcmp(name, "jobs") == 0) {
		if (!parse_int(s, name, v, 1, 256, &n))
			return 0;
		c->jobs = (int) n;
		return 1;
	}
	if (strcmp(name, "recheck_delay") == 0)
		return parse_duration(s, name, v, &c->recheck_delay);
	if (strcmp(name, "recheck_attempts") == 0) {
		if (!parse_int(s, name, v, 0, 100, &n))
			return 0;
		c->recheck_attempts = (int) n;
		return 1;
	}
	if (strcmp(name, "lag_column") == 0)
		return set_once(s, &c->lag_column, v);
	if (strcmp(name, "lag_window") == 0)
		return parse_duration(s, name, v, &c->lag_window);
	if (strcmp(name, "max_replica_lag") == 0)
		return parse_duration(s, name, v, &c->max_replica_lag);
	if (strcmp(name, "lag_query") == 0)
		return set_once(s, &c->lag_query, v);
	if (strcmp(name, "max_rows_per_second") == 0)
		return parse_int(s, name, v, 1, 1000000000, &c->max_rows_per_second);
	if (strcmp(name, "float_digits") == 0) {
		if (!parse_int(s, name, v, 1, 17, &n))
			return 0;
		c->float_digits = (int) n;
		return 1;
	}
	if (strcmp(name, "time_precision") == 0) {
		if (!parse_int(s, name, v, 0, 9, &n))
			return 0;
		c->time_precision = (int) n;
		return 1;
	}
	if (strcmp(name, "timezone") == 0)
		return set_once(s, &c->timezone, v);
	if (strcmp(name, "casefold") == 0)
		return parse_bool(s, name, v, &c->casefold);
	if (strcmp(name, "key") == 0)
		return strlist_split(&c->key, v);
	if (strcmp(name, "columns") == 0)
		return strlist_split(&c->columns, v);
	if (strcmp(name, "exclude_columns") == 0)
		return strlist_split(&c->exclude, v);
	if (strcmp(name, "max_differences") == 0)
		return parse_int(s, name, v, 0, INT64_MAX / 2, &c->max_differences);
	if (strcmp(name, "max_count_gap") == 0)
		return parse_int(s, name, v, 0, INT64_MAX / 2, &c->max_count_gap);
	if (strcmp(name, "cover_every") == 0) {
		if (!parse_int(s, name, v, 1, 100000, &n))
			return 0;
		c->cover_every = (int) n;
		return 1;
	}
	char **reports[] = {&c->report_html, &c->report_json, &c->report_junit, &c->report_prometheus};
	const char *rnames[] = {"report_html", "report_json", "report_junit", "report_prometheus"};
	for (int i = 0; i < 4; i++)
		if (strcmp(name, rnames[i]) == 0) {
			char *p = path_in(c, v);
			bool ok = set_once(s, reports[i], p);
			free(p);
			return ok;
		}
	FAIL(s, "unknown key \"%s\" in [check]", name);
}

static int
table_key(struct parse_state *s, struct check_table *t, const char *name, const char *v)
{
	if (strcmp(name, "target") == 0) {
		if (t->target)
			FAIL(s, "duplicate key");
		t->target = xstrdup(v);
		return 1;
	}
	if (strcmp(name, "key") == 0)
		return strlist_split(&t->key, v);
	if (strcmp(name, "columns") == 0)
		return strlist_split(&t->columns, v);
	if (strcmp(name, "exclude_columns") == 0)
		return strlist_split(&t->exclude, v);
	if (strcmp(name, "map") == 0) {
		struct strlist items = {0};
		strlist_split(&items, v);
		for (size_t i = 0; i < items.n; i++) {
			const char *eq = strchr(items.items[i], '=');
			if (eq == NULL || eq == items.items[i] || eq[1] == '\0') {
				strlist_free(&items);
				FAIL(s, "map: expected SOURCE_COLUMN=TARGET_COLUMN[, ...], got \"%s\"", v);
			}
			strlist_push(&t->map, items.items[i]);
		}
		strlist_free(&items);
		return 1;
	}
	FAIL(s, "unknown key \"%s\" in [table %s]", name, t->source);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *s = user;
	struct check_file *c = s->c;
	if (s->failed)
		return 0;
	if (name == NULL) { /* a new section (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
		return 1;
	}
	if (is_secret_key(name))
		FAIL(s, "\"%s\": secrets are not written in check files; name an environment "
			"variable with source_password_env / target_password_env",
		     name);
	if (strcmp(section, "check") == 0)
		return check_key(s, name, value);
	if (strncmp(section, "table ", 6) == 0 && section[6] != '\0') {
		const char *tname = section + 6;
		struct check_table *t = NULL;
		for (int i = 0; i < c->ntables; i++)
			if (strcmp(c->tables[i].source, tname) == 0)
				t = &c->tables[i];
		if (t == NULL) {
			c->tables = xrealloc(c->tables, (size_t) (c->ntables + 1) * sizeof(*c->tables));
			t = &c->tables[c->ntables++];
			memset(t, 0, sizeof(*t));
			t->source = xstrdup(tname);
			t->line = s->line;
		}
		return table_key(s, t, name, value);
	}
	if (strcmp(section, "s3") == 0) {
		/* DMS S3 endpoint settings, named as DMS names them; the endpoint checks them */
		struct buf kv;
		buf_init(&kv);
		if (strcmp(name, "s3_settings") == 0 || strcmp(name, "S3Settings") == 0) {
			char *p = path_in(c, value);
			buf_printf(&kv, "S3Settings=%s", p);
			free(p);
		} else {
			buf_printf(&kv, "%s=%s", name, value);
		}
		strlist_push(&c->s3, buf_cstr(&kv));
		buf_free(&kv);
		return 1;
	}
	FAIL(s, "unknown section [%s] (expected [check], [s3] or [table SCHEMA.NAME])", section);
}

/* note_tables records [table X] sections that have no keys (libinih reports only keys). */
static void
note_empty_tables(struct check_file *c, FILE *f)
{
	char line[1024];
	int n = 0;
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		char *p = line;
		while (isspace((unsigned char) *p))
			p++;
		if (strncmp(p, "[table ", 7) != 0)
			continue;
		char *end = strchr(p, ']');
		if (end == NULL)
			continue;
		*end = '\0';
		const char *tname = p + 7;
		bool known = false;
		for (int i = 0; i < c->ntables; i++)
			known |= strcmp(c->tables[i].source, tname) == 0;
		if (!known && *tname) {
			c->tables = xrealloc(c->tables, (size_t) (c->ntables + 1) * sizeof(*c->tables));
			struct check_table *t = &c->tables[c->ntables++];
			memset(t, 0, sizeof(*t));
			t->source = xstrdup(tname);
			t->line = n;
		}
	}
}

bool
check_file_load(const char *path, struct check_file *out)
{
	memset(out, 0, sizeof(*out));
	out->path = xstrdup(path);
	const char *slash = strrchr(path, '/');
	out->dir = slash ? xstrndup(path, (size_t) (slash - path)) : xstrdup(".");
	out->recheck_delay = -1;
	out->recheck_attempts = -1;
	out->time_precision = -1;
	out->casefold = -1;
	out->max_differences = -1;
	out->max_count_gap = -1;
	struct parse_state s = {out, NULL, 0, false};
	s.f = fopen(path, "r");
	if (s.f == NULL) {
		log_error("%s: cannot read the check file: %s", path, strerror(errno));
		check_file_free(out);
		return false;
	}
	int rc = ini_parse_stream(count_lines, &s, handler, &s);
	if (rc > 0 && !s.failed)
		log_error("%s:%d: not valid INI (expected key = value, or [section])", path, rc);
	bool ok = rc == 0 && !s.failed;
	if (ok)
		note_empty_tables(out, s.f);
	fclose(s.f);
	if (ok && out->name == NULL) {
		log_error("%s: missing key \"name\" in [check]", path);
		ok = false;
	}
	if (ok && (out->source == NULL || out->target == NULL)) {
		log_error("%s: missing key \"%s\" in [check]", path, out->source ? "target" : "source");
		ok = false;
	}
	if (ok && out->s3.n > 0) {
		/* the [s3] settings belong to whichever side is made of DMS files */
		char **side = NULL;
		if (strncmp(out->target, "s3://", 5) == 0 || strncmp(out->target, "file://", 7) == 0)
			side = &out->target;
		else if (strncmp(out->source, "s3://", 5) == 0 || strncmp(out->source, "file://", 7) == 0)
			side = &out->source;
		if (side == NULL) {
			log_error("%s: an [s3] section, but neither source nor target is s3:// or file://",
				  path);
			ok = false;
		}
		for (size_t i = 0; ok && i < out->s3.n; i++) {
			const char *kv = out->s3.items[i], *eq = strchr(kv, '=');
			char *k = xstrndup(kv, (size_t) (eq - kv));
			char *u = uri_with_param(*side, k, eq + 1);
			free(k);
			free(*side);
			*side = u;
		}
	}
	if (ok && out->ntables == 0 && out->table_mappings == NULL) {
		log_error("%s: no table to audit: add a [table SCHEMA.NAME] section or table_mappings",
			  path);
		ok = false;
	}
	if (ok && (out->lag_column == NULL) != (out->lag_window <= 0)) {
		log_error("%s: lag_column and lag_window go together", path);
		ok = false;
	}
	if (!ok)
		check_file_free(out);
	return ok;
}

void
check_file_free(struct check_file *c)
{
	strlist_free(&c->s3);
	char **strs[] = {&c->path, &c->dir, &c->name, &c->source, &c->target,
			 &c->source_password_env, &c->target_password_env, &c->store,
			 &c->table_mappings, &c->lag_column, &c->lag_query, &c->timezone,
			 &c->report_html, &c->report_json, &c->report_junit, &c->report_prometheus};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strlist_free(&c->key);
	strlist_free(&c->columns);
	strlist_free(&c->exclude);
	for (int i = 0; i < c->ntables; i++) {
		free(c->tables[i].source);
		free(c->tables[i].target);
		strlist_free(&c->tables[i].key);
		strlist_free(&c->tables[i].columns);
		strlist_free(&c->tables[i].exclude);
		strlist_free(&c->tables[i].map);
	}
	free(c->tables);
	memset(c, 0, sizeof(*c));
}
