/*
 * cli/import_dms.c: `crosscheck import-dms`, AWS DMS validation failures into the store.
 *
 * DMS writes the rows its validation could not match into
 * awsdms_control.awsdms_validation_failures_v1; this verb reads a dump of that table (or
 * the table itself) and records the failures as a finished run of kind "dms-import",
 * so that `failures`, `recover` and `repair` work on them as on an audit's. The key of
 * each row is turned into the canonical key bytes an audit of the table would produce
 * (the key columns and compare types come from describing both tables), which is what
 * lets a repair find the row. Every row is checked before anything is written, and the
 * run is recorded in one transaction: bad input leaves the store as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit_internal.h"
#include "cli/audit_tables.h"
#include "cli/cli.h"
#include "cli/dms_failures.h"
#include "cli/exit_codes.h"
#include "endpoint/endpoint.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

#define DEFAULT_DMS_TABLE "awsdms_control.awsdms_validation_failures_v1"

enum {
	OPT_SOURCE = 1,
	OPT_TARGET,
	OPT_FROM,
	OPT_FROM_TABLE,
	OPT_DMS_TABLE,
	OPT_TASK_NAME,
	OPT_STATE,
	OPT_KEY,
	OPT_TABLE_MAPPINGS,
	OPT_RECHECK,
	OPT_RECHECK_DELAY,
	OPT_RECHECK_ATTEMPTS,
};

static const struct option import_opts[] = {
	{"source", required_argument, NULL, OPT_SOURCE},
	{"target", required_argument, NULL, OPT_TARGET},
	{"from", required_argument, NULL, OPT_FROM},
	{"from-table", required_argument, NULL, OPT_FROM_TABLE},
	{"dms-table", required_argument, NULL, OPT_DMS_TABLE},
	{"task-name", required_argument, NULL, OPT_TASK_NAME},
	{"state", required_argument, NULL, OPT_STATE},
	{"key", required_argument, NULL, OPT_KEY},
	{"table-mappings", required_argument, NULL, OPT_TABLE_MAPPINGS},
	{"recheck", no_argument, NULL, OPT_RECHECK},
	{"recheck-delay", required_argument, NULL, OPT_RECHECK_DELAY},
	{"recheck-attempts", required_argument, NULL, OPT_RECHECK_ATTEMPTS},
	{NULL, 0, NULL, 0},
};

struct import_args {
	struct audit_options o;
	const char *from;	  /* a dump file, "-" = stdin */
	const char *from_table;	  /* URI of the DMS target holding the table */
	const char *dms_table;
	const char *task_name;
	const char *state;
	const char *table_mappings;
	bool recheck;
};

static bool
import_option(void *vctx, int opt, const char *arg)
{
	struct import_args *a = vctx;
	long n;
	switch (opt) {
	case OPT_SOURCE: a->o.source_uri = arg; return true;
	case OPT_TARGET: a->o.target_uri = arg; return true;
	case OPT_FROM: a->from = arg; return true;
	case OPT_FROM_TABLE: a->from_table = arg; return true;
	case OPT_DMS_TABLE: a->dms_table = arg; return true;
	case OPT_TASK_NAME: a->task_name = arg; return true;
	case OPT_STATE:
		if (strcmp(arg, "confirmed") && strcmp(arg, "pending")) {
			log_error("--state: expected confirmed or pending, got \"%s\"", arg);
			return false;
		}
		a->state = arg;
		return true;
	case OPT_KEY: return strlist_split(&a->o.key, arg);
	case OPT_TABLE_MAPPINGS: a->table_mappings = arg; return true;
	case OPT_RECHECK: a->recheck = true; return true;
	case OPT_RECHECK_DELAY: return cli_duration("--recheck-delay", arg, &a->o.recheck_delay);
	case OPT_RECHECK_ATTEMPTS:
		if (!cli_int("--recheck-attempts", arg, 1, 100, &n))
			return false;
		a->o.recheck_attempts = (int) n;
		return true;
	}
	return false;
}

/* --- reading the rows ----------------------------------------------------------------- */

