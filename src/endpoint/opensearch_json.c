/*
 * endpoint/opensearch_json.c: OpenSearch responses: strict JSON, exact numbers, search
 * counts, points in time, and the verdict on search pages that are not plainly complete.
 *
 * A _search page is accepted only when it is a complete answer: valid JSON to the last
 * byte, not timed out, no failed shard (a 200 with _shards.failed > 0 carries partial
 * hits, which would read as missing documents). Pages themselves are scanned without a
 * tree (opensearch_scan.c); json-c judges the ones that are not plain (os_page_check)
 * and reads every other answer. Numbers keep their exact JSON text:
 * json-c keeps the text of decimals such as 12345678901234567890.123, and integers
 * beyond 64 bits, which json-c clamps, are found again in the raw body. Version 1.x hits
 * carry "_type":"_doc", which is simply not read. Documents become rows in
 * opensearch_doc.c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch_internal.h"
#include "util/str.h"

/* --- JSON ------------------------------------------------------------------------------ */

bool
os_json_parse(const char *body, size_t len, json_object **root, struct buf *err)
{
	*root = NULL;
	if (body == NULL || len == 0) {
		buf_append_str(err, "empty response body");
		return false;
	}
	if (len > 0x7fffffff) {
		buf_append_str(err, "response body too large");
		return false;
	}
	json_tokener *tok = json_tokener_new_ex(512);
	if (tok == NULL) {
		buf_append_str(err, "out of memory");
		return false;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, body, (int) len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue) {
		buf_printf(err, "truncated JSON response (%zu bytes, ends inside a value)", len);
		json_object_put(o);
		return false;
	}
	if (e != json_tokener_success || o == NULL) {
		buf_printf(err, "malformed JSON response at byte %zu: %s", end, json_tokener_error_desc(e));
		json_object_put(o);
		return false;
	}
	for (size_t i = end; i < len; i++)
		if (!isspace((unsigned char) body[i])) {
			buf_printf(err, "malformed JSON response: unexpected data after byte %zu", end);
			json_object_put(o);
			return false;
		}
	*root = o;
	return true;
}

/* --- exact numbers ----------------------------------------------------------------------- */

struct numtok {
	const json_object *node;
	const char *text;
	size_t len;
};

struct os_numtab {
	size_t n, alloc;
	struct numtok *items;
	bool failed;
};

struct nodelist {
	const json_object **items;
	size_t n, alloc;
};

static void
nodelist_push(struct nodelist *l, const json_object *o)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->n++] = o;
}

/* collect_numbers lists the number nodes of a tree in document order (json-c objects
 * iterate in insertion order, which is the text's order). */
static void
collect_numbers(json_object *o, struct nodelist *l)
{
	switch (json_object_get_type(o)) {
	case json_type_int:
	case json_type_double: nodelist_push(l, o); break;
	case json_type_array: {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			collect_numbers(json_object_array_get_idx(o, i), l);
		break;
	}
	case json_type_object: {
		json_object_object_foreach(o, k, v)
		{
			(void) k;
			collect_numbers(v, l);
		}
		break;
	}
	default: break;
	}
}

static void
numtab_push(struct os_numtab *t, const char *text, size_t len)
{
	if (t->n == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 64;
		t->items = xrealloc(t->items, t->alloc * sizeof(*t->items));
	}
	t->items[t->n].node = NULL;
	t->items[t->n].text = text;
	t->items[t->n].len = len;
	t->n++;
}

static bool
is_clamped(json_object *o)
{
	return json_object_get_uint64(o) == UINT64_MAX || json_object_get_int64(o) == INT64_MIN;
}

/* token_agrees checks that a raw token is the number json-c made of it. */
static bool
token_agrees(json_object *o, const char *text, size_t len)
{
	if (json_object_is_type(o, json_type_double)) {
		size_t n = 0;
		const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
		return n == len && memcmp(s, text, len) == 0;
	}
	if (memchr(text, '.', len) || memchr(text, 'e', len) || memchr(text, 'E', len))
		return false;
	if (is_clamped(o))
		return true; /* any integer this long clamps; its text is the truth */
	char tmp[32];
	int64_t v = json_object_get_int64(o);
	int n = v < 0 ? snprintf(tmp, sizeof(tmp), "%" PRId64, v)
		      : snprintf(tmp, sizeof(tmp), "%" PRIu64, json_object_get_uint64(o));
	if ((size_t) n == len && memcmp(tmp, text, len) == 0)
		return true;
	return len == 2 && memcmp(text, "-0", 2) == 0 && v == 0;
}

static int
cmp_numtok(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) ((const struct numtok *) a)->node;
	uintptr_t y = (uintptr_t) ((const struct numtok *) b)->node;
	return (x > y) - (x < y);
}

