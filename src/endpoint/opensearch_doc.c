/*
 * endpoint/opensearch_doc.c: an index as a table, a document as a row.
 *
 * Columns are the top-level fields of the index mapping (objects and nested fields are
 * one JSON column each). A row is the document's whole `_source` as the server stored
 * it: an absent field or JSON null is NULL, a string is itself, a number is its exact
 * JSON text, a boolean is "true"/"false", an object or array is JSON text that
 * core/canon_json.c canonicalizes, a binary field's base64 becomes raw bytes. Dates stay
 * strings (core/canon_time.c reads ISO forms and epoch milliseconds). Which canonical
 * type a pair of columns is compared as is mostly the SQL source's call: keyword and
 * text are TEXT here, and canon_unify gives a TEXT side the other side's type.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch_internal.h"
#include "util/str.h"

static json_object *
member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

static const char *
member_str(json_object *o, const char *key)
{
	json_object *v = member(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* --- mapping ------------------------------------------------------------------------------- */

static bool
sortable_def(json_object *def)
{
	json_object *dv = member(def, "doc_values");
	return dv == NULL || json_object_get_boolean(dv);
}

/*
 * sort_field_of picks the field a column is sorted and ranged by: the field itself when
 * it has doc values (numbers, keyword, date, boolean), a keyword sub-field of a text
 * field (the "name.keyword" that dynamic mapping adds), or none. Caller frees.
 */
static char *
sort_field_of(const char *name, const char *type, json_object *def)
{
	static const char *const direct[] = {"keyword", "constant_keyword", "long", "integer",
					     "short", "byte", "unsigned_long", "float", "half_float",
					     "double", "scaled_float", "date", "date_nanos", "boolean",
					     NULL};
	for (const char *const *t = direct; *t; t++)
		if (strcmp(type, *t) == 0)
			return sortable_def(def) ? xstrdup(name) : xstrdup("");
	if (strcmp(type, "text") == 0 || strcmp(type, "match_only_text") == 0) {
		json_object *fields = member(def, "fields");
		char *best = NULL;
		if (fields && json_object_is_type(fields, json_type_object)) {
			json_object_object_foreach(fields, sub, sdef)
			{
				const char *st = member_str(sdef, "type");
				if (st == NULL || strcmp(st, "keyword") != 0 || !sortable_def(sdef) ||
				    member(sdef, "normalizer") != NULL)
					continue; /* a normalizer (lowercase) changes the order */
				if (best == NULL || strcmp(sub, "keyword") == 0) {
					free(best);
					struct buf b;
					buf_init(&b);
					buf_printf(&b, "%s.%s", name, sub);
					best = buf_steal(&b);
				}
			}
		}
		return best ? best : xstrdup("");
	}
	return xstrdup("");
}