static bool
read_all(const char *path, struct buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		log_error("import-dms: cannot open --from %s: %s", path, strerror(errno));
		return false;
	}
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(out, chunk, n)) {
			log_error("import-dms: --from %s is too large", path);
			break;
		}
	bool ok = !ferror(f) && !out->failed;
	if (ferror(f))
		log_error("import-dms: cannot read --from %s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	return ok;
}

struct table_rows {
	struct dms_rows *rows;
	int map[DMS_NFIELDS]; /* field -> index in the scan's columns, or -1 */
};

static bool
take_table_row(void *ctx, const struct value *vals)
{
	struct table_rows *t = ctx;
	const char *fields[DMS_NFIELDS] = {0};
	char *copies[DMS_NFIELDS] = {0};
	for (int f = 0; f < DMS_NFIELDS; f++)
		if (t->map[f] >= 0 && !vals[t->map[f]].null)
			fields[f] = copies[f] = xstrndup(vals[t->map[f]].data, vals[t->map[f]].len);
	dms_rows_add(t->rows, fields, 0);
	for (int f = 0; f < DMS_NFIELDS; f++)
		free(copies[f]);
	return true;
}

/*
 * read_dms_table reads the failure table straight from the DMS target through the
 * endpoint layer (any engine crosscheck reads), ordered by task, table and time so that
 * row numbers in messages are stable.
 */
static bool
read_dms_table(const char *uri, const char *name, struct dms_rows *out)
{
	struct endpoint *ep = NULL;
	struct table_desc d;
	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	struct endpoint_options eo = {"dms table", 0, 10, false, NULL};
	bool ok = false;
	char *schema = NULL;
	const char *table = name;
	const char *dot = strchr(name, '.');
	if (dot) {
		schema = xstrndup(name, (size_t) (dot - name));
		table = dot + 1;
	}
	if (!endpoint_open(uri, &eo, &ep) || !ep->ops->describe(ep, schema, table, &d))
		goto done;
	struct table_rows tr = {out, {0}};
	int cols[DMS_NFIELDS], order[DMS_NFIELDS];
	int ncols = 0, norder = 0;
	for (int f = 0; f < DMS_NFIELDS; f++) {
		tr.map[f] = -1;
		for (int i = 0; i < d.ncols; i++)
			if (strcasecmp(d.cols[i].name, dms_field_names[f]) == 0) {
				tr.map[f] = ncols;
				cols[ncols++] = i;
				/* order by the text and time columns (DETAILS may be long) */
				if (f != DMS_DETAILS && d.cols[i].type != CANON_JSON)
					order[norder++] = i;
				break;
			}
	}
	static const enum dms_field need[] = {DMS_TABLE_OWNER, DMS_TABLE_NAME, DMS_KEY,
					      DMS_FAILURE_TYPE};
	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
		if (tr.map[need[k]] < 0) {
			log_error("import-dms: %s.%s has no %s column: it is not a DMS validation failure "
				  "table",
				  d.schema, d.name, dms_field_names[need[k]]);
			goto done;
		}
	struct scan_request r = {.table = &d, .cols = cols, .ncols = ncols, .key = order,
				 .nkeys = norder};
	ok = ep->ops->scan(ep, &r, take_table_row, &tr);
done:
	if (!ok)
		dms_rows_free(out);
	table_desc_free(&d);
	endpoint_close(ep);
	free(schema);
	return ok;
}

/* --- checking and encoding ------------------------------------------------------------- */

/* One row, checked: its table (index into the plans) and its key values. */
struct checked_row {
	const struct dms_row *src;
	int table;
	struct strlist vals;
	char seen_at[40];
};

struct import_job {
	struct import_args *a;
	const char *origin;	/* the file, or the table, for messages */
	struct dms_rows rows;
	struct checked_row *checked;
	int nchecked;
	struct strlist tables;	/* distinct "owner.table" of the rows, in first-seen order */
	int *first_row;		/* per table: the first row naming it */
	struct table_plan *plans;
	int nplans;
};