/*
 * numtab_build pairs the number tokens of the raw body, in order, with the number nodes
 * of the parsed tree, in order, and checks every pair agrees: any doubt (a duplicate key
 * moved a value) fails the lookup instead of guessing.
 */
static struct os_numtab *
numtab_build(struct os_page *p)
{
	struct os_numtab *t = xcalloc(1, sizeof(*t));
	const char *s = p->body, *end = p->body + p->len;
	while (s < end) {
		char c = *s;
		if (c == '"') {
			for (s++; s < end && *s != '"'; s++)
				if (*s == '\\')
					s++;
			s++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			const char *start = s;
			while (s < end && strchr("0123456789+-.eE", *s) && *s)
				s++;
			numtab_push(t, start, (size_t) (s - start));
		} else {
			s++;
		}
	}
	struct nodelist nodes = {0};
	collect_numbers(p->root, &nodes);
	if (nodes.n != t->n) {
		t->failed = true;
	} else {
		for (size_t i = 0; i < t->n && !t->failed; i++) {
			t->items[i].node = nodes.items[i];
			if (!token_agrees((json_object *) (uintptr_t) nodes.items[i], t->items[i].text,
					  t->items[i].len))
				t->failed = true;
		}
		qsort(t->items, t->n, sizeof(*t->items), cmp_numtok);
	}
	free(nodes.items);
	return t;
}

void
os_numtab_free(struct os_numtab *t)
{
	if (t) {
		free(t->items);
		free(t);
	}
}

bool
os_number_append(struct os_page *p, json_object *node, struct buf *out, struct buf *err)
{
	if (json_object_is_type(node, json_type_double)) {
		size_t n = 0;
		const char *s = json_object_to_json_string_length(node, JSON_C_TO_STRING_PLAIN, &n);
		return buf_append(out, s, n);
	}
	if (!is_clamped(node)) {
		int64_t v = json_object_get_int64(node);
		return v < 0 ? buf_printf(out, "%" PRId64, v)
			     : buf_printf(out, "%" PRIu64, json_object_get_uint64(node));
	}
	if (p == NULL || p->body == NULL) {
		buf_append_str(err, "an integer beyond 64 bits cannot be read exactly here");
		return false;
	}
	if (p->numtab == NULL)
		p->numtab = numtab_build(p);
	if (!p->numtab->failed) {
		struct numtok key = {node, NULL, 0};
		const struct numtok *hit =
			bsearch(&key, p->numtab->items, p->numtab->n, sizeof(key), cmp_numtok);
		if (hit)
			return buf_append(out, hit->text, hit->len);
	}
	buf_append_str(err, "an integer beyond 64 bits could not be matched to its text in the "
			    "response; it is never compared as a clamped value");
	return false;
}

bool
os_json_write(struct os_page *p, json_object *node, struct buf *out, struct buf *err)
{
	switch (json_object_get_type(node)) {
	case json_type_null: return buf_append_str(out, "null");
	case json_type_boolean:
		return buf_append_str(out, json_object_get_boolean(node) ? "true" : "false");
	case json_type_int:
	case json_type_double: return os_number_append(p, node, out, err);
	case json_type_string:
		return buf_append_json_string(out, json_object_get_string(node),
					      (size_t) json_object_get_string_len(node));
	case json_type_array: {
		buf_append_char(out, '[');
		size_t n = json_object_array_length(node);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_append_char(out, ',');
			if (!os_json_write(p, json_object_array_get_idx(node, i), out, err))
				return false;
		}
		return buf_append_char(out, ']');
	}
	case json_type_object: {
		buf_append_char(out, '{');
		bool first = true;
		json_object_object_foreach(node, k, v)
		{
			if (!first)
				buf_append_char(out, ',');
			first = false;
			buf_append_json_string(out, k, strlen(k));
			buf_append_char(out, ':');
			if (!os_json_write(p, v, out, err))
				return false;
		}
		return buf_append_char(out, '}');
	}
	}
	return false;
}

/* --- small responses ---------------------------------------------------------------------- */

/* shards_ok refuses a response whose _shards report a failure, naming the first reason. */
static bool
shards_ok(json_object *root, struct buf *err)
{
	json_object *sh = os_member(root, "_shards");
	json_object *failed = os_member(sh, "failed");
	if (failed == NULL || json_object_get_int64(failed) <= 0)
		return true;
	json_object *total = os_member(sh, "total");
	buf_printf(err, "%" PRId64 " of %" PRId64 " shards failed", json_object_get_int64(failed),
		   total ? json_object_get_int64(total) : (int64_t) -1);
	json_object *fl = os_member(sh, "failures");
	if (fl == NULL)
		fl = os_member(root, "failures");
	if (fl && json_object_is_type(fl, json_type_array) && json_object_array_length(fl) > 0) {
		json_object *reason = os_member(json_object_array_get_idx(fl, 0), "reason");
		const char *t = os_member_str(reason, "type"), *r = os_member_str(reason, "reason");
		if (t || r)
			buf_printf(err, ": %s%s%s", t ? t : "", t && r ? ": " : "", r ? r : "");
	}
	buf_append_str(err, " (the answer is partial)");
	return false;
}

