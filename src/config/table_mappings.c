/*
 * config/table_mappings.c: reading an AWS DMS table-mapping JSON (see the header for
 * what is honoured). Parsed with json-c: no number in a mapping is data, so json-c's
 * integer clamping cannot matter here.
 */
#include "config/table_mappings.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* Largest mapping file read: DMS itself caps table mappings far below this. */
#define MAPPINGS_MAX_BYTES (16u << 20)

enum tm_kind { TM_IGNORED, TM_SELECTION, TM_TRANSFORMATION };
enum tm_select { SEL_INCLUDE, SEL_EXCLUDE, SEL_EXPLICIT };
enum tm_target { TGT_SCHEMA, TGT_TABLE, TGT_COLUMN, TGT_OTHER };
enum tm_action {
	ACT_NONE, /* accepted, no effect on what is compared */
	ACT_RENAME,
	ACT_LOWER,
	ACT_UPPER,
	ACT_ADD_PREFIX,
	ACT_REMOVE_PREFIX,
	ACT_REPLACE_PREFIX,
	ACT_ADD_SUFFIX,
	ACT_REMOVE_SUFFIX,
	ACT_REPLACE_SUFFIX,
	ACT_REMOVE_COLUMN,
	ACT_INCLUDE_COLUMN,
	ACT_MASK, /* data masking: target values differ by design, so not compared */
};

struct tm_rule {
	enum tm_kind kind;
	char *label; /* rule 3 ("rename-orders"), for messages */
	char *schema, *table, *column;
	enum tm_select select;
	char table_type; /* 't' table, 'v' view, 'a' all */
	enum tm_target target;
	enum tm_action action;
	char *value, *old_value;
};

static const struct {
	const char *name;
	enum tm_action action;
	int needs; /* 0 nothing, 1 value, 2 value and old-value */
	bool column_only;
} actions[] = {
	{"rename", ACT_RENAME, 1, false},
	{"convert-lowercase", ACT_LOWER, 0, false},
	{"convert-uppercase", ACT_UPPER, 0, false},
	{"add-prefix", ACT_ADD_PREFIX, 1, false},
	{"remove-prefix", ACT_REMOVE_PREFIX, 1, false},
	{"replace-prefix", ACT_REPLACE_PREFIX, 2, false},
	{"add-suffix", ACT_ADD_SUFFIX, 1, false},
	{"remove-suffix", ACT_REMOVE_SUFFIX, 1, false},
	{"replace-suffix", ACT_REPLACE_SUFFIX, 2, false},
	{"remove-column", ACT_REMOVE_COLUMN, 0, true},
	{"include-column", ACT_INCLUDE_COLUMN, 0, true},
	{"data-masking-digits-mask", ACT_MASK, 0, true},
	{"data-masking-digits-randomize", ACT_MASK, 0, true},
	{"data-masking-hash-mask", ACT_MASK, 0, true},
	/* target-only additions and type changes: the source's columns still compare */
	{"add-column", ACT_NONE, 0, false},
	{"change-data-type", ACT_NONE, 0, false},
	{"add-before-image-columns", ACT_NONE, 0, false},
	{"define-primary-key", ACT_NONE, 0, false},
};

void
table_mappings_free(struct table_mappings *m)
{
	for (int i = 0; i < m->nrules; i++) {
		struct tm_rule *r = &m->rules[i];
		free(r->label);
		free(r->schema);
		free(r->table);
		free(r->column);
		free(r->value);
		free(r->old_value);
	}
	free(m->rules);
	m->rules = NULL;
	m->nrules = 0;
}

/* --- wildcards ---------------------------------------------------------------------- */

/* set_match reads a [..] set at p (after '['); *next gets the char after ']'. */
static bool
set_match(const char *p, char c, const char **next)
{
	bool hit = false;
	while (*p && *p != ']') {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hit |= c >= p[0] && c <= p[2];
			p += 3;
		} else {
			hit |= c == *p;
			p++;
		}
	}
	*next = *p == ']' ? p + 1 : p;
	return hit;
}

