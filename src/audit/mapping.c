/*
 * audit/mapping.c: from two table descriptions and the options to one compare plan.
 *
 * Decides which columns are compared (--columns, --exclude-columns), how source names
 * map to target names (--map, then exact, then case-insensitive: PostgreSQL folds to
 * lower case, MySQL keeps case, OpenSearch lowercases index names), the key, and each
 * column pair's compare type and options. Every mismatch is an error naming the table
 * and column, because a silently skipped column would be an unaudited one.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit_internal.h"
#include "util/log.h"
#include "util/str.h"

static void
split_name(const char *full, char **schema, char **table)
{
	const char *dot = strchr(full, '.');
	if (dot) {
		*schema = xstrndup(full, (size_t) (dot - full));
		*table = xstrdup(dot + 1);
	} else {
		*schema = NULL;
		*table = xstrdup(full);
	}
}

static bool
describe(struct endpoint *ep, const char *full, struct table_desc *out)
{
	char *schema, *table;
	split_name(full, &schema, &table);
	bool ok = ep->ops->describe(ep, schema, table, out);
	free(schema);
	free(table);
	return ok;
}

/* mapped_name: the table's own maps (--table-mappings) first, then --map. */
static const char *
mapped_name(const struct audit_options *o, const struct table_spec *spec, const char *src)
{
	for (int i = 0; i < spec->nmaps; i++)
		if (strcmp(spec->maps[i].source, src) == 0)
			return spec->maps[i].target;
	for (int i = 0; i < o->nmaps; i++)
		if (strcmp(o->maps[i].source, src) == 0)
			return o->maps[i].target;
	return src;
}

/* find_target_column: exact name first, then the one case-insensitive match. */
static int
find_target_column(const struct table_desc *t, const char *name)
{
	int i = table_desc_find(t, name);
	if (i >= 0)
		return i;
	int found = -1;
	for (int j = 0; j < t->ncols; j++)
		if (strcasecmp(t->cols[j].name, name) == 0) {
			if (found >= 0)
				return -1; /* ambiguous: refuse to guess */
			found = j;
		}
	return found;
}

void
audit_columns_json(const struct table_plan *tp, const int *idx, int n, struct buf *out)
{
	buf_append_char(out, '[');
	for (int i = 0; i < n; i++) {
		const char *name = tp->cols[idx ? idx[i] : i].name;
		if (i)
			buf_append_char(out, ',');
		buf_append_json_string(out, name, strlen(name));
	}
	buf_append_char(out, ']');
}

static bool
add_column(struct table_plan *tp, const struct audit_options *o, int si, int ti)
{
	const struct column_desc *sc = &tp->src.cols[si], *tc = &tp->tgt.cols[ti];
	enum canon_type t = canon_unify(sc->type, tc->type);
	if (t == CANON_NULL) {
		log_error("%s: column %s: cannot compare source type %s with target type %s",
			  tp->name, sc->name, sc->engine_type, tc->engine_type);
		log_hint("exclude it with --exclude-columns %s", sc->name);
		return false;
	}
	int n = tp->ncols++;
	tp->cols = xrealloc(tp->cols, (size_t) tp->ncols * sizeof(*tp->cols));
	tp->col_names = xrealloc(tp->col_names, (size_t) tp->ncols * sizeof(char *));
	tp->src_cols = xrealloc(tp->src_cols, (size_t) tp->ncols * sizeof(int));
	tp->tgt_cols = xrealloc(tp->tgt_cols, (size_t) tp->ncols * sizeof(int));
	tp->col_names[n] = xstrdup(sc->name);
	tp->src_cols[n] = si;
	tp->tgt_cols[n] = ti;
	struct colplan *c = &tp->cols[n];
	c->name = tp->col_names[n];
	c->type = t;
	c->opts = canon_opts_default();
	c->opts.float_digits = o->float_digits > 0 ? o->float_digits
			       : (sc->single_float || tc->single_float) ? 6
									 : 15;
	c->opts.frac_digits = o->frac_digits;
	c->opts.zone_offset_sec = o->zone_offset_sec;
	c->opts.trim_trailing = sc->fixed_char || tc->fixed_char;
	c->opts.casefold = o->casefold;
	for (int i = 0; i < o->ncolopts; i++) {
		const struct column_option *co = &o->colopts[i];
		if (strcmp(co->column, sc->name) != 0)
			continue;
		if (co->float_digits > 0)
			c->opts.float_digits = co->float_digits;
		if (co->frac_digits >= 0)
			c->opts.frac_digits = co->frac_digits;
		if (co->has_zone)
			c->opts.zone_offset_sec = co->zone_offset_sec;
		if (co->trim >= 0)
			c->opts.trim_trailing = co->trim;
		if (co->casefold >= 0)
			c->opts.casefold = co->casefold;
	}
	/* same engine, same exact type, text already canonical, no option that changes it */
	c->identity = tp->same_engine && sc->text_is_canonical && tc->text_is_canonical &&
		      sc->type == tc->type && strcmp(sc->engine_type, tc->engine_type) == 0 &&
		      !c->opts.casefold && (t != CANON_TIMESTAMP || c->opts.frac_digits == 6) &&
		      t != CANON_TIME && t != CANON_FLOAT;
	return true;
}

