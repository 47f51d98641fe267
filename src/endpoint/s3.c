/*
 * endpoint/s3.c: an AWS DMS S3 target (s3://bucket/folder, or file:///dir) as an endpoint.
 *
 * The files carry no types, so the table is described from the other side
 * (describe_from): its columns in order, their canonical types and its key. Every read
 * then works on the table's replayed state (s3_replay.c): key_bounds, count and scan walk
 * the sorted state file, fetch looks keys up in it (after re-listing, so a recheck sees
 * objects DMS wrote since), row_origin names the object and line that last wrote a key,
 * and file_problems hands the audit what was wrong with the files.
 *
 * Values are delivered as the text DMS wrote, which the canonical encoders read (numbers,
 * timestamps "2024-08-09 19:27:17.787000", booleans, JSON, uuids); binary is written as
 * hex and delivered as raw bytes. A value that cannot be decoded is delivered as bad, so
 * the audit records it as a difference, never as NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint/s3_internal.h"
#include "util/log.h"
#include "util/str.h"

struct s3_endpoint {
	struct endpoint base;
	struct s3_settings set;
	struct s3_store st;
};

static struct s3_endpoint *
s3ep(struct endpoint *ep)
{
	return (struct s3_endpoint *) ep;
}

static void
spec_of(const struct scan_request *r, struct s3_table_spec *spec)
{
	spec->schema = r->table->schema;
	spec->name = r->table->name;
	spec->desc = r->table;
	spec->key = r->key;
	spec->nkeys = r->nkeys;
}

static struct s3_table *
table_of(struct endpoint *ep, const struct scan_request *r)
{
	struct s3_table_spec spec;
	spec_of(r, &spec);
	return s3_table_get(&s3ep(ep)->st, ep->shown_uri, &spec);
}

static bool
s3_describe(struct endpoint *ep, const char *schema, const char *table, struct table_desc *out)
{
	(void) schema;
	(void) out;
	log_error("%s: table %s: DMS files carry no column types", ep->label, table);
	log_hint("an S3 side is described by the other side of the audit; S3 as a source "
		 "needs a DMS external table definition (not built yet)");
	return false;
}

/* s3_describe_from: the peer's columns and key, and a check that the folder can be read. */
static bool
s3_describe_from(struct endpoint *ep, const char *schema, const char *table,
		 const struct table_desc *peer, struct table_desc *out)
{
	memset(out, 0, sizeof(*out));
	out->schema = xstrdup(schema ? schema : peer->schema);
	out->name = xstrdup(table);
	out->ncols = peer->ncols;
	out->cols = xcalloc((size_t) peer->ncols + 1, sizeof(*out->cols));
	for (int i = 0; i < peer->ncols; i++) {
		const struct column_desc *p = &peer->cols[i];
		struct column_desc *c = &out->cols[i];
		c->name = xstrdup(p->name);
		struct buf t;
		buf_init(&t);
		buf_printf(&t, "csv(%s)", p->engine_type);
		c->engine_type = buf_steal(&t);
		c->cast_type = xstrdup(p->cast_type ? p->cast_type : "text");
		c->type = p->type;
		c->single_float = p->single_float;
		c->fixed_char = p->fixed_char;
		c->nullable = p->nullable;
	}
	out->nkeys = peer->nkeys;
	out->key = xcalloc((size_t) peer->nkeys + 1, sizeof(int));
	memcpy(out->key, peer->key, (size_t) peer->nkeys * sizeof(int));
	out->key_is_primary = peer->key_is_primary;
	out->estimated_rows = -1;

	/* list the folder now: a missing bucket or a refused access is an error before the
	 * run starts, not a table full of missing rows */
	struct buf prefix;
	buf_init(&prefix);
	buf_printf(&prefix, "%s%s/%s/", s3ep(ep)->set.folder, out->schema, out->name);
	struct s3_objlist l;
	bool ok = s3_store_list(&s3ep(ep)->st, buf_cstr(&prefix), &l);
	if (ok && l.n == 0 && !s3ep(ep)->set.preserve_transactions)
		log_warn("%s: no objects under %s: table %s.%s is empty there", ep->label,
			 buf_cstr(&prefix), out->schema, out->name);
	if (ok)
		s3_objlist_free(&l);
	buf_free(&prefix);
	if (!ok)
		table_desc_free(out);
	return ok;
}