/* where: "FILE row N (line L)" for messages */
static const char *
where(const struct import_job *j, const struct dms_row *r, char *buf, size_t n)
{
	if (r->line > 0)
		snprintf(buf, n, "%s row %d (line %d)", j->origin, r->row, r->line);
	else
		snprintf(buf, n, "%s row %d", j->origin, r->row);
	return buf;
}

/* check_rows: every field the import relies on, before any connection is made */
static bool
check_rows(struct import_job *j)
{
	struct strlist tasks = {0};
	char w[1200];
	bool ok = true;
	j->checked = xcalloc((size_t) j->rows.n + 1, sizeof(*j->checked));
	for (int i = 0; ok && i < j->rows.n; i++) {
		const struct dms_row *r = &j->rows.rows[i];
		const char *task = r->f[DMS_TASK_NAME] ? r->f[DMS_TASK_NAME] : "";
		if (!strlist_contains(&tasks, task))
			strlist_push(&tasks, task);
		if (j->a->task_name && strcmp(task, j->a->task_name) != 0)
			continue;
		struct checked_row *c = &j->checked[j->nchecked];
		const char *type = r->f[DMS_FAILURE_TYPE], *ktype = r->f[DMS_KEY_TYPE];
		const char *err = NULL;
		c->src = r;
		if (!dms_failure_type_ok(type)) {
			log_error("%s: unknown FAILURE_TYPE \"%s\"", where(j, r, w, sizeof(w)), type);
			log_hint("DMS writes RECORD_DIFF, MISSING_SOURCE or MISSING_TARGET");
			ok = false;
		} else if (ktype && *ktype && strcasecmp(ktype, "Row") != 0) {
			log_error("%s: KEY_TYPE \"%s\" is not supported (only Row)", where(j, r, w, sizeof(w)),
				  ktype);
			ok = false;
		} else if (!dms_key_values(r->f[DMS_KEY], &c->vals, &err)) {
			log_error("%s: bad KEY %s: %s", where(j, r, w, sizeof(w)), r->f[DMS_KEY], err);
			ok = false;
		} else if (r->f[DMS_FAILURE_TIME] && *r->f[DMS_FAILURE_TIME] &&
			   !dms_time_to_iso(r->f[DMS_FAILURE_TIME], c->seen_at, sizeof(c->seen_at))) {
			log_error("%s: bad FAILURE_TIME \"%s\"", where(j, r, w, sizeof(w)),
				  r->f[DMS_FAILURE_TIME]);
			log_hint("expected YYYY-MM-DD HH:MM:SS (UTC), as DMS writes it");
			ok = false;
		}
		j->nchecked++;
		if (!ok)
			break;
		struct buf name;
		buf_init(&name);
		buf_printf(&name, "%s.%s", r->f[DMS_TABLE_OWNER], r->f[DMS_TABLE_NAME]);
		ptrdiff_t t = strlist_index(&j->tables, buf_cstr(&name));
		if (t < 0) {
			t = (ptrdiff_t) j->tables.n;
			strlist_push(&j->tables, buf_cstr(&name));
			j->first_row = xrealloc(j->first_row, j->tables.n * sizeof(int));
			j->first_row[t] = i;
		}
		c->table = (int) t;
		buf_free(&name);
	}
	if (ok && j->a->task_name && j->nchecked == 0 && j->rows.n > 0) {
		struct buf l;
		buf_init(&l);
		for (size_t i = 0; i < tasks.n && i < 10; i++)
			buf_printf(&l, "%s\"%s\"", i ? ", " : "", tasks.items[i]);
		log_error("import-dms: no row of %s has TASK_NAME \"%s\"", j->origin, j->a->task_name);
		log_hint("the rows are of task%s %s", tasks.n == 1 ? "" : "s", buf_cstr(&l));
		buf_free(&l);
		ok = false;
	}
	strlist_free(&tasks);
	return ok;
}

