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

/* --- mapping ------------------------------------------------------------------------------- */

static bool
sortable_def(json_object *def)
{
	json_object *dv = os_member(def, "doc_values");
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
		json_object *fields = os_member(def, "fields");
		char *best = NULL;
		if (fields && json_object_is_type(fields, json_type_object)) {
			json_object_object_foreach(fields, sub, sdef)
			{
				const char *st = os_member_str(sdef, "type");
				if (st == NULL || strcmp(st, "keyword") != 0 || !sortable_def(sdef) ||
				    os_member(sdef, "normalizer") != NULL)
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
		mappings = os_member(idef, "mappings");
	}
	json_object *props = os_member(mappings, "properties");
	if (props == NULL && mappings && json_object_is_type(mappings, json_type_object) &&
	    json_object_object_length(mappings) == 1) {
		/* a typed mapping ({"_doc":{"properties":...}}, include_type_name on 1.x) */
		json_object_object_foreach(mappings, tname, tdef)
		{
			(void) tname;
			props = os_member(tdef, "properties");
		}
	}
	out->schema = xstrdup("");
	out->name = xstrdup(index);
	out->estimated_rows = -1;
	if (props && json_object_is_type(props, json_type_object)) {
		json_object_object_foreach(props, fname, def)
		{
			const char *type = os_member_str(def, "type");
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

/* slot_of returns the slot named name (the first), or -1. */
static int
slot_of(const struct os_reader *rd, const char *name, size_t len)
{
	for (int s = 0; s < rd->nslots; s++)
		if (rd->slot_name[s] && rd->slot_len[s] == len && memcmp(rd->slot_name[s], name, len) == 0)
			return s;
	return -1;
}

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
	int maxslots = r->ncols + nkeys;
	rd->slot_name = xcalloc((size_t) maxslots + 1, sizeof(char *));
	rd->slot_len = xcalloc((size_t) maxslots + 1, sizeof(size_t));
	rd->key_slot = xcalloc((size_t) nkeys + 1, sizeof(int));
	rd->found = xcalloc((size_t) maxslots + 1, sizeof(*rd->found));
	for (int i = 0; i < r->ncols; i++) {
		const struct column_desc *c = &r->table->cols[r->cols[i]];
		rd->fields[i] = strcmp(c->engine_type, "_id") == 0 ? NULL : c->name;
		rd->binary[i] = c->type == CANON_BINARY;
		rd->slot_name[i] = rd->fields[i];
		rd->slot_len[i] = rd->fields[i] ? strlen(rd->fields[i]) : 0;
	}
	rd->nslots = r->ncols;
	for (int k = 0; k < nkeys; k++) {
		rd->key_col[k] = -1;
		for (int i = 0; i < r->ncols; i++)
			if (r->cols[i] == r->key[k])
				rd->key_col[k] = i;
		rd->key_slot[k] = -1;
		if (keys[k].kind == OS_KIND_ID)
			continue; /* never read from _source */
		rd->key_slot[k] = slot_of(rd, keys[k].name, strlen(keys[k].name));
		if (rd->key_slot[k] < 0) {
			rd->key_slot[k] = rd->nslots;
			rd->slot_name[rd->nslots] = keys[k].name;
			rd->slot_len[rd->nslots++] = strlen(keys[k].name);
		}
	}
	buf_init(&rd->scratch);
	rd->scratch.cap = 256u << 20;
	buf_init(&rd->tmp);
	rd->tmp.cap = 256u << 20;
}

void
os_reader_free(struct os_reader *rd)
{
	free(rd->fields);
	free(rd->binary);
	free(rd->key_col);
	free(rd->vals);
	free(rd->offsets);
	free(rd->slot_name);
	free(rd->slot_len);
	free(rd->key_slot);
	free(rd->found);
	for (size_t i = 0; i < rd->nmap; i++)
		free(rd->map[i].name);
	free(rd->map);
	buf_free(&rd->scratch);
	buf_free(&rd->tmp);
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

/*
 * value_of fills one value from a _source member's span; scratch holds what is not in
 * the body (decoded strings, base64 bytes, JSON re-spaced). Numbers are their own text:
 * nothing is ever converted, so nothing can be clamped or rounded.
 */
static bool
value_of(struct os_reader *rd, int i, const struct os_span *node, struct buf *err)
{
	struct value *v = &rd->vals[i];
	rd->offsets[i] = (size_t) -1;
	v->null = false;
	size_t start = rd->scratch.len;
	switch ((enum os_jtype) node->type) {
	case OS_J_NONE:
	case OS_J_NULL:
		v->null = true;
		v->data = "";
		v->len = 0;
		return true;
	case OS_J_TRUE:
	case OS_J_FALSE:
		v->data = node->type == OS_J_TRUE ? "true" : "false";
		v->len = strlen(v->data);
		return true;
	case OS_J_NUMBER:
		if (node->len == 2 && node->p[0] == '-' && node->p[1] == '0') {
			v->data = "0"; /* the integer -0 is 0, as json-c read it */
			v->len = 1;
		} else {
			v->data = node->p;
			v->len = node->len;
		}
		return true;
	case OS_J_STRING:
		if (rd->binary[i]) {
			const char *text = node->p;
			size_t len = node->len;
			if (node->esc) {
				buf_reset(&rd->tmp);
				os_span_decode(node, &rd->tmp);
				text = rd->tmp.data ? rd->tmp.data : "";
				len = rd->tmp.len;
			}
			if (base64_decode(text, len, &rd->scratch))
				break;
			/* not base64: the text itself, so it is reported, never matched */
			rd->scratch.len = start;
			if (!node->esc) {
				v->data = node->p;
				v->len = node->len;
				return true;
			}
			buf_append(&rd->scratch, text, len);
			break;
		}
		if (!node->esc) {
			v->data = node->p;
			v->len = node->len;
			return true;
		}
		os_span_decode(node, &rd->scratch);
		break;
	case OS_J_OBJECT:
	case OS_J_ARRAY:
		if (!node->esc) {
			v->data = node->p; /* compact already: the body's own text */
			v->len = node->len;
			return true;
		}
		os_span_compact(node, &rd->scratch);
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
same_key(struct os_reader *rd, const struct os_span *node, const char *id, size_t idlen)
{
	if (node->type == OS_J_STRING) {
		if (!node->esc)
			return node->len == idlen && memcmp(node->p, id, idlen) == 0;
		buf_reset(&rd->tmp);
		return os_span_decode(node, &rd->tmp) && rd->tmp.len == idlen &&
		       memcmp(rd->tmp.data ? rd->tmp.data : "", id, idlen) == 0;
	}
	if (node->type != OS_J_NUMBER)
		return false;
	struct buf b, c;
	buf_init(&b), buf_init(&c);
	bool same = canon_normalize_number(node->p, node->len, &b) &&
		    canon_normalize_number(id, idlen, &c) && b.len == c.len &&
		    memcmp(buf_cstr(&b), buf_cstr(&c), b.len) == 0;
	buf_free(&b), buf_free(&c);
	return same;
}

/*
 * check_keys refuses a document whose key cannot be placed in key order: a key field
 * missing from _source (field mode), a keyword value with no sort value (longer than
 * the keyword's ignore_above, so OpenSearch cannot order it), or, in id mode value, an
 * _id that disagrees with the _source field the read is ordered by.
 */
static bool
check_keys(struct os_reader *rd, const struct os_hit *hit, const char *id, size_t idlen,
	   struct buf *err)
{
	/* "sort": null reads as no sort, as json-c gave it */
	const struct os_span *sort =
		hit->sort.type != OS_J_NONE && hit->sort.type != OS_J_NULL ? &hit->sort : NULL;
	for (int k = 0; k < rd->nkeys; k++) {
		const struct os_key *key = &rd->keys[k];
		if (key->kind == OS_KIND_ID)
			continue;
		const struct os_span *node = rd->found[rd->key_slot[k]];
		if (node == NULL || node->type == OS_J_NULL) {
			buf_printf(err, "document _id %.*s has no value for the key field %s", (int) idlen,
				   id, key->name);
			return false;
		}
		struct os_span sv;
		bool have = sort && os_span_item(sort, (size_t) k, &sv);
		if (sort && (!have || sv.type == OS_J_NULL)) {
			buf_printf(err,
				   "document _id %.*s: the key field %s has no sortable value in %s "
				   "(longer than the keyword's ignore_above?)",
				   (int) idlen, id, key->name, key->sort_field);
			return false;
		}
		if (key->from_id && !same_key(rd, node, id, idlen)) {
			buf_printf(err,
				   "document _id %.*s holds another key in its field %s: with "
				   "id_mode=value the _id must be the key",
				   (int) idlen, id, key->name);
			return false;
		}
	}
	return true;
}

/*
 * find_fields points rd->found at the hit's _source members that are read. Documents
 * of one index mostly list their members in the same order, so the slot of member j is
 * remembered with its name: one comparison per member instead of a lookup by name.
 */
static void
find_fields(struct os_reader *rd, const struct os_page *p, const struct os_hit *hit)
{
	memset(rd->found, 0, (size_t) rd->nslots * sizeof(*rd->found));
	for (size_t j = 0; j < hit->nfields; j++) {
		const struct os_field *f = &p->fields[hit->field0 + j];
		const char *name = f->name.p;
		size_t len = f->name.len;
		int slot;
		if (f->name.esc) {
			buf_reset(&rd->tmp);
			os_span_decode(&f->name, &rd->tmp);
			slot = slot_of(rd, rd->tmp.data ? rd->tmp.data : "", rd->tmp.len);
		} else if (j < rd->nmap && rd->map[j].len == len &&
			   memcmp(rd->map[j].name, name, len) == 0) {
			slot = rd->map[j].slot;
		} else {
			slot = slot_of(rd, name, len);
			if (j >= rd->nmap) {
				rd->map = xrealloc(rd->map, (j + 1) * sizeof(*rd->map));
				for (size_t m = rd->nmap; m <= j; m++)
					memset(&rd->map[m], 0, sizeof(rd->map[m]));
				rd->nmap = j + 1;
			}
			free(rd->map[j].name);
			rd->map[j].name = xstrndup(name, len);
			rd->map[j].len = len;
			rd->map[j].slot = slot;
		}
		if (slot >= 0)
			rd->found[slot] = &f->value; /* the last of duplicates wins, as in json-c */
	}
}

bool
os_reader_row(struct os_reader *rd, struct os_page *p, json_object *hitobj, struct buf *err)
{
	const struct os_hit *hit = os_hit_of(hitobj);
	if (hit == NULL || hit->id.type != OS_J_STRING) {
		buf_append_str(err, "search hit without an _id");
		return false;
	}
	const char *id = hit->id_text;
	size_t idlen = hit->id_len;
	if (hit->source.type != OS_J_OBJECT) {
		buf_printf(err, "document _id %.*s came without its _source (is _source disabled "
				"in the index mapping?)",
			   (int) idlen, id);
		return false;
	}
	find_fields(rd, p, hit);
	if (!check_keys(rd, hit, id, idlen, err))
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
		const struct os_span *node = rd->found[i];
		if (node == NULL) {
			rd->offsets[i] = (size_t) -1;
			rd->vals[i].data = "";
			rd->vals[i].len = 0;
			rd->vals[i].null = true; /* an absent field equals NULL */
			continue;
		}
		if (!value_of(rd, i, node, err))
			return false;
	}
	/* scratch may have moved while growing: point at it only now */
	for (int i = 0; i < rd->ncols; i++)
		if (rd->offsets[i] != (size_t) -1)
			rd->vals[i].data = rd->scratch.data + rd->offsets[i];
	return true;
}
