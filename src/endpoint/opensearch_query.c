/*
 * endpoint/opensearch_query.c: the key plan and the request bodies of the OpenSearch
 * endpoint. Pure functions: canonical keys in, JSON text out.
 *
 * Order is the heart of it: the merge-join needs the target's documents in canonical key
 * order. OpenSearch sorts a numeric field numerically and a keyword field by its UTF-8
 * bytes (Lucene compares BytesRef values as unsigned bytes, which for UTF-8 is code
 * point order): exactly core/canon.c's order for NUMBER and TEXT keys (memcmp). A text
 * field without a keyword sub-field has no order at all, and a keyword field holding a
 * numeric source key orders "10" before "9": both are refused here, with the field
 * named, rather than read in the wrong order. Ranges are inclusive below and exclusive
 * above, as partitions are; a composite key becomes the lexicographic tuple comparison
 * spelled out as bool clauses.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch_internal.h"
#include "util/str.h"

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const integer_types[] = {"long", "integer", "short", "byte", "unsigned_long",
					    "token_count", NULL};
static const char *const float_types[] = {"float", "half_float", "double", "scaled_float", NULL};
static const char *const json_types[] = {"object", "nested", "flat_object", NULL};
static const char *const date_types[] = {"date", "date_nanos", NULL};

enum os_kind
os_kind_of(const char *mapping_type, const char *sort_field)
{
	if (sort_field == NULL || *sort_field == '\0')
		return OS_KIND_OTHER;
	if (strcmp(mapping_type, "_id") == 0)
		return OS_KIND_ID;
	if (in_list(mapping_type, integer_types) || in_list(mapping_type, float_types))
		return OS_KIND_NUMBER;
	if (in_list(mapping_type, date_types))
		return OS_KIND_DATE;
	if (strcmp(mapping_type, "boolean") == 0)
		return OS_KIND_BOOL;
	/* keyword itself, or text/match_only_text sorted by its keyword sub-field */
	return OS_KIND_KEYWORD;
}

enum canon_type
os_canon_of(const char *mapping_type, bool *single_float)
{
	*single_float = strcmp(mapping_type, "float") == 0 || strcmp(mapping_type, "half_float") == 0;
	if (in_list(mapping_type, integer_types))
		return CANON_NUMBER;
	if (in_list(mapping_type, float_types))
		return CANON_FLOAT;
	if (in_list(mapping_type, date_types))
		return CANON_TIMESTAMP;
	if (in_list(mapping_type, json_types))
		return CANON_JSON;
	if (strcmp(mapping_type, "boolean") == 0)
		return CANON_BOOL;
	if (strcmp(mapping_type, "binary") == 0)
		return CANON_BINARY;
	/* keyword, text, _id, ip, ...: text takes the source side's type (canon_unify) */
	return CANON_TEXT;
}

bool
os_key_plan(const struct scan_request *r, enum os_id_mode mode, struct os_key *keys,
	    const char **err)
{
	if (mode == OS_ID_VALUE && r->nkeys != 1) {
		*err = "id_mode=value needs a single-column key (the document _id)";
		return false;
	}
	for (int k = 0; k < r->nkeys; k++) {
		const struct column_desc *c = &r->table->cols[r->key[k]];
		struct os_key *key = &keys[k];
		memset(key, 0, sizeof(*key));
		key->name = c->name;
		key->sort_field = c->cast_type ? c->cast_type : "";
		key->kind = os_kind_of(c->engine_type, key->sort_field);
		key->in_source = strcmp(c->engine_type, "_id") != 0;
		if (mode == OS_ID_VALUE) {
			key->from_id = true;
			if (key->kind == OS_KIND_OTHER) {
				/* no sortable copy in _source: order by the _id itself */
				key->sort_field = "_id";
				key->kind = OS_KIND_ID;
			}
		} else if (key->kind == OS_KIND_OTHER) {
			*err = "the key field cannot be sorted on (a text field without a keyword "
			       "sub-field, an object, or binary)";
			return false;
		}
	}
	return true;
}

/* kind_accepts: can a field of this kind order and match values of canonical type t? */
static bool
kind_accepts(enum os_kind kind, enum canon_type t)
{
	switch (t) {
	case CANON_NUMBER:
	case CANON_FLOAT: return kind == OS_KIND_NUMBER;
	case CANON_BOOL: return kind == OS_KIND_BOOL;
	case CANON_TEXT:
	case CANON_UUID: return kind == OS_KIND_KEYWORD || kind == OS_KIND_ID;
	case CANON_DATE:
	case CANON_TIMESTAMP: return kind == OS_KIND_DATE;
	default: return false;
	}
}