/* spec_of: the table's spec, from --table-mappings if given (then it must select it) */
static bool
spec_of(struct import_job *j, const struct audit_options *mapped, int t, struct table_spec *spec)
{
	const char *name = j->tables.items[t];
	memset(spec, 0, sizeof(*spec));
	if (j->a->table_mappings == NULL) {
		spec->source = xstrdup(name);
		return true;
	}
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < mapped->ntables; i++) {
			const struct table_spec *m = &mapped->tables[i];
			if (pass == 0 ? strcmp(m->source, name) : strcasecmp(m->source, name))
				continue;
			spec->source = xstrdup(m->source);
			spec->target = m->target ? xstrdup(m->target) : NULL;
			for (size_t k = 0; k < m->exclude.n; k++)
				strlist_push(&spec->exclude, m->exclude.items[k]);
			spec->maps = xcalloc((size_t) m->nmaps + 1, sizeof(*spec->maps));
			for (int k = 0; k < m->nmaps; k++) {
				spec->maps[k].source = xstrdup(m->maps[k].source);
				spec->maps[k].target = xstrdup(m->maps[k].target);
			}
			spec->nmaps = m->nmaps;
			return true;
		}
	char w[1200];
	log_error("%s: table %s is not selected by --table-mappings %s",
		  where(j, &j->rows.rows[j->first_row[t]], w, sizeof(w)), name, j->a->table_mappings);
	return false;
}

/*
 * build_plans describes every table the rows name, on both sides, into the compare plan
 * an audit of it would use: that plan decides the key columns and how each key value
 * is canonicalized.
 */
static bool
build_plans(struct import_job *j)
{
	struct audit_options *o = &j->a->o;
	struct audit_options mapped;
	audit_options_init(&mapped);
	mapped.source_uri = o->source_uri;
	mapped.target_uri = o->target_uri;
	bool ok = j->a->table_mappings == NULL ||
		  audit_tables_from_mappings(&mapped, j->a->table_mappings);
	o->ntables = (int) j->tables.n;
	o->tables = xcalloc(j->tables.n + 1, sizeof(*o->tables));
	for (int t = 0; ok && t < o->ntables; t++)
		ok = spec_of(j, &mapped, t, &o->tables[t]);
	audit_options_free(&mapped);
	if (!ok)
		return false;
	struct endpoint *src = NULL, *tgt = NULL;
	if (!audit_open_pair(o, &src, &tgt))
		return false;
	j->plans = xcalloc((size_t) o->ntables + 1, sizeof(struct table_plan));
	char w[1200];
	for (int t = 0; ok && t < o->ntables; t++) {
		j->nplans++;
		if (!table_plan_build(o, &o->tables[t], src, tgt, &j->plans[t])) {
			log_error("%s names table %s, which cannot be read as above",
				  where(j, &j->rows.rows[j->first_row[t]], w, sizeof(w)), j->tables.items[t]);
			ok = false;
		}
		j->plans[t].lag_col = -1;
	}
	if (ok && o->ntables > 1 && !audit_check_names(o, j->plans, o->ntables))
		ok = false;
	endpoint_close(src);
	endpoint_close(tgt);
	return ok;
}

/* diff_columns keeps the DETAILS names that are compared columns, in the plan's spelling */
static void
diff_columns(const struct table_plan *tp, const char *details, struct buf *out)
{
	struct strlist names = {0}, l = {0};
	dms_details_columns(details, &names);
	for (size_t n = 0; n < names.n; n++) {
		int found = -1;
		for (int pass = 0; pass < 2 && found < 0; pass++)
			for (int i = 0; i < tp->ncols && found < 0; i++)
				if (pass == 0 ? strcmp(tp->cols[i].name, names.items[n]) == 0
					      : strcasecmp(tp->cols[i].name, names.items[n]) == 0)
					found = i;
		if (found >= 0 && !strlist_contains(&l, tp->cols[found].name))
			strlist_push(&l, tp->cols[found].name);
	}
	buf_append_char(out, '[');
	for (size_t i = 0; i < l.n; i++) {
		if (i)
			buf_append_char(out, ',');
		buf_append_json_string(out, l.items[i], strlen(l.items[i]));
	}
	buf_append_char(out, ']');
	strlist_free(&l);
	strlist_free(&names);
}