static void
add_column(struct table_desc *t, const char *name, const char *type, char *sort_field)
{
	t->cols = xrealloc(t->cols, (size_t) (t->ncols + 1) * sizeof(*t->cols));
	struct column_desc *c = &t->cols[t->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->engine_type = xstrdup(type);
	c->cast_type = sort_field;
	c->type = os_canon_of(type, &c->single_float);
	c->nullable = true;
	c->byte_order_text = os_kind_of(type, sort_field) == OS_KIND_KEYWORD;
}

bool
os_mapping_parse(const char *body, size_t len, const char *index, enum os_id_mode mode,
		 struct table_desc *out, struct buf *err)
{
	memset(out, 0, sizeof(*out));
	json_object *root;
	if (!os_json_parse(body, len, &root, err))
		return false;
	bool ok = false;
	int nidx = json_object_is_type(root, json_type_object) ? json_object_object_length(root) : -1;
	if (nidx != 1) {
		if (nidx == 0)
			buf_printf(err, "index %s has no mapping", index);
		else if (nidx > 1)
			buf_printf(err, "%s names %d indices (an alias or a pattern); give one index",
				   index, nidx);
		else
			buf_append_str(err, "mapping response is not a JSON object");
		goto done;
	}
	json_object *mappings = NULL;
	json_object_object_foreach(root, iname, idef)
	{
		(void) iname;
		mappings = member(idef, "mappings");
	}
	json_object *props = member(mappings, "properties");
	if (props == NULL && mappings && json_object_is_type(mappings, json_type_object) &&
	    json_object_object_length(mappings) == 1) {
		/* a typed mapping ({"_doc":{"properties":...}}, include_type_name on 1.x) */
		json_object_object_foreach(mappings, tname, tdef)
		{
			(void) tname;
			props = member(tdef, "properties");
		}
	}
	out->schema = xstrdup("");
	out->name = xstrdup(index);
	out->estimated_rows = -1;
	if (props && json_object_is_type(props, json_type_object)) {
		json_object_object_foreach(props, fname, def)
		{
			const char *type = member_str(def, "type");
			if (type == NULL)
				type = "object"; /* {"properties":{...}} without a type */
			if (strcmp(type, "alias") == 0)
				continue; /* an alias has no _source value of its own */
			add_column(out, fname, type, sort_field_of(fname, type, def));
		}
	}
	if (mode == OS_ID_VALUE)
		add_column(out, "_id", "_id", xstrdup("_id"));
	ok = true;
done:
	json_object_put(root);
	if (!ok)
		table_desc_free(out);
	return ok;
}

/* --- rows ----------------------------------------------------------------------------------- */

void
os_reader_init(struct os_reader *rd, const struct scan_request *r, const struct os_key *keys,
	       int nkeys)
{
	memset(rd, 0, sizeof(*rd));
	rd->ncols = r->ncols;
	rd->fields = xcalloc((size_t) r->ncols + 1, sizeof(char *));
	rd->binary = xcalloc((size_t) r->ncols + 1, sizeof(bool));
	rd->key_col = xcalloc((size_t) nkeys + 1, sizeof(int));
	rd->vals = xcalloc((size_t) r->ncols + 1, sizeof(struct value));
	rd->offsets = xcalloc((size_t) r->ncols + 1, sizeof(size_t));
	rd->nkeys = nkeys;
	rd->keys = keys;
	for (int i = 0; i < r->ncols; i++) {
		const struct column_desc *c = &r->table->cols[r->cols[i]];
		rd->fields[i] = strcmp(c->engine_type, "_id") == 0 ? NULL : c->name;
		rd->binary[i] = c->type == CANON_BINARY;
	}
	for (int k = 0; k < nkeys; k++) {
		rd->key_col[k] = -1;
		for (int i = 0; i < r->ncols; i++)
			if (r->cols[i] == r->key[k])
				rd->key_col[k] = i;
	}
	buf_init(&rd->scratch);
	rd->scratch.cap = 256u << 20;
}

void
os_reader_free(struct os_reader *rd)
{
	free(rd->fields);
	free(rd->binary);
	free(rd->key_col);
	free(rd->vals);
	free(rd->offsets);
	buf_free(&rd->scratch);
	memset(rd, 0, sizeof(*rd));
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* base64_decode appends the bytes of standard or URL-safe base64; false if malformed. */
static bool
base64_decode(const char *in, size_t len, struct buf *out)
{
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return false;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char) in[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_append_char(out, (char) ((acc >> bits) & 0xff));
		}
	}
	return !out->failed;
}

/* value_of fills one value from a _source node; scratch holds what is not in the tree. */
static bool
value_of(struct os_reader *rd, struct os_page *p, int i, json_object *node, struct buf *err)
{
	struct value *v = &rd->vals[i];
	rd->offsets[i] = (size_t) -1;
	v->null = false;
	size_t start = rd->scratch.len;
	switch (json_object_get_type(node)) {
	case json_type_null:
		v->null = true;
		v->data = "";
		v->len = 0;
		return true;
	case json_type_boolean:
		v->data = json_object_get_boolean(node) ? "true" : "false";
		v->len = strlen(v->data);
		return true;
	case json_type_string:
		v->data = json_object_get_string(node);
		v->len = (size_t) json_object_get_string_len(node);
		if (rd->binary[i]) {
			if (!base64_decode(v->data, v->len, &rd->scratch)) {
				/* not base64: the text itself, so it is reported, never matched */
				rd->scratch.len = start;
				return true;
			}
			break;
		}
		return true;
	case json_type_int:
	case json_type_double:
		if (!os_number_append(p, node, &rd->scratch, err))
			return false;
		break;
	case json_type_object:
	case json_type_array:
		if (!os_json_write(p, node, &rd->scratch, err))
			return false;
		break;
	}
	if (rd->scratch.failed) {
		buf_append_str(err, "document too large");
		return false;
	}
	rd->offsets[i] = start;
	v->len = rd->scratch.len - start;
	return true;
}