bool
table_mappings_match(const char *pattern, const char *name)
{
	const char *p = pattern, *s = name;
	const char *star_p = NULL, *star_s = NULL; /* last '%' for backtracking */
	while (*s) {
		const char *next = NULL;
		if (*p == '%') {
			star_p = ++p;
			star_s = s;
			continue;
		}
		if (*p == '[' && strchr(p, ']') != NULL) {
			if (set_match(p + 1, *s, &next)) {
				p = next;
				s++;
				continue;
			}
		} else if (*p && (*p == '_' || *p == *s)) {
			p++;
			s++;
			continue;
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '%')
		p++;
	return *p == '\0';
}

/* is_literal: the pattern has no wildcard but '_' (and "[_]", a literal underscore). */
static bool
is_literal(const char *p)
{
	for (; *p; p++) {
		if (*p == '%')
			return false;
		if (*p == '[') {
			if (strncmp(p, "[_]", 3) != 0)
				return false;
			p += 2;
		}
	}
	return true;
}

static char *
unescape_literal(const char *p)
{
	struct buf b;
	buf_init(&b);
	for (; *p; p++) {
		if (strncmp(p, "[_]", 3) == 0) {
			buf_append_char(&b, '_');
			p += 2;
		} else {
			buf_append_char(&b, *p);
		}
	}
	buf_cstr(&b);
	return buf_steal(&b);
}

/* --- parsing ------------------------------------------------------------------------ */

struct parser {
	const char *origin;
	const char *label; /* of the rule being read */
};

/* bad logs "origin: rule ...: what" once and returns false. */
static bool __attribute__((format(printf, 2, 3)))
bad(const struct parser *ps, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (ps->label)
		log_error("table mappings %s: %s: %s", ps->origin, ps->label, what);
	else
		log_error("table mappings %s: %s", ps->origin, what);
	log_hint("see the AWS DMS table mapping reference; 'crosscheck audit --help' lists what "
		 "is honoured");
	return false;
}

/* get_string reads an optional string member; false (logged) when it is not a string. */
static bool
get_string(const struct parser *ps, json_object *obj, const char *key, const char *where,
	   bool required, char **out)
{
	*out = NULL;
	json_object *v = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return bad(ps, "%s needs \"%s\"", where, key);
		return true;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad(ps, "\"%s\" in %s must be a string", key, where);
	if (required && json_object_get_string_len(v) == 0)
		return bad(ps, "\"%s\" in %s is empty", key, where);
	*out = xstrdup(json_object_get_string(v));
	return true;
}

/* rule_label builds the message prefix: rule <id> ("<name>"), or rule #<position>. */
static char *
rule_label(json_object *rule, int pos)
{
	json_object *id = NULL, *name = NULL;
	json_object_object_get_ex(rule, "rule-id", &id);
	json_object_object_get_ex(rule, "rule-name", &name);
	struct buf b;
	buf_init(&b);
	if (id && (json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int)))
		buf_printf(&b, "rule %s", json_object_get_string(id));
	else
		buf_printf(&b, "rule #%d", pos + 1);
	if (name && json_object_is_type(name, json_type_string))
		buf_printf(&b, " (\"%s\")", json_object_get_string(name));
	return buf_steal(&b);
}

static bool
parse_selection(struct parser *ps, json_object *obj, json_object *loc, struct tm_rule *r)
{
	char *action = NULL, *type = NULL;
	bool ok = false;
	r->kind = TM_SELECTION;
	if (!get_string(ps, loc, "schema-name", "object-locator", true, &r->schema) ||
	    !get_string(ps, loc, "table-name", "object-locator", true, &r->table) ||
	    !get_string(ps, loc, "table-type", "object-locator", false, &type) ||
	    !get_string(ps, obj, "rule-action", "a selection rule", true, &action))
		goto done;
	if (strcmp(action, "include") == 0)
		r->select = SEL_INCLUDE;
	else if (strcmp(action, "exclude") == 0)
		r->select = SEL_EXCLUDE;
	else if (strcmp(action, "explicit") == 0)
		r->select = SEL_EXPLICIT;
	else {
		bad(ps, "selection rule-action \"%s\" is not include, exclude or explicit", action);
		goto done;
	}
	r->table_type = 't';
	if (type && strcmp(type, "view") == 0)
		r->table_type = 'v';
	else if (type && strcmp(type, "all") == 0)
		r->table_type = 'a';
	else if (type && strcmp(type, "table") != 0) {
		bad(ps, "table-type \"%s\" is not table, view or all", type);
		goto done;
	}
	if (r->select == SEL_EXPLICIT && (strchr(r->schema, '%') || strchr(r->table, '%'))) {
		bad(ps, "an explicit selection names one table: \"%%\" is not allowed");
		goto done;
	}
	json_object *filters = NULL;
	if (json_object_object_get_ex(obj, "filters", &filters) &&
	    json_object_is_type(filters, json_type_array) && json_object_array_length(filters) > 0) {
		bad(ps, "selection filters (a subset of rows) are not supported: the target would "
			"lack the filtered-out rows");
		goto done;
	}
	ok = true;
done:
	free(action);
	free(type);
	return ok;
}

