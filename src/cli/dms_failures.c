/*
 * cli/dms_failures.c: rows of AWS DMS's validation failure table, read and written.
 *
 * Reading is strict about what the import needs (the table, the key, the kind) and
 * lenient about what it does not (DETAILS, which DMS writes in more than one spelling):
 * a failure imported with a wrong key would send a repair to the wrong row, while a
 * DETAILS we cannot read only loses the names of the differing columns.
 */
#include "cli/dms_failures.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint/endpoint.h"
#include "util/log.h"

const char *const dms_field_names[DMS_NFIELDS] = {
	"TASK_NAME", "TABLE_OWNER",  "TABLE_NAME", "FAILURE_TIME",
	"KEY_TYPE",  "KEY",	     "FAILURE_TYPE", "DETAILS",
};

/* the columns an import cannot do without */
static const enum dms_field required[] = {DMS_TABLE_OWNER, DMS_TABLE_NAME, DMS_KEY,
					  DMS_FAILURE_TYPE};

static int
field_of(const char *name, size_t len)
{
	for (int i = 0; i < DMS_NFIELDS; i++)
		if (strlen(dms_field_names[i]) == len && strncasecmp(dms_field_names[i], name, len) == 0)
			return i;
	return -1;
}

void
dms_rows_add(struct dms_rows *r, const char *const *fields, int line)
{
	r->rows = xrealloc(r->rows, (size_t) (r->n + 1) * sizeof(*r->rows));
	struct dms_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->row = r->n;
	row->line = line;
	for (int i = 0; i < DMS_NFIELDS; i++)
		row->f[i] = fields[i] ? xstrdup(fields[i]) : NULL;
}