/* Delivering a record's fields as values, in request column order. */
struct deliver {
	const struct scan_request *r;
	const int *cols;
	int ncols;
	struct value *vals;
	struct buf *scratch;	/* per column: decoded binary */
	row_fn fn;
	void *ctx;
	bool stopped;
	int64_t count;
	bool count_only;
};

static void
deliver_init(struct deliver *d, const struct scan_request *r, const int *cols, int ncols,
	     row_fn fn, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->r = r;
	d->cols = cols;
	d->ncols = ncols;
	d->vals = xcalloc((size_t) ncols + 1, sizeof(struct value));
	d->scratch = xcalloc((size_t) ncols + 1, sizeof(struct buf));
	for (int i = 0; i < ncols; i++)
		buf_init(&d->scratch[i]);
	d->fn = fn;
	d->ctx = ctx;
}

static void
deliver_free(struct deliver *d)
{
	for (int i = 0; i < d->ncols; i++)
		buf_free(&d->scratch[i]);
	free(d->scratch);
	free(d->vals);
}

static bool
deliver_record(void *vctx, const struct s3_record *rec)
{
	struct deliver *d = vctx;
	if (rec->op == S3_OP_DELETE)
		return true;
	if (d->count_only) {
		d->count++;
		return true;
	}
	for (int i = 0; i < d->ncols; i++) {
		int c = d->cols[i];
		struct value *v = &d->vals[i];
		const char *p;
		size_t len;
		v->bad = false;
		if (!s3_record_field(rec, c, &p, &len)) {
			v->null = true;
			v->data = "";
			v->len = 0;
			continue;
		}
		v->null = false;
		v->data = p;
		v->len = len;
		if (d->r->table->cols[c].type == CANON_BINARY) {
			struct buf *b = &d->scratch[i];
			buf_reset(b);
			if (endpoint_hex_decode(p, len, b)) {
				v->data = b->data ? b->data : "";
				v->len = b->len;
			} else {
				v->bad = true; /* the raw text, reported as undecodable */
			}
		}
	}
	if (!d->fn(d->ctx, d->vals)) {
		d->stopped = true;
		return false;
	}
	return true;
}

static bool
s3_scan(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	struct deliver d;
	deliver_init(&d, r, r->cols, r->ncols, fn, ctx);
	bool ok = s3_table_scan(t, r->lo, r->lolen, r->hi, r->hilen, deliver_record, &d);
	deliver_free(&d);
	return ok;
}

static bool
s3_count(struct endpoint *ep, const struct scan_request *r, int64_t *out)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	if (r->lo == NULL && r->hi == NULL) {
		*out = t->nlive;
		return true;
	}
	struct deliver d;
	deliver_init(&d, r, r->cols, 0, NULL, NULL);
	d.count_only = true;
	bool ok = s3_table_scan(t, r->lo, r->lolen, r->hi, r->hilen, deliver_record, &d);
	*out = d.count;
	deliver_free(&d);
	return ok;
}

static bool
s3_key_bounds(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx,
	      bool *empty)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	*empty = t->nlive == 0;
	if (*empty)
		return true;
	struct deliver d;
	deliver_init(&d, r, r->key, r->nkeys, fn, ctx);
	bool ok = s3_table_at(t, t->first_live, deliver_record, &d) && !d.stopped &&
		  s3_table_at(t, t->last_live, deliver_record, &d);
	deliver_free(&d);
	return ok;
}

static bool
s3_fetch(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	 const size_t *keylens, int nkeys, row_fn fn, void *ctx)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	/* a recheck: DMS may have written more objects since the replay */
	struct s3_table_spec spec;
	spec_of(r, &spec);
	if (!s3_table_refresh(&s3ep(ep)->st, t, &spec))
		return false;
	struct deliver d;
	deliver_init(&d, r, r->cols, r->ncols, fn, ctx);
	bool ok = true;
	for (int i = 0; ok && i < nkeys && !d.stopped; i++) {
		bool found;
		ok = s3_table_lookup(t, keys[i], keylens[i], deliver_record, &d, &found);
	}
	deliver_free(&d);
	return ok;
}

struct origin_ctx {
	struct s3_table *t;
	struct buf *out;
};