/* --- recording ------------------------------------------------------------------------- */

/* The failures to record, with the strings they own. */
struct encoded {
	struct import_failure *f;
	char **owned; /* 3 per failure: key, key_json, columns */
	int n;
};

static void
encoded_free(struct encoded *e)
{
	for (int i = 0; i < e->n * 3; i++)
		free(e->owned[i]);
	free(e->owned);
	free(e->f);
	memset(e, 0, sizeof(*e));
}

static void
key_names(const struct table_plan *tp, struct buf *out)
{
	for (int k = 0; k < tp->nkeys; k++)
		buf_printf(out, "%s%s", k ? ", " : "", tp->cols[tp->keys[k]].name);
}

/* encode_rows: each row's key as canonical bytes under its table's plan */
static bool
encode_rows(struct import_job *j, struct encoded *e)
{
	e->f = xcalloc((size_t) j->nchecked + 1, sizeof(*e->f));
	e->owned = xcalloc((size_t) j->nchecked * 3 + 1, sizeof(char *));
	struct buf key, kj, cols, names;
	buf_init(&key);
	buf_init(&kj);
	buf_init(&cols);
	buf_init(&names);
	char w[1200];
	bool ok = true;
	for (int i = 0; ok && i < j->nchecked; i++) {
		const struct checked_row *c = &j->checked[i];
		const struct table_plan *tp = &j->plans[c->table];
		int bad;
		const char *err;
		buf_reset(&names);
		key_names(tp, &names);
		if ((int) c->vals.n != tp->nkeys) {
			log_error("%s: KEY has %zu value%s but the key of %s (%s) has %d column%s",
				  where(j, c->src, w, sizeof(w)), c->vals.n, c->vals.n == 1 ? "" : "s",
				  tp->name, buf_cstr(&names), tp->nkeys, tp->nkeys == 1 ? "" : "s");
			log_hint("KEY lists the values of the table's primary key (or unique index) in "
				 "order; if DMS keyed the table on other columns, name them with --key");
			ok = false;
			break;
		}
		if (!dms_key_encode(&tp->layout, &c->vals, &key, &bad, &err)) {
			int col = bad >= 0 ? tp->keys[bad] : tp->keys[0];
			log_error("%s: key value \"%s\" of %s.%s cannot be read as %s: %s",
				  where(j, c->src, w, sizeof(w)), bad >= 0 ? c->vals.items[bad] : "",
				  tp->name, tp->cols[col].name, canon_type_name(tp->cols[col].type), err);
			ok = false;
			break;
		}
		buf_reset(&kj);
		buf_reset(&cols);
		key_to_json(&tp->layout, key.data, key.len, &kj);
		if (strcmp(c->src->f[DMS_FAILURE_TYPE], "RECORD_DIFF") == 0)
			diff_columns(tp, c->src->f[DMS_DETAILS], &cols);
		else
			buf_append_str(&cols, "[]");
		if (key.failed || kj.failed || cols.failed) {
			log_error("%s: out of memory", where(j, c->src, w, sizeof(w)));
			ok = false;
			break;
		}
		char **o = &e->owned[e->n * 3];
		o[0] = xmalloc(key.len);
		memcpy(o[0], key.data, key.len);
		o[1] = xstrdup(buf_cstr(&kj));
		o[2] = xstrdup(buf_cstr(&cols));
		e->f[e->n] = (struct import_failure){
			.table = tp->name,
			.key_json = o[1],
			.key = o[0],
			.keylen = key.len,
			.kind = c->src->f[DMS_FAILURE_TYPE],
			.columns = o[2],
			.state = j->a->recheck ? "pending" : j->a->state,
			.seen_at = c->seen_at[0] ? c->seen_at : NULL,
		};
		e->n++;
	}
	buf_free(&key);
	buf_free(&kj);
	buf_free(&cols);
	buf_free(&names);
	return ok;
}

