/*
 * endpoint/opensearch_scan.c: _search pages read in place, without a JSON tree.
 *
 * A page of 1000 documents built as a json-c tree cost ~3.9 µs per document (an
 * allocation per value and per key, hash inserts, lookups, frees, and the heap
 * fragmentation they leave behind for libcurl): most of the client's CPU (BENCHMARKS.md,
 * "OpenSearch"). This scanner validates the body strictly (RFC 8259; depth limit as
 * json-c's tokener) in one pass and records, per hit, where `_id`, `sort`, `_source` and
 * each top-level `_source` member lie in the body. Nothing is converted: a number is its
 * own text (never clamped, never rounded), a string is decoded only when it holds escapes
 * and only when read (opensearch_doc.c). Duplicate keys resolve as json-c resolves them:
 * the last one wins.
 *
 * json-c stays the judge of everything that is not a plain complete page: a body the
 * scanner refuses, a page that timed out or reports failed shards is parsed again by
 * json-c and checked by os_page_check (opensearch_json.c), so error texts are exactly
 * those of before. Callers still receive each hit as a json_object (page->hits is a
 * json-c array of small handles whose userdata is the struct os_hit), so the endpoint's
 * loops and the tests did not change.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch_internal.h"
#include "util/str.h"

#define SCAN_MAX_DEPTH 512 /* json_tokener_new_ex(512) in os_json_parse */

struct scanner {
	const char *start, *p, *end;
	const char *err; /* static text: why the body is not JSON */
	size_t ws;	 /* bytes of white space skipped so far */
	int depth;
	struct os_page *page;
	/* page-level members, the last of duplicates winning */
	struct os_span timed_out, terminated_early, shards_failed, pit_id;
	bool hits_found;
};

static bool
fail(struct scanner *sc, const char *why)
{
	if (sc->err == NULL)
		sc->err = why;
	return false;
}

static inline void
skip_ws(struct scanner *sc)
{
	const char *p = sc->p;
	while (p < sc->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	sc->ws += (size_t) (p - sc->p);
	sc->p = p;
}

/*
 * stop8: does one of the 8 bytes at p end a plain run of string text ('"', '\\' or a
 * control character)? Word-at-a-time tests, exact for "is there one" (Anderson's bit
 * hacks: a byte is zero / below n); the byte loop then finds which. Strings are most of
 * a page's bytes (64-character _id values, keys, text), so this is the scanner's loop.
 */
static inline bool
stop8(const char *p)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v)) & highs;
}

/* scan_string reads a string at sc->p ('"'); the span is the text between the quotes. */
static bool
scan_string(struct scanner *sc, struct os_span *out)
{
	const char *p = sc->p + 1, *begin = p, *end = sc->end;
	bool esc = false;
	for (;;) {
		while (end - p >= 8 && !stop8(p))
			p += 8;
		while (p < end && *p != '"' && *p != '\\' && (unsigned char) *p >= 0x20)
			p++;
		if (p >= end)
			return fail(sc, "unterminated string");
		if (*p == '"')
			break;
		if (*p != '\\') {
			sc->p = p;
			return fail(sc, "control character in a string");
		}
		esc = true;
		if (p + 1 >= end)
			return fail(sc, "unterminated string");
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't': p += 2; continue;
		case 'u':
			if (end - p < 6)
				return fail(sc, "unterminated string");
			for (int i = 2; i < 6; i++)
				if (hex_digit((unsigned char) p[i]) < 0) {
					sc->p = p;
					return fail(sc, "invalid \\u escape");
				}
			p += 6;
			continue;
		default: sc->p = p; return fail(sc, "invalid escape in a string");
		}
	}
	if ((size_t) (p - begin) > UINT32_MAX)
		return fail(sc, "string too long");
	if (out) {
		out->p = begin;
		out->len = (uint32_t) (p - begin);
		out->type = OS_J_STRING;
		out->esc = esc;
	}
	sc->p = p + 1;
	return true;
}