/* name_in_any: does any of the tables have this source column? */
static bool
name_in_any(const struct table_plan *tables, int n, const char *name)
{
	for (int t = 0; t < n; t++)
		if (table_desc_find(&tables[t].src, name) >= 0)
			return true;
	return false;
}

bool
audit_check_names(const struct audit_options *o, const struct table_plan *tables, int n)
{
	const struct strlist *named[] = {&o->columns, &o->exclude, &o->key};
	const char *flags[] = {"--columns", "--exclude-columns", "--key"};
	for (int l = 0; l < 3; l++)
		for (size_t i = 0; i < named[l]->n; i++)
			if (!name_in_any(tables, n, named[l]->items[i])) {
				log_error("%s%sunknown column \"%s\" in %s", n == 1 ? tables[0].name : "",
					  n == 1 ? ": " : "", named[l]->items[i], flags[l]);
				return false;
			}
	for (int i = 0; i < o->nmaps; i++)
		if (!name_in_any(tables, n, o->maps[i].source)) {
			log_error("%s%sunknown column \"%s\" in --map", n == 1 ? tables[0].name : "",
				  n == 1 ? ": " : "", o->maps[i].source);
			return false;
		}
	for (int i = 0; i < o->ncolopts; i++)
		if (!name_in_any(tables, n, o->colopts[i].column)) {
			log_error("%s%sunknown column \"%s\" in --column-option",
				  n == 1 ? tables[0].name : "", n == 1 ? ": " : "", o->colopts[i].column);
			return false;
		}
	return true;
}

static int
plan_col_of_source(const struct table_plan *tp, int si)
{
	for (int i = 0; i < tp->ncols; i++)
		if (tp->src_cols[i] == si)
			return i;
	return -1;
}

bool
table_plan_build(const struct audit_options *o, const struct table_spec *spec,
		 struct endpoint *src, struct endpoint *tgt, struct table_plan *tp)
{
	memset(tp, 0, sizeof(*tp));
	pthread_mutex_init(&tp->mu, NULL);
	if (!describe(src, spec->source, &tp->src))
		return false;
	if (tgt->ops->describe_from) {
		/* a side without types (DMS files): the source's description is its own */
		char *schema, *table;
		split_name(spec->target ? spec->target : spec->source, &schema, &table);
		bool ok = tgt->ops->describe_from(tgt, schema ? schema : tp->src.schema, table,
						  &tp->src, &tp->tgt);
		free(schema);
		free(table);
		if (!ok)
			return false;
	} else if (!describe(tgt, spec->target ? spec->target : spec->source, &tp->tgt)) {
		return false;
	}
	tp->same_engine = src->ops == tgt->ops;
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%s.%s", tp->src.schema, tp->src.name);
	tp->name = buf_steal(&b);
	if (tp->tgt.schema && *tp->tgt.schema)
		buf_printf(&b, "%s.%s", tp->tgt.schema, tp->tgt.name);
	else
		buf_append_str(&b, tp->tgt.name); /* no schemas (an OpenSearch index) */
	tp->target_name = buf_steal(&b);

	/*
	 * Column options name source columns. With one table every name must exist there;
	 * with several, a name applies to the tables that have it, and audit_check_names
	 * makes sure each exists in at least one: a typo must not shrink the audit silently.
	 */
	if (o->ntables == 1 && !audit_check_names(o, tp, 1))
		return false;
	/* a table's own key, columns and exclusions must all be its columns */
	const struct strlist *own[] = {&spec->key, &spec->columns, &spec->exclude};
	for (int l = 0; l < 3; l++)
		for (size_t i = 0; i < own[l]->n; i++)
			if (table_desc_find(&tp->src, own[l]->items[i]) < 0) {
				log_error("%s: unknown column \"%s\" in this table's %s", tp->name,
					  own[l]->items[i], l == 0 ? "key" : l == 1 ? "columns" : "exclude_columns");
				return false;
			}
	const struct strlist *keylist = spec->key.n ? &spec->key : &o->key;
	const struct strlist *columns = spec->columns.n ? &spec->columns : &o->columns;
	bool key_here = keylist->n > 0;
	for (size_t i = 0; i < keylist->n; i++)
		key_here &= table_desc_find(&tp->src, keylist->items[i]) >= 0;