static void
json_list(struct buf *b, const struct strlist *l)
{
	buf_append_char(b, '[');
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_append_char(b, ',');
		buf_append_json_string(b, l->items[i], strlen(l->items[i]));
	}
	buf_append_char(b, ']');
}

/*
 * options_json records the run's options in the shape an audit records them (tables
 * with their target names, maps and exclusions; the key; the compare defaults), so
 * that recover and repair rebuild the same plans, plus where the failures came from.
 */
static char *
options_json(const struct import_job *j, const char *from)
{
	const struct audit_options *o = &j->a->o;
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "{\"tables\":[");
	for (int t = 0; t < j->nplans; t++) {
		const struct table_plan *tp = &j->plans[t];
		const struct table_spec *s = &o->tables[t];
		const char *target = s->target ? s->target : tp->target_name;
		buf_append_str(&b, t ? ",{\"source\":" : "{\"source\":");
		buf_append_json_string(&b, tp->name, strlen(tp->name));
		buf_append_str(&b, ",\"target\":");
		buf_append_json_string(&b, target, strlen(target));
		for (int m = 0; m < s->nmaps; m++) {
			buf_append_str(&b, m ? "," : ",\"map\":{");
			buf_append_json_string(&b, s->maps[m].source, strlen(s->maps[m].source));
			buf_append_char(&b, ':');
			buf_append_json_string(&b, s->maps[m].target, strlen(s->maps[m].target));
		}
		if (s->nmaps > 0)
			buf_append_char(&b, '}');
		if (s->exclude.n > 0) {
			buf_append_str(&b, ",\"exclude_columns\":");
			json_list(&b, &s->exclude);
		}
		buf_append_char(&b, '}');
	}
	buf_append_str(&b, "],\"key\":");
	json_list(&b, &o->key);
	buf_printf(&b,
		   ",\"columns\":[],\"exclude_columns\":[],\"map\":{},\"partition_rows\":%lld,"
		   "\"float_digits\":%d,\"frac_digits\":%d,\"zone_offset_s\":%d,\"casefold\":%s,"
		   "\"dms_import\":{\"from\":",
		   (long long) o->partition_rows, o->float_digits, o->frac_digits, o->zone_offset_sec,
		   o->casefold ? "true" : "false");
	buf_append_json_string(&b, from, strlen(from));
	buf_append_str(&b, ",\"task_name\":");
	if (j->a->task_name)
		buf_append_json_string(&b, j->a->task_name, strlen(j->a->task_name));
	else
		buf_append_str(&b, "null");
	buf_printf(&b, ",\"rows\":%d,\"recheck\":%s}}", j->nchecked, j->a->recheck ? "true" : "false");
	return buf_steal(&b);
}

static bool
print_table(void *ctx, const struct table_result *t)
{
	(void) ctx;
	printf("  %s -> %s: %lld missing on target, %lld missing on source, %lld different (%s)\n",
	       t->table, t->target_table, (long long) t->missing_target, (long long) t->missing_source,
	       (long long) t->record_diff, t->state ? t->state : "");
	return true;
}