void
dms_rows_free(struct dms_rows *r)
{
	for (int i = 0; i < r->n; i++)
		for (int f = 0; f < DMS_NFIELDS; f++)
			free(r->rows[i].f[f]);
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* line_at: the 1-based line of a byte offset, for messages */
static int
line_at(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* --- JSON ------------------------------------------------------------------------------ */

/* json_row takes one object's fields; a non-object is an error naming the row. */
static bool
json_row(json_object *o, const char *origin, struct dms_rows *out)
{
	if (!json_object_is_type(o, json_type_object)) {
		log_error("%s: row %d is not a JSON object", origin, out->n + 1);
		log_hint("give a JSON array of awsdms_validation_failures_v1 rows, e.g. from psql: "
			 "SELECT json_agg(t) FROM awsdms_control.awsdms_validation_failures_v1 t");
		return false;
	}
	const char *fields[DMS_NFIELDS] = {0};
	json_object_object_foreach(o, k, v)
	{
		int f = field_of(k, strlen(k));
		if (f < 0 || v == NULL)
			continue;
		if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
			fields[f] = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		else
			fields[f] = json_object_get_string(v);
	}
	dms_rows_add(out, fields, 0);
	return true;
}

/* parse_json: one array of rows, or objects one after another (JSON lines). */
static bool
parse_json(const char *text, size_t len, const char *origin, struct dms_rows *out)
{
	json_tokener *tok = json_tokener_new();
	size_t off = 0;
	bool ok = true;
	while (ok) {
		while (off < len && isspace((unsigned char) text[off]))
			off++;
		if (off >= len)
			break;
		json_tokener_reset(tok);
		json_object *v = json_tokener_parse_ex(tok, text + off, (int) (len - off));
		enum json_tokener_error e = json_tokener_get_error(tok);
		if (v == NULL || e != json_tokener_success) {
			size_t at = off + json_tokener_get_parse_end(tok);
			log_error("%s: line %d: malformed JSON (%s)", origin, line_at(text, at),
				  e == json_tokener_continue ? "unexpected end of input"
							     : json_tokener_error_desc(e));
			json_object_put(v);
			ok = false;
			break;
		}
		off += json_tokener_get_parse_end(tok);
		if (json_object_is_type(v, json_type_array)) {
			for (size_t i = 0; ok && i < json_object_array_length(v); i++)
				ok = json_row(json_object_array_get_idx(v, i), origin, out);
		} else {
			ok = json_row(v, origin, out);
		}
		json_object_put(v);
	}
	json_tokener_free(tok);
	return ok;
}

/* --- CSV ------------------------------------------------------------------------------- */

struct csv_record {
	char **f;	/* owned; NULL for an unquoted empty field (psql's NULL) */
	int n;
	int line;
};

static void
csv_record_free(struct csv_record *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->f[i]);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

/*
 * csv_next reads one RFC 4180 record at *pos (quoted fields may hold commas, quotes
 * doubled, and line breaks). Returns 1 with a record, 0 at the end, -1 on an error
 * (logged). Blank lines are skipped.
 */
static int
csv_next(const char *text, size_t len, size_t *pos, int *line, const char *origin, int row,
	 struct csv_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	while (*pos < len && (text[*pos] == '\n' || text[*pos] == '\r')) {
		*line += text[*pos] == '\n';
		(*pos)++;
	}
	if (*pos >= len)
		return 0;
	rec->line = *line;
	struct buf field;
	buf_init(&field);
	for (;;) {
		bool quoted = false;
		buf_reset(&field);
		if (*pos < len && text[*pos] == '"') {
			quoted = true;
			(*pos)++;
			for (;;) {
				if (*pos >= len) {
					log_error("%s: row %d (line %d): unterminated quoted CSV field", origin, row,
						  rec->line);
					buf_free(&field);
					csv_record_free(rec);
					return -1;
				}
				char c = text[(*pos)++];
				if (c == '"') {
					if (*pos < len && text[*pos] == '"') {
						(*pos)++;
						buf_append_char(&field, '"');
						continue;
					}
					break;
				}
				*line += c == '\n';
				buf_append_char(&field, c);
			}
			if (*pos < len && text[*pos] != ',' && text[*pos] != '\n' && text[*pos] != '\r') {
				log_error("%s: row %d (line %d): text after a closing quote in a CSV field",
					  origin, row, *line);
				buf_free(&field);
				csv_record_free(rec);
				return -1;
			}
		} else {
			while (*pos < len && text[*pos] != ',' && text[*pos] != '\n' && text[*pos] != '\r')
				buf_append_char(&field, text[(*pos)++]);
		}
		rec->f = xrealloc(rec->f, (size_t) (rec->n + 1) * sizeof(char *));
		rec->f[rec->n++] = quoted || field.len > 0 ? xstrdup(buf_cstr(&field)) : NULL;
		if (*pos < len && text[*pos] == ',') {
			(*pos)++;
			continue;
		}
		break; /* end of line or of input */
	}
	if (*pos < len && text[*pos] == '\r')
		(*pos)++;
	if (*pos < len && text[*pos] == '\n') {
		(*pos)++;
		(*line)++;
	}
	buf_free(&field);
	return 1;
}

static bool
parse_csv(const char *text, size_t len, const char *origin, struct dms_rows *out)
{
	size_t pos = 0;
	int line = 1;
	struct csv_record head, rec;
	int r = csv_next(text, len, &pos, &line, origin, 0, &head);
	if (r <= 0) {
		if (r == 0)
			log_error("%s: empty file: no CSV header", origin);
		return false;
	}
	int *map = xcalloc((size_t) head.n, sizeof(int));
	bool have[DMS_NFIELDS] = {false};
	for (int i = 0; i < head.n; i++) {
		const char *h = head.f[i] ? head.f[i] : "";
		size_t hl = strlen(h);
		while (hl > 0 && isspace((unsigned char) h[hl - 1]))
			hl--;
		map[i] = field_of(h, hl);
		if (map[i] >= 0)
			have[map[i]] = true;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof(required) / sizeof(required[0]); i++)
		if (!have[required[i]]) {
			log_error("%s: the CSV header has no %s column", origin, dms_field_names[required[i]]);
			log_hint("the first line must name the columns of awsdms_validation_failures_v1 "
				 "(psql: \\copy ... TO 'file' WITH (FORMAT csv, HEADER))");
			ok = false;
		}
	while (ok && (r = csv_next(text, len, &pos, &line, origin, out->n + 1, &rec)) > 0) {
		if (rec.n != head.n) {
			log_error("%s: row %d (line %d): %d CSV fields, the header has %d", origin, out->n + 1,
				  rec.line, rec.n, head.n);
			ok = false;
		} else {
			const char *fields[DMS_NFIELDS] = {0};
			for (int i = 0; i < rec.n; i++)
				if (map[i] >= 0)
					fields[map[i]] = rec.f[i];
			dms_rows_add(out, fields, rec.line);
		}
		csv_record_free(&rec);
	}
	if (r < 0)
		ok = false;
	free(map);
	csv_record_free(&head);
	return ok;
}

bool
dms_rows_parse(const char *text, size_t len, const char *origin, struct dms_rows *out)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		off = 3; /* a UTF-8 byte order mark */
	while (off < len && isspace((unsigned char) text[off]))
		off++;
	bool ok = off < len && (text[off] == '[' || text[off] == '{')
			  ? parse_json(text + off, len - off, origin, out)
			  : parse_csv(text + off, len - off, origin, out);
	/* JSON rows must carry the required columns too: say which row lacks one */
	for (int i = 0; ok && i < out->n; i++)
		for (size_t k = 0; ok && k < sizeof(required) / sizeof(required[0]); k++)
			if (out->rows[i].f[required[k]] == NULL) {
				log_error("%s: row %d: no %s", origin, out->rows[i].row,
					  dms_field_names[required[k]]);
				ok = false;
			}
	if (!ok)
		dms_rows_free(out);
	return ok;
}

/* --- fields ---------------------------------------------------------------------------- */

bool
dms_failure_type_ok(const char *t)
{
	return t && (strcmp(t, "RECORD_DIFF") == 0 || strcmp(t, "MISSING_SOURCE") == 0 ||
		     strcmp(t, "MISSING_TARGET") == 0);
}

bool
dms_key_values(const char *key, struct strlist *vals, const char **err)
{
	enum json_tokener_error je;
	json_object *root = json_tokener_parse_verbose(key, &je);
	json_object *arr = NULL;
	bool ok = false;
	*err = "not JSON like {\"key\": [\"value\", ...]}";
	if (root == NULL)
		goto done;
	if (json_object_is_type(root, json_type_array)) {
		arr = root;
	} else if (json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, k, v)
		{
			if (strcasecmp(k, "key") == 0)
				arr = v;
		}
	}
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		goto done;
	if (json_object_array_length(arr) == 0) {
		*err = "the key has no values";
		goto done;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (v == NULL) {
			*err = "a NULL key value (DMS cannot validate NULL keys either)";
			goto done;
		}
		if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
			*err = "a key value is not a string or a number";
			goto done;
		}
		strlist_push(vals, json_object_get_string(v));
	}
	ok = true;