/* same_key: does a _source key value name the same key as the _id text? */
static bool
same_key(struct os_page *p, json_object *node, const char *id, size_t idlen)
{
	if (json_object_is_type(node, json_type_string))
		return (size_t) json_object_get_string_len(node) == idlen &&
		       memcmp(json_object_get_string(node), id, idlen) == 0;
	if (!json_object_is_type(node, json_type_int) && !json_object_is_type(node, json_type_double))
		return false;
	struct buf a, b, c, err;
	buf_init(&a), buf_init(&b), buf_init(&c), buf_init(&err);
	bool same = os_number_append(p, node, &a, &err) &&
		    canon_normalize_number(a.data ? a.data : "", a.len, &b) &&
		    canon_normalize_number(id, idlen, &c) && b.len == c.len &&
		    memcmp(buf_cstr(&b), buf_cstr(&c), b.len) == 0;
	buf_free(&a), buf_free(&b), buf_free(&c), buf_free(&err);
	return same;
}

/*
 * check_keys refuses a document whose key cannot be placed in key order: a key field
 * missing from _source (field mode), a keyword value with no sort value (longer than
 * the keyword's ignore_above, so OpenSearch cannot order it), or, in id mode value, an
 * _id that disagrees with the _source field the read is ordered by.
 */
static bool
check_keys(struct os_reader *rd, struct os_page *p, json_object *hit, json_object *src,
	   const char *id, size_t idlen, struct buf *err)
{
	json_object *sort = member(hit, "sort");
	for (int k = 0; k < rd->nkeys; k++) {
		const struct os_key *key = &rd->keys[k];
		if (key->kind == OS_KIND_ID)
			continue;
		json_object *node = member(src, key->name);
		if (node == NULL || json_object_is_type(node, json_type_null)) {
			buf_printf(err, "document _id %.*s has no value for the key field %s", (int) idlen,
				   id, key->name);
			return false;
		}
		json_object *sv = sort && json_object_is_type(sort, json_type_array)
					  ? json_object_array_get_idx(sort, (size_t) k)
					  : NULL;
		if (sort && (sv == NULL || json_object_is_type(sv, json_type_null))) {
			buf_printf(err,
				   "document _id %.*s: the key field %s has no sortable value in %s "
				   "(longer than the keyword's ignore_above?)",
				   (int) idlen, id, key->name, key->sort_field);
			return false;
		}
		if (key->from_id && !same_key(p, node, id, idlen)) {
			buf_printf(err,
				   "document _id %.*s holds another key in its field %s: with "
				   "id_mode=value the _id must be the key",
				   (int) idlen, id, key->name);
			return false;
		}
	}
	return true;
}

bool
os_reader_row(struct os_reader *rd, struct os_page *p, json_object *hit, struct buf *err)
{
	size_t idlen = 0;
	const char *id = os_hit_id(hit, &idlen);
	json_object *src = member(hit, "_source");
	if (id == NULL) {
		buf_append_str(err, "search hit without an _id");
		return false;
	}
	if (src == NULL || !json_object_is_type(src, json_type_object)) {
		buf_printf(err, "document _id %.*s came without its _source (is _source disabled "
				"in the index mapping?)",
			   (int) idlen, id);
		return false;
	}
	if (!check_keys(rd, p, hit, src, id, idlen, err))
		return false;
	buf_reset(&rd->scratch);
	for (int i = 0; i < rd->ncols; i++) {
		bool from_id = rd->fields[i] == NULL;
		for (int k = 0; k < rd->nkeys; k++)
			from_id |= rd->keys[k].from_id && rd->key_col[k] == i;
		if (from_id) {
			rd->offsets[i] = (size_t) -1;
			rd->vals[i].data = id;
			rd->vals[i].len = idlen;
			rd->vals[i].null = false;
			continue;
		}
		json_object *node = NULL;
		if (!json_object_object_get_ex(src, rd->fields[i], &node)) {
			rd->offsets[i] = (size_t) -1;
			rd->vals[i].data = "";
			rd->vals[i].len = 0;
			rd->vals[i].null = true; /* an absent field equals NULL */
			continue;
		}
		if (!value_of(rd, p, i, node, err))
			return false;
	}
	/* scratch may have moved while growing: point at it only now */
	for (int i = 0; i < rd->ncols; i++)
		if (rd->offsets[i] != (size_t) -1)
			rd->vals[i].data = rd->scratch.data + rd->offsets[i];
	return true;
}
