/*
 * cli/audit_tables.c: `--table-mappings FILE`, the tables of an audit from an AWS DMS
 * table mapping.
 *
 * config/table_mappings.c knows the rules and no engine; this is the glue that shows
 * it the source: the table list (for wildcard selection) and each selected table's
 * columns (for column transformations), over one short-lived source connection, before
 * the audit opens its own. What comes out is plain table specs, so the audit itself
 * does not know that a DMS mapping was involved.
 */
#include "cli/audit_tables.h"

#include <stdlib.h>
#include <string.h>

#include "config/table_mappings.h"
#include "endpoint/endpoint.h"
#include "util/log.h"
#include "util/str.h"

struct selected {
	const struct table_mappings *m;
	struct strlist schemas, tables;
};

static bool
consider_table(void *ctx, const char *schema, const char *name, bool is_view)
{
	struct selected *s = ctx;
	if (!table_mappings_selects(s->m, schema, name, is_view))
		return true;
	return strlist_push(&s->schemas, schema) && strlist_push(&s->tables, name);
}

/* add_spec turns one selected table and its resolved names into a table_spec. */
static void
add_spec(struct audit_options *o, const struct table_desc *d, const struct mapped_table *mt)
{
	o->tables = xrealloc(o->tables, (size_t) (o->ntables + 1) * sizeof(*o->tables));
	struct table_spec *spec = &o->tables[o->ntables++];
	memset(spec, 0, sizeof(*spec));
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s.%s", d->schema, d->name);
	spec->source = buf_steal(&b);
	buf_printf(&b, "%s.%s", mt->target_schema, mt->target_table);
	spec->target = buf_steal(&b);
	for (int i = 0; i < d->ncols; i++) {
		const char *to = mt->target_columns[i];
		if (to == NULL) {
			strlist_push(&spec->exclude, d->cols[i].name);
		} else if (strcmp(to, d->cols[i].name) != 0) {
			spec->maps = xrealloc(spec->maps, (size_t) (spec->nmaps + 1) * sizeof(*spec->maps));
			spec->maps[spec->nmaps].source = xstrdup(d->cols[i].name);
			spec->maps[spec->nmaps].target = xstrdup(to);
			spec->nmaps++;
		}
	}
}

bool
audit_tables_from_mappings(struct audit_options *o, const char *path)
{
	struct table_mappings m;
	struct endpoint *ep = NULL;
	struct selected s = {&m, {0}, {0}};
	char **schemas = NULL, **tables = NULL;
	int nlit = 0;
	bool ok = false;
	if (!table_mappings_load(path, &m))
		return false;
	struct endpoint_options eo = {"source", o->statement_timeout_ms, 10, false, o->source_password};
	if (!endpoint_open(o->source_uri, &eo, &ep))
		goto cleanup;

	if (ep->ops->list_tables) {
		if (!ep->ops->list_tables(ep, consider_table, &s))
			goto cleanup;
	} else {
		/* a source that cannot list its tables: the rules must name them */
		if (!table_mappings_literal_names(&m, &schemas, &tables, &nlit))
			goto cleanup;
		for (int i = 0; i < nlit; i++) {
			bool seen = false;
			for (size_t j = 0; j < s.tables.n; j++)
				seen |= strcmp(s.schemas.items[j], schemas[i]) == 0 &&
					strcmp(s.tables.items[j], tables[i]) == 0;
			if (!seen)
				consider_table(&s, schemas[i], tables[i], false);
		}
	}
	if (s.tables.n == 0) {
		log_error("table mappings %s select no table on %s", path, ep->shown_uri);
		log_hint("selection rules match schema and table names case-sensitively, as DMS does");
		goto cleanup;
	}
	for (size_t i = 0; i < s.tables.n; i++) {
		struct table_desc d;
		if (!ep->ops->describe(ep, s.schemas.items[i], s.tables.items[i], &d))
			goto cleanup;
		const char **names = xcalloc((size_t) d.ncols + 1, sizeof(char *));
		for (int c = 0; c < d.ncols; c++)
			names[c] = d.cols[c].name;
		struct mapped_table mt;
		table_mappings_resolve(&m, d.schema, d.name, names, d.ncols, &mt);
		add_spec(o, &d, &mt);
		log_info("table mappings: %s -> %s", o->tables[o->ntables - 1].source,
			 o->tables[o->ntables - 1].target);
		mapped_table_free(&mt);
		free(names);
		table_desc_free(&d);
	}
	ok = true;

cleanup:
	for (int i = 0; i < nlit; i++) {
		free(schemas[i]);
		free(tables[i]);
	}
	free(schemas);
	free(tables);
	strlist_free(&s.schemas);
	strlist_free(&s.tables);
	endpoint_close(ep);
	table_mappings_free(&m);
	return ok;
}