static inline bool
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* scan_number checks the RFC 8259 grammar; the span is the token's own text. */
static bool
scan_number(struct scanner *sc, struct os_span *out)
{
	const char *p = sc->p, *end = sc->end, *begin = p;
	if (*p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (is_digit(p, end))
		while (is_digit(p, end))
			p++;
	else
		return fail(sc, "invalid number");
	if (p < end && *p == '.') {
		p++;
		if (!is_digit(p, end))
			return fail(sc, "invalid number");
		while (is_digit(p, end))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return fail(sc, "invalid number");
		while (is_digit(p, end))
			p++;
	}
	if (out) {
		out->p = begin;
		out->len = (uint32_t) (p - begin);
		out->type = OS_J_NUMBER;
		out->esc = false;
	}
	sc->p = p;
	return true;
}

static bool
scan_literal(struct scanner *sc, const char *word, size_t n, enum os_jtype t, struct os_span *out)
{
	if ((size_t) (sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return fail(sc, "unexpected character");
	if (out) {
		out->p = sc->p;
		out->len = (uint32_t) n;
		out->type = (uint8_t) t;
		out->esc = false;
	}
	sc->p += n;
	return true;
}

/* Called once per member, with sc->p at the value, which it must consume. */
typedef bool (*member_fn)(struct scanner *sc, const struct os_span *key, void *ctx);
/* Called once per array item, with sc->p at the item. */
typedef bool (*item_fn)(struct scanner *sc, size_t i, void *ctx);

static bool scan_value(struct scanner *sc, struct os_span *out);

/*
 * scan_compound reads an object (fn per member) or an array (item per item) at sc->p;
 * a NULL callback reads the values without looking at them. The span covers the
 * brackets; esc says the text holds white space between tokens.
 */
static bool
scan_compound(struct scanner *sc, struct os_span *out, member_fn fn, item_fn item, void *ctx)
{
	const char *begin = sc->p;
	size_t ws = sc->ws;
	bool object = *sc->p == '{';
	char close = object ? '}' : ']';
	if (++sc->depth > SCAN_MAX_DEPTH)
		return fail(sc, "nesting too deep");
	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
	} else {
		for (size_t i = 0;; i++) {
			skip_ws(sc);
			if (sc->p >= sc->end)
				return fail(sc, "unexpected end");
			if (object) {
				struct os_span key;
				if (*sc->p != '"')
					return fail(sc, "expected a member name");
				if (!scan_string(sc, &key))
					return false;
				skip_ws(sc);
				if (sc->p >= sc->end || *sc->p != ':')
					return fail(sc, "expected ':'");
				sc->p++;
				skip_ws(sc);
				if (!(fn ? fn(sc, &key, ctx) : scan_value(sc, NULL)))
					return false;
			} else if (!(item ? item(sc, i, ctx) : scan_value(sc, NULL))) {
				return false;
			}
			skip_ws(sc);
			if (sc->p >= sc->end)
				return fail(sc, "unexpected end");
			if (*sc->p == close) {
				sc->p++;
				break;
			}
			if (*sc->p != ',')
				return fail(sc, "expected ',' or a closing bracket");
			sc->p++;
		}
	}
	sc->depth--;
	if ((size_t) (sc->p - begin) > UINT32_MAX)
		return fail(sc, "value too long");
	if (out) {
		out->p = begin;
		out->len = (uint32_t) (sc->p - begin);
		out->type = object ? OS_J_OBJECT : OS_J_ARRAY;
		out->esc = sc->ws != ws;
	}
	return true;
}

/* scan_value reads any value at sc->p (white space already skipped). */
static bool
scan_value(struct scanner *sc, struct os_span *out)
{
	if (sc->p >= sc->end)
		return fail(sc, "unexpected end");
	switch (*sc->p) {
	case '"': return scan_string(sc, out);
	case '{':
	case '[': return scan_compound(sc, out, NULL, NULL, NULL);
	case 't': return scan_literal(sc, "true", 4, OS_J_TRUE, out);
	case 'f': return scan_literal(sc, "false", 5, OS_J_FALSE, out);
	case 'n': return scan_literal(sc, "null", 4, OS_J_NULL, out);
	default: return scan_number(sc, out);
	}
}

/* key_is: is a member name (escapes decoded) the word? */
static bool
key_is(const struct os_span *key, const char *word, size_t n)
{
	if (!key->esc)
		return key->len == n && memcmp(key->p, word, n) == 0;
	if (key->len > 6 * n)
		return false;
	struct buf b;
	buf_init(&b);
	bool same = os_span_decode(key, &b) && b.len == n && memcmp(b.data, word, n) == 0;
	buf_free(&b);
	return same;
}
#define KEY_IS(k, lit) key_is((k), lit, sizeof(lit) - 1)

/* --- the page's shape ---------------------------------------------------------------------- */

static bool
source_member(struct scanner *sc, const struct os_span *key, void *ctx)
{
	(void) ctx;
	struct os_page *p = sc->page;
	if (p->nfields == p->afields) {
		p->afields = p->afields ? p->afields * 2 : 1024;
		p->fields = xrealloc(p->fields, p->afields * sizeof(*p->fields));
	}
	struct os_field *f = &p->fields[p->nfields];
	f->name = *key;
	if (!scan_value(sc, &f->value))
		return false;
	p->nfields++;
	return true;
}

static bool
hit_member(struct scanner *sc, const struct os_span *key, void *ctx)
{
	struct os_page *p = sc->page;
	size_t h = *(size_t *) ctx;
	struct os_span v;
	if (KEY_IS(key, "_source") && *sc->p == '{') {
		size_t first = p->nfields;
		if (!scan_compound(sc, &v, source_member, NULL, NULL))
			return false;
		p->hitv[h].source = v;
		p->hitv[h].field0 = first;
		p->hitv[h].nfields = p->nfields - first;
		return true;
	}
	if (!scan_value(sc, &v))
		return false;
	if (KEY_IS(key, "_id"))
		p->hitv[h].id = v;
	else if (KEY_IS(key, "_source"))
		p->hitv[h].source = v;
	else if (KEY_IS(key, "sort"))
		p->hitv[h].sort = v;
	return true;
}

static bool
hits_item(struct scanner *sc, size_t i, void *ctx)
{
	(void) i;
	(void) ctx;
	struct os_page *p = sc->page;
	if (p->nhits == p->ahits) {
		p->ahits = p->ahits ? p->ahits * 2 : 256;
		p->hitv = xrealloc(p->hitv, p->ahits * sizeof(*p->hitv));
	}
	size_t h = p->nhits++;
	memset(&p->hitv[h], 0, sizeof(p->hitv[h]));
	if (*sc->p == '{')
		return scan_compound(sc, NULL, hit_member, NULL, &h);
	return scan_value(sc, NULL); /* not a document: os_reader_row says so */
}

static bool
hits_member(struct scanner *sc, const struct os_span *key, void *ctx)
{
	(void) ctx;
	if (KEY_IS(key, "hits")) {
		sc->page->nhits = 0; /* a duplicate: the last one wins */
		sc->page->nfields = 0;
		sc->hits_found = *sc->p == '[';
		if (sc->hits_found)
			return scan_compound(sc, NULL, NULL, hits_item, NULL);
	}
	return scan_value(sc, NULL);
}

static bool
shards_member(struct scanner *sc, const struct os_span *key, void *ctx)
{
	(void) ctx;
	struct os_span v;
	if (!scan_value(sc, &v))
		return false;
	if (KEY_IS(key, "failed"))
		sc->shards_failed = v;
	return true;
}

static bool
root_member(struct scanner *sc, const struct os_span *key, void *ctx)
{
	(void) ctx;
	struct os_span v;
	if (KEY_IS(key, "hits")) {
		sc->hits_found = false;
		sc->page->nhits = 0;
		sc->page->nfields = 0;
		if (*sc->p == '{')
			return scan_compound(sc, NULL, hits_member, NULL, NULL);
		return scan_value(sc, NULL);
	}
	if (KEY_IS(key, "_shards")) {
		memset(&sc->shards_failed, 0, sizeof(sc->shards_failed));
		if (*sc->p == '{')
			return scan_compound(sc, NULL, shards_member, NULL, NULL);
		return scan_value(sc, NULL);
	}
	if (!scan_value(sc, &v))
		return false;
	if (KEY_IS(key, "timed_out"))
		sc->timed_out = v;
	else if (KEY_IS(key, "terminated_early"))
		sc->terminated_early = v;
	else if (KEY_IS(key, "pit_id"))
		sc->pit_id = v;
	return true;
}

/* scan_page validates the whole body and records the page; false (sc->err) if not JSON. */
static bool
scan_page(struct scanner *sc)
{
	skip_ws(sc);
	if (sc->p >= sc->end)
		return fail(sc, "unexpected end");
	bool ok = *sc->p == '{' ? scan_compound(sc, NULL, root_member, NULL, NULL)
				: scan_value(sc, NULL);
	if (!ok)
		return false;
	skip_ws(sc);
	if (sc->p != sc->end)
		return fail(sc, "unexpected data after the value");
	return true;
}

/* plain_page: nothing a json-c reading could refuse (no partial answer, hits there). */
static bool
plain_page(const struct scanner *sc, bool object)
{
	const struct os_span *f = &sc->shards_failed;
	return object && sc->hits_found &&
	       (sc->timed_out.type == OS_J_NONE || sc->timed_out.type == OS_J_FALSE) &&
	       (sc->terminated_early.type == OS_J_NONE || sc->terminated_early.type == OS_J_FALSE) &&
	       (f->type == OS_J_NONE || (f->type == OS_J_NUMBER && f->len == 1 && f->p[0] == '0'));
}

/*
 * finish_page copies each _id (decoded, NUL-terminated: callers may treat it as a C
 * string, as they could json-c's) and the PIT id into the arena, and makes the handles.
 */
static void
finish_page(struct os_page *p, const struct os_span *pit)
{
	size_t need = pit->len + 1;
	for (size_t i = 0; i < p->nhits; i++)
		need += p->hitv[i].id.len + 1;
	buf_reserve(&p->arena, need);
	for (size_t i = 0; i < p->nhits; i++) {
		struct os_hit *h = &p->hitv[i];
		if (h->id.type != OS_J_STRING)
			continue;
		size_t off = p->arena.len;
		os_span_decode(&h->id, &p->arena);
		h->id_len = p->arena.len - off;
		buf_append_char(&p->arena, '\0');
		h->id_text = (const char *) (uintptr_t) off; /* an offset until the arena is done */
	}
	size_t pit_off = p->arena.len;
	if (pit->type == OS_J_STRING) {
		os_span_decode(pit, &p->arena);
		buf_append_char(&p->arena, '\0');
	}
	for (size_t i = 0; i < p->nhits; i++)
		if (p->hitv[i].id.type == OS_J_STRING)
			p->hitv[i].id_text = p->arena.data + (uintptr_t) p->hitv[i].id_text;
	if (pit->type == OS_J_STRING)
		p->pit_id = p->arena.data + pit_off;
	p->hits = json_object_new_array_ext((int) (p->nhits ? p->nhits : 1));
	for (size_t i = 0; i < p->nhits; i++) {
		json_object *o = json_object_new_int((int32_t) (i & 0x7fffffff));
		json_object_set_userdata(o, &p->hitv[i], NULL);
		json_object_array_add(p->hits, o);
	}
}

bool
os_page_parse(struct os_page *p, const char *body, size_t len, struct buf *err)
{
	memset(p, 0, sizeof(*p));
	if (body == NULL || len == 0) {
		buf_append_str(err, "empty response body");
		return false;
	}
	if (len > 0x7fffffff) {
		buf_append_str(err, "response body too large");
		return false;
	}
	buf_init(&p->arena);
	p->body = body;
	p->len = len;
	struct scanner sc = {.start = body, .p = body, .end = body + len, .page = p};
	const char *first = body;
	while (first < sc.end && (*first == ' ' || *first == '\n' || *first == '\r' || *first == '\t'))
		first++;
	bool scanned = scan_page(&sc);
	if (!scanned || !plain_page(&sc, first < sc.end && *first == '{')) {
		/* not a plain page: json-c judges, with the texts of before */
		json_object *root = NULL;
		bool ok = os_json_parse(body, len, &root, err) && os_page_check(root, err);
		json_object_put(root);
		if (ok && !scanned)
			buf_printf(err, "malformed JSON response at byte %zu: %s",
				   (size_t) (sc.p - body), sc.err ? sc.err : "invalid JSON");
		else if (ok && !sc.hits_found)
			buf_append_str(err, "search response without hits.hits");
		if (!ok || !scanned || !sc.hits_found) {
			os_page_free(p);
			return false;
		}
	}
	finish_page(p, &sc.pit_id);
	return true;
}

void
os_page_free(struct os_page *p)
{
	json_object_put(p->root);
	json_object_put(p->hits);
	os_numtab_free(p->numtab);
	free(p->hitv);
	free(p->fields);
	buf_free(&p->arena);
	memset(p, 0, sizeof(*p));
}

const struct os_hit *
os_hit_of(json_object *hit)
{
	return hit ? json_object_get_userdata(hit) : NULL;
}

const char *
os_hit_id(json_object *hit, size_t *len)
{
	const struct os_hit *h = os_hit_of(hit);
	if (h == NULL || h->id.type != OS_J_STRING) {
		*len = 0;
		return NULL;
	}
	*len = h->id_len;
	return h->id_text;
}

bool
os_page_last_sort(struct os_page *p, struct buf *out, struct buf *err)
{
	if (p->nhits == 0)
		return false;
	const struct os_span *sort = &p->hitv[p->nhits - 1].sort;
	if (sort->type != OS_J_ARRAY) {
		buf_append_str(err, "search hit without sort values");
		return false;
	}
	return os_span_compact(sort, out);
}

/* --- reading spans --------------------------------------------------------------------- */

static uint32_t
hex4(const char *p)
{
	return (uint32_t) (hex_digit((unsigned char) p[0]) << 12 | hex_digit((unsigned char) p[1]) << 8 |
			   hex_digit((unsigned char) p[2]) << 4 | hex_digit((unsigned char) p[3]));
}

/*
 * os_span_decode appends a scanned string's text. Surrogates decode as json-c decodes
 * them: a pair is one code point, a lone half becomes U+FFFD, so values read the same as
 * before the scanner.
 */
bool
os_span_decode(const struct os_span *s, struct buf *out)
{
	if (!s->esc)
		return buf_append(out, s->p, s->len);
	const char *p = s->p, *end = s->p + s->len;
	while (p < end) {
		const char *q = p;
		while (q < end && *q != '\\')
			q++;
		buf_append(out, p, (size_t) (q - p));
		if (q >= end)
			break;
		char c = q[1];
		p = q + 2;
		switch (c) {
		case 'b': buf_append_char(out, '\b'); break;
		case 'f': buf_append_char(out, '\f'); break;
		case 'n': buf_append_char(out, '\n'); break;
		case 'r': buf_append_char(out, '\r'); break;
		case 't': buf_append_char(out, '\t'); break;
		case 'u': {
			uint32_t cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
					uint32_t lo = hex4(p + 2);
					if (lo >= 0xdc00 && lo <= 0xdfff) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					} else {
						cp = 0xfffd;
					}
				} else {
					cp = 0xfffd;
				}
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			buf_append_codepoint(out, cp);
			break;
		}
		default: buf_append_char(out, c); break; /* " \ / */
		}
	}
	return !out->failed;
}