done:
	json_object_put(root);
	return ok;
}

bool
dms_key_from_canonical(const char *key, size_t keylen, struct buf *out)
{
	const char *p = key, *end = key + keylen;
	enum canon_type t;
	const char *v;
	size_t len;
	struct buf text;
	buf_init(&text);
	buf_append_str(out, "{\"key\": [");
	for (int n = 0; keyframe_next(&p, end, &t, &v, &len); n++) {
		if (n)
			buf_append_str(out, ", ");
		buf_reset(&text);
		canon_display(t, v, len, &text);
		buf_append_json_string(out, text.data ? text.data : "", text.len);
	}
	buf_free(&text);
	buf_append_str(out, "]}");
	return p == end && !out->failed;
}

/* hex_value: "\x4142" or "0x4142" as bytes; false if it is not hex */
static bool
hex_value(const char *s, size_t len, struct buf *out)
{
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return endpoint_hex_decode(s + 2, len - 2, out);
	if (len >= 2 && s[0] == '\\' && s[1] == 'x')
		return endpoint_hex_decode(s, len, out);
	return false;
}

bool
dms_key_encode(const struct row_layout *l, const struct strlist *vals, struct buf *key, int *bad,
	       const char **err)
{
	*bad = -1;
	*err = NULL;
	buf_reset(key);
	if ((int) vals->n != l->nkeys) {
		*err = "wrong number of key values";
		return false;
	}
	struct value *v = xcalloc((size_t) l->ncols + 1, sizeof(struct value));
	struct buf *bin = xcalloc((size_t) l->nkeys + 1, sizeof(struct buf));
	struct row_encoder enc;
	row_encoder_init(&enc, l, 0);
	bool ok = false;
	for (int c = 0; c < l->ncols; c++)
		v[c].null = true;
	for (int k = 0; k < l->nkeys; k++) {
		int c = l->keys[k];
		const char *s = vals->items[k];
		buf_init(&bin[k]);
		v[c].null = false;
		v[c].data = s;
		v[c].len = strlen(s);
		if (l->cols[c].type == CANON_BINARY) {
			if (!hex_value(s, v[c].len, &bin[k])) {
				*bad = k;
				*err = "a binary key value must be hex (\\x... or 0x...)";
				goto done;
			}
			v[c].data = bin[k].data ? bin[k].data : "";
			v[c].len = bin[k].len;
		}
	}
	struct encoded_row row;
	if (!row_encode(&enc, v, &row)) {
		for (int k = 0; k < l->nkeys; k++)
			if (l->keys[k] == enc.bad_col)
				*bad = k;
		*err = enc.bad_reason ? enc.bad_reason : "cannot be encoded";
		goto done;
	}
	ok = buf_append(key, row.key, row.keylen);
done:
	for (int k = 0; k < l->nkeys; k++)
		buf_free(&bin[k]);
	free(bin);
	free(v);
	row_encoder_free(&enc);
	return ok;
}