	/* the key: the table's own, else --key, else the catalog's */
	int nkeys = key_here ? (int) keylist->n : 0;
	int *skey = xcalloc((size_t) (nkeys ? nkeys : tp->src.nkeys) + 1, sizeof(int));
	if (nkeys) {
		for (int k = 0; k < nkeys; k++)
			skey[k] = table_desc_find(&tp->src, keylist->items[k]);
	} else {
		nkeys = tp->src.nkeys;
		if (nkeys > 0)
			memcpy(skey, tp->src.key, (size_t) nkeys * sizeof(int));
	}
	bool ok = false;
	if (nkeys == 0) {
		log_error("%s: table has no primary key or unique index on NOT NULL columns",
			  tp->name);
		log_hint("name the columns that identify a row with --key COL[,COL]");
		goto done;
	}

	for (int si = 0; si < tp->src.ncols; si++) {
		const char *name = tp->src.cols[si].name;
		bool is_key = false;
		for (int k = 0; k < nkeys; k++)
			is_key |= skey[k] == si;
		bool wanted = is_key || ((columns->n == 0 || strlist_contains(columns, name)) &&
					 !strlist_contains(&o->exclude, name) &&
					 !strlist_contains(&spec->exclude, name));
		if (!wanted)
			continue;
		const char *tname = mapped_name(o, spec, name);
		int ti = find_target_column(&tp->tgt, tname);
		if (ti < 0) {
			log_error("%s: column \"%s\" not found on the target table %s", tp->name, tname,
				  tp->target_name);
			log_hint("map it with --map %s=TARGET_COLUMN or skip it with --exclude-columns %s",
				 name, name);
			goto done;
		}
		if (!add_column(tp, o, si, ti))
			goto done;
	}

	tp->nkeys = nkeys;
	tp->keys = xcalloc((size_t) nkeys, sizeof(int));
	tp->src_key = xcalloc((size_t) nkeys, sizeof(int));
	tp->tgt_key = xcalloc((size_t) nkeys, sizeof(int));
	for (int k = 0; k < nkeys; k++) {
		int pc = plan_col_of_source(tp, skey[k]);
		tp->keys[k] = pc;
		tp->src_key[k] = skey[k];
		tp->tgt_key[k] = tp->tgt_cols[pc];
		/* keys are always canonical: their bytes also decide the merge order */
		tp->cols[pc].identity = false;
		enum canon_type t = tp->cols[pc].type;
		if (t == CANON_JSON) {
			log_error("%s: key column %s is JSON, which has no order to partition by",
				  tp->name, tp->cols[pc].name);
			goto done;
		}
	}
	tp->layout.ncols = tp->ncols;
	tp->layout.cols = tp->cols;
	tp->layout.nkeys = tp->nkeys;
	tp->layout.keys = tp->keys;
	ok = true;
done:
	free(skey);
	return ok;
}

void
table_plan_free(struct table_plan *tp)
{
	table_desc_free(&tp->src);
	table_desc_free(&tp->tgt);
	for (int i = 0; i < tp->ncols; i++)
		free(tp->col_names[i]);
	free(tp->col_names);
	free(tp->cols);
	free(tp->src_cols);
	free(tp->tgt_cols);
	free(tp->keys);
	free(tp->src_key);
	free(tp->tgt_key);
	free(tp->name);
	free(tp->target_name);
	free(tp->error);
	plan_free(&tp->plan);
	free(tp->part_done);
	free(tp->lag_cutoff);
	pthread_mutex_destroy(&tp->mu);
	memset(tp, 0, sizeof(*tp));
}

void
table_plan_scan_request(const struct table_plan *tp, int side, struct scan_request *r)
{
	memset(r, 0, sizeof(*r));
	r->table = side == 0 ? &tp->src : &tp->tgt;
	r->cols = side == 0 ? tp->src_cols : tp->tgt_cols;
	r->ncols = tp->ncols;
	r->key = side == 0 ? tp->src_key : tp->tgt_key;
	r->nkeys = tp->nkeys;
}