static bool
parse_transformation(struct parser *ps, json_object *obj, json_object *loc, struct tm_rule *r)
{
	char *target = NULL, *action = NULL;
	bool ok = false;
	r->kind = TM_TRANSFORMATION;
	if (!get_string(ps, obj, "rule-target", "a transformation rule", true, &target) ||
	    !get_string(ps, obj, "rule-action", "a transformation rule", true, &action))
		goto done;
	if (strcmp(target, "schema") == 0)
		r->target = TGT_SCHEMA;
	else if (strcmp(target, "table") == 0)
		r->target = TGT_TABLE;
	else if (strcmp(target, "column") == 0)
		r->target = TGT_COLUMN;
	else if (strcmp(target, "index") == 0 || strcmp(target, "primary-key") == 0 ||
		 strcmp(target, "table-tablespace") == 0 || strcmp(target, "index-tablespace") == 0)
		r->target = TGT_OTHER;
	else {
		bad(ps, "rule-target \"%s\" is not schema, table, column, index, primary-key, "
			"table-tablespace or index-tablespace", target);
		goto done;
	}
	size_t i;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, action) == 0)
			break;
	if (i == sizeof(actions) / sizeof(actions[0])) {
		bad(ps, "unknown transformation rule-action \"%s\"", action);
		goto done;
	}
	/* add-column and the like name a table, not an existing column */
	bool names_column = r->target == TGT_COLUMN && actions[i].action != ACT_NONE;
	if (!get_string(ps, loc, "schema-name", "object-locator", true, &r->schema) ||
	    !get_string(ps, loc, "table-name", "object-locator", r->target != TGT_SCHEMA, &r->table) ||
	    !get_string(ps, loc, "column-name", "object-locator", names_column, &r->column))
		goto done;
	if (actions[i].column_only && r->target != TGT_COLUMN) {
		bad(ps, "rule-action \"%s\" needs rule-target \"column\", not \"%s\"", action, target);
		goto done;
	}
	r->action = r->target == TGT_OTHER ? ACT_NONE : actions[i].action;
	if (actions[i].needs >= 1 && r->target != TGT_OTHER &&
	    !get_string(ps, obj, "value", "this rule-action", true, &r->value))
		goto done;
	if (actions[i].needs == 2 && r->target != TGT_OTHER &&
	    !get_string(ps, obj, "old-value", "this rule-action", true, &r->old_value))
		goto done;
	ok = true;
done:
	free(target);
	free(action);
	return ok;
}

/* parse_rule reads one element of "rules"; *skip for rule types without effect here. */
static bool
parse_rule(struct parser *ps, json_object *obj, struct tm_rule *r, bool *skip)
{
	char *type = NULL;
	bool ok = false;
	*skip = false;
	if (!get_string(ps, obj, "rule-type", "the rule", true, &type))
		goto done;
	json_object *id = NULL;
	if (!json_object_object_get_ex(obj, "rule-id", &id) ||
	    !(json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int))) {
		bad(ps, "the rule needs a \"rule-id\" (a string or a number)");
		goto done;
	}
	if (strcmp(type, "table-settings") == 0 || strcmp(type, "post-processing") == 0) {
		r->kind = TM_IGNORED;
		*skip = true; /* load order, parallel load, LOB settings: no effect on values */
		ok = true;
		goto done;
	}
	if (strcmp(type, "selection") != 0 && strcmp(type, "transformation") != 0) {
		bad(ps, "rule-type \"%s\" is not selection, transformation or table-settings", type);
		goto done;
	}
	json_object *loc = NULL;
	if (!json_object_object_get_ex(obj, "object-locator", &loc) ||
	    !json_object_is_type(loc, json_type_object)) {
		bad(ps, "the rule needs an \"object-locator\" object");
		goto done;
	}
	ok = strcmp(type, "selection") == 0 ? parse_selection(ps, obj, loc, r)
					    : parse_transformation(ps, obj, loc, r);
done:
	free(type);
	return ok;
}