static bool
origin_record(void *vctx, const struct s3_record *rec)
{
	struct origin_ctx *c = vctx;
	const char *obj = rec->obj < (uint32_t) c->t->nobjects ? c->t->objects[rec->obj] : "?";
	buf_printf(c->out, "%s:%u%s", obj, rec->line, rec->op == S3_OP_DELETE ? " (deleted there)" : "");
	return true;
}

static bool
s3_row_origin(struct endpoint *ep, const struct scan_request *r, const char *key, size_t keylen,
	      struct buf *out)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	struct origin_ctx c = {t, out};
	bool found;
	if (!s3_table_lookup(t, key, keylen, origin_record, &c, &found))
		return false;
	if (!found) /* the absence is the evidence: no LOAD or CDC row ever had this key */
		buf_printf(out, "in none of the %d objects%s", t->nobjects,
			   t->nproblems ? " (rows were skipped: see the file problems)" : "");
	return true;
}

static bool
s3_file_problems(struct endpoint *ep, const struct scan_request *r, file_problem_fn fn, void *ctx)
{
	struct s3_table *t = table_of(ep, r);
	if (t == NULL)
		return false;
	for (int i = 0; i < t->nproblems; i++)
		if (!fn(ctx, t->problems[i].object, t->problems[i].line, t->problems[i].reason))
			return true;
	if (t->problems_dropped > 0) {
		char reason[128];
		snprintf(reason, sizeof(reason), "%lld more problems not listed",
			 (long long) t->problems_dropped);
		fn(ctx, "", 0, reason);
	}
	return true;
}

/* csv_put appends one field as DMS writes it (s3_csv.c states the NULL and quote rules) */
static void
csv_put(struct buf *out, const struct s3_settings *s, bool first, const char *v, size_t len,
	bool null)
{
	if (!first)
		buf_append_str(out, s->delim);
	if (null) {
		if (s->null_value)
			buf_append_str(out, s->null_value);
		return;
	}
	bool quote = s->rfc4180 && (len == 0 || memchr(v, '"', len) || memchr(v, '\n', len) ||
				    memchr(v, '\r', len) || memmem(v, len, s->delim, strlen(s->delim)) ||
				    memmem(v, len, s->row_delim, strlen(s->row_delim)) ||
				    (s->null_value && len == strlen(s->null_value) &&
				     memcmp(v, s->null_value, len) == 0));
	if (!quote) {
		buf_append(out, v, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '"')
			buf_append_char(out, '"');
		buf_append_char(out, v[i]);
	}
	buf_append_char(out, '"');
}

static void
hex_text(struct buf *out, const char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) v[i];
		buf_append_char(out, hex[c >> 4]);
		buf_append_char(out, hex[c & 15]);
	}
}

/* change_row: [op][,table,schema][,ts] then the columns, as the endpoint's CDC files are */
static void
change_row(struct buf *out, const struct s3_settings *s, const struct table_desc *t, char op,
	   const char *now, const struct value *vals)
{
	struct buf tmp;
	buf_init(&tmp);
	char o[2] = {op, 0};
	bool first = true;
	csv_put(out, s, first, o, 1, false);
	first = false;
	if (s->preserve_transactions) {
		csv_put(out, s, false, t->name, strlen(t->name), false);
		csv_put(out, s, false, t->schema, strlen(t->schema), false);
	}
	if (s->timestamp_column)
		csv_put(out, s, false, now, strlen(now), false);
	for (int i = 0; i < t->ncols; i++) {
		const struct value *v = &vals[i];
		if (!v->null && t->cols[i].type == CANON_BINARY) {
			buf_reset(&tmp);
			hex_text(&tmp, v->data, v->len);
			csv_put(out, s, false, tmp.data ? tmp.data : "", tmp.len, false);
		} else {
			csv_put(out, s, false, v->data, v->len, v->null);
		}
	}
	buf_append_str(out, s->row_delim);
	buf_free(&tmp);
}