/* add_name appends a JSON string to a list of names unless it is there already. */
static void
add_name(struct strlist *names, const char *s, size_t len)
{
	char *n = xstrndup(s, len);
	if (!strlist_contains(names, n))
		strlist_push(names, n);
	free(n);
}

/*
 * scan_keys collects every quoted string followed by a colon: the keys of the objects
 * in DETAILS, whatever its quotes (DMS has written Python-style single quotes). Quoted
 * values are consumed whole, so a value never passes for a name.
 */
static void
scan_keys(const char *s, struct strlist *names)
{
	struct buf tok;
	buf_init(&tok);
	const char *p = s;
	while (*p) {
		if (*p != '"' && *p != '\'') {
			p++;
			continue;
		}
		char q = *p++;
		buf_reset(&tok);
		while (*p && *p != q) {
			if (*p == '\\' && p[1])
				p++;
			buf_append_char(&tok, *p++);
		}
		if (*p == q)
			p++;
		const char *after = p;
		while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')
			after++;
		if (*after == ':' && tok.len > 0)
			add_name(names, tok.data, tok.len);
	}
	buf_free(&tok);
}

void
dms_details_columns(const char *details, struct strlist *names)
{
	json_object *root = details ? json_tokener_parse(details) : NULL;
	json_object *cols = NULL;
	if (root && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "columns", &cols) &&
	    json_object_is_type(cols, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(cols); i++) {
			json_object *c = json_object_array_get_idx(cols, i);
			if (json_object_is_type(c, json_type_string))
				add_name(names, json_object_get_string(c),
					 (size_t) json_object_get_string_len(c));
		}
	} else if (details) {
		scan_keys(details, names);
	}
	json_object_put(root);
}

bool
dms_time_to_iso(const char *t, char *iso, size_t size)
{
	struct canon_opts o = canon_opts_default();
	o.frac_digits = 3;
	o.zone_offset_sec = 0; /* DMS writes UTC */
	struct buf b;
	buf_init(&b);
	const char *err = NULL;
	/* a timestamp, not a date alone, and not a bare number read as epoch milliseconds */
	bool ok = t && strlen(t) >= 19 && strchr(t, ':') &&
		  canon_encode(CANON_TIMESTAMP, &o, t, strlen(t), &b, &err) && b.len == 24;
	if (ok)
		snprintf(iso, size, "%s", buf_cstr(&b));
	buf_free(&b);
	return ok;
}

void
dms_time_from_iso(const char *iso, char *out, size_t size)
{
	snprintf(out, size, "%.19s", iso ? iso : "");
	char *t = strchr(out, 'T');
	if (t)
		*t = ' ';
}

/* --- writing --------------------------------------------------------------------------- */

/* csv_field: quoted when it holds a delimiter, a quote, a line break or nothing */
static void
csv_field(struct buf *out, const char *v)
{
	if (v[0] != '\0' && strpbrk(v, ",\"\r\n") == NULL) {
		buf_append_str(out, v);
		return;
	}
	buf_append_char(out, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			buf_append_char(out, '"');
		buf_append_char(out, *p);
	}
	buf_append_char(out, '"');
}

void
dms_csv_header(struct buf *out)
{
	for (int i = 0; i < DMS_NFIELDS; i++) {
		if (i)
			buf_append_char(out, ',');
		buf_append_str(out, dms_field_names[i]);
	}
	buf_append_str(out, "\n");
}

void
dms_export_append(struct buf *out, bool csv, const struct dms_export_row *r)
{
	const char *v[DMS_NFIELDS] = {
		[DMS_TASK_NAME] = r->task_name,	      [DMS_TABLE_OWNER] = r->table_owner,
		[DMS_TABLE_NAME] = r->table_name,     [DMS_FAILURE_TIME] = r->failure_time,
		[DMS_KEY_TYPE] = "Row",		      [DMS_KEY] = r->key,
		[DMS_FAILURE_TYPE] = r->failure_type, [DMS_DETAILS] = r->details,
	};
	if (csv) {
		for (int i = 0; i < DMS_NFIELDS; i++) {
			if (i)
				buf_append_char(out, ',');
			csv_field(out, v[i] ? v[i] : "");
		}
		buf_append_str(out, "\n");
		return;
	}
	buf_append_char(out, '{');
	for (int i = 0; i < DMS_NFIELDS; i++) {
		if (i)
			buf_append_str(out, ", ");
		buf_printf(out, "\"%s\": ", dms_field_names[i]);
		const char *s = v[i] ? v[i] : "";
		buf_append_json_string(out, s, strlen(s));
	}
	buf_append_char(out, '}');
}