/* record: the run, its tables and failures, in one transaction */
static bool
record(struct import_job *j, struct store *st, const struct encoded *e, int64_t *run)
{
	const struct audit_options *o = &j->a->o;
	char *src = uri_redact(o->source_uri), *tgt = uri_redact(o->target_uri);
	char *from = j->a->from_table ? uri_redact(j->a->from_table) : xstrdup(j->a->from);
	if (j->a->from_table) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s %s", from, j->a->dms_table);
		free(from);
		from = buf_steal(&b);
	}
	char *opts = options_json(j, from);
	struct buf fp;
	buf_init(&fp);
	buf_append(&fp, src, strlen(src) + 1);
	buf_append(&fp, tgt, strlen(tgt) + 1);
	buf_append(&fp, opts, strlen(opts) + 1);
	char hex[33];
	hash128_hex(fp.data, fp.len, hex);
	struct table_result *tr = xcalloc((size_t) j->nplans + 1, sizeof(*tr));
	struct buf *kc = xcalloc((size_t) j->nplans + 1, sizeof(struct buf));
	struct buf *cc = xcalloc((size_t) j->nplans + 1, sizeof(struct buf));
	for (int t = 0; t < j->nplans; t++) {
		const struct table_plan *tp = &j->plans[t];
		buf_init(&kc[t]);
		buf_init(&cc[t]);
		audit_columns_json(tp, tp->keys, tp->nkeys, &kc[t]);
		audit_columns_json(tp, NULL, tp->ncols, &cc[t]);
		tr[t].table = tp->name;
		tr[t].target_table = tp->target_name;
		tr[t].key_columns = buf_cstr(&kc[t]);
		tr[t].columns = buf_cstr(&cc[t]);
	}
	struct import_run r = {"dms-import", src, tgt, opts, hex, tr, j->nplans, e->f, e->n};
	bool ok = store_import_run(st, &r, run);
	for (int t = 0; t < j->nplans; t++) {
		buf_free(&kc[t]);
		buf_free(&cc[t]);
	}
	free(kc);
	free(cc);
	free(tr);
	buf_free(&fp);
	free(opts);
	free(from);
	free(src);
	free(tgt);
	return ok;
}

static void
import_job_free(struct import_job *j)
{
	for (int i = 0; i < j->nchecked; i++)
		strlist_free(&j->checked[i].vals);
	free(j->checked);
	for (int t = 0; t < j->nplans; t++)
		table_plan_free(&j->plans[t]);
	free(j->plans);
	free(j->first_row);
	strlist_free(&j->tables);
	dms_rows_free(&j->rows);
}

static int
run_import_dms(struct cli_context *ctx, int argc, char **argv)
{
	struct import_args a;
	memset(&a, 0, sizeof(a));
	audit_options_init(&a.o);
	a.o.kind = "dms-import";
	a.state = "confirmed";
	a.dms_table = DEFAULT_DMS_TABLE;
	struct import_job j;
	memset(&j, 0, sizeof(j));
	j.a = &a;
	struct buf text;
	buf_init(&text);
	struct encoded e = {0};
	struct store *st = NULL;
	int rc = EXIT_TOOL_ERROR;
	int64_t run = 0;
	if (!cli_parse(ctx, &cmd_import_dms, argc, argv, import_opts, import_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_import_dms);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.o.source_uri == NULL || a.o.target_uri == NULL || (a.from == NULL) == (a.from_table == NULL)) {
		log_error("import-dms: --source, --target and one of --from or --from-table are required");
		log_hint("see 'crosscheck import-dms --help'");
		goto cleanup;
	}
	if (!endpoint_check_uri(a.o.source_uri, "source") || !endpoint_check_uri(a.o.target_uri, "target"))
		goto cleanup;

	/* read and check every row before connecting or writing anything */
	if (a.from) {
		j.origin = strcmp(a.from, "-") == 0 ? "stdin" : a.from;
		if (!read_all(a.from, &text) || !dms_rows_parse(text.data ? text.data : "", text.len,
								 j.origin, &j.rows))
			goto cleanup;
	} else {
		j.origin = a.dms_table;
		if (!read_dms_table(a.from_table, a.dms_table, &j.rows))
			goto cleanup;
	}
	if (!check_rows(&j))
		goto cleanup;
	if (j.nchecked > 0 && (!build_plans(&j) || !encode_rows(&j, &e)))
		goto cleanup;
	if ((st = cli_open_store(ctx)) == NULL || !record(&j, st, &e, &run))
		goto cleanup;
	rc = EXIT_CONSISTENT;
	if (!ctx->json)
		printf("run %lld: imported %d DMS failure row%s of %zu table%s from %s as %s\n",
		       (long long) run, j.nchecked, j.nchecked == 1 ? "" : "s", j.tables.n,
		       j.tables.n == 1 ? "" : "s", j.origin, a.recheck ? "pending" : a.state);

	int64_t confirmed = 0, pending = 0, resolved = 0;
	if (a.recheck && e.n > 0) {
		bool rechecked = audit_recheck(&a.o, st, run, j.plans, j.nplans);
		if (!store_run_recount(st, run, 0, &confirmed, &pending)) {
			rc = EXIT_TOOL_ERROR;
			goto cleanup;
		}
		if (!rechecked) {
			log_error("import-dms: the recheck did not finish; run %lld keeps %lld failure%s "
				  "pending",
				  (long long) run, (long long) pending, pending == 1 ? "" : "s");
			rc = EXIT_TOOL_ERROR;
		} else if (confirmed > 0) {
			rc = EXIT_DIFFERENCES;
		}
		struct failure_filter rf = {.run = run, .state = "resolved"};
		store_count_failures(st, &rf, &resolved);
		store_run_finish(st, run, "done", confirmed ? "differences" : pending ? "pending" : "consistent",
				 rc);
	} else {
		struct failure_filter f = {.run = run, .state = "confirmed"};
		store_count_failures(st, &f, &confirmed);
		f.state = "pending";
		store_count_failures(st, &f, &pending);
	}
	if (ctx->json) {
		printf("{\"run\":%lld,\"rows\":%d,\"tables\":%zu,\"confirmed\":%lld,\"pending\":%lld,"
		       "\"resolved\":%lld,\"rechecked\":%s}\n",
		       (long long) run, j.nchecked, j.tables.n, (long long) confirmed, (long long) pending,
		       (long long) resolved, a.recheck ? "true" : "false");
	} else {
		store_list_tables(st, run, print_table, NULL);
		if (a.recheck)
			printf("after the recheck: %lld confirmed, %lld resolved (they match now), %lld "
			       "pending\n",
			       (long long) confirmed, (long long) resolved, (long long) pending);
	}
cleanup:
	encoded_free(&e);
	import_job_free(&j);
	audit_options_free(&a.o);
	buf_free(&text);
	store_close(st);
	return rc;
}