bool
os_key_json(enum canon_type t, const char *v, size_t len, enum os_kind kind, struct buf *out,
	    const char **err)
{
	if (kind == OS_KIND_ID) {
		/* _id values are strings, whatever the source key's type */
		if (t == CANON_BINARY || t == CANON_JSON || t == CANON_NULL || t == CANON_INVALID) {
			*err = "this key type cannot be a document _id";
			return false;
		}
		return buf_append_json_string(out, v, len);
	}
	if (!kind_accepts(kind, t)) {
		*err = "the key field's mapping does not order like the source key (e.g. a numeric "
		       "key held in a keyword field sorts as text)";
		return false;
	}
	switch (t) {
	case CANON_NUMBER:
	case CANON_FLOAT:
		for (size_t i = 0; i < len; i++)
			if (!strchr("-+0123456789.eE", v[i])) {
				*err = "NaN and infinite keys cannot be searched";
				return false;
			}
		if (len == 0) {
			*err = "empty number";
			return false;
		}
		return buf_append(out, v, len);
	case CANON_BOOL: return buf_append(out, v, len);
	case CANON_DATE:
	case CANON_TIMESTAMP:
		if (len > 0 && (v[0] == 'i' || v[0] == '-' || v[0] == '+')) {
			*err = "infinite or out-of-range dates cannot be searched";
			return false;
		}
		return buf_append_json_string(out, v, len);
	default: return buf_append_json_string(out, v, len);
	}
}

/* --- queries --------------------------------------------------------------------------- */

struct keyvals {
	enum canon_type t[16];
	const char *v[16];
	size_t len[16];
};

static bool
split_key(const char *key, size_t keylen, int nkeys, struct keyvals *kv, const char **err)
{
	const char *p = key, *end = key + keylen;
	if (nkeys > 16) {
		*err = "keys of more than 16 columns are not supported";
		return false;
	}
	for (int k = 0; k < nkeys; k++)
		if (!keyframe_next(&p, end, &kv->t[k], &kv->v[k], &kv->len[k])) {
			*err = "corrupt canonical key";
			return false;
		}
	return true;
}

static bool
clause(struct buf *out, const struct os_key *key, const char *op, enum canon_type t,
       const char *v, size_t len, const char **err)
{
	if (key->kind == OS_KIND_ID && strcmp(op, "term") != 0) {
		*err = "the document _id cannot be searched by range";
		return false;
	}
	if (strcmp(op, "term") == 0) {
		buf_append_str(out, "{\"term\":{");
		buf_append_json_string(out, key->sort_field, strlen(key->sort_field));
		buf_append_char(out, ':');
		if (!os_key_json(t, v, len, key->kind, out, err))
			return false;
		return buf_append_str(out, "}}");
	}
	buf_append_str(out, "{\"range\":{");
	buf_append_json_string(out, key->sort_field, strlen(key->sort_field));
	buf_printf(out, ":{\"%s\":", op);
	if (!os_key_json(t, v, len, key->kind, out, err))
		return false;
	return buf_append_str(out, "}}}");
}

/*
 * tuple_bound writes (k_i, ..., k_n) >= lo (upper = false) or < hi (upper = true) as
 * k_i > v_i OR (k_i = v_i AND rest), ending with k_n >= v_n or k_n < v_n.
 */
static bool
tuple_bound(struct buf *out, const struct os_key *keys, int nkeys, const struct keyvals *kv,
	    int i, bool upper, const char **err)
{
	if (i == nkeys - 1)
		return clause(out, &keys[i], upper ? "lt" : "gte", kv->t[i], kv->v[i], kv->len[i], err);
	buf_append_str(out, "{\"bool\":{\"should\":[");
	if (!clause(out, &keys[i], upper ? "lt" : "gt", kv->t[i], kv->v[i], kv->len[i], err))
		return false;
	buf_append_str(out, ",{\"bool\":{\"filter\":[");
	if (!clause(out, &keys[i], "term", kv->t[i], kv->v[i], kv->len[i], err))
		return false;
	buf_append_char(out, ',');
	if (!tuple_bound(out, keys, nkeys, kv, i + 1, upper, err))
		return false;
	return buf_append_str(out, "]}}],\"minimum_should_match\":1}}");
}

static bool
range_filter(struct buf *out, const struct os_query *q, const char **err)
{
	struct keyvals kv;
	int n = 0;
	buf_append_str(out, "{\"bool\":{\"filter\":[");
	if (q->lo) {
		if (!split_key(q->lo, q->lolen, q->nkeys, &kv, err) ||
		    !tuple_bound(out, q->keys, q->nkeys, &kv, 0, false, err))
			return false;
		n++;
	}
	if (q->hi) {
		if (n)
			buf_append_char(out, ',');
		if (!split_key(q->hi, q->hilen, q->nkeys, &kv, err) ||
		    !tuple_bound(out, q->keys, q->nkeys, &kv, 0, true, err))
			return false;
	}
	return buf_append_str(out, "]}}");
}