bool
table_mappings_parse(const char *json, size_t len, const char *origin, struct table_mappings *out)
{
	struct parser ps = {origin, NULL};
	memset(out, 0, sizeof(*out));
	enum json_tokener_error jerr = json_tokener_success;
	json_tokener *tok = json_tokener_new();
	json_object *root = tok ? json_tokener_parse_ex(tok, json, (int) len) : NULL;
	if (tok)
		jerr = json_tokener_get_error(tok);
	bool ok = false;
	struct strlist seen_ids = {0};
	if (root == NULL || jerr != json_tokener_success ||
	    (size_t) json_tokener_get_parse_end(tok) < len) {
		bad(&ps, "not valid JSON (%s)",
		    jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "trailing text");
		goto done;
	}
	json_object *rules = NULL;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array)) {
		bad(&ps, "expected an object with a \"rules\" array");
		goto done;
	}
	size_t n = json_object_array_length(rules);
	out->rules = xcalloc(n ? n : 1, sizeof(struct tm_rule));
	bool any_selection = false;
	for (size_t i = 0; i < n; i++) {
		json_object *obj = json_object_array_get_idx(rules, i);
		if (!json_object_is_type(obj, json_type_object)) {
			ps.label = NULL;
			bad(&ps, "rule #%zu is not an object", i + 1);
			goto done;
		}
		char *label = rule_label(obj, (int) i);
		ps.label = label;
		json_object *id = NULL;
		if (json_object_object_get_ex(obj, "rule-id", &id) && id) {
			const char *ids = json_object_get_string(id);
			if (strlist_contains(&seen_ids, ids)) {
				bad(&ps, "rule-id %s is used twice", ids);
				free(label);
				goto done;
			}
			strlist_push(&seen_ids, ids);
		}
		struct tm_rule *r = &out->rules[out->nrules];
		bool skip = false;
		r->label = label;
		out->nrules++; /* owned from here, even if invalid */
		if (!parse_rule(&ps, obj, r, &skip))
			goto done;
		any_selection |= !skip && r->kind == TM_SELECTION;
	}
	ps.label = NULL;
	if (!any_selection) {
		bad(&ps, "no selection rule: nothing would be audited");
		goto done;
	}
	ok = true;
done:
	strlist_free(&seen_ids);
	if (root)
		json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (!ok)
		table_mappings_free(out);
	return ok;
}

bool
table_mappings_load(const char *path, struct table_mappings *out)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		log_error("table mappings %s: cannot open: %s", path, strerror(errno));
		return false;
	}
	struct buf b;
	buf_init(&b);
	b.cap = MAPPINGS_MAX_BYTES;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(&b, chunk, n))
			break;
	bool ok = !ferror(f) && !b.failed;
	fclose(f);
	if (!ok)
		log_error("table mappings %s: cannot read it (larger than %u MiB?)", path,
			  MAPPINGS_MAX_BYTES >> 20);
	else
		ok = table_mappings_parse(b.data ? b.data : "", b.len, path, out);
	buf_free(&b);
	return ok;
}

/* --- selection ---------------------------------------------------------------------- */

static bool
type_matches(char table_type, bool is_view)
{
	return table_type == 'a' || (table_type == 'v') == is_view;
}

bool
table_mappings_selects(const struct table_mappings *m, const char *schema, const char *table,
		       bool is_view)
{
	bool included = false, excluded = false;
	for (int i = 0; i < m->nrules; i++) {
		const struct tm_rule *r = &m->rules[i];
		if (r->kind != TM_SELECTION)
			continue;
		bool hit = r->select == SEL_EXPLICIT
				   ? strcmp(r->schema, schema) == 0 && strcmp(r->table, table) == 0
				   : table_mappings_match(r->schema, schema) &&
					     table_mappings_match(r->table, table) &&
					     type_matches(r->table_type, is_view);
		if (hit && r->select == SEL_EXCLUDE)
			excluded = true;
		else if (hit)
			included = true;
	}
	return included && !excluded;
}

bool
table_mappings_literal_names(const struct table_mappings *m, char ***schemas, char ***tables,
			     int *n)
{
	*schemas = *tables = NULL;
	*n = 0;
	for (int i = 0; i < m->nrules; i++) {
		const struct tm_rule *r = &m->rules[i];
		if (r->kind != TM_SELECTION || r->select == SEL_EXCLUDE)
			continue;
		bool literal = r->select == SEL_EXPLICIT ||
			       (is_literal(r->schema) && is_literal(r->table) && r->table_type == 't');
		if (!literal) {
			log_error("table mappings: %s selects by pattern, which needs the source's "
				  "table list, and this source cannot list its tables",
				  r->label);
			log_hint("name the tables exactly, or use --table");
			for (int j = 0; j < *n; j++) {
				free((*schemas)[j]);
				free((*tables)[j]);
			}
			free(*schemas);
			free(*tables);
			*schemas = *tables = NULL;
			*n = 0;
			return false;
		}
		*schemas = xrealloc(*schemas, (size_t) (*n + 1) * sizeof(char *));
		*tables = xrealloc(*tables, (size_t) (*n + 1) * sizeof(char *));
		(*schemas)[*n] = r->select == SEL_EXPLICIT ? xstrdup(r->schema) : unescape_literal(r->schema);
		(*tables)[*n] = r->select == SEL_EXPLICIT ? xstrdup(r->table) : unescape_literal(r->table);
		(*n)++;
	}
	return true;
}