bool
os_count_parse(const char *body, size_t len, int64_t *count, struct buf *err)
{
	json_object *root;
	if (!os_json_parse(body, len, &root, err))
		return false;
	bool ok = false;
	json_object *c = os_member(root, "count");
	if (c == NULL || !json_object_is_type(c, json_type_int) || json_object_get_int64(c) < 0)
		buf_append_str(err, "count response without a \"count\" number");
	else if (json_object_is_type(os_member(root, "terminated_early"), json_type_boolean) &&
		 json_object_get_boolean(os_member(root, "terminated_early")))
		buf_append_str(err, "the count terminated early (the answer is partial)");
	else if (shards_ok(root, err)) {
		*count = json_object_get_int64(c);
		ok = true;
	}
	json_object_put(root);
	return ok;
}

bool
os_pit_parse(const char *body, size_t len, char **id, struct buf *err)
{
	json_object *root;
	*id = NULL;
	if (!os_json_parse(body, len, &root, err))
		return false;
	const char *s = os_member_str(root, "pit_id");
	if (s == NULL)
		s = os_member_str(root, "id");
	bool ok = s != NULL && *s && shards_ok(root, err);
	if (s == NULL || *s == '\0')
		buf_append_str(err, "point in time response without a pit_id");
	if (ok)
		*id = xstrdup(s);
	json_object_put(root);
	return ok;
}

bool
os_root_parse(const char *body, size_t len, struct buf *version, struct buf *err)
{
	json_object *root;
	if (!os_json_parse(body, len, &root, err))
		return false;
	json_object *v = os_member(root, "version");
	const char *num = os_member_str(v, "number");
	const char *dist = os_member_str(v, "distribution");
	bool ok = num != NULL;
	if (ok)
		buf_printf(version, "%s %s", dist ? dist : "elasticsearch-compatible", num);
	else
		buf_append_str(err, "GET / did not answer like OpenSearch (no version.number)");
	json_object_put(root);
	return ok;
}

/* window_of reads index.max_result_window from one settings object (string or number). */
static int64_t
window_of(json_object *settings)
{
	json_object *w = os_member(os_member(settings, "index"), "max_result_window");
	if (w == NULL)
		w = os_member(settings, "index.max_result_window"); /* flat_settings */
	int64_t n = 0;
	if (w && json_object_is_type(w, json_type_string))
		str_to_int64(json_object_get_string(w), &n);
	else if (w && json_object_is_type(w, json_type_int))
		n = json_object_get_int64(w);
	return n;
}

bool
os_settings_window(const char *body, size_t len, int64_t *window, struct buf *err)
{
	json_object *root;
	*window = 0;
	if (!os_json_parse(body, len, &root, err))
		return false;
	if (json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, name, idx)
		{
			(void) name;
			int64_t n = window_of(os_member(idx, "settings"));
			if (n <= 0)
				n = window_of(os_member(idx, "defaults"));
			if (n > 0 && (*window == 0 || n < *window))
				*window = n; /* an alias over several indices: the smallest */
		}
	}
	json_object_put(root);
	return true;
}

/* --- search pages (scanned in opensearch_scan.c; judged here when not plain) --------------- */

bool
os_page_check(json_object *root, struct buf *err)
{
	json_object *to = os_member(root, "timed_out");
	json_object *te = os_member(root, "terminated_early");
	json_object *hits = os_member(os_member(root, "hits"), "hits");
	if (!json_object_is_type(root, json_type_object)) {
		buf_append_str(err, "search response is not a JSON object");
	} else if (to && json_object_get_boolean(to)) {
		buf_append_str(err, "the search timed out on the server (timed_out: true): the "
				    "answer is partial");
	} else if (te && json_object_get_boolean(te)) {
		buf_append_str(err, "the search terminated early: the answer is partial");
	} else if (!shards_ok(root, err)) {
		/* err says which shards */
	} else if (hits == NULL || !json_object_is_type(hits, json_type_array)) {
		buf_append_str(err, "search response without hits.hits");
	} else {
		return true;
	}
	return false;
}

json_object *
os_member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

const char *
os_member_str(json_object *o, const char *key)
{
	json_object *v = os_member(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