/* keyless_clause: documents missing a sortable value of any key field */
static void
keyless_clause(struct buf *out, const struct os_query *q)
{
	buf_append_str(out, "{\"bool\":{\"must_not\":[{\"bool\":{\"filter\":[");
	for (int k = 0; k < q->nkeys; k++) {
		if (k)
			buf_append_char(out, ',');
		buf_append_str(out, "{\"exists\":{\"field\":");
		buf_append_json_string(out, q->keys[k].sort_field, strlen(q->keys[k].sort_field));
		buf_append_str(out, "}}");
	}
	buf_append_str(out, "]}}]}}");
}

static bool
fetch_query(struct buf *out, const struct os_query *q, const char **err)
{
	struct keyvals kv;
	if (q->nkeys == 1) {
		const struct os_key *key = &q->keys[0];
		bool ids = key->from_id;
		if (ids)
			buf_append_str(out, "{\"ids\":{\"values\":[");
		else {
			buf_append_str(out, "{\"terms\":{");
			buf_append_json_string(out, key->sort_field, strlen(key->sort_field));
			buf_append_str(out, ":[");
		}
		for (int i = 0; i < q->nfetch; i++) {
			if (!split_key(q->fetch[i], q->fetchlens[i], 1, &kv, err))
				return false;
			if (i)
				buf_append_char(out, ',');
			if (!os_key_json(kv.t[0], kv.v[0], kv.len[0], ids ? OS_KIND_ID : key->kind, out, err))
				return false;
		}
		return buf_append_str(out, "]}}");
	}
	buf_append_str(out, "{\"bool\":{\"should\":[");
	for (int i = 0; i < q->nfetch; i++) {
		if (!split_key(q->fetch[i], q->fetchlens[i], q->nkeys, &kv, err))
			return false;
		buf_append_str(out, i ? ",{\"bool\":{\"filter\":[" : "{\"bool\":{\"filter\":[");
		for (int k = 0; k < q->nkeys; k++) {
			if (k)
				buf_append_char(out, ',');
			if (!clause(out, &q->keys[k], "term", kv.t[k], kv.v[k], kv.len[k], err))
				return false;
		}
		buf_append_str(out, "]}}");
	}
	return buf_append_str(out, "],\"minimum_should_match\":1}}");
}

/* append_query writes the "query" value of a search or count. */
static bool
append_query(struct buf *out, const struct os_query *q, const char **err)
{
	if (q->fetch)
		return fetch_query(out, q, err);
	if (q->lo == NULL && q->hi == NULL)
		return buf_append_str(out, "{\"match_all\":{}}");
	if (q->keyless && q->hi == NULL) {
		buf_append_str(out, "{\"bool\":{\"should\":[");
		if (!range_filter(out, q, err))
			return false;
		buf_append_char(out, ',');
		keyless_clause(out, q);
		return buf_append_str(out, "],\"minimum_should_match\":1}}");
	}
	return range_filter(out, q, err);
}

bool
os_build_search(const struct os_query *q, struct buf *out, const char **err)
{
	buf_printf(out, "{\"size\":%d,\"track_total_hits\":false,\"query\":", q->size);
	if (!append_query(out, q, err))
		return false;
	buf_append_str(out, ",\"sort\":[");
	bool id_sorted = false;
	for (int k = 0; k < q->nkeys; k++) {
		if (k)
			buf_append_char(out, ',');
		buf_append_char(out, '{');
		buf_append_json_string(out, q->keys[k].sort_field, strlen(q->keys[k].sort_field));
		if (q->keys[k].kind == OS_KIND_ID) {
			buf_printf(out, ":{\"order\":\"%s\"}}", q->desc ? "desc" : "asc");
			id_sorted = true;
		} else {
			buf_printf(out, ":{\"order\":\"%s\",\"missing\":\"_last\"}}",
				   q->desc ? "desc" : "asc");
		}
	}
	/* the tiebreaker: pages never skip or repeat documents that share a key value (a
	 * duplicate is then seen, and reported by the merge) */
	if (!id_sorted && q->size > 1)
		buf_append_str(out, ",{\"_id\":{\"order\":\"asc\"}}");
	buf_append_char(out, ']');
	if (q->search_after)
		buf_printf(out, ",\"search_after\":%s", q->search_after);
	if (q->pit_id) {
		buf_append_str(out, ",\"pit\":{\"id\":");
		buf_append_json_string(out, q->pit_id, strlen(q->pit_id));
		buf_append_str(out, ",\"keep_alive\":\"" OS_PIT_KEEP_ALIVE "\"}");
	}
	return buf_append_char(out, '}') && !out->failed;
}

bool
os_build_count(const struct os_query *q, struct buf *out, const char **err)
{
	buf_append_str(out, "{\"query\":");
	if (!append_query(out, q, err))
		return false;
	return buf_append_char(out, '}') && !out->failed;
}