/* --- transformation ----------------------------------------------------------------- */

static bool
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool
ends_with(const char *s, const char *p)
{
	size_t n = strlen(s), k = strlen(p);
	return n >= k && strcmp(s + n - k, p) == 0;
}

/* apply_action replaces *name (owned) by the rule's result. */
static void
apply_action(const struct tm_rule *r, char **name)
{
	struct buf b;
	buf_init(&b);
	const char *s = *name;
	switch (r->action) {
	case ACT_RENAME:
		buf_append_str(&b, r->value);
		break;
	case ACT_LOWER:
	case ACT_UPPER:
		for (const char *p = s; *p; p++)
			buf_append_char(&b, (char) (r->action == ACT_LOWER ? tolower((unsigned char) *p)
									: toupper((unsigned char) *p)));
		break;
	case ACT_ADD_PREFIX:
		buf_printf(&b, "%s%s", r->value, s);
		break;
	case ACT_REMOVE_PREFIX:
		buf_append_str(&b, starts_with(s, r->value) ? s + strlen(r->value) : s);
		break;
	case ACT_REPLACE_PREFIX:
		if (starts_with(s, r->old_value))
			buf_printf(&b, "%s%s", r->value, s + strlen(r->old_value));
		else
			buf_append_str(&b, s);
		break;
	case ACT_ADD_SUFFIX:
		buf_printf(&b, "%s%s", s, r->value);
		break;
	case ACT_REMOVE_SUFFIX:
		buf_append(&b, s, strlen(s) - (ends_with(s, r->value) ? strlen(r->value) : 0));
		break;
	case ACT_REPLACE_SUFFIX:
		if (ends_with(s, r->old_value)) {
			buf_append(&b, s, strlen(s) - strlen(r->old_value));
			buf_append_str(&b, r->value);
		} else {
			buf_append_str(&b, s);
		}
		break;
	default:
		buf_free(&b);
		return;
	}
	buf_cstr(&b);
	free(*name);
	*name = buf_steal(&b);
}

static bool
rule_hits(const struct tm_rule *r, enum tm_target target, const char *schema, const char *table,
	  const char *column)
{
	return r->kind == TM_TRANSFORMATION && r->action != ACT_NONE && r->target == target &&
	       table_mappings_match(r->schema, schema) &&
	       (target == TGT_SCHEMA || table_mappings_match(r->table, table)) &&
	       (target != TGT_COLUMN || table_mappings_match(r->column, column));
}

void
table_mappings_resolve(const struct table_mappings *m, const char *schema, const char *table,
		       const char *const *columns, int ncols, struct mapped_table *out)
{
	memset(out, 0, sizeof(*out));
	out->target_schema = xstrdup(schema);
	out->target_table = xstrdup(table);
	out->ncols = ncols;
	out->target_columns = xcalloc((size_t) (ncols ? ncols : 1), sizeof(char *));
	bool has_include = false;
	for (int i = 0; i < m->nrules; i++) {
		const struct tm_rule *r = &m->rules[i];
		if (rule_hits(r, TGT_SCHEMA, schema, table, NULL))
			apply_action(r, &out->target_schema);
		if (rule_hits(r, TGT_TABLE, schema, table, NULL))
			apply_action(r, &out->target_table);
		if (r->kind == TM_TRANSFORMATION && r->target == TGT_COLUMN &&
		    r->action == ACT_INCLUDE_COLUMN && table_mappings_match(r->schema, schema) &&
		    table_mappings_match(r->table, table))
			has_include = true;
	}
	for (int c = 0; c < ncols; c++) {
		char *name = xstrdup(columns[c]);
		bool keep = true, included = false;
		for (int i = 0; i < m->nrules; i++) {
			const struct tm_rule *r = &m->rules[i];
			if (!rule_hits(r, TGT_COLUMN, schema, table, columns[c]))
				continue;
			if (r->action == ACT_REMOVE_COLUMN || r->action == ACT_MASK)
				keep = false;
			else if (r->action == ACT_INCLUDE_COLUMN)
				included = true;
			else
				apply_action(r, &name);
		}
		if (!keep || (has_include && !included)) {
			free(name);
			name = NULL;
		}
		out->target_columns[c] = name;
	}
}

void
mapped_table_free(struct mapped_table *t)
{
	for (int i = 0; i < t->ncols; i++)
		free(t->target_columns[i]);
	free(t->target_columns);
	free(t->target_schema);
	free(t->target_table);
	memset(t, 0, sizeof(*t));
}