/* is_minus_zero: the integer -0, which json-c read (and the reader gave) as 0 */
static bool
is_minus_zero(const char *p, size_t n)
{
	return n == 2 && p[0] == '-' && p[1] == '0';
}

/* os_span_compact appends a scanned value as JSON without white space between tokens;
 * strings keep their escapes, numbers their text (the integer -0 as 0, as json-c). */
bool
os_span_compact(const struct os_span *s, struct buf *out)
{
	if (s->type == OS_J_STRING) {
		buf_append_char(out, '"');
		buf_append(out, s->p, s->len);
		return buf_append_char(out, '"');
	}
	if (s->type == OS_J_NUMBER && is_minus_zero(s->p, s->len))
		return buf_append_char(out, '0');
	if ((s->type != OS_J_OBJECT && s->type != OS_J_ARRAY) || !s->esc)
		return buf_append(out, s->p, s->len);
	const char *p = s->p, *end = s->p + s->len;
	while (p < end) {
		char c = *p;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			p++;
		} else if (c == '"') {
			const char *q = p + 1;
			while (*q != '"')
				q += *q == '\\' ? 2 : 1;
			buf_append(out, p, (size_t) (q + 1 - p));
			p = q + 1;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			const char *q = p;
			while (q < end && strchr("+-.eE0123456789", *q) && *q)
				q++;
			if (is_minus_zero(p, (size_t) (q - p)))
				buf_append_char(out, '0');
			else
				buf_append(out, p, (size_t) (q - p));
			p = q;
		} else {
			buf_append_char(out, c);
			p++;
		}
	}
	return !out->failed;
}

/* os_span_item finds item k of a scanned array (already valid JSON). */
bool
os_span_item(const struct os_span *arr, size_t k, struct os_span *item)
{
	memset(item, 0, sizeof(*item));
	if (arr->type != OS_J_ARRAY)
		return false;
	struct scanner sc = {.start = arr->p, .p = arr->p + 1, .end = arr->p + arr->len};
	for (size_t i = 0;; i++) {
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p == ']')
			return false;
		if (!scan_value(&sc, item))
			return false;
		if (i == k)
			return true;
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p != ',')
			return false;
		sc.p++;
	}
}