const struct command cmd_import_dms = {
	.name = "import-dms",
	.summary = "import AWS DMS validation failures (awsdms_validation_failures_v1) as a run",
	.usage = "--source URI --target URI (--from FILE | --from-table URI) [OPTIONS]\n"
		 "\n"
		 "  --source URI              the task's source database (describes each table)\n"
		 "  --target URI              the task's target database\n"
		 "  --from FILE               a dump of awsdms_control.awsdms_validation_failures_v1:\n"
		 "                            a JSON array (psql: SELECT json_agg(t) FROM ... t),\n"
		 "                            JSON lines, or CSV with a header; - reads stdin\n"
		 "  --from-table URI          read the table from the DMS target database instead\n"
		 "  --dms-table SCHEMA.TABLE  its name (default " DEFAULT_DMS_TABLE ")\n"
		 "  --task-name NAME          only the rows of this TASK_NAME (the table holds every\n"
		 "                            task's)\n"
		 "  --state S                 record the failures as confirmed (default) or pending\n"
		 "  --recheck                 re-read each failing key on both sides now: those that\n"
		 "                            match are resolved, the others confirmed\n"
		 "  --recheck-delay DURATION  wait before rechecking (default 30s)\n"
		 "  --recheck-attempts N      rechecks before a failure is confirmed (default 3)\n"
		 "  --table-mappings FILE     the task's table mapping (target names of the tables)\n"
		 "  --key COL[,COL]           the key columns in DMS's KEY order, for tables without\n"
		 "                            a primary key or unique index\n"
		 "\n"
		 "Each row's KEY values are read as the key columns' compare types, giving the same\n"
		 "canonical keys an audit records, so 'failures', 'recover' and 'repair --run N' work\n"
		 "on the imported run. Of DETAILS only the column names are kept, never values. A\n"
		 "row naming an unknown table, a KEY of the wrong arity, an unknown FAILURE_TYPE or\n"
		 "malformed input is an error naming the row, and nothing is recorded.\n"
		 "Exit 0 when imported; with --recheck, 1 if failures are confirmed (as an audit).\n",
	.run = run_import_dms,
};