static bool
s3_change_file(struct endpoint *ep, const struct scan_request *r, const struct value *const *rows,
	       int nrows, const char *const *keys, const size_t *keylens, int nkeys, struct buf *name,
	       struct buf *out)
{
	const struct s3_settings *s = &s3ep(ep)->set;
	const struct table_desc *t = r->table;
	if (s->cdc_inserts_only && !s->include_op_full_load) {
		log_error("%s: the CDC files have no Op column (CdcInsertsOnly): a change file "
			  "cannot delete or update",
			  ep->label);
		return false;
	}
	if (r->ncols != t->ncols) {
		log_error("%s: %s.%s: a change file carries every column; the run compared %d of %d",
			  ep->label, t->schema, t->name, r->ncols, t->ncols);
		return false;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[96], now[96];
	int ms = (int) (ts.tv_nsec / 1000000);
	snprintf(stamp, sizeof(stamp), "%04d%02d%02d-%02d%02d%02d%03d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	snprintf(now, sizeof(now), "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int) (ts.tv_nsec / 1000));
	if (s->preserve_transactions) {
		buf_printf(name, "%s%s/CDC_TXN-%.8s%s.csv", s->folder, s->cdc_path, stamp, stamp + 9);
	} else {
		buf_printf(name, "%s%s/%s/", s->folder, t->schema, t->name);
		if (s->date_partition) {
			s3_date_folder(s->date_sequence, s->date_delimiter, stamp, name);
			buf_append_char(name, '/');
		}
		buf_printf(name, "%s.csv", stamp);
	}
	if (s->add_column_name) {
		csv_put(out, s, true, "Op", 2, false);
		if (s->timestamp_column)
			csv_put(out, s, false, s->timestamp_column, strlen(s->timestamp_column), false);
		for (int i = 0; i < t->ncols; i++)
			csv_put(out, s, false, t->cols[i].name, strlen(t->cols[i].name), false);
		buf_append_str(out, s->row_delim);
	}
	/* deletes first: a key both deleted and upserted (never both here) ends upserted */
	struct value *vals = xcalloc((size_t) t->ncols + 1, sizeof(*vals));
	for (int k = 0; k < nkeys; k++) {
		for (int i = 0; i < t->ncols; i++)
			vals[i] = (struct value){"", 0, true, false};
		const char *p = keys[k], *end = keys[k] + keylens[k];
		for (int i = 0; i < r->nkeys; i++) {
			enum canon_type kt;
			const char *v;
			size_t len;
			if (!keyframe_next(&p, end, &kt, &v, &len))
				break;
			vals[r->key[i]] = (struct value){v, len, false, false};
		}
		change_row(out, s, t, 'D', now, vals);
	}
	free(vals);
	for (int i = 0; i < nrows; i++)
		change_row(out, s, t, 'U', now, rows[i]);
	return !out->failed;
}

static void
s3_close(struct endpoint *ep)
{
	struct s3_endpoint *e = s3ep(ep);
	s3_store_close(&e->st);
	s3_settings_free(&e->set);
	endpoint_base_free(ep);
	free(e);
}

static const struct endpoint_ops s3_ops = {
	.engine = "s3",
	.describe = s3_describe,
	.describe_from = s3_describe_from,
	.key_bounds = s3_key_bounds,
	.count = s3_count,
	.scan = s3_scan,
	.fetch = s3_fetch,
	.row_origin = s3_row_origin,
	.file_problems = s3_file_problems,
	.change_file = s3_change_file,
	.close = s3_close,
};

bool
s3_endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out)
{
	struct s3_endpoint *e = xcalloc(1, sizeof(*e));
	endpoint_base_init(&e->base, &s3_ops, uri, opts);
	struct uri u;
	if (!uri_parse(uri, &u)) {
		endpoint_base_free(&e->base);
		free(e);
		return false;
	}
	if (opts->read_write) {
		log_error("%s: %s: crosscheck does not write DMS files", e->base.label, e->base.shown_uri);
		log_hint("recover --format s3 writes the runbook for a backfill task into the bucket");
		uri_free(&u);
		endpoint_base_free(&e->base);
		free(e);
		return false;
	}
	bool ok = s3_settings_parse(&u, e->base.label, &e->set) &&
		  s3_store_open(&e->st, &e->set, e->base.label);
	uri_free(&u);
	if (!ok) {
		s3_store_close(&e->st);
		s3_settings_free(&e->set);
		endpoint_base_free(&e->base);
		free(e);
		return false;
	}
	*out = &e->base;
	return true;
}
